//! The service layer runs for any actor (issue 13): an import, an automation
//! or the CLI calls the same functions as the API, under the same rules, and
//! the audit log names who acted.

use crm::app::App;
use crm::services::contacts::{Contact, ContactInput};
use crm::services::idempotency::Idempotency;
use crm::services::orgs::{Actor, OrgCtx};
use crm::services::records::{self, IfMatch};
use serde_json::json;
use uuid::Uuid;

use crate::both;
use crate::helpers::*;

/// A second handle on the test server's database, as a job or the CLI has.
async fn open_beside(app: &TestApp) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let core = App::open(test_config(&app.database_url, dir.path())).await.unwrap();
    (core, dir)
}

both! {
    async fn an_import_acts_with_its_members_rights_and_is_audited_as_itself(app) {
        let ann = app.register("ann@example.com").await;
        let (core, _dir) = open_beside(&app).await;
        let org: Uuid = ann.org_id.parse().unwrap();
        let user: Uuid = ann.user_id.parse().unwrap();
        let import = Uuid::now_v7();
        let ctx = OrgCtx::of_member(&core, org, user, None)
            .await
            .unwrap()
            .acting_as(Actor::Import(import));

        // The same validation as the API.
        let err = records::create::<Contact>(&core, &ctx, &Idempotency::none(), ContactInput::default())
            .await
            .err()
            .unwrap();
        assert_eq!(err.code, "validation_failed");
        assert_eq!(err.errors[0].field, "name");

        let input = ContactInput { name: "Imported Ida".into(), email: Some("ida@example.com".into()), ..Default::default() };
        let contact = records::create::<Contact>(&core, &ctx, &Idempotency::none(), input)
            .await
            .unwrap()
            .into_new()
            .unwrap();
        // Owned by the member the import runs for, and visible to the API.
        let read = app.get(&ann, &format!("/api/v1/contacts/{}", contact.id)).await;
        read.assert(200);
        assert_eq!(read.body["owner_id"], json!(ann.user_id));

        // The same uniqueness rule as the API.
        let again = ContactInput { name: "Ida again".into(), email: Some("ida@example.com".into()), ..Default::default() };
        let err = records::create::<Contact>(&core, &ctx, &Idempotency::none(), again).await.err().unwrap();
        assert_eq!(err.code, "duplicate_contact");

        records::delete::<Contact>(&core, &ctx, contact.id, IfMatch(None)).await.unwrap();
        app.get(&ann, &format!("/api/v1/contacts/{}", contact.id)).await.assert(404);

        let log = app.get(&ann, "/api/v1/audit-log?limit=200").await;
        log.assert(200);
        let entries = log.body["data"].as_array().unwrap();
        let deleted = entries.iter().find(|e| e["action"] == "contact.deleted").unwrap();
        assert_eq!(deleted["details"]["actor"], json!(format!("import:{import}")));
        assert_eq!(deleted["details"]["name"], json!("Imported Ida"));
        assert!(deleted["actor_id"].is_null(), "{deleted}");
        // A user's own action names the user.
        let registered = entries.iter().find(|e| e["action"] == "auth.register").unwrap();
        assert_eq!(registered["actor_id"], json!(ann.user_id));
        assert!(registered["details"].get("actor").is_none(), "{registered}");
    }

    async fn a_context_is_only_made_for_a_member(app) {
        let ann = app.register("ann@example.com").await;
        let bob = app.register("bob@example.com").await;
        let (core, _dir) = open_beside(&app).await;
        let err = OrgCtx::of_member(&core, ann.org_id.parse().unwrap(), bob.user_id.parse().unwrap(), None)
            .await
            .err()
            .unwrap();
        assert_eq!(err.code, "not_a_member");
        assert_eq!(err.status.as_u16(), 403);
    }
}
