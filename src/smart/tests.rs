//! The decision table: interaction × scope → outcome (rules F1–F10, E14, Q9–Q13, Q18, T9–T17).

use super::*;
use crate::config::AuthorityRole;
use crate::scope;
use crate::token::{FhirUser, TokenClass};

fn token(scp: &str, fhir_user: &str) -> VerifiedToken {
    token_as(scp, fhir_user, true)
}

fn token_as(scp: &str, fhir_user: &str, smart: bool) -> VerifiedToken {
    let class = TokenClass {
        role: AuthorityRole::Smart(0),
        issuer: "https://idp".into(),
        application: Some(0),
        client_id: Some("portal".into()),
        scopes: Some(scp.into()),
        smart,
        grants: scope::parse(scp).expect("valid scopes"),
        roles: None,
        headers: Default::default(),
    };
    VerifiedToken::new(
        std::sync::Arc::new(class),
        Some("s"),
        FhirUser::parse(fhir_user),
        0.0,
        Vec::new(),
    )
    .expect("token")
}

fn decide_with(
    scp: &str,
    fhir_user: &str,
    method: Method,
    target: &str,
    style: RewriteStyle,
) -> Result<Decision, RequestError> {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let settings = SmartSettings {
        fhir_base_url: None,
        rewrite_style: style,
    };
    authorize(
        &token(scp, fhir_user),
        RequestLine {
            method: &method,
            path,
            query,
        },
        &settings,
    )
}

fn decide(scp: &str, target: &str) -> Result<Decision, RequestError> {
    decide_with(scp, "Patient/123", Method::GET, target, RewriteStyle::Path)
}

/// An answer checked against Patient/123's compartment, with no search matches to keep.
fn checked_for_patient_123() -> Answer {
    Answer::InCompartment {
        owner: Owner {
            resource_type: "Patient",
            id: "123".into(),
        },
        matches: None,
    }
}

fn rewritten(result: Result<Decision, RequestError>) -> String {
    match result {
        Ok(Decision::Rewrite { path_and_query, .. }) => path_and_query,
        other => panic!("expected a rewrite, got {other:?}"),
    }
}

fn forbidden(result: Result<Decision, RequestError>) -> String {
    match result {
        // What the client reads, then the reason as the code states it (with its rule id, which clients never see).
        Err(e @ RequestError::Forbidden(_)) => format!("{e} | {e:?}"),
        other => panic!("expected 403, got {other:?}"),
    }
}

fn not_found(result: Result<Decision, RequestError>) -> bool {
    matches!(result, Err(RequestError::NotFound))
}

// === F4, Q11: Read-only applications ===

#[test]
fn f4_t15_every_write_and_post_search_is_403() {
    for (method, target) in [
        (Method::POST, "/Observation"),
        (Method::DELETE, "/Patient/123"),
        (Method::POST, "/"),
        (Method::POST, "/Observation/_search"),
        (Method::PUT, "/Patient/123"),
        (Method::PATCH, "/Patient/123"),
    ] {
        let r = decide_with(
            "system/*.cruds",
            "Patient/1",
            method.clone(),
            target,
            RewriteStyle::Path,
        );
        assert!(forbidden(r).contains("may only read"), "{method} {target}");
    }
}

// === F9: system scopes ===

#[test]
fn f2_f3_system_scopes_are_not_confined() {
    assert_eq!(
        decide_with(
            "system/Observation.rs",
            "Practitioner/1",
            Method::GET,
            "/Observation?code=x",
            RewriteStyle::Path
        )
        .ok(),
        Some(Decision::Forward)
    );
    assert_eq!(
        decide_with(
            "system/*.read",
            "Practitioner/1",
            Method::GET,
            "/Patient/456",
            RewriteStyle::Path
        )
        .ok(),
        Some(Decision::Forward)
    );
    // F3: a system-level search needs a `*` scope.
    assert_eq!(
        decide_with(
            "system/*.rs",
            "Practitioner/1",
            Method::GET,
            "/?_lastUpdated=gt2020",
            RewriteStyle::Path
        )
        .ok(),
        Some(Decision::Forward)
    );
    let r = decide_with(
        "system/Observation.rs",
        "Practitioner/1",
        Method::GET,
        "/_history",
        RewriteStyle::Path,
    );
    assert!(forbidden(r).contains("system/*.s"));
}

#[test]
fn t17_f9_export_needs_system_scopes() {
    let patient = decide("patient/*.read", "/$export");
    assert!(forbidden(patient).contains("$export needs system/"));
    assert_eq!(
        decide_with(
            "system/*.read",
            "Practitioner/1",
            Method::GET,
            "/$export",
            RewriteStyle::Path
        )
        .ok(),
        Some(Decision::Forward)
    );
    // Explicit _type must be fully covered.
    assert_eq!(
        decide_with(
            "system/Observation.rs",
            "Practitioner/1",
            Method::GET,
            "/$export?_type=Observation",
            RewriteStyle::Path
        )
        .ok(),
        Some(Decision::Forward)
    );
    let partial = decide_with(
        "system/Observation.rs",
        "Practitioner/1",
        Method::GET,
        "/$export?_type=Observation,Condition",
        RewriteStyle::Path,
    );
    assert!(forbidden(partial).contains("system/Condition.rs"));
    // Patient/$export also needs Patient; Group/id/$export needs Group and Patient.
    let r = decide_with(
        "system/Observation.rs",
        "Practitioner/1",
        Method::GET,
        "/Patient/$export?_type=Observation",
        RewriteStyle::Path,
    );
    assert!(forbidden(r).contains("system/Patient.rs"));
    let r = decide_with(
        "system/Patient.rs system/Observation.rs",
        "Practitioner/1",
        Method::GET,
        "/Group/g1/$export?_type=Observation",
        RewriteStyle::Path,
    );
    assert!(forbidden(r).contains("system/Group.rs"));
}

#[test]
fn e14_constrained_scopes_never_authorize_export() {
    let r = decide_with(
        "system/Observation.rs?category=lab",
        "Practitioner/1",
        Method::GET,
        "/$export?_type=Observation",
        RewriteStyle::Path,
    );
    assert!(forbidden(r).contains("E14"));
}

// === F2, T10: v2 permission letters ===

#[test]
fn t10_f2_v2_r_reads_but_does_not_search() {
    let r = decide("patient/Observation.r", "/Observation?code=x");
    let text = forbidden(r);
    assert!(text.contains("patient/Observation.s"), "{text}");
    assert!(rewritten(decide("patient/Observation.r", "/Observation/9"))
        .starts_with("/Patient/123/Observation?_id=9"));
    assert!(forbidden(decide("patient/Observation.s", "/Observation/9"))
        .contains("patient/Observation.r"));
    assert!(
        rewritten(decide("patient/Observation.s", "/Observation?code=x"))
            .starts_with("/Patient/123/Observation")
    );
}

#[test]
fn f3_a_scope_covers_its_type_or_every_type_with_star() {
    assert!(
        forbidden(decide("patient/Condition.rs", "/Observation?code=x"))
            .contains("patient/Observation.s")
    );
    assert!(decide("patient/*.rs", "/Observation?code=x").is_ok());
    assert!(decide("patient/all.read", "/Observation?code=x").is_ok());
    assert!(
        forbidden(decide("openid fhirUser", "/Observation")).contains("no SMART clinical scope")
    );
}

#[test]
fn q3_write_scopes_grant_no_reading() {
    assert!(
        forbidden(decide("patient/Observation.write", "/Observation/1"))
            .contains("patient/Observation.r")
    );
    assert!(
        forbidden(decide("patient/Observation.cud", "/Observation?code=x"))
            .contains("patient/Observation.s")
    );
}

// === F6, F7, T9, T16: compartment confinement ===

#[test]
fn t9_f7_type_search_is_rewritten_to_a_compartment_search() {
    assert_eq!(
        rewritten(decide("patient.all.read", "/Observation?code=x")),
        "/Patient/123/Observation?code=x"
    );
    assert_eq!(
        rewritten(decide_with(
            "patient/*.read",
            "Patient/123",
            Method::GET,
            "/Observation?code=x",
            RewriteStyle::Param
        )),
        "/Observation?code=x&subject=Patient/123"
    );
    assert_eq!(
        rewritten(decide("patient/*.read", "/Observation")),
        "/Patient/123/Observation"
    );
}

#[test]
fn f7_param_style_turns_the_clients_own_compartment_search_into_a_type_search() {
    let param = |target: &str| {
        decide_with(
            "patient/*.read",
            "Patient/123",
            Method::GET,
            target,
            RewriteStyle::Param,
        )
    };
    assert_eq!(
        rewritten(param("/Patient/123/Observation?code=x")),
        "/Observation?code=x&subject=Patient/123"
    );
    assert_eq!(rewritten(param("/Patient/123/Patient")), "/Patient?_id=123");
    // Another patient's compartment stays 404; every type at once (`*`) has no single type search and passes as is.
    assert!(not_found(param("/Patient/456/Observation")));
    assert!(matches!(param("/Patient/123/*"), Ok(Decision::Forward)));
    // The path style leaves the client's compartment search alone.
    assert!(matches!(
        decide("patient/*.read", "/Patient/123/Observation?code=x"),
        Ok(Decision::Forward)
    ));
}

#[test]
fn f7_a_read_of_a_compartment_type_becomes_an_id_search_that_is_unwrapped() {
    let r = decide("patient/*.read", "/Observation/999");
    assert_eq!(
        r.ok(),
        Some(Decision::Rewrite {
            path_and_query: "/Patient/123/Observation?_id=999".into(),
            answer: Answer::Unwrap(SingleResource {
                resource_type: "Observation",
                id: "999".into()
            }),
        })
    );
}

#[test]
fn f7_t16_own_patient_passes_and_another_is_404() {
    assert_eq!(
        decide("patient/*.read", "/Patient/123").ok(),
        Some(Decision::Forward)
    );
    assert!(not_found(decide("patient/*.read", "/Patient/456")));
    assert!(not_found(decide(
        "patient/*.read",
        "/Patient/456/Observation"
    )));
    assert_eq!(
        decide("patient/*.read", "/Patient/123/Observation?code=x").ok(),
        Some(Decision::Forward)
    );
    assert_eq!(
        rewritten(decide("patient/*.read", "/Patient?name=x")),
        "/Patient?name=x&_id=123"
    );
}

#[test]
fn q9_types_outside_the_compartment_are_readable_when_covered() {
    for target in ["/Organization?name=x", "/Medication"] {
        assert_eq!(
            decide("patient/*.read", target).ok(),
            Some(Decision::Forward),
            "{target}"
        );
    }
    // A read is forwarded as sent, and its answer checked for references to another patient.
    for target in ["/Medication/5", "/Location/1", "/Practitioner/9"] {
        assert_eq!(
            decide("patient/*.read", target).ok(),
            Some(Decision::Rewrite {
                path_and_query: target.into(),
                answer: checked_for_patient_123(),
            }),
            "{target}"
        );
    }
    assert!(forbidden(decide("patient/Observation.rs", "/Medication/5"))
        .contains("patient/Medication.r"));
}

#[test]
fn f6_user_scopes_use_the_practitioner_compartment() {
    let r = decide_with(
        "user/*.read",
        "Practitioner/77",
        Method::GET,
        "/Encounter?date=2024",
        RewriteStyle::Path,
    );
    assert_eq!(rewritten(r), "/Practitioner/77/Encounter?date=2024");
    let r = decide_with(
        "user/*.read",
        "PractitionerRole/5",
        Method::GET,
        "/Encounter",
        RewriteStyle::Path,
    );
    assert!(forbidden(r).contains("no compartment definition"));
}

#[test]
fn f6_unconfinable_interactions_are_403_under_patient_scopes() {
    for target in [
        "/?_type=Observation",
        "/_history",
        "/Observation/_history",
        "/Encounter/5/Observation",
    ] {
        assert!(
            forbidden(decide("patient/*.read", target)).len() > 10,
            "{target}"
        );
    }
    // Versions and the history of one resource are forwarded and checked on the answer (Q18).
    for target in ["/Observation/1/_history", "/Observation/1/_history/2"] {
        assert_eq!(
            decide("patient/*.read", target).ok(),
            Some(Decision::Rewrite {
                path_and_query: target.into(),
                answer: checked_for_patient_123(),
            }),
            "{target}"
        );
    }
}

// === F8, Q12, Q18: includes and chains ===

#[test]
fn q18_includes_under_patient_scopes() {
    // Outside the compartment and covered: passes (rewritten into the compartment as usual).
    assert!(rewritten(decide(
        "patient/*.read",
        "/Observation?_include=Observation:performer:Practitioner"
    ))
    .contains("_include"));
    // Into the compartment, without a target type, or reverse: forwarded, and what they pull in is checked on the
    // answer (entries outside the compartment are dropped).
    for target in [
        "/Observation?_include=Observation:subject:Patient",
        "/Observation?_include=Observation:subject",
        "/Observation?_include=*",
        "/Observation?_revinclude=Provenance:target",
        "/MedicationRequest?_include=MedicationRequest:medication",
    ] {
        match decide("patient/*.read", target) {
            Ok(Decision::Rewrite {
                answer: Answer::InCompartment { owner, .. },
                ..
            }) => assert_eq!(owner.id, "123", "{target}"),
            other => panic!("{target}: {other:?}"),
        }
    }
    // Iterate and _has stay refused: what they reach is not one step from the confined matches.
    for target in [
        "/Observation?_include:iterate=Observation:performer:Practitioner",
        "/Observation?_has:Condition:subject:code=x",
    ] {
        assert!(
            forbidden(decide("patient/*.read", target)).contains("Q1"),
            "{target}"
        );
    }
}

#[test]
fn f8_included_types_must_be_covered() {
    let r = decide(
        "patient/Observation.rs",
        "/Observation?_include=Observation:performer:Practitioner",
    );
    assert!(forbidden(r).contains("patient/Practitioner.r"));
    let ok = decide_with(
        "system/Observation.rs system/Patient.r",
        "Practitioner/1",
        Method::GET,
        "/Observation?_include=Observation:subject:Patient",
        RewriteStyle::Path,
    );
    assert_eq!(ok.ok(), Some(Decision::Forward));
    let r = decide_with(
        "system/Observation.rs",
        "Practitioner/1",
        Method::GET,
        "/Observation?_revinclude=Provenance:target",
        RewriteStyle::Path,
    );
    assert!(forbidden(r).contains("system/Provenance.r"));
    // An include without a target type needs every type its parameter can target (here Device, Group, Location,
    // Patient), or `*` where the parameter can target any type.
    let r = decide_with(
        "system/Observation.rs system/Patient.rs",
        "Practitioner/1",
        Method::GET,
        "/Observation?_include=Observation:subject",
        RewriteStyle::Path,
    );
    assert!(forbidden(r).contains("system/Device.r"));
    let r = decide_with(
        "system/Observation.rs system/Patient.rs",
        "Practitioner/1",
        Method::GET,
        "/Observation?_include=Observation:focus",
        RewriteStyle::Path,
    );
    assert!(forbidden(r).contains("system/*.r"));
}

#[test]
fn q12_chains_need_their_target_type_covered() {
    let r = decide(
        "patient/Observation.rs",
        "/Observation?subject:Patient.name=x",
    );
    assert!(forbidden(r).contains("patient/Patient.s"));
    assert!(decide(
        "patient/Observation.rs patient/Practitioner.rs",
        "/Observation?performer:Practitioner.name=x"
    )
    .is_ok());
    // Q19: a chain through the parameter that ties Observations to the patient cannot be checked.
    assert!(forbidden(decide(
        "patient/Observation.rs patient/Patient.rs",
        "/Observation?subject:Patient.name=x"
    ))
    .contains("chained"));
    // An untyped chain needs `*`.
    assert!(forbidden(decide(
        "patient/Observation.rs patient/Patient.rs",
        "/Observation?subject.name=x"
    ))
    .contains("patient/*.s"));
}

// === E3 constraints ===

#[test]
fn e3_constrained_scopes_add_their_parameters() {
    let scp = "patient/Observation.rs?category=laboratory";
    assert_eq!(
        rewritten(decide(scp, "/Observation?code=x")),
        "/Patient/123/Observation?code=x&category=laboratory"
    );
    assert_eq!(
        rewritten(decide(scp, "/Observation/9")),
        "/Patient/123/Observation?_id=9&category=laboratory"
    );
    // An unconstrained grant wins (E15 union).
    assert_eq!(
        rewritten(decide(
            &format!("{scp} patient/Observation.rs"),
            "/Observation?code=x"
        )),
        "/Patient/123/Observation?code=x"
    );
    // SMART v2's own example: two constrained grants of one type are OR-ed (E15).
    let two =
        "patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs";
    assert_eq!(
        rewritten(decide(two, "/Observation")),
        "/Patient/123/Observation?category=laboratory,vital-signs"
    );
    // A search inside one grant passes (narrowed by the union, which it already is inside).
    assert_eq!(
        rewritten(decide(two, "/Observation?category=laboratory")),
        "/Patient/123/Observation?category=laboratory&category=laboratory,vital-signs"
    );
    // Outside every grant: refused.
    assert!(forbidden(decide(two, "/Observation?category=imaging")).contains("outside every"));
    assert!(
        forbidden(decide(two, "/Observation?category=laboratory,imaging"))
            .contains("outside every")
    );
    // A read is checked by the server against the union: the resource must match one grant.
    assert_eq!(
        rewritten(decide(two, "/Observation/9")),
        "/Patient/123/Observation?_id=9&category=laboratory,vital-signs"
    );
    // Grants on different parameters cannot be OR-ed in one query.
    let mixed = "patient/Observation.rs?category=laboratory patient/Observation.rs?code=1234-5";
    assert!(forbidden(decide(mixed, "/Observation")).contains("cannot combine"));
    let sys = decide_with(
        "system/Observation.rs?category=laboratory",
        "Practitioner/1",
        Method::GET,
        "/Observation/9",
        RewriteStyle::Path,
    );
    assert_eq!(rewritten(sys), "/Observation?_id=9&category=laboratory");
}

// === Q13: operations ===

#[test]
fn q13_everything_only_for_the_own_patient_with_a_star_read_scope() {
    assert_eq!(
        decide("patient/*.read", "/Patient/123/$everything").ok(),
        Some(Decision::Forward)
    );
    assert!(not_found(decide(
        "patient/*.read",
        "/Patient/456/$everything"
    )));
    assert!(forbidden(decide(
        "patient/Patient.read patient/Observation.read",
        "/Patient/123/$everything"
    ))
    .contains("Q13"));
    assert_eq!(
        rewritten(decide("patient/*.read", "/Observation/$lastn?code=x")),
        "/Observation/$lastn?code=x&patient=Patient/123"
    );
    assert!(
        forbidden(decide("patient/*.read", "/Observation/$lastn?patient=456"))
            .contains("ConfiningParameter")
    );
    assert!(
        forbidden(decide("patient/*.read", "/Condition/$lastn")).contains("OperationNotAllowed")
    );
    assert!(
        forbidden(decide("system/*.read", "/Patient/1/$validate")).contains("OperationNotAllowed")
    );
}

#[test]
fn f1_capabilities_and_unclassifiable_requests() {
    assert_eq!(
        decide("patient/*.read", "/metadata").ok(),
        Some(Decision::Forward)
    );
    assert!(forbidden(decide("patient/*.read", "/Observaton/1"))
        .contains("not a FHIR R4 resource type"));
    assert!(forbidden(decide("patient/*.read", "/Patient/../Observation")).contains("dot segment"));
}

#[test]
fn d6_absolute_fhir_user_must_be_on_this_server() {
    let settings = SmartSettings {
        fhir_base_url: Url::parse("https://fhir.example/r4").ok(),
        rewrite_style: RewriteStyle::Path,
    };
    let line = RequestLine {
        method: &Method::GET,
        path: "/Patient/1",
        query: None,
    };
    let here = token("patient/*.read", "https://fhir.example/r4/Patient/1");
    assert!(authorize(&here, line, &settings).is_ok());
    let there = token("patient/*.read", "https://other.example/r4/Patient/1");
    assert!(matches!(
        authorize(&there, line, &settings),
        Err(RequestError::Forbidden(Forbidden::FhirUserOutsideServer))
    ));
}

#[test]
fn q10_pass_through_tokens_are_not_authorized_here() {
    let t = token_as("patient/*.read", "Patient/1", false);
    let line = RequestLine {
        method: &Method::DELETE,
        path: "/Patient/1",
        query: None,
    };
    assert_eq!(
        authorize(&t, line, &SmartSettings::default()).ok(),
        Some(Decision::Forward)
    );
}

#[test]
fn q18_a_bound_continuation_is_checked_on_the_answer_and_an_unbound_one_refused() {
    let t = token("patient/*.read", "Patient/123");
    let method = Method::GET;
    let line = RequestLine {
        method: &method,
        path: "/",
        query: Some("_getpages=abc&_getpagesoffset=2"),
    };
    let classified = request::classify(&method, "/", line.query);
    let settings = SmartSettings::default();
    assert!(matches!(
        authorize_classified(&t, line, &classified, &settings, true),
        Ok(Decision::Rewrite {
            answer: Answer::InCompartment { matches: None, .. },
            ..
        })
    ));
    assert!(forbidden(authorize_classified(
        &t,
        line,
        &classified,
        &settings,
        false
    ))
    .contains("UnknownPage"));
    // On another path too.
    let other = RequestLine {
        method: &method,
        path: "/Observation",
        query: Some("_getpages=abc"),
    };
    let classified = request::classify(&method, "/Observation", other.query);
    assert!(forbidden(authorize_classified(
        &t,
        other,
        &classified,
        &settings,
        false
    ))
    .contains("UnknownPage"));
}
