//! `proxy.smartConfiguration`: which identity provider a SMART app is sent to, and the capabilities the proxy
//! advertises at `[base]/.well-known/smart-configuration` (SMART App Launch 2.x) and in the CapabilityStatement.
//!
//! In: the raw object, the SMART providers' authorities. Out: [`SmartConfiguration`]. Errors: path-named
//! [`ConfigError`]s.

use serde::Deserialize;

use super::{Authority, ConfigError};

/// What the proxy advertises without being told otherwise: a standalone launch of a patient app, public and
/// confidential (symmetric) clients, SMART v2 permissions, OpenID Connect single sign-on.
pub const DEFAULT_CAPABILITIES: [&str; 7] = [
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "context-standalone-patient",
    "permission-patient",
    "permission-v2",
    "sso-openid-connect",
];

/// The capability codes SMART App Launch 2.x defines.
const KNOWN_CAPABILITIES: [&str; 19] = [
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "sso-openid-connect",
    "context-passthrough-banner",
    "context-passthrough-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "context-standalone-encounter",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawSmartConfiguration {
    authority: Option<String>,
    capabilities: Option<Vec<String>>,
}

/// Validated `smartConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartConfiguration {
    /// Index of the SMART provider apps authorize at.
    pub provider: usize,
    pub capabilities: Vec<String>,
}

pub(super) fn validate(
    raw: RawSmartConfiguration,
    path: &str,
    providers: &[&Authority],
) -> Result<SmartConfiguration, ConfigError> {
    let provider = match (raw.authority, providers.len()) {
        (Some(text), _) => providers.iter().position(|a| a.is_named_by(&text)).ok_or_else(|| {
            ConfigError::invalid(
                format!("{path}.authority"),
                "does not name one of smartIdentityProviders' authorities",
            )
        })?,
        (None, 1) => 0,
        (None, 0) => {
            return Err(ConfigError::invalid(
                path,
                "needs a SMART identity provider (smartIdentityProviders) for apps to authorize at",
            ))
        }
        (None, _) => {
            return Err(ConfigError::invalid(
                format!("{path}.authority"),
                "is required when there are two SMART identity providers: name the one apps authorize at",
            ))
        }
    };
    let capabilities = match raw.capabilities {
        None => DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
        Some(list) => {
            for (i, c) in list.iter().enumerate() {
                if !KNOWN_CAPABILITIES.contains(&c.as_str()) {
                    return Err(ConfigError::invalid(
                        format!("{path}.capabilities[{i}]"),
                        format!("\"{c}\" is not a SMART App Launch capability"),
                    ));
                }
            }
            list
        }
    };
    Ok(SmartConfiguration {
        provider,
        capabilities,
    })
}
