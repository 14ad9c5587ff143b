//! Settings (admin and owner): the organization, members, invitations,
//! pipelines and stages, and the audit log. Each page calls the service the
//! API calls; a member who opens them gets the API's 403 as a page.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::session::Web;
use super::view::{self, FormErrors, ListUrls, Shell};
use super::{Form, ListQuery, see_other};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::http::extract::IdPath;
use crate::services::audit::{self, AuditQuery};
use crate::services::idempotency::Idempotency;
use crate::services::jobs::{self, JobQuery};
use crate::services::orgs::invitations::{self, CreateInvitation};
use crate::services::orgs::organizations::UpdateOrganization;
use crate::services::orgs::{self, Role, members};
use crate::services::pipelines::{self, CreatePipeline, StageInput, UpdatePipeline};
use crate::services::records::IfMatch;

/// The settings pages share a sub-navigation; `tab` names the current one.
fn shell(web: &Web, tab: &'static str) -> Shell {
    let mut shell = Shell::new(web, "settings", format!("Settings: {tab}"));
    shell.tab = tab;
    shell
}

fn admin_only(web: &Web) -> AppResult<()> {
    web.ctx.require(Role::Admin)
}

fn page<T: Template>(result: AppResult<T>) -> Response {
    match result {
        Ok(page) => view::render(StatusCode::OK, &page),
        Err(e) => view::error_page(&e),
    }
}

// ----- Organization -------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrganizationForm {
    name: String,
    default_currency: String,
    default_country: String,
    member_visibility: String,
    /// One a line.
    lost_reasons: String,
}

#[derive(Template)]
#[template(path = "settings_organization.html")]
struct OrganizationPage {
    shell: Shell,
    form: OrganizationForm,
    errors: FormErrors,
}

async fn organization_form(state: &App, web: &Web) -> AppResult<OrganizationForm> {
    admin_only(web)?;
    let mut conn = state.db.read().await?;
    let org = orgs::queries::find_organization(conn.exec(), web.ctx.org_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(OrganizationForm {
        name: org.name,
        default_currency: org.default_currency,
        default_country: org.default_country,
        member_visibility: org.member_visibility,
        lost_reasons: org.lost_reasons.0.join("\n"),
    })
}

pub async fn organization(State(state): State<App>, web: Web) -> Response {
    page(organization_form(&state, &web).await.map(|form| OrganizationPage {
        shell: shell(&web, "organization"),
        form,
        errors: FormErrors::default(),
    }))
}

pub async fn save_organization(State(state): State<App>, web: Web, Form(form): Form<OrganizationForm>) -> Response {
    let input = UpdateOrganization {
        name: Some(form.name.clone()),
        default_currency: Some(Some(form.default_currency.clone())),
        default_country: Some(Some(form.default_country.clone())),
        member_visibility: Some(Some(form.member_visibility.clone())),
        // One reason a line; blank lines are no reason.
        lost_reasons: Some(Some(
            form.lost_reasons
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        )),
    };
    match orgs::organizations::update(&state, &web.ctx, IfMatch(None), input).await {
        Ok(_) => see_other("/settings?saved=1"),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => view::render(
            e.status,
            &OrganizationPage {
                shell: shell(&web, "organization"),
                errors: FormErrors::from_api(&e),
                form,
            },
        ),
        Err(e) => view::error_page(&e),
    }
}

// ----- Members and invitations -------------------------------------------

pub struct MemberRow {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub joined: String,
}

pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "settings_members.html")]
struct MembersPage {
    shell: Shell,
    /// A temporary password was just set (the address says `password=set`).
    password_set: bool,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    errors: FormErrors,
    invite_email: String,
    invite_role: String,
    /// The link of the invitation just created (shown once).
    accept_url: Option<String>,
    roles: Vec<&'static str>,
}

async fn members_page(
    state: &App,
    web: &Web,
    errors: FormErrors,
    accept_url: Option<String>,
    invite_email: String,
) -> AppResult<MembersPage> {
    admin_only(web)?;
    // The role of a refused invitation as chosen, else the usual one.
    let invite_role = match errors.kept("role") {
        "" => "member".to_string(),
        typed => typed.to_string(),
    };
    let list = {
        let mut conn = state.db.read().await?;
        orgs::queries::list_members(conn.exec(), web.ctx.org_id).await?
    };
    let pending = invitations::pending(state, &web.ctx).await?;
    Ok(MembersPage {
        password_set: Shell::says(web, "password=set"),
        shell: shell(web, "members"),
        members: list
            .into_iter()
            .map(|m| MemberRow {
                user_id: m.user_id.to_string(),
                name: m.name,
                email: m.email,
                role: m.role,
                joined: view::time(&m.joined_at),
            })
            .collect(),
        invitations: pending
            .into_iter()
            .map(|i| InvitationRow {
                id: i.id.to_string(),
                email: i.email,
                role: i.role,
                expires: view::time(&i.expires_at),
            })
            .collect(),
        errors,
        invite_email,
        invite_role,
        accept_url,
        roles: vec!["member", "manager", "admin", "owner"],
    })
}

pub async fn members_list(State(state): State<App>, web: Web) -> Response {
    page(members_page(&state, &web, FormErrors::default(), None, String::new()).await)
}

/// Shows the members page again with the error of a refused action (and,
/// for a refused invitation, the email and role as typed).
async fn members_refused(state: &App, web: &Web, e: AppError, invite: Option<&InviteForm>) -> Response {
    if !e.status.is_client_error() || e.status == StatusCode::FORBIDDEN && admin_only(web).is_err() {
        return view::error_page(&e);
    }
    let status = e.status;
    let mut errors = FormErrors::from_api(&e);
    if let Some(form) = invite {
        errors = errors.keep("role", &form.role);
    }
    let email = invite.map(|f| f.email.clone()).unwrap_or_default();
    match members_page(state, web, errors, None, email).await {
        Ok(page) => view::render(status, &page),
        Err(e) => view::error_page(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleForm {
    role: String,
}

fn parse_role(role: &str) -> AppResult<Role> {
    role.parse()
        .map_err(|_| AppError::field("role", "must be owner, admin, manager or member"))
}

pub async fn change_role(
    State(state): State<App>,
    web: Web,
    IdPath(user): IdPath,
    Form(form): Form<RoleForm>,
) -> Response {
    let result = match parse_role(&form.role) {
        Ok(role) => members::set_role(&state, &web.ctx, user, role).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other("/settings/members"),
        Err(e) => members_refused(&state, &web, e, None).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordForm {
    password: String,
}

/// A temporary password for a member who forgot theirs.
pub async fn set_member_password(
    State(state): State<App>,
    web: Web,
    IdPath(user): IdPath,
    Form(form): Form<PasswordForm>,
) -> Response {
    let input = crate::services::auth::profile::TemporaryPassword {
        password: form.password,
    };
    match crate::services::auth::profile::set_temporary(&state, &web.ctx, user, input).await {
        Ok(()) => see_other("/settings/members?password=set"),
        Err(e) => members_refused(&state, &web, e, None).await,
    }
}

pub async fn remove_member(State(state): State<App>, web: Web, IdPath(user): IdPath) -> Response {
    let leaving = user == web.ctx.user_id;
    match members::remove(&state, &web.ctx, user).await {
        Ok(()) if leaving => see_other("/"),
        Ok(()) => see_other("/settings/members"),
        Err(e) => members_refused(&state, &web, e, None).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    email: String,
    role: String,
}

pub async fn invite(State(state): State<App>, web: Web, Form(form): Form<InviteForm>) -> Response {
    let result = match parse_role(&form.role) {
        Ok(role) => {
            invitations::create(
                &state,
                &web.ctx,
                CreateInvitation {
                    email: form.email.clone(),
                    role,
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(created) => page(
            members_page(
                &state,
                &web,
                FormErrors::default(),
                Some(created.accept_url),
                String::new(),
            )
            .await,
        ),
        Err(e) => members_refused(&state, &web, e, Some(&form)).await,
    }
}

pub async fn revoke(State(state): State<App>, web: Web, IdPath(id): IdPath) -> Response {
    match invitations::revoke(&state, &web.ctx, id).await {
        Ok(()) => see_other("/settings/members"),
        Err(e) => members_refused(&state, &web, e, None).await,
    }
}

// ----- Pipelines ----------------------------------------------------------

pub struct PipelineRow {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    /// One `key: Name` line per stage (before `closed`), as the form edits them.
    pub stages_text: String,
    pub stage_names: String,
}

#[derive(Template)]
#[template(path = "settings_pipelines.html")]
struct PipelinesPage {
    shell: Shell,
    pipelines: Vec<PipelineRow>,
    errors: FormErrors,
    /// Which form the errors belong to: a pipeline id, or `new`.
    errors_for: String,
}

async fn pipelines_page(state: &App, web: &Web, errors: FormErrors, errors_for: String) -> AppResult<PipelinesPage> {
    admin_only(web)?;
    let all = {
        let mut conn = state.db.read().await?;
        pipelines::all(conn.exec(), web.ctx.org_id).await?
    };
    Ok(PipelinesPage {
        shell: shell(web, "pipelines"),
        pipelines: all
            .iter()
            .map(|p| PipelineRow {
                id: p.id.to_string(),
                name: p.name.clone(),
                is_default: p.is_default,
                stages_text: p
                    .stages
                    .0
                    .iter()
                    .filter(|s| s.key != pipelines::CLOSED)
                    .map(|s| format!("{}: {}", s.key, s.name))
                    .collect::<Vec<_>>()
                    .join("\n"),
                stage_names: p
                    .stages
                    .0
                    .iter()
                    .map(|s| s.name.clone())
                    .collect::<Vec<_>>()
                    .join(" → "),
            })
            .collect(),
        errors,
        errors_for,
    })
}

pub async fn pipelines_list(State(state): State<App>, web: Web) -> Response {
    page(pipelines_page(&state, &web, FormErrors::default(), String::new()).await)
}

/// The pipelines page again, the refused form showing what was typed.
async fn pipelines_refused(state: &App, web: &Web, e: AppError, errors_for: String, typed: &PipelineForm) -> Response {
    if !e.status.is_client_error() || e.status == StatusCode::FORBIDDEN {
        return view::error_page(&e);
    }
    let status = e.status;
    let errors = FormErrors::from_api(&e)
        .keep("name", &typed.name)
        .keep("stages", &typed.stages);
    match pipelines_page(state, web, errors, errors_for).await {
        Ok(page) => view::render(status, &page),
        Err(e) => view::error_page(&e),
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct PipelineForm {
    name: String,
    /// One stage per line: `key: Name` (a line without `:` is its own key).
    stages: String,
    make_default: String,
}

fn stage_inputs(text: &str) -> Vec<StageInput> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (key, name) = line.split_once(':').unwrap_or((line, line));
            StageInput {
                key: key.trim().to_string(),
                name: name.trim().to_string(),
                probability: None,
                position: None,
            }
        })
        .collect()
}

pub async fn create_pipeline(State(state): State<App>, web: Web, Form(form): Form<PipelineForm>) -> Response {
    let form_copy = form.clone();
    let input = CreatePipeline {
        name: form.name,
        stages: stage_inputs(&form.stages),
    };
    match pipelines::create(&state, &web.ctx, &Idempotency::none(), input)
        .await
        .and_then(|c| c.into_new())
    {
        Ok(_) => see_other("/settings/pipelines"),
        Err(e) => pipelines_refused(&state, &web, e, "new".into(), &form_copy).await,
    }
}

pub async fn update_pipeline(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<PipelineForm>,
) -> Response {
    let form_copy = form.clone();
    // Stages the form does not show (`closed`) are kept by `check_stages`.
    let input = UpdatePipeline {
        name: Some(form.name),
        stages: Some(stage_inputs(&form.stages)),
        is_default: (form.make_default == "on").then_some(true),
    };
    match pipelines::update(&state, &web.ctx, id, IfMatch(None), input).await {
        Ok(_) => see_other("/settings/pipelines"),
        Err(e) => pipelines_refused(&state, &web, e, id.to_string(), &form_copy).await,
    }
}

// ----- Audit log ----------------------------------------------------------

pub struct AuditRow {
    pub when: String,
    pub action: String,
    pub actor: String,
    pub target: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "settings_audit.html")]
struct AuditPage {
    shell: Shell,
    rows: Vec<AuditRow>,
    next: Option<String>,
    previous: Option<String>,
}

pub async fn audit_log(
    State(state): State<App>,
    web: Web,
    ListQuery(mut query, pairs): ListQuery<AuditQuery>,
) -> Response {
    query.limit = Some(super::records::PAGE_SIZE.into());
    let urls = ListUrls::new("/settings/audit", &pairs, "");
    let result = async {
        let log = audit::list(&state, &web.ctx, &query).await?;
        let members = view::members(&state, web.ctx.org_id).await?;
        Ok::<_, AppError>((log, members))
    }
    .await;
    let (log, members) = match result {
        Ok(r) => r,
        Err(e) => return view::error_page(&e),
    };
    let rows = log
        .data
        .iter()
        .map(|e| AuditRow {
            when: view::time(&e.created_at),
            action: action_words(&e.action),
            actor: match (e.actor_id, e.details.0["actor"].as_str()) {
                (Some(user), _) => view::member_name(&members, &user),
                (None, Some(actor)) => actor.replace(':', " "),
                (None, None) => String::new(),
            },
            target: match (&e.target_type, e.target_id) {
                (Some(kind), Some(id)) => target_words(kind, id, &e.details.0, &members),
                _ => String::new(),
            },
            details: detail_words(&e.details.0),
        })
        .collect();
    page(Ok(AuditPage {
        shell: shell(&web, "audit"),
        rows,
        next: urls.next(&log.next_cursor),
        previous: urls.previous(),
    }))
}

pub struct JobRow {
    pub created: String,
    pub kind: String,
    pub status: &'static str,
    pub attempts: String,
    pub when: String,
    pub error: String,
}

pub struct StatusFilter {
    pub label: String,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "settings_jobs.html")]
struct JobsPage {
    shell: Shell,
    filters: Vec<StatusFilter>,
    filtered: bool,
    rows: Vec<JobRow>,
    next: Option<String>,
    previous: Option<String>,
}

/// `GET /settings/jobs`: the organization's background jobs (admins), by status.
pub async fn jobs(State(state): State<App>, web: Web, ListQuery(mut query, pairs): ListQuery<JobQuery>) -> Response {
    query.limit = Some(super::records::PAGE_SIZE.into());
    let urls = ListUrls::new("/settings/jobs", &pairs, "");
    let list = match jobs::list(&state, &web.ctx, &query).await {
        Ok(list) => list,
        Err(e) => return view::error_page(&e),
    };
    let chosen = query.status.as_deref().unwrap_or("");
    // "All", then each status the queue has.
    let filters = std::iter::once(("All".to_string(), ""))
        .chain(jobs::JobStatus::ALL.iter().map(|s| {
            let name = s.as_str();
            (format!("{}{}", name[..1].to_uppercase(), &name[1..]), name)
        }))
        .map(|(label, status)| StatusFilter {
            label,
            href: match status {
                "" => "/settings/jobs".into(),
                s => format!("/settings/jobs?status={s}"),
            },
            current: chosen == status,
        })
        .collect();
    let rows = list
        .data
        .iter()
        .map(|j| JobRow {
            created: view::time(&j.created_at),
            kind: job_words(&j.kind),
            status: match j.status.as_str() {
                "queued" if j.attempts > 0 => "waiting to retry",
                "queued" => "queued",
                "running" => "running",
                "succeeded" => "succeeded",
                _ => "dead",
            },
            attempts: format!("{} of {}", j.attempts, j.max_attempts),
            when: match (&j.finished_at, j.status.as_str()) {
                (Some(at), _) => view::time(at),
                (None, "queued") => view::time(&j.run_at),
                _ => String::new(),
            },
            error: j.last_error.clone().unwrap_or_default(),
        })
        .collect();
    page(Ok(JobsPage {
        shell: shell(&web, "jobs"),
        filters,
        filtered: !chosen.is_empty(),
        rows,
        next: urls.next(&list.next_cursor),
        previous: urls.previous(),
    }))
}

/// A job's kind as people say it.
fn job_words(kind: &str) -> String {
    match kind {
        "import" => "CSV import".into(),
        other => other.replace(['.', '_'], " "),
    }
}

/// An audit action as a sentence's verb ("Deleted a contact").
fn action_words(action: &str) -> String {
    let fixed = match action {
        "auth.login" => "Signed in",
        "auth.login_failed" => "Failed to sign in",
        "auth.register" => "Created an account",
        "auth.token_reuse" => "Reused a refresh token (sessions ended)",
        "invitation.revoked" => "Revoked an invitation",
        "member.invited" => "Invited a member",
        "member.joined" => "Joined",
        "member.removed" => "Removed a member",
        "member.role_changed" => "Changed a role",
        "organization.created" => "Created the organization",
        "organization.updated" => "Changed the settings",
        "pipeline.changed" => "Changed a pipeline",
        "deal.reopened" => "Reopened a deal",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    match action.split_once('.') {
        Some((kind, "deleted")) => format!("Deleted a {}", kind.replace('_', " ")),
        _ => action.replace(['.', '_'], " "),
    }
}

/// What an entry is about: a member by name, a record by the name it had,
/// else its kind and the start of its id.
fn target_words(kind: &str, id: Uuid, details: &serde_json::Value, members: &[view::Choice]) -> String {
    let named = ["name", "title", "email"]
        .iter()
        .find_map(|k| details[*k].as_str())
        .map(str::to_string);
    match (kind, named) {
        ("user", _) if members.iter().any(|m| m.id == id.to_string()) => view::member_name(members, &id),
        (_, Some(name)) => format!("{} “{name}”", kind.replace('_', " ")),
        _ => format!("{} {}", kind.replace('_', " "), short(id)),
    }
}

/// Details in words: changes as `field: from → to`, other values as
/// `key: value`.
fn detail_words(details: &serde_json::Value) -> String {
    let Some(map) = details.as_object() else {
        return String::new();
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    };
    let mut parts = Vec::new();
    for (key, value) in map {
        match (key.as_str(), value.as_object()) {
            ("changes", Some(changes)) => {
                for (field, change) in changes {
                    parts.push(format!("{field}: {} → {}", text(&change["from"]), text(&change["to"])));
                }
            }
            ("actor", _) => {}
            _ => parts.push(format!("{key}: {}", text(value))),
        }
    }
    parts.join("; ")
}

fn short(id: Uuid) -> String {
    id.to_string().chars().take(8).collect()
}

// ----- Web forms ----------------------------------------------------------

/// A form as the settings page lists it, with its snippet.
pub struct FormRow {
    pub id: String,
    pub name: String,
    pub fields: String,
    pub address: String,
    /// The HTML to paste into a website (shown as text).
    pub snippet: String,
}

#[derive(Template)]
#[template(path = "settings_forms.html")]
struct FormsPage {
    shell: Shell,
    forms: Vec<FormRow>,
    members: Vec<view::Choice>,
    errors: FormErrors,
    /// The lead custom fields a form may ask for: `(key, label)`.
    lead_fields: Vec<(String, String)>,
}

/// The new-form form: the name always asked; the other fields checked.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct NewForm {
    name: String,
    ask_email: String,
    ask_phone: String,
    ask_company_name: String,
    ask_message: String,
    email_required: String,
    thank_you_url: String,
    source: String,
    default_owner_id: String,
    default_tags: String,
    /// The keys of the lead custom fields to ask for.
    ask_custom: Vec<String>,
}

async fn forms_page(state: &App, web: &Web, errors: FormErrors) -> AppResult<FormsPage> {
    admin_only(web)?;
    let public = state.config.public_url.trim_end_matches('/').to_string();
    let forms = crate::services::forms::list(state, &web.ctx).await?;
    Ok(FormsPage {
        shell: shell(web, "forms"),
        forms: forms
            .iter()
            .map(|f| {
                let address = format!("{public}/f/{}", f.public_key);
                FormRow {
                    id: f.id.to_string(),
                    name: f.name.clone(),
                    fields: f
                        .fields
                        .0
                        .iter()
                        .map(|x| x.label.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    snippet: snippet(&address, &f.fields.0),
                    address,
                }
            })
            .collect(),
        members: view::members(state, web.ctx.org_id).await?,
        errors,
        lead_fields: crate::services::custom_fields::of(state, web.ctx.org_id, "leads")
            .await?
            .into_iter()
            .map(|d| (d.key, d.label))
            .collect(),
    })
}

/// The HTML a website embeds: the fields, a hidden `page_url` its script
/// may fill (for the page's UTM parameters), the honeypot hidden from
/// people, and the submit button.
fn snippet(address: &str, fields: &[crate::services::forms::FormField]) -> String {
    let mut html = format!("<form action=\"{address}\" method=\"post\">\n");
    for f in fields {
        let required = if f.required { " required" } else { "" };
        let label = f
            .label
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;");
        match f.kind.as_deref() {
            Some("textarea") => html.push_str(&format!(
                "  <label>{label}<br><textarea name=\"{}\"{required}></textarea></label><br>\n",
                f.key
            )),
            kind => html.push_str(&format!(
                "  <label>{label}<br><input name=\"{}\" type=\"{}\"{required}></label><br>\n",
                f.key,
                kind.unwrap_or("text")
            )),
        }
    }
    html.push_str("  <input type=\"hidden\" name=\"page_url\" value=\"\">\n");
    html.push_str(&format!(
        "  <div style=\"position:absolute;left:-10000px\" aria-hidden=\"true\"><input name=\"{}\" tabindex=\"-1\" autocomplete=\"off\"></div>\n",
        crate::services::forms::HONEYPOT
    ));
    html.push_str("  <button type=\"submit\">Send</button>\n</form>\n");
    html.push_str("<script>document.currentScript.previousElementSibling.page_url.value = location.href;</script>\n");
    html
}

pub async fn forms_list(State(state): State<App>, web: Web) -> Response {
    page(forms_page(&state, &web, FormErrors::default()).await)
}

pub async fn create_form(State(state): State<App>, web: Web, Form(form): Form<NewForm>) -> Response {
    use crate::services::forms::{FormField, FormInput};
    let on = |v: &str| !v.is_empty();
    let mut fields = vec![FormField {
        key: "name".into(),
        label: "Name".into(),
        kind: Some("text".into()),
        required: true,
    }];
    for (asked, key, label, kind) in [
        (&form.ask_email, "email", "Email", "email"),
        (&form.ask_phone, "phone", "Phone", "tel"),
        (&form.ask_company_name, "company_name", "Company", "text"),
        (&form.ask_message, "message", "Message", "textarea"),
    ] {
        if on(asked) {
            fields.push(FormField {
                key: key.into(),
                label: label.into(),
                kind: Some(kind.into()),
                required: key == "email" && on(&form.email_required),
            });
        }
    }
    if !form.ask_custom.is_empty() {
        let defs = match crate::services::custom_fields::of(&state, web.ctx.org_id, "leads").await {
            Ok(defs) => defs,
            Err(e) => return view::error_page(&e),
        };
        for def in defs.iter().filter(|d| form.ask_custom.contains(&d.key)) {
            let kind = match def.kind.as_str() {
                "email" => "email",
                "url" => "url",
                _ => "text",
            };
            fields.push(FormField {
                key: format!("custom.{}", def.key),
                label: def.label.clone(),
                kind: Some(kind.into()),
                required: def.required,
            });
        }
    }
    let input = FormInput {
        name: form.name.clone(),
        fields,
        default_owner_id: view::filled(&form.default_owner_id),
        default_tags: Some(crate::services::records::fields::tag_list(&form.default_tags)),
        source: view::filled(&form.source),
        thank_you_url: view::filled(&form.thank_you_url),
    };
    match crate::services::forms::create(&state, &web.ctx, input).await {
        Ok(_) => see_other("/settings/forms"),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            let status = e.status;
            let errors = FormErrors::from_api(&e)
                .keep("name", &form.name)
                .keep("thank_you_url", &form.thank_you_url)
                .keep("source", &form.source)
                .keep("default_tags", &form.default_tags);
            match forms_page(&state, &web, errors).await {
                Ok(page) => view::render(status, &page),
                Err(e) => view::error_page(&e),
            }
        }
        Err(e) => view::error_page(&e),
    }
}

pub async fn delete_form(State(state): State<App>, web: Web, IdPath(id): IdPath) -> Response {
    match crate::services::forms::delete(&state, &web.ctx, id).await {
        Ok(()) => see_other("/settings/forms"),
        Err(e) => view::error_page(&e),
    }
}

// ----- Custom fields --------------------------------------------------------

#[derive(Template)]
#[template(path = "settings_custom_fields.html")]
struct CustomFieldsPage {
    shell: Shell,
    /// Each record type with its fields.
    objects: Vec<(&'static str, Vec<CustomFieldRow>)>,
    types: &'static [&'static str],
    errors: FormErrors,
}

struct CustomFieldRow {
    id: String,
    key: String,
    label: String,
    kind: String,
    options: String,
    required: bool,
}

/// The new-field form, and the edit form of one field (label, type,
/// options, required).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct CustomFieldForm {
    object: String,
    key: String,
    label: String,
    #[serde(rename = "type")]
    kind: String,
    /// Comma separated.
    options: String,
    required: String,
}

impl CustomFieldForm {
    fn options(&self) -> Option<Vec<String>> {
        let options = crate::services::records::fields::tag_list(&self.options);
        (!options.is_empty()).then_some(options)
    }
}

async fn custom_fields_page(state: &App, web: &Web, errors: FormErrors) -> AppResult<CustomFieldsPage> {
    admin_only(web)?;
    let all = crate::services::custom_fields::list(state, &web.ctx, &Default::default()).await?;
    let objects = crate::services::custom_fields::OBJECTS
        .into_iter()
        .map(|object| {
            let rows = all
                .iter()
                .filter(|f| f.object == object)
                .map(|f| CustomFieldRow {
                    id: f.id.to_string(),
                    key: f.key.clone(),
                    label: f.label.clone(),
                    kind: f.kind.clone(),
                    options: f.options.0.join(", "),
                    required: f.required,
                })
                .collect();
            (object, rows)
        })
        .collect();
    Ok(CustomFieldsPage {
        shell: shell(web, "custom-fields"),
        objects,
        types: &crate::services::custom_fields::TYPES,
        errors,
    })
}

/// `GET /settings/custom-fields` (admins and owners).
pub async fn custom_fields_list(State(state): State<App>, web: Web) -> Response {
    page(custom_fields_page(&state, &web, FormErrors::default()).await)
}

/// The page again with a refused change's errors, or the error page.
async fn custom_fields_refused(state: &App, web: &Web, form: &CustomFieldForm, e: AppError) -> Response {
    if !e.status.is_client_error() || e.status == StatusCode::FORBIDDEN || e.status == StatusCode::NOT_FOUND {
        return view::error_page(&e);
    }
    let status = e.status;
    let errors = FormErrors::from_api(&e)
        .keep("object", &form.object)
        .keep("key", &form.key)
        .keep("label", &form.label)
        .keep("type", &form.kind)
        .keep("options", &form.options);
    match custom_fields_page(state, web, errors).await {
        Ok(page) => view::render(status, &page),
        Err(e) => view::error_page(&e),
    }
}

/// `POST /settings/custom-fields`: defines a field.
pub async fn create_custom_field(State(state): State<App>, web: Web, Form(form): Form<CustomFieldForm>) -> Response {
    let input = crate::services::custom_fields::CustomFieldInput {
        object: form.object.clone(),
        key: form.key.clone(),
        label: form.label.clone(),
        kind: form.kind.clone(),
        options: form.options(),
        required: !form.required.is_empty(),
    };
    match crate::services::custom_fields::create(&state, &web.ctx, input).await {
        Ok(_) => see_other("/settings/custom-fields"),
        Err(e) => custom_fields_refused(&state, &web, &form, e).await,
    }
}

/// `POST /settings/custom-fields/{id}`: changes a field's label, type,
/// options and `required`.
pub async fn update_custom_field(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<CustomFieldForm>,
) -> Response {
    let patch = crate::services::custom_fields::CustomFieldPatch {
        label: Some(form.label.clone()),
        kind: view::filled(&form.kind),
        options: form.options(),
        required: Some(!form.required.is_empty()),
    };
    match crate::services::custom_fields::update(&state, &web.ctx, id, patch).await {
        Ok(_) => see_other("/settings/custom-fields"),
        Err(e) => custom_fields_refused(&state, &web, &form, e).await,
    }
}

/// `POST /settings/custom-fields/{id}/delete`: removes a field and its values.
pub async fn delete_custom_field(State(state): State<App>, web: Web, IdPath(id): IdPath) -> Response {
    match crate::services::custom_fields::delete(&state, &web.ctx, id).await {
        Ok(()) => see_other("/settings/custom-fields"),
        Err(e) => view::error_page(&e),
    }
}
