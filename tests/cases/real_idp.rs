//! End-to-end against an independently written, certified OpenID Provider (`oidc-provider` from npm, pinned with its
//! lock file under `tests/e2e/idp/`): discovery, its JWKS, and access tokens from its token endpoint (client-credentials
//! grant with resource indicators), fetched exactly as an app would (discovery → `token_endpoint` → POST), never minted
//! here — all through the running proxy to the recording upstream.
//!
//! `server.mjs` serves two tenants from one node process, configured here as the two smartIdentityProviders; its clients
//! shape their tokens like the providers our users run. What each real provider does that the proxy had to handle,
//! and the test that pins it:
//!
//! - Entra ID v1: discovery at the authority (`login.microsoftonline.com/<tid>`) names another issuer
//!   (`https://sts.windows.net/<tid>/`, with a trailing slash). The proxy trusts the discovered `issuer`, byte for byte,
//!   not the authority string (B2, Q16): `entra_v1_tokens_are_checked_against_the_issuer_their_authority_discovers`.
//! - Entra ID v1: the client is in `appid`, there is no `azp` (D1, Q2): same test.
//! - Entra ID v1/v2 and B2C type their access tokens `typ: JWT`, Okta sends no `typ`, RFC 9068 providers `at+jwt`
//!   (C4, Q8); all pass unless `requireAtJwtTyp`: `typ_jwt_and_absent_typ_pass_unless_at_jwt_is_required`.
//! - Entra ID v1 puts `x5t` beside `kid` in the header; it is ignored (B4): the Entra v1 test.
//! - Entra scope names cannot carry `/`: `patient.all.read`, `patient.Observation.read` (E6), and Entra adds
//!   non-SMART scopes such as `user_impersonation` (E8): the Entra v1 and v2 tests.
//! - Entra v2: `azp`, `scp` as one space-separated string; Okta: `scp` as a JSON array (D3), ES256-signed here:
//!   `entra_v2_and_okta_scopes_as_a_string_and_as_an_array`.
//! - Okta as shipped names the client only in `cid`, and oidc-provider's own RFC 9068 tokens only in `client_id`
//!   (REQUIRED by RFC 9068 §2.2): the proxy reads `azp`, then `appid`, then `client_id`, then `cid`, the first present
//!   (D1, Q2), so both are accepted and confined like any other: the Entra v2 / Okta test.
//! - Azure AD B2C: the user's FHIR resource comes in the directory extension `extension_fhirUser`, as an absolute URL
//!   (D4, D5, D6): `b2c_extension_fhir_user_confines_like_fhir_user`.
//! - Realms may reuse a client id: tenant 2's `v1-portal` is not tenant 1's application (Q17): the Entra v1 test.
//! - A JWKS with RSA keys without `alg` (Entra) beside EC keys with `alg` (Okta, Keycloak), tokens signed RS256 and
//!   ES256 by the same tenant: `check_reads_both_tenants_metadata_and_keys` and the Entra v2 / Okta test.
//! - Key rotation (B5, B6): the provider restarted with new + old keys signs with the new ones, which the proxy learns by
//!   one JWKS refetch; while the provider is down the cached keys keep serving; keys withdrawn by a restart with the
//!   new keys only are refused after the proxy's next scheduled refresh, and honoured until then:
//!   `keys_rotated_on_the_real_provider_are_learned_by_one_refetch_and_withdrawn_by_the_next_refresh`.

use std::ops::AsyncFnMut;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use fhir_jwt_proxy::config::AuthorityRole;
use fhir_jwt_proxy::server::{RunSettings, Running};
use serde_json::{json, Value};

use crate::support::*;

const IDP_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/idp");
const RESOURCE: &str = "https://fhir.example/r4";
/// The proxy's public FHIR base: an absolute `fhirUser` must start with it (D6).
const FHIR_BASE: &str = "https://fhir.example/r4";
/// Tenant 1, Entra ID v1 style: its issuer is `<base>/sts/tid-v1/`, not the authority.
const V1: &str = "tid-v1";
/// Tenant 2, Entra ID v2 / Okta / Keycloak style: its issuer is the authority.
const V2: &str = "tid-v2/v2.0";
/// The applications configured for each tenant (server.mjs says what each client's tokens look like).
const V1_APPS: [&str; 6] = [
    "v1-portal",
    "v1-authority-iss",
    "v1-iss-no-slash",
    "b2c-portal",
    "b2c-elsewhere",
    "b2c-no-fhiruser",
];
const V2_APPS: [&str; 6] = [
    "v2-portal",
    "okta-portal",
    "okta-cid-only",
    "portal",
    "reporting",
    "rfc9068-plain",
];

/// `npm ci` once per test run when the pinned dependencies are not installed yet (CI installs them first).
fn ensure_installed() {
    npm_ci_once(IDP_DIR, "oidc-provider");
}

/// The provider as a child process; killed when dropped.
pub(super) struct Idp {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`; the tenants live under it.
    base: String,
    port: u16,
}

impl Idp {
    /// On an ephemeral port, with fresh keys.
    async fn start() -> Idp {
        Idp::spawn(0, None).await
    }

    /// On an ephemeral port, with these extra arguments (`--launch-redirect URL` for the `/smart` tenant).
    pub(super) async fn start_with(extra: &[String]) -> Idp {
        Idp::spawn_with(0, None, extra).await
    }

    /// On `port` (0: ephemeral), signing with the JWKS in `keys` when given.
    async fn spawn(port: u16, keys: Option<&Path>) -> Idp {
        Idp::spawn_with(port, keys, &[]).await
    }

    async fn spawn_with(port: u16, keys: Option<&Path>, extra: &[String]) -> Idp {
        tokio::task::spawn_blocking(ensure_installed)
            .await
            .expect("install");
        let (child, base) = start_node_server("the OpenID Provider", || {
            let mut cmd = tokio::process::Command::new("node");
            cmd.arg(format!("{IDP_DIR}/server.mjs"))
                .args(["--port", &port.to_string()]);
            if let Some(keys) = keys {
                cmd.arg("--keys").arg(keys);
            }
            cmd.args(extra);
            cmd
        })
        .await;
        let port = base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        Idp { child, base, port }
    }

    /// Kill the process and wait until it is gone (its port is free again).
    async fn stop(mut self) -> u16 {
        self.child.kill().await.expect("kill the provider");
        self.port
    }

    /// Where the tenant's discovery document is served: what the proxy is configured with.
    pub(super) fn authority(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.base)
    }

    /// What the tenant's discovery document (and every token it issues) names as issuer.
    fn issuer(&self, tenant: &str) -> String {
        match tenant {
            V1 => format!("{}/sts/tid-v1/", self.base),
            _ => self.authority(tenant),
        }
    }

    async fn discovery(&self, tenant: &str) -> Value {
        let r = client()
            .get(format!(
                "{}/.well-known/openid-configuration",
                self.authority(tenant)
            ))
            .send()
            .await
            .expect("discovery answers");
        assert_eq!(r.status(), 200);
        serde_json::from_slice(&r.bytes().await.expect("body")).expect("json")
    }

    /// An access token as an app gets it: discovery, then the client-credentials grant at the `token_endpoint`.
    async fn token(&self, tenant: &str, client_id: &str, scope: &str) -> String {
        self.token_for(tenant, client_id, RESOURCE, scope).await
    }

    async fn token_for(
        &self,
        tenant: &str,
        client_id: &str,
        resource: &str,
        scope: &str,
    ) -> String {
        let endpoint = self.discovery(tenant).await["token_endpoint"]
            .as_str()
            .expect("token_endpoint")
            .to_string();
        let secret = format!("{client_id}-secret");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret.as_str()),
                ("resource", resource),
                ("scope", scope),
            ])
            .finish();
        let r = client()
            .post(endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token endpoint answers");
        let v: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        v["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token for {client_id}: {v}"))
            .to_string()
    }
}

/// The JOSE header and the claims of a token, as the provider issued them (read, not verified).
fn jose(token: &str) -> (Value, Value) {
    let mut parts = token.split('.').map(|p| {
        let bytes = URL_SAFE_NO_PAD.decode(p).expect("base64url");
        serde_json::from_slice::<Value>(&bytes).expect("json")
    });
    (parts.next().expect("header"), parts.next().expect("claims"))
}

fn applications(ids: &[&str]) -> Value {
    ids.iter()
        .map(|id| json!({"clientId": id, "audience": RESOURCE, "allowedDataActions": ["Read"]}))
        .collect()
}

/// Both tenants as the two smartIdentityProviders.
fn config(idp: &Idp) -> Value {
    json!({"authenticationConfiguration": {"smartIdentityProviders": [
        {"authority": idp.authority(V1), "applications": applications(&V1_APPS)},
        {"authority": idp.authority(V2), "applications": applications(&V2_APPS)},
    ]}})
}

async fn proxy(
    idp: &Idp,
    upstream: &RecordingUpstream,
    tweak: impl FnOnce(&mut RunSettings),
) -> Running {
    let p = start_proxy(&config(idp), &upstream.base_url(), |s| {
        s.smart.fhir_base_url = Some(url::Url::parse(FHIR_BASE).expect("url"));
        tweak(s);
    })
    .await;
    wait_ready(&p).await;
    p
}

/// A refusal: its status and a phrase of its challenge, and nothing reached the upstream.
async fn assert_refused(
    p: &Running,
    upstream: &RecordingUpstream,
    token: &str,
    status: u16,
    why: &str,
) {
    let before = upstream.count();
    let a = get(p, "/Observation?code=8867-4", Some(token)).await;
    assert_eq!(a.status, status, "{why}: {:?} {}", a.body, a.challenge);
    assert!(a.challenge.contains(why), "{why}: {}", a.challenge);
    assert_eq!(upstream.count(), before, "{why}: nothing forwarded");
}

#[tokio::test]
async fn entra_v1_tokens_are_checked_against_the_issuer_their_authority_discovers() {
    let idp = Idp::start().await;
    let upstream = RecordingUpstream::start().await;
    let p = proxy(&idp, &upstream, |_| {}).await;

    // Entra v1: discovery at the authority names another issuer (Q16), and the proxy trusts exactly that one.
    let issuer = idp.issuer(V1);
    assert_eq!(idp.discovery(V1).await["issuer"], issuer.as_str());
    assert_ne!(issuer, idp.authority(V1));
    let snapshot = p.state.load();
    let store = snapshot
        .keys
        .stores
        .iter()
        .find(|s| s.role == AuthorityRole::Smart(0))
        .expect("tenant 1's store");
    assert_eq!(store.authority.as_str(), idp.authority(V1));
    assert_eq!(
        store.current().expect("keys").metadata.issuer.as_str(),
        issuer
    );

    // Its token: typ JWT, x5t beside kid, the client in appid (no azp), Entra's `.` scope names.
    let t = idp
        .token(V1, "v1-portal", "patient.all.read user_impersonation")
        .await;
    let (header, claims) = jose(&t);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["x5t"], header["kid"]);
    assert_eq!(claims["appid"], "v1-portal");
    assert!(claims.get("azp").is_none() && claims.get("client_id").is_none());
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["scp"], "patient.all.read user_impersonation");
    let a = get(&p, "/Observation?code=8867-4", Some(&t)).await;
    assert_eq!(a.status, 200, "{:?} {}", a.body, a.challenge);
    let seen = upstream.last();
    assert_eq!(seen.uri, "/Patient/123/Observation?code=8867-4");
    assert_eq!(seen.headers["x-auth-client-id"], "v1-portal");
    assert_eq!(seen.headers["x-auth-issuer"], issuer.as_str());
    assert_eq!(seen.headers["x-fhir-user"], "Patient/123");

    // The counterparts, each a token of the same provider. The authority string is not an issuer, nor is the issuer
    // without its trailing slash (B2: byte for byte).
    let t = idp.token(V1, "v1-authority-iss", "patient.all.read").await;
    assert_eq!(jose(&t).1["iss"], idp.authority(V1).as_str());
    assert_refused(&p, &upstream, &t, 401, "iss is not a trusted issuer").await;
    let t = idp.token(V1, "v1-iss-no-slash", "patient.all.read").await;
    assert_eq!(jose(&t).1["iss"], issuer.trim_end_matches('/'));
    assert_refused(&p, &upstream, &t, 401, "iss is not a trusted issuer").await;
    // Another application of the tenant, not configured: its appid matches nothing (D1).
    let t = idp.token(V1, "v1-unregistered", "patient.all.read").await;
    assert_refused(&p, &upstream, &t, 401, "matches no application").await;
    // Tenant 2 has a client with the same id as tenant 1's application: its token is tenant 2's, whose configured
    // applications do not include that id (Q17), so it is refused rather than taken for tenant 1's.
    let t = idp.token(V2, "v1-portal", "patient.all.read").await;
    let (_, claims) = jose(&t);
    assert_eq!(
        (claims["azp"].as_str(), claims["iss"].as_str()),
        (Some("v1-portal"), Some(idp.issuer(V2).as_str()))
    );
    assert_refused(&p, &upstream, &t, 401, "matches no application").await;
}

#[tokio::test]
async fn typ_jwt_and_absent_typ_pass_unless_at_jwt_is_required() {
    let idp = Idp::start().await;
    let upstream = RecordingUpstream::start().await;
    let lax = proxy(&idp, &upstream, |_| {}).await;
    let strict = proxy(&idp, &upstream, |s| s.validation.require_at_jwt_typ = true).await;

    let entra = idp.token(V1, "v1-portal", "patient.all.read").await;
    let okta = idp.token(V2, "okta-portal", "patient/Observation.rs").await;
    let rfc9068 = idp.token(V2, "portal", "patient/Observation.rs").await;
    assert_eq!(jose(&entra).0["typ"], "JWT");
    assert!(jose(&okta).0.get("typ").is_none(), "Okta sends no typ");
    assert_eq!(jose(&rfc9068).0["typ"], "at+jwt");

    // Q8: by default all three pass...
    for t in [&entra, &okta, &rfc9068] {
        let a = get(&lax, "/Observation?code=8867-4", Some(t)).await;
        assert_eq!(a.status, 200, "{:?} {}", a.body, a.challenge);
    }
    // ...under requireAtJwtTyp only the at+jwt one does.
    for t in [&entra, &okta] {
        assert_refused(&strict, &upstream, t, 401, "typ is not an accepted").await;
    }
    assert_eq!(
        status(&strict, "/Observation?code=8867-4", Some(&rfc9068)).await,
        200
    );
}

#[tokio::test]
async fn entra_v2_and_okta_scopes_as_a_string_and_as_an_array() {
    let idp = Idp::start().await;
    let upstream = RecordingUpstream::start().await;
    let p = proxy(&idp, &upstream, |_| {}).await;

    // Entra v2: azp, scp one space-separated string, RS256.
    let entra = idp
        .token(
            V2,
            "v2-portal",
            "patient.Observation.read patient.Patient.read",
        )
        .await;
    let (header, claims) = jose(&entra);
    assert_eq!(
        (header["alg"].as_str(), header["typ"].as_str()),
        (Some("RS256"), Some("JWT"))
    );
    assert_eq!(
        claims["scp"],
        "patient.Observation.read patient.Patient.read"
    );
    assert_eq!(claims["azp"], "v2-portal");
    // Okta (with an azp custom claim): scp a JSON array, no typ, here ES256.
    let okta = idp
        .token(
            V2,
            "okta-portal",
            "openid patient/Observation.rs patient/Patient.rs",
        )
        .await;
    let (header, claims) = jose(&okta);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(
        claims["scp"],
        json!(["openid", "patient/Observation.rs", "patient/Patient.rs"])
    );

    for (t, client) in [(&entra, "v2-portal"), (&okta, "okta-portal")] {
        let a = get(&p, "/Observation?code=8867-4", Some(t)).await;
        assert_eq!(a.status, 200, "{client}: {:?} {}", a.body, a.challenge);
        let seen = upstream.last();
        assert_eq!(seen.uri, "/Patient/123/Observation?code=8867-4", "{client}");
        assert_eq!(seen.headers["x-auth-client-id"], client);
        assert_eq!(seen.headers["x-auth-issuer"], idp.issuer(V2).as_str());
        // Every scope of the string or array counts: the second one grants Patient.
        assert_eq!(status(&p, "/Patient/123", Some(t)).await, 200, "{client}");
        // ...and what no scope covers is refused.
        let before = upstream.count();
        let a = get(&p, "/Condition?code=x", Some(t)).await;
        assert_eq!(a.status, 403, "{client}: {}", a.challenge);
        assert!(
            a.challenge.contains("insufficient_scope"),
            "{}",
            a.challenge
        );
        assert_eq!(upstream.count(), before);
    }

    // The client named only in `cid` (Okta as shipped) or only in `client_id` (RFC 9068 §2.2): the fallbacks after azp
    // and appid (D1, Q2). Both are configured applications with fhirUser Patient/123: accepted and confined.
    let okta_cid = idp
        .token(V2, "okta-cid-only", "patient/Observation.rs")
        .await;
    let claims = jose(&okta_cid).1;
    assert_eq!(claims["cid"], "okta-cid-only");
    assert!(["azp", "appid", "client_id"]
        .iter()
        .all(|c| claims.get(*c).is_none()));
    let plain = idp
        .token(V2, "rfc9068-plain", "patient/Observation.rs")
        .await;
    let claims = jose(&plain).1;
    assert_eq!(claims["client_id"], "rfc9068-plain");
    assert!(claims.get("azp").is_none() && claims.get("appid").is_none());
    for (t, client) in [(&okta_cid, "okta-cid-only"), (&plain, "rfc9068-plain")] {
        let a = get(&p, "/Observation?code=8867-4", Some(t)).await;
        assert_eq!(a.status, 200, "{client}: {:?} {}", a.body, a.challenge);
        let seen = upstream.last();
        assert_eq!(seen.uri, "/Patient/123/Observation?code=8867-4", "{client}");
        assert_eq!(seen.headers["x-auth-client-id"], client);
        assert_eq!(seen.headers["x-fhir-user"], "Patient/123");
    }
}

#[tokio::test]
async fn b2c_extension_fhir_user_confines_like_fhir_user() {
    let idp = Idp::start().await;
    let upstream = RecordingUpstream::start().await;
    let p = proxy(&idp, &upstream, |_| {}).await;

    // B2C: typ JWT, azp, and the user's resource as an absolute URL in extension_fhirUser (no fhirUser).
    let t = idp.token(V1, "b2c-portal", "patient.all.read").await;
    let (header, claims) = jose(&t);
    assert_eq!(header["typ"], "JWT");
    assert!(claims.get("fhirUser").is_none());
    let user = format!("{FHIR_BASE}/Patient/456");
    assert_eq!(claims["extension_fhirUser"], user.as_str());
    let a = get(&p, "/Observation?code=8867-4", Some(&t)).await;
    assert_eq!(a.status, 200, "{:?} {}", a.body, a.challenge);
    let seen = upstream.last();
    assert_eq!(seen.uri, "/Patient/456/Observation?code=8867-4");
    assert_eq!(seen.headers["x-fhir-user"], user.as_str());
    assert_eq!(status(&p, "/Patient/456", Some(&t)).await, 200);
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 404);

    // A user of another FHIR server (D6) and a user without the attribute (D4, Q5).
    let t = idp.token(V1, "b2c-elsewhere", "patient.all.read").await;
    assert_refused(&p, &upstream, &t, 403, "not a resource of this FHIR server").await;
    let t = idp.token(V1, "b2c-no-fhiruser", "patient.all.read").await;
    let claims = jose(&t).1;
    assert!(claims.get("fhirUser").is_none() && claims.get("extension_fhirUser").is_none());
    assert_refused(&p, &upstream, &t, 401, "fhirUser is missing").await;
}

#[tokio::test]
async fn rfc9068_tokens_with_azp_are_validated_and_confined() {
    let idp = Idp::start().await;
    let upstream = RecordingUpstream::start().await;
    let p = proxy(&idp, &upstream, |_| {}).await;

    // oidc-provider's own shape (typ at+jwt, `scope`, client_id) plus azp, as Keycloak issues them.
    let portal = idp.token(V2, "portal", "patient/*.read").await;
    let a = get(&p, "/Observation?code=8867-4", Some(&portal)).await;
    assert_eq!(a.status, 200, "{:?} {}", a.body, a.challenge);
    let seen = upstream.last();
    assert_eq!(
        seen.uri, "/Patient/123/Observation?code=8867-4",
        "confined to fhirUser's compartment"
    );
    assert_eq!(seen.headers["x-fhir-user"], "Patient/123");
    assert_eq!(seen.headers["x-auth-client-id"], "portal");
    assert_eq!(seen.headers["x-auth-issuer"], idp.issuer(V2).as_str());
    assert_eq!(status(&p, "/Patient/456", Some(&portal)).await, 404);
    assert_eq!(
        send(&p, reqwest::Method::POST, "/Observation", Some(&portal))
            .await
            .status,
        403
    );

    // A system-scope token (ES256) is not confined...
    let reporting = idp.token(V2, "reporting", "system/Observation.rs").await;
    assert_eq!(jose(&reporting).0["alg"], "ES256");
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
    let other = idp
        .token_for(V2, "portal", "https://other.example/api", "patient/*.read")
        .await;
    assert_refused(
        &p,
        &upstream,
        &other,
        401,
        "aud does not match application portal",
    )
    .await;
    let mut tampered = portal.clone();
    tampered.pop();
    tampered.push(if portal.ends_with('A') { 'B' } else { 'A' });
    assert_refused(&p, &upstream, &tampered, 401, "invalid_token").await;
}

#[tokio::test]
async fn check_reads_both_tenants_metadata_and_keys() {
    let idp = Idp::start().await;
    let cfg = config(&idp);
    let (code, report) = check_json(&cfg, &[]).await;
    assert_eq!(code, Some(0), "{report}");
    let kinds = |authority: &Value| -> Vec<String> {
        let mut k: Vec<String> = authority["keys"]
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k["kty"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        k.sort();
        k
    };
    let v1 = &report["authorities"][0];
    assert_eq!(v1["issuer"], idp.issuer(V1).as_str(), "{v1}");
    assert_eq!(kinds(v1), ["EC", "RSA"], "{v1}");
    let v2 = &report["authorities"][1];
    assert_eq!(v2["issuer"], idp.issuer(V2).as_str(), "{v2}");
    assert_eq!(kinds(v2), ["EC", "RSA"], "{v2}");

    // The counterpart: with the provider gone, check reports the authorities unreachable (exit 1).
    idp.stop().await;
    let (code, report) = check_json(&cfg, &[]).await;
    assert_eq!(code, Some(1), "{report}");
}

/// Write a JWKS of fresh private keys (`<label>-rsa`, `<label>-ec`) with server.mjs's key generator.
async fn keygen(dir: &Path, label: &str) -> Value {
    tokio::task::spawn_blocking(ensure_installed)
        .await
        .expect("install");
    let file = dir.join(format!("{label}.json"));
    let out = tokio::process::Command::new("node")
        .arg(format!("{IDP_DIR}/server.mjs"))
        .arg("--keygen")
        .arg(label)
        .arg(&file)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("key generation finishes")
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&file).expect("keys file")).expect("json")
}

fn write_keys(dir: &Path, name: &str, sets: &[&Value]) -> PathBuf {
    let keys: Vec<Value> = sets
        .iter()
        .flat_map(|s| s["keys"].as_array().cloned().unwrap_or_default())
        .collect();
    let file = dir.join(name);
    std::fs::write(&file, json!({ "keys": keys }).to_string()).expect("write keys");
    file
}

/// JWKS fetches (successful and failed) a proxy has made, from its admin `/metrics`.
async fn jwks_fetches(p: &Running, result: &str) -> u64 {
    let text = metrics_text(p).await;
    text.lines()
        .filter(|l| {
            l.starts_with("fhir_jwt_proxy_jwks_fetches_total{")
                && l.contains(&format!("result=\"{result}\""))
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// The kids of a proxy's current key set for its only provider.
fn kids(p: &Running) -> Vec<String> {
    p.state.load().keys.stores[0]
        .current()
        .map(|set| set.keys.iter().filter_map(|k| k.kid.clone()).collect())
        .unwrap_or_default()
}

/// Requests sent in the background, every 25 ms, while the provider restarts: every answer must be 200.
struct Hammer {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(u32, Vec<String>)>,
}

impl Hammer {
    fn start(targets: Vec<(&str, String, String)>) -> Hammer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let targets: Vec<(String, String, String)> = targets
            .into_iter()
            .map(|(label, url, token)| (label.to_string(), url, token))
            .collect();
        let task = tokio::spawn(async move {
            let c = client();
            let (mut sent, mut failures) = (0u32, Vec::new());
            // Bounded: at most 60 s of requests even if the test never stops it.
            for _ in 0..2400 {
                if flag.load(Ordering::Relaxed) {
                    break;
                }
                for (label, url, token) in &targets {
                    let s = c
                        .get(url)
                        .bearer_auth(token)
                        .send()
                        .await
                        .map(|r| r.status().as_u16());
                    sent += 1;
                    if !matches!(s, Ok(200)) {
                        failures.push(format!("{label}: {s:?}"));
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            (sent, failures)
        });
        Hammer { stop, task }
    }

    async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let (sent, failures) = self.task.await.expect("hammer");
        assert!(sent > 0);
        assert!(
            failures.is_empty(),
            "{} of {sent} failed: {failures:?}",
            failures.len()
        );
    }
}

/// Wait (at most 15 s) until `done` holds.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn keys_rotated_on_the_real_provider_are_learned_by_one_refetch_and_withdrawn_by_the_next_refresh(
) {
    let dir = std::env::temp_dir().join(format!("fhir-jwt-proxy-rotation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (old, new) = tokio::join!(keygen(&dir, "old"), keygen(&dir, "new"));
    let old_only = write_keys(&dir, "old-only.json", &[&old]);
    let new_first = write_keys(&dir, "new-first.json", &[&new, &old]);
    let new_only = write_keys(&dir, "new-only.json", &[&new]);

    let idp = Idp::spawn(0, Some(&old_only)).await;
    let authority = idp.authority(V2);
    let config = json!({"authenticationConfiguration": {"smartIdentityProviders": [
        {"authority": authority, "applications": applications(&["v2-portal", "okta-portal"])},
    ]}});
    let upstream = RecordingUpstream::start().await;
    // `steady` refreshes on the default schedule (12 h) and refetches only for an unknown kid; `eager` refreshes
    // every second: what `--jwks-refresh-interval 1` sets (interval and floor 1 s, src/cli.rs).
    let steady = start_proxy(&config, &upstream.base_url(), |_| {}).await;
    let eager = start_proxy(&config, &upstream.base_url(), |s| {
        s.refresh.interval = Duration::from_secs(1);
        s.refresh.floor = Duration::from_secs(1);
    })
    .await;
    wait_ready(&steady).await;
    wait_ready(&eager).await;
    let path = "/Observation?code=8867-4";
    let (rs, es) = ("patient.Observation.read", "patient/Observation.rs");
    let old_rs = idp.token(V2, "v2-portal", rs).await;
    let old_es = idp.token(V2, "okta-portal", es).await;
    assert_eq!(jose(&old_rs).0["kid"], "old-rsa");
    assert_eq!(jose(&old_es).0["kid"], "old-ec");
    for p in [&steady, &eager] {
        for t in [&old_rs, &old_es] {
            assert_eq!(status(p, path, Some(t)).await, 200);
        }
    }

    // 1. The provider goes down and comes back on the same port with the new keys first and the old ones still
    // published. Throughout, the old tokens keep passing on both proxies.
    let hammer = Hammer::start(vec![
        ("steady old RS256", url(&steady, path), old_rs.clone()),
        ("steady old ES256", url(&steady, path), old_es.clone()),
        ("eager old RS256", url(&eager, path), old_rs.clone()),
        ("eager old ES256", url(&eager, path), old_es.clone()),
    ]);
    let port = idp.stop().await;
    // While it is down, eager's refreshes fail and the last good keys keep serving (B6).
    let failed = jwks_fetches(&eager, "error").await;
    eventually("a failed refresh while the provider is down", async || {
        jwks_fetches(&eager, "error").await > failed
    })
    .await;
    let idp = Idp::spawn(port, Some(&new_first)).await;
    assert_eq!(idp.authority(V2), authority);
    let new_rs = idp.token(V2, "v2-portal", rs).await;
    let new_es = idp.token(V2, "okta-portal", es).await;
    assert_eq!(jose(&new_rs).0["kid"], "new-rsa", "the first key signs");
    assert_eq!(jose(&new_es).0["kid"], "new-ec");
    // steady learns both new keys by exactly one JWKS refetch, triggered by the first unknown kid (B5).
    let before = jwks_fetches(&steady, "ok").await + jwks_fetches(&steady, "error").await;
    for t in [&new_rs, &new_es] {
        let a = get(&steady, path, Some(t)).await;
        assert_eq!(a.status, 200, "{:?} {}", a.body, a.challenge);
    }
    let after = jwks_fetches(&steady, "ok").await + jwks_fetches(&steady, "error").await;
    assert_eq!(after, before + 1, "exactly one refetch");
    for t in [&new_rs, &new_es] {
        assert_eq!(status(&eager, path, Some(t)).await, 200);
    }
    hammer.finish().await;

    // 2. The old keys are withdrawn: the provider restarts with the new keys only. Throughout, the new tokens pass on
    // both proxies, and the old ones on steady, whose cached set still holds the old keys until its next refresh.
    let hammer = Hammer::start(vec![
        ("steady new RS256", url(&steady, path), new_rs.clone()),
        ("steady new ES256", url(&steady, path), new_es.clone()),
        ("eager new RS256", url(&eager, path), new_rs.clone()),
        ("eager new ES256", url(&eager, path), new_es.clone()),
        ("steady old RS256", url(&steady, path), old_rs.clone()),
    ]);
    let port = idp.stop().await;
    let idp = Idp::spawn(port, Some(&new_only)).await;
    assert_eq!(
        jose(&idp.token(V2, "v2-portal", rs).await).0["kid"],
        "new-rsa"
    );
    // eager's next scheduled refresh drops the withdrawn keys...
    eventually("eager drops the old keys", async || {
        let k = kids(&eager);
        !k.is_empty() && !k.iter().any(|k| k.starts_with("old-"))
    })
    .await;
    hammer.finish().await;
    // ...and from then on the tokens they signed are refused, there; the new ones still pass.
    for t in [&old_rs, &old_es] {
        assert_refused(&eager, &upstream, t, 401, "kid matches no signing key").await;
    }
    for t in [&new_rs, &new_es] {
        assert_eq!(status(&eager, path, Some(t)).await, 200);
    }
    // steady has not refreshed: it still holds, and honours, the old keys (B5: until the next refresh).
    assert!(kids(&steady).iter().any(|k| k == "old-ec"));
    assert_eq!(status(&steady, path, Some(&old_es)).await, 200);
    drop(idp);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn smart_configuration_and_the_capability_statement_come_from_the_named_provider() {
    let idp = Idp::start().await;
    let upstream = RecordingUpstream::start().await;
    let mut c = config(&idp);
    // Two SMART providers: the file must say which one apps authorize at.
    c["proxy"] = json!({"smartConfiguration": {}});
    let (code, report) = check_json(&c, &["--offline"]).await;
    assert_eq!(code, Some(2), "{report}");
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("proxy.smartConfiguration.authority")),
        "{report}"
    );
    c["proxy"] = json!({"smartConfiguration": {"authority": idp.authority(V2)}});
    let p = start_proxy(&c, &upstream.base_url(), |_| {}).await;
    wait_ready(&p).await;
    let before = upstream.count();
    let a = get(&p, "/.well-known/smart-configuration", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        upstream.count(),
        before,
        "answered by the proxy, not forwarded"
    );
    let discovery: Value = serde_json::from_slice(
        &client()
            .get(format!(
                "{}/.well-known/openid-configuration",
                idp.authority(V2)
            ))
            .send()
            .await
            .expect("discovery")
            .bytes()
            .await
            .expect("body"),
    )
    .expect("json");
    for field in [
        "issuer",
        "jwks_uri",
        "authorization_endpoint",
        "token_endpoint",
    ] {
        assert_eq!(a.body[field], discovery[field], "{field}");
    }
    assert_eq!(a.body["code_challenge_methods_supported"], json!(["S256"]));
    let capabilities = a.body["capabilities"].as_array().expect("capabilities");
    for c in [
        "launch-standalone",
        "client-public",
        "context-standalone-patient",
        "permission-v2",
        "sso-openid-connect",
    ] {
        assert!(capabilities.contains(&json!(c)), "{c}: {}", a.body);
    }
    for field in [
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
        "scopes_supported",
        "response_types_supported",
    ] {
        assert!(a.body[field].is_array(), "{field}: {}", a.body);
    }
    // The CapabilityStatement gets SMART's security section with the same endpoints.
    let cs = get(&p, "/metadata", None).await;
    assert_eq!(cs.status, 200);
    assert_eq!(upstream.last().uri, "/metadata");
    let oauth = &cs.body["rest"][0]["security"]["extension"][0];
    assert_eq!(
        oauth["url"], "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
        "{}",
        cs.body
    );
    assert_eq!(
        oauth["extension"][0]["valueUri"],
        discovery["authorization_endpoint"]
    );
    assert_eq!(
        oauth["extension"][1]["valueUri"],
        discovery["token_endpoint"]
    );
    assert_eq!(
        cs.body["rest"][0]["security"]["service"][0]["coding"][0]["code"],
        "SMART-on-FHIR"
    );
    // Without the object, both are the server's, as before.
    let plain = proxy(&idp, &upstream, |_| {}).await;
    let before = upstream.count();
    get(&plain, "/.well-known/smart-configuration", None).await;
    assert_eq!(upstream.count(), before + 1, "forwarded");
}
