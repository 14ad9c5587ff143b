//! CSV export of the lists (data.md "Export", issue 15 item 6): the list's
//! filters and visibility, the API's fields in its JSON's order, values as
//! the API gives them, streamed page after page, audited.

use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::contacts::insert_contacts;
use crate::helpers::*;

/// GETs `path` and returns (status, content type, body text).
async fn download(app: &TestApp, s: &Session, path: &str) -> (u16, String, String) {
    let r = app.as_user(s, Method::GET, path).send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

fn rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn header(text: &str) -> Vec<String> {
    csv::Reader::from_reader(text.as_bytes())
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect()
}

both! {
    async fn contacts_export_with_the_lists_filters_and_the_apis_values(app) {
        let ann = app.register("ann@example.com").await;
        let vip = app.post(&ann, "/api/v1/contacts", json!({
            "name": "Ada, Countess", "email": "ada@example.com", "phone": "+14155550100",
            "tags": ["vip", "new"], "customer_since": "2024-03-01"
        })).await;
        vip.assert(201);
        app.post(&ann, "/api/v1/contacts", json!({"name": "Plain Person"})).await.assert(201);

        let (status, kind, text) = download(&app, &ann, "/api/v1/contacts/export?tag=vip").await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(kind, "text/csv; charset=utf-8");
        assert!(text.contains("\r\n") && !text.starts_with('\u{feff}'));
        let head = header(&text);
        assert_eq!(&head[..6], ["id", "owner_id", "name", "email", "phone", "phone_extension"]);
        assert_eq!(head.last().unwrap(), "version");
        let found = rows(&text);
        assert_eq!(found.len(), 1, "only the tagged contact");
        let cell = |name: &str| found[0][head.iter().position(|h| h == name).unwrap()].clone();
        assert_eq!(cell("id"), vip.body["id"].as_str().unwrap());
        assert_eq!(cell("name"), "Ada, Countess");
        assert_eq!(cell("phone"), "+14155550100", "values as the API gives them, not spreadsheet-escaped");
        assert_eq!(cell("tags"), "vip;new");
        assert_eq!(cell("customer_since"), "2024-03-01");
        assert_eq!(cell("company_id"), "");
        assert_eq!(cell("created_at"), vip.body["created_at"].as_str().unwrap());

        // Audited; a bad filter is refused as the list refuses it.
        let audit = app.get(&ann, "/api/v1/audit-log").await;
        assert_eq!(audit.body["data"][0]["action"], "data.exported");
        assert_eq!(audit.body["data"][0]["details"]["type"], "contacts");
        let bad = app.get(&ann, "/api/v1/contacts/export?owner_id=nope").await;
        bad.assert_problem(422, "validation_failed");
    }

    async fn an_export_streams_every_page(app) {
        let ann = app.register("ann@example.com").await;
        insert_contacts(&app, &ann, 650, "'c' || i").await;
        let (status, _, text) = download(&app, &ann, "/api/v1/contacts/export?sort=name").await;
        assert_eq!(status, 200);
        let all = rows(&text);
        assert_eq!(all.len(), 650, "every row of four pages, once");
        let names: Vec<&str> = all.iter().map(|r| r[2].as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "in the list's sort");
        let common = rows(&download(&app, &ann, "/api/v1/contacts/export?tag=common").await.2);
        assert_eq!(common.len(), 325);
    }

    async fn an_export_shows_what_the_caller_may_list(app) {
        let owner = app.register("owner@example.com").await;
        let other = app.register("other@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        app.post(&owner, "/api/v1/contacts", json!({"name": "Owner's"})).await.assert(201);
        app.post(&member, "/api/v1/contacts", json!({"name": "Mel's"})).await.assert(201);
        app.patch(&owner, "/api/v1/organization", json!({"member_visibility": "own"})).await.assert(200);
        let mine = rows(&download(&app, &member, "/api/v1/contacts/export").await.2);
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0][2], "Mel's");
        assert_eq!(rows(&download(&app, &owner, "/api/v1/contacts/export").await.2).len(), 2);
        // Another organization: a header and nothing else.
        let (status, _, text) = download(&app, &other, "/api/v1/contacts/export").await;
        assert_eq!(status, 200);
        assert_eq!(header(&text)[0], "id");
        assert!(rows(&text).is_empty());
        let r = send(app.as_user_in(&other, &owner.org_id, Method::GET, "/api/v1/contacts/export")).await;
        r.assert_problem(403, "not_a_member");
    }

    async fn deals_companies_and_tasks_export_too(app) {
        let ann = app.register("ann@example.com").await;
        let company = app.post(&ann, "/api/v1/companies", json!({"name": "Acme", "domain": "acme.example"})).await;
        let contact = app.post(&ann, "/api/v1/contacts", json!({"name": "Cy"})).await;
        let deal = app.post(&ann, "/api/v1/deals", json!({
            "title": "Renewal", "contact_id": contact.body["id"], "company_id": company.body["id"], "amount": "1500.5"
        })).await;
        deal.assert(201);
        app.post(&ann, "/api/v1/tasks", json!({"title": "Call Cy", "contact_id": contact.body["id"]})).await.assert(201);

        let deals = download(&app, &ann, "/api/v1/deals/export").await.2;
        let head = header(&deals);
        let row = &rows(&deals)[0];
        assert_eq!(row[head.iter().position(|h| h == "amount").unwrap()], "1500.50");
        assert!(!head.contains(&"amount_cents".to_string()));
        let companies = download(&app, &ann, "/api/v1/companies/export").await.2;
        assert_eq!(rows(&companies)[0][header(&companies).iter().position(|h| h == "domain").unwrap()], "acme.example");
        let tasks = download(&app, &ann, "/api/v1/tasks/export").await.2;
        let head = header(&tasks);
        assert_eq!(rows(&tasks)[0][head.iter().position(|h| h == "is_done").unwrap()], "false");
    }
}

both! {
    async fn the_organization_exports_as_json_lines_by_the_api_and_the_cli(app) {
        let ann = app.register("ann@example.com").await;
        let member = app.add_member(&ann, "mel@example.com", "member").await;
        let company = app.post(&ann, "/api/v1/companies", json!({"name": "Acme"})).await;
        let contact = app.post(&ann, "/api/v1/contacts", json!({"name": "Cy", "company_id": company.body["id"], "tags": ["vip"]})).await;
        let contact_id = contact.body["id"].as_str().unwrap().to_string();
        let deal = app.post(&ann, "/api/v1/deals", json!({"title": "Renewal", "contact_id": contact_id, "amount": "10"})).await;
        let deal_id = deal.body["id"].as_str().unwrap().to_string();
        app.patch(&ann, &format!("/api/v1/deals/{deal_id}"), json!({"stage": "proposal", "status": "in_progress"})).await.assert(200);
        app.post(&ann, &format!("/api/v1/contacts/{contact_id}/activities"), json!({"text": "Met at the fair"})).await.assert(201);
        app.post(&ann, "/api/v1/tasks", json!({"title": "Call Cy", "contact_id": contact_id})).await.assert(201);

        let (status, kind, text) = download(&app, &ann, "/api/v1/organization/export").await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(kind, "application/x-ndjson");
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let order = ["organization", "member", "pipeline", "company", "contact", "property", "deal", "task", "lead", "activity"];
        let ranks: Vec<usize> = lines.iter().map(|l| order.iter().position(|t| *t == l["type"]).expect("a known type")).collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "types in data.md's order: {ranks:?}");
        assert_eq!(lines[0]["data"]["id"], ann.org_id.as_str());
        let count = |t: &str| lines.iter().filter(|l| l["type"] == t).count();
        assert_eq!((count("member"), count("pipeline"), count("contact"), count("company"), count("deal"), count("task")), (2, 1, 1, 1, 1, 1));
        assert!(count("activity") >= 2, "the stage change and the comment at least");
        assert!(lines.iter().filter(|l| l["type"] == "member").all(|l| l["data"].get("password_hash").is_none()));
        // Each record's data is what the API reads.
        let exported = lines.iter().find(|l| l["type"] == "contact").unwrap();
        assert_eq!(exported["data"], app.get(&ann, &format!("/api/v1/contacts/{contact_id}")).await.body);
        let exported = lines.iter().find(|l| l["type"] == "deal").unwrap();
        assert_eq!(exported["data"], app.get(&ann, &format!("/api/v1/deals/{deal_id}")).await.body);

        assert_eq!(app.get(&ann, "/api/v1/audit-log").await.body["data"][0]["action"], "organization.exported");
        app.get(&member, "/api/v1/organization/export").await.assert_problem(403, "forbidden");

        // The command line writes the same lines.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crm"))
            .args(["export", "--org", &ann.org_id])
            .env("DATABASE_URL", &app.database_url)
            .env("CRM_DATA_DIR", tempfile::tempdir().unwrap().path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crm"))
            .args(["export", "--org", &uuid::Uuid::now_v7().to_string()])
            .env("DATABASE_URL", &app.database_url)
            .env("CRM_DATA_DIR", tempfile::tempdir().unwrap().path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
    }
}

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Exports `ROWS` contacts from a server process of its own and samples its
/// memory as the file streams: what it holds must not grow with the rows
/// read (data.md "Export": constant memory). The benchmark measures 1M rows
/// on a release build (bench/export_memory.py); a debug build here reads
/// 300,000, some 40 MB of CSV, which a server that buffered would add to
/// its memory.
async fn export_memory_stays_flat(app: &TestApp) {
    const ROWS: i64 = 300_000;
    let ann = app.register("ann@example.com").await;
    insert_contacts(app, &ann, ROWS, "''").await;
    let dir = tempfile::tempdir().unwrap();
    let server = crate::import_crash::Server::start(&app.database_url, dir.path()).await;
    let pid = server.child.id();
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let token = login.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut response = client
        .get(format!("{}/api/v1/contacts/export", server.base))
        .bearer_auth(&token)
        .header("X-Organization-Id", &ann.org_id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (mut bytes, mut lines) = (0usize, 0usize);
    let (mut baseline, mut peak) = (None, 0u64);
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        let rss = rss_kib(pid);
        // The first 4 MB warm the connection pools and caches up.
        if bytes > 4 << 20 {
            baseline.get_or_insert(rss);
            peak = peak.max(rss);
        }
    }
    assert_eq!(lines as i64, ROWS + 1, "every contact and the header");
    assert!(bytes > 30 << 20, "{bytes} bytes: too few to tell");
    let baseline = baseline.unwrap();
    eprintln!("export of {ROWS} contacts: {bytes} bytes; server memory {baseline} KiB after 4 MB, at most {peak} KiB");
    assert!(
        peak < baseline + 24 * 1024,
        "the server grew from {baseline} KiB to {peak} KiB while streaming {bytes} bytes"
    );
}

both! {
    async fn exporting_300_000_contacts_keeps_the_servers_memory_flat(app) {
        export_memory_stays_flat(&app).await;
    }
}
