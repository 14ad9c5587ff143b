//! api.md §5 tasks and §7 "Tasks".

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::both;
use crate::helpers::*;

const TASKS: &str = "/api/v1/tasks";

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

async fn task(app: &TestApp, s: &Session, body: Value) -> Value {
    let r = app.post(s, TASKS, body).await;
    r.assert(201);
    r.body
}

fn titles(r: &Resp) -> Vec<String> {
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

both! {
    async fn tasks_are_created_assigned_and_completed(app) {
        let ann = app.register("ann@example.com").await;
        let c = app.post(&ann, "/api/v1/contacts", json!({"name": "John"})).await.body["id"].as_str().unwrap().to_string();
        let d = app.post(&ann, "/api/v1/deals", json!({"title": "Deal", "contact_id": c})).await.body["id"].as_str().unwrap().to_string();
        let t = task(&app, &ann, json!({"title": "Call", "deal_id": d, "due_date": in_days(2)})).await;
        assert_eq!(t["assignee_id"], ann.user_id.as_str());
        assert_eq!(t["is_done"], false);
        assert_eq!(t["completed_at"], Value::Null);
        assert_eq!(t["contact_id"], Value::Null);
        let p = format!("{TASKS}/{}", t["id"].as_str().unwrap());
        let done = app.patch(&ann, &p, json!({"is_done": true})).await;
        done.assert(200);
        assert!(done.body["completed_at"].is_string());
        let reopened = app.patch(&ann, &p, json!({"is_done": false})).await;
        assert_eq!(reopened.body["completed_at"], Value::Null);
        app.patch(&ann, &p, json!({"is_done": true})).await.assert(200);
        // The deal's timeline and its contact's show the task's life.
        let deal_events = app.get(&ann, &format!("/api/v1/deals/{d}/activities")).await;
        let kinds: Vec<&str> = deal_events.body["data"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["task_completed", "task_completed", "task_created", "system"]);
        assert_eq!(deal_events.body["data"][2]["payload"], json!({"task_id": t["id"], "title": "Call"}));
        assert_eq!(deal_events.body["data"][2]["contact_id"], c.as_str());
        let contact_events = app.get(&ann, &format!("/api/v1/contacts/{c}/activities")).await;
        assert_eq!(contact_events.body["data"].as_array().unwrap().len(), 4);
        // Created done: completed at once.
        let already = task(&app, &ann, json!({"title": "Done", "is_done": true})).await;
        assert!(already["completed_at"].is_string());
        // Deleting the deal keeps the task, without the deal.
        app.delete(&ann, &format!("/api/v1/deals/{d}")).await.assert(204);
        assert_eq!(app.get(&ann, &p).await.body["deal_id"], Value::Null);
    }

    async fn task_rules(app) {
        let ann = app.register("ann@example.com").await;
        let bo = app.register("bo@example.com").await;
        app.post(&ann, TASKS, json!({"title": "Late", "due_date": in_days(-1)})).await.assert_problem(422, "due_date_in_past");
        app.post(&ann, TASKS, json!({"title": ""})).await.assert_problem(422, "validation_failed");
        app.post(&ann, TASKS, json!({"title": "T", "due_date": "tomorrow"})).await.assert_problem(422, "validation_failed");
        app.post(&ann, TASKS, json!({"title": "T", "assignee_id": bo.user_id})).await.assert_problem(422, "assignee_not_member");
        app.post(&ann, TASKS, json!({"title": "T", "deal_id": uuid::Uuid::now_v7()})).await.assert_problem(422, "deal_not_found");
        app.post(&ann, TASKS, json!({"title": "T", "contact_id": uuid::Uuid::now_v7()})).await.assert_problem(422, "contact_not_found");
        // Only creation checks the due date.
        let t = task(&app, &ann, json!({"title": "T", "due_date": in_days(1)})).await;
        let p = format!("{TASKS}/{}", t["id"].as_str().unwrap());
        app.patch(&ann, &p, json!({"due_date": in_days(-3)})).await.assert(200);
        // Tenancy.
        app.get(&bo, &p).await.assert_problem(404, "not_found");
        app.patch(&bo, &p, json!({"title": "x"})).await.assert_problem(404, "not_found");
        app.delete(&bo, &p).await.assert_problem(404, "not_found");
        app.delete(&ann, &p).await.assert(204);
    }

    async fn members_work_on_tasks_they_own_or_are_assigned(app) {
        let owner = app.register("olive@example.com").await;
        let member = app.add_member(&owner, "mel@example.com", "member").await;
        let other = app.add_member(&owner, "otto@example.com", "member").await;
        let assigned = task(&app, &owner, json!({"title": "For Mel", "assignee_id": member.user_id})).await;
        let foreign = task(&app, &owner, json!({"title": "For Olive"})).await;
        app.patch(&member, &format!("{TASKS}/{}", assigned["id"].as_str().unwrap()), json!({"is_done": true})).await.assert(200);
        app.patch(&member, &format!("{TASKS}/{}", foreign["id"].as_str().unwrap()), json!({"is_done": true})).await.assert_problem(403, "forbidden");
        app.patch(&owner, "/api/v1/organization", json!({"member_visibility": "own"})).await.assert(200);
        assert_eq!(titles(&app.get(&member, TASKS).await), vec!["For Mel"]);
        assert!(titles(&app.get(&other, TASKS).await).is_empty());
        app.get(&other, &format!("{TASKS}/{}", assigned["id"].as_str().unwrap())).await.assert_problem(404, "not_found");
        assert_eq!(titles(&app.get(&owner, TASKS).await).len(), 2);
    }

    async fn task_lists_filter_sort_and_page(app) {
        let ann = app.register("ann@example.com").await;
        task(&app, &ann, json!({"title": "Later", "due_date": in_days(5)})).await;
        task(&app, &ann, json!({"title": "No date"})).await;
        task(&app, &ann, json!({"title": "Soon", "due_date": in_days(1)})).await;
        let overdue = task(&app, &ann, json!({"title": "Overdue", "due_date": in_days(2)})).await;
        app.patch(&ann, &format!("{TASKS}/{}", overdue["id"].as_str().unwrap()), json!({"due_date": in_days(-1)})).await.assert(200);
        let done = task(&app, &ann, json!({"title": "Done", "due_date": in_days(3), "is_done": true})).await;
        assert_eq!(titles(&app.get(&ann, TASKS).await), vec!["Overdue", "Soon", "Done", "Later", "No date"]);
        assert_eq!(titles(&app.get(&ann, &format!("{TASKS}?sort=-due_date")).await), vec!["No date", "Later", "Done", "Soon", "Overdue"]);
        assert_eq!(titles(&app.get(&ann, &format!("{TASKS}?overdue=true")).await), vec!["Overdue"]);
        assert_eq!(titles(&app.get(&ann, &format!("{TASKS}?is_done=true")).await), vec!["Done"]);
        let after = urlencode(&in_days(2));
        assert_eq!(titles(&app.get(&ann, &format!("{TASKS}?due_after={after}")).await), vec!["Done", "Later"]);
        assert_eq!(titles(&app.get(&ann, &format!("{TASKS}?due_before={after}&is_done=false")).await), vec!["Overdue", "Soon"]);
        assert_eq!(titles(&app.get(&ann, &format!("{TASKS}?assignee_id={}", ann.user_id)).await).len(), 5);
        app.get(&ann, &format!("{TASKS}?overdue=maybe")).await.assert_problem(422, "validation_failed");
        app.get(&ann, &format!("{TASKS}?sort=title")).await.assert_problem(422, "validation_failed");
        let _ = done;
        for sort in ["due_date", "-due_date", "created_at", "-created_at"] {
            let whole = titles(&app.get(&ann, &format!("{TASKS}?sort={sort}")).await);
            let mut seen = Vec::new();
            let mut cursor = String::new();
            loop {
                let page = app.get(&ann, &format!("{TASKS}?sort={sort}&limit=2{cursor}")).await;
                page.assert(200);
                seen.extend(titles(&page));
                match page.body["next_cursor"].as_str() {
                    Some(c) => cursor = format!("&cursor={c}"),
                    None => break,
                }
            }
            assert_eq!(seen, whole, "walking {sort}");
        }
    }
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

both! {
    async fn walking_task_pages_while_tasks_are_added_visits_each_once(app) {
        let ann = app.register("ann@example.com").await;
        let mut existing = Vec::new();
        for i in 0..7 {
            // Some without a due date, some sharing one, so pages break inside ties.
            let body = if i % 3 == 0 { json!({"title": format!("T{i}")}) } else { json!({"title": format!("T{i}"), "due_date": in_days(1 + i % 2)}) };
            existing.push(task(&app, &ann, body).await["id"].as_str().unwrap().to_string());
        }
        for sort in ["due_date", "-due_date", "-created_at"] {
            let mut seen: Vec<String> = Vec::new();
            let mut cursor = String::new();
            let mut added = 0;
            loop {
                let page = app.get(&ann, &format!("{TASKS}?sort={sort}&limit=2{cursor}")).await;
                page.assert(200);
                seen.extend(page.body["data"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()));
                if added < 2 {
                    task(&app, &ann, json!({"title": format!("new {added}"), "due_date": in_days(1)})).await;
                    added += 1;
                }
                match page.body["next_cursor"].as_str() {
                    Some(next) => cursor = format!("&cursor={next}"),
                    None => break,
                }
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "{sort}: a task was returned twice");
            for id in &existing {
                assert!(seen.contains(id), "{sort}: task {id} was skipped");
            }
        }
    }
}
