//! The durable job queue (automation.md "Background jobs"): work that runs
//! after the request that asked for it, survives restarts and is shared by
//! every instance on one database. The worker that runs jobs is
//! `crate::jobs`; this module holds the queue's rules and SQL.
//!
//! A job's life: [`enqueue`] adds it `queued` inside the caller's
//! transaction (it exists only if the business write commits). A worker
//! [`claim`]s due jobs, which become `running` with a lease
//! (`CRM_JOB_LEASE`, renewed by the worker while the job runs: [`renew`])
//! and one more attempt. The worker then marks the job
//! [`succeed`]ed, or [`fail`]s it: back to `queued` after an exponential
//! [`backoff`], or `dead` after `max_attempts`. A worker that stops
//! mid-job (crash, deploy) leaves its lease to expire; [`take_back_expired`]
//! queues the job again, so a job runs at least once, and a handler must
//! be safe to run twice.
//!
//! On PostgreSQL the claim locks the rows it takes with `FOR UPDATE SKIP
//! LOCKED`: several instances claim at once without waiting for each other
//! and without taking the same job. On SQLite the claim is one statement on
//! the single writer connection, which serializes it.
//!
//! Why our own and not a crate: the maintained ones either use sqlx 0.9
//! (apalis 1.0), support PostgreSQL only (underway, sqlxmq, graphile_worker),
//! cannot enqueue in the caller's transaction or carry an organization id
//! (apalis-sql 0.7), or can hand one job to two workers (fang 0.11).
//! docs/architecture.md has the comparison.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json as SqlJson;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::App;
use crate::db::{Backend, Exec};
use crate::error::{AppError, AppResult, FieldError};
use crate::run;
use crate::services::orgs::{OrgCtx, Role};
use crate::services::pagination::{self, Cursor, Page};

/// The organization id of the system's own jobs.
pub const SYSTEM: Uuid = Uuid::nil();

/// Attempts before a job is dead, unless it says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Dead,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Dead => "dead",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A job to add.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub organization_id: Uuid,
    pub id: Uuid,
    pub kind: &'static str,
    pub payload: Value,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
}

impl NewJob {
    /// A job of `kind` for `organization_id` ([`SYSTEM`] for the system's own),
    /// due now.
    pub fn new(organization_id: Uuid, kind: &'static str, payload: Value) -> Self {
        NewJob {
            organization_id,
            id: crate::db::new_id(),
            kind,
            payload,
            run_at: crate::db::now(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// The system's periodic job of `kind` for the time slot starting at
    /// `slot`: its id is derived from both, so every instance that schedules
    /// the slot adds the same job, once.
    pub fn periodic(kind: &'static str, slot: DateTime<Utc>) -> Self {
        NewJob {
            id: crate::db::derived_id(&format!("{kind}@{}", slot.timestamp())),
            run_at: slot,
            ..NewJob::new(SYSTEM, kind, Value::Object(Default::default()))
        }
    }
}

/// Adds `job` on `c`, normally the caller's transaction, so the job exists
/// only if the caller's writes commit. `false` when a job with its id is
/// already there (a periodic slot another instance scheduled).
pub async fn enqueue(c: Exec<'_>, job: &NewJob) -> Result<bool, sqlx::Error> {
    let now = crate::db::now();
    let added = run!(c, conn => sqlx::query(
        "INSERT INTO jobs (organization_id, id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7) ON CONFLICT (organization_id, id) DO NOTHING",
    )
    .bind(job.organization_id)
    .bind(job.id)
    .bind(job.kind)
    .bind(SqlJson(&job.payload))
    .bind(job.max_attempts)
    .bind(job.run_at)
    .bind(now)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(added == 1)
}

/// A job a worker has claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub organization_id: Uuid,
    pub id: Uuid,
    pub kind: String,
    pub payload: SqlJson<Value>,
    /// This attempt's number, from 1.
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Claims up to `n` due jobs of the given kinds for `worker` (the kinds this
/// instance knows: an older instance leaves a newer kind to a newer one),
/// each held for `lease` unless [`renew`]ed.
pub async fn claim(
    c: Exec<'_>,
    worker: &str,
    kinds: &[&str],
    n: i64,
    lease: std::time::Duration,
) -> Result<Vec<Claimed>, sqlx::Error> {
    if kinds.is_empty() || n < 1 {
        return Ok(Vec::new());
    }
    let now = crate::db::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let skip_locked = match c.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new("UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = ");
        q.push_bind(worker)
            .push(", locked_until = ")
            .push_bind(until)
            .push(", updated_at = ")
            .push_bind(now)
            .push(" WHERE (organization_id, id) IN (SELECT organization_id, id FROM jobs WHERE status = 'queued' AND run_at <= ")
            .push_bind(now)
            .push(" AND kind IN (");
        let mut list = q.separated(", ");
        for kind in kinds {
            list.push_bind(*kind);
        }
        q.push(") ORDER BY run_at LIMIT ")
            .push_bind(n)
            .push(skip_locked)
            .push(") RETURNING organization_id, id, kind, payload, attempts, max_attempts");
        q.build_query_as().fetch_all(conn).await
    })
}

/// Extends the lease of a running job by `lease` from now; `false` when the
/// job is no longer this worker's (its lease ran out and it was taken back).
pub async fn renew(c: Exec<'_>, job: &Claimed, worker: &str, lease: std::time::Duration) -> Result<bool, sqlx::Error> {
    let now = crate::db::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let renewed = run!(c, conn => sqlx::query(
        "UPDATE jobs SET locked_until = $4, updated_at = $5 \
         WHERE organization_id = $1 AND id = $2 AND status = 'running' AND locked_by = $3",
    )
    .bind(job.organization_id)
    .bind(job.id)
    .bind(worker)
    .bind(until)
    .bind(now)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(renewed == 1)
}

/// Marks a claimed job done.
pub async fn succeed(c: Exec<'_>, job: &Claimed) -> Result<(), sqlx::Error> {
    let now = crate::db::now();
    run!(c, conn => sqlx::query(
        "UPDATE jobs SET status = 'succeeded', locked_until = NULL, last_error = NULL, finished_at = $3, updated_at = $3 \
         WHERE organization_id = $1 AND id = $2 AND status = 'running'",
    )
    .bind(job.organization_id)
    .bind(job.id)
    .bind(now)
    .execute(conn)
    .await
    .map(drop))
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Failed {
    /// Queued again, due at this time.
    RetryAt(DateTime<Utc>),
    Dead,
}

/// Records a claimed job's failed attempt: queued again after [`backoff`],
/// or dead when it was the last attempt.
pub async fn fail(c: Exec<'_>, job: &Claimed, error: &str) -> Result<Failed, sqlx::Error> {
    let now = crate::db::now();
    let outcome = if job.attempts >= job.max_attempts {
        Failed::Dead
    } else {
        Failed::RetryAt(now + backoff(job.attempts))
    };
    let (status, run_at, finished_at) = match outcome {
        Failed::Dead => ("dead", None, Some(now)),
        Failed::RetryAt(at) => ("queued", Some(at), None),
    };
    let error: String = error.chars().take(2000).collect();
    run!(c, conn => sqlx::query(
        "UPDATE jobs SET status = $3, run_at = COALESCE($4, run_at), finished_at = $5, last_error = $6, \
         locked_until = NULL, updated_at = $7 WHERE organization_id = $1 AND id = $2 AND status = 'running'",
    )
    .bind(job.organization_id)
    .bind(job.id)
    .bind(status)
    .bind(run_at)
    .bind(finished_at)
    .bind(error)
    .bind(now)
    .execute(conn)
    .await
    .map(drop))?;
    Ok(outcome)
}

/// The wait before attempt `attempts + 1`: 2 s, 4 s, 8 s, … doubling up to
/// an hour, each shortened by up to a fifth at random so that jobs failed
/// together do not all come back together.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exponent = attempts.clamp(1, 12) - 1;
    let full = (2_i64 << exponent).min(3600) * 1000;
    let jitter = rand::random_range(0..=full / 5);
    chrono::Duration::milliseconds(full - jitter)
}

/// Takes back the jobs whose worker's lease ran out (the instance stopped
/// or lost the database mid-job): queued again at once, or dead when that
/// was their last attempt. Returns how many.
pub async fn take_back_expired(c: Exec<'_>) -> Result<u64, sqlx::Error> {
    let now = crate::db::now();
    run!(c, conn => sqlx::query(
        "UPDATE jobs SET \
           status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
           finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, \
           run_at = $1, locked_until = NULL, updated_at = $1, \
           last_error = 'the worker stopped before finishing (its lease ran out)' \
         WHERE status = 'running' AND locked_until < $1",
    )
    .bind(now)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))
}

/// Deletes finished jobs: succeeded ones after 7 days, dead ones after 30
/// (long enough for an admin to look). Returns how many.
pub async fn purge_finished(c: Exec<'_>) -> Result<u64, sqlx::Error> {
    let now = crate::db::now();
    run!(c, conn => sqlx::query(
        "DELETE FROM jobs WHERE (status = 'succeeded' AND finished_at < $1) OR (status = 'dead' AND finished_at < $2)",
    )
    .bind(now - chrono::Duration::days(7))
    .bind(now - chrono::Duration::days(30))
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))
}

/// A job as admins see it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    /// What the job does (`import`, `webhook.delivery`, …).
    pub kind: String,
    #[schema(value_type = JobStatus)]
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    pub max_attempts: i32,
    /// When it is due (its next attempt, for a queued job).
    pub run_at: DateTime<Utc>,
    /// The last failed attempt's error.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only the jobs with this status.
    #[param(value_type = Option<JobStatus>)]
    pub status: Option<String>,
    /// Page size, 1..200 (default 50).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of the organization's jobs, newest first (admin and owner; the
/// API and the settings page).
pub async fn list(state: &App, ctx: &OrgCtx, query: &JobQuery) -> AppResult<Page<Job>> {
    ctx.require(Role::Admin)?;
    let status = match query.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(JobStatus::parse(raw).ok_or_else(|| {
            AppError::validation(vec![FieldError {
                field: "status".into(),
                message: "must be queued, running, succeeded or dead".into(),
            }])
        })?),
    };
    let limit = pagination::limit(query.limit.as_deref())?;
    let after: Option<pagination::NewestKey> = Cursor::decode(query.cursor.as_deref())?;
    let mut conn = state.db.read().await?;
    // Served by jobs_list_idx, or jobs_status_idx with a status.
    let rows: Vec<Job> = run!(conn.exec(), c => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT id, kind, status, attempts, max_attempts, run_at, last_error, created_at, updated_at, finished_at \
             FROM jobs WHERE organization_id = ",
        );
        q.push_bind(ctx.org_id);
        if let Some(status) = status {
            q.push(" AND status = ").push_bind(status.as_str());
        }
        pagination::push_newest_first(&mut q, after, limit);
        q.build_query_as().fetch_all(c).await
    })?;
    Ok(Page::from_rows(rows, limit, |j| Cursor::encode(&(j.created_at, j.id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour_less_up_to_a_fifth() {
        for (attempts, full) in [
            (1, 2_000),
            (2, 4_000),
            (3, 8_000),
            (11, 2_048_000),
            (12, 3_600_000),
            (40, 3_600_000),
        ] {
            for _ in 0..50 {
                let wait = backoff(attempts).num_milliseconds();
                assert!(wait <= full && wait >= full - full / 5, "attempt {attempts}: {wait} ms");
            }
        }
    }

    #[test]
    fn a_periodic_slot_is_one_job_whoever_schedules_it() {
        let slot = DateTime::parse_from_rfc3339("2026-12-07T06:00:00Z").unwrap().to_utc();
        assert_eq!(
            NewJob::periodic("retention", slot).id,
            NewJob::periodic("retention", slot).id
        );
        let next = slot + chrono::Duration::minutes(1);
        assert_ne!(
            NewJob::periodic("retention", slot).id,
            NewJob::periodic("retention", next).id
        );
        assert_eq!(NewJob::periodic("retention", slot).organization_id, SYSTEM);
    }
}
