//! HTTP handlers of `crate::services::tags`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::tags::*;
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_tags))
}

/// Tags used at least once by records the caller can see; ties by name.
///
/// Under `member_visibility: own` a member sees the records they own and the
/// tasks assigned to them, so those tasks' tags count too.
#[utoipa::path(
    get, path = "/tags", tag = "tags",
    params(OrgHeader),
    security(("bearer" = [])),
    responses((status = 200, body = Page<TagCount>), (status = 403, body = Problem, description = "`not_a_member`"))
)]
async fn list_tags(ctx: OrgCtx, State(state): State<App>) -> AppResult<Json<Page<TagCount>>> {
    Ok(Json(Page::all(list(&state, &ctx).await?)))
}
