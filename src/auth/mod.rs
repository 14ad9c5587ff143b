//! Accounts and tokens (api.md §3): users, sign-in, refresh-token rotation with
//! reuse detection, and the [`AuthUser`] extractor every protected route uses.

pub mod password;
pub mod queries;
pub mod routes;
pub mod session;
pub mod tokens;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::AppState;
use crate::http::error::ApiError;

/// The caller, proven by a valid access token. A missing, malformed or bad
/// token is rejected (401), never treated as anonymous. Passing this extractor
/// also counts the request against the caller's API rate limit.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: Uuid,
    /// The login (refresh-token family) the access token was issued for.
    pub session_id: Uuid,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(*user);
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::invalid_token)?;
        let token = match header.trim().split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(ApiError::invalid_token()),
        };
        let claims = state.tokens.verify_access(token)?;
        state.limits.check_user(claims.sub)?;
        let user = AuthUser {
            user_id: claims.sub,
            session_id: claims.sid,
        };
        parts.extensions.insert(user);
        Ok(user)
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}
