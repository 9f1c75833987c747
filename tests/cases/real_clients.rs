//! What real clients need: paging through the proxy (links presented under the proxy's base, HAPI-style
//! continuations bound to the token that received them) and CORS for browser apps.

use fhir_jwt_proxy::server::Running;
use fhir_jwt_proxy::smart::compartment::RewriteStyle;
use serde_json::{json, Value};

use crate::support::hapi::HapiStandIn;
use crate::support::*;

fn patient_token(w: &World, patient: &str, scp: &str) -> String {
    let mut c = w.portal_claims();
    c["fhirUser"] = json!(format!("Patient/{patient}"));
    c["sub"] = json!(format!("user-{patient}"));
    c["scp"] = json!(scp);
    w.smart_a.mint(&c)
}

fn system_token(w: &World) -> String {
    let mut c = w.portal_claims();
    c["fhirUser"] = json!("Practitioner/9");
    c["scp"] = json!("system/Observation.rs");
    w.smart_a.mint(&c)
}

async fn hapi_proxy(w: &World, hapi: &HapiStandIn, style: RewriteStyle) -> Running {
    let p = start_proxy(&w.config(), &hapi.base_url(), |s| {
        s.smart.rewrite_style = style
    })
    .await;
    wait_ready(&p).await;
    p
}

/// Follow `next` links from `first` (a path) through the proxy; every link must be under the proxy's base.
async fn all_pages(p: &Running, first: &str, token: &str) -> (Vec<String>, usize) {
    let base = format!("http://{}", p.addr);
    let mut ids = Vec::new();
    let mut url = format!("{base}{first}");
    let mut pages = 0;
    loop {
        let r = client()
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("answer");
        let status = r.status();
        let challenge = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap_or("").to_string());
        assert_eq!(status, 200, "{url}: {challenge:?}");
        let bundle: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        pages += 1;
        for e in bundle["entry"].as_array().into_iter().flatten() {
            let full = e["fullUrl"].as_str().expect("fullUrl");
            assert!(
                full.starts_with(&base),
                "fullUrl {full} is not under {base}"
            );
            ids.push(e["resource"]["id"].as_str().expect("id").to_string());
        }
        for l in bundle["link"].as_array().into_iter().flatten() {
            let u = l["url"].as_str().expect("url");
            assert!(u.starts_with(&base), "link {u} is not under {base}");
        }
        match bundle["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
        {
            Some(next) => url = next["url"].as_str().expect("next").to_string(),
            None => break,
        }
        assert!(pages < 20, "paging does not end");
    }
    ids.sort();
    (ids, pages)
}

#[tokio::test]
async fn paging_through_the_proxy_returns_the_confined_search_and_binds_pages_to_their_user() {
    let w = World::new().await;
    let hapi = HapiStandIn::start().await;
    for style in [RewriteStyle::Path, RewriteStyle::Param] {
        let p = hapi_proxy(&w, &hapi, style).await;
        let t123 = patient_token(&w, "123", "patient/*.read");
        let t456 = patient_token(&w, "456", "patient/Observation.rs");
        let (ids, pages) = all_pages(&p, "/Observation?_count=2", &t123).await;
        assert_eq!(ids, ["o1", "o2", "o3", "o4", "o5"], "{style:?}");
        assert_eq!(pages, 3);
        let (ids, _) = all_pages(&p, "/Observation?_count=2", &t456).await;
        assert_eq!(ids, ["p1", "p2", "p3"], "{style:?}");

        // Patient 123's continuation, presented by patient 456 (or made up): refused, the server never asked.
        let first: Value = get(&p, "/Observation?_count=2", Some(&t123)).await.body;
        let next = first["link"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .expect("a next link")
            .to_string();
        assert!(next.contains("_getpages="), "{next}");
        let before = hapi.requests().len();
        let proxy_base = format!("http://{}", p.addr);
        let attempts: Vec<(&String, String)> = vec![
            (&t456, next.trim_start_matches(&proxy_base).to_string()),
            (
                &t123,
                "/?_getpages=search-999&_getpagesoffset=2".to_string(),
            ),
            (&t123, "/Observation?ct=made-up".to_string()),
        ];
        for (token, path) in attempts {
            let a = get(&p, &path, Some(token.as_str())).await;
            assert_eq!(a.status, 403, "{path}: {}", a.body);
            assert!(
                a.challenge.contains("run the search again"),
                "{}",
                a.challenge
            );
        }
        assert_eq!(hapi.requests().len(), before, "nothing reached the server");
        // The owner follows it.
        let r = client()
            .get(&next)
            .bearer_auth(&t123)
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 200);

        // A system-scope token pages through its own (unconfined) search; its pages are not a patient's.
        let sys = system_token(&w);
        let (ids, _) = all_pages(&p, "/Observation?_count=3", &sys).await;
        assert_eq!(ids.len(), 8);
        let sys_first: Value = get(&p, "/Observation?_count=3", Some(&sys)).await.body;
        let sys_next = sys_first["link"][1]["url"]
            .as_str()
            .expect("next")
            .to_string();
        let a = get(
            &p,
            sys_next.trim_start_matches(&format!("http://{}", p.addr)),
            Some(&t123),
        )
        .await;
        assert_eq!(a.status, 403, "a patient cannot continue a system search");
    }
    // Nothing the client saw named the server behind the proxy.
    assert!(hapi.requests().iter().all(|u| u.starts_with("/fhir")));
}

#[tokio::test]
async fn location_headers_are_presented_under_the_proxy_base() {
    let w = World::new().await;
    let hapi = HapiStandIn::start().await;
    let p = hapi_proxy(&w, &hapi, RewriteStyle::Path).await;
    let r = client()
        .post(url(&p, "/Patient"))
        .bearer_auth(w.primary_token())
        .header("content-type", "application/fhir+json")
        .body(r#"{"resourceType":"Patient"}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["location"].to_str().expect("location"),
        format!("http://{}/Patient/new/_history/1", p.addr)
    );
    // With a configured public base (a gateway in front), that base.
    let behind = start_proxy(&w.config(), &hapi.base_url(), |s| {
        s.smart.fhir_base_url = Some(url::Url::parse("https://fhir.example.org/r4").expect("url"))
    })
    .await;
    wait_ready(&behind).await;
    let r = client()
        .post(url(&behind, "/Patient"))
        .bearer_auth(w.primary_token())
        .body(r#"{"resourceType":"Patient"}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(
        r.headers()["location"].to_str().expect("location"),
        "https://fhir.example.org/r4/Patient/new/_history/1"
    );
}

fn cors_config(w: &World, origins: Value) -> Value {
    let mut c = w.config();
    c["corsConfiguration"] =
        json!({"origins": origins, "headers": ["*"], "methods": ["*"], "maxAge": 600});
    c
}

#[tokio::test]
async fn cors_preflights_are_answered_and_every_answer_to_an_allowed_origin_is_readable() {
    let w = World::new().await;
    let app = "http://app.example:5173";
    let p = start_proxy(
        &cors_config(&w, json!([app])),
        &w.upstream.base_url(),
        |_| {},
    )
    .await;
    wait_ready(&p).await;
    let preflight = |origin: &str| {
        client()
            .request(reqwest::Method::OPTIONS, url(&p, "/Patient/123"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization, accept")
            .send()
    };
    let before = w.upstream.count();
    let r = preflight(app).await.expect("answer");
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], app);
    assert_eq!(h["access-control-allow-methods"], "GET");
    assert_eq!(h["access-control-allow-headers"], "authorization, accept");
    assert_eq!(h["access-control-max-age"], "600");
    assert_eq!(h["vary"], "Origin");
    let r = preflight("http://evil.example").await.expect("answer");
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(w.upstream.count(), before, "preflights are never forwarded");

    // Every answer to the allowed origin carries the CORS headers: 200, and the proxy's own 401.
    for (token, status) in [(Some(w.portal_token()), 200), (None, 401)] {
        let mut req = client().get(url(&p, "/Patient/123")).header("origin", app);
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("answer");
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()["access-control-allow-origin"], app);
        let exposed = r.headers()["access-control-expose-headers"]
            .to_str()
            .expect("ascii");
        for h in [
            "WWW-Authenticate",
            "Location",
            "ETag",
            "Content-Location",
            "X-Request-Id",
        ] {
            assert!(exposed.contains(h), "{exposed}");
        }
    }
    // Another origin gets no CORS header; no Origin at all (a server-side client) neither.
    for origin in [Some("http://evil.example"), None] {
        let mut req = client()
            .get(url(&p, "/Patient/123"))
            .bearer_auth(w.portal_token());
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.expect("answer");
        assert_eq!(r.status(), 200);
        assert!(
            r.headers().get("access-control-allow-origin").is_none(),
            "{origin:?}"
        );
        // Every answer says it varies by Origin: a shared cache never hands one origin's answer to another.
        assert_eq!(r.headers()["vary"], "Origin", "{origin:?}");
    }

    // `*` without credentials answers `*`.
    let any = start_proxy(
        &cors_config(&w, json!(["*"])),
        &w.upstream.base_url(),
        |_| {},
    )
    .await;
    wait_ready(&any).await;
    let r = client()
        .get(url(&any, "/Patient/123"))
        .header("origin", "http://whoever.example")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");

    // Without corsConfiguration, as before: a preflight is an unauthenticated request.
    let plain = w.proxy().await;
    let r = client()
        .request(reqwest::Method::OPTIONS, url(&plain, "/Patient/123"))
        .header("origin", app)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

const CLIENTS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/clients");

/// Run one of the real-client harnesses in tests/e2e/clients (its one JSON line).
pub(super) async fn run_client(script: &str, env: &[(&str, String)]) -> Value {
    npm_ci_once(CLIENTS_DIR, "puppeteer-core");
    chromium_once();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(format!("{CLIENTS_DIR}/{script}"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the harness ends within its own 30 s bound")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("one JSON line")
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn a_browser_app_on_another_origin_reads_through_the_proxy_with_a_preflight() {
    // Debian's Chromium, headless, driven by puppeteer-core: a page on one loopback origin fetches through the proxy
    // on another, with a bearer token (so the browser sends a real CORS preflight).
    let w = World::new().await;
    let (app_port, other_port) = (free_port(), free_port());
    let p = start_proxy(
        &cors_config(&w, json!([format!("http://127.0.0.1:{app_port}")])),
        &w.upstream.base_url(),
        |_| {},
    )
    .await;
    wait_ready(&p).await;
    let before = w.upstream.count();
    let r = run_client(
        "browser-cors.mjs",
        &[
            ("PROXY_URL", format!("http://{}", p.addr)),
            ("PATH_OK", "/Patient/123".into()),
            ("TOKEN", w.portal_token()),
            ("BAD_TOKEN", format!("{}x", w.portal_token())),
            ("APP_PORT", app_port.to_string()),
            ("OTHER_PORT", other_port.to_string()),
            ("OTHER_ORIGIN_MUST_FAIL", "1".into()),
        ],
    )
    .await;
    assert_eq!(r["ok"]["status"], 200, "{r}");
    assert_eq!(r["ok"]["body"]["id"], "123", "{r}");
    assert_eq!(r["ok"]["preflight"]["status"], 204, "{r}");
    assert!(
        r["ok"]["requestId"].is_string(),
        "X-Request-Id is readable: {r}"
    );
    // The app can read the 401 and why.
    assert_eq!(r["bad"]["status"], 401, "{r}");
    assert!(
        r["bad"]["wwwAuthenticate"]
            .as_str()
            .is_some_and(|c| c.contains("invalid_token")),
        "{r}"
    );
    // Another origin cannot read anything.
    assert_eq!(r["otherOrigin"]["failed"], true, "{r}");
    // Only the allowed app's good request reached the FHIR server (preflights never do).
    assert_eq!(w.upstream.count() - before, 1, "{r}");
    eprintln!(
        "browser: {} with puppeteer-core {}",
        r["chromium"], r["puppeteerCore"]
    );
}

#[tokio::test]
async fn the_smart_js_client_pages_through_the_proxy_and_never_talks_to_the_server() {
    let w = World::new().await;
    let hapi = HapiStandIn::start().await;
    let p = hapi_proxy(&w, &hapi, RewriteStyle::Path).await;
    let proxy_base = format!("http://{}", p.addr);
    let r = run_client(
        "fhirclient-paging.mjs",
        &[
            ("PROXY_URL", proxy_base.clone()),
            ("TOKEN", patient_token(&w, "123", "patient/*.read")),
            ("QUERY", "Observation?_count=2".into()),
        ],
    )
    .await;
    let ids: Vec<&str> = r["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        ids,
        [
            "Observation/o1",
            "Observation/o2",
            "Observation/o3",
            "Observation/o4",
            "Observation/o5"
        ],
        "{r}"
    );
    assert_eq!(r["pages"], 3, "{r}");
    for u in r["urls"].as_array().expect("urls") {
        assert!(
            u.as_str().is_some_and(|u| u.starts_with(&proxy_base)),
            "{u} is not the proxy"
        );
    }
    for c in r["connections"].as_array().expect("connections") {
        assert_eq!(c.as_str(), Some(p.addr.to_string().as_str()), "{r}");
    }
    eprintln!("fhirclient {}", r["fhirclient"]);
}
