//! `crm seed`: the deterministic benchmark data set of `bench.md`.
//!
//! One large organization (50 users, 1M contacts, 100k companies, 300k deals over
//! two pipelines, 500k tasks, 1.5M activities) and 99 small ones, written in one
//! transaction: COPY on PostgreSQL, batched multi-row prepared INSERTs on SQLite.
//!
//! Determinism: every (organization, table) pair draws from its own ChaCha8
//! stream derived from `--random-seed`, and every timestamp is placed relative to
//! the fixed `--anchor`, so the same flags give the same rows, ids included
//! (ids are UUIDv7 built from the row's creation time and the stream's bytes).
//! The rows look like what the API writes: the same `search_text` words, the
//! same tag index rows, and deal activities that retrace each deal's history.

mod leads;
mod sink;
mod words;

use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::run;
use crate::services::pipelines::{self, Stage};
use crate::services::records;
use sink::{Table, V};
use words::*;

/// The password of every seeded user (documented in README and docs/performance.md).
pub const PASSWORD: &str = "bench-password-1";
/// The large organization the benchmark runs against.
pub const LARGE_ORG_NAME: &str = "Acme Bench";

/// Sign-in email of user `k` (1-based) of the large organization; user 1 owns it.
pub fn large_org_user_email(k: u64) -> String {
    format!("user{k:02}@acme.example")
}

#[derive(clap::Args, Debug, Clone)]
pub struct SeedArgs {
    /// Contacts of the large organization.
    #[arg(long, default_value_t = 1_000_000)]
    pub contacts: u64,
    /// Companies of the large organization.
    #[arg(long, default_value_t = 100_000)]
    pub companies: u64,
    /// Deals of the large organization (over two pipelines).
    #[arg(long, default_value_t = 300_000)]
    pub deals: u64,
    /// Tasks of the large organization (a tenth overdue at the anchor).
    #[arg(long, default_value_t = 500_000)]
    pub tasks: u64,
    /// Activities of the large organization: each deal's history, then comments up to this count.
    #[arg(long, default_value_t = 1_500_000)]
    pub activities: u64,
    /// Leads of the large organization (scored; two lead custom fields filled on about half).
    #[arg(long, default_value_t = 200_000)]
    pub leads: u64,
    /// Real-estate listings of the large organization.
    #[arg(long, default_value_t = 20_000)]
    pub properties: u64,
    /// Users (members) of the large organization.
    #[arg(long, default_value_t = 50)]
    pub users: u64,
    /// Small organizations beside the large one.
    #[arg(long, default_value_t = 99)]
    pub orgs: u64,
    /// Contacts of each small organization.
    #[arg(long, default_value_t = 1_000)]
    pub org_contacts: u64,
    /// Deals of each small organization.
    #[arg(long, default_value_t = 300)]
    pub org_deals: u64,
    /// A tenth of every record count (users and organizations stay).
    #[arg(long)]
    pub quick: bool,
    /// Seed of the random streams: the same seed gives the same rows.
    #[arg(long, default_value_t = 42)]
    pub random_seed: u64,
    /// The data set's "now": records are created before it, due dates fall around it.
    #[arg(long, default_value = "2026-12-01T00:00:00Z")]
    pub anchor: DateTime<Utc>,
}

/// Record counts of one organization.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    contacts: usize,
    companies: usize,
    deals: usize,
    tasks: usize,
    activities: usize,
    leads: usize,
    properties: usize,
}

impl Sizes {
    fn total(&self) -> u64 {
        (self.contacts + self.companies + self.deals + self.tasks + self.activities + self.leads + self.properties)
            as u64
    }
}

struct Org {
    index: u64,
    id: Uuid,
    /// Members, the owner first.
    users: Vec<Uuid>,
    /// Pipelines: id and stage keys (the last is `closed`).
    pipelines: Vec<(Uuid, Vec<String>)>,
    sizes: Sizes,
}

struct CompanyRef {
    id: Uuid,
    name: String,
    domain: String,
}

struct ContactRef {
    id: Uuid,
    company: Option<u32>,
    created_us: i64,
    first: u16,
    last: u16,
}

struct DealRef {
    id: Uuid,
    contact: u32,
    created_us: i64,
}

// Columns as both schemas name them; PostgreSQL's generated `search_vector` and
// SQLite's FTS tables (kept by triggers) fill themselves.
static USERS: Table = Table {
    name: "users",
    bulk: false,
    columns: &["id", "email", "name", "password_hash", "created_at", "updated_at"],
};
static ORGANIZATIONS: Table = Table {
    name: "organizations",
    bulk: false,
    columns: &[
        "id",
        "name",
        "default_currency",
        "default_country",
        "member_visibility",
        "created_at",
        "updated_at",
        "version",
    ],
};
static MEMBERSHIPS: Table = Table {
    name: "memberships",
    bulk: false,
    columns: &["organization_id", "user_id", "role", "joined_at"],
};
static PIPELINES: Table = Table {
    name: "pipelines",
    bulk: false,
    columns: &[
        "organization_id",
        "id",
        "name",
        "is_default",
        "stages",
        "created_at",
        "updated_at",
        "version",
    ],
};
static COMPANIES: Table = Table {
    name: "companies",
    bulk: true,
    columns: &[
        "organization_id",
        "id",
        "owner_id",
        "name",
        "domain",
        "industry",
        "employee_count",
        "tags",
        "search_text",
        "created_at",
        "updated_at",
        "version",
    ],
};
static CONTACTS: Table = Table {
    name: "contacts",
    bulk: true,
    columns: &[
        "organization_id",
        "id",
        "owner_id",
        "name",
        "email",
        "phone",
        "title",
        "company_id",
        "lead_source",
        "customer_since",
        "tags",
        "search_text",
        "created_at",
        "updated_at",
        "version",
    ],
};
static DEALS: Table = Table {
    name: "deals",
    bulk: true,
    columns: &[
        "organization_id",
        "id",
        "owner_id",
        "title",
        "contact_id",
        "company_id",
        "pipeline_id",
        "stage",
        "furthest_position",
        "status",
        "amount_cents",
        "currency",
        "expected_close_date",
        "lost_reason",
        "closed_at",
        "closed_from",
        "stage_changed_at",
        "tags",
        "search_text",
        "created_at",
        "updated_at",
        "version",
    ],
};
static ACTIVITIES: Table = Table {
    name: "activities",
    bulk: true,
    columns: &[
        "organization_id",
        "id",
        "type",
        "deal_id",
        "contact_id",
        "author_id",
        "payload",
        "created_at",
    ],
};
static TASKS: Table = Table {
    name: "tasks",
    bulk: true,
    columns: &[
        "organization_id",
        "id",
        "owner_id",
        "assignee_id",
        "title",
        "description",
        "deal_id",
        "contact_id",
        "due_date",
        "is_done",
        "completed_at",
        "tags",
        "created_at",
        "updated_at",
        "version",
    ],
};
static RECORD_TAGS: Table = Table {
    name: "record_tags",
    bulk: true,
    columns: &["organization_id", "record_type", "tag", "record_id", "owner_id"],
};

/// Rows buffered per table before one COPY / INSERT batch.
const CHUNK: usize = 10_000;

/// Rows of one table on their way to the database.
struct Batch {
    table: &'static Table,
    rows: Vec<Vec<V>>,
    /// Counts toward the progress bar (the tag index does not).
    counted: bool,
}

impl Batch {
    fn new(table: &'static Table, counted: bool) -> Batch {
        Batch {
            table,
            rows: Vec::with_capacity(CHUNK),
            counted,
        }
    }

    async fn push(&mut self, s: &mut Seeder, row: Vec<V>) -> anyhow::Result<()> {
        self.rows.push(row);
        if self.rows.len() >= CHUNK {
            self.flush(s).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, s: &mut Seeder) -> anyhow::Result<()> {
        sink::write(&mut s.tx, self.table, &self.rows)
            .await
            .with_context(|| format!("writing {} failed", self.table.name))?;
        let n = self.rows.len() as u64;
        if self.counted {
            s.bar.inc(n);
        }
        s.count(self.table.name, n);
        self.rows.clear();
        Ok(())
    }
}

struct Seeder {
    tx: Tx,
    bar: ProgressBar,
    seed: u64,
    anchor_us: i64,
    written: Vec<(&'static str, u64)>,
}

impl Seeder {
    fn count(&mut self, table: &'static str, n: u64) {
        match self.written.iter_mut().find(|(t, _)| *t == table) {
            Some((_, total)) => *total += n,
            None => self.written.push((table, n)),
        }
    }

    /// The random stream of one (organization, purpose) pair.
    fn rng(&self, org: u64, stream: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (org << 16) ^ stream)
    }
}

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

fn at(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn date_of(us: i64) -> NaiveDate {
    at(us).date_naive()
}

/// A UUIDv7 for a row created at `us`, its random bits from the stream.
fn id_at(rng: &mut ChaCha8Rng, us: i64) -> Uuid {
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis((us / 1000) as u64, &bytes).into_uuid()
}

/// The `i`-th of `n` instants spread evenly over `[start, end)`, jittered within its slot.
fn spread(rng: &mut ChaCha8Rng, start: i64, end: i64, i: usize, n: usize) -> i64 {
    let step = ((end - start) / n.max(1) as i64).max(1);
    start + i as i64 * step + rng.random_range(0..step)
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, list: &[T]) -> T {
    list[rng.random_range(0..list.len())]
}

/// 0 to 3 distinct tags, most records having none or one.
fn pick_tags(rng: &mut ChaCha8Rng) -> Vec<&'static str> {
    let n = match rng.random_range(0..100) {
        0..50 => 0,
        50..80 => 1,
        80..95 => 2,
        _ => 3,
    };
    let mut tags: Vec<&'static str> = Vec::with_capacity(n);
    while tags.len() < n {
        let tag = pick(rng, TAGS);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

fn json_tags(tags: &[&str]) -> V {
    V::Json(serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()))
}

async fn push_tags(
    s: &mut Seeder,
    out: &mut Batch,
    org: Uuid,
    record_type: &'static str,
    record: Uuid,
    owner: Uuid,
    tags: &[&'static str],
) -> anyhow::Result<()> {
    for tag in tags {
        out.push(
            s,
            vec![
                V::Id(org),
                V::Str(record_type),
                V::Str(tag),
                V::Id(record),
                V::Id(owner),
            ],
        )
        .await?;
    }
    Ok(())
}

/// `updated_at` of a record created at `created`: most were never edited.
fn updated_after(rng: &mut ChaCha8Rng, created: i64, anchor: i64) -> (i64, i64) {
    if rng.random_bool(0.3) && anchor > created + 1 {
        (rng.random_range(created..anchor), 2)
    } else {
        (created, 1)
    }
}

/// A unique, valid US phone number for the `i`-th contact of an organization:
/// `x = (i·7919 + 12345) mod 8,000,000` is a bijection on `0..8,000,000` (7919 is
/// prime to 8,000,000), split into an exchange (200..999) and a line number.
/// Returns the E.164 form and the national digits.
pub fn phone_number(i: u64) -> (String, String) {
    let x = (i.wrapping_mul(7919).wrapping_add(12345)) % 8_000_000;
    let area = AREA_CODES[(i % AREA_CODES.len() as u64) as usize];
    let national = format!("{area}{:03}{:04}", 200 + x / 10_000, x % 10_000);
    (format!("+1{national}"), national)
}

/// Runs `crm seed` on `db` (migrated). Refuses a database that already holds the data set.
pub async fn run(db: &Db, args: &SeedArgs) -> anyhow::Result<()> {
    let scale = if args.quick { 10 } else { 1 };
    let size = |n: u64| (n / scale) as usize;
    let large = Sizes {
        contacts: size(args.contacts),
        companies: size(args.companies),
        deals: size(args.deals),
        tasks: size(args.tasks),
        activities: size(args.activities),
        leads: size(args.leads),
        properties: size(args.properties),
    };
    let small = Sizes {
        contacts: size(args.org_contacts),
        companies: size(args.org_contacts) / 10,
        deals: size(args.org_deals),
        tasks: size(args.org_deals),
        activities: size(args.org_deals) * 4,
        leads: size(args.org_contacts) / 10,
        properties: size(args.org_contacts) / 50,
    };
    anyhow::ensure!(args.users >= 1, "--users must be at least 1");
    anyhow::ensure!(
        large.contacts < 8_000_000 && small.contacts < 8_000_000,
        "at most 8,000,000 contacts per organization (the phone number space)"
    );

    let first_email = large_org_user_email(1);
    let mut conn = db.read().await?;
    let seeded: Option<(i64,)> = run!(conn.exec(), c => sqlx::query_as("SELECT CAST(1 AS BIGINT) FROM users WHERE email = $1")
        .bind(&first_email)
        .fetch_optional(c)
        .await)?;
    drop(conn);
    anyhow::ensure!(
        seeded.is_none(),
        "this database already holds the seed data set ({first_email} exists); seed a fresh database"
    );

    let hash = crate::services::auth::password::hash_blocking(PASSWORD)?;
    let started = Instant::now();
    let planned = large.total() + small.total() * args.orgs;
    let bar = ProgressBar::new(planned);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:30}] {human_pos}/{human_len} rows, {per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(250));

    if let Db::Sqlite { write, .. } = db {
        // A large page cache keeps the many index b-trees of a bulk load in memory.
        let mut c = write.connection().await?;
        sqlx::query("PRAGMA cache_size = -1000000").execute(&mut *c).await?;
    }
    let mut s = Seeder {
        tx: db.begin().await?,
        bar,
        seed: args.random_seed,
        anchor_us: args.anchor.timestamp_micros(),
        written: Vec::new(),
    };

    let orgs = seed_accounts(&mut s, args, &hash, large, small).await?;
    let indexes = sink::prepare_bulk_load(
        &mut s.tx,
        &[
            &COMPANIES,
            &CONTACTS,
            &DEALS,
            &ACTIVITIES,
            &TASKS,
            &RECORD_TAGS,
            &leads::LEADS,
            &leads::PROPERTIES,
            &leads::CUSTOM_VALUES,
        ],
    )
    .await?;
    let terms_key = sink::suspend_contact_terms(&mut s.tx).await?;
    for org in &orgs {
        seed_org(&mut s, org).await?;
    }
    let loaded = started.elapsed().as_secs_f64();
    s.bar.set_message("committing");
    let Seeder { tx, bar, written, .. } = s;
    tx.commit().await?;
    if let Db::Postgres(pool) = db {
        bar.set_message(format!(
            "building {} indexes and the contact search terms",
            indexes.len()
        ));
        sink::build_indexes(pool, indexes, terms_key).await?;
    }
    let indexed = started.elapsed().as_secs_f64() - loaded;
    // Fresh statistics, so the planner knows the large organization at once.
    // On PostgreSQL, VACUUM also sets the visibility map of the one table not
    // loaded frozen (contact_terms), so searches scan its key without visiting
    // the table; the frozen tables are skipped.
    bar.set_message("analyzing");
    match db {
        Db::Postgres(pool) => sqlx::query("VACUUM (ANALYZE)").execute(pool).await.map(|_| ())?,
        Db::Sqlite { write, .. } => sqlx::query("ANALYZE")
            .execute(&mut *write.connection().await?)
            .await
            .map(|_| ())?,
    }
    bar.finish_and_clear();

    let elapsed = started.elapsed().as_secs_f64();
    let total: u64 = written.iter().map(|(_, n)| n).sum();
    for (table, n) in &written {
        println!("{table:>14}: {n:>10} rows");
    }
    println!(
        "seeded {total} rows in {elapsed:.1} s ({:.0} rows/s): loading {loaded:.1} s, building indexes {indexed:.1} s",
        total as f64 / elapsed.max(0.001)
    );
    println!(
        "sign in as {} … {} (owner first) with the password {PASSWORD}",
        large_org_user_email(1),
        large_org_user_email(args.users)
    );
    Ok(())
}

/// Users, organizations, memberships and pipelines.
async fn seed_accounts(
    s: &mut Seeder,
    args: &SeedArgs,
    hash: &str,
    large: Sizes,
    small: Sizes,
) -> anyhow::Result<Vec<Org>> {
    let mut rng = s.rng(u64::MAX, 0);
    let created = s.anchor_us - 3 * 365 * DAY_US;
    let mut users = Batch::new(&USERS, false);
    let mut organizations = Batch::new(&ORGANIZATIONS, false);
    let mut memberships = Batch::new(&MEMBERSHIPS, false);
    let mut pipeline_rows = Batch::new(&PIPELINES, false);
    let mut orgs = Vec::new();

    for index in 0..=args.orgs {
        let org_id = id_at(&mut rng, created);
        let (name, sizes, members): (String, Sizes, Vec<(String, &str)>) = if index == 0 {
            let members = (1..=args.users)
                .map(|k| {
                    let role = match k {
                        1 => "owner",
                        2..=3 => "admin",
                        4..=8 => "manager",
                        _ => "member",
                    };
                    (large_org_user_email(k), role)
                })
                .collect();
            (LARGE_ORG_NAME.to_string(), large, members)
        } else {
            let members = vec![
                (format!("owner@org{index:03}.example"), "owner"),
                (format!("member@org{index:03}.example"), "member"),
            ];
            (format!("Bench Org {index:03}"), small, members)
        };
        organizations
            .push(
                s,
                vec![
                    V::Id(org_id),
                    V::Text(name),
                    V::Str("USD"),
                    V::Str("US"),
                    V::Str("all"),
                    V::Time(at(created)),
                    V::Time(at(created)),
                    V::Int(1),
                ],
            )
            .await?;
        let mut member_ids = Vec::new();
        for (email, role) in members {
            let user_id = id_at(&mut rng, created);
            let name = format!("{} {}", pick(&mut rng, FIRST_NAMES), pick(&mut rng, LAST_NAMES));
            users
                .push(
                    s,
                    vec![
                        V::Id(user_id),
                        V::Text(email),
                        V::Text(name),
                        V::Text(hash.to_string()),
                        V::Time(at(created)),
                        V::Time(at(created)),
                    ],
                )
                .await?;
            memberships
                .push(
                    s,
                    vec![V::Id(org_id), V::Id(user_id), V::Str(role), V::Time(at(created))],
                )
                .await?;
            member_ids.push(user_id);
        }
        let mut pipelines = vec![("Sales", pipelines::default_stages())];
        if index == 0 {
            pipelines.push(("Enterprise", enterprise_stages()));
        }
        let mut defs = Vec::new();
        for (i, (name, stages)) in pipelines.into_iter().enumerate() {
            let id = id_at(&mut rng, created);
            pipeline_rows
                .push(
                    s,
                    vec![
                        V::Id(org_id),
                        V::Id(id),
                        V::Str(name),
                        V::Bool(i == 0),
                        V::Json(serde_json::to_string(&stages)?),
                        V::Time(at(created)),
                        V::Time(at(created)),
                        V::Int(1),
                    ],
                )
                .await?;
            defs.push((id, stages.into_iter().map(|st| st.key).collect()));
        }
        orgs.push(Org {
            index,
            id: org_id,
            users: member_ids,
            pipelines: defs,
            sizes,
        });
    }
    // Parents before children: users and organizations, then what refers to them.
    users.flush(s).await?;
    organizations.flush(s).await?;
    memberships.flush(s).await?;
    pipeline_rows.flush(s).await?;
    Ok(orgs)
}

/// The large organization's second pipeline; it shares `proposal` with the
/// default one, so `stage=proposal` spans both.
fn enterprise_stages() -> Vec<Stage> {
    pipelines::stages(&[
        ("discovery", "Discovery", 5),
        ("demo", "Demo", 20),
        ("proposal", "Proposal", 40),
        ("contract", "Contract", 75),
        (pipelines::CLOSED, "Closed", 100),
    ])
}

async fn seed_org(s: &mut Seeder, org: &Org) -> anyhow::Result<()> {
    let label = if org.index == 0 {
        LARGE_ORG_NAME.to_string()
    } else {
        format!("org {}", org.index)
    };
    s.bar.set_message(format!("{label}: companies"));
    let companies = seed_companies(s, org).await?;
    s.bar.set_message(format!("{label}: contacts"));
    let contacts = seed_contacts(s, org, &companies).await?;
    s.bar.set_message(format!("{label}: deals"));
    let (deals, history) = seed_deals(s, org, &companies, &contacts).await?;
    s.bar.set_message(format!("{label}: comments"));
    seed_comments(s, org, org.sizes.activities.saturating_sub(history), &deals, &contacts).await?;
    s.bar.set_message(format!("{label}: tasks"));
    seed_tasks(s, org, &companies, &contacts, &deals).await?;
    s.bar.set_message(format!("{label}: leads"));
    if org.index == 0 {
        leads::seed_custom_fields(s, org).await?;
    }
    leads::seed_leads(s, org, org.index == 0).await?;
    s.bar.set_message(format!("{label}: properties"));
    leads::seed_properties(s, org).await
}

async fn seed_companies(s: &mut Seeder, org: &Org) -> anyhow::Result<Vec<CompanyRef>> {
    let mut rng = s.rng(org.index, 1);
    let n = org.sizes.companies;
    let (start, end) = (s.anchor_us - 3 * 365 * DAY_US, s.anchor_us - HOUR_US);
    let mut out = Batch::new(&COMPANIES, true);
    let mut tags_out = Batch::new(&RECORD_TAGS, false);
    let mut refs = Vec::with_capacity(n);
    for i in 0..n {
        let created = spread(&mut rng, start, end, i, n);
        let id = id_at(&mut rng, created);
        let owner = pick(&mut rng, &org.users);
        let (first, second) = (pick(&mut rng, COMPANY_FIRST), pick(&mut rng, COMPANY_SECOND));
        let name = format!("{first} {second} {}", pick(&mut rng, COMPANY_SUFFIX));
        let domain = format!("{}-{}-{}.com", first.to_lowercase(), second.to_lowercase(), i + 1);
        let industry = rng.random_bool(0.85).then(|| pick(&mut rng, INDUSTRIES));
        let employees = rng.random_bool(0.8).then(|| rng.random_range(1..20_000i64));
        let tags = pick_tags(&mut rng);
        let search_text = records::search_text([Some(name.as_str()), Some(domain.as_str())]);
        let (updated, version) = updated_after(&mut rng, created, s.anchor_us);
        push_tags(s, &mut tags_out, org.id, "company", id, owner, &tags).await?;
        out.push(
            s,
            vec![
                V::Id(org.id),
                V::Id(id),
                V::Id(owner),
                V::Text(name.clone()),
                V::Text(domain.clone()),
                industry.map_or(V::Null, V::Str),
                employees.map_or(V::Null, V::Int),
                json_tags(&tags),
                V::Text(search_text),
                V::Time(at(created)),
                V::Time(at(updated)),
                V::Int(version),
            ],
        )
        .await?;
        refs.push(CompanyRef { id, name, domain });
    }
    out.flush(s).await?;
    tags_out.flush(s).await?;
    Ok(refs)
}

async fn seed_contacts(s: &mut Seeder, org: &Org, companies: &[CompanyRef]) -> anyhow::Result<Vec<ContactRef>> {
    let mut rng = s.rng(org.index, 2);
    let n = org.sizes.contacts;
    let (start, end) = (s.anchor_us - 3 * 365 * DAY_US, s.anchor_us - HOUR_US);
    let mut out = Batch::new(&CONTACTS, true);
    let mut tags_out = Batch::new(&RECORD_TAGS, false);
    let mut refs = Vec::with_capacity(n);
    for i in 0..n {
        let created = spread(&mut rng, start, end, i, n);
        let id = id_at(&mut rng, created);
        let owner = pick(&mut rng, &org.users);
        let (fi, li) = (
            rng.random_range(0..FIRST_NAMES.len()),
            rng.random_range(0..LAST_NAMES.len()),
        );
        let (first, last) = (FIRST_NAMES[fi], LAST_NAMES[li]);
        let name = format!("{first} {last}");
        let company = (!companies.is_empty() && rng.random_bool(0.7)).then(|| rng.random_range(0..companies.len()));
        let email = rng.random_bool(0.95).then(|| {
            let domain = match company {
                Some(c) if rng.random_bool(0.6) => companies[c].domain.as_str(),
                _ => pick(&mut rng, MAIL_DOMAINS),
            };
            format!("{}.{}{}@{domain}", first.to_lowercase(), last.to_lowercase(), i + 1)
        });
        let phone = rng.random_bool(0.85).then(|| phone_number(i as u64));
        let title = rng.random_bool(0.6).then(|| pick(&mut rng, TITLES));
        let lead_source = rng.random_bool(0.7).then(|| pick(&mut rng, LEAD_SOURCES));
        let customer_since = rng
            .random_bool(0.15)
            .then(|| date_of(rng.random_range(created..s.anchor_us.max(created + 1))));
        let tags = pick_tags(&mut rng);
        let company_name = company.map(|c| companies[c].name.as_str());
        let search_text = records::search_text([
            Some(name.as_str()),
            email.as_deref(),
            phone.as_ref().map(|p| p.0.as_str()),
            phone.as_ref().map(|p| p.1.as_str()),
            company_name,
        ]);
        let (updated, version) = updated_after(&mut rng, created, s.anchor_us);
        push_tags(s, &mut tags_out, org.id, "contact", id, owner, &tags).await?;
        out.push(
            s,
            vec![
                V::Id(org.id),
                V::Id(id),
                V::Id(owner),
                V::Text(name),
                V::opt_text(email),
                V::opt_text(phone.map(|p| p.0)),
                title.map_or(V::Null, V::Str),
                V::opt_id(company.map(|c| companies[c].id)),
                lead_source.map_or(V::Null, V::Str),
                customer_since.map_or(V::Null, V::Date),
                json_tags(&tags),
                V::Text(search_text),
                V::Time(at(created)),
                V::Time(at(updated)),
                V::Int(version),
            ],
        )
        .await?;
        refs.push(ContactRef {
            id,
            company: company.map(|c| c as u32),
            created_us: created,
            first: fi as u16,
            last: li as u16,
        });
    }
    out.flush(s).await?;
    tags_out.flush(s).await?;
    Ok(refs)
}

/// Deals over all statuses and stages, each with the activities of its history.
/// Returns the deals and how many activities their histories took.
async fn seed_deals(
    s: &mut Seeder,
    org: &Org,
    companies: &[CompanyRef],
    contacts: &[ContactRef],
) -> anyhow::Result<(Vec<DealRef>, usize)> {
    let mut rng = s.rng(org.index, 3);
    let n = if contacts.is_empty() { 0 } else { org.sizes.deals };
    let (start, end) = (s.anchor_us - 2 * 365 * DAY_US, s.anchor_us - DAY_US);
    let mut out = Batch::new(&DEALS, true);
    let mut history = Batch::new(&ACTIVITIES, true);
    let mut tags_out = Batch::new(&RECORD_TAGS, false);
    let mut refs = Vec::with_capacity(n);
    let mut events = 0usize;
    for i in 0..n {
        let created = spread(&mut rng, start, end, i, n);
        let id = id_at(&mut rng, created);
        let owner = pick(&mut rng, &org.users);
        let contact_index = rng.random_range(0..contacts.len());
        let contact = &contacts[contact_index];
        let company = contact.company.map(|c| &companies[c as usize]);
        let (pipeline_id, stages) = if org.pipelines.len() > 1 && rng.random_bool(0.3) {
            &org.pipelines[1]
        } else {
            &org.pipelines[0]
        };
        let closed = stages.len() - 1;
        let status = match rng.random_range(0..100) {
            0..15 => "new",
            15..60 => "in_progress",
            60..85 => "won",
            _ => "lost",
        };
        let who = company.map_or(LAST_NAMES[contact.last as usize], |c| c.name.as_str());
        let title = format!("{} for {who}", pick(&mut rng, PRODUCTS));
        let amount_cents = rng.random_range(10..=2_000i64) * 10_000;
        let currency = match rng.random_range(0..100) {
            0..60 => "USD",
            60..85 => "EUR",
            _ => "GBP",
        };
        let expected_close = rng
            .random_bool(0.8)
            .then(|| date_of(created + rng.random_range(14..180) * DAY_US));
        let tags = pick_tags(&mut rng);

        // The history: created, started, moved forward stage by stage, maybe
        // back once, and for closed deals won or lost.
        let mut t = created;
        let last_moment = s.anchor_us - 1;
        let mut step = |rng: &mut ChaCha8Rng| {
            t = (t + rng.random_range(HOUR_US..10 * DAY_US)).min(last_moment);
            t
        };
        let mut log: Vec<(&'static str, String, i64)> = vec![("system", r#"{"event":"deal_created"}"#.into(), created)];
        let change = |from: &str, to: &str| serde_json::json!({"from": from, "to": to}).to_string();
        // `furthest`: the furthest open stage (the funnel counts a won deal
        // for `closed` by its status); `from`: the stage a deal was closed from.
        let (stage, furthest, closed_at, from) = if status == "new" {
            (0, 0, None, None)
        } else {
            log.push(("status_changed", change("new", "in_progress"), step(&mut rng)));
            let reached = rng.random_range(0..closed);
            for p in 1..=reached {
                log.push(("stage_changed", change(&stages[p - 1], &stages[p]), step(&mut rng)));
            }
            match status {
                "in_progress" if reached > 0 && rng.random_bool(0.1) => {
                    let back = rng.random_range(0..reached);
                    log.push(("stage_changed", change(&stages[reached], &stages[back]), step(&mut rng)));
                    (back, reached, None, None)
                }
                "in_progress" => (reached, reached, None, None),
                _ => {
                    let when = step(&mut rng);
                    log.push(("status_changed", change("in_progress", status), when));
                    log.push(("stage_changed", change(&stages[reached], &stages[closed]), when));
                    (closed, reached, Some(when), Some(stages[reached].clone()))
                }
            }
        };
        let lost_reason = (status == "lost" && rng.random_bool(0.9)).then(|| pick(&mut rng, LOST_REASONS));
        let updated = log.last().map_or(created, |e| e.2);
        let stage_changed = log
            .iter()
            .rev()
            .find(|e| e.0 == "stage_changed")
            .map_or(created, |e| e.2);
        let version = log.len() as i64;
        for (kind, payload, when) in log {
            let activity_id = id_at(&mut rng, when);
            history
                .push(
                    s,
                    vec![
                        V::Id(org.id),
                        V::Id(activity_id),
                        V::Str(kind),
                        V::Id(id),
                        V::Id(contact.id),
                        V::Id(owner),
                        V::Json(payload),
                        V::Time(at(when)),
                    ],
                )
                .await?;
            events += 1;
        }
        push_tags(s, &mut tags_out, org.id, "deal", id, owner, &tags).await?;
        out.push(
            s,
            vec![
                V::Id(org.id),
                V::Id(id),
                V::Id(owner),
                V::Text(title.clone()),
                V::Id(contact.id),
                V::opt_id(company.map(|c| c.id)),
                V::Id(*pipeline_id),
                V::Text(stages[stage].clone()),
                V::Int(furthest as i64),
                V::Str(status),
                V::Int(amount_cents),
                V::Str(currency),
                expected_close.map_or(V::Null, V::Date),
                lost_reason.map_or(V::Null, V::Str),
                V::opt_time(closed_at.map(at)),
                from.map_or(V::Null, V::Text),
                V::Time(at(stage_changed)),
                json_tags(&tags),
                V::Text(records::search_text([Some(title.as_str())])),
                V::Time(at(created)),
                V::Time(at(updated)),
                V::Int(version),
            ],
        )
        .await?;
        refs.push(DealRef {
            id,
            contact: contact_index as u32,
            created_us: created,
        });
    }
    out.flush(s).await?;
    history.flush(s).await?;
    tags_out.flush(s).await?;
    Ok((refs, events))
}

/// Comments on deals (with the deal's contact) and on contacts alone.
async fn seed_comments(
    s: &mut Seeder,
    org: &Org,
    n: usize,
    deals: &[DealRef],
    contacts: &[ContactRef],
) -> anyhow::Result<()> {
    if contacts.is_empty() {
        return Ok(());
    }
    let mut rng = s.rng(org.index, 4);
    let mut out = Batch::new(&ACTIVITIES, true);
    for _ in 0..n {
        let (deal, contact, since) = if !deals.is_empty() && rng.random_bool(0.7) {
            let d = &deals[rng.random_range(0..deals.len())];
            (V::Id(d.id), &contacts[d.contact as usize], d.created_us)
        } else {
            let c = &contacts[rng.random_range(0..contacts.len())];
            (V::Null, c, c.created_us)
        };
        let when = rng.random_range(since..s.anchor_us.max(since + 1));
        let id = id_at(&mut rng, when);
        let payload = serde_json::json!({ "text": pick(&mut rng, COMMENTS) }).to_string();
        out.push(
            s,
            vec![
                V::Id(org.id),
                V::Id(id),
                V::Str("comment"),
                deal,
                V::Id(contact.id),
                V::Id(pick(&mut rng, &org.users)),
                V::Json(payload),
                V::Time(at(when)),
            ],
        )
        .await?;
    }
    out.flush(s).await
}

/// Tasks: a tenth overdue, a quarter done, half due in the coming months, the
/// rest without a due date.
async fn seed_tasks(
    s: &mut Seeder,
    org: &Org,
    companies: &[CompanyRef],
    contacts: &[ContactRef],
    deals: &[DealRef],
) -> anyhow::Result<()> {
    let mut rng = s.rng(org.index, 5);
    let anchor = s.anchor_us;
    let earliest = anchor - 3 * 365 * DAY_US;
    let mut out = Batch::new(&TASKS, true);
    let mut tags_out = Batch::new(&RECORD_TAGS, false);
    for _ in 0..org.sizes.tasks {
        let assignee = pick(&mut rng, &org.users);
        let owner = if rng.random_bool(0.7) {
            assignee
        } else {
            pick(&mut rng, &org.users)
        };
        let kind = rng.random_range(0..100);
        let hour = rng.random_range(8..18) * HOUR_US;
        let day = anchor - anchor.rem_euclid(DAY_US);
        let (due, done) = match kind {
            0..10 => (Some(day - rng.random_range(1..60) * DAY_US + hour), false),
            10..35 => (Some(day - rng.random_range(1..365) * DAY_US + hour), true),
            35..85 => (Some(day + rng.random_range(1..180) * DAY_US + hour), false),
            _ => (None, false),
        };
        let created = match due {
            Some(d) => (d - rng.random_range(1..60) * DAY_US).clamp(earliest, anchor - HOUR_US),
            None => rng.random_range(anchor - 365 * DAY_US..anchor - HOUR_US),
        };
        let completed = done.then(|| {
            let d = due.unwrap_or(anchor);
            (d - rng.random_range(0..3 * DAY_US)).clamp(created, anchor - 1)
        });
        let (deal, contact) = match rng.random_range(0..10) {
            0..5 if !deals.is_empty() => {
                let d = &deals[rng.random_range(0..deals.len())];
                (Some(d.id), Some(&contacts[d.contact as usize]))
            }
            0..8 if !contacts.is_empty() => (None, Some(&contacts[rng.random_range(0..contacts.len())])),
            _ => (None, None),
        };
        let who = match contact {
            Some(c) => match c.company {
                Some(co) if rng.random_bool(0.3) => companies[co as usize].name.clone(),
                _ => format!("{} {}", FIRST_NAMES[c.first as usize], LAST_NAMES[c.last as usize]),
            },
            None => "the team".to_string(),
        };
        let title = format!("{} {who}", pick(&mut rng, TASK_TITLES));
        let description = rng.random_bool(0.3).then(|| pick(&mut rng, COMMENTS));
        let tags: Vec<&'static str> = pick_tags(&mut rng).into_iter().take(2).collect();
        let id = id_at(&mut rng, created);
        push_tags(s, &mut tags_out, org.id, "task", id, owner, &tags).await?;
        out.push(
            s,
            vec![
                V::Id(org.id),
                V::Id(id),
                V::Id(owner),
                V::Id(assignee),
                V::Text(title),
                description.map_or(V::Null, V::Str),
                V::opt_id(deal),
                V::opt_id(contact.map(|c| c.id)),
                V::opt_time(due.map(at)),
                V::Bool(done),
                V::opt_time(completed.map(at)),
                json_tags(&tags),
                V::Time(at(created)),
                V::Time(at(completed.unwrap_or(created))),
                V::Int(if done { 2 } else { 1 }),
            ],
        )
        .await?;
    }
    out.flush(s).await?;
    tags_out.flush(s).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_valid_unique_and_match_the_phone_library() {
        let indices: std::collections::BTreeSet<u64> = (0..8_000_000u64).step_by(3_989).chain(0..2_000).collect();
        let mut seen = std::collections::HashSet::new();
        for &i in &indices {
            let (e164, national) = phone_number(i);
            let parsed = crate::services::validate::phone(&e164, "US").unwrap();
            assert_eq!(parsed.e164, e164, "contact {i}");
            assert_eq!(parsed.national, national, "contact {i}");
            seen.insert(e164);
        }
        assert_eq!(seen.len(), indices.len());
    }

    #[test]
    fn streams_are_deterministic() {
        let a = ChaCha8Rng::seed_from_u64(7).random::<u64>();
        let b = ChaCha8Rng::seed_from_u64(7).random::<u64>();
        assert_eq!(a, b);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let id = id_at(&mut rng, 1_700_000_000_000_000);
        assert_eq!(id.get_version_num(), 7);
    }
}
