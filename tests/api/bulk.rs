//! Bulk actions (leads.md "Bulk actions", issue 16 item 5): by ids or by a
//! list query, up to 10,000 records in one transaction, each checked as
//! its single change would be, one audit entry.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

async fn contact(app: &TestApp, s: &Session, name: &str, tags: Value) -> String {
    let r = app
        .post(s, "/api/v1/contacts", json!({"name": name, "tags": tags}))
        .await;
    r.assert(201);
    r.body["id"].as_str().unwrap().to_string()
}

both! {
    async fn tags_and_owners_change_by_ids_and_by_query(app) {
        let ann = app.register("ann@example.com").await;
        let max = app.add_member(&ann, "max@example.com", "member").await;
        let a = contact(&app, &ann, "Ann A", json!(["vip"])).await;
        let b = contact(&app, &ann, "Bob B", json!([])).await;
        let c = contact(&app, &ann, "Cy C", json!([])).await;
        let r = app.post(&ann, "/api/v1/contacts/bulk", json!({"ids": [a, b, c], "action": "add_tags", "tags": ["VIP", "spring"]})).await;
        r.assert(200);
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64(), r.body["forbidden"].as_u64()), (Some(3), Some(3), Some(0)));
        assert_eq!(app.get(&ann, &format!("/api/v1/contacts/{a}")).await.body["tags"], json!(["vip", "spring"]));
        // Already in the target state: matched, not changed.
        let r = app.post(&ann, "/api/v1/contacts/bulk", json!({"ids": [a], "action": "add_tags", "tags": ["vip"]})).await;
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64()), (Some(1), Some(0)));
        // By a list query: every contact tagged spring, named b…
        let r = app.post(&ann, "/api/v1/contacts/bulk", json!({"query": "tag=spring&q=bob", "action": "remove_tags", "tags": ["spring"]})).await;
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64()), (Some(1), Some(1)));
        assert_eq!(app.get(&ann, &format!("/api/v1/contacts/{b}")).await.body["tags"], json!(["vip"]));
        let r = app.post(&ann, "/api/v1/contacts/bulk", json!({"query": "tag=spring", "action": "assign_owner", "owner_id": max.user_id})).await;
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64()), (Some(2), Some(2)));
        let r = app.get(&ann, &format!("/api/v1/contacts/{c}")).await;
        assert_eq!((r.body["owner_id"].as_str(), r.body["version"].as_i64()), (Some(max.user_id.as_str()), Some(3)));
        // One audit entry per action, with the changed ids.
        let log = app.get(&ann, "/api/v1/audit-log").await;
        assert_eq!(log.body["data"][0]["action"], "contact.bulk_assign_owner");
        assert_eq!(log.body["data"][0]["details"]["ids"].as_array().map(Vec::len), Some(2));

        // Other types.
        for (path, body) in [
            ("/api/v1/companies", json!({"name": "Acme"})),
            ("/api/v1/leads", json!({"name": "Lee"})),
            ("/api/v1/tasks", json!({"title": "Call", "due_date": "2099-01-01T10:00:00Z"})),
            ("/api/v1/deals", json!({"title": "Deal", "contact_id": a})),
            ("/api/v1/properties", json!({"title": "Flat"})),
        ] {
            let id = app.post(&ann, path, body).await.body["id"].as_str().unwrap().to_string();
            let r = app.post(&ann, &format!("{path}/bulk"), json!({"ids": [id], "action": "add_tags", "tags": ["q4"]})).await;
            r.assert(200);
            assert_eq!(r.body["changed"], 1, "{path}");
            assert_eq!(app.get(&ann, &format!("{path}/{id}")).await.body["tags"], json!(["q4"]), "{path}");
        }
    }

    async fn each_record_is_checked_like_its_single_change(app) {
        let ann = app.register("ann@example.com").await;
        let mia = app.add_member(&ann, "mia@example.com", "member").await;
        let mine = contact(&app, &mia, "Mia's", json!([])).await;
        let anns = contact(&app, &ann, "Ann's", json!([])).await;
        let with_deal = contact(&app, &ann, "Dealt", json!([])).await;
        app.post(&ann, "/api/v1/deals", json!({"title": "D", "contact_id": with_deal})).await.assert(201);
        // A member changes only their own.
        let r = app.post(&mia, "/api/v1/contacts/bulk", json!({"ids": [mine, anns], "action": "add_tags", "tags": ["x"]})).await;
        r.assert(200);
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64(), r.body["forbidden"].as_u64()), (Some(2), Some(1), Some(1)));
        assert_eq!(r.body["forbidden_ids"], json!([anns]));
        assert_eq!(r.body["forbidden_reasons"][&anns], "forbidden");
        // A contact with deals is not deleted; the rest are, in one go.
        let r = app.post(&ann, "/api/v1/contacts/bulk", json!({"ids": [mine, anns, with_deal], "action": "delete"})).await;
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64(), r.body["forbidden"].as_u64()), (Some(3), Some(2), Some(1)));
        assert_eq!(r.body["forbidden_reasons"][&with_deal], "contact_has_deals");
        app.get(&ann, &format!("/api/v1/contacts/{anns}")).await.assert_problem(404, "not_found");
        app.get(&ann, &format!("/api/v1/contacts/{with_deal}")).await.assert(200);
        // Deleted records leave no tag behind.
        let r = app.get(&ann, "/api/v1/contacts?tag=x").await;
        assert_eq!(r.body["data"].as_array().map(Vec::len), Some(0));
        // Unknown and other organizations' ids are not matched.
        let bob = app.register("bob@example.com").await;
        let r = app.post(&bob, "/api/v1/contacts/bulk", json!({"ids": [with_deal, "00000000-0000-0000-0000-000000000000"], "action": "delete"})).await;
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64()), (Some(0), Some(0)));
        app.get(&ann, &format!("/api/v1/contacts/{with_deal}")).await.assert(200);
    }

    async fn bulk_requests_are_checked_first(app) {
        let ann = app.register("ann@example.com").await;
        let a = contact(&app, &ann, "A", json!([])).await;
        for (body, field) in [
            (json!({"ids": [a], "query": "q=a", "action": "delete"}), "query"),
            (json!({"action": "delete"}), "ids"),
            (json!({"ids": [a], "action": "explode"}), "action"),
            (json!({"ids": [a], "action": "add_tags"}), "tags"),
            (json!({"ids": [a], "action": "add_tags", "tags": []}), "tags"),
            (json!({"ids": [a], "action": "assign_owner"}), "owner_id"),
            (json!({"ids": ["nope"], "action": "delete"}), "ids[0]"),
            (json!({"query": "sort=shoe", "action": "delete"}), "query.sort"),
        ] {
            let r = app.post(&ann, "/api/v1/contacts/bulk", body.clone()).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.body);
        }
        let r = app.post(&ann, "/api/v1/contacts/bulk", json!({"ids": [a], "action": "assign_owner", "owner_id": "00000000-0000-0000-0000-000000000000"})).await;
        r.assert_problem(422, "owner_not_member");
        let many: Vec<String> = (0..10_001).map(|i| format!("00000000-0000-0000-0000-{i:012}")).collect();
        let r = app.post(&ann, "/api/v1/contacts/bulk", json!({"ids": many, "action": "delete"})).await;
        r.assert_problem(422, "too_many_records");
        // A query that lists more than 10,000.
        crate::contacts::insert_contacts(&app, &ann, 10_001, "'c' || i").await;
        let r = app.post(&ann, "/api/v1/contacts/bulk", json!({"query": "", "action": "add_tags", "tags": ["all"]})).await;
        r.assert_problem(422, "too_many_records");
        assert_eq!(app.get(&ann, "/api/v1/contacts?tag=all").await.body["data"].as_array().map(Vec::len), Some(0), "nothing written");
    }

    async fn with_own_visibility_a_member_reaches_only_their_records(app) {
        let ann = app.register("ann@example.com").await;
        let mia = app.add_member(&ann, "mia@example.com", "member").await;
        app.patch(&ann, "/api/v1/organization", json!({"member_visibility": "own"})).await.assert(200);
        app.post(&ann, "/api/v1/custom-fields", json!({"object": "contacts", "key": "tier", "label": "Tier", "type": "text"})).await.assert(201);
        let hers = app.post(&mia, "/api/v1/contacts", json!({"name": "Hers", "custom": {"tier": "gold"}})).await.body["id"].as_str().unwrap().to_string();
        let anns = app.post(&ann, "/api/v1/contacts", json!({"name": "Ann's", "custom": {"tier": "gold"}})).await.body["id"].as_str().unwrap().to_string();
        // Lists, custom filters and bulk queries see only her own.
        let r = app.get(&mia, "/api/v1/contacts?custom.tier=gold").await;
        assert_eq!(r.body["data"].as_array().map(Vec::len), Some(1));
        let r = app.post(&mia, "/api/v1/contacts/bulk", json!({"query": "custom.tier=gold", "action": "add_tags", "tags": ["x"]})).await;
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64()), (Some(1), Some(1)));
        // Named by id, a record she cannot read is not matched (not even forbidden).
        let r = app.post(&mia, "/api/v1/contacts/bulk", json!({"ids": [anns, hers], "action": "delete"})).await;
        assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64(), r.body["forbidden"].as_u64()), (Some(1), Some(1), Some(0)));
        app.get(&ann, &format!("/api/v1/contacts/{anns}")).await.assert(200);
        // Hers is gone; Ann's stays out of her list.
        let r = app.get(&mia, "/api/v1/contacts?custom.tier=gold").await;
        assert_eq!(r.body["data"].as_array().map(Vec::len), Some(0));
    }
}
