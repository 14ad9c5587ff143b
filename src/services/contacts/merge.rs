//! Merging duplicate contacts (data.md "Duplicates and merge"): one
//! survivor keeps its id and takes the chosen fields; the others' deals,
//! tasks and activities move to it, their tags join its tags, and they are
//! deleted; one `system` activity and one audit entry say so. All in one
//! transaction.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::error::{AppError, AppResult, FieldError};
use crate::run;
use crate::services::activities;
use crate::services::orgs::OrgCtx;
use crate::services::records::shape::{self, Record};
use crate::services::records::{self, IfMatch};

use super::{Contact, ContactPatch};

/// The fields a merge may take from any of the merged contacts.
pub const MERGED_FIELDS: [&str; 9] = [
    "name",
    "email",
    "phone",
    "phone_extension",
    "title",
    "company_id",
    "lead_source",
    "customer_since",
    "owner_id",
];

/// What to merge into the survivor.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The contacts merged into this one (then deleted), 1..50.
    pub merge_ids: Vec<String>,
    /// For a field, the id of the contact (the survivor or one merged) to
    /// take its value from. Unnamed fields keep the survivor's value, or
    /// take the first non-empty one in `merge_ids` order.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// Merges `input.merge_ids` into `survivor` (managers and above; a member
/// only contacts they own). Answers the survivor as it is after.
pub async fn merge(state: &App, ctx: &OrgCtx, survivor: Uuid, input: MergeInput) -> AppResult<Contact> {
    let (merged_ids, sources) = checked(survivor, &input)?;
    let (mut tx, current) = shape::lock_for_change::<Contact>(state, ctx, survivor, IfMatch(None)).await?;
    let mut merged = Vec::with_capacity(merged_ids.len());
    for id in &merged_ids {
        let contact: Contact = shape::readable(tx.exec(), ctx, *id).await?;
        contact.ensure_may_change(ctx)?;
        merged.push(contact);
    }
    // Once every contact is known to exist (an unknown one is a 404), a
    // field taken from outside the merge is the request's mistake.
    let outside: Vec<FieldError> = sources
        .iter()
        .filter(|(_, id)| **id != survivor && !merged_ids.contains(id))
        .map(|(field, _)| {
            error(
                &format!("fields.{field}"),
                "must be the id of the survivor or of a merged contact",
            )
        })
        .collect();
    if !outside.is_empty() {
        return Err(AppError::validation(outside));
    }

    // The survivor's fields: the chosen contact's value, else its own, else
    // the first merged one that has it.
    let as_json = |c: &Contact| serde_json::to_value(c).unwrap_or(Value::Null);
    let current_json = as_json(&current);
    let merged_json: Vec<Value> = merged.iter().map(as_json).collect();
    let mut patch = serde_json::Map::new();
    for field in MERGED_FIELDS {
        let value = match sources.get(field) {
            Some(source) if *source == survivor => current_json[field].clone(),
            Some(source) => merged_json[merged_ids.iter().position(|id| id == source).unwrap_or(0)][field].clone(),
            None if !current_json[field].is_null() => current_json[field].clone(),
            None => merged_json
                .iter()
                .map(|m| m[field].clone())
                .find(|v| !v.is_null())
                .unwrap_or(Value::Null),
        };
        patch.insert(field.to_string(), value);
    }
    let mut tags: Vec<String> = current.tags.0.clone();
    for contact in &merged {
        tags.extend(contact.tags.0.iter().cloned());
    }
    let tags = records::normalize_tags(&tags).map_err(|_| {
        AppError::validation(vec![FieldError {
            field: "tags".into(),
            message: format!(
                "the merged contacts carry more than {} tags together",
                records::MAX_TAGS
            ),
        }])
    })?;
    patch.insert("tags".into(), json!(tags));
    let patch: ContactPatch = serde_json::from_value(Value::Object(patch)).map_err(AppError::internal)?;

    // Their deals, tasks and timeline move to the survivor; they go.
    let org = ctx.org_id;
    for table in ["deals", "tasks", "activities"] {
        for id in &merged_ids {
            let sql = format!("UPDATE {table} SET contact_id = $1 WHERE organization_id = $2 AND contact_id = $3");
            run!(tx.exec(), c => sqlx::query(&sql).bind(survivor).bind(org).bind(id).execute(c).await.map(drop))?;
        }
    }
    for contact in &merged {
        records::index_tags(tx.exec(), org, Contact::KIND, contact.id, contact.owner_id, &[]).await?;
        Contact::remove(tx.exec(), org, contact.id).await?;
    }
    let next = Contact::check_patch(tx.exec(), ctx, &current, patch).await?;
    let merged_list: Vec<String> = merged_ids.iter().map(Uuid::to_string).collect();
    activities::append(
        tx.exec(),
        org,
        "system",
        None,
        Some(survivor),
        ctx.user_id,
        json!({"event": "merged", "merged_ids": merged_list}),
    )
    .await?;
    let details = json!({"name": current.name, "merged_ids": merged_list});
    shape::finish_merge(state, tx, ctx, current, next, "contact.merged", details).await
}

/// The merged ids (distinct, in order) and, by field, the contact to take
/// it from; every error at once, named by field.
fn checked(survivor: Uuid, input: &MergeInput) -> AppResult<(Vec<Uuid>, BTreeMap<&'static str, Uuid>)> {
    let mut errors = Vec::new();
    let mut ids: Vec<Uuid> = Vec::new();
    if input.merge_ids.is_empty() || input.merge_ids.len() > 50 {
        errors.push(error("merge_ids", "name 1 to 50 contacts to merge"));
    }
    for (i, raw) in input.merge_ids.iter().enumerate() {
        match Uuid::parse_str(raw.trim()) {
            Ok(id) if id == survivor => errors.push(error(
                &format!("merge_ids[{i}]"),
                "the survivor cannot be merged into itself",
            )),
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => errors.push(error(&format!("merge_ids[{i}]"), "must be a UUID")),
        }
    }
    let mut sources = BTreeMap::new();
    for (field, raw) in &input.fields {
        let key = format!("fields.{field}");
        let Some(name) = MERGED_FIELDS.iter().find(|f| *f == field) else {
            errors.push(error(&key, "not a field a merge can choose"));
            continue;
        };
        match Uuid::parse_str(raw.trim()) {
            Ok(id) => {
                sources.insert(*name, id);
            }
            Err(_) => errors.push(error(&key, "must be a UUID")),
        }
    }
    if errors.is_empty() {
        Ok((ids, sources))
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
