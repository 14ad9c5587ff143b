//! One shape for every record type (api.md §5, §7): a type declares what is
//! its own in one [`Record`] impl (its SQL, its validation, its uniqueness
//! rule, what else changes with it) and gets from here, written once:
//! create with `Idempotency-Key`, read with `own` visibility, PATCH and PUT
//! under its row lock with `If-Match`, delete with its audit entry, tags,
//! and, for types with a timeline ([`OnTimeline`]), comments and the timeline.
//!
//! The steps of each operation, and so the order in which a client sees its
//! errors, are the same for every type: 404 (not readable), 403 (may not
//! change), 412 (`If-Match`), 422 (fields, then rules), 409 (uniqueness).
//! docs/architecture.md lists how to add a record type.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::app::App;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::db::{Exec, Tx};
use crate::error::{AppError, AppResult};
use crate::run;
use crate::services::activities::{self, Activity, CommentInput, Timeline, TimelineQuery};
use crate::services::audit::{self, Event};
use crate::services::custom_fields::{CustomValues, values as custom_values};
use crate::services::idempotency::{Created, Idempotency};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::rows::{self, Column};
use crate::services::records::{self, IfMatch};

/// A record checked and normalized, ready to write, with the words `q` finds
/// it by (empty for a type whose search reads its columns directly).
#[derive(Debug, Clone)]
pub struct Checked<R> {
    pub record: R,
    pub search_text: String,
}

impl<R> Checked<R> {
    pub fn new(record: R) -> Self {
        Checked {
            record,
            search_text: String::new(),
        }
    }
}

/// What a record type declares. Every method without a default is the type's
/// own; the defaults are the common rules.
pub trait Record:
    Clone
    + PartialEq
    + Serialize
    + Send
    + Sync
    + Unpin
    + Sized
    + 'static
    + for<'r> sqlx::FromRow<'r, SqliteRow>
    + for<'r> sqlx::FromRow<'r, PgRow>
{
    /// Singular name: the tag index's `record_type`, the audit action
    /// (`<kind>.deleted`), the audit target.
    const KIND: &'static str;
    /// The table, keyed by `(organization_id, id)`.
    const TABLE: &'static str;
    /// The columns a row of `TABLE` is read with (the fields of `Self`).
    const COLUMNS: &'static str;
    /// Whether the deal analytics read this type (their cache is cleared when
    /// a change of it commits).
    const IN_ANALYTICS: bool = false;
    /// Whether `TABLE` has a `search_text` column (the words `q` finds a
    /// record by, from [`Checked::search_text`]).
    const SEARCH_TEXT: bool = true;
    /// The custom fields' `object` of a type that carries custom fields
    /// (`contacts`…): its values are indexed for the lists' filters.
    const CUSTOM: Option<&'static str> = None;

    /// The body of a create (and of a `PUT`, for [`Replace`] types).
    type Input: Send;
    /// The body of a `PATCH`: fields left out stay, `null` clears.
    type Patch: Send;

    // The columns every record type has: `common_columns!()` writes these.
    fn id(&self) -> Uuid;
    fn owner_id(&self) -> Uuid;
    fn created_at(&self) -> DateTime<Utc>;
    fn updated_at(&self) -> DateTime<Utc>;
    fn version(&self) -> i64;
    fn tags(&self) -> &[String];
    /// The record's custom field values (types with [`Record::CUSTOM`]).
    fn custom(&self) -> Option<&CustomValues> {
        None
    }
    /// Sets the version and update time of a record about to be rewritten.
    fn touch(&mut self, version: i64, at: DateTime<Utc>);
    /// What the audit log keeps of a deleted record (`{"name": …}`).
    fn audit_details(&self) -> Value;
    /// The value of the sort field `field` and the id, where a list sorted
    /// by it continues after this record (`records::page`): the type's own
    /// sort fields ([`Record::own_sort_value`]), else `updated_at` or
    /// `created_at`.
    fn sort_value(&self, field: &str) -> records::After {
        match (self.own_sort_value(field), field) {
            (Some(value), _) => value,
            (None, "updated_at") => records::After::Time(self.updated_at(), self.id()),
            (None, _) => records::After::Time(self.created_at(), self.id()),
        }
    }
    /// The value of a sort field of the type's own (`name`, `amount`…).
    fn own_sort_value(&self, field: &str) -> Option<records::After> {
        let _ = field;
        None
    }

    /// The record of the organization, locked for update inside a write
    /// transaction (`Exec::for_update`).
    fn find(c: Exec<'_>, org: Uuid, id: Uuid) -> impl Future<Output = Result<Option<Self>, sqlx::Error>> + Send {
        async move {
            let sql = format!(
                "SELECT {} FROM {} WHERE organization_id = $1 AND id = $2{}",
                Self::COLUMNS,
                Self::TABLE,
                c.for_update()
            );
            run!(c, conn => sqlx::query_as::<_, Self>(&sql).bind(org).bind(id).fetch_optional(conn).await)
        }
    }
    /// The columns of `TABLE` the type writes, with this record's values:
    /// all but the keys, the owner, the tags, the times, the version and
    /// `search_text` (the shared writer adds those).
    fn columns(&self) -> Vec<Column<'_>>;
    /// Inserts (`new`) or rewrites the record.
    fn write(
        c: Exec<'_>,
        org: Uuid,
        checked: &Checked<Self>,
        new: bool,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        rows::write(c, org, checked, new)
    }
    /// One page of a list ([`records::list_page`]); a type with its own
    /// search strategy answers it its own way.
    fn select<'a>(
        c: Exec<'a>,
        org: Uuid,
        listing: &'a rows::Listing<'_>,
    ) -> impl Future<Output = Result<Vec<Self>, sqlx::Error>> + Send + 'a {
        rows::select::<Self>(c, org, listing)
    }
    /// Removes the row (what references it was handled by `before_delete`).
    fn remove(c: Exec<'_>, org: Uuid, id: Uuid) -> impl Future<Output = Result<(), sqlx::Error>> + Send {
        async move {
            let sql = format!("DELETE FROM {} WHERE organization_id = $1 AND id = $2", Self::TABLE);
            run!(c, conn => sqlx::query(&sql).bind(org).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
            Ok(())
        }
    }

    /// Validates a create's input into the new record: every field error at
    /// once, then the rules that need the database.
    fn check_new(
        c: Exec<'_>,
        ctx: &OrgCtx,
        input: Self::Input,
    ) -> impl Future<Output = AppResult<Checked<Self>>> + Send;
    /// The record `patch` makes of `current`, checked the same way. Keeping
    /// id, creation time and version makes "nothing changes" an equality.
    fn check_patch(
        c: Exec<'_>,
        ctx: &OrgCtx,
        current: &Self,
        patch: Self::Patch,
    ) -> impl Future<Output = AppResult<Checked<Self>>> + Send;

    /// Whether the caller may read the record (`member_visibility: own`).
    fn may_read(&self, ctx: &OrgCtx) -> bool {
        ctx.may_read(self.owner_id())
    }
    /// 403 unless the caller may change or delete the record.
    fn ensure_may_change(&self, ctx: &OrgCtx) -> AppResult<()> {
        ctx.ensure_may_change(self.owner_id())
    }
    /// 409 when another record holds what must be unique (with its
    /// `existing_id`). Also asked after a unique violation at write time (a
    /// concurrent insert) to name the record that won.
    fn ensure_unique(c: Exec<'_>, ctx: &OrgCtx, record: &Self) -> impl Future<Output = AppResult<()>> + Send {
        let _ = (c, ctx, record);
        async { Ok(()) }
    }
    /// The 409 of a unique violation whose other record cannot be found.
    fn duplicate() -> AppError {
        AppError::conflict("duplicate", "a record with these values already exists")
    }
    /// What else a new record writes in its transaction (timeline entries).
    fn after_create(c: Exec<'_>, ctx: &OrgCtx, record: &Self) -> impl Future<Output = AppResult<()>> + Send {
        let _ = (c, ctx, record);
        async { Ok(()) }
    }
    /// What else a change writes in its transaction (timeline entries,
    /// search text of related records).
    fn after_change(
        c: Exec<'_>,
        ctx: &OrgCtx,
        before: &Self,
        after: &Self,
    ) -> impl Future<Output = AppResult<()>> + Send {
        let _ = (c, ctx, before, after);
        async { Ok(()) }
    }
    /// The rules and clean-up before the row goes: a refusal (409), records
    /// that keep existing without it, its timeline.
    fn before_delete(c: Exec<'_>, ctx: &OrgCtx, record: &Self) -> impl Future<Output = AppResult<()>> + Send {
        let _ = (c, ctx, record);
        async { Ok(()) }
    }
}

/// The accessors of the columns every record type has (`id`, `owner_id`,
/// `tags`, `created_at`, `updated_at`, `version`), written inside an
/// `impl Record`.
macro_rules! common_columns {
    () => {
        fn id(&self) -> uuid::Uuid {
            self.id
        }
        fn owner_id(&self) -> uuid::Uuid {
            self.owner_id
        }
        fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
            self.created_at
        }
        fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
            self.updated_at
        }
        fn version(&self) -> i64 {
            self.version
        }
        fn tags(&self) -> &[String] {
            &self.tags
        }
        fn touch(&mut self, version: i64, at: chrono::DateTime<chrono::Utc>) {
            self.version = version;
            self.updated_at = at;
        }
    };
}
pub(crate) use common_columns;

/// `check_new` and `check_patch` of a type that validates both with one
/// `check(c, ctx, input, current)`, its patch made a whole input by
/// `apply_to(current)`; written inside an `impl Record`.
macro_rules! checked_by {
    ($check:path) => {
        fn check_new(
            c: $crate::db::Exec<'_>,
            ctx: &$crate::services::orgs::OrgCtx,
            input: Self::Input,
        ) -> impl std::future::Future<Output = $crate::error::AppResult<$crate::services::records::Checked<Self>>> + Send
        {
            $check(c, ctx, input, None)
        }
        fn check_patch(
            c: $crate::db::Exec<'_>,
            ctx: &$crate::services::orgs::OrgCtx,
            current: &Self,
            patch: Self::Patch,
        ) -> impl std::future::Future<Output = $crate::error::AppResult<$crate::services::records::Checked<Self>>> + Send
        {
            $check(c, ctx, patch.apply_to(current), Some(current))
        }
    };
}
pub(crate) use checked_by;

/// A record type whose `PUT` replaces every writable field.
pub trait Replace: Record {
    fn check_replace(
        c: Exec<'_>,
        ctx: &OrgCtx,
        current: &Self,
        input: Self::Input,
    ) -> impl Future<Output = AppResult<Checked<Self>>> + Send;
}

/// A record type with a timeline (comments, changes, task events).
pub trait OnTimeline: Record {
    fn timeline(id: Uuid) -> Timeline;
    /// The timelines an entry about this record is filed under.
    fn filed_under(&self) -> activities::Filed;
    /// What else a comment on the record writes in its transaction (a
    /// lead's score counts its recent activity).
    fn after_comment(c: Exec<'_>, ctx: &OrgCtx, record: &Self) -> impl Future<Output = AppResult<()>> + Send {
        let _ = (c, ctx, record);
        async { Ok(()) }
    }
}

/// A record of type `R` the caller may read, or 404 (missing, another
/// organization's, or not visible to the caller).
pub async fn readable<R: Record>(c: Exec<'_>, ctx: &OrgCtx, id: Uuid) -> AppResult<R> {
    match R::find(c, ctx.org_id, id).await? {
        Some(record) if record.may_read(ctx) => Ok(record),
        _ => Err(AppError::not_found()),
    }
}

/// Reads one record (the API's GET and the web app's record page).
pub async fn read<R: Record>(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<R> {
    let mut conn = state.db.read().await?;
    readable(conn.exec(), ctx, id).await
}

/// Commits a write of `R`, clearing the analytics cache when they read `R`.
pub async fn commit<R: Record>(state: &App, tx: Tx, ctx: &OrgCtx) -> AppResult<()> {
    if R::IN_ANALYTICS {
        crate::services::analytics::commit(state, tx, ctx.org_id).await?;
    } else {
        tx.commit().await?;
    }
    Ok(())
}

/// A unique violation that slipped past `ensure_unique` (a concurrent write)
/// as the same 409. The failed transaction is rolled back first (PostgreSQL
/// accepts no further statement in it) and the record that won is looked up
/// outside it.
async fn write_failed<R: Record>(state: &App, tx: Tx, ctx: &OrgCtx, record: &R, err: sqlx::Error) -> AppError {
    drop(tx);
    if !crate::db::is_unique_violation(&err) {
        return err.into();
    }
    let mut conn = match state.db.read().await {
        Ok(conn) => conn,
        Err(e) => return e.into(),
    };
    match R::ensure_unique(conn.exec(), ctx, record).await {
        Err(found) => found,
        Ok(()) => R::duplicate(),
    }
}

/// Creates a record (the API's POST, the web app's form, imports).
pub async fn create<R: Record>(
    state: &App,
    ctx: &OrgCtx,
    idempotency: &Idempotency,
    input: R::Input,
) -> AppResult<Created<R>> {
    let mut tx = state.db.begin().await?;
    if let Some(replay) = idempotency.replay(tx.exec()).await? {
        return Ok(Created::Replayed(replay));
    }
    let checked = R::check_new(tx.exec(), ctx, input).await?;
    // Checked here although a unique index backs it: inside the transaction
    // it also sees a record created earlier in the same SQLite group commit,
    // which `write_failed`'s read after a violation could not name.
    R::ensure_unique(tx.exec(), ctx, &checked.record).await?;
    let record = match write_new(tx.exec(), ctx, checked).await {
        Ok(record) => record,
        Err(Unwritten::Database(e, record)) => return Err(write_failed(state, tx, ctx, &record, e).await),
        Err(Unwritten::Refused(e)) => return Err(e),
    };
    idempotency.save_created(tx.exec(), &record).await?;
    commit::<R>(state, tx, ctx).await?;
    Ok(Created::New(record))
}

/// Why [`write_new`] wrote nothing: the database refused the row (with the
/// record, to name what it collided with), or a later step failed.
pub enum Unwritten<R> {
    Database(sqlx::Error, R),
    Refused(AppError),
}

/// A write that failed inside a larger operation (a lead's conversion, a
/// bulk action): its refusal; a unique violation (a concurrent write won
/// the race) as the type's 409, its record not named (the transaction is
/// lost, nothing more can be read in it); or the database's error.
impl<R: Record> From<Unwritten<R>> for AppError {
    fn from(e: Unwritten<R>) -> Self {
        match e {
            Unwritten::Database(e, _) if crate::db::is_unique_violation(&e) => R::duplicate(),
            Unwritten::Database(e, _) => e.into(),
            Unwritten::Refused(e) => e,
        }
    }
}

/// Writes a checked new record on `c` (a request's transaction, or an
/// import batch's): the row, its tag index, the type's follow-ups
/// (timeline entries). The caller commits.
pub async fn write_new<R: Record>(mut c: Exec<'_>, ctx: &OrgCtx, checked: Checked<R>) -> Result<R, Unwritten<R>> {
    if let Err(e) = R::write(c.re(), ctx.org_id, &checked, true).await {
        return Err(Unwritten::Database(e, checked.record));
    }
    let record = checked.record;
    // A new record has no tag entries to replace: no DELETE (one statement
    // less in the single writer's share of a create on SQLite).
    let tags = [(record.id(), record.owner_id(), record.tags())];
    let indexed = records::index_new_tags(c.re(), ctx.org_id, R::KIND, &tags).await;
    indexed.map_err(|e| Unwritten::Refused(e.into()))?;
    index_custom(c.re(), ctx, &[&record], true)
        .await
        .map_err(|e| Unwritten::Refused(e.into()))?;
    R::after_create(c, ctx, &record).await.map_err(Unwritten::Refused)?;
    Ok(record)
}

/// [`write_new`] for many records at once (an import batch's new rows): one
/// insert per few hundred rows, one for their tags, then each one's
/// follow-ups. The caller checked them and commits.
pub async fn write_new_many<R: Record>(mut c: Exec<'_>, ctx: &OrgCtx, checked: &[Checked<R>]) -> AppResult<()> {
    if checked.is_empty() {
        return Ok(());
    }
    rows::insert_many(c.re(), ctx.org_id, checked).await?;
    let tags: Vec<(Uuid, Uuid, &[String])> = checked
        .iter()
        .map(|c| (c.record.id(), c.record.owner_id(), c.record.tags()))
        .collect();
    records::index_new_tags(c.re(), ctx.org_id, R::KIND, &tags).await?;
    let all: Vec<&R> = checked.iter().map(|c| &c.record).collect();
    index_custom(c.re(), ctx, &all, true).await?;
    for record in checked {
        R::after_create(c.re(), ctx, &record.record).await?;
    }
    Ok(())
}

/// Changes some fields of a record (the API's PATCH, the web app's forms
/// and buttons).
pub async fn update<R: Record>(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    if_match: IfMatch,
    patch: R::Patch,
) -> AppResult<R> {
    let (mut tx, current) = lock_for_change::<R>(state, ctx, id, if_match).await?;
    let next = R::check_patch(tx.exec(), ctx, &current, patch).await?;
    finish_change(state, tx, ctx, current, next, None).await
}

/// Replaces every writable field of a record (the API's PUT).
pub async fn replace<R: Replace>(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    if_match: IfMatch,
    input: R::Input,
) -> AppResult<R> {
    let (mut tx, current) = lock_for_change::<R>(state, ctx, id, if_match).await?;
    let next = R::check_replace(tx.exec(), ctx, &current, input).await?;
    finish_change(state, tx, ctx, current, next, None).await
}

/// The first half of a change: the record under its row lock, once the
/// caller may read it (404), may change it (403) and read this version (412).
/// With [`finish_change`], what a type's own state change (a deal's reopen)
/// is made of.
pub async fn lock_for_change<R: Record>(state: &App, ctx: &OrgCtx, id: Uuid, if_match: IfMatch) -> AppResult<(Tx, R)> {
    let mut tx = state.db.begin().await?;
    let current: R = readable(tx.exec(), ctx, id).await?;
    current.ensure_may_change(ctx)?;
    if_match.check(current.version())?;
    Ok((tx, current))
}

/// The second half: writes `next` unless it equals `current` (the check kept
/// id, creation time and version, so equal means nothing changes), with an
/// audit entry named `audit` when the change is one the log keeps.
pub async fn finish_change<R: Record>(
    state: &App,
    tx: Tx,
    ctx: &OrgCtx,
    current: R,
    next: Checked<R>,
    audit: Option<&str>,
) -> AppResult<R> {
    if next.record == current {
        return Ok(current);
    }
    let (mut tx, record) = write_over(state, tx, ctx, &current, next).await?;
    if let Some(action) = audit {
        log(tx.exec(), ctx, action.to_string(), &record).await?;
    }
    commit::<R>(state, tx, ctx).await?;
    Ok(record)
}

/// Writes `next` over `current` in `tx`: its uniqueness, the next version,
/// the row, the tag index when tags or owner changed, the type's own
/// follow-ups. A failed write gives the transaction up (its error names
/// the record that won a race).
async fn write_over<R: Record>(
    state: &App,
    mut tx: Tx,
    ctx: &OrgCtx,
    current: &R,
    next: Checked<R>,
) -> AppResult<(Tx, R)> {
    match write_changed(tx.exec(), ctx, current, next).await {
        Ok(record) => Ok((tx, record)),
        Err(Unwritten::Database(e, record)) => Err(write_failed(state, tx, ctx, &record, e).await),
        Err(Unwritten::Refused(e)) => Err(e),
    }
}

/// The part of [`write_over`] that runs on a caller's transaction (an
/// import batch's merge, a resolved conflict): uniqueness, the next
/// version, the row, the tag index, the type's follow-ups. The caller
/// commits.
pub async fn write_changed<R: Record>(
    mut c: Exec<'_>,
    ctx: &OrgCtx,
    current: &R,
    mut next: Checked<R>,
) -> Result<R, Unwritten<R>> {
    R::ensure_unique(c.re(), ctx, &next.record)
        .await
        .map_err(Unwritten::Refused)?;
    next.record.touch(current.version() + 1, crate::db::now());
    if let Err(e) = R::write(c.re(), ctx.org_id, &next, false).await {
        return Err(Unwritten::Database(e, next.record));
    }
    let record = next.record;
    if record.tags() != current.tags() || record.owner_id() != current.owner_id() {
        let indexed = records::index_tags(
            c.re(),
            ctx.org_id,
            R::KIND,
            record.id(),
            record.owner_id(),
            record.tags(),
        )
        .await;
        indexed.map_err(|e| Unwritten::Refused(e.into()))?;
    }
    if record.custom() != current.custom() {
        index_custom(c.re(), ctx, &[&record], false)
            .await
            .map_err(|e| Unwritten::Refused(e.into()))?;
    }
    R::after_change(c, ctx, current, &record)
        .await
        .map_err(Unwritten::Refused)?;
    Ok(record)
}

/// Removes a record's rows of the tag and custom value indexes (before
/// the row goes: a delete, a merge).
pub async fn unindex<R: Record>(mut c: Exec<'_>, org: Uuid, record: &R) -> Result<(), sqlx::Error> {
    records::index_tags(c.re(), org, R::KIND, record.id(), record.owner_id(), &[]).await?;
    if let Some(object) = R::CUSTOM {
        custom_values::index(c, org, object, &[(record.id(), &CustomValues::new())], false).await?;
    }
    Ok(())
}

/// Replaces the custom values' index rows of records of a type that has
/// custom fields (`new`: they have none yet).
async fn index_custom<R: Record>(c: Exec<'_>, ctx: &OrgCtx, records: &[&R], new: bool) -> Result<(), sqlx::Error> {
    let Some(object) = R::CUSTOM else { return Ok(()) };
    let values: Vec<(Uuid, &CustomValues)> = records
        .iter()
        .filter_map(|r| r.custom().map(|v| (r.id(), v)))
        .filter(|(_, v)| !new || !v.is_empty())
        .collect();
    if values.is_empty() {
        return Ok(());
    }
    custom_values::index(c, ctx.org_id, object, &values, new).await
}

/// The end of a merge: other records' rows were moved and removed in `tx`;
/// `next` (the survivor with the fields it takes) is written if it differs
/// from `current`, then the audit entry `action` (with `details`) and the
/// commit, whether the survivor changed or not.
pub async fn finish_merge<R: Record>(
    state: &App,
    tx: Tx,
    ctx: &OrgCtx,
    current: R,
    next: Checked<R>,
    action: &str,
    details: serde_json::Value,
) -> AppResult<R> {
    let (mut tx, record) = if next.record == current {
        (tx, current)
    } else {
        write_over(state, tx, ctx, &current, next).await?
    };
    log_with(tx.exec(), ctx, action.to_string(), &record, details).await?;
    commit::<R>(state, tx, ctx).await?;
    Ok(record)
}

/// The audit entry `action` about `record`, by the caller.
async fn log<R: Record>(c: Exec<'_>, ctx: &OrgCtx, action: String, record: &R) -> AppResult<()> {
    log_with(c, ctx, action, record, record.audit_details()).await
}

/// [`log`] with details of the caller's own.
async fn log_with<R: Record>(
    c: Exec<'_>,
    ctx: &OrgCtx,
    action: String,
    record: &R,
    details: serde_json::Value,
) -> AppResult<()> {
    let event = Event::new(action).by(ctx).target(R::KIND, record.id()).details(details);
    audit::record(c, ctx.org_id, &event).await?;
    Ok(())
}

/// Deletes a record (the API's DELETE, the web app's delete button).
pub async fn delete<R: Record>(state: &App, ctx: &OrgCtx, id: Uuid, if_match: IfMatch) -> AppResult<()> {
    let (mut tx, current) = lock_for_change::<R>(state, ctx, id, if_match).await?;
    remove_locked(tx.exec(), ctx, &current).await?;
    log(tx.exec(), ctx, format!("{}.deleted", R::KIND), &current).await?;
    commit::<R>(state, tx, ctx).await
}

/// The steps of a delete on a record locked in the caller's transaction:
/// the type's refusals and clean-up, the index rows, the row.
pub async fn remove_locked<R: Record>(mut c: Exec<'_>, ctx: &OrgCtx, record: &R) -> AppResult<()> {
    R::before_delete(c.re(), ctx, record).await?;
    unindex(c.re(), ctx.org_id, record).await?;
    R::remove(c, ctx.org_id, record.id()).await?;
    Ok(())
}

/// One page of a record's timeline, newest first (anyone who may read it).
pub async fn timeline<R: OnTimeline>(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    query: &TimelineQuery,
) -> AppResult<Page<Activity>> {
    let mut conn = state.db.read().await?;
    readable::<R>(conn.exec(), ctx, id).await?;
    activities::list(conn.exec(), ctx.org_id, R::timeline(id), query).await
}

/// Appends a comment to a record's timeline (anyone who may read it).
pub async fn comment<R: OnTimeline>(state: &App, ctx: &OrgCtx, id: Uuid, input: CommentInput) -> AppResult<Activity> {
    let (kind, payload) = input.checked()?;
    let mut tx = state.db.begin().await?;
    let record: R = readable(tx.exec(), ctx, id).await?;
    let activity =
        activities::append_to(tx.exec(), ctx.org_id, kind, record.filed_under(), ctx.user_id, payload).await?;
    R::after_comment(tx.exec(), ctx, &record).await?;
    tx.commit().await?;
    Ok(activity)
}
