//! HTTP handlers of `crate::services::jobs`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::{ApiQuery, OrgHeader};
use crate::services::jobs::*;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_jobs))
}

/// List the organization's background jobs, newest first (admin and owner).
#[utoipa::path(
    get, path = "/jobs", tag = "jobs",
    params(OrgHeader, JobQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Job>),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 422, body = Problem, description = "`validation_failed` (a `status` that is not one of the four) or `invalid_cursor`"),
    )
)]
async fn list_jobs(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> AppResult<Json<Page<Job>>> {
    Ok(Json(list(&state, &ctx, &query).await?))
}
