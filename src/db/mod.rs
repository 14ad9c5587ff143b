//! The database: one embedded SQLite file or a PostgreSQL server, chosen by the
//! URL scheme.
//!
//! Business logic is written once. Queries are written once as runtime sqlx
//! queries with `$1` placeholders (they run unchanged on both backends) and
//! executed through [`Exec`], which is either a SQLite or a PostgreSQL
//! connection. The [`run!`](crate::run) macro expands one query body for both
//! backends, so the source is single and each backend gets its own
//! monomorphised code. Where the SQL has to differ (locking, upserts, full-text
//! search) the call site matches on [`Exec`] itself.
//!
//! Value representation, identical on both sides of the mapping:
//! - ids are `uuid::Uuid` (SQLite: 16-byte BLOB, PostgreSQL: UUID);
//! - timestamps are `DateTime<Utc>` truncated to microseconds (SQLite: RFC 3339
//!   TEXT with a `+00:00` suffix, which sorts chronologically; PostgreSQL:
//!   TIMESTAMPTZ);
//! - hashes are `Vec<u8>` (BLOB / BYTEA), JSON is `sqlx::types::Json` (TEXT / JSONB).

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};

mod writer;
pub use writer::{WriteTx, Writer};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Runs one query body on whichever backend `$exec` holds.
///
/// `$conn` is bound to `&mut SqliteConnection` or `&mut PgConnection`; the body is
/// compiled once per backend, so the same SQL text and the same binds serve both.
#[macro_export]
macro_rules! run {
    ($exec:expr, $conn:ident => $body:expr) => {
        match $exec {
            $crate::db::Exec {
                link: $crate::db::Link::Sqlite($conn),
                ..
            } => $body,
            $crate::db::Exec {
                link: $crate::db::Link::Postgres($conn),
                ..
            } => $body,
        }
    };
}

/// Which database engine serves this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pools of the configured database.
///
/// SQLite allows one writer at a time. Rather than letting writers race for the
/// lock (and surface `database is locked`), every write transaction goes through
/// one connection, the [`Writer`]: writers queue for it in async code and share
/// its commits (group commit), and readers use a separate read-only pool that
/// WAL mode never blocks.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite { read: SqlitePool, write: Writer },
    Postgres(PgPool),
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`), creating a SQLite file
    /// when it does not exist yet. Does not migrate.
    pub async fn connect(url: &str, settings: &PoolSettings) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid sqlite:// URL")?
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(writer::BUSY_TIMEOUT)
                .pragma("temp_store", "memory");
            // The writer keeps a large page cache: it updates a dozen index
            // b-trees per record. A checkpointer beside it copies the WAL
            // into the database file every 200 requests or so
            // (writer::checkpoint_loop); the writer's own automatic
            // checkpoint, every 100,000 pages (400 MB), is only a backstop
            // for when readers keep it from catching up.
            let conn = base
                .clone()
                .create_if_missing(true)
                .pragma("cache_size", "-32000")
                .pragma("wal_autocheckpoint", "100000")
                .connect()
                .await
                .context("could not open the SQLite database")?;
            let checkpointer = base
                .clone()
                .pragma("cache_size", "-2000")
                .connect()
                .await
                .context("could not open the SQLite database for checkpoints")?;
            // Writers queue for it; give a burst of them time before a 503.
            let write = Writer::new(conn, Some(checkpointer), settings.acquire_timeout * 6);
            // Reads run on their connection's thread, in this process: more
            // readers than about three per core add memory (a page cache, a
            // statement cache and malloc arenas each), not throughput. With
            // 16 readers on 2 cores, R3's searches held 302 MB at peak; with
            // 8, 139-195 MB and as many searches per second (docs/performance.md,
            // issue 17).
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
            let read = SqlitePoolOptions::new()
                .max_connections(settings.max_connections.min(3 * cores).max(2))
                .acquire_timeout(settings.acquire_timeout)
                // Readers keep a small one each (4 MB) and lean on the OS page
                // cache, which is shared and not part of the server's memory:
                // 16 readers at 32 MB held 930 MB under the benchmark.
                .connect_with(base.read_only(true).pragma("cache_size", "-4000"))
                .await
                .context("could not open the SQLite database for reading")?;
            Ok(Db::Sqlite { read, write })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // No parallel plans: request-path queries are index-bounded, and
            // on a few cores the workers' start-up cost more than they saved
            // (a tag-filtered contact page: 35 ms in parallel, 14 ms serial),
            // while concurrent requests already keep every core busy.
            let options = PgConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid postgres:// URL")?
                .application_name("crm")
                .options([("max_parallel_workers_per_gather", "0")]);
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections)
                .acquire_timeout(settings.acquire_timeout)
                .connect_with(options)
                .await
                .context("could not connect to PostgreSQL")?;
            Ok(Db::Postgres(pool))
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://")
        }
    }

    /// Applies the pending migrations of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(&mut *write.connection().await?).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection for reads outside a transaction.
    pub async fn read(&self) -> Result<Conn, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { read, .. } => Conn::Sqlite(read.acquire().await?),
            Db::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// Starts the transaction of a request that writes. Every write of a request
    /// goes through one of these, so a failed request leaves nothing behind.
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// deferred transaction that read first and then wrote while another
    /// process (a `crm` command beside the server) held the lock would fail
    /// at once with `database is locked`, where this one waits its turn
    /// (`busy_timeout`). In this process the writer is alone, so it costs nothing.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Writes a consistent copy of a SQLite database to `file` while others
    /// keep reading and writing it (`VACUUM INTO`: a read transaction's
    /// snapshot, compacted; the copy needs no WAL beside it). PostgreSQL has
    /// its own tools: the error says which.
    pub async fn backup_to(&self, file: &std::path::Path) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { read, .. } => {
                if file.exists() {
                    anyhow::bail!("{} exists already; name a new file", file.display());
                }
                let target = file
                    .to_str()
                    .ok_or_else(|| anyhow::anyhow!("the backup file's path must be UTF-8"))?;
                sqlx::query("VACUUM INTO $1")
                    .bind(target)
                    .execute(read)
                    .await
                    .with_context(|| format!("could not write the backup to {}", file.display()))?;
                Ok(())
            }
            Db::Postgres(_) => anyhow::bail!(
                "crm backup copies SQLite databases; on PostgreSQL use pg_dump, e.g. \
                 pg_dump --format=custom --file {} \"$DATABASE_URL\"",
                file.display()
            ),
        }
    }

    /// `true` when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        let Ok(mut conn) = self.read().await else {
            return false;
        };
        run!(conn.exec(), c => sqlx::query("SELECT 1").execute(c).await.is_ok())
    }

    /// Pool usage for `/metrics`: (pool name, open connections, idle connections).
    pub fn pool_usage(&self) -> Vec<(&'static str, u32, usize)> {
        match self {
            Db::Sqlite { read, write } => {
                let (open, idle) = write.usage();
                vec![("read", read.size(), read.num_idle()), ("write", open, idle)]
            }
            Db::Postgres(pool) => vec![("main", pool.size(), pool.num_idle())],
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                // Fold the WAL back into the main file on a clean stop.
                if let Ok(mut c) = write.connection().await {
                    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *c).await;
                }
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// A pooled connection used for reads.
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Conn {
    pub fn exec(&mut self) -> Exec<'_> {
        match self {
            Conn::Sqlite(c) => Exec {
                link: Link::Sqlite(c),
                in_transaction: false,
            },
            Conn::Postgres(c) => Exec {
                link: Link::Postgres(c),
                in_transaction: false,
            },
        }
    }
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    /// A savepoint in a group's transaction ([`Writer`]).
    Sqlite(WriteTx),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn exec(&mut self) -> Exec<'_> {
        match self {
            Tx::Sqlite(t) => Exec {
                link: Link::Sqlite(&mut *t),
                in_transaction: true,
            },
            Tx::Postgres(t) => Exec {
                link: Link::Postgres(t),
                in_transaction: true,
            },
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

/// A borrowed connection of either backend: what every query function takes.
pub struct Exec<'a> {
    pub link: Link<'a>,
    /// Inside a write transaction (row locks are worth taking) or a plain read.
    pub in_transaction: bool,
}

pub enum Link<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl Exec<'_> {
    /// Reborrows, so one function can run several queries on the same connection.
    pub fn re(&mut self) -> Exec<'_> {
        let link = match &mut self.link {
            Link::Sqlite(c) => Link::Sqlite(c),
            Link::Postgres(c) => Link::Postgres(c),
        };
        Exec {
            link,
            in_transaction: self.in_transaction,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.link {
            Link::Sqlite(_) => Backend::Sqlite,
            Link::Postgres(_) => Backend::Postgres,
        }
    }

    /// The row-locking suffix of a `SELECT` whose row the transaction goes on to
    /// change. Only PostgreSQL write transactions need it: SQLite's run one at a
    /// time on the single writer connection, and plain reads take no locks.
    pub fn for_update(&self) -> &'static str {
        match self.link {
            Link::Postgres(_) if self.in_transaction => " FOR UPDATE",
            _ => "",
        }
    }

    /// The locking suffix of a `SELECT` whose row must stay as read while the
    /// transaction writes rows that depend on it, without changing it. KEY
    /// SHARE locks do not wait for each other (many deal writes can check one
    /// pipeline at once) but do wait for, and block, a `FOR UPDATE` of the row.
    pub fn for_key_share(&self) -> &'static str {
        match self.link {
            Link::Postgres(_) if self.in_transaction => " FOR KEY SHARE",
            _ => "",
        }
    }
}

/// The current time as stored: UTC, truncated to microseconds (PostgreSQL's
/// precision), so what is written is exactly what is read back.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A new time-ordered id.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// An id derived from `text`: the same text gives the same id on every
/// instance (a periodic job's time slot, a duplicates group's members).
pub fn derived_id(text: &str) -> uuid::Uuid {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes)
}

/// `true` when `err` is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// `true` when `err` means the database cannot be reached or is overloaded, so
/// the client should retry later (503) rather than see a server fault.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => {
            let code = e.code().unwrap_or_default();
            // PostgreSQL: connection exceptions (08…), shutdown (57P0…),
            // too many connections (53300). SQLite: BUSY (5) and LOCKED (6).
            code.starts_with("08") || code.starts_with("57P0") || code == "53300" || code == "5" || code == "6"
        }
        _ => false,
    }
}
