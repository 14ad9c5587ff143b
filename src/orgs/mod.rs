//! Organizations and tenancy (api.md §4): roles, the [`OrgCtx`] extractor that
//! scopes every tenant request, members and invitations.

pub mod invitations;
pub mod members;
pub mod queries;
pub mod routes;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::ClientIp;

/// Roles, highest first. The order is the order of privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Manager,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Member => "member",
        }
    }

    /// Owners and admins are the "privileged" roles only an owner may grant,
    /// change or remove.
    pub fn is_privileged(self) -> bool {
        self >= Role::Admin
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "member" => Ok(Role::Member),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What members (the lowest role) may read: everything, or only what they own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    All,
    Own,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::All => "all",
            Visibility::Own => "own",
        }
    }
}

/// The tenant context of a request: an authenticated member of the organization
/// named by `X-Organization-Id`, with their role. Every tenant query is scoped
/// by `org_id` from here.
#[derive(Debug, Clone, Copy)]
pub struct OrgCtx {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub role: Role,
    pub visibility: Visibility,
    pub ip: Option<IpAddr>,
}

impl OrgCtx {
    /// 403 `forbidden` unless the caller's role is at least `minimum`.
    pub fn require(&self, minimum: Role) -> Result<(), ApiError> {
        if self.role >= minimum {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("this needs the {minimum} role or higher")))
        }
    }

    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// The `X-Organization-Id` header, for the API documentation.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct OrgHeader {
    /// The organization the request acts in.
    #[param(rename = "X-Organization-Id")]
    x_organization_id: Uuid,
}

impl FromRequestParts<AppState> for OrgCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Authentication comes first: no token and no header is a 401.
        let user = AuthUser::from_request_parts(parts, state).await?;
        let org_id = parts
            .headers
            .get("x-organization-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v.trim()).ok())
            .ok_or_else(|| {
                ApiError::bad_request(
                    "organization_required",
                    "the X-Organization-Id header must name an organization (a UUID)",
                )
            })?;
        let mut conn = state.db.read().await?;
        let (role, visibility) = queries::membership(conn.exec(), org_id, user.user_id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "not_a_member",
                    "you are not a member of this organization",
                )
            })?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        Ok(OrgCtx {
            user_id: user.user_id,
            org_id,
            role,
            visibility,
            ip,
        })
    }
}

/// An organization in a user's list, with the user's role in it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct OrganizationEntry {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub default_currency: String,
}

/// An organization and its settings.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub default_currency: String,
    pub default_country: String,
    #[schema(value_type = Visibility)]
    pub member_visibility: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}
