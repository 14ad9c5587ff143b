//! The review queue (data.md "Conflict review queue"): a matched record's
//! field that an import would have changed, kept until someone chooses the
//! stored value (`keep`) or the incoming one (`incoming`). Managers and
//! above.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::types::Json as SqlJson;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, FieldError};
use crate::run;
use crate::services::activities;
use crate::services::companies::Company;
use crate::services::contacts::Contact;
use crate::services::imports::apply::Importable;
use crate::services::orgs::{OrgCtx, Role};
use crate::services::pagination::{self, Cursor, Page};
use crate::services::records::shape::{self, Unwritten};

/// A field an import would have changed on a matched record.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Conflict {
    pub id: Uuid,
    pub import_id: Uuid,
    /// The file's line the row starts on.
    pub line: i64,
    /// `contact` or `company`.
    pub record_type: String,
    pub record_id: Uuid,
    pub field: String,
    /// The stored value when the row was imported.
    #[schema(value_type = Object)]
    pub current_value: SqlJson<Value>,
    /// The row's value as it would be stored (normalized).
    #[schema(value_type = Object)]
    pub incoming_value: SqlJson<Value>,
    #[schema(value_type = ConflictStatus)]
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Where a conflict is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictStatus {
    Open,
    Kept,
    Applied,
}

impl ConflictStatus {
    pub const ALL: [ConflictStatus; 3] = [ConflictStatus::Open, ConflictStatus::Kept, ConflictStatus::Applied];

    pub fn as_str(self) -> &'static str {
        match self {
            ConflictStatus::Open => "open",
            ConflictStatus::Kept => "kept",
            ConflictStatus::Applied => "applied",
        }
    }
}

/// A conflict to queue.
pub struct NewConflict<'a> {
    pub import_id: Uuid,
    pub line: u64,
    pub record_type: &'static str,
    pub record_id: Uuid,
    pub field: &'a str,
    pub current_value: &'a Value,
    pub incoming_value: &'a Value,
}

/// Queues a conflict on `c` (the import batch's transaction).
pub async fn add(c: Exec<'_>, org: Uuid, conflict: &NewConflict<'_>) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO import_conflicts (organization_id, id, import_id, line, record_type, record_id, field, \
         current_value, incoming_value, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10)",
    )
    .bind(org)
    .bind(crate::db::new_id())
    .bind(conflict.import_id)
    .bind(i64::try_from(conflict.line).unwrap_or(i64::MAX))
    .bind(conflict.record_type)
    .bind(conflict.record_id)
    .bind(conflict.field)
    .bind(SqlJson(conflict.current_value))
    .bind(SqlJson(conflict.incoming_value))
    .bind(crate::db::now())
    .execute(conn)
    .await
    .map(drop))
}

const COLUMNS: &str = "id, import_id, line, record_type, record_id, field, current_value, incoming_value, status, created_at, resolved_at";

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// Only this import's conflicts.
    #[param(value_type = Option<Uuid>)]
    pub import_id: Option<String>,
    /// Only conflicts with this status (all without).
    #[param(value_type = Option<ConflictStatus>)]
    pub status: Option<String>,
    /// Page size, 1..200 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of the queue, in the order the rows were imported.
pub async fn list(state: &App, ctx: &OrgCtx, query: &ConflictQuery) -> AppResult<Page<Conflict>> {
    ctx.require(Role::Manager)?;
    let mut errors = Vec::new();
    let import_id = match query.import_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match Uuid::parse_str(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(field_error("import_id", "must be a UUID"));
                None
            }
        },
    };
    let status = match query.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match ConflictStatus::ALL.into_iter().find(|s| s.as_str() == raw) {
            Some(status) => Some(status),
            None => {
                errors.push(field_error("status", "must be open, kept or applied"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let limit = pagination::limit(query.limit.as_deref())?;
    let after: Option<Uuid> = Cursor::decode(query.cursor.as_deref())?;
    let mut conn = state.db.read().await?;
    // Served by the primary key, import_conflicts_import_idx or
    // import_conflicts_list_idx.
    let rows: Vec<Conflict> = run!(conn.exec(), c => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM import_conflicts WHERE organization_id = "));
        q.push_bind(ctx.org_id);
        if let Some(import) = import_id {
            q.push(" AND import_id = ").push_bind(import);
        }
        if let Some(status) = status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(after) = after {
            q.push(" AND id > ").push_bind(after);
        }
        q.push(" ORDER BY id LIMIT ").push_bind(limit + 1);
        q.build_query_as().fetch_all(c).await
    })?;
    Ok(Page::from_rows(rows, limit, |c| Cursor::encode(&c.id)))
}

/// What to do with a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Keep the stored value: nothing changes.
    Keep,
    /// Take the row's value: the record changes (its version bumps).
    Incoming,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    pub choice: Choice,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkResolveInput {
    /// 1..1000 conflict ids.
    #[schema(min_items = 1, max_items = 1000)]
    pub ids: Vec<Uuid>,
    pub choice: Choice,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resolved {
    pub resolved: usize,
}

/// Resolves one conflict; answers it as it is after.
pub async fn resolve_one(state: &App, ctx: &OrgCtx, id: Uuid, choice: Choice) -> AppResult<Conflict> {
    let mut resolved = resolve(state, ctx, &[id], choice).await?;
    resolved.pop().ok_or_else(AppError::not_found)
}

/// Resolves `ids` all or none, in one transaction: an unknown id is a 404,
/// one resolved already a 409 `conflict_already_resolved`, one whose record
/// changed since (for `incoming`) a 409 `conflict_stale`, each naming the
/// ids.
pub async fn resolve(state: &App, ctx: &OrgCtx, ids: &[Uuid], choice: Choice) -> AppResult<Vec<Conflict>> {
    ctx.require(Role::Manager)?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(AppError::field("ids", "name 1 to 1000 conflicts"));
    }
    let mut ids: Vec<Uuid> = ids.to_vec();
    ids.sort();
    ids.dedup();
    let mut tx = state.db.begin().await?;
    let mut conflicts = Vec::with_capacity(ids.len());
    let mut unknown = Vec::new();
    for id in &ids {
        let sql = format!(
            "SELECT {COLUMNS} FROM import_conflicts WHERE organization_id = $1 AND id = $2{}",
            tx.exec().for_update()
        );
        let found: Option<Conflict> =
            run!(tx.exec(), c => sqlx::query_as(&sql).bind(ctx.org_id).bind(id).fetch_optional(c).await)?;
        match found {
            Some(conflict) => conflicts.push(conflict),
            None => unknown.push(id.to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::not_found().with("ids", json!(unknown)));
    }
    let done: Vec<String> = conflicts
        .iter()
        .filter(|c| c.status != "open")
        .map(|c| c.id.to_string())
        .collect();
    if !done.is_empty() {
        return Err(
            AppError::conflict("conflict_already_resolved", "these conflicts are resolved already")
                .with("ids", json!(done)),
        );
    }
    let now = crate::db::now();
    let status = match choice {
        Choice::Keep => ConflictStatus::Kept,
        Choice::Incoming => ConflictStatus::Applied,
    };
    let mut stale = Vec::new();
    if choice == Choice::Incoming {
        for conflict in &conflicts {
            let applied = match conflict.record_type.as_str() {
                "contact" => apply::<Contact>(tx.exec(), ctx, conflict).await?,
                "company" => apply::<Company>(tx.exec(), ctx, conflict).await?,
                _ => false,
            };
            if !applied {
                stale.push(conflict.id.to_string());
            }
        }
    }
    if !stale.is_empty() {
        return Err(AppError::conflict(
            "conflict_stale",
            "the record changed since the import: the stored value is no longer the one shown",
        )
        .with("ids", json!(stale)));
    }
    for conflict in &mut conflicts {
        run!(tx.exec(), c => sqlx::query(
            "UPDATE import_conflicts SET status = $3, resolved_at = $4, resolved_by = $5 WHERE organization_id = $1 AND id = $2",
        )
        .bind(ctx.org_id)
        .bind(conflict.id)
        .bind(status.as_str())
        .bind(now)
        .bind(ctx.user_id)
        .execute(c)
        .await
        .map(drop))?;
        conflict.status = status.as_str().into();
        conflict.resolved_at = Some(now);
    }
    crate::services::analytics::commit(state, tx, ctx.org_id).await?;
    Ok(conflicts)
}

/// Takes the incoming value of `conflict` into its record, under the
/// record's row lock; `false` when stale (the record is gone, or its field
/// no longer holds the value the conflict was raised against).
async fn apply<R>(mut c: Exec<'_>, ctx: &OrgCtx, conflict: &Conflict) -> AppResult<bool>
where
    R: Importable,
    R::Input: DeserializeOwned,
    R::Patch: DeserializeOwned,
{
    let Some(current) = R::find(c.re(), ctx.org_id, conflict.record_id).await? else {
        return Ok(false);
    };
    let stored = serde_json::to_value(&current).unwrap_or(Value::Null);
    if stored[&conflict.field] != conflict.current_value.0 {
        return Ok(false);
    }
    let mut patch = Map::new();
    patch.insert(conflict.field.clone(), conflict.incoming_value.0.clone());
    let patch: R::Patch = serde_json::from_value(Value::Object(patch)).map_err(AppError::internal)?;
    let next = R::check_patch(c.re(), ctx, &current, patch).await?;
    if next.record != current {
        match shape::write_changed(c.re(), ctx, &current, next).await {
            Ok(_) => {}
            Err(Unwritten::Database(e, _)) => return Err(e.into()),
            Err(Unwritten::Refused(e)) => return Err(e),
        }
    }
    if let Some((deal, contact)) = current.noted_on() {
        activities::append(
            c,
            ctx.org_id,
            "system",
            deal,
            contact,
            ctx.user_id,
            json!({
                "event": "import_conflict_resolved",
                "field": conflict.field,
                "from": conflict.current_value.0,
                "to": conflict.incoming_value.0,
            }),
        )
        .await?;
    }
    Ok(true)
}

fn field_error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}
