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

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;

use crate::audit::{now_rfc3339, AuditRecord, Auditor};
use crate::authenticate::authenticate;
use crate::body::ProxyBody;
use crate::config::AuthorityRole;
use crate::cors;
use crate::error::RequestError;
use crate::forward::{strip_proxy_headers, Upstream};
use crate::links;
use crate::metrics::Metrics;
use crate::pages::{self, PageBindings};
use crate::smart;
use crate::state::{SharedState, Snapshot};
use crate::token::{self, VerifiedToken};
use crate::upstream_pool::RequestBody;
use http_body_util::{BodyExt, Either, Limited};

/// Metrics and log labels for a token without a client id, and for one no SMART application is configured with.
static NO_CLIENT: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("-"));
static OTHER_CLIENT: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("other"));

pub use crate::clock::unix_now;
use crate::request_id::request_id;
pub use crate::request_id::REQUEST_ID;

/// The one log line of a request, at `level`: its fields are listed here once, whatever the outcome (bounded values
/// only: never the token, the query, a body or a path id). Sent by [`crate::log_format::emit_request_line`].
macro_rules! request_line {
    ($level:ident, $rid:expr, $method:expr, $trace:expr, $status:expr, $outcome:expr, $latency_us:expr $(, $extra:ident = %$value:expr)?) => {
        crate::log_format::emit_request_line!(
            $level,
            &crate::log_format::RequestLine {
                request_id: $rid,
                method: $method.as_str(),
                interaction: $trace.interaction,
                resource_type: $trace.resource_type,
                status: $status,
                outcome: $outcome,
                provider: $trace.provider,
                client_id: &$trace.client_id,
                roles: $trace.roles.as_deref().unwrap_or("-"),
                trace_id: $trace.trace_id.as_str(),
                latency_us: $latency_us,
                extra: None $(.or(Some((stringify!($extra), &$value as &dyn std::fmt::Display))))?,
            }
        )
    };
}

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
    /// Continuation tokens handed out in answers, by who received them.
    pub pages: PageBindings,
}

impl Proxy {
    /// A copy for one worker thread: the same shared state, caches and metrics, its own upstream connections.
    pub fn for_worker(&self) -> Proxy {
        Proxy {
            state: self.state.clone(),
            upstream: Arc::new(self.upstream.for_worker()),
            metrics: self.metrics.clone(),
            audit: self.audit.clone(),
            tls: self.tls,
            pages: self.pages.clone(),
        }
    }
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
    /// The W3C trace this request belongs to.
    trace_id: String,
}

impl Proxy {
    /// Serve one request. Infallible: every outcome is a response.
    // An `async fn` would hold its arguments twice (see `Proxy::process`).
    #[allow(clippy::manual_async_fn)]
    pub fn handle(
        &self,
        mut req: Request<Incoming>,
        client: SocketAddr,
    ) -> impl Future<Output = Response<ProxyBody>> + '_ {
        async move {
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
            let trace_id = crate::trace_context::continue_trace(req.headers_mut());
            let origin = req.headers().get(http::header::ORIGIN).cloned();
            if let Some(cors_settings) = &snapshot.config.cors {
                // A browser's preflight is the proxy's to answer: no token, never forwarded.
                if cors::is_preflight(&method, req.headers()) {
                    let mut response = cors::preflight(cors_settings, req.headers());
                    let status = response.status().as_u16();
                    let outcome = if status == 204 {
                        "preflight"
                    } else {
                        "preflight_refused"
                    };
                    self.metrics
                        .request(outcome, status, "-", &NO_CLIENT, started.elapsed());
                    tracing::info!(request_id = request_id.to_str().unwrap_or("-"), %method, status, outcome, "request");
                    response.headers_mut().insert(REQUEST_ID, request_id);
                    return response;
                }
            }

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
                trace_id,
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
                    request_line!(info, rid, method, trace, status, "forwarded", latency_us);
                    (response, "forwarded")
                }
                Err(error) => {
                    let (status, reason) = (error.status().as_u16(), error.reason());
                    self.metrics.request(
                        reason,
                        status,
                        trace.provider,
                        &trace.client_id,
                        own_work,
                    );
                    if let RequestError::Forbidden(crate::error::Forbidden::MissingAction {
                        action,
                        ..
                    }) = &error
                    {
                        self.metrics.role_refusal(action);
                    }
                    match &error {
                        RequestError::UpstreamUnavailable(source) => {
                            request_line!(warn, rid, method, trace, status, reason, latency_us, error = %source)
                        }
                        _ => {
                            request_line!(info, rid, method, trace, status, reason, latency_us, detail = %error)
                        }
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
            if let Some(cors_settings) = &snapshot.config.cors {
                cors::decorate(cors_settings, origin.as_ref(), response.headers_mut());
            }
            response.headers_mut().insert(REQUEST_ID, request_id);
            response
        }
    }

    /// Not an `async fn` (nor are the stages it awaits on the way to the upstream): an `async fn`'s future keeps
    /// each argument twice, and the request is the largest of them.
    #[allow(clippy::manual_async_fn)]
    fn process<'a>(
        &'a self,
        req: Request<Incoming>,
        client: SocketAddr,
        snapshot: &'a Snapshot,
        trace: &'a mut Trace,
    ) -> impl Future<Output = Result<Response<ProxyBody>, RequestError>> + 'a {
        async move {
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
                // Some servers honour a continuation on any path: without a token, none is forwarded.
                let continuation = classified.as_ref().map_or(true, |r| {
                    r.query.named("_getpages").next().is_some()
                        || r.query.named("ct").next().is_some()
                });
                if continuation && req.uri().query().is_some() {
                    return Err(crate::error::Forbidden::UnknownPage.into());
                }
                let launch = snapshot
                    .config
                    .smart_configuration
                    .as_ref()
                    .map(|settings| {
                        let discovery = snapshot
                            .keys
                            .stores
                            .iter()
                            .find(|s| s.role == AuthorityRole::Smart(settings.provider))
                            .and_then(|s| s.current())
                            .and_then(|set| set.discovery.clone());
                        (settings, discovery)
                    });
                let head = req.method() == http::Method::HEAD;
                return match (req.uri().path(), launch) {
                    // The proxy answers for the identity provider the file names: apps launch against the proxy.
                    ("/.well-known/smart-configuration", Some((settings, discovery))) => {
                        let document = discovery
                            .and_then(|d| crate::smart_launch::smart_configuration(&d, settings))
                            .ok_or(RequestError::ProviderUnavailable)?;
                        Ok(json_answer(&document, head))
                    }
                    ("/metadata", Some((settings, discovery))) => {
                        let response = self
                            .forward_timed(
                                req.map(Either::Left),
                                None,
                                smart::Decision::Forward,
                                client,
                            )
                            .await?;
                        let endpoints = discovery.and_then(|d| {
                            crate::smart_launch::smart_configuration(&d, settings).map(|c| {
                                (
                                    c["authorization_endpoint"]
                                        .as_str()
                                        .unwrap_or("")
                                        .to_string(),
                                    c["token_endpoint"].as_str().unwrap_or("").to_string(),
                                )
                            })
                        });
                        match endpoints {
                            Some((authorize, token)) if !head => {
                                with_security(response, &authorize, &token).await
                            }
                            _ => Ok(response),
                        }
                    }
                    _ => {
                        self.forward_timed(
                            req.map(Either::Left),
                            None,
                            smart::Decision::Forward,
                            client,
                        )
                        .await
                    }
                };
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
            let public = PublicBase::of(snapshot, &req, self.tls);
            let head = req.method() == http::Method::HEAD;
            let bundle_answer = classified
                .as_ref()
                .is_ok_and(|r| returns_bundle(&r.interaction));
            let response = self
                .forward_timed(req, Some(&verified), decision, client)
                .await?;
            // Links under the upstream's base are presented under the proxy's; continuation tokens in them are bound
            // to this token (SMART tokens: theirs is the only kind whose continuations are checked).
            let answer = Presented {
                upstream: self.upstream.base().as_str().trim_end_matches('/'),
                public,
                bundle: bundle_answer && !head,
                who: verified.smart().then_some(&*verified),
                pages: &self.pages,
            };
            answer.present(response).await
        }
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
        // A continuation is only for the token it was handed to (crate::pages).
        let continuation_bound = classified.as_ref().is_ok_and(|r| {
            let tokens: Vec<&str> = r
                .query
                .params
                .iter()
                .filter(|p| p.is("_getpages") || p.is("ct"))
                .map(|p| p.value.as_str())
                .collect();
            !tokens.is_empty() && self.pages.bound(&tokens, &pages::identity(&verified))
        });
        let decision = smart::authorize_classified(
            &verified,
            line,
            classified,
            &snapshot.smart,
            continuation_bound,
        )?;
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

    // An `async fn` would hold its arguments twice (see `Proxy::process`).
    #[allow(clippy::manual_async_fn)]
    fn forward_timed<'a>(
        &'a self,
        req: Request<RequestBody>,
        identity: Option<&'a VerifiedToken>,
        decision: smart::Decision,
        client: SocketAddr,
    ) -> impl Future<Output = Result<Response<ProxyBody>, RequestError>> + 'a {
        async move {
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
}

/// A JSON document the proxy answers itself.
fn json_answer(document: &serde_json::Value, head: bool) -> Response<ProxyBody> {
    let bytes = bytes::Bytes::from(document.to_string());
    let len = bytes.len();
    let mut response = Response::new(if head {
        crate::body::empty()
    } else {
        crate::body::full(bytes)
    });
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    response
}

/// The largest CapabilityStatement the proxy reads to add SMART's security section; a larger one passes unchanged.
const MAX_CAPABILITY_BYTES: usize = 4 * 1024 * 1024;

/// The server's CapabilityStatement with SMART's `oauth-uris` and service in `rest[].security`; anything else (not
/// JSON, not a CapabilityStatement, not 200, too large) passes unchanged.
async fn with_security(
    response: Response<ProxyBody>,
    authorize: &str,
    token: &str,
) -> Result<Response<ProxyBody>, RequestError> {
    let json = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    let small = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_none_or(|n| n <= MAX_CAPABILITY_BYTES);
    if !json || !small || response.status() != http::StatusCode::OK {
        return Ok(response);
    }
    let (mut parts, body) = response.into_parts();
    let buffer = crate::forward::read_answer(body, MAX_CAPABILITY_BYTES).await?;
    let rewritten = serde_json::from_slice::<serde_json::Value>(&buffer)
        .ok()
        .and_then(|mut v| {
            crate::smart_launch::add_security(&mut v, authorize, token).then(|| v.to_string())
        });
    let bytes = match rewritten {
        Some(text) => bytes::Bytes::from(text),
        None => bytes::Bytes::from(buffer),
    };
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(bytes.len()),
    );
    Ok(Response::from_parts(parts, crate::body::full(bytes)))
}

/// Interactions whose answer is a Bundle with links to present (and continuation tokens to bind).
fn returns_bundle(interaction: &crate::fhir::request::Interaction) -> bool {
    use crate::fhir::request::Interaction as I;
    matches!(
        interaction,
        I::SearchType
            | I::SearchSystem
            | I::SearchCompartment { .. }
            | I::SearchPost
            | I::Continuation
            | I::HistoryInstance
            | I::HistoryType
            | I::HistorySystem
            | I::Batch
            | I::Operation(_)
    )
}

/// The base URL the client used: `--fhir-base-url` when configured (behind a gateway that changes the host or adds
/// a path), else this listener's scheme and the request's `Host` (or `:authority`). `X-Forwarded-*` from clients is
/// not trusted for it. Kept as parts: most answers have no link to present, and then no string is built.
struct PublicBase<'a> {
    configured: Option<&'a url::Url>,
    host: Option<http::HeaderValue>,
    tls: bool,
}

impl<'a> PublicBase<'a> {
    fn of<B>(snapshot: &'a Snapshot, req: &Request<B>, tls: bool) -> Self {
        let host = req.headers().get(http::header::HOST).cloned().or_else(|| {
            req.uri()
                .authority()
                .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
        });
        PublicBase {
            configured: snapshot.smart.fhir_base_url.as_ref(),
            host,
            tls,
        }
    }

    fn url(&self) -> String {
        if let Some(base) = self.configured {
            return base.as_str().trim_end_matches('/').to_string();
        }
        let host = self
            .host
            .as_ref()
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("{}://{host}", if self.tls { "https" } else { "http" })
    }
}

/// The largest Bundle the proxy reads to present its links; a larger one passes unchanged.
const MAX_PRESENTED_BYTES: usize = 32 * 1024 * 1024;

/// An upstream answer to present: `Location`/`Content-Location` under the public base, and for a JSON Bundle its
/// links and `fullUrl`s, binding its continuation tokens to `who` (a SMART token).
struct Presented<'a> {
    /// The upstream's base, without a trailing `/`.
    upstream: &'a str,
    public: PublicBase<'a>,
    /// The answer is a Bundle worth reading (a search, history, operation or batch, not HEAD).
    bundle: bool,
    who: Option<&'a VerifiedToken>,
    pages: &'a PageBindings,
}

impl Presented<'_> {
    async fn present(
        self,
        mut response: Response<ProxyBody>,
    ) -> Result<Response<ProxyBody>, RequestError> {
        let headers = response.headers();
        let located = headers.contains_key(http::header::LOCATION)
            || headers.contains_key(http::header::CONTENT_LOCATION);
        let json = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let too_large = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_PRESENTED_BYTES);
        let read_bundle = self.bundle && json && !too_large && response.status().is_success();
        if !located && !read_bundle {
            return Ok(response);
        }
        let public = self.public.url();
        let rebase = links::Rebase {
            from: self.upstream,
            to: public.trim_end_matches('/'),
        };
        for name in [http::header::LOCATION, http::header::CONTENT_LOCATION] {
            let rewritten = response
                .headers()
                .get(&name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| rebase.url(v))
                .and_then(|v| http::HeaderValue::from_str(&v).ok());
            if let Some(v) = rewritten {
                response.headers_mut().insert(name, v);
            }
        }
        if !read_bundle {
            return Ok(response);
        }
        let (mut parts, body) = response.into_parts();
        let bytes =
            bytes::Bytes::from(crate::forward::read_answer(body, MAX_PRESENTED_BYTES).await?);
        let mut tokens = Vec::new();
        let rewritten = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(mut v) if v["resourceType"] == "Bundle" => {
                let changed = rebase.bundle(&mut v, &mut tokens);
                changed.then(|| serde_json::to_vec(&v).ok()).flatten()
            }
            _ => None,
        };
        if let (Some(who), false) = (self.who, tokens.is_empty()) {
            self.pages.bind(tokens, &pages::identity(who));
        }
        let bytes = rewritten.map(bytes::Bytes::from).unwrap_or(bytes);
        parts.headers.remove(http::header::TRANSFER_ENCODING);
        parts.headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(bytes.len()),
        );
        Ok(Response::from_parts(parts, crate::body::full(bytes)))
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
