//! Leads `/api/v1/leads` (leads.md "Leads"): people who may become
//! customers. Unique by email and phone among open leads, scored by
//! explainable rules on every change ([`score`]), converted into a contact,
//! a company and optionally a deal in one transaction ([`convert`]).

pub mod queries;
pub mod score;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::services::activities::{self, Filed, Timeline};
use crate::services::audit::{self, Event};
use crate::services::orgs::{OrgCtx, Role};
use crate::services::pagination::Page;
use crate::services::records::fields::record_fields;
use crate::services::records::query::list_query;
use crate::services::records::rows::Column;
use crate::services::records::shape::{self, Checked, OnTimeline, Record, checked_by, common_columns};
use crate::services::records::{self, After, Cell, Listing, opt, parse_time, parse_uuid};
use crate::services::validate;
pub use queries::Lead;

const SORTS: &[&str] = &["created_at", "updated_at", "score", "next_follow_up_at"];

/// The sources the web app suggests and the score weighs by default
/// (leads.md); any other text is a source too.
pub const SOURCES: [&str; 7] = [
    "website",
    "referral",
    "facebook",
    "instagram",
    "walk_in",
    "import",
    "other",
];

/// Every status, and the open ones first.
pub const STATUSES: [&str; 5] = ["new", "contacted", "qualified", "unqualified", "converted"];

/// UTM parameters of the campaign a lead came from. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

/// What a buyer looks for (real estate). Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// Decimal string with at most 2 fraction digits.
    #[schema(value_type = Option<String>, example = "250000.00")]
    pub budget_min: Option<Value>,
    #[schema(value_type = Option<String>, example = "400000.00")]
    pub budget_max: Option<Value>,
    /// ISO 4217; default the organization's.
    pub currency: Option<String>,
    /// `apartment`, `house`, `villa`, `plot`, `commercial` or `other`.
    pub property_type: Option<String>,
    pub bedrooms_min: Option<i64>,
    /// Localities, cities or regions.
    pub locations: Option<Vec<String>>,
}

/// The property types a listing and a buyer's preferences name.
pub const PROPERTY_TYPES: [&str; 6] = ["apartment", "house", "villa", "plot", "commercial", "other"];

/// One rule that gave a lead points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoreReason {
    /// `email`, `phone`, `company`, `source`, `recent_activity`, `follow_up` or `qualified`.
    pub rule: String,
    pub points: i64,
}

record_fields! {
    /// A lead as sent on create. Empty strings are null. Read-only fields
    /// (`score`, `score_reasons`, `converted_*`) are not accepted.
    input LeadInput;
    /// A partial change (`PATCH`): fields left out stay; `null` clears.
    patch LeadPatch;
    text LeadText;
    of Lead as current;
    required name: String = current.name.clone(),
    optional email: String = current.email.clone(),
    /// Read with the organization's `default_country` when it has no country code.
    optional phone: String = current.phone.clone(),
    optional company_name: String = current.company_name.clone(),
    /// Free text; the web app suggests website, referral, facebook, instagram, walk_in, import, other.
    optional source: String = current.source.clone(),
    object utm: Utm = current.utm.as_ref().and_then(|u| serde_json::from_value::<Utm>(u.0.clone()).ok()),
    /// `new` (default), `contacted`, `qualified` or `unqualified`; `converted` only by converting.
    kept status: String = current.status.clone(),
    object preferences: Preferences = current.preferences.as_ref().and_then(|p| serde_json::from_value::<Preferences>(p.0.clone()).ok()),
    /// RFC 3339 date-time.
    #[schema(value_type = Option<DateTime<Utc>>)]
    optional next_follow_up_at: String = current.next_follow_up_at.map(|t| t.to_rfc3339()),
    /// Defaults to the caller on create; left out of a `PATCH`, it stays.
    kept owner_id: String = current.owner_id.to_string(),
    tags tags = current.tags.0.clone(),
    /// Custom field values by key (`GET /custom-fields`): a change merges
    /// its keys into the current values, `null` clears one.
    custom custom = &current.custom.0,
}

/// A text field of an object, trimmed and at most `max` characters.
fn object_text(v: &mut Validator, field: &str, value: &Option<String>, max: usize) -> Option<String> {
    v.check(field, validate::optional_text(value.as_deref(), max)).flatten()
}

fn checked_utm(v: &mut Validator, utm: Option<Utm>) -> Option<Value> {
    let utm = utm?;
    let checked = Utm {
        source: object_text(v, "utm.source", &utm.source, 200),
        medium: object_text(v, "utm.medium", &utm.medium, 200),
        campaign: object_text(v, "utm.campaign", &utm.campaign, 200),
        term: object_text(v, "utm.term", &utm.term, 200),
        content: object_text(v, "utm.content", &utm.content, 200),
    };
    serde_json::to_value(checked).ok()
}

fn checked_preferences(v: &mut Validator, preferences: Option<Preferences>) -> Option<Value> {
    let p = preferences?;
    let mut budget = |field: &str, value: &Option<Value>| {
        v.check(
            field,
            crate::services::deals::parse_amount(value.as_ref().unwrap_or(&Value::Null)),
        )
        .flatten()
    };
    let budget_min = budget("preferences.budget_min", &p.budget_min);
    let budget_max = budget("preferences.budget_max", &p.budget_max);
    // Left out: the organization's (filled in by `check`).
    let currency = match opt(&p.currency) {
        Some(code) => v.check("preferences.currency", validate::currency(code)),
        None => None,
    };
    let property_type = match opt(&p.property_type) {
        Some(t) if PROPERTY_TYPES.contains(&t) => Some(t.to_string()),
        Some(_) => {
            v.add(
                "preferences.property_type",
                format!("must be one of {}", PROPERTY_TYPES.join(", ")),
            );
            None
        }
        None => None,
    };
    if let Some(n) = p.bedrooms_min
        && !(0..=100).contains(&n)
    {
        v.add("preferences.bedrooms_min", "must be 0..100");
    }
    let mut locations = Vec::new();
    for place in p.locations.unwrap_or_default() {
        if let Some(Some(place)) = v.check("preferences.locations", validate::optional_text(Some(&place), 200)) {
            locations.push(place);
        }
    }
    if locations.len() > 20 {
        v.add("preferences.locations", "at most 20 places");
    }
    if let (Some(min), Some(max)) = (budget_min, budget_max)
        && min > max
    {
        v.add("preferences.budget_max", "must not be below budget_min");
    }
    let money = |cents: Option<i64>| cents.map(crate::format::cents);
    Some(json!({
        "budget_min": money(budget_min),
        "budget_max": money(budget_max),
        "currency": currency,
        "property_type": property_type,
        "bedrooms_min": p.bedrooms_min,
        "locations": locations,
    }))
}

/// Validates `input` into the lead it describes (`current` for changes):
/// every field error at once, then the rules that need the database, then
/// the score.
async fn check(mut c: Exec<'_>, ctx: &OrgCtx, input: LeadInput, current: Option<&Lead>) -> AppResult<Checked<Lead>> {
    if let Some(current) = current
        && current.status == "converted"
    {
        return Err(converted());
    }
    let mut v = Validator::new();
    let name = v.check("name", validate::required_text(&input.name, 200));
    let email = v.check("email", opt(&input.email).map(validate::email).transpose());
    let company_name = v.check(
        "company_name",
        validate::optional_text(input.company_name.as_deref(), 200),
    );
    let source = v.check("source", validate::optional_text(input.source.as_deref(), 100));
    let owner_id = v.check("owner_id", opt(&input.owner_id).map(parse_uuid).transpose());
    let next_follow_up_at = v.check(
        "next_follow_up_at",
        opt(&input.next_follow_up_at).map(parse_time).transpose(),
    );
    let tags = v.check("tags", records::normalize_tags(&input.tags.unwrap_or_default()));
    let phone = match opt(&input.phone) {
        None => Some(None),
        Some(raw) => v.check(
            "phone",
            validate::phone(raw, ctx.default_country.as_str()).map(|p| Some(p.e164)),
        ),
    };
    let status = opt(&input.status).unwrap_or("new").to_string();
    match status.as_str() {
        "converted" if current.is_none_or(|c| c.status != "converted") => {
            v.add("status", "becomes converted only by converting the lead");
        }
        s if !STATUSES.contains(&s) => v.add("status", "must be new, contacted, qualified or unqualified"),
        _ => {}
    }
    let utm = checked_utm(&mut v, input.utm);
    let mut preferences = checked_preferences(&mut v, input.preferences);
    let custom = crate::services::custom_fields::check(c.re(), ctx.org_id, "leads", &mut v, input.custom).await?;
    v.finish()?;
    let (
        Some(name),
        Some(email),
        Some(company_name),
        Some(source),
        Some(owner_id),
        Some(next_follow_up_at),
        Some(tags),
        Some(phone),
    ) = (
        name,
        email,
        company_name,
        source,
        owner_id,
        next_follow_up_at,
        tags,
        phone,
    )
    else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };
    let owner_id = records::owner_for(c.re(), ctx, owner_id, current.map(|l| l.owner_id)).await?;
    if let Some(p) = preferences.as_mut()
        && p["currency"].is_null()
    {
        // A budget without a currency is in the organization's.
        let org = crate::services::orgs::queries::find_organization(c.re(), ctx.org_id).await?;
        p["currency"] = Value::from(org.map(|o| o.default_currency));
    }
    let (id, created_at, updated_at, version) = records::stamps(current);
    let mut lead = Lead {
        id,
        owner_id,
        name,
        email,
        phone,
        company_name,
        source,
        utm: utm.map(SqlJson),
        status,
        score: 0,
        score_reasons: SqlJson(Value::Array(Vec::new())),
        preferences: preferences.map(SqlJson),
        next_follow_up_at,
        converted_contact_id: current.and_then(|l| l.converted_contact_id),
        converted_deal_id: current.and_then(|l| l.converted_deal_id),
        converted_at: current.and_then(|l| l.converted_at),
        tags: SqlJson(tags),
        custom: SqlJson(custom),
        created_at,
        updated_at,
        version,
    };
    score::apply(c, ctx.org_id, &mut lead).await?;
    Ok(searched(lead))
}

/// A lead with the words `q` finds it by: its name, email, phone (also as
/// national digits) and company name.
pub fn searched(lead: Lead) -> Checked<Lead> {
    Checked {
        search_text: crate::services::contacts::search_text(
            &lead.name,
            lead.email.as_deref(),
            lead.phone.as_deref(),
            lead.company_name.as_deref(),
        ),
        record: lead,
    }
}

fn converted() -> AppError {
    AppError::rule("lead_converted", "a converted lead cannot be changed or deleted")
}

list_query! {
    pub struct LeadQuery {
        q: "Every word must be a prefix of a word of the name, email, phone or company name.",
        sort: "`created_at` (default `-created_at`), `updated_at`, `score`, `next_follow_up_at` (unset last); `-` for descending.",
        /// Repeatable: any of.
        #[serde(default)]
        pub status: Vec<String>,
        /// Repeatable: any of.
        #[serde(default)]
        pub source: Vec<String>,
        /// Inclusive, 0..100.
        #[param(value_type = Option<u32>)]
        pub score_min: Option<String>,
        /// RFC 3339, exclusive: leads with a follow-up planned before it.
        #[param(value_type = Option<DateTime<Utc>>)]
        pub follow_up_before: Option<String>,
        /// RFC 3339, inclusive.
        #[param(value_type = Option<DateTime<Utc>>)]
        pub created_after: Option<String>,
        /// RFC 3339, exclusive.
        #[param(value_type = Option<DateTime<Utc>>)]
        pub created_before: Option<String>,
    }
}

/// One page of the leads the caller may read, filtered and sorted as
/// `query` says.
pub async fn list(state: &App, ctx: &OrgCtx, query: &LeadQuery) -> AppResult<Page<Lead>> {
    let (limit, sort) = records::paging(&query.limit, &query.sort, SORTS, "-created_at")?;
    let mut v = Validator::new();
    let owner_id = v.parsed("owner_id", &query.owner_id, parse_uuid);
    let score_min = v.parsed("score_min", &query.score_min, |s: &str| {
        s.parse::<i64>()
            .ok()
            .filter(|n| (0..=100).contains(n))
            .ok_or_else(|| "must be a whole number 0..100".to_string())
    });
    let follow_up_before = v.parsed("follow_up_before", &query.follow_up_before, parse_time);
    let created_after = v.parsed("created_after", &query.created_after, parse_time);
    let created_before = v.parsed("created_before", &query.created_before, parse_time);
    for status in &query.status {
        if !STATUSES.contains(&status.as_str()) {
            v.add("status", "must be new, contacted, qualified, unqualified or converted");
        }
    }
    v.finish()?;
    let listing = Listing::new(limit, sort, &query.q, &query.tag)?
        .custom(&query.custom)
        .filter([
            ("status IN", Cell::AnyOf(&query.status)),
            ("source IN", Cell::AnyOf(&query.source)),
            ("owner_id =", Cell::Id(owner_id)),
            ("score >=", Cell::Int(score_min)),
            ("next_follow_up_at <", Cell::Time(follow_up_before)),
            ("created_at >=", Cell::Time(created_after)),
            ("created_at <", Cell::Time(created_before)),
        ]);
    records::list_page(state, ctx, listing, &query.cursor).await
}

impl Record for Lead {
    const KIND: &'static str = "lead";
    const TABLE: &'static str = "leads";
    const COLUMNS: &'static str = queries::COLUMNS;
    /// The lead sources' analytics read leads.
    const IN_ANALYTICS: bool = true;
    type Input = LeadInput;
    type Patch = LeadPatch;

    common_columns!();
    crate::services::custom_fields::custom_record!("leads");
    fn own_sort_value(&self, field: &str) -> Option<After> {
        match field {
            "score" => Some(After::Int(self.score, self.id)),
            "next_follow_up_at" => Some(After::Time(
                self.next_follow_up_at.or_else(far_future).unwrap_or_default(),
                self.id,
            )),
            _ => None,
        }
    }
    fn audit_details(&self) -> Value {
        json!({ "name": self.name })
    }
    fn columns(&self) -> Vec<Column<'_>> {
        vec![
            ("custom", Cell::Map(&self.custom.0)),
            ("name", Cell::Text(Some(&self.name))),
            ("email", Cell::Text(self.email.as_deref())),
            ("phone", Cell::Text(self.phone.as_deref())),
            ("company_name", Cell::Text(self.company_name.as_deref())),
            ("source", Cell::Text(self.source.as_deref())),
            ("utm", Cell::Json(self.utm.as_ref().map(|u| &u.0))),
            ("status", Cell::Text(Some(&self.status))),
            ("score", Cell::Int(Some(self.score))),
            ("score_reasons", Cell::Json(Some(&self.score_reasons.0))),
            ("preferences", Cell::Json(self.preferences.as_ref().map(|p| &p.0))),
            ("next_follow_up_at", Cell::Time(self.next_follow_up_at)),
            ("converted_contact_id", Cell::Id(self.converted_contact_id)),
            ("converted_deal_id", Cell::Id(self.converted_deal_id)),
            ("converted_at", Cell::Time(self.converted_at)),
        ]
    }
    // `check` refuses any change of a converted lead first.
    checked_by!(check);

    /// 409 `duplicate_lead` when another open lead has this email or phone
    /// (a closed lead collides with nothing).
    async fn ensure_unique(c: Exec<'_>, ctx: &OrgCtx, lead: &Self) -> AppResult<()> {
        if !queries::OPEN.contains(&lead.status.as_str()) {
            return Ok(());
        }
        let found =
            queries::find_open_duplicate(c, ctx.org_id, lead.email.as_deref(), lead.phone.as_deref(), lead.id).await?;
        match found {
            None => Ok(()),
            Some((id, name, field)) => Err(AppError::conflict(
                "duplicate_lead",
                format!("an open lead with this {field} already exists: {name}"),
            )
            .with("existing_id", id.to_string())
            .with("field", field)),
        }
    }
    fn duplicate() -> AppError {
        AppError::conflict("duplicate_lead", "an open lead with this email or phone already exists")
    }
    /// A status change goes on the lead's timeline.
    async fn after_change(c: Exec<'_>, ctx: &OrgCtx, current: &Self, next: &Self) -> AppResult<()> {
        if next.status != current.status {
            let payload = json!({"from": current.status, "to": next.status});
            activities::append_to(
                c,
                ctx.org_id,
                "status_changed",
                next.filed_under(),
                ctx.user_id,
                payload,
            )
            .await?;
        }
        Ok(())
    }
    /// A converted lead stays (422 `lead_converted`); its timeline goes.
    async fn before_delete(c: Exec<'_>, ctx: &OrgCtx, lead: &Self) -> AppResult<()> {
        if lead.status == "converted" {
            return Err(converted());
        }
        activities::delete_all(c, ctx.org_id, Timeline::Lead(lead.id)).await?;
        Ok(())
    }
}

/// Where a lead without a follow-up sorts: after every date (`Sort::columns`).
fn far_future() -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339("9999-12-31T00:00:00Z")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

impl OnTimeline for Lead {
    fn timeline(id: Uuid) -> Timeline {
        Timeline::Lead(id)
    }
    fn filed_under(&self) -> Filed {
        Filed {
            lead: Some(self.id),
            ..Default::default()
        }
    }
    /// A comment is recent activity: the score counts it at once.
    async fn after_comment(c: Exec<'_>, ctx: &OrgCtx, lead: &Self) -> AppResult<()> {
        score::rescore(c, ctx.org_id, lead.id).await
    }
}

/// What converting a lead makes (`POST /leads/{id}/convert`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertInput {
    /// A deal to create for the contact; left out, none.
    pub deal: Option<ConvertDeal>,
}

/// The deal a conversion creates: its title defaults to the lead's name.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertDeal {
    pub title: Option<String>,
    /// Decimal string with at most 2 fraction digits.
    #[schema(value_type = Option<String>, example = "1500.00")]
    pub amount: Option<Value>,
    pub currency: Option<String>,
    #[schema(value_type = Option<Uuid>)]
    pub pipeline_id: Option<String>,
}

/// What a conversion answers: the converted lead and what it found or made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Converted {
    pub lead: Lead,
    pub contact: crate::services::contacts::Contact,
    pub company: Option<crate::services::companies::Company>,
    pub deal: Option<crate::services::deals::Deal>,
}

/// Converts a lead in one transaction (leads.md): the contact with the
/// lead's email (else phone) is reused, its empty fields filled, or a
/// contact is created; the company named `company_name` (case-insensitive,
/// the oldest) is reused or created; a deal is created when asked; the lead
/// becomes `converted` with the links; the contact's timeline gets
/// `system {"event": "lead_converted"}`. Again → 409 `already_converted`.
pub async fn convert(state: &App, ctx: &OrgCtx, id: Uuid, input: ConvertInput) -> AppResult<Converted> {
    use crate::services::companies::{Company, CompanyInput};
    use crate::services::contacts::{Contact, ContactInput, ContactPatch};
    use crate::services::deals::{Deal, DealInput};
    let mut tx = state.db.begin().await?;
    let lead: Lead = shape::readable(tx.exec(), ctx, id).await?;
    if lead.status == "converted" {
        return Err(
            AppError::conflict("already_converted", "this lead was converted already")
                .with("contact_id", lead.converted_contact_id.map(|i| i.to_string())),
        );
    }
    lead.ensure_may_change(ctx)?;
    // The records are made as the lead's owner would make them, by the caller.
    let owner = lead.owner_id.to_string();

    let company = match lead.company_name.as_deref() {
        None => None,
        Some(name) => match crate::services::companies::queries::find_by_name(tx.exec(), ctx.org_id, name).await? {
            // Matching is organization-wide, whoever may see the company.
            Some(found) => Company::find(tx.exec(), ctx.org_id, found).await?,
            None => {
                let input = CompanyInput {
                    name: name.to_string(),
                    owner_id: Some(owner.clone()),
                    ..Default::default()
                };
                let checked = Company::check_new(tx.exec(), ctx, input).await?;
                Some(shape::write_new(tx.exec(), ctx, checked).await?)
            }
        },
    };

    let found = queries::contact_matching(tx.exec(), ctx.org_id, lead.email.as_deref(), lead.phone.as_deref()).await?;
    let contact = match found {
        Some(found) => {
            let current = Contact::find(tx.exec(), ctx.org_id, found)
                .await?
                .ok_or_else(AppError::not_found)?;
            // Only its empty fields are filled.
            let patch = ContactPatch {
                email: current
                    .email
                    .is_none()
                    .then(|| lead.email.clone())
                    .filter(Option::is_some),
                phone: current
                    .phone
                    .is_none()
                    .then(|| lead.phone.clone())
                    .filter(Option::is_some),
                company_id: (current.company_id.is_none())
                    .then(|| company.as_ref().map(|c| c.id.to_string()))
                    .filter(Option::is_some),
                lead_source: current
                    .lead_source
                    .is_none()
                    .then(|| lead.source.clone())
                    .filter(Option::is_some),
                ..Default::default()
            };
            let next = Contact::check_patch(tx.exec(), ctx, &current, patch).await?;
            if next.record == current {
                current
            } else {
                shape::write_changed(tx.exec(), ctx, &current, next).await?
            }
        }
        None => {
            let input = ContactInput {
                name: lead.name.clone(),
                email: lead.email.clone(),
                phone: lead.phone.clone(),
                company_id: company.as_ref().map(|c| c.id.to_string()),
                lead_source: lead.source.clone(),
                owner_id: Some(owner.clone()),
                tags: Some(lead.tags.0.clone()),
                ..Default::default()
            };
            let checked = Contact::check_new(tx.exec(), ctx, input).await?;
            Contact::ensure_unique(tx.exec(), ctx, &checked.record).await?;
            shape::write_new(tx.exec(), ctx, checked).await?
        }
    };

    let deal = match input.deal {
        None => None,
        Some(asked) => {
            let input = DealInput {
                title: asked
                    .title
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| lead.name.clone()),
                contact_id: Some(contact.id.to_string()),
                company_id: company.as_ref().map(|c| c.id.to_string()),
                pipeline_id: asked.pipeline_id,
                amount: asked.amount,
                currency: asked.currency,
                owner_id: Some(owner.clone()),
                ..Default::default()
            };
            let checked = Deal::check_new(tx.exec(), ctx, input)
                .await
                .map_err(|e| under("deal.", e))?;
            Some(shape::write_new(tx.exec(), ctx, checked).await?)
        }
    };

    let mut next = lead.clone();
    next.status = "converted".into();
    next.converted_contact_id = Some(contact.id);
    next.converted_deal_id = deal.as_ref().map(|d| d.id);
    next.converted_at = Some(crate::db::now());
    let next = shape::write_changed(tx.exec(), ctx, &lead, searched(next)).await?;
    let payload = json!({"event": "lead_converted", "lead_id": lead.id, "deal_id": next.converted_deal_id});
    let filed = Filed {
        contact: Some(contact.id),
        lead: Some(lead.id),
        deal: None,
    };
    activities::append_to(tx.exec(), ctx.org_id, "system", filed, ctx.user_id, payload).await?;
    let event = Event::new("lead.converted")
        .by(ctx)
        .target("lead", lead.id)
        .details(json!({
            "contact_id": contact.id,
            "company_id": company.as_ref().map(|c| c.id),
            "deal_id": next.converted_deal_id,
        }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    crate::services::analytics::commit(state, tx, ctx.org_id).await?;
    Ok(Converted {
        lead: next,
        contact,
        company,
        deal,
    })
}

/// `e` with its fields named under `prefix` (`deal.amount`).
fn under(prefix: &str, mut e: AppError) -> AppError {
    for error in &mut e.errors {
        error.field = format!("{prefix}{}", error.field);
    }
    e
}

/// The lead-scoring settings (`GET|PATCH /lead-scoring`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Scoring {
    /// Points (0..50) each source gives: the defaults, then the organization's own.
    #[schema(value_type = Object, example = json!({"referral": 25, "website": 15}))]
    pub source_weights: serde_json::Map<String, Value>,
}

/// A change of the settings: the weights given are merged into the map.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringPatch {
    /// `{source: 0..50}`; sources are matched case-insensitively.
    #[schema(value_type = Option<Object>)]
    pub source_weights: Option<serde_json::Map<String, Value>>,
}

pub async fn scoring(state: &App, ctx: &OrgCtx) -> AppResult<Scoring> {
    let mut conn = state.db.read().await?;
    let own = queries::source_weights(conn.exec(), ctx.org_id).await?;
    Ok(Scoring {
        source_weights: score::weights(&own.0),
    })
}

/// Merges the weights given (owners and admins), then re-scores every open
/// lead of the organization in the background (the `lead_scores` job).
pub async fn update_scoring(state: &App, ctx: &OrgCtx, patch: ScoringPatch) -> AppResult<Scoring> {
    ctx.require(Role::Admin)?;
    let mut v = Validator::new();
    let mut given = serde_json::Map::new();
    for (source, weight) in patch.source_weights.unwrap_or_default() {
        let key = source.trim().to_lowercase();
        let field = format!("source_weights.{source}");
        if key.is_empty() || source.chars().count() > 100 {
            v.add(field, "a source is 1..100 characters");
            continue;
        }
        let whole = weight
            .as_i64()
            .or_else(|| weight.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64));
        match whole.filter(|w| (0..=50).contains(w)) {
            Some(w) => {
                given.insert(key, Value::from(w));
            }
            None => v.add(field, "must be a whole number 0..50"),
        }
    }
    if given.len() > 100 {
        v.add("source_weights", "at most 100 sources");
    }
    v.finish()?;
    let mut tx = state.db.begin().await?;
    let mut own = queries::source_weights(tx.exec(), ctx.org_id).await?.0;
    if let Value::Object(map) = &mut own {
        map.extend(given.clone());
    } else {
        own = Value::Object(given.clone());
    }
    queries::set_source_weights(tx.exec(), ctx.org_id, &own).await?;
    let event = Event::new("lead_scoring.updated")
        .by(ctx)
        .details(json!({ "source_weights": given }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    let job = crate::services::jobs::NewJob::new(ctx.org_id, score::JOB, json!({}));
    crate::services::jobs::enqueue(tx.exec(), &job).await?;
    tx.commit().await?;
    Ok(Scoring {
        source_weights: score::weights(&own),
    })
}
