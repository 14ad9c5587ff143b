//! Command line and configuration. Every setting comes from a flag or its
//! environment variable (the flag wins). Values arrive as text and are checked
//! here, so a bad value stops start-up with a message naming the variable.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

// No `Debug` on the command line types: they hold a password and secrets.
#[derive(Parser)]
#[command(
    name = "crm",
    version,
    about = "A fast, multi-tenant CRM server: REST API and web app on SQLite or PostgreSQL",
    long_about = "A fast, multi-tenant CRM server: REST API and web app on SQLite or PostgreSQL.\n\n\
        With no subcommand, `crm` serves (same as `crm serve`). Every option can also be \
        given as the environment variable shown next to it; a flag wins over its variable."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API and the web app (the default).
    Serve,
    /// Apply pending database migrations and exit (serving applies them too).
    Migrate,
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Fill the database with the deterministic benchmark data set (bench.md);
    /// seeded users sign in with the password `bench-password-1`.
    Seed(crate::seed::SeedArgs),
    /// Write an organization as JSON Lines to standard output (what
    /// `GET /api/v1/organization/export` answers).
    Export {
        /// The organization's id.
        #[arg(long)]
        org: uuid::Uuid,
    },
    /// Import a CSV file into an organization, as `POST /api/v1/imports`
    /// does, in this process with a progress bar; prints the same summary.
    /// Records are owned by the organization's first owner, on behalf of
    /// the import.
    Import {
        /// What the rows are: contacts, companies or deals.
        object: String,
        /// The CSV file.
        file: PathBuf,
        /// The organization's id.
        #[arg(long)]
        org: uuid::Uuid,
        /// A JSON file mapping headers to field names (or null to drop a
        /// column), as the API's `mapping`.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// queue (default), keep or overwrite.
        #[arg(long, default_value = "queue")]
        on_conflict: String,
        /// Check every row and print the mapping, a preview and the errors;
        /// write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Restore an organization from an export (`crm export --org` or
    /// `GET /api/v1/organization/export`) into this database, with the same
    /// ids: the way to move from SQLite to PostgreSQL. Members' accounts are
    /// created without a password (`crm user set-password`).
    ImportOrg {
        /// The JSON Lines file of the export.
        file: PathBuf,
    },
    /// Copy the SQLite database to FILE, consistently, while the server runs
    /// (on PostgreSQL: use pg_dump).
    Backup {
        /// Where to write the copy; it must not exist yet.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user as the owner of a new organization (the way to bootstrap
    /// CRM_REGISTRATION=invite_only).
    Create {
        /// The user's email address (sign-in name).
        #[arg(long)]
        email: String,
        /// The user's display name.
        #[arg(long)]
        name: String,
        /// The password: 8..128 characters with at least one letter and one digit.
        #[arg(long, env = "CRM_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// The name of the new organization the user will own.
        #[arg(long)]
        org_name: String,
    },
    /// Set a user's password (a restored account's first one, or a lost
    /// one); every login of the user ends.
    SetPassword {
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// The password: 8..128 characters with at least one letter and one digit.
        #[arg(long, env = "CRM_USER_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

/// Raw settings as given on the command line or in the environment.
#[derive(Args)]
pub struct Settings {
    /// Database URL: sqlite://<path>, sqlite:///<absolute path> or postgres://…
    /// [default: sqlite://<data dir>/crm.sqlite]
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address and port to listen on.
    #[arg(long, env = "CRM_BIND", global = true, default_value = "127.0.0.1:8004")]
    pub bind: String,
    /// Directory for the SQLite file and the generated secret key (created on start).
    #[arg(long, env = "CRM_DATA_DIR", global = true, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Public base URL of this server, used in invitation links.
    #[arg(long, env = "CRM_PUBLIC_URL", global = true, default_value = "http://127.0.0.1:8004")]
    pub public_url: String,
    /// Key that signs access tokens (HS256). When unset, a random key is generated
    /// once and kept in <data dir>/secret_key (mode 0600). Set it when several
    /// instances share a database.
    #[arg(long, env = "CRM_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Access token lifetime in seconds.
    #[arg(long, env = "CRM_ACCESS_TTL", global = true, default_value = "900")]
    pub access_ttl: String,
    /// Refresh token lifetime in seconds.
    #[arg(long, env = "CRM_REFRESH_TTL", global = true, default_value = "604800")]
    pub refresh_ttl: String,
    /// Who may register: `open` (anyone) or `invite_only` (users join through
    /// invitations; create the first owner with `crm user create`).
    #[arg(long, env = "CRM_REGISTRATION", global = true, default_value = "open")]
    pub registration: String,
    /// Sign-in and registration attempts allowed per minute per (client IP, email).
    #[arg(long, env = "CRM_AUTH_RATE_PER_MINUTE", global = true, default_value = "5")]
    pub auth_rate_per_minute: String,
    /// Sign-in, registration and invitation-accept attempts allowed per minute
    /// per client IP, whatever the email.
    #[arg(long, env = "CRM_AUTH_IP_RATE_PER_MINUTE", global = true, default_value = "30")]
    pub auth_ip_rate_per_minute: String,
    /// Proxies whose `X-Forwarded-For` names the client (comma-separated IP
    /// addresses); empty: the connection's peer is the client.
    #[arg(long, env = "CRM_TRUSTED_PROXIES", global = true, default_value = "")]
    pub trusted_proxies: String,
    /// API requests allowed per second per user (bursts up to twice this).
    #[arg(long, env = "CRM_RATE_PER_SECOND", global = true, default_value = "100")]
    pub rate_per_second: String,
    /// Password hashes computed at once (19 MiB each); `auto`: the cores.
    #[arg(long, env = "CRM_HASH_CONCURRENCY", global = true, default_value = "auto")]
    pub hash_concurrency: String,
    /// Password hashes that may wait for a free slot; beyond, 503 `busy`.
    #[arg(long, env = "CRM_HASH_QUEUE", global = true, default_value = "auto")]
    pub hash_queue: String,
    /// Open client connections allowed at once; `auto`: three quarters of the
    /// process's open-file limit, at most 10,000. Beyond, new ones get 503.
    #[arg(long, env = "CRM_MAX_CONNECTIONS", global = true, default_value = "auto")]
    pub max_connections: String,
    /// Open connections allowed from one client address (a trusted proxy's
    /// are not capped). Beyond, new ones get 503.
    #[arg(long, env = "CRM_MAX_CONNECTIONS_PER_IP", global = true, default_value = "256")]
    pub max_connections_per_ip: String,
    /// Seconds a client has to send a request's headers, from connecting or
    /// from the previous answer (so also how long an idle keep-alive
    /// connection stays open).
    #[arg(long, env = "CRM_HEADER_TIMEOUT", global = true, default_value = "10")]
    pub header_timeout: String,
    /// Seconds a request has for its body to arrive and its answer to be
    /// ready (streamed exports exempt); beyond, 408 or 503 `timeout`.
    #[arg(long, env = "CRM_REQUEST_TIMEOUT", global = true, default_value = "30")]
    pub request_timeout: String,
    /// MiB of memory for request bodies at once over every request (a body
    /// over 64 KiB counts three times its size: as received, joined, parsed);
    /// beyond, a request waits for room within its timeout.
    #[arg(long, env = "CRM_BODY_MEMORY", global = true, default_value = "32")]
    pub body_memory: String,
    /// Seconds a worker holds a background job before another instance may
    /// take it back (the worker renews it while the job runs, so this is
    /// how long a job of a stopped instance waits to run again).
    #[arg(long, env = "CRM_JOB_LEASE", global = true, default_value = "120")]
    pub job_lease: String,
    /// Maximum database connections (per pool; SQLite's readers are also
    /// capped at three per core).
    #[arg(long, env = "CRM_DB_MAX_CONNECTIONS", global = true, default_value = "10")]
    pub db_max_connections: String,
    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `crm=debug,sqlx=warn`).
    #[arg(long, env = "CRM_LOG", global = true, default_value = "info,sqlx=warn")]
    pub log: String,
    /// Log format: `pretty` or `json`.
    #[arg(long, env = "CRM_LOG_FORMAT", global = true, default_value = "pretty")]
    pub log_format: String,
}

/// Shows every setting but the secret key, and the database URL without its password.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field(
                "database_url",
                &self.database_url.as_ref().map(|u| DatabaseUrl::new(u.clone())),
            )
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "[REDACTED]"))
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("registration", &self.registration)
            .field("auth_rate_per_minute", &self.auth_rate_per_minute)
            .field("auth_ip_rate_per_minute", &self.auth_ip_rate_per_minute)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rate_per_second", &self.rate_per_second)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("hash_queue", &self.hash_queue)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("header_timeout", &self.header_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("body_memory", &self.body_memory)
            .field("job_lease", &self.job_lease)
            .field("db_max_connections", &self.db_max_connections)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registration {
    Open,
    #[value(name = "invite_only", alias = "invite-only")]
    InviteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A database URL whose password never reaches logs or `Debug` output.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let url = self.expose();
        if let Some((scheme, rest)) = url.split_once("://")
            && let Some((userinfo, host)) = rest.split_once('@')
            && let Some((user, _password)) = userinfo.split_once(':')
        {
            return format!("{scheme}://{user}:***@{host}");
        }
        url.to_string()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Checked configuration of a running server.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub public_url: String,
    pub secret_key: SecretString,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub registration: Registration,
    pub auth_rate_per_minute: u32,
    pub auth_ip_rate_per_minute: u32,
    /// Peers whose `X-Forwarded-For` is believed (`CRM_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub rate_per_second: u32,
    /// Password hashing limits (`services::auth::password`).
    pub hash_limits: crate::services::auth::password::Limits,
    /// Connection bounds of the accept loop (`http::serve`).
    pub connections: crate::http::serve::ConnectionLimits,
    pub request_timeout: Duration,
    /// `CRM_BODY_MEMORY` in KiB.
    pub body_memory_kib: usize,
    /// `CRM_JOB_LEASE` (`crate::jobs`).
    pub job_lease: Duration,
    pub db_max_connections: u32,
    pub log: String,
    pub log_format: LogFormat,
}

impl Settings {
    /// Checks every value and resolves defaults that need the file system (data
    /// directory, SQLite path, generated secret key).
    pub fn resolve(self) -> anyhow::Result<Config> {
        let bind = self.bind.parse().map_err(|_| {
            anyhow::anyhow!(
                "CRM_BIND (--bind) must be an address like 127.0.0.1:8004, got {:?}",
                self.bind
            )
        })?;
        let public_url = self.public_url.trim().trim_end_matches('/').to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!(
                "CRM_PUBLIC_URL (--public-url) must start with http:// or https://, got {:?}",
                self.public_url
            );
        }
        let access_ttl = seconds("CRM_ACCESS_TTL", "--access-ttl", &self.access_ttl)?;
        let refresh_ttl = seconds("CRM_REFRESH_TTL", "--refresh-ttl", &self.refresh_ttl)?;
        let registration = enum_value("CRM_REGISTRATION", "--registration", &self.registration)?;
        let log_format = enum_value("CRM_LOG_FORMAT", "--log-format", &self.log_format)?;
        let auth_rate_per_minute = positive(
            "CRM_AUTH_RATE_PER_MINUTE",
            "--auth-rate-per-minute",
            &self.auth_rate_per_minute,
        )?;
        let rate_per_second = positive("CRM_RATE_PER_SECOND", "--rate-per-second", &self.rate_per_second)?;
        let auth_ip_rate_per_minute = positive(
            "CRM_AUTH_IP_RATE_PER_MINUTE",
            "--auth-ip-rate-per-minute",
            &self.auth_ip_rate_per_minute,
        )?;
        let trusted_proxies = self
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse().map_err(|_| {
                    anyhow::anyhow!("CRM_TRUSTED_PROXIES (--trusted-proxies) must list IP addresses, got {p:?}")
                })
            })
            .collect::<anyhow::Result<Vec<std::net::IpAddr>>>()?;
        let defaults = crate::services::auth::password::Limits::default();
        let hash_limits = crate::services::auth::password::Limits {
            concurrency: match self.hash_concurrency.trim() {
                "auto" => defaults.concurrency,
                n => positive("CRM_HASH_CONCURRENCY", "--hash-concurrency", n)?,
            },
            queue: match self.hash_queue.trim() {
                "auto" => defaults.queue,
                n => n.parse().map_err(|_| {
                    anyhow::anyhow!("CRM_HASH_QUEUE (--hash-queue) must be a whole number or auto, got {n:?}")
                })?,
            },
        };
        let db_max_connections = positive(
            "CRM_DB_MAX_CONNECTIONS",
            "--db-max-connections",
            &self.db_max_connections,
        )?;
        let connections = crate::http::serve::ConnectionLimits {
            max_connections: match self.max_connections.trim() {
                "auto" => default_max_connections(),
                n => positive("CRM_MAX_CONNECTIONS", "--max-connections", n)?,
            },
            max_per_ip: positive(
                "CRM_MAX_CONNECTIONS_PER_IP",
                "--max-connections-per-ip",
                &self.max_connections_per_ip,
            )?,
            header_timeout: seconds("CRM_HEADER_TIMEOUT", "--header-timeout", &self.header_timeout)?,
        };
        let request_timeout = seconds("CRM_REQUEST_TIMEOUT", "--request-timeout", &self.request_timeout)?;
        let job_lease = seconds("CRM_JOB_LEASE", "--job-lease", &self.job_lease)?;
        let body_memory_mib: usize = positive("CRM_BODY_MEMORY", "--body-memory", &self.body_memory)?;
        if body_memory_mib < 3 {
            bail!(
                "CRM_BODY_MEMORY (--body-memory) must be at least 3 (MiB: room for one 1 MiB body), got {body_memory_mib}"
            );
        }
        let body_memory_kib = body_memory_mib.saturating_mul(1024);
        if tracing_subscriber::EnvFilter::try_new(&self.log).is_err() {
            bail!("CRM_LOG (--log) is not a valid log filter: {:?}", self.log);
        }

        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("CRM_DATA_DIR (--data-dir): cannot create {}", self.data_dir.display()))?;
        let database_url = match self.database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                let url = url.trim().to_string();
                if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    bail!("DATABASE_URL (--database-url) must start with sqlite:// or postgres://");
                }
                url
            }
            None => format!("sqlite://{}", self.data_dir.join("crm.sqlite").display()),
        };
        let secret_key = match self.secret_key.filter(|k| !k.is_empty()) {
            Some(key) if key.len() < 32 => {
                bail!("CRM_SECRET_KEY (--secret-key) must be at least 32 characters")
            }
            Some(key) => SecretString::from(key),
            None => generated_secret(&self.data_dir)?,
        };
        Ok(Config {
            database_url: DatabaseUrl::new(database_url),
            bind,
            data_dir: self.data_dir,
            public_url,
            secret_key,
            access_ttl,
            refresh_ttl,
            registration,
            auth_rate_per_minute,
            rate_per_second,
            auth_ip_rate_per_minute,
            trusted_proxies,
            hash_limits,
            connections,
            request_timeout,
            body_memory_kib,
            job_lease,
            db_max_connections,
            log: self.log,
            log_format,
        })
    }
}

/// Three quarters of the soft open-file limit (the rest is for database
/// files and connections, logs), at most 10,000; 1,024 where the limit
/// cannot be read. Read from /proc: no unsafe call needed.
fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits").ok().and_then(|limits| {
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse::<usize>().ok()
    });
    soft.map_or(1024, |n| (n / 4 * 3).clamp(64, 10_000))
}

fn seconds(var: &str, flag: &str, value: &str) -> anyhow::Result<Duration> {
    Ok(Duration::from_secs(positive::<u64>(var, flag, value)?))
}

fn positive<T: std::str::FromStr + PartialOrd + Default>(var: &str, flag: &str, value: &str) -> anyhow::Result<T> {
    match value.trim().parse::<T>() {
        Ok(n) if n > T::default() => Ok(n),
        _ => bail!("{var} ({flag}) must be a whole number above 0, got {value:?}"),
    }
}

fn enum_value<T: ValueEnum>(var: &str, flag: &str, value: &str) -> anyhow::Result<T> {
    T::from_str(value.trim(), true).map_err(|_| {
        let allowed: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        anyhow::anyhow!("{var} ({flag}) must be one of {}, got {value:?}", allowed.join(", "))
    })
}

/// Reads the key kept in the data directory, or creates it (mode 0600).
fn generated_secret(data_dir: &Path) -> anyhow::Result<SecretString> {
    use rand::RngCore;
    let path = data_dir.join("secret_key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let key = existing.trim().to_string();
        if key.len() >= 32 {
            return Ok(SecretString::from(key));
        }
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &key)
        .with_context(|| format!("cannot write the generated secret key to {}", path.display()))?;
    Ok(SecretString::from(key))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> Settings {
        Settings {
            database_url: None,
            bind: "127.0.0.1:0".into(),
            data_dir: dir.to_path_buf(),
            public_url: "http://example.test/".into(),
            secret_key: None,
            access_ttl: "900".into(),
            refresh_ttl: "604800".into(),
            registration: "open".into(),
            auth_rate_per_minute: "5".into(),
            rate_per_second: "100".into(),
            auth_ip_rate_per_minute: "30".into(),
            trusted_proxies: String::new(),
            hash_concurrency: "auto".into(),
            hash_queue: "auto".into(),
            max_connections: "auto".into(),
            max_connections_per_ip: "256".into(),
            header_timeout: "10".into(),
            request_timeout: "30".into(),
            body_memory: "32".into(),
            job_lease: "120".into(),
            db_max_connections: "10".into(),
            log: "info".into(),
            log_format: "pretty".into(),
        }
    }

    #[test]
    fn bad_values_name_their_variable() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        s.access_ttl = "abc".into();
        let err = s.resolve().unwrap_err().to_string();
        assert!(err.contains("CRM_ACCESS_TTL"), "{err}");

        let mut s = settings(dir.path());
        s.max_connections_per_ip = "0".into();
        let err = s.resolve().unwrap_err().to_string();
        assert!(err.contains("CRM_MAX_CONNECTIONS_PER_IP"), "{err}");

        let mut s = settings(dir.path());
        s.registration = "closed".into();
        let err = s.resolve().unwrap_err().to_string();
        assert!(err.contains("CRM_REGISTRATION") && err.contains("invite_only"), "{err}");

        let mut s = settings(dir.path());
        s.bind = "nowhere".into();
        assert!(s.resolve().unwrap_err().to_string().contains("CRM_BIND"));
    }

    #[test]
    fn generated_key_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = settings(dir.path()).resolve().unwrap();
        let second = settings(dir.path()).resolve().unwrap();
        assert_eq!(first.secret_key.expose_secret(), second.secret_key.expose_secret());
        assert_eq!(first.public_url, "http://example.test");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret_key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        s.secret_key = Some("a-very-secret-key-that-is-long-enough".into());
        s.database_url = Some("postgres://crm:hunter2@db.example:5432/crm".into());
        let raw = format!("{s:?}");
        assert!(!raw.contains("hunter2") && !raw.contains("a-very-secret"), "{raw}");
        let config = s.resolve().unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("a-very-secret"),
            "{debug}"
        );
        assert!(debug.contains("postgres://crm:***@db.example:5432/crm"));
    }
}
