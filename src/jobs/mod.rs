//! The job worker: one per server process, a caller of the service layer like
//! the API and the web app. It claims due jobs from the queue
//! (`services::jobs`), runs each with the handler of its kind, and records
//! the outcome; every minute it also schedules the periodic system jobs,
//! and every quarter of a lease it takes back the jobs of workers that
//! stopped.
//!
//! Handlers run at most [`CONCURRENCY`] at a time. While one runs, the
//! worker renews its lease (`CRM_JOB_LEASE`) every third of it, so a long
//! job (a million-row import) keeps it however long it takes, and a job of
//! a stopped instance waits at most about one lease to run again. Stopping
//! the server aborts the handlers in progress: their leases run out and
//! another worker (or this one, restarted) runs them again, so a handler
//! must be safe to run twice: it commits its work in transactions of its
//! own, each leaving the data whole (an import's batches commit with its
//! progress, and it resumes from there).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DurationRound, Utc};
use tokio::sync::Semaphore;

use crate::app::App;
use crate::services::jobs::{self, Claimed, Failed, NewJob};

/// Jobs run at once by one process.
pub const CONCURRENCY: usize = 2;

/// How often an idle worker looks for due jobs.
const POLL: Duration = Duration::from_secs(1);

/// The kinds this worker runs.
pub const KINDS: &[&str] = &[RETENTION, IMPORT, DUPLICATES, LEAD_SCORES, LEAD_SCORE_CLOCK];

/// Applies an uploaded CSV file (`services::imports::run`).
pub const IMPORT: &str = crate::services::imports::JOB_KIND;

/// Finds an organization's likely duplicates (`services::duplicates::run`).
pub const DUPLICATES: &str = crate::services::duplicates::JOB_KIND;

/// Re-scores an organization's open leads (`services::leads::score::run`).
pub const LEAD_SCORES: &str = crate::services::leads::score::JOB;
/// Takes back lead score points that time took away; scheduled every hour.
pub const LEAD_SCORE_CLOCK: &str = crate::services::leads::score::CLOCK_JOB;
/// Deletes expired idempotency keys, refresh tokens, web sessions and old
/// finished jobs; scheduled every minute.
pub const RETENTION: &str = "retention";

/// Runs the worker until the task is aborted.
pub async fn run(state: App) {
    let worker = format!("{}:{}", hostname(), std::process::id());
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let lease = state.config.job_lease;
    let take_back_every = (lease / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut next_minute = tokio::time::Instant::now();
    let mut next_take_back = next_minute;
    loop {
        let now = tokio::time::Instant::now();
        if now >= next_minute {
            every_minute(&state).await;
            next_minute += Duration::from_secs(60);
        }
        if now >= next_take_back {
            take_back(&state).await;
            next_take_back = now + take_back_every;
        }
        let free = slots.available_permits() as i64;
        let claimed = match claim(&state, &worker, free).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming jobs failed");
                Vec::new()
            }
        };
        let idle = claimed.is_empty();
        for job in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let state = state.clone();
            let worker = worker.clone();
            tokio::spawn(async move {
                run_one(&state, &worker, job).await;
                drop(permit);
            });
        }
        if idle {
            tokio::time::sleep(POLL).await;
        }
    }
}

async fn claim(state: &App, worker: &str, n: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut tx = state.db.begin().await?;
    let claimed = jobs::claim(tx.exec(), worker, KINDS, n, state.config.job_lease).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Runs one claimed job, renewing its lease meanwhile, and records what
/// came of it.
async fn run_one(state: &App, worker: &str, job: Claimed) {
    let handler = async {
        match job.kind.as_str() {
            RETENTION => retention(state).await,
            IMPORT => crate::services::imports::run(state, &job).await,
            DUPLICATES => crate::services::duplicates::run(state, &job).await,
            LEAD_SCORES => crate::services::leads::score::run(state, &job).await,
            LEAD_SCORE_CLOCK => crate::services::leads::score::clock(state).await,
            other => Err(anyhow::anyhow!("no handler for jobs of kind {other}")),
        }
    };
    let result = tokio::select! {
        result = handler => result,
        lost = keep_lease(state, worker, &job) => {
            // Another worker took the job back (this one lost the database
            // for longer than a lease): it is theirs now.
            tracing::warn!(kind = %job.kind, id = %job.id, error = ?lost, "lost a job's lease; stopped running it");
            return;
        }
    };
    let recorded = async {
        let mut tx = state.db.begin().await?;
        let outcome = match &result {
            Ok(()) => {
                jobs::succeed(tx.exec(), &job).await?;
                None
            }
            Err(e) => Some(jobs::fail(tx.exec(), &job, &format!("{e:#}")).await?),
        };
        tx.commit().await?;
        Ok::<_, sqlx::Error>(outcome)
    }
    .await;
    match recorded {
        Ok(None) => tracing::debug!(kind = %job.kind, id = %job.id, "job succeeded"),
        Ok(Some(Failed::RetryAt(at))) => {
            tracing::warn!(kind = %job.kind, id = %job.id, attempt = job.attempts, retry_at = %at, error = ?result.err(), "job failed; will retry")
        }
        Ok(Some(Failed::Dead)) => {
            tracing::error!(kind = %job.kind, id = %job.id, attempts = job.attempts, error = ?result.err(), "job failed for the last time; dead")
        }
        // The lease runs out and the job is taken back.
        Err(e) => tracing::warn!(kind = %job.kind, id = %job.id, error = %e, "could not record a job's outcome"),
    }
}

/// Renews `job`'s lease every third of it; returns only when the lease is
/// lost (taken back by another worker, or not renewed in time).
async fn keep_lease(state: &App, worker: &str, job: &Claimed) -> anyhow::Error {
    let lease = state.config.job_lease;
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(lease / 3).await;
        let renewed = async {
            let mut tx = state.db.begin().await?;
            let renewed = jobs::renew(tx.exec(), job, worker, lease).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(renewed)
        }
        .await;
        match renewed {
            Ok(true) => last_renewed = tokio::time::Instant::now(),
            Ok(false) => return anyhow::anyhow!("the job was taken back"),
            Err(e) if last_renewed.elapsed() >= lease => return e.into(),
            Err(e) => tracing::warn!(id = %job.id, error = %e, "renewing a job's lease failed; will try again"),
        }
    }
}

/// Schedules this minute's periodic jobs (every instance does; the slot's
/// job is added once).
async fn every_minute(state: &App) {
    let slot = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or_else(|_| Utc::now());
    let done = async {
        let mut tx = state.db.begin().await?;
        jobs::enqueue(tx.exec(), &NewJob::periodic(RETENTION, slot)).await?;
        // Once an hour: the slot of the hour's first minute.
        let hour = slot.duration_trunc(chrono::Duration::hours(1)).unwrap_or(slot);
        jobs::enqueue(tx.exec(), &NewJob::periodic(LEAD_SCORE_CLOCK, hour)).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "scheduling periodic jobs failed");
    }
}

/// Takes back the jobs whose lease ran out.
async fn take_back(state: &App) {
    let done = async {
        let mut tx = state.db.begin().await?;
        let taken_back = jobs::take_back_expired(tx.exec()).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(taken_back)
    }
    .await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::warn!(jobs = n, "took back jobs whose worker stopped"),
        Err(e) => tracing::warn!(error = %e, "taking back jobs failed"),
    }
}

/// The retention job: what the server keeps only for a while.
async fn retention(state: &App) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    let keys = crate::services::idempotency::purge_expired(tx.exec()).await?;
    let tokens = crate::services::auth::queries::purge_expired_tokens(tx.exec()).await?
        + crate::services::auth::queries::purge_expired_web_sessions(tx.exec()).await?;
    let finished = jobs::purge_finished(tx.exec()).await?;
    tx.commit().await?;
    if keys + tokens + finished > 0 {
        tracing::debug!(keys, tokens, finished, "purged expired data");
    }
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "crm".into())
}
