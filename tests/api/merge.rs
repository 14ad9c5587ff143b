//! Merging duplicate contacts (data.md "Duplicates and merge", issue 15
//! item 5): the survivor takes the chosen fields, the others' deals, tasks
//! and timeline, and their tags; they are gone; all in one transaction.

use serde_json::json;

use crate::both;
use crate::helpers::*;

async fn contact(app: &TestApp, s: &Session, body: serde_json::Value) -> String {
    let r = app.post(s, "/api/v1/contacts", body).await;
    r.assert(201);
    r.body["id"].as_str().unwrap().to_string()
}

both! {
    async fn a_merge_keeps_the_survivor_and_moves_everything_to_it(app) {
        let ann = app.register("ann@example.com").await;
        let company = app.post(&ann, "/api/v1/companies", json!({"name": "Acme"})).await.body["id"].as_str().unwrap().to_string();
        let keep = contact(&app, &ann, json!({"name": "Jon Smith", "title": "CEO", "tags": ["vip"]})).await;
        let dup1 = contact(&app, &ann, json!({"name": "Jonathan Smith", "email": "jon@acme.example", "company_id": company, "tags": ["lead"]})).await;
        let dup2 = contact(&app, &ann, json!({"name": "J. Smith", "phone": "+14155550100", "title": "Chief", "tags": ["vip", "expo"]})).await;
        let deal = app.post(&ann, "/api/v1/deals", json!({"title": "Renewal", "contact_id": dup1})).await;
        let deal_id = deal.body["id"].as_str().unwrap().to_string();
        let task = app.post(&ann, "/api/v1/tasks", json!({"title": "Call", "contact_id": dup2})).await;
        let task_id = task.body["id"].as_str().unwrap().to_string();
        app.post(&ann, &format!("/api/v1/contacts/{dup2}/activities"), json!({"text": "Met at the expo"})).await.assert(201);
        let before = app.get(&ann, &format!("/api/v1/contacts/{keep}")).await.body["version"].as_i64().unwrap();

        let r = app.post(&ann, &format!("/api/v1/contacts/{keep}/merge"), json!({
            "merge_ids": [dup1, dup2],
            "fields": {"name": dup1, "title": dup2}
        })).await;
        r.assert(200);
        let survivor = &r.body;
        assert_eq!(survivor["id"], keep.as_str());
        assert_eq!(survivor["name"], "Jonathan Smith", "chosen from the first merged");
        assert_eq!(survivor["title"], "Chief", "chosen from the second");
        assert_eq!(survivor["email"], "jon@acme.example", "empty on the survivor: the first non-empty");
        assert_eq!(survivor["phone"], "+14155550100");
        assert_eq!(survivor["company_id"], company.as_str());
        assert_eq!(survivor["tags"], json!(["vip", "lead", "expo"]));
        assert_eq!(survivor["version"].as_i64().unwrap(), before + 1);

        for gone in [&dup1, &dup2] {
            app.get(&ann, &format!("/api/v1/contacts/{gone}")).await.assert_problem(404, "not_found");
        }
        assert_eq!(app.get(&ann, &format!("/api/v1/deals/{deal_id}")).await.body["contact_id"], keep.as_str());
        assert_eq!(app.get(&ann, &format!("/api/v1/tasks/{task_id}")).await.body["contact_id"], keep.as_str());
        let timeline = app.get(&ann, &format!("/api/v1/contacts/{keep}/activities")).await;
        let items = timeline.body["data"].as_array().unwrap();
        assert!(items.iter().any(|a| a["payload"]["text"] == "Met at the expo"), "the merged timeline moved");
        let merged = items.iter().find(|a| a["type"] == "system" && a["payload"]["event"] == "merged").expect("a merged activity");
        assert_eq!(merged["payload"]["merged_ids"], json!([dup1, dup2]));
        // The merged email and phone now find the survivor; the list has one Smith.
        let found = app.get(&ann, "/api/v1/contacts?q=smith").await;
        assert_eq!(found.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(app.get(&ann, "/api/v1/contacts?tag=expo").await.body["data"][0]["id"], keep.as_str());
        let audit = app.get(&ann, "/api/v1/audit-log").await;
        assert_eq!(audit.body["data"][0]["action"], "contact.merged");
        assert_eq!(audit.body["data"][0]["target_id"], keep.as_str());
    }

    async fn a_merge_refuses_what_it_cannot_do_and_changes_nothing(app) {
        let ann = app.register("ann@example.com").await;
        let bob = app.register("bob@example.com").await;
        let mel = app.add_member(&ann, "mel@example.com", "member").await;
        let keep = contact(&app, &ann, json!({"name": "Keep"})).await;
        let other = contact(&app, &ann, json!({"name": "Other", "tags": ["a"]})).await;
        let path = format!("/api/v1/contacts/{keep}/merge");

        let r = app.post(&ann, &path, json!({"merge_ids": []})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "merge_ids");
        let r = app.post(&ann, &path, json!({"merge_ids": [keep]})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "merge_ids[0]");
        // An unknown survivor is a 404 before anything else is said of it.
        let ghost = uuid::Uuid::now_v7().to_string();
        app.post(&ann, &format!("/api/v1/contacts/{ghost}/merge"), json!({"merge_ids": [ghost]})).await.assert_problem(404, "not_found");
        let stranger = contact(&app, &ann, json!({"name": "Stranger"})).await;
        let r = app.post(&ann, &path, json!({"merge_ids": [other], "fields": {"name": stranger}})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "fields.name");
        let r = app.post(&ann, &path, json!({"merge_ids": [other], "fields": {"version": keep}})).await;
        assert_eq!(r.body["errors"][0]["field"], "fields.version");
        // Too many tags together.
        let many: Vec<String> = (0..15).map(|i| format!("t{i}")).collect();
        let more: Vec<String> = (15..30).map(|i| format!("t{i}")).collect();
        app.patch(&ann, &format!("/api/v1/contacts/{keep}"), json!({"tags": many})).await.assert(200);
        app.patch(&ann, &format!("/api/v1/contacts/{other}"), json!({"tags": more})).await.assert(200);
        let r = app.post(&ann, &path, json!({"merge_ids": [other]})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "tags");
        app.get(&ann, &format!("/api/v1/contacts/{other}")).await.assert(200);

        // Unknown, another organization's, not the member's own.
        let r = app.post(&ann, &path, json!({"merge_ids": [uuid::Uuid::now_v7().to_string()]})).await;
        r.assert_problem(404, "not_found");
        let theirs = contact(&app, &bob, json!({"name": "Bob's"})).await;
        app.post(&ann, &path, json!({"merge_ids": [theirs]})).await.assert_problem(404, "not_found");
        app.post(&bob, &path, json!({"merge_ids": [theirs]})).await.assert_problem(404, "not_found");
        app.post(&mel, &path, json!({"merge_ids": [other]})).await.assert_problem(403, "forbidden");
        let mine = contact(&app, &mel, json!({"name": "Mel's"})).await;
        let mine2 = contact(&app, &mel, json!({"name": "Mel's too"})).await;
        let r = app.post(&mel, &format!("/api/v1/contacts/{mine}/merge"), json!({"merge_ids": [mine2]})).await;
        r.assert(200);
        // Nothing of the refused merges happened.
        assert_eq!(app.get(&ann, &format!("/api/v1/contacts/{other}")).await.body["name"], "Other");
        assert_eq!(app.get(&bob, &format!("/api/v1/contacts/{theirs}")).await.status.as_u16(), 200);
    }
}

both! {
    async fn companies_merge_their_contacts_and_deals_into_one(app) {
        let ann = app.register("ann@example.com").await;
        let id = |r: &Resp| r.body["id"].as_str().unwrap().to_string();
        let keep = id(&app.post(&ann, "/api/v1/companies", json!({"name": "Acme", "tags": ["a"]})).await);
        let dup = id(&app.post(&ann, "/api/v1/companies", json!({"name": "ACME Inc.", "domain": "acme.example", "industry": "Tools", "tags": ["b"]})).await);
        let person = contact(&app, &ann, json!({"name": "Cy", "company_id": dup})).await;
        let deal = id(&app.post(&ann, "/api/v1/deals", json!({"title": "Big", "contact_id": person, "company_id": dup})).await);

        let r = app.post(&ann, &format!("/api/v1/companies/{keep}/merge"), json!({"merge_ids": [dup]})).await;
        r.assert(200);
        assert_eq!(r.body["name"], "Acme", "the survivor's own name");
        assert_eq!(r.body["domain"], "acme.example", "taken: the survivor had none");
        assert_eq!(r.body["industry"], "Tools");
        assert_eq!(r.body["tags"], json!(["a", "b"]));
        app.get(&ann, &format!("/api/v1/companies/{dup}")).await.assert_problem(404, "not_found");
        assert_eq!(app.get(&ann, &format!("/api/v1/contacts/{person}")).await.body["company_id"], keep.as_str());
        assert_eq!(app.get(&ann, &format!("/api/v1/deals/{deal}")).await.body["company_id"], keep.as_str());
        assert_eq!(app.get(&ann, "/api/v1/audit-log").await.body["data"][0]["action"], "company.merged");
        // A contact's field is not a company's.
        let other = id(&app.post(&ann, "/api/v1/companies", json!({"name": "Other"})).await);
        let r = app.post(&ann, &format!("/api/v1/companies/{keep}/merge"), json!({"merge_ids": [other], "fields": {"email": other}})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "fields.email");
        app.get(&ann, &format!("/api/v1/companies/{other}")).await.assert(200);
    }
}
