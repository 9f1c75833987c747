//! SMART authorization of a verified token for one request (rules F1, F4, D6, D7).
//!
//! In: a [`VerifiedToken`], the request method and path, and the public FHIR base URL if configured.
//! Out: `Ok(())` to forward, or [`Forbidden`] (403 `insufficient_scope`). Pure: no I/O.
//!
//! This is the foundation's part of SMART: the application's `allowedDataActions` (only `Read` exists, so
//! GET/HEAD only) and the `fhirUser` base. The scope grammar, per-interaction decisions and compartments build on it.

use http::Method;
use url::Url;

use crate::error::Forbidden;
use crate::token::VerifiedToken;

/// F1: the paths anyone may read without a token (relative to the proxy's root).
pub fn is_public(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && matches!(path, "/metadata" | "/.well-known/smart-configuration")
}

/// F4, D6, D7: may this verified token make a request with this method?
pub fn authorize(
    token: &VerifiedToken,
    method: &Method,
    fhir_base_url: Option<&Url>,
) -> Result<(), Forbidden> {
    if !token.smart {
        // Q10: primary-authority tokens pass through after authentication.
        return Ok(());
    }
    // D6: an absolute fhirUser must name a resource of this server, when the operator told us its base.
    if let (Some(base), Some(user)) = (fhir_base_url, &token.fhir_user) {
        if let Some(user_base) = &user.base {
            if user_base.trim_end_matches('/') != base.as_str().trim_end_matches('/') {
                return Err(Forbidden::FhirUserOutsideServer);
            }
        }
    }
    // F4, A7: `Read` is the only data action, and it means GET (HEAD is a GET without the body).
    if method != Method::GET && method != Method::HEAD {
        return Err(Forbidden::ReadOnly {
            client: token.client_id.clone().unwrap_or_default(),
            method: method.as_str().chars().take(16).collect(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthorityRole;
    use crate::token::FhirUser;

    fn token(smart: bool, fhir_user: &str) -> VerifiedToken {
        VerifiedToken {
            role: if smart {
                AuthorityRole::Smart(0)
            } else {
                AuthorityRole::Primary
            },
            issuer: "https://idp".into(),
            application: smart.then_some(0),
            subject: Some("s".into()),
            client_id: Some("portal".into()),
            scopes: Some("patient/*.read".into()),
            fhir_user: FhirUser::parse(fhir_user),
            expires_at: 0.0,
            smart,
        }
    }

    #[test]
    fn f1_metadata_and_smart_configuration_are_public() {
        assert!(is_public(&Method::GET, "/metadata"));
        assert!(is_public(&Method::GET, "/.well-known/smart-configuration"));
        assert!(!is_public(&Method::POST, "/metadata"));
        assert!(!is_public(&Method::GET, "/Patient"));
        assert!(!is_public(&Method::GET, "/metadata/x"));
    }

    #[test]
    fn f4_read_only_application_may_get_but_not_write() {
        let t = token(true, "Patient/1");
        assert!(authorize(&t, &Method::GET, None).is_ok());
        assert!(authorize(&t, &Method::HEAD, None).is_ok());
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(
                matches!(authorize(&t, &m, None), Err(Forbidden::ReadOnly { .. })),
                "{m}"
            );
        }
    }

    #[test]
    fn q10_primary_tokens_pass_through() {
        assert!(authorize(&token(false, "Patient/1"), &Method::POST, None).is_ok());
    }

    #[test]
    fn d6_absolute_fhir_user_must_be_on_this_server() {
        let base = Url::parse("https://fhir.example/r4").ok();
        let here = token(true, "https://fhir.example/r4/Patient/1");
        assert!(authorize(&here, &Method::GET, base.as_ref()).is_ok());
        let there = token(true, "https://other.example/r4/Patient/1");
        assert_eq!(
            authorize(&there, &Method::GET, base.as_ref()),
            Err(Forbidden::FhirUserOutsideServer)
        );
        // Without a configured base, nothing to compare with.
        assert!(authorize(&there, &Method::GET, None).is_ok());
    }
}
