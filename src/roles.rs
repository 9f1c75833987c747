//! Role-based authorization of primary-authority tokens (rule Q10), as microsoft/fhir-server decides it from
//! `roles.json`: each interaction needs a data action, and the token's roles must grant it.
//!
//! ```text
//! FhirRequest (+ the Bundle of a batch) ──needed──▶ Actions ──RoleGrant covers?──▶ forward, or 403
//! ```
//!
//! In: the classified request (and, for a batch or transaction, its Bundle's bytes) and the token's [`RoleGrant`].
//! Out: `Ok(())`, or [`Forbidden::MissingAction`] naming the first missing action. Pure: no I/O.

use http::Method;

use crate::config::roles::{Actions, RoleAction};
use crate::error::{BundleError, Forbidden};
use crate::fhir::query::Query;
use crate::fhir::request::{self, FhirRequest, Interaction};
use crate::token::RoleGrant;

/// The largest batch or transaction Bundle the proxy reads to authorize its entries.
pub const MAX_BUNDLE_BYTES: usize = 8 * 1024 * 1024;

/// Resource types whose writes also need `editProfileDefinitions` (the profile and terminology definitions the
/// server validates against, as in microsoft/fhir-server).
const PROFILE_DEFINITION_TYPES: [&str; 3] = ["CodeSystem", "StructureDefinition", "ValueSet"];

/// Operations that only read, and may be invoked with GET or POST.
const READ_OPERATIONS: [&str; 11] = [
    "everything",
    "lastn",
    "expand",
    "lookup",
    "validate-code",
    "translate",
    "subsumes",
    "docref",
    "meta",
    "stats",
    "versions",
];

/// What a request needs, or the request is a batch whose entries decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    Actions(Actions),
    /// `POST /` with a batch or transaction Bundle: see [`needed_for_bundle`].
    BundleEntries,
}

fn one(action: RoleAction) -> Actions {
    Actions::of(action)
}

/// Q10: the data actions `request` needs.
pub fn needed(request: &FhirRequest, method: &Method) -> Needed {
    let hard = hard_delete(&request.query);
    let write = |ty: Option<&str>| {
        let mut a = one(RoleAction::Write);
        if ty == Some("SearchParameter") {
            a = a.with(one(RoleAction::SearchParameter));
        }
        if ty.is_some_and(|t| PROFILE_DEFINITION_TYPES.contains(&t)) {
            a = a.with(one(RoleAction::EditProfileDefinitions));
        }
        a
    };
    let delete = || {
        let a = one(RoleAction::Delete);
        if hard {
            a.with(one(RoleAction::HardDelete))
        } else {
            a
        }
    };
    Needed::Actions(match &request.interaction {
        Interaction::Capabilities
        | Interaction::Read
        | Interaction::VRead
        | Interaction::HistoryInstance
        | Interaction::HistoryType
        | Interaction::HistorySystem
        | Interaction::SearchType
        | Interaction::SearchSystem
        | Interaction::Continuation
        | Interaction::SearchCompartment { .. }
        | Interaction::SearchPost => one(RoleAction::Read),
        Interaction::Create | Interaction::Update | Interaction::Patch => {
            write(request.resource_type)
        }
        Interaction::Delete => delete(),
        Interaction::Batch => return Needed::BundleEntries,
        Interaction::Operation(name) => match name.as_str() {
            "export" => one(RoleAction::Export),
            "validate" => one(RoleAction::ResourceValidate),
            "reindex" => one(RoleAction::Reindex),
            "convert-data" => one(RoleAction::ConvertData),
            "import" => one(RoleAction::Import),
            "bulk-delete" => one(RoleAction::BulkOperator).with(delete()),
            n if READ_OPERATIONS.contains(&n) => one(RoleAction::Read),
            // FHIR allows GET only for operations that change nothing.
            _ if method == Method::GET || method == Method::HEAD => one(RoleAction::Read),
            // An operation the proxy does not know may change anything: only a role with every action.
            _ => Actions::all(),
        },
    })
}

/// `_hardDelete` (microsoft/fhir-server), `_purgeHistory` (its bulk delete) or `_expunge` (HAPI) ask for a delete that
/// leaves no history. Any value but a plain `false` counts (servers trim and fold case differently: fail closed).
fn hard_delete(query: &Query) -> bool {
    ["_harddelete", "_purgehistory", "_expunge"]
        .iter()
        .any(|name| {
            query.named(name).any(|p| {
                !p.value
                    .trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .eq_ignore_ascii_case("false")
            })
        })
}

/// Q10: does the grant cover what `request` needs? Batches are decided by [`needed_for_bundle`] first.
pub fn check(
    grant: &RoleGrant,
    needed: Actions,
    interaction: &'static str,
) -> Result<(), Forbidden> {
    match grant.actions.missing(needed).next() {
        None => Ok(()),
        Some(action) => Err(Forbidden::MissingAction {
            action: action.name(),
            interaction,
        }),
    }
}

/// Q10: the union of the actions every entry of a batch or transaction Bundle needs.
pub fn needed_for_bundle(bytes: &[u8]) -> Result<Actions, BundleError> {
    let bundle: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| BundleError::NotABundle)?;
    if bundle["resourceType"] != "Bundle"
        || !matches!(bundle["type"].as_str(), Some("batch" | "transaction"))
    {
        return Err(BundleError::NotABundle);
    }
    let mut needed = Actions::NONE;
    for entry in bundle["entry"].as_array().into_iter().flatten() {
        let method = entry["request"]["method"]
            .as_str()
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .ok_or(BundleError::BadEntry)?;
        let url = entry["request"]["url"]
            .as_str()
            .ok_or(BundleError::BadEntry)?;
        // Entry URLs are relative to the server's base (`Patient/1`, `Patient?identifier=x`); absolute ones are
        // not classified.
        if url.contains("://") {
            return Err(BundleError::BadEntry);
        }
        let url = url.trim_start_matches('/');
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (url, None),
        };
        let classified = request::classify(&method, &format!("/{path}"), query)
            .map_err(|_| BundleError::BadEntry)?;
        match needed_entry(&classified, &method) {
            Some(actions) => needed = needed.with(actions),
            None => return Err(BundleError::BadEntry),
        }
    }
    Ok(needed)
}

/// An entry's actions; a nested batch is not classified.
fn needed_entry(request: &FhirRequest, method: &Method) -> Option<Actions> {
    match needed(request, method) {
        Needed::Actions(a) => Some(a),
        Needed::BundleEntries => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::roles::RoleAction as A;

    fn needs(method: &str, target: &str) -> Actions {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let r = request::classify(&method, path, query).expect(target);
        match needed(&r, &method) {
            Needed::Actions(a) => a,
            Needed::BundleEntries => panic!("{target} is a batch"),
        }
    }

    #[test]
    fn q10_each_interaction_needs_its_data_action() {
        let rows: &[(&str, &str, &[RoleAction])] = &[
            ("GET", "/metadata", &[A::Read]),
            ("GET", "/Patient/1", &[A::Read]),
            ("HEAD", "/Patient/1", &[A::Read]),
            ("GET", "/Patient/1/_history/2", &[A::Read]),
            ("GET", "/Patient?name=x", &[A::Read]),
            ("POST", "/Patient/_search", &[A::Read]),
            ("GET", "/_history", &[A::Read]),
            ("POST", "/Patient", &[A::Write]),
            ("PUT", "/Patient/1", &[A::Write]),
            ("PUT", "/Patient?identifier=x", &[A::Write]),
            ("PATCH", "/Patient/1", &[A::Write]),
            ("DELETE", "/Patient/1", &[A::Delete]),
            ("DELETE", "/Patient?identifier=x", &[A::Delete]),
            (
                "DELETE",
                "/Patient/1?_hardDelete=true",
                &[A::Delete, A::HardDelete],
            ),
            // Any spelling a server could read as true counts (fail closed).
            (
                "DELETE",
                "/Patient/1?_hardDelete=%20true",
                &[A::Delete, A::HardDelete],
            ),
            (
                "DELETE",
                "/Patient/1?_hardDelete=true+",
                &[A::Delete, A::HardDelete],
            ),
            (
                "DELETE",
                "/Patient/1?_expunge=true",
                &[A::Delete, A::HardDelete],
            ),
            ("DELETE", "/Patient/1?_hardDelete=false", &[A::Delete]),
            ("DELETE", "/Patient/1?_hardDelete=%20FALSE", &[A::Delete]),
            (
                "PUT",
                "/SearchParameter/sp",
                &[A::Write, A::SearchParameter],
            ),
            (
                "POST",
                "/StructureDefinition",
                &[A::Write, A::EditProfileDefinitions],
            ),
            (
                "PUT",
                "/ValueSet/vs",
                &[A::Write, A::EditProfileDefinitions],
            ),
            ("GET", "/$export", &[A::Export]),
            ("GET", "/Patient/$export", &[A::Export]),
            ("POST", "/Patient/$validate", &[A::ResourceValidate]),
            ("POST", "/$reindex", &[A::Reindex]),
            ("POST", "/$convert-data", &[A::ConvertData]),
            ("POST", "/$import", &[A::Import]),
            ("DELETE", "/$bulk-delete", &[A::BulkOperator, A::Delete]),
            ("GET", "/Patient/1/$everything", &[A::Read]),
            ("POST", "/ValueSet/$expand", &[A::Read]),
            ("GET", "/Observation/$some-query", &[A::Read]),
        ];
        for (method, target, actions) in rows {
            let want = actions
                .iter()
                .fold(Actions::NONE, |acc, a| acc.with(Actions::of(*a)));
            assert_eq!(needs(method, target), want, "{method} {target}");
        }
        assert_eq!(needs("POST", "/Patient/$unknown-op"), Actions::all());
    }

    #[test]
    fn q10_a_grant_covers_or_names_the_first_missing_action() {
        let reader = RoleGrant {
            actions: Actions::of(A::Read),
            matched: 1,
            names: "reader".into(),
        };
        assert_eq!(check(&reader, Actions::of(A::Read), "read"), Ok(()));
        assert_eq!(
            check(&reader, Actions::of(A::Write), "create"),
            Err(Forbidden::MissingAction {
                action: "write",
                interaction: "create"
            })
        );
        let nothing = RoleGrant::default();
        assert!(check(&nothing, Actions::of(A::Read), "read").is_err());
        let all = RoleGrant {
            actions: Actions::all(),
            matched: 1,
            names: "admin".into(),
        };
        assert_eq!(check(&all, Actions::all(), "operation"), Ok(()));
    }

    #[test]
    fn q10_a_bundle_needs_every_entrys_action() {
        let bundle = serde_json::json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "GET", "url": "Patient/1"}},
            {"request": {"method": "POST", "url": "Observation"}, "resource": {"resourceType": "Observation"}},
            {"request": {"method": "DELETE", "url": "Condition?code=x"}},
        ]});
        let want = Actions::of(A::Read)
            .with(Actions::of(A::Write))
            .with(Actions::of(A::Delete));
        assert_eq!(needed_for_bundle(bundle.to_string().as_bytes()), Ok(want));
        let reads = serde_json::json!({"resourceType": "Bundle", "type": "batch", "entry": [
            {"request": {"method": "GET", "url": "/Patient?name=x"}}]});
        assert_eq!(
            needed_for_bundle(reads.to_string().as_bytes()),
            Ok(Actions::of(A::Read))
        );
        for bad in [
            serde_json::json!({"resourceType": "Bundle", "type": "collection"}),
            serde_json::json!({"resourceType": "Patient"}),
        ] {
            assert_eq!(
                needed_for_bundle(bad.to_string().as_bytes()),
                Err(BundleError::NotABundle)
            );
        }
        for entry in [
            serde_json::json!({"request": {"method": "GET"}}),
            serde_json::json!({"request": {"method": "GET", "url": "http://elsewhere/Patient/1"}}),
            serde_json::json!({"request": {"method": "GET", "url": "NotAType/1"}}),
            serde_json::json!({"request": {"method": "POST", "url": ""}}),
        ] {
            let b =
                serde_json::json!({"resourceType": "Bundle", "type": "batch", "entry": [entry]});
            assert_eq!(
                needed_for_bundle(b.to_string().as_bytes()),
                Err(BundleError::BadEntry),
                "{b}"
            );
        }
        assert_eq!(needed_for_bundle(b"not json"), Err(BundleError::NotABundle));
    }
}
