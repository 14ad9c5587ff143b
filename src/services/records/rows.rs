//! The SQL of a record type's rows, written once from what the type
//! declares: its columns with their values ([`Record::columns`]) make its
//! insert and its update, and a list's filters are conditions on columns
//! ([`Condition`]) that one list query serves for every type.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{Database, Encode, QueryBuilder, Type};
use uuid::Uuid;

use super::shape::{Checked, Record};
use super::{After, Sort, TagFilter};
use crate::db::Exec;
use crate::error::{AppError, AppResult, FieldError};
use crate::run;
use crate::services::custom_fields::{CustomFilter, values as custom_values};

/// A column's value as it is bound. `None` writes NULL; in a list filter it
/// leaves the condition out (the filter was not given).
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Id(Option<Uuid>),
    Text(Option<&'a str>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Date(Option<NaiveDate>),
    Time(Option<DateTime<Utc>>),
    Tags(&'a [String]),
    /// A JSON document (an object or a list).
    Json(Option<&'a serde_json::Value>),
    /// A JSON object (custom field values).
    Map(&'a serde_json::Map<String, serde_json::Value>),
    /// One of these values (a filter's `IN (…)`); empty leaves it out.
    AnyOf(&'a [String]),
}

impl Cell<'_> {
    /// Whether a list condition on this value is left out.
    fn is_absent(&self) -> bool {
        match self {
            Cell::Id(v) => v.is_none(),
            Cell::Text(v) => v.is_none(),
            Cell::Int(v) => v.is_none(),
            Cell::Float(v) => v.is_none(),
            Cell::Bool(v) => v.is_none(),
            Cell::Date(v) => v.is_none(),
            Cell::Time(v) => v.is_none(),
            Cell::Tags(_) => false,
            Cell::Json(v) => v.is_none(),
            Cell::Map(_) => false,
            Cell::AnyOf(v) => v.is_empty(),
        }
    }
}

/// A column and its value: written by inserts and updates; in a list, the
/// column is followed by its operator (`"amount_cents >="`).
pub type Column<'a> = (&'static str, Cell<'a>);

/// A list filter: `"<column> <operator>"` and the value it compares with.
pub type Condition<'a> = Column<'a>;

/// A database that binds every kind of [`Cell`] (both backends): generic
/// query code names this one bound instead of one per value type.
pub trait BindsCells<'q>: Database {
    /// Appends `value` as a bind (a list of binds for [`Cell::AnyOf`]).
    fn push_value(q: &mut QueryBuilder<'q, Self>, value: Cell<'q>);
}

impl<'q, DB> BindsCells<'q> for DB
where
    DB: Database,
    Option<Uuid>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<f64>: Encode<'q, DB> + Type<DB>,
    Option<bool>: Encode<'q, DB> + Type<DB>,
    Option<NaiveDate>: Encode<'q, DB> + Type<DB>,
    Option<DateTime<Utc>>: Encode<'q, DB> + Type<DB>,
    Json<&'q [String]>: Encode<'q, DB> + Type<DB>,
    Option<Json<&'q serde_json::Value>>: Encode<'q, DB> + Type<DB>,
    Json<&'q serde_json::Map<String, serde_json::Value>>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    fn push_value(q: &mut QueryBuilder<'q, Self>, value: Cell<'q>) {
        match value {
            Cell::Id(v) => q.push_bind(v),
            Cell::Text(v) => q.push_bind(v),
            Cell::Int(v) => q.push_bind(v),
            Cell::Float(v) => q.push_bind(v),
            Cell::Bool(v) => q.push_bind(v),
            Cell::Date(v) => q.push_bind(v),
            Cell::Time(v) => q.push_bind(v),
            Cell::Tags(v) => q.push_bind(Json(v)),
            Cell::Json(v) => q.push_bind(v.map(Json)),
            Cell::Map(v) => q.push_bind(Json(v)),
            Cell::AnyOf(values) => {
                q.push("(");
                let mut list = q.separated(", ");
                for v in values {
                    list.push_bind(v.as_str());
                }
                q.push(")")
            }
        };
    }
}

/// How [`push_columns`] joins its columns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// `, a, b` then (by the caller) `VALUES` `, $1, $2`: an insert's lists.
    Names,
    Values,
    /// `, a = $1, b = $2`: an update's `SET`.
    Set,
    /// ` AND a >= $1 AND b = $2`, leaving out absent values: a list's filters.
    Where,
}

/// Appends `columns` as `join` says, each preceded by its separator.
pub fn push_columns<'q, DB: BindsCells<'q>>(q: &mut QueryBuilder<'q, DB>, columns: &[Column<'q>], join: Join) {
    for &(name, value) in columns {
        match join {
            Join::Names => {
                q.push(format!(", {name}"));
            }
            Join::Values => {
                q.push(", ");
                DB::push_value(q, value);
            }
            Join::Set => {
                q.push(format!(", {name} = "));
                DB::push_value(q, value);
            }
            Join::Where if value.is_absent() => {}
            Join::Where => {
                q.push(format!(" AND {name} "));
                DB::push_value(q, value);
            }
        }
    }
}

/// Inserts (`new`) or rewrites a record's row: its declared columns, its
/// search text where the type is searched by one, its version and times
/// (the caller's: `touch` set them for a change).
pub async fn write<R: Record>(c: Exec<'_>, org: Uuid, checked: &Checked<R>, new: bool) -> Result<(), sqlx::Error> {
    if new {
        return insert_many(c, org, std::slice::from_ref(checked)).await;
    }
    let r = &checked.record;
    let columns = new_columns(checked);
    run!(c, conn => {
        let mut q = QueryBuilder::new(format!("UPDATE {} SET updated_at = ", R::TABLE));
        q.push_bind(r.updated_at());
        q.push(", version = ").push_bind(r.version());
        push_columns(&mut q, &columns, Join::Set);
        q.push(" WHERE organization_id = ").push_bind(org).push(" AND id = ").push_bind(r.id());
        q.build().execute(conn).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Inserts new records' rows with one statement per [`INSERT_ROWS`] of
/// them (one for a create, a few for an import batch).
pub async fn insert_many<R: Record>(mut c: Exec<'_>, org: Uuid, records: &[Checked<R>]) -> Result<(), sqlx::Error> {
    for part in records.chunks(INSERT_ROWS) {
        let Some(first) = part.first() else { continue };
        run!(c.re(), conn => {
            let mut q = QueryBuilder::new(format!("INSERT INTO {} (organization_id, id, created_at, updated_at, version", R::TABLE));
            push_columns(&mut q, &new_columns(first), Join::Names);
            q.push(") VALUES ");
            for (i, checked) in part.iter().enumerate() {
                let r = &checked.record;
                q.push(if i == 0 { "(" } else { ", (" });
                q.push_bind(org).push(", ").push_bind(r.id()).push(", ").push_bind(r.created_at());
                q.push(", ").push_bind(r.updated_at()).push(", ").push_bind(r.version());
                push_columns(&mut q, &new_columns(checked), Join::Values);
                q.push(")");
            }
            q.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Records one multi-row insert writes: ~16 values each, well under
/// SQLite's and PostgreSQL's limits on a statement's parameters.
const INSERT_ROWS: usize = 250;

/// The columns [`write`] and [`insert_many`] write for a record.
fn new_columns<R: Record>(checked: &Checked<R>) -> Vec<Column<'_>> {
    let r = &checked.record;
    let mut columns = vec![
        ("owner_id", Cell::Id(Some(r.owner_id()))),
        ("tags", Cell::Tags(r.tags())),
    ];
    columns.extend(r.columns());
    if R::SEARCH_TEXT {
        columns.push(("search_text", Cell::Text(Some(&checked.search_text))));
    }
    columns
}

/// The longest free-text query of a list (the longest searched field, a
/// name, is 200 characters).
pub const MAX_QUERY_CHARS: usize = 200;

/// What one page of a list asks for.
#[derive(Debug, Clone)]
pub struct Listing<'a> {
    /// Free-text words (`records::words`): all must match.
    pub words: Vec<String>,
    /// A `q` was given that has no word at all (`%`, `'`): it matches
    /// nothing, rather than every record as no `q` would.
    pub matches_nothing: bool,
    /// Tags as stored (`records::tag_terms`): the record carries all of them.
    pub tags: Vec<String>,
    /// The other filters; the absent ones are left out.
    pub conditions: Vec<Condition<'a>>,
    pub sort: Sort,
    pub after: Option<After>,
    pub limit: i64,
    /// The query's `custom.<key>` parameters, checked against the type's
    /// definitions by `records::list_page` into [`Listing::custom`].
    pub custom_params: Vec<(String, String)>,
    pub custom: Vec<CustomFilter>,
}

impl<'a> Listing<'a> {
    /// A page of `limit` rows in `sort` order, found by the words of `q` and
    /// carrying every tag of `tags`.
    ///
    /// A `q` over [`MAX_QUERY_CHARS`] is refused (`q` names the field): each
    /// of its words is a condition, and thousands of them made an expression
    /// SQLite refuses.
    pub fn new(limit: i64, sort: Sort, q: &Option<String>, tags: &[String]) -> AppResult<Self> {
        if q.as_deref().is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
            return Err(AppError::validation(vec![FieldError {
                field: "q".into(),
                message: format!("at most {MAX_QUERY_CHARS} characters"),
            }]));
        }
        let mut tags = super::tag_terms(tags);
        // No record carries more tags than this, so such a filter matches
        // nothing; said without building a condition per tag (10,000 `tag=`
        // made an expression SQLite refuses).
        let too_many_tags = tags.len() > super::MAX_TAGS;
        if too_many_tags {
            tags.clear();
        }
        Ok(Listing {
            words: q.as_deref().map(super::query_words).unwrap_or_default(),
            matches_nothing: too_many_tags
                || q.as_deref()
                    .is_some_and(|q| !q.trim().is_empty() && super::query_words(q).is_empty()),
            tags,
            conditions: Vec::new(),
            sort,
            after: None,
            limit,
            custom_params: Vec::new(),
            custom: Vec::new(),
        })
    }

    /// The same, with these filters too.
    pub fn filter(mut self, conditions: impl IntoIterator<Item = Condition<'a>>) -> Self {
        self.conditions.extend(conditions);
        self
    }

    /// The same, with the query's `custom.<key>` filters too.
    pub fn custom(mut self, params: &[(String, String)]) -> Self {
        self.custom_params = params.to_vec();
        self
    }

    /// Whether anything besides the words filters the list.
    pub fn has_filters(&self) -> bool {
        !self.tags.is_empty() || !self.custom.is_empty() || self.conditions.iter().any(|(_, value)| !value.is_absent())
    }

    /// Whether the query's best plan depends on its values
    /// ([`super::plan_per_values`]; a custom value is as selective as a tag).
    pub fn plan_per_values(&self) -> bool {
        super::plan_per_values(&self.words, &self.tags) || !self.custom.is_empty()
    }
}

/// One page (up to `limit + 1` rows) of a list of `R`: the conditions, the
/// free-text search, the tags, then the keyset page in the sort's order.
pub async fn select<R: Record>(mut c: Exec<'_>, org: Uuid, listing: &Listing<'_>) -> Result<Vec<R>, sqlx::Error> {
    let tags = super::tag_filter(c.re(), org, R::KIND, &listing.tags).await?;
    select_tagged(c, org, listing, tags).await
}

/// [`select`] with the tag filter's style decided by the caller.
pub async fn select_tagged<R: Record>(
    c: Exec<'_>,
    org: Uuid,
    listing: &Listing<'_>,
    tags: TagFilter,
) -> Result<Vec<R>, sqlx::Error> {
    let backend = c.backend();
    run!(c, conn => {
        let mut q = QueryBuilder::new(format!("SELECT {} FROM {} WHERE organization_id = ", R::COLUMNS, R::TABLE));
        q.push_bind(org);
        push_columns(&mut q, &listing.conditions, Join::Where);
        super::push_search(&mut q, backend, R::TABLE, &listing.words);
        super::push_tags(&mut q, org, R::TABLE, R::KIND, &listing.tags, tags);
        if let Some(object) = R::CUSTOM {
            custom_values::push_filters(&mut q, org, object, R::TABLE, &listing.custom);
        }
        super::push_page(&mut q, listing.sort, listing.after.clone(), listing.limit);
        q.build_query_as()
            .persistent(!listing.plan_per_values())
            .fetch_all(conn)
            .await
    })
}
