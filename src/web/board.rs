//! The pipeline board: a column per stage with its count and total value,
//! cards with title, amount, contact and owner. Cards are dragged with
//! `static/app.js`, which posts the new stage to `/deals/{id}/stage`; a move
//! the rules refuse snaps back with the API's reason.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::records::PAGE_SIZE;
use super::session::Web;
use super::view::{self, Shell};
use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::services::deals::{self, DealQuery};
use crate::services::pipelines;

pub struct Card {
    pub id: String,
    /// The deal page's address (the Won and Lost dialogs post below it).
    pub path: String,
    pub title: String,
    pub amount: String,
    pub contact: String,
    pub owner: String,
    pub status: String,
    pub is_open: bool,
    pub is_new: bool,
}

pub struct Column {
    pub key: String,
    pub name: String,
    pub count: i64,
    pub total: String,
    pub cards: Vec<Card>,
}

pub struct PipelineChoice {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    shell: Shell,
    /// The organization's reasons, offered by the Lost dialog of the cards.
    lost_reasons: Vec<String>,
    pipelines: Vec<PipelineChoice>,
    columns: Vec<Column>,
    here: String,
    refused: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    pipeline_id: Option<String>,
    refused: Option<String>,
}

pub async fn page(State(state): State<App>, web: Web, Query(q): Query<BoardQuery>) -> Response {
    match build(&state, &web, q).await {
        Ok(page) => view::render(StatusCode::OK, &page),
        Err(e) => view::error_page(&e),
    }
}

async fn build(state: &App, web: &Web, q: BoardQuery) -> AppResult<BoardPage> {
    let all = {
        let mut conn = state.db.read().await?;
        pipelines::all(conn.exec(), web.ctx.org_id).await?
    };
    let wanted = q.pipeline_id.as_deref().and_then(|p| Uuid::parse_str(p.trim()).ok());
    let pipeline = match wanted {
        Some(id) => all.iter().find(|p| p.id == id).ok_or_else(AppError::not_found)?,
        None => all.first().ok_or_else(AppError::not_found)?,
    };
    let members = view::members(state, web.ctx.org_id).await?;
    let mut totals: HashMap<String, (i64, BTreeMap<String, i64>)> = HashMap::new();
    for (stage, currency, count, sum) in crate::services::analytics::stage_totals(state, &web.ctx, pipeline.id).await? {
        let entry = totals.entry(stage).or_default();
        entry.0 += count;
        *entry.1.entry(currency).or_default() += sum;
    }
    let mut columns = Vec::new();
    let mut contact_ids = Vec::new();
    let mut stage_deals = Vec::new();
    for stage in pipeline.stages.0.iter() {
        let page = deals::list(
            state,
            &web.ctx,
            &DealQuery {
                pipeline_id: Some(pipeline.id.to_string()),
                stage: Some(stage.key.clone()),
                limit: Some(PAGE_SIZE.into()),
                ..Default::default()
            },
        )
        .await?;
        contact_ids.extend(page.data.iter().map(|d| d.contact_id));
        stage_deals.push((stage, page.data));
    }
    contact_ids.sort();
    contact_ids.dedup();
    let names: HashMap<Uuid, String> = {
        let mut conn = state.db.read().await?;
        crate::services::records::names::<crate::services::contacts::Contact>(
            conn.exec(),
            web.ctx.org_id,
            "name",
            &contact_ids,
        )
        .await?
        .into_iter()
        .collect()
    };
    for (stage, deals) in stage_deals {
        let (count, sums) = totals.remove(&stage.key).unwrap_or_default();
        let total = if sums.is_empty() {
            String::new()
        } else {
            sums.iter()
                .map(|(c, cents)| view::money(*cents, c))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        columns.push(Column {
            key: stage.key.clone(),
            name: stage.name.clone(),
            count,
            total,
            cards: deals
                .iter()
                .map(|d| Card {
                    id: d.id.to_string(),
                    path: format!("/deals/{}", d.id),
                    title: d.title.clone(),
                    amount: view::money(d.amount_cents, &d.currency),
                    contact: names.get(&d.contact_id).cloned().unwrap_or_default(),
                    owner: view::member_name(&members, &d.owner_id),
                    status: d.status.clone(),
                    is_open: d.status == "new" || d.status == "in_progress",
                    is_new: d.status == "new",
                })
                .collect(),
        });
    }
    Ok(BoardPage {
        lost_reasons: super::related::lost_reasons(state, web).await?,
        shell: Shell::new(web, "board", format!("{} board", pipeline.name)),
        pipelines: all
            .iter()
            .map(|p| PipelineChoice {
                id: p.id.to_string(),
                name: p.name.clone(),
                selected: p.id == pipeline.id,
            })
            .collect(),
        columns,
        here: format!("/board?pipeline_id={}", pipeline.id),
        refused: q.refused.filter(|r| !r.is_empty()),
    })
}
