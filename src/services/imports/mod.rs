//! CSV import (data.md "CSV import"; issue 15): an uploaded file is checked
//! (text, encoding, delimiter, header mapping, row count), stored in the
//! database with its import and a job in one transaction, and applied by
//! the job (`crate::jobs`) in committed batches, each with the import's
//! progress: a crash loses at most the batch in flight, which is applied
//! again from the last committed row, so every row is applied once.
//!
//! `file` reads the file, `mapping` its header, `apply` its rows and
//! `conflicts` holds the review queue.

pub mod apply;
pub mod conflicts;
pub mod file;
pub mod mapping;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::App;
use crate::db::{Exec, Tx};
use crate::error::{AppError, AppResult, FieldError};
use crate::run;
use crate::services::companies::Company;
use crate::services::contacts::Contact;
use crate::services::jobs::{self, Claimed, NewJob};
use crate::services::orgs::{OrgCtx, Role};
use crate::services::pagination::{self, Cursor, Page};
pub use apply::RowError;
use apply::{Applying, BatchFailed, Cache, Counts, Outcome};
use file::{Parsed, Row, Shape, Spooled};
use mapping::Object;

/// The job kind that applies an import.
pub const JOB_KIND: &str = "import";
/// Largest file accepted (beyond: 413).
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// Most rows a file may hold.
pub const MAX_ROWS: u64 = 1_000_000;
/// Row errors kept (the rest are counted in `skipped`).
pub const MAX_ERRORS: usize = 1000;
/// Rows a dry run shows as they would be stored.
const PREVIEW_ROWS: usize = 20;
/// Rows applied and committed together, with the import's progress.
const BATCH_ROWS: usize = 500;

/// What to do with a stored value a row would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Keep the stored value and queue the conflict for review.
    Queue,
    /// Keep the stored value.
    Keep,
    /// Take the row's value.
    Overwrite,
}

impl OnConflict {
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::Queue => "queue",
            OnConflict::Keep => "keep",
            OnConflict::Overwrite => "overwrite",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [OnConflict::Queue, OnConflict::Keep, OnConflict::Overwrite]
            .into_iter()
            .find(|c| c.as_str() == raw)
    }
}

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

/// An import and its progress.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Import {
    pub id: Uuid,
    /// `contacts`, `companies` or `deals`.
    pub object: String,
    #[schema(value_type = ImportStatus)]
    pub status: String,
    #[schema(value_type = OnConflict)]
    pub on_conflict: String,
    pub file_name: Option<String>,
    pub file_size: i64,
    /// `utf-8` or `windows-1252`, as detected.
    pub encoding: String,
    /// The column delimiter detected.
    pub delimiter: String,
    /// Data rows in the file (the header and blank lines not counted).
    pub total_rows: i64,
    /// Rows applied so far (committed).
    pub processed_rows: i64,
    /// New records.
    pub created: i64,
    /// Matched records that changed.
    pub merged: i64,
    /// Matched records with nothing to change.
    pub unchanged: i64,
    /// Invalid rows (see `errors`).
    pub skipped: i64,
    /// Conflicting fields, whatever the mode (under `queue`, each is a
    /// review-queue entry).
    pub conflicts: i64,
    /// Companies created for contact rows naming a company not found.
    pub companies_created: i64,
    /// The first 1,000 row errors.
    #[schema(value_type = Vec<RowError>)]
    pub errors: SqlJson<Vec<RowError>>,
    /// Why a failed import stopped.
    pub failure: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    #[sqlx(json)]
    pub mapping: BTreeMap<String, Option<String>>,
}

const COLUMNS: &str = "id, object, status, on_conflict, file_name, file_size, encoding, delimiter, total_rows, \
    processed_rows, created, merged, unchanged, skipped, conflicts, companies_created, errors, failure, created_by, \
    created_at, started_at, finished_at, mapping";

/// An upload as the API and the web app read it from the multipart form.
#[derive(Debug, Default)]
pub struct Upload {
    pub file: Option<Spooled>,
    pub object: Option<String>,
    pub mapping: Option<String>,
    pub on_conflict: Option<String>,
    pub dry_run: Option<String>,
}

/// What a dry run answers: the mapping, the first rows as they would be
/// stored, and the row errors of the whole file.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRun {
    /// `{header: field | null}`.
    #[schema(value_type = Object)]
    pub mapping: Value,
    /// The headers in the file's order (the web page lists them so).
    #[serde(skip)]
    pub headers: Vec<String>,
    /// Headers no field matched (their columns are not imported).
    pub unmapped: Vec<String>,
    /// The first 20 valid rows as the records they would create.
    #[schema(value_type = Vec<Object>)]
    pub preview: Vec<Value>,
    /// The first 1,000 row errors of the whole file.
    pub errors: Vec<RowError>,
    pub total_rows: i64,
}

/// An upload's outcome.
pub enum Started {
    Queued(Box<Import>),
    DryRun(DryRun),
}

/// Reads an upload's fields, checks its file, and queues the import (or,
/// for a dry run, checks every row and answers what it would do).
pub async fn start(state: &App, ctx: &OrgCtx, upload: Upload) -> AppResult<Started> {
    store(state, ctx, upload, true).await
}

/// [`start`] without the job: the caller applies the import itself with
/// [`run_here`] (`crm import`).
pub async fn start_here(state: &App, ctx: &OrgCtx, upload: Upload) -> AppResult<Started> {
    store(state, ctx, upload, false).await
}

async fn store(state: &App, ctx: &OrgCtx, upload: Upload, queue: bool) -> AppResult<Started> {
    ctx.require(Role::Manager)?;
    let mut errors = Vec::new();
    let object = match upload.object.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(field("object", "is required: contacts, companies or deals"));
            None
        }
        Some(raw) => Object::parse(raw).or_else(|| {
            errors.push(field("object", "must be contacts, companies or deals"));
            None
        }),
    };
    let on_conflict = match upload.on_conflict.as_deref().map(str::trim) {
        None | Some("") => Some(OnConflict::Queue),
        Some(raw) => OnConflict::parse(raw).or_else(|| {
            errors.push(field("on_conflict", "must be queue, keep or overwrite"));
            None
        }),
    };
    let dry_run = match upload.dry_run.as_deref().map(str::trim) {
        None | Some("") | Some("false") | Some("0") | Some("off") => false,
        Some("true") | Some("1") | Some("on") => true,
        Some(_) => {
            errors.push(field("dry_run", "must be true or false"));
            false
        }
    };
    let overrides: BTreeMap<String, Option<String>> = match upload.mapping.as_deref().map(str::trim) {
        None | Some("") => BTreeMap::new(),
        Some(raw) => serde_json::from_str(raw).unwrap_or_else(|_| {
            errors.push(field(
                "mapping",
                "must be a JSON object from a header to a field name or null",
            ));
            BTreeMap::new()
        }),
    };
    let Some(mut spooled) = upload.file else {
        errors.push(field("file", "is required: the CSV file"));
        return Err(AppError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let (Some(object), Some(on_conflict)) = (object, on_conflict) else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };
    let (shape, spooled) = tokio::task::spawn_blocking(move || {
        let shape = file::sniff(&mut spooled.file);
        (shape, spooled)
    })
    .await
    .map_err(AppError::internal)?;
    let shape = shape.map_err(|message| AppError::field("file", message))?;

    // The header, its mapping, and (counting them) every row: a dry run
    // checks each; an import only counts them here.
    let source = file::from_spooled(&spooled).map_err(AppError::internal)?;
    let mut parsed = file::read(source, shape, 0, BATCH_ROWS);
    let headers = match parsed.recv().await {
        Some(Parsed::Headers(headers)) => headers,
        Some(Parsed::Failed(e)) => return Err(AppError::field("file", format!("is not valid CSV: {e}"))),
        _ => return Err(AppError::field("file", "is empty")),
    };
    let defs = crate::services::custom_fields::of(state, ctx.org_id, object.as_str()).await?;
    let mapping = mapping::resolve(object, &headers, &overrides, &defs).map_err(|m| AppError::field("mapping", m))?;
    let mut dry = DryRun {
        mapping: mapping.as_json(&headers),
        headers: headers.clone(),
        unmapped: mapping.unmapped.iter().filter(|h| !h.is_empty()).cloned().collect(),
        preview: Vec::new(),
        errors: Vec::new(),
        total_rows: 0,
    };
    let mut total: u64 = 0;
    let mut cache = Cache::default();
    while let Some(next) = parsed.recv().await {
        let rows = match next {
            Parsed::Rows(rows) => rows,
            Parsed::Failed(e) => return Err(AppError::field("file", format!("is not valid CSV: {e}"))),
            Parsed::Headers(_) => continue,
        };
        total += rows.len() as u64;
        if total > MAX_ROWS {
            return Err(AppError::field("file", format!("has more than {MAX_ROWS} rows")));
        }
        if dry_run {
            let a = Applying {
                ctx,
                import: Uuid::nil(),
                on_conflict: OnConflict::Keep,
                mapping: &mapping,
                headers: &headers,
                dry_run: true,
            };
            preview(state, object, &a, &rows, &mut cache, &mut dry).await?;
        }
    }
    if total == 0 {
        return Err(AppError::field("file", "has a header line but no rows"));
    }
    dry.total_rows = total as i64;
    if dry_run {
        return Ok(Started::DryRun(dry));
    }

    let id = crate::db::new_id();
    let now = crate::db::now();
    let mut tx = state.db.begin().await?;
    run!(tx.exec(), c => sqlx::query(
        "INSERT INTO imports (organization_id, id, object, status, on_conflict, file_name, file_size, encoding, \
         delimiter, mapping, total_rows, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(ctx.org_id)
    .bind(id)
    .bind(object.as_str())
    .bind(on_conflict.as_str())
    .bind(spooled.name.as_deref())
    .bind(i64::try_from(spooled.size).unwrap_or(i64::MAX))
    .bind(shape.encoding_name())
    .bind((shape.delimiter as char).to_string())
    .bind(SqlJson(&overrides))
    .bind(total as i64)
    .bind(ctx.user_id)
    .bind(now)
    .execute(c)
    .await
    .map(drop))?;
    file::store(tx.exec(), ctx.org_id, id, &spooled)
        .await
        .map_err(AppError::internal)?;
    if queue {
        jobs::enqueue(
            tx.exec(),
            &NewJob::new(ctx.org_id, JOB_KIND, json!({ "import_id": id })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Started::Queued(Box::new(get(state, ctx, id).await?)))
}

/// Checks a dry run's rows (read-only), keeping the first previews and
/// errors.
async fn preview(
    state: &App,
    object: Object,
    a: &Applying<'_>,
    rows: &[Row],
    cache: &mut Cache,
    dry: &mut DryRun,
) -> AppResult<()> {
    let mut conn = state.db.read().await?;
    let outcome = apply_rows(conn.exec(), object, a, cache, rows).await.map_err(|e| e.0)?;
    let room = PREVIEW_ROWS.saturating_sub(dry.preview.len());
    dry.preview.extend(outcome.previews.into_iter().take(room));
    let room = MAX_ERRORS.saturating_sub(dry.errors.len());
    dry.errors.extend(outcome.errors.into_iter().take(room));
    Ok(())
}

async fn apply_rows(
    c: Exec<'_>,
    object: Object,
    a: &Applying<'_>,
    cache: &mut Cache,
    rows: &[Row],
) -> Result<Outcome, BatchFailed> {
    match object {
        Object::Contacts => apply::rows::<Contact>(c, a, cache, rows).await,
        Object::Companies => apply::rows::<Company>(c, a, cache, rows).await,
        Object::Deals => apply::rows::<crate::services::deals::Deal>(c, a, cache, rows).await,
    }
}

/// One import of the organization (managers and above).
pub async fn get(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<Import> {
    ctx.require(Role::Manager)?;
    let mut conn = state.db.read().await?;
    find(conn.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)
}

async fn find(c: Exec<'_>, org: Uuid, id: Uuid) -> Result<Option<Import>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM imports WHERE organization_id = $1 AND id = $2");
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(id).fetch_optional(conn).await)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Page size, 1..200 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The organization's imports, newest first (managers and above).
pub async fn list(state: &App, ctx: &OrgCtx, query: &ImportQuery) -> AppResult<Page<Import>> {
    ctx.require(Role::Manager)?;
    let limit = pagination::limit(query.limit.as_deref())?;
    let after: Option<pagination::NewestKey> = Cursor::decode(query.cursor.as_deref())?;
    let mut conn = state.db.read().await?;
    // Served by imports_list_idx.
    let rows: Vec<Import> = run!(conn.exec(), c => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM imports WHERE organization_id = "));
        q.push_bind(ctx.org_id);
        pagination::push_newest_first(&mut q, after, limit);
        q.build_query_as().fetch_all(c).await
    })?;
    Ok(Page::from_rows(rows, limit, |i| Cursor::encode(&(i.created_at, i.id))))
}

/// The import job: applies the rows after the last committed one, a batch
/// per transaction with the import's progress. A failure of the file
/// itself fails the import (no retry helps); a database failure fails the
/// attempt, and the job's retry resumes where the last batch committed.
pub async fn run(state: &App, job: &Claimed) -> anyhow::Result<()> {
    let org = job.organization_id;
    let id: Uuid = serde_json::from_value(job.payload.0["import_id"].clone())?;
    let outcome = run_import(state, org, id, &mut |_| {}).await;
    match outcome {
        Ok(()) => Ok(()),
        Err(Stop::Fail(reason)) => {
            finish(state, org, id, Some(&reason)).await?;
            Ok(())
        }
        Err(Stop::Retry(e)) => {
            if job.attempts >= job.max_attempts {
                finish(state, org, id, Some(&format!("{e:#}"))).await?;
            }
            Err(e)
        }
    }
}

/// Why an import run stopped early.
enum Stop {
    /// The import cannot be applied (its file, its creator's rights).
    Fail(String),
    /// This attempt failed (the database); the job tries again.
    Retry(anyhow::Error),
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Retry(e.into())
    }
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Stop::Retry(e)
    }
}

/// Applies a stored import in this process (`crm import`), calling
/// `progress` with the rows applied after each committed batch; answers
/// the import as it ended.
pub async fn run_here(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    progress: &mut (dyn FnMut(i64) + Send),
) -> anyhow::Result<Import> {
    match run_import(state, ctx.org_id, id, progress).await {
        Ok(()) => {}
        Err(Stop::Fail(reason)) => finish(state, ctx.org_id, id, Some(&reason)).await?,
        Err(Stop::Retry(e)) => {
            finish(state, ctx.org_id, id, Some(&format!("{e:#}"))).await?;
            return Err(e);
        }
    }
    let mut conn = state.db.read().await?;
    find(conn.exec(), ctx.org_id, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the import {id} is gone"))
}

async fn run_import(state: &App, org: Uuid, id: Uuid, progress: &mut (dyn FnMut(i64) + Send)) -> Result<(), Stop> {
    let import = {
        let mut conn = state.db.read().await?;
        find(conn.exec(), org, id).await?
    };
    let Some(import) = import else {
        return Ok(());
    };
    if matches!(import.status.as_str(), "completed" | "failed") {
        return Ok(());
    }
    let ctx = match OrgCtx::of_member(state, org, import.created_by, None).await {
        Ok(ctx) if ctx.role >= Role::Manager => ctx.acting_as(crate::services::orgs::Actor::Import(id)),
        _ => {
            return Err(Stop::Fail(
                "the member who started the import is no longer a manager of the organization".into(),
            ));
        }
    };
    let object =
        Object::parse(&import.object).ok_or_else(|| Stop::Fail(format!("unknown object {}", import.object)))?;
    let on_conflict = OnConflict::parse(&import.on_conflict).unwrap_or(OnConflict::Queue);
    let mut tx = state.db.begin().await?;
    run!(tx.exec(), c => sqlx::query(
        "UPDATE imports SET status = 'running', started_at = COALESCE(started_at, $3), updated_at = $3 \
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(id)
    .bind(crate::db::now())
    .execute(c)
    .await
    .map(drop))?;
    tx.commit().await?;

    let shape = Shape::from_stored(&import.encoding, &import.delimiter);
    let source = Box::new(file::Chunks::new(state, org, id));
    let mut done = import.processed_rows;
    let mut parsed = file::read(source, shape, done as u64, BATCH_ROWS);
    let headers = match parsed.recv().await {
        Some(Parsed::Headers(headers)) => headers,
        Some(Parsed::Failed(e)) => return Err(Stop::Retry(anyhow::anyhow!("reading the file: {e}"))),
        _ => return Err(Stop::Fail("the file is empty".into())),
    };
    let defs = crate::services::custom_fields::of(state, org, object.as_str())
        .await
        .map_err(|e| Stop::Retry(anyhow::anyhow!("reading the custom fields: {}", e.detail)))?;
    let mapping = mapping::resolve(object, &headers, &import.mapping, &defs).map_err(Stop::Fail)?;
    let mut errors = import.errors.0;
    let mut cache = Cache::default();
    while let Some(next) = parsed.recv().await {
        let rows = match next {
            Parsed::Rows(rows) => rows,
            Parsed::Failed(e) => return Err(Stop::Retry(anyhow::anyhow!("reading the file: {e}"))),
            Parsed::Headers(_) => continue,
        };
        let a = Applying {
            ctx: &ctx,
            import: id,
            on_conflict,
            mapping: &mapping,
            headers: &headers,
            dry_run: false,
        };
        if apply_batch(state, object, &a, &mut cache, &rows, done, &mut errors)
            .await
            .is_ok()
        {
            done += rows.len() as i64;
        } else {
            cache.clear();
            // One row broke the batch's transaction (a write raced by
            // another): the rows again, each in its own, so the others
            // still go in and the one is reported.
            for row in &rows {
                let one = std::slice::from_ref(row);
                if apply_batch(state, object, &a, &mut cache, one, done, &mut errors)
                    .await
                    .is_err()
                {
                    cache.clear();
                    let failed = RowError {
                        line: row.line,
                        field: None,
                        code: "write_failed".into(),
                        message: "the row could not be written (a concurrent change); import it again".into(),
                    };
                    skip(state, a.import, org, failed, done, &mut errors).await?;
                }
                done += 1;
            }
        }
        progress(done);
    }
    if object == Object::Contacts && done - import.processed_rows >= ANALYZE_AFTER_ROWS {
        analyze_terms(state).await;
    }
    finish(state, org, id, None).await?;
    Ok(())
}

/// Contact rows an import writes before it analyzes the search term table.
const ANALYZE_AFTER_ROWS: i64 = 10_000;

/// Refreshes PostgreSQL's statistics of `contact_terms` after a large
/// import. A term table that was never analyzed (a new database's first
/// import) gets row estimates of one, and the search merge's plan becomes a
/// nested loop over a whole term range per row, quadratic, until autovacuum
/// analyzes it a minute later (docs/performance.md, "A never-analyzed term
/// table plans a quadratic merge"). Sampled, so it takes a fraction of a
/// second whatever the table's size; a failure only leaves that to
/// autovacuum. SQLite plans this search without statistics.
async fn analyze_terms(state: &App) {
    if state.db.backend() != crate::db::Backend::Postgres {
        return;
    }
    let analyzed = async {
        let mut conn = state.db.read().await?;
        run!(conn.exec(), c => sqlx::query("ANALYZE contact_terms").execute(c).await.map(drop))
    };
    if let Err(e) = analyzed.await {
        tracing::warn!(error = %e, "could not analyze contact_terms after an import");
    }
}

/// Applies `rows` in one transaction that also moves the import's progress
/// from `done` (it fails if another worker moved it: the import is theirs).
async fn apply_batch(
    state: &App,
    object: Object,
    a: &Applying<'_>,
    cache: &mut Cache,
    rows: &[Row],
    done: i64,
    errors: &mut Vec<RowError>,
) -> Result<(), anyhow::Error> {
    let mut tx = state.db.begin().await?;
    if tx.exec().backend() == crate::db::Backend::Postgres {
        // Each batch's statements planned for the table as it is now. A
        // plan cached while the table was nearly empty (a sequential scan)
        // stayed once it was not: the matches of a batch took 1.5 s at
        // 60,000 contacts.
        run!(tx.exec(), c => sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(c).await.map(drop))?;
    }
    let Outcome {
        counts,
        errors: new_errors,
        ..
    } = apply_rows(tx.exec(), object, a, cache, rows)
        .await
        .map_err(|BatchFailed(e)| anyhow::anyhow!("{} ({})", e.detail, e.code))?;
    let before = errors.len();
    let room = MAX_ERRORS.saturating_sub(errors.len());
    errors.extend(new_errors.into_iter().take(room));
    let saved = progress(&mut tx, a.ctx.org_id, a.import, done, counts, errors).await;
    if saved.is_err() {
        errors.truncate(before);
    }
    saved?;
    crate::services::analytics::commit(state, tx, a.ctx.org_id).await?;
    Ok(())
}

/// Records a row that could not be written as skipped, with its error.
async fn skip(
    state: &App,
    import: Uuid,
    org: Uuid,
    error: RowError,
    done: i64,
    errors: &mut Vec<RowError>,
) -> Result<(), Stop> {
    let mut tx = state.db.begin().await?;
    if errors.len() < MAX_ERRORS {
        errors.push(error);
    }
    let counts = Counts {
        processed: 1,
        skipped: 1,
        ..Counts::default()
    };
    progress(&mut tx, org, import, done, counts, errors).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves the import's progress by `counts` in `tx`, if it still stands at
/// `done`.
async fn progress(
    tx: &mut Tx,
    org: Uuid,
    import: Uuid,
    done: i64,
    counts: Counts,
    errors: &[RowError],
) -> anyhow::Result<()> {
    let moved = run!(tx.exec(), c => sqlx::query(
        "UPDATE imports SET processed_rows = processed_rows + $4, created = created + $5, merged = merged + $6, \
         unchanged = unchanged + $7, skipped = skipped + $8, conflicts = conflicts + $9, \
         companies_created = companies_created + $10, errors = $11, updated_at = $12 \
         WHERE organization_id = $1 AND id = $2 AND processed_rows = $3 AND status = 'running'",
    )
    .bind(org)
    .bind(import)
    .bind(done)
    .bind(counts.processed)
    .bind(counts.created)
    .bind(counts.merged)
    .bind(counts.unchanged)
    .bind(counts.skipped)
    .bind(counts.conflicts)
    .bind(counts.companies_created)
    .bind(SqlJson(errors))
    .bind(crate::db::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if moved != 1 {
        anyhow::bail!("the import's progress moved elsewhere (another worker has it)");
    }
    Ok(())
}

/// Ends an import: completed, or failed with `failure`; its file is
/// deleted.
async fn finish(state: &App, org: Uuid, id: Uuid, failure: Option<&str>) -> Result<(), sqlx::Error> {
    let now = crate::db::now();
    let mut tx = state.db.begin().await?;
    run!(tx.exec(), c => sqlx::query(
        "UPDATE imports SET status = $3, failure = $4, finished_at = $5, updated_at = $5 \
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(org)
    .bind(id)
    .bind(if failure.is_some() { "failed" } else { "completed" })
    .bind(failure)
    .bind(now)
    .execute(c)
    .await
    .map(drop))?;
    file::forget(tx.exec(), org, id).await?;
    tx.commit().await
}

fn field(name: &str, message: &str) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
    }
}
