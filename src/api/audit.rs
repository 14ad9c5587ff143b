//! HTTP handlers of `crate::services::audit`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::{ApiQuery, OrgHeader};
use crate::services::audit::*;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

/// List the audit log, newest first (admin and owner).
#[utoipa::path(
    get, path = "/audit-log", tag = "audit",
    params(OrgHeader, AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<AuditEntry>),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 422, body = Problem, description = "`validation_failed` or `invalid_cursor`"),
    )
)]
async fn list_audit_log(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> AppResult<Json<Page<AuditEntry>>> {
    Ok(Json(list(&state, &ctx, &query).await?))
}
