//! `/api/v1/companies` (api.md §5): the standard record endpoints.

use axum::extract::State;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::records::{self, record_endpoints};
use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::{ApiJson, IdPath, OrgHeader};
use crate::services::companies::{self, Company, CompanyInput, CompanyPatch, CompanyQuery};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::merge::MergeInput;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_companies, create_company))
        .routes(routes!(bulk_companies))
        .routes(routes!(get_company, update_company, delete_company))
        .routes(routes!(merge_companies))
}

/// Merge duplicates into this company: it keeps its id and takes the
/// chosen fields (by default its own, else the first non-empty); the merged
/// companies' contacts and deals move to it, their tags join its tags, and
/// they are deleted. Audit entry `company.merged`. All or nothing. Managers
/// and above; a member only companies they own.
#[utoipa::path(
    post, path = "/companies/{id}/merge", tag = "companies",
    params(OrgHeader, ("id" = Uuid, Path, description = "The survivor")),
    request_body = MergeInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Company, description = "The survivor after the merge"),
        (status = 403, body = Problem, description = "`forbidden`: a member merging a company they do not own"),
        (status = 404, body = Problem, description = "The survivor or a merged company is unknown or not visible"),
        (status = 409, body = Problem, description = "`duplicate_company`: the chosen domain is another company's"),
        (status = 422, body = Problem, description = "`validation_failed`: `merge_ids` empty or naming the survivor, a `fields` entry naming another company or a field companies lack, or more than 20 tags together"),
    )
)]
async fn merge_companies(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    ApiJson { data: input, .. }: ApiJson<MergeInput>,
) -> AppResult<Response> {
    records::merge::<Company>(&state, &ctx, id, input).await
}

record_endpoints! {
    record: Company, input: CompanyInput, patch: CompanyPatch, query: CompanyQuery,
    list_with: companies::list,
    tag: "companies", collection: "/companies", item: "/companies/{id}",
    list: list_companies ["List companies (keyset-paginated)."],
    create: create_company ["Create a company."] (
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 409, body = Problem, description = "`duplicate_company`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`, `idempotency_key_reused`"),
    ),
    read: get_company ["Read a company."],
    update: update_company ["Change some fields of a company."] (
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 409, body = Problem, description = "`duplicate_company`"),
        (status = 422, body = Problem, description = "`validation_failed`, `owner_not_member`"),
    ),
    delete: delete_company ["Delete a company; its contacts and deals stay, without a company."] (),
}

crate::api::records::bulk_endpoint!(bulk_companies: Company, tag: "companies", path: "/companies/bulk");
