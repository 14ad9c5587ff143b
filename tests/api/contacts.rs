//! api.md §5 "Contacts" with the conventions of §1 and §7: create (every field,
//! normalization, validation), duplicates, owner rules by role, PUT and PATCH
//! (versions, `If-Match`, no-op changes), reads and tenancy, deletion and its
//! audit entry, `member_visibility`, lists (sorts, filters, `q`, keyset
//! pages under inserts) and `Idempotency-Key`.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const CONTACTS: &str = "/api/v1/contacts";
const ORG: &str = "/api/v1/organization";
const AUDIT: &str = "/api/v1/audit-log";

/// Every field of a contact, sorted.
const FIELDS: [&str; 15] = [
    "company_id",
    "created_at",
    "custom",
    "customer_since",
    "email",
    "id",
    "lead_source",
    "name",
    "owner_id",
    "phone",
    "phone_extension",
    "tags",
    "title",
    "updated_at",
    "version",
];

/// The writable fields a PATCH leaves alone when not sent.
const WRITABLE: [&str; 9] = [
    "name",
    "email",
    "phone",
    "title",
    "company_id",
    "lead_source",
    "customer_since",
    "owner_id",
    "tags",
];

fn at(id: &str) -> String {
    format!("{CONTACTS}/{id}")
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_string()
}

fn time(v: &Value, field: &str) -> DateTime<Utc> {
    let text = v[field].as_str().expect("a timestamp");
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|_| panic!("{field} is RFC 3339: {text}"))
        .with_timezone(&Utc)
}

/// Creates a contact as `s` (201) and returns it.
async fn create(app: &TestApp, s: &Session, body: Value) -> Value {
    let r = app.post(s, CONTACTS, body).await;
    r.assert(201);
    r.body
}

async fn put(app: &TestApp, s: &Session, id: &str, body: Value) -> Resp {
    send(app.as_user(s, Method::PUT, &at(id)).json(&body)).await
}

/// A change of contact `id` with `If-Match: version`.
async fn if_match(app: &TestApp, s: &Session, method: Method, id: &str, version: &str, body: Option<Value>) -> Resp {
    let mut request = app.as_user(s, method, &at(id)).header("If-Match", version);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// A `POST /contacts` with a raw JSON body and an `Idempotency-Key`.
async fn post_with_key(app: &TestApp, s: &Session, key: &str, body: &str) -> Resp {
    send(
        app.as_user(s, Method::POST, CONTACTS)
            .header("Idempotency-Key", key)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// `GET /contacts` with query parameters.
async fn list(app: &TestApp, s: &Session, query: &[(&str, &str)]) -> Resp {
    send(app.as_user(s, Method::GET, CONTACTS).query(query)).await
}

fn ids(r: &Resp) -> Vec<String> {
    r.body["data"].as_array().expect("a list").iter().map(id_of).collect()
}

/// The ids of one successful list request, in order.
async fn list_ids(app: &TestApp, s: &Session, query: &[(&str, &str)]) -> Vec<String> {
    let r = list(app, s, query).await;
    r.assert(200);
    ids(&r)
}

/// One page: its ids and `next_cursor`.
async fn page(
    app: &TestApp,
    s: &Session,
    query: &[(&str, &str)],
    cursor: Option<&str>,
) -> (Vec<String>, Option<String>) {
    let mut query = query.to_vec();
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let r = list(app, s, &query).await;
    r.assert(200);
    (ids(&r), r.body["next_cursor"].as_str().map(str::to_string))
}

/// Every page of a list, following `next_cursor` from the first page.
async fn walk(app: &TestApp, s: &Session, query: &[(&str, &str)]) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (ids, next) = page(app, s, query, cursor.as_deref()).await;
        pages.push(ids);
        assert!(pages.len() < 50, "the walk does not end");
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    pages
}

/// The field names of a `validation_failed` problem, sorted.
fn fields(r: &Resp) -> Vec<String> {
    let mut fields: Vec<String> = r.body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_string())
        .collect();
    fields.sort();
    fields
}

/// 422 `validation_failed` naming exactly `field`.
#[track_caller]
fn assert_invalid(r: &Resp, field: &str) {
    r.assert_problem(422, "validation_failed");
    assert_eq!(fields(r), [field], "{}", r.body);
}

/// `ids` sorted by `(key, id)`, as a list sorted on `key` ascending returns them.
fn sorted_by(mut rows: Vec<(String, String)>) -> Vec<String> {
    rows.sort();
    rows.into_iter().map(|(_, id)| id).collect()
}

fn reversed(mut ids: Vec<String>) -> Vec<String> {
    ids.reverse();
    ids
}

/// Asserts that `seen` holds every id of `expected` exactly once, in the
/// order of `expected`, and no id twice.
#[track_caller]
fn assert_visits_once(seen: &[String], expected: &[String]) {
    let mut unique = seen.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an id came twice: {seen:?}");
    let known: Vec<&String> = seen.iter().filter(|id| expected.contains(id)).collect();
    let expected: Vec<&String> = expected.iter().collect();
    assert_eq!(known, expected, "every original contact once, in order");
}

both! {
    async fn create_returns_every_field_of_the_contract(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.post(&ann, CONTACTS, json!({"name": "  Ada Lovelace  "})).await;
        r.assert(201);
        assert_eq!(r.header("etag"), Some("\"1\""));
        let ada = r.body.clone();
        let mut keys: Vec<&str> = ada.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, FIELDS, "{ada}");
        assert_eq!(ada["name"], "Ada Lovelace");
        for field in ["email", "phone", "title", "company_id", "lead_source", "customer_since"] {
            assert_eq!(ada[field], Value::Null, "{field}");
        }
        assert_eq!(ada["tags"], json!([]));
        assert_eq!(ada["version"], 1);
        assert_eq!(ada["owner_id"], ann.user_id.as_str());
        assert!(uuid::Uuid::parse_str(&id_of(&ada)).is_ok());
        assert!(ada["created_at"].as_str().unwrap().ends_with('Z'), "{ada}");
        assert_eq!(time(&ada, "created_at"), time(&ada, "updated_at"));

        // Read back: the same object and ETag.
        let r = app.get(&ann, &at(&id_of(&ada))).await;
        r.assert(200);
        assert_eq!(r.body, ada);
        assert_eq!(r.header("etag"), Some("\"1\""));

        // Every field given: normalized.
        let r = app.post(&ann, CONTACTS, json!({
            "name": "John Smith",
            "email": "  John.Smith@Acme.COM ",
            "phone": "(415) 555-0100",
            "title": " CTO ",
            "lead_source": "web",
            "customer_since": "2024-03-01",
            "tags": [" VIP ", "vip", "Lead", "lead ", "Partner", "VIP"],
            "owner_id": ann.user_id,
        })).await;
        r.assert(201);
        assert_eq!(r.header("etag"), Some("\"1\""));
        let john = r.body.clone();
        assert_eq!(john["name"], "John Smith");
        assert_eq!(john["email"], "john.smith@acme.com");
        assert_eq!(john["phone"], "+14155550100");
        assert_eq!(john["title"], "CTO");
        assert_eq!(john["lead_source"], "web");
        assert_eq!(john["customer_since"], "2024-03-01");
        assert_eq!(john["company_id"], Value::Null);
        assert_eq!(john["tags"], json!(["vip", "lead", "partner"]));
        assert_eq!(john["owner_id"], ann.user_id.as_str());
        assert_eq!(john["version"], 1);
        let r = app.get(&ann, &at(&id_of(&john))).await;
        r.assert(200);
        assert_eq!(r.body, john);

        // Listed with the same fields.
        let r = list(&app, &ann, &[]).await;
        r.assert(200);
        assert_eq!(r.body["data"], json!([john, ada]));
    }

    async fn create_validates_every_field(app) {
        let ann = app.register("ann@example.com").await;
        // name: required, 1..200 after trimming.
        for body in [
            json!({}),
            json!({"name": null}),
            json!({"name": ""}),
            json!({"name": "   "}),
            json!({"name": "x".repeat(201)}),
            json!({"name": 5}),
        ] {
            let r = app.post(&ann, CONTACTS, body.clone()).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["name"], "{body}");
        }
        let longest = create(&app, &ann, json!({"name": format!("  {}  ", "x".repeat(200))})).await;
        assert_eq!(longest["name"], "x".repeat(200));

        for bad in ["not-an-email", "a@b", "a b@example.com", "@example.com", "ann@@example.com"] {
            let r = app.post(&ann, CONTACTS, json!({"name": "E", "email": bad})).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["email"], "{bad}");
        }
        for bad in ["12", "not a phone", "+999 1234", "555"] {
            let r = app.post(&ann, CONTACTS, json!({"name": "P", "phone": bad})).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["phone"], "{bad}");
        }
        for bad in ["2024-13-01", "2024-02-30", "01/03/2024", "2024-03-01T00:00:00Z", "yesterday"] {
            let r = app.post(&ann, CONTACTS, json!({"name": "D", "customer_since": bad})).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["customer_since"], "{bad}");
        }

        // tags: at most 20, each 1..50 characters after trimming.
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        for tags in [json!(many), json!(["x".repeat(51)]), json!([""]), json!(["ok", "   "]), json!("vip")] {
            let r = app.post(&ann, CONTACTS, json!({"name": "T", "tags": tags})).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["tags"], "{tags}");
        }
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        let t = create(&app, &ann, json!({"name": "T", "tags": twenty})).await;
        assert_eq!(t["tags"], json!(twenty));
        let t = create(&app, &ann, json!({"name": "T50", "tags": ["Y".repeat(50)]})).await;
        assert_eq!(t["tags"], json!(["y".repeat(50)]));

        // Unknown fields and wrong types, named.
        assert_invalid(&app.post(&ann, CONTACTS, json!({"name": "U", "nickname": "u"})).await, "nickname");
        assert_invalid(&app.post(&ann, CONTACTS, json!({"name": "U", "email": 5})).await, "email");
        assert_invalid(&app.post(&ann, CONTACTS, json!({"name": "U", "owner_id": "abc"})).await, "owner_id");
        assert_invalid(&app.post(&ann, CONTACTS, json!({"name": "U", "company_id": "abc"})).await, "company_id");
        // A company that does not exist.
        let r = app.post(&ann, CONTACTS, json!({"name": "U", "company_id": uuid::Uuid::new_v4()})).await;
        r.assert_problem(422, "company_not_found");
        // Several bad fields: all reported.
        let r = app.post(&ann, CONTACTS, json!({"name": "", "email": "bad", "phone": "12", "customer_since": "x"})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(fields(&r), ["customer_since", "email", "name", "phone"]);
        // Not JSON.
        let r = send(app.as_user(&ann, Method::POST, CONTACTS).header("content-type", "application/json").body("{\"name\": ")).await;
        r.assert_problem(400, "malformed_json");

        // Only the valid ones exist.
        let r = list(&app, &ann, &[]).await;
        r.assert(200);
        assert_eq!(r.body["data"].as_array().unwrap().len(), 3, "{}", r.body);
    }

    async fn empty_strings_are_null_and_read_only_fields_are_ignored(app) {
        let ann = app.register("ann@example.com").await;
        let bo = create(&app, &ann, json!({
            "name": "Bo", "email": "", "phone": "  ", "title": "", "company_id": "",
            "lead_source": " ", "customer_since": "", "owner_id": "", "tags": [],
        })).await;
        for field in ["email", "phone", "title", "company_id", "lead_source", "customer_since"] {
            assert_eq!(bo[field], Value::Null, "{field}");
        }
        assert_eq!(bo["owner_id"], ann.user_id.as_str());

        // Read-only fields sent on create are ignored.
        let sent_id = uuid::Uuid::now_v7().to_string();
        let cy = create(&app, &ann, json!({
            "name": "Cy", "id": sent_id, "version": 7,
            "created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z",
        })).await;
        assert_ne!(cy["id"], sent_id.as_str());
        assert_eq!(cy["version"], 1);
        assert_ne!(cy["created_at"], "2000-01-01T00:00:00Z");
        app.get(&ann, &at(&sent_id)).await.assert_problem(404, "not_found");
        let cy_id = id_of(&cy);

        // A client sends back what it read: PUT and PATCH accept it.
        let mut back = cy.clone();
        back["name"] = json!("Cyrus");
        let r = put(&app, &ann, &cy_id, back).await;
        r.assert(200);
        assert_eq!(r.body["name"], "Cyrus");
        assert_eq!(r.body["id"], cy_id.as_str());
        assert_eq!(r.body["version"], 2);
        assert_eq!(r.body["created_at"], cy["created_at"]);
        let cyrus = r.body.clone();
        // The whole object read back, unchanged: nothing changes.
        let r = app.patch(&ann, &at(&cy_id), cyrus.clone()).await;
        r.assert(200);
        assert_eq!(r.body, cyrus);
        // Only read-only fields: nothing changes either.
        let r = app.patch(&ann, &at(&cy_id), json!({"id": sent_id, "version": 99, "updated_at": "2000-01-01T00:00:00Z"})).await;
        r.assert(200);
        assert_eq!(r.body, cyrus);
        assert_eq!(r.header("etag"), Some("\"2\""));
        let r = app.get(&ann, &at(&cy_id)).await;
        assert_eq!(r.body, cyrus);
    }

    async fn phones_are_read_with_the_organization_default_country(app) {
        let ann = app.register("ann@example.com").await;
        let us = create(&app, &ann, json!({"name": "US", "phone": "(415) 555-0100"})).await;
        assert_eq!(us["phone"], "+14155550100");
        let uk = create(&app, &ann, json!({"name": "UK", "phone": "+44 20 7946 0958"})).await;
        assert_eq!(uk["phone"], "+442079460958");
        // Changes are normalized too.
        let r = app.patch(&ann, &at(&id_of(&uk)), json!({"phone": "415.555.0102"})).await;
        r.assert(200);
        assert_eq!(r.body["phone"], "+14155550102");
        let r = put(&app, &ann, &id_of(&uk), json!({"name": "UK", "phone": "+44 20 7946 0958"})).await;
        r.assert(200);
        assert_eq!(r.body["phone"], "+442079460958");

        // Another default country reads national numbers as German.
        let r = app.patch(&ann, ORG, json!({"default_country": "de"})).await;
        r.assert(200);
        assert_eq!(r.body["default_country"], "DE");
        let berlin = create(&app, &ann, json!({"name": "Berlin", "phone": "030 12345678"})).await;
        assert_eq!(berlin["phone"], "+493012345678");
        let intl = create(&app, &ann, json!({"name": "Intl", "phone": "+1 415 555 0101"})).await;
        assert_eq!(intl["phone"], "+14155550101");
        // What was stored stays.
        let r = app.get(&ann, &at(&id_of(&us))).await;
        assert_eq!(r.body["phone"], "+14155550100");

        // The setting is per organization.
        let bob = app.register("bob@example.com").await;
        let b = create(&app, &bob, json!({"name": "US", "phone": "(415) 555-0100"})).await;
        assert_eq!(b["phone"], "+14155550100");

        // Numbers with their country code are read as such, whatever the default.
        for (typed, e164) in [("+33 1 42 68 53 00", "+33142685300"), ("+353 1 234 5678", "+35312345678")] {
            let r = app.post(&bob, CONTACTS, json!({"name": typed, "phone": typed})).await;
            r.assert(201);
            assert_eq!(r.body["phone"], e164, "{typed}");
        }
        // `00` is the international prefix: the same Paris number again.
        let r = app.post(&bob, CONTACTS, json!({"name": "Paris again", "phone": "0033 1 42 68 53 00"})).await;
        r.assert_problem(409, "duplicate_contact");
        assert_eq!(r.body["field"], "phone");
        // An extension is kept apart, never dropped; one of its own needs a number.
        let ext = create(&app, &bob, json!({"name": "Ext", "phone": "+1 212 555 0199 ext. 42"})).await;
        assert_eq!((ext["phone"].as_str(), ext["phone_extension"].as_str()), (Some("+12125550199"), Some("42")));
        let r = app.patch(&bob, &at(&id_of(&ext)), json!({"title": "Buyer"})).await;
        assert_eq!(r.body["phone_extension"], "42", "a change of another field keeps it");
        let r = app.patch(&bob, &at(&id_of(&ext)), json!({"phone_extension": "7"})).await;
        assert_eq!(r.body["phone_extension"], "7");
        let r = app.patch(&bob, &at(&id_of(&ext)), json!({"phone_extension": "12a"})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "phone_extension");
        let r = app.post(&bob, CONTACTS, json!({"name": "No number", "phone_extension": "7"})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "phone_extension");
        // Found by the number as people write it.
        let found = list_ids(&app, &bob, &[("q", "212-555-0199")]).await;
        assert_eq!(found, [id_of(&ext)]);
        let found = list_ids(&app, &bob, &[("q", "+1 (212) 555")]).await;
        assert_eq!(found, [id_of(&ext)]);
    }

    async fn duplicate_email_or_phone_conflicts_within_the_organization(app) {
        let ann = app.register("ann@example.com").await;
        let first = create(&app, &ann, json!({"name": "First", "email": "dup@example.com", "phone": "(415) 555-0100"})).await;
        let first_id = id_of(&first);
        for body in [
            json!({"name": "Two", "email": "DUP@Example.COM"}),
            json!({"name": "Three", "phone": "+1 415-555-0100"}),
            json!({"name": "Four", "phone": "4155550100"}),
            json!({"name": "Five", "email": "other@example.com", "phone": "415 555 0100"}),
        ] {
            let r = app.post(&ann, CONTACTS, body.clone()).await;
            r.assert_problem(409, "duplicate_contact");
            assert_eq!(r.body["existing_id"], first_id.as_str(), "{body}");
            // Which field collided, and with whom.
            let field = if body.get("email").is_some_and(|e| e.as_str() != Some("other@example.com")) { "email" } else { "phone" };
            assert_eq!(r.body["field"], field, "{body}");
            assert!(r.body["detail"].as_str().unwrap().contains(&format!("this {field} already exists: First")), "{}", r.body);
        }
        assert_eq!(list_ids(&app, &ann, &[]).await, [first_id.as_str()]);

        // Another organization has contacts of its own.
        let bob = app.register("bob@example.com").await;
        let theirs = create(&app, &bob, json!({"name": "Bob's", "email": "dup@example.com", "phone": "(415) 555-0100"})).await;
        assert_ne!(id_of(&theirs), first_id);

        // Changes are checked too, and change nothing when refused.
        let second = create(&app, &ann, json!({"name": "Second", "email": "second@example.com"})).await;
        let second_id = id_of(&second);
        let r = app.patch(&ann, &at(&second_id), json!({"email": "Dup@example.com"})).await;
        r.assert_problem(409, "duplicate_contact");
        assert_eq!(r.body["existing_id"], first_id.as_str());
        let r = put(&app, &ann, &second_id, json!({"name": "Second", "phone": "415-555-0100"})).await;
        r.assert_problem(409, "duplicate_contact");
        assert_eq!(r.body["existing_id"], first_id.as_str());
        assert_eq!(app.get(&ann, &at(&second_id)).await.body, second);

        // A contact keeps its own email and phone, written any way.
        let r = app.patch(&ann, &at(&first_id), json!({"email": "DUP@EXAMPLE.COM", "phone": "+14155550100"})).await;
        r.assert(200);
        assert_eq!(r.body, first);

        // Deleted, the email and phone are free again.
        app.delete(&ann, &at(&first_id)).await.assert(204);
        let again = create(&app, &ann, json!({"name": "Again", "email": "dup@example.com", "phone": "(415) 555-0100"})).await;
        assert_eq!(again["email"], "dup@example.com");
        let r = app.patch(&ann, &at(&second_id), json!({"email": "DUP@example.com"})).await;
        r.assert_problem(409, "duplicate_contact");
        assert_eq!(r.body["existing_id"], id_of(&again).as_str());
    }

    async fn owner_rules_on_create(app) {
        let owner = app.register("olga@example.com").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let outsider = app.register("out@example.com").await;

        // A member creates only their own contacts.
        let r = app.post(&member, CONTACTS, json!({"name": "M1", "owner_id": manager.user_id})).await;
        r.assert_problem(403, "forbidden");
        let m2 = create(&app, &member, json!({"name": "M2", "owner_id": member.user_id})).await;
        assert_eq!(m2["owner_id"], member.user_id.as_str());
        let m3 = create(&app, &member, json!({"name": "M3"})).await;
        assert_eq!(m3["owner_id"], member.user_id.as_str());

        // A manager gives contacts to members of the organization only.
        let g1 = create(&app, &manager, json!({"name": "G1", "owner_id": member.user_id})).await;
        assert_eq!(g1["owner_id"], member.user_id.as_str());
        let r = app.post(&manager, CONTACTS, json!({"name": "G2", "owner_id": uuid::Uuid::new_v4()})).await;
        r.assert_problem(422, "owner_not_member");
        let r = app.post(&manager, CONTACTS, json!({"name": "G3", "owner_id": outsider.user_id})).await;
        r.assert_problem(422, "owner_not_member");
        let g4 = create(&app, &manager, json!({"name": "G4"})).await;
        assert_eq!(g4["owner_id"], manager.user_id.as_str());
        let o1 = create(&app, &owner, json!({"name": "O1", "owner_id": manager.user_id})).await;
        assert_eq!(o1["owner_id"], manager.user_id.as_str());

        let r = list(&app, &owner, &[("sort", "name")]).await;
        r.assert(200);
        let names: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["G1", "G4", "M2", "M3", "O1"]);
    }

    async fn members_change_only_the_contacts_they_own(app) {
        let owner = app.register("olga@example.com").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let theirs = create(&app, &manager, json!({"name": "Managed"})).await;
        let theirs_id = id_of(&theirs);
        let mine = create(&app, &member, json!({"name": "Mine"})).await;
        let mine_id = id_of(&mine);

        // Someone else's: read yes, change no.
        app.patch(&member, &at(&theirs_id), json!({"title": "x"})).await.assert_problem(403, "forbidden");
        put(&app, &member, &theirs_id, json!({"name": "x"})).await.assert_problem(403, "forbidden");
        app.delete(&member, &at(&theirs_id)).await.assert_problem(403, "forbidden");
        let r = app.get(&member, &at(&theirs_id)).await;
        r.assert(200);
        assert_eq!(r.body, theirs);

        // Their own: yes, but not to give it away.
        let r = app.patch(&member, &at(&mine_id), json!({"title": "Rep"})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 2);
        let r = put(&app, &member, &mine_id, json!({"name": "Mine too"})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 3);
        assert_eq!(r.body["owner_id"], member.user_id.as_str());
        assert_eq!(r.body["title"], Value::Null);
        let r = app.patch(&member, &at(&mine_id), json!({"owner_id": manager.user_id})).await;
        r.assert_problem(403, "forbidden");
        let r = put(&app, &member, &mine_id, json!({"name": "Mine too", "owner_id": manager.user_id})).await;
        r.assert_problem(403, "forbidden");
        let r = app.patch(&member, &at(&mine_id), json!({"owner_id": member.user_id})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 3);
        let r = app.get(&member, &at(&mine_id)).await;
        assert_eq!(r.body["owner_id"], member.user_id.as_str());
        assert_eq!(r.body["name"], "Mine too");

        // A manager changes and reassigns anyone's, to members only.
        let r = app.patch(&manager, &at(&mine_id), json!({"title": "Checked"})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 4);
        let r = app.patch(&manager, &at(&mine_id), json!({"owner_id": uuid::Uuid::new_v4()})).await;
        r.assert_problem(422, "owner_not_member");
        let r = app.patch(&manager, &at(&mine_id), json!({"owner_id": owner.user_id})).await;
        r.assert(200);
        assert_eq!(r.body["owner_id"], owner.user_id.as_str());
        assert_eq!(r.body["version"], 5);
        // No longer the member's.
        app.patch(&member, &at(&mine_id), json!({"title": "x"})).await.assert_problem(403, "forbidden");
        app.delete(&member, &at(&mine_id)).await.assert_problem(403, "forbidden");
        // A manager deletes anyone's; so does the owner.
        app.delete(&manager, &at(&mine_id)).await.assert(204);
        app.delete(&owner, &at(&theirs_id)).await.assert(204);
        assert!(list_ids(&app, &owner, &[]).await.is_empty());

        // A member deletes their own.
        let own = create(&app, &member, json!({"name": "Short-lived"})).await;
        app.delete(&member, &at(&id_of(&own))).await.assert(204);
    }

    async fn put_replaces_every_writable_field(app) {
        let ann = app.register("ann@example.com").await;
        let full = create(&app, &ann, json!({
            "name": "Full", "email": "full@example.com", "phone": "(415) 555-0100", "title": "CTO",
            "lead_source": "web", "customer_since": "2024-03-01", "tags": ["vip"],
        })).await;
        let id = id_of(&full);
        let r = put(&app, &ann, &id, json!({"name": "Bare"})).await;
        r.assert(200);
        assert_eq!(r.header("etag"), Some("\"2\""));
        let bare = r.body.clone();
        assert_eq!(bare["name"], "Bare");
        for field in ["email", "phone", "title", "company_id", "lead_source", "customer_since"] {
            assert_eq!(bare[field], Value::Null, "{field}");
        }
        assert_eq!(bare["tags"], json!([]));
        assert_eq!(bare["owner_id"], ann.user_id.as_str());
        assert_eq!(bare["id"], id.as_str());
        assert_eq!(bare["version"], 2);
        assert_eq!(bare["created_at"], full["created_at"]);
        assert!(time(&bare, "updated_at") > time(&full, "updated_at"));
        let r = app.get(&ann, &at(&id)).await;
        assert_eq!(r.body, bare);
        assert_eq!(r.header("etag"), Some("\"2\""));
        // The tag and the email are gone with it.
        assert!(list_ids(&app, &ann, &[("tag", "vip")]).await.is_empty());
        create(&app, &ann, json!({"name": "Other", "email": "full@example.com"})).await;

        // PUT sets everything it is given.
        let r = put(&app, &ann, &id, json!({"name": "Again", "title": "CEO", "tags": ["A", "b"], "customer_since": "2025-01-31"})).await;
        r.assert(200);
        assert_eq!(r.body["title"], "CEO");
        assert_eq!(r.body["tags"], json!(["a", "b"]));
        assert_eq!(r.body["customer_since"], "2025-01-31");
        assert_eq!(r.body["version"], 3);
        let again = r.body.clone();

        // Validation, as on create; nothing changes.
        assert_invalid(&put(&app, &ann, &id, json!({})).await, "name");
        assert_invalid(&put(&app, &ann, &id, json!({"name": "x", "nick": "y"})).await, "nick");
        assert_invalid(&put(&app, &ann, &id, json!({"name": "x", "email": "nope"})).await, "email");
        // The same values again: no new version.
        let r = put(&app, &ann, &id, json!({"name": "Again", "title": "CEO", "tags": ["a", "B"], "customer_since": "2025-01-31"})).await;
        r.assert(200);
        assert_eq!(r.body, again);
        assert_eq!(app.get(&ann, &at(&id)).await.body, again);
        // An unknown contact.
        put(&app, &ann, &uuid::Uuid::new_v4().to_string(), json!({"name": "x"})).await.assert_problem(404, "not_found");
    }

    async fn patch_changes_only_what_is_sent(app) {
        let ann = app.register("ann@example.com").await;
        let pat = create(&app, &ann, json!({
            "name": "Pat", "email": "pat@example.com", "phone": "(415) 555-0100", "title": "CTO",
            "lead_source": "web", "customer_since": "2024-03-01", "tags": ["vip", "lead"],
        })).await;
        let id = id_of(&pat);

        let r = app.patch(&ann, &at(&id), json!({"title": "CEO"})).await;
        r.assert(200);
        assert_eq!(r.header("etag"), Some("\"2\""));
        assert_eq!(r.body["title"], "CEO");
        assert_eq!(r.body["version"], 2);
        for field in WRITABLE.iter().filter(|f| **f != "title") {
            assert_eq!(r.body[*field], pat[*field], "{field}");
        }
        assert_eq!(r.body["created_at"], pat["created_at"]);
        assert!(time(&r.body, "updated_at") > time(&pat, "updated_at"));

        // null and "" clear.
        let r = app.patch(&ann, &at(&id), json!({"email": null, "tags": null, "lead_source": "", "customer_since": null})).await;
        r.assert(200);
        assert_eq!(r.body["email"], Value::Null);
        assert_eq!(r.body["tags"], json!([]));
        assert_eq!(r.body["lead_source"], Value::Null);
        assert_eq!(r.body["customer_since"], Value::Null);
        assert_eq!(r.body["phone"], "+14155550100");
        assert_eq!(r.body["title"], "CEO");
        assert_eq!(r.body["name"], "Pat");
        assert_eq!(r.body["version"], 3);
        let current = r.body.clone();
        assert_eq!(app.get(&ann, &at(&id)).await.body, current);

        // Changes to nothing: 200, the same version and body.
        for body in [
            json!({}),
            json!({"title": "CEO"}),
            json!({"title": "  CEO "}),
            json!({"name": "Pat"}),
            json!({"phone": "415-555-0100"}),
            json!({"email": null}),
            json!({"email": ""}),
            json!({"tags": []}),
            json!({"owner_id": ann.user_id}),
        ] {
            let r = app.patch(&ann, &at(&id), body.clone()).await;
            r.assert(200);
            assert_eq!(r.body, current, "{body}");
            assert_eq!(r.header("etag"), Some("\"3\""), "{body}");
        }

        // Refused changes change nothing.
        assert_invalid(&app.patch(&ann, &at(&id), json!({"name": ""})).await, "name");
        assert_invalid(&app.patch(&ann, &at(&id), json!({"email": "bad"})).await, "email");
        assert_invalid(&app.patch(&ann, &at(&id), json!({"phone": "12"})).await, "phone");
        assert_invalid(&app.patch(&ann, &at(&id), json!({"customer_since": "soon"})).await, "customer_since");
        assert_invalid(&app.patch(&ann, &at(&id), json!({"tags": ["x".repeat(51)]})).await, "tags");
        assert_invalid(&app.patch(&ann, &at(&id), json!({"nick": "P"})).await, "nick");
        app.patch(&ann, &at(&id), json!({"company_id": uuid::Uuid::new_v4()})).await.assert_problem(422, "company_not_found");
        assert_eq!(app.get(&ann, &at(&id)).await.body, current);

        // Tags are normalized on change; each change is one more version.
        let r = app.patch(&ann, &at(&id), json!({"tags": ["B", " a ", "b"]})).await;
        r.assert(200);
        assert_eq!(r.body["tags"], json!(["b", "a"]));
        assert_eq!(r.body["version"], 4);
        let r = app.patch(&ann, &at(&id), json!({"name": "Patricia", "customer_since": "2020-02-29"})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 5);
        assert_eq!(r.header("etag"), Some("\"5\""));
        assert_eq!(r.body["customer_since"], "2020-02-29");
        assert_eq!(r.body["tags"], json!(["b", "a"]));
        // Unknown contact.
        app.patch(&ann, &at(&uuid::Uuid::new_v4().to_string()), json!({"title": "x"})).await.assert_problem(404, "not_found");
    }

    async fn if_match_guards_every_change(app) {
        let ann = app.register("ann@example.com").await;
        let v = create(&app, &ann, json!({"name": "V"})).await;
        let id = id_of(&v);

        let r = if_match(&app, &ann, Method::PATCH, &id, "\"2\"", Some(json!({"title": "x"}))).await;
        r.assert_problem(412, "version_mismatch");
        assert_eq!(app.get(&ann, &at(&id)).await.body, v);

        let r = if_match(&app, &ann, Method::PATCH, &id, "\"1\"", Some(json!({"title": "A"}))).await;
        r.assert(200);
        assert_eq!(r.body["version"], 2);
        assert_eq!(r.header("etag"), Some("\"2\""));
        let a = r.body.clone();

        // Stale now, for every kind of change.
        if_match(&app, &ann, Method::PATCH, &id, "\"1\"", Some(json!({"title": "B"}))).await.assert_problem(412, "version_mismatch");
        if_match(&app, &ann, Method::PUT, &id, "\"1\"", Some(json!({"name": "W"}))).await.assert_problem(412, "version_mismatch");
        if_match(&app, &ann, Method::DELETE, &id, "\"1\"", None).await.assert_problem(412, "version_mismatch");
        let r = app.get(&ann, &at(&id)).await;
        r.assert(200);
        assert_eq!(r.body, a);

        let r = if_match(&app, &ann, Method::PUT, &id, "\"2\"", Some(json!({"name": "W"}))).await;
        r.assert(200);
        assert_eq!(r.body["version"], 3);
        assert_eq!(r.body["name"], "W");
        assert_eq!(r.body["title"], Value::Null);
        // Without If-Match the last write wins.
        let r = app.patch(&ann, &at(&id), json!({"title": "C"})).await;
        r.assert(200);
        assert_eq!(r.body["version"], 4);
        if_match(&app, &ann, Method::DELETE, &id, "\"3\"", None).await.assert_problem(412, "version_mismatch");
        app.get(&ann, &at(&id)).await.assert(200);
        if_match(&app, &ann, Method::DELETE, &id, "\"4\"", None).await.assert(204);
        app.get(&ann, &at(&id)).await.assert_problem(404, "not_found");
    }

    async fn reads_by_id_and_tenancy(app) {
        let ann = app.register("ann@example.com").await;
        let secret = create(&app, &ann, json!({"name": "Secret", "email": "secret@example.com", "tags": ["vip"]})).await;
        let id = id_of(&secret);

        // Unknown and malformed ids.
        let unknown = uuid::Uuid::new_v4().to_string();
        let missing = app.get(&ann, &at(&unknown)).await;
        missing.assert_problem(404, "not_found");
        for bad in ["not-a-uuid", "123", &format!("{id}x")] {
            app.get(&ann, &at(bad)).await.assert_problem(404, "not_found");
            app.patch(&ann, &at(bad), json!({"title": "x"})).await.assert_problem(404, "not_found");
            put(&app, &ann, bad, json!({"name": "x"})).await.assert_problem(404, "not_found");
            app.delete(&ann, &at(bad)).await.assert_problem(404, "not_found");
        }
        app.patch(&ann, &at(&unknown), json!({"title": "x"})).await.assert_problem(404, "not_found");
        put(&app, &ann, &unknown, json!({"name": "x"})).await.assert_problem(404, "not_found");
        app.delete(&ann, &at(&unknown)).await.assert_problem(404, "not_found");

        // Another organization's contact does not exist there, for every role.
        let bob = app.register("bob@example.com").await;
        let admin = app.add_member(&bob, "bea@example.com", "admin").await;
        let manager = app.add_member(&bob, "ben@example.com", "manager").await;
        let member = app.add_member(&bob, "bo@example.com", "member").await;
        for s in [&bob, &admin, &manager, &member] {
            let r = app.get(s, &at(&id)).await;
            r.assert_problem(404, "not_found");
            assert_eq!(r.body["detail"], missing.body["detail"]);
            assert_eq!(r.body["title"], missing.body["title"]);
            app.patch(s, &at(&id), json!({"name": "Stolen"})).await.assert_problem(404, "not_found");
            if_match(&app, s, Method::PATCH, &id, "\"1\"", Some(json!({"name": "Stolen"}))).await.assert_problem(404, "not_found");
            put(&app, s, &id, json!({"name": "Stolen"})).await.assert_problem(404, "not_found");
            app.delete(s, &at(&id)).await.assert_problem(404, "not_found");
            if_match(&app, s, Method::DELETE, &id, "\"1\"", None).await.assert_problem(404, "not_found");
            assert!(list_ids(&app, s, &[]).await.is_empty());
            assert!(list_ids(&app, s, &[("q", "secret")]).await.is_empty());
            assert!(list_ids(&app, s, &[("tag", "vip")]).await.is_empty());
            assert!(list_ids(&app, s, &[("owner_id", ann.user_id.as_str())]).await.is_empty());
        }
        // Naming the other organization is not a way in.
        send(app.as_user_in(&bob, &ann.org_id, Method::GET, &at(&id))).await.assert_problem(403, "not_a_member");
        send(app.as_user_in(&bob, &ann.org_id, Method::GET, CONTACTS)).await.assert_problem(403, "not_a_member");
        // Nothing changed.
        let r = app.get(&ann, &at(&id)).await;
        r.assert(200);
        assert_eq!(r.body, secret);
    }

    async fn delete_removes_the_contact_and_is_audited(app) {
        let owner = app.register("olga@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let gone = create(&app, &owner, json!({"name": "Gone", "email": "gone@example.com", "tags": ["vip"]})).await;
        let gone_id = id_of(&gone);
        let kept = create(&app, &owner, json!({"name": "Kept"})).await;

        let r = app.delete(&owner, &at(&gone_id)).await;
        r.assert(204);
        assert_eq!(r.body, Value::Null);
        app.get(&owner, &at(&gone_id)).await.assert_problem(404, "not_found");
        app.delete(&owner, &at(&gone_id)).await.assert_problem(404, "not_found");
        app.patch(&owner, &at(&gone_id), json!({"title": "x"})).await.assert_problem(404, "not_found");
        put(&app, &owner, &gone_id, json!({"name": "x"})).await.assert_problem(404, "not_found");
        assert_eq!(list_ids(&app, &owner, &[]).await, [id_of(&kept)]);
        assert!(list_ids(&app, &owner, &[("tag", "vip")]).await.is_empty());
        assert!(list_ids(&app, &owner, &[("q", "gone")]).await.is_empty());

        let mine = create(&app, &member, json!({"name": "Mine"})).await;
        app.delete(&member, &at(&id_of(&mine))).await.assert(204);

        let r = app.get(&owner, &format!("{AUDIT}?limit=200")).await;
        r.assert(200);
        let deleted: Vec<&Value> = r.body["data"].as_array().unwrap().iter().filter(|e| e["action"] == "contact.deleted").collect();
        assert_eq!(deleted.len(), 2, "{}", r.body);
        // Newest first.
        assert_eq!(deleted[0]["target_id"], id_of(&mine).as_str());
        assert_eq!(deleted[0]["actor_id"], member.user_id.as_str());
        assert_eq!(deleted[1]["target_id"], gone_id.as_str());
        assert_eq!(deleted[1]["actor_id"], owner.user_id.as_str());
        assert_eq!(deleted[1]["target_type"], "contact");
    }

    async fn member_visibility_own_hides_other_contacts_from_members(app) {
        let owner = app.register("olga@example.com").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let other = app.add_member(&owner, "oz@example.com", "member").await;
        let r = app.patch(&owner, ORG, json!({"member_visibility": "own"})).await;
        r.assert(200);
        assert_eq!(r.body["member_visibility"], "own");

        let o = create(&app, &owner, json!({"name": "Owner Contact", "tags": ["vip"]})).await;
        let g = create(&app, &manager, json!({"name": "Manager Contact", "tags": ["vip"]})).await;
        let m = create(&app, &member, json!({"name": "Member Contact", "tags": ["vip"]})).await;
        let x = create(&app, &other, json!({"name": "Other Contact"})).await;
        // Given to the member by a manager: theirs to see.
        let given = create(&app, &manager, json!({"name": "Given Contact", "owner_id": member.user_id})).await;
        let (o, g, m, x, given) = (id_of(&o), id_of(&g), id_of(&m), id_of(&x), id_of(&given));

        assert_eq!(list_ids(&app, &member, &[]).await, [given.clone(), m.clone()]);
        assert_eq!(list_ids(&app, &member, &[("tag", "vip")]).await, [m.as_str()]);
        assert_eq!(list_ids(&app, &member, &[("q", "contact")]).await, [given.clone(), m.clone()]);
        assert!(list_ids(&app, &member, &[("q", "owner")]).await.is_empty());
        assert!(list_ids(&app, &member, &[("owner_id", manager.user_id.as_str())]).await.is_empty());
        assert_eq!(list_ids(&app, &member, &[("sort", "name"), ("limit", "1")]).await, [given.as_str()]);
        assert_eq!(list_ids(&app, &other, &[]).await, [x.as_str()]);
        for hidden in [&o, &g, &x] {
            app.get(&member, &at(hidden)).await.assert_problem(404, "not_found");
            app.patch(&member, &at(hidden), json!({"title": "x"})).await.assert_problem(404, "not_found");
            put(&app, &member, hidden, json!({"name": "x"})).await.assert_problem(404, "not_found");
            app.delete(&member, &at(hidden)).await.assert_problem(404, "not_found");
        }
        app.get(&member, &at(&m)).await.assert(200);
        app.get(&member, &at(&given)).await.assert(200);

        // Managers and above still see everything.
        for s in [&owner, &manager] {
            assert_eq!(list_ids(&app, s, &[]).await, [given.clone(), x.clone(), m.clone(), g.clone(), o.clone()]);
            app.get(s, &at(&x)).await.assert(200);
        }
        app.patch(&manager, &at(&m), json!({"title": "Seen"})).await.assert(200);
        // Reassigned away, the contact disappears for the member.
        app.patch(&manager, &at(&m), json!({"owner_id": manager.user_id})).await.assert(200);
        assert_eq!(list_ids(&app, &member, &[]).await, [given.as_str()]);
        app.get(&member, &at(&m)).await.assert_problem(404, "not_found");

        // Back to `all`: members read every contact, but still change only their own.
        app.patch(&owner, ORG, json!({"member_visibility": "all"})).await.assert(200);
        assert_eq!(list_ids(&app, &member, &[]).await.len(), 5);
        app.get(&member, &at(&g)).await.assert(200);
        app.patch(&member, &at(&g), json!({"title": "x"})).await.assert_problem(403, "forbidden");
    }

    async fn lists_sort_by_the_supported_fields(app) {
        let ann = app.register("ann@example.com").await;
        let mut created = Vec::new();
        for name in ["Dave", "Bob", "Erin", "Alice", "Carol"] {
            created.push(id_of(&create(&app, &ann, json!({"name": name})).await));
        }
        let [dave, bob, erin, alice, carol] = <[String; 5]>::try_from(created.clone()).unwrap();

        let r = list(&app, &ann, &[]).await;
        r.assert(200);
        let mut keys: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["data", "next_cursor"]);
        assert_eq!(r.body["next_cursor"], Value::Null);
        // Newest first by default.
        assert_eq!(ids(&r), reversed(created.clone()));
        assert_eq!(list_ids(&app, &ann, &[("sort", "-created_at")]).await, reversed(created.clone()));
        assert_eq!(list_ids(&app, &ann, &[("sort", "created_at")]).await, created);
        let by_name = vec![alice.clone(), bob.clone(), carol.clone(), dave.clone(), erin.clone()];
        assert_eq!(list_ids(&app, &ann, &[("sort", "name")]).await, by_name);
        assert_eq!(list_ids(&app, &ann, &[("sort", "-name")]).await, reversed(by_name));

        // updated_at follows changes.
        app.patch(&ann, &at(&bob), json!({"title": "Boss"})).await.assert(200);
        let by_update = vec![dave.clone(), erin.clone(), alice.clone(), carol.clone(), bob.clone()];
        assert_eq!(list_ids(&app, &ann, &[("sort", "updated_at")]).await, by_update);
        assert_eq!(list_ids(&app, &ann, &[("sort", "-updated_at")]).await, reversed(by_update));

        // Anything else → 422 naming `sort`.
        for sort in ["email", "-email", "id", "title", "created", "name,-id", "+name", "--name", "NAME"] {
            let r = list(&app, &ann, &[("sort", sort)]).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["sort"], "{sort}");
        }
    }

    async fn lists_reject_bad_parameters(app) {
        let ann = app.register("ann@example.com").await;
        create(&app, &ann, json!({"name": "One"})).await;
        for limit in ["0", "201", "abc", "-1", "1.5"] {
            let r = list(&app, &ann, &[("limit", limit)]).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), ["limit"], "{limit}");
        }
        assert_eq!(list_ids(&app, &ann, &[("limit", "1")]).await.len(), 1);
        assert_eq!(list_ids(&app, &ann, &[("limit", "200")]).await.len(), 1);
        for cursor in ["garbage", "not a cursor", "e30", "WzEsMl0", "%%%"] {
            let r = list(&app, &ann, &[("cursor", cursor)]).await;
            r.assert_problem(422, "invalid_cursor");
        }
        for (param, value) in [
            ("owner_id", "abc"),
            ("company_id", "not-a-uuid"),
            ("created_after", "2026-01-01"),
            ("created_after", "yesterday"),
            ("created_before", "2026-13-01T00:00:00Z"),
            ("created_before", "1700000000"),
        ] {
            let r = list(&app, &ann, &[(param, value)]).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(fields(&r), [param], "{param}={value}");
        }
    }

    async fn lists_filter_by_owner_tag_source_company_and_creation_time(app) {
        let owner = app.register("olga@example.com").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let c1 = create(&app, &owner, json!({"name": "Ann", "tags": ["vip", "lead"], "lead_source": "web"})).await;
        let c2 = create(&app, &owner, json!({"name": "Ben", "tags": ["VIP"], "lead_source": "referral", "owner_id": manager.user_id})).await;
        let c3 = create(&app, &manager, json!({"name": "Cat", "lead_source": "web"})).await;
        let (i1, i2, i3) = (id_of(&c1), id_of(&c2), id_of(&c3));

        assert_eq!(list_ids(&app, &owner, &[("owner_id", manager.user_id.as_str())]).await, [i3.clone(), i2.clone()]);
        assert_eq!(list_ids(&app, &owner, &[("owner_id", owner.user_id.as_str())]).await, [i1.as_str()]);
        assert!(list_ids(&app, &owner, &[("owner_id", uuid::Uuid::new_v4().to_string().as_str())]).await.is_empty());

        assert_eq!(list_ids(&app, &owner, &[("tag", "vip")]).await, [i2.clone(), i1.clone()]);
        assert_eq!(list_ids(&app, &owner, &[("tag", " VIP ")]).await, [i2.clone(), i1.clone()]);
        assert_eq!(list_ids(&app, &owner, &[("tag", "vip"), ("tag", "lead")]).await, [i1.as_str()]);
        assert!(list_ids(&app, &owner, &[("tag", "lead"), ("tag", "referral")]).await.is_empty());
        assert!(list_ids(&app, &owner, &[("tag", "nope")]).await.is_empty());

        assert_eq!(list_ids(&app, &owner, &[("lead_source", "web")]).await, [i3.clone(), i1.clone()]);
        assert_eq!(list_ids(&app, &owner, &[("lead_source", "referral")]).await, [i2.as_str()]);
        assert!(list_ids(&app, &owner, &[("lead_source", "fair")]).await.is_empty());

        // company_id is a filter only: any uuid is accepted.
        assert!(list_ids(&app, &owner, &[("company_id", uuid::Uuid::new_v4().to_string().as_str())]).await.is_empty());

        // created_after is inclusive, created_before exclusive.
        let t1 = c1["created_at"].as_str().unwrap();
        let t2 = c2["created_at"].as_str().unwrap();
        let t3 = c3["created_at"].as_str().unwrap();
        assert_eq!(list_ids(&app, &owner, &[("created_after", t2)]).await, [i3.clone(), i2.clone()]);
        assert_eq!(list_ids(&app, &owner, &[("created_before", t2)]).await, [i1.as_str()]);
        assert_eq!(list_ids(&app, &owner, &[("created_after", t1), ("created_before", t3)]).await, [i2.clone(), i1.clone()]);
        assert!(list_ids(&app, &owner, &[("created_after", t2), ("created_before", t2)]).await.is_empty());
        // The same instant in another offset.
        let plus_two = time(&c2, "created_at")
            .with_timezone(&FixedOffset::east_opt(2 * 3600).unwrap())
            .to_rfc3339_opts(SecondsFormat::Micros, false);
        assert!(plus_two.ends_with("+02:00"), "{plus_two}");
        assert_eq!(list_ids(&app, &owner, &[("created_after", plus_two.as_str())]).await, [i3.clone(), i2.clone()]);
        assert_eq!(list_ids(&app, &owner, &[("created_before", plus_two.as_str())]).await, [i1.as_str()]);
        assert!(list_ids(&app, &owner, &[("created_after", "2999-01-01T00:00:00Z")]).await.is_empty());
        assert!(list_ids(&app, &owner, &[("created_before", "2000-01-01T00:00:00Z")]).await.is_empty());
        assert_eq!(list_ids(&app, &owner, &[("created_after", "2000-01-01T00:00:00Z")]).await.len(), 3);

        // Filters combine.
        assert_eq!(list_ids(&app, &owner, &[("tag", "vip"), ("owner_id", owner.user_id.as_str())]).await, [i1.as_str()]);
        assert_eq!(list_ids(&app, &owner, &[("lead_source", "web"), ("owner_id", manager.user_id.as_str())]).await, [i3.as_str()]);
        assert_eq!(list_ids(&app, &owner, &[("tag", "vip"), ("sort", "-name")]).await, [i2.clone(), i1.clone()]);

        // The tag filter follows changes.
        app.patch(&owner, &at(&i3), json!({"tags": ["Vip"]})).await.assert(200);
        assert_eq!(list_ids(&app, &owner, &[("tag", "vip")]).await, [i3.clone(), i2.clone(), i1.clone()]);
        app.patch(&owner, &at(&i3), json!({"tags": null})).await.assert(200);
        assert_eq!(list_ids(&app, &owner, &[("tag", "vip")]).await, [i2.clone(), i1.clone()]);
        put(&app, &owner, &i2, json!({"name": "Ben"})).await.assert(200);
        assert_eq!(list_ids(&app, &owner, &[("tag", "vip")]).await, [i1.as_str()]);
        assert!(list_ids(&app, &owner, &[("lead_source", "referral")]).await.is_empty());
        // And reassignment.
        app.patch(&owner, &at(&i1), json!({"owner_id": manager.user_id})).await.assert(200);
        assert_eq!(list_ids(&app, &owner, &[("owner_id", manager.user_id.as_str())]).await, [i3.clone(), i2.clone(), i1.clone()]);
        assert_eq!(list_ids(&app, &owner, &[("tag", "vip"), ("owner_id", manager.user_id.as_str())]).await, [i1.as_str()]);
    }

    async fn q_matches_word_prefixes_of_name_email_and_phone(app) {
        let owner = app.register("olga@example.com").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let john = id_of(&create(&app, &owner, json!({"name": "John Smith", "email": "john.smith@acme.com", "phone": "(415) 555-0100", "tags": ["vip"]})).await);
        let joan = id_of(&create(&app, &owner, json!({"name": "Joan Smithers", "email": "joan@example.org", "owner_id": manager.user_id})).await);
        let jorg = id_of(&create(&app, &owner, json!({"name": "Jörg Müller", "phone": "+49 30 12345678"})).await);
        let pat = id_of(&create(&app, &owner, json!({"name": "Pat O'Brien", "email": "pat@obrien.ie"})).await);
        let q = |text: &'static str| [("q", text)];

        let cases: Vec<(&str, Vec<&String>)> = vec![
            ("john", vec![&john]),
            ("JOHN", vec![&john]),
            // Accents are ignored: `jo` starts Jörg too.
            ("jo", vec![&jorg, &joan, &john]),
            ("smith", vec![&joan, &john]),
            ("smith john", vec![&john]),
            ("  John   SMITH ", vec![&john]),
            ("acme", vec![&john]),
            ("com", vec![&john]),
            ("john.smith@acme.com", vec![&john]),
            ("smith@acme", vec![&john]),
            ("example", vec![&joan]),
            // Phones: the national digits and the E.164 digits are words.
            ("4155", vec![&john]),
            ("4155550100", vec![&john]),
            ("+1415", vec![&john]),
            ("3012", vec![&jorg]),
            ("555", vec![]),
            ("0100", vec![]),
            // Letters beyond ASCII.
            ("müller", vec![&jorg]),
            ("MÜL", vec![&jorg]),
            // Both ways: `jö` is read as `jo`.
            ("jö", vec![&jorg, &joan, &john]),
            // O'Brien holds `o` and `brien`; pat@obrien.ie holds `obrien`.
            ("brien", vec![&pat]),
            ("o", vec![&pat, &joan]),
            ("o brien", vec![&pat]),
            // Prefixes, not substrings; every word must match.
            ("mith", vec![]),
            ("ohn", vec![]),
            ("zzz", vec![]),
            ("john zzz", vec![]),
            ("AND", vec![]),
            ("OR NOT", vec![]),
        ];
        for (text, expected) in cases {
            let got = list_ids(&app, &owner, &[("q", text)]).await;
            let expected: Vec<String> = expected.into_iter().cloned().collect();
            assert_eq!(got, expected, "q={text:?}");
        }
        // Query syntax of either backend means nothing.
        for text in ["\"", "*", "john*", "jo:*", "(", "'", "john\" OR \"joan", "&|!", "-john", "NEAR(john smith)"] {
            let r = list(&app, &owner, &[("q", text)]).await;
            assert_eq!(r.status.as_u16(), 200, "q={text:?}: {}", r.body);
        }

        // Search respects the other filters and the sort.
        assert_eq!(list_ids(&app, &owner, &[("q", "smith"), ("owner_id", manager.user_id.as_str())]).await, [joan.as_str()]);
        assert_eq!(list_ids(&app, &owner, &[("q", "smith"), ("tag", "vip")]).await, [john.as_str()]);
        assert_eq!(list_ids(&app, &owner, &[("q", "jo"), ("sort", "name")]).await, [joan.clone(), john.clone(), jorg.clone()]);
        let pages = walk(&app, &owner, &[("q", "smith"), ("limit", "1")]).await;
        assert_eq!(pages, [vec![joan.as_str()], vec![john.as_str()]]);

        // Search follows changes and deletions.
        app.patch(&owner, &at(&john), json!({"name": "Jack Smith", "email": null})).await.assert(200);
        assert!(list_ids(&app, &owner, &q("john")).await.is_empty());
        assert!(list_ids(&app, &owner, &q("joh")).await.is_empty(), "the old terms are gone");
        assert!(list_ids(&app, &owner, &q("acme")).await.is_empty());
        assert!(list_ids(&app, &owner, &q("ac")).await.is_empty());
        assert_eq!(list_ids(&app, &owner, &q("ja sm")).await, [john.as_str()]);
        assert_eq!(list_ids(&app, &owner, &q("jack")).await, [john.as_str()]);
        assert_eq!(list_ids(&app, &owner, &q("4155")).await, [john.as_str()]);
        app.patch(&owner, &at(&john), json!({"phone": "+1 415 555 0199"})).await.assert(200);
        assert!(list_ids(&app, &owner, &q("4155550100")).await.is_empty());
        assert_eq!(list_ids(&app, &owner, &q("4155550199")).await, [john.as_str()]);
        app.delete(&owner, &at(&joan)).await.assert(204);
        assert_eq!(list_ids(&app, &owner, &q("smith")).await, [john.as_str()]);
        assert_eq!(list_ids(&app, &owner, &q("jo")).await, [jorg.as_str()], "a deleted contact's terms are gone");
    }

    async fn pages_visit_every_contact_exactly_once(app) {
        let ann = app.register("ann@example.com").await;
        // Equal names put page boundaries inside ties.
        let mut rows = Vec::new();
        for name in ["Kim", "Abe", "Kim", "Zoe", "Lee", "Kim", "Bea"] {
            let c = create(&app, &ann, json!({"name": name})).await;
            rows.push((name.to_string(), id_of(&c)));
        }
        let created: Vec<String> = rows.iter().map(|(_, id)| id.clone()).collect();
        let by_name = sorted_by(rows.clone());

        let pages = walk(&app, &ann, &[("limit", "2")]).await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2, 1]);
        assert_eq!(pages.concat(), reversed(created.clone()));
        let pages = walk(&app, &ann, &[("limit", "2"), ("sort", "-created_at")]).await;
        assert_eq!(pages.concat(), reversed(created.clone()));
        let pages = walk(&app, &ann, &[("limit", "2"), ("sort", "created_at")]).await;
        assert_eq!(pages.concat(), created);
        let pages = walk(&app, &ann, &[("limit", "2"), ("sort", "name")]).await;
        assert_eq!(pages.concat(), by_name);
        let pages = walk(&app, &ann, &[("limit", "1"), ("sort", "name")]).await;
        assert_eq!(pages.concat(), by_name);
        let pages = walk(&app, &ann, &[("limit", "2"), ("sort", "-name")]).await;
        assert_eq!(pages.concat(), reversed(by_name.clone()));
        let pages = walk(&app, &ann, &[("limit", "3"), ("sort", "updated_at")]).await;
        assert_eq!(pages.concat(), created);
        // Exactly one page's worth: no cursor; one more: a last page of one.
        assert_eq!(page(&app, &ann, &[("limit", "7")], None).await.1, None);
        let (first, next) = page(&app, &ann, &[("limit", "6")], None).await;
        assert_eq!(first.len(), 6);
        let (last, next) = page(&app, &ann, &[("limit", "6")], next.as_deref()).await;
        assert_eq!(last.len(), 1);
        assert_eq!(next, None);

        // Inserts in the middle of a walk: what existed is still visited once.
        for (sort, names) in [
            ("name", ["Aaa", "Kim", "Mia"]),
            ("-name", ["Zzz", "Kim", "Abc"]),
            ("-created_at", ["New1", "New2", "New3"]),
            ("created_at", ["Old1", "Old2", "Old3"]),
        ] {
            let existing = list_ids(&app, &ann, &[("sort", sort), ("limit", "200")]).await;
            let query = [("sort", sort), ("limit", "2")];
            let (mut seen, mut cursor) = page(&app, &ann, &query, None).await;
            let mut added = Vec::new();
            for name in names {
                added.push(id_of(&create(&app, &ann, json!({"name": name})).await));
                let (ids, next) = page(&app, &ann, &query, cursor.as_deref()).await;
                seen.extend(ids);
                cursor = next;
                if cursor.is_none() {
                    break;
                }
            }
            while let Some(c) = cursor {
                let (ids, next) = page(&app, &ann, &query, Some(&c)).await;
                seen.extend(ids);
                cursor = next;
            }
            assert_visits_once(&seen, &existing);
            match sort {
                // Newer than every page already read: not in this walk.
                "-created_at" => assert!(added.iter().all(|id| !seen.contains(id)), "{sort}"),
                // Older than nothing: at the end of this walk.
                "created_at" => assert!(added.iter().all(|id| seen.contains(id)), "{sort}"),
                _ => {}
            }
        }
        // A filtered walk.
        let pages = walk(&app, &ann, &[("q", "kim"), ("limit", "2"), ("sort", "name")]).await;
        let kims: Vec<String> = list_ids(&app, &ann, &[("q", "kim"), ("sort", "name")]).await;
        assert_eq!(kims.len(), 5);
        assert_eq!(pages.concat(), kims);
    }

    async fn idempotency_key_replays_the_first_create(app) {
        let ann = app.register("ann@example.com").await;
        let member = app.add_member(&ann, "mel@example.com", "member").await;
        let body = r#"{"name": "Ann Client", "email": "ann@client.com", "tags": ["a"]}"#;
        let first = post_with_key(&app, &ann, "key-1", body).await;
        first.assert(201);
        assert_eq!(first.header("idempotent-replayed"), None);
        let id = id_of(&first.body);

        let again = post_with_key(&app, &ann, "key-1", body).await;
        again.assert(201);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.header("etag"), Some("\"1\""));
        assert_eq!(again.body, first.body);
        // Equal JSON written another way is the same request.
        let again = post_with_key(&app, &ann, "key-1", r#"{"tags":["a"],"email":"ann@client.com","name":"Ann Client"}"#).await;
        again.assert(201);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body, first.body);
        assert_eq!(list_ids(&app, &ann, &[]).await, [id.as_str()]);
        // The first response, even after the contact changed.
        app.patch(&ann, &at(&id), json!({"title": "Changed"})).await.assert(200);
        let again = post_with_key(&app, &ann, "key-1", body).await;
        again.assert(201);
        assert_eq!(again.body, first.body);

        // Same key, another body.
        let r = post_with_key(&app, &ann, "key-1", r#"{"name": "Someone else"}"#).await;
        r.assert_problem(422, "idempotency_key_reused");
        let r = post_with_key(&app, &ann, "key-1", r#"{"name": "Ann Client", "email": "ann@client.com"}"#).await;
        r.assert_problem(422, "idempotency_key_reused");
        assert_eq!(list_ids(&app, &ann, &[]).await, [id.as_str()]);

        // Another key is another request (here: a duplicate).
        let r = post_with_key(&app, &ann, "key-2", body).await;
        r.assert_problem(409, "duplicate_contact");
        assert_eq!(r.body["existing_id"], id.as_str());
        // A failed request keeps nothing: retried with the same key it works.
        post_with_key(&app, &ann, "key-3", r#"{"name": ""}"#).await.assert_problem(422, "validation_failed");
        let r = post_with_key(&app, &ann, "key-3", r#"{"name": "Fixed"}"#).await;
        r.assert(201);
        assert_eq!(r.header("idempotent-replayed"), None);
        // Keys belong to a user.
        let r = post_with_key(&app, &member, "key-1", body).await;
        r.assert_problem(409, "duplicate_contact");
        let r = post_with_key(&app, &member, "key-1", r#"{"name": "Mel's"}"#).await;
        r.assert(201);
        assert_eq!(r.header("idempotent-replayed"), None);
        assert_eq!(r.body["owner_id"], member.user_id.as_str());
        // At most 255 characters.
        let r = post_with_key(&app, &ann, &"k".repeat(256), r#"{"name": "Long"}"#).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(list_ids(&app, &ann, &[]).await.len(), 3);
    }
}

both! {
    async fn required_fields_cannot_be_nulled_and_dates_are_exact(app) {
        let ann = app.register("ann@example.com").await;
        let c = create(&app, &ann, json!({"name": "John"})).await;
        assert_invalid(&app.patch(&ann, &at(&id_of(&c)), json!({"name": null})).await, "name");
        assert_invalid(&app.post(&ann, CONTACTS, json!({"name": "D", "customer_since": "2024-3-1"})).await, "customer_since");
        assert_invalid(&app.post(&ann, CONTACTS, json!({"name": "D", "customer_since": "+2024-03-01"})).await, "customer_since");
    }

    async fn concurrent_duplicates_all_name_the_existing_contact(app) {
        let ann = app.register("ann@example.com").await;
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..6 {
            let request = app.as_user(&ann, Method::POST, CONTACTS).json(&json!({"name": format!("Same {i}"), "email": "same@example.com"}));
            requests.spawn(send(request));
        }
        let mut created = Vec::new();
        let mut conflicts = Vec::new();
        while let Some(answer) = requests.join_next().await {
            let r = answer.unwrap();
            match r.status.as_u16() {
                201 => created.push(r.body["id"].clone()),
                409 => conflicts.push(r),
                other => panic!("unexpected {other}: {}", r.body),
            }
        }
        assert_eq!(created.len(), 1);
        for r in conflicts {
            assert_eq!(r.code(), "duplicate_contact");
            assert_eq!(r.body["existing_id"], created[0], "{}", r.body);
        }
    }
}

/// Inserts `n` contacts straight into the database (an HTTP loop would take
/// minutes): contact `i` is named `C{i}`, every second one tagged `common`,
/// created one second apart, with `search` (SQL of `i`) as its search text.
pub(crate) async fn insert_contacts(app: &TestApp, s: &Session, n: i64, search: &str) {
    let org = uuid::Uuid::parse_str(&s.org_id).unwrap();
    let owner = uuid::Uuid::parse_str(&s.user_id).unwrap();
    let (contacts, tags) = match app.backend {
        // Times in sqlx's text form (RFC 3339, fractional digits only when
        // needed), the one the server compares its bound keys with.
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $3) \
             INSERT INTO contacts (organization_id, id, owner_id, name, tags, search_text, created_at, updated_at, version) \
             SELECT $1, randomblob(16), $2, 'C' || i, CASE WHEN i % 2 = 0 THEN '[\"common\"]' ELSE '[]' END, {search}, \
             strftime('%Y-%m-%dT%H:%M:%S', '2026-01-01', '+' || i || ' seconds') || '+00:00', \
             strftime('%Y-%m-%dT%H:%M:%S', '2026-01-01', '+' || i || ' seconds') || '+00:00', 1 FROM n"
            ),
            "INSERT INTO record_tags (organization_id, record_type, tag, record_id, owner_id) \
             SELECT organization_id, 'contact', 'common', id, owner_id FROM contacts WHERE organization_id = $1 AND tags LIKE '%common%'",
        ),
        Backend::Postgres => (
            format!(
                "INSERT INTO contacts (organization_id, id, owner_id, name, tags, search_text, created_at, updated_at, version) \
             SELECT $1, gen_random_uuid(), $2, 'C' || i, CASE WHEN i % 2 = 0 THEN '[\"common\"]'::jsonb ELSE '[]'::jsonb END, {search}, \
             TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 second', TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL '1 second', 1 \
             FROM generate_series(1, $3::bigint) AS i"
            ),
            "INSERT INTO record_tags (organization_id, record_type, tag, record_id, owner_id) \
             SELECT organization_id, 'contact', 'common', id, owner_id FROM contacts WHERE organization_id = $1 AND tags ? 'common'",
        ),
    };
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query(&contacts)
                .bind(org)
                .bind(owner)
                .bind(n)
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query(tags).bind(org).execute(&pool).await.unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            sqlx::query(&contacts)
                .bind(org)
                .bind(owner)
                .bind(n)
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query(tags).bind(org).execute(&pool).await.unwrap();
            // What autovacuum does within a minute of a bulk write. A term
            // table that was never analyzed gets row estimates of 1, and the
            // merge's generic plan becomes a nested loop over a whole term
            // range per row: quadratic, a 30 s timeout at 10,000 rows.
            sqlx::query("ANALYZE contacts, contact_terms, record_tags")
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

/// Runs `sql` on the app's database directly (as a migration would).
pub(crate) async fn run_sql(app: &TestApp, sql: &str) {
    match app.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        }
    }
}

both! {
    async fn search_ignores_accents_and_takes_symbols_literally(app) {
        let ann = app.register("ann@example.com").await;
        let muller = create(&app, &ann, json!({"name": "Jürgen Müller", "email": "jm@example.com"})).await;
        let obrien = create(&app, &ann, json!({"name": "Siobhán O'Brien"})).await;
        create(&app, &ann, json!({"name": "Plain Person"})).await;
        for q in ["muller", "MÜLLER", "mül", "jurgen mu"] {
            assert_eq!(list_ids(&app, &ann, &[("q", q)]).await, [id_of(&muller)], "{q}");
        }
        assert_eq!(list_ids(&app, &ann, &[("q", "siobhan o'brien")]).await, [id_of(&obrien)]);
        // Symbols alone are no wildcard: they match nothing.
        for q in ["%", "'", "%%", "_"] {
            assert!(list_ids(&app, &ann, &[("q", q)]).await.is_empty(), "{q}");
        }
        // Companies and deals fold too.
        let company = app.post(&ann, "/api/v1/companies", json!({"name": "Société Générale"})).await;
        let found = app.get(&ann, "/api/v1/companies?q=societe%20gen").await;
        assert_eq!(found.body["data"][0]["id"], company.body["id"]);
        let deal = app.post(&ann, "/api/v1/deals", json!({"title": "Crème brûlée supply", "contact_id": muller["id"]})).await;
        let found = app.get(&ann, "/api/v1/deals?q=creme%20brulee").await;
        assert_eq!(found.body["data"][0]["id"], deal.body["id"]);

        // A contact stored before accents were folded (its search text without
        // the folded words) is found once the migration has folded it.
        let migration = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/20261207000020_accent_free_search.sql"));
        let migration_pg = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres/20261207000020_accent_free_search.sql"));
        run_sql(&app, "UPDATE contacts SET search_text = 'jürgen müller jm example com jü jür mü mül ex exa co com'").await;
        assert!(list_ids(&app, &ann, &[("q", "muller")]).await.is_empty(), "the old text has no folded words");
        run_sql(&app, if app.backend == Backend::Sqlite { migration } else { migration_pg }).await;
        assert_eq!(list_ids(&app, &ann, &[("q", "muller")]).await.len(), 3, "every row now holds the folded words");
    }

    async fn a_common_tag_pages_in_order(app) {
        // 6,000 tagged contacts: SQLite walks the sort index instead of
        // reading every tagged row (records::TagFilter); the pages must be
        // the same either way.
        let s = app.register("tags@example.com").await;
        insert_contacts(&app, &s, 12_000, "'c' || i").await;
        let mut names = Vec::new();
        let mut cursor = String::new();
        for _ in 0..3 {
            let page = app.get(&s, &format!("/api/v1/contacts?tag=common&limit=200{cursor}")).await;
            page.assert(200);
            for c in page.body["data"].as_array().unwrap() {
                assert_eq!(c["tags"], json!(["common"]));
                names.push(c["name"].as_str().unwrap().to_string());
            }
            cursor = format!("&cursor={}", page.body["next_cursor"].as_str().unwrap());
        }
        let expected: Vec<String> = (0..600).map(|k| format!("C{}", 12_000 - 2 * k)).collect();
        assert_eq!(names, expected, "newest first, every second contact");
        // Oldest first, from the other end.
        let page = app.get(&s, "/api/v1/contacts?tag=common&sort=created_at&limit=3").await;
        let first: Vec<&str> = page.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(first, ["C2", "C4", "C6"]);
    }

    async fn search_pages_match_the_words_in_list_order(app) {
        // 20,000 contacts whose words repeat with different periods, so word
        // pairs match from a few dozen to thousands of contacts. A search
        // intersects the words' term lists (contact_terms), checks long words
        // and other filters row by row, and leaves a page it cannot fill from
        // 2,000 candidates to the full-text index; every way must give the
        // same pages as a plain scan.
        let s = app.register("terms@example.com").await;
        let n = 20_000;
        let (k, m) = ("'k' || (i % 5) || 'a'", "'m' || (i % 17) || 'zz'");
        // `lo` is in each of the newest 10,000 contacts and `sk` in none of
        // them: a search for both finds nothing in that run before its first
        // match. `ev` and `od` each hold half the contacts and share only every
        // 1,000th. Both shapes are where a merge does the most work for the
        // fewest matches (docs/performance.md, run 6), and where an
        // intersection that skips ahead would be most likely to go wrong.
        let skew = "CASE WHEN i > 10000 OR i % 3 = 0 THEN ' lo' ELSE '' END || CASE WHEN i <= 10000 AND i % 7 = 0 THEN ' sk' ELSE '' END \
                    || CASE WHEN i % 2 = 0 THEN ' ev' ELSE '' END || CASE WHEN i % 2 = 1 OR i % 1000 = 0 THEN ' od' ELSE '' END";
        let search = format!(
            "'common ' || {k} || ' ' || {m} || ' co com ' || substr({k}, 1, 2) || ' ' || substr({m}, 1, 2) || ' ' || substr({m}, 1, 3) || {skew}"
        );
        insert_contacts(&app, &s, n, &search).await;
        // Another organization with the same words sees only its own contact.
        let other = app.register("other-terms@example.com").await;
        let theirs = id_of(&create(&app, &other, json!({"name": "k3a m12zz", "email": "common@example.com"})).await);
        assert_eq!(list_ids(&app, &other, &[("q", "k3 m12")]).await, [theirs]);

        let names = |pred: &dyn Fn(i64) -> bool| -> Vec<String> { (1..=n).rev().filter(|&i| pred(i)).map(|i| format!("C{i}")).collect() };
        let before_1000 = "2026-01-01T00:16:40Z"; // contact 1000's creation time
        type Query<'a> = Vec<(&'a str, &'a str)>;
        let cases: Vec<(Query, Vec<String>)> = vec![
            // Terms alone (2-3 characters): the intersection is the answer.
            (vec![("q", "k3 m12")], names(&|i| i % 5 == 3 && i % 17 == 12)),
            (vec![("q", "m1")], names(&|i| [1, 10, 11, 12, 13, 14, 15, 16].contains(&(i % 17)))),
            // One term's newest 10,000 contacts lack the other term.
            (vec![("q", "lo sk")], names(&|i| i <= 10000 && i % 21 == 0)),
            (vec![("q", "sk lo k3")], names(&|i| i <= 10000 && i % 21 == 0 && i % 5 == 3)),
            (vec![("q", "lo m12")], names(&|i| (i > 10000 || i % 3 == 0) && i % 17 == 12)),
            (vec![("q", "com sk")], names(&|i| i <= 10000 && i % 7 == 0)),
            // Two large lists with few matches in common.
            (vec![("q", "ev od")], names(&|i| i % 1000 == 0)),
            (vec![("q", "ev od k3")], names(&|i| i % 1000 == 0 && i % 5 == 3)),
            (vec![("q", "od ev"), ("tag", "common")], names(&|i| i % 1000 == 0)),
            // A long word is checked row by row.
            (vec![("q", "k3a m12z")], names(&|i| i % 5 == 3 && i % 17 == 12)),
            (vec![("q", "m12zq")], vec![]),
            // Candidates run out of the 2,000 before a page is full: the rest
            // comes from the full-text path, after the last candidate.
            (vec![("q", "commonx")], vec![]),
            (vec![("q", "commo k3a"), ("created_before", before_1000)], names(&|i| i % 5 == 3 && i < 1000)),
            (vec![("q", "k3 m1"), ("tag", "common")], names(&|i| i % 5 == 3 && i % 2 == 0 && [1, 10, 11, 12, 13, 14, 15, 16].contains(&(i % 17)))),
        ];
        for (query, expected) in cases {
            let mut got: Vec<String> = Vec::new();
            let mut cursor = String::new();
            loop {
                let mut url = String::from("/api/v1/contacts?limit=100");
                for (key, value) in &query {
                    url.push_str(&format!("&{key}={}", value.replace(' ', "%20")));
                }
                let r = app.get(&s, &format!("{url}{cursor}")).await;
                r.assert(200);
                got.extend(r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()));
                match r.body["next_cursor"].as_str() {
                    Some(next) => cursor = format!("&cursor={next}"),
                    None => break,
                }
                assert!(got.len() <= n as usize, "the walk does not end");
            }
            assert_eq!(got.len(), expected.len(), "{query:?}");
            assert_eq!(got, expected, "{query:?}");
        }
        // Oldest first.
        let r = app.get(&s, "/api/v1/contacts?q=k3%20m12&sort=created_at&limit=2").await;
        let first: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(first, ["C63", "C148"]);
        let r = app.get(&s, "/api/v1/contacts?q=lo%20sk&sort=created_at&limit=2").await;
        let first: Vec<&str> = r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(first, ["C21", "C42"]);
    }
}
