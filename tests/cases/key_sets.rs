//! Discovery, key refresh and readiness against a live local issuer (rules B1, B5, B6, B8).

use std::sync::Arc;
use std::time::Duration;

use fhir_jwt_proxy::demo::issuer::{sign_compact, Behaviour, SigningKey};
use fhir_jwt_proxy::keys::Alg;

use crate::support::*;

#[tokio::test]
async fn b5_a_rotated_key_is_honoured_after_one_refetch() {
    let w = World::new().await;
    let p = w.proxy().await;
    let before = w.smart_a.jwks_fetches();
    let new_key = Arc::new(SigningKey::generate(Alg::RS256, "rsa-2").expect("key"));
    w.smart_a
        .publish(vec![new_key.clone(), w.smart_a.rsa.clone()]);
    let t = w
        .smart_a
        .mint_with(&new_key, Alg::RS256, &w.portal_claims());
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    assert_eq!(w.smart_a.jwks_fetches(), before + 1, "exactly one refetch");
    // Known kid: no further fetch.
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    assert_eq!(w.smart_a.jwks_fetches(), before + 1);
}

#[tokio::test]
async fn b5_unknown_kid_flood_causes_at_most_one_fetch_per_cooldown() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.refresh.refetch_cooldown = Duration::from_secs(600))
        .await;
    let before = w.smart_a.jwks_fetches();
    // 10,000 requests with random kids (signed with a key the provider never published), 100 at a time, while a
    // valid token is sent after every 100: the flood gets 401s, the valid requests keep getting 200.
    let stranger = Arc::new(SigningKey::generate(Alg::RS256, "unused").expect("key"));
    let claims = w.portal_claims().to_string();
    let valid = w.portal_token();
    let c = client();
    let mut flood_statuses = std::collections::BTreeMap::<u16, u32>::new();
    let mut valid_statuses = Vec::new();
    for round in 0..100u32 {
        let mut batch = Vec::new();
        for i in 0..100u32 {
            let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"random-{round}-{i}"}}"#);
            let t = sign_compact(&stranger, Alg::RS256, header.as_bytes(), claims.as_bytes());
            let req = c.get(url(&p, "/Patient/123")).bearer_auth(t);
            batch.push(tokio::spawn(async move {
                req.send().await.map(|r| r.status().as_u16())
            }));
        }
        let ok = c
            .get(url(&p, "/Patient/123"))
            .bearer_auth(&valid)
            .send()
            .await
            .map(|r| r.status().as_u16());
        valid_statuses.push(ok.unwrap_or(0));
        for t in batch {
            *flood_statuses
                .entry(t.await.expect("task").unwrap_or(0))
                .or_default() += 1;
        }
    }
    assert_eq!(
        flood_statuses.get(&401),
        Some(&10_000),
        "{flood_statuses:?}"
    );
    assert!(
        valid_statuses.iter().all(|s| *s == 200),
        "{valid_statuses:?}"
    );
    let fetches = w.smart_a.jwks_fetches() - before;
    assert!(fetches <= 1, "JWKS fetches during the flood: {fetches}");
    assert_eq!(
        w.upstream.count(),
        100,
        "only the valid requests were forwarded"
    );
}

#[tokio::test]
async fn b6_a_failed_refetch_keeps_the_last_good_keys() {
    let w = World::new().await;
    let p = w.proxy().await;
    w.smart_a.set_behaviour(Behaviour::Fail);
    let stranger = SigningKey::generate(Alg::ES256, "unknown").expect("key");
    let t = w
        .smart_a
        .mint_with(&stranger, Alg::ES256, &w.portal_claims());
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 401);
    // The cached set still verifies tokens of known keys.
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
}

#[tokio::test]
async fn b6_an_authority_down_at_start_is_retried_and_readiness_names_it() {
    let w = World::new().await;
    w.smart_b.set_behaviour(Behaviour::Fail);
    let p = start_proxy(&w.config(), &w.upstream.base_url(), |_| {}).await;
    // The other providers load; B does not.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let stores = &p.state.load().keys.stores;
        if stores.iter().filter(|s| s.current().is_some()).count() == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "A and primary never loaded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Ready by default (`--ready-when any`): one provider down does not stall a rollout; /readyz names it.
    let (code, body) = readyz(&p).await;
    assert_eq!(code, 200, "{body}");
    let not_ready: Vec<&str> = body["authorities"]
        .as_array()
        .expect("authorities")
        .iter()
        .filter(|a| a["ready"] == false)
        .filter_map(|a| a["authority"].as_str())
        .collect();
    assert_eq!(not_ready, vec![w.smart_b.issuer()]);
    // Under `--ready-when all`, not ready while B is down.
    let strict = start_proxy(&w.config(), &w.upstream.base_url(), |s| {
        s.ready_when = fhir_jwt_proxy::server::ReadyWhen::All
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(readyz(&strict).await.0, 503);
    // Tokens of the working provider pass.
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
    // B's tokens are 401, not 5xx.
    let b_token = w.sched_token();
    let a = get(&p, "/Schedule", Some(&b_token)).await;
    assert_eq!(a.status, 401);
    // ... and say why: B's keys are not there yet (not "unknown issuer", which would send an operator astray).
    assert!(a.challenge.contains("not available yet"), "{}", a.challenge);
    // A token of an issuer nobody configured is still an unknown issuer.
    let stranger = crate::support::World::new().await;
    let a = get(&p, "/Schedule", Some(&stranger.sched_token())).await;
    assert_eq!(a.status, 401);
    assert!(
        a.challenge.contains("not a trusted issuer"),
        "{}",
        a.challenge
    );
    // B comes back: the retry picks it up and the proxy becomes ready.
    w.smart_b.set_behaviour(Behaviour::Normal);
    wait_ready(&p).await;
    assert_eq!(readyz(&p).await.0, 200);
    assert_eq!(status(&p, "/Schedule", Some(&b_token)).await, 200);
}

#[tokio::test]
async fn b1_garbage_metadata_keeps_the_authority_not_ready() {
    let w = World::new().await;
    w.smart_a.set_behaviour(Behaviour::Garbage);
    // Every authority must be ready (the default, `any`, would be ready on the other two).
    let p = start_proxy(&w.config(), &w.upstream.base_url(), |s| {
        s.ready_when = fhir_jwt_proxy::server::ReadyWhen::All
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, body) = readyz(&p).await;
    assert_eq!(code, 503);
    let text = body.to_string();
    assert!(text.contains("not valid JSON"), "{text}");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        401
    );
}

#[tokio::test]
async fn b5_a_hanging_authority_times_out_instead_of_blocking_requests() {
    let w = World::new().await;
    let p = w.proxy().await;
    w.smart_a.set_behaviour(Behaviour::Hang);
    let stranger = SigningKey::generate(Alg::ES256, "unknown").expect("key");
    let t = w
        .smart_a
        .mint_with(&stranger, Alg::ES256, &w.portal_claims());
    let started = std::time::Instant::now();
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 401);
    // The fetch timeout (2 s in the tests) bounds the wait; the answer is 401, not a hang.
    assert!(started.elapsed() < Duration::from_secs(10));
    w.smart_a.set_behaviour(Behaviour::Normal);
}

#[tokio::test]
async fn b1_an_oversized_discovery_document_is_refused() {
    let w = World::new().await;
    w.smart_a.set_behaviour(Behaviour::Huge);
    // Every authority must be ready (the default, `any`, would be ready on the other two).
    let p = start_proxy(&w.config(), &w.upstream.base_url(), |s| {
        s.ready_when = fhir_jwt_proxy::server::ReadyWhen::All
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (code, body) = readyz(&p).await;
    assert_eq!(code, 503);
    assert!(body.to_string().contains("larger than"), "{body}");
    // It recovers when the provider does.
    w.smart_a.set_behaviour(Behaviour::Normal);
    wait_ready(&p).await;
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
}

#[tokio::test]
async fn b6_a_key_set_older_than_the_max_staleness_is_refused_and_recovers() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| {
            s.refresh.interval = Duration::from_millis(300);
            s.refresh.floor = Duration::from_millis(300);
            s.refresh.max_stale = Some(Duration::from_millis(1500));
        })
        .await;
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
    // Provider A stops answering: its last good set is kept until it is 1.5 s old, then refused.
    w.smart_a.set_behaviour(Behaviour::Fail);
    let refused = async {
        for _ in 0..100 {
            let a = get(&p, "/Patient/123", Some(&w.portal_token())).await;
            if a.status == 401 {
                return Some(a);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
    .await
    .expect("the stale key set is refused within 5 s");
    assert!(
        refused.challenge.contains("not available"),
        "{}",
        refused.challenge
    );
    let (code, body) = readyz(&p).await;
    assert_eq!(code, 200, "provider B and the primary still serve: {body}");
    let a = body["authorities"]
        .as_array()
        .expect("authorities")
        .iter()
        .find(|a| a["authority"] == w.smart_a.issuer())
        .expect("A listed")
        .clone();
    assert_eq!(
        (a["ready"].clone(), a["stale"].clone()),
        (serde_json::json!(false), serde_json::json!(true)),
        "{a}"
    );
    let metrics = metrics_text(&p).await;
    assert!(
        metrics.contains(&format!(
            "fhir_jwt_proxy_authority_up{{authority=\"{}\"}} 0",
            w.smart_a.issuer()
        )),
        "{metrics}"
    );
    // The provider comes back: the next refresh makes its tokens valid again.
    w.smart_a.set_behaviour(Behaviour::Normal);
    let mut back = false;
    for _ in 0..100 {
        if status(&p, "/Patient/123", Some(&w.portal_token())).await == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(back, "recovered once the provider answered");
}

/// A small HTTP forward proxy on loopback: it records the absolute-form request targets it is asked for and fetches
/// them itself.
async fn forward_proxy() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    tokio::sync::watch::Sender<bool>,
) {
    use fhir_jwt_proxy::body::full;
    use fhir_jwt_proxy::connections::{serve, ConnectionLimits};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let s = seen.clone();
    tokio::spawn(serve(
        listener,
        ConnectionLimits::default(),
        rx,
        move |req, _| {
            let seen = s.clone();
            async move {
                let target = req.uri().to_string();
                if let Ok(mut seen) = seen.lock() {
                    seen.push(target.clone());
                }
                let answer = client().get(&target).send().await;
                match answer {
                    Ok(r) => {
                        let status = r.status();
                        let bytes = r.bytes().await.unwrap_or_default();
                        let mut out = http::Response::new(full(bytes));
                        *out.status_mut() = status;
                        out
                    }
                    Err(_) => {
                        let mut out = http::Response::new(full(bytes::Bytes::new()));
                        *out.status_mut() = http::StatusCode::BAD_GATEWAY;
                        out
                    }
                }
            }
        },
    ));
    (format!("http://{addr}"), seen, tx)
}

#[tokio::test]
async fn discovery_and_jwks_go_through_the_egress_proxy_and_the_upstream_does_not() {
    let w = World::new().await;
    let (proxy_url, recorded, _stop) = forward_proxy().await;
    let p = w
        .proxy_with(|s| {
            s.egress = fhir_jwt_proxy::discovery::EgressProxy::Explicit(
                url::Url::parse(&proxy_url).expect("url"),
            )
        })
        .await;
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
    let seen = recorded.lock().map(|s| s.clone()).unwrap_or_default();
    for issuer in [w.primary.issuer(), w.smart_a.issuer(), w.smart_b.issuer()] {
        assert!(
            seen.iter()
                .any(|u| u == &format!("{issuer}/.well-known/openid-configuration")),
            "discovery of {issuer} did not go through the egress proxy: {seen:?}"
        );
        assert!(
            seen.iter()
                .any(|u| u.starts_with(issuer) && u.contains("jwks")),
            "{seen:?}"
        );
    }
    assert!(
        !seen
            .iter()
            .any(|u| u.contains(&w.upstream.addr.to_string())),
        "the upstream FHIR server is never reached through the egress proxy: {seen:?}"
    );
    // Without it (the tests' default is no proxy at all), nothing goes there.
    let before = seen.len();
    let direct = w.proxy().await;
    assert_eq!(
        status(&direct, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
    assert_eq!(recorded.lock().map(|s| s.len()).unwrap_or(0), before);
}
