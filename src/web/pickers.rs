//! The searchable pickers of the forms. `static/app.js` turns a select
//! marked `data-picker` into a combobox that asks these for the records whose
//! words start with what was typed (the API's `q`, through the same list
//! services), twenty at a time: A–Z before anything is typed, then the
//! newest matches first (the order the search indexes serve without sorting
//! every match: a short word matches tens of thousands of a million
//! contacts). Without the script the select offers the chosen record and the
//! first ones A–Z.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::related::{distinct, name_of};
use super::session::Web;
use super::view;
use crate::app::App;
use crate::error::AppResult;
use crate::services::companies::{self, Company, CompanyQuery};
use crate::services::contacts::{self, ContactQuery};
use crate::services::records;

/// How many choices a picker shows at once.
const LIMIT: u32 = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PickerQuery {
    q: String,
}

#[derive(Debug, Serialize)]
pub struct PickerChoice {
    id: Uuid,
    name: String,
    /// A second line that tells two of the same name apart.
    detail: String,
    /// A contact's company, which a deal form takes over when it has none.
    company_id: Option<Uuid>,
    company: String,
}

/// `GET /contacts/choices?q=`.
pub async fn contacts(State(state): State<App>, web: Web, Query(q): Query<PickerQuery>) -> Response {
    answer(contact_choices(&state, &web, q).await)
}

/// `GET /companies/choices?q=`.
pub async fn companies(State(state): State<App>, web: Web, Query(q): Query<PickerQuery>) -> Response {
    answer(company_choices(&state, &web, q).await)
}

/// A–Z while nothing is typed; the search's own order (newest first) after.
fn sort_for(q: &PickerQuery) -> Option<String> {
    view::filled(&q.q).is_none().then(|| "name".to_string())
}

fn answer(found: AppResult<Vec<PickerChoice>>) -> Response {
    match found {
        Ok(choices) => Json(choices).into_response(),
        Err(e) => view::script_error(&e),
    }
}

async fn contact_choices(state: &App, web: &Web, q: PickerQuery) -> AppResult<Vec<PickerChoice>> {
    let query = ContactQuery {
        sort: sort_for(&q),
        q: view::filled(&q.q),
        limit: Some(LIMIT.to_string()),
        ..Default::default()
    };
    let found = contacts::list(state, &web.ctx, &query).await?.data;
    let company_ids = distinct(found.iter().filter_map(|c| c.company_id));
    let names = {
        let mut conn = state.db.read().await?;
        records::names::<Company>(conn.exec(), web.ctx.org_id, "name", &company_ids).await?
    };
    Ok(found
        .into_iter()
        .map(|c| {
            let company = name_of(&names, c.company_id);
            PickerChoice {
                id: c.id,
                detail: [c.email.clone().unwrap_or_default(), company.clone()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" · "),
                name: c.name,
                company_id: c.company_id,
                company,
            }
        })
        .collect())
}

async fn company_choices(state: &App, web: &Web, q: PickerQuery) -> AppResult<Vec<PickerChoice>> {
    let query = CompanyQuery {
        sort: sort_for(&q),
        q: view::filled(&q.q),
        limit: Some(LIMIT.to_string()),
        ..Default::default()
    };
    Ok(companies::list(state, &web.ctx, &query)
        .await?
        .data
        .into_iter()
        .map(|c| PickerChoice {
            id: c.id,
            name: c.name,
            detail: c.domain.unwrap_or_default(),
            company_id: None,
            company: String::new(),
        })
        .collect())
}
