//! Companies: the list (search, filters, sort, CSV), the create form and the
//! record page with the company's contacts and deals.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::contacts::tag_list;
use super::records::{Edited, Listed};
use super::related::{self, ContactLine, DealLine, Of};
use super::session::Web;
use super::view::{self, Choice, FormErrors, ListParts, Shell};
use crate::app::App;
use crate::error::AppResult;
use crate::services::companies::queries::Company;
use crate::services::companies::{self, CompanyInput, CompanyPatch, CompanyQuery};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records;
use std::future::Future;
use uuid::Uuid;

pub struct Row {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub industry: String,
    pub employees: String,
    pub owner: String,
    pub tags: String,
    pub created: String,
}

fn row(c: &Company, members: &[Choice]) -> Row {
    Row {
        id: c.id.to_string(),
        name: c.name.clone(),
        domain: c.domain.clone().unwrap_or_default(),
        industry: c.industry.clone().unwrap_or_default(),
        employees: c.employee_count.map(|n| n.to_string()).unwrap_or_default(),
        owner: view::member_name(members, &c.owner_id),
        tags: c.tags.0.join(", "),
        created: view::time(&c.created_at),
    }
}

#[derive(Template)]
#[template(path = "companies.html")]
struct ListPage {
    shell: Shell,
    list: ListParts<Row>,
}

impl Listed for Company {
    type Params = CompanyQuery;
    type Row = Row;
    const PATH: &'static str = "/companies";
    const TAB: &'static str = "companies";
    const TITLE: &'static str = "Companies";
    const DEFAULT_SORT: &'static str = "-created_at";
    const CSV_HEADER: &'static [&'static str] = &[
        "id",
        "name",
        "domain",
        "industry",
        "employee_count",
        "owner",
        "tags",
        "created_at",
    ];

    fn list(state: &App, ctx: &OrgCtx, params: &CompanyQuery) -> impl Future<Output = AppResult<Page<Self>>> + Send {
        companies::list(state, ctx, params)
    }
    fn row(&self, members: &[Choice]) -> Row {
        row(self, members)
    }
    fn csv(&self, members: &[Choice]) -> Vec<String> {
        let r = row(self, members);
        vec![
            r.id,
            r.name,
            r.domain,
            r.industry,
            r.employees,
            r.owner,
            r.tags,
            self.created_at.to_rfc3339(),
        ]
    }
    fn render(shell: Shell, list: ListParts<Row>) -> Response {
        view::render(StatusCode::OK, &ListPage { shell, list })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CompanyForm {
    name: String,
    domain: String,
    industry: String,
    employee_count: String,
    owner_id: String,
    tags: String,
}

impl CompanyForm {
    fn of(c: &Company) -> Self {
        CompanyForm {
            name: c.name.clone(),
            domain: c.domain.clone().unwrap_or_default(),
            industry: c.industry.clone().unwrap_or_default(),
            employee_count: c.employee_count.map(|n| n.to_string()).unwrap_or_default(),
            owner_id: c.owner_id.to_string(),
            tags: c.tags.0.join(", "),
        }
    }

    /// The employee count as a number, or the field error the API would give.
    fn employees(&self) -> AppResult<Option<i64>> {
        match view::filled(&self.employee_count) {
            None => Ok(None),
            Some(n) => n
                .parse()
                .map(Some)
                .map_err(|_| crate::error::AppError::field("employee_count", "must be a whole number")),
        }
    }
}

#[derive(Template)]
#[template(path = "company_new.html")]
pub struct NewPage {
    shell: Shell,
    form: CompanyForm,
    members: Vec<Choice>,
    errors: FormErrors,
}

impl Edited for Company {
    type Form = CompanyForm;
    type NewPage = NewPage;
    type RecordPage = RecordPage;

    fn blank_form(web: &Web, _address: &[(String, String)]) -> CompanyForm {
        CompanyForm {
            owner_id: web.ctx.user_id.to_string(),
            ..Default::default()
        }
    }
    fn input(form: &CompanyForm) -> AppResult<CompanyInput> {
        Ok(CompanyInput {
            name: form.name.clone(),
            domain: view::filled(&form.domain),
            industry: view::filled(&form.industry),
            employee_count: form.employees()?,
            owner_id: view::filled(&form.owner_id),
            tags: Some(tag_list(&form.tags)),
        })
    }
    fn patch(form: &CompanyForm) -> AppResult<CompanyPatch> {
        Ok(CompanyPatch {
            name: Some(Some(form.name.clone())),
            domain: Some(view::filled(&form.domain)),
            industry: Some(view::filled(&form.industry)),
            employee_count: Some(form.employees()?),
            owner_id: view::filled(&form.owner_id),
            tags: Some(Some(tag_list(&form.tags))),
        })
    }
    async fn new_page(state: &App, web: &Web, form: CompanyForm, errors: FormErrors) -> AppResult<NewPage> {
        Ok(NewPage {
            shell: Shell::new(web, "companies", "New company"),
            members: view::members(state, web.ctx.org_id).await?,
            form,
            errors,
        })
    }
    async fn record_page(
        state: &App,
        web: &Web,
        id: Uuid,
        form: Option<CompanyForm>,
        errors: FormErrors,
    ) -> AppResult<RecordPage> {
        let company = records::read::<Company>(state, &web.ctx, id).await?;
        let members = view::members(state, web.ctx.org_id).await?;
        Ok(RecordPage {
            shell: Shell::new(web, "companies", company.name.clone()),
            form: form.unwrap_or_else(|| CompanyForm::of(&company)),
            company: row(&company, &members),
            members,
            errors,
            contacts: related::contacts(state, web, Of::Company(id)).await?,
            deals: related::deals(state, web, Of::Company(id)).await?,
        })
    }
}

#[derive(Template)]
#[template(path = "company.html")]
pub struct RecordPage {
    shell: Shell,
    company: Row,
    form: CompanyForm,
    members: Vec<Choice>,
    errors: FormErrors,
    contacts: Vec<ContactLine>,
    deals: Vec<DealLine>,
}
