//! A FHIR-server stand-in that records every request it receives and answers with a small JSON body
//! (or, on demand, slowly, or an echo of the request body).

#![allow(unreachable_pub)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use fhir_jwt_proxy::body::full;
use fhir_jwt_proxy::connections::{serve, ConnectionLimits};
use http::{HeaderMap, Response};
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the upstream saw.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The proxy's end of the connection the request came on: equal ports, one kept-alive connection.
    pub peer: SocketAddr,
}

#[derive(Default)]
struct Behaviour {
    delay: Option<Duration>,
}

/// A search with `_id=X`: a searchset with one resource `{type}/X` when X starts with `in-` (a resource inside
/// the compartment, by this stand-in's convention), else an empty searchset.
fn id_search(path: &str, query: Option<&str>) -> Option<Bytes> {
    let id = query?.split('&').find_map(|p| p.strip_prefix("_id="))?;
    let ty = path.rsplit('/').next()?;
    let entries = if id.starts_with("in-") {
        format!(
            r#"[{{"resource":{{"resourceType":"{ty}","id":"{id}","meta":{{"versionId":"3"}}}}}}]"#
        )
    } else {
        "[]".to_string()
    };
    Some(Bytes::from(format!(
        r#"{{"resourceType":"Bundle","type":"searchset","entry":{entries}}}"#
    )))
}

/// A search with `_include`/`_revinclude` (any case): one match of Patient/123 and included resources of Patient/456
/// (the patient, a Provenance of their Condition, their Task) besides Patient/123 itself, for the answer filter.
fn include_search(path: &str, query: Option<&str>) -> Option<Bytes> {
    let q = query?.to_ascii_lowercase();
    if !q.contains("include") {
        return None;
    }
    let ty = path.rsplit('/').next()?;
    Some(Bytes::from(format!(
        r#"{{"resourceType":"Bundle","type":"searchset","entry":[
        {{"resource":{{"resourceType":"{ty}","id":"m1","subject":{{"reference":"Patient/123"}}}},"search":{{"mode":"match"}}}},
        {{"resource":{{"resourceType":"Patient","id":"456"}},"search":{{"mode":"include"}}}},
        {{"resource":{{"resourceType":"Provenance","id":"pv","target":[{{"reference":"Condition/c456"}}]}},"search":{{"mode":"include"}}}},
        {{"resource":{{"resourceType":"Task","id":"t","for":{{"reference":"Patient/456"}}}},"search":{{"mode":"include"}}}},
        {{"resource":{{"resourceType":"Provenance","id":"pv-own","target":[{{"reference":"{ty}/m1"}}]}},"search":{{"mode":"include"}}}},
        {{"resource":{{"resourceType":"Patient","id":"123"}},"search":{{"mode":"include"}}}},
        {{"resource":{{"resourceType":"{ty}","id":"no-mode","subject":{{"reference":"Patient/456"}}}}}}]}}"#
    )))
}

/// A read of `{type}/leaky...`: a resource that names Patient/456 in a nested reference (as a resource of a type
/// outside the compartment should never do), for the answer check of such reads.
fn leaky(path: &str) -> Option<Bytes> {
    let mut segments = path.rsplit('/');
    let id = segments.next().filter(|id| id.starts_with("leaky"))?;
    let ty = segments.next()?;
    Some(Bytes::from(format!(
        r#"{{"resourceType":"{ty}","id":"{id}","extension":[{{"url":"urn:x","valueReference":{{"reference":"Patient/456"}}}}]}}"#
    )))
}

/// The request body streamed straight back (nothing buffered), for byte-integrity tests of large bodies.
fn stream_echo(
    req: http::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    seen: &Mutex<Vec<Recorded>>,
) -> Response<fhir_jwt_proxy::body::ProxyBody> {
    let (parts, body) = req.into_parts();
    if let Ok(mut seen) = seen.lock() {
        seen.push(Recorded {
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            headers: parts.headers.clone(),
            body: Bytes::new(),
            peer,
        });
    }
    let body = body
        .map_err(|e| -> fhir_jwt_proxy::body::BoxError { Box::new(e) })
        .boxed();
    Response::new(body)
}

/// Sends the headers and ten bytes, then nothing more, ever (a stalled stream without a Content-Length).
fn slow_drip() -> Response<fhir_jwt_proxy::body::ProxyBody> {
    let stream = futures_util::stream::unfold(0u8, |step| async move {
        if step == 0 {
            Some((
                Ok::<_, fhir_jwt_proxy::body::BoxError>(hyper::body::Frame::data(
                    Bytes::from_static(b"0123456789"),
                )),
                1,
            ))
        } else {
            std::future::pending::<()>().await;
            None
        }
    });
    Response::new(http_body_util::StreamBody::new(stream).boxed())
}

/// Announces `length` bytes, sends 10, then ends the connection: a reset in the middle of a response.
fn truncated(length: &'static str) -> Response<fhir_jwt_proxy::body::ProxyBody> {
    // Ten bytes, a pause long enough for the headers and those bytes to be flushed, then the connection breaks.
    let stream = futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((
                Ok(hyper::body::Frame::data(Bytes::from_static(b"0123456789"))),
                1,
            )),
            1 => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                Some((
                    Err::<hyper::body::Frame<Bytes>, fhir_jwt_proxy::body::BoxError>(
                        "upstream went away".into(),
                    ),
                    2,
                ))
            }
            _ => None,
        }
    });
    let mut r = Response::new(http_body_util::StreamBody::new(stream).boxed());
    r.headers_mut()
        .insert("content-length", http::HeaderValue::from_static(length));
    r
}

pub struct RecordingUpstream {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    _shutdown: watch::Sender<bool>,
}

impl RecordingUpstream {
    pub async fn start() -> RecordingUpstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        let seen: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let behaviour: Arc<Mutex<Behaviour>> = Arc::default();
        let (tx, rx) = watch::channel(false);
        let (s, b) = (seen.clone(), behaviour.clone());
        tokio::spawn(serve(
            listener,
            ConnectionLimits::default(),
            rx,
            move |req, peer| {
                let (seen, behaviour) = (s.clone(), b.clone());
                async move {
                    let delay = behaviour.lock().map(|b| b.delay).unwrap_or(None);
                    if req.uri().path().ends_with("/stream-echo") {
                        return stream_echo(req, peer, &seen);
                    }
                    if req.uri().path().ends_with("/truncated") {
                        return truncated("1000000");
                    }
                    if req.uri().path().ends_with("/truncated-small") {
                        return truncated("1000");
                    }
                    if req.uri().path().ends_with("/slow-drip") {
                        return slow_drip();
                    }
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    let echo = parts.uri.path().ends_with("/echo");
                    if let Ok(mut seen) = seen.lock() {
                        seen.push(Recorded {
                            method: parts.method.to_string(),
                            uri: parts.uri.to_string(),
                            headers: parts.headers.clone(),
                            body: body.clone(),
                            peer,
                        });
                    }
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                    let out = if echo {
                        body
                    } else if parts.uri.path().ends_with("/metadata") {
                        Bytes::from_static(br#"{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"],"rest":[{"mode":"server"}]}"#)
                    } else if let Some(bundle) = include_search(parts.uri.path(), parts.uri.query())
                    {
                        bundle
                    } else if let Some(bundle) = id_search(parts.uri.path(), parts.uri.query()) {
                        bundle
                    } else if let Some(resource) = leaky(parts.uri.path()) {
                        resource
                    } else {
                        Bytes::from_static(br#"{"resourceType":"Patient","id":"123"}"#)
                    };
                    let mut response = Response::new(full(out));
                    response.headers_mut().insert(
                        "content-type",
                        http::HeaderValue::from_static("application/fhir+json"),
                    );
                    response
                        .headers_mut()
                        .insert("connection", http::HeaderValue::from_static("keep-alive"));
                    response
                        .headers_mut()
                        .insert("x-upstream", http::HeaderValue::from_static("1"));
                    if parts.uri.path().ends_with("/close") {
                        // This upstream closes every connection after answering.
                        response
                            .headers_mut()
                            .insert("connection", http::HeaderValue::from_static("close"));
                    }
                    response
                }
            },
        ));
        RecordingUpstream {
            addr,
            seen,
            behaviour,
            _shutdown: tx,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.requests().len()
    }

    pub fn last(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the upstream received a request")
    }

    pub fn set_delay(&self, delay: Option<Duration>) {
        if let Ok(mut b) = self.behaviour.lock() {
            b.delay = delay;
        }
    }
}
