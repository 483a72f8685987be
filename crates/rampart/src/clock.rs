//! Time, injectable, ONE source for the whole runtime: token expiry,
//! `nbf`/`iat`, lockout windows, JWKS refresh, API-key expiry (whole Unix
//! seconds, [`Clock::unix_secs`]), sunset decisions (wall time,
//! [`Clock::now`]) and the in-memory rate limiter (monotonic time,
//! [`Clock::monotonic`]) all read a [`Clock`], so tests move time with one
//! [`ManualClock`] instead of sleeping.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Wall-clock time.
    fn now(&self) -> SystemTime;

    /// Monotonic time since an origin fixed for the clock's life; never goes
    /// back (the rate limiter's time).
    fn monotonic(&self) -> Duration;

    /// Whole seconds since the Unix epoch (0 before it).
    fn unix_secs(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock: [`SystemTime`] and [`Instant`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn monotonic(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
}

/// A clock that only moves when told to (tests, simulations). Clones share
/// the time; [`advance`](Self::advance) moves wall and monotonic time
/// together, [`set`](Self::set) moves only the wall time (the monotonic time
/// never goes back).
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Manual>,
}

#[derive(Debug)]
struct Manual {
    unix_millis: AtomicI64,
    monotonic_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock reading `at`.
    pub fn new(at: SystemTime) -> Self {
        Self::from_millis(to_millis(at))
    }

    /// A clock reading `unix_secs` seconds after the Unix epoch.
    pub fn at(unix_secs: u64) -> Self {
        Self::from_millis(
            i64::try_from(unix_secs)
                .unwrap_or(i64::MAX)
                .saturating_mul(1000),
        )
    }

    /// A clock reading `secs` seconds after the Unix epoch (before it when
    /// negative).
    pub fn at_unix(secs: i64) -> Self {
        Self::from_millis(secs.saturating_mul(1000))
    }

    /// A clock stopped at the current system time.
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

    fn from_millis(unix_millis: i64) -> Self {
        ManualClock {
            inner: Arc::new(Manual {
                unix_millis: AtomicI64::new(unix_millis),
                monotonic_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// Move the time forward (wall and monotonic).
    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.inner.unix_millis.fetch_add(millis, Ordering::SeqCst);
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.inner
            .monotonic_nanos
            .fetch_add(nanos, Ordering::SeqCst);
    }

    /// Set the wall time to `unix_secs` seconds after the Unix epoch.
    pub fn set(&self, unix_secs: u64) {
        self.set_unix(i64::try_from(unix_secs).unwrap_or(i64::MAX));
    }

    /// Set the wall time to `secs` seconds after the Unix epoch.
    pub fn set_unix(&self, secs: i64) {
        self.inner
            .unix_millis
            .store(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Set the wall time.
    pub fn set_time(&self, at: SystemTime) {
        self.inner
            .unix_millis
            .store(to_millis(at), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        from_millis(self.inner.unix_millis.load(Ordering::SeqCst))
    }

    fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.inner.monotonic_nanos.load(Ordering::SeqCst))
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
    fn manual_time_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::at(1_800_000_000);
        let other = clock.clone();
        assert_eq!(clock.unix_secs(), 1_800_000_000);
        assert_eq!(clock.monotonic(), Duration::ZERO);
        other.advance(Duration::from_millis(1500));
        assert_eq!(clock.unix_secs(), 1_800_000_001);
        assert_eq!(clock.monotonic(), Duration::from_millis(1500));
        clock.set(1_700_000_000);
        assert_eq!(other.unix_secs(), 1_700_000_000);
        // Setting the wall time never moves monotonic time back.
        assert_eq!(other.monotonic(), Duration::from_millis(1500));
        clock.set_unix(-5);
        assert_eq!(clock.unix_secs(), 0);
        assert_eq!(clock.now(), UNIX_EPOCH - Duration::from_secs(5));
    }

    #[test]
    fn the_system_clock_is_monotonic_and_near_the_wall() {
        let a = SystemClock.monotonic();
        let b = SystemClock.monotonic();
        assert!(b >= a);
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(SystemClock.unix_secs().abs_diff(wall) <= 1);
    }
}
