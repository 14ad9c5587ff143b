//! Organizations and tenancy (api.md §4): roles, the [`OrgCtx`] extractor that
//! scopes every tenant request, members and invitations.

pub mod invitations;
pub mod members;
pub mod organizations;
pub mod queries;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;

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
    pub fn require(&self, minimum: Role) -> Result<(), AppError> {
        if self.role >= minimum {
            Ok(())
        } else {
            Err(AppError::forbidden(format!("this needs the {minimum} role or higher")))
        }
    }

    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
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
