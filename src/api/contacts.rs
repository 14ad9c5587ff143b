//! HTTP handlers of `crate::services::contacts`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::http::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::response::{created_response, record_response};
use crate::services::activities::{self, Activity, CommentInput, Timeline, TimelineQuery};
use crate::services::contacts::*;
use crate::services::idempotency::Idempotency;
use crate::services::idempotency::IdempotencyKey;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::IfMatch;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use queries::Contact;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, replace_contact, update_contact, delete_contact))
        .routes(routes!(contact_timeline, comment_on_contact))
}

/// List contacts (keyset-paginated).
#[utoipa::path(
    get, path = "/contacts", tag = "contacts",
    params(OrgHeader, ContactQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Contact>),
        (status = 422, body = Problem, description = "`validation_failed` or `invalid_cursor`"),
    )
)]
async fn list_contacts(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<ContactQuery>,
) -> AppResult<Json<Page<Contact>>> {
    Ok(Json(list(&state, &ctx, &query).await?))
}

/// Create a contact.
#[utoipa::path(
    post, path = "/contacts", tag = "contacts",
    params(OrgHeader, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response of a repeated request")),
    request_body = ContactInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Contact),
        (status = 403, body = Problem, description = "`forbidden`: a member making someone else the owner"),
        (status = 409, body = Problem, description = "`duplicate_contact` with `existing_id`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `company_not_found`, `idempotency_key_reused`"),
    )
)]
async fn create_contact(
    ctx: OrgCtx,
    State(state): State<App>,
    key: IdempotencyKey,
    body: ApiJson<ContactInput>,
) -> AppResult<Response> {
    let idempotency = Idempotency::new(key, ctx.org_id, ctx.user_id, "POST /contacts", &body.raw);
    created_response(create(&state, &ctx, &idempotency, body.data).await?)
}

/// Read a contact.
#[utoipa::path(
    get, path = "/contacts/{id}", tag = "contacts",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Contact), (status = 404, body = Problem))
)]
async fn get_contact(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Response> {
    let mut conn = state.db.read().await?;
    let contact = readable(conn.exec(), &ctx, id).await?;
    record_response(StatusCode::OK, &contact)
}

/// Replace every writable field of a contact; fields left out become null.
#[utoipa::path(
    put, path = "/contacts/{id}", tag = "contacts",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = ContactInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Contact),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`duplicate_contact`"),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `company_not_found`"),
    )
)]
async fn replace_contact(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
    ApiJson { data: input, .. }: ApiJson<ContactInput>,
) -> AppResult<Response> {
    record_response(StatusCode::OK, &change(&state, &ctx, id, if_match, |_| input).await?)
}

/// Change some fields of a contact.
#[utoipa::path(
    patch, path = "/contacts/{id}", tag = "contacts",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    request_body = ContactPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Contact),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`duplicate_contact`"),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `company_not_found`"),
    )
)]
async fn update_contact(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
    ApiJson { data: patch, .. }: ApiJson<ContactPatch>,
) -> AppResult<Response> {
    record_response(StatusCode::OK, &update(&state, &ctx, id, if_match, patch).await?)
}

/// Delete a contact.
#[utoipa::path(
    delete, path = "/contacts/{id}", tag = "contacts",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`contact_has_deals`"),
        (status = 412, body = Problem, description = "`version_mismatch`"),
    )
)]
async fn delete_contact(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
) -> AppResult<StatusCode> {
    delete(&state, &ctx, id, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The contact's timeline (its own activities and its deals'), newest first.
#[utoipa::path(
    get, path = "/contacts/{id}/activities", tag = "contacts",
    params(OrgHeader, ("id" = Uuid, Path), TimelineQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Activity>), (status = 404, body = Problem))
)]
async fn contact_timeline(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> AppResult<Json<Page<Activity>>> {
    let mut conn = state.db.read().await?;
    readable(conn.exec(), &ctx, id).await?;
    Ok(Json(
        activities::list(conn.exec(), ctx.org_id, Timeline::Contact(id), &query).await?,
    ))
}

/// Comment on a contact (anyone who may read it).
#[utoipa::path(
    post, path = "/contacts/{id}/activities", tag = "contacts",
    params(OrgHeader, ("id" = Uuid, Path)),
    request_body = CommentInput,
    security(("bearer" = [])),
    responses((status = 201, body = Activity), (status = 404, body = Problem), (status = 422, body = Problem))
)]
async fn comment_on_contact(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiJson { data: input, .. }: ApiJson<CommentInput>,
) -> AppResult<(StatusCode, Json<Activity>)> {
    Ok((StatusCode::CREATED, Json(comment(&state, &ctx, id, input).await?)))
}
