//! The replay cache: identifiers (a DPoP proof's `jti`, a one-time token's
//! `jti`) that were accepted once and must not be accepted again before
//! they expire. In memory for one instance; in Redis (`SET NX` with the
//! remaining lifetime) when the rate limiter shares Redis, so every
//! instance refuses a proof or token another one already accepted.
//!
//! The cache never forgets an identifier before it expires: when the memory
//! cache is full of live entries it refuses (the guard answers 503) rather
//! than evict one and let it be replayed.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::auth::api_key::BoxFuture;

/// Default identifiers remembered in memory.
pub(crate) const DEFAULT_CAPACITY: usize = 1_000_000;
const SHARDS: usize = 16;

/// The answer for one identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstUse {
    /// Not seen before: now remembered until it expires.
    First,
    /// Seen before, within its lifetime.
    Replayed,
    /// The cache cannot answer (Redis unreachable, memory full of live
    /// identifiers): refuse, never admit.
    Unavailable,
}

/// A 32-byte digest naming one identifier in one namespace.
pub(crate) type ReplayKey = [u8; 32];

/// The key for identifier `id` in `namespace` (e.g. `dpop:<jkt>`, or
/// `jwt:<iss>`): hashed, so its size is fixed whatever a client sends.
pub(crate) fn replay_key(namespace: &str, id: &str) -> ReplayKey {
    let mut hasher = Sha256::new();
    hasher.update((namespace.len() as u64).to_be_bytes());
    hasher.update(namespace.as_bytes());
    hasher.update(id.as_bytes());
    hasher.finalize().into()
}

/// Identifiers seen, in memory, sharded; each remembered until its expiry.
#[derive(Debug)]
pub(crate) struct MemoryReplay {
    shards: Box<[Mutex<HashMap<ReplayKey, u64>>]>,
    per_shard: usize,
    hasher: RandomState,
}

impl MemoryReplay {
    pub(crate) fn new(capacity: usize) -> Self {
        MemoryReplay {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    /// Remember `key` until `expires` (Unix seconds) unless it is already
    /// remembered and not expired at `now`.
    pub(crate) fn first_use(&self, key: &ReplayKey, expires: u64, now: u64) -> FirstUse {
        let shard = (self.hasher.hash_one(key) as usize) % self.shards.len();
        let mut map = self.shards[shard]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(until) = map.get_mut(key) {
            if *until > now {
                return FirstUse::Replayed;
            }
            *until = expires;
            return FirstUse::First;
        }
        if map.len() >= self.per_shard {
            // Full: drop what has expired (amortised: a sweep frees every
            // expired entry at once, and happens only at the bound).
            map.retain(|_, until| *until > now);
            if map.len() >= self.per_shard {
                return FirstUse::Unavailable;
            }
        }
        map.insert(*key, expires);
        FirstUse::First
    }
}

/// A shared store of identifiers (Redis, implemented beside the rate
/// limiter's store): `ttl_secs` is how long the identifier stays refused.
pub(crate) trait ReplayStore: Send + Sync {
    fn first_use<'a>(&'a self, key: &'a ReplayKey, ttl_secs: u64) -> BoxFuture<'a, FirstUse>;
}

/// Where identifiers are remembered.
pub(crate) enum ReplayCache {
    Memory(MemoryReplay),
    /// Shared by every instance.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Shared(Box<dyn ReplayStore>),
}

impl std::fmt::Debug for ReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayCache::Memory(_) => f.write_str("ReplayCache::Memory"),
            ReplayCache::Shared(_) => f.write_str("ReplayCache::Shared"),
        }
    }
}

impl ReplayCache {
    /// [`first_use`](Self::first_use) without waiting: `None` when the
    /// cache is remote.
    pub(crate) fn first_use_now(
        &self,
        key: &ReplayKey,
        expires: u64,
        now: u64,
    ) -> Option<FirstUse> {
        match self {
            ReplayCache::Memory(memory) => Some(memory.first_use(key, expires, now)),
            ReplayCache::Shared(_) => None,
        }
    }

    /// Remember `key` until `expires` unless it was seen before.
    pub(crate) async fn first_use(&self, key: &ReplayKey, expires: u64, now: u64) -> FirstUse {
        match self {
            ReplayCache::Memory(memory) => memory.first_use(key, expires, now),
            ReplayCache::Shared(store) => store.first_use(key, expires.saturating_sub(now)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_expiry_and_refuses_when_full_of_live_entries() {
        let cache = MemoryReplay::new(SHARDS);
        let a = replay_key("dpop:k", "a");
        assert_eq!(cache.first_use(&a, 100, 10), FirstUse::First);
        assert_eq!(cache.first_use(&a, 100, 99), FirstUse::Replayed);
        // Expired: a new use starts over.
        assert_eq!(cache.first_use(&a, 300, 100), FirstUse::First);
        // Namespaces are separate.
        assert_ne!(replay_key("dpop:k", "a"), replay_key("dpop:j", "a"));
        assert_ne!(replay_key("ab", "c"), replay_key("a", "bc"));
        // One entry per shard: fill until some shard is full of live entries.
        let mut full = false;
        for i in 0..1000 {
            if cache.first_use(&replay_key("n", &i.to_string()), 1000, 200) == FirstUse::Unavailable
            {
                full = true;
                break;
            }
        }
        assert!(full, "a full cache of live entries must refuse, not evict");
        // Once they have expired, the sweep makes room.
        assert_eq!(
            cache.first_use(&replay_key("n", "late"), 3000, 2000),
            FirstUse::First
        );
    }
}
