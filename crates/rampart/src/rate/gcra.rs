//! The GCRA arithmetic both stores share, in microseconds.
//!
//! A bucket is one number, its theoretical arrival time `tat`. With the
//! emission interval `t = period / count` and the tolerance
//! `tau = t * (capacity - 1)`, a request at `now` is allowed when
//! `now >= tat - tau`, and then `tat = max(tat, now) + t`; a missing bucket
//! is a bucket with `tat = now` (full). These are `governor`'s rules exactly;
//! the Redis script implements the same lines, so one rate gives the same
//! decisions in both stores.

use std::time::Duration;

use crate::rate::{Decision, Outcome, Rate};

/// The parameters of one quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gcra {
    /// Emission interval in microseconds (at least 1).
    pub(crate) t_us: u64,
    /// Tolerance in microseconds: `t * (capacity - 1)`.
    pub(crate) tau_us: u64,
    /// The quota shown to clients (`q`).
    pub(crate) limit: u32,
}

impl Gcra {
    pub(crate) fn new(rate: &Rate) -> Self {
        let period_us = u64::try_from(rate.period.as_micros()).unwrap_or(u64::MAX);
        let t_us = (period_us / u64::from(rate.count.max(1))).max(1);
        let tau_us = t_us.saturating_mul(u64::from(rate.capacity() - 1));
        Gcra {
            t_us,
            tau_us,
            limit: rate.count,
        }
    }

    /// This quota shared by `instances` equal instances: each allows its
    /// share of the count and of the burst (rounded up, at least 1) over the
    /// same period. The quota shown to clients (`limit`) stays the whole.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn shared_by(self, instances: u32) -> Gcra {
        if instances <= 1 {
            return self;
        }
        let count = u64::from(self.limit.max(1));
        let capacity = self.tau_us / self.t_us + 1;
        let period_us = self.t_us.saturating_mul(count);
        let share = count.div_ceil(u64::from(instances)).max(1);
        let capacity_share = capacity.div_ceil(u64::from(instances)).max(1);
        let t_us = (period_us / share).max(1);
        Gcra {
            t_us,
            tau_us: t_us.saturating_mul(capacity_share - 1),
            limit: self.limit,
        }
    }

    /// The emission interval as a `Duration`.
    pub(crate) fn t(&self) -> Duration {
        Duration::from_micros(self.t_us)
    }

    /// Units still available when the bucket's `tat` lies `ahead_us` after now.
    fn remaining(&self, ahead_us: u64) -> u32 {
        let full = self.tau_us + self.t_us;
        let left = full.saturating_sub(ahead_us).min(full);
        u32::try_from(left / self.t_us).unwrap_or(u32::MAX)
    }

    /// The decision after a request was allowed and `tat` moved `ahead_us`
    /// past now.
    pub(crate) fn allowed(&self, ahead_us: u64) -> Decision {
        Decision {
            outcome: Outcome::Allowed,
            limit: self.limit,
            remaining: self.remaining(ahead_us),
            reset: Duration::from_micros(ahead_us),
            retry_after: Duration::ZERO,
        }
    }

    /// The decision for a request that was refused while `tat` lies
    /// `ahead_us` after now (so `ahead_us > tau`).
    pub(crate) fn limited(&self, ahead_us: u64) -> Decision {
        Decision {
            outcome: Outcome::Limited,
            limit: self.limit,
            remaining: 0,
            reset: Duration::from_micros(ahead_us),
            retry_after: Duration::from_micros(ahead_us.saturating_sub(self.tau_us)),
        }
    }

    /// A decision from a bucket's state without spending (for `peek`).
    pub(crate) fn peeked(&self, ahead_us: u64) -> Decision {
        if ahead_us > self.tau_us {
            self.limited(ahead_us)
        } else {
            Decision {
                outcome: Outcome::Allowed,
                limit: self.limit,
                remaining: self.remaining(ahead_us),
                reset: Duration::from_micros(ahead_us),
                retry_after: Duration::ZERO,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_per_minute() {
        let g = Gcra::new(&Rate::new(5, Duration::from_secs(60)));
        assert_eq!(g.t_us, 12_000_000);
        assert_eq!(g.tau_us, 48_000_000);
        // First request on a full bucket: tat = now + t.
        let d = g.allowed(12_000_000);
        assert_eq!((d.remaining, d.reset_secs()), (4, 12));
        // Fifth: tat = now + 5t, nothing left, full again in a minute.
        let d = g.allowed(60_000_000);
        assert_eq!((d.remaining, d.reset_secs()), (0, 60));
        // Sixth is refused: one unit back after 12 s.
        let d = g.limited(60_000_000);
        assert_eq!((d.retry_after_secs(), d.reset_secs()), (12, 60));
    }

    #[test]
    fn burst_raises_capacity_not_limit() {
        let g = Gcra::new(&Rate::new(10, Duration::from_secs(60)).with_burst(20));
        assert_eq!(g.limit, 10);
        assert_eq!(g.allowed(g.t_us).remaining, 19);
    }

    #[test]
    fn absurd_rates_clamp_to_one_microsecond() {
        let g = Gcra::new(&Rate::new(u32::MAX, Duration::from_secs(1)));
        assert_eq!(g.t_us, 1);
    }
}
