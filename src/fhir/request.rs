//! Request classification: method + path + query → the FHIR interaction and every resource type it touches
//! (rules F2, F8, F9, Q11–Q13, Q18).
//!
//! In: the method, the path relative to the proxy's root and the raw query. Out: a [`FhirRequest`]. Errors:
//! [`Unclassifiable`] for any path the proxy cannot map to one interaction with certainty (unknown resource type,
//! malformed id, empty or dot segments, percent-escapes in the path): such requests fail closed.
//! Pure and allocation-light: types are `&'static str` from the R4 table, the query is walked once.

use http::Method;

use crate::fhir::data::R4_RESOURCE_TYPES;
use crate::fhir::query::Query;

/// A FHIR RESTful interaction (FHIR R4 http.html), as far as authorization needs to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    /// `GET /metadata`.
    Capabilities,
    Read,
    VRead,
    HistoryInstance,
    HistoryType,
    HistorySystem,
    SearchType,
    SearchSystem,
    /// `GET [base]?_getpages=<id>&...`: the next page of an earlier search (HAPI's paging), whose query the server
    /// keeps; the request carries nothing of it.
    Continuation,
    /// `GET <CompartmentType>/<id>/<Type|*>`.
    SearchCompartment {
        compartment: &'static str,
        compartment_id: String,
    },
    /// `POST <Type>/_search` or `POST /_search`.
    SearchPost,
    Create,
    Update,
    Patch,
    Delete,
    /// `POST /` with a batch or transaction Bundle.
    Batch,
    /// `$name` at system, type or instance level.
    Operation(String),
}

impl Interaction {
    /// A short bounded label for logs and messages.
    pub fn label(&self) -> &'static str {
        match self {
            Interaction::Capabilities => "capabilities",
            Interaction::Read => "read",
            Interaction::VRead => "vread",
            Interaction::HistoryInstance => "history-instance",
            Interaction::HistoryType => "history-type",
            Interaction::HistorySystem => "history-system",
            Interaction::SearchType => "search-type",
            Interaction::SearchSystem => "search-system",
            Interaction::Continuation => "continuation",
            Interaction::SearchCompartment { .. } => "search-compartment",
            Interaction::SearchPost => "search-post",
            Interaction::Create => "create",
            Interaction::Update => "update",
            Interaction::Patch => "patch",
            Interaction::Delete => "delete",
            Interaction::Batch => "batch",
            Interaction::Operation(_) => "operation",
        }
    }
}

/// How a query parameter brings another resource type into the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchKind {
    /// `_include` (the target of the reference).
    Include,
    /// `_revinclude` (the resources that reference the results).
    RevInclude,
    /// `param:Type.x` or `param.x`: filters by another resource's values.
    Chain,
    /// `_has:Type:param:x`.
    ReverseChain,
    /// `_type` of a system search, `_type` of `$export`.
    TypeList,
    /// `_filter`, `_query`, `_list`: can reach any type.
    Opaque,
}

/// A resource type the request touches besides its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    pub kind: TouchKind,
    /// `None`: the type cannot be known from the request (`_include=Observation:subject`, `_include=*`):
    /// only a `*` scope covers it.
    pub resource_type: Option<&'static str>,
    /// `:iterate` (or the old `:recurse`).
    pub iterate: bool,
}

/// A classified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirRequest {
    pub interaction: Interaction,
    /// The type the interaction is on (`None` at system level; for a compartment search, the target type or
    /// `None` for `*`).
    pub resource_type: Option<&'static str>,
    pub id: Option<String>,
    pub touches: Vec<Touch>,
    /// The query as every decision sees it (Q19), and as a confined request is sent upstream.
    pub query: Query,
}

/// A request the proxy cannot map to one FHIR interaction with certainty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request is not a FHIR interaction the proxy can authorize: {0}")]
pub struct Unclassifiable(pub &'static str);

/// Classify a request (F2 and FHIR R4 http.html).
pub fn classify(
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Result<FhirRequest, Unclassifiable> {
    let trimmed = path
        .strip_prefix('/')
        .ok_or(Unclassifiable("path does not start with /"))?;
    if trimmed.contains('%') {
        return Err(Unclassifiable("percent-escapes in the path"));
    }
    let segments: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(Unclassifiable("empty or dot segment in the path"));
    }
    let read = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let mut out = FhirRequest {
        interaction: Interaction::Read,
        resource_type: None,
        id: None,
        touches: Vec::new(),
        query: Query::default(),
    };
    out.interaction = match segments.as_slice() {
        [] if read => Interaction::SearchSystem,
        [] if post => Interaction::Batch,
        ["metadata"] if read => Interaction::Capabilities,
        ["_history"] if read => Interaction::HistorySystem,
        ["_search"] if post => Interaction::SearchPost,
        [op] if op.starts_with('$') => Interaction::Operation(operation(op)?),
        [ty, rest @ ..] => {
            let ty = resource_type(ty)?;
            out.resource_type = Some(ty);
            match rest {
                [] if read => Interaction::SearchType,
                [] if post => Interaction::Create,
                // Conditional update/patch/delete: a write on whatever the query selects.
                [] if method == Method::PUT => Interaction::Update,
                [] if method == Method::PATCH => Interaction::Patch,
                [] if method == Method::DELETE => Interaction::Delete,
                ["_search"] if post => Interaction::SearchPost,
                ["_search"] if read => Interaction::SearchType,
                ["_history"] if read => Interaction::HistoryType,
                [op] if op.starts_with('$') => Interaction::Operation(operation(op)?),
                [id, rest @ ..] => {
                    out.id = Some(resource_id(id)?);
                    match rest {
                        [] if read => Interaction::Read,
                        [] if method == Method::PUT => Interaction::Update,
                        [] if method == Method::PATCH => Interaction::Patch,
                        [] if method == Method::DELETE => Interaction::Delete,
                        ["_history"] if read => Interaction::HistoryInstance,
                        ["_history", vid] if read => {
                            resource_id(vid)?;
                            Interaction::VRead
                        }
                        [op] if op.starts_with('$') => Interaction::Operation(operation(op)?),
                        // Only the five R4 CompartmentDefinitions make `T/id/X` a compartment search.
                        [target] if read && COMPARTMENT_TYPES.contains(&ty) => {
                            let compartment_id = out.id.take().unwrap_or_default();
                            out.resource_type = if *target == "*" {
                                None
                            } else {
                                Some(resource_type(target)?)
                            };
                            Interaction::SearchCompartment {
                                compartment: ty,
                                compartment_id,
                            }
                        }
                        _ => return Err(Unclassifiable("unknown instance-level path")),
                    }
                }
                _ => return Err(Unclassifiable("unknown type-level path")),
            }
        }
        _ => return Err(Unclassifiable("method not defined for this path")),
    };
    if let Some(q) = query {
        out.query = Query::parse(q)
            .map_err(|_| Unclassifiable("a query parameter name no FHIR server defines"))?;
        touches(&out.query, &mut out.touches)?;
    }
    if out.interaction == Interaction::SearchSystem && out.query.named("_getpages").next().is_some()
    {
        out.interaction = Interaction::Continuation;
    }
    Ok(out)
}

/// The resource types FHIR R4 defines a compartment for (compartmentdefinition.html).
const COMPARTMENT_TYPES: &[&str] = &[
    "Device",
    "Encounter",
    "Patient",
    "Practitioner",
    "RelatedPerson",
];

fn resource_type(name: &str) -> Result<&'static str, Unclassifiable> {
    R4_RESOURCE_TYPES
        .binary_search(&name)
        .map(|i| R4_RESOURCE_TYPES[i])
        .map_err(|_| Unclassifiable("not a FHIR R4 resource type"))
}

/// FHIR id: `[A-Za-z0-9\-\.]{1,64}`.
fn resource_id(id: &str) -> Result<String, Unclassifiable> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then(|| id.to_string())
        .ok_or(Unclassifiable("malformed resource id"))
}

fn operation(segment: &str) -> Result<String, Unclassifiable> {
    let name = &segment[1..];
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| name.to_string())
        .ok_or(Unclassifiable("malformed operation name"))
}

/// Record every other type the parsed query touches (F8, Q12, Q18). Names are compared without regard to case
/// (`_REVINCLUDE` is `_revinclude`: some servers fold case).
fn touches(query: &Query, out: &mut Vec<Touch>) -> Result<(), Unclassifiable> {
    for param in &query.params {
        let key = param.key.as_str();
        let name = param.name();
        let modifier = key.split_once(':').map(|(_, m)| m);
        match name {
            "_include" | "_revinclude" => {
                let iterate = match modifier.map(str::to_ascii_lowercase).as_deref() {
                    None => false,
                    Some("iterate" | "recurse") => true,
                    Some(_) => return Err(Unclassifiable("unknown _include modifier")),
                };
                let kind = if name == "_include" {
                    TouchKind::Include
                } else {
                    TouchKind::RevInclude
                };
                for value in param.values() {
                    include_touches(value, kind, iterate, out)?;
                }
            }
            "_has" => {
                // `_has:Type:param:rest`; the modifier holds everything after `_has:`. R4 allows nesting
                // (`_has:Observation:patient:_has:AuditEvent:entity:agent`): every level's type is touched.
                let mut level = Some(modifier.ok_or(Unclassifiable("_has without a type"))?);
                while let Some(m) = level {
                    let mut parts = m.splitn(3, ':');
                    let ty = parts.next().unwrap_or("");
                    out.push(Touch {
                        kind: TouchKind::ReverseChain,
                        resource_type: Some(resource_type(ty)?),
                        iterate: false,
                    });
                    let rest = parts.nth(1).unwrap_or("");
                    level = rest.strip_prefix("_has:");
                    if level.is_none() && rest.contains('.') {
                        out.push(chain_touch(rest)?);
                    }
                }
            }
            "_type" => {
                for value in param.values().filter(|v| !v.is_empty()) {
                    out.push(Touch {
                        kind: TouchKind::TypeList,
                        resource_type: Some(resource_type(value)?),
                        iterate: false,
                    });
                }
            }
            "_filter" | "_query" | "_list" => out.push(Touch {
                kind: TouchKind::Opaque,
                resource_type: None,
                iterate: false,
            }),
            // Q19: a method override in the query could turn a read into a write on servers that honour it.
            "_method" => return Err(Unclassifiable("the _method parameter is not accepted")),
            _ if key.contains('.') => out.push(chain_touch(key)?),
            _ => {}
        }
    }
    Ok(())
}

/// `Source:param[:Target]` or `*`: `_include` pulls in Target — without one, every type the parameter can target
/// (from the R4 reference-parameter table; unknown for `Reference(Any)` and `*`) — and `_revinclude` pulls in Source.
fn include_touches(
    value: &str,
    kind: TouchKind,
    iterate: bool,
    out: &mut Vec<Touch>,
) -> Result<(), Unclassifiable> {
    let touch = |resource_type| Touch {
        kind,
        resource_type,
        iterate,
    };
    let mut parts = value.split(':');
    let source = parts.next().unwrap_or("");
    let param = parts.next();
    let target = parts.next();
    if parts.next().is_some() {
        return Err(Unclassifiable("malformed _include value"));
    }
    if value == "*" {
        out.push(touch(None));
        return Ok(());
    }
    let source = resource_type(source)?;
    let Some(param) = param.filter(|p| !p.is_empty()) else {
        return Err(Unclassifiable("_include without a search parameter"));
    };
    match (kind, target) {
        (TouchKind::RevInclude, _) => out.push(touch(Some(source))),
        (_, Some("*")) => out.push(touch(None)),
        (_, Some(t)) => out.push(touch(Some(resource_type(t)?))),
        (_, None) => {
            match crate::fhir::references::reference_param(source, param).map(|p| p.targets) {
                Some(crate::fhir::references::Targets::Types(types)) => {
                    out.extend(types.iter().map(|t| touch(Some(*t))));
                }
                _ => out.push(touch(None)),
            }
        }
    }
    Ok(())
}

/// `subject:Patient.name` → Patient; `subject.name` or a longer chain → unknown.
fn chain_touch(key: &str) -> Result<Touch, Unclassifiable> {
    let (first, rest) = key.split_once('.').unwrap_or((key, ""));
    let resource_type = match first.split_once(':') {
        Some((_, t)) if !rest.contains('.') => Some(resource_type(t)?),
        _ => None,
    };
    Ok(Touch {
        kind: TouchKind::Chain,
        resource_type,
        iterate: false,
    })
}

#[cfg(test)]
mod tests;
