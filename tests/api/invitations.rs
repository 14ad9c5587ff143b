//! api.md §4 and §7: invitations (who may invite whom, listing, replacing,
//! revoking, the public read and accept of a one-time link, new and existing
//! accounts) and the audit log (access, shape, order, pagination).

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const INVITATIONS: &str = "/api/v1/invitations";
const AUDIT: &str = "/api/v1/audit-log";

async fn invite(app: &TestApp, s: &Session, email: &str, role: &str) -> Resp {
    app.post(s, INVITATIONS, json!({ "email": email, "role": role })).await
}

/// Public `GET /invitations/{token}`.
async fn read(app: &TestApp, token: &str) -> Resp {
    send(app.request(Method::GET, &format!("{INVITATIONS}/{token}"))).await
}

/// Public `POST /invitations/{token}/accept`.
async fn accept(app: &TestApp, token: &str, body: Value) -> Resp {
    app.post_public(&format!("{INVITATIONS}/{token}/accept"), body).await
}

/// The pending invitations of `s`'s organization.
async fn pending(app: &TestApp, s: &Session) -> Vec<Value> {
    let r = app.get(s, INVITATIONS).await;
    r.assert(200);
    assert_eq!(r.body["next_cursor"], Value::Null);
    r.body["data"].as_array().unwrap().clone()
}

/// `GET /organizations/me` of a token pair or session token.
async fn my_orgs(app: &TestApp, token: &str) -> Vec<Value> {
    let r = send(app.request(Method::GET, "/api/v1/organizations/me").bearer_auth(token)).await;
    r.assert(200);
    r.body["data"].as_array().unwrap().clone()
}

/// Every audit log entry of `s`'s organization, newest first.
async fn audit(app: &TestApp, s: &Session) -> Vec<Value> {
    let r = app.get(s, &format!("{AUDIT}?limit=200")).await;
    r.assert(200);
    assert_eq!(r.body["next_cursor"], Value::Null);
    r.body["data"].as_array().unwrap().clone()
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

fn ids(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

/// Walks the audit log `limit` entries at a time; each page's ids, in order.
async fn walk_audit(app: &TestApp, s: &Session, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{AUDIT}?limit={limit}&cursor={c}"),
            None => format!("{AUDIT}?limit={limit}"),
        };
        let r = app.get(s, &path).await;
        r.assert(200);
        let data = r.body["data"].as_array().unwrap();
        assert!(data.len() <= limit);
        pages.push(ids(data));
        match r.body["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(data.len(), limit, "a page before the last one is full");
                cursor = Some(next.to_string());
            }
            None => break,
        }
        assert!(pages.len() < 1000, "the walk does not end");
    }
    pages
}

fn field_of(r: &Resp) -> &str {
    r.body["errors"][0]["field"].as_str().unwrap_or_default()
}

both! {
    async fn an_invitation_carries_a_one_time_link(app) {
        let owner = app.register("olive@example.com").await;
        let r = invite(&app, &owner, "  New.Person@Example.COM ", "manager").await;
        r.assert(201);
        let body = r.body.as_object().unwrap();
        for field in ["id", "email", "role", "expires_at", "accept_url"] {
            assert!(body.contains_key(field), "{field} missing from {}", r.body);
        }
        assert!(uuid::Uuid::parse_str(r.body["id"].as_str().unwrap()).is_ok());
        assert_eq!(r.body["email"], "new.person@example.com");
        assert_eq!(r.body["role"], "manager");
        let url = r.body["accept_url"].as_str().unwrap();
        assert!(url.starts_with("http://crm.test/invite/"), "{url}");
        let token = accept_token(&r.body);
        assert!(token.len() >= 32, "{token}");
        // Valid for 7 days.
        let expires = chrono::DateTime::parse_from_rfc3339(r.body["expires_at"].as_str().unwrap()).unwrap();
        let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds() as f64 / 86400.0;
        assert!((6.9..=7.01).contains(&days), "{days}");

        // Listed as pending, without the link.
        let list = pending(&app, &owner).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["id"], r.body["id"]);
        assert_eq!(list[0]["email"], "new.person@example.com");
        assert_eq!(list[0]["role"], "manager");
        assert_eq!(list[0]["expires_at"], r.body["expires_at"]);
        assert!(list[0].get("accept_url").is_none(), "{}", list[0]);
        assert!(!list[0].to_string().contains(&token));

        // Two links for two people differ.
        let other = invite(&app, &owner, "other@example.com", "member").await;
        other.assert(201);
        assert_ne!(accept_token(&other.body), token);
        assert_eq!(pending(&app, &owner).await.len(), 2);
    }

    async fn who_may_invite_whom(app) {
        let owner = app.register("olive@example.com").await;
        let admin = app.add_member(&owner, "ada@example.com", "admin").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;

        // An admin invites managers and members only.
        invite(&app, &admin, "a1@example.com", "manager").await.assert(201);
        invite(&app, &admin, "a2@example.com", "member").await.assert(201);
        invite(&app, &admin, "a3@example.com", "admin").await.assert_problem(403, "forbidden");
        invite(&app, &admin, "a4@example.com", "owner").await.assert_problem(403, "forbidden");
        // An owner invites anyone.
        invite(&app, &owner, "o1@example.com", "admin").await.assert(201);
        invite(&app, &owner, "o2@example.com", "owner").await.assert(201);
        // Managers and members invite no one.
        for s in [&manager, &member] {
            invite(&app, s, "x@example.com", "member").await.assert_problem(403, "forbidden");
            invite(&app, s, "y@example.com", "manager").await.assert_problem(403, "forbidden");
        }

        // Listing is admin+ as well.
        let mut emails: Vec<String> = pending(&app, &owner).await.iter()
            .map(|i| i["email"].as_str().unwrap().to_string()).collect();
        emails.sort();
        assert_eq!(emails, ["a1@example.com", "a2@example.com", "o1@example.com", "o2@example.com"]);
        assert_eq!(pending(&app, &admin).await.len(), 4);
        app.get(&manager, INVITATIONS).await.assert_problem(403, "forbidden");
        app.get(&member, INVITATIONS).await.assert_problem(403, "forbidden");

        // The accepted ones are no longer pending; the roles invited are the roles held.
        let r = invite(&app, &owner, "o3@example.com", "admin").await;
        let joined = accept(&app, &accept_token(&r.body), json!({"name": "O3", "password": PASSWORD})).await;
        joined.assert(200);
        assert_eq!(pending(&app, &owner).await.len(), 4);
        let members = app.get(&owner, "/api/v1/members").await;
        let roles: Vec<(&str, &str)> = members.body["data"].as_array().unwrap().iter()
            .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap())).collect();
        assert_eq!(roles, [
            ("olive@example.com", "owner"),
            ("ada@example.com", "admin"),
            ("max@example.com", "manager"),
            ("mel@example.com", "member"),
            ("o3@example.com", "admin"),
        ]);
    }

    async fn invitation_bodies_are_validated(app) {
        let owner = app.register("olive@example.com").await;
        for (body, field) in [
            (json!({"email": "nope", "role": "member"}), "email"),
            (json!({"email": "a@b", "role": "member"}), "email"),
            (json!({"email": "", "role": "member"}), "email"),
            (json!({"email": "a@example.com", "role": "boss"}), "role"),
            (json!({"email": "a@example.com"}), "role"),
            (json!({"role": "member"}), "email"),
            (json!({"email": "a@example.com", "role": "member", "note": "hi"}), "note"),
        ] {
            let r = app.post(&owner, INVITATIONS, body.clone()).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(field_of(&r), field, "{body}");
        }
        assert!(pending(&app, &owner).await.is_empty());
        // Without a token or organization.
        send(app.request(Method::POST, INVITATIONS).json(&json!({"email": "a@example.com", "role": "member"})))
            .await.assert_problem(401, "invalid_token");
        send(app.request(Method::GET, INVITATIONS).bearer_auth(&owner.token)).await.assert_problem(400, "organization_required");
    }

    async fn members_cannot_be_invited_again(app) {
        let owner = app.register("olive@example.com").await;
        app.add_member(&owner, "mel@example.com", "member").await;
        invite(&app, &owner, "mel@example.com", "manager").await.assert_problem(409, "already_member");
        invite(&app, &owner, " MEL@Example.com", "admin").await.assert_problem(409, "already_member");
        invite(&app, &owner, "olive@example.com", "member").await.assert_problem(409, "already_member");
        assert!(pending(&app, &owner).await.is_empty());
        // A user of another organization is not a member here: they may be invited.
        app.register("bob@example.com").await;
        invite(&app, &owner, "bob@example.com", "member").await.assert(201);
    }

    async fn a_new_invitation_replaces_a_pending_one(app) {
        let owner = app.register("olive@example.com").await;
        let first = invite(&app, &owner, "new@example.com", "member").await;
        first.assert(201);
        let first_token = accept_token(&first.body);
        read(&app, &first_token).await.assert(200);
        let second = invite(&app, &owner, "NEW@example.com", "manager").await;
        second.assert(201);
        let second_token = accept_token(&second.body);
        assert_ne!(first.body["id"], second.body["id"]);

        read(&app, &first_token).await.assert_problem(410, "invitation_invalid");
        accept(&app, &first_token, json!({"name": "New", "password": PASSWORD})).await.assert_problem(410, "invitation_invalid");
        let list = pending(&app, &owner).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["id"], second.body["id"]);
        assert_eq!(list[0]["role"], "manager");
        // The replaced one cannot be revoked any more.
        app.delete(&owner, &format!("{INVITATIONS}/{}", first.body["id"].as_str().unwrap())).await.assert_problem(404, "not_found");

        let r = read(&app, &second_token).await;
        r.assert(200);
        assert_eq!(r.body["role"], "manager");
        let r = accept(&app, &second_token, json!({"name": "New", "password": PASSWORD})).await;
        r.assert(200);
        assert_eq!(r.body["organizations"][0]["role"], "manager");
    }

    async fn revoking_an_invitation(app) {
        let owner = app.register("olive@example.com").await;
        let admin = app.add_member(&owner, "ada@example.com", "admin").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let r = invite(&app, &owner, "new@example.com", "member").await;
        let id = r.body["id"].as_str().unwrap().to_string();
        let token = accept_token(&r.body);
        let path = format!("{INVITATIONS}/{id}");

        // Members cannot revoke.
        app.delete(&member, &path).await.assert_problem(403, "forbidden");
        read(&app, &token).await.assert(200);

        app.delete(&admin, &path).await.assert(204);
        read(&app, &token).await.assert_problem(410, "invitation_invalid");
        accept(&app, &token, json!({"name": "New", "password": PASSWORD})).await.assert_problem(410, "invitation_invalid");
        assert!(pending(&app, &owner).await.is_empty());
        app.delete(&admin, &path).await.assert_problem(404, "not_found");
        app.delete(&owner, &format!("{INVITATIONS}/{}", uuid::Uuid::new_v4())).await.assert_problem(404, "not_found");
        app.delete(&owner, &format!("{INVITATIONS}/not-a-uuid")).await.assert_problem(404, "not_found");

        // An accepted invitation is not pending: revoking it → 404.
        let r = invite(&app, &owner, "late@example.com", "member").await;
        accept(&app, &accept_token(&r.body), json!({"name": "Late", "password": PASSWORD})).await.assert(200);
        app.delete(&owner, &format!("{INVITATIONS}/{}", r.body["id"].as_str().unwrap())).await.assert_problem(404, "not_found");

        let log = audit(&app, &owner).await;
        let revoked: Vec<&Value> = log.iter().filter(|e| e["action"] == "invitation.revoked").collect();
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0]["actor_id"], admin.user_id.as_str());
        assert_eq!(revoked[0]["target_id"], id.as_str());
    }

    async fn invitations_of_another_organization_are_not_found(app) {
        let owner = app.register("olive@example.com").await;
        let other = app.register("oscar@example.com").await;
        let r = invite(&app, &other, "new@example.com", "member").await;
        let id = r.body["id"].as_str().unwrap().to_string();
        let token = accept_token(&r.body);

        app.delete(&owner, &format!("{INVITATIONS}/{id}")).await.assert_problem(404, "not_found");
        assert!(pending(&app, &owner).await.is_empty());
        // Still pending where it belongs.
        read(&app, &token).await.assert(200);
        assert_eq!(pending(&app, &other).await.len(), 1);
        // Acting in the other organization without being a member of it.
        let r = send(app.as_user_in(&owner, &other.org_id, Method::DELETE, &format!("{INVITATIONS}/{id}"))).await;
        r.assert_problem(403, "not_a_member");
        send(app.as_user_in(&owner, &other.org_id, Method::GET, INVITATIONS)).await.assert_problem(403, "not_a_member");
        read(&app, &token).await.assert(200);
    }

    async fn the_public_read_of_an_invitation(app) {
        let owner = app.register("olive@example.com").await;
        app.patch(&owner, "/api/v1/organization", json!({"name": "Acme"})).await.assert(200);
        let r = invite(&app, &owner, "new@example.com", "manager").await;
        let token = accept_token(&r.body);
        let r = read(&app, &token).await;
        r.assert(200);
        assert_eq!(r.body, json!({"organization_name": "Acme", "email": "new@example.com", "role": "manager"}));
        // Reading does not use it up.
        read(&app, &token).await.assert(200);

        // Unknown tokens answer like used ones.
        let mut altered = token.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        let same_org_prefix = format!("{}{}", &token[..22], "x".repeat(token.len() - 22));
        let zeros = "A".repeat(64);
        for bad in ["garbage", "x", altered.as_str(), same_org_prefix.as_str(), zeros.as_str(), "%00", "..%2F..%2Fetc"] {
            let r = read(&app, bad).await;
            r.assert_problem(410, "invitation_invalid");
            let r = accept(&app, bad, json!({"name": "X", "password": PASSWORD})).await;
            r.assert_problem(410, "invitation_invalid");
        }
        // The real one still works.
        read(&app, &token).await.assert(200);
    }

    async fn accepting_as_a_new_user(app) {
        let owner = app.register("olive@example.com").await;
        let r = invite(&app, &owner, "new@example.com", "manager").await;
        let token = accept_token(&r.body);
        let r = accept(&app, &token, json!({"name": "  Nina New ", "password": PASSWORD})).await;
        r.assert(200);
        assert_eq!(r.body["token_type"], "bearer");
        assert_eq!(r.body["expires_in"], 900);
        assert!(r.body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(r.body["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(r.body["user"]["email"], "new@example.com");
        assert_eq!(r.body["user"]["name"], "Nina New");
        let orgs = r.body["organizations"].as_array().unwrap();
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0]["id"], owner.org_id.as_str());
        assert_eq!(orgs[0]["role"], "manager");
        assert_eq!(orgs[0]["name"], "olive's organization");
        let mut nina = session_from(&r.body);
        nina.org_id = owner.org_id.clone();

        // The token pair works, in that organization, with that role.
        app.get(&nina, "/api/v1/organization").await.assert(200);
        app.get(&nina, INVITATIONS).await.assert_problem(403, "forbidden");
        let me = send(app.request(Method::GET, "/api/v1/auth/me").bearer_auth(&nina.token)).await;
        me.assert(200);
        assert_eq!(me.body["user"]["id"], nina.user_id.as_str());
        // The refresh token works too.
        let r = app.post_public("/api/v1/auth/refresh", json!({"refresh_token": nina.refresh})).await;
        r.assert(200);
        // And the password signs in.
        let r = app.post_public("/api/v1/auth/login", json!({"email": "new@example.com", "password": PASSWORD})).await;
        r.assert(200);
        assert_eq!(r.body["organizations"][0]["role"], "manager");

        // One time only.
        accept(&app, &token, json!({"name": "Again", "password": PASSWORD})).await.assert_problem(410, "invitation_invalid");
        read(&app, &token).await.assert_problem(410, "invitation_invalid");
        assert!(pending(&app, &owner).await.is_empty());
        // Now a member: no new invitation.
        invite(&app, &owner, "new@example.com", "member").await.assert_problem(409, "already_member");
        // Registering the taken email fails.
        let r = app.post_public("/api/v1/auth/register", json!({"email": "new@example.com", "password": PASSWORD, "name": "N"})).await;
        r.assert_problem(409, "email_taken");
    }

    async fn a_new_users_accept_needs_a_name_and_a_good_password(app) {
        let owner = app.register("olive@example.com").await;
        let r = invite(&app, &owner, "new1@example.com", "member").await;
        let token = accept_token(&r.body);
        for weak in ["short1", "onlyletters", "12345678", "new1@example.com"] {
            let r = accept(&app, &token, json!({"name": "New", "password": weak})).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(field_of(&r), "password", "{weak}");
        }
        let too_long = format!("a1{}", "x".repeat(127));
        let r = accept(&app, &token, json!({"name": "New", "password": too_long})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(field_of(&r), "password");
        // A name is needed for a new account.
        let r = accept(&app, &token, json!({"password": PASSWORD})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(field_of(&r), "name");
        let r = accept(&app, &token, json!({"name": "  ", "password": PASSWORD})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(field_of(&r), "name");
        let r = accept(&app, &token, json!({"name": "New"})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(field_of(&r), "password");
        let r = accept(&app, &token, json!({"name": "New", "password": PASSWORD, "role": "owner"})).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(field_of(&r), "role");
        let r = send(app.request(Method::POST, &format!("{INVITATIONS}/{token}/accept"))
            .header("content-type", "application/json").body("{oops")).await;
        r.assert_problem(400, "malformed_json");
        // None of that used the invitation or created the account.
        read(&app, &token).await.assert(200);
        let r = app.post_public("/api/v1/auth/login", json!({"email": "new1@example.com", "password": PASSWORD})).await;
        r.assert_problem(401, "invalid_credentials");
        let r = accept(&app, &token, json!({"name": "New", "password": PASSWORD})).await;
        r.assert(200);
        assert_eq!(r.body["organizations"][0]["role"], "member");
    }

    async fn accepting_with_an_existing_account(app) {
        let owner = app.register("olive@example.com").await;
        let bob = app.register("bob@example.com").await;
        let r = invite(&app, &owner, "BOB@example.com", "admin").await;
        r.assert(201);
        let token = accept_token(&r.body);

        // Not their password → 401, and the invitation stays usable.
        let r = accept(&app, &token, json!({"password": "wrong password 9"})).await;
        r.assert_problem(401, "invalid_credentials");
        let r = accept(&app, &token, json!({"name": "Bob", "password": "short"})).await;
        r.assert_problem(401, "invalid_credentials");
        read(&app, &token).await.assert(200);
        assert_eq!(my_orgs(&app, &bob.token).await.len(), 1);

        // Their password → 200, a token pair with both organizations; no name needed.
        let r = accept(&app, &token, json!({"password": PASSWORD})).await;
        r.assert(200);
        assert_eq!(r.body["user"]["id"], bob.user_id.as_str());
        assert_eq!(r.body["user"]["name"], "bob");
        let orgs = r.body["organizations"].as_array().unwrap();
        assert_eq!(orgs.len(), 2, "{}", r.body);
        let role_in = |org: &str| orgs.iter().find(|o| o["id"] == org).map(|o| o["role"].clone());
        assert_eq!(role_in(&owner.org_id), Some(json!("admin")));
        assert_eq!(role_in(&bob.org_id), Some(json!("owner")));
        let mine = my_orgs(&app, &bob.token).await;
        assert_eq!(mine.len(), 2);

        // Bob acts in the new organization as an admin, with his old token too.
        let r = send(app.as_user_in(&bob, &owner.org_id, Method::GET, INVITATIONS)).await;
        r.assert(200);
        // His password did not change.
        app.post_public("/api/v1/auth/login", json!({"email": "bob@example.com", "password": PASSWORD})).await.assert(200);
        accept(&app, &token, json!({"password": PASSWORD})).await.assert_problem(410, "invitation_invalid");

        // The failed attempts are in Bob's own organization's log as failed sign-ins.
        let log = audit(&app, &bob).await;
        let failed = log.iter().filter(|e| e["action"] == "auth.login_failed").count();
        assert_eq!(failed, 2, "{log:?}");
    }

    async fn invitations_and_joins_are_audited(app) {
        let owner = app.register("olive@example.com").await;
        let r = invite(&app, &owner, "new@example.com", "manager").await;
        let invitation_id = r.body["id"].as_str().unwrap().to_string();
        let r = accept(&app, &accept_token(&r.body), json!({"name": "New", "password": PASSWORD})).await;
        r.assert(200);
        let new_user = r.body["user"]["id"].as_str().unwrap().to_string();

        let log = audit(&app, &owner).await;
        // Newest first.
        let wanted = ["member.joined", "member.invited", "auth.register"];
        let log: Vec<Value> = log.into_iter().filter(|e| wanted.contains(&e["action"].as_str().unwrap())).collect();
        assert_eq!(actions(&log), wanted);
        let joined = &log[0];
        assert_eq!(joined["actor_id"], new_user.as_str());
        assert_eq!(joined["target_type"], "user");
        assert_eq!(joined["target_id"], new_user.as_str());
        assert_eq!(joined["details"]["role"], "manager");
        let invited = &log[1];
        assert_eq!(invited["actor_id"], owner.user_id.as_str());
        assert_eq!(invited["target_type"], "invitation");
        assert_eq!(invited["target_id"], invitation_id.as_str());
        assert_eq!(invited["details"]["email"], "new@example.com");
        assert_eq!(invited["details"]["role"], "manager");
        assert_eq!(invited["ip"], "127.0.0.1");
    }

    async fn the_audit_log_is_for_admins_and_owners(app) {
        let owner = app.register("olive@example.com").await;
        let admin = app.add_member(&owner, "ada@example.com", "admin").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        app.get(&owner, AUDIT).await.assert(200);
        app.get(&admin, AUDIT).await.assert(200);
        app.get(&manager, AUDIT).await.assert_problem(403, "forbidden");
        app.get(&member, AUDIT).await.assert_problem(403, "forbidden");
        send(app.request(Method::GET, AUDIT).bearer_auth(&owner.token)).await.assert_problem(400, "organization_required");
        send(app.request(Method::GET, AUDIT)).await.assert_problem(401, "invalid_token");
        // Not through the API: no writes.
        let r = app.post(&owner, AUDIT, json!({"action": "x"})).await;
        assert_eq!(r.status.as_u16(), 405, "{}", r.body);
        let entry = audit(&app, &owner).await[0]["id"].as_str().unwrap().to_string();
        let r = app.delete(&owner, &format!("{AUDIT}/{entry}")).await;
        assert!(matches!(r.status.as_u16(), 404 | 405), "{}", r.body);
    }

    async fn audit_entries_have_their_fields_newest_first(app) {
        let owner = app.register("olive@example.com").await;
        let r = app.post_public("/api/v1/auth/login", json!({"email": "olive@example.com", "password": PASSWORD})).await;
        r.assert(200);
        app.patch(&owner, "/api/v1/organization", json!({"name": "Acme"})).await.assert(200);
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        app.delete(&owner, &format!("/api/v1/members/{}", member.user_id)).await.assert(204);

        let log = audit(&app, &owner).await;
        let wanted = ["member.removed", "member.joined", "member.invited", "organization.updated", "auth.login", "auth.register"];
        let recorded: Vec<&str> = actions(&log).into_iter().filter(|a| wanted.contains(a)).collect();
        assert_eq!(recorded, wanted);
        for e in &log {
            let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(keys, ["action", "actor_id", "created_at", "details", "id", "ip", "target_id", "target_type"], "{e}");
            assert!(uuid::Uuid::parse_str(e["id"].as_str().unwrap()).is_ok());
            assert!(e["details"].is_object(), "{e}");
        }
        let times: Vec<chrono::DateTime<chrono::FixedOffset>> = log.iter()
            .map(|e| chrono::DateTime::parse_from_rfc3339(e["created_at"].as_str().unwrap()).unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
        let register = log.last().unwrap();
        assert_eq!(register["actor_id"], owner.user_id.as_str());
        assert_eq!(register["target_type"], "user");
        assert_eq!(register["target_id"], owner.user_id.as_str());
        let login = log.iter().find(|e| e["action"] == "auth.login").unwrap();
        assert_eq!(login["actor_id"], owner.user_id.as_str());
        assert_eq!(login["target_id"], owner.user_id.as_str());

        // Another organization's log holds only its own entries.
        let bob = app.register("bob@example.com").await;
        let theirs = audit(&app, &bob).await;
        assert!(actions(&theirs).contains(&"auth.register"));
        assert!(theirs.iter().all(|e| e["actor_id"] == bob.user_id.as_str()), "{theirs:?}");
        let ours: HashSet<String> = ids(&log).into_iter().collect();
        assert!(ids(&theirs).iter().all(|id| !ours.contains(id)));
        assert_eq!(audit(&app, &owner).await.len(), log.len());
    }

    async fn audit_log_pagination_walks_every_entry_once(app) {
        let owner = app.register("olive@example.com").await;
        for i in 0..5 {
            invite(&app, &owner, &format!("p{i}@example.com"), "member").await.assert(201);
        }
        app.patch(&owner, "/api/v1/organization", json!({"name": "Paged"})).await.assert(200);
        let all = ids(&audit(&app, &owner).await);
        assert!(all.len() >= 7, "{all:?}");

        for limit in [1, 2, 3, 7, 200] {
            let pages = walk_audit(&app, &owner, limit).await;
            let walked: Vec<String> = pages.concat();
            assert_eq!(walked, all, "limit={limit}");
            assert_eq!(pages.len(), all.len().div_ceil(limit).max(1), "limit={limit}");
        }
        // The default page holds up to 50.
        let r = app.get(&owner, AUDIT).await;
        r.assert(200);
        assert_eq!(ids(r.body["data"].as_array().unwrap()), all);
        assert_eq!(r.body["next_cursor"], Value::Null);

        // Stable under inserts: entries written during a walk do not disturb it.
        let first = app.get(&owner, &format!("{AUDIT}?limit=1")).await;
        let mut walked = ids(first.body["data"].as_array().unwrap());
        let mut cursor = first.body["next_cursor"].as_str().unwrap().to_string();
        invite(&app, &owner, "late@example.com", "member").await.assert(201);
        loop {
            let r = app.get(&owner, &format!("{AUDIT}?limit=1&cursor={cursor}")).await;
            r.assert(200);
            walked.extend(ids(r.body["data"].as_array().unwrap()));
            match r.body["next_cursor"].as_str() {
                Some(next) => cursor = next.to_string(),
                None => break,
            }
        }
        assert_eq!(walked, all);
        assert_eq!(audit(&app, &owner).await.len(), all.len() + 1);
    }

    async fn audit_log_query_parameters_are_checked(app) {
        let owner = app.register("olive@example.com").await;
        for bad in ["0", "201", "abc", "-1", "1.5"] {
            let r = app.get(&owner, &format!("{AUDIT}?limit={bad}")).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(field_of(&r), "limit", "{bad}");
        }
        app.get(&owner, &format!("{AUDIT}?limit=200")).await.assert(200);
        app.get(&owner, &format!("{AUDIT}?limit=1")).await.assert(200);
        for bad in ["garbage", "eyJub3QiOiJpdCJ9", "%00", "W10"] {
            let r = app.get(&owner, &format!("{AUDIT}?cursor={bad}")).await;
            r.assert_problem(422, "invalid_cursor");
        }
    }
}

both! {
    async fn concurrent_invitations_to_one_address_leave_one_pending(app) {
        let owner = app.register("olive@example.com").await;
        let mut requests = tokio::task::JoinSet::new();
        for role in ["member", "manager", "member", "manager", "member", "manager", "member", "manager"] {
            let request = app
                .as_user(&owner, reqwest::Method::POST, INVITATIONS)
                .json(&json!({"email": "same@example.com", "role": role}));
            requests.spawn(send(request));
        }
        while let Some(answer) = requests.join_next().await {
            answer.unwrap().assert(201);
        }
        assert_eq!(pending(&app, &owner).await.len(), 1);
    }

    async fn admins_cannot_replace_or_revoke_privileged_invitations(app) {
        let owner = app.register("olive@example.com").await;
        let admin = app.add_member(&owner, "ada@example.com", "admin").await;
        let r = invite(&app, &owner, "boss@example.com", "admin").await;
        r.assert(201);
        let id = r.body["id"].as_str().unwrap().to_string();
        app.delete(&admin, &format!("{INVITATIONS}/{id}")).await.assert_problem(403, "forbidden");
        invite(&app, &admin, "boss@example.com", "member").await.assert_problem(403, "forbidden");
        // Still pending, still an admin invitation; the owner may revoke it.
        let list = pending(&app, &owner).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["role"], "admin");
        app.delete(&owner, &format!("{INVITATIONS}/{id}")).await.assert(204);
    }

    async fn accepting_with_an_existing_account_is_a_sign_in(app) {
        let owner = app.register("olive@example.com").await;
        let other = app.register("otto@example.com").await;
        let r = invite(&app, &owner, "otto@example.com", "member").await;
        accept(&app, &accept_token(&r.body), json!({"password": PASSWORD})).await.assert(200);
        let log = app.get(&other, "/api/v1/audit-log").await;
        let actions: Vec<&str> = log.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"auth.login"), "{actions:?}");
    }
}
