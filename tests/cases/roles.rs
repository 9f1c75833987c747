//! Primary-authority tokens authorized by role (rule Q10): every data action both ways through the running proxy,
//! the roles claim in its shapes, batches entry by entry, the default that fails closed, and SMART tokens untouched.

use fhir_jwt_proxy::server::Running;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

/// One role per data action (with what it needs besides), plus `*` less each action.
fn action_roles() -> Value {
    let actions = [
        "read",
        "write",
        "delete",
        "hardDelete",
        "export",
        "resourceValidate",
        "reindex",
        "convertData",
        "import",
        "editProfileDefinitions",
        "searchParameter",
        "bulkOperator",
    ];
    let mut roles: Vec<Value> = Vec::new();
    for a in actions {
        roles.push(json!({"name": format!("only-{a}"), "dataActions": [a], "notDataActions": [], "scopes": ["/"]}));
        roles.push(json!({"name": format!("all-but-{a}"), "dataActions": ["*"], "notDataActions": [a], "scopes": ["/"]}));
    }
    roles.push(
        json!({"name": "writer-sp", "dataActions": ["write", "searchParameter"], "scopes": ["/"]}),
    );
    roles.push(json!({"name": "writer-profiles", "dataActions": ["write", "editProfileDefinitions"], "scopes": ["/"]}));
    roles.push(
        json!({"name": "hard-deleter", "dataActions": ["delete", "hardDelete"], "scopes": ["/"]}),
    );
    roles.push(
        json!({"name": "bulk-deleter", "dataActions": ["delete", "bulkOperator"], "scopes": ["/"]}),
    );
    json!(roles)
}

async fn proxy_with(w: &World, proxy: Value) -> Running {
    let mut config = w.config();
    config["proxy"] = proxy;
    let p = start_proxy(&config, &w.upstream.base_url(), |_| {}).await;
    wait_ready(&p).await;
    p
}

struct Sent {
    status: u16,
    challenge: String,
    body: String,
    forwarded: bool,
}

async fn call(
    p: &Running,
    w: &World,
    method: &str,
    target: &str,
    body: Option<&str>,
    token: &str,
) -> Sent {
    let before = w.upstream.count();
    let mut req = client()
        .request(
            Method::from_bytes(method.as_bytes()).expect("method"),
            url(p, target),
        )
        .bearer_auth(token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/fhir+json")
            .body(b.to_string());
    }
    let r = req.send().await.expect("answer");
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = r.text().await.unwrap_or_default();
    Sent {
        status,
        challenge,
        body,
        forwarded: w.upstream.count() > before,
    }
}

#[tokio::test]
async fn q10_every_data_action_both_ways() {
    let w = World::new().await;
    let p = proxy_with(&w, json!({"roles": action_roles()})).await;
    let patient = r#"{"resourceType":"Patient"}"#;
    // (method, target, body, a role that grants what it needs, the action a role lacking it is refused for).
    let rows: &[(&str, &str, Option<&str>, &str, &str)] = &[
        ("GET", "/Patient/1", None, "only-read", "read"),
        ("HEAD", "/Patient/1", None, "only-read", "read"),
        ("GET", "/Observation?code=x", None, "only-read", "read"),
        ("GET", "/Patient/1/_history", None, "only-read", "read"),
        (
            "POST",
            "/Patient/_search",
            Some("name=x"),
            "only-read",
            "read",
        ),
        ("POST", "/Patient", Some(patient), "only-write", "write"),
        ("PUT", "/Patient/1", Some(patient), "only-write", "write"),
        (
            "PUT",
            "/Patient?identifier=x",
            Some(patient),
            "only-write",
            "write",
        ),
        ("PATCH", "/Patient/1", Some("[]"), "only-write", "write"),
        ("DELETE", "/Patient/1", None, "only-delete", "delete"),
        (
            "DELETE",
            "/Patient?identifier=x",
            None,
            "only-delete",
            "delete",
        ),
        (
            "DELETE",
            "/Patient/1?_hardDelete=true",
            None,
            "hard-deleter",
            "hardDelete",
        ),
        ("GET", "/$export", None, "only-export", "export"),
        ("GET", "/Group/g1/$export", None, "only-export", "export"),
        (
            "POST",
            "/Patient/$validate",
            Some(patient),
            "only-resourceValidate",
            "resourceValidate",
        ),
        ("POST", "/$reindex", Some("{}"), "only-reindex", "reindex"),
        (
            "POST",
            "/$convert-data",
            Some("{}"),
            "only-convertData",
            "convertData",
        ),
        ("POST", "/$import", Some("{}"), "only-import", "import"),
        (
            "DELETE",
            "/$bulk-delete",
            None,
            "bulk-deleter",
            "bulkOperator",
        ),
        (
            "PUT",
            "/SearchParameter/sp1",
            Some("{}"),
            "writer-sp",
            "searchParameter",
        ),
        (
            "PUT",
            "/StructureDefinition/sd1",
            Some("{}"),
            "writer-profiles",
            "editProfileDefinitions",
        ),
        (
            "POST",
            "/ValueSet",
            Some("{}"),
            "writer-profiles",
            "editProfileDefinitions",
        ),
    ];
    let mut failures = Vec::new();
    for (method, target, body, granting, action) in rows {
        let ok = call(
            &p,
            &w,
            method,
            target,
            *body,
            &w.primary_token_with(&json!([granting])),
        )
        .await;
        if ok.status != 200 || !ok.forwarded {
            failures.push(format!(
                "{method} {target} with {granting}: {} forwarded={} {}",
                ok.status, ok.forwarded, ok.body
            ));
        }
        let lacking = format!("all-but-{action}");
        let refused = call(
            &p,
            &w,
            method,
            target,
            *body,
            &w.primary_token_with(&json!([lacking])),
        )
        .await;
        let named = method == &"HEAD" || refused.body.contains(&format!("data action {action}"));
        if refused.status != 403
            || refused.forwarded
            || !named
            || !refused.challenge.contains("insufficient_scope")
        {
            failures.push(format!(
                "{method} {target} with {lacking}: {} forwarded={} {} {}",
                refused.status, refused.forwarded, refused.challenge, refused.body
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn q10_the_roles_claim_as_string_array_nested_unknown_and_missing() {
    let w = World::new().await;
    let p = w.proxy().await;
    for (roles, want) in [
        (json!("globalReader"), 200),
        (json!(["globalReader"]), 200),
        (json!(["someOtherApp.Role", "globalReader"]), 200),
        (json!(["someOtherApp.Role"]), 403),
        (json!([]), 403),
        (json!("GlobalReader"), 403),
        (json!({"globalReader": true}), 403),
        (json!(7), 403),
        (Value::Null, 403),
    ] {
        let r = call(
            &p,
            &w,
            "GET",
            "/Patient/1",
            None,
            &w.primary_token_with(&roles),
        )
        .await;
        assert_eq!(r.status, want, "roles {roles}: {}", r.body);
        assert_eq!(r.forwarded, want == 200, "roles {roles}");
    }
    // Writes need write: the reader is refused, a role of `*` less delete may write but not delete.
    let reader = w.primary_token_with(&json!(["globalReader"]));
    let r = call(&p, &w, "POST", "/Patient", Some("{}"), &reader).await;
    assert_eq!((r.status, r.forwarded), (403, false));
    assert!(r.body.contains("needs the data action write"), "{}", r.body);
    let writer = w.primary_token_with(&json!(["globalWriter"]));
    assert_eq!(
        call(&p, &w, "POST", "/Patient", Some("{}"), &writer)
            .await
            .status,
        200
    );
    assert_eq!(
        call(&p, &w, "DELETE", "/Patient/1", None, &writer)
            .await
            .status,
        403
    );

    // A nested claim path (Keycloak's realm roles).
    let nested = proxy_with(
        &w,
        json!({"roles": roles_json(), "rolesClaim": "realm_access.roles"}),
    )
    .await;
    let now = fhir_jwt_proxy::proxy::unix_now();
    let keycloak = |roles: Value| {
        w.primary.mint(&json!({
            "iss": w.primary.issuer(), "sub": "kc-user", "aud": "https://fhir.example", "azp": "kc-app",
            "realm_access": {"roles": roles}, "iat": now, "exp": now + 600,
        }))
    };
    assert_eq!(
        call(
            &nested,
            &w,
            "GET",
            "/Patient/1",
            None,
            &keycloak(json!(["globalReader"]))
        )
        .await
        .status,
        200
    );
    assert_eq!(
        call(
            &nested,
            &w,
            "GET",
            "/Patient/1",
            None,
            &keycloak(json!(["nope"]))
        )
        .await
        .status,
        403
    );
    // The top-level `roles` claim is not read when the file names another path.
    assert_eq!(
        call(&nested, &w, "GET", "/Patient/1", None, &w.primary_token())
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn q10_batches_are_authorized_entry_by_entry_and_forwarded_intact() {
    let w = World::new().await;
    let p = w.proxy().await;
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": "Patient/1"}},
        {"request": {"method": "POST", "url": "Observation"}, "resource": {"resourceType": "Observation"}},
    ]})
    .to_string();
    let reader = w.primary_token_with(&json!(["globalReader"]));
    let r = call(&p, &w, "POST", "/", Some(&bundle), &reader).await;
    assert_eq!((r.status, r.forwarded), (403, false), "{}", r.body);
    assert!(r.body.contains("data action write"), "{}", r.body);
    let writer = w.primary_token_with(&json!(["globalWriter"]));
    let r = call(&p, &w, "POST", "/", Some(&bundle), &writer).await;
    assert_eq!((r.status, r.forwarded), (200, true), "{}", r.body);
    assert_eq!(w.upstream.last().body, bundle.as_bytes());
    // A delete entry needs delete, which globalWriter lacks.
    let deletes = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "DELETE", "url": "Patient/1"}}]})
    .to_string();
    let r = call(&p, &w, "POST", "/", Some(&deletes), &writer).await;
    assert_eq!((r.status, r.forwarded), (403, false), "{}", r.body);
    // Not a batch, an entry the proxy cannot classify, too large: refused, nothing forwarded.
    let admin = w.primary_token();
    for (body, status) in [
        (r#"{"resourceType":"Patient"}"#.to_string(), 400),
        (json!({"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "GET", "url": "Nope/1"}}]}).to_string(), 400),
        ("x".repeat(9 * 1024 * 1024), 413),
    ] {
        let r = call(&p, &w, "POST", "/", Some(&body), &admin).await;
        assert_eq!((r.status, r.forwarded), (status, false), "{}", r.body);
    }
}

#[tokio::test]
async fn q10_fails_closed_without_roles_and_passthrough_is_a_choice() {
    let w = World::new().await;
    // The default mode and no roles: every primary request is 403, SMART tokens are untouched.
    let none = proxy_with(&w, json!({})).await;
    let r = call(&none, &w, "GET", "/Patient/1", None, &w.primary_token()).await;
    assert_eq!((r.status, r.forwarded), (403, false));
    assert_eq!(
        call(&none, &w, "GET", "/Patient/123", None, &w.portal_token())
            .await
            .status,
        200
    );
    // Passthrough, chosen in the file: forwarded after authentication, roles or not.
    let pass = proxy_with(&w, json!({"primaryAuthorization": "passthrough"})).await;
    let no_roles = w.primary_token_with(&Value::Null);
    let r = call(&pass, &w, "DELETE", "/Patient/1", None, &no_roles).await;
    assert_eq!((r.status, r.forwarded), (200, true));
    // SMART tokens under the roles default keep their own rules (read only, confined).
    let p = w.proxy().await;
    assert_eq!(
        call(&p, &w, "GET", "/Patient/123", None, &w.portal_token())
            .await
            .status,
        200
    );
    assert_eq!(
        call(&p, &w, "DELETE", "/Patient/123", None, &w.portal_token())
            .await
            .status,
        403
    );
    // `check` says it in one sentence.
    let (code, report) = check_json(
        &{
            let mut c = w.config();
            c["proxy"] = json!({});
            c
        },
        &["--offline"],
    )
    .await;
    assert_eq!(code, Some(0));
    assert!(
        report["warnings"][0]
            .as_str()
            .is_some_and(|s| s.contains("no roles are defined")),
        "{report}"
    );
    let (_, report) = check_json(&w.config(), &["--offline"]).await;
    assert_eq!(report["warnings"], json!([]), "{report}");
    assert_eq!(report["primaryAuthorization"], "roles");
}

#[tokio::test]
async fn q10_refusals_are_counted_by_missing_action() {
    let w = World::new().await;
    let p = w.proxy().await;
    let reader = w.primary_token_with(&json!(["globalReader"]));
    for _ in 0..3 {
        call(&p, &w, "DELETE", "/Patient/1", None, &reader).await;
    }
    call(&p, &w, "POST", "/Patient", Some("{}"), &reader).await;
    let metrics = metrics_text(&p).await;
    assert!(
        metrics.contains(r#"fhir_jwt_proxy_role_refusals_total{action="delete"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"fhir_jwt_proxy_role_refusals_total{action="write"} 1"#),
        "{metrics}"
    );
}
