//! Extractors that make a handler's signature say what it needs, and turn every
//! malformed input into a problem response (never axum's plain-text rejections).

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::http::error::{ApiError, FieldError};

/// Fields a client may send back as it read them; they are ignored on input
/// (api.md §7) rather than rejected as unknown.
const READ_ONLY_FIELDS: &[&str] = &["id", "version", "created_at", "updated_at", "closed_at", "completed_at"];

/// A JSON request body: not JSON → 400 `malformed_json`; over the body limit →
/// 413; wrong types, missing or unknown fields → 422 `validation_failed` naming
/// the field. Keeps the parsed JSON for idempotency checks.
pub struct ApiJson<T> {
    pub data: T,
    pub raw: Value,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is larger than 1 MiB",
                )
            } else {
                ApiError::bad_request("malformed_json", "the request body could not be read")
            }
        })?;
        let mut raw: Value = serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::bad_request("malformed_json", "the request body is not valid JSON"))?;
        let Value::Object(map) = &mut raw else {
            return Err(ApiError::field("body", "must be a JSON object"));
        };
        for field in READ_ONLY_FIELDS {
            map.remove(*field);
        }
        let data = deserialize_fields(&raw)?;
        Ok(ApiJson { data, raw })
    }
}

/// Deserializes `value` into `T`, reporting the failing field by name.
pub fn deserialize_fields<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        ApiError::validation(vec![field_error(&path, &err.into_inner().to_string())])
    })
}

/// Turns a serde message into a field error. Missing and unknown fields carry
/// their name in the message rather than in the path.
fn field_error(path: &str, message: &str) -> FieldError {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    let join = |name: String| {
        if path.is_empty() || path == "." {
            name
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(name) = quoted("missing field `") {
        return FieldError {
            field: join(name),
            message: "is required".into(),
        };
    }
    if let Some(name) = quoted("unknown field `") {
        // The path already ends at the unknown key.
        let field = if path.is_empty() || path == "." {
            name
        } else {
            path.to_string()
        };
        return FieldError {
            field,
            message: "is not a known field".into(),
        };
    }
    let field = if path.is_empty() || path == "." {
        "body".to_string()
    } else {
        path.to_string()
    };
    let message = message.split(" at line ").next().unwrap_or(message).to_string();
    FieldError { field, message }
}

/// Query parameters (repeatable keys allowed): a value that does not parse →
/// 422 `validation_failed` naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_html_form::Deserializer::from_bytes(query.as_bytes());
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                ApiError::validation(vec![field_error(&path, &err.into_inner().to_string())])
            })
    }
}

/// A record id in the path. Anything that is not a UUID answers 404, exactly as
/// an id that does not exist.
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let TextPath(raw) = TextPath::from_request_parts(parts, state).await?;
        Uuid::parse_str(&raw).map(IdPath).map_err(|_| ApiError::not_found())
    }
}

/// A string segment of the path (e.g. an invitation token).
pub struct TextPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TextPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        Ok(TextPath(raw))
    }
}

/// The client's address, as seen on the connection.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()),
        ))
    }
}

impl ClientIp {
    pub fn text(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

/// `If-Match: "<version>"`. Absent → `None` (last write wins). `*` matches any
/// version; a value that names no version can never match → 412.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<ExpectedVersion>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    Any,
    Exactly(i64),
    Never,
}

impl IfMatch {
    /// 412 `version_mismatch` unless `current` satisfies the header.
    pub fn check(&self, current: i64) -> Result<(), ApiError> {
        match self.0 {
            None | Some(ExpectedVersion::Any) => Ok(()),
            Some(ExpectedVersion::Exactly(v)) if v == current => Ok(()),
            Some(_) => Err(ApiError::version_mismatch()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(axum::http::header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Ok(IfMatch(Some(ExpectedVersion::Any)));
        }
        // A list of tags matches when any of them does; weak tags compare equal.
        let versions: Vec<i64> = text
            .split(',')
            .filter_map(|tag| tag.trim().trim_start_matches("W/").trim_matches('"').parse().ok())
            .collect();
        Ok(IfMatch(Some(match versions.as_slice() {
            [v] => ExpectedVersion::Exactly(*v),
            [] => ExpectedVersion::Never,
            // Several tags: checked one by one by the caller would be rare; keep the first.
            [v, ..] => ExpectedVersion::Exactly(*v),
        })))
    }
}

/// `Idempotency-Key` header of a creating POST (≤ 255 characters, else 422).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value
            .to_str()
            .map_err(|_| ApiError::field("Idempotency-Key", "must be visible ASCII text"))?
            .trim();
        if key.is_empty() || key.chars().count() > 255 {
            return Err(ApiError::field("Idempotency-Key", "must be 1..255 characters"));
        }
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

/// For `#[serde(default, deserialize_with = "double_option")]` on an
/// `Option<Option<T>>` field of a PATCH body: absent → `None` (leave as is),
/// `null` → `Some(None)` (clear), a value → `Some(Some(v))`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}
