//! What the server enforces, written into the OpenAPI document so that a
//! schema-valid request is accepted and a schema-violating one refused
//! (`tests/fuzz.sh` checks both with schemathesis).
//!
//! Two kinds of rule live here, applied to the generated document once every
//! route has added its path:
//! - the answers every operation of a kind gives, declared once instead of in
//!   each handler's `responses(...)`: errors are `application/problem+json`;
//!   a bearer-authenticated operation can answer 401 and 429; one scoped by
//!   `X-Organization-Id` 400 and 403; one with a body 400, 413 and 422; one
//!   with query parameters or `Idempotency-Key` 422; one with a body 408 when
//!   it does not arrive in time; every one 503 when the database is
//!   unreachable, the request is not answered in time or the connection is
//!   over a cap;
//! - the constraints of the validators in `crate::services::validate` and the
//!   record types' checks, by schema and field ([`field_rules`], [`query_rules`]). Each entry
//!   mirrors a rule in the code named beside it; a rule changed there and not
//!   here makes the fuzz run fail.
//!
//! Empty strings: the services read `""` as "not given" in query filters and
//! optional body fields (the web forms send empty fields), so the document
//! says so (`anyOf` with an empty string) rather than letting a format claim
//! they are refused.

use serde_json::{Map, Value, json};

use crate::services::validate;

const PROBLEM_JSON: &str = "application/problem+json";

/// A UUID as the services parse it (`Uuid::parse_str` after trimming: the
/// hyphenated form; the document asks for exactly that).
const UUID: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// The characters `str::trim` removes (Unicode `White_Space`), spelled out:
/// a regex `\s` differs between engines (ECMA's has U+FEFF and lacks U+0085).
const WS: &str = r"[\t\n\x0b\x0c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// A character of text that is neither such white space nor NUL.
const TEXT: &str = r"[^\t\n\x0b\x0c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\x00]";

/// Applies every rule of this module to the document.
pub fn apply(doc: &mut Value) {
    apply_rules(doc);
    // Last, so that it sees every string the rules left without a pattern.
    no_nul(doc);
}

/// Text may not hold NUL (`http::extract::NUL_MESSAGE`): every free string
/// of the document says so.
fn no_nul(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            let constrained = ["pattern", "format", "enum", "$ref", "const"]
                .iter()
                .any(|k| map.contains_key(*k))
                || map.get("maxLength") == Some(&json!(0));
            if is_string && !constrained {
                map.insert("pattern".into(), json!(r"^[^\x00]*$"));
            }
            for child in map.values_mut() {
                no_nul(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(no_nul),
        _ => {}
    }
}

fn apply_rules(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (route, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                if ["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                    operation_answers(op);
                    for (path, parameter, rule) in query_rules() {
                        // A list's export takes the list's parameters.
                        let list = route.strip_suffix("/export").unwrap_or(route);
                        if path == list
                            && let Some(schema) = op
                                .get_mut("parameters")
                                .and_then(Value::as_array_mut)
                                .and_then(|ps| ps.iter_mut().find(|p| p["name"] == parameter))
                                .and_then(|p| p.get_mut("schema"))
                        {
                            merge(schema, rule);
                        }
                    }
                    parameter_rules(op);
                }
            }
        }
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.insert(
            "TimeZoneName".to_string(),
            json!({
                "type": "string",
                "description": "A time zone of the IANA database, spelled as it spells it.",
                "enum": chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect::<Vec<_>>(),
            }),
        );
        for (name, description, codes) in code_lists() {
            schemas.insert(name.to_string(), code_schema(description, &codes));
        }
        for (schema, field, rule) in field_rules() {
            if let Some(property) = schemas
                .get_mut(schema)
                .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
            {
                merge(property, rule);
            }
        }
    }
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// Adds `status` to the operation's responses unless it declares it itself.
fn answer(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses
        .entry(status.to_string())
        .or_insert_with(|| problem(description));
}

fn parameters(op: &Value) -> impl Iterator<Item = &Value> {
    op.get("parameters").and_then(Value::as_array).into_iter().flatten()
}

fn has_parameter(op: &Value, name: &str) -> bool {
    parameters(op).any(|p| p["name"] == name)
}

/// The answers of the shared extractors and of the problem responses.
fn operation_answers(op: &mut Value) {
    let bearer = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let tenant = has_parameter(op, "X-Organization-Id");
    let body = op.get("requestBody").is_some();
    let query = parameters(op).any(|p| p["in"] == "query") || has_parameter(op, "Idempotency-Key");
    let hashes = op["operationId"]
        .as_str()
        .is_some_and(|id| HASHING_OPERATIONS.contains(&id));
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    // Every error is a problem document (crate::http::error).
    for (status, response) in responses.iter_mut() {
        if (status.starts_with('4') || status.starts_with('5'))
            && let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
            && let Some(schema) = content.remove("application/json")
        {
            content.insert(PROBLEM_JSON.into(), schema);
        }
    }
    if bearer {
        answer(responses, "401", "`invalid_token` or `token_expired`");
        answer(responses, "429", "`rate_limited`, with Retry-After");
    }
    if tenant {
        answer(
            responses,
            "400",
            "`organization_required`: X-Organization-Id missing or not a UUID",
        );
        answer(responses, "403", "`not_a_member`, or `forbidden` for the caller's role");
    }
    if body {
        answer(responses, "400", "`malformed_json`: the body is not JSON");
        answer(
            responses,
            "408",
            "`request_timeout`: the body did not arrive within CRM_REQUEST_TIMEOUT",
        );
        answer(responses, "413", "`payload_too_large`: the body is over 1 MiB");
        answer(responses, "422", "`validation_failed`, naming each invalid field");
    }
    if query {
        answer(responses, "422", "`validation_failed` or `invalid_cursor`");
    }
    if hashes {
        answer(
            responses,
            "503",
            "`busy` (every password hashing slot and queue place taken), `database_unavailable`, `timeout` or `too_many_connections`, with Retry-After",
        );
    }
    answer(
        responses,
        "503",
        "`database_unavailable`, `timeout` (not answered within CRM_REQUEST_TIMEOUT) or `too_many_connections`, with Retry-After",
    );
}

/// The operations that hash a password (`services::auth::password`): they
/// can also answer 503 `busy`.
const HASHING_OPERATIONS: &[&str] = &[
    "register",
    "login",
    "change_password",
    "set_member_password",
    "accept_invitation",
];

/// The fields a merge may choose, of every type that merges.
fn merge_fields() -> Vec<&'static str> {
    use crate::services::records::merge::Mergeable;
    let mut fields: Vec<&'static str> = crate::services::contacts::Contact::FIELDS.to_vec();
    for field in crate::services::companies::Company::FIELDS {
        if !fields.contains(field) {
            fields.push(field);
        }
    }
    fields
}

/// Headers are never null; `Idempotency-Key` is 1..255 visible characters;
/// `limit` is 1..200; a query filter may be empty (not given).
fn parameter_rules(op: &mut Value) {
    let Some(parameters) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for parameter in parameters {
        let name = parameter["name"].as_str().unwrap_or_default().to_string();
        let location = parameter["in"].as_str().unwrap_or_default().to_string();
        let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut) else {
            continue;
        };
        if location == "header" && schema.get("type") == Some(&json!(["string", "null"])) {
            schema.insert("type".into(), json!("string"));
        }
        if name == "Idempotency-Key" {
            // crate::services::idempotency::IdempotencyKey: trimmed, 1..255.
            schema.insert("minLength".into(), json!(1));
            schema.insert("maxLength".into(), json!(255));
            schema.insert("pattern".into(), json!(r"^[\t\x20-\x7e]*[\x21-\x7e][\t\x20-\x7e]*$"));
        }
        if name == "limit" {
            // crate::services::pagination::limit.
            schema.remove("format");
            schema.insert("minimum".into(), json!(1));
            schema.insert("maximum".into(), json!(crate::services::pagination::MAX_LIMIT));
        }
        if location == "query" {
            let typed: Map<String, Value> = ["format", "pattern", "enum", "minimum", "maximum"]
                .into_iter()
                .filter_map(|k| schema.remove(k).map(|v| (k.to_string(), v)))
                .collect();
            if !typed.is_empty() {
                let mut typed = Value::Object(typed);
                if let Some(kind) = schema.get("type") {
                    typed["type"] = kind.clone();
                }
                // `records::opt`: an empty value is "not given".
                schema.insert("anyOf".into(), json!([typed, { "type": "string", "maxLength": 0 }]));
                schema.remove("type");
            }
        }
    }
}

/// Merges `rule` into a property schema; `"anyOf"`/`"oneOf"` rules replace
/// the property's own type.
fn merge(property: &mut Value, rule: Value) {
    let (Some(target), Value::Object(rule)) = (property.as_object_mut(), rule) else {
        return;
    };
    if rule.contains_key("anyOf") || rule.contains_key("oneOf") {
        for key in ["type", "format", "enum", "pattern", "minLength", "maxLength"] {
            target.remove(key);
        }
    }
    target.extend(rule);
}

/// A required text (`validate::required_text`): trimmed, 1..`max` characters.
fn required_text(max: usize) -> Value {
    json!({ "pattern": format!(r"^{WS}*{TEXT}([^\x00]{{0,{}}}{TEXT})?{WS}*$", max - 2) })
}

/// An optional text (`validate::optional_text`): blank is "not given", else
/// trimmed 1..`max` characters.
fn optional_text(max: usize) -> Value {
    json!({ "pattern": format!(r"^{WS}*({TEXT}([^\x00]{{0,{}}}{TEXT})?{WS}*)?$", max - 2) })
}

/// An optional email (`validate::email` after `records::opt`): an
/// address, or empty for "not given".
fn optional_email() -> Value {
    json!({ "anyOf": [
        { "type": "string", "format": "email", "maxLength": 254 },
        { "type": "string", "pattern": format!(r"^{WS}*$") },
        { "type": "null" }
    ] })
}

/// An amount in a list filter (`deals::parse_amount` of the text): at most
/// 13 digits and 2 decimals.
fn money_filter() -> Value {
    json!({ "pattern": format!(r"^{WS}*[0-9]{{1,13}}(\.[0-9]{{1,2}})?{WS}*$") })
}

/// An optional id named in a body (`records::parse_uuid` after
/// `records::opt`): a UUID, or empty for "not given".
fn optional_uuid() -> Value {
    json!({ "anyOf": [
        { "type": "string", "format": "uuid" },
        { "type": "string", "pattern": format!(r"^{WS}*$") },
        { "type": "null" }
    ] })
}

/// An optional date (`records::parse_date`): exactly `YYYY-MM-DD`, or empty.
fn optional_date() -> Value {
    json!({ "anyOf": [
        { "type": "string", "format": "date", "pattern": format!(r"^{WS}*[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{WS}*$") },
        { "type": "string", "pattern": format!(r"^{WS}*$") },
        { "type": "null" }
    ] })
}

/// A code of a list kept once under `components/schemas/<name>` (either
/// case), or empty for the default (`validate::currency`, `validate::country`).
fn code(name: &str) -> Value {
    json!({ "anyOf": [
        { "$ref": format!("#/components/schemas/{name}") },
        { "type": "string", "pattern": format!(r"^{WS}*$") },
        { "type": "null" }
    ] })
}

/// The code lists `code` refers to.
fn code_lists() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        (
            "CurrencyCode",
            "An ISO 4217 currency code, in either case.",
            validate::currency_codes().collect(),
        ),
        (
            "CountryCode",
            "An ISO 3166-1 alpha-2 country code, in either case.",
            validate::country_codes().collect(),
        ),
    ]
}

fn code_schema(description: &str, codes: &[&str]) -> Value {
    let values: Vec<Value> = codes
        .iter()
        .flat_map(|c| [json!(c), json!(c.to_ascii_lowercase())])
        .collect();
    json!({ "type": "string", "description": description, "enum": values })
}

/// A company's domain (`companies::domain`): a host name of two or more
/// labels, or a URL whose host it is (scheme, user and port allowed); empty
/// for none.
fn domain() -> Value {
    const LABEL: &str = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?";
    let pattern = format!(
        r"^{WS}*(?:(?:(?!://)[^\x00])*://|(?![^\x00]*://))(?:[^/?#\x00]*@)?{LABEL}(?:\.{LABEL})+\.*(?::[^/?#\x00]*)?(?:[/?#][^\x00]*)?$"
    );
    json!({ "anyOf": [
        { "type": "string", "pattern": pattern },
        { "type": "string", "pattern": format!(r"^{WS}*$") },
        { "type": "null" }
    ] })
}

/// Tags (`records::normalize_tags`): at most 20, each 1..50 characters
/// trimmed (duplicates are merged, not refused).
fn tags() -> Value {
    json!({ "maxItems": 20, "items": { "type": "string", "pattern": format!(r"^{WS}*{TEXT}([^\x00]{{0,48}}{TEXT})?{WS}*$") } })
}

/// An amount (`deals::parse_amount`): a decimal string or number, at most 2
/// fraction digits, never negative, below 10^13 whole units; empty is none.
fn amount() -> Value {
    json!({ "oneOf": [
        { "type": "string", "pattern": format!(r"^{WS}*([0-9]{{1,13}}(\.[0-9]{{1,2}})?)?{WS}*$") },
        { "type": "number", "minimum": 0, "maximum": 9_999_999_999_999.99_f64, "multipleOf": 0.01 },
        { "type": "null" }
    ] })
}

/// `sort=` of a list: one of its fields, `-` for descending (`records::Sort`).
fn sort(fields: &[&str]) -> Value {
    let values: Vec<String> = fields.iter().flat_map(|f| [f.to_string(), format!("-{f}")]).collect();
    json!({ "enum": values })
}

/// The constraints of the lists' query parameters, by path and name (the
/// lists' `SORTS` and filters; an empty value is "not given"). They hold for
/// the list's `/export` too.
fn query_rules() -> Vec<(&'static str, &'static str, Value)> {
    use crate::services::records::rows::MAX_QUERY_CHARS;
    vec![
        ("/api/v1/contacts", "sort", sort(&["created_at", "updated_at", "name"])),
        ("/api/v1/companies", "sort", sort(&["created_at", "name"])),
        (
            "/api/v1/deals",
            "sort",
            sort(&["created_at", "updated_at", "amount", "expected_close_date"]),
        ),
        ("/api/v1/tasks", "sort", sort(&["due_date", "created_at"])),
        (
            "/api/v1/leads",
            "sort",
            sort(&["created_at", "updated_at", "score", "next_follow_up_at"]),
        ),
        ("/api/v1/leads", "q", json!({ "maxLength": MAX_QUERY_CHARS })),
        (
            "/api/v1/leads",
            "status",
            json!({ "items": { "type": "string", "enum": crate::services::leads::STATUSES } }),
        ),
        ("/api/v1/leads", "score_min", json!({ "minimum": 0, "maximum": 100 })),
        (
            "/api/v1/properties",
            "sort",
            sort(&["created_at", "updated_at", "price"]),
        ),
        ("/api/v1/properties", "q", json!({ "maxLength": MAX_QUERY_CHARS })),
        (
            "/api/v1/properties",
            "status",
            json!({ "items": { "type": "string", "enum": crate::services::properties::STATUSES } }),
        ),
        (
            "/api/v1/properties",
            "property_type",
            json!({ "items": { "type": "string", "enum": crate::services::leads::PROPERTY_TYPES } }),
        ),
        (
            "/api/v1/properties",
            "listing_type",
            json!({ "enum": ["sale", "rent", ""] }),
        ),
        ("/api/v1/properties", "price_min", money_filter()),
        ("/api/v1/properties", "price_max", money_filter()),
        (
            "/api/v1/properties",
            "bedrooms_min",
            json!({ "minimum": 0, "maximum": 1000 }),
        ),
        (
            "/api/v1/custom-fields",
            "object",
            json!({ "enum": ([crate::services::custom_fields::OBJECTS.as_slice(), &[""]].concat()) }),
        ),
        (
            "/api/v1/views",
            "object",
            json!({ "enum": ([crate::services::views::OBJECTS.as_slice(), &[""]].concat()) }),
        ),
        ("/api/v1/contacts", "q", json!({ "maxLength": MAX_QUERY_CHARS })),
        ("/api/v1/companies", "q", json!({ "maxLength": MAX_QUERY_CHARS })),
        ("/api/v1/deals", "q", json!({ "maxLength": MAX_QUERY_CHARS })),
        (
            "/api/v1/deals",
            "status",
            json!({ "items": { "type": "string", "enum": ["new", "in_progress", "won", "lost"] } }),
        ),
        ("/api/v1/deals", "amount_min", money_filter()),
        ("/api/v1/deals", "amount_max", money_filter()),
        (
            "/api/v1/deals",
            "expected_close_before",
            json!({ "format": "date", "pattern": format!(r"^{WS}*[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{WS}*$") }),
        ),
        (
            "/api/v1/deals",
            "expected_close_after",
            json!({ "format": "date", "pattern": format!(r"^{WS}*[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{WS}*$") }),
        ),
    ]
}

/// The constraints of the record and settings inputs, by schema and field.
fn field_rules() -> Vec<(&'static str, &'static str, Value)> {
    let mut rules = Vec::new();
    let mut add = |schemas: &[&'static str], field: &'static str, rule: Value| {
        for schema in schemas {
            rules.push((*schema, field, rule.clone()));
        }
    };
    const CONTACT: &[&str] = &["ContactInput", "ContactPatch"];
    const COMPANY: &[&str] = &["CompanyInput", "CompanyPatch"];
    const DEAL: &[&str] = &["DealInput", "DealPatch"];
    const TASK: &[&str] = &["TaskInput", "TaskPatch"];
    // A PATCH may leave a name or title out, not clear it (`null` is refused
    // like an empty one).
    for schema in ["ContactPatch", "CompanyPatch", "UpdatePipeline"] {
        add(&[schema], "name", json!({ "type": "string" }));
    }
    for schema in ["DealPatch", "TaskPatch"] {
        add(&[schema], "title", json!({ "type": "string" }));
    }
    // contacts::check
    add(CONTACT, "name", required_text(200));
    add(CONTACT, "email", optional_email());
    add(CONTACT, "title", optional_text(200));
    add(CONTACT, "lead_source", optional_text(100));
    add(CONTACT, "company_id", optional_uuid());
    add(CONTACT, "owner_id", optional_uuid());
    add(CONTACT, "customer_since", optional_date());
    add(CONTACT, "tags", tags());
    // companies::check
    add(COMPANY, "name", required_text(200));
    add(COMPANY, "domain", domain());
    add(COMPANY, "industry", optional_text(100));
    add(COMPANY, "employee_count", json!({ "minimum": 0 }));
    add(COMPANY, "owner_id", optional_uuid());
    add(COMPANY, "tags", tags());
    // deals::check_new, deals::check_patch
    add(DEAL, "title", required_text(200));
    add(DEAL, "amount", amount());
    add(DEAL, "currency", code("CurrencyCode"));
    add(DEAL, "expected_close_date", optional_date());
    add(DEAL, "lost_reason", optional_text(1000));
    add(DEAL, "tags", tags());
    add(DEAL, "property_id", optional_uuid());
    add(
        &["DealInput"],
        "status",
        json!({ "enum": ["new", "in_progress", "", null] }),
    );
    add(
        &["DealPatch"],
        "status",
        json!({ "enum": ["new", "in_progress", "won", "lost", null] }),
    );
    // leads::check
    const LEAD: &[&str] = &["LeadInput", "LeadPatch"];
    add(&["LeadPatch"], "name", json!({ "type": "string" }));
    add(LEAD, "name", required_text(200));
    add(LEAD, "email", optional_email());
    add(LEAD, "company_name", optional_text(200));
    add(LEAD, "source", optional_text(100));
    add(LEAD, "owner_id", optional_uuid());
    add(LEAD, "tags", tags());
    add(
        LEAD,
        "status",
        json!({ "enum": ["new", "contacted", "qualified", "unqualified", "", null] }),
    );
    for field in ["source", "medium", "campaign", "term", "content"] {
        add(&["Utm"], field, optional_text(200));
    }
    add(&["Preferences"], "budget_min", amount());
    add(&["Preferences"], "budget_max", amount());
    add(&["Preferences"], "currency", code("CurrencyCode"));
    add(
        &["Preferences"],
        "property_type",
        json!({ "enum": ["apartment", "house", "villa", "plot", "commercial", "other", "", null] }),
    );
    add(
        &["Preferences"],
        "bedrooms_min",
        json!({ "minimum": 0, "maximum": 100 }),
    );
    add(
        &["Preferences"],
        "locations",
        json!({ "maxItems": 20, "items": optional_text(200) }),
    );
    add(&["ConvertDeal"], "title", optional_text(200));
    add(&["ConvertDeal"], "amount", amount());
    add(&["ConvertDeal"], "currency", code("CurrencyCode"));
    add(&["ConvertDeal"], "pipeline_id", optional_uuid());
    add(
        &["ScoringPatch"],
        "source_weights",
        json!({
            "maxProperties": 100,
            "propertyNames": { "minLength": 1, "maxLength": 100, "pattern": format!(r"^{WS}*{TEXT}") },
            "additionalProperties": { "type": "integer", "minimum": 0, "maximum": 50 },
        }),
    );
    // properties::check
    const PROPERTY: &[&str] = &["PropertyInput", "PropertyPatch"];
    add(&["PropertyPatch"], "title", json!({ "type": "string" }));
    add(PROPERTY, "title", required_text(200));
    add(
        PROPERTY,
        "property_type",
        json!({ "enum": ["apartment", "house", "villa", "plot", "commercial", "other", "", null] }),
    );
    add(PROPERTY, "listing_type", json!({ "enum": ["sale", "rent", "", null] }));
    add(
        PROPERTY,
        "status",
        json!({ "enum": ["available", "under_offer", "sold", "rented", "off_market", "", null] }),
    );
    add(
        PROPERTY,
        "price",
        json!({ "anyOf": [
            { "type": "string", "pattern": format!(r"^{WS}*([0-9]{{1,13}}(\.[0-9]{{1,2}})?)?{WS}*$") },
            { "type": "null" }
        ] }),
    );
    add(PROPERTY, "currency", code("CurrencyCode"));
    add(PROPERTY, "bedrooms", json!({ "minimum": 0, "maximum": 1000 }));
    add(PROPERTY, "bathrooms", json!({ "minimum": 0, "maximum": 1000 }));
    add(PROPERTY, "area_sqft", json!({ "minimum": 0, "maximum": 100_000_000 }));
    add(PROPERTY, "latitude", json!({ "minimum": -90, "maximum": 90 }));
    add(PROPERTY, "longitude", json!({ "minimum": -180, "maximum": 180 }));
    add(PROPERTY, "description", optional_text(10_000));
    add(PROPERTY, "seller_contact_id", optional_uuid());
    add(PROPERTY, "owner_id", optional_uuid());
    add(PROPERTY, "tags", tags());
    for field in ["line1", "locality", "city", "region", "postal_code"] {
        add(&["Address"], field, optional_text(200));
    }
    // custom_fields: the values' keys are the organization's definitions
    // (`GET /custom-fields`); the document can only say what a key looks like.
    for schema in [
        "ContactInput",
        "ContactPatch",
        "CompanyInput",
        "CompanyPatch",
        "DealInput",
        "DealPatch",
        "LeadInput",
        "LeadPatch",
        "PropertyInput",
        "PropertyPatch",
    ] {
        add(
            &[schema],
            "custom",
            json!({
                "type": ["object", "null"],
                "maxProperties": 100,
                "propertyNames": { "pattern": "^[a-z][a-z0-9_]{0,39}$" },
            }),
        );
    }
    // records::bulk
    add(
        &["BulkInput"],
        "action",
        json!({ "enum": ["add_tags", "remove_tags", "assign_owner", "delete"] }),
    );
    add(&["BulkInput"], "ids", json!({ "maxItems": 10_000 }));
    add(&["BulkInput"], "tags", tags());
    add(&["BulkInput"], "query", json!({ "maxLength": 2000 }));
    // views::create, views::update
    add(
        &["ViewInput"],
        "object",
        json!({ "enum": crate::services::views::OBJECTS }),
    );
    add(&["ViewInput", "ViewPatch"], "name", required_text(100));
    add(&["ViewInput", "ViewPatch"], "query", json!({ "maxLength": 2000 }));
    add(
        &["ViewInput", "ViewPatch"],
        "columns",
        json!({ "maxItems": 50, "items": required_text(100) }),
    );
    use crate::services::custom_fields::{OBJECTS, TYPES};
    add(&["CustomFieldInput"], "object", json!({ "enum": OBJECTS }));
    add(
        &["CustomFieldInput"],
        "key",
        json!({ "pattern": "^[a-z][a-z0-9_]{0,39}$" }),
    );
    add(&["CustomFieldInput", "CustomFieldPatch"], "label", required_text(100));
    add(
        &["CustomFieldInput", "CustomFieldPatch"],
        "type",
        json!({ "enum": TYPES }),
    );
    add(
        &["CustomFieldInput", "CustomFieldPatch"],
        "options",
        json!({ "minItems": 1, "maxItems": 100, "uniqueItems": true, "items": required_text(100) }),
    );
    add(&["Address"], "country", code("CountryCode"));
    // forms::check
    add(&["FormInput"], "name", required_text(200));
    add(
        &["FormInput"],
        "fields",
        json!({ "minItems": 1, "maxItems": 20, "contains": { "type": "object", "properties": { "key": { "const": "name" } } } }),
    );
    add(&["FormInput"], "default_owner_id", optional_uuid());
    add(&["FormInput"], "default_tags", tags());
    add(&["FormInput"], "source", optional_text(100));
    add(
        &["FormInput"],
        "thank_you_url",
        json!({ "anyOf": [
            { "type": "string", "maxLength": 2000, "pattern": format!(r"^{WS}*https?://[^\s/?#]+[^\s]*{WS}*$") },
            { "type": "string", "pattern": format!(r"^{WS}*$") },
            { "type": "null" }
        ] }),
    );
    add(
        &["FormField"],
        "key",
        json!({ "enum": crate::services::forms::LEAD_FIELDS }),
    );
    add(&["FormField"], "label", required_text(100));
    add(
        &["FormField"],
        "type",
        json!({ "enum": ["text", "email", "tel", "textarea", "url", "", null] }),
    );
    // tasks::check
    add(TASK, "title", required_text(200));
    add(TASK, "description", optional_text(10_000));
    add(TASK, "tags", tags());
    // pipelines::check_stages
    add(&["CreatePipeline", "UpdatePipeline"], "name", required_text(200));
    add(
        &["CreatePipeline", "UpdatePipeline"],
        "stages",
        json!({ "minItems": 1 }),
    );
    // records::merge::checked (the field names of every type that merges:
    // one schema serves both endpoints)
    add(
        &["MergeInput"],
        "merge_ids",
        json!({ "minItems": 1, "maxItems": 50, "items": { "type": "string", "format": "uuid", "pattern": UUID } }),
    );
    add(
        &["MergeInput"],
        "fields",
        json!({
            "propertyNames": { "enum": merge_fields() },
            "additionalProperties": { "type": "string", "format": "uuid", "pattern": UUID },
        }),
    );
    add(&["StageInput"], "name", required_text(100));
    add(&["StageInput"], "key", json!({ "pattern": "^[a-z0-9_]{1,40}$" }));
    add(&["StageInput"], "probability", json!({ "minimum": 0, "maximum": 100 }));
    // orgs::organizations
    add(
        &["CreateOrganization", "UpdateOrganization"],
        "name",
        required_text(200),
    );
    add(
        &["CreateOrganization", "UpdateOrganization"],
        "default_currency",
        code("CurrencyCode"),
    );
    add(&["UpdateOrganization"], "default_country", code("CountryCode"));
    add(
        &["UpdateOrganization"],
        "lost_reasons",
        json!({ "maxItems": 30, "items": { "type": "string", "pattern": format!(r"^{WS}*{TEXT}([^\x00]{{0,98}}{TEXT})?{WS}*$") } }),
    );
    // auth::accounts, orgs::invitations
    add(&["RegisterInput", "AcceptInvitation"], "name", required_text(200));
    add(&["RegisterInput"], "organization_name", optional_text(200));
    add(
        &["RegisterInput", "CreateInvitation"],
        "email",
        json!({ "format": "email", "maxLength": 254 }),
    );
    add(
        &["RegisterInput", "AcceptInvitation"],
        "password",
        json!({ "minLength": 8, "maxLength": 128, "pattern": r"^[^\x00]*([A-Za-z][^\x00]*[0-9]|[0-9][^\x00]*[A-Za-z])[^\x00]*$" }),
    );
    // auth::profile
    add(&["ProfilePatch"], "name", required_text(200));
    add(&["ProfilePatch"], "time_zone", code("TimeZoneName"));
    add(
        &["PasswordChange"],
        "new_password",
        json!({ "minLength": 8, "maxLength": 128, "pattern": r"^[^\x00]*([A-Za-z][^\x00]*[0-9]|[0-9][^\x00]*[A-Za-z])[^\x00]*$" }),
    );
    add(
        &["TemporaryPassword"],
        "password",
        json!({ "minLength": 8, "maxLength": 128, "pattern": r"^[^\x00]*([A-Za-z][^\x00]*[0-9]|[0-9][^\x00]*[A-Za-z])[^\x00]*$" }),
    );
    // activities::CommentInput
    add(&["CommentInput"], "text", required_text(10_000));
    add(
        &["CommentInput"],
        "type",
        json!({ "enum": ["comment", "call", "meeting", null] }),
    );
    rules
}
