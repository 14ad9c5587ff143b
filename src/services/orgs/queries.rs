//! SQL of organizations and memberships, written once for both backends.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::Exec;
use crate::run;
use crate::services::orgs::{Organization, OrganizationEntry, Role, Visibility};

const ORG_COLUMNS: &str =
    "id, name, default_currency, default_country, member_visibility, lost_reasons, created_at, updated_at, version";

/// Creates an organization with `owner` as its first owner and its default pipeline.
pub async fn create_organization(
    mut c: Exec<'_>,
    name: &str,
    currency: &str,
    owner: Uuid,
) -> Result<Organization, sqlx::Error> {
    let now = crate::db::now();
    let org = Organization {
        id: crate::db::new_id(),
        name: name.to_string(),
        default_currency: currency.to_string(),
        default_country: "US".into(),
        member_visibility: "all".into(),
        lost_reasons: sqlx::types::Json(Vec::new()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    insert_organization(c.re(), &org).await?;
    add_member(c.re(), org.id, owner, Role::Owner).await?;
    crate::services::pipelines::create_default(c.re(), org.id).await?;
    Ok(org)
}

/// Inserts `org` as it is (a new organization, or a restored one).
pub async fn insert_organization(c: Exec<'_>, org: &Organization) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO organizations (id, name, default_currency, default_country, member_visibility, lost_reasons, \
         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(org.id)
    .bind(&org.name)
    .bind(&org.default_currency)
    .bind(&org.default_country)
    .bind(&org.member_visibility)
    .bind(&org.lost_reasons)
    .bind(org.created_at)
    .bind(org.updated_at)
    .bind(org.version)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Adds a membership; an existing one fails with a unique violation.
pub async fn add_member(c: Exec<'_>, org: Uuid, user: Uuid, role: Role) -> Result<(), sqlx::Error> {
    add_member_since(c, org, user, role, crate::db::now()).await
}

/// Adds a membership that began at `joined_at` (a restored one).
pub async fn add_member_since(
    c: Exec<'_>,
    org: Uuid,
    user: Uuid,
    role: Role,
    joined_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query("INSERT INTO memberships (organization_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)")
        .bind(org)
        .bind(user)
        .bind(role.as_str())
        .bind(joined_at)
        .execute(conn)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find_organization(c: Exec<'_>, org: Uuid) -> Result<Option<Organization>, sqlx::Error> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1");
    run!(c, conn => sqlx::query_as(&sql).bind(org).fetch_optional(conn).await)
}

/// Locks the organization row until the transaction ends (PostgreSQL), so
/// membership changes of one organization happen one at a time: two owners
/// demoting each other concurrently cannot leave it without an owner.
pub async fn lock_organization(c: Exec<'_>, org: Uuid) -> Result<Option<Organization>, sqlx::Error> {
    let sql = format!(
        "SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1{}",
        c.for_update()
    );
    run!(c, conn => sqlx::query_as(&sql).bind(org).fetch_optional(conn).await)
}

/// Writes the settings of `org` and bumps its version.
pub async fn update_organization(c: Exec<'_>, org: &Organization) -> Result<Organization, sqlx::Error> {
    let sql = format!(
        "UPDATE organizations SET name = $2, default_currency = $3, default_country = $4, member_visibility = $5, \
         lost_reasons = $7, updated_at = $6, version = version + 1 WHERE id = $1 RETURNING {ORG_COLUMNS}"
    );
    run!(c, conn => sqlx::query_as(&sql)
        .bind(org.id)
        .bind(&org.name)
        .bind(&org.default_currency)
        .bind(&org.default_country)
        .bind(&org.member_visibility)
        .bind(crate::db::now())
        .bind(&org.lost_reasons)
        .fetch_one(conn)
        .await)
}

/// The caller's role in `org` and the organization's visibility rule, or `None`
/// when the user is not a member (or the organization does not exist).
/// The organization's first owner (the one who created it, unless the
/// ownership moved): whom `crm import` records belong to.
pub async fn first_owner(c: Exec<'_>, org: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    run!(c, conn => sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE organization_id = $1 AND role = 'owner' ORDER BY joined_at, user_id LIMIT 1",
    )
    .bind(org)
    .fetch_optional(conn)
    .await)
}

/// A member's role in the organization, the organization's visibility
/// rule and its default country (read with them: phones without a country
/// code need it, and every import row would otherwise ask again).
/// An ISO 3166 alpha-2 country code, kept by value (`OrgCtx` is `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country([u8; 2]);

impl Country {
    /// `code` when it is two ASCII letters, else the United States (the
    /// organizations' default).
    pub fn new(code: &str) -> Self {
        match code.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
            }
            _ => Country(*b"US"),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("US")
    }
}

pub async fn membership(
    c: Exec<'_>,
    org: Uuid,
    user: Uuid,
) -> Result<Option<(Role, Visibility, Country)>, sqlx::Error> {
    let row: Option<(String, String, String)> = run!(c, conn => sqlx::query_as(
        "SELECT m.role, o.member_visibility, o.default_country FROM memberships m JOIN organizations o ON o.id = m.organization_id \
         WHERE m.organization_id = $1 AND m.user_id = $2",
    )
    .bind(org)
    .bind(user)
    .fetch_optional(conn)
    .await)?;
    Ok(row.and_then(|(role, visibility, country)| {
        let role = role.parse().ok()?;
        let visibility = if visibility == "own" {
            Visibility::Own
        } else {
            Visibility::All
        };
        Some((role, visibility, Country::new(&country)))
    }))
}

/// Every organization of `user`, with the user's role, by name.
pub async fn user_organizations(c: Exec<'_>, user: Uuid) -> Result<Vec<OrganizationEntry>, sqlx::Error> {
    run!(c, conn => sqlx::query_as(
        "SELECT o.id, o.name, m.role, o.default_currency FROM memberships m JOIN organizations o ON o.id = m.organization_id \
         WHERE m.user_id = $1 ORDER BY o.name, o.id",
    )
    .bind(user)
    .fetch_all(conn)
    .await)
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

impl Member {
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Member)
    }
}

const MEMBER_SELECT: &str =
    "SELECT m.user_id, u.email, u.name, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id";

pub async fn list_members(c: Exec<'_>, org: Uuid) -> Result<Vec<Member>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} WHERE m.organization_id = $1 ORDER BY m.joined_at, m.user_id");
    run!(c, conn => sqlx::query_as(&sql).bind(org).fetch_all(conn).await)
}

pub async fn find_member(c: Exec<'_>, org: Uuid, user: Uuid) -> Result<Option<Member>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} WHERE m.organization_id = $1 AND m.user_id = $2");
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(user).fetch_optional(conn).await)
}

pub async fn find_member_by_email(c: Exec<'_>, org: Uuid, email: &str) -> Result<Option<Member>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} WHERE m.organization_id = $1 AND u.email = $2");
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(email).fetch_optional(conn).await)
}

pub async fn count_owners(c: Exec<'_>, org: Uuid) -> Result<i64, sqlx::Error> {
    run!(c, conn => sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE organization_id = $1 AND role = 'owner'")
        .bind(org)
        .fetch_one(conn)
        .await)
}

pub async fn set_role(c: Exec<'_>, org: Uuid, user: Uuid, role: Role) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query("UPDATE memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2")
        .bind(org)
        .bind(user)
        .bind(role.as_str())
        .execute(conn)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn remove_member(c: Exec<'_>, org: Uuid, user: Uuid) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2")
        .bind(org)
        .bind(user)
        .execute(conn)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}
