//! `/api/v1/deals` (api.md §5 "Deals"): the standard record endpoints and
//! the deal's timeline.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::api::records::{record_endpoints, timeline_endpoints};
use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::IdPath;
use crate::http::extract::OrgHeader;
use crate::http::response::record_response;
use crate::services::activities::{Activity, CommentInput, TimelineQuery};
use crate::services::deals::{self, Deal, DealInput, DealPatch, DealQuery};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::IfMatch;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_deals, create_deal))
        .routes(routes!(bulk_deals))
        .routes(routes!(get_deal, update_deal, delete_deal))
        .routes(routes!(deal_timeline, comment_on_deal))
        .routes(routes!(reopen_deal))
}

/// Take a won or lost deal back to `in_progress` in the stage it was closed
/// from (managers and above); `closed_at` and `lost_reason` are cleared. The
/// only way out of `won` and `lost`.
#[utoipa::path(
    post, path = "/deals/{id}/reopen", tag = "deals",
    params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Deal),
        (status = 403, body = Problem, description = "`forbidden`: members may not reopen"),
        (status = 404, body = Problem),
        (status = 412, body = Problem, description = "`version_mismatch`"),
        (status = 422, body = Problem, description = "`invalid_status_transition`: the deal is open"),
    )
)]
async fn reopen_deal(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    if_match: IfMatch,
) -> AppResult<Response> {
    record_response(StatusCode::OK, &deals::reopen(&state, &ctx, id, if_match).await?)
}

record_endpoints! {
    record: Deal, input: DealInput, patch: DealPatch, query: DealQuery,
    list_with: deals::list,
    tag: "deals", collection: "/deals", item: "/deals/{id}",
    list: list_deals ["List deals (keyset-paginated)."],
    create: create_deal ["Create a deal: `new` or `in_progress`, in a stage before `closed`."] (
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 422, body = Problem, description = "`validation_failed`, `contact_not_found`, `company_not_found`, `invalid_stage`, `invalid_status_transition`, `owner_not_member`"),
    ),
    read: get_deal ["Read a deal."],
    update: update_deal [
        " Change a deal: fields, status (`new` → `in_progress` → `won`|`lost`, or"
        " `new` → `lost`) and stage (later: anyone who may edit; earlier: owners and"
        " admins). Checked on the state after the whole change."
    ] (
        (status = 403, body = Problem, description = "`forbidden` or `stage_backward_forbidden`"),
        (status = 422, body = Problem, description = "`validation_failed`, `invalid_status_transition`, `amount_required`, `invalid_stage`, `deal_closed`, `contact_not_found`, `company_not_found`, `owner_not_member`"),
    ),
    delete: delete_deal ["Delete a deal and its timeline."] (),
}

timeline_endpoints! {
    record: Deal, tag: "deals", path: "/deals/{id}/activities",
    timeline: deal_timeline ["The deal's timeline, newest first."],
    comment: comment_on_deal ["Comment on a deal (anyone who may read it)."],
}

crate::api::records::bulk_endpoint!(bulk_deals: Deal, tag: "deals", path: "/deals/bulk");
