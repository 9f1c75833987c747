//! Compartments (rules F6, F7, Q9, Q18, Q19): how each type relates to the compartment of `fhirUser`, the rewrites
//! that confine a request to it, and the check of the client's own copies of the confining parameters.
//!
//! In: the `fhirUser` reference and a resource type. Out: a [`Compartment`] and, per request, the rewritten path and
//! query. The membership table is FHIR R4's CompartmentDefinition (see [`crate::fhir::data`]), not a guess.
//! Two rewrite styles exist because not every FHIR server supports the `Patient/123/Observation` form:
//! [`RewriteStyle::Param`] adds the compartment's own search parameter instead, which may be narrower than the
//! compartment but never wider.

use crate::fhir::data::{
    CompartmentMember, PATIENT_COMPARTMENT, PRACTITIONER_COMPARTMENT, R4_RESOURCE_TYPES,
    RELATED_PERSON_COMPARTMENT,
};
use crate::fhir::query::{Param, Query};
use crate::fhir::references::{can_point_at, reference_param, reference_params, CONTAINER_TYPES};

/// How a search is confined to a compartment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RewriteStyle {
    /// `GET Observation?code=x` → `GET Patient/123/Observation?code=x` (FHIR compartment search).
    #[default]
    Path,
    /// `GET Observation?code=x` → `GET Observation?code=x&subject=Patient/123` (first parameter of the definition).
    Param,
}

/// The compartment of the user: its type, id and membership table.
#[derive(Debug, Clone, Copy)]
pub struct Compartment<'a> {
    pub resource_type: &'static str,
    pub id: &'a str,
    members: &'static [CompartmentMember],
}

impl<'a> Compartment<'a> {
    /// F6: Patient, Practitioner and RelatedPerson have compartment definitions; PractitionerRole and Person do not
    /// (`None`: nothing can be confined to them).
    pub fn of(resource_type: &'static str, id: &'a str) -> Option<Compartment<'a>> {
        let members = match resource_type {
            "Patient" => PATIENT_COMPARTMENT,
            "Practitioner" => PRACTITIONER_COMPARTMENT,
            "RelatedPerson" => RELATED_PERSON_COMPARTMENT,
            _ => return None,
        };
        Some(Compartment {
            resource_type,
            id,
            members,
        })
    }

    /// The search parameters linking `resource_type` to this compartment; `None` when the type is not a member (Q9).
    pub fn params(&self, resource_type: &str) -> Option<&'static [&'static str]> {
        self.members
            .binary_search_by(|m| m.resource_type.cmp(resource_type))
            .ok()
            .map(|i| self.members[i].params)
    }

    /// Is `resource_type` (other than the compartment's own type) a member?
    pub fn contains_type(&self, resource_type: &str) -> bool {
        resource_type == self.resource_type || self.params(resource_type).is_some()
    }

    /// Q9: how a resource of `resource_type` can be confined to this compartment.
    pub fn link(&self, resource_type: &str) -> Link {
        if resource_type == self.resource_type {
            return Link::Own;
        }
        if self.params(resource_type).is_some() {
            return Link::Member;
        }
        if CONTAINER_TYPES.contains(&resource_type) {
            return Link::Unconfinable;
        }
        if let Some(param) = self.pointing_param(resource_type) {
            return Link::PointsAt(param);
        }
        // A type that can name a patient but not this compartment's owner (a DiagnosticReport under a
        // Practitioner's compartment) holds patient data nothing here can confine.
        if can_point_at(resource_type, "Patient") {
            return Link::Unconfinable;
        }
        Link::Unrelated
    }

    /// The parameter that confines a type outside the definition: `patient`, then any with an explicit target list
    /// naming the compartment's type, then one that targets any type (alphabetical within each group).
    fn pointing_param(&self, resource_type: &str) -> Option<&'static str> {
        let ct = self.resource_type;
        let naming = || {
            reference_params(resource_type)
                .iter()
                .filter(|p| p.can_name(ct))
        };
        naming()
            .find(|p| p.code == "patient" && ct == "Patient")
            .or_else(|| {
                naming().find(|p| matches!(p.targets, crate::fhir::references::Targets::Types(_)))
            })
            .or_else(|| naming().next())
            .map(|p| p.code)
    }

    /// Q19: is `param` one that can tie a resource of `resource_type` to this compartment's type (so only the
    /// proxy may decide its value)?
    fn is_confining(&self, resource_type: &str, param: &Param) -> bool {
        let name = param.name();
        if resource_type == self.resource_type && name == "_id" {
            return true;
        }
        self.params(resource_type)
            .is_some_and(|ps| ps.iter().any(|p| p.eq_ignore_ascii_case(name)))
            || reference_param(resource_type, name).is_some_and(|p| p.can_name(self.resource_type))
    }

    /// Q19: the client's confining parameters that name the owner by bare id (`patient=123`, which apps send all the
    /// time) are sent as the typed reference (`patient=Patient/123`): the same search on a conformant server, and the
    /// only one some servers resolve. Call after [`Compartment::check_confining`] passed.
    pub fn normalize_confining(&self, resource_type: &str, query: &Query) -> Option<Query> {
        let bare_owner = query.params.iter().any(|p| {
            p.modifier().is_none()
                && !p.is_chained()
                && !p.is("_id")
                && p.values().any(|v| v == self.id)
                && self.is_confining(resource_type, p)
        });
        if !bare_owner {
            return None;
        }
        let mut out = query.clone();
        for p in &mut out.params {
            if p.modifier().is_none()
                && !p.is_chained()
                && !p.is("_id")
                && self.is_confining(resource_type, p)
            {
                let typed: Vec<String> = p
                    .values()
                    .map(|v| {
                        if v == self.id {
                            format!("{}/{}", self.resource_type, self.id)
                        } else {
                            v.to_string()
                        }
                    })
                    .collect();
                p.value = typed.join(",");
            }
        }
        Some(out)
    }

    /// Q19: every client copy of a confining parameter of `resource_type` must name this compartment's own
    /// resource: `cid`, `CT/cid` or `<base>/CT/cid`. References to another type (`performer=Practitioner/9`) pass.
    pub fn check_confining(
        &self,
        resource_type: &str,
        query: &Query,
        base: Option<&str>,
    ) -> Result<(), &'static str> {
        for param in query
            .params
            .iter()
            .filter(|p| self.is_confining(resource_type, p))
        {
            let typed = match param.modifier() {
                None => None,
                Some(m) if R4_RESOURCE_TYPES.binary_search(&m).is_ok() => Some(m),
                Some(_) => {
                    return Err("modifiers other than a resource type cannot be used on the parameter that ties resources to the patient or user");
                }
            };
            if param.is_chained() {
                // A chain into another kind of resource (`performer:Practitioner.name`) cannot select by the owner.
                if typed.is_some_and(|t| t != self.resource_type) {
                    continue;
                }
                return Err("a chained search through the parameter that ties resources to the patient or user cannot be checked by the proxy; search by that parameter's own value instead");
            }
            for value in param.values() {
                if !self.names_own(value, typed, base, param.is("_id")) {
                    return Err("a search parameter that ties resources to a patient or user names someone else (or nobody); the proxy already limits the search to the token's own compartment, leave that parameter out or name the token's own resource");
                }
            }
        }
        Ok(())
    }

    /// Does one value of a confining parameter name this compartment's own resource (or, typed, another kind of
    /// resource, which cannot widen the search)?
    fn names_own(&self, value: &str, typed: Option<&str>, base: Option<&str>, is_id: bool) -> bool {
        let (ct, cid) = (self.resource_type, self.id);
        if value.is_empty() || value.contains('\\') {
            return false;
        }
        if is_id {
            return value == cid;
        }
        // An absolute reference counts only on the configured FHIR base.
        let relative = if value.contains("://") {
            match base.and_then(|b| value.strip_prefix(b.trim_end_matches('/'))) {
                Some(rest) => rest.trim_start_matches('/'),
                None => return false,
            }
        } else {
            value
        };
        match relative.split_once('/') {
            Some((ty, id)) => {
                if ty == ct {
                    id == cid
                } else {
                    // Another resource type, named as such: it cannot be this compartment's owner.
                    R4_RESOURCE_TYPES.binary_search(&ty).is_ok()
                        && typed.is_none_or(|t| t == ty)
                        && !id.is_empty()
                        && !id.contains('/')
                }
            }
            // A bare id: the modifier says its type; without one it could be the compartment's type.
            None => match typed {
                Some(t) if t != ct => true,
                _ => relative == cid,
            },
        }
    }

    /// A type search confined to the compartment. `extra` is appended to the query (already encoded).
    pub fn search(
        &self,
        style: RewriteStyle,
        resource_type: &str,
        query: Option<&str>,
        extra: &str,
    ) -> String {
        let (ct, cid) = (self.resource_type, self.id);
        if resource_type == ct {
            // The compartment's own type: only the user's own resource. A second `_id` ANDs with any the client sent.
            return with_query(
                &format!("/{ct}"),
                query,
                &join(&format!("_id={cid}"), extra),
            );
        }
        if let Link::PointsAt(param) = self.link(resource_type) {
            // No compartment search exists for a type outside the definition: always the parameter.
            return with_query(
                &format!("/{resource_type}"),
                query,
                &join(&format!("{param}={ct}/{cid}"), extra),
            );
        }
        match (style, self.params(resource_type).and_then(|p| p.first())) {
            (RewriteStyle::Param, Some(param)) => with_query(
                &format!("/{resource_type}"),
                query,
                &join(&format!("{param}={ct}/{cid}"), extra),
            ),
            _ => with_query(&format!("/{ct}/{cid}/{resource_type}"), query, extra),
        }
    }
}

impl Compartment<'_> {
    /// Q18: may this resource of an answer be returned under this compartment? `matches` are the `Type/id`s of the
    /// search's own matches (confined by the query), for what an include or revinclude pulls in; empty for a version
    /// or a history. The owner itself; a resource of a type that cannot carry a person's data that names no other
    /// patient; any other resource that references the owner, or whose references to what can hold a person's data
    /// all name the search's matches (a Provenance of the patient's Observation) — and, in a Patient compartment, no
    /// other patient. Strict on purpose: a resource naming two patients is not returned.
    pub fn holds(&self, resource: &serde_json::Value, matches: &[String]) -> bool {
        let Some(ty) = resource["resourceType"].as_str() else {
            return false;
        };
        if ty == self.resource_type {
            return resource["id"] == self.id;
        }
        let (mut owner, mut other_patient, mut to_matches, mut unknown) =
            (false, false, false, false);
        // Any Patient but the owner, whatever the compartment (a Location naming a patient is not a Location).
        let mut some_patient = false;
        visit_references(resource, &mut |reference| {
            let (rty, rid) = reference_target(reference);
            let (Some(rty), Some(rid)) = (rty, rid) else {
                return;
            };
            if rty == "Patient" && !(self.resource_type == "Patient" && rid == self.id) {
                some_patient = true;
            }
            if rty == self.resource_type && rid == self.id {
                owner = true;
            } else if rty == "Patient" && self.resource_type == "Patient" {
                other_patient = true;
            } else if self.link(rty) != Link::Unrelated {
                if matches
                    .iter()
                    .any(|m| m.split_once('/') == Some((rty, rid)))
                {
                    to_matches = true;
                } else {
                    unknown = true;
                }
            }
        });
        match self.link(ty) {
            Link::Unrelated => !some_patient,
            _ => !other_patient && (owner || (to_matches && !unknown)),
        }
    }
}

/// Every `reference` string in a JSON value.
fn visit_references(value: &serde_json::Value, f: &mut impl FnMut(&str)) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("reference", serde_json::Value::String(r)) => f(r),
                    _ => visit_references(v, f),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| visit_references(v, f)),
        _ => {}
    }
}

/// `Type/id` of a relative or absolute reference (a version suffix dropped).
fn reference_target(reference: &str) -> (Option<&str>, Option<&str>) {
    let base = reference.split("/_history/").next().unwrap_or(reference);
    let mut segments = base.rsplit('/');
    let id = segments.next();
    let ty = segments.next();
    (ty, id)
}

/// How a resource type relates to a compartment (Q9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The compartment's own type: confined by `_id`.
    Own,
    /// A member of the CompartmentDefinition: confined by compartment search or its first parameter.
    Member,
    /// Outside the definition but able to point at the compartment's owner: confined by this parameter.
    PointsAt(&'static str),
    /// Can hold a person's data with nothing to confine it by (Binary, Bundle, or patient data under a
    /// Practitioner's compartment): refused.
    Unconfinable,
    /// Cannot carry data about a person (Medication, Organization, ValueSet, ...): readable when a scope covers it.
    Unrelated,
}

/// `path?query&extra`, leaving out whatever is empty.
pub fn with_query(path: &str, query: Option<&str>, extra: &str) -> String {
    let query = query.filter(|q| !q.is_empty());
    match (query, extra.is_empty()) {
        (None, true) => path.to_string(),
        (None, false) => format!("{path}?{extra}"),
        (Some(q), true) => format!("{path}?{q}"),
        (Some(q), false) => format!("{path}?{q}&{extra}"),
    }
}

fn join(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_string()
    } else {
        format!("{a}&{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f7_type_search_is_rewritten_into_the_compartment() {
        let c = Compartment::of("Patient", "123").expect("patient compartment");
        assert_eq!(
            c.search(RewriteStyle::Path, "Observation", Some("code=x"), ""),
            "/Patient/123/Observation?code=x"
        );
        assert_eq!(
            c.search(RewriteStyle::Param, "Observation", Some("code=x"), ""),
            "/Observation?code=x&subject=Patient/123"
        );
        assert_eq!(
            c.search(RewriteStyle::Path, "Patient", Some("name=x"), ""),
            "/Patient?name=x&_id=123"
        );
        assert_eq!(
            c.search(RewriteStyle::Path, "Observation", None, "_id=9"),
            "/Patient/123/Observation?_id=9"
        );
    }

    #[test]
    fn f6_q9_membership_follows_the_compartment_definition() {
        let c = Compartment::of("Patient", "1").expect("patient compartment");
        assert!(c.contains_type("Observation"));
        assert!(c.contains_type("Patient"));
        for outside in ["Medication", "Organization", "Location", "Practitioner"] {
            assert!(!c.contains_type(outside), "{outside}");
        }
        assert!(Compartment::of("PractitionerRole", "1").is_none());
        assert!(Compartment::of("Practitioner", "1").is_some_and(|p| p.contains_type("Encounter")));
    }

    #[test]
    fn q9_every_type_has_one_link_to_each_compartment() {
        let patient = Compartment::of("Patient", "123").expect("patient compartment");
        assert_eq!(patient.link("Patient"), Link::Own);
        assert_eq!(patient.link("Observation"), Link::Member);
        assert_eq!(patient.link("Task"), Link::PointsAt("patient"));
        assert_eq!(patient.link("Device"), Link::PointsAt("patient"));
        assert_eq!(patient.link("Linkage"), Link::PointsAt("item"));
        for container in ["Binary", "Bundle", "Parameters"] {
            assert_eq!(patient.link(container), Link::Unconfinable, "{container}");
        }
        for unrelated in [
            "Medication",
            "Organization",
            "Location",
            "ValueSet",
            "Library",
            "Practitioner",
        ] {
            assert_eq!(patient.link(unrelated), Link::Unrelated, "{unrelated}");
        }
        let practitioner = Compartment::of("Practitioner", "9").expect("practitioner compartment");
        // Patient data the Practitioner compartment has no parameter for cannot be confined to it.
        for ty in ["Goal", "Coverage", "Device", "FamilyMemberHistory"] {
            assert_eq!(practitioner.link(ty), Link::Unconfinable, "{ty}");
        }
        assert_eq!(practitioner.link("Task"), Link::PointsAt("owner"));
        assert_eq!(practitioner.link("Medication"), Link::Unrelated);
        // Every R4 type gets an answer; members and own are exactly the definition's.
        for ty in R4_RESOURCE_TYPES {
            let member = patient.contains_type(ty);
            assert_eq!(
                matches!(patient.link(ty), Link::Own | Link::Member),
                member,
                "{ty}"
            );
        }
    }

    #[test]
    fn q19_confining_parameters_must_name_the_own_resource() {
        let c = Compartment::of("Patient", "123").expect("patient compartment");
        let check = |ty: &str, q: &str| {
            c.check_confining(
                ty,
                &Query::parse(q).expect("query"),
                Some("https://fhir.example/r4"),
            )
        };
        for ok in [
            "subject=Patient/123",
            "patient=123",
            "subject:Patient=123",
            "subject=https://fhir.example/r4/Patient/123",
            "performer=Practitioner/9",
            "performer:Practitioner.name=x",
            "subject:Group=7",
            "code=x&category=y",
        ] {
            assert_eq!(check("Observation", ok), Ok(()), "{ok}");
        }
        for bad in [
            "subject=Patient/456",
            "subject=456",
            "subject=Patient/123,Patient/456",
            "subject=",
            "subject=https://other.example/Patient/123",
            "subject:missing=true",
            "subject:not=Patient/123",
            "subject.name=x",
            "subject:Patient.name=x",
            "performer=9",
            "focus=Patient/456",
            "SUBJECT=Patient/456",
        ] {
            assert!(check("Observation", bad).is_err(), "{bad}");
        }
        assert_eq!(check("Patient", "_id=123"), Ok(()));
        assert!(check("Patient", "_id=456").is_err());
        assert!(check("Patient", "_id=123,456").is_err());
        // `_id` of another type is not a confining parameter: the compartment search confines it.
        assert_eq!(check("Observation", "_id=anything"), Ok(()));
        assert!(check("Task", "patient=Patient/456").is_err());
        assert_eq!(check("Task", "patient=Patient/123"), Ok(()));
    }

    #[test]
    fn q18_an_answer_holds_only_what_belongs_to_the_compartment() {
        let c = Compartment::of("Patient", "123").expect("patient compartment");
        let none: [String; 0] = [];
        let matches = ["Observation/o1".to_string()];
        assert!(c.holds(
            &serde_json::json!({"resourceType": "Patient", "id": "123"}),
            &none
        ));
        assert!(!c.holds(
            &serde_json::json!({"resourceType": "Patient", "id": "456"}),
            &none
        ));
        assert!(c.holds(&serde_json::json!({"resourceType": "Observation", "subject": {"reference": "Patient/123"}}), &none));
        assert!(c.holds(&serde_json::json!({"resourceType": "Observation", "subject": {"reference": "https://fhir.example/Patient/123/_history/2"}}), &none));
        assert!(!c.holds(&serde_json::json!({"resourceType": "Observation", "subject": {"reference": "Patient/456"}}), &none));
        // Naming two patients: not returned.
        assert!(!c.holds(&serde_json::json!({"resourceType": "Observation", "subject": {"reference": "Patient/123"},
            "performer": [{"reference": "Patient/456"}]}), &none));
        // A Provenance of the search's own match is returned; one that also targets something else is not.
        let prov = |targets: serde_json::Value| {
            serde_json::json!({"resourceType": "Provenance", "target": targets,
            "agent": [{"who": {"reference": "Practitioner/9"}}]})
        };
        assert!(c.holds(
            &prov(serde_json::json!([{"reference": "Observation/o1"}])),
            &matches
        ));
        assert!(!c.holds(
            &prov(
                serde_json::json!([{"reference": "Observation/o1"}, {"reference": "Condition/c9"}])
            ),
            &matches
        ));
        assert!(!c.holds(
            &prov(serde_json::json!([{"reference": "Observation/o1"}])),
            &none
        ));
        // Types that cannot carry a person's data: unless they name another patient.
        assert!(c.holds(
            &serde_json::json!({"resourceType": "Medication", "id": "m"}),
            &none
        ));
        assert!(!c.holds(&serde_json::json!({"resourceType": "Practitioner", "extension": [{"valueReference": {"reference": "Patient/456"}}]}), &none));
        // Nothing attributes it: not returned.
        assert!(!c.holds(
            &serde_json::json!({"resourceType": "Observation", "status": "final"}),
            &none
        ));
    }

    #[test]
    fn q19_the_owners_bare_id_goes_up_typed() {
        let c = Compartment::of("Patient", "123").expect("patient compartment");
        let q =
            Query::parse("patient=123&code=123&subject:Patient=123&performer=Practitioner/9,123")
                .expect("query");
        assert_eq!(
            c.normalize_confining("Observation", &q).map(|q| q.canonical()).as_deref(),
            Some("patient=Patient/123&code=123&subject:Patient=123&performer=Practitioner/9,Patient/123")
        );
        let own = Query::parse("_id=123").expect("query");
        assert_eq!(c.normalize_confining("Patient", &own), None);
        let typed = Query::parse("patient=Patient/123").expect("query");
        assert_eq!(c.normalize_confining("Observation", &typed), None);
    }
}
