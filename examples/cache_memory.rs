//! Run: `cargo run --release --example cache_memory -- 100000`
//!
//! Memory of the verified-token cache: RSS before and after N distinct tokens went the proxy's way into the cache
//! (mint, parse, identify, share the class, insert; the signature check is left out, it keeps nothing). Each shape
//! runs in a fresh process, as freed memory stays in a process's RSS:
//! - `bench`: the load harness's tokens (one issuer, one SMART app, the same scopes, distinct `sub`, one fhirUser);
//! - `distinct-fhiruser`: the same with a fhirUser per token, as real users differ;
//! - `long-ids`: real-world lengths: a GUID `sub` and an absolute fhirUser with a GUID id.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use fhir_jwt_proxy::config::{AuthorityRole, Config, LoadOptions};
use fhir_jwt_proxy::demo::issuer::{self, SigningKey};
use fhir_jwt_proxy::keys::Alg;
use fhir_jwt_proxy::token::{self, TokenClass, ValidationSettings, VerifiedToken};
use fhir_jwt_proxy::token_cache::{CachedToken, TokenCache, TokenCacheSettings};
use serde_json::json;

const ISSUER: &str = "https://idp.example/realms/bench";
const SHAPES: [&str; 3] = ["bench", "distinct-fhiruser", "long-ids"];
const NOW: u64 = 1_800_000_000;

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

/// A GUID-shaped string, distinct per `i`.
fn guid(i: usize) -> String {
    let h = (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
    let s = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..]
    )
}

fn measure(n: usize, shape: &str) {
    let key = SigningKey::generate(Alg::ES256, "k").expect("key");
    let keys = Arc::new(issuer::key_set(ISSUER, &[&key]).expect("keys"));
    let config = Config::from_json(
        json!({"authenticationConfiguration": {"smartIdentityProviders": [{
            "authority": ISSUER,
            "applications": [{"clientId": "bench-app", "audience": "fhir-api", "allowedDataActions": ["Read"]}]
        }]}})
        .to_string()
        .as_bytes(),
        LoadOptions::default(),
    )
    .expect("config");
    let settings = ValidationSettings::default();
    let cache = TokenCache::new(TokenCacheSettings {
        max_bytes: 1 << 30,
        ttl: Duration::from_secs(3600),
    });
    let claims = |i: usize| {
        let (sub, fhir_user) = match shape {
            "bench" => (format!("user-{i}"), "Patient/123".to_string()),
            "distinct-fhiruser" => (format!("user-{i}"), format!("Patient/{i}")),
            _ => (
                guid(i),
                format!("https://fhir.example.org/r4/Patient/{}", guid(i + n)),
            ),
        };
        json!({
            "iss": ISSUER, "sub": sub, "aud": "fhir-api", "azp": "bench-app",
            "scp": "patient/*.read openid fhirUser", "fhirUser": fhir_user,
            "iat": NOW, "exp": NOW + 7200, "jti": i,
        })
    };
    let before = rss_kib();
    for i in 0..n {
        let raw = issuer::mint(&key, Alg::ES256, &claims(i));
        let jws = token::parse(&raw, &settings).expect("parse");
        let exp = jws.check_times(NOW, 300).expect("times");
        let verified = token::identify(&jws, &[AuthorityRole::Smart(0)], &config, &settings, exp)
            .expect("identify");
        let verified = Arc::new(cache.share_class(verified));
        cache.insert(
            &raw,
            CachedToken::new(
                verified,
                0,
                jws.not_before(),
                &keys,
                NOW,
                300,
                Duration::from_secs(3600),
            ),
        );
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib();
    println!(
        "{shape:>17}: {n} tokens cached, RSS {} MiB -> {} MiB, {:.0} bytes per cached token",
        before / 1024,
        after / 1024,
        (after.saturating_sub(before) * 1024) as f64 / n as f64
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    if let Some(shape) = args.next() {
        return measure(n, &shape);
    }
    println!(
        "size_of VerifiedToken {} CachedToken {} TokenClass {}",
        std::mem::size_of::<VerifiedToken>(),
        std::mem::size_of::<CachedToken>(),
        std::mem::size_of::<TokenClass>(),
    );
    let me = std::env::current_exe().expect("own path");
    for shape in SHAPES {
        let status = Command::new(&me)
            .args([n.to_string(), shape.to_string()])
            .status()
            .expect("run a shape");
        assert!(status.success(), "{shape}: {status}");
    }
}
