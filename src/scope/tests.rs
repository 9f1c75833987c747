//! The scope grammar, table-driven (rules E1–E15, Q3, Q4, Q6; vectors T11–T14).
//!
//! Includes every example scope of the SMART App Launch v2 page "Scopes and Launch Context"
//! (HL7 `smart-app-launch`, `input/pages/scopes-and-launch-context.md`) and the v1 examples it replaces.

use super::*;

use Context::{Patient, System, User};
use Version::{V1, V2};

const C: Perms = Perms::CREATE;
const R: Perms = Perms::READ;
const U: Perms = Perms::UPDATE;
const D: Perms = Perms::DELETE;
const S: Perms = Perms::SEARCH;
const RS: Perms = Perms(Perms::READ.0 | Perms::SEARCH.0);
const CU: Perms = Perms(Perms::CREATE.0 | Perms::UPDATE.0);
const CUD: Perms = Perms(Perms::CREATE.0 | Perms::UPDATE.0 | Perms::DELETE.0);
const ALL: Perms = Perms::ALL;
const ANY: ResourceScope = ResourceScope::Any;

/// No `?` constraints.
const NONE: &[(&str, &str)] = &[];

fn t(name: &'static str) -> ResourceScope {
    ResourceScope::Type(name)
}

fn ok(scopes: &str) -> GrantSet {
    match parse(scopes) {
        Ok(set) => set,
        Err(e) => panic!("{scopes:?} should parse, got error: {e}"),
    }
}

fn rejected(scopes: &str) -> ScopeError {
    match parse(scopes) {
        Ok(set) => panic!("{scopes:?} should be rejected, got {set:?}"),
        Err(e) => e,
    }
}

/// `why` cites `rule` (`E1` must not match `E13`).
fn cites(why: &str, rule: &str) -> bool {
    why.match_indices(rule)
        .any(|(i, _)| !why[i + rule.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// `scopes` is refused because of `offending` (the raw token, as sent), for one of `rules`; the error's Display
/// shows the offending scope and the reason.
fn assert_rejected(scopes: &str, offending: &str, rules: &[&str]) {
    let e = rejected(scopes);
    assert_eq!(e.scope, offending, "{scopes:?}: offending scope");
    assert!(
        rules.iter().any(|r| cites(e.why, r)),
        "{scopes:?}: reason {:?} should cite one of {rules:?}",
        e.why
    );
    let shown = e.to_string();
    let head: String = offending.chars().take(80).collect();
    assert!(
        shown.contains(&head),
        "{scopes:?}: Display {shown:?} should name the scope"
    );
    assert!(
        shown.contains(crate::error::without_rule_id(e.why)),
        "{scopes:?}: Display {shown:?} should give the reason"
    );
    assert!(
        !shown.contains("(rule"),
        "{scopes:?}: Display {shown:?} cites a rule id"
    );
}

/// One clinical scope → (context, version, grant).
fn single(scope: &str) -> (Context, Version, Grant) {
    let set = ok(scope);
    assert_eq!(set.grants.len(), 1, "{scope:?}: {set:?}");
    let grant = set.grants.into_iter().next().expect("one grant");
    (
        set.context.expect("a clinical scope sets the context"),
        set.version.expect("a clinical scope sets the version"),
        grant,
    )
}

type Expected = (
    &'static str,
    Context,
    Version,
    ResourceScope,
    Perms,
    &'static [(&'static str, &'static str)],
);

fn assert_single(cases: &[Expected]) {
    for &(scope, context, version, resource, perms, constraints) in cases {
        let (c, v, g) = single(scope);
        assert_eq!(c, context, "{scope:?}: context");
        assert_eq!(v, version, "{scope:?}: version");
        assert_eq!(g.resource, resource, "{scope:?}: resource");
        assert_eq!(
            g.perms,
            perms,
            "{scope:?}: perms {} != {}",
            g.perms.letters(),
            perms.letters()
        );
        let want: Vec<(String, String)> = constraints
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(g.constraints, want, "{scope:?}: constraints");
    }
}

/// The union of the permissions the set grants on `resource` (E15).
fn union_on(set: &GrantSet, resource: ResourceScope) -> Perms {
    set.grants
        .iter()
        .filter(|g| g.resource == resource)
        .fold(Perms::default(), |acc, g| acc.with(g.perms))
}

// --- The SMART v2 page -------------------------------------------------------------------------------------------

#[test]
fn smart_v2_page_clinical_examples_parse_to_their_grants() {
    const LAB: &[(&str, &str)] = &[(
        "category",
        "http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
    )];
    assert_single(&[
        // Quick start.
        ("patient/*.rs", Patient, V2, ANY, RS, NONE),
        ("user/*.cruds", User, V2, ANY, ALL, NONE),
        // Clinical data: suffixes are a subset of `cruds`.
        ("patient/Observation.cu", Patient, V2, t("Observation"), CU, NONE),
        ("patient/Observation.rs", Patient, V2, t("Observation"), RS, NONE),
        // v1 forms the page maps to v2 (`patient.Immunization.read` is the page's own dotted example, E6).
        ("patient/Observation.read", Patient, V1, t("Observation"), RS, NONE),
        ("patient.Immunization.read", Patient, V1, t("Immunization"), RS, NONE),
        // Scope equivalence.
        ("patient/Observation.r", Patient, V2, t("Observation"), R, NONE),
        ("patient/Observation.s", Patient, V2, t("Observation"), S, NONE),
        // Finer-grained constraints.
        (
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
            Patient,
            V2,
            t("Observation"),
            RS,
            LAB,
        ),
        // Patient-specific scopes.
        ("patient/Patient.r", Patient, V2, t("Patient"), R, NONE),
        ("patient/Observation.c", Patient, V2, t("Observation"), C, NONE),
        ("patient/*.cruds", Patient, V2, ANY, ALL, NONE),
        // User-level scopes.
        ("user/Observation.rs", User, V2, t("Observation"), RS, NONE),
        ("user/Appointment.cruds", User, V2, t("Appointment"), ALL, NONE),
        ("user/Patient.rs", User, V2, t("Patient"), RS, NONE),
        // System-level scopes.
        ("system/Observation.rs", System, V2, t("Observation"), RS, NONE),
        ("system/*.rs", System, V2, ANY, RS, NONE),
        ("system/Encounter.cud", System, V2, t("Encounter"), CUD, NONE),
        // Wildcard scopes: what a server may grant for `patient/AllergyIntolerance.cruds`.
        (
            "patient/AllergyIntolerance.cruds",
            Patient,
            V2,
            t("AllergyIntolerance"),
            ALL,
            NONE,
        ),
        (
            "patient/AllergyIntolerance.rs",
            Patient,
            V2,
            t("AllergyIntolerance"),
            RS,
            NONE,
        ),
        (
            "patient/AllergyIntolerance.cud",
            Patient,
            V2,
            t("AllergyIntolerance"),
            CUD,
            NONE,
        ),
        // Appendix: the scope inside the URI representation.
        ("patient/*.r", Patient, V2, ANY, R, NONE),
    ]);
}

#[test]
fn smart_v2_page_scope_strings_combine_clinical_and_other_scopes() {
    // Wildcard scopes: granted as two explicit scopes.
    let set = ok("patient/AllergyIntolerance.rs patient/AllergyIntolerance.cud");
    assert_eq!(set.context, Some(Patient));
    assert_eq!(set.version, Some(V2));
    assert_eq!(set.grants.len(), 2);
    assert_eq!(union_on(&set, t("AllergyIntolerance")), ALL);

    // Extensibility: `launch/patient patient/*.rs __profilePhoto.manage`.
    let set = ok("launch/patient patient/*.rs __profilePhoto.manage");
    assert_eq!(
        set,
        GrantSet {
            context: Some(Patient),
            version: Some(V2),
            grants: vec![Grant {
                resource: ANY,
                perms: RS,
                constraints: Vec::new(),
            }],
        }
    );

    // Quick start: identity scopes alone grant no clinical access.
    assert_eq!(ok("openid fhirUser"), GrantSet::default());
}

#[test]
fn smart_v2_page_empty_scope_string_grants_nothing() {
    for scopes in ["", " ", "   "] {
        let set = ok(scopes);
        assert_eq!(set, GrantSet::default(), "{scopes:?}");
        assert_eq!(set.context, None);
    }
}

#[test]
fn smart_v2_page_experimental_constraints_are_refused() {
    // The page writes these without a context; with one they are clinical scopes that E13 refuses.
    for scope in [
        "patient/Observation.rs?code:in=http://valueset.example.org/ValueSet/diabetes-codes",
        "patient/Observation.rs?patient.birthdate=1990",
    ] {
        assert_rejected(scope, scope, &["E13"]);
    }
}

#[test]
fn smart_v1_examples_parse_to_their_grants() {
    assert_single(&[
        ("patient/*.read", Patient, V1, ANY, RS, NONE),
        ("patient/*.*", Patient, V1, ANY, ALL, NONE),
        ("patient/Patient.read", Patient, V1, t("Patient"), RS, NONE),
        (
            "patient/Observation.write",
            Patient,
            V1,
            t("Observation"),
            CUD,
            NONE,
        ),
        ("user/*.*", User, V1, ANY, ALL, NONE),
        ("user/*.read", User, V1, ANY, RS, NONE),
        (
            "user/Appointment.read",
            User,
            V1,
            t("Appointment"),
            RS,
            NONE,
        ),
        (
            "user/Appointment.write",
            User,
            V1,
            t("Appointment"),
            CUD,
            NONE,
        ),
        ("user/Appointment.*", User, V1, t("Appointment"), ALL, NONE),
        ("system/*.read", System, V1, ANY, RS, NONE),
    ]);
}

// --- E1–E15 --------------------------------------------------------------------------------------------------------

#[test]
fn e1_scopes_are_space_separated() {
    let set = ok("  patient/Observation.rs   openid  patient/Condition.rs ");
    assert_eq!(set.context, Some(Patient));
    let types: Vec<ResourceScope> = set.grants.iter().map(|g| g.resource).collect();
    assert_eq!(types, [t("Observation"), t("Condition")]);

    // Only the space separates: a tab leaves one token, which then fails the grammar (fail closed).
    assert_rejected(
        "patient/*.read\tuser/*.read",
        "patient/*.read\tuser/*.read",
        &["E9"],
    );
}

#[test]
fn e1_scopes_are_case_sensitive() {
    for (scope, rules) in [
        ("patient/observation.rs", &["E12"][..]),
        ("patient/OBSERVATION.read", &["E12"]),
        ("patient/Observation.RS", &["E3", "E9"]),
        ("patient/Observation.Read", &["E3", "E9"]),
        ("patient/Observation.READ", &["E3", "E9"]),
        ("patient/*.ALL", &["E3", "E9"]),
    ] {
        assert_rejected(scope, scope, rules);
    }
}

#[test]
fn e2_v1_grammar_accepts_every_context_type_and_access_word() {
    for (context_name, context) in [("patient", Patient), ("user", User), ("system", System)] {
        for (type_name, resource) in [("Observation", t("Observation")), ("*", ANY)] {
            for (access, perms) in [("read", RS), ("write", CUD), ("*", ALL)] {
                let scope = format!("{context_name}/{type_name}.{access}");
                let (c, v, g) = single(&scope);
                assert_eq!((c, v), (context, V1), "{scope}");
                assert_eq!(g.resource, resource, "{scope}");
                assert_eq!(g.perms, perms, "{scope}");
                assert!(g.constraints.is_empty(), "{scope}");
            }
        }
    }
}

#[test]
fn e2_malformed_v1_scopes_are_rejected() {
    for scope in [
        "patient/Observation.readwrite",
        "patient/Observation.writes",
        "patient/Observation.reads",
        "patient/Observation.**",
        "patient/Observation.read*",
    ] {
        assert_rejected(scope, scope, &["E3", "E9"]);
    }
}

#[test]
fn e3_every_in_order_subset_of_cruds_is_accepted() {
    const LETTERS: [(char, Perms); 5] = [('c', C), ('r', R), ('u', U), ('d', D), ('s', S)];
    for mask in 1u8..32 {
        let mut letters = String::new();
        let mut perms = Perms::default();
        for (bit, (letter, p)) in LETTERS.into_iter().enumerate() {
            if mask & (1 << bit) != 0 {
                letters.push(letter);
                perms = perms.with(p);
            }
        }
        for context in ["patient", "user", "system"] {
            let scope = format!("{context}/Observation.{letters}");
            let (_, version, grant) = single(&scope);
            assert_eq!(version, V2, "{scope}");
            assert_eq!(grant.perms, perms, "{scope}");
            assert_eq!(grant.perms.letters(), letters, "{scope}");
        }
    }
}

#[test]
fn e3_out_of_order_duplicate_or_undefined_letters_are_rejected() {
    for scope in [
        "patient/Observation.sr",
        "patient/Observation.dus",
        "patient/Observation.rr",
        "patient/Observation.x",
        "patient/Observation.rc",
        "patient/Observation.scrud",
        "patient/Observation.crudss",
        "patient/Observation.crudsx",
        "patient/*.rsc",
        "system/*.rw",
    ] {
        assert_rejected(scope, scope, &["E3"]);
    }
    // Every pair of letters that is out of order or repeated.
    let order = ['c', 'r', 'u', 'd', 's'];
    for (i, first) in order.iter().enumerate() {
        for second in &order[..=i] {
            let scope = format!("patient/Observation.{first}{second}");
            assert_rejected(&scope, &scope, &["E3"]);
        }
    }
}

#[test]
fn e4_each_letter_grants_its_interaction() {
    for (letter, perms) in [("c", C), ("r", R), ("u", U), ("d", D), ("s", S)] {
        let (_, _, g) = single(&format!("patient/Observation.{letter}"));
        assert_eq!(g.perms, perms, "{letter}");
        assert_eq!(g.perms.letters(), letter);
    }
    // `r` is read by id only, `s` is search only (T10).
    let (_, _, r) = single("patient/Observation.r");
    assert!(r.perms.contains(R) && !r.perms.contains(S));
    let (_, _, s) = single("patient/Observation.s");
    assert!(s.perms.contains(S) && !s.perms.contains(R));
    assert_eq!(ALL.letters(), "cruds");
    assert_eq!(Perms::default().letters(), "");
}

#[test]
fn e5_v1_access_words_equal_their_v2_letters() {
    for (v1, v2) in [
        ("patient/Observation.read", "patient/Observation.rs"),
        ("patient/Observation.write", "patient/Observation.cud"),
        ("patient/Observation.*", "patient/Observation.cruds"),
        ("patient/Observation.all", "patient/Observation.cruds"),
        ("user/*.read", "user/*.rs"),
        ("system/*.*", "system/*.cruds"),
    ] {
        let (c1, ver1, g1) = single(v1);
        let (c2, ver2, g2) = single(v2);
        assert_eq!((ver1, ver2), (V1, V2), "{v1} / {v2}");
        assert_eq!((c1, &g1), (c2, &g2), "{v1} / {v2}");
    }
}

#[test]
fn e6_azure_separators_and_all_are_accepted() {
    assert_single(&[
        ("patient.all.read", Patient, V1, ANY, RS, NONE),
        (
            "patient$Observation.read",
            Patient,
            V1,
            t("Observation"),
            RS,
            NONE,
        ),
        (
            "patient.Observation.read",
            Patient,
            V1,
            t("Observation"),
            RS,
            NONE,
        ),
        ("user.all.all", User, V1, ANY, ALL, NONE),
        ("system$*.read", System, V1, ANY, RS, NONE),
        ("patient/all.read", Patient, V1, ANY, RS, NONE),
        (
            "patient/Observation.all",
            Patient,
            V1,
            t("Observation"),
            ALL,
            NONE,
        ),
        (
            "patient.Observation.rs",
            Patient,
            V2,
            t("Observation"),
            RS,
            NONE,
        ),
        ("user$all.cruds", User, V2, ANY, ALL, NONE),
    ]);
    // Every separator with every way to say "any type".
    for sep in ['/', '.', '$'] {
        for any in ["*", "all"] {
            let (c, v, g) = single(&format!("patient{sep}{any}.read"));
            assert_eq!((c, v, g.resource, g.perms), (Patient, V1, ANY, RS));
        }
    }
}

#[test]
fn e6_malformed_azure_scopes_are_rejected() {
    for (scope, rules) in [
        ("patient.all", &["E9"][..]),
        ("patient$", &["E9"]),
        ("patient.", &["E9"]),
        ("patient.all.reads", &["E3", "E9"]),
        ("patient.Observaton.read", &["E12"]),
        ("patient.All.read", &["E12"]),
    ] {
        assert_rejected(scope, scope, rules);
    }
}

#[test]
fn e7_scopes_are_percent_decoded_once() {
    assert_single(&[
        (
            "patient%2FObservation.read",
            Patient,
            V1,
            t("Observation"),
            RS,
            NONE,
        ),
        (
            "patient%2fObservation.rs",
            Patient,
            V2,
            t("Observation"),
            RS,
            NONE,
        ),
        ("user%2F%2A.rs", User, V2, ANY, RS, NONE),
        (
            "system%2FObservation.rs%3Fcategory%3Dlaboratory",
            System,
            V2,
            t("Observation"),
            RS,
            &[("category", "laboratory")],
        ),
    ]);
    assert_eq!(
        ok("patient%2FObservation.read"),
        ok("patient/Observation.read")
    );
    // Decoded once only: `%252F` becomes `%2F`, which is not a context separator, so the scope is not clinical.
    assert_eq!(ok("patient%252FObservation.read"), GrantSet::default());
}

#[test]
fn e7_errors_name_the_scope_as_sent() {
    for (scope, rules) in [
        ("Patient%2FObservation.read", &["Q6"][..]),
        ("patient%2FObservaton.read", &["E12"]),
        ("patient%2fObservation.sr", &["E3"]),
        ("patient%2FObservation.rs%3F_include%3Dx", &["E13"]),
    ] {
        assert_rejected(scope, scope, rules);
    }
}

#[test]
fn e8_non_clinical_scopes_are_ignored() {
    const NON_CLINICAL: [&str; 23] = [
        "openid",
        "fhirUser",
        "profile",
        "email",
        "launch",
        "launch/patient",
        "launch/encounter",
        "launch/diagnosticreport",
        "launch/imagingstudy",
        "offline_access",
        "online_access",
        "https://example.org/scope",
        "http://example.com/scope-name",
        "https://ehr.example.org/scopes/profilePhoto.manage",
        "http://smarthealthit.org/fhir/scopes/patient/*.r",
        "http://openid.net/specs/openid-connect-core-1_0#openid",
        "__profilePhoto.manage",
        "__darkMode",
        "my__ext",
        "user_impersonation",
        "patientportal",
        "users",
        "systemic",
    ];
    for scope in NON_CLINICAL {
        assert_eq!(ok(scope), GrantSet::default(), "{scope:?}");
    }
    assert_eq!(ok(&NON_CLINICAL.join(" ")), GrantSet::default());
    // Alongside a clinical scope they change nothing.
    let mixed = format!("{} patient/Observation.rs", NON_CLINICAL.join(" "));
    assert_eq!(ok(&mixed), ok("patient/Observation.rs"));
}

#[test]
fn e9_partially_matching_scopes_are_rejected() {
    // T13 first.
    for (scope, rules) in [
        ("patient/Observation.read-only", &["E9"][..]),
        ("patient/Observation.rsXYZ", &["E9"]),
        ("patient/Observation.rs?active", &["E9", "E13"]),
        ("patient/Observation", &["E9"]),
        ("patient/.rs", &["E9", "E12"]),
        ("patient/", &["E9"]),
        ("patient/Observation.", &["E9"]),
        ("patient/Observation.rs.x", &["E9"]),
        ("patient/Observation.read?category=laboratory", &["E9"]),
        ("patient/*.*?category=laboratory", &["E9"]),
        ("user/*", &["E9"]),
        ("system/Observation.rs?", &["E9", "E13"]),
    ] {
        assert_rejected(scope, scope, rules);
    }
}

#[test]
fn e9_a_partial_scope_rejects_the_whole_string() {
    // Never grant the prefix, nor the other (valid) scopes.
    for (scopes, offending) in [
        (
            "patient/Observation.read patient/Observation.read-only",
            "patient/Observation.read-only",
        ),
        (
            "openid patient/Condition.rs patient/Observation.rsXYZ launch",
            "patient/Observation.rsXYZ",
        ),
        (
            "patient/Observation.rs?active patient/*.rs",
            "patient/Observation.rs?active",
        ),
    ] {
        let e = rejected(scopes);
        assert_eq!(e.scope, offending, "{scopes:?}");
    }
}

#[test]
fn e10_mixed_v1_and_v2_is_rejected() {
    for (scopes, offending) in [
        // T11.
        (
            "patient/Observation.read patient/Condition.rs",
            "patient/Condition.rs",
        ),
        (
            "patient/Condition.rs patient/Observation.read",
            "patient/Observation.read",
        ),
        (
            "patient/*.read openid launch patient/Observation.r",
            "patient/Observation.r",
        ),
        (
            "patient.all.read patient/Observation.rs",
            "patient/Observation.rs",
        ),
        ("patient/*.* patient/*.cruds", "patient/*.cruds"),
        (
            "user/Observation.write user/Observation.cud",
            "user/Observation.cud",
        ),
        ("system/*.rs system/Patient.all", "system/Patient.all"),
    ] {
        assert_rejected(scopes, offending, &["E10"]);
    }
}

#[test]
fn e10_one_version_per_token_is_accepted() {
    let v1 =
        ok("patient/Observation.read patient/Condition.write patient/Patient.* patient.all.read");
    assert_eq!(
        (v1.context, v1.version, v1.grants.len()),
        (Some(Patient), Some(V1), 4)
    );
    let v2 = ok("patient/Observation.rs patient/Condition.cud patient/Patient.cruds patient.all.r");
    assert_eq!(
        (v2.context, v2.version, v2.grants.len()),
        (Some(Patient), Some(V2), 4)
    );
}

#[test]
fn e11_mixed_contexts_are_rejected() {
    for (scopes, offending) in [
        // T12.
        ("patient/*.read user/*.read", "user/*.read"),
        ("user/*.rs system/*.rs", "system/*.rs"),
        (
            "system/Observation.rs patient/Observation.rs",
            "patient/Observation.rs",
        ),
        (
            "patient.all.read openid user$Observation.read",
            "user$Observation.read",
        ),
        // The context check comes first when both context and version differ.
        ("patient/*.read system/*.rs", "system/*.rs"),
    ] {
        assert_rejected(scopes, offending, &["E11"]);
    }
}

#[test]
fn e11_one_context_per_token_is_accepted() {
    for (scopes, context) in [
        ("patient/Observation.rs patient/Patient.r", Patient),
        ("user/Observation.rs user/Patient.rs", User),
        ("system/*.rs system/Observation.rs", System),
    ] {
        let set = ok(scopes);
        assert_eq!(set.context, Some(context), "{scopes}");
        assert_eq!(set.grants.len(), 2, "{scopes}");
    }
}

#[test]
fn e12_every_r4_resource_type_is_accepted() {
    for &name in R4_RESOURCE_TYPES {
        let (_, _, g) = single(&format!("patient/{name}.rs"));
        assert_eq!(g.resource, t(name));
        assert!(g.resource.covers(name));
    }
}

#[test]
fn e12_unknown_resource_types_are_rejected() {
    for scope in [
        "patient/Observaton.read",
        "patient/observation.rs",
        "patient/MedicationOrder.read", // DSTU2, not R4
        "patient/Resource.rs",          // abstract
        "patient/DomainResource.rs",    // abstract
        "system/Foo.rs",
        "user/Patient%20.rs",
        "patient.Observaton.read",
    ] {
        assert_rejected(scope, scope, &["E12"]);
    }
}

#[test]
fn e13_forbidden_constraints_are_rejected() {
    for scope in [
        // T14.
        "patient/Observation.rs?category:not=lab",
        "patient/Observation.rs?_include=x",
        "patient/Observation.rs?subject.name=x",
        // Chaining, reverse chaining, modifiers, includes.
        "patient/Observation.rs?_has:Observation:patient:code=1",
        "patient/Observation.rs?_has=1",
        "patient/Observation.rs?code:exact=1234-5",
        "patient/Observation.rs?code:in=http://valueset.example.org/ValueSet/diabetes-codes",
        "patient/Observation.rs?value-quantity:missing=true",
        "patient/Observation.rs?_revinclude=x",
        "patient/Observation.rs?_include:iterate=x",
        // Not `param=value` pairs.
        "patient/Observation.rs?a=b=c",
        "patient/Observation.rs?=x",
        "patient/Observation.rs?a=",
        "patient/Observation.rs?category=lab&",
        "patient/Observation.rs?&category=lab",
        "patient/Observation.rs?category=lab&&status=final",
        "patient/Observation.rs?category=lab&status",
        "patient/Observation.rs?a%20b=c",
        // One bad pair spoils the scope.
        "patient/Observation.rs?category=laboratory&subject.name=x",
    ] {
        assert_rejected(scope, scope, &["E13"]);
    }
}

#[test]
fn e13_plain_constraints_are_kept_in_order() {
    assert_single(&[
        (
            "patient/Observation.rs?category=laboratory",
            Patient,
            V2,
            t("Observation"),
            RS,
            &[("category", "laboratory")],
        ),
        (
            "user/Observation.r?category=laboratory&code=http://loinc.org|1234-5",
            User,
            V2,
            t("Observation"),
            R,
            &[
                ("category", "laboratory"),
                ("code", "http://loinc.org|1234-5"),
            ],
        ),
        (
            "system/*.s?_tag=http://example.org|x&status=final",
            System,
            V2,
            ANY,
            S,
            &[("_tag", "http://example.org|x"), ("status", "final")],
        ),
        (
            "patient/Condition.rs?clinical-status=active",
            Patient,
            V2,
            t("Condition"),
            RS,
            &[("clinical-status", "active")],
        ),
    ]);
}

#[test]
fn e14_constrained_and_unconstrained_grants_stay_apart() {
    // The $export check (F9, E14) needs to tell them apart: nothing is merged or dropped.
    let set = ok("system/Observation.rs?category=laboratory system/*.rs");
    assert_eq!(set.grants.len(), 2);
    assert_eq!(
        set.grants[0].constraints,
        [("category".to_string(), "laboratory".to_string())]
    );
    assert!(set.grants[1].constraints.is_empty());
}

#[test]
fn e15_a_compound_scope_equals_the_union_of_its_parts() {
    for (compound, parts, resource) in [
        (
            "patient/Observation.rs",
            "patient/Observation.r patient/Observation.s",
            t("Observation"),
        ),
        (
            "patient/*.cruds",
            "patient/*.c patient/*.r patient/*.u patient/*.d patient/*.s",
            ANY,
        ),
        (
            "user/Appointment.cruds",
            "user/Appointment.rs user/Appointment.cud",
            t("Appointment"),
        ),
        (
            "patient/AllergyIntolerance.cruds",
            "patient/AllergyIntolerance.cud patient/AllergyIntolerance.rs",
            t("AllergyIntolerance"),
        ),
        (
            "system/Encounter.cud",
            "system/Encounter.c system/Encounter.u system/Encounter.d system/Encounter.cu",
            t("Encounter"),
        ),
        (
            "patient/Observation.read",
            "patient/Observation.read patient/Observation.read",
            t("Observation"),
        ),
    ] {
        let whole = ok(compound);
        let split = ok(parts);
        assert_eq!(whole.context, split.context, "{compound}");
        assert_eq!(whole.version, split.version, "{compound}");
        assert_eq!(
            union_on(&whole, resource),
            union_on(&split, resource),
            "{compound} vs {parts}"
        );
        assert_eq!(split.grants.len(), parts.split(' ').count(), "{parts}");
    }
    // The union is per resource: another type's letters add nothing.
    let set = ok("patient/Observation.r patient/Condition.s");
    assert_eq!(union_on(&set, t("Observation")), R);
    assert_eq!(union_on(&set, t("Condition")), S);
}

// --- Decisions ------------------------------------------------------------------------------------------------------

#[test]
fn q3_write_scopes_parse_and_carry_no_read() {
    for scope in [
        "patient/Observation.write",
        "patient/Observation.cud",
        "user/*.write",
        "system/Encounter.cud",
    ] {
        let (_, _, g) = single(scope);
        assert_eq!(g.perms, CUD, "{scope}");
        assert!(!g.perms.contains(R) && !g.perms.contains(S), "{scope}");
    }
    // Together with a read scope: accepted, the read part is there.
    let set = ok("patient/*.write patient/*.read");
    assert_eq!(union_on(&set, ANY), ALL);
}

#[test]
fn q4_malformed_strings_are_errors_and_non_clinical_strings_grant_nothing() {
    // Malformed or mixed: an error (the caller answers 401 invalid_token).
    for scopes in [
        "patient/Observation.read-only",
        "patient/*.read user/*.read",
        "patient/Observation.read patient/Condition.rs",
        "Patient/Observation.read",
    ] {
        assert!(parse(scopes).is_err(), "{scopes}");
    }
    // Parses but grants nothing (the caller answers 403 insufficient_scope).
    for scopes in [
        "",
        "openid fhirUser profile launch launch/patient offline_access online_access",
        "https://example.org/scope my__ext user_impersonation patientportal",
    ] {
        let set = ok(scopes);
        assert_eq!(set.context, None, "{scopes:?}");
        assert_eq!(set.version, None, "{scopes:?}");
        assert!(set.grants.is_empty(), "{scopes:?}");
    }
}

#[test]
fn q6_capitalised_context_is_malformed() {
    for scope in [
        "Patient/Observation.read",
        "Patient/Observation.rs", // Azure's v2 mapping table
        "System/*.rs",
        "User/*.cruds",
        "SYSTEM/*.read",
        "pAtient/Observation.read",
        "Patient.all.read",
        "User$Observation.read",
    ] {
        assert_rejected(scope, scope, &["Q6"]);
    }
    // Even next to valid scopes.
    assert_rejected(
        "patient/*.rs Patient/Observation.rs",
        "Patient/Observation.rs",
        &["Q6"],
    );
}

#[test]
fn q6_context_lookalike_words_are_ignored() {
    for scope in [
        "patientportal",
        "Patientportal",
        "user_impersonation",
        "User_Impersonation",
        "users",
        "systemic",
    ] {
        assert_eq!(ok(scope), GrantSet::default(), "{scope:?}");
    }
}

#[test]
fn scope_error_display_names_the_offending_scope() {
    let e = rejected("openid patient/Observaton.read");
    assert_eq!(e.scope, "patient/Observaton.read");
    assert_eq!(
        e.to_string(),
        format!(
            "scope 'patient/Observaton.read' {}",
            crate::error::without_rule_id(e.why)
        )
    );
    // Long scopes are cut to 80 characters in client-facing text.
    let long = format!("patient/Observation.rs?category={}=", "x".repeat(200));
    let e = rejected(&long);
    assert_eq!(e.scope, long);
    let shown = e.to_string();
    assert!(shown.contains(&long[..80]), "{shown}");
    assert!(!shown.contains(&long[..81]), "{shown}");
}
