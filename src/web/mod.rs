//! The server-rendered web app (ui.md), served by the same binary as the API.
//!
//! Pages are askama templates (checked at compile time, escaped by default).
//! Every page and form calls the same service functions as the API
//! (`contacts::create`, `deals::update`, …), so roles, transitions, visibility
//! and validation hold identically; an [`AppError`] is shown next to the field
//! or action it is about.
//!
//! Every web request passes [`guard`]: it loads the session from its cookie,
//! checks the CSRF token of every request that changes data, and adds the
//! security headers (a Content-Security-Policy without inline scripts or
//! styles, `nosniff`, `Referrer-Policy`, `frame-ancestors 'none'`).

mod account;
mod assets;
mod auth;
mod board;
mod companies;
mod contacts;
mod dashboard;
mod deals;
mod imports;
mod leads;
mod merge;
mod pickers;
mod properties;
mod records;
mod related;
mod session;
mod settings;
mod tasks;
mod view;
mod views;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::App;
use crate::http::BODY_LIMIT;
use crate::services::companies::Company;
use crate::services::contacts::Contact;
use crate::services::deals::Deal;
use crate::services::leads::Lead;
use crate::services::properties::Property;
pub use session::WebSession;

/// The Content-Security-Policy of every page: scripts and styles only from
/// our own files, no inline code, no framing, forms only to ourselves.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

pub fn router(state: App) -> Router<App> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/register", get(auth::register_page).post(auth::register))
        .route("/logout", post(auth::logout))
        .route("/forgot-password", get(account::forgot_password))
        .route("/account", get(account::page).post(account::save))
        .route("/account/password", post(account::change_password))
        .route("/organization", post(auth::switch_organization))
        .route("/invite/{token}", get(auth::invite_page).post(auth::accept_invite))
        .route(
            "/contacts",
            get(records::list::<Contact>).post(records::create::<Contact>),
        )
        .route("/contacts.csv", get(records::export::<Contact>))
        .route("/contacts/bulk", post(records::bulk::<Contact>))
        .route("/contacts/new", get(records::new_page::<Contact>))
        .route("/contacts/choices", get(pickers::contacts))
        .route(
            "/contacts/{id}",
            get(records::show::<Contact>).post(records::update::<Contact>),
        )
        .route("/contacts/{id}/delete", post(records::delete::<Contact>))
        .route("/contacts/{id}/comments", post(records::comment::<Contact>))
        .route("/contacts/{id}/tasks", post(tasks::add_to_contact))
        .route(
            "/contacts/{id}/merge",
            get(merge::page::<Contact>).post(merge::merge::<Contact>),
        )
        .route("/contacts/duplicates", get(merge::duplicates::<Contact>))
        .route(
            "/properties",
            get(records::list::<Property>).post(records::create::<Property>),
        )
        .route("/properties.csv", get(records::export::<Property>))
        .route("/properties/bulk", post(records::bulk::<Property>))
        .route("/properties/new", get(records::new_page::<Property>))
        .route("/properties/cards", get(properties::cards))
        .route(
            "/properties/{id}",
            get(records::show::<Property>).post(records::update::<Property>),
        )
        .route("/properties/{id}/delete", post(records::delete::<Property>))
        .route("/leads", get(records::list::<Lead>).post(records::create::<Lead>))
        .route("/leads.csv", get(records::export::<Lead>))
        .route("/leads/bulk", post(records::bulk::<Lead>))
        .route("/leads/new", get(records::new_page::<Lead>))
        .route("/leads/today", get(leads::today))
        .route("/leads/{id}", get(records::show::<Lead>).post(records::update::<Lead>))
        .route("/leads/{id}/delete", post(records::delete::<Lead>))
        .route("/leads/{id}/comments", post(records::comment::<Lead>))
        .route("/leads/{id}/convert", post(leads::convert))
        .route(
            "/companies",
            get(records::list::<Company>).post(records::create::<Company>),
        )
        .route("/companies.csv", get(records::export::<Company>))
        .route("/companies/bulk", post(records::bulk::<Company>))
        .route("/companies/new", get(records::new_page::<Company>))
        .route("/companies/choices", get(pickers::companies))
        .route(
            "/companies/{id}",
            get(records::show::<Company>).post(records::update::<Company>),
        )
        .route("/companies/{id}/delete", post(records::delete::<Company>))
        .route(
            "/companies/{id}/merge",
            get(merge::page::<Company>).post(merge::merge::<Company>),
        )
        .route("/companies/duplicates", get(merge::duplicates::<Company>))
        .route("/deals", get(records::list::<Deal>).post(records::create::<Deal>))
        .route("/deals.csv", get(records::export::<Deal>))
        .route("/deals/bulk", post(records::bulk::<Deal>))
        .route("/tasks/bulk", post(records::bulk::<crate::services::tasks::Task>))
        .route("/deals/new", get(records::new_page::<Deal>))
        .route("/deals/{id}", get(records::show::<Deal>).post(records::update::<Deal>))
        .route("/deals/{id}/delete", post(records::delete::<Deal>))
        .route("/deals/{id}/status", post(deals::set_status))
        .route("/deals/{id}/reopen", post(deals::reopen))
        .route("/deals/{id}/stage", post(deals::move_stage))
        .route("/deals/{id}/move", post(deals::move_stage_form))
        .route("/deals/{id}/comments", post(records::comment::<Deal>))
        .route("/deals/{id}/tasks", post(tasks::add_to_deal))
        .route("/board", get(board::page))
        .route("/tasks", get(tasks::list).post(tasks::create))
        .route("/tasks/{id}", get(tasks::show).post(tasks::update))
        .route("/tasks/{id}/done", post(tasks::done))
        .route("/tasks/{id}/delete", post(tasks::delete))
        .route(
            "/settings",
            get(settings::organization).post(settings::save_organization),
        )
        .route("/settings/members", get(settings::members_list))
        .route("/settings/members/{id}/role", post(settings::change_role))
        .route("/settings/members/{id}/remove", post(settings::remove_member))
        .route("/settings/members/{id}/password", post(settings::set_member_password))
        .route("/settings/invitations", post(settings::invite))
        .route("/settings/invitations/{id}/revoke", post(settings::revoke))
        .route(
            "/settings/pipelines",
            get(settings::pipelines_list).post(settings::create_pipeline),
        )
        .route("/settings/pipelines/{id}", post(settings::update_pipeline))
        .route("/settings/audit", get(settings::audit_log))
        .route("/settings/forms", get(settings::forms_list).post(settings::create_form))
        .route("/settings/forms/{id}/delete", post(settings::delete_form))
        .route(
            "/settings/custom-fields",
            get(settings::custom_fields_list).post(settings::create_custom_field),
        )
        .route("/settings/custom-fields/{id}", post(settings::update_custom_field))
        .route("/views", post(views::save))
        .route("/views/{id}/delete", post(views::delete))
        .route(
            "/settings/custom-fields/{id}/delete",
            post(settings::delete_custom_field),
        )
        .route("/settings/jobs", get(settings::jobs))
        .route(
            "/imports",
            get(imports::page)
                .post(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(crate::api::imports::UPLOAD_LIMIT)),
        )
        .route("/imports/conflicts", get(imports::conflicts))
        .route("/imports/conflicts/resolve", post(imports::resolve))
        .route("/imports/{id}", get(imports::show))
        .route("/static/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .layer(middleware::from_fn_with_state(state, guard))
}

/// Session, CSRF and security headers for every web request.
async fn guard(State(state): State<App>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/static/") || request.uri().path() == "/favicon.ico" {
        // Our stylesheet and script: no session to look up.
        return with_headers(next.run(request).await);
    }
    let (mut parts, body) = request.into_parts();
    let web = match session::load(&state, &parts.headers).await {
        Ok(web) => web,
        Err(e) => return with_headers(view::error_page(&e)),
    };
    let body = if parts.method == Method::GET || parts.method == Method::HEAD {
        body
    } else if crate::http::uploads(&parts.method, parts.uri.path()) {
        // A file upload streams to disk; its handler checks the form's
        // `_csrf`, which comes first, before it reads the file
        // (`imports::upload`).
        body
    } else {
        let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
            return with_headers(view::plain_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large.",
            ));
        };
        if !web.csrf_matches(&parts.headers, &bytes) {
            return with_headers(view::plain_error(
                StatusCode::FORBIDDEN,
                "This form has expired. Go back, reload the page and try again.",
            ));
        }
        Body::from(bytes)
    };
    let new_cookie = web.new_csrf_cookie(secure(&state, &parts.headers));
    parts.extensions.insert(web);
    let zone = session::browser_zone(&parts.headers);
    let mut response = view::in_reader_zone(zone, next.run(Request::from_parts(parts, body))).await;
    if let Some(cookie) = new_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    with_headers(response)
}

fn with_headers(response: Response) -> Response {
    let mut response = html_not_found(response);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show private data: never kept by shared caches or the back button.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A 404 the shared extractors answered as a problem document (a path id
/// that is not a UUID) becomes the web app's own page.
fn html_not_found(response: Response) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem && response.status() == StatusCode::NOT_FOUND {
        view::error_page(&crate::error::AppError::not_found())
    } else {
        response
    }
}

/// Compares a form's CSRF token with the session's in constant time (the
/// upload's handler reads it from its multipart form).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    session::constant_time_eq(a, b)
}

/// The web app's 404 page for an address no route serves (outside `/api`).
pub fn not_found_page() -> Response {
    with_headers(view::error_page(&crate::error::AppError::not_found()))
}

/// Cookies get `Secure` when the server is reached over HTTPS: its public URL
/// says so, or the proxy in front of it does.
fn secure(state: &App, headers: &HeaderMap) -> bool {
    state.config.public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// A redirect after a form (303: the browser follows with GET).
fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response()
}

/// A redirect that also sets (or clears) the session cookie.
fn see_other_setting(location: &str, cookie: HeaderValue) -> Response {
    let mut response = see_other(location);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// A submitted form (`application/x-www-form-urlencoded`). Form structs give
/// every field a default, so a missing field is empty and its service call
/// names it; a body that is not a form at all is a 400 page.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| view::plain_error(StatusCode::BAD_REQUEST, "The form could not be read."))?;
        // NUL cannot be stored (see http::extract::NUL_MESSAGE).
        if crate::http::extract::nul_in_query(&String::from_utf8_lossy(&bytes)).is_some() {
            return Err(view::plain_error(
                StatusCode::BAD_REQUEST,
                "The form holds a NUL character, which cannot be stored.",
            ));
        }
        serde_html_form::from_bytes(&bytes)
            .map(Form)
            .map_err(|_| view::plain_error(StatusCode::BAD_REQUEST, "The form could not be read."))
    }
}

/// The query string of a list page (repeatable keys such as `tag` allowed).
/// Values are checked by the service call, which names a bad one.
pub struct ListQuery<T>(pub T, pub Vec<(String, String)>);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S> for ListQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let bad = |_| view::plain_error(StatusCode::BAD_REQUEST, "The address has an unreadable query.");
        if crate::http::extract::nul_in_query(raw).is_some() {
            return Err(view::plain_error(
                StatusCode::BAD_REQUEST,
                "The address holds a NUL character.",
            ));
        }
        let pairs: Vec<(String, String)> = serde_html_form::from_str(raw).map_err(bad)?;
        // The tag box takes several tags, comma separated: each one filters.
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .flat_map(|(k, v)| match k.as_str() {
                "tag" if v.contains(',') => v
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| (k.clone(), t.to_string()))
                    .collect(),
                _ => vec![(k, v)],
            })
            .collect();
        let expanded = serde_html_form::to_string(&pairs)
            .map_err(|_| view::plain_error(StatusCode::BAD_REQUEST, "The address has an unreadable query."))?;
        let query = serde_html_form::from_str(&expanded).map_err(bad)?;
        Ok(ListQuery(query, pairs))
    }
}
