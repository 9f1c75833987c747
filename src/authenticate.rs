//! The authentication stage: from the raw bearer token to a [`VerifiedToken`] (rules B2–B8, C, D, G).
//!
//! In: the snapshot (config, key stores, token cache), the raw token and the time. Out: the verified token, from
//! the cache when the same bytes were verified under the issuer's current key set (only the time window is checked
//! again), else verified from scratch, refetching the issuer's keys once for an unknown `kid` (B5). Errors:
//! [`TokenError`] (401).

use std::sync::Arc;

use crate::config::AuthorityRole;
use crate::error::TokenError;
use crate::metrics::Metrics;
use crate::state::Snapshot;
use crate::token::{self, VerifiedToken};
use crate::token_cache::CachedToken;

/// Rules C, B2–B8, D, G: from the raw token to a [`VerifiedToken`], refetching the issuer's keys once if the
/// token names a `kid` the cached set does not hold (B5). A token verified before with the issuer's current key set
/// comes from the cache: only `exp`/`nbf` are checked again.
pub async fn authenticate(
    snapshot: &Snapshot,
    raw: &str,
    now: u64,
    metrics: &Metrics,
) -> Result<Arc<VerifiedToken>, TokenError> {
    let settings = &snapshot.validation;
    let leeway = settings.leeway_secs;
    if let Some(hit) = snapshot.token_cache.get(raw) {
        let current = snapshot
            .keys
            .stores
            .get(hit.store())
            .and_then(|s| s.current());
        if current.is_some_and(|keys| hit.verified_with(&keys)) {
            if let Err(e) = token::check_window(now, leeway, hit.token.expires_at, hit.not_before())
            {
                if e == TokenError::Expired {
                    snapshot.token_cache.remove(raw);
                }
                return Err(e);
            }
            metrics.cache(true);
            return Ok(hit.token);
        }
        // The key set changed since: verify again from scratch.
        snapshot.token_cache.remove(raw);
    }

    metrics.cache(false);
    let jws = token::parse(raw, settings)?;
    let iss = jws.issuer()?;
    let matches: Vec<_> = snapshot.keys.by_issuer(iss).collect();
    let Some((store, keys)) = matches.first() else {
        // B3: an issuer nobody configured, or B6: one whose authority has not answered yet (so its issuer is known
        // only from the configured authority, or from hand-entered endpoints).
        let waiting = snapshot.keys.stores.iter().any(|s| {
            s.current().is_none()
                && (s.authority.is_named_by(iss)
                    || s.manual.as_ref().is_some_and(|m| m.issuer.as_str() == iss))
        });
        return Err(if waiting {
            TokenError::KeysUnavailable
        } else {
            TokenError::UnknownIssuer
        });
    };
    let keys = match jws.verify_signature(keys) {
        // Boxed: the refetch (an HTTP exchange) is a large future that requests with a known kid never run.
        Err(TokenError::UnknownKid) => match Box::pin(store.refetch_for_unknown_kid()).await {
            Some(fresh) => {
                jws.verify_signature(&fresh)?;
                fresh
            }
            None => return Err(TokenError::UnknownKid),
        },
        other => other.map(|()| keys.clone())?,
    };
    let exp = jws.check_times(now, leeway)?;
    let roles: Vec<AuthorityRole> = matches.iter().map(|(s, _)| s.role).collect();
    let verified = token::identify(&jws, &roles, &snapshot.config, settings, exp)?;
    let verified = Arc::new(snapshot.token_cache.share_class(verified));
    if let Some(index) = snapshot
        .keys
        .stores
        .iter()
        .position(|s| Arc::ptr_eq(s, store))
    {
        let entry = CachedToken::new(
            verified.clone(),
            index,
            jws.not_before(),
            &keys,
            now,
            leeway,
            snapshot.token_cache.ttl,
        );
        snapshot.token_cache.insert(raw, entry);
    }
    Ok(verified)
}
