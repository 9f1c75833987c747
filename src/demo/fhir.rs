//! A small in-memory FHIR R4 server stand-in for the demo: two Patients and their Observations, read by id,
//! type search (with `patient`/`subject`), compartment search, `metadata`. It echoes the identity headers it
//! received (`X-Seen-Fhir-User`, `X-Seen-Client-Id`) so the demo shows what the proxy told the upstream.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::body::{full, ProxyBody};
use crate::connections::{serve, ConnectionLimits};

/// A running stand-in.
#[derive(Debug)]
pub struct FhirStandIn {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl FhirStandIn {
    pub async fn start() -> std::io::Result<FhirStandIn> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = watch::channel(false);
        tokio::spawn(serve(
            listener,
            ConnectionLimits::default(),
            rx,
            |req, _| async move {
                respond(
                    req.method(),
                    req.uri().path(),
                    req.uri().query(),
                    req.headers(),
                )
            },
        ));
        Ok(FhirStandIn { addr, shutdown })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FhirStandIn {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

fn resources() -> Vec<Value> {
    vec![
        json!({"resourceType": "Patient", "id": "123", "name": [{"family": "Rivera", "given": ["Ana"]}], "birthDate": "1984-02-11"}),
        json!({"resourceType": "Patient", "id": "456", "name": [{"family": "Okafor", "given": ["Chidi"]}], "birthDate": "1970-09-30"}),
        json!({"resourceType": "Observation", "id": "obs-1", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
               "subject": {"reference": "Patient/123"}, "valueQuantity": {"value": 72, "unit": "/min"}}),
        json!({"resourceType": "Observation", "id": "obs-2", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]},
               "subject": {"reference": "Patient/456"}, "valueQuantity": {"value": 128, "unit": "mm[Hg]"}}),
    ]
}

fn belongs_to(resource: &Value, patient: &str) -> bool {
    match resource["resourceType"].as_str() {
        Some("Patient") => resource["id"] == patient,
        _ => resource["subject"]["reference"] == format!("Patient/{patient}"),
    }
}

fn respond(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response<ProxyBody> {
    let mut response = route(method, path, query);
    for (seen, name) in [
        ("x-seen-fhir-user", "x-fhir-user"),
        ("x-seen-client-id", "x-auth-client-id"),
    ] {
        if let Some(v) = headers.get(name) {
            response.headers_mut().insert(seen, v.clone());
        }
    }
    response
}

fn route(method: &Method, path: &str, query: Option<&str>) -> Response<ProxyBody> {
    if method != Method::GET && method != Method::HEAD {
        return fhir(
            StatusCode::METHOD_NOT_ALLOWED,
            outcome("not-supported", "this stand-in only reads"),
        );
    }
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let all = resources();
    match segments.as_slice() {
        ["metadata"] => fhir(
            StatusCode::OK,
            json!({"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                   "fhirVersion": "4.0.1", "format": ["json"],
                   "rest": [{"mode": "server", "resource": [{"type": "Patient"}, {"type": "Observation"}]}]}),
        ),
        [".well-known", "smart-configuration"] => fhir(
            StatusCode::OK,
            json!({"capabilities": ["permission-v1", "permission-v2"], "scopes_supported": ["patient/*.read"]}),
        ),
        [ty, id] => match all
            .into_iter()
            .find(|r| r["resourceType"] == *ty && r["id"] == *id)
        {
            Some(r) => fhir(StatusCode::OK, r),
            None => fhir(
                StatusCode::NOT_FOUND,
                outcome("not-found", "no such resource"),
            ),
        },
        [ty] => fhir(StatusCode::OK, bundle(search(all, ty, query, None))),
        ["Patient", pid, ty] => fhir(StatusCode::OK, bundle(search(all, ty, query, Some(pid)))),
        _ => fhir(StatusCode::NOT_FOUND, outcome("not-found", "unknown path")),
    }
}

/// Type search with the few parameters the demo uses: `patient`, `subject`, `_id` (comma lists allowed).
fn search(all: Vec<Value>, ty: &str, query: Option<&str>, compartment: Option<&str>) -> Vec<Value> {
    let params: Vec<(&str, String)> = query
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k, v.replace("%2F", "/").replace("%2f", "/")))
        .collect();
    all.into_iter()
        .filter(|r| r["resourceType"] == ty)
        .filter(|r| compartment.is_none_or(|p| belongs_to(r, p)))
        .filter(|r| {
            params.iter().all(|(k, v)| match *k {
                "patient" => belongs_to(r, v.trim_start_matches("Patient/")),
                "subject" => v.strip_prefix("Patient/").is_some_and(|p| belongs_to(r, p)),
                "_id" => v.split(',').any(|id| r["id"] == id),
                _ => true,
            })
        })
        .collect()
}

fn bundle(resources: Vec<Value>) -> Value {
    json!({
        "resourceType": "Bundle", "type": "searchset", "total": resources.len(),
        "entry": resources.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>(),
    })
}

fn outcome(code: &str, text: &str) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]})
}

fn fhir(status: StatusCode, body: Value) -> Response<ProxyBody> {
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    response
}
