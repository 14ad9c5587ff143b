//! The web side of the record shape, written once: a record type's list page
//! (100 rows, filters and sort in the URL, next-page link), its CSV export of
//! every row of the current filter, its create page, its record page with
//! the edit form and the comment box. A type declares its pages in one
//! [`Listed`] and one [`Edited`] impl in its own module.

use std::future::Future;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::de::DeserializeOwned;

use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::session::Web;
use super::view::{self, Choice, FormErrors, ListParts, ListUrls, Shell};
use super::{Form, ListQuery, see_other};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::http::extract::IdPath;
use crate::services::activities::CommentInput;
use crate::services::companies::{Company, CompanyQuery};
use crate::services::contacts::{Contact, ContactQuery};
use crate::services::deals::DealQuery;
use crate::services::idempotency::Idempotency;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::{MAX_LIMIT, Page};
use crate::services::records::fields::Text;
use crate::services::records::{self, IfMatch, OnTimeline, Record};

/// Rows per list page.
pub const PAGE_SIZE: &str = "100";

/// The query of a list: its filters, and where a page starts.
pub trait ListParams: Clone + DeserializeOwned + Send + Sync + 'static {
    /// The same filters, for one page of `limit` rows from `cursor`.
    fn page(&self, limit: &str, cursor: Option<String>) -> Self;
    /// The same filters and cursor, `limit` rows.
    fn limited(&self, limit: &str) -> Self;
    /// The same, with the `custom.<key>` filters of the address's `pairs`.
    fn with_custom(self, pairs: &[(String, String)]) -> Self;
}

/// [`ListParams`] of list queries with `limit` and `cursor` fields.
macro_rules! list_params {
    ($($query:ty),* $(,)?) => {$(
        impl ListParams for $query {
            fn page(&self, limit: &str, cursor: Option<String>) -> Self {
                Self { limit: Some(limit.to_string()), cursor, ..self.clone() }
            }
            fn limited(&self, limit: &str) -> Self {
                Self { limit: Some(limit.to_string()), ..self.clone() }
            }
            fn with_custom(self, pairs: &[(String, String)]) -> Self {
                Self { custom: crate::services::custom_fields::values::raw_filters(pairs), ..self }
            }
        }
    )*};
}

list_params!(
    ContactQuery,
    CompanyQuery,
    DealQuery,
    crate::services::leads::LeadQuery,
    crate::services::properties::PropertyQuery
);

/// A filter of a list page besides the search, owner and tag ones: a text
/// field, or a select of `options`.
pub struct Filter {
    pub name: &'static str,
    pub label: &'static str,
    pub options: &'static [&'static str],
}

/// A column of a list page and of its CSV export, in the order of both.
pub struct Column<R> {
    /// The table's header; empty for a column only the export has.
    header: &'static str,
    /// The export's header; empty for a column only the table has.
    csv: &'static str,
    /// The sort field its header toggles.
    sort: Option<&'static str>,
    class: &'static str,
    /// The cell links to the record page.
    link: bool,
    /// The cell is a status badge.
    badge: bool,
    /// A second line of the cell shown only on a phone's width, for a
    /// column folded away there (a contact's email under the name).
    fold: Option<fn(&R, &Cells) -> String>,
    show: fn(&R, &Cells) -> String,
    export: fn(&R, &Cells) -> String,
}

impl<R: Record> Column<R> {
    /// A column of the table and the export, with the same text in both.
    pub fn new(header: &'static str, csv: &'static str, value: fn(&R, &Cells) -> String) -> Self {
        Column {
            header,
            csv,
            sort: None,
            class: "",
            link: false,
            badge: false,
            fold: None,
            show: value,
            export: value,
        }
    }
    /// A column only the export has.
    pub fn export_only(csv: &'static str, value: fn(&R, &Cells) -> String) -> Self {
        Self::new("", csv, value)
    }
    pub fn sorted_by(self, field: &'static str) -> Self {
        Column {
            sort: Some(field),
            ..self
        }
    }
    pub fn class(self, class: &'static str) -> Self {
        Column { class, ..self }
    }
    pub fn link(self) -> Self {
        Column { link: true, ..self }
    }
    pub fn badge(self) -> Self {
        Column { badge: true, ..self }
    }
    /// On a phone's width the cell also shows `fold` on a second line.
    pub fn folding(self, fold: fn(&R, &Cells) -> String) -> Self {
        Column {
            fold: Some(fold),
            ..self
        }
    }
    /// The table shows `show` where the export writes the column's value.
    pub fn shown_as(self, show: fn(&R, &Cells) -> String) -> Self {
        Column { show, ..self }
    }

    /// The columns every record type has.
    pub fn id() -> Self {
        Self::export_only("id", |r, _| r.id().to_string())
    }
    pub fn owner() -> Self {
        Self::new("Owner", "owner", |r, c| view::member_name(c.members, &r.owner_id())).class("hide-narrow")
    }
    pub fn tags() -> Self {
        Self::new("Tags", "tags", |r, _| r.tags().join(", ")).class("hide-narrow")
    }
    pub fn created() -> Self {
        Self::new("Created", "created_at", |r, _| r.created_at().to_rfc3339())
            .shown_as(|r, _| view::time(&r.created_at()))
            .sorted_by("created_at")
    }
}

/// What a record page's head and footer show of the record.
pub struct Head {
    pub id: String,
    /// The record page's address (`/contacts/<id>`).
    pub path: String,
    pub noun: &'static str,
    pub name: String,
    pub owner: String,
    pub created: String,
    /// Whether the caller may delete it (the API's rule: managers and
    /// above, members what they own).
    pub may_delete: bool,
}

impl Head {
    pub fn of<R: Listed>(record: &R, name: &str, members: &[Choice], ctx: &OrgCtx) -> Head {
        Head {
            id: record.id().to_string(),
            path: format!("{}/{}", R::PATH, record.id()),
            noun: R::NOUN,
            name: name.to_string(),
            owner: view::member_name(members, &record.owner_id()),
            created: view::time(&record.created_at()),
            may_delete: record.ensure_may_change(ctx).is_ok(),
        }
    }
}

/// What a cell may name besides the record's own fields: members, and the
/// company and contact the record refers to ([`Listed::refers_to`]).
pub struct Cells<'a> {
    pub members: &'a [Choice],
    pub company: &'a str,
    pub contact: &'a str,
}

/// The company and the contact a record refers to.
type Refs = (Option<Uuid>, Option<Uuid>);

/// A listed record with the names of what it refers to.
pub struct Named<R> {
    record: R,
    company: String,
    contact: String,
}

/// One page of the list with the names its cells show, read in two
/// statements (companies, contacts) for the whole page.
async fn named_page<R: Listed>(state: &App, ctx: &OrgCtx, params: &R::Params) -> AppResult<Page<Named<R>>> {
    let page = R::list(state, ctx, params).await?;
    let refs: Vec<Refs> = page.data.iter().map(Listed::refers_to).collect();
    let ids = |pick: fn(&Refs) -> Option<Uuid>| super::related::distinct(refs.iter().filter_map(pick));
    let (companies, contacts) = {
        let mut conn = state.db.read().await?;
        let companies = records::names::<Company>(conn.exec(), ctx.org_id, "name", &ids(|r| r.0)).await?;
        let contacts = records::names::<Contact>(conn.exec(), ctx.org_id, "name", &ids(|r| r.1)).await?;
        (companies, contacts)
    };
    let name = super::related::name_of;
    let data = page
        .data
        .into_iter()
        .zip(refs)
        .map(|(record, (company, contact))| Named {
            record,
            company: name(&companies, company),
            contact: name(&contacts, contact),
        })
        .collect();
    Ok(Page {
        data,
        next_cursor: page.next_cursor,
    })
}

impl<R> Named<R> {
    fn cells<'a>(&'a self, members: &'a [Choice]) -> Cells<'a> {
        Cells {
            members,
            company: &self.company,
            contact: &self.contact,
        }
    }
}

/// What a record type's list page and export are made of.
pub trait Listed: Record {
    type Params: ListParams;
    /// The list's path (`/contacts`, also the navigation tab and the words
    /// of "No contacts match."); the export is at `<PATH>.csv`.
    const PATH: &'static str;
    /// The page title (`Contacts`) and the record's name (`contact`).
    const TITLE: &'static str;
    const NOUN: &'static str;
    /// What the search box finds by.
    const SEARCH_HINT: &'static str;
    const DEFAULT_SORT: &'static str = "-created_at";
    /// Links of the page head besides export and create.
    const ACTIONS: &'static [(&'static str, &'static str)] = &[];
    const FILTERS: &'static [Filter] = &[];
    /// The saved views' `object` of the list.
    const VIEWS: &'static str;
    /// Rows have checkboxes for bulk actions (`<PATH>/bulk`).
    const BULK: bool = false;

    /// The service's list (the API's list too).
    fn list(state: &App, ctx: &OrgCtx, params: &Self::Params) -> impl Future<Output = AppResult<Page<Self>>> + Send;
    /// The columns of the table and the export.
    fn list_columns() -> Vec<Column<Self>>;
    /// The company and the contact the record refers to, named in its cells.
    fn refers_to(&self) -> Refs {
        (None, None)
    }

    /// A column of the table and the export ([`Column::new`]).
    fn column(header: &'static str, csv: &'static str, value: fn(&Self, &Cells) -> String) -> Column<Self> {
        Column::new(header, csv, value)
    }
    /// A column only the export has.
    fn export_column(csv: &'static str, value: fn(&Self, &Cells) -> String) -> Column<Self> {
        Column::export_only(csv, value)
    }
}

/// What a list page knows of its type.
struct Kind {
    title: &'static str,
    path: &'static str,
    plural: &'static str,
    noun: &'static str,
    search_hint: &'static str,
    actions: &'static [(&'static str, &'static str)],
    filters: &'static [Filter],
}

struct Header {
    label: &'static str,
    sort: Option<&'static str>,
    class: &'static str,
}

struct CellView {
    text: String,
    fold: String,
    class: &'static str,
    link: bool,
    badge: bool,
}

struct RowView {
    id: Uuid,
    cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "records.html")]
struct ListPage {
    shell: Shell,
    kind: Kind,
    headers: Vec<Header>,
    list: ListParts<RowView>,
    /// Managers and above import files (`/imports`).
    can_import: bool,
    /// The organization's custom fields of the type, as filters.
    custom_filters: Vec<CustomFilterView>,
    /// Saved views as tabs above the list.
    views: super::views::Tabs,
    /// What the last bulk action did (`?done=`), in words.
    done: Option<String>,
    /// The bulk actions form, for a type that has them.
    bulk: Option<BulkBar>,
}

/// The bulk actions form above a list (`templates/bulk_form.html`).
pub struct BulkBar {
    pub path: &'static str,
    pub noun: &'static str,
    pub members: Vec<Choice>,
}

/// A filter on a custom field: a text input, or a select of `options`.
struct CustomFilterView {
    /// The list's parameter: `custom.<key>`, `custom.<key>_min`, `custom.<key>_max`.
    name: String,
    label: String,
    kind: &'static str,
    options: Vec<(String, String)>,
}

/// The filters of custom fields: equality for texts and choices, a range
/// (from, to) for numbers and dates.
fn custom_filters(defs: &[crate::services::custom_fields::CustomField]) -> Vec<CustomFilterView> {
    let mut out = Vec::new();
    for d in defs {
        let name = format!("custom.{}", d.key);
        let one = |kind, options| CustomFilterView {
            name: name.clone(),
            label: d.label.clone(),
            kind,
            options,
        };
        match d.kind.as_str() {
            "number" | "date" => {
                let kind = if d.kind == "date" { "date" } else { "number" };
                for (suffix, words) in [("_min", "from"), ("_max", "to")] {
                    out.push(CustomFilterView {
                        name: format!("{name}{suffix}"),
                        label: format!("{} {words}", d.label),
                        kind,
                        options: Vec::new(),
                    });
                }
            }
            "boolean" => out.push(one(
                "select",
                vec![("true".into(), "Yes".into()), ("false".into(), "No".into())],
            )),
            "select" | "multi_select" => out.push(one(
                "select",
                d.options.0.iter().map(|o| (o.clone(), o.clone())).collect(),
            )),
            _ => out.push(one("text", Vec::new())),
        }
    }
    out
}

/// `GET <PATH>`: one page of the list.
pub async fn list<R: Listed>(
    State(state): State<App>,
    web: Web,
    ListQuery(params, pairs): ListQuery<R::Params>,
) -> Response {
    let params = params.limited(PAGE_SIZE).with_custom(&pairs);
    let custom_filters = match R::CUSTOM {
        Some(object) => match crate::services::custom_fields::of(&state, web.ctx.org_id, object).await {
            Ok(defs) => custom_filters(&defs),
            Err(e) => return view::error_page(&e),
        },
        None => Vec::new(),
    };
    let plural = &R::PATH[1..];
    let views = match super::views::tabs(&state, &web, R::VIEWS, R::PATH, &pairs).await {
        Ok(views) => views,
        Err(e) => return view::error_page(&e),
    };
    let urls = ListUrls::new(R::PATH, &pairs, R::DEFAULT_SORT);
    let columns: Vec<Column<R>> = R::list_columns().into_iter().filter(|c| !c.header.is_empty()).collect();
    let row = |r: &Named<R>, members: &[Choice]| {
        let cells = r.cells(members);
        RowView {
            id: r.record.id(),
            cells: columns
                .iter()
                .map(|c| CellView {
                    text: (c.show)(&r.record, &cells),
                    fold: c.fold.map(|f| f(&r.record, &cells)).unwrap_or_default(),
                    class: c.class,
                    link: c.link,
                    badge: c.badge,
                })
                .collect(),
        }
    };
    let fetch = named_page::<R>(&state, &web.ctx, &params);
    let list = match view::list_parts(&state, web.ctx.org_id, urls, fetch, row).await {
        Ok(list) => list,
        Err(page) => return page,
    };
    let bulk = match R::BULK {
        true => match view::members(&state, web.ctx.org_id).await {
            Ok(members) => Some(BulkBar {
                path: R::PATH,
                noun: R::NOUN,
                members,
            }),
            Err(e) => return view::error_page(&e),
        },
        false => None,
    };
    let page = ListPage {
        views,
        done: bulk_done(&pairs),
        bulk,
        can_import: web.ctx.role >= crate::services::orgs::Role::Manager,
        shell: Shell::new(&web, plural, R::TITLE),
        kind: Kind {
            title: R::TITLE,
            path: R::PATH,
            plural,
            noun: R::NOUN,
            search_hint: R::SEARCH_HINT,
            actions: R::ACTIONS,
            filters: R::FILTERS,
        },
        custom_filters,
        headers: columns
            .iter()
            .map(|c| Header {
                label: c.header,
                sort: c.sort,
                class: c.class,
            })
            .collect(),
        list,
    };
    view::render(StatusCode::OK, &page)
}

/// The bulk form of a list page: the checked rows (or, `scope=all`, every
/// record the list's `query` lists) and the action.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BulkForm {
    ids: Vec<String>,
    scope: String,
    query: String,
    action: String,
    tags: String,
    owner_id: String,
}

/// `POST <PATH>/bulk`: runs the action and goes back to the list with
/// what it did (`done=<changed>.<matched>.<forbidden>`).
pub async fn bulk<R>(State(state): State<App>, web: Web, Form(form): Form<BulkForm>) -> Response
where
    R: crate::services::records::bulk::Bulk,
    R::Patch: DeserializeOwned,
{
    let path = super::views::list_of(R::KIND);
    use crate::services::records::bulk::{self, BulkInput};
    let all = form.scope == "all";
    let input = BulkInput {
        ids: (!all).then(|| form.ids.clone()),
        query: all.then(|| form.query.clone()),
        action: form.action.clone(),
        tags: Some(crate::services::records::fields::tag_list(&form.tags)),
        owner_id: view::filled(&form.owner_id),
    };
    let back = |extra: &str| {
        let query = crate::services::records::bulk::list_query(&form.query);
        let sep = if query.is_empty() { "" } else { "&" };
        format!("{path}?{query}{sep}{extra}")
    };
    match bulk::run::<R>(&state, &web.ctx, input).await {
        Ok(r) => see_other(&back(&format!("done={}.{}.{}", r.changed, r.matched, r.forbidden))),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let reason = e
                .errors
                .first()
                .map_or_else(|| e.detail.to_string(), |f| f.message.clone());
            let field = e.errors.first().map(|f| f.field.clone()).unwrap_or_default();
            see_other(&back(
                &serde_html_form::to_string([("done", format!("error.{field} {reason}"))]).unwrap_or_default(),
            ))
        }
        Err(e) => view::error_page(&e),
    }
}

/// What the last bulk action did, from the list's address (`done=`).
pub fn bulk_done(pairs: &[(String, String)]) -> Option<String> {
    pairs.iter().find(|(k, _)| k == "done").map(|(_, v)| bulk_words(v))
}

/// A bulk action's outcome (`done=`) in words.
fn bulk_words(done: &str) -> String {
    if let Some(error) = done.strip_prefix("error.") {
        return format!("Nothing was changed: {}", error.trim());
    }
    let n: Vec<usize> = done.split('.').filter_map(|n| n.parse().ok()).collect();
    match n.as_slice() {
        [changed, matched, forbidden] => {
            let mut words = format!("{changed} of {matched} changed");
            if *forbidden > 0 {
                words.push_str(&format!("; {forbidden} not allowed"));
            }
            words
        }
        _ => String::new(),
    }
}

/// `GET <PATH>.csv`: every row of the current filter.
pub async fn export<R: Listed>(
    State(state): State<App>,
    web: Web,
    ListQuery(params, pairs): ListQuery<R::Params>,
) -> Response {
    let params = params.with_custom(&pairs);
    let members = match view::members(&state, web.ctx.org_id).await {
        Ok(m) => m,
        Err(e) => return view::error_page(&e),
    };
    let filename = format!("{}.csv", &R::PATH[1..]);
    let columns: Vec<Column<R>> = R::list_columns().into_iter().filter(|c| !c.csv.is_empty()).collect();
    // Custom fields after the type's columns, named by their labels.
    let custom = match R::CUSTOM {
        Some(object) => match crate::services::custom_fields::of(&state, web.ctx.org_id, object).await {
            Ok(defs) => defs,
            Err(e) => return view::error_page(&e),
        },
        None => Vec::new(),
    };
    let header: Vec<&str> = columns
        .iter()
        .map(|c| c.csv)
        .chain(custom.iter().map(|d| d.label.as_str()))
        .collect();
    let (state, ctx, base) = (&state, &web.ctx, &params);
    let limit = MAX_LIMIT.to_string();
    // `?bom=1`: for Excel, which reads a file without it as Windows-1252.
    let bom = pairs.iter().any(|(k, v)| k == "bom" && v == "1");
    view::export_csv(
        &filename,
        &header,
        bom,
        |cursor| {
            let params = base.page(&limit, cursor);
            async move { named_page::<R>(state, ctx, &params).await }
        },
        |r: &Named<R>| {
            let values = r.record.custom();
            let custom = custom.iter().map(|d| {
                let value = values.and_then(|v| v.get(&d.key)).unwrap_or(&serde_json::Value::Null);
                crate::services::export::cell(value)
            });
            columns
                .iter()
                .map(|c| (c.export)(&r.record, &r.cells(&members)))
                .chain(custom)
                .collect()
        },
    )
    .await
}

/// What a record type's form pages are made of: the create page and the
/// record page with its edit form (and, for types with a timeline, its
/// comment box). The handlers below are written once.
pub trait Edited: Listed {
    /// The form's fields, as typed, and the create input they describe
    /// (or the field error the API would give for what it cannot read).
    type Form: Text<Input = Self::Input, Patch = Self::Patch> + DeserializeOwned + Default + Send + Sync + 'static;
    /// The create page with `form` and its errors.
    type NewPage: Template + Send;
    /// The record page with its edit form.
    type RecordPage: Template + Send;
    fn new_page(
        state: &App,
        web: &Web,
        form: Self::Form,
        errors: FormErrors,
    ) -> impl Future<Output = AppResult<Self::NewPage>> + Send;
    /// The record page, with `form` as typed (or the record's values) and
    /// its errors.
    fn record_page(
        state: &App,
        web: &Web,
        id: Uuid,
        form: Option<Self::Form>,
        errors: FormErrors,
    ) -> impl Future<Output = AppResult<Self::RecordPage>> + Send;
}

/// The create page of `R`, answered with `status`.
async fn render_new<R: Edited>(
    state: &App,
    web: &Web,
    form: R::Form,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    match R::new_page(state, web, form, errors).await {
        Ok(page) => view::render(status, &page),
        Err(e) => view::error_page(&e),
    }
}

/// The record page of `R`, answered with `status`.
async fn render_record<R: Edited>(
    state: &App,
    web: &Web,
    id: Uuid,
    form: Option<R::Form>,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    match R::record_page(state, web, id, form, errors).await {
        Ok(page) => view::render(status, &page),
        Err(e) => view::error_page(&e),
    }
}

/// `GET <PATH>/new`.
pub async fn new_page<R: Edited>(
    State(state): State<App>,
    web: Web,
    ListQuery(address, _): ListQuery<Vec<(String, String)>>,
) -> Response {
    // The caller as the owner, and what the address names
    // (`/deals/new?contact_id=…`, `/contacts/new?company_id=…`).
    let mut fields: Vec<(String, String)> = address.into_iter().filter(|(k, _)| k != "owner_id").collect();
    fields.push(("owner_id".into(), web.ctx.user_id.to_string()));
    let form = serde_html_form::to_string(&fields)
        .ok()
        .and_then(|text| serde_html_form::from_str::<R::Form>(&text).ok())
        .unwrap_or_default();
    render_new::<R>(&state, &web, form, FormErrors::default(), StatusCode::OK).await
}

/// `POST <PATH>`: creates the record and shows it, or shows the form again
/// with what was typed and the errors next to their fields.
pub async fn create<R: Edited>(State(state): State<App>, web: Web, Form(form): Form<R::Form>) -> Response {
    let created = match form.input() {
        Ok(input) => records::create::<R>(&state, &web.ctx, &Idempotency::none(), input)
            .await
            .and_then(|c| c.into_new()),
        Err(e) => Err(e),
    };
    match created {
        Ok(record) => see_other(&format!("{}/{}", R::PATH, record.id())),
        Err(e) if e.status.is_client_error() => {
            render_new::<R>(&state, &web, form, FormErrors::from_api(&e), e.status).await
        }
        Err(e) => view::error_page(&e),
    }
}

/// `GET <PATH>/{id}`.
pub async fn show<R: Edited>(State(state): State<App>, web: Web, IdPath(id): IdPath) -> Response {
    render_record::<R>(&state, &web, id, None, FormErrors::default(), StatusCode::OK).await
}

/// `POST <PATH>/{id}`: saves the edit form.
pub async fn update<R: Edited>(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<R::Form>,
) -> Response {
    let result = match form.patch() {
        Ok(patch) => records::update::<R>(&state, &web.ctx, id, IfMatch(None), patch).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(record) => see_other(&format!("{}/{}?saved=1", R::PATH, record.id())),
        Err(e) => refused::<R>(&state, &web, id, Some(form), e).await,
    }
}

/// A form with nothing but its CSRF token (a button).
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// `POST <PATH>/{id}/delete`: the confirmed Delete of a record page. A
/// refusal (a contact with deals) shows the record page with the reason.
pub async fn delete<R: Edited>(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(_): Form<NoFields>,
) -> Response {
    match records::delete::<R>(&state, &web.ctx, id, IfMatch(None)).await {
        Ok(()) => see_other(R::PATH),
        Err(e) => refused::<R>(&state, &web, id, None, e).await,
    }
}

/// The record page again with the error of a refused change next to its
/// field; a missing record or a server fault is an error page.
pub async fn refused<R: Edited>(state: &App, web: &Web, id: Uuid, form: Option<R::Form>, e: AppError) -> Response {
    refused_with::<R>(state, web, id, form, e, |errors| errors).await
}

/// [`refused`], with the errors shaped by `shape` first: what another form
/// of the page typed kept (a comment, a new task), its fields renamed.
pub async fn refused_with<R: Edited>(
    state: &App,
    web: &Web,
    id: Uuid,
    form: Option<R::Form>,
    e: AppError,
    shape: impl FnOnce(FormErrors) -> FormErrors,
) -> Response {
    if !e.status.is_client_error() || e.status == StatusCode::NOT_FOUND {
        return view::error_page(&e);
    }
    render_record::<R>(state, web, id, form, shape(FormErrors::from_api(&e)), e.status).await
}

/// The comment box of a record page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CommentForm {
    pub text: String,
    /// `comment` (default), `call` or `meeting`.
    pub kind: String,
    /// When a call or meeting took place, in the reader's zone; empty: now.
    pub occurred_at: String,
}

/// `POST <PATH>/{id}/comments`.
pub async fn comment<R: Edited + OnTimeline>(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<CommentForm>,
) -> Response {
    let input = CommentInput {
        kind: view::filled(&form.kind),
        text: form.text.clone(),
        occurred_at: view::from_local_input(&form.occurred_at),
    };
    match records::comment::<R>(&state, &web.ctx, id, input).await {
        Ok(_) => see_other(&format!("{}/{id}#timeline", R::PATH)),
        // The comment stays in its box, with the error beside it.
        Err(e) => {
            refused_with::<R>(&state, &web, id, None, e, |errors| {
                errors
                    .keep("text", &form.text)
                    .keep("kind", &form.kind)
                    .keep("occurred_at", &form.occurred_at)
            })
            .await
        }
    }
}
