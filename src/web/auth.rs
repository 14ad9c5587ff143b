//! Sign in, register, sign out and the organization switcher.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::session::{self, Web, WebSession};
use super::view::{self, FormErrors};
use super::{Form, secure, see_other, see_other_setting};
use crate::app::App;
use crate::error::AppError;
use crate::services::auth::ClientIp;
use crate::services::auth::accounts::{RegisterInput, register_account, sign_in};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    next: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    email: &'a str,
    next: &'a str,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(Extension(web): Extension<WebSession>, Query(q): Query<NextQuery>) -> Response {
    if web.session.is_some() {
        return see_other(&view::safe_next(q.next.as_deref()));
    }
    let next = view::safe_next(q.next.as_deref());
    view::render(
        StatusCode::OK,
        &LoginPage {
            csrf: &web.csrf,
            email: "",
            next: &next,
            error: None,
        },
    )
}

pub async fn login(
    State(state): State<App>,
    Extension(web): Extension<WebSession>,
    headers: HeaderMap,
    ip: ClientIp,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = view::safe_next(Some(&form.next));
    let signed_in = async {
        let (mut tx, user) = sign_in(&state, &form.email, form.password.clone(), ip).await?;
        let cookie = session::start(tx.exec(), &state, user.id, None, secure(&state, &headers)).await?;
        tx.commit().await?;
        Ok::<_, AppError>(cookie)
    }
    .await;
    match signed_in {
        Ok(cookie) => see_other_setting(&next, cookie),
        Err(e) => view::render(
            e.status,
            &LoginPage {
                csrf: &web.csrf,
                email: &form.email,
                next: &next,
                error: Some(e.detail.to_string()),
            },
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisterForm {
    name: String,
    email: String,
    password: String,
    organization_name: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    csrf: &'a str,
    form: &'a RegisterForm,
    errors: FormErrors,
}

pub async fn register_page(Extension(web): Extension<WebSession>) -> Response {
    if web.session.is_some() {
        return see_other("/");
    }
    view::render(
        StatusCode::OK,
        &RegisterPage {
            csrf: &web.csrf,
            form: &RegisterForm::default(),
            errors: FormErrors::default(),
        },
    )
}

pub async fn register(
    State(state): State<App>,
    Extension(web): Extension<WebSession>,
    headers: HeaderMap,
    ip: ClientIp,
    Form(form): Form<RegisterForm>,
) -> Response {
    let input = RegisterInput {
        email: form.email.clone(),
        password: form.password.clone(),
        name: form.name.clone(),
        organization_name: Some(form.organization_name.clone()).filter(|n| !n.trim().is_empty()),
    };
    let registered = async {
        let (mut tx, user) = register_account(&state, ip, input).await?;
        let cookie = session::start(tx.exec(), &state, user.id, None, secure(&state, &headers)).await?;
        tx.commit().await?;
        Ok::<_, AppError>(cookie)
    }
    .await;
    match registered {
        Ok(cookie) => see_other_setting("/", cookie),
        Err(e) => view::render(
            e.status,
            &RegisterPage {
                csrf: &web.csrf,
                form: &form,
                errors: FormErrors::from_api(&e),
            },
        ),
    }
}

pub async fn logout(State(state): State<App>, headers: HeaderMap) -> Response {
    match session::end(&state, &headers, secure(&state, &headers)).await {
        Ok(Some(cookie)) => see_other_setting("/login", cookie),
        Ok(None) => see_other("/login"),
        Err(e) => view::error_page(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SwitchForm {
    organization_id: String,
}

/// Makes another of the user's organizations the current one.
pub async fn switch_organization(
    State(state): State<App>,
    web: Web,
    headers: HeaderMap,
    Form(form): Form<SwitchForm>,
) -> Response {
    let Some(org) = Uuid::parse_str(form.organization_id.trim())
        .ok()
        .filter(|id| web.organizations.iter().any(|o| o.id == *id))
    else {
        return view::error_page(&AppError::not_found());
    };
    match session::set_organization(&state, &headers, org).await {
        Ok(()) => see_other("/"),
        Err(e) => view::error_page(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AcceptForm {
    name: String,
    password: String,
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    csrf: &'a str,
    token: &'a str,
    organization: String,
    email: String,
    role: String,
    given_name: &'a str,
    errors: FormErrors,
}

/// The page of an invitation link: who invites whom, and the form to accept
/// (a new account's name and password, or an existing account's password).
pub async fn invite_page(
    State(state): State<App>,
    Extension(web): Extension<WebSession>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    invite_view(&state, &web, &token, "", FormErrors::default(), StatusCode::OK).await
}

async fn invite_view(
    state: &App,
    web: &WebSession,
    token: &str,
    name: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    match crate::services::orgs::invitations::preview(state, token).await {
        Ok(p) => view::render(
            status,
            &InvitePage {
                csrf: &web.csrf,
                token,
                organization: p.organization_name,
                email: p.email,
                role: p.role.to_string(),
                given_name: name,
                errors,
            },
        ),
        Err(e) => view::error_page(&e),
    }
}

pub async fn accept_invite(
    State(state): State<App>,
    Extension(web): Extension<WebSession>,
    headers: HeaderMap,
    ip: ClientIp,
    axum::extract::Path(token): axum::extract::Path<String>,
    Form(form): Form<AcceptForm>,
) -> Response {
    let input = crate::services::orgs::invitations::AcceptInvitation {
        name: Some(form.name.clone()).filter(|n| !n.trim().is_empty()),
        password: form.password.clone(),
    };
    let accepted = async {
        let (mut tx, user, org) = crate::services::orgs::invitations::accept(&state, ip, &token, input).await?;
        let cookie = session::start(tx.exec(), &state, user.id, Some(org), secure(&state, &headers)).await?;
        tx.commit().await?;
        Ok::<_, AppError>(cookie)
    }
    .await;
    match accepted {
        Ok(cookie) => see_other_setting("/", cookie),
        Err(e) if e.status == StatusCode::GONE || e.status.is_server_error() => view::error_page(&e),
        Err(e) => invite_view(&state, &web, &token, &form.name, FormErrors::from_api(&e), e.status).await,
    }
}
