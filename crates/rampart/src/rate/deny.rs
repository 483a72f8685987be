//! The exact deny cache of the Redis store: buckets known to be over their
//! limit, refused on this instance without asking Redis until they can pass.
//!
//! Why a local denial is never wrong: GCRA admits a request when
//! `now >= tat - tau`, and `tat` only moves later (every instance's spending
//! pushes it forward; nothing pulls it back). Each answer of the script tells
//! how far `tat` lies ahead of the server's `now`. Measured from the moment
//! the request was *sent* (no later than the server's `now`), the bucket
//! cannot pass before `sent + (ahead - tau)`, so refusing until then refuses
//! nothing Redis would have admitted.
//!
//! Entries are keyed by bucket and policy (emission interval and tolerance),
//! so a changed quota starts afresh; at most [`DENY_CAPACITY`] are held
//! (expired ones are swept when it is reached; beyond it, new denials are
//! simply not cached). A bucket is named by a keyed 64-bit digest of its
//! scope and key, as the in-memory store names its buckets: looking one up
//! builds no Redis key, and the per-process random key keeps anyone from
//! choosing two buckets that collide.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::rate::Decision;
use crate::rate::gcra::Gcra;
use crate::rate::key::RateKeyValue;
use crate::rate::memory::Prehashed;

/// Denied buckets held at most, per store.
pub(crate) const DENY_CAPACITY: usize = 100_000;

/// When a denied bucket may pass again and when it would be full, on this
/// instance's monotonic clock.
#[derive(Debug, Clone, Copy)]
struct Denied {
    /// The policy it was denied under: `(t, tau)` in microseconds.
    policy: (u64, u64),
    passes_at: Instant,
    full_at: Instant,
}

/// Buckets over their limit; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct DenyCache {
    /// Bucket digest -> when it may pass.
    denied: Mutex<HashMap<u64, Denied, BuildHasherDefault<Prehashed>>>,
    hasher: RandomState,
}

impl DenyCache {
    /// Forget everything (an admin reset).
    pub(crate) fn clear(&self) {
        self.denied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The digest naming the bucket of `key` in `scope`.
    pub(crate) fn bucket(&self, scope: &str, key: &RateKeyValue<'_>) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        scope.hash(&mut hasher);
        key.hash_into(&mut hasher);
        hasher.finish()
    }

    /// The refusal for `bucket` under `gcra` at `now`, when it is known to be
    /// over its limit.
    pub(crate) fn check(&self, bucket: u64, gcra: &Gcra, now: Instant) -> Option<Decision> {
        let denied = self.denied.lock().unwrap_or_else(|e| e.into_inner());
        let entry = *denied.get(&bucket)?;
        drop(denied);
        if entry.policy != (gcra.t_us, gcra.tau_us) || now >= entry.passes_at {
            return None;
        }
        let ahead = entry.full_at.saturating_duration_since(now);
        Some(gcra.limited(u64::try_from(ahead.as_micros()).unwrap_or(u64::MAX)))
    }

    /// Record Redis's answer for `bucket`: `tat` lay `ahead_us` after the
    /// server's clock, for a request sent at `sent`.
    pub(crate) fn record(&self, bucket: u64, gcra: &Gcra, sent: Instant, ahead_us: u64) {
        if ahead_us <= gcra.tau_us {
            // The next request would pass: nothing to remember.
            return;
        }
        let entry = Denied {
            policy: (gcra.t_us, gcra.tau_us),
            passes_at: sent + Duration::from_micros(ahead_us - gcra.tau_us),
            full_at: sent + Duration::from_micros(ahead_us),
        };
        let mut denied = self.denied.lock().unwrap_or_else(|e| e.into_inner());
        if denied.len() >= DENY_CAPACITY {
            let now = Instant::now();
            denied.retain(|_, d| d.passes_at > now);
            if denied.len() >= DENY_CAPACITY {
                return;
            }
        }
        denied.insert(bucket, entry);
    }

    /// Buckets held (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.denied.lock().map(|d| d.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::{Outcome, Rate};

    fn five_per_minute() -> Gcra {
        Gcra::new(&Rate::new(5, Duration::from_secs(60)))
    }

    #[test]
    fn a_denied_bucket_is_refused_until_it_can_pass() {
        let cache = DenyCache::default();
        let gcra = five_per_minute();
        let sent = Instant::now();
        // Five spent: tat is a minute ahead, one unit back in 12 s.
        let (b, c) = (
            cache.bucket("op", &RateKeyValue::Subject("b")),
            cache.bucket("op", &RateKeyValue::Subject("c")),
        );
        assert_ne!(b, cache.bucket("other", &RateKeyValue::Subject("b")));
        cache.record(b, &gcra, sent, 60_000_000);
        let d = cache
            .check(b, &gcra, sent + Duration::from_secs(2))
            .unwrap();
        assert_eq!(d.outcome, Outcome::Limited);
        assert_eq!((d.retry_after_secs(), d.reset_secs()), (10, 58));
        assert!(
            cache
                .check(b, &gcra, sent + Duration::from_secs(12))
                .is_none()
        );
        // Another bucket, or the same bucket under another policy, is not known.
        assert!(cache.check(c, &gcra, sent).is_none());
        let other = Gcra::new(&Rate::new(6, Duration::from_secs(60)));
        assert!(cache.check(b, &other, sent).is_none());
    }

    #[test]
    fn a_bucket_that_would_still_pass_is_not_recorded() {
        let cache = DenyCache::default();
        let gcra = five_per_minute();
        cache.record(1, &gcra, Instant::now(), 48_000_000);
        assert_eq!(cache.len(), 0);
    }
}
