//! HTTP-level tests of the API against the real server, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL. One test binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every test uses every helper.
#[allow(dead_code)]
mod helpers;
mod hostile;

mod analytics;
mod auth;
mod browser;
mod bulk;
mod companies;
mod connections;
mod contacts;
mod conventions;
mod custom_fields;
mod deals;
mod duplicates;
mod export;
mod forms;
mod import_crash;
mod imports;
mod invitations;
mod jobs;
mod keepalive;
mod layers;
mod leads;
mod members;
mod merge;
mod moving;
mod organizations;
mod pipelines;
mod properties;
mod robustness;
mod services;
mod tasks;
mod tenancy;
mod views;
mod web;
