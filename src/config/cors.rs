//! Azure's `corsConfiguration` (`origins`, `headers`, `methods`, `maxAge`, `allowCredentials`), validated like the
//! rest of the file: where ARM puts it (beside `authenticationConfiguration`: under `properties` in the ARM body, at
//! the top level in the wrapped shape) or in the `proxy` object (any shape).
//!
//! In: the raw object and its JSON path. Out: [`CorsSettings`]. Errors: [`ConfigError`] naming the path.

use http::{HeaderName, Method};
use serde::Deserialize;
use url::Url;

use super::ConfigError;

/// The largest `maxAge` Azure accepts, in seconds.
pub const MAX_CORS_MAX_AGE: u32 = 99_999;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawCors {
    origins: Option<Vec<String>>,
    headers: Option<Vec<String>>,
    methods: Option<Vec<String>>,
    max_age: Option<u32>,
    allow_credentials: Option<bool>,
}

/// Which origins may read answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// `*`: every origin.
    Any,
    /// Exactly these serialised origins (`https://app.example`, `http://127.0.0.1:5173`).
    List(Vec<String>),
}

/// A list of names or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowList<T> {
    Any,
    List(Vec<T>),
}

/// Validated CORS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsSettings {
    pub origins: AllowedOrigins,
    pub headers: AllowList<HeaderName>,
    pub methods: AllowList<Method>,
    /// Seconds a browser may cache a preflight answer.
    pub max_age: Option<u32>,
    pub allow_credentials: bool,
}

impl CorsSettings {
    /// Is `origin` (the request's `Origin` header) allowed?
    pub fn allows(&self, origin: &str) -> bool {
        match &self.origins {
            AllowedOrigins::Any => true,
            AllowedOrigins::List(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }
}

/// Validate a `corsConfiguration` found at `path`.
pub(super) fn validate(raw: RawCors, path: &str) -> Result<CorsSettings, ConfigError> {
    let allow_credentials = raw.allow_credentials.unwrap_or(false);
    let raw_origins = raw.origins.unwrap_or_default();
    if raw_origins.is_empty() {
        return Err(ConfigError::invalid(
            format!("{path}.origins"),
            "must list at least one origin (or \"*\")",
        ));
    }
    let origins = if raw_origins.iter().any(|o| o == "*") {
        if raw_origins.len() > 1 {
            return Err(ConfigError::invalid(
                format!("{path}.origins"),
                "\"*\" allows every origin; list it alone or list explicit origins",
            ));
        }
        if allow_credentials {
            return Err(ConfigError::invalid(
                format!("{path}.allowCredentials"),
                "cannot be true with the origin \"*\": browsers refuse credentials for a wildcard origin; list the origins",
            ));
        }
        AllowedOrigins::Any
    } else {
        let mut list = Vec::with_capacity(raw_origins.len());
        for (i, o) in raw_origins.iter().enumerate() {
            list.push(
                origin(o)
                    .map_err(|why| ConfigError::invalid(format!("{path}.origins[{i}]"), why))?,
            );
        }
        AllowedOrigins::List(list)
    };
    let headers = match raw.headers.unwrap_or_default() {
        h if h.iter().any(|x| x == "*") => AllowList::Any,
        h => AllowList::List(
            h.iter()
                .enumerate()
                .map(|(i, name)| {
                    HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                        ConfigError::invalid(
                            format!("{path}.headers[{i}]"),
                            "is not a valid HTTP header name",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let methods = match raw.methods.unwrap_or_default() {
        m if m.iter().any(|x| x == "*") => AllowList::Any,
        m => AllowList::List(
            m.iter()
                .enumerate()
                .map(|(i, name)| match name.as_str() {
                    "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => {
                        Method::from_bytes(name.as_bytes()).map_err(|_| {
                            ConfigError::invalid(format!("{path}.methods[{i}]"), "is not an HTTP method")
                        })
                    }
                    _ => Err(ConfigError::invalid(
                        format!("{path}.methods[{i}]"),
                        "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (upper case) or \"*\"",
                    )),
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    if let Some(age) = raw.max_age {
        if age > MAX_CORS_MAX_AGE {
            return Err(ConfigError::invalid(
                format!("{path}.maxAge"),
                format!("must be 0..={MAX_CORS_MAX_AGE} seconds"),
            ));
        }
    }
    Ok(CorsSettings {
        origins,
        headers,
        methods,
        max_age: raw.max_age,
        allow_credentials,
    })
}

/// An origin as browsers send it: `scheme://host[:port]`, http or https, nothing after.
fn origin(text: &str) -> Result<String, &'static str> {
    if text.trim() != text || text.is_empty() {
        return Err("must be an origin such as https://app.example, without spaces");
    }
    let url = Url::parse(text).map_err(|_| "must be an origin such as https://app.example")?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err("must be an http or https origin such as https://app.example");
    }
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(
            "must be an origin only (scheme, host and port), without a path, query or credentials",
        );
    }
    if text.ends_with('/') {
        return Err("must not end with '/': browsers send the origin without it");
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(v: serde_json::Value) -> RawCors {
        serde_json::from_value(v).expect("raw")
    }

    #[test]
    fn cors_origins_headers_methods_and_limits() {
        let ok = validate(
            raw(serde_json::json!({"origins": ["https://app.example", "http://127.0.0.1:5173"], "headers": ["Authorization", "Content-Type"],
                "methods": ["GET", "POST"], "maxAge": 600, "allowCredentials": true})),
            "corsConfiguration",
        )
        .expect("valid");
        assert!(ok.allows("https://app.example") && ok.allows("http://127.0.0.1:5173"));
        assert!(!ok.allows("https://evil.example") && !ok.allows("null"));
        assert_eq!(ok.max_age, Some(600));
        let any = validate(
            raw(serde_json::json!({"origins": ["*"], "headers": ["*"], "methods": ["*"]})),
            "c",
        )
        .expect("valid");
        assert!(any.allows("https://anything.example"));
        assert_eq!(any.headers, AllowList::Any);
        for (v, path, why) in [
            (
                serde_json::json!({"origins": []}),
                "c.origins",
                "at least one",
            ),
            (
                serde_json::json!({"origins": ["*"], "allowCredentials": true}),
                "c.allowCredentials",
                "wildcard",
            ),
            (
                serde_json::json!({"origins": ["*", "https://a.example"]}),
                "c.origins",
                "alone",
            ),
            (
                serde_json::json!({"origins": ["https://a.example/"]}),
                "c.origins[0]",
                "end with '/'",
            ),
            (
                serde_json::json!({"origins": ["https://a.example/app"]}),
                "c.origins[0]",
                "without a path",
            ),
            (
                serde_json::json!({"origins": ["ftp://a.example"]}),
                "c.origins[0]",
                "http or https",
            ),
            (
                serde_json::json!({"origins": ["a.example"]}),
                "c.origins[0]",
                "origin such as",
            ),
            (
                serde_json::json!({"origins": ["*"], "methods": ["get"]}),
                "c.methods[0]",
                "upper case",
            ),
            (
                serde_json::json!({"origins": ["*"], "headers": ["bad header"]}),
                "c.headers[0]",
                "header name",
            ),
            (
                serde_json::json!({"origins": ["*"], "maxAge": 100000}),
                "c.maxAge",
                "0..=99999",
            ),
        ] {
            let e = validate(raw(v.clone()), "c")
                .expect_err(&v.to_string())
                .to_string();
            assert!(
                e.starts_with(&format!("{path}: ")) && e.contains(why),
                "{v}: {e}"
            );
        }
    }
}
