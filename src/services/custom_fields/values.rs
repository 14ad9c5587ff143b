//! A record's custom values: read from what a client sends (JSON, strictly
//! typed) or a web form or CSV cell sends (text, read by the field's type),
//! checked against the definitions, indexed in `custom_values` for the
//! lists' filters.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};
use uuid::Uuid;

use super::CustomField;
use crate::db::Exec;
use crate::error::Validator;
use crate::run;
use crate::services::records::parse_date;
use crate::services::records::rows::{BindsCells, Cell};
use crate::services::validate;

/// The values a record carries: `{key: value}`, only set keys.
pub type CustomValues = Map<String, Value>;

/// The longest text value (a text, url or email field): short enough for
/// its lower-cased copy to fit a B-tree index entry on PostgreSQL.
pub const MAX_TEXT: usize = 500;

/// One value as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    /// By the API: a JSON value of the field's type, no coercion; `null` clears.
    Json(Value),
    /// By a web form or a CSV cell: text read by the field's type; blank clears.
    Text(String),
}

/// The `custom` object of a create or a change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomInput(pub BTreeMap<String, Given>);

impl<'de> serde::Deserialize<'de> for CustomInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        Ok(CustomInput(map.into_iter().map(|(k, v)| (k, Given::Json(v))).collect()))
    }
}

impl CustomInput {
    /// A change's values over the record's current ones: a key the change
    /// names replaces (or, `null`, clears) the current value.
    pub fn merged(current: &CustomValues, change: Option<CustomInput>) -> CustomInput {
        let mut all: BTreeMap<String, Given> = current
            .iter()
            .map(|(k, v)| (k.clone(), Given::Json(v.clone())))
            .collect();
        if let Some(change) = change {
            all.extend(change.0);
        }
        CustomInput(all)
    }

    /// The values of a form's or a row's `custom.<key>` texts.
    pub fn from_text(text: &CustomText) -> CustomInput {
        CustomInput(
            text.0
                .iter()
                .map(|(k, v)| (k.clone(), Given::Text(v.clone())))
                .collect(),
        )
    }
}

/// The `custom.<key>` fields of a web form or a CSV row, as text: the
/// fields of a form struct that is read with `#[serde(flatten)]` (any other
/// field name is left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomText(pub BTreeMap<String, String>);

/// The prefix of a custom field's name in a form, a list's query and errors.
pub const PREFIX: &str = "custom.";

impl<'de> serde::Deserialize<'de> for CustomText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Value>::deserialize(deserializer)?;
        Ok(CustomText(
            map.into_iter()
                .filter_map(|(k, v)| {
                    let key = k.strip_prefix(PREFIX)?.to_string();
                    match v {
                        Value::String(s) => Some((key, s)),
                        _ => None,
                    }
                })
                .collect(),
        ))
    }
}

impl CustomText {
    /// A record's values as its edit form shows them.
    pub fn of(values: &CustomValues) -> CustomText {
        CustomText(values.iter().map(|(k, v)| (k.clone(), as_text(v))).collect())
    }

    /// The text of `key` (blank when unset).
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or_default()
    }
}

/// A value as text: what a form shows, a CSV cell holds, and what a type
/// change to `text` keeps.
pub fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(as_text).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Checks `given` against the definitions: the values to store, every
/// error under `custom.<key>` (unknown keys, values of the wrong type,
/// required fields left without a value).
pub fn check(v: &mut Validator, defs: &[CustomField], given: Option<CustomInput>) -> CustomValues {
    let mut values = CustomValues::new();
    for (key, value) in given.unwrap_or_default().0 {
        let field = format!("{PREFIX}{key}");
        match defs.iter().find(|d| d.key == key) {
            None => v.add(field, "is not a custom field of this record type"),
            Some(def) => match convert(def, &value) {
                Ok(Some(value)) => {
                    values.insert(key, value);
                }
                Ok(None) => {}
                Err(message) => v.add(field, message),
            },
        }
    }
    for def in defs.iter().filter(|d| d.required) {
        if !values.contains_key(&def.key) {
            v.add(format!("{PREFIX}{}", def.key), "is required");
        }
    }
    values
}

/// `given` as a value of `def`'s type: `None` clears; the error says what
/// the type takes.
pub fn convert(def: &CustomField, given: &Given) -> Result<Option<Value>, String> {
    let text = match given {
        Given::Json(Value::Null) => return Ok(None),
        Given::Text(s) if s.trim().is_empty() => return Ok(None),
        Given::Text(s) => Some(s.trim()),
        Given::Json(Value::String(s)) if s.trim().is_empty() && def.kind != "multi_select" => return Ok(None),
        Given::Json(_) => None,
    };
    let json = match given {
        Given::Json(v) => Some(v),
        Given::Text(_) => None,
    };
    let string = || -> Result<&str, String> {
        match (text, json) {
            (Some(t), _) => Ok(t),
            (None, Some(Value::String(s))) => Ok(s.trim()),
            _ => Err("must be a string".into()),
        }
    };
    let options = &def.options.0;
    let option = |s: &str| -> Result<String, String> {
        options
            .iter()
            .find(|o| o.as_str() == s)
            .cloned()
            .ok_or_else(|| format!("must be one of: {}", options.join(", ")))
    };
    let value = match def.kind.as_str() {
        "text" => {
            let s = string()?;
            if s.chars().count() > MAX_TEXT {
                return Err(format!("at most {MAX_TEXT} characters"));
            }
            Value::String(s.to_string())
        }
        "url" => Value::String(validate::web_url(string()?)?),
        "email" => Value::String(validate::email(string()?)?),
        "date" => {
            let s = string()?;
            parse_date(s)?;
            Value::String(s.to_string())
        }
        "select" => Value::String(option(string()?)?),
        "number" => {
            let n = match (text, json) {
                (Some(t), _) => t.parse::<f64>().map_err(|_| "must be a number".to_string())?,
                (None, Some(Value::Number(n))) => n.as_f64().ok_or("must be a number")?,
                _ => return Err("must be a number".into()),
            };
            Value::Number(number(n).ok_or("must be a finite number")?)
        }
        "boolean" => match (text, json) {
            (Some(t), _) => match t.to_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Value::Bool(true),
                "false" | "no" | "off" | "0" => Value::Bool(false),
                _ => return Err("must be true or false".into()),
            },
            (None, Some(Value::Bool(b))) => Value::Bool(*b),
            _ => return Err("must be true or false".into()),
        },
        "multi_select" => {
            let chosen: Vec<String> = match (text, json) {
                (Some(t), _) => t
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                (None, Some(Value::Array(items))) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string).ok_or("must be a list of strings"))
                    .collect::<Result<_, _>>()?,
                _ => return Err("must be a list of strings".into()),
            };
            let mut values: Vec<Value> = Vec::new();
            for c in chosen {
                let c = Value::String(option(c.trim())?);
                if !values.contains(&c) {
                    values.push(c);
                }
            }
            if values.is_empty() {
                return Ok(None);
            }
            Value::Array(values)
        }
        _ => return Err("has a type this server does not know".into()),
    };
    Ok(Some(value))
}

/// A JSON number: whole numbers as integers (so `42` reads back `42`, not `42.0`).
fn number(n: f64) -> Option<Number> {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Some(Number::from(n as i64))
    } else {
        Number::from_f64(n)
    }
}

/// A stored value in its new definition's type, when it converts without
/// loss (leads.md: text→number when it parses, select→multi_select,
/// anything→text); `None` when it would not fit.
pub fn converted(def: &CustomField, value: &Value) -> Option<Value> {
    if let Ok(Some(same)) = convert(def, &Given::Json(value.clone())) {
        return Some(same);
    }
    let text = as_text(value);
    match convert(def, &Given::Text(text.clone())) {
        Ok(Some(new)) if as_text(&new) == text => Some(new),
        _ => None,
    }
}

/// What `custom_values` holds for one value: one row per option of a
/// multi-select; text lower-cased (filters ignore case), numbers as numbers.
fn index_rows(value: &Value) -> Vec<(Option<String>, Option<f64>)> {
    match value {
        Value::Number(n) => vec![(None, n.as_f64())],
        Value::Bool(b) => vec![(Some(b.to_string()), None)],
        Value::String(s) => vec![(Some(s.to_lowercase()), None)],
        Value::Array(items) => items.iter().flat_map(index_rows).collect(),
        _ => Vec::new(),
    }
}

/// Replaces the index rows of records' values (`new`: they have none yet).
pub async fn index(
    mut c: Exec<'_>,
    org: Uuid,
    object: &str,
    records: &[(Uuid, &CustomValues)],
    new: bool,
) -> Result<(), sqlx::Error> {
    if !new {
        for (id, _) in records {
            run!(c.re(), conn => sqlx::query("DELETE FROM custom_values WHERE organization_id = $1 AND record_type = $2 AND record_id = $3")
                .bind(org)
                .bind(object)
                .bind(*id)
                .execute(conn)
                .await
                .map(|r| r.rows_affected()))?;
        }
    }
    let rows: Vec<(Uuid, &String, Option<String>, Option<f64>)> = records
        .iter()
        .flat_map(|(id, values)| {
            values
                .iter()
                .flat_map(move |(key, value)| index_rows(value).into_iter().map(move |(t, n)| (*id, key, t, n)))
        })
        .collect();
    for part in rows.chunks(500) {
        run!(c.re(), conn => {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO custom_values (organization_id, record_type, key, record_id, value_text, value_number) ");
            q.push_values(part, |mut row, (id, key, text, number)| {
                row.push_bind(org).push_bind(object).push_bind(key.as_str()).push_bind(*id).push_bind(text.clone()).push_bind(*number);
            });
            q.build().execute(conn).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// One `custom.<key>` filter of a list, checked: the records whose value
/// equals `text` or `number`, or lies in a range (numbers, dates).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFilter {
    pub key: String,
    pub condition: Condition,
    /// Checked row by row while walking the list ([`plan`]).
    pub walk: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Text(String),
    Number(f64),
    Numbers(Option<f64>, Option<f64>),
    Dates(Option<String>, Option<String>),
}

/// The `custom.*` parameters of a list's query string, in order.
pub fn raw_filters(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs.iter().filter(|(k, _)| k.starts_with(PREFIX)).cloned().collect()
}

/// [`raw_filters`] of a query string (one the extractor already read).
pub fn params_of(query: Option<&str>) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> = query
        .and_then(|q| serde_html_form::from_str(q).ok())
        .unwrap_or_default();
    raw_filters(&pairs)
}

/// A list's `custom.<key>=`, `custom.<key>_min=` and `custom.<key>_max=`
/// parameters checked against the definitions: an unknown key, a range on
/// a type without order, or a value the type cannot hold → 422 naming the
/// parameter. Blank values are left out, like every list filter.
pub fn filters(defs: &[CustomField], raw: &[(String, String)]) -> crate::error::AppResult<Vec<CustomFilter>> {
    let mut v = Validator::new();
    let mut out: Vec<CustomFilter> = Vec::new();
    for (param, value) in raw {
        let name = param.strip_prefix(PREFIX).unwrap_or(param);
        let value = value.trim();
        let (def, bound) = match defs.iter().find(|d| d.key == name) {
            Some(def) => (def, None),
            None => {
                let ranged = [("_min", true), ("_max", false)].into_iter().find_map(|(suffix, low)| {
                    let key = name.strip_suffix(suffix)?;
                    defs.iter().find(|d| d.key == key).map(|d| (d, Some(low)))
                });
                match ranged {
                    Some(found) => found,
                    None => {
                        v.add(param.clone(), "is not a custom field of this record type");
                        continue;
                    }
                }
            }
        };
        if value.is_empty() {
            continue;
        }
        let condition = match (def.kind.as_str(), bound) {
            ("number", bound) => match value.parse::<f64>().ok().filter(|n| n.is_finite()) {
                None => {
                    v.add(param.clone(), "must be a number");
                    continue;
                }
                Some(n) => match bound {
                    None => Condition::Number(n),
                    Some(true) => Condition::Numbers(Some(n), None),
                    Some(false) => Condition::Numbers(None, Some(n)),
                },
            },
            ("date", bound) => {
                if let Err(e) = parse_date(value) {
                    v.add(param.clone(), e);
                    continue;
                }
                match bound {
                    None => Condition::Text(value.to_string()),
                    Some(true) => Condition::Dates(Some(value.to_string()), None),
                    Some(false) => Condition::Dates(None, Some(value.to_string())),
                }
            }
            (_, Some(_)) => {
                v.add(param.clone(), "a range needs a number or date field");
                continue;
            }
            ("boolean", None) => match value {
                "true" | "false" => Condition::Text(value.to_string()),
                _ => {
                    v.add(param.clone(), "must be true or false");
                    continue;
                }
            },
            (_, None) => Condition::Text(value.to_lowercase()),
        };
        // A key's _min and _max make one range (one index range scan).
        if let Some(same) = out.iter_mut().find(|f| f.key == def.key) {
            same.condition = match (&same.condition, condition) {
                (Condition::Numbers(lo, hi), Condition::Numbers(lo2, hi2)) => {
                    Condition::Numbers(lo.or(lo2), hi.or(hi2))
                }
                (Condition::Dates(lo, hi), Condition::Dates(lo2, hi2)) => {
                    Condition::Dates(lo.clone().or(lo2), hi.clone().or(hi2))
                }
                (_, other) => {
                    out.push(CustomFilter {
                        key: def.key.clone(),
                        condition: other,
                        walk: false,
                    });
                    continue;
                }
            };
            continue;
        }
        out.push(CustomFilter {
            key: def.key.clone(),
            condition,
            walk: false,
        });
    }
    v.finish()?;
    Ok(out)
}

/// Appends one condition per filter, served by `custom_values`' indexes:
/// `id IN (the records of `object` with this value)`, or, for a filter
/// [`plan`] found common, `EXISTS (this row has the value)` checked while
/// walking the list's sort index (`table` names the list's table).
pub fn push_filters<'q, DB: BindsCells<'q>>(
    q: &mut sqlx::QueryBuilder<'q, DB>,
    org: Uuid,
    object: &str,
    table: &str,
    filters: &'q [CustomFilter],
) {
    for f in filters {
        if f.walk {
            q.push(" AND EXISTS (SELECT 1 FROM custom_values WHERE organization_id = ");
        } else {
            q.push(" AND id IN (SELECT record_id FROM custom_values WHERE organization_id = ");
        }
        push_match(q, org, object, f);
        if f.walk {
            q.push(format!(" AND record_id = {table}.id"));
        }
        q.push(")");
    }
}

/// The organization bound, then ` AND record_type … key … value …` of one filter.
fn push_match<'q, DB: BindsCells<'q>>(
    q: &mut sqlx::QueryBuilder<'q, DB>,
    org: Uuid,
    object: &str,
    f: &'q CustomFilter,
) {
    let text = |q: &mut sqlx::QueryBuilder<'q, DB>, sql: &str, t: &'q str| {
        q.push(sql);
        DB::push_value(q, Cell::Text(Some(t)));
    };
    let number = |q: &mut sqlx::QueryBuilder<'q, DB>, sql: &str, n: f64| {
        q.push(sql);
        DB::push_value(q, Cell::Float(Some(n)));
    };
    DB::push_value(q, Cell::Id(Some(org)));
    text(q, &format!(" AND record_type = '{object}' AND key = "), &f.key);
    match &f.condition {
        Condition::Text(t) => text(q, " AND value_text = ", t),
        Condition::Number(n) => number(q, " AND value_number = ", *n),
        Condition::Numbers(lo, hi) => {
            q.push(" AND value_number IS NOT NULL");
            if let Some(lo) = lo {
                number(q, " AND value_number >= ", *lo);
            }
            if let Some(hi) = hi {
                number(q, " AND value_number <= ", *hi);
            }
        }
        Condition::Dates(lo, hi) => {
            q.push(" AND value_text IS NOT NULL");
            if let Some(lo) = lo {
                text(q, " AND value_text >= ", lo);
            }
            if let Some(hi) = hi {
                text(q, " AND value_text <= ", hi);
            }
        }
    }
}

/// A value this many records hold is filtered by walking (SQLite).
const WALK_FROM: i64 = 5000;

/// Decides how each filter is written, as `records::tag_filter` does for
/// tags: on SQLite, whose planner always reads every matching record first
/// and sorts them, a value at least [`WALK_FROM`] records hold is checked
/// row by row while walking the sort index (on the benchmark's 200,000
/// leads: `custom.region=north`, 25,000 leads, 68 ms read first, 0.3 ms
/// walking; a value 800 leads hold, 5 ms read first, 12 ms walking). A
/// bounded count decides. PostgreSQL's planner picks between the two
/// itself.
pub async fn plan(mut c: Exec<'_>, org: Uuid, object: &str, filters: &mut [CustomFilter]) -> Result<(), sqlx::Error> {
    if c.backend() != crate::db::Backend::Sqlite {
        return Ok(());
    }
    for filter in filters.iter_mut() {
        let f = filter.clone();
        let common: i64 = run!(c.re(), conn => {
            let mut q = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (SELECT 1 FROM custom_values WHERE organization_id = ");
            push_match(&mut q, org, object, &f);
            q.push(" LIMIT ").push_bind(WALK_FROM).push(") AS t");
            q.build_query_scalar().fetch_one(conn).await
        })?;
        filter.walk = common >= WALK_FROM;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(kind: &str, options: &[&str]) -> CustomField {
        CustomField {
            id: Uuid::nil(),
            object: "contacts".into(),
            key: "k".into(),
            label: "K".into(),
            kind: kind.into(),
            options: sqlx::types::Json(options.iter().map(|s| s.to_string()).collect()),
            required: false,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn values_are_typed_without_coercion() {
        let n = def("number", &[]);
        assert_eq!(convert(&n, &Given::Json(json!(42))), Ok(Some(json!(42))));
        assert!(convert(&n, &Given::Json(json!("42"))).is_err());
        assert_eq!(convert(&n, &Given::Text("42.5".into())), Ok(Some(json!(42.5))));
        assert_eq!(convert(&n, &Given::Json(Value::Null)), Ok(None));
        let m = def("multi_select", &["a", "b"]);
        assert_eq!(
            convert(&m, &Given::Json(json!(["b", "a", "b"]))),
            Ok(Some(json!(["b", "a"])))
        );
        assert!(convert(&m, &Given::Json(json!(["c"]))).is_err());
        assert_eq!(convert(&m, &Given::Text("a, b".into())), Ok(Some(json!(["a", "b"]))));
        let b = def("boolean", &[]);
        assert!(convert(&b, &Given::Json(json!("true"))).is_err());
        assert_eq!(convert(&b, &Given::Text("true".into())), Ok(Some(json!(true))));
        let d = def("date", &[]);
        assert!(convert(&d, &Given::Json(json!("2024-02-30"))).is_err());
    }

    #[test]
    fn type_changes_keep_only_lossless_values() {
        assert_eq!(converted(&def("number", &[]), &json!("42")), Some(json!(42)));
        assert!(converted(&def("number", &[]), &json!("forty")).is_none());
        assert_eq!(converted(&def("multi_select", &["a"]), &json!("a")), Some(json!(["a"])));
        assert!(converted(&def("select", &["a", "b"]), &json!(["a", "b"])).is_none());
        assert_eq!(converted(&def("text", &[]), &json!(true)), Some(json!("true")));
        assert_eq!(converted(&def("text", &[]), &json!(["a", "b"])), Some(json!("a, b")));
        assert!(converted(&def("boolean", &[]), &json!("yes")).is_none());
    }
}
