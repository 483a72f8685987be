//! Time for the sunset decision, injectable so tests need no sleeps.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug)]
pub struct ManualClock {
    unix_millis: AtomicI64,
}

impl ManualClock {
    /// A clock reading `at`.
    pub fn new(at: SystemTime) -> Self {
        ManualClock {
            unix_millis: AtomicI64::new(to_millis(at)),
        }
    }

    /// A clock reading `secs` seconds after the Unix epoch.
    pub fn at_unix(secs: i64) -> Self {
        ManualClock {
            unix_millis: AtomicI64::new(secs.saturating_mul(1000)),
        }
    }

    /// Set the time.
    pub fn set(&self, at: SystemTime) {
        self.unix_millis.store(to_millis(at), Ordering::SeqCst);
    }

    /// Set the time to `secs` seconds after the Unix epoch.
    pub fn set_unix(&self, secs: i64) {
        self.unix_millis
            .store(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Move the time forward.
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.unix_millis.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        from_millis(self.unix_millis.load(Ordering::SeqCst))
    }
}

fn to_millis(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn from_millis(millis: i64) -> SystemTime {
    let magnitude = Duration::from_millis(millis.unsigned_abs());
    if millis >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// `secs` seconds after the Unix epoch (before it when negative).
pub(crate) fn unix_time(secs: i64) -> SystemTime {
    from_millis(secs.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix(1_800_000_000);
        assert_eq!(clock.now(), unix_time(1_800_000_000));
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), unix_time(1_800_000_005));
        clock.set_unix(-10);
        assert_eq!(clock.now(), UNIX_EPOCH - Duration::from_secs(10));
    }
}
