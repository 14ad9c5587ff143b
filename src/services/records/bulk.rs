//! Bulk actions (leads.md "Bulk actions"): add or remove tags, assign an
//! owner, or delete up to 10,000 records at once, named by their ids or by
//! a list query, in one transaction with one audit entry.
//!
//! Each record goes through the same rules as its single change: the
//! caller's right to change it, the type's checks (`check_patch`) and
//! writer, or its delete's refusals (`before_delete`). Each runs under a
//! savepoint, so a record that is refused (a member's colleague's record, a
//! contact with deals) is counted as forbidden with its reason and leaves
//! nothing behind, while the others proceed.

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::audit::{self, Event};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::shape::{self, Record};
use crate::services::records::{self, parse_uuid};

/// The most records one bulk action changes.
pub const MAX_RECORDS: usize = 10_000;
/// The most forbidden ids an answer lists.
const MAX_LISTED: usize = 100;

/// A bulk action: the records (`ids` or `query`, not both) and what to do.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    /// Up to 10,000 record ids.
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub ids: Option<Vec<String>>,
    /// The list's query string (filters, search, sort): every record it lists.
    pub query: Option<String>,
    /// `add_tags`, `remove_tags`, `assign_owner` or `delete`.
    pub action: String,
    /// For `add_tags` and `remove_tags`.
    pub tags: Option<Vec<String>>,
    /// For `assign_owner`: a member of the organization.
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<String>,
}

/// What a bulk action did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct BulkResult {
    /// Records found that the caller may read.
    pub matched: usize,
    /// Records changed (a record already in the target state is matched, not changed).
    pub changed: usize,
    /// Records the caller may not change, or whose change a rule refused.
    pub forbidden: usize,
    /// The first 100 forbidden ids.
    pub forbidden_ids: Vec<Uuid>,
    /// The refusal's code of each listed forbidden id (`forbidden`, `contact_has_deals`…).
    pub forbidden_reasons: BTreeMap<Uuid, String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Action {
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    AssignOwner(Uuid),
    Delete,
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::AddTags(_) => "add_tags",
            Action::RemoveTags(_) => "remove_tags",
            Action::AssignOwner(_) => "assign_owner",
            Action::Delete => "delete",
        }
    }
}

/// A record type whose list can be named by a query string (a bulk
/// action's `query`, a saved view's): the list's own parameters, its
/// `custom.<key>` filters, run as the caller.
pub trait ByQuery: Record {
    /// One page of `limit` records from `cursor` of the list `query` describes.
    fn page_of(
        state: &App,
        ctx: &OrgCtx,
        query: &str,
        limit: &str,
        cursor: Option<String>,
    ) -> impl Future<Output = AppResult<Page<Self>>> + Send;
}

/// A record type with bulk actions.
pub trait Bulk: ByQuery
where
    Self::Patch: serde::de::DeserializeOwned,
{
}

/// A list query string as the list reads it: trimmed, a leading `?` dropped
/// (a view keeps its query as given; a client may copy it from an address).
pub fn list_query(query: &str) -> &str {
    query.trim().trim_start_matches('?')
}

/// Reads a list query string into the list's query type (errors name `query.<parameter>`).
pub fn parse_query<Q: serde::de::DeserializeOwned>(query: &str) -> AppResult<Q> {
    let deserializer = serde_html_form::Deserializer::from_bytes(query.as_bytes());
    serde_path_to_error::deserialize(deserializer)
        .map_err(|e| AppError::field(format!("query.{}", e.path()), e.into_inner().to_string()))
}

/// [`ByQuery`] for record types whose list query has `limit`, `cursor` and
/// `custom`.
macro_rules! by_query {
    ($($record:ty, $query:ty, $list:path;)*) => {$(
        impl ByQuery for $record {
            async fn page_of(
                state: &App,
                ctx: &OrgCtx,
                query: &str,
                limit: &str,
                cursor: Option<String>,
            ) -> AppResult<Page<Self>> {
                let pairs: Vec<(String, String)> = serde_html_form::from_str(query)
                    .map_err(|_| AppError::field("query", "is not a query string"))?;
                let parsed: $query = parse_query(query)?;
                let mut parsed = <$query>::with_custom_params(
                    parsed,
                    crate::services::custom_fields::values::raw_filters(&pairs),
                );
                parsed.limit = Some(limit.into());
                parsed.cursor = cursor;
                $list(state, ctx, &parsed).await
            }
        }
    )*};
}

by_query! {
    crate::services::contacts::Contact, crate::services::contacts::ContactQuery, crate::services::contacts::list;
    crate::services::companies::Company, crate::services::companies::CompanyQuery, crate::services::companies::list;
    crate::services::deals::Deal, crate::services::deals::DealQuery, crate::services::deals::list;
    crate::services::leads::Lead, crate::services::leads::LeadQuery, crate::services::leads::list;
    crate::services::tasks::Task, crate::services::tasks::TaskQuery, crate::services::tasks::list;
    crate::services::properties::Property, crate::services::properties::PropertyQuery, crate::services::properties::list;
}

impl Bulk for crate::services::contacts::Contact {}
impl Bulk for crate::services::companies::Company {}
impl Bulk for crate::services::deals::Deal {}
impl Bulk for crate::services::leads::Lead {}
impl Bulk for crate::services::tasks::Task {}
impl Bulk for crate::services::properties::Property {}

fn too_many() -> AppError {
    AppError::rule(
        "too_many_records",
        format!("a bulk action changes at most {MAX_RECORDS} records"),
    )
}

/// The action asked for, checked: every field error at once.
fn checked_action(input: &BulkInput) -> AppResult<Action> {
    let mut v = Validator::new();
    if input.ids.is_some() && input.query.is_some() {
        v.add("query", "give ids or query, not both");
    }
    if input.ids.is_none() && input.query.is_none() {
        v.add("ids", "give ids or query");
    }
    if input.query.as_deref().is_some_and(|q| q.chars().count() > 2000) {
        v.add("query", "at most 2000 characters");
    }
    let tags = |v: &mut Validator| match &input.tags {
        None => {
            v.add("tags", "is required for this action");
            None
        }
        Some(tags) => v.check("tags", records::normalize_tags(tags)).filter(|t| {
            !t.is_empty() || {
                v.add("tags", "name at least one tag");
                false
            }
        }),
    };
    let action = match input.action.trim() {
        "add_tags" => tags(&mut v).map(Action::AddTags),
        "remove_tags" => tags(&mut v).map(Action::RemoveTags),
        "assign_owner" => match records::opt(&input.owner_id) {
            None => {
                v.add("owner_id", "is required for this action");
                None
            }
            Some(raw) => v.check("owner_id", parse_uuid(raw)).map(Action::AssignOwner),
        },
        "delete" => Some(Action::Delete),
        _ => {
            v.add("action", "must be add_tags, remove_tags, assign_owner or delete");
            None
        }
    };
    if let Some(ids) = &input.ids
        && ids.len() > MAX_RECORDS
    {
        v.finish()?;
        return Err(too_many());
    }
    v.finish()?;
    action.ok_or_else(|| AppError::internal(anyhow::anyhow!("validated action missing")))
}

/// The ids a bulk action names: as given (distinct), or every record the
/// list query lists (more than [`MAX_RECORDS`] → 422 `too_many_records`).
async fn target_ids<R: Bulk>(state: &App, ctx: &OrgCtx, input: &BulkInput) -> AppResult<Vec<Uuid>>
where
    R::Patch: serde::de::DeserializeOwned,
{
    if let Some(ids) = &input.ids {
        let mut v = Validator::new();
        let mut out: Vec<Uuid> = Vec::with_capacity(ids.len());
        let mut seen = std::collections::HashSet::new();
        for (i, id) in ids.iter().enumerate() {
            if let Some(id) = v.check(&format!("ids[{i}]"), parse_uuid(id.trim()))
                && seen.insert(id)
            {
                out.push(id);
            }
        }
        v.finish()?;
        return Ok(out);
    }
    let query = list_query(input.query.as_deref().unwrap_or_default());
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = R::page_of(state, ctx, query, "200", cursor).await.map_err(|mut e| {
            for f in &mut e.errors {
                if !f.field.starts_with("query") {
                    f.field = format!("query.{}", f.field);
                }
            }
            e
        })?;
        out.extend(page.data.iter().map(Record::id));
        if out.len() > MAX_RECORDS {
            return Err(too_many());
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Runs a bulk action on records of `R` in one transaction.
pub async fn run<R: Bulk>(state: &App, ctx: &OrgCtx, input: BulkInput) -> AppResult<BulkResult>
where
    R::Patch: serde::de::DeserializeOwned,
{
    let action = checked_action(&input)?;
    if let Action::AssignOwner(owner) = action {
        let mut conn = state.db.read().await?;
        if crate::services::orgs::queries::membership(conn.exec(), ctx.org_id, owner)
            .await?
            .is_none()
        {
            return Err(AppError::rule(
                "owner_not_member",
                "owner_id must be a member of the organization",
            ));
        }
    }
    let ids = target_ids::<R>(state, ctx, &input).await?;
    let mut result = BulkResult::default();
    let mut changed_ids: Vec<Uuid> = Vec::new();
    let mut tx = state.db.begin().await?;
    for id in ids {
        let current = match R::find(tx.exec(), ctx.org_id, id).await? {
            Some(record) if record.may_read(ctx) => record,
            // Missing, another organization's, or not visible: not matched.
            _ => continue,
        };
        result.matched += 1;
        savepoint(tx.exec(), "SAVEPOINT bulk_record").await?;
        match apply(tx.exec(), ctx, &action, current).await {
            Ok(changed) => {
                savepoint(tx.exec(), "RELEASE SAVEPOINT bulk_record").await?;
                if changed {
                    result.changed += 1;
                    changed_ids.push(id);
                }
            }
            Err(e) if e.status.is_client_error() => {
                savepoint(tx.exec(), "ROLLBACK TO SAVEPOINT bulk_record").await?;
                result.forbidden += 1;
                if result.forbidden_ids.len() < MAX_LISTED {
                    result.forbidden_ids.push(id);
                    result.forbidden_reasons.insert(id, e.code.to_string());
                }
            }
            Err(e) => return Err(e),
        }
    }
    let event = Event::new(format!("{}.bulk_{}", R::KIND, action.name()))
        .by(ctx)
        .details(json!({
            "ids": changed_ids,
            "matched": result.matched,
            "changed": result.changed,
            "forbidden": result.forbidden,
        }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    shape::commit::<R>(state, tx, ctx).await?;
    Ok(result)
}

async fn savepoint(c: Exec<'_>, sql: &'static str) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(sql).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// One record's part of the action: whether it changed, or the refusal its
/// single change would get.
async fn apply<R: Bulk>(mut c: Exec<'_>, ctx: &OrgCtx, action: &Action, current: R) -> AppResult<bool>
where
    R::Patch: serde::de::DeserializeOwned,
{
    current.ensure_may_change(ctx)?;
    let patch = match action {
        Action::Delete => {
            shape::remove_locked(c, ctx, &current).await?;
            return Ok(true);
        }
        Action::AddTags(tags) => {
            let mut all = current.tags().to_vec();
            all.extend(tags.iter().cloned());
            let all = records::normalize_tags(&all).map_err(|m| AppError::field("tags", m))?;
            if all == current.tags() {
                return Ok(false);
            }
            json!({ "tags": all })
        }
        Action::RemoveTags(tags) => {
            let kept: Vec<String> = current.tags().iter().filter(|t| !tags.contains(t)).cloned().collect();
            if kept.len() == current.tags().len() {
                return Ok(false);
            }
            json!({ "tags": kept })
        }
        Action::AssignOwner(owner) => {
            if current.owner_id() == *owner {
                return Ok(false);
            }
            json!({ "owner_id": owner.to_string() })
        }
    };
    let patch: R::Patch = serde_json::from_value(patch).map_err(AppError::internal)?;
    let next = R::check_patch(c.re(), ctx, &current, patch).await?;
    if next.record == current {
        return Ok(false);
    }
    shape::write_changed(c, ctx, &current, next).await?;
    Ok(true)
}
