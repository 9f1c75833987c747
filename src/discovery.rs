//! OIDC discovery documents and JWKS, fetched through one shared HTTP client (rules B1, Q16).
//!
//! In: an [`Authority`] or a `jwks_uri`. Out: [`ProviderMetadata`] or the raw JWKS bytes with their
//! `Cache-Control: max-age`. Errors: [`DiscoveryError`], each naming the URL (never a token: none passes here).
//! Every fetch has connect and total timeouts and a body-size cap; `http://` is refused unless the operator allowed it.

use std::time::Duration;

use bytes::Bytes;
use url::Url;

use crate::config::Authority;
pub use crate::config::{Issuer, ProviderMetadata};

/// Largest discovery document or JWKS accepted (a JWKS of 100 RSA-4096 keys is ~80 kB).
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("{url}: request failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: document larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url}: not valid JSON: {source}")]
    Json {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{url}: {field} is missing or not a valid URL/string")]
    BadMetadata { url: String, field: &'static str },
    #[error("{url}: must use https; http is allowed only with --allow-insecure-http")]
    Insecure { url: String },
    #[error(transparent)]
    Jwks(#[from] crate::jwk::JwksError),
}

/// A fetched JWKS document, not yet parsed.
#[derive(Debug, Clone)]
pub struct JwksDocument {
    pub bytes: Bytes,
    /// `Cache-Control: max-age`, if the provider sent one.
    pub max_age: Option<Duration>,
}

/// Timeouts of every metadata and JWKS fetch.
#[derive(Debug, Clone, Copy)]
pub struct FetchTimeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for FetchTimeouts {
    fn default() -> Self {
        FetchTimeouts {
            connect: Duration::from_secs(crate::defaults::FETCH_CONNECT_SECS),
            total: Duration::from_secs(crate::defaults::FETCH_TOTAL_SECS),
        }
    }
}

/// How discovery, JWKS and AuditEvent requests reach the internet (the upstream FHIR server is never reached
/// through it: it has its own client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EgressProxy {
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` from the environment, as curl reads them.
    #[default]
    Environment,
    /// Every fetch through this proxy (`--egress-proxy`).
    Explicit(Url),
    /// Never a proxy.
    Off,
}

/// The most redirects a discovery or JWKS fetch follows.
pub const MAX_REDIRECTS: usize = 3;

/// A redirect is followed only within [`MAX_REDIRECTS`] hops and never from https to http (a downgrade would let
/// anyone on the path substitute keys).
pub fn redirect_allowed(previous: &[Url], next: &Url) -> Result<(), &'static str> {
    if previous.len() >= MAX_REDIRECTS {
        return Err("too many redirects");
    }
    if previous.iter().any(|u| u.scheme() == "https") && next.scheme() != "https" {
        return Err("redirect from https to http refused");
    }
    Ok(())
}

/// The one HTTP client for discovery and JWKS (never a new client per refresh: connections and TLS sessions are reused).
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    allow_insecure_http: bool,
}

impl Fetcher {
    /// `extra_roots`: CA certificates trusted besides the platform's (`--upstream-ca`).
    pub fn new(
        allow_insecure_http: bool,
        timeouts: FetchTimeouts,
        extra_roots: &[rustls::pki_types::CertificateDer<'static>],
        egress: &EgressProxy,
    ) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder();
        for cert in extra_roots {
            builder = builder.add_root_certificate(reqwest::Certificate::from_der(cert.as_ref())?);
        }
        builder = match egress {
            // reqwest reads HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (either case) by default.
            EgressProxy::Environment => builder,
            EgressProxy::Explicit(url) => builder.proxy(reqwest::Proxy::all(url.as_str())?),
            EgressProxy::Off => builder.no_proxy(),
        };
        let client = builder
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .redirect(reqwest::redirect::Policy::custom(
                |attempt| match redirect_allowed(attempt.previous(), attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(why) => attempt.error(why),
                },
            ))
            .user_agent(concat!("fhir-jwt-proxy/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Fetcher {
            client,
            allow_insecure_http,
        })
    }

    /// The shared client, also used to post AuditEvents (same roots and timeouts).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// B1: `<authority>/.well-known/openid-configuration`, which must carry `issuer` and `jwks_uri`.
    pub async fn metadata(
        &self,
        authority: &Authority,
    ) -> Result<ProviderMetadata, DiscoveryError> {
        self.discover(authority).await.map(|(m, _)| m)
    }

    /// [`Fetcher::metadata`], with the whole discovery document.
    pub async fn discover(
        &self,
        authority: &Authority,
    ) -> Result<(ProviderMetadata, serde_json::Value), DiscoveryError> {
        let url = authority.discovery_url();
        let (bytes, _) = self.get(&url).await?;
        let metadata = parse_metadata(&url, &bytes, self.allow_insecure_http)?;
        let document = serde_json::from_slice(&bytes).map_err(|source| DiscoveryError::Json {
            url: url.clone(),
            source,
        })?;
        Ok((metadata, document))
    }

    /// The JWKS at `jwks_uri`, unparsed.
    pub async fn jwks(&self, jwks_uri: &Url) -> Result<JwksDocument, DiscoveryError> {
        let (bytes, max_age) = self.get(jwks_uri.as_str()).await?;
        Ok(JwksDocument { bytes, max_age })
    }

    async fn get(&self, url: &str) -> Result<(Bytes, Option<Duration>), DiscoveryError> {
        if url.starts_with("http://") && !self.allow_insecure_http {
            return Err(DiscoveryError::Insecure { url: url.into() });
        }
        let http = |source| DiscoveryError::Http {
            url: url.to_string(),
            source,
        };
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(http)?;
        if !response.status().is_success() {
            return Err(DiscoveryError::Status {
                url: url.into(),
                status: response.status().as_u16(),
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(DiscoveryError::TooLarge { url: url.into() });
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        // Read chunk by chunk so a lying or absent Content-Length cannot make us buffer more than the cap.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(DiscoveryError::TooLarge { url: url.into() });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((Bytes::from(body), max_age))
    }
}

/// Validate an OIDC metadata document (B1).
pub fn parse_metadata(
    url: &str,
    bytes: &[u8],
    allow_insecure_http: bool,
) -> Result<ProviderMetadata, DiscoveryError> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|source| DiscoveryError::Json {
            url: url.into(),
            source,
        })?;
    let bad = |field| DiscoveryError::BadMetadata {
        url: url.into(),
        field,
    };
    let issuer = doc
        .get("issuer")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("issuer"))?;
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .and_then(|s| Url::parse(s).ok())
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.has_host())
        .ok_or_else(|| bad("jwks_uri"))?;
    if jwks_uri.scheme() == "http" && !allow_insecure_http {
        return Err(DiscoveryError::Insecure {
            url: jwks_uri.to_string(),
        });
    }
    Ok(ProviderMetadata {
        issuer: Issuer::new(issuer),
        jwks_uri,
    })
}

/// `max-age=N` from a Cache-Control value; `no-store`/`no-cache` count as zero.
pub fn parse_max_age(value: &str) -> Option<Duration> {
    value.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        lower
            .strip_prefix("max-age=")
            .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b1_redirects_are_few_and_never_downgrade() {
        let u = |s: &str| Url::parse(s).expect("url");
        assert_eq!(
            redirect_allowed(&[u("https://idp/a")], &u("https://idp/b")),
            Ok(())
        );
        assert_eq!(
            redirect_allowed(&[u("http://idp/a")], &u("http://idp/b")),
            Ok(())
        );
        assert!(redirect_allowed(&[u("https://idp/a")], &u("http://idp/b")).is_err());
        assert!(redirect_allowed(
            &[u("https://idp/a"), u("https://idp/b")],
            &u("http://idp/c")
        )
        .is_err());
        let three = [u("https://idp/1"), u("https://idp/2"), u("https://idp/3")];
        assert_eq!(
            redirect_allowed(&three, &u("https://idp/4")),
            Err("too many redirects")
        );
    }

    #[test]
    fn b1_metadata_needs_issuer_and_jwks_uri() {
        let ok = br#"{"issuer":"https://sts.example/t/","jwks_uri":"https://login.example/keys"}"#;
        let m = parse_metadata("u", ok, false).expect("valid metadata");
        assert_eq!(m.issuer.as_str(), "https://sts.example/t/");
        assert!(matches!(
            parse_metadata("u", br#"{"jwks_uri":"https://x/keys"}"#, false),
            Err(DiscoveryError::BadMetadata {
                field: "issuer",
                ..
            })
        ));
        assert!(matches!(
            parse_metadata("u", br#"{"issuer":"i","jwks_uri":"not a url"}"#, false),
            Err(DiscoveryError::BadMetadata {
                field: "jwks_uri",
                ..
            })
        ));
        assert!(matches!(
            parse_metadata("u", b"<html>", false),
            Err(DiscoveryError::Json { .. })
        ));
    }

    #[test]
    fn q16_http_jwks_uri_needs_the_insecure_flag() {
        let doc = br#"{"issuer":"i","jwks_uri":"http://127.0.0.1:1/keys"}"#;
        assert!(matches!(
            parse_metadata("u", doc, false),
            Err(DiscoveryError::Insecure { .. })
        ));
        assert!(parse_metadata("u", doc, true).is_ok());
    }

    #[test]
    fn b5_cache_control_max_age() {
        assert_eq!(
            parse_max_age("public, max-age=3600"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("public"), None);
    }
}
