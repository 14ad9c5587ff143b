//! Properties `/api/v1/properties` (leads.md "Properties"): real-estate
//! listings on the shared record shape, and the listings that fit a
//! buyer's preferences ([`matching`]).

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
use crate::services::leads::{Lead, PROPERTY_TYPES};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::fields::record_fields;
use crate::services::records::query::list_query;
use crate::services::records::rows::Column;
use crate::services::records::shape::{Checked, Record, checked_by, common_columns};
use crate::services::records::{self, After, Cell, Listing, opt, parse_uuid};
use crate::services::validate;

const SORTS: &[&str] = &["created_at", "updated_at", "price"];
pub const LISTING_TYPES: [&str; 2] = ["sale", "rent"];
pub const STATUSES: [&str; 5] = ["available", "under_offer", "sold", "rented", "off_market"];

/// Where a property is. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: Option<String>,
    pub locality: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, upper-case.
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Property {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    /// `apartment`, `house`, `villa`, `plot`, `commercial` or `other`.
    pub property_type: String,
    /// `sale` or `rent`.
    pub listing_type: String,
    /// `available`, `under_offer`, `sold`, `rented` or `off_market`.
    pub status: String,
    /// Decimal string with 2 fraction digits.
    #[serde(
        rename = "price",
        serialize_with = "crate::services::deals::queries::money",
        deserialize_with = "crate::services::deals::queries::from_money"
    )]
    #[schema(value_type = String, example = "350000.00")]
    pub price_cents: i64,
    pub currency: String,
    pub bedrooms: Option<i64>,
    pub bathrooms: Option<i64>,
    pub area_sqft: Option<i64>,
    #[schema(value_type = Option<Address>)]
    pub address: Option<SqlJson<Value>>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub description: Option<String>,
    pub seller_contact_id: Option<Uuid>,
    #[schema(value_type = Vec<String>)]
    pub tags: SqlJson<Vec<String>>,
    /// Custom field values: only set keys.
    #[schema(value_type = Object)]
    pub custom: SqlJson<crate::services::custom_fields::CustomValues>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// The lower-cased city the `city` filter compares with.
    #[serde(skip)]
    pub city_key: Option<String>,
}

pub const COLUMNS: &str = "id, owner_id, title, property_type, listing_type, status, price_cents, currency, bedrooms, \
                           bathrooms, area_sqft, address, latitude, longitude, description, seller_contact_id, tags, custom, \
                           created_at, updated_at, version, city_key";

record_fields! {
    /// A property as sent on create. Empty strings are null.
    input PropertyInput;
    /// A partial change: fields left out stay; `null` clears.
    patch PropertyPatch;
    text PropertyText;
    of Property as current;
    required title: String = current.title.clone(),
    /// Default `other`.
    kept property_type: String = current.property_type.clone(),
    /// `sale` (default) or `rent`.
    kept listing_type: String = current.listing_type.clone(),
    /// Default `available`; a `rent` listing is never `sold`, a `sale` one never `rented`.
    kept status: String = current.status.clone(),
    /// Decimal string, at most 2 fraction digits (default "0.00": on request).
    optional price: String = Some(crate::format::cents(current.price_cents)),
    /// ISO 4217; default the organization's currency.
    optional currency: String = Some(current.currency.clone()),
    whole bedrooms = current.bedrooms,
    whole bathrooms = current.bathrooms,
    whole area_sqft = current.area_sqft,
    object address: Address = current.address.as_ref().and_then(|a| serde_json::from_value::<Address>(a.0.clone()).ok()),
    /// -90..90.
    decimal latitude = current.latitude,
    /// -180..180.
    decimal longitude = current.longitude,
    optional description: String = current.description.clone(),
    optional seller_contact_id: String = current.seller_contact_id.map(|id| id.to_string()),
    kept owner_id: String = current.owner_id.to_string(),
    tags tags = current.tags.0.clone(),
    /// Custom field values by key (`GET /custom-fields`): a change merges
    /// its keys into the current values, `null` clears one.
    custom custom = &current.custom.0,
}

fn one_of(v: &mut Validator, field: &str, value: Option<&str>, allowed: &[&str], default: &str) -> Option<String> {
    let value = value.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(default);
    if allowed.contains(&value) {
        Some(value.to_string())
    } else {
        v.add(field, format!("must be one of {}", allowed.join(", ")));
        None
    }
}

fn checked_address(v: &mut Validator, address: Option<Address>) -> Option<Option<Address>> {
    let Some(a) = address else { return Some(None) };
    let mut text = |field: &str, value: &Option<String>| {
        v.check(
            &format!("address.{field}"),
            validate::optional_text(value.as_deref(), 200),
        )
        .flatten()
    };
    let mut checked = Address {
        line1: text("line1", &a.line1),
        locality: text("locality", &a.locality),
        city: text("city", &a.city),
        region: text("region", &a.region),
        postal_code: text("postal_code", &a.postal_code),
        country: None,
    };
    checked.country = match opt(&a.country) {
        None => None,
        Some(code) => v.check("address.country", validate::country(code)),
    };
    Some((checked != Address::default()).then_some(checked))
}

/// Validates `input` into the property it describes (`current` for changes).
async fn check(
    mut c: Exec<'_>,
    ctx: &OrgCtx,
    input: PropertyInput,
    current: Option<&Property>,
) -> AppResult<Checked<Property>> {
    let mut v = Validator::new();
    let title = v.check("title", validate::required_text(&input.title, 200));
    let property_type = one_of(
        &mut v,
        "property_type",
        input.property_type.as_deref(),
        &PROPERTY_TYPES,
        "other",
    );
    let listing_type = one_of(
        &mut v,
        "listing_type",
        input.listing_type.as_deref(),
        &LISTING_TYPES,
        "sale",
    );
    let status = one_of(&mut v, "status", input.status.as_deref(), &STATUSES, "available");
    match (listing_type.as_deref(), status.as_deref()) {
        (Some("rent"), Some("sold")) => v.add("status", "a rent listing is rented, not sold"),
        (Some("sale"), Some("rented")) => v.add("status", "a sale listing is sold, not rented"),
        _ => {}
    }
    let price = v.check(
        "price",
        crate::services::deals::parse_amount(&input.price.clone().map(Value::String).unwrap_or(Value::Null)),
    );
    let currency = v.check("currency", opt(&input.currency).map(validate::currency).transpose());
    let mut count = |field: &str, n: Option<i64>, max: i64| match n {
        Some(n) if !(0..=max).contains(&n) => {
            v.add(field, format!("must be 0..{max}"));
            None
        }
        other => Some(other),
    };
    let bedrooms = count("bedrooms", input.bedrooms, 1000);
    let bathrooms = count("bathrooms", input.bathrooms, 1000);
    let area_sqft = count("area_sqft", input.area_sqft, 100_000_000);
    let mut coordinate = |field: &str, n: Option<f64>, max: f64| match n {
        Some(n) if !n.is_finite() || n.abs() > max => {
            v.add(field, format!("must be -{max}..{max}"));
            None
        }
        other => Some(other),
    };
    let latitude = coordinate("latitude", input.latitude, 90.0);
    let longitude = coordinate("longitude", input.longitude, 180.0);
    let address = checked_address(&mut v, input.address);
    let description = v.check(
        "description",
        validate::optional_text(input.description.as_deref(), 10_000),
    );
    let seller = v.check(
        "seller_contact_id",
        opt(&input.seller_contact_id).map(parse_uuid).transpose(),
    );
    let owner_id = v.check("owner_id", opt(&input.owner_id).map(parse_uuid).transpose());
    let tags = v.check("tags", records::normalize_tags(&input.tags.unwrap_or_default()));
    let custom = crate::services::custom_fields::check(c.re(), ctx.org_id, "properties", &mut v, input.custom).await?;
    v.finish()?;
    let (
        Some(title),
        Some(property_type),
        Some(listing_type),
        Some(status),
        Some(price),
        Some(currency),
        Some(bedrooms),
        Some(bathrooms),
        Some(area_sqft),
        Some(latitude),
        Some(longitude),
        Some(address),
        Some(description),
        Some(seller),
        Some(owner_id),
        Some(tags),
    ) = (
        title,
        property_type,
        listing_type,
        status,
        price,
        currency,
        bedrooms,
        bathrooms,
        area_sqft,
        latitude,
        longitude,
        address,
        description,
        seller,
        owner_id,
        tags,
    )
    else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };
    let owner_id = records::owner_for(c.re(), ctx, owner_id, current.map(|p| p.owner_id)).await?;
    if let Some(seller) = seller
        && <crate::services::contacts::Contact as Record>::find(c.re(), ctx.org_id, seller)
            .await?
            .is_none()
    {
        return Err(AppError::rule(
            "contact_not_found",
            "seller_contact_id is not a contact of this organization",
        ));
    }
    let currency = match currency {
        Some(code) => code,
        None => crate::services::orgs::queries::find_organization(c.re(), ctx.org_id)
            .await?
            .map(|o| o.default_currency)
            .unwrap_or_else(|| "USD".into()),
    };
    let (id, created_at, updated_at, version) = records::stamps(current);
    let property = Property {
        city_key: None,
        id,
        owner_id,
        title,
        property_type,
        listing_type,
        status,
        price_cents: price.unwrap_or(0),
        currency,
        bedrooms,
        bathrooms,
        area_sqft,
        address: address.and_then(|a| serde_json::to_value(a).ok()).map(SqlJson),
        latitude,
        longitude,
        description,
        seller_contact_id: seller,
        tags: SqlJson(tags),
        custom: SqlJson(custom),
        created_at,
        updated_at,
        version,
    };
    Ok(searched(property))
}

/// A property as written (a checked one, or one read back from an export)
/// with what is derived from it: its city key, from the address, and the
/// words `q` finds it by: its title, locality and city.
pub fn searched(mut property: Property) -> Checked<Property> {
    property.city_key = property.place("city").map(str::to_lowercase);
    let search_text = records::search_text([
        Some(property.title.as_str()),
        property.place("locality"),
        property.place("city"),
    ]);
    Checked {
        search_text,
        record: property,
    }
}

impl Property {
    /// A part of the address (`city`, `locality`…), when set.
    pub fn place(&self, part: &str) -> Option<&str> {
        self.address.as_ref().and_then(|a| a.0[part].as_str())
    }
}

list_query! {
    pub struct PropertyQuery {
        q: "Every word must be a prefix of a word of the title, locality or city.",
        sort: "`created_at` (default `-created_at`), `updated_at`, `price` (grouped by currency, then by price); `-` for descending.",
        /// Repeatable: any of.
        #[serde(default)]
        pub status: Vec<String>,
        /// Repeatable: any of.
        #[serde(default)]
        pub property_type: Vec<String>,
        pub listing_type: Option<String>,
        /// Inclusive, decimal string.
        pub price_min: Option<String>,
        /// Inclusive, decimal string.
        pub price_max: Option<String>,
        #[param(value_type = Option<u32>)]
        pub bedrooms_min: Option<String>,
        /// The city, case-insensitively.
        pub city: Option<String>,
    }
}

/// One page of the properties the caller may read.
pub async fn list(state: &App, ctx: &OrgCtx, query: &PropertyQuery) -> AppResult<Page<Property>> {
    let (limit, sort) = records::paging(&query.limit, &query.sort, SORTS, "-created_at")?;
    let mut v = Validator::new();
    let owner_id = v.parsed("owner_id", &query.owner_id, parse_uuid);
    let amount = |a: &str| crate::services::deals::parse_amount(&Value::String(a.into()));
    let price_min = v.parsed("price_min", &query.price_min, amount).flatten();
    let price_max = v.parsed("price_max", &query.price_max, amount).flatten();
    let bedrooms_min = v.parsed("bedrooms_min", &query.bedrooms_min, |s: &str| {
        s.parse::<i64>()
            .ok()
            .filter(|n| (0..=1000).contains(n))
            .ok_or_else(|| "must be a whole number 0..1000".to_string())
    });
    for status in &query.status {
        if !STATUSES.contains(&status.as_str()) {
            v.add("status", format!("must be one of {}", STATUSES.join(", ")));
        }
    }
    for kind in &query.property_type {
        if !PROPERTY_TYPES.contains(&kind.as_str()) {
            v.add("property_type", format!("must be one of {}", PROPERTY_TYPES.join(", ")));
        }
    }
    if let Some(t) = opt(&query.listing_type)
        && !LISTING_TYPES.contains(&t)
    {
        v.add("listing_type", "must be sale or rent");
    }
    v.finish()?;
    let city = opt(&query.city).map(str::to_lowercase);
    let listing = Listing::new(limit, sort, &query.q, &query.tag)?
        .custom(&query.custom)
        .filter([
            ("status IN", Cell::AnyOf(&query.status)),
            ("property_type IN", Cell::AnyOf(&query.property_type)),
            ("listing_type =", Cell::Text(opt(&query.listing_type))),
            ("owner_id =", Cell::Id(owner_id)),
            ("price_cents >=", Cell::Int(price_min)),
            ("price_cents <=", Cell::Int(price_max)),
            ("bedrooms >=", Cell::Int(bedrooms_min)),
        ]);
    let listing = match &city {
        Some(city) => listing.filter([("city_key =", Cell::Text(Some(city.as_str())))]),
        None => listing,
    };
    records::list_page(state, ctx, listing, &query.cursor).await
}

impl Record for Property {
    const KIND: &'static str = "property";
    const TABLE: &'static str = "properties";
    const COLUMNS: &'static str = COLUMNS;
    type Input = PropertyInput;
    type Patch = PropertyPatch;

    common_columns!();
    crate::services::custom_fields::custom_record!("properties");
    fn own_sort_value(&self, field: &str) -> Option<After> {
        (field == "price").then(|| After::Money(self.currency.clone(), self.price_cents, self.id))
    }
    fn audit_details(&self) -> Value {
        json!({ "title": self.title })
    }
    fn columns(&self) -> Vec<Column<'_>> {
        vec![
            ("custom", Cell::Map(&self.custom.0)),
            ("title", Cell::Text(Some(&self.title))),
            ("property_type", Cell::Text(Some(&self.property_type))),
            ("listing_type", Cell::Text(Some(&self.listing_type))),
            ("status", Cell::Text(Some(&self.status))),
            ("price_cents", Cell::Int(Some(self.price_cents))),
            ("currency", Cell::Text(Some(&self.currency))),
            ("bedrooms", Cell::Int(self.bedrooms)),
            ("bathrooms", Cell::Int(self.bathrooms)),
            ("area_sqft", Cell::Int(self.area_sqft)),
            ("address", Cell::Json(self.address.as_ref().map(|a| &a.0))),
            ("latitude", Cell::Float(self.latitude)),
            ("longitude", Cell::Float(self.longitude)),
            ("description", Cell::Text(self.description.as_deref())),
            ("seller_contact_id", Cell::Id(self.seller_contact_id)),
            ("city_key", Cell::Text(self.city_key.as_deref())),
        ]
    }
    checked_by!(check);
}

/// A property that fits a lead, with how well and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct Match {
    pub property: Property,
    /// 0..1: the share of the lead's preferences the property meets.
    pub score: f64,
    pub reasons: Vec<String>,
}

/// `{data: [Match]}`, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Matches {
    pub data: Vec<Match>,
}

/// What a buyer looks for, read from a lead's `preferences`.
#[derive(Debug, Default, Clone)]
pub struct Wants {
    budget_min: Option<i64>,
    budget_max: Option<i64>,
    currency: Option<String>,
    kind: Option<String>,
    bedrooms: Option<i64>,
    places: Vec<String>,
}

impl Wants {
    pub fn of(lead: &Lead) -> Wants {
        let p = lead.preferences.as_ref().map(|p| p.0.clone()).unwrap_or(Value::Null);
        let cents = |k: &str| {
            p[k].as_str().and_then(|s| {
                crate::services::deals::parse_amount(&Value::String(s.into()))
                    .ok()
                    .flatten()
            })
        };
        Wants {
            budget_min: cents("budget_min"),
            budget_max: cents("budget_max"),
            currency: p["currency"].as_str().map(str::to_string),
            kind: p["property_type"].as_str().map(str::to_string),
            bedrooms: p["bedrooms_min"].as_i64(),
            places: p["locations"]
                .as_array()
                .map(|l| l.iter().filter_map(Value::as_str).map(str::to_lowercase).collect())
                .unwrap_or_default(),
        }
    }

    fn has_budget(&self) -> bool {
        self.budget_min.is_some() || self.budget_max.is_some()
    }

    /// How well `property` fits (0..1) and why, or `None` when it does not:
    /// not available, another type, another currency than the budget's,
    /// more than 10 % out of budget, too few bedrooms, or in none of the
    /// places.
    pub fn fit(&self, property: &Property) -> Option<(f64, Vec<String>)> {
        if property.status != "available" {
            return None;
        }
        let place = |part: &str| property.place(part).map(str::to_lowercase);
        let here = [place("locality"), place("city"), place("region")];
        let mut reasons = Vec::new();
        let (mut met, mut asked) = (0.0_f64, 0.0_f64);
        if let Some(kind) = &self.kind {
            if *kind != property.property_type {
                return None;
            }
            asked += 1.0;
            met += 1.0;
            reasons.push(format!("a {kind}"));
        }
        if let Some(n) = self.bedrooms {
            if property.bedrooms.is_none_or(|b| b < n) {
                return None;
            }
            asked += 1.0;
            met += 1.0;
            reasons.push(format!("{} bedrooms (at least {n})", property.bedrooms.unwrap_or(n)));
        }
        if self.has_budget() {
            if self.currency.as_ref().is_some_and(|c| *c != property.currency) {
                return None;
            }
            let price = property.price_cents;
            if self.budget_max.is_some_and(|m| price > m + m / 10)
                || self.budget_min.is_some_and(|m| price < m - m / 10)
            {
                return None;
            }
            asked += 1.0;
            let inside = self.budget_min.is_none_or(|m| price >= m) && self.budget_max.is_none_or(|m| price <= m);
            let shown = format!("{} {}", crate::format::cents(price), property.currency);
            if inside {
                met += 1.0;
                reasons.push(format!("{shown} is in budget"));
            } else {
                met += 0.5;
                reasons.push(format!("{shown} is within 10 % of the budget"));
            }
        }
        if !self.places.is_empty() {
            let at = here.iter().flatten().find(|h| self.places.contains(h))?;
            asked += 1.0;
            met += 1.0;
            reasons.push(format!("in {at}"));
        }
        let score = if asked == 0.0 { 1.0 } else { met / asked };
        Some(((score * 1000.0).round() / 1000.0, reasons))
    }
}

/// The available properties that fit a lead's preferences (leads.md):
/// of its type, in budget (within 10 %), with enough bedrooms, in one of
/// its places (locality, city or region, case-insensitively); ranked by
/// how many of the preferences they meet, the ones inside the budget
/// ahead of those up to 10 % over it. At most 50.
pub async fn matching(state: &App, ctx: &OrgCtx, lead_id: Uuid) -> AppResult<Matches> {
    let lead: Lead = records::read(state, ctx, lead_id).await?;
    let wants = Wants::of(&lead);
    // Candidates narrowed by what the indexes serve; `fit` decides.
    let only_owner = ctx.sees_only_own().then_some(ctx.user_id);
    let rows: Vec<Property> = {
        let mut conn = state.db.read().await?;
        run!(conn.exec(), c => {
            let mut q = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM properties WHERE organization_id = "));
            q.push_bind(ctx.org_id).push(" AND status = 'available'");
            if let Some(kind) = &wants.kind {
                q.push(" AND property_type = ").push_bind(kind.clone());
            }
            if let Some(max) = wants.budget_max {
                q.push(" AND price_cents <= ").push_bind(max + max / 10);
            }
            if let Some(owner) = only_owner {
                q.push(" AND owner_id = ").push_bind(owner);
            }
            q.push(" ORDER BY created_at DESC, id DESC LIMIT 2000");
            q.build_query_as().fetch_all(c).await
        })?
    };
    let mut found: Vec<Match> = rows
        .into_iter()
        .filter_map(|property| {
            wants.fit(&property).map(|(score, reasons)| Match {
                property,
                score,
                reasons,
            })
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    found.truncate(50);
    Ok(Matches { data: found })
}

/// The open leads whose preferences a property fits, best first (the
/// property's page): the newest 2,000 open leads with preferences are
/// looked at, at most 20 shown.
pub async fn matching_leads(
    state: &App,
    ctx: &OrgCtx,
    property: &Property,
) -> AppResult<Vec<(Lead, f64, Vec<String>)>> {
    let only_owner = ctx.sees_only_own().then_some(ctx.user_id);
    let leads: Vec<Lead> = {
        let mut conn = state.db.read().await?;
        run!(conn.exec(), c => {
            let mut q = sqlx::QueryBuilder::new(format!(
                "SELECT {} FROM leads WHERE organization_id = ",
                crate::services::leads::queries::COLUMNS
            ));
            q.push_bind(ctx.org_id)
                .push(" AND status IN ('new', 'contacted', 'qualified') AND preferences IS NOT NULL");
            if let Some(owner) = only_owner {
                q.push(" AND owner_id = ").push_bind(owner);
            }
            q.push(" ORDER BY created_at DESC, id DESC LIMIT 2000");
            q.build_query_as().fetch_all(c).await
        })?
    };
    let mut found: Vec<(Lead, f64, Vec<String>)> = leads
        .into_iter()
        .filter_map(|lead| {
            Wants::of(&lead)
                .fit(property)
                .map(|(score, reasons)| (lead, score, reasons))
        })
        .collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    found.truncate(20);
    Ok(found)
}
