//! The per-request service: public paths → token → SMART → forward, in one span (rule F10's order).
//!
//! ```text
//! request ─strip identity headers─▶ public? ──yes──────────────────────────────▶ forward
//!                                      │no
//!                                      ▼
//!                    bearer header ─token─▶ VerifiedToken ─smart─▶ allowed ─forward─▶ upstream response
//!                                                  ▲
//!                                   per-issuer key set (refetched once on an unknown kid)
//! ```
//!
//! Every failure becomes a response here through [`RequestError::into_response`]; the service never errors.
//! One log line per request: method, status, outcome reason, provider, client id, latency. Never the token,
//! the path's ids, the query string or a body.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderValue, Request, Response};
use hyper::body::Incoming;

use crate::audit::{now_rfc3339, AuditRecord, Auditor};
use crate::body::ProxyBody;
use crate::config::AuthorityRole;
use crate::error::{RequestError, TokenError};
use crate::forward::{strip_proxy_headers, Upstream};
use crate::metrics::Metrics;
use crate::smart;
use crate::state::{SharedState, Snapshot};
use crate::token::{self, VerifiedToken};
use crate::token_cache::CachedToken;
use crate::upstream_pool::RequestBody;
use http_body_util::{BodyExt, Either, Limited};

/// Metrics and log labels for a token without a client id, and for one no SMART application is configured with.
static NO_CLIENT: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("-"));
static OTHER_CLIENT: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("other"));

/// `X-Request-Id`: kept when the client sent a sane one, else generated; passed upstream and returned.
pub const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// Everything a connection needs to serve requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub state: SharedState,
    pub upstream: Arc<Upstream>,
    pub metrics: Metrics,
    /// The decision audit trail (disabled unless `proxy.audit` is configured).
    pub audit: Auditor,
    /// Whether the listener is TLS (for `X-Forwarded-Proto`).
    pub tls: bool,
}

/// What the request line and the token said, for the one log line and the metrics (all bounded values).
#[derive(Debug, Default)]
struct Trace {
    provider: &'static str,
    /// A configured `clientId`, `other` (a primary-authority client) or `-`.
    client_id: Arc<str>,
    interaction: &'static str,
    resource_type: &'static str,
    /// For the audit record: who, and which resource.
    sub: Option<String>,
    fhir_user: Option<String>,
    resource_id: Option<String>,
    /// When the proxy's own work ended (forwarding started, or the refusal was decided).
    decided: Option<Instant>,
    /// The file's roles the token holds, when roles authorize it (Q10); bounded names.
    roles: Option<Arc<str>>,
}

impl Proxy {
    /// Serve one request. Infallible: every outcome is a response.
    pub async fn handle(
        &self,
        mut req: Request<Incoming>,
        client: SocketAddr,
    ) -> Response<ProxyBody> {
        let started = Instant::now();
        let method = req.method().clone();
        let snapshot = self.state.load();
        // H9: identity headers, and mapped claim headers, are the proxy's to set.
        strip_proxy_headers(
            req.headers_mut(),
            &snapshot.config.extensions.mapped_headers,
        );
        let request_id = request_id(req.headers());
        req.headers_mut().insert(REQUEST_ID, request_id.clone());

        let mut trace = Trace {
            provider: "-",
            client_id: Arc::clone(&NO_CLIENT),
            interaction: "-",
            resource_type: "-",
            sub: None,
            fhir_user: None,
            resource_id: None,
            decided: None,
            roles: None,
        };
        let result = self.process(req, client, &snapshot, &mut trace).await;
        let own_work = trace
            .decided
            .unwrap_or_else(Instant::now)
            .duration_since(started);
        let latency_us = started.elapsed().as_micros() as u64;
        let rid = request_id.to_str().unwrap_or("-");
        let (mut response, outcome) = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                self.metrics.request(
                    "forwarded",
                    status,
                    trace.provider,
                    &trace.client_id,
                    own_work,
                );
                let roles = trace.roles.as_deref().unwrap_or("-");
                tracing::info!(
                    request_id = rid, %method, interaction = trace.interaction, resource_type = trace.resource_type,
                    status, outcome = "forwarded", provider = trace.provider, client_id = %trace.client_id,
                    roles, latency_us, "request"
                );
                (response, "forwarded")
            }
            Err(error) => {
                let (status, reason) = (error.status().as_u16(), error.reason());
                self.metrics
                    .request(reason, status, trace.provider, &trace.client_id, own_work);
                if let RequestError::Forbidden(crate::error::Forbidden::MissingAction {
                    action,
                    ..
                }) = &error
                {
                    self.metrics.role_refusal(action);
                }
                let roles = trace.roles.as_deref().unwrap_or("-");
                match &error {
                    RequestError::UpstreamUnavailable(source) => tracing::warn!(
                        request_id = rid, %method, interaction = trace.interaction, resource_type = trace.resource_type,
                        status, outcome = reason, provider = trace.provider, client_id = %trace.client_id,
                        latency_us, error = %source, "request"
                    ),
                    _ => tracing::info!(
                        request_id = rid, %method, interaction = trace.interaction, resource_type = trace.resource_type,
                        status, outcome = reason, provider = trace.provider, client_id = %trace.client_id,
                        roles, latency_us, detail = %error, "request"
                    ),
                }
                (error.into_response(), reason)
            }
        };
        if self.audit.enabled() {
            self.audit.record(AuditRecord {
                time: now_rfc3339(),
                request_id: rid.to_string(),
                provider: trace.provider,
                client_id: trace.client_id.to_string(),
                sub: trace.sub.take(),
                fhir_user: trace.fhir_user.take(),
                interaction: trace.interaction,
                resource_type: trace.resource_type,
                resource_id: trace.resource_id.take(),
                outcome,
                status: response.status().as_u16(),
                roles: trace.roles.take().map(|r| r.to_string()),
            });
        }
        response.headers_mut().insert(REQUEST_ID, request_id);
        response
    }

    async fn process(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
        snapshot: &Snapshot,
        trace: &mut Trace,
    ) -> Result<Response<ProxyBody>, RequestError> {
        // Q19: a body on a read is never forwarded (some servers would act on it); a client that sends one is told.
        if (req.method() == http::Method::GET || req.method() == http::Method::HEAD)
            && !hyper::body::Body::is_end_stream(req.body())
        {
            return Err(RequestError::InvalidRequest(
                "a GET or HEAD request must not carry a body",
            ));
        }
        // Classified once: for the log line and the audit record, and for the SMART decision.
        let classified =
            crate::fhir::request::classify(req.method(), req.uri().path(), req.uri().query());
        if let Ok(r) = &classified {
            trace.interaction = r.interaction.label();
            trace.resource_type = r.resource_type.unwrap_or("-");
            if self.audit.enabled() {
                trace.resource_id = r.id.clone();
            }
        }
        // F1: capability statement and SMART configuration need no token.
        if smart::is_public(req.method(), req.uri().path()) {
            trace.decided = Some(Instant::now());
            return self
                .forward_timed(
                    req.map(Either::Left),
                    None,
                    smart::Decision::Forward,
                    client,
                )
                .await;
        }
        let result = self.authorize(&req, &classified, snapshot, trace).await;
        let (verified, decision, bundle) = match result {
            Ok(ok) => ok,
            Err(e) => {
                trace.decided = Some(Instant::now());
                return Err(e);
            }
        };
        let req = match (bundle, verified.role_grant()) {
            // Q10: a batch or transaction by role: every entry's action, from the Bundle read whole (bounded).
            (true, Some(grant)) => {
                let (parts, body) = req.into_parts();
                let bytes = read_bounded(body, crate::roles::MAX_BUNDLE_BYTES).await?;
                let needed = crate::roles::needed_for_bundle(&bytes)?;
                crate::roles::check(grant, needed, "batch")?;
                Request::from_parts(parts, Either::Right(http_body_util::Full::new(bytes)))
            }
            _ => req.map(Either::Left),
        };
        trace.decided = Some(Instant::now());
        self.forward_timed(req, Some(&verified), decision, client)
            .await
    }

    /// H1, then rules B–G, then SMART: the verified token and what to send upstream. Who the token belongs to is
    /// written into `trace` as soon as it is known, so refusals after authentication are attributed too.
    async fn authorize(
        &self,
        req: &Request<Incoming>,
        classified: &Result<
            crate::fhir::request::FhirRequest,
            crate::fhir::request::Unclassifiable,
        >,
        snapshot: &Snapshot,
        trace: &mut Trace,
    ) -> Result<(Arc<VerifiedToken>, smart::Decision, bool), RequestError> {
        // H1: the token travels in the Authorization header only.
        if token::query_carries_access_token(req.uri().query()) {
            return Err(RequestError::InvalidRequest(
                "access_token in the query is not accepted; use the Authorization header",
            ));
        }
        let raw = token::bearer_token(req.headers(), snapshot.validation.max_token_bytes)?;
        let verified = authenticate(snapshot, raw, unix_now(), &self.metrics).await?;
        self.describe(&verified, snapshot, trace);
        if let Some(grant) = verified.role_grant() {
            // Q10: a primary token authorized by its roles.
            trace.roles = Some(Arc::clone(&grant.names));
            let request = classified
                .as_ref()
                .map_err(|e| crate::error::Forbidden::Unclassifiable(e.clone()))?;
            let bundle = match crate::roles::needed(request, req.method()) {
                crate::roles::Needed::Actions(needed) => {
                    crate::roles::check(grant, needed, request.interaction.label())?;
                    false
                }
                crate::roles::Needed::BundleEntries => true,
            };
            return Ok((verified, smart::Decision::Forward, bundle));
        }
        let line = smart::RequestLine {
            method: req.method(),
            path: req.uri().path(),
            query: req.uri().query(),
        };
        let decision = smart::authorize_classified(&verified, line, classified, &snapshot.smart)?;
        if let smart::Decision::Rewrite { path_and_query, .. } = &decision {
            // The path only: query values carry patient data.
            tracing::debug!(
                rewritten_path = path_and_query.split('?').next().unwrap_or(""),
                "confined by rewrite"
            );
        }
        Ok((verified, decision, false))
    }

    /// Bounded labels for who the token belongs to.
    fn describe(&self, token: &VerifiedToken, snapshot: &Snapshot, trace: &mut Trace) {
        let configured = |c: &str| {
            snapshot
                .config
                .smart_providers
                .iter()
                .find_map(|p| p.application(c))
                .map(|a| a.client_id.shared())
        };
        trace.provider = match token.role() {
            AuthorityRole::Primary => "primary",
            AuthorityRole::Smart(0) => "smart[0]",
            AuthorityRole::Smart(_) => "smart[1]",
        };
        // Who, by name: for the audit record only.
        if self.audit.enabled() {
            trace.sub = token.subject().map(str::to_string);
            trace.fhir_user = token.fhir_user().map(|u| u.reference().to_string());
        }
        trace.client_id = match (token.application(), token.client_id_shared()) {
            // A SMART application's token carries the config's own id string: no search.
            (Some(_), Some(c)) => Arc::clone(c),
            (None, Some(c)) => configured(c).map_or_else(|| Arc::clone(&OTHER_CLIENT), Arc::clone),
            (_, None) => Arc::clone(&NO_CLIENT),
        };
    }

    async fn forward_timed(
        &self,
        req: Request<RequestBody>,
        identity: Option<&VerifiedToken>,
        decision: smart::Decision,
        client: SocketAddr,
    ) -> Result<Response<ProxyBody>, RequestError> {
        let started = Instant::now();
        let result = match identity {
            Some(token) => {
                self.upstream
                    .forward_decided(req, token, decision, client, self.tls)
                    .await
            }
            None => self.upstream.forward(req, None, client, self.tls).await,
        };
        self.metrics.upstream(started.elapsed());
        result
    }
}

/// The longest the proxy waits for a body it must read whole (a batch authorized by role).
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Read a request body whole, at most `limit` bytes (413 beyond), within [`BODY_READ_TIMEOUT`] (400 after).
async fn read_bounded(body: Incoming, limit: usize) -> Result<bytes::Bytes, RequestError> {
    let collected =
        tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, limit).collect()).await;
    match collected {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(RequestError::BodyTooLarge),
        Ok(Err(_)) | Err(_) => Err(RequestError::MalformedBody),
    }
}

/// The client's `X-Request-Id` when it is short and plain, else a fresh random one.
fn request_id(headers: &http::HeaderMap) -> HeaderValue {
    let sane = |v: &&HeaderValue| {
        (1..=128).contains(&v.len())
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    };
    if let Some(v) = headers.get(REQUEST_ID).filter(sane) {
        return v.clone();
    }
    fresh_request_id()
}

/// Per process: a random prefix and key, so ids of two processes differ and ids do not reveal a request count.
static REQUEST_ID_SEED: LazyLock<[u64; 2]> = LazyLock::new(|| {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // No randomness: the start time still tells two processes apart.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos();
        bytes.copy_from_slice(&nanos.to_le_bytes());
    }
    let (prefix, key) = bytes.split_at(8);
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    [word(prefix), word(key)]
});

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(0);

/// 24 hex digits: 32 bits of the process prefix, then the request counter through a bijection (unique within the
/// process for 2^64 requests) — no random draw and no allocation per digit on the hot path.
fn fresh_request_id() -> HeaderValue {
    let [prefix, key] = *REQUEST_ID_SEED;
    let n = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    // An odd multiplier and an xor are both invertible modulo 2^64.
    let scrambled = (n ^ key)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(29)
        ^ key;
    let mut out = [0u8; 24];
    let digits = b"0123456789abcdef";
    let value = (u128::from(prefix as u32) << 64) | u128::from(scrambled);
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = digits[((value >> (4 * (23 - i))) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// Seconds since the epoch; a clock before 1970 counts as 0 (every token then looks not-yet-valid: fail closed).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Rules C, B2–B8, D, G: from the raw token to a [`VerifiedToken`], refetching the issuer's keys once if the
/// token names a `kid` the cached set does not hold (B5). A token verified before with the issuer's current key set
/// comes from the cache: only `exp`/`nbf` are checked again.
pub async fn authenticate(
    snapshot: &Snapshot,
    raw: &str,
    now: u64,
    metrics: &Metrics,
) -> Result<Arc<VerifiedToken>, TokenError> {
    let settings = &snapshot.validation;
    let leeway = settings.leeway_secs;
    if let Some(hit) = snapshot.token_cache.get(raw) {
        let current = snapshot
            .keys
            .stores
            .get(hit.store())
            .and_then(|s| s.current());
        if current.is_some_and(|keys| hit.verified_with(&keys)) {
            let (now_f, leeway_f) = (now as f64, leeway as f64);
            if now_f >= hit.token.expires_at + leeway_f {
                snapshot.token_cache.remove(raw);
                return Err(TokenError::Expired);
            }
            if hit.not_before().is_some_and(|nbf| now_f < nbf - leeway_f) {
                return Err(TokenError::NotYetValid);
            }
            metrics.cache(true);
            return Ok(hit.token);
        }
        // The key set changed since: verify again from scratch.
        snapshot.token_cache.remove(raw);
    }

    metrics.cache(false);
    let jws = token::parse(raw, settings)?;
    let iss = jws.issuer()?;
    let matches: Vec<_> = snapshot.keys.by_issuer(iss).collect();
    let Some((store, keys)) = matches.first() else {
        // B3, B6: an issuer nobody configured, or one whose authority has not answered yet.
        return Err(TokenError::UnknownIssuer);
    };
    let keys = match jws.verify_signature(keys) {
        // Boxed: the refetch (an HTTP exchange) is a large future that requests with a known kid never run.
        Err(TokenError::UnknownKid) => match Box::pin(store.refetch_for_unknown_kid()).await {
            Some(fresh) => {
                jws.verify_signature(&fresh)?;
                fresh
            }
            None => return Err(TokenError::UnknownKid),
        },
        other => other.map(|()| keys.clone())?,
    };
    let exp = jws.check_times(now, leeway)?;
    let roles: Vec<AuthorityRole> = matches.iter().map(|(s, _)| s.role).collect();
    let verified = token::identify(&jws, &roles, &snapshot.config, settings, exp)?;
    let verified = Arc::new(snapshot.token_cache.share_class(verified));
    if let Some(index) = snapshot
        .keys
        .stores
        .iter()
        .position(|s| Arc::ptr_eq(s, store))
    {
        let entry = CachedToken::new(
            verified.clone(),
            index,
            jws.not_before(),
            &keys,
            now,
            leeway,
            snapshot.token_cache.ttl,
        );
        snapshot.token_cache.insert(raw, entry);
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_request_ids_are_distinct_hex_and_a_sane_client_id_is_kept() {
        let ids: std::collections::HashSet<String> = (0..10_000)
            .map(|_| {
                let id = request_id(&http::HeaderMap::new());
                let s = id.to_str().expect("ascii").to_string();
                assert_eq!(s.len(), 24, "{s}");
                assert!(s.bytes().all(|b| b.is_ascii_hexdigit()), "{s}");
                s
            })
            .collect();
        assert_eq!(ids.len(), 10_000);

        let mut headers = http::HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        assert_ne!(request_id(&headers), "has space");
    }
}
