//! Crash safety of imports (issue 15 item 3): the server process is killed
//! (SIGKILL) in the middle of a 100,000-row import, started again, and the
//! import resumes from its last committed batch: every row is applied
//! exactly once, on both backends.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

const ROWS: usize = 100_000;

/// The real server binary in a process of its own (killed when dropped).
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Server {
    pub(crate) async fn start(database_url: &str, dir: &std::path::Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_crm"))
            .env("CRM_BIND", format!("127.0.0.1:{port}"))
            .env("CRM_DATA_DIR", dir)
            .env("DATABASE_URL", database_url)
            .env("CRM_LOG", "warn")
            // A short lease: the job of the killed process is taken back
            // within seconds.
            .env("CRM_JOB_LEASE", "2")
            .env("CRM_AUTH_RATE_PER_MINUTE", "1000")
            .env("CRM_REQUEST_TIMEOUT", "120")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while client
            .get(format!("{base}/ready"))
            .send()
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Server { child, base }
    }

    fn kill(&mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn import_survives_a_kill(database_url: &str, count_contacts: impl AsyncFnOnce() -> i64) {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = Server::start(database_url, dir.path()).await;
    let session = json_of(
        client
            .post(format!("{}/api/v1/auth/register", server.base))
            .json(&json!({"email": "ann@example.com", "password": "correct horse 1", "name": "Ann"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = session["access_token"].as_str().unwrap().to_string();
    let org = session["organizations"][0]["id"].as_str().unwrap().to_string();

    let mut csv = String::from("name,email,title\n");
    for i in 0..ROWS {
        csv.push_str(&format!("Person {i},person{i}@example.com,Title {}\n", i % 40));
    }
    let form = Form::new()
        .text("object", "contacts")
        .part("file", Part::bytes(csv.into_bytes()).file_name("contacts.csv"));
    let started = json_of(
        client
            .post(format!("{}/api/v1/imports", server.base))
            .bearer_auth(&token)
            .header("X-Organization-Id", &org)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = started["id"].as_str().unwrap().to_string();
    let read = async |server: &Server| {
        json_of(
            client
                .get(format!("{}/api/v1/imports/{id}", server.base))
                .bearer_auth(&token)
                .header("X-Organization-Id", &org)
                .send()
                .await
                .unwrap(),
        )
        .await
    };

    // Killed once some batches have committed, well before the end.
    let deadline = Instant::now() + Duration::from_secs(300);
    let before_kill = loop {
        let import = read(&server).await;
        let done = import["processed_rows"].as_i64().unwrap();
        if done >= 5_000 {
            break import;
        }
        assert!(Instant::now() < deadline, "the import did not progress: {import}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.kill();
    assert_eq!(before_kill["status"], "running");
    assert!(
        before_kill["processed_rows"].as_i64().unwrap() < ROWS as i64 / 2,
        "killed too late to show a resume"
    );

    let server = Server::start(database_url, dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    let done = loop {
        let import = read(&server).await;
        if import["status"] == "completed" || import["status"] == "failed" {
            break import;
        }
        assert!(Instant::now() < deadline, "the import did not finish: {import}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["processed_rows"], ROWS);
    // A row applied twice would have matched its own first copy by email
    // (unchanged) instead of creating it.
    assert_eq!(done["created"], ROWS, "{done}");
    assert_eq!(
        (
            done["merged"].as_i64(),
            done["unchanged"].as_i64(),
            done["skipped"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(count_contacts().await, ROWS as i64);
}

#[tokio::test]
async fn a_killed_import_resumes_and_applies_every_row_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crm.sqlite").display());
    let count = async || {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(DISTINCT email) FROM contacts")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    import_survives_a_kill(&url, count).await;
}

#[tokio::test]
async fn a_killed_import_resumes_and_applies_every_row_once_on_postgres() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL is not set: PostgreSQL run skipped");
        return;
    };
    let name = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    let (server, _) = admin.split_once('?').map_or((admin.as_str(), ""), |(b, q)| (b, q));
    let url = format!("{}/{name}", server.rsplit_once('/').map_or(server, |(s, _)| s));
    let count = async || {
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(DISTINCT email) FROM contacts")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    import_survives_a_kill(&url, count).await;
    let _ = conn
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await;
}
