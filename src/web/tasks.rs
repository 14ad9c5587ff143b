//! Tasks: the list with filters, a quick create form and one-click "done";
//! a task's own page to edit or delete it; and the "New task" form of the
//! contact and deal pages. Due dates are typed and shown in the reader's time
//! zone (`view::reader_zone`).

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
    /// The time zone due dates are typed in.
    zone: &'static str,
    /// Saved views as tabs above the list.
    views: super::views::Tabs,
    done: Option<String>,
    bulk: Option<super::records::BulkBar>,
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
    let views = match super::views::tabs(state, web, "tasks", "/tasks", pairs).await {
        Ok(views) => views,
        Err(e) => return view::error_page(&e),
    };
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
            form,
            errors,
            here: web.here.clone(),
            zone: view::reader_zone().name(),
            views,
            done: super::records::bulk_done(pairs),
            bulk: Some(super::records::BulkBar {
                path: "/tasks",
                noun: "task",
                members: list.members.clone(),
            }),
            list,
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
    /// `YYYY-MM-DDTHH:MM` from a `datetime-local` input, in the reader's zone.
    due_date: String,
    assignee_id: String,
}

pub async fn create(State(state): State<App>, web: Web, Form(form): Form<TaskForm>) -> Response {
    let input = TaskInput {
        title: form.title.clone(),
        due_date: view::from_local_input(&form.due_date),
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

// ----- A task's page --------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskEditForm {
    title: String,
    description: String,
    /// `YYYY-MM-DDTHH:MM` in the reader's zone; empty: no due date.
    due_date: String,
    assignee_id: String,
    /// `true` when the box is ticked (absent otherwise).
    is_done: String,
}

impl TaskEditForm {
    fn of(t: &Task) -> Self {
        TaskEditForm {
            title: t.title.clone(),
            description: t.description.clone().unwrap_or_default(),
            due_date: t.due_date.as_ref().map(view::local_input).unwrap_or_default(),
            assignee_id: t.assignee_id.to_string(),
            is_done: if t.is_done { "true".into() } else { String::new() },
        }
    }

    /// Every field of the form replaces the task's; a past due date is
    /// allowed here (only a new task's must be ahead).
    fn patch(&self) -> TaskPatch {
        TaskPatch {
            title: Some(Some(self.title.clone())),
            description: Some(view::filled(&self.description)),
            due_date: Some(view::from_local_input(&self.due_date)),
            assignee_id: view::filled(&self.assignee_id),
            is_done: Some(self.is_done == "true"),
            ..Default::default()
        }
    }
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    shell: Shell,
    id: String,
    title: String,
    is_done: bool,
    overdue: bool,
    deal_id: String,
    deal: String,
    contact_id: String,
    contact: String,
    form: TaskEditForm,
    members: Vec<Choice>,
    due_label: String,
    may_delete: bool,
    errors: FormErrors,
}

async fn task_page(
    state: &App,
    web: &Web,
    id: uuid::Uuid,
    form: Option<TaskEditForm>,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let page = async {
        let task = records::read::<Task>(state, &web.ctx, id).await?;
        let names = Related::of(state, &web.ctx, std::slice::from_ref(&task)).await?;
        let members = view::members(state, web.ctx.org_id).await?;
        Ok::<_, crate::error::AppError>(TaskPage {
            shell: Shell::new(web, "tasks", task.title.clone()),
            id: task.id.to_string(),
            title: task.title.clone(),
            is_done: task.is_done,
            overdue: task.is_overdue(chrono::Utc::now()),
            deal_id: task.deal_id.map(|d| d.to_string()).unwrap_or_default(),
            deal: name_of(&names.deals, task.deal_id),
            contact_id: task.contact_id.map(|c| c.to_string()).unwrap_or_default(),
            contact: name_of(&names.contacts, task.contact_id),
            form: form.unwrap_or_else(|| TaskEditForm::of(&task)),
            members,
            due_label: format!("Due ({})", view::reader_zone().name()),
            may_delete: task.ensure_may_change(&web.ctx).is_ok(),
            errors,
        })
    };
    match page.await {
        Ok(page) => view::render(status, &page),
        Err(e) => view::error_page(&e),
    }
}

/// `GET /tasks/{id}`.
pub async fn show(State(state): State<App>, web: Web, IdPath(id): IdPath) -> Response {
    task_page(&state, &web, id, None, FormErrors::default(), StatusCode::OK).await
}

/// `POST /tasks/{id}`: saves the task's form; a refusal shows what was typed
/// with the error by its field.
pub async fn update(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<TaskEditForm>,
) -> Response {
    match records::update::<Task>(&state, &web.ctx, id, IfMatch(None), form.patch()).await {
        Ok(task) => see_other(&format!("/tasks/{}?saved=1", task.id)),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            let errors = FormErrors::from_api(&e);
            task_page(&state, &web, id, Some(form), errors, e.status).await
        }
        Err(e) => view::error_page(&e),
    }
}

// ----- "New task" on a contact's or a deal's page ----------------------------

/// The fields are named `task_…` beside the record's own form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuickTaskForm {
    task_title: String,
    task_due_date: String,
}

/// `POST /contacts/{id}/tasks`: a task about the contact, assigned to the caller.
pub async fn add_to_contact(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<QuickTaskForm>,
) -> Response {
    let input = TaskInput {
        contact_id: Some(id.to_string()),
        ..Default::default()
    };
    add_to::<Contact>(&state, &web, id, form, input).await
}

/// `POST /deals/{id}/tasks`: a task about the deal (and its contact).
pub async fn add_to_deal(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<QuickTaskForm>,
) -> Response {
    let contact = match records::read::<Deal>(&state, &web.ctx, id).await {
        Ok(deal) => deal.contact_id,
        Err(e) => return view::error_page(&e),
    };
    let input = TaskInput {
        deal_id: Some(id.to_string()),
        contact_id: Some(contact.to_string()),
        ..Default::default()
    };
    add_to::<Deal>(&state, &web, id, form, input).await
}

async fn add_to<R: super::records::Edited>(
    state: &App,
    web: &Web,
    id: uuid::Uuid,
    form: QuickTaskForm,
    input: TaskInput,
) -> Response {
    let input = TaskInput {
        title: form.task_title.clone(),
        due_date: view::from_local_input(&form.task_due_date),
        ..input
    };
    match records::create::<Task>(state, &web.ctx, &Idempotency::none(), input)
        .await
        .and_then(|c| c.into_new())
    {
        Ok(_) => see_other(&format!("{}/{id}#tasks-title", R::PATH)),
        Err(e) => {
            super::records::refused_with::<R>(state, web, id, None, e, |errors| {
                errors
                    .prefixed("task_")
                    .keep("task_title", &form.task_title)
                    .keep("task_due_date", &form.task_due_date)
            })
            .await
        }
    }
}
