//! Listeners, connection limits and timeouts, the admin routes, key refreshers and graceful shutdown.
//!
//! In: a validated [`Config`] and [`RunSettings`]. Out: a [`Running`] proxy with its bound addresses (port 0
//! works: tests and the demo bind ephemeral ports). Errors: [`StartError`] (bind, upstream URL, TLS roots).
//!
//! Admin listener: `GET /healthz` is 200 while the process runs; `GET /readyz` is 200 only once every
//! configured authority has a usable key set, else 503 with a JSON body naming the authorities that have none.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::audit::Auditor;
use crate::metrics::Metrics;
use crate::reload::{ReloadSource, Reloader};
use crate::smart::SmartSettings;
use crate::tls::{TlsError, TlsFiles, TlsListener};
use crate::token_cache::TokenCacheSettings;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::body::{full, ProxyBody};
use crate::config::Config;
use crate::discovery::{EgressProxy, FetchTimeouts, Fetcher};
use crate::forward::{Upstream, UpstreamConfigError, UpstreamSettings};
use crate::keys::{KeyStoreFactory, RefreshPolicy};
use crate::proxy::Proxy;
use crate::state::{SharedState, Snapshot};
use crate::token::ValidationSettings;

/// When `/readyz` answers 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadyWhen {
    /// At least one authority has a usable key set: one identity provider down does not stall a rollout.
    #[default]
    Any,
    /// Every authority has one.
    All,
}

/// Everything `run` needs besides the config file.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub upstream: UpstreamSettings,
    pub allow_insecure_http: bool,
    pub validation: ValidationSettings,
    pub refresh: RefreshPolicy,
    pub fetch_timeouts: FetchTimeouts,
    /// How discovery, JWKS and AuditEvent requests go out (environment proxies by default).
    pub egress: EgressProxy,
    /// When `/readyz` says ready.
    pub ready_when: ReadyWhen,
    pub smart: SmartSettings,
    pub token_cache: TokenCacheSettings,
    pub limits: ConnectionLimits,
    /// Reload the config file on SIGHUP and on change (`None`: never).
    pub reload: Option<ReloadSource>,
    /// Serve HTTPS with this certificate (reloaded with the config when the files change).
    pub tls: Option<TlsFiles>,
}

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

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Upstream(#[from] UpstreamConfigError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot build the HTTP client for discovery: {0}")]
    Fetcher(#[source] reqwest::Error),
}

/// A started proxy.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub state: SharedState,
    pub metrics: Metrics,
    reloader: Arc<Reloader>,
    draining: Arc<AtomicBool>,
    /// Stops the proxy listener (drain starts).
    stop_main: watch::Sender<bool>,
    /// Stops the admin listener and the watcher, after the drain.
    stop_admin: watch::Sender<bool>,
    main: JoinHandle<()>,
    admin: JoinHandle<()>,
}

impl Running {
    /// Stop accepting, mark `/readyz` 503, let in-flight requests finish (up to the drain timeout), then stop the
    /// admin listener, the config watcher and the key refreshers.
    pub async fn shutdown(self) {
        self.draining.store(true, Ordering::SeqCst);
        let _ = self.stop_main.send(true);
        let _ = self.main.await;
        let _ = self.stop_admin.send(true);
        let _ = self.admin.await;
        self.reloader.stop();
    }
}

/// Bind both listeners, start key refreshers (and the config watcher, if reloads are configured) and serve until
/// [`Running::shutdown`].
pub async fn start(config: Config, settings: RunSettings) -> Result<Running, StartError> {
    // `--upstream-ca` is read once, for the upstream and for discovery/JWKS alike.
    let extra_roots = match &settings.upstream.ca {
        Some(file) => crate::tls::ca_certificates(file)?,
        None => Vec::new(),
    };
    let fetcher = Fetcher::new(
        settings.allow_insecure_http,
        settings.fetch_timeouts,
        &extra_roots,
        &settings.egress,
    )
    .map_err(StartError::Fetcher)?;
    let tls = settings
        .tls
        .clone()
        .map(TlsListener::new)
        .transpose()?
        .map(Arc::new);
    let metrics = Metrics::new();
    let factory = KeyStoreFactory {
        fetcher: fetcher.clone(),
        policy: settings.refresh,
        metrics: metrics.clone(),
    };
    let keys = factory.stores(&config);
    let state = SharedState::new(Snapshot::build(
        config,
        keys,
        (settings.validation, settings.smart.clone()),
        settings.token_cache,
    ));
    let upstream = Arc::new(Upstream::new(settings.upstream.clone(), &extra_roots)?);

    let listener = bind(settings.listen).await?;
    let admin_listener = bind(settings.admin_listen).await?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: settings.listen,
        source,
    })?;
    let admin_addr = admin_listener
        .local_addr()
        .map_err(|source| StartError::Bind {
            addr: settings.admin_listen,
            source,
        })?;

    let reloader = Reloader::new(state.clone(), factory, settings.token_cache);
    let (stop_main, main_rx) = watch::channel(false);
    let (stop_admin, admin_rx) = watch::channel(false);
    if let Some(source) = settings.reload.clone() {
        if let Ok(bytes) = std::fs::read(&source.path) {
            reloader.set_loaded(bytes);
        }
        tokio::spawn(Arc::clone(&reloader).watch(source, tls.clone(), admin_rx.clone()));
    }
    let audit = match &state.load().config.extensions.audit {
        // AuditEvents go out through the discovery client: same roots, same timeouts.
        Some(audit) => Auditor::start(audit, fetcher.client().clone(), metrics.clone()),
        None => Auditor::default(),
    };
    // Behind one Arc: the handler is cloned per connection and per request, and Proxy holds a dozen shared handles.
    let proxy = Arc::new(Proxy {
        state: state.clone(),
        upstream,
        audit,
        metrics: metrics.clone(),
        tls: tls.is_some(),
        pages: Default::default(),
    });
    let limits = settings.limits;
    let main = tokio::spawn(serve_with_tls(
        listener,
        limits,
        main_rx,
        tls,
        move |req, client| {
            let proxy = Arc::clone(&proxy);
            async move { proxy.handle(req, client).await }
        },
    ));
    let draining = Arc::new(AtomicBool::new(false));
    let admin = {
        let admin = Admin {
            ready_when: settings.ready_when,
            state: state.clone(),
            metrics: metrics.clone(),
            reloader: Arc::clone(&reloader),
            draining: Arc::clone(&draining),
        };
        tokio::spawn(serve(admin_listener, limits, admin_rx, move |req, _| {
            let admin = admin.clone();
            async move { admin.route(&req) }
        }))
    };
    tracing::info!(%addr, %admin_addr, "fhir-jwt-proxy listening");
    {
        let snapshot = state.load();
        let config = &snapshot.config;
        let mode = snapshot
            .validation
            .primary_authorization
            .unwrap_or(config.roles.mode);
        if let Some(warning) = config.roles.warning(config.primary.is_some(), mode) {
            tracing::warn!("{warning}");
        }
    }
    Ok(Running {
        addr,
        admin_addr,
        state,
        metrics,
        reloader,
        draining,
        stop_main,
        stop_admin,
        main,
        admin,
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
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
    serve_with_tls(listener, limits, shutdown, None, handler).await
}

/// [`serve`], with TLS when `tls` is set: the handshake must finish within the header-read timeout.
pub async fn serve_with_tls<H, F>(
    listener: TcpListener,
    limits: ConnectionLimits,
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
    let permits = Arc::new(Semaphore::new(limits.max_connections));

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

/// The admin listener's routes.
#[derive(Clone)]
struct Admin {
    ready_when: ReadyWhen,
    state: SharedState,
    metrics: Metrics,
    reloader: Arc<Reloader>,
    draining: Arc<AtomicBool>,
}

impl Admin {
    fn route(&self, req: &Request<Incoming>) -> Response<ProxyBody> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        }
        match req.uri().path() {
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" => self.readiness(),
            "/metrics" => {
                let mut response = Response::new(full(Bytes::from(self.metrics.render())));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                response
            }
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }

    /// 200 once every authority has a usable key set and the proxy is not draining; otherwise 503 naming why.
    fn readiness(&self) -> Response<ProxyBody> {
        let snapshot = self.state.load();
        let draining = self.draining.load(Ordering::SeqCst);
        let authorities: Vec<serde_json::Value> = snapshot
            .keys
            .stores
            .iter()
            .map(|s| {
                let held = s.held();
                let usable = s.current().is_some();
                serde_json::json!({
                    "authority": s.authority.as_str(),
                    "ready": usable,
                    "stale": held.as_ref().is_some_and(|k| s.is_stale(k)),
                    "issuer": held.as_ref().map(|k| k.metadata.issuer.as_str().to_string()),
                    "keys": held.as_ref().map(|k| k.keys.len()),
                    "lastError": s.last_error(),
                })
            })
            .collect();
        let usable = snapshot
            .keys
            .stores
            .iter()
            .filter(|s| s.current().is_some())
            .count();
        let enough = match self.ready_when {
            ReadyWhen::Any => usable > 0,
            ReadyWhen::All => usable == snapshot.keys.stores.len(),
        };
        let ready = !draining && enough;
        let last_reload_error = self.reloader.last_error();
        let body = serde_json::json!({
            "ready": ready,
            "draining": draining,
            "authorities": authorities,
            "lastReload": { "ok": last_reload_error.is_none(), "error": last_reload_error },
        });
        let mut response = Response::new(full(Bytes::from(body.to_string())));
        *response.status_mut() = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(full(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
