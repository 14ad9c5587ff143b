//! Leads: the list with score and follow-up columns (and the "follow up
//! today" view), the create form, and the lead page with the score's
//! reasons, the Convert form (with an optional deal) and the timeline.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::dashboard::ActivityLine;
use super::records::{Column, Edited, Filter, Head, Listed};
use super::related::{self, PipelineOption};
use super::session::Web;
use super::view::{self, Choice, FormErrors, Shell, filled, text};
use super::{Form, see_other};
use crate::app::App;
use crate::error::AppResult;
use crate::http::extract::IdPath;
use crate::services::activities::Timeline;
use crate::services::custom_fields::{CustomInput, CustomText};
use crate::services::leads::{
    self, ConvertDeal, ConvertInput, Lead, LeadInput, LeadPatch, LeadQuery, Preferences, Utm,
};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::fields::{self, Text};
use crate::services::records::{self, Record};
use std::future::Future;
use uuid::Uuid;

impl Listed for Lead {
    type Params = LeadQuery;
    const PATH: &'static str = "/leads";
    const VIEWS: &'static str = "leads";
    const BULK: bool = true;
    const TITLE: &'static str = "Leads";
    const NOUN: &'static str = "lead";
    const SEARCH_HINT: &'static str = "Name, email, phone, company";
    const ACTIONS: &'static [(&'static str, &'static str)] = &[("/leads/today", "Follow up today")];
    const FILTERS: &'static [Filter] = &[
        Filter {
            name: "status",
            label: "Status",
            options: &leads::STATUSES,
        },
        Filter {
            name: "source",
            label: "Source",
            options: &[],
        },
        Filter {
            name: "score_min",
            label: "Score at least",
            options: &[],
        },
    ];

    fn list(state: &App, ctx: &OrgCtx, params: &LeadQuery) -> impl Future<Output = AppResult<Page<Self>>> + Send {
        leads::list(state, ctx, params)
    }
    fn list_columns() -> Vec<Column<Self>> {
        vec![
            Column::id(),
            Self::column("Name", "name", |l, _| l.name.clone())
                .link()
                .folding(|l, _| text(&l.company_name)),
            Self::column("Score", "score", |l, _| l.score.to_string())
                .sorted_by("score")
                .class("num"),
            Self::column("Status", "status", |l, _| l.status.clone()).badge(),
            Self::column("Source", "source", |l, _| text(&l.source)).class("hide-narrow"),
            Self::column("Company", "company_name", |l, _| text(&l.company_name)).class("hide-narrow"),
            Self::column("Follow up", "next_follow_up_at", |l, _| {
                l.next_follow_up_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            })
            .shown_as(|l, _| l.next_follow_up_at.as_ref().map(view::time).unwrap_or_default())
            .sorted_by("next_follow_up_at"),
            Self::export_column("email", |l, _| text(&l.email)),
            Self::export_column("phone", |l, _| text(&l.phone)),
            Column::owner(),
            Column::tags(),
            Column::created(),
        ]
    }
}

/// `GET /leads/today`: the open leads to follow up by the end of today (in
/// the reader's time zone), soonest first.
pub async fn today(_signed_in: Web) -> Response {
    use chrono::TimeZone;
    let zone = view::reader_zone();
    let now = chrono::Utc::now().with_timezone(&zone);
    let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
    let end = zone
        .from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    // In UTC with a `Z`: nothing in it needs escaping in a query string.
    let before = end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    see_other(&format!(
        "/leads?status=new&status=contacted&status=qualified&follow_up_before={before}&sort=next_follow_up_at"
    ))
}

/// The lead form as typed: the buyer's preferences as fields of their own.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct LeadForm {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company_name: String,
    pub source: String,
    pub status: String,
    pub next_follow_up_at: String,
    pub owner_id: String,
    pub tags: String,
    pub budget_min: String,
    pub budget_max: String,
    pub currency: String,
    pub property_type: String,
    pub bedrooms_min: String,
    /// Comma separated.
    pub locations: String,
    /// Kept as they are (not on the form).
    pub utm: String,
    /// The `custom.<key>` fields.
    #[serde(flatten)]
    pub custom: CustomText,
}

impl LeadForm {
    pub fn of(lead: &Lead) -> Self {
        let p = lead.preferences.as_ref().map(|p| &p.0);
        let pref = |key: &str| {
            p.and_then(|p| match &p[key] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_default()
        };
        let locations = p
            .and_then(|p| p["locations"].as_array())
            .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        LeadForm {
            name: lead.name.clone(),
            email: text(&lead.email),
            phone: text(&lead.phone),
            company_name: text(&lead.company_name),
            source: text(&lead.source),
            status: lead.status.clone(),
            next_follow_up_at: lead
                .next_follow_up_at
                .as_ref()
                .map(view::local_input)
                .unwrap_or_default(),
            owner_id: lead.owner_id.to_string(),
            tags: lead.tags.join(", "),
            budget_min: pref("budget_min"),
            budget_max: pref("budget_max"),
            currency: pref("currency"),
            property_type: pref("property_type"),
            bedrooms_min: pref("bedrooms_min"),
            locations,
            utm: lead.utm.as_ref().map(|u| u.0.to_string()).unwrap_or_default(),
            custom: CustomText::of(&lead.custom.0),
        }
    }

    /// Whether the buyer fields say anything.
    fn has_preferences(&self) -> bool {
        [
            &self.budget_min,
            &self.budget_max,
            &self.property_type,
            &self.bedrooms_min,
            &self.locations,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

impl Text for LeadForm {
    type Input = LeadInput;
    type Patch = LeadPatch;
    fn input(&self) -> AppResult<LeadInput> {
        let preferences = if self.has_preferences() {
            Some(Preferences {
                budget_min: filled(&self.budget_min).map(Value::String),
                budget_max: filled(&self.budget_max).map(Value::String),
                currency: filled(&self.currency),
                property_type: filled(&self.property_type),
                bedrooms_min: fields::whole("bedrooms_min", &self.bedrooms_min)?,
                locations: Some(fields::tag_list(&self.locations)),
            })
        } else {
            None
        };
        Ok(LeadInput {
            name: self.name.clone(),
            email: filled(&self.email),
            phone: filled(&self.phone),
            company_name: filled(&self.company_name),
            source: filled(&self.source),
            utm: fields::object::<Utm>("utm", &self.utm)?,
            status: filled(&self.status),
            preferences,
            next_follow_up_at: view::from_local_input(&self.next_follow_up_at),
            owner_id: filled(&self.owner_id),
            tags: Some(fields::tag_list(&self.tags)),
            custom: Some(CustomInput::from_text(&self.custom)),
        })
    }
    fn patch(&self) -> AppResult<LeadPatch> {
        self.input().map(Into::into)
    }
}

#[derive(Template)]
#[template(path = "lead_new.html")]
pub struct NewPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    noun: &'static str,
    path: &'static str,
    form: LeadForm,
    members: Vec<Choice>,
    errors: FormErrors,
    sources: &'static [&'static str],
    statuses: &'static [&'static str],
    property_types: &'static [&'static str],
}

/// The statuses a form offers (`converted` comes only by converting).
const FORM_STATUSES: [&str; 4] = ["new", "contacted", "qualified", "unqualified"];

impl Edited for Lead {
    type Form = LeadForm;
    type NewPage = NewPage;
    type RecordPage = RecordPage;

    async fn new_page(state: &App, web: &Web, form: LeadForm, errors: FormErrors) -> AppResult<NewPage> {
        Ok(NewPage {
            custom: view::custom_inputs(state, web.ctx.org_id, "leads", &form.custom).await?,
            noun: Self::NOUN,
            path: Self::PATH,
            shell: Shell::new(web, "leads", "New lead"),
            members: view::members(state, web.ctx.org_id).await?,
            form,
            errors,
            sources: &leads::SOURCES,
            statuses: &FORM_STATUSES,
            property_types: &leads::PROPERTY_TYPES,
        })
    }
    async fn record_page(
        state: &App,
        web: &Web,
        id: Uuid,
        form: Option<LeadForm>,
        errors: FormErrors,
    ) -> AppResult<RecordPage> {
        let lead = records::read::<Lead>(state, &web.ctx, id).await?;
        let members = view::members(state, web.ctx.org_id).await?;
        let reasons = lead.score_reasons.0.as_array().cloned().unwrap_or_default();
        let reasons = reasons
            .iter()
            .map(|r| {
                (
                    rule_in_words(r["rule"].as_str().unwrap_or_default()),
                    r["points"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        let form = form.unwrap_or_else(|| LeadForm::of(&lead));
        Ok(RecordPage {
            custom: view::custom_inputs(state, web.ctx.org_id, "leads", &form.custom).await?,
            shell: Shell::new(web, "leads", lead.name.clone()),
            form,
            head: Head::of(&lead, &lead.name, &members, &web.ctx),
            converted: lead.status == "converted",
            may_convert: lead.ensure_may_change(&web.ctx).is_ok(),
            contact_id: lead.converted_contact_id.map(|i| i.to_string()).unwrap_or_default(),
            deal_id: lead.converted_deal_id.map(|i| i.to_string()).unwrap_or_default(),
            score: lead.score,
            reasons,
            utm: utm_in_words(&lead),
            pipelines: related::pipeline_options(state, web).await?,
            timeline: related::timeline(state, web, Timeline::Lead(id), &members).await?,
            members,
            errors,
            sources: &leads::SOURCES,
            statuses: &FORM_STATUSES,
            property_types: &leads::PROPERTY_TYPES,
        })
    }
}

/// A score rule as the lead page says it.
fn rule_in_words(rule: &str) -> String {
    match rule {
        "email" => "Reachable email",
        "phone" => "Phone number",
        "company" => "Company named",
        "source" => "Source",
        "recent_activity" => "Activity in the last 14 days",
        "follow_up" => "Follow-up planned",
        "qualified" => "Qualified",
        other => other,
    }
    .to_string()
}

/// The campaign a lead came from, as `source / medium / campaign`.
fn utm_in_words(lead: &Lead) -> String {
    let Some(utm) = lead.utm.as_ref() else {
        return String::new();
    };
    ["source", "medium", "campaign", "term", "content"]
        .iter()
        .filter_map(|k| utm.0[*k].as_str().map(|v| format!("{k}: {v}")))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[derive(Template)]
#[template(path = "lead.html")]
pub struct RecordPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    head: Head,
    form: LeadForm,
    members: Vec<Choice>,
    errors: FormErrors,
    converted: bool,
    may_convert: bool,
    contact_id: String,
    deal_id: String,
    score: i64,
    /// (rule in words, points).
    reasons: Vec<(String, i64)>,
    utm: String,
    pipelines: Vec<PipelineOption>,
    timeline: Vec<ActivityLine>,
    sources: &'static [&'static str],
    statuses: &'static [&'static str],
    property_types: &'static [&'static str],
}

/// The Convert form: with `with_deal`, a deal of that title, amount and
/// pipeline.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ConvertForm {
    pub with_deal: String,
    pub deal_title: String,
    pub deal_amount: String,
    pub deal_currency: String,
    pub pipeline_id: String,
}

/// `POST /leads/{id}/convert`: converts, then shows the deal (or the
/// contact); a refusal shows on the lead's page.
pub async fn convert(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(form): Form<ConvertForm>,
) -> Response {
    let deal = (!form.with_deal.is_empty()).then(|| ConvertDeal {
        title: filled(&form.deal_title),
        amount: filled(&form.deal_amount).map(Value::String),
        currency: filled(&form.deal_currency),
        pipeline_id: filled(&form.pipeline_id),
    });
    match leads::convert(&state, &web.ctx, id, ConvertInput { deal }).await {
        Ok(done) => match done.deal {
            Some(deal) => see_other(&format!("/deals/{}?converted=1", deal.id)),
            None => see_other(&format!("/contacts/{}?converted=1", done.contact.id)),
        },
        Err(e) => super::records::refused_with::<Lead>(&state, &web, id, None, e, |errors| errors).await,
    }
}
