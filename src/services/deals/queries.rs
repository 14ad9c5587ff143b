//! SQL of deals, written once for both backends.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serializer};
use sqlx::types::Json;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Deal {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub contact_id: Uuid,
    pub company_id: Option<Uuid>,
    /// The property the deal is about (a sale or a rental).
    #[serde(default)]
    pub property_id: Option<Uuid>,
    pub pipeline_id: Uuid,
    /// A stage key of the pipeline.
    pub stage: String,
    /// `new`, `in_progress`, `won` or `lost`.
    pub status: String,
    /// Decimal string with 2 fraction digits.
    #[serde(rename = "amount", serialize_with = "money", deserialize_with = "from_money")]
    #[schema(value_type = String, example = "1500.00")]
    pub amount_cents: i64,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    pub lost_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When the deal entered its current stage (read-only).
    pub stage_changed_at: DateTime<Utc>,
    #[schema(value_type = Vec<String>)]
    pub tags: Json<Vec<String>>,
    /// Custom field values: only set keys.
    #[schema(value_type = Object)]
    pub custom: Json<crate::services::custom_fields::CustomValues>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// Position of the furthest open stage ever reached (the funnel's
    /// "entered"; a won deal counts as reaching `closed`).
    #[serde(skip)]
    pub furthest_position: i64,
    /// The stage a won or lost deal was closed from (where a reopen takes it
    /// back; where the funnel counts a lost deal as lost).
    #[serde(skip)]
    pub closed_from: Option<String>,
}

/// Cents as the API writes money: a decimal string (deals' amounts,
/// properties' prices).
pub fn money<S: Serializer>(cents: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::format::cents(*cents))
}

/// Money as the API writes it, back in cents (an organization export being
/// restored).
pub fn from_money<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(d)?;
    super::parse_amount(&value)
        .map_err(D::Error::custom)?
        .ok_or_else(|| D::Error::custom("amount is missing"))
}

/// What the database keeps of a deal beside the API's fields: the funnel's
/// (an organization export carries them, so a restore counts the funnel as
/// the source did).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Funnel {
    pub furthest_position: i64,
    pub closed_from: Option<String>,
}

impl Deal {
    pub fn funnel(&self) -> Funnel {
        Funnel {
            furthest_position: self.furthest_position,
            closed_from: self.closed_from.clone(),
        }
    }

    pub fn set_funnel(&mut self, funnel: Funnel) {
        self.furthest_position = funnel.furthest_position;
        self.closed_from = funnel.closed_from;
    }
}

pub const COLUMNS: &str = "id, owner_id, title, contact_id, company_id, property_id, pipeline_id, stage, status, amount_cents, currency, \
                       expected_close_date, lost_reason, closed_at, stage_changed_at, tags, custom, created_at, updated_at, version, furthest_position, closed_from";
