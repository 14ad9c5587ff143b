//! Issuing token pairs: what register, login, refresh and accepting an
//! invitation all answer with.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::AppError;
use crate::services::auth::User;
use crate::services::auth::queries::{self, UserRow};
use crate::services::auth::tokens::new_opaque_token;
use crate::services::orgs::{self, OrganizationEntry};

/// A token pair with who it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Lifetime of the access token in seconds.
    pub expires_in: u64,
    pub user: User,
    /// Every membership of the user, with its role.
    pub organizations: Vec<OrganizationEntry>,
}

/// Starts a new login (a new refresh-token family) for `user`.
pub async fn start(c: Exec<'_>, state: &App, user: &UserRow) -> Result<TokenResponse, AppError> {
    issue(c, state, user, crate::db::new_id()).await
}

/// Issues a token pair in the login `family`.
pub async fn issue(mut c: Exec<'_>, state: &App, user: &UserRow, family: Uuid) -> Result<TokenResponse, AppError> {
    let (refresh_token, hash) = new_opaque_token();
    let expires_at = crate::db::now() + state.config.refresh_ttl;
    queries::insert_refresh_token(c.re(), family, user.id, &hash, expires_at).await?;
    let access_token = state.tokens.issue_access(user.id, family)?;
    let organizations = orgs::queries::user_organizations(c.re(), user.id).await?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "bearer",
        expires_in: state.tokens.access_ttl.as_secs(),
        user: user.public(),
        organizations,
    })
}
