//! api.md §3 accounts and tokens, and the matching rules of §7.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;
use crate::{both, both_with};

async fn me(app: &TestApp, token: &str) -> Resp {
    send(app.request(Method::GET, "/api/v1/auth/me").bearer_auth(token)).await
}

async fn audit_actions(app: &TestApp, session: &Session) -> Vec<String> {
    let r = app.get(session, "/api/v1/audit-log?limit=200").await;
    r.assert(200);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// A JWT signed with `key` for `sub`, expiring at `exp` (Unix seconds).
fn jwt(key: &str, sub: &str, exp: i64) -> String {
    let claims = json!({"sub": sub, "sid": uuid::Uuid::now_v7(), "iat": exp - 900, "exp": exp});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

both! {
    async fn register_returns_a_token_pair_and_an_owned_organization(app) {
        let r = app.post_public("/api/v1/auth/register", json!({
            "email": "  Ann@Example.COM ", "password": PASSWORD, "name": " Ann "})).await;
        r.assert(201);
        assert_eq!(r.body["token_type"], "bearer");
        assert_eq!(r.body["expires_in"], 900);
        assert_eq!(r.body["user"]["email"], "ann@example.com");
        assert_eq!(r.body["user"]["name"], "Ann");
        assert!(r.body["user"]["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(r.body["organizations"][0]["name"], "Ann's organization");
        assert_eq!(r.body["organizations"][0]["role"], "owner");
        assert_eq!(r.body["organizations"][0]["default_currency"], "USD");
        let s = session_from(&r.body);
        let me = me(&app, &s.token).await;
        me.assert(200);
        assert_eq!(me.body["user"]["id"], s.user_id.as_str());
        assert_eq!(me.body["organizations"][0]["id"], s.org_id.as_str());
        assert_eq!(audit_actions(&app, &s).await, vec!["auth.register"]);
    }

    async fn register_names_the_organization_when_asked(app) {
        let r = app.post_public("/api/v1/auth/register", json!({
            "email": "bo@example.com", "password": PASSWORD, "name": "Bo", "organization_name": "Acme"})).await;
        r.assert(201);
        assert_eq!(r.body["organizations"][0]["name"], "Acme");
    }

    async fn a_taken_email_is_a_conflict_in_any_case(app) {
        app.register("ann@example.com").await;
        let r = app.post_public("/api/v1/auth/register", json!({
            "email": "ANN@example.com ", "password": PASSWORD, "name": "Other"})).await;
        r.assert_problem(409, "email_taken");
    }

    async fn register_validates_every_field(app) {
        let cases = [
            (json!({"email": "nope", "password": PASSWORD, "name": "A"}), "email"),
            (json!({"email": "a@example.com", "password": "short1", "name": "A"}), "password"),
            (json!({"email": "a@example.com", "password": "onlyletters", "name": "A"}), "password"),
            (json!({"email": "a@example.com", "password": "1234567890", "name": "A"}), "password"),
            (json!({"email": "a@example.com", "password": "x1".repeat(65), "name": "A"}), "password"),
            (json!({"email": "abc12345@example.com", "password": "abc12345@example.com", "name": "A"}), "password"),
            (json!({"email": "a@example.com", "password": PASSWORD, "name": "  "}), "name"),
            (json!({"email": "a@example.com", "password": PASSWORD, "name": "A", "role": "owner"}), "role"),
        ];
        for (body, field) in cases {
            let r = app.post_public("/api/v1/auth/register", body.clone()).await;
            r.assert_problem(422, "validation_failed");
            let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert!(fields.contains(&field), "{body} should fail on {field}: {}", r.body);
        }
        // Nothing was created by the failed attempts.
        app.register("a@example.com").await;
    }

    async fn login_answers_a_token_pair_with_every_membership(app) {
        let ann = app.register("ann@example.com").await;
        let bo = app.register("bo@example.com").await;
        app.add_member(&bo, "ann2@example.com", "member").await;
        let invite = app.post(&bo, "/api/v1/invitations", json!({"email": "ann@example.com", "role": "manager"})).await;
        invite.assert(201);
        app.post_public(&format!("/api/v1/invitations/{}/accept", accept_token(&invite.body)), json!({"password": PASSWORD}))
            .await
            .assert(200);

        let r = app.post_public("/api/v1/auth/login", json!({"email": " ANN@example.com", "password": PASSWORD})).await;
        r.assert(200);
        assert_eq!(r.body["user"]["id"], ann.user_id.as_str());
        let mut roles: Vec<(String, String)> = r.body["organizations"].as_array().unwrap().iter()
            .map(|o| (o["id"].as_str().unwrap().to_string(), o["role"].as_str().unwrap().to_string()))
            .collect();
        roles.sort();
        let mut expected = vec![(ann.org_id.clone(), "owner".to_string()), (bo.org_id.clone(), "manager".to_string())];
        expected.sort();
        assert_eq!(roles, expected);
        // The sign-in is in the log of every organization of the user.
        assert!(audit_actions(&app, &ann).await.contains(&"auth.login".to_string()));
        assert!(audit_actions(&app, &bo).await.contains(&"auth.login".to_string()));
    }

    async fn wrong_password_and_unknown_email_look_the_same(app) {
        let ann = app.register("ann@example.com").await;
        let wrong = app.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": "wrong pass 1"})).await;
        let unknown = app.post_public("/api/v1/auth/login", json!({"email": "nobody@example.com", "password": "wrong pass 1"})).await;
        wrong.assert_problem(401, "invalid_credentials");
        unknown.assert_problem(401, "invalid_credentials");
        assert_eq!(wrong.body["detail"], unknown.body["detail"]);
        assert_eq!(wrong.body["title"], unknown.body["title"]);
        assert!(audit_actions(&app, &ann).await.contains(&"auth.login_failed".to_string()));
    }

    async fn refresh_rotates_and_reuse_revokes_the_login(app) {
        let ann = app.register("ann@example.com").await;
        let first = app.post_public("/api/v1/auth/refresh", json!({"refresh_token": ann.refresh})).await;
        first.assert(200);
        let second = session_from(&first.body);
        assert_ne!(second.refresh, ann.refresh);
        me(&app, &second.token).await.assert(200);

        // The rotated token no longer works, and presenting it ends the login.
        app.post_public("/api/v1/auth/refresh", json!({"refresh_token": ann.refresh})).await
            .assert_problem(401, "invalid_token");
        app.post_public("/api/v1/auth/refresh", json!({"refresh_token": second.refresh})).await
            .assert_problem(401, "invalid_token");
        assert!(audit_actions(&app, &second).await.contains(&"auth.token_reuse".to_string()));

        // Another login of the same user is untouched.
        let other = app.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": PASSWORD})).await;
        let other = session_from(&other.body);
        app.post_public("/api/v1/auth/refresh", json!({"refresh_token": other.refresh})).await.assert(200);
    }

    async fn unknown_refresh_tokens_are_invalid(app) {
        app.post_public("/api/v1/auth/refresh", json!({"refresh_token": "made-up"})).await.assert_problem(401, "invalid_token");
        app.post_public("/api/v1/auth/refresh", json!({})).await.assert_problem(422, "validation_failed");
    }

    async fn logout_ends_the_login(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.post_public("/api/v1/auth/logout", json!({"refresh_token": ann.refresh})).await;
        r.assert(204);
        app.post_public("/api/v1/auth/refresh", json!({"refresh_token": ann.refresh})).await.assert_problem(401, "invalid_token");
        // Logging out twice, or with an unknown token, is harmless.
        app.post_public("/api/v1/auth/logout", json!({"refresh_token": ann.refresh})).await.assert(204);
    }

    async fn a_user_changes_their_name_time_zone_and_password(app) {
        let ann = app.register("ann@example.com").await;
        let me_path = "/api/v1/auth/me";
        assert_eq!(me(&app, &ann.token).await.body["user"]["time_zone"], serde_json::Value::Null);
        let r = app.patch(&ann, me_path, json!({"name": " Ann B ", "time_zone": "Europe/Paris"})).await;
        r.assert(200);
        assert_eq!(r.body["name"], "Ann B");
        assert_eq!(r.body["time_zone"], "Europe/Paris");
        assert_eq!(me(&app, &ann.token).await.body["user"]["time_zone"], "Europe/Paris");
        // Absent stays; null clears (the browser's zone again).
        let r = app.patch(&ann, me_path, json!({"time_zone": null})).await;
        assert_eq!(r.body["name"], "Ann B");
        assert_eq!(r.body["time_zone"], serde_json::Value::Null);
        let bad = app.patch(&ann, me_path, json!({"time_zone": "Mars/Olympus", "name": ""})).await;
        bad.assert_problem(422, "validation_failed");
        let fields: Vec<&str> = bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "time_zone"]);
        app.patch(&ann, me_path, json!({"email": "x@example.com"})).await.assert(422);

        // The password: the current one first, then the rules of registration.
        let change = "/api/v1/auth/password";
        app.post(&ann, change, json!({"current_password": "wrong one 1", "new_password": "New password 9"}))
            .await
            .assert_problem(422, "validation_failed");
        let weak = app.post(&ann, change, json!({"current_password": PASSWORD, "new_password": "short"})).await;
        assert_eq!(weak.body["errors"][0]["field"], "new_password");
        let other = app.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": PASSWORD})).await;
        let other = session_from(&other.body);
        app.post(&ann, change, json!({"current_password": PASSWORD, "new_password": "New password 9"})).await.assert(204);
        // The old password no longer signs in; the new one does; other logins ended.
        app.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": PASSWORD}))
            .await
            .assert_problem(401, "invalid_credentials");
        app.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": "New password 9"}))
            .await
            .assert(200);
        app.post_public("/api/v1/auth/refresh", json!({"refresh_token": other.refresh}))
            .await
            .assert_problem(401, "invalid_token");
        // Without a token: 401.
        send(app.request(Method::PATCH, me_path).json(&json!({"name": "X"}))).await.assert_problem(401, "invalid_token");
    }

    async fn an_admin_sets_a_temporary_password_for_a_member_of_theirs_alone(app) {
        let owner = app.register("owner@example.com").await;
        let admin = app.add_member(&owner, "admin@example.com", "admin").await;
        let member = app.add_member(&owner, "member@example.com", "member").await;
        let path = |s: &Session| format!("/api/v1/members/{}/password", s.user_id);
        let body = json!({"password": "Temporary 42"});
        // Members may not; admins may for members; nobody for themselves.
        app.post(&member, &path(&admin), body.clone()).await.assert_problem(403, "forbidden");
        app.post(&admin, &path(&owner), body.clone()).await.assert_problem(403, "forbidden");
        app.post(&admin, &path(&admin), body.clone()).await.assert_problem(403, "forbidden");
        app.post(&admin, &path(&member), json!({"password": "weak"})).await.assert_problem(422, "validation_failed");
        app.post(&admin, &path(&member), body.clone()).await.assert(204);
        app.post_public("/api/v1/auth/refresh", json!({"refresh_token": member.refresh}))
            .await
            .assert_problem(401, "invalid_token");
        app.post_public("/api/v1/auth/login", json!({"email": "member@example.com", "password": "Temporary 42"}))
            .await
            .assert(200);
        assert!(audit_actions(&app, &owner).await.contains(&"member.password_set".to_string()));
        // Another organization's member is not found; a member of two
        // organizations changes it themselves.
        let stranger = app.register("stranger@example.com").await;
        app.post(&admin, &path(&stranger), body.clone()).await.assert_problem(404, "not_found");
        let invite = app.post(&stranger, "/api/v1/invitations", json!({"email": "member@example.com", "role": "member"})).await;
        app.post_public(&format!("/api/v1/invitations/{}/accept", accept_token(&invite.body)), json!({"password": "Temporary 42"}))
            .await
            .assert(200);
        app.post(&admin, &path(&member), body).await.assert_problem(409, "member_of_other_organizations");
    }

    async fn bad_and_expired_access_tokens(app) {
        let ann = app.register("ann@example.com").await;
        let now = chrono::Utc::now().timestamp();
        me(&app, "garbage").await.assert_problem(401, "invalid_token");
        let r = send(app.request(Method::GET, "/api/v1/auth/me").header("Authorization", "Basic abc")).await;
        r.assert_problem(401, "invalid_token");
        let forged = jwt("some-other-key-that-is-long-enough-to-sign", &ann.user_id, now + 600);
        me(&app, &forged).await.assert_problem(401, "invalid_token");
        let expired = jwt(SECRET, &ann.user_id, now - 5);
        let r = me(&app, &expired).await;
        r.assert_problem(401, "token_expired");
        assert_eq!(r.body["detail"], "Token expired");
        // Signed with the configured key and still valid: accepted.
        me(&app, &jwt(SECRET, &ann.user_id, now + 600)).await.assert(200);
        // Authentication is checked before the organization header.
        let r = send(app.request(Method::GET, "/api/v1/organization")).await;
        r.assert_problem(401, "invalid_token");
    }
}

both_with! {
    |config| config.registration = crm::config::Registration::InviteOnly;

    async fn invite_only_closes_registration(app) {
        let r = app.post_public("/api/v1/auth/register", json!({"email": "a@example.com", "password": PASSWORD, "name": "A"})).await;
        r.assert_problem(403, "registration_closed");
    }
}

both_with! {
    |config| config.auth_rate_per_minute = 5;

    async fn sign_in_attempts_are_rate_limited_per_ip_and_email(app) {
        app.register("ann@example.com").await;
        for _ in 0..4 {
            app.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": "wrong pass 1"})).await
                .assert_problem(401, "invalid_credentials");
        }
        // The fifth attempt still counts, and passes; the sixth is refused.
        app.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": PASSWORD})).await.assert(200);
        let r = app.post_public("/api/v1/auth/login", json!({"email": "ANN@example.com", "password": PASSWORD})).await;
        r.assert_problem(429, "rate_limited");
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        // Another email from the same address is counted on its own.
        app.post_public("/api/v1/auth/login", json!({"email": "bo@example.com", "password": PASSWORD})).await
            .assert_problem(401, "invalid_credentials");
    }

    async fn registration_attempts_are_counted_apart_from_logins(app) {
        for i in 0..5 {
            let r = app.post_public("/api/v1/auth/register", json!({"email": "x@example.com", "password": "bad", "name": format!("X{i}")})).await;
            r.assert_problem(422, "validation_failed");
        }
        let r = app.post_public("/api/v1/auth/register", json!({"email": "x@example.com", "password": PASSWORD, "name": "X"})).await;
        r.assert_problem(429, "rate_limited");
        assert!(r.header("retry-after").is_some());
        // Logins of that email are a separate count.
        app.post_public("/api/v1/auth/login", json!({"email": "x@example.com", "password": PASSWORD})).await
            .assert_problem(401, "invalid_credentials");
    }
}

both_with! {
    |config| config.rate_per_second = 5;

    async fn api_requests_are_rate_limited_per_user(app) {
        let ann = app.register("ann@example.com").await;
        let bo = app.register("bo@example.com").await;
        // A burst of twice the rate passes; beyond it → 429 with Retry-After.
        let mut limited = None;
        for _ in 0..30 {
            let r = me(&app, &ann.token).await;
            if r.status == 429 {
                limited = Some(r);
                break;
            }
            r.assert(200);
        }
        let r = limited.expect("the burst is limited");
        r.assert_problem(429, "rate_limited");
        assert!(r.header("retry-after").is_some());
        // Another user is not affected.
        me(&app, &bo.token).await.assert(200);
    }
}

both_with! {
    |config| config.hash_limits = crm::services::auth::password::Limits { concurrency: 1, queue: 0 };

    async fn password_hashing_is_bounded_and_says_when_to_come_back(app) {
        app.register("ann@example.com").await;
        // Bursts of 32 sign-ins at once (distinct emails: no per-email limit
        // applies) against one hashing slot and no queue: whoever finds the
        // slot taken is told to come back. (Bursts are repeated, at most ten
        // times, in case a slow machine serializes one burst entirely.)
        let (mut busy, mut served) = (0, 0);
        for round in 0..10 {
            let mut attempts = tokio::task::JoinSet::new();
            for i in 0..32 {
                let body = json!({"email": format!("user{round}-{i}@example.com"), "password": "wrong pass 1"});
                attempts.spawn(send(app.request(Method::POST, "/api/v1/auth/login").json(&body)));
            }
            for r in attempts.join_all().await {
                match r.status.as_u16() {
                    401 => {
                        assert_eq!(r.body["code"], "invalid_credentials");
                        served += 1;
                    }
                    503 => {
                        r.assert_problem(503, "busy");
                        assert_eq!(r.header("retry-after"), Some("1"));
                        busy += 1;
                    }
                    other => panic!("unexpected {other}: {}", r.body),
                }
            }
            if busy > 0 {
                break;
            }
        }
        assert!(busy > 0, "with one slot and no queue, overlapping attempts are turned away");
        assert!(served > 0, "the ones admitted are served");
        // Once the burst has passed, sign-in works again.
        app.post_public("/api/v1/auth/login", json!({"email": "ann@example.com", "password": PASSWORD})).await.assert(200);
    }
}

/// A sign-in attempt for `email` with `X-Forwarded-For: forwarded`.
async fn login_from(app: &TestApp, email: &str, forwarded: &str) -> Resp {
    let body = json!({"email": email, "password": "wrong pass 1"});
    send(
        app.request(Method::POST, "/api/v1/auth/login")
            .header("X-Forwarded-For", forwarded)
            .json(&body),
    )
    .await
}

both_with! {
    |config| {
        config.auth_ip_rate_per_minute = 3;
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    };

    async fn one_address_spraying_many_emails_is_limited_behind_a_trusted_proxy(app) {
        for i in 0..3 {
            login_from(&app, &format!("u{i}@example.com"), "203.0.113.7").await.assert_problem(401, "invalid_credentials");
        }
        // The fourth attempt from that client, for yet another email: refused.
        let r = login_from(&app, "u9@example.com", "203.0.113.7").await;
        r.assert_problem(429, "rate_limited");
        assert!(r.header("retry-after").is_some());
        // Another client behind the same proxy is counted on its own; the
        // address the proxy appended is the one that counts.
        login_from(&app, "u1@example.com", "203.0.113.8").await.assert_problem(401, "invalid_credentials");
        login_from(&app, "u1@example.com", "203.0.113.7, 198.51.100.1").await.assert_problem(401, "invalid_credentials");
        // Registration counts in the same per-address budget.
        let body = json!({"email": "new@example.com", "password": PASSWORD, "name": "N"});
        let r = send(app.request(Method::POST, "/api/v1/auth/register").header("X-Forwarded-For", "203.0.113.7").json(&body)).await;
        r.assert_problem(429, "rate_limited");
    }
}

both_with! {
    |config| config.auth_ip_rate_per_minute = 3;

    async fn without_a_trusted_proxy_forwarded_addresses_are_ignored(app) {
        // A client cannot escape its limit by naming other addresses.
        for (i, forged) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"].into_iter().enumerate() {
            login_from(&app, &format!("u{i}@example.com"), forged).await.assert_problem(401, "invalid_credentials");
        }
        login_from(&app, "u9@example.com", "198.51.100.4").await.assert_problem(429, "rate_limited");
    }
}
