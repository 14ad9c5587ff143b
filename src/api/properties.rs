//! `/api/v1/properties` (leads.md "Properties"): the standard record
//! endpoints, and the properties that fit a lead.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::records::record_endpoints;
use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::{IdPath, OrgHeader};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::properties::{self, Matches, Property, PropertyInput, PropertyPatch, PropertyQuery};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_properties, create_property))
        .routes(routes!(bulk_properties))
        .routes(routes!(get_property, update_property, delete_property))
        .routes(routes!(matching_properties))
}

record_endpoints! {
    record: Property, input: PropertyInput, patch: PropertyPatch, query: PropertyQuery,
    list_with: properties::list,
    tag: "properties", collection: "/properties", item: "/properties/{id}",
    list: list_properties ["List properties (keyset-paginated)."],
    create: create_property ["Create a property (a listing)."] (
        (status = 403, body = Problem, description = "`forbidden`: a member making someone else the owner"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `contact_not_found`, `idempotency_key_reused`"),
    ),
    read: get_property ["Read a property."],
    update: update_property ["Change some fields of a property."] (
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `contact_not_found`"),
    ),
    delete: delete_property ["Delete a property."] (),
}

/// The available properties that fit the lead's preferences (its type,
/// bedrooms, budget within 10 %, places), best first, each with its fit
/// (0..1) and the reasons; at most 50.
#[utoipa::path(
    get, path = "/leads/{id}/matching-properties", tag = "leads",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Matches), (status = 404, body = Problem))
)]
async fn matching_properties(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Json<Matches>> {
    Ok(Json(properties::matching(&state, &ctx, id).await?))
}

crate::api::records::bulk_endpoint!(bulk_properties: Property, tag: "properties", path: "/properties/bulk");
