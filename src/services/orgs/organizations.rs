//! `/api/v1/organizations/me`, `/api/v1/organizations`, `/api/v1/organization`
//! (api.md §4).

use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::error::{AppError, AppResult, Validator};
use crate::services::audit::{self, Event};
use crate::services::idempotency::{Created, Idempotency};
use crate::services::orgs::Actor;
use crate::services::orgs::{OrgCtx, Organization, OrganizationEntry, Role, Visibility, queries};
use crate::services::records::{IfMatch, double_option};
use crate::services::validate;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    pub name: String,
    /// ISO 4217 code, default `USD`.
    pub default_currency: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganization {
    pub name: Option<String>,
    /// ISO 4217; empty or null resets to `USD`.
    #[serde(default, deserialize_with = "double_option")]
    pub default_currency: Option<Option<String>>,
    /// ISO 3166-1 alpha-2, used to read phone numbers written without a country
    /// code; empty or null resets to `US`.
    #[serde(default, deserialize_with = "double_option")]
    pub default_country: Option<Option<String>>,
    /// `all` (members read every record) or `own`; empty or null resets to `all`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Visibility>)]
    pub member_visibility: Option<Option<String>>,
    /// The reasons the web app offers when a deal is lost, in order: at most
    /// 30, each 1–100 characters (trimmed; repeats merged); null clears.
    #[serde(default, deserialize_with = "double_option")]
    pub lost_reasons: Option<Option<Vec<String>>>,
}

/// Lost reasons as kept: trimmed, 1–100 characters each, at most 30, the
/// first of repeats (in any case) kept.
pub fn lost_reasons(reasons: &[String]) -> Result<Vec<String>, String> {
    if reasons.len() > 30 {
        return Err("at most 30 reasons".into());
    }
    let mut kept: Vec<String> = Vec::new();
    for reason in reasons {
        let reason = reason.trim();
        let length = reason.chars().count();
        if !(1..=100).contains(&length) {
            return Err("each reason must be 1 to 100 characters".into());
        }
        if !kept.iter().any(|k| k.to_lowercase() == reason.to_lowercase()) {
            kept.push(reason.to_string());
        }
    }
    Ok(kept)
}

/// Changes the organization's settings (the API's PATCH and the web app's
/// settings page): admin and owner.
pub async fn update(
    state: &App,
    ctx: &OrgCtx,
    if_match: IfMatch,
    input: UpdateOrganization,
) -> AppResult<Organization> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    let current = queries::lock_organization(tx.exec(), ctx.org_id)
        .await?
        .ok_or_else(AppError::not_found)?;
    if_match.check(current.version)?;

    let mut next = current.clone();
    let mut v = Validator::new();
    if let Some(name) = &input.name
        && let Some(name) = v.check("name", validate::required_text(name, 200))
    {
        next.name = name;
    }
    if let Some(code) = &input.default_currency {
        match code.as_deref().map(str::trim) {
            None | Some("") => next.default_currency = "USD".into(),
            Some(code) => {
                next.default_currency = v
                    .check("default_currency", validate::currency(code))
                    .unwrap_or_default()
            }
        }
    }
    if let Some(code) = &input.default_country {
        match code.as_deref().map(str::trim) {
            None | Some("") => next.default_country = "US".into(),
            Some(code) => {
                next.default_country = v.check("default_country", validate::country(code)).unwrap_or_default()
            }
        }
    }
    if let Some(visibility) = &input.member_visibility {
        match visibility.as_deref().map(str::trim) {
            None | Some("") | Some("all") => next.member_visibility = "all".into(),
            Some("own") => next.member_visibility = "own".into(),
            Some(_) => v.add("member_visibility", "must be `all` or `own`"),
        }
    }
    if let Some(reasons) = &input.lost_reasons
        && let Some(reasons) = v.check("lost_reasons", lost_reasons(reasons.as_deref().unwrap_or_default()))
    {
        next.lost_reasons = sqlx::types::Json(reasons);
    }
    v.finish()?;

    let changes = diff(&current, &next);
    if changes.is_empty() {
        // Nothing changes: no new version, no audit entry.
        return Ok(current);
    }
    let updated = queries::update_organization(tx.exec(), &next).await?;
    let event = Event::new("organization.updated")
        .by(ctx)
        .target("organization", ctx.org_id)
        .details(json!({ "changes": changes }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(updated)
}

/// `{field: {from, to}}` of the settings that differ.
fn diff(a: &Organization, b: &Organization) -> Map<String, Value> {
    let pairs = [
        ("name", &a.name, &b.name),
        ("default_currency", &a.default_currency, &b.default_currency),
        ("default_country", &a.default_country, &b.default_country),
        ("member_visibility", &a.member_visibility, &b.member_visibility),
    ];
    let mut changes: Map<String, Value> = pairs
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .map(|(field, from, to)| (field.to_string(), json!({ "from": from, "to": to })))
        .collect();
    if a.lost_reasons != b.lost_reasons {
        changes.insert(
            "lost_reasons".into(),
            json!({ "from": a.lost_reasons.0, "to": b.lost_reasons.0 }),
        );
    }
    changes
}

/// Creates an organization; `user` becomes its owner.
pub async fn create(
    state: &App,
    user: Uuid,
    idempotency: &Idempotency,
    input: CreateOrganization,
) -> AppResult<Created<Organization>> {
    let mut v = Validator::new();
    let name = v.check("name", validate::required_text(&input.name, 200));
    let currency = match input.default_currency.as_deref().map(str::trim) {
        None | Some("") => Some("USD".to_string()),
        Some(code) => v.check("default_currency", validate::currency(code)),
    };
    v.finish()?;
    let (Some(name), Some(currency)) = (name, currency) else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };

    let mut tx = state.db.begin().await?;
    if let Some(replay) = idempotency.replay(tx.exec()).await? {
        return Ok(Created::Replayed(replay));
    }
    let org = queries::create_organization(tx.exec(), &name, &currency, user).await?;
    audit::record(
        tx.exec(),
        org.id,
        &Event::new("organization.created")
            .actor(Actor::User(user))
            .target("organization", org.id),
    )
    .await?;
    idempotency.save_created(tx.exec(), &org).await?;
    tx.commit().await?;
    Ok(Created::New(org))
}

/// The organizations `user` belongs to, with their role in each.
pub async fn of_user(state: &App, user: Uuid) -> AppResult<Vec<OrganizationEntry>> {
    let mut conn = state.db.read().await?;
    Ok(queries::user_organizations(conn.exec(), user).await?)
}

/// The caller's organization and its settings.
pub async fn current(state: &App, ctx: &OrgCtx) -> AppResult<Organization> {
    let mut conn = state.db.read().await?;
    queries::find_organization(conn.exec(), ctx.org_id)
        .await?
        .ok_or_else(AppError::not_found)
}
