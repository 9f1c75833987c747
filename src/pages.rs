//! Continuation tokens bound to the token that received them (paging through the proxy).
//!
//! A continuation (`?_getpages=<id>` at HAPI, `ct=<token>` at Microsoft's server) names a search the server keeps;
//! the request carries nothing of that search, so the proxy cannot confine it. Instead, every continuation token the
//! proxy hands out in an answer's links is remembered with who received it (issuer, subject, `fhirUser`, client and
//! scopes): a request that presents a token is forwarded only for that same identity. A token from another user's
//! search, an expired one, or one the proxy never handed out gets 403. Bounded (100,000 tokens) and expiring (one
//! hour after they were last handed out), in memory: a restart forgets them and the app runs its search again.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use crate::token::VerifiedToken;

/// The most continuation tokens remembered at once.
const MAX_TOKENS: u64 = 100_000;
/// How long a continuation token stays usable after it was handed out.
const TOKEN_LIFE: Duration = Duration::from_secs(3600);

/// Continuation token → the identity it was handed to.
#[derive(Clone)]
pub struct PageBindings(Cache<String, Arc<str>>);

impl std::fmt::Debug for PageBindings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageBindings")
    }
}

impl Default for PageBindings {
    fn default() -> Self {
        PageBindings(
            Cache::builder()
                .max_capacity(MAX_TOKENS)
                .time_to_live(TOKEN_LIFE)
                .build(),
        )
    }
}

/// Who a continuation belongs to: everything that decided what the search could return.
pub fn identity(token: &VerifiedToken) -> Arc<str> {
    Arc::from(format!(
        "{}\n{}\n{}\n{}\n{}",
        token.issuer(),
        token.subject().unwrap_or(""),
        token.fhir_user().map(|u| u.reference()).unwrap_or(""),
        token.client_id().unwrap_or(""),
        token.scopes().unwrap_or("")
    ))
}

impl PageBindings {
    /// Remember that `tokens` were handed to `who`.
    pub fn bind(&self, tokens: Vec<String>, who: &Arc<str>) {
        for t in tokens {
            self.0.insert(t, Arc::clone(who));
        }
    }

    /// Were all of `tokens` (at least one) handed to `who`?
    pub fn bound(&self, tokens: &[&str], who: &str) -> bool {
        !tokens.is_empty()
            && tokens
                .iter()
                .all(|t| self.0.get(*t).is_some_and(|owner| &*owner == who))
    }
}
