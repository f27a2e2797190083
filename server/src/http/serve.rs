//! The HTTP/1.1 accept loop. `axum::serve` gives hyper no timer, so a client that sends its
//! headers one byte a minute (slowloris) would hold a connection forever; this loop is axum's
//! with the timeouts a public endpoint needs, and a cap on open connections, in all and per
//! client, answered with a 503 rather than by running out of file descriptors.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use ipnet::IpNet;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// How long a client may take over each part of a request.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From connecting (or the end of the previous request) to the end of the headers.
    pub header_read: Duration,
    /// From the end of the headers to the end of the body.
    pub body_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
        }
    }
}

/// How many connections may be open at once.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// In all; keep it below the process's file-descriptor limit (`ulimit -n`).
    pub total: usize,
    /// From one client address (an IPv6 client by its /64).
    pub per_client: usize,
    /// Proxies, which carry many clients' connections and so are not held to `per_client`;
    /// `serve` takes them from the rate limits' `--trusted-proxy` list.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            total: 8_192,
            per_client: 256,
            trusted_proxies: Vec::new(),
        }
    }
}

/// What a refused connection is told before it is closed.
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 94\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many open connections: retry in 1 s\"}}\n";

/// Open connections per client network.
type PerClient = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// Open connections, counted in all (a semaphore) and per client.
struct OpenConnections {
    limits: ConnectionLimits,
    total: Arc<Semaphore>,
    per_client: PerClient,
}

/// One admitted connection; dropping it gives its places back.
struct Admitted {
    _total: OwnedSemaphorePermit,
    client: Option<(IpAddr, PerClient)>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some((client, counts)) = &self.client {
            let mut counts = counts.lock().expect("never poisoned");
            if let Some(open) = counts.get_mut(client) {
                *open -= 1;
                if *open == 0 {
                    counts.remove(client);
                }
            }
        }
    }
}

impl OpenConnections {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            total: Arc::new(Semaphore::new(limits.total.max(1))),
            per_client: Arc::new(Mutex::new(HashMap::new())),
            limits,
        }
    }

    /// A place for a connection from `peer`, or `None` at either cap.
    fn admit(&self, peer: IpAddr) -> Option<Admitted> {
        let total = self.total.clone().try_acquire_owned().ok()?;
        if self
            .limits
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer))
        {
            return Some(Admitted {
                _total: total,
                client: None,
            });
        }
        let client = crate::ingest::rate_limit::client_network(peer);
        let mut counts = self.per_client.lock().expect("never poisoned");
        let open = counts.entry(client).or_insert(0);
        if *open >= self.limits.per_client {
            return None;
        }
        *open += 1;
        Some(Admitted {
            _total: total,
            client: Some((client, self.per_client.clone())),
        })
    }
}

/// Tells a connection over a cap to come back, without waiting on it for long.
fn refuse(mut stream: TcpStream) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(TOO_MANY)).await;
    });
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for open connections to
/// finish their requests (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let open = OpenConnections::new(limits);
    let connections = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    // Out of file descriptors, usually: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(admitted) = open.admit(peer.ip()) else {
            metrics::counter!(super::error::REJECTED, "reason" => "too_many_connections")
                .increment(1);
            refuse(stream);
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            let response = app.clone().oneshot(request.map(axum::body::Body::new));
            async move { Ok::<_, Infallible>(response.await.unwrap_or_else(|never| match never {})) }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            let _admitted = admitted;
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_http_response() {
        let text = std::str::from_utf8(TOO_MANY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{text}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    }

    #[test]
    fn connections_are_capped_per_client_and_in_all_but_not_for_proxies() {
        let open = OpenConnections::new(ConnectionLimits {
            total: 3,
            per_client: 2,
            trusted_proxies: vec!["10.0.0.1/32".parse().unwrap()],
        });
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let first = open.admit(client).unwrap();
        let _second = open.admit(client).unwrap();
        assert!(open.admit(client).is_none(), "a third from one client");
        let neighbour: IpAddr = "2001:db8::1".parse().unwrap();
        let _third = open.admit(neighbour).unwrap();
        assert!(
            open.admit("203.0.113.10".parse().unwrap()).is_none(),
            "three in all"
        );
        drop(first);
        assert!(open.admit(client).is_some(), "a place came back");
        let open = OpenConnections::new(ConnectionLimits {
            total: 10,
            per_client: 1,
            trusted_proxies: vec!["10.0.0.1/32".parse().unwrap()],
        });
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let _a = open.admit(proxy).unwrap();
        assert!(open.admit(proxy).is_some(), "a proxy carries many clients");
        let _b = open.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(
            open.admit("2001:db8:1:2::99".parse().unwrap()).is_none(),
            "one /64"
        );
    }
}
