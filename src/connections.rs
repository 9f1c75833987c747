//! Serving one listening socket: accept with a connection cap, HTTP/1.1 and h2 (optionally over TLS) with the
//! header-read timeout, and a graceful drain on shutdown. Used by every listener: the proxy's workers, the admin
//! listener, and the demo's issuer and FHIR stand-in.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::body::ProxyBody;
use crate::tls::TlsListener;

/// Connection hygiene, with defaults sized for a proxy in front of one FHIR server.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Slowloris: the whole request head must arrive within this time.
    pub header_read_timeout: Duration,
    /// Connections beyond this are closed at accept.
    pub max_connections: usize,
    /// HTTP/1 request head size cap (hyper's read buffer).
    pub max_header_bytes: usize,
    /// On shutdown, in-flight requests get this long to finish.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(crate::defaults::HEADER_READ_TIMEOUT_SECS),
            max_connections: crate::defaults::MAX_CONNECTIONS,
            max_header_bytes: crate::defaults::MAX_HEADER_BYTES,
            drain_timeout: Duration::from_secs(crate::defaults::DRAIN_TIMEOUT_SECS),
        }
    }
}

/// Accept connections until shutdown, then let open ones finish for at most the drain timeout.
/// Also serves the demo's issuer and FHIR stand-in.
pub async fn serve<H, F>(
    listener: TcpListener,
    limits: ConnectionLimits,
    shutdown: watch::Receiver<bool>,
    handler: H,
) where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<ProxyBody>> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    serve_with_tls(listener, limits, permits, shutdown, None, handler).await
}

/// [`serve`], with TLS when `tls` is set: the handshake must finish within the header-read timeout.
/// `permits` caps open connections; listeners that share it (the workers) share the cap.
pub async fn serve_with_tls<H, F>(
    listener: TcpListener,
    limits: ConnectionLimits,
    permits: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
    tls: Option<Arc<TlsListener>>,
    handler: H,
) where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<ProxyBody>> + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32)
        .max_concurrent_streams(256);
    let builder = Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();

    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing a new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = service_fn(move |req| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(handler(req, client).await) }
        });
        let watcher = graceful.watcher();
        let builder = Arc::clone(&builder);
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let result = match acceptor {
                None => {
                    let conn = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .into_owned();
                    watcher.watch(conn).await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => {
                            let conn = builder
                                .serve_connection(TokioIo::new(tls_stream), service)
                                .into_owned();
                            watcher.watch(conn).await
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%error, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(error) = result {
                tracing::debug!(error = %error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.drain_timeout) => {
            tracing::warn!("drain timeout reached; closing remaining connections");
        }
    }
}
