//! `fhir-jwt-proxy check`: validate a config file and, unless offline, fetch what each authority serves.
//!
//! In: a config path and flags. Out: a human report on stdout and an exit code: 0 valid (and every authority
//! answered with usable metadata and keys), 2 invalid config, 1 an authority failed.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::{AuthorityRole, Config, LoadOptions};
use crate::discovery::{FetchTimeouts, Fetcher};
use crate::keys::parse_jwks;

/// The outcome of `check`, with the text to print.
#[derive(Debug)]
pub struct CheckReport {
    pub exit_code: u8,
    pub text: String,
}

pub async fn check(path: &Path, offline: bool, allow_insecure_http: bool) -> CheckReport {
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
                text: format!("invalid configuration: {e}\n"),
            }
        }
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "configuration is valid: {} primary authority, {} SMART identity provider(s), {} application(s)",
        usize::from(config.primary.is_some()),
        config.smart_providers.len(),
        config.smart_providers.iter().map(|p| p.applications.len()).sum::<usize>()
    );
    if offline {
        let _ = writeln!(text, "offline: discovery and JWKS not fetched");
        return CheckReport { exit_code: 0, text };
    }
    let fetcher = match Fetcher::new(allow_insecure_http, FetchTimeouts::default()) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(text, "cannot build an HTTP client: {e}");
            return CheckReport { exit_code: 1, text };
        }
    };
    let mut failed = false;
    for (role, authority) in config.authorities() {
        let label = match role {
            AuthorityRole::Primary => "authority".to_string(),
            AuthorityRole::Smart(i) => format!("smartIdentityProviders[{i}].authority"),
        };
        let _ = writeln!(text, "\n{label}: {authority}");
        let metadata = match fetcher.metadata(authority).await {
            Ok(m) => m,
            Err(e) => {
                failed = true;
                let _ = writeln!(text, "  FAILED discovery: {e}");
                continue;
            }
        };
        let _ = writeln!(text, "  issuer:   {}", metadata.issuer.as_str());
        let _ = writeln!(text, "  jwks_uri: {}", metadata.jwks_uri);
        let url = metadata.jwks_uri.to_string();
        let keys = match fetcher.jwks(&metadata.jwks_uri).await {
            Ok(doc) => parse_jwks(&url, &doc, metadata),
            Err(e) => Err(e),
        };
        match keys {
            Ok(set) => {
                for k in &set.keys {
                    let _ = writeln!(
                        text,
                        "  key kid={} kty={} alg={}",
                        k.kid.as_deref().unwrap_or("(none)"),
                        k.kty(),
                        k.alg.map_or("(any fitting)", |a| a.name())
                    );
                }
                for why in &set.skipped {
                    let _ = writeln!(text, "  skipped {why}");
                }
            }
            Err(e) => {
                failed = true;
                let _ = writeln!(text, "  FAILED keys: {e}");
            }
        }
    }
    CheckReport {
        exit_code: if failed { 1 } else { 0 },
        text,
    }
}
