//! `crm`: a fast, multi-tenant CRM server. One binary serves the JSON API
//! (`/api/v1`, OpenAPI 3.1) and the web app, on SQLite or PostgreSQL.
//!
//! The layers, callers first (docs/architecture.md draws them):
//! - callers: `api` (JSON handlers), `web` (server-rendered pages), `cli`
//!   and `seed` (commands), `jobs` (the background worker), over the shared HTTP plumbing in `http`
//!   (router, middleware, extractors, problem responses, OpenAPI);
//! - `services`: every business rule, callable by any actor, no HTTP;
//! - each service's `queries`, then `db` (both backends).
//!
//! Beside them: `app` (the handle every caller holds), `error` (the error
//! every layer returns), `format` (money and time as people read them),
//! `config`, `startup`, `telemetry`, `health`.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod format;
pub mod health;
pub mod http;
pub mod jobs;
pub mod seed;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;
