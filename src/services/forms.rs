//! Public web forms that create leads (leads.md "Web forms"): admins define
//! a form (`/api/v1/forms`), embed its HTML snippet on a website, and
//! anyone's submission to `POST /f/{public_key}` becomes a lead, scored and
//! owned as the form says.
//!
//! The public key is not a secret (it is in the page's HTML): it names the
//! form, its first 16 bytes the organization's id, so a submission is
//! looked up inside one organization. Bots are kept out by a honeypot field
//! (`website_url`, hidden in the snippet: a filled one is answered as a
//! success and creates nothing) and a rate limit of 10 submissions a minute
//! per client address and form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::activities::{self, Filed};
use crate::services::audit::{self, Event};
use crate::services::custom_fields::{self, CustomInput, Given};
use crate::services::leads::{self, Lead, LeadInput, Utm};
use crate::services::orgs::{OrgCtx, Role};
use crate::services::records::{self, IfMatch, opt, parse_uuid};
use crate::services::validate;

/// The lead fields a form may ask for.
pub const LEAD_FIELDS: [&str; 5] = ["name", "email", "phone", "company_name", "message"];
/// The input types a field may have.
pub const FIELD_TYPES: [&str; 5] = ["text", "email", "tel", "textarea", "url"];
/// The honeypot's name: hidden from people, filled by bots.
pub const HONEYPOT: &str = "website_url";
/// The UTM parameters read from a submission (or its `page_url`).
const UTM: [&str; 5] = ["source", "medium", "campaign", "term", "content"];

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// `name`, `email`, `phone`, `company_name`, `message` (a comment on
    /// the lead's timeline) or `custom.<key>` of a lead custom field.
    pub key: String,
    /// 1..100 characters.
    pub label: String,
    /// `text` (default), `email`, `tel`, `textarea` or `url`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct LeadForm {
    pub id: Uuid,
    /// The form's address is `/f/{public_key}`.
    pub public_key: String,
    pub name: String,
    #[schema(value_type = Vec<FormField>)]
    pub fields: SqlJson<Vec<FormField>>,
    /// Who owns the leads it makes; null: the form's creator.
    pub default_owner_id: Option<Uuid>,
    #[schema(value_type = Vec<String>)]
    pub default_tags: SqlJson<Vec<String>>,
    /// The leads' source; null: `website`.
    pub source: Option<String>,
    /// Where a browser goes after submitting (303); null: 201 `{ok: true}`.
    pub thank_you_url: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

const COLUMNS: &str = "id, public_key, name, fields, default_owner_id, default_tags, source, thank_you_url, created_by, \
                       created_at, updated_at, version";

/// A form as created or replaced (admins and owners).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormInput {
    /// 1..200 characters.
    pub name: String,
    /// 1..20 fields, one of them `name`; keys unique.
    pub fields: Vec<FormField>,
    #[schema(value_type = Option<Uuid>)]
    pub default_owner_id: Option<String>,
    pub default_tags: Option<Vec<String>>,
    /// Default `website`.
    pub source: Option<String>,
    /// An `http` or `https` URL.
    pub thank_you_url: Option<String>,
}

/// What a submission answered.
pub enum Submitted {
    /// A new lead, or a comment on the open lead it matched, or nothing (a
    /// bot that filled the honeypot): the same answer for each.
    Accepted { thank_you_url: Option<String> },
}

fn new_key(org: Uuid) -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(org.as_bytes());
    rand::rng().fill_bytes(&mut bytes[16..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The organization a public key names, if it can be one.
fn org_of(key: &str) -> Option<Uuid> {
    URL_SAFE_NO_PAD
        .decode(key)
        .ok()
        .filter(|b| b.len() == 32)
        .and_then(|b| Uuid::from_slice(&b[..16]).ok())
}

/// Checks a form's definition: every field error at once.
async fn check(mut c: Exec<'_>, ctx: &OrgCtx, input: FormInput) -> AppResult<CheckedForm> {
    let lead_fields = custom_fields::definitions(c.re(), ctx.org_id, "leads").await?;
    let mut v = Validator::new();
    let name = v.check("name", validate::required_text(&input.name, 200));
    if input.fields.is_empty() || input.fields.len() > 20 {
        v.add("fields", "a form has 1 to 20 fields");
    }
    let mut fields = Vec::new();
    for (i, f) in input.fields.iter().enumerate() {
        let at = |what: &str| format!("fields[{i}].{what}");
        let key = f.key.trim().to_string();
        let custom = key
            .strip_prefix(custom_fields::values::PREFIX)
            .is_some_and(|k| lead_fields.iter().any(|d| d.key == k));
        if !LEAD_FIELDS.contains(&key.as_str()) && !custom {
            v.add(
                at("key"),
                format!(
                    "must be one of {} or custom.<key> of a lead custom field",
                    LEAD_FIELDS.join(", ")
                ),
            );
        } else if fields.iter().any(|g: &FormField| g.key == key) {
            v.add(at("key"), "appears twice");
        }
        let label = v.check(&at("label"), validate::required_text(&f.label, 100));
        let kind = f
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .unwrap_or("text");
        if !FIELD_TYPES.contains(&kind) {
            v.add(at("type"), format!("must be one of {}", FIELD_TYPES.join(", ")));
        }
        if let Some(label) = label {
            fields.push(FormField {
                key,
                label,
                kind: Some(kind.to_string()),
                required: f.required || f.key.trim() == "name",
            });
        }
    }
    if !input.fields.is_empty() && !input.fields.iter().any(|f| f.key.trim() == "name") {
        v.add("fields", "a form asks for the lead's name (a field with key `name`)");
    }
    let owner = v.check(
        "default_owner_id",
        opt(&input.default_owner_id).map(parse_uuid).transpose(),
    );
    let tags = v.check(
        "default_tags",
        records::normalize_tags(&input.default_tags.unwrap_or_default()),
    );
    let source = v.check("source", validate::optional_text(input.source.as_deref(), 100));
    let thank_you_url = match opt(&input.thank_you_url) {
        None => Some(None),
        Some(url) => v.check("thank_you_url", validate::web_url(url).map(Some)),
    };
    v.finish()?;
    let (Some(name), Some(owner), Some(tags), Some(source), Some(thank_you_url)) =
        (name, owner, tags, source, thank_you_url)
    else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };
    if let Some(owner) = owner
        && crate::services::orgs::queries::membership(c.re(), ctx.org_id, owner)
            .await?
            .is_none()
    {
        return Err(AppError::rule(
            "owner_not_member",
            "default_owner_id must be a member of the organization",
        ));
    }
    Ok(CheckedForm {
        name,
        fields,
        default_owner_id: owner,
        default_tags: tags,
        source,
        thank_you_url,
    })
}

struct CheckedForm {
    name: String,
    fields: Vec<FormField>,
    default_owner_id: Option<Uuid>,
    default_tags: Vec<String>,
    source: Option<String>,
    thank_you_url: Option<String>,
}

pub async fn create(state: &App, ctx: &OrgCtx, input: FormInput) -> AppResult<LeadForm> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let checked = check(tx.exec(), ctx, input).await?;
    let now = crate::db::now();
    let form = LeadForm {
        id: crate::db::new_id(),
        public_key: new_key(ctx.org_id),
        name: checked.name,
        fields: SqlJson(checked.fields),
        default_owner_id: checked.default_owner_id,
        default_tags: SqlJson(checked.default_tags),
        source: checked.source,
        thank_you_url: checked.thank_you_url,
        created_by: ctx.user_id,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    run!(tx.exec(), conn => sqlx::query(
        "INSERT INTO lead_forms (organization_id, id, public_key, name, fields, default_owner_id, default_tags, source, \
         thank_you_url, created_by, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1)",
    )
    .bind(ctx.org_id)
    .bind(form.id)
    .bind(&form.public_key)
    .bind(&form.name)
    .bind(&form.fields)
    .bind(form.default_owner_id)
    .bind(&form.default_tags)
    .bind(&form.source)
    .bind(&form.thank_you_url)
    .bind(form.created_by)
    .bind(now)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    let event = Event::new("form.created")
        .by(ctx)
        .target("form", form.id)
        .details(json!({"name": form.name}));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(form)
}

/// Replaces a form's definition (its id and public key stay).
pub async fn replace(state: &App, ctx: &OrgCtx, id: Uuid, if_match: IfMatch, input: FormInput) -> AppResult<LeadForm> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let current = find(tx.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)?;
    if_match.check(current.version)?;
    let checked = check(tx.exec(), ctx, input).await?;
    let form = LeadForm {
        name: checked.name,
        fields: SqlJson(checked.fields),
        default_owner_id: checked.default_owner_id,
        default_tags: SqlJson(checked.default_tags),
        source: checked.source,
        thank_you_url: checked.thank_you_url,
        updated_at: crate::db::now(),
        version: current.version + 1,
        ..current
    };
    run!(tx.exec(), conn => sqlx::query(
        "UPDATE lead_forms SET name = $3, fields = $4, default_owner_id = $5, default_tags = $6, source = $7, \
         thank_you_url = $8, updated_at = $9, version = $10 WHERE organization_id = $1 AND id = $2",
    )
    .bind(ctx.org_id)
    .bind(id)
    .bind(&form.name)
    .bind(&form.fields)
    .bind(form.default_owner_id)
    .bind(&form.default_tags)
    .bind(&form.source)
    .bind(&form.thank_you_url)
    .bind(form.updated_at)
    .bind(form.version)
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(form)
}

pub async fn delete(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<()> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let form = find(tx.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)?;
    run!(tx.exec(), conn => sqlx::query("DELETE FROM lead_forms WHERE organization_id = $1 AND id = $2")
        .bind(ctx.org_id)
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    let event = Event::new("form.deleted")
        .by(ctx)
        .target("form", id)
        .details(json!({"name": form.name}));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(())
}

async fn find(c: Exec<'_>, org: Uuid, id: Uuid) -> Result<Option<LeadForm>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM lead_forms WHERE organization_id = $1 AND id = $2{}",
        c.for_update()
    );
    run!(c, conn => sqlx::query_as(&sql).bind(org).bind(id).fetch_optional(conn).await)
}

/// One form (admins and owners).
pub async fn read(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<LeadForm> {
    ctx.require(Role::Admin)?;
    let mut conn = state.db.read().await?;
    find(conn.exec(), ctx.org_id, id).await?.ok_or_else(AppError::not_found)
}

/// Every form of the organization, newest first (a few dozen at most).
pub async fn list(state: &App, ctx: &OrgCtx) -> AppResult<Vec<LeadForm>> {
    ctx.require(Role::Admin)?;
    let mut conn = state.db.read().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM lead_forms WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT 500"
    );
    Ok(run!(conn.exec(), c => sqlx::query_as(&sql).bind(ctx.org_id).fetch_all(c).await)?)
}

/// A submission to `/f/{public_key}`: the posted fields (a form post or a
/// JSON object, values as text), from `ip`.
pub async fn submit(
    state: &App,
    key: &str,
    fields: Map<String, Value>,
    ip: Option<std::net::IpAddr>,
) -> AppResult<Submitted> {
    let org = org_of(key).ok_or_else(AppError::not_found)?;
    let form: Option<LeadForm> = {
        let mut conn = state.db.read().await?;
        let sql = format!("SELECT {COLUMNS} FROM lead_forms WHERE organization_id = $1 AND public_key = $2");
        run!(conn.exec(), c => sqlx::query_as(&sql).bind(org).bind(key).fetch_optional(c).await)?
    };
    let form = form.ok_or_else(AppError::not_found)?;
    state.limits.check_form(form.id, ip)?;
    let accepted = Submitted::Accepted {
        thank_you_url: form.thank_you_url.clone(),
    };
    let text = |k: &str| -> Option<String> {
        match fields.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        }
        .filter(|s| !s.trim().is_empty())
    };
    if text(HONEYPOT).is_some() {
        return Ok(accepted);
    }
    let mut v = Validator::new();
    for (key, value) in &fields {
        if value.as_str().is_some_and(|s| s.contains('\0')) {
            v.add(key.clone(), validate::NUL_MESSAGE);
        }
    }
    for f in &form.fields.0 {
        if f.required && text(&f.key).is_none() {
            v.add(f.key.clone(), "is required");
        }
    }
    let message = v.check("message", validate::optional_text(text("message").as_deref(), 10_000));
    v.finish()?;
    let asks = |k: &str| form.fields.0.iter().any(|f| f.key == k);
    let value = |k: &str| if asks(k) { text(k) } else { None };
    let utm = utm_of(&text);
    let owner = form.default_owner_id.unwrap_or(form.created_by);
    // The lead is made as its owner would make it; an owner who left the
    // organization hands it to the form's creator.
    let ctx = match OrgCtx::of_member(state, org, owner, ip).await {
        Ok(ctx) => ctx,
        Err(_) => OrgCtx::of_member(state, org, form.created_by, ip)
            .await
            .map_err(|_| AppError::not_found())?,
    };
    let input = LeadInput {
        name: value("name").unwrap_or_default(),
        email: value("email"),
        phone: value("phone"),
        company_name: value("company_name"),
        source: Some(form.source.clone().unwrap_or_else(|| "website".into())),
        utm,
        status: None,
        preferences: None,
        next_follow_up_at: None,
        owner_id: Some(ctx.user_id.to_string()),
        tags: Some(form.default_tags.0.clone()),
        // The form's custom fields, read as text by their types.
        custom: Some(CustomInput(
            form.fields
                .0
                .iter()
                .filter_map(|f| {
                    let key = f.key.strip_prefix(custom_fields::values::PREFIX)?;
                    Some((key.to_string(), Given::Text(text(&f.key).unwrap_or_default())))
                })
                .collect(),
        )),
    };
    let message = message.flatten();
    let idempotency = crate::services::idempotency::Idempotency::none();
    match records::shape::create::<Lead>(state, &ctx, &idempotency, input).await {
        Ok(created) => {
            if let (Some(text), crate::services::idempotency::Created::New(lead)) = (message, created) {
                note(state, &ctx, lead.id, &form, &text).await?;
            }
        }
        // A person already in the funnel: their submission goes on the
        // lead's timeline (the public gets no 409).
        Err(e) if e.code == "duplicate_lead" => {
            let existing = e
                .extra
                .get("existing_id")
                .and_then(Value::as_str)
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or(e)?;
            let text = message.unwrap_or_else(|| "Submitted the form again.".into());
            note(state, &ctx, existing, &form, &text).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(accepted)
}

/// A comment on the lead from a submission, scored at once.
async fn note(state: &App, ctx: &OrgCtx, lead: Uuid, form: &LeadForm, text: &str) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let filed = Filed {
        lead: Some(lead),
        ..Default::default()
    };
    let payload = json!({"text": text, "form": form.name});
    activities::append_to(tx.exec(), ctx.org_id, "comment", filed, ctx.user_id, payload).await?;
    leads::score::rescore(tx.exec(), ctx.org_id, lead).await?;
    tx.commit().await?;
    Ok(())
}

/// The UTM values of a submission: its `utm_*` fields, else the query of
/// its `page_url` field.
fn utm_of(text: &dyn Fn(&str) -> Option<String>) -> Option<Utm> {
    let from_page: Map<String, Value> = text("page_url")
        .and_then(|page| {
            page.split_once('?')
                .map(|(_, q)| q.split('#').next().unwrap_or_default().to_string())
        })
        .map(|query| {
            serde_html_form_pairs(&query)
                .into_iter()
                .filter_map(|(k, v)| k.strip_prefix("utm_").map(|k| (k.to_string(), Value::String(v))))
                .collect()
        })
        .unwrap_or_default();
    let pick = |k: &str| {
        text(&format!("utm_{k}"))
            .or_else(|| from_page.get(k).and_then(Value::as_str).map(str::to_string))
            .map(|v| v.chars().take(200).collect::<String>())
            .filter(|v| !v.trim().is_empty())
    };
    let utm = Utm {
        source: pick(UTM[0]),
        medium: pick(UTM[1]),
        campaign: pick(UTM[2]),
        term: pick(UTM[3]),
        content: pick(UTM[4]),
    };
    (utm != Utm::default()).then_some(utm)
}

/// `a=1&b=x%20y` → pairs, percent-decoded (`+` is a space).
fn serde_html_form_pairs(query: &str) -> Vec<(String, String)> {
    serde_html_form::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}
