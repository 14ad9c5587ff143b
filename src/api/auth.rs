//! HTTP handlers of `crate::services::auth::accounts`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::ApiJson;
use crate::services::auth::AuthUser;
use crate::services::auth::ClientIp;
use crate::services::auth::User;
use crate::services::auth::accounts::*;
use crate::services::auth::profile::{self, PasswordChange, ProfilePatch};
use crate::services::auth::session::TokenResponse;
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
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
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
    Ok((
        StatusCode::CREATED,
        Json(register_with_tokens(&state, ip, input).await?),
    ))
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
    Ok(Json(
        sign_in_with_tokens(&state, &input.email, input.password, ip).await?,
    ))
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
    Ok(Json(refresh_tokens(&state, input.refresh_token.trim(), ip).await?))
}

/// End a login: its refresh tokens stop working at once, its access tokens at
/// the latest when they expire.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    request_body = LogoutInput,
    responses((status = 204, description = "Signed out (also for an unknown token)"))
)]
async fn logout(State(state): State<App>, ApiJson { data: input, .. }: ApiJson<LogoutInput>) -> AppResult<StatusCode> {
    sign_out(&state, input.refresh_token.trim()).await?;
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
    Ok(Json(crate::services::auth::accounts::me(&state, user.user_id).await?))
}

/// Change the signed-in user's name or time zone.
#[utoipa::path(
    patch, path = "/auth/me", tag = "auth",
    security(("bearer" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, body = User),
        (status = 401, body = Problem, description = "`invalid_token` or `token_expired`"),
        (status = 422, body = Problem, description = "`validation_failed`: `name`, `time_zone`"),
    )
)]
async fn update_me(
    user: AuthUser,
    State(state): State<App>,
    ApiJson { data: patch, .. }: ApiJson<ProfilePatch>,
) -> AppResult<Json<User>> {
    Ok(Json(profile::update(&state, user.user_id, patch).await?))
}

/// Change the signed-in user's password, given the current one. Every other
/// login of the user ends (their refresh tokens stop working).
#[utoipa::path(
    post, path = "/auth/password", tag = "auth",
    security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 401, body = Problem, description = "`invalid_token` or `token_expired`"),
        (status = 422, body = Problem, description = "`validation_failed`: `new_password` too weak, or `current_password` wrong"),
    )
)]
async fn change_password(
    user: AuthUser,
    State(state): State<App>,
    ApiJson { data: input, .. }: ApiJson<PasswordChange>,
) -> AppResult<StatusCode> {
    profile::change_password(&state, user.user_id, input, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
