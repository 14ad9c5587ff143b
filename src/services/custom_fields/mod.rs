//! Custom fields `/api/v1/custom-fields` (leads.md "Custom fields"): an
//! organization's own typed fields on contacts, companies, deals, leads and
//! properties. Admins and owners define them; every member reads them.
//!
//! A record keeps its values in its `custom` object; each value is also a
//! row of `custom_values`, which serves the lists' `custom.<key>` filters
//! ([`values`]). A definition's type or options change only when every
//! stored value fits the new definition (converted without loss, in the
//! same transaction); removing one removes its values.

pub mod values;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::audit::{self, Event};
use crate::services::orgs::{OrgCtx, Role};
use crate::services::validate;
pub use values::{CustomFilter, CustomInput, CustomText, CustomValues, Given};

/// The record types that carry custom fields, as `object` names them.
pub const OBJECTS: [&str; 5] = ["contacts", "companies", "deals", "leads", "properties"];
/// The value types.
pub const TYPES: [&str; 8] = [
    "text",
    "number",
    "date",
    "boolean",
    "select",
    "multi_select",
    "url",
    "email",
];
/// The most fields one record type has in an organization (each is a
/// column of its forms, lists' filters and exports).
pub const MAX_PER_OBJECT: i64 = 100;
/// The most options a select field has.
const MAX_OPTIONS: usize = 100;

/// One custom field's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct CustomField {
    pub id: Uuid,
    /// `contacts`, `companies`, `deals`, `leads` or `properties`.
    pub object: String,
    /// `[a-z][a-z0-9_]{0,39}`: the name under `custom` and in filters (`custom.<key>`).
    pub key: String,
    pub label: String,
    /// `text`, `number`, `date`, `boolean`, `select`, `multi_select`, `url` or `email`.
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    /// The choices of a select or multi-select field; empty otherwise.
    #[schema(value_type = Vec<String>)]
    pub options: SqlJson<Vec<String>>,
    pub required: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, object, key, label, type, options, required, created_at, updated_at";

/// A new custom field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldInput {
    /// `contacts`, `companies`, `deals`, `leads` or `properties`.
    pub object: String,
    /// `[a-z][a-z0-9_]{0,39}`, unique per object.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub key: String,
    /// 1..100 characters.
    pub label: String,
    /// `text`, `number`, `date`, `boolean`, `select`, `multi_select`, `url` or `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Required for select types (1..100 distinct strings of 1..100
    /// characters), refused for the others.
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub required: bool,
}

/// A change of a custom field: fields left out stay. `key` and `object`
/// cannot change (they are not fields of a change: 422).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldPatch {
    pub label: Option<String>,
    /// Allowed when every stored value converts without loss; else 409 `custom_field_in_use`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
}

/// `?object=`: the fields of one record type.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomFieldQuery {
    /// `contacts`, `companies`, `deals`, `leads` or `properties`.
    pub object: Option<String>,
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_object(v: &mut Validator, object: &str) {
    if !OBJECTS.contains(&object) {
        v.add("object", format!("must be one of {}", OBJECTS.join(", ")));
    }
}

/// Checks the type and options of a definition, into `def`.
fn check_type(v: &mut Validator, def: &mut CustomField, kind: &str, options: Option<Vec<String>>) {
    if !TYPES.contains(&kind) {
        v.add("type", format!("must be one of {}", TYPES.join(", ")));
        return;
    }
    let selects = kind == "select" || kind == "multi_select";
    match (selects, options) {
        (true, None) if def.kind != "select" && def.kind != "multi_select" => {
            v.add("options", "a select field needs its options")
        }
        (true, None) => {}
        (true, Some(options)) => {
            let mut clean: Vec<String> = Vec::new();
            for (i, o) in options.iter().enumerate() {
                match validate::required_text(o, 100) {
                    Ok(o) if clean.contains(&o) => v.add(format!("options[{i}]"), "appears twice"),
                    Ok(o) => clean.push(o),
                    Err(e) => v.add(format!("options[{i}]"), e),
                }
            }
            if clean.is_empty() || clean.len() > MAX_OPTIONS {
                v.add("options", format!("a select field has 1 to {MAX_OPTIONS} options"));
            }
            def.options = SqlJson(clean);
        }
        (false, Some(_)) => v.add("options", "only select and multi_select fields have options"),
        (false, None) => def.options = SqlJson(Vec::new()),
    }
    def.kind = kind.to_string();
}

/// The definitions of one record type (`object`), in creation order: what
/// every create and change of such a record is checked against.
pub async fn definitions(c: Exec<'_>, org: Uuid, object: &str) -> Result<Vec<CustomField>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM custom_fields WHERE organization_id = $1 AND object = $2 ORDER BY created_at, id"
    );
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(object).fetch_all(conn).await)
}

/// The values `given` for a record of `object` (a create's, or a change's
/// merged over the current ones), checked against the organization's
/// definitions: errors go to `v` under `custom.<key>`.
pub async fn check(
    c: Exec<'_>,
    org: Uuid,
    object: &str,
    v: &mut Validator,
    given: Option<CustomInput>,
) -> Result<CustomValues, sqlx::Error> {
    let defs = definitions(c, org, object).await?;
    Ok(values::check(v, &defs, given))
}

/// What a record type with custom fields writes inside its `impl Record`:
/// its object name and its values.
macro_rules! custom_record {
    ($object:literal) => {
        const CUSTOM: Option<&'static str> = Some($object);
        fn custom(&self) -> Option<&$crate::services::custom_fields::CustomValues> {
            Some(&self.custom.0)
        }
    };
}
pub(crate) use custom_record;

/// [`definitions`] on a read connection (the web app's forms and lists).
pub async fn of(state: &App, org: Uuid, object: &str) -> AppResult<Vec<CustomField>> {
    let mut conn = state.db.read().await?;
    Ok(definitions(conn.exec(), org, object).await?)
}

/// Every definition, or one object's (anyone in the organization).
pub async fn list(state: &App, ctx: &OrgCtx, query: &CustomFieldQuery) -> AppResult<Vec<CustomField>> {
    let mut conn = state.db.read().await?;
    match query.object.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        Some(object) => {
            let mut v = Validator::new();
            check_object(&mut v, object);
            v.finish()?;
            Ok(definitions(conn.exec(), ctx.org_id, object).await?)
        }
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM custom_fields WHERE organization_id = $1 ORDER BY object, created_at, id LIMIT 1000"
            );
            Ok(run!(conn.exec(), c => sqlx::query_as(&sql).bind(ctx.org_id).fetch_all(c).await)?)
        }
    }
}

async fn find(c: Exec<'_>, org: Uuid, id: Uuid) -> Result<Option<CustomField>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM custom_fields WHERE organization_id = $1 AND id = $2{}",
        c.for_update()
    );
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(id).fetch_optional(conn).await)
}

pub async fn read(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<CustomField> {
    let mut conn = state.db.read().await?;
    find(conn.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)
}

fn exists() -> AppError {
    AppError::conflict(
        "custom_field_exists",
        "this record type already has a custom field with this key",
    )
}

/// Defines a field (admins and owners).
pub async fn create(state: &App, ctx: &OrgCtx, input: CustomFieldInput) -> AppResult<CustomField> {
    ctx.require(Role::Admin)?;
    let mut v = Validator::new();
    let object = input.object.trim().to_string();
    check_object(&mut v, &object);
    let key = input.key.trim().to_string();
    if !valid_key(&key) {
        v.add("key", "must match [a-z][a-z0-9_]{0,39}");
    }
    let label = v.check("label", validate::required_text(&input.label, 100));
    let now = crate::db::now();
    let mut def = CustomField {
        id: crate::db::new_id(),
        object,
        key,
        label: label.unwrap_or_default(),
        kind: String::new(),
        options: SqlJson(Vec::new()),
        required: input.required,
        created_at: now,
        updated_at: now,
    };
    check_type(&mut v, &mut def, input.kind.trim(), input.options);
    v.finish()?;
    let mut tx = state.db.begin().await?;
    let taken: Option<Uuid> = run!(tx.exec(), conn => sqlx::query_scalar(
        "SELECT id FROM custom_fields WHERE organization_id = $1 AND object = $2 AND key = $3",
    )
    .bind(ctx.org_id)
    .bind(&def.object)
    .bind(&def.key)
    .fetch_optional(conn)
    .await)?;
    if let Some(id) = taken {
        return Err(exists().with("existing_id", id.to_string()));
    }
    let count: i64 = run!(tx.exec(), conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM custom_fields WHERE organization_id = $1 AND object = $2",
    )
    .bind(ctx.org_id)
    .bind(&def.object)
    .fetch_one(conn)
    .await)?;
    if count >= MAX_PER_OBJECT {
        return Err(AppError::rule(
            "too_many_custom_fields",
            format!("a record type has at most {MAX_PER_OBJECT} custom fields"),
        ));
    }
    match insert(tx.exec(), ctx.org_id, &def).await {
        Err(e) if crate::db::is_unique_violation(&e) => return Err(exists()),
        other => other?,
    };
    log(tx.exec(), ctx, "custom_field.created", &def).await?;
    tx.commit().await?;
    Ok(def)
}

/// Writes a definition as it is (a create, a restored organization).
pub async fn insert(c: Exec<'_>, org: Uuid, def: &CustomField) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO custom_fields (organization_id, id, object, key, label, type, options, required, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(org)
    .bind(def.id)
    .bind(&def.object)
    .bind(&def.key)
    .bind(&def.label)
    .bind(&def.kind)
    .bind(&def.options)
    .bind(def.required)
    .bind(def.created_at)
    .bind(def.updated_at)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Changes a field (admins and owners): label, required, type and options.
/// A type or options change converts every stored value in the same
/// transaction, or is refused (409 `custom_field_in_use`) when one would not fit.
pub async fn update(state: &App, ctx: &OrgCtx, id: Uuid, patch: CustomFieldPatch) -> AppResult<CustomField> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let current = find(tx.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)?;
    let mut v = Validator::new();
    let mut next = current.clone();
    if let Some(label) = &patch.label
        && let Some(label) = v.check("label", validate::required_text(label, 100))
    {
        next.label = label;
    }
    if let Some(required) = patch.required {
        next.required = required;
    }
    if patch.kind.is_some() || patch.options.is_some() {
        let kind = patch
            .kind
            .as_deref()
            .map(str::trim)
            .unwrap_or(&current.kind)
            .to_string();
        check_type(&mut v, &mut next, &kind, patch.options);
    }
    v.finish()?;
    if next == current {
        return Ok(current);
    }
    next.updated_at = crate::db::now();
    if next.kind != current.kind || next.options != current.options {
        convert_values(tx.exec(), ctx.org_id, &next).await?;
    }
    run!(tx.exec(), conn => sqlx::query(
        "UPDATE custom_fields SET label = $3, type = $4, options = $5, required = $6, updated_at = $7 \
         WHERE organization_id = $1 AND id = $2",
    )
    .bind(ctx.org_id)
    .bind(id)
    .bind(&next.label)
    .bind(&next.kind)
    .bind(&next.options)
    .bind(next.required)
    .bind(next.updated_at)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    log(tx.exec(), ctx, "custom_field.updated", &next).await?;
    tx.commit().await?;
    Ok(next)
}

/// Removes a field and every record's value of it (admins and owners).
pub async fn delete(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<()> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let def = find(tx.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)?;
    rewrite_values(tx.exec(), ctx.org_id, &def, |_| Ok(None)).await?;
    run!(tx.exec(), conn => sqlx::query("DELETE FROM custom_fields WHERE organization_id = $1 AND id = $2")
        .bind(ctx.org_id)
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    log(tx.exec(), ctx, "custom_field.deleted", &def).await?;
    tx.commit().await?;
    Ok(())
}

/// Converts every stored value of `def`'s key to its new type and options,
/// or refuses with the first record whose value would not fit.
async fn convert_values(c: Exec<'_>, org: Uuid, def: &CustomField) -> AppResult<()> {
    rewrite_values(c, org, def, |value| {
        values::converted(def, value).map(Some).ok_or_else(|| {
            AppError::conflict(
                "custom_field_in_use",
                format!(
                    "a stored value ({}) would not fit the new definition",
                    values::as_text(value)
                ),
            )
        })
    })
    .await
}

/// The table of a custom fields' object.
fn table(object: &str) -> AppResult<&'static str> {
    OBJECTS
        .into_iter()
        .find(|o| *o == object)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown custom field object {object}")))
}

/// Rewrites the value of `def`'s key in every record that has one (its new
/// value, or `None` to remove it), its version and its index rows.
async fn rewrite_values(
    mut c: Exec<'_>,
    org: Uuid,
    def: &CustomField,
    rewrite: impl Fn(&Value) -> AppResult<Option<Value>>,
) -> AppResult<()> {
    let table = table(&def.object)?;
    let sql = format!(
        "SELECT id, custom FROM {table} WHERE organization_id = $1 AND id IN \
         (SELECT record_id FROM custom_values WHERE organization_id = $1 AND record_type = $2 AND key = $3)"
    );
    let rows: Vec<(Uuid, SqlJson<CustomValues>)> = run!(c.re(), conn => sqlx::query_as(&sql)
        .bind(org)
        .bind(&def.object)
        .bind(&def.key)
        .fetch_all(conn)
        .await)?;
    let update =
        format!("UPDATE {table} SET custom = $3, version = version + 1 WHERE organization_id = $1 AND id = $2");
    for (id, SqlJson(mut custom)) in rows {
        let Some(value) = custom.get(&def.key) else { continue };
        let new = rewrite(value)?;
        if new.as_ref() == Some(value) {
            continue;
        }
        match new {
            Some(new) => custom.insert(def.key.clone(), new),
            None => custom.remove(&def.key),
        };
        run!(c.re(), conn => sqlx::query(&update)
            .bind(org)
            .bind(id)
            .bind(SqlJson(&custom))
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        values::index(c.re(), org, &def.object, &[(id, &custom)], false).await?;
    }
    Ok(())
}

async fn log(c: Exec<'_>, ctx: &OrgCtx, action: &str, def: &CustomField) -> AppResult<()> {
    let event = Event::new(action.to_string())
        .by(ctx)
        .target("custom_field", def.id)
        .details(json!({"object": def.object, "key": def.key, "type": def.kind}));
    audit::record(c, ctx.org_id, &event).await?;
    Ok(())
}
