//! Merging duplicates (data.md "Duplicates and merge"), written once for
//! the types that merge (contacts, companies): one survivor keeps its id and
//! takes the chosen fields; the rows that point at the others (deals,
//! tasks, activities, contacts) move to it, their tags join its tags, and
//! they are deleted, with one audit entry (`<kind>.merged`). All in one
//! transaction.

use std::collections::BTreeMap;
use std::future::Future;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, FieldError};
use crate::run;
use crate::services::orgs::OrgCtx;
use crate::services::records::shape::{self, Record};
use crate::services::records::{self, IfMatch};

/// A record type whose duplicates merge.
pub trait Mergeable: Record + serde::Serialize
where
    Self::Patch: DeserializeOwned,
{
    /// The fields a merge may take from any of the merged records.
    const FIELDS: &'static [&'static str];
    /// The (table, column) of the rows that point at a record and move to
    /// the survivor.
    const POINTED_AT_BY: &'static [(&'static str, &'static str)];
    /// What else the merge writes in its transaction (a timeline entry).
    fn after_merge(
        c: Exec<'_>,
        ctx: &OrgCtx,
        survivor: Uuid,
        merged: &[String],
    ) -> impl Future<Output = AppResult<()>> + Send {
        let _ = (c, ctx, survivor, merged);
        async { Ok(()) }
    }
}

/// What to merge into the survivor.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The records merged into this one (then deleted), 1..50.
    pub merge_ids: Vec<String>,
    /// For a field, the id of the record (the survivor or one merged) to
    /// take its value from. Unnamed fields keep the survivor's value, or
    /// take the first non-empty one in `merge_ids` order.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// Merges `input.merge_ids` into `survivor` (managers and above; a member
/// only records they own). Answers the survivor as it is after.
pub async fn merge<R>(state: &App, ctx: &OrgCtx, survivor: Uuid, input: MergeInput) -> AppResult<R>
where
    R: Mergeable,
    R::Patch: DeserializeOwned,
{
    let Asked {
        ids: merged_ids,
        sources,
        unknown,
        itself,
    } = checked(R::FIELDS, survivor, &input)?;
    let (mut tx, current) = shape::lock_for_change::<R>(state, ctx, survivor, IfMatch(None)).await?;
    if !itself.is_empty() {
        return Err(AppError::validation(
            itself
                .iter()
                .map(|i| error(&format!("merge_ids[{i}]"), "the survivor cannot be merged into itself"))
                .collect(),
        ));
    }
    let mut merged = Vec::with_capacity(merged_ids.len());
    for id in &merged_ids {
        let record: R = shape::readable(tx.exec(), ctx, *id).await?;
        record.ensure_may_change(ctx)?;
        merged.push(record);
    }
    // Once every record is known to exist (an unknown one is a 404), a
    // field taken from outside the merge is the request's mistake.
    let outside: Vec<FieldError> = unknown
        .iter()
        .map(|field| {
            error(
                &format!("fields.{field}"),
                "not a field a merge of this type can choose",
            )
        })
        .chain(
            sources
                .iter()
                .filter(|(_, id)| **id != survivor && !merged_ids.contains(id))
                .map(|(field, _)| {
                    error(
                        &format!("fields.{field}"),
                        "must be the id of the survivor or of a merged record",
                    )
                }),
        )
        .collect();
    if !outside.is_empty() {
        return Err(AppError::validation(outside));
    }

    // The survivor's fields: the chosen record's value, else the default
    // source's (`default_source`).
    let as_json = |r: &R| serde_json::to_value(r).unwrap_or(Value::Null);
    let values: Vec<Value> = std::iter::once(&current).chain(&merged).map(as_json).collect();
    let mut patch = serde_json::Map::new();
    for field in R::FIELDS {
        let source = match sources.get(field) {
            Some(source) if *source == survivor => 0,
            Some(source) => 1 + merged_ids.iter().position(|id| id == source).unwrap_or(0),
            None => default_source(&values, field),
        };
        patch.insert(field.to_string(), values[source][field].clone());
    }
    let mut tags: Vec<String> = current.tags().to_vec();
    for record in &merged {
        tags.extend(record.tags().iter().cloned());
    }
    let tags = records::normalize_tags(&tags).map_err(|_| {
        AppError::validation(vec![error(
            "tags",
            &format!("the merged records carry more than {} tags together", records::MAX_TAGS),
        )])
    })?;
    patch.insert("tags".into(), json!(tags));
    // Custom values: the survivor's, then what the merged records fill in.
    if let Some(custom) = current.custom() {
        let mut custom = custom.clone();
        for record in &merged {
            for (key, value) in record.custom().into_iter().flatten() {
                custom.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
        patch.insert("custom".into(), Value::Object(custom));
    }
    let patch: R::Patch = serde_json::from_value(Value::Object(patch)).map_err(AppError::internal)?;

    // What points at them moves to the survivor; they go.
    let org = ctx.org_id;
    for (table, column) in R::POINTED_AT_BY {
        for id in &merged_ids {
            let sql = format!("UPDATE {table} SET {column} = $1 WHERE organization_id = $2 AND {column} = $3");
            run!(tx.exec(), c => sqlx::query(&sql).bind(survivor).bind(org).bind(id).execute(c).await.map(drop))?;
        }
    }
    for record in &merged {
        shape::unindex(tx.exec(), org, record).await?;
        R::remove(tx.exec(), org, record.id()).await?;
    }
    let next = R::check_patch(tx.exec(), ctx, &current, patch).await?;
    let merged_list: Vec<String> = merged_ids.iter().map(Uuid::to_string).collect();
    R::after_merge(tx.exec(), ctx, survivor, &merged_list).await?;
    let mut details = current.audit_details();
    if let Value::Object(map) = &mut details {
        map.insert("merged_ids".into(), json!(merged_list));
    }
    let action = format!("{}.merged", R::KIND);
    shape::finish_merge(state, tx, ctx, current, next, &action, details).await
}

/// Where a field comes from when the request does not say: among the
/// records as the API writes them, the survivor first, the survivor's own
/// value, else the first merged one that has it (index into `values`). The
/// web app's merge screen presets its choices with it.
pub fn default_source(values: &[Value], field: &str) -> usize {
    values.iter().position(|v| !v[field].is_null()).unwrap_or(0)
}

/// A merge request as read.
struct Asked {
    /// The merged ids, distinct, in order.
    ids: Vec<Uuid>,
    /// By field, the record to take it from.
    sources: BTreeMap<&'static str, Uuid>,
    /// The `fields` keys this type does not have (refused once the records
    /// are known to exist).
    unknown: Vec<String>,
    /// Where `merge_ids` names the survivor (refused once it is known to
    /// exist: an unknown survivor is a 404 first).
    itself: Vec<usize>,
}

/// Reads a merge request; every error of its shape at once, named by field.
fn checked(fields: &'static [&'static str], survivor: Uuid, input: &MergeInput) -> AppResult<Asked> {
    let mut errors = Vec::new();
    let mut ids: Vec<Uuid> = Vec::new();
    let mut itself = Vec::new();
    if input.merge_ids.is_empty() || input.merge_ids.len() > 50 {
        errors.push(error("merge_ids", "name 1 to 50 records to merge"));
    }
    for (i, raw) in input.merge_ids.iter().enumerate() {
        match Uuid::parse_str(raw.trim()) {
            Ok(id) if id == survivor => itself.push(i),
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => errors.push(error(&format!("merge_ids[{i}]"), "must be a UUID")),
        }
    }
    let mut sources = BTreeMap::new();
    let mut unknown = Vec::new();
    for (field, raw) in &input.fields {
        let key = format!("fields.{field}");
        match (fields.iter().find(|f| *f == field), Uuid::parse_str(raw.trim())) {
            (_, Err(_)) => errors.push(error(&key, "must be a UUID")),
            (Some(name), Ok(id)) => {
                sources.insert(*name, id);
            }
            (None, Ok(_)) => unknown.push(field.clone()),
        }
    }
    if errors.is_empty() {
        Ok(Asked {
            ids,
            sources,
            unknown,
            itself,
        })
    } else {
        Err(AppError::validation(errors))
    }
}

fn error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.to_string(),
    }
}
