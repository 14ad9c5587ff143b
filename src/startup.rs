//! Building and running the server. [`Application::build`] connects, migrates
//! and binds the listener before serving, so tests can start the real server on
//! port 0 and read the port it got.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::app::App;
use crate::config::Config;
use crate::http;

/// How long in-flight requests may run after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: App,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let bind = config.bind;
        let state = App::open(config).await?;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind} (CRM_BIND)"))?;
        let router = http::router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &App {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting, lets in-flight
    /// requests finish for up to [`SHUTDOWN_GRACE`], and closes the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application {
            listener,
            router,
            state,
        } = self;
        let housekeeping = tokio::spawn(housekeeping(state.clone()));
        let worker = tokio::spawn(crate::jobs::run(state.clone()));
        let notifications = tokio::spawn(crate::services::analytics::listen(state.clone()));
        let notifier = tokio::spawn(crate::services::analytics::notifier(state.clone()));
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let limits = state.config.connections.clone();
        let trusted = state.config.trusted_proxies.clone();
        let serve = http::serve::serve(listener, router, limits, trusted, async move {
            shutdown.await;
            tracing::info!("stop requested; finishing in-flight requests");
            let _ = stopping_tx.send(());
        });
        let grace = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let result = tokio::select! {
            () = serve => Ok(()),
            () = grace => {
                tracing::warn!("in-flight requests did not finish within {} s; stopping anyway", SHUTDOWN_GRACE.as_secs());
                Ok(())
            }
        };
        housekeeping.abort();
        worker.abort();
        notifications.abort();
        notifier.abort();
        crate::services::analytics::flush_notifications(&state).await;
        state.db.close().await;
        tracing::info!("stopped");
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Periodic upkeep in memory: rate-limit keys back to full every 5 s (a
/// flood of made-up clients is forgotten quickly), metric histograms each
/// minute. What is kept in the database is purged by the retention job
/// (`crate::jobs`).
async fn housekeeping(state: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut round: u64 = 0;
    loop {
        tick.tick().await;
        state.limits.retain_recent();
        round += 1;
        if round % 12 == 1 {
            state.metrics.run_upkeep();
        }
    }
}
