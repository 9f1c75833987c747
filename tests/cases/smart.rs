//! SMART authorization through the running proxy: what the upstream receives (T9–T18, F7, Q18).

use reqwest::Method;
use serde_json::json;

use crate::support::*;
use fhir_jwt_proxy::smart::compartment::RewriteStyle;

fn token(w: &World, scp: &str) -> String {
    let mut c = w.portal_claims();
    c["scp"] = json!(scp);
    w.smart_a.mint(&c)
}

#[tokio::test]
async fn t9_azure_scope_confines_a_type_search_to_the_patient() {
    let w = World::new().await;
    let p = w.proxy().await;
    let a = get(
        &p,
        "/Observation?code=x",
        Some(&token(&w, "patient.all.read")),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(w.upstream.last().uri, "/Patient/123/Observation?code=x");
}

#[tokio::test]
async fn f7_param_rewrite_style_adds_the_compartment_parameter() {
    let w = World::new().await;
    let p = w
        .proxy_with(|s| s.smart.rewrite_style = RewriteStyle::Param)
        .await;
    assert_eq!(
        get(
            &p,
            "/Observation?code=x",
            Some(&token(&w, "patient/*.read"))
        )
        .await
        .status,
        200
    );
    assert_eq!(
        w.upstream.last().uri,
        "/Observation?code=x&subject=Patient/123"
    );
}

#[tokio::test]
async fn t10_v2_read_scope_reads_by_id_but_cannot_search() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = token(&w, "patient/Observation.r");
    let a = get(&p, "/Observation?code=x", Some(&t)).await;
    assert_eq!(a.status, 403);
    assert_eq!(a.error_code().as_deref(), Some("insufficient_scope"));
    assert!(
        a.challenge.contains("scope=\"patient/Observation.s\""),
        "{}",
        a.challenge
    );
    assert_eq!(a.issue_code(), "forbidden");
    assert_eq!(w.upstream.count(), 0);
    // In the compartment: the read becomes an _id search, answered with the resource itself.
    let response = client()
        .get(url(&p, "/Observation/in-9"))
        .bearer_auth(&t)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "W/\"3\"");
    let body: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.expect("body")).expect("json");
    assert_eq!(
        body,
        json!({"resourceType": "Observation", "id": "in-9", "meta": {"versionId": "3"}})
    );
    assert_eq!(w.upstream.last().uri, "/Patient/123/Observation?_id=in-9");
}

#[tokio::test]
async fn t16_a_resource_of_another_patient_is_404() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = token(&w, "patient/*.read");
    let a = get(&p, "/Observation/999", Some(&t)).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.issue_code(), "not-found");
    assert_eq!(w.upstream.last().uri, "/Patient/123/Observation?_id=999");
    // Another patient: 404 without asking the upstream.
    let before = w.upstream.count();
    assert_eq!(status(&p, "/Patient/456", Some(&t)).await, 404);
    assert_eq!(w.upstream.count(), before);
    // The own patient passes unchanged.
    assert_eq!(status(&p, "/Patient/123", Some(&t)).await, 200);
    assert_eq!(w.upstream.last().uri, "/Patient/123");
}

#[tokio::test]
async fn t11_t12_t13_t14_malformed_scope_strings_are_401_naming_the_scope() {
    let w = World::new().await;
    let p = w.proxy().await;
    for (scp, says) in [
        // What the client reads says what is wrong in words, naming the scope, never a rule id.
        (
            "patient/Observation.read patient/Condition.rs",
            "'patient/Condition.rs' mixes SMART v1 and v2",
        ),
        (
            "patient/*.read user/*.read",
            "mixes patient, user and system contexts",
        ),
        (
            "patient/Observation.read-only",
            "patient/Observation.read-only",
        ),
        (
            "patient/Observation.rs?category:not=lab",
            "search modifier in a constraint",
        ),
        (
            "patient/Observation.rs?_include=x",
            "_include/_revinclude constraint",
        ),
        (
            "patient/Observation.rs?subject.name=x",
            "chained or _has constraint",
        ),
        (
            "patient/Observaton.read",
            "resource type FHIR R4 does not define",
        ),
    ] {
        let a = get(&p, "/Observation", Some(&token(&w, scp))).await;
        assert_eq!(a.status, 401, "{scp}");
        assert_eq!(a.error_code().as_deref(), Some("invalid_token"), "{scp}");
        assert!(a.challenge.contains(says), "{scp}: {}", a.challenge);
        assert!(!a.challenge.contains("(rule"), "{scp}: {}", a.challenge);
    }
    assert_eq!(w.upstream.count(), 0);
}

#[tokio::test]
async fn t15_writes_are_403_and_nothing_is_forwarded() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = token(&w, "patient/*.cruds");
    for (m, path) in [
        (Method::POST, "/Observation"),
        (Method::DELETE, "/Patient/123"),
        (Method::POST, "/"),
        (Method::POST, "/Observation/_search"),
    ] {
        assert_eq!(send(&p, m, path, Some(&t)).await.status, 403, "{path}");
    }
    assert_eq!(w.upstream.count(), 0);
}

#[tokio::test]
async fn t17_export_needs_system_scopes() {
    let w = World::new().await;
    let p = w.proxy().await;
    assert_eq!(
        status(&p, "/$export", Some(&token(&w, "patient/*.read"))).await,
        403
    );
    assert_eq!(w.upstream.count(), 0);
    assert_eq!(
        status(&p, "/$export", Some(&token(&w, "system/*.read"))).await,
        200
    );
    assert_eq!(w.upstream.last().uri, "/$export");
}

#[tokio::test]
async fn q18_includes_are_filtered_on_the_answer_and_iterate_and_has_are_403() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = token(&w, "patient/*.read");
    for path in [
        "/Observation?_include:iterate=Observation:performer:Practitioner",
        "/Observation?_has:Condition:subject:code=x",
    ] {
        assert_eq!(status(&p, path, Some(&t)).await, 403, "{path}");
    }
    assert_eq!(w.upstream.count(), 0);
    // The server's answer carries Patient/456's resources among the included ones: they never reach the client.
    for path in [
        "/Observation?_revinclude=Provenance:target",
        "/Observation?_include=Observation:subject",
        "/MedicationRequest?_include=MedicationRequest:medication",
    ] {
        let a = get(&p, path, Some(&t)).await;
        assert_eq!(a.status, 200, "{path}");
        let body = a.body.to_string();
        assert!(!body.contains("456"), "{path}: {body}");
        let kept: Vec<String> = a.body["entry"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| {
                format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str().unwrap_or(""),
                    e["resource"]["id"].as_str().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            kept.len(),
            3,
            "the match, its own Provenance and Patient/123: {kept:?}"
        );
        assert!(kept.contains(&"Patient/123".to_string()), "{kept:?}");
    }
}

#[tokio::test]
async fn q13_smart_query_shapes_confined_instead_of_refused() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = token(&w, "patient/*.read");
    // $lastn and $docref are confined by their patient parameter.
    assert_eq!(
        status(&p, "/Observation/$lastn?category=vital-signs", Some(&t)).await,
        200
    );
    assert_eq!(
        w.upstream.last().uri,
        "/Observation/$lastn?category=vital-signs&patient=Patient/123"
    );
    assert_eq!(
        status(&p, "/DocumentReference/$docref", Some(&t)).await,
        200
    );
    assert_eq!(
        w.upstream.last().uri,
        "/DocumentReference/$docref?patient=Patient/123"
    );
    let before = w.upstream.count();
    assert_eq!(
        status(&p, "/Observation/$lastn?patient=456", Some(&t)).await,
        403
    );
    assert_eq!(w.upstream.count(), before);
    // Terminology operations on types that hold no patient data.
    assert_eq!(
        status(&p, "/ValueSet/$expand?url=http://loinc.org/vs", Some(&t)).await,
        200
    );
    assert_eq!(
        w.upstream.last().uri,
        "/ValueSet/$expand?url=http://loinc.org/vs"
    );
    // Other operations: refused with a sentence that says what is available.
    let a = get(&p, "/Observation/$stats", Some(&t)).await;
    assert_eq!(a.status, 403);
    assert!(a.challenge.contains("$lastn"), "{}", a.challenge);
    // A read rewritten into a search keeps _elements/_summary, its version as ETag, and answers If-None-Match.
    let a = get(&p, "/Observation/in-o1?_elements=status", Some(&t)).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        w.upstream.last().uri,
        "/Patient/123/Observation?_id=in-o1&_elements=status"
    );
    assert_eq!(a.headers["etag"], "W/\"3\"");
    let r = client()
        .get(url(&p, "/Observation/in-o1"))
        .bearer_auth(&t)
        .header("if-none-match", "W/\"3\"")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 304);
    assert!(
        w.upstream.last().headers.get("if-none-match").is_none(),
        "the search does not get the read's condition"
    );
    let r = client()
        .get(url(&p, "/Observation/in-o1"))
        .bearer_auth(&t)
        .header("if-none-match", "W/\"2\"")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    // Two constrained grants of one type are OR-ed (SMART v2's own example).
    let two = token(
        &w,
        "patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs",
    );
    assert_eq!(status(&p, "/Observation", Some(&two)).await, 200);
    assert_eq!(
        w.upstream.last().uri,
        "/Patient/123/Observation?category=laboratory,vital-signs"
    );
    assert_eq!(
        status(&p, "/Observation?category=imaging", Some(&two)).await,
        403
    );
}

#[tokio::test]
async fn q9_types_outside_the_compartment_pass_unchanged() {
    let w = World::new().await;
    let p = w.proxy().await;
    assert_eq!(
        status(&p, "/Medication/5", Some(&token(&w, "patient/*.read"))).await,
        200
    );
    assert_eq!(w.upstream.last().uri, "/Medication/5");
}

#[tokio::test]
async fn q13_everything_for_the_own_patient_only() {
    let w = World::new().await;
    let p = w.proxy().await;
    let t = token(&w, "patient/*.read");
    assert_eq!(status(&p, "/Patient/123/$everything", Some(&t)).await, 200);
    assert_eq!(status(&p, "/Patient/456/$everything", Some(&t)).await, 404);
    assert_eq!(status(&p, "/Patient/123/$validate", Some(&t)).await, 403);
}

#[tokio::test]
async fn q18_a_token_without_fhir_user_never_skips_confinement() {
    let w = World::new().await;
    let p = w.proxy().await;
    let mut c = w.portal_claims();
    c.as_object_mut().expect("object").remove("fhirUser");
    assert_eq!(
        status(&p, "/Observation", Some(&w.smart_a.mint(&c))).await,
        401
    );
    assert_eq!(w.upstream.count(), 0);
}

#[tokio::test]
async fn smart_configuration_is_503_while_the_provider_offers_no_authorization_endpoint() {
    // The test issuer's discovery document has no authorization or token endpoint: an app could not launch, so the
    // proxy says the configuration is not available rather than advertising endpoints that do not exist.
    let w = World::new().await;
    let mut c = w.config();
    c["proxy"]["smartConfiguration"] = json!({"authority": w.smart_a.issuer()});
    let p = start_proxy(&c, &w.upstream.base_url(), |_| {}).await;
    wait_ready(&p).await;
    let a = get(&p, "/.well-known/smart-configuration", None).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(w.upstream.count(), 0);
    // The metadata passes unchanged then.
    let cs = get(&p, "/metadata", None).await;
    assert_eq!(cs.status, 200);
    assert!(cs.body["rest"][0].get("security").is_none(), "{}", cs.body);
}
