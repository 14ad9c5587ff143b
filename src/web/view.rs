//! What every page shares: the layout's data, rendering, error pages and the
//! formatting of money, dates and field errors.

use std::collections::HashMap;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::session::Web;
use crate::error::AppError;
pub use crate::format::{date, money};

tokio::task_local! {
    /// The time zone of whoever reads the page being made: set for each web
    /// request by the guard from the browser's `tz` cookie, then by the
    /// session from the user's own setting when they chose one. Pages show
    /// times in it and read typed times in it.
    static READER_ZONE: std::cell::Cell<chrono_tz::Tz>;
}

/// Runs `page` (a web request) with `zone` as the reader's time zone.
pub async fn in_reader_zone<F: std::future::Future>(zone: chrono_tz::Tz, page: F) -> F::Output {
    READER_ZONE.scope(std::cell::Cell::new(zone), page).await
}

/// The signed-in user's own time zone replaces the browser's.
pub fn set_reader_zone(zone: chrono_tz::Tz) {
    let _ = READER_ZONE.try_with(|z| z.set(zone));
}

/// The reader's time zone (UTC outside a web request).
pub fn reader_zone() -> chrono_tz::Tz {
    READER_ZONE.try_with(|z| z.get()).unwrap_or(chrono_tz::Tz::UTC)
}

/// A moment as `YYYY-MM-DD HH:MM` in the reader's time zone.
pub fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&reader_zone()).format("%Y-%m-%d %H:%M").to_string()
}

/// A moment as a `datetime-local` input's value (`YYYY-MM-DDTHH:MM`) in the
/// reader's time zone.
pub fn local_input(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&reader_zone()).format("%Y-%m-%dT%H:%M").to_string()
}

/// A `datetime-local` input's value, read in the reader's time zone, as RFC
/// 3339 (UTC) for the API; a moment that a clock change skips is read as the
/// first one after it. Anything else goes on as typed for the service to
/// name the field.
pub fn from_local_input(typed: &str) -> Option<String> {
    use chrono::TimeZone;
    let typed = filled(typed)?;
    let parsed = chrono::NaiveDateTime::parse_from_str(&typed, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&typed, "%Y-%m-%dT%H:%M:%S"));
    let Ok(naive) = parsed else { return Some(typed) };
    let zone = reader_zone();
    let local = zone.from_local_datetime(&naive).earliest().or_else(|| {
        zone.from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
    });
    Some(match local {
        Some(t) => t
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => typed,
    })
}

/// An error answered to the page's script (the board's moves, the pickers):
/// `{"code", "message"}` with the error's status; a server fault is logged.
pub fn script_error(e: &AppError) -> Response {
    if e.status.is_server_error() {
        tracing::error!(code = e.code, "a script's request failed");
    }
    (
        e.status,
        axum::Json(serde_json::json!({"code": e.code, "message": e.detail})),
    )
        .into_response()
}

/// An organization in the header's switcher.
pub struct OrgChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

/// The layout around every signed-in page.
pub struct Shell {
    pub title: String,
    /// Which main navigation entry is current.
    pub section: &'static str,
    pub user_name: String,
    pub user_id: String,
    pub org_name: String,
    pub orgs: Vec<OrgChoice>,
    pub csrf: String,
    /// Admins and owners see the settings link.
    pub is_admin: bool,
    /// The current settings page, for the settings pages' sub-navigation.
    pub tab: &'static str,
    /// "Saved." after a form that saved (the address says `saved=1`).
    pub saved: bool,
}

impl Shell {
    pub fn new(web: &Web, section: &'static str, title: impl Into<String>) -> Self {
        let orgs: Vec<OrgChoice> = web
            .organizations
            .iter()
            .map(|o| OrgChoice {
                id: o.id.to_string(),
                name: o.name.clone(),
                selected: o.id == web.ctx.org_id,
            })
            .collect();
        let org_name = orgs
            .iter()
            .find(|o| o.selected)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        Shell {
            title: title.into(),
            section,
            user_name: web.user.name.clone(),
            user_id: web.user.id.to_string(),
            org_name,
            orgs,
            csrf: web.csrf.clone(),
            is_admin: web.ctx.role >= crate::services::orgs::Role::Admin,
            tab: "",
            saved: Shell::says(web, "saved=1"),
        }
    }

    /// The page's address has `pair` (`password=set`) in its query.
    pub fn says(web: &Web, pair: &str) -> bool {
        web.here
            .split_once('?')
            .is_some_and(|(_, query)| query.split('&').any(|p| p == pair))
    }

    pub fn several_orgs(&self) -> bool {
        self.orgs.len() > 1
    }
}

/// Field errors of a form and the message about the whole action.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub fields: HashMap<String, String>,
    pub action: Option<String>,
    /// What was typed in fields the page does not otherwise fill back (a
    /// comment, a settings form shown beside stored values), by field name.
    pub kept: HashMap<String, String>,
    /// The record a duplicate collided with (the problem's `existing_id`).
    pub existing: Option<String>,
}

impl FormErrors {
    /// Splits an API error the way the API reports it: field errors next to
    /// their fields, anything else above the form.
    pub fn from_api(e: &AppError) -> Self {
        let mut fields = HashMap::new();
        for f in &e.errors {
            fields.entry(f.field.clone()).or_insert_with(|| f.message.clone());
        }
        // A conflict that names its field (a duplicate email) is shown there.
        if let Some(field) = e.extra.get("field").and_then(|f| f.as_str())
            && fields.is_empty()
        {
            fields.insert(field.to_string(), e.detail.to_string());
        }
        let action = if fields.is_empty() {
            Some(e.detail.to_string())
        } else {
            Some("Please correct the fields marked below.".to_string())
        };
        FormErrors {
            fields,
            action,
            kept: HashMap::new(),
            existing: e
                .extra
                .get("existing_id")
                .and_then(|id| id.as_str())
                .map(str::to_string),
        }
    }

    /// Keeps `typed` as the value of `field` for the page shown again.
    pub fn keep(mut self, field: &str, typed: &str) -> Self {
        self.kept.insert(field.to_string(), typed.to_string());
        self
    }

    /// What was typed in `field`, empty when nothing was kept.
    pub fn kept(&self, field: &str) -> &str {
        self.kept.get(field).map_or("", String::as_str)
    }

    /// The field errors renamed `prefix` + field, for a form whose fields
    /// are named so on a page with another form (`task_title` beside a
    /// deal's `title`).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.fields = self
            .fields
            .into_iter()
            .map(|(f, m)| (format!("{prefix}{f}"), m))
            .collect();
        self
    }

    /// The errors of `field` and of its parts (`stages`, `stages[1].key`), as
    /// `(field, message)` sorted by field.
    pub fn about(&self, field: &str) -> Vec<(&str, &str)> {
        let mut found: Vec<(&str, &str)> = self
            .fields
            .iter()
            .filter(|(f, _)| {
                f.as_str() == field || f.starts_with(&format!("{field}[")) || f.starts_with(&format!("{field}."))
            })
            .map(|(f, m)| (f.as_str(), m.as_str()))
            .collect();
        found.sort();
        found
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }
}

/// Renders a template into a page (a template that fails to render is a
/// server fault, logged through the error page).
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => error_page(&AppError::internal(anyhow::anyhow!("template: {e}"))),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A page for an error of the API's kind, with its status.
pub fn error_page(e: &AppError) -> Response {
    if e.status.is_server_error() {
        tracing::error!(code = e.code, detail = %e.detail, "web request failed");
    }
    let message = match e.status {
        StatusCode::NOT_FOUND => "This page does not exist, or it is not shared with you.",
        _ => &e.detail,
    };
    plain_error(e.status, message)
}

pub fn plain_error(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    match (ErrorPage { title, message }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_string()).into_response(),
    }
}

/// A form field as the services take it: trimmed, and `None` when empty.
/// An optional text as shown: empty when absent.
pub fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

pub use crate::services::records::fields::filled;

/// Redirect target after sign-in: only a path of this site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// Links of a list page that keep its filters: sort columns, next and
/// previous page, CSV export. Keyset pages go back through `trail`, the
/// cursors of the pages before (so "previous" needs no offset).
pub struct ListUrls {
    base: &'static str,
    /// The filters, without `cursor` and `trail`.
    filters: Vec<(String, String)>,
    pub sort: String,
    cursor: Option<String>,
    trail: Vec<String>,
}

impl ListUrls {
    pub fn new(base: &'static str, pairs: &[(String, String)], default_sort: &str) -> Self {
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        ListUrls {
            base,
            filters: pairs
                .iter()
                .filter(|(k, v)| k != "cursor" && k != "trail" && k != "_csrf" && k != "done" && !v.is_empty())
                .cloned()
                .collect(),
            sort: get("sort")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| default_sort.to_string()),
            cursor: get("cursor").filter(|c| !c.is_empty()),
            trail: get("trail")
                .map(|t| t.split('~').filter(|c| !c.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
        }
    }

    fn href(&self, base: &str, filters: &[(String, String)]) -> String {
        let query = serde_html_form::to_string(filters).unwrap_or_default();
        if query.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{query}")
        }
    }

    /// The value of a filter, for the filter form.
    pub fn value(&self, key: &str) -> &str {
        self.filters
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a repeatable filter (`tag`), comma separated.
    pub fn joined(&self, key: &str) -> String {
        self.filters
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// This list sorted by `field`; the current sort column flips direction.
    pub fn sort_by(&self, field: &str) -> String {
        let next = if self.sort == field {
            format!("-{field}")
        } else {
            field.to_string()
        };
        let mut filters: Vec<_> = self.filters.iter().filter(|(k, _)| k != "sort").cloned().collect();
        filters.push(("sort".into(), next));
        self.href(self.base, &filters)
    }

    /// `ascending`, `descending` or `none`, for `aria-sort`.
    pub fn sorted(&self, field: &str) -> &'static str {
        if self.sort == field {
            "ascending"
        } else if self.sort.strip_prefix('-') == Some(field) {
            "descending"
        } else {
            "none"
        }
    }

    pub fn next(&self, next_cursor: &Option<String>) -> Option<String> {
        let cursor = next_cursor.as_ref()?;
        let mut filters = self.filters.clone();
        let mut trail = self.trail.clone();
        trail.push(self.cursor.clone().unwrap_or_default());
        filters.push(("cursor".into(), cursor.clone()));
        filters.push(("trail".into(), trail.join("~")));
        Some(self.href(self.base, &filters))
    }

    pub fn previous(&self) -> Option<String> {
        self.cursor.as_ref()?;
        let mut filters = self.filters.clone();
        let mut trail = self.trail.clone();
        if let Some(cursor) = trail.pop().filter(|c| !c.is_empty()) {
            filters.push(("cursor".into(), cursor));
            if !trail.is_empty() {
                filters.push(("trail".into(), trail.join("~")));
            }
        }
        Some(self.href(self.base, &filters))
    }

    pub fn csv(&self) -> String {
        self.href(&format!("{}.csv", self.base), &self.filters)
    }

    /// The same export for Excel (with a byte order mark).
    pub fn csv_for_excel(&self) -> String {
        let mut filters = self.filters.clone();
        filters.push(("bom".into(), "1".into()));
        self.href(&format!("{}.csv", self.base), &filters)
    }
}

/// A record offered in a select (a member, a contact, a company): its id and
/// the name shown.
#[derive(Clone)]
pub struct Choice {
    pub id: String,
    pub name: String,
}

impl Choice {
    pub fn new(id: uuid::Uuid, name: String) -> Self {
        Choice {
            id: id.to_string(),
            name,
        }
    }
}

/// The records a select offers: the chosen one first (when the caller may
/// read it), then the newest, each once.
pub fn with_chosen(chosen: Option<Choice>, newest: impl IntoIterator<Item = Choice>) -> Vec<Choice> {
    let mut choices: Vec<Choice> = chosen.into_iter().collect();
    for c in newest {
        if !choices.iter().any(|x| x.id == c.id) {
            choices.push(c);
        }
    }
    choices
}

/// The organization's members, A–Z (the owner selects and filters).
pub async fn members(state: &crate::app::App, org: uuid::Uuid) -> crate::error::AppResult<Vec<Choice>> {
    let mut conn = state.db.read().await?;
    let mut members: Vec<Choice> = crate::services::orgs::queries::list_members(conn.exec(), org)
        .await?
        .into_iter()
        .map(|m| Choice::new(m.user_id, m.name))
        .collect();
    members.sort_by_cached_key(|m| m.name.to_lowercase());
    Ok(members)
}

pub fn member_name(members: &[Choice], id: &uuid::Uuid) -> String {
    let id = id.to_string();
    members
        .iter()
        .find(|m| m.id == id)
        .map_or_else(|| "—".to_string(), |m| m.name.clone())
}

/// A CSV download of `rows` (a header row first).
/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or
/// a carriage return first) gets a `'` in front, which makes it text (OWASP
/// "CSV injection"): `=HYPERLINK(…)` typed as a name stays a name.
pub fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// A CSV file of `rows` (the first is the header). `bom`: a UTF-8 byte
/// order mark first, which Excel needs to read the file as UTF-8.
pub fn csv_response(filename: &str, rows: Vec<Vec<String>>, bom: bool) -> Response {
    let start = if bom {
        "\u{feff}".as_bytes().to_vec()
    } else {
        Vec::new()
    };
    let mut writer = csv::Writer::from_writer(start);
    for (i, row) in rows.iter().enumerate() {
        // The header row is ours; every other cell is data.
        let written = if i == 0 {
            writer.write_record(row)
        } else {
            writer.write_record(row.iter().map(|cell| csv_cell(cell).into_owned()))
        };
        if written.is_err() {
            return plain_error(StatusCode::INTERNAL_SERVER_ERROR, "The export failed.");
        }
    }
    let body = writer.into_inner().unwrap_or_default();
    (
        StatusCode::OK,
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// What every list page shows around its rows: filters and links, the
/// members (owner filter and names), the rows, and a refused filter's message.
pub struct ListParts<R> {
    pub urls: ListUrls,
    pub members: Vec<Choice>,
    pub rows: Vec<R>,
    /// How many match, when the first page tells it for free: the count when
    /// it holds them all, `100+` when another page follows; empty on later
    /// pages (counting a million rows is not cheap).
    pub count: String,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub error: Option<String>,
}

/// Reads one page through `fetch` (a list service) and shapes it with `row`.
/// A filter the service refuses becomes the page's message, not an error page.
pub async fn list_parts<T, R>(
    state: &crate::app::App,
    org: uuid::Uuid,
    urls: ListUrls,
    fetch: impl Future<Output = crate::error::AppResult<crate::services::pagination::Page<T>>>,
    row: impl Fn(&T, &[Choice]) -> R,
) -> Result<ListParts<R>, Response> {
    let members = members(state, org).await.map_err(|e| error_page(&e))?;
    let (rows, next, error) = match fetch.await {
        Ok(page) => (
            page.data.iter().map(|t| row(t, &members)).collect(),
            urls.next(&page.next_cursor),
            None,
        ),
        Err(e) if e.status.is_client_error() => (Vec::new(), None, Some(error_text(&e))),
        Err(e) => return Err(error_page(&e)),
    };
    let previous = urls.previous();
    let count = match (&previous, &next) {
        (Some(_), _) => String::new(),
        (None, Some(_)) => format!("{}+", rows.len()),
        (None, None) => rows.len().to_string(),
    };
    Ok(ListParts {
        urls,
        members,
        rows,
        count,
        next,
        previous,
        error,
    })
}

/// A refused filter in words (`owner_id: must be a UUID`).
pub fn error_text(e: &AppError) -> String {
    if e.errors.is_empty() {
        e.detail.to_string()
    } else {
        e.errors
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// An export stops after this many rows (a larger one is a job for the API).
pub const EXPORT_MAX_ROWS: usize = 100_000;

/// Every row of a filter as CSV: pages through `fetch` (a list service called
/// with each next cursor) and writes `row` of each record after `header`.
pub async fn export_csv<T, Fut>(
    filename: &str,
    header: &[&str],
    bom: bool,
    mut fetch: impl FnMut(Option<String>) -> Fut,
    row: impl Fn(&T) -> Vec<String>,
) -> Response
where
    Fut: Future<Output = crate::error::AppResult<crate::services::pagination::Page<T>>>,
{
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    let mut cursor = None;
    loop {
        let page = match fetch(cursor).await {
            Ok(page) => page,
            Err(e) => return error_page(&e),
        };
        rows.extend(page.data.iter().map(&row));
        match page.next_cursor {
            Some(next) if rows.len() <= EXPORT_MAX_ROWS => cursor = Some(next),
            _ => break,
        }
    }
    csv_response(filename, rows, bom)
}

/// One custom field as a form input (`templates/custom_fields.html`).
pub struct CustomInputView {
    /// `custom.<key>`: the field's name in the form and in errors.
    pub name: String,
    pub label: String,
    /// The input's type; a select when `options` is not empty.
    pub kind: &'static str,
    /// `(value, label)` of a select's choices.
    pub options: Vec<(String, String)>,
    pub value: String,
    /// What a multi-select typed as text takes.
    pub hint: String,
}

/// The organization's custom fields of `object` as inputs holding `text`'s values.
pub async fn custom_inputs(
    state: &crate::app::App,
    org: uuid::Uuid,
    object: &str,
    text: &crate::services::custom_fields::CustomText,
) -> crate::error::AppResult<Vec<CustomInputView>> {
    let defs = crate::services::custom_fields::of(state, org, object).await?;
    Ok(defs
        .into_iter()
        .map(|d| {
            let choices = |options: &[String]| options.iter().map(|o| (o.clone(), o.clone())).collect();
            let (kind, options) = match d.kind.as_str() {
                "number" | "date" | "url" | "email" => (custom_input_type(&d.kind), Vec::new()),
                "boolean" => (
                    "select",
                    vec![("true".into(), "Yes".into()), ("false".into(), "No".into())],
                ),
                "select" => ("select", choices(&d.options.0)),
                _ => ("text", Vec::new()),
            };
            CustomInputView {
                value: text.get(&d.key).to_string(),
                name: format!("custom.{}", d.key),
                hint: match d.kind.as_str() {
                    "multi_select" => format!("Comma separated: {}", d.options.0.join(", ")),
                    _ => String::new(),
                },
                label: if d.required {
                    format!("{} (required)", d.label)
                } else {
                    d.label
                },
                kind,
                options,
            }
        })
        .collect())
}

/// The HTML input type of a custom field type that has one of its own.
fn custom_input_type(kind: &str) -> &'static str {
    match kind {
        "number" => "number",
        "date" => "date",
        "url" => "url",
        "email" => "email",
        _ => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_exported_as_text() {
        assert_eq!(csv_cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        for risky in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_cell(risky), format!("'{risky}"));
        }
        assert_eq!(csv_cell("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/deals?x=1")), "/deals?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
