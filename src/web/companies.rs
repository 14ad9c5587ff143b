//! Companies: the list (search, filters, sort, CSV), the create form and the
//! record page with the company's contacts and deals.

use askama::Template;
use serde::Deserialize;

use super::contacts::tag_list;
use super::records::{Column, Edited, Head, Listed};
use super::related::{self, ContactLine, DealLine, Of};
use super::session::Web;
use super::view::{self, Choice, FormErrors, Shell, text};
use crate::app::App;
use crate::error::AppResult;
use crate::services::companies::queries::Company;
use crate::services::companies::{self, CompanyInput, CompanyPatch, CompanyQuery};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records;
use std::future::Future;
use uuid::Uuid;

impl Listed for Company {
    type Params = CompanyQuery;
    const PATH: &'static str = "/companies";
    const TITLE: &'static str = "Companies";
    const NOUN: &'static str = "company";
    const SEARCH_HINT: &'static str = "Name or domain";

    fn list(state: &App, ctx: &OrgCtx, params: &CompanyQuery) -> impl Future<Output = AppResult<Page<Self>>> + Send {
        companies::list(state, ctx, params)
    }
    fn list_columns() -> Vec<Column<Self>> {
        vec![
            Column::id(),
            Self::column("Name", "name", |c, _| c.name.clone())
                .link()
                .sorted_by("name"),
            Self::column("Domain", "domain", |c, _| text(&c.domain)),
            Self::column("Industry", "industry", |c, _| text(&c.industry)).class("hide-narrow"),
            Self::column("Employees", "employee_count", |c, _| {
                c.employee_count.map(|n| n.to_string()).unwrap_or_default()
            })
            .class("hide-narrow num"),
            Column::owner(),
            Self::export_column("tags", |c, _| c.tags.join(", ")),
            Column::created(),
        ]
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
    /// Every field of the form replaces the record's.
    fn patch(form: &CompanyForm) -> AppResult<CompanyPatch> {
        Self::input(form).map(Into::into)
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
            head: Head::of(&company, &company.name, &members),
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
    head: Head,
    form: CompanyForm,
    members: Vec<Choice>,
    errors: FormErrors,
    contacts: Vec<ContactLine>,
    deals: Vec<DealLine>,
}
