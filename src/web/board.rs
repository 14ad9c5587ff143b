//! The pipeline board: a column per stage with its count and total value,
//! cards with title, amount, contact and owner. Cards are dragged with
//! `static/app.js`, which posts the new stage to `/deals/{id}/stage`; a move
//! the rules refuse snaps back with the API's reason.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
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
    /// How long an open deal has been in its stage, in words.
    pub in_stage: String,
    pub is_open: bool,
    pub is_new: bool,
}

pub struct Column {
    /// The stage key; `closed-won` and `closed-lost` for the two columns
    /// that close a deal.
    pub key: String,
    pub name: String,
    /// `won` or `lost`: a card dropped here asks to be closed so (the Won
    /// confirmation or the Lost reason), instead of moving.
    pub closes: Option<&'static str>,
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
    members: Vec<view::Choice>,
    /// The owner filter's value, empty for everyone's deals.
    owner_id: String,
    columns: Vec<Column>,
    here: String,
    /// The shown pipeline: the board's New deal starts a deal in it.
    pipeline_id: String,
    refused: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    pipeline_id: Option<String>,
    owner_id: Option<String>,
    refused: Option<String>,
}

pub async fn page(State(state): State<App>, web: Web, Query(q): Query<BoardQuery>) -> Response {
    match build(&state, &web, q).await {
        Ok(page) => view::render(StatusCode::OK, &page),
        Err(e) => view::error_page(&e),
    }
}

/// The key of the won or lost column: `closed-won`, which no stage key can
/// be (`[a-z0-9_]`).
fn closed_key(status: &str) -> String {
    format!("closed-{status}")
}

/// `3 days`, `1 day`, `today`: how long ago `since` was.
fn days_since(since: DateTime<Utc>) -> String {
    match (crate::db::now() - since).num_days() {
        ..=0 => "today".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
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
    let owner = q.owner_id.as_deref().and_then(|o| Uuid::parse_str(o.trim()).ok());
    let members = view::members(state, web.ctx.org_id).await?;
    // Open stages by their key, the closed stage by status (won, lost).
    let mut totals: HashMap<String, (i64, BTreeMap<String, i64>)> = HashMap::new();
    for (stage, status, currency, count, sum) in
        crate::services::analytics::stage_totals(state, &web.ctx, pipeline.id, owner).await?
    {
        let key = if stage == pipelines::CLOSED {
            closed_key(&status)
        } else {
            stage
        };
        let entry = totals.entry(key).or_default();
        entry.0 += count;
        *entry.1.entry(currency).or_default() += sum;
    }
    let mut lanes: Vec<(String, String, Option<&'static str>)> = pipeline
        .stages
        .0
        .iter()
        .filter(|s| s.key != pipelines::CLOSED)
        .map(|s| (s.key.clone(), s.name.clone(), None))
        .collect();
    lanes.push((closed_key("won"), "Won".into(), Some("won")));
    lanes.push((closed_key("lost"), "Lost".into(), Some("lost")));
    let mut contact_ids = Vec::new();
    let mut lane_deals = Vec::new();
    for (key, name, closes) in lanes {
        let (stage, status) = match closes {
            Some(status) => (pipelines::CLOSED.to_string(), vec![status.to_string()]),
            None => (key.clone(), Vec::new()),
        };
        let page = deals::list(
            state,
            &web.ctx,
            &DealQuery {
                pipeline_id: Some(pipeline.id.to_string()),
                stage: Some(stage),
                status,
                owner_id: owner.map(|o| o.to_string()),
                limit: Some(PAGE_SIZE.into()),
                ..Default::default()
            },
        )
        .await?;
        contact_ids.extend(page.data.iter().map(|d| d.contact_id));
        lane_deals.push((key, name, closes, page.data));
    }
    let names: HashMap<Uuid, String> = {
        let mut conn = state.db.read().await?;
        crate::services::records::names::<crate::services::contacts::Contact>(
            conn.exec(),
            web.ctx.org_id,
            "name",
            &super::related::distinct(contact_ids.into_iter()),
        )
        .await?
        .into_iter()
        .collect()
    };
    let mut columns = Vec::new();
    for (key, name, closes, deals) in lane_deals {
        let (count, sums) = totals.remove(&key).unwrap_or_default();
        let total = sums
            .iter()
            .map(|(c, cents)| view::money(*cents, c))
            .collect::<Vec<_>>()
            .join(" · ");
        columns.push(Column {
            key,
            name,
            closes,
            count,
            total,
            cards: deals
                .iter()
                .map(|d| {
                    let is_open = d.is_open();
                    Card {
                        id: d.id.to_string(),
                        path: format!("/deals/{}", d.id),
                        title: d.title.clone(),
                        amount: view::money(d.amount_cents, &d.currency),
                        contact: names.get(&d.contact_id).cloned().unwrap_or_default(),
                        owner: view::member_name(&members, &d.owner_id),
                        in_stage: if is_open {
                            days_since(d.stage_changed_at)
                        } else {
                            String::new()
                        },
                        is_open,
                        is_new: d.status == "new",
                    }
                })
                .collect(),
        });
    }
    let mut here = format!("/board?pipeline_id={}", pipeline.id);
    if let Some(o) = owner {
        here.push_str(&format!("&owner_id={o}"));
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
        members,
        owner_id: owner.map(|o| o.to_string()).unwrap_or_default(),
        columns,
        here,
        pipeline_id: pipeline.id.to_string(),
        refused: q.refused.filter(|r| !r.is_empty()),
    })
}
