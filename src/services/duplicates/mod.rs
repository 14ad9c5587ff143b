//! Likely duplicates (data.md "Duplicates and merge"): a scan of an
//! organization's contacts or companies (`find`) stores the groups it
//! finds; `GET /contacts/duplicates` reads them best first.
//!
//! When a scan runs: an organization with up to [`SCAN_WHEN_ASKED`]
//! records is scanned when the list is asked for (a few hundred
//! milliseconds: always fresh); a larger one is scanned by the
//! `duplicates` job, queued by the list when the last scan is older than
//! [`STALE_AFTER`], so the list answers at once from the stored groups (1M
//! contacts take the job tens of seconds). Groups whose records were merged
//! or deleted since shrink; one left alone is not shown.

pub mod find;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json as SqlJson;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult};
use crate::run;
use crate::services::companies::Company;
use crate::services::contacts::Contact;
use crate::services::jobs::{self, Claimed, NewJob};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::{self, Cursor};
use crate::services::records::shape::Record;

/// The job kind that scans an organization.
pub const JOB_KIND: &str = "duplicates";
/// Organizations with up to this many records of a type are scanned when
/// the list is asked for.
pub const SCAN_WHEN_ASKED: i64 = 20_000;
/// How old a larger organization's scan may be before the list queues
/// another.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// Records read per query while scanning.
const SCAN_PAGE: i64 = 5_000;

/// A record type duplicates are found among.
pub trait Scanned: Record {
    /// The `record_type` of its groups (`contact`, `company`).
    const TYPE: &'static str;
    /// The columns a scan reads (after `id`).
    const KEY_COLUMNS: &'static str;
    type Keys: Send + 'static;
    fn keys(row: KeyRow) -> Self::Keys;
    fn groups(keys: &[Self::Keys]) -> Vec<find::Group>;
}

/// A row of a scan: the id and up to three text columns and an id column.
#[derive(Debug, sqlx::FromRow)]
pub struct KeyRow {
    pub id: Uuid,
    pub a: Option<String>,
    pub b: Option<String>,
    pub c: Option<String>,
    pub d: Option<Uuid>,
}

impl Scanned for Contact {
    const TYPE: &'static str = "contact";
    const KEY_COLUMNS: &'static str = "name AS a, email AS b, phone AS c, company_id AS d";
    type Keys = find::ContactKeys;
    fn keys(row: KeyRow) -> find::ContactKeys {
        find::ContactKeys::new(
            row.id,
            row.a.as_deref().unwrap_or_default(),
            row.b.as_deref(),
            row.c.as_deref(),
            row.d,
        )
    }
    fn groups(keys: &[find::ContactKeys]) -> Vec<find::Group> {
        find::contacts(keys)
    }
}

impl Scanned for Company {
    const TYPE: &'static str = "company";
    const KEY_COLUMNS: &'static str = "name AS a, domain AS b, NULL AS c, NULL AS d";
    type Keys = find::CompanyKeys;
    fn keys(row: KeyRow) -> find::CompanyKeys {
        find::CompanyKeys {
            id: row.id,
            name: row.a.unwrap_or_default(),
            domain: row.b,
        }
    }
    fn groups(keys: &[find::CompanyKeys]) -> Vec<find::Group> {
        find::companies(keys)
    }
}

/// A group of likely duplicates: `{reason, score, contacts | companies}`
/// (the records under their type's plural, as data.md names them).
#[derive(Debug)]
pub struct DuplicateGroup<R> {
    pub reason: String,
    pub score: f64,
    pub records: Vec<R>,
}

impl<R: Scanned> Serialize for DuplicateGroup<R> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("reason", &self.reason)?;
        map.serialize_entry("score", &self.score)?;
        map.serialize_entry(R::TABLE, &self.records)?;
        map.end()
    }
}

/// [`DuplicateGroup`] of contacts, as the API documents it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactGroup {
    /// `email`, `phone` or `name`.
    reason: String,
    /// 0..1: 1 for the same email or phone; the names' similarity
    /// (Jaro-Winkler, at least 0.92) for names.
    score: f64,
    contacts: Vec<Contact>,
}

/// [`DuplicateGroup`] of companies, as the API documents it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CompanyGroup {
    /// `domain` or `name`.
    reason: String,
    /// 0..1: 1 for the same domain; the names' similarity without legal
    /// suffixes (Jaro-Winkler, at least 0.92) for names.
    score: f64,
    companies: Vec<Company>,
}

/// One page of groups, best score first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicatePage<G> {
    pub data: Vec<G>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// When the groups were found (null before the first scan ends).
    pub scanned_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateQuery {
    /// Page size, 1..200 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A stored group.
#[derive(Debug, sqlx::FromRow)]
struct Stored {
    id: Uuid,
    reason: String,
    score_milli: i32,
    record_ids: SqlJson<Vec<Uuid>>,
}

/// One page of the likely duplicates of `R` the caller may read (the API
/// and the web app's duplicates page).
pub async fn list<R: Scanned>(
    state: &App,
    ctx: &OrgCtx,
    query: &DuplicateQuery,
) -> AppResult<DuplicatePage<DuplicateGroup<R>>> {
    let limit = pagination::limit(query.limit.as_deref())?;
    let after: Option<(i32, Uuid)> = Cursor::decode(query.cursor.as_deref())?;
    let scanned_at = refresh::<R>(state, ctx.org_id).await?;
    let mut conn = state.db.read().await?;
    // Served by duplicate_groups_rank_idx.
    let stored: Vec<Stored> = run!(conn.exec(), c => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, reason, score_milli, record_ids FROM duplicate_groups WHERE organization_id = ",
        );
        q.push_bind(ctx.org_id).push(" AND record_type = ").push_bind(R::TYPE);
        if let Some((score, id)) = after {
            q.push(" AND (score_milli < ").push_bind(score).push(" OR (score_milli = ").push_bind(score)
                .push(" AND id > ").push_bind(id).push("))");
        }
        q.push(" ORDER BY score_milli DESC, id LIMIT ").push_bind(limit + 1);
        q.build_query_as().fetch_all(c).await
    })?;
    let more = stored.len() as i64 > limit;
    let stored: Vec<Stored> = stored.into_iter().take(limit as usize).collect();
    let next_cursor = if more {
        stored.last().map(|g| Cursor::encode(&(g.score_milli, g.id)))
    } else {
        None
    };
    let ids: Vec<Uuid> = stored.iter().flat_map(|g| g.record_ids.0.iter().copied()).collect();
    let mut records: HashMap<Uuid, R> = HashMap::new();
    for part in ids.chunks(500) {
        let found: Vec<R> = run!(conn.exec(), c => {
            let mut q = sqlx::QueryBuilder::new(format!("SELECT {} FROM {} WHERE organization_id = ", R::COLUMNS, R::TABLE));
            q.push_bind(ctx.org_id).push(" AND id IN (");
            let mut list = q.separated(", ");
            for id in part {
                list.push_bind(*id);
            }
            q.push(")");
            q.build_query_as().fetch_all(c).await
        })?;
        records.extend(found.into_iter().map(|r| (r.id(), r)));
    }
    let data = stored
        .into_iter()
        .filter_map(|g| {
            let members: Vec<R> = g
                .record_ids
                .0
                .iter()
                .filter_map(|id| records.get(id))
                .filter(|r| r.may_read(ctx))
                .cloned()
                .collect();
            (members.len() > 1).then(|| DuplicateGroup {
                reason: g.reason,
                score: f64::from(g.score_milli) / 1000.0,
                records: members,
            })
        })
        .collect();
    Ok(DuplicatePage {
        data,
        next_cursor,
        scanned_at,
    })
}

/// Scans now (a small organization) or queues a scan (a larger one whose
/// last scan is stale). Answers when the stored groups were found.
async fn refresh<R: Scanned>(state: &App, org: Uuid) -> AppResult<Option<DateTime<Utc>>> {
    let (count, scanned_at): (i64, Option<DateTime<Utc>>) = {
        let mut conn = state.db.read().await?;
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE organization_id = $1 LIMIT {}) small",
            R::TABLE,
            SCAN_WHEN_ASKED + 1
        );
        let count: i64 = run!(conn.exec(), c => sqlx::query_scalar(&sql).bind(org).fetch_one(c).await)?;
        let scanned_at = run!(conn.exec(), c => sqlx::query_scalar(
            "SELECT scanned_at FROM duplicate_scans WHERE organization_id = $1 AND record_type = $2",
        )
        .bind(org)
        .bind(R::TYPE)
        .fetch_optional(c)
        .await)?;
        (count, scanned_at)
    };
    if count <= SCAN_WHEN_ASKED {
        return scan::<R>(state, org).await.map(Some).map_err(AppError::internal);
    }
    let now = crate::db::now();
    if scanned_at.is_some_and(|at| now - at < STALE_AFTER) {
        return Ok(scanned_at);
    }
    // One queued scan per organization, type and stale period.
    let slot = now.timestamp() / STALE_AFTER.num_seconds();
    let mut job = NewJob::new(org, JOB_KIND, json!({ "record_type": R::TYPE }));
    job.id = crate::db::derived_id(&format!("{JOB_KIND}:{org}:{}:{slot}", R::TYPE));
    job.max_attempts = 3;
    let mut tx = state.db.begin().await?;
    jobs::enqueue(tx.exec(), &job).await?;
    tx.commit().await?;
    Ok(scanned_at)
}

/// A group's id, from what it is: a scan that finds the same group again
/// gives it the same id, so a reader's cursor still holds after a rescan.
fn group_id(record_type: &str, group: &find::Group) -> Uuid {
    let ids: Vec<String> = group.ids.iter().map(Uuid::to_string).collect();
    crate::db::derived_id(&format!("{record_type}:{}:{}", group.reason.as_str(), ids.join(",")))
}

/// The `duplicates` job: scans the type its payload names.
pub async fn run(state: &App, job: &Claimed) -> anyhow::Result<()> {
    match job.payload.0["record_type"].as_str() {
        Some("company") => scan::<Company>(state, job.organization_id).await.map(drop),
        _ => scan::<Contact>(state, job.organization_id).await.map(drop),
    }
}

/// Reads every record's keys a page at a time, finds the groups (on a
/// blocking thread: it is CPU work), and replaces the stored ones in one
/// transaction that first locks the organization's scan row (two scans at
/// once follow each other). Answers when it scanned.
pub async fn scan<R: Scanned>(state: &App, org: Uuid) -> anyhow::Result<DateTime<Utc>> {
    let mut keys: Vec<R::Keys> = Vec::new();
    let mut after = Uuid::nil();
    let sql = format!(
        "SELECT id, {} FROM {} WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT {SCAN_PAGE}",
        R::KEY_COLUMNS,
        R::TABLE
    );
    loop {
        let rows: Vec<KeyRow> = {
            let mut conn = state.db.read().await?;
            run!(conn.exec(), c => sqlx::query_as(&sql).bind(org).bind(after).fetch_all(c).await)?
        };
        let Some(last) = rows.last() else { break };
        after = last.id;
        let full = rows.len() as i64 == SCAN_PAGE;
        keys.extend(rows.into_iter().map(R::keys));
        if !full {
            break;
        }
    }
    let records = keys.len() as i64;
    let groups = tokio::task::spawn_blocking(move || R::groups(&keys)).await?;
    let scanned_at = crate::db::now();
    let mut tx = state.db.begin().await?;
    store(tx.exec(), org, R::TYPE, records, scanned_at, &groups).await?;
    tx.commit().await?;
    Ok(scanned_at)
}

async fn store(
    mut c: Exec<'_>,
    org: Uuid,
    record_type: &str,
    records: i64,
    scanned_at: DateTime<Utc>,
    groups: &[find::Group],
) -> Result<(), sqlx::Error> {
    // The scan's row first, written and so locked until the commit: two
    // scans of one organization follow each other.
    run!(c.re(), conn => sqlx::query(
        "INSERT INTO duplicate_scans (organization_id, record_type, records, scanned_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (organization_id, record_type) DO UPDATE SET records = excluded.records, scanned_at = excluded.scanned_at",
    )
    .bind(org)
    .bind(record_type)
    .bind(records)
    .bind(scanned_at)
    .execute(conn)
    .await
    .map(drop))?;
    run!(c.re(), conn => sqlx::query("DELETE FROM duplicate_groups WHERE organization_id = $1 AND record_type = $2")
        .bind(org)
        .bind(record_type)
        .execute(conn)
        .await
        .map(drop))?;
    for part in groups.chunks(1000) {
        run!(c.re(), conn => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO duplicate_groups (organization_id, record_type, id, reason, score_milli, record_ids) ",
            );
            q.push_values(part, |mut row, g| {
                row.push_bind(org)
                    .push_bind(record_type)
                    .push_bind(group_id(record_type, g))
                    .push_bind(g.reason.as_str())
                    .push_bind((g.score * 1000.0).round() as i32)
                    .push_bind(SqlJson(g.ids.clone()));
            });
            q.build().execute(conn).await.map(drop)
        })?;
    }
    Ok(())
}
