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

use http::StatusCode;

use crate::app::App;
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

/// Who acts. The API and the web app act for a signed-in user; imports,
/// automations and the system (the CLI, housekeeping) call the same services
/// and are named as themselves in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    Import(Uuid),
    Automation(Uuid),
    System,
}

impl Actor {
    /// The audit log's `actor_id`: the user of a user's action, else none.
    pub fn user_id(self) -> Option<Uuid> {
        match self {
            Actor::User(id) => Some(id),
            _ => None,
        }
    }

    /// The audit log's `actor`: `user:<id>`, `import:<id>`,
    /// `automation:<id>` or `system`.
    pub fn label(self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Import(id) => format!("import:{id}"),
            Actor::Automation(id) => format!("automation:{id}"),
            Actor::System => "system".to_string(),
        }
    }
}

/// The acting context every tenant service takes: the organization (every
/// tenant query is scoped by `org_id`), the member whose rights apply
/// (`user_id`, `role`, `visibility`), who acts (`actor`) and, for a request,
/// the client's address.
///
/// For a signed-in user `actor` is `Actor::User(user_id)`. An import or an
/// automation acts with the rights of the member who started or owns it
/// (records it creates belong to that member unless it names an owner), and
/// is named as itself: [`OrgCtx::acting_as`].
#[derive(Debug, Clone, Copy)]
pub struct OrgCtx {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub visibility: Visibility,
    pub actor: Actor,
    pub ip: Option<IpAddr>,
    /// The organization's `default_country`, read with the membership.
    pub default_country: queries::Country,
}

impl OrgCtx {
    /// The context of `user` in `org`, as their membership says: 403
    /// `not_a_member` when they have none.
    pub async fn of_member(state: &App, org: Uuid, user: Uuid, ip: Option<IpAddr>) -> Result<OrgCtx, AppError> {
        let mut conn = state.db.read().await?;
        let (role, visibility, default_country) =
            queries::membership(conn.exec(), org, user).await?.ok_or_else(|| {
                AppError::new(
                    StatusCode::FORBIDDEN,
                    "not_a_member",
                    "you are not a member of this organization",
                )
            })?;
        Ok(OrgCtx {
            org_id: org,
            user_id: user,
            role,
            visibility,
            actor: Actor::User(user),
            ip,
            default_country,
        })
    }

    /// The operator's context in `org` (a `crm` command): an owner's rights,
    /// named `system` in the audit log. 404 when there is no such
    /// organization.
    pub async fn system(state: &App, org: Uuid) -> Result<OrgCtx, AppError> {
        let mut ctx = OrgCtx {
            org_id: org,
            user_id: Uuid::nil(),
            role: Role::Owner,
            visibility: Visibility::All,
            actor: Actor::System,
            ip: None,
            default_country: queries::Country::new("US"),
        };
        let organization = organizations::current(state, &ctx).await?;
        ctx.default_country = queries::Country::new(&organization.default_country);
        Ok(ctx)
    }

    /// The same rights, acting as `actor` (an import or an automation run for
    /// this member).
    pub fn acting_as(self, actor: Actor) -> OrgCtx {
        OrgCtx { actor, ..self }
    }

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
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, sqlx::FromRow)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub default_currency: String,
    pub default_country: String,
    #[schema(value_type = Visibility)]
    pub member_visibility: String,
    /// The reasons the web app offers when a deal is lost, in order.
    #[schema(value_type = Vec<String>)]
    pub lost_reasons: sqlx::types::Json<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}
