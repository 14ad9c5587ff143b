//! `/health`, `/ready` and `/metrics` (api.md §2): no authentication.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::app::App;
use crate::error::AppError;

pub fn router() -> Router<App> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

/// The process runs.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers (within two seconds).
async fn ready(State(state): State<App>) -> Result<Json<serde_json::Value>, AppError> {
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(true) => Ok(Json(json!({ "status": "ready" }))),
        _ => Err(AppError::unavailable()),
    }
}

/// Prometheus text: request counts and latency histograms by route and status,
/// database pool usage, open and refused connections (`http::serve`), and the
/// rate limiters' keys (their memory).
async fn metrics(State(state): State<App>) -> impl IntoResponse {
    metrics::gauge!("rate_limit_keys").set(state.limits.keys() as f64);
    for (pool, size, idle) in state.db.pool_usage() {
        metrics::gauge!("db_pool_connections", "pool" => pool, "state" => "open").set(size as f64);
        metrics::gauge!("db_pool_connections", "pool" => pool, "state" => "idle").set(idle as f64);
        metrics::gauge!("db_pool_connections", "pool" => pool, "state" => "in_use")
            .set(size.saturating_sub(idle as u32) as f64);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
