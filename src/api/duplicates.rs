//! `GET /contacts/duplicates` and `GET /companies/duplicates`: handlers of
//! `crate::services::duplicates`.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::{ApiQuery, OrgHeader};
use crate::services::companies::Company;
use crate::services::contacts::Contact;
use crate::services::duplicates::{self, CompanyGroup, ContactGroup, DuplicateGroup, DuplicatePage, DuplicateQuery};
use crate::services::orgs::OrgCtx;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(contact_duplicates))
        .routes(routes!(company_duplicates))
}

/// Likely duplicate contacts, best first: the same email (Gmail's dots and
/// `+tags` aside) or phone (last nine digits), or names at least 0.92
/// alike (Jaro-Winkler, accents and case aside) with the same company or
/// work email domain. Only contacts the caller may read are shown. Found by
/// a scan: at once for up to 20,000 contacts, else by a background job
/// every ten minutes at most (`scanned_at` says when).
#[utoipa::path(
    get, path = "/contacts/duplicates", tag = "contacts",
    params(OrgHeader, DuplicateQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DuplicatePage<ContactGroup>),
        (status = 422, body = Problem, description = "`validation_failed` (`limit`) or `invalid_cursor`"),
    )
)]
async fn contact_duplicates(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<DuplicateQuery>,
) -> AppResult<Json<DuplicatePage<DuplicateGroup<Contact>>>> {
    Ok(Json(duplicates::list::<Contact>(&state, &ctx, &query).await?))
}

/// Likely duplicate companies, best first: the same domain, or names at
/// least 0.92 alike once legal suffixes (Inc, LLC, Ltd, GmbH, …) are set
/// aside.
#[utoipa::path(
    get, path = "/companies/duplicates", tag = "companies",
    params(OrgHeader, DuplicateQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DuplicatePage<CompanyGroup>),
        (status = 422, body = Problem, description = "`validation_failed` (`limit`) or `invalid_cursor`"),
    )
)]
async fn company_duplicates(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<DuplicateQuery>,
) -> AppResult<Json<DuplicatePage<DuplicateGroup<Company>>>> {
    Ok(Json(duplicates::list::<Company>(&state, &ctx, &query).await?))
}
