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
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::{Request, Response};
use hyper::body::Incoming;

use crate::body::ProxyBody;
use crate::config::AuthorityRole;
use crate::error::{RequestError, TokenError};
use crate::forward::{strip_identity_headers, Upstream};
use crate::smart;
use crate::state::{SharedState, Snapshot};
use crate::token::{self, VerifiedToken};
use crate::token_cache::CachedToken;

/// Everything a connection needs to serve requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub state: SharedState,
    pub upstream: Arc<Upstream>,
    /// Whether the listener is TLS (for `X-Forwarded-Proto`).
    pub tls: bool,
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
        strip_identity_headers(req.headers_mut());
        let snapshot = self.state.load();

        let mut who: Option<(AuthorityRole, Option<String>)> = None;
        let result = self.process(req, client, &snapshot, &mut who).await;
        let (provider, client_id) = match &who {
            Some((AuthorityRole::Primary, c)) => ("primary".to_string(), c.clone()),
            Some((AuthorityRole::Smart(i), c)) => (format!("smart[{i}]"), c.clone()),
            None => ("-".to_string(), None),
        };
        let latency_us = started.elapsed().as_micros() as u64;
        match result {
            Ok(response) => {
                tracing::info!(
                    %method,
                    status = response.status().as_u16(),
                    outcome = "forwarded",
                    provider,
                    client_id = client_id.as_deref().unwrap_or("-"),
                    latency_us,
                    "request"
                );
                response
            }
            Err(error) => {
                let response = error.into_response_logged(
                    &method,
                    &provider,
                    client_id.as_deref(),
                    latency_us,
                );
                response
            }
        }
    }

    async fn process(
        &self,
        req: Request<Incoming>,
        client: SocketAddr,
        snapshot: &Snapshot,
        who: &mut Option<(AuthorityRole, Option<String>)>,
    ) -> Result<Response<ProxyBody>, RequestError> {
        // F1: capability statement and SMART configuration need no token.
        if smart::is_public(req.method(), req.uri().path()) {
            return self.upstream.forward(req, None, client, self.tls).await;
        }
        // H1: the token travels in the Authorization header only.
        if token::query_carries_access_token(req.uri().query()) {
            return Err(RequestError::InvalidRequest(
                "access_token in the query is not accepted; use the Authorization header",
            ));
        }
        let raw = token::bearer_token(req.headers(), snapshot.validation.max_token_bytes)?;
        let verified = authenticate(snapshot, raw, unix_now()).await?;
        *who = Some((verified.role, verified.client_id.clone()));
        let line = smart::RequestLine {
            method: req.method(),
            path: req.uri().path(),
            query: req.uri().query(),
        };
        let decision = smart::authorize(&verified, line, &snapshot.smart)?;
        if let smart::Decision::Rewrite { path_and_query, .. } = &decision {
            // The path only: query values carry patient data.
            tracing::debug!(
                rewritten_path = path_and_query.split('?').next().unwrap_or(""),
                "confined by rewrite"
            );
        }
        self.upstream
            .forward_decided(req, &verified, decision, client, self.tls)
            .await
    }
}

impl RequestError {
    /// Log the refusal once, at the end of the request, then build the response.
    fn into_response_logged(
        self,
        method: &http::Method,
        provider: &str,
        client_id: Option<&str>,
        latency_us: u64,
    ) -> Response<ProxyBody> {
        let status = self.status().as_u16();
        let reason = self.reason();
        match &self {
            RequestError::UpstreamUnavailable(source) => tracing::warn!(
                %method, status, outcome = reason, provider, client_id = client_id.unwrap_or("-"),
                latency_us, error = %source, "request"
            ),
            _ => tracing::info!(
                %method, status, outcome = reason, provider, client_id = client_id.unwrap_or("-"),
                latency_us, detail = %self, "request"
            ),
        }
        self.into_response()
    }
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
) -> Result<Arc<VerifiedToken>, TokenError> {
    let settings = &snapshot.validation;
    let leeway = settings.leeway_secs;
    if let Some(hit) = snapshot.token_cache.get(raw) {
        let current = snapshot
            .keys
            .stores
            .get(hit.store)
            .and_then(|s| s.current());
        if current.is_some_and(|keys| hit.verified_with(&keys)) {
            let (now_f, leeway_f) = (now as f64, leeway as f64);
            if now_f >= hit.token.expires_at + leeway_f {
                snapshot.token_cache.remove(raw);
                return Err(TokenError::Expired);
            }
            if hit.not_before.is_some_and(|nbf| now_f < nbf - leeway_f) {
                return Err(TokenError::NotYetValid);
            }
            return Ok(hit.token.clone());
        }
        // The key set changed since: verify again from scratch.
        snapshot.token_cache.remove(raw);
    }

    let jws = token::parse(raw, settings)?;
    let iss = jws.issuer()?;
    let matches: Vec<_> = snapshot.keys.by_issuer(iss).collect();
    let Some((store, keys)) = matches.first() else {
        // B3, B6: an issuer nobody configured, or one whose authority has not answered yet.
        return Err(TokenError::UnknownIssuer);
    };
    let keys = match jws.verify_signature(keys) {
        Err(TokenError::UnknownKid) => match store.refetch_for_unknown_kid().await {
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
    let verified = Arc::new(token::identify(
        &jws,
        &roles,
        &snapshot.config,
        settings,
        exp,
    )?);
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
