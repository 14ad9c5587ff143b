//! Contacts: the list (search, filters in the URL, sortable columns, CSV
//! export), the create form and the record page (edit, related deals and
//! tasks, timeline with a comment box).

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::dashboard::{ActivityLine, TaskLine};
use super::records::{Edited, Listed};
use super::related::{self, DealLine, Of};
use super::session::Web;
use super::view::{self, Choice, FormErrors, ListParts, Shell};
use crate::app::App;
use crate::error::AppResult;
use crate::services::activities::Timeline;
use crate::services::contacts::queries::Contact;
use crate::services::contacts::{self, ContactInput, ContactPatch, ContactQuery};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records;
use std::future::Future;
use uuid::Uuid;

/// A contact as the list and the record page show it.
pub struct Row {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub title: String,
    pub owner: String,
    pub tags: String,
    pub created: String,
}

fn row(c: &Contact, members: &[Choice]) -> Row {
    Row {
        id: c.id.to_string(),
        name: c.name.clone(),
        email: c.email.clone().unwrap_or_default(),
        phone: c.phone.clone().unwrap_or_default(),
        title: c.title.clone().unwrap_or_default(),
        owner: view::member_name(members, &c.owner_id),
        tags: c.tags.0.join(", "),
        created: view::time(&c.created_at),
    }
}

#[derive(Template)]
#[template(path = "contacts.html")]
struct ListPage {
    shell: Shell,
    list: ListParts<Row>,
}

impl Listed for Contact {
    type Params = ContactQuery;
    type Row = Row;
    const PATH: &'static str = "/contacts";
    const TAB: &'static str = "contacts";
    const TITLE: &'static str = "Contacts";
    const DEFAULT_SORT: &'static str = "-created_at";
    const CSV_HEADER: &'static [&'static str] = &[
        "id",
        "name",
        "email",
        "phone",
        "title",
        "lead_source",
        "owner",
        "tags",
        "created_at",
    ];

    fn list(state: &App, ctx: &OrgCtx, params: &ContactQuery) -> impl Future<Output = AppResult<Page<Self>>> + Send {
        contacts::list(state, ctx, params)
    }
    fn row(&self, members: &[Choice]) -> Row {
        row(self, members)
    }
    fn csv(&self, members: &[Choice]) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.email.clone().unwrap_or_default(),
            self.phone.clone().unwrap_or_default(),
            self.title.clone().unwrap_or_default(),
            self.lead_source.clone().unwrap_or_default(),
            view::member_name(members, &self.owner_id),
            self.tags.0.join(", "),
            self.created_at.to_rfc3339(),
        ]
    }
    fn render(shell: Shell, list: ListParts<Row>) -> Response {
        view::render(StatusCode::OK, &ListPage { shell, list })
    }
}

/// The fields of the contact form, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContactForm {
    name: String,
    email: String,
    phone: String,
    title: String,
    lead_source: String,
    customer_since: String,
    owner_id: String,
    tags: String,
    company_id: String,
}

/// `"a, b"` → `["a", "b"]`.
pub fn tag_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

impl ContactForm {
    fn of(c: &Contact) -> Self {
        ContactForm {
            name: c.name.clone(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            title: c.title.clone().unwrap_or_default(),
            lead_source: c.lead_source.clone().unwrap_or_default(),
            customer_since: view::date(&c.customer_since),
            owner_id: c.owner_id.to_string(),
            tags: c.tags.0.join(", "),
            company_id: c.company_id.map(|id| id.to_string()).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "contact_new.html")]
pub struct NewPage {
    shell: Shell,
    form: ContactForm,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    errors: FormErrors,
}

impl Edited for Contact {
    type Form = ContactForm;
    type NewPage = NewPage;
    type RecordPage = RecordPage;

    fn blank_form(web: &Web, _address: &[(String, String)]) -> ContactForm {
        ContactForm {
            owner_id: web.ctx.user_id.to_string(),
            ..Default::default()
        }
    }
    fn input(form: &ContactForm) -> AppResult<ContactInput> {
        Ok(ContactInput {
            name: form.name.clone(),
            email: view::filled(&form.email),
            phone: view::filled(&form.phone),
            title: view::filled(&form.title),
            company_id: view::filled(&form.company_id),
            lead_source: view::filled(&form.lead_source),
            customer_since: view::filled(&form.customer_since),
            owner_id: view::filled(&form.owner_id),
            tags: Some(tag_list(&form.tags)),
        })
    }
    /// Every field of the form replaces the contact's.
    fn patch(form: &ContactForm) -> AppResult<ContactPatch> {
        Ok(ContactPatch {
            name: Some(Some(form.name.clone())),
            email: Some(view::filled(&form.email)),
            phone: Some(view::filled(&form.phone)),
            title: Some(view::filled(&form.title)),
            company_id: Some(view::filled(&form.company_id)),
            lead_source: Some(view::filled(&form.lead_source)),
            customer_since: Some(view::filled(&form.customer_since)),
            owner_id: view::filled(&form.owner_id),
            tags: Some(Some(tag_list(&form.tags))),
        })
    }
    async fn new_page(state: &App, web: &Web, form: ContactForm, errors: FormErrors) -> AppResult<NewPage> {
        Ok(NewPage {
            shell: Shell::new(web, "contacts", "New contact"),
            members: view::members(state, web.ctx.org_id).await?,
            companies: related::company_choices(state, web, &form.company_id).await?,
            form,
            errors,
        })
    }
    async fn record_page(
        state: &App,
        web: &Web,
        id: Uuid,
        form: Option<ContactForm>,
        errors: FormErrors,
    ) -> AppResult<RecordPage> {
        let contact = records::read::<Contact>(state, &web.ctx, id).await?;
        let members = view::members(state, web.ctx.org_id).await?;
        let form = form.unwrap_or_else(|| ContactForm::of(&contact));
        Ok(RecordPage {
            shell: Shell::new(web, "contacts", contact.name.clone()),
            companies: related::company_choices(state, web, &form.company_id).await?,
            form,
            contact: row(&contact, &members),
            members,
            errors,
            deals: related::deals(state, web, Of::Contact(id)).await?,
            tasks: related::tasks(state, web, Of::Contact(id)).await?,
            timeline: related::timeline(state, web, Timeline::Contact(id)).await?,
            record_path: format!("/contacts/{id}"),
        })
    }
}

#[derive(Template)]
#[template(path = "contact.html")]
pub struct RecordPage {
    shell: Shell,
    contact: Row,
    form: ContactForm,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    errors: FormErrors,
    deals: Vec<DealLine>,
    tasks: Vec<TaskLine>,
    timeline: Vec<ActivityLine>,
    record_path: String,
}
