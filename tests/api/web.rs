//! The web app over plain HTTP: sessions, CSRF, security headers, escaping,
//! roles and tenancy of the pages (the browser tests cover the interactions).

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::{PASSWORD, TestApp, test_config};

/// A browser-like client: keeps cookies, reads the CSRF token of pages.
struct Web<'a> {
    app: &'a TestApp,
    cookies: BTreeMap<String, String>,
    csrf: String,
}

struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

impl<'a> Web<'a> {
    fn new(app: &'a TestApp) -> Self {
        Web {
            app,
            cookies: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request.header("cookie", self.cookie_header()).send().await.unwrap();
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        for marker in ["name=\"_csrf\" value=\"", "name=\"csrf-token\" content=\""] {
            if let Some(start) = body.find(marker) {
                let rest = &body[start + marker.len()..];
                self.csrf = rest[..rest.find('"').unwrap()].to_string();
            }
        }
        Page { status, headers, body }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.app.client.get(self.app.url(path));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut fields: Vec<(&str, &str)> = vec![("_csrf", "")];
        fields.extend_from_slice(form);
        let csrf = self.csrf.clone();
        fields[0].1 = &csrf;
        let body = serde_html_form::to_string(&fields).unwrap();
        let request = self
            .app
            .client
            .post(self.app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    async fn sign_in(&mut self, email: &str) {
        self.get("/login").await;
        let page = self
            .post("/login", &[("email", email), ("password", PASSWORD), ("next", "/")])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        self.get("/").await;
    }
}

both! {
    async fn pages_carry_security_headers_and_need_a_session(app) {
        let mut web = Web::new(&app);
        let login = web.get("/login").await;
        assert_eq!(login.status, 200);
        let csp = login.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(login.headers["x-content-type-options"], "nosniff");
        assert_eq!(login.headers["referrer-policy"], "same-origin");
        // A visitor's CSRF cookie: HttpOnly, SameSite=Strict.
        let set = login.headers["set-cookie"].to_str().unwrap();
        assert!(set.starts_with("crm_csrf=") && set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");

        // Pages without a session send the browser to sign in, and back after.
        let page = web.get("/deals?status=won").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/login?next=%2Fdeals%3Fstatus%3Dwon");

        // Static files are ours, with the same headers.
        let css = web.get("/static/app.css").await;
        assert_eq!(css.status, 200);
        assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
        assert_eq!(web.get("/static/other.js").await.status, 404);
    }

    async fn forms_without_the_csrf_token_are_refused(app) {
        app.register("ann@example.com").await;
        let mut web = Web::new(&app);
        web.get("/login").await;
        // No token in the form: refused before anything happens.
        let saved = web.csrf.clone();
        web.csrf = "forged".into();
        let page = web.post("/login", &[("email", "ann@example.com"), ("password", PASSWORD)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(!web.cookies.contains_key("crm_session"));
        web.csrf = saved;

        web.sign_in("ann@example.com").await;
        let session = web.cookies["crm_session"].clone();
        // Signed in: the session's own token is required, the visitor's is not enough.
        web.get("/contacts/new").await;
        let good = web.csrf.clone();
        web.csrf = "x".repeat(43);
        let page = web.post("/contacts", &[("name", "Forged")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        web.csrf = good;
        let page = web.post("/contacts", &[("name", "Real")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);

        // A script's request carries the token in a header.
        let api = app.client.post(app.url("/contacts"))
            .header("cookie", format!("crm_session={session}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=NoToken");
        assert_eq!(api.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    }

    async fn sign_in_errors_and_sign_out(app) {
        app.register("bea@example.com").await;
        let mut web = Web::new(&app);
        web.get("/login").await;
        let page = web.post("/login", &[("email", "bea@example.com"), ("password", "wrong password 1")]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("wrong email or password"));

        let page = web.post("/login", &[("email", "bea@example.com"), ("password", PASSWORD), ("next", "//evil.example")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/", "an outside `next` is not followed");
        let set = page.headers["set-cookie"].to_str().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && !set.contains("Secure"), "{set}");
        let session = web.cookies["crm_session"].clone();
        assert_eq!(web.get("/").await.status, 200);

        let out = web.post("/logout", &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(!web.cookies.contains_key("crm_session"));
        // The old cookie no longer opens anything.
        web.cookies.insert("crm_session".into(), session);
        assert_eq!(web.get("/").await.status, StatusCode::SEE_OTHER);
    }

    async fn user_strings_are_escaped(app) {
        let s = app.register("cat@example.com").await;
        app.post(&s, "/api/v1/contacts", json!({"name": "<script>alert(1)</script>", "tags": ["<b>x</b>"]}))
            .await
            .assert(201);
        let mut web = Web::new(&app);
        web.sign_in("cat@example.com").await;
        let page = web.get("/contacts").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("<script>alert(1)"));
        assert!(page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || page.body.contains("&lt;script&gt;"));
        assert!(!page.body.contains("<b>x</b>"));
    }

    async fn lists_filter_sort_page_and_export(app) {
        let s = app.register("dan@example.com").await;
        for i in 0..105 {
            let tags = if i % 2 == 0 { json!(["even"]) } else { json!([]) };
            app.post(&s, "/api/v1/contacts", json!({"name": format!("Person {i:03}"), "tags": tags})).await.assert(201);
        }
        let mut web = Web::new(&app);
        web.sign_in("dan@example.com").await;
        let first = web.get("/contacts?sort=name").await;
        assert_eq!(first.body.matches("<tr>").count(), 101, "100 rows and the header");
        assert!(first.body.contains("Person 000") && !first.body.contains("Person 100"));
        // Next page: the rest, with a way back.
        let next = first.body.split("rel=\"next\"").next().unwrap();
        let href = next.rsplit("href=\"").next().unwrap().split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&");
        let second = web.get(&href).await;
        assert!(second.body.contains("Person 104") && !second.body.contains("Person 099"));
        assert!(second.body.contains("rel=\"prev\""));
        // Filters live in the URL, and the export follows them.
        let even = web.get("/contacts?tag=even").await;
        assert_eq!(even.body.matches("<tr>").count(), 54);
        let csv = web.get("/contacts.csv?tag=even").await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert_eq!(csv.body.lines().count(), 54, "header and 53 rows");
        assert!(csv.body.starts_with("id,name,email"));
        // A filter the service refuses is named on the page.
        let bad = web.get("/contacts?owner_id=nope").await;
        assert_eq!(bad.status, 200);
        assert!(bad.body.contains("owner_id"));
    }

    async fn records_are_deleted_from_their_pages_with_the_apis_rules(app) {
        let owner = app.register("gil@example.com").await;
        let member = app.add_member(&owner, "mo@example.com", "member").await;
        let contact = app.post(&owner, "/api/v1/contacts", json!({"name": "Has deals"})).await.body;
        let cid = contact["id"].as_str().unwrap().to_string();
        let deal = app.post(&owner, "/api/v1/deals", json!({"title": "D", "contact_id": cid})).await.body;
        let did = deal["id"].as_str().unwrap().to_string();
        let company = app.post(&owner, "/api/v1/companies", json!({"name": "Gone Ltd"})).await.body;
        let coid = company["id"].as_str().unwrap().to_string();
        let task = app.post(&owner, "/api/v1/tasks", json!({"title": "Call", "contact_id": cid})).await.body;
        let tid = task["id"].as_str().unwrap().to_string();

        // A member sees no Delete on the owner's records and may not delete them.
        let mut mo = Web::new(&app);
        mo.sign_in("mo@example.com").await;
        assert!(!mo.get(&format!("/contacts/{cid}")).await.body.contains("/delete"));
        let refused = mo.post(&format!("/contacts/{cid}/delete"), &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(mo.post(&format!("/tasks/{tid}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
        // Another organization's record is not there.
        app.register("ivy@example.com").await;
        let mut ivy = Web::new(&app);
        ivy.sign_in("ivy@example.com").await;
        assert_eq!(ivy.post(&format!("/companies/{coid}/delete"), &[]).await.status, StatusCode::NOT_FOUND);

        let mut gil = Web::new(&app);
        gil.sign_in("gil@example.com").await;
        // The task list names the task's contact and reads "Mark done".
        let tasks = gil.get("/tasks").await.body;
        assert!(tasks.contains(&format!("<a href=\"/contacts/{cid}\">Has deals</a>")), "{tasks}");
        assert!(tasks.contains(">Mark done</button>"));
        let page = gil.get(&format!("/contacts/{cid}")).await;
        assert!(page.body.contains(&format!("action=\"/contacts/{cid}/delete\"")));
        // A contact with deals stays, and the page says why.
        let kept = gil.post(&format!("/contacts/{cid}/delete"), &[]).await;
        assert_eq!(kept.status, StatusCode::CONFLICT);
        assert!(kept.body.contains("this contact has deals"), "{}", kept.body);
        app.get(&owner, &format!("/api/v1/contacts/{cid}")).await.assert(200);
        // Deleted: the deal, then the contact, the company and the task.
        let gone = gil.post(&format!("/deals/{did}/delete"), &[]).await;
        assert_eq!((gone.status, gone.location()), (StatusCode::SEE_OTHER, "/deals"));
        let gone = gil.post(&format!("/contacts/{cid}/delete"), &[]).await;
        assert_eq!((gone.status, gone.location()), (StatusCode::SEE_OTHER, "/contacts"));
        let gone = gil.post(&format!("/companies/{coid}/delete"), &[]).await;
        assert_eq!((gone.status, gone.location()), (StatusCode::SEE_OTHER, "/companies"));
        let gone = gil.post(&format!("/tasks/{tid}/delete"), &[("next", "/tasks?is_done=false")]).await;
        assert_eq!((gone.status, gone.location()), (StatusCode::SEE_OTHER, "/tasks?is_done=false"));
        for path in [format!("/api/v1/deals/{did}"), format!("/api/v1/contacts/{cid}"), format!("/api/v1/companies/{coid}"), format!("/api/v1/tasks/{tid}")] {
            app.get(&owner, &path).await.assert_problem(404, "not_found");
        }
        let log = app.get(&owner, "/api/v1/audit-log").await.body;
        let actions: Vec<&str> = log["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        for action in ["deal.deleted", "contact.deleted", "company.deleted", "task.deleted"] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
        let _ = member;
    }

    async fn unknown_pages_and_bad_ids_get_the_apps_own_404(app) {
        app.register("hal@example.com").await;
        let mut web = Web::new(&app);
        web.sign_in("hal@example.com").await;
        for path in ["/no-such-page", "/contacts/not-a-uuid", "/deals/123", "/companies/not-a-uuid"] {
            let page = web.get(path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
            assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
            assert!(page.body.contains("This page does not exist"), "{path}");
            assert!(page.headers.contains_key("content-security-policy"), "{path}");
        }
        // The API keeps answering problem documents.
        let api = crate::helpers::send(app.request(reqwest::Method::GET, "/api/v1/no-such-thing")).await;
        api.assert_problem(404, "not_found");
        // The icon browsers ask for.
        let icon = web.get("/favicon.ico").await;
        assert_eq!(icon.status, 200);
        assert_eq!(icon.headers["content-type"], "image/svg+xml");
        assert!(icon.body.starts_with("<svg"));
    }

    async fn a_lost_deal_takes_a_reason_from_the_organizations_list(app) {
        let s = app.register("kim@example.com").await;
        let c = app.post(&s, "/api/v1/contacts", json!({"name": "C"})).await.body;
        let d = app.post(&s, "/api/v1/deals", json!({"title": "D", "contact_id": c["id"]})).await.body;
        let e = app.post(&s, "/api/v1/deals", json!({"title": "E", "contact_id": c["id"]})).await.body;
        let mut web = Web::new(&app);
        web.sign_in("kim@example.com").await;
        let saved = web.post("/settings", &[("name", "Kim Co"), ("default_currency", "USD"), ("default_country", "US"), ("member_visibility", "all"), ("lost_reasons", "Price\n\n Timing \n")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        assert_eq!(app.get(&s, "/api/v1/organization").await.body["lost_reasons"], json!(["Price", "Timing"]));
        let deal_path = format!("/deals/{}", d["id"].as_str().unwrap());
        let page = web.get(&deal_path).await;
        assert!(page.body.contains("<option>Price</option>") && page.body.contains("<option>Timing</option>"));
        assert!(!page.body.contains("Mark won"), "a new deal cannot be won yet");
        // A chosen reason; a typed one wins over the list.
        web.post(&format!("{deal_path}/status"), &[("status", "lost"), ("lost_reason_choice", "Timing"), ("lost_reason", "")]).await;
        assert_eq!(app.get(&s, &format!("/api/v1{deal_path}")).await.body["lost_reason"], "Timing");
        let other = format!("/deals/{}", e["id"].as_str().unwrap());
        web.post(&format!("{other}/status"), &[("status", "lost"), ("lost_reason_choice", "Price"), ("lost_reason", "Went with a rival")]).await;
        assert_eq!(app.get(&s, &format!("/api/v1{other}")).await.body["lost_reason"], "Went with a rival");
        // The board offers the same dialog on its open cards.
        app.post(&s, "/api/v1/deals", json!({"title": "F", "contact_id": c["id"]})).await.assert(201);
        let board = web.get("/board").await;
        assert!(board.body.contains("<option>Price</option>"));
    }

    async fn typed_amounts_keep_their_grouping_and_currencies_their_decimals(app) {
        let s = app.register("kim@example.com").await;
        let c = app.post(&s, "/api/v1/contacts", json!({"name": "C"})).await.body;
        let contact_id = c["id"].as_str().unwrap();
        let mut web = Web::new(&app);
        web.sign_in("kim@example.com").await;
        // `12,500.50` as typed (and `12.500,50` the European way) is 12500.50.
        for typed in ["12,500.50", "12.500,50"] {
            let made = web.post("/deals", &[("title", "Grouped"), ("contact_id", contact_id), ("amount", typed)]).await;
            assert_eq!(made.status, StatusCode::SEE_OTHER, "{typed}: {}", made.body);
            let id = made.location().trim_start_matches("/deals/").to_string();
            assert_eq!(app.get(&s, &format!("/api/v1/deals/{id}")).await.body["amount"], "12500.50");
        }
        // Yen have no decimals; the board and the list show none.
        let yen = web
            .post("/deals", &[("title", "Tokyo"), ("contact_id", contact_id), ("amount", "1,234,000"), ("currency", "JPY")])
            .await;
        assert_eq!(yen.status, StatusCode::SEE_OTHER, "{}", yen.body);
        assert!(web.get("/board").await.body.contains("JPY 1,234,000<"));
        assert!(web.get("/deals").await.body.contains("JPY 1,234,000<"));
        // Not a number at all: the API's message, next to the field.
        let bad = web.post("/deals", &[("title", "Bad"), ("contact_id", contact_id), ("amount", "12,50,0.1.2")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("id=\"amount-error\""));
    }

    async fn pickers_answer_the_tenants_records_a_to_z(app) {
        let s = app.register("kim@example.com").await;
        let other = app.register("lee@example.com").await;
        let acme = app.post(&s, "/api/v1/companies", json!({"name": "Acme", "domain": "acme.example"})).await.body;
        for name in ["Zoe Adams", "Amy Zhu"] {
            app.post(&s, "/api/v1/contacts", json!({"name": name, "company_id": acme["id"]})).await.assert(201);
        }
        app.post(&other, "/api/v1/contacts", json!({"name": "Zoe Other"})).await.assert(201);
        app.post(&other, "/api/v1/companies", json!({"name": "Acme Rival"})).await.assert(201);
        let mut web = Web::new(&app);
        // Without a session: the sign-in page, never the records.
        let anonymous = web.get("/contacts/choices?q=zoe").await;
        assert!(!anonymous.body.contains("Zoe"));
        web.sign_in("kim@example.com").await;
        let all: Value = serde_json::from_str(&web.get("/contacts/choices").await.body).unwrap();
        let names: Vec<&str> = all.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Amy Zhu", "Zoe Adams"], "A–Z, this organization's only");
        assert_eq!(all[0]["company"], "Acme");
        assert_eq!(all[0]["company_id"], acme["id"]);
        let found: Value = serde_json::from_str(&web.get("/contacts/choices?q=zoe").await.body).unwrap();
        assert_eq!(found.as_array().unwrap().len(), 1);
        assert_eq!(found[0]["name"], "Zoe Adams");
        let companies: Value = serde_json::from_str(&web.get("/companies/choices?q=acm").await.body).unwrap();
        assert_eq!(companies.as_array().unwrap().len(), 1);
        assert_eq!(companies[0]["detail"], "acme.example");
        // A query the API refuses answers its error, not a page.
        let long = "x".repeat(1000);
        let refused = web.get(&format!("/companies/choices?q={long}")).await;
        assert!(refused.status == StatusCode::OK || refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    }

    async fn task_pages_and_quick_tasks_are_the_tenants_own(app) {
        let s = app.register("kim@example.com").await;
        let other = app.register("lee@example.com").await;
        let c = app.post(&other, "/api/v1/contacts", json!({"name": "Theirs"})).await.body;
        let d = app.post(&other, "/api/v1/deals", json!({"title": "Theirs", "contact_id": c["id"]})).await.body;
        let t = app.post(&other, "/api/v1/tasks", json!({"title": "Theirs"})).await.body;
        let mine = app.post(&s, "/api/v1/tasks", json!({"title": "Mine"})).await.body;
        let mut web = Web::new(&app);
        web.sign_in("kim@example.com").await;
        let task = |v: &Value| format!("/tasks/{}", v["id"].as_str().unwrap());
        assert_eq!(web.get(&task(&t)).await.status, StatusCode::NOT_FOUND);
        assert_eq!(web.post(&task(&t), &[("title", "Mine now")]).await.status, StatusCode::NOT_FOUND);
        let deal_tasks = format!("/deals/{}/tasks", d["id"].as_str().unwrap());
        assert_eq!(web.post(&deal_tasks, &[("task_title", "Sneaky")]).await.status, StatusCode::NOT_FOUND);
        let contact_tasks = format!("/contacts/{}/tasks", c["id"].as_str().unwrap());
        assert_eq!(web.post(&contact_tasks, &[("task_title", "Sneaky")]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&other, "/api/v1/tasks").await.body["data"].as_array().unwrap().len(), 1);
        // The browser's zone (the script's `tz` cookie) reads and shows due dates.
        web.cookies.insert("tz".into(), "America%2FNew_York".into());
        let page = web.get(&task(&mine)).await;
        assert!(page.body.contains("Due (America/New_York)"), "{}", page.body);
        let saved = web.post(&task(&mine), &[("title", "Mine"), ("due_date", "2031-07-01T09:00")]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let due = app.get(&s, &task(&mine).replace("/tasks", "/api/v1/tasks")).await.body["due_date"].clone();
        assert_eq!(due.as_str().unwrap().get(..19), Some("2031-07-01T13:00:00"), "09:00 in New York in July is 13:00 UTC");
    }

    async fn a_refused_invitation_keeps_the_email_and_role(app) {
        app.register("kim@example.com").await;
        let mut web = Web::new(&app);
        web.sign_in("kim@example.com").await;
        let refused = web.post("/settings/invitations", &[("email", "not an email"), ("role", "manager")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("value=\"not an email\""));
        assert!(refused.body.contains("<option value=\"manager\" selected>"), "{}", refused.body);
    }

    async fn lists_count_and_take_several_tags(app) {
        let s = app.register("kim@example.com").await;
        for (name, tags) in [("Both", json!(["vip", "renewal"])), ("Vip only", json!(["vip"])), ("None", json!([]))] {
            app.post(&s, "/api/v1/contacts", json!({"name": name, "tags": tags})).await.assert(201);
        }
        let mut web = Web::new(&app);
        web.sign_in("kim@example.com").await;
        let all = web.get("/contacts").await;
        assert!(all.body.contains("id=\"list-count\">3 contacts<"), "{}", all.body);
        // `vip, renewal`: records with both tags; the box shows both again.
        let both = web.get("/contacts?tag=vip%2C+renewal").await;
        assert!(both.body.contains(">Both<") && !both.body.contains(">Vip only<"), "{}", both.body);
        assert!(both.body.contains("id=\"list-count\">1 contact<"));
        assert!(both.body.contains("value=\"vip, renewal\""));
        // More than a page: the count says so without counting them all.
        for i in 0..100 {
            app.post(&s, "/api/v1/contacts", json!({"name": format!("Bulk {i}")})).await.assert(201);
        }
        assert!(web.get("/contacts").await.body.contains("id=\"list-count\">100+ contacts<"));
    }

    async fn exported_cells_never_run_as_formulas(app) {
        let s = app.register("fay@example.com").await;
        let formula = "=HYPERLINK(\"http://evil.example\",\"click\")";
        app.post(&s, "/api/v1/contacts", json!({"name": formula, "title": "@SUM(A1:A9)", "phone": "+14155550134"}))
            .await
            .assert(201);
        app.post(&s, "/api/v1/companies", json!({"name": "-2+3", "industry": "Plain"})).await.assert(201);
        let mut web = Web::new(&app);
        web.sign_in("fay@example.com").await;
        let contacts = web.get("/contacts.csv").await.body;
        let row = contacts.lines().nth(1).unwrap();
        assert!(row.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\""), "{row}");
        assert!(row.contains(",'@SUM(A1:A9),") && row.contains(",'+14155550134,"), "{row}");
        assert!(contacts.starts_with("id,name,"), "the header row is unchanged");
        let companies = web.get("/companies.csv").await.body;
        let row = companies.lines().nth(1).unwrap();
        assert!(row.contains(",'-2+3,") && row.contains(",Plain,"), "{row}");
        // For Excel: a byte order mark first.
        let excel = web.get("/contacts.csv?bom=1").await;
        assert!(excel.body.starts_with('\u{feff}'), "{:?}", &excel.body[..10]);
        assert!(!contacts.starts_with('\u{feff}'));
    }

    async fn lists_and_exports_name_the_company_and_contact(app) {
        let s = app.register("lea@example.com").await;
        let co = app.post(&s, "/api/v1/companies", json!({"name": "Globex"})).await.body;
        let c = app.post(&s, "/api/v1/contacts", json!({"name": "Hank", "company_id": co["id"]})).await.body;
        app.post(&s, "/api/v1/deals", json!({"title": "Big", "contact_id": c["id"], "company_id": co["id"]})).await.assert(201);
        app.post(&s, "/api/v1/contacts", json!({"name": "Loner"})).await.assert(201);
        let mut web = Web::new(&app);
        web.sign_in("lea@example.com").await;
        let contacts = web.get("/contacts.csv?sort=name").await.body;
        let lines: Vec<&str> = contacts.lines().collect();
        assert!(lines[0].starts_with("id,name,email,phone,title,company,"), "{}", lines[0]);
        assert!(lines[1].contains(",Hank,") && lines[1].contains(",Globex,"), "{}", lines[1]);
        assert!(lines[2].contains(",Loner,") && !lines[2].contains("Globex"), "{}", lines[2]);
        let deals = web.get("/deals.csv").await.body;
        let lines: Vec<&str> = deals.lines().collect();
        assert!(lines[0].starts_with("id,title,contact,company,amount,"), "{}", lines[0]);
        assert!(lines[1].contains(",Big,Hank,Globex,"), "{}", lines[1]);
        // The list pages show them too.
        let page = web.get("/deals").await.body;
        assert!(page.contains("<td class=\"hide-narrow\">Hank</td>") && page.contains("<td class=\"hide-narrow\">Globex</td>"));
        assert!(web.get("/contacts").await.body.contains("<td class=\"hide-narrow\">Globex</td>"));
    }

    async fn settings_are_for_admins_and_pages_for_the_tenant(app) {
        let owner = app.register("eve@example.com").await;
        app.add_member(&owner, "mel@example.com", "member").await;
        app.register("sam@example.com").await;
        let contact = app.post(&owner, "/api/v1/contacts", json!({"name": "Eve's client"})).await;
        let id = contact.body["id"].as_str().unwrap().to_string();

        let mut member = Web::new(&app);
        member.sign_in("mel@example.com").await;
        for path in ["/settings", "/settings/members", "/settings/pipelines", "/settings/audit", "/settings/jobs"] {
            assert_eq!(member.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
        }
        let page = member.post("/settings", &[("name", "Taken over")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);

        let mut other = Web::new(&app);
        other.sign_in("sam@example.com").await;
        assert_eq!(other.get(&format!("/contacts/{id}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(other.get(&format!("/deals/{id}")).await.status, StatusCode::NOT_FOUND);
        let page = other.post(&format!("/contacts/{id}"), &[("name", "Stolen")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        let page = other.post(&format!("/contacts/{id}/comments"), &[("text", "hi")]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert!(!other.get("/contacts.csv").await.body.contains("Eve's client"));
        // The other organization cannot be switched to.
        let page = other.post("/organization", &[("organization_id", owner.org_id.as_str())]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);

        let mut admin = Web::new(&app);
        admin.sign_in("eve@example.com").await;
        let page = admin.post("/settings", &[("name", "Eve Inc"), ("default_currency", "EUR"), ("default_country", "DE"), ("member_visibility", "own")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let org = app.get(&owner, "/api/v1/organization").await;
        assert_eq!(org.body["name"], "Eve Inc");
        assert_eq!(org.body["member_visibility"], "own");
        let page = admin.post("/settings", &[("name", ""), ("default_currency", "EURO")]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("id=\"default_currency-error\""));
        // The audit log in words: the action, who, and what changed.
        let audit = admin.get("/settings/audit").await;
        assert!(audit.body.contains("Changed the settings"), "{}", audit.body);
        assert!(audit.body.contains("→ Eve Inc"));
        assert!(!audit.body.contains("organization.updated"));
        // Pipelines: a new one from the stage lines.
        let page = admin.post("/settings/pipelines", &[("name", "Renewals"), ("stages", "ask: Ask\noffer: Offer")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let list = app.get(&owner, "/api/v1/pipelines").await;
        assert_eq!(list.body["data"][1]["stages"][1]["key"], "offer");
        let page = admin.post("/settings/pipelines", &[("name", "Bad"), ("stages", "Not A Key: x")]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("stages[0].key"));
    }

    async fn an_upload_needs_the_forms_csrf_token_first(app) {
        app.register("ann@example.com").await;
        let mut web = Web::new(&app);
        web.sign_in("ann@example.com").await;
        web.get("/imports").await;
        let form = |csrf: &str| {
            reqwest::multipart::Form::new()
                .text("_csrf", csrf.to_string())
                .text("object", "contacts")
                .part("file", reqwest::multipart::Part::bytes(b"name\nAda\n".to_vec()).file_name("a.csv"))
        };
        let wrong = web.send(app.client.post(app.url("/imports")).multipart(form("nope"))).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.body);
        // The token after the file is not read: it must come first.
        let late = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(b"name\nAda\n".to_vec()).file_name("a.csv"))
            .text("_csrf", web.csrf.clone());
        let late = web.send(app.client.post(app.url("/imports")).multipart(late)).await;
        assert_eq!(late.status, StatusCode::FORBIDDEN);
        let csrf = web.csrf.clone();
        let ok = web.send(app.client.post(app.url("/imports")).multipart(form(&csrf))).await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        assert!(ok.location().starts_with("/imports/"));
    }

    async fn the_jobs_page_shows_each_job_with_its_status_and_error(app) {
        let ann = app.register("ann@example.com").await;
        let dir = tempfile::tempdir().unwrap();
        let core = crm::app::App::open(test_config(&app.database_url, dir.path())).await.unwrap();
        let org: uuid::Uuid = ann.org_id.parse().unwrap();
        let mut job = crm::services::jobs::NewJob::new(org, "import", json!({}));
        job.max_attempts = 1;
        let mut tx = core.db.begin().await.unwrap();
        crm::services::jobs::enqueue(tx.exec(), &job).await.unwrap();
        let claimed = crm::services::jobs::claim(tx.exec(), "w", &["import"], 1, std::time::Duration::from_secs(300)).await.unwrap();
        crm::services::jobs::fail(tx.exec(), &claimed[0], "line 7: the file ended inside a quoted field").await.unwrap();
        // Due tomorrow: the server's worker leaves it queued.
        let mut later = crm::services::jobs::NewJob::new(org, "import", json!({}));
        later.run_at += chrono::Duration::days(1);
        crm::services::jobs::enqueue(tx.exec(), &later).await.unwrap();
        tx.commit().await.unwrap();

        let mut web = Web::new(&app);
        web.sign_in("ann@example.com").await;
        let page = web.get("/settings/jobs").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("CSV import"), "{}", page.body);
        assert!(page.body.contains(">dead<") && page.body.contains(">queued<"));
        assert!(page.body.contains("1 of 1"));
        assert!(page.body.contains("line 7: the file ended inside a quoted field"));
        let dead = web.get("/settings/jobs?status=dead").await;
        assert!(dead.body.contains(">dead<") && !dead.body.contains(">queued<"));
        assert!(dead.body.contains("href=\"/settings/jobs?status=dead\" aria-current=\"page\""));
        let bad = web.get("/settings/jobs?status=finished").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn companies_contacts_and_deals_through_the_forms(app) {
        app.register("fay@example.com").await;
        let mut web = Web::new(&app);
        web.sign_in("fay@example.com").await;
        web.get("/companies/new").await;
        let bad = web.post("/companies", &[("name", "Acme"), ("employee_count", "many")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("id=\"employee_count-error\""));
        let made = web.post("/companies", &[("name", "Acme"), ("domain", "acme.example"), ("employee_count", "12")]).await;
        assert_eq!(made.status, StatusCode::SEE_OTHER);
        let company_path = made.location().to_string();
        let company_id = company_path.trim_start_matches("/companies/").to_string();

        // A contact of that company, chosen in the form.
        let page = web.get("/contacts/new").await;
        assert!(page.body.contains(&company_id), "the company is offered");
        let contact = web.post("/contacts", &[("name", "Wile"), ("company_id", company_id.as_str()), ("phone", "+1 415 555 0100")]).await;
        assert_eq!(contact.status, StatusCode::SEE_OTHER);
        let contact_path = contact.location().to_string();
        let contact_id = contact_path.trim_start_matches("/contacts/").to_string();
        // The same duplicate rule as the API, shown on the form.
        let dup = web.post("/contacts", &[("name", "Other"), ("phone", "+14155550100")]).await;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        // Said by the phone field, with a link to the contact it collided with.
        assert!(dup.body.contains("id=\"phone-error\">a contact with this phone already exists: Wile"), "{}", dup.body);
        assert!(dup.body.contains(&format!("href=\"/contacts/{contact_id}\" id=\"existing-contact\"")));
        // Lists show the number as people read it; its page calls and writes.
        assert!(web.get("/contacts").await.body.contains("+1 415-555-0100"));
        let with_ext = web.post(&contact_path, &[("name", "Wile"), ("company_id", company_id.as_str()), ("phone", "+1 415 555 0100"), ("phone_extension", "12"), ("email", "wile@acme.example")]).await;
        assert_eq!(with_ext.status, StatusCode::SEE_OTHER, "{}", with_ext.body);
        let page = web.get(&contact_path).await;
        assert!(page.body.contains("href=\"tel:+14155550100;ext=12\">+1 415-555-0100 ext. 12</a>"), "{}", page.body);
        assert!(page.body.contains("href=\"mailto:wile@acme.example\""));

        // A deal for the contact; a won status is refused from `new`.
        let deal = web
            .post("/deals", &[("title", "Rockets"), ("contact_id", contact_id.as_str()), ("company_id", company_id.as_str()), ("amount", "99.50")])
            .await;
        assert_eq!(deal.status, StatusCode::SEE_OTHER);
        let deal_path = deal.location().to_string();
        let refused = web.post(&format!("{deal_path}/status"), &[("status", "won")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("cannot go from `new` to `won`"));
        // The stage select moves it (and starts it); then it can be won.
        assert_eq!(web.post(&format!("{deal_path}/move"), &[("stage", "proposal")]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(web.post(&format!("{deal_path}/status"), &[("status", "won")]).await.status, StatusCode::SEE_OTHER);
        let shown = web.get(&deal_path).await;
        assert!(shown.body.contains("status-won"));
        // The won deal's form, saved with its amount and currency as shown:
        // a new title is a change, the unchanged amount is not.
        let saved = web
            .post(&deal_path, &[("title", "Rockets II"), ("company_id", company_id.as_str()), ("amount", "99.50"), ("currency", "USD")])
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        // Back on the page, which says so and links its company.
        assert_eq!(saved.location(), format!("{deal_path}?saved=1"));
        let shown = web.get(saved.location()).await;
        assert!(shown.body.contains("id=\"saved-notice\""));
        assert!(shown.body.contains(&format!("href=\"/companies/{company_id}\" id=\"company-link\"")));
        assert!(!web.get(&deal_path).await.body.contains("saved-notice"));
        let refused = web.post(&deal_path, &[("title", "Rockets II"), ("company_id", company_id.as_str()), ("amount", "100")]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("cannot change"));

        // The company page lists both; comments land on the timeline.
        let page = web.get(&company_path).await;
        assert!(page.body.contains("Wile") && page.body.contains("Rockets II"));
        assert_eq!(web.post(&format!("{contact_path}/comments"), &[("text", "Called, likes it")]).await.status, StatusCode::SEE_OTHER);
        let empty = web.post(&format!("{contact_path}/comments"), &[("text", "  ")]).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        let page = web.get(&contact_path).await;
        assert!(page.body.contains("Called, likes it"));
        assert!(page.body.contains("Rockets II</a>: Won"), "the deal's timeline shows on its contact, named");
        assert!(page.body.contains("<span class=\"author\">"), "a comment names its author");
        let csv = web.get("/companies.csv").await;
        assert!(csv.body.contains("acme.example"));
    }

    async fn the_organization_switcher_changes_the_working_organization(app) {
        let s = app.register("gil@example.com").await;
        let second = app.post(&s, "/api/v1/organizations", json!({"name": "Side Business"})).await;
        second.assert(201);
        let second_id = second.body["id"].as_str().unwrap().to_string();
        app.post(&s, "/api/v1/contacts", json!({"name": "Main Org Client"})).await.assert(201);

        let mut web = Web::new(&app);
        web.sign_in("gil@example.com").await;
        let page = web.get("/contacts").await;
        assert!(page.body.contains("id=\"org-select\""), "several organizations: a switcher");
        web.post("/organization", &[("organization_id", s.org_id.as_str())]).await;
        let page = web.get("/contacts").await;
        assert!(page.body.contains("Main Org Client"));
        let switched = web.post("/organization", &[("organization_id", second_id.as_str())]).await;
        assert_eq!(switched.status, StatusCode::SEE_OTHER);
        let page = web.get("/contacts").await;
        assert!(!page.body.contains("Main Org Client"), "the list is the other organization's");
        assert!(page.body.contains(&format!("value=\"{second_id}\" selected")));
    }
}
