//! Extractors that make a handler's signature say what it needs, and turn every
//! malformed input into a problem response (never axum's plain-text rejections).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use axum::http::header::AUTHORIZATION;
use utoipa::IntoParams;

use crate::app::App;
use crate::error::{AppError, FieldError};
use crate::services::auth::{AuthUser, ClientIp};
use crate::services::idempotency::IdempotencyKey;
use crate::services::orgs::OrgCtx;
use crate::services::records::{ExpectedVersion, IfMatch};

/// Fields a client may send back as it read them; they are ignored on input
/// (api.md §7, leads.md) rather than rejected as unknown.
const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "version",
    "created_at",
    "updated_at",
    "closed_at",
    "completed_at",
    "score",
    "score_reasons",
    "converted_contact_id",
    "converted_deal_id",
    "converted_at",
];

/// A JSON request body: not JSON → 400 `malformed_json`; over the body limit →
/// 413; wrong types, missing or unknown fields → 422 `validation_failed` naming
/// the field. Keeps the parsed JSON for idempotency checks.
pub struct ApiJson<T> {
    pub data: T,
    pub raw: Value,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::payload_too_large()
            } else {
                AppError::bad_request("malformed_json", "the request body could not be read")
            }
        })?;
        let mut raw: Value = serde_json::from_slice(&bytes)
            .map_err(|_| AppError::bad_request("malformed_json", "the request body is not valid JSON"))?;
        let Value::Object(map) = &mut raw else {
            return Err(AppError::field("body", "must be a JSON object"));
        };
        for field in READ_ONLY_FIELDS {
            map.remove(*field);
        }
        if let Some(field) = nul_in(&raw, "") {
            return Err(AppError::field(field, NUL_MESSAGE));
        }
        let data = deserialize_fields(&raw)?;
        Ok(ApiJson { data, raw })
    }
}

/// Text may not hold the NUL character (`validate::NUL_MESSAGE`).
pub use crate::services::validate::NUL_MESSAGE;

/// The path of the first string in `value` holding a NUL character.
fn nul_in(value: &Value, path: &str) -> Option<String> {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(if path.is_empty() { "body".into() } else { path.into() }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(at("body"))
            } else {
                nul_in(v, &at(k))
            }
        }),
        _ => None,
    }
}

/// The name of the first query parameter whose value holds a NUL character.
/// A `cursor` is left to its own check (an opaque value, never stored: 422
/// `invalid_cursor`).
pub fn nul_in_query(query: &str) -> Option<String> {
    // Decoded, a NUL can only come from `%00` (or a raw NUL in a form body):
    // without one, the query is not parsed a second time.
    if !query.contains("%00") && !query.contains('\0') {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_html_form::from_str(query).unwrap_or_default();
    pairs
        .into_iter()
        .find(|(k, v)| k.contains('\0') || (v.contains('\0') && k != "cursor"))
        .map(|(k, _)| k.replace('\0', ""))
}

/// Deserializes `value` into `T`, reporting the failing field by name.
pub fn deserialize_fields<T: DeserializeOwned>(value: &Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        AppError::validation(vec![field_error(&path, &err.into_inner().to_string())])
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
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some(field) = nul_in_query(query) {
            return Err(AppError::field(field, NUL_MESSAGE));
        }
        let deserializer = serde_html_form::Deserializer::from_bytes(query.as_bytes());
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                AppError::validation(vec![field_error(&path, &err.into_inner().to_string())])
            })
    }
}

/// A record id in the path. Anything that is not a UUID answers 404, exactly as
/// an id that does not exist.
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let TextPath(raw) = TextPath::from_request_parts(parts, state).await?;
        Uuid::parse_str(&raw).map(IdPath).map_err(|_| AppError::not_found())
    }
}

/// A string segment of the path (e.g. an invitation token).
pub struct TextPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TextPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::not_found())?;
        Ok(TextPath(raw))
    }
}

/// The client's address: the connection's peer, or, when the peer is a
/// proxy named in `CRM_TRUSTED_PROXIES`, the last address of
/// `X-Forwarded-For` that is not one of those proxies (the one the nearest
/// untrusted hop added; a client cannot forge what comes after it).
impl FromRequestParts<crate::app::App> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::app::App) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let trusted = &state.config.trusted_proxies;
        let Some(peer) = peer.filter(|p| trusted.contains(p)) else {
            return Ok(ClientIp(peer));
        };
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .collect::<Vec<_>>();
        let client = forwarded.into_iter().rev().find(|a| !trusted.contains(a));
        Ok(ClientIp(Some(client.unwrap_or(peer))))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = AppError;

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

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value
            .to_str()
            .map_err(|_| AppError::field("Idempotency-Key", "must be visible ASCII text"))?
            .trim();
        if key.is_empty() || key.chars().count() > 255 {
            return Err(AppError::field("Idempotency-Key", "must be 1..255 characters"));
        }
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

impl FromRequestParts<App> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(*user);
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(AppError::invalid_token)?;
        let token = match header.trim().split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Err(AppError::invalid_token()),
        };
        let claims = state.tokens.verify_access(token)?;
        state.limits.check_user(claims.sub)?;
        let user = AuthUser {
            user_id: claims.sub,
            session_id: claims.sid,
        };
        parts.extensions.insert(user);
        Ok(user)
    }
}

/// The `X-Organization-Id` header, for the API documentation.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct OrgHeader {
    /// The organization the request acts in.
    #[param(rename = "X-Organization-Id")]
    x_organization_id: Uuid,
}

impl FromRequestParts<App> for OrgCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        // Authentication comes first: no token and no header is a 401.
        let user = AuthUser::from_request_parts(parts, state).await?;
        let org_id = parts
            .headers
            .get("x-organization-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v.trim()).ok())
            .ok_or_else(|| {
                AppError::bad_request(
                    "organization_required",
                    "the X-Organization-Id header must name an organization (a UUID)",
                )
            })?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        OrgCtx::of_member(state, org_id, user.user_id, ip).await
    }
}
