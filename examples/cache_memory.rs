//! Run: `cargo run --release --example cache_memory -- 100000`
//!
//! Memory of the verified-token cache alone: RSS before and after caching N distinct verified tokens shaped like
//! the load harness's (one issuer, a SMART application, four scopes, a Patient fhirUser).

use std::sync::Arc;
use std::time::Duration;

use fhir_jwt_proxy::config::AuthorityRole;
use fhir_jwt_proxy::keys::Alg;
use fhir_jwt_proxy::smart::scope;
use fhir_jwt_proxy::token::{FhirUser, VerifiedToken};
use fhir_jwt_proxy::token_cache::{CachedToken, TokenCache, TokenCacheSettings};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let key = fhir_jwt_proxy::demo::issuer::SigningKey::generate(Alg::ES256, "k").expect("key");
    let keys = Arc::new(
        fhir_jwt_proxy::demo::issuer::key_set("http://127.0.0.1:40000/realms/bench", &[&key])
            .expect("keys"),
    );
    let cache = TokenCache::new(TokenCacheSettings {
        max_bytes: 1 << 30,
        ttl: Duration::from_secs(3600),
    });
    let scopes = "patient/*.read openid fhirUser";
    eprintln!(
        "size_of VerifiedToken {} CachedToken {} GrantSet {} FhirUser {}",
        std::mem::size_of::<VerifiedToken>(),
        std::mem::size_of::<CachedToken>(),
        std::mem::size_of::<scope::GrantSet>(),
        std::mem::size_of::<FhirUser>()
    );
    let before = rss_kib();
    for i in 0..n {
        let token = VerifiedToken {
            role: AuthorityRole::Smart(0),
            issuer: "http://127.0.0.1:40000/realms/bench".into(),
            application: Some(0),
            subject: Some(format!("user-{i}")),
            client_id: Some("bench-app".into()),
            scopes: Some(scopes.into()),
            fhir_user: FhirUser::parse("Patient/123"),
            expires_at: 4_000_000_000.0,
            smart: true,
            grants: scope::parse(scopes).expect("scopes"),
            mapped_headers: Vec::new(),
        };
        let raw = format!("token-{i}");
        cache.insert(
            &raw,
            CachedToken::new(
                Arc::new(token),
                0,
                None,
                &keys,
                1_800_000_000,
                300,
                Duration::from_secs(3600),
            ),
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib();
    let hits = (0..n)
        .filter(|i| cache.get(&format!("token-{i}")).is_some())
        .count();
    println!(
        "{n} tokens cached ({hits} found): RSS {} MiB -> {} MiB, {:.0} bytes per cached token",
        before / 1024,
        after / 1024,
        (after.saturating_sub(before) * 1024) as f64 / n as f64
    );
}
