//! `/api/v1/views` (leads.md "Saved views", `crate::services::views`):
//! a list's filters and sort under a name, private or shared.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::{ApiJson, ApiQuery, IdPath, OrgHeader};
use crate::services::orgs::OrgCtx;
use crate::services::views::{self, SavedView, ViewInput, ViewPatch, ViewQuery};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_views, create_view))
        .routes(routes!(get_view, update_view, delete_view))
}

/// `{data: [SavedView]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ViewList {
    pub data: Vec<SavedView>,
}

/// The views the caller sees (their own and the shared ones), by list then name.
#[utoipa::path(
    get, path = "/views", tag = "views",
    params(OrgHeader, ViewQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ViewList),
        (status = 422, body = Problem, description = "`validation_failed`: unknown `object`"),
    )
)]
async fn list_views(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<ViewQuery>,
) -> AppResult<Json<ViewList>> {
    Ok(Json(ViewList {
        data: views::list(&state, &ctx, &query).await?,
    }))
}

/// Save a view of a list (any member). Its `query` is checked against the
/// list's filters and sorts (errors name `query.<parameter>`).
#[utoipa::path(
    post, path = "/views", tag = "views",
    params(OrgHeader),
    request_body = ViewInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SavedView),
        (status = 422, body = Problem, description = "`validation_failed`, `too_many_views`"),
    )
)]
async fn create_view(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiJson { data: input, .. }: ApiJson<ViewInput>,
) -> AppResult<Response> {
    let field = views::create(&state, &ctx, input).await?;
    Ok((StatusCode::CREATED, Json(field)).into_response())
}

/// Read a view (another member's private view is 404).
#[utoipa::path(
    get, path = "/views/{id}", tag = "views",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = SavedView), (status = 404, body = Problem))
)]
async fn get_view(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Json<SavedView>> {
    Ok(Json(views::read(&state, &ctx, id).await?))
}

/// Change a view: its owner, or a manager and above for a shared view.
#[utoipa::path(
    patch, path = "/views/{id}", tag = "views",
    params(OrgHeader, ("id" = Uuid, Path)),
    request_body = ViewPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SavedView),
        (status = 403, body = Problem, description = "`forbidden`: another member's shared view, below manager"),
        (status = 404, body = Problem),
        (status = 422, body = Problem, description = "`validation_failed`"),
    )
)]
async fn update_view(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiJson { data: patch, .. }: ApiJson<ViewPatch>,
) -> AppResult<Json<SavedView>> {
    Ok(Json(views::update(&state, &ctx, id, patch).await?))
}

/// Delete a view: its owner, or a manager and above for a shared view.
#[utoipa::path(
    delete, path = "/views/{id}", tag = "views",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, description = "`forbidden`: another member's shared view, below manager"),
        (status = 404, body = Problem),
    )
)]
async fn delete_view(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<StatusCode> {
    views::delete(&state, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
