//! Hot reload of the configuration file: on SIGHUP and when the file's content changes on disk.
//!
//! In: the config path (polled by content, so editors that replace the file by rename are seen like any write).
//! Out: a new [`Snapshot`] swapped in whole, atomically: config, validation settings, key stores and a fresh token
//! cache. Key stores of authorities that did not change are kept (no refetch); a new authority's discovery and JWKS
//! are fetched before the swap. In-flight requests finish with the snapshot they loaded. An invalid file changes
//! nothing: the old configuration keeps serving, the error is logged with its JSON path, counted, and shown on
//! `/readyz`. Errors: [`ConfigError`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError, LoadOptions};
use crate::keys::{IssuerKeys, KeyStoreFactory, KeyStores};
use crate::metrics::Metrics;
use crate::smart::SmartSettings;
use crate::state::{SharedState, Snapshot};
use crate::tls::TlsListener;
use crate::token::ValidationSettings;
use crate::token_cache::TokenCacheSettings;

/// Derives the effective settings from a config (flags and environment win over the file's `proxy` object).
pub type SettingsFn = Arc<dyn Fn(&Config) -> (ValidationSettings, SmartSettings) + Send + Sync>;

/// Where the configuration comes from, for reloads.
#[derive(Clone)]
pub struct ReloadSource {
    pub path: PathBuf,
    pub options: LoadOptions,
    /// How often the file is checked for changes.
    pub poll_interval: Duration,
    pub settings: SettingsFn,
}

impl std::fmt::Debug for ReloadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadSource")
            .field("path", &self.path)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

/// The state a reload needs, and the key-refresher tasks it owns.
pub struct Reloader {
    pub state: SharedState,
    /// Builds the stores of authorities a reload adds.
    pub factory: KeyStoreFactory,
    pub cache: TokenCacheSettings,
    pub metrics: Metrics,
    refreshers: Mutex<Vec<(Arc<IssuerKeys>, JoinHandle<()>)>>,
    /// The content last loaded, to tell a real change from a touch.
    loaded: Mutex<Option<Vec<u8>>>,
    /// Why the last reload failed (shown on `/readyz`); `None` after a success.
    last_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reloader")
    }
}

impl Reloader {
    pub fn new(
        state: SharedState,
        factory: KeyStoreFactory,
        cache: TokenCacheSettings,
    ) -> Arc<Self> {
        let metrics = factory.metrics.clone();
        let reloader = Arc::new(Reloader {
            state,
            factory,
            cache,
            metrics,
            refreshers: Mutex::new(Vec::new()),
            loaded: Mutex::new(None),
            last_error: Mutex::new(None),
        });
        let stores = reloader.state.load().keys.stores.clone();
        reloader.own_refreshers(&stores);
        reloader
    }

    /// Remember the content the current snapshot was built from.
    pub fn set_loaded(&self, bytes: Vec<u8>) {
        if let Ok(mut l) = self.loaded.lock() {
            *l = Some(bytes);
        }
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Read, validate and swap. `force` reloads even when the content did not change (SIGHUP).
    /// Returns whether a new snapshot was swapped in.
    pub async fn reload(&self, source: &ReloadSource, force: bool) -> Result<bool, ConfigError> {
        let bytes = std::fs::read(&source.path).map_err(|e| ConfigError::Io {
            file: source.path.display().to_string(),
            source: e,
        });
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return Err(self.failed(e)),
        };
        let unchanged = self
            .loaded
            .lock()
            .ok()
            .is_some_and(|l| l.as_deref() == Some(bytes.as_slice()));
        if unchanged && !force {
            return Ok(false);
        }
        let config = match Config::from_json(&bytes, source.options) {
            Ok(c) => c,
            Err(e) => return Err(self.failed(e)),
        };
        let old = self.state.load();
        let mut stores = Vec::new();
        for (role, authority) in config.authorities() {
            let kept = old.keys.stores.iter().find(|s| {
                s.role == role
                    && s.authority == *authority
                    && s.manual.as_ref() == config.extensions.endpoints(role)
            });
            let store = match kept {
                Some(s) => Arc::clone(s),
                None => {
                    let s = self.factory.store(&config, role, authority);
                    // A new authority: fetch before the swap, so its tokens work from the first request. A failure
                    // leaves it retrying in the background, as at start-up.
                    if let Err(e) = s.refresh().await {
                        tracing::warn!(authority = %authority, error = %e, "new authority not reachable yet; retrying in the background");
                    }
                    s
                }
            };
            stores.push(store);
        }
        let (validation, smart) = (source.settings)(&config);
        self.state.replace(Snapshot::build(
            config,
            KeyStores {
                stores: stores.clone(),
            },
            (validation, smart),
            self.cache,
        ));
        self.own_refreshers(&stores);
        self.set_loaded(bytes);
        if let Ok(mut e) = self.last_error.lock() {
            *e = None;
        }
        self.metrics.reload(true);
        tracing::info!(file = %source.path.display(), "configuration reloaded");
        Ok(true)
    }

    fn failed(&self, error: ConfigError) -> ConfigError {
        tracing::error!(error = %error, "configuration reload failed; the previous configuration keeps serving");
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(error.to_string());
        }
        self.metrics.reload(false);
        error
    }

    /// Start refreshers for stores that have none, stop those of stores no longer used.
    fn own_refreshers(&self, stores: &[Arc<IssuerKeys>]) {
        let Ok(mut running) = self.refreshers.lock() else {
            return;
        };
        running.retain(|(s, task)| {
            let keep = stores.iter().any(|n| Arc::ptr_eq(n, s));
            if !keep {
                task.abort();
            }
            keep
        });
        for s in stores {
            if !running.iter().any(|(r, _)| Arc::ptr_eq(r, s)) {
                running.push((Arc::clone(s), tokio::spawn(Arc::clone(s).run_refresher())));
            }
        }
    }

    /// Stop every refresher (shutdown).
    pub fn stop(&self) {
        if let Ok(mut running) = self.refreshers.lock() {
            for (_, task) in running.drain(..) {
                task.abort();
            }
        }
    }

    /// Reload on SIGHUP and when the file changes, until shutdown.
    pub async fn watch(
        self: Arc<Self>,
        source: ReloadSource,
        tls: Option<Arc<TlsListener>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(source.poll_interval.max(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let hup = async {
                match hangup.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hup = std::future::pending::<Option<()>>();
            let force = tokio::select! {
                _ = tick.tick() => false,
                _ = hup => true,
                _ = shutdown.changed() => return,
            };
            // Errors were logged and counted by reload itself.
            let _ = self.reload(&source, force).await;
            // Certificates reload with the config: a broken new pair keeps the old one serving.
            if let Some(tls) = &tls {
                if let Err(e) = tls.reload_if_changed() {
                    tracing::error!(error = %e, "TLS certificate reload failed; the previous certificate keeps serving");
                }
            }
        }
    }
}
