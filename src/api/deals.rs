//! HTTP handlers of `crate::services::deals`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::http::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::response::{created_response, record_response};
use crate::services::activities::{self, Activity, CommentInput, Timeline, TimelineQuery};
use crate::services::deals::*;
use crate::services::idempotency::Idempotency;
use crate::services::idempotency::IdempotencyKey;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::IfMatch;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use queries::Deal;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_deals, create_deal))
        .routes(routes!(get_deal, update_deal, delete_deal))
        .routes(routes!(deal_timeline, comment_on_deal))
}

/// List deals (keyset-paginated).
#[utoipa::path(
    get, path = "/deals", tag = "deals",
    params(OrgHeader, DealQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Deal>),
        (status = 422, body = Problem, description = "`validation_failed` or `invalid_cursor`"),
    )
)]
async fn list_deals(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<DealQuery>,
) -> AppResult<Json<Page<Deal>>> {
    Ok(Json(list(&state, &ctx, &query).await?))
}

/// Create a deal: `new` or `in_progress`, in a stage before `closed`.
#[utoipa::path(
    post, path = "/deals", tag = "deals",
    params(OrgHeader, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response of a repeated request")),
    request_body = DealInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Deal),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 422, body = Problem, description = "`validation_failed`, `contact_not_found`, `company_not_found`, `invalid_stage`, `invalid_status_transition`, `owner_not_member`"),
    )
)]
async fn create_deal(
    ctx: OrgCtx,
    State(state): State<App>,
    key: IdempotencyKey,
    body: ApiJson<DealInput>,
) -> AppResult<Response> {
    let idempotency = Idempotency::new(key, ctx.org_id, ctx.user_id, "POST /deals", &body.raw);
    created_response(create(&state, &ctx, &idempotency, body.data).await?)
}

/// Read a deal.
#[utoipa::path(
    get, path = "/deals/{id}", tag = "deals",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Deal), (status = 404, body = Problem))
)]
async fn get_deal(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Response> {
    let mut conn = state.db.read().await?;
    record_response(StatusCode::OK, &readable(conn.exec(), &ctx, id).await?)
}

/// Change a deal: fields, status (`new` → `in_progress` → `won`|`lost`, or
/// `new` → `lost`) and stage (later: anyone who may edit; earlier: owners and
/// admins). Checked on the state after the whole change.
#[utoipa::path(
    patch, path = "/deals/{id}", tag = "deals",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = DealPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Deal),
        (status = 403, body = Problem, description = "`forbidden` or `stage_backward_forbidden`"),
        (status = 404, body = Problem),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`validation_failed`, `invalid_status_transition`, `amount_required`, `invalid_stage`, `deal_closed`, `contact_not_found`, `company_not_found`, `owner_not_member`"),
    )
)]
async fn update_deal(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
    ApiJson { data: patch, .. }: ApiJson<DealPatch>,
) -> AppResult<Response> {
    record_response(StatusCode::OK, &update(&state, &ctx, id, if_match, patch).await?)
}

/// Delete a deal and its timeline.
#[utoipa::path(
    delete, path = "/deals/{id}", tag = "deals",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 412, body = Problem, description = "`version_mismatch`"),
    )
)]
async fn delete_deal(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
) -> AppResult<StatusCode> {
    delete(&state, &ctx, id, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The deal's timeline, newest first.
#[utoipa::path(
    get, path = "/deals/{id}/activities", tag = "deals",
    params(OrgHeader, ("id" = Uuid, Path), TimelineQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Activity>), (status = 404, body = Problem))
)]
async fn deal_timeline(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> AppResult<Json<Page<Activity>>> {
    let mut conn = state.db.read().await?;
    readable(conn.exec(), &ctx, id).await?;
    Ok(Json(
        activities::list(conn.exec(), ctx.org_id, Timeline::Deal(id), &query).await?,
    ))
}

/// Comment on a deal (anyone who may read it).
#[utoipa::path(
    post, path = "/deals/{id}/activities", tag = "deals",
    params(OrgHeader, ("id" = Uuid, Path)),
    request_body = CommentInput,
    security(("bearer" = [])),
    responses((status = 201, body = Activity), (status = 404, body = Problem), (status = 422, body = Problem))
)]
async fn comment_on_deal(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiJson { data: input, .. }: ApiJson<CommentInput>,
) -> AppResult<(StatusCode, Json<Activity>)> {
    Ok((StatusCode::CREATED, Json(comment(&state, &ctx, id, input).await?)))
}
