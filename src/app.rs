//! The application handle every caller holds: the API's handlers and the web
//! pages (as axum state), the CLI and background jobs. It carries what the
//! service layer needs (configuration, the database, token keys, rate limits,
//! caches) and nothing about HTTP requests.

use std::ops::Deref;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;
use crate::db::Db;
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
}

impl App {
    pub fn new(config: Config, db: Db, metrics: PrometheusHandle) -> Self {
        let tokens = TokenKeys::new(&config.secret_key, config.access_ttl);
        let limits = RateLimits::new(config.auth_rate_per_minute, config.rate_per_second);
        Self(Arc::new(AppInner {
            config,
            db,
            tokens,
            limits,
            metrics,
            analytics: Default::default(),
        }))
    }
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}
