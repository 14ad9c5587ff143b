//! `crm`: a fast, multi-tenant CRM server. One binary serves the JSON API
//! (`/api/v1`, OpenAPI 3.1) and the web app, on SQLite or PostgreSQL.
//!
//! Layout: `config` (flags and environment), `startup` (build and run),
//! `http` (state, errors, extractors, middleware, OpenAPI), `db` (both
//! backends), and one module per domain: `auth`, `orgs`, `audit`.

pub mod activities;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod companies;
pub mod config;
pub mod contacts;
pub mod db;
pub mod deals;
pub mod health;
pub mod http;
pub mod orgs;
pub mod pipelines;
pub mod records;
pub mod seed;
pub mod startup;
pub mod tags;
pub mod tasks;
pub mod telemetry;
pub mod validate;
pub mod web;
