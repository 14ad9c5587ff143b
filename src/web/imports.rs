//! The import pages (data.md "CSV import", "Conflict review queue"): upload
//! a file (checked first with a dry run, or imported), follow an import's
//! progress and row errors, and review its conflicts with the stored and
//! incoming values side by side. Everything goes through
//! `services::imports`, as the API does.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;

use super::session::Web;
use super::view::{self, ListUrls, Shell};
use super::{Form, ListQuery, see_other};
use crate::app::App;
use crate::error::AppError;
use crate::http::extract::IdPath;
use crate::services::companies::Company;
use crate::services::contacts::Contact;
use crate::services::imports::conflicts::{self, Choice, ConflictQuery};
use crate::services::imports::{self, DryRun, Import, ImportQuery, RowError, Started};
use crate::services::orgs::Role;

/// An import as a row of the list.
pub struct ImportRow {
    pub id: String,
    pub created: String,
    pub object: String,
    pub file_name: String,
    pub status: String,
    pub summary: String,
}

fn row(i: &Import) -> ImportRow {
    ImportRow {
        id: i.id.to_string(),
        created: view::time(&i.created_at),
        object: i.object.clone(),
        file_name: i.file_name.clone().unwrap_or_default(),
        status: i.status.clone(),
        summary: format!(
            "{} of {} rows: {} created, {} merged, {} skipped, {} conflicts",
            i.processed_rows, i.total_rows, i.created, i.merged, i.skipped, i.conflicts
        ),
    }
}

/// A dry run as the page shows it.
pub struct Checked {
    pub mapping: Vec<(String, String)>,
    pub unmapped: Vec<String>,
    pub columns: Vec<String>,
    pub preview: Vec<Vec<String>>,
    pub errors: Vec<RowError>,
    pub total_rows: i64,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    shell: Shell,
    rows: Vec<ImportRow>,
    object: String,
    on_conflict: String,
    checked: Option<Checked>,
    error: Option<String>,
    next: Option<String>,
    previous: Option<String>,
}

/// `GET /imports`: the upload form and the imports so far.
pub async fn page(State(state): State<App>, web: Web, ListQuery(mut query, pairs): ListQuery<ImportQuery>) -> Response {
    query.limit = Some(super::records::PAGE_SIZE.into());
    render(&state, &web, &query, &pairs, UploadForm::default(), None, None).await
}

#[derive(Debug, Default)]
struct UploadForm {
    object: String,
    on_conflict: String,
}

async fn render(
    state: &App,
    web: &Web,
    query: &ImportQuery,
    pairs: &[(String, String)],
    form: UploadForm,
    checked: Option<DryRun>,
    error: Option<String>,
) -> Response {
    let list = match imports::list(state, &web.ctx, query).await {
        Ok(list) => list,
        Err(e) => return view::error_page(&e),
    };
    let urls = ListUrls::new("/imports", pairs, "");
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ImportsPage {
        shell: Shell::new(web, "contacts", "Import"),
        rows: list.data.iter().map(row).collect(),
        object: if form.object.is_empty() {
            "contacts".into()
        } else {
            form.object
        },
        on_conflict: if form.on_conflict.is_empty() {
            "queue".into()
        } else {
            form.on_conflict
        },
        checked: checked.map(checked_view),
        error,
        next: urls.next(&list.next_cursor),
        previous: urls.previous(),
    };
    view::render(status, &page)
}

fn checked_view(dry: DryRun) -> Checked {
    let mapping: Vec<(String, String)> = dry
        .headers
        .iter()
        .map(|h| (h.clone(), dry.mapping[h].as_str().unwrap_or("").to_string()))
        .collect();
    // The preview's columns: the fields the mapping fills, in its order.
    let mut columns: Vec<String> = Vec::new();
    for (_, field) in &mapping {
        let field = match field.as_str() {
            "first_name" | "last_name" => "name",
            "company" => "company_id",
            "contact_email" | "contact_phone" => "contact_id",
            "pipeline" => "pipeline_id",
            other => other,
        };
        if !field.is_empty() && !columns.iter().any(|c| c == field) {
            columns.push(field.to_string());
        }
    }
    let preview = dry
        .preview
        .iter()
        .map(|record| columns.iter().map(|c| cell(&record[c])).collect())
        .collect();
    Checked {
        mapping,
        unmapped: dry.unmapped,
        columns,
        preview,
        errors: dry.errors,
        total_rows: dry.total_rows,
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `POST /imports`: the multipart form (its `_csrf` first). "Check the
/// file" answers the dry run on this page; "Import" starts the import and
/// goes to its page.
pub async fn upload(State(state): State<App>, web: Web, request: Request) -> Response {
    let upload = match crate::api::imports::read_upload(&state, request, Some(&web.csrf)).await {
        Ok(upload) => upload,
        Err(e) if e.status == StatusCode::FORBIDDEN => return view::plain_error(e.status, &e.detail),
        Err(e) => return view::error_page(&e),
    };
    let form = UploadForm {
        object: upload.object.clone().unwrap_or_default(),
        on_conflict: upload.on_conflict.clone().unwrap_or_default(),
    };
    let query = ImportQuery {
        limit: Some(super::records::PAGE_SIZE.into()),
        cursor: None,
    };
    match imports::start(&state, &web.ctx, upload).await {
        Ok(Started::Queued(import)) => see_other(&format!("/imports/{}", import.id)),
        Ok(Started::DryRun(dry)) => render(&state, &web, &query, &[], form, Some(dry), None).await,
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::PAYLOAD_TOO_LARGE => {
            render(&state, &web, &query, &[], form, None, Some(view::error_text(&e))).await
        }
        Err(e) => view::error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    shell: Shell,
    import: Import,
    running: bool,
    percent: i64,
}

/// `GET /imports/{id}`: progress (the page reloads itself while the import
/// runs), counts, row errors, and the way to its conflicts.
pub async fn show(State(state): State<App>, web: Web, IdPath(id): IdPath) -> Response {
    match imports::get(&state, &web.ctx, id).await {
        Ok(import) => {
            let running = matches!(import.status.as_str(), "pending" | "running");
            let percent = (import.processed_rows * 100)
                .checked_div(import.total_rows)
                .unwrap_or(0);
            view::render(
                StatusCode::OK,
                &ImportPage {
                    shell: Shell::new(&web, "contacts", "Import"),
                    import,
                    running,
                    percent,
                },
            )
        }
        Err(e) => view::error_page(&e),
    }
}

/// A conflict as the review queue shows it.
pub struct ConflictRow {
    pub id: String,
    pub line: i64,
    pub record_href: String,
    pub record_label: String,
    pub field: String,
    pub current: String,
    pub incoming: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "import_conflicts.html")]
struct ConflictsPage {
    shell: Shell,
    import_id: String,
    open: bool,
    rows: Vec<ConflictRow>,
    next: Option<String>,
    previous: Option<String>,
}

/// `GET /imports/conflicts?import_id=&status=`: the review queue.
pub async fn conflicts(
    State(state): State<App>,
    web: Web,
    ListQuery(mut query, pairs): ListQuery<ConflictQuery>,
) -> Response {
    query.limit = Some(super::records::PAGE_SIZE.into());
    if query.status.is_none() {
        query.status = Some("open".into());
    }
    let list = match conflicts::list(&state, &web.ctx, &query).await {
        Ok(list) => list,
        Err(e) => return view::error_page(&e),
    };
    let names = match record_names(&state, &web, &list.data).await {
        Ok(names) => names,
        Err(e) => return view::error_page(&e),
    };
    let urls = ListUrls::new("/imports/conflicts", &pairs, "");
    let rows = list
        .data
        .iter()
        .map(|c| ConflictRow {
            id: c.id.to_string(),
            line: c.line,
            record_href: match c.record_type.as_str() {
                "company" => format!("/companies/{}", c.record_id),
                _ => format!("/contacts/{}", c.record_id),
            },
            record_label: names
                .iter()
                .find(|(id, _)| *id == c.record_id)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| c.record_id.to_string()),
            field: c.field.replace('_', " "),
            current: cell(&c.current_value.0),
            incoming: cell(&c.incoming_value.0),
            status: c.status.clone(),
        })
        .collect();
    view::render(
        StatusCode::OK,
        &ConflictsPage {
            shell: Shell::new(&web, "contacts", "Review imported conflicts"),
            import_id: query.import_id.clone().unwrap_or_default(),
            open: query.status.as_deref() == Some("open"),
            rows,
            next: urls.next(&list.next_cursor),
            previous: urls.previous(),
        },
    )
}

/// The names of the records a page of conflicts is about.
async fn record_names(
    state: &App,
    web: &Web,
    rows: &[conflicts::Conflict],
) -> crate::error::AppResult<Vec<(Uuid, String)>> {
    let ids = |kind: &str| -> Vec<Uuid> {
        rows.iter()
            .filter(|c| c.record_type == kind)
            .map(|c| c.record_id)
            .collect()
    };
    let mut names = Vec::new();
    let mut conn = state.db.read().await?;
    names.extend(
        crate::services::records::names::<Contact>(conn.exec(), web.ctx.org_id, "name", &ids("contact")).await?,
    );
    names.extend(
        crate::services::records::names::<Company>(conn.exec(), web.ctx.org_id, "name", &ids("company")).await?,
    );
    Ok(names)
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ResolveForm {
    /// `{id}:keep` or `{id}:incoming`: one row's button.
    one: Option<String>,
    /// The bulk buttons: the checked rows.
    ids: Vec<String>,
    choice: Option<String>,
    import_id: String,
}

/// `POST /imports/conflicts/resolve`: one row's button, or the checked rows
/// with a bulk choice.
pub async fn resolve(State(state): State<App>, web: Web, Form(form): Form<ResolveForm>) -> Response {
    if let Err(e) = web.ctx.require(Role::Manager) {
        return view::error_page(&e);
    }
    let parse_choice = |c: &str| match c {
        "keep" => Some(Choice::Keep),
        "incoming" => Some(Choice::Incoming),
        _ => None,
    };
    let (ids, choice) = match (&form.one, &form.choice) {
        (Some(one), _) => {
            let (id, choice) = one.split_once(':').unwrap_or((one, ""));
            (vec![id.to_string()], parse_choice(choice))
        }
        (None, Some(choice)) => (form.ids.clone(), parse_choice(choice)),
        _ => (Vec::new(), None),
    };
    let ids: Vec<Uuid> = ids.iter().filter_map(|i| Uuid::parse_str(i).ok()).collect();
    let Some(choice) = choice.filter(|_| !ids.is_empty()) else {
        return view::error_page(&AppError::field("ids", "choose the conflicts to resolve"));
    };
    let back = if form.import_id.is_empty() {
        "/imports/conflicts".to_string()
    } else {
        format!("/imports/conflicts?import_id={}", form.import_id)
    };
    match conflicts::resolve(&state, &web.ctx, &ids, choice).await {
        Ok(_) => see_other(&back),
        Err(e) => view::error_page(&e),
    }
}
