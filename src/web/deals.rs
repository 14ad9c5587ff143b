//! Deals: the list, CSV export, the create form, the record page (edit,
//! won/lost, timeline) and the stage move the board's script sends.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::dashboard::{ActivityLine, TaskLine};
use super::records::{Column, Edited, Filter, Head, Listed, NoFields, refused};
use super::related::{self, Of};
use super::session::Web;
use super::view::{self, Choice, FormErrors, Shell};
use super::{Form, see_other};
use crate::app::App;
use crate::error::AppResult;
use crate::http::extract::IdPath;
use crate::services::activities::Timeline;
use crate::services::contacts;
use crate::services::custom_fields::{CustomInput, CustomText};
use crate::services::deals::queries::Deal;
use crate::services::deals::{self, DealInput, DealPatch, DealQuery};
use crate::services::orgs::{OrgCtx, Role};
use crate::services::pagination::Page;
use crate::services::records::fields::{Text, tag_list};
use crate::services::records::{self, IfMatch};
use std::future::Future;
use uuid::Uuid;

impl Listed for Deal {
    type Params = DealQuery;
    const PATH: &'static str = "/deals";
    const VIEWS: &'static str = "deals";
    const BULK: bool = true;
    const TITLE: &'static str = "Deals";
    const NOUN: &'static str = "deal";
    const SEARCH_HINT: &'static str = "Title";
    const ACTIONS: &'static [(&'static str, &'static str)] = &[("/board", "Board")];
    const FILTERS: &'static [Filter] = &[
        Filter {
            name: "status",
            label: "Status",
            options: &["new", "in_progress", "won", "lost"],
        },
        Filter {
            name: "stage",
            label: "Stage",
            options: &[],
        },
    ];

    fn list(state: &App, ctx: &OrgCtx, params: &DealQuery) -> impl Future<Output = AppResult<Page<Self>>> + Send {
        deals::list(state, ctx, params)
    }
    fn refers_to(&self) -> (Option<Uuid>, Option<Uuid>) {
        (self.company_id, Some(self.contact_id))
    }
    fn list_columns() -> Vec<Column<Self>> {
        vec![
            Column::id(),
            Self::column("Title", "title", |d, _| d.title.clone()).link(),
            Self::column("Contact", "contact", |_, cells| cells.contact.to_string()).class("hide-narrow"),
            Self::column("Company", "company", |_, cells| cells.company.to_string()).class("hide-narrow"),
            Self::column("Amount", "amount", |d, _| crate::format::cents(d.amount_cents))
                .shown_as(|d, _| view::money(d.amount_cents, &d.currency))
                .sorted_by("amount")
                .class("num"),
            Self::export_column("currency", |d, _| d.currency.clone()),
            Self::column("Stage", "stage", |d, _| d.stage.clone()),
            Self::column("Status", "status", |d, _| d.status.clone())
                .shown_as(|d, _| status_words(&d.status))
                .badge(),
            Self::column("Close date", "expected_close_date", |d, _| {
                view::date(&d.expected_close_date)
            })
            .sorted_by("expected_close_date"),
            Column::owner(),
            Self::export_column("tags", |d, _| d.tags.join(", ")),
            Column::created(),
        ]
    }
}

/// `in_progress` → `in progress`.
fn status_words(status: &str) -> String {
    status.replace('_', " ")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DealForm {
    title: String,
    contact_id: String,
    amount: String,
    currency: String,
    expected_close_date: String,
    owner_id: String,
    tags: String,
    company_id: String,
    pipeline_id: String,
    stage: String,
    property_id: String,
    /// The `custom.<key>` fields.
    #[serde(flatten)]
    custom: CustomText,
}

impl DealForm {
    fn of(d: &Deal) -> Self {
        DealForm {
            title: d.title.clone(),
            contact_id: d.contact_id.to_string(),
            amount: crate::format::cents(d.amount_cents),
            currency: d.currency.clone(),
            expected_close_date: view::date(&d.expected_close_date),
            owner_id: d.owner_id.to_string(),
            tags: d.tags.0.join(", "),
            company_id: d.company_id.map(|id| id.to_string()).unwrap_or_default(),
            pipeline_id: d.pipeline_id.to_string(),
            stage: d.stage.clone(),
            property_id: d.property_id.map(|id| id.to_string()).unwrap_or_default(),
            custom: CustomText::of(&d.custom.0),
        }
    }
}

#[derive(Template)]
#[template(path = "deal_new.html")]
pub struct NewPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    noun: &'static str,
    path: &'static str,
    form: DealForm,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    /// The listings the deal may be about.
    properties: Vec<Choice>,
    contacts: Vec<Choice>,
    pipelines: Vec<related::PipelineOption>,
    errors: FormErrors,
}

async fn new_deal_page(state: &App, web: &Web, mut form: DealForm, errors: FormErrors) -> AppResult<NewPage> {
    let members = view::members(state, web.ctx.org_id).await?;
    // The contact named in the address first, then the newest ones.
    let contacts = related::contact_choices(state, web, &form.contact_id).await?;
    // A deal started from a contact is with the contact's company.
    if form.company_id.is_empty()
        && let Ok(id) = Uuid::parse_str(form.contact_id.trim())
        && let Ok(contact) = records::read::<contacts::Contact>(state, &web.ctx, id).await
    {
        form.company_id = contact.company_id.map(|c| c.to_string()).unwrap_or_default();
    }
    let pipelines = related::pipeline_options(state, web).await?;
    if form.pipeline_id.is_empty() {
        form.pipeline_id = pipelines.first().map(|p| p.id.clone()).unwrap_or_default();
    }
    Ok(NewPage {
        custom: view::custom_inputs(state, web.ctx.org_id, "deals", &form.custom).await?,
        pipelines,
        noun: Deal::NOUN,
        path: Deal::PATH,
        shell: Shell::new(web, "deals", "New deal"),
        companies: related::company_choices(state, web, &form.company_id).await?,
        properties: related::property_choices(state, web, &form.property_id).await?,
        form,
        members,
        contacts,
        errors,
    })
}

impl Text for DealForm {
    type Input = DealInput;
    type Patch = DealPatch;
    /// The form's fields replace the deal's; the contact stays. Fields
    /// sent unchanged are no change for the service (a closed deal's amount
    /// and currency, an owner a member may not give away).
    fn patch(&self) -> AppResult<DealPatch> {
        Ok(DealPatch {
            title: Some(Some(self.title.clone())),
            amount: Some(view::filled(&self.amount).map(|a| Value::String(crate::format::ungrouped_amount(&a)))),
            currency: view::filled(&self.currency).map(Some),
            expected_close_date: Some(view::filled(&self.expected_close_date)),
            company_id: Some(view::filled(&self.company_id)),
            property_id: Some(view::filled(&self.property_id)),
            owner_id: view::filled(&self.owner_id),
            tags: Some(Some(tag_list(&self.tags))),
            // Absent for a closed deal (its page shows them, not as fields).
            pipeline_id: view::filled(&self.pipeline_id),
            stage: view::filled(&self.stage),
            custom: Some(CustomInput::from_text(&self.custom)),
            ..Default::default()
        })
    }
    fn input(&self) -> AppResult<DealInput> {
        Ok(DealInput {
            title: self.title.clone(),
            contact_id: view::filled(&self.contact_id),
            company_id: view::filled(&self.company_id),
            property_id: view::filled(&self.property_id),
            amount: view::filled(&self.amount).map(|a| Value::String(crate::format::ungrouped_amount(&a))),
            currency: view::filled(&self.currency),
            expected_close_date: view::filled(&self.expected_close_date),
            owner_id: view::filled(&self.owner_id),
            tags: Some(tag_list(&self.tags)),
            pipeline_id: view::filled(&self.pipeline_id),
            stage: view::filled(&self.stage),
            custom: Some(CustomInput::from_text(&self.custom)),
            ..Default::default()
        })
    }
}

impl Edited for Deal {
    type Form = DealForm;
    type NewPage = NewPage;
    type RecordPage = RecordPage;

    /// `/deals/new?contact_id=…` starts the deal on that contact.
    fn new_page(
        state: &App,
        web: &Web,
        form: DealForm,
        errors: FormErrors,
    ) -> impl Future<Output = AppResult<NewPage>> + Send {
        new_deal_page(state, web, form, errors)
    }
    fn record_page(
        state: &App,
        web: &Web,
        id: Uuid,
        form: Option<DealForm>,
        errors: FormErrors,
    ) -> impl Future<Output = AppResult<RecordPage>> + Send {
        record_page(state, web, id, form, errors)
    }
}

#[derive(Template)]
#[template(path = "deal.html")]
pub struct RecordPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    /// The organization's reasons, offered by the Lost dialog.
    lost_reasons: Vec<String>,
    /// A closed deal, and the caller may take it back (managers and above).
    may_reopen: bool,
    head: Head,
    status: String,
    stage: String,
    amount: String,
    is_open: bool,
    is_new: bool,
    contact_id: String,
    contact_name: String,
    form: DealForm,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    properties: Vec<Choice>,
    errors: FormErrors,
    tasks: Vec<TaskLine>,
    timeline: Vec<ActivityLine>,
    /// Empty for a closed deal: its pipeline and stage can no longer change.
    pipelines: Vec<related::PipelineOption>,
}

async fn record_page(
    state: &App,
    web: &Web,
    id: uuid::Uuid,
    form: Option<DealForm>,
    errors: FormErrors,
) -> AppResult<RecordPage> {
    let deal = records::read::<Deal>(state, &web.ctx, id).await?;
    let mut conn = state.db.read().await?;
    let contact_name =
        <contacts::Contact as crate::services::records::Record>::find(conn.exec(), web.ctx.org_id, deal.contact_id)
            .await?
            .map(|c| c.name)
            .unwrap_or_default();
    let all = crate::services::pipelines::all(conn.exec(), web.ctx.org_id).await?;
    drop(conn);
    // The badge names the stage as its pipeline does (`Negotiation`).
    let stage = all
        .iter()
        .find(|p| p.id == deal.pipeline_id)
        .and_then(|p| p.stage(&deal.stage))
        .map_or_else(|| deal.stage.clone(), |s| s.name.clone());
    let is_open = deal.is_open();
    let pipelines = match is_open {
        true => related::options_of(&all),
        false => Vec::new(),
    };
    let members = view::members(state, web.ctx.org_id).await?;
    let timeline = related::timeline(state, web, Timeline::Deal(id), &members).await?;
    let form = form.unwrap_or_else(|| DealForm::of(&deal));
    Ok(RecordPage {
        custom: view::custom_inputs(state, web.ctx.org_id, "deals", &form.custom).await?,
        companies: related::company_choices(state, web, &form.company_id).await?,
        properties: related::property_choices(state, web, &form.property_id).await?,
        shell: Shell::new(web, "deals", deal.title.clone()),
        is_open,
        lost_reasons: related::lost_reasons(state, web).await?,
        may_reopen: !is_open && web.ctx.role >= Role::Manager,
        is_new: deal.status == "new",
        contact_id: deal.contact_id.to_string(),
        contact_name,
        form,
        head: Head::of(&deal, &deal.title, &members, &web.ctx),
        status: status_words(&deal.status),
        stage,
        amount: view::money(deal.amount_cents, &deal.currency),
        members,
        errors,
        tasks: related::tasks(state, web, Of::Deal(id)).await?,
        timeline,
        pipelines,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    /// Typed in the Lost dialog; it wins over the reason chosen from the
    /// organization's list.
    lost_reason: String,
    lost_reason_choice: String,
    /// Where to go afterwards (the board sends its own address).
    next: String,
}

/// Won, lost or in progress: the buttons of the record page and the board.
pub async fn set_status(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<StatusForm>,
) -> Response {
    let patch = DealPatch {
        status: Some(form.status.clone()),
        lost_reason: view::filled(&form.lost_reason)
            .or_else(|| view::filled(&form.lost_reason_choice))
            .map(Some),
        ..Default::default()
    };
    match records::update::<Deal>(&state, &web.ctx, id, IfMatch(None), patch).await {
        Ok(deal) => {
            let next = if form.next.is_empty() {
                format!("/deals/{}", deal.id)
            } else {
                view::safe_next(Some(&form.next))
            };
            see_other(&next)
        }
        Err(e) if !form.next.is_empty() && e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
            // From the board: back to it, with the reason.
            let next = view::safe_next(Some(&form.next));
            let sep = if next.contains('?') { '&' } else { '?' };
            let reason = serde_html_form::to_string([("refused", e.detail.as_ref())]).unwrap_or_default();
            see_other(&format!("{next}{sep}{reason}"))
        }
        Err(e) => refused::<Deal>(&state, &web, id, None, e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StageForm {
    stage: String,
}

/// The Reopen button of a closed deal's page.
pub async fn reopen(State(state): State<App>, web: Web, IdPath(id): IdPath, Form(_): Form<NoFields>) -> Response {
    match deals::reopen(&state, &web.ctx, id, IfMatch(None)).await {
        Ok(deal) => see_other(&format!("/deals/{}", deal.id)),
        Err(e) => refused::<Deal>(&state, &web, id, None, e).await,
    }
}

/// A card dropped on another column of the board: JSON for its script, so a
/// refused move snaps back with the API's reason. Moving a `new` deal along
/// the pipeline also starts it (`in_progress`): one change, checked whole by
/// the service like any PATCH with both fields.
pub async fn move_stage(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<StageForm>,
) -> Response {
    match to_stage(&state, &web, id, form.stage).await {
        Ok(deal) => Json(json!({"id": deal.id, "stage": deal.stage, "status": deal.status})).into_response(),
        Err(e) => view::script_error(&e),
    }
}

/// The stage select of the record page: the same move from a plain form
/// (the keyboard's way to do what the board does with a drag).
pub async fn move_stage_form(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<StageForm>,
) -> Response {
    match to_stage(&state, &web, id, form.stage).await {
        Ok(deal) => see_other(&format!("/deals/{}", deal.id)),
        Err(e) => refused::<Deal>(&state, &web, id, None, e).await,
    }
}

async fn to_stage(state: &App, web: &Web, id: uuid::Uuid, stage: String) -> AppResult<Deal> {
    let status = {
        let mut conn = state.db.read().await?;
        records::readable::<Deal>(conn.exec(), &web.ctx, id).await?.status
    };
    let patch = DealPatch {
        stage: Some(stage),
        status: (status == "new").then(|| "in_progress".to_string()),
        ..Default::default()
    };
    records::update::<Deal>(state, &web.ctx, id, IfMatch(None), patch).await
}
