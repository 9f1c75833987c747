//! What a SMART app reads before it launches (SMART App Launch 2.x): `[base]/.well-known/smart-configuration`,
//! answered by the proxy itself, and the CapabilityStatement's `rest[].security`, added to the server's.
//!
//! In: the discovery document of the identity provider `proxy.smartConfiguration` names (kept with its keys, so it
//! is refreshed with them) and the configured capabilities. Out: JSON. Pure.

use serde_json::{json, Map, Value};

use crate::config::smart_configuration::SmartConfiguration;

/// Scopes every SMART app may ask for here, besides those the provider lists.
const SMART_SCOPES: [&str; 9] = [
    "openid",
    "fhirUser",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.rs",
    "patient/*.read",
    "user/*.rs",
    "user/*.read",
];

/// The `smart-configuration` document, from the provider's discovery document; `None` when it lacks an
/// authorization or token endpoint (an app could not launch).
pub fn smart_configuration(discovery: &Value, settings: &SmartConfiguration) -> Option<Value> {
    let field = |name: &str| discovery.get(name).filter(|v| !v.is_null()).cloned();
    let authorization = field("authorization_endpoint")?;
    let token = field("token_endpoint")?;
    let mut scopes: Vec<Value> = discovery["scopes_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for s in SMART_SCOPES {
        if !scopes.iter().any(|v| v == s) {
            scopes.push(json!(s));
        }
    }
    let mut out = Map::new();
    out.insert("issuer".into(), field("issuer").unwrap_or(Value::Null));
    out.insert("jwks_uri".into(), field("jwks_uri").unwrap_or(Value::Null));
    out.insert("authorization_endpoint".into(), authorization);
    out.insert("token_endpoint".into(), token);
    out.insert(
        "grant_types_supported".into(),
        field("grant_types_supported").unwrap_or_else(|| json!(["authorization_code"])),
    );
    out.insert(
        "token_endpoint_auth_methods_supported".into(),
        field("token_endpoint_auth_methods_supported")
            .unwrap_or_else(|| json!(["client_secret_basic"])),
    );
    out.insert("scopes_supported".into(), Value::Array(scopes));
    out.insert(
        "response_types_supported".into(),
        field("response_types_supported").unwrap_or_else(|| json!(["code"])),
    );
    // SMART requires PKCE with S256 and forbids plain.
    out.insert("code_challenge_methods_supported".into(), json!(["S256"]));
    out.insert("capabilities".into(), json!(settings.capabilities));
    for optional in [
        "introspection_endpoint",
        "revocation_endpoint",
        "registration_endpoint",
        "userinfo_endpoint",
    ] {
        if let Some(v) = field(optional) {
            out.insert(optional.into(), v);
        }
    }
    Some(Value::Object(out))
}

/// The SMART `oauth-uris` extension and the `SMART-on-FHIR` service, in every `rest[]` of a CapabilityStatement
/// (replacing any the server wrote). Returns whether it was a CapabilityStatement.
pub fn add_security(capability: &mut Value, authorize: &str, token: &str) -> bool {
    if capability["resourceType"] != "CapabilityStatement" {
        return false;
    }
    let security = json!({
        "service": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
            "code": "SMART-on-FHIR"
        }], "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)"}],
        "extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [
                {"url": "authorize", "valueUri": authorize},
                {"url": "token", "valueUri": token}
            ]
        }]
    });
    if let Some(rests) = capability.get_mut("rest").and_then(Value::as_array_mut) {
        for rest in rests {
            if let Some(obj) = rest.as_object_mut() {
                obj.insert("security".into(), security.clone());
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smart_configuration_carries_every_field_smart_app_launch_lists() {
        let discovery = json!({"issuer": "https://idp/smart", "jwks_uri": "https://idp/smart/jwks",
            "authorization_endpoint": "https://idp/smart/auth", "token_endpoint": "https://idp/smart/token",
            "grant_types_supported": ["authorization_code", "refresh_token"], "scopes_supported": ["openid", "profile"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
            "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256", "plain"]});
        let settings = SmartConfiguration {
            provider: 0,
            capabilities: vec!["launch-standalone".into(), "client-public".into()],
        };
        let c = smart_configuration(&discovery, &settings).expect("document");
        for field in [
            "issuer",
            "jwks_uri",
            "authorization_endpoint",
            "token_endpoint",
            "grant_types_supported",
            "code_challenge_methods_supported",
            "token_endpoint_auth_methods_supported",
            "scopes_supported",
            "response_types_supported",
            "capabilities",
        ] {
            assert!(!c[field].is_null(), "{field}: {c}");
        }
        assert_eq!(c["code_challenge_methods_supported"], json!(["S256"]));
        assert!(c["scopes_supported"]
            .as_array()
            .expect("scopes")
            .contains(&json!("launch/patient")));
        assert!(smart_configuration(&json!({"issuer": "x"}), &settings).is_none());
        let mut cs = json!({"resourceType": "CapabilityStatement", "rest": [{"mode": "server"}]});
        assert!(add_security(
            &mut cs,
            "https://idp/auth",
            "https://idp/token"
        ));
        assert_eq!(
            cs["rest"][0]["security"]["extension"][0]["extension"][1]["valueUri"],
            "https://idp/token"
        );
        assert!(!add_security(
            &mut json!({"resourceType": "Patient"}),
            "a",
            "b"
        ));
    }
}
