//! Likely duplicates (issue 15 item 5): groups by email, phone and similar
//! names, best first, paged; merged records leave their group; only what
//! the caller may read; companies by domain and by name without legal
//! suffixes.

use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

async fn id_of(r: Resp) -> String {
    r.assert(201);
    r.body["id"].as_str().unwrap().to_string()
}

fn ids(group: &Value, key: &str) -> Vec<String> {
    group[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

both! {
    async fn contacts_are_grouped_by_email_phone_and_similar_names(app) {
        let ann = app.register("ann@example.com").await;
        let acme = id_of(app.post(&ann, "/api/v1/companies", json!({"name": "Acme"})).await).await;
        let john = id_of(app.post(&ann, "/api/v1/contacts", json!({"name": "John Doe", "email": "john.doe@gmail.com"})).await).await;
        let johnny = id_of(app.post(&ann, "/api/v1/contacts", json!({"name": "Johnny D", "email": "johndoe+crm@gmail.com"})).await).await;
        let kim = id_of(app.post(&ann, "/api/v1/contacts", json!({"name": "Kim Wu", "phone": "+14155550100"})).await).await;
        let kim2 = id_of(app.post(&ann, "/api/v1/contacts", json!({"name": "K. Wu", "phone": "+33 1 55 55 01 00"})).await).await;
        let jon = id_of(app.post(&ann, "/api/v1/contacts", json!({"name": "Jonathan Smith", "company_id": acme})).await).await;
        let jon2 = id_of(app.post(&ann, "/api/v1/contacts", json!({"name": "Jonathon Smith", "company_id": acme})).await).await;
        // Alike names without a shared company or work domain: no group.
        app.post(&ann, "/api/v1/contacts", json!({"name": "Jonathan Smith"})).await.assert(201);

        let r = app.get(&ann, "/api/v1/contacts/duplicates").await;
        r.assert(200);
        let groups = r.body["data"].as_array().unwrap();
        assert_eq!(groups.len(), 3, "{}", r.body);
        assert!(r.body["scanned_at"].is_string());
        let find = |reason: &str| groups.iter().find(|g| g["reason"] == reason).unwrap_or_else(|| panic!("no {reason} group: {}", r.body));
        assert_eq!(ids(find("email"), "contacts"), [john.clone(), johnny.clone()]);
        assert_eq!(ids(find("phone"), "contacts"), [kim.clone(), kim2.clone()]);
        let names = find("name");
        assert_eq!(ids(names, "contacts"), [jon.clone(), jon2.clone()]);
        let score = names["score"].as_f64().unwrap();
        assert!((0.92..1.0).contains(&score), "{score}");
        assert_eq!(groups.last().unwrap()["reason"], "name", "best score first");
        assert_eq!(find("email")["contacts"][0]["email"], "john.doe@gmail.com", "records as the API shows them");

        // Paged.
        let first = app.get(&ann, "/api/v1/contacts/duplicates?limit=2").await;
        assert_eq!(first.body["data"].as_array().unwrap().len(), 2);
        let cursor = first.body["next_cursor"].as_str().unwrap();
        let second = app.get(&ann, &format!("/api/v1/contacts/duplicates?limit=2&cursor={cursor}")).await;
        assert_eq!(second.body["data"].as_array().unwrap().len(), 1);
        assert!(second.body["next_cursor"].is_null());
        app.get(&ann, "/api/v1/contacts/duplicates?limit=0").await.assert_problem(422, "validation_failed");

        // Merged: the group is gone.
        app.post(&ann, &format!("/api/v1/contacts/{john}/merge"), json!({"merge_ids": [johnny]})).await.assert(200);
        let after = app.get(&ann, "/api/v1/contacts/duplicates").await;
        assert!(after.body["data"].as_array().unwrap().iter().all(|g| g["reason"] != "email"), "{}", after.body);

        // Another organization sees none of it.
        let bob = app.register("bob@example.com").await;
        assert_eq!(app.get(&bob, "/api/v1/contacts/duplicates").await.body["data"], json!([]));
    }

    async fn members_with_own_visibility_see_only_their_records_in_groups(app) {
        let ann = app.register("ann@example.com").await;
        app.patch(&ann, "/api/v1/organization", json!({"member_visibility": "own"})).await.assert(200);
        let mia = app.add_member(&ann, "mia@example.com", "member").await;
        app.post(&ann, "/api/v1/contacts", json!({"name": "Lee", "email": "lee.park@gmail.com"})).await.assert(201);
        app.post(&mia, "/api/v1/contacts", json!({"name": "Lee P", "email": "leepark@gmail.com"})).await.assert(201);
        assert_eq!(app.get(&ann, "/api/v1/contacts/duplicates").await.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(app.get(&mia, "/api/v1/contacts/duplicates").await.body["data"], json!([]), "a group of one is not shown");
    }

    async fn companies_are_grouped_by_domain_or_name_without_legal_suffixes(app) {
        let ann = app.register("ann@example.com").await;
        let globex = id_of(app.post(&ann, "/api/v1/companies", json!({"name": "Globex GmbH"})).await).await;
        let globex2 = id_of(app.post(&ann, "/api/v1/companies", json!({"name": "Globex, Inc."})).await).await;
        app.post(&ann, "/api/v1/companies", json!({"name": "Initech"})).await.assert(201);
        let r = app.get(&ann, "/api/v1/companies/duplicates").await;
        r.assert(200);
        let groups = r.body["data"].as_array().unwrap();
        assert_eq!(groups.len(), 1, "{}", r.body);
        assert_eq!(groups[0]["reason"], "name");
        assert_eq!(ids(&groups[0], "companies"), [globex, globex2]);
    }
}
