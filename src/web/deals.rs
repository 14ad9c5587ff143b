//! Deals: the list, CSV export, the create form, the record page (edit,
//! won/lost, timeline) and the stage move the board's script sends.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::contacts::tag_list;
use super::dashboard::{ActivityLine, TaskLine};
use super::records::{Edited, Listed, refused};
use super::related::{self, Of};
use super::session::Web;
use super::view::{self, Choice, FormErrors, ListParts, Shell};
use super::{Form, see_other};
use crate::app::App;
use crate::error::AppResult;
use crate::http::extract::IdPath;
use crate::services::activities::Timeline;
use crate::services::contacts;
use crate::services::deals::queries::Deal;
use crate::services::deals::{self, DealInput, DealPatch, DealQuery};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::{self, IfMatch};
use std::future::Future;
use uuid::Uuid;

pub struct Row {
    pub id: String,
    pub title: String,
    pub amount: String,
    pub stage: String,
    pub status: String,
    pub owner: String,
    pub close: String,
    pub created: String,
}

fn row(d: &Deal, members: &[Choice]) -> Row {
    Row {
        id: d.id.to_string(),
        title: d.title.clone(),
        amount: view::money(d.amount_cents, &d.currency),
        stage: d.stage.clone(),
        status: d.status.replace('_', " "),
        owner: view::member_name(members, &d.owner_id),
        close: view::date(&d.expected_close_date),
        created: view::time(&d.created_at),
    }
}

#[derive(Template)]
#[template(path = "deals.html")]
struct ListPage {
    shell: Shell,
    list: ListParts<Row>,
}

impl Listed for Deal {
    type Params = DealQuery;
    type Row = Row;
    const PATH: &'static str = "/deals";
    const TAB: &'static str = "deals";
    const TITLE: &'static str = "Deals";
    const DEFAULT_SORT: &'static str = "-created_at";
    const CSV_HEADER: &'static [&'static str] = &[
        "id",
        "title",
        "amount",
        "currency",
        "stage",
        "status",
        "expected_close_date",
        "owner",
        "tags",
        "created_at",
    ];

    fn list(state: &App, ctx: &OrgCtx, params: &DealQuery) -> impl Future<Output = AppResult<Page<Self>>> + Send {
        deals::list(state, ctx, params)
    }
    fn row(&self, members: &[Choice]) -> Row {
        row(self, members)
    }
    fn csv(&self, members: &[Choice]) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.title.clone(),
            crate::format::cents(self.amount_cents),
            self.currency.clone(),
            self.stage.clone(),
            self.status.clone(),
            view::date(&self.expected_close_date),
            view::member_name(members, &self.owner_id),
            self.tags.0.join(", "),
            self.created_at.to_rfc3339(),
        ]
    }
    fn render(shell: Shell, list: ListParts<Row>) -> Response {
        view::render(StatusCode::OK, &ListPage { shell, list })
    }
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
        }
    }
}

#[derive(Template)]
#[template(path = "deal_new.html")]
pub struct NewPage {
    shell: Shell,
    form: DealForm,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    contacts: Vec<Choice>,
    errors: FormErrors,
}

async fn new_deal_page(state: &App, web: &Web, form: DealForm, errors: FormErrors) -> AppResult<NewPage> {
    let members = view::members(state, web.ctx.org_id).await?;
    // The contact named in the address first, then the newest ones.
    let contacts = related::contact_choices(state, web, &form.contact_id).await?;
    Ok(NewPage {
        shell: Shell::new(web, "deals", "New deal"),
        companies: related::company_choices(state, web, &form.company_id).await?,
        form,
        members,
        contacts,
        errors,
    })
}

impl Edited for Deal {
    type Form = DealForm;
    type NewPage = NewPage;
    type RecordPage = RecordPage;

    /// `/deals/new?contact_id=…` starts the deal on that contact.
    fn blank_form(web: &Web, address: &[(String, String)]) -> DealForm {
        let contact_id = address
            .iter()
            .find(|(k, _)| k == "contact_id")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        DealForm {
            contact_id,
            owner_id: web.ctx.user_id.to_string(),
            ..Default::default()
        }
    }
    fn input(form: &DealForm) -> AppResult<DealInput> {
        Ok(DealInput {
            title: form.title.clone(),
            contact_id: view::filled(&form.contact_id),
            company_id: view::filled(&form.company_id),
            amount: view::filled(&form.amount).map(Value::String),
            currency: view::filled(&form.currency),
            expected_close_date: view::filled(&form.expected_close_date),
            owner_id: view::filled(&form.owner_id),
            tags: Some(tag_list(&form.tags)),
            ..Default::default()
        })
    }
    /// The form's fields replace the deal's; the contact stays. Fields
    /// sent unchanged are no change for the service (a closed deal's amount
    /// and currency, an owner a member may not give away).
    fn patch(form: &DealForm) -> AppResult<DealPatch> {
        Ok(DealPatch {
            title: Some(Some(form.title.clone())),
            amount: Some(view::filled(&form.amount).map(Value::String)),
            currency: view::filled(&form.currency).map(Some),
            expected_close_date: Some(view::filled(&form.expected_close_date)),
            company_id: Some(view::filled(&form.company_id)),
            owner_id: view::filled(&form.owner_id),
            tags: Some(Some(tag_list(&form.tags))),
            ..Default::default()
        })
    }
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
    shell: Shell,
    deal: Row,
    is_open: bool,
    is_new: bool,
    contact_id: String,
    contact_name: String,
    form: DealForm,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    errors: FormErrors,
    tasks: Vec<TaskLine>,
    timeline: Vec<ActivityLine>,
    record_path: String,
    stages: Vec<StageChoice>,
}

pub struct StageChoice {
    pub key: String,
    pub name: String,
    pub selected: bool,
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
    let stages = crate::services::pipelines::find(conn.exec(), web.ctx.org_id, deal.pipeline_id)
        .await?
        .map(|p| {
            p.stages
                .0
                .iter()
                .filter(|s| s.key != crate::services::pipelines::CLOSED)
                .map(|s| StageChoice {
                    key: s.key.clone(),
                    name: s.name.clone(),
                    selected: s.key == deal.stage,
                })
                .collect()
        })
        .unwrap_or_default();
    drop(conn);
    let members = view::members(state, web.ctx.org_id).await?;
    let form = form.unwrap_or_else(|| DealForm::of(&deal));
    Ok(RecordPage {
        companies: related::company_choices(state, web, &form.company_id).await?,
        shell: Shell::new(web, "deals", deal.title.clone()),
        is_open: deal.status == "new" || deal.status == "in_progress",
        is_new: deal.status == "new",
        contact_id: deal.contact_id.to_string(),
        contact_name,
        form,
        deal: row(&deal, &members),
        members,
        errors,
        tasks: related::tasks(state, web, Of::Deal(id)).await?,
        timeline: related::timeline(state, web, Timeline::Deal(id)).await?,
        record_path: format!("/deals/{id}"),
        stages,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    lost_reason: String,
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
        lost_reason: view::filled(&form.lost_reason).map(Some),
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
        Err(e) => {
            if e.status.is_server_error() {
                tracing::error!(code = e.code, "board move failed");
            }
            (e.status, Json(json!({"code": e.code, "message": e.detail}))).into_response()
        }
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
