//! The validated values of a configuration file: newtypes for values with roles (an [`Authority`] is not an
//! [`Issuer`], rule B2), and the providers and applications built from them. Built only by the config validation.

use std::fmt;

use url::Url;

/// The configured URL of an identity provider (A3). Distinct from [`Issuer`](crate::keys::Issuer):
/// the issuer is what discovery at this authority says (B2, Q16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority(pub(super) Url);

impl Authority {
    /// `<authority without trailing "/">/.well-known/openid-configuration` (B1).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.0.as_str().trim_end_matches('/')
        )
    }
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// What makes two authorities the same (A3): the URL's normalised form (lower-case host, default port dropped)
    /// without one trailing '/': `https://idp/x` and `https://IDP:443/x/` are the same authority.
    pub(super) fn key(&self) -> &str {
        let s = self.0.as_str();
        s.strip_suffix('/').unwrap_or(s)
    }

    /// Does `text` name this authority (compared in normalised form)?
    pub fn is_named_by(&self, text: &str) -> bool {
        Url::parse(text).is_ok_and(|u| Authority(u).key() == self.key())
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// The `issuer` of a provider's discovery document: what a token's `iss` must equal byte for byte (B2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issuer(String);

impl Issuer {
    pub fn new(s: impl Into<String>) -> Self {
        Issuer(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The parts of an OpenID Provider's metadata the proxy uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// B2: what `iss` must equal, byte for byte. Need not equal the authority (Q16).
    pub issuer: Issuer,
    pub jwks_uri: Url,
}

/// An OAuth client id (`azp`/`appid`), unique across all providers (A5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(pub(super) std::sync::Arc<str>);

impl ClientId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a shared string: a bounded metrics label that costs no allocation per request.
    pub fn shared(&self) -> &std::sync::Arc<str> {
        &self.0
    }
}

/// An expected `aud` value (A6, C10): compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(pub(super) String);

impl Audience {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an application may do (A7). Azure defines only `Read`, which allows GET (and HEAD) requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataAction {
    Read,
}

#[derive(Debug, Clone)]
pub struct Application {
    pub client_id: ClientId,
    pub audience: Audience,
    pub allowed_data_actions: Vec<DataAction>,
}

impl Application {
    /// A7/F4: only `Read` exists, so an application may only read.
    pub fn may_read(&self) -> bool {
        self.allowed_data_actions.contains(&DataAction::Read)
    }
}

/// The top-level `authority`/`audience` pair (G1).
#[derive(Debug, Clone)]
pub struct PrimaryAuthority {
    pub authority: Authority,
    pub audience: Audience,
}

/// One entry of `smartIdentityProviders`.
#[derive(Debug, Clone)]
pub struct SmartProvider {
    pub authority: Authority,
    pub applications: Vec<Application>,
}

impl SmartProvider {
    /// D1: exact match of `azp`/`appid` against this provider's client ids.
    pub fn application(&self, client_id: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| a.client_id.as_str() == client_id)
    }
}

/// Settings from the optional `"proxy"` object of the file; each may be overridden by a flag.
#[derive(Debug, Clone, Default)]
pub struct FileSettings {
    pub clock_leeway_seconds: Option<u64>,
    /// Q8: require `typ` `at+jwt` on every token.
    pub require_at_jwt_typ: Option<bool>,
    /// D6: the public FHIR base URL an absolute `fhirUser` must start with.
    pub fhir_base_url: Option<Url>,
}
