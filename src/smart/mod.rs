//! SMART on FHIR authorization of a verified token for one request (rules D6, D7, E14, F1–F10, Q3, Q9–Q13, Q18).
//!
//! ```text
//! VerifiedToken (scopes parsed once) ─┐
//! method + path + query ──classify──▶ FhirRequest ──decide──▶ Decision (forward as is, or rewritten)
//! ```
//!
//! Order of checks (F10): authentication happened before; then the application's `allowedDataActions` (only `Read`:
//! GET/HEAD, F4, Q11) → the request must be classifiable → the interaction must be one SMART can grant → every type it
//! touches must be covered by a scope with the needed permission (F2, F3, F8) → under `patient/` and `user/` scopes,
//! confinement to the compartment of `fhirUser` by rewriting (F6, F7) or 404 for another patient's resource (H8).
//! Pure: no I/O. Errors: [`Forbidden`] (403) and [`RequestError::NotFound`] (404).

pub mod compartment;

use http::Method;
use url::Url;

use crate::error::{Forbidden, RequestError};
use crate::fhir::request::{self, FhirRequest, Interaction, Touch, TouchKind};
use crate::scope::{Context, Grant, GrantSet, Perms, ResourceScope};
use crate::token::VerifiedToken;
use compartment::{with_query, Compartment, Link, RewriteStyle};

/// The parameters of `Patient/$everything` that only narrow or shape its answer (Q19).
const EVERYTHING_PARAMS: &[&str] = &[
    "start", "end", "_since", "_type", "_count", "_format", "_pretty",
];

/// The owner of a compartment, owned.
fn owner(c: &Compartment<'_>) -> Owner {
    Owner {
        resource_type: c.resource_type,
        id: c.id.to_string(),
    }
}

/// 403 for a type nothing can confine (Q9).
fn unconfinable() -> RequestError {
    Forbidden::NotConfinable(
        "this resource type can hold anyone's data and cannot be limited to the token's patient or user; it is not available with patient/ or user/ scopes",
    )
    .into()
}

/// Settings of the decision.
#[derive(Debug, Clone, Default)]
pub struct SmartSettings {
    /// D6: the public base an absolute `fhirUser` must start with.
    pub fhir_base_url: Option<Url>,
    pub rewrite_style: RewriteStyle,
}

/// What to send upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The request as the client sent it.
    Forward,
    /// Another path and query (confined to a compartment or to a v2 scope's constraints, or the client's query in
    /// its canonical spelling), and what the proxy must check on the answer.
    Rewrite {
        path_and_query: String,
        answer: Answer,
    },
}

/// What the proxy does with the upstream's answer to a rewritten request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Passed on as it is.
    AsIs,
    /// A read by id turned into a search: answer with the single match (or 404).
    Unwrap(SingleResource),
    /// Q18: what the server returns must belong to the compartment. A single resource (a version, a history entry)
    /// that does not is 404; in a Bundle, entries that do not are dropped, except the search's own matches of
    /// `matches` (confined by the query itself).
    InCompartment {
        owner: Owner,
        matches: Option<&'static str>,
    },
}

/// The owner of the compartment a request is confined to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub resource_type: &'static str,
    pub id: String,
}

/// The resource a rewritten read is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleResource {
    pub resource_type: &'static str,
    pub id: String,
}

/// The request line parts the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
}

/// F1: the paths anyone may read without a token (relative to the proxy's root).
pub fn is_public(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && matches!(path, "/metadata" | "/.well-known/smart-configuration")
}

/// Decide whether the verified token may make this request, and how it must be sent.
pub fn authorize(
    token: &VerifiedToken,
    line: RequestLine<'_>,
    settings: &SmartSettings,
) -> Result<Decision, RequestError> {
    let classified = request::classify(line.method, line.path, line.query);
    authorize_classified(token, line, &classified, settings, false)
}

/// [`authorize`] for a request the caller has already classified (the proxy classifies once per request).
pub fn authorize_classified(
    token: &VerifiedToken,
    line: RequestLine<'_>,
    classified: &Result<FhirRequest, request::Unclassifiable>,
    settings: &SmartSettings,
    continuation_bound: bool,
) -> Result<Decision, RequestError> {
    if !token.smart() {
        // Q10: primary-authority tokens pass through after authentication.
        return Ok(Decision::Forward);
    }
    // D6: an absolute fhirUser must name a resource of this server, when the operator told us its base.
    if let (Some(base), Some(user)) = (&settings.fhir_base_url, token.fhir_user()) {
        if let Some(user_base) = user.base() {
            if user_base.trim_end_matches('/') != base.as_str().trim_end_matches('/') {
                return Err(Forbidden::FhirUserOutsideServer.into());
            }
        }
    }
    // F4, A7, Q11: `Read` is the only data action: GET and HEAD (a GET without the body), nothing else.
    if line.method != Method::GET && line.method != Method::HEAD {
        return Err(Forbidden::ReadOnly {
            client: token.client_id().unwrap_or_default().to_string(),
            method: line.method.as_str().chars().take(16).collect(),
        }
        .into());
    }
    let request = classified
        .as_ref()
        .map_err(|e| Forbidden::Unclassifiable(e.clone()))?;
    if request.interaction == Interaction::Capabilities {
        return Ok(Decision::Forward);
    }
    // A continuation (`_getpages`, `ct`) names a search the server keeps: only the token it was handed to may use
    // it (see crate::pages), and then it returns exactly what that confined search returns.
    // On any path: some servers honour `_getpages` wherever it appears.
    let continues = request.query.named("_getpages").next().is_some()
        || request.query.named("ct").next().is_some();
    if continues && !continuation_bound {
        return Err(Forbidden::UnknownPage.into());
    }
    let grants = token.grants();
    let Some(context) = grants.context else {
        return Err(Forbidden::NoClinicalScope.into());
    };
    let compartment = match context {
        Context::System => None,
        Context::Patient | Context::User => token
            .fhir_user()
            .and_then(|u| Compartment::of(u.resource_type(), u.id())),
    };
    // Bare ids of the owner in confining parameters go up typed (Q19); checked first, so only own ids change.
    let normalized = match (compartment, request.resource_type) {
        (Some(c), Some(ty)) if !request.query.is_empty() => {
            c.normalize_confining(ty, &request.query).filter(|_| {
                let base = settings.fhir_base_url.as_ref().map(Url::as_str);
                c.check_confining(ty, &request.query, base).is_ok()
            })
        }
        _ => None,
    };
    let canonical = normalized.as_ref().unwrap_or(&request.query).canonical();
    let decide = Decide {
        grants,
        context,
        request,
        path: line.path,
        query: (!canonical.is_empty()).then_some(canonical.as_str()),
        respelled: !canonical.is_empty() && line.query != Some(canonical.as_str()),
        base: settings.fhir_base_url.as_ref().map(Url::as_str),
        style: settings.rewrite_style,
        compartment,
    };
    decide.run()
}

/// One decision in progress.
struct Decide<'a> {
    grants: &'a GrantSet,
    context: Context,
    request: &'a FhirRequest,
    path: &'a str,
    /// The query in its canonical spelling (Q19): what every rewrite carries.
    query: Option<&'a str>,
    /// The client spelled its query differently from the canonical form.
    respelled: bool,
    /// The configured public FHIR base, for absolute references in confining parameters.
    base: Option<&'a str>,
    style: RewriteStyle,
    /// `None` under `system/` scopes, or when `fhirUser` has no compartment definition.
    compartment: Option<Compartment<'a>>,
}

impl Decide<'_> {
    fn confined(&self) -> bool {
        self.context != Context::System
    }

    fn run(&self) -> Result<Decision, RequestError> {
        let r = self.request;
        if r.interaction == Interaction::Continuation {
            // A later page of a search this token made (bound, checked above): under patient/ and user/ scopes its
            // entries are checked on the answer like the first page's includes and versions were.
            return Ok(match self.compartment.filter(|_| self.confined()) {
                Some(c) => self.as_sent(Answer::InCompartment {
                    owner: owner(&c),
                    matches: None,
                }),
                None if self.confined() => {
                    return Err(
                        Forbidden::NotConfinable("fhirUser has no compartment definition").into(),
                    )
                }
                None => Decision::Forward,
            });
        }
        if let Interaction::Operation(name) = &r.interaction {
            return self.operation(name);
        }
        let needed = match r.interaction {
            Interaction::Read | Interaction::VRead | Interaction::HistoryInstance => Perms::READ,
            _ => Perms::SEARCH,
        };
        self.check_touches()?;
        // F3: no type (system level, or a `*` compartment search) needs a `*` scope.
        let constraints = self.coverage(r.resource_type, needed)?;
        let extra = constraints
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        if !self.confined() {
            return Ok(self.unconfined(&extra));
        }
        self.confine(&extra)
    }

    /// Under `system/` scopes: only v2 constraints may need a rewrite.
    fn unconfined(&self, extra: &str) -> Decision {
        let r = self.request;
        if extra.is_empty() {
            return Decision::Forward;
        }
        match (&r.interaction, r.resource_type, &r.id) {
            (Interaction::Read, Some(ty), Some(id)) => Decision::Rewrite {
                path_and_query: with_query(&format!("/{ty}"), None, &format!("_id={id}&{extra}")),
                answer: Answer::Unwrap(SingleResource {
                    resource_type: ty,
                    id: id.clone(),
                }),
            },
            (Interaction::SearchType, Some(ty), _) => Decision::Rewrite {
                path_and_query: with_query(&format!("/{ty}"), self.query, extra),
                answer: Answer::AsIs,
            },
            // coverage() refuses constrained grants for every other interaction.
            _ => Decision::Forward,
        }
    }

    /// How a confined search's answer is checked: with `_include`/`_revinclude`, the resources they pull in must
    /// belong to the compartment (Q18); the search's own matches are confined by the query.
    fn search_answer(&self, c: &Compartment<'_>) -> Answer {
        let includes = self
            .request
            .touches
            .iter()
            .any(|t| matches!(t.kind, TouchKind::Include | TouchKind::RevInclude));
        if includes {
            Answer::InCompartment {
                owner: owner(c),
                matches: self.request.resource_type,
            }
        } else {
            Answer::AsIs
        }
    }

    /// The request as sent, or, when the client spelled its query differently, with the canonical query (Q19):
    /// the upstream parses exactly what the proxy decided on.
    fn as_sent(&self, answer: Answer) -> Decision {
        if !self.respelled && answer == Answer::AsIs {
            return Decision::Forward;
        }
        Decision::Rewrite {
            path_and_query: with_query(self.path, self.query, ""),
            answer,
        }
    }

    /// F6, F7, Q9, Q19: confine to the compartment of fhirUser.
    fn confine(&self, extra: &str) -> Result<Decision, RequestError> {
        let r = self.request;
        let Some(c) = self.compartment else {
            return Err(Forbidden::NotConfinable(
                "fhirUser has no compartment definition (Person, PractitionerRole)",
            )
            .into());
        };
        if let Interaction::SearchCompartment {
            compartment,
            compartment_id,
        } = &r.interaction
        {
            return self.compartment_search(&c, compartment, compartment_id, extra);
        }
        let Some(ty) = r.resource_type else {
            return Err(Forbidden::NotConfinable(
                "system-level searches and history cannot be confined to a compartment",
            )
            .into());
        };
        match c.link(ty) {
            Link::Unconfinable => return Err(unconfinable()),
            Link::Unrelated => {
                // Q9: types that cannot carry a person's data (Medication, Organization, ...) are readable when
                // covered; a single resource read is still checked on the answer.
                let decision = self.unconfined(extra);
                return Ok(match (decision, &r.interaction) {
                    (Decision::Forward, Interaction::Read | Interaction::VRead) => {
                        // Q9's defence in depth: a resource of such a type that names another person anyway is 404.
                        self.as_sent(Answer::InCompartment {
                            owner: owner(&c),
                            matches: None,
                        })
                    }
                    // A search: what its includes pull in is checked on the answer (Q18).
                    (Decision::Forward, _) => self.as_sent(self.search_answer(&c)),
                    (
                        Decision::Rewrite {
                            path_and_query,
                            answer: Answer::AsIs,
                        },
                        _,
                    ) => Decision::Rewrite {
                        path_and_query,
                        answer: self.search_answer(&c),
                    },
                    (rewritten, _) => rewritten,
                });
            }
            Link::Own | Link::Member | Link::PointsAt(_) => {}
        }
        c.check_confining(ty, &r.query, self.base)
            .map_err(Forbidden::ConfiningParameter)?;
        match (&r.interaction, &r.id) {
            // `GET Patient/<cid>` itself passes (F7); another patient's id is 404 (H8).
            (Interaction::Read | Interaction::VRead | Interaction::HistoryInstance, Some(id)) if ty == c.resource_type => {
                if id != c.id {
                    return Err(RequestError::NotFound);
                }
                Ok(if extra.is_empty() { self.as_sent(Answer::AsIs) } else { self.read_as_search(&c, ty, id, extra) })
            }
            (Interaction::Read, Some(id)) => Ok(self.read_as_search(&c, ty, id, extra)),
            // A version, or the history, of a resource of the compartment: checked on the answer (every version
            // must belong to the compartment; another patient's resource is 404).
            (Interaction::VRead | Interaction::HistoryInstance, Some(_)) if extra.is_empty() => {
                Ok(self.as_sent(Answer::InCompartment {
                    owner: owner(&c),
                    matches: None,
                }))
            }
            (Interaction::SearchType, _) => Ok(Decision::Rewrite {
                path_and_query: c.search(self.style, ty, self.query, extra),
                answer: self.search_answer(&c),
            }),
            _ => Err(Forbidden::NotConfinable(
                "versions and history of compartment resources, and type history, cannot be confined by the proxy",
            )
            .into()),
        }
    }

    /// `GET <CT>/<id>/<T|*>`: only the user's own compartment (another patient's is 404).
    fn compartment_search(
        &self,
        c: &Compartment<'_>,
        compartment: &str,
        compartment_id: &str,
        extra: &str,
    ) -> Result<Decision, RequestError> {
        if compartment != c.resource_type {
            return Err(Forbidden::NotConfinable("a search in another kind of compartment").into());
        }
        if compartment_id != c.id {
            return Err(RequestError::NotFound);
        }
        let target = self.request.resource_type.filter(|t| *t != "*");
        if let Some(ty) = target {
            match c.link(ty) {
                Link::Unconfinable => return Err(unconfinable()),
                // Not a compartment search FHIR defines (a type outside it), or the owner's own type, which the
                // compartment holds through `link` (other patients' records): the type search the proxy writes.
                Link::PointsAt(_) | Link::Own => {
                    c.check_confining(ty, &self.request.query, self.base)
                        .map_err(Forbidden::ConfiningParameter)?;
                    return Ok(Decision::Rewrite {
                        path_and_query: c.search(self.style, ty, self.query, extra),
                        answer: self.search_answer(c),
                    });
                }
                Link::Member | Link::Unrelated => {}
            }
            c.check_confining(ty, &self.request.query, self.base)
                .map_err(Forbidden::ConfiningParameter)?;
        }
        // A server without compartment search (the reason for the param style) would answer the client's own
        // `Patient/123/Observation` with 404: it gets the same type search the proxy writes for `Observation`.
        if self.style == RewriteStyle::Param {
            if let Some(ty) = target {
                return Ok(Decision::Rewrite {
                    path_and_query: c.search(RewriteStyle::Param, ty, self.query, extra),
                    answer: self.search_answer(c),
                });
            }
        }
        Ok(if extra.is_empty() {
            self.as_sent(self.search_answer(c))
        } else {
            let ty = self.request.resource_type.unwrap_or("*");
            Decision::Rewrite {
                path_and_query: with_query(
                    &format!("/{}/{}/{ty}", c.resource_type, c.id),
                    self.query,
                    extra,
                ),
                answer: self.search_answer(c),
            }
        })
    }

    /// F7: `GET T/id` → `GET <CT>/<cid>/T?_id=id`, answered with the single match or 404.
    fn read_as_search(
        &self,
        c: &Compartment<'_>,
        ty: &'static str,
        id: &str,
        extra: &str,
    ) -> Decision {
        let id_param = format!("_id={id}");
        let mut extra = if extra.is_empty() {
            id_param
        } else {
            format!("{id_param}&{extra}")
        };
        // The read's own shaping parameters survive the rewrite (canonical spelling).
        let shaping = crate::fhir::query::Query {
            params: self
                .request
                .query
                .params
                .iter()
                .filter(|p| {
                    p.is("_elements") || p.is("_summary") || p.is("_format") || p.is("_pretty")
                })
                .cloned()
                .collect(),
        };
        if !shaping.is_empty() {
            extra = format!("{extra}&{}", shaping.canonical());
        }
        Decision::Rewrite {
            path_and_query: c.search(self.style, ty, None, &extra),
            answer: Answer::Unwrap(SingleResource {
                resource_type: ty,
                id: id.to_string(),
            }),
        }
    }

    /// F8, Q12, Q18: every type the query pulls in or filters by.
    fn check_touches(&self) -> Result<(), RequestError> {
        for touch in &self.request.touches {
            if self.confined() {
                self.confined_touch(touch)?;
            }
            let needed = match touch.kind {
                TouchKind::Include | TouchKind::RevInclude => Perms::READ,
                _ => Perms::SEARCH,
            };
            // Constraints cannot be applied to resources pulled in by a parameter: only an unconstrained grant covers.
            if !self.coverage(touch.resource_type, needed)?.is_empty() {
                return Err(self.insufficient(touch.resource_type, needed, "a parameter-constrained scope cannot cover resources a query parameter pulls in"));
            }
        }
        Ok(())
    }

    /// Q18: what a rewrite cannot confine is refused under `patient/` and `user/` scopes.
    fn confined_touch(&self, touch: &Touch) -> Result<(), RequestError> {
        let refuse = |why| Err(Forbidden::NotConfinable(why).into());
        if touch.iterate {
            return refuse("_include:iterate cannot be confined to a compartment (rule Q18)");
        }
        match touch.kind {
            // Q18: what an include or revinclude pulls in is checked on the answer (see Answer::InCompartment).
            TouchKind::RevInclude | TouchKind::Include => Ok(()),
            TouchKind::ReverseChain => {
                refuse("_has cannot be confined to a compartment (rule Q12)")
            }
            TouchKind::Opaque => {
                refuse("_filter, _query and _list cannot be confined to a compartment")
            }
            TouchKind::TypeList => refuse("_type cannot be confined to a compartment"),
            TouchKind::Chain => Ok(()),
        }
    }

    /// F2, F3, E15: is `ty` (or, for `None`, every type) covered with `needed`? Returns the constraints the request
    /// must carry: empty when an unconstrained grant covers it.
    fn coverage(
        &self,
        ty: Option<&str>,
        needed: Perms,
    ) -> Result<Vec<(String, String)>, RequestError> {
        // The common case first, without collecting anything: an unconstrained grant covers it.
        if self.unconstrained(ty, needed) {
            return Ok(Vec::new());
        }
        let covering: Vec<&Grant> = self.covering(ty, needed).collect();
        let why = "no scope grants this interaction on this resource type";
        let Some(first) = covering.first() else {
            return Err(self.insufficient(ty, needed, why));
        };
        let constraints = if covering.iter().all(|g| g.constraints == first.constraints) {
            first.constraints.clone()
        } else {
            // E15: several grants are OR-ed. Expressible in one query when each is one `param=value` of the same
            // parameter: `category=laboratory,vital-signs` (FHIR's OR), with values that hold no comma.
            let name = &first.constraints[0].0;
            let single_same = covering.iter().all(|g| {
                g.constraints.len() == 1
                    && g.constraints[0].0 == *name
                    && !g.constraints[0].1.contains(',')
            });
            if !single_same {
                return Err(self.insufficient(ty, needed, "several parameter-constrained scopes on different parameters cover this type; the proxy cannot combine them into one search"));
            }
            let mut values: Vec<&str> = Vec::new();
            for g in &covering {
                if !values.contains(&g.constraints[0].1.as_str()) {
                    values.push(&g.constraints[0].1);
                }
            }
            vec![(name.clone(), values.join(","))]
        };
        // A search that names the constrained parameter must stay inside the grants: a value outside every grant is
        // refused (the added constraint would AND it away to nothing, silently).
        for (name, allowed) in &constraints {
            let allowed: Vec<&str> = allowed.split(',').collect();
            let outside = self
                .request
                .query
                .params
                .iter()
                .filter(|p| p.key == *name)
                .flat_map(|p| p.values())
                .any(|v| !allowed.contains(&v));
            if outside {
                return Err(self.insufficient(ty, needed, "the search asks for values outside every parameter-constrained scope of this type"));
            }
        }
        // Constraints confine searches and reads by id only (E14: never $export, never history).
        match self.request.interaction {
            Interaction::Read | Interaction::SearchType | Interaction::SearchCompartment { .. } => {
                Ok(constraints)
            }
            _ => Err(self.insufficient(
                ty,
                needed,
                "a parameter-constrained scope cannot authorize this interaction",
            )),
        }
    }

    /// An unconstrained grant covers `ty` (`None`: every type) with `needed`.
    fn unconstrained(&self, ty: Option<&str>, needed: Perms) -> bool {
        self.covering(ty, needed).any(|g| g.constraints.is_empty())
    }

    /// F3: the grants with `needed` on `ty` (`None`: only `*` grants cover every type).
    fn covering<'g>(
        &'g self,
        ty: Option<&'g str>,
        needed: Perms,
    ) -> impl Iterator<Item = &'g Grant> + 'g {
        self.grants.grants.iter().filter(move |g| {
            g.perms.contains(needed)
                && match ty {
                    Some(t) => g.resource.covers(t),
                    None => g.resource == ResourceScope::Any,
                }
        })
    }

    /// H4: 403 with `scope="..."` naming what would have been needed.
    fn insufficient(&self, ty: Option<&str>, needed: Perms, why: &'static str) -> RequestError {
        let letters = needed.letters();
        let scope = format!("{}/{}.{}", self.context.name(), ty.unwrap_or("*"), letters);
        Forbidden::InsufficientScope {
            interaction: self.request.interaction.label(),
            needed: scope,
            why,
        }
        .into()
    }

    /// F9, Q13, E14: the operations SMART scopes can grant.
    fn operation(&self, name: &str) -> Result<Decision, RequestError> {
        let r = self.request;
        let read = Perms::READ.with(Perms::SEARCH);
        match (name, r.resource_type, &r.id) {
            ("export", ty, id) => {
                if self.context != Context::System {
                    return Err(
                        Forbidden::NotConfinable("$export needs system/ scopes (rule F9)").into(),
                    );
                }
                let mut types: Vec<Option<&str>> = r
                    .touches
                    .iter()
                    .filter(|t| t.kind == TouchKind::TypeList)
                    .map(|t| t.resource_type)
                    .collect();
                if types.is_empty() {
                    types.push(None);
                }
                match (ty, id) {
                    (None, None) => {}
                    (Some("Patient"), None) => types.push(Some("Patient")),
                    (Some("Group"), Some(_)) => types.extend([Some("Group"), Some("Patient")]),
                    _ => return Err(Forbidden::OperationNotAllowed.into()),
                }
                for t in types {
                    // E14: only unconstrained grants authorize $export.
                    if !self.unconstrained(t, read) {
                        return Err(self.insufficient(
                            t,
                            read,
                            "$export needs an unconstrained read scope for each type; a parameter-constrained scope never authorizes it (rules F9, E14)",
                        ));
                    }
                }
                Ok(Decision::Forward)
            }
            // Q13: the patient's own $everything, with a read scope covering every type.
            ("everything", Some("Patient"), Some(id)) => {
                // Q19: only the operation's own parameters, none that widen it (`_mdm`, `_id`, `_revinclude`).
                if r.query
                    .params
                    .iter()
                    .any(|p| !EVERYTHING_PARAMS.contains(&p.name()))
                {
                    return Err(Forbidden::ConfiningParameter(
                        "$everything accepts only the parameters start, end, _since, _type, _count, _format and _pretty through this proxy",
                    )
                    .into());
                }
                if !self.unconstrained(None, read) {
                    return Err(self.insufficient(
                        None,
                        read,
                        "$everything needs an unconstrained */read scope (rule Q13)",
                    ));
                }
                if let Some(c) = self.compartment.filter(|_| self.confined()) {
                    if c.resource_type != "Patient" || c.id != id {
                        return Err(RequestError::NotFound);
                    }
                } else if self.confined() {
                    return Err(
                        Forbidden::NotConfinable("fhirUser has no compartment definition").into(),
                    );
                }
                Ok(self.as_sent(Answer::AsIs))
            }
            // Type-level operations that read within the patient's compartment: confined by their `patient`
            // parameter (the client's own copy must name the patient, Q19).
            ("lastn", Some(ty @ "Observation"), None)
            | ("docref", Some(ty @ "DocumentReference"), None) => {
                if !self.unconstrained(Some(ty), read) {
                    return Err(self.insufficient(
                        Some(ty),
                        read,
                        "this operation needs an unconstrained read scope on its type",
                    ));
                }
                if !self.confined() {
                    return Ok(self.as_sent(Answer::AsIs));
                }
                let Some(c) = self.compartment.filter(|c| c.resource_type == "Patient") else {
                    return Err(Forbidden::NotConfinable(
                        "this operation can be limited only to a patient's own data: it needs a patient's fhirUser",
                    )
                    .into());
                };
                c.check_confining(ty, &r.query, self.base)
                    .map_err(Forbidden::ConfiningParameter)?;
                Ok(Decision::Rewrite {
                    path_and_query: with_query(
                        self.path,
                        self.query,
                        &format!("patient=Patient/{}", c.id),
                    ),
                    answer: self.search_answer(&c),
                })
            }
            // Terminology operations on types that hold no patient data.
            (
                "expand" | "lookup" | "validate-code" | "translate" | "subsumes",
                Some(ty @ ("ValueSet" | "CodeSystem" | "ConceptMap")),
                _,
            ) => {
                if !self.unconstrained(Some(ty), read) {
                    return Err(self.insufficient(
                        Some(ty),
                        read,
                        "this operation needs an unconstrained read scope on its type",
                    ));
                }
                Ok(self.as_sent(Answer::AsIs))
            }
            _ => Err(Forbidden::OperationNotAllowed.into()),
        }
    }
}

#[cfg(test)]
mod tests;
