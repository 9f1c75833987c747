//! The compartment attack corpus through the real proxy (rules Q9, Q18, Q19 in docs/rules.md).
//!
//! One table of attempts by a patient/ or user/ token to reach another person's data, and of controls that must
//! keep working. Every row runs through both rewrite styles, over HTTP/1.1 and h2c, with a v1 and a v2 token where
//! the row is about the patient. Each attempt asserts the exact status and what reached the upstream: nothing at
//! all for a refusal, or exactly one request with the expected path and query (per rewrite style) for a forward.
//! All mismatches are collected and reported together.

use fhir_jwt_proxy::server::Running;
use fhir_jwt_proxy::smart::compartment::RewriteStyle;
use reqwest::Method;
use serde_json::json;

use crate::support::upstream::Recorded;
use crate::support::*;

/// Whose token makes the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Patient/123, each row once with `patient/*.read` (v1) and once with `patient/*.rs` (v2).
    Patient,
    /// Practitioner/9 with `user/*.read`.
    Practitioner,
}

/// What must happen.
#[derive(Debug, Clone)]
enum Expect {
    /// Forwarded as `Sent`, answered 200, and the answer names no other patient (the server's Bundle carries
    /// included resources of Patient/456: the proxy drops them, Q18).
    Filtered {
        path_style: String,
        param_style: String,
    },
    /// This status, and the upstream saw nothing.
    Refused(u16),
    /// Exactly one upstream request, with this path and query in the path style and in the param style, and this
    /// status for the client.
    Sent {
        path_style: String,
        param_style: String,
        status: u16,
    },
}

/// A further check of the one request the upstream received.
type UpstreamCheck = fn(&Recorded) -> Result<(), String>;

struct Attempt {
    name: String,
    who: Who,
    method: Method,
    target: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<&'static str>,
    expect: Expect,
    /// A further check of what the upstream received.
    upstream: Option<UpstreamCheck>,
}

fn attempt(who: Who, target: impl Into<String>, expect: Expect) -> Attempt {
    let target = target.into();
    Attempt {
        name: target.clone(),
        who,
        method: Method::GET,
        target,
        headers: Vec::new(),
        body: None,
        expect,
        upstream: None,
    }
}

/// A patient's attempt that must be refused with `status`.
fn refused(target: impl Into<String>, status: u16) -> Attempt {
    attempt(Who::Patient, target, Expect::Refused(status))
}

/// A patient's request that must reach the upstream as `path_style` / `param_style` and answer `status`.
fn sent(target: impl Into<String>, path_style: &str, param_style: &str, status: u16) -> Attempt {
    attempt(
        Who::Patient,
        target,
        Expect::Sent {
            path_style: path_style.into(),
            param_style: param_style.into(),
            status,
        },
    )
}

/// The same upstream request in both styles.
fn sent_same(target: impl Into<String>, upstream: &str, status: u16) -> Attempt {
    sent(target, upstream, upstream, status)
}

impl Attempt {
    fn method(mut self, method: Method) -> Attempt {
        self.name = format!("{method} {}", self.name);
        self.method = method;
        self
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Attempt {
        self.name = format!("{} [{name}: {value}]", self.name);
        self.headers.push((name, value));
        self
    }

    fn body(mut self, body: &'static str) -> Attempt {
        self.name = format!("{} [with a body]", self.name);
        self.body = Some(body);
        self
    }

    fn named(mut self, name: &str) -> Attempt {
        self.name = name.to_string();
        self
    }

    fn upstream_check(mut self, check: UpstreamCheck) -> Attempt {
        self.upstream = Some(check);
        self
    }
}

/// Class 1 (Q9): types outside the compartment definition.
fn outside_the_definition() -> Vec<Attempt> {
    vec![
        refused("/Task?patient=Patient/456", 403),
        refused("/Task?subject=Patient/456", 403),
        refused("/Task?owner=Patient/456", 403),
        refused("/Device?patient=Patient/456", 403),
        refused("/Device?patient=456", 403),
        refused("/Binary/bin-1", 403),
        refused("/Binary", 403),
        refused("/Bundle/doc-1", 403),
        refused("/Bundle", 403),
        refused("/Bundle?composition.subject=Patient/456", 403),
        refused("/Bundle?composition.subject=Patient/123", 403),
        refused("/Parameters", 403),
        refused("/GuidanceResponse?subject=Patient/456", 403),
        refused("/GuidanceResponse?patient=456", 403),
        refused("/Linkage?item=Patient/456", 403),
        refused("/Linkage?source=Patient/456", 403),
        refused("/Contract?patient=Patient/456", 403),
        refused("/Contract?subject=Patient/456", 403),
        refused("/Schedule?actor=Patient/456", 403),
        refused("/MessageHeader?focus=Patient/456", 403),
        refused("/VerificationResult?target=Patient/456", 403),
        refused("/Patient/123/Binary", 403),
        refused("/Patient/123/Bundle", 403),
        refused("/Patient/123/Task?patient=Patient/456", 403),
        // Confined, not refused: the pointing parameter is added, reads become searches.
        sent_same("/Task", "/Task?patient=Patient/123", 200),
        sent_same(
            "/Task?status=ready",
            "/Task?status=ready&patient=Patient/123",
            200,
        ),
        sent_same(
            "/Task?patient=Patient/123",
            "/Task?patient=Patient/123&patient=Patient/123",
            200,
        ),
        sent_same("/Device", "/Device?patient=Patient/123", 200),
        sent_same("/Linkage", "/Linkage?item=Patient/123", 200),
        sent_same("/Patient/123/Task", "/Task?patient=Patient/123", 200),
        sent_same("/Task/task-9", "/Task?patient=Patient/123&_id=task-9", 404),
        sent_same(
            "/Task/in-task",
            "/Task?patient=Patient/123&_id=in-task",
            200,
        ),
        sent_same(
            "/Device/dev-9",
            "/Device?patient=Patient/123&_id=dev-9",
            404,
        ),
        sent_same(
            "/GuidanceResponse/gr-9",
            "/GuidanceResponse?patient=Patient/123&_id=gr-9",
            404,
        ),
        // Q9's defence in depth: a type that cannot carry a person's data, answered with one that names another
        // patient anyway, is 404.
        sent_same("/Medication/leaky-1", "/Medication/leaky-1", 404),
        sent_same("/Organization/leaky-2", "/Organization/leaky-2", 404),
        sent_same("/Medication/leaky-1", "/Medication/leaky-1", 404).method(Method::HEAD),
        // A Practitioner's compartment cannot confine patient data it has no parameter for.
        attempt(
            Who::Practitioner,
            "/FamilyMemberHistory?patient=Patient/456",
            Expect::Refused(403),
        ),
        attempt(Who::Practitioner, "/Device", Expect::Refused(403)),
        attempt(Who::Practitioner, "/Goal/goal-1", Expect::Refused(403)),
        attempt(Who::Practitioner, "/Coverage", Expect::Refused(403)),
        attempt(Who::Practitioner, "/Binary/bin-1", Expect::Refused(403)),
        attempt(
            Who::Practitioner,
            "/Patient?general-practitioner=Practitioner/8",
            Expect::Refused(403),
        ),
    ]
}

fn filtered(target: &str, path_style: &str, param_style: &str) -> Attempt {
    attempt(
        Who::Patient,
        target,
        Expect::Filtered {
            path_style: path_style.into(),
            param_style: param_style.into(),
        },
    )
}

/// Class 1b (Q18): includes and revincludes reach other patients' resources on the server; the answer is filtered.
fn includes_filtered_on_the_answer() -> Vec<Attempt> {
    let both = |target: &str, query: &str, param: &str| {
        filtered(
            target,
            &format!("/Patient/123/Observation?{query}"),
            &format!("/Observation?{query}&{param}=Patient/123"),
        )
    };
    vec![
        both(
            "/Observation?_include=Observation:focus:Task",
            "_include=Observation:focus:Task",
            "subject",
        ),
        both(
            "/Observation?_include=Observation:device:Device",
            "_include=Observation:device:Device",
            "subject",
        ),
        both(
            "/Observation?_include=Observation:subject",
            "_include=Observation:subject",
            "subject",
        ),
        both(
            "/Observation?_Include=Observation:subject",
            "_Include=Observation:subject",
            "subject",
        ),
        both(
            "/Observation?code=x;_revinclude=Provenance:target",
            "code=x&_revinclude=Provenance:target",
            "subject",
        ),
        both(
            "/Observation?_REVINCLUDE=Provenance:target",
            "_REVINCLUDE=Provenance:target",
            "subject",
        ),
        both(
            "/Observation?_RevInclude=Provenance:target",
            "_RevInclude=Provenance:target",
            "subject",
        ),
        both(
            "/Observation?%5Frevinclude=Provenance:target",
            "_revinclude=Provenance:target",
            "subject",
        ),
        both("/Observation?_include=*", "_include=*", "subject"),
        filtered(
            "/Encounter?_include=Encounter:subject:Patient",
            "/Patient/123/Encounter?_include=Encounter:subject:Patient",
            "/Encounter?_include=Encounter:subject:Patient&patient=Patient/123",
        ),
        // A type outside the compartment pulls in the compartment's types: filtered too.
        filtered(
            "/Organization?_revinclude=Patient:organization",
            "/Organization?_revinclude=Patient:organization",
            "/Organization?_revinclude=Patient:organization",
        ),
        filtered(
            "/Medication?_revinclude=MedicationRequest:medication",
            "/Medication?_revinclude=MedicationRequest:medication",
            "/Medication?_revinclude=MedicationRequest:medication",
        ),
        filtered(
            "/Patient/123/Observation?_revinclude=Provenance:target",
            "/Patient/123/Observation?_revinclude=Provenance:target",
            "/Observation?_revinclude=Provenance:target&subject=Patient/123",
        ),
    ]
}

/// Class 2 (Q19): the client's own copies of the confining parameters.
fn polluted_confining_parameters() -> Vec<Attempt> {
    let long = "x".repeat(6000);
    let filler: String = (0..400).map(|i| format!("f{i}=1&")).collect();
    vec![
        refused("/Patient?_id=456", 403),
        refused("/Patient?_id=123,456", 403),
        refused("/Patient?_id=456,123", 403),
        refused("/Patient?_id=", 403),
        refused("/Patient?%5Fid=456", 403),
        refused("/Patient?_ID=456", 403),
        refused("/Patient?_id=123&_id=456", 403),
        refused("/Patient?name=x;_id=456", 403),
        refused("/Patient?link=Patient/456", 403),
        refused("/Observation?subject=Patient/456", 403),
        refused("/Observation?%73ubject=Patient/456", 403),
        refused("/Observation?%73%75%62%6a%65%63%74=Patient%2F456", 403),
        refused("/Observation?SUBJECT=Patient/456", 403),
        refused("/Observation?Subject=Patient/456", 403),
        refused("/Observation?subject=456", 403),
        refused("/Observation?subject=Patient/123,Patient/456", 403),
        refused("/Observation?subject=Patient/123&subject=Patient/456", 403),
        refused("/Observation?subject=Patient/123;subject=Patient/456", 403),
        refused(
            "/Observation?subject=http://evil.example/fhir/Patient/456",
            403,
        ),
        refused(
            "/Observation?subject=http://other.example/fhir/Patient/123",
            403,
        ),
        refused("/Observation?subject=", 403),
        refused("/Observation?subject", 403),
        refused("/Observation?subject=Patient/", 403),
        refused("/Observation?subject=Patient/123/_history/1", 403),
        refused("/Observation?subject=Patient/456%5C,Patient/123", 403),
        refused("/Observation?subject:Patient=456", 403),
        refused("/Observation?subject:missing=true", 403),
        refused("/Observation?subject:not=Patient/123", 403),
        refused("/Observation?subject:identifier=urn:mrn|456", 403),
        sent(
            "/Observation?subject:Group=456",
            "/Patient/123/Observation?subject:Group=456",
            "/Observation?subject:Group=456&subject=Patient/123",
            200,
        ),
        refused("/Observation?subject.name=Smith", 403),
        refused("/Observation?subject:Patient.name=Smith", 403),
        refused("/Observation?subject:Patient.identifier=456", 403),
        refused("/Observation?patient=456", 403),
        refused("/Observation?patient=Patient/456", 403),
        refused("/Observation?patient=123,456", 403),
        refused("/Observation?performer=Patient/456", 403),
        refused("/Observation?performer=456", 403),
        refused("/Observation?focus=Patient/456", 403),
        refused("/Observation?code=x&subject=Patient/456", 403),
        refused(format!("/Observation?code={long}&subject=Patient/456"), 403)
            .named("a 6,000-character parameter before subject=Patient/456"),
        refused(format!("/Observation?{filler}subject=Patient/456"), 403)
            .named("400 filler parameters before subject=Patient/456"),
        refused("/Observation/_search?subject=Patient/456", 403),
        refused("/Observation?subject=Patient/456", 403).method(Method::HEAD),
        refused("/Patient/123/Observation?subject=Patient/456", 403),
        refused("/Patient/123/Observation?patient=456", 403),
        refused("/Encounter?patient=Patient/456", 403),
        refused("/Encounter?subject=Patient/456", 403),
        refused("/Encounter?patient=", 403),
        refused("/Group?member=Patient/456", 403),
        refused("/Group?member=456", 403),
        refused("/RelatedPerson?patient=Patient/456", 403),
        refused("/Condition?subject=Patient/456", 403),
        refused("/AllergyIntolerance?patient=456", 403),
        refused("/MedicationRequest?subject=Patient/456", 403),
        refused("/Task/task-1?patient=Patient/456", 403).named("a read with a polluting parameter"),
        attempt(
            Who::Practitioner,
            "/Encounter?practitioner=Practitioner/8",
            Expect::Refused(403),
        ),
        attempt(
            Who::Practitioner,
            "/Practitioner?_id=8",
            Expect::Refused(403),
        ),
        attempt(
            Who::Practitioner,
            "/Observation?performer=8",
            Expect::Refused(403),
        ),
    ]
}

/// Class 3 (Q18, Q19): parsing differences, unchecked parameters, operation parameters.
fn parsing_and_operations() -> Vec<Attempt> {
    vec![
        refused("/Observation?%20_revinclude=Provenance:target", 403),
        refused("/Observation?+_revinclude=Provenance:target", 403),
        refused("/Observation?_revinclude%00=Provenance:target", 403),
        refused("/Observation?_revinclude%3Aiterate=Provenance:target", 403),
        refused(
            "/Observation?_include:ITERATE=Observation:performer:Practitioner",
            403,
        ),
        refused("/Observation?_HAS:Observation:patient:code=x", 403),
        refused("/Observation?_Type=Patient", 403),
        refused("/Observation?_FILTER=subject eq Patient/456", 403),
        refused("/Observation?_method=DELETE", 403),
        refused("/Observation?_METHOD=DELETE", 403),
        refused("/Observation?%2573ubject=Patient/456", 403),
        refused(
            "/Patient/123/$everything?_type=Patient&_revinclude=Observation:subject",
            403,
        ),
        refused("/Patient/123/$everything?_id=456", 403),
        refused("/Patient/123/$everything?_mdm=true", 403),
        refused("/Patient/123/$everything?patient=456", 403),
        refused("/Patient/123/$everything?start=2020;_mdm=true", 403),
        refused("/Patient/456/$everything", 404),
        // Continuations on any path, and on public paths without a token, are never forwarded unbound.
        refused("/Observation?_getpages=abc", 403),
        refused("/metadata?_getpages=abc", 403),
        refused("/Patient/123?ct=abc", 403),
        // The owner's own type as a compartment search: the compartment holds other patients through `link`.
        sent_same("/Patient/123/Patient", "/Patient?_id=123", 200),
        refused("/Patient/456", 404),
        refused("/Patient/456/Observation", 404),
        refused("/Observation", 400).body("{\"resourceType\":\"Parameters\"}"),
        refused("/Patient/123", 400).body("{}").method(Method::HEAD),
        sent_same(
            "/Patient/123/$everything?start=2020-01-01&_count=50",
            "/Patient/123/$everything?start=2020-01-01&_count=50",
            200,
        ),
        sent_same(
            "/Patient/123/$everything?start=2020-01-01;_count=50",
            "/Patient/123/$everything?start=2020-01-01&_count=50",
            200,
        )
        .named("a ; in $everything's query is sent as &"),
        sent(
            "/Observation?code=a;category=b",
            "/Patient/123/Observation?code=a&category=b",
            "/Observation?code=a&category=b&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?%63ode=a%2Cb",
            "/Patient/123/Observation?code=a,b",
            "/Observation?code=a,b&subject=Patient/123",
            200,
        ),
    ]
}

/// Class 4 (H9, Q19): headers that re-route or re-authorize upstream.
fn headers() -> Vec<Attempt> {
    fn only_own_identity(r: &Recorded) -> Result<(), String> {
        let names: Vec<&str> = r.headers.keys().map(|n| n.as_str()).collect();
        for bad in [
            "x_fhir_user",
            "x-original-url",
            "x-rewrite-url",
            "x-http-method-override",
            "x-http-method",
            "x-method-override",
            "x_auth_subject",
        ] {
            if names.contains(&bad) {
                return Err(format!("upstream got {bad}"));
            }
        }
        if r.headers.get("x-fhir-user").and_then(|v| v.to_str().ok()) != Some("Patient/123") {
            return Err(format!("x-fhir-user: {:?}", r.headers.get("x-fhir-user")));
        }
        if r.method != "GET" {
            return Err(format!("method {}", r.method));
        }
        Ok(())
    }
    let own = || sent_same("/Patient/123", "/Patient/123", 200).upstream_check(only_own_identity);
    vec![
        own().header("X_Fhir_User", "Patient/456"),
        own().header("x_fhir_user", "Patient/456"),
        own().header("X_Auth_Subject", "someone"),
        own().header("X-Original-URL", "/Patient/456"),
        own().header("X-Rewrite-URL", "/Patient/456"),
        own().header("X-HTTP-Method-Override", "DELETE"),
        own().header("X-HTTP-Method", "DELETE"),
        own().header("X-Method-Override", "DELETE"),
        own().header("X-Fhir-User", "Patient/456"),
    ]
}

/// Controls: what apps send every day keeps working, confined.
fn controls() -> Vec<Attempt> {
    vec![
        sent_same("/Patient/123", "/Patient/123", 200),
        sent_same("/Patient", "/Patient?_id=123", 200),
        sent_same("/Patient?_id=123", "/Patient?_id=123&_id=123", 200),
        sent(
            "/Observation",
            "/Patient/123/Observation",
            "/Observation?subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?code=http://loinc.org|8867-4",
            "/Patient/123/Observation?code=http://loinc.org|8867-4",
            "/Observation?code=http://loinc.org|8867-4&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?patient=123",
            // The owner's bare id goes up typed: the same search, and the only form some servers resolve.
            "/Patient/123/Observation?patient=Patient/123",
            "/Observation?patient=Patient/123&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?patient=Patient/123",
            "/Patient/123/Observation?patient=Patient/123",
            "/Observation?patient=Patient/123&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?%73ubject=Patient%2F123",
            "/Patient/123/Observation?subject=Patient/123",
            "/Observation?subject=Patient/123&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?subject:Patient=123",
            "/Patient/123/Observation?subject:Patient=123",
            "/Observation?subject:Patient=123&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?performer=Practitioner/9",
            "/Patient/123/Observation?performer=Practitioner/9",
            "/Observation?performer=Practitioner/9&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?performer:Practitioner.name=Jones",
            "/Patient/123/Observation?performer:Practitioner.name=Jones",
            "/Observation?performer:Practitioner.name=Jones&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation/in-obs",
            "/Patient/123/Observation?_id=in-obs",
            "/Observation?subject=Patient/123&_id=in-obs",
            200,
        ),
        sent(
            "/Observation/obs-9",
            "/Patient/123/Observation?_id=obs-9",
            "/Observation?subject=Patient/123&_id=obs-9",
            404,
        ),
        sent(
            "/Encounter?patient=123&_count=5",
            "/Patient/123/Encounter?patient=Patient/123&_count=5",
            "/Encounter?patient=Patient/123&_count=5&patient=Patient/123",
            200,
        ),
        sent_same("/Medication?code=x", "/Medication?code=x", 200),
        sent_same("/Medication/med-1", "/Medication/med-1", 200),
        sent_same("/Organization/org-1", "/Organization/org-1", 200),
        sent(
            "/MedicationRequest?_include=MedicationRequest:medication:Medication",
            "/Patient/123/MedicationRequest?_include=MedicationRequest:medication:Medication",
            "/MedicationRequest?_include=MedicationRequest:medication:Medication&subject=Patient/123",
            200,
        ),
        sent(
            "/Observation?_include=Observation:performer:Practitioner",
            "/Patient/123/Observation?_include=Observation:performer:Practitioner",
            "/Observation?_include=Observation:performer:Practitioner&subject=Patient/123",
            200,
        ),
        sent_same("/Patient/123/$everything", "/Patient/123/$everything", 200),
        sent_same("/metadata", "/metadata", 200),
        attempt(
            Who::Practitioner,
            "/Encounter?practitioner=Practitioner/9",
            Expect::Sent {
                path_style: "/Practitioner/9/Encounter?practitioner=Practitioner/9".into(),
                param_style: "/Encounter?practitioner=Practitioner/9&practitioner=Practitioner/9".into(),
                status: 200,
            },
        ),
        attempt(
            Who::Practitioner,
            "/Task",
            Expect::Sent {
                path_style: "/Task?owner=Practitioner/9".into(),
                param_style: "/Task?owner=Practitioner/9".into(),
                status: 200,
            },
        ),
        // The stand-in answers every read with Patient/123's record: a person a Practitioner's compartment does not
        // hold, so the answer check refuses it (Q9's defence in depth) although the request passed.
        attempt(
            Who::Practitioner,
            "/Location/loc-1",
            Expect::Sent {
                path_style: "/Location/loc-1".into(),
                param_style: "/Location/loc-1".into(),
                status: 404,
            },
        ),
    ]
}

fn corpus() -> Vec<Attempt> {
    let mut all = outside_the_definition();
    all.extend(includes_filtered_on_the_answer());
    all.extend(polluted_confining_parameters());
    all.extend(parsing_and_operations());
    all.extend(headers());
    all.extend(controls());
    all
}

fn token_for(w: &World, who: Who, v2: bool) -> String {
    let mut claims = w.portal_claims();
    match who {
        Who::Patient => {
            claims["scp"] = json!(if v2 { "patient/*.rs" } else { "patient/*.read" });
        }
        Who::Practitioner => {
            claims["scp"] = json!(if v2 { "user/*.rs" } else { "user/*.read" });
            claims["fhirUser"] = json!("Practitioner/9");
        }
    }
    w.smart_a.mint(&claims)
}

async fn run_one(
    p: &Running,
    w: &World,
    http: &reqwest::Client,
    style: RewriteStyle,
    token: &str,
    a: &Attempt,
) -> Result<(), String> {
    let before = w.upstream.count();
    let mut req = http
        .request(a.method.clone(), format!("http://{}{}", p.addr, a.target))
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in &a.headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = a.body {
        req = req.body(body);
    }
    let response = req.send().await.map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let seen = w.upstream.requests();
    let new = &seen[before.min(seen.len())..];
    if body.contains("456") && status != 200 {
        return Err(format!("the answer echoes the other patient: {body}"));
    }
    match &a.expect {
        Expect::Refused(want) => {
            if status != *want {
                return Err(format!("status {status}, want {want}: {body}"));
            }
            if !new.is_empty() {
                return Err(format!(
                    "the upstream saw {:?}",
                    new.iter().map(|r| &r.uri).collect::<Vec<_>>()
                ));
            }
        }
        Expect::Filtered {
            path_style,
            param_style,
        } => {
            let want_uri = match style {
                RewriteStyle::Path => path_style,
                RewriteStyle::Param => param_style,
            };
            if status != 200 || !matches!(new, [one] if one.uri == *want_uri) {
                return Err(format!(
                    "status {status}, the upstream saw {:?}, want 200 and exactly [{want_uri}]",
                    new.iter().map(|r| &r.uri).collect::<Vec<_>>()
                ));
            }
            if body.contains("456") || !body.contains("\"m1\"") {
                return Err(format!(
                    "the answer was not filtered to the compartment: {body}"
                ));
            }
        }
        Expect::Sent {
            path_style,
            param_style,
            status: want,
        } => {
            let want_uri = match style {
                RewriteStyle::Path => path_style,
                RewriteStyle::Param => param_style,
            };
            if status != *want {
                return Err(format!("status {status}, want {want}: {body}"));
            }
            match new {
                [one] if one.uri == *want_uri => {
                    if let Some(check) = a.upstream {
                        check(one)?;
                    }
                }
                _ => {
                    return Err(format!(
                        "the upstream saw {:?}, want exactly [{want_uri}]",
                        new.iter().map(|r| &r.uri).collect::<Vec<_>>()
                    ))
                }
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn q9_q18_q19_the_attack_corpus_reaches_no_other_patient() {
    let w = World::new().await;
    let h1 = client();
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("h2c client");
    let corpus = corpus();
    let mut failures = Vec::new();
    let mut attempts = 0;
    for style in [RewriteStyle::Path, RewriteStyle::Param] {
        let p = w.proxy_with(|s| s.smart.rewrite_style = style).await;
        for (transport, http) in [("HTTP/1.1", &h1), ("h2c", &h2)] {
            for v2 in [false, true] {
                for a in &corpus {
                    let token = token_for(&w, a.who, v2);
                    attempts += 1;
                    if let Err(e) = run_one(&p, &w, http, style, &token, a).await {
                        let scopes = if v2 { "v2" } else { "v1" };
                        failures.push(format!("{style:?} {transport} {scopes} {}: {e}", a.name));
                    }
                }
            }
        }
    }
    assert!(corpus.len() >= 150, "the corpus has {} rows", corpus.len());
    assert!(
        failures.is_empty(),
        "{} of {attempts} attempts failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
