//! The test harness: starts the real server on port 0 with a fresh database of
//! its own (a SQLite file in a temp dir, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set) and talks to it over real HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use crm::config::{Config, DatabaseUrl, LogFormat, Registration};
use crm::startup::Application;
use reqwest::{Method, RequestBuilder, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

pub const SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";
pub const PASSWORD: &str = "correct horse 1";

/// Runs each listed test on SQLite, and on PostgreSQL when `TEST_DATABASE_URL`
/// is set: `both! { async fn name(app) { ... } }` makes `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! both {
    ($($tests:tt)*) => {
        $crate::both_with! { |_config| (); $($tests)* }
    };
}

/// Like [`both!`], with a configuration tweak: `both_with! { |config| ...; async fn name(app) {...} }`.
#[macro_export]
macro_rules! both_with {
    (|$cfg:ident| $tweak:expr; $(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(clippy::no_effect, clippy::unused_unit)]
            fn tweak($cfg: &mut crm::config::Config) { $tweak; }
            #[tokio::test]
            async fn sqlite() {
                let $app = $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Sqlite, tweak).await;
                $body
            }
            #[tokio::test]
            async fn postgres() {
                if std::env::var("TEST_DATABASE_URL").is_err() {
                    eprintln!("TEST_DATABASE_URL is not set: PostgreSQL run skipped");
                    return;
                }
                let $app = $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Postgres, tweak).await;
                $body
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
}

/// A signed-in user and the organization registration created for them.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub refresh: String,
    pub user_id: String,
    pub org_id: String,
    pub email: String,
}

/// What a request answered.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The `code` of a problem response.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn assert(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self
    }
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Self {
        self.assert(status);
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        self
    }
}

pub fn test_config(database_url: &str, dir: &std::path::Path) -> Config {
    Config {
        database_url: DatabaseUrl::new(database_url),
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        public_url: "http://crm.test".into(),
        secret_key: SecretString::from(SECRET),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(604800),
        registration: Registration::Open,
        auth_rate_per_minute: 1000,
        rate_per_second: 1000,
        auth_ip_rate_per_minute: 100_000,
        trusted_proxies: Vec::new(),
        hash_limits: Default::default(),
        connections: crm::http::serve::ConnectionLimits {
            max_connections: 1000,
            max_per_ip: 1000,
            header_timeout: Duration::from_secs(10),
        },
        request_timeout: Duration::from_secs(30),
        body_memory_kib: 32 * 1024,
        job_lease: Duration::from_secs(120),
        db_max_connections: 5,
        log: "warn".into(),
        log_format: LogFormat::Pretty,
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, pg_database) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("crm.sqlite").display()), None),
            Backend::Postgres => {
                let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
                let name = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
                conn.close().await.ok();
                (with_database(&admin, &name), Some((admin, name)))
            }
        };
        let mut config = test_config(&database_url, dir.path());
        tweak(&mut config);
        let app = Application::build(config).await.expect("the server starts");
        let addr = app.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            backend,
            database_url,
            shutdown: Some(tx),
            _dir: dir,
            pg_database,
        }
    }

    /// A second server on the database of `other` (several instances sharing
    /// one database). The database stays `other`'s to drop.
    pub async fn spawn_sharing(other: &TestApp) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let app = Application::build(test_config(&other.database_url, dir.path()))
            .await
            .expect("the server starts");
        let addr = app.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            backend: other.backend,
            database_url: other.database_url.clone(),
            shutdown: Some(tx),
            _dir: dir,
            pg_database: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request as `session` inside their own organization.
    pub fn as_user(&self, session: &Session, method: Method, path: &str) -> RequestBuilder {
        self.as_user_in(session, &session.org_id, method, path)
    }

    /// A request as `session` inside organization `org`.
    pub fn as_user_in(&self, session: &Session, org: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path)
            .bearer_auth(&session.token)
            .header("X-Organization-Id", org)
    }

    pub async fn get(&self, session: &Session, path: &str) -> Resp {
        send(self.as_user(session, Method::GET, path)).await
    }

    pub async fn post(&self, session: &Session, path: &str, body: Value) -> Resp {
        send(self.as_user(session, Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, session: &Session, path: &str, body: Value) -> Resp {
        send(self.as_user(session, Method::PATCH, path).json(&body)).await
    }

    pub async fn delete(&self, session: &Session, path: &str) -> Resp {
        send(self.as_user(session, Method::DELETE, path)).await
    }

    /// An unauthenticated JSON POST.
    pub async fn post_public(&self, path: &str, body: Value) -> Resp {
        send(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn register(&self, email: &str) -> Session {
        let name = email.split('@').next().unwrap_or("someone").to_string();
        let r = self
            .post_public(
                "/api/v1/auth/register",
                json!({"email": email, "password": PASSWORD, "name": name}),
            )
            .await;
        r.assert(201);
        session_from(&r.body)
    }

    /// Invites `email` into `admin`'s organization with `role`, accepts as a
    /// new user, and returns the new member's session acting in that organization.
    pub async fn add_member(&self, admin: &Session, email: &str, role: &str) -> Session {
        let invite = self
            .post(admin, "/api/v1/invitations", json!({"email": email, "role": role}))
            .await;
        invite.assert(201);
        let token = accept_token(&invite.body);
        let r = self
            .post_public(
                &format!("/api/v1/invitations/{token}/accept"),
                json!({"name": email, "password": PASSWORD}),
            )
            .await;
        r.assert(200);
        let mut s = session_from(&r.body);
        s.org_id = admin.org_id.clone();
        s
    }
}

/// The token at the end of an invitation's `accept_url`.
pub fn accept_token(invitation: &Value) -> String {
    invitation["accept_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

pub fn session_from(body: &Value) -> Session {
    Session {
        token: body["access_token"].as_str().unwrap().to_string(),
        refresh: body["refresh_token"].as_str().unwrap().to_string(),
        user_id: body["user"]["id"].as_str().unwrap().to_string(),
        org_id: body["organizations"][0]["id"].as_str().unwrap_or_default().to_string(),
        email: body["user"]["email"].as_str().unwrap().to_string(),
    }
}

pub async fn send(request: RequestBuilder) -> Resp {
    let response = request.send().await.expect("the request is answered");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp { status, headers, body }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (server, _) = base.rsplit_once('/').unwrap_or((base, ""));
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((admin, name)) = self.pg_database.take() {
            // Drop the test database from a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ = conn
                            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                            .await;
                    }
                });
            })
            .join();
        }
    }
}
