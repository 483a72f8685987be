//! Leases of the Redis store (its `lease` setting, off by default): an
//! instance takes several units of a busy bucket from Redis in one call and
//! spends them locally, so a hot key costs one round trip per lease instead
//! of one per request.
//!
//! What it trades: a leased unit is spent in Redis when it is taken and on
//! the instance when a request uses it, up to [`LEASE_LIFETIME`] later. The
//! admissions never exceed what Redis granted, but within a window a bucket
//! may admit up to the units instances hold unspent at its start: at most
//! `instances × lease` more than the quota. Units not spent within the
//! lifetime are lost, never returned, so a lease errs towards refusing.
//!
//! Sizing is by demand, per bucket: the first request of a bucket takes one
//! unit; a bucket whose lease was used up within its lifetime asks for twice
//! as many next time (at most `lease`, and at most a quarter of the bucket's
//! capacity, so one instance cannot hold the whole burst); a bucket whose
//! lease expired asks for what it used. A quiet client therefore never
//! strands units, and only a bucket busy on this instance is leased.
//!
//! Policies marked exact (`x-rampart: { rate-exact: true }`) never lease,
//! and neither does the brute-force lockout (its own script).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::rate::Decision;
use crate::rate::gcra::Gcra;

/// How long leased units may be spent after they were taken.
pub(crate) const LEASE_LIFETIME: Duration = Duration::from_secs(1);

/// Buckets whose lease is remembered at most, per store (expired ones are
/// swept when it is reached; beyond it, buckets are decided unleased).
pub(crate) const LEASE_CAPACITY: usize = 100_000;

/// A bucket's lease on this instance.
#[derive(Debug, Clone, Copy)]
struct Lease {
    /// The policy it was taken under: `(t, tau)` in microseconds.
    policy: (u64, u64),
    /// Units taken from Redis and not yet spent here.
    left: u32,
    /// Units the last grant took (the one its own request used included).
    granted: u32,
    /// Until when `left` may be spent.
    expires: Instant,
    /// When the bucket is full again by Redis's last answer, on this
    /// instance's clock (every leased unit counted as spent).
    full_at: Instant,
}

/// The leases of one store; see the module docs.
#[derive(Debug)]
pub(crate) struct LeaseCache {
    /// Most units one lease takes (`lease`).
    most: u32,
    held: Mutex<HashMap<String, Lease>>,
}

impl LeaseCache {
    /// Leases of at most `most` units (at least 2: one is no lease).
    pub(crate) fn new(most: u32) -> Self {
        LeaseCache {
            most: most.max(2),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Spend one leased unit of `bucket` at `now`: the decision, or how many
    /// units to ask Redis for (1 when the bucket is not busy here).
    pub(crate) fn take(&self, bucket: &str, gcra: &Gcra, now: Instant) -> Result<Decision, u32> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let Some(lease) = held.get_mut(bucket) else {
            return Err(1);
        };
        if lease.policy != (gcra.t_us, gcra.tau_us) {
            return Err(1);
        }
        let live = now < lease.expires;
        if live && lease.left > 0 {
            lease.left -= 1;
            let (left, full_at) = (u64::from(lease.left), lease.full_at);
            drop(held);
            // Reported as if the units still held here were not spent.
            let ahead = u64::try_from(full_at.saturating_duration_since(now).as_micros())
                .unwrap_or(u64::MAX)
                .saturating_sub(left.saturating_mul(gcra.t_us))
                .max(gcra.t_us);
            return Ok(gcra.allowed(ahead));
        }
        let want = if live {
            // Used up within its lifetime: busy, grow.
            lease.granted.saturating_mul(2)
        } else {
            // Expired: ask for what was used.
            lease.granted - lease.left
        };
        Err(want.clamp(1, self.cap(gcra)))
    }

    /// Record Redis's answer to a request for units of `bucket` sent at
    /// `sent`: `taken` units (the request's own included), the bucket full
    /// again `ahead_us` after the server's clock.
    pub(crate) fn granted(
        &self,
        bucket: &str,
        gcra: &Gcra,
        sent: Instant,
        taken: u32,
        ahead_us: u64,
    ) {
        if taken == 0 {
            return;
        }
        let policy = (gcra.t_us, gcra.tau_us);
        let full_at = sent + Duration::from_micros(ahead_us);
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lease) = held.get_mut(bucket) {
            // Leases granted concurrently add up, but never beyond `most`
            // units held: the bound on overshoot (the rest is dropped).
            let carried = if lease.policy == policy && sent < lease.expires {
                lease.left
            } else {
                0
            };
            *lease = Lease {
                policy,
                left: (carried + taken - 1).min(self.most),
                granted: taken,
                expires: sent + LEASE_LIFETIME,
                full_at: full_at.max(lease.full_at),
            };
            return;
        }
        if held.len() >= LEASE_CAPACITY {
            let now = Instant::now();
            held.retain(|_, l| l.expires > now);
            if held.len() >= LEASE_CAPACITY {
                return;
            }
        }
        held.insert(
            bucket.to_owned(),
            Lease {
                policy,
                left: taken - 1,
                granted: taken,
                expires: sent + LEASE_LIFETIME,
                full_at,
            },
        );
    }

    /// The most units one lease of `gcra`'s buckets takes: `most`, and at
    /// most a quarter of the bucket's capacity (at least 1).
    fn cap(&self, gcra: &Gcra) -> u32 {
        let capacity = gcra.tau_us / gcra.t_us + 1;
        let quarter = u32::try_from(capacity / 4).unwrap_or(u32::MAX);
        self.most.min(quarter).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::{Outcome, Rate};

    fn gcra(count: u32) -> Gcra {
        Gcra::new(&Rate::new(count, Duration::from_secs(60)))
    }

    #[test]
    fn a_busy_bucket_grows_its_lease_and_spends_it_locally() {
        let cache = LeaseCache::new(16);
        let g = gcra(6000); // t = 10 ms, capacity 6000
        let now = Instant::now();
        assert_eq!(cache.take("b", &g, now), Err(1));
        cache.granted("b", &g, now, 1, g.t_us);
        // Used up within its lifetime: twice as many, then twice again.
        assert_eq!(cache.take("b", &g, now), Err(2));
        cache.granted("b", &g, now, 2, 3 * g.t_us);
        let d = cache.take("b", &g, now).unwrap();
        assert_eq!(d.outcome, Outcome::Allowed);
        assert_eq!(cache.take("b", &g, now), Err(4));
        cache.granted("b", &g, now, 4, 7 * g.t_us);
        for _ in 0..3 {
            assert!(cache.take("b", &g, now).is_ok());
        }
        // Never more than `most`.
        cache.granted("b", &g, now, 4, 11 * g.t_us);
        assert_eq!(cache.take("b", &g, now).map(|_| ()), Ok(()));
        let mut want = 0;
        for _ in 0..10 {
            match cache.take("b", &g, now) {
                Ok(_) => {}
                Err(w) => want = w,
            }
        }
        assert_eq!(want, 8);
        cache.granted("b", &g, now, 100, 111 * g.t_us);
        let spent = (0..200)
            .take_while(|_| cache.take("b", &g, now).is_ok())
            .count();
        assert_eq!(spent, 16, "at most `most` units held");
    }

    #[test]
    fn an_expired_lease_is_not_spent_and_the_next_asks_for_what_was_used() {
        let cache = LeaseCache::new(64);
        let g = gcra(6000);
        let now = Instant::now();
        cache.granted("b", &g, now, 10, 10 * g.t_us);
        for _ in 0..3 {
            assert!(cache.take("b", &g, now).is_ok());
        }
        let later = now + LEASE_LIFETIME;
        assert_eq!(cache.take("b", &g, later), Err(4));
    }

    #[test]
    fn small_quotas_lease_at_most_a_quarter_and_another_policy_starts_fresh() {
        let cache = LeaseCache::new(64);
        let g = gcra(8); // capacity 8: leases of at most 2
        let now = Instant::now();
        cache.granted("b", &g, now, 2, 2 * g.t_us);
        assert!(cache.take("b", &g, now).is_ok());
        assert_eq!(cache.take("b", &g, now), Err(2));
        assert_eq!(cache.take("b", &gcra(9), now), Err(1));
    }

    #[test]
    fn leased_decisions_report_the_units_held_as_unspent() {
        let cache = LeaseCache::new(64);
        let g = gcra(60); // t = 1 s, capacity 60
        let now = Instant::now();
        // Ten units taken from a full bucket: tat 10 s ahead.
        cache.granted("b", &g, now, 10, 10_000_000);
        let d = cache.take("b", &g, now).unwrap();
        // Two used (the grant's own and this one): 58 remain.
        assert_eq!(d.remaining, 58);
    }
}
