//! The dashboard: deal cards, the funnel of the default pipeline as a
//! server-rendered SVG, my tasks due soon and recent activity.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, TimeZone, Utc};
use serde_json::Value;

use super::session::Web;
use super::view::{self, Shell};
use crate::app::App;
use crate::error::AppResult;
use crate::services::activities::{self, Activity};
use crate::services::analytics::{self, AnalyticsQuery};
use crate::services::deals::parse_amount;
use crate::services::tasks::{self, Task, TaskQuery};

/// One bar of the funnel chart, laid out on the server.
pub struct FunnelBar {
    pub label: String,
    pub entered: i64,
    pub current: i64,
    pub conversion: String,
    pub y: i64,
    pub width: i64,
    pub text_y: i64,
}

pub struct ActivityLine {
    pub text: String,
    /// A comment: the text is the author's own words.
    pub comment: bool,
    /// A call or meeting logged by hand, in words with its time (`Call on
    /// 2026-12-05 14:00`); its text is the author's note.
    pub logged: String,
    pub author: String,
    /// The deal's title, where entries of several deals mix (the dashboard).
    pub deal: String,
    pub href: String,
    pub when: String,
}

pub struct TaskLine {
    pub id: String,
    pub title: String,
    pub due: String,
    pub overdue: bool,
    pub done: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    open_count: i64,
    open_value: Vec<String>,
    won_count: i64,
    won_value: Vec<String>,
    win_rate: String,
    overdue: i64,
    overdue_text: String,
    funnel: Vec<FunnelBar>,
    funnel_height: i64,
    funnel_won: i64,
    funnel_lost: i64,
    my_tasks: Vec<TaskLine>,
    activity: Vec<ActivityLine>,
}

pub async fn page(State(state): State<App>, web: Web) -> Response {
    match build(&state, web).await {
        Ok(page) => view::render(StatusCode::OK, &page),
        Err(e) => view::error_page(&e),
    }
}

/// Sums the `amount` maps (`{"USD": "1500.00"}`) of the given statuses.
fn amounts(summary: &Value, statuses: &[&str]) -> (i64, Vec<String>) {
    let mut count = 0;
    let mut by_currency: BTreeMap<String, i64> = BTreeMap::new();
    for status in statuses {
        let figures = &summary["by_status"][status];
        count += figures["count"].as_i64().unwrap_or(0);
        add_amounts(&figures["amount"], &mut by_currency);
    }
    (count, format_amounts(&by_currency))
}

fn add_amounts(amount: &Value, into: &mut BTreeMap<String, i64>) {
    if let Some(map) = amount.as_object() {
        for (currency, value) in map {
            let cents = parse_amount(value).ok().flatten().unwrap_or(0);
            *into.entry(currency.clone()).or_default() += cents;
        }
    }
}

fn format_amounts(by_currency: &BTreeMap<String, i64>) -> Vec<String> {
    if by_currency.is_empty() {
        return vec!["—".to_string()];
    }
    by_currency.iter().map(|(c, cents)| view::money(*cents, c)).collect()
}

async fn build(state: &App, web: Web) -> AppResult<DashboardPage> {
    let ctx = web.ctx;
    let summary = analytics::deal_summary(state, &ctx, &AnalyticsQuery::default()).await?;
    let (open_count, open_value) = amounts(&summary, &["new", "in_progress"]);
    let now = Utc::now();
    let month_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let won = analytics::won_since(state, &ctx, month_start).await?;
    let won_count = won["count"].as_i64().unwrap_or(0);
    let mut won_amounts = BTreeMap::new();
    add_amounts(&won["amount"], &mut won_amounts);
    let win_rate = summary["win_rate"]
        .as_f64()
        .map_or_else(|| "—".to_string(), |r| format!("{:.0}%", r * 100.0));
    let overdue = tasks::count_overdue(state, &ctx).await?;

    let funnel = analytics::deal_funnel(state, &ctx, &AnalyticsQuery::default()).await?;
    let names = {
        let mut conn = state.db.read().await?;
        crate::services::pipelines::find_default(conn.exec(), ctx.org_id)
            .await?
            .map(|p| p.stages)
            .unwrap_or_default()
    };
    let stages = funnel["stages"].as_array().cloned().unwrap_or_default();
    let max = stages
        .iter()
        .filter_map(|s| s["entered"].as_i64())
        .max()
        .unwrap_or(0)
        .max(1);
    let bars: Vec<FunnelBar> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let key = s["stage"].as_str().unwrap_or_default();
            let entered = s["entered"].as_i64().unwrap_or(0);
            let y = i as i64 * 40;
            FunnelBar {
                label: names
                    .iter()
                    .find(|st| st.key == key)
                    .map_or_else(|| key.to_string(), |st| st.name.clone()),
                entered,
                current: s["current"].as_i64().unwrap_or(0),
                conversion: s["conversion_rate"]
                    .as_f64()
                    .map(|r| format!("{:.0}% go on", r * 100.0))
                    .unwrap_or_default(),
                y,
                width: (entered * 420 / max).max(2),
                text_y: y + 20,
            }
        })
        .collect();
    let funnel_height = (bars.len() as i64 * 40).max(40);

    let mine = tasks::list(
        state,
        &ctx,
        &TaskQuery {
            assignee_id: Some(ctx.user_id.to_string()),
            is_done: Some("false".into()),
            limit: Some("8".into()),
            ..Default::default()
        },
    )
    .await?;
    let my_tasks = mine.data.iter().map(|t| task_line(t, now)).collect();

    let recent = {
        let mut conn = state.db.read().await?;
        activities::recent(conn.exec(), ctx.org_id, ctx.sees_only_own().then_some(ctx.user_id), 10).await?
    };
    Ok(DashboardPage {
        shell: Shell::new(&web, "dashboard", "Dashboard"),
        open_count,
        open_value,
        won_count,
        won_value: format_amounts(&won_amounts),
        win_rate,
        overdue,
        overdue_text: if overdue > tasks::OVERDUE_COUNT_CAP {
            format!("{}+", tasks::OVERDUE_COUNT_CAP)
        } else {
            overdue.to_string()
        },
        funnel: bars,
        funnel_height,
        funnel_won: funnel["won"].as_i64().unwrap_or(0),
        funnel_lost: funnel["lost"].as_i64().unwrap_or(0),
        my_tasks,
        activity: {
            let members = view::members(state, ctx.org_id).await?;
            let names = Names::of(state, ctx.org_id, &members, &recent, true).await?;
            recent.iter().map(|a| activity_line(a, &names)).collect()
        },
    })
}

pub fn task_line(t: &Task, now: chrono::DateTime<Utc>) -> TaskLine {
    TaskLine {
        id: t.id.to_string(),
        title: t.title.clone(),
        due: t
            .due_date
            .as_ref()
            .map(view::time)
            .unwrap_or_else(|| "no due date".into()),
        overdue: t.is_overdue(now),
        done: t.is_done,
    }
}

/// A timeline entry in words.
/// What a timeline needs to say its entries in words: stage names, members'
/// names, and (where entries of several deals mix) the deals' titles.
pub struct Names<'a> {
    stages: Vec<(String, String)>,
    members: &'a [super::view::Choice],
    deals: Vec<(uuid::Uuid, String)>,
}

impl<'a> Names<'a> {
    /// The names `activities` mention, with the organization's `members`
    /// (the caller's page has them already); `with_deals` adds their deals'
    /// titles.
    pub async fn of(
        state: &App,
        org: uuid::Uuid,
        members: &'a [super::view::Choice],
        activities: &[Activity],
        with_deals: bool,
    ) -> AppResult<Names<'a>> {
        let mut conn = state.db.read().await?;
        let stages = crate::services::pipelines::all(conn.exec(), org)
            .await?
            .into_iter()
            .flat_map(|p| p.stages.0.into_iter().map(|s| (s.key, s.name)))
            .collect();
        let deals = if with_deals {
            let ids = super::related::distinct(activities.iter().filter_map(|a| a.deal_id));
            crate::services::records::names::<crate::services::deals::Deal>(conn.exec(), org, "title", &ids).await?
        } else {
            Vec::new()
        };
        Ok(Names { stages, members, deals })
    }

    fn stage(&self, key: &str) -> String {
        self.stages
            .iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| key.replace('_', " "), |(_, name)| name.clone())
    }
}

/// A timeline entry in words, as a person would write it ("Moved from
/// Qualification to Proposal", "Won"); a comment keeps its line breaks (the
/// page shows them) and names its author.
pub fn activity_line(a: &Activity, names: &Names) -> ActivityLine {
    let p = &a.payload.0;
    let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    let text = match a.kind.as_str() {
        "comment" | "call" | "meeting" => s("text"),
        "status_changed" => match (s("from").as_str(), s("to").as_str()) {
            (_, "won") => "Won".to_string(),
            (_, "lost") => "Lost".to_string(),
            ("won" | "lost", _) => "Reopened".to_string(),
            ("new", "in_progress") => "Work started".to_string(),
            (from, to) => format!(
                "Status changed from {} to {}",
                from.replace('_', " "),
                to.replace('_', " ")
            ),
        },
        "stage_changed" => format!("Moved from {} to {}", names.stage(&s("from")), names.stage(&s("to"))),
        "task_created" => format!("Task created: {}", s("title")),
        "task_completed" => format!("Task completed: {}", s("title")),
        _ if s("event") == "deal_created" => "Deal created".to_string(),
        _ if s("event") == "lead_converted" => "Converted from a lead".to_string(),
        other => other.replace('_', " "),
    };
    let href = match (a.deal_id, a.contact_id) {
        (Some(deal), _) => format!("/deals/{deal}"),
        (None, Some(contact)) => format!("/contacts/{contact}"),
        _ => String::new(),
    };
    // A call or meeting logged by hand: what it was and when it took place.
    let logged = match a.kind.as_str() {
        "call" | "meeting" => {
            let what = if a.kind == "call" { "Call" } else { "Meeting" };
            match p["occurred_at"]
                .as_str()
                .and_then(|t| crate::services::records::parse_time(t).ok())
            {
                Some(at) => format!("{what} on {}", view::time(&at)),
                None => what.to_string(),
            }
        }
        _ => String::new(),
    };
    ActivityLine {
        text,
        logged,
        comment: a.kind == "comment",
        author: a
            .author_id
            .map(|id| view::member_name(names.members, &id))
            .unwrap_or_default(),
        deal: super::related::name_of(&names.deals, a.deal_id),
        href,
        when: view::time(&a.created_at),
    }
}
