//! The verified-token cache, both ways: a repeated token is served from the cache, and a cached token still fails
//! on its clock checks and when the key it was verified with is gone.

use std::sync::Arc;
use std::time::Duration;

use fhir_jwt_proxy::demo::issuer::SigningKey;
use fhir_jwt_proxy::keys::Alg;
use fhir_jwt_proxy::proxy::unix_now;
use fhir_jwt_proxy::token_cache::TokenCacheSettings;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_verified_token_is_cached_and_served_again() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = w.portal_token();
    assert!(p.state.load().token_cache.get(&t).is_none());
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    assert!(
        p.state.load().token_cache.get(&t).is_some(),
        "inserted after verification"
    );
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    // Refused tokens are never cached.
    let mut c = w.portal_claims();
    c["aud"] = json!("other");
    let bad = w.smart_a.mint(&c);
    assert_eq!(status(&p, "/Patient/123", Some(&bad)).await, 401);
    assert!(p.state.load().token_cache.get(&bad).is_none());
}

#[tokio::test]
async fn a_cached_token_still_expires() {
    let w = World::new().await;
    let p = w.proxy_with(|s| s.validation.leeway_secs = 0).await;
    let mut c = w.portal_claims();
    c["exp"] = json!(unix_now() + 2);
    let t = w.smart_a.mint(&c);
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let a = get(&p, "/Patient/123", Some(&t)).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.issue_code(), "expired");
}

#[tokio::test]
async fn a_cached_token_still_goes_through_smart_authorization() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = w.portal_token();
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    assert_eq!(
        status(&p, "/Patient/456", Some(&t)).await,
        404,
        "compartment still enforced on a hit"
    );
    assert_eq!(
        send(&p, reqwest::Method::DELETE, "/Patient/123", Some(&t))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn a_removed_key_does_not_live_on_in_the_cache() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.refresh.refetch_cooldown = Duration::ZERO)
        .await;
    let old = Arc::new(SigningKey::generate(Alg::RS256, "old").expect("key"));
    let new = Arc::new(SigningKey::generate(Alg::RS256, "new").expect("key"));
    w.smart_a.publish(vec![old.clone()]);
    let old_token = w.smart_a.mint_with(&old, Alg::RS256, &w.portal_claims());
    assert_eq!(
        status(&p, "/Patient/123", Some(&old_token)).await,
        200,
        "old key fetched on first use"
    );
    assert!(p.state.load().token_cache.get(&old_token).is_some());
    // The provider rotates the old key out; a token with the new kid makes the proxy refetch.
    w.smart_a.publish(vec![new.clone()]);
    let new_token = w.smart_a.mint_with(&new, Alg::RS256, &w.portal_claims());
    assert_eq!(status(&p, "/Patient/123", Some(&new_token)).await, 200);
    // The cached old token was verified with a key set that is no longer current: verified again, and refused.
    let a = get(&p, "/Patient/123", Some(&old_token)).await;
    assert_eq!(a.status, 401);
    assert!(a.challenge.contains("kid"), "{}", a.challenge);
}

#[tokio::test]
async fn a_disabled_cache_caches_nothing() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| {
            s.token_cache = TokenCacheSettings {
                max_bytes: 0,
                ..TokenCacheSettings::default()
            }
        })
        .await;
    let t = w.portal_token();
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    assert!(p.state.load().token_cache.get(&t).is_none());
}
