//! api.md §1, §2 and §7 conventions: problem responses, request ids, health,
//! docs, body limits, malformed input.

use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::helpers::*;

both! {
    async fn health_ready_and_metrics(app) {
        let r = send(app.request(Method::GET, "/health")).await;
        r.assert(200);
        assert_eq!(r.body, json!({"status": "ok"}));
        let r = send(app.request(Method::GET, "/ready")).await;
        r.assert(200);
        assert_eq!(r.body, json!({"status": "ready"}));
        let r = send(app.request(Method::GET, "/metrics")).await;
        r.assert(200);
        let text = r.body.as_str().unwrap();
        assert!(text.contains("http_requests_total"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("db_pool_connections"), "{text}");
        assert!(text.contains("route=\"/ready\""), "{text}");
    }

    async fn request_id_is_echoed_or_generated(app) {
        let r = send(app.request(Method::GET, "/health").header("X-Request-Id", "abc-123")).await;
        assert_eq!(r.header("x-request-id"), Some("abc-123"));
        let r = send(app.request(Method::GET, "/health")).await;
        let generated = r.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(generated).is_ok());
        // Problem bodies carry the same id.
        let r = send(app.request(Method::GET, "/api/v1/auth/me").header("X-Request-Id", "req-77")).await;
        r.assert_problem(401, "invalid_token");
        assert_eq!(r.body["request_id"], "req-77");
        assert_eq!(r.body["detail"], "Invalid token");
        assert_eq!(r.body["type"], "about:blank");
        assert_eq!(r.body["title"], "Unauthorized");
        assert_eq!(r.body["status"], 401);
    }

    async fn openapi_and_docs_are_served(app) {
        let r = send(app.request(Method::GET, "/api/v1/openapi.json")).await;
        r.assert(200);
        assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(r.body["info"]["title"], "crm API");
        for path in ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout",
            "/api/v1/auth/me", "/api/v1/organizations/me", "/api/v1/organizations", "/api/v1/organization",
            "/api/v1/members", "/api/v1/members/{user_id}", "/api/v1/invitations", "/api/v1/invitations/{id}",
            "/api/v1/invitations/{id}/accept", "/api/v1/audit-log"] {
            assert!(r.body["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
        }
        let docs = app.client.get(app.url("/api/docs/")).send().await.unwrap();
        assert_eq!(docs.status(), 200);
        let html = docs.text().await.unwrap();
        assert!(html.to_lowercase().contains("swagger"), "{html}");
    }

    async fn malformed_bodies_get_problems_not_500s(app) {
        let post = |body: &'static str| send(app.request(Method::POST, "/api/v1/auth/login").header("content-type", "application/json").body(body));
        post("{not json").await.assert_problem(400, "malformed_json");
        post("").await.assert_problem(400, "malformed_json");
        let r = post("[1,2]").await;
        r.assert_problem(422, "validation_failed");
        let r = post(r#"{"email": 5, "password": "x"}"#).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "email");
        let r = post(r#"{"email": "a@b.co"}"#).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "password");
        assert_eq!(r.body["errors"][0]["message"], "is required");
        let r = post(r#"{"email": "a@b.co", "password": "x", "admin": true}"#).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "admin");
    }

    async fn nul_characters_are_refused_by_field_on_both_backends(app) {
        let ann = app.register("ann@example.com").await;
        let contact = app.post(&ann, "/api/v1/contacts", json!({"name": "Ann"})).await;
        contact.assert(201);
        let id = contact.body["id"].as_str().unwrap();
        let r = app.post(&ann, &format!("/api/v1/contacts/{id}/activities"), json!({"text": "a\u{0}b"})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "text");
        let r = app.post(&ann, "/api/v1/contacts", json!({"name": "Bo", "tags": ["ok", "x\u{0}"]})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "tags[1]");
        let r = app.get(&ann, "/api/v1/contacts?tag=a%00b").await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "tag");
        // Nothing was written, and the list still answers.
        let list = app.get(&ann, "/api/v1/contacts").await;
        list.assert(200);
        assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    }

    async fn whole_numbers_may_be_written_as_floats(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.post(&ann, "/api/v1/companies", json!({"name": "Float Co", "employee_count": 5.0})).await;
        r.assert(201);
        assert_eq!(r.body["employee_count"], 5);
        let r = app.post(&ann, "/api/v1/companies", json!({"name": "Half Co", "employee_count": 5.5})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "employee_count");
    }

    async fn bodies_over_one_mebibyte_are_refused(app) {
        let big = format!(r#"{{"email": "a@b.co", "password": "{}"}}"#, "x".repeat(1024 * 1024 + 10));
        let r = send(app.request(Method::POST, "/api/v1/auth/login").header("content-type", "application/json").body(big)).await;
        r.assert_problem(413, "payload_too_large");
    }

    async fn unknown_paths_and_methods_are_problems(app) {
        send(app.request(Method::GET, "/api/v1/nothing-here")).await.assert_problem(404, "not_found");
        send(app.request(Method::DELETE, "/api/v1/auth/login")).await.assert_problem(405, "method_not_allowed");
    }

    async fn security_headers_on_every_response(app) {
        let r = send(app.request(Method::GET, "/health")).await;
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    }
}
