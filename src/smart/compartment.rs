//! Compartments (rules F6, F7, Q9, Q18): which types belong to the compartment of `fhirUser`, and the rewrites that
//! confine a request to it.
//!
//! In: the `fhirUser` reference and a resource type. Out: a [`Compartment`] and, per request, the rewritten path and
//! query. The membership table is FHIR R4's CompartmentDefinition (see [`super::fhir_data`]), not a guess.
//! Two rewrite styles exist because not every FHIR server supports the `Patient/123/Observation` form:
//! [`RewriteStyle::Param`] adds the compartment's own search parameter instead, which may be narrower than the
//! compartment but never wider.

use super::fhir_data::{
    CompartmentMember, PATIENT_COMPARTMENT, PRACTITIONER_COMPARTMENT, RELATED_PERSON_COMPARTMENT,
};

/// How a search is confined to a compartment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
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
}
