//! What reaches the upstream, and what the client gets when the upstream fails.

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn h9_identity_headers_are_set_by_the_proxy_and_client_copies_are_stripped() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = w.portal_token();
    let response = client()
        .get(url(&p, "/Medication?code=8867-4&form=tablet"))
        .bearer_auth(&t)
        .header("x-fhir-user", "Patient/999")
        .header("x-auth-subject", "admin")
        .header("x-auth-scopes", "system/*.*")
        .header("x-auth-client-id", "forged")
        .header("x-auth-issuer", "forged")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let seen = w.upstream.last();
    assert_eq!(
        seen.uri, "/Medication?code=8867-4&form=tablet",
        "path and query kept (Q9: Medication is outside the compartment)"
    );
    assert_eq!(seen.headers["x-fhir-user"], "Patient/123");
    assert_eq!(seen.headers["x-auth-subject"], "user-1");
    assert_eq!(seen.headers["x-auth-client-id"], "portal");
    assert_eq!(seen.headers["x-auth-scopes"], "patient/*.read openid");
    assert_eq!(seen.headers["x-auth-issuer"], w.smart_a.issuer());
    assert_eq!(seen.headers.get_all("x-fhir-user").iter().count(), 1);
    assert!(
        seen.headers.get("authorization").is_none(),
        "token removed by default"
    );
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers["x-forwarded-host"], p.addr.to_string());
}

#[tokio::test]
async fn h9_identity_headers_are_stripped_on_public_paths_too() {
    let w = World::new().await;
    let p = w.proxy().await;
    let response = client()
        .get(url(&p, "/metadata"))
        .header("x-fhir-user", "Patient/999")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    assert!(w.upstream.last().headers.get("x-fhir-user").is_none());
}

#[tokio::test]
async fn forward_token_keeps_the_authorization_header() {
    let w = World::new().await;
    let p = w.proxy_with(|s| s.upstream.forward_token = true).await;
    let t = w.portal_token();
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    assert_eq!(
        w.upstream.last().headers["authorization"],
        format!("Bearer {t}").as_str()
    );
}

#[tokio::test]
async fn upstream_base_path_prefix_is_kept() {
    let w = World::new().await;
    let base = format!("{}/fhir/r4/", w.upstream.base_url());
    let p = start_proxy(&w.config(), &base, |_| {}).await;
    wait_ready(&p).await;
    assert_eq!(
        get(
            &p,
            "/Patient/123/_history?_count=1",
            Some(&w.portal_token())
        )
        .await
        .status,
        200
    );
    assert_eq!(
        w.upstream.last().uri,
        "/fhir/r4/Patient/123/_history?_count=1"
    );
}

#[tokio::test]
async fn hop_by_hop_headers_are_not_forwarded_either_way() {
    let w = World::new().await;
    let p = w.proxy().await;
    let response = client()
        .get(url(&p, "/Patient/123"))
        .bearer_auth(w.portal_token())
        .header("connection", "x-private")
        .header("x-private", "1")
        .header("proxy-authorization", "Basic x")
        .header("te", "trailers")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-upstream"], "1");
    let seen = w.upstream.last();
    for name in ["x-private", "proxy-authorization", "te"] {
        assert!(seen.headers.get(name).is_none(), "{name} forwarded");
    }
}

#[tokio::test]
async fn request_and_response_bodies_are_forwarded_byte_for_byte() {
    let w = World::new().await;
    let p = w.passthrough_proxy().await;
    // A primary token passes through (Q10 passthrough, chosen here), so it may POST to a path no role covers.
    let body: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let response = client()
        .post(url(&p, "/Binary/echo"))
        .bearer_auth(w.primary_token())
        .body(body.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let back = response.bytes().await.expect("body");
    assert_eq!(back.len(), body.len());
    assert!(back.as_ref() == body.as_slice(), "response body differs");
    assert!(
        w.upstream.last().body.as_ref() == body.as_slice(),
        "request body differs"
    );
}

#[tokio::test]
async fn upstream_refusing_connections_is_502() {
    let w = World::new().await;
    // A port that was just free: nothing listens there.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let p = start_proxy(&w.config(), &format!("http://{dead}"), |_| {}).await;
    wait_ready(&p).await;
    let a = get(&p, "/Patient/123", Some(&w.portal_token())).await;
    assert_eq!(a.status, 502);
    assert_eq!(a.body["resourceType"], "OperationOutcome");
    // The proxy keeps serving.
    assert_eq!(status(&p, "/Patient/123", None).await, 401);
}

#[tokio::test]
async fn upstream_too_slow_is_504_and_the_next_request_is_served() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.upstream.timeout = Duration::from_millis(300))
        .await;
    w.upstream.set_delay(Some(Duration::from_secs(2)));
    let a = get(&p, "/Patient/123", Some(&w.portal_token())).await;
    assert_eq!(a.status, 504);
    assert_eq!(a.issue_code(), "timeout");
    w.upstream.set_delay(None);
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
}

#[tokio::test]
async fn healthz_is_always_200() {
    let w = World::new().await;
    let p = w.proxy().await;
    let r = client()
        .get(admin_url(&p, "/healthz"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    let r = client()
        .get(admin_url(&p, "/nope"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_request_finish() {
    let w = World::new().await;
    let p = w.proxy().await;
    w.upstream.set_delay(Some(Duration::from_millis(500)));
    let request = client()
        .get(url(&p, "/Patient/123"))
        .bearer_auth(w.portal_token())
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let addr = p.addr;
    p.shutdown().await;
    let response = in_flight
        .await
        .expect("task")
        .expect("in-flight request completed");
    assert_eq!(response.status(), 200);
    // After shutdown nothing listens.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn w3c_traceparent_is_continued_or_started_for_the_upstream() {
    let w = World::new().await;
    let p = w.proxy().await;
    let sent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = client()
        .get(url(&p, "/Patient/123"))
        .bearer_auth(w.portal_token())
        .header("traceparent", sent)
        .header("tracestate", "congo=t61rcWkgMzE")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    let seen = w.upstream.last();
    let up = seen.headers["traceparent"].to_str().expect("ascii");
    assert!(
        up.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{up}"
    );
    assert_ne!(up, sent, "the proxy's span is the upstream's parent");
    assert_eq!(seen.headers["tracestate"], "congo=t61rcWkgMzE");
    // None sent (or a malformed one): a new trace starts at the proxy.
    for header in [None, Some("not-a-traceparent")] {
        let mut req = client()
            .get(url(&p, "/Patient/123"))
            .bearer_auth(w.portal_token());
        if let Some(h) = header {
            req = req.header("traceparent", h).header("tracestate", "x=y");
        }
        assert_eq!(req.send().await.expect("answer").status(), 200);
        let seen = w.upstream.last();
        let up = seen.headers["traceparent"]
            .to_str()
            .expect("ascii")
            .to_string();
        let parts: Vec<&str> = up.split('-').collect();
        assert_eq!(parts.len(), 4, "{up}");
        assert_eq!(
            (parts[0], parts[1].len(), parts[2].len()),
            ("00", 32, 16),
            "{up}"
        );
        assert!(seen.headers.get("tracestate").is_none());
    }
}
