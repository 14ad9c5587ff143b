//! `/api/v1/members` (api.md §4): list, change role, remove or leave.
//!
//! Role matrix: admins manage managers and members; only owners grant, change
//! or remove owners and admins; anyone may leave; an organization always keeps
//! at least one owner.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{self, Event};
use crate::db::Exec;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, IdPath};
use crate::http::pagination::Page;
use crate::orgs::queries::{self, Member};
use crate::orgs::{OrgCtx, OrgHeader, Role};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(change_role, remove_member))
}

/// Every member of the organization, in the order they joined.
#[utoipa::path(
    get, path = "/members", tag = "members",
    params(OrgHeader),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Member>), (status = 403, body = Problem, description = "`not_a_member`"))
)]
async fn list_members(ctx: OrgCtx, State(state): State<AppState>) -> ApiResult<Json<Page<Member>>> {
    let mut conn = state.db.read().await?;
    Ok(Json(Page::all(queries::list_members(conn.exec(), ctx.org_id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    pub role: Role,
}

/// Change a member's role.
#[utoipa::path(
    patch, path = "/members/{user_id}", tag = "members",
    params(OrgHeader, ("user_id" = uuid::Uuid, Path)),
    request_body = ChangeRole,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Member),
        (status = 403, body = Problem, description = "`forbidden`: admins manage managers and members, owners everyone"),
        (status = 404, body = Problem, description = "`not_found`: no such member in this organization"),
        (status = 409, body = Problem, description = "`last_owner`: the organization would have no owner"),
    )
)]
async fn change_role(
    ctx: OrgCtx,
    State(state): State<AppState>,
    IdPath(user_id): IdPath,
    ApiJson { data: input, .. }: ApiJson<ChangeRole>,
) -> ApiResult<Json<Member>> {
    Ok(Json(set_role(&state, &ctx, user_id, input.role).await?))
}

/// Gives a member another role (the API's PATCH and the web app's members page).
pub async fn set_role(state: &AppState, ctx: &OrgCtx, user_id: uuid::Uuid, role: Role) -> ApiResult<Member> {
    let input = ChangeRole { role };
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    queries::lock_organization(tx.exec(), ctx.org_id).await?;
    let target = queries::find_member(tx.exec(), ctx.org_id, user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let from = target.role();
    if (from.is_privileged() || input.role.is_privileged()) && ctx.role != Role::Owner {
        return Err(ApiError::forbidden(
            "only an owner may grant, change or remove the owner and admin roles",
        ));
    }
    if from == input.role {
        return Ok(target);
    }
    ensure_other_owner(tx.exec(), ctx.org_id, from).await?;
    queries::set_role(tx.exec(), ctx.org_id, user_id, input.role).await?;
    let event = Event::new("member.role_changed")
        .actor(ctx.user_id)
        .target("user", user_id)
        .ip(ctx.ip_text())
        .details(json!({ "from": from, "to": input.role }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    let member = queries::find_member(tx.exec(), ctx.org_id, user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await?;
    Ok(member)
}

/// Remove a member, or leave (a member removing themself).
#[utoipa::path(
    delete, path = "/members/{user_id}", tag = "members",
    params(OrgHeader, ("user_id" = uuid::Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem, description = "`not_found`"),
        (status = 409, body = Problem, description = "`last_owner`"),
    )
)]
async fn remove_member(ctx: OrgCtx, State(state): State<AppState>, IdPath(user_id): IdPath) -> ApiResult<StatusCode> {
    remove(&state, &ctx, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a member, or lets the caller leave (the API's DELETE and the web
/// app's members page).
pub async fn remove(state: &AppState, ctx: &OrgCtx, user_id: uuid::Uuid) -> ApiResult<()> {
    let leaving = user_id == ctx.user_id;
    if !leaving {
        ctx.require(Role::Admin)?;
    }
    let mut tx = state.db.begin().await?;
    queries::lock_organization(tx.exec(), ctx.org_id).await?;
    let target = queries::find_member(tx.exec(), ctx.org_id, user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let role = target.role();
    if !leaving && role.is_privileged() && ctx.role != Role::Owner {
        return Err(ApiError::forbidden("only an owner may remove an owner or an admin"));
    }
    ensure_other_owner(tx.exec(), ctx.org_id, role).await?;
    queries::remove_member(tx.exec(), ctx.org_id, user_id).await?;
    let event = Event::new("member.removed")
        .actor(ctx.user_id)
        .target("user", user_id)
        .ip(ctx.ip_text())
        .details(json!({ "role": role, "left": leaving }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// 409 `last_owner` when an owner (`role`) is about to stop being one and no
/// other owner remains. Runs with the organization row locked.
async fn ensure_other_owner(c: Exec<'_>, org: uuid::Uuid, role: Role) -> ApiResult<()> {
    if role == Role::Owner && queries::count_owners(c, org).await? <= 1 {
        return Err(ApiError::conflict(
            "last_owner",
            "an organization must keep at least one owner",
        ));
    }
    Ok(())
}
