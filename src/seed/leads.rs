//! The seed's leads (each scored by the service's own rules as of the
//! anchor), with two custom fields of the large organization's leads
//! (`region`, a select, and `budget`, a number: the data set of the
//! custom-field filters' plans), and real-estate listings.

use rand::Rng;
use serde_json::{Map, Value, json};
use sqlx::types::Json as SqlJson;

use super::sink::{Table, V};
use super::words::{COMPANY_FIRST, COMPANY_SECOND, COMPANY_SUFFIX, FIRST_NAMES, LAST_NAMES, MAIL_DOMAINS};
use super::{
    Batch, DAY_US, HOUR_US, Org, RECORD_TAGS, Seeder, at, id_at, phone_number, pick, pick_tags, push_tags, spread,
};
use crate::services::leads::{Lead, score};
use crate::services::records;

pub static LEADS: Table = Table {
    name: "leads",
    bulk: true,
    columns: &[
        "organization_id",
        "id",
        "owner_id",
        "name",
        "email",
        "phone",
        "company_name",
        "source",
        "status",
        "score",
        "score_reasons",
        "preferences",
        "next_follow_up_at",
        "tags",
        "custom",
        "search_text",
        "created_at",
        "updated_at",
        "version",
    ],
};
pub static PROPERTIES: Table = Table {
    name: "properties",
    bulk: true,
    columns: &[
        "organization_id",
        "id",
        "owner_id",
        "title",
        "property_type",
        "listing_type",
        "status",
        "price_cents",
        "currency",
        "bedrooms",
        "bathrooms",
        "area_sqft",
        "address",
        "city_key",
        "tags",
        "search_text",
        "created_at",
        "updated_at",
        "version",
    ],
};
pub static CUSTOM_FIELDS: Table = Table {
    name: "custom_fields",
    bulk: false,
    columns: &[
        "organization_id",
        "id",
        "object",
        "key",
        "label",
        "type",
        "options",
        "required",
        "created_at",
        "updated_at",
    ],
};
pub static CUSTOM_VALUES: Table = Table {
    name: "custom_values",
    bulk: true,
    columns: &[
        "organization_id",
        "record_type",
        "key",
        "record_id",
        "value_text",
        "value_number",
    ],
};

const REGIONS: &[&str] = &["north", "south", "east", "west"];
pub const CITIES: &[(&str, &str, &str)] = &[
    ("Lisbon", "Lisboa", "PT"),
    ("Porto", "Porto", "PT"),
    ("Madrid", "Madrid", "ES"),
    ("Barcelona", "Catalonia", "ES"),
    ("Valencia", "Valencia", "ES"),
    ("Paris", "Île-de-France", "FR"),
    ("Lyon", "Auvergne-Rhône-Alpes", "FR"),
    ("Nice", "Provence", "FR"),
    ("Berlin", "Berlin", "DE"),
    ("Munich", "Bavaria", "DE"),
    ("Hamburg", "Hamburg", "DE"),
    ("Rome", "Lazio", "IT"),
    ("Milan", "Lombardy", "IT"),
    ("Florence", "Tuscany", "IT"),
    ("Athens", "Attica", "GR"),
    ("Vienna", "Vienna", "AT"),
    ("Zurich", "Zurich", "CH"),
    ("Amsterdam", "North Holland", "NL"),
    ("Brussels", "Brussels", "BE"),
    ("Dublin", "Leinster", "IE"),
    ("London", "England", "GB"),
    ("Manchester", "England", "GB"),
    ("Edinburgh", "Scotland", "GB"),
    ("Copenhagen", "Capital Region", "DK"),
    ("Stockholm", "Stockholm", "SE"),
    ("Oslo", "Oslo", "NO"),
    ("Helsinki", "Uusimaa", "FI"),
    ("Warsaw", "Masovia", "PL"),
    ("Prague", "Prague", "CZ"),
    ("Budapest", "Budapest", "HU"),
    ("Austin", "Texas", "US"),
    ("Denver", "Colorado", "US"),
    ("Miami", "Florida", "US"),
    ("Seattle", "Washington", "US"),
    ("Boston", "Massachusetts", "US"),
    ("Chicago", "Illinois", "US"),
    ("Toronto", "Ontario", "CA"),
    ("Vancouver", "British Columbia", "CA"),
    ("Sydney", "New South Wales", "AU"),
    ("Melbourne", "Victoria", "AU"),
];
const LOCALITIES: &[&str] = &[
    "Old Town",
    "Riverside",
    "Harbour",
    "Hillside",
    "Market",
    "Station",
    "University",
    "Park",
    "Garden",
    "Bay",
];
const PROPERTY_TYPES: &[&str] = &["apartment", "house", "villa", "plot", "commercial", "other"];

/// The large organization's two lead custom fields.
pub async fn seed_custom_fields(s: &mut Seeder, org: &Org) -> anyhow::Result<()> {
    let mut rng = s.rng(org.index, 20);
    let created = s.anchor_us - 365 * DAY_US;
    let mut out = Batch::new(&CUSTOM_FIELDS, false);
    for (key, label, kind, options) in [
        ("region", "Region", "select", json!(REGIONS)),
        ("budget", "Budget", "number", json!([])),
    ] {
        out.push(
            s,
            vec![
                V::Id(org.id),
                V::Id(id_at(&mut rng, created)),
                V::Str("leads"),
                V::Str(key),
                V::Str(label),
                V::Str(kind),
                V::Json(options.to_string()),
                V::Bool(false),
                V::Time(at(created)),
                V::Time(at(created)),
            ],
        )
        .await?;
    }
    out.flush(s).await
}

/// Leads over two years: open and closed, from every source, some with a
/// follow-up and a buyer's preferences; each scored as the service would
/// at the anchor (no activity yet). `custom` says whether the lead custom
/// fields are filled (the large organization's).
pub async fn seed_leads(s: &mut Seeder, org: &Org, custom: bool) -> anyhow::Result<()> {
    let mut rng = s.rng(org.index, 21);
    let n = org.sizes.leads;
    let (start, end) = (s.anchor_us - 2 * 365 * DAY_US, s.anchor_us - HOUR_US);
    let weights = score::weights(&Value::Null);
    let now = at(s.anchor_us);
    let mut out = Batch::new(&LEADS, true);
    let mut tags_out = Batch::new(&RECORD_TAGS, false);
    let mut values_out = Batch::new(&CUSTOM_VALUES, false);
    for i in 0..n {
        let created = spread(&mut rng, start, end, i, n);
        let id = id_at(&mut rng, created);
        let owner = pick(&mut rng, &org.users);
        let (first, last) = (pick(&mut rng, FIRST_NAMES), pick(&mut rng, LAST_NAMES));
        let name = format!("{first} {last}");
        // Unique among the open leads (their email and phone are).
        let email = rng.random_bool(0.8).then(|| {
            format!(
                "{}.{}.l{}@{}",
                first.to_lowercase(),
                last.to_lowercase(),
                i + 1,
                pick(&mut rng, MAIL_DOMAINS)
            )
        });
        let phone = rng.random_bool(0.6).then(|| phone_number(i as u64).0);
        let company_name = rng.random_bool(0.5).then(|| {
            format!(
                "{} {} {}",
                pick(&mut rng, COMPANY_FIRST),
                pick(&mut rng, COMPANY_SECOND),
                pick(&mut rng, COMPANY_SUFFIX)
            )
        });
        let source = rng
            .random_bool(0.9)
            .then(|| pick(&mut rng, &crate::services::leads::SOURCES));
        let status = match rng.random_range(0..100) {
            0..45 => "new",
            45..70 => "contacted",
            70..85 => "qualified",
            _ => "unqualified",
        };
        let follow_up = rng
            .random_bool(0.4)
            .then(|| at(s.anchor_us + rng.random_range(-30 * DAY_US..30 * DAY_US)));
        let preferences = rng.random_bool(0.3).then(|| {
            let low = rng.random_range(50_000..800_000i64);
            let (city, _, _) = pick(&mut rng, CITIES);
            json!({
                "budget_min": format!("{low}.00"),
                "budget_max": format!("{}.00", low + rng.random_range(20_000..400_000i64)),
                "currency": "USD",
                "property_type": pick(&mut rng, PROPERTY_TYPES),
                "bedrooms_min": rng.random_range(0..5i64),
                "locations": [city],
            })
        });
        let tags = pick_tags(&mut rng);
        let mut values = Map::new();
        if custom {
            if rng.random_bool(0.5) {
                values.insert("region".into(), json!(pick(&mut rng, REGIONS)));
            }
            if rng.random_bool(0.4) {
                values.insert("budget".into(), json!(rng.random_range(10..1_000i64) * 1_000));
            }
        }
        let lead = Lead {
            id,
            owner_id: owner,
            name: name.clone(),
            email: email.clone(),
            phone: phone.clone(),
            company_name: company_name.clone(),
            source: source.map(str::to_string),
            utm: None,
            status: status.to_string(),
            score: 0,
            score_reasons: SqlJson(Value::Array(Vec::new())),
            preferences: None,
            next_follow_up_at: follow_up,
            converted_contact_id: None,
            converted_deal_id: None,
            converted_at: None,
            tags: SqlJson(Vec::new()),
            custom: SqlJson(Map::new()),
            created_at: at(created),
            updated_at: at(created),
            version: 1,
        };
        let (points, reasons) = score::rules(
            &lead,
            &score::Facts {
                weights: &weights,
                recent_activity: false,
                now,
            },
        );
        let search_text =
            crate::services::contacts::search_text(&name, email.as_deref(), phone.as_deref(), company_name.as_deref());
        push_tags(s, &mut tags_out, org.id, "lead", id, owner, &tags).await?;
        for (key, value) in &values {
            let (text, number) = match value {
                Value::Number(n) => (V::Null, n.as_f64().map_or(V::Null, V::Float)),
                other => (V::Text(other.as_str().unwrap_or_default().to_string()), V::Null),
            };
            values_out
                .push(
                    s,
                    vec![
                        V::Id(org.id),
                        V::Str("leads"),
                        V::Text(key.clone()),
                        V::Id(id),
                        text,
                        number,
                    ],
                )
                .await?;
        }
        out.push(
            s,
            vec![
                V::Id(org.id),
                V::Id(id),
                V::Id(owner),
                V::Text(name),
                V::opt_text(email),
                V::opt_text(phone),
                V::opt_text(company_name),
                source.map_or(V::Null, V::Str),
                V::Str(status),
                V::Int(points),
                V::Json(serde_json::to_string(&reasons)?),
                preferences.map_or(V::Null, |p| V::Json(p.to_string())),
                V::opt_time(follow_up),
                super::json_tags(&tags),
                V::Json(Value::Object(values).to_string()),
                V::Text(search_text),
                V::Time(at(created)),
                V::Time(at(created)),
                V::Int(1),
            ],
        )
        .await?;
    }
    out.flush(s).await?;
    tags_out.flush(s).await?;
    values_out.flush(s).await
}

/// Listings over five years in the cities of [`CITIES`]: sales and
/// rentals, most available, the rest under offer, sold, rented or off the
/// market.
pub async fn seed_properties(s: &mut Seeder, org: &Org) -> anyhow::Result<()> {
    let mut rng = s.rng(org.index, 22);
    let n = org.sizes.properties;
    let (start, end) = (s.anchor_us - 5 * 365 * DAY_US, s.anchor_us - HOUR_US);
    let mut out = Batch::new(&PROPERTIES, true);
    let mut tags_out = Batch::new(&RECORD_TAGS, false);
    for i in 0..n {
        let created = spread(&mut rng, start, end, i, n);
        let id = id_at(&mut rng, created);
        let owner = pick(&mut rng, &org.users);
        let kind = pick(&mut rng, PROPERTY_TYPES);
        let rent = rng.random_bool(0.3);
        let status = match (rng.random_range(0..100), rent) {
            (0..60, _) => "available",
            (60..70, _) => "under_offer",
            (70..85, false) => "sold",
            (70..85, true) => "rented",
            _ => "off_market",
        };
        let price = if rent {
            rng.random_range(500..10_000i64) * 100
        } else {
            rng.random_range(50..2_000i64) * 1_000 * 100
        };
        let bedrooms = (kind != "plot").then(|| rng.random_range(0..7i64));
        let bathrooms = bedrooms.map(|b| 1 + b / 2);
        let area = (kind != "plot").then(|| rng.random_range(300..5_000i64));
        let (city, region, country) = pick(&mut rng, CITIES);
        let locality = pick(&mut rng, LOCALITIES);
        let title = match bedrooms {
            Some(b) if b > 0 => format!("{b}-bedroom {kind} in {locality}, {city}"),
            _ => format!("{} in {locality}, {city}", capitalized(kind)),
        };
        let address = json!({
            "line1": format!("{} {} Street", i % 300 + 1, pick(&mut rng, LAST_NAMES)),
            "locality": locality,
            "city": city,
            "region": region,
            "postal_code": format!("{:05}", i % 99_999),
            "country": country,
        });
        let tags = pick_tags(&mut rng);
        let search_text = records::search_text([Some(title.as_str()), Some(locality), Some(city)]);
        push_tags(s, &mut tags_out, org.id, "property", id, owner, &tags).await?;
        out.push(
            s,
            vec![
                V::Id(org.id),
                V::Id(id),
                V::Id(owner),
                V::Text(title),
                V::Str(kind),
                V::Str(if rent { "rent" } else { "sale" }),
                V::Str(status),
                V::Int(price),
                V::Str("USD"),
                bedrooms.map_or(V::Null, V::Int),
                bathrooms.map_or(V::Null, V::Int),
                area.map_or(V::Null, V::Int),
                V::Json(address.to_string()),
                V::Text(city.to_lowercase()),
                super::json_tags(&tags),
                V::Text(search_text),
                V::Time(at(created)),
                V::Time(at(created)),
                V::Int(1),
            ],
        )
        .await?;
    }
    out.flush(s).await?;
    tags_out.flush(s).await
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
