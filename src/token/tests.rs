//! Table tests for the pure token rules. Every check has a passing and a failing case.

use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use super::*;
use crate::config::{Config, LoadOptions, PrimaryAuthorization};
use crate::demo::issuer::{self, sign_compact, SigningKey};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://idp.example/realms/a";

struct Keys {
    rsa: SigningKey,
    ec: SigningKey,
    other_rsa: SigningKey,
    ps: SigningKey,
    ec384: SigningKey,
}

/// RSA key generation is slow; share the keys across tests.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: SigningKey::generate(Alg::RS256, "rsa").expect("rsa"),
        ec: SigningKey::generate(Alg::ES256, "ec").expect("ec"),
        other_rsa: SigningKey::generate(Alg::RS256, "rsa").expect("rsa2"),
        ps: SigningKey::generate(Alg::PS256, "ps").expect("ps"),
        ec384: SigningKey::generate(Alg::ES384, "ec384").expect("ec384"),
    })
}

fn key_set(published: &[&SigningKey]) -> KeySet {
    issuer::key_set(ISS, published).expect("key set")
}

fn all_keys() -> KeySet {
    let k = keys();
    key_set(&[&k.rsa, &k.ec, &k.ps, &k.ec384])
}

fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "u1", "aud": "fhir-api", "azp": "portal",
        "scp": "patient/*.read", "fhirUser": "Patient/123",
        "iat": NOW, "exp": NOW + 600,
    })
}

fn with(f: impl FnOnce(&mut Value)) -> Value {
    let mut c = claims();
    f(&mut c);
    c
}

fn remove(name: &str) -> Value {
    with(|c| {
        c.as_object_mut().expect("object").remove(name);
    })
}

fn token(key: &SigningKey, alg: Alg, claims: &Value) -> String {
    issuer::mint(key, alg, claims)
}

fn token_with_header(header: &Value, claims: &Value) -> String {
    sign_compact(
        &keys().rsa,
        Alg::RS256,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
}

fn settings() -> ValidationSettings {
    ValidationSettings::default()
}

fn config() -> Config {
    let json = json!({
        "authority": "https://login.example/tenant", "audience": "https://fhir.example",
        "smartIdentityProviders": [
            {"authority": ISS, "applications": [
                {"clientId": "portal", "audience": "fhir-api", "allowedDataActions": ["Read"]},
                {"clientId": "clinic", "audience": "fhir-clinic", "allowedDataActions": ["Read"]}
            ]},
            {"authority": "https://other.example", "applications": [
                {"clientId": "sched", "audience": "fhir-sched", "allowedDataActions": ["Read"]}
            ]}
        ]
    });
    Config::from_json(json.to_string().as_bytes(), LoadOptions::default()).expect("config")
}

/// Parse, verify, check times and identify as the proxy does, for a token of SMART provider 0.
fn validate(raw: &str) -> Result<VerifiedToken, TokenError> {
    validate_as(raw, &[AuthorityRole::Smart(0)], &settings())
}

fn validate_as(
    raw: &str,
    roles: &[AuthorityRole],
    s: &ValidationSettings,
) -> Result<VerifiedToken, TokenError> {
    let jws = parse(raw, s)?;
    jws.verify_signature(&all_keys())?;
    let exp = jws.check_times(NOW, s.leeway_secs)?;
    identify(&jws, roles, &config(), s, exp)
}

fn ok(claims: &Value) -> String {
    token(&keys().rsa, Alg::RS256, claims)
}

// === H1: bearer extraction ===

fn headers(values: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values {
        h.append(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(v).expect("header"),
        );
    }
    h
}

#[test]
fn h1_bearer_token_is_taken_from_one_authorization_header() {
    assert_eq!(
        bearer_token(&headers(&["Bearer abc.def.ghi"]), 100).ok(),
        Some("abc.def.ghi")
    );
    // Scheme is case-insensitive, 1*SP.
    assert_eq!(
        bearer_token(&headers(&["bearer   abc.def.ghi"]), 100).ok(),
        Some("abc.def.ghi")
    );
}

#[test]
fn h2_no_authorization_header_is_missing_credentials() {
    assert!(matches!(
        bearer_token(&HeaderMap::new(), 100),
        Err(RequestError::MissingCredentials)
    ));
}

#[test]
fn h1_h5_two_authorization_headers_are_an_invalid_request() {
    assert!(matches!(
        bearer_token(&headers(&["Bearer a.b.c", "Bearer a.b.c"]), 100),
        Err(RequestError::InvalidRequest(_))
    ));
}

#[test]
fn h1_other_schemes_and_empty_bearer_are_refused() {
    assert!(matches!(
        bearer_token(&headers(&["Basic dTpw"]), 100),
        Err(RequestError::UnsupportedScheme)
    ));
    assert!(matches!(
        bearer_token(&headers(&["Bearer"]), 100),
        Err(RequestError::InvalidRequest(_))
    ));
    assert!(matches!(
        bearer_token(&headers(&["Bearer "]), 100),
        Err(RequestError::InvalidRequest(_))
    ));
    assert!(matches!(
        bearer_token(&headers(&["Bearer a.b c"]), 100),
        Err(RequestError::InvalidRequest(_))
    ));
    assert!(matches!(
        bearer_token(&headers(&["Bearer a.b,c"]), 100),
        Err(RequestError::InvalidRequest(_))
    ));
}

#[test]
fn c11_oversized_authorization_header_is_refused() {
    let big = format!("Bearer {}", "a".repeat(200));
    assert!(matches!(
        bearer_token(&headers(&[&big]), 100),
        Err(RequestError::InvalidToken(TokenError::TooLarge(100)))
    ));
    assert!(bearer_token(&headers(&[&big]), 1000).is_ok());
}

#[test]
fn h1_access_token_in_the_query_is_detected() {
    assert!(query_carries_access_token(Some("a=1&access_token=x")));
    assert!(query_carries_access_token(Some("access_token")));
    assert!(!query_carries_access_token(Some(
        "my_access_token=1&code=x"
    )));
    for encoded in ["access%5Ftoken=x", "%61ccess_token=x", "a=1;access_token=x"] {
        assert!(query_carries_access_token(Some(encoded)), "{encoded}");
    }
    assert!(!query_carries_access_token(None));
}

// === C1–C4, C9: structure and header policy ===

#[test]
fn c1_a_valid_token_passes_every_check() {
    let v = validate(&ok(&claims())).expect("valid token");
    assert_eq!(v.role(), AuthorityRole::Smart(0));
    assert_eq!(v.client_id(), Some("portal"));
    assert_eq!(v.application(), Some(0));
    assert!(v.smart());
}

#[test]
fn c1_only_three_part_compact_jws_is_accepted() {
    let t = ok(&claims());
    let parts: Vec<&str> = t.split('.').collect();
    let two = format!("{}.{}", parts[0], parts[1]);
    let four = format!("{t}.x");
    let jwe = "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d";
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    for (bad, why) in [
        (two.as_str(), "2 parts"),
        (four.as_str(), "4 parts"),
        (jwe, "JWE"),
        (stripped.as_str(), "no signature"),
    ] {
        assert!(
            matches!(parse(bad, &settings()), Err(TokenError::Malformed(_))),
            "{why}"
        );
    }
}

#[test]
fn c1_bad_base64url_and_padding_are_malformed() {
    let t = ok(&claims());
    let (h, rest) = t.split_once('.').expect("dot");
    assert!(matches!(
        parse(&format!("{h}=.{rest}"), &settings()),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(
        parse(&format!("{h}*.{rest}"), &settings()),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn c9_header_and_payload_must_be_json_objects() {
    let k = &keys().rsa;
    let not_json = sign_compact(k, Alg::RS256, b"{\"alg\":\"RS256\"", b"{}");
    assert_eq!(
        parse(&not_json, &settings()).err(),
        Some(TokenError::Malformed("header is not JSON"))
    );
    let array = sign_compact(k, Alg::RS256, b"{\"alg\":\"RS256\"}", b"[1,2]");
    assert_eq!(
        parse(&array, &settings()).err(),
        Some(TokenError::Malformed("payload is not a JSON object"))
    );
    let trailing = sign_compact(k, Alg::RS256, b"{\"alg\":\"RS256\"}", b"{} {}");
    assert_eq!(
        parse(&trailing, &settings()).err(),
        Some(TokenError::Malformed("payload is not JSON"))
    );
}

#[test]
fn c9_duplicate_member_names_are_refused() {
    let k = &keys().rsa;
    let dup_header = sign_compact(
        k,
        Alg::RS256,
        br#"{"alg":"RS256","alg":"none"}"#,
        claims().to_string().as_bytes(),
    );
    assert_eq!(
        parse(&dup_header, &settings()).err(),
        Some(TokenError::DuplicateMember("header"))
    );
    let dup_claims = sign_compact(
        k,
        Alg::RS256,
        br#"{"alg":"RS256","kid":"rsa"}"#,
        br#"{"aud":"a","aud":"b"}"#,
    );
    assert_eq!(
        parse(&dup_claims, &settings()).err(),
        Some(TokenError::DuplicateMember("payload"))
    );
    let nested = sign_compact(
        k,
        Alg::RS256,
        br#"{"alg":"RS256"}"#,
        br#"{"x":{"y":1,"y":2}}"#,
    );
    assert_eq!(
        parse(&nested, &settings()).err(),
        Some(TokenError::DuplicateMember("payload"))
    );
}

#[test]
fn c2_alg_none_and_hs_are_refused_before_any_key_is_used() {
    for alg in [
        "none", "None", "NONE", "HS256", "HS384", "HS512", "rs256", "",
    ] {
        let t = token_with_header(&json!({"alg": alg, "kid": "rsa"}), &claims());
        assert_eq!(
            parse(&t, &settings()).err(),
            Some(TokenError::AlgNotAllowed),
            "{alg}"
        );
    }
    let missing = token_with_header(&json!({"kid": "rsa"}), &claims());
    assert_eq!(
        parse(&missing, &settings()).err(),
        Some(TokenError::AlgNotAllowed)
    );
}

#[test]
fn c3_any_crit_header_is_refused() {
    let t = token_with_header(
        &json!({"alg": "RS256", "kid": "rsa", "crit": ["exp"]}),
        &claims(),
    );
    assert_eq!(
        parse(&t, &settings()).err(),
        Some(TokenError::CritNotUnderstood)
    );
    let t = token_with_header(&json!({"alg": "RS256", "kid": "rsa"}), &claims());
    assert!(parse(&t, &settings()).is_ok());
}

#[test]
fn c4_q8_typ_policy() {
    for typ in ["JWT", "jwt", "at+jwt", "AT+JWT", "application/at+jwt"] {
        let t = token_with_header(
            &json!({"alg": "RS256", "kid": "rsa", "typ": typ}),
            &claims(),
        );
        assert!(parse(&t, &settings()).is_ok(), "{typ}");
    }
    let absent = token_with_header(&json!({"alg": "RS256", "kid": "rsa"}), &claims());
    assert!(parse(&absent, &settings()).is_ok());
    for bad in [json!("JOSE"), json!("id_token+jwt"), json!(1)] {
        let t = token_with_header(
            &json!({"alg": "RS256", "kid": "rsa", "typ": bad}),
            &claims(),
        );
        assert_eq!(
            parse(&t, &settings()).err(),
            Some(TokenError::TypNotAllowed),
            "{bad}"
        );
    }
    // Q8 strict switch: only at+jwt.
    let strict = ValidationSettings {
        require_at_jwt_typ: true,
        ..settings()
    };
    let jwt = token_with_header(
        &json!({"alg": "RS256", "kid": "rsa", "typ": "JWT"}),
        &claims(),
    );
    assert_eq!(parse(&jwt, &strict).err(), Some(TokenError::TypNotAllowed));
    assert_eq!(
        parse(&absent, &strict).err(),
        Some(TokenError::TypNotAllowed)
    );
    let at = token_with_header(
        &json!({"alg": "RS256", "kid": "rsa", "typ": "at+jwt"}),
        &claims(),
    );
    assert!(parse(&at, &strict).is_ok());
}

#[test]
fn b7_kid_must_be_a_short_string() {
    for kid in [json!(1), json!(""), json!("k".repeat(300)), json!(["rsa"])] {
        let t = token_with_header(&json!({"alg": "RS256", "kid": kid}), &claims());
        assert!(matches!(
            parse(&t, &settings()),
            Err(TokenError::Malformed(_))
        ));
    }
}

// === B7, B8, C2: signature ===

#[test]
fn c2_every_allow_listed_algorithm_verifies_with_its_key() {
    let k = keys();
    for (key, alg) in [
        (&k.rsa, Alg::RS256),
        (&k.ec, Alg::ES256),
        (&k.ps, Alg::PS256),
        (&k.ec384, Alg::ES384),
    ] {
        assert!(validate(&token(key, alg, &claims())).is_ok(), "{alg:?}");
    }
}

#[test]
fn b8_an_rsa_key_never_verifies_es256_and_an_ec_key_never_rs256() {
    let k = keys();
    // Header claims ES256 but names the RSA key.
    let t = sign_compact(
        &k.ec,
        Alg::ES256,
        json!({"alg":"ES256","kid":"rsa"}).to_string().as_bytes(),
        claims().to_string().as_bytes(),
    );
    assert_eq!(validate(&t).err(), Some(TokenError::KeyAlgMismatch));
    let t = sign_compact(
        &k.rsa,
        Alg::RS256,
        json!({"alg":"RS256","kid":"ec"}).to_string().as_bytes(),
        claims().to_string().as_bytes(),
    );
    assert_eq!(validate(&t).err(), Some(TokenError::KeyAlgMismatch));
    // The JWK of `rsa` says RS256: PS256 with it is refused even though the key type fits.
    let t = sign_compact(
        &k.rsa,
        Alg::PS256,
        json!({"alg":"PS256","kid":"rsa"}).to_string().as_bytes(),
        claims().to_string().as_bytes(),
    );
    assert_eq!(validate(&t).err(), Some(TokenError::KeyAlgMismatch));
}

#[test]
fn b5_unknown_kid_is_reported_for_a_refetch() {
    let t = sign_compact(
        &keys().rsa,
        Alg::RS256,
        json!({"alg":"RS256","kid":"../../etc/passwd"})
            .to_string()
            .as_bytes(),
        claims().to_string().as_bytes(),
    );
    assert_eq!(validate(&t).err(), Some(TokenError::UnknownKid));
}

#[test]
fn c2_tampered_payload_and_foreign_key_fail_the_signature() {
    let t = ok(&claims());
    let parts: Vec<&str> = t.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(with(|c| c["fhirUser"] = json!("Patient/999")).to_string());
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert_eq!(validate(&tampered).err(), Some(TokenError::BadSignature));
    // Same kid, different private key (a token from provider B signed with B's key, naming A's kid).
    let foreign = token(&keys().other_rsa, Alg::RS256, &claims());
    assert_eq!(validate(&foreign).err(), Some(TokenError::BadSignature));
    let garbage_sig = format!("{}.{}.AAAA", parts[0], parts[1]);
    assert_eq!(validate(&garbage_sig).err(), Some(TokenError::BadSignature));
}

#[test]
fn q14_token_without_kid_needs_a_single_key() {
    let k = keys();
    let no_kid = sign_compact(
        &k.rsa,
        Alg::RS256,
        br#"{"alg":"RS256"}"#,
        claims().to_string().as_bytes(),
    );
    let jws = parse(&no_kid, &settings()).expect("parses");
    assert!(jws.verify_signature(&key_set(&[&k.rsa])).is_ok());
    assert_eq!(
        jws.verify_signature(&key_set(&[&k.rsa, &k.ec])).err(),
        Some(TokenError::AmbiguousKey)
    );
}

// === C5–C8: time ===

#[test]
fn c5_c7_exp_with_leeway() {
    // T4: exp = now-299 passes with 300 s leeway, exp = now-301 fails.
    assert!(validate(&ok(&with(|c| c["exp"] = json!(NOW - 299)))).is_ok());
    assert!(validate(&ok(&with(|c| c["exp"] = json!(NOW - 1)))).is_ok());
    assert_eq!(
        validate(&ok(&with(|c| c["exp"] = json!(NOW - 301)))).err(),
        Some(TokenError::Expired)
    );
    let no_leeway = ValidationSettings {
        leeway_secs: 0,
        ..settings()
    };
    let t = ok(&with(|c| c["exp"] = json!(NOW - 1)));
    assert_eq!(
        validate_as(&t, &[AuthorityRole::Smart(0)], &no_leeway).err(),
        Some(TokenError::Expired)
    );
}

#[test]
fn c5_exp_is_required_and_numeric() {
    assert_eq!(
        validate(&ok(&remove("exp"))).err(),
        Some(TokenError::MissingExp)
    );
    for bad in [json!("1800000600"), json!(null), json!([1]), json!(true)] {
        assert_eq!(
            validate(&ok(&with(|c| c["exp"] = bad.clone()))).err(),
            Some(TokenError::BadTimeClaim("exp")),
            "{bad}"
        );
    }
    // A fractional NumericDate is a number.
    assert!(validate(&ok(&with(|c| c["exp"] = json!(NOW as f64 + 10.5)))).is_ok());
}

#[test]
fn c6_nbf_in_the_future_beyond_leeway_is_refused() {
    assert!(validate(&ok(&with(|c| c["nbf"] = json!(NOW + 299)))).is_ok());
    assert_eq!(
        validate(&ok(&with(|c| c["nbf"] = json!(NOW + 301)))).err(),
        Some(TokenError::NotYetValid)
    );
    assert_eq!(
        validate(&ok(&with(|c| c["nbf"] = json!("soon")))).err(),
        Some(TokenError::BadTimeClaim("nbf"))
    );
}

#[test]
fn c8_iat_in_the_future_beyond_leeway_is_refused() {
    assert!(validate(&ok(&with(|c| c["iat"] = json!(NOW + 300)))).is_ok());
    assert_eq!(
        validate(&ok(&with(|c| c["iat"] = json!(NOW + 301)))).err(),
        Some(TokenError::IssuedInFuture)
    );
}

// === D1–D5, Q2, Q7: SMART provider claims ===

#[test]
fn d1_azp_must_name_an_application_of_this_provider() {
    assert_eq!(
        validate(&ok(&with(|c| c["azp"] = json!("stranger")))).err(),
        Some(TokenError::UnknownClient)
    );
    // `sched` belongs to provider 1, not to provider 0 whose issuer this is.
    assert_eq!(
        validate(&ok(&with(|c| {
            c["azp"] = json!("sched");
            c["aud"] = json!("fhir-sched");
        })))
        .err(),
        Some(TokenError::UnknownClient)
    );
    assert_eq!(
        validate(&ok(&remove("azp"))).err(),
        Some(TokenError::MissingClientId)
    );
}

#[test]
fn d1_t7_appid_is_used_when_azp_is_absent() {
    let t = ok(&with(|c| {
        c.as_object_mut().expect("object").remove("azp");
        c["appid"] = json!("portal");
    }));
    assert_eq!(
        validate(&t).expect("appid accepted").client_id(),
        Some("portal")
    );
}

/// The claims as `claims()`, with the client named only by `names` (no `azp` unless listed).
fn client_claims(names: &[(&str, Value)]) -> Value {
    with(|c| {
        let map = c.as_object_mut().expect("object");
        map.remove("azp");
        for (name, value) in names {
            map.insert(name.to_string(), value.clone());
        }
    })
}

#[test]
fn d1_q2_client_id_falls_back_to_client_id_then_cid() {
    // Each claim alone names the client (RFC 9068 §2.2 `client_id`, Okta's `cid`), and the first present wins.
    let accepted: [(&[(&str, Value)], &str); 6] = [
        (&[("client_id", json!("portal"))], "portal"),
        (&[("cid", json!("portal"))], "portal"),
        (
            &[("client_id", json!("portal")), ("cid", json!("clinic"))],
            "portal",
        ),
        (
            &[("appid", json!("portal")), ("client_id", json!("clinic"))],
            "portal",
        ),
        (
            &[("azp", json!("portal")), ("cid", json!("clinic"))],
            "portal",
        ),
        (
            &[
                ("azp", json!("portal")),
                ("appid", json!("x")),
                ("client_id", json!("y")),
                ("cid", json!("z")),
            ],
            "portal",
        ),
    ];
    for (names, client) in accepted {
        let v = validate(&ok(&client_claims(names))).unwrap_or_else(|e| panic!("{names:?}: {e}"));
        assert_eq!(v.client_id(), Some(client), "{names:?}");
        assert_eq!(v.application(), Some(0), "{names:?}");
    }
}

#[test]
fn d1_q2_a_present_client_claim_is_final() {
    // Q2: present but matching no application is 401, never passed over for a later claim that matches.
    let unmatched: [&[(&str, Value)]; 4] = [
        &[("azp", json!("stranger")), ("client_id", json!("portal"))],
        &[("azp", json!("stranger")), ("cid", json!("portal"))],
        &[("appid", json!("stranger")), ("client_id", json!("portal"))],
        &[("client_id", json!("stranger")), ("cid", json!("portal"))],
    ];
    for names in unmatched {
        assert_eq!(
            validate(&ok(&client_claims(names))).err(),
            Some(TokenError::UnknownClient),
            "{names:?}"
        );
    }
    // Present but not a header-safe string: refused by name, even when a later claim would match.
    let unsafe_: [(&[(&str, Value)], &str); 6] = [
        (&[("client_id", json!(7))], "client_id"),
        (&[("client_id", json!(["portal"]))], "client_id"),
        (
            &[("client_id", json!(null)), ("cid", json!("portal"))],
            "client_id",
        ),
        (&[("cid", json!({"id": "portal"}))], "cid"),
        (&[("cid", json!("por\ntal"))], "cid"),
        (&[("azp", json!(1)), ("client_id", json!("portal"))], "azp"),
    ];
    for (names, claim) in unsafe_ {
        assert_eq!(
            validate(&ok(&client_claims(names))).err(),
            Some(TokenError::UnsafeClaim(claim)),
            "{names:?}"
        );
    }
    // None of the four: 401 naming all of them.
    let err = validate(&ok(&client_claims(&[]))).expect_err("no client");
    assert_eq!(err, TokenError::MissingClientId);
    assert_eq!(err.to_string(), "azp, appid, client_id and cid are missing");
}

#[test]
fn q2_a_present_but_unmatched_azp_wins_over_a_matching_appid() {
    let t = ok(&with(|c| {
        c["azp"] = json!("stranger");
        c["appid"] = json!("portal");
    }));
    assert_eq!(validate(&t).err(), Some(TokenError::UnknownClient));
}

#[test]
fn d2_t6_aud_must_match_the_application() {
    // azp is app `portal`, aud is app `clinic`'s audience.
    let t = ok(&with(|c| c["aud"] = json!("fhir-clinic")));
    assert_eq!(
        validate(&t).err(),
        Some(TokenError::AudienceMismatch("portal".into()))
    );
    // C10: exact, case-sensitive, no slash folding.
    assert!(validate(&ok(&with(|c| c["aud"] = json!("FHIR-API")))).is_err());
    assert!(validate(&ok(&with(|c| c["aud"] = json!("fhir-api/")))).is_err());
}

#[test]
fn q7_aud_array_matches_when_any_element_matches() {
    assert!(validate(&ok(&with(|c| c["aud"] = json!(["x", "fhir-api"])))).is_ok());
    assert!(validate(&ok(&with(|c| c["aud"] = json!(["x", "y"])))).is_err());
    for bad in [json!(1), json!([]), json!(["fhir-api", 1]), json!({"a": 1})] {
        assert_eq!(
            validate(&ok(&with(|c| c["aud"] = bad.clone()))).err(),
            Some(TokenError::BadAudience),
            "{bad}"
        );
    }
    assert_eq!(
        validate(&ok(&remove("aud"))).err(),
        Some(TokenError::BadAudience)
    );
}

#[test]
fn d3_t8_scp_is_required() {
    assert_eq!(
        validate(&ok(&remove("scp"))).err(),
        Some(TokenError::MissingScopes)
    );
    assert_eq!(
        validate(&ok(&with(|c| c["scp"] = json!("  ")))).err(),
        Some(TokenError::MissingScopes)
    );
    for bad in [json!(5), json!(["a", 1]), json!({"a": "b"})] {
        assert_eq!(
            validate(&ok(&with(|c| c["scp"] = bad.clone()))).err(),
            Some(TokenError::BadScopes),
            "{bad}"
        );
    }
}

#[test]
fn d3_scp_may_be_an_array_or_named_scope() {
    let v = validate(&ok(&with(|c| {
        c["scp"] = json!(["patient/*.read", "openid"])
    })))
    .expect("array");
    assert_eq!(v.scopes(), Some("patient/*.read openid"));
    let v = validate(&ok(&with(|c| {
        c.as_object_mut().expect("object").remove("scp");
        c["scope"] = json!("patient/Observation.rs");
    })))
    .expect("scope claim");
    assert_eq!(v.scopes(), Some("patient/Observation.rs"));
}

#[test]
fn d4_t8_fhir_user_is_required_and_extension_fhir_user_is_accepted() {
    assert_eq!(
        validate(&ok(&remove("fhirUser"))).err(),
        Some(TokenError::MissingFhirUser)
    );
    let t = ok(&with(|c| {
        c.as_object_mut().expect("object").remove("fhirUser");
        c["extension_fhirUser"] = json!("Practitioner/7");
    }));
    assert_eq!(
        validate(&t)
            .expect("b2c claim")
            .fhir_user()
            .map(|u| u.resource_type()),
        Some("Practitioner")
    );
}

#[test]
fn d5_fhir_user_must_reference_a_user_resource() {
    for bad in [
        "Observation/1",
        "Patient",
        "Patient/",
        "Patient/a b",
        "patient/1",
        "urn:uuid:1",
        "Patient/1/_history/2",
    ] {
        assert_eq!(
            validate(&ok(&with(|c| c["fhirUser"] = json!(bad)))).err(),
            Some(TokenError::BadFhirUser),
            "{bad}"
        );
    }
    assert_eq!(
        validate(&ok(&with(|c| c["fhirUser"] = json!(7)))).err(),
        Some(TokenError::BadFhirUser)
    );
    for good in [
        "Patient/123",
        "RelatedPerson/r-1",
        "Person/p.1",
        "PractitionerRole/9",
        "https://fhir.example/r4/Patient/123",
    ] {
        assert!(
            validate(&ok(&with(|c| c["fhirUser"] = json!(good)))).is_ok(),
            "{good}"
        );
    }
}

#[test]
fn d5_absolute_fhir_user_keeps_its_base() {
    let u = FhirUser::parse("https://fhir.example/r4/Patient/123").expect("absolute");
    assert_eq!(u.base(), Some("https://fhir.example/r4"));
    assert_eq!((u.resource_type(), u.id()), ("Patient", "123"));
    assert_eq!(FhirUser::parse("Patient/123").and_then(|u| u.base()), None);
    assert!(FhirUser::parse("https://fhir.example/Patient/1?x=1").is_none());
    // A trailing '/' (the URL's path allows it) does not shift the base into the type.
    let u = FhirUser::parse("https://fhir.example/r4/Patient/123/").expect("trailing slash");
    assert_eq!(u.base(), Some("https://fhir.example/r4"));
    assert_eq!((u.resource_type(), u.id()), ("Patient", "123"));
}

#[test]
fn a_verified_token_keeps_sub_and_fhir_user_in_one_string() {
    // The token cache's memory budget (100,000 tokens in 64 MiB) counts on this size.
    assert!(std::mem::size_of::<VerifiedToken>() <= 56);
    let v = validate(&ok(&with(|c| {
        c["fhirUser"] = json!("https://fhir.example/r4/Practitioner/p-1/")
    })))
    .expect("valid");
    assert_eq!(v.subject(), Some("u1"));
    let u = v.fhir_user().expect("fhirUser");
    assert_eq!(u.reference(), "https://fhir.example/r4/Practitioner/p-1/");
    assert_eq!((u.resource_type(), u.id()), ("Practitioner", "p-1"));
    let v = validate(&ok(&remove("sub"))).expect("sub is optional");
    assert_eq!(v.subject(), None);
    assert_eq!(v.fhir_user().map(|u| u.reference()), Some("Patient/123"));
    let v = validate(&ok(&with(|c| c["sub"] = json!("")))).expect("empty sub");
    assert_eq!(v.subject(), Some(""));
}

#[test]
fn claims_copied_into_headers_must_be_header_safe() {
    assert_eq!(
        validate(&ok(&with(
            |c| c["sub"] = json!("a\r\nX-Fhir-User: Patient/1")
        )))
        .err(),
        Some(TokenError::UnsafeClaim("sub"))
    );
    assert_eq!(
        validate(&ok(&with(|c| c["sub"] = json!(12)))).err(),
        Some(TokenError::UnsafeClaim("sub"))
    );
    // C12: sub is not required.
    assert!(validate(&ok(&remove("sub"))).is_ok());
}

// === G1, Q10, Q17: primary authority ===

#[test]
fn g1_primary_tokens_need_the_primary_audience() {
    let primary = [AuthorityRole::Primary];
    let t = ok(&json!({"iss": ISS, "aud": "https://fhir.example", "exp": NOW + 60, "oid": "x"}));
    let v = validate_as(&t, &primary, &settings()).expect("primary passes");
    assert!(!v.smart(), "Q10: passthrough");
    let t = ok(&json!({"iss": ISS, "aud": "https://elsewhere", "exp": NOW + 60}));
    assert_eq!(
        validate_as(&t, &primary, &settings()).err(),
        Some(TokenError::PrimaryAudienceMismatch)
    );
}

#[test]
fn q10_enforce_mode_applies_smart_claims_to_primary_tokens() {
    let primary = [AuthorityRole::Primary];
    let enforce = ValidationSettings {
        primary_authorization: Some(PrimaryAuthorization::Smart),
        ..settings()
    };
    let bare = ok(&json!({"iss": ISS, "aud": "https://fhir.example", "exp": NOW + 60}));
    assert_eq!(
        validate_as(&bare, &primary, &enforce).err(),
        Some(TokenError::MissingScopes)
    );
    let full = ok(
        &json!({"iss": ISS, "aud": "https://fhir.example", "exp": NOW + 60, "scp": "patient/*.read", "fhirUser": "Patient/1"}),
    );
    assert!(validate_as(&full, &primary, &enforce)
        .expect("enforced")
        .smart());
}

#[test]
fn q17_shared_issuer_picks_the_provider_owning_the_client() {
    let both = [AuthorityRole::Primary, AuthorityRole::Smart(0)];
    // azp of a SMART application → SMART rules.
    let v = validate_as(&ok(&claims()), &both, &settings()).expect("smart");
    assert_eq!(v.role(), AuthorityRole::Smart(0));
    // Unknown azp but primary audience → the primary authority.
    let t = ok(&with(|c| {
        c["azp"] = json!("entra-app");
        c["aud"] = json!("https://fhir.example");
    }));
    assert_eq!(
        validate_as(&t, &both, &settings()).expect("primary").role(),
        AuthorityRole::Primary
    );
}

#[test]
fn h1_b64token_check_agrees_with_the_grammar_for_every_byte() {
    for b in 0..=255u8 {
        let grammar =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        assert_eq!(is_b64token(&[b]), grammar, "byte {b:#04x}");
        // Inside a long token too (the vectorised path).
        let mut long = vec![b'a'; 100];
        long[57] = b;
        assert_eq!(is_b64token(&long), grammar, "byte {b:#04x} at 57");
    }
}
