//! `/api/v1/members` (api.md §4): list, change role, remove or leave.
//!
//! Role matrix: admins manage managers and members; only owners grant, change
//! or remove owners and admins; anyone may leave; an organization always keeps
//! at least one owner.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult};
use crate::services::audit::{self, Event};

use crate::services::orgs::queries::{self, Member};
use crate::services::orgs::{OrgCtx, Role};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    pub role: Role,
}

/// Gives a member another role (the API's PATCH and the web app's members page).
pub async fn set_role(state: &App, ctx: &OrgCtx, user_id: uuid::Uuid, role: Role) -> AppResult<Member> {
    let input = ChangeRole { role };
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    queries::lock_organization(tx.exec(), ctx.org_id).await?;
    let target = queries::find_member(tx.exec(), ctx.org_id, user_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let from = target.role();
    if (from.is_privileged() || input.role.is_privileged()) && ctx.role != Role::Owner {
        return Err(AppError::forbidden(
            "only an owner may grant, change or remove the owner and admin roles",
        ));
    }
    if from == input.role {
        return Ok(target);
    }
    ensure_other_owner(tx.exec(), ctx.org_id, from).await?;
    queries::set_role(tx.exec(), ctx.org_id, user_id, input.role).await?;
    let event = Event::new("member.role_changed")
        .by(ctx)
        .target("user", user_id)
        .details(json!({ "from": from, "to": input.role }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    let member = queries::find_member(tx.exec(), ctx.org_id, user_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    tx.commit().await?;
    Ok(member)
}

/// Removes a member, or lets the caller leave (the API's DELETE and the web
/// app's members page).
pub async fn remove(state: &App, ctx: &OrgCtx, user_id: uuid::Uuid) -> AppResult<()> {
    let leaving = user_id == ctx.user_id;
    if !leaving {
        ctx.require(Role::Admin)?;
    }
    let mut tx = state.db.begin().await?;
    queries::lock_organization(tx.exec(), ctx.org_id).await?;
    let target = queries::find_member(tx.exec(), ctx.org_id, user_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let role = target.role();
    if !leaving && role.is_privileged() && ctx.role != Role::Owner {
        return Err(AppError::forbidden("only an owner may remove an owner or an admin"));
    }
    ensure_other_owner(tx.exec(), ctx.org_id, role).await?;
    queries::remove_member(tx.exec(), ctx.org_id, user_id).await?;
    let event = Event::new("member.removed")
        .by(ctx)
        .target("user", user_id)
        .details(json!({ "role": role, "left": leaving }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// 409 `last_owner` when an owner (`role`) is about to stop being one and no
/// other owner remains. Runs with the organization row locked.
async fn ensure_other_owner(c: Exec<'_>, org: uuid::Uuid, role: Role) -> AppResult<()> {
    if role == Role::Owner && queries::count_owners(c, org).await? <= 1 {
        return Err(AppError::conflict(
            "last_owner",
            "an organization must keep at least one owner",
        ));
    }
    Ok(())
}

/// The members of the caller's organization.
pub async fn list(state: &App, ctx: &OrgCtx) -> AppResult<Vec<Member>> {
    let mut conn = state.db.read().await?;
    Ok(queries::list_members(conn.exec(), ctx.org_id).await?)
}
