//! `/api/v1/forms` (admins and owners) and the public `POST /f/{public_key}`
//! that turns a website's form submission into a lead (leads.md "Web
//! forms", `crate::services::forms`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::http::error::Problem;
use crate::http::extract::{ApiJson, IdPath, OrgHeader};
use crate::services::auth::ClientIp;
use crate::services::forms::{self, FormInput, LeadForm, Submitted};
use crate::services::orgs::OrgCtx;
use crate::services::records::IfMatch;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_forms, create_form))
        .routes(routes!(get_form, replace_form, delete_form))
}

/// The public submission route, outside `/api/v1` (it is the address a
/// website's form posts to).
pub fn public_router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(submit_form, form_preflight))
}

/// The forms of the organization, newest first.
#[utoipa::path(
    get, path = "/forms", tag = "leads",
    params(OrgHeader),
    security(("bearer" = [])),
    responses(
        (status = 200, body = FormList),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
    )
)]
async fn list_forms(ctx: OrgCtx, State(state): State<App>) -> AppResult<Json<FormList>> {
    Ok(Json(FormList {
        data: forms::list(&state, &ctx).await?,
    }))
}

/// `{data: [LeadForm]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FormList {
    pub data: Vec<LeadForm>,
}

/// Create a web form (admins and owners): its `public_key` is the address
/// a website posts to, `/f/{public_key}`.
#[utoipa::path(
    post, path = "/forms", tag = "leads",
    params(OrgHeader),
    request_body = FormInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = LeadForm),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`"),
    )
)]
async fn create_form(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiJson { data: input, .. }: ApiJson<FormInput>,
) -> AppResult<Response> {
    let form = forms::create(&state, &ctx, input).await?;
    Ok((StatusCode::CREATED, Json(form)).into_response())
}

/// Read a form.
#[utoipa::path(
    get, path = "/forms/{id}", tag = "leads",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = LeadForm),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 404, body = Problem),
    )
)]
async fn get_form(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Json<LeadForm>> {
    Ok(Json(forms::read(&state, &ctx, id).await?))
}

/// Replace a form's definition; its id and public key stay.
#[utoipa::path(
    put, path = "/forms/{id}", tag = "leads",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = FormInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = LeadForm),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 404, body = Problem),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`"),
    )
)]
async fn replace_form(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
    ApiJson { data: input, .. }: ApiJson<FormInput>,
) -> AppResult<Json<LeadForm>> {
    Ok(Json(forms::replace(&state, &ctx, id, if_match, input).await?))
}

/// Delete a form; its address answers 404 from then on. The leads it made stay.
#[utoipa::path(
    delete, path = "/forms/{id}", tag = "leads",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, description = "`forbidden`: below admin"),
        (status = 404, body = Problem),
    )
)]
async fn delete_form(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<StatusCode> {
    forms::delete(&state, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A website's form submission (no sign-in): an HTML form post
/// (`application/x-www-form-urlencoded`) or a JSON object of text values.
/// It becomes a lead with the form's source, owner and tags; `utm_*`
/// fields (else the query of a `page_url` field) fill its `utm`; a
/// `message` field goes on its timeline. A submission matching an open
/// lead's email or phone adds to that lead instead. The honeypot field
/// `website_url`, when filled, is answered as a success and creates
/// nothing. 10 submissions a minute per address and form.
#[utoipa::path(
    post, path = "/f/{public_key}", tag = "leads",
    params(("public_key" = String, Path, description = "The form's public key")),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "The form's fields"),
    responses(
        (status = 201, body = Object, description = "`{\"ok\": true}`: received (the form has no thank-you URL)"),
        (status = 303, description = "Received; to the form's thank-you URL"),
        (status = 400, body = Problem, description = "`malformed_json`"),
        (status = 404, body = Problem, description = "No such form"),
        (status = 415, body = Problem, description = "`unsupported_media_type`: neither a form post nor JSON"),
        (status = 422, body = Problem, description = "`validation_failed`: a required field is missing, or a value the lead refuses"),
        (status = 429, body = Problem, description = "`rate_limited`: 10 a minute per address and form"),
    )
)]
async fn submit_form(
    State(state): State<App>,
    Path(public_key): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = async {
        let fields = fields_of(&headers, &body)?;
        forms::submit(&state, &public_key, fields, ip).await
    }
    .await;
    let mut response = match answer {
        Ok(Submitted::Accepted {
            thank_you_url: Some(url),
        }) => match HeaderValue::from_str(&url) {
            Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
            Err(_) => (StatusCode::CREATED, Json(json!({"ok": true}))).into_response(),
        },
        Ok(Submitted::Accepted { thank_you_url: None }) => {
            (StatusCode::CREATED, Json(json!({"ok": true}))).into_response()
        }
        Err(e) => e.into_response(),
    };
    allow_any_origin(&mut response);
    response
}

/// The browser's preflight of a JSON submission from another site.
#[utoipa::path(
    options, path = "/f/{public_key}", tag = "leads",
    params(("public_key" = String, Path, description = "The form's public key")),
    responses((status = 204, description = "Submissions are accepted from any origin, without credentials"))
)]
async fn form_preflight(Path(_public_key): Path<String>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    allow_any_origin(&mut response);
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

/// Forms are posted from other sites: any origin may read the answer (no
/// credentials are involved).
fn allow_any_origin(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
}

/// The submitted fields as a JSON object of values.
fn fields_of(headers: &HeaderMap, body: &[u8]) -> AppResult<Map<String, Value>> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match kind.as_str() {
        "application/json" => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(AppError::field("body", "must be a JSON object")),
            Err(_) => Err(AppError::bad_request(
                "malformed_json",
                "the request body is not valid JSON",
            )),
        },
        "application/x-www-form-urlencoded" | "" => {
            let pairs: Vec<(String, String)> = serde_html_form::from_bytes(body)
                .map_err(|_| AppError::bad_request("malformed_form", "the form's body could not be read"))?;
            // A field sent twice keeps its first value.
            let mut map = Map::new();
            for (k, v) in pairs {
                map.entry(k).or_insert(Value::String(v));
            }
            Ok(map)
        }
        _ => Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "post the form (application/x-www-form-urlencoded) or a JSON object",
        )),
    }
}
