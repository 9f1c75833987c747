//! Fixtures for the integration tests: local issuers, a recording upstream, and a proxy on ephemeral ports.

#![allow(dead_code, unreachable_pub)]

pub mod hapi;
pub mod upstream;

use std::net::SocketAddr;
use std::time::Duration;

use fhir_jwt_proxy::config::{Config, LoadOptions};
use fhir_jwt_proxy::connections::ConnectionLimits;
use fhir_jwt_proxy::demo::issuer::LocalIssuer;
use fhir_jwt_proxy::discovery::FetchTimeouts;
use fhir_jwt_proxy::forward::UpstreamSettings;
use fhir_jwt_proxy::keys::RefreshPolicy;
use fhir_jwt_proxy::proxy::unix_now;
use fhir_jwt_proxy::server::{self, RunSettings, Running};
use fhir_jwt_proxy::token::ValidationSettings;
use serde_json::{json, Value};

pub use upstream::RecordingUpstream;

/// `npm ci --prefix <dir>` once per test run when `<dir>/node_modules/<marker>` is missing (CI installs the pinned
/// peers before the tests; a local `cargo test` installs them on demand).
pub fn npm_ci_once(dir: &str, marker: &str) {
    static DONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.iter().any(|d| d == dir)
        || std::path::Path::new(dir)
            .join("node_modules")
            .join(marker)
            .exists()
    {
        return;
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix", dir])
        .status()
        .expect("npm is installed (the machine image has Node.js and npm)");
    assert!(status.success(), "npm ci in {dir} failed");
    done.push(dir.to_string());
}

/// A node server of the end-to-end peers (the OpenID Provider, the FHIR server), started until it prints
/// `ready BASE` on stdout (other lines before it are skipped): the child and BASE.
///
/// node starts in ~1 s alone and a few times slower while the rest of the suite loads both cores. A start that has
/// not said "ready" after 40 s is stuck (seen once on CI, never reproduced): it is killed and `command` tried again;
/// only a server that fails three times fails the test, with what node wrote on stderr each time.
pub async fn start_node_server(
    what: &str,
    mut command: impl FnMut() -> tokio::process::Command,
) -> (tokio::process::Child, String) {
    let mut failures = Vec::new();
    for _ in 0..3 {
        match try_start_node_server(command(), Duration::from_secs(40)).await {
            Ok(started) => return started,
            Err(why) => failures.push(why),
        }
    }
    panic!("{what} did not start: {failures:#?}");
}

async fn try_start_node_server(
    mut command: tokio::process::Command,
    patience: Duration,
) -> Result<(tokio::process::Child, String), String> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("node does not run: {e}"))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("no stdout or stderr pipe".into());
    };
    // stderr is drained all along (a full pipe would block node); its last lines are kept for the failure message.
    let stderr = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut kept = std::collections::VecDeque::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if kept.len() == 40 {
                kept.pop_front();
            }
            kept.push_back(line);
        }
        Vec::from(kept).join("\n")
    });
    let mut lines = BufReader::new(stdout).lines();
    let started = std::time::Instant::now();
    let ready = tokio::time::timeout(patience, async {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => match line.strip_prefix("ready ") {
                    Some(base) => return Some(base.to_string()),
                    None => continue,
                },
                _ => return None,
            }
        }
    })
    .await;
    match ready {
        Ok(Some(base)) => Ok((child, base)),
        outcome => {
            let _ = child.kill().await;
            let stderr = stderr.await.unwrap_or_default();
            Err(match outcome {
                Err(_) => format!(
                    "no ready line after {:?}; stderr: {stderr}",
                    started.elapsed()
                ),
                _ => format!("node exited before its ready line; stderr: {stderr}"),
            })
        }
    }
}

/// Debian's Chromium for the browser tests, installed once per test run when missing (`.ci/run` installs it first;
/// a plain `cargo test` on a fresh machine, run as root as here, installs it on demand). Nothing downloads a browser
/// of its own.
pub fn chromium_once() {
    static DONE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if *done
        || std::env::var_os("CHROMIUM").is_some()
        || std::path::Path::new("/usr/bin/chromium").exists()
    {
        *done = true;
        return;
    }
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null",
        ])
        .status()
        .expect("sh runs");
    assert!(status.success(), "installing Debian's chromium failed");
    *done = true;
}

/// Three identity providers: the primary authority and two SMART providers.
pub struct World {
    pub primary: LocalIssuer,
    pub smart_a: LocalIssuer,
    pub smart_b: LocalIssuer,
    pub upstream: RecordingUpstream,
}

impl World {
    pub async fn new() -> World {
        World {
            primary: LocalIssuer::start("/tenant").await.expect("primary issuer"),
            smart_a: LocalIssuer::start("/realms/a").await.expect("issuer a"),
            smart_b: LocalIssuer::start("/realms/b").await.expect("issuer b"),
            upstream: RecordingUpstream::start().await,
        }
    }

    /// The authenticationConfiguration of this world, in the wrapped shape, with the roles primary tokens are
    /// authorized by ([`World::primary_token`] holds `globalAdmin`).
    pub fn config(&self) -> Value {
        json!({"proxy": {"roles": roles_json()}, "authenticationConfiguration": {
            "authority": self.primary.issuer(),
            "audience": "https://fhir.example",
            "smartIdentityProviders": [
                {"authority": self.smart_a.issuer(), "applications": [
                    {"clientId": "portal", "audience": "fhir-api", "allowedDataActions": ["Read"]},
                    {"clientId": "clinic", "audience": "fhir-clinic", "allowedDataActions": ["Read"]}
                ]},
                {"authority": self.smart_b.issuer(), "applications": [
                    {"clientId": "sched", "audience": "fhir-sched", "allowedDataActions": ["Read"]}
                ]}
            ]
        }})
    }

    /// A proxy in front of the recording upstream, ready (every key set loaded).
    pub async fn proxy(&self) -> Running {
        self.proxy_with(|_| {}).await
    }

    /// A proxy that forwards primary tokens after authentication (Q10 passthrough): for the transport tests, whose
    /// `/Binary/echo` and framing probes are no FHIR interaction a role could authorize.
    pub async fn passthrough_proxy(&self) -> Running {
        self.proxy_with(|s| {
            s.validation.primary_authorization =
                Some(fhir_jwt_proxy::config::PrimaryAuthorization::Passthrough)
        })
        .await
    }

    pub async fn proxy_with(&self, tweak: impl FnOnce(&mut RunSettings)) -> Running {
        let running = start_proxy(&self.config(), &self.upstream.base_url(), tweak).await;
        wait_ready(&running).await;
        running
    }

    /// Claims of a valid token of application `portal` at SMART provider A.
    pub fn portal_claims(&self) -> Value {
        let now = unix_now();
        json!({
            "iss": self.smart_a.issuer(), "sub": "user-1", "aud": "fhir-api", "azp": "portal",
            "scp": "patient/*.read openid", "fhirUser": "Patient/123", "iat": now, "exp": now + 600,
        })
    }

    pub fn portal_token(&self) -> String {
        self.smart_a.mint(&self.portal_claims())
    }

    /// A valid token of application `sched` at SMART provider B (ES256 is tested elsewhere; this is RS256).
    pub fn sched_token(&self) -> String {
        let now = unix_now();
        self.smart_b.mint(&json!({
            "iss": self.smart_b.issuer(), "aud": "fhir-sched", "azp": "sched", "scp": "user/*.read",
            "fhirUser": "Practitioner/9", "exp": now + 600,
        }))
    }

    /// A primary-authority token with the role `globalAdmin` (every data action).
    pub fn primary_token(&self) -> String {
        self.primary_token_with(&json!(["globalAdmin"]))
    }

    /// A primary-authority token whose `roles` claim is `roles` (`Value::Null`: no roles claim).
    pub fn primary_token_with(&self, roles: &Value) -> String {
        let now = unix_now();
        let mut claims = json!({
            "iss": self.primary.issuer(), "sub": "oid-1", "aud": "https://fhir.example",
            "appid": "entra-app", "iat": now, "exp": now + 600,
        });
        if !roles.is_null() {
            claims["roles"] = roles.clone();
        }
        self.primary.mint(&claims)
    }
}

/// The roles of the test world, shaped like microsoft/fhir-server's roles.json.
pub fn roles_json() -> Value {
    json!([
        {"name": "globalAdmin", "dataActions": ["*"], "notDataActions": [], "scopes": ["/"]},
        {"name": "globalReader", "dataActions": ["read"], "notDataActions": [], "scopes": ["/"]},
        {"name": "globalWriter", "dataActions": ["*"], "notDataActions": ["hardDelete", "delete"], "scopes": ["/"]},
        {"name": "globalExporter", "dataActions": ["read", "export"], "scopes": ["/"]}
    ])
}

/// Settings for a proxy on ephemeral loopback ports with fast retries.
pub fn settings(upstream: &str) -> RunSettings {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    RunSettings {
        listen: loopback,
        admin_listen: loopback,
        upstream: UpstreamSettings {
            base: url::Url::parse(upstream).expect("upstream url"),
            timeout: Duration::from_secs(5),
            forward_token: false,
            ca: None,
        },
        allow_insecure_http: true,
        validation: ValidationSettings::default(),
        refresh: RefreshPolicy {
            retry_initial: Duration::from_millis(50),
            retry_max: Duration::from_millis(200),
            ..RefreshPolicy::default()
        },
        // Loopback only: no proxy whatever the environment says.
        egress: fhir_jwt_proxy::discovery::EgressProxy::Off,
        ready_when: Default::default(),
        workers: 0,
        fetch_timeouts: FetchTimeouts {
            connect: Duration::from_secs(1),
            total: Duration::from_secs(2),
        },
        smart: Default::default(),
        token_cache: Default::default(),
        reload: None,
        tls: None,
        limits: ConnectionLimits {
            drain_timeout: Duration::from_secs(2),
            ..ConnectionLimits::default()
        },
    }
}

pub async fn start_proxy(
    config: &Value,
    upstream: &str,
    tweak: impl FnOnce(&mut RunSettings),
) -> Running {
    let config = Config::from_json(
        config.to_string().as_bytes(),
        LoadOptions {
            allow_insecure_http: true,
        },
    )
    .expect("valid test config");
    let mut s = settings(upstream);
    tweak(&mut s);
    server::start(config, s).await.expect("proxy starts")
}

/// Wait until `/readyz` would say 200 (at most 10 s).
pub async fn wait_ready(running: &Running) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !running.state.load().keys.all_ready() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "proxy never became ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

pub fn url(running: &Running, path: &str) -> String {
    format!("http://{}{}", running.addr, path)
}

pub fn admin_url(running: &Running, path: &str) -> String {
    format!("http://{}{}", running.admin_addr, path)
}

/// The parts of a refusal a test asserts on.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub challenge: String,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn error_code(&self) -> Option<String> {
        let c = &self.challenge;
        let start = c.find("error=\"")? + 7;
        let end = c[start..].find('"')? + start;
        Some(c[start..end].to_string())
    }

    pub fn issue_code(&self) -> &str {
        self.body["issue"][0]["code"].as_str().unwrap_or("")
    }
}

/// Run `fhir-jwt-proxy check --format json --allow-insecure-http` on `config` (plus `extra` flags): exit code and report.
pub async fn check_json(config: &Value, extra: &[&str]) -> (Option<i32>, Value) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("fhir-jwt-proxy-check-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("config.json");
    std::fs::write(&file, config.to_string()).expect("write config");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fhir-jwt-proxy"));
    cmd.args([
        "check",
        "--format",
        "json",
        "--allow-insecure-http",
        "--config",
    ])
    .arg(&file)
    .args(extra);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
        .await
        .expect("join");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

/// The status of a GET.
pub async fn status(running: &Running, path: &str, token: Option<&str>) -> u16 {
    get(running, path, token).await.status
}

/// The admin listener's `/metrics` text.
pub async fn metrics_text(running: &Running) -> String {
    client()
        .get(admin_url(running, "/metrics"))
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text")
}

/// `/readyz`: its status and JSON body.
pub async fn readyz(running: &Running) -> (u16, Value) {
    let r = client()
        .get(admin_url(running, "/readyz"))
        .send()
        .await
        .expect("readyz answers");
    let status = r.status().as_u16();
    let body = serde_json::from_slice(&r.bytes().await.unwrap_or_default()).unwrap_or(Value::Null);
    (status, body)
}

pub async fn get(running: &Running, path: &str, token: Option<&str>) -> Answer {
    send(running, reqwest::Method::GET, path, token).await
}

pub async fn send(
    running: &Running,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> Answer {
    let mut req = client().request(method, url(running, path));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    answer(req.send().await.expect("proxy answers")).await
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let challenge = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = response.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        body,
        headers,
    }
}
