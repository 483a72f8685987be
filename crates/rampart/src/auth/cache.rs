//! A bounded cache of verified tokens, keyed by the exact token bytes, so a
//! repeat caller costs a hash lookup instead of a signature check. Only
//! successes are stored; the caller still checks expiry on every hit, and an
//! entry is ignored once the key set it was verified against has changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const SHARDS: usize = 16;

struct Entry<V> {
    value: Arc<V>,
    generation: u64,
    expires: u64,
}

type Shard<V> = Mutex<HashMap<Box<[u8]>, Entry<V>>>;

/// Sharded, bounded map from token bytes to verified claims.
pub(crate) struct TokenCache<V> {
    shards: Box<[Shard<V>]>,
    per_shard: usize,
}

impl<V> std::fmt::Debug for TokenCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

impl<V> TokenCache<V> {
    /// A cache holding about `capacity` tokens (0 disables it).
    pub(crate) fn new(capacity: usize) -> Self {
        TokenCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, token: &[u8]) -> &Shard<V> {
        // The tail of a JWT is signature: uniformly distributed characters.
        let tail = token
            .iter()
            .rev()
            .take(4)
            .fold(0usize, |acc, b| acc * 31 + usize::from(*b));
        &self.shards[tail % SHARDS]
    }

    /// The cached value for `token`, if verified under key-set `generation`.
    pub(crate) fn get(&self, token: &[u8], generation: u64) -> Option<Arc<V>> {
        if self.per_shard == 0 {
            return None;
        }
        let shard = self.shard(token).lock().ok()?;
        shard
            .get(token)
            .filter(|e| e.generation == generation)
            .map(|e| e.value.clone())
    }

    /// Remember a verified token until `expires` (Unix seconds).
    pub(crate) fn insert(
        &self,
        token: &[u8],
        value: Arc<V>,
        generation: u64,
        expires: u64,
        now: u64,
    ) {
        if self.per_shard == 0 {
            return;
        }
        let Ok(mut shard) = self.shard(token).lock() else {
            return;
        };
        if shard.len() >= self.per_shard {
            shard.retain(|_, e| e.expires > now && e.generation == generation);
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().cloned()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(
            token.into(),
            Entry {
                value,
                generation,
                expires,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_generation_checked() {
        let cache = TokenCache::new(16);
        for i in 0..100u32 {
            cache.insert(format!("tok{i}").as_bytes(), Arc::new(i), 0, 1000, 0);
        }
        let held = (0..100u32)
            .filter(|i| cache.get(format!("tok{i}").as_bytes(), 0).is_some())
            .count();
        assert!(held <= 16 + SHARDS, "held {held}");
        cache.insert(b"x", Arc::new(7), 1, 1000, 0);
        assert_eq!(cache.get(b"x", 1).as_deref(), Some(&7));
        assert!(cache.get(b"x", 2).is_none());
    }
}
