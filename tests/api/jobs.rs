//! The durable job queue (issue 15 item 1): enqueued in the caller's
//! transaction, claimed once however many workers ask, retried with a
//! growing wait, dead after the last attempt, taken back when a worker
//! stops, listed for admins; and the server's own worker runs the periodic
//! retention job.

use std::collections::HashSet;
use std::time::Duration;

use crm::app::App;
use crm::services::jobs::{self, Failed, NewJob};
use serde_json::json;
use uuid::Uuid;

use crate::both;
use crate::helpers::*;

/// A second handle on the test server's database, as another instance has.
async fn instance(app: &TestApp) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let core = App::open(test_config(&app.database_url, dir.path())).await.unwrap();
    (core, dir)
}

/// Adds a job of a kind the server's worker does not run (so it stays where
/// the test puts it), committed.
async fn add(core: &App, org: Uuid, kind: &'static str, max_attempts: i32) -> Uuid {
    let mut job = NewJob::new(org, kind, json!({"n": 1}));
    job.max_attempts = max_attempts;
    let mut tx = core.db.begin().await.unwrap();
    assert!(jobs::enqueue(tx.exec(), &job).await.unwrap());
    tx.commit().await.unwrap();
    job.id
}

async fn claim(core: &App, worker: &str, kind: &str, n: i64) -> Vec<jobs::Claimed> {
    let mut tx = core.db.begin().await.unwrap();
    let claimed = jobs::claim(tx.exec(), worker, &[kind], n, Duration::from_secs(300))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    claimed
}

async fn fail(core: &App, job: &jobs::Claimed, error: &str) -> Failed {
    let mut tx = core.db.begin().await.unwrap();
    let outcome = jobs::fail(tx.exec(), job, error).await.unwrap();
    tx.commit().await.unwrap();
    outcome
}

both! {
    async fn admins_list_their_organizations_jobs_by_status(app) {
        let ann = app.register("ann@example.com").await;
        let bob = app.register("bob@example.com").await;
        let member = app.add_member(&ann, "mia@example.com", "member").await;
        let (core, _dir) = instance(&app).await;
        let org: Uuid = ann.org_id.parse().unwrap();
        app.get(&ann, "/api/v1/jobs").await.assert(200);

        let first = add(&core, org, "test.waiting", 3).await;
        let second = add(&core, org, "test.waiting", 3).await;
        // One enqueued in a transaction that rolls back never exists.
        let mut tx = core.db.begin().await.unwrap();
        jobs::enqueue(tx.exec(), &NewJob::new(org, "test.waiting", json!({}))).await.unwrap();
        drop(tx);

        let r = app.get(&ann, "/api/v1/jobs").await;
        r.assert(200);
        let ids: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![second.to_string(), first.to_string()], "newest first, the rolled-back one absent");
        let job = &r.body["data"][0];
        assert_eq!(job["kind"], "test.waiting");
        assert_eq!(job["status"], "queued");
        assert_eq!(job["attempts"], 0);
        assert_eq!(job["max_attempts"], 3);
        assert!(job["last_error"].is_null() && job["finished_at"].is_null());

        // Paging and the status filter.
        let page = app.get(&ann, "/api/v1/jobs?limit=1").await;
        assert_eq!(page.body["data"].as_array().unwrap().len(), 1);
        let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
        let rest = app.get(&ann, &format!("/api/v1/jobs?limit=1&cursor={cursor}")).await;
        assert_eq!(rest.body["data"][0]["id"], first.to_string());
        assert_eq!(app.get(&ann, "/api/v1/jobs?status=queued").await.body["data"].as_array().unwrap().len(), 2);
        assert_eq!(app.get(&ann, "/api/v1/jobs?status=dead").await.body["data"], json!([]));
        let bad = app.get(&ann, "/api/v1/jobs?status=finished").await;
        bad.assert_problem(422, "validation_failed");
        assert_eq!(bad.body["errors"][0]["field"], "status");

        // Admins and owners only; another organization sees none of them.
        app.get(&member, "/api/v1/jobs").await.assert_problem(403, "forbidden");
        assert_eq!(app.get(&bob, "/api/v1/jobs").await.body["data"], json!([]));
        let r = app.as_user_in(&bob, &ann.org_id, reqwest::Method::GET, "/api/v1/jobs");
        send(r).await.assert_problem(403, "not_a_member");
    }

    async fn a_failed_job_waits_longer_each_time_then_is_dead(app) {
        let ann = app.register("ann@example.com").await;
        let (core, _dir) = instance(&app).await;
        let org: Uuid = ann.org_id.parse().unwrap();
        let id = add(&core, org, "test.flaky", 2).await;

        let first = claim(&core, "w1", "test.flaky", 10).await;
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].id, first[0].attempts), (id, 1));
        assert!(claim(&core, "w2", "test.flaky", 10).await.is_empty(), "a running job is nobody else's");

        let before = chrono::Utc::now();
        let Failed::RetryAt(at) = fail(&core, &first[0], "the endpoint answered 502").await else {
            panic!("the first failure of two attempts is retried");
        };
        let wait = (at - before).num_milliseconds();
        assert!((1_500..=2_100).contains(&wait), "first retry after about 2 s, got {wait} ms");
        let listed = app.get(&ann, "/api/v1/jobs").await;
        assert_eq!(listed.body["data"][0]["status"], "queued");
        assert_eq!(listed.body["data"][0]["attempts"], 1);
        assert_eq!(listed.body["data"][0]["last_error"], "the endpoint answered 502");
        assert!(claim(&core, "w1", "test.flaky", 10).await.is_empty(), "not due before its wait");

        tokio::time::sleep(Duration::from_millis(2_200)).await;
        let second = claim(&core, "w2", "test.flaky", 10).await;
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].attempts, 2);
        assert_eq!(fail(&core, &second[0], "still 502").await, Failed::Dead);
        let dead = app.get(&ann, "/api/v1/jobs?status=dead").await;
        assert_eq!(dead.body["data"][0]["id"], id.to_string());
        assert_eq!(dead.body["data"][0]["attempts"], 2);
        assert_eq!(dead.body["data"][0]["last_error"], "still 502");
        assert!(dead.body["data"][0]["finished_at"].is_string());
        assert!(claim(&core, "w1", "test.flaky", 10).await.is_empty(), "a dead job is never claimed");
    }

    async fn two_instances_never_claim_the_same_job(app) {
        let ann = app.register("ann@example.com").await;
        let (one, _d1) = instance(&app).await;
        let (two, _d2) = instance(&app).await;
        let org: Uuid = ann.org_id.parse().unwrap();
        let mut added = HashSet::new();
        for _ in 0..120 {
            added.insert(add(&one, org, "test.shared", 3).await);
        }
        let drain = |core: App, name: &'static str| async move {
            let mut mine = Vec::new();
            loop {
                let batch = claim(&core, name, "test.shared", 7).await;
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|j| j.id));
            }
        };
        let (a, b) = tokio::join!(drain(one.clone(), "one"), drain(two.clone(), "two"));
        let all: Vec<Uuid> = a.iter().chain(b.iter()).copied().collect();
        let unique: HashSet<Uuid> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len(), "a job was claimed twice");
        assert_eq!(unique, added, "every job claimed");
    }

    async fn a_job_whose_worker_stopped_is_taken_back(app) {
        let ann = app.register("ann@example.com").await;
        let (core, _dir) = instance(&app).await;
        let org: Uuid = ann.org_id.parse().unwrap();
        let id = add(&core, org, "test.orphan", 5).await;
        assert_eq!(claim(&core, "gone", "test.orphan", 1).await.len(), 1);
        // The worker stopped; its lease runs out.
        let past = crm::db::now() - chrono::Duration::minutes(10);
        let mut tx = core.db.begin().await.unwrap();
        crm::run!(tx.exec(), c => sqlx::query("UPDATE jobs SET locked_until = $1 WHERE id = $2").bind(past).bind(id).execute(c).await.map(drop)).unwrap();
        assert_eq!(jobs::take_back_expired(tx.exec()).await.unwrap(), 1);
        tx.commit().await.unwrap();
        let again = claim(&core, "next", "test.orphan", 1).await;
        assert_eq!((again[0].id, again[0].attempts), (id, 2));
        let listed = app.get(&ann, "/api/v1/jobs").await;
        assert!(listed.body["data"][0]["last_error"].as_str().unwrap().contains("lease"));
    }

    async fn the_server_runs_the_retention_job_every_minute(app) {
        let (core, _dir) = instance(&app).await;
        // Due at start-up; the worker claims it within a second or two.
        let mut status = None;
        for _ in 0..40 {
            let mut conn = core.db.read().await.unwrap();
            let row: Option<(String, i32)> = crm::run!(conn.exec(), c => sqlx::query_as(
                "SELECT status, attempts FROM jobs WHERE kind = 'retention' ORDER BY created_at LIMIT 1",
            ).fetch_optional(c).await).unwrap();
            if row.as_ref().is_some_and(|(s, _)| s == "succeeded") {
                status = row;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(status, Some(("succeeded".to_string(), 1)));
        // A second instance scheduling the same minute adds nothing.
        let slot = chrono::DurationRound::duration_trunc(chrono::Utc::now(), chrono::Duration::minutes(1)).unwrap();
        let mut tx = core.db.begin().await.unwrap();
        let first = jobs::enqueue(tx.exec(), &NewJob::periodic("retention", slot)).await.unwrap();
        let again = jobs::enqueue(tx.exec(), &NewJob::periodic("retention", slot)).await.unwrap();
        tx.commit().await.unwrap();
        assert!(!again, "the slot's job is added once (first call added it: {first})");
    }
}
