//! Keep-alive hygiene (issue 18 item 4): a request with a body that is
//! answered before its body is read (a 404 for a malformed id, a 401) keeps
//! the connection usable for the client's next request.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both;

/// Reads more of the connection into `buffer`; `None` when it closed or
/// stayed silent for 5 s.
pub async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
        .await
        .ok()?
        .ok()?;
    buffer.extend_from_slice(&chunk[..n]);
    (n > 0).then_some(())
}

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body) and
/// returns its status line; `None` when the server closed the connection.
pub async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<String> {
    let end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        read_more(stream, buffer).await?;
    };
    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    while buffer.len() < end + 4 + length {
        read_more(stream, buffer).await?;
    }
    buffer.drain(..end + 4 + length);
    head.lines().next().map(str::to_string)
}

both! {
    async fn a_body_answered_before_it_is_read_keeps_the_connection(app) {
        let ann = app.register("ann@example.com").await;
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        let mut buffer = Vec::new();
        let body = format!(r#"{{"name": "{}"}}"#, "x".repeat(64 * 1024));
        for i in 0..1000 {
            // Alternate a 404 (malformed id) and a 401 (no token), each
            // answered before the body is read; the body follows the headers
            // in a second write, so it has not arrived when the answer goes.
            let auth = if i % 2 == 0 { format!("Authorization: Bearer {}\r\nX-Organization-Id: {}\r\n", ann.token, ann.org_id) } else { String::new() };
            let head = format!(
                "PATCH /api/v1/contacts/not-a-uuid HTTP/1.1\r\nHost: crm.test\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.flush().await.unwrap();
            stream.write_all(body.as_bytes()).await.unwrap();
            let first = read_response(&mut stream, &mut buffer).await;
            let expected = if i % 2 == 0 { "404" } else { "401" };
            assert!(first.as_deref().is_some_and(|s| s.contains(expected)), "request {i}: {first:?}");
            stream.write_all(b"GET /health HTTP/1.1\r\nHost: crm.test\r\n\r\n").await.unwrap();
            let second = read_response(&mut stream, &mut buffer).await;
            assert!(second.as_deref().is_some_and(|s| s.contains("200")), "request {i}: the next request failed: {second:?}");
        }
    }
}
