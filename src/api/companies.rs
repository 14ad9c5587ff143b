//! `/api/v1/companies` (api.md §5): the standard record endpoints.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::records::record_endpoints;
use crate::app::App;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::services::companies::{self, Company, CompanyInput, CompanyPatch, CompanyQuery};
use crate::services::pagination::Page;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_companies, create_company))
        .routes(routes!(get_company, update_company, delete_company))
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
