//! HTTP handlers of `crate::services::auth::accounts`.

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::http::error::Problem;
use crate::http::extract::ApiJson;
use crate::services::audit::{self, Event};
use crate::services::auth::AuthUser;
use crate::services::auth::ClientIp;
use crate::services::auth::accounts::*;
use crate::services::auth::queries::{self};
use crate::services::auth::session::{self, TokenResponse};
use crate::services::auth::tokens::hash_token;
use crate::services::orgs::{self};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
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
    State(state): State<App>,
    ip: ClientIp,
    ApiJson { data: input, .. }: ApiJson<RegisterInput>,
) -> AppResult<(StatusCode, Json<TokenResponse>)> {
    let (mut tx, user) = register_account(&state, ip, input).await?;
    let response = session::start(tx.exec(), &state, &user).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(response)))
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
    State(state): State<App>,
    ip: ClientIp,
    ApiJson { data: input, .. }: ApiJson<LoginInput>,
) -> AppResult<Json<TokenResponse>> {
    let (mut tx, user) = sign_in(&state, &input.email, input.password, ip).await?;
    let response = session::start(tx.exec(), &state, &user).await?;
    tx.commit().await?;
    Ok(Json(response))
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
    State(state): State<App>,
    ip: ClientIp,
    ApiJson { data: input, .. }: ApiJson<RefreshInput>,
) -> AppResult<Json<TokenResponse>> {
    let hash = hash_token(input.refresh_token.trim());
    let mut tx = state.db.begin().await?;
    if let Some((user_id, family)) = queries::rotate_refresh_token(tx.exec(), &hash).await? {
        let user = queries::find_user(tx.exec(), user_id)
            .await?
            .ok_or_else(AppError::invalid_token)?;
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
    Err(AppError::invalid_token())
}

/// End a login: its refresh tokens stop working at once, its access tokens at
/// the latest when they expire.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body = LogoutInput,
    responses((status = 204, description = "Signed out (also for an unknown token)"))
)]
async fn logout(State(state): State<App>, ApiJson { data: input, .. }: ApiJson<LogoutInput>) -> AppResult<StatusCode> {
    let hash = hash_token(input.refresh_token.trim());
    let mut tx = state.db.begin().await?;
    if let Some(token) = queries::find_refresh_token(tx.exec(), &hash).await? {
        queries::revoke_family(tx.exec(), token.family_id).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
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
async fn me(user: AuthUser, State(state): State<App>) -> AppResult<Json<MeResponse>> {
    let mut conn = state.db.read().await?;
    let row = queries::find_user(conn.exec(), user.user_id)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    let organizations = orgs::queries::user_organizations(conn.exec(), user.user_id).await?;
    Ok(Json(MeResponse {
        user: row.public(),
        organizations,
    }))
}
