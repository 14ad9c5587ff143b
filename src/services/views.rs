//! Saved views `/api/v1/views` (leads.md "Saved views"): a list's filters
//! and sort kept under a name, shown as tabs above the list. A private
//! view is its owner's alone (another user's answers 404); a shared one
//! is the organization's. Any member creates views and shares their own;
//! managers and above also change and delete others' shared views.
//!
//! The `query` is kept as the client wrote it (the list's query string)
//! and checked by running the list it describes once, so a view names
//! only filters, sorts and custom fields the list accepts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, FieldError, Validator};
use crate::run;
use crate::services::audit::{self, Event};
use crate::services::orgs::{OrgCtx, Role};
use crate::services::validate;

/// The lists a view can be of.
pub const OBJECTS: [&str; 6] = ["contacts", "companies", "deals", "leads", "properties", "tasks"];
/// The most views one member sees of one list (their own and the shared).
pub const MAX_PER_LIST: i64 = 100;
/// The longest `query`.
const MAX_QUERY: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct SavedView {
    pub id: Uuid,
    /// `contacts`, `companies`, `deals`, `leads`, `properties` or `tasks`.
    pub object: String,
    pub name: String,
    /// The list's query string (filters and sort), as given: `status=open&sort=-amount`.
    pub query: String,
    /// The columns shown, in order (the web app's choice; empty: the list's own).
    #[schema(value_type = Vec<String>)]
    pub columns: SqlJson<Vec<String>>,
    /// Visible to the whole organization; else to its owner only.
    pub shared: bool,
    pub owner_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, object, name, query, columns, shared, owner_id, created_at, updated_at";

/// A new view.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewInput {
    /// `contacts`, `companies`, `deals`, `leads`, `properties` or `tasks`.
    pub object: String,
    /// 1..100 characters.
    pub name: String,
    /// The list's query string without `cursor` or `limit`; default none (the whole list).
    pub query: Option<String>,
    /// At most 50 column names of 1..100 characters.
    pub columns: Option<Vec<String>>,
    /// Default false.
    #[serde(default)]
    pub shared: bool,
}

/// A change: fields left out stay. The object cannot change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewPatch {
    pub name: Option<String>,
    pub query: Option<String>,
    pub columns: Option<Vec<String>>,
    pub shared: Option<bool>,
}

/// `?object=`: the views of one list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViewQuery {
    /// `contacts`, `companies`, `deals`, `leads`, `properties` or `tasks`.
    pub object: Option<String>,
}

fn check_columns(v: &mut Validator, columns: Option<Vec<String>>) -> Vec<String> {
    let columns = columns.unwrap_or_default();
    if columns.len() > 50 {
        v.add("columns", "at most 50 columns");
    }
    let mut out = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if let Some(c) = v.check(&format!("columns[{i}]"), validate::required_text(c, 100))
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

/// Checks a view's query against its list: parsed as the list parses its
/// parameters and run once (one row), so every filter, sort and custom
/// field is one the list accepts; its errors are named `query.<parameter>`.
async fn check_query(state: &App, ctx: &OrgCtx, object: &str, query: &str) -> AppResult<String> {
    use crate::services::{companies, contacts, deals, leads, properties, tasks};
    let given = query.to_string();
    let query = crate::services::records::bulk::list_query(query).to_string();
    if given.chars().count() > MAX_QUERY {
        return Err(AppError::field("query", format!("at most {MAX_QUERY} characters")));
    }
    let pairs: Vec<(String, String)> =
        serde_html_form::from_str(&query).map_err(|_| AppError::field("query", "is not a query string"))?;
    if let Some((k, _)) = pairs.iter().find(|(k, _)| k == "cursor" || k == "limit") {
        return Err(AppError::field(
            format!("query.{k}"),
            "a view keeps filters and sort, not a page",
        ));
    }
    use crate::services::records::bulk::ByQuery;
    let ran = match object {
        "contacts" => contacts::Contact::page_of(state, ctx, &query, "1", None)
            .await
            .map(drop),
        "companies" => companies::Company::page_of(state, ctx, &query, "1", None)
            .await
            .map(drop),
        "deals" => deals::Deal::page_of(state, ctx, &query, "1", None).await.map(drop),
        "leads" => leads::Lead::page_of(state, ctx, &query, "1", None).await.map(drop),
        "properties" => properties::Property::page_of(state, ctx, &query, "1", None)
            .await
            .map(drop),
        _ => tasks::Task::page_of(state, ctx, &query, "1", None).await.map(drop),
    };
    match ran {
        // Stored as the client wrote it (leads.md); readers drop a leading `?`.
        Ok(()) => Ok(given),
        Err(mut e) if e.status == http::StatusCode::UNPROCESSABLE_ENTITY => {
            e.errors = e
                .errors
                .into_iter()
                .map(|f| FieldError {
                    field: format!("query.{}", f.field),
                    message: f.message,
                })
                .collect();
            Err(e)
        }
        Err(e) => Err(e),
    }
}

fn check_object(object: &str) -> AppResult<()> {
    if OBJECTS.contains(&object) {
        Ok(())
    } else {
        Err(AppError::field(
            "object",
            format!("must be one of {}", OBJECTS.join(", ")),
        ))
    }
}

/// The views of one list (or of every list) the caller sees: their own and
/// the shared ones, by name.
pub async fn list(state: &App, ctx: &OrgCtx, query: &ViewQuery) -> AppResult<Vec<SavedView>> {
    let object = query.object.as_deref().map(str::trim).filter(|o| !o.is_empty());
    if let Some(object) = object {
        check_object(object)?;
    }
    let mut conn = state.db.read().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM saved_views WHERE organization_id = $1 AND (owner_id = $2 OR shared) \
         AND ($3 IS NULL OR object = $3) ORDER BY object, name, id LIMIT 1000"
    );
    Ok(run!(conn.exec(), c => sqlx::query_as(&sql)
        .bind(ctx.org_id)
        .bind(ctx.user_id)
        .bind(object)
        .fetch_all(c)
        .await)?)
}

async fn find(c: Exec<'_>, org: Uuid, id: Uuid) -> Result<Option<SavedView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM saved_views WHERE organization_id = $1 AND id = $2{}",
        c.for_update()
    );
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(id).fetch_optional(conn).await)
}

/// A view the caller sees (their own, or shared), else 404.
fn visible(view: Option<SavedView>, ctx: &OrgCtx) -> AppResult<SavedView> {
    match view {
        Some(v) if v.owner_id == ctx.user_id || v.shared => Ok(v),
        _ => Err(AppError::not_found()),
    }
}

/// 403 unless the caller may change the view: their own, or a shared one
/// for managers and above.
fn ensure_may_change(view: &SavedView, ctx: &OrgCtx) -> AppResult<()> {
    if view.owner_id == ctx.user_id || ctx.role >= Role::Manager {
        Ok(())
    } else {
        Err(AppError::forbidden("members change only their own views"))
    }
}

pub async fn read(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<SavedView> {
    let mut conn = state.db.read().await?;
    visible(find(conn.exec(), ctx.org_id, id).await?, ctx)
}

pub async fn create(state: &App, ctx: &OrgCtx, input: ViewInput) -> AppResult<SavedView> {
    let object = input.object.trim().to_string();
    let mut v = Validator::new();
    if !OBJECTS.contains(&object.as_str()) {
        v.add("object", format!("must be one of {}", OBJECTS.join(", ")));
    }
    let name = v.check("name", validate::required_text(&input.name, 100));
    let columns = check_columns(&mut v, input.columns);
    v.finish()?;
    let query = check_query(state, ctx, &object, input.query.as_deref().unwrap_or_default()).await?;
    let now = crate::db::now();
    let view = SavedView {
        id: crate::db::new_id(),
        object,
        name: name.unwrap_or_default(),
        query,
        columns: SqlJson(columns),
        shared: input.shared,
        owner_id: ctx.user_id,
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin().await?;
    let count: i64 = run!(tx.exec(), c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM saved_views WHERE organization_id = $1 AND object = $2 AND owner_id = $3",
    )
    .bind(ctx.org_id)
    .bind(&view.object)
    .bind(ctx.user_id)
    .fetch_one(c)
    .await)?;
    if count >= MAX_PER_LIST {
        return Err(AppError::rule(
            "too_many_views",
            format!("a member keeps at most {MAX_PER_LIST} views of a list"),
        ));
    }
    run!(tx.exec(), c => sqlx::query(
        "INSERT INTO saved_views (organization_id, id, object, name, query, columns, shared, owner_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(ctx.org_id)
    .bind(view.id)
    .bind(&view.object)
    .bind(&view.name)
    .bind(&view.query)
    .bind(&view.columns)
    .bind(view.shared)
    .bind(view.owner_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(view)
}

pub async fn update(state: &App, ctx: &OrgCtx, id: Uuid, patch: ViewPatch) -> AppResult<SavedView> {
    let current = read(state, ctx, id).await?;
    ensure_may_change(&current, ctx)?;
    let mut v = Validator::new();
    let mut next = current.clone();
    if let Some(name) = &patch.name
        && let Some(name) = v.check("name", validate::required_text(name, 100))
    {
        next.name = name;
    }
    if patch.columns.is_some() {
        next.columns = SqlJson(check_columns(&mut v, patch.columns));
    }
    if let Some(shared) = patch.shared {
        // Another's view is changed by a manager only while it is shared:
        // making it private would hide it from everyone but its owner.
        if !shared && current.owner_id != ctx.user_id {
            v.add("shared", "only the owner makes a view private");
        }
        next.shared = shared;
    }
    v.finish()?;
    if let Some(query) = &patch.query {
        next.query = check_query(state, ctx, &current.object, query).await?;
    }
    if next == current {
        return Ok(current);
    }
    next.updated_at = crate::db::now();
    let mut tx = state.db.begin().await?;
    let locked = find(tx.exec(), ctx.org_id, id).await?;
    visible(locked, ctx)?;
    run!(tx.exec(), c => sqlx::query(
        "UPDATE saved_views SET name = $3, query = $4, columns = $5, shared = $6, updated_at = $7 \
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(ctx.org_id)
    .bind(id)
    .bind(&next.name)
    .bind(&next.query)
    .bind(&next.columns)
    .bind(next.shared)
    .bind(next.updated_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if current.owner_id != ctx.user_id {
        log(tx.exec(), ctx, "view.updated", &next).await?;
    }
    tx.commit().await?;
    Ok(next)
}

pub async fn delete(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let view = visible(find(tx.exec(), ctx.org_id, id).await?, ctx)?;
    ensure_may_change(&view, ctx)?;
    run!(tx.exec(), c => sqlx::query("DELETE FROM saved_views WHERE organization_id = $1 AND id = $2")
        .bind(ctx.org_id)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if view.owner_id != ctx.user_id {
        log(tx.exec(), ctx, "view.deleted", &view).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A manager's change of someone else's shared view goes in the audit log.
async fn log(c: Exec<'_>, ctx: &OrgCtx, action: &str, view: &SavedView) -> AppResult<()> {
    let event = Event::new(action.to_string())
        .by(ctx)
        .target("view", view.id)
        .details(json!({"name": view.name, "object": view.object, "owner_id": view.owner_id}));
    audit::record(c, ctx.org_id, &event).await?;
    Ok(())
}
