//! SQL of contacts, written once for both backends; the free-text filter is the
//! one place that branches (FTS5 on SQLite, tsvector on PostgreSQL).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::Exec;
use crate::run;
use crate::services::records::rows::{self, Join};
use crate::services::records::{self, TagFilter};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Contact {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    /// Digits dialled after the number, kept apart from it.
    pub phone_extension: Option<String>,
    pub title: Option<String>,
    pub company_id: Option<Uuid>,
    pub lead_source: Option<String>,
    pub customer_since: Option<NaiveDate>,
    #[schema(value_type = Vec<String>)]
    pub tags: Json<Vec<String>>,
    /// Custom field values: only set keys.
    #[schema(value_type = Object)]
    pub custom: Json<crate::services::custom_fields::CustomValues>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub const COLUMNS: &str = "id, owner_id, name, email, phone, phone_extension, title, company_id, lead_source, customer_since, tags, custom, \
                           created_at, updated_at, version";

/// A contact of `org` with this email or phone, other than `except`: its id,
/// its name, and which field collided (`email` first).
pub async fn find_duplicate(
    c: Exec<'_>,
    org: Uuid,
    email: Option<&str>,
    phone: Option<&str>,
    except: Option<Uuid>,
) -> Result<Option<(Uuid, String, &'static str)>, sqlx::Error> {
    find_same_person(c, "contacts", "", org, email, phone, except).await
}

/// A row of `table` (contacts, leads) of `org` with this email or phone,
/// other than `except`, where `condition` (SQL after `AND`, or empty) holds:
/// its id, its name, and which field collided (`email` first).
pub async fn find_same_person(
    mut c: Exec<'_>,
    table: &str,
    condition: &str,
    org: Uuid,
    email: Option<&str>,
    phone: Option<&str>,
    except: Option<Uuid>,
) -> Result<Option<(Uuid, String, &'static str)>, sqlx::Error> {
    let condition = if condition.is_empty() {
        String::new()
    } else {
        format!(" AND {condition}")
    };
    // One lookup per field, each an equality its own (partial) unique index
    // serves. As one `email = $2 OR phone = $3`, SQLite's planner cannot use
    // the leads' partial indexes and scanned every open lead instead (67 ms
    // per lead write on the benchmark's 200,000 leads).
    for (field, value) in [("email", email), ("phone", phone)] {
        let Some(value) = value else { continue };
        let sql = format!(
            "SELECT id, name FROM {table} WHERE organization_id = $1 AND {field} = $2 \
             AND ($3 IS NULL OR id <> $3){condition} LIMIT 1"
        );
        let row: Option<(Uuid, String)> = run!(c.re(), conn => sqlx::query_as(&sql)
            .bind(org)
            .bind(value)
            .bind(except)
            .fetch_optional(conn)
            .await)?;
        if let Some((id, name)) = row {
            return Ok(Some((id, name, field)));
        }
    }
    Ok(None)
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

use crate::services::records::{After, Listing};

/// How many of the newest rows (in the list's order) a search looks at first.
const SEARCH_WINDOW: i64 = 2000;
/// The most rows a search reads row by row before it asks the full-text index.
const SEARCH_WINDOW_MAX: i64 = 20_000;
/// Matches in the first window from which a wider window is cheaper than the
/// index: at this rate a page needs ~15,000 rows read in order (~0.9 µs each),
/// while the index has to fetch and sort ~3,500 matches (~4 µs each).
const SEARCH_WIDEN_FROM_HITS: usize = 7;

/// One page (up to `limit + 1` rows) of a contact list.
///
/// A free-text search first looks for a full page among the first
/// [`SEARCH_WINDOW`] rows in list order, matching words against `search_text`
/// row by row: when the words are common (`q=jo sm` on a million contacts) the
/// page is found there at once, where the full-text index would return most of
/// the table to be sorted. When that window holds a few matches but not a
/// page, their rate says how wide a window would: up to [`SEARCH_WINDOW_MAX`]
/// rows that is cheaper than the index. Otherwise matches are rare, and the
/// full-text index (FTS5 / GIN) finds them directly. docs/performance.md has
/// the measurements.
pub async fn list(mut c: Exec<'_>, org: Uuid, listing: &Listing<'_>) -> Result<Vec<Contact>, sqlx::Error> {
    let tags = records::tag_filter(c.re(), org, "contact", &listing.tags).await?;
    let mut found = Vec::new();
    let mut rest = listing.clone();
    if let Some(search) = TermSearch::of(listing) {
        match search_by_terms(c.re(), org, listing, tags, &search).await? {
            TermPage::Done(rows) => return Ok(rows),
            TermPage::Unfinished { rows, last } => {
                rest.after = Some(After::Time(last.0, last.1));
                rest.limit -= rows.len() as i64;
                found = rows;
            }
        }
    }
    let mut rows = list_from(c, org, &rest, tags).await?;
    found.append(&mut rows);
    Ok(found)
}

/// [`list`] without the term search: the window, then the full-text index.
async fn list_from(
    mut c: Exec<'_>,
    org: Uuid,
    listing: &Listing<'_>,
    tags: TagFilter,
) -> Result<Vec<Contact>, sqlx::Error> {
    let limit = listing.limit;
    if !listing.words.is_empty() {
        let mut window = SEARCH_WINDOW;
        loop {
            let rows = search_window(c.re(), org, listing, tags, window).await?;
            if rows.len() as i64 > limit {
                return Ok(rows);
            }
            let hits = rows.len();
            if window > SEARCH_WINDOW || hits < SEARCH_WIDEN_FROM_HITS {
                break;
            }
            // Rows needed for a page at this hit rate, with half again as margin.
            let wider = (limit + 1) * window / hits as i64 * 3 / 2;
            if wider > SEARCH_WINDOW_MAX {
                break;
            }
            window = wider;
        }
    }
    rows::select_tagged(c, org, listing, tags).await
}

/// The most candidates a term search checks row by row (long words, other
/// filters) before it leaves the rest of the page to [`list_from`].
const TERM_CANDIDATES_MAX: i64 = 2000;

/// A search served by `contact_terms` (migration 12): every query word has 2
/// or more characters and the list is in `created_at` order.
struct TermSearch {
    /// The distinct terms: each word's first 2 or 3 characters.
    terms: Vec<String>,
    /// Whether candidates need a second look: words longer than their term,
    /// or filters besides the words.
    check_rows: bool,
    descending: bool,
}

impl TermSearch {
    fn of(listing: &Listing<'_>) -> Option<TermSearch> {
        if listing.words.is_empty() || listing.sort.field != "created_at" {
            return None;
        }
        let longest = *records::INDEXED_PREFIXES.end();
        let mut terms: Vec<String> = Vec::new();
        let mut long_words = false;
        for word in &listing.words {
            let length = word.chars().count();
            if length < *records::INDEXED_PREFIXES.start() {
                return None;
            }
            long_words |= length > longest;
            let term: String = word.chars().take(longest).collect();
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        Some(TermSearch {
            terms,
            check_rows: long_words || listing.has_filters(),
            descending: listing.sort.descending,
        })
    }
}

enum TermPage {
    /// The page (up to `limit + 1` rows), complete.
    Done(Vec<Contact>),
    /// [`TERM_CANDIDATES_MAX`] candidates gave fewer rows: the page goes on
    /// after the last candidate looked at.
    Unfinished {
        rows: Vec<Contact>,
        last: (DateTime<Utc>, Uuid),
    },
}

/// A search page from `contact_terms`: the contacts holding every term come
/// out of the terms' primary key in list order (a merge of index ranges), so
/// a page stops after `limit + 1` matches, however many contacts match in all.
/// The candidates' rows are then read by id and, where needed, checked against
/// the whole words and the other filters.
async fn search_by_terms(
    mut c: Exec<'_>,
    org: Uuid,
    listing: &Listing<'_>,
    tags: TagFilter,
    search: &TermSearch,
) -> Result<TermPage, sqlx::Error> {
    let limit = listing.limit;
    let after = match listing.after {
        Some(After::Time(at, id)) => Some(Cursor {
            at,
            id,
            inclusive: false,
        }),
        _ => None,
    };
    let Some(mut cursor) = merge_start(c.re(), org, search, after).await? else {
        return Ok(TermPage::Done(Vec::new()));
    };
    if !search.check_rows {
        // Every candidate is a match: one statement reads the page.
        return Ok(TermPage::Done(term_page(c, org, search, cursor, limit + 1).await?));
    }
    let batch = (limit + 1).max(200);
    let mut rows: Vec<Contact> = Vec::new();
    let mut looked_at = 0;
    loop {
        let candidates = term_candidates(c.re(), org, search, cursor, batch).await?;
        looked_at += candidates.len() as i64;
        let exhausted = (candidates.len() as i64) < batch;
        let Some(last) = candidates.last().copied() else {
            return Ok(TermPage::Done(rows));
        };
        let ids: Vec<Uuid> = candidates.iter().map(|(_, id)| *id).collect();
        let want = limit + 1 - rows.len() as i64;
        rows.append(&mut checked_rows(c.re(), org, &ids, listing, tags, search.descending, want).await?);
        if rows.len() as i64 > limit || exhausted {
            return Ok(TermPage::Done(rows));
        }
        if looked_at >= TERM_CANDIDATES_MAX {
            return Ok(TermPage::Unfinished { rows, last });
        }
        cursor = Some(Cursor {
            at: last.0,
            id: last.1,
            inclusive: false,
        });
    }
}

/// A position in a term list: after (or at) the contact `(at, id)`.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    at: DateTime<Utc>,
    id: Uuid,
    inclusive: bool,
}

/// Where the merge of the terms' lists can start: at the first entry of the
/// term whose list starts latest (after `after`), since no contact before it
/// holds that term. `None` when a term has no entry at all, so nothing
/// matches.
///
/// The merge steps through both lists in order, so a run of one term's
/// entries that the other lacks costs a step each: the benchmark's writes
/// add tens of thousands of contacts named `Load …` at the newest end of
/// `lo`'s list, and a search pairing `lo` with a word they lack stepped
/// through all of them (9-62 ms, run 6). One index seek per term skips such
/// a run when it is at the start, where new contacts put it.
async fn merge_start(
    c: Exec<'_>,
    org: Uuid,
    search: &TermSearch,
    after: Option<Cursor>,
) -> Result<Option<Option<Cursor>>, sqlx::Error> {
    if search.terms.len() < 2 {
        return Ok(Some(after));
    }
    let dir = if search.descending { "DESC" } else { "ASC" };
    let heads: Vec<(DateTime<Utc>, Uuid)> = run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new("");
        for (i, term) in search.terms.iter().enumerate() {
            if i > 0 {
                q.push(" UNION ALL ");
            }
            q.push("SELECT * FROM (SELECT created_at, contact_id FROM contact_terms WHERE organization_id = ")
                .push_bind(org)
                .push(" AND term = ")
                .push_bind(term.clone());
            push_after(&mut q, "", search.descending, after);
            q.push(format!(" ORDER BY created_at {dir}, contact_id {dir} LIMIT 1) AS h{i}"));
        }
        q.build_query_as().fetch_all(conn).await
    })?;
    if heads.len() < search.terms.len() {
        return Ok(None);
    }
    // The latest start in list order: the oldest head newest first.
    let start = if search.descending {
        heads.into_iter().min()
    } else {
        heads.into_iter().max()
    };
    Ok(Some(start.map(|(at, id)| Cursor {
        at,
        id,
        inclusive: true,
    })))
}

/// Appends ` AND ({table}created_at, {table}contact_id) < (cursor)` (`>`
/// ascending; `<=`/`>=` when the cursor is inclusive): the part of a term
/// list after, or from, `cursor` in list order. Nothing without a cursor.
fn push_after<'q, DB>(q: &mut sqlx::QueryBuilder<'q, DB>, table: &str, descending: bool, cursor: Option<Cursor>)
where
    DB: sqlx::Database,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let Some(cursor) = cursor else {
        return;
    };
    let op = if descending { "<" } else { ">" };
    let eq = if cursor.inclusive { "=" } else { "" };
    q.push(format!(" AND ({table}created_at, {table}contact_id) {op}{eq} ("))
        .push_bind(cursor.at)
        .push(", ")
        .push_bind(cursor.id)
        .push(")");
}

/// Appends the merge of the terms' key ranges: up to `n` rows `(at_, cid)`,
/// the created_at and id of the contacts holding every term, in list order,
/// after `cursor`. PostgreSQL merge-joins the ranges; SQLite merges them in
/// an ordered INTERSECT. Run prepared: the merge is the right plan whatever
/// the terms, and it is PostgreSQL's generic plan (planning it for each
/// search cost 0.5 ms, half of an average merge).
fn push_term_merge<'q, DB>(
    q: &mut sqlx::QueryBuilder<'q, DB>,
    backend: crate::db::Backend,
    org: Uuid,
    search: &TermSearch,
    cursor: Option<Cursor>,
    n: i64,
) where
    DB: sqlx::Database,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let dir = if search.descending { "DESC" } else { "ASC" };
    let after = |q: &mut sqlx::QueryBuilder<'q, DB>, table: &str| push_after(q, table, search.descending, cursor);
    match backend {
        crate::db::Backend::Postgres => {
            q.push("SELECT t0.created_at AS at_, t0.contact_id AS cid FROM contact_terms AS t0");
            for (i, term) in search.terms.iter().enumerate().skip(1) {
                q.push(format!(
                    " JOIN contact_terms AS t{i} ON t{i}.organization_id = t0.organization_id \
                     AND t{i}.created_at = t0.created_at AND t{i}.contact_id = t0.contact_id AND t{i}.term = "
                ))
                .push_bind(term.clone());
                after(q, &format!("t{i}."));
            }
            q.push(" WHERE t0.organization_id = ").push_bind(org);
            q.push(" AND t0.term = ").push_bind(search.terms[0].clone());
            after(q, "t0.");
            q.push(format!(" ORDER BY t0.created_at {dir}, t0.contact_id {dir} LIMIT "));
        }
        crate::db::Backend::Sqlite => {
            for (i, term) in search.terms.iter().enumerate() {
                if i > 0 {
                    q.push(" INTERSECT ");
                }
                q.push("SELECT created_at AS at_, contact_id AS cid FROM contact_terms WHERE organization_id = ")
                    .push_bind(org)
                    .push(" AND term = ")
                    .push_bind(term.clone());
                after(q, "");
            }
            q.push(format!(" ORDER BY 1 {dir}, 2 {dir} LIMIT "));
        }
    }
    q.push_bind(n);
}

/// Up to `n` contacts (created_at, id) holding every term ([`push_term_merge`]).
async fn term_candidates(
    c: Exec<'_>,
    org: Uuid,
    search: &TermSearch,
    cursor: Option<Cursor>,
    n: i64,
) -> Result<Vec<(DateTime<Utc>, Uuid)>, sqlx::Error> {
    let backend = c.backend();
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new("");
        push_term_merge(&mut q, backend, org, search, cursor, n);
        q.build_query_as().fetch_all(conn).await
    })
}

/// Up to `n` contacts holding every term, read in one statement.
async fn term_page(
    c: Exec<'_>,
    org: Uuid,
    search: &TermSearch,
    cursor: Option<Cursor>,
    n: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    let backend = c.backend();
    let dir = if search.descending { "DESC" } else { "ASC" };
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM ("));
        push_term_merge(&mut q, backend, org, search, cursor, n);
        q.push(") AS m JOIN contacts ON contacts.organization_id = ")
            .push_bind(org)
            .push(format!(" AND contacts.id = m.cid ORDER BY m.at_ {dir}, m.cid {dir}"));
        q.build_query_as().fetch_all(conn).await
    })
}

/// The contacts of `ids` in list order whose search text has every word and
/// that pass the other filters, at most `n`.
async fn checked_rows(
    c: Exec<'_>,
    org: Uuid,
    ids: &[Uuid],
    listing: &Listing<'_>,
    tags: TagFilter,
    descending: bool,
    n: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    let dir = if descending { "DESC" } else { "ASC" };
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM contacts WHERE organization_id = "));
        q.push_bind(org).push(" AND id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        q.push(")");
        push_words(&mut q, &listing.words);
        push_filters(&mut q, org, listing, tags);
        q.push(format!(" ORDER BY created_at {dir}, id {dir} LIMIT ")).push_bind(n);
        q.build_query_as().fetch_all(conn).await
    })
}

/// Appends ` AND ` + each word as a prefix of a word of `search_text`, checked
/// row by row.
fn push_words<'q, DB>(q: &mut sqlx::QueryBuilder<'q, DB>, words: &[String])
where
    DB: sqlx::Database,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for word in words {
        q.push(" AND (' ' || search_text) LIKE ")
            .push_bind(format!("% {word}%"));
    }
}

/// The matches among the first `window` rows of the list (up to `limit + 1`).
async fn search_window(
    c: Exec<'_>,
    org: Uuid,
    listing: &Listing<'_>,
    tags: TagFilter,
    window: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    let sort = listing.sort;
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!(
            "SELECT {COLUMNS} FROM (SELECT {COLUMNS}, search_text FROM contacts WHERE organization_id = "
        ));
        q.push_bind(org);
        push_filters(&mut q, org, listing, tags);
        records::push_page(&mut q, sort, listing.after.clone(), window - 1);
        q.push(") AS recent WHERE 1 = 1");
        push_words(&mut q, &listing.words);
        q.push(format!(" ORDER BY {} LIMIT ", sort.order_sql())).push_bind(listing.limit + 1);
        q.build_query_as().fetch_all(conn).await
    })
}

/// The list filters other than free text, as ` AND …` conditions.
fn push_filters<'q, DB>(q: &mut sqlx::QueryBuilder<'q, DB>, org: Uuid, listing: &'q Listing<'q>, tags: TagFilter)
where
    DB: rows::BindsCells<'q>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    rows::push_columns(q, &listing.conditions, Join::Where);
    records::push_tags(q, org, "contacts", "contact", &listing.tags, tags);
    crate::services::custom_fields::values::push_filters(q, org, "contacts", "contacts", &listing.custom);
}
