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
//! unit; a bucket whose lease is half spent within its lifetime is topped
//! up, by the request that finds it so, to twice its size (at most `lease`
//! units held, and at most a quarter of the bucket's capacity, so one
//! instance cannot hold the whole burst), while its other requests spend
//! what is left; one top-up is asked for at a time, and a bucket that runs
//! dry before it comes is decided one unit per call meanwhile. A bucket
//! whose lease expired asks for what it used. A quiet client therefore
//! never strands units, and only a bucket busy on this instance is leased.
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

/// How long a lease asked for is awaited before another may be asked for
/// (the answer may never come: Redis failed or timed out).
const REFILL_WAIT: Duration = Duration::from_millis(250);

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
    /// A lease has been asked for and not yet granted, until then: the
    /// bucket's other requests are decided one unit at a time meanwhile,
    /// rather than each asking for a lease of its own.
    refilling_until: Option<Instant>,
}

/// The leases of one store; see the module docs.
#[derive(Debug)]
pub(crate) struct LeaseCache {
    /// Most units one lease takes (`lease`).
    most: u32,
    held: Mutex<HashMap<String, Lease>>,
}

impl LeaseCache {
    /// Forget everything (an admin reset).
    pub(crate) fn clear(&self) {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

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
        let pending = lease.refilling_until.is_some_and(|until| now < until);
        let cap = self.cap(gcra);
        if live && lease.left > 0 {
            if let Some(want) = self.top_up(lease, gcra, now) {
                lease.refilling_until = Some(now + REFILL_WAIT);
                return Err(want);
            }
            lease.left -= 1;
            let (left, full_at) = (lease.left, lease.full_at);
            drop(held);
            return Ok(leased_decision(gcra, left, full_at, now));
        }
        if pending {
            // Used up before the top-up came: one unit at a time meanwhile.
            return Err(1);
        }
        let want = if live {
            // Used up within its lifetime: busy, grow.
            lease.granted.saturating_mul(2)
        } else {
            // Expired: ask for what was used.
            lease.granted - lease.left
        };
        let want = want.clamp(1, cap);
        if want > 1 {
            lease.refilling_until = Some(now + REFILL_WAIT);
        }
        Err(want)
    }

    /// Spend one leased unit of `bucket` at `now` if one is held and no
    /// top-up is due: what [`take`](Self::take) answers without asking
    /// Redis, and nothing changes otherwise (the request then goes to
    /// [`take`](Self::take) on its way to Redis).
    pub(crate) fn take_now(&self, bucket: &str, gcra: &Gcra, now: Instant) -> Option<Decision> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let lease = held.get_mut(bucket)?;
        if lease.policy != (gcra.t_us, gcra.tau_us)
            || now >= lease.expires
            || lease.left == 0
            || self.top_up(lease, gcra, now).is_some()
        {
            return None;
        }
        lease.left -= 1;
        let (left, full_at) = (lease.left, lease.full_at);
        drop(held);
        Some(leased_decision(gcra, left, full_at, now))
    }

    /// Record Redis's answer to a request for `asked` units of `bucket` sent
    /// at `sent`: `taken` units (the request's own included), the bucket
    /// full again `ahead_us` after the server's clock.
    pub(crate) fn granted(
        &self,
        bucket: &str,
        gcra: &Gcra,
        sent: Instant,
        asked: u32,
        taken: u32,
        ahead_us: u64,
    ) {
        if taken == 0 {
            if asked > 1
                && let Some(lease) = self
                    .held
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_mut(bucket)
            {
                lease.refilling_until = None;
            }
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
            let pending = lease.refilling_until.is_some_and(|until| sent < until);
            if asked == 1 && pending {
                // A one-unit answer while a lease is on its way: it spent
                // only its own unit, and the lease will reset the rest.
                lease.full_at = full_at.max(lease.full_at);
                return;
            }
            let left = (carried + taken - 1).min(self.most);
            *lease = Lease {
                policy,
                left,
                granted: left + 1,
                expires: sent + LEASE_LIFETIME,
                full_at: full_at.max(lease.full_at),
                refilling_until: None,
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
                refilling_until: None,
            },
        );
    }

    /// The units to ask for when a live lease with units left is due for a
    /// top-up: half spent within its lifetime (busy) and none on its way.
    /// The request that finds it so tops it up to twice its size (within
    /// the cap) while the bucket's other requests spend what is left.
    fn top_up(&self, lease: &Lease, gcra: &Gcra, now: Instant) -> Option<u32> {
        let pending = lease.refilling_until.is_some_and(|until| now < until);
        if pending || lease.left > lease.granted / 2 {
            return None;
        }
        let target = lease.granted.saturating_mul(2).min(self.cap(gcra));
        let want = (target + 1).saturating_sub(lease.left);
        (want > 1).then_some(want)
    }

    /// The most units one lease of `gcra`'s buckets takes: `most`, and at
    /// most a quarter of the bucket's capacity (at least 1).
    fn cap(&self, gcra: &Gcra) -> u32 {
        let capacity = gcra.tau_us / gcra.t_us + 1;
        let quarter = u32::try_from(capacity / 4).unwrap_or(u32::MAX);
        self.most.min(quarter).max(1)
    }
}

/// The decision for a leased unit spent at `now`, `left` units still held,
/// the bucket full at `full_at` with every leased unit counted: reported as
/// if the units still held here were not spent.
fn leased_decision(gcra: &Gcra, left: u32, full_at: Instant, now: Instant) -> Decision {
    let ahead = u64::try_from(full_at.saturating_duration_since(now).as_micros())
        .unwrap_or(u64::MAX)
        .saturating_sub(u64::from(left).saturating_mul(gcra.t_us))
        .max(gcra.t_us);
    gcra.allowed(ahead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate::{Outcome, Rate};

    fn gcra(count: u32) -> Gcra {
        Gcra::new(&Rate::new(count, Duration::from_secs(60)))
    }

    #[test]
    fn a_busy_bucket_is_topped_up_before_it_runs_dry() {
        let cache = LeaseCache::new(16);
        let g = gcra(6000); // t = 10 ms, capacity 6000: leases up to 16
        let now = Instant::now();
        let (mut local, mut asked) = (0, Vec::new());
        for _ in 0..1000 {
            match cache.take("b", &g, now) {
                Ok(d) => {
                    assert_eq!(d.outcome, Outcome::Allowed);
                    local += 1;
                }
                // Redis grants what is asked (the bucket is far from empty).
                Err(want) => {
                    asked.push(want);
                    cache.granted("b", &g, now, want, want, u64::from(want) * g.t_us);
                }
            }
            let held = cache.held.lock().unwrap()["b"].left;
            assert!(held <= 16, "{held} units held");
        }
        assert_eq!(local + asked.len(), 1000);
        // Grows 1, 2, then tops up to twice its size, up to 16 held.
        assert_eq!(asked[..4], [1, 2, 4, 9]);
        assert!(asked.iter().all(|w| *w <= 16), "{asked:?}");
        assert!(
            asked.len() <= 125,
            "{} calls for 1000 requests",
            asked.len()
        );
        // A grant beyond `most` is cut to `most`.
        cache.granted("b", &g, now, 100, 100, 111 * g.t_us);
        assert_eq!(cache.held.lock().unwrap()["b"].left, 16);
    }

    #[test]
    fn an_expired_lease_is_not_spent_and_the_next_asks_for_what_was_used() {
        let cache = LeaseCache::new(64);
        let g = gcra(6000);
        let now = Instant::now();
        cache.granted("b", &g, now, 10, 10, 10 * g.t_us);
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
        cache.granted("b", &g, now, 2, 2, 2 * g.t_us); // 1 held
        // Half spent already: topped up to the cap of 2, no more.
        assert_eq!(cache.take("b", &g, now), Err(2));
        assert!(cache.take("b", &g, now).is_ok());
        assert_eq!(cache.take("b", &g, now), Err(1));
        assert_eq!(cache.take("b", &gcra(9), now), Err(1));
    }

    #[test]
    fn while_a_top_up_is_on_its_way_the_bucket_spends_what_is_left_then_asks_one_at_a_time() {
        let cache = LeaseCache::new(64);
        let g = gcra(6000);
        let now = Instant::now();
        cache.granted("b", &g, now, 4, 4, 4 * g.t_us); // 3 held, lease of 4
        assert!(cache.take("b", &g, now).is_ok()); // 2 held: half spent
        assert_eq!(cache.take("b", &g, now), Err(7)); // top up to 8
        // Other requests spend what is left, then go one unit at a time.
        assert!(cache.take("b", &g, now).is_ok());
        assert!(cache.take("b", &g, now).is_ok());
        assert_eq!(cache.take("b", &g, now), Err(1));
        cache.granted("b", &g, now, 1, 1, 7 * g.t_us);
        assert_eq!(cache.take("b", &g, now), Err(1));
        // The top-up arrives: 6 held beside its own request's unit.
        cache.granted("b", &g, now, 7, 7, 14 * g.t_us);
        assert_eq!(cache.held.lock().unwrap()["b"].left, 6);
        // An answer that never comes does not block top-ups for long.
        for _ in 0..3 {
            assert!(cache.take("b", &g, now).is_ok());
        }
        let w = cache.take("b", &g, now).unwrap_err();
        assert!(w > 1);
        assert!(cache.take("b", &g, now).is_ok());
        let later = now + REFILL_WAIT;
        assert!(cache.take("b", &g, later).unwrap_err() > 1);
    }

    #[test]
    fn take_now_spends_only_what_needs_no_call_and_changes_nothing_else() {
        let cache = LeaseCache::new(64);
        let g = gcra(6000);
        let now = Instant::now();
        assert!(cache.take_now("b", &g, now).is_none());
        cache.granted("b", &g, now, 8, 8, 8 * g.t_us); // 7 held, lease of 8
        for _ in 0..3 {
            assert!(cache.take_now("b", &g, now).is_some());
        }
        // 4 held: half spent, a top-up is due: left to `take`, untouched.
        assert!(cache.take_now("b", &g, now).is_none());
        assert!(cache.take_now("b", &g, now).is_none());
        assert_eq!(cache.take("b", &g, now), Err(13));
        // While it travels, the rest is spent without waiting.
        for _ in 0..4 {
            assert!(cache.take_now("b", &g, now).is_some());
        }
        assert!(cache.take_now("b", &g, now).is_none());
        assert!(cache.take_now("b", &g, now + LEASE_LIFETIME).is_none());
    }

    #[test]
    fn leased_decisions_report_the_units_held_as_unspent() {
        let cache = LeaseCache::new(64);
        let g = gcra(60); // t = 1 s, capacity 60
        let now = Instant::now();
        // Ten units taken from a full bucket: tat 10 s ahead.
        cache.granted("b", &g, now, 10, 10, 10_000_000);
        let d = cache.take("b", &g, now).unwrap();
        // Two used (the grant's own and this one): 58 remain.
        assert_eq!(d.remaining, 58);
    }
}
