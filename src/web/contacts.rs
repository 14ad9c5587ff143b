//! Contacts: the list (search, filters in the URL, sortable columns, CSV
//! export), the create form and the record page (edit, related deals and
//! tasks, timeline with a comment box).

use askama::Template;

use super::dashboard::{ActivityLine, TaskLine};
use super::records::{Column, Edited, Head, Listed};
use super::related::{self, DealLine, Of};
use super::session::Web;
use super::view::{self, Choice, FormErrors, Shell, text};
use crate::app::App;
use crate::error::AppResult;
use crate::services::activities::Timeline;
use crate::services::contacts::queries::Contact;
use crate::services::contacts::{self, ContactQuery, ContactText};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records;
use std::future::Future;
use uuid::Uuid;

impl Listed for Contact {
    type Params = ContactQuery;
    const PATH: &'static str = "/contacts";
    const VIEWS: &'static str = "contacts";
    const BULK: bool = true;
    const TITLE: &'static str = "Contacts";
    const NOUN: &'static str = "contact";
    const SEARCH_HINT: &'static str = "Name, email, phone, company";

    fn list(state: &App, ctx: &OrgCtx, params: &ContactQuery) -> impl Future<Output = AppResult<Page<Self>>> + Send {
        contacts::list(state, ctx, params)
    }
    fn refers_to(&self) -> (Option<Uuid>, Option<Uuid>) {
        (self.company_id, None)
    }
    fn list_columns() -> Vec<Column<Self>> {
        vec![
            Column::id(),
            // On a phone: name and phone stay in view, the email folds
            // under the name.
            Self::column("Name", "name", |c, _| c.name.clone())
                .link()
                .sorted_by("name")
                .folding(|c, _| text(&c.email)),
            Self::column("Email", "email", |c, _| text(&c.email)).class("hide-narrow"),
            // Stored E.164 (the export's), shown as people read it.
            Self::column("Phone", "phone", |c, _| text(&c.phone)).shown_as(|c, _| readable_phone(c)),
            Self::column("Title", "title", |c, _| text(&c.title)).class("hide-narrow"),
            Self::column("Company", "company", |_, cells| cells.company.to_string()).class("hide-narrow"),
            Self::export_column("lead_source", |c, _| text(&c.lead_source)),
            Self::export_column("phone_extension", |c, _| text(&c.phone_extension)),
            Column::owner(),
            Column::tags(),
            Column::created(),
        ]
    }
}

/// The contact's number in international format with its extension; empty
/// without one.
fn readable_phone(c: &Contact) -> String {
    c.phone
        .as_deref()
        .map(|p| crate::services::validate::phone_for_reading(p, c.phone_extension.as_deref()))
        .unwrap_or_default()
}

/// The page head's links: write (`mailto:`) and call (`tel:`, RFC 3966 with
/// the extension).
fn reach(c: &Contact) -> Vec<(String, String)> {
    let mut links = Vec::new();
    if let Some(email) = &c.email {
        links.push((format!("mailto:{email}"), email.clone()));
    }
    if let Some(phone) = &c.phone {
        let ext = c
            .phone_extension
            .as_ref()
            .map(|e| format!(";ext={e}"))
            .unwrap_or_default();
        links.push((format!("tel:{phone}{ext}"), readable_phone(c)));
    }
    links
}

#[derive(Template)]
#[template(path = "contact_new.html")]
pub struct NewPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    noun: &'static str,
    path: &'static str,
    form: ContactText,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    errors: FormErrors,
}

impl Edited for Contact {
    type Form = ContactText;
    type NewPage = NewPage;
    type RecordPage = RecordPage;

    async fn new_page(state: &App, web: &Web, form: ContactText, errors: FormErrors) -> AppResult<NewPage> {
        Ok(NewPage {
            custom: view::custom_inputs(state, web.ctx.org_id, "contacts", &form.custom).await?,
            noun: Self::NOUN,
            path: Self::PATH,
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
        form: Option<ContactText>,
        errors: FormErrors,
    ) -> AppResult<RecordPage> {
        let contact = records::read::<Contact>(state, &web.ctx, id).await?;
        let members = view::members(state, web.ctx.org_id).await?;
        let form = form.unwrap_or_else(|| ContactText::of(&contact));
        let timeline = related::timeline(state, web, Timeline::Contact(id), &members).await?;
        Ok(RecordPage {
            custom: view::custom_inputs(state, web.ctx.org_id, "contacts", &form.custom).await?,
            shell: Shell::new(web, "contacts", contact.name.clone()),
            companies: related::company_choices(state, web, &form.company_id).await?,
            form,
            head: Head::of(&contact, &contact.name, &members, &web.ctx),
            reach: reach(&contact),
            members,
            errors,
            deals: related::deals(state, web, Of::Contact(id)).await?,
            tasks: related::tasks(state, web, Of::Contact(id)).await?,
            timeline,
        })
    }
}

#[derive(Template)]
#[template(path = "contact.html")]
pub struct RecordPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    head: Head,
    /// Mail and call links.
    reach: Vec<(String, String)>,
    form: ContactText,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    errors: FormErrors,
    deals: Vec<DealLine>,
    tasks: Vec<TaskLine>,
    timeline: Vec<ActivityLine>,
}
