//! Pipelines `/api/v1/pipelines` (api.md §5, §7 "Pipelines"): ordered stages
//! that deals move through. Every organization has one default pipeline; the
//! last stage of every pipeline is `closed`. Managed by admins and owners.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::audit::{self, Event};
use crate::services::idempotency::{Created, Idempotency};
use crate::services::orgs::{OrgCtx, Role};
use crate::services::records::IfMatch;
use crate::services::validate;

/// The stage every pipeline ends with; deals reach it only by being won or lost.
pub const CLOSED: &str = "closed";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Stage {
    /// `[a-z0-9_]{1,40}`, unique in the pipeline.
    pub key: String,
    pub name: String,
    /// 0-based index in the pipeline.
    pub position: i64,
    /// Win probability in percent (0..100), when set.
    pub probability: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Pipeline {
    pub id: Uuid,
    pub name: String,
    pub is_default: bool,
    #[schema(value_type = Vec<Stage>)]
    pub stages: SqlJson<Vec<Stage>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Pipeline {
    pub fn stage(&self, key: &str) -> Option<&Stage> {
        self.stages.0.iter().find(|s| s.key == key)
    }

    /// The first stage: where new deals start.
    pub fn first_stage(&self) -> Option<&Stage> {
        self.stages.0.first()
    }
}

const COLUMNS: &str = "id, name, is_default, stages, created_at, updated_at, version";

pub fn default_stages() -> Vec<Stage> {
    stages(&[
        ("qualification", "Qualification", 10),
        ("proposal", "Proposal", 40),
        ("negotiation", "Negotiation", 70),
        (CLOSED, "Closed", 100),
    ])
}

/// Stages in the given order: (key, name, win probability in percent).
pub fn stages(list: &[(&str, &str, i64)]) -> Vec<Stage> {
    list.iter()
        .enumerate()
        .map(|(i, &(key, name, p))| Stage {
            key: key.into(),
            name: name.into(),
            position: i as i64,
            probability: Some(p),
        })
        .collect()
}

/// Creates the default pipeline of a new organization.
pub async fn create_default(c: Exec<'_>, org: Uuid) -> Result<Pipeline, sqlx::Error> {
    let now = crate::db::now();
    let pipeline = Pipeline {
        id: crate::db::new_id(),
        name: "Sales".into(),
        is_default: true,
        stages: SqlJson(default_stages()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    insert(c, org, &pipeline).await?;
    Ok(pipeline)
}

/// Inserts `p` as it is (a new pipeline, or a restored one).
pub async fn insert(c: Exec<'_>, org: Uuid, p: &Pipeline) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO pipelines (organization_id, id, name, is_default, stages, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(org)
    .bind(p.id)
    .bind(&p.name)
    .bind(p.is_default)
    .bind(&p.stages)
    .bind(p.created_at)
    .bind(p.updated_at)
    .bind(p.version)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find(c: Exec<'_>, org: Uuid, id: Uuid) -> Result<Option<Pipeline>, sqlx::Error> {
    let lock = c.for_update();
    find_locked(c, org, id, lock).await
}

/// The pipeline a deal write checks its stage against: held unchanged until
/// the write commits (a stage edit waits), while other deal writes go on. With
/// `FOR UPDATE` every write to the pipeline's deals queued on its row (W2 p50
/// of 5 s at 500 writes/s).
pub async fn find_for_deal(c: Exec<'_>, org: Uuid, id: Uuid) -> Result<Option<Pipeline>, sqlx::Error> {
    let lock = c.for_key_share();
    find_locked(c, org, id, lock).await
}

async fn find_locked(c: Exec<'_>, org: Uuid, id: Uuid, lock: &str) -> Result<Option<Pipeline>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM pipelines WHERE organization_id = $1 AND id = $2{lock}");
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(id).fetch_optional(conn).await)
}

pub async fn find_default(c: Exec<'_>, org: Uuid) -> Result<Option<Pipeline>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pipelines WHERE organization_id = $1 AND is_default = $2{}",
        c.for_key_share()
    );
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(true).fetch_optional(conn).await)
}

/// How many deals are in `pipeline` (in `stage`, when given).
async fn count_deals(c: Exec<'_>, org: Uuid, pipeline: Uuid, stage: Option<&str>) -> Result<i64, sqlx::Error> {
    run!(c, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM deals WHERE organization_id = $1 AND pipeline_id = $2 AND ($3 IS NULL OR stage = $3)",
    )
    .bind(org)
    .bind(pipeline)
    .bind(stage)
    .fetch_one(conn)
    .await)
}

/// A stage as sent: its place in the list is its position.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    pub key: String,
    pub name: String,
    #[serde(default, deserialize_with = "crate::services::records::whole_number")]
    pub probability: Option<i64>,
    /// Ignored (the order of the list decides), so a client can send back what it read.
    #[serde(default)]
    #[schema(ignore)]
    pub position: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePipeline {
    pub name: String,
    /// In order; `closed` is appended when not given last.
    pub stages: Vec<StageInput>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePipeline {
    pub name: Option<String>,
    /// Replaces the stage list (same form as on create). A kept key keeps its deals.
    pub stages: Option<Vec<StageInput>>,
    /// `true` makes this the organization's default pipeline.
    pub is_default: Option<bool>,
}

/// Checks a stage list and makes it canonical: positions from the order,
/// `closed` last.
fn check_stages(input: Vec<StageInput>, v: &mut Validator) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let count = input.len();
    for (i, s) in input.into_iter().enumerate() {
        let field = |f: &str| format!("stages[{i}].{f}");
        let key = s.key.trim().to_string();
        let key_ok = (1..=40).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            v.add(field("key"), "must match [a-z0-9_]{1,40}");
        } else if stages.iter().any(|st| st.key == key) {
            v.add(field("key"), "is used twice in this pipeline");
        } else if key == CLOSED && i + 1 != count {
            v.add(field("key"), "`closed` can only be the last stage");
        }
        let name = v
            .check(&field("name"), validate::required_text(&s.name, 100))
            .unwrap_or_default();
        if let Some(p) = s.probability
            && !(0..=100).contains(&p)
        {
            v.add(field("probability"), "must be from 0 to 100");
        }
        stages.push(Stage {
            key,
            name,
            position: i as i64,
            probability: s.probability,
        });
    }
    if stages.last().is_none_or(|s| s.key != CLOSED) {
        stages.push(Stage {
            key: CLOSED.into(),
            name: "Closed".into(),
            position: stages.len() as i64,
            probability: Some(100),
        });
    }
    if stages.len() < 2 {
        v.add("stages", "needs at least one stage before `closed`");
    }
    stages
}

/// Every pipeline of the organization, the default one first.
pub async fn all(c: Exec<'_>, org: Uuid) -> Result<Vec<Pipeline>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM pipelines WHERE organization_id = $1 ORDER BY is_default DESC, created_at, id");
    run!(c, conn => sqlx::query_as(&sql).bind(org).fetch_all(conn).await)
}

/// Creates a pipeline (the API's create and the settings page): admin and owner.
pub async fn create(
    state: &App,
    ctx: &OrgCtx,
    idempotency: &Idempotency,
    input: CreatePipeline,
) -> AppResult<Created<Pipeline>> {
    ctx.require(Role::Admin)?;
    let mut v = Validator::new();
    let name = v
        .check("name", validate::required_text(&input.name, 200))
        .unwrap_or_default();
    let stages = check_stages(input.stages, &mut v);
    v.finish()?;
    let mut tx = state.db.begin().await?;
    if let Some(replay) = idempotency.replay(tx.exec()).await? {
        return Ok(Created::Replayed(replay));
    }
    let now = crate::db::now();
    let pipeline = Pipeline {
        id: crate::db::new_id(),
        name,
        is_default: false,
        stages: SqlJson(stages),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    insert(tx.exec(), ctx.org_id, &pipeline).await?;
    log_change(tx.exec(), ctx, pipeline.id, "created").await?;
    idempotency.save_created(tx.exec(), &pipeline).await?;
    crate::services::analytics::commit(state, tx, ctx.org_id).await?;
    Ok(Created::New(pipeline))
}

async fn log_change(c: Exec<'_>, ctx: &OrgCtx, pipeline: Uuid, change: &str) -> Result<(), sqlx::Error> {
    let event = Event::new("pipeline.changed")
        .by(ctx)
        .target("pipeline", pipeline)
        .details(json!({ "change": change }));
    audit::record(c, ctx.org_id, &event).await
}

/// Renames a pipeline, replaces its stages or makes it the default (the API's
/// PATCH and the settings page): admin and owner.
pub async fn update(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    if_match: IfMatch,
    input: UpdatePipeline,
) -> AppResult<Pipeline> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let current = find(tx.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)?;
    if_match.check(current.version)?;
    let mut v = Validator::new();
    let name = match &input.name {
        Some(name) => v.check("name", validate::required_text(name, 200)).unwrap_or_default(),
        None => current.name.clone(),
    };
    let stages = input
        .stages
        .map(|s| check_stages(s, &mut v))
        .unwrap_or_else(|| current.stages.0.clone());
    if input.is_default == Some(false) && current.is_default {
        v.add("is_default", "make another pipeline the default instead");
    }
    v.finish()?;
    let make_default = input.is_default == Some(true) && !current.is_default;
    if name == current.name && stages == current.stages.0 && !make_default {
        return Ok(current);
    }
    for removed in current
        .stages
        .0
        .iter()
        .filter(|old| !stages.iter().any(|s| s.key == old.key))
    {
        if count_deals(tx.exec(), ctx.org_id, id, Some(&removed.key)).await? > 0 {
            return Err(AppError::conflict(
                "pipeline_in_use",
                format!("stage `{}` holds deals; move them first", removed.key),
            ));
        }
    }
    if make_default {
        run!(tx.exec(), c => sqlx::query("UPDATE pipelines SET is_default = $2 WHERE organization_id = $1 AND is_default = $3")
            .bind(ctx.org_id)
            .bind(false)
            .bind(true)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    let sql = format!(
        "UPDATE pipelines SET name = $3, stages = $4, is_default = $5, updated_at = $6, version = version + 1 \
         WHERE organization_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let updated: Pipeline = run!(tx.exec(), c => sqlx::query_as(&sql)
        .bind(ctx.org_id)
        .bind(id)
        .bind(&name)
        .bind(SqlJson(&stages))
        .bind(current.is_default || make_default)
        .bind(crate::db::now())
        .fetch_one(c)
        .await)?;
    log_change(tx.exec(), ctx, id, "updated").await?;
    crate::services::analytics::commit(state, tx, ctx.org_id).await?;
    Ok(updated)
}

/// Deletes a pipeline (the API's DELETE and the web app's delete button).
pub async fn delete(state: &App, ctx: &OrgCtx, id: Uuid, if_match: IfMatch) -> AppResult<()> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let current = find(tx.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)?;
    if_match.check(current.version)?;
    if current.is_default {
        return Err(AppError::conflict(
            "default_pipeline",
            "the default pipeline cannot be deleted; make another one the default first",
        ));
    }
    if count_deals(tx.exec(), ctx.org_id, id, None).await? > 0 {
        return Err(AppError::conflict(
            "pipeline_in_use",
            "this pipeline holds deals; move or delete them first",
        ));
    }
    run!(tx.exec(), c => sqlx::query("DELETE FROM pipelines WHERE organization_id = $1 AND id = $2")
        .bind(ctx.org_id)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    log_change(tx.exec(), ctx, id, "deleted").await?;
    crate::services::analytics::commit(state, tx, ctx.org_id).await?;
    Ok(())
}

/// The organization's pipelines, the default first.
pub async fn list(state: &App, ctx: &OrgCtx) -> AppResult<Vec<Pipeline>> {
    let mut conn = state.db.read().await?;
    Ok(all(conn.exec(), ctx.org_id).await?)
}

/// One pipeline of the caller's organization, or 404.
pub async fn read(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<Pipeline> {
    let mut conn = state.db.read().await?;
    find(conn.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)
}
