//! Per-issuer key sets (rules B1, B5–B8, Q14).
//!
//! In: the authorities of a [`Config`](crate::config::Config) and the shared [`Fetcher`].
//! Out: for each authority an [`IssuerKeys`] whose [`KeySet`] is read lock-free by requests and replaced
//! beside them: by a background refresher (12 h or the JWKS `max-age`, floor 5 min; retries with backoff
//! while there has never been a good set), and by a single-flight forced refetch when a token names an
//! unknown `kid`, at most once per cooldown per issuer. A failed refresh keeps the last good set (B6).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

pub use crate::config::Issuer;
use crate::config::{Authority, AuthorityRole, Config};
use crate::defaults;
use crate::discovery::{DiscoveryError, Fetcher, ProviderMetadata};
pub use crate::jwk::{parse_jwks, Alg, KeyKind, KeySet, VerificationKey};
use crate::metrics::Metrics;

/// How often and how eagerly key sets are refreshed (B5).
#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    /// Scheduled refresh (12 h), shortened by a JWKS `max-age`...
    pub interval: Duration,
    /// ...but never below this floor (5 min).
    pub floor: Duration,
    /// Forced refetches for an unknown `kid`: at most one per cooldown per issuer (5 min).
    pub refetch_cooldown: Duration,
    /// A key set older than this (its last successful fetch) is no longer trusted; `None`: kept as long as needed.
    pub max_stale: Option<Duration>,
    /// First retry after a failed fetch; doubles up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            interval: Duration::from_secs(defaults::JWKS_REFRESH_INTERVAL_SECS),
            floor: Duration::from_secs(defaults::JWKS_REFRESH_FLOOR_SECS),
            refetch_cooldown: Duration::from_secs(defaults::JWKS_REFETCH_COOLDOWN_SECS),
            max_stale: Some(Duration::from_secs(defaults::JWKS_MAX_STALE_SECS)),
            retry_initial: Duration::from_secs(defaults::JWKS_RETRY_INITIAL_SECS),
            retry_max: Duration::from_secs(defaults::JWKS_RETRY_MAX_SECS),
        }
    }
}

/// The live key set of one configured authority.
pub struct IssuerKeys {
    pub role: AuthorityRole,
    pub authority: Authority,
    current: ArcSwapOption<KeySet>,
    fetcher: Fetcher,
    policy: RefreshPolicy,
    /// Bumped on every successful fetch, so waiters of a forced refetch know one happened.
    generation: AtomicU64,
    /// Held only by the unknown-`kid` path (never by requests with a known key): single flight.
    last_forced: tokio::sync::Mutex<Option<Instant>>,
    /// For `/readyz` and logs: why the last fetch failed.
    last_error: Mutex<Option<String>>,
    metrics: Metrics,
    /// Hand-entered `issuer` and `jwks_uri`: discovery is skipped for this authority (for providers without discovery).
    pub manual: Option<ProviderMetadata>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl IssuerKeys {
    pub fn new(
        role: AuthorityRole,
        authority: Authority,
        fetcher: Fetcher,
        policy: RefreshPolicy,
        metrics: Metrics,
    ) -> Self {
        // Shown as 0 keys until the first fetch succeeds.
        metrics.key_set(authority.as_str(), 0, None, policy.max_stale);
        IssuerKeys {
            role,
            authority,
            current: ArcSwapOption::empty(),
            fetcher,
            policy,
            generation: AtomicU64::new(0),
            last_forced: tokio::sync::Mutex::new(None),
            last_error: Mutex::new(None),
            metrics,
            manual: None,
        }
    }

    /// Use these endpoints instead of discovery.
    pub fn with_endpoints(mut self, manual: Option<ProviderMetadata>) -> Self {
        self.manual = manual;
        self
    }

    /// The last good key set, if there ever was one.
    /// The key set requests may use: the last good one, unless it is older than `max_stale` (then `None`: this
    /// authority's tokens are refused and it is not ready until a refresh succeeds).
    pub fn current(&self) -> Option<Arc<KeySet>> {
        self.current.load_full().filter(|set| !self.is_stale(set))
    }

    /// The last good key set, stale or not (for `/readyz`).
    pub fn held(&self) -> Option<Arc<KeySet>> {
        self.current.load_full()
    }

    /// Is this set older than the policy allows?
    pub fn is_stale(&self, set: &KeySet) -> bool {
        self.policy
            .max_stale
            .is_some_and(|max| set.fetched_at.elapsed().is_ok_and(|age| age > max))
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Discovery, then JWKS. On success the new set replaces the old one; on failure the old one stays (B6).
    /// Returns the `max-age` the JWKS was served with.
    pub async fn refresh(&self) -> Result<Option<Duration>, DiscoveryError> {
        let result = async {
            let (metadata, document) = match &self.manual {
                Some(m) => (m.clone(), None),
                None => {
                    let (m, d) = self.fetcher.discover(&self.authority).await?;
                    (m, Some(Arc::new(d)))
                }
            };
            let (mut set, max_age) = self.fetch_keys(metadata).await?;
            set.discovery = document;
            Ok((set, max_age))
        }
        .await;
        self.record(result)
    }

    /// JWKS only, from the metadata already known (discovery if there is none yet).
    async fn refetch_keys(&self) -> Result<Option<Duration>, DiscoveryError> {
        match self.current() {
            Some(set) => {
                let result = self
                    .fetch_keys(set.metadata.clone())
                    .await
                    .map(|(mut fresh, age)| {
                        fresh.discovery = set.discovery.clone();
                        (fresh, age)
                    });
                self.record(result)
            }
            None => self.refresh().await,
        }
    }

    async fn fetch_keys(
        &self,
        metadata: ProviderMetadata,
    ) -> Result<(KeySet, Option<Duration>), DiscoveryError> {
        let doc = self.fetcher.jwks(&metadata.jwks_uri).await?;
        let url = metadata.jwks_uri.to_string();
        let set = parse_jwks(&url, &doc.bytes, metadata)?;
        Ok((set, doc.max_age))
    }

    fn record(
        &self,
        result: Result<(KeySet, Option<Duration>), DiscoveryError>,
    ) -> Result<Option<Duration>, DiscoveryError> {
        self.metrics
            .jwks_fetch(self.authority.as_str(), result.is_ok());
        match result {
            Ok((set, max_age)) => {
                for why in &set.skipped {
                    tracing::warn!(authority = %self.authority, "JWKS entry skipped: {why}");
                }
                tracing::info!(
                    authority = %self.authority,
                    issuer = set.metadata.issuer.as_str(),
                    keys = set.keys.len(),
                    "key set loaded"
                );
                self.metrics.key_set(
                    self.authority.as_str(),
                    set.keys.len(),
                    Some(set.fetched_at),
                    self.policy.max_stale,
                );
                self.current.store(Some(Arc::new(set)));
                self.generation.fetch_add(1, Ordering::AcqRel);
                if let Ok(mut e) = self.last_error.lock() {
                    *e = None;
                }
                Ok(max_age)
            }
            Err(err) => {
                match self.held() {
                    Some(set) if self.is_stale(&set) => tracing::error!(
                        authority = %self.authority, error = %err,
                        "key set fetch failed and the last good set is older than --jwks-max-stale: this authority's tokens are refused until a fetch succeeds"
                    ),
                    _ => {
                        tracing::warn!(authority = %self.authority, error = %err, "key set fetch failed; keeping the last good set")
                    }
                }
                if let Ok(mut e) = self.last_error.lock() {
                    *e = Some(err.to_string());
                }
                Err(err)
            }
        }
    }

    /// B5: a token named a `kid` the set does not hold. Refetch once, shared by all concurrent callers,
    /// and not again until the cooldown has passed since the last forced refetch. Returns the set to retry
    /// with, or `None` when nothing new can be had.
    pub async fn refetch_for_unknown_kid(&self) -> Option<Arc<KeySet>> {
        let seen = self.generation.load(Ordering::Acquire);
        let mut last_forced = self.last_forced.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            // Someone fetched while we waited: retry with that set.
            return self.current();
        }
        if last_forced.is_some_and(|t| t.elapsed() < self.policy.refetch_cooldown) {
            return None;
        }
        *last_forced = Some(Instant::now());
        tracing::info!(authority = %self.authority, "unknown kid: refetching the JWKS");
        self.refetch_keys().await.ok().and_then(|_| self.current())
    }

    /// Keep the key set fresh until the task is aborted: retry with backoff after a failure, else wait
    /// `max-age` or the interval, never less than the floor.
    pub async fn run_refresher(self: Arc<Self>) {
        let mut backoff = self.policy.retry_initial;
        loop {
            let wait = match self.refresh().await {
                Ok(max_age) => {
                    backoff = self.policy.retry_initial;
                    max_age
                        .map_or(self.policy.interval, |m| m.min(self.policy.interval))
                        .max(self.policy.floor)
                }
                Err(_) => {
                    let wait = backoff;
                    backoff = (backoff * 2).min(self.policy.retry_max);
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The key stores of every configured authority, primary first.
#[derive(Debug, Default)]
pub struct KeyStores {
    pub stores: Vec<Arc<IssuerKeys>>,
}

/// Makes the key store of one configured authority: the one place start-up and reload build them.
#[derive(Debug, Clone)]
pub struct KeyStoreFactory {
    pub fetcher: Fetcher,
    pub policy: RefreshPolicy,
    pub metrics: Metrics,
}

impl KeyStoreFactory {
    /// A store for `authority` (with the hand-entered endpoints the config names for it), not yet fetched.
    pub fn store(
        &self,
        config: &Config,
        role: AuthorityRole,
        authority: &Authority,
    ) -> Arc<IssuerKeys> {
        Arc::new(
            IssuerKeys::new(
                role,
                authority.clone(),
                self.fetcher.clone(),
                self.policy,
                self.metrics.clone(),
            )
            .with_endpoints(config.extensions.endpoints(role).cloned()),
        )
    }

    /// A store for every authority of `config`; each refresher is started by the reloader.
    pub fn stores(&self, config: &Config) -> KeyStores {
        KeyStores {
            stores: config
                .authorities()
                .map(|(role, authority)| self.store(config, role, authority))
                .collect(),
        }
    }
}

impl KeyStores {
    /// B2, Q17: the stores whose discovered issuer equals `iss` exactly.
    pub fn by_issuer<'a>(
        &'a self,
        iss: &'a str,
    ) -> impl Iterator<Item = (&'a Arc<IssuerKeys>, Arc<KeySet>)> + 'a {
        self.stores.iter().filter_map(move |s| {
            s.current()
                .filter(|set| set.metadata.issuer.as_str() == iss)
                .map(|set| (s, set))
        })
    }

    /// `/readyz`: every authority has a usable key set.
    pub fn all_ready(&self) -> bool {
        self.stores.iter().all(|s| s.current().is_some())
    }
}
