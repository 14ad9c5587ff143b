//! CSV import (issue 15 items 2, 4, 9): upload, dry run, merge on match,
//! the three conflict modes, row errors with line numbers, the review
//! queue, and what bad files get; on both backends.

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

/// Uploads `bytes` as `name` with the given text fields.
pub async fn upload(app: &TestApp, who: &Session, name: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> Resp {
    let mut form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    send(app.as_user(who, Method::POST, "/api/v1/imports").multipart(form)).await
}

/// Waits for an import to finish and returns it.
pub async fn finished(app: &TestApp, who: &Session, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let r = app.get(who, &format!("/api/v1/imports/{id}")).await;
        r.assert(200);
        if matches!(r.body["status"].as_str(), Some("completed" | "failed")) {
            return r.body.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "import still {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Imports `csv` as contacts with `fields` and waits for it.
async fn import(app: &TestApp, who: &Session, csv: &str, fields: &[(&str, &str)]) -> Value {
    let mut all = vec![("object", "contacts")];
    all.extend_from_slice(fields);
    let r = upload(app, who, "contacts.csv", csv.as_bytes().to_vec(), &all).await;
    r.assert(202);
    assert_eq!(r.body["status"], "pending");
    finished(app, who, r.body["id"].as_str().unwrap()).await
}

async fn contact_by_email(app: &TestApp, who: &Session, email: &str) -> Value {
    let r = app.get(who, &format!("/api/v1/contacts?q={email}")).await;
    r.assert(200);
    let found: Vec<&Value> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["email"] == email)
        .collect();
    assert_eq!(found.len(), 1, "one contact {email}: {}", r.body);
    found[0].clone()
}

both! {
    async fn contacts_import_merges_on_match_and_reports_rows_by_line(app) {
        let ann = app.register("ann@example.com").await;
        // Stored: one contact with an email, one with a phone.
        let lee = app.post(&ann, "/api/v1/contacts", json!({"name": "Lee Park", "email": "lee@acme.com", "title": "CTO"})).await;
        lee.assert(201);
        let kim = app.post(&ann, "/api/v1/contacts", json!({"name": "Kim Wu", "phone": "+14155550100"})).await;
        kim.assert(201);

        let csv = "First Name,Last Name,Email Address,Phone Number,Job Title,Company,Labels,Favorite Color\r\n\
                   Ada,Lovelace,ADA@example.com,,Analyst,Engines Ltd,vip;2026,blue\r\n\
                   Lee,Park,lee@acme.com,+1 415 555 0111,CEO,,imported,red\r\n\
                   Kim,Wu,,(415) 555-0100,Buyer,Engines ltd,,green\r\n\
                   \"Bad\nName\",Row,not-an-email,,,,,\r\n\
                   Short,Row\r\n\
                   Ada,Lovelace,ada@example.com,,,,extra,\r\n\
                   Amb,Iguous,lee@acme.com,+14155550100,,,,\r\n";
        let done = import(&app, &ann, csv, &[]).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["total_rows"], 7);
        assert_eq!(done["processed_rows"], 7);
        assert_eq!(done["created"], 1, "{done}");
        // Lee (title conflict, phone filled), Kim (title filled, company), Ada again (tag added).
        assert_eq!(done["merged"], 3, "{done}");
        assert_eq!(done["unchanged"], 0);
        assert_eq!(done["skipped"], 3, "{done}");
        assert_eq!(done["conflicts"], 1, "Lee's title: {done}");
        assert_eq!(done["companies_created"], 1, "Engines Ltd once, found again by its name in any case");
        let errors = done["errors"].as_array().unwrap();
        // The record spanning lines 5-6 is reported at line 5.
        let bad_email = errors.iter().find(|e| e["field"] == "email").unwrap();
        assert_eq!(bad_email["line"], 5);
        assert_eq!(bad_email["message"], "not a valid email address");
        let short = errors.iter().find(|e| e["code"] == "column_count").unwrap();
        assert_eq!(short["line"], 7);
        let ambiguous = errors.iter().find(|e| e["code"] == "ambiguous_match").unwrap();
        assert_eq!(ambiguous["line"], 9);
        let message = ambiguous["message"].as_str().unwrap();
        assert!(message.contains(lee.body["id"].as_str().unwrap()) && message.contains(kim.body["id"].as_str().unwrap()), "{message}");

        let ada = contact_by_email(&app, &ann, "ada@example.com").await;
        assert_eq!(ada["name"], "Ada Lovelace");
        assert_eq!(ada["title"], "Analyst");
        assert_eq!(ada["tags"], json!(["vip", "2026", "extra"]));
        let company = app.get(&ann, &format!("/api/v1/companies/{}", ada["company_id"].as_str().unwrap())).await;
        assert_eq!(company.body["name"], "Engines Ltd");

        let lee_after = app.get(&ann, &format!("/api/v1/contacts/{}", lee.body["id"].as_str().unwrap())).await;
        assert_eq!(lee_after.body["title"], "CTO", "queued: the stored value stays");
        assert_eq!(lee_after.body["phone"], "+14155550111", "an empty stored field is filled");
        assert_eq!(lee_after.body["version"], 2);
        assert_eq!(lee_after.body["tags"], json!(["imported"]));
        let kim_after = app.get(&ann, &format!("/api/v1/contacts/{}", kim.body["id"].as_str().unwrap())).await;
        assert_eq!(kim_after.body["title"], "Buyer");
        assert_eq!(kim_after.body["company_id"], ada["company_id"]);
        assert_eq!(kim_after.body["name"], "Kim Wu");

        // The queue holds Lee's title.
        let queue = app.get(&ann, &format!("/api/v1/import-conflicts?import_id={}&status=open", done["id"].as_str().unwrap())).await;
        queue.assert(200);
        let conflicts = queue.body["data"].as_array().unwrap();
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!((c["record_type"].as_str(), c["field"].as_str(), c["line"].as_i64()), (Some("contact"), Some("title"), Some(3)));
        assert_eq!((c["current_value"].as_str(), c["incoming_value"].as_str()), (Some("CTO"), Some("CEO")));
        assert_eq!(c["record_id"], lee.body["id"]);

        // Listed, newest first; the same file again changes nothing more.
        let again = import(&app, &ann, csv, &[]).await;
        assert_eq!((again["created"].as_i64(), again["merged"].as_i64()), (Some(0), Some(0)), "{again}");
        assert_eq!(again["unchanged"], 4);
        assert_eq!(again["conflicts"], 1);
        let list = app.get(&ann, "/api/v1/imports").await;
        list.assert(200);
        assert_eq!(list.body["data"][0]["id"], again["id"]);
        assert_eq!(list.body["data"][1]["id"], done["id"]);
    }

    async fn conflict_modes_keep_and_overwrite(app) {
        let ann = app.register("ann@example.com").await;
        app.post(&ann, "/api/v1/contacts", json!({"name": "Lee Park", "email": "lee@acme.com", "title": "CTO"})).await.assert(201);
        let csv = "name,email,title\nLee P.,lee@acme.com,CEO\n";
        let kept = import(&app, &ann, csv, &[("on_conflict", "keep")]).await;
        assert_eq!((kept["conflicts"].as_i64(), kept["unchanged"].as_i64()), (Some(2), Some(1)), "{kept}");
        let lee = contact_by_email(&app, &ann, "lee@acme.com").await;
        assert_eq!((lee["name"].as_str(), lee["title"].as_str()), (Some("Lee Park"), Some("CTO")));
        let none = app.get(&ann, &format!("/api/v1/import-conflicts?import_id={}", kept["id"].as_str().unwrap())).await;
        assert_eq!(none.body["data"], json!([]), "keep queues nothing");

        let over = import(&app, &ann, csv, &[("on_conflict", "overwrite")]).await;
        assert_eq!((over["conflicts"].as_i64(), over["merged"].as_i64()), (Some(2), Some(1)), "{over}");
        let lee = contact_by_email(&app, &ann, "lee@acme.com").await;
        assert_eq!((lee["name"].as_str(), lee["title"].as_str()), (Some("Lee P."), Some("CEO")));
        // An empty cell never clears a stored value.
        let blank = import(&app, &ann, "name,email,title\nLee P.,lee@acme.com,\n", &[("on_conflict", "overwrite")]).await;
        assert_eq!(blank["unchanged"], 1, "{blank}");
        assert_eq!(contact_by_email(&app, &ann, "lee@acme.com").await["title"], "CEO");
    }

    async fn the_review_queue_resolves_one_or_many_and_refuses_stale_ones(app) {
        let ann = app.register("ann@example.com").await;
        let mut ids = Vec::new();
        for (name, email) in [("Lee", "lee@acme.com"), ("Kim", "kim@acme.com"), ("Max", "max@acme.com")] {
            let r = app.post(&ann, "/api/v1/contacts", json!({"name": name, "email": email, "title": "Old"})).await;
            r.assert(201);
            ids.push(r.body["id"].as_str().unwrap().to_string());
        }
        let done = import(&app, &ann, "name,email,title\nLee,lee@acme.com,New\nKim,kim@acme.com,New\nMax,max@acme.com,New\n", &[]).await;
        assert_eq!(done["conflicts"], 3);
        let queue = app.get(&ann, "/api/v1/import-conflicts?status=open").await;
        let conflicts: Vec<Value> = queue.body["data"].as_array().unwrap().clone();
        assert_eq!(conflicts.len(), 3);
        let id_of = |i: usize| conflicts[i]["id"].as_str().unwrap().to_string();

        // Incoming: the record takes it, its version bumps, its timeline says so.
        let r = app.post(&ann, &format!("/api/v1/import-conflicts/{}/resolve", id_of(0)), json!({"choice": "incoming"})).await;
        r.assert(200);
        assert_eq!(r.body["status"], "applied");
        let lee = app.get(&ann, &format!("/api/v1/contacts/{}", ids[0])).await;
        assert_eq!((lee.body["title"].as_str(), lee.body["version"].as_i64()), (Some("New"), Some(2)));
        let timeline = app.get(&ann, &format!("/api/v1/contacts/{}/activities", ids[0])).await;
        let entry = timeline.body["data"].as_array().unwrap().iter().find(|a| a["payload"]["event"] == "import_conflict_resolved").cloned();
        let entry = entry.unwrap_or_else(|| panic!("no activity: {}", timeline.body));
        assert_eq!(entry["payload"], json!({"event": "import_conflict_resolved", "field": "title", "from": "Old", "to": "New"}));
        app.post(&ann, &format!("/api/v1/import-conflicts/{}/resolve", id_of(0)), json!({"choice": "keep"})).await
            .assert_problem(409, "conflict_already_resolved");

        // Kim changed since: incoming is stale, all or none in bulk.
        app.patch(&ann, &format!("/api/v1/contacts/{}", ids[1]), json!({"title": "Edited"})).await.assert(200);
        let r = app.post(&ann, "/api/v1/import-conflicts/resolve", json!({"ids": [id_of(1), id_of(2)], "choice": "incoming"})).await;
        r.assert_problem(409, "conflict_stale");
        assert_eq!(r.body["ids"], json!([id_of(1)]));
        let max = app.get(&ann, &format!("/api/v1/contacts/{}", ids[2])).await;
        assert_eq!(max.body["title"], "Old", "nothing applied: all or none");
        let unknown = uuid::Uuid::new_v4().to_string();
        let r = app.post(&ann, "/api/v1/import-conflicts/resolve", json!({"ids": [id_of(2), unknown], "choice": "keep"})).await;
        r.assert_problem(404, "not_found");
        assert_eq!(r.body["ids"], json!([unknown]));
        let r = app.post(&ann, "/api/v1/import-conflicts/resolve", json!({"ids": [id_of(0), id_of(2)], "choice": "keep"})).await;
        r.assert_problem(409, "conflict_already_resolved");

        // Keep is never stale and changes nothing.
        let r = app.post(&ann, "/api/v1/import-conflicts/resolve", json!({"ids": [id_of(1), id_of(2)], "choice": "keep"})).await;
        r.assert(200);
        assert_eq!(r.body, json!({"resolved": 2}));
        let kim = app.get(&ann, &format!("/api/v1/contacts/{}", ids[1])).await;
        assert_eq!((kim.body["title"].as_str(), kim.body["version"].as_i64()), (Some("Edited"), Some(2)));
        let kept = app.get(&ann, "/api/v1/import-conflicts?status=kept").await;
        assert_eq!(kept.body["data"].as_array().unwrap().len(), 2);
        assert_eq!(app.get(&ann, "/api/v1/import-conflicts?status=open").await.body["data"], json!([]));
        app.post(&ann, "/api/v1/import-conflicts/resolve", json!({"ids": [id_of(1)], "choice": "maybe"})).await.assert(422);
        app.get(&ann, "/api/v1/import-conflicts?status=done").await.assert_problem(422, "validation_failed");
    }

    async fn a_dry_run_shows_mapping_preview_and_errors_and_writes_nothing(app) {
        let ann = app.register("ann@example.com").await;
        let csv = "Full Name;E-mail;Mobile;Notes;Shoe Size\nJosé Martínez;jose@example.es;+34 912 345 678;hi;42\nNo Email;bad@;;;\n";
        let r = upload(&app, &ann, "people.csv", csv.as_bytes().to_vec(), &[
            ("object", "contacts"), ("dry_run", "true"), ("mapping", r#"{"Notes": null}"#),
        ]).await;
        r.assert(200);
        assert_eq!(r.body["mapping"], json!({"Full Name": "name", "E-mail": "email", "Mobile": "phone", "Notes": null, "Shoe Size": null}));
        assert_eq!(r.body["unmapped"], json!(["Shoe Size"]));
        assert_eq!(r.body["total_rows"], 2);
        assert_eq!(r.body["preview"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["preview"][0]["phone"], "+34912345678");
        assert_eq!(r.body["preview"][0]["name"], "José Martínez");
        assert_eq!(r.body["errors"], json!([{"line": 3, "field": "email", "code": "validation_failed", "message": "not a valid email address"}]));
        assert_eq!(app.get(&ann, "/api/v1/contacts").await.body["data"], json!([]));
        assert_eq!(app.get(&ann, "/api/v1/imports").await.body["data"], json!([]), "a dry run is not listed");

        // Excel on Windows: Windows-1252 with semicolons.
        let excel = std::fs::read("tests/fixtures/imports/excel-windows-1252-semicolons.csv").unwrap();
        let r = upload(&app, &ann, "excel.csv", excel, &[("object", "contacts")]).await;
        r.assert(202);
        assert_eq!((r.body["encoding"].as_str(), r.body["delimiter"].as_str()), (Some("windows-1252"), Some(";")));
        let done = finished(&app, &ann, r.body["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "completed", "{done}");
        let jose = contact_by_email(&app, &ann, "jose@example.es").await;
        assert_eq!(jose["name"], "José Martínez");
    }

    async fn bad_files_get_clear_errors(app) {
        let ann = app.register("ann@example.com").await;
        let contacts = [("object", "contacts")];
        let field_of = |r: &Resp| r.body["errors"][0]["field"].as_str().unwrap_or_default().to_string();

        // No file at all (a JSON body, or a form without it).
        let r = app.post(&ann, "/api/v1/imports", json!({"object": "contacts"})).await;
        r.assert_problem(422, "validation_failed");
        assert!(r.body["errors"].as_array().unwrap().iter().any(|e| e["field"] == "file"), "{}", r.body);
        let form = Form::new().text("object", "contacts");
        let r = send(app.as_user(&ann, Method::POST, "/api/v1/imports").multipart(form)).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(field_of(&r), "file");

        for (bytes, says) in [
            (Vec::new(), "is empty"),
            (b"name,email\r\n".to_vec(), "no rows"),
            (vec![0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe], "not a text"),
        ] {
            let r = upload(&app, &ann, "x.csv", bytes, &contacts).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(field_of(&r), "file");
            assert!(r.body["errors"][0]["message"].as_str().unwrap().contains(says), "{}", r.body);
        }
        let r = upload(&app, &ann, "x.csv", b"name\nA\n".to_vec(), &[("object", "contacts"), ("mapping", r#"{"name": "shoe_size"}"#)]).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(field_of(&r), "mapping");
        let r = upload(&app, &ann, "x.csv", b"name\nA\n".to_vec(), &[("object", "widgets"), ("on_conflict", "ignore")]).await;
        r.assert_problem(422, "validation_failed");
        let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["object", "on_conflict"]);

        // Over 100 MB: 413, and nothing stored.
        let big = vec![b'a'; 100 * 1024 * 1024 + 10];
        let r = upload(&app, &ann, "big.csv", big, &contacts).await;
        r.assert_problem(413, "payload_too_large");
        assert_eq!(app.get(&ann, "/api/v1/imports").await.body["data"], json!([]));

        // Binary garbage without NUL bytes is read as text: its rows fail one by one.
        let garbage: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 250 + 1) as u8).collect();
        let r = upload(&app, &ann, "garbage.csv", garbage, &contacts).await;
        if r.status == 202 {
            let done = finished(&app, &ann, r.body["id"].as_str().unwrap()).await;
            assert_eq!(done["status"], "completed", "{done}");
            assert_eq!(done["created"], 0);
        } else {
            r.assert_problem(422, "validation_failed");
        }
    }

    async fn imports_are_for_managers_and_stay_in_their_organization(app) {
        let ann = app.register("ann@example.com").await;
        let bob = app.register("bob@example.com").await;
        let member = app.add_member(&ann, "mia@example.com", "member").await;
        app.post(&ann, "/api/v1/contacts", json!({"name": "Lee", "email": "lee@acme.com", "title": "CTO"})).await.assert(201);
        let done = import(&app, &ann, "name,email,title\nLee,lee@acme.com,CEO\n", &[]).await;
        let id = done["id"].as_str().unwrap();
        let conflict = app.get(&ann, "/api/v1/import-conflicts").await.body["data"][0]["id"].as_str().unwrap().to_string();

        upload(&app, &member, "x.csv", b"name\nA\n".to_vec(), &[("object", "contacts")]).await.assert_problem(403, "forbidden");
        app.get(&member, "/api/v1/imports").await.assert_problem(403, "forbidden");
        app.get(&member, "/api/v1/import-conflicts").await.assert_problem(403, "forbidden");
        app.post(&member, &format!("/api/v1/import-conflicts/{conflict}/resolve"), json!({"choice": "keep"})).await.assert_problem(403, "forbidden");

        app.get(&bob, &format!("/api/v1/imports/{id}")).await.assert_problem(404, "not_found");
        assert_eq!(app.get(&bob, "/api/v1/imports").await.body["data"], json!([]));
        assert_eq!(app.get(&bob, "/api/v1/import-conflicts").await.body["data"], json!([]));
        app.post(&bob, &format!("/api/v1/import-conflicts/{conflict}/resolve"), json!({"choice": "incoming"})).await.assert_problem(404, "not_found");
        app.post(&bob, "/api/v1/import-conflicts/resolve", json!({"ids": [conflict], "choice": "keep"})).await.assert_problem(404, "not_found");
        // Still open for its own organization.
        assert_eq!(app.get(&ann, "/api/v1/import-conflicts?status=open").await.body["data"].as_array().unwrap().len(), 1);
    }

    async fn companies_import_matches_by_domain_then_name(app) {
        let ann = app.register("ann@example.com").await;
        let acme = app.post(&ann, "/api/v1/companies", json!({"name": "Acme", "domain": "acme.com"})).await;
        acme.assert(201);
        let csv = "Company Name,Website,Industry,Number of Employees\nACME Inc,https://acme.com/about,Rockets,\"1,200\"\nacme,,Anvils,\nGlobex,globex.com,,12\n";
        let r = upload(&app, &ann, "companies.csv", csv.as_bytes().to_vec(), &[("object", "companies")]).await;
        r.assert(202);
        let done = finished(&app, &ann, r.body["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!((done["created"].as_i64(), done["merged"].as_i64()), (Some(1), Some(1)), "{done}");
        // Row 2 matched by domain: name conflicts, industry and size filled.
        // Row 3 by name (any case): its name's case and industry conflict.
        assert_eq!(done["conflicts"], 3, "{done}");
        assert_eq!(done["unchanged"], 1, "{done}");
        let acme_after = app.get(&ann, &format!("/api/v1/companies/{}", acme.body["id"].as_str().unwrap())).await;
        assert_eq!((acme_after.body["name"].as_str(), acme_after.body["industry"].as_str()), (Some("Acme"), Some("Rockets")));
        assert_eq!(acme_after.body["employee_count"], 1200);
    }
}

both! {
    async fn deal_rows_name_their_contact_pipeline_and_stage(app) {
        let ann = app.register("ann@example.com").await;
        app.post(&ann, "/api/v1/contacts", json!({"name": "Lee", "email": "lee@acme.com"})).await.assert(201);
        app.post(&ann, "/api/v1/contacts", json!({"name": "Kim", "phone": "+14155550100"})).await.assert(201);
        let pipelines = app.get(&ann, "/api/v1/pipelines").await;
        let default = pipelines.body["data"][0].clone();
        let stage = &default["stages"][1];
        let csv = format!(
            "Deal Name,Amount,Contact Email,Contact Phone,Pipeline,Deal Stage,Close Date\n\
             Big one,1200.50,LEE@acme.com,,,{},2027-01-31\n\
             By phone,10,,(415) 555-0100,{},{},\n\
             Nobody,5,ghost@acme.com,,,,\n\
             Wrong pipe,5,lee@acme.com,,Nope,,\n\
             Bad amount,lots,lee@acme.com,,,,\n",
            stage["name"].as_str().unwrap(),
            default["name"].as_str().unwrap(),
            stage["key"].as_str().unwrap(),
        );
        let r = upload(&app, &ann, "deals.csv", csv.into_bytes(), &[("object", "deals")]).await;
        r.assert(202);
        let done = finished(&app, &ann, r.body["id"].as_str().unwrap()).await;
        assert_eq!((done["created"].as_i64(), done["skipped"].as_i64()), (Some(2), Some(3)), "{done}");
        let errors: Vec<(i64, &str)> = done["errors"].as_array().unwrap().iter().map(|e| (e["line"].as_i64().unwrap(), e["field"].as_str().unwrap())).collect();
        assert_eq!(errors, [(4, "contact_email"), (5, "pipeline"), (6, "amount")]);
        let deals = app.get(&ann, "/api/v1/deals?sort=created_at").await;
        let big = &deals.body["data"][0];
        assert_eq!((big["title"].as_str(), big["amount"].as_str(), big["stage"].as_str()), (Some("Big one"), Some("1200.50"), stage["key"].as_str()));
        assert_eq!(big["expected_close_date"], "2027-01-31");
        assert_eq!(deals.body["data"][1]["title"], "By phone");
    }
}

both! {
    async fn the_command_line_imports_a_file_with_the_same_summary(app) {
        let ann = app.register("ann@example.com").await;
        app.post(&ann, "/api/v1/contacts", json!({"name": "Lee", "email": "lee@acme.com", "title": "CTO"})).await.assert(201);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("people.csv");
        std::fs::write(&file, "Name,Email,Job Title,Mobile\nAda,ada@example.com,Analyst,\nLee,lee@acme.com,CEO,+1 415 555 0134\nBad,nope,,\n").unwrap();
        let mapping = dir.path().join("mapping.json");
        std::fs::write(&mapping, r#"{"Mobile": null}"#).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crm"))
            .args(["import", "contacts"])
            .arg(&file)
            .args(["--org", &ann.org_id, "--on-conflict", "keep", "--mapping"])
            .arg(&mapping)
            .env("DATABASE_URL", &app.database_url)
            .env("CRM_DATA_DIR", dir.path())
            .env("CRM_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("completed; 3 rows: 1 created, 0 merged, 1 unchanged, 1 skipped, 1 conflicts"), "{stdout}");
        assert!(stdout.contains("line 4: email: not a valid email address"), "{stdout}");
        // The same import as the API shows it; the mobile column was dropped.
        let listed = app.get(&ann, "/api/v1/imports").await;
        assert_eq!(listed.body["data"][0]["status"], "completed");
        assert_eq!(listed.body["data"][0]["created"], 1);
        let lee = contact_by_email(&app, &ann, "lee@acme.com").await;
        assert_eq!((lee["title"].as_str(), lee["phone"].as_str()), (Some("CTO"), None));
        assert_eq!(contact_by_email(&app, &ann, "ada@example.com").await["owner_id"].as_str(), Some(ann.user_id.as_str()));
    }

    async fn a_large_contacts_import_leaves_the_search_terms_analyzed(app) {
        // 10,000 rows: enough for the import to refresh PostgreSQL's
        // statistics of contact_terms, without which a new database's
        // searches would be planned on estimates of one row a term
        // (docs/performance.md). Only a manual ANALYZE sets last_analyze.
        let ann = app.register("ann@example.com").await;
        let mut csv = String::from("Name,Email\n");
        for i in 0..10_000 {
            csv.push_str(&format!("Person {i} Evans,p{i}@example.com\n"));
        }
        let done = import(&app, &ann, &csv, &[]).await;
        assert_eq!((done["status"].as_str(), done["created"].as_i64()), (Some("completed"), Some(10_000)), "{done}");
        let found = app.get(&ann, "/api/v1/contacts?q=pe%20ev&limit=1").await;
        found.assert(200);
        assert!(found.body["data"][0]["name"].as_str().is_some_and(|n| n.ends_with(" Evans")), "{}", found.body);
        if app.backend == Backend::Postgres {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let start = Instant::now();
            loop {
                // Statistics reach other sessions within a second or so.
                let analyzed: bool = sqlx::query_scalar(
                    "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'contact_terms'",
                )
                .fetch_one(&pool)
                .await
                .unwrap();
                if analyzed {
                    break;
                }
                assert!(start.elapsed() < Duration::from_secs(15), "contact_terms was not analyzed");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}
