//! The application handle every caller holds: the API's handlers and the web
//! pages (as axum state), the CLI and background jobs. It carries what the
//! service layer needs (configuration, the database, token keys, rate limits,
//! caches) and nothing about HTTP requests.

use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::db::{Db, PoolSettings};
use crate::services::auth::tokens::TokenKeys;
use crate::services::rate_limit::RateLimits;

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub tokens: TokenKeys,
    pub limits: RateLimits,
    pub metrics: PrometheusHandle,
    pub analytics: crate::services::analytics::AnalyticsCache,
    /// Password hashing, bounded (`services::auth::password`).
    pub hasher: crate::services::auth::password::Hasher,
}

impl App {
    /// Connects to the configured database and applies pending migrations:
    /// what the server, the CLI and jobs do before calling a service.
    pub async fn open(config: Config) -> anyhow::Result<App> {
        let settings = PoolSettings {
            max_connections: config.db_max_connections,
            ..PoolSettings::default()
        };
        let db = Db::connect(config.database_url.expose(), &settings).await?;
        db.migrate().await.context("database migration failed")?;
        Ok(App::new(config, db, crate::telemetry::metrics()))
    }

    pub fn new(config: Config, db: Db, metrics: PrometheusHandle) -> Self {
        let tokens = TokenKeys::new(&config.secret_key, config.access_ttl);
        let hasher = crate::services::auth::password::Hasher::new(config.hash_limits);
        let limits = RateLimits::new(
            config.auth_rate_per_minute,
            config.auth_ip_rate_per_minute,
            config.rate_per_second,
        );
        Self(Arc::new(AppInner {
            config,
            db,
            tokens,
            limits,
            metrics,
            analytics: Default::default(),
            hasher,
        }))
    }
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
