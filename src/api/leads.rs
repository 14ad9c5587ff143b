//! `/api/v1/leads` (leads.md "Leads"): the standard record endpoints, the
//! lead's timeline, converting it, and the scoring settings.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::records::{record_endpoints, timeline_endpoints};
use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::{ApiJson, IdPath, OrgHeader};
use crate::services::activities::{Activity, CommentInput, TimelineQuery};
use crate::services::leads::{
    self, ConvertInput, Converted, Lead, LeadInput, LeadPatch, LeadQuery, Scoring, ScoringPatch,
};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_leads, create_lead))
        .routes(routes!(bulk_leads))
        .routes(routes!(get_lead, update_lead, delete_lead))
        .routes(routes!(lead_timeline, comment_on_lead))
        .routes(routes!(convert_lead))
        .routes(routes!(get_lead_scoring, update_lead_scoring))
}

record_endpoints! {
    record: Lead, input: LeadInput, patch: LeadPatch, query: LeadQuery,
    list_with: leads::list,
    tag: "leads", collection: "/leads", item: "/leads/{id}",
    list: list_leads ["List leads (keyset-paginated)."],
    create: create_lead ["Create a lead; it is scored at once (`score`, `score_reasons`)."] (
        (status = 403, body = Problem, description = "`forbidden`: a member making someone else the owner"),
        (status = 409, body = Problem, description = "`duplicate_lead` with `existing_id`: an open lead has this email or phone"),
        (status = 422, body = Problem, description = "`validation_failed` (`status: converted` included), `owner_not_member`, `idempotency_key_reused`"),
    ),
    read: get_lead ["Read a lead."],
    update: update_lead ["Change some fields of a lead; it is scored again."] (
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 409, body = Problem, description = "`duplicate_lead`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `lead_converted`: a converted lead is read-only"),
    ),
    delete: delete_lead ["Delete a lead and its timeline."] (
        (status = 422, body = Problem, description = "`lead_converted`: a converted lead stays"),
    ),
}

timeline_endpoints! {
    record: Lead, tag: "leads", path: "/leads/{id}/activities",
    timeline: lead_timeline ["The lead's timeline, newest first."],
    comment: comment_on_lead ["Comment on a lead (anyone who may read it); it counts as recent activity in the score."],
}

/// Convert a lead, in one transaction: the contact with its email (else
/// phone) is reused with only its empty fields filled, or created; the
/// company named `company_name` (case-insensitive, the oldest) is reused or
/// created; a deal is created when `deal` is given (title default the
/// lead's name); the lead becomes `converted` with the links, and the
/// contact's timeline gets `system {"event": "lead_converted"}`. Needs the
/// right to change the lead.
#[utoipa::path(
    post, path = "/leads/{id}/convert", tag = "leads",
    params(OrgHeader, ("id" = Uuid, Path)),
    request_body = ConvertInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Converted, description = "The lead and what it became; `company` and `deal` null when none"),
        (status = 403, body = Problem, description = "`forbidden`: the caller may not change the lead"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`already_converted`, or `duplicate_contact` when the new contact's email or phone is another contact's"),
        (status = 422, body = Problem, description = "`validation_failed` (the deal's fields as `deal.<field>`), `pipeline_not_found`"),
    )
)]
async fn convert_lead(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiJson { data: input, .. }: ApiJson<ConvertInput>,
) -> AppResult<Json<Converted>> {
    Ok(Json(leads::convert(&state, &ctx, id, input).await?))
}

/// The lead-scoring settings: the points each source gives.
#[utoipa::path(
    get, path = "/lead-scoring", tag = "leads",
    params(OrgHeader),
    security(("bearer" = [])),
    responses((status = 200, body = Scoring))
)]
async fn get_lead_scoring(ctx: OrgCtx, State(state): State<App>) -> AppResult<Json<Scoring>> {
    Ok(Json(leads::scoring(&state, &ctx).await?))
}

/// Change the source weights (owners and admins): the weights given are
/// merged into the map; every open lead is scored again in the background
/// (within a minute).
#[utoipa::path(
    patch, path = "/lead-scoring", tag = "leads",
    params(OrgHeader),
    request_body = ScoringPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Scoring),
        (status = 403, body = Problem, description = "`forbidden`: managers and members"),
        (status = 422, body = Problem, description = "`validation_failed`: a weight outside 0..50"),
    )
)]
async fn update_lead_scoring(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiJson { data: patch, .. }: ApiJson<ScoringPatch>,
) -> AppResult<Json<Scoring>> {
    Ok(Json(leads::update_scoring(&state, &ctx, patch).await?))
}

crate::api::records::bulk_endpoint!(bulk_leads: Lead, tag: "leads", path: "/leads/bulk");
