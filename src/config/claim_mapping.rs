//! The claim → header mapping and the user claim as validated data (applied to a token's claims in
//! [`crate::claims`]).

use http::HeaderName;
use serde_json::{Map, Value};

/// A dotted path into the claims: `address.zip`, `realm_access.roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath(Vec<String>);

impl ClaimPath {
    /// Non-empty segments separated by `.`.
    pub fn parse(text: &str) -> Option<ClaimPath> {
        let segments: Vec<String> = text.split('.').map(str::to_string).collect();
        (!text.is_empty() && segments.iter().all(|s| !s.is_empty())).then_some(ClaimPath(segments))
    }

    /// A path of one claim name (`roles`).
    pub fn top_level(name: &str) -> ClaimPath {
        ClaimPath(vec![name.to_string()])
    }

    pub fn lookup<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let (first, rest) = self.0.split_first()?;
        rest.iter()
            .try_fold(claims.get(first)?, |v, seg| v.as_object()?.get(seg))
    }

    pub fn text(&self) -> String {
        self.0.join(".")
    }
}

/// One mapped header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimHeader {
    pub header: HeaderName,
    pub claim: ClaimPath,
    /// A missing or unusable claim fails the token (401) instead of leaving the header out.
    pub required: bool,
}

/// The mapping in force for one provider (its own entries, then the global ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimMapping {
    /// The claim sent as `X-Auth-Subject`; `None` means `sub`.
    pub user_claim: Option<ClaimPath>,
    pub headers: Vec<ClaimHeader>,
}
