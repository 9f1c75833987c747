//! Listeners, connection limits and timeouts, the admin routes, key refreshers and graceful shutdown.
//!
//! In: a validated [`Config`] and [`RunSettings`]. Out: a [`Running`] proxy with its bound addresses (port 0
//! works: tests and the demo bind ephemeral ports). Errors: [`StartError`] (bind, upstream URL, TLS roots).
//!
//! Admin listener: `GET /healthz` is 200 while the process runs; `GET /readyz` is 200 only once every
//! configured authority has a usable key set, else 503 with a JSON body naming the authorities that have none.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::audit::Auditor;
use crate::metrics::Metrics;
use crate::reload::{ReloadSource, Reloader};
use crate::smart::SmartSettings;
use crate::tls::{TlsError, TlsFiles, TlsListener};
use crate::token_cache::TokenCacheSettings;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::body::{full, ProxyBody};
use crate::config::Config;
use crate::connections::{self, ConnectionLimits};
use crate::discovery::{EgressProxy, FetchTimeouts, Fetcher};
use crate::forward::{Upstream, UpstreamConfigError, UpstreamSettings};
use crate::keys::{KeyStoreFactory, RefreshPolicy};
use crate::proxy::Proxy;
use crate::state::{SharedState, Snapshot};
use crate::token::ValidationSettings;
use crate::workers::{self, worker_count, WorkerError, Workers};

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
    /// Worker threads serving the proxy's listener (0: one per core this process may use).
    pub workers: usize,
    pub smart: SmartSettings,
    pub token_cache: TokenCacheSettings,
    pub limits: ConnectionLimits,
    /// Reload the config file on SIGHUP and on change (`None`: never).
    pub reload: Option<ReloadSource>,
    /// Serve HTTPS with this certificate (reloaded with the config when the files change).
    pub tls: Option<TlsFiles>,
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
    Workers(#[from] WorkerError),
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
    /// Stops the proxy's workers (drain starts).
    stop_main: watch::Sender<bool>,
    /// Stops the admin listener and the watcher, after the drain.
    stop_admin: watch::Sender<bool>,
    main: Workers,
    admin: JoinHandle<()>,
}

impl Running {
    /// Stop accepting, mark `/readyz` 503, let in-flight requests finish (up to the drain timeout), then stop the
    /// admin listener, the config watcher and the key refreshers.
    pub async fn shutdown(self) {
        self.draining.store(true, Ordering::SeqCst);
        let _ = self.stop_main.send(true);
        self.main.join().await;
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
    // A template: each worker gets its own connections to the upstream (Upstream::for_worker).
    let upstream = Arc::new(Upstream::new(settings.upstream.clone(), &extra_roots)?);

    let sockets =
        workers::bind(settings.listen, worker_count(settings.workers)).map_err(bind_error)?;
    let worker_threads = sockets.worker_count();
    let addr = sockets.addr;
    let admin_listener = bind(settings.admin_listen).await?;
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
    let proxy = Proxy {
        state: state.clone(),
        upstream,
        audit,
        metrics: metrics.clone(),
        tls: tls.is_some(),
        pages: Default::default(),
    };
    let limits = settings.limits;
    let main = workers::start(sockets, &proxy, limits, main_rx, tls)
        .await
        .map_err(bind_error)?;
    let draining = Arc::new(AtomicBool::new(false));
    let admin = {
        let admin = Admin {
            ready_when: settings.ready_when,
            state: state.clone(),
            metrics: metrics.clone(),
            reloader: Arc::clone(&reloader),
            draining: Arc::clone(&draining),
        };
        tokio::spawn(connections::serve(
            admin_listener,
            limits,
            admin_rx,
            move |req, _| {
                let admin = admin.clone();
                async move { admin.route(&req) }
            },
        ))
    };
    tracing::info!(%addr, %admin_addr, workers = worker_threads, "fhir-jwt-proxy listening");
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

/// A worker's bind failure is the listener's: reported (and matched, by the demo's port fallback) as one.
fn bind_error(error: WorkerError) -> StartError {
    match error {
        WorkerError::Bind { addr, source } => StartError::Bind { addr, source },
        other => StartError::Workers(other),
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
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
