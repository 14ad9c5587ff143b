//! HTTP handlers of `crate::services::analytics`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::ApiQuery;
use crate::http::extract::OrgHeader;
use crate::services::analytics::*;
use crate::services::orgs::OrgCtx;
use axum::Json;
use axum::extract::State;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(funnel))
        .routes(routes!(leads_by_source))
}

/// Deal counts and amounts by status, win rate, average won amount and time to close.
#[utoipa::path(
    get, path = "/analytics/deals/summary", tag = "analytics",
    params(OrgHeader, AnalyticsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Summary), (status = 422, body = Problem, description = "`validation_failed`"))
)]
async fn summary(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> AppResult<Json<Value>> {
    deal_summary(&state, &ctx, &query).await.map(Json)
}

/// The funnel of a pipeline (the default one unless `pipeline_id` is given).
#[utoipa::path(
    get, path = "/analytics/deals/funnel", tag = "analytics",
    params(OrgHeader, AnalyticsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Funnel), (status = 422, body = Problem, description = "`validation_failed`"))
)]
async fn funnel(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> AppResult<Json<Value>> {
    deal_funnel(&state, &ctx, &query).await.map(Json)
}

/// Lead to revenue per source: leads, conversions, conversion rate, and the
/// won deals made by converting the source's leads with their amounts per
/// currency; most leads first.
#[utoipa::path(
    get, path = "/analytics/leads/sources", tag = "analytics",
    params(OrgHeader, LeadSourcesQuery),
    security(("bearer" = [])),
    responses((status = 200, body = LeadSources), (status = 422, body = Problem, description = "`validation_failed`"))
)]
async fn leads_by_source(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<LeadSourcesQuery>,
) -> AppResult<Json<Value>> {
    lead_sources(&state, &ctx, &query).await.map(Json)
}
