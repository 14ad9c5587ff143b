//! api.md §4 and §7: listing members, the role matrix of changing roles and
//! removing members, leaving, the last-owner rule, tenancy of member ids, and
//! the audit entries these write.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const MEMBERS: &str = "/api/v1/members";

fn member_path(user_id: &str) -> String {
    format!("{MEMBERS}/{user_id}")
}

/// `{user_id: role}` of the organization, as `viewer` reads it.
async fn roles(app: &TestApp, viewer: &Session) -> Vec<(String, String)> {
    let r = app.get(viewer, MEMBERS).await;
    r.assert(200);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn role_of(app: &TestApp, viewer: &Session, user: &Session) -> Option<String> {
    roles(app, viewer)
        .await
        .into_iter()
        .find(|(id, _)| *id == user.user_id)
        .map(|(_, role)| role)
}

async fn set_role(app: &TestApp, actor: &Session, target: &Session, role: &str) -> Resp {
    app.patch(actor, &member_path(&target.user_id), json!({ "role": role }))
        .await
}

/// Every audit log entry of `owner`'s organization, newest first.
async fn audit(app: &TestApp, owner: &Session) -> Vec<Value> {
    let r = app.get(owner, "/api/v1/audit-log?limit=200").await;
    r.assert(200);
    r.body["data"].as_array().unwrap().clone()
}

/// An organization with an owner and one member of every other role.
struct Team {
    owner: Session,
    admin: Session,
    manager: Session,
    member: Session,
}

async fn team(app: &TestApp) -> Team {
    let owner = app.register("olive@example.com").await;
    let admin = app.add_member(&owner, "ada@example.com", "admin").await;
    let manager = app.add_member(&owner, "max@example.com", "manager").await;
    let member = app.add_member(&owner, "mel@example.com", "member").await;
    Team {
        owner,
        admin,
        manager,
        member,
    }
}

both! {
    async fn any_member_lists_the_members(app) {
        let t = team(&app).await;
        for viewer in [&t.owner, &t.admin, &t.manager, &t.member] {
            let r = app.get(viewer, MEMBERS).await;
            r.assert(200);
            assert_eq!(r.body["next_cursor"], Value::Null);
            assert!(r.body.as_object().unwrap().contains_key("next_cursor"));
            let data = r.body["data"].as_array().unwrap();
            assert_eq!(data.len(), 4);
            for m in data {
                let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
                keys.sort();
                assert_eq!(keys, ["email", "joined_at", "name", "role", "user_id"], "{m}");
                assert!(chrono::DateTime::parse_from_rfc3339(m["joined_at"].as_str().unwrap()).is_ok());
            }
            // In the order they joined.
            let who: Vec<(&str, &str, &str)> = data.iter().map(|m| (
                m["user_id"].as_str().unwrap(), m["email"].as_str().unwrap(), m["role"].as_str().unwrap())).collect();
            assert_eq!(who, [
                (t.owner.user_id.as_str(), "olive@example.com", "owner"),
                (t.admin.user_id.as_str(), "ada@example.com", "admin"),
                (t.manager.user_id.as_str(), "max@example.com", "manager"),
                (t.member.user_id.as_str(), "mel@example.com", "member"),
            ]);
            assert_eq!(data[0]["name"], "olive");
            assert_eq!(data[3]["name"], "mel@example.com");
        }
        // Someone else's organization is not theirs to list.
        let stranger = app.register("sam@example.com").await;
        send(app.as_user_in(&stranger, &t.owner.org_id, Method::GET, MEMBERS)).await.assert_problem(403, "not_a_member");
        send(app.request(Method::GET, MEMBERS).bearer_auth(&stranger.token)).await.assert_problem(400, "organization_required");
        send(app.request(Method::GET, MEMBERS)).await.assert_problem(401, "invalid_token");
    }

    async fn admins_manage_managers_and_members(app) {
        let t = team(&app).await;
        // member → manager and back.
        let r = set_role(&app, &t.admin, &t.member, "manager").await;
        r.assert(200);
        assert_eq!(r.body["user_id"], t.member.user_id.as_str());
        assert_eq!(r.body["email"], "mel@example.com");
        assert_eq!(r.body["role"], "manager");
        assert_eq!(role_of(&app, &t.owner, &t.member).await.as_deref(), Some("manager"));
        let r = set_role(&app, &t.admin, &t.member, "member").await;
        r.assert(200);
        assert_eq!(r.body["role"], "member");
        set_role(&app, &t.admin, &t.manager, "member").await.assert(200);
        set_role(&app, &t.admin, &t.manager, "manager").await.assert(200);
        // Setting the role someone has is fine and changes nothing.
        let r = set_role(&app, &t.admin, &t.manager, "manager").await;
        r.assert(200);
        assert_eq!(r.body["role"], "manager");

        // Those roles still cannot change settings, an admin-only action.
        app.patch(&t.member, "/api/v1/organization", json!({"name": "X"})).await.assert_problem(403, "forbidden");
        app.patch(&t.manager, "/api/v1/organization", json!({"name": "X"})).await.assert_problem(403, "forbidden");

        // Removing a manager and a member.
        app.delete(&t.admin, &member_path(&t.manager.user_id)).await.assert(204);
        app.delete(&t.admin, &member_path(&t.member.user_id)).await.assert(204);
        let left = roles(&app, &t.owner).await;
        assert_eq!(left.len(), 2);
        assert!(left.iter().all(|(id, _)| *id != t.manager.user_id && *id != t.member.user_id));
        // The removed ones are out.
        app.get(&t.manager, "/api/v1/organization").await.assert_problem(403, "not_a_member");
        app.get(&t.member, MEMBERS).await.assert_problem(403, "not_a_member");
        // Removing again → 404.
        app.delete(&t.admin, &member_path(&t.member.user_id)).await.assert_problem(404, "not_found");
        set_role(&app, &t.admin, &t.member, "manager").await.assert_problem(404, "not_found");
    }

    async fn admins_cannot_touch_owners_and_admins(app) {
        let t = team(&app).await;
        let admin2 = app.add_member(&t.owner, "abe@example.com", "admin").await;
        // Granting admin or owner.
        set_role(&app, &t.admin, &t.member, "admin").await.assert_problem(403, "forbidden");
        set_role(&app, &t.admin, &t.manager, "owner").await.assert_problem(403, "forbidden");
        // Changing an admin or the owner (themself included).
        set_role(&app, &t.admin, &admin2, "member").await.assert_problem(403, "forbidden");
        set_role(&app, &t.admin, &t.admin, "manager").await.assert_problem(403, "forbidden");
        set_role(&app, &t.admin, &t.owner, "member").await.assert_problem(403, "forbidden");
        set_role(&app, &t.admin, &t.owner, "admin").await.assert_problem(403, "forbidden");
        // Removing an admin or the owner.
        app.delete(&t.admin, &member_path(&admin2.user_id)).await.assert_problem(403, "forbidden");
        app.delete(&t.admin, &member_path(&t.owner.user_id)).await.assert_problem(403, "forbidden");
        // Nothing changed.
        assert_eq!(roles(&app, &t.owner).await, [
            (t.owner.user_id.clone(), "owner".to_string()),
            (t.admin.user_id.clone(), "admin".to_string()),
            (t.manager.user_id.clone(), "manager".to_string()),
            (t.member.user_id.clone(), "member".to_string()),
            (admin2.user_id.clone(), "admin".to_string()),
        ]);
    }

    async fn owners_manage_every_role(app) {
        let t = team(&app).await;
        let r = set_role(&app, &t.owner, &t.member, "admin").await;
        r.assert(200);
        assert_eq!(r.body["role"], "admin");
        // The new admin may now change settings.
        app.patch(&t.member, "/api/v1/organization", json!({"name": "By Mel"})).await.assert(200);
        set_role(&app, &t.owner, &t.admin, "member").await.assert(200);
        // The demoted admin lost admin rights at once.
        app.patch(&t.admin, "/api/v1/organization", json!({"name": "By Ada"})).await.assert_problem(403, "forbidden");
        set_role(&app, &t.owner, &t.manager, "owner").await.assert(200);
        assert_eq!(role_of(&app, &t.owner, &t.manager).await.as_deref(), Some("owner"));
        // Removing an admin.
        app.delete(&t.owner, &member_path(&t.member.user_id)).await.assert(204);
        assert_eq!(role_of(&app, &t.owner, &t.member).await, None);
        // The new owner may remove the first one.
        app.delete(&t.manager, &member_path(&t.owner.user_id)).await.assert(204);
        app.get(&t.owner, MEMBERS).await.assert_problem(403, "not_a_member");
        assert_eq!(roles(&app, &t.manager).await, [
            (t.admin.user_id.clone(), "member".to_string()),
            (t.manager.user_id.clone(), "owner".to_string()),
        ]);
    }

    async fn managers_and_members_cannot_change_roles_or_remove_others(app) {
        let t = team(&app).await;
        for actor in [&t.manager, &t.member] {
            for target in [&t.owner, &t.admin, &t.manager, &t.member] {
                set_role(&app, actor, target, "member").await.assert_problem(403, "forbidden");
                set_role(&app, actor, target, "owner").await.assert_problem(403, "forbidden");
            }
        }
        app.delete(&t.manager, &member_path(&t.member.user_id)).await.assert_problem(403, "forbidden");
        app.delete(&t.member, &member_path(&t.manager.user_id)).await.assert_problem(403, "forbidden");
        app.delete(&t.manager, &member_path(&t.owner.user_id)).await.assert_problem(403, "forbidden");
        assert_eq!(roles(&app, &t.owner).await.len(), 4);
        assert_eq!(role_of(&app, &t.owner, &t.manager).await.as_deref(), Some("manager"));
        assert_eq!(role_of(&app, &t.owner, &t.member).await.as_deref(), Some("member"));
    }

    async fn any_member_may_leave(app) {
        let t = team(&app).await;
        for leaver in [&t.member, &t.manager, &t.admin] {
            app.delete(leaver, &member_path(&leaver.user_id)).await.assert(204);
            app.get(leaver, "/api/v1/organization").await.assert_problem(403, "not_a_member");
            app.get(leaver, MEMBERS).await.assert_problem(403, "not_a_member");
            // Gone from their list of organizations too.
            let r = send(app.request(Method::GET, "/api/v1/organizations/me").bearer_auth(&leaver.token)).await;
            r.assert(200);
            assert_eq!(r.body["data"], json!([]));
        }
        assert_eq!(roles(&app, &t.owner).await, [(t.owner.user_id.clone(), "owner".to_string())]);
        let log = audit(&app, &t.owner).await;
        let left: Vec<&Value> = log.iter().filter(|e| e["action"] == "member.removed").collect();
        assert_eq!(left.len(), 3);
        assert_eq!(left[0]["actor_id"], t.admin.user_id.as_str());
        assert_eq!(left[0]["target_id"], t.admin.user_id.as_str());
        assert_eq!(left[0]["details"]["left"], true);
    }

    async fn the_last_owner_stays(app) {
        let t = team(&app).await;
        let owner = &t.owner;
        set_role(&app, owner, owner, "admin").await.assert_problem(409, "last_owner");
        set_role(&app, owner, owner, "member").await.assert_problem(409, "last_owner");
        app.delete(owner, &member_path(&owner.user_id)).await.assert_problem(409, "last_owner");
        assert_eq!(role_of(&app, owner, owner).await.as_deref(), Some("owner"));
        // Setting the role they have is not a change.
        set_role(&app, owner, owner, "owner").await.assert(200);

        // A second owner: one may demote the other, and then the rule applies again.
        set_role(&app, owner, &t.admin, "owner").await.assert(200);
        let r = set_role(&app, &t.admin, owner, "manager").await;
        r.assert(200);
        assert_eq!(r.body["role"], "manager");
        assert_eq!(role_of(&app, &t.admin, owner).await.as_deref(), Some("manager"));
        set_role(&app, &t.admin, &t.admin, "admin").await.assert_problem(409, "last_owner");
        app.delete(&t.admin, &member_path(&t.admin.user_id)).await.assert_problem(409, "last_owner");
        // The demoted owner, now a manager, cannot undo it.
        set_role(&app, owner, owner, "owner").await.assert_problem(403, "forbidden");

        // With two owners, one may leave.
        set_role(&app, &t.admin, owner, "owner").await.assert(200);
        app.delete(owner, &member_path(&owner.user_id)).await.assert(204);
        assert_eq!(role_of(&app, &t.admin, owner).await, None);
        app.delete(&t.admin, &member_path(&t.admin.user_id)).await.assert_problem(409, "last_owner");
        // An owner may remove another owner while one remains.
        set_role(&app, &t.admin, &t.manager, "owner").await.assert(200);
        app.delete(&t.admin, &member_path(&t.manager.user_id)).await.assert(204);
        assert_eq!(roles(&app, &t.admin).await, [
            (t.admin.user_id.clone(), "owner".to_string()),
            (t.member.user_id.clone(), "member".to_string()),
        ]);
    }

    async fn unknown_and_foreign_member_ids_are_not_found(app) {
        let t = team(&app).await;
        let other = app.register("oscar@example.com").await;
        let other_member = app.add_member(&other, "otto@example.com", "member").await;
        for target in [uuid::Uuid::new_v4().to_string(), other.user_id.clone(), other_member.user_id.clone()] {
            let path = member_path(&target);
            app.patch(&t.owner, &path, json!({"role": "manager"})).await.assert_problem(404, "not_found");
            app.delete(&t.owner, &path).await.assert_problem(404, "not_found");
            app.patch(&t.admin, &path, json!({"role": "manager"})).await.assert_problem(404, "not_found");
            app.delete(&t.admin, &path).await.assert_problem(404, "not_found");
        }
        for bad in ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"] {
            let path = member_path(bad);
            app.patch(&t.owner, &path, json!({"role": "manager"})).await.assert_problem(404, "not_found");
            app.delete(&t.owner, &path).await.assert_problem(404, "not_found");
        }
        // The other organization is untouched.
        assert_eq!(roles(&app, &other).await, [
            (other.user_id.clone(), "owner".to_string()),
            (other_member.user_id.clone(), "member".to_string()),
        ]);
        // And its owner cannot reach into this one through its own header.
        let path = member_path(&t.member.user_id);
        app.delete(&other, &path).await.assert_problem(404, "not_found");
        app.patch(&other, &path, json!({"role": "owner"})).await.assert_problem(404, "not_found");
        assert_eq!(role_of(&app, &t.owner, &t.member).await.as_deref(), Some("member"));
    }

    async fn role_changes_validate_their_body(app) {
        let t = team(&app).await;
        let path = member_path(&t.member.user_id);
        for (body, field) in [
            (json!({"role": "boss"}), "role"),
            (json!({"role": "Owner"}), "role"),
            (json!({"role": 1}), "role"),
            (json!({}), "role"),
            (json!({"role": "manager", "title": "x"}), "title"),
        ] {
            let r = app.patch(&t.owner, &path, body.clone()).await;
            r.assert_problem(422, "validation_failed");
            assert_eq!(r.body["errors"][0]["field"], field, "{body}");
        }
        assert_eq!(role_of(&app, &t.owner, &t.member).await.as_deref(), Some("member"));
    }

    async fn role_changes_and_removals_are_audited(app) {
        let t = team(&app).await;
        set_role(&app, &t.admin, &t.member, "manager").await.assert(200);
        app.delete(&t.owner, &member_path(&t.manager.user_id)).await.assert(204);
        // Refused changes write nothing.
        set_role(&app, &t.admin, &t.owner, "member").await.assert_problem(403, "forbidden");
        set_role(&app, &t.owner, &t.owner, "member").await.assert_problem(409, "last_owner");
        // Nor do changes that are none.
        set_role(&app, &t.owner, &t.admin, "admin").await.assert(200);

        let log = audit(&app, &t.owner).await;
        let changed: Vec<&Value> = log.iter().filter(|e| e["action"] == "member.role_changed").collect();
        assert_eq!(changed.len(), 1, "{log:?}");
        assert_eq!(changed[0]["actor_id"], t.admin.user_id.as_str());
        assert_eq!(changed[0]["target_type"], "user");
        assert_eq!(changed[0]["target_id"], t.member.user_id.as_str());
        assert_eq!(changed[0]["details"]["from"], "member");
        assert_eq!(changed[0]["details"]["to"], "manager");
        let removed: Vec<&Value> = log.iter().filter(|e| e["action"] == "member.removed").collect();
        assert_eq!(removed.len(), 1, "{log:?}");
        assert_eq!(removed[0]["actor_id"], t.owner.user_id.as_str());
        assert_eq!(removed[0]["target_type"], "user");
        assert_eq!(removed[0]["target_id"], t.manager.user_id.as_str());
        assert_eq!(removed[0]["details"]["role"], "manager");
        // Newest first: the removal came after the role change.
        let pos = |action: &str| log.iter().position(|e| e["action"] == action).unwrap();
        assert!(pos("member.removed") < pos("member.role_changed"));
    }
}
