//! Web sessions: an opaque token in an HttpOnly, SameSite=Lax cookie; the
//! server keeps its hash, the user's current organization and the session's
//! CSRF token. Visitors without a session get a CSRF cookie of their own
//! (double submit) so the sign-in and register forms are protected too.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult};
use crate::run;
use crate::services::auth::ClientIp;
use crate::services::auth::queries::{self as users, UserRow};
use crate::services::auth::tokens::{hash_token, new_opaque_token};
use crate::services::orgs::Actor;
use crate::services::orgs::{OrgCtx, OrganizationEntry, queries as orgs};

pub const SESSION_COOKIE: &str = "crm_session";
const CSRF_COOKIE: &str = "crm_csrf";

/// A stored session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// The SHA-256 of the cookie's token (what the table is keyed by).
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// What [`super::guard`] learned about the request: the session (if signed
/// in) and the CSRF token its forms must carry.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub session: Option<SessionRow>,
    /// The token forms carry: the session's, or the visitor's cookie.
    pub csrf: String,
    /// The visitor had no CSRF cookie: one is set on the response.
    fresh_csrf: bool,
}

/// Reads the cookies of a request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The browser's time zone, which the script keeps in the `tz` cookie
/// (`Europe%2FParis`); UTC when it has not told yet or names none we know.
pub fn browser_zone(headers: &HeaderMap) -> chrono_tz::Tz {
    cookie(headers, "tz")
        .map(|v| {
            v.replace("%2F", "/")
                .replace("%2f", "/")
                .replace("%2B", "+")
                .replace("%2b", "+")
        })
        .and_then(|name| name.parse().ok())
        .unwrap_or(chrono_tz::Tz::UTC)
}

fn random_token() -> String {
    new_opaque_token().0
}

/// The session of a request's cookie, if it is valid.
pub async fn load(state: &App, headers: &HeaderMap) -> AppResult<WebSession> {
    let session = match cookie(headers, SESSION_COOKIE) {
        Some(token) if !token.is_empty() => {
            let mut conn = state.db.read().await?;
            find(conn.exec(), &hash_token(token)).await?
        }
        _ => None,
    };
    Ok(match session {
        Some(s) => WebSession {
            csrf: s.csrf_token.clone(),
            session: Some(s),
            fresh_csrf: false,
        },
        None => match cookie(headers, CSRF_COOKIE).filter(|t| t.len() >= 32 && t.len() <= 128) {
            Some(token) => WebSession {
                session: None,
                csrf: token.to_string(),
                fresh_csrf: false,
            },
            None => WebSession {
                session: None,
                csrf: random_token(),
                fresh_csrf: true,
            },
        },
    })
}

impl WebSession {
    /// The request carries this session's CSRF token, in the `X-CSRF-Token`
    /// header (scripts) or the `_csrf` field of a form.
    pub fn csrf_matches(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let sent = match headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
            Some(value) => Some(value.to_string()),
            None => form_urlencoded_field(body, "_csrf"),
        };
        sent.is_some_and(|sent| constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()))
    }

    /// The `Set-Cookie` of a visitor's new CSRF token.
    pub fn new_csrf_cookie(&self, secure: bool) -> Option<HeaderValue> {
        if !self.fresh_csrf {
            return None;
        }
        cookie_header(CSRF_COOKIE, &self.csrf, "Strict", None, secure)
    }
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_html_form::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `name=value; Path=/; HttpOnly; SameSite=…` (`max_age` `Some(0)` deletes it).
fn cookie_header(name: &str, value: &str, same_site: &str, max_age: Option<i64>, secure: bool) -> Option<HeaderValue> {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).ok()
}

async fn find(c: Exec<'_>, token_hash: &[u8]) -> Result<Option<SessionRow>, sqlx::Error> {
    let row: Option<SessionRow> = run!(c, conn => sqlx::query_as(
        "SELECT token_hash, user_id, organization_id, csrf_token, expires_at FROM web_sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await)?;
    Ok(row.filter(|s| s.expires_at > crate::db::now()))
}

/// Starts a session for `user` (in the caller's transaction) and answers the
/// `Set-Cookie` that carries it.
pub async fn start(
    c: Exec<'_>,
    state: &App,
    user: Uuid,
    organization: Option<Uuid>,
    secure: bool,
) -> AppResult<HeaderValue> {
    let (token, hash) = new_opaque_token();
    let now = crate::db::now();
    let ttl = state.config.refresh_ttl;
    let expires_at = now + ttl;
    run!(c, conn => sqlx::query(
        "INSERT INTO web_sessions (token_hash, user_id, organization_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&hash)
    .bind(user)
    .bind(organization)
    .bind(random_token())
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    cookie_header(SESSION_COOKIE, &token, "Lax", Some(ttl.as_secs() as i64), secure)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("session cookie is not a header value")))
}

/// Ends the session of this request; answers the `Set-Cookie` that clears it.
pub async fn end(state: &App, headers: &HeaderMap, secure: bool) -> AppResult<Option<HeaderValue>> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let mut tx = state.db.begin().await?;
        run!(tx.exec(), c => sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(hash_token(token))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
    }
    Ok(cookie_header(SESSION_COOKIE, "", "Lax", Some(0), secure))
}

/// Makes `organization` the session's current one.
pub async fn set_organization(state: &App, headers: &HeaderMap, organization: Uuid) -> AppResult<()> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(());
    };
    let mut tx = state.db.begin().await?;
    run!(tx.exec(), c => sqlx::query("UPDATE web_sessions SET organization_id = $2 WHERE token_hash = $1")
        .bind(hash_token(token))
        .bind(organization)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(())
}

/// A signed-in member working in an organization: what every app page needs.
/// Without a session the browser is sent to the sign-in page.
pub struct Web {
    pub ctx: OrgCtx,
    pub user: UserRow,
    pub organizations: Vec<OrganizationEntry>,
    pub csrf: String,
    /// Path and query of this page (where sign-in returns to).
    pub here: String,
    /// The hash of this browser's session token (a password change keeps
    /// this session and ends the others).
    pub session_hash: Vec<u8>,
}

impl FromRequestParts<App> for Web {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, Self::Rejection> {
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        let web = parts.extensions.get::<WebSession>().cloned();
        let Some(WebSession {
            session: Some(session),
            csrf,
            ..
        }) = web
        else {
            let next = serde_html_form::to_string([("next", here.as_str())]).unwrap_or_default();
            return Err(Redirect::to(&format!("/login?{next}")).into_response());
        };
        let ip = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        resolve(state, session, csrf, here, ip)
            .await
            .map_err(|e| super::view::error_page(&e))
    }
}

async fn resolve(state: &App, session: SessionRow, csrf: String, here: String, ip: ClientIp) -> AppResult<Web> {
    let mut conn = state.db.read().await?;
    let user = users::find_user(conn.exec(), session.user_id)
        .await?
        .ok_or_else(AppError::invalid_token)?;
    if let Some(zone) = user.time_zone.as_deref().and_then(|z| z.parse().ok()) {
        super::view::set_reader_zone(zone);
    }
    let organizations = orgs::user_organizations(conn.exec(), user.id).await?;
    let current = session
        .organization_id
        .filter(|id| organizations.iter().any(|o| o.id == *id))
        .or_else(|| organizations.first().map(|o| o.id))
        .ok_or_else(|| {
            AppError::new(
                axum::http::StatusCode::FORBIDDEN,
                "not_a_member",
                "you are not a member of any organization; ask for an invitation",
            )
        })?;
    let (role, visibility, default_country) = orgs::membership(conn.exec(), current, user.id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Web {
        ctx: OrgCtx {
            user_id: user.id,
            org_id: current,
            role,
            visibility,
            actor: Actor::User(user.id),
            ip: ip.0,
            default_country,
        },
        user,
        organizations,
        csrf,
        here,
        session_hash: session.token_hash,
    })
}
