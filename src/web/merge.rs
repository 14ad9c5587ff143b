//! The merge screen of a contact (data.md "Duplicates and merge"): pick the
//! duplicates, choose each field's value side by side, merge. The merge is
//! `records::merge`, as the API's.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;

use super::session::Web;
use super::view::{self, Choice, FormErrors, Shell};
use super::{Form, ListQuery, see_other};
use crate::app::App;
use crate::error::AppError;
use crate::http::extract::IdPath;
use crate::services::companies::Company;
use crate::services::contacts::Contact;
use crate::services::records::merge::{MergeInput, Mergeable, default_source};
use crate::services::records::{self};

/// The field rows of the screen: (field, label).
const ROWS: [(&str, &str); 9] = [
    ("name", "Name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("phone_extension", "Extension"),
    ("title", "Title"),
    ("company_id", "Company"),
    ("lead_source", "Lead source"),
    ("customer_since", "Customer since"),
    ("owner_id", "Owner"),
];

pub struct MergeCell {
    pub id: String,
    pub value: String,
    pub empty: bool,
    pub chosen: bool,
}

pub struct MergeRow {
    pub field: &'static str,
    pub label: &'static str,
    pub cells: Vec<MergeCell>,
}

#[derive(Template)]
#[template(path = "contact_merge.html")]
struct MergePage {
    shell: Shell,
    survivor_id: String,
    survivor_name: String,
    merged: Vec<Choice>,
    choices: Vec<Choice>,
    rows: Vec<MergeRow>,
    errors: FormErrors,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct MergeQuery {
    #[serde(default)]
    with: Vec<String>,
}

/// `GET /contacts/{id}/merge?with=…`: the screen, with the contacts chosen so far.
pub async fn page(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    ListQuery(query, _): ListQuery<MergeQuery>,
) -> Response {
    render(
        &state,
        &web,
        id,
        &ids(&query.with),
        &BTreeMap::new(),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// The contact ids among `raw` (what is not one is left out).
fn ids(raw: &[String]) -> Vec<Uuid> {
    raw.iter().filter_map(|w| Uuid::parse_str(w.trim()).ok()).collect()
}

/// `POST /contacts/{id}/merge`: merges, then shows the survivor.
pub async fn merge(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let mut input = MergeInput::default();
    for (key, value) in pairs {
        if key == "merge_ids" {
            input.merge_ids.push(value);
        } else if let Some(field) = key.strip_prefix("take_") {
            input.fields.insert(field.to_string(), value);
        }
    }
    match records::merge::merge::<Contact>(&state, &web.ctx, id, input.clone()).await {
        Ok(_) => see_other(&format!("/contacts/{id}?saved=1")),
        Err(e) => {
            let with = ids(&input.merge_ids);
            let chosen = input
                .fields
                .iter()
                .filter_map(|(f, v)| Some((f.clone(), Uuid::parse_str(v).ok()?)))
                .collect();
            render(&state, &web, id, &with, &chosen, FormErrors::from_api(&e), e.status).await
        }
    }
}

/// The screen for `id` and the contacts `with` it (repeats and the
/// survivor itself left out), with each field's choice: `chosen`, else the
/// merge's default.
async fn render(
    state: &App,
    web: &Web,
    id: Uuid,
    with: &[Uuid],
    chosen: &BTreeMap<String, Uuid>,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let page = async {
        let survivor = records::read::<Contact>(state, &web.ctx, id).await?;
        let mut contacts = vec![survivor.clone()];
        for other in with {
            let contact = records::read::<Contact>(state, &web.ctx, *other).await?;
            if !contacts.iter().any(|c| c.id == contact.id) {
                contacts.push(contact);
            }
        }
        let members = view::members(state, web.ctx.org_id).await?;
        let companies = {
            let ids = super::related::distinct(contacts.iter().filter_map(|c| c.company_id));
            let mut conn = state.db.read().await?;
            records::names::<Company>(conn.exec(), web.ctx.org_id, "name", &ids).await?
        };
        let values: Vec<Value> = contacts
            .iter()
            .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
            .collect();
        debug_assert!(ROWS.iter().all(|(f, _)| Contact::FIELDS.contains(f)));
        let rows = ROWS
            .iter()
            .map(|(field, label)| {
                let default = default_source(&values, field);
                let cells = contacts
                    .iter()
                    .zip(&values)
                    .enumerate()
                    .map(|(i, (contact, value))| {
                        let shown = match (*field, &value[*field]) {
                            (_, Value::Null) => String::new(),
                            ("company_id", _) => super::related::name_of(&companies, contact.company_id),
                            ("owner_id", _) => view::member_name(&members, &contact.owner_id),
                            (_, Value::String(s)) => s.clone(),
                            (_, other) => other.to_string(),
                        };
                        MergeCell {
                            id: contact.id.to_string(),
                            empty: shown.is_empty(),
                            value: shown,
                            chosen: match chosen.get(*field) {
                                Some(source) => *source == contact.id,
                                None => i == default,
                            },
                        }
                    })
                    .collect();
                MergeRow { field, label, cells }
            })
            .collect();
        let merged: Vec<Choice> = contacts[1..]
            .iter()
            .map(|c| Choice {
                id: c.id.to_string(),
                name: c.name.clone(),
            })
            .collect();
        let choices = super::related::contact_choices(state, web, "")
            .await?
            .into_iter()
            .filter(|c| !contacts.iter().any(|m| m.id.to_string() == c.id))
            .collect();
        Ok::<_, AppError>(MergePage {
            shell: Shell::new(web, "contacts", format!("Merge into {}", survivor.name)),
            survivor_id: survivor.id.to_string(),
            survivor_name: survivor.name,
            merged,
            choices,
            rows,
            errors,
        })
    }
    .await;
    match page {
        Ok(page) => view::render(status, &page),
        Err(e) => view::error_page(&e),
    }
}

/// A group as the duplicates page shows it.
pub struct GroupRow {
    pub reason: String,
    pub score: String,
    /// (id, name, email or phone).
    pub contacts: Vec<(String, String, String)>,
    pub merge_href: String,
}

#[derive(Template)]
#[template(path = "duplicates.html")]
struct DuplicatesPage {
    shell: Shell,
    groups: Vec<GroupRow>,
    scanned_at: Option<String>,
    next: Option<String>,
    previous: Option<String>,
}

/// `GET /contacts/duplicates`: the likely duplicates, each with a link to
/// the merge screen of its first contact with the others chosen.
pub async fn duplicates(
    State(state): State<App>,
    web: Web,
    ListQuery(mut query, pairs): ListQuery<crate::services::duplicates::DuplicateQuery>,
) -> Response {
    query.limit = Some(super::records::PAGE_SIZE.into());
    let page = match crate::services::duplicates::list::<Contact>(&state, &web.ctx, &query).await {
        Ok(page) => page,
        Err(e) => return view::error_page(&e),
    };
    let urls = view::ListUrls::new("/contacts/duplicates", &pairs, "");
    let groups = page
        .data
        .iter()
        .map(|g| {
            let (first, others) = g.records.split_first().map_or((None, &[][..]), |(f, o)| (Some(f), o));
            let with: Vec<String> = others.iter().map(|c| format!("with={}", c.id)).collect();
            GroupRow {
                reason: g.reason.clone(),
                score: format!("{:.2}", g.score),
                contacts: g
                    .records
                    .iter()
                    .map(|c| {
                        let reach = c.email.clone().or_else(|| c.phone.clone()).unwrap_or_default();
                        (c.id.to_string(), c.name.clone(), reach)
                    })
                    .collect(),
                merge_href: first.map_or_else(String::new, |f| format!("/contacts/{}/merge?{}", f.id, with.join("&"))),
            }
        })
        .collect();
    view::render(
        StatusCode::OK,
        &DuplicatesPage {
            shell: Shell::new(&web, "contacts", "Likely duplicates"),
            groups,
            scanned_at: page.scanned_at.as_ref().map(view::time),
            next: urls.next(&page.next_cursor),
            previous: urls.previous(),
        },
    )
}
