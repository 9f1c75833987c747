//! Links in answers, presented with the proxy's public base (paging through the proxy).
//!
//! In: the upstream's base URL, the public base the client used (or the configured `--fhir-base-url`), and an
//! answer's JSON body or `Location`/`Content-Location` header. Out: the same with every URL under the upstream's
//! base rewritten under the public base (Bundle `link[].url`, `entry[].fullUrl`, `entry[].response.location`), and
//! the continuation tokens the links carry (HAPI's `_getpages`, Microsoft's `ct`), which the proxy binds to the
//! token that received them. Pure.

use serde_json::Value;

/// Query parameters that name server-side state of an earlier search: a continuation.
pub const CONTINUATION_PARAMS: [&str; 2] = ["_getpages", "ct"];

/// `from` → `to` for URLs, both without a trailing `/`.
#[derive(Debug, Clone)]
pub struct Rebase<'a> {
    pub from: &'a str,
    pub to: &'a str,
}

impl Rebase<'_> {
    /// `url` under the public base, when it is under the upstream's base (`None` otherwise).
    pub fn url(&self, url: &str) -> Option<String> {
        let rest = url.strip_prefix(self.from)?;
        // `http://up/fhir` must not match `http://up/fhirx/...`.
        if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
            return None;
        }
        Some(format!("{}{rest}", self.to))
    }

    /// Rewrite the links of a Bundle (or any resource: only the known link fields are touched) and collect the
    /// continuation tokens its `link[]` URLs carry. Returns whether anything changed.
    pub fn bundle(&self, value: &mut Value, tokens: &mut Vec<String>) -> bool {
        let mut changed = false;
        if let Some(links) = value.get_mut("link").and_then(Value::as_array_mut) {
            for link in links {
                if let Some(Value::String(url)) = link.get_mut("url") {
                    continuation_tokens(url, tokens);
                    if let Some(new) = self.url(url) {
                        *url = new;
                        changed = true;
                    }
                }
            }
        }
        if let Some(entries) = value.get_mut("entry").and_then(Value::as_array_mut) {
            for entry in entries {
                if let Some(Value::String(url)) = entry.get_mut("fullUrl") {
                    if let Some(new) = self.url(url) {
                        *url = new;
                        changed = true;
                    }
                }
                if let Some(Value::String(url)) = entry.pointer_mut("/response/location") {
                    if let Some(new) = self.url(url) {
                        *url = new;
                        changed = true;
                    }
                }
            }
        }
        changed
    }
}

/// The values of continuation parameters in a URL's query.
pub fn continuation_tokens(url: &str, out: &mut Vec<String>) {
    let Some((_, query)) = url.split_once('?') else {
        return;
    };
    for (key, value, _) in crate::fhir::query::pairs(query) {
        if CONTINUATION_PARAMS
            .iter()
            .any(|p| key.eq_ignore_ascii_case(p))
            && !value.is_empty()
        {
            out.push(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_under_the_upstream_base_are_presented_under_the_public_base() {
        let r = Rebase {
            from: "http://fhir.internal:8080/fhir",
            to: "https://proxy.example/r4",
        };
        assert_eq!(
            r.url("http://fhir.internal:8080/fhir/Observation?_count=2&_offset=2")
                .as_deref(),
            Some("https://proxy.example/r4/Observation?_count=2&_offset=2")
        );
        assert_eq!(
            r.url("http://fhir.internal:8080/fhir?_getpages=abc")
                .as_deref(),
            Some("https://proxy.example/r4?_getpages=abc")
        );
        assert_eq!(r.url("http://fhir.internal:8080/fhirx/Patient/1"), None);
        assert_eq!(r.url("https://elsewhere.example/Patient/1"), None);
        let mut bundle = serde_json::json!({"resourceType": "Bundle",
            "link": [{"relation": "next", "url": "http://fhir.internal:8080/fhir?_getpages=abc&_getpagesoffset=2"},
                     {"relation": "self", "url": "http://fhir.internal:8080/fhir/Observation?ct=tok%2B1"}],
            "entry": [{"fullUrl": "http://fhir.internal:8080/fhir/Observation/o1", "resource": {"resourceType": "Observation"},
                       "response": {"location": "http://fhir.internal:8080/fhir/Observation/o1/_history/1"}}]});
        let mut tokens = Vec::new();
        assert!(r.bundle(&mut bundle, &mut tokens));
        assert_eq!(tokens, ["abc", "tok+1"]);
        assert_eq!(
            bundle["link"][0]["url"],
            "https://proxy.example/r4?_getpages=abc&_getpagesoffset=2"
        );
        assert_eq!(
            bundle["entry"][0]["fullUrl"],
            "https://proxy.example/r4/Observation/o1"
        );
        assert_eq!(
            bundle["entry"][0]["response"]["location"],
            "https://proxy.example/r4/Observation/o1/_history/1"
        );
        let mut other = serde_json::json!({"resourceType": "Patient", "id": "1"});
        assert!(!r.bundle(&mut other, &mut tokens));
    }
}
