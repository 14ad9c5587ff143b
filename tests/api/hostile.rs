//! Hostile input, the fast and deterministic part (issue 18 item 5): each
//! gets a clear answer, nothing a 500, and the server stays usable. The load
//! parts (floods, 20,000 connections, a million sign-ins) are `bench/hostile`.

use reqwest::Method;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::both;
use crate::helpers::send;
use crate::keepalive::read_response;

both! {
    async fn deeply_nested_json_is_refused_not_recursed(app) {
        let ann = app.register("ann@example.com").await;
        // 100,000 levels: a recursive parser without a limit would overflow
        // the stack; serde_json stops at 128.
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let body = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
            assert!(body.len() < 1024 * 1024);
            let r = send(
                app.as_user(&ann, Method::POST, "/api/v1/contacts")
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
            assert!(matches!(r.status.as_u16(), 400 | 422), "{}: {}", r.status, r.body);
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
        }
        // The same, as a field's value inside a valid object.
        let nested = format!("{{\"name\": \"N\", \"custom\": {}1{}}}", "[".repeat(50_000), "]".repeat(50_000));
        let r = send(
            app.as_user(&ann, Method::POST, "/api/v1/contacts")
                .header("content-type", "application/json")
                .body(nested),
        )
        .await;
        assert!(matches!(r.status.as_u16(), 400 | 422), "{}: {}", r.status, r.body);
        app.get(&ann, "/api/v1/contacts").await.assert(200);
    }

    async fn ten_thousand_query_parameters_get_an_answer(app) {
        let ann = app.register("ann@example.com").await;
        // Sent on a socket: an HTTP client library refuses to build such a URI.
        let distinct: Vec<String> = (0..10_000).map(|i| format!("{i:x}=1")).collect();
        let distinct_tags: Vec<String> = (0..5_000).map(|i| format!("tag={i:x}")).collect();
        let words: Vec<String> = (0..10_000).map(|i| format!("{i:x}")).collect();
        let queries = [
            distinct.join("&"),
            "tag=a&".repeat(10_000),
            distinct_tags.join("&"),
            "q=a&".repeat(10_000),
            format!("q={}", words.join("+")),
        ];
        for query in queries {
            let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
            let request = format!(
                "GET /api/v1/contacts?{query} HTTP/1.1\r\nHost: crm.test\r\nAuthorization: Bearer {}\r\nX-Organization-Id: {}\r\n\r\n",
                ann.token, ann.org_id
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let status = read_response(&mut stream, &mut Vec::new()).await.unwrap_or_default();
            assert!(
                ["200", "414", "422", "431"].iter().any(|code| status.contains(code)),
                "{} characters of query: {status:?}",
                query.len()
            );
        }
        // A `q` of more than 200 characters names its field.
        let r = app.get(&ann, &format!("/api/v1/contacts?q={}", "ab+".repeat(100))).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "q");
        // More distinct tags than a record can carry match nothing, quickly.
        let tags: Vec<String> = (0..21).map(|i| format!("tag=t{i}")).collect();
        let r = app.get(&ann, &format!("/api/v1/contacts?{}", tags.join("&"))).await;
        r.assert(200);
        assert_eq!(r.body["data"], json!([]));
        app.get(&ann, "/api/v1/contacts").await.assert(200);
    }

    async fn bodies_at_and_over_the_limit(app) {
        let ann = app.register("ann@example.com").await;
        // Just under 1 MiB of JSON: read, then refused by validation (the
        // name is too long), not by size.
        let name = "x".repeat(1024 * 1024 - 100);
        let r = app.post(&ann, "/api/v1/contacts", json!({ "name": name })).await;
        r.assert_problem(422, "validation_failed");
        // Over 1 MiB, declared: refused before reading, the connection closed.
        let r = send(
            app.as_user(&ann, Method::POST, "/api/v1/contacts")
                .header("content-type", "application/json")
                .body(vec![b' '; 1024 * 1024 + 1]),
        )
        .await;
        r.assert_problem(413, "payload_too_large");
        // Over 1 MiB, streamed without a length (chunked): refused too.
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "POST /api/v1/contacts HTTP/1.1\r\nHost: crm.test\r\nAuthorization: Bearer {}\r\nX-Organization-Id: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            ann.token, ann.org_id
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
        for _ in 0..17 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                break; // the server answered and closed before the end
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        let status = read_response(&mut stream, &mut Vec::new()).await;
        assert!(status.as_deref().is_some_and(|s| s.contains("413")), "{status:?}");
        app.get(&ann, "/api/v1/contacts").await.assert(200);
    }

    async fn a_huge_email_in_a_sign_in_costs_no_more_than_a_short_one(app) {
        // Sign-in attempts are counted per (IP, email); the email is kept as a
        // fixed-size hash, so made-up long emails cannot grow the limiter.
        let email = format!("{}@example.com", "a".repeat(900_000));
        let r = app
            .post_public("/api/v1/auth/login", json!({"email": email, "password": "nope nope 1"}))
            .await;
        assert!(matches!(r.status.as_u16(), 401 | 422), "{}: {}", r.status, r.body);
        app.request(Method::GET, "/health").send().await.unwrap();
    }
}
