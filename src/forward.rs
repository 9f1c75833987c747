//! The upstream hop: one pooled hyper client, the request rewritten onto the upstream base, bodies streamed
//! both ways (rule H9 for the identity headers).
//!
//! In: the client's request (already authorized) and, for authenticated requests, the [`VerifiedToken`].
//! Out: the upstream's response with hop-by-hop headers removed and its body streamed, or
//! [`RequestError::UpstreamUnavailable`] (502) / [`RequestError::UpstreamTimeout`] (504).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use url::Url;

use crate::body::{empty, full, BoxError, ProxyBody};
use crate::body_timeout::IdleTimeoutBody;
use crate::error::RequestError;
pub use crate::headers::IDENTITY_HEADERS;
use crate::headers::REROUTING_HEADERS;
use crate::smart::{Answer, Decision, Owner, SingleResource};
use crate::token::VerifiedToken;
use crate::upstream_pool::{PoolSettings, RequestBody, UpstreamPool};

/// RFC 9110 §7.6.1 connection-specific headers, never forwarded in either direction. A `static`, as are the lists
/// in `crate::headers`: a `const` array of header names is built and dropped again at every use.
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

#[derive(Debug, thiserror::Error)]
pub enum UpstreamConfigError {
    #[error("--upstream must be an http(s) URL with a host and no query: {0}")]
    BadUrl(String),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// How the proxy reaches the FHIR server.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    pub base: Url,
    /// No response headers within this time: 504.
    pub timeout: Duration,
    /// Forward the client's `Authorization` header (off by default: the upstream gets identity headers instead).
    pub forward_token: bool,
    /// A PEM file of CA certificates trusted besides the platform's (upstream, discovery and JWKS).
    pub ca: Option<std::path::PathBuf>,
}

/// The connection pool and the base every request is rewritten onto.
#[derive(Debug)]
pub struct Upstream {
    pool: UpstreamPool,
    /// The base's path without a trailing `/` (empty for the root).
    path_prefix: String,
    settings: UpstreamSettings,
}

impl Upstream {
    /// The same upstream with a pool of its own (one per worker thread).
    pub fn for_worker(&self) -> Upstream {
        Upstream {
            pool: self.pool.fresh(),
            path_prefix: self.path_prefix.clone(),
            settings: self.settings.clone(),
        }
    }

    /// `extra_roots`: the `--upstream-ca` certificates, already read.
    pub fn new(
        settings: UpstreamSettings,
        extra_roots: &[rustls::pki_types::CertificateDer<'static>],
    ) -> Result<Self, UpstreamConfigError> {
        let base = &settings.base;
        let bad = || UpstreamConfigError::BadUrl(base.to_string());
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() || !base.has_host()
        {
            return Err(bad());
        }
        let base_uri: Uri = base.as_str().parse().map_err(|_| bad())?;
        let scheme = base_uri.scheme().cloned().ok_or_else(bad)?;
        let authority = base_uri.authority().cloned().ok_or_else(bad)?;
        let path_prefix = base.path().trim_end_matches('/').to_string();

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(5)));
        http.set_keepalive(Some(Duration::from_secs(60)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(crate::tls::client_config(extra_roots)?)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let pool = UpstreamPool::new(
            https,
            scheme,
            authority,
            PoolSettings {
                max_idle: 256,
                idle_timeout: Duration::from_secs(90),
            },
        );
        Ok(Upstream {
            pool,
            path_prefix,
            settings,
        })
    }

    /// The upstream's base URL (answers' links under it are presented under the proxy's).
    pub fn base(&self) -> &Url {
        &self.settings.base
    }

    /// Send the request upstream and stream the answer back.
    ///
    /// Not an `async fn`: the request is rewritten before the future exists, so the future holds the request once
    /// (an `async fn` keeps its argument and its rebinding side by side) and never the token. One deadline covers
    /// the response head and then, reset, a small body.
    pub fn forward<'s>(
        &'s self,
        req: Request<RequestBody>,
        identity: Option<&VerifiedToken>,
        client: SocketAddr,
        client_tls: bool,
    ) -> impl Future<Output = Result<Response<ProxyBody>, RequestError>> + use<'s> {
        let prepared = self.rewrite(req, identity, client, client_tls);
        async move {
            let timeout = self.settings.timeout;
            let deadline = tokio::time::sleep(timeout);
            tokio::pin!(deadline);
            let response = tokio::select! {
                biased;
                sent = self.pool.send(prepared?) => match sent {
                    // The client's own body failed (bad chunk framing, cut off): the client's fault, 400.
                    Err(e) if e.caused_by_request_body() => return Err(RequestError::MalformedBody),
                    Err(e) => return Err(RequestError::UpstreamUnavailable(Box::new(e))),
                    Ok(response) => response,
                },
                () = &mut deadline => return Err(RequestError::UpstreamTimeout),
            };
            let (mut parts, body) = response.into_parts();
            remove_hop_by_hop(&mut parts.headers);
            // A small body of known length is read whole first, so the answer leaves in one write with its
            // headers (a loopback or LAN write costs more than the copy); anything larger or of unknown length
            // streams.
            let small = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok())
                .is_some_and(|n| n <= SMALL_BODY_BYTES);
            if small {
                deadline
                    .as_mut()
                    .reset(tokio::time::Instant::now() + timeout);
                return tokio::select! {
                    biased;
                    collected = body.collect() => match collected {
                        Ok(c) => Ok(Response::from_parts(parts, full(c.to_bytes()))),
                        Err(e) => Err(RequestError::UpstreamUnavailable(Box::new(e))),
                    },
                    () = &mut deadline => Err(RequestError::UpstreamTimeout),
                };
            }
            // Between two frames the upstream gets the same time it had for its headers; a stalled stream is
            // aborted.
            let body = body.map_err(|e| -> BoxError { Box::new(e) }).boxed();
            let body = IdleTimeoutBody::new(body, timeout).boxed();
            Ok(Response::from_parts(parts, body))
        }
    }

    /// The request as the upstream gets it: onto the upstream base, HTTP/1.1 (the pool picks the protocol),
    /// hop-by-hop headers and (unless forwarded on purpose) the token removed, forwarding and identity headers set.
    fn rewrite(
        &self,
        mut req: Request<RequestBody>,
        identity: Option<&VerifiedToken>,
        client: SocketAddr,
        client_tls: bool,
    ) -> Result<Request<RequestBody>, RequestError> {
        *req.uri_mut() = self.upstream_uri(req.uri())?;
        *req.version_mut() = http::Version::HTTP_11;
        let headers = req.headers_mut();
        let original_host = headers.remove(header::HOST);
        remove_hop_by_hop(headers);
        if !self.settings.forward_token {
            headers.remove(header::AUTHORIZATION);
        }
        add_forwarded(headers, client, client_tls, original_host);
        if let Some(token) = identity {
            add_identity(headers, token);
        }
        Ok(req)
    }

    /// Send the request as the SMART decision says: unchanged, or rewritten into the compartment (F7), in which
    /// case a read by id comes back as the single matching resource or 404.
    ///
    /// Not an `async fn`, for the reason given at [`Upstream::forward`].
    #[allow(clippy::manual_async_fn)]
    pub fn forward_decided<'a>(
        &'a self,
        mut req: Request<RequestBody>,
        identity: &'a VerifiedToken,
        decision: Decision,
        client: SocketAddr,
        client_tls: bool,
    ) -> impl Future<Output = Result<Response<ProxyBody>, RequestError>> + 'a {
        async move {
            let Decision::Rewrite {
                path_and_query,
                answer,
            } = decision
            else {
                return self.forward(req, Some(identity), client, client_tls).await;
            };
            *req.uri_mut() = path_and_query
                .parse()
                .map_err(|_| RequestError::InvalidRequest("request target cannot be rewritten"))?;
            let head = req.method() == Method::HEAD;
            if answer != Answer::AsIs {
                // The answer must have a body to check, even for a HEAD read.
                *req.method_mut() = Method::GET;
            }
            // A read turned into a search: the client's conditional header is about the resource, not the search
            // Bundle; the proxy answers it from the unwrapped resource's version.
            let if_none_match = match answer {
                Answer::Unwrap(_) => req.headers_mut().remove(header::IF_NONE_MATCH),
                _ => None,
            };
            let response = self
                .forward(req, Some(identity), client, client_tls)
                .await?;
            match answer {
                Answer::AsIs => Ok(response),
                Answer::Unwrap(single) => {
                    let out = unwrap_single(response, &single, head).await?;
                    Ok(not_modified(out, if_none_match.as_ref()))
                }
                Answer::InCompartment { owner, matches } => {
                    in_compartment(response, &owner, matches, head).await
                }
            }
        }
    }

    /// The client's path and query appended to the upstream base (which may carry a path prefix), in origin
    /// form: the pool adds scheme and authority where the protocol needs them.
    fn upstream_uri(&self, uri: &Uri) -> Result<Uri, RequestError> {
        let path = uri.path();
        let mut pq = String::with_capacity(self.path_prefix.len() + path.len() + 1);
        pq.push_str(&self.path_prefix);
        if !path.starts_with('/') {
            pq.push('/');
        }
        pq.push_str(path);
        if let Some(q) = uri.query() {
            pq.push('?');
            pq.push_str(q);
        }
        let pq = PathAndQuery::try_from(pq)
            .map_err(|_| RequestError::InvalidRequest("request target cannot be forwarded"))?;
        Ok(Uri::from(pq))
    }
}

/// Upstream answers up to this size (by Content-Length) are sent on in one piece; larger ones stream.
const SMALL_BODY_BYTES: usize = 16 * 1024;

/// Largest searchset the proxy reads to answer a rewritten read (one resource, plus the Bundle around it).
const MAX_UNWRAP_BYTES: usize = 16 * 1024 * 1024;

/// The upstream's JSON answer, read whole (bounded): its head and the parsed body.
async fn read_json(
    response: Response<ProxyBody>,
) -> Result<(http::response::Parts, serde_json::Value), RequestError> {
    let (parts, body) = response.into_parts();
    let bytes = read_answer(body, MAX_UNWRAP_BYTES).await?;
    let value = serde_json::from_slice(&bytes).map_err(|_| bad("upstream answer is not JSON"))?;
    Ok((parts, value))
}

/// An upstream answer's body read whole, at most `limit` bytes: 502 past it, or when the stream breaks off. The one
/// reader for every answer the proxy must see whole (unwrapping, checking, presenting links).
pub async fn read_answer(mut body: ProxyBody, limit: usize) -> Result<Vec<u8>, RequestError> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(RequestError::UpstreamUnavailable)?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                return Err(bad(
                    "the upstream's answer is too large for the proxy to check",
                ));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// F7, H8: a searchset for `_id=<id>` in the compartment → the resource itself, or 404 when it is not there.
/// Any non-200 answer of the upstream is passed on as it is.
async fn unwrap_single(
    response: Response<ProxyBody>,
    single: &SingleResource,
    head: bool,
) -> Result<Response<ProxyBody>, RequestError> {
    if response.status() != StatusCode::OK {
        return Ok(response);
    }
    let (_, bundle) = read_json(response).await?;
    if bundle["resourceType"] != "Bundle" {
        return Err(bad("upstream search answer is not a Bundle"));
    }
    let mut matches = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == single.resource_type && r["id"] == single.id.as_str());
    let (Some(resource), None) = (matches.next(), matches.next()) else {
        // None: not in the compartment (or does not exist). Several with one id would be a broken server: 404 too,
        // never a guess.
        return Err(RequestError::NotFound);
    };
    let body = serde_json::to_vec(resource).map_err(|_| bad("cannot re-encode the resource"))?;
    let mut out = Response::new(if head { empty() } else { full(body) });
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    if let Some(version) = resource["meta"]["versionId"].as_str() {
        if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
            out.headers_mut().insert(header::ETAG, etag);
        }
    }
    if let Some(modified) = resource["meta"]["lastUpdated"].as_str().and_then(http_date) {
        if let Ok(v) = HeaderValue::from_str(&modified) {
            out.headers_mut().insert(header::LAST_MODIFIED, v);
        }
    }
    Ok(out)
}

/// Q18: only what belongs to the owner's compartment. A single resource that does not: 404. A Bundle: entries that
/// do not are dropped (the search's own matches of type `matches` are confined by the query and kept); a history
/// whose every entry was dropped is 404. Non-200 answers pass unchanged; one that is not JSON cannot be checked: 502.
async fn in_compartment(
    response: Response<ProxyBody>,
    owner: &Owner,
    matches: Option<&'static str>,
    head: bool,
) -> Result<Response<ProxyBody>, RequestError> {
    if response.status() != StatusCode::OK {
        return Ok(response);
    }
    let Some(c) = crate::smart::compartment::Compartment::of(owner.resource_type, &owner.id) else {
        return Err(RequestError::NotFound);
    };
    let (mut parts, mut value) = read_json(response).await?;
    if value["resourceType"] == "Bundle" {
        if let Some(entries) = value
            .get_mut("entry")
            .and_then(serde_json::Value::as_array_mut)
        {
            let before = entries.len();
            // Only what the server marks as a match of the searched type; an entry without a mode is checked.
            let own_match = |e: &serde_json::Value| {
                matches.is_some_and(|t| e["resource"]["resourceType"] == t)
                    && e["search"]["mode"] == "match"
            };
            let matched: Vec<String> = entries
                .iter()
                .filter(|e| own_match(e))
                .filter_map(|e| {
                    Some(format!(
                        "{}/{}",
                        e["resource"]["resourceType"].as_str()?,
                        e["resource"]["id"].as_str()?
                    ))
                })
                .collect();
            entries.retain(|e| {
                let resource = &e["resource"];
                // A deleted version in a history has no resource: it says nothing about anyone.
                own_match(e) || resource.is_null() || c.holds(resource, &matched)
            });
            if before > 0 && entries.is_empty() && matches.is_none() {
                return Err(RequestError::NotFound);
            }
        }
    } else if !c.holds(&value, &[]) {
        return Err(RequestError::NotFound);
    }
    let body = serde_json::to_vec(&value).map_err(|_| bad("cannot re-encode the answer"))?;
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.remove(header::CONTENT_LENGTH);
    if !head {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    Ok(Response::from_parts(
        parts,
        if head { empty() } else { full(body) },
    ))
}

/// 304 when the client's `If-None-Match` names the answer's `ETag` (weak comparison, `*` included).
fn not_modified(
    response: Response<ProxyBody>,
    if_none_match: Option<&HeaderValue>,
) -> Response<ProxyBody> {
    let (Some(wanted), Some(etag)) = (
        if_none_match.and_then(|v| v.to_str().ok()),
        response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok()),
    ) else {
        return response;
    };
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let matched = wanted.trim() == "*" || wanted.split(',').any(|w| weak(w) == weak(etag));
    if !matched || response.status() != StatusCode::OK {
        return response;
    }
    let mut out = Response::new(empty());
    *out.status_mut() = StatusCode::NOT_MODIFIED;
    for name in [header::ETAG, header::LAST_MODIFIED] {
        if let Some(v) = response.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// An RFC 3339 instant (`meta.lastUpdated`) as an HTTP date (`Last-Modified`), when it parses.
fn http_date(instant: &str) -> Option<String> {
    let b = instant.as_bytes();
    let num = |r: std::ops::Range<usize>| instant.get(r)?.parse::<i64>().ok();
    if b.len() < 19 {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Offsets other than Z are applied to give UTC.
    let rest = instant.get(19..)?;
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset_min = match rest {
        "" | "Z" => 0,
        r if r.len() == 6 => {
            let sign = if r.starts_with('-') { -1 } else { 1 };
            sign * (r.get(1..3)?.parse::<i64>().ok()? * 60 + r.get(4..6)?.parse::<i64>().ok()?)
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (yy, mo) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mo + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset_min * 60;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Back to a civil date for the UTC instant.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    Some(format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// 502 for an upstream answer the proxy cannot use.
fn bad(why: &'static str) -> RequestError {
    RequestError::UpstreamUnavailable(Box::<dyn std::error::Error + Send + Sync>::from(why))
}

/// Remove what a client may not send upstream (H9, Q19): the identity headers and the operator's mapped claim
/// headers (only the proxy sets them), also when spelled with `_` for `-` (CGI, WSGI and some Java stacks read
/// `X_Fhir_User` as `X-Fhir-User`), and the re-routing and method-override headers.
pub fn strip_proxy_headers(headers: &mut HeaderMap, mapped: &[HeaderName]) {
    let reserved = |n: &HeaderName| {
        IDENTITY_HEADERS.contains(n) || mapped.contains(n) || REROUTING_HEADERS.contains(n)
    };
    remove_where(headers, |n| {
        reserved(n)
            || (n.as_str().contains('_')
                && HeaderName::from_bytes(n.as_str().replace('_', "-").as_bytes())
                    .is_ok_and(|dashed| reserved(&dashed)))
    });
}

/// Remove every header `doomed` picks, in one pass over the names present: most requests carry none of the
/// unwanted ones, and removing each unwanted name by lookup costs a hash and a probe per name.
fn remove_where(headers: &mut HeaderMap, doomed: impl Fn(&HeaderName) -> bool) {
    let names: Vec<HeaderName> = headers.keys().filter(|n| doomed(n)).cloned().collect();
    for name in &names {
        headers.remove(name);
    }
}

/// Connection-specific headers, including those the `Connection` header names.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = if headers.contains_key(header::CONNECTION) {
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .collect()
    } else {
        Vec::new()
    };
    // Framing is hyper's job on each hop; a client's Transfer-Encoding must not reach the upstream.
    remove_where(headers, |n| {
        HOP_BY_HOP.contains(n) || n == header::TRANSFER_ENCODING || named.contains(n)
    });
}

fn add_forwarded(
    headers: &mut HeaderMap,
    client: SocketAddr,
    tls: bool,
    host: Option<HeaderValue>,
) {
    let ip = client_ip_value(client.ip());
    let value = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) if !prior.trim().is_empty() => {
            let joined = format!("{prior}, {}", client.ip());
            // Handed over without a copy (the String's buffer becomes the value's).
            HeaderValue::from_maybe_shared(bytes::Bytes::from(joined)).ok()
        }
        _ => Some(ip),
    };
    match value {
        Some(v) => headers.insert(X_FORWARDED_FOR, v),
        None => headers.remove(&X_FORWARDED_FOR),
    };
    headers.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(if tls { "https" } else { "http" }),
    );
    match host {
        Some(host) => headers.insert(X_FORWARDED_HOST, host),
        None => headers.remove(X_FORWARDED_HOST),
    };
}

/// The client's address as a header value. Requests on one connection, and most connections of one worker, come
/// from the same address: the last one formatted is kept per thread, so a repeat costs a comparison and a clone.
fn client_ip_value(ip: std::net::IpAddr) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(std::net::IpAddr, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((seen, value)) if *seen == ip => value.clone(),
            _ => {
                // An IP address's text is always a valid header value.
                let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(ip.to_string()))
                    .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
                *last = Some((ip, value.clone()));
                value
            }
        }
    })
}

/// The verified identity, for the upstream. Every value was checked header-safe when the token was verified.
fn add_identity(headers: &mut HeaderMap, token: &VerifiedToken) {
    let [fhir_user, subject, client_id, scopes, issuer] = &IDENTITY_HEADERS;
    // The user's own values are made per request; the class's (issuer, client, scopes) once per class.
    for (name, value) in [
        (fhir_user, token.fhir_user().map(|u| u.reference())),
        (subject, token.subject()),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name.clone(), v);
        }
    }
    let [issuer_value, client_value, scopes_value] = token.class_header_values();
    for (name, value) in [
        (issuer, issuer_value),
        (client_id, client_value),
        (scopes, scopes_value),
    ] {
        if let Some(v) = value {
            headers.insert(name.clone(), v.clone());
        }
    }
    for (name, value) in token.mapped_headers() {
        headers.insert(name.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_modified_is_an_http_date_of_the_resource_instant() {
        assert_eq!(
            http_date("2024-02-29T13:45:07Z").as_deref(),
            Some("Thu, 29 Feb 2024 13:45:07 GMT")
        );
        assert_eq!(
            http_date("1970-01-01T00:00:00.000Z").as_deref(),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        assert_eq!(
            http_date("2025-12-31T23:30:00.123-01:00").as_deref(),
            Some("Thu, 01 Jan 2026 00:30:00 GMT")
        );
        assert_eq!(http_date("not a date"), None);
        assert_eq!(
            http_date("2024-02-29T13:45:0\u{e9}Z"),
            None,
            "no panic on a multi-byte character"
        );
        assert_eq!(http_date("2024-02-29T13:45:07\u{e9}"), None);
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert("x-keep", HeaderValue::from_static("1"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("x-keep"));
    }

    #[test]
    fn q19_underscore_spellings_and_rerouting_headers_are_stripped() {
        let mut h = HeaderMap::new();
        for name in [
            "x_fhir_user",
            "x-auth_subject",
            "x_user_email",
            "x-http-method-override",
            "x-http-method",
            "x-method-override",
            "x-original-url",
            "x-rewrite-url",
            "forwarded",
            "x-forwarded-prefix",
            "x-forwarded-port",
            "x-real-ip",
        ] {
            h.insert(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_static("forged"),
            );
        }
        h.insert("x_other_thing", HeaderValue::from_static("kept"));
        h.insert("accept", HeaderValue::from_static("application/fhir+json"));
        strip_proxy_headers(&mut h, &[HeaderName::from_static("x-user-email")]);
        let left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        assert_eq!(left.len(), 2, "{left:?}");
        // What the proxy sets itself is not in the list: it would strip its own headers otherwise.
        assert!(
            !REROUTING_HEADERS.contains(&X_FORWARDED_FOR)
                && !REROUTING_HEADERS.contains(&X_FORWARDED_HOST)
        );
        assert!(h.contains_key("accept") && h.contains_key("x_other_thing"));
    }

    #[test]
    fn h9_client_identity_headers_are_stripped() {
        let mut h = HeaderMap::new();
        for name in &IDENTITY_HEADERS {
            h.insert(name.clone(), HeaderValue::from_static("forged"));
        }
        h.insert("accept", HeaderValue::from_static("application/fhir+json"));
        h.insert("x-user-email", HeaderValue::from_static("forged"));
        strip_proxy_headers(&mut h, &[HeaderName::from_static("x-user-email")]);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn x_forwarded_for_appends_the_client() {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("10.0.0.1"));
        add_forwarded(&mut h, "127.0.0.1:5".parse().expect("addr"), false, None);
        assert_eq!(h[X_FORWARDED_FOR], "10.0.0.1, 127.0.0.1");
        assert_eq!(h[X_FORWARDED_PROTO], "http");
    }
}
