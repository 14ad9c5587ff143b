//! Connections are bounded (issue 18 item 2): a header timeout that also ends
//! idle keep-alive connections, caps on open connections in all and per
//! client address, and a request timeout. The load version of these (20,000
//! connections) is `bench/hostile`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::both_with;
use crate::helpers::{Backend, Session, TestApp};
use crate::keepalive::{read_more, read_response};

/// A connection from `source` (any 127.x.y.z address is this machine's
/// loopback, so tests can play several clients).
async fn connect_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// Sends one request on `stream` and reads its status line and body.
async fn exchange(stream: &mut TcpStream, request: &str) -> Option<(String, String)> {
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buffer = Vec::new();
    let status = read_response_keeping_body(stream, &mut buffer).await?;
    Some(status)
}

async fn read_response_keeping_body(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(String, String)> {
    // Read until the response is whole, then let `read_response` consume it.
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                .unwrap_or(0usize);
            if buffer.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).to_string();
                let status = read_response(stream, buffer).await?;
                return Some((status, body));
            }
        }
        read_more(stream, buffer).await?;
    }
}

/// Waits up to `limit` for the server to close `stream`; how long it took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buffer = Vec::new();
    while start.elapsed() < limit {
        if read_more(stream, &mut buffer).await.is_none() {
            return Some(start.elapsed());
        }
    }
    None
}

fn list_request(session: &Session) -> String {
    format!(
        "GET /api/v1/contacts?limit=5 HTTP/1.1\r\nHost: crm.test\r\nAuthorization: Bearer {}\r\nX-Organization-Id: {}\r\n\r\n",
        session.token, session.org_id
    )
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: crm.test\r\n\r\n";

both_with! {
    |config| {
        config.connections.header_timeout = Duration::from_secs(1);
        config.connections.max_per_ip = 4;
    };

    async fn half_sent_headers_and_idle_connections_are_closed(app) {
        // Half of a request's headers, then nothing.
        let mut slow = connect_from("127.0.0.1", app.addr).await;
        slow.write_all(b"GET /health HTTP/1.1\r\nHost: crm").await.unwrap();
        let took = closed_within(&mut slow, Duration::from_secs(5)).await;
        assert!(took.is_some_and(|t| t < Duration::from_secs(3)), "a half-sent request was held: {took:?}");

        // A keep-alive connection that asked once and then stays silent.
        let mut idle = connect_from("127.0.0.1", app.addr).await;
        let (status, _) = exchange(&mut idle, HEALTH).await.expect("answered");
        assert!(status.contains("200"), "{status}");
        let took = closed_within(&mut idle, Duration::from_secs(5)).await;
        assert!(took.is_some_and(|t| t < Duration::from_secs(3)), "an idle connection was held: {took:?}");

        // A connection that keeps asking is not closed by the timer.
        let mut busy = connect_from("127.0.0.1", app.addr).await;
        for _ in 0..6 {
            let (status, _) = exchange(&mut busy, HEALTH).await.expect("a busy connection stays open");
            assert!(status.contains("200"), "{status}");
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }

    async fn one_address_cannot_take_every_connection(app) {
        let ann = app.register("ann@example.com").await;
        // The address's cap (4) taken by silent connections (from an address
        // of their own: the test's HTTP client keeps one open from 127.0.0.1).
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(connect_from("127.0.0.7", app.addr).await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut over = connect_from("127.0.0.7", app.addr).await;
        let (status, body) = read_response_keeping_body(&mut over, &mut Vec::new()).await.expect("an answer, not silence");
        assert!(status.contains("503"), "{status}");
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "too_many_connections", "{body}");
        assert!(closed_within(&mut over, Duration::from_secs(2)).await.is_some(), "closed after the answer");

        // Another client is served meanwhile: health and an authenticated list.
        let mut other = connect_from("127.0.0.2", app.addr).await;
        let (status, _) = exchange(&mut other, HEALTH).await.expect("answered");
        assert!(status.contains("200"), "{status}");
        let (status, body) = exchange(&mut other, &list_request(&ann)).await.expect("answered");
        assert!(status.contains("200"), "{status}: {body}");

        // A closed connection frees its place.
        drop(held.pop());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut again = connect_from("127.0.0.7", app.addr).await;
        let (status, _) = exchange(&mut again, HEALTH).await.expect("answered");
        assert!(status.contains("200"), "{status}");
    }
}

both_with! {
    |config| {
        config.connections.max_connections = 3;
    };

    async fn the_total_cap_answers_503_to_every_address(app) {
        let _a = connect_from("127.0.0.3", app.addr).await;
        let _b = connect_from("127.0.0.4", app.addr).await;
        let _c = connect_from("127.0.0.5", app.addr).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut over = connect_from("127.0.0.6", app.addr).await;
        let (status, _) = read_response_keeping_body(&mut over, &mut Vec::new()).await.expect("an answer");
        assert!(status.contains("503"), "{status}");
    }
}

both_with! {
    |config| {
        config.request_timeout = Duration::from_secs(1);
    };

    async fn a_body_that_does_not_arrive_in_time_is_refused_408(app) {
        let mut stream = connect_from("127.0.0.1", app.addr).await;
        stream
            .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: crm.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":")
            .await
            .unwrap();
        let started = Instant::now();
        let (status, body) = read_response_keeping_body(&mut stream, &mut Vec::new()).await.expect("an answer");
        assert!(status.contains("408"), "{status}: {body}");
        assert!(body.contains("request_timeout"), "{body}");
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
        assert!(closed_within(&mut stream, Duration::from_secs(2)).await.is_some(), "the rest of the body is not waited for");
    }

    async fn a_request_stuck_behind_a_lock_is_stopped_and_writes_nothing(app) {
        let ann = app.register("ann@example.com").await;
        let contact = app.post(&ann, "/api/v1/contacts", json!({"name": "Locked Larry"})).await;
        contact.assert(201);
        let id = contact.body["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/contacts/{id}");

        // Another session holds the lock the update needs.
        let lock = hold_write_lock(&app, &id).await;
        let started = Instant::now();
        let r = app.patch(&ann, &path, json!({"name": "Changed"})).await;
        r.assert_problem(503, "timeout");
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        release(lock).await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        // Nothing of the stopped request was written; a retry goes through.
        let read = app.get(&ann, &path).await;
        assert_eq!(read.body["name"], "Locked Larry");
        let mut retried = None;
        for _ in 0..20 {
            let r = app.patch(&ann, &path, json!({"name": "Changed"})).await;
            if r.status.as_u16() == 200 {
                retried = Some(r);
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(retried.expect("the retry succeeds").body["name"], "Changed");
    }
}

/// A lock held on a connection of the test's own.
enum Lock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// Takes the lock a contact's update needs (SQLite: the database's write
/// lock; PostgreSQL: the row's) and holds it until [`release`].
async fn hold_write_lock(app: &TestApp, contact_id: &str) -> Lock {
    use sqlx::Connection;
    match app.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await.unwrap();
            Lock::Sqlite(conn)
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
            sqlx::raw_sql("BEGIN").execute(&mut conn).await.unwrap();
            sqlx::query("SELECT 1 FROM contacts WHERE id = $1::uuid FOR UPDATE")
                .bind(contact_id)
                .execute(&mut conn)
                .await
                .unwrap();
            Lock::Postgres(conn)
        }
    }
}

async fn release(lock: Lock) {
    match lock {
        Lock::Sqlite(mut conn) => sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.map(drop).unwrap(),
        Lock::Postgres(mut conn) => sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.map(drop).unwrap(),
    }
}
