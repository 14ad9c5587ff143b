//! SQL of leads, written once for both backends.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::Exec;
use crate::run;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Lead {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub source: Option<String>,
    /// `{source, medium, campaign, term, content}`; null when unset.
    #[schema(value_type = Option<super::Utm>)]
    pub utm: Option<Json<Value>>,
    /// `new`, `contacted`, `qualified`, `unqualified` or `converted`.
    pub status: String,
    /// 0..100, from the rules `score_reasons` lists (read-only).
    pub score: i64,
    /// Each rule that gave points: `{rule, points}` (read-only).
    #[schema(value_type = Vec<super::ScoreReason>)]
    pub score_reasons: Json<Value>,
    /// What a buyer looks for; null when unset.
    #[schema(value_type = Option<super::Preferences>)]
    pub preferences: Option<Json<Value>>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
    /// Read-only: set by converting.
    pub converted_contact_id: Option<Uuid>,
    /// Read-only: set by converting with a deal.
    pub converted_deal_id: Option<Uuid>,
    /// Read-only.
    pub converted_at: Option<DateTime<Utc>>,
    #[schema(value_type = Vec<String>)]
    pub tags: Json<Vec<String>>,
    /// Custom field values: only set keys.
    #[schema(value_type = Object)]
    pub custom: Json<crate::services::custom_fields::CustomValues>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub const COLUMNS: &str = "id, owner_id, name, email, phone, company_name, source, utm, status, score, score_reasons, \
                           preferences, next_follow_up_at, converted_contact_id, converted_deal_id, converted_at, tags, custom, \
                           created_at, updated_at, version";

/// The statuses of open leads (unique by email and phone among them).
pub const OPEN: [&str; 3] = ["new", "contacted", "qualified"];

/// An open lead of `org` with this email or phone, other than `except`: its
/// id, its name, and which field collided (`email` first).
pub async fn find_open_duplicate(
    c: Exec<'_>,
    org: Uuid,
    email: Option<&str>,
    phone: Option<&str>,
    except: Uuid,
) -> Result<Option<(Uuid, String, &'static str)>, sqlx::Error> {
    let open = "status IN ('new', 'contacted', 'qualified')";
    crate::services::contacts::queries::find_same_person(c, "leads", open, org, email, phone, Some(except)).await
}

/// Whether the lead's timeline has an activity (other than the server's
/// `system` entries) since `since`.
pub async fn active_since(c: Exec<'_>, org: Uuid, lead: Uuid, since: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let found: Option<(Uuid,)> = run!(c, conn => sqlx::query_as(
        "SELECT id FROM activities WHERE organization_id = $1 AND lead_id = $2 AND created_at >= $3 AND type <> 'system' LIMIT 1",
    )
    .bind(org)
    .bind(lead)
    .bind(since)
    .fetch_optional(conn)
    .await)?;
    Ok(found.is_some())
}

/// The organization's own source weights (`PATCH /lead-scoring`).
pub async fn source_weights(c: Exec<'_>, org: Uuid) -> Result<Json<Value>, sqlx::Error> {
    let row: Option<(Json<Value>,)> = run!(c, conn => sqlx::query_as(
        "SELECT lead_source_weights FROM organizations WHERE id = $1",
    )
    .bind(org)
    .fetch_optional(conn)
    .await)?;
    Ok(row.map_or_else(|| Json(Value::Object(Default::default())), |r| r.0))
}

pub async fn set_source_weights(c: Exec<'_>, org: Uuid, weights: &Value) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query("UPDATE organizations SET lead_source_weights = $2 WHERE id = $1")
        .bind(org)
        .bind(Json(weights))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The ids of the open leads of `org` after `after` (keyset by id), `limit`
/// at a time: what a re-scoring walks.
pub async fn open_ids(c: Exec<'_>, org: Uuid, after: Option<Uuid>, limit: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    run!(c, conn => sqlx::query_scalar(
        "SELECT id FROM leads WHERE organization_id = $1 AND status IN ('new', 'contacted', 'qualified') \
         AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
    )
    .bind(org)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await)
}

/// The organizations that have open leads.
pub async fn orgs_with_open_leads(c: Exec<'_>) -> Result<Vec<Uuid>, sqlx::Error> {
    run!(c, conn => sqlx::query_scalar(
        "SELECT DISTINCT organization_id FROM leads WHERE status IN ('new', 'contacted', 'qualified')",
    )
    .fetch_all(conn)
    .await)
}

/// Open leads of `org` whose score may have dropped with time alone since
/// it was computed: points for recent activity (that activity may be older
/// than 14 days now), or for a follow-up that is no longer ahead (at or
/// before `now`). Up to `limit`, after `after`.
pub async fn clock_candidates(
    c: Exec<'_>,
    org: Uuid,
    now: DateTime<Utc>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    run!(c, conn => sqlx::query_scalar(
        "SELECT id FROM leads WHERE organization_id = $1 AND status IN ('new', 'contacted', 'qualified') \
         AND (CAST(score_reasons AS TEXT) LIKE '%\"recent_activity\"%' \
              OR (next_follow_up_at <= $2 AND CAST(score_reasons AS TEXT) LIKE '%\"follow_up\"%')) \
         AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4",
    )
    .bind(org)
    .bind(now)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await)
}

/// A contact of `org` with this email, else one with this phone.
pub async fn contact_matching(
    c: Exec<'_>,
    org: Uuid,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<Option<Uuid>, sqlx::Error> {
    if email.is_none() && phone.is_none() {
        return Ok(None);
    }
    let rows: Vec<(Uuid, Option<String>)> = run!(c, conn => sqlx::query_as(
        "SELECT id, email FROM contacts WHERE organization_id = $1 AND (email = $2 OR phone = $3) LIMIT 2",
    )
    .bind(org)
    .bind(email)
    .bind(phone)
    .fetch_all(conn)
    .await)?;
    let by_email = rows.iter().find(|(_, e)| email.is_some() && e.as_deref() == email);
    Ok(by_email.or(rows.first()).map(|(id, _)| *id))
}
