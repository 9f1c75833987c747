//! Prometheus metrics, served as text on the admin listener's `GET /metrics`.
//!
//! In: events from the request path (outcome, provider, client, latencies), the key stores (fetches, failures), the
//! token cache (hits, misses) and reloads. Out: the text exposition format, encoded by `prometheus-client`.
//! Label values are bounded: outcome reasons are a fixed set of labels, providers are `primary`/`smart[i]`/`-`, and
//! client ids are only ever a configured `clientId` (anything else is `other`). No token, path or user value
//! becomes a label.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    outcome: &'static str,
    status: u16,
    provider: &'static str,
    client_id: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthorityLabels {
    authority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FetchLabels {
    authority: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Per authority: when its key set was fetched, and how old it may grow.
type KeySetTimes = std::collections::HashMap<String, (SystemTime, Option<Duration>)>;

/// Every metric the proxy exports; cheap to clone (all handles are shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    proxy_seconds: Histogram,
    upstream_seconds: Histogram,
    jwks_fetches: Family<FetchLabels, Counter>,
    jwks_keys: Family<AuthorityLabels, Gauge>,
    jwks_age_seconds: Family<AuthorityLabels, Gauge>,
    cache: Family<ResultLabels, Counter>,
    reloads: Family<ResultLabels, Counter>,
    last_reload_failed: Gauge,
    audit_dropped: Counter,
    role_refusals: Family<ActionLabels, Counter>,
    /// When each authority's current key set was fetched (for the age gauge).
    key_sets_fetched: Arc<std::sync::Mutex<KeySetTimes>>,
    authority_up: Family<AuthorityLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::default()
}

/// Upper bounds of the latency buckets in nanoseconds: 50 µs doubling up to ~13 s, then +Inf.
const BUCKETS: usize = 19;
const FIRST_BOUND_NS: u64 = 50_000;

/// A latency histogram of atomic counters. prometheus-client's own histogram takes a mutex on every observation;
/// two observations per request through one global mutex is the kind of lock the hot path must not have.
#[derive(Clone, Default)]
pub struct Histogram {
    inner: Arc<HistogramCounts>,
}

#[derive(Default)]
struct HistogramCounts {
    /// Per-bucket (not cumulative) counts; the last one is +Inf.
    buckets: [AtomicU64; BUCKETS + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Histogram")
    }
}

impl Histogram {
    pub fn observe(&self, time: Duration) {
        let ns = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
        let index = bucket_index(ns);
        let c = &self.inner;
        c.buckets[index].fetch_add(1, Ordering::Relaxed);
        c.sum_ns.fetch_add(ns, Ordering::Relaxed);
        c.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// The first bucket whose upper bound (50 µs × 2^i) is ≥ `ns`; [`BUCKETS`] for +Inf.
fn bucket_index(ns: u64) -> usize {
    if ns <= FIRST_BOUND_NS {
        return 0;
    }
    // ceil(ns / 50 µs) rounded up to a power of two gives the bucket's multiplier.
    let multiple = ns.div_ceil(FIRST_BOUND_NS);
    let index = (u64::BITS - (multiple - 1).leading_zeros()) as usize;
    index.min(BUCKETS)
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let c = &self.inner;
        let mut buckets = [(0.0, 0u64); BUCKETS + 1];
        for (i, (bound, count)) in buckets.iter_mut().enumerate() {
            *bound = if i == BUCKETS {
                f64::INFINITY
            } else {
                (FIRST_BOUND_NS << i) as f64 / 1e9
            };
            *count = c.buckets[i].load(Ordering::Relaxed);
        }
        // The count is the sum of the buckets read, so a scrape during traffic stays self-consistent.
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = c.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("fhir_jwt_proxy");
        let requests = Family::<RequestLabels, Counter>::default();
        let proxy_seconds = latency_histogram();
        let upstream_seconds = latency_histogram();
        let jwks_fetches = Family::<FetchLabels, Counter>::default();
        let jwks_keys = Family::<AuthorityLabels, Gauge>::default();
        let jwks_age_seconds = Family::<AuthorityLabels, Gauge>::default();
        let cache = Family::<ResultLabels, Counter>::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        let last_reload_failed = Gauge::default();
        let audit_dropped = Counter::default();
        let role_refusals = Family::<ActionLabels, Counter>::default();
        let authority_up = Family::<AuthorityLabels, Gauge>::default();
        registry.register(
            "authority_up",
            "1 when the authority has a usable key set (fetched, and not older than --jwks-max-stale), else 0",
            authority_up.clone(),
        );
        registry.register(
            "role_refusals",
            "Primary-authority requests refused because no role of the token grants the data action (by action)",
            role_refusals.clone(),
        );
        registry.register(
            "audit_dropped",
            "Audit records dropped because a sink queue was full",
            audit_dropped.clone(),
        );
        registry.register(
            "requests",
            "Requests by outcome (forwarded or the refusal reason), status, provider and client id",
            requests.clone(),
        );
        registry.register(
            "proxy_duration_seconds",
            "Time the proxy itself spent on a request (excluding the upstream)",
            proxy_seconds.clone(),
        );
        registry.register(
            "upstream_duration_seconds",
            "Time until the upstream's response headers arrived",
            upstream_seconds.clone(),
        );
        registry.register(
            "jwks_fetches",
            "JWKS fetches per authority and result",
            jwks_fetches.clone(),
        );
        registry.register(
            "jwks_keys",
            "Usable signing keys in the current key set per authority",
            jwks_keys.clone(),
        );
        registry.register(
            "jwks_age_seconds",
            "Age of the current key set per authority",
            jwks_age_seconds.clone(),
        );
        registry.register(
            "token_cache",
            "Verified-token cache lookups by result (hit, miss)",
            cache.clone(),
        );
        registry.register(
            "config_reloads",
            "Configuration reloads by result",
            reloads.clone(),
        );
        registry.register(
            "config_last_reload_failed",
            "1 when the last configuration reload failed",
            last_reload_failed.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            proxy_seconds,
            upstream_seconds,
            jwks_fetches,
            jwks_keys,
            jwks_age_seconds,
            cache,
            reloads,
            last_reload_failed,
            audit_dropped,
            role_refusals,
            key_sets_fetched: Arc::default(),
            authority_up,
        }
    }

    /// A request refused by role for lack of `action` (one of the bounded data action names).
    pub fn role_refusal(&self, action: &'static str) {
        self.role_refusals
            .get_or_create(&ActionLabels { action })
            .inc();
    }

    /// One finished request. `client_id` must already be bounded (a configured id, `other` or `-`).
    pub fn request(
        &self,
        outcome: &'static str,
        status: u16,
        provider: &'static str,
        client_id: &Arc<str>,
        proxy_time: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                outcome,
                status,
                provider,
                client_id: Arc::clone(client_id),
            })
            .inc();
        self.proxy_seconds.observe(proxy_time);
    }

    pub fn upstream(&self, time: Duration) {
        self.upstream_seconds.observe(time);
    }

    pub fn jwks_fetch(&self, authority: &str, ok: bool) {
        self.jwks_fetches
            .get_or_create(&FetchLabels {
                authority: authority.to_string(),
                result: if ok { "ok" } else { "error" },
            })
            .inc();
    }

    pub fn cache(&self, hit: bool) {
        self.cache
            .get_or_create(&ResultLabels {
                result: if hit { "hit" } else { "miss" },
            })
            .inc();
    }

    pub fn audit_dropped(&self) {
        self.audit_dropped.inc();
    }

    pub fn reload(&self, ok: bool) {
        self.reloads
            .get_or_create(&ResultLabels {
                result: if ok { "ok" } else { "error" },
            })
            .inc();
        self.last_reload_failed.set(i64::from(!ok));
    }

    /// The key set an authority now holds (set where keys are fetched): its size, and when it was fetched (`None`:
    /// no keys yet). The age gauge is computed from it at each scrape.
    pub fn key_set(
        &self,
        authority: &str,
        keys: usize,
        fetched_at: Option<SystemTime>,
        max_stale: Option<Duration>,
    ) {
        let labels = AuthorityLabels {
            authority: authority.to_string(),
        };
        self.jwks_keys.get_or_create(&labels).set(keys as i64);
        self.authority_up
            .get_or_create(&labels)
            .set(i64::from(fetched_at.is_some()));
        if let Ok(mut fetched) = self.key_sets_fetched.lock() {
            match fetched_at {
                Some(at) => {
                    fetched.insert(authority.to_string(), (at, max_stale));
                }
                None => {
                    fetched.remove(authority);
                }
            }
        }
    }

    /// The text exposition, with the key-set ages brought up to date first.
    pub fn render(&self) -> String {
        if let Ok(fetched) = self.key_sets_fetched.lock() {
            for (authority, (at, max_stale)) in fetched.iter() {
                let age = SystemTime::now()
                    .duration_since(*at)
                    .unwrap_or(Duration::ZERO);
                let labels = AuthorityLabels {
                    authority: authority.clone(),
                };
                self.jwks_age_seconds
                    .get_or_create(&labels)
                    .set(age.as_secs() as i64);
                let fresh = max_stale.is_none_or(|max| age <= max);
                self.authority_up
                    .get_or_create(&labels)
                    .set(i64::from(fresh));
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_50us_doubling_with_inclusive_upper_bounds() {
        assert_eq!(bucket_index(0), 0);
        assert_eq!(bucket_index(50_000), 0);
        assert_eq!(bucket_index(50_001), 1);
        assert_eq!(bucket_index(100_000), 1);
        assert_eq!(bucket_index(100_001), 2);
        assert_eq!(bucket_index(50_000 << 18), 18);
        assert_eq!(bucket_index((50_000 << 18) + 1), BUCKETS);
        assert_eq!(bucket_index(u64::MAX), BUCKETS);
    }

    #[test]
    fn the_histogram_renders_cumulative_buckets_sum_and_count() {
        let h = Histogram::default();
        for us in [10, 50, 70, 3_000, 60_000_000] {
            h.observe(Duration::from_micros(us));
        }
        let mut registry = Registry::default();
        registry.register("latency", "test", h);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        let value = |line: &str| {
            text.lines()
                .find(|l| l.starts_with(line))
                .and_then(|l| l.rsplit(' ').next())
                .unwrap_or_else(|| panic!("{line} missing in\n{text}"))
                .to_string()
        };
        assert_eq!(value("latency_count "), "5");
        assert_eq!(value("latency_sum "), "60.00313");
        assert_eq!(value("latency_bucket{le=\"0.00005\"}"), "2");
        assert_eq!(value("latency_bucket{le=\"0.0001\"}"), "3");
        assert_eq!(value("latency_bucket{le=\"0.0032\"}"), "4");
        assert_eq!(value("latency_bucket{le=\"+Inf\"}"), "5");
    }
}
