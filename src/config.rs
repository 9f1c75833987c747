//! The `authenticationConfiguration` file, validated once at load into typed values.
//!
//! In: the bytes of a JSON file in one of three shapes (rule A1, all loaded unchanged):
//! - the full ARM body `{"properties":{"authenticationConfiguration":{...}}}` (other ARM properties are ignored),
//! - `{"authenticationConfiguration":{...}}`,
//! - the bare `authenticationConfiguration` object.
//!
//! Any of the three may carry a top-level `"proxy"` object for the settings Azure's file has no place for
//! (see [`FileSettings`]); command-line flags and `FHIR_JWT_PROXY_*` variables override it.
//!
//! Out: a [`Config`] in which every rule of section A already holds, so nothing downstream re-checks it.
//! Errors: [`ConfigError`], whose message always starts with the JSON path of the offending value, then the rule.
//! Loading touches no network and binds no port (`check --offline` is just this module).

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use url::Url;

/// Q1: applications per provider (newest Azure page: "up to 25").
pub const MAX_APPLICATIONS_PER_PROVIDER: usize = 25;
/// A2: "The maximum number of SMART identity providers is 2."
pub const MAX_SMART_PROVIDERS: usize = 2;
/// Q15: clock leeway bounds, seconds.
pub const MAX_CLOCK_LEEWAY_SECS: u64 = 600;

/// A config file that breaks a rule. `path` is the JSON path in the file as written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: {source}")]
    Syntax {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read config file {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Options that change what a valid file is.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Q16: permit `http://` authorities (loopback tests, the demo).
    pub allow_insecure_http: bool,
}

// === raw shapes, exactly as the file spells them ===

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAuthenticationConfiguration {
    authority: Option<String>,
    audience: Option<String>,
    smart_proxy_enabled: Option<bool>,
    smart_identity_providers: Option<Vec<Option<RawProvider>>>,
    /// The file's `proxy` object when it sits inside the configuration object (always so in the bare shape);
    /// a file may carry it there or at its top level, not both.
    proxy: Option<RawFileSettings>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawProvider {
    authority: Option<String>,
    applications: Option<Vec<Option<RawApplication>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawApplication {
    client_id: Option<String>,
    audience: Option<String>,
    allowed_data_actions: Option<Vec<Option<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFileSettings {
    primary_authorization: Option<PrimaryAuthorization>,
    /// The older name of `primaryAuthorization` (`passthrough`, `enforce`), still read.
    primary_smart_mode: Option<PrimaryAuthorization>,
    roles: Option<Vec<roles::RawRole>>,
    roles_claim: Option<String>,
    clock_leeway_seconds: Option<u64>,
    require_at_jwt_typ: Option<bool>,
    fhir_base_url: Option<String>,
    user_claim: Option<String>,
    claim_headers: Option<Vec<extensions::RawClaimHeader>>,
    providers: Option<Vec<extensions::RawProviderSettings>>,
    audit: Option<extensions::RawAudit>,
}

// === validated types ===

/// The configured URL of an identity provider (A3). Distinct from [`Issuer`](crate::keys::Issuer):
/// the issuer is what discovery at this authority says (B2, Q16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority(Url);

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
    fn key(&self) -> &str {
        let s = self.0.as_str();
        s.strip_suffix('/').unwrap_or(s)
    }

    /// Does `text` name this authority (compared as [`Authority::key`] does)?
    pub fn is_named_by(&self, text: &str) -> bool {
        Url::parse(text).is_ok_and(|u| Authority(u).key() == self.key())
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// An OAuth client id (`azp`/`appid`), unique across all providers (A5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(std::sync::Arc<str>);

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
pub struct Audience(String);

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

/// A validated `authenticationConfiguration`.
#[derive(Debug, Clone)]
pub struct Config {
    pub primary: Option<PrimaryAuthority>,
    pub smart_providers: Vec<SmartProvider>,
    /// A8: kept, not acted on (the legacy Entra relay is not implemented).
    pub smart_proxy_enabled: bool,
    pub file_settings: FileSettings,
    /// Claim mapping, user claim, hand-entered endpoints, audit (see [`extensions`]).
    pub extensions: Extensions,
    /// How primary-authority tokens are authorized, and the roles that may do what (Q10, see [`roles`]).
    pub roles: RoleSettings,
    /// Where the configuration object sits in the file (`properties.authenticationConfiguration.` or empty).
    pub path_prefix: &'static str,
}

/// An authority the proxy must discover, with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorityRole {
    Primary,
    Smart(usize),
}

impl Config {
    /// Read and validate a file.
    pub fn load_file(path: &std::path::Path, opts: LoadOptions) -> Result<Config, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
            file: path.display().to_string(),
            source,
        })?;
        Config::from_json(&bytes, opts)
    }

    /// Validate file contents (any of the three shapes).
    pub fn from_json(bytes: &[u8], opts: LoadOptions) -> Result<Config, ConfigError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|source| ConfigError::Syntax {
                path: "$".into(),
                source,
            })?;
        let serde_json::Value::Object(mut top) = value else {
            return Err(ConfigError::invalid("$", "must be a JSON object (rule A1)"));
        };

        // The `proxy` object at the file's top level, for the two wrapped shapes.
        let wrapped_settings = |top: &mut serde_json::Map<String, serde_json::Value>| {
            top.remove("proxy")
                .map(|v| parse_at::<RawFileSettings>(v, "proxy"))
                .transpose()
        };

        let (raw_value, prefix, settings) = if top.contains_key("properties") {
            let settings = wrapped_settings(&mut top)?;
            let Some(serde_json::Value::Object(mut props)) = top.remove("properties") else {
                return Err(ConfigError::invalid(
                    "properties",
                    "must be an object holding authenticationConfiguration (rule A1)",
                ));
            };
            let Some(auth) = props.remove("authenticationConfiguration") else {
                return Err(ConfigError::invalid(
                    "properties.authenticationConfiguration",
                    "is required (rule A1)",
                ));
            };
            (auth, "properties.authenticationConfiguration.", settings)
        } else if top.contains_key("authenticationConfiguration") {
            let settings = wrapped_settings(&mut top)?;
            if let Some(other) = top.keys().find(|k| *k != "authenticationConfiguration") {
                return Err(ConfigError::invalid(
                    other.clone(),
                    "unknown field next to authenticationConfiguration (rule A1)",
                ));
            }
            let auth = top
                .remove("authenticationConfiguration")
                .unwrap_or(serde_json::Value::Null);
            (auth, "authenticationConfiguration.", settings)
        } else {
            (serde_json::Value::Object(top), "", None)
        };

        if !raw_value.is_object() {
            return Err(ConfigError::invalid(
                root_path(prefix),
                "must be a JSON object (rule A1)",
            ));
        }
        let mut raw: RawAuthenticationConfiguration = parse_at(raw_value, prefix)?;
        let (settings, settings_path) = match (settings, raw.proxy.take()) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    format!("{prefix}proxy"),
                    "the proxy object may appear once, at the file's top level",
                ))
            }
            (Some(s), None) => (s, "proxy".to_string()),
            (None, inner) => (inner.unwrap_or_default(), format!("{prefix}proxy")),
        };
        validate(raw, settings, &settings_path, prefix, opts)
    }

    /// Every authority to discover, primary first.
    pub fn authorities(&self) -> impl Iterator<Item = (AuthorityRole, &Authority)> {
        self.primary
            .iter()
            .map(|p| (AuthorityRole::Primary, &p.authority))
            .chain(
                self.smart_providers
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (AuthorityRole::Smart(i), &p.authority)),
            )
    }
}

/// Deserialize with the JSON path of a type mismatch or unknown field in the error.
fn parse_at<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (prefix.trim_end_matches('.'), inner.as_str()) {
            ("", ".") => "$".to_string(),
            ("", p) => p.to_string(),
            (pre, ".") => pre.to_string(),
            (pre, p) if p.starts_with('[') => format!("{pre}{p}"),
            (pre, p) => format!("{pre}.{p}"),
        };
        ConfigError::Syntax {
            path,
            source: e.into_inner(),
        }
    })
}

fn validate(
    raw: RawAuthenticationConfiguration,
    mut settings: RawFileSettings,
    settings_path: &str,
    prefix: &'static str,
    opts: LoadOptions,
) -> Result<Config, ConfigError> {
    let p = |rest: &str| format!("{prefix}{rest}");

    // A1/G1: the primary pair is optional, but both or neither.
    let primary = match (raw.authority, raw.audience) {
        (None, None) => None,
        (Some(authority), Some(audience)) => Some(PrimaryAuthority {
            authority: parse_authority(&authority, &p("authority"), opts)?,
            audience: non_empty(audience, &p("audience"), "rule A1").map(Audience)?,
        }),
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                p("audience"),
                "is required when authority is set (rule G1)",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                p("authority"),
                "is required when audience is set (rule G1)",
            ))
        }
    };

    // A2: absent or null means the primary authority only; present means 1..2 providers.
    let providers_path = p("smartIdentityProviders");
    let raw_providers = match raw.smart_identity_providers {
        None => Vec::new(),
        Some(providers) if providers.is_empty() => {
            return Err(ConfigError::invalid(
                providers_path,
                "must hold at least one provider; omit it or set it to null to use only the primary authority (rule A2)",
            ))
        }
        Some(providers) => providers,
    };
    if raw_providers.len() > MAX_SMART_PROVIDERS {
        return Err(ConfigError::invalid(
            providers_path,
            "The maximum number of SMART identity providers is 2. (rule A2)",
        ));
    }
    let mut smart_providers = Vec::with_capacity(raw_providers.len());
    let mut seen_authorities: Vec<String> = Vec::new();
    let mut seen_clients: HashSet<String> = HashSet::new();
    for (i, raw_provider) in raw_providers.into_iter().enumerate() {
        let pp = format!("{providers_path}[{i}]");
        let Some(raw_provider) = raw_provider else {
            return Err(ConfigError::invalid(pp, "must not be null (rule A2)"));
        };
        let authority_path = format!("{pp}.authority");
        let authority_text = raw_provider
            .authority
            .ok_or_else(|| ConfigError::invalid(&authority_path, "is required (rule A3)"))?;
        let authority = parse_authority(&authority_text, &authority_path, opts)?;
        // A3: unique across providers, also after trimming one trailing '/'.
        let key = authority.key().to_string();
        if seen_authorities.contains(&key) {
            return Err(ConfigError::invalid(
                authority_path,
                "All SMART identity provider authorities must be unique. (rule A3)",
            ));
        }
        seen_authorities.push(key);

        let apps_path = format!("{pp}.applications");
        let raw_apps = match raw_provider.applications {
            Some(apps) if !apps.is_empty() => apps,
            _ => {
                return Err(ConfigError::invalid(
                    apps_path,
                    "One or more SMART applications are null: at least one application is required (rule A4)",
                ))
            }
        };
        if raw_apps.len() > MAX_APPLICATIONS_PER_PROVIDER {
            return Err(ConfigError::invalid(
                apps_path,
                format!(
                    "at most {MAX_APPLICATIONS_PER_PROVIDER} applications per provider, found {} (rules A4, Q1)",
                    raw_apps.len()
                ),
            ));
        }
        let mut applications = Vec::with_capacity(raw_apps.len());
        for (j, raw_app) in raw_apps.into_iter().enumerate() {
            let ap = format!("{apps_path}[{j}]");
            let Some(raw_app) = raw_app else {
                return Err(ConfigError::invalid(
                    ap,
                    "One or more SMART applications are null (rule A4)",
                ));
            };
            applications.push(validate_application(raw_app, &ap, &mut seen_clients)?);
        }
        smart_providers.push(SmartProvider {
            authority,
            applications,
        });
    }

    if primary.is_none() && smart_providers.is_empty() {
        return Err(ConfigError::invalid(
            root_path(prefix),
            "no identity provider configured: set authority/audience or smartIdentityProviders (rules A1, A2)",
        ));
    }

    let raw_extensions = extensions::RawExtensions {
        user_claim: settings.user_claim.take(),
        claim_headers: settings.claim_headers.take(),
        providers: settings.providers.take(),
        audit: settings.audit.take(),
    };
    let roles: Vec<(AuthorityRole, &Authority)> = primary
        .iter()
        .map(|p| (AuthorityRole::Primary, &p.authority))
        .chain(
            smart_providers
                .iter()
                .enumerate()
                .map(|(i, p)| (AuthorityRole::Smart(i), &p.authority)),
        )
        .collect();
    let mut extensions = extensions::validate(raw_extensions, settings_path, &roles, opts)?;
    let role_settings = roles::validate(
        roles::RawRoleSettings {
            primary_authorization: settings.primary_authorization.take(),
            primary_smart_mode: settings.primary_smart_mode.take(),
            roles: settings.roles.take(),
            roles_claim: settings.roles_claim.take(),
        },
        settings_path,
        extensions.primary_roles_claim.take(),
    )?;
    Ok(Config {
        roles: role_settings,
        primary,
        smart_providers,
        smart_proxy_enabled: raw.smart_proxy_enabled.unwrap_or(false),
        file_settings: validate_settings(settings, settings_path)?,
        extensions,
        path_prefix: prefix,
    })
}

fn validate_application(
    raw: RawApplication,
    ap: &str,
    seen_clients: &mut HashSet<String>,
) -> Result<Application, ConfigError> {
    let client_path = format!("{ap}.clientId");
    let client_id = non_empty(
        raw.client_id
            .ok_or_else(|| ConfigError::invalid(&client_path, "is required (rule A5)"))?,
        &client_path,
        "rule A5",
    )?;
    if !seen_clients.insert(client_id.clone()) {
        return Err(ConfigError::invalid(
            client_path,
            "All SMART identity provider application client ids must be unique. (rule A5)",
        ));
    }
    let audience_path = format!("{ap}.audience");
    let audience = non_empty(
        raw.audience
            .ok_or_else(|| ConfigError::invalid(&audience_path, "is required (rule A6)"))?,
        &audience_path,
        "rule A6",
    )?;

    let actions_path = format!("{ap}.allowedDataActions");
    let raw_actions = match raw.allowed_data_actions {
        Some(a) if !a.is_empty() => a,
        _ => {
            return Err(ConfigError::invalid(
                actions_path,
                "must be a non-empty array (rule A7)",
            ))
        }
    };
    let mut allowed_data_actions = Vec::with_capacity(raw_actions.len());
    for (k, action) in raw_actions.iter().enumerate() {
        let action_path = format!("{actions_path}[{k}]");
        let action = match action.as_deref() {
            Some("Read") => DataAction::Read,
            _ => {
                return Err(ConfigError::invalid(
                    action_path,
                    "One or more SMART application allowedDataActions values are invalid: the only valid value is \"Read\" (rule A7)",
                ))
            }
        };
        if allowed_data_actions.contains(&action) {
            return Err(ConfigError::invalid(
                action_path,
                "duplicate value: One or more SMART application allowedDataActions values are invalid (rule A7)",
            ));
        }
        allowed_data_actions.push(action);
    }
    Ok(Application {
        client_id: ClientId(client_id.into()),
        audience: Audience(audience),
        allowed_data_actions,
    })
}

/// `path` is where the `proxy` object sits in the file (`proxy`, or inside the configuration object).
fn validate_settings(raw: RawFileSettings, path: &str) -> Result<FileSettings, ConfigError> {
    if let Some(leeway) = raw.clock_leeway_seconds {
        if leeway > MAX_CLOCK_LEEWAY_SECS {
            return Err(ConfigError::invalid(
                format!("{path}.clockLeewaySeconds"),
                format!("must be 0..={MAX_CLOCK_LEEWAY_SECS} (rule Q15)"),
            ));
        }
    }
    let fhir_base_url = raw
        .fhir_base_url
        .map(|u| {
            Url::parse(&u)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .ok_or_else(|| {
                    ConfigError::invalid(
                        format!("{path}.fhirBaseUrl"),
                        "must be an absolute http(s) URL (rule D6)",
                    )
                })
        })
        .transpose()?;
    Ok(FileSettings {
        clock_leeway_seconds: raw.clock_leeway_seconds,
        require_at_jwt_typ: raw.require_at_jwt_typ,
        fhir_base_url,
    })
}

/// The path of the configuration object itself: `$` for the bare shape.
fn root_path(prefix: &str) -> String {
    if prefix.is_empty() {
        "$".to_string()
    } else {
        prefix.trim_end_matches('.').to_string()
    }
}

fn non_empty(value: String, path: &str, rule: &str) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        Err(ConfigError::invalid(
            path,
            format!("must not be empty ({rule})"),
        ))
    } else {
        Ok(value)
    }
}

/// A3, Q16: an absolute https URL (http only with the insecure flag), no query or fragment, no credentials.
fn parse_authority(text: &str, path: &str, opts: LoadOptions) -> Result<Authority, ConfigError> {
    let text = non_empty(text.to_string(), path, "rule A3")?;
    let url = Url::parse(&text).map_err(|e| {
        ConfigError::invalid(
            path,
            format!("must be a fully qualified URL ({e}) (rule A3)"),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if opts.allow_insecure_http => {}
        "http" => {
            return Err(ConfigError::invalid(
                path,
                "must use https; http is allowed only with --allow-insecure-http (rules A3, Q16)",
            ))
        }
        other => {
            return Err(ConfigError::invalid(
                path,
                format!("must be an https URL, not {other} (rule A3)"),
            ))
        }
    }
    if !url.has_host() || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid(
            path,
            "must be a URL with a host and no query or fragment (rule A3)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::invalid(
            path,
            "must not carry credentials (rule A3)",
        ));
    }
    Ok(Authority(url))
}

pub mod extensions;
pub mod roles;

pub use extensions::Extensions;
pub use roles::{PrimaryAuthorization, RoleSettings};

#[cfg(test)]
mod tests;
