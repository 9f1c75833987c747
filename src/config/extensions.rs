//! The parts of the `proxy` object beyond Azure's model: claim → header mapping, the user claim, hand-entered
//! provider endpoints, and the decision audit trail. Validated at load like the rest: every error names its JSON path.

use std::path::PathBuf;

use http::HeaderName;
use serde::Deserialize;
use url::Url;

use super::claim_mapping::{ClaimHeader, ClaimMapping, ClaimPath};
use super::{Authority, AuthorityRole, ConfigError, Issuer, LoadOptions, ProviderMetadata};
use crate::headers::mapped_header_name;

/// Where audit records go (validated from `proxy.audit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub file: Option<PathBuf>,
    /// Rotate the file when it would grow past this size.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: u32,
    /// Also emit each record on the `audit` tracing target.
    pub stdout: bool,
    /// POST a FHIR R4 AuditEvent per decision here.
    pub endpoint: Option<Url>,
    /// Capacity of each queue.
    pub queue: usize,
}

/// The extension fields of the raw `proxy` object (deserialized there, validated here).
#[derive(Default)]
pub(super) struct RawExtensions {
    pub(super) user_claim: Option<String>,
    pub(super) claim_headers: Option<Vec<RawClaimHeader>>,
    pub(super) providers: Option<Vec<RawProviderSettings>>,
    pub(super) audit: Option<RawAudit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawClaimHeader {
    header: String,
    claim: String,
    required: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawProviderSettings {
    authority: String,
    issuer: Option<String>,
    jwks_uri: Option<String>,
    user_claim: Option<String>,
    claim_headers: Option<Vec<RawClaimHeader>>,
    /// Where this authority's tokens name their roles (the primary authority only: roles authorize its tokens).
    roles_claim: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawAudit {
    file: Option<String>,
    max_bytes: Option<u64>,
    keep: Option<u32>,
    stdout: Option<bool>,
    audit_event_endpoint: Option<String>,
    queue: Option<usize>,
}

/// Per-authority settings, by role.
#[derive(Debug, Clone, Default)]
pub struct Extensions {
    /// The merged mapping for each authority: index 0 the primary, `i + 1` SMART provider `i`.
    mappings: Vec<ClaimMapping>,
    /// Hand-entered `issuer` + `jwks_uri`, by the same index: no discovery for those (for providers without discovery).
    endpoints: Vec<Option<ProviderMetadata>>,
    /// Every header any mapping sets (stripped from client requests first).
    pub mapped_headers: Vec<HeaderName>,
    pub audit: Option<AuditSettings>,
    /// `rolesClaim` of the primary authority's entry in `proxy.providers` (taken by the roles settings).
    pub(super) primary_roles_claim: Option<ClaimPath>,
}

fn index(role: AuthorityRole) -> usize {
    match role {
        AuthorityRole::Primary => 0,
        AuthorityRole::Smart(i) => i + 1,
    }
}

impl Extensions {
    pub fn mapping(&self, role: AuthorityRole) -> Option<&ClaimMapping> {
        self.mappings.get(index(role))
    }

    pub fn endpoints(&self, role: AuthorityRole) -> Option<&ProviderMetadata> {
        self.endpoints.get(index(role)).and_then(Option::as_ref)
    }
}

fn headers(raw: Option<Vec<RawClaimHeader>>, path: &str) -> Result<Vec<ClaimHeader>, ConfigError> {
    let mut out: Vec<ClaimHeader> = Vec::new();
    for (i, h) in raw.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{path}[{i}]");
        let header = mapped_header_name(&h.header)
            .map_err(|why| ConfigError::invalid(format!("{at}.header"), why))?;
        if out.iter().any(|o| o.header == header) {
            return Err(ConfigError::invalid(
                format!("{at}.header"),
                "is mapped twice",
            ));
        }
        let claim = ClaimPath::parse(&h.claim).ok_or_else(|| {
            ConfigError::invalid(
                format!("{at}.claim"),
                "must be a dotted path of non-empty names (address.zip)",
            )
        })?;
        out.push(ClaimHeader {
            header,
            claim,
            required: h.required.unwrap_or(false),
        });
    }
    Ok(out)
}

fn user_claim(raw: Option<String>, path: &str) -> Result<Option<ClaimPath>, ConfigError> {
    raw.map(|c| {
        ClaimPath::parse(&c)
            .ok_or_else(|| ConfigError::invalid(path, "must be a dotted path of non-empty names"))
    })
    .transpose()
}

fn url(raw: &str, path: &str, opts: LoadOptions) -> Result<Url, ConfigError> {
    let u = Url::parse(raw)
        .map_err(|e| ConfigError::invalid(path, format!("must be an absolute URL ({e})")))?;
    match u.scheme() {
        "https" if u.has_host() => Ok(u),
        "http" if u.has_host() && opts.allow_insecure_http => Ok(u),
        "http" => Err(ConfigError::invalid(
            path,
            "must use https; http is allowed only with --allow-insecure-http",
        )),
        _ => Err(ConfigError::invalid(path, "must be an https URL")),
    }
}

/// Validate against the configured authorities (`authorities[k]` has role `roles[k]`).
pub(super) fn validate(
    raw: RawExtensions,
    path: &str,
    authorities: &[(AuthorityRole, &Authority)],
    opts: LoadOptions,
) -> Result<Extensions, ConfigError> {
    let global_headers = headers(raw.claim_headers, &format!("{path}.claimHeaders"))?;
    let global_user = user_claim(raw.user_claim, &format!("{path}.userClaim"))?;
    let slots = authorities
        .iter()
        .map(|(r, _)| index(*r) + 1)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut mappings = vec![
        ClaimMapping {
            user_claim: global_user.clone(),
            headers: global_headers.clone()
        };
        slots
    ];
    let mut endpoints = vec![None; slots];
    let mut seen = Vec::new();
    let mut primary_roles_claim = None;
    for (i, p) in raw.providers.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{path}.providers[{i}]");
        let Some((role, _)) = authorities
            .iter()
            .find(|(_, a)| a.is_named_by(&p.authority))
        else {
            return Err(ConfigError::invalid(
                format!("{at}.authority"),
                "does not name an authority of authenticationConfiguration",
            ));
        };
        if seen.contains(role) {
            return Err(ConfigError::invalid(
                format!("{at}.authority"),
                "has settings twice",
            ));
        }
        seen.push(*role);
        if let Some(claim) = p.roles_claim {
            if *role != AuthorityRole::Primary {
                return Err(ConfigError::invalid(
                    format!("{at}.rolesClaim"),
                    "roles authorize only the primary authority's tokens; SMART providers' tokens are authorized by their scopes",
                ));
            }
            primary_roles_claim = Some(super::roles::claim_path(
                &claim,
                &format!("{at}.rolesClaim"),
            )?);
        }
        let own_headers = headers(p.claim_headers, &format!("{at}.claimHeaders"))?;
        // The provider's own entries first; global entries for headers it does not map itself.
        let mut merged = own_headers.clone();
        merged.extend(
            global_headers
                .iter()
                .filter(|g| !own_headers.iter().any(|o| o.header == g.header))
                .cloned(),
        );
        mappings[index(*role)] = ClaimMapping {
            user_claim: user_claim(p.user_claim, &format!("{at}.userClaim"))?
                .or_else(|| global_user.clone()),
            headers: merged,
        };
        endpoints[index(*role)] = match (p.issuer, p.jwks_uri) {
            (None, None) => None,
            (Some(issuer), Some(jwks)) if !issuer.is_empty() => Some(ProviderMetadata {
                issuer: Issuer::new(issuer),
                jwks_uri: url(&jwks, &format!("{at}.jwksUri"), opts)?,
            }),
            _ => {
                return Err(ConfigError::invalid(
                    at,
                    "issuer and jwksUri go together: both to skip discovery for this authority, or neither",
                ))
            }
        };
    }
    let mut mapped_headers: Vec<HeaderName> = Vec::new();
    for m in &mappings {
        for h in &m.headers {
            if !mapped_headers.contains(&h.header) {
                mapped_headers.push(h.header.clone());
            }
        }
    }
    let audit = raw
        .audit
        .map(|a| validate_audit(a, &format!("{path}.audit"), opts))
        .transpose()?;
    Ok(Extensions {
        mappings,
        endpoints,
        mapped_headers,
        audit,
        primary_roles_claim,
    })
}

fn validate_audit(
    raw: RawAudit,
    path: &str,
    opts: LoadOptions,
) -> Result<AuditSettings, ConfigError> {
    let file = match raw.file {
        Some(f) if f.trim().is_empty() => {
            return Err(ConfigError::invalid(
                format!("{path}.file"),
                "must not be empty",
            ))
        }
        f => f.map(PathBuf::from),
    };
    let max_bytes = raw.max_bytes.unwrap_or(10 * 1024 * 1024);
    if max_bytes < 4096 {
        return Err(ConfigError::invalid(
            format!("{path}.maxBytes"),
            "must be at least 4096",
        ));
    }
    let keep = raw.keep.unwrap_or(5);
    if !(1..=100).contains(&keep) {
        return Err(ConfigError::invalid(
            format!("{path}.keep"),
            "must be 1..=100",
        ));
    }
    let queue = raw.queue.unwrap_or(1000);
    if !(1..=1_000_000).contains(&queue) {
        return Err(ConfigError::invalid(
            format!("{path}.queue"),
            "must be 1..=1000000",
        ));
    }
    let endpoint = raw
        .audit_event_endpoint
        .map(|e| url(&e, &format!("{path}.auditEventEndpoint"), opts))
        .transpose()?;
    let stdout = raw.stdout.unwrap_or(false);
    if file.is_none() && !stdout && endpoint.is_none() {
        return Err(ConfigError::invalid(
            path,
            "names no sink: set file, stdout or auditEventEndpoint",
        ));
    }
    Ok(AuditSettings {
        file,
        max_bytes,
        keep,
        stdout,
        endpoint,
        queue,
    })
}
