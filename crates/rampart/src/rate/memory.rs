//! The in-memory store: `governor` decides, a bounded sharded map remembers.
//!
//! Each prepared policy is a `governor::RateLimiter` whose state store is a
//! view on one map shared by every policy of the limiter. The map holds at
//! most `max_keys` buckets: it is split into shards with a fixed capacity
//! each, and a shard that is full evicts before it inserts. Eviction first
//! drops buckets that are full again (`tat <= now`, indistinguishable from an
//! absent bucket, so nothing is lost), and always at least an eighth of the
//! shard, taking the buckets nearest to full. A flood of new keys therefore
//! costs amortised O(1) per insert and never grows memory past the cap; what
//! it can do is make the least-used buckets forget their state early.
//!
//! Keys are 64-bit SipHash digests under a per-process random key, so no
//! string is stored or allocated per request and nobody can aim collisions.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hash, Hasher, RandomState};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use governor::Quota;
use governor::clock::Clock;

use crate::clock::{ManualClock, SharedClock, SystemClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;

use crate::rate::Decision;
use crate::rate::gcra::Gcra;
use crate::rate::key::RateKeyValue;

/// Default most buckets held by the in-memory store.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Settings of the in-memory store.
#[derive(Debug, Clone)]
pub struct MemoryConfig {
    /// Most buckets held at once, over all policies (default 100 000).
    /// Memory stays under about `max_keys × 40` bytes.
    pub max_keys: usize,
    /// How often a background task drops idle buckets (default 60 s;
    /// `None`: only when the store is full, or on [`RateLimiter::sweep`](crate::rate::RateLimiter::sweep)).
    pub sweep_interval: Option<Duration>,
    /// The clock (monotonic; [`RateClock::fake`] in tests).
    pub clock: RateClock,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            max_keys: DEFAULT_MAX_KEYS,
            sweep_interval: Some(Duration::from_secs(60)),
            clock: RateClock::monotonic(),
        }
    }
}

impl MemoryConfig {
    /// Hold at most `max_keys` buckets.
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// Use this clock.
    pub fn clock(mut self, clock: RateClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sweep idle buckets this often (`None`: never in the background).
    pub fn sweep_interval(mut self, every: Option<Duration>) -> Self {
        self.sweep_interval = every;
        self
    }
}

/// Shards of the bucket map (fewer when `max_keys` is smaller).
const SHARDS: usize = 64;

/// The clock of the in-memory store: the monotonic time of a
/// [`crate::clock::Clock`] (the system's, or a manual one in tests).
#[derive(Debug, Clone)]
pub struct RateClock {
    clock: SharedClock,
    /// Set for [`fake`](Self::fake) clocks, which [`advance`](Self::advance) moves.
    manual: Option<ManualClock>,
}

impl RateClock {
    /// The process's monotonic clock.
    pub fn monotonic() -> Self {
        RateClock {
            clock: Arc::new(SystemClock),
            manual: None,
        }
    }

    /// A clock that stands still until [`advance`](Self::advance)d; clones share it.
    pub fn fake() -> Self {
        let manual = ManualClock::at(0);
        RateClock {
            clock: Arc::new(manual.clone()),
            manual: Some(manual),
        }
    }

    /// The monotonic time of `clock` (e.g. the [`ManualClock`] a test also
    /// gives its `Security`, so one `advance` moves every deadline).
    pub fn of(clock: SharedClock) -> Self {
        RateClock {
            clock,
            manual: None,
        }
    }

    /// Move a fake clock forward (ignored by other clocks: advance the
    /// [`ManualClock`] given to [`of`](Self::of) instead).
    pub fn advance(&self, by: Duration) {
        if let Some(manual) = &self.manual {
            manual.advance(by);
        }
    }

    /// Nanoseconds since this clock's origin.
    fn nanos(&self) -> u64 {
        u64::try_from(self.clock.monotonic().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl Clock for RateClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos())
    }
}

/// Identity hasher: map keys are already SipHash digests.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Shard = HashMap<u64, u64, BuildHasherDefault<Prehashed>>;

/// The bounded map: key digest -> `tat` in nanoseconds since the clock origin.
struct Shards {
    shards: Box<[Mutex<Shard>]>,
    shard_cap: usize,
    clock: RateClock,
}

impl Shards {
    fn new(max_keys: usize, clock: RateClock) -> Self {
        let max_keys = max_keys.max(1);
        let count = SHARDS.min(max_keys).next_power_of_two();
        let count = if count > max_keys { count / 2 } else { count }.max(1);
        Shards {
            shards: (0..count).map(|_| Mutex::new(Shard::default())).collect(),
            shard_cap: max_keys / count,
            clock,
        }
    }

    fn lock(&self, digest: u64) -> MutexGuard<'_, Shard> {
        // Middle bits pick the shard; the map itself uses the low and high bits.
        let index = ((digest >> 32) as usize) & (self.shards.len() - 1);
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    fn sweep(&self) {
        for shard in self.shards.iter() {
            let now = self.clock.nanos();
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.retain(|_, tat| *tat > now);
            if shard.capacity() > 4 * shard.len().max(16) {
                shard.shrink_to_fit();
            }
        }
    }
}

/// Make room for one insert in a full shard: drop every bucket that is full
/// again (lossless) and at least an eighth of the shard, nearest-to-full first.
fn evict(shard: &mut Shard, now: u64) {
    let need = (shard.len() / 8).max(1);
    let mut tats: Vec<u64> = shard.values().copied().collect();
    let (below, nth, _) = tats.select_nth_unstable(need - 1);
    let nth = *nth;
    if nth <= now {
        // At least `need` buckets are full again: dropping them loses nothing.
        shard.retain(|_, tat| *tat > now);
        return;
    }
    // Drop everything older than the need-th oldest, and as many of its
    // equals as it takes to reach `need`.
    let mut equal_budget = need - below.iter().filter(|t| **t < nth).count();
    shard.retain(|_, tat| {
        if *tat < nth {
            false
        } else if *tat == nth && equal_budget > 0 {
            equal_budget -= 1;
            false
        } else {
            true
        }
    });
}

/// The in-memory store of one [`RateLimiter`](crate::rate::RateLimiter).
pub(crate) struct MemoryStore {
    shards: Arc<Shards>,
    hasher: RandomState,
    max_keys: usize,
}

impl MemoryStore {
    pub(crate) fn new(config: &MemoryConfig) -> Self {
        let shards = Shards::new(config.max_keys, config.clock.clone());
        let max_keys = shards.shard_cap * shards.shards.len();
        MemoryStore {
            shards: Arc::new(shards),
            hasher: RandomState::new(),
            max_keys,
        }
    }

    pub(crate) fn policy(&self, gcra: Gcra, scope: &str) -> MemoryPolicy {
        let clock = self.shards.clock.clone();
        // governor measures from the instant it is built; remember ours so
        // stored times are absolute (and comparable across policies).
        let origin = clock.nanos();
        let burst = NonZeroU32::new(u32::try_from(gcra.tau_us / gcra.t_us + 1).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(gcra.t())
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        let store = PolicyStore {
            shards: self.shards.clone(),
            origin,
        };
        MemoryPolicy {
            limiter: governor::RateLimiter::new(quota, store, clock),
            shards: self.shards.clone(),
            seeded: {
                let mut hasher = self.hasher.build_hasher();
                scope.hash(&mut hasher);
                hasher
            },
            gcra,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    pub(crate) fn max_keys(&self) -> usize {
        self.max_keys
    }

    pub(crate) fn sweep(&self) {
        self.shards.sweep();
    }
}

/// One request's key for governor, carrying the bucket's `tat` back out.
#[derive(Debug, Clone)]
struct Probe {
    digest: u64,
    /// After the check: the bucket's `tat` (absolute nanoseconds).
    tat: std::cell::Cell<u64>,
}

impl PartialEq for Probe {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
    }
}

impl Eq for Probe {}

impl Hash for Probe {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.digest.hash(state);
    }
}

/// A policy's view of the shared map, translating governor's times (relative
/// to when its limiter was built) to absolute ones.
struct PolicyStore {
    shards: Arc<Shards>,
    origin: u64,
}

impl StateStore for PolicyStore {
    type Key = Probe;

    fn measure_and_replace<T, F, E>(&self, key: &Probe, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut shard = self.shards.lock(key.digest);
        let previous = shard.get(&key.digest).copied();
        let relative = previous.map(|tat| Nanos::from(tat.saturating_sub(self.origin)));
        match f(relative) {
            Ok((value, next)) => {
                let tat = next.as_u64().saturating_add(self.origin);
                if previous.is_none() && shard.len() >= self.shards.shard_cap {
                    evict(&mut shard, self.shards.clock.nanos());
                }
                shard.insert(key.digest, tat);
                key.tat.set(tat);
                Ok(value)
            }
            Err(e) => {
                key.tat.set(previous.unwrap_or(0));
                Err(e)
            }
        }
    }
}

type Limiter = governor::RateLimiter<Probe, PolicyStore, RateClock, NoOpMiddleware<Duration>>;

/// A prepared policy in memory.
pub(crate) struct MemoryPolicy {
    limiter: Limiter,
    shards: Arc<Shards>,
    /// The keyed hasher with the policy's scope already absorbed.
    seeded: DefaultHasher,
    gcra: Gcra,
}

impl MemoryPolicy {
    pub(crate) fn decide(&self, key: RateKeyValue<'_>, spend: bool) -> Decision {
        let mut hasher = self.seeded.clone();
        key.hash_into(&mut hasher);
        let digest = hasher.finish();
        let shards = &self.shards;
        if !spend {
            let now = shards.clock.nanos();
            let tat = shards.lock(digest).get(&digest).copied().unwrap_or(now);
            return self.gcra.peeked(micros_ahead(tat, now));
        }
        let probe = Probe {
            digest,
            tat: std::cell::Cell::new(0),
        };
        let allowed = self.limiter.check_key(&probe).is_ok();
        let ahead = micros_ahead(probe.tat.get(), shards.clock.nanos());
        if allowed {
            self.gcra.allowed(ahead)
        } else {
            self.gcra.limited(ahead)
        }
    }
}

/// Whole microseconds from `now` to `tat`, rounded up (0 when in the past).
fn micros_ahead(tat: u64, now: u64) -> u64 {
    tat.saturating_sub(now).div_ceil(1000)
}
