//! HTTP handlers of `crate::services::orgs::organizations`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::ApiJson;
use crate::http::extract::OrgHeader;
use crate::http::response::{created_response, etag};
use crate::services::auth::AuthUser;
use crate::services::idempotency::Idempotency;
use crate::services::idempotency::IdempotencyKey;
use crate::services::orgs::organizations::*;
use crate::services::orgs::{OrgCtx, Organization, OrganizationEntry};
use crate::services::pagination::Page;
use crate::services::records::IfMatch;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(my_organizations))
        .routes(routes!(create_organization))
        .routes(routes!(get_organization, update_organization))
}

/// The caller's organizations with their role (no `X-Organization-Id` needed).
#[utoipa::path(
    get, path = "/organizations/me", tag = "organizations",
    security(("bearer" = [])),
    responses((status = 200, body = Page<OrganizationEntry>), (status = 401, body = Problem))
)]
async fn my_organizations(user: AuthUser, State(state): State<App>) -> AppResult<Json<Page<OrganizationEntry>>> {
    Ok(Json(Page::all(of_user(&state, user.user_id).await?)))
}

/// Create an organization; the caller becomes its owner.
#[utoipa::path(
    post, path = "/organizations", tag = "organizations",
    request_body = CreateOrganization,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response of a repeated request")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Organization),
        (status = 422, body = Problem, description = "`validation_failed` or `idempotency_key_reused`"),
    )
)]
async fn create_organization(
    user: AuthUser,
    State(state): State<App>,
    key: IdempotencyKey,
    body: ApiJson<CreateOrganization>,
) -> AppResult<Response> {
    let idempotency = Idempotency::new(key, Uuid::nil(), user.user_id, "POST /organizations", &body.raw);
    created_response(create(&state, user.user_id, &idempotency, body.data).await?)
}

/// The current organization and its settings.
#[utoipa::path(
    get, path = "/organization", tag = "organizations",
    params(OrgHeader),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Organization, headers(("ETag" = String, description = "\"<version>\""))),
        (status = 400, body = Problem, description = "`organization_required`"),
        (status = 403, body = Problem, description = "`not_a_member`"),
    )
)]
async fn get_organization(ctx: OrgCtx, State(state): State<App>) -> AppResult<Response> {
    let org = current(&state, &ctx).await?;
    Ok(([etag(org.version)], Json(org)).into_response())
}

/// Change the organization's settings (admin and owner). Honours `If-Match`.
#[utoipa::path(
    patch, path = "/organization", tag = "organizations",
    params(OrgHeader, ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = UpdateOrganization,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Organization),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`validation_failed`"),
    )
)]
async fn update_organization(
    ctx: OrgCtx,
    State(state): State<App>,
    if_match: IfMatch,
    ApiJson { data: input, .. }: ApiJson<UpdateOrganization>,
) -> AppResult<Response> {
    let updated = update(&state, &ctx, if_match, input).await?;
    Ok(([etag(updated.version)], Json(updated)).into_response())
}
