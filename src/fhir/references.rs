//! Reference search parameters of FHIR R4 and the resource types each can target (rules Q9, Q19).
//!
//! In: a resource type and a parameter code. Out: the parameter's targets. The table itself
//! (`search_params.rs`) is generated from the R4 SearchParameter definitions; this file holds its types and
//! the questions the authorization asks of it.

use super::search_params::REFERENCE_PARAMS;
pub use super::search_params::{ReferenceParam, Targets, TypeParams};

impl Targets {
    pub fn includes(self, resource_type: &str) -> bool {
        match self {
            Targets::Any => true,
            Targets::Types(types) => types.binary_search(&resource_type).is_ok(),
        }
    }
}

impl ReferenceParam {
    /// Can this parameter name a resource of `resource_type` (an instance, not a canonical artifact)?
    pub fn can_name(&self, resource_type: &str) -> bool {
        !self.canonical && self.targets.includes(resource_type)
    }
}

/// Resource types that can hold arbitrary content, a person's data included, and have no search parameter that ties
/// them to a person: nothing can confine them to a compartment (Q9).
pub const CONTAINER_TYPES: &[&str] = &["Binary", "Bundle", "Parameters"];

/// The reference parameters of `resource_type` (empty for an unknown type).
pub fn reference_params(resource_type: &str) -> &'static [ReferenceParam] {
    REFERENCE_PARAMS
        .binary_search_by(|t| t.resource_type.cmp(resource_type))
        .map(|i| REFERENCE_PARAMS[i].params)
        .unwrap_or(&[])
}

/// The reference parameter `code` of `resource_type`, compared without regard to ASCII case.
pub fn reference_param(resource_type: &str, code: &str) -> Option<&'static ReferenceParam> {
    reference_params(resource_type)
        .iter()
        .find(|p| p.code.eq_ignore_ascii_case(code))
}

/// Does `resource_type` have a parameter that can name a resource of `target` (Q9)?
pub fn can_point_at(resource_type: &str, target: &str) -> bool {
    reference_params(resource_type)
        .iter()
        .any(|p| p.can_name(target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::data::R4_RESOURCE_TYPES;

    #[test]
    fn q9_the_table_covers_every_r4_type_sorted_with_sorted_targets() {
        let types: Vec<&str> = REFERENCE_PARAMS.iter().map(|t| t.resource_type).collect();
        assert_eq!(types, R4_RESOURCE_TYPES);
        for t in REFERENCE_PARAMS {
            assert!(
                t.params.windows(2).all(|w| w[0].code < w[1].code),
                "{}",
                t.resource_type
            );
            for p in t.params {
                if let Targets::Types(list) = p.targets {
                    assert!(
                        list.windows(2).all(|w| w[0] < w[1]),
                        "{}.{}",
                        t.resource_type,
                        p.code
                    );
                }
            }
        }
    }

    #[test]
    fn q9_types_outside_the_compartment_that_point_at_a_patient_are_known() {
        for ty in [
            "Task",
            "Device",
            "GuidanceResponse",
            "Linkage",
            "Contract",
            "Schedule",
        ] {
            assert!(can_point_at(ty, "Patient"), "{ty}");
        }
        for ty in [
            "Medication",
            "Organization",
            "Location",
            "Substance",
            "ValueSet",
            "Binary",
            "Bundle",
        ] {
            assert!(!can_point_at(ty, "Patient"), "{ty}");
        }
        // RelatedArtifact references are canonical: a Library cannot point at a patient through them.
        assert!(!can_point_at("Library", "Patient"));
        assert_eq!(
            reference_param("Observation", "SUBJECT").map(|p| p.code),
            Some("subject")
        );
        assert!(reference_param("Observation", "code").is_none());
    }
}
