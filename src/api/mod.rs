//! The JSON API (`/api/v1`, api.md): one module per resource, each a
//! `router()` of thin handlers that read the request (extractors in
//! `crate::http::extract`), call the service layer (`crate::services`) and
//! shape the response. No business rule lives here.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod companies;
pub mod contacts;
pub mod custom_fields;
pub mod deals;
pub mod duplicates;
pub mod export;
pub mod forms;
pub mod imports;
pub mod invitations;
pub mod jobs;
pub mod leads;
pub mod members;
pub mod organizations;
pub mod pipelines;
pub mod properties;
pub mod records;
pub mod tags;
pub mod tasks;
pub mod views;

use utoipa_axum::router::OpenApiRouter;

use crate::app::App;

/// Every API route, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(organizations::router())
        .merge(members::router())
        .merge(invitations::router())
        .merge(audit::router())
        .merge(jobs::router())
        .merge(export::router())
        .merge(imports::router())
        .merge(duplicates::router())
        .merge(contacts::router())
        .merge(leads::router())
        .merge(forms::router())
        .merge(custom_fields::router())
        .merge(views::router())
        .merge(properties::router())
        .merge(companies::router())
        .merge(tags::router())
        .merge(pipelines::router())
        .merge(deals::router())
        .merge(tasks::router())
        .merge(analytics::router())
}
