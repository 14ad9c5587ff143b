//! Accounts and tokens (api.md §3): users, sign-in, refresh-token rotation with
//! reuse detection, and the [`AuthUser`] extractor every protected route uses.

pub mod accounts;
pub mod password;
pub mod profile;
pub mod queries;
pub mod session;
pub mod tokens;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The caller, proven by a valid access token. A missing, malformed or bad
/// token is rejected (401), never treated as anonymous. Passing this extractor
/// also counts the request against the caller's API rate limit.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: Uuid,
    /// The login (refresh-token family) the access token was issued for.
    pub session_id: Uuid,
}

/// The client's address, as seen on the connection.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn text(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// The IANA time zone the web app shows times in; null: the browser's.
    #[schema(example = "Europe/Paris")]
    pub time_zone: Option<String>,
    pub created_at: DateTime<Utc>,
}
