//! The accept loop. Every connection is counted and bounded before hyper
//! sees it, so one client cannot hold the server's sockets (issue 18):
//! - at most [`ConnectionLimits::max_connections`] open at once, and at most
//!   [`ConnectionLimits::max_per_ip`] from one client address (a trusted
//!   proxy's address is not capped: it carries everyone's connections);
//!   one over either cap is answered `503 too_many_connections` with
//!   `Retry-After` and closed at once, without reading it;
//! - a request's headers must arrive within
//!   [`ConnectionLimits::header_timeout`], counted from the connection's
//!   start or the end of the previous response. hyper runs this timer while a
//!   keep-alive connection waits for its next request too, so the same limit
//!   closes idle keep-alive connections: a slow or silent client is dropped
//!   after it, whatever it sends.
//!
//! `axum::serve` has no knobs for these, so the loop is written here on
//! hyper's own connection builder, the way `axum::serve` does it. The request
//! timeout, which needs the route, is a middleware (`http::bounded_request`).

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::error::AppError;

/// The bounds of [`serve`] (configuration: `CRM_MAX_CONNECTIONS`,
/// `CRM_MAX_CONNECTIONS_PER_IP`, `CRM_HEADER_TIMEOUT`).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_per_ip: usize,
    pub header_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes; then stops
/// accepting, asks every open connection to finish its request and close,
/// and returns once they have. Connections from `trusted_proxies` are not
/// capped per address.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    trusted_proxies: Vec<IpAddr>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let open = Arc::new(OpenConnections::default());
    let refusal = refusal_bytes();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    // Connections watch `stop`; `serve` waits for every watcher to be gone.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ip = canonical(peer.ip());
        let capped = !trusted_proxies.contains(&ip);
        let Some(slot) = open.take(ip, &limits, capped) else {
            metrics::counter!("http_connections_refused_total").increment(1);
            tokio::spawn(refuse(stream, refusal.clone()));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |request: axum::http::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut connection = pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stop.wait_for(|stopping| *stopping) => {}
            }
            // Finish the request in progress, then close.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    stop_tx.closed().await;
}

/// An IPv4 client reached over an IPv6 socket counts as its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Errors of `accept` that concern one connection (it was reset before we
/// took it) are skipped; others (out of file descriptors) are logged and the
/// loop pauses a second so it does not spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; pausing 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Answers a connection over a cap and closes it. The write cannot wait: a
/// new socket's send buffer is empty, and a client that does not read is not
/// waited for.
async fn refuse(mut stream: TcpStream, refusal: Arc<[u8]>) {
    let _ = stream.try_write(&refusal);
    let _ = stream.shutdown().await;
}

/// The whole HTTP answer to a connection over a cap, written once.
fn refusal_bytes() -> Arc<[u8]> {
    let error = AppError::too_many_connections();
    let body = serde_json::to_vec(&error.problem()).unwrap_or_default();
    let mut bytes = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        error.retry_after.unwrap_or(1),
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    bytes.into()
}

/// Open connections, in all and per client address. Addresses are removed
/// when their last connection closes, so the map holds only open ones.
#[derive(Default)]
struct OpenConnections {
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

impl OpenConnections {
    /// A place for one more connection from `ip`, or `None` when a cap is reached.
    fn take(self: &Arc<Self>, ip: IpAddr, limits: &ConnectionLimits, capped: bool) -> Option<Slot> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.total >= limits.max_connections {
            return None;
        }
        let mine = counts.per_ip.entry(ip).or_insert(0);
        if capped && *mine >= limits.max_per_ip {
            return None;
        }
        *mine += 1;
        counts.total += 1;
        metrics::gauge!("http_connections_open").set(counts.total as f64);
        Some(Slot { open: self.clone(), ip })
    }
}

/// One counted connection; dropping it frees its place.
struct Slot {
    open: Arc<OpenConnections>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.open.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total -= 1;
        metrics::gauge!("http_connections_open").set(counts.total as f64);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_ip: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: total,
            max_per_ip: per_ip,
            header_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn caps_count_per_address_and_free_on_drop() {
        let open = Arc::new(OpenConnections::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let l = limits(3, 2);
        let a1 = open.take(a, &l, true).expect("first");
        let _a2 = open.take(a, &l, true).expect("second");
        assert!(
            open.take(a, &l, true).is_none(),
            "third from one address is over its cap"
        );
        let _b1 = open.take(b, &l, true).expect("another address");
        assert!(open.take(b, &l, true).is_none(), "the total cap");
        drop(a1);
        assert!(open.take(a, &l, true).is_some(), "a closed connection frees its place");
    }

    #[test]
    fn uncapped_peers_only_meet_the_total_and_closed_addresses_are_forgotten() {
        let open = Arc::new(OpenConnections::default());
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let l = limits(5, 1);
        let slots: Vec<_> = (0..5).map(|_| open.take(proxy, &l, false).expect("proxy")).collect();
        assert!(open.take(proxy, &l, false).is_none());
        drop(slots);
        let counts = open.counts.lock().unwrap();
        assert_eq!((counts.total, counts.per_ip.len()), (0, 0));
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(canonical(mapped), "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
