//! A HAPI-style paging FHIR server stand-in (HAPI itself cannot be installed here), built from HAPI's documented
//! link format: a search answers with the first page and a `next` link `[base]?_getpages=<search id>&
//! _getpagesoffset=<n>&_count=<c>&_bundletype=searchset`; the server keeps the search's results, and the
//! continuation request carries nothing of the original query. Its base has a path (`/fhir`), like HAPI's.
//!
//! Data: Observations `o1`..`o5` of Patient/123 and `p1`..`p3` of Patient/456. Searches confine by compartment path
//! (`/fhir/Patient/123/Observation`) or by `subject`/`patient` (`/fhir/Observation?subject=Patient/123`); a search
//! without either returns everyone's. Every request is recorded (path and query) for the tests' assertions.

#![allow(unreachable_pub, dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fhir_jwt_proxy::body::full;
use fhir_jwt_proxy::connections::{serve, ConnectionLimits};
use http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

const OBSERVATIONS: [(&str, &str); 8] = [
    ("o1", "123"),
    ("o2", "123"),
    ("o3", "123"),
    ("o4", "123"),
    ("o5", "123"),
    ("p1", "456"),
    ("p2", "456"),
    ("p3", "456"),
];

#[derive(Default)]
struct Searches {
    next_id: u32,
    results: HashMap<String, Vec<&'static str>>,
}

pub struct HapiStandIn {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    _shutdown: watch::Sender<bool>,
}

impl HapiStandIn {
    pub async fn start() -> HapiStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}/fhir");
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let searches: Arc<Mutex<Searches>> = Arc::default();
        let (tx, rx) = watch::channel(false);
        let s = seen.clone();
        tokio::spawn(serve(
            listener,
            ConnectionLimits::default(),
            rx,
            move |req, _| {
                let (seen, searches, base) = (s.clone(), searches.clone(), base.clone());
                async move {
                    let uri = req.uri().clone();
                    if let Ok(mut seen) = seen.lock() {
                        seen.push(uri.to_string());
                    }
                    let query: Vec<(String, String)> = uri
                        .query()
                        .unwrap_or("")
                        .split('&')
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            let (k, v) = p.split_once('=').unwrap_or((p, ""));
                            (k.to_string(), v.replace("%2F", "/"))
                        })
                        .collect();
                    let get = |k: &str| {
                        query
                            .iter()
                            .find(|(key, _)| key == k)
                            .map(|(_, v)| v.clone())
                    };
                    let count: usize = get("_count")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(2)
                        .max(1);
                    let path = uri.path().trim_end_matches('/');
                    if req.method() == http::Method::POST && path == "/fhir/Patient" {
                        let mut r = Response::new(full(Bytes::from_static(
                            br#"{"resourceType":"Patient","id":"new"}"#,
                        )));
                        *r.status_mut() = StatusCode::CREATED;
                        r.headers_mut().insert(
                            "location",
                            HeaderValue::from_str(&format!("{base}/Patient/new/_history/1"))
                                .expect("location"),
                        );
                        r.headers_mut().insert(
                            "content-type",
                            HeaderValue::from_static("application/fhir+json"),
                        );
                        return r;
                    }
                    let page = |id: &str, offset: usize, searches: &Searches| -> Option<Value> {
                        let all = searches.results.get(id)?;
                        let entries: Vec<Value> = all
                        .iter()
                        .skip(offset)
                        .take(count)
                        .map(|oid| {
                            let patient = OBSERVATIONS.iter().find(|(o, _)| o == oid).map(|(_, p)| *p).unwrap_or("");
                            json!({"fullUrl": format!("{base}/Observation/{oid}"),
                                   "resource": {"resourceType": "Observation", "id": oid, "status": "final",
                                                "code": {"text": "x"}, "subject": {"reference": format!("Patient/{patient}")}}})
                        })
                        .collect();
                        let mut links = vec![
                            json!({"relation": "self", "url": format!("{base}?_getpages={id}&_getpagesoffset={offset}&_count={count}&_bundletype=searchset")}),
                        ];
                        if offset + count < all.len() {
                            links.push(json!({"relation": "next", "url": format!(
                            "{base}?_getpages={id}&_getpagesoffset={}&_count={count}&_bundletype=searchset", offset + count)}));
                        }
                        Some(
                            json!({"resourceType": "Bundle", "type": "searchset", "total": all.len(), "link": links, "entry": entries}),
                        )
                    };
                    let answer = if path == "/fhir" {
                        match (get("_getpages"), searches.lock()) {
                            (Some(id), Ok(s)) => {
                                let offset = get("_getpagesoffset")
                                    .and_then(|o| o.parse().ok())
                                    .unwrap_or(0);
                                page(&id, offset, &s)
                            }
                            _ => None,
                        }
                    } else {
                        let patient = path
                            .strip_prefix("/fhir/Patient/")
                            .and_then(|r| r.strip_suffix("/Observation"))
                            .map(str::to_string)
                            .or_else(|| {
                                get("subject")
                                    .or_else(|| get("patient"))
                                    .map(|v| v.trim_start_matches("Patient/").to_string())
                            });
                        let is_search =
                            path == "/fhir/Observation" || path.ends_with("/Observation");
                        match (is_search, searches.lock()) {
                            (true, Ok(mut s)) => {
                                s.next_id += 1;
                                let id = format!("search-{}", s.next_id);
                                let matches: Vec<&'static str> = OBSERVATIONS
                                    .iter()
                                    .filter(|(_, p)| {
                                        patient.as_deref().is_none_or(|want| want == *p)
                                    })
                                    .map(|(o, _)| *o)
                                    .collect();
                                s.results.insert(id.clone(), matches);
                                page(&id, 0, &s)
                            }
                            _ => None,
                        }
                    };
                    let mut r = match answer {
                        Some(v) => Response::new(full(Bytes::from(v.to_string()))),
                        None => {
                            let mut r = Response::new(full(Bytes::from_static(br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}"#)));
                            *r.status_mut() = StatusCode::NOT_FOUND;
                            r
                        }
                    };
                    r.headers_mut().insert(
                        "content-type",
                        HeaderValue::from_static("application/fhir+json;charset=utf-8"),
                    );
                    r
                }
            },
        ));
        HapiStandIn {
            addr,
            seen,
            _shutdown: tx,
        }
    }

    /// The base the proxy's `--upstream` points at.
    pub fn base_url(&self) -> String {
        format!("http://{}/fhir", self.addr)
    }

    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
