//! Pure token validation: bearer extraction, JOSE header policy, signature, time, and the claims that say
//! which provider and application a token belongs to (rules H1, C1–C12, B2, B4, B7, B8, D1–D5, G1, Q2, Q7, Q8, Q17).
//!
//! In: request headers, the key set of the token's issuer, the validated config, and "now".
//! Out: a [`VerifiedToken`]. Errors: [`RequestError`] for transport defects (H1), [`TokenError`] for the token.
//! No I/O happens here: the caller looks the key set up (and refetches it on an unknown `kid`).

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::HeaderMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::claims::ClaimMapping;

use crate::config::{AuthorityRole, Config, PrimaryAuthorization};
use crate::error::{RequestError, TokenError};
use crate::headers::header_safe;
use crate::jwk::{Alg, KeySet};
use crate::scope::{self, GrantSet};

/// C11: default maximum size of an `Authorization` header value.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = crate::defaults::MAX_TOKEN_BYTES;

/// The settings validation needs besides the config.
#[derive(Debug, Clone, Copy)]
pub struct ValidationSettings {
    /// C7, Q15: seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway_secs: u64,
    /// Q8: require `typ` `at+jwt` (or `application/at+jwt`).
    pub require_at_jwt_typ: bool,
    /// Q10: overrides the file's `primaryAuthorization` (the `--primary-authorization` flag).
    pub primary_authorization: Option<PrimaryAuthorization>,
    /// C11.
    pub max_token_bytes: usize,
}

impl Default for ValidationSettings {
    fn default() -> Self {
        ValidationSettings {
            leeway_secs: crate::defaults::CLOCK_LEEWAY_SECS,
            require_at_jwt_typ: false,
            primary_authorization: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }
}

/// H1: the token of the one `Authorization: Bearer` header.
pub fn bearer_token(headers: &HeaderMap, max_token_bytes: usize) -> Result<&str, RequestError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(RequestError::MissingCredentials);
    };
    if values.next().is_some() {
        return Err(RequestError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    if value.len() > max_token_bytes {
        return Err(TokenError::TooLarge(max_token_bytes).into());
    }
    // Checked byte by byte once, through a table (a token is most of the request head); the slower questions
    // are only asked of a value that failed.
    let not_ascii = || RequestError::InvalidRequest("Authorization header is not ASCII");
    let bytes = value.as_bytes();
    let space = bytes.iter().position(|&b| b == b' ').unwrap_or(bytes.len());
    let (scheme, rest) = bytes.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        if value.to_str().is_err() {
            return Err(not_ascii());
        }
        // RFC 6750 §3.1: an unsupported scheme is "no authentication information": no error code.
        return Err(RequestError::UnsupportedScheme);
    }
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let token = &rest[start..];
    if token.is_empty() {
        return Err(RequestError::InvalidRequest(
            "Bearer scheme without a token",
        ));
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..body_len];
    if body.is_empty() || !is_b64token(body) {
        if value.to_str().is_err() {
            return Err(not_ascii());
        }
        return Err(RequestError::InvalidRequest(
            "bearer token has characters outside the b64token syntax",
        ));
    }
    // Only ASCII is left, so this cannot fail; mapped anyway rather than unwrapped.
    std::str::from_utf8(token).map_err(|_| not_ascii())
}

/// RFC 6750 §2.1 b64token characters (without the trailing `=` padding). Comparisons only and no early exit, so
/// the compiler checks many bytes per instruction: the token is most of a request's head.
fn is_b64token(body: &[u8]) -> bool {
    body.iter().fold(true, |ok, &b| {
        let lower = b | 0x20;
        let alpha = lower.wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        let mark =
            (b == b'-') | (b == b'.') | (b == b'_') | (b == b'~') | (b == b'+') | (b == b'/');
        ok & (alpha | digit | mark)
    })
}

/// H1: `access_token` in the query is refused (never a second transport for the same credential).
pub fn query_carries_access_token(query: Option<&str>) -> bool {
    // Keys are compared after percent-decoding, and `;` counts as a separator too: an upstream that decodes
    // `access%5Ftoken` or splits on `;` must not find a second credential.
    query.is_some_and(|q| {
        crate::fhir::query::pairs(q)
            .any(|(key, _, _)| key.trim().eq_ignore_ascii_case("access_token"))
    })
}

/// C5, C6: `now` lies in `[nbf - leeway, exp + leeway)`. Checked at verification and again on every cache hit
/// (`iat` in the future cannot become true later, so it is checked once).
pub fn check_window(now: u64, leeway: u64, exp: f64, nbf: Option<f64>) -> Result<(), TokenError> {
    let (now, leeway) = (now as f64, leeway as f64);
    if now >= exp + leeway {
        return Err(TokenError::Expired);
    }
    if nbf.is_some_and(|nbf| now < nbf - leeway) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// The parsed, not yet verified, parts of a compact JWS.
#[derive(Debug)]
pub struct Jws<'a> {
    pub alg: Alg,
    pub kid: Option<String>,
    pub claims: Map<String, Value>,
    signing_input: &'a str,
    signature: &'a str,
}

/// C1–C4, C9, B4: split and decode a compact JWS and apply the header policy.
pub fn parse<'a>(token: &'a str, settings: &ValidationSettings) -> Result<Jws<'a>, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let count = token.split('.').count();
        return Err(TokenError::Malformed(if count == 5 {
            "JWE (5 parts) is not accepted"
        } else {
            "a JWS has exactly 3 parts"
        }));
    };
    if s.is_empty() {
        return Err(TokenError::Malformed("the signature is missing"));
    }
    let header = decode_object(h, "header")?;
    let claims = decode_object(p, "payload")?;

    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Alg::from_name)
        .ok_or(TokenError::AlgNotAllowed)?;
    if header.contains_key("crit") {
        return Err(TokenError::CritNotUnderstood);
    }
    match header.get("typ") {
        None if !settings.require_at_jwt_typ => {}
        Some(Value::String(typ)) if typ_allowed(typ, settings.require_at_jwt_typ) => {}
        _ => return Err(TokenError::TypNotAllowed),
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= 256 => Some(kid.clone()),
        Some(_) => return Err(TokenError::Malformed("kid is not a short string")),
    };
    // B4: jku, x5u, jwk and x5c are never read.
    Ok(Jws {
        alg,
        kid,
        claims,
        signing_input: &token[..h.len() + 1 + p.len()],
        signature: s,
    })
}

/// C4, Q8.
fn typ_allowed(typ: &str, strict: bool) -> bool {
    let at_jwt =
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt");
    at_jwt || (!strict && typ.eq_ignore_ascii_case("JWT"))
}

fn decode_object(part: &str, what: &'static str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| {
        TokenError::Malformed(if what == "header" {
            "header is not base64url"
        } else {
            "payload is not base64url"
        })
    })?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value = match StrictValue::deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
        Ok(StrictValue(v)) => v,
        Err(e) if e.to_string().starts_with(DUPLICATE) => {
            return Err(TokenError::DuplicateMember(what))
        }
        Err(_) => {
            return Err(TokenError::Malformed(if what == "header" {
                "header is not JSON"
            } else {
                "payload is not JSON"
            }))
        }
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(TokenError::Malformed(if what == "header" {
            "header is not a JSON object"
        } else {
            "payload is not a JSON object"
        })),
    }
}

const DUPLICATE: &str = "duplicate member name";

/// C9: a JSON value whose objects, at any depth, have no repeated member names (avoids parser differentials).
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StrictValue, E> {
        serde_json::Number::from_f64(v)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(StrictValue(Value::Array(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(DUPLICATE));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(StrictValue(Value::Object(out)))
    }
}

impl Jws<'_> {
    /// B2: the `iss` the key set is chosen by.
    pub fn issuer(&self) -> Result<&str, TokenError> {
        self.claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(TokenError::MissingIssuer)
    }

    /// B7, B8, C2: verify the signature with the issuer's key for this `kid` and `alg`.
    pub fn verify_signature(&self, keys: &KeySet) -> Result<(), TokenError> {
        let key = keys.select(self.kid.as_deref(), self.alg)?;
        let verifier = key.verifier(self.alg).ok_or(TokenError::KeyAlgMismatch)?;
        let signature = URL_SAFE_NO_PAD
            .decode(self.signature)
            .map_err(|_| TokenError::BadSignature)?;
        signature::Verifier::verify(verifier, self.signing_input.as_bytes(), &signature)
            .map_err(|_| TokenError::BadSignature)
    }

    /// C5–C8: `exp` required, `nbf` and `iat` checked when present, all with leeway. Returns `exp`.
    pub fn check_times(&self, now: u64, leeway: u64) -> Result<f64, TokenError> {
        let exp = self.time_claim("exp")?.ok_or(TokenError::MissingExp)?;
        check_window(now, leeway, exp, self.time_claim("nbf")?)?;
        if let Some(iat) = self.time_claim("iat")? {
            if iat > now as f64 + leeway as f64 {
                return Err(TokenError::IssuedInFuture);
            }
        }
        Ok(exp)
    }

    /// `nbf`, if it is a number (for the token cache, which rechecks it on every hit).
    pub fn not_before(&self) -> Option<f64> {
        self.time_claim("nbf").ok().flatten()
    }

    fn time_claim(&self, name: &'static str) -> Result<Option<f64>, TokenError> {
        match self.claims.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or(TokenError::BadTimeClaim(name)),
            Some(_) => Err(TokenError::BadTimeClaim(name)),
        }
    }
}

/// No claim mapping: `sub` as the user key, no mapped headers.
static NO_MAPPING: ClaimMapping = ClaimMapping {
    user_claim: None,
    headers: Vec::new(),
};

mod verified;
pub use verified::{role_grant, FhirUser, RoleGrant, TokenClass, VerifiedToken, FHIR_USER_TYPES};

/// D1–D5, G1, Q2, Q7, Q10, Q17: which provider and application the (signature-verified) token belongs to.
/// `candidates` are the authorities whose discovered issuer equals the token's `iss`. The client id comes from
/// `azp`, `appid`, `client_id` or `cid`, the first present (D1, Q2, RFC 9068 §2.2).
pub fn identify(
    jws: &Jws<'_>,
    candidates: &[AuthorityRole],
    config: &Config,
    settings: &ValidationSettings,
    expires_at: f64,
) -> Result<VerifiedToken, TokenError> {
    let claims = &jws.claims;
    let issuer: Box<str> = jws.issuer()?.into();
    let client_id = client_id(claims)?;
    // The user key the upstream trusts is `sub` unless the operator mapped another claim.
    let mapping_for = |role: AuthorityRole| config.extensions.mapping(role).unwrap_or(&NO_MAPPING);
    let audiences = audiences(claims)?;

    // Q17: among providers sharing this issuer, the one owning the client id.
    let smart = client_id.and_then(|cid| {
        candidates.iter().find_map(|role| match role {
            AuthorityRole::Smart(i) => config.smart_providers.get(*i).and_then(|p| {
                p.applications
                    .iter()
                    .position(|a| a.client_id.as_str() == cid)
                    .map(|j| (*role, j, &p.applications[j]))
            }),
            AuthorityRole::Primary => None,
        })
    });

    if let Some((role, app_index, app)) = smart {
        // D2, C10, Q7.
        if !audiences.iter().any(|a| *a == app.audience.as_str()) {
            return Err(TokenError::AudienceMismatch(
                app.client_id.as_str().to_string(),
            ));
        }
        let scopes = scopes(claims)?.ok_or(TokenError::MissingScopes)?;
        let grants = scope::parse(&scopes).map_err(TokenError::BadScope)?;
        let mapping = mapping_for(role);
        let subject = mapping.user(claims)?;
        let mapped_headers = mapping.apply(claims)?;
        let class = TokenClass {
            role,
            issuer,
            application: Some(app_index),
            client_id: Some(Arc::clone(app.client_id.shared())),
            scopes: Some(scopes.into_boxed_str()),
            smart: true,
            grants,
            roles: None,
            headers: Default::default(),
        };
        return VerifiedToken::new(
            Arc::new(class),
            subject.as_deref(),
            Some(fhir_user(claims)?.ok_or(TokenError::MissingFhirUser)?),
            expires_at,
            mapped_headers,
        );
    }

    let Some(primary) = config
        .primary
        .as_ref()
        .filter(|_| candidates.contains(&AuthorityRole::Primary))
    else {
        // D1: the issuer is a SMART provider's, but no application of it has this client id.
        return Err(match client_id {
            None => TokenError::MissingClientId,
            Some(_) => TokenError::UnknownClient,
        });
    };
    // G1.
    if !audiences.iter().any(|a| *a == primary.audience.as_str()) {
        return Err(TokenError::PrimaryAudienceMismatch);
    }
    let mode = settings.primary_authorization.unwrap_or(config.roles.mode);
    let enforce = mode == PrimaryAuthorization::Smart;
    let (scopes, fhir_user, grants) = if enforce {
        let scopes = scopes(claims)?.ok_or(TokenError::MissingScopes)?;
        let grants = scope::parse(&scopes).map_err(TokenError::BadScope)?;
        (
            Some(scopes),
            Some(fhir_user(claims)?.ok_or(TokenError::MissingFhirUser)?),
            grants,
        )
    } else {
        // Passed through for the upstream's information; a malformed one is still refused (fail closed).
        (scopes(claims)?, fhir_user(claims)?, GrantSet::default())
    };
    let mapping = mapping_for(AuthorityRole::Primary);
    let class = TokenClass {
        role: AuthorityRole::Primary,
        issuer,
        application: None,
        client_id: client_id.map(Arc::from),
        scopes: scopes.map(String::into_boxed_str),
        smart: enforce,
        grants,
        roles: (mode == PrimaryAuthorization::Roles).then(|| role_grant(claims, &config.roles)),
        headers: Default::default(),
    };
    VerifiedToken::new(
        Arc::new(class),
        mapping.user(claims)?.as_deref(),
        fhir_user,
        expires_at,
        mapping.apply(claims)?,
    )
}

/// The claims that may name the token's client, in order of precedence: `azp` and `appid` (D1, Entra v1), then
/// `client_id` (RFC 9068 §2.2 makes it REQUIRED in JWT access tokens; oidc-provider, Keycloak's RFC 9068 mode) and
/// `cid` (Okta). A decision beyond D1, which names only the first two.
const CLIENT_ID_CLAIMS: [&str; 4] = ["azp", "appid", "client_id", "cid"];

/// D1, Q2: the client id is the first of [`CLIENT_ID_CLAIMS`] present; a later one is read only when all earlier
/// ones are absent. Present is final: one that is not a header-safe string is refused by name, and one that matches
/// no application is 401 (the caller), never passed over for a later claim that would match (Q2).
fn client_id(claims: &Map<String, Value>) -> Result<Option<&str>, TokenError> {
    for name in CLIENT_ID_CLAIMS {
        match claims.get(name) {
            None => {}
            Some(Value::String(id)) if header_safe(id) => return Ok(Some(id)),
            Some(_) => return Err(TokenError::UnsafeClaim(name)),
        }
    }
    Ok(None)
}

/// C10: `aud` as a string or an array of strings.
fn audiences(claims: &Map<String, Value>) -> Result<Vec<&str>, TokenError> {
    match claims.get("aud") {
        Some(Value::String(s)) => Ok(vec![s.as_str()]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().ok_or(TokenError::BadAudience))
            .collect(),
        _ => Err(TokenError::BadAudience),
    }
}

/// D3: `scp`, else `scope`; a space-delimited string or an array of strings.
fn scopes(claims: &Map<String, Value>) -> Result<Option<String>, TokenError> {
    let joined = match claims.get("scp").or_else(|| claims.get("scope")) {
        None => return Ok(None),
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        Some(Value::Array(items)) => {
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                let s = item.as_str().ok_or(TokenError::BadScopes)?;
                parts.extend(s.split(' ').filter(|s| !s.is_empty()));
            }
            parts.join(" ")
        }
        Some(_) => return Err(TokenError::BadScopes),
    };
    if joined.is_empty() {
        return Ok(None);
    }
    if !header_safe(&joined) {
        return Err(TokenError::BadScopes);
    }
    Ok(Some(joined))
}

/// D4, D5: `fhirUser`, else `extension_fhirUser`.
fn fhir_user(claims: &Map<String, Value>) -> Result<Option<FhirUser<'_>>, TokenError> {
    match claims
        .get("fhirUser")
        .or_else(|| claims.get("extension_fhirUser"))
    {
        None => Ok(None),
        Some(Value::String(s)) if header_safe(s) => {
            FhirUser::parse(s).map(Some).ok_or(TokenError::BadFhirUser)
        }
        Some(_) => Err(TokenError::BadFhirUser),
    }
}

#[cfg(test)]
mod tests;
