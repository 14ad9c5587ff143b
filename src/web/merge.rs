//! The likely duplicates and the merge screen of contacts and companies
//! (data.md "Duplicates and merge"): pick the duplicates, choose each
//! field's value side by side, merge. The merge is `records::merge` and the
//! groups `services::duplicates`, as the API's.

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

/// A record type with a duplicates page and a merge screen.
pub trait Screen: Mergeable + crate::services::duplicates::Scanned
where
    Self::Patch: serde::de::DeserializeOwned,
{
    /// The list's path (`/contacts`) and navigation entry (`contacts`).
    const PATH: &'static str;
    /// The duplicates page's path.
    const DUPLICATES: &'static str;
    const NAV: &'static str;
    const NOUN: &'static str;
    const NOUNS: &'static str;
    /// What makes records likely duplicates, for the duplicates page.
    const WHY: &'static str;
    /// The field rows of the merge screen: (field, label).
    const ROWS: &'static [(&'static str, &'static str)];
    fn name(&self) -> &str;
    /// How the duplicates page tells two of the same name apart.
    fn reach(&self) -> String;
    /// The records offered to add to a merge.
    fn choices(state: &App, web: &Web) -> impl std::future::Future<Output = Result<Vec<Choice>, AppError>> + Send;
}

impl Screen for Contact {
    const PATH: &'static str = "/contacts";
    const DUPLICATES: &'static str = "/contacts/duplicates";
    const NAV: &'static str = "contacts";
    const NOUN: &'static str = "contact";
    const NOUNS: &'static str = "Contacts";
    const WHY: &'static str =
        "Contacts with the same email or phone, or alike names at the same company or work email domain.";
    const ROWS: &'static [(&'static str, &'static str)] = &[
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
    fn name(&self) -> &str {
        &self.name
    }
    fn reach(&self) -> String {
        self.email.clone().or_else(|| self.phone.clone()).unwrap_or_default()
    }
    async fn choices(state: &App, web: &Web) -> Result<Vec<Choice>, AppError> {
        super::related::contact_choices(state, web, "").await
    }
}

impl Screen for Company {
    const PATH: &'static str = "/companies";
    const DUPLICATES: &'static str = "/companies/duplicates";
    const NAV: &'static str = "companies";
    const NOUN: &'static str = "company";
    const NOUNS: &'static str = "Companies";
    const WHY: &'static str =
        "Companies with the same domain, or alike names once legal suffixes (Inc, GmbH, Ltd…) are left out.";
    const ROWS: &'static [(&'static str, &'static str)] = &[
        ("name", "Name"),
        ("domain", "Domain"),
        ("industry", "Industry"),
        ("employee_count", "Employees"),
        ("owner_id", "Owner"),
    ];
    fn name(&self) -> &str {
        &self.name
    }
    fn reach(&self) -> String {
        self.domain.clone().unwrap_or_default()
    }
    async fn choices(state: &App, web: &Web) -> Result<Vec<Choice>, AppError> {
        super::related::company_choices(state, web, "").await
    }
}

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
#[template(path = "merge.html")]
struct MergePage {
    shell: Shell,
    path: &'static str,
    noun: &'static str,
    nouns: &'static str,
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

/// `GET /contacts/{id}/merge?with=…`: the screen, with the records chosen so far.
pub async fn page<R: Screen>(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    ListQuery(query, _): ListQuery<MergeQuery>,
) -> Response
where
    R::Patch: serde::de::DeserializeOwned,
{
    render::<R>(
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

/// The record ids among `raw` (what is not one is left out).
fn ids(raw: &[String]) -> Vec<Uuid> {
    raw.iter().filter_map(|w| Uuid::parse_str(w.trim()).ok()).collect()
}

/// `POST /contacts/{id}/merge`: merges, then shows the survivor.
pub async fn merge<R: Screen>(
    State(state): State<App>,
    web: Web,
    IdPath(id): IdPath,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response
where
    R::Patch: serde::de::DeserializeOwned,
{
    let mut input = MergeInput::default();
    for (key, value) in pairs {
        if key == "merge_ids" {
            input.merge_ids.push(value);
        } else if let Some(field) = key.strip_prefix("take_") {
            input.fields.insert(field.to_string(), value);
        }
    }
    match records::merge::merge::<R>(&state, &web.ctx, id, input.clone()).await {
        Ok(_) => see_other(&format!("{}/{id}?saved=1", R::PATH)),
        Err(e) => {
            let with = ids(&input.merge_ids);
            let chosen = input
                .fields
                .iter()
                .filter_map(|(f, v)| Some((f.clone(), Uuid::parse_str(v).ok()?)))
                .collect();
            render::<R>(&state, &web, id, &with, &chosen, FormErrors::from_api(&e), e.status).await
        }
    }
}

/// The screen for `id` and the records `with` it (repeats and the
/// survivor itself left out), with each field's choice: `chosen`, else the
/// merge's default.
async fn render<R: Screen>(
    state: &App,
    web: &Web,
    id: Uuid,
    with: &[Uuid],
    chosen: &BTreeMap<String, Uuid>,
    errors: FormErrors,
    status: StatusCode,
) -> Response
where
    R::Patch: serde::de::DeserializeOwned,
{
    let page = async {
        let survivor = records::read::<R>(state, &web.ctx, id).await?;
        let mut merging = vec![survivor.clone()];
        for other in with {
            let record = records::read::<R>(state, &web.ctx, *other).await?;
            if !merging.iter().any(|r| r.id() == record.id()) {
                merging.push(record);
            }
        }
        let values: Vec<Value> = merging
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
            .collect();
        let members = view::members(state, web.ctx.org_id).await?;
        // The names of the companies the records point at (a contact's).
        let company_of = |value: &Value| value["company_id"].as_str().and_then(|id| Uuid::parse_str(id).ok());
        let companies = {
            let ids = super::related::distinct(values.iter().filter_map(company_of));
            let mut conn = state.db.read().await?;
            records::names::<Company>(conn.exec(), web.ctx.org_id, "name", &ids).await?
        };
        debug_assert!(R::ROWS.iter().all(|(f, _)| R::FIELDS.contains(f)));
        let rows = R::ROWS
            .iter()
            .map(|(field, label)| {
                let default = default_source(&values, field);
                let cells = merging
                    .iter()
                    .zip(&values)
                    .enumerate()
                    .map(|(i, (record, value))| {
                        let shown = match (*field, &value[*field]) {
                            (_, Value::Null) => String::new(),
                            ("company_id", _) => super::related::name_of(&companies, company_of(value)),
                            ("owner_id", _) => view::member_name(&members, &record.owner_id()),
                            (_, Value::String(s)) => s.clone(),
                            (_, other) => other.to_string(),
                        };
                        MergeCell {
                            id: record.id().to_string(),
                            empty: shown.is_empty(),
                            value: shown,
                            chosen: match chosen.get(*field) {
                                Some(source) => *source == record.id(),
                                None => i == default,
                            },
                        }
                    })
                    .collect();
                MergeRow { field, label, cells }
            })
            .collect();
        let merged: Vec<Choice> = merging[1..]
            .iter()
            .map(|r| Choice {
                id: r.id().to_string(),
                name: r.name().to_string(),
            })
            .collect();
        let choices = R::choices(state, web)
            .await?
            .into_iter()
            .filter(|c| !merging.iter().any(|m| m.id().to_string() == c.id))
            .collect();
        Ok::<_, AppError>(MergePage {
            shell: Shell::new(web, R::NAV, format!("Merge into {}", survivor.name())),
            path: R::PATH,
            noun: R::NOUN,
            nouns: R::NOUNS,
            survivor_id: survivor.id().to_string(),
            survivor_name: survivor.name().to_string(),
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
    /// (id, name, email or phone or domain).
    pub records: Vec<(String, String, String)>,
    pub merge_href: String,
}

#[derive(Template)]
#[template(path = "duplicates.html")]
struct DuplicatesPage {
    shell: Shell,
    path: &'static str,
    nouns: &'static str,
    why: &'static str,
    groups: Vec<GroupRow>,
    scanned_at: Option<String>,
    next: Option<String>,
    previous: Option<String>,
}

/// `GET /contacts/duplicates`: the likely duplicates, each with a link to
/// the merge screen of its first record with the others chosen.
pub async fn duplicates<R: Screen>(
    State(state): State<App>,
    web: Web,
    ListQuery(mut query, pairs): ListQuery<crate::services::duplicates::DuplicateQuery>,
) -> Response
where
    R::Patch: serde::de::DeserializeOwned,
{
    query.limit = Some(super::records::PAGE_SIZE.into());
    let page = match crate::services::duplicates::list::<R>(&state, &web.ctx, &query).await {
        Ok(page) => page,
        Err(e) => return view::error_page(&e),
    };
    let urls = view::ListUrls::new(R::DUPLICATES, &pairs, "");
    let groups = page
        .data
        .iter()
        .map(|g| {
            let (first, others) = g.records.split_first().map_or((None, &[][..]), |(f, o)| (Some(f), o));
            let with: Vec<String> = others.iter().map(|r| format!("with={}", r.id())).collect();
            GroupRow {
                reason: g.reason.clone(),
                score: format!("{:.2}", g.score),
                records: g
                    .records
                    .iter()
                    .map(|r| (r.id().to_string(), r.name().to_string(), r.reach()))
                    .collect(),
                merge_href: first.map_or_else(String::new, |f| {
                    format!("{}/{}/merge?{}", R::PATH, f.id(), with.join("&"))
                }),
            }
        })
        .collect();
    view::render(
        StatusCode::OK,
        &DuplicatesPage {
            shell: Shell::new(&web, R::NAV, "Likely duplicates"),
            path: R::PATH,
            nouns: R::NOUNS,
            why: R::WHY,
            groups,
            scanned_at: page.scanned_at.as_ref().map(view::time),
            next: urls.next(&page.next_cursor),
            previous: urls.previous(),
        },
    )
}
