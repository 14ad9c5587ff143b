//! `/api/v1/auth/*` (api.md §3).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{self, Event};
use crate::auth::queries::{self, UserRow};
use crate::auth::session::{self, TokenResponse};
use crate::auth::tokens::hash_token;
use crate::auth::{AuthUser, User, password};
use crate::config::Registration;
use crate::db::{Exec, Tx};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem, Validator};
use crate::http::extract::{ApiJson, ClientIp};
use crate::http::rate_limit::AuthAction;
use crate::orgs::{self, Organization, OrganizationEntry};
use crate::validate;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

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

/// Create an account and its organization; answers with a token pair.
#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = RegisterInput,
    responses(
        (status = 201, body = TokenResponse),
        (status = 400, body = Problem, description = "`malformed_json`"),
        (status = 403, body = Problem, description = "`registration_closed`: CRM_REGISTRATION=invite_only"),
        (status = 409, body = Problem, description = "`email_taken`"),
        (status = 422, body = Problem, description = "`validation_failed`"),
        (status = 429, body = Problem, description = "`rate_limited`, with Retry-After"),
    )
)]
async fn register(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson { data: input, .. }: ApiJson<RegisterInput>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let (mut tx, user) = register_account(&state, ip, input).await?;
    let response = session::start(tx.exec(), &state, &user).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// Registration (the API's and the web app's): checks the input, creates the
/// user and their organization, and hands back the open transaction so the
/// caller adds its kind of session before committing.
pub async fn register_account(state: &AppState, ip: ClientIp, input: RegisterInput) -> ApiResult<(Tx, UserRow)> {
    if state.config.registration == Registration::InviteOnly {
        return Err(ApiError::new(
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
        return Err(ApiError::internal(anyhow::anyhow!("validated values missing")));
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
    let hash = password::hash(input.password).await?;

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
) -> ApiResult<(UserRow, Organization)> {
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
        .actor(user.id)
        .target("user", user.id)
        .ip(ip);
    audit::record(c.re(), org.id, &event).await?;
    Ok((user, org))
}

fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "an account with this email already exists")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// Sign in with email and password; answers with a token pair.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginInput,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, description = "`invalid_credentials`: wrong email or password"),
        (status = 422, body = Problem, description = "`validation_failed`"),
        (status = 429, body = Problem, description = "`rate_limited`, with Retry-After"),
    )
)]
async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson { data: input, .. }: ApiJson<LoginInput>,
) -> ApiResult<Json<TokenResponse>> {
    let (mut tx, user) = sign_in(&state, &input.email, input.password, ip).await?;
    let response = session::start(tx.exec(), &state, &user).await?;
    tx.commit().await?;
    Ok(Json(response))
}

/// Sign-in (the API's login and the web app's): rate limit, password check,
/// `auth.login` in the audit log; hands back the open transaction so the
/// caller adds its kind of session before committing.
pub async fn sign_in(state: &AppState, email: &str, password: String, ip: ClientIp) -> ApiResult<(Tx, UserRow)> {
    state.limits.check_auth(AuthAction::Login, ip.0, email)?;
    let user = authenticate(state, email, password, ip).await?;
    let mut tx = state.db.begin().await?;
    record_login(tx.exec(), user.id, ip).await?;
    Ok((tx, user))
}

/// `auth.login` in every organization of the user.
pub async fn record_login(c: Exec<'_>, user: uuid::Uuid, ip: ClientIp) -> Result<(), sqlx::Error> {
    let event = Event::new("auth.login").actor(user).target("user", user).ip(ip.text());
    audit::record_for_user(c, user, &event).await
}

/// Checks an email and password. A wrong password is logged as
/// `auth.login_failed` in the user's organizations; an unknown email and a wrong
/// password answer the same body after the same work (a hash verification).
pub async fn authenticate(state: &AppState, email: &str, password: String, ip: ClientIp) -> ApiResult<UserRow> {
    let email = email.trim().to_lowercase();
    let user = {
        let mut conn = state.db.read().await?;
        queries::find_user_by_email(conn.exec(), &email).await?
    };
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await;
    match user {
        Some(user) if ok => Ok(user),
        other => {
            if let Some(user) = other {
                let mut tx = state.db.begin().await?;
                let event = Event::new("auth.login_failed")
                    .actor(user.id)
                    .target("user", user.id)
                    .ip(ip.text());
                audit::record_for_user(tx.exec(), user.id, &event).await?;
                tx.commit().await?;
            }
            Err(ApiError::unauthorized("invalid_credentials", "wrong email or password"))
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshInput {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new token pair. The presented token stops
/// working; presenting it again revokes every token of that login.
#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshInput,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, description = "`invalid_token`: unknown, expired, rotated or revoked"),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson { data: input, .. }: ApiJson<RefreshInput>,
) -> ApiResult<Json<TokenResponse>> {
    let hash = hash_token(input.refresh_token.trim());
    let mut tx = state.db.begin().await?;
    if let Some((user_id, family)) = queries::rotate_refresh_token(tx.exec(), &hash).await? {
        let user = queries::find_user(tx.exec(), user_id)
            .await?
            .ok_or_else(ApiError::invalid_token)?;
        let response = session::issue(tx.exec(), &state, &user, family).await?;
        tx.commit().await?;
        return Ok(Json(response));
    }
    // Not a live token. A rotated one coming back means it was copied: end
    // that login everywhere.
    if let Some(token) = queries::find_refresh_token(tx.exec(), &hash).await?
        && token.rotated_at.is_some()
        && token.revoked_at.is_none()
    {
        queries::revoke_family(tx.exec(), token.family_id).await?;
        let event = Event::new("auth.token_reuse")
            .actor(token.user_id)
            .target("user", token.user_id)
            .ip(ip.text())
            .details(serde_json::json!({ "session_id": token.family_id }));
        audit::record_for_user(tx.exec(), token.user_id, &event).await?;
        tx.commit().await?;
        tracing::warn!(user_id = %token.user_id, "refresh token reused; the login was revoked");
    }
    Err(ApiError::invalid_token())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutInput {
    pub refresh_token: String,
}

/// End a login: its refresh tokens stop working at once, its access tokens at
/// the latest when they expire.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body = LogoutInput,
    responses((status = 204, description = "Signed out (also for an unknown token)"))
)]
async fn logout(
    State(state): State<AppState>,
    ApiJson { data: input, .. }: ApiJson<LogoutInput>,
) -> ApiResult<StatusCode> {
    let hash = hash_token(input.refresh_token.trim());
    let mut tx = state.db.begin().await?;
    if let Some(token) = queries::find_refresh_token(tx.exec(), &hash).await? {
        queries::revoke_family(tx.exec(), token.family_id).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: User,
    pub organizations: Vec<OrganizationEntry>,
}

/// The signed-in user and their organizations.
#[utoipa::path(
    get, path = "/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeResponse),
        (status = 401, body = Problem, description = "`invalid_token` or `token_expired`"),
    )
)]
async fn me(user: AuthUser, State(state): State<AppState>) -> ApiResult<Json<MeResponse>> {
    let mut conn = state.db.read().await?;
    let row = queries::find_user(conn.exec(), user.user_id)
        .await?
        .ok_or_else(ApiError::invalid_token)?;
    let organizations = orgs::queries::user_organizations(conn.exec(), user.user_id).await?;
    Ok(Json(MeResponse {
        user: row.public(),
        organizations,
    }))
}
