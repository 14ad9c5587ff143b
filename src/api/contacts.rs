//! `/api/v1/contacts` (api.md §5): the standard record endpoints, `PUT`,
//! and the contact's timeline.

use axum::extract::State;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::records::{self, record_endpoints, timeline_endpoints};
use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::{ApiJson, IdPath, OrgHeader};
use crate::services::activities::{Activity, CommentInput, TimelineQuery};
use crate::services::contacts::{self, Contact, ContactInput, ContactPatch, ContactQuery};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::IfMatch;
use crate::services::records::merge::MergeInput;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(bulk_contacts))
        .routes(routes!(merge_contacts))
        .routes(routes!(get_contact, replace_contact, update_contact, delete_contact))
        .routes(routes!(contact_timeline, comment_on_contact))
}

record_endpoints! {
    record: Contact, input: ContactInput, patch: ContactPatch, query: ContactQuery,
    list_with: contacts::list,
    tag: "contacts", collection: "/contacts", item: "/contacts/{id}",
    list: list_contacts ["List contacts (keyset-paginated)."],
    create: create_contact ["Create a contact."] (
        (status = 403, body = Problem, description = "`forbidden`: a member making someone else the owner"),
        (status = 409, body = Problem, description = "`duplicate_contact` with `existing_id`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `company_not_found`, `idempotency_key_reused`"),
    ),
    read: get_contact ["Read a contact."],
    update: update_contact ["Change some fields of a contact."] (
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 409, body = Problem, description = "`duplicate_contact`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `company_not_found`"),
    ),
    delete: delete_contact ["Delete a contact."] (
        (status = 409, body = Problem, description = "`contact_has_deals`"),
    ),
}

timeline_endpoints! {
    record: Contact, tag: "contacts", path: "/contacts/{id}/activities",
    timeline: contact_timeline ["The contact's timeline (its own activities and its deals'), newest first."],
    comment: comment_on_contact ["Comment on a contact (anyone who may read it)."],
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
    records::replace::<Contact>(&state, &ctx, id, if_match, input).await
}

/// Merge duplicates into this contact: it keeps its id and takes the chosen
/// fields (by default its own, else the first non-empty); the merged
/// contacts' deals, tasks and activities move to it, their tags join its
/// tags, and they are deleted. One `system` activity `{"event": "merged",
/// "merged_ids"}` and the audit entry `contact.merged`. All or nothing.
/// Managers and above; a member only contacts they own.
#[utoipa::path(
    post, path = "/contacts/{id}/merge", tag = "contacts",
    params(OrgHeader, ("id" = Uuid, Path, description = "The survivor")),
    request_body = MergeInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Contact, description = "The survivor after the merge"),
        (status = 403, body = Problem, description = "`forbidden`: a member merging a contact they do not own"),
        (status = 404, body = Problem, description = "The survivor or a merged contact is unknown or not visible"),
        (status = 409, body = Problem, description = "`duplicate_contact`: the chosen email or phone is another contact's"),
        (status = 422, body = Problem, description = "`validation_failed`: `merge_ids` empty or naming the survivor, a `fields` entry naming another contact, or more than 20 tags together"),
    )
)]
async fn merge_contacts(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiJson { data: input, .. }: ApiJson<MergeInput>,
) -> AppResult<Response> {
    records::merge::<Contact>(&state, &ctx, id, input).await
}

crate::api::records::bulk_endpoint!(bulk_contacts: Contact, tag: "contacts", path: "/contacts/bulk");
