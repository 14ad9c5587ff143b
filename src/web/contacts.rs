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
            Self::column("Phone", "phone", |c, _| text(&c.phone)),
            Self::column("Title", "title", |c, _| text(&c.title)).class("hide-narrow"),
            Self::column("Company", "company", |_, cells| cells.company.to_string()).class("hide-narrow"),
            Self::export_column("lead_source", |c, _| text(&c.lead_source)),
            Column::owner(),
            Column::tags(),
            Column::created(),
        ]
    }
}

#[derive(Template)]
#[template(path = "contact_new.html")]
pub struct NewPage {
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
            shell: Shell::new(web, "contacts", contact.name.clone()),
            companies: related::company_choices(state, web, &form.company_id).await?,
            form,
            head: Head::of(&contact, &contact.name, &members, &web.ctx),
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
    shell: Shell,
    head: Head,
    form: ContactText,
    members: Vec<Choice>,
    companies: Vec<Choice>,
    errors: FormErrors,
    deals: Vec<DealLine>,
    tasks: Vec<TaskLine>,
    timeline: Vec<ActivityLine>,
}
