//! One immutable snapshot of everything a request reads: config, validation settings and key stores.
//!
//! Requests take one lock-free `ArcSwap` load and keep that snapshot to the end, so a replacement (a reload)
//! never changes the rules under a request in flight. Config and key stores sit in the same snapshot on
//! purpose: two swaps that must change together would be one bug waiting (pingora's TODO).

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::keys::KeyStores;
use crate::smart::SmartSettings;
use crate::token::ValidationSettings;
use crate::token_cache::{TokenCache, TokenCacheSettings};

#[derive(Debug)]
pub struct Snapshot {
    pub config: Config,
    pub keys: KeyStores,
    pub validation: ValidationSettings,
    pub smart: SmartSettings,
    /// Verified tokens of this snapshot's config and key sets (a reload starts a new one).
    pub token_cache: TokenCache,
}

impl Snapshot {
    /// The snapshot of a (re)loaded config: its key stores, its effective settings, and a new token cache (tokens
    /// verified under another config are not trusted under this one). Used by start-up and by every reload.
    pub fn build(
        config: Config,
        keys: KeyStores,
        (validation, smart): (ValidationSettings, SmartSettings),
        cache: TokenCacheSettings,
    ) -> Snapshot {
        Snapshot {
            config,
            keys,
            validation,
            smart,
            token_cache: TokenCache::new(cache),
        }
    }
}

/// The current snapshot, shared by every connection.
#[derive(Debug, Clone)]
pub struct SharedState(Arc<ArcSwap<Snapshot>>);

impl SharedState {
    pub fn new(snapshot: Snapshot) -> Self {
        SharedState(Arc::new(ArcSwap::from_pointee(snapshot)))
    }

    pub fn load(&self) -> Arc<Snapshot> {
        self.0.load_full()
    }

    pub fn replace(&self, snapshot: Snapshot) {
        self.0.store(Arc::new(snapshot));
    }
}
