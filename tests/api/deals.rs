//! api.md §5 deals and the timeline, §7 "Records".

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const DEALS: &str = "/api/v1/deals";

async fn contact(app: &TestApp, s: &Session, name: &str) -> String {
    let r = app.post(s, "/api/v1/contacts", json!({"name": name})).await;
    r.assert(201);
    r.body["id"].as_str().unwrap().to_string()
}

async fn deal(app: &TestApp, s: &Session, body: Value) -> Value {
    let r = app.post(s, DEALS, body).await;
    r.assert(201);
    r.body
}

fn path(d: &Value) -> String {
    format!("{DEALS}/{}", d["id"].as_str().unwrap())
}

async fn timeline(app: &TestApp, s: &Session, path: &str) -> Vec<(String, Value)> {
    let r = app.get(s, &format!("{path}/activities")).await;
    r.assert(200);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["type"].as_str().unwrap().to_string(), a["payload"].clone()))
        .collect()
}

both! {
    async fn a_closed_deal_is_reopened_in_the_stage_it_was_closed_from(app) {
        let owner = app.register("ora@example.com").await;
        let member = app.add_member(&owner, "mia@example.com", "member").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let c = contact(&app, &member, "John").await;
        let d = deal(&app, &member, json!({"title": "Big", "contact_id": c, "amount": "10", "stage": "proposal", "status": "in_progress"})).await;
        let p = path(&d);
        let reopen = format!("{p}/reopen");
        // An open deal cannot be reopened.
        app.post(&manager, &reopen, json!({})).await.assert_problem(422, "invalid_status_transition");
        app.patch(&member, &p, json!({"status": "lost", "lost_reason": "price"})).await.assert(200);
        // PATCH is still no way out of `lost`; a member may not reopen.
        app.patch(&owner, &p, json!({"status": "in_progress"})).await.assert_problem(422, "invalid_status_transition");
        app.post(&member, &reopen, json!({})).await.assert_problem(403, "forbidden");
        // Another organization's deal is not there; a stale version is refused.
        let other = app.register("sam@example.com").await;
        app.post(&other, &reopen, json!({})).await.assert_problem(404, "not_found");
        let stale = send(app.as_user(&manager, Method::POST, &reopen).header("If-Match", "\"1\"")).await;
        stale.assert_problem(412, "version_mismatch");

        let r = app.post(&manager, &reopen, json!({})).await;
        r.assert(200);
        assert_eq!(r.body["status"], "in_progress");
        assert_eq!(r.body["stage"], "proposal");
        assert_eq!(r.body["closed_at"], Value::Null);
        assert_eq!(r.body["lost_reason"], Value::Null);
        assert_eq!(r.body["version"], 3);
        // Both written by the reopen (in either order: one transaction, one moment).
        let events = timeline(&app, &owner, &p).await;
        assert!(events[..2].contains(&("stage_changed".to_string(), json!({"from": "closed", "to": "proposal"}))), "{events:?}");
        assert!(events[..2].contains(&("status_changed".to_string(), json!({"from": "lost", "to": "in_progress"}))), "{events:?}");
        let log = app.get(&owner, "/api/v1/audit-log").await;
        let entry = log.body["data"].as_array().unwrap().iter().find(|e| e["action"] == "deal.reopened").unwrap().clone();
        assert_eq!(entry["target_id"], d["id"]);
        // Open again: it can be won, and reopened once more.
        app.patch(&member, &p, json!({"status": "won"})).await.assert(200);
        let again = app.post(&owner, &reopen, json!({})).await;
        again.assert(200);
        assert_eq!(again.body["stage"], "proposal");
    }

    async fn a_deal_starts_new_in_the_first_stage_of_the_default_pipeline(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let d = deal(&app, &ann, json!({"title": " Big deal ", "contact_id": c, "amount": 1500.5, "tags": ["Q4"]})).await;
        assert_eq!(d["title"], "Big deal");
        assert_eq!(d["status"], "new");
        assert_eq!(d["stage"], "qualification");
        assert_eq!(d["amount"], "1500.50");
        assert_eq!(d["currency"], "USD");
        assert_eq!(d["closed_at"], Value::Null);
        assert_eq!(d["tags"], json!(["q4"]));
        assert_eq!(d["version"], 1);
        let default = app.get(&ann, "/api/v1/pipelines").await.body["data"][0]["id"].clone();
        assert_eq!(d["pipeline_id"], default);
        let events = timeline(&app, &ann, &path(&d)).await;
        assert_eq!(events, vec![("system".to_string(), json!({"event": "deal_created"}))]);
        // The org currency is the default; codes are read in any case.
        app.patch(&ann, "/api/v1/organization", json!({"default_currency": "eur"})).await.assert(200);
        assert_eq!(deal(&app, &ann, json!({"title": "T", "contact_id": c})).await["currency"], "EUR");
        assert_eq!(deal(&app, &ann, json!({"title": "T", "contact_id": c, "currency": "inr"})).await["currency"], "INR");
    }

    async fn deal_input_is_checked(app) {
        let ann = app.register("ann@example.com").await;
        let bo = app.register("bo@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let theirs = contact(&app, &bo, "Other").await;
        for (body, field) in [
            (json!({"title": "", "contact_id": c}), "title"),
            (json!({"title": "T"}), "contact_id"),
            (json!({"title": "T", "contact_id": c, "amount": "-5"}), "amount"),
            (json!({"title": "T", "contact_id": c, "amount": "1.234"}), "amount"),
            (json!({"title": "T", "contact_id": c, "currency": "XYZ"}), "currency"),
            (json!({"title": "T", "contact_id": c, "expected_close_date": "soon"}), "expected_close_date"),
        ] {
            let r = app.post(&ann, DEALS, body.clone()).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{body}");
        }
        app.post(&ann, DEALS, json!({"title": "T", "contact_id": theirs})).await.assert_problem(422, "contact_not_found");
        app.post(&ann, DEALS, json!({"title": "T", "contact_id": c, "company_id": uuid::Uuid::now_v7()})).await.assert_problem(422, "company_not_found");
        app.post(&ann, DEALS, json!({"title": "T", "contact_id": c, "stage": "closed"})).await.assert_problem(422, "invalid_stage");
        app.post(&ann, DEALS, json!({"title": "T", "contact_id": c, "stage": "nowhere"})).await.assert_problem(422, "invalid_stage");
        app.post(&ann, DEALS, json!({"title": "T", "contact_id": c, "status": "won"})).await.assert_problem(422, "invalid_status_transition");
        let d = deal(&app, &ann, json!({"title": "T", "contact_id": c, "status": "in_progress", "stage": "proposal"})).await;
        assert_eq!(d["status"], "in_progress");
        assert_eq!(d["stage"], "proposal");
    }

    async fn status_rules_and_winning(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let d = deal(&app, &ann, json!({"title": "T", "contact_id": c})).await;
        let p = path(&d);
        app.patch(&ann, &p, json!({"status": "won"})).await.assert_problem(422, "invalid_status_transition");
        app.patch(&ann, &p, json!({"status": "in_progress"})).await.assert(200);
        app.patch(&ann, &p, json!({"status": "new"})).await.assert_problem(422, "invalid_status_transition");
        app.patch(&ann, &p, json!({"status": "won"})).await.assert_problem(422, "amount_required");
        // Checked on the state after the whole change.
        let won = app.patch(&ann, &p, json!({"status": "won", "amount": "10"})).await;
        won.assert(200);
        assert_eq!(won.body["stage"], "closed");
        assert_eq!(won.body["amount"], "10.00");
        assert!(won.body["closed_at"].is_string());
        // Setting the status it has is a no-op.
        let same = app.patch(&ann, &p, json!({"status": "won"})).await;
        same.assert(200);
        assert_eq!(same.body["version"], won.body["version"]);
        app.patch(&ann, &p, json!({"status": "lost"})).await.assert_problem(422, "invalid_status_transition");
        for change in [json!({"amount": "20"}), json!({"currency": "EUR"}), json!({"stage": "proposal"})] {
            app.patch(&ann, &p, change).await.assert_problem(422, "deal_closed");
        }
        // Other fields still change.
        app.patch(&ann, &p, json!({"title": "Won deal"})).await.assert(200);
        let events: Vec<String> = timeline(&app, &ann, &p).await.into_iter().map(|(t, _)| t).collect();
        assert_eq!(events, vec!["stage_changed", "status_changed", "status_changed", "system"]);
        let lost = deal(&app, &ann, json!({"title": "L", "contact_id": c})).await;
        let r = app.patch(&ann, &path(&lost), json!({"status": "lost", "lost_reason": "budget"})).await;
        r.assert(200);
        assert_eq!(r.body["stage"], "closed");
        assert_eq!(r.body["lost_reason"], "budget");
    }

    async fn stages_move_forward_for_anyone_and_back_for_admins(app) {
        let owner = app.register("olive@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let c = contact(&app, &member, "John").await;
        let d = deal(&app, &member, json!({"title": "T", "contact_id": c})).await;
        // `stage_changed_at` starts at creation and follows every move, and
        // only moves (the board's days in stage).
        assert_eq!(d["stage_changed_at"], d["created_at"]);
        let p = path(&d);
        let retitled = app.patch(&member, &p, json!({"title": "T2"})).await;
        assert_eq!(retitled.body["stage_changed_at"], d["created_at"]);
        let r = app.patch(&member, &p, json!({"stage": "negotiation"})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 3);
        assert_ne!(r.body["stage_changed_at"], d["created_at"]);
        app.patch(&member, &p, json!({"stage": "proposal"})).await.assert_problem(403, "stage_backward_forbidden");
        app.patch(&manager, &p, json!({"stage": "proposal"})).await.assert_problem(403, "stage_backward_forbidden");
        app.patch(&member, &p, json!({"stage": "closed"})).await.assert_problem(422, "invalid_stage");
        let back = app.patch(&owner, &p, json!({"stage": "qualification"})).await;
        back.assert(200);
        let events = timeline(&app, &member, &p).await;
        assert_eq!(events[0], ("stage_changed".to_string(), json!({"from": "negotiation", "to": "qualification"})));
        assert_eq!(events[1], ("stage_changed".to_string(), json!({"from": "qualification", "to": "negotiation"})));
    }

    async fn if_match_and_owner_rules_protect_deals(app) {
        let owner = app.register("olive@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let c = contact(&app, &owner, "John").await;
        let d = deal(&app, &owner, json!({"title": "T", "contact_id": c})).await;
        let p = path(&d);
        app.patch(&member, &p, json!({"title": "Mine"})).await.assert_problem(403, "forbidden");
        app.delete(&member, &p).await.assert_problem(403, "forbidden");
        let stale = send(app.as_user(&owner, Method::PATCH, &p).header("If-Match", "\"7\"").json(&json!({"title": "X"}))).await;
        stale.assert_problem(412, "version_mismatch");
        let ok = send(app.as_user(&owner, Method::PATCH, &p).header("If-Match", "\"1\"").json(&json!({"title": "X"}))).await;
        ok.assert(200);
        assert_eq!(ok.header("etag"), Some("\"2\""));
    }

    async fn deleting_a_deal_takes_its_timeline_and_frees_the_contact(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let d = deal(&app, &ann, json!({"title": "T", "contact_id": c})).await;
        app.post(&ann, &format!("{}/activities", path(&d)), json!({"type": "comment", "text": "hello"})).await.assert(201);
        app.delete(&ann, &format!("/api/v1/contacts/{c}")).await.assert_problem(409, "contact_has_deals");
        app.delete(&ann, &path(&d)).await.assert(204);
        app.get(&ann, &path(&d)).await.assert_problem(404, "not_found");
        let contact_timeline = app.get(&ann, &format!("/api/v1/contacts/{c}/activities")).await;
        assert_eq!(contact_timeline.body["data"], json!([]));
        app.delete(&ann, &format!("/api/v1/contacts/{c}")).await.assert(204);
        let log = app.get(&ann, "/api/v1/audit-log").await;
        let actions: Vec<&str> = log.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"deal.deleted") && actions.contains(&"contact.deleted"), "{actions:?}");
    }

    async fn comments_land_on_deal_and_contact_timelines(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let d = deal(&app, &ann, json!({"title": "T", "contact_id": c})).await;
        let r = app.post(&ann, &format!("{}/activities", path(&d)), json!({"text": "  first  "})).await;
        r.assert(201);
        assert_eq!(r.body["type"], "comment");
        assert_eq!(r.body["payload"], json!({"text": "first"}));
        assert_eq!(r.body["contact_id"], c.as_str());
        assert_eq!(r.body["author_id"], ann.user_id.as_str());
        app.post(&ann, &format!("/api/v1/contacts/{c}/activities"), json!({"type": "comment", "text": "second"})).await.assert(201);
        app.post(&ann, &format!("{}/activities", path(&d)), json!({"type": "system", "text": "x"})).await.assert_problem(422, "validation_failed");
        app.post(&ann, &format!("{}/activities", path(&d)), json!({"text": "   "})).await.assert_problem(422, "validation_failed");
        app.post(&ann, &format!("{}/activities", path(&d)), json!({"text": "x".repeat(10_001)})).await.assert_problem(422, "validation_failed");
        // Calls and meetings are logged with their time (default now) and a note.
        let call = app
            .post(&ann, &format!("{}/activities", path(&d)), json!({"type": "call", "text": "Left a voicemail", "occurred_at": "2026-11-30T15:00:00+01:00"}))
            .await;
        call.assert(201);
        assert_eq!(call.body["type"], "call");
        assert_eq!(call.body["payload"], json!({"text": "Left a voicemail", "occurred_at": "2026-11-30T14:00:00Z"}));
        app.post(&ann, &format!("/api/v1/contacts/{c}/activities"), json!({"type": "meeting", "text": " "}))
            .await
            .assert_problem(422, "validation_failed");
        let meeting = app.post(&ann, &format!("/api/v1/contacts/{c}/activities"), json!({"type": "meeting", "text": "Demo"})).await;
        meeting.assert(201);
        assert_eq!(meeting.body["payload"]["text"], "Demo");
        assert!(meeting.body["payload"]["occurred_at"].is_string());
        app.post(&ann, &format!("{}/activities", path(&d)), json!({"type": "call", "text": "x", "occurred_at": ""}))
            .await
            .assert_problem(422, "validation_failed");
        app.post(&ann, &format!("{}/activities", path(&d)), json!({"type": "call", "text": "x", "occurred_at": "yesterday"}))
            .await
            .assert_problem(422, "validation_failed");
        // A comment may say when what it tells happened.
        let dated = app.post(&ann, &format!("{}/activities", path(&d)), json!({"text": "hi", "occurred_at": "2026-11-30T15:00:00Z"})).await;
        dated.assert(201);
        assert_eq!(dated.body["payload"], json!({"text": "hi", "occurred_at": "2026-11-30T15:00:00Z"}));
        let contact_events: Vec<String> = timeline(&app, &ann, &format!("/api/v1/contacts/{c}")).await.into_iter().map(|(t, _)| t).collect();
        assert_eq!(contact_events, vec!["comment", "meeting", "call", "comment", "comment", "system"]);
        let deal_events: Vec<String> = timeline(&app, &ann, &path(&d)).await.into_iter().map(|(t, _)| t).collect();
        assert_eq!(deal_events, vec!["comment", "call", "comment", "system"]);
    }

    async fn deal_lists_filter_and_sort(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let c2 = contact(&app, &ann, "Jane").await;
        deal(&app, &ann, json!({"title": "Alpha renewal", "contact_id": c, "amount": "100", "expected_close_date": "2027-01-10"})).await;
        deal(&app, &ann, json!({"title": "Beta upsell", "contact_id": c2, "amount": "300", "status": "in_progress", "stage": "proposal"})).await;
        deal(&app, &ann, json!({"title": "Gamma", "contact_id": c, "amount": "200", "expected_close_date": "2026-12-01", "tags": ["hot"]})).await;
        let titles = |r: &Resp| r.body["data"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(titles(&app.get(&ann, DEALS).await), vec!["Gamma", "Beta upsell", "Alpha renewal"]);
        assert_eq!(titles(&app.get(&ann, &format!("{DEALS}?sort=amount")).await), vec!["Alpha renewal", "Gamma", "Beta upsell"]);
        assert_eq!(titles(&app.get(&ann, &format!("{DEALS}?sort=expected_close_date")).await), vec!["Gamma", "Alpha renewal", "Beta upsell"]);
        assert_eq!(titles(&app.get(&ann, &format!("{DEALS}?status=in_progress&stage=proposal&owner_id={}", ann.user_id)).await), vec!["Beta upsell"]);
        assert_eq!(titles(&app.get(&ann, &format!("{DEALS}?status=new&status=in_progress&contact_id={c}")).await), vec!["Gamma", "Alpha renewal"]);
        assert_eq!(titles(&app.get(&ann, &format!("{DEALS}?amount_min=200&amount_max=300")).await), vec!["Gamma", "Beta upsell"]);
        assert_eq!(titles(&app.get(&ann, &format!("{DEALS}?expected_close_after=2026-12-01&expected_close_before=2027-01-10")).await), vec!["Gamma"]);
        assert_eq!(titles(&app.get(&ann, &format!("{DEALS}?tag=HOT")).await), vec!["Gamma"]);
        assert_eq!(titles(&app.get(&ann, &format!("{DEALS}?q=ren")).await), vec!["Alpha renewal"]);
        // Amounts sort within their currency: the currencies group (A–Z), a
        // yen amount never sits between two dollar amounts.
        deal(&app, &ann, json!({"title": "Yen", "contact_id": c, "amount": "150", "currency": "JPY"})).await;
        assert_eq!(
            titles(&app.get(&ann, &format!("{DEALS}?sort=amount")).await),
            vec!["Yen", "Alpha renewal", "Gamma", "Beta upsell"]
        );
        assert_eq!(
            titles(&app.get(&ann, &format!("{DEALS}?sort=-amount")).await),
            vec!["Beta upsell", "Gamma", "Alpha renewal", "Yen"]
        );
        app.get(&ann, &format!("{DEALS}?status=open")).await.assert_problem(422, "validation_failed");
        app.get(&ann, &format!("{DEALS}?sort=title")).await.assert_problem(422, "validation_failed");
        app.get(&ann, &format!("{DEALS}?amount_min=abc")).await.assert_problem(422, "validation_failed");
        for sort in ["amount", "-amount", "expected_close_date", "-expected_close_date", "updated_at"] {
            let whole = titles(&app.get(&ann, &format!("{DEALS}?sort={sort}")).await);
            let mut seen = Vec::new();
            let mut cursor = String::new();
            loop {
                let page = app.get(&ann, &format!("{DEALS}?sort={sort}&limit=1{cursor}")).await;
                page.assert(200);
                seen.extend(titles(&page));
                match page.body["next_cursor"].as_str() {
                    Some(c) => cursor = format!("&cursor={c}"),
                    None => break,
                }
            }
            assert_eq!(seen, whole, "walking {sort}");
        }
    }

    async fn another_organizations_deal_is_not_found(app) {
        let ann = app.register("ann@example.com").await;
        let bo = app.register("bo@example.com").await;
        let c = contact(&app, &bo, "John").await;
        let d = deal(&app, &bo, json!({"title": "T", "contact_id": c})).await;
        let p = path(&d);
        app.get(&ann, &p).await.assert_problem(404, "not_found");
        app.patch(&ann, &p, json!({"title": "x"})).await.assert_problem(404, "not_found");
        app.delete(&ann, &p).await.assert_problem(404, "not_found");
        app.get(&ann, &format!("{p}/activities")).await.assert_problem(404, "not_found");
        app.post(&ann, &format!("{p}/activities"), json!({"text": "x"})).await.assert_problem(404, "not_found");
        app.get(&ann, &format!("/api/v1/contacts/{c}/activities")).await.assert_problem(404, "not_found");
        app.post(&ann, &format!("/api/v1/contacts/{c}/activities"), json!({"text": "x"})).await.assert_problem(404, "not_found");
    }

    async fn a_removed_stage_or_pipeline_with_deals_is_in_use(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let p = app.post(&ann, "/api/v1/pipelines", json!({"name": "P", "stages": [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}]})).await;
        let pid = p.body["id"].as_str().unwrap().to_string();
        let d = deal(&app, &ann, json!({"title": "T", "contact_id": c, "pipeline_id": pid, "stage": "b"})).await;
        let pp = format!("/api/v1/pipelines/{pid}");
        app.patch(&ann, &pp, json!({"stages": [{"key": "a", "name": "A"}]})).await.assert_problem(409, "pipeline_in_use");
        app.patch(&ann, &pp, json!({"stages": [{"key": "b", "name": "Bee"}]})).await.assert(200);
        app.delete(&ann, &pp).await.assert_problem(409, "pipeline_in_use");
        // Moving the open deal to another pipeline puts it in that pipeline's first stage.
        let moved = app.patch(&ann, &path(&d), json!({"pipeline_id": app.get(&ann, "/api/v1/pipelines").await.body["data"][0]["id"]})).await;
        moved.assert(200);
        assert_eq!(moved.body["stage"], "qualification");
        app.delete(&ann, &pp).await.assert(204);
    }
}

both! {
    async fn concurrent_changes_to_one_deal_are_all_kept(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let d = deal(&app, &ann, json!({"title": "T", "contact_id": c, "status": "in_progress"})).await;
        let p = path(&d);
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..8 {
            requests.spawn(send(app.as_user(&ann, Method::PATCH, &p).json(&json!({"title": format!("Title {i}")}))));
            requests.spawn(send(app.as_user(&ann, Method::POST, &format!("{p}/activities")).json(&json!({"text": format!("note {i}")}))));
        }
        requests.spawn(send(app.as_user(&ann, Method::PATCH, &p).json(&json!({"stage": "negotiation"}))));
        while let Some(answer) = requests.join_next().await {
            let r = answer.unwrap();
            assert!(r.status == 200 || r.status == 201, "{}: {}", r.status, r.body);
        }
        let after = app.get(&ann, &p).await;
        // Every change got its own version: 1 + 8 titles + 1 stage.
        assert_eq!(after.body["version"], 10);
        assert_eq!(after.body["stage"], "negotiation");
        let events: Vec<String> = timeline(&app, &ann, &p).await.into_iter().map(|(t, _)| t).collect();
        assert_eq!(events.iter().filter(|t| *t == "comment").count(), 8);
        assert_eq!(events.iter().filter(|t| *t == "stage_changed").count(), 1);
    }
}

both! {
    async fn members_see_only_their_deals_under_own_visibility(app) {
        let owner = app.register("olive@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let oc = contact(&app, &owner, "Olive's").await;
        let mc = contact(&app, &member, "Mel's").await;
        let theirs = deal(&app, &owner, json!({"title": "Olive's deal", "contact_id": oc})).await;
        deal(&app, &member, json!({"title": "Mel's deal", "contact_id": mc})).await;
        let company = app.post(&owner, "/api/v1/companies", json!({"name": "Olive's company"})).await;
        app.patch(&owner, "/api/v1/organization", json!({"member_visibility": "own"})).await.assert(200);
        let titles = |r: &Resp| r.body["data"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(titles(&app.get(&member, DEALS).await), vec!["Mel's deal"]);
        assert_eq!(titles(&app.get(&manager, DEALS).await).len(), 2);
        app.get(&member, &path(&theirs)).await.assert_problem(404, "not_found");
        app.get(&member, &format!("{}/activities", path(&theirs))).await.assert_problem(404, "not_found");
        app.post(&member, &format!("{}/activities", path(&theirs)), json!({"text": "x"})).await.assert_problem(404, "not_found");
        app.get(&member, &format!("/api/v1/companies/{}", company.body["id"].as_str().unwrap())).await.assert_problem(404, "not_found");
        // A member cannot open a deal on a contact they cannot see.
        app.post(&member, DEALS, json!({"title": "x", "contact_id": oc})).await.assert_problem(422, "contact_not_found");
        // Back to `all`: members read everything again.
        app.patch(&owner, "/api/v1/organization", json!({"member_visibility": "all"})).await.assert(200);
        assert_eq!(titles(&app.get(&member, DEALS).await).len(), 2);
    }
}

both! {
    async fn walking_deal_pages_while_deals_are_added_visits_each_once(app) {
        let ann = app.register("ann@example.com").await;
        let c = contact(&app, &ann, "John").await;
        let mut existing = Vec::new();
        for i in 0..7 {
            // Repeated amounts, so pages break inside ties.
            let d = deal(&app, &ann, json!({"title": format!("D{i}"), "contact_id": c, "amount": (i % 3) * 100})).await;
            existing.push(d["id"].as_str().unwrap().to_string());
        }
        for sort in ["-created_at", "amount", "-amount"] {
            let mut seen: Vec<String> = Vec::new();
            let mut cursor = String::new();
            let mut added = 0;
            loop {
                let page = app.get(&ann, &format!("{DEALS}?sort={sort}&limit=2{cursor}")).await;
                page.assert(200);
                seen.extend(page.body["data"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()));
                if added < 2 {
                    deal(&app, &ann, json!({"title": format!("new {sort} {added}"), "contact_id": c, "amount": 100})).await;
                    added += 1;
                }
                match page.body["next_cursor"].as_str() {
                    Some(next) => cursor = format!("&cursor={next}"),
                    None => break,
                }
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "{sort}: a deal was returned twice");
            for id in &existing {
                assert!(seen.contains(id), "{sort}: deal {id} was skipped");
            }
        }
    }
}
