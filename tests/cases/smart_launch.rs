//! A real SMART standalone launch through the proxy: headless Chromium runs a small SMART app built on the SMART JS
//! client (`fhirclient`, browser build), given only the proxy's base URL. It discovers the endpoints at the proxy
//! (`/.well-known/smart-configuration`), authorizes with PKCE at the pinned OpenID Provider (oidc-provider's `/smart`
//! tenant: authorization code, a login the harness fills in, JWT access tokens with `fhirUser` and SMART scopes),
//! exchanges the code, and reads its own Patient and Observations from the Medplum server through the proxy; another
//! patient's data is refused, and a denied consent fails cleanly.

use serde_json::{json, Value};

use super::real_clients::{free_port, run_client};
use super::real_fhir::{seed_data, start_fhir};
use super::real_idp::Idp;
use crate::support::*;
use fhir_jwt_proxy::smart::compartment::RewriteStyle;

#[tokio::test]
async fn a_smart_app_launches_standalone_through_the_proxy_and_reads_only_its_patient() {
    let fhir = start_fhir().await;
    fhir.seed(&seed_data()).await;
    let app_port = free_port();
    let idp = Idp::start_with(&[
        "--launch-redirect".to_string(),
        format!("http://127.0.0.1:{app_port}/app/callback.html"),
    ])
    .await;
    let config = json!({
        "authenticationConfiguration": {"smartIdentityProviders": [{
            "authority": idp.authority("smart"),
            "applications": [
                {"clientId": "smart-app", "audience": "fhir-api", "allowedDataActions": ["Read"]},
                {"clientId": "smart-app-confidential", "audience": "fhir-api", "allowedDataActions": ["Read"]}
            ]
        }]},
        "corsConfiguration": {"origins": [format!("http://127.0.0.1:{app_port}")], "headers": ["*"], "methods": ["*"], "maxAge": 600},
        "proxy": {"smartConfiguration": {}}
    });
    let p = start_proxy(&config, &fhir.base, |s| {
        s.smart.rewrite_style = RewriteStyle::Param
    })
    .await;
    wait_ready(&p).await;
    let proxy_base = format!("http://{}", p.addr);
    let truth: Vec<String> = fhir
        .compartment("Observation", "pat-a")
        .await
        .into_iter()
        .map(|t| t.trim_start_matches("Observation/").to_string())
        .collect();

    let launch = |client: &str, secret: Option<&str>, consent: &str| {
        let mut env = vec![
            ("PROXY_URL", proxy_base.clone()),
            ("APP_PORT", app_port.to_string()),
            ("CLIENT_ID", client.to_string()),
            (
                "SCOPE",
                "openid fhirUser launch/patient patient/*.read".to_string(),
            ),
            ("LOGIN", "pat-a".to_string()),
            ("CONSENT", consent.to_string()),
            ("OTHER_PATIENT", "pat-b".to_string()),
        ];
        if let Some(s) = secret {
            env.push(("CLIENT_SECRET", s.to_string()));
        }
        env
    };
    for (client, secret) in [
        ("smart-app", None),
        ("smart-app-confidential", Some("confidential-secret")),
    ] {
        let r = run_client("launch.mjs", &launch(client, secret, "allow")).await;
        assert_eq!(r["error"], Value::Null, "{client}: {r}");
        assert_eq!(r["patient"]["id"], "pat-a", "{client}: {r}");
        let mut seen: Vec<String> = r["observations"]
            .as_array()
            .expect("observations")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        seen.sort();
        assert_eq!(
            seen, truth,
            "{client}: exactly the patient's own Observations"
        );
        assert_eq!(
            r["other"]["status"], 404,
            "{client}: another patient's record: {r}"
        );
        // The app talked to the proxy and the identity provider, never to the FHIR server behind the proxy.
        for req in r["requests"].as_array().expect("requests") {
            let u = req["url"].as_str().unwrap_or("");
            assert!(
                !u.starts_with(&fhir.base),
                "{client}: {u} bypassed the proxy"
            );
        }
        let discovered = r["requests"].as_array().expect("requests").iter().any(|q| {
            q["url"] == format!("{proxy_base}/.well-known/smart-configuration")
                && q["status"] == 200
        });
        assert!(
            discovered,
            "{client}: the app found the endpoints at the proxy: {r}"
        );
        eprintln!(
            "launch {client}: fhirclient {} in {}",
            r["fhirclient"], r["chromium"]
        );
    }
    // The user denies consent: the app learns it, and nothing is read.
    let r = run_client("launch.mjs", &launch("smart-app", None, "deny")).await;
    assert!(
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("access_denied")),
        "{r}"
    );
    assert_eq!(r["patient"], Value::Null, "{r}");
}
