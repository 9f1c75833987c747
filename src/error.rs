//! Request errors and their single mapping to HTTP (rules H2–H8).
//!
//! In: a [`RequestError`] from any stage. Out: a response with the status, the RFC 6750 `WWW-Authenticate`
//! challenge and an `application/fhir+json` OperationOutcome. Nothing else in the crate builds error responses,
//! and nothing here logs: the request span records the [`RequestError::reason`] once.
//! A description never contains the token or any value copied from it.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

use crate::body::{full, ProxyBody};

/// The realm of every challenge (H2, H6).
pub const REALM: &str = "fhir-jwt-proxy";

/// Why a token is not acceptable: always 401 `invalid_token` (section C, D1–D5, B2–B8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token exceeds the maximum size of {0} bytes")]
    TooLarge(usize),
    #[error("token is not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("token {0} has a duplicate member name")]
    DuplicateMember(&'static str),
    #[error("alg is not in the allow-list")]
    AlgNotAllowed,
    #[error("crit header names an extension the proxy does not understand")]
    CritNotUnderstood,
    #[error("typ is not an accepted access-token type")]
    TypNotAllowed,
    #[error("iss is missing or not a string")]
    MissingIssuer,
    #[error("iss is not a trusted issuer")]
    UnknownIssuer,
    #[error("the keys of this issuer are not available yet (its identity provider has not answered); try again shortly")]
    KeysUnavailable,
    #[error("kid matches no signing key of the issuer")]
    UnknownKid,
    #[error("token has no kid and the issuer has more than one signing key")]
    AmbiguousKey,
    #[error("the key for kid does not fit alg")]
    KeyAlgMismatch,
    #[error("signature is invalid")]
    BadSignature,
    #[error("exp is missing")]
    MissingExp,
    #[error("{0} is not a number")]
    BadTimeClaim(&'static str),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    #[error("iat is in the future")]
    IssuedInFuture,
    #[error("aud is missing or not a string or array of strings")]
    BadAudience,
    #[error("aud does not match the primary audience")]
    PrimaryAudienceMismatch,
    #[error("aud does not match application {0}")]
    AudienceMismatch(String),
    #[error("azp, appid, client_id and cid are missing")]
    MissingClientId,
    #[error("azp/appid/client_id/cid matches no application of this identity provider")]
    UnknownClient,
    #[error("scp is missing")]
    MissingScopes,
    #[error("scp is not a string or array of strings")]
    BadScopes,
    #[error("{0} is not a string that can be carried in a header")]
    UnsafeClaim(&'static str),
    #[error("{0}")]
    BadScope(crate::scope::ScopeError),
    #[error("mapped claim for {0} is missing or not usable as a header value")]
    MappedClaimMissing(String),
    #[error("fhirUser is missing")]
    MissingFhirUser,
    #[error("fhirUser is not a reference to a Patient, Practitioner, PractitionerRole, RelatedPerson or Person")]
    BadFhirUser,
}

impl TokenError {
    /// A short, bounded label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        use TokenError::*;
        match self {
            TooLarge(_) => "token_too_large",
            Malformed(_) => "malformed",
            DuplicateMember(_) => "duplicate_member",
            AlgNotAllowed => "alg_not_allowed",
            CritNotUnderstood => "crit",
            TypNotAllowed => "typ",
            MissingIssuer => "iss_missing",
            UnknownIssuer => "iss_unknown",
            KeysUnavailable => "keys_unavailable",
            UnknownKid => "kid_unknown",
            AmbiguousKey => "kid_ambiguous",
            KeyAlgMismatch => "key_alg_mismatch",
            BadSignature => "signature",
            MissingExp => "exp_missing",
            BadTimeClaim(_) => "time_claim_type",
            Expired => "expired",
            NotYetValid => "nbf",
            IssuedInFuture => "iat_future",
            BadAudience => "aud_type",
            PrimaryAudienceMismatch | AudienceMismatch(_) => "aud_mismatch",
            MissingClientId => "client_missing",
            UnknownClient => "client_unknown",
            MissingScopes => "scp_missing",
            BadScopes => "scp_type",
            UnsafeClaim(_) => "claim_unsafe",
            BadScope(_) => "scp_malformed",
            MappedClaimMissing(_) => "mapped_claim_missing",
            MissingFhirUser => "fhiruser_missing",
            BadFhirUser => "fhiruser_invalid",
        }
    }
}

pub use crate::rule_id::without_rule_id;

/// Why a valid token may not make this request: 403 `insufficient_scope` (H4, F4, D6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    #[error(
        "application {client} may only read (allowedDataActions is Read); {method} is not allowed"
    )]
    ReadOnly { client: String, method: String },
    #[error("fhirUser is not a resource of this FHIR server")]
    FhirUserOutsideServer,
    #[error(transparent)]
    Unclassifiable(crate::fhir::request::Unclassifiable),
    #[error("the token carries no SMART clinical scope")]
    NoClinicalScope,
    #[error("{interaction} needs scope {needed}: {}", without_rule_id(why))]
    InsufficientScope {
        interaction: &'static str,
        /// What would have been needed, for the challenge's `scope` parameter.
        needed: String,
        why: &'static str,
    },
    #[error("{}", without_rule_id(.0))]
    NotConfinable(&'static str),
    /// Q19: the client's own copy of a parameter the proxy uses to confine the request.
    #[error("{0}")]
    ConfiningParameter(&'static str),
    #[error("this operation is not available with SMART scopes through this proxy: $export (system/ scopes), Patient/<id>/$everything, Observation/$lastn, DocumentReference/$docref and the terminology operations ($expand, $lookup, $validate-code, $translate, $subsumes) are")]
    OperationNotAllowed,
    /// A continuation (`_getpages`, `ct`) this token was not handed: another user's search, or an expired one.
    #[error("this page of results was not produced for this token, or has expired; run the search again")]
    UnknownPage,
    /// Q10: no role of the token grants the data action the request needs.
    #[error("{interaction} needs the data action {action}, which no role of this token grants")]
    MissingAction {
        action: &'static str,
        interaction: &'static str,
    },
}

impl Forbidden {
    pub fn reason(&self) -> &'static str {
        match self {
            Forbidden::ReadOnly { .. } => "read_only",
            Forbidden::FhirUserOutsideServer => "fhiruser_foreign",
            Forbidden::Unclassifiable(_) => "unclassifiable",
            Forbidden::NoClinicalScope => "no_clinical_scope",
            Forbidden::InsufficientScope { .. } => "insufficient_scope",
            Forbidden::NotConfinable(_) => "not_confinable",
            Forbidden::ConfiningParameter(_) => "confining_param",
            Forbidden::OperationNotAllowed => "operation",
            Forbidden::MissingAction { .. } => "role_missing_action",
            Forbidden::UnknownPage => "page_unknown",
        }
    }
}

/// Why a batch or transaction Bundle cannot be authorized entry by entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error(
        "the body of a POST to the server's root must be a batch or transaction Bundle in JSON"
    )]
    NotABundle,
    #[error("an entry of the batch or transaction has no request.method and request.url the proxy can classify")]
    BadEntry,
}

/// Every way a request can end without the upstream's answer.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// H2: no `Authorization` header at all.
    #[error("no bearer token")]
    MissingCredentials,
    /// H2 as well (RFC 6750 §3.1: an unsupported scheme is no authentication information).
    #[error("only the Bearer authentication scheme is accepted")]
    UnsupportedScheme,
    /// H1/H5: the credentials are not in a form the proxy accepts.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// H3.
    #[error(transparent)]
    InvalidToken(#[from] TokenError),
    /// H4.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// H8: a resource outside the user's compartment (answered as if it did not exist, as FHIR servers do).
    #[error("resource not found")]
    NotFound,
    /// The client's request body broke off or had invalid framing while it was streamed upstream: 400.
    #[error("the request body is malformed or was cut off")]
    MalformedBody,
    /// Q10: a batch or transaction the proxy must read to authorize by role is not one it can read: 400.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// Q10: a batch or transaction larger than the proxy reads to authorize it by role: 413.
    #[error("a batch or transaction larger than 8 MiB cannot be authorized by role; split it")]
    BodyTooLarge,
    /// The upstream refused or broke the connection: 502.
    #[error("upstream unavailable")]
    UpstreamUnavailable(#[source] crate::body::BoxError),
    /// The identity provider's discovery document, needed for an answer the proxy gives itself, is not there: 503.
    #[error("the identity provider's configuration is not available yet; try again shortly")]
    ProviderUnavailable,
    /// The upstream did not answer in time: 504.
    #[error("upstream timed out")]
    UpstreamTimeout,
}

impl RequestError {
    /// A short, bounded label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            RequestError::MissingCredentials => "no_token",
            RequestError::UnsupportedScheme => "scheme",
            RequestError::InvalidRequest(_) => "invalid_request",
            RequestError::InvalidToken(e) => e.reason(),
            RequestError::Forbidden(e) => e.reason(),
            RequestError::NotFound => "not_in_compartment",
            RequestError::MalformedBody => "malformed_body",
            RequestError::Bundle(_) => "bundle_unreadable",
            RequestError::BodyTooLarge => "body_too_large",
            RequestError::UpstreamUnavailable(_) => "upstream_unavailable",
            RequestError::UpstreamTimeout => "upstream_timeout",
            RequestError::ProviderUnavailable => "provider_unavailable",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::MissingCredentials
            | RequestError::UnsupportedScheme
            | RequestError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            RequestError::InvalidRequest(_)
            | RequestError::MalformedBody
            | RequestError::Bundle(_) => StatusCode::BAD_REQUEST,
            RequestError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::Forbidden(_) => StatusCode::FORBIDDEN,
            RequestError::NotFound => StatusCode::NOT_FOUND,
            RequestError::UpstreamUnavailable(_) => StatusCode::BAD_GATEWAY,
            RequestError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            RequestError::ProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The one place a request error becomes a response.
    pub fn into_response(self) -> Response<ProxyBody> {
        let status = self.status();
        let description = sanitize(&self.to_string());
        let (challenge, issue_code) = match &self {
            RequestError::MissingCredentials | RequestError::UnsupportedScheme => {
                (Some(format!("Bearer realm=\"{REALM}\"")), "login")
            }
            RequestError::InvalidRequest(_) => (
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_request\", error_description=\"{description}\""
                )),
                "invalid",
            ),
            RequestError::InvalidToken(e) => (
                Some(format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{description}\""
                )),
                if *e == TokenError::Expired { "expired" } else { "unknown" },
            ),
            RequestError::Forbidden(f) => {
                // H4, H6: `scope` names what would have been needed, once.
                let scope = match f {
                    Forbidden::InsufficientScope { needed, .. } => format!(", scope=\"{}\"", sanitize(needed)),
                    _ => String::new(),
                };
                (
                    Some(format!(
                        "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", error_description=\"{description}\"{scope}"
                    )),
                    "forbidden",
                )
            }
            RequestError::NotFound => (None, "not-found"),
            RequestError::MalformedBody | RequestError::Bundle(_) => (None, "structure"),
            RequestError::BodyTooLarge => (None, "too-costly"),
            RequestError::UpstreamUnavailable(_) => (None, "transient"),
            RequestError::UpstreamTimeout => (None, "timeout"),
            RequestError::ProviderUnavailable => (None, "transient"),
        };
        let mut response = operation_outcome(status, issue_code, &description);
        if let Some(challenge) = challenge {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// A FHIR R4 OperationOutcome with one issue (H7).
pub fn operation_outcome(status: StatusCode, code: &str, diagnostics: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": code, "diagnostics": diagnostics }]
    });
    let mut response = Response::new(full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// H3: printable ASCII without `"` or `\`.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h6_description_is_printable_ascii_without_quotes() {
        assert_eq!(sanitize("a\"b\\c\nd é"), "a'b'c?d ?");
    }

    #[test]
    fn h2_no_credentials_challenge_has_no_error() {
        let r = RequestError::MissingCredentials.into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let c = r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap_or_default();
        assert_eq!(c, "Bearer realm=\"fhir-jwt-proxy\"");
    }

    #[test]
    fn h3_invalid_token_names_the_check() {
        let r = RequestError::InvalidToken(TokenError::AudienceMismatch("portal".into()))
            .into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let c = r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap_or_default();
        assert!(c.contains("error=\"invalid_token\""), "{c}");
        assert!(c.contains("aud does not match application portal"), "{c}");
    }

    #[test]
    fn h4_forbidden_is_insufficient_scope() {
        let r = RequestError::Forbidden(Forbidden::ReadOnly {
            client: "a".into(),
            method: "POST".into(),
        })
        .into_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let c = r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap_or_default();
        assert!(c.contains("error=\"insufficient_scope\""), "{c}");
    }
}
