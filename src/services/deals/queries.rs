//! SQL of deals, written once for both backends.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serializer;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::Exec;
use crate::run;
use crate::services::records::{self, After, Sort};

#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Deal {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub contact_id: Uuid,
    pub company_id: Option<Uuid>,
    pub pipeline_id: Uuid,
    /// A stage key of the pipeline.
    pub stage: String,
    /// `new`, `in_progress`, `won` or `lost`.
    pub status: String,
    /// Decimal string with 2 fraction digits.
    #[serde(rename = "amount", serialize_with = "money")]
    #[schema(value_type = String, example = "1500.00")]
    pub amount_cents: i64,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    pub lost_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    #[schema(value_type = Vec<String>)]
    pub tags: Json<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// Position of the furthest stage ever reached (the funnel's "entered").
    #[serde(skip)]
    pub furthest_position: i64,
}

fn money<S: Serializer>(cents: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::format::cents(*cents))
}

pub const COLUMNS: &str = "id, owner_id, title, contact_id, company_id, pipeline_id, stage, status, amount_cents, currency, \
                       expected_close_date, lost_reason, closed_at, tags, created_at, updated_at, version, furthest_position";

/// Inserts a new deal or writes every column of an existing one.
pub async fn save(c: Exec<'_>, org: Uuid, d: &Deal, new: bool) -> Result<(), sqlx::Error> {
    let sql = if new {
        "INSERT INTO deals (organization_id, id, owner_id, title, contact_id, company_id, pipeline_id, stage, status, \
         amount_cents, currency, expected_close_date, lost_reason, closed_at, tags, search_text, created_at, updated_at, \
         version, furthest_position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
    } else {
        "UPDATE deals SET owner_id = $3, title = $4, contact_id = $5, company_id = $6, pipeline_id = $7, stage = $8, \
         status = $9, amount_cents = $10, currency = $11, expected_close_date = $12, lost_reason = $13, closed_at = $14, \
         tags = $15, search_text = $16, created_at = $17, updated_at = $18, version = $19, furthest_position = $20 \
         WHERE organization_id = $1 AND id = $2"
    };
    let search_text = records::search_text([Some(d.title.as_str())]);
    run!(c, conn => sqlx::query(sql)
        .bind(org)
        .bind(d.id)
        .bind(d.owner_id)
        .bind(&d.title)
        .bind(d.contact_id)
        .bind(d.company_id)
        .bind(d.pipeline_id)
        .bind(&d.stage)
        .bind(&d.status)
        .bind(d.amount_cents)
        .bind(&d.currency)
        .bind(d.expected_close_date)
        .bind(&d.lost_reason)
        .bind(d.closed_at)
        .bind(&d.tags)
        .bind(&search_text)
        .bind(d.created_at)
        .bind(d.updated_at)
        .bind(d.version)
        .bind(d.furthest_position)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct Filter {
    pub words: Vec<String>,
    pub statuses: Vec<String>,
    pub stage: Option<String>,
    pub pipeline_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    pub close_after: Option<NaiveDate>,
    pub close_before: Option<NaiveDate>,
    /// `member_visibility: own`: only this owner's deals.
    pub only_owner: Option<Uuid>,
}

/// One page (up to `limit + 1` rows) of a deal list.
pub async fn list(
    mut c: Exec<'_>,
    org: Uuid,
    f: &Filter,
    sort: Sort,
    after: Option<After>,
    limit: i64,
) -> Result<Vec<Deal>, sqlx::Error> {
    let backend = c.backend();
    let tags = records::tag_filter(c.re(), org, "deal", &f.tags).await?;
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM deals WHERE organization_id = "));
        q.push_bind(org);
        records::push_search(&mut q, backend, "deals", &f.words);
        if !f.statuses.is_empty() {
            q.push(" AND status IN (");
            let mut list = q.separated(", ");
            for status in &f.statuses {
                list.push_bind(status.clone());
            }
            q.push(")");
        }
        if let Some(stage) = &f.stage {
            q.push(" AND stage = ").push_bind(stage.clone());
        }
        for (column, value) in [("pipeline_id", f.pipeline_id), ("owner_id", f.owner_id), ("owner_id", f.only_owner), ("contact_id", f.contact_id), ("company_id", f.company_id)] {
            if let Some(value) = value {
                q.push(format!(" AND {column} = ")).push_bind(value);
            }
        }
        if let Some(n) = f.amount_min {
            q.push(" AND amount_cents >= ").push_bind(n);
        }
        if let Some(n) = f.amount_max {
            q.push(" AND amount_cents <= ").push_bind(n);
        }
        if let Some(d) = f.close_after {
            q.push(" AND expected_close_date >= ").push_bind(d);
        }
        if let Some(d) = f.close_before {
            q.push(" AND expected_close_date < ").push_bind(d);
        }
        records::push_tags(&mut q, org, "deals", "deal", &f.tags, tags);
        records::push_page(&mut q, sort, after, limit);
        q.build_query_as()
            .persistent(!records::plan_per_values(&f.words, &f.tags))
            .fetch_all(conn)
            .await
    })
}
