//! Successful JSON responses: a record with its `ETag`, a created record or
//! the replay of an `Idempotency-Key`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{AppError, AppResult};
use crate::services::idempotency::{Created, Replay};

/// `ETag: "<version>"` for a record response.
pub fn etag(version: i64) -> (header::HeaderName, HeaderValue) {
    (
        header::ETAG,
        HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\"")),
    )
}

/// A JSON response with an `ETag` when the body is a versioned record.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(version) = body.get("version").and_then(Value::as_i64) {
        let (name, value) = etag(version);
        response.headers_mut().insert(name, value);
    }
    response
}

/// A record as a JSON response with its `ETag`.
pub fn record_response<T: serde::Serialize>(status: StatusCode, record: &T) -> AppResult<Response> {
    let body = serde_json::to_value(record).map_err(AppError::internal)?;
    Ok(json_response(status, &body))
}

/// The stored first answer, marked `Idempotent-Replayed: true`.
pub fn replay_response(replay: Replay) -> Response {
    let mut response = json_response(replay.status, &replay.body);
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// The API's answer to a create: 201 with the record, or the replay.
pub fn created_response<T: serde::Serialize>(created: Created<T>) -> AppResult<Response> {
    match created {
        Created::New(record) => record_response(StatusCode::CREATED, &record),
        Created::Replayed(replay) => Ok(replay_response(replay)),
    }
}
