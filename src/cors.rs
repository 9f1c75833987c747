//! CORS for browser apps (a stage before authentication), configured by Azure's `corsConfiguration`.
//!
//! In: the request's `Origin` (and, for a preflight, `Access-Control-Request-Method`/`-Headers`) and the validated
//! [`CorsSettings`]. Out: the proxy's own answer to a preflight (never forwarded, no token needed), and the headers
//! every answer to an allowed origin carries — the proxy's own refusals and errors included, so an app can read a
//! 401's `WWW-Authenticate`. Another origin gets no CORS header at all. Without settings nothing changes.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode};

use crate::body::{empty, ProxyBody};
use crate::config::cors::{AllowList, AllowedOrigins, CorsSettings};

/// What an app needs to read from answers besides the CORS-safelisted headers.
const EXPOSED: &str =
    "WWW-Authenticate, Location, ETag, Last-Modified, Content-Location, X-Request-Id";

/// Is this a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)?
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The proxy's answer to a preflight: 204 with the permissions when the origin, method and headers are allowed;
/// 403 without any CORS header otherwise (the browser then refuses the request).
pub fn preflight(settings: &CorsSettings, headers: &HeaderMap) -> Response<ProxyBody> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let method = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| Method::from_bytes(v.as_bytes()).ok());
    let requested: Vec<HeaderName> = headers
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| HeaderName::from_bytes(h.trim().as_bytes()).ok())
        .collect();
    let method_ok = method.as_ref().is_some_and(|m| match &settings.methods {
        AllowList::Any => true,
        AllowList::List(list) => list.contains(m),
    });
    let headers_ok = match &settings.headers {
        AllowList::Any => true,
        AllowList::List(list) => requested.iter().all(|h| list.contains(h)),
    };
    let mut response = Response::new(empty());
    if !settings.allows(origin) || !method_ok || !headers_ok {
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    allow_origin(settings, origin, h);
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(m) = method.and_then(|m| HeaderValue::from_str(m.as_str()).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m);
    }
    if !requested.is_empty() {
        let list = requested
            .iter()
            .map(HeaderName::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(v) = HeaderValue::from_str(&list) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
    }
    if let Some(age) = settings.max_age {
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
    }
    response
}

/// Add the CORS headers to an answer for `origin` (the request's `Origin`), when it is allowed. The upstream's own
/// CORS headers are replaced: the file decides.
pub fn decorate(settings: &CorsSettings, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
    for name in [
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
    ] {
        headers.remove(name);
    }
    // The answer differs by Origin: caches must know, whatever this request's origin was.
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin.and_then(|o| o.to_str().ok()) else {
        return;
    };
    if !settings.allows(origin) {
        return;
    }
    allow_origin(settings, origin, headers);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
}

/// `Access-Control-Allow-Origin` (`*` only for a wildcard without credentials), credentials, `Vary: Origin`.
fn allow_origin(settings: &CorsSettings, origin: &str, headers: &mut HeaderMap) {
    let value = match (&settings.origins, settings.allow_credentials) {
        (AllowedOrigins::Any, false) => HeaderValue::from_static("*"),
        _ => match HeaderValue::from_str(origin) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if settings.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}
