//! api.md §4 and §7: the caller's organizations, creating one (with
//! `Idempotency-Key`), reading and changing the current organization's
//! settings (roles, `If-Match`, no-op PATCH, validation), and the tenancy
//! header.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const ORG: &str = "/api/v1/organization";
const ORGS: &str = "/api/v1/organizations";
const MY_ORGS: &str = "/api/v1/organizations/me";

/// `GET /organizations/me` without `X-Organization-Id`.
async fn my_orgs(app: &TestApp, s: &Session) -> Vec<Value> {
    let r = send(app.request(Method::GET, MY_ORGS).bearer_auth(&s.token)).await;
    r.assert(200);
    r.body["data"].as_array().unwrap().clone()
}

/// A `POST /organizations` with a raw JSON body and an optional `Idempotency-Key`.
async fn create_org(app: &TestApp, s: &Session, key: Option<&str>, body: &str) -> Resp {
    let mut request = app
        .request(Method::POST, ORGS)
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    send(request).await
}

/// A `PATCH /organization` with `If-Match`.
async fn patch_if_match(app: &TestApp, s: &Session, version: &str, body: Value) -> Resp {
    send(
        app.as_user(s, Method::PATCH, ORG)
            .header("If-Match", version)
            .json(&body),
    )
    .await
}

/// The field names of a `validation_failed` problem.
fn fields(r: &Resp) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_string())
        .collect()
}

both! {
    async fn lost_reasons_are_a_short_ordered_list(app) {
        let ann = app.register("ann@example.com").await;
        assert_eq!(app.get(&ann, ORG).await.body["lost_reasons"], json!([]));
        let r = app.patch(&ann, ORG, json!({"lost_reasons": [" Price ", "price", "Timing"]})).await;
        r.assert(200);
        assert_eq!(r.body["lost_reasons"], json!(["Price", "Timing"]));
        let log = app.get(&ann, "/api/v1/audit-log").await.body;
        let entry = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "organization.updated").unwrap().clone();
        assert_eq!(entry["details"]["changes"]["lost_reasons"], json!({"from": [], "to": ["Price", "Timing"]}));
        let many: Vec<String> = (0..31).map(|i| format!("r{i}")).collect();
        for bad in [json!({"lost_reasons": many}), json!({"lost_reasons": ["  "]}), json!({"lost_reasons": ["x".repeat(101)]})] {
            let r = app.patch(&ann, ORG, bad).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], "lost_reasons");
        }
        let member = app.add_member(&ann, "mel@example.com", "member").await;
        app.patch(&member, ORG, json!({"lost_reasons": ["x"]})).await.assert_problem(403, "forbidden");
        let r = app.patch(&ann, ORG, json!({"lost_reasons": null})).await;
        assert_eq!(r.body["lost_reasons"], json!([]));
    }

    async fn my_organizations_use_the_list_envelope(app) {
        let ann = app.register("ann@example.com").await;
        let r = send(app.request(Method::GET, MY_ORGS).bearer_auth(&ann.token)).await;
        r.assert(200);
        assert_eq!(r.body, json!({
            "data": [{
                "id": ann.org_id,
                "name": "ann's organization",
                "role": "owner",
                "default_currency": "USD",
            }],
            "next_cursor": null,
        }));
        // No token → 401.
        send(app.request(Method::GET, MY_ORGS)).await.assert_problem(401, "invalid_token");
    }

    async fn create_organization_makes_the_caller_its_owner(app) {
        let ann = app.register("ann@example.com").await;
        let r = create_org(&app, &ann, None, r#"{"name": "  Acme  "}"#).await;
        r.assert(201);
        assert_eq!(r.body["name"], "Acme");
        assert_eq!(r.body["default_currency"], "USD");
        assert_eq!(r.body["default_country"], "US");
        assert_eq!(r.body["member_visibility"], "all");
        assert_eq!(r.body["version"], 1);
        assert_eq!(r.header("etag"), Some("\"1\""));
        let id = r.body["id"].as_str().unwrap().to_string();
        assert!(uuid::Uuid::parse_str(&id).is_ok());

        let orgs = my_orgs(&app, &ann).await;
        assert_eq!(orgs.len(), 2);
        let acme = orgs.iter().find(|o| o["id"] == id.as_str()).expect("the new organization is listed");
        assert_eq!(acme["role"], "owner");
        assert_eq!(acme["name"], "Acme");
        assert_eq!(acme["default_currency"], "USD");

        // The owner works in it, and is its only member.
        let r = send(app.as_user_in(&ann, &id, Method::GET, ORG)).await;
        r.assert(200);
        assert_eq!(r.body["name"], "Acme");
        let r = send(app.as_user_in(&ann, &id, Method::GET, "/api/v1/members")).await;
        r.assert(200);
        let members = r.body["data"].as_array().unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0]["user_id"], ann.user_id.as_str());
        assert_eq!(members[0]["role"], "owner");

        // Another user does not see it.
        let bob = app.register("bob@example.com").await;
        assert_eq!(my_orgs(&app, &bob).await.len(), 1);
        send(app.as_user_in(&bob, &id, Method::GET, ORG)).await.assert_problem(403, "not_a_member");
    }

    async fn create_organization_currency_rules(app) {
        let ann = app.register("ann@example.com").await;
        // Any case in, upper case out.
        let r = create_org(&app, &ann, None, r#"{"name": "Euro", "default_currency": "eur"}"#).await;
        r.assert(201);
        assert_eq!(r.body["default_currency"], "EUR");
        // An empty string is null: the default applies.
        let r = create_org(&app, &ann, None, r#"{"name": "Empty", "default_currency": ""}"#).await;
        r.assert(201);
        assert_eq!(r.body["default_currency"], "USD");
        let r = create_org(&app, &ann, None, r#"{"name": "Null", "default_currency": null}"#).await;
        r.assert(201);
        assert_eq!(r.body["default_currency"], "USD");
        // Unknown codes are rejected, naming the field.
        for code in ["ABC", "XXX", "US", "dollars"] {
            let r = create_org(&app, &ann, None, &json!({"name": "Bad", "default_currency": code}).to_string()).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["default_currency"], "{code}");
        }
        let orgs = my_orgs(&app, &ann).await;
        assert_eq!(orgs.len(), 4);
        assert!(orgs.iter().any(|o| o["name"] == "Euro" && o["default_currency"] == "EUR"));
        assert!(!orgs.iter().any(|o| o["name"] == "Bad"));
    }

    async fn create_organization_validates_its_body(app) {
        let ann = app.register("ann@example.com").await;
        for body in [r#"{"name": ""}"#, r#"{"name": "   "}"#] {
            let r = create_org(&app, &ann, None, body).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["name"], "{body}");
        }
        let r = create_org(&app, &ann, None, r#"{}"#).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(fields(&r), ["name"]);
        assert_eq!(r.body["errors"][0]["message"], "is required");
        let r = create_org(&app, &ann, None, &json!({"name": "x".repeat(201)}).to_string()).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(fields(&r), ["name"]);
        let r = create_org(&app, &ann, None, r#"{"name": "Acme", "plan": "gold"}"#).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(fields(&r), ["plan"]);
        let r = create_org(&app, &ann, None, r#"{"name": 5}"#).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(fields(&r), ["name"]);
        create_org(&app, &ann, None, r#"{"name": "#).await.assert_problem(400, "malformed_json");
        // Both bad at once: both reported.
        let r = create_org(&app, &ann, None, r#"{"name": "", "default_currency": "ABC"}"#).await;
        r.assert_problem(422, "validation_failed");
        let mut f = fields(&r);
        f.sort();
        assert_eq!(f, ["default_currency", "name"]);
        // Nothing was created.
        assert_eq!(my_orgs(&app, &ann).await.len(), 1);
        // No token → 401.
        send(app.request(Method::POST, ORGS).json(&json!({"name": "Acme"}))).await.assert_problem(401, "invalid_token");
    }

    async fn create_organization_honours_idempotency_keys(app) {
        let ann = app.register("ann@example.com").await;
        let first = create_org(&app, &ann, Some("key-1"), r#"{"name": "Idem", "default_currency": "EUR"}"#).await;
        first.assert(201);
        assert_eq!(first.header("idempotent-replayed"), None);

        // Same key, same JSON (members in another order, other spacing): the first response again.
        let again = create_org(&app, &ann, Some("key-1"), r#"{ "default_currency":"EUR" ,"name":"Idem" }"#).await;
        again.assert(201);
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.header("etag"), Some("\"1\""));
        let orgs = my_orgs(&app, &ann).await;
        assert_eq!(orgs.len(), 2, "{orgs:?}");
        assert_eq!(orgs.iter().filter(|o| o["name"] == "Idem").count(), 1);

        // Same key, another body → 422, nothing created.
        let r = create_org(&app, &ann, Some("key-1"), r#"{"name": "Other"}"#).await;
        r.assert_problem(422, "idempotency_key_reused");
        let r = create_org(&app, &ann, Some("key-1"), r#"{"name": "Idem"}"#).await;
        r.assert_problem(422, "idempotency_key_reused");
        assert_eq!(my_orgs(&app, &ann).await.len(), 2);

        // Another key creates another organization.
        create_org(&app, &ann, Some("key-2"), r#"{"name": "Idem"}"#).await.assert(201);
        assert_eq!(my_orgs(&app, &ann).await.len(), 3);

        // Keys belong to a user: another user's same key is a new request.
        let bob = app.register("bob@example.com").await;
        let r = create_org(&app, &bob, Some("key-1"), r#"{"name": "Bob's other"}"#).await;
        r.assert(201);
        assert_eq!(r.header("idempotent-replayed"), None);
        assert_ne!(r.body["id"], first.body["id"]);
        assert_eq!(my_orgs(&app, &bob).await.len(), 2);
        assert_eq!(my_orgs(&app, &ann).await.len(), 3);
    }

    async fn only_successful_responses_are_kept_for_replay(app) {
        let ann = app.register("ann@example.com").await;
        let r = create_org(&app, &ann, Some("retry-me"), r#"{"name": "Acme", "default_currency": "ABC"}"#).await;
        r.assert_problem(422, "validation_failed");
        // The failed request kept nothing: the same key with a fixed body works.
        let r = create_org(&app, &ann, Some("retry-me"), r#"{"name": "Acme", "default_currency": "EUR"}"#).await;
        r.assert(201);
        assert_eq!(r.header("idempotent-replayed"), None);
        assert_eq!(r.body["default_currency"], "EUR");
        assert_eq!(my_orgs(&app, &ann).await.len(), 2);
    }

    async fn idempotency_keys_are_at_most_255_characters(app) {
        let ann = app.register("ann@example.com").await;
        let long = "k".repeat(256);
        let r = create_org(&app, &ann, Some(&long), r#"{"name": "Long"}"#).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(my_orgs(&app, &ann).await.len(), 1);
        let longest = "k".repeat(255);
        create_org(&app, &ann, Some(&longest), r#"{"name": "Longest"}"#).await.assert(201);
        let r = create_org(&app, &ann, Some(&longest), r#"{"name": "Longest"}"#).await;
        r.assert(201);
        assert_eq!(r.header("idempotent-replayed"), Some("true"));
        assert_eq!(my_orgs(&app, &ann).await.len(), 2);
    }

    async fn get_organization_returns_its_settings_and_etag(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.get(&ann, ORG).await;
        r.assert(200);
        assert_eq!(r.header("etag"), Some("\"1\""));
        let body = r.body.as_object().unwrap();
        for field in ["id", "name", "default_currency", "default_country", "member_visibility", "created_at", "version"] {
            assert!(body.contains_key(field), "{field} missing from {}", r.body);
        }
        assert_eq!(r.body["id"], ann.org_id.as_str());
        assert_eq!(r.body["name"], "ann's organization");
        assert_eq!(r.body["default_currency"], "USD");
        assert_eq!(r.body["default_country"], "US");
        assert_eq!(r.body["member_visibility"], "all");
        assert_eq!(r.body["version"], 1);
        let created = r.body["created_at"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok(), "{created}");
        assert!(created.ends_with('Z'), "{created}");

        // Every member reads it.
        let member = app.add_member(&ann, "mel@example.com", "member").await;
        let r = app.get(&member, ORG).await;
        r.assert(200);
        assert_eq!(r.body["id"], ann.org_id.as_str());
        assert_eq!(r.header("etag"), Some("\"1\""));
    }

    async fn admins_and_owners_change_the_settings(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.patch(&ann, ORG, json!({
            "name": "  Acme Ltd ", "default_currency": "eur", "default_country": "gb", "member_visibility": "own"})).await;
        r.assert(200);
        assert_eq!(r.body["name"], "Acme Ltd");
        assert_eq!(r.body["default_currency"], "EUR");
        assert_eq!(r.body["default_country"], "GB");
        assert_eq!(r.body["member_visibility"], "own");
        assert_eq!(r.body["version"], 2);
        assert_eq!(r.header("etag"), Some("\"2\""));
        let created_at = r.body["created_at"].clone();

        let r = app.get(&ann, ORG).await;
        assert_eq!(r.body["name"], "Acme Ltd");
        assert_eq!(r.body["default_currency"], "EUR");
        assert_eq!(r.body["default_country"], "GB");
        assert_eq!(r.body["member_visibility"], "own");
        assert_eq!(r.body["version"], 2);
        assert_eq!(r.body["created_at"], created_at);
        assert_eq!(r.header("etag"), Some("\"2\""));
        // The list of organizations shows the new name and currency.
        let orgs = my_orgs(&app, &ann).await;
        assert_eq!(orgs[0]["name"], "Acme Ltd");
        assert_eq!(orgs[0]["default_currency"], "EUR");

        // An admin may too; one field at a time.
        let admin = app.add_member(&ann, "ada@example.com", "admin").await;
        let r = app.patch(&admin, ORG, json!({"member_visibility": "all"})).await;
        r.assert(200);
        assert_eq!(r.body["member_visibility"], "all");
        assert_eq!(r.body["name"], "Acme Ltd");
        assert_eq!(r.body["version"], 3);
        assert_eq!(r.header("etag"), Some("\"3\""));

        // Empty or null resets a defaulted setting.
        let r = app.patch(&admin, ORG, json!({"default_currency": "", "default_country": null})).await;
        r.assert(200);
        assert_eq!(r.body["default_currency"], "USD");
        assert_eq!(r.body["default_country"], "US");
        assert_eq!(r.body["version"], 4);

        // The change is in the audit log.
        let r = app.get(&ann, "/api/v1/audit-log?limit=200").await;
        r.assert(200);
        let updates: Vec<&Value> = r.body["data"].as_array().unwrap().iter()
            .filter(|e| e["action"] == "organization.updated").collect();
        assert_eq!(updates.len(), 3, "{}", r.body);
        assert_eq!(updates.last().unwrap()["actor_id"], ann.user_id.as_str());
        assert_eq!(updates[0]["actor_id"], admin.user_id.as_str());
        assert_eq!(updates[0]["target_id"], ann.org_id.as_str());
    }

    async fn managers_and_members_cannot_change_the_settings(app) {
        let ann = app.register("ann@example.com").await;
        let manager = app.add_member(&ann, "max@example.com", "manager").await;
        let member = app.add_member(&ann, "mel@example.com", "member").await;
        for s in [&manager, &member] {
            app.patch(s, ORG, json!({"name": "Hijacked"})).await.assert_problem(403, "forbidden");
            app.patch(s, ORG, json!({})).await.assert_problem(403, "forbidden");
        }
        let r = app.get(&ann, ORG).await;
        assert_eq!(r.body["name"], "ann's organization");
        assert_eq!(r.body["version"], 1);
    }

    async fn if_match_guards_organization_changes(app) {
        let ann = app.register("ann@example.com").await;
        app.patch(&ann, ORG, json!({"name": "Two"})).await.assert(200);

        // Stale → 412, nothing changes.
        let r = patch_if_match(&app, &ann, "\"1\"", json!({"name": "Stale", "default_currency": "EUR"})).await;
        r.assert_problem(412, "version_mismatch");
        let r = app.get(&ann, ORG).await;
        assert_eq!(r.body["name"], "Two");
        assert_eq!(r.body["default_currency"], "USD");
        assert_eq!(r.body["version"], 2);
        // Not a version at all never matches.
        patch_if_match(&app, &ann, "\"abc\"", json!({"name": "Junk"})).await.assert_problem(412, "version_mismatch");
        assert_eq!(app.get(&ann, ORG).await.body["name"], "Two");

        // Current → applies.
        let r = patch_if_match(&app, &ann, "\"2\"", json!({"name": "Three"})).await;
        r.assert(200);
        assert_eq!(r.body["name"], "Three");
        assert_eq!(r.body["version"], 3);
        assert_eq!(r.header("etag"), Some("\"3\""));
        // The ETag just read works as If-Match.
        let etag = r.header("etag").unwrap().to_string();
        let r = patch_if_match(&app, &ann, &etag, json!({"name": "Four"})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 4);
        // The same (now stale) tag again → 412.
        patch_if_match(&app, &ann, &etag, json!({"name": "Five"})).await.assert_problem(412, "version_mismatch");
        assert_eq!(app.get(&ann, ORG).await.body["name"], "Four");
    }

    async fn a_patch_that_changes_nothing_keeps_the_version(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.patch(&ann, ORG, json!({})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 1);
        assert_eq!(r.header("etag"), Some("\"1\""));
        // The same values (in other case, with spaces) are no change either.
        let r = app.patch(&ann, ORG, json!({
            "name": " ann's organization ", "default_currency": "usd", "default_country": "us", "member_visibility": "all"})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 1);
        // Sending back what was read (read-only fields included) changes nothing.
        let read = app.get(&ann, ORG).await.body;
        let r = app.patch(&ann, ORG, read.clone()).await;
        r.assert(200);
        assert_eq!(r.body, read);
        // With a current If-Match too.
        patch_if_match(&app, &ann, "\"1\"", json!({"name": "ann's organization"})).await.assert(200);
        assert_eq!(app.get(&ann, ORG).await.body["version"], 1);
        // No audit entry for a change that was none.
        let log = app.get(&ann, "/api/v1/audit-log").await;
        assert!(!log.body["data"].as_array().unwrap().iter().any(|e| e["action"] == "organization.updated"), "{}", log.body);
    }

    async fn invalid_settings_are_rejected_by_field(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.patch(&ann, ORG, json!({"default_currency": "ABC", "default_country": "XX", "member_visibility": "some"})).await;
        r.assert_problem(422, "validation_failed");
        let mut f = fields(&r);
        f.sort();
        assert_eq!(f, ["default_country", "default_currency", "member_visibility"]);
        for (body, field) in [
            (json!({"default_currency": "ABC"}), "default_currency"),
            (json!({"default_country": "XX"}), "default_country"),
            (json!({"default_country": "USA"}), "default_country"),
            (json!({"member_visibility": "some"}), "member_visibility"),
            (json!({"name": ""}), "name"),
            (json!({"name": "x".repeat(201)}), "name"),
            (json!({"name": 7}), "name"),
            (json!({"owner": "me"}), "owner"),
        ] {
            let r = app.patch(&ann, ORG, body.clone()).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), [field], "{body}");
        }
        // A valid value next to an invalid one is not applied either.
        let r = app.patch(&ann, ORG, json!({"name": "Partly", "default_country": "XX"})).await;
        r.assert_problem(422, "validation_failed");
        let r = app.get(&ann, ORG).await;
        assert_eq!(r.body["name"], "ann's organization");
        assert_eq!(r.body["default_currency"], "USD");
        assert_eq!(r.body["default_country"], "US");
        assert_eq!(r.body["member_visibility"], "all");
        assert_eq!(r.body["version"], 1);
        // Not JSON → 400.
        let r = send(app.as_user(&ann, Method::PATCH, ORG).header("content-type", "application/json").body("{nope")).await;
        r.assert_problem(400, "malformed_json");
    }

    async fn the_organization_header_is_required_and_checked(app) {
        let ann = app.register("ann@example.com").await;
        let bob = app.register("bob@example.com").await;
        // Missing.
        let r = send(app.request(Method::GET, ORG).bearer_auth(&ann.token)).await;
        r.assert_problem(400, "organization_required");
        let r = send(app.request(Method::PATCH, ORG).bearer_auth(&ann.token).json(&json!({"name": "X"}))).await;
        r.assert_problem(400, "organization_required");
        // Malformed.
        for bad in ["not-a-uuid", "", "12345"] {
            let r = send(app.as_user_in(&ann, bad, Method::GET, ORG)).await;
            r.assert_problem(400, "organization_required");
        }
        // An organization that does not exist.
        let random = uuid::Uuid::new_v4().to_string();
        send(app.as_user_in(&ann, &random, Method::GET, ORG)).await.assert_problem(403, "not_a_member");
        // Another user's organization: no reading, no changing.
        send(app.as_user_in(&ann, &bob.org_id, Method::GET, ORG)).await.assert_problem(403, "not_a_member");
        let r = send(app.as_user_in(&ann, &bob.org_id, Method::PATCH, ORG).json(&json!({"name": "Mine"}))).await;
        r.assert_problem(403, "not_a_member");
        send(app.as_user_in(&ann, &bob.org_id, Method::GET, "/api/v1/members")).await.assert_problem(403, "not_a_member");
        assert_eq!(app.get(&bob, ORG).await.body["name"], "bob's organization");
        // Authentication comes first.
        send(app.request(Method::GET, ORG)).await.assert_problem(401, "invalid_token");
        let r = send(app.request(Method::GET, ORG).header("X-Organization-Id", &ann.org_id)).await;
        r.assert_problem(401, "invalid_token");
        let r = send(app.request(Method::GET, ORG).bearer_auth("not-a-token").header("X-Organization-Id", "junk")).await;
        r.assert_problem(401, "invalid_token");
    }
}
