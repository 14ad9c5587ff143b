//! Tasks: the list with filters, a quick create form and one-click "done".

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::records::PAGE_SIZE;
use super::related::{distinct, name_of};
use super::session::Web;
use super::view::{self, Choice, FormErrors, ListParts, ListUrls, Shell};
use super::{Form, ListQuery, see_other};
use crate::app::App;
use crate::http::extract::IdPath;
use crate::services::contacts::Contact;
use crate::services::deals::Deal;
use crate::services::idempotency::Idempotency;
use crate::services::orgs::OrgCtx;
use crate::services::records::{self, IfMatch, Record};
use crate::services::tasks::{self, Task, TaskInput, TaskPatch, TaskQuery};

pub struct Row {
    pub id: String,
    pub title: String,
    pub due: String,
    pub overdue: bool,
    pub assignee: String,
    pub is_done: bool,
    pub deal_id: String,
    pub contact_id: String,
    /// The names of its deal and contact (the Related column).
    pub deal: String,
    pub contact: String,
    /// The caller may delete it (managers and above; members the tasks they
    /// own or are assigned).
    pub may_delete: bool,
}

fn row(t: &Task, members: &[Choice], now: chrono::DateTime<chrono::Utc>, ctx: &OrgCtx, names: &Related) -> Row {
    Row {
        id: t.id.to_string(),
        title: t.title.clone(),
        due: t.due_date.as_ref().map(view::time).unwrap_or_default(),
        overdue: t.is_overdue(now),
        assignee: view::member_name(members, &t.assignee_id),
        is_done: t.is_done,
        deal_id: t.deal_id.map(|d| d.to_string()).unwrap_or_default(),
        contact_id: t.contact_id.map(|c| c.to_string()).unwrap_or_default(),
        may_delete: t.ensure_may_change(ctx).is_ok(),
        deal: name_of(&names.deals, t.deal_id),
        contact: name_of(&names.contacts, t.contact_id),
    }
}

/// The titles of the deals and the names of the contacts of a page of tasks.
#[derive(Default)]
struct Related {
    deals: Vec<(uuid::Uuid, String)>,
    contacts: Vec<(uuid::Uuid, String)>,
}

impl Related {
    async fn of(state: &App, ctx: &OrgCtx, tasks: &[Task]) -> crate::error::AppResult<Related> {
        let ids = |pick: fn(&Task) -> Option<uuid::Uuid>| distinct(tasks.iter().filter_map(pick));
        let mut conn = state.db.read().await?;
        let deals = records::names::<Deal>(conn.exec(), ctx.org_id, "title", &ids(|t| t.deal_id)).await?;
        let contacts = records::names::<Contact>(conn.exec(), ctx.org_id, "name", &ids(|t| t.contact_id)).await?;
        Ok(Related { deals, contacts })
    }
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct ListPage {
    shell: Shell,
    list: ListParts<Row>,
    form: TaskForm,
    errors: FormErrors,
    here: String,
}

async fn list_page(
    state: &App,
    web: &Web,
    mut query: TaskQuery,
    pairs: &[(String, String)],
    form: TaskForm,
    errors: FormErrors,
) -> Response {
    query.limit = Some(PAGE_SIZE.into());
    let urls = ListUrls::new("/tasks", pairs, "due_date");
    let now = chrono::Utc::now();
    // The page, then the names its Related column shows.
    let page = tasks::list(state, &web.ctx, &query).await;
    let names = match &page {
        Ok(page) => match Related::of(state, &web.ctx, &page.data).await {
            Ok(names) => names,
            Err(e) => return view::error_page(&e),
        },
        Err(_) => Related::default(),
    };
    let fetch = async { page };
    let list = match view::list_parts(state, web.ctx.org_id, urls, fetch, |t, m| {
        row(t, m, now, &web.ctx, &names)
    })
    .await
    {
        Ok(list) => list,
        Err(page) => return page,
    };
    let status = if errors.action.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    view::render(
        status,
        &ListPage {
            shell: Shell::new(web, "tasks", "Tasks"),
            list,
            form,
            errors,
            here: web.here.clone(),
        },
    )
}

pub async fn list(State(state): State<App>, web: Web, ListQuery(query, pairs): ListQuery<TaskQuery>) -> Response {
    let form = TaskForm {
        assignee_id: web.ctx.user_id.to_string(),
        ..Default::default()
    };
    list_page(&state, &web, query, &pairs, form, FormErrors::default()).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskForm {
    title: String,
    /// `YYYY-MM-DDTHH:MM` from a `datetime-local` input, read as UTC.
    due_date: String,
    assignee_id: String,
}

/// A `datetime-local` value as RFC 3339 (UTC); anything else is passed on
/// for the service to name.
fn due(value: &str) -> Option<String> {
    let v = view::filled(value)?;
    Some(match v.len() {
        16 => format!("{v}:00Z"),
        19 => format!("{v}Z"),
        _ => v,
    })
}

pub async fn create(State(state): State<App>, web: Web, Form(form): Form<TaskForm>) -> Response {
    let input = TaskInput {
        title: form.title.clone(),
        due_date: due(&form.due_date),
        assignee_id: view::filled(&form.assignee_id),
        ..Default::default()
    };
    match crate::services::records::create::<tasks::Task>(&state, &web.ctx, &Idempotency::none(), input)
        .await
        .and_then(|c| c.into_new())
    {
        Ok(_) => see_other("/tasks"),
        Err(e) if e.status.is_client_error() => {
            list_page(&state, &web, TaskQuery::default(), &[], form, FormErrors::from_api(&e)).await
        }
        Err(e) => view::error_page(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneForm {
    next: String,
}

/// `POST /tasks/{id}/delete`: the confirmed Delete of a task row; back to
/// the list the row was on.
pub async fn delete(State(state): State<App>, web: Web, IdPath(id): IdPath, Form(form): Form<DoneForm>) -> Response {
    match records::delete::<Task>(&state, &web.ctx, id, IfMatch(None)).await {
        Ok(()) => see_other(&view::safe_next(Some(if form.next.is_empty() {
            "/tasks"
        } else {
            &form.next
        }))),
        Err(e) => view::error_page(&e),
    }
}

pub async fn done(State(state): State<App>, web: Web, IdPath(id): IdPath, Form(form): Form<DoneForm>) -> Response {
    let patch = TaskPatch {
        is_done: Some(true),
        ..Default::default()
    };
    match crate::services::records::update::<tasks::Task>(&state, &web.ctx, id, IfMatch(None), patch).await {
        Ok(_) => see_other(&view::safe_next(Some(if form.next.is_empty() {
            "/tasks"
        } else {
            &form.next
        }))),
        Err(e) => view::error_page(&e),
    }
}
