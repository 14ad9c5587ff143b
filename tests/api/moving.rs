//! Moving an organization between instances (data.md "Export", issue 15
//! item 6): `crm export --org` on the embedded SQLite file, `crm import-org`
//! into PostgreSQL, and every API read of the organization's data answers
//! the same on both, for each member. A restore that cannot apply a line
//! writes nothing.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

/// Runs `crm ARGS` on `database_url`; its standard output, or a panic with
/// its standard error.
fn crm(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_crm"));
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("CRM_DATA_DIR", dir.path())
        .env("CRM_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn succeeded(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An organization with some of everything: settings, members of each
/// role with a time zone, a second pipeline, companies, contacts (tags,
/// phones, a likely duplicate), deals moved, won, lost and reopened, tasks,
/// comments and a call.
async fn fill(app: &TestApp) -> (Session, Vec<Session>) {
    let ann = app.register("ann@example.com").await;
    app.patch(&ann, "/api/v1/organization", json!({"default_currency": "EUR", "default_country": "DE", "lost_reasons": ["Price", "Timing"], "member_visibility": "own"}))
        .await
        .assert(200);
    app.patch(&ann, "/api/v1/auth/me", json!({"time_zone": "Europe/Paris"}))
        .await
        .assert(200);
    let max = app.add_member(&ann, "max@example.com", "manager").await;
    let mel = app.add_member(&ann, "mel@example.com", "member").await;
    let renewals = app
        .post(&ann, "/api/v1/pipelines", json!({"name": "Renewals", "stages": [{"key": "contacted", "name": "Contacted", "probability": 20}, {"key": "quoted", "name": "Quoted"}]}))
        .await;
    renewals.assert(201);

    let acme = app.post(&ann, "/api/v1/companies", json!({"name": "Acme GmbH", "domain": "acme.de", "industry": "Tools", "employee_count": 40, "tags": ["key"]})).await;
    let globex = app.post(&mel, "/api/v1/companies", json!({"name": "Globex"})).await;
    let mut contacts = Vec::new();
    for (who, body) in [
        (
            &ann,
            json!({"name": "Jörg Müller", "email": "jorg@acme.de", "phone": "030 1234567", "company_id": acme.body["id"], "tags": ["vip", "berlin"], "customer_since": "2024-03-01"}),
        ),
        (
            &ann,
            json!({"name": "Jorg Muller", "email": "j.muller@acme.de", "company_id": acme.body["id"]}),
        ),
        (
            &mel,
            json!({"name": "Mia Wong", "email": "mia@globex.com", "company_id": globex.body["id"], "lead_source": "web", "tags": ["vip"]}),
        ),
        (
            &max,
            json!({"name": "Sam Ortiz", "phone": "+14155550100", "title": "CTO"}),
        ),
    ] {
        let r = app.post(who, "/api/v1/contacts", body).await;
        r.assert(201);
        contacts.push(r.body["id"].as_str().unwrap().to_string());
    }
    let deal = |who: &Session, body: Value| {
        let who = who.clone();
        async move {
            let r = app.post(&who, "/api/v1/deals", body).await;
            r.assert(201);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let won = deal(&ann, json!({"title": "Acme tools", "contact_id": contacts[0], "company_id": acme.body["id"], "amount": "1200.50", "tags": ["q4"]})).await;
    app.patch(
        &ann,
        &format!("/api/v1/deals/{won}"),
        json!({"stage": "negotiation", "status": "in_progress"}),
    )
    .await
    .assert(200);
    app.patch(&ann, &format!("/api/v1/deals/{won}"), json!({"status": "won"}))
        .await
        .assert(200);
    let lost = deal(
        &mel,
        json!({"title": "Globex pilot", "contact_id": contacts[2], "amount": "300", "currency": "USD"}),
    )
    .await;
    app.patch(
        &mel,
        &format!("/api/v1/deals/{lost}"),
        json!({"stage": "proposal", "status": "in_progress"}),
    )
    .await
    .assert(200);
    app.patch(
        &mel,
        &format!("/api/v1/deals/{lost}"),
        json!({"status": "lost", "lost_reason": "Price"}),
    )
    .await
    .assert(200);
    let reopened = deal(&max, json!({"title": "Sam's renewal", "contact_id": contacts[3], "pipeline_id": renewals.body["id"], "expected_close_date": "2027-01-15"})).await;
    app.patch(
        &max,
        &format!("/api/v1/deals/{reopened}"),
        json!({"stage": "quoted", "status": "in_progress"}),
    )
    .await
    .assert(200);
    app.patch(
        &max,
        &format!("/api/v1/deals/{reopened}"),
        json!({"status": "lost", "lost_reason": "Timing"}),
    )
    .await
    .assert(200);
    app.post(&max, &format!("/api/v1/deals/{reopened}/reopen"), json!({}))
        .await
        .assert(200);
    deal(&mel, json!({"title": "Open one", "contact_id": contacts[2]})).await;

    app.post(
        &ann,
        &format!("/api/v1/contacts/{}/activities", contacts[0]),
        json!({"text": "Met at the fair"}),
    )
    .await
    .assert(201);
    app.post(
        &ann,
        &format!("/api/v1/deals/{won}/activities"),
        json!({"type": "call", "text": "Closing call", "occurred_at": "2026-11-30T15:00:00+01:00"}),
    )
    .await
    .assert(201);
    let task = app.post(&ann, "/api/v1/tasks", json!({"title": "Send invoice", "deal_id": won, "assignee_id": mel.user_id, "due_date": "2026-12-20T09:00:00Z", "tags": ["billing"]})).await;
    task.assert(201);
    app.patch(
        &mel,
        &format!("/api/v1/tasks/{}", task.body["id"].as_str().unwrap()),
        json!({"is_done": true}),
    )
    .await
    .assert(200);
    app.post(
        &mel,
        "/api/v1/tasks",
        json!({"title": "Call Mia", "contact_id": contacts[2]}),
    )
    .await
    .assert(201);
    // A listing sold through a won deal, and one still available.
    let villa = app
        .post(
            &ann,
            "/api/v1/properties",
            json!({"title": "Villa Sol", "property_type": "villa", "price": "450000", "bedrooms": 4,
            "address": {"city": "Lisbon", "country": "PT"}, "latitude": 38.7, "seller_contact_id": contacts[0]}),
        )
        .await;
    villa.assert(201);
    app.post(
        &ann,
        "/api/v1/properties",
        json!({"title": "Flat Mar", "listing_type": "rent", "price": "1500", "address": {"city": "Porto"}}),
    )
    .await
    .assert(201);
    let sale = deal(
        &ann,
        json!({"title": "Villa sale", "contact_id": contacts[1], "amount": "450000", "property_id": villa.body["id"]}),
    )
    .await;
    app.patch(&ann, &format!("/api/v1/deals/{sale}"), json!({"status": "in_progress"}))
        .await
        .assert(200);
    app.patch(&ann, &format!("/api/v1/deals/{sale}"), json!({"status": "won"}))
        .await
        .assert(200);
    // Leads: the organization's own source weights, one open lead with a
    // comment, one converted with a deal.
    app.patch(
        &ann,
        "/api/v1/lead-scoring",
        json!({"source_weights": {"referral": 35, "fair": 12}}),
    )
    .await
    .assert(200);
    let open = app
        .post(
            &mel,
            "/api/v1/leads",
            json!({"name": "Open Lead", "email": "open@lead.example", "source": "referral",
        "utm": {"source": "news"}, "preferences": {"budget_max": "300000", "locations": ["Lisbon"]}}),
        )
        .await;
    open.assert(201);
    app.post(
        &mel,
        &format!("/api/v1/leads/{}/activities", open.body["id"].as_str().unwrap()),
        json!({"text": "Called"}),
    )
    .await
    .assert(201);
    let gone = app
        .post(
            &ann,
            "/api/v1/leads",
            json!({"name": "Won Lead", "company_name": "Acme GmbH", "phone": "+14155550177"}),
        )
        .await;
    app.post(
        &ann,
        &format!("/api/v1/leads/{}/convert", gone.body["id"].as_str().unwrap()),
        json!({"deal": {"amount": "99"}}),
    )
    .await
    .assert(200);
    (ann, vec![max, mel])
}

/// Every read of the organization's data a member can make, by path: the
/// lists (with filters, sorts and search), each record, its timeline, the
/// analytics, the CSV and JSON exports.
async fn reads(app: &TestApp, s: &Session) -> Vec<(String, Value)> {
    let mut paths: Vec<String> = [
        "/api/v1/auth/me",
        "/api/v1/organizations/me",
        "/api/v1/organization",
        "/api/v1/members",
        "/api/v1/pipelines",
        "/api/v1/tags",
        "/api/v1/contacts",
        "/api/v1/contacts?sort=name",
        "/api/v1/contacts?sort=-updated_at",
        "/api/v1/contacts?q=mul",
        "/api/v1/contacts?q=acme",
        "/api/v1/contacts?tag=vip",
        "/api/v1/companies",
        "/api/v1/companies?q=glob",
        "/api/v1/deals",
        "/api/v1/deals?status=lost",
        "/api/v1/deals?sort=-amount",
        "/api/v1/deals?q=renewal",
        "/api/v1/tasks",
        "/api/v1/tasks?is_done=true",
        "/api/v1/leads",
        "/api/v1/leads?sort=-score",
        "/api/v1/lead-scoring",
        "/api/v1/properties",
        "/api/v1/properties?city=LISBON&sort=-price",
        "/api/v1/analytics/deals/funnel",
        "/api/v1/analytics/deals/summary",
        "/api/v1/contacts/duplicates",
        "/api/v1/companies/duplicates",
    ]
    .map(String::from)
    .to_vec();
    for (list, one) in [
        ("/api/v1/contacts", Some("activities")),
        ("/api/v1/companies", None),
        ("/api/v1/deals", Some("activities")),
        ("/api/v1/tasks", None),
        ("/api/v1/leads", Some("activities")),
        ("/api/v1/leads", Some("matching-properties")),
        ("/api/v1/properties", None),
        ("/api/v1/pipelines", None),
    ] {
        for record in app.get(s, list).await.body["data"].as_array().unwrap() {
            let id = record["id"].as_str().unwrap();
            paths.push(format!("{list}/{id}"));
            if let Some(timeline) = one {
                paths.push(format!("{list}/{id}/{timeline}"));
            }
        }
    }
    for export in ["contacts", "companies", "deals", "tasks", "leads", "properties"] {
        paths.push(format!("/api/v1/{export}/export"));
    }
    paths.push("/api/v1/organization/export".into());
    let mut answers = Vec::new();
    for path in paths {
        let r = app.get(s, &path).await;
        answers.push((format!("{path} → {}", r.status), r.body));
    }
    answers
}

#[tokio::test]
async fn an_organization_moves_from_sqlite_to_postgres_and_reads_the_same() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL run skipped");
        return;
    }
    let source = TestApp::spawn(Backend::Sqlite).await;
    let (ann, others) = fill(&source).await;

    let export = succeeded(crm(&source.database_url, &["export", "--org", &ann.org_id], &[]));
    let deal_line = export.lines().find(|l| l.contains("\"type\":\"deal\"")).unwrap();
    assert!(
        deal_line.contains("\"restore\":{") && deal_line.contains("\"furthest_position\":"),
        "{deal_line}"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &export).unwrap();

    let target = TestApp::spawn(Backend::Postgres).await;
    let out = succeeded(crm(
        &target.database_url,
        &["import-org", file.path().to_str().unwrap()],
        &[],
    ));
    assert!(
        out.contains(&format!("({})", ann.org_id)) && out.contains("contacts: 5") && out.contains("leads: 2"),
        "{out}"
    );

    // Restored accounts have no password until one is set.
    async fn login(app: &TestApp, email: &str) -> Resp {
        app.post_public("/api/v1/auth/login", json!({"email": email, "password": PASSWORD}))
            .await
    }
    login(&target, "ann@example.com")
        .await
        .assert_problem(401, "invalid_credentials");
    for who in std::iter::once(&ann).chain(&others) {
        succeeded(crm(
            &target.database_url,
            &["user", "set-password", "--email", &who.email],
            &[("CRM_USER_PASSWORD", PASSWORD)],
        ));
        let moved = login(&target, &who.email).await;
        moved.assert(200);
        let mut moved = session_from(&moved.body);
        assert_eq!(moved.org_id, ann.org_id);
        moved.org_id = ann.org_id.clone();
        let mut here = session_from(&login(&source, &who.email).await.body);
        here.org_id = ann.org_id.clone();

        let (before, after) = (reads(&source, &here).await, reads(&target, &moved).await);
        assert_eq!(before.len(), after.len(), "{} sees as many records", who.email);
        for ((path, was), (path_after, is)) in before.iter().zip(&after) {
            assert_eq!(path, path_after);
            if !path.contains("→ 200") {
                // The same refusal (a manager may not export the organization).
                assert_ne!(who.email, "ann@example.com", "{path}: {was}");
                assert_eq!(was["code"], is["code"]);
                continue;
            }
            if path.starts_with("/api/v1/auth/me") {
                // The same account, less what a sign-in changes.
                assert_eq!(was["user"], is["user"], "{path}");
                continue;
            }
            if path.contains("/duplicates") {
                // The same groups; `scanned_at` is when each instance looked.
                assert_eq!(was["data"], is["data"], "{path}");
                assert!(
                    !was["data"].as_array().unwrap().is_empty()
                        || who.email != "ann@example.com"
                        || path.contains("companies")
                );
                continue;
            }
            assert_eq!(was, is, "{} reads {path} differently after the move", who.email);
        }
    }
    // The restore is in the target's audit log.
    let audit = target.get(&ann, "/api/v1/audit-log?limit=200").await;
    assert!(
        audit.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "organization.imported")
    );
}

both! {
    async fn a_restore_that_cannot_apply_a_line_writes_nothing(app) {
        let ann = app.register("ann@example.com").await;
        app.post(&ann, "/api/v1/contacts", json!({"name": "Cy", "email": "cy@example.com"})).await.assert(201);
        let export = succeeded(crm(&app.database_url, &["export", "--org", &ann.org_id], &[]));
        let file = tempfile::NamedTempFile::new().unwrap();
        let count_orgs = async || {
            let r = app.get(&ann, "/api/v1/organizations/me").await;
            r.body.as_array().map(Vec::len).unwrap_or_else(|| r.body["data"].as_array().unwrap().len())
        };
        let before = count_orgs().await;

        // The organization exists here already.
        std::fs::write(file.path(), &export).unwrap();
        let out = crm(&app.database_url, &["import-org", file.path().to_str().unwrap()], &[]);
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(said.contains("line 1") && said.contains("exists in this database already") && said.contains("nothing was written"), "{said}");

        // Into a new organization id, but the member's email belongs to
        // another account here: refused at that line, nothing written.
        let moved = export.replace(&ann.org_id, &uuid::Uuid::now_v7().to_string());
        let moved = moved.replace(&ann.user_id, &uuid::Uuid::now_v7().to_string());
        std::fs::write(file.path(), &moved).unwrap();
        let out = crm(&app.database_url, &["import-org", file.path().to_str().unwrap()], &[]);
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success() && said.contains("line 2") && said.contains("ann@example.com is the email of another account"), "{said}");

        // A line that is not an export's, after the organization and its member.
        let mut lines: Vec<String> = export.lines().map(String::from).collect();
        let fresh_org = uuid::Uuid::now_v7().to_string();
        lines = lines.iter().map(|l| l.replace(&ann.org_id, &fresh_org)).collect();
        lines.insert(3, "{\"type\":\"contact\",\"data\":{\"name\":\"no id\"}}".into());
        std::fs::write(file.path(), lines.join("\n")).unwrap();
        let out = crm(&app.database_url, &["import-org", file.path().to_str().unwrap()], &[]);
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success() && said.contains("line 4") && said.contains("not a contact as the API writes it"), "{said}");
        let garbage = crm(&app.database_url, &["import-org", "/dev/null"], &[]);
        assert!(String::from_utf8_lossy(&garbage.stderr).contains("holds no organization"));

        // Nothing of the failed restores is here.
        assert_eq!(count_orgs().await, before);
        let r = send(app.as_user_in(&ann, &fresh_org, reqwest::Method::GET, "/api/v1/contacts")).await;
        r.assert(403);
    }
}
