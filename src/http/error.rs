//! [`AppError`] as an HTTP response: `application/problem+json` (RFC 9457)
//! with the error's status, its stable code and the request's id; a 500's
//! cause is logged here and never sent.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{AppError, FieldError};

/// The problem document every error response carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` tells the kind.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable error code (e.g. `validation_failed`).
    pub code: String,
    pub detail: String,
    /// Field errors of a `validation_failed` response.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    pub request_id: String,
}

impl AppError {
    /// The problem document, as sent.
    pub fn problem(&self) -> Value {
        let problem = Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").into(),
            status: self.status.as_u16(),
            code: self.code.into(),
            detail: self.detail.to_string(),
            errors: self.errors.clone(),
            request_id: crate::http::request_id::current(),
        };
        let mut value = serde_json::to_value(problem).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            for (k, v) in &self.extra {
                map.insert(k.clone(), v.clone());
            }
        }
        value
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            tracing::error!(error = ?source, "internal error");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
