//! Tenancy (api.md §1): for every endpoint that takes an id, and every role,
//! another organization's id answers exactly as an id that does not exist —
//! 404 for records — and changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

/// Ids of one of each record type in an organization.
struct Records {
    contact: String,
    company: String,
    pipeline: String,
    deal: String,
    task: String,
    member: String,
    invitation: String,
    import: String,
    conflict: String,
    lead: String,
    form: String,
    property: String,
    custom_field: String,
    view: String,
}

async fn id(r: Resp) -> String {
    r.assert(201);
    r.body["id"].as_str().unwrap().to_string()
}

async fn seed(app: &TestApp, owner: &Session) -> Records {
    let company = id(app.post(owner, "/api/v1/companies", json!({"name": "Co"})).await).await;
    let contact = id(app
        .post(owner, "/api/v1/contacts", json!({"name": "C", "company_id": company}))
        .await)
    .await;
    let pipeline = id(app
        .post(
            owner,
            "/api/v1/pipelines",
            json!({"name": "P", "stages": [{"key": "a", "name": "A"}]}),
        )
        .await)
    .await;
    let deal = id(app
        .post(owner, "/api/v1/deals", json!({"title": "D", "contact_id": contact}))
        .await)
    .await;
    let task = id(app
        .post(owner, "/api/v1/tasks", json!({"title": "T", "deal_id": deal}))
        .await)
    .await;
    let member = app
        .add_member(owner, &format!("m{}@example.com", &owner.user_id[..8]), "member")
        .await
        .user_id;
    let invitation = id(app
        .post(
            owner,
            "/api/v1/invitations",
            json!({"email": "pending@example.com", "role": "member"}),
        )
        .await)
    .await;
    // An import whose row conflicts with the contact's name: one conflict.
    let csv = "name,email\nChanged,c@example.com\n";
    app.patch(
        owner,
        &format!("/api/v1/contacts/{contact}"),
        json!({"email": "c@example.com"}),
    )
    .await
    .assert(200);
    let started = crate::imports::upload(app, owner, "c.csv", csv.as_bytes().to_vec(), &[("object", "contacts")]).await;
    started.assert(202);
    let import = started.body["id"].as_str().unwrap().to_string();
    crate::imports::finished(app, owner, &import).await;
    let conflict = app.get(owner, "/api/v1/import-conflicts").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lead = id(app
        .post(owner, "/api/v1/leads", json!({"name": "L", "email": "l@example.com"}))
        .await)
    .await;
    let form = id(app
        .post(
            owner,
            "/api/v1/forms",
            json!({"name": "F", "fields": [{"key": "name", "label": "Name"}]}),
        )
        .await)
    .await;
    let property = id(app.post(owner, "/api/v1/properties", json!({"title": "P"})).await).await;
    let custom_field = id(app
        .post(
            owner,
            "/api/v1/custom-fields",
            json!({"object": "contacts", "key": "size", "label": "Size", "type": "number"}),
        )
        .await)
    .await;
    let view = id(app
        .post(
            owner,
            "/api/v1/views",
            json!({"object": "contacts", "name": "All of them", "shared": true}),
        )
        .await)
    .await;
    Records {
        custom_field,
        view,
        property,
        form,
        lead,
        contact,
        company,
        pipeline,
        deal,
        task,
        member,
        invitation,
        import,
        conflict,
    }
}

/// Endpoints for managers and above: a member's 403 comes before any id is
/// looked at.
fn managers_only(path: &str) -> bool {
    path.starts_with("/api/v1/import")
}

/// Endpoints for admins and owners: a manager's or member's 403 comes
/// first.
fn admins_only(path: &str) -> bool {
    path.starts_with("/api/v1/forms")
}

/// (method, path, body) of every endpoint that takes an id.
fn endpoints(r: &Records) -> Vec<(Method, String, Option<Value>)> {
    let patch = Some(json!({"name": "Changed"}));
    vec![
        (Method::GET, format!("/api/v1/contacts/{}", r.contact), None),
        (
            Method::PUT,
            format!("/api/v1/contacts/{}", r.contact),
            Some(json!({"name": "Changed"})),
        ),
        (Method::PATCH, format!("/api/v1/contacts/{}", r.contact), patch.clone()),
        (Method::GET, format!("/api/v1/contacts/{}/activities", r.contact), None),
        (
            Method::POST,
            format!("/api/v1/contacts/{}/activities", r.contact),
            Some(json!({"text": "hi"})),
        ),
        (Method::GET, format!("/api/v1/companies/{}", r.company), None),
        (Method::PATCH, format!("/api/v1/companies/{}", r.company), patch.clone()),
        (Method::GET, format!("/api/v1/pipelines/{}", r.pipeline), None),
        (
            Method::PATCH,
            format!("/api/v1/pipelines/{}", r.pipeline),
            patch.clone(),
        ),
        (Method::GET, format!("/api/v1/deals/{}", r.deal), None),
        (
            Method::PATCH,
            format!("/api/v1/deals/{}", r.deal),
            Some(json!({"title": "Changed"})),
        ),
        (Method::GET, format!("/api/v1/deals/{}/activities", r.deal), None),
        (
            Method::POST,
            format!("/api/v1/deals/{}/activities", r.deal),
            Some(json!({"text": "hi"})),
        ),
        (Method::GET, format!("/api/v1/tasks/{}", r.task), None),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{}", r.task),
            Some(json!({"title": "Changed"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/members/{}", r.member),
            Some(json!({"role": "manager"})),
        ),
        (Method::DELETE, format!("/api/v1/members/{}", r.member), None),
        (Method::DELETE, format!("/api/v1/invitations/{}", r.invitation), None),
        (Method::DELETE, format!("/api/v1/tasks/{}", r.task), None),
        (Method::DELETE, format!("/api/v1/deals/{}", r.deal), None),
        (Method::DELETE, format!("/api/v1/contacts/{}", r.contact), None),
        (Method::DELETE, format!("/api/v1/companies/{}", r.company), None),
        (Method::DELETE, format!("/api/v1/pipelines/{}", r.pipeline), None),
        (Method::GET, format!("/api/v1/leads/{}", r.lead), None),
        (Method::PATCH, format!("/api/v1/leads/{}", r.lead), patch.clone()),
        (Method::GET, format!("/api/v1/leads/{}/activities", r.lead), None),
        (
            Method::POST,
            format!("/api/v1/leads/{}/activities", r.lead),
            Some(json!({"text": "hi"})),
        ),
        (
            Method::POST,
            format!("/api/v1/leads/{}/convert", r.lead),
            Some(json!({"deal": {"title": "Won"}})),
        ),
        (Method::DELETE, format!("/api/v1/leads/{}", r.lead), None),
        (Method::GET, format!("/api/v1/properties/{}", r.property), None),
        (
            Method::PATCH,
            format!("/api/v1/properties/{}", r.property),
            Some(json!({"title": "Q"})),
        ),
        (Method::DELETE, format!("/api/v1/properties/{}", r.property), None),
        (
            Method::GET,
            format!("/api/v1/leads/{}/matching-properties", r.lead),
            None,
        ),
        (Method::GET, format!("/api/v1/forms/{}", r.form), None),
        (
            Method::PUT,
            format!("/api/v1/forms/{}", r.form),
            Some(json!({"name": "G", "fields": [{"key": "name", "label": "Name"}]})),
        ),
        (Method::DELETE, format!("/api/v1/forms/{}", r.form), None),
        (Method::GET, format!("/api/v1/custom-fields/{}", r.custom_field), None),
        (
            Method::PATCH,
            format!("/api/v1/custom-fields/{}", r.custom_field),
            Some(json!({"label": "Changed"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/custom-fields/{}", r.custom_field),
            None,
        ),
        (Method::GET, format!("/api/v1/views/{}", r.view), None),
        (
            Method::PATCH,
            format!("/api/v1/views/{}", r.view),
            Some(json!({"name": "Changed"})),
        ),
        (Method::DELETE, format!("/api/v1/views/{}", r.view), None),
        (Method::GET, format!("/api/v1/imports/{}", r.import), None),
        (
            Method::POST,
            format!("/api/v1/import-conflicts/{}/resolve", r.conflict),
            Some(json!({"choice": "incoming"})),
        ),
        (
            Method::POST,
            "/api/v1/import-conflicts/resolve".to_string(),
            Some(json!({"ids": [r.conflict], "choice": "keep"})),
        ),
    ]
}

async fn call(app: &TestApp, s: &Session, method: &Method, path: &str, body: &Option<Value>) -> Resp {
    let mut request = app.as_user(s, method.clone(), path);
    if let Some(body) = body {
        request = request.json(body);
    }
    send(request).await
}

both! {
    async fn another_organizations_ids_answer_as_if_they_did_not_exist(app) {
        let alice = app.register("alice@example.com").await;
        let bob = app.register("bob@example.com").await;
        let theirs = seed(&app, &bob).await;
        let before: Vec<Value> = {
            let mut all = Vec::new();
            for (method, path, _) in endpoints(&theirs) {
                if method == Method::GET {
                    let r = app.get(&bob, &path).await;
                    r.assert(200);
                    all.push(r.body);
                }
            }
            all
        };

        let mut callers = vec![("owner", alice.clone())];
        for role in ["admin", "manager", "member"] {
            callers.push((role, app.add_member(&alice, &format!("{role}@example.com"), role).await));
        }
        let random = uuid::Uuid::now_v7().to_string();
        for (role, caller) in &callers {
            for (method, path, body) in endpoints(&theirs) {
                let foreign = call(&app, caller, &method, &path, &body).await;
                let missing_of = |text: &str| text.replace(&theirs.contact, &random).replace(&theirs.company, &random)
                    .replace(&theirs.pipeline, &random).replace(&theirs.deal, &random).replace(&theirs.task, &random)
                    .replace(&theirs.member, &random).replace(&theirs.invitation, &random)
                    .replace(&theirs.import, &random).replace(&theirs.conflict, &random)
                    .replace(&theirs.lead, &random).replace(&theirs.form, &random)
                    .replace(&theirs.property, &random).replace(&theirs.custom_field, &random)
                    .replace(&theirs.view, &random);
                let missing_body = body.as_ref().map(|b| serde_json::from_str(&missing_of(&b.to_string())).unwrap());
                let missing = call(&app, caller, &method, &missing_of(&path), &missing_body).await;
                assert_eq!(
                    (foreign.status, foreign.code()), (missing.status, missing.code()),
                    "{role} {method} {path}: another organization's id must answer like a missing one"
                );
                assert!(foreign.status == 404 || foreign.status == 403, "{role} {method} {path}: {}", foreign.status);
                let refused_first = (managers_only(&path) && *role == "member")
                    || (admins_only(&path) && (*role == "member" || *role == "manager"));
                if (method == Method::GET && !refused_first) || *role == "owner" || *role == "admin" {
                    foreign.assert_problem(404, "not_found");
                }
            }
        }

        // Bulk actions naming another organization's ids match nothing.
        for (path, id) in [
            ("contacts", &theirs.contact),
            ("companies", &theirs.company),
            ("deals", &theirs.deal),
            ("leads", &theirs.lead),
            ("tasks", &theirs.task),
            ("properties", &theirs.property),
        ] {
            for action in [json!({"action": "delete"}), json!({"action": "add_tags", "tags": ["x"]})] {
                let mut body = action;
                body["ids"] = json!([id]);
                let r = app.post(&alice, &format!("/api/v1/{path}/bulk"), body).await;
                r.assert(200);
                assert_eq!((r.body["matched"].as_u64(), r.body["changed"].as_u64()), (Some(0), Some(0)), "{path}");
            }
        }

        // Nothing of Bob's changed.
        let mut after = Vec::new();
        for (method, path, _) in endpoints(&theirs) {
            if method == Method::GET {
                after.push(app.get(&bob, &path).await.body);
            }
        }
        assert_eq!(before, after);
        let members = app.get(&bob, "/api/v1/members").await;
        assert_eq!(members.body["data"].as_array().unwrap().len(), 2);
        assert_eq!(app.get(&bob, "/api/v1/invitations").await.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(app.get(&bob, "/api/v1/import-conflicts?status=open").await.body["data"].as_array().unwrap().len(), 1);
    }
}
