//! Table tests of the classifier: request line → interaction, type, id and touched types (rules F1–F10, Q9–Q13,
//! Q18, FHIR R4 http.html and search.html). Each row asserts the whole [`FhirRequest`]; failing rows assert the
//! exact [`Unclassifiable`] reason.

use super::*;
use crate::fhir::query::percent_decode;

/// `(request line, interaction, resource type, id, touches)`.
type Row<'a> = (
    &'a str,
    Interaction,
    Option<&'static str>,
    Option<&'a str>,
    Vec<Touch>,
);

/// Classify a request line written as `METHOD /path?query`.
fn classify_line(line: &str) -> Result<FhirRequest, Unclassifiable> {
    let (method, target) = line
        .split_once(' ')
        .expect("request line is `METHOD target`");
    let method = Method::from_bytes(method.as_bytes()).expect("valid method");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    classify(&method, path, query)
}

fn assert_rows(rows: Vec<Row<'_>>) {
    for (line, interaction, resource_type, id, touches) in rows {
        let got = classify_line(line).expect(line);
        let expected = FhirRequest {
            interaction,
            resource_type,
            id: id.map(str::to_string),
            touches,
            query: got.query.clone(),
        };
        assert_eq!(got, expected, "request line: {line}");
    }
}

fn assert_unclassifiable(rows: &[(&str, &'static str)]) {
    for (line, why) in rows {
        assert_eq!(
            classify_line(line),
            Err(Unclassifiable(why)),
            "request line: {line}"
        );
    }
}

fn touch(kind: TouchKind, resource_type: Option<&'static str>, iterate: bool) -> Touch {
    Touch {
        kind,
        resource_type,
        iterate,
    }
}

fn include(ty: Option<&'static str>) -> Touch {
    touch(TouchKind::Include, ty, false)
}

fn include_iterate(ty: Option<&'static str>) -> Touch {
    touch(TouchKind::Include, ty, true)
}

fn revinclude(ty: &'static str) -> Touch {
    touch(TouchKind::RevInclude, Some(ty), false)
}

fn chain(ty: Option<&'static str>) -> Touch {
    touch(TouchKind::Chain, ty, false)
}

fn has(ty: &'static str) -> Touch {
    touch(TouchKind::ReverseChain, Some(ty), false)
}

fn type_list(ty: &'static str) -> Touch {
    touch(TouchKind::TypeList, Some(ty), false)
}

fn opaque() -> Touch {
    touch(TouchKind::Opaque, None, false)
}

fn op(name: &str) -> Interaction {
    Interaction::Operation(name.to_string())
}

fn compartment(compartment: &'static str, id: &str) -> Interaction {
    Interaction::SearchCompartment {
        compartment,
        compartment_id: id.to_string(),
    }
}

// === F1, F2, F3: reads, searches, history ===

#[test]
fn f1_capabilities() {
    assert_rows(vec![
        (
            "GET /metadata",
            Interaction::Capabilities,
            None,
            None,
            vec![],
        ),
        (
            "HEAD /metadata",
            Interaction::Capabilities,
            None,
            None,
            vec![],
        ),
        (
            "GET /metadata?_format=json",
            Interaction::Capabilities,
            None,
            None,
            vec![],
        ),
    ]);
}

#[test]
fn f2_read_vread_and_instance_history() {
    let id64 = "a".repeat(64);
    let long_read = format!("GET /Patient/{id64}");
    assert_rows(vec![
        (
            "GET /Patient/123",
            Interaction::Read,
            Some("Patient"),
            Some("123"),
            vec![],
        ),
        (
            "HEAD /Patient/123",
            Interaction::Read,
            Some("Patient"),
            Some("123"),
            vec![],
        ),
        (
            "GET /Observation/a-b.C9",
            Interaction::Read,
            Some("Observation"),
            Some("a-b.C9"),
            vec![],
        ),
        (
            &long_read,
            Interaction::Read,
            Some("Patient"),
            Some(&id64),
            vec![],
        ),
        (
            "GET /Patient/123/_history/2",
            Interaction::VRead,
            Some("Patient"),
            Some("123"),
            vec![],
        ),
        (
            "GET /Patient/123/_history",
            Interaction::HistoryInstance,
            Some("Patient"),
            Some("123"),
            vec![],
        ),
        (
            "GET /Patient/123/_history?_count=10&_since=2020-01-01",
            Interaction::HistoryInstance,
            Some("Patient"),
            Some("123"),
            vec![],
        ),
    ]);
}

#[test]
fn f2_f3_type_and_system_search_and_history() {
    assert_rows(vec![
        (
            "GET /Patient/_history",
            Interaction::HistoryType,
            Some("Patient"),
            None,
            vec![],
        ),
        (
            "GET /_history",
            Interaction::HistorySystem,
            None,
            None,
            vec![],
        ),
        (
            "GET /_history?_since=2020-01-01",
            Interaction::HistorySystem,
            None,
            None,
            vec![],
        ),
        (
            "GET /Observation?code=x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "GET /Observation",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "HEAD /Observation?code=x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "GET /Observation/_search",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "GET /Observation/_search?code=x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![],
        ),
        ("GET /", Interaction::SearchSystem, None, None, vec![]),
        (
            "GET /?_type=Patient,Observation",
            Interaction::SearchSystem,
            None,
            None,
            vec![type_list("Patient"), type_list("Observation")],
        ),
        (
            "GET /?_type=Patient%2CObservation",
            Interaction::SearchSystem,
            None,
            None,
            vec![type_list("Patient"), type_list("Observation")],
        ),
        (
            "GET /?_type=",
            Interaction::SearchSystem,
            None,
            None,
            vec![],
        ),
    ]);
}

#[test]
fn f6_compartment_searches() {
    assert_rows(vec![
        (
            "GET /Patient/123/Observation",
            compartment("Patient", "123"),
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "GET /Patient/123/*",
            compartment("Patient", "123"),
            None,
            None,
            vec![],
        ),
        (
            "GET /Patient/123/Observation?code=x",
            compartment("Patient", "123"),
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "GET /Patient/123/Observation?_include=Observation:performer:Practitioner",
            compartment("Patient", "123"),
            Some("Observation"),
            None,
            vec![include(Some("Practitioner"))],
        ),
        (
            "GET /Encounter/5/Observation",
            compartment("Encounter", "5"),
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "GET /Practitioner/p1/Encounter",
            compartment("Practitioner", "p1"),
            Some("Encounter"),
            None,
            vec![],
        ),
        (
            "GET /RelatedPerson/r1/*",
            compartment("RelatedPerson", "r1"),
            None,
            None,
            vec![],
        ),
        (
            "GET /Device/d1/Observation",
            compartment("Device", "d1"),
            Some("Observation"),
            None,
            vec![],
        ),
    ]);
}

// === F4, Q11: writes are classified (and refused later by the Read-only data action) ===

#[test]
fn f4_q11_writes_batch_and_post_search() {
    assert_rows(vec![
        (
            "POST /Observation/_search",
            Interaction::SearchPost,
            Some("Observation"),
            None,
            vec![],
        ),
        ("POST /_search", Interaction::SearchPost, None, None, vec![]),
        (
            "POST /_search?_type=Patient",
            Interaction::SearchPost,
            None,
            None,
            vec![type_list("Patient")],
        ),
        (
            "POST /Observation",
            Interaction::Create,
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "PUT /Patient/1",
            Interaction::Update,
            Some("Patient"),
            Some("1"),
            vec![],
        ),
        (
            "PUT /Patient?identifier=x",
            Interaction::Update,
            Some("Patient"),
            None,
            vec![],
        ),
        (
            "PATCH /Patient/1",
            Interaction::Patch,
            Some("Patient"),
            Some("1"),
            vec![],
        ),
        (
            "PATCH /Patient?identifier=x",
            Interaction::Patch,
            Some("Patient"),
            None,
            vec![],
        ),
        (
            "DELETE /Patient/1",
            Interaction::Delete,
            Some("Patient"),
            Some("1"),
            vec![],
        ),
        (
            "DELETE /Patient?identifier=x",
            Interaction::Delete,
            Some("Patient"),
            None,
            vec![],
        ),
        ("POST /", Interaction::Batch, None, None, vec![]),
    ]);
}

// === F9, Q13: operations ===

#[test]
fn f9_q13_operations_at_system_type_and_instance_level() {
    assert_rows(vec![
        ("GET /$export", op("export"), None, None, vec![]),
        (
            "GET /$export?_type=Patient,Observation",
            op("export"),
            None,
            None,
            vec![type_list("Patient"), type_list("Observation")],
        ),
        (
            "GET /Patient/$export",
            op("export"),
            Some("Patient"),
            None,
            vec![],
        ),
        (
            "GET /Group/1/$export?_type=Observation",
            op("export"),
            Some("Group"),
            Some("1"),
            vec![type_list("Observation")],
        ),
        (
            "GET /$export-poll-status?_jobId=abc",
            op("export-poll-status"),
            None,
            None,
            vec![],
        ),
        (
            "DELETE /$export-poll-status?_jobId=abc",
            op("export-poll-status"),
            None,
            None,
            vec![],
        ),
        (
            "GET /Patient/123/$everything",
            op("everything"),
            Some("Patient"),
            Some("123"),
            vec![],
        ),
        (
            "POST /Observation/$validate",
            op("validate"),
            Some("Observation"),
            None,
            vec![],
        ),
    ]);
}

// === F8, Q18: includes ===

#[test]
fn f8_include_targets() {
    assert_rows(vec![
        (
            "GET /Observation?_include=Observation:subject:Patient",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![include(Some("Patient"))],
        ),
        // Without a target type: every type the R4 parameter can target.
        (
            "GET /Observation?_include=Observation:subject",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![
                include(Some("Device")),
                include(Some("Group")),
                include(Some("Location")),
                include(Some("Patient")),
            ],
        ),
        (
            "GET /MedicationRequest?_include=MedicationRequest:medication",
            Interaction::SearchType,
            Some("MedicationRequest"),
            None,
            vec![include(Some("Medication"))],
        ),
        // A parameter that can target any type: unknown.
        (
            "GET /Observation?_include=Observation:focus",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![include(None)],
        ),
        (
            "GET /Observation?_include=*",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![include(None)],
        ),
        (
            "GET /Observation?_include=Observation:*",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![include(None)],
        ),
        (
            "GET /Observation?_include=Observation%3Asubject%3APatient",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![include(Some("Patient"))],
        ),
        (
            "GET /Observation?_include=Observation:subject:Patient,Observation:performer:Practitioner",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![include(Some("Patient")), include(Some("Practitioner"))],
        ),
        (
            "GET /Observation?code=x&_include=Observation:subject:Patient&_include=Observation:performer",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![
                include(Some("Patient")),
                include(Some("CareTeam")),
                include(Some("Organization")),
                include(Some("Patient")),
                include(Some("Practitioner")),
                include(Some("PractitionerRole")),
                include(Some("RelatedPerson")),
            ],
        ),
    ]);
}

#[test]
fn f8_q18_include_iterate_and_recurse() {
    assert_rows(vec![
        (
            "GET /Observation?_include:iterate=Observation:performer:Practitioner",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![include_iterate(Some("Practitioner"))],
        ),
        (
            "GET /Observation?_include:recurse=Observation:subject:Patient",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![include_iterate(Some("Patient"))],
        ),
        (
            "GET /Observation?_include%3Aiterate=Observation:subject",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![
                include_iterate(Some("Device")),
                include_iterate(Some("Group")),
                include_iterate(Some("Location")),
                include_iterate(Some("Patient")),
            ],
        ),
    ]);
}

#[test]
fn f8_q18_revinclude_touches_the_source_type() {
    assert_rows(vec![
        (
            "GET /Patient?_revinclude=Provenance:target",
            Interaction::SearchType,
            Some("Patient"),
            None,
            vec![revinclude("Provenance")],
        ),
        (
            "GET /Patient?_revinclude=Provenance:target:Patient",
            Interaction::SearchType,
            Some("Patient"),
            None,
            vec![revinclude("Provenance")],
        ),
        (
            "GET /Patient?_revinclude:iterate=Observation:subject",
            Interaction::SearchType,
            Some("Patient"),
            None,
            vec![touch(TouchKind::RevInclude, Some("Observation"), true)],
        ),
        (
            "GET /Patient?_revinclude=Provenance:target,Observation:subject",
            Interaction::SearchType,
            Some("Patient"),
            None,
            vec![revinclude("Provenance"), revinclude("Observation")],
        ),
    ]);
}

// === Q12: chains and reverse chains ===

#[test]
fn q12_chains_name_their_target_one_level_deep_only() {
    assert_rows(vec![
        (
            "GET /Observation?subject:Patient.name=x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![chain(Some("Patient"))],
        ),
        (
            "GET /Observation?subject%3APatient.name=x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![chain(Some("Patient"))],
        ),
        (
            "GET /Observation?subject:Patient.name:exact=x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![chain(Some("Patient"))],
        ),
        (
            "GET /Observation?subject.name=x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![chain(None)],
        ),
        (
            "GET /Observation?subject:Patient.organization.name=x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![chain(None)],
        ),
    ]);
}

#[test]
fn q12_has_is_a_reverse_chain() {
    assert_rows(vec![
        (
            "GET /Patient?_has:Observation:patient:code=1",
            Interaction::SearchType,
            Some("Patient"),
            None,
            vec![has("Observation")],
        ),
        (
            "GET /Patient?_has%3AObservation%3Apatient%3Acode=1",
            Interaction::SearchType,
            Some("Patient"),
            None,
            vec![has("Observation")],
        ),
        // R4 search.html: `_has` may be nested; every level's type is touched.
        (
            "GET /Patient?_has:Observation:patient:_has:AuditEvent:entity:agent=u1",
            Interaction::SearchType,
            Some("Patient"),
            None,
            vec![has("Observation"), has("AuditEvent")],
        ),
        // A chain in the innermost parameter filters by a third type.
        (
            "GET /Patient?_has:Observation:patient:performer:Practitioner.name=x",
            Interaction::SearchType,
            Some("Patient"),
            None,
            vec![has("Observation"), chain(Some("Practitioner"))],
        ),
    ]);
}

#[test]
fn f9_type_list_touches_every_listed_type() {
    assert_rows(vec![
        (
            "GET /Observation?_type=Patient,Observation",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![type_list("Patient"), type_list("Observation")],
        ),
        (
            "GET /?_type=Patient,,Observation",
            Interaction::SearchSystem,
            None,
            None,
            vec![type_list("Patient"), type_list("Observation")],
        ),
    ]);
}

#[test]
fn q18_filter_query_and_list_are_opaque() {
    assert_rows(vec![
        (
            "GET /Observation?_filter=code%20eq%20x",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![opaque()],
        ),
        (
            "GET /Observation?_query=current-high-risk",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![opaque()],
        ),
        (
            "GET /?_list=42",
            Interaction::SearchSystem,
            None,
            None,
            vec![opaque()],
        ),
    ]);
}

#[test]
fn plain_parameters_touch_nothing() {
    assert_rows(vec![
        (
            "GET /Observation?code=http://loinc.org|1234-5&date=ge2020-01-01&_count=10",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "GET /Observation?subject:Patient=123&_elements=code,subject&&_sort=-date",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![],
        ),
        (
            "GET /Observation?",
            Interaction::SearchType,
            Some("Observation"),
            None,
            vec![],
        ),
    ]);
}

// === Fail closed ===

#[test]
fn unclassifiable_types_and_ids() {
    let id65 = format!("GET /Patient/{}", "a".repeat(65));
    assert_unclassifiable(&[
        ("GET /Observaton/1", "not a FHIR R4 resource type"),
        ("GET /patient/1", "not a FHIR R4 resource type"),
        ("GET /Patient/123/Observaton", "not a FHIR R4 resource type"),
        ("GET /Patient/a_b", "malformed resource id"),
        (&id65, "malformed resource id"),
        ("GET /Patient/1/_history/a_b", "malformed resource id"),
        ("GET /Patient/_history/1", "malformed resource id"),
        ("GET /$", "malformed operation name"),
        ("GET /Patient/$exp.ort", "malformed operation name"),
    ]);
}

#[test]
fn unclassifiable_path_shapes() {
    assert_unclassifiable(&[
        ("GET Patient/1", "path does not start with /"),
        ("GET /Patient//1", "empty or dot segment in the path"),
        ("GET /Patient/1/", "empty or dot segment in the path"),
        ("GET //Patient", "empty or dot segment in the path"),
        (
            "GET /Patient/../Observation",
            "empty or dot segment in the path",
        ),
        ("GET /./Patient", "empty or dot segment in the path"),
        ("GET /Patient%2F1", "percent-escapes in the path"),
        ("GET /Patient/%31", "percent-escapes in the path"),
        ("GET /Patient/1/_history/2/x", "unknown instance-level path"),
        (
            "GET /Patient/1/Observation/2",
            "unknown instance-level path",
        ),
        // Only Patient, Encounter, RelatedPerson, Practitioner and Device have compartments in R4.
        ("GET /Observation/1/Patient", "unknown instance-level path"),
        ("GET /Organization/1/*", "unknown instance-level path"),
    ]);
}

#[test]
fn f4_unclassifiable_method_for_path() {
    assert_unclassifiable(&[
        ("DELETE /", "method not defined for this path"),
        ("PUT /", "method not defined for this path"),
        // R4 defines system search as `GET /?..` and `POST /_search`; `GET /_search` is not an interaction.
        ("GET /_search", "not a FHIR R4 resource type"),
        ("POST /metadata", "not a FHIR R4 resource type"),
        ("DELETE /_history", "not a FHIR R4 resource type"),
        ("POST /Patient/1", "unknown instance-level path"),
        ("POST /Patient/1/_history", "unknown instance-level path"),
        (
            "POST /Patient/123/Observation",
            "unknown instance-level path",
        ),
        // `_history`/`_search` under the wrong method fall through to the id arm and fail as an id.
        ("POST /Patient/_history", "malformed resource id"),
        ("PUT /Patient/_search", "malformed resource id"),
        ("OPTIONS /Patient", "unknown type-level path"),
        ("OPTIONS /Patient/1", "unknown instance-level path"),
    ]);
}

#[test]
fn f8_q12_unclassifiable_queries() {
    assert_unclassifiable(&[
        (
            "GET /Observation?_include:foo=Observation:subject",
            "unknown _include modifier",
        ),
        (
            "GET /Patient?_revinclude:reverse=Provenance:target",
            "unknown _include modifier",
        ),
        (
            "GET /Observation?_include=Observation:subject:Pateint",
            "not a FHIR R4 resource type",
        ),
        (
            "GET /Observation?_include=Observaton:subject",
            "not a FHIR R4 resource type",
        ),
        (
            "GET /Observation?_include=Observation:subject:Patient%2CGroup",
            "_include without a search parameter",
        ),
        ("GET /Observation?_include=", "not a FHIR R4 resource type"),
        (
            "GET /Observation?_include=Observation:subject:Patient:x",
            "malformed _include value",
        ),
        (
            "GET /Observation?_include=Observation",
            "_include without a search parameter",
        ),
        (
            "GET /Observation?_include=Observation:",
            "_include without a search parameter",
        ),
        ("GET /Patient?_has=x", "_has without a type"),
        (
            "GET /Patient?_has:observation:patient:code=1",
            "not a FHIR R4 resource type",
        ),
        (
            "GET /Patient?_has:Observation:patient:_has:AuditEvnt:entity:agent=x",
            "not a FHIR R4 resource type",
        ),
        (
            "GET /?_type=Patient,Observaton",
            "not a FHIR R4 resource type",
        ),
        (
            "GET /Observation?subject:patient.name=x",
            "not a FHIR R4 resource type",
        ),
    ]);
}

#[test]
fn percent_decode_decodes_once_and_keeps_malformed_escapes() {
    for (raw, decoded) in [
        ("Observation%3Asubject", "Observation:subject"),
        ("%253A", "%3A"),
        ("a%zzb", "a%zzb"),
        ("ends%3", "ends%3"),
        ("ends%", "ends%"),
        ("plain", "plain"),
    ] {
        assert_eq!(percent_decode(raw), decoded, "{raw}");
    }
}
