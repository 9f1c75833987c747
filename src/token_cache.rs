//! The verified-token cache: a token whose signature was checked once is not checked again while it lives.
//!
//! In: the raw token and the [`VerifiedToken`] the full validation produced. Out: on a later request with the same
//! token bytes, the verified token again, without signature work. A hit still checks `exp`/`nbf` against the clock
//! and still goes through the per-request SMART authorization; and it counts only while the issuer's key set is the
//! one the token was verified with, so a key removed by a refresh does not live on in the cache.
//! Entries live `min(exp - now, ttl)`, bounded by weight (an estimate of each entry's heap bytes). The key is the
//! SHA-256 of the token, not the token: a hash collision is as infeasible as forging the signature.
//!
//! Memory (the budget: 100,000 cached tokens within 64 MiB): moka's own bookkeeping is ≈ 410 bytes an entry, so what
//! we add is kept small. The entry's value sits inline in moka's entry; the token is one 56-byte allocation plus
//! one string (the user key and `fhirUser`); what tokens of one issuer, client and scope string share (the scopes
//! and their parsed grants) is kept once, through [`TokenCache::share_class`]. ≈ 520 bytes a token in all
//! (`examples/cache_memory.rs`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use moka::sync::Cache;
use moka::Expiry;

use crate::jwk::KeySet;
use crate::scope::Grant;
use crate::token::{TokenClass, VerifiedToken};

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
            max_bytes: crate::defaults::TOKEN_CACHE_BYTES,
            ttl: Duration::from_secs(crate::defaults::TOKEN_CACHE_TTL_SECS),
        }
    }
}

/// Per entry besides the token's strings and its share of a class: moka's bookkeeping (the key, the hash-table
/// slot, the deque and timer-wheel nodes, this 32-byte value) ≈ 410 bytes, and the `Arc<VerifiedToken>` allocation
/// (80). Measured with `examples/cache_memory.rs`.
const ENTRY_OVERHEAD: usize = 410 + 80;

/// The allocator's cost of one allocation besides the bytes asked for (a header and rounding).
const ALLOCATION: usize = 16;

/// At most this many distinct token classes are kept for sharing (see [`TokenCache::share_class`]).
const MAX_CLASSES: usize = 1024;

/// The cache key: SHA-256 of the token bytes.
type TokenDigest = [u8; 32];

fn digest(raw: &str) -> TokenDigest {
    let mut out = [0u8; 32];
    out.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, raw.as_bytes()).as_ref(),
    );
    out
}

/// An estimate of an entry's heap bytes, for the cache's weight bound. A class shared by n cached tokens is
/// charged 1/n to each (n when the entry is added; later sharers make earlier charges too high, never too low).
fn weight(entry: &CachedToken) -> u32 {
    let token = &entry.token;
    let own = token.own_heap_bytes() + ALLOCATION;
    let class = token.class();
    // One reference is the sharing set's (when it holds the class); the others are tokens.
    let sharers = Arc::strong_count(class).saturating_sub(1).max(1);
    let bytes = ENTRY_OVERHEAD + own + class_bytes(class) / sharers;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// Heap bytes of one token class: the struct, its strings and the parsed grants.
fn class_bytes(class: &TokenClass) -> usize {
    let grants = &class.grants.grants;
    let constraints: usize = grants
        .iter()
        .map(|g| {
            g.constraints.capacity() * std::mem::size_of::<(String, String)>()
                + g.constraints
                    .iter()
                    .map(|(k, v)| k.capacity() + v.capacity() + 2 * ALLOCATION)
                    .sum::<usize>()
        })
        .sum();
    std::mem::size_of::<TokenClass>()
        + 2 * std::mem::size_of::<usize>()
        + class.issuer.len()
        + class.client_id.as_ref().map_or(0, |c| c.len() + ALLOCATION)
        + class.scopes.as_ref().map_or(0, |s| s.len() + ALLOCATION)
        + grants.capacity() * std::mem::size_of::<Grant>()
        + constraints
        + 4 * ALLOCATION
        // The class's identity header values (made on first use, counted from the start): copies of the issuer,
        // client id and scopes.
        + class.issuer.len()
        + class.client_id.as_ref().map_or(0, |c| c.len())
        + class.scopes.as_ref().map_or(0, |s| s.len())
        + 3 * ALLOCATION
}

/// One verified token, stored inline in the cache's own entry (no allocation of its own): 32 bytes.
#[derive(Debug, Clone)]
pub struct CachedToken {
    pub token: Arc<VerifiedToken>,
    /// C6: `nbf` (−∞ when absent), rechecked on every hit (with leeway) like `exp`.
    not_before: f64,
    /// [`KeySet::serial`] of the key set the signature was verified with: a hit counts only while it is current.
    key_set: u64,
    /// Index of the issuer's key store in the snapshot.
    store: u32,
    /// How long the entry may live from insertion, in milliseconds (rounded up): min(exp + leeway - now, ttl).
    lifetime_ms: u32,
}

impl CachedToken {
    pub fn new(
        token: Arc<VerifiedToken>,
        store: usize,
        not_before: Option<f64>,
        keys: &KeySet,
        now: u64,
        leeway: u64,
        ttl: Duration,
    ) -> Self {
        let remaining = (token.expires_at + leeway as f64 - now as f64).max(0.0);
        let lifetime = remaining.min(ttl.as_secs_f64());
        CachedToken {
            token,
            not_before: not_before.unwrap_or(f64::NEG_INFINITY),
            key_set: keys.serial(),
            // Past u32::MAX the lookup finds no store: a miss, never a wrong store.
            store: u32::try_from(store).unwrap_or(u32::MAX),
            // Saturating: a lifetime over 49 days is cut to 49 days (the weight bound and `exp` still apply).
            lifetime_ms: (lifetime * 1000.0).ceil() as u32,
        }
    }

    /// Index of the issuer's key store in the snapshot.
    pub fn store(&self) -> usize {
        self.store as usize
    }

    /// C6: `nbf`, if the token had one.
    pub fn not_before(&self) -> Option<f64> {
        (self.not_before > f64::NEG_INFINITY).then_some(self.not_before)
    }

    /// Was the signature verified with exactly this key set?
    pub fn verified_with(&self, current: &KeySet) -> bool {
        self.key_set == current.serial()
    }

    fn lifetime(&self) -> Duration {
        Duration::from_millis(self.lifetime_ms.into())
    }
}

struct Lifetime;

impl Expiry<TokenDigest, CachedToken> for Lifetime {
    fn expire_after_create(
        &self,
        _key: &TokenDigest,
        value: &CachedToken,
        _now: Instant,
    ) -> Option<Duration> {
        Some(value.lifetime())
    }
}

/// The cache itself; cheap to share (moka is internally concurrent, no global lock on the hot path).
#[derive(Clone)]
pub struct TokenCache {
    inner: Option<Cache<TokenDigest, CachedToken>>,
    /// The token classes the cached tokens share. Per snapshot, like the cache: a class names config indices.
    classes: Arc<Mutex<HashSet<Arc<TokenClass>>>>,
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
                .weigher(|_: &TokenDigest, entry: &CachedToken| weight(entry))
                .expire_after(Lifetime)
                .build()
        });
        TokenCache {
            inner,
            classes: Arc::default(),
            ttl: settings.ttl,
        }
    }

    /// The token with the class an earlier token of the same issuer, client and scopes brought, if one is kept:
    /// 100,000 tokens of one app then hold one copy of its scopes and grants, not 100,000. A miss only: a hit
    /// takes no lock. Bounded, as a client may ask for any scope string: past [`MAX_CLASSES`], the classes no
    /// token holds any more are dropped, and if most are still held, all are (later tokens share anew; nothing is
    /// wrong, only larger).
    pub fn share_class(&self, mut token: VerifiedToken) -> VerifiedToken {
        if self.inner.is_none() {
            return token;
        }
        let mut classes = self.classes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = classes.get(&**token.class()) {
            token.share_class(shared);
            return token;
        }
        if classes.len() >= MAX_CLASSES {
            classes.retain(|c| Arc::strong_count(c) > 1);
            if classes.len() >= MAX_CLASSES / 2 {
                classes.clear();
            }
        }
        classes.insert(Arc::clone(token.class()));
        token
    }

    pub fn get(&self, raw: &str) -> Option<CachedToken> {
        self.inner.as_ref()?.get(&digest(raw))
    }

    pub fn insert(&self, raw: &str, entry: CachedToken) {
        if let Some(cache) = &self.inner {
            if entry.lifetime_ms > 0 {
                cache.insert(digest(raw), entry);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthorityRole;
    use crate::scope;
    use crate::token::FhirUser;

    fn token(sub: &str, scopes: &str) -> VerifiedToken {
        let class = TokenClass {
            role: AuthorityRole::Smart(0),
            issuer: "https://idp.example".into(),
            application: Some(0),
            client_id: Some("portal".into()),
            scopes: Some(scopes.into()),
            smart: true,
            grants: scope::parse(scopes).expect("scopes"),
            roles: None,
            headers: Default::default(),
        };
        VerifiedToken::new(
            Arc::new(class),
            Some(sub),
            FhirUser::parse("Patient/1"),
            4e9,
            Vec::new(),
        )
        .expect("token")
    }

    fn cache() -> TokenCache {
        TokenCache::new(TokenCacheSettings::default())
    }

    #[test]
    fn tokens_of_one_class_share_it_and_keep_their_own_strings() {
        let cache = cache();
        let a = cache.share_class(token("a", "patient/*.read openid"));
        // The class's header values, once made, do not keep the next token of the class from sharing it.
        let [issuer, client, scopes] = a.class_header_values();
        assert_eq!(
            issuer.as_ref().map(|v| v.as_bytes()),
            Some(&b"https://idp.example"[..])
        );
        assert_eq!(client.as_ref().map(|v| v.as_bytes()), Some(&b"portal"[..]));
        assert_eq!(
            scopes.as_ref().map(|v| v.as_bytes()),
            Some(&b"patient/*.read openid"[..])
        );
        let b = cache.share_class(token("b", "patient/*.read openid"));
        let c = cache.share_class(token("c", "patient/Observation.rs"));
        assert!(Arc::ptr_eq(a.class(), b.class()));
        assert!(std::ptr::eq(
            a.class_header_values(),
            b.class_header_values()
        ));
        assert!(!Arc::ptr_eq(a.class(), c.class()));
        assert_eq!((a.subject(), b.subject()), (Some("a"), Some("b")));
        assert_eq!(b.scopes(), Some("patient/*.read openid"));
        assert_eq!(
            c.grants(),
            &scope::parse("patient/Observation.rs").expect("scopes")
        );
    }

    #[test]
    fn a_disabled_cache_shares_nothing() {
        let cache = TokenCache::new(TokenCacheSettings {
            max_bytes: 0,
            ..TokenCacheSettings::default()
        });
        let a = cache.share_class(token("a", "openid"));
        let b = cache.share_class(token("b", "openid"));
        assert!(!Arc::ptr_eq(a.class(), b.class()));
    }

    #[test]
    fn the_shared_classes_stay_bounded_whatever_scope_strings_arrive() {
        let cache = cache();
        // Every class still held by a token: past the bound, all are dropped.
        let held: Vec<_> = (0..3 * MAX_CLASSES)
            .map(|i| cache.share_class(token("u", &format!("openid s{i}"))))
            .collect();
        assert!(cache.classes.lock().expect("lock").len() <= MAX_CLASSES);
        drop(held);
        // None held any more: the sweep drops them, and sharing goes on for what is used now.
        let a = cache.share_class(token("a", "openid"));
        let kept = cache.classes.lock().expect("lock").len();
        assert!(kept <= MAX_CLASSES / 2, "{kept}");
        let b = cache.share_class(token("b", "openid"));
        assert!(Arc::ptr_eq(a.class(), b.class()));
    }

    #[test]
    fn a_shared_class_weighs_less_than_an_own_one() {
        let cache = cache();
        let keys = crate::demo::issuer::key_set(
            "https://idp.example",
            &[
                &crate::demo::issuer::SigningKey::generate(crate::keys::Alg::ES256, "k")
                    .expect("key"),
            ],
        )
        .expect("keys");
        let entry = |t: VerifiedToken| {
            CachedToken::new(Arc::new(t), 0, None, &keys, 0, 0, Duration::from_secs(60))
        };
        let scopes = "patient/*.rs patient/Observation.rs?category=laboratory openid";
        let own = weight(&entry(token("a", scopes)));
        let first = cache.share_class(token("a", scopes));
        let shared: Vec<_> = (0..10)
            .map(|i| cache.share_class(token(&format!("u{i}"), scopes)))
            .collect();
        let later = weight(&entry(shared[9].clone()));
        assert!(later < own, "{later} < {own}");
        // Never below what the entry itself costs.
        assert!(later as usize >= ENTRY_OVERHEAD, "{later}");
        drop(first);
    }

    #[test]
    fn a_hit_counts_only_with_the_key_set_it_was_verified_with() {
        let key =
            crate::demo::issuer::SigningKey::generate(crate::keys::Alg::ES256, "k").expect("key");
        let set =
            |_: ()| crate::demo::issuer::key_set("https://idp.example", &[&key]).expect("keys");
        let (old, new) = (set(()), set(()));
        let entry = CachedToken::new(
            Arc::new(token("a", "openid")),
            2,
            Some(5.0),
            &old,
            0,
            0,
            Duration::from_secs(60),
        );
        assert!(entry.verified_with(&old));
        assert!(
            !entry.verified_with(&new),
            "an equal but newer set is another set"
        );
        assert_eq!((entry.store(), entry.not_before()), (2, Some(5.0)));
        let without_nbf = CachedToken::new(
            entry.token.clone(),
            0,
            None,
            &old,
            0,
            0,
            Duration::from_secs(60),
        );
        assert_eq!(without_nbf.not_before(), None);
    }
}
