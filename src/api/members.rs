//! HTTP handlers of `crate::services::orgs::members`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::http::extract::{ApiJson, IdPath};
use crate::services::auth::profile::{self, TemporaryPassword};
use crate::services::orgs::OrgCtx;
use crate::services::orgs::members::*;
use crate::services::orgs::queries::Member;
use crate::services::pagination::Page;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(change_role, remove_member))
        .routes(routes!(set_member_password))
}

/// Every member of the organization, in the order they joined.
#[utoipa::path(
    get, path = "/members", tag = "members",
    params(OrgHeader),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Member>), (status = 403, body = Problem, description = "`not_a_member`"))
)]
async fn list_members(ctx: OrgCtx, State(state): State<App>) -> AppResult<Json<Page<Member>>> {
    Ok(Json(Page::all(list(&state, &ctx).await?)))
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
    State(state): State<App>,
    IdPath(user_id): IdPath,
    ApiJson { data: input, .. }: ApiJson<ChangeRole>,
) -> AppResult<Json<Member>> {
    Ok(Json(set_role(&state, &ctx, user_id, input.role).await?))
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
async fn remove_member(ctx: OrgCtx, State(state): State<App>, IdPath(user_id): IdPath) -> AppResult<StatusCode> {
    remove(&state, &ctx, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a member a temporary password (they forgot theirs and the server
/// sends no email yet). Every login of the member ends.
#[utoipa::path(
    post, path = "/members/{user_id}/password", tag = "members",
    params(OrgHeader, ("user_id" = uuid::Uuid, Path)),
    request_body = TemporaryPassword,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Set"),
        (status = 403, body = Problem, description = "`forbidden`: admins for managers and members, owners for anyone; never oneself"),
        (status = 404, body = Problem, description = "`not_found`: no such member in this organization"),
        (status = 409, body = Problem, description = "`member_of_other_organizations`: they must change it themselves"),
        (status = 422, body = Problem, description = "`validation_failed`: `password` too weak"),
    )
)]
async fn set_member_password(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(user_id): IdPath,
    ApiJson { data: input, .. }: ApiJson<TemporaryPassword>,
) -> AppResult<StatusCode> {
    profile::set_temporary(&state, &ctx, user_id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}
