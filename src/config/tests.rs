//! Section A of the rules (and Q1, Q15, Q16, T19) as tests: one passing example per rule and failing examples
//! whose message must start with the JSON path of the offending value and carry the rule text.

use super::*;
use serde_json::{json, Value};

// === fixtures ===

const PRIMARY_AUTHORITY: &str =
    "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555";
const PRIMARY_AUDIENCE: &str = "https://contoso-fhir.fhir.azurehealthcareapis.com";
const IDP_ONE: &str = "https://idp-one.example.org/oauth2/default";
const IDP_TWO: &str = "https://idp-two.example.org/realms/clinic";

const SECURE: LoadOptions = LoadOptions {
    allow_insecure_http: false,
};
const INSECURE: LoadOptions = LoadOptions {
    allow_insecure_http: true,
};

fn app(client_id: &str, audience: &str) -> Value {
    json!({
        "clientId": client_id,
        "audience": audience,
        "allowedDataActions": ["Read"]
    })
}

/// A valid bare `authenticationConfiguration`: a primary authority and two providers with one application each.
fn base() -> Value {
    json!({
        "authority": PRIMARY_AUTHORITY,
        "audience": PRIMARY_AUDIENCE,
        "smartProxyEnabled": false,
        "smartIdentityProviders": [
            { "authority": IDP_ONE, "applications": [app("portal", "api://fhir")] },
            { "authority": IDP_TWO, "applications": [app("scheduler", "fhir-api")] }
        ]
    })
}

fn wrapped(auth: Value) -> Value {
    json!({ "authenticationConfiguration": auth })
}

fn arm(auth: Value) -> Value {
    json!({ "properties": { "authenticationConfiguration": auth } })
}

fn object(v: &mut Value) -> &mut serde_json::Map<String, Value> {
    v.as_object_mut().expect("fixture value is a JSON object")
}

fn load_with(v: &Value, opts: LoadOptions) -> Result<Config, ConfigError> {
    let bytes = serde_json::to_vec(v).expect("a serde_json::Value always serializes");
    Config::from_json(&bytes, opts)
}

#[track_caller]
fn accepted(v: &Value) -> Config {
    load_with(v, SECURE).unwrap_or_else(|e| panic!("expected the config to load, got `{e}`\n{v:#}"))
}

/// Loads `v` expecting an error whose message starts with `path: ` and contains `text`; returns the message.
#[track_caller]
fn assert_refused_with(v: &Value, opts: LoadOptions, path: &str, text: &str) -> String {
    let msg = match load_with(v, opts) {
        Ok(_) => panic!("expected `{path}: ...{text}...`, but the config loaded\n{v:#}"),
        Err(e) => e.to_string(),
    };
    assert!(
        msg.starts_with(&format!("{path}: ")),
        "error must start with the path `{path}: `, got `{msg}`"
    );
    assert!(
        msg.contains(text),
        "error must contain `{text}`, got `{msg}`"
    );
    msg
}

#[track_caller]
fn assert_refused(v: &Value, path: &str, text: &str) -> String {
    assert_refused_with(v, SECURE, path, text)
}

fn example_file() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/azure-arm.json");
    let text = std::fs::read_to_string(path).expect("the ARM example file is readable");
    serde_json::from_str(&text).expect("the ARM example file is JSON")
}

fn example_auth() -> Value {
    example_file()["properties"]["authenticationConfiguration"].clone()
}

fn sample_file(name: &str) -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name);
    Config::load_file(&path, SECURE)
        .unwrap_or_else(|e| panic!("sample config/{name} must load: {e}"))
}

fn client_ids(config: &Config) -> Vec<Vec<&str>> {
    config
        .smart_providers
        .iter()
        .map(|p| {
            p.applications
                .iter()
                .map(|a| a.client_id.as_str())
                .collect()
        })
        .collect()
}

#[track_caller]
fn assert_is_the_example(config: &Config) {
    let primary = config
        .primary
        .as_ref()
        .expect("the example has a primary authority");
    assert_eq!(primary.authority.as_str(), PRIMARY_AUTHORITY);
    assert_eq!(primary.audience.as_str(), PRIMARY_AUDIENCE);
    assert!(!config.smart_proxy_enabled);
    let authorities: Vec<&str> = config
        .smart_providers
        .iter()
        .map(|p| p.authority.as_str())
        .collect();
    assert_eq!(
        authorities,
        [
            "https://contoso.okta.com/oauth2/default",
            "https://idp.example-hospital.org/realms/clinic"
        ]
    );
    assert_eq!(
        client_ids(config),
        [
            vec!["0oa1patientportal", "0oa2clinicianapp"],
            vec!["scheduling-service"]
        ]
    );
    let app = config.smart_providers[1]
        .application("scheduling-service")
        .expect("the second provider owns scheduling-service");
    assert_eq!(app.audience.as_str(), "fhir-api");
    assert_eq!(app.allowed_data_actions, [DataAction::Read]);
}

// === A1: the three shapes ===

#[test]
fn a1_arm_body_loads_the_example_file_unchanged() {
    let config = accepted(&example_file());
    assert_is_the_example(&config);
    assert_eq!(
        config.path_prefix,
        "properties.authenticationConfiguration."
    );
}

#[test]
fn a1_arm_body_ignores_other_arm_properties() {
    let mut v = example_file();
    let top = object(&mut v);
    top.insert("location".into(), json!("westeurope"));
    top.insert("kind".into(), json!("fhir-R4"));
    top.insert("identity".into(), json!({ "type": "SystemAssigned" }));
    top.insert("tags".into(), json!({ "env": "test" }));
    let props = object(&mut v["properties"]);
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert(
        "corsConfiguration".into(),
        json!({ "origins": ["*"], "allowCredentials": false }),
    );
    props.insert("accessPolicies".into(), json!([]));
    assert_is_the_example(&accepted(&v));
}

#[test]
fn a1_wrapped_shape_loads_the_example_unchanged() {
    let config = accepted(&wrapped(example_auth()));
    assert_is_the_example(&config);
    assert_eq!(config.path_prefix, "authenticationConfiguration.");
}

#[test]
fn a1_bare_shape_loads_the_example_unchanged() {
    let config = accepted(&example_auth());
    assert_is_the_example(&config);
    assert_eq!(config.path_prefix, "");
}

#[test]
fn a1_the_base_fixture_is_valid_in_all_three_shapes() {
    for v in [base(), wrapped(base()), arm(base())] {
        let config = accepted(&v);
        assert_eq!(client_ids(&config), [vec!["portal"], vec!["scheduler"]]);
    }
}

#[test]
fn a1_invalid_json_is_refused() {
    let msg = Config::from_json(br#"{"authority": "https://a.example.org","#, SECURE)
        .expect_err("truncated JSON must not load")
        .to_string();
    assert!(msg.starts_with("$: "), "got `{msg}`");
    assert!(msg.contains("EOF"), "got `{msg}`");

    let msg = Config::from_json(b"", SECURE)
        .expect_err("an empty file must not load")
        .to_string();
    assert!(msg.starts_with("$: "), "got `{msg}`");
}

#[test]
fn a1_a_top_level_that_is_not_an_object_is_refused() {
    assert_refused(&json!([base()]), "$", "must be a JSON object");
    assert_refused(&json!("text"), "$", "must be a JSON object");
}

#[test]
fn a1_wrapped_configuration_that_is_not_an_object_is_refused() {
    assert_refused(
        &wrapped(Value::Null),
        "authenticationConfiguration",
        "must be a JSON object",
    );
    assert_refused(
        &arm(json!([])),
        "properties.authenticationConfiguration",
        "must be a JSON object",
    );
}

#[test]
fn a1_arm_body_without_authentication_configuration_is_refused() {
    let v = json!({ "properties": { "provisioningState": "Succeeded" } });
    assert_refused(&v, "properties.authenticationConfiguration", "is required");
    assert_refused(
        &json!({ "properties": "x" }),
        "properties",
        "must be an object holding authenticationConfiguration",
    );
}

#[test]
fn a1_unknown_top_level_field_is_refused_with_its_path() {
    let mut v = base();
    object(&mut v).insert("smartIdentityProvider".into(), json!([]));
    assert_refused(
        &v,
        "smartIdentityProvider",
        "unknown field `smartIdentityProvider`",
    );

    let mut v = base();
    object(&mut v).insert("issuer".into(), json!("x"));
    assert_refused(
        &wrapped(v.clone()),
        "authenticationConfiguration.issuer",
        "unknown field `issuer`",
    );
    assert_refused(
        &arm(v),
        "properties.authenticationConfiguration.issuer",
        "unknown field `issuer`",
    );
}

#[test]
fn a1_unknown_field_next_to_the_wrapped_configuration_is_refused_with_its_path() {
    let mut v = wrapped(base());
    object(&mut v).insert("location".into(), json!("westeurope"));
    assert_refused(
        &v,
        "location",
        "unknown field next to authenticationConfiguration",
    );
}

#[test]
fn a1_unknown_provider_field_is_refused_with_its_path() {
    let mut v = base();
    object(&mut v["smartIdentityProviders"][1]).insert("issuer".into(), json!(IDP_TWO));
    assert_refused(
        &v,
        "smartIdentityProviders[1].issuer",
        "unknown field `issuer`",
    );
    assert_refused(
        &wrapped(v),
        "authenticationConfiguration.smartIdentityProviders[1].issuer",
        "unknown field `issuer`",
    );
}

#[test]
fn a1_unknown_application_field_is_refused_with_its_path() {
    let mut v = base();
    object(&mut v["smartIdentityProviders"][0]["applications"][0])
        .insert("clientSecret".into(), json!("s3cret"));
    assert_refused(
        &arm(v),
        "properties.authenticationConfiguration.smartIdentityProviders[0].applications[0].clientSecret",
        "unknown field `clientSecret`",
    );
}

#[test]
fn a1_field_names_are_case_sensitive() {
    let mut v = base();
    let app = object(&mut v["smartIdentityProviders"][0]["applications"][0]);
    let id = app.remove("clientId").expect("fixture has clientId");
    app.insert("clientID".into(), id);
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[0].clientID",
        "unknown field `clientID`",
    );
}

#[test]
fn a1_wrong_json_type_is_refused_with_its_path() {
    let mut v = base();
    v["smartIdentityProviders"][0]["applications"] = json!("portal");
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications",
        "invalid type: string \"portal\", expected a sequence",
    );

    let mut v = base();
    v["smartIdentityProviders"][1]["authority"] = json!(42);
    assert_refused(
        &wrapped(v),
        "authenticationConfiguration.smartIdentityProviders[1].authority",
        "invalid type: integer `42`, expected a string",
    );

    let mut v = base();
    v["smartIdentityProviders"] = json!({ "authority": IDP_ONE });
    assert_refused(&v, "smartIdentityProviders", "invalid type: map");

    let mut v = base();
    v["smartIdentityProviders"][0]["applications"][0]["allowedDataActions"] = json!("Read");
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[0].allowedDataActions",
        "invalid type: string \"Read\", expected a sequence",
    );

    let mut v = base();
    v["audience"] = json!(["a", "b"]);
    assert_refused(&v, "audience", "invalid type: sequence, expected a string");
}

// === A1/G1: the primary authority and audience, both or neither ===

#[test]
fn a1_primary_authority_and_audience_together_are_accepted() {
    let config = accepted(&base());
    let primary = config
        .primary
        .as_ref()
        .expect("base has a primary authority");
    assert_eq!(primary.authority.as_str(), PRIMARY_AUTHORITY);
    assert_eq!(primary.audience.as_str(), PRIMARY_AUDIENCE);
    let roles: Vec<AuthorityRole> = config.authorities().map(|(role, _)| role).collect();
    assert_eq!(
        roles,
        [
            AuthorityRole::Primary,
            AuthorityRole::Smart(0),
            AuthorityRole::Smart(1)
        ]
    );
}

#[test]
fn a1_neither_primary_authority_nor_audience_is_accepted_with_providers() {
    let mut v = base();
    object(&mut v).remove("authority");
    object(&mut v).remove("audience");
    let config = accepted(&v);
    assert!(config.primary.is_none());
    assert_eq!(config.smart_providers.len(), 2);

    let mut v = base();
    v["authority"] = Value::Null;
    v["audience"] = Value::Null;
    assert!(accepted(&v).primary.is_none());
}

#[test]
fn a1_primary_authority_without_audience_is_refused_with_its_path() {
    let mut v = base();
    object(&mut v).remove("audience");
    assert_refused(&v, "audience", "is required when authority is set");
    assert_refused(
        &arm(v),
        "properties.authenticationConfiguration.audience",
        "is required when authority is set",
    );
}

#[test]
fn a1_primary_audience_without_authority_is_refused_with_its_path() {
    let mut v = base();
    v["authority"] = Value::Null;
    assert_refused(
        &wrapped(v),
        "authenticationConfiguration.authority",
        "is required when audience is set",
    );
}

#[test]
fn a1_empty_primary_audience_is_refused_with_its_path() {
    let mut v = base();
    v["audience"] = json!("  ");
    assert_refused(&v, "audience", "must not be empty");
}

#[test]
fn a3_primary_authority_must_be_https() {
    let mut v = base();
    v["authority"] = json!("http://login.microsoftonline.com/tenant");
    assert_refused(&v, "authority", "must use https");
    let config = load_with(&v, INSECURE).expect("http is allowed with the insecure flag");
    assert_eq!(
        config.primary.expect("primary kept").authority.as_str(),
        "http://login.microsoftonline.com/tenant"
    );

    let mut v = base();
    v["authority"] = json!("");
    assert_refused(&v, "authority", "must not be empty");
}

#[test]
fn a1_a2_no_identity_provider_at_all_is_refused() {
    let text = "no identity provider configured";
    assert_refused(&json!({}), "$", text);
    assert_refused(&json!({ "smartIdentityProviders": null }), "$", text);
    assert_refused(&json!({ "smartProxyEnabled": true }), "$", text);
    assert_refused(&wrapped(json!({})), "authenticationConfiguration", text);
    assert_refused(
        &arm(json!({})),
        "properties.authenticationConfiguration",
        text,
    );
}

// === A2: smartIdentityProviders ===

#[test]
fn a2_absent_providers_mean_only_the_primary_authority() {
    let mut v = base();
    object(&mut v).remove("smartIdentityProviders");
    let config = accepted(&v);
    assert!(config.smart_providers.is_empty());
    assert!(config.primary.is_some());
    assert_eq!(config.authorities().count(), 1);
}

#[test]
fn a2_null_providers_mean_only_the_primary_authority() {
    let mut v = base();
    v["smartIdentityProviders"] = Value::Null;
    let config = accepted(&v);
    assert!(config.smart_providers.is_empty());
    assert!(config.primary.is_some());
}

#[test]
fn a2_empty_provider_array_is_refused_with_its_path() {
    let mut v = base();
    v["smartIdentityProviders"] = json!([]);
    assert_refused(&v, "smartIdentityProviders", "");
    assert_refused(
        &arm(v),
        "properties.authenticationConfiguration.smartIdentityProviders",
        "at least one provider",
    );
}

#[test]
fn a2_one_or_two_providers_are_accepted() {
    let mut v = base();
    v["smartIdentityProviders"]
        .as_array_mut()
        .expect("providers is an array")
        .truncate(1);
    assert_eq!(accepted(&v).smart_providers.len(), 1);
    assert_eq!(accepted(&base()).smart_providers.len(), 2);
}

#[test]
fn a2_three_providers_are_refused_with_the_azure_message() {
    let mut v = base();
    v["smartIdentityProviders"]
        .as_array_mut()
        .expect("providers is an array")
        .push(json!({
            "authority": "https://idp-three.example.org",
            "applications": [app("third", "fhir-api")]
        }));
    assert_refused(
        &v,
        "smartIdentityProviders",
        "The maximum number of SMART identity providers is 2.",
    );
    assert_refused(
        &wrapped(v),
        "authenticationConfiguration.smartIdentityProviders",
        "The maximum number of SMART identity providers is 2.",
    );
}

#[test]
fn a2_null_provider_entry_is_refused_with_its_path() {
    let mut v = base();
    v["smartIdentityProviders"][1] = Value::Null;
    assert_refused(&v, "smartIdentityProviders[1]", "must not be null");
}

// === A3: provider authority ===

#[test]
fn a3_https_authorities_are_accepted_as_written() {
    let config = accepted(&base());
    assert_eq!(config.smart_providers[0].authority.as_str(), IDP_ONE);
    assert_eq!(
        config.smart_providers[0].authority.discovery_url(),
        "https://idp-one.example.org/oauth2/default/.well-known/openid-configuration"
    );
}

#[test]
fn a3_missing_or_null_authority_is_refused_with_its_path() {
    let mut v = base();
    object(&mut v["smartIdentityProviders"][1]).remove("authority");
    assert_refused(&v, "smartIdentityProviders[1].authority", "is required");

    let mut v = base();
    v["smartIdentityProviders"][0]["authority"] = Value::Null;
    assert_refused(&v, "smartIdentityProviders[0].authority", "is required");
}

#[test]
fn a3_empty_authority_is_refused_with_its_path() {
    for empty in ["", "   "] {
        let mut v = base();
        v["smartIdentityProviders"][0]["authority"] = json!(empty);
        assert_refused(
            &v,
            "smartIdentityProviders[0].authority",
            "must not be empty",
        );
    }
}

#[test]
fn a3_duplicate_authorities_are_refused_with_the_azure_message() {
    let mut v = base();
    v["smartIdentityProviders"][1]["authority"] = json!(IDP_ONE);
    assert_refused(
        &v,
        "smartIdentityProviders[1].authority",
        "All SMART identity provider authorities must be unique.",
    );
}

#[test]
fn a3_authorities_differing_by_one_trailing_slash_are_duplicates() {
    let mut v = base();
    v["smartIdentityProviders"][1]["authority"] = json!(format!("{IDP_ONE}/"));
    assert_refused(
        &v,
        "smartIdentityProviders[1].authority",
        "All SMART identity provider authorities must be unique.",
    );

    // A bare host is normalised to `https://host/` by the URL parser; both spellings are the same authority.
    let mut v = base();
    v["smartIdentityProviders"][0]["authority"] = json!("https://idp.example.org/");
    v["smartIdentityProviders"][1]["authority"] = json!("https://idp.example.org");
    assert_refused(
        &v,
        "smartIdentityProviders[1].authority",
        "All SMART identity provider authorities must be unique.",
    );
}

#[test]
fn a3_different_paths_on_one_host_are_distinct_authorities() {
    let mut v = base();
    v["smartIdentityProviders"][0]["authority"] = json!("https://login.example.org/tenant-a/v2.0");
    v["smartIdentityProviders"][1]["authority"] = json!("https://login.example.org/tenant-b/v2.0");
    assert_eq!(accepted(&v).smart_providers.len(), 2);
}

#[test]
fn a3_the_primary_authority_may_also_be_a_provider_authority() {
    // A3 asks for uniqueness across providers only.
    let mut v = base();
    v["smartIdentityProviders"][0]["authority"] = json!(PRIMARY_AUTHORITY);
    assert_eq!(accepted(&v).authorities().count(), 3);
}

#[test]
fn a3_q16_http_authority_is_refused_without_the_insecure_flag() {
    let mut v = base();
    v["smartIdentityProviders"][0]["authority"] = json!("http://127.0.0.1:8081/realms/test");
    assert_refused_with(
        &v,
        SECURE,
        "smartIdentityProviders[0].authority",
        "must use https; http is allowed only with --allow-insecure-http",
    );
}

#[test]
fn a3_q16_http_authority_is_accepted_with_the_insecure_flag() {
    let mut v = base();
    v["smartIdentityProviders"][0]["authority"] = json!("http://127.0.0.1:8081/realms/test");
    let config = load_with(&v, INSECURE).expect("http is allowed with the insecure flag");
    assert_eq!(
        config.smart_providers[0].authority.as_str(),
        "http://127.0.0.1:8081/realms/test"
    );
}

#[test]
fn a3_authority_that_is_not_a_url_is_refused() {
    for text in ["not a url", "idp.example.org/oauth2", "https://"] {
        let mut v = base();
        v["smartIdentityProviders"][0]["authority"] = json!(text);
        assert_refused(
            &v,
            "smartIdentityProviders[0].authority",
            "must be a fully qualified URL",
        );
    }
}

#[test]
fn a3_relative_authority_is_refused() {
    for text in [
        "/oauth2/default",
        "oauth2/default",
        "//idp.example.org/oauth2",
    ] {
        let mut v = base();
        v["smartIdentityProviders"][1]["authority"] = json!(text);
        assert_refused(
            &v,
            "smartIdentityProviders[1].authority",
            "must be a fully qualified URL",
        );
    }
}

#[test]
fn a3_non_https_scheme_is_refused_even_with_the_insecure_flag() {
    for text in [
        "ftp://idp.example.org/oauth2",
        "file:///etc/idp",
        "wss://idp.example.org",
    ] {
        let mut v = base();
        v["smartIdentityProviders"][0]["authority"] = json!(text);
        for opts in [SECURE, INSECURE] {
            assert_refused_with(
                &v,
                opts,
                "smartIdentityProviders[0].authority",
                "must be an https URL",
            );
        }
    }
}

#[test]
fn a3_authority_with_query_or_fragment_is_refused() {
    for text in [
        "https://idp.example.org/oauth2?tenant=a",
        "https://idp.example.org/oauth2?",
        "https://idp.example.org/oauth2#frag",
    ] {
        let mut v = base();
        v["smartIdentityProviders"][0]["authority"] = json!(text);
        assert_refused(
            &v,
            "smartIdentityProviders[0].authority",
            "no query or fragment",
        );
    }
}

#[test]
fn a3_authority_with_credentials_is_refused() {
    let mut v = base();
    v["smartIdentityProviders"][0]["authority"] = json!("https://user:pass@idp.example.org/oauth2");
    assert_refused(
        &v,
        "smartIdentityProviders[0].authority",
        "must not carry credentials",
    );
}

// === A4: applications (and Q1) ===

#[test]
fn a4_missing_applications_are_refused_with_the_azure_message() {
    let mut v = base();
    object(&mut v["smartIdentityProviders"][0]).remove("applications");
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications",
        "One or more SMART applications are null",
    );
}

#[test]
fn a4_null_applications_are_refused_with_the_azure_message() {
    let mut v = base();
    v["smartIdentityProviders"][1]["applications"] = Value::Null;
    assert_refused(
        &wrapped(v),
        "authenticationConfiguration.smartIdentityProviders[1].applications",
        "One or more SMART applications are null",
    );
}

#[test]
fn a4_empty_applications_are_refused_with_the_azure_message() {
    let mut v = base();
    v["smartIdentityProviders"][1]["applications"] = json!([]);
    assert_refused(
        &v,
        "smartIdentityProviders[1].applications",
        "One or more SMART applications are null",
    );
}

#[test]
fn a4_null_application_entry_is_refused_with_its_path() {
    let mut v = base();
    v["smartIdentityProviders"][0]["applications"] = json!([app("portal", "api://fhir"), null]);
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[1]",
        "One or more SMART applications are null",
    );
}

fn provider_with_applications(count: usize) -> Value {
    let apps: Vec<Value> = (0..count)
        .map(|i| app(&format!("client-{i:02}"), "fhir-api"))
        .collect();
    let mut v = base();
    v["smartIdentityProviders"][0]["applications"] = Value::Array(apps);
    v
}

#[test]
fn a4_q1_twenty_five_applications_are_accepted() {
    let config = accepted(&provider_with_applications(MAX_APPLICATIONS_PER_PROVIDER));
    assert_eq!(config.smart_providers[0].applications.len(), 25);
    assert!(config.smart_providers[0].application("client-24").is_some());
}

#[test]
fn a4_q1_twenty_six_applications_are_refused_with_its_path() {
    let v = provider_with_applications(MAX_APPLICATIONS_PER_PROVIDER + 1);
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications",
        "at most 25 applications per provider, found 26",
    );
}

// === A5: clientId ===

#[test]
fn a5_client_ids_are_kept_exactly() {
    let config = accepted(&base());
    assert!(config.smart_providers[0].application("portal").is_some());
    assert!(config.smart_providers[0].application("Portal").is_none());
    assert!(config.smart_providers[0].application("scheduler").is_none());
}

#[test]
fn a5_missing_or_null_client_id_is_refused_with_its_path() {
    let mut v = base();
    object(&mut v["smartIdentityProviders"][0]["applications"][0]).remove("clientId");
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[0].clientId",
        "is required",
    );

    let mut v = base();
    v["smartIdentityProviders"][1]["applications"][0]["clientId"] = Value::Null;
    assert_refused(
        &v,
        "smartIdentityProviders[1].applications[0].clientId",
        "is required",
    );
}

#[test]
fn a5_empty_client_id_is_refused_with_its_path() {
    for empty in ["", " \t"] {
        let mut v = base();
        v["smartIdentityProviders"][1]["applications"][0]["clientId"] = json!(empty);
        assert_refused(
            &arm(v),
            "properties.authenticationConfiguration.smartIdentityProviders[1].applications[0].clientId",
            "must not be empty",
        );
    }
}

#[test]
fn a5_duplicate_client_id_within_a_provider_is_refused_with_the_azure_message() {
    let mut v = base();
    v["smartIdentityProviders"][0]["applications"] =
        json!([app("portal", "api://fhir"), app("portal", "api://other")]);
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[1].clientId",
        "All SMART identity provider application client ids must be unique.",
    );
}

#[test]
fn a5_duplicate_client_id_across_providers_is_refused_with_the_azure_message() {
    let mut v = base();
    v["smartIdentityProviders"][1]["applications"][0]["clientId"] = json!("portal");
    assert_refused(
        &v,
        "smartIdentityProviders[1].applications[0].clientId",
        "All SMART identity provider application client ids must be unique.",
    );
}

// === A6: audience ===

#[test]
fn a6_applications_may_share_an_audience() {
    let mut v = base();
    v["smartIdentityProviders"][0]["applications"] =
        json!([app("portal", "api://fhir"), app("clinician", "api://fhir")]);
    let config = accepted(&v);
    let audiences: Vec<&str> = config.smart_providers[0]
        .applications
        .iter()
        .map(|a| a.audience.as_str())
        .collect();
    assert_eq!(audiences, ["api://fhir", "api://fhir"]);
}

#[test]
fn a6_missing_or_null_audience_is_refused_with_its_path() {
    let mut v = base();
    object(&mut v["smartIdentityProviders"][0]["applications"][0]).remove("audience");
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[0].audience",
        "is required",
    );

    let mut v = base();
    v["smartIdentityProviders"][0]["applications"][0]["audience"] = Value::Null;
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[0].audience",
        "is required",
    );
}

#[test]
fn a6_empty_audience_is_refused_with_its_path() {
    let mut v = base();
    v["smartIdentityProviders"][1]["applications"][0]["audience"] = json!("");
    assert_refused(
        &v,
        "smartIdentityProviders[1].applications[0].audience",
        "must not be empty",
    );
}

#[test]
fn a6_whitespace_audience_is_refused_with_its_path() {
    let mut v = base();
    v["smartIdentityProviders"][1]["applications"][0]["audience"] = json!(" \n ");
    assert_refused(
        &wrapped(v),
        "authenticationConfiguration.smartIdentityProviders[1].applications[0].audience",
        "must not be empty",
    );
}

// === A7: allowedDataActions ===

const A7_INVALID: &str = "One or more SMART application allowedDataActions values are invalid";

fn with_actions(actions: Value) -> Value {
    let mut v = base();
    v["smartIdentityProviders"][1]["applications"][0]["allowedDataActions"] = actions;
    v
}

#[test]
fn a7_read_is_accepted_and_allows_reading() {
    let config = accepted(&base());
    let app = &config.smart_providers[1].applications[0];
    assert_eq!(app.allowed_data_actions, [DataAction::Read]);
    assert!(app.may_read());
}

#[test]
fn a7_missing_allowed_data_actions_is_refused_with_its_path() {
    let mut v = base();
    object(&mut v["smartIdentityProviders"][1]["applications"][0]).remove("allowedDataActions");
    assert_refused(
        &v,
        "smartIdentityProviders[1].applications[0].allowedDataActions",
        "must be a non-empty array",
    );
    assert_refused(
        &with_actions(Value::Null),
        "smartIdentityProviders[1].applications[0].allowedDataActions",
        "must be a non-empty array",
    );
}

#[test]
fn a7_empty_allowed_data_actions_is_refused_with_its_path() {
    assert_refused(
        &with_actions(json!([])),
        "smartIdentityProviders[1].applications[0].allowedDataActions",
        "must be a non-empty array",
    );
}

#[test]
fn a7_duplicate_read_is_refused_with_its_path() {
    let msg = assert_refused(
        &with_actions(json!(["Read", "Read"])),
        "smartIdentityProviders[1].applications[0].allowedDataActions[1]",
        A7_INVALID,
    );
    assert!(msg.contains("duplicate"), "got `{msg}`");
}

#[test]
fn a7_write_is_refused_with_the_azure_message() {
    assert_refused(
        &with_actions(json!(["Write"])),
        "smartIdentityProviders[1].applications[0].allowedDataActions[0]",
        A7_INVALID,
    );
    assert_refused(
        &with_actions(json!(["Read", "Write"])),
        "smartIdentityProviders[1].applications[0].allowedDataActions[1]",
        A7_INVALID,
    );
}

#[test]
fn a7_values_are_case_sensitive() {
    for wrong in ["read", "READ", " Read", "Read "] {
        assert_refused(
            &with_actions(json!([wrong])),
            "smartIdentityProviders[1].applications[0].allowedDataActions[0]",
            A7_INVALID,
        );
    }
}

#[test]
fn a7_null_or_non_string_action_is_refused_with_its_path() {
    assert_refused(
        &with_actions(json!([null])),
        "smartIdentityProviders[1].applications[0].allowedDataActions[0]",
        A7_INVALID,
    );
    assert_refused(
        &with_actions(json!(["Read", 1])),
        "smartIdentityProviders[1].applications[0].allowedDataActions[1]",
        "invalid type: integer `1`, expected a string",
    );
}

// === A8: smartProxyEnabled ===

#[test]
fn a8_smart_proxy_enabled_is_kept() {
    let mut v = base();
    v["smartProxyEnabled"] = json!(true);
    assert!(accepted(&v).smart_proxy_enabled);
    assert!(accepted(&arm(v)).smart_proxy_enabled);

    assert!(!accepted(&base()).smart_proxy_enabled);

    let mut v = base();
    object(&mut v).remove("smartProxyEnabled");
    assert!(!accepted(&v).smart_proxy_enabled);
}

#[test]
fn a8_smart_proxy_enabled_must_be_a_boolean() {
    for wrong in [json!("yes"), json!(1), json!([true])] {
        let mut v = base();
        v["smartProxyEnabled"] = wrong;
        assert_refused(&v, "smartProxyEnabled", "expected a boolean");
    }
    let mut v = base();
    v["smartProxyEnabled"] = json!("true");
    assert_refused(
        &arm(v),
        "properties.authenticationConfiguration.smartProxyEnabled",
        "expected a boolean",
    );
}

// === A9: the Azure error texts, verbatim ===

#[test]
fn a9_errors_reuse_the_azure_texts_after_the_path() {
    let mut three = base();
    three["smartIdentityProviders"]
        .as_array_mut()
        .expect("providers is an array")
        .push(json!({ "authority": "https://idp-three.example.org", "applications": [app("c", "a")] }));
    let mut same_authority = base();
    same_authority["smartIdentityProviders"][1]["authority"] = json!(IDP_ONE);
    let mut same_client = base();
    same_client["smartIdentityProviders"][1]["applications"][0]["clientId"] = json!("portal");
    let mut null_apps = base();
    null_apps["smartIdentityProviders"][0]["applications"] = Value::Null;
    let cases = [
        (
            three,
            "smartIdentityProviders",
            "The maximum number of SMART identity providers is 2.",
        ),
        (
            same_authority,
            "smartIdentityProviders[1].authority",
            "All SMART identity provider authorities must be unique.",
        ),
        (
            same_client,
            "smartIdentityProviders[1].applications[0].clientId",
            "All SMART identity provider application client ids must be unique.",
        ),
        (
            with_actions(json!(["Write"])),
            "smartIdentityProviders[1].applications[0].allowedDataActions[0]",
            "One or more SMART application allowedDataActions values are invalid",
        ),
        (
            null_apps,
            "smartIdentityProviders[0].applications",
            "One or more SMART applications are null",
        ),
    ];
    for (v, path, text) in &cases {
        assert_refused(v, path, text);
    }
}

// === the `proxy` object (Q10, Q15, Q8, D6) ===

#[test]
fn proxy_object_is_read_at_the_top_level_of_every_shape() {
    let settings = json!({
        "primarySmartMode": "enforce",
        "clockLeewaySeconds": 60,
        "requireAtJwtTyp": true,
        "fhirBaseUrl": "https://fhir.example.org/r4"
    });
    let mut bare = base();
    object(&mut bare).insert("proxy".into(), settings.clone());
    let mut wrapped_v = wrapped(base());
    object(&mut wrapped_v).insert("proxy".into(), settings.clone());
    let mut arm_v = arm(base());
    object(&mut arm_v).insert("proxy".into(), settings);
    for v in [bare, wrapped_v, arm_v] {
        let config = accepted(&v);
        // The older name of primaryAuthorization, with its older value.
        assert_eq!(config.roles.mode, PrimaryAuthorization::Smart);
        let file = config.file_settings;
        assert_eq!(file.clock_leeway_seconds, Some(60));
        assert_eq!(file.require_at_jwt_typ, Some(true));
        assert_eq!(
            file.fhir_base_url.as_ref().map(Url::as_str),
            Some("https://fhir.example.org/r4")
        );
    }
}

#[test]
fn proxy_object_is_optional() {
    let config = accepted(&base());
    assert_eq!(config.roles.mode, PrimaryAuthorization::Roles);
    assert!(config.roles.roles.is_empty());
    let file = config.file_settings;
    assert_eq!(file.clock_leeway_seconds, None);
    assert_eq!(file.require_at_jwt_typ, None);
    assert!(file.fhir_base_url.is_none());
}

#[test]
fn q15_clock_leeway_of_600_seconds_is_accepted() {
    for leeway in [0, MAX_CLOCK_LEEWAY_SECS] {
        let mut v = wrapped(base());
        object(&mut v).insert("proxy".into(), json!({ "clockLeewaySeconds": leeway }));
        assert_eq!(
            accepted(&v).file_settings.clock_leeway_seconds,
            Some(leeway)
        );
    }
}

#[test]
fn q15_clock_leeway_of_601_seconds_is_refused_with_its_path() {
    let mut v = wrapped(base());
    object(&mut v).insert("proxy".into(), json!({ "clockLeewaySeconds": 601 }));
    assert_refused(&v, "proxy.clockLeewaySeconds", "must be 0..=600");

    let mut v = base();
    object(&mut v).insert("proxy".into(), json!({ "clockLeewaySeconds": 601 }));
    assert_refused(&v, "proxy.clockLeewaySeconds", "must be 0..=600");
}

#[test]
fn q15_negative_clock_leeway_is_refused_with_its_path() {
    let mut v = arm(base());
    object(&mut v).insert("proxy".into(), json!({ "clockLeewaySeconds": -1 }));
    assert_refused(
        &v,
        "proxy.clockLeewaySeconds",
        "invalid value: integer `-1`",
    );
}

#[test]
fn proxy_errors_inside_the_wrapped_configuration_carry_that_path() {
    // The code accepts a `proxy` object inside a wrapped authenticationConfiguration; its errors must then point there.
    let mut auth = base();
    object(&mut auth).insert("proxy".into(), json!({ "clockLeewaySeconds": 601 }));
    assert_refused(
        &wrapped(auth.clone()),
        "authenticationConfiguration.proxy.clockLeewaySeconds",
        "must be 0..=600",
    );
    assert_refused(
        &arm(auth),
        "properties.authenticationConfiguration.proxy.clockLeewaySeconds",
        "must be 0..=600",
    );

    let mut auth = base();
    object(&mut auth).insert("proxy".into(), json!({ "fhirBaseUrl": "/r4" }));
    assert_refused(
        &wrapped(auth),
        "authenticationConfiguration.proxy.fhirBaseUrl",
        "absolute http(s) URL",
    );

    let mut auth = base();
    object(&mut auth).insert("proxy".into(), json!({ "leeway": 1 }));
    assert_refused(
        &wrapped(auth),
        "authenticationConfiguration.proxy.leeway",
        "unknown field `leeway`",
    );
}

#[test]
fn proxy_object_both_at_top_level_and_inside_the_configuration_is_refused() {
    let mut auth = base();
    object(&mut auth).insert("proxy".into(), json!({ "clockLeewaySeconds": 30 }));

    let mut v = wrapped(auth.clone());
    object(&mut v).insert("proxy".into(), json!({ "clockLeewaySeconds": 60 }));
    assert_refused(
        &v,
        "authenticationConfiguration.proxy",
        "the proxy object may appear once, at the file's top level",
    );

    let mut v = arm(auth);
    object(&mut v).insert("proxy".into(), json!({ "clockLeewaySeconds": 60 }));
    assert_refused(
        &v,
        "properties.authenticationConfiguration.proxy",
        "the proxy object may appear once, at the file's top level",
    );
}

#[test]
fn proxy_object_unknown_field_is_refused_with_its_path() {
    let mut v = wrapped(base());
    object(&mut v).insert("proxy".into(), json!({ "clockLeeway": 60 }));
    assert_refused(&v, "proxy.clockLeeway", "unknown field `clockLeeway`");

    let mut v = base();
    object(&mut v).insert("proxy".into(), json!({ "leewaySeconds": 60 }));
    assert_refused(&v, "proxy.leewaySeconds", "unknown field `leewaySeconds`");
}

#[test]
fn proxy_object_wrong_types_are_refused_with_their_path() {
    let mut v = wrapped(base());
    object(&mut v).insert("proxy".into(), json!({ "primarySmartMode": "strict" }));
    assert_refused(&v, "proxy.primarySmartMode", "unknown variant `strict`");

    let mut v = base();
    object(&mut v).insert("proxy".into(), json!({ "requireAtJwtTyp": "yes" }));
    assert_refused(&v, "proxy.requireAtJwtTyp", "expected a boolean");

    let mut v = wrapped(base());
    object(&mut v).insert("proxy".into(), json!("passthrough"));
    assert_refused(&v, "proxy", "invalid type: string");
}

#[test]
fn d6_proxy_fhir_base_url_must_be_an_absolute_http_url() {
    for bad in ["fhir.example.org/r4", "/r4", "ftp://fhir.example.org/r4"] {
        let mut v = wrapped(base());
        object(&mut v).insert("proxy".into(), json!({ "fhirBaseUrl": bad }));
        assert_refused(&v, "proxy.fhirBaseUrl", "must be an absolute http(s) URL");
    }
}

// === T19: each vector of the suggested test list fails to load ===

#[test]
fn t19_each_suggested_invalid_config_fails_to_load() {
    let mut three_providers = base();
    three_providers["smartIdentityProviders"]
        .as_array_mut()
        .expect("providers is an array")
        .push(json!({ "authority": "https://idp-three.example.org", "applications": [app("c", "a")] }));
    let mut duplicate_client = base();
    duplicate_client["smartIdentityProviders"][1]["applications"][0]["clientId"] = json!("portal");
    let vectors = [
        three_providers,
        duplicate_client,
        with_actions(json!(["Read", "Read"])),
        with_actions(json!(["Write"])),
        provider_with_applications(26),
    ];
    for v in &vectors {
        assert!(load_with(v, SECURE).is_err(), "must not load:\n{v:#}");
    }
}

// === the sample files in config/ ===

#[test]
fn sample_azure_arm_is_the_shared_example() {
    let config = sample_file("azure-arm.json");
    assert_is_the_example(&config);
    assert_eq!(
        config.path_prefix,
        "properties.authenticationConfiguration."
    );
}

#[test]
fn sample_wrapped_has_two_providers_and_proxy_settings() {
    let config = sample_file("wrapped.json");
    assert_eq!(config.path_prefix, "authenticationConfiguration.");
    assert!(config.primary.is_some());
    assert_eq!(config.smart_providers.len(), 2);
    assert_eq!(config.smart_providers[0].applications.len(), 3);
    assert_eq!(config.roles.mode, PrimaryAuthorization::Passthrough);
    assert_eq!(config.file_settings.clock_leeway_seconds, Some(120));
}

#[test]
fn sample_smart_only_has_one_provider_and_no_primary_authority() {
    let config = sample_file("smart-only.json");
    assert_eq!(config.path_prefix, "");
    assert!(config.primary.is_none());
    assert_eq!(config.smart_providers.len(), 1);
}

#[test]
fn samples_use_https_authorities_only() {
    for name in ["azure-arm.json", "wrapped.json", "smart-only.json"] {
        let config = sample_file(name);
        for (_, authority) in config.authorities() {
            assert!(
                authority.as_str().starts_with("https://"),
                "config/{name}: {authority}"
            );
        }
    }
}

// === roles for primary-authority tokens (Q10) ===

fn with_proxy(proxy: Value) -> Value {
    let mut v = base();
    object(&mut v).insert("proxy".into(), proxy);
    v
}

#[test]
fn q10_roles_are_read_like_roles_json_and_not_data_actions_subtract() {
    let config = accepted(&with_proxy(json!({
        "roles": [
            {"name": "globalReader", "dataActions": ["read"], "notDataActions": [], "scopes": ["/"]},
            {"name": "allButDelete", "dataActions": ["*"], "notDataActions": ["delete", "hardDelete"], "scopes": ["/"]},
            {"name": "exporter", "dataActions": ["read", "export"]}
        ],
        "rolesClaim": "realm_access.roles"
    })));
    use roles::{Actions, RoleAction};
    let r = &config.roles;
    assert_eq!(r.mode, PrimaryAuthorization::Roles);
    assert_eq!(r.claim.text(), "realm_access.roles");
    assert_eq!(r.roles[0].actions, Actions::of(RoleAction::Read));
    let all_but = r.roles[1].actions;
    assert!(all_but.contains(Actions::of(RoleAction::Write)));
    assert!(!all_but.contains(Actions::of(RoleAction::Delete)));
    assert!(!all_but.contains(Actions::of(RoleAction::HardDelete)));
    assert_eq!(r.position("exporter"), Some(2));
    assert_eq!(r.position("Exporter"), None);
    assert_eq!(r.warning(true, r.mode), None);
}

#[test]
fn q10_bad_roles_are_refused_with_their_path() {
    let cases = [
        (
            json!({"roles": [{"name": "a", "dataActions": ["reed"]}]}),
            "proxy.roles[0].dataActions[0]",
            "\"reed\" is not a data action",
        ),
        (
            json!({"roles": [{"name": "a", "dataActions": ["read"], "notDataActions": ["read", "nope"]}]}),
            "proxy.roles[0].notDataActions[1]",
            "not a data action",
        ),
        (
            json!({"roles": [{"name": "a", "dataActions": ["read", "read"]}]}),
            "proxy.roles[0].dataActions[1]",
            "listed twice",
        ),
        (
            json!({"roles": [{"name": "a", "dataActions": ["read"]}, {"name": "a", "dataActions": ["write"]}]}),
            "proxy.roles[1].name",
            "already defined at proxy.roles[0]",
        ),
        (
            json!({"roles": [{"name": "a", "dataActions": ["read"], "scopes": ["/Patient"]}]}),
            "proxy.roles[0].scopes[0]",
            "only \"/\"",
        ),
        (
            json!({"roles": [{"name": "a", "dataActions": ["read"], "scopes": ["/", "/x"]}]}),
            "proxy.roles[0].scopes[1]",
            "only \"/\"",
        ),
        (
            json!({"roles": [{"name": "a", "dataActions": []}]}),
            "proxy.roles[0].dataActions",
            "at least one",
        ),
        (
            json!({"roles": [{"dataActions": ["read"]}]}),
            "proxy.roles[0].name",
            "is required",
        ),
        (
            json!({"roles": [{"name": " a", "dataActions": ["read"]}]}),
            "proxy.roles[0].name",
            "whitespace",
        ),
        (
            json!({"roles": [{"name": "a", "dataActions": ["read"], "extra": 1}]}),
            "proxy.roles[0].extra",
            "unknown field `extra`",
        ),
        (
            json!({"rolesClaim": "realm_access..roles"}),
            "proxy.rolesClaim",
            "dotted path",
        ),
        (
            json!({"primaryAuthorization": "roles", "primarySmartMode": "enforce"}),
            "proxy.primarySmartMode",
            "older name",
        ),
        (
            json!({"primaryAuthorization": "rbac"}),
            "proxy.primaryAuthorization",
            "unknown variant `rbac`",
        ),
        (
            json!({"providers": [{"authority": IDP_ONE, "rolesClaim": "groups"}]}),
            "proxy.providers[0].rolesClaim",
            "only the primary authority",
        ),
    ];
    for (proxy, path, text) in cases {
        let mut v = wrapped(base());
        object(&mut v).insert("proxy".into(), proxy);
        assert_refused(&v, path, text);
    }
}

#[test]
fn q10_the_mode_defaults_to_roles_and_the_old_name_still_works() {
    let config = accepted(&with_proxy(json!({"primarySmartMode": "passthrough"})));
    assert_eq!(config.roles.mode, PrimaryAuthorization::Passthrough);
    let config = accepted(&with_proxy(
        json!({"primaryAuthorization": "smart", "primarySmartMode": "enforce"}),
    ));
    assert_eq!(config.roles.mode, PrimaryAuthorization::Smart);
    let config = accepted(&base());
    assert_eq!(config.roles.mode, PrimaryAuthorization::Roles);
    assert_eq!(config.roles.claim.text(), "roles");
    // No roles and the default mode: primary tokens can do nothing, and the warning says so.
    assert!(config
        .roles
        .warning(true, config.roles.mode)
        .is_some_and(|w| w.contains("403")));
    assert_eq!(
        config
            .roles
            .warning(true, PrimaryAuthorization::Passthrough),
        None
    );
    assert_eq!(config.roles.warning(false, config.roles.mode), None);
    // A per-provider roles claim for the primary authority wins over the global one.
    let config = accepted(&with_proxy(json!({
        "rolesClaim": "groups",
        "providers": [{"authority": PRIMARY_AUTHORITY, "rolesClaim": "realm_access.roles"}]
    })));
    assert_eq!(config.roles.claim.text(), "realm_access.roles");
}

// === every error at once, and errors that explain themselves ===

#[test]
fn a9_every_error_of_the_file_is_reported_at_once_with_its_path() {
    let v = json!({
        "authority": PRIMARY_AUTHORITY,
        "audience": " ",
        "smartIdentityProviders": [
            { "authority": IDP_ONE, "applications": [app("a", ""), app("b", "x")] },
            { "authority": format!("{IDP_ONE}/"), "applications": [app("a", "y"), app("c ", "z")] }
        ]
    });
    let msg = match load_with(&v, SECURE) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string(),
    };
    let lines: Vec<&str> = msg.lines().collect();
    for expected in [
        "audience: must not be empty",
        "smartIdentityProviders[0].applications[0].audience: must not be empty",
        "smartIdentityProviders[1].authority: All SMART identity provider authorities must be unique. \"",
        "once normalised",
        "smartIdentityProviders[1].applications[0].clientId: All SMART identity provider application client ids must be unique. clientId \"a\" at smartIdentityProviders[1].applications[0] is also at smartIdentityProviders[0].applications[0].",
        "smartIdentityProviders[1].applications[1].clientId: must not start or end with whitespace",
    ] {
        assert!(msg.contains(expected), "missing `{expected}` in:\n{msg}");
    }
    assert_eq!(lines.len(), 5, "{msg}");
    assert!(!msg.contains("(rule"), "{msg}");
}

#[test]
fn a3_a5_a6_whitespace_and_discovery_urls_are_refused_offline() {
    let mut v = base();
    v["smartIdentityProviders"][0]["applications"][0]["clientId"] = json!(" portal");
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[0].clientId",
        "whitespace",
    );
    let mut v = base();
    v["smartIdentityProviders"][0]["applications"][0]["audience"] = json!("api://fhir\n");
    assert_refused(
        &v,
        "smartIdentityProviders[0].applications[0].audience",
        "whitespace",
    );
    let mut v = base();
    v["audience"] = json!("https://fhir.example ");
    assert_refused(&v, "audience", "whitespace");
    let mut v = base();
    v["smartIdentityProviders"][1]["authority"] = json!(format!(" {IDP_TWO}"));
    assert_refused(&v, "smartIdentityProviders[1].authority", "whitespace");
    let mut v = base();
    v["smartIdentityProviders"][1]["authority"] =
        json!(format!("{IDP_TWO}/.well-known/openid-configuration"));
    assert_refused(
        &v,
        "smartIdentityProviders[1].authority",
        "names the discovery document",
    );
    let mut v = base();
    v["authority"] = json!(format!(
        "{PRIMARY_AUTHORITY}/.well-known/openid-configuration/"
    ));
    assert_refused(
        &v,
        "authority",
        "the proxy appends /.well-known/openid-configuration",
    );
}

// === corsConfiguration, where ARM puts it ===

#[test]
fn cors_configuration_is_read_beside_the_authentication_configuration_or_in_proxy() {
    let cors = json!({"origins": ["https://app.example"], "headers": ["*"], "methods": ["GET"], "maxAge": 600});
    let mut arm_v = arm(base());
    arm_v["properties"]["corsConfiguration"] = cors.clone();
    let mut wrapped_v = wrapped(base());
    wrapped_v["corsConfiguration"] = cors.clone();
    let mut bare = base();
    object(&mut bare).insert("proxy".into(), json!({"corsConfiguration": cors.clone()}));
    for v in [arm_v, wrapped_v, bare] {
        let c = accepted(&v).cors.expect("cors settings");
        assert!(
            c.allows("https://app.example") && !c.allows("https://other.example"),
            "{v}"
        );
        assert_eq!(c.max_age, Some(600));
    }
    assert!(accepted(&base()).cors.is_none());
    // Validated like the rest, with the path where it was found.
    let mut bad = arm(base());
    bad["properties"]["corsConfiguration"] = json!({"origins": ["https://app.example/"]});
    assert_refused(
        &bad,
        "properties.corsConfiguration.origins[0]",
        "end with '/'",
    );
    let mut bad = wrapped(base());
    bad["corsConfiguration"] = json!({"origins": ["*"], "allowCredentials": true});
    assert_refused(&bad, "corsConfiguration.allowCredentials", "wildcard");
    let mut twice = wrapped(base());
    twice["corsConfiguration"] = cors.clone();
    twice["proxy"] = json!({"corsConfiguration": cors});
    assert_refused(&twice, "corsConfiguration", "may appear once");
}

#[test]
fn smart_configuration_names_a_smart_provider_and_known_capabilities() {
    let with = |sc: Value| {
        let mut v = base();
        object(&mut v).insert("proxy".into(), json!({"smartConfiguration": sc}));
        v
    };
    let c = accepted(&with(json!({"authority": IDP_TWO})))
        .smart_configuration
        .expect("set");
    assert_eq!(c.provider, 1);
    assert!(c.capabilities.contains(&"launch-standalone".to_string()));
    assert_refused(
        &with(json!({})),
        "proxy.smartConfiguration.authority",
        "two SMART identity providers",
    );
    assert_refused(
        &with(json!({"authority": PRIMARY_AUTHORITY})),
        "proxy.smartConfiguration.authority",
        "does not name",
    );
    assert_refused(
        &with(json!({"authority": IDP_ONE, "capabilities": ["launch-standalone", "teleport"]})),
        "proxy.smartConfiguration.capabilities[1]",
        "not a SMART App Launch capability",
    );
    let mut one = base();
    one["smartIdentityProviders"]
        .as_array_mut()
        .expect("providers")
        .truncate(1);
    object(&mut one).insert(
        "proxy".into(),
        json!({"smartConfiguration": {"capabilities": ["launch-standalone"]}}),
    );
    assert_eq!(accepted(&one).smart_configuration.expect("set").provider, 0);
}
