//! SQL of contacts, written once for both backends; the free-text filter is the
//! one place that branches (FTS5 on SQLite, tsvector on PostgreSQL).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::Exec;
use crate::records::{self, Sort};
use crate::run;

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Contact {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub company_id: Option<Uuid>,
    pub lead_source: Option<String>,
    pub customer_since: Option<NaiveDate>,
    #[schema(value_type = Vec<String>)]
    pub tags: Json<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub const COLUMNS: &str = "id, owner_id, name, email, phone, title, company_id, lead_source, customer_since, tags, \
                           created_at, updated_at, version";

pub async fn find(c: Exec<'_>, org: Uuid, id: Uuid) -> Result<Option<Contact>, sqlx::Error> {
    let lock = c.for_update();
    let sql = format!("SELECT {COLUMNS} FROM contacts WHERE organization_id = $1 AND id = $2{lock}");
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(id).fetch_optional(conn).await)
}

/// The id of a contact of `org` with this email or phone, other than `except`.
pub async fn find_duplicate(
    c: Exec<'_>,
    org: Uuid,
    email: Option<&str>,
    phone: Option<&str>,
    except: Option<Uuid>,
) -> Result<Option<Uuid>, sqlx::Error> {
    if email.is_none() && phone.is_none() {
        return Ok(None);
    }
    let row: Option<(Uuid,)> = run!(c, conn => sqlx::query_as(
        "SELECT id FROM contacts WHERE organization_id = $1 AND (email = $2 OR phone = $3) \
         AND ($4 IS NULL OR id <> $4) LIMIT 1",
    )
    .bind(org)
    .bind(email)
    .bind(phone)
    .bind(except)
    .fetch_optional(conn)
    .await)?;
    Ok(row.map(|r| r.0))
}

/// Inserts or fully rewrites a contact (the version and timestamps are the
/// caller's).
pub async fn insert(c: Exec<'_>, org: Uuid, contact: &Contact, search_text: &str) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO contacts (organization_id, id, owner_id, name, email, phone, title, company_id, lead_source, \
         customer_since, tags, search_text, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(org)
    .bind(contact.id)
    .bind(contact.owner_id)
    .bind(&contact.name)
    .bind(&contact.email)
    .bind(&contact.phone)
    .bind(&contact.title)
    .bind(contact.company_id)
    .bind(&contact.lead_source)
    .bind(contact.customer_since)
    .bind(&contact.tags)
    .bind(search_text)
    .bind(contact.created_at)
    .bind(contact.updated_at)
    .bind(contact.version)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn update(c: Exec<'_>, org: Uuid, contact: &Contact, search_text: &str) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "UPDATE contacts SET owner_id = $3, name = $4, email = $5, phone = $6, title = $7, company_id = $8, \
         lead_source = $9, customer_since = $10, tags = $11, search_text = $12, updated_at = $13, version = $14 \
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(contact.id)
    .bind(contact.owner_id)
    .bind(&contact.name)
    .bind(&contact.email)
    .bind(&contact.phone)
    .bind(&contact.title)
    .bind(contact.company_id)
    .bind(&contact.lead_source)
    .bind(contact.customer_since)
    .bind(&contact.tags)
    .bind(search_text)
    .bind(contact.updated_at)
    .bind(contact.version)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(c: Exec<'_>, org: Uuid, id: Uuid) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query("DELETE FROM contacts WHERE organization_id = $1 AND id = $2")
        .bind(org)
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The name of a company of `org`, `None` when there is no such company.
pub async fn company_name(c: Exec<'_>, org: Uuid, company: Uuid) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = run!(c, conn => sqlx::query_as(
        "SELECT name FROM companies WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(company)
    .fetch_optional(conn)
    .await)?;
    Ok(row.map(|r| r.0))
}

/// The filters of a contact list, checked.
#[derive(Debug, Default)]
pub struct Filter {
    pub words: Vec<String>,
    pub owner_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub lead_source: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// `member_visibility: own`: only this owner's contacts.
    pub only_owner: Option<Uuid>,
}

pub use crate::records::After;

/// One page (up to `limit + 1` rows) of a contact list.
pub async fn list(
    c: Exec<'_>,
    org: Uuid,
    filter: &Filter,
    sort: Sort,
    after: Option<After>,
    limit: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    let backend = c.backend();
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM contacts WHERE organization_id = "));
        q.push_bind(org);
        records::push_search(&mut q, backend, "contacts", &filter.words);
        if let Some(owner) = filter.owner_id {
            q.push(" AND owner_id = ").push_bind(owner);
        }
        if let Some(owner) = filter.only_owner {
            q.push(" AND owner_id = ").push_bind(owner);
        }
        if let Some(company) = filter.company_id {
            q.push(" AND company_id = ").push_bind(company);
        }
        if let Some(source) = &filter.lead_source {
            q.push(" AND lead_source = ").push_bind(source.clone());
        }
        if let Some(at) = filter.created_after {
            q.push(" AND created_at >= ").push_bind(at);
        }
        if let Some(at) = filter.created_before {
            q.push(" AND created_at < ").push_bind(at);
        }
        records::push_tags(&mut q, org, "contact", &filter.tags);
        records::push_page(&mut q, sort, after, limit);
        q.build_query_as().fetch_all(conn).await
    })
}
