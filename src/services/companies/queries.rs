//! SQL of companies, written once for both backends; the free-text filter is the
//! one place that branches (FTS5 on SQLite, tsvector on PostgreSQL).

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::Exec;
use crate::run;
use crate::services::records::{self, Sort};

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub const COLUMNS: &str = "id, owner_id, name, domain, industry, employee_count, tags, created_at, updated_at, version";

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

pub async fn insert(c: Exec<'_>, org: Uuid, company: &Company, search_text: &str) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO companies (organization_id, id, owner_id, name, domain, industry, employee_count, tags, search_text, \
         created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(org)
    .bind(company.id)
    .bind(company.owner_id)
    .bind(&company.name)
    .bind(&company.domain)
    .bind(&company.industry)
    .bind(company.employee_count)
    .bind(&company.tags)
    .bind(search_text)
    .bind(company.created_at)
    .bind(company.updated_at)
    .bind(company.version)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn update(c: Exec<'_>, org: Uuid, company: &Company, search_text: &str) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "UPDATE companies SET owner_id = $3, name = $4, domain = $5, industry = $6, employee_count = $7, tags = $8, \
         search_text = $9, updated_at = $10, version = $11 WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(company.id)
    .bind(company.owner_id)
    .bind(&company.name)
    .bind(&company.domain)
    .bind(&company.industry)
    .bind(company.employee_count)
    .bind(&company.tags)
    .bind(search_text)
    .bind(company.updated_at)
    .bind(company.version)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct Filter {
    pub words: Vec<String>,
    pub owner_id: Option<Uuid>,
    pub tags: Vec<String>,
    /// `member_visibility: own`: only this owner's companies.
    pub only_owner: Option<Uuid>,
}

pub use crate::services::records::After;

/// One page (up to `limit + 1` rows) of a company list.
pub async fn list(
    mut c: Exec<'_>,
    org: Uuid,
    filter: &Filter,
    sort: Sort,
    after: Option<After>,
    limit: i64,
) -> Result<Vec<Company>, sqlx::Error> {
    let backend = c.backend();
    let tags = records::tag_filter(c.re(), org, "company", &filter.tags).await?;
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM companies WHERE organization_id = "));
        q.push_bind(org);
        records::push_search(&mut q, backend, "companies", &filter.words);
        for owner in [filter.owner_id, filter.only_owner].into_iter().flatten() {
            q.push(" AND owner_id = ").push_bind(owner);
        }
        records::push_tags(&mut q, org, "companies", "company", &filter.tags, tags);
        records::push_page(&mut q, sort, after, limit);
        q.build_query_as()
            .persistent(!records::plan_per_values(&filter.words, &filter.tags))
            .fetch_all(conn)
            .await
    })
}
