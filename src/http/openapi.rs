//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! attributes, served at `/api/v1/openapi.json` and rendered at `/api/docs`
//! (Swagger UI, vendored into the binary: nothing is fetched at run time).

use axum::Router;
use serde_json::Value;
use utoipa::openapi::OpenApi as Spec;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::app::App;
use crate::error::FieldError;
use crate::http::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "crm API",
        description = "A fast, multi-tenant CRM. Authenticate with `Authorization: Bearer <access_token>`; \
            organization-scoped endpoints also need `X-Organization-Id`. Errors are \
            `application/problem+json` with a stable `code`.",
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError, crate::services::jobs::JobStatus)),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "organizations", description = "Organizations and their settings"),
        (name = "members", description = "Members and roles"),
        (name = "invitations", description = "Invitations"),
        (name = "audit", description = "Audit log"),
        (name = "jobs", description = "Background jobs"),
        (name = "contacts", description = "Contacts"),
        (name = "companies", description = "Companies"),
        (name = "leads", description = "Leads: scored, followed up, converted into contacts and deals"),
        (name = "properties", description = "Real-estate listings"),
        (name = "views", description = "Saved views: a list's filters and sort under a name, private or shared"),
        (name = "custom-fields", description = "An organization's own typed fields on contacts, companies, deals, leads and properties"),
        (name = "tags", description = "Tags across record types"),
        (name = "pipelines", description = "Pipelines and their stages"),
        (name = "deals", description = "Deals and their timeline"),
        (name = "tasks", description = "Tasks"),
        (name = "analytics", description = "Deal summary and funnel"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Spec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document's fixed parts, before the routes add their paths.
pub fn base() -> Spec {
    ApiDoc::openapi()
}

/// The served document: the generated one with its version, and what the
/// server enforces written in (`crate::http::openapi_rules`).
pub fn finish(mut spec: Spec) -> Value {
    spec.info.version = env!("CARGO_PKG_VERSION").to_string();
    let mut doc = serde_json::to_value(&spec).unwrap_or_default();
    crate::http::openapi_rules::apply(&mut doc);
    doc
}

/// `/api/v1/openapi.json` and the human-readable reference at `/api/docs`.
pub fn docs_router(doc: Value) -> Router<App> {
    SwaggerUi::new("/api/docs")
        .external_url_unchecked("/api/v1/openapi.json", doc)
        .into()
}
