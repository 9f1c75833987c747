//! End-to-end against an independently written, certified OpenID Provider (`oidc-provider` from npm, pinned with its
//! lock file under `tests/e2e/idp/`): discovery, its JWKS, its `at+jwt` access tokens from the client-credentials
//! grant with resource indicators — all through the running proxy to the recording upstream.

use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

const IDP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/idp");
const RESOURCE: &str = "https://fhir.example/r4";

/// `npm ci` once per test run when the pinned dependencies are not installed yet (CI installs them first).
fn ensure_installed() {
    static INSTALL: Mutex<bool> = Mutex::new(false);
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if *done
        || std::path::Path::new(IDP_DIR)
            .join("node_modules/oidc-provider")
            .exists()
    {
        *done = true;
        return;
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix", IDP_DIR])
        .status()
        .expect("npm is installed (the machine image has Node.js and npm)");
    assert!(status.success(), "npm ci in tests/e2e/idp failed");
    *done = true;
}

/// The provider as a child process; killed when dropped.
struct Idp {
    _child: tokio::process::Child,
    issuer: String,
}

async fn start_idp() -> Idp {
    tokio::task::spawn_blocking(ensure_installed)
        .await
        .expect("install");
    let mut child = tokio::process::Command::new("node")
        .arg(format!("{IDP_DIR}/server.mjs"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the provider starts")
        .expect("read")
        .expect("a line");
    let issuer = line.strip_prefix("ready ").expect("ready line").to_string();
    Idp {
        _child: child,
        issuer,
    }
}

async fn access_token(idp: &Idp, client: &str, resource: &str, scope: &str) -> String {
    let body = format!(
        "grant_type=client_credentials&client_id={client}&client_secret={client}-secret&resource={}&scope={}",
        resource.replace(':', "%3A").replace('/', "%2F"),
        scope.replace('/', "%2F").replace('*', "%2A").replace(' ', "+"),
    );
    let r = client_for_idp()
        .post(format!("{}/token", idp.issuer))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token endpoint answers");
    let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {v}"))
        .to_string()
}

fn client_for_idp() -> reqwest::Client {
    client()
}

fn config(idp: &Idp) -> Value {
    json!({"authenticationConfiguration": {"smartIdentityProviders": [{
        "authority": idp.issuer,
        "applications": [
            {"clientId": "portal", "audience": RESOURCE, "allowedDataActions": ["Read"]},
            {"clientId": "reporting", "audience": RESOURCE, "allowedDataActions": ["Read"]}
        ]
    }]}})
}

#[tokio::test]
async fn tokens_of_a_certified_openid_provider_are_validated_and_confined() {
    let idp = start_idp().await;
    let upstream = RecordingUpstream::start().await;
    let p = start_proxy(&config(&idp), &upstream.base_url(), |_| {}).await;
    wait_ready(&p).await;

    // A patient-context token (typ at+jwt, `scope` claim, azp and fhirUser from extraTokenClaims).
    let portal = access_token(&idp, "portal", RESOURCE, "patient/*.read").await;
    let a = get(&p, "/Observation?code=8867-4", Some(&portal)).await;
    assert_eq!(a.status, 200, "{:?} {}", a.body, a.challenge);
    let seen = upstream.last();
    assert_eq!(
        seen.uri, "/Patient/123/Observation?code=8867-4",
        "confined to fhirUser's compartment"
    );
    assert_eq!(seen.headers["x-fhir-user"], "Patient/123");
    assert_eq!(seen.headers["x-auth-client-id"], "portal");
    assert_eq!(seen.headers["x-auth-issuer"], idp.issuer.as_str());
    assert_eq!(status(&p, "/Patient/456", Some(&portal)).await, 404);
    assert_eq!(
        send(&p, reqwest::Method::POST, "/Observation", Some(&portal))
            .await
            .status,
        403
    );

    // A system-scope token is not confined.
    let reporting = access_token(&idp, "reporting", RESOURCE, "system/Observation.rs").await;
    assert_eq!(
        status(&p, "/Observation?code=8867-4", Some(&reporting)).await,
        200
    );
    assert_eq!(upstream.last().uri, "/Observation?code=8867-4");
    // ...but only for the types it was granted.
    let a = get(&p, "/Condition?code=x", Some(&reporting)).await;
    assert_eq!(a.status, 403);
    assert!(
        a.challenge.contains("scope=\"system/Condition.s\""),
        "{}",
        a.challenge
    );

    // A token for another resource (audience) is refused, and so is a tampered one.
    let other = access_token(
        &idp,
        "portal",
        "https://other.example/api",
        "patient/*.read",
    )
    .await;
    let a = get(&p, "/Patient/123", Some(&other)).await;
    assert_eq!(a.status, 401);
    assert!(
        a.challenge
            .contains("aud does not match application portal"),
        "{}",
        a.challenge
    );
    let mut tampered = portal.clone();
    tampered.pop();
    tampered.push(if portal.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(status(&p, "/Patient/123", Some(&tampered)).await, 401);
}

#[tokio::test]
async fn check_reads_the_real_providers_metadata_and_keys() {
    let idp = start_idp().await;
    let (code, report) = check_json(&config(&idp), &[]).await;
    assert_eq!(code, Some(0), "{report}");
    let authority = &report["authorities"][0];
    assert_eq!(authority["issuer"], idp.issuer.as_str());
    assert!(
        authority["keys"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k["kty"] == "RSA")),
        "{authority}"
    );
}
