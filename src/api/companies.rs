//! HTTP handlers of `crate::services::companies`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::http::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::response::{created_response, record_response};
use crate::services::companies::*;
use crate::services::idempotency::Idempotency;
use crate::services::idempotency::IdempotencyKey;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::IfMatch;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use queries::Company;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_companies, create_company))
        .routes(routes!(get_company, update_company, delete_company))
}

/// List companies (keyset-paginated).
#[utoipa::path(
    get, path = "/companies", tag = "companies",
    params(OrgHeader, CompanyQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Company>),
        (status = 422, body = Problem, description = "`validation_failed` or `invalid_cursor`"),
    )
)]
async fn list_companies(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<CompanyQuery>,
) -> AppResult<Json<Page<Company>>> {
    Ok(Json(list(&state, &ctx, &query).await?))
}

/// Create a company.
#[utoipa::path(
    post, path = "/companies", tag = "companies",
    params(OrgHeader, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response of a repeated request")),
    request_body = CompanyInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Company),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 409, body = Problem, description = "`duplicate_company`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `idempotency_key_reused`"),
    )
)]
async fn create_company(
    ctx: OrgCtx,
    State(state): State<App>,
    key: IdempotencyKey,
    body: ApiJson<CompanyInput>,
) -> AppResult<Response> {
    let idempotency = Idempotency::new(key, ctx.org_id, ctx.user_id, "POST /companies", &body.raw);
    created_response(create(&state, &ctx, &idempotency, body.data).await?)
}

/// Read a company.
#[utoipa::path(
    get, path = "/companies/{id}", tag = "companies",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Company), (status = 404, body = Problem))
)]
async fn get_company(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Response> {
    let mut conn = state.db.read().await?;
    record_response(StatusCode::OK, &readable(conn.exec(), &ctx, id).await?)
}

/// Change some fields of a company.
#[utoipa::path(
    patch, path = "/companies/{id}", tag = "companies",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = CompanyPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Company),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`duplicate_company`"),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`"),
    )
)]
async fn update_company(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
    ApiJson { data: patch, .. }: ApiJson<CompanyPatch>,
) -> AppResult<Response> {
    record_response(StatusCode::OK, &update(&state, &ctx, id, if_match, patch).await?)
}

/// Delete a company; its contacts and deals stay, without a company.
#[utoipa::path(
    delete, path = "/companies/{id}", tag = "companies",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 412, body = Problem, description = "`version_mismatch`"),
    )
)]
async fn delete_company(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
) -> AppResult<StatusCode> {
    delete(&state, &ctx, id, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}
