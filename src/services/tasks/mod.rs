//! Tasks `/api/v1/tasks` (api.md §5 "Tasks", §7 "Records"): things to do,
//! assigned to a member, optionally on a deal and a contact, whose timelines
//! show when a task is created and completed.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::activities;
use crate::services::orgs::{OrgCtx, Role, queries as orgs};
use crate::services::pagination::Page;
use crate::services::records::double_option;
use crate::services::records::rows::Column;
use crate::services::records::shape::{Checked, Record, common_columns};
use crate::services::records::{self, After, Cell, opt, parse_time, parse_uuid};
use crate::services::validate;

const SORTS: &[&str] = &["due_date", "created_at"];
/// Where a task without a due date sorts (after every date).
const NO_DUE_DATE: &str = "9999-12-31T00:00:00Z";

/// `due_date < $x` written as the expression of the due-date indexes (a task
/// without a due date sorts last), so "overdue" and "due before" are index
/// ranges instead of a walk over every open task. Equal for any `$x` before
/// the year 9999.
const DUE_BEFORE: &str = " AND COALESCE(due_date, '9999-12-31T00:00:00+00:00') < ";

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema, sqlx::FromRow)]
pub struct Task {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub assignee_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub deal_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub due_date: Option<DateTime<Utc>>,
    pub is_done: bool,
    pub completed_at: Option<DateTime<Utc>>,
    #[schema(value_type = Vec<String>)]
    pub tags: SqlJson<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Task {
    /// Not done and due before `now` (what the `overdue` filter selects).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        !self.is_done && self.due_date.is_some_and(|d| d < now)
    }
}

const COLUMNS: &str = "id, owner_id, assignee_id, title, description, deal_id, contact_id, due_date, is_done, completed_at, \
                       tags, created_at, updated_at, version";

/// Clears the deal or contact of its tasks when that record is deleted (a
/// change of each task).
pub async fn detach(c: Exec<'_>, org: Uuid, column: &str, record: Uuid) -> Result<(), sqlx::Error> {
    let column = if column == "deal_id" { "deal_id" } else { "contact_id" };
    let sql = format!(
        "UPDATE tasks SET {column} = NULL, updated_at = $3, version = version + 1 WHERE organization_id = $1 AND {column} = $2"
    );
    run!(c, conn => sqlx::query(&sql).bind(org).bind(record).bind(crate::db::now()).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub title: String,
    pub description: Option<String>,
    #[schema(value_type = Option<Uuid>)]
    pub deal_id: Option<String>,
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<String>,
    /// Default: the caller. Any member of the organization.
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<String>,
    /// RFC 3339 date-time, in the future when creating.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_date: Option<String>,
    pub is_done: Option<bool>,
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[serde(default, deserialize_with = "double_option")]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub deal_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<Option<String>>,
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_date: Option<Option<String>>,
    pub is_done: Option<bool>,
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub tags: Option<Option<Vec<String>>>,
}

impl TaskPatch {
    fn apply_to(self, t: &Task) -> TaskInput {
        let keep_id =
            |new: Option<Option<String>>, old: Option<Uuid>| new.unwrap_or_else(|| old.map(|id| id.to_string()));
        TaskInput {
            title: self.title.map_or_else(|| t.title.clone(), Option::unwrap_or_default),
            description: self.description.unwrap_or_else(|| t.description.clone()),
            deal_id: keep_id(self.deal_id, t.deal_id),
            contact_id: keep_id(self.contact_id, t.contact_id),
            assignee_id: Some(self.assignee_id.unwrap_or_else(|| t.assignee_id.to_string())),
            due_date: self.due_date.unwrap_or_else(|| t.due_date.map(|d| d.to_rfc3339())),
            is_done: Some(self.is_done.unwrap_or(t.is_done)),
            owner_id: Some(self.owner_id.unwrap_or_else(|| t.owner_id.to_string())),
            tags: Some(
                self.tags
                    .map(Option::unwrap_or_default)
                    .unwrap_or_else(|| t.tags.0.clone()),
            ),
        }
    }
}

/// Validates `input` into the task it describes (`current` for changes).
async fn check(mut c: Exec<'_>, ctx: &OrgCtx, input: TaskInput, current: Option<&Task>) -> AppResult<Task> {
    let mut v = Validator::new();
    let title = v.check("title", validate::required_text(&input.title, 200));
    let description = v.check(
        "description",
        validate::optional_text(input.description.as_deref(), 10_000),
    );
    let deal_id = v.check("deal_id", opt(&input.deal_id).map(parse_uuid).transpose());
    let contact_id = v.check("contact_id", opt(&input.contact_id).map(parse_uuid).transpose());
    let assignee_id = v.check("assignee_id", opt(&input.assignee_id).map(parse_uuid).transpose());
    let owner_id = v.check("owner_id", opt(&input.owner_id).map(parse_uuid).transpose());
    let due_date = v.check("due_date", opt(&input.due_date).map(parse_time).transpose());
    let tags = v.check("tags", records::normalize_tags(&input.tags.unwrap_or_default()));
    v.finish()?;
    let (
        Some(title),
        Some(description),
        Some(deal_id),
        Some(contact_id),
        Some(assignee_id),
        Some(owner_id),
        Some(due_date),
        Some(tags),
    ) = (
        title,
        description,
        deal_id,
        contact_id,
        assignee_id,
        owner_id,
        due_date,
        tags,
    )
    else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };
    if current.is_none() && due_date.is_some_and(|d| d <= Utc::now()) {
        return Err(AppError::rule(
            "due_date_in_past",
            "a new task's due_date must be in the future",
        ));
    }
    if let Some(deal) = deal_id
        && current.is_none_or(|t| t.deal_id != Some(deal))
    {
        records::readable::<crate::services::deals::Deal>(c.re(), ctx, deal)
            .await
            .map_err(records::missing_as(
                "deal_not_found",
                "deal_id is not a deal of this organization",
            ))?;
    }
    if let Some(contact) = contact_id
        && current.is_none_or(|t| t.contact_id != Some(contact))
    {
        crate::services::deals::visible_contact(c.re(), ctx, contact).await?;
    }
    let assignee_id = assignee_id.unwrap_or_else(|| current.map_or(ctx.user_id, |t| t.assignee_id));
    if current.is_none_or(|t| t.assignee_id != assignee_id)
        && orgs::membership(c.re(), ctx.org_id, assignee_id).await?.is_none()
    {
        return Err(AppError::rule(
            "assignee_not_member",
            "assignee_id must be a member of the organization",
        ));
    }
    let owner_id = records::owner_for(c.re(), ctx, owner_id, current.map(|t| t.owner_id)).await?;
    let is_done = input.is_done.unwrap_or(false);
    let completed_at = match (is_done, current) {
        (false, _) => None,
        (true, Some(t)) if t.is_done => t.completed_at,
        (true, _) => Some(crate::db::now()),
    };
    let (id, created_at, updated_at, version) = records::stamps(current);
    Ok(Task {
        id,
        owner_id,
        assignee_id,
        title,
        description,
        deal_id,
        contact_id,
        due_date,
        is_done,
        completed_at,
        tags: SqlJson(tags),
        created_at,
        updated_at,
        version,
    })
}

/// Appends a task event to the timeline of its deal and contact (the deal's
/// contact when the task has none).
async fn log_on_timeline(mut c: Exec<'_>, ctx: &OrgCtx, task: &Task, kind: &str) -> AppResult<()> {
    if task.deal_id.is_none() && task.contact_id.is_none() {
        return Ok(());
    }
    let contact = match (task.contact_id, task.deal_id) {
        (Some(contact), _) => Some(contact),
        (None, Some(deal)) => <crate::services::deals::Deal as Record>::find(c.re(), ctx.org_id, deal)
            .await?
            .map(|d| d.contact_id),
        (None, None) => None,
    };
    let payload = json!({"task_id": task.id, "title": task.title});
    activities::append(c, ctx.org_id, kind, task.deal_id, contact, ctx.user_id, payload).await?;
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    #[param(value_type = Option<Uuid>)]
    pub deal_id: Option<String>,
    #[param(value_type = Option<Uuid>)]
    pub contact_id: Option<String>,
    #[param(value_type = Option<Uuid>)]
    pub assignee_id: Option<String>,
    #[param(value_type = Option<bool>)]
    pub is_done: Option<String>,
    /// `true`: not done and due before now.
    #[param(value_type = Option<bool>)]
    pub overdue: Option<String>,
    /// RFC 3339, exclusive.
    #[param(value_type = Option<DateTime<Utc>>)]
    pub due_before: Option<String>,
    /// RFC 3339, inclusive.
    #[param(value_type = Option<DateTime<Utc>>)]
    pub due_after: Option<String>,
    /// `due_date` (default, missing dates last) or `created_at`; `-` for descending.
    pub sort: Option<String>,
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
    /// Tasks have no custom fields: `custom.<key>` parameters are ignored.
    #[serde(skip)]
    #[param(ignore)]
    pub custom: Vec<(String, String)>,
}

impl TaskQuery {
    /// Tasks have no custom fields: the parameters are not kept.
    pub fn with_custom_params(self, _: Vec<(String, String)>) -> Self {
        self
    }
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

/// One page of the tasks the caller may read (the API's list, the web app's
/// task list and dashboard).
pub async fn list(state: &App, ctx: &OrgCtx, query: &TaskQuery) -> AppResult<Page<Task>> {
    let (limit, sort) = records::paging(&query.limit, &query.sort, SORTS, "due_date")?;
    let mut v = Validator::new();
    let deal_id = v.parsed("deal_id", &query.deal_id, parse_uuid);
    let contact_id = v.parsed("contact_id", &query.contact_id, parse_uuid);
    let assignee_id = v.parsed("assignee_id", &query.assignee_id, parse_uuid);
    let is_done = v.parsed("is_done", &query.is_done, parse_bool);
    let overdue = v.parsed("overdue", &query.overdue, parse_bool).unwrap_or(false);
    let due_before = v.parsed("due_before", &query.due_before, parse_time);
    let due_after = v.parsed("due_after", &query.due_after, parse_time);
    v.finish()?;
    let after = After::decode(sort, query.cursor.as_deref())?;
    let only_user = ctx.sees_only_own().then_some(ctx.user_id);
    let now = crate::db::now();
    let mut conn = state.db.read().await?;
    let rows: Vec<Task> = run!(conn.exec(), c => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM tasks WHERE organization_id = "));
        q.push_bind(ctx.org_id);
        for (column, value) in [("deal_id", deal_id), ("contact_id", contact_id), ("assignee_id", assignee_id)] {
            if let Some(value) = value {
                q.push(format!(" AND {column} = ")).push_bind(value);
            }
        }
        if let Some(user) = only_user {
            q.push(" AND (owner_id = ").push_bind(user).push(" OR assignee_id = ").push_bind(user).push(")");
        }
        if let Some(done) = is_done {
            q.push(" AND is_done = ").push_bind(done);
        }
        if overdue {
            q.push(" AND is_done = ").push_bind(false).push(DUE_BEFORE).push_bind(now);
        }
        if let Some(at) = due_before {
            q.push(DUE_BEFORE).push_bind(at);
        }
        if let Some(at) = due_after {
            q.push(" AND due_date >= ").push_bind(at);
        }
        records::push_page(&mut q, sort, after, limit);
        q.build_query_as().fetch_all(c).await
    })?;
    Ok(records::page(rows, limit, sort))
}

/// The dashboard counts overdue tasks up to this many and shows "1000+" beyond:
/// an exact count walks every overdue task (50k in the benchmark: 190 ms).
pub const OVERDUE_COUNT_CAP: i64 = 1000;

/// How many open tasks the caller may read are past due, up to
/// [`OVERDUE_COUNT_CAP`] + 1 (the dashboard card).
pub async fn count_overdue(state: &App, ctx: &OrgCtx) -> AppResult<i64> {
    let only_user = ctx.sees_only_own().then_some(ctx.user_id);
    let mut conn = state.db.read().await?;
    let count = run!(conn.exec(), c => {
        let mut q = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE organization_id = ");
        q.push_bind(ctx.org_id).push(" AND is_done = ").push_bind(false);
        q.push(DUE_BEFORE).push_bind(crate::db::now());
        if let Some(user) = only_user {
            q.push(" AND (owner_id = ").push_bind(user).push(" OR assignee_id = ").push_bind(user).push(")");
        }
        q.push(" LIMIT ").push_bind(OVERDUE_COUNT_CAP + 1).push(") AS overdue");
        q.build_query_scalar().fetch_one(c).await
    })?;
    Ok(count)
}

impl Record for Task {
    const KIND: &'static str = "task";
    const TABLE: &'static str = "tasks";
    const COLUMNS: &'static str = COLUMNS;
    const SEARCH_TEXT: bool = false;
    type Input = TaskInput;
    type Patch = TaskPatch;

    common_columns!();
    fn own_sort_value(&self, field: &str) -> Option<After> {
        // A task without a due date sorts after every date (`Sort::column`).
        let no_due_date = DateTime::parse_from_rfc3339(NO_DUE_DATE)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        (field == "due_date").then(|| After::Time(self.due_date.unwrap_or(no_due_date), self.id))
    }
    fn audit_details(&self) -> Value {
        json!({ "title": self.title })
    }

    fn columns(&self) -> Vec<Column<'_>> {
        vec![
            ("assignee_id", Cell::Id(Some(self.assignee_id))),
            ("title", Cell::Text(Some(&self.title))),
            ("description", Cell::Text(self.description.as_deref())),
            ("deal_id", Cell::Id(self.deal_id)),
            ("contact_id", Cell::Id(self.contact_id)),
            ("due_date", Cell::Time(self.due_date)),
            ("is_done", Cell::Bool(Some(self.is_done))),
            ("completed_at", Cell::Time(self.completed_at)),
        ]
    }

    async fn check_new(c: Exec<'_>, ctx: &OrgCtx, input: TaskInput) -> AppResult<Checked<Self>> {
        Ok(Checked::new(check(c, ctx, input, None).await?))
    }
    async fn check_patch(c: Exec<'_>, ctx: &OrgCtx, current: &Self, patch: TaskPatch) -> AppResult<Checked<Self>> {
        if ctx.role < Role::Manager
            && let Some(owner) = patch.owner_id.as_deref()
            && owner.trim() != current.owner_id.to_string()
        {
            return Err(AppError::forbidden("members may not give tasks to another owner"));
        }
        Ok(Checked::new(
            check(c, ctx, patch.apply_to(current), Some(current)).await?,
        ))
    }

    /// Members read the tasks they own or are assigned under `member_visibility: own`.
    fn may_read(&self, ctx: &OrgCtx) -> bool {
        ctx.may_read(self.owner_id) || self.assignee_id == ctx.user_id
    }
    /// Members change tasks they own or are assigned; managers and above any.
    fn ensure_may_change(&self, ctx: &OrgCtx) -> AppResult<()> {
        if self.assignee_id == ctx.user_id {
            Ok(())
        } else {
            ctx.ensure_may_change(self.owner_id)
        }
    }

    fn after_create(c: Exec<'_>, ctx: &OrgCtx, task: &Self) -> impl Future<Output = AppResult<()>> + Send {
        log_on_timeline(c, ctx, task, "task_created")
    }
    async fn after_change(c: Exec<'_>, ctx: &OrgCtx, before: &Self, after: &Self) -> AppResult<()> {
        if after.is_done && !before.is_done {
            log_on_timeline(c, ctx, after, "task_completed").await?;
        }
        Ok(())
    }
}
