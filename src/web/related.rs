//! What a record page shows besides the record, written once: the records
//! related to it (a contact's deals and tasks, a company's contacts and
//! deals, a deal's tasks) as short lines, its timeline, and the company
//! choices of the forms that pick one.

use uuid::Uuid;

use super::dashboard::{ActivityLine, Names, TaskLine, activity_line, task_line};
use super::records::PAGE_SIZE;
use super::session::Web;
use super::view::{self, Choice};
use crate::app::App;
use crate::error::AppResult;
use crate::services::activities::{self, Timeline, TimelineQuery};
use crate::services::companies::{self, Company, CompanyQuery};
use crate::services::contacts::{self, ContactQuery};
use crate::services::deals::{self, DealQuery};
use crate::services::pagination::Page;
use crate::services::records::{self, Record};
use crate::services::tasks::{self, TaskQuery};

/// The record whose related records a page lists.
#[derive(Debug, Clone, Copy)]
pub enum Of {
    Contact(Uuid),
    Company(Uuid),
    Deal(Uuid),
}

impl Of {
    /// `(contact_id, company_id, deal_id)` of the related lists' filters.
    fn filters(self) -> (Option<String>, Option<String>, Option<String>) {
        match self {
            Of::Contact(id) => (Some(id.to_string()), None, None),
            Of::Company(id) => (None, Some(id.to_string()), None),
            Of::Deal(id) => (None, None, Some(id.to_string())),
        }
    }
}

pub struct DealLine {
    pub id: String,
    pub title: String,
    pub amount: String,
    pub stage: String,
    pub status: String,
}

pub struct ContactLine {
    pub id: String,
    pub name: String,
    pub email: String,
}

/// The first page of the deals of a contact or a company.
pub async fn deals(state: &App, web: &Web, of: Of) -> AppResult<Vec<DealLine>> {
    let (contact_id, company_id, _) = of.filters();
    let query = DealQuery {
        contact_id,
        company_id,
        limit: Some(PAGE_SIZE.into()),
        ..Default::default()
    };
    let page = deals::list(state, &web.ctx, &query).await?;
    let line = |d: deals::Deal| DealLine {
        id: d.id.to_string(),
        amount: view::money(d.amount_cents, &d.currency),
        title: d.title,
        stage: d.stage,
        status: d.status,
    };
    Ok(page.data.into_iter().map(line).collect())
}

/// The first page of the contacts of a company.
pub async fn contacts(state: &App, web: &Web, of: Of) -> AppResult<Vec<ContactLine>> {
    let (_, company_id, _) = of.filters();
    let query = ContactQuery {
        company_id,
        limit: Some(PAGE_SIZE.into()),
        ..Default::default()
    };
    let page = contacts::list(state, &web.ctx, &query).await?;
    let line = |c: contacts::Contact| ContactLine {
        id: c.id.to_string(),
        name: c.name,
        email: c.email.unwrap_or_default(),
    };
    Ok(page.data.into_iter().map(line).collect())
}

/// The first page of the tasks of a contact or a deal.
pub async fn tasks(state: &App, web: &Web, of: Of) -> AppResult<Vec<TaskLine>> {
    let (contact_id, _, deal_id) = of.filters();
    let query = TaskQuery {
        contact_id,
        deal_id,
        limit: Some(PAGE_SIZE.into()),
        ..Default::default()
    };
    let page = tasks::list(state, &web.ctx, &query).await?;
    let now = chrono::Utc::now();
    Ok(page.data.iter().map(|t| task_line(t, now)).collect())
}

/// The newest entries of a record's timeline, authors named from `members`.
pub async fn timeline(state: &App, web: &Web, of: Timeline, members: &[Choice]) -> AppResult<Vec<ActivityLine>> {
    let mixes_deals = matches!(of, Timeline::Contact(_));
    let page = {
        let mut conn = state.db.read().await?;
        activities::list(conn.exec(), web.ctx.org_id, of, &TimelineQuery::default()).await?
    };
    // A contact's timeline mixes its deals' entries: name them.
    let names = Names::of(state, web.ctx.org_id, members, &page.data, mixes_deals).await?;
    Ok(page.data.iter().map(|a| activity_line(a, &names)).collect())
}

/// The choices of a form's select: the chosen record (when the caller may
/// read it), then the newest ones.
async fn choices<R: Record>(
    state: &App,
    web: &Web,
    chosen: &str,
    newest: Page<R>,
    name: fn(R) -> String,
) -> AppResult<Vec<Choice>> {
    let chosen = match Uuid::parse_str(chosen.trim()) {
        Ok(id) => records::read::<R>(state, &web.ctx, id)
            .await
            .ok()
            .map(|r| Choice::new(r.id(), name(r))),
        Err(_) => None,
    };
    let newest = newest.data.into_iter().map(|r| Choice::new(r.id(), name(r)));
    Ok(view::with_chosen(chosen, newest))
}

/// The companies a contact or deal form offers without its script: the
/// chosen one and the first A–Z (the script searches them all).
pub async fn company_choices(state: &App, web: &Web, chosen: &str) -> AppResult<Vec<Choice>> {
    let query = CompanyQuery {
        limit: Some(PAGE_SIZE.into()),
        sort: Some("name".into()),
        ..Default::default()
    };
    let newest = companies::list(state, &web.ctx, &query).await?;
    choices::<Company>(state, web, chosen, newest, |c| c.name).await
}

/// The listings a deal form offers: the chosen one and the 100 newest
/// available ones.
pub async fn property_choices(state: &App, web: &Web, chosen: &str) -> AppResult<Vec<Choice>> {
    use crate::services::properties::{self, Property, PropertyQuery};
    let query = PropertyQuery {
        limit: Some(PAGE_SIZE.into()),
        status: vec!["available".into(), "under_offer".into()],
        ..Default::default()
    };
    let newest = properties::list(state, &web.ctx, &query).await?;
    choices::<Property>(state, web, chosen, newest, |p| p.title).await
}

/// The contacts a deal form offers without its script: the chosen one and
/// the first A–Z (the script searches them all).
pub async fn contact_choices(state: &App, web: &Web, chosen: &str) -> AppResult<Vec<Choice>> {
    let query = ContactQuery {
        limit: Some(PAGE_SIZE.into()),
        sort: Some("name".into()),
        ..Default::default()
    };
    let newest = contacts::list(state, &web.ctx, &query).await?;
    choices::<contacts::Contact>(state, web, chosen, newest, |c| c.name).await
}

/// A pipeline as the deal forms offer it: its open stages as `(key, name)`.
pub struct PipelineOption {
    pub id: String,
    pub name: String,
    pub stages: Vec<(String, String)>,
}

/// Every pipeline of the organization, the default first, for the deal
/// forms' pipeline and stage selects.
pub async fn pipeline_options(state: &App, web: &Web) -> AppResult<Vec<PipelineOption>> {
    let mut conn = state.db.read().await?;
    let all = crate::services::pipelines::all(conn.exec(), web.ctx.org_id).await?;
    Ok(options_of(&all))
}

/// `pipelines` as the deal forms offer them.
pub fn options_of(pipelines: &[crate::services::pipelines::Pipeline]) -> Vec<PipelineOption> {
    pipelines
        .iter()
        .map(|p| PipelineOption {
            id: p.id.to_string(),
            name: p.name.clone(),
            stages: p
                .stages
                .0
                .iter()
                .filter(|s| s.key != crate::services::pipelines::CLOSED)
                .map(|s| (s.key.clone(), s.name.clone()))
                .collect(),
        })
        .collect()
}

/// The organization's lost reasons (the Lost dialog of deal pages and cards).
pub async fn lost_reasons(state: &App, web: &Web) -> AppResult<Vec<String>> {
    let mut conn = state.db.read().await?;
    Ok(
        crate::services::orgs::queries::find_organization(conn.exec(), web.ctx.org_id)
            .await?
            .map(|o| o.lost_reasons.0)
            .unwrap_or_default(),
    )
}

/// The distinct ids among `ids`, for one names lookup.
pub fn distinct(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = ids.collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The name `names` holds for `id`; empty for none.
pub fn name_of(names: &[(Uuid, String)], id: Option<Uuid>) -> String {
    id.and_then(|id| names.iter().find(|(n, _)| *n == id))
        .map(|(_, name)| name.clone())
        .unwrap_or_default()
}
