//! A user's own account (the API's `/auth/me` and `/auth/password`, the web
//! app's account page), and the temporary password an admin gives a member
//! who forgot theirs while the server sends no email.

use std::str::FromStr;

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::error::{AppError, AppResult, Validator};
use crate::services::audit::{self, Event};
use crate::services::auth::queries::{self, UserRow};
use crate::services::auth::{User, password};
use crate::services::orgs::{OrgCtx, Role};
use crate::services::validate;

/// `PATCH /auth/me`: the fields given change; absent ones stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// 1..200 characters after trimming.
    pub name: Option<String>,
    /// An IANA time zone name (`Europe/Paris`); null or empty: the browser's.
    #[serde(default, deserialize_with = "crate::services::records::double_option")]
    #[schema(value_type = Option<String>, example = "Europe/Paris")]
    pub time_zone: Option<Option<String>>,
}

/// `POST /auth/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 8..128 characters, a letter and a digit, not the email.
    pub new_password: String,
}

/// `POST /members/{user_id}/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemporaryPassword {
    /// 8..128 characters, a letter and a digit, not the member's email.
    pub password: String,
}

/// A time zone name as stored: a known IANA name, or none for empty.
pub fn time_zone(name: Option<&str>) -> Result<Option<String>, String> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => chrono_tz::Tz::from_str(n)
            .map(|tz| Some(tz.name().to_string()))
            .map_err(|_| "must be an IANA time zone name such as Europe/Paris".to_string()),
    }
}

async fn user(state: &App, id: Uuid) -> AppResult<UserRow> {
    let mut conn = state.db.read().await?;
    queries::find_user(conn.exec(), id)
        .await?
        .ok_or_else(AppError::invalid_token)
}

/// Changes the caller's name or time zone.
pub async fn update(state: &App, user_id: Uuid, patch: ProfilePatch) -> AppResult<User> {
    let mut v = Validator::new();
    let name = patch
        .name
        .as_deref()
        .map(|n| v.check("name", validate::required_text(n, 200)));
    let zone = patch
        .time_zone
        .as_ref()
        .map(|z| v.check("time_zone", time_zone(z.as_deref())));
    v.finish()?;
    let mut current = user(state, user_id).await?;
    if let Some(Some(name)) = name {
        current.name = name;
    }
    if let Some(Some(zone)) = zone {
        current.time_zone = zone;
    }
    let mut tx = state.db.begin().await?;
    queries::update_profile(tx.exec(), &current).await?;
    tx.commit().await?;
    Ok(current.public())
}

/// Changes the caller's password, given the current one (422 on
/// `current_password` otherwise). The caller's other logins end; the web
/// session `keep` that asked stays signed in.
pub async fn change_password(state: &App, user_id: Uuid, input: PasswordChange, keep: Option<&[u8]>) -> AppResult<()> {
    let current = user(state, user_id).await?;
    let mut v = Validator::new();
    v.check("new_password", validate::password(&input.new_password, &current.email));
    v.finish()?;
    if !password::verify(
        &state.hasher,
        input.current_password,
        Some(current.password_hash.clone()),
    )
    .await?
    {
        return Err(AppError::field("current_password", "is not your current password"));
    }
    let hash = password::hash(&state.hasher, input.new_password).await?;
    let mut tx = state.db.begin().await?;
    queries::set_password(tx.exec(), user_id, &hash, keep).await?;
    tx.commit().await?;
    Ok(())
}

/// An admin sets a temporary password for a member who forgot theirs (until
/// the server sends reset emails): admins for managers and members, owners for
/// anyone but themselves. Only for a member of this organization alone, so
/// that no admin can take over an account that works elsewhere (409
/// `member_of_other_organizations`). Every login of the member ends; audit
/// `member.password_set`.
pub async fn set_temporary(state: &App, ctx: &OrgCtx, user_id: Uuid, input: TemporaryPassword) -> AppResult<()> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let target = crate::services::orgs::queries::find_member(tx.exec(), ctx.org_id, user_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if user_id == ctx.user_id {
        return Err(AppError::forbidden("change your own password on your account page"));
    }
    if target.role().is_privileged() && ctx.role != Role::Owner {
        return Err(AppError::forbidden(
            "only an owner may set an owner's or an admin's password",
        ));
    }
    let mut v = Validator::new();
    v.check("password", validate::password(&input.password, &target.email));
    v.finish()?;
    let elsewhere = crate::services::orgs::queries::user_organizations(tx.exec(), user_id).await?;
    if elsewhere.iter().any(|o| o.id != ctx.org_id) {
        return Err(AppError::conflict(
            "member_of_other_organizations",
            "this member belongs to other organizations too: they must change their password themselves",
        ));
    }
    let hash = password::hash(&state.hasher, input.password).await?;
    queries::set_password(tx.exec(), user_id, &hash, None).await?;
    let event = Event::new("member.password_set")
        .by(ctx)
        .target("user", user_id)
        .details(json!({}));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(())
}
