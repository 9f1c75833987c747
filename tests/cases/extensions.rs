//! Beyond Azure's file: claim → header mapping, the user claim, hand-entered endpoints, and the decision audit trail.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

fn with_proxy_object(w: &World, proxy: Value) -> Value {
    let mut c = w.config();
    let roles = c["proxy"]["roles"].clone();
    c["proxy"] = proxy;
    c["proxy"]["roles"] = roles;
    c
}

#[tokio::test]
async fn claims_are_mapped_to_headers_by_dotted_path() {
    let w = World::new().await;
    let config = with_proxy_object(
        &w,
        json!({
            "claimHeaders": [
                {"header": "X-User-Zip", "claim": "address.zip"},
                {"header": "X-Roles", "claim": "realm_access.roles"},
                {"header": "X-Tenant", "claim": "tenant.id", "required": true}
            ],
            "providers": [{"authority": w.smart_a.issuer(), "userClaim": "preferred_username",
                           "claimHeaders": [{"header": "X-Tenant", "claim": "org", "required": true}]}]
        }),
    );
    let p = start_proxy(&config, &w.upstream.base_url(), |_| {}).await;
    wait_ready(&p).await;
    let mut c = w.portal_claims();
    c["preferred_username"] = json!("ana.rivera");
    c["address"] = json!({"zip": "10115"});
    c["realm_access"] = json!({"roles": ["reader", "nurse"]});
    c["org"] = json!("clinic-1");
    let t = w.smart_a.mint(&c);
    let r = client()
        .get(url(&p, "/Patient/123"))
        .bearer_auth(&t)
        .header("x-user-zip", "99999")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    let seen = w.upstream.last();
    assert_eq!(
        seen.headers["x-user-zip"], "10115",
        "the client's copy was replaced"
    );
    assert_eq!(seen.headers.get_all("x-user-zip").iter().count(), 1);
    assert_eq!(seen.headers["x-roles"], "reader,nurse");
    assert_eq!(
        seen.headers["x-tenant"], "clinic-1",
        "the provider's own mapping wins over the global one"
    );
    assert_eq!(
        seen.headers["x-auth-subject"], "ana.rivera",
        "user claim of this provider"
    );

    // A value with a comma in an array is refused for that header, not truncated; a missing optional claim: absent.
    c["realm_access"] = json!({"roles": ["a,b", "c"]});
    c.as_object_mut().expect("object").remove("address");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        200
    );
    let seen = w.upstream.last();
    assert!(seen.headers.get("x-roles").is_none() && seen.headers.get("x-user-zip").is_none());

    // A required claim missing: 401, nothing forwarded.
    let before = w.upstream.count();
    c.as_object_mut().expect("object").remove("org");
    let a = get(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await;
    assert_eq!(a.status, 401);
    assert!(a.challenge.contains("x-tenant"), "{}", a.challenge);
    assert_eq!(w.upstream.count(), before);
    // The configured user claim is required once configured.
    let mut c = w.portal_claims();
    c["org"] = json!("clinic-1");
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.smart_a.mint(&c))).await,
        401,
        "no preferred_username"
    );
}

#[tokio::test]
async fn mapping_errors_are_config_errors_with_their_path() {
    let w = World::new().await;
    for (proxy, says) in [
        (
            json!({"claimHeaders": [{"header": "Authorization", "claim": "sub"}]}),
            "proxy.claimHeaders[0].header",
        ),
        (
            json!({"claimHeaders": [{"header": "X-A", "claim": "a..b"}]}),
            "proxy.claimHeaders[0].claim",
        ),
        (
            json!({"claimHeaders": [{"header": "X-A", "claim": "a"}, {"header": "x-a", "claim": "b"}]}),
            "mapped twice",
        ),
        (
            json!({"providers": [{"authority": "https://unknown.example", "userClaim": "email"}]}),
            "proxy.providers[0].authority",
        ),
        (
            json!({"providers": [{"authority": w.smart_a.issuer(), "issuer": "x"}]}),
            "issuer and jwksUri go together",
        ),
        (json!({"audit": {}}), "proxy.audit: names no sink"),
        (
            json!({"audit": {"file": "/tmp/a.log", "maxBytes": 10}}),
            "proxy.audit.maxBytes",
        ),
    ] {
        let err = fhir_jwt_proxy::config::Config::from_json(
            with_proxy_object(&w, proxy).to_string().as_bytes(),
            fhir_jwt_proxy::config::LoadOptions {
                allow_insecure_http: true,
            },
        )
        .expect_err("invalid");
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[tokio::test]
async fn hand_entered_endpoints_skip_discovery() {
    let w = World::new().await;
    // The authority itself answers nothing useful (discovery would fail); issuer and jwksUri are given by hand.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let mut config = w.config();
    config["authenticationConfiguration"]["smartIdentityProviders"][0]["authority"] =
        json!(format!("http://{dead}/realms/a"));
    config["proxy"]["providers"] = json!([{
        "authority": format!("http://{dead}/realms/a"),
        "issuer": w.smart_a.issuer(),
        "jwksUri": format!("{}/jwks", w.smart_a.issuer()),
    }]);
    let p = start_proxy(&config, &w.upstream.base_url(), |_| {}).await;
    wait_ready(&p).await;
    assert_eq!(
        status(&p, "/Patient/123", Some(&w.portal_token())).await,
        200
    );
    assert_eq!(
        w.smart_a.discovery_fetches(),
        0,
        "no discovery for this authority"
    );
    assert!(w.smart_a.jwks_fetches() >= 1);

    // `check` says so, offline and online.
    for extra in [&["--offline"][..], &[][..]] {
        let (code, report) = check_json(&config, extra).await;
        assert_eq!(report["authorities"][1]["discovery"], false, "{report}");
        assert_eq!(report["authorities"][0]["discovery"], true);
        if extra.is_empty() {
            assert_eq!(code, Some(0), "{report}");
            assert_eq!(
                report["authorities"][1]["keys"].as_array().map(Vec::len),
                Some(2)
            );
        }
    }
}

#[tokio::test]
async fn every_decision_is_audited_to_a_rotated_file_and_as_fhir_audit_events() {
    let w = World::new().await;
    let dir = std::env::temp_dir().join(format!("fhir-jwt-proxy-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("audit.jsonl");
    let config = with_proxy_object(
        &w,
        json!({"audit": {"file": file, "maxBytes": 4096, "keep": 2,
                          "auditEventEndpoint": format!("{}/AuditEvent", w.upstream.base_url())}}),
    );
    let p = start_proxy(&config, &w.upstream.base_url(), |_| {}).await;
    wait_ready(&p).await;
    let t = w.portal_token();
    for _ in 0..15 {
        assert_eq!(
            status(&p, "/Observation/obs-9?secret=query-value", Some(&t)).await,
            404
        );
    }
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    assert_eq!(status(&p, "/Patient/123", None).await, 401);
    // Give the sinks a moment.
    let mut records: Vec<Value> = Vec::new();
    for _ in 0..50 {
        records = [
            file.with_extension("jsonl.2"),
            file.with_extension("jsonl.1"),
            file.clone(),
        ]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|text| text.lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect();
        // Done when the file rotated and the last request's record (the 401) has been written.
        let last_written = records.last().is_some_and(|r| r["outcome"] == "no_token");
        if last_written
            && (records.len() >= 17
                || file.with_extension("jsonl.1").exists() && records.len() >= 10)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        file.with_extension("jsonl.1").exists(),
        "the file rotated at 4096 bytes"
    );
    assert!(
        !file.with_extension("jsonl.3").exists(),
        "only `keep` rotated files are kept"
    );
    let last = records.last().expect("records");
    assert_eq!(last["outcome"], "no_token");
    assert_eq!(last["status"], 401);
    let ok = records
        .iter()
        .find(|r| r["outcome"] == "forwarded")
        .expect("a forwarded record");
    assert_eq!(ok["client_id"], "portal");
    assert_eq!(ok["sub"], "user-1");
    assert_eq!(ok["fhir_user"], "Patient/123");
    assert_eq!(ok["interaction"], "read");
    assert_eq!(ok["resource_type"], "Patient");
    assert_eq!(ok["resource_id"], "123");
    assert!(ok["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    let refused = records
        .iter()
        .find(|r| r["outcome"] == "not_in_compartment")
        .expect("a 404 record");
    assert_eq!(refused["resource_id"], "obs-9");
    for dir_entry in std::fs::read_dir(&dir).expect("dir") {
        let text = std::fs::read_to_string(dir_entry.expect("entry").path()).expect("read");
        assert!(
            !text.contains(&t[..40]) && !text.contains("query-value"),
            "a token or query reached the audit file"
        );
    }
    // AuditEvents were POSTed to the FHIR endpoint.
    let mut events = Vec::new();
    for _ in 0..50 {
        events = w
            .upstream
            .requests()
            .into_iter()
            .filter(|r| r.uri == "/AuditEvent" && r.method == "POST")
            .collect();
        if events.len() >= 17 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(events.len(), 17);
    let event: Value = serde_json::from_slice(&events[0].body).expect("AuditEvent JSON");
    assert_eq!(event["resourceType"], "AuditEvent");
    assert_eq!(event["subtype"][0]["code"], "read");
    assert_eq!(event["outcome"], "4");
    assert_eq!(event["entity"][0]["what"]["reference"], "Observation/obs-9");
}
