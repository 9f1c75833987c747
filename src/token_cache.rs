//! The verified-token cache: a token whose signature was checked once is not checked again while it lives.
//!
//! In: the raw token and the [`VerifiedToken`] the full validation produced. Out: on a later request with the same
//! token bytes, the verified token again, without signature work. A hit still checks `exp`/`nbf` against the clock
//! and still goes through the per-request SMART authorization; and it counts only while the issuer's key set is the
//! one the token was verified with, so a key removed by a refresh does not live on in the cache.
//! Entries live `min(exp - now, ttl)`, bounded by weight (an estimate of each entry's heap bytes). The key is the
//! SHA-256 of the token, not the token: a hash collision is as infeasible as forging the signature, and it keeps
//! 100,000 cached tokens well under 64 MiB.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use moka::Expiry;

use crate::keys::KeySet;
use crate::token::VerifiedToken;

/// Size and lifetime bounds.
#[derive(Debug, Clone, Copy)]
pub struct TokenCacheSettings {
    /// Maximum total weight (≈ heap bytes of the cached entries); 0 disables the cache.
    pub max_bytes: u64,
    /// Upper bound of an entry's life, whatever its `exp`.
    pub ttl: Duration,
}

impl Default for TokenCacheSettings {
    fn default() -> Self {
        TokenCacheSettings {
            max_bytes: 64 * 1024 * 1024,
            ttl: Duration::from_secs(300),
        }
    }
}

/// Rough per-entry overhead besides the claim strings (the structs, moka's bookkeeping).
const ENTRY_OVERHEAD: usize = 320;

/// The cache key: SHA-256 of the token bytes.
type TokenDigest = [u8; 32];

fn digest(raw: &str) -> TokenDigest {
    let mut out = [0u8; 32];
    out.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, raw.as_bytes()).as_ref(),
    );
    out
}

/// An estimate of an entry's heap bytes, for the cache's weight bound.
fn weight(entry: &CachedToken) -> u32 {
    let t = &entry.token;
    let strings = t.issuer.len()
        + t.subject.as_ref().map_or(0, String::len)
        + t.client_id.as_ref().map_or(0, String::len)
        + t.scopes.as_ref().map_or(0, String::len)
        + t.fhir_user.as_ref().map_or(0, |u| {
            u.reference.len() + u.id.len() + u.base.as_ref().map_or(0, String::len)
        });
    let grants = t.grants.grants.len() * 64;
    u32::try_from(ENTRY_OVERHEAD + strings + grants).unwrap_or(u32::MAX)
}

/// One verified token.
#[derive(Debug)]
pub struct CachedToken {
    pub token: Arc<VerifiedToken>,
    /// Index of the issuer's key store in the snapshot.
    pub store: usize,
    /// C6: `nbf`, rechecked on every hit (with leeway) like `exp`.
    pub not_before: Option<f64>,
    /// The key set the signature was verified with: a hit counts only while it is still current.
    keys: Weak<KeySet>,
    /// How long the entry may live from insertion: min(exp + leeway - now, ttl).
    lifetime: Duration,
}

impl CachedToken {
    pub fn new(
        token: Arc<VerifiedToken>,
        store: usize,
        not_before: Option<f64>,
        keys: &Arc<KeySet>,
        now: u64,
        leeway: u64,
        ttl: Duration,
    ) -> Self {
        let remaining = (token.expires_at + leeway as f64 - now as f64).max(0.0);
        CachedToken {
            token,
            store,
            not_before,
            keys: Arc::downgrade(keys),
            lifetime: Duration::from_secs_f64(remaining.min(ttl.as_secs_f64())),
        }
    }

    /// Was the signature verified with exactly this key set? (The `Weak` keeps the allocation, so the address
    /// cannot be reused by a newer set.)
    pub fn verified_with(&self, current: &Arc<KeySet>) -> bool {
        std::ptr::eq(self.keys.as_ptr(), Arc::as_ptr(current))
    }
}

struct Lifetime;

impl Expiry<TokenDigest, Arc<CachedToken>> for Lifetime {
    fn expire_after_create(
        &self,
        _key: &TokenDigest,
        value: &Arc<CachedToken>,
        _now: Instant,
    ) -> Option<Duration> {
        Some(value.lifetime)
    }
}

/// The cache itself; cheap to share (moka is internally concurrent, no global lock on the hot path).
#[derive(Clone)]
pub struct TokenCache {
    inner: Option<Cache<TokenDigest, Arc<CachedToken>>>,
    pub ttl: Duration,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("enabled", &self.inner.is_some())
            .field("entries", &self.inner.as_ref().map(|c| c.entry_count()))
            .finish()
    }
}

impl TokenCache {
    pub fn new(settings: TokenCacheSettings) -> Self {
        let inner = (settings.max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(settings.max_bytes)
                .weigher(|_: &TokenDigest, entry: &Arc<CachedToken>| weight(entry))
                .expire_after(Lifetime)
                .build()
        });
        TokenCache {
            inner,
            ttl: settings.ttl,
        }
    }

    pub fn get(&self, raw: &str) -> Option<Arc<CachedToken>> {
        self.inner.as_ref()?.get(&digest(raw))
    }

    pub fn insert(&self, raw: &str, entry: CachedToken) {
        if let Some(cache) = &self.inner {
            if !entry.lifetime.is_zero() {
                cache.insert(digest(raw), Arc::new(entry));
            }
        }
    }

    /// Drop one entry (a hit that failed its checks).
    pub fn remove(&self, raw: &str) {
        if let Some(cache) = &self.inner {
            cache.invalidate(&digest(raw));
        }
    }
}
