//! Header names the proxy owns, and what may be put in a header: one list of each, used by the claim mapping
//! (which may not target them), the request stage (which strips client copies) and the forward stage (which sets
//! them). Pure; depends on nothing in the crate.

use http::HeaderName;

/// The headers through which the proxy tells the upstream who is calling. A client's own copies are removed
/// from every request before anything else happens, so the upstream can trust them.
pub static IDENTITY_HEADERS: [HeaderName; 5] = [
    HeaderName::from_static("x-fhir-user"),
    HeaderName::from_static("x-auth-subject"),
    HeaderName::from_static("x-auth-client-id"),
    HeaderName::from_static("x-auth-scopes"),
    HeaderName::from_static("x-auth-issuer"),
];

/// Q19: headers that can re-route a request or change its method on servers and frameworks that honour them.
/// Also the forwarding headers a server may build its base URL or the client's address from, besides the
/// `X-Forwarded-For`/`-Proto`/`-Host` the proxy sets itself.
pub static REROUTING_HEADERS: [HeaderName; 9] = [
    HeaderName::from_static("x-http-method-override"),
    HeaderName::from_static("x-http-method"),
    HeaderName::from_static("x-method-override"),
    HeaderName::from_static("x-original-url"),
    HeaderName::from_static("x-rewrite-url"),
    HeaderName::from_static("forwarded"),
    HeaderName::from_static("x-forwarded-prefix"),
    HeaderName::from_static("x-forwarded-port"),
    HeaderName::from_static("x-real-ip"),
];

/// Headers that may not be targets of a mapping: connection-specific, framing, routing, credentials, and the
/// proxy's own identity headers
/// ([`IDENTITY_HEADERS`], checked separately so the list exists once).
const RESERVED: [&str; 12] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
];

/// A header name a mapping may set, or why not.
pub fn mapped_header_name(name: &str) -> Result<HeaderName, &'static str> {
    let header =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| "is not a valid HTTP header name")?;
    if RESERVED.contains(&header.as_str())
        || IDENTITY_HEADERS.contains(&header)
        || REROUTING_HEADERS.contains(&header)
        || header.as_str().starts_with("x-forwarded-")
        || header.as_str() == "x-request-id"
    {
        return Err(
            "is a hop-by-hop, framing, credential or identity header the proxy manages itself",
        );
    }
    Ok(header)
}

/// A claim copied into an upstream header must not be able to break the header (no control characters).
pub fn header_safe(s: &str) -> bool {
    s.len() <= 4096 && !s.chars().any(char::is_control)
}
