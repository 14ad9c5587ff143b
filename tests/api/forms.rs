//! Public web forms (leads.md "Web forms", issue 16 item 2): admins define
//! them; a website's submission to `/f/{public_key}` (a form post or JSON)
//! becomes a scored lead, with UTM values, the honeypot, the per-address
//! rate limit, and submissions of people already in the funnel added to
//! their lead.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const FORMS: &str = "/api/v1/forms";

fn contact_form(thanks: Option<&str>) -> Value {
    json!({
        "name": "Contact us",
        "fields": [
            {"key": "name", "label": "Your name"},
            {"key": "email", "label": "Email", "type": "email", "required": true},
            {"key": "phone", "label": "Phone", "type": "tel"},
            {"key": "message", "label": "Message", "type": "textarea"}
        ],
        "default_tags": ["inbound"],
        "thank_you_url": thanks,
    })
}

async fn post_form(app: &TestApp, key: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/f/{key}")))
        .form(pairs)
        .send()
        .await
        .unwrap()
}

async fn leads(app: &TestApp, s: &Session) -> Vec<Value> {
    app.get(s, "/api/v1/leads").await.body["data"]
        .as_array()
        .unwrap()
        .clone()
}

both! {
    async fn admins_define_forms_and_others_may_not(app) {
        let ann = app.register("ann@example.com").await;
        let max = app.add_member(&ann, "max@example.com", "manager").await;
        app.post(&max, FORMS, contact_form(None)).await.assert_problem(403, "forbidden");
        app.get(&max, FORMS).await.assert_problem(403, "forbidden");
        let r = app.post(&ann, FORMS, contact_form(Some("https://example.com/thanks"))).await;
        r.assert(201);
        assert_eq!(r.body["fields"][0]["required"], true, "the name is always required");
        assert_eq!(r.body["fields"][1]["type"], "email");
        assert!(r.body["public_key"].as_str().unwrap().len() >= 40);
        let id = r.body["id"].as_str().unwrap();
        assert_eq!(app.get(&ann, FORMS).await.body["data"][0]["id"], id);
        for (bad, field) in [
            (json!({"name": "x", "fields": [{"key": "email", "label": "E"}]}), "fields"),
            (json!({"name": "x", "fields": [{"key": "name", "label": "N"}, {"key": "shoe_size", "label": "S"}]}), "fields[1].key"),
            (json!({"name": "x", "fields": [{"key": "name", "label": "N", "type": "color"}]}), "fields[0].type"),
            (json!({"name": "x", "fields": [{"key": "name", "label": "N"}], "thank_you_url": "javascript:alert(1)"}), "thank_you_url"),
            (json!({"name": "", "fields": [{"key": "name", "label": "N"}]}), "name"),
        ] {
            let r = app.post(&ann, FORMS, bad).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
        }
        let path = format!("{FORMS}/{id}");
        let mut changed = contact_form(None);
        changed["name"] = json!("Renamed");
        let r = send(app.as_user(&ann, Method::PUT, &path).json(&changed)).await;
        r.assert(200);
        assert_eq!((r.body["name"].as_str(), r.body["version"].as_i64(), r.body["thank_you_url"].clone()), (Some("Renamed"), Some(2), Value::Null));
        app.delete(&ann, &path).await.assert(204);
        app.get(&ann, &path).await.assert_problem(404, "not_found");
    }

    async fn forms_ask_for_lead_custom_fields(app) {
        let ann = app.register("ann@example.com").await;
        app.post(&ann, "/api/v1/custom-fields", json!({"object": "leads", "key": "budget", "label": "Budget", "type": "number"})).await.assert(201);
        app.post(&ann, "/api/v1/custom-fields", json!({"object": "leads", "key": "area", "label": "Area", "type": "select", "options": ["north", "south"]})).await.assert(201);
        // A form names lead custom fields by custom.<key>; unknown ones are refused.
        let bad = app.post(&ann, FORMS, json!({"name": "x", "fields": [{"key": "name", "label": "N"}, {"key": "custom.shoe", "label": "S"}]})).await;
        bad.assert_problem(422, "validation_failed");
        assert_eq!(bad.body["errors"][0]["field"], "fields[1].key");
        let form = app.post(&ann, FORMS, json!({"name": "Buyers", "fields": [
            {"key": "name", "label": "Name"}, {"key": "custom.budget", "label": "Your budget"}, {"key": "custom.area", "label": "Area"}]})).await;
        form.assert(201);
        let key = form.body["public_key"].as_str().unwrap().to_string();
        // Values come as text and are read by the fields' types.
        let r = post_form(&app, &key, &[("name", "Bea Buyer"), ("custom.budget", "350000"), ("custom.area", "north")]).await;
        assert_eq!(r.status(), 201);
        let all = leads(&app, &ann).await;
        assert_eq!(all[0]["custom"], json!({"budget": 350000, "area": "north"}));
        // A value the type cannot read is a 422 naming the field.
        let r = app.client.post(app.url(&format!("/f/{key}"))).json(&json!({"name": "Cy", "custom.budget": "lots"})).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], "custom.budget");
        assert_eq!(leads(&app, &ann).await.len(), 1);
    }

    async fn a_submission_becomes_a_scored_lead_with_its_campaign(app) {
        let ann = app.register("ann@example.com").await;
        let form = app.post(&ann, FORMS, contact_form(Some("https://example.com/thanks?sent=1"))).await;
        let key = form.body["public_key"].as_str().unwrap().to_string();
        let r = post_form(&app, &key, &[
            ("name", "Walter Web"), ("email", "walter@example.org"), ("phone", "+1 415 555 0199"),
            ("message", "Please call me back"), ("page_url", "https://shop.example/pricing?utm_source=google&utm_campaign=winter&x=1"),
            ("utm_campaign", "spring"), ("ignored_field", "x"), ("website_url", ""),
        ]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "https://example.com/thanks?sent=1");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let all = leads(&app, &ann).await;
        assert_eq!(all.len(), 1);
        let lead = &all[0];
        assert_eq!((lead["name"].as_str(), lead["email"].as_str(), lead["phone"].as_str()), (Some("Walter Web"), Some("walter@example.org"), Some("+14155550199")));
        assert_eq!((lead["source"].as_str(), lead["owner_id"].as_str()), (Some("website"), Some(ann.user_id.as_str())));
        assert_eq!(lead["tags"], json!(["inbound"]));
        // The submission's utm_* fields win over the page's query.
        assert_eq!(lead["utm"]["campaign"], "spring");
        assert_eq!(lead["utm"]["source"], "google");
        // 15 email + 15 phone + 15 website, and the message is recent activity.
        assert_eq!(lead["score"], 55, "{lead}");
        let timeline = app.get(&ann, &format!("/api/v1/leads/{}/activities", lead["id"].as_str().unwrap())).await;
        assert_eq!(timeline.body["data"][0]["payload"]["text"], "Please call me back");

        // The same person again: no second lead, their message on the first.
        let again = app.client.post(app.url(&format!("/f/{key}"))).json(&json!({"name": "Walter", "email": "WALTER@example.org", "message": "Still waiting"})).send().await.unwrap();
        assert_eq!(again.status(), 303);
        assert_eq!(leads(&app, &ann).await.len(), 1);
        let timeline = app.get(&ann, &format!("/api/v1/leads/{}/activities", lead["id"].as_str().unwrap())).await;
        assert_eq!(timeline.body["data"][0]["payload"]["text"], "Still waiting");
    }

    async fn bots_bad_submissions_and_unknown_forms_create_nothing(app) {
        let ann = app.register("ann@example.com").await;
        let other = app.register("bob@example.com").await;
        let form = app.post(&ann, FORMS, contact_form(None)).await;
        let key = form.body["public_key"].as_str().unwrap().to_string();
        // The honeypot: answered like a success.
        let r = app.client.post(app.url(&format!("/f/{key}"))).json(&json!({"name": "Bot", "email": "bot@example.org", "website_url": "http://spam.example"})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"ok": true}));
        // Required fields and the lead's own rules, named.
        let r = send(app.request(Method::POST, &format!("/f/{key}")).json(&json!({"name": "No Mail"}))).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "email");
        let r = send(app.request(Method::POST, &format!("/f/{key}")).json(&json!({"name": "Bad", "email": "not-an-email"}))).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "email");
        send(app.request(Method::POST, &format!("/f/{key}")).body("name=x").header("content-type", "text/plain")).await.assert_problem(415, "unsupported_media_type");
        send(app.request(Method::POST, &format!("/f/{key}")).body("{").header("content-type", "application/json")).await.assert_problem(400, "malformed_json");
        // Unknown, malformed, another's or deleted: 404.
        for bad in ["nope", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            send(app.request(Method::POST, &format!("/f/{bad}")).json(&json!({"name": "X", "email": "x@example.org"}))).await.assert_problem(404, "not_found");
        }
        assert!(leads(&app, &ann).await.is_empty());
        assert!(leads(&app, &other).await.is_empty());
        app.delete(&ann, &format!("{FORMS}/{}", form.body["id"].as_str().unwrap())).await.assert(204);
        send(app.request(Method::POST, &format!("/f/{key}")).json(&json!({"name": "X", "email": "x@example.org"}))).await.assert_problem(404, "not_found");
        // A preflight from another site is allowed.
        let pre = app.client.request(Method::OPTIONS, app.url(&format!("/f/{key}"))).send().await.unwrap();
        assert_eq!(pre.status(), 204);
        assert_eq!(pre.headers()["access-control-allow-methods"], "POST");
    }

    async fn ten_submissions_a_minute_per_address_and_form(app) {
        let ann = app.register("ann@example.com").await;
        let form = app.post(&ann, FORMS, contact_form(None)).await;
        let key = form.body["public_key"].as_str().unwrap().to_string();
        for i in 0..10 {
            let r = send(app.request(Method::POST, &format!("/f/{key}")).json(&json!({"name": format!("P{i}"), "email": format!("p{i}@example.org")}))).await;
            r.assert(201);
        }
        let r = send(app.request(Method::POST, &format!("/f/{key}")).json(&json!({"name": "P10", "email": "p10@example.org"}))).await;
        r.assert_problem(429, "rate_limited");
        assert!(r.header("retry-after").is_some());
        assert_eq!(leads(&app, &ann).await.len(), 10);
        // Another form of the organization has its own count.
        let second = app.post(&ann, FORMS, contact_form(None)).await;
        let key = second.body["public_key"].as_str().unwrap().to_string();
        send(app.request(Method::POST, &format!("/f/{key}")).json(&json!({"name": "Q", "email": "q@example.org"}))).await.assert(201);
    }
}
