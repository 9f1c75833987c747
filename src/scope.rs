//! The SMART scope grammar (rules E1–E15, Q3, Q4, Q6): a token's `scp` → a [`GrantSet`].
//!
//! In: the space-joined scope string of a verified token. Out: the clinical grants (context, resource type or `*`,
//! permissions, v2 `?param=value` constraints); non-clinical scopes (`openid`, `fhirUser`, `launch/patient`, ...) are
//! ignored (E8). Errors: [`ScopeError`] naming the offending scope: a token that starts like a clinical scope and is
//! not fully consumed (E9), mixed v1/v2 (E10), mixed contexts (E11), an unknown resource type (E12), a forbidden
//! constraint (E13), a capitalised context (Q6). The caller answers those with 401 `invalid_token` (Q4).
//! Parsed once per token; the per-request decision only reads the result.

use std::fmt;

use crate::fhir::data::R4_RESOURCE_TYPES;

/// Whose data a scope is about (E2): the patient in context, the user, or the whole system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Patient,
    User,
    System,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Patient => "patient",
            Context::User => "user",
            Context::System => "system",
        }
    }
}

/// v2 permission letters (E4), as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Perms(u8);

impl Perms {
    pub const CREATE: Perms = Perms(1);
    pub const READ: Perms = Perms(2);
    pub const UPDATE: Perms = Perms(4);
    pub const DELETE: Perms = Perms(8);
    pub const SEARCH: Perms = Perms(16);
    pub const ALL: Perms = Perms(31);

    pub fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn with(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }

    /// `cruds` letters in canonical order, for messages.
    pub fn letters(self) -> String {
        [
            (Perms::CREATE, 'c'),
            (Perms::READ, 'r'),
            (Perms::UPDATE, 'u'),
            (Perms::DELETE, 'd'),
            (Perms::SEARCH, 's'),
        ]
        .into_iter()
        .filter(|(p, _)| self.contains(*p))
        .map(|(_, c)| c)
        .collect()
    }
}

/// The resource type a grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceScope {
    /// `*` or Azure's `all`.
    Any,
    Type(&'static str),
}

impl ResourceScope {
    pub fn covers(self, resource_type: &str) -> bool {
        match self {
            ResourceScope::Any => true,
            ResourceScope::Type(t) => t == resource_type,
        }
    }
}

/// One clinical scope, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub resource: ResourceScope,
    pub perms: Perms,
    /// v2 `?param=value&...` (E3, E13): results must also match these.
    pub constraints: Vec<(String, String)>,
}

/// Grammar generation of a scope (E10: a token's scopes must all be one or the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// Every clinical grant of one token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantSet {
    /// `None` when the token carries no clinical scope at all (it then grants nothing).
    pub context: Option<Context>,
    pub version: Option<Version>,
    pub grants: Vec<Grant>,
}

/// Why a scope string is malformed; carries the offending scope (shown to the client, never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeError {
    pub scope: String,
    pub why: &'static str,
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The scope is token content: keep it short in client-facing text.
        let shown: String = self.scope.chars().take(80).collect();
        write!(
            f,
            "scope '{shown}' {}",
            crate::rule_id::without_rule_id(self.why)
        )
    }
}

impl std::error::Error for ScopeError {}

const CONTEXTS: [(&str, Context); 3] = [
    ("patient", Context::Patient),
    ("user", Context::User),
    ("system", Context::System),
];

/// Parse a space-delimited scope string (E1–E15).
pub fn parse(scopes: &str) -> Result<GrantSet, ScopeError> {
    let mut set = GrantSet::default();
    for raw in scopes.split(' ').filter(|s| !s.is_empty()) {
        // E7: percent-decode once (`%2f` → `/`); a malformed escape stays literal and then fails the grammar.
        let decoded = crate::fhir::query::percent_decode(raw);
        let Some((context, rest)) = clinical_prefix(&decoded).map_err(|why| err(raw, why))? else {
            continue; // E8: not a clinical scope.
        };
        let (grant, version) = parse_clinical(rest).map_err(|why| err(raw, why))?;
        if set.context.is_some_and(|c| c != context) {
            return Err(err(
                raw,
                "mixes patient, user and system contexts in one token (rule E11)",
            ));
        }
        if set.version.is_some_and(|v| v != version) {
            return Err(err(
                raw,
                "mixes SMART v1 and v2 scope syntax in one token (rule E10)",
            ));
        }
        set.context = Some(context);
        set.version = Some(version);
        set.grants.push(grant);
    }
    Ok(set)
}

fn err(scope: &str, why: &'static str) -> ScopeError {
    ScopeError {
        scope: scope.to_string(),
        why,
    }
}

/// E2, E6, Q6: `patient/`, `user.`, `system$` ... → the context and the rest. `Ok(None)` for a non-clinical scope.
fn clinical_prefix(scope: &str) -> Result<Option<(Context, &str)>, &'static str> {
    for (name, context) in CONTEXTS {
        let Some(head) = scope.get(..name.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(name) {
            continue;
        }
        let rest = &scope[name.len()..];
        let Some(sep) = rest.chars().next() else {
            continue;
        };
        if !matches!(sep, '/' | '.' | '$') {
            continue; // `user_impersonation`, `patientportal` ...
        }
        if head != name {
            return Err("has a capitalised context; contexts are lowercase (rule Q6)");
        }
        return Ok(Some((context, &rest[1..])));
    }
    Ok(None)
}

/// `Type.access[?constraints]` after the context separator.
fn parse_clinical(rest: &str) -> Result<(Grant, Version), &'static str> {
    let (body, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (ty, access) = body
        .split_once('.')
        .ok_or("is not of the form context/Type.access (rule E9)")?;
    let resource = match ty {
        "*" | "all" => ResourceScope::Any,
        t => match R4_RESOURCE_TYPES.binary_search(&t) {
            Ok(i) => ResourceScope::Type(R4_RESOURCE_TYPES[i]),
            Err(_) => return Err("names a resource type FHIR R4 does not define (rule E12)"),
        },
    };
    let (perms, version) = match access {
        "read" => (Perms::READ.with(Perms::SEARCH), Version::V1),
        "write" => (
            Perms::CREATE.with(Perms::UPDATE).with(Perms::DELETE),
            Version::V1,
        ),
        "*" | "all" => (Perms::ALL, Version::V1),
        letters => (parse_letters(letters)?, Version::V2),
    };
    let constraints = match query {
        None => Vec::new(),
        Some(_) if version == Version::V1 => {
            return Err("has a ?constraint, which only SMART v2 scopes may carry (rule E9)")
        }
        Some(q) => parse_constraints(q)?,
    };
    Ok((
        Grant {
            resource,
            perms,
            constraints,
        },
        version,
    ))
}

/// E3: a non-empty subset of `cruds`, in that order, no repeats.
fn parse_letters(letters: &str) -> Result<Perms, &'static str> {
    const ORDER: [(char, Perms); 5] = [
        ('c', Perms::CREATE),
        ('r', Perms::READ),
        ('u', Perms::UPDATE),
        ('d', Perms::DELETE),
        ('s', Perms::SEARCH),
    ];
    if letters.is_empty() {
        return Err("has no access part (rule E9)");
    }
    let mut perms = Perms::default();
    let mut next = 0;
    for c in letters.chars() {
        let Some(pos) = ORDER[next..].iter().position(|(l, _)| *l == c) else {
            return Err("has an access part that is neither read/write/* nor cruds letters in order (rules E3, E9)");
        };
        perms = perms.with(ORDER[next + pos].1);
        next += pos + 1;
    }
    Ok(perms)
}

/// E13: `param=value(&param=value)*`, no chaining, `_has`, modifiers, `_include`/`_revinclude`.
fn parse_constraints(query: &str) -> Result<Vec<(String, String)>, &'static str> {
    let mut out = Vec::new();
    for pair in query.split('&') {
        let mut parts = pair.split('=');
        let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("has a constraint that is not one param=value pair (rule E13)");
        };
        if key.is_empty() || value.is_empty() {
            return Err("has an empty constraint name or value (rule E13)");
        }
        if key.contains('.') || key.starts_with("_has") {
            return Err("has a chained or _has constraint (rule E13)");
        }
        if key.contains(':') {
            return Err("has a search modifier in a constraint (rule E13)");
        }
        if key.starts_with("_include") || key.starts_with("_revinclude") {
            return Err("has an _include/_revinclude constraint (rule E13)");
        }
        if !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("has a constraint name that is not a search parameter (rule E13)");
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
