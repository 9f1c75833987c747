//! Role-based authorization of primary-authority tokens (rule Q10): the `proxy.roles` list, shaped like
//! microsoft/fhir-server's `roles.json` so an operator can reuse theirs, the claim that names a token's roles, and
//! the choice of how primary tokens are authorized at all.
//!
//! In: the raw `roles`, `rolesClaim` and `primaryAuthorization`/`primarySmartMode` values of the `proxy` object.
//! Out: [`RoleSettings`]. Errors: [`ConfigError`] naming the JSON path (`proxy.roles[0].dataActions[1]`).

use serde::Deserialize;

use super::claim_mapping::ClaimPath;
use super::ConfigError;

/// How tokens of the primary authority are authorized after authentication (Q10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PrimaryAuthorization {
    /// By the token's roles and `proxy.roles` (fail closed: no matching role, no access).
    #[default]
    Roles,
    /// Forwarded after authentication: only for an upstream that authorizes by itself.
    Passthrough,
    /// The SMART rules (scp, fhirUser, read only), as for SMART providers' tokens.
    #[serde(alias = "enforce")]
    Smart,
}

impl PrimaryAuthorization {
    pub fn name(self) -> &'static str {
        match self {
            PrimaryAuthorization::Roles => "roles",
            PrimaryAuthorization::Passthrough => "passthrough",
            PrimaryAuthorization::Smart => "smart",
        }
    }
}

/// One data action of microsoft/fhir-server's set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleAction {
    Read,
    Write,
    Delete,
    HardDelete,
    Export,
    ResourceValidate,
    Reindex,
    ConvertData,
    Import,
    EditProfileDefinitions,
    Smart,
    SearchParameter,
    BulkOperator,
}

/// Every action, in the order of their bits.
const ALL_ACTIONS: [RoleAction; 13] = [
    RoleAction::Read,
    RoleAction::Write,
    RoleAction::Delete,
    RoleAction::HardDelete,
    RoleAction::Export,
    RoleAction::ResourceValidate,
    RoleAction::Reindex,
    RoleAction::ConvertData,
    RoleAction::Import,
    RoleAction::EditProfileDefinitions,
    RoleAction::Smart,
    RoleAction::SearchParameter,
    RoleAction::BulkOperator,
];

impl RoleAction {
    /// The name as roles.json spells it.
    pub fn name(self) -> &'static str {
        match self {
            RoleAction::Read => "read",
            RoleAction::Write => "write",
            RoleAction::Delete => "delete",
            RoleAction::HardDelete => "hardDelete",
            RoleAction::Export => "export",
            RoleAction::ResourceValidate => "resourceValidate",
            RoleAction::Reindex => "reindex",
            RoleAction::ConvertData => "convertData",
            RoleAction::Import => "import",
            RoleAction::EditProfileDefinitions => "editProfileDefinitions",
            RoleAction::Smart => "smart",
            RoleAction::SearchParameter => "searchParameter",
            RoleAction::BulkOperator => "bulkOperator",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of data actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Actions(u16);

impl Actions {
    pub const NONE: Actions = Actions(0);

    /// `*`: every action.
    pub fn all() -> Actions {
        Actions(ALL_ACTIONS.iter().fold(0, |acc, a| acc | a.bit()))
    }

    pub fn of(action: RoleAction) -> Actions {
        Actions(action.bit())
    }

    pub fn with(self, other: Actions) -> Actions {
        Actions(self.0 | other.0)
    }

    pub fn without(self, other: Actions) -> Actions {
        Actions(self.0 & !other.0)
    }

    pub fn contains(self, other: Actions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The actions of `needed` this set lacks, in a fixed order.
    pub fn missing(self, needed: Actions) -> impl Iterator<Item = RoleAction> {
        ALL_ACTIONS
            .into_iter()
            .filter(move |a| needed.contains(Actions::of(*a)) && !self.contains(Actions::of(*a)))
    }
}

/// One validated role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// `dataActions` less `notDataActions`.
    pub actions: Actions,
}

/// The most roles a file may define: a token's matched roles are kept as a 64-bit set.
pub const MAX_ROLES: usize = 64;

/// Everything role-based authorization needs.
#[derive(Debug, Clone)]
pub struct RoleSettings {
    pub mode: PrimaryAuthorization,
    pub roles: Vec<Role>,
    /// Where a primary token names its roles (`roles` unless `rolesClaim` says otherwise).
    pub claim: ClaimPath,
}

impl Default for RoleSettings {
    fn default() -> Self {
        RoleSettings {
            mode: PrimaryAuthorization::default(),
            roles: Vec::new(),
            claim: default_claim(),
        }
    }
}

impl RoleSettings {
    /// The role named `name`, by index (exact, case-sensitive match, as app role values are).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.roles.iter().position(|r| r.name == name)
    }

    /// One plain sentence for `check` and the startup log when primary tokens can do nothing under `mode` (the
    /// file's, or the flag's); `None` otherwise.
    pub fn warning(&self, has_primary: bool, mode: PrimaryAuthorization) -> Option<&'static str> {
        (has_primary && mode == PrimaryAuthorization::Roles && self.roles.is_empty()).then_some(
            "tokens of the primary authority will get 403 for every request: no roles are defined in proxy.roles \
             (define roles, or set proxy.primaryAuthorization to passthrough or smart)",
        )
    }
}

/// Entra ID's app roles claim, also what microsoft/fhir-server reads.
fn default_claim() -> ClaimPath {
    ClaimPath::top_level("roles")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawRole {
    name: Option<String>,
    data_actions: Option<Vec<String>>,
    not_data_actions: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
}

/// The raw role-related fields of the `proxy` object.
#[derive(Default)]
pub(super) struct RawRoleSettings {
    pub(super) primary_authorization: Option<PrimaryAuthorization>,
    pub(super) primary_smart_mode: Option<PrimaryAuthorization>,
    pub(super) roles: Option<Vec<RawRole>>,
    pub(super) roles_claim: Option<String>,
}

/// A dotted claim path (`realm_access.roles`).
pub(super) fn claim_path(raw: &str, path: &str) -> Result<ClaimPath, ConfigError> {
    if raw.trim() != raw {
        return Err(ConfigError::invalid(
            path,
            "must not start or end with whitespace",
        ));
    }
    ClaimPath::parse(raw).ok_or_else(|| {
        ConfigError::invalid(
            path,
            "must be a dotted path of non-empty names (realm_access.roles)",
        )
    })
}

/// `path` is where the `proxy` object sits; `provider_claim` is a `rolesClaim` set for the primary authority in
/// `proxy.providers`.
pub(super) fn validate(
    raw: RawRoleSettings,
    path: &str,
    provider_claim: Option<ClaimPath>,
) -> Result<RoleSettings, ConfigError> {
    let mode = match (raw.primary_authorization, raw.primary_smart_mode) {
        (Some(a), Some(b)) if a != b => {
            return Err(ConfigError::invalid(
                format!("{path}.primarySmartMode"),
                "is the older name of primaryAuthorization and says something else; keep only primaryAuthorization",
            ))
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => PrimaryAuthorization::default(),
    };
    let raw_roles = raw.roles.unwrap_or_default();
    if raw_roles.len() > MAX_ROLES {
        return Err(ConfigError::invalid(
            format!("{path}.roles"),
            format!("at most {MAX_ROLES} roles, found {}", raw_roles.len()),
        ));
    }
    let mut roles: Vec<Role> = Vec::with_capacity(raw_roles.len());
    for (i, r) in raw_roles.into_iter().enumerate() {
        let at = format!("{path}.roles[{i}]");
        let name = r
            .name
            .ok_or_else(|| ConfigError::invalid(format!("{at}.name"), "is required"))?;
        if name.is_empty() || name.trim() != name || name.len() > 128 {
            return Err(ConfigError::invalid(
                format!("{at}.name"),
                "must be 1 to 128 characters without leading or trailing whitespace",
            ));
        }
        if let Some(first) = roles.iter().position(|o| o.name == name) {
            return Err(ConfigError::invalid(
                format!("{at}.name"),
                format!("role \"{name}\" is already defined at {path}.roles[{first}]"),
            ));
        }
        let data = r.data_actions.unwrap_or_default();
        if data.is_empty() {
            return Err(ConfigError::invalid(
                format!("{at}.dataActions"),
                "must name at least one data action",
            ));
        }
        let granted = actions(&data, &format!("{at}.dataActions"))?;
        let denied = actions(
            &r.not_data_actions.unwrap_or_default(),
            &format!("{at}.notDataActions"),
        )?;
        match r.scopes.as_deref() {
            None => {}
            Some([one]) if one == "/" => {}
            Some(scopes) => {
                let bad = scopes.iter().position(|s| s != "/").unwrap_or(0);
                return Err(ConfigError::invalid(
                    format!("{at}.scopes[{bad}]"),
                    "only \"/\" (the whole server) is supported, as in microsoft/fhir-server",
                ));
            }
        }
        roles.push(Role {
            name,
            actions: granted.without(denied),
        });
    }
    let claim = match (provider_claim, raw.roles_claim) {
        (Some(c), _) => c,
        (None, Some(c)) => claim_path(&c, &format!("{path}.rolesClaim"))?,
        (None, None) => default_claim(),
    };
    Ok(RoleSettings { mode, roles, claim })
}

/// `dataActions`/`notDataActions`: names of [`RoleAction`] or `*`, each once.
fn actions(names: &[String], path: &str) -> Result<Actions, ConfigError> {
    let mut out = Actions::NONE;
    let mut seen: Vec<&str> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if seen.contains(&n.as_str()) {
            return Err(ConfigError::invalid(at, format!("\"{n}\" is listed twice")));
        }
        seen.push(n);
        let action = if n == "*" {
            Actions::all()
        } else {
            match ALL_ACTIONS.iter().find(|a| a.name() == n) {
                Some(a) => Actions::of(*a),
                None => {
                    return Err(ConfigError::invalid(
                        at,
                        format!(
                            "\"{n}\" is not a data action; use *, {}",
                            ALL_ACTIONS.map(RoleAction::name).join(", ")
                        ),
                    ))
                }
            }
        };
        out = out.with(action);
    }
    Ok(out)
}
