//! The timeline (api.md §5 "Activities"): append-only entries on deals and
//! contacts. Clients post comments; the server appends the rest (status and
//! stage changes, task events, system events) in the transaction of the change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json as SqlJson;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::Exec;
use crate::error::{AppError, AppResult};
use crate::run;
use crate::services::pagination::{self, Cursor, Page};
use crate::services::validate;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Activity {
    pub id: Uuid,
    /// `comment`, `call`, `meeting`, `status_changed`, `stage_changed`, `task_created`, `task_completed` or `system`.
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    pub deal_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// The lead whose timeline holds it (leads.md).
    #[serde(default)]
    pub lead_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub payload: SqlJson<Value>,
    pub created_at: DateTime<Utc>,
}

/// Appends an activity of a deal and its contact, or of a contact.
pub async fn append(
    c: Exec<'_>,
    org: Uuid,
    kind: &str,
    deal: Option<Uuid>,
    contact: Option<Uuid>,
    author: Uuid,
    payload: Value,
) -> Result<Activity, sqlx::Error> {
    let filed = Filed {
        deal,
        contact,
        lead: None,
    };
    append_to(c, org, kind, filed, author, payload).await
}

/// The timelines an activity is filed under.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filed {
    pub deal: Option<Uuid>,
    pub contact: Option<Uuid>,
    pub lead: Option<Uuid>,
}

/// Appends an activity to the timelines `filed` names.
pub async fn append_to(
    c: Exec<'_>,
    org: Uuid,
    kind: &str,
    filed: Filed,
    author: Uuid,
    payload: Value,
) -> Result<Activity, sqlx::Error> {
    let activity = Activity {
        id: crate::db::new_id(),
        kind: kind.to_string(),
        deal_id: filed.deal,
        contact_id: filed.contact,
        lead_id: filed.lead,
        author_id: Some(author),
        payload: SqlJson(payload),
        created_at: crate::db::now(),
    };
    insert_many(c, org, std::slice::from_ref(&activity)).await?;
    Ok(activity)
}

/// Inserts activities as they are (an appended one, or a restored
/// organization's), a few hundred rows per statement.
pub async fn insert_many(mut c: Exec<'_>, org: Uuid, activities: &[Activity]) -> Result<(), sqlx::Error> {
    for part in activities.chunks(500) {
        run!(c.re(), conn => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO activities (organization_id, id, type, deal_id, contact_id, lead_id, author_id, payload, created_at) ",
            );
            q.push_values(part, |mut row, a| {
                row.push_bind(org)
                    .push_bind(a.id)
                    .push_bind(&a.kind)
                    .push_bind(a.deal_id)
                    .push_bind(a.contact_id)
                    .push_bind(a.lead_id)
                    .push_bind(a.author_id)
                    .push_bind(&a.payload)
                    .push_bind(a.created_at);
            });
            q.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Which timeline: a deal's, a contact's (its own and its deals'), or a
/// lead's.
#[derive(Debug, Clone, Copy)]
pub enum Timeline {
    Deal(Uuid),
    Contact(Uuid),
    Lead(Uuid),
}

impl Timeline {
    /// The column that files an activity under this timeline, and the id.
    fn column(self) -> (&'static str, Uuid) {
        match self {
            Timeline::Deal(id) => ("deal_id", id),
            Timeline::Contact(id) => ("contact_id", id),
            Timeline::Lead(id) => ("lead_id", id),
        }
    }
}

/// The columns an activity is read with.
const COLUMNS: &str = "id, type, deal_id, contact_id, lead_id, author_id, payload, created_at";

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// One page of a timeline, newest first.
pub async fn list(c: Exec<'_>, org: Uuid, timeline: Timeline, query: &TimelineQuery) -> AppResult<Page<Activity>> {
    let limit = pagination::limit(query.limit.as_deref())?;
    let after: Option<(DateTime<Utc>, Uuid)> = Cursor::decode(query.cursor.as_deref())?;
    let (column, id) = timeline.column();
    let rows: Vec<Activity> = run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM activities WHERE organization_id = "));
        q.push_bind(org).push(format!(" AND {column} = ")).push_bind(id);
        if let Some((at, last)) = after {
            q.push(" AND (created_at, id) < (").push_bind(at).push(", ").push_bind(last).push(")");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit + 1);
        q.build_query_as().fetch_all(conn).await
    })?;
    Ok(Page::from_rows(rows, limit, |a| Cursor::encode(&(a.created_at, a.id))))
}

/// The newest activities of the organization (the dashboard's "recent
/// activity"). A member who sees only their own records sees the activities
/// of their deals and contacts.
pub async fn recent(
    c: Exec<'_>,
    org: Uuid,
    only_owner: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Activity>, sqlx::Error> {
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM activities WHERE organization_id = "));
        q.push_bind(org);
        if let Some(user) = only_owner {
            q.push(" AND (deal_id IN (SELECT id FROM deals WHERE organization_id = ").push_bind(org)
                .push(" AND owner_id = ").push_bind(user)
                .push(") OR contact_id IN (SELECT id FROM contacts WHERE organization_id = ").push_bind(org)
                .push(" AND owner_id = ").push_bind(user).push("))");
        }
        q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit);
        q.build_query_as().fetch_all(conn).await
    })
}

/// Deletes the activities of a deal, a contact or a lead (with the record).
pub async fn delete_all(c: Exec<'_>, org: Uuid, timeline: Timeline) -> Result<(), sqlx::Error> {
    let (column, id) = timeline.column();
    let sql = format!("DELETE FROM activities WHERE organization_id = $1 AND {column} = $2");
    run!(c, conn => sqlx::query(&sql).bind(org).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An activity as posted: a comment `{"type": "comment", "text": "…"}`
/// (without `type` it is a comment too), or a call or meeting logged by hand
/// `{"type": "call", "text": "…", "occurred_at": "…"}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    /// `comment` (default), `call` or `meeting`; the server writes the other types.
    #[serde(rename = "type")]
    #[schema(example = "comment")]
    pub kind: Option<String>,
    /// The comment, or the call's or meeting's note: 1..10000 characters, trimmed.
    pub text: String,
    /// When it took place (RFC 3339): a call's or meeting's default is now;
    /// a comment has one only when given.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub occurred_at: Option<String>,
}

impl CommentInput {
    /// The type and payload of a valid activity.
    pub fn checked(&self) -> AppResult<(&'static str, Value)> {
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("comment") => "comment",
            Some("call") => "call",
            Some("meeting") => "meeting",
            Some(_) => {
                return Err(AppError::field(
                    "type",
                    "must be comment, call or meeting (the server writes the other types)",
                ));
            }
        };
        let mut v = crate::error::Validator::new();
        let text = v.check("text", validate::required_text(&self.text, 10_000));
        let at = match self.occurred_at.as_deref().map(str::trim) {
            Some(t) => v
                .check("occurred_at", crate::services::records::parse_time(t))
                .map(Some),
            // A call or meeting took place now unless told; a comment has no
            // time of its own unless given one.
            None => Some((kind != "comment").then(crate::db::now)),
        };
        v.finish()?;
        let mut payload = serde_json::json!({ "text": text.unwrap_or_default() });
        if let Some(Some(at)) = at {
            payload["occurred_at"] = Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        Ok((kind, payload))
    }
}

/// Every activity of `org`, oldest first, `limit` at a time after the
/// (created_at, id) `after` (the organization export).
pub async fn all(
    state: &crate::app::App,
    org: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<Activity>, sqlx::Error> {
    let mut conn = state.db.read().await?;
    run!(conn.exec(), c => {
        let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM activities WHERE organization_id = "));
        q.push_bind(org);
        if let Some((at, id)) = after {
            q.push(" AND (created_at, id) > (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        q.push(" ORDER BY created_at, id LIMIT ").push_bind(limit);
        q.build_query_as().fetch_all(c).await
    })
}
