//! CSV export of a list (data.md "Export"): every record the caller may
//! list with the list's filters, each field as the API returns it, in the
//! order of the API's JSON. Written page by page as it is read, so an export
//! of a million rows holds one page in memory, never the file.
//!
//! Values are written as the API gives them (no spreadsheet escaping: a
//! phone's leading `+` stays, so the file imports back as it was; the web
//! app's spreadsheet export is the one that guards formulas). Timestamps are
//! RFC 3339 UTC, booleans `true`/`false`, tags joined by `;`, lines end
//! with `\r\n`, UTF-8 without a BOM.

use std::future::Future;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::services::audit::{self, Event};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;

/// Rows read per page (the lists' largest page).
pub const PAGE: &str = "200";

/// A record type whose list can be exported.
pub trait Exported: Serialize + ToSchema + Send + Sync + Sized + 'static {
    /// The list's query: its filters (the default: none).
    type Query: Clone + Default + Send + Sync + 'static;
    /// The plural of the type, as in its path (`contacts`).
    const PLURAL: &'static str;
    /// Its custom fields' object, when it has custom fields: they are
    /// columns of their own, named by their labels.
    const CUSTOM: Option<&'static str>;
    /// The query with the `custom.<key>` filters of the request.
    fn with_custom(query: Self::Query, params: Vec<(String, String)>) -> Self::Query;
    /// The `limit` the caller gave (checked like the list's, then not used).
    fn limit(query: &Self::Query) -> Option<&str>;
    /// The page after `cursor` of the list `query` describes.
    fn page(
        state: &App,
        ctx: &OrgCtx,
        query: &Self::Query,
        cursor: Option<String>,
    ) -> impl Future<Output = AppResult<Page<Self>>> + Send;
}

macro_rules! exported {
    ($($record:ty, $query:ty, $plural:literal, $custom:expr, $list:path;)*) => {$(
        impl Exported for $record {
            type Query = $query;
            const PLURAL: &'static str = $plural;
            const CUSTOM: Option<&'static str> = $custom;
            fn with_custom(query: $query, params: Vec<(String, String)>) -> $query {
                <$query>::with_custom_params(query, params)
            }
            fn limit(query: &$query) -> Option<&str> {
                query.limit.as_deref()
            }
            async fn page(state: &App, ctx: &OrgCtx, query: &$query, cursor: Option<String>) -> AppResult<Page<Self>> {
                let mut query = query.clone();
                query.limit = Some(PAGE.into());
                query.cursor = cursor;
                $list(state, ctx, &query).await
            }
        }
    )*};
}

exported! {
    crate::services::contacts::Contact, crate::services::contacts::ContactQuery, "contacts", Some("contacts"), crate::services::contacts::list;
    crate::services::companies::Company, crate::services::companies::CompanyQuery, "companies", Some("companies"), crate::services::companies::list;
    crate::services::deals::Deal, crate::services::deals::DealQuery, "deals", Some("deals"), crate::services::deals::list;
    crate::services::tasks::Task, crate::services::tasks::TaskQuery, "tasks", None, crate::services::tasks::list;
    crate::services::leads::Lead, crate::services::leads::LeadQuery, "leads", Some("leads"), crate::services::leads::list;
    crate::services::properties::Property, crate::services::properties::PropertyQuery, "properties", Some("properties"), crate::services::properties::list;
}

/// The columns of an export: the API's field names, in the order of its
/// JSON (the schema's properties, which follow the record's declaration),
/// with `custom` replaced by one column per custom field, named by its
/// label (data.md, leads.md "Custom fields").
#[derive(Clone)]
pub struct Header {
    fields: Vec<String>,
    /// `(key, label)` of each custom field.
    custom: Vec<(String, String)>,
}

impl Header {
    /// The header row.
    pub fn names(&self) -> Vec<String> {
        let labels = self.custom.iter().map(|(_, label)| label.clone());
        self.fields.iter().cloned().chain(labels).collect()
    }
}

/// The columns of an export of `R` for `org`.
pub async fn header<R: Exported>(state: &App, org: uuid::Uuid) -> AppResult<Header> {
    let fields = fields::<R>();
    let custom = match R::CUSTOM {
        Some(object) => crate::services::custom_fields::of(state, org, object)
            .await?
            .into_iter()
            .map(|d| (d.key, d.label))
            .collect(),
        None => Vec::new(),
    };
    Ok(Header { fields, custom })
}

/// The API's fields of `R` but `custom`, in the order of its JSON.
pub fn fields<R: Exported>() -> Vec<String> {
    use utoipa::openapi::{RefOr, Schema};
    match R::schema() {
        RefOr::T(Schema::Object(object)) => object.properties.keys().filter(|k| *k != "custom").cloned().collect(),
        _ => Vec::new(),
    }
}

/// One record as a CSV row under `header`.
pub fn row<R: Exported>(header: &Header, record: &R) -> Vec<String> {
    let value = serde_json::to_value(record).unwrap_or(Value::Null);
    let fields = header.fields.iter().map(|field| cell(&value[field.as_str()]));
    let custom = header
        .custom
        .iter()
        .map(|(key, _)| cell(&value["custom"][key.as_str()]));
    fields.chain(custom).collect()
}

/// A value as a CSV cell: lists joined by `;`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(";"),
        Value::Object(_) => value.to_string(),
    }
}

/// CSV text of `rows` (the header first when given).
pub fn csv_text(header: Option<&[String]>, rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    if let Some(header) = header {
        let _ = out.write_record(header);
    }
    for row in rows {
        let _ = out.write_record(&row);
    }
    out.into_inner().unwrap_or_default()
}

/// Starts an export: reads the first page (so a bad filter is refused before
/// anything is sent) and records `data.exported` in the audit log.
pub async fn start<R: Exported>(state: &App, ctx: &OrgCtx, query: &R::Query) -> AppResult<Page<R>> {
    // Not used, but refused when the list would refuse it.
    crate::services::pagination::limit(R::limit(query))?;
    let first = R::page(state, ctx, query, None).await?;
    let event = Event::new("data.exported")
        .by(ctx)
        .details(serde_json::json!({ "type": R::PLURAL }));
    audit::record_alone(state, ctx.org_id, &event).await?;
    Ok(first)
}

/// The export's body after [`start`]: chunks of CSV, one per page, the
/// header first. A failure midway ends the stream with an error, so the
/// client sees a cut transfer rather than a short file that looks whole.
pub fn chunks<R: Exported>(
    state: App,
    ctx: OrgCtx,
    query: R::Query,
    header: Header,
    first: Page<R>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, AppError>> + Send + 'static {
    let chunk = csv_text(Some(&header.names()), first.data.iter().map(|r| row(&header, r)));
    let start = (Some(chunk), first.next_cursor, header);
    futures_util::stream::unfold(Some(start), move |step| {
        let (state, query) = (state.clone(), query.clone());
        async move {
            let (ready, cursor, header) = step?;
            if let Some(chunk) = ready {
                return Some((Ok(chunk), Some((None, cursor, header))));
            }
            let cursor = cursor?;
            match R::page(&state, &ctx, &query, Some(cursor)).await {
                Ok(page) => {
                    let chunk = csv_text(None, page.data.iter().map(|r| row(&header, r)));
                    Some((Ok(chunk), Some((None, page.next_cursor, header))))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

/// One line of an organization export: `{"type": …, "data": …}` with the
/// data as the API writes it (its field order kept), and, where the
/// database keeps more than the API shows, `"restore": …` with what a
/// restore needs of it (`crm import-org`; see services::restore).
fn line<T: Serialize>(kind: &str, data: &T, restore: Option<Value>) -> AppResult<Vec<u8>> {
    let mut out = format!("{{\"type\":\"{kind}\",\"data\":").into_bytes();
    serde_json::to_writer(&mut out, data).map_err(AppError::internal)?;
    if let Some(restore) = restore {
        out.extend_from_slice(b",\"restore\":");
        serde_json::to_writer(&mut out, &restore).map_err(AppError::internal)?;
    }
    out.extend_from_slice(b"}\n");
    Ok(out)
}

/// The lines of `items`, each with what `restore` says a restore needs.
fn lines<T: Serialize>(kind: &str, items: &[T], restore: impl Fn(&T) -> Option<Value>) -> AppResult<Vec<u8>> {
    let mut out = Vec::new();
    for item in items {
        out.extend(line(kind, item, restore(item))?);
    }
    Ok(out)
}

/// Nothing beyond the API's fields.
fn nothing<T>(_: &T) -> Option<Value> {
    None
}

/// Where an organization export is.
enum Section {
    Start,
    Records(usize, Option<String>),
    Activities(Option<(chrono::DateTime<chrono::Utc>, uuid::Uuid)>),
}

/// The record types of an organization export, in its order: each after
/// the types it refers to, so a restore reads the file once.
pub const RECORD_TYPES: [&str; 6] = ["company", "contact", "property", "deal", "task", "lead"];

/// One page of the `n`th record type of the export, as lines, and the
/// cursor of the next.
async fn record_lines(
    state: &App,
    ctx: &OrgCtx,
    n: usize,
    cursor: Option<String>,
) -> AppResult<(Vec<u8>, Option<String>)> {
    use crate::services::{companies, contacts, deals, leads, properties, tasks};
    async fn of<R: Exported>(
        state: &App,
        ctx: &OrgCtx,
        kind: &str,
        cursor: Option<String>,
        restore: impl Fn(&R) -> Option<Value>,
    ) -> AppResult<(Vec<u8>, Option<String>)> {
        let page = R::page(state, ctx, &R::Query::default(), cursor).await?;
        Ok((lines(kind, &page.data, restore)?, page.next_cursor))
    }
    let funnel = |deal: &deals::Deal| serde_json::to_value(deal.funnel()).ok();
    match n {
        0 => of::<companies::Company>(state, ctx, RECORD_TYPES[0], cursor, nothing).await,
        1 => of::<contacts::Contact>(state, ctx, RECORD_TYPES[1], cursor, nothing).await,
        2 => of::<properties::Property>(state, ctx, RECORD_TYPES[2], cursor, nothing).await,
        3 => of::<deals::Deal>(state, ctx, RECORD_TYPES[3], cursor, funnel).await,
        4 => of::<tasks::Task>(state, ctx, RECORD_TYPES[4], cursor, nothing).await,
        _ => of::<leads::Lead>(state, ctx, RECORD_TYPES[5], cursor, nothing).await,
    }
}

/// Starts a whole-organization export (admins and owners): checks the
/// caller and records `organization.exported`.
pub async fn start_organization(state: &App, ctx: &OrgCtx) -> AppResult<()> {
    ctx.require(crate::services::orgs::Role::Admin)?;
    audit::record_alone(state, ctx.org_id, &Event::new("organization.exported").by(ctx)).await?;
    Ok(())
}

/// The whole organization as JSON Lines (data.md "Export"): the
/// organization, its members (without password hashes), pipelines, every
/// record type, then activities, each `data` as the API returns it. Read and
/// written a page at a time.
pub fn organization(
    state: App,
    ctx: OrgCtx,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, AppError>> + Send + 'static {
    use crate::services::{activities, orgs, pipelines};
    futures_util::stream::unfold(Some(Section::Start), move |section| {
        let state = state.clone();
        async move {
            let chunk = match section? {
                Section::Start => {
                    async {
                        let settings = crate::services::restore::Settings::of(&state, ctx.org_id).await?;
                        let organization = orgs::organizations::current(&state, &ctx).await?;
                        let mut out = line("organization", &organization, serde_json::to_value(settings).ok())?;
                        for member in orgs::members::list(&state, &ctx).await? {
                            let account = crate::services::restore::Account::of(&state, member.user_id).await?;
                            out.extend(line("member", &member, serde_json::to_value(account).ok())?);
                        }
                        out.extend(lines("pipeline", &pipelines::list(&state, &ctx).await?, nothing)?);
                        let fields = crate::services::custom_fields::list(&state, &ctx, &Default::default()).await?;
                        out.extend(lines("custom_field", &fields, nothing)?);
                        Ok((out, Some(Section::Records(0, None))))
                    }
                    .await
                }
                Section::Records(n, cursor) => record_lines(&state, &ctx, n, cursor).await.map(|(out, next)| {
                    let section = match next {
                        Some(cursor) => Section::Records(n, Some(cursor)),
                        None if n + 1 < RECORD_TYPES.len() => Section::Records(n + 1, None),
                        None => Section::Activities(None),
                    };
                    (out, Some(section))
                }),
                Section::Activities(after) => {
                    async {
                        let page = activities::all(&state, ctx.org_id, after, 500).await?;
                        let next = (page.len() == 500)
                            .then(|| page.last().map(|a| (a.created_at, a.id)))
                            .flatten();
                        Ok((
                            lines("activity", &page, nothing)?,
                            next.map(|k| Section::Activities(Some(k))),
                        ))
                    }
                    .await
                }
            };
            Some(match chunk {
                Ok((out, next)) => (Ok(out), next),
                Err(e) => (Err(e), None),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_follows_the_apis_json_and_its_renames() {
        let contact = fields::<crate::services::contacts::Contact>();
        assert_eq!(&contact[..4], ["id", "owner_id", "name", "email"]);
        assert_eq!(contact.last().map(String::as_str), Some("version"));
        let deal = fields::<crate::services::deals::Deal>();
        assert!(deal.contains(&"amount".to_string()) && !deal.contains(&"amount_cents".to_string()));
        assert!(
            !deal.contains(&"furthest_position".to_string()),
            "skipped fields are not columns"
        );
    }

    #[test]
    fn cells_are_the_apis_values() {
        assert_eq!(cell(&serde_json::json!(["vip", "new"])), "vip;new");
        assert_eq!(cell(&serde_json::json!(null)), "");
        assert_eq!(cell(&serde_json::json!(true)), "true");
        assert_eq!(cell(&serde_json::json!("+14155550100")), "+14155550100");
        let text = csv_text(
            Some(&["a".into(), "b".into()]),
            [vec!["x, y".into(), "line\nbreak".into()]],
        );
        assert_eq!(String::from_utf8(text).unwrap(), "a,b\r\n\"x, y\",\"line\nbreak\"\r\n");
    }
}
