//! The lead score (leads.md "Details that clients rely on"): deterministic
//! rules, each reason listed with its points, clamped to 0..100. No hidden
//! model: the same lead, the same settings and the same day give the same
//! score.
//!
//! The score is stored (lists filter and sort by it) and computed on every
//! change of the lead and every comment on it. The organization's source
//! weights are caught up by the `lead_scores` job, queued when the weights
//! change; what changes with time alone (a comment turning older than 14
//! days, a follow-up date passing) by the hourly `lead_score_clock` job,
//! which re-scores only the leads holding such points. Re-scoring writes
//! only the score, not the lead's version.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use super::{Lead, ScoreReason};
use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult};
use crate::run;
use crate::services::jobs::Claimed;

/// The job that re-scores an organization's open leads.
pub const JOB: &str = "lead_scores";

/// The hourly system job that takes back the points time took away.
pub const CLOCK_JOB: &str = "lead_score_clock";

/// The default points of each source (leads.md).
pub const DEFAULT_WEIGHTS: [(&str, i64); 7] = [
    ("referral", 25),
    ("website", 15),
    ("facebook", 10),
    ("instagram", 10),
    ("walk_in", 20),
    ("import", 5),
    ("other", 0),
];

/// Mail domains that hand out throwaway addresses: an email there earns no
/// points. A short list of the common ones, not a service.
const DISPOSABLE: &[&str] = &[
    "mailinator.com",
    "guerrillamail.com",
    "guerrillamail.net",
    "sharklasers.com",
    "10minutemail.com",
    "tempmail.com",
    "temp-mail.org",
    "yopmail.com",
    "trashmail.com",
    "getnada.com",
    "dispostable.com",
    "maildrop.cc",
    "throwawaymail.com",
    "fakeinbox.com",
    "mintemail.com",
    "mohmal.com",
    "emailondeck.com",
    "spamgourmet.com",
];

/// How long an activity counts as recent.
const RECENT_DAYS: i64 = 14;

/// The source weights in force: the defaults, then the organization's own.
pub fn weights(own: &Value) -> Map<String, Value> {
    let mut all: Map<String, Value> = DEFAULT_WEIGHTS
        .iter()
        .map(|(source, points)| (source.to_string(), Value::from(*points)))
        .collect();
    if let Value::Object(own) = own {
        all.extend(own.clone());
    }
    all
}

/// What the rules look at besides the lead.
pub struct Facts<'a> {
    pub weights: &'a Map<String, Value>,
    pub recent_activity: bool,
    pub now: DateTime<Utc>,
}

/// The reasons and the score of `lead` (pure: the rules themselves).
pub fn rules(lead: &Lead, facts: &Facts<'_>) -> (i64, Vec<ScoreReason>) {
    let mut reasons = Vec::new();
    let mut give = |rule: &str, points: i64| {
        if points > 0 {
            reasons.push(ScoreReason {
                rule: rule.to_string(),
                points,
            });
        }
    };
    let reachable = lead
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .is_some_and(|(_, domain)| domain.contains('.') && !DISPOSABLE.contains(&domain));
    give("email", if reachable { 15 } else { 0 });
    give("phone", if lead.phone.is_some() { 15 } else { 0 });
    give("company", if lead.company_name.is_some() { 10 } else { 0 });
    let source = lead.source.as_deref().map(|s| s.trim().to_lowercase());
    let weight = source
        .and_then(|s| facts.weights.get(&s).and_then(Value::as_i64))
        .unwrap_or(0);
    give("source", weight);
    give("recent_activity", if facts.recent_activity { 10 } else { 0 });
    give(
        "follow_up",
        if lead.next_follow_up_at.is_some_and(|at| at > facts.now) {
            10
        } else {
            0
        },
    );
    give("qualified", if lead.status == "qualified" { 15 } else { 0 });
    let score = reasons.iter().map(|r| r.points).sum::<i64>().clamp(0, 100);
    (score, reasons)
}

/// Sets the score and reasons of `lead` as of now.
pub async fn apply(mut c: Exec<'_>, org: Uuid, lead: &mut Lead) -> Result<(), sqlx::Error> {
    let own = super::queries::source_weights(c.re(), org).await?;
    let now = crate::db::now();
    let recent = super::queries::active_since(c, org, lead.id, now - Duration::days(RECENT_DAYS)).await?;
    let weights = weights(&own.0);
    let (score, reasons) = rules(
        lead,
        &Facts {
            weights: &weights,
            recent_activity: recent,
            now,
        },
    );
    lead.score = score;
    lead.score_reasons = SqlJson(serde_json::to_value(reasons).unwrap_or(Value::Array(Vec::new())));
    Ok(())
}

/// Re-scores one lead where it stands (its version stays: the score is
/// derived, not a change of the lead).
pub async fn rescore(mut c: Exec<'_>, org: Uuid, id: Uuid) -> AppResult<()> {
    let Some(mut lead) = <Lead as crate::services::records::Record>::find(c.re(), org, id).await? else {
        return Err(AppError::not_found());
    };
    let before = (lead.score, lead.score_reasons.clone());
    apply(c.re(), org, &mut lead).await?;
    if (lead.score, &lead.score_reasons) != (before.0, &before.1) {
        run!(c, conn => sqlx::query("UPDATE leads SET score = $3, score_reasons = $4 WHERE organization_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .bind(lead.score)
            .bind(&lead.score_reasons)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The `lead_scores` job: every open lead of the organization re-scored,
/// 200 to a transaction (safe to run twice: re-scoring is idempotent).
pub async fn run(state: &App, job: &Claimed) -> anyhow::Result<()> {
    let org = job.organization_id;
    rescore_all(state, org, Which::Open).await
}

/// The `lead_score_clock` job: in every organization with open leads, the
/// leads whose recent-activity or follow-up points may have lapsed are
/// re-scored, 200 to a transaction (idempotent, like [`run`]).
pub async fn clock(state: &App) -> anyhow::Result<()> {
    let orgs = {
        let mut conn = state.db.read().await?;
        super::queries::orgs_with_open_leads(conn.exec()).await?
    };
    let now = crate::db::now();
    for org in orgs {
        rescore_all(state, org, Which::Lapsed(now)).await?;
    }
    Ok(())
}

/// Leads re-scored per transaction.
const BATCH: i64 = 200;

/// Which leads a re-scoring run takes.
#[derive(Clone, Copy)]
enum Which {
    /// Every open lead.
    Open,
    /// The open leads whose time-bound points may have lapsed by then.
    Lapsed(DateTime<Utc>),
}

/// Re-scores the leads of `org` that `which` names, [`BATCH`] to a
/// transaction in id order.
async fn rescore_all(state: &App, org: Uuid, which: Which) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let mut tx = state.db.begin().await?;
        let ids = match which {
            Which::Open => super::queries::open_ids(tx.exec(), org, after, BATCH).await?,
            Which::Lapsed(now) => super::queries::clock_candidates(tx.exec(), org, now, after, BATCH).await?,
        };
        for id in &ids {
            match rescore(tx.exec(), org, *id).await {
                Ok(()) => {}
                // Deleted since it was listed.
                Err(e) if e.code == "not_found" => {}
                Err(e) => anyhow::bail!("re-scoring lead {id}: {}", e.detail),
            }
        }
        tx.commit().await?;
        match ids.last() {
            Some(last) if ids.len() as i64 == BATCH => after = Some(*last),
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead() -> Lead {
        let now = crate::db::now();
        Lead {
            id: Uuid::nil(),
            owner_id: Uuid::nil(),
            name: "Ada".into(),
            email: None,
            phone: None,
            company_name: None,
            source: None,
            utm: None,
            status: "new".into(),
            score: 0,
            score_reasons: SqlJson(Value::Array(Vec::new())),
            preferences: None,
            next_follow_up_at: None,
            converted_contact_id: None,
            converted_deal_id: None,
            converted_at: None,
            tags: SqlJson(Vec::new()),
            custom: SqlJson(Default::default()),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn every_rule_gives_its_points_and_says_so() {
        let weights = weights(&serde_json::json!({"walk_in": 30}));
        let now = crate::db::now();
        let facts = Facts {
            weights: &weights,
            recent_activity: true,
            now,
        };
        let mut l = lead();
        assert_eq!(rules(&l, &facts).0, 10, "recent activity alone");
        l.email = Some("ada@example.com".into());
        l.phone = Some("+14155550100".into());
        l.company_name = Some("Acme".into());
        l.source = Some("Walk_In".into());
        l.next_follow_up_at = Some(now + Duration::days(1));
        l.status = "qualified".into();
        let (score, reasons) = rules(&l, &facts);
        let named: Vec<(&str, i64)> = reasons.iter().map(|r| (r.rule.as_str(), r.points)).collect();
        assert_eq!(
            named,
            [
                ("email", 15),
                ("phone", 15),
                ("company", 10),
                ("source", 30),
                ("recent_activity", 10),
                ("follow_up", 10),
                ("qualified", 15)
            ]
        );
        assert_eq!(score, 100, "105 points clamp to 100");
    }

    #[test]
    fn a_throwaway_email_a_past_follow_up_and_an_unknown_source_give_nothing() {
        let weights = weights(&Value::Null);
        let now = crate::db::now();
        let facts = Facts {
            weights: &weights,
            recent_activity: false,
            now,
        };
        let mut l = lead();
        l.email = Some("x@mailinator.com".into());
        l.source = Some("billboard".into());
        l.next_follow_up_at = Some(now - Duration::days(1));
        assert_eq!(rules(&l, &facts), (0, Vec::new()));
        l.source = Some("referral".into());
        assert_eq!(rules(&l, &facts).0, 25);
    }
}
