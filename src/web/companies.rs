//! Companies: the list (search, filters, sort, CSV), the create form and the
//! record page with the company's contacts and deals.

use askama::Template;

use super::records::{Column, Edited, Head, Listed};
use super::related::{self, ContactLine, DealLine, Of};
use super::session::Web;
use super::view::{self, Choice, FormErrors, Shell, text};
use crate::app::App;
use crate::error::AppResult;
use crate::services::companies::queries::Company;
use crate::services::companies::{self, CompanyQuery, CompanyText};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records;
use std::future::Future;
use uuid::Uuid;

impl Listed for Company {
    type Params = CompanyQuery;
    const PATH: &'static str = "/companies";
    const VIEWS: &'static str = "companies";
    const BULK: bool = true;
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

#[derive(Template)]
#[template(path = "company_new.html")]
pub struct NewPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    noun: &'static str,
    path: &'static str,
    form: CompanyText,
    members: Vec<Choice>,
    errors: FormErrors,
}

impl Edited for Company {
    type Form = CompanyText;
    type NewPage = NewPage;
    type RecordPage = RecordPage;

    async fn new_page(state: &App, web: &Web, form: CompanyText, errors: FormErrors) -> AppResult<NewPage> {
        Ok(NewPage {
            custom: view::custom_inputs(state, web.ctx.org_id, "companies", &form.custom).await?,
            noun: Self::NOUN,
            path: Self::PATH,
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
        form: Option<CompanyText>,
        errors: FormErrors,
    ) -> AppResult<RecordPage> {
        let company = records::read::<Company>(state, &web.ctx, id).await?;
        let members = view::members(state, web.ctx.org_id).await?;
        let form = form.unwrap_or_else(|| CompanyText::of(&company));
        Ok(RecordPage {
            custom: view::custom_inputs(state, web.ctx.org_id, "companies", &form.custom).await?,
            shell: Shell::new(web, "companies", company.name.clone()),
            form,
            head: Head::of(&company, &company.name, &members, &web.ctx),
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
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    head: Head,
    form: CompanyText,
    members: Vec<Choice>,
    errors: FormErrors,
    contacts: Vec<ContactLine>,
    deals: Vec<DealLine>,
}
