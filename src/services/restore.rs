//! Restoring an organization export (data.md "Export": `crm import-org`):
//! the lines [`export::organization`] writes, read back into another
//! database with the same ids, times and versions: the way to move from the
//! embedded SQLite file to PostgreSQL, or to another instance.
//!
//! Rows are written as they were, not re-checked against the API's rules (a
//! restore keeps a record that a later rule would refuse), but every line
//! must parse as the API's JSON of its type, and references must point at
//! records restored before them (the export writes each type after the types
//! it refers to). The whole restore is one transaction: a bad line or a clash
//! (the organization exists already, a member's email belongs to another
//! account here) leaves the target database as it was.
//!
//! What is derived is derived again: the search words, the tag index, the
//! contacts' search terms (by trigger). Not in an export, so not restored:
//! the audit log, import history and its review queue, jobs, pending
//! invitations; duplicate groups are found again when asked. Members'
//! accounts are created without a password (an export carries no hashes):
//! `crm user set-password`, or an owner's temporary password for a member,
//! lets them sign in. An account that exists here already (same id, same
//! email) is used as it is.

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};
use uuid::Uuid;

use crate::app::App;
use crate::db::{Db, Exec};
use crate::error::{AppError, AppResult};
use crate::services::activities::{self, Activity};
use crate::services::audit::{self, Event};
use crate::services::auth::queries::{self as accounts, UserRow};
use crate::services::companies::{self, Company};
use crate::services::contacts::{self, Contact};
use crate::services::custom_fields::{self, CustomValues};
use crate::services::deals::{self, Deal, Funnel};
use crate::services::export::RECORD_TYPES;
use crate::services::leads::{self, Lead};
use crate::services::orgs::queries::{self as orgs, Member};
use crate::services::orgs::{Actor, Organization, Role};
use crate::services::pipelines::{self, Pipeline};
use crate::services::properties::{self, Property};
use crate::services::records::rows;
use crate::services::records::{self, Checked, Record};
use crate::services::tasks::Task;

/// What the database keeps of a member's account beyond the member's JSON:
/// the export's `restore` of a member line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub time_zone: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Account {
    pub async fn of(state: &App, user: Uuid) -> AppResult<Account> {
        let mut conn = state.db.read().await?;
        let row = accounts::find_user(conn.exec(), user)
            .await?
            .ok_or_else(|| AppError::internal(anyhow!("member {user} has no account")))?;
        Ok(Account {
            time_zone: row.time_zone,
            created_at: row.created_at,
        })
    }
}

/// What the database keeps of an organization beyond its JSON: the
/// export's `restore` of the organization line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Settings {
    /// The lead score's own source weights (`PATCH /lead-scoring`).
    #[serde(default)]
    pub lead_source_weights: Value,
}

impl Settings {
    pub async fn of(state: &App, org: Uuid) -> AppResult<Settings> {
        let mut conn = state.db.read().await?;
        let weights = crate::services::leads::queries::source_weights(conn.exec(), org).await?;
        Ok(Settings {
            lead_source_weights: weights.0,
        })
    }
}

/// The line types, in the export's order.
const ORDER: [&str; 11] = [
    "organization",
    "member",
    "pipeline",
    "custom_field",
    RECORD_TYPES[0],
    RECORD_TYPES[1],
    RECORD_TYPES[2],
    RECORD_TYPES[3],
    RECORD_TYPES[4],
    RECORD_TYPES[5],
    "activity",
];

/// The plurals of [`ORDER`], for counts.
const PLURALS: [&str; 11] = [
    "organizations",
    "members",
    "pipelines",
    "custom_fields",
    "companies",
    "contacts",
    "properties",
    "deals",
    "tasks",
    "leads",
    "activities",
];

/// The longest line read: a record's JSON is a few kilobytes.
const MAX_LINE: u64 = 8 * 1024 * 1024;

/// Records written at a time (a few multi-row inserts).
const BATCH: usize = 1000;

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    data: Value,
    #[serde(default)]
    restore: Option<Value>,
}

/// What a restore wrote: the organization and how many of each thing in it
/// (`("contacts", 12)`).
#[derive(Debug)]
pub struct Restored {
    pub organization: Organization,
    pub counts: Vec<(&'static str, u64)>,
}

/// Restores the organization export read from `input` into `db`.
pub async fn organization(db: &Db, mut input: impl AsyncBufRead + Unpin) -> anyhow::Result<Restored> {
    let mut tx = db.begin().await?;
    let mut state = State::default();
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        let read = (&mut input).take(MAX_LINE + 1).read_until(b'\n', &mut buf).await?;
        if read == 0 {
            break;
        }
        number += 1;
        if buf.len() as u64 > MAX_LINE {
            bail!("line {number}: longer than {} MiB", MAX_LINE >> 20);
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        state
            .line(tx.exec(), &buf)
            .await
            .with_context(|| format!("line {number}"))?;
    }
    state.pending.flush(tx.exec(), state.org).await?;
    let Some(organization) = state.organization else {
        bail!("the file holds no organization (is it an organization export?)");
    };
    // Lines of each type but the organization's.
    let counts: Vec<(&'static str, u64)> = PLURALS.iter().copied().zip(state.counts).skip(1).collect();
    let details: serde_json::Map<String, Value> =
        counts.iter().map(|(k, n)| (k.to_string(), Value::from(*n))).collect();
    let event = Event::new("organization.imported")
        .actor(Actor::System)
        .details(Value::Object(details));
    audit::record(tx.exec(), organization.id, &event).await?;
    tx.commit().await?;
    Ok(Restored { organization, counts })
}

/// Where a restore is.
#[derive(Default)]
struct State {
    organization: Option<Organization>,
    /// The organization's id (nil until its line is read).
    org: Uuid,
    /// The position in [`ORDER`] of the last line's type.
    rank: usize,
    counts: [u64; ORDER.len()],
    /// Company names, for their contacts' search words.
    company_names: HashMap<Uuid, String>,
    contacts: HashSet<Uuid>,
    properties: HashSet<Uuid>,
    deals: HashSet<Uuid>,
    pending: Pending,
}

fn parse<T: serde::de::DeserializeOwned>(kind: &str, data: Value) -> anyhow::Result<T> {
    serde_json::from_value(data).with_context(|| format!("not a {kind} as the API writes it"))
}

impl State {
    async fn line(&mut self, mut c: Exec<'_>, text: &[u8]) -> anyhow::Result<()> {
        let line: Line = serde_json::from_slice(text).context("not a line of an organization export")?;
        let rank = ORDER
            .iter()
            .position(|t| *t == line.kind)
            .ok_or_else(|| anyhow!("unknown type {:?}", line.kind))?;
        if rank < self.rank {
            bail!(
                "a {} after a {} (an export lists {})",
                ORDER[rank],
                ORDER[self.rank],
                ORDER.join(", ")
            );
        }
        if rank != self.rank {
            self.pending.flush(c.re(), self.org).await?;
            self.rank = rank;
        }
        if rank == 0 {
            let settings: Settings = match line.restore {
                Some(value) => parse("organization's restore", value)?,
                None => Settings::default(),
            };
            self.begin(c.re(), parse("organization", line.data)?, settings).await?;
        } else if self.organization.is_none() {
            bail!("an export begins with its organization");
        } else {
            match ORDER[rank] {
                "member" => self.member(c.re(), parse("member", line.data)?, line.restore).await?,
                "pipeline" => pipelines::insert(c.re(), self.org, &parse::<Pipeline>("pipeline", line.data)?).await?,
                "custom_field" => {
                    custom_fields::insert(c.re(), self.org, &parse("custom_field", line.data)?).await?;
                }
                "company" => {
                    let company: Company = parse("company", line.data)?;
                    self.company_names.insert(company.id, company.name.clone());
                    let search_text = companies::search_text(&company.name, company.domain.as_deref());
                    self.pending.companies.push(Checked {
                        record: company,
                        search_text,
                    });
                }
                "contact" => {
                    let contact: Contact = parse("contact", line.data)?;
                    let company = match contact.company_id {
                        None => None,
                        Some(id) => Some(self.company_names.get(&id).ok_or_else(|| unknown("company", id))?),
                    };
                    let search_text = contacts::search_text(
                        &contact.name,
                        contact.email.as_deref(),
                        contact.phone.as_deref(),
                        company.map(String::as_str),
                    );
                    self.contacts.insert(contact.id);
                    self.pending.contacts.push(Checked {
                        record: contact,
                        search_text,
                    });
                }
                "property" => {
                    let property: Property = parse("property", line.data)?;
                    self.check_refs(property.seller_contact_id, None, None)?;
                    self.properties.insert(property.id);
                    self.pending.properties.push(properties::searched(property));
                }
                "deal" => {
                    let mut deal: Deal = parse("deal", line.data)?;
                    if let Some(id) = deal.property_id.filter(|id| !self.properties.contains(id)) {
                        return Err(unknown("property", id));
                    }
                    let funnel: Funnel = parse(
                        "deal's restore",
                        line.restore
                            .ok_or_else(|| anyhow!("a deal without its restore (funnel) fields"))?,
                    )?;
                    deal.set_funnel(funnel);
                    self.check_refs(Some(deal.contact_id), deal.company_id, None)?;
                    self.deals.insert(deal.id);
                    self.pending.deals.push(deals::searched(deal));
                }
                "task" => {
                    let task: Task = parse("task", line.data)?;
                    self.check_refs(task.contact_id, None, task.deal_id)?;
                    self.pending.tasks.push(Checked::new(task));
                }
                "lead" => {
                    let lead: Lead = parse("lead", line.data)?;
                    self.check_refs(lead.converted_contact_id, None, lead.converted_deal_id)?;
                    self.pending.leads.push(leads::searched(lead));
                }
                _ => self.pending.activities.push(parse::<Activity>("activity", line.data)?),
            }
        }
        self.counts[rank] += 1;
        if self.pending.len() >= BATCH {
            self.pending.flush(c, self.org).await?;
        }
        Ok(())
    }

    async fn begin(&mut self, mut c: Exec<'_>, organization: Organization, settings: Settings) -> anyhow::Result<()> {
        if self.organization.is_some() {
            bail!("a second organization (an export holds one)");
        }
        if orgs::find_organization(c.re(), organization.id).await?.is_some() {
            bail!(
                "organization {} ({}) exists in this database already",
                organization.id,
                organization.name
            );
        }
        orgs::insert_organization(c.re(), &organization).await?;
        if settings.lead_source_weights.is_object() {
            crate::services::leads::queries::set_source_weights(c, organization.id, &settings.lead_source_weights)
                .await?;
        }
        self.org = organization.id;
        self.organization = Some(organization);
        Ok(())
    }

    /// The member's account (created without a password unless it exists
    /// here) and membership.
    async fn member(&mut self, mut c: Exec<'_>, member: Member, restore: Option<Value>) -> anyhow::Result<()> {
        let role: Role = member
            .role
            .parse()
            .map_err(|()| anyhow!("role {:?} is not a role", member.role))?;
        match accounts::find_user(c.re(), member.user_id).await? {
            Some(user) if user.email == member.email => {}
            Some(user) => bail!(
                "account {} exists here with another email ({}, not {})",
                member.user_id,
                user.email,
                member.email
            ),
            None => {
                if accounts::find_user_by_email(c.re(), &member.email).await?.is_some() {
                    bail!(
                        "{} is the email of another account in this database (its id is not {})",
                        member.email,
                        member.user_id
                    );
                }
                let account: Account = match restore {
                    Some(value) => parse("member's restore", value)?,
                    None => Account {
                        time_zone: None,
                        created_at: member.joined_at,
                    },
                };
                let user = UserRow {
                    id: member.user_id,
                    email: member.email.clone(),
                    name: member.name.clone(),
                    // No hash parses from this: no password signs in until one is set.
                    password_hash: String::new(),
                    created_at: account.created_at,
                    time_zone: account.time_zone,
                };
                accounts::insert_user_row(c.re(), &user).await?;
            }
        }
        orgs::add_member_since(c, self.org, member.user_id, role, member.joined_at).await?;
        Ok(())
    }

    /// A deal's or task's contact, company and deal were restored before it.
    fn check_refs(&self, contact: Option<Uuid>, company: Option<Uuid>, deal: Option<Uuid>) -> anyhow::Result<()> {
        if let Some(id) = deal.filter(|id| !self.deals.contains(id)) {
            return Err(unknown("deal", id));
        }
        if let Some(id) = contact.filter(|id| !self.contacts.contains(id)) {
            return Err(unknown("contact", id));
        }
        if let Some(id) = company.filter(|id| !self.company_names.contains_key(id)) {
            return Err(unknown("company", id));
        }
        Ok(())
    }
}

fn unknown(kind: &str, id: Uuid) -> anyhow::Error {
    anyhow!("refers to {kind} {id}, which no earlier line holds")
}

/// Records read but not written yet (one type at a time).
#[derive(Default)]
struct Pending {
    companies: Vec<Checked<Company>>,
    contacts: Vec<Checked<Contact>>,
    properties: Vec<Checked<Property>>,
    deals: Vec<Checked<Deal>>,
    tasks: Vec<Checked<Task>>,
    leads: Vec<Checked<Lead>>,
    activities: Vec<Activity>,
}

impl Pending {
    fn len(&self) -> usize {
        self.companies.len()
            + self.contacts.len()
            + self.properties.len()
            + self.deals.len()
            + self.tasks.len()
            + self.leads.len()
            + self.activities.len()
    }

    async fn flush(&mut self, mut c: Exec<'_>, org: Uuid) -> Result<(), sqlx::Error> {
        write(c.re(), org, &mut self.companies).await?;
        write(c.re(), org, &mut self.contacts).await?;
        write(c.re(), org, &mut self.properties).await?;
        write(c.re(), org, &mut self.deals).await?;
        write(c.re(), org, &mut self.tasks).await?;
        write(c.re(), org, &mut self.leads).await?;
        if !self.activities.is_empty() {
            activities::insert_many(c, org, &self.activities).await?;
            self.activities.clear();
        }
        Ok(())
    }
}

/// Inserts records as they are, with their tags' index rows.
async fn write<R: Record>(mut c: Exec<'_>, org: Uuid, batch: &mut Vec<Checked<R>>) -> Result<(), sqlx::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    rows::insert_many(c.re(), org, batch).await?;
    let tags: Vec<(Uuid, Uuid, &[String])> = batch
        .iter()
        .map(|r| (r.record.id(), r.record.owner_id(), r.record.tags()))
        .collect();
    records::index_new_tags(c.re(), org, R::KIND, &tags).await?;
    if let Some(object) = R::CUSTOM {
        let values: Vec<(Uuid, &CustomValues)> = batch
            .iter()
            .filter_map(|r| r.record.custom().map(|v| (r.record.id(), v)))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        custom_fields::values::index(c, org, object, &values, true).await?;
    }
    batch.clear();
    Ok(())
}
