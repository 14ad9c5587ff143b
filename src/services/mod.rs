//! The service layer: every business rule of the CRM, callable by any actor.
//!
//! Functions here take the application handle ([`crate::app::App`]: the
//! database and the caches) and an acting context ([`orgs::OrgCtx`]: the
//! organization, the role and visibility that apply, and who acts: a user, an
//! import, an automation or the system). The JSON API (`crate::api`), the web
//! app (`crate::web`), the CLI and background jobs all call these same
//! functions, so a rule and its error code live in one place. Nothing here
//! knows about HTTP requests: no axum, no web.
//!
//! Each domain keeps its SQL in a `queries` module (written once for both
//! backends, see `crate::db`).

pub mod activities;
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
pub mod idempotency;
pub mod imports;
pub mod jobs;
pub mod leads;
pub mod orgs;
pub mod pagination;
pub mod pipelines;
pub mod properties;
pub mod rate_limit;
pub mod records;
pub mod restore;
pub mod tags;
pub mod tasks;
pub mod validate;
pub mod views;
