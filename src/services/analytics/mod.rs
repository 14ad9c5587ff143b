//! Analytics (api.md §6): the deal summary and the funnel of a pipeline.
//!
//! Results are cached in memory (moka, with a TTL as a backstop). Every write
//! that can change a result bumps its organization's generation, which is part
//! of the cache key, so the next read recomputes. On PostgreSQL the other
//! instances hear of it through `NOTIFY crm_analytics '<organization id>'`:
//! every instance sharing the database listens and bumps its own generation, so
//! a change is visible everywhere within a second of its commit.
//!
//! The NOTIFY is not sent inside the write's transaction. PostgreSQL serializes
//! the commits of notifying transactions on one lock, held through the WAL
//! flush, so 500 deal writes a second queued behind each other (benchmark W2).
//! Instead, [`notifier`] gathers the organizations written in the last
//! [`NOTIFY_EVERY`] and sends one notification for each in one transaction.
//! If the process dies in that gap, other instances keep a stale result until
//! the cache's TTL ends it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::App;
use crate::db::{Backend, Db, Exec, Tx};
use crate::error::{AppError, AppResult, Validator};

use crate::run;
use crate::services::orgs::OrgCtx;
use crate::services::records::{opt, parse_time, parse_uuid};

const CHANNEL: &str = "crm_analytics";

/// Cached analytics results, keyed by organization generation.
pub struct AnalyticsCache {
    results: moka::future::Cache<String, Arc<Value>>,
    generations: Mutex<HashMap<Uuid, u64>>,
    /// Bumped when notifications may have been missed: invalidates everything.
    epoch: AtomicU64,
    /// Organizations written since the last NOTIFY batch (PostgreSQL).
    unsent: Mutex<HashSet<Uuid>>,
    wake: tokio::sync::Notify,
}

/// How long [`notifier`] gathers changed organizations before it notifies.
const NOTIFY_EVERY: Duration = Duration::from_millis(50);

impl Default for AnalyticsCache {
    fn default() -> Self {
        Self {
            results: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(300))
                .build(),
            generations: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            unsent: Mutex::new(HashSet::new()),
            wake: tokio::sync::Notify::new(),
        }
    }
}

impl AnalyticsCache {
    fn key(&self, org: Uuid, rest: &str) -> String {
        let generation = self
            .generations
            .lock()
            .map(|g| g.get(&org).copied().unwrap_or(0))
            .unwrap_or(0);
        format!("{}:{org}:{generation}:{rest}", self.epoch.load(Ordering::SeqCst))
    }

    /// Makes every cached result of `org` stale.
    pub fn bump(&self, org: Uuid) {
        if let Ok(mut g) = self.generations.lock() {
            *g.entry(org).or_insert(0) += 1;
        }
    }

    /// Makes every cached result stale.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Commits a write that can change analytics of `org`: this instance forgets
/// its results at once, the other instances (PostgreSQL) within [`NOTIFY_EVERY`].
pub async fn commit(state: &App, tx: Tx, org: Uuid) -> Result<(), sqlx::Error> {
    tx.commit().await?;
    state.analytics.bump(org);
    if state.db.backend() == Backend::Postgres {
        if let Ok(mut unsent) = state.analytics.unsent.lock() {
            unsent.insert(org);
        }
        state.analytics.wake.notify_one();
    }
    Ok(())
}

/// Sends the NOTIFY batches of [`commit`] for as long as the server runs
/// (PostgreSQL only).
pub async fn notifier(state: App) {
    let Db::Postgres(pool) = &state.db else { return };
    loop {
        state.analytics.wake.notified().await;
        tokio::time::sleep(NOTIFY_EVERY).await;
        let orgs = take_unsent(&state);
        if orgs.is_empty() {
            continue;
        }
        if let Err(e) = send_notifications(pool, &orgs).await {
            tracing::warn!(error = %e, "analytics notifications not sent; retrying");
            if let Ok(mut unsent) = state.analytics.unsent.lock() {
                unsent.extend(orgs);
            }
            state.analytics.wake.notify_one();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Sends what [`notifier`] has not sent yet (on a graceful stop).
pub async fn flush_notifications(state: &App) {
    let Db::Postgres(pool) = &state.db else { return };
    let orgs = take_unsent(state);
    if !orgs.is_empty()
        && let Err(e) = send_notifications(pool, &orgs).await
    {
        tracing::warn!(error = %e, "analytics notifications lost at stop");
    }
}

/// The organizations written since the last batch, forgotten as taken.
fn take_unsent(state: &App) -> Vec<Uuid> {
    match state.analytics.unsent.lock() {
        Ok(mut unsent) => unsent.drain().collect(),
        Err(_) => Vec::new(),
    }
}

async fn send_notifications(pool: &sqlx::PgPool, orgs: &[Uuid]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Nothing here needs to be durable; do not hold the queue lock through a flush.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    for org in orgs {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(org.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Listens for other instances' changes (PostgreSQL only), for as long as the
/// server runs. After a lost connection everything cached is dropped, since
/// notifications may have been missed.
pub async fn listen(state: App) {
    let Db::Postgres(pool) = &state.db else { return };
    loop {
        match sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "analytics listener could not LISTEN");
                } else {
                    state.analytics.clear();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(n)) => match Uuid::parse_str(n.payload()) {
                                Ok(org) => state.analytics.bump(org),
                                Err(_) => state.analytics.clear(),
                            },
                            // The connection was lost and re-established.
                            Ok(None) => state.analytics.clear(),
                            Err(e) => {
                                tracing::warn!(error = %e, "analytics listener failed");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "analytics listener could not connect"),
        }
        state.analytics.clear();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Summary: all pipelines when absent. Funnel: the default pipeline when absent.
    #[param(value_type = Option<Uuid>)]
    pub pipeline_id: Option<String>,
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<String>,
    /// RFC 3339, inclusive.
    #[param(value_type = Option<DateTime<Utc>>)]
    pub created_after: Option<String>,
    /// RFC 3339, exclusive.
    #[param(value_type = Option<DateTime<Utc>>)]
    pub created_before: Option<String>,
}

/// The checked filters, with the visibility rule applied.
#[derive(Debug, Clone)]
struct Scope {
    pipeline_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    only_owner: Option<Uuid>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
}

impl Scope {
    fn parse(ctx: &OrgCtx, q: &AnalyticsQuery) -> AppResult<Scope> {
        let mut v = Validator::new();
        let pipeline_id = v
            .check("pipeline_id", opt(&q.pipeline_id).map(parse_uuid).transpose())
            .flatten();
        let owner_id = v
            .check("owner_id", opt(&q.owner_id).map(parse_uuid).transpose())
            .flatten();
        let created_after = v
            .check("created_after", opt(&q.created_after).map(parse_time).transpose())
            .flatten();
        let created_before = v
            .check("created_before", opt(&q.created_before).map(parse_time).transpose())
            .flatten();
        v.finish()?;
        Ok(Scope {
            pipeline_id,
            owner_id,
            only_owner: ctx.sees_only_own().then_some(ctx.user_id),
            created_after,
            created_before,
        })
    }

    fn cache_key(&self, what: &str) -> String {
        format!(
            "{what}:{:?}:{:?}:{:?}:{:?}:{:?}",
            self.pipeline_id, self.owner_id, self.only_owner, self.created_after, self.created_before
        )
    }

    /// ` AND …` conditions and their binds, in order after `$1` (the organization).
    fn push<'q, DB>(&self, q: &mut sqlx::QueryBuilder<'q, DB>)
    where
        DB: sqlx::Database,
        Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        for (column, value) in [
            ("pipeline_id", self.pipeline_id),
            ("owner_id", self.owner_id),
            ("owner_id", self.only_owner),
        ] {
            if let Some(value) = value {
                q.push(format!(" AND {column} = ")).push_bind(value);
            }
        }
        if let Some(at) = self.created_after {
            q.push(" AND created_at >= ").push_bind(at);
        }
        if let Some(at) = self.created_before {
            q.push(" AND created_at < ").push_bind(at);
        }
    }
}

/// Counts and amounts of one status.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusFigures {
    pub count: i64,
    /// Sum per currency, as decimal strings.
    #[schema(value_type = Object)]
    pub amount: Map<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    pub total: i64,
    /// Always `new`, `in_progress`, `won` and `lost`.
    #[schema(value_type = Object)]
    pub by_status: Map<String, Value>,
    /// won / (won + lost); null when no deal is closed.
    pub win_rate: Option<f64>,
    /// Per currency, as decimal strings.
    #[schema(value_type = Object)]
    pub average_won_amount: Map<String, Value>,
    /// Fractional days from creation to winning, to 4 decimals; null when
    /// nothing is won.
    pub average_days_to_close: Option<f64>,
}

/// The deal summary as the API answers it (also the dashboard's cards).
pub async fn deal_summary(state: &App, ctx: &OrgCtx, query: &AnalyticsQuery) -> AppResult<Value> {
    let scope = Scope::parse(ctx, query)?;
    let key = state.analytics.key(ctx.org_id, &scope.cache_key("summary"));
    cached(state, key, async {
        let mut conn = state.db.read().await?;
        compute_summary(conn.exec(), ctx.org_id, &scope).await
    })
    .await
}

/// Deals won since `since` (closed then or later): their count and amount
/// per currency, as `{"count": n, "amount": {"USD": "1500.00"}}` (the
/// dashboard's "won this month").
pub async fn won_since(state: &App, ctx: &OrgCtx, since: DateTime<Utc>) -> AppResult<Value> {
    let only_owner = ctx.sees_only_own().then_some(ctx.user_id);
    let key = state
        .analytics
        .key(ctx.org_id, &format!("won_since:{since:?}:{only_owner:?}"));
    cached(state, key, async {
        let mut conn = state.db.read().await?;
        let rows: Vec<(String, i64, i64)> = run!(conn.exec(), c => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT currency, COUNT(*), CAST(SUM(amount_cents) AS BIGINT) FROM deals WHERE organization_id = ",
            );
            q.push_bind(ctx.org_id).push(" AND status = 'won' AND closed_at >= ").push_bind(since);
            if let Some(user) = only_owner {
                q.push(" AND owner_id = ").push_bind(user);
            }
            q.push(" GROUP BY currency ORDER BY currency");
            q.build_query_as().fetch_all(c).await
        })?;
        let count: i64 = rows.iter().map(|r| r.1).sum();
        let amount: Map<String, Value> = rows
            .into_iter()
            .map(|(currency, _, sum)| (currency, Value::String(crate::format::cents(sum))))
            .collect();
        Ok(json!({"count": count, "amount": amount}))
    })
    .await
}

/// `(stage, status, currency, count, cents)`: a row of [`stage_totals`].
pub type StageTotal = (String, String, String, i64, i64);

/// Deals per stage, status and currency of a pipeline (of one owner, or
/// everyone's) with their total amount, as the caller may see them: the
/// board's column headers. Cached like the funnel (a pipeline of the
/// benchmark's large organization holds 300k deals).
pub async fn stage_totals(
    state: &App,
    ctx: &OrgCtx,
    pipeline: Uuid,
    owner: Option<Uuid>,
) -> AppResult<Vec<StageTotal>> {
    let only_owner = ctx.sees_only_own().then_some(ctx.user_id);
    let key = state
        .analytics
        .key(ctx.org_id, &format!("stage_totals:{pipeline}:{only_owner:?}:{owner:?}"));
    let value = cached(state, key, async {
        let mut conn = state.db.read().await?;
        let rows: Vec<StageTotal> = run!(conn.exec(), c => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT stage, status, currency, COUNT(*), CAST(SUM(amount_cents) AS BIGINT) FROM deals WHERE organization_id = ",
            );
            q.push_bind(ctx.org_id).push(" AND pipeline_id = ").push_bind(pipeline);
            for user in [only_owner, owner].into_iter().flatten() {
                q.push(" AND owner_id = ").push_bind(user);
            }
            q.push(" GROUP BY stage, status, currency");
            q.build_query_as().fetch_all(c).await
        })?;
        serde_json::to_value(rows).map_err(AppError::internal)
    })
    .await?;
    serde_json::from_value(value).map_err(AppError::internal)
}

/// The cached result under `key`, computed by `compute` on a miss. Requests
/// that miss at the same moment wait for one computation instead of each
/// running the aggregate (a burst right after a write would otherwise pile up
/// on the database).
async fn cached(state: &App, key: String, compute: impl Future<Output = AppResult<Value>>) -> AppResult<Value> {
    let mut failure = None;
    let hit = state
        .analytics
        .results
        .optionally_get_with(key, async {
            match compute.await {
                Ok(value) => Some(Arc::new(value)),
                Err(e) => {
                    failure = Some(e);
                    None
                }
            }
        })
        .await;
    match (hit, failure) {
        (Some(value), _) => Ok((*value).clone()),
        (None, Some(e)) => Err(e),
        // Another request's computation failed while this one waited for it.
        (None, None) => Err(crate::error::AppError::unavailable()),
    }
}

async fn compute_summary(mut c: Exec<'_>, org: Uuid, scope: &Scope) -> AppResult<Value> {
    let rows: Vec<(String, String, i64, i64)> = run!(c.re(), conn => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT status, currency, COUNT(*), CAST(SUM(amount_cents) AS BIGINT) FROM deals WHERE organization_id = ",
        );
        q.push_bind(org);
        scope.push(&mut q);
        q.push(" GROUP BY status, currency ORDER BY status, currency");
        q.build_query_as().fetch_all(conn).await
    })?;
    let days_sql = match c.backend() {
        Backend::Sqlite => {
            "SELECT AVG(julianday(closed_at) - julianday(created_at)) FROM deals WHERE organization_id = "
        }
        Backend::Postgres => {
            "SELECT CAST(AVG(EXTRACT(EPOCH FROM (closed_at - created_at))) / 86400.0 AS DOUBLE PRECISION) FROM deals WHERE organization_id = "
        }
    };
    let days: Option<f64> = run!(c.re(), conn => {
        let mut q = sqlx::QueryBuilder::new(days_sql);
        q.push_bind(org);
        scope.push(&mut q);
        q.push(" AND status = 'won'");
        q.build_query_scalar().fetch_one(conn).await
    })?;

    let mut by_status = Map::new();
    let mut won_avg = Map::new();
    let (mut total, mut won, mut lost) = (0, 0, 0);
    for status in ["new", "in_progress", "won", "lost"] {
        let mut count = 0;
        let mut amount = Map::new();
        for (_, currency, n, sum) in rows.iter().filter(|r| r.0 == status) {
            count += n;
            amount.insert(currency.clone(), Value::String(crate::format::cents(*sum)));
            if status == "won" && *n > 0 {
                won_avg.insert(currency.clone(), Value::String(crate::format::cents((sum + n / 2) / n)));
            }
        }
        total += count;
        match status {
            "won" => won = count,
            "lost" => lost = count,
            _ => {}
        }
        by_status.insert(status.to_string(), json!({"count": count, "amount": amount}));
    }
    let win_rate = (won + lost > 0).then(|| won as f64 / (won + lost) as f64);
    let summary = Summary {
        total,
        by_status,
        win_rate,
        average_won_amount: won_avg,
        // To 4 decimals (about 9 seconds): SQLite's date functions count
        // milliseconds, PostgreSQL's microseconds, and the same deals must
        // answer the same on both (an organization moved between them).
        average_days_to_close: days.map(|d| (d * 10_000.0).round() / 10_000.0),
    };
    serde_json::to_value(summary).map_err(AppError::internal)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelStage {
    pub stage: String,
    /// Deals now in the stage.
    pub current: i64,
    /// Deals whose furthest stage is this one or a later one: the furthest
    /// open stage a deal was ever in, `closed` for a won deal (so `entered`
    /// of `closed` is the won deals, and a lost deal stops where it was lost).
    pub entered: i64,
    /// Deals lost while in this stage (0 for `closed`).
    pub lost: i64,
    /// entered(next stage) / entered(this stage); null when entered is 0 and for `closed`.
    pub conversion_rate: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Funnel {
    pub pipeline_id: Uuid,
    pub stages: Vec<FunnelStage>,
    pub won: i64,
    pub lost: i64,
}

/// The funnel as the API answers it (also the dashboard's chart).
pub async fn deal_funnel(state: &App, ctx: &OrgCtx, query: &AnalyticsQuery) -> AppResult<Value> {
    let scope = Scope::parse(ctx, query)?;
    let key = state.analytics.key(ctx.org_id, &scope.cache_key("funnel"));
    cached(state, key, async {
        let mut conn = state.db.read().await?;
        compute_funnel(conn.exec(), ctx.org_id, scope).await
    })
    .await
}

async fn compute_funnel(mut c: Exec<'_>, org: Uuid, mut scope: Scope) -> AppResult<Value> {
    let pipeline = match scope.pipeline_id {
        Some(id) => crate::services::pipelines::find(c.re(), org, id).await?,
        None => crate::services::pipelines::find_default(c.re(), org).await?,
    }
    .ok_or_else(|| AppError::field("pipeline_id", "not a pipeline of this organization"))?;
    scope.pipeline_id = Some(pipeline.id);
    let rows: Vec<(String, String, i64, Option<String>, i64)> = run!(c, conn => {
        let mut q = sqlx::QueryBuilder::new(
            "SELECT stage, status, furthest_position, closed_from, COUNT(*) FROM deals WHERE organization_id = ",
        );
        q.push_bind(org);
        scope.push(&mut q);
        q.push(" GROUP BY stage, status, furthest_position, closed_from");
        q.build_query_as().fetch_all(conn).await
    })?;
    let stages = &pipeline.stages.0;
    let first = stages.iter().map(|s| s.position).min().unwrap_or(0);
    let position = |key: &Option<String>| {
        key.as_deref()
            .and_then(|k| pipeline.stage(k))
            .map_or(first, |s| s.position)
    };
    let closed = pipeline
        .stage(crate::services::pipelines::CLOSED)
        .map_or(i64::MAX, |s| s.position);
    // The position of each row's furthest stage.
    let reached: Vec<(i64, i64)> = rows
        .iter()
        .map(|(_, status, furthest, from, n)| match status.as_str() {
            "won" => (closed, *n),
            // Lost before `closed_from` existed: `closed` was stored as the furthest.
            "lost" if *furthest >= closed => (position(from), *n),
            _ => (*furthest, *n),
        })
        .collect();
    let entered: Vec<i64> = stages
        .iter()
        .map(|s| reached.iter().filter(|r| r.0 >= s.position).map(|r| r.1).sum())
        .collect();
    let funnel_stages = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let conversion_rate = match entered.get(i + 1) {
                Some(next) if entered[i] > 0 && s.key != crate::services::pipelines::CLOSED => {
                    Some(*next as f64 / entered[i] as f64)
                }
                _ => None,
            };
            FunnelStage {
                stage: s.key.clone(),
                current: rows.iter().filter(|r| r.0 == s.key).map(|r| r.4).sum(),
                entered: entered[i],
                lost: rows
                    .iter()
                    .filter(|r| {
                        r.1 == "lost"
                            && r.3.as_deref() == Some(s.key.as_str())
                            && s.key != crate::services::pipelines::CLOSED
                    })
                    .map(|r| r.4)
                    .sum(),
                conversion_rate,
            }
        })
        .collect();
    let count = |status: &str| rows.iter().filter(|r| r.1 == status).map(|r| r.4).sum();
    let funnel = Funnel {
        pipeline_id: pipeline.id,
        stages: funnel_stages,
        won: count("won"),
        lost: count("lost"),
    };
    serde_json::to_value(funnel).map_err(AppError::internal)
}

/// The filters of `GET /analytics/leads/sources`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeadSourcesQuery {
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<String>,
    /// Leads created at or after (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub created_after: Option<String>,
    /// Leads created before (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub created_before: Option<String>,
}

/// One source's way from lead to revenue.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadSource {
    /// Null for leads without a source.
    pub source: Option<String>,
    pub leads: i64,
    pub converted: i64,
    /// converted / leads.
    pub conversion_rate: f64,
    /// Won deals made by converting the source's leads.
    pub won_deals: i64,
    /// Their amounts per currency, as decimal strings.
    #[schema(value_type = Object)]
    pub won_amount: Map<String, Value>,
}

/// `{data: [LeadSource]}`, most leads first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadSources {
    pub data: Vec<LeadSource>,
}

/// Lead to revenue per source (leads.md): the leads, how many converted,
/// and the won deals their conversions made, per currency. Cached like the
/// deal analytics and dropped by every lead or deal write.
pub async fn lead_sources(state: &App, ctx: &OrgCtx, query: &LeadSourcesQuery) -> AppResult<Value> {
    let scope = Scope::parse(
        ctx,
        &AnalyticsQuery {
            pipeline_id: None,
            owner_id: query.owner_id.clone(),
            created_after: query.created_after.clone(),
            created_before: query.created_before.clone(),
        },
    )?;
    let key = state.analytics.key(ctx.org_id, &scope.cache_key("lead_sources"));
    cached(state, key, async {
        let mut conn = state.db.read().await?;
        let mut c = conn.exec();
        let counts: Vec<(Option<String>, i64, i64)> = run!(c.re(), conn => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT source, COUNT(*), CAST(SUM(CASE WHEN status = 'converted' THEN 1 ELSE 0 END) AS BIGINT) \
                 FROM leads WHERE organization_id = ",
            );
            q.push_bind(ctx.org_id);
            scope.push(&mut q);
            q.push(" GROUP BY source");
            q.build_query_as().fetch_all(conn).await
        })?;
        let won: Vec<(Option<String>, String, i64, i64)> = run!(c.re(), conn => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT l.source, d.currency, COUNT(*), CAST(SUM(d.amount_cents) AS BIGINT) FROM deals AS d \
                 JOIN (SELECT source, converted_deal_id FROM leads WHERE organization_id = ",
            );
            q.push_bind(ctx.org_id);
            scope.push(&mut q);
            q.push(" AND converted_deal_id IS NOT NULL) AS l ON d.id = l.converted_deal_id WHERE d.organization_id = ")
                .push_bind(ctx.org_id)
                .push(" AND d.status = 'won' GROUP BY l.source, d.currency");
            q.build_query_as().fetch_all(conn).await
        })?;
        let mut data: Vec<LeadSource> = counts
            .into_iter()
            .map(|(source, leads, converted)| LeadSource {
                conversion_rate: if leads > 0 {
                    converted as f64 / leads as f64
                } else {
                    0.0
                },
                source,
                leads,
                converted,
                won_deals: 0,
                won_amount: Map::new(),
            })
            .collect();
        for (source, currency, deals, cents) in won {
            if let Some(row) = data.iter_mut().find(|r| r.source == source) {
                row.won_deals += deals;
                row.won_amount
                    .insert(currency, Value::String(crate::format::cents(cents)));
            }
        }
        // Most leads first; then by name, the leads without a source last.
        data.sort_by(|a, b| {
            b.leads
                .cmp(&a.leads)
                .then_with(|| a.source.is_none().cmp(&b.source.is_none()))
                .then_with(|| a.source.cmp(&b.source))
        });
        serde_json::to_value(LeadSources { data }).map_err(crate::error::AppError::internal)
    })
    .await
}
