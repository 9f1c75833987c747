//! FHIR R4 (4.0.1) reference data kept in the crate.
//!
//! This module holds two kinds of data transcribed from the published HL7 FHIR
//! R4 specification, version 4.0.1 (<http://hl7.org/fhir/R4/>). It is data
//! copied from the specification's own definition files, not a guess or a
//! heuristic:
//!
//! * [`R4_RESOURCE_TYPES`]: every concrete resource type of FHIR R4 4.0.1, i.e.
//!   the codes of the `http://hl7.org/fhir/resource-types` code system
//!   (`codesystem-resource-types.json`) without the abstract types `Resource`
//!   and `DomainResource`. There are 146 of them (`Parameters` included).
//! * [`PATIENT_COMPARTMENT`], [`PRACTITIONER_COMPARTMENT`] and
//!   [`RELATED_PERSON_COMPARTMENT`]: the members of the base compartments, from
//!   the R4 CompartmentDefinition resources `compartmentdefinition-patient.json`,
//!   `compartmentdefinition-practitioner.json` and
//!   `compartmentdefinition-relatedperson.json`
//!   (<http://hl7.org/fhir/R4/compartmentdefinition.html>).
//!
//! Copies consulted for the transcription: the R4 (4.0.1) build of the
//! specification in the `fhir-ru/fhir-ru.github.io` repository (its
//! CompartmentDefinition files carry `"version" : "4.0.1"`), cross-checked
//! against the R4 compartment bundle shipped by `microsoft/fhir-server`
//! (`src/Microsoft.Health.Fhir.R4.Core/Features/Definition/compartment.json`);
//! the resource type list comes from the `ResourceType` enum that the HL7 Java
//! reference implementation generates for FHIR v4.0.1
//! (`hapifhir/org.hl7.fhir.core`, `org.hl7.fhir.r4/.../model/ResourceType.java`).
//!
//! All tables are sorted in ASCII order by resource type so that callers can
//! use `binary_search` / `binary_search_by`.

/// Every concrete resource type defined by FHIR R4 (4.0.1), sorted in ASCII
/// order.
///
/// The abstract types `Resource` and `DomainResource` are not included.
/// Source: the `http://hl7.org/fhir/resource-types` code system of R4 4.0.1
/// (146 concrete types).
pub const R4_RESOURCE_TYPES: &[&str] = &[
    "Account",
    "ActivityDefinition",
    "AdverseEvent",
    "AllergyIntolerance",
    "Appointment",
    "AppointmentResponse",
    "AuditEvent",
    "Basic",
    "Binary",
    "BiologicallyDerivedProduct",
    "BodyStructure",
    "Bundle",
    "CapabilityStatement",
    "CarePlan",
    "CareTeam",
    "CatalogEntry",
    "ChargeItem",
    "ChargeItemDefinition",
    "Claim",
    "ClaimResponse",
    "ClinicalImpression",
    "CodeSystem",
    "Communication",
    "CommunicationRequest",
    "CompartmentDefinition",
    "Composition",
    "ConceptMap",
    "Condition",
    "Consent",
    "Contract",
    "Coverage",
    "CoverageEligibilityRequest",
    "CoverageEligibilityResponse",
    "DetectedIssue",
    "Device",
    "DeviceDefinition",
    "DeviceMetric",
    "DeviceRequest",
    "DeviceUseStatement",
    "DiagnosticReport",
    "DocumentManifest",
    "DocumentReference",
    "EffectEvidenceSynthesis",
    "Encounter",
    "Endpoint",
    "EnrollmentRequest",
    "EnrollmentResponse",
    "EpisodeOfCare",
    "EventDefinition",
    "Evidence",
    "EvidenceVariable",
    "ExampleScenario",
    "ExplanationOfBenefit",
    "FamilyMemberHistory",
    "Flag",
    "Goal",
    "GraphDefinition",
    "Group",
    "GuidanceResponse",
    "HealthcareService",
    "ImagingStudy",
    "Immunization",
    "ImmunizationEvaluation",
    "ImmunizationRecommendation",
    "ImplementationGuide",
    "InsurancePlan",
    "Invoice",
    "Library",
    "Linkage",
    "List",
    "Location",
    "Measure",
    "MeasureReport",
    "Media",
    "Medication",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationKnowledge",
    "MedicationRequest",
    "MedicationStatement",
    "MedicinalProduct",
    "MedicinalProductAuthorization",
    "MedicinalProductContraindication",
    "MedicinalProductIndication",
    "MedicinalProductIngredient",
    "MedicinalProductInteraction",
    "MedicinalProductManufactured",
    "MedicinalProductPackaged",
    "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect",
    "MessageDefinition",
    "MessageHeader",
    "MolecularSequence",
    "NamingSystem",
    "NutritionOrder",
    "Observation",
    "ObservationDefinition",
    "OperationDefinition",
    "OperationOutcome",
    "Organization",
    "OrganizationAffiliation",
    "Parameters",
    "Patient",
    "PaymentNotice",
    "PaymentReconciliation",
    "Person",
    "PlanDefinition",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RelatedPerson",
    "RequestGroup",
    "ResearchDefinition",
    "ResearchElementDefinition",
    "ResearchStudy",
    "ResearchSubject",
    "RiskAssessment",
    "RiskEvidenceSynthesis",
    "Schedule",
    "SearchParameter",
    "ServiceRequest",
    "Slot",
    "Specimen",
    "SpecimenDefinition",
    "StructureDefinition",
    "StructureMap",
    "Subscription",
    "Substance",
    "SubstanceNucleicAcid",
    "SubstancePolymer",
    "SubstanceProtein",
    "SubstanceReferenceInformation",
    "SubstanceSourceMaterial",
    "SubstanceSpecification",
    "SupplyDelivery",
    "SupplyRequest",
    "Task",
    "TerminologyCapabilities",
    "TestReport",
    "TestScript",
    "ValueSet",
    "VerificationResult",
    "VisionPrescription",
];

/// The `param` value a CompartmentDefinition uses for the resource type that
/// defines the compartment itself (`Practitioner` in the Practitioner
/// compartment, `RelatedPerson` in the RelatedPerson compartment).
///
/// It is not a search parameter: it means "the compartment's own resource".
/// It is kept verbatim in the tables below because that is what the R4
/// definitions say; code that builds searches from the tables must treat it
/// specially (match on the resource id) rather than as a parameter name.
pub const COMPARTMENT_DEF_PARAM: &str = "{def}";

/// One resource type that is a member of a compartment, with the search
/// parameters that link a resource of that type to the compartment's owner.
///
/// A resource is in the compartment when any of `params` refers to the
/// compartment's owner (see [`COMPARTMENT_DEF_PARAM`] for the one special
/// value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompartmentMember {
    /// The FHIR resource type, e.g. `"Observation"`.
    pub resource_type: &'static str,
    /// Search parameter names, in the order the CompartmentDefinition lists
    /// them.
    pub params: &'static [&'static str],
}

/// Members of the Patient compartment, from R4 4.0.1
/// `compartmentdefinition-patient.json`
/// (<http://hl7.org/fhir/R4/compartmentdefinition-patient.html>).
///
/// Only resource types that have at least one `param` are listed; types the
/// definition lists without a param are never in the compartment. Sorted by
/// resource type in ASCII order. 66 members.
pub const PATIENT_COMPARTMENT: &[CompartmentMember] = &[
    CompartmentMember {
        resource_type: "Account",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "AdverseEvent",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "AllergyIntolerance",
        params: &["patient", "recorder", "asserter"],
    },
    CompartmentMember {
        resource_type: "Appointment",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "AppointmentResponse",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "AuditEvent",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Basic",
        params: &["patient", "author"],
    },
    CompartmentMember {
        resource_type: "BodyStructure",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "CarePlan",
        params: &["patient", "performer"],
    },
    CompartmentMember {
        resource_type: "CareTeam",
        params: &["patient", "participant"],
    },
    CompartmentMember {
        resource_type: "ChargeItem",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "Claim",
        params: &["patient", "payee"],
    },
    CompartmentMember {
        resource_type: "ClaimResponse",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "ClinicalImpression",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "Communication",
        params: &["subject", "sender", "recipient"],
    },
    CompartmentMember {
        resource_type: "CommunicationRequest",
        params: &["subject", "sender", "recipient", "requester"],
    },
    CompartmentMember {
        resource_type: "Composition",
        params: &["subject", "author", "attester"],
    },
    CompartmentMember {
        resource_type: "Condition",
        params: &["patient", "asserter"],
    },
    CompartmentMember {
        resource_type: "Consent",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Coverage",
        params: &["policy-holder", "subscriber", "beneficiary", "payor"],
    },
    CompartmentMember {
        resource_type: "CoverageEligibilityRequest",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "CoverageEligibilityResponse",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "DetectedIssue",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "DeviceRequest",
        params: &["subject", "performer"],
    },
    CompartmentMember {
        resource_type: "DeviceUseStatement",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "DiagnosticReport",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "DocumentManifest",
        params: &["subject", "author", "recipient"],
    },
    CompartmentMember {
        resource_type: "DocumentReference",
        params: &["subject", "author"],
    },
    CompartmentMember {
        resource_type: "Encounter",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "EnrollmentRequest",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "EpisodeOfCare",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "ExplanationOfBenefit",
        params: &["patient", "payee"],
    },
    CompartmentMember {
        resource_type: "FamilyMemberHistory",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Flag",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Goal",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Group",
        params: &["member"],
    },
    CompartmentMember {
        resource_type: "ImagingStudy",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Immunization",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "ImmunizationEvaluation",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "ImmunizationRecommendation",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Invoice",
        params: &["subject", "patient", "recipient"],
    },
    CompartmentMember {
        resource_type: "List",
        params: &["subject", "source"],
    },
    CompartmentMember {
        resource_type: "MeasureReport",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Media",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "MedicationAdministration",
        params: &["patient", "performer", "subject"],
    },
    CompartmentMember {
        resource_type: "MedicationDispense",
        params: &["subject", "patient", "receiver"],
    },
    CompartmentMember {
        resource_type: "MedicationRequest",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "MedicationStatement",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "MolecularSequence",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "NutritionOrder",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Observation",
        params: &["subject", "performer"],
    },
    CompartmentMember {
        resource_type: "Patient",
        params: &["link"],
    },
    CompartmentMember {
        resource_type: "Person",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "Procedure",
        params: &["patient", "performer"],
    },
    CompartmentMember {
        resource_type: "Provenance",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "QuestionnaireResponse",
        params: &["subject", "author"],
    },
    CompartmentMember {
        resource_type: "RelatedPerson",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "RequestGroup",
        params: &["subject", "participant"],
    },
    CompartmentMember {
        resource_type: "ResearchSubject",
        params: &["individual"],
    },
    CompartmentMember {
        resource_type: "RiskAssessment",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "Schedule",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "ServiceRequest",
        params: &["subject", "performer"],
    },
    CompartmentMember {
        resource_type: "Specimen",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "SupplyDelivery",
        params: &["patient"],
    },
    CompartmentMember {
        resource_type: "SupplyRequest",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "VisionPrescription",
        params: &["patient"],
    },
];

/// Members of the Practitioner compartment, from R4 4.0.1
/// `compartmentdefinition-practitioner.json`
/// (<http://hl7.org/fhir/R4/compartmentdefinition-practitioner.html>).
///
/// Only resource types that have at least one `param` are listed. Sorted by
/// resource type in ASCII order. 59 members. `Practitioner` itself carries
/// the special value [`COMPARTMENT_DEF_PARAM`] (`"{def}"`), as in the
/// definition.
pub const PRACTITIONER_COMPARTMENT: &[CompartmentMember] = &[
    CompartmentMember {
        resource_type: "Account",
        params: &["subject"],
    },
    CompartmentMember {
        resource_type: "AdverseEvent",
        params: &["recorder"],
    },
    CompartmentMember {
        resource_type: "AllergyIntolerance",
        params: &["recorder", "asserter"],
    },
    CompartmentMember {
        resource_type: "Appointment",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "AppointmentResponse",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "AuditEvent",
        params: &["agent"],
    },
    CompartmentMember {
        resource_type: "Basic",
        params: &["author"],
    },
    CompartmentMember {
        resource_type: "CarePlan",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "CareTeam",
        params: &["participant"],
    },
    CompartmentMember {
        resource_type: "ChargeItem",
        params: &["enterer", "performer-actor"],
    },
    CompartmentMember {
        resource_type: "Claim",
        params: &["enterer", "provider", "payee", "care-team"],
    },
    CompartmentMember {
        resource_type: "ClaimResponse",
        params: &["requestor"],
    },
    CompartmentMember {
        resource_type: "ClinicalImpression",
        params: &["assessor"],
    },
    CompartmentMember {
        resource_type: "Communication",
        params: &["sender", "recipient"],
    },
    CompartmentMember {
        resource_type: "CommunicationRequest",
        params: &["sender", "recipient", "requester"],
    },
    CompartmentMember {
        resource_type: "Composition",
        params: &["subject", "author", "attester"],
    },
    CompartmentMember {
        resource_type: "Condition",
        params: &["asserter"],
    },
    CompartmentMember {
        resource_type: "CoverageEligibilityRequest",
        params: &["enterer", "provider"],
    },
    CompartmentMember {
        resource_type: "CoverageEligibilityResponse",
        params: &["requestor"],
    },
    CompartmentMember {
        resource_type: "DetectedIssue",
        params: &["author"],
    },
    CompartmentMember {
        resource_type: "DeviceRequest",
        params: &["requester", "performer"],
    },
    CompartmentMember {
        resource_type: "DiagnosticReport",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "DocumentManifest",
        params: &["subject", "author", "recipient"],
    },
    CompartmentMember {
        resource_type: "DocumentReference",
        params: &["subject", "author", "authenticator"],
    },
    CompartmentMember {
        resource_type: "Encounter",
        params: &["practitioner", "participant"],
    },
    CompartmentMember {
        resource_type: "EpisodeOfCare",
        params: &["care-manager"],
    },
    CompartmentMember {
        resource_type: "ExplanationOfBenefit",
        params: &["enterer", "provider", "payee", "care-team"],
    },
    CompartmentMember {
        resource_type: "Flag",
        params: &["author"],
    },
    CompartmentMember {
        resource_type: "Group",
        params: &["member"],
    },
    CompartmentMember {
        resource_type: "Immunization",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "Invoice",
        params: &["participant"],
    },
    CompartmentMember {
        resource_type: "Linkage",
        params: &["author"],
    },
    CompartmentMember {
        resource_type: "List",
        params: &["source"],
    },
    CompartmentMember {
        resource_type: "Media",
        params: &["subject", "operator"],
    },
    CompartmentMember {
        resource_type: "MedicationAdministration",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "MedicationDispense",
        params: &["performer", "receiver"],
    },
    CompartmentMember {
        resource_type: "MedicationRequest",
        params: &["requester"],
    },
    CompartmentMember {
        resource_type: "MedicationStatement",
        params: &["source"],
    },
    CompartmentMember {
        resource_type: "MessageHeader",
        params: &["receiver", "author", "responsible", "enterer"],
    },
    CompartmentMember {
        resource_type: "NutritionOrder",
        params: &["provider"],
    },
    CompartmentMember {
        resource_type: "Observation",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "Patient",
        params: &["general-practitioner"],
    },
    CompartmentMember {
        resource_type: "PaymentNotice",
        params: &["provider"],
    },
    CompartmentMember {
        resource_type: "PaymentReconciliation",
        params: &["requestor"],
    },
    CompartmentMember {
        resource_type: "Person",
        params: &["practitioner"],
    },
    CompartmentMember {
        resource_type: "Practitioner",
        params: &["{def}"],
    },
    CompartmentMember {
        resource_type: "PractitionerRole",
        params: &["practitioner"],
    },
    CompartmentMember {
        resource_type: "Procedure",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "Provenance",
        params: &["agent"],
    },
    CompartmentMember {
        resource_type: "QuestionnaireResponse",
        params: &["author", "source"],
    },
    CompartmentMember {
        resource_type: "RequestGroup",
        params: &["participant", "author"],
    },
    CompartmentMember {
        resource_type: "ResearchStudy",
        params: &["principalinvestigator"],
    },
    CompartmentMember {
        resource_type: "RiskAssessment",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "Schedule",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "ServiceRequest",
        params: &["performer", "requester"],
    },
    CompartmentMember {
        resource_type: "Specimen",
        params: &["collector"],
    },
    CompartmentMember {
        resource_type: "SupplyDelivery",
        params: &["supplier", "receiver"],
    },
    CompartmentMember {
        resource_type: "SupplyRequest",
        params: &["requester"],
    },
    CompartmentMember {
        resource_type: "VisionPrescription",
        params: &["prescriber"],
    },
];

/// Members of the RelatedPerson compartment, from R4 4.0.1
/// `compartmentdefinition-relatedperson.json`
/// (<http://hl7.org/fhir/R4/compartmentdefinition-relatedperson.html>).
///
/// Only resource types that have at least one `param` are listed. Sorted by
/// resource type in ASCII order. 32 members. `RelatedPerson` itself carries
/// the special value [`COMPARTMENT_DEF_PARAM`] (`"{def}"`), as in the
/// definition.
pub const RELATED_PERSON_COMPARTMENT: &[CompartmentMember] = &[
    CompartmentMember {
        resource_type: "AdverseEvent",
        params: &["recorder"],
    },
    CompartmentMember {
        resource_type: "AllergyIntolerance",
        params: &["asserter"],
    },
    CompartmentMember {
        resource_type: "Appointment",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "AppointmentResponse",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "Basic",
        params: &["author"],
    },
    CompartmentMember {
        resource_type: "CarePlan",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "CareTeam",
        params: &["participant"],
    },
    CompartmentMember {
        resource_type: "ChargeItem",
        params: &["enterer", "performer-actor"],
    },
    CompartmentMember {
        resource_type: "Claim",
        params: &["payee"],
    },
    CompartmentMember {
        resource_type: "Communication",
        params: &["sender", "recipient"],
    },
    CompartmentMember {
        resource_type: "CommunicationRequest",
        params: &["sender", "recipient", "requester"],
    },
    CompartmentMember {
        resource_type: "Composition",
        params: &["author"],
    },
    CompartmentMember {
        resource_type: "Condition",
        params: &["asserter"],
    },
    CompartmentMember {
        resource_type: "Coverage",
        params: &["policy-holder", "subscriber", "payor"],
    },
    CompartmentMember {
        resource_type: "DocumentManifest",
        params: &["author", "recipient"],
    },
    CompartmentMember {
        resource_type: "DocumentReference",
        params: &["author"],
    },
    CompartmentMember {
        resource_type: "Encounter",
        params: &["participant"],
    },
    CompartmentMember {
        resource_type: "ExplanationOfBenefit",
        params: &["payee"],
    },
    CompartmentMember {
        resource_type: "Invoice",
        params: &["recipient"],
    },
    CompartmentMember {
        resource_type: "MedicationAdministration",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "MedicationStatement",
        params: &["source"],
    },
    CompartmentMember {
        resource_type: "Observation",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "Patient",
        params: &["link"],
    },
    CompartmentMember {
        resource_type: "Person",
        params: &["link"],
    },
    CompartmentMember {
        resource_type: "Procedure",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "Provenance",
        params: &["agent"],
    },
    CompartmentMember {
        resource_type: "QuestionnaireResponse",
        params: &["author", "source"],
    },
    CompartmentMember {
        resource_type: "RelatedPerson",
        params: &["{def}"],
    },
    CompartmentMember {
        resource_type: "RequestGroup",
        params: &["participant"],
    },
    CompartmentMember {
        resource_type: "Schedule",
        params: &["actor"],
    },
    CompartmentMember {
        resource_type: "ServiceRequest",
        params: &["performer"],
    },
    CompartmentMember {
        resource_type: "SupplyRequest",
        params: &["requester"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    const TABLES: &[(&str, &[CompartmentMember])] = &[
        ("Patient", PATIENT_COMPARTMENT),
        ("Practitioner", PRACTITIONER_COMPARTMENT),
        ("RelatedPerson", RELATED_PERSON_COMPARTMENT),
    ];

    fn members<'a>(table: &'a [CompartmentMember], resource_type: &str) -> &'a [&'static str] {
        let idx = table
            .binary_search_by(|m| m.resource_type.cmp(resource_type))
            .expect("resource type is a member");
        table[idx].params
    }

    #[test]
    fn resource_types_are_sorted_and_unique() {
        for pair in R4_RESOURCE_TYPES.windows(2) {
            assert!(
                pair[0] < pair[1],
                "R4_RESOURCE_TYPES not strictly ascending at {:?} / {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn resource_types_count_matches_r4() {
        // FHIR R4 4.0.1 defines 146 concrete resource types (148 codes in the
        // resource-types code system, minus Resource and DomainResource).
        assert_eq!(R4_RESOURCE_TYPES.len(), 146);
    }

    #[test]
    fn resource_types_contain_expected_entries() {
        for name in [
            "Patient",
            "Observation",
            "MedicationRequest",
            "Binary",
            "Bundle",
            "Parameters",
            "VisionPrescription",
        ] {
            assert!(
                R4_RESOURCE_TYPES.binary_search(&name).is_ok(),
                "{name} missing"
            );
        }
    }

    #[test]
    fn resource_types_exclude_abstract_and_non_r4() {
        for name in [
            "Resource",
            "DomainResource",
            "MedicationOrder",
            "RequestOrchestration",
            "patient",
        ] {
            assert!(
                R4_RESOURCE_TYPES.binary_search(&name).is_err(),
                "{name} should not be listed"
            );
        }
    }

    #[test]
    fn compartments_are_sorted_with_params_and_known_types() {
        for (name, table) in TABLES {
            assert!(!table.is_empty(), "{name} compartment is empty");
            for pair in table.windows(2) {
                assert!(
                    pair[0].resource_type < pair[1].resource_type,
                    "{name} compartment not strictly ascending at {:?} / {:?}",
                    pair[0].resource_type,
                    pair[1].resource_type
                );
            }
            for member in table.iter() {
                assert!(
                    !member.params.is_empty(),
                    "{name}: {} has no params",
                    member.resource_type
                );
                assert!(
                    R4_RESOURCE_TYPES
                        .binary_search(&member.resource_type)
                        .is_ok(),
                    "{name}: {} is not an R4 resource type",
                    member.resource_type
                );
                for param in member.params {
                    assert!(!param.is_empty(), "{name}: empty param name");
                }
            }
        }
    }

    #[test]
    fn compartment_sizes() {
        assert_eq!(PATIENT_COMPARTMENT.len(), 66);
        assert_eq!(PRACTITIONER_COMPARTMENT.len(), 59);
        assert_eq!(RELATED_PERSON_COMPARTMENT.len(), 32);
    }

    #[test]
    fn def_marker_only_on_the_compartment_owner() {
        for (name, table) in TABLES {
            for member in table.iter() {
                if member.params.contains(&COMPARTMENT_DEF_PARAM) {
                    assert_eq!(
                        member.resource_type, *name,
                        "{{def}} on a type other than the compartment owner"
                    );
                    assert_eq!(member.params.len(), 1);
                }
            }
        }
        assert_eq!(members(PRACTITIONER_COMPARTMENT, "Practitioner"), ["{def}"]);
        assert_eq!(
            members(RELATED_PERSON_COMPARTMENT, "RelatedPerson"),
            ["{def}"]
        );
    }

    #[test]
    fn spot_checks_against_the_definitions() {
        assert_eq!(
            members(PATIENT_COMPARTMENT, "Observation"),
            ["subject", "performer"]
        );
        assert_eq!(members(PATIENT_COMPARTMENT, "Patient"), ["link"]);
        assert_eq!(
            members(PATIENT_COMPARTMENT, "MedicationRequest"),
            ["subject"]
        );
        assert_eq!(
            members(PATIENT_COMPARTMENT, "AllergyIntolerance"),
            ["patient", "recorder", "asserter"]
        );
        assert_eq!(
            members(PATIENT_COMPARTMENT, "Coverage"),
            ["policy-holder", "subscriber", "beneficiary", "payor"]
        );
        assert_eq!(
            members(PRACTITIONER_COMPARTMENT, "Patient"),
            ["general-practitioner"]
        );
        assert_eq!(
            members(PRACTITIONER_COMPARTMENT, "Encounter"),
            ["practitioner", "participant"]
        );
        assert_eq!(members(RELATED_PERSON_COMPARTMENT, "Patient"), ["link"]);
        assert_eq!(members(RELATED_PERSON_COMPARTMENT, "Person"), ["link"]);

        // Listed without a param in the definitions, so not members.
        for (table, absent) in [
            (PATIENT_COMPARTMENT, "Binary"),
            (PATIENT_COMPARTMENT, "Practitioner"),
            (PATIENT_COMPARTMENT, "Medication"),
            (PRACTITIONER_COMPARTMENT, "RelatedPerson"),
            (PRACTITIONER_COMPARTMENT, "Consent"),
            (RELATED_PERSON_COMPARTMENT, "Account"),
            (RELATED_PERSON_COMPARTMENT, "Practitioner"),
        ] {
            assert!(
                table
                    .binary_search_by(|m| m.resource_type.cmp(absent))
                    .is_err(),
                "{absent} should not be a member"
            );
        }
    }
}
