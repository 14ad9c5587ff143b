//! HTTP-level tests of the API against the real server, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL. One test binary.

mod helpers;

mod auth;
mod conventions;
