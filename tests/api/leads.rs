//! Leads (leads.md "Leads", issue 16 item 1): fields and defaults, the
//! explainable score, uniqueness among open leads, statuses, filters and
//! sorts, the timeline, conversion in one transaction, the scoring
//! settings and their background re-scoring.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::{Backend, TestApp};

const LEADS: &str = "/api/v1/leads";

fn rules(lead: &Value) -> Vec<(String, i64)> {
    lead["score_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rule"].as_str().unwrap().to_string(), r["points"].as_i64().unwrap()))
        .collect()
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

both! {
    async fn a_lead_is_created_with_its_defaults_and_scored_with_reasons(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.post(&ann, LEADS, json!({
            "name": " Ada Lovelace ", "email": "ADA@Example.com", "phone": "(415) 555-0100",
            "company_name": "Analytical Engines", "source": "referral", "tags": ["hot"],
            "utm": {"source": "newsletter", "campaign": "spring"},
            "preferences": {"budget_min": "250000", "budget_max": 400000, "property_type": "house", "bedrooms_min": 3, "locations": ["Brooklyn"]},
            "score": 99, "score_reasons": []
        })).await;
        r.assert(201);
        let lead = &r.body;
        assert_eq!(lead["name"], "Ada Lovelace");
        assert_eq!(lead["email"], "ada@example.com");
        assert_eq!(lead["phone"], "+14155550100");
        assert_eq!(lead["status"], "new");
        assert_eq!(lead["owner_id"], ann.user_id.as_str());
        assert_eq!(lead["utm"], json!({"source": "newsletter", "medium": null, "campaign": "spring", "term": null, "content": null}));
        assert_eq!(lead["preferences"]["budget_min"], "250000.00");
        assert_eq!(lead["preferences"]["budget_max"], "400000.00");
        assert_eq!(lead["preferences"]["currency"], "USD", "the organization's currency");
        assert_eq!(lead["converted_contact_id"], Value::Null);
        // 15 email + 15 phone + 10 company + 25 referral; read-only fields sent are ignored.
        assert_eq!(rules(lead), [("email".into(), 15), ("phone".into(), 15), ("company".into(), 10), ("source".into(), 25)]);
        assert_eq!(lead["score"], 65);
        let id = lead["id"].as_str().unwrap();
        assert_eq!(app.get(&ann, &format!("{LEADS}/{id}")).await.body, r.body);

        // A lead with only a name: score 0, nothing to explain, unset objects null.
        let bare = app.post(&ann, LEADS, json!({"name": "Bare"})).await;
        assert_eq!((bare.body["score"].as_i64(), bare.body["score_reasons"].clone(), bare.body["utm"].clone()), (Some(0), json!([]), Value::Null));

        // Bad input names its fields.
        let r = app.post(&ann, LEADS, json!({"name": "", "email": "nope", "status": "converted", "utm": {"source": "x", "channel": "y"}})).await;
        r.assert(422);
        let r = app.post(&ann, LEADS, json!({"name": "X", "email": "nope", "status": "converted", "next_follow_up_at": "tomorrow",
            "preferences": {"budget_min": "-5", "property_type": "castle", "currency": "XXX"}})).await;
        r.assert_problem(422, "validation_failed");
        let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        for field in ["email", "status", "next_follow_up_at", "preferences.budget_min", "preferences.property_type", "preferences.currency"] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
    }

    async fn open_leads_are_unique_by_email_and_phone_and_closed_ones_are_not(app) {
        let ann = app.register("ann@example.com").await;
        let first = app.post(&ann, LEADS, json!({"name": "One", "email": "one@example.com", "phone": "+14155550101"})).await;
        let first_id = first.body["id"].as_str().unwrap().to_string();
        let again = app.post(&ann, LEADS, json!({"name": "Two", "phone": "+1 415 555 0101"})).await;
        again.assert_problem(409, "duplicate_lead");
        assert_eq!(again.body["existing_id"], first_id.as_str());
        assert_eq!(again.body["field"], "phone");
        // Closed, it no longer collides: the person may come back as a new lead.
        app.patch(&ann, &format!("{LEADS}/{first_id}"), json!({"status": "unqualified"})).await.assert(200);
        app.post(&ann, LEADS, json!({"name": "Two", "email": "one@example.com"})).await.assert(201);
        // Reopening the closed one would make two open leads with that email.
        let reopen = app.patch(&ann, &format!("{LEADS}/{first_id}"), json!({"status": "new"})).await;
        reopen.assert_problem(409, "duplicate_lead");
        // Contacts are another matter: a lead may share a contact's email.
        app.post(&ann, "/api/v1/contacts", json!({"name": "C", "email": "c@example.com"})).await.assert(201);
        app.post(&ann, LEADS, json!({"name": "C", "email": "c@example.com"})).await.assert(201);
    }

    async fn changes_comments_and_status_move_the_score_and_fill_the_timeline(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.post(&ann, LEADS, json!({"name": "Lee", "source": "Walk_In"})).await;
        assert_eq!(r.body["score"], 20, "sources match case-insensitively");
        let path = format!("{LEADS}/{}", r.body["id"].as_str().unwrap());
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let r = app.patch(&ann, &path, json!({"status": "qualified", "next_follow_up_at": tomorrow})).await;
        r.assert(200);
        assert_eq!(rules(&r.body), [("source".into(), 20), ("follow_up".into(), 10), ("qualified".into(), 15)]);
        assert_eq!(r.body["version"], 2);
        let r = app.post(&ann, &format!("{path}/activities"), json!({"text": "Called, very keen"})).await;
        r.assert(201);
        assert_eq!(r.body["lead_id"], path.rsplit('/').next().unwrap());
        let lead = app.get(&ann, &path).await.body;
        assert_eq!(lead["score"], 55, "a comment is recent activity");
        assert!(rules(&lead).contains(&("recent_activity".into(), 10)));
        assert_eq!(lead["version"], 2, "scoring is not a change of the lead");
        let timeline = app.get(&ann, &format!("{path}/activities")).await;
        let kinds: Vec<&str> = timeline.body["data"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["comment", "status_changed"]);
        assert_eq!(timeline.body["data"][1]["payload"], json!({"from": "new", "to": "qualified"}));
        // `converted` is reached only by converting.
        app.patch(&ann, &path, json!({"status": "converted"})).await.assert_problem(422, "validation_failed");
        // Deleting takes the timeline with it.
        app.delete(&ann, &path).await.assert(204);
        app.get(&ann, &format!("{path}/activities")).await.assert_problem(404, "not_found");
    }

    async fn leads_filter_and_sort_by_status_source_score_and_follow_up(app) {
        let ann = app.register("ann@example.com").await;
        let soon = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let later = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
        for body in [
            json!({"name": "Web Low", "source": "website"}),
            json!({"name": "Ref High", "source": "referral", "email": "hi@example.com", "phone": "+14155550102", "next_follow_up_at": later}),
            json!({"name": "Walk Mid", "source": "walk_in", "next_follow_up_at": soon, "status": "contacted"}),
            json!({"name": "Gone", "source": "website", "status": "unqualified"}),
        ] {
            app.post(&ann, LEADS, body).await.assert(201);
        }
        let page = app.get(&ann, &format!("{LEADS}?sort=-score")).await;
        assert_eq!(names(&page.body), ["Ref High", "Walk Mid", "Gone", "Web Low"]);
        assert_eq!(names(&app.get(&ann, &format!("{LEADS}?score_min=30&sort=score")).await.body), ["Walk Mid", "Ref High"]);
        assert_eq!(names(&app.get(&ann, &format!("{LEADS}?status=new&status=contacted&sort=score")).await.body), ["Web Low", "Walk Mid", "Ref High"]);
        assert_eq!(names(&app.get(&ann, &format!("{LEADS}?source=website")).await.body), ["Gone", "Web Low"]);
        // Follow-ups: soonest first, unset last.
        let by_follow_up = names(&app.get(&ann, &format!("{LEADS}?sort=next_follow_up_at")).await.body);
        assert_eq!(&by_follow_up[..2], ["Walk Mid", "Ref High"]);
        let before = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
        let due = app.get(&ann, &format!("{LEADS}?follow_up_before={}", urlencode(&before))).await;
        assert_eq!(names(&due.body), ["Walk Mid"]);
        assert_eq!(names(&app.get(&ann, &format!("{LEADS}?q=ref")).await.body), ["Ref High"]);
        // Keyset pages by score hold every lead once.
        let first = app.get(&ann, &format!("{LEADS}?sort=-score&limit=2")).await;
        let cursor = first.body["next_cursor"].as_str().unwrap();
        let second = app.get(&ann, &format!("{LEADS}?sort=-score&limit=2&cursor={cursor}")).await;
        assert_eq!([names(&first.body), names(&second.body)].concat(), ["Ref High", "Walk Mid", "Gone", "Web Low"]);
        for bad in ["score_min=101", "status=lost", "sort=name", "follow_up_before=soon"] {
            app.get(&ann, &format!("{LEADS}?{bad}")).await.assert_problem(422, "validation_failed");
        }
    }

    async fn converting_makes_a_contact_company_and_deal_in_one_go_and_freezes_the_lead(app) {
        let ann = app.register("ann@example.com").await;
        let lead = app.post(&ann, LEADS, json!({"name": "Grace Hopper", "email": "grace@navy.example", "phone": "+14155550103",
            "company_name": "US Navy", "source": "referral", "tags": ["vip"]})).await;
        let id = lead.body["id"].as_str().unwrap().to_string();
        let r = app.post(&ann, &format!("{LEADS}/{id}/convert"), json!({"deal": {"amount": "5000", "currency": "EUR"}})).await;
        r.assert(200);
        let (contact, company, deal, converted) = (&r.body["contact"], &r.body["company"], &r.body["deal"], &r.body["lead"]);
        assert_eq!((contact["name"].as_str(), contact["email"].as_str(), contact["lead_source"].as_str()), (Some("Grace Hopper"), Some("grace@navy.example"), Some("referral")));
        assert_eq!(contact["tags"], json!(["vip"]));
        assert_eq!(contact["company_id"], company["id"]);
        assert_eq!(company["name"], "US Navy");
        assert_eq!((deal["title"].as_str(), deal["amount"].as_str(), deal["currency"].as_str()), (Some("Grace Hopper"), Some("5000.00"), Some("EUR")));
        assert_eq!(deal["contact_id"], contact["id"]);
        assert_eq!(deal["company_id"], company["id"]);
        assert_eq!(converted["status"], "converted");
        assert_eq!(converted["converted_contact_id"], contact["id"]);
        assert_eq!(converted["converted_deal_id"], deal["id"]);
        assert!(converted["converted_at"].is_string());
        assert_eq!(app.get(&ann, &format!("{LEADS}/{id}")).await.body, r.body["lead"]);
        // The contact's timeline links back to the lead.
        let timeline = app.get(&ann, &format!("/api/v1/contacts/{}/activities", contact["id"].as_str().unwrap())).await;
        let entry = timeline.body["data"].as_array().unwrap().iter().find(|a| a["payload"]["event"] == "lead_converted").expect("lead_converted");
        assert_eq!(entry["payload"]["lead_id"], id.as_str());
        // Read-only from now on; converting again says so.
        let path = format!("{LEADS}/{id}");
        app.patch(&ann, &path, json!({"name": "Other"})).await.assert_problem(422, "lead_converted");
        app.delete(&ann, &path).await.assert_problem(422, "lead_converted");
        app.post(&ann, &format!("{path}/convert"), json!({})).await.assert_problem(409, "already_converted");
        let audit = app.get(&ann, "/api/v1/audit-log").await;
        assert_eq!(audit.body["data"][0]["action"], "lead.converted");
    }

    async fn converting_reuses_the_contact_by_email_then_phone_and_the_company_by_name(app) {
        let ann = app.register("ann@example.com").await;
        let acme = app.post(&ann, "/api/v1/companies", json!({"name": "Acme Corp"})).await;
        app.post(&ann, "/api/v1/companies", json!({"name": "ACME CORP", "domain": "acme2.example"})).await.assert(201);
        let known = app.post(&ann, "/api/v1/contacts", json!({"name": "Known Person", "phone": "+14155550104", "title": "CEO"})).await;
        let lead = app.post(&ann, LEADS, json!({"name": "K. Person", "email": "known@example.com", "phone": "+14155550104", "company_name": "acme corp", "source": "website"})).await;
        let id = lead.body["id"].as_str().unwrap();
        let r = app.post(&ann, &format!("{LEADS}/{id}/convert"), json!({})).await;
        r.assert(200);
        assert_eq!(r.body["contact"]["id"], known.body["id"], "matched by phone");
        assert_eq!(r.body["company"]["id"], acme.body["id"], "the oldest company of that name, whatever its case");
        assert_eq!(r.body["deal"], Value::Null);
        // Only its empty fields are filled.
        let contact = &r.body["contact"];
        assert_eq!((contact["name"].as_str(), contact["title"].as_str()), (Some("Known Person"), Some("CEO")));
        assert_eq!((contact["email"].as_str(), contact["lead_source"].as_str()), (Some("known@example.com"), Some("website")));
        assert_eq!(contact["company_id"], acme.body["id"]);
        assert_eq!(r.body["lead"]["converted_deal_id"], Value::Null);
    }

    async fn a_failed_conversion_leaves_everything_as_it_was(app) {
        let ann = app.register("ann@example.com").await;
        let lead = app.post(&ann, LEADS, json!({"name": "Pat", "company_name": "Newco"})).await;
        let id = lead.body["id"].as_str().unwrap();
        let r = app.post(&ann, &format!("{LEADS}/{id}/convert"), json!({"deal": {"amount": "-1", "pipeline_id": "nope"}})).await;
        r.assert_problem(422, "validation_failed");
        let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"deal.amount") && fields.contains(&"deal.pipeline_id"), "{fields:?}");
        assert_eq!(app.get(&ann, &format!("{LEADS}/{id}")).await.body["status"], "new");
        assert_eq!(app.get(&ann, "/api/v1/companies").await.body["data"], json!([]), "the company made first was rolled back");
        assert_eq!(app.get(&ann, "/api/v1/contacts").await.body["data"], json!([]));
    }

    async fn members_see_and_convert_only_their_own_leads(app) {
        let ann = app.register("ann@example.com").await;
        app.patch(&ann, "/api/v1/organization", json!({"member_visibility": "own"})).await.assert(200);
        let mel = app.add_member(&ann, "mel@example.com", "member").await;
        let theirs = app.post(&ann, LEADS, json!({"name": "Ann's"})).await;
        let id = theirs.body["id"].as_str().unwrap();
        app.post(&mel, LEADS, json!({"name": "Mel's"})).await.assert(201);
        assert_eq!(names(&app.get(&mel, LEADS).await.body), ["Mel's"]);
        app.get(&mel, &format!("{LEADS}/{id}")).await.assert_problem(404, "not_found");
        app.post(&mel, &format!("{LEADS}/{id}/convert"), json!({})).await.assert_problem(404, "not_found");
        // Under `all` a member sees it but may not convert it.
        app.patch(&ann, "/api/v1/organization", json!({"member_visibility": "all"})).await.assert(200);
        app.post(&mel, &format!("{LEADS}/{id}/convert"), json!({})).await.assert_problem(403, "forbidden");
        app.post(&mel, LEADS, json!({"name": "Given", "owner_id": ann.user_id})).await.assert_problem(403, "forbidden");
    }

    async fn lead_sources_go_from_leads_to_revenue_per_currency(app) {
        let ann = app.register("ann@example.com").await;
        let mut converted = Vec::new();
        for (name, source) in [("A", Some("referral")), ("B", Some("referral")), ("C", Some("referral")), ("D", Some("website")), ("E", None)] {
            let body = match source {
                Some(s) => json!({"name": name, "source": s}),
                None => json!({"name": name}),
            };
            let id = app.post(&ann, LEADS, body).await.body["id"].as_str().unwrap().to_string();
            converted.push(id);
        }
        // A and B converted with deals (one won in EUR, one won in USD), C not converted, D converted without a deal.
        let mut deals = Vec::new();
        for (id, currency) in [(&converted[0], "EUR"), (&converted[1], "USD")] {
            let r = app.post(&ann, &format!("{LEADS}/{id}/convert"), json!({"deal": {"amount": "100.50", "currency": currency}})).await;
            r.assert(200);
            deals.push(r.body["deal"]["id"].as_str().unwrap().to_string());
        }
        app.post(&ann, &format!("{LEADS}/{}/convert", converted[3]), json!({})).await.assert(200);
        let before = app.get(&ann, "/api/v1/analytics/leads/sources").await;
        before.assert(200);
        assert_eq!(before.body["data"][0]["won_deals"], 0, "nothing won yet");
        for deal in &deals {
            let path = format!("/api/v1/deals/{deal}");
            app.patch(&ann, &path, json!({"status": "in_progress"})).await.assert(200);
            app.patch(&ann, &path, json!({"status": "won"})).await.assert(200);
        }
        let r = app.get(&ann, "/api/v1/analytics/leads/sources").await;
        assert_eq!(r.body, json!({"data": [
            {"source": "referral", "leads": 3, "converted": 2, "conversion_rate": 2.0 / 3.0, "won_deals": 2, "won_amount": {"EUR": "100.50", "USD": "100.50"}},
            {"source": "website", "leads": 1, "converted": 1, "conversion_rate": 1.0, "won_deals": 0, "won_amount": {}},
            {"source": null, "leads": 1, "converted": 0, "conversion_rate": 0.0, "won_deals": 0, "won_amount": {}},
        ]}));
        app.get(&ann, "/api/v1/analytics/leads/sources?created_after=yesterday").await.assert_problem(422, "validation_failed");
        let later = app.get(&ann, "/api/v1/analytics/leads/sources?created_after=2999-01-01T00:00:00Z").await;
        assert_eq!(later.body, json!({"data": []}));
    }

    async fn source_weights_are_settings_and_open_leads_are_scored_again(app) {
        let ann = app.register("ann@example.com").await;
        let max = app.add_member(&ann, "max@example.com", "manager").await;
        let scoring = app.get(&max, "/api/v1/lead-scoring").await;
        scoring.assert(200);
        assert_eq!(scoring.body["source_weights"]["referral"], 25);
        assert_eq!(scoring.body["source_weights"]["walk_in"], 20);
        let open = app.post(&ann, LEADS, json!({"name": "Fair", "source": "trade_fair"})).await;
        let closed = app.post(&ann, LEADS, json!({"name": "Old", "source": "trade_fair", "status": "unqualified"})).await;
        assert_eq!(open.body["score"], 0);
        app.patch(&max, "/api/v1/lead-scoring", json!({"source_weights": {"trade_fair": 30}})).await.assert_problem(403, "forbidden");
        for bad in [json!({"source_weights": {"x": 51}}), json!({"source_weights": {"x": "10"}}), json!({"weights": {}})] {
            app.patch(&ann, "/api/v1/lead-scoring", bad).await.assert(422);
        }
        let r = app.patch(&ann, "/api/v1/lead-scoring", json!({"source_weights": {"Trade_Fair": 30, "referral": 40}})).await;
        r.assert(200);
        assert_eq!((r.body["source_weights"]["trade_fair"].as_i64(), r.body["source_weights"]["referral"].as_i64(), r.body["source_weights"]["website"].as_i64()), (Some(30), Some(40), Some(15)));
        // The background job scores the open lead again; the closed one stays.
        let path = format!("{LEADS}/{}", open.body["id"].as_str().unwrap());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let lead = app.get(&ann, &path).await.body;
            if lead["score"] == 30 {
                assert_eq!(lead["version"], 1);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not scored again: {lead}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let old = app.get(&ann, &format!("{LEADS}/{}", closed.body["id"].as_str().unwrap())).await;
        assert_eq!(old.body["score"], 0);
        // New leads use the new weights at once.
        assert_eq!(app.post(&ann, LEADS, json!({"name": "Ref", "source": "referral"})).await.body["score"], 40);
    }
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

/// A uuid as a SQL literal of the app's backend.
fn uuid_sql(app: &TestApp, id: &str) -> String {
    match app.backend {
        Backend::Sqlite => format!("X'{}'", id.replace('-', "")),
        Backend::Postgres => format!("'{id}'"),
    }
}

both! {
    async fn the_hourly_clock_takes_back_points_that_time_took_away(app) {
        let ann = app.register("ann@example.com").await;
        let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
        let r = app.post(&ann, "/api/v1/leads", json!({"name": "Tomorrow Tom", "next_follow_up_at": soon})).await;
        r.assert(201);
        assert_eq!(r.body["score"], 10, "a follow-up ahead: {}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        let other = app.post(&ann, "/api/v1/leads", json!({"name": "Steady Sue", "next_follow_up_at": soon})).await;
        // The follow-up time passes (as the database sees it) …
        let past = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        crate::contacts::run_sql(&app, &format!("UPDATE leads SET next_follow_up_at = '{past}' WHERE id = {}", uuid_sql(&app, &id))).await;
        assert_eq!(app.get(&ann, &format!("/api/v1/leads/{id}")).await.body["score"], 10, "stored until re-scored");
        // … and the clock's hourly run takes the points back.
        let job = uuid::Uuid::now_v7().to_string();
        crate::contacts::run_sql(&app, &format!(
            "INSERT INTO jobs (organization_id, id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
             VALUES ({}, {}, 'lead_score_clock', '{{}}', 'queued', 0, 3, '{past}', '{past}', '{past}')",
            uuid_sql(&app, "00000000-0000-0000-0000-000000000000"), uuid_sql(&app, &job))).await;
        let start = std::time::Instant::now();
        loop {
            let lead = app.get(&ann, &format!("/api/v1/leads/{id}")).await;
            if lead.body["score"] == 0 {
                assert_eq!(lead.body["score_reasons"], json!([]));
                assert_eq!(lead.body["version"], 1, "re-scoring is not a change of the lead");
                break;
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(30), "never re-scored: {}", lead.body);
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // A lead whose follow-up is still ahead keeps its points.
        assert_eq!(app.get(&ann, &format!("/api/v1/leads/{}", other.body["id"].as_str().unwrap())).await.body["score"], 10);
    }
}
