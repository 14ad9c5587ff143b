//! `/api/v1/organizations/me`, `/api/v1/organizations`, `/api/v1/organization`
//! (api.md §4).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::{self, Event};
use crate::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult, Problem, Validator};
use crate::http::extract::{ApiJson, IdempotencyKey, IfMatch, double_option};
use crate::http::idempotency::{Idempotency, json_response};
use crate::http::pagination::Page;
use crate::http::{AppState, etag};
use crate::orgs::{OrgCtx, OrgHeader, Organization, OrganizationEntry, Role, Visibility, queries};
use crate::validate;

pub fn router() -> OpenApiRouter<AppState> {
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
async fn my_organizations(user: AuthUser, State(state): State<AppState>) -> ApiResult<Json<Page<OrganizationEntry>>> {
    let mut conn = state.db.read().await?;
    Ok(Json(Page::all(
        queries::user_organizations(conn.exec(), user.user_id).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    pub name: String,
    /// ISO 4217 code, default `USD`.
    pub default_currency: Option<String>,
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
    State(state): State<AppState>,
    key: IdempotencyKey,
    body: ApiJson<CreateOrganization>,
) -> ApiResult<Response> {
    let input = body.data;
    let mut v = Validator::new();
    let name = v.check("name", validate::required_text(&input.name, 200));
    let currency = match input.default_currency.as_deref().map(str::trim) {
        None | Some("") => Some("USD".to_string()),
        Some(code) => v.check("default_currency", validate::currency(code)),
    };
    v.finish()?;
    let (Some(name), Some(currency)) = (name, currency) else {
        return Err(ApiError::internal(anyhow::anyhow!("validated values missing")));
    };

    let idempotency = Idempotency::new(key, Uuid::nil(), user.user_id, "POST /organizations", &body.raw);
    let mut tx = state.db.begin().await?;
    if let Some(replay) = idempotency.replay(tx.exec()).await? {
        return Ok(replay);
    }
    let org = queries::create_organization(tx.exec(), &name, &currency, user.user_id).await?;
    audit::record(
        tx.exec(),
        org.id,
        &Event::new("organization.created")
            .actor(user.user_id)
            .target("organization", org.id),
    )
    .await?;
    let body = serde_json::to_value(&org).map_err(ApiError::internal)?;
    idempotency.save(tx.exec(), StatusCode::CREATED, &body).await?;
    tx.commit().await?;
    Ok(json_response(StatusCode::CREATED, &body))
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
async fn get_organization(ctx: OrgCtx, State(state): State<AppState>) -> ApiResult<Response> {
    let mut conn = state.db.read().await?;
    let org = queries::find_organization(conn.exec(), ctx.org_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(([etag(org.version)], Json(org)).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganization {
    pub name: Option<String>,
    /// ISO 4217; empty or null resets to `USD`.
    #[serde(default, deserialize_with = "double_option")]
    pub default_currency: Option<Option<String>>,
    /// ISO 3166-1 alpha-2, used to read phone numbers written without a country
    /// code; empty or null resets to `US`.
    #[serde(default, deserialize_with = "double_option")]
    pub default_country: Option<Option<String>>,
    /// `all` (members read every record) or `own`; empty or null resets to `all`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Visibility>)]
    pub member_visibility: Option<Option<String>>,
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
    State(state): State<AppState>,
    if_match: IfMatch,
    ApiJson { data: input, .. }: ApiJson<UpdateOrganization>,
) -> ApiResult<Response> {
    let updated = update(&state, &ctx, if_match, input).await?;
    Ok(([etag(updated.version)], Json(updated)).into_response())
}

/// Changes the organization's settings (the API's PATCH and the web app's
/// settings page): admin and owner.
pub async fn update(
    state: &AppState,
    ctx: &OrgCtx,
    if_match: IfMatch,
    input: UpdateOrganization,
) -> ApiResult<Organization> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let current = queries::lock_organization(tx.exec(), ctx.org_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if_match.check(current.version)?;

    let mut next = current.clone();
    let mut v = Validator::new();
    if let Some(name) = &input.name
        && let Some(name) = v.check("name", validate::required_text(name, 200))
    {
        next.name = name;
    }
    if let Some(code) = &input.default_currency {
        match code.as_deref().map(str::trim) {
            None | Some("") => next.default_currency = "USD".into(),
            Some(code) => {
                next.default_currency = v
                    .check("default_currency", validate::currency(code))
                    .unwrap_or_default()
            }
        }
    }
    if let Some(code) = &input.default_country {
        match code.as_deref().map(str::trim) {
            None | Some("") => next.default_country = "US".into(),
            Some(code) => {
                next.default_country = v.check("default_country", validate::country(code)).unwrap_or_default()
            }
        }
    }
    if let Some(visibility) = &input.member_visibility {
        match visibility.as_deref().map(str::trim) {
            None | Some("") | Some("all") => next.member_visibility = "all".into(),
            Some("own") => next.member_visibility = "own".into(),
            Some(_) => v.add("member_visibility", "must be `all` or `own`"),
        }
    }
    v.finish()?;

    let changes = diff(&current, &next);
    if changes.is_empty() {
        // Nothing changes: no new version, no audit entry.
        return Ok(current);
    }
    let updated = queries::update_organization(tx.exec(), &next).await?;
    let event = Event::new("organization.updated")
        .actor(ctx.user_id)
        .target("organization", ctx.org_id)
        .ip(ctx.ip_text())
        .details(json!({ "changes": changes }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(updated)
}

/// `{field: {from, to}}` of the settings that differ.
fn diff(a: &Organization, b: &Organization) -> Map<String, Value> {
    let pairs = [
        ("name", &a.name, &b.name),
        ("default_currency", &a.default_currency, &b.default_currency),
        ("default_country", &a.default_country, &b.default_country),
        ("member_visibility", &a.member_visibility, &b.member_visibility),
    ];
    pairs
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .map(|(field, from, to)| (field.to_string(), json!({ "from": from, "to": to })))
        .collect()
}
