//! `/api/v1/tasks` (api.md §5 "Tasks"): the standard record endpoints.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::records::record_endpoints;
use crate::app::App;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::services::pagination::Page;
use crate::services::tasks::{self, Task, TaskInput, TaskPatch, TaskQuery};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(bulk_tasks))
        .routes(routes!(get_task, update_task, delete_task))
}

record_endpoints! {
    record: Task, input: TaskInput, patch: TaskPatch, query: TaskQuery,
    list_with: tasks::list,
    tag: "tasks", collection: "/tasks", item: "/tasks/{id}",
    list: list_tasks ["List tasks (keyset-paginated)."],
    create: create_task ["Create a task."] (
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 422, body = Problem, description = "`validation_failed`, `due_date_in_past`, `deal_not_found`, `contact_not_found`, `assignee_not_member`, `owner_not_member`"),
    ),
    read: get_task ["Read a task."],
    update: update_task ["Change a task; `is_done: true` completes it (and logs `task_completed`)."] (
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 422, body = Problem, description = "`validation_failed`, `deal_not_found`, `contact_not_found`, `assignee_not_member`, `owner_not_member`"),
    ),
    delete: delete_task ["Delete a task."] (),
}

crate::api::records::bulk_endpoint!(bulk_tasks: Task, tag: "tasks", path: "/tasks/bulk");
