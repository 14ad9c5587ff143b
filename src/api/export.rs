//! `GET /{contacts|companies|deals|tasks|leads}/export`: a list as CSV, and
//! `GET /organization/export`: the whole organization as JSON Lines, both
//! streamed (`crate::services::export`).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::error::AppResult;
use crate::http::extract::{ApiQuery, OrgHeader};
use crate::services::companies::{Company, CompanyQuery};
use crate::services::contacts::{Contact, ContactQuery};
use crate::services::deals::{Deal, DealQuery};
use crate::services::export::{self, Exported};
use crate::services::leads::{Lead, LeadQuery};
use crate::services::orgs::OrgCtx;
use crate::services::properties::{Property, PropertyQuery};
use crate::services::tasks::{Task, TaskQuery};

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(export_contacts))
        .routes(routes!(export_companies))
        .routes(routes!(export_deals))
        .routes(routes!(export_tasks))
        .routes(routes!(export_leads))
        .routes(routes!(export_properties))
        .routes(routes!(export_organization))
}

/// Export the whole organization as JSON Lines (admin and owner).
///
/// One object per line, `{"type": …, "data": …}`, streamed: the
/// `organization`, its `member`s (without password hashes), `pipeline`s,
/// then every `company`, `contact`, `property`, `deal`, `task` and `lead`, then every
/// `activity`, each `data` as the API returns it. Logged as
/// `organization.exported`.
#[utoipa::path(
    get, path = "/organization/export", tag = "organizations",
    params(OrgHeader),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "application/x-ndjson", body = String, description = "The organization, a JSON object per line"),
        (status = 403, body = crate::http::error::Problem, description = "`forbidden`: below admin"),
    )
)]
async fn export_organization(ctx: OrgCtx, State(state): State<App>) -> AppResult<Response> {
    export::start_organization(&state, &ctx).await?;
    let chunks = export::organization(state, ctx).map_err(stopped);
    Ok(attachment(
        Body::from_stream(chunks),
        "application/x-ndjson",
        "organization.jsonl",
    ))
}

/// A failure midway: the transfer is cut (the status was sent already).
fn stopped(e: crate::error::AppError) -> std::io::Error {
    std::io::Error::other(format!("export stopped: {} ({})", e.detail, e.code))
}

/// A streamed file's answer.
fn attachment(body: Body, content_type: &'static str, filename: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// The export's answer: the first page read (a bad filter is refused with
/// its problem before anything is sent), then the rest streamed.
async fn csv<R: Exported>(state: App, ctx: OrgCtx, query: R::Query, raw: Option<String>) -> AppResult<Response> {
    let query = R::with_custom(query, crate::services::custom_fields::values::params_of(raw.as_deref()));
    let first = export::start::<R>(&state, &ctx, &query).await?;
    let header = export::header::<R>(&state, ctx.org_id).await?;
    let chunks = export::chunks::<R>(state, ctx, query, header, first).map_err(stopped);
    Ok(attachment(
        Body::from_stream(chunks),
        "text/csv; charset=utf-8",
        &format!("{}.csv", R::PLURAL),
    ))
}

macro_rules! export_endpoints {
    ($($name:ident: $record:ty, $query:ty, $tag:literal, $path:literal, $doc:literal;)*) => {$(
        #[doc = $doc]
        ///
        /// Every record the caller may list, with the list's filters and
        /// sort (`limit` and `cursor` are ignored): a header row of the API's
        /// field names in the order of its JSON, then one row per record,
        /// streamed; custom fields follow, one column each, named by their
        /// labels (`custom.<key>` filters apply as in the list). Timestamps
        /// RFC 3339 UTC, tags and multi-select values joined by `;`, `\r\n`
        /// line ends, UTF-8 without BOM. Logged as `data.exported`.
        #[utoipa::path(
            get, path = $path, tag = $tag,
            params(OrgHeader, $query),
            security(("bearer" = [])),
            responses(
                (status = 200, content_type = "text/csv", body = String, description = "The CSV file"),
            )
        )]
        async fn $name(
            ctx: OrgCtx,
            State(state): State<App>,
            ApiQuery(query): ApiQuery<$query>,
            axum::extract::RawQuery(raw): axum::extract::RawQuery,
        ) -> AppResult<Response> {
            csv::<$record>(state, ctx, query, raw).await
        }
    )*};
}

export_endpoints! {
    export_contacts: Contact, ContactQuery, "contacts", "/contacts/export", "Export contacts as CSV.";
    export_companies: Company, CompanyQuery, "companies", "/companies/export", "Export companies as CSV.";
    export_deals: Deal, DealQuery, "deals", "/deals/export", "Export deals as CSV.";
    export_tasks: Task, TaskQuery, "tasks", "/tasks/export", "Export tasks as CSV.";
    export_leads: Lead, LeadQuery, "leads", "/leads/export", "Export leads as CSV.";
    export_properties: Property, PropertyQuery, "properties", "/properties/export", "Export properties as CSV.";
}
