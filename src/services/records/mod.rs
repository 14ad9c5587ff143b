//! What every record type shares (api.md §5): owners and who may change what,
//! tags, free-text search words, list sorting.

pub mod bulk;
pub mod fields;
pub mod merge;
pub mod query;
pub mod rows;
pub mod shape;

pub use rows::{Cell, Listing};
pub use shape::{
    Checked, OnTimeline, Record, Replace, comment, create, delete, read, readable, replace, timeline, update,
};

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};
use uuid::Uuid;

use crate::app::App;
use crate::db::{Backend, Exec};
use crate::error::{AppError, AppResult};
use crate::run;
use crate::services::orgs::{OrgCtx, Role, Visibility, queries as orgs};
use crate::services::pagination::{Cursor, Page};

impl OrgCtx {
    /// `true` when the caller may read only what they own
    /// (`member_visibility: own` applies to the member role).
    pub fn sees_only_own(&self) -> bool {
        self.role == Role::Member && self.visibility == Visibility::Own
    }

    /// Whether the caller may read a record owned by `owner`.
    pub fn may_read(&self, owner: Uuid) -> bool {
        !self.sees_only_own() || owner == self.user_id
    }

    /// 403 unless the caller may change or delete a record owned by `owner`:
    /// managers and above change anything, members what they own.
    pub fn ensure_may_change(&self, owner: Uuid) -> AppResult<()> {
        if self.role >= Role::Manager || owner == self.user_id {
            Ok(())
        } else {
            Err(AppError::forbidden("members may change only the records they own"))
        }
    }
}

/// The owner a record gets: the requested one (checked) or the caller.
/// A member may not make someone else the owner (403 `forbidden`); an owner who
/// is not a member of the organization → 422 `owner_not_member`.
pub async fn resolve_owner(c: Exec<'_>, ctx: &OrgCtx, requested: Option<Uuid>) -> AppResult<Uuid> {
    let owner = requested.unwrap_or(ctx.user_id);
    if owner == ctx.user_id {
        return Ok(owner);
    }
    if ctx.role < Role::Manager {
        return Err(AppError::forbidden(
            "members may create and keep records only as their own",
        ));
    }
    if orgs::membership(c, ctx.org_id, owner).await?.is_none() {
        return Err(AppError::rule(
            "owner_not_member",
            "owner_id must be a member of the organization",
        ));
    }
    Ok(owner)
}

/// The owner of a checked record: the current one when the input keeps it
/// (or names none on a change), otherwise [`resolve_owner`]'s.
pub async fn owner_for(c: Exec<'_>, ctx: &OrgCtx, requested: Option<Uuid>, current: Option<Uuid>) -> AppResult<Uuid> {
    match (requested, current) {
        (Some(requested), Some(current)) if requested == current => Ok(requested),
        (None, Some(current)) => Ok(current),
        (requested, _) => resolve_owner(c, ctx, requested).await,
    }
}

/// The id, creation time, update time and version a checked record keeps:
/// the current record's on a change (so that "nothing changes" is an
/// equality), new ones on a create.
pub fn stamps<R: Record>(current: Option<&R>) -> (Uuid, DateTime<Utc>, DateTime<Utc>, i64) {
    let now = crate::db::now();
    match current {
        Some(r) => (r.id(), r.created_at(), r.updated_at(), r.version()),
        None => (crate::db::new_id(), now, now, 1),
    }
}

/// The `(id, <column>)` of the given records of `R` (names and titles for
/// the board's cards and timelines), in no particular order.
pub async fn names<R: Record>(
    c: Exec<'_>,
    org: Uuid,
    column: &'static str,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT id, {column} FROM {} WHERE organization_id = ", R::TABLE));
        q.push_bind(org).push(" AND id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        q.push(")");
        // Planned each time: after five runs PostgreSQL's generic plan for a
        // long `IN` list read the organization's rows instead of the keys
        // (170 ms for a page's 100 companies on the benchmark data set,
        // 0.3 ms planned with the values).
        q.build_query_as().persistent(false).fetch_all(conn).await
    })
}

/// 409 (the type's `duplicate`, naming `existing_id`) when `existing` holds
/// what must be unique.
pub fn unique<R: Record>(existing: Option<Uuid>) -> AppResult<()> {
    match existing {
        Some(id) => Err(R::duplicate().with("existing_id", id.to_string())),
        None => Ok(()),
    }
}

/// A list's `tag=` values as stored: trimmed, lower-cased, empty ones and
/// repeats dropped.
pub fn tag_terms(tags: &[String]) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && !terms.contains(&tag) {
            terms.push(tag);
        }
    }
    terms
}

/// The most tags a record carries ([`normalize_tags`]).
pub const MAX_TAGS: usize = 20;

/// Normalizes tags: trimmed, lower-cased, 1..50 characters each, at most 20,
/// duplicates dropped keeping the first appearance.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        let len = tag.chars().count();
        if !(1..=50).contains(&len) {
            return Err("each tag must be 1 to 50 characters".into());
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    Ok(out)
}

/// Replaces the tag index rows of one record.
pub async fn index_tags(
    mut c: Exec<'_>,
    org: Uuid,
    record_type: &str,
    record: Uuid,
    owner: Uuid,
    tags: &[String],
) -> Result<(), sqlx::Error> {
    run!(c.re(), conn => sqlx::query("DELETE FROM record_tags WHERE organization_id = $1 AND record_type = $2 AND record_id = $3")
        .bind(org)
        .bind(record_type)
        .bind(record)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    index_new_tags(c, org, record_type, &[(record, owner, tags)]).await
}

/// Indexes the tags of records that have no entries (new ones, or after
/// [`index_tags`] removed them) with one statement per 1,000 tags.
pub async fn index_new_tags(
    mut c: Exec<'_>,
    org: Uuid,
    record_type: &str,
    records: &[(Uuid, Uuid, &[String])],
) -> Result<(), sqlx::Error> {
    let entries: Vec<(Uuid, Uuid, &String)> = records
        .iter()
        .flat_map(|(id, owner, tags)| tags.iter().map(move |t| (*id, *owner, t)))
        .collect();
    for part in entries.chunks(1000) {
        run!(c.re(), conn => {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO record_tags (organization_id, record_type, tag, record_id, owner_id) ");
            q.push_values(part, |mut row, (id, owner, tag)| {
                row.push_bind(org).push_bind(record_type).push_bind(*tag).push_bind(*id).push_bind(*owner);
            });
            q.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// The words of a text as search matches them: split at anything that is not a
/// letter or digit, lower-cased.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Accented letters and their accent-free forms: what search folds so that
/// `muller` finds Müller on both backends. The migration that folded the
/// stored texts (`20261207000020_accent_free_search.sql`) uses this same
/// table; a letter added here needs the stored texts folded again.
const FOLDS: &[(char, &str)] = &[
    ('à', "a"),
    ('á', "a"),
    ('â', "a"),
    ('ã', "a"),
    ('ä', "a"),
    ('å', "a"),
    ('ā', "a"),
    ('ă', "a"),
    ('ą', "a"),
    ('ç', "c"),
    ('ć', "c"),
    ('č', "c"),
    ('ď', "d"),
    ('đ', "d"),
    ('è', "e"),
    ('é', "e"),
    ('ê', "e"),
    ('ë', "e"),
    ('ē', "e"),
    ('ė', "e"),
    ('ę', "e"),
    ('ě', "e"),
    ('ğ', "g"),
    ('ì', "i"),
    ('í', "i"),
    ('î', "i"),
    ('ï', "i"),
    ('ī', "i"),
    ('į', "i"),
    ('ı', "i"),
    ('ł', "l"),
    ('ñ', "n"),
    ('ń', "n"),
    ('ň', "n"),
    ('ò', "o"),
    ('ó', "o"),
    ('ô', "o"),
    ('õ', "o"),
    ('ö', "o"),
    ('ø', "o"),
    ('ō', "o"),
    ('ő', "o"),
    ('ř', "r"),
    ('ś', "s"),
    ('ş', "s"),
    ('š', "s"),
    ('ť', "t"),
    ('ù', "u"),
    ('ú', "u"),
    ('û', "u"),
    ('ü', "u"),
    ('ū', "u"),
    ('ů', "u"),
    ('ű', "u"),
    ('ų', "u"),
    ('ý', "y"),
    ('ÿ', "y"),
    ('ź', "z"),
    ('ż', "z"),
    ('ž', "z"),
    ('ß', "ss"),
    ('æ', "ae"),
    ('œ', "oe"),
    ('þ', "th"),
];

/// `word` without its accents, as [`FOLDS`] reads them.
pub fn fold(word: &str) -> String {
    let mut folded = String::with_capacity(word.len());
    for c in word.chars() {
        match FOLDS.iter().find(|(accented, _)| *accented == c) {
            Some((_, plain)) => folded.push_str(plain),
            None => folded.push(c),
        }
    }
    folded
}

/// The words of a search `q`, as [`words`] splits them and accent-free, except that a query
/// shaped like a phone number (digits with spaces and `+-().` between them,
/// six digits or more) is one word of its digits: a contact's E.164 number
/// or national digits start with it, so `415-555-0134` finds `+14155550134`.
pub fn query_words(q: &str) -> Vec<String> {
    let q = q.trim();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let phone_shaped = q.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if phone_shaped && digits.len() >= 6 {
        vec![digits]
    } else {
        words(q).iter().map(|w| fold(w)).collect()
    }
}

/// Query words this long are looked up as whole index terms on PostgreSQL:
/// [`search_text`] stores every longer word's prefixes of these lengths.
pub const INDEXED_PREFIXES: std::ops::RangeInclusive<usize> = 2..=3;

/// The search text of a record: the words of its searched fields, then the
/// 2- and 3-character prefixes of the longer ones, space-separated.
///
/// The prefixes make a short query word one exact term of the full-text index
/// instead of a prefix scan over every term that starts with it (on a million
/// contacts `jo:*` expands to tens of thousands of terms: 20 ms for `q=jo sm`,
/// 2.5 ms as the exact terms `jo & sm`). A prefix of a word only ever matches
/// where the word itself would, so what `q` finds does not change.
pub fn search_text<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut all: Vec<String> = Vec::new();
    for field in fields.into_iter().flatten() {
        for word in words(field) {
            // The accent-free form too, which the folded query words find.
            let folded = fold(&word);
            for w in [word, folded] {
                if !all.contains(&w) {
                    all.push(w);
                }
            }
        }
    }
    let mut prefixes: Vec<String> = Vec::new();
    for word in &all {
        for n in INDEXED_PREFIXES {
            if word.chars().count() > n {
                let prefix: String = word.chars().take(n).collect();
                if !all.contains(&prefix) && !prefixes.contains(&prefix) {
                    prefixes.push(prefix);
                }
            }
        }
    }
    all.extend(prefixes);
    all.join(" ")
}

/// A `sort` parameter: the field and its direction. Unsupported → 422.
#[derive(Debug, Clone, Copy)]
pub struct Sort {
    pub field: &'static str,
    pub descending: bool,
}

impl Sort {
    pub fn parse(raw: Option<&str>, allowed: &[&'static str], default: &str) -> AppResult<Sort> {
        let raw = raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default);
        let (descending, name) = match raw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, raw),
        };
        let field = allowed.iter().find(|f| **f == name).ok_or_else(|| {
            AppError::field(
                "sort",
                format!("must be one of {} (prefix - for descending)", allowed.join(", ")),
            )
        })?;
        Ok(Sort { field, descending })
    }

    /// The SQL the field sorts by, before the id. Money is stored in cents
    /// and sorts within its currency (amounts of different currencies do not
    /// compare: the list groups them); a missing date sorts after every date
    /// (nulls last ascending, first descending).
    pub fn columns(&self) -> Vec<&'static str> {
        match self.field {
            "amount" => vec!["currency", "amount_cents"],
            "price" => vec!["currency", "price_cents"],
            "expected_close_date" => vec!["COALESCE(expected_close_date, '9999-12-31')"],
            "due_date" => vec!["COALESCE(due_date, '9999-12-31T00:00:00+00:00')"],
            "next_follow_up_at" => vec!["COALESCE(next_follow_up_at, '9999-12-31T00:00:00+00:00')"],
            field => vec![field],
        }
    }

    pub fn order_sql(&self) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        let mut order: Vec<String> = self.columns().iter().map(|c| format!("{c} {dir}")).collect();
        order.push(format!("id {dir}"));
        order.join(", ")
    }

    /// `(col, …, id) > (` (or `<` descending): the keyset comparison that
    /// continues after the cursor, open for its values.
    pub fn keyset_sql(&self) -> String {
        format!(" AND ({}, id) {} (", self.columns().join(", "), self.after_op())
    }

    /// The keyset comparison that continues after the cursor.
    pub fn after_op(&self) -> &'static str {
        if self.descending { "<" } else { ">" }
    }
}

/// An optional text value: trimmed, empty is absent.
pub fn opt(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn parse_uuid(value: &str) -> Result<Uuid, String> {
    Uuid::parse_str(value).map_err(|_| "must be a UUID".to_string())
}

/// A date written exactly `YYYY-MM-DD` (chrono alone would also take
/// `2024-3-1` or `+2024-03-01`).
pub fn parse_date(value: &str) -> Result<chrono::NaiveDate, String> {
    let invalid = || "must be a date (YYYY-MM-DD)".to_string();
    let shape_ok = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(invalid());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid())
}

pub fn parse_time(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 date-time".to_string())
}

/// For a record named in a body: "not found" (missing, another
/// organization's, or not visible to the caller) becomes the 422 `code`; any
/// other error, such as an unreachable database, stays what it is.
pub fn missing_as(code: &'static str, detail: &'static str) -> impl Fn(AppError) -> AppError {
    move |err| {
        if err.status == http::StatusCode::NOT_FOUND {
            AppError::rule(code, detail)
        } else {
            err
        }
    }
}

/// Where a page starts: the sort value and id of the last row of the previous page.
#[derive(Debug, Clone)]
pub enum After {
    Time(DateTime<Utc>, Uuid),
    Text(String, Uuid),
    Date(chrono::NaiveDate, Uuid),
    /// An amount within its currency: `(currency, cents, id)`.
    Money(String, i64, Uuid),
    /// A whole number (a lead's score).
    Int(i64, Uuid),
}

impl After {
    /// Reads the `cursor` of a list sorted by `sort`; the sort field tells
    /// the kind of value it holds. Anything else → 422 `invalid_cursor`.
    pub fn decode(sort: Sort, cursor: Option<&str>) -> AppResult<Option<After>> {
        Ok(match sort.field {
            "name" => Cursor::decode::<(String, Uuid)>(cursor)?.map(|(t, id)| After::Text(t, id)),
            "amount" | "price" => {
                Cursor::decode::<(String, i64, Uuid)>(cursor)?.map(|(currency, n, id)| After::Money(currency, n, id))
            }
            "expected_close_date" => {
                Cursor::decode::<(chrono::NaiveDate, Uuid)>(cursor)?.map(|(d, id)| After::Date(d, id))
            }
            "score" => Cursor::decode::<(i64, Uuid)>(cursor)?.map(|(n, id)| After::Int(n, id)),
            _ => Cursor::decode::<(DateTime<Utc>, Uuid)>(cursor)?.map(|(t, id)| After::Time(t, id)),
        })
    }

    /// The opaque cursor a client sends back to read on from here.
    pub fn encode(&self) -> String {
        match self {
            After::Time(t, id) => Cursor::encode(&(t, id)),
            After::Text(t, id) => Cursor::encode(&(t, id)),
            After::Date(d, id) => Cursor::encode(&(d, id)),
            After::Money(currency, n, id) => Cursor::encode(&(currency, n, id)),
            After::Int(n, id) => Cursor::encode(&(n, id)),
        }
    }
}

/// A list's page size and order, checked (`limit`, then `sort` against the
/// type's `allowed` fields).
pub fn paging(
    limit: &Option<String>,
    sort: &Option<String>,
    allowed: &[&'static str],
    default: &str,
) -> AppResult<(i64, Sort)> {
    let limit = crate::services::pagination::limit(limit.as_deref())?;
    Ok((limit, Sort::parse(sort.as_deref(), allowed, default)?))
}

/// One page of the records of `R` the caller may read (the API's lists, the
/// web app's list pages and exports): `listing`'s filters were checked, the
/// cursor is read last, `own` visibility adds its owner condition.
pub async fn list_page<R: Record>(
    state: &App,
    ctx: &OrgCtx,
    mut listing: Listing<'_>,
    cursor: &Option<String>,
) -> AppResult<Page<R>> {
    listing.after = After::decode(listing.sort, cursor.as_deref())?;
    let only_owner = ctx.sees_only_own().then_some(ctx.user_id);
    listing.conditions.push(("owner_id =", Cell::Id(only_owner)));
    let mut conn = state.db.read().await?;
    if !listing.custom_params.is_empty() {
        let defs = match R::CUSTOM {
            Some(object) => crate::services::custom_fields::definitions(conn.exec(), ctx.org_id, object).await?,
            None => Vec::new(),
        };
        listing.custom = crate::services::custom_fields::values::filters(&defs, &listing.custom_params)?;
        if let Some(object) = R::CUSTOM {
            crate::services::custom_fields::values::plan(conn.exec(), ctx.org_id, object, &mut listing.custom).await?;
        }
    }
    if listing.matches_nothing {
        return Ok(page(Vec::new(), listing.limit, listing.sort));
    }
    let rows = R::select(conn.exec(), ctx.org_id, &listing).await?;
    Ok(page(rows, listing.limit, listing.sort))
}

/// A page of up to `limit + 1` rows sorted by `sort`, with the cursor of its
/// last row when another page follows.
pub fn page<R: Record>(rows: Vec<R>, limit: i64, sort: Sort) -> Page<R> {
    Page::from_rows(rows, limit, |r| r.sort_value(sort.field).encode())
}

/// Appends ` AND ` + the free-text condition: every word a prefix of a word of
/// the record's search text, served by `<table>_fts` (SQLite FTS5) or the GIN
/// index on `search_vector` (PostgreSQL). Words are letters and digits only
/// ([`words`]), so they cannot break out of the query syntax.
pub fn push_search<'q, DB>(q: &mut QueryBuilder<'q, DB>, backend: Backend, table: &str, words: &[String])
where
    DB: Database,
    String: Encode<'q, DB> + Type<DB>,
{
    if words.is_empty() {
        return;
    }
    match backend {
        Backend::Sqlite => {
            let expr: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
            q.push(format!(
                " AND rowid IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH "
            ))
            .push_bind(expr.join(" "))
            .push(")");
        }
        Backend::Postgres => {
            // A 2-3 character word is a stored term of its own (see search_text).
            let expr: Vec<String> = words
                .iter()
                .map(|w| match INDEXED_PREFIXES.contains(&w.chars().count()) {
                    true => w.clone(),
                    false => format!("{w}:*"),
                })
                .collect();
            q.push(" AND search_vector @@ to_tsquery('simple', ")
                .push_bind(expr.join(" & "))
                .push(")");
        }
    }
}

/// Whether a list query's best plan depends on its values: with search words
/// or tags, how many rows match decides between walking the sort index and
/// reading the matches first. Such a query is planned for each execution
/// (`persistent(false)`): PostgreSQL switches a prepared statement to its
/// generic plan after five runs, and that plan turned a 17 ms tag filter on
/// 1M contacts into 0.1–3.5 s.
pub fn plan_per_values(words: &[String], tags: &[String]) -> bool {
    !words.is_empty() || !tags.is_empty()
}

/// How a `tag=` filter is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagFilter {
    /// `id IN (the records with the tag)`: reads the tagged records, then
    /// sorts them. Right for rare tags, and what PostgreSQL's planner turns
    /// into the better plan by itself.
    Lookup,
    /// `EXISTS (the record has the tag)` per row: walks the sort index and
    /// stops after a page. SQLite's planner always reads every tagged record
    /// first; for a tag on 25k of 1M contacts that took 180 ms, walking 10 ms.
    Walk,
}

/// A tag with at least this many records is filtered by walking (SQLite).
const WALK_TAGS_FROM: i64 = 5000;

/// How to write the tag filter of a list of `record_type`: walking on SQLite
/// when the first tag is common (a bounded count decides), a lookup otherwise.
pub async fn tag_filter(
    mut c: Exec<'_>,
    org: Uuid,
    record_type: &str,
    tags: &[String],
) -> Result<TagFilter, sqlx::Error> {
    let Some(first) = tags.first() else {
        return Ok(TagFilter::Lookup);
    };
    if c.backend() != Backend::Sqlite {
        return Ok(TagFilter::Lookup);
    }
    let common: i64 = crate::run!(c.re(), conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM record_tags WHERE organization_id = $1 AND record_type = $2 AND tag = $3 LIMIT $4) AS t",
    )
    .bind(org)
    .bind(record_type)
    .bind(first)
    .bind(WALK_TAGS_FROM)
    .fetch_one(conn)
    .await)?;
    Ok(if common >= WALK_TAGS_FROM {
        TagFilter::Walk
    } else {
        TagFilter::Lookup
    })
}

/// Appends one condition per tag: the record (a row of `table`) carries every one of them.
pub fn push_tags<'q, DB>(
    q: &mut QueryBuilder<'q, DB>,
    org: Uuid,
    table: &str,
    record_type: &'static str,
    tags: &[String],
    style: TagFilter,
) where
    DB: Database,
    String: Encode<'q, DB> + Type<DB>,
    Uuid: Encode<'q, DB> + Type<DB>,
{
    for tag in tags {
        match style {
            TagFilter::Lookup => q.push(" AND id IN (SELECT record_id FROM record_tags WHERE organization_id = "),
            TagFilter::Walk => q.push(" AND EXISTS (SELECT 1 FROM record_tags WHERE organization_id = "),
        };
        q.push_bind(org)
            .push(format!(" AND record_type = '{record_type}' AND tag = "))
            .push_bind(tag.clone());
        if style == TagFilter::Walk {
            q.push(format!(" AND record_id = {table}.id"));
        }
        q.push(")");
    }
}

/// Appends the keyset condition after `after`, then the order and the limit
/// (one row more than the page, to tell whether another page follows).
pub fn push_page<'q, DB>(q: &mut QueryBuilder<'q, DB>, sort: Sort, after: Option<After>, limit: i64)
where
    DB: Database,
    String: Encode<'q, DB> + Type<DB>,
    Uuid: Encode<'q, DB> + Type<DB>,
    DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    chrono::NaiveDate: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let keyset = sort.keyset_sql();
    match after {
        Some(After::Time(at, id)) => {
            q.push(keyset).push_bind(at).push(", ").push_bind(id).push(")");
        }
        Some(After::Text(text, id)) => {
            q.push(keyset).push_bind(text).push(", ").push_bind(id).push(")");
        }
        Some(After::Date(d, id)) => {
            q.push(keyset).push_bind(d).push(", ").push_bind(id).push(")");
        }
        Some(After::Int(n, id)) => {
            q.push(keyset).push_bind(n).push(", ").push_bind(id).push(")");
        }
        Some(After::Money(currency, n, id)) => {
            q.push(keyset)
                .push_bind(currency)
                .push(", ")
                .push_bind(n)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        None => {}
    }
    q.push(format!(" ORDER BY {} LIMIT ", sort.order_sql()))
        .push_bind(limit + 1);
}

/// `If-Match: "<version>"`. Absent → `None` (last write wins). `*` matches any
/// version; a value that names no version can never match → 412.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<ExpectedVersion>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    Any,
    Exactly(i64),
    Never,
}

impl IfMatch {
    /// 412 `version_mismatch` unless `current` satisfies the header.
    pub fn check(&self, current: i64) -> Result<(), AppError> {
        match self.0 {
            None | Some(ExpectedVersion::Any) => Ok(()),
            Some(ExpectedVersion::Exactly(v)) if v == current => Ok(()),
            Some(_) => Err(AppError::version_mismatch()),
        }
    }
}

/// For `#[serde(default, deserialize_with = "double_option")]` on an
/// `Option<Option<T>>` field of a PATCH body: absent → `None` (leave as is),
/// `null` → `Some(None)` (clear), a value → `Some(Some(v))`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// An integer as JSON Schema counts one: `5`, or `5.0` (a float with no
/// fraction). serde alone refuses `5.0` for an `i64`.
#[derive(Debug, Clone, Copy)]
struct WholeNumber(i64);

impl<'de> serde::Deserialize<'de> for WholeNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        if let Some(n) = number.as_i64() {
            return Ok(WholeNumber(n));
        }
        match number.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(WholeNumber(f as i64)),
            _ => Err(serde::de::Error::custom("expected a whole number")),
        }
    }
}

/// `#[serde(default, deserialize_with = "whole_number")]` on an `Option<i64>`.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    <Option<WholeNumber> as serde::Deserialize>::deserialize(deserializer).map(|n| n.map(|n| n.0))
}

/// [`double_option`] of a [`whole_number`] (a PATCH field that `null` clears).
pub fn double_option_whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<i64>>, D::Error> {
    whole_number(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_the_contract() {
        assert_eq!(words("john.smith@acme.com"), vec!["john", "smith", "acme", "com"]);
        assert_eq!(query_words("415-555-0134"), vec!["4155550134"]);
        assert_eq!(query_words("Müller Straße"), vec!["muller", "strasse"]);
        assert_eq!(search_text([Some("Müller")]), "müller muller mü mül mu mul");
        assert_eq!(query_words("+1 (415) 555 0134"), vec!["14155550134"]);
        assert_eq!(query_words("ann 2024"), vec!["ann", "2024"]);
        assert_eq!(query_words("12 34"), vec!["12", "34"]);
        assert_eq!(words("  O'Brien — Müller "), vec!["o", "brien", "müller"]);
        assert_eq!(
            search_text([Some("Ann Lee"), None, Some("ann@lee.io")]),
            "ann lee io an le"
        );
        assert_eq!(
            search_text([Some("Jo Müller"), Some("+1 555")]),
            "jo müller muller 1 555 mü mül mu mul 55"
        );
    }

    #[test]
    fn tags_are_normalized() {
        let tags = vec![" VIP ".to_string(), "vip".into(), "Lead".into()];
        assert_eq!(normalize_tags(&tags).unwrap(), vec!["vip", "lead"]);
        assert!(normalize_tags(&["".to_string()]).is_err());
        assert!(normalize_tags(&["x".repeat(51)]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(normalize_tags(&many).is_err());
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2024-03-01").is_ok());
        for bad in ["2024-3-1", "+2024-03-01", "2024-02-30", "2024/03/01", ""] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorts() {
        let s = Sort::parse(Some("-name"), &["created_at", "name"], "-created_at").unwrap();
        assert_eq!(s.order_sql(), "name DESC, id DESC");
        assert_eq!(
            Sort::parse(None, &["created_at"], "-created_at").unwrap().after_op(),
            "<"
        );
        assert!(Sort::parse(Some("email"), &["created_at"], "-created_at").is_err());
    }
}
