//! The server-rendered web app. Until its pages land, `/` says where the API
//! and its reference are.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ],
        concat!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>crm</title></head>",
            "<body><main><h1>crm</h1><p>The API is at <code>/api/v1</code>; its reference is at ",
            "<a href=\"/api/docs/\">/api/docs</a>.</p></main></body></html>"
        ),
    )
}
