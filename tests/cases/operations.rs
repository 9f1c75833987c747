//! Operations: hot reload, metrics, request ids, drain, header timeout, JSON logs without secrets.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fhir_jwt_proxy::reload::ReloadSource;
use fhir_jwt_proxy::server::Running;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

fn temp_file(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("fhir-jwt-proxy-ops-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir.join("config.json")
}

/// Replace the file by rename, as editors and Kubernetes ConfigMap updates do.
fn write_by_rename(path: &std::path::Path, value: &Value) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, value.to_string()).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn only_provider_a(w: &World) -> Value {
    let mut c = w.config();
    let providers = c["authenticationConfiguration"]["smartIdentityProviders"]
        .as_array_mut()
        .expect("providers");
    providers.truncate(1);
    c
}

fn reload_source(path: &std::path::Path) -> ReloadSource {
    ReloadSource {
        path: path.to_path_buf(),
        options: fhir_jwt_proxy::config::LoadOptions {
            allow_insecure_http: true,
        },
        poll_interval: Duration::from_millis(50),
        settings: Arc::new(|_| (Default::default(), Default::default())),
    }
}

async fn reloading_proxy(w: &World, path: &std::path::Path, initial: &Value) -> Running {
    write_by_rename(path, initial);
    let source = reload_source(path);
    let p = start_proxy(initial, &w.upstream.base_url(), |s| s.reload = Some(source)).await;
    wait_ready(&p).await;
    p
}

async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn reload_picks_up_a_new_provider_from_a_renamed_file() {
    let w = World::new().await;
    let path = temp_file("good");
    let p = reloading_proxy(&w, &path, &only_provider_a(&w)).await;
    let t = w.sched_token();
    assert_eq!(
        status(&p, "/Schedule", Some(&t)).await,
        401,
        "B is not configured yet"
    );
    write_by_rename(&path, &w.config());
    assert!(
        eventually(async || status(&p, "/Schedule", Some(&t)).await == 200).await,
        "B never accepted"
    );
    let metrics = scrape(&p).await;
    assert!(
        metric(
            &metrics,
            "fhir_jwt_proxy_config_reloads_total",
            &[("result", "ok")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn an_invalid_file_changes_nothing_and_is_reported() {
    let w = World::new().await;
    let path = temp_file("bad");
    let p = reloading_proxy(&w, &path, &w.config()).await;
    let mut bad = w.config();
    bad["authenticationConfiguration"]["smartIdentityProviders"][1]["applications"][0]
        ["audience"] = json!("");
    write_by_rename(&path, &bad);
    let reported = eventually(async || readyz(&p).await.1["lastReload"]["ok"] == false).await;
    assert!(reported, "the failed reload is shown on /readyz");
    let (_, v) = readyz(&p).await;
    let error = v["lastReload"]["error"].as_str().expect("error text");
    assert!(
        error.contains("smartIdentityProviders[1].applications[0].audience: must not be empty"),
        "{error}"
    );
    // The old configuration keeps serving, including provider B.
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
    assert_eq!(status(&p, "/Schedule", Some(&w.sched_token())).await, 200);
    let metrics = scrape(&p).await;
    assert!(
        metric(
            &metrics,
            "fhir_jwt_proxy_config_reloads_total",
            &[("result", "error")]
        ) >= 1.0
    );
    assert_eq!(
        metric(&metrics, "fhir_jwt_proxy_config_last_reload_failed", &[]),
        1.0
    );
}

#[tokio::test]
async fn no_request_fails_while_the_file_is_rewritten_under_load() {
    let w = World::new().await;
    let path = temp_file("load");
    let p = reloading_proxy(&w, &path, &w.config()).await;
    let url = url(&p, "/Patient/123");
    let token = w.portal_token();
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (url, token) = (url.clone(), token.clone());
        workers.push(tokio::spawn(async move {
            let c = client();
            let mut statuses = Vec::new();
            for _ in 0..150 {
                let s = c
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                statuses.push(s);
            }
            statuses
        }));
    }
    // Twenty rewrites alternating two valid configurations (with and without provider B).
    for i in 0..20 {
        let next = if i % 2 == 0 {
            only_provider_a(&w)
        } else {
            w.config()
        };
        write_by_rename(&path, &next);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let mut total = 0;
    for worker in workers {
        let statuses = worker.await.expect("worker");
        total += statuses.len();
        assert!(
            statuses.iter().all(|s| *s == 200),
            "a request failed during reloads: {statuses:?}"
        );
    }
    assert_eq!(total, 600);
    let metrics = scrape(&p).await;
    assert!(
        metric(
            &metrics,
            "fhir_jwt_proxy_config_reloads_total",
            &[("result", "ok")]
        ) >= 2.0
    );
}

async fn scrape(p: &Running) -> String {
    let r = client()
        .get(admin_url(p, "/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    String::from_utf8(r.bytes().await.expect("body").to_vec()).expect("utf-8")
}

/// The value of the sample `name{labels...}` (0 when absent).
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|(_, v)| v.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_a_known_mix_of_requests_exactly() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = w.portal_token();
    for _ in 0..3 {
        assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    }
    for _ in 0..2 {
        assert_eq!(status(&p, "/Patient/123", None).await, 401);
    }
    let mut c = w.portal_claims();
    c["aud"] = json!("nope");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        401
    );
    assert_eq!(status(&p, "/Patient/456", Some(&t)).await, 404);
    let text = scrape(&p).await;
    let forwarded = [
        ("outcome", "forwarded"),
        ("provider", "smart[0]"),
        ("client_id", "portal"),
        ("status", "200"),
    ];
    assert_eq!(
        metric(&text, "fhir_jwt_proxy_requests_total", &forwarded),
        3.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "fhir_jwt_proxy_requests_total",
            &[("outcome", "no_token"), ("status", "401")]
        ),
        2.0
    );
    assert_eq!(
        metric(
            &text,
            "fhir_jwt_proxy_requests_total",
            &[("outcome", "aud_mismatch")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "fhir_jwt_proxy_requests_total",
            &[("outcome", "not_in_compartment"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            "fhir_jwt_proxy_token_cache_total",
            &[("result", "hit")]
        ),
        3.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "fhir_jwt_proxy_token_cache_total",
            &[("result", "miss")]
        ),
        2.0
    );
    assert_eq!(
        metric(&text, "fhir_jwt_proxy_proxy_duration_seconds_count", &[]),
        7.0
    );
    assert!(
        metric(
            &text,
            "fhir_jwt_proxy_jwks_keys",
            &[("authority", w.smart_a.issuer())]
        ) == 2.0
    );
    assert!(
        metric(
            &text,
            "fhir_jwt_proxy_jwks_fetches_total",
            &[("result", "ok")]
        ) >= 3.0
    );
    // Bounded labels: no token, path or user value appears anywhere.
    assert!(!text.contains(&t[..30]) && !text.contains("Patient/123") && !text.contains("user-1"));
}

#[tokio::test]
async fn request_ids_are_kept_when_sane_and_generated_otherwise() {
    let w = World::new().await;
    let p = w.proxy().await;
    let r = client()
        .get(url(&p, "/Patient/123"))
        .bearer_auth(w.portal_token())
        .header("x-request-id", "abc-123.x")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.headers()["x-request-id"], "abc-123.x");
    assert_eq!(w.upstream.last().headers["x-request-id"], "abc-123.x");
    let r = client()
        .get(url(&p, "/Patient/123"))
        .header("x-request-id", "bad id with spaces && {braces}")
        .send()
        .await
        .expect("answer");
    let generated = r.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(generated.len(), 24, "{generated}");
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn readyz_is_503_while_draining_and_in_flight_requests_finish() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.limits.drain_timeout = Duration::from_secs(5))
        .await;
    let admin = admin_url(&p, "/readyz");
    assert_eq!(
        client().get(&admin).send().await.expect("readyz").status(),
        200
    );
    w.upstream.set_delay(Some(Duration::from_millis(800)));
    let in_flight = tokio::spawn(
        client()
            .get(url(&p, "/Patient/123"))
            .bearer_auth(w.portal_token())
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let shutdown = tokio::spawn(p.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let during = client()
        .get(&admin)
        .send()
        .await
        .expect("readyz during drain");
    assert_eq!(during.status(), 503);
    let body: Value = serde_json::from_slice(&during.bytes().await.expect("body")).expect("json");
    assert_eq!(body["draining"], true);
    assert_eq!(
        in_flight.await.expect("task").expect("completed").status(),
        200
    );
    shutdown.await.expect("shutdown");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.limits.header_read_timeout = Duration::from_millis(500))
        .await;
    let mut stream = tokio::net::TcpStream::connect(p.addr)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /Patient/123 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the proxy kept a slowloris connection open");
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    assert_eq!(w.upstream.count(), 0);
}

#[tokio::test]
async fn json_logs_carry_one_line_per_request_and_never_a_token_or_query() {
    let w = World::new().await;
    let dir = temp_file("logs");
    std::fs::write(&dir, w.config().to_string()).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fhir-jwt-proxy"))
        .args([
            "--log-format",
            "json",
            "run",
            "--allow-insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--upstream",
        ])
        .arg(w.upstream.base_url())
        .arg("--config")
        .arg(&dir)
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let addr = loop {
        let line = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("log line")
            .expect("open");
        let v: Value = serde_json::from_str(&line).expect("every log line is JSON");
        lines.push(line.clone());
        if v["fields"]["message"] == "fhir-jwt-proxy listening" {
            break v["fields"]["addr"].as_str().expect("addr").to_string();
        }
    };
    // Wait for the keys, then send a valid request with a query, a refused one, and one with the token in the query.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let t = w.portal_token();
    let c = client();
    let ok = c
        .get(format!("http://{addr}/Observation?code=secret-lab-value"))
        .bearer_auth(&t)
        .send()
        .await
        .expect("ok");
    assert_eq!(ok.status(), 200);
    let _ = c
        .get(format!("http://{addr}/Patient/123?access_token={t}"))
        .send()
        .await
        .expect("refused");
    let _ = c
        .get(format!("http://{addr}/Patient/123"))
        .bearer_auth(format!("{t}x"))
        .send()
        .await
        .expect("bad sig");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    while let Ok(line) = rx.try_recv() {
        lines.push(line);
    }
    let requests: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "request")
        .collect();
    assert_eq!(requests.len(), 3, "{lines:#?}");
    assert_eq!(requests[0]["fields"]["outcome"], "forwarded");
    assert_eq!(requests[0]["fields"]["interaction"], "search-type");
    assert_eq!(requests[0]["fields"]["resource_type"], "Observation");
    assert!(requests[0]["fields"]["request_id"]
        .as_str()
        .is_some_and(|s| s.len() == 24));
    let signature = t.rsplit('.').next().expect("signature");
    for line in &lines {
        assert!(
            !line.contains(&t[..40]) && !line.contains(signature),
            "a token fragment was logged: {line}"
        );
        assert!(
            !line.contains("secret-lab-value") && !line.contains("access_token="),
            "a query was logged: {line}"
        );
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.limits.header_read_timeout = Duration::from_millis(500))
        .await;
    let mut stream = tokio::net::TcpStream::connect(p.addr)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /metadata HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.expect("first answer");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Now idle: the connection must not stay open forever.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.map(|_| ())
    })
    .await;
    assert!(closed.is_ok(), "an idle keep-alive connection stayed open");
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_at_accept() {
    let w = World::new().await;
    // Three workers, each with its own listening socket: the cap is the listener's, not each worker's.
    let p = w
        .proxy_with(|s| {
            s.limits.max_connections = 2;
            s.workers = 3;
        })
        .await;
    let first = tokio::net::TcpStream::connect(p.addr).await.expect("first");
    let second = tokio::net::TcpStream::connect(p.addr)
        .await
        .expect("second");
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Four more: with a cap per worker (2 × 3) some of them would land on a worker with room; with one cap, none.
    for extra in 0..4 {
        let mut more = tokio::net::TcpStream::connect(p.addr)
            .await
            .expect("the TCP handshake itself completes");
        let _ = more
            .write_all(b"GET /metadata HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), more.read_to_end(&mut buf)).await;
        assert!(
            read.is_ok() && !String::from_utf8_lossy(&buf).contains("200 OK"),
            "connection {} beyond the cap was served: {:?}",
            extra + 3,
            String::from_utf8_lossy(&buf)
        );
    }
    // Freeing a slot lets the next connection in.
    drop(first);
    drop(second);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(status(&p, "/metadata", None).await, 200);
}

#[tokio::test]
async fn q10_roles_are_reloaded_with_the_file_and_a_bad_roles_file_changes_nothing() {
    let w = World::new().await;
    let path = temp_file("roles");
    let p = reloading_proxy(&w, &path, &w.config()).await;
    let reader = w.primary_token_with(&json!(["globalReader"]));
    assert_eq!(status(&p, "/Patient/1", Some(&reader)).await, 200);
    // A bad roles list: refused at reload, the old roles keep serving.
    let mut bad = w.config();
    bad["proxy"]["roles"][1]["dataActions"] = json!(["read", "reed"]);
    write_by_rename(&path, &bad);
    let reported = eventually(async || readyz(&p).await.1["lastReload"]["ok"] == false).await;
    assert!(reported, "the failed reload is shown on /readyz");
    let (_, v) = readyz(&p).await;
    let error = v["lastReload"]["error"].as_str().expect("error text");
    assert!(error.contains("proxy.roles[1].dataActions[1]"), "{error}");
    assert_eq!(status(&p, "/Patient/1", Some(&reader)).await, 200);
    // A good file without globalReader: the same token is refused from the reload on (the token cache is new).
    let mut fewer = w.config();
    fewer["proxy"]["roles"]
        .as_array_mut()
        .expect("roles")
        .retain(|r| r["name"] != "globalReader");
    write_by_rename(&path, &fewer);
    let refused = eventually(async || status(&p, "/Patient/1", Some(&reader)).await == 403).await;
    assert!(refused, "the reader role is gone after the reload");
    assert_eq!(
        status(&p, "/Patient/1", Some(&w.primary_token())).await,
        200
    );
}

/// One request on a connection of its own (`Connection: close`): the kernel may hand it to any worker.
async fn raw_request(p: &Running, token: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(p.addr)
        .await
        .expect("connect");
    let request = format!(
        "GET /Patient/123 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn workers_each_serve_their_own_connections_and_share_the_token_cache() {
    let w = World::new().await;
    let p = w.proxy_with(|s| s.workers = 4).await;
    let t = w.primary_token();
    for i in 0..24 {
        let answer = raw_request(&p, &t).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "request {i}: {answer}");
    }
    // 24 connections over 4 listening sockets: one verification, then hits on whichever worker served them.
    let text = metrics_text(&p).await;
    let count = |result| {
        metric(
            &text,
            "fhir_jwt_proxy_token_cache_total",
            &[("result", result)],
        )
    };
    assert_eq!(count("miss"), 1.0, "{text}");
    assert_eq!(count("hit"), 23.0, "{text}");
    // A forged token is refused by every worker alike.
    let at = t.len() - 10;
    let flipped = if &t[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{flipped}{}", &t[..at], &t[at + 1..]);
    for _ in 0..8 {
        assert!(raw_request(&p, &forged).await.starts_with("HTTP/1.1 401"));
    }
    // Shutdown stops every worker: the port no longer answers.
    let addr = p.addr;
    p.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn one_worker_listens_without_so_reuseport_so_no_other_socket_can_share_its_port() {
    let w = World::new().await;
    let p = w.proxy_with(|s| s.workers = 1).await;
    let other = tokio::net::TcpSocket::new_v4().expect("socket");
    other.set_reuseport(true).expect("reuseport");
    assert!(
        other.bind(p.addr).is_err(),
        "a second SO_REUSEPORT socket bound the port of a single-worker proxy"
    );
    // With several workers the sockets share the port, which is what SECURITY.md warns about.
    let shared = w.proxy_with(|s| s.workers = 2).await;
    let joiner = tokio::net::TcpSocket::new_v4().expect("socket");
    joiner.set_reuseport(true).expect("reuseport");
    assert!(joiner.bind(shared.addr).is_ok());
    drop(joiner);
    assert_eq!(status(&shared, "/metadata", None).await, 200);
    // But a second proxy on a taken port fails to start, with several workers too, instead of sharing it.
    let mut settings = settings(&w.upstream.base_url());
    settings.listen = shared.addr;
    settings.workers = 2;
    let config = fhir_jwt_proxy::config::Config::from_json(
        w.config().to_string().as_bytes(),
        fhir_jwt_proxy::config::LoadOptions {
            allow_insecure_http: true,
        },
    )
    .expect("config");
    match fhir_jwt_proxy::server::start(config, settings).await {
        Err(fhir_jwt_proxy::server::StartError::Bind { addr, .. }) => assert_eq!(addr, shared.addr),
        other => panic!("a second proxy started on a taken port: {other:?}"),
    }
    assert_eq!(status(&shared, "/metadata", None).await, 200);
}
