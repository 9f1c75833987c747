//! Claim → upstream header mapping by dotted paths into nested JSON (as SSO gateways map claims), and the claim the
//! upstream should trust as the user key (`sub` by default, or any unique claim the operator names).
//!
//! In: the validated mapping and a verified token's claims. Out: header name/value pairs for the upstream.
//! Arrays become a comma-separated list; a value that itself contains a comma is refused for that header (never
//! truncated); an object, or anything with control characters, is refused too. A refused or missing claim leaves the
//! header out, or fails the token (401) when the mapping says `required`. Pure: no I/O.

use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::error::TokenError;
use crate::headers::header_safe;
pub use crate::headers::mapped_header_name;

pub use crate::config::claim_mapping::{ClaimHeader, ClaimMapping, ClaimPath};

/// A claim value as a header value: strings, numbers, booleans, or an array of those joined by `,`.
fn render(value: &Value) -> Option<String> {
    let scalar = |v: &Value| match v {
        Value::String(s) if !s.contains(',') => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let text = match value {
        Value::Array(items) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()?
            .join(","),
        v => scalar(v)?,
    };
    header_safe(&text).then_some(text)
}

impl ClaimMapping {
    /// The headers for these claims. Errors only for `required` mappings.
    pub fn apply(
        &self,
        claims: &Map<String, Value>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, TokenError> {
        let mut out = Vec::with_capacity(self.headers.len());
        for mapping in &self.headers {
            let value = mapping
                .claim
                .lookup(claims)
                .and_then(render)
                .and_then(|s| HeaderValue::from_str(&s).ok());
            match value {
                Some(v) => out.push((mapping.header.clone(), v)),
                None if mapping.required => {
                    return Err(TokenError::MappedClaimMissing(
                        mapping.header.as_str().to_string(),
                    ))
                }
                None => {}
            }
        }
        Ok(out)
    }

    /// The user key: the configured claim (required once configured), else `sub` (optional, C12).
    pub fn user(&self, claims: &Map<String, Value>) -> Result<Option<String>, TokenError> {
        match &self.user_claim {
            None => match claims.get("sub") {
                None => Ok(None),
                Some(v) => render(v)
                    .filter(|_| v.is_string())
                    .map(Some)
                    .ok_or(TokenError::UnsafeClaim("sub")),
            },
            Some(path) => path
                .lookup(claims)
                .and_then(render)
                .map(Some)
                .ok_or_else(|| {
                    TokenError::MappedClaimMissing(format!("user claim {}", path.text()))
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> Map<String, Value> {
        match json!({
            "sub": "u1", "preferred_username": "ana",
            "address": {"zip": "10115", "city": "Berlin"},
            "realm_access": {"roles": ["reader", "nurse"]},
            "bad_list": ["a,b", "c"], "n": 42, "flag": true, "obj": {"a": 1}, "ctl": "a\nb",
        }) {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn header(name: &str, claim: &str, required: bool) -> ClaimHeader {
        ClaimHeader {
            header: mapped_header_name(name).expect("valid name"),
            claim: ClaimPath::parse(claim).expect("valid path"),
            required,
        }
    }

    #[test]
    fn dotted_paths_reach_nested_claims_and_arrays_become_lists() {
        let m = ClaimMapping {
            user_claim: None,
            headers: vec![
                header("X-User-Zip", "address.zip", false),
                header("X-Roles", "realm_access.roles", false),
                header("X-N", "n", false),
                header("X-Flag", "flag", false),
            ],
        };
        let out = m.apply(&claims()).expect("mapped");
        let text: Vec<(String, String)> = out
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        assert_eq!(
            text,
            vec![
                ("x-user-zip".into(), "10115".into()),
                ("x-roles".into(), "reader,nurse".into()),
                ("x-n".into(), "42".into()),
                ("x-flag".into(), "true".into()),
            ]
        );
    }

    #[test]
    fn unusable_values_leave_the_header_out_or_fail_when_required() {
        for claim in [
            "missing",
            "address.missing",
            "bad_list",
            "obj",
            "ctl",
            "address",
        ] {
            let optional = ClaimMapping {
                user_claim: None,
                headers: vec![header("X-A", claim, false)],
            };
            assert!(
                optional.apply(&claims()).expect("optional").is_empty(),
                "{claim}"
            );
            let required = ClaimMapping {
                user_claim: None,
                headers: vec![header("X-A", claim, true)],
            };
            assert_eq!(
                required.apply(&claims()).err(),
                Some(TokenError::MappedClaimMissing("x-a".into())),
                "{claim}"
            );
        }
    }

    #[test]
    fn the_user_claim_is_configurable() {
        let default = ClaimMapping::default();
        assert_eq!(default.user(&claims()).expect("sub"), Some("u1".into()));
        let custom = ClaimMapping {
            user_claim: ClaimPath::parse("preferred_username"),
            headers: vec![],
        };
        assert_eq!(custom.user(&claims()).expect("custom"), Some("ana".into()));
        let missing = ClaimMapping {
            user_claim: ClaimPath::parse("email"),
            headers: vec![],
        };
        assert!(missing.user(&claims()).is_err());
    }

    #[test]
    fn reserved_and_invalid_header_names_are_refused() {
        for bad in [
            "Authorization",
            "X-Fhir-User",
            "Connection",
            "Host",
            "X-Forwarded-For",
            "X-Request-Id",
            "bad name",
            "",
        ] {
            assert!(mapped_header_name(bad).is_err(), "{bad}");
        }
        assert!(mapped_header_name("X-User-Zip").is_ok());
        assert!(
            ClaimPath::parse("a..b").is_none()
                && ClaimPath::parse("").is_none()
                && ClaimPath::parse(".a").is_none()
        );
    }
}
