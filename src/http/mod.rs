//! The HTTP layer: shared state, the router of every API area, and the
//! middleware every request passes through.

pub mod error;
pub mod extract;
pub mod openapi;
pub mod openapi_rules;
pub mod request_id;
pub mod response;

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
        .layer(axum::middleware::from_fn(read_body_first))
        .layer(axum::middleware::from_fn(request_id::request_context))
}

/// Reads a request's whole body (up to [`BODY_LIMIT`]) before it is routed.
///
/// An answer given before a handler reads the body (a 404 for a malformed
/// id, a 401, a 415) would otherwise leave the unread rest of the body on the
/// connection, and the server would close it without saying so: a client
/// reusing the connection saw its next request fail. Read first, nothing is
/// left and the connection stays usable. The JSON and form extractors buffer
/// the body anyway, so this costs no memory they did not already take. A body
/// over the limit is refused (413) with `Connection: close`: its rest is not
/// read. (Streamed uploads, when they come, will be routed around this.)
async fn read_body_first(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::body::{Body, HttpBody};
    if request.body().size_hint().exact() == Some(0) {
        return next.run(request).await;
    }
    let declared_too_large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > BODY_LIMIT);
    let (parts, body) = request.into_parts();
    let bytes = match declared_too_large {
        true => None,
        false => axum::body::to_bytes(body, BODY_LIMIT).await.ok(),
    };
    match bytes {
        Some(bytes) => {
            next.run(axum::extract::Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        None => {
            let mut response = AppError::payload_too_large().into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
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
