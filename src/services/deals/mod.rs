//! Deals `/api/v1/deals` (api.md §5 "Deals", §7 "Records"): an amount moving
//! through the stages of a pipeline, from `new` to `won` or `lost`. Every
//! create, status change and stage change appends to the timeline in the same
//! transaction.

pub mod queries;

use chrono::NaiveDate;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::services::activities::{self, Timeline};
use crate::services::custom_fields::{self, CustomInput};
use crate::services::orgs::{OrgCtx, Role, queries as orgs};
use crate::services::pagination::Page;
use crate::services::pipelines::{self, CLOSED, Pipeline};
use crate::services::records::double_option;
use crate::services::records::query::list_query;
use crate::services::records::rows::Column;
use crate::services::records::shape::{Checked, OnTimeline, Record, common_columns};
use crate::services::records::{self, After, Cell, IfMatch, Listing, opt, parse_uuid};
use crate::services::validate;
pub use queries::{Deal, Funnel};

const SORTS: &[&str] = &["created_at", "updated_at", "amount", "expected_close_date"];
/// The largest amount accepted: 10^13 - 0.01 in any currency.
const MAX_CENTS: i64 = 1_000_000_000_000_000 - 1;

/// An amount as a JSON string or number: at most 2 fraction digits, never
/// negative. Empty or null is `None`.
pub fn parse_amount(value: &Value) -> Result<Option<i64>, String> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return Err("must be a decimal string or number".into()),
    };
    let invalid = || "must be a non-negative amount with at most 2 decimals".to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        // A number like 10.50 arrives as "10.5"; "1e3" or "-1" do not pass.
        return Err(invalid());
    }
    if text.ends_with('.') {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fraction))
        .filter(|c| *c <= MAX_CENTS)
        .map(Some)
        .ok_or_else(invalid)
}

/// A deal as sent on create.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealInput {
    pub title: String,
    #[schema(value_type = Uuid)]
    pub contact_id: Option<String>,
    #[schema(value_type = Option<Uuid>)]
    pub company_id: Option<String>,
    /// The property the deal is about: winning the deal marks it sold or rented.
    #[schema(value_type = Option<Uuid>)]
    pub property_id: Option<String>,
    /// Default: the organization's default pipeline.
    #[schema(value_type = Option<Uuid>)]
    pub pipeline_id: Option<String>,
    /// A stage key of the pipeline; default its first. Never `closed`.
    pub stage: Option<String>,
    /// `new` (default) or `in_progress`.
    pub status: Option<String>,
    /// Decimal string or number, at most 2 fraction digits (default "0.00").
    #[schema(value_type = Option<String>)]
    pub amount: Option<Value>,
    /// ISO 4217; default the organization's currency.
    pub currency: Option<String>,
    /// `YYYY-MM-DD`.
    pub expected_close_date: Option<String>,
    pub lost_reason: Option<String>,
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Custom field values by key (`GET /custom-fields?object=deals`).
    #[schema(value_type = Option<Object>)]
    pub custom: Option<CustomInput>,
}

/// A partial change: fields left out stay; `null` clears. Rules are checked on
/// the state after the whole change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealPatch {
    /// Required: `null` is refused like an empty title.
    #[serde(default, deserialize_with = "double_option")]
    pub title: Option<Option<String>>,
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub company_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub property_id: Option<Option<String>>,
    #[schema(value_type = Option<Uuid>)]
    pub pipeline_id: Option<String>,
    pub stage: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub amount: Option<Option<Value>>,
    #[serde(default, deserialize_with = "double_option")]
    pub currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub expected_close_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub lost_reason: Option<Option<String>>,
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub tags: Option<Option<Vec<String>>>,
    /// Merged into the current values; a key set to `null` clears it.
    #[schema(value_type = Option<Object>)]
    pub custom: Option<CustomInput>,
}

fn invalid_stage(detail: &str) -> AppError {
    AppError::rule("invalid_stage", detail.to_string())
}

fn invalid_transition(from: &str, to: &str) -> AppError {
    AppError::rule(
        "invalid_status_transition",
        format!("a deal cannot go from `{from}` to `{to}`"),
    )
}

fn is_terminal(status: &str) -> bool {
    status == "won" || status == "lost"
}

impl Deal {
    /// Still in the pipeline: neither won nor lost.
    pub fn is_open(&self) -> bool {
        !is_terminal(&self.status)
    }
}

/// The status changes the contract allows.
fn transition_allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("new", "in_progress") | ("new", "lost") | ("in_progress", "won") | ("in_progress", "lost")
    )
}

/// A contact the caller may see, else 422 `contact_not_found`.
pub async fn visible_contact(c: Exec<'_>, ctx: &OrgCtx, id: Uuid) -> AppResult<Uuid> {
    records::readable::<crate::services::contacts::Contact>(c, ctx, id)
        .await
        .map(|contact| contact.id)
        .map_err(records::missing_as(
            "contact_not_found",
            "contact_id is not a contact of this organization",
        ))
}

async fn existing_company(c: Exec<'_>, ctx: &OrgCtx, id: Uuid) -> AppResult<Uuid> {
    match crate::services::contacts::queries::company_name(c, ctx.org_id, id).await? {
        Some(_) => Ok(id),
        None => Err(AppError::rule(
            "company_not_found",
            "company_id is not a company of this organization",
        )),
    }
}

async fn existing_property(c: Exec<'_>, ctx: &OrgCtx, id: Uuid) -> AppResult<()> {
    match <crate::services::properties::Property as Record>::find(c, ctx.org_id, id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::rule(
            "property_not_found",
            "property_id is not a property of this organization",
        )),
    }
}

/// A deal won on a property marks it sold (a sale) or rented (a rental) in
/// the deal's transaction; a property no longer `available` or
/// `under_offer` cannot be won again (409 `property_unavailable`).
async fn settle_property(mut c: Exec<'_>, ctx: &OrgCtx, deal: &Deal) -> AppResult<()> {
    use crate::services::properties::Property;
    let Some(id) = deal.property_id else { return Ok(()) };
    let Some(property) = <Property as Record>::find(c.re(), ctx.org_id, id).await? else {
        return Err(AppError::rule(
            "property_not_found",
            "property_id is not a property of this organization",
        ));
    };
    if !["available", "under_offer"].contains(&property.status.as_str()) {
        return Err(AppError::conflict(
            "property_unavailable",
            format!("the property is {} already", property.status.replace('_', " ")),
        )
        .with("property_id", id.to_string()));
    }
    let status = if property.listing_type == "rent" {
        "rented"
    } else {
        "sold"
    };
    crate::run!(c.re(), conn => sqlx::query(
        "UPDATE properties SET status = $3, version = version + 1, updated_at = $4 WHERE organization_id = $1 AND id = $2",
    )
    .bind(ctx.org_id)
    .bind(id)
    .bind(status)
    .bind(crate::db::now())
    .execute(conn)
    .await
    .map(|r| r.rows_affected()))?;
    let event = crate::services::audit::Event::new(format!("property.{status}"))
        .by(ctx)
        .target("property", id)
        .details(json!({"deal_id": deal.id}));
    crate::services::audit::record(c, ctx.org_id, &event).await?;
    Ok(())
}

async fn pipeline_of(c: Exec<'_>, ctx: &OrgCtx, id: Option<Uuid>) -> AppResult<Pipeline> {
    let found = match id {
        Some(id) => pipelines::find_for_deal(c, ctx.org_id, id).await?,
        None => pipelines::find_default(c, ctx.org_id).await?,
    };
    found.ok_or_else(|| AppError::field("pipeline_id", "not a pipeline of this organization"))
}

/// The stage `key` of `pipeline` as a deal may be put in it directly.
fn open_stage(pipeline: &Pipeline, key: &str) -> AppResult<i64> {
    if key == CLOSED {
        return Err(invalid_stage("a deal reaches `closed` only by being won or lost"));
    }
    pipeline
        .stage(key)
        .map(|s| s.position)
        .ok_or_else(|| invalid_stage("not a stage of the deal's pipeline"))
}

fn closed_position(pipeline: &Pipeline) -> i64 {
    pipeline.stage(CLOSED).map_or(0, |s| s.position)
}

list_query! {
    pub struct DealQuery {
        q: "Every word must be a prefix of a word of the title.",
        sort: "`created_at` (default `-created_at`), `updated_at`, `amount` (grouped by currency code, then by amount), `expected_close_date`; `-` for descending.",
        /// Repeatable.
        #[serde(default)]
        pub status: Vec<String>,
        pub stage: Option<String>,
        #[param(value_type = Option<Uuid>)]
        pub pipeline_id: Option<String>,
        #[param(value_type = Option<Uuid>)]
        pub contact_id: Option<String>,
        #[param(value_type = Option<Uuid>)]
        pub company_id: Option<String>,
        /// Inclusive.
        pub amount_min: Option<String>,
        /// Inclusive.
        pub amount_max: Option<String>,
        /// Date, exclusive.
        pub expected_close_before: Option<String>,
        /// Date, inclusive.
        pub expected_close_after: Option<String>,
    }
}

/// One page of the deals the caller may read, filtered and sorted as `query`
/// says (the API's list, the web app's list and board).
pub async fn list(state: &App, ctx: &OrgCtx, query: &DealQuery) -> AppResult<Page<Deal>> {
    let (limit, sort) = records::paging(&query.limit, &query.sort, SORTS, "-created_at")?;
    let mut v = Validator::new();
    let pipeline_id = v.parsed("pipeline_id", &query.pipeline_id, parse_uuid);
    let owner_id = v.parsed("owner_id", &query.owner_id, parse_uuid);
    let contact_id = v.parsed("contact_id", &query.contact_id, parse_uuid);
    let company_id = v.parsed("company_id", &query.company_id, parse_uuid);
    let amount = |a: &str| parse_amount(&Value::String(a.into()));
    let amount_min = v.parsed("amount_min", &query.amount_min, amount).flatten();
    let amount_max = v.parsed("amount_max", &query.amount_max, amount).flatten();
    let close_before = v.parsed(
        "expected_close_before",
        &query.expected_close_before,
        records::parse_date,
    );
    let close_after = v.parsed("expected_close_after", &query.expected_close_after, records::parse_date);
    for status in &query.status {
        if !["new", "in_progress", "won", "lost"].contains(&status.as_str()) {
            v.add("status", "must be new, in_progress, won or lost");
        }
    }
    v.finish()?;
    let listing = Listing::new(limit, sort, &query.q, &query.tag)?
        .custom(&query.custom)
        .filter([
            ("status IN", Cell::AnyOf(&query.status)),
            ("stage =", Cell::Text(opt(&query.stage))),
            ("pipeline_id =", Cell::Id(pipeline_id)),
            ("owner_id =", Cell::Id(owner_id)),
            ("contact_id =", Cell::Id(contact_id)),
            ("company_id =", Cell::Id(company_id)),
            ("amount_cents >=", Cell::Int(amount_min)),
            ("amount_cents <=", Cell::Int(amount_max)),
            ("expected_close_date >=", Cell::Date(close_after)),
            ("expected_close_date <", Cell::Date(close_before)),
        ]);
    records::list_page(state, ctx, listing, &query.cursor).await
}

/// Validates a new deal: every field error at once, then the rules that need
/// the database.
async fn check_new(mut c: Exec<'_>, ctx: &OrgCtx, mut input: DealInput) -> AppResult<Deal> {
    let mut v = Validator::new();
    let title = v.check("title", validate::required_text(&input.title, 200));
    let contact_id = match opt(&input.contact_id) {
        None => {
            v.add("contact_id", "is required");
            None
        }
        Some(raw) => v.check("contact_id", parse_uuid(raw)),
    };
    let company_id = v.check("company_id", opt(&input.company_id).map(parse_uuid).transpose());
    let property_id = v.check("property_id", opt(&input.property_id).map(parse_uuid).transpose());
    let pipeline_id = v.check("pipeline_id", opt(&input.pipeline_id).map(parse_uuid).transpose());
    let owner_id = v.check("owner_id", opt(&input.owner_id).map(parse_uuid).transpose());
    let amount = v.check("amount", input.amount.as_ref().map_or(Ok(None), parse_amount));
    let currency = v.check("currency", opt(&input.currency).map(validate::currency).transpose());
    let close_date = v.check(
        "expected_close_date",
        opt(&input.expected_close_date).map(records::parse_date).transpose(),
    );
    let lost_reason = v.check(
        "lost_reason",
        validate::optional_text(input.lost_reason.as_deref(), 1000),
    );
    let tags = v.check("tags", records::normalize_tags(&input.tags.clone().unwrap_or_default()));
    let status = opt(&input.status).unwrap_or("new").to_string();
    if !["new", "in_progress", "won", "lost"].contains(&status.as_str()) {
        v.add("status", "must be new or in_progress");
    }
    let custom = custom_fields::check(c.re(), ctx.org_id, "deals", &mut v, input.custom.take()).await?;
    v.finish()?;
    if is_terminal(&status) {
        return Err(invalid_transition("(new deal)", &status));
    }
    let (
        Some(title),
        Some(contact_id),
        Some(company_id),
        Some(pipeline_id),
        Some(owner_id),
        Some(amount),
        Some(currency),
        Some(close_date),
        Some(lost_reason),
        Some(tags),
        Some(property_id),
    ) = (
        title,
        contact_id,
        company_id,
        pipeline_id,
        owner_id,
        amount,
        currency,
        close_date,
        lost_reason,
        tags,
        property_id,
    )
    else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };

    let contact_id = visible_contact(c.re(), ctx, contact_id).await?;
    if let Some(property) = property_id {
        existing_property(c.re(), ctx, property).await?;
    }
    let company_id = match company_id {
        Some(id) => Some(existing_company(c.re(), ctx, id).await?),
        None => None,
    };
    let pipeline = pipeline_of(c.re(), ctx, pipeline_id).await?;
    let stage = match opt(&input.stage) {
        Some(key) => key.to_string(),
        None => pipeline.first_stage().map(|s| s.key.clone()).unwrap_or_default(),
    };
    let position = open_stage(&pipeline, &stage)?;
    let owner_id = records::resolve_owner(c.re(), ctx, owner_id).await?;
    let currency = match currency {
        Some(c) => c,
        None => orgs::find_organization(c.re(), ctx.org_id)
            .await?
            .map(|o| o.default_currency)
            .unwrap_or_else(|| "USD".into()),
    };
    let now = crate::db::now();
    let deal = Deal {
        id: crate::db::new_id(),
        owner_id,
        title,
        contact_id,
        company_id,
        property_id,
        pipeline_id: pipeline.id,
        stage,
        status,
        amount_cents: amount.unwrap_or(0),
        currency,
        expected_close_date: close_date,
        lost_reason,
        closed_at: None,
        stage_changed_at: now,
        tags: SqlJson(tags),
        custom: SqlJson(custom),
        created_at: now,
        updated_at: now,
        version: 1,
        // A deal created in a later stage has reached it and every one before.
        furthest_position: position,
        closed_from: None,
    };
    Ok(deal)
}

/// The deal `patch` makes of `current`. Rules are checked on the state after
/// the whole change: status first, then what a closed deal may not change,
/// pipeline and stage, then related records and the owner.
async fn check_patch(mut c: Exec<'_>, ctx: &OrgCtx, current: &Deal, patch: DealPatch) -> AppResult<Deal> {
    let mut v = Validator::new();
    let title = match &patch.title {
        None => Some(current.title.clone()),
        Some(t) => v.check("title", validate::required_text(t.as_deref().unwrap_or_default(), 200)),
    };
    let contact_id = patch
        .contact_id
        .as_ref()
        .map(|c| v.check("contact_id", parse_uuid(c.trim())));
    let company_id = patch
        .company_id
        .as_ref()
        .map(|c| v.check("company_id", opt(c).map(parse_uuid).transpose()));
    let property_id = patch
        .property_id
        .as_ref()
        .map(|p| v.check("property_id", opt(p).map(parse_uuid).transpose()));
    let pipeline_id = patch
        .pipeline_id
        .as_ref()
        .map(|p| v.check("pipeline_id", parse_uuid(p.trim())));
    let owner_id = patch
        .owner_id
        .as_ref()
        .map(|o| v.check("owner_id", parse_uuid(o.trim())));
    let amount = patch
        .amount
        .as_ref()
        .map(|a| v.check("amount", a.as_ref().map_or(Ok(None), parse_amount)));
    let currency = patch
        .currency
        .as_ref()
        .map(|c| v.check("currency", opt(c).map(validate::currency).transpose()));
    let close_date = patch
        .expected_close_date
        .as_ref()
        .map(|d| v.check("expected_close_date", opt(d).map(records::parse_date).transpose()));
    let lost_reason = patch
        .lost_reason
        .as_ref()
        .map(|r| v.check("lost_reason", validate::optional_text(r.as_deref(), 1000)));
    let tags = patch
        .tags
        .as_ref()
        .map(|t| v.check("tags", records::normalize_tags(&t.clone().unwrap_or_default())));
    let status = patch
        .status
        .as_deref()
        .map(str::trim)
        .unwrap_or(&current.status)
        .to_string();
    if !["new", "in_progress", "won", "lost"].contains(&status.as_str()) {
        v.add("status", "must be new, in_progress, won or lost");
    }
    let custom = custom_fields::check(
        c.re(),
        ctx.org_id,
        "deals",
        &mut v,
        Some(CustomInput::merged(&current.custom.0, patch.custom)),
    )
    .await?;
    v.finish()?;

    let mut next = current.clone();
    next.custom = SqlJson(custom);
    next.title = title.unwrap_or_default();
    if let Some(Some(tags)) = tags {
        next.tags = SqlJson(tags);
    }
    if let Some(Some(reason)) = lost_reason {
        next.lost_reason = reason;
    }
    if let Some(Some(date)) = close_date {
        next.expected_close_date = date;
    }

    // Status: checked first, on the status after the change.
    let becomes_terminal = status != current.status && is_terminal(&status);
    if status != current.status && !transition_allowed(&current.status, &status) {
        return Err(invalid_transition(&current.status, &status));
    }
    next.status = status;

    // What a closed deal may no longer change.
    let terminal = is_terminal(&current.status);
    let new_pipeline = pipeline_id.flatten().filter(|p| *p != current.pipeline_id);
    let new_stage = patch
        .stage
        .as_deref()
        .map(str::trim)
        .filter(|s| *s != current.stage || new_pipeline.is_some());
    let new_amount = amount
        .flatten()
        .map(|a| a.unwrap_or(0))
        .filter(|a| *a != current.amount_cents);
    let new_currency = match currency.flatten() {
        Some(Some(code)) => Some(code),
        Some(None) => orgs::find_organization(c.re(), ctx.org_id)
            .await?
            .map(|o| o.default_currency),
        None => None,
    }
    .filter(|c| *c != current.currency);
    if terminal && (new_pipeline.is_some() || new_stage.is_some() || new_amount.is_some() || new_currency.is_some()) {
        return Err(AppError::rule(
            "deal_closed",
            "a won or lost deal's stage, pipeline, amount and currency cannot change",
        ));
    }
    if let Some(a) = new_amount {
        next.amount_cents = a;
    }
    if let Some(c) = new_currency {
        next.currency = c;
    }

    // Pipeline and stage.
    let pipeline = pipeline_of(c.re(), ctx, Some(new_pipeline.unwrap_or(current.pipeline_id))).await?;
    if let Some(p) = new_pipeline {
        let stage = new_stage
            .map(str::to_string)
            .or_else(|| pipeline.first_stage().map(|s| s.key.clone()))
            .unwrap_or_default();
        let position = open_stage(&pipeline, &stage)?;
        next.pipeline_id = p;
        next.stage = stage;
        next.furthest_position = position;
    } else if let Some(stage) = new_stage {
        let position = open_stage(&pipeline, stage)?;
        let from = pipeline.stage(&current.stage).map_or(0, |s| s.position);
        if position < from && ctx.role < Role::Admin {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "stage_backward_forbidden",
                "only owners and admins may move a deal to an earlier stage",
            ));
        }
        next.stage = stage.to_string();
        next.furthest_position = next.furthest_position.max(position);
    }
    if becomes_terminal {
        // `furthest_position` stays the furthest open stage: a lost deal
        // stops there in the funnel (a won one counts for `closed` by its status).
        next.closed_from = Some(std::mem::replace(&mut next.stage, CLOSED.to_string()));
        next.closed_at = Some(crate::db::now());
    }
    if next.stage != current.stage || next.pipeline_id != current.pipeline_id {
        next.stage_changed_at = crate::db::now();
    }
    if next.status == "won" && next.amount_cents <= 0 {
        return Err(AppError::rule("amount_required", "a won deal needs an amount above 0"));
    }

    // Related records and the owner.
    if let Some(Some(contact)) = contact_id
        && contact != current.contact_id
    {
        next.contact_id = visible_contact(c.re(), ctx, contact).await?;
    }
    if let Some(Some(company)) = company_id
        && company != current.company_id
    {
        next.company_id = match company {
            Some(id) => Some(existing_company(c.re(), ctx, id).await?),
            None => None,
        };
    }
    if let Some(Some(property)) = property_id
        && property != current.property_id
    {
        if let Some(id) = property {
            existing_property(c.re(), ctx, id).await?;
        }
        next.property_id = property;
    }
    if let Some(Some(owner)) = owner_id
        && owner != current.owner_id
    {
        if ctx.role < Role::Manager {
            return Err(AppError::forbidden("members may not give their deals to someone else"));
        }
        next.owner_id = records::resolve_owner(c.re(), ctx, Some(owner)).await?;
    }

    Ok(next)
}

/// Takes a won or lost deal back to `in_progress` in the stage it was closed
/// from (its pipeline's first stage when that stage is gone), clearing
/// `closed_at` and `lost_reason` (api.md §5 "Deals"): managers and above
/// (403), an open deal → 422 `invalid_status_transition`. The timeline gets
/// `status_changed` and `stage_changed`; the audit log `deal.reopened`.
pub async fn reopen(state: &App, ctx: &OrgCtx, id: Uuid, if_match: IfMatch) -> AppResult<Deal> {
    if ctx.role < Role::Manager {
        return Err(AppError::forbidden("only managers and above may reopen a deal"));
    }
    let (mut tx, current) = records::shape::lock_for_change::<Deal>(state, ctx, id, if_match).await?;
    if !is_terminal(&current.status) {
        return Err(invalid_transition(&current.status, "in_progress"));
    }
    let pipeline = pipeline_of(tx.exec(), ctx, Some(current.pipeline_id)).await?;
    let stage = current
        .closed_from
        .clone()
        .filter(|key| key != CLOSED && pipeline.stage(key).is_some())
        .or_else(|| pipeline.first_stage().map(|s| s.key.clone()))
        .unwrap_or_default();
    let position = pipeline.stage(&stage).map_or(0, |s| s.position);
    // Deals closed before `closed_from` existed had `closed` as their furthest stage.
    let furthest = match current.furthest_position {
        f if f >= closed_position(&pipeline) => position,
        f => f.max(position),
    };
    let next = Deal {
        status: "in_progress".into(),
        stage,
        closed_at: None,
        closed_from: None,
        stage_changed_at: crate::db::now(),
        lost_reason: None,
        furthest_position: furthest,
        ..current.clone()
    };
    records::shape::finish_change(state, tx, ctx, current, searched(next), Some("deal.reopened")).await
}

/// A deal with the words `q` finds it by: its title's.
pub fn searched(deal: Deal) -> Checked<Deal> {
    Checked {
        search_text: records::search_text([Some(deal.title.as_str())]),
        record: deal,
    }
}

impl Record for Deal {
    const KIND: &'static str = "deal";
    const TABLE: &'static str = "deals";
    const COLUMNS: &'static str = queries::COLUMNS;
    const IN_ANALYTICS: bool = true;
    type Input = DealInput;
    type Patch = DealPatch;

    common_columns!();
    custom_fields::custom_record!("deals");
    fn own_sort_value(&self, field: &str) -> Option<After> {
        // A deal without a date sorts as the last day (`Sort::column`).
        let far_future = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
        match field {
            "amount" => Some(After::Money(self.currency.clone(), self.amount_cents, self.id)),
            "expected_close_date" => Some(After::Date(self.expected_close_date.unwrap_or(far_future), self.id)),
            _ => None,
        }
    }
    fn audit_details(&self) -> Value {
        json!({ "title": self.title })
    }

    fn columns(&self) -> Vec<Column<'_>> {
        vec![
            ("custom", Cell::Map(&self.custom.0)),
            ("title", Cell::Text(Some(&self.title))),
            ("contact_id", Cell::Id(Some(self.contact_id))),
            ("company_id", Cell::Id(self.company_id)),
            ("property_id", Cell::Id(self.property_id)),
            ("pipeline_id", Cell::Id(Some(self.pipeline_id))),
            ("stage", Cell::Text(Some(&self.stage))),
            ("status", Cell::Text(Some(&self.status))),
            ("amount_cents", Cell::Int(Some(self.amount_cents))),
            ("currency", Cell::Text(Some(&self.currency))),
            ("expected_close_date", Cell::Date(self.expected_close_date)),
            ("lost_reason", Cell::Text(self.lost_reason.as_deref())),
            ("closed_at", Cell::Time(self.closed_at)),
            ("stage_changed_at", Cell::Time(Some(self.stage_changed_at))),
            ("closed_from", Cell::Text(self.closed_from.as_deref())),
            ("furthest_position", Cell::Int(Some(self.furthest_position))),
        ]
    }

    async fn check_new(c: Exec<'_>, ctx: &OrgCtx, input: DealInput) -> AppResult<Checked<Self>> {
        Ok(searched(check_new(c, ctx, input).await?))
    }
    async fn check_patch(c: Exec<'_>, ctx: &OrgCtx, current: &Self, patch: DealPatch) -> AppResult<Checked<Self>> {
        Ok(searched(check_patch(c, ctx, current, patch).await?))
    }

    async fn after_create(c: Exec<'_>, ctx: &OrgCtx, deal: &Self) -> AppResult<()> {
        let payload = json!({"event": "deal_created"});
        activities::append(
            c,
            ctx.org_id,
            "system",
            Some(deal.id),
            Some(deal.contact_id),
            ctx.user_id,
            payload,
        )
        .await?;
        Ok(())
    }
    /// Status and stage changes go on the deal's timeline.
    async fn after_change(mut c: Exec<'_>, ctx: &OrgCtx, current: &Self, next: &Self) -> AppResult<()> {
        if next.status == "won" && current.status != "won" {
            settle_property(c.re(), ctx, next).await?;
        }
        if next.status != current.status {
            let payload = json!({"from": current.status, "to": next.status});
            activities::append(
                c.re(),
                ctx.org_id,
                "status_changed",
                Some(next.id),
                Some(next.contact_id),
                ctx.user_id,
                payload,
            )
            .await?;
        }
        if next.stage != current.stage || next.pipeline_id != current.pipeline_id {
            let payload = json!({"from": current.stage, "to": next.stage});
            activities::append(
                c.re(),
                ctx.org_id,
                "stage_changed",
                Some(next.id),
                Some(next.contact_id),
                ctx.user_id,
                payload,
            )
            .await?;
        }
        Ok(())
    }
    /// Its timeline goes with it; its tasks stay without it.
    async fn before_delete(mut c: Exec<'_>, ctx: &OrgCtx, deal: &Self) -> AppResult<()> {
        activities::delete_all(c.re(), ctx.org_id, Timeline::Deal(deal.id)).await?;
        crate::services::tasks::detach(c, ctx.org_id, "deal_id", deal.id).await?;
        Ok(())
    }
}

impl OnTimeline for Deal {
    fn timeline(id: Uuid) -> Timeline {
        Timeline::Deal(id)
    }
    fn filed_under(&self) -> activities::Filed {
        activities::Filed {
            deal: Some(self.id),
            contact: Some(self.contact_id),
            lead: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount(&json!("1500.00")).unwrap(), Some(150_000));
        assert_eq!(parse_amount(&json!(1500)).unwrap(), Some(150_000));
        assert_eq!(parse_amount(&json!(10.5)).unwrap(), Some(1050));
        assert_eq!(parse_amount(&json!("0.1")).unwrap(), Some(10));
        assert_eq!(parse_amount(&json!("")).unwrap(), None);
        for bad in [
            json!("-1"),
            json!(-1),
            json!("1.234"),
            json!("1e3"),
            json!("abc"),
            json!("1."),
            json!(".5"),
            json!(true),
        ] {
            assert!(parse_amount(&bad).is_err(), "{bad}");
        }
    }
}
