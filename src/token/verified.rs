//! What a verified token is, kept small for the token cache: the class shared by all tokens of one issuer, client
//! and scope string ([`TokenClass`]), the token's own strings ([`VerifiedToken`]), its `fhirUser` ([`FhirUser`]) and,
//! for primary tokens authorized by role, what its roles allow ([`RoleGrant`]).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU8;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::config::roles::{Actions, RoleSettings};
use crate::config::AuthorityRole;
use crate::error::TokenError;
use crate::scope::GrantSet;

/// Resource types a `fhirUser` may reference (D5: OSS accepts Patient and Practitioner, SMART adds the rest).
pub const FHIR_USER_TYPES: [&str; 5] = [
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "RelatedPerson",
    "Person",
];

/// D5: the FHIR resource the user is, from `fhirUser`: a view into the claim, or into the [`VerifiedToken`] that
/// keeps only the claim and these offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FhirUser<'a> {
    /// The claim as sent (header-safe: checked).
    reference: &'a str,
    at: FhirUserAt,
}

/// Where the parts of a `fhirUser` lie in the claim. Six bytes, and `Option<FhirUserAt>` needs no tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FhirUserAt {
    /// 1 + the index in [`FHIR_USER_TYPES`].
    resource_type: NonZeroU8,
    /// At most 64.
    id_len: u8,
    id_start: u16,
    /// The base is a prefix of the claim; [`NONE_U16`] for a relative reference.
    base_len: u16,
}

/// "Absent" for a u16 offset or length (claims are far shorter: at most 4096 bytes).
const NONE_U16: u16 = u16::MAX;

impl<'a> FhirUser<'a> {
    pub fn parse(reference: &'a str) -> Option<FhirUser<'a>> {
        if reference.len() >= usize::from(NONE_U16) {
            return None;
        }
        let type_index = |ty: &str| FHIR_USER_TYPES.iter().position(|t| *t == ty);
        let id_ok = |id: &str| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        let (base_len, ty, id_start, id_len) =
            if reference.starts_with("https://") || reference.starts_with("http://") {
                let url = url::Url::parse(reference).ok()?;
                if url.query().is_some() || url.fragment().is_some() {
                    return None;
                }
                let path = url.path().trim_end_matches('/');
                let mut segments = path.rsplitn(3, '/');
                let id = segments.next()?;
                let ty = segments.next()?;
                // Offsets are taken in the claim, which may end in '/' like the path did.
                let claim = reference.trim_end_matches('/');
                let base_len = claim.len().checked_sub(id.len() + ty.len() + 1)?;
                if !claim.get(base_len..)?.starts_with(ty) {
                    return None;
                }
                let base = reference.get(..base_len)?.trim_end_matches('/');
                if !id_ok(id) {
                    return None;
                }
                // The parser copies letters, digits, `-` and `.` of a path unchanged: the id is in the claim.
                let id_start = reference.rfind(id)?;
                (base.len(), type_index(ty)?, id_start, id.len())
            } else {
                let (ty, id) = reference.split_once('/')?;
                if !id_ok(id) {
                    return None;
                }
                (
                    usize::from(NONE_U16),
                    type_index(ty)?,
                    ty.len() + 1,
                    id.len(),
                )
            };
        Some(FhirUser {
            reference,
            at: FhirUserAt {
                resource_type: NonZeroU8::new(u8::try_from(ty + 1).ok()?)?,
                id_len: u8::try_from(id_len).ok()?,
                id_start: u16::try_from(id_start).ok()?,
                base_len: u16::try_from(base_len).ok()?,
            },
        })
    }

    /// The claim as sent (header-safe: checked).
    pub fn reference(&self) -> &'a str {
        self.reference
    }

    pub fn resource_type(&self) -> &'static str {
        FHIR_USER_TYPES[usize::from(self.at.resource_type.get() - 1)]
    }

    pub fn id(&self) -> &'a str {
        let start = usize::from(self.at.id_start);
        &self.reference[start..start + usize::from(self.at.id_len)]
    }

    /// For an absolute reference, everything before `Type/id` (D6 compares it with the public base).
    pub fn base(&self) -> Option<&'a str> {
        (self.at.base_len != NONE_U16).then(|| &self.reference[..usize::from(self.at.base_len)])
    }
}

/// What every token of one issuer, client and scope string has alike. The token cache keeps one copy for all of
/// them (the budget: 100,000 cached tokens in 64 MiB), so this is worked out per token but stored per kind of token.
#[derive(Debug, PartialEq, Eq)]
pub struct TokenClass {
    pub role: AuthorityRole,
    pub issuer: Box<str>,
    /// Index of the application within its provider (SMART-provider tokens).
    pub application: Option<usize>,
    /// For a configured application, the config's own string (no copy).
    pub client_id: Option<Arc<str>>,
    /// `scp`/`scope`, space-joined.
    pub scopes: Option<Box<str>>,
    /// SMART rules apply: a SMART-provider token, or a primary token under `primaryAuthorization: smart` (Q10).
    pub smart: bool,
    /// The clinical scopes, parsed once (empty for pass-through primary tokens).
    pub grants: GrantSet,
    /// Q10: what the token's roles allow; `None` unless roles authorize this token.
    pub roles: Option<RoleGrant>,
    /// The identity header values of the class, made on first use.
    pub headers: ClassHeaders,
}

/// The identity header values every token of a class sends alike (issuer, client id, scopes), validated and copied
/// once per class instead of once per request. Derived from the class's other fields, so it takes no part in
/// comparing classes (the token cache finds a token's shared class by equality).
#[derive(Debug, Default)]
pub struct ClassHeaders(OnceLock<[Option<http::HeaderValue>; 3]>);

impl PartialEq for ClassHeaders {
    fn eq(&self, _: &ClassHeaders) -> bool {
        true
    }
}

impl Eq for ClassHeaders {}

/// The roles a primary token names that the file defines, and the data actions they allow together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RoleGrant {
    pub actions: Actions,
    /// Bit `i`: the file's role `i` (at most 64 roles).
    pub matched: u64,
    /// The matched roles' names, comma-joined, or `-`: bounded (only names from the file), for logs and audit.
    pub names: Arc<str>,
}

/// Q10: the roles `claims` name at `settings.claim` (a string or an array of strings; anything else names none),
/// matched against the file's roles. Unknown names are ignored: they may be meant for other applications.
pub fn role_grant(claims: &Map<String, Value>, settings: &RoleSettings) -> RoleGrant {
    let (mut actions, mut matched) = (Actions::NONE, 0u64);
    let mut add = |name: &str| {
        if let Some(i) = settings.position(name) {
            matched |= 1u64 << i;
            actions = actions.with(settings.roles[i].actions);
        }
    };
    match settings.claim.lookup(claims) {
        Some(Value::String(one)) => add(one),
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).for_each(&mut add),
        _ => {}
    }
    let names: Vec<&str> = settings
        .roles
        .iter()
        .enumerate()
        .filter(|(i, _)| matched & (1u64 << i) != 0)
        .map(|(_, r)| r.name.as_str())
        .collect();
    RoleGrant {
        actions,
        matched,
        names: Arc::from(if names.is_empty() {
            "-".to_string()
        } else {
            names.join(",")
        }),
    }
}

impl Hash for TokenClass {
    /// Everything but `grants`, which follows from `scopes` and `smart`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        (
            self.role,
            &self.issuer,
            self.application,
            &self.client_id,
            &self.scopes,
            self.smart,
            &self.roles,
        )
            .hash(state);
    }
}

/// A token whose signature, issuer, times and provider/application claims all passed. Small on purpose, as the
/// token cache holds many (100,000 within 64 MiB): the shared [`TokenClass`], and the token's own strings (the user key, then
/// `fhirUser`) in one allocation with offsets. 56 bytes.
#[derive(Clone, PartialEq)]
pub struct VerifiedToken {
    class: Arc<TokenClass>,
    /// The user key (`sub`, or the mapped claim), then `fhirUser`.
    text: Box<str>,
    /// Claim → header mappings for the upstream; usually none, which costs no allocation.
    mapped_headers: Box<[(http::HeaderName, http::HeaderValue)]>,
    pub expires_at: f64,
    /// Where the user key ends in `text`; [`NONE_U16`] when the token has none.
    subject_end: u16,
    fhir_user: Option<FhirUserAt>,
}

impl VerifiedToken {
    /// Errors only for a user key of 64 KiB or more, which a verified token never has (claims are capped at 4096).
    pub fn new(
        class: Arc<TokenClass>,
        subject: Option<&str>,
        fhir_user: Option<FhirUser<'_>>,
        expires_at: f64,
        mapped_headers: Vec<(http::HeaderName, http::HeaderValue)>,
    ) -> Result<VerifiedToken, TokenError> {
        let subject_end = match subject {
            None => NONE_U16,
            Some(s) => u16::try_from(s.len())
                .ok()
                .filter(|n| *n != NONE_U16)
                .ok_or(TokenError::UnsafeClaim("sub"))?,
        };
        let reference = fhir_user.map_or("", |u| u.reference);
        let mut text = String::with_capacity(subject.map_or(0, str::len) + reference.len());
        text.push_str(subject.unwrap_or(""));
        text.push_str(reference);
        Ok(VerifiedToken {
            class,
            text: text.into_boxed_str(),
            mapped_headers: mapped_headers.into_boxed_slice(),
            expires_at,
            subject_end,
            fhir_user: fhir_user.map(|u| u.at),
        })
    }

    /// The shared part.
    pub fn class(&self) -> &Arc<TokenClass> {
        &self.class
    }

    /// Use `class` instead of this token's own equal copy (the token cache shares one); an unequal one is ignored.
    pub fn share_class(&mut self, class: &Arc<TokenClass>) {
        if !Arc::ptr_eq(&self.class, class) && *self.class == **class {
            self.class = Arc::clone(class);
        }
    }

    pub fn role(&self) -> AuthorityRole {
        self.class.role
    }

    pub fn issuer(&self) -> &str {
        &self.class.issuer
    }

    /// Index of the application within its provider (SMART-provider tokens).
    pub fn application(&self) -> Option<usize> {
        self.class.application
    }

    pub fn client_id(&self) -> Option<&str> {
        self.class.client_id.as_deref()
    }

    /// The client id as a shared string (for a configured application, the config's own).
    pub fn client_id_shared(&self) -> Option<&Arc<str>> {
        self.class.client_id.as_ref()
    }

    /// `scp`/`scope`, space-joined.
    pub fn scopes(&self) -> Option<&str> {
        self.class.scopes.as_deref()
    }

    /// SMART rules apply: a SMART-provider token, or a primary token under `primaryAuthorization: smart` (Q10).
    pub fn smart(&self) -> bool {
        self.class.smart
    }

    /// What the token's roles allow, when roles authorize it (Q10).
    pub fn role_grant(&self) -> Option<&RoleGrant> {
        self.class.roles.as_ref()
    }

    /// The clinical scopes, parsed once (empty for pass-through primary tokens).
    pub fn grants(&self) -> &GrantSet {
        &self.class.grants
    }

    /// The user key the upstream trusts: `sub`, or the claim the operator mapped.
    pub fn subject(&self) -> Option<&str> {
        (self.subject_end != NONE_U16).then(|| &self.text[..usize::from(self.subject_end)])
    }

    pub fn fhir_user(&self) -> Option<FhirUser<'_>> {
        let start = if self.subject_end == NONE_U16 {
            0
        } else {
            usize::from(self.subject_end)
        };
        self.fhir_user.map(|at| FhirUser {
            reference: &self.text[start..],
            at,
        })
    }

    /// `[issuer, client id, scopes]` as header values; `None` where the claim is absent (every present value was
    /// checked header-safe when the token was verified).
    pub fn class_header_values(&self) -> &[Option<http::HeaderValue>; 3] {
        let class = &self.class;
        class.headers.0.get_or_init(|| {
            let value = |s: Option<&str>| s.and_then(|s| http::HeaderValue::from_str(s).ok());
            [
                value(Some(&class.issuer)),
                value(class.client_id.as_deref()),
                value(class.scopes.as_deref()),
            ]
        })
    }

    /// Claim → header mappings for the upstream.
    pub fn mapped_headers(&self) -> &[(http::HeaderName, http::HeaderValue)] {
        &self.mapped_headers
    }

    /// The heap bytes this token holds besides its shared class (for the token cache's weight bound).
    pub fn own_heap_bytes(&self) -> usize {
        self.text.len()
            + self
                .mapped_headers
                .iter()
                .map(|(name, value)| {
                    std::mem::size_of::<(http::HeaderName, http::HeaderValue)>()
                        + name.as_str().len()
                        + value.len()
                })
                .sum::<usize>()
    }
}

impl fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("class", &self.class)
            .field("subject", &self.subject())
            .field("fhir_user", &self.fhir_user())
            .field("expires_at", &self.expires_at)
            .field("mapped_headers", &self.mapped_headers)
            .finish()
    }
}
