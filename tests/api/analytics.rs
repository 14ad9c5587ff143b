//! api.md §6 analytics: summary, funnel, visibility and cache invalidation
//! across instances.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const SUMMARY: &str = "/api/v1/analytics/deals/summary";
const FUNNEL: &str = "/api/v1/analytics/deals/funnel";

async fn contact(app: &TestApp, s: &Session) -> String {
    let r = app.post(s, "/api/v1/contacts", json!({"name": "John"})).await;
    r.assert(201);
    r.body["id"].as_str().unwrap().to_string()
}

async fn deal(app: &TestApp, s: &Session, body: Value) -> String {
    let r = app.post(s, "/api/v1/deals", body).await;
    r.assert(201);
    format!("/api/v1/deals/{}", r.body["id"].as_str().unwrap())
}

fn stage<'a>(funnel: &'a Value, key: &str) -> &'a Value {
    funnel["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == key)
        .unwrap()
}

both! {
    async fn an_empty_summary_has_every_status(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.get(&ann, SUMMARY).await;
        r.assert(200);
        assert_eq!(r.body, json!({
            "total": 0,
            "by_status": {
                "new": {"count": 0, "amount": {}}, "in_progress": {"count": 0, "amount": {}},
                "won": {"count": 0, "amount": {}}, "lost": {"count": 0, "amount": {}}
            },
            "win_rate": null, "average_won_amount": {}, "average_days_to_close": null
        }));
    }

    async fn the_summary_adds_up_per_status_and_currency(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann).await;
        deal(&app, &ann, json!({"title": "a", "contact_id": c, "amount": "100"})).await;
        deal(&app, &ann, json!({"title": "b", "contact_id": c, "amount": "50.50", "currency": "EUR"})).await;
        for (amount, currency) in [("300", "USD"), ("200", "USD"), ("10", "EUR")] {
            let p = deal(&app, &ann, json!({"title": "w", "contact_id": c, "amount": amount, "currency": currency, "status": "in_progress"})).await;
            app.patch(&ann, &p, json!({"status": "won"})).await.assert(200);
        }
        let p = deal(&app, &ann, json!({"title": "l", "contact_id": c, "amount": "5"})).await;
        app.patch(&ann, &p, json!({"status": "lost"})).await.assert(200);
        let r = app.get(&ann, SUMMARY).await;
        r.assert(200);
        let s = &r.body;
        assert_eq!(s["total"], 6);
        assert_eq!(s["by_status"]["new"], json!({"count": 2, "amount": {"USD": "100.00", "EUR": "50.50"}}));
        assert_eq!(s["by_status"]["won"], json!({"count": 3, "amount": {"USD": "500.00", "EUR": "10.00"}}));
        assert_eq!(s["by_status"]["lost"], json!({"count": 1, "amount": {"USD": "5.00"}}));
        assert_eq!(s["by_status"]["in_progress"], json!({"count": 0, "amount": {}}));
        assert_eq!(s["win_rate"], 0.75);
        assert_eq!(s["average_won_amount"], json!({"USD": "250.00", "EUR": "10.00"}));
        let days = s["average_days_to_close"].as_f64().unwrap();
        assert!((0.0..0.01).contains(&days), "{days}");
        // Filters: owner and creation time.
        let none = app.get(&ann, &format!("{SUMMARY}?owner_id={}", uuid::Uuid::now_v7())).await;
        assert_eq!(none.body["total"], 0);
        let future = app.get(&ann, &format!("{SUMMARY}?created_after=2999-01-01T00:00:00Z")).await;
        assert_eq!(future.body["total"], 0);
        app.get(&ann, &format!("{SUMMARY}?created_after=yesterday")).await.assert_problem(422, "validation_failed");
    }

    async fn the_funnel_counts_the_furthest_stage_reached(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann).await;
        deal(&app, &ann, json!({"title": "q", "contact_id": c})).await;
        // Created in a later stage: counts for every stage before it.
        deal(&app, &ann, json!({"title": "p", "contact_id": c, "stage": "proposal"})).await;
        // Moved forward then back: still counts where it went.
        let back = deal(&app, &ann, json!({"title": "b", "contact_id": c})).await;
        app.patch(&ann, &back, json!({"stage": "negotiation"})).await.assert(200);
        app.patch(&ann, &back, json!({"stage": "qualification"})).await.assert(200);
        let won = deal(&app, &ann, json!({"title": "w", "contact_id": c, "status": "in_progress", "amount": "10"})).await;
        app.patch(&ann, &won, json!({"status": "won"})).await.assert(200);
        let r = app.get(&ann, FUNNEL).await;
        r.assert(200);
        let f = &r.body;
        let default = app.get(&ann, "/api/v1/pipelines").await.body["data"][0]["id"].clone();
        assert_eq!(f["pipeline_id"], default);
        assert_eq!(f["won"], 1);
        assert_eq!(f["lost"], 0);
        let keys: Vec<&str> = f["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
        assert_eq!(keys, vec!["qualification", "proposal", "negotiation", "closed"]);
        assert_eq!(stage(f, "qualification")["current"], 2);
        assert_eq!(stage(f, "qualification")["entered"], 4);
        assert_eq!(stage(f, "proposal")["current"], 1);
        assert_eq!(stage(f, "proposal")["entered"], 3);
        assert_eq!(stage(f, "negotiation")["entered"], 2);
        assert_eq!(stage(f, "closed")["current"], 1);
        assert_eq!(stage(f, "closed")["entered"], 1);
        assert_eq!(stage(f, "qualification")["conversion_rate"], 0.75);
        assert_eq!(stage(f, "closed")["conversion_rate"], Value::Null);
        // Another pipeline with no deals: zero entered, null rates.
        let p = app.post(&ann, "/api/v1/pipelines", json!({"name": "P", "stages": [{"key": "a", "name": "A"}]})).await;
        let other = app.get(&ann, &format!("{FUNNEL}?pipeline_id={}", p.body["id"].as_str().unwrap())).await;
        assert_eq!(stage(&other.body, "a")["entered"], 0);
        assert_eq!(stage(&other.body, "a")["conversion_rate"], Value::Null);
        app.get(&ann, &format!("{FUNNEL}?pipeline_id={}", uuid::Uuid::now_v7())).await.assert_problem(422, "validation_failed");
    }

    async fn a_lost_deal_counts_where_it_was_lost_and_a_reopened_one_is_open(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann).await;
        // Lost from qualification: counts for qualification only.
        let early = deal(&app, &ann, json!({"title": "e", "contact_id": c})).await;
        app.patch(&ann, &early, json!({"status": "lost"})).await.assert(200);
        // Moved to negotiation, back to proposal, lost there.
        let late = deal(&app, &ann, json!({"title": "l", "contact_id": c, "status": "in_progress"})).await;
        app.patch(&ann, &late, json!({"stage": "negotiation"})).await.assert(200);
        app.patch(&ann, &late, json!({"stage": "proposal"})).await.assert(200);
        app.patch(&ann, &late, json!({"status": "lost"})).await.assert(200);
        let won = deal(&app, &ann, json!({"title": "w", "contact_id": c, "status": "in_progress", "amount": "10"})).await;
        app.patch(&ann, &won, json!({"status": "won"})).await.assert(200);
        let f = app.get(&ann, FUNNEL).await.body;
        assert_eq!((f["won"].clone(), f["lost"].clone()), (json!(1), json!(2)));
        assert_eq!(stage(&f, "qualification")["entered"], 3);
        assert_eq!(stage(&f, "qualification")["lost"], 1);
        assert_eq!(stage(&f, "proposal")["entered"], 2);
        assert_eq!(stage(&f, "proposal")["lost"], 1);
        assert_eq!(stage(&f, "negotiation")["entered"], 2, "the lost deal had been in negotiation");
        assert_eq!(stage(&f, "negotiation")["lost"], 0);
        assert_eq!(stage(&f, "closed")["entered"], 1, "closed counts the won deals");
        assert_eq!(stage(&f, "closed")["lost"], 0);
        assert_eq!(stage(&f, "closed")["current"], 3);
        // Reopened: open again in the stage it was lost from.
        app.post(&ann, &format!("{early}/reopen"), json!({})).await.assert(200);
        let f = app.get(&ann, FUNNEL).await.body;
        assert_eq!(f["lost"], 1);
        assert_eq!(stage(&f, "qualification")["current"], 1);
        assert_eq!(stage(&f, "qualification")["lost"], 0);
        assert_eq!(stage(&f, "qualification")["entered"], 3);
    }

    async fn analytics_follow_writes_and_visibility(app) {
        let owner = app.register("olive@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let c = contact(&app, &member).await;
        assert_eq!(app.get(&owner, SUMMARY).await.body["total"], 0);
        assert_eq!(stage(&app.get(&owner, FUNNEL).await.body, "qualification")["current"], 0);
        deal(&app, &member, json!({"title": "m", "contact_id": c})).await;
        let oc = contact(&app, &owner).await;
        deal(&app, &owner, json!({"title": "o", "contact_id": oc})).await;
        // The cached results were invalidated by the writes.
        assert_eq!(app.get(&owner, SUMMARY).await.body["total"], 2);
        assert_eq!(stage(&app.get(&owner, FUNNEL).await.body, "qualification")["current"], 2);
        assert_eq!(app.get(&member, SUMMARY).await.body["total"], 2);
        app.patch(&owner, "/api/v1/organization", json!({"member_visibility": "own"})).await.assert(200);
        assert_eq!(app.get(&member, SUMMARY).await.body["total"], 1);
        assert_eq!(stage(&app.get(&member, FUNNEL).await.body, "qualification")["current"], 1);
        assert_eq!(app.get(&owner, SUMMARY).await.body["total"], 2);
    }
}

#[tokio::test]
async fn a_write_through_one_instance_shows_in_the_others_analytics_within_a_second() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    }
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = TestApp::spawn_sharing(&a).await;
    let ann = a.register("ann@example.com").await;
    let c = contact(&a, &ann).await;
    // Warm b's cache.
    assert_eq!(b.get(&ann, SUMMARY).await.body["total"], 0);
    assert_eq!(b.get(&ann, SUMMARY).await.body["total"], 0);
    deal(&a, &ann, json!({"title": "x", "contact_id": c})).await;
    let written = Instant::now();
    loop {
        if b.get(&ann, SUMMARY).await.body["total"] == 1 {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(1),
            "instance b still serves the old summary after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
