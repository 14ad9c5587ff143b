//! HTTP handlers of `crate::services::tasks`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::http::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::response::{created_response, record_response};
use crate::services::idempotency::Idempotency;
use crate::services::idempotency::IdempotencyKey;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::IfMatch;
use crate::services::tasks::*;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks, create_task))
        .routes(routes!(get_task, update_task, delete_task))
}

/// List tasks (keyset-paginated).
#[utoipa::path(
    get, path = "/tasks", tag = "tasks",
    params(OrgHeader, TaskQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Task>), (status = 422, body = Problem, description = "`validation_failed` or `invalid_cursor`"))
)]
async fn list_tasks(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<TaskQuery>,
) -> AppResult<Json<Page<Task>>> {
    Ok(Json(list(&state, &ctx, &query).await?))
}

/// Create a task.
#[utoipa::path(
    post, path = "/tasks", tag = "tasks",
    params(OrgHeader, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response of a repeated request")),
    request_body = TaskInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Task),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 422, body = Problem, description = "`validation_failed`, `due_date_in_past`, `deal_not_found`, `contact_not_found`, `assignee_not_member`, `owner_not_member`"),
    )
)]
async fn create_task(
    ctx: OrgCtx,
    State(state): State<App>,
    key: IdempotencyKey,
    body: ApiJson<TaskInput>,
) -> AppResult<Response> {
    let idempotency = Idempotency::new(key, ctx.org_id, ctx.user_id, "POST /tasks", &body.raw);
    created_response(create(&state, &ctx, &idempotency, body.data).await?)
}

/// Read a task.
#[utoipa::path(
    get, path = "/tasks/{id}", tag = "tasks",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Task), (status = 404, body = Problem))
)]
async fn get_task(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Response> {
    let mut conn = state.db.read().await?;
    record_response(StatusCode::OK, &readable(conn.exec(), &ctx, id).await?)
}

/// Change a task; `is_done: true` completes it (and logs `task_completed`).
#[utoipa::path(
    patch, path = "/tasks/{id}", tag = "tasks",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = TaskPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Task),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`validation_failed`, `deal_not_found`, `contact_not_found`, `assignee_not_member`, `owner_not_member`"),
    )
)]
async fn update_task(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
    ApiJson { data: patch, .. }: ApiJson<TaskPatch>,
) -> AppResult<Response> {
    record_response(StatusCode::OK, &update(&state, &ctx, id, if_match, patch).await?)
}

/// Delete a task.
#[utoipa::path(
    delete, path = "/tasks/{id}", tag = "tasks",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 412, body = Problem, description = "`version_mismatch`"),
    )
)]
async fn delete_task(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
) -> AppResult<StatusCode> {
    delete(&state, &ctx, id, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}
