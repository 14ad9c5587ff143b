//! The company row and the SQL of companies beyond the shared shape's
//! (`records::rows` writes and lists them).

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::Exec;
use crate::run;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Company {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    /// Lower-cased host name, unique in the organization.
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i64>,
    #[schema(value_type = Vec<String>)]
    pub tags: Json<Vec<String>>,
    /// Custom field values: only set keys.
    #[schema(value_type = Object)]
    pub custom: Json<crate::services::custom_fields::CustomValues>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub const COLUMNS: &str =
    "id, owner_id, name, domain, industry, employee_count, tags, custom, created_at, updated_at, version";

/// The oldest company of `org` named `name` (case-insensitively): the one
/// an import row's or a converted lead's company name stands for.
pub async fn find_by_name(c: Exec<'_>, org: Uuid, name: &str) -> Result<Option<Uuid>, sqlx::Error> {
    run!(c, conn => sqlx::query_scalar(
        "SELECT id FROM companies WHERE organization_id = $1 AND lower(name) = lower($2) ORDER BY created_at, id LIMIT 1",
    )
    .bind(org)
    .bind(name)
    .fetch_optional(conn)
    .await)
}

/// The id of another company of `org` with this domain.
pub async fn find_by_domain(
    c: Exec<'_>,
    org: Uuid,
    domain: &str,
    except: Option<Uuid>,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row: Option<(Uuid,)> = run!(c, conn => sqlx::query_as(
        "SELECT id FROM companies WHERE organization_id = $1 AND domain = $2 AND ($3 IS NULL OR id <> $3)",
    )
    .bind(org)
    .bind(domain)
    .bind(except)
    .fetch_optional(conn)
    .await)?;
    Ok(row.map(|r| r.0))
}
