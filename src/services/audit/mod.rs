//! The audit log (api.md §4): an append-only trail of sign-ins, membership and
//! settings changes, deletions and exports, read by admins and owners.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json as SqlJson;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::AppResult;

use crate::run;
use crate::services::orgs::{Actor, OrgCtx, Role};
use crate::services::pagination::{self, Cursor, Page};

/// One thing that happened, about to be recorded.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: Cow<'static, str>,
    pub actor: Option<Actor>,
    pub target_type: Option<&'static str>,
    pub target_id: Option<Uuid>,
    pub ip: Option<String>,
    pub details: Value,
}

impl Event {
    pub fn new(action: impl Into<Cow<'static, str>>) -> Self {
        Self {
            action: action.into(),
            actor: None,
            target_type: None,
            target_id: None,
            ip: None,
            details: Value::Object(Default::default()),
        }
    }
    pub fn actor(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }
    /// The details as stored: an actor other than a user (an import, an
    /// automation, the system) is named in them as `actor`
    /// (`import:<id>`), since `actor_id` holds only a user's id.
    fn details_with_actor(&self) -> Value {
        let mut details = self.details.clone();
        if let Some(actor) = self.actor
            && actor.user_id().is_none()
            && let Value::Object(map) = &mut details
        {
            map.insert("actor".into(), Value::String(actor.label()));
        }
        details
    }
    /// Done in `ctx`: its actor, from its client address.
    pub fn by(self, ctx: &OrgCtx) -> Self {
        self.actor(ctx.actor).ip(ctx.ip_text())
    }
    pub fn target(mut self, kind: &'static str, id: Uuid) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id);
        self
    }
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Appends `event` to the log of `organization`.
pub async fn record(c: Exec<'_>, organization: Uuid, event: &Event) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO audit_log (organization_id, id, actor_id, action, target_type, target_id, ip, details, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(organization)
    .bind(crate::db::new_id())
    .bind(event.actor.and_then(Actor::user_id))
    .bind(event.action.as_ref())
    .bind(event.target_type)
    .bind(event.target_id)
    .bind(&event.ip)
    .bind(SqlJson(event.details_with_actor()))
    .bind(crate::db::now())
    .execute(conn)
    .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Appends `event` alone, in a transaction of its own: an action that
/// writes nothing else (an export).
pub async fn record_alone(state: &App, organization: Uuid, event: &Event) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    record(tx.exec(), organization, event).await?;
    tx.commit().await
}

/// Appends `event` to the log of every organization `user` belongs to (sign-in
/// events concern all of them).
pub async fn record_for_user(mut c: Exec<'_>, user: Uuid, event: &Event) -> Result<(), sqlx::Error> {
    let organizations: Vec<(Uuid,)> = run!(c.re(), conn => sqlx::query_as(
        "SELECT organization_id FROM memberships WHERE user_id = $1",
    )
    .bind(user)
    .fetch_all(conn)
    .await)?;
    for (organization,) in organizations {
        record(c.re(), organization, event).await?;
    }
    Ok(())
}

/// An audit log entry.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: Uuid,
    // The user who acted; null when an import, an automation or the system
    // did (then `details.actor` names it: `import:<id>`, `automation:<id>`,
    // `system`).
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<Uuid>,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub details: SqlJson<Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page size, 1..200 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of the audit log, newest first (admin and owner; the API and the
/// settings page).
pub async fn list(state: &App, ctx: &OrgCtx, query: &AuditQuery) -> AppResult<Page<AuditEntry>> {
    ctx.require(Role::Admin)?;
    let limit = pagination::limit(query.limit.as_deref())?;
    let after: Option<pagination::NewestKey> = Cursor::decode(query.cursor.as_deref())?;
    let mut conn = state.db.read().await?;
    // Newest first, ties by id in the same direction; the cursor is the last
    // (created_at, id) seen. Served by audit_log_created_idx.
    let rows: Vec<AuditEntry> = run!(conn.exec(), c => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, actor_id, action, target_type, target_id, ip, details, created_at FROM audit_log WHERE organization_id = ",
        );
        q.push_bind(ctx.org_id);
        pagination::push_newest_first(&mut q, after, limit);
        q.build_query_as().fetch_all(c).await
    })?;
    Ok(Page::from_rows(rows, limit, |e| Cursor::encode(&(e.created_at, e.id))))
}
