//! `/api/v1/auth/*` (api.md §3).

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::config::Registration;
use crate::db::{Exec, Tx};
use crate::error::{AppError, AppResult, Validator};
use crate::services::audit::{self, Event};
use crate::services::auth::ClientIp;
use crate::services::auth::queries::{self, UserRow};
use crate::services::auth::session::{self, TokenResponse};
use crate::services::auth::tokens::hash_token;
use crate::services::auth::{User, password};
use crate::services::orgs::Actor;
use crate::services::orgs::{self, Organization, OrganizationEntry};
use crate::services::rate_limit::AuthAction;
use crate::services::validate;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    /// 8..128 characters, at least one letter and one digit, not the email.
    pub password: String,
    pub name: String,
    /// Name of the organization created with the account (default "<name>'s organization").
    pub organization_name: Option<String>,
}

/// Registration (the API's and the web app's): checks the input, creates the
/// user and their organization, and hands back the open transaction so the
/// caller adds its kind of session before committing.
pub async fn register_account(state: &App, ip: ClientIp, input: RegisterInput) -> AppResult<(Tx, UserRow)> {
    if state.config.registration == Registration::InviteOnly {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "registration_closed",
            "registration is by invitation only on this server",
        ));
    }
    state.limits.check_auth(AuthAction::Register, ip.0, &input.email)?;

    let mut v = Validator::new();
    let email = v.check("email", validate::email(&input.email));
    let name = v.check("name", validate::required_text(&input.name, 200));
    v.check("password", validate::password(&input.password, &input.email));
    let org_name = v.check(
        "organization_name",
        validate::optional_text(input.organization_name.as_deref(), 200),
    );
    v.finish()?;
    let (Some(email), Some(name), Some(org_name)) = (email, name, org_name) else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };
    let org_name = org_name.unwrap_or_else(|| format!("{name}'s organization"));

    // A cheap check first, so a taken email does not cost a password hash; the
    // unique index still decides under concurrency.
    {
        let mut conn = state.db.read().await?;
        if queries::find_user_by_email(conn.exec(), &email).await?.is_some() {
            return Err(email_taken());
        }
    }
    let hash = password::hash(&state.hasher, input.password).await?;

    let mut tx = state.db.begin().await?;
    let (user, _) = create_account(tx.exec(), &email, &name, &hash, &org_name, ip.text()).await?;
    Ok((tx, user))
}

/// Creates a user as the owner of a new organization, logged as `auth.register`
/// there. Used by registration and by `crm user create`; the values are checked
/// and the password hashed by the caller.
pub async fn create_account(
    mut c: Exec<'_>,
    email: &str,
    name: &str,
    password_hash: &str,
    org_name: &str,
    ip: Option<String>,
) -> AppResult<(UserRow, Organization)> {
    let user = queries::insert_user(c.re(), email, name, password_hash)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                email_taken()
            } else {
                e.into()
            }
        })?;
    let org = orgs::queries::create_organization(c.re(), org_name, "USD", user.id).await?;
    let event = Event::new("auth.register")
        .actor(Actor::User(user.id))
        .target("user", user.id)
        .ip(ip);
    audit::record(c.re(), org.id, &event).await?;
    Ok((user, org))
}

fn email_taken() -> AppError {
    AppError::conflict("email_taken", "an account with this email already exists")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// Sign-in (the API's login and the web app's): rate limit, password check,
/// `auth.login` in the audit log; hands back the open transaction so the
/// caller adds its kind of session before committing.
pub async fn sign_in(state: &App, email: &str, password: String, ip: ClientIp) -> AppResult<(Tx, UserRow)> {
    state.limits.check_auth(AuthAction::Login, ip.0, email)?;
    let user = authenticate(state, email, password, ip).await?;
    let mut tx = state.db.begin().await?;
    record_login(tx.exec(), user.id, ip).await?;
    Ok((tx, user))
}

/// `auth.login` in every organization of the user.
pub async fn record_login(c: Exec<'_>, user: uuid::Uuid, ip: ClientIp) -> Result<(), sqlx::Error> {
    let event = Event::new("auth.login")
        .actor(Actor::User(user))
        .target("user", user)
        .ip(ip.text());
    audit::record_for_user(c, user, &event).await
}

/// Checks an email and password. A wrong password is logged as
/// `auth.login_failed` in the user's organizations; an unknown email and a wrong
/// password answer the same body after the same work (a hash verification).
pub async fn authenticate(state: &App, email: &str, password: String, ip: ClientIp) -> AppResult<UserRow> {
    let email = email.trim().to_lowercase();
    let user = {
        let mut conn = state.db.read().await?;
        queries::find_user_by_email(conn.exec(), &email).await?
    };
    let ok = password::verify(&state.hasher, password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(user) if ok => Ok(user),
        other => {
            if let Some(user) = other {
                let mut tx = state.db.begin().await?;
                let event = Event::new("auth.login_failed")
                    .actor(Actor::User(user.id))
                    .target("user", user.id)
                    .ip(ip.text());
                audit::record_for_user(tx.exec(), user.id, &event).await?;
                tx.commit().await?;
            }
            Err(AppError::unauthorized("invalid_credentials", "wrong email or password"))
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshInput {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutInput {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: User,
    pub organizations: Vec<OrganizationEntry>,
}

/// Registration with an API session: the account, its organization and the
/// first token pair, in one transaction.
pub async fn register_with_tokens(state: &App, ip: ClientIp, input: RegisterInput) -> AppResult<TokenResponse> {
    let (mut tx, user) = register_account(state, ip, input).await?;
    let response = session::start(tx.exec(), state, &user).await?;
    tx.commit().await?;
    Ok(response)
}

/// Sign-in with an API session: the checks of [`sign_in`], then a token pair.
pub async fn sign_in_with_tokens(state: &App, email: &str, password: String, ip: ClientIp) -> AppResult<TokenResponse> {
    let (mut tx, user) = sign_in(state, email, password, ip).await?;
    let response = session::start(tx.exec(), state, &user).await?;
    tx.commit().await?;
    Ok(response)
}

/// Rotates a refresh token into a new pair (api.md §3). A rotated token
/// coming back means it was copied: that login ends everywhere.
pub async fn refresh_tokens(state: &App, refresh_token: &str, ip: ClientIp) -> AppResult<TokenResponse> {
    let hash = hash_token(refresh_token);
    let mut tx = state.db.begin().await?;
    if let Some((user_id, family)) = queries::rotate_refresh_token(tx.exec(), &hash).await? {
        let user = queries::find_user(tx.exec(), user_id)
            .await?
            .ok_or_else(AppError::invalid_token)?;
        let response = session::issue(tx.exec(), state, &user, family).await?;
        tx.commit().await?;
        return Ok(response);
    }
    // Not a live token. A rotated one coming back means it was copied: end
    // that login everywhere.
    if let Some(token) = queries::find_refresh_token(tx.exec(), &hash).await?
        && token.rotated_at.is_some()
        && token.revoked_at.is_none()
    {
        queries::revoke_family(tx.exec(), token.family_id).await?;
        let event = Event::new("auth.token_reuse")
            .actor(Actor::User(token.user_id))
            .target("user", token.user_id)
            .ip(ip.text())
            .details(serde_json::json!({ "session_id": token.family_id }));
        audit::record_for_user(tx.exec(), token.user_id, &event).await?;
        tx.commit().await?;
        tracing::warn!(user_id = %token.user_id, "refresh token reused; the login was revoked");
    }
    Err(AppError::invalid_token())
}

/// Ends the login of a refresh token (an unknown token is not an error).
pub async fn sign_out(state: &App, refresh_token: &str) -> AppResult<()> {
    let hash = hash_token(refresh_token);
    let mut tx = state.db.begin().await?;
    if let Some(token) = queries::find_refresh_token(tx.exec(), &hash).await? {
        queries::revoke_family(tx.exec(), token.family_id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The user and their organizations.
pub async fn me(state: &App, user: uuid::Uuid) -> AppResult<MeResponse> {
    let mut conn = state.db.read().await?;
    let row = queries::find_user(conn.exec(), user)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    let organizations = orgs::queries::user_organizations(conn.exec(), user).await?;
    Ok(MeResponse {
        user: row.public(),
        organizations,
    })
}
