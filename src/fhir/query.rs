//! The query string as every decision sees it (rule Q19): one splitter, one key normaliser, one encoder.
//!
//! In: the raw query of the request line. Out: a [`Query`] of decoded parameters, or [`QueryError`] for a
//! parameter name no FHIR server defines (control characters, spaces, `%00`, ...). The proxy decides on this parsed
//! form and, for requests it confines, sends the upstream [`Query::canonical`] of exactly these parameters, so no
//! other spelling of the same query can mean something else upstream.
//!
//! Splitting: on `&` and on `;` (servlet containers and some Python stacks treat `;` as a separator too, so the
//! proxy must see every parameter any of them could see). Decoding: `+` is a space and `%XX` a byte, once, as
//! `application/x-www-form-urlencoded` says and every FHIR server decodes.

use std::fmt::Write as _;

/// A query parameter name holds characters no FHIR search parameter has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a query parameter name holds characters that no FHIR search parameter has")]
pub struct QueryError;

/// One decoded parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The decoded key as sent (`subject:Patient.name`).
    pub key: String,
    /// The parameter's name, lowercased, computed once (see [`Param::name`]).
    name: String,
    /// The decoded value (empty when the pair had no `=`).
    pub value: String,
    /// The pair had an `=` (so `?_summary` and `?_summary=` stay apart when re-encoded).
    has_value: bool,
}

impl Param {
    /// The parameter's name: the key before any `:` modifier or `.` chain, lowercased for comparisons
    /// (`%73ubject:Patient.name` → `subject`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The modifier after the first `:` (up to a `.` chain), as sent.
    pub fn modifier(&self) -> Option<&str> {
        let (_, rest) = self.key.split_once(':')?;
        Some(rest.split('.').next().unwrap_or(rest))
    }

    /// The key continues into a chain (`subject.name`, `subject:Patient.name`).
    pub fn is_chained(&self) -> bool {
        self.key.contains('.')
    }

    /// Is this parameter `name` (case-insensitively), with or without modifier?
    pub fn is(&self, name: &str) -> bool {
        self.name() == name
    }

    /// The comma-separated values (FHIR's OR).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.value.split(',')
    }
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub params: Vec<Param>,
}

impl Query {
    /// Parse and check every key (Q19). Empty pairs (`a=1&&b=2`) are dropped.
    pub fn parse(raw: &str) -> Result<Query, QueryError> {
        let mut params = Vec::new();
        for (key, value, has_value) in pairs(raw) {
            if !valid_key(&key) {
                return Err(QueryError);
            }
            let name = key
                .split([':', '.'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            params.push(Param {
                key,
                name,
                value,
                has_value,
            });
        }
        Ok(Query { params })
    }

    /// The parameters named `name` (case-insensitively, any modifier).
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Param> + 'a {
        self.params.iter().filter(move |p| p.is(name))
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The query re-encoded from the decoded parameters, joined by `&` only: what the upstream gets for a request
    /// the proxy confines. Empty when there are no parameters.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        for (i, p) in self.params.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            encode_into(&mut out, &p.key);
            if p.has_value {
                out.push('=');
                encode_into(&mut out, &p.value);
            }
        }
        out
    }
}

/// Every `(key, value, has_value)` pair, decoded, split on `&` and `;`, empty pairs dropped. Used where a decision
/// must see keys that [`Query::parse`] would refuse (the `access_token` check).
pub fn pairs(raw: &str) -> impl Iterator<Item = (String, String, bool)> + '_ {
    raw.split(['&', ';']).filter(|p| !p.is_empty()).map(|pair| {
        let (key, value, has_value) = match pair.split_once('=') {
            Some((k, v)) => (k, v, true),
            None => (pair, "", false),
        };
        (form_decode(key), form_decode(value), has_value)
    })
}

/// FHIR parameter names: letters, digits, `-`, `_`, `.`, `:` and `$` (chains, modifiers, `_has:`).
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 256
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'$'))
}

/// `+` → space, then [`percent_decode`].
pub fn form_decode(s: &str) -> String {
    if s.contains('+') {
        percent_decode(&s.replace('+', " "))
    } else {
        percent_decode(s)
    }
}

/// Percent-decode once (`%3A` → `:`); a malformed escape is kept literally, invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Append `s` percent-encoded: unreserved characters and the few FHIR search syntax uses (`:/,|$*@!'()`) stay,
/// everything else (`&`, `;`, `=`, `+`, `%`, `#`, `?`, space, controls, non-ASCII) is escaped.
fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b':'
                    | b'/'
                    | b','
                    | b'|'
                    | b'$'
                    | b'*'
                    | b'@'
                    | b'!'
                    | b'\''
                    | b'('
                    | b')'
            )
        {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(raw: &str) -> Vec<String> {
        Query::parse(raw)
            .expect("valid")
            .params
            .into_iter()
            .map(|p| p.key)
            .collect()
    }

    #[test]
    fn q19_one_splitter_for_ampersand_and_semicolon() {
        assert_eq!(
            keys("code=x;_revinclude=a&b=1"),
            ["code", "_revinclude", "b"]
        );
        assert_eq!(keys("a=1&&b=2&"), ["a", "b"]);
    }

    #[test]
    fn q19_keys_are_decoded_once_and_named_case_insensitively() {
        let q = Query::parse("%73ubject=Patient%2F1&_REVINCLUDE=x&subject:Patient.name=a+b")
            .expect("valid");
        assert_eq!(q.params[0].key, "subject");
        assert_eq!(q.params[0].value, "Patient/1");
        assert!(q.params[1].is("_revinclude"));
        assert_eq!(q.params[2].name(), "subject");
        assert_eq!(q.params[2].modifier(), Some("Patient"));
        assert!(q.params[2].is_chained());
        assert_eq!(q.params[2].value, "a b");
        // Decoded once: `%2573ubject` is `%73ubject`, which no FHIR parameter is called.
        assert_eq!(Query::parse("%2573ubject=1"), Err(QueryError));
    }

    #[test]
    fn q19_keys_no_fhir_parameter_has_are_refused() {
        for raw in [
            "_revinclude%00=x",
            "%20_revinclude=x",
            "a b=1",
            "=x",
            "k%0A=1",
            "na%C3%AFve=1",
        ] {
            assert_eq!(Query::parse(raw), Err(QueryError), "{raw}");
        }
        assert!(Query::parse("_has:Observation:patient:code=1&subject.name=x&$x=1").is_ok());
    }

    #[test]
    fn q19_canonical_reencodes_exactly_the_decoded_parameters() {
        let q =
            Query::parse("code=a;b=c%26d&_summary&x=1+2&v=http://loinc.org|1234-5").expect("valid");
        assert_eq!(
            q.canonical(),
            "code=a&b=c%26d&_summary&x=1%202&v=http://loinc.org|1234-5"
        );
        assert_eq!(Query::default().canonical(), "");
    }
}
