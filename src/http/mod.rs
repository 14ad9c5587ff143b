//! The HTTP layer: shared state, the router of every API area, and the
//! middleware every request passes through.

pub mod error;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod pagination;
pub mod rate_limit;
pub mod request_id;

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::db::Db;
use crate::http::error::ApiError;
use crate::http::rate_limit::RateLimits;

/// Largest request body accepted (api.md: 1 MiB, beyond → 413).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub tokens: TokenKeys,
    pub limits: RateLimits,
    pub metrics: PrometheusHandle,
    pub analytics: crate::analytics::AnalyticsCache,
}

impl AppState {
    pub fn new(config: Config, db: Db, metrics: PrometheusHandle) -> Self {
        let tokens = TokenKeys::new(&config.secret_key, config.access_ttl);
        let limits = RateLimits::new(config.auth_rate_per_minute, config.rate_per_second);
        Self(Arc::new(AppInner {
            config,
            db,
            tokens,
            limits,
            metrics,
            analytics: Default::default(),
        }))
    }
}

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// Every route of the server, with its middleware.
pub fn router(state: AppState) -> Router {
    let api = OpenApiRouter::new()
        .merge(crate::auth::routes::router())
        .merge(crate::orgs::routes::router())
        .merge(crate::orgs::members::router())
        .merge(crate::orgs::invitations::router())
        .merge(crate::audit::router())
        .merge(crate::contacts::router())
        .merge(crate::companies::router())
        .merge(crate::tags::router())
        .merge(crate::pipelines::router())
        .merge(crate::deals::router())
        .merge(crate::tasks::router())
        .merge(crate::analytics::router());
    let (api, spec) = OpenApiRouter::with_openapi(openapi::base())
        .nest("/api/v1", api)
        .split_for_parts();
    let spec = openapi::finish(spec);

    Router::new()
        .merge(api)
        .merge(openapi::docs_router(spec))
        .merge(crate::health::router())
        .merge(crate::web::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        // Innermost first: a panic becomes a problem response inside the request's
        // context, so it still gets its request id, log line and metrics.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(request_id::request_context))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed on this path",
    )
}

/// A panic is a server fault: the client sees a generic problem, the log the cause.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}

/// `ETag: "<version>"` for a record response.
pub fn etag(version: i64) -> (header::HeaderName, HeaderValue) {
    (
        header::ETAG,
        HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\"")),
    )
}
