//! `/api/v1/custom-fields` (leads.md "Custom fields",
//! `crate::services::custom_fields`): every member reads the definitions,
//! admins and owners change them.

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
use crate::services::custom_fields::{self, CustomField, CustomFieldInput, CustomFieldPatch, CustomFieldQuery};
use crate::services::orgs::OrgCtx;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_custom_fields, create_custom_field))
        .routes(routes!(get_custom_field, update_custom_field, delete_custom_field))
}

/// `{data: [CustomField]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CustomFieldList {
    pub data: Vec<CustomField>,
}

/// The organization's custom fields, by record type then creation.
#[utoipa::path(
    get, path = "/custom-fields", tag = "custom-fields",
    params(OrgHeader, CustomFieldQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CustomFieldList),
        (status = 422, body = Problem, description = "`validation_failed`: unknown `object`"),
    )
)]
async fn list_custom_fields(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<CustomFieldQuery>,
) -> AppResult<Json<CustomFieldList>> {
    Ok(Json(CustomFieldList {
        data: custom_fields::list(&state, &ctx, &query).await?,
    }))
}

/// Define a custom field (admins and owners). Records of its type then
/// carry it under `custom.<key>` and lists filter by `custom.<key>=`
/// (and `custom.<key>_min` / `_max` for numbers and dates).
#[utoipa::path(
    post, path = "/custom-fields", tag = "custom-fields",
    params(OrgHeader),
    request_body = CustomFieldInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CustomField),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 409, body = Problem, description = "`custom_field_exists`"),
        (status = 422, body = Problem, description = "`validation_failed`, `too_many_custom_fields`"),
    )
)]
async fn create_custom_field(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiJson { data: input, .. }: ApiJson<CustomFieldInput>,
) -> AppResult<Response> {
    let field = custom_fields::create(&state, &ctx, input).await?;
    Ok((StatusCode::CREATED, Json(field)).into_response())
}

/// Read a custom field.
#[utoipa::path(
    get, path = "/custom-fields/{id}", tag = "custom-fields",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CustomField), (status = 404, body = Problem))
)]
async fn get_custom_field(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Json<CustomField>> {
    Ok(Json(custom_fields::read(&state, &ctx, id).await?))
}

/// Change a custom field's label, `required`, type or options (admins and
/// owners). A type or options change converts every stored value in the
/// same transaction, or is refused when one would not fit.
#[utoipa::path(
    patch, path = "/custom-fields/{id}", tag = "custom-fields",
    params(OrgHeader, ("id" = Uuid, Path)),
    request_body = CustomFieldPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CustomField),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`custom_field_in_use`: a stored value would not fit"),
        (status = 422, body = Problem, description = "`validation_failed`"),
    )
)]
async fn update_custom_field(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiJson { data: patch, .. }: ApiJson<CustomFieldPatch>,
) -> AppResult<Json<CustomField>> {
    Ok(Json(custom_fields::update(&state, &ctx, id, patch).await?))
}

/// Remove a custom field and every record's value of it (admins and owners).
#[utoipa::path(
    delete, path = "/custom-fields/{id}", tag = "custom-fields",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 404, body = Problem),
    )
)]
async fn delete_custom_field(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<StatusCode> {
    custom_fields::delete(&state, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
