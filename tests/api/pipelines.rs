//! api.md §5 pipelines and §7 "Pipelines".

use reqwest::Method;
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const PIPELINES: &str = "/api/v1/pipelines";

fn keys(p: &Value) -> Vec<&str> {
    p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect()
}

both! {
    async fn every_organization_starts_with_a_default_pipeline(app) {
        let ann = app.register("ann@example.com").await;
        let r = app.get(&ann, PIPELINES).await;
        r.assert(200);
        assert_eq!(r.body["next_cursor"], Value::Null);
        let list = r.body["data"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        let p = &list[0];
        assert_eq!(p["is_default"], true);
        assert_eq!(keys(p), vec!["qualification", "proposal", "negotiation", "closed"]);
        let positions: Vec<i64> = p["stages"].as_array().unwrap().iter().map(|s| s["position"].as_i64().unwrap()).collect();
        assert_eq!(positions, vec![0, 1, 2, 3]);
        assert_eq!(p["version"], 1);
        // Organizations created later get theirs too.
        let org = app.post(&ann, "/api/v1/organizations", json!({"name": "Second"})).await;
        let second = send(app.as_user_in(&ann, org.body["id"].as_str().unwrap(), Method::GET, PIPELINES)).await;
        assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
        assert_ne!(second.body["data"][0]["id"], p["id"]);
    }

    async fn admins_create_pipelines_and_closed_comes_last(app) {
        let owner = app.register("olive@example.com").await;
        let admin = app.add_member(&owner, "ada@example.com", "admin").await;
        let manager = app.add_member(&owner, "max@example.com", "manager").await;
        let body = json!({"name": "Renewals", "stages": [{"key": "contacted", "name": "Contacted", "probability": 20}, {"key": "quoted", "name": "Quoted"}]});
        app.post(&manager, PIPELINES, body.clone()).await.assert_problem(403, "forbidden");
        let r = app.post(&admin, PIPELINES, body).await;
        r.assert(201);
        assert_eq!(r.header("etag"), Some("\"1\""));
        assert_eq!(keys(&r.body), vec!["contacted", "quoted", "closed"]);
        assert_eq!(r.body["stages"][0]["probability"], 20);
        assert_eq!(r.body["stages"][1]["probability"], Value::Null);
        assert_eq!(r.body["stages"][2]["position"], 2);
        assert_eq!(r.body["is_default"], false);
        // closed given last is kept once.
        let r = app.post(&owner, PIPELINES, json!({"name": "B", "stages": [{"key": "a", "name": "A"}, {"key": "closed", "name": "Done"}]})).await;
        r.assert(201);
        assert_eq!(keys(&r.body), vec!["a", "closed"]);
        assert_eq!(r.body["stages"][1]["name"], "Done");
        let list = app.get(&manager, PIPELINES).await;
        assert_eq!(list.body["data"].as_array().unwrap().len(), 3);
        assert_eq!(list.body["data"][0]["is_default"], true);
    }

    async fn stage_lists_are_validated(app) {
        let owner = app.register("olive@example.com").await;
        for (stages, field) in [
            (json!([{"key": "Bad Key", "name": "x"}]), "stages[0].key"),
            (json!([{"key": "a", "name": "x"}, {"key": "a", "name": "y"}]), "stages[1].key"),
            (json!([{"key": "closed", "name": "x"}, {"key": "a", "name": "y"}]), "stages[0].key"),
            (json!([{"key": "a", "name": " "}]), "stages[0].name"),
            (json!([{"key": "a", "name": "x", "probability": 101}]), "stages[0].probability"),
            (json!([]), "stages"),
            (json!([{"key": "a", "name": "x", "color": "red"}]), "stages[0].color"),
        ] {
            let r = app.post(&owner, PIPELINES, json!({"name": "P", "stages": stages})).await;
            r.assert_problem(422, "validation_failed");
            let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert!(fields.contains(&field), "{stages} should fail on {field}: {}", r.body);
        }
    }

    async fn pipelines_are_renamed_restaged_and_made_default(app) {
        let owner = app.register("olive@example.com").await;
        let default = app.get(&owner, PIPELINES).await.body["data"][0].clone();
        let created = app.post(&owner, PIPELINES, json!({"name": "P", "stages": [{"key": "a", "name": "A"}]})).await;
        let path = format!("{PIPELINES}/{}", created.body["id"].as_str().unwrap());
        let r = app.patch(&owner, &path, json!({"name": "P2", "stages": [{"key": "b", "name": "B"}, {"key": "a", "name": "A"}]})).await;
        r.assert(200);
        assert_eq!(r.body["name"], "P2");
        assert_eq!(keys(&r.body), vec!["b", "a", "closed"]);
        assert_eq!(r.body["version"], 2);
        // Sending back what was read changes nothing.
        let same = app.patch(&owner, &path, json!({"name": r.body["name"], "stages": r.body["stages"]})).await;
        same.assert(200);
        assert_eq!(same.body["version"], 2);
        let stale = send(app.as_user(&owner, Method::PATCH, &path).header("If-Match", "\"1\"").json(&json!({"name": "X"}))).await;
        stale.assert_problem(412, "version_mismatch");

        let r = app.patch(&owner, &path, json!({"is_default": true})).await;
        r.assert(200);
        assert_eq!(r.body["is_default"], true);
        let old = app.get(&owner, &format!("{PIPELINES}/{}", default["id"].as_str().unwrap())).await;
        assert_eq!(old.body["is_default"], false);
        let defaults = app.get(&owner, PIPELINES).await.body["data"].as_array().unwrap().iter().filter(|p| p["is_default"] == true).count();
        assert_eq!(defaults, 1);
        app.patch(&owner, &path, json!({"is_default": false})).await.assert_problem(422, "validation_failed");
    }

    async fn the_default_pipeline_cannot_be_deleted(app) {
        let owner = app.register("olive@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let default = app.get(&owner, PIPELINES).await.body["data"][0].clone();
        app.delete(&owner, &format!("{PIPELINES}/{}", default["id"].as_str().unwrap())).await.assert_problem(409, "default_pipeline");
        let created = app.post(&owner, PIPELINES, json!({"name": "P", "stages": [{"key": "a", "name": "A"}]})).await;
        let path = format!("{PIPELINES}/{}", created.body["id"].as_str().unwrap());
        app.delete(&member, &path).await.assert_problem(403, "forbidden");
        app.delete(&owner, &path).await.assert(204);
        app.get(&owner, &path).await.assert_problem(404, "not_found");
        let log = app.get(&owner, "/api/v1/audit-log").await;
        let changes = log.body["data"].as_array().unwrap().iter().filter(|e| e["action"] == "pipeline.changed").count();
        assert_eq!(changes, 2, "created and deleted");
    }

    async fn another_organizations_pipeline_is_not_found(app) {
        let ann = app.register("ann@example.com").await;
        let bo = app.register("bo@example.com").await;
        let theirs = app.get(&bo, PIPELINES).await.body["data"][0]["id"].as_str().unwrap().to_string();
        let path = format!("{PIPELINES}/{theirs}");
        app.get(&ann, &path).await.assert_problem(404, "not_found");
        app.patch(&ann, &path, json!({"name": "Mine"})).await.assert_problem(404, "not_found");
        app.delete(&ann, &path).await.assert_problem(404, "not_found");
        assert_eq!(app.get(&bo, &path).await.body["name"], "Sales");
    }
}
