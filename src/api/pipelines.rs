//! HTTP handlers of `crate::services::pipelines`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::http::extract::{ApiJson, IdPath};
use crate::http::response::{created_response, record_response};
use crate::services::idempotency::Idempotency;
use crate::services::idempotency::IdempotencyKey;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::pipelines::*;
use crate::services::records::IfMatch;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_pipelines, create_pipeline))
        .routes(routes!(get_pipeline, update_pipeline, delete_pipeline))
}

/// The organization's pipelines, the default first.
#[utoipa::path(
    get, path = "/pipelines", tag = "pipelines",
    params(OrgHeader),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Pipeline>))
)]
async fn list_pipelines(ctx: OrgCtx, State(state): State<App>) -> AppResult<Json<Page<Pipeline>>> {
    Ok(Json(Page::all(list(&state, &ctx).await?)))
}

/// Create a pipeline (admin and owner).
#[utoipa::path(
    post, path = "/pipelines", tag = "pipelines",
    params(OrgHeader, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response of a repeated request")),
    request_body = CreatePipeline,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Pipeline),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 422, body = Problem, description = "`validation_failed`"),
    )
)]
async fn create_pipeline(
    ctx: OrgCtx,
    State(state): State<App>,
    key: IdempotencyKey,
    body: ApiJson<CreatePipeline>,
) -> AppResult<Response> {
    let idempotency = Idempotency::new(key, ctx.org_id, ctx.user_id, "POST /pipelines", &body.raw);
    created_response(create(&state, &ctx, &idempotency, body.data).await?)
}

/// Read a pipeline.
#[utoipa::path(
    get, path = "/pipelines/{id}", tag = "pipelines",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Pipeline), (status = 404, body = Problem))
)]
async fn get_pipeline(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Response> {
    record_response(StatusCode::OK, &read(&state, &ctx, id).await?)
}

/// Rename, replace the stages, or make default (admin and owner).
#[utoipa::path(
    patch, path = "/pipelines/{id}", tag = "pipelines",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = UpdatePipeline,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Pipeline),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`pipeline_in_use`: a removed stage holds deals"),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`validation_failed`"),
    )
)]
async fn update_pipeline(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
    ApiJson { data: input, .. }: ApiJson<UpdatePipeline>,
) -> AppResult<Response> {
    record_response(StatusCode::OK, &update(&state, &ctx, id, if_match, input).await?)
}

/// Delete a pipeline that holds no deals (admin and owner); not the default.
#[utoipa::path(
    delete, path = "/pipelines/{id}", tag = "pipelines",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`default_pipeline` or `pipeline_in_use`"),
        (status = 412, body = Problem, description = "`version_mismatch`"),
    )
)]
async fn delete_pipeline(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
) -> AppResult<StatusCode> {
    delete(&state, &ctx, id, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}
