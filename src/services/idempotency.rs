//! `Idempotency-Key` on creating POSTs (api.md §1, §7).
//!
//! The stored response is written in the same transaction as the record it
//! describes, so a replay can never point at something that was rolled back,
//! and a failed request (not 2xx) keeps nothing: the client may retry it with
//! the same key.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::Exec;
use crate::error::{AppError, AppResult};
use crate::run;

/// Keys are remembered this long.
const KEEP_HOURS: i64 = 24;

/// `Idempotency-Key` header of a creating POST (≤ 255 characters, else 422).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

pub struct Idempotency {
    key: Option<String>,
    organization: Uuid,
    user: Uuid,
    request_hash: Vec<u8>,
}

impl Idempotency {
    /// `operation` names the endpoint (`"POST /organizations"`), so the same key
    /// sent to another endpoint counts as a different request. `organization` is
    /// the nil uuid outside an organization.
    pub fn new(key: IdempotencyKey, organization: Uuid, user: Uuid, operation: &str, body: &Value) -> Self {
        // serde_json's maps are ordered by key, so equal JSON hashes equally
        // whatever the order of its members on the wire.
        let canonical = serde_json::to_vec(body).unwrap_or_default();
        let mut hasher = Sha256::new();
        hasher.update(operation.as_bytes());
        hasher.update([0]);
        hasher.update(&canonical);
        Self {
            key: key.0,
            organization,
            user,
            request_hash: hasher.finalize().to_vec(),
        }
    }

    /// No key: every request is new (the web app, whose forms carry a CSRF
    /// token instead and answer a repeat with the record page).
    pub fn none() -> Self {
        Self {
            key: None,
            organization: Uuid::nil(),
            user: Uuid::nil(),
            request_hash: Vec::new(),
        }
    }

    /// The first response of this key, if this is a repeat; 422
    /// `idempotency_key_reused` when the key came before with another request.
    pub async fn replay(&self, mut c: Exec<'_>) -> AppResult<Option<Replay>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let row: Option<(Vec<u8>, i32, String, DateTime<Utc>)> = run!(c.re(), conn => sqlx::query_as(
            "SELECT request_hash, status, response, created_at FROM idempotency_keys \
             WHERE organization_id = $1 AND user_id = $2 AND idempotency_key = $3",
        )
        .bind(self.organization)
        .bind(self.user)
        .bind(key)
        .fetch_optional(conn)
        .await)?;
        let Some((hash, status, body, created_at)) = row else {
            return Ok(None);
        };
        if created_at < crate::db::now() - chrono::Duration::hours(KEEP_HOURS) {
            // Expired: forget it, this request starts afresh.
            run!(c, conn => sqlx::query(
                "DELETE FROM idempotency_keys WHERE organization_id = $1 AND user_id = $2 AND idempotency_key = $3",
            )
            .bind(self.organization)
            .bind(self.user)
            .bind(key)
            .execute(conn)
            .await.map(|r| r.rows_affected()))?;
            return Ok(None);
        }
        if hash != self.request_hash {
            return Err(AppError::rule(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ));
        }
        let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
        let body: Value = serde_json::from_str(&body).map_err(AppError::internal)?;
        Ok(Some(Replay { status, body }))
    }

    /// Keeps a created record as the 201 answer to replay (serialized only
    /// when there is a key).
    pub async fn save_created<T: serde::Serialize>(&self, c: Exec<'_>, record: &T) -> AppResult<()> {
        if self.key.is_none() {
            return Ok(());
        }
        let body = serde_json::to_value(record).map_err(AppError::internal)?;
        self.save(c, StatusCode::CREATED, &body).await
    }

    /// Keeps the response of a successful request for replay.
    pub async fn save(&self, c: Exec<'_>, status: StatusCode, body: &Value) -> AppResult<()> {
        let Some(key) = &self.key else { return Ok(()) };
        let text = serde_json::to_string(body).map_err(AppError::internal)?;
        let result = run!(c, conn => sqlx::query(
            "INSERT INTO idempotency_keys (organization_id, user_id, idempotency_key, request_hash, status, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.organization)
        .bind(self.user)
        .bind(key)
        .bind(&self.request_hash)
        .bind(status.as_u16() as i32)
        .bind(text)
        .bind(crate::db::now())
        .execute(conn)
        .await.map(|r| r.rows_affected()));
        match result {
            Ok(_) => Ok(()),
            // A concurrent request with the same key committed first; this one
            // rolls back and the client's retry gets the replay.
            Err(e) if crate::db::is_unique_violation(&e) => Err(AppError::conflict(
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is being processed; retry to get its response",
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// The first answer to a request, stored under its `Idempotency-Key`.
#[derive(Debug, Clone)]
pub struct Replay {
    pub status: StatusCode,
    pub body: Value,
}

/// What a creating service call produced: the new record, or the stored first
/// answer to a repeated `Idempotency-Key`.
pub enum Created<T> {
    New(T),
    Replayed(Replay),
}

impl<T> Created<T> {
    /// The new record. Without a key there is no replay; with one, a replay
    /// names no record this caller can use, so it is refused as a conflict.
    pub fn into_new(self) -> AppResult<T> {
        match self {
            Created::New(record) => Ok(record),
            Created::Replayed(_) => Err(AppError::conflict(
                "idempotency_key_in_use",
                "this request was already made",
            )),
        }
    }
}

/// Deletes keys past their 24 hours (housekeeping).
pub async fn purge_expired(c: Exec<'_>) -> Result<u64, sqlx::Error> {
    let cutoff = crate::db::now() - chrono::Duration::hours(KEEP_HOURS);
    run!(c, conn => sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(cutoff)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))
}
