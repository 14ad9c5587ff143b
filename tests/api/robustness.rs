//! Robustness (issue: server foundation §5): concurrent writers, an unreachable
//! database, graceful stop, the CLI, and the OpenAPI document against the
//! checked-in copy.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use crate::both;
use crate::helpers::*;

both! {
    async fn concurrent_writers_never_see_a_locked_database(app) {
        let ann = app.register("ann@example.com").await;
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..40 {
            let request = app.as_user(&ann, Method::POST, "/api/v1/organizations").json(&json!({"name": format!("Org {i}")}));
            requests.spawn(send(request));
        }
        while let Some(answer) = requests.join_next().await {
            answer.unwrap().assert(201);
        }
        let mine = app.get(&ann, "/api/v1/organizations/me").await;
        assert_eq!(mine.body["data"].as_array().unwrap().len(), 41);
    }

    async fn the_cli_backs_up_sqlite_while_serving_and_points_postgres_to_pg_dump(app) {
        let ann = app.register("ann@example.com").await;
        for i in 0..30 {
            app.post(&ann, "/api/v1/contacts", json!({"name": format!("Kept {i}")})).await.assert(201);
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copy.sqlite");
        // Writes go on while the copy is made.
        let writing = {
            let (client, url, token, org) = (app.client.clone(), app.url("/api/v1/contacts"), ann.token.clone(), ann.org_id.clone());
            tokio::spawn(async move {
                for i in 0..30 {
                    client.post(&url).bearer_auth(&token).header("X-Organization-Id", &org)
                        .json(&json!({"name": format!("During {i}")})).send().await.unwrap();
                }
            })
        };
        let out = Command::new(env!("CARGO_BIN_EXE_crm"))
            .args(["backup", file.to_str().unwrap()])
            .env("DATABASE_URL", &app.database_url)
            .env("CRM_DATA_DIR", dir.path())
            .output()
            .unwrap();
        writing.await.unwrap();
        match app.backend {
            Backend::Sqlite => {
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                // The copy serves on its own: every contact made before it.
                let copy = TestApp::spawn_with(Backend::Sqlite, |config| {
                    config.database_url = crm::config::DatabaseUrl::new(format!("sqlite://{}", file.display()));
                })
                .await;
                let login = copy.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": PASSWORD})).await;
                login.assert(200);
                let session = session_from(&login.body);
                let list = copy.get(&session, "/api/v1/contacts?limit=200&q=kept").await;
                assert_eq!(list.body["data"].as_array().unwrap().len(), 30);
                // A second backup to the same file is refused.
                let again = Command::new(env!("CARGO_BIN_EXE_crm"))
                    .args(["backup", file.to_str().unwrap()])
                    .env("DATABASE_URL", &app.database_url)
                    .env("CRM_DATA_DIR", dir.path())
                    .output()
                    .unwrap();
                assert!(!again.status.success());
                assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
            }
            Backend::Postgres => {
                assert!(!out.status.success());
                assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
                assert!(!file.exists());
            }
        }
    }

    async fn the_cli_creates_an_owner_who_can_sign_in(app) {
        let out = Command::new(env!("CARGO_BIN_EXE_crm"))
            .args(["user", "create", "--email", "Root@Example.com", "--name", "Root", "--org-name", "Root Org"])
            .env("DATABASE_URL", &app.database_url)
            .env("CRM_USER_PASSWORD", PASSWORD)
            .env("CRM_DATA_DIR", tempfile::tempdir().unwrap().path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let r = app.post_public("/api/v1/auth/login", json!({"email": "root@example.com", "password": PASSWORD})).await;
        r.assert(200);
        assert_eq!(r.body["organizations"][0]["name"], "Root Org");
        assert_eq!(r.body["organizations"][0]["role"], "owner");
        // A second time, the email is taken.
        let out = Command::new(env!("CARGO_BIN_EXE_crm"))
            .args(["user", "create", "--email", "root@example.com", "--name", "Root", "--org-name", "Again"])
            .env("DATABASE_URL", &app.database_url)
            .env("CRM_USER_PASSWORD", PASSWORD)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    }
}

/// A TCP relay to PostgreSQL that can be cut and restored, to play an
/// unreachable database.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (up2, gen2) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let (up3, gen3) = (up2.clone(), gen2.clone());
                let born = gen2.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let relay = tokio::io::copy_bidirectional(&mut client, &mut server);
                    let cut = async {
                        while up3.load(Ordering::SeqCst) && gen3.load(Ordering::SeqCst) == born {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! { _ = relay => {}, _ = cut => {} }
                });
            }
        });
        Relay { port, up, generation }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_unreachable_database_answers_503_and_recovers_without_restart() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let host_port = admin
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5432")
        .to_string();
    let relay = Relay::start(host_port.clone()).await;
    let port = relay.port;
    let app = TestApp::spawn_with(Backend::Postgres, move |config| {
        let url = config
            .database_url
            .expose()
            .replace(&host_port, &format!("127.0.0.1:{port}"));
        config.database_url = crm::config::DatabaseUrl::new(url);
    })
    .await;
    let ann = app.register("ann@example.com").await;

    relay.set_up(false);
    // Let the relay drop the connections it carries (it checks every 20 ms).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let r = send(app.request(Method::GET, "/api/v1/auth/me").bearer_auth(&ann.token)).await;
    r.assert_problem(503, "database_unavailable");
    assert!(r.header("retry-after").is_some());
    assert!(
        !r.body.to_string().to_lowercase().contains("sql"),
        "no internals: {}",
        r.body
    );
    send(app.request(Method::GET, "/ready")).await.assert(503);
    send(app.request(Method::GET, "/health")).await.assert(200);
    assert!(started.elapsed() < Duration::from_secs(20));

    relay.set_up(true);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = send(app.request(Method::GET, "/api/v1/auth/me").bearer_auth(&ann.token)).await;
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    send(app.request(Method::GET, "/ready")).await.assert(200);
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env("CRM_DATA_DIR", dir.path())
        .env("CRM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/ready");
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(&url).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dir.path().join("crm.sqlite").exists());
    let key = std::fs::read_to_string(dir.path().join("secret_key")).unwrap();
    assert!(key.trim().len() >= 32);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(12);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop within the grace period"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(
        client.get(&url).send().await.is_err(),
        "the port is closed after the stop"
    );
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("migrate")
        .env("CRM_DATA_DIR", dir.path())
        .env("CRM_ACCESS_TTL", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CRM_ACCESS_TTL"));
}

#[test]
fn help_documents_every_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_crm")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DATABASE_URL",
        "CRM_BIND",
        "CRM_DATA_DIR",
        "CRM_PUBLIC_URL",
        "CRM_SECRET_KEY",
        "CRM_ACCESS_TTL",
        "CRM_REFRESH_TTL",
        "CRM_REGISTRATION",
        "CRM_AUTH_RATE_PER_MINUTE",
        "CRM_RATE_PER_SECOND",
        "CRM_LOG",
        "CRM_LOG_FORMAT",
        "serve",
        "migrate",
        "user",
    ] {
        assert!(help.contains(var), "--help does not mention {var}:\n{help}");
    }
}

/// The served OpenAPI document is the checked-in `openapi.json`. After an
/// intended API change, regenerate it with `UPDATE_OPENAPI=1 cargo test openapi`.
#[tokio::test]
async fn openapi_document_matches_the_checked_in_copy() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let served = send(app.request(Method::GET, "/api/v1/openapi.json")).await;
    served.assert(200);
    let pretty = serde_json::to_string_pretty(&served.body).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &pretty).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == pretty,
        "the served OpenAPI document differs from openapi.json; if the change is intended, run \
         `UPDATE_OPENAPI=1 cargo test openapi` and commit the file"
    );
}
