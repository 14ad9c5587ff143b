//! Custom fields (leads.md "Custom fields", issue 16 item 4): typed
//! definitions per record type, values validated under `custom.<key>`,
//! merged by PATCH, removed with their definition, converted (or refused)
//! on a type change, and filtered by `custom.<key>=` / `_min` / `_max`.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const FIELDS: &str = "/api/v1/custom-fields";

async fn define(app: &TestApp, s: &Session, object: &str, key: &str, kind: &str, options: Option<Value>) -> String {
    let mut body = json!({"object": object, "key": key, "label": key.replace('_', " "), "type": kind});
    if let Some(options) = options {
        body["options"] = options;
    }
    let r = app.post(s, FIELDS, body).await;
    r.assert(201);
    r.body["id"].as_str().unwrap().to_string()
}

/// The names of a list page, in its order.
fn names_of(r: &Resp) -> Vec<String> {
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn names(r: &Resp) -> Vec<String> {
    let mut names: Vec<String> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

both! {
    async fn admins_define_fields_and_everyone_reads_them(app) {
        let ann = app.register("ann@example.com").await;
        let max = app.add_member(&ann, "max@example.com", "manager").await;
        let body = json!({"object": "contacts", "key": "shoe_size", "label": "Shoe size", "type": "number"});
        app.post(&max, FIELDS, body.clone()).await.assert_problem(403, "forbidden");
        let id = define(&app, &ann, "contacts", "shoe_size", "number", None).await;
        let r = app.post(&ann, FIELDS, body).await;
        r.assert_problem(409, "custom_field_exists");
        assert_eq!(r.body["existing_id"], id.as_str());
        // The same key on another record type is another field.
        define(&app, &ann, "deals", "shoe_size", "text", None).await;
        let r = app.get(&max, &format!("{FIELDS}?object=contacts")).await;
        r.assert(200);
        assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["data"][0]["type"], "number");
        assert_eq!(r.body["data"][0]["options"], json!([]));
        assert_eq!(app.get(&max, FIELDS).await.body["data"].as_array().unwrap().len(), 2);
        app.get(&max, &format!("{FIELDS}/{id}")).await.assert(200);
        app.get(&ann, &format!("{FIELDS}?object=tasks")).await.assert_problem(422, "validation_failed");
        for (bad, field) in [
            (json!({"object": "tasks", "key": "a", "label": "A", "type": "text"}), "object"),
            (json!({"object": "contacts", "key": "Bad-Key", "label": "A", "type": "text"}), "key"),
            (json!({"object": "contacts", "key": "a", "label": "", "type": "text"}), "label"),
            (json!({"object": "contacts", "key": "a", "label": "A", "type": "money"}), "type"),
            (json!({"object": "contacts", "key": "a", "label": "A", "type": "select"}), "options"),
            (json!({"object": "contacts", "key": "a", "label": "A", "type": "text", "options": ["x"]}), "options"),
            (json!({"object": "contacts", "key": "a", "label": "A", "type": "select", "options": ["x", "x"]}), "options[1]"),
        ] {
            let r = app.post(&ann, FIELDS, bad).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
        }
        // key and object cannot change.
        app.patch(&ann, &format!("{FIELDS}/{id}"), json!({"key": "other"})).await.assert_problem(422, "validation_failed");
        app.patch(&max, &format!("{FIELDS}/{id}"), json!({"label": "Size"})).await.assert_problem(403, "forbidden");
        let r = app.patch(&ann, &format!("{FIELDS}/{id}"), json!({"label": "Size"})).await;
        r.assert(200);
        assert_eq!(r.body["label"], "Size");
        app.delete(&max, &format!("{FIELDS}/{id}")).await.assert_problem(403, "forbidden");
    }

    async fn values_are_typed_validated_and_merged(app) {
        let ann = app.register("ann@example.com").await;
        define(&app, &ann, "contacts", "size", "number", None).await;
        define(&app, &ann, "contacts", "since", "date", None).await;
        define(&app, &ann, "contacts", "vip", "boolean", None).await;
        define(&app, &ann, "contacts", "tier", "select", Some(json!(["gold", "silver"]))).await;
        define(&app, &ann, "contacts", "langs", "multi_select", Some(json!(["en", "fr", "de"]))).await;
        define(&app, &ann, "contacts", "site", "url", None).await;
        define(&app, &ann, "contacts", "billing", "email", None).await;
        define(&app, &ann, "contacts", "note", "text", None).await;

        let r = app.post(&ann, "/api/v1/contacts", json!({"name": "Plain"})).await;
        r.assert(201);
        assert_eq!(r.body["custom"], json!({}), "only set keys");

        let custom = json!({"size": 42, "since": "2024-03-01", "vip": true, "tier": "gold", "langs": ["fr", "en"],
            "site": "https://ann.example", "billing": "Pay@Ann.Example", "note": "likes tea"});
        let r = app.post(&ann, "/api/v1/contacts", json!({"name": "Ann", "custom": custom})).await;
        r.assert(201);
        assert_eq!(r.body["custom"]["size"], 42);
        assert_eq!(r.body["custom"]["langs"], json!(["fr", "en"]));
        assert_eq!(r.body["custom"]["billing"], "pay@ann.example");
        let id = r.body["id"].as_str().unwrap().to_string();

        for (custom, field) in [
            (json!({"size": "42"}), "custom.size"),
            (json!({"since": "2024-02-30"}), "custom.since"),
            (json!({"vip": "yes"}), "custom.vip"),
            (json!({"tier": "bronze"}), "custom.tier"),
            (json!({"langs": ["es"]}), "custom.langs"),
            (json!({"langs": "en"}), "custom.langs"),
            (json!({"site": "ftp://x"}), "custom.site"),
            (json!({"billing": "nope"}), "custom.billing"),
            (json!({"shoe": 1}), "custom.shoe"),
        ] {
            let r = app.post(&ann, "/api/v1/contacts", json!({"name": "Bad", "custom": custom})).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
        }
        let r = app.post(&ann, "/api/v1/contacts", json!({"name": "Long", "custom": {"note": "x".repeat(501)}})).await;
        r.assert_problem(422, "validation_failed");

        // PATCH merges: named keys change, `null` clears, the rest stay.
        let path = format!("/api/v1/contacts/{id}");
        let r = app.patch(&ann, &path, json!({"custom": {"size": 43.5, "note": null}})).await;
        r.assert(200);
        assert_eq!(r.body["custom"]["size"], 43.5);
        assert_eq!(r.body["custom"]["tier"], "gold");
        assert!(r.body["custom"].get("note").is_none());
        // Nothing changes: the version stays.
        let version = r.body["version"].clone();
        let r = app.patch(&ann, &path, json!({"custom": {"tier": "gold"}})).await;
        assert_eq!(r.body["version"], version);

        // Every record type with custom fields.
        for (object, path, body) in [
            ("companies", "/api/v1/companies", json!({"name": "Acme"})),
            ("leads", "/api/v1/leads", json!({"name": "Lee"})),
            ("properties", "/api/v1/properties", json!({"title": "Flat", "price": "100000"})),
        ] {
            define(&app, &ann, object, "rank", "number", None).await;
            let mut body = body;
            body["custom"] = json!({"rank": 3});
            let r = app.post(&ann, path, body.clone()).await;
            r.assert(201);
            assert_eq!(r.body["custom"]["rank"], 3, "{object}");
            body["custom"] = json!({"rank": "three"});
            app.post(&ann, path, body).await.assert_problem(422, "validation_failed");
        }
        define(&app, &ann, "deals", "rank", "number", None).await;
        let deal = app.post(&ann, "/api/v1/deals", json!({"title": "D", "contact_id": id, "custom": {"rank": 7}})).await;
        deal.assert(201);
        assert_eq!(deal.body["custom"]["rank"], 7);
        let deal_path = format!("/api/v1/deals/{}", deal.body["id"].as_str().unwrap());
        let r = app.patch(&ann, &deal_path, json!({"custom": {"rank": 8}})).await;
        assert_eq!(r.body["custom"]["rank"], 8);
    }

    async fn required_fields_apply_to_the_next_change(app) {
        let ann = app.register("ann@example.com").await;
        let id = define(&app, &ann, "companies", "region", "text", None).await;
        let old = app.post(&ann, "/api/v1/companies", json!({"name": "Before"})).await;
        old.assert(201);
        // Adding `required` is allowed though records lack a value …
        app.patch(&ann, &format!("{FIELDS}/{id}"), json!({"required": true})).await.assert(200);
        // … and they must get one on their next change.
        let path = format!("/api/v1/companies/{}", old.body["id"].as_str().unwrap());
        let r = app.patch(&ann, &path, json!({"industry": "Retail"})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "custom.region");
        app.patch(&ann, &path, json!({"custom": {"region": "North"}})).await.assert(200);
        let r = app.post(&ann, "/api/v1/companies", json!({"name": "New"})).await;
        r.assert_problem(422, "validation_failed");
    }

    async fn type_changes_convert_stored_values_or_are_refused(app) {
        let ann = app.register("ann@example.com").await;
        let code = define(&app, &ann, "contacts", "code", "text", None).await;
        let one = app.post(&ann, "/api/v1/contacts", json!({"name": "One", "custom": {"code": "12"}})).await;
        let two = app.post(&ann, "/api/v1/contacts", json!({"name": "Two", "custom": {"code": "x7"}})).await;
        // "x7" is not a number: refused, nothing changes.
        let r = app.patch(&ann, &format!("{FIELDS}/{code}"), json!({"type": "number"})).await;
        r.assert_problem(409, "custom_field_in_use");
        assert_eq!(app.get(&ann, &format!("{FIELDS}/{code}")).await.body["type"], "text");
        let two_path = format!("/api/v1/contacts/{}", two.body["id"].as_str().unwrap());
        app.patch(&ann, &two_path, json!({"custom": {"code": "7"}})).await.assert(200);
        app.patch(&ann, &format!("{FIELDS}/{code}"), json!({"type": "number"})).await.assert(200);
        let one_path = format!("/api/v1/contacts/{}", one.body["id"].as_str().unwrap());
        let r = app.get(&ann, &one_path).await;
        assert_eq!(r.body["custom"]["code"], 12, "converted");
        assert_eq!(r.body["version"], 2);
        // The index follows: the number filter finds it.
        let r = app.get(&ann, "/api/v1/contacts?custom.code_min=10").await;
        assert_eq!(names(&r), vec!["One"]);
        // Back to text always fits.
        app.patch(&ann, &format!("{FIELDS}/{code}"), json!({"type": "text"})).await.assert(200);
        assert_eq!(app.get(&ann, &one_path).await.body["custom"]["code"], "12");

        // select -> multi_select fits; dropping a used option does not.
        let tier = define(&app, &ann, "contacts", "tier", "select", Some(json!(["a", "b"]))).await;
        app.patch(&ann, &one_path, json!({"custom": {"tier": "a"}})).await.assert(200);
        app.patch(&ann, &format!("{FIELDS}/{tier}"), json!({"options": ["b"]})).await.assert_problem(409, "custom_field_in_use");
        app.patch(&ann, &format!("{FIELDS}/{tier}"), json!({"type": "multi_select"})).await.assert(200);
        assert_eq!(app.get(&ann, &one_path).await.body["custom"]["tier"], json!(["a"]));
        app.patch(&ann, &format!("{FIELDS}/{tier}"), json!({"type": "boolean"})).await.assert_problem(409, "custom_field_in_use");

        // Removing a definition removes the values (and their index).
        app.delete(&ann, &format!("{FIELDS}/{code}")).await.assert(204);
        let r = app.get(&ann, &one_path).await;
        assert!(r.body["custom"].get("code").is_none(), "{}", r.body);
        app.get(&ann, "/api/v1/contacts?custom.code=12").await.assert_problem(422, "validation_failed");
    }

    async fn lists_filter_by_custom_values(app) {
        let ann = app.register("ann@example.com").await;
        define(&app, &ann, "contacts", "size", "number", None).await;
        define(&app, &ann, "contacts", "since", "date", None).await;
        define(&app, &ann, "contacts", "vip", "boolean", None).await;
        define(&app, &ann, "contacts", "langs", "multi_select", Some(json!(["en", "fr"]))).await;
        define(&app, &ann, "contacts", "city", "text", None).await;
        for (name, custom) in [
            ("Ann", json!({"size": 38, "since": "2020-01-01", "vip": true, "langs": ["en"], "city": "Paris"})),
            ("Bob", json!({"size": 44, "since": "2023-06-30", "vip": false, "langs": ["en", "fr"], "city": "paris"})),
            ("Cy", json!({"size": 41.5, "since": "2024-12-31", "langs": ["fr"], "city": "Lyon"})),
            ("Dee", json!({})),
        ] {
            app.post(&ann, "/api/v1/contacts", json!({"name": name, "custom": custom})).await.assert(201);
        }
        for (query, expected) in [
            ("custom.size=44", vec!["Bob"]),
            ("custom.size_min=40", vec!["Bob", "Cy"]),
            ("custom.size_min=40&custom.size_max=42", vec!["Cy"]),
            ("custom.since_max=2023-12-31", vec!["Ann", "Bob"]),
            ("custom.since_min=2021-01-01&custom.since_max=2024-12-31", vec!["Bob", "Cy"]),
            ("custom.vip=true", vec!["Ann"]),
            ("custom.vip=false", vec!["Bob"]),
            ("custom.langs=fr", vec!["Bob", "Cy"]),
            ("custom.city=PARIS", vec!["Ann", "Bob"]),
            ("custom.city=paris&custom.langs=fr", vec!["Bob"]),
            ("custom.size_min=40&q=cy", vec!["Cy"]),
            ("custom.size_min=", vec!["Ann", "Bob", "Cy", "Dee"]),
        ] {
            let r = app.get(&ann, &format!("/api/v1/contacts?{query}")).await;
            r.assert(200);
            assert_eq!(names(&r), expected, "{query}");
        }
        for (query, field) in [
            ("custom.shoe=1", "custom.shoe"),
            ("custom.size=big", "custom.size"),
            ("custom.city_min=a", "custom.city_min"),
            ("custom.since_min=yesterday", "custom.since_min"),
            ("custom.vip=maybe", "custom.vip"),
        ] {
            let r = app.get(&ann, &format!("/api/v1/contacts?{query}")).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{query}");
        }
        // Pages of a filtered list follow each other.
        let r = app.get(&ann, "/api/v1/contacts?custom.langs=en&limit=1").await;
        assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
        let cursor = r.body["next_cursor"].as_str().unwrap();
        let r = app.get(&ann, &format!("/api/v1/contacts?custom.langs=en&limit=1&cursor={cursor}")).await;
        assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
        assert!(r.body["next_cursor"].is_null());
        // Other types filter the same way.
        define(&app, &ann, "leads", "budget", "number", None).await;
        app.post(&ann, "/api/v1/leads", json!({"name": "Rich", "custom": {"budget": 900}})).await.assert(201);
        app.post(&ann, "/api/v1/leads", json!({"name": "Poor", "custom": {"budget": 10}})).await.assert(201);
        let r = app.get(&ann, "/api/v1/leads?custom.budget_min=100").await;
        assert_eq!(names(&r), vec!["Rich"]);
    }

    async fn deleted_and_merged_records_leave_no_values_behind(app) {
        let ann = app.register("ann@example.com").await;
        define(&app, &ann, "contacts", "size", "number", None).await;
        define(&app, &ann, "contacts", "tier", "text", None).await;
        let a = app.post(&ann, "/api/v1/contacts", json!({"name": "Keep", "custom": {"size": 1}})).await;
        let b = app.post(&ann, "/api/v1/contacts", json!({"name": "Merged", "custom": {"size": 2, "tier": "gold"}})).await;
        let c = app.post(&ann, "/api/v1/contacts", json!({"name": "Gone", "custom": {"size": 3}})).await;
        app.delete(&ann, &format!("/api/v1/contacts/{}", c.body["id"].as_str().unwrap())).await.assert(204);
        let r = app.post(&ann, &format!("/api/v1/contacts/{}/merge", a.body["id"].as_str().unwrap()),
            json!({"merge_ids": [b.body["id"]]})).await;
        r.assert(200);
        // The survivor keeps its values and takes what it lacked.
        assert_eq!(r.body["custom"], json!({"size": 1, "tier": "gold"}));
        let r = app.get(&ann, "/api/v1/contacts?custom.size_min=0").await;
        assert_eq!(names(&r), vec!["Keep"]);
        let r = app.get(&ann, "/api/v1/contacts?custom.tier=gold").await;
        assert_eq!(names(&r), vec!["Keep"]);
    }

    async fn csv_exports_and_imports_carry_custom_fields_by_label(app) {
        let ann = app.register("ann@example.com").await;
        app.post(&ann, FIELDS, json!({"object": "contacts", "key": "shoe", "label": "Shoe size", "type": "number"})).await.assert(201);
        app.post(&ann, FIELDS, json!({"object": "contacts", "key": "langs", "label": "Languages", "type": "multi_select", "options": ["en", "fr"]})).await.assert(201);
        app.post(&ann, "/api/v1/contacts", json!({"name": "Ann", "email": "ann@x.io", "custom": {"shoe": 38, "langs": ["en", "fr"]}})).await.assert(201);
        app.post(&ann, "/api/v1/contacts", json!({"name": "Bob", "email": "bob@x.io"})).await.assert(201);
        let r = app.as_user(&ann, reqwest::Method::GET, "/api/v1/contacts/export?custom.shoe_min=30").send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let text = r.text().await.unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(header.ends_with(",Shoe size,Languages"), "{header}");
        assert!(!header.split(',').any(|h| h == "custom"), "{header}");
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), 1, "the list's custom filter applies: {text}");
        assert!(rows[0].ends_with(",38,en;fr"), "{}", rows[0]);

        // The same columns import back, read by their types; a cell the
        // type cannot read is the row's error on custom.<key>.
        let csv = "Name,Email,Shoe size,Languages\r\nCy,cy@x.io,41.5,fr\r\nDee,dee@x.io,big,en\r\nAnn,ann@x.io,39,en\r\n";
        let r = crate::imports::upload(&app, &ann, "c.csv", csv.as_bytes().to_vec(), &[("object", "contacts"), ("dry_run", "true")]).await;
        r.assert(200);
        assert_eq!(r.body["mapping"]["Shoe size"], "custom.shoe", "{}", r.body);
        let r = crate::imports::upload(&app, &ann, "c.csv", csv.as_bytes().to_vec(), &[("object", "contacts"), ("on_conflict", "keep")]).await;
        r.assert(202);
        let done = crate::imports::finished(&app, &ann, r.body["id"].as_str().unwrap()).await;
        assert_eq!(done["errors"][0]["field"], "custom.shoe", "{done}");
        let r = app.get(&ann, "/api/v1/contacts?q=cy").await;
        assert_eq!(r.body["data"][0]["custom"], json!({"shoe": 41.5, "langs": ["fr"]}));
        // A matched contact keeps its differing value (on_conflict keep).
        let r = app.get(&ann, "/api/v1/contacts?custom.shoe=38").await;
        assert_eq!(names(&r), vec!["Ann"]);
    }

    async fn a_common_value_and_a_rare_one_page_in_order(app) {
        // 6,000 contacts hold one value: SQLite checks it while walking the
        // sort index (custom_fields::values::plan), a rare value is read
        // first; the pages must be the same either way.
        let s = app.register("many@example.com").await;
        app.post(&s, FIELDS, json!({"object": "contacts", "key": "tier", "label": "Tier", "type": "text"})).await.assert(201);
        crate::contacts::insert_contacts(&app, &s, 12_000, "'c' || i").await;
        let custom = if app.backend == Backend::Sqlite { "'{\"tier\": \"gold\"}'" } else { "'{\"tier\": \"gold\"}'::jsonb" };
        crate::contacts::run_sql(&app, &format!(
            "UPDATE contacts SET custom = {custom} WHERE tags LIKE '%common%' OR name IN ('C1', 'C3', 'C5')"
        ).replace("tags LIKE", if app.backend == Backend::Sqlite { "tags LIKE" } else { "tags::text LIKE" })).await;
        crate::contacts::run_sql(&app, "INSERT INTO custom_values (organization_id, record_type, key, record_id, value_text) \
             SELECT organization_id, 'contacts', 'tier', id, 'gold' FROM contacts WHERE name LIKE 'C%' AND custom <> '{}'").await;
        let mut names = Vec::new();
        let mut cursor = String::new();
        for _ in 0..3 {
            let page = app.get(&s, &format!("/api/v1/contacts?custom.tier=GOLD&limit=200{cursor}")).await;
            page.assert(200);
            for c in page.body["data"].as_array().unwrap() {
                assert_eq!(c["custom"], json!({"tier": "gold"}));
                names.push(c["name"].as_str().unwrap().to_string());
            }
            cursor = format!("&cursor={}", page.body["next_cursor"].as_str().unwrap());
        }
        let expected: Vec<String> = (0..600).map(|k| format!("C{}", 12_000 - 2 * k)).collect();
        assert_eq!(names, expected, "newest first, every second contact");
        // A rare value (three contacts) read first.
        crate::contacts::run_sql(&app, "UPDATE custom_values SET value_text = 'rare' WHERE record_id IN (SELECT id FROM contacts WHERE name IN ('C1', 'C3', 'C5'))").await;
        let r = app.get(&s, "/api/v1/contacts?custom.tier=rare").await;
        assert_eq!(names_of(&r), vec!["C5", "C3", "C1"]);
    }
}
