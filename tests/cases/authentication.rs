//! End-to-end checks through the real server: each check with a token that passes and one that fails it.

use reqwest::Method;
use serde_json::json;

use crate::support::*;
use fhir_jwt_proxy::keys::Alg;
use fhir_jwt_proxy::proxy::unix_now;

#[tokio::test]
async fn t1_h2_no_token_is_401_with_a_bare_challenge_and_nothing_forwarded() {
    let w = World::new().await;
    let p = w.proxy().await;
    let a = get(&p, "/Patient/123", None).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.challenge, "Bearer realm=\"fhir-jwt-proxy\"");
    assert_eq!(a.error_code(), None);
    assert_eq!(a.body["resourceType"], "OperationOutcome");
    assert_eq!(a.issue_code(), "login");
    assert_eq!(a.headers["content-type"], "application/fhir+json");
    assert_eq!(w.upstream.count(), 0);
    // ...and the same request with a valid token is forwarded.
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
    assert_eq!(w.upstream.count(), 1);
}

#[tokio::test]
async fn t2_h1_access_token_in_the_query_is_400() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = w.portal_token();
    let a = get(&p, &format!("/Patient/123?access_token={t}"), Some(&t)).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error_code().as_deref(), Some("invalid_request"));
    assert!(!a.challenge.contains(&t[..20]), "the token is never echoed");
    assert_eq!(w.upstream.count(), 0);
}

#[tokio::test]
async fn h1_two_authorization_headers_are_400() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = w.portal_token();
    let response = client()
        .get(url(&p, "/Patient/123"))
        .header("authorization", format!("Bearer {t}"))
        .header("authorization", format!("Bearer {t}"))
        .send()
        .await
        .expect("answer");
    let a = answer(response).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.error_code().as_deref(), Some("invalid_request"));
    assert_eq!(w.upstream.count(), 0);
}

#[tokio::test]
async fn h2_other_schemes_get_a_bare_challenge() {
    let w = World::new().await;
    let p = w.proxy().await;
    let response = client()
        .get(url(&p, "/Patient/123"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .expect("answer");
    let a = answer(response).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.error_code(), None);
}

#[tokio::test]
async fn b2_b3_t5_issuer_must_match_discovery_exactly() {
    let w = World::new().await;
    let p = w.proxy().await;
    let mut c = w.portal_claims();
    c["iss"] = json!(format!("{}/", w.smart_a.issuer()));
    let a = get(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.error_code().as_deref(), Some("invalid_token"));
    assert!(
        a.challenge.contains("iss is not a trusted issuer"),
        "{}",
        a.challenge
    );
    c["iss"] = json!("https://evil.example");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        401
    );
    assert_eq!(w.upstream.count(), 0);
}

#[tokio::test]
async fn c1_c2_a_token_from_provider_a_signed_with_provider_b_key_is_401() {
    let w = World::new().await;
    let p = w.proxy().await;
    // Claims of provider A, B's key (same kid name `rsa-1` at both providers).
    let forged = w.smart_b.mint(&w.portal_claims());
    let a = get(&p, "/Patient/123", Some(&forged)).await;
    assert_eq!(a.status, 401);
    assert!(
        a.challenge.contains("signature is invalid"),
        "{}",
        a.challenge
    );
    assert_eq!(w.upstream.count(), 0);
}

#[tokio::test]
async fn c5_expired_token_is_401_with_issue_code_expired() {
    let w = World::new().await;
    let p = w.proxy().await;
    let mut c = w.portal_claims();
    c["exp"] = json!(unix_now() - 301);
    let a = get(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.issue_code(), "expired");
    c["exp"] = json!(unix_now() - 250);
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        200,
        "C7 leeway"
    );
}

#[tokio::test]
async fn c7_clock_leeway_is_configurable() {
    let w = World::new().await;
    let p = w.proxy_with(|s| s.validation.leeway_secs = 0).await;
    let mut c = w.portal_claims();
    c["exp"] = json!(unix_now() - 5);
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        401
    );
}

#[tokio::test]
async fn d1_d2_t6_azp_and_aud_are_checked_against_the_application() {
    let w = World::new().await;
    let p = w.proxy().await;
    let mut c = w.portal_claims();
    c["aud"] = json!("fhir-clinic");
    let a = get(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await;
    assert_eq!(a.status, 401);
    assert!(
        a.challenge
            .contains("aud does not match application portal"),
        "{}",
        a.challenge
    );
    c["azp"] = json!("clinic");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        200
    );
    c["azp"] = json!("stranger");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        401
    );
}

#[tokio::test]
async fn d3_d4_t8_scp_and_fhir_user_are_required() {
    let w = World::new().await;
    let p = w.proxy().await;
    let mut c = w.portal_claims();
    c.as_object_mut().expect("object").remove("scp");
    let a = get(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await;
    assert_eq!(
        (a.status, a.error_code().as_deref()),
        (401, Some("invalid_token"))
    );
    assert!(a.challenge.contains("scp is missing"));

    let mut c = w.portal_claims();
    c.as_object_mut().expect("object").remove("fhirUser");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        401
    );
    c["extension_fhirUser"] = json!("Patient/123");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        200
    );
    assert_eq!(w.upstream.last().headers["x-fhir-user"], "Patient/123");
}

#[tokio::test]
async fn f4_t15_a_read_only_application_may_not_write() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = w.portal_token();
    for (method, path) in [
        (Method::POST, "/Observation"),
        (Method::DELETE, "/Patient/123"),
        (Method::POST, "/"),
        (Method::POST, "/Observation/_search"),
        (Method::PUT, "/Patient/123"),
        (Method::PATCH, "/Patient/123"),
    ] {
        let a = send(&p, method.clone(), path, Some(&t)).await;
        assert_eq!(a.status, 403, "{method} {path}");
        assert_eq!(a.error_code().as_deref(), Some("insufficient_scope"));
        assert_eq!(a.issue_code(), "forbidden");
    }
    assert_eq!(w.upstream.count(), 0);
    assert_eq!(
        send(&p, Method::HEAD, "/Patient/123", Some(&t))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn t18_f1_metadata_and_smart_configuration_need_no_token() {
    let w = World::new().await;
    let p = w.proxy().await;
    assert_eq!(status(&p, "/metadata", None).await, 200);
    assert_eq!(
        status(&p, "/.well-known/smart-configuration", None).await,
        200
    );
    assert_eq!(w.upstream.count(), 2);
    assert_eq!(status(&p, "/metadata/x", None).await, 401);
}

#[tokio::test]
async fn g1_q10_primary_tokens_pass_through_and_need_the_primary_audience() {
    let w = World::new().await;
    let p = w.proxy().await;
    // Passthrough: even a write (Azure grants it by role, which the proxy cannot see).
    assert_eq!(
        send(&p, Method::POST, "/Patient", Some(&w.primary_token()))
            .await
            .status,
        200
    );
    let now = unix_now();
    let wrong = w
        .primary
        .mint(&json!({"iss": w.primary.issuer(), "aud": "https://other", "exp": now + 60}));
    let a = get(&p, "/Patient/1", Some(&wrong)).await;
    assert_eq!(a.status, 401);
    assert!(a.challenge.contains("primary audience"));
}

#[tokio::test]
async fn q10_enforce_mode_makes_primary_tokens_read_only_smart_tokens() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| {
            s.validation.primary_authorization =
                Some(fhir_jwt_proxy::config::PrimaryAuthorization::Smart)
        })
        .await;
    assert_eq!(
        status(&p, "/Patient/1", Some(&w.primary_token())).await,
        401,
        "no scp/fhirUser"
    );
    let now = unix_now();
    let smart = w.primary.mint(&json!({
        "iss": w.primary.issuer(), "aud": "https://fhir.example", "exp": now + 60,
        "scp": "patient/*.read", "fhirUser": "Patient/1",
    }));
    assert_eq!(status(&p, "/Patient/1", Some(&smart)).await, 200);
    assert_eq!(
        send(&p, Method::POST, "/Patient", Some(&smart))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn c2_es256_tokens_of_the_second_provider_are_accepted() {
    let w = World::new().await;
    let p = w.proxy().await;
    let now = unix_now();
    let claims = json!({
        "iss": w.smart_b.issuer(), "aud": "fhir-sched", "azp": "sched", "scp": "user/*.read",
        "fhirUser": "Practitioner/9", "exp": now + 60,
    });
    let t = w.smart_b.mint_with(&w.smart_b.ec, Alg::ES256, &claims);
    assert_eq!(status(&p, "/Schedule", Some(&t)).await, 200);
    // The same claims signed by provider A's key are refused.
    let t = w.smart_a.mint_with(&w.smart_a.ec, Alg::ES256, &claims);
    assert_eq!(status(&p, "/Schedule", Some(&t)).await, 401);
}

#[tokio::test]
async fn d6_absolute_fhir_user_outside_the_configured_base_is_403() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.smart.fhir_base_url = url::Url::parse("https://fhir.example/r4").ok())
        .await;
    let mut c = w.portal_claims();
    c["fhirUser"] = json!("https://fhir.example/r4/Patient/123");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        200
    );
    c["fhirUser"] = json!("https://elsewhere.example/r4/Patient/123");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        403
    );
}

#[tokio::test]
async fn c11_oversized_token_is_refused_without_echo() {
    let w = World::new().await;
    let p = w.proxy_with(|s| s.validation.max_token_bytes = 2048).await;
    let mut c = w.portal_claims();
    c["padding"] = json!("x".repeat(4000));
    let a = get(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await;
    assert_eq!(a.status, 401);
    assert!(a.challenge.contains("maximum size"));
    assert_eq!(w.upstream.count(), 0);
}
