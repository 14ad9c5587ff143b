//! End-to-end tests of the web app in headless Chromium (Debian's `chromium`
//! and `chromium-driver`), driven over WebDriver by fantoccini, against the
//! real server on SQLite and PostgreSQL (ui.md "How it is tested").
//!
//! Without chromedriver installed these tests say so and pass, so `cargo test`
//! works on a fresh machine; `.ci/run` installs the browser and sets
//! `CRM_BROWSER_TESTS=required`, which turns a missing browser into a failure.
//! Screenshots of the main pages at 1280 and 390 px land in
//! `target/screenshots/`.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::both;
use crate::helpers::{PASSWORD, TestApp};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser at a time: two cores do not run several Chromiums well.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A chromedriver process and a browser session on it; both end on drop.
struct Browser {
    client: Client,
    driver: Child,
    base: String,
}

impl Drop for Browser {
    /// Ends chromedriver and the Chromium it started, also when a test
    /// panicked before its session closed: they share the process group that
    /// `browser` gave chromedriver. (Killing chromedriver alone left every
    /// Chromium running, and they piled up over test runs.)
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a browser for `app`, or `None` (with a note) when none is installed
/// and CI did not ask for one.
async fn browser(app: &TestApp) -> Option<Browser> {
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        if std::env::var("CRM_BROWSER_TESTS").as_deref() == Ok("required") {
            panic!(
                "CRM_BROWSER_TESTS=required but {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
            );
        }
        eprintln!("{CHROMEDRIVER} not installed: browser test skipped");
        return None;
    }
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--lang=en-US"],
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let mut last_error = None;
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver,
                    base: app.url(""),
                });
            }
            Err(e) => {
                last_error = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    panic!("could not start a browser session: {last_error:?}");
}

impl Browser {
    async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{}", self.base, path)).await.unwrap();
    }

    async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Waits for a navigation to land on a path that `check` accepts (a
    /// click returns before the next page has loaded).
    async fn wait_for_path(&self, check: impl Fn(&str) -> bool) -> String {
        for _ in 0..100 {
            let path = self.path().await;
            if check(&path) && self.client.find(Locator::Css("main h1")).await.is_ok() {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached the expected page; at {}", self.path().await);
    }

    async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Waits until `check` holds on the page's text (the board answers
    /// asynchronously).
    async fn wait_for_text(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        for _ in 0..50 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = el.text().await
                && check(&text)
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed the expected text; page: {}", self.source().await);
    }

    async fn sign_in(&self, email: &str) {
        self.goto("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click("form[action='/login'] button[type=submit]").await;
        self.wait_for_path(|p| p == "/").await;
    }

    /// Drags a board card onto the column of `stage` with real pointer input.
    async fn drag_card(&self, deal_id: &str, stage: &str) {
        self.drag_card_to(deal_id, &format!(".column[data-stage='{stage}']"))
            .await
    }

    /// Drags a board card onto the column `column` (a CSS selector).
    async fn drag_card_to(&self, deal_id: &str, column: &str) {
        let card = self
            .find(&format!(".deal-card[data-deal='{deal_id}'] .card-meta"))
            .await;
        let target = self.find(&format!("{column} header")).await;
        let drag = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: card,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::MoveBy {
                duration: Some(Duration::from_millis(100)),
                x: 10.0,
                y: 10.0,
            })
            .then(PointerAction::MoveToElement {
                element: target,
                duration: Some(Duration::from_millis(300)),
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client.perform_actions(drag).await.unwrap();
    }

    /// Saves the current page at laptop and phone width.
    async fn screenshots(&self, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for (width, height) in [(1280, 900), (390, 844)] {
            self.client.set_window_size(width, height).await.unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
        }
        self.client.set_window_size(1280, 900).await.unwrap();
    }
}

/// axe-core's script (tests/axe, from the npm registry; `.ci/run` installs
/// it), or `None` with a note when it is not installed and CI did not ask.
fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/axe/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) if std::env::var("CRM_BROWSER_TESTS").as_deref() == Ok("required") => {
            panic!("{} is missing: (cd tests/axe && npm ci)", path.display())
        }
        Err(_) => {
            eprintln!("axe-core not installed (cd tests/axe && npm ci): accessibility check skipped");
            None
        }
    }
}

impl Browser {
    /// Runs axe-core on the current page: no serious or critical violation
    /// of WCAG 2.1 A and AA (contrast included) or of axe's best practices.
    async fn assert_accessible(&self, what: &str) {
        let Some(axe) = axe_source() else { return };
        self.client.execute(&axe, vec![]).await.unwrap();
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))))
                   .catch(e => done([{id: 'axe-error', help: String(e)}]));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(found, json!([]), "{what}: {found:#}");
    }
}

/// Sets an input's value the way a picker would (date and time inputs take
/// keys in the browser's locale order, which varies).
async fn set_value(b: &Browser, css: &str, value: &str) {
    b.find(css).await;
    b.client
        .execute(
            "document.querySelector(arguments[0]).value = arguments[1]",
            vec![json!(css), json!(value)],
        )
        .await
        .unwrap();
}

/// An owner with one contact (Lin), signed in in a browser: the owner's
/// session, the contact's id and the browser.
async fn owner_with_a_contact(app: &TestApp) -> Option<(crate::helpers::Session, String, Browser)> {
    let owner = app.register("owner@example.com").await;
    let contact = app.post(&owner, "/api/v1/contacts", json!({"name": "Lin"})).await;
    let contact_id = contact.body["id"].as_str().unwrap().to_string();
    let b = browser(app).await?;
    b.sign_in("owner@example.com").await;
    Some((owner, contact_id, b))
}

/// The time zone the API holds for `session`'s user.
async fn me_zone(app: &TestApp, session: &crate::helpers::Session) -> String {
    app.get(session, "/api/v1/auth/me").await.body["user"]["time_zone"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The id at the end of the current path (`/deals/<id>`).
async fn current_id(b: &Browser) -> String {
    b.path().await.rsplit('/').next().unwrap().to_string()
}

both! {
    async fn register_create_drag_win_and_see_the_dashboard(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let Some(b) = browser(&app).await else { return };

        // Register: lands on an empty dashboard.
        b.goto("/register").await;
        b.fill("#name", "Ada Seller").await;
        b.fill("#email", "ada@example.com").await;
        b.fill("#password", "too short").await;
        b.click("form[action='/register'] button[type=submit]").await;
        // The API's message, next to the field.
        let error = b.text("#password-error").await;
        assert!(!error.is_empty(), "a weak password is refused next to its field");
        b.fill("#password", PASSWORD).await;
        b.click("form[action='/register'] button[type=submit]").await;
        b.wait_for_path(|p| p == "/").await;
        assert_eq!(b.text("#card-won .figure").await, "0");
        assert_eq!(b.text("#card-open .figure").await, "0");

        // Create a contact.
        b.click("nav a[href='/contacts']").await;
        b.wait_for_path(|p| p == "/contacts").await;
        b.click("a[href='/contacts/new']").await;
        b.wait_for_path(|p| p == "/contacts/new").await;
        b.fill("#name", "Grace Buyer").await;
        b.fill("#email", "grace@example.com").await;
        b.click("form[action='/contacts'] button[type=submit]").await;
        b.wait_for_path(|p| p.starts_with("/contacts/") && p != "/contacts/new").await;
        assert_eq!(b.text("h1").await, "Grace Buyer");
        let contact_id = current_id(&b).await;

        // Create a deal for her from her page.
        b.click(&format!("a[href='/deals/new?contact_id={contact_id}']")).await;
        b.wait_for_path(|p| p == "/deals/new").await;
        b.fill("#title", "Annual licence").await;
        b.fill("#amount", "1500").await;
        b.click("form[action='/deals'] button[type=submit]").await;
        b.wait_for_path(|p| p.starts_with("/deals/") && p != "/deals/new").await;
        assert_eq!(b.text("h1").await, "Annual licence");
        let deal_id = current_id(&b).await;
        b.screenshots("deal").await;

        // Drag it across the board: qualification → negotiation.
        b.goto("/board").await;
        b.find(&format!(".column[data-stage='qualification'] .deal-card[data-deal='{deal_id}']")).await;
        b.drag_card(&deal_id, "negotiation").await;
        b.wait_for_text(".column[data-stage='negotiation'] .col-count", |t| t == "1").await;
        b.find(&format!(".column[data-stage='negotiation'] .deal-card[data-deal='{deal_id}']")).await;
        // The column's total follows without a reload (the empty column had none).
        b.wait_for_text(".column[data-stage='negotiation'] .col-total", |t| t.contains("1,500.00")).await;
        assert!(b.text(".deal-card .card-age").await.contains("today"));
        // The move is stored: a reload shows it there.
        b.goto("/board").await;
        b.find(&format!(".column[data-stage='negotiation'] .deal-card[data-deal='{deal_id}']")).await;
        assert_eq!(b.text(".column[data-stage='qualification'] .col-count").await, "0");

        // The closed stage is two drop zones, Won and Lost; dropping on Won
        // asks for confirmation (the card's Won dialog opens), then wins it.
        assert!(b.client.find(Locator::Css(".column[data-stage='closed']")).await.is_err());
        b.screenshots("board").await;
        b.drag_card_to(&deal_id, ".column[data-closes='won']").await;
        b.find(&format!(".deal-card[data-deal='{deal_id}'] details.confirm[open] #won-{deal_id}")).await;
        b.click(&format!("#won-{deal_id}")).await;
        b.find(&format!(".column[data-closes='won'] .deal-card[data-deal='{deal_id}']")).await;
        assert_eq!(b.text(".column[data-closes='won'] .col-count").await, "1");
        assert_eq!(b.text(".column[data-closes='lost'] .col-count").await, "0");

        // The dashboard changed.
        b.click("nav a[href='/']").await;
        b.wait_for_path(|p| p == "/").await;
        assert_eq!(b.text("#card-won .figure").await, "1");
        assert!(b.text("#card-won").await.contains("1,500.00"));
        assert_eq!(b.text("#card-win-rate .figure").await, "100%");
        // Recent activity in words, with the deal's title.
        let activity = b.text("#activity-title + ul").await;
        assert!(activity.contains("Won"), "{activity}");
        assert!(activity.contains("Moved from Negotiation to Closed") || activity.contains(": Moved from"), "{activity}");
        b.screenshots("dashboard").await;

        b.goto("/contacts").await;
        b.find("#contacts-table").await;
        b.screenshots("contacts").await;

        // A won deal can be reopened by its owner (an organization owner):
        // back in the stage it was won from.
        b.goto(&format!("/deals/{deal_id}")).await;
        assert_eq!(b.text("#deal-status").await, "won");
        b.click("#reopen").await;
        b.wait_for_text("#deal-status", |t| t == "in progress").await;
        assert!(b.text(".badges").await.contains("Negotiation"));
        assert!(!b.source().await.contains("id=\"reopen\""), "an open deal has no Reopen");

        // Delete the deal from its page (the folded confirmation, then its
        // button), then its contact, which has no deal left.
        b.click(".danger-zone summary").await;
        b.click("#confirm-delete").await;
        b.wait_for_path(|p| p == "/deals").await;
        assert!(!b.source().await.contains(&deal_id));
        b.goto(&format!("/contacts/{contact_id}")).await;
        b.click(".danger-zone summary").await;
        b.click("#confirm-delete").await;
        b.wait_for_path(|p| p == "/contacts").await;
        assert!(!b.source().await.contains(&contact_id));

        // Signing out ends the session: pages send the browser to sign in.
        b.click("form[action='/logout'] button").await;
        b.wait_for_path(|p| p == "/login").await;
        b.goto("/contacts").await;
        assert_eq!(b.path().await, "/login");
    }

    async fn a_members_backward_drag_is_refused(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let member = app.add_member(&owner, "member@example.com", "member").await;
        let contact = app.post(&member, "/api/v1/contacts", json!({"name": "Lin"})).await;
        contact.assert(201);
        let deal = app
            .post(&member, "/api/v1/deals", json!({"title": "Renewal", "contact_id": contact.body["id"], "amount": "10"}))
            .await;
        deal.assert(201);
        let deal_id = deal.body["id"].as_str().unwrap().to_string();
        app.patch(&member, &format!("/api/v1/deals/{deal_id}"), json!({"stage": "proposal"})).await.assert(200);
        let Some(b) = browser(&app).await else { return };

        b.sign_in("member@example.com").await;
        b.goto("/board").await;
        b.drag_card(&deal_id, "qualification").await;
        let reason = b.wait_for_text("#board-message", |t| !t.is_empty()).await;
        assert!(reason.contains("only owners and admins"), "reason shown: {reason}");
        b.find(&format!(".column[data-stage='proposal'] .deal-card[data-deal='{deal_id}']")).await;
        // Nothing changed on the server.
        let after = app.get(&member, &format!("/api/v1/deals/{deal_id}")).await;
        assert_eq!(after.body["stage"], "proposal");
        // A forward move works for the member.
        b.drag_card(&deal_id, "negotiation").await;
        b.wait_for_text(".column[data-stage='negotiation'] .col-count", |t| t == "1").await;
    }

    async fn a_second_pipeline_the_owner_filter_and_a_lost_drop(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let member = app.add_member(&owner, "member@example.com", "member").await;
        let company = app.post(&owner, "/api/v1/companies", json!({"name": "Acme"})).await;
        let company_id = company.body["id"].as_str().unwrap().to_string();
        let contact = app
            .post(&owner, "/api/v1/contacts", json!({"name": "Lin", "company_id": company_id}))
            .await;
        let contact_id = contact.body["id"].as_str().unwrap().to_string();
        let renewals = app
            .post(
                &owner,
                "/api/v1/pipelines",
                json!({"name": "Renewals", "stages": [{"key": "intake", "name": "Intake"}, {"key": "signed", "name": "Signed"}]}),
            )
            .await;
        renewals.assert(201);
        let renewals_id = renewals.body["id"].as_str().unwrap().to_string();
        let theirs = app
            .post(&member, "/api/v1/deals", json!({"title": "Member's deal", "contact_id": contact_id, "amount": "70"}))
            .await;
        let theirs_id = theirs.body["id"].as_str().unwrap().to_string();
        app.post(&owner, "/api/v1/deals", json!({"title": "Owner's deal", "contact_id": contact_id})).await.assert(201);
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;

        // The board's New deal starts in the board's pipeline, its first stage.
        b.goto(&format!("/board?pipeline_id={renewals_id}")).await;
        b.click("#board-new-deal").await;
        b.wait_for_path(|p| p == "/deals/new").await;
        assert_eq!(b.find("#pipeline_id").await.prop("value").await.unwrap().unwrap(), renewals_id);
        assert_eq!(b.find("#stage").await.prop("value").await.unwrap().unwrap(), "intake");
        // The stage select offers only the chosen pipeline's stages.
        let default_group = b.find("#stage optgroup:not([disabled])").await;
        assert_eq!(default_group.attr("label").await.unwrap().as_deref(), Some("Renewals"));

        // From the contact's page: the company is filled in; switching the
        // pipeline switches the stages.
        b.goto(&format!("/contacts/{contact_id}")).await;
        b.click(&format!("a[href='/deals/new?contact_id={contact_id}']")).await;
        b.wait_for_path(|p| p == "/deals/new").await;
        assert_eq!(b.find("#company_id").await.prop("value").await.unwrap().unwrap(), company_id);
        assert_eq!(b.find("#stage").await.prop("value").await.unwrap().unwrap(), "qualification");
        b.find("#pipeline_id").await.select_by_value(&renewals_id).await.unwrap();
        assert_eq!(b.find("#stage").await.prop("value").await.unwrap().unwrap(), "intake");
        b.find("#stage").await.select_by_value("signed").await.unwrap();
        b.fill("#title", "Second year").await;
        b.click("form[action='/deals'] button[type=submit]").await;
        b.wait_for_path(|p| p.starts_with("/deals/") && p != "/deals/new").await;
        let created = app.get(&owner, &format!("/api/v1/deals/{}", current_id(&b).await)).await;
        assert_eq!(created.body["pipeline_id"], renewals_id.as_str());
        assert_eq!(created.body["stage"], "signed");
        assert_eq!(created.body["company_id"], company_id.as_str());

        // The owner filter: only the member's deal; its card tells its days in stage.
        b.goto("/board").await;
        b.find("#board-owner").await.select_by_value(&member.user_id).await.unwrap();
        b.wait_for_text(".column[data-stage='qualification'] .col-count", |t| t == "1").await;
        assert!(!b.source().await.contains("Owner's deal"));
        assert_eq!(
            b.text(&format!(".deal-card[data-deal='{theirs_id}'] .card-age")).await,
            "In stage today"
        );

        // Dropping on Lost asks for the reason, then loses it with that reason.
        b.drag_card_to(&theirs_id, ".column[data-closes='lost']").await;
        b.fill(&format!("#reason-text-{theirs_id}"), "Went quiet").await;
        b.click(&format!("#lost-{theirs_id}")).await;
        b.find(&format!(".column[data-closes='lost'] .deal-card[data-deal='{theirs_id}']")).await;
        // Still filtered by owner after the round trip.
        assert!(!b.source().await.contains("Owner's deal"));
        let lost = app.get(&owner, &format!("/api/v1/deals/{theirs_id}")).await;
        assert_eq!(lost.body["status"], "lost");
        assert_eq!(lost.body["lost_reason"], "Went quiet");
        assert!(b.text(".column[data-closes='lost'] .col-total").await.contains("70.00"));
    }

    async fn search_as_you_type_keeps_focus_and_every_keystroke(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        for name in ["Grace Hopper", "Alan Turing", "Ada Lovelace"] {
            app.post(&owner, "/api/v1/contacts", json!({"name": name})).await.assert(201);
        }
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/contacts").await;
        let q = b.find("#q").await;
        q.click().await.unwrap();
        q.send_keys("tur").await.unwrap();
        b.wait_for_text("#contacts-table tbody", |t| t.contains("Alan Turing") && !t.contains("Grace")).await;
        // Typing on while the list updates loses nothing, and the box keeps the focus.
        q.send_keys("ing").await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let focused = b.client.execute("return document.activeElement.id", vec![]).await.unwrap();
        assert_eq!(focused, json!("q"));
        assert_eq!(b.find("#q").await.prop("value").await.unwrap().as_deref(), Some("turing"));
        assert!(b.text("#contacts-table tbody").await.contains("Alan Turing"));
        // The address follows: a reload shows the same list; the export takes the filter.
        assert!(b.client.current_url().await.unwrap().query().unwrap_or_default().contains("q=turing"));
        let export = b.find("#list-actions a[download]").await.attr("href").await.unwrap().unwrap();
        assert!(export.contains("q=turing"), "{export}");
        // Emptying the box shows everyone again.
        b.find("#q").await.clear().await.unwrap();
        b.find("#q").await.send_keys(" ").await.unwrap();
        b.wait_for_text("#contacts-table tbody", |t| t.contains("Grace Hopper") && t.contains("Ada Lovelace")).await;
    }

    async fn refused_forms_keep_what_was_typed_and_focus_the_error(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let Some((_owner, contact_id, b)) = owner_with_a_contact(&app).await else { return };

        // A comment over 10,000 characters: refused, kept in its box, focused.
        b.goto(&format!("/contacts/{contact_id}")).await;
        let long = format!("Notes from the call. {}", "x".repeat(10_000));
        b.client
            .execute("document.getElementById('comment-text').value = arguments[0]", vec![json!(long)])
            .await
            .unwrap();
        b.click("form.comment-box button[type=submit]").await;
        b.find("#text-error").await;
        assert_eq!(b.find("#comment-text").await.prop("value").await.unwrap(), Some(long));
        let focused = b.client.execute("return document.activeElement.id", vec![]).await.unwrap();
        assert_eq!(focused, json!("comment-text"));

        // A pipeline with a bad stage key: the typed stages stay, the error
        // sits under them, and they have the focus.
        b.goto("/settings/pipelines").await;
        b.fill("#name-new", "Partners").await;
        b.fill("#stages-new", "intro: Intro\nBad Key: Oops").await;
        b.click("form[action='/settings/pipelines'] button[type=submit]").await;
        b.find("#stages-new-error").await;
        assert_eq!(b.find("#name-new").await.prop("value").await.unwrap().as_deref(), Some("Partners"));
        assert_eq!(
            b.find("#stages-new").await.prop("value").await.unwrap().as_deref(),
            Some("intro: Intro\nBad Key: Oops")
        );
        let focused = b.client.execute("return document.activeElement.id", vec![]).await.unwrap();
        assert_eq!(focused, json!("stages-new"));
    }

    async fn at_phone_width_the_menu_folds_and_lists_keep_name_and_phone(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        app.post(
            &owner,
            "/api/v1/contacts",
            json!({"name": "Bartholomew Longname-Smythe", "email": "bartholomew.longname@example.com", "phone": "+1 415 555 0134"}),
        )
        .await
        .assert(201);
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.client.set_window_size(390, 844).await.unwrap();
        b.goto("/contacts").await;
        b.find("#contacts-table").await;
        assert!(b.text("#contacts-table tbody").await.contains("+1 415-555-0134"), "the number as people read it");
        // One header row: the navigation waits behind the menu button.
        assert!(b.find("#menu-toggle").await.is_displayed().await.unwrap());
        assert!(!b.find("#main-nav").await.is_displayed().await.unwrap());
        b.click("#menu-toggle").await;
        assert!(b.find("#main-nav").await.is_displayed().await.unwrap());
        assert_eq!(b.find("#menu-toggle").await.attr("aria-expanded").await.unwrap().as_deref(), Some("true"));
        // Name and phone are in view without scrolling; the email folds under
        // the name; the date stays on one line.
        let layout = b
            .client
            .execute(
                "const row = document.querySelector('#contacts-table tbody tr');
                 const cells = [...row.cells];
                 const headers = [...document.querySelectorAll('#contacts-table thead th')].map(h => h.textContent.trim());
                 const at = (label) => cells[headers.indexOf(label)].getBoundingClientRect();
                 const lines = document.createRange();
                 lines.selectNodeContents(cells[headers.indexOf('Created')]);
                 return { width: window.innerWidth, name: at('Name').right, phone: at('Phone').right,
                          created: lines.getClientRects().length,
                          fold: row.querySelector('.fold') && row.querySelector('.fold').offsetParent !== null };",
                vec![],
            )
            .await
            .unwrap();
        let width = layout["width"].as_f64().unwrap();
        assert!(layout["name"].as_f64().unwrap() <= width, "{layout}");
        assert!(layout["phone"].as_f64().unwrap() <= width, "{layout}");
        assert_eq!(layout["fold"], json!(true), "{layout}");
        assert_eq!(layout["created"], json!(1), "the date is one line: {layout}");
        b.client.set_window_size(1280, 900).await.unwrap();
    }

    async fn pickers_search_every_record_by_keyboard(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        // More contacts than a select lists; the one we want sorts last.
        for i in 0..110 {
            app.post(&owner, "/api/v1/contacts", json!({"name": format!("Buyer {i:03}")})).await.assert(201);
        }
        let company = app.post(&owner, "/api/v1/companies", json!({"name": "Zenith Labs", "domain": "zenith.example"})).await;
        let company_id = company.body["id"].as_str().unwrap().to_string();
        let zed = app
            .post(&owner, "/api/v1/contacts", json!({"name": "Zed Zimmer", "email": "zed@zenith.example", "company_id": company_id}))
            .await;
        let zed_id = zed.body["id"].as_str().unwrap().to_string();
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/deals/new").await;
        assert!(!b.source().await.contains("Zed Zimmer"), "the first page A–Z stops before Z");
        b.fill("#title", "Lab equipment").await;
        // Type, then choose with the keyboard: the list names the contact's company.
        b.find("#contact_id-search").await.send_keys("zim").await.unwrap();
        let offered = b.wait_for_text("#contact_id-list", |t| t.contains("Zed Zimmer")).await;
        assert!(offered.contains("Zenith Labs"), "{offered}");
        let search = b.find("#contact_id-search").await;
        search.send_keys("\u{E015}").await.unwrap(); // ArrowDown
        search.send_keys("\u{E007}").await.unwrap(); // Enter: picks, does not send the form
        assert_eq!(b.path().await, "/deals/new");
        assert_eq!(b.find("#contact_id").await.prop("value").await.unwrap().unwrap(), zed_id);
        assert_eq!(b.find("#contact_id-search").await.prop("value").await.unwrap().as_deref(), Some("Zed Zimmer"));
        // Her company came along.
        assert_eq!(b.find("#company_id").await.prop("value").await.unwrap().unwrap(), company_id);
        assert_eq!(b.find("#company_id-search").await.prop("value").await.unwrap().as_deref(), Some("Zenith Labs"));
        b.click("form[action='/deals'] button[type=submit]").await;
        b.wait_for_path(|p| p.starts_with("/deals/") && p != "/deals/new").await;
        let deal = app.get(&owner, &format!("/api/v1/deals/{}", current_id(&b).await)).await;
        assert_eq!(deal.body["contact_id"], zed_id.as_str());
        assert_eq!(deal.body["company_id"], company_id.as_str());
    }

    async fn duplicates_merge_field_by_field_from_the_contact_page(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let keep = app.post(&owner, "/api/v1/contacts", json!({"name": "Jon Smith", "title": "CEO", "tags": ["vip"]})).await;
        let keep_id = keep.body["id"].as_str().unwrap().to_string();
        let dup = app
            .post(&owner, "/api/v1/contacts", json!({"name": "Jonathan Smith", "email": "jon@acme.example", "title": "Founder", "tags": ["expo"]}))
            .await;
        let dup_id = dup.body["id"].as_str().unwrap().to_string();
        let task = app.post(&owner, "/api/v1/tasks", json!({"title": "Send the quote", "contact_id": dup_id})).await;
        let task_id = task.body["id"].as_str().unwrap().to_string();
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto(&format!("/contacts/{keep_id}")).await;
        b.click(&format!("a[href='/contacts/{keep_id}/merge']")).await;
        b.wait_for_path(|p| p.ends_with("/merge")).await;
        // Pick the duplicate by keyboard, add it.
        b.find("#with-search").await.send_keys("jonathan").await.unwrap();
        // Focusing lists everyone A–Z first; wait for the typed search's answer.
        b.wait_for_text("#with-list", |t| t.contains("Jonathan Smith") && t.matches("Smith").count() == 1).await;
        let search = b.find("#with-search").await;
        search.send_keys("\u{E015}").await.unwrap();
        search.send_keys("\u{E007}").await.unwrap();
        b.click("form.inline-form button[type=submit]").await;
        b.find("#merge-now").await;
        // Side by side: the survivor's title is chosen, the email it lacks comes from the other.
        assert!(b.find(&format!("input[name=take_title][value='{keep_id}']")).await.prop("checked").await.unwrap().is_some_and(|v| v == "true"));
        assert!(b.find(&format!("input[name=take_email][value='{dup_id}']")).await.prop("checked").await.unwrap().is_some_and(|v| v == "true"));
        // Take the other's name, merge.
        b.click(&format!("input[name=take_name][value='{dup_id}']")).await;
        b.click("#merge-now").await;
        b.wait_for_path(|p| p == format!("/contacts/{keep_id}")).await;
        let survivor = app.get(&owner, &format!("/api/v1/contacts/{keep_id}")).await;
        assert_eq!(survivor.body["name"], "Jonathan Smith");
        assert_eq!(survivor.body["title"], "CEO");
        assert_eq!(survivor.body["email"], "jon@acme.example");
        assert_eq!(survivor.body["tags"], json!(["vip", "expo"]));
        app.get(&owner, &format!("/api/v1/contacts/{dup_id}")).await.assert_problem(404, "not_found");
        assert_eq!(app.get(&owner, &format!("/api/v1/tasks/{task_id}")).await.body["contact_id"], keep_id.as_str());
        assert!(b.source().await.contains("Send the quote"), "the task shows on the survivor's page");
    }

    async fn the_duplicates_page_leads_to_the_merge_screen(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let first = app.post(&owner, "/api/v1/contacts", json!({"name": "John Doe", "email": "john.doe@gmail.com", "title": "CEO"})).await;
        let first_id = first.body["id"].as_str().unwrap().to_string();
        let second = app.post(&owner, "/api/v1/contacts", json!({"name": "Johnny Doe", "email": "johndoe@gmail.com", "phone": "+1 415 555 0134"})).await;
        let second_id = second.body["id"].as_str().unwrap().to_string();
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/contacts").await;
        b.click("#duplicates-link").await;
        b.wait_for_path(|p| p == "/contacts/duplicates").await;
        let table = b.text("#duplicates-table").await;
        assert!(table.contains("same email") && table.contains("John Doe") && table.contains("Johnny Doe"), "{table}");
        b.click("#duplicates-table a.button").await;
        b.wait_for_path(|p| p == format!("/contacts/{first_id}/merge")).await;
        b.find("#merge-now").await;
        // The phone only the second has is taken from it; merge.
        assert!(b.find(&format!("input[name=take_phone][value='{second_id}']")).await.prop("checked").await.unwrap().is_some_and(|v| v == "true"));
        b.click("#merge-now").await;
        b.wait_for_path(|p| p == format!("/contacts/{first_id}")).await;
        let kept = app.get(&owner, &format!("/api/v1/contacts/{first_id}")).await;
        assert_eq!((kept.body["title"].as_str(), kept.body["phone"].as_str()), (Some("CEO"), Some("+14155550134")));
        b.goto("/contacts/duplicates").await;
        assert!(b.text("#duplicates-table").await.contains("No likely duplicates"));
    }

    async fn a_listing_shows_the_leads_it_fits_and_turns_sold_when_its_deal_is_won(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let buyer = app
            .post(&owner, "/api/v1/leads", json!({"name": "Bea Buyer", "email": "bea@example.org",
                "preferences": {"budget_max": "500000", "property_type": "house", "bedrooms_min": 3, "locations": ["Cascais"]}}))
            .await;
        let buyer_id = buyer.body["id"].as_str().unwrap().to_string();
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/properties").await;
        b.click("a[href='/properties/new']").await;
        b.wait_for_path(|p| p == "/properties/new").await;
        b.fill("#title", "Casa do Mar").await;
        b.find("#property_type").await.send_keys("house").await.unwrap();
        b.fill("#price", "480000").await;
        b.fill("#bedrooms", "4").await;
        b.fill("#city", "Cascais").await;
        b.fill("#country", "pt").await;
        b.click("form[action='/properties'] button[type=submit]").await;
        b.wait_for_path(|p| p.starts_with("/properties/") && p != "/properties/new").await;
        let property_id = current_id(&b).await;
        let fits = b.text("#matching-leads").await;
        assert!(fits.contains("Bea Buyer") && fits.contains("100 %") && fits.contains("in cascais"), "{fits}");
        // The cards show the main facts.
        b.goto("/properties/cards?city=cascais").await;
        let cards = b.text("#property-cards").await;
        assert!(cards.contains("Casa do Mar") && cards.contains("4 bedrooms") && cards.contains("480,000.00"), "{cards}");
        // Converted with a deal on the listing, and won: the listing is sold.
        let converted = app.post(&owner, &format!("/api/v1/leads/{buyer_id}/convert"), json!({"deal": {"amount": "480000"}})).await;
        let deal = converted.body["deal"]["id"].as_str().unwrap().to_string();
        app.patch(&owner, &format!("/api/v1/deals/{deal}"), json!({"property_id": property_id, "status": "in_progress"})).await.assert(200);
        app.patch(&owner, &format!("/api/v1/deals/{deal}"), json!({"status": "won"})).await.assert(200);
        b.goto(&format!("/properties/{property_id}")).await;
        assert_eq!(b.text("#property-status").await, "sold");
        assert!(b.text("#matching-leads").await.is_empty(), "a sold listing fits no one");
    }

    async fn a_form_visitor_becomes_a_scored_lead_a_deal_won_on_a_listing_and_the_listing_sold(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let listing = app.post(&owner, "/api/v1/properties", json!({"title": "Villa Azul", "property_type": "villa", "price": "650000",
            "address": {"city": "Faro", "country": "PT"}})).await;
        let property_id = listing.body["id"].as_str().unwrap().to_string();
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        // The form, made in the settings, on a website's page.
        b.goto("/settings/forms").await;
        b.fill("#name", "Villa enquiries").await;
        b.click("input[name=ask_phone]").await;
        b.click("#create-form").await;
        b.wait_for_path(|p| p == "/settings/forms").await;
        let snippet = b.find("textarea.snippet").await.prop("value").await.unwrap().unwrap().replace("http://crm.test", &app.url(""));
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("villas.html");
        std::fs::write(&page, format!("<!doctype html><html lang=\"en\"><title>Villas</title><body>{snippet}</body></html>")).unwrap();
        b.client.goto(&format!("file://{}", page.display())).await.unwrap();
        b.find("input[name=name]").await.send_keys("Vic Visitor").await.unwrap();
        b.find("input[name=email]").await.send_keys("vic@example.org").await.unwrap();
        b.find("input[name=phone]").await.send_keys("+351 21 000 0000").await.unwrap();
        b.find("textarea[name=message]").await.send_keys("Is the villa still free?").await.unwrap();
        b.click("button[type=submit]").await;
        // Scored: email, phone, website, and the message as recent activity.
        let start = std::time::Instant::now();
        let lead = loop {
            let leads = app.get(&owner, "/api/v1/leads").await;
            if let Some(lead) = leads.body["data"].as_array().and_then(|l| l.first()).cloned() {
                break lead;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "no lead from the form");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(lead["score"], 55, "{lead}");
        let lead_id = lead["id"].as_str().unwrap().to_string();
        b.goto(&format!("/leads/{lead_id}")).await;
        assert_eq!(b.text("#lead-score").await, "55");
        // Converted with a deal …
        b.click("#with-deal").await;
        b.fill("#deal_amount", "640000").await;
        b.click("#convert-now").await;
        b.wait_for_path(|p| p.starts_with("/deals/")).await;
        let deal_id = current_id(&b).await;
        // … about the listing, started and won.
        set_value(&b, "#property_id", &property_id).await;
        b.click(&format!("form[action='/deals/{deal_id}'] .actions button[type=submit]")).await;
        b.wait_for_path(|p| p == format!("/deals/{deal_id}")).await;
        b.click("form[action$='/status'] button.primary").await;
        b.wait_for_text("#deal-status", |t| t == "in progress" || t == "in_progress").await;
        b.click("details.confirm summary").await;
        b.click(&format!("#won-{deal_id}")).await;
        b.wait_for_text("#deal-status", |t| t == "won").await;
        // The listing shows sold.
        b.goto(&format!("/properties/{property_id}")).await;
        assert_eq!(b.text("#property-status").await, "sold");
        let deal = app.get(&owner, &format!("/api/v1/deals/{deal_id}")).await;
        assert_eq!(deal.body["property_id"], property_id.as_str());
    }

    async fn a_website_form_made_in_settings_turns_a_visit_into_a_lead(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/settings/forms").await;
        b.fill("#name", "Pricing page").await;
        b.click("input[name=ask_phone]").await;
        b.fill("#thank_you_url", &app.url("/forgot-password?thanks=1")).await;
        b.click("#create-form").await;
        b.wait_for_path(|p| p == "/settings/forms").await;
        let snippet = b.find("textarea.snippet").await.prop("value").await.unwrap().unwrap();
        assert!(snippet.contains("name=\"website_url\"") && snippet.contains("name=\"phone\""), "{snippet}");
        // The snippet posts to the server's public URL (CRM_PUBLIC_URL), which
        // the test server only pretends to have.
        assert!(snippet.contains("action=\"http://crm.test/f/"), "{snippet}");
        let snippet = snippet.replace("http://crm.test", &app.url(""));
        // The snippet on a page of its own, as a website would have it; the
        // visitor came from a campaign.
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path().join("pricing.html");
        std::fs::write(&page, format!("<!doctype html><html lang=\"en\"><title>Pricing</title><body>{snippet}</body></html>")).unwrap();
        b.client.goto(&format!("file://{}?utm_source=newsletter&utm_campaign=spring", page.display())).await.unwrap();
        b.find("input[name=name]").await.send_keys("Vera Visitor").await.unwrap();
        b.find("input[name=email]").await.send_keys("vera@example.org").await.unwrap();
        b.find("input[name=phone]").await.send_keys("+44 20 7946 0958").await.unwrap();
        b.find("textarea[name=message]").await.send_keys("Do you do group rates?").await.unwrap();
        b.click("button[type=submit]").await;
        // The form's thank-you page.
        b.wait_for_path(|p| p == "/forgot-password").await;
        let leads = app.get(&owner, "/api/v1/leads").await;
        let lead = &leads.body["data"][0];
        assert_eq!((lead["name"].as_str(), lead["phone"].as_str(), lead["source"].as_str()), (Some("Vera Visitor"), Some("+442079460958"), Some("website")));
        assert_eq!((lead["utm"]["source"].as_str(), lead["utm"]["campaign"].as_str()), (Some("newsletter"), Some("spring")));
        assert_eq!(lead["score"], 55, "email, phone, website and the message as recent activity");
        // The team sees it in the app with its message.
        b.goto(&format!("/leads/{}", lead["id"].as_str().unwrap())).await;
        assert!(b.text("#timeline").await.contains("Do you do group rates?"));
    }

    async fn a_custom_field_is_defined_filled_and_filtered(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        app.post(&owner, "/api/v1/contacts", json!({"name": "Silvia Silver"})).await.assert(201);
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        // Defined in the settings …
        b.goto("/settings/custom-fields").await;
        set_value(&b, "#object", "contacts").await;
        b.fill("#label", "Tier").await;
        b.fill("#key", "tier").await;
        set_value(&b, "#type", "select").await;
        b.fill("#options", "gold, silver").await;
        b.click("#create-custom-field").await;
        b.wait_for_text("section[aria-labelledby=cf-contacts]", |t| t.contains("custom.tier")).await;
        let fields = app.get(&owner, "/api/v1/custom-fields?object=contacts").await;
        assert_eq!(fields.body["data"][0]["options"], json!(["gold", "silver"]));
        // … filled on a contact's form …
        b.goto("/contacts/new").await;
        b.fill("#name", "Gert Gold").await;
        set_value(&b, "select[name='custom.tier']", "gold").await;
        b.click("form[action='/contacts'] button[type=submit]").await;
        b.wait_for_path(|p| p.starts_with("/contacts/") && p != "/contacts/new").await;
        let id = current_id(&b).await;
        let contact = app.get(&owner, &format!("/api/v1/contacts/{id}")).await;
        assert_eq!(contact.body["custom"], json!({"tier": "gold"}));
        // The record page shows it selected; a bad value would be refused by the field.
        let shown = b.find("select[name='custom.tier'] option[selected]").await.text().await.unwrap();
        assert_eq!(shown, "gold");
        // … and filters the list.
        b.goto("/contacts").await;
        set_value(&b, "select[name='custom.tier']", "gold").await;
        b.click("form.filters button[type=submit]").await;
        b.wait_for_path(|p| p == "/contacts").await;
        let table = b.wait_for_text("#contacts-table tbody", |t| !t.contains("Silvia")).await;
        assert!(table.contains("Gert Gold"), "{table}");
        assert_eq!(b.find("select[name='custom.tier'] option[selected]").await.text().await.unwrap(), "gold");
    }

    async fn a_shared_view_appears_for_a_colleague(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        app.add_member(&owner, "colleague@example.com", "member").await;
        for (name, tags) in [("Vic Vip", json!(["vip"])), ("Nora Normal", json!([]))] {
            app.post(&owner, "/api/v1/contacts", json!({"name": name, "tags": tags})).await.assert(201);
        }
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/contacts?tag=vip&sort=name").await;
        b.click(".save-view summary").await;
        b.fill("#view-name", "VIP customers").await;
        b.click("#view-shared").await;
        b.click("#save-view").await;
        // The new tab is the page being shown.
        let tab = b.wait_for_text(".view-tabs a[aria-current=page]", |t| t.contains("VIP customers")).await;
        assert!(tab.contains("shared"), "{tab}");
        b.click("form[action='/logout'] button").await;
        b.wait_for_path(|p| p == "/login").await;
        // The colleague sees it above the same list, and it filters.
        b.sign_in("colleague@example.com").await;
        b.goto("/contacts").await;
        b.click(".view-tabs a.view-tab").await;
        let table = b.wait_for_text("#contacts-table tbody", |t| !t.contains("Nora")).await;
        assert!(table.contains("Vic Vip"), "{table}");
        assert!(b.text(".view-tabs a[aria-current=page]").await.contains("VIP customers"));
        // A member cannot delete another's shared view: no button.
        assert!(b.client.find(fantoccini::Locator::Css("#delete-view")).await.is_err());
        let views = app.get(&owner, "/api/v1/views?object=contacts").await;
        assert_eq!(views.body["data"][0]["query"], "sort=name&tag=vip");
    }

    async fn rows_are_tagged_assigned_and_deleted_in_bulk(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let colleague = app.add_member(&owner, "colleague@example.com", "member").await;
        let mut ids = Vec::new();
        for name in ["Ada", "Ben", "Cid"] {
            let r = app.post(&owner, "/api/v1/contacts", json!({"name": name})).await;
            ids.push(r.body["id"].as_str().unwrap().to_string());
        }
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/contacts?sort=name").await;
        // Two rows checked, a tag added.
        b.click(&format!("input[name=ids][value='{}']", ids[0])).await;
        b.click(&format!("input[name=ids][value='{}']", ids[1])).await;
        b.fill("#bulk-tags", "Gala").await;
        b.click("#bulk-apply").await;
        let done = b.wait_for_text("#bulk-done", |t| !t.is_empty()).await;
        assert_eq!(done, "2 of 2 changed");
        let r = app.get(&owner, "/api/v1/contacts?tag=gala").await;
        assert_eq!(r.body["data"].as_array().map(Vec::len), Some(2));
        // Every row the filter matches, to a colleague.
        b.goto("/contacts?tag=gala").await;
        set_value(&b, "#bulk-action", "assign_owner").await;
        set_value(&b, "#bulk-owner", &colleague.user_id).await;
        b.click("#bulk-all").await;
        b.click("#bulk-apply").await;
        b.wait_for_text("#bulk-done", |t| t == "2 of 2 changed").await;
        assert_eq!(app.get(&owner, &format!("/api/v1/contacts/{}", ids[1])).await.body["owner_id"], colleague.user_id.as_str());
        // The page's box selects every row; a delete asks first.
        b.goto("/contacts?sort=name").await;
        b.click("input[data-select-all]").await;
        set_value(&b, "#bulk-action", "delete").await;
        b.click("#bulk-apply").await;
        b.client.accept_alert().await.unwrap();
        b.wait_for_text("#bulk-done", |t| t == "3 of 3 changed").await;
        assert_eq!(app.get(&owner, "/api/v1/contacts").await.body["data"].as_array().map(Vec::len), Some(0));
        // The tasks list has them too.
        let task = app.post(&owner, "/api/v1/tasks", json!({"title": "Send the menu", "due_date": "2099-01-01T10:00:00Z"})).await;
        b.goto("/tasks").await;
        b.click(&format!("input[name=ids][value='{}']", task.body["id"].as_str().unwrap())).await;
        b.fill("#bulk-tags", "gala").await;
        b.click("#bulk-apply").await;
        b.wait_for_text("#bulk-done", |t| t == "1 of 1 changed").await;
        assert_eq!(b.path().await, "/tasks");
    }

    async fn a_lead_is_entered_scored_followed_up_and_converted_with_a_deal(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/leads").await;
        b.click("a[href='/leads/new']").await;
        b.wait_for_path(|p| p == "/leads/new").await;
        b.fill("#name", "Rosa Buyer").await;
        b.fill("#email", "rosa@example.com").await;
        b.fill("#company_name", "Rosa Homes").await;
        b.fill("#source", "referral").await;
        b.fill("#budget_max", "450000").await;
        b.fill("#locations", "Lisbon, Porto").await;
        b.click("form[action='/leads'] button[type=submit]").await;
        b.wait_for_path(|p| p.starts_with("/leads/") && p != "/leads/new").await;
        let lead_id = current_id(&b).await;
        // 15 email + 10 company + 25 referral, each reason on the page.
        assert_eq!(b.text("#lead-score").await, "50");
        let reasons = b.text("#score-reasons").await;
        assert!(reasons.contains("Reachable email") && reasons.contains("Source") && reasons.contains("+25"), "{reasons}");
        let lead = app.get(&owner, &format!("/api/v1/leads/{lead_id}")).await;
        assert_eq!(lead.body["preferences"]["budget_max"], "450000.00");
        assert_eq!(lead.body["preferences"]["locations"], json!(["Lisbon", "Porto"]));

        // A follow-up due today puts it in "Follow up today".
        // Half an hour from now, but never past today's end (UTC, the reader's
        // zone here): after 23:30 that would be tomorrow's follow-up.
        let now = chrono::Utc::now();
        let last_minute = now.date_naive().and_hms_opt(23, 59, 0).unwrap().and_utc();
        let soon = (now + chrono::Duration::minutes(30)).min(last_minute.max(now)).to_rfc3339();
        app.patch(&owner, &format!("/api/v1/leads/{lead_id}"), json!({"next_follow_up_at": soon})).await.assert(200);
        app.post(&owner, "/api/v1/leads", json!({"name": "Later Larry"})).await.assert(201);
        b.goto("/leads").await;
        b.click("a[href='/leads/today']").await;
        b.wait_for_path(|p| p == "/leads").await;
        let table = b.text("#leads-table").await;
        assert!(table.contains("Rosa Buyer") && !table.contains("Later Larry"), "{table}");

        // Convert with a deal: the deal's page opens; the lead is kept as it was.
        b.goto(&format!("/leads/{lead_id}")).await;
        b.click("#with-deal").await;
        b.fill("#deal_amount", "12000").await;
        b.click("#convert-now").await;
        b.wait_for_path(|p| p.starts_with("/deals/")).await;
        assert_eq!(b.text("h1").await, "Rosa Buyer");
        let lead = app.get(&owner, &format!("/api/v1/leads/{lead_id}")).await;
        assert_eq!(lead.body["status"], "converted");
        let deal = app.get(&owner, &format!("/api/v1/deals/{}", lead.body["converted_deal_id"].as_str().unwrap())).await;
        assert_eq!((deal.body["amount"].as_str(), deal.body["contact_id"].clone()), (Some("12000.00"), lead.body["converted_contact_id"].clone()));
        b.goto(&format!("/leads/{lead_id}")).await;
        assert!(b.text("#converted-note").await.contains("Converted"));
        assert!(!b.source().await.contains("id=\"convert-now\""), "no second conversion offered");
    }

    async fn company_duplicates_lead_to_a_merge_that_moves_their_contacts(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let first = app.post(&owner, "/api/v1/companies", json!({"name": "Initech Inc.", "industry": "Software"})).await;
        let first_id = first.body["id"].as_str().unwrap().to_string();
        let second = app.post(&owner, "/api/v1/companies", json!({"name": "Initech", "domain": "initech.example", "employee_count": 120})).await;
        let second_id = second.body["id"].as_str().unwrap().to_string();
        let peter = app.post(&owner, "/api/v1/contacts", json!({"name": "Peter Gibbons", "company_id": second_id})).await;
        let peter_id = peter.body["id"].as_str().unwrap().to_string();
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/companies").await;
        b.click("#duplicates-link").await;
        b.wait_for_path(|p| p == "/companies/duplicates").await;
        let table = b.text("#duplicates-table").await;
        assert!(table.contains("same name") && table.contains("Initech Inc.") && table.contains("initech.example"), "{table}");
        b.click("#duplicates-table a.button").await;
        b.wait_for_path(|p| p == format!("/companies/{first_id}/merge")).await;
        b.find("#merge-now").await;
        // The survivor's industry stays; the domain and size only the other has come from it.
        assert!(b.find(&format!("input[name=take_industry][value='{first_id}']")).await.prop("checked").await.unwrap().is_some_and(|v| v == "true"));
        assert!(b.find(&format!("input[name=take_domain][value='{second_id}']")).await.prop("checked").await.unwrap().is_some_and(|v| v == "true"));
        // Take the shorter name, merge.
        b.click(&format!("input[name=take_name][value='{second_id}']")).await;
        b.click("#merge-now").await;
        b.wait_for_path(|p| p == format!("/companies/{first_id}")).await;
        let kept = app.get(&owner, &format!("/api/v1/companies/{first_id}")).await;
        assert_eq!(
            (kept.body["name"].as_str(), kept.body["domain"].as_str(), kept.body["industry"].as_str(), kept.body["employee_count"].as_i64()),
            (Some("Initech"), Some("initech.example"), Some("Software"), Some(120))
        );
        app.get(&owner, &format!("/api/v1/companies/{second_id}")).await.assert_problem(404, "not_found");
        assert_eq!(app.get(&owner, &format!("/api/v1/contacts/{peter_id}")).await.body["company_id"], first_id.as_str());
        // The company page offers the merge screen too.
        assert!(b.source().await.contains(&format!("/companies/{first_id}/merge")));
        b.goto("/companies/duplicates").await;
        assert!(b.text("#duplicates-table").await.contains("No likely duplicates"));
    }

    async fn an_upload_is_checked_imported_and_its_conflicts_resolved(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        let lee = app.post(&owner, "/api/v1/contacts", json!({"name": "Lee Park", "email": "lee@acme.example", "title": "CTO"})).await;
        let lee_id = lee.body["id"].as_str().unwrap().to_string();
        let kim = app.post(&owner, "/api/v1/contacts", json!({"name": "Kim Wu", "email": "kim@acme.example", "title": "Buyer"})).await;
        let kim_id = kim.body["id"].as_str().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("people.csv");
        std::fs::write(
            &file,
            "First Name,Last Name,Email,Job Title,Shoe Size\nAda,Lovelace,ada@example.com,Analyst,38\nLee,Park,lee@acme.example,CEO,44\nKim,Wu,kim@acme.example,Head of buying,40\nNo,Mail,not-an-email,,\n",
        )
        .unwrap();
        let Some(b) = browser(&app).await else { return };
        b.sign_in("owner@example.com").await;
        b.goto("/contacts").await;
        b.click("#import-link").await;
        b.wait_for_path(|p| p == "/imports").await;

        // Checked first: the mapping, the column left out, the bad row.
        b.find("#file").await.send_keys(file.to_str().unwrap()).await.unwrap();
        b.click("#check-file").await;
        b.find("#dry-run").await;
        assert!(b.text("#unmapped").await.contains("Shoe Size"));
        assert!(b.text("#preview-table").await.contains("Ada Lovelace"));
        let errors = b.text("#row-errors").await;
        assert!(errors.contains('5') && errors.contains("not a valid email address"), "{errors}");
        b.assert_accessible("the dry run").await;
        b.screenshots("import-check").await;
        assert_eq!(app.get(&owner, "/api/v1/imports").await.body["data"], json!([]), "a check imports nothing");

        // Imported: the page follows the progress to the end.
        b.find("#file").await.send_keys(file.to_str().unwrap()).await.unwrap();
        b.click("#import-now").await;
        b.wait_for_path(|p| p.starts_with("/imports/")).await;
        b.wait_for_text("#import-status", |t| t == "completed").await;
        assert_eq!(b.text("#count-created").await, "1");
        assert_eq!(b.text("#count-conflicts").await, "2");
        assert!(b.text("#row-errors").await.contains("not a valid email address"));
        b.assert_accessible("an import's page").await;

        // Reviewed: stored and incoming side by side; Lee takes the file's
        // title by its own button, Kim keeps the stored one in bulk.
        b.click("#review-link").await;
        b.wait_for_path(|p| p == "/imports/conflicts").await;
        let table = b.text("#conflicts-table").await;
        assert!(table.contains("CTO") && table.contains("CEO") && table.contains("Buyer") && table.contains("Head of buying"), "{table}");
        b.assert_accessible("the review queue").await;
        b.screenshots("import-review").await;
        let queue = app.get(&owner, "/api/v1/import-conflicts?status=open").await;
        let conflict_of = |record: &str| {
            queue.body["data"].as_array().unwrap().iter().find(|c| c["record_id"] == record).unwrap()["id"].as_str().unwrap().to_string()
        };
        let (lee_conflict, kim_conflict) = (conflict_of(&lee_id), conflict_of(&kim_id));
        b.click(&format!("button[name=one][value='{lee_conflict}:incoming']")).await;
        b.wait_for_text("#conflicts-table", |t| !t.contains("CTO")).await;
        b.click(&format!("#pick-{kim_conflict}")).await;
        b.click("#keep-checked").await;
        b.wait_for_text("#conflicts-table", |t| t.contains("Nothing to review")).await;
        let lee = app.get(&owner, &format!("/api/v1/contacts/{lee_id}")).await;
        assert_eq!((lee.body["title"].as_str(), lee.body["version"].as_i64()), (Some("CEO"), Some(2)));
        let kim = app.get(&owner, &format!("/api/v1/contacts/{kim_id}")).await;
        assert_eq!((kim.body["title"].as_str(), kim.body["version"].as_i64()), (Some("Buyer"), Some(1)));
    }

    async fn tasks_from_record_pages_in_the_users_time_zone(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let Some((owner, contact_id, b)) = owner_with_a_contact(&app).await else { return };

        // Times in Tokyo (UTC+9, no summer time), chosen on the account page.
        b.click("#account-link").await;
        b.wait_for_path(|p| p == "/account").await;
        b.find("#time_zone").await.select_by_value("Asia/Tokyo").await.unwrap();
        b.click("form[action='/account'] button[type=submit]").await;
        b.find("#saved-notice").await;
        assert_eq!(me_zone(&app, &owner).await, "Asia/Tokyo");

        // A task from the contact's page: refused without a title, what was
        // typed stays; then added, due 09:30 Tokyo time = 00:30 UTC.
        b.goto(&format!("/contacts/{contact_id}")).await;
        set_value(&b, "#task_due_date", "2030-01-15T09:30").await;
        b.click("#quick-task button[type=submit]").await;
        b.find("#task_title-error").await;
        assert_eq!(b.find("#task_due_date").await.prop("value").await.unwrap().as_deref(), Some("2030-01-15T09:30"));
        b.fill("#task_title", "Call back").await;
        b.click("#quick-task button[type=submit]").await;
        b.wait_for_text("#record-tasks", |t| t.contains("Call back")).await;
        assert!(b.text("#record-tasks").await.contains("2030-01-15 09:30"));
        let tasks = app.get(&owner, &format!("/api/v1/tasks?contact_id={contact_id}")).await;
        assert_eq!(tasks.body["data"][0]["due_date"].as_str().unwrap().get(..19), Some("2030-01-15T00:30:00"));
        let task_id = tasks.body["data"][0]["id"].as_str().unwrap().to_string();

        // A call logged from the same page, at 10:00 Tokyo time.
        b.find("#activity-kind").await.select_by_value("call").await.unwrap();
        set_value(&b, "#occurred_at", "2026-12-01T10:00").await;
        b.fill("#comment-text", "Discussed pricing").await;
        b.click("form.comment-box button[type=submit]").await;
        let line = b.wait_for_text(".timeline", |t| t.contains("Discussed pricing")).await;
        assert!(line.contains("Call on 2026-12-01 10:00"), "{line}");
        let logged = app.get(&owner, &format!("/api/v1/contacts/{contact_id}/activities")).await;
        assert_eq!(logged.body["data"][0]["payload"]["occurred_at"], "2026-12-01T01:00:00Z");

        // Its page: edited to a past due date (allowed when editing) and done.
        b.click(&format!("#record-tasks a[href='/tasks/{task_id}']")).await;
        b.wait_for_path(|p| p == format!("/tasks/{task_id}")).await;
        assert_eq!(b.find("#due_date").await.prop("value").await.unwrap().as_deref(), Some("2030-01-15T09:30"));
        b.fill("#title", "Called back").await;
        set_value(&b, "#due_date", "2020-01-01T10:00").await;
        b.click("input[name=is_done]").await;
        b.click("form.record-form button[type=submit]").await;
        b.find("#saved-notice").await;
        let task = app.get(&owner, &format!("/api/v1/tasks/{task_id}")).await;
        assert_eq!(task.body["title"], "Called back");
        assert_eq!(task.body["is_done"], true);
        assert_eq!(task.body["due_date"].as_str().unwrap().get(..19), Some("2020-01-01T01:00:00"));
        assert_eq!(b.find("#task-contact").await.attr("href").await.unwrap().unwrap(), format!("/contacts/{contact_id}"));

        // Deleted from its page, after confirming.
        b.click(".danger-zone summary").await;
        b.click("#confirm-delete").await;
        b.wait_for_path(|p| p == "/tasks").await;
        app.get(&owner, &format!("/api/v1/tasks/{task_id}")).await.assert_problem(404, "not_found");
    }

    async fn the_account_page_changes_the_password_and_forgot_password_says_whom_to_ask(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        app.add_member(&owner, "member@example.com", "member").await;
        let Some(b) = browser(&app).await else { return };
        b.goto("/login").await;
        b.click("#forgot-password").await;
        b.wait_for_path(|p| p == "/forgot-password").await;
        assert!(b.text("main").await.contains("Ask an admin"));

        // The admin gives the member a temporary password.
        b.sign_in("owner@example.com").await;
        b.goto("/settings/members").await;
        let member_row = b.find("#members-table tbody").await.text().await.unwrap();
        assert!(member_row.contains("member@example.com"));
        b.click("#members-table details.confirm summary").await;
        let field = b.find("#members-table details.confirm[open] input[name=password]").await;
        field.send_keys("Temporary 42").await.unwrap();
        b.click("#members-table details.confirm[open] button[type=submit]").await;
        b.find("#password-set").await;
        b.click("form[action='/logout'] button").await;
        b.wait_for_path(|p| p == "/login").await;

        // The member signs in with it and picks their own on the account page.
        b.fill("#email", "member@example.com").await;
        b.fill("#password", "Temporary 42").await;
        b.click("form[action='/login'] button[type=submit]").await;
        b.wait_for_path(|p| p == "/").await;
        b.goto("/account").await;
        b.fill("#current_password", "wrong password 1").await;
        b.fill("#new_password", "Mine for good 7").await;
        b.click("form[action='/account/password'] button[type=submit]").await;
        assert!(b.text("#current_password-error").await.contains("not your current password"));
        b.fill("#current_password", "Temporary 42").await;
        b.fill("#new_password", "Mine for good 7").await;
        b.click("form[action='/account/password'] button[type=submit]").await;
        b.find("#password-changed").await;
        // Still signed in here; the new password signs in.
        b.goto("/").await;
        assert_eq!(b.path().await, "/");
        app.post_public("/api/v1/auth/login", json!({"email": "member@example.com", "password": "Mine for good 7"}))
            .await
            .assert(200);
    }

    async fn every_page_passes_axe(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let owner = app.register("owner@example.com").await;
        app.add_member(&owner, "member@example.com", "member").await;
        let company = app.post(&owner, "/api/v1/companies", json!({"name": "Acme", "domain": "acme.example"})).await;
        let company_id = company.body["id"].as_str().unwrap().to_string();
        let contact = app
            .post(&owner, "/api/v1/contacts", json!({"name": "Lin", "email": "lin@acme.example", "phone": "+1 415 555 0134", "company_id": company_id}))
            .await;
        let contact_id = contact.body["id"].as_str().unwrap().to_string();
        let open = app.post(&owner, "/api/v1/deals", json!({"title": "Open", "contact_id": contact_id, "amount": "10"})).await;
        let open_id = open.body["id"].as_str().unwrap().to_string();
        let won = app
            .post(&owner, "/api/v1/deals", json!({"title": "Won", "contact_id": contact_id, "amount": "20", "status": "in_progress"}))
            .await;
        let won_id = won.body["id"].as_str().unwrap().to_string();
        app.patch(&owner, &format!("/api/v1/deals/{won_id}"), json!({"status": "won"})).await.assert(200);
        let lost = app.post(&owner, "/api/v1/deals", json!({"title": "Lost", "contact_id": contact_id})).await;
        app.patch(&owner, &format!("/api/v1/deals/{}", lost.body["id"].as_str().unwrap()), json!({"status": "lost"})).await.assert(200);
        let task = app
            .post(&owner, "/api/v1/tasks", json!({"title": "Call", "contact_id": contact_id, "due_date": "2030-01-01T10:00:00Z"}))
            .await;
        let task_id = task.body["id"].as_str().unwrap().to_string();
        app.post(&owner, &format!("/api/v1/contacts/{contact_id}/activities"), json!({"text": "Met at the fair"})).await.assert(201);
        let twin = app.post(&owner, "/api/v1/contacts", json!({"name": "Lin Twin", "title": "Buyer"})).await;
        let twin_id = twin.body["id"].as_str().unwrap().to_string();
        let lead = app
            .post(&owner, "/api/v1/leads", json!({"name": "Rosa", "email": "rosa@example.com", "source": "referral", "utm": {"source": "news"}, "preferences": {"budget_max": "300000", "locations": ["Lisbon"]}}))
            .await;
        let lead_id = lead.body["id"].as_str().unwrap().to_string();
        app.post(&owner, &format!("/api/v1/leads/{lead_id}/activities"), json!({"text": "Called"})).await.assert(201);
        let property = app
            .post(&owner, "/api/v1/properties", json!({"title": "Flat", "price": "250000", "bedrooms": 2, "address": {"city": "Lisbon"}}))
            .await;
        let property_id = property.body["id"].as_str().unwrap().to_string();
        app.post(&owner, "/api/v1/forms", json!({"name": "Contact", "fields": [{"key": "name", "label": "Name"}, {"key": "message", "label": "Message", "type": "textarea"}]})).await.assert(201);
        let Some(b) = browser(&app).await else { return };

        for path in ["/login", "/register", "/forgot-password"] {
            b.goto(path).await;
            b.find("h1").await;
            b.assert_accessible(path).await;
        }
        b.sign_in("owner@example.com").await;
        let pages = [
            "/".to_string(),
            "/contacts".into(),
            "/contacts/new".into(),
            format!("/contacts/{contact_id}"),
            format!("/contacts/{contact_id}/merge?with={twin_id}"),
            "/companies".into(),
            "/companies/new".into(),
            format!("/companies/{company_id}"),
            "/deals".into(),
            "/deals/new".into(),
            format!("/deals/{open_id}"),
            format!("/deals/{won_id}"),
            "/board".into(),
            "/tasks".into(),
            format!("/tasks/{task_id}"),
            "/account".into(),
            "/settings".into(),
            "/settings/members".into(),
            "/settings/pipelines".into(),
            "/settings/audit".into(),
            "/settings/jobs".into(),
            "/imports".into(),
            "/imports/conflicts".into(),
            "/contacts/duplicates".into(),
            "/companies/duplicates".into(),
            "/leads".into(),
            "/leads/new".into(),
            "/settings/forms".into(),
            "/settings/custom-fields".into(),
            // A filtered list: the "Save view" form above it.
            "/contacts?tag=vip".into(),
            "/properties".into(),
            "/properties/new".into(),
            "/properties/cards".into(),
            format!("/properties/{property_id}"),
            format!("/leads/{lead_id}"),
            format!("/companies/{company_id}/merge"),
            "/no-such-page".into(),
        ];
        for path in &pages {
            b.goto(path).await;
            b.find("main h1").await;
            b.assert_accessible(path).await;
        }
        // At phone width too, where the header folds and lists scroll.
        b.client.set_window_size(390, 844).await.unwrap();
        for path in ["/contacts", "/board", "/"] {
            b.goto(path).await;
            b.find("main h1").await;
            b.assert_accessible(&format!("{path} at 390 px")).await;
        }
        b.client.set_window_size(1280, 900).await.unwrap();
    }

    async fn a_tenant_never_sees_another_tenants_records(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        let alice = app.register("alice@example.com").await;
        app.register("bob@example.com").await;
        let contact = app.post(&alice, "/api/v1/contacts", json!({"name": "Secret Customer"})).await;
        let contact_id = contact.body["id"].as_str().unwrap().to_string();
        let deal = app
            .post(&alice, "/api/v1/deals", json!({"title": "Secret Deal", "contact_id": contact_id, "amount": "5"}))
            .await;
        let deal_id = deal.body["id"].as_str().unwrap().to_string();
        let Some(b) = browser(&app).await else { return };

        b.sign_in("bob@example.com").await;
        for path in ["/contacts", "/deals", "/board", "/", "/tasks"] {
            b.goto(path).await;
            b.find("h1").await;
            let page = b.source().await;
            assert!(!page.contains("Secret"), "{path} shows another tenant's record");
        }
        for path in [format!("/contacts/{contact_id}"), format!("/deals/{deal_id}")] {
            b.goto(&path).await;
            assert_eq!(b.text("h1").await, "Not Found", "{path}");
        }
        b.goto("/contacts.csv").await;
        assert!(!b.source().await.contains("Secret"));
    }

    async fn invite_a_user_and_accept_in_a_second_browser(app) {
        let _one = ONE_AT_A_TIME.lock().await;
        app.register("boss@example.com").await;
        let Some(admin) = browser(&app).await else { return };
        admin.sign_in("boss@example.com").await;
        admin.click("nav a[href='/settings']").await;
        admin.wait_for_path(|p| p == "/settings").await;
        admin.click("a[href='/settings/members']").await;
        admin.wait_for_path(|p| p == "/settings/members").await;
        admin.fill("#invite-email", "newbie@example.com").await;
        admin.click("form[action='/settings/invitations'] button[type=submit]").await;
        admin.wait_for_path(|p| p == "/settings/invitations").await;
        let link = admin.find("#invite-link").await.prop("value").await.unwrap().unwrap();
        assert!(link.starts_with("http://crm.test/invite/"), "{link}");
        assert!(admin.text("#invitations").await.contains("newbie@example.com"));
        admin.screenshots("settings-members").await;

        // The invitee opens the link in a browser of their own.
        let path = link.trim_start_matches("http://crm.test");
        let Some(invitee) = browser(&app).await else { return };
        invitee.goto(path).await;
        assert!(invitee.text("h1").await.starts_with("Join"));
        invitee.fill("#name", "New Bie").await;
        invitee.fill("#password", PASSWORD).await;
        invitee.click("form button[type=submit]").await;
        invitee.wait_for_path(|p| p == "/").await;
        assert!(invitee.text(".user-name").await.contains("New Bie"));
        // A member sees no settings.
        assert!(invitee.client.find(Locator::Css("nav a[href='/settings']")).await.is_err());
        invitee.goto("/settings/members").await;
        assert_eq!(invitee.text("h1").await, "Forbidden");

        // The link worked once: it is used up now.
        invitee.goto(path).await;
        assert_eq!(invitee.text("h1").await, "Gone");

        // The admin sees the new member and no pending invitation.
        admin.goto("/settings/members").await;
        assert!(admin.text("#members-table").await.contains("newbie@example.com"));
        assert!(!admin.text("#invitations").await.contains("newbie@example.com"));

        // A role change asks first: "no" leaves it, "yes" changes it.
        let row = "//tr[td[contains(., 'newbie@example.com')]]";
        let option = |role: &str| Locator::XPath(Box::leak(format!("{row}//select/option[@value='{role}']").into_boxed_str()));
        admin.client.find(option("manager")).await.unwrap().click().await.unwrap();
        admin.client.dismiss_alert().await.unwrap();
        let select = admin.client.find(Locator::XPath(Box::leak(format!("{row}//select").into_boxed_str()))).await.unwrap();
        assert_eq!(select.prop("value").await.unwrap().as_deref(), Some("member"));
        admin.client.find(option("manager")).await.unwrap().click().await.unwrap();
        admin.client.accept_alert().await.unwrap();
        // Saved on the server: a fresh load of the page shows it.
        for _ in 0..50 {
            admin.goto("/settings/members").await;
            let select = admin.client.find(Locator::XPath(Box::leak(format!("{row}//select").into_boxed_str()))).await;
            if let Ok(select) = select
                && select.prop("value").await.ok().flatten().as_deref() == Some("manager")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the role did not change after the confirmation");
    }
}
