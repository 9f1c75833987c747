//! Nothing lost, nothing smuggled: bodies arrive byte-identical both ways, a broken upstream stream is aborted
//! (never completed silently), and malformed HTTP framing is refused before anything is forwarded.

use std::time::Duration;

use aws_lc_rs::digest::{digest, SHA256};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// POST `body` to the streaming echo (chunked when `chunked`) and compare SHA-256 of what came back.
async fn round_trip(
    url: String,
    token: String,
    body: Vec<u8>,
    chunked: bool,
) -> Result<(), String> {
    let sent = digest(&SHA256, &body);
    let len = body.len();
    let request = client().post(url).bearer_auth(token);
    let request = if chunked {
        let chunks: Vec<Result<hyper::body::Frame<Bytes>, std::io::Error>> = body
            .chunks(16 * 1024)
            .map(|c| Ok(hyper::body::Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        // No size hint: sent with Transfer-Encoding: chunked.
        request.body(reqwest::Body::wrap(http_body_util::StreamBody::new(
            futures_util::stream::iter(chunks),
        )))
    } else {
        request.body(body)
    };
    let response = request.send().await.map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let back = response.bytes().await.map_err(|e| e.to_string())?;
    if back.len() != len || digest(&SHA256, &back).as_ref() != sent.as_ref() {
        return Err(format!(
            "{len} bytes sent ({}), {} came back",
            if chunked { "chunked" } else { "content-length" },
            back.len()
        ));
    }
    Ok(())
}

#[tokio::test]
async fn bodies_arrive_byte_identical_in_both_directions_under_concurrency() {
    let w = World::new().await;
    let p = w.passthrough_proxy().await;
    // A primary-authority token passes through (Q10), so it may POST.
    let token = w.primary_token();
    let url = url(&p, "/Binary/stream-echo");
    let mut transfers = Vec::new();
    for (i, size) in [0usize, 1, 64 * 1024, 50 * 1024 * 1024]
        .into_iter()
        .enumerate()
    {
        for chunked in [false, true] {
            transfers.push(tokio::spawn(round_trip(
                url.clone(),
                token.clone(),
                pattern(size, i as u8),
                chunked,
            )));
        }
    }
    // And 32 concurrent 64 kB transfers.
    for i in 0..32u8 {
        transfers.push(tokio::spawn(round_trip(
            url.clone(),
            token.clone(),
            pattern(64 * 1024, i),
            i % 2 == 0,
        )));
    }
    let mut failures = Vec::new();
    for t in transfers {
        if let Err(e) = t.await.expect("task") {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(w.upstream.count(), 40);
}

#[tokio::test]
async fn a_response_cut_off_upstream_is_aborted_and_the_next_request_is_served() {
    let w = World::new().await;
    let p = w.passthrough_proxy().await;
    let response = client()
        .get(url(&p, "/Binary/truncated"))
        .bearer_auth(w.primary_token())
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(
        response.status(),
        200,
        "headers and the first bytes were sent before the break"
    );
    // The client must see an error (or a short body), never a silently completed 1,000-byte body.
    if let Ok(b) = response.bytes().await {
        assert!(b.len() < 1_000_000, "a truncated body looked complete");
    }
    // A small answer is read whole before it is sent on: cut off, it becomes a 502.
    let small = get(&p, "/Binary/truncated-small", Some(&w.primary_token())).await;
    assert_eq!(small.status, 502);
    assert_eq!(small.body["resourceType"], "OperationOutcome");
    let a = get(&p, "/Patient/123", Some(&w.portal_token())).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}

/// Send raw bytes and return what came back before the connection closed (or 3 s passed).
async fn raw(p: &fhir_jwt_proxy::server::Running, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(p.addr)
        .await
        .expect("connect");
    s.write_all(request).await.expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn request_smuggling_and_malformed_framing_are_refused_and_not_forwarded() {
    let w = World::new().await;
    let p = w.passthrough_proxy().await;
    let t = w.primary_token();
    let cases: Vec<(&str, String)> = vec![
        ("CL and TE together", format!("POST /Binary/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGPOST /Patient HTTP/1.1\r\nHost: x\r\n\r\n")),
        ("two Content-Length values", format!("POST /Binary/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde")),
        ("obs-fold header", format!("GET /Patient/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nX-Folded: a\r\n b\r\n\r\n")),
        ("bad chunk size", format!("POST /Binary/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")),
        ("oversized header block", format!("GET /Patient/1 HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(100 * 1024))),
    ];
    let mut failures = Vec::new();
    for (name, request) in &cases {
        let before = w.upstream.count();
        let answer = raw(&p, request.as_bytes()).await;
        let status_line = answer.lines().next().unwrap_or("").to_string();
        let refused = status_line.is_empty()
            || status_line.contains(" 400 ")
            || status_line.contains(" 431 ");
        let forwarded = w.upstream.count() - before;
        // CL+TE may be parsed as chunked (TE wins, RFC 9112 §6.3); then only that one request may reach the upstream,
        // with a body consistent with the chunked framing, and the smuggled "GPOST" must never arrive.
        let smuggled = w
            .upstream
            .requests()
            .iter()
            .any(|r| r.method.contains("GPOST") || r.uri == "/Patient");
        if smuggled
            || !(refused || (*name == "CL and TE together" && forwarded <= 1))
            || (refused && forwarded > 0)
        {
            failures.push(format!(
                "{name}: {status_line:?}, forwarded {forwarded}, smuggled {smuggled}"
            ));
        }
        if *name == "CL and TE together" && forwarded == 1 {
            let seen = w.upstream.last();
            if !seen.body.is_empty()
                || seen.headers.contains_key("transfer-encoding")
                    && seen.headers.contains_key("content-length")
            {
                failures.push(format!(
                    "{name}: forwarded with inconsistent framing {:?}",
                    seen.headers
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // The proxy still serves.
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
}

#[tokio::test]
async fn a_stalled_upstream_body_is_aborted_not_hung() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.upstream.timeout = Duration::from_millis(500))
        .await;
    let response = client()
        .get(url(&p, "/Binary/slow-drip"))
        .bearer_auth(w.primary_token())
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(response.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), response.bytes()).await;
    assert!(body.is_ok(), "the client hung on a stalled upstream body");
    assert!(
        body.expect("in time").is_err(),
        "a stalled body must end in an error, not look complete"
    );
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
}

#[tokio::test]
async fn an_upstream_that_closes_every_connection_is_served_normally() {
    let w = World::new().await;
    let p = w.passthrough_proxy().await;
    let t = w.primary_token();
    for _ in 0..20 {
        assert_eq!(status(&p, "/Binary/close", Some(&t)).await, 200);
    }
    assert_eq!(w.upstream.count(), 20);
    // Each on a connection of its own: none was reused after the upstream said `close`.
    let peers: std::collections::HashSet<_> =
        w.upstream.requests().iter().map(|r| r.peer).collect();
    assert_eq!(peers.len(), 20);
}

#[tokio::test]
async fn sequential_requests_reuse_one_upstream_connection() {
    let w = World::new().await;
    let p = w.passthrough_proxy().await;
    let t = w.primary_token();
    // Small answers (read whole) and a streamed one (a large echo) both give their connection back at their end.
    for i in 0..10 {
        assert_eq!(
            status(&p, "/Patient/123", Some(&t)).await,
            200,
            "request {i}"
        );
    }
    let large = vec![b'x'; 100_000];
    let r = client()
        .post(url(&p, "/Binary/echo"))
        .bearer_auth(&t)
        .body(large.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").len(), large.len());
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    let peers: std::collections::HashSet<_> =
        w.upstream.requests().iter().map(|r| r.peer).collect();
    // Each worker keeps its own upstream connections; a new client connection may land on any worker.
    let workers = fhir_jwt_proxy::workers::worker_count(0);
    assert!(
        peers.len() <= workers,
        "{} upstream connections for 12 sequential requests over {workers} workers",
        peers.len()
    );
}
