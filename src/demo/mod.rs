//! `fhir-jwt-proxy demo`: the embedded default. One process: a local token issuer ([`issuer`]), a small FHIR
//! stand-in ([`fhir`]) and the proxy with a generated config. It prints the addresses and ready-to-paste `curl`
//! lines, one that succeeds and one per kind of rejection, each with the answer it will get. With
//! `--self-test` it sends each example itself and exits 0 only if every answer matched.

pub mod fhir;
pub mod issuer;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::{Config, LoadOptions};
use crate::connections::ConnectionLimits;
use crate::discovery::FetchTimeouts;
use crate::forward::UpstreamSettings;
use crate::keys::RefreshPolicy;
use crate::proxy::unix_now;
use crate::server::{self, RunSettings};
use crate::token::ValidationSettings;
use fhir::FhirStandIn;
use issuer::LocalIssuer;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Issuer(#[from] issuer::IssuerError),
    #[error("FHIR stand-in: {0}")]
    Fhir(#[source] std::io::Error),
    #[error("generated config is invalid: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Start(#[from] server::StartError),
    #[error("the proxy did not load the issuer's keys within 10 s")]
    NotReady,
    #[error("bad URL: {0}")]
    Url(#[from] url::ParseError),
}

/// One printed example.
struct Example {
    title: &'static str,
    method: &'static str,
    path: &'static str,
    token: Option<String>,
    expect: u16,
    answer: &'static str,
}

/// The generated `authenticationConfiguration`, in Azure's wrapped shape: a primary authority whose tokens are
/// authorized by role, and one SMART provider with two applications.
pub fn demo_config(authority: &str, primary: &str) -> Value {
    json!({"proxy": {"roles": [
        {"name": "globalReader", "dataActions": ["read"], "notDataActions": [], "scopes": ["/"]},
        {"name": "globalWriter", "dataActions": ["*"], "notDataActions": ["delete", "hardDelete"], "scopes": ["/"]}
    ]}, "authenticationConfiguration": {
        "authority": primary,
        "audience": "https://fhir.demo",
        "smartIdentityProviders": [{
            "authority": authority,
            "applications": [
                {"clientId": "patient-portal", "audience": "fhir-api", "allowedDataActions": ["Read"]},
                {"clientId": "clinician-app", "audience": "fhir-api-clinical", "allowedDataActions": ["Read"]}
            ]
        }]
    }})
}

/// Run the demo until `shutdown` resolves (or, with `self_test`, until the examples ran). Returns whether every
/// self-tested answer matched (always true without `self_test`).
pub async fn run(
    listen: SocketAddr,
    self_test: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<bool, DemoError> {
    let idp = LocalIssuer::start("/realms/demo").await?;
    let tenant = LocalIssuer::start("/tenant-demo").await?;
    let fhir = FhirStandIn::start().await.map_err(DemoError::Fhir)?;
    let config_json = demo_config(idp.issuer(), tenant.issuer());
    let config = Config::from_json(
        config_json.to_string().as_bytes(),
        LoadOptions {
            allow_insecure_http: true,
        },
    )?;

    let mut settings = RunSettings {
        listen,
        admin_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        upstream: UpstreamSettings {
            base: url::Url::parse(&fhir.base_url())?,
            timeout: Duration::from_secs(10),
            forward_token: false,
            ca: None,
        },
        allow_insecure_http: true,
        validation: ValidationSettings::default(),
        refresh: RefreshPolicy::default(),
        fetch_timeouts: FetchTimeouts::default(),
        // Loopback only: no proxy whatever the environment says.
        egress: crate::discovery::EgressProxy::Off,
        ready_when: Default::default(),
        workers: 0,
        smart: Default::default(),
        token_cache: Default::default(),
        reload: None,
        tls: None,
        limits: ConnectionLimits::default(),
    };
    let running = match server::start(config.clone(), settings.clone()).await {
        Ok(r) => r,
        Err(server::StartError::Bind { .. }) if listen.port() != 0 => {
            eprintln!("{listen} is taken; using an ephemeral port instead");
            settings.listen = SocketAddr::new(listen.ip(), 0);
            server::start(config, settings).await?
        }
        Err(e) => return Err(e.into()),
    };
    let ready = async {
        while !running.state.load().keys.all_ready() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .is_err()
    {
        return Err(DemoError::NotReady);
    }

    let examples = examples(&idp, &tenant);
    let base = format!("http://{}", running.addr);
    println!("fhir-jwt-proxy demo");
    println!("  proxy:         {base}");
    println!("  admin:         http://{}/readyz", running.admin_addr);
    println!(
        "  token issuer:  {} (SMART provider; discovery at /.well-known/openid-configuration)",
        idp.issuer()
    );
    println!(
        "  token issuer:  {} (primary authority; its tokens are authorized by role)",
        tenant.issuer()
    );
    println!("  FHIR stand-in: {}", fhir.base_url());
    println!(
        "\nconfig (authenticationConfiguration):\n{}",
        serde_json::to_string_pretty(&config_json).unwrap_or_default()
    );
    println!("\nTry these (tokens are valid for one hour):\n");
    for ex in &examples {
        println!("# {} -> {} {}", ex.title, ex.expect, ex.answer);
        let auth = ex
            .token
            .as_ref()
            .map(|t| format!(" -H 'Authorization: Bearer {t}'"))
            .unwrap_or_default();
        let method = if ex.method == "GET" {
            String::new()
        } else {
            format!(" -X {}", ex.method)
        };
        println!("curl -s -i{method}{auth} {base}{}\n", ex.path);
    }

    let all_matched = if self_test {
        let outcome = self_check(&base, &examples).await;
        running.shutdown().await;
        outcome
    } else {
        println!("Ctrl-C stops the demo.");
        shutdown.await;
        running.shutdown().await;
        true
    };
    idp.stop();
    tenant.stop();
    drop(fhir);
    Ok(all_matched)
}

fn examples(idp: &LocalIssuer, tenant: &LocalIssuer) -> Vec<Example> {
    let now = unix_now();
    let claims = |f: &dyn Fn(&mut Value)| {
        let mut c = json!({
            "iss": idp.issuer(), "sub": "user-ana", "aud": "fhir-api", "azp": "patient-portal",
            "scp": "patient/*.read openid fhirUser", "fhirUser": "Patient/123",
            "iat": now, "exp": now + 3600,
        });
        f(&mut c);
        c
    };
    let ok = idp.mint(&claims(&|_| {}));
    let reader = tenant.mint(&json!({
        "iss": tenant.issuer(), "sub": "service-a", "aud": "https://fhir.demo", "appid": "reporting-service",
        "roles": ["globalReader"], "iat": now, "exp": now + 3600,
    }));
    vec![
        Example {
            title: "succeeds: patient-portal reads its own patient",
            method: "GET",
            path: "/Patient/123",
            token: Some(ok.clone()),
            expect: 200,
            answer: "the Patient resource",
        },
        Example {
            title: "succeeds, confined: a type search becomes Patient/123/Observation",
            method: "GET",
            path: "/Observation",
            token: Some(ok.clone()),
            expect: 200,
            answer: "a Bundle with only Patient 123's Observations",
        },
        Example {
            title: "confined: another patient's Observation",
            method: "GET",
            path: "/Observation/obs-2",
            token: Some(ok.clone()),
            expect: 404,
            answer: "not-found (it is outside the compartment)",
        },
        Example {
            title: "confined: another patient",
            method: "GET",
            path: "/Patient/456",
            token: Some(ok.clone()),
            expect: 404,
            answer: "not-found",
        },
        Example {
            title: "succeeds: clinician-app with system scopes, ES256-signed token",
            method: "GET",
            path: "/Observation?patient=456",
            token: Some(idp.mint_with(
                &idp.ec,
                idp.ec.alg,
                &claims(&|c| {
                    c["azp"] = json!("clinician-app");
                    c["aud"] = json!("fhir-api-clinical");
                    c["fhirUser"] = json!("Practitioner/77");
                    c["scp"] = json!("system/Observation.rs system/Patient.rs");
                }),
            )),
            expect: 200,
            answer: "a searchset Bundle",
        },
        Example {
            title: "public: capability statement without a token",
            method: "GET",
            path: "/metadata",
            token: None,
            expect: 200,
            answer: "the CapabilityStatement",
        },
        Example {
            title: "rejected: no token",
            method: "GET",
            path: "/Patient/123",
            token: None,
            expect: 401,
            answer: "WWW-Authenticate: Bearer realm=... (no error)",
        },
        Example {
            title: "rejected: expired token",
            method: "GET",
            path: "/Patient/123",
            token: Some(idp.mint(&claims(&|c| {
                c["exp"] = json!(now - 3600);
                c["iat"] = json!(now - 7200);
            }))),
            expect: 401,
            answer: "error=\"invalid_token\", token has expired",
        },
        Example {
            title: "rejected: wrong audience",
            method: "GET",
            path: "/Patient/123",
            token: Some(idp.mint(&claims(&|c| c["aud"] = json!("someone-else")))),
            expect: 401,
            answer: "error=\"invalid_token\", aud does not match application patient-portal",
        },
        Example {
            title: "rejected: unknown client",
            method: "GET",
            path: "/Patient/123",
            token: Some(idp.mint(&claims(&|c| c["azp"] = json!("stranger-app")))),
            expect: 401,
            answer: "error=\"invalid_token\", azp/appid/client_id/cid matches no application",
        },
        Example {
            title: "rejected: missing fhirUser",
            method: "GET",
            path: "/Patient/123",
            token: Some(idp.mint(&claims(&|c| {
                if let Some(m) = c.as_object_mut() {
                    m.remove("fhirUser");
                }
            }))),
            expect: 401,
            answer: "error=\"invalid_token\", fhirUser is missing",
        },
        Example {
            title: "rejected: mixed SMART v1 and v2 scopes",
            method: "GET",
            path: "/Patient/123",
            token: Some(idp.mint(&claims(&|c| {
                c["scp"] = json!("patient/Observation.read patient/Condition.rs")
            }))),
            expect: 401,
            answer: "error=\"invalid_token\", mixes SMART v1 and v2 scope syntax",
        },
        Example {
            title: "rejected: v2 read-only scope cannot search",
            method: "GET",
            path: "/Observation?code=8867-4",
            token: Some(idp.mint(&claims(&|c| c["scp"] = json!("patient/Observation.r")))),
            expect: 403,
            answer: "error=\"insufficient_scope\", scope=\"patient/Observation.s\"",
        },
        Example {
            title: "succeeds: a primary-authority service token with the globalReader role reads",
            method: "GET",
            path: "/Patient/123",
            token: Some(reader.clone()),
            expect: 200,
            answer: "the Patient resource (roles decide, not SMART scopes)",
        },
        Example {
            title: "rejected: the same globalReader token writes",
            method: "POST",
            path: "/Patient",
            token: Some(reader),
            expect: 403,
            answer: "error=\"insufficient_scope\", needs the data action write",
        },
        Example {
            title: "rejected: write with a Read-only application",
            method: "POST",
            path: "/Observation",
            token: Some(ok),
            expect: 403,
            answer: "error=\"insufficient_scope\", may only read",
        },
    ]
}

/// Send every example and compare the status with the announced one.
async fn self_check(base: &str, examples: &[Example]) -> bool {
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            println!("self-test: cannot build a client: {e}");
            return false;
        }
    };
    let mut all = true;
    for ex in examples {
        let method =
            reqwest::Method::from_bytes(ex.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut req = client.request(method, format!("{base}{}", ex.path));
        if let Some(t) = &ex.token {
            req = req.bearer_auth(t);
        }
        let got = req.send().await.map(|r| r.status().as_u16());
        let matched = matches!(got, Ok(s) if s == ex.expect);
        all &= matched;
        println!(
            "self-test: {} {} ({}): expected {}, got {}",
            if matched { "ok  " } else { "FAIL" },
            ex.path,
            ex.title,
            ex.expect,
            got.map_or_else(|e| e.to_string(), |s| s.to_string())
        );
    }
    println!(
        "self-test: {}",
        if all {
            "all answers matched"
        } else {
            "some answers did not match"
        }
    );
    all
}
