//! Saved views (leads.md "Saved views", issue 16 item 5): private to their
//! owner or shared with the organization; managers and above change shared
//! ones; the query is checked against the list it names.

use serde_json::json;

use crate::both;
use crate::helpers::*;

const VIEWS: &str = "/api/v1/views";

both! {
    async fn private_views_are_their_owners_and_shared_ones_everyones(app) {
        let ann = app.register("ann@example.com").await;
        let mia = app.add_member(&ann, "mia@example.com", "member").await;
        let max = app.add_member(&ann, "max@example.com", "manager").await;
        let r = app.post(&mia, VIEWS, json!({"object": "deals", "name": "My open", "query": "status=new&sort=-amount"})).await;
        r.assert(201);
        assert_eq!((r.body["shared"].as_bool(), r.body["owner_id"].as_str()), (Some(false), Some(mia.user_id.as_str())));
        let private = r.body["id"].as_str().unwrap().to_string();
        let r = app.post(&mia, VIEWS, json!({"object": "deals", "name": "Team big deals", "query": "?amount_min=1000", "shared": true, "columns": ["title", "amount"]})).await;
        r.assert(201);
        assert_eq!(r.body["query"], "?amount_min=1000", "stored as given");
        let shared = r.body["id"].as_str().unwrap().to_string();

        // Another member's private view does not exist for them.
        app.get(&max, &format!("{VIEWS}/{private}")).await.assert_problem(404, "not_found");
        app.patch(&max, &format!("{VIEWS}/{private}"), json!({"name": "x"})).await.assert_problem(404, "not_found");
        app.delete(&ann, &format!("{VIEWS}/{private}")).await.assert_problem(404, "not_found");
        let names = |r: &Resp| r.body["data"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(names(&app.get(&mia, &format!("{VIEWS}?object=deals")).await), vec!["My open", "Team big deals"]);
        assert_eq!(names(&app.get(&max, &format!("{VIEWS}?object=deals")).await), vec!["Team big deals"]);
        assert_eq!(names(&app.get(&max, &format!("{VIEWS}?object=contacts")).await), Vec::<String>::new());

        // A member cannot change another's shared view; a manager can.
        let other = app.add_member(&ann, "ole@example.com", "member").await;
        app.patch(&other, &format!("{VIEWS}/{shared}"), json!({"name": "Mine now"})).await.assert_problem(403, "forbidden");
        app.delete(&other, &format!("{VIEWS}/{shared}")).await.assert_problem(403, "forbidden");
        let r = app.patch(&max, &format!("{VIEWS}/{shared}"), json!({"name": "Big deals", "query": "amount_min=5000"})).await;
        r.assert(200);
        assert_eq!((r.body["name"].as_str(), r.body["query"].as_str()), (Some("Big deals"), Some("amount_min=5000")));
        // Only the owner makes it private again.
        let r = app.patch(&max, &format!("{VIEWS}/{shared}"), json!({"shared": false})).await;
        r.assert_problem(422, "validation_failed");
        app.patch(&mia, &format!("{VIEWS}/{private}"), json!({"shared": true})).await.assert(200);
        assert_eq!(app.get(&max, &format!("{VIEWS}/{private}")).await.body["name"], "My open");
        app.delete(&max, &format!("{VIEWS}/{shared}")).await.assert(204);
        app.get(&mia, &format!("{VIEWS}/{shared}")).await.assert_problem(404, "not_found");
        // A manager's change of another's view is in the audit log.
        let audit = app.get(&ann, "/api/v1/audit-log").await;
        assert_eq!((audit.body["data"][0]["action"].as_str(), audit.body["data"][1]["action"].as_str()), (Some("view.deleted"), Some("view.updated")));
    }

    async fn a_views_query_is_checked_against_its_list(app) {
        let ann = app.register("ann@example.com").await;
        app.post(&ann, "/api/v1/custom-fields", json!({"object": "leads", "key": "budget", "label": "Budget", "type": "number"})).await.assert(201);
        for (object, query) in [
            ("contacts", "q=ann&tag=vip&sort=name"),
            ("companies", ""),
            ("deals", "status=won&status=lost"),
            ("leads", "score_min=50&sort=-score&custom.budget_min=100"),
            ("properties", "city=Lisbon&price_max=500000"),
            ("tasks", "completed=false"),
        ] {
            app.post(&ann, VIEWS, json!({"object": object, "name": object, "query": query})).await.assert(201);
        }
        for (object, query, field) in [
            ("contacts", "sort=shoe_size", "query.sort"),
            ("leads", "score_min=500", "query.score_min"),
            ("leads", "custom.nope=1", "query.custom.nope"),
            ("deals", "cursor=abc", "query.cursor"),
            ("deals", "limit=5", "query.limit"),
        ] {
            let r = app.post(&ann, VIEWS, json!({"object": object, "name": "bad", "query": query})).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{query}: {}", r.body);
        }
        let r = app.post(&ann, VIEWS, json!({"object": "invoices", "name": "x"})).await;
        assert_eq!(r.body["errors"][0]["field"], "object");
        let r = app.post(&ann, VIEWS, json!({"object": "deals", "name": ""})).await;
        assert_eq!(r.body["errors"][0]["field"], "name");
    }
}
