//! The signed-in user's account page: name, time zone and password, through
//! the same service as the API's `/auth/me` and `/auth/password`; and the
//! "Forgot password?" page of the sign-in form.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::Web;
use super::view::{self, FormErrors, Shell};
use super::{Form, see_other};
use crate::app::App;
use crate::services::auth::profile::{self, PasswordChange, ProfilePatch};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    shell: Shell,
    name: String,
    email: String,
    /// The chosen zone; empty: the browser's.
    time_zone: String,
    browser_zone: String,
    zones: Vec<&'static str>,
    profile_errors: FormErrors,
    password_errors: FormErrors,
    password_changed: bool,
}

impl AccountPage {
    fn new(web: &Web, browser_zone: String) -> Self {
        AccountPage {
            shell: Shell::new(web, "account", "Your account"),
            name: web.user.name.clone(),
            email: web.user.email.clone(),
            time_zone: web.user.time_zone.clone().unwrap_or_default(),
            browser_zone,
            zones: chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect(),
            profile_errors: FormErrors::default(),
            password_errors: FormErrors::default(),
            password_changed: false,
        }
    }
}

/// The zone the browser reported (the `tz` cookie), for the select's
/// "this browser's" choice.
fn browser_zone(headers: &axum::http::HeaderMap) -> String {
    super::session::browser_zone(headers).name().to_string()
}

pub async fn page(web: Web, headers: axum::http::HeaderMap) -> Response {
    let mut page = AccountPage::new(&web, browser_zone(&headers));
    page.password_changed = Shell::says(&web, "password=changed");
    view::render(StatusCode::OK, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    name: String,
    time_zone: String,
}

pub async fn save(
    State(state): State<App>,
    web: Web,
    headers: axum::http::HeaderMap,
    Form(form): Form<ProfileForm>,
) -> Response {
    let patch = ProfilePatch {
        name: Some(form.name.clone()),
        time_zone: Some(view::filled(&form.time_zone)),
    };
    match profile::update(&state, web.user.id, patch).await {
        Ok(_) => see_other("/account?saved=1"),
        Err(e) if e.status.is_client_error() => {
            let mut page = AccountPage::new(&web, browser_zone(&headers));
            page.name = form.name;
            page.time_zone = form.time_zone;
            page.profile_errors = FormErrors::from_api(&e);
            view::render(e.status, &page)
        }
        Err(e) => view::error_page(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<App>,
    web: Web,
    headers: axum::http::HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let input = PasswordChange {
        current_password: form.current_password,
        new_password: form.new_password,
    };
    match profile::change_password(&state, web.user.id, input, Some(&web.session_hash)).await {
        Ok(()) => see_other("/account?password=changed"),
        Err(e) if e.status.is_client_error() => {
            let mut page = AccountPage::new(&web, browser_zone(&headers));
            page.password_errors = FormErrors::from_api(&e);
            view::render(e.status, &page)
        }
        Err(e) => view::error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage;

/// `GET /forgot-password`: no email is sent yet; the page says whom to ask.
pub async fn forgot_password() -> Response {
    view::render(StatusCode::OK, &ForgotPage)
}
