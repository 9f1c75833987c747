//! `fhir-jwt-proxy check`: validate a config file and, unless offline, fetch what each authority serves.
//!
//! In: a config path and flags. Out: a report, as text for people or JSON for deployment pipelines, and an exit
//! code: 0 valid (and every authority answered with usable metadata and keys), 2 invalid config, 1 an authority
//! failed.

use std::path::Path;

use serde_json::{json, Value};

use crate::config::{AuthorityRole, Config, LoadOptions};
use crate::discovery::{FetchTimeouts, Fetcher};
use crate::jwk::parse_jwks;

/// The outcome of `check`.
#[derive(Debug)]
pub struct CheckReport {
    pub exit_code: u8,
    /// `{"valid", "error"?, "primary", "smartIdentityProviders", "applications", "authorities": [...]}`.
    pub json: Value,
}

pub async fn check(
    path: &Path,
    offline: bool,
    allow_insecure_http: bool,
    extra_ca: Option<&Path>,
) -> CheckReport {
    let config = match Config::load_file(
        path,
        LoadOptions {
            allow_insecure_http,
        },
    ) {
        Ok(c) => c,
        Err(e) => {
            return CheckReport {
                exit_code: 2,
                json: json!({"valid": false, "error": e.to_string()}),
            }
        }
    };
    let mut report = json!({
        "valid": true,
        "primary": config.primary.is_some(),
        "smartIdentityProviders": config.smart_providers.len(),
        "applications": config.smart_providers.iter().map(|p| p.applications.len()).sum::<usize>(),
        "offline": offline,
        "authorities": [],
        "primaryAuthorization": config.roles.mode.name(),
        "roles": config.roles.roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        "rolesClaim": config.roles.claim.text(),
        "warnings": config.roles.warning(config.primary.is_some(), config.roles.mode).into_iter().collect::<Vec<_>>(),
    });
    if offline {
        report["authorities"] = config
            .authorities()
            .map(|(role, authority)| {
                json!({"path": role_path(role), "authority": authority.as_str(),
                       "discovery": config.extensions.endpoints(role).is_none()})
            })
            .collect();
        return CheckReport {
            exit_code: 0,
            json: report,
        };
    }
    let extra_roots = match extra_ca.map(crate::tls::ca_certificates).transpose() {
        Ok(roots) => roots.unwrap_or_default(),
        Err(e) => {
            report["error"] = json!(e.to_string());
            return CheckReport {
                exit_code: 1,
                json: report,
            };
        }
    };
    let fetcher = match Fetcher::new(
        allow_insecure_http,
        FetchTimeouts::default(),
        &extra_roots,
        &crate::discovery::EgressProxy::Environment,
    ) {
        Ok(f) => f,
        Err(e) => {
            report["error"] = json!(format!("cannot build an HTTP client: {e}"));
            return CheckReport {
                exit_code: 1,
                json: report,
            };
        }
    };
    let mut failed = false;
    let mut authorities = Vec::new();
    for (role, authority) in config.authorities() {
        let path = role_path(role);
        let manual = config.extensions.endpoints(role).cloned();
        let mut entry =
            json!({"path": path, "authority": authority.as_str(), "discovery": manual.is_none()});
        let metadata = match manual {
            Some(m) => Ok(m),
            None => fetcher.metadata(authority).await,
        };
        match metadata {
            Err(e) => {
                failed = true;
                entry["error"] = json!(format!("discovery: {e}"));
            }
            Ok(metadata) => {
                entry["issuer"] = json!(metadata.issuer.as_str());
                entry["jwks_uri"] = json!(metadata.jwks_uri.as_str());
                let url = metadata.jwks_uri.to_string();
                let keys = match fetcher.jwks(&metadata.jwks_uri).await {
                    Ok(doc) => parse_jwks(&url, &doc.bytes, metadata).map_err(Into::into),
                    Err(e) => Err(e),
                };
                match keys {
                    Ok(set) => {
                        entry["keys"] = set
                            .keys
                            .iter()
                            .map(|k| json!({"kid": k.kid, "kty": k.kty(), "alg": k.alg.map(|a| a.name())}))
                            .collect();
                        entry["skipped"] = json!(set.skipped);
                    }
                    Err(e) => {
                        failed = true;
                        entry["error"] = json!(format!("keys: {e}"));
                    }
                }
            }
        }
        authorities.push(entry);
    }
    report["authorities"] = Value::Array(authorities);
    CheckReport {
        exit_code: if failed { 1 } else { 0 },
        json: report,
    }
}

fn role_path(role: AuthorityRole) -> String {
    match role {
        AuthorityRole::Primary => "authority".to_string(),
        AuthorityRole::Smart(i) => format!("smartIdentityProviders[{i}].authority"),
    }
}

impl CheckReport {
    /// The report for people.
    pub fn text(&self) -> String {
        let r = &self.json;
        if r["valid"] == false {
            return format!(
                "invalid configuration: {}\n",
                r["error"].as_str().unwrap_or("")
            );
        }
        let mut out = format!(
            "configuration is valid: {} primary authority, {} SMART identity provider(s), {} application(s)\n",
            u8::from(r["primary"] == true),
            r["smartIdentityProviders"],
            r["applications"]
        );
        if r["primary"] == true {
            let roles: Vec<&str> = r["roles"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push_str(&format!(
                "primary tokens authorized by: {}{}\n",
                r["primaryAuthorization"].as_str().unwrap_or(""),
                if r["primaryAuthorization"] == "roles" && !roles.is_empty() {
                    format!(
                        " (claim {}; roles {})",
                        r["rolesClaim"].as_str().unwrap_or(""),
                        roles.join(", ")
                    )
                } else {
                    String::new()
                }
            ));
        }
        for w in r["warnings"].as_array().into_iter().flatten() {
            out.push_str(&format!("WARNING: {}\n", w.as_str().unwrap_or("")));
        }
        if r["offline"] == true {
            out.push_str("offline: discovery and JWKS not fetched\n");
        }
        for a in r["authorities"].as_array().into_iter().flatten() {
            let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
            out.push_str(&format!("\n{}: {}\n", s("path"), s("authority")));
            if a["discovery"] == false {
                out.push_str("  discovery: off (hand-entered issuer and jwks_uri)\n");
            }
            if a.get("issuer").is_some() {
                out.push_str(&format!(
                    "  issuer:   {}\n  jwks_uri: {}\n",
                    s("issuer"),
                    s("jwks_uri")
                ));
            }
            for k in a["keys"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  key kid={} kty={} alg={}\n",
                    k["kid"].as_str().unwrap_or("(none)"),
                    k["kty"].as_str().unwrap_or(""),
                    k["alg"].as_str().unwrap_or("(any fitting)")
                ));
            }
            for why in a["skipped"].as_array().into_iter().flatten() {
                out.push_str(&format!("  skipped {}\n", why.as_str().unwrap_or("")));
            }
            if let Some(e) = a["error"].as_str() {
                out.push_str(&format!("  FAILED {e}\n"));
            }
        }
        out
    }
}
