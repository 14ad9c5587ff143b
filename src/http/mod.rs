//! The HTTP layer: shared state, the router of every API area, and the
//! middleware every request passes through.

pub mod error;
pub mod extract;
pub mod openapi;
pub mod openapi_rules;
pub mod request_id;
pub mod response;
pub mod serve;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::app::App;
use crate::error::AppError;

/// Largest request body accepted (api.md: 1 MiB, beyond → 413).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every route of the server, with its middleware.
pub fn router(state: App) -> Router {
    let api = crate::api::router();
    let (api, spec) = OpenApiRouter::with_openapi(openapi::base())
        .nest("/api/v1", api)
        .merge(crate::api::forms::public_router())
        .split_for_parts();
    let spec = openapi::finish(spec);

    Router::new()
        .merge(api)
        .merge(openapi::docs_router(spec))
        .merge(crate::health::router())
        .merge(crate::web::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        // Innermost first: a panic becomes a problem response inside the request's
        // context, so it still gets its request id, log line and metrics.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            RequestBounds::new(&state.config),
            bounded_request,
        ))
        .layer(axum::middleware::from_fn(request_id::request_context))
}

/// What [`bounded_request`] enforces.
#[derive(Clone)]
struct RequestBounds {
    timeout: std::time::Duration,
    /// KiB of memory for request bodies at once, over every request
    /// (`CRM_BODY_MEMORY`). Bodies up to [`SMALL_BODY`] are not counted.
    body_memory: std::sync::Arc<tokio::sync::Semaphore>,
}

/// Bodies this small are read without taking from the shared budget: they
/// are most requests, and even a connection cap's worth of them is little.
const SMALL_BODY: usize = 64 * 1024;

/// What a body costs in memory, in multiples of its size, while it is
/// served: the chunks as they arrive, the joined copy, and the value parsed
/// from it (measured: 64 bodies of 1 MiB at once raised the server's memory
/// by ~3.5 MiB each).
const BODY_COPIES: usize = 3;

impl RequestBounds {
    fn new(config: &crate::config::Config) -> Self {
        RequestBounds {
            timeout: config.request_timeout,
            body_memory: std::sync::Arc::new(tokio::sync::Semaphore::new(config.body_memory_kib)),
        }
    }
}

/// Bounds a request in time and memory, and reads its whole body (up to
/// [`BODY_LIMIT`]) before it is routed.
///
/// Time: the body must arrive, and the answer be ready, within
/// `CRM_REQUEST_TIMEOUT` of the headers (`408 request_timeout` and the
/// connection closed, or `503 timeout`): a slow client or a stuck query
/// frees its place. Streamed answers ([`streams`]) are exempt by design:
/// their length follows the data, not a stuck request.
///
/// Memory: a body over [`SMALL_BODY`] first takes what it will cost
/// ([`BODY_COPIES`] × its declared length, or × the whole limit when it
/// comes in chunks) from the shared `CRM_BODY_MEMORY` budget and keeps it
/// until answered; when the budget is spent, it waits its turn within the
/// same deadline. 64 clients sending 1 MiB bodies took the server to 223 MB
/// before this bound.
///
/// Body first: an answer given before a handler reads the body (a 404 for
/// a malformed id, a 401, a 415) would otherwise leave the unread rest of
/// the body on the connection, and the server would close it without saying
/// so: a client reusing the connection saw its next request fail. Read
/// first, nothing is left and the connection stays usable. The JSON and form
/// extractors buffer the body anyway, so this costs no memory they did not
/// already take. A body over the limit is refused (413) with `Connection:
/// close`: its rest is not read.
async fn bounded_request(
    axum::extract::State(bounds): axum::extract::State<RequestBounds>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::body::{Body, HttpBody};
    if streams(request.uri().path()) || uploads(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let limit = bounds.timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let mut _budget = None;
    let request = if request.body().size_hint().exact() == Some(0) {
        request
    } else {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > BODY_LIMIT) {
            return closing(AppError::payload_too_large());
        }
        let size = declared.unwrap_or(BODY_LIMIT);
        if size > SMALL_BODY {
            let kib = u32::try_from((size * BODY_COPIES).div_ceil(1024)).unwrap_or(u32::MAX);
            match tokio::time::timeout_at(deadline, bounds.body_memory.clone().acquire_many_owned(kib)).await {
                Ok(Ok(permit)) => _budget = Some(permit),
                _ => return closing(AppError::timeout(limit)),
            }
        }
        let (parts, body) = request.into_parts();
        match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, BODY_LIMIT)).await {
            Ok(Ok(bytes)) => axum::extract::Request::from_parts(parts, Body::from(bytes)),
            Ok(Err(_)) => return closing(AppError::payload_too_large()),
            Err(_) => return closing(AppError::request_timeout(limit)),
        }
    };
    match tokio::time::timeout_at(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "request stopped: not answered in time");
            AppError::timeout(limit).into_response()
        }
    }
}

/// The paths whose answers stream (CSV exports: the web app's `.csv`, the
/// API's `/export`): no request timeout.
fn streams(path: &str) -> bool {
    path.ends_with(".csv") || (path.starts_with("/api/") && path.ends_with("/export"))
}

/// The requests that upload a file (CSV imports: the API's and the web
/// app's): their body is streamed to disk by the handler, which bounds each
/// wait for the next part by the request timeout instead of the whole (the
/// web app's session guard leaves their body unread too).
pub fn uploads(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST && matches!(path, "/api/v1/imports" | "/imports")
}

/// An error answer after which the connection is closed (the body's rest is
/// left unread).
fn closing(error: AppError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// No route: the API's problem document under `/api`, the web app's page
/// elsewhere (a mistyped address in the browser).
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") || uri.path() == "/api" {
        AppError::not_found().into_response()
    } else {
        crate::web::not_found_page()
    }
}

async fn method_not_allowed() -> AppError {
    AppError::new(
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
    AppError::internal(anyhow::anyhow!("handler panicked: {message}")).into_response()
}
