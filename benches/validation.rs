//! Criterion benches of the per-request work: token validation per algorithm, scope parsing, request
//! classification, the SMART decision, and loading a 2 × 25 application config.
//! Run: `cargo bench --bench validation` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use http::Method;
use serde_json::json;

use fhir_jwt_proxy::config::{AuthorityRole, Config, LoadOptions};
use fhir_jwt_proxy::demo::issuer::{self, SigningKey};
use fhir_jwt_proxy::keys::{Alg, KeySet};
use fhir_jwt_proxy::smart::{self, compartment::RewriteStyle, RequestLine, SmartSettings};
use fhir_jwt_proxy::token::{self, ValidationSettings};
use fhir_jwt_proxy::token_cache::{CachedToken, TokenCache, TokenCacheSettings};
use fhir_jwt_proxy::{fhir, scope};

const ISS: &str = "https://idp.example/realms/a";
const NOW: u64 = 1_800_000_000;

/// A 2 × 25 application configuration in the ARM shape.
fn config_json() -> serde_json::Value {
    let apps = |prefix: &str, audience: &str| -> Vec<serde_json::Value> {
        (0..25)
            .map(|i| json!({"clientId": format!("{prefix}app-{i}"), "audience": audience, "allowedDataActions": ["Read"]}))
            .collect()
    };
    json!({"properties": {"authenticationConfiguration": {
        "authority": "https://login.example/t", "audience": "https://fhir.example",
        "smartIdentityProviders": [
            {"authority": ISS, "applications": apps("", "fhir-api")},
            {"authority": "https://other.example", "applications": apps("b-", "fhir-b")},
        ]
    }}})
}

fn config() -> Config {
    Config::from_json(config_json().to_string().as_bytes(), LoadOptions::default()).expect("config")
}

fn key_set(key: &SigningKey) -> KeySet {
    issuer::key_set(ISS, &[key]).expect("keys")
}

fn claims() -> serde_json::Value {
    json!({
        "iss": ISS, "sub": "user-1", "aud": "fhir-api", "azp": "app-24",
        "scp": "patient/Observation.rs patient/Patient.rs patient/Condition.rs openid fhirUser launch/patient",
        "fhirUser": "Patient/123", "iat": NOW, "exp": NOW + 3600,
    })
}

/// The signature check alone, three ways, to see what the per-request key handling costs: the key parsed once
/// (what the proxy does now), jsonwebtoken's own aws-lc-rs verifier (the key rebuilt from its JWK components on every
/// call, what the proxy did before), and the floor: aws-lc-rs with a parsed key and the signature already decoded.
fn signature_only(c: &mut Criterion) {
    use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, ECDSA_P256_SHA256_FIXED};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    for alg in [Alg::RS256, Alg::ES256] {
        let key = SigningKey::generate(alg, "k1").expect("key");
        let keys = key_set(&key);
        let raw = issuer::mint(&key, alg, &claims());
        let (input, signature) = raw.rsplit_once('.').expect("jws");
        let decoded = URL_SAFE_NO_PAD.decode(signature).expect("b64");
        let jwk = key.jwk();
        let field = |name: &str| jwk[name].as_str().expect("jwk field").to_string();
        let b64 = |name: &str| URL_SAFE_NO_PAD.decode(field(name)).expect("b64");
        let (decoding_key, parsed) = if alg == Alg::RS256 {
            let (n, e) = (b64("n"), b64("e"));
            let parsed = RsaPublicKeyComponents {
                n: &n[..],
                e: &e[..],
            }
            .to_parsed_public_key(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256)
            .expect("parsed");
            let key = jsonwebtoken::DecodingKey::from_rsa_components(&field("n"), &field("e"));
            (key.expect("key"), parsed)
        } else {
            let mut point = vec![4u8];
            point.extend(b64("x"));
            point.extend(b64("y"));
            let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).expect("parsed");
            let key = jsonwebtoken::DecodingKey::from_ec_components(&field("x"), &field("y"));
            (key.expect("key"), parsed)
        };
        let settings = ValidationSettings::default();
        let jws = token::parse(&raw, &settings).expect("parse");
        c.bench_function(&format!("signature/parsed_once/{}", alg.name()), |b| {
            b.iter(|| jws.verify_signature(black_box(&keys)).expect("signature"))
        });
        c.bench_function(
            &format!("signature/jsonwebtoken_per_call/{}", alg.name()),
            |b| {
                b.iter(|| {
                    let ok = jsonwebtoken::crypto::verify(
                        black_box(signature),
                        input.as_bytes(),
                        &decoding_key,
                        alg.jsonwebtoken(),
                    );
                    assert!(ok.expect("verify"));
                })
            },
        );
        c.bench_function(&format!("signature/floor/{}", alg.name()), |b| {
            b.iter(|| {
                parsed
                    .verify_sig(black_box(input.as_bytes()), &decoded)
                    .expect("signature")
            })
        });
    }
}

fn validation(c: &mut Criterion) {
    let config = config();
    let settings = ValidationSettings::default();
    for alg in [Alg::RS256, Alg::PS256, Alg::ES256, Alg::ES384] {
        let key = SigningKey::generate(alg, "k1").expect("key");
        let keys = key_set(&key);
        let raw = issuer::mint(&key, alg, &claims());
        c.bench_function(&format!("token/validate_cold/{}", alg.name()), |b| {
            b.iter(|| {
                let jws = token::parse(black_box(&raw), &settings).expect("parse");
                jws.verify_signature(&keys).expect("signature");
                let exp = jws.check_times(NOW, 300).expect("times");
                token::identify(&jws, &[AuthorityRole::Smart(0)], &config, &settings, exp)
                    .expect("identify")
            })
        });
    }
    signature_only(c);
    let key = SigningKey::generate(Alg::RS256, "k1").expect("key");
    let raw = issuer::mint(&key, Alg::RS256, &claims());
    // The cache-hit path: lookup by the token bytes, key-set identity, exp/nbf.
    let keys = std::sync::Arc::new(key_set(&key));
    let cache = TokenCache::new(TokenCacheSettings::default());
    let jws = token::parse(&raw, &settings).expect("parse");
    let verified = token::identify(
        &jws,
        &[AuthorityRole::Smart(0)],
        &config,
        &settings,
        (NOW + 3600) as f64,
    )
    .expect("identify");
    let entry = CachedToken::new(
        std::sync::Arc::new(verified),
        0,
        None,
        &keys,
        NOW,
        300,
        std::time::Duration::from_secs(300),
    );
    cache.insert(&raw, entry);
    c.bench_function("token/cache_hit", |b| {
        b.iter(|| {
            let hit = cache.get(black_box(&raw)).expect("hit");
            assert!(hit.verified_with(&keys) && (NOW as f64) < hit.token.expires_at + 300.0);
            hit
        })
    });
    c.bench_function("token/parse_only", |b| {
        b.iter(|| token::parse(black_box(&raw), &settings).expect("parse"))
    });
}

fn smart_benches(c: &mut Criterion) {
    let scopes = "patient/Observation.rs patient/Patient.rs patient/Condition.rs?clinical-status=active openid fhirUser launch/patient offline_access";
    c.bench_function("smart/scope_parse", |b| {
        b.iter(|| scope::parse(black_box(scopes)).expect("scopes"))
    });

    let lines = [
        (Method::GET, "/Observation", Some("code=http://loinc.org|8867-4&_include=Observation:performer:Practitioner&_count=50")),
        (Method::GET, "/Patient/123", None),
        (Method::GET, "/Observation/obs-1/_history/2", None),
    ];
    c.bench_function("smart/classify", |b| {
        b.iter(|| {
            for (m, p, q) in &lines {
                black_box(fhir::request::classify(m, p, *q).expect("classify"));
            }
        })
    });

    let config = config();
    let key = SigningKey::generate(Alg::ES256, "k1").expect("key");
    let keys = key_set(&key);
    let raw = issuer::mint(&key, Alg::ES256, &claims());
    let settings = ValidationSettings::default();
    let jws = token::parse(&raw, &settings).expect("parse");
    jws.verify_signature(&keys).expect("signature");
    let verified = token::identify(
        &jws,
        &[AuthorityRole::Smart(0)],
        &config,
        &settings,
        (NOW + 3600) as f64,
    )
    .expect("identify");
    let smart_settings = SmartSettings {
        fhir_base_url: None,
        rewrite_style: RewriteStyle::Path,
    };
    c.bench_function("smart/decide_compartment_search", |b| {
        b.iter(|| {
            let line = RequestLine {
                method: &Method::GET,
                path: "/Observation",
                query: Some("code=8867-4&_count=50"),
            };
            smart::authorize(black_box(&verified), line, &smart_settings).expect("allowed")
        })
    });
    c.bench_function("smart/decide_read_own_patient", |b| {
        b.iter(|| {
            let line = RequestLine {
                method: &Method::GET,
                path: "/Patient/123",
                query: None,
            };
            smart::authorize(black_box(&verified), line, &smart_settings).expect("allowed")
        })
    });
}

fn config_load(c: &mut Criterion) {
    let text = config_json().to_string();
    c.bench_function("config/load_2x25", |b| {
        b.iter(|| {
            Config::from_json(black_box(text.as_bytes()), LoadOptions::default()).expect("config")
        })
    });
}

criterion_group!(benches, validation, smart_benches, config_load);
criterion_main!(benches);
