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

use std::collections::HashMap;

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
    /// Several problems of one file, each with its path, one per line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Many(Vec<ConfigError>),
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
    cors_configuration: Option<cors::RawCors>,
    smart_configuration: Option<smart_configuration::RawSmartConfiguration>,
    clock_leeway_seconds: Option<u64>,
    require_at_jwt_typ: Option<bool>,
    fhir_base_url: Option<String>,
    user_claim: Option<String>,
    claim_headers: Option<Vec<extensions::RawClaimHeader>>,
    providers: Option<Vec<extensions::RawProviderSettings>>,
    audit: Option<extensions::RawAudit>,
}

// === validated types: see [`model`] ===

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
    /// Azure's `corsConfiguration`: which browser origins may call the proxy (`None`: no CORS answers).
    pub cors: Option<cors::CorsSettings>,
    /// What the proxy answers at `/.well-known/smart-configuration` (`None`: forwarded, as any public path).
    pub smart_configuration: Option<smart_configuration::SmartConfiguration>,
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
            return Err(ConfigError::invalid("$", "must be a JSON object"));
        };

        // The `proxy` object at the file's top level, for the two wrapped shapes.
        let wrapped_settings = |top: &mut serde_json::Map<String, serde_json::Value>| {
            top.remove("proxy")
                .map(|v| parse_at::<RawFileSettings>(v, "proxy"))
                .transpose()
        };

        // Azure's corsConfiguration sits beside authenticationConfiguration.
        let beside = |holder: &mut serde_json::Map<String, serde_json::Value>, path: &str| {
            holder
                .remove("corsConfiguration")
                .map(|v| parse_at::<cors::RawCors>(v, path).map(|c| (c, path.to_string())))
                .transpose()
        };
        let mut cors_beside = None;
        let (raw_value, prefix, settings) = if top.contains_key("properties") {
            let settings = wrapped_settings(&mut top)?;
            let Some(serde_json::Value::Object(mut props)) = top.remove("properties") else {
                return Err(ConfigError::invalid(
                    "properties",
                    "must be an object holding authenticationConfiguration",
                ));
            };
            let Some(auth) = props.remove("authenticationConfiguration") else {
                return Err(ConfigError::invalid(
                    "properties.authenticationConfiguration",
                    "is required",
                ));
            };
            cors_beside = beside(&mut props, "properties.corsConfiguration")?;
            (auth, "properties.authenticationConfiguration.", settings)
        } else if top.contains_key("authenticationConfiguration") {
            let settings = wrapped_settings(&mut top)?;
            cors_beside = beside(&mut top, "corsConfiguration")?;
            if let Some(other) = top.keys().find(|k| *k != "authenticationConfiguration") {
                return Err(ConfigError::invalid(
                    other.clone(),
                    "unknown field next to authenticationConfiguration",
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
                "must be a JSON object",
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
        let mut config = validate(raw, settings, &settings_path, prefix, opts)?;
        if let Some((raw_cors, path)) = cors_beside {
            if config.cors.is_some() {
                return Err(ConfigError::invalid(
                    path,
                    "corsConfiguration may appear once: beside authenticationConfiguration or in the proxy object",
                ));
            }
            config.cors = Some(cors::validate(raw_cors, &path)?);
        }
        Ok(config)
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

/// Every problem of one file, collected: an operator fixes them all in one round.
#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    /// The value, or `None` with the error kept.
    fn take<T>(&mut self, result: Result<T, ConfigError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError::invalid(path, message));
    }

    /// `Ok(value)` when nothing was found, else one error (or all of them).
    fn finish<T>(mut self, value: impl FnOnce() -> Option<T>) -> Result<T, ConfigError> {
        match self.0.len() {
            0 => value().ok_or_else(|| ConfigError::invalid("$", "is not a valid configuration")),
            1 => Err(self.0.remove(0)),
            _ => Err(ConfigError::Many(self.0)),
        }
    }
}

fn validate(
    raw: RawAuthenticationConfiguration,
    mut settings: RawFileSettings,
    settings_path: &str,
    prefix: &'static str,
    opts: LoadOptions,
) -> Result<Config, ConfigError> {
    let p = |rest: &str| format!("{prefix}{rest}");
    let mut problems = Problems::default();

    // A1/G1: the primary pair is optional, but both or neither.
    let primary_configured = raw.authority.is_some() || raw.audience.is_some();
    let primary = match (raw.authority, raw.audience) {
        (None, None) => None,
        (Some(authority), Some(audience)) => {
            let authority = problems.take(parse_authority(&authority, &p("authority"), opts));
            let audience = problems.take(plain_value(audience, &p("audience")).map(Audience));
            authority
                .zip(audience)
                .map(|(authority, audience)| PrimaryAuthority {
                    authority,
                    audience,
                })
        }
        (Some(_), None) => {
            problems.add(p("audience"), "is required when authority is set");
            None
        }
        (None, Some(_)) => {
            problems.add(p("authority"), "is required when audience is set");
            None
        }
    };

    // A2: absent or null means the primary authority only; present means 1..2 providers.
    let providers_path = p("smartIdentityProviders");
    let raw_providers = match raw.smart_identity_providers {
        None => Vec::new(),
        Some(providers) if providers.is_empty() => {
            problems.add(
                &providers_path,
                "must hold at least one provider; omit it or set it to null to use only the primary authority",
            );
            Vec::new()
        }
        Some(providers) => providers,
    };
    if raw_providers.len() > MAX_SMART_PROVIDERS {
        problems.add(
            &providers_path,
            format!(
                "The maximum number of SMART identity providers is {MAX_SMART_PROVIDERS}. This file has {}.",
                raw_providers.len()
            ),
        );
    }
    let mut smart_providers = Vec::with_capacity(raw_providers.len());
    // A3: authority key → where it was first seen and as written.
    let mut seen_authorities: Vec<(String, String, String)> = Vec::new();
    // A5: client id → where it was first seen.
    let mut seen_clients: HashMap<String, String> = HashMap::new();
    let mut providers_broken = false;
    for (i, raw_provider) in raw_providers.into_iter().enumerate() {
        let pp = format!("{providers_path}[{i}]");
        let Some(raw_provider) = raw_provider else {
            problems.add(pp, "must not be null");
            providers_broken = true;
            continue;
        };
        let authority_path = format!("{pp}.authority");
        let authority = match raw_provider.authority {
            None => {
                problems.add(&authority_path, "is required");
                None
            }
            Some(text) => problems.take(parse_authority(&text, &authority_path, opts)),
        };
        if let Some(authority) = &authority {
            // A3: unique across providers, also after normalisation and trimming one trailing '/'.
            let key = authority.key().to_string();
            match seen_authorities.iter().find(|(k, _, _)| *k == key) {
                Some((_, first_path, first_text)) if *first_text == authority.as_str() => problems.add(
                    &authority_path,
                    format!("All SMART identity provider authorities must be unique. This one is also at {first_path}."),
                ),
                Some((_, first_path, first_text)) => problems.add(
                    &authority_path,
                    format!(
                        "All SMART identity provider authorities must be unique. \"{authority}\" is the same authority as \"{first_text}\" at {first_path} once normalised (host case, default port, one trailing /)."
                    ),
                ),
                None => seen_authorities.push((key, authority_path.clone(), authority.as_str().to_string())),
            }
        }

        let apps_path = format!("{pp}.applications");
        let raw_apps = match raw_provider.applications {
            Some(apps) if !apps.is_empty() => apps,
            _ => {
                problems.add(
                    &apps_path,
                    "One or more SMART applications are null: at least one application is required",
                );
                Vec::new()
            }
        };
        if raw_apps.len() > MAX_APPLICATIONS_PER_PROVIDER {
            problems.add(
                &apps_path,
                format!(
                    "at most {MAX_APPLICATIONS_PER_PROVIDER} applications per provider, found {}",
                    raw_apps.len()
                ),
            );
        }
        let mut applications = Vec::with_capacity(raw_apps.len());
        for (j, raw_app) in raw_apps.into_iter().enumerate() {
            let ap = format!("{apps_path}[{j}]");
            let Some(raw_app) = raw_app else {
                problems.add(ap, "One or more SMART applications are null");
                continue;
            };
            if let Some(app) = validate_application(raw_app, &ap, &mut seen_clients, &mut problems)
            {
                applications.push(app);
            }
        }
        match authority {
            Some(authority) => smart_providers.push(SmartProvider {
                authority,
                applications,
            }),
            None => providers_broken = true,
        }
    }

    if !primary_configured
        && smart_providers.is_empty()
        && !providers_broken
        && problems.0.is_empty()
    {
        problems.add(
            root_path(prefix),
            "no identity provider configured: set authority/audience or smartIdentityProviders",
        );
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
    let mut extensions = problems.take(extensions::validate(
        raw_extensions,
        settings_path,
        &roles,
        opts,
    ));
    let role_settings = problems.take(roles::validate(
        roles::RawRoleSettings {
            primary_authorization: settings.primary_authorization.take(),
            primary_smart_mode: settings.primary_smart_mode.take(),
            roles: settings.roles.take(),
            roles_claim: settings.roles_claim.take(),
        },
        settings_path,
        extensions
            .as_mut()
            .and_then(|e| e.primary_roles_claim.take()),
    ));
    let cors = match settings.cors_configuration.take() {
        Some(raw) => problems
            .take(cors::validate(
                raw,
                &format!("{settings_path}.corsConfiguration"),
            ))
            .map(Some),
        None => Some(None),
    };
    let smart_configuration = match settings.smart_configuration.take() {
        Some(raw) => {
            let authorities: Vec<&Authority> =
                smart_providers.iter().map(|p| &p.authority).collect();
            problems
                .take(smart_configuration::validate(
                    raw,
                    &format!("{settings_path}.smartConfiguration"),
                    &authorities,
                ))
                .map(Some)
        }
        None => Some(None),
    };
    let file_settings = problems.take(validate_settings(settings, settings_path));
    problems.finish(|| {
        Some(Config {
            roles: role_settings?,
            cors: cors?,
            smart_configuration: smart_configuration?,
            primary,
            smart_providers,
            smart_proxy_enabled: raw.smart_proxy_enabled.unwrap_or(false),
            file_settings: file_settings?,
            extensions: extensions?,
            path_prefix: prefix,
        })
    })
}

/// One application; its problems go to `problems` (all of them, not only the first).
fn validate_application(
    raw: RawApplication,
    ap: &str,
    seen_clients: &mut HashMap<String, String>,
    problems: &mut Problems,
) -> Option<Application> {
    let client_path = format!("{ap}.clientId");
    let client_id = match raw.client_id {
        None => {
            problems.add(&client_path, "is required");
            None
        }
        Some(id) => problems.take(plain_value(id, &client_path)),
    };
    if let Some(id) = &client_id {
        if let Some(first) = seen_clients.get(id) {
            problems.add(
                &client_path,
                format!(
                    "All SMART identity provider application client ids must be unique. clientId \"{id}\" at {ap} is also at {}.",
                    first.trim_end_matches(".clientId")
                ),
            );
        } else {
            seen_clients.insert(id.clone(), client_path.clone());
        }
    }
    let audience_path = format!("{ap}.audience");
    let audience = match raw.audience {
        None => {
            problems.add(&audience_path, "is required");
            None
        }
        Some(a) => problems.take(plain_value(a, &audience_path)),
    };

    let actions_path = format!("{ap}.allowedDataActions");
    let raw_actions = match raw.allowed_data_actions {
        Some(a) if !a.is_empty() => a,
        _ => {
            problems.add(&actions_path, "must be a non-empty array");
            Vec::new()
        }
    };
    let mut allowed_data_actions = Vec::with_capacity(raw_actions.len());
    let mut actions_ok = true;
    for (k, action) in raw_actions.iter().enumerate() {
        let action_path = format!("{actions_path}[{k}]");
        let action = match action.as_deref() {
            Some("Read") => DataAction::Read,
            _ => {
                problems.add(
                    action_path,
                    "One or more SMART application allowedDataActions values are invalid: the only valid value is \"Read\"",
                );
                actions_ok = false;
                continue;
            }
        };
        if allowed_data_actions.contains(&action) {
            problems.add(
                action_path,
                "duplicate value: One or more SMART application allowedDataActions values are invalid",
            );
            actions_ok = false;
            continue;
        }
        allowed_data_actions.push(action);
    }
    let (client_id, audience) = (client_id?, audience?);
    (actions_ok && !allowed_data_actions.is_empty()).then(|| Application {
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
                format!("must be 0..={MAX_CLOCK_LEEWAY_SECS}"),
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
                        "must be an absolute http(s) URL",
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

/// An id, audience or authority as written: not empty, and no leading or trailing whitespace (a pasted newline or
/// space would never match a token's claim, and would be invisible in the file).
fn plain_value(value: String, path: &str) -> Result<String, ConfigError> {
    if value.trim().is_empty() {
        Err(ConfigError::invalid(path, "must not be empty"))
    } else if value.trim() != value {
        Err(ConfigError::invalid(
            path,
            "must not start or end with whitespace (spaces, tabs, newlines)",
        ))
    } else {
        Ok(value)
    }
}

/// A3, Q16: an absolute https URL (http only with the insecure flag), no query or fragment, no credentials.
fn parse_authority(text: &str, path: &str, opts: LoadOptions) -> Result<Authority, ConfigError> {
    let text = plain_value(text.to_string(), path)?;
    let url = Url::parse(&text)
        .map_err(|e| ConfigError::invalid(path, format!("must be a fully qualified URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if opts.allow_insecure_http => {}
        "http" => {
            return Err(ConfigError::invalid(
                path,
                "must use https; http is allowed only with --allow-insecure-http",
            ))
        }
        other => {
            return Err(ConfigError::invalid(
                path,
                format!("must be an https URL, not {other}"),
            ))
        }
    }
    if !url.has_host() || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid(
            path,
            "must be a URL with a host and no query or fragment",
        ));
    }
    if url
        .path()
        .trim_end_matches('/')
        .ends_with("/.well-known/openid-configuration")
    {
        return Err(ConfigError::invalid(
            path,
            "names the discovery document; give the issuer's base URL and the proxy appends /.well-known/openid-configuration",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::invalid(path, "must not carry credentials"));
    }
    Ok(Authority(url))
}

pub mod claim_mapping;
pub mod cors;
pub mod extensions;
pub mod model;
pub mod roles;
pub mod smart_configuration;

pub use extensions::Extensions;
pub use model::{
    Application, Audience, Authority, ClientId, DataAction, FileSettings, Issuer, PrimaryAuthority,
    ProviderMetadata, SmartProvider,
};
pub use roles::{PrimaryAuthorization, RoleSettings};

#[cfg(test)]
mod tests;
