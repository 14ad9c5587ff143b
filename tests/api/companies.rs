//! api.md §5 companies and tags.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const COMPANIES: &str = "/api/v1/companies";

async fn create(app: &TestApp, s: &Session, body: Value) -> Value {
    let r = app.post(s, COMPANIES, body).await;
    r.assert(201);
    r.body
}

fn names(r: &Resp) -> Vec<String> {
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

both! {
    async fn companies_are_created_with_every_field(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.post(&ann, COMPANIES, json!({
            "name": " Acme ", "domain": "https://www.ACME.com/about?x=1", "industry": "", "employee_count": 12,
            "tags": ["B2B", "b2b "]})).await;
        r.assert(201);
        assert_eq!(r.header("etag"), Some("\"1\""));
        let c = &r.body;
        assert_eq!(c["name"], "Acme");
        assert_eq!(c["domain"], "www.acme.com");
        assert_eq!(c["industry"], Value::Null);
        assert_eq!(c["employee_count"], 12);
        assert_eq!(c["tags"], json!(["b2b"]));
        assert_eq!(c["owner_id"], ann.user_id.as_str());
        assert_eq!(c["version"], 1);
        for field in ["id", "created_at", "updated_at"] {
            assert!(c[field].is_string(), "{field}");
        }
        let got = app.get(&ann, &format!("{COMPANIES}/{}", c["id"].as_str().unwrap())).await;
        got.assert(200);
        assert_eq!(&got.body, c);
    }

    async fn company_input_is_validated(app) {
        let ann = app.register("ann@example.com").await;
        for (body, field) in [
            (json!({"name": ""}), "name"),
            (json!({"name": "A", "domain": "not a domain"}), "domain"),
            (json!({"name": "A", "employee_count": -1}), "employee_count"),
            (json!({"name": "A", "employee_count": "many"}), "employee_count"),
            (json!({"name": "A", "owner_id": "nope"}), "owner_id"),
            (json!({"name": "A", "website": "x"}), "website"),
        ] {
            let r = app.post(&ann, COMPANIES, body.clone()).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{body}");
        }
        let r = app.post(&ann, COMPANIES, json!({"name": "A", "owner_id": uuid::Uuid::now_v7()})).await;
        r.assert_problem(422, "owner_not_member");
    }

    async fn a_domain_is_unique_in_the_organization(app) {
        let ann = app.register("ann@example.com").await;
        let bo = app.register("bo@example.com").await;
        let acme = create(&app, &ann, json!({"name": "Acme", "domain": "acme.com"})).await;
        let r = app.post(&ann, COMPANIES, json!({"name": "Acme 2", "domain": "HTTP://ACME.COM"})).await;
        r.assert_problem(409, "duplicate_company");
        assert_eq!(r.body["existing_id"], acme["id"]);
        // Another organization may use it.
        create(&app, &bo, json!({"name": "Acme", "domain": "acme.com"})).await;
        // Changing another company to the same domain conflicts too.
        let other = create(&app, &ann, json!({"name": "Other"})).await;
        let r = app.patch(&ann, &format!("{COMPANIES}/{}", other["id"].as_str().unwrap()), json!({"domain": "acme.com"})).await;
        r.assert_problem(409, "duplicate_company");
    }

    async fn patch_changes_what_is_sent_and_honours_if_match(app) {
        let ann = app.register("ann@example.com").await;
        let c = create(&app, &ann, json!({"name": "Acme", "industry": "Tools", "tags": ["a"]})).await;
        let path = format!("{COMPANIES}/{}", c["id"].as_str().unwrap());
        let r = app.patch(&ann, &path, json!({"industry": null, "employee_count": 5})).await;
        r.assert(200);
        assert_eq!(r.body["industry"], Value::Null);
        assert_eq!(r.body["employee_count"], 5);
        assert_eq!(r.body["name"], "Acme");
        assert_eq!(r.body["tags"], json!(["a"]));
        assert_eq!(r.body["version"], 2);
        assert_eq!(r.header("etag"), Some("\"2\""));
        // Nothing changes: same version.
        let same = app.patch(&ann, &path, r.body.clone()).await;
        same.assert(200);
        assert_eq!(same.body["version"], 2);
        let stale = send(app.as_user(&ann, reqwest::Method::PATCH, &path).header("If-Match", "\"1\"").json(&json!({"name": "B"}))).await;
        stale.assert_problem(412, "version_mismatch");
        assert_eq!(app.get(&ann, &path).await.body["name"], "Acme");
        let ok = send(app.as_user(&ann, reqwest::Method::PATCH, &path).header("If-Match", "\"2\"").json(&json!({"name": "B"}))).await;
        ok.assert(200);
        assert_eq!(ok.body["version"], 3);
    }

    async fn contacts_follow_their_company(app) {
        let ann = app.register("ann@example.com").await;
        let c = create(&app, &ann, json!({"name": "Acme"})).await;
        let id = c["id"].as_str().unwrap();
        let contact = app.post(&ann, "/api/v1/contacts", json!({"name": "John Smith", "company_id": id})).await;
        contact.assert(201);
        let found = app.get(&ann, "/api/v1/contacts?q=acm").await;
        assert_eq!(names(&found), vec!["John Smith"]);
        app.get(&ann, &format!("/api/v1/contacts?company_id={id}")).await.assert(200);

        app.patch(&ann, &format!("{COMPANIES}/{id}"), json!({"name": "Zenith"})).await.assert(200);
        assert!(names(&app.get(&ann, "/api/v1/contacts?q=acm").await).is_empty());
        assert_eq!(names(&app.get(&ann, "/api/v1/contacts?q=zen").await), vec!["John Smith"]);

        app.delete(&ann, &format!("{COMPANIES}/{id}")).await.assert(204);
        app.get(&ann, &format!("{COMPANIES}/{id}")).await.assert_problem(404, "not_found");
        let after = app.get(&ann, &format!("/api/v1/contacts/{}", contact.body["id"].as_str().unwrap())).await;
        assert_eq!(after.body["company_id"], Value::Null);
        assert_eq!(after.body["version"], 2);
        assert!(names(&app.get(&ann, "/api/v1/contacts?q=zen").await).is_empty());
        let log = app.get(&ann, "/api/v1/audit-log").await;
        let deleted = log.body["data"].as_array().unwrap().iter().find(|e| e["action"] == "company.deleted").unwrap().clone();
        assert_eq!(deleted["target_id"], id);
    }

    async fn members_change_only_their_own_companies(app) {
        let owner = app.register("olive@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let theirs = create(&app, &owner, json!({"name": "Owner's"})).await;
        let path = format!("{COMPANIES}/{}", theirs["id"].as_str().unwrap());
        app.patch(&member, &path, json!({"name": "Mine now"})).await.assert_problem(403, "forbidden");
        app.delete(&member, &path).await.assert_problem(403, "forbidden");
        app.post(&member, COMPANIES, json!({"name": "X", "owner_id": owner.user_id})).await.assert_problem(403, "forbidden");
        let mine = create(&app, &member, json!({"name": "Mel's"})).await;
        let mine_path = format!("{COMPANIES}/{}", mine["id"].as_str().unwrap());
        app.patch(&member, &mine_path, json!({"name": "Mel's Co"})).await.assert(200);
        app.patch(&member, &mine_path, json!({"owner_id": owner.user_id})).await.assert_problem(403, "forbidden");
        // A manager reassigns and edits anyone's.
        let r = app.patch(&manager, &path, json!({"owner_id": member.user_id})).await;
        r.assert(200);
        assert_eq!(r.body["owner_id"], member.user_id.as_str());
        app.delete(&manager, &mine_path).await.assert(204);
    }

    async fn another_organizations_company_is_not_found(app) {
        let ann = app.register("ann@example.com").await;
        let bo = app.register("bo@example.com").await;
        let theirs = create(&app, &bo, json!({"name": "Bo's"})).await;
        let path = format!("{COMPANIES}/{}", theirs["id"].as_str().unwrap());
        app.get(&ann, &path).await.assert_problem(404, "not_found");
        app.patch(&ann, &path, json!({"name": "x"})).await.assert_problem(404, "not_found");
        app.delete(&ann, &path).await.assert_problem(404, "not_found");
        app.get(&ann, &format!("{COMPANIES}/not-a-uuid")).await.assert_problem(404, "not_found");
        // A contact cannot point at it either.
        let r = app.post(&ann, "/api/v1/contacts", json!({"name": "X", "company_id": theirs["id"]})).await;
        r.assert_problem(422, "company_not_found");
        assert_eq!(app.get(&bo, &path).await.body["name"], "Bo's");
    }

    async fn company_lists_filter_sort_and_page(app) {
        let ann = app.register("ann@example.com").await;
        let manager = app.add_member(&ann, "max@example.com", "manager").await;
        for (name, tags) in [("Delta", json!(["x"])), ("alpha", json!(["x", "y"])), ("Charlie", json!([])), ("Bravo", json!(["y"]))] {
            create(&app, &ann, json!({"name": name, "tags": tags})).await;
        }
        create(&app, &manager, json!({"name": "Echo"})).await;
        let r = app.get(&ann, COMPANIES).await;
        r.assert(200);
        assert_eq!(names(&r), vec!["Echo", "Bravo", "Charlie", "alpha", "Delta"]);
        assert_eq!(r.body["next_cursor"], Value::Null);
        let by_name = names(&app.get(&ann, &format!("{COMPANIES}?sort=name")).await);
        let mut backwards = names(&app.get(&ann, &format!("{COMPANIES}?sort=-name")).await);
        backwards.reverse();
        assert_eq!(by_name, backwards, "-name is name reversed");
        assert_eq!(by_name.len(), 5);
        assert_eq!(names(&app.get(&ann, &format!("{COMPANIES}?tag=x&tag=Y")).await), vec!["alpha"]);
        assert_eq!(names(&app.get(&ann, &format!("{COMPANIES}?owner_id={}", manager.user_id)).await), vec!["Echo"]);
        assert_eq!(names(&app.get(&ann, &format!("{COMPANIES}?q=ALP")).await), vec!["alpha"]);
        app.get(&ann, &format!("{COMPANIES}?sort=industry")).await.assert_problem(422, "validation_failed");
        app.get(&ann, &format!("{COMPANIES}?cursor=zzz")).await.assert_problem(422, "invalid_cursor");
        app.get(&ann, &format!("{COMPANIES}?limit=0")).await.assert_problem(422, "validation_failed");

        for sort in ["-created_at", "created_at", "name", "-name"] {
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("{COMPANIES}?limit=2&sort={sort}");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={c}"));
                }
                let page = app.get(&ann, &path).await;
                page.assert(200);
                seen.extend(names(&page));
                match page.body["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            let whole = names(&app.get(&ann, &format!("{COMPANIES}?sort={sort}")).await);
            assert_eq!(seen, whole, "walking {sort} page by page");
        }
    }

    async fn tags_count_what_the_caller_can_see(app) {
        let owner = app.register("olive@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        create(&app, &owner, json!({"name": "A", "tags": ["vip", "b2b"]})).await;
        create(&app, &owner, json!({"name": "B", "tags": ["vip"]})).await;
        app.post(&owner, "/api/v1/contacts", json!({"name": "C", "tags": ["vip", "lead"]})).await.assert(201);
        app.post(&member, "/api/v1/contacts", json!({"name": "D", "tags": ["lead", "zeta"]})).await.assert(201);
        // A task the owner creates for the member: the member sees it, so its tags.
        app.post(&owner, "/api/v1/tasks", json!({"title": "Call", "assignee_id": member.user_id, "tags": ["zeta"]}))
            .await
            .assert(201);
        app.post(&owner, "/api/v1/tasks", json!({"title": "Mine", "tags": ["hidden"]})).await.assert(201);
        let r = app.get(&owner, "/api/v1/tags").await;
        r.assert(200);
        assert_eq!(r.body, json!({"data": [
            {"name": "vip", "count": 3}, {"name": "lead", "count": 2}, {"name": "zeta", "count": 2},
            {"name": "b2b", "count": 1}, {"name": "hidden", "count": 1}
        ], "next_cursor": null}));
        app.patch(&owner, "/api/v1/organization", json!({"member_visibility": "own"})).await.assert(200);
        let r = app.get(&member, "/api/v1/tags").await;
        assert_eq!(r.body["data"], json!([{"name": "zeta", "count": 2}, {"name": "lead", "count": 1}]));
        // A member also sees only their own companies.
        assert!(names(&app.get(&member, COMPANIES).await).is_empty());
    }

    async fn company_creation_honours_idempotency_keys(app) {
        let ann = app.register("ann@example.com").await;
        let body = json!({"name": "Acme"});
        let first = send(app.as_user(&ann, reqwest::Method::POST, COMPANIES).header("Idempotency-Key", "k1").json(&body)).await;
        first.assert(201);
        let again = send(app.as_user(&ann, reqwest::Method::POST, COMPANIES).header("Idempotency-Key", "k1").json(&body)).await;
        again.assert(201);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body, first.body);
        assert_eq!(names(&app.get(&ann, COMPANIES).await).len(), 1);
        let other = send(app.as_user(&ann, reqwest::Method::POST, COMPANIES).header("Idempotency-Key", "k1").json(&json!({"name": "Other"}))).await;
        other.assert_problem(422, "idempotency_key_reused");
    }
}

both! {
    async fn walking_company_pages_while_companies_are_added_visits_each_once(app) {
        let ann = app.register("ann@example.com").await;
        let mut existing = Vec::new();
        for name in ["Same", "Same", "Other", "Same", "Zeta", "Alpha", "Same"] {
            existing.push(create(&app, &ann, json!({"name": name})).await["id"].as_str().unwrap().to_string());
        }
        for sort in ["name", "-name", "-created_at"] {
            let mut seen: Vec<String> = Vec::new();
            let mut cursor = String::new();
            let mut added = 0;
            loop {
                let page = app.get(&ann, &format!("{COMPANIES}?sort={sort}&limit=2{cursor}")).await;
                page.assert(200);
                seen.extend(page.body["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()));
                if added < 2 {
                    create(&app, &ann, json!({"name": "Same"})).await;
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
            assert_eq!(unique.len(), seen.len(), "{sort}: a company was returned twice");
            for id in &existing {
                assert!(seen.contains(id), "{sort}: company {id} was skipped");
            }
        }
    }
}
