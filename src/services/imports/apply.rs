//! Applying an import's rows (data.md "CSV import"): each row becomes the
//! API's create input and passes the same checks (`Record::check_new`), so
//! a bad row is refused with the API's message; then it merges into the
//! record it matches or is created. Written once for every imported type
//! ([`Importable`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::Exec;
use crate::error::AppError;
use crate::run;
use crate::services::companies::Company;
use crate::services::contacts::Contact;
use crate::services::deals::Deal;
use crate::services::imports::OnConflict;
use crate::services::imports::conflicts;
use crate::services::imports::file::Row;
use crate::services::imports::mapping::{Mapping, Object};
use crate::services::orgs::OrgCtx;
use crate::services::records::merge::Mergeable;
use crate::services::records::shape::{self, Checked, Record, Unwritten};
use crate::services::records::{self};

/// A row that could not be applied: its line, our field (none when the
/// whole row is at fault), a code and the API's message.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct RowError {
    pub line: u64,
    pub field: Option<String>,
    /// `validation_failed`, `ambiguous_match`, `column_count`, or the rule's
    /// code the API answers.
    pub code: String,
    pub message: String,
}

/// What a batch of rows did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub processed: i64,
    pub created: i64,
    pub merged: i64,
    pub unchanged: i64,
    pub skipped: i64,
    pub conflicts: i64,
    pub companies_created: i64,
}

/// A key a row is matched by: the field, its column, the value, and
/// whether it compares without case (then several records may share it,
/// and the oldest is taken).
pub struct MatchKey {
    pub field: &'static str,
    pub column: &'static str,
    pub value: String,
    pub fold: bool,
}

impl MatchKey {
    /// A key compared as stored (a unique index serves it).
    fn exact(field: &'static str, value: &str) -> Self {
        MatchKey {
            field,
            column: field,
            value: value.to_string(),
            fold: false,
        }
    }

    /// A key compared without case (an index on `lower(column)` serves it).
    fn folded(field: &'static str, value: &str) -> Self {
        MatchKey {
            fold: true,
            ..MatchKey::exact(field, value)
        }
    }

    /// The key as looked up in memory.
    fn lookup(&self) -> (&'static str, String) {
        let value = if self.fold {
            self.value.to_lowercase()
        } else {
            self.value.clone()
        };
        (self.field, value)
    }
}

/// How a row finds the record it merges into.
pub enum MatchRule {
    /// Any key that finds a record; two keys finding two records make the
    /// row ambiguous (contacts: email, phone).
    Any,
    /// The first key that finds a record (companies: domain, then name).
    First,
}

/// A record type rows can be imported as.
pub trait Importable: Record
where
    Self::Input: DeserializeOwned,
    Self::Patch: DeserializeOwned,
{
    const OBJECT: Object;
    const MATCH: MatchRule;
    /// The fields a matched row fills or conflicts on (`owner_id` aside).
    const FIELDS: &'static [&'static str];
    /// The API's create input a row's mapped cells make (`fields`: our field
    /// name → the non-empty cell).
    fn input(fields: &BTreeMap<&'static str, String>) -> Map<String, Value>;
    /// The keys a checked record is matched by, in order.
    fn match_keys(record: &Self) -> Vec<MatchKey>;
    /// The timeline a resolved conflict is noted on (deal, contact), when the
    /// type has one.
    fn noted_on(&self) -> Option<(Option<Uuid>, Option<Uuid>)> {
        None
    }
    /// What the input needs from the database (a deal's contact, pipeline
    /// and stage, found by what the row names); the row's errors when
    /// something named is not found.
    fn prepare(
        c: Exec<'_>,
        ctx: &OrgCtx,
        line: u64,
        fields: &BTreeMap<&'static str, String>,
        input: &mut Map<String, Value>,
    ) -> impl Future<Output = Result<Result<(), Vec<RowError>>, BatchFailed>> + Send {
        let _ = (c, ctx, line, fields, input);
        async { Ok(Ok(())) }
    }
}

impl Importable for Contact {
    const OBJECT: Object = Object::Contacts;
    const MATCH: MatchRule = MatchRule::Any;
    const FIELDS: &'static [&'static str] = <Self as Mergeable>::FIELDS;
    fn input(fields: &BTreeMap<&'static str, String>) -> Map<String, Value> {
        let mut input = Map::new();
        let name = match fields.get("name") {
            Some(name) => Some(name.clone()),
            None => {
                let parts: Vec<&str> = ["first_name", "last_name"]
                    .iter()
                    .filter_map(|f| fields.get(f).map(String::as_str))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }
        };
        input.insert("name".into(), name.map_or(Value::Null, Value::String));
        for field in [
            "email",
            "phone",
            "phone_extension",
            "title",
            "lead_source",
            "customer_since",
        ] {
            if let Some(value) = fields.get(field) {
                input.insert(field.into(), Value::String(value.clone()));
            }
        }
        input
    }
    fn match_keys(contact: &Self) -> Vec<MatchKey> {
        let mut keys = Vec::new();
        if let Some(email) = &contact.email {
            keys.push(MatchKey::exact("email", email));
        }
        if let Some(phone) = &contact.phone {
            keys.push(MatchKey::exact("phone", phone));
        }
        keys
    }
    fn noted_on(&self) -> Option<(Option<Uuid>, Option<Uuid>)> {
        Some((None, Some(self.id)))
    }
}

impl Importable for Company {
    const OBJECT: Object = Object::Companies;
    const MATCH: MatchRule = MatchRule::First;
    const FIELDS: &'static [&'static str] = <Self as Mergeable>::FIELDS;
    fn input(fields: &BTreeMap<&'static str, String>) -> Map<String, Value> {
        let mut input = Map::new();
        input.insert(
            "name".into(),
            fields.get("name").map_or(Value::Null, |n| Value::String(n.clone())),
        );
        for field in ["domain", "industry"] {
            if let Some(value) = fields.get(field) {
                input.insert(field.into(), Value::String(value.clone()));
            }
        }
        if let Some(count) = fields.get("employee_count") {
            // A number when it reads as one; else the text, refused by the
            // check with the API's message.
            let number = count.trim().replace([',', ' '], "").parse::<i64>();
            input.insert(
                "employee_count".into(),
                number.map_or_else(|_| Value::String(count.clone()), Value::from),
            );
        }
        input
    }
    fn match_keys(company: &Self) -> Vec<MatchKey> {
        let mut keys = Vec::new();
        if let Some(domain) = &company.domain {
            keys.push(MatchKey::exact("domain", domain));
        }
        keys.push(MatchKey::folded("name", &company.name));
        keys
    }
}

/// Deal rows always create (nothing identifies a deal across systems); they
/// name their contact by email or phone, their pipeline by name (the
/// default one when absent) and their stage by key or name.
impl Importable for Deal {
    const OBJECT: Object = Object::Deals;
    const MATCH: MatchRule = MatchRule::First;
    const FIELDS: &'static [&'static str] = &[];
    fn input(fields: &BTreeMap<&'static str, String>) -> Map<String, Value> {
        let mut input = Map::new();
        input.insert(
            "title".into(),
            Value::String(fields.get("title").cloned().unwrap_or_default()),
        );
        for field in ["amount", "currency", "expected_close_date"] {
            if let Some(value) = fields.get(field) {
                input.insert(field.into(), Value::String(value.clone()));
            }
        }
        input
    }
    fn match_keys(_: &Self) -> Vec<MatchKey> {
        Vec::new()
    }
    async fn prepare(
        mut c: Exec<'_>,
        ctx: &OrgCtx,
        line: u64,
        fields: &BTreeMap<&'static str, String>,
        input: &mut Map<String, Value>,
    ) -> Result<Result<(), Vec<RowError>>, BatchFailed> {
        let fail = |e: sqlx::Error| BatchFailed(e.into());
        let error = |field: &str, message: String| RowError {
            line,
            field: Some(field.into()),
            code: "validation_failed".into(),
            message,
        };
        let mut errors = Vec::new();
        // The contact: by email, else by phone (as stored: E.164).
        let email = fields.get("contact_email").map(|e| e.trim().to_lowercase());
        let phone = match fields.get("contact_phone") {
            None => None,
            Some(raw) => crate::services::validate::phone(raw, ctx.default_country.as_str())
                .ok()
                .map(|p| p.e164),
        };
        let mut contact = None;
        for (column, value) in [("email", &email), ("phone", &phone)] {
            let Some(value) = value else { continue };
            let sql = format!("SELECT id FROM contacts WHERE organization_id = $1 AND {column} = $2");
            let found: Option<Uuid> =
                run!(c.re(), conn => sqlx::query_scalar(&sql).bind(ctx.org_id).bind(value).fetch_optional(conn).await)
                    .map_err(fail)?;
            if found.is_some() {
                contact = found;
                break;
            }
        }
        match (contact, fields.get("contact_email"), fields.get("contact_phone")) {
            (Some(id), _, _) => {
                input.insert("contact_id".into(), Value::String(id.to_string()));
            }
            (None, None, None) => errors.push(error(
                "contact_email",
                "is required: a deal row names its contact by contact_email or contact_phone".into(),
            )),
            (None, Some(_), _) => errors.push(error("contact_email", "no contact has this email".into())),
            (None, None, Some(_)) => errors.push(error("contact_phone", "no contact has this phone".into())),
        }
        // The pipeline by name, else the default; the stage by key or name.
        let pipelines = crate::services::pipelines::all(c.re(), ctx.org_id)
            .await
            .map_err(fail)?;
        let pipeline = match fields.get("pipeline") {
            None => pipelines.iter().find(|p| p.is_default),
            Some(name) => {
                let found = pipelines.iter().find(|p| p.name.eq_ignore_ascii_case(name.trim()));
                if found.is_none() {
                    errors.push(error("pipeline", format!("no pipeline is named {name:?}")));
                }
                found
            }
        };
        if let Some(pipeline) = pipeline {
            input.insert("pipeline_id".into(), Value::String(pipeline.id.to_string()));
            if let Some(stage) = fields.get("stage") {
                let stage = stage.trim();
                let key = pipeline
                    .stages
                    .iter()
                    .find(|s| s.key == stage || s.name.eq_ignore_ascii_case(stage))
                    .map_or(stage, |s| s.key.as_str());
                input.insert("stage".into(), Value::String(key.to_string()));
            }
        }
        Ok(if errors.is_empty() { Ok(()) } else { Err(errors) })
    }
}

/// What applying rows needs to know.
pub struct Applying<'a> {
    pub ctx: &'a OrgCtx,
    pub import: Uuid,
    pub on_conflict: OnConflict,
    pub mapping: &'a Mapping,
    pub headers: &'a [String],
    /// A dry run: check rows, write nothing.
    pub dry_run: bool,
}

/// Why a batch stopped: the database failed (the transaction is lost; the
/// caller rolls back and retries the rows one at a time).
#[derive(Debug)]
pub struct BatchFailed(pub AppError);

/// What an import run keeps from batch to batch: the companies contact
/// rows named, by lower-cased name or domain. Cleared when a batch rolls
/// back (the companies it created are gone with it).
#[derive(Debug, Default)]
pub struct Cache {
    companies: HashMap<String, Uuid>,
}

impl Cache {
    pub fn clear(&mut self) {
        self.companies.clear();
    }
}

/// What a batch of rows did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub counts: Counts,
    pub errors: Vec<RowError>,
    /// (Dry runs) the records the valid rows would create.
    pub previews: Vec<Value>,
}

/// Applies a batch of rows of type `R` on `c`, in three steps so that the
/// database is asked a few times per batch rather than per row: every row
/// checked as the API checks it; the stored records they match read in one
/// query per key (under their row locks); then, in file order, each row
/// merged into its match or queued for one multi-row insert. A row
/// matching one queued before it (rows of one file that match each other)
/// first writes the queue, then merges like any other.
pub async fn rows<R>(mut c: Exec<'_>, a: &Applying<'_>, cache: &mut Cache, rows: &[Row]) -> Result<Outcome, BatchFailed>
where
    R: Importable,
    R::Input: DeserializeOwned,
    R::Patch: DeserializeOwned,
{
    let mut out = Outcome::default();
    let mut checked: Vec<(u64, Checked<R>)> = Vec::with_capacity(rows.len());
    for row in rows {
        out.counts.processed += 1;
        match check_row::<R>(c.re(), a, cache, row, &mut out.counts).await? {
            Ok(record) => checked.push((row.line, record)),
            Err(errors) => {
                out.counts.skipped += 1;
                out.errors.extend(errors);
            }
        }
    }
    if a.dry_run {
        out.previews = checked
            .iter()
            .map(|(_, c)| serde_json::to_value(&c.record).unwrap_or(Value::Null))
            .collect();
        return Ok(out);
    }

    let mut known = Known::<R>::default();
    known
        .fetch(c.re(), a.ctx.org_id, checked.iter().map(|(_, c)| &c.record))
        .await?;
    let mut pending: Vec<Checked<R>> = Vec::new();
    let mut pending_keys: HashSet<(&'static str, String)> = HashSet::new();
    for (line, record) in checked {
        let keys = R::match_keys(&record.record);
        if keys.iter().any(|k| pending_keys.contains(&k.lookup())) {
            known.write(c.re(), a.ctx, &mut pending).await?;
            pending_keys.clear();
        }
        match known.find(&keys) {
            Found::None => {
                pending_keys.extend(keys.iter().map(MatchKey::lookup));
                pending.push(record);
                out.counts.created += 1;
            }
            Found::Ambiguous(message) => {
                out.counts.skipped += 1;
                out.errors.push(RowError {
                    line,
                    field: None,
                    code: "ambiguous_match".into(),
                    message,
                });
            }
            Found::One(existing) => match merge_into(c.re(), a, line, &existing, &record.record).await? {
                Ok((after, conflicts)) => {
                    out.counts.conflicts += conflicts;
                    match after {
                        Some(after) => {
                            out.counts.merged += 1;
                            known.put(&existing, after);
                        }
                        None => out.counts.unchanged += 1,
                    }
                }
                Err(errors) => {
                    out.counts.skipped += 1;
                    out.errors.extend(errors);
                }
            },
        }
    }
    known.write(c, a.ctx, &mut pending).await?;
    Ok(out)
}

/// A row as the API would take it: its cells mapped, what it names looked
/// up (a deal's contact and pipeline, a contact's company: found, else
/// created unless in a dry run), then the type's own checks.
async fn check_row<R>(
    mut c: Exec<'_>,
    a: &Applying<'_>,
    cache: &mut Cache,
    row: &Row,
    counts: &mut Counts,
) -> Result<Result<Checked<R>, Vec<RowError>>, BatchFailed>
where
    R: Importable,
    R::Input: DeserializeOwned,
    R::Patch: DeserializeOwned,
{
    let fields = match cells(a, row) {
        Ok(fields) => fields,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut input = R::input(&fields);
    if let Some(tags) = fields.get("tags") {
        input.insert("tags".into(), json!(split_tags(tags)));
    }
    match custom_cells(a, row) {
        Ok(custom) if custom.is_empty() => {}
        Ok(custom) => {
            input.insert("custom".into(), Value::Object(custom));
        }
        Err(errors) => return Ok(Err(errors)),
    }
    if let Err(errors) = R::prepare(c.re(), a.ctx, row.line, &fields, &mut input).await? {
        return Ok(Err(errors));
    }
    let company = match fields.get("company") {
        Some(company) if R::OBJECT == Object::Contacts => company,
        _ => return check::<R>(c, a, row.line, input).await,
    };
    if let Some(id) = company_of(c.re(), a, cache, company).await? {
        input.insert("company_id".into(), Value::String(id.to_string()));
        return check::<R>(c, a, row.line, input).await;
    }
    // A company to create, once the rest of the row is known good.
    let checked = match check::<R>(c.re(), a, row.line, input.clone()).await? {
        Ok(checked) => checked,
        Err(errors) => return Ok(Err(errors)),
    };
    if a.dry_run {
        return Ok(Ok(checked));
    }
    let mut company_input = Map::new();
    company_input.insert("name".into(), Value::String(company.clone()));
    let new_company = match check::<Company>(c.re(), a, row.line, company_input).await? {
        Ok(new_company) => new_company,
        // The company's own field errors are the row's `company`.
        Err(errors) => {
            return Ok(Err(errors
                .into_iter()
                .map(|e| RowError {
                    field: Some("company".into()),
                    ..e
                })
                .collect()));
        }
    };
    let created = shape::write_new(c.re(), a.ctx, new_company).await.map_err(unwritten)?;
    counts.companies_created += 1;
    cache.companies.insert(company.to_lowercase(), created.id);
    input.insert("company_id".into(), Value::String(created.id.to_string()));
    check::<R>(c, a, row.line, input).await
}

/// The stored records a batch's rows match, as they are now (merges of
/// earlier rows included), by their keys.
struct Known<R> {
    records: HashMap<Uuid, R>,
    /// By key, the records holding it, oldest first.
    keys: HashMap<(&'static str, String), Vec<Uuid>>,
}

impl<R> Default for Known<R> {
    fn default() -> Self {
        Known {
            records: HashMap::new(),
            keys: HashMap::new(),
        }
    }
}

/// What a row's keys found.
enum Found<R> {
    None,
    One(R),
    Ambiguous(String),
}

impl<R> Known<R>
where
    R: Importable,
    R::Input: DeserializeOwned,
    R::Patch: DeserializeOwned,
{
    /// Reads (and locks) the stored records holding any key of `records`:
    /// one query per key and few hundred values.
    async fn fetch<'r>(
        &mut self,
        mut c: Exec<'_>,
        org: Uuid,
        records: impl Iterator<Item = &'r R>,
    ) -> Result<(), BatchFailed> {
        let mut wanted: BTreeMap<(&'static str, &'static str, bool), BTreeSet<String>> = BTreeMap::new();
        for record in records {
            for key in R::match_keys(record) {
                wanted
                    .entry((key.field, key.column, key.fold))
                    .or_default()
                    .insert(key.value);
            }
        }
        let lock = c.for_update();
        for ((_, column, fold), values) in wanted {
            let values: Vec<String> = values.into_iter().collect();
            for part in values.chunks(500) {
                let found: Vec<R> = run!(c.re(), conn => {
                    let mut q = sqlx::QueryBuilder::new(format!("SELECT {} FROM {} WHERE organization_id = ", R::COLUMNS, R::TABLE));
                    q.push_bind(org);
                    q.push(if fold { format!(" AND lower({column}) IN (") } else { format!(" AND {column} IN (") });
                    for (i, value) in part.iter().enumerate() {
                        q.push(if i == 0 { "" } else { ", " });
                        if fold {
                            q.push("lower(").push_bind(value.clone()).push(")");
                        } else {
                            q.push_bind(value.clone());
                        }
                    }
                    // Oldest first where several records share a key. Not
                    // for a unique key: with an ORDER BY, PostgreSQL walked
                    // the organization's creation-time index instead of the
                    // unique one (over a second a batch at 60,000 contacts).
                    q.push(if fold { ") ORDER BY created_at, id" } else { ")" });
                    q.push(lock);
                    q.build_query_as().fetch_all(conn).await
                })
                .map_err(|e| BatchFailed(e.into()))?;
                for record in found {
                    self.add(record);
                }
            }
        }
        Ok(())
    }

    fn add(&mut self, record: R) {
        let id = record.id();
        if self.records.contains_key(&id) {
            return;
        }
        for key in R::match_keys(&record) {
            let ids = self.keys.entry(key.lookup()).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        self.records.insert(id, record);
    }

    /// Replaces `before` with what a merge made of it.
    fn put(&mut self, before: &R, after: R) {
        for key in R::match_keys(before) {
            if let Some(ids) = self.keys.get_mut(&key.lookup()) {
                ids.retain(|id| *id != before.id());
            }
        }
        self.records.remove(&before.id());
        self.add(after);
    }

    fn find(&self, keys: &[MatchKey]) -> Found<R> {
        let mut found: Vec<(&'static str, &R)> = Vec::new();
        for key in keys {
            let hit = self
                .keys
                .get(&key.lookup())
                .and_then(|ids| ids.first())
                .and_then(|id| self.records.get(id));
            if let Some(hit) = hit {
                found.push((key.field, hit));
                if matches!(R::MATCH, MatchRule::First) {
                    break;
                }
            }
        }
        match found.as_slice() {
            [] => Found::None,
            [(f1, one), (f2, other), ..] if one.id() != other.id() => Found::Ambiguous(format!(
                "matches two different {}: {} by {f1} and {} by {f2}",
                R::TABLE,
                one.id(),
                other.id()
            )),
            [(_, one), ..] => Found::One((*one).clone()),
        }
    }

    /// Writes the queued new records, which are then known like the stored
    /// ones.
    async fn write(&mut self, c: Exec<'_>, ctx: &OrgCtx, pending: &mut Vec<Checked<R>>) -> Result<(), BatchFailed> {
        shape::write_new_many(c, ctx, pending).await.map_err(BatchFailed)?;
        for checked in pending.drain(..) {
            self.add(checked.record);
        }
        Ok(())
    }
}

/// The row's cells by our field name: refused when its column count is not
/// the header's, or a cell holds NUL (which PostgreSQL cannot store).
fn cells(a: &Applying<'_>, row: &Row) -> Result<BTreeMap<&'static str, String>, Vec<RowError>> {
    if row.cells.len() != a.headers.len() {
        return Err(vec![RowError {
            line: row.line,
            field: None,
            code: "column_count".into(),
            message: format!("has {} columns; the header has {}", row.cells.len(), a.headers.len()),
        }]);
    }
    let mut fields = BTreeMap::new();
    let mut errors = Vec::new();
    for (cell, field) in row.cells.iter().zip(&a.mapping.columns) {
        let Some(field) = field else { continue };
        let value = cell.trim();
        if value.is_empty() {
            continue;
        }
        if value.contains('\0') {
            errors.push(RowError {
                line: row.line,
                field: Some((*field).to_string()),
                code: "validation_failed".into(),
                message: crate::services::validate::NUL_MESSAGE.into(),
            });
            continue;
        }
        fields.insert(*field, value.to_string());
    }
    if errors.is_empty() { Ok(fields) } else { Err(errors) }
}

/// The row's custom field values, read by their fields' types (a number,
/// a date, `true`/`false`, options separated by `;` or `,`); a cell the
/// type cannot read is the row's error on `custom.<key>`.
fn custom_cells(a: &Applying<'_>, row: &Row) -> Result<Map<String, Value>, Vec<RowError>> {
    use crate::services::custom_fields::{Given, values};
    let mut custom = Map::new();
    let mut errors = Vec::new();
    for (cell, def) in row.cells.iter().zip(&a.mapping.custom) {
        let Some(def) = def else { continue };
        let text = if def.kind == "multi_select" {
            cell.replace(';', ",")
        } else {
            cell.clone()
        };
        match values::convert(def, &Given::Text(text)) {
            Ok(Some(value)) => {
                custom.insert(def.key.clone(), value);
            }
            Ok(None) => {}
            Err(message) => errors.push(RowError {
                line: row.line,
                field: Some(format!("{}{}", values::PREFIX, def.key)),
                code: "validation_failed".into(),
                message,
            }),
        }
    }
    if errors.is_empty() { Ok(custom) } else { Err(errors) }
}

/// Tags written in one cell, separated by `;` or `,`.
fn split_tags(cell: &str) -> Vec<String> {
    cell.split([';', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The API's checks on a row's input: the checked record, or the row's
/// errors as the API words them. A database failure stops the batch.
async fn check<R>(
    c: Exec<'_>,
    a: &Applying<'_>,
    line: u64,
    input: Map<String, Value>,
) -> Result<Result<Checked<R>, Vec<RowError>>, BatchFailed>
where
    R: Importable,
    R::Input: DeserializeOwned,
    R::Patch: DeserializeOwned,
{
    let input: R::Input = match serde_json::from_value(Value::Object(input)) {
        Ok(input) => input,
        Err(e) => {
            return Ok(Err(vec![RowError {
                line,
                field: None,
                code: "validation_failed".into(),
                message: e.to_string(),
            }]));
        }
    };
    match R::check_new(c, a.ctx, input).await {
        Ok(checked) => Ok(Ok(checked)),
        Err(e) => refused(line, e).map(Err),
    }
}

/// A refusal as the row's errors (one per field); a server-side failure
/// (the database) stops the batch instead.
fn refused(line: u64, e: AppError) -> Result<Vec<RowError>, BatchFailed> {
    if e.status.is_server_error() {
        return Err(BatchFailed(e));
    }
    if e.errors.is_empty() {
        return Ok(vec![RowError {
            line,
            field: None,
            code: e.code.into(),
            message: e.detail.into_owned(),
        }]);
    }
    Ok(e.errors
        .into_iter()
        .map(|f| RowError {
            line,
            field: Some(f.field),
            code: e.code.into(),
            message: f.message,
        })
        .collect())
}

fn unwritten<R>(e: Unwritten<R>) -> BatchFailed {
    match e {
        Unwritten::Database(e, _) => BatchFailed(e.into()),
        Unwritten::Refused(e) => BatchFailed(e),
    }
}

/// Merges a row's checked record into the stored one it matched: empty
/// stored fields are filled, a differing one is a conflict (queued, kept or
/// overwritten as the import says), tags are added. Returns the record as
/// written when it changed, and how many conflicts the row had.
async fn merge_into<R: Importable>(
    mut c: Exec<'_>,
    a: &Applying<'_>,
    line: u64,
    existing: &R,
    incoming: &R,
) -> Result<Result<(Option<R>, i64), Vec<RowError>>, BatchFailed>
where
    R::Input: DeserializeOwned,
    R::Patch: DeserializeOwned,
{
    let stored = serde_json::to_value(existing).unwrap_or(Value::Null);
    let new = serde_json::to_value(incoming).unwrap_or(Value::Null);
    let mut patch = Map::new();
    let mut conflicts = 0;
    for field in R::FIELDS.iter().filter(|f| **f != "owner_id") {
        let (current, value) = (&stored[*field], &new[*field]);
        // An empty cell never clears and is never a conflict.
        if value.is_null() || current == value {
            continue;
        }
        if current.is_null() {
            patch.insert(field.to_string(), value.clone());
            continue;
        }
        conflicts += 1;
        match a.on_conflict {
            OnConflict::Keep => {}
            OnConflict::Overwrite => {
                patch.insert(field.to_string(), value.clone());
            }
            OnConflict::Queue => {
                conflicts::add(
                    c.re(),
                    a.ctx.org_id,
                    &conflicts::NewConflict {
                        import_id: a.import,
                        line,
                        record_type: R::KIND,
                        record_id: existing.id(),
                        field,
                        current_value: current,
                        incoming_value: value,
                    },
                )
                .await
                .map_err(|e| BatchFailed(e.into()))?;
            }
        }
    }
    // Custom values fill the stored record's empty ones; a differing one is
    // kept or overwritten as the import says (a queued conflict names one
    // of the type's own fields, so custom ones are kept then).
    if let Some(incoming) = new["custom"].as_object() {
        let mut custom = Map::new();
        for (key, value) in incoming {
            let current = &stored["custom"][key.as_str()];
            if current == value {
                continue;
            }
            if current.is_null() || a.on_conflict == OnConflict::Overwrite {
                custom.insert(key.clone(), value.clone());
            } else {
                conflicts += 1;
            }
        }
        if !custom.is_empty() {
            patch.insert("custom".into(), Value::Object(custom));
        }
    }
    let mut tags = existing.tags().to_vec();
    let before = tags.len();
    for tag in incoming.tags() {
        if !tags.iter().any(|t| t.eq_ignore_ascii_case(tag)) {
            tags.push(tag.clone());
        }
    }
    if tags.len() != before {
        match records::normalize_tags(&tags) {
            Ok(tags) => {
                patch.insert("tags".into(), json!(tags));
            }
            Err(message) => {
                return Ok(Err(vec![RowError {
                    line,
                    field: Some("tags".into()),
                    code: "validation_failed".into(),
                    message,
                }]));
            }
        }
    }
    if patch.is_empty() {
        return Ok(Ok((None, conflicts)));
    }
    let patch: R::Patch =
        serde_json::from_value(Value::Object(patch)).map_err(|e| BatchFailed(AppError::internal(e)))?;
    let next = match R::check_patch(c.re(), a.ctx, existing, patch).await {
        Ok(next) => next,
        Err(e) => return refused(line, e).map(Err),
    };
    if next.record == *existing {
        return Ok(Ok((None, conflicts)));
    }
    let written = shape::write_changed(c, a.ctx, existing, next)
        .await
        .map_err(unwritten)?;
    Ok(Ok((Some(written), conflicts)))
}

/// A contact row's company, when one exists: the one named so (any case,
/// the oldest), or whose domain the cell is. Remembered for the run.
async fn company_of(
    mut c: Exec<'_>,
    a: &Applying<'_>,
    cache: &mut Cache,
    cell: &str,
) -> Result<Option<Uuid>, BatchFailed> {
    let key = cell.to_lowercase();
    if let Some(id) = cache.companies.get(&key) {
        return Ok(Some(*id));
    }
    let fail = |e: sqlx::Error| BatchFailed(e.into());
    let mut found = crate::services::companies::queries::find_by_name(c.re(), a.ctx.org_id, cell)
        .await
        .map_err(fail)?;
    if found.is_none()
        && cell.contains('.')
        && !cell.contains(' ')
        && let Ok(domain) = crate::services::companies::domain(cell)
    {
        found = run!(c.re(), conn => sqlx::query_scalar(
            "SELECT id FROM companies WHERE organization_id = $1 AND domain = $2",
        )
        .bind(a.ctx.org_id)
        .bind(&domain)
        .fetch_optional(conn)
        .await)
        .map_err(fail)?;
    }
    if let Some(id) = found {
        cache.companies.insert(key, id);
    }
    Ok(found)
}
