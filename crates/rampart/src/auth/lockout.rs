//! Brute-force defence: failed authentications are counted per client IP and
//! per presented API key id; `threshold` failures within `window` lock that
//! client (or key id) out for `lock_for`, answered 429 with `Retry-After`.
//!
//! Counts live behind [`LockoutStore`]: in the rate-limit store's Redis when
//! the limiter uses Redis ([`RateLimiter::lockout_store`](crate::RateLimiter::lockout_store)),
//! else in [`MemoryLockout`] (bounded, sharded), the embedded default.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::auth::api_key::BoxFuture;

/// Default failures allowed per window.
pub const DEFAULT_THRESHOLD: u32 = 5;
/// Default counting window (and lock duration): 15 minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Default number of clients tracked in memory.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// When failures lock a client out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures that lock (the `5` of "5 in 15 min").
    pub threshold: u32,
    /// Seconds over which failures are counted.
    pub window: u64,
    /// Seconds a lock lasts.
    pub lock_for: u64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            threshold: DEFAULT_THRESHOLD,
            window: DEFAULT_WINDOW.as_secs(),
            lock_for: DEFAULT_WINDOW.as_secs(),
        }
    }
}

impl LockoutPolicy {
    /// From a rate such as `5/15min` (the shared rate grammar): lock for the window.
    pub fn from_rate(rate: &rampart_api::grammar::Rate) -> Self {
        let secs = rate.period.as_secs().max(1);
        LockoutPolicy {
            threshold: rate.count,
            window: secs,
            lock_for: secs,
        }
    }
}

/// What is being counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockTarget<'a> {
    /// A client IP.
    Ip(IpAddr),
    /// A presented API key id.
    KeyId(&'a str),
}

impl std::fmt::Display for LockTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockTarget::Ip(ip) => write!(f, "ip:{ip}"),
            LockTarget::KeyId(id) => write!(f, "key:{id}"),
        }
    }
}

/// A store of failure counts; implement it to share counts between instances.
pub trait LockoutStore: Send + Sync + 'static {
    /// Seconds left on a lock of `target`, if locked at `now`.
    fn locked<'a>(&'a self, target: LockTarget<'a>, now: u64) -> BoxFuture<'a, Option<u64>>;
    /// Count a failure at `now`; `Some(lock seconds)` if this failure locked `target`.
    fn fail<'a>(
        &'a self,
        target: LockTarget<'a>,
        now: u64,
        policy: LockoutPolicy,
    ) -> BoxFuture<'a, Option<u64>>;
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: u64,
    locked_until: u64,
    /// Failed again since the eviction clock last passed it (its second chance).
    referenced: bool,
}

impl Entry {
    fn stale(&self, now: u64, policy: &LockoutPolicy) -> bool {
        self.locked_until <= now && now.saturating_sub(self.window_start) >= policy.window
    }
}

const SHARDS: usize = 16;

/// Entries the eviction clock looks at, at most, to make room for one new
/// client: eviction is O(1) per insert, never a scan of the shard.
const EVICTION_PROBES: usize = 8;

/// One shard: the counts, and every key once in a ring in the order the
/// eviction clock visits them (second chance, "CLOCK").
struct Shard<K> {
    map: HashMap<K, Entry>,
    ring: VecDeque<K>,
}

impl<K: Hash + Eq + Clone> Shard<K> {
    fn new() -> Self {
        Shard {
            map: HashMap::new(),
            ring: VecDeque::new(),
        }
    }

    /// Make room for one entry by evicting one; returns the entries looked
    /// at (at most [`EVICTION_PROBES`]).
    ///
    /// The clock hand walks the ring from the front. A stale entry, or one
    /// neither locked nor failed again since the hand last passed it, is
    /// evicted. A locked entry, and one that failed again (its
    /// `referenced` bit, cleared as the hand passes), go to the back: a
    /// flood of one-off failures from fresh addresses evicts its own
    /// entries, not the locks and counts of the clients it hides among.
    /// When every probed entry was spared, the one that matters least (not
    /// locked before locked, then the lock that ends first) is evicted
    /// rather than stop counting the newcomer: an attacker filling the
    /// table must not switch the defence off for everyone else.
    fn evict_one(&mut self, now: u64, policy: &LockoutPolicy) -> usize {
        let probes = EVICTION_PROBES.min(self.ring.len());
        for visited in 1..=probes {
            let Some(key) = self.ring.pop_front() else {
                return visited - 1;
            };
            let Some(entry) = self.map.get_mut(&key) else {
                continue;
            };
            if entry.stale(now, policy) || (!entry.referenced && entry.locked_until <= now) {
                self.map.remove(&key);
                return visited;
            }
            entry.referenced = false;
            self.ring.push_back(key);
        }
        // The probed entries now sit at the back of the ring.
        let len = self.ring.len();
        let victim = (len - probes..len).min_by_key(|&i| {
            let e = self.map.get(&self.ring[i]);
            e.map(|e| (e.locked_until > now, e.locked_until, e.window_start))
        });
        if let Some(key) = victim.and_then(|i| self.ring.remove(i)) {
            self.map.remove(&key);
        }
        probes
    }
}

struct Shards<K> {
    maps: Box<[Mutex<Shard<K>>]>,
    hasher: RandomState,
}

impl<K: Hash + Eq + Clone> Shards<K> {
    fn new() -> Self {
        Shards {
            maps: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> &Mutex<Shard<K>> {
        &self.maps[(self.hasher.hash_one(key) as usize) % SHARDS]
    }
}

/// In-memory, bounded failure counts (the embedded default).
pub struct MemoryLockout {
    ips: Shards<IpAddr>,
    keys: Shards<String>,
    /// Entries held, for a lock-free "nothing tracked" fast path.
    entries: AtomicUsize,
    per_shard: usize,
    policy: LockoutPolicy,
}

impl std::fmt::Debug for MemoryLockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLockout")
            .field("entries", &self.entries.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl MemoryLockout {
    /// A store tracking at most about `capacity` IPs and as many key ids.
    pub fn new(capacity: usize, policy: LockoutPolicy) -> Self {
        MemoryLockout {
            ips: Shards::new(),
            keys: Shards::new(),
            entries: AtomicUsize::new(0),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            policy,
        }
    }

    /// Seconds left on a lock of `target`.
    pub fn locked_now(&self, target: LockTarget<'_>, now: u64) -> Option<u64> {
        if self.entries.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let until = match target {
            LockTarget::Ip(ip) => self.ips.shard(&ip).lock().ok()?.map.get(&ip)?.locked_until,
            LockTarget::KeyId(id) => self.keys.shard(id).lock().ok()?.map.get(id)?.locked_until,
        };
        (until > now).then(|| until - now)
    }

    /// Count a failure; `Some(lock seconds)` if it locked `target`.
    pub fn fail_now(&self, target: LockTarget<'_>, now: u64, policy: LockoutPolicy) -> Option<u64> {
        match target {
            LockTarget::Ip(ip) => self.fail_in(&self.ips, ip, now, policy),
            LockTarget::KeyId(id) => self.fail_in(&self.keys, id.to_owned(), now, policy),
        }
    }

    fn fail_in<K: Hash + Eq + Clone>(
        &self,
        shards: &Shards<K>,
        key: K,
        now: u64,
        policy: LockoutPolicy,
    ) -> Option<u64> {
        let mut shard = shards.shard(&key).lock().ok()?;
        let shard = &mut *shard;
        let entry = match shard.map.get_mut(&key) {
            Some(entry) => {
                entry.referenced = true;
                entry
            }
            None => {
                if shard.map.len() >= self.per_shard {
                    let before = shard.map.len();
                    shard.evict_one(now, &policy);
                    self.entries
                        .fetch_sub(before - shard.map.len(), Ordering::Relaxed);
                }
                self.entries.fetch_add(1, Ordering::Relaxed);
                shard.ring.push_back(key.clone());
                shard.map.entry(key).or_insert(Entry {
                    failures: 0,
                    window_start: now,
                    locked_until: 0,
                    referenced: false,
                })
            }
        };
        if entry.locked_until > now {
            return None;
        }
        if entry.locked_until != 0 || now.saturating_sub(entry.window_start) >= policy.window {
            *entry = Entry {
                failures: 0,
                window_start: now,
                locked_until: 0,
                referenced: entry.referenced,
            };
        }
        entry.failures += 1;
        if entry.failures >= policy.threshold {
            entry.locked_until = now + policy.lock_for;
            return Some(policy.lock_for);
        }
        None
    }
}

impl LockoutStore for MemoryLockout {
    fn locked<'a>(&'a self, target: LockTarget<'a>, now: u64) -> BoxFuture<'a, Option<u64>> {
        Box::pin(std::future::ready(self.locked_now(target, now)))
    }

    fn fail<'a>(
        &'a self,
        target: LockTarget<'a>,
        now: u64,
        policy: LockoutPolicy,
    ) -> BoxFuture<'a, Option<u64>> {
        Box::pin(std::future::ready(self.fail_now(target, now, policy)))
    }
}

/// The lockout the pipeline uses: the memory store without boxing, or any store.
#[derive(Clone)]
pub(crate) enum Lockout {
    Off,
    Memory(Arc<MemoryLockout>),
    Store(Arc<dyn LockoutStore>, LockoutPolicy),
}

impl std::fmt::Debug for Lockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lockout::Off => f.write_str("Off"),
            Lockout::Memory(m) => m.fmt(f),
            Lockout::Store(_, p) => f.debug_tuple("Store").field(p).finish(),
        }
    }
}

impl Lockout {
    /// Whether this lockout answers without I/O (off, or counts in memory).
    pub(crate) fn is_local(&self) -> bool {
        !matches!(self, Lockout::Store(..))
    }

    /// The policy, when on.
    pub(crate) fn policy(&self) -> Option<LockoutPolicy> {
        match self {
            Lockout::Off => None,
            Lockout::Memory(m) => Some(m.policy),
            Lockout::Store(_, p) => Some(*p),
        }
    }

    /// Whether failures are counted at all.
    pub(crate) fn is_on(&self) -> bool {
        !matches!(self, Lockout::Off)
    }

    /// [`locked`](Self::locked) for a local lockout; `None` for a store.
    pub(crate) fn locked_local(&self, target: LockTarget<'_>, now: u64) -> Option<Option<u64>> {
        match self {
            Lockout::Off => Some(None),
            Lockout::Memory(m) => Some(m.locked_now(target, now)),
            Lockout::Store(..) => None,
        }
    }

    /// [`fail`](Self::fail) for a local lockout; `None` for a store.
    pub(crate) fn fail_local(&self, target: LockTarget<'_>, now: u64) -> Option<Option<u64>> {
        match self {
            Lockout::Off => Some(None),
            Lockout::Memory(m) => Some(m.fail_now(target, now, m.policy)),
            Lockout::Store(..) => None,
        }
    }

    pub(crate) async fn locked(&self, target: LockTarget<'_>, now: u64) -> Option<u64> {
        match self {
            Lockout::Off => None,
            Lockout::Memory(m) => m.locked_now(target, now),
            Lockout::Store(s, _) => s.locked(target, now).await,
        }
    }

    pub(crate) async fn fail(&self, target: LockTarget<'_>, now: u64) -> Option<u64> {
        match self {
            Lockout::Off => None,
            Lockout::Memory(m) => m.fail_now(target, now, m.policy),
            Lockout::Store(s, policy) => s.fail(target, now, *policy).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_of_locks_still_counts_new_clients() {
        let policy = LockoutPolicy {
            threshold: 1,
            window: 60,
            lock_for: 60,
        };
        let store = MemoryLockout::new(SHARDS, policy);
        // Fill every shard with locked clients (threshold 1: one failure locks).
        for i in 0..(SHARDS as u32 * 8) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            store.fail_now(LockTarget::Ip(ip), i as u64 / 100, policy);
        }
        let newcomer = LockTarget::Ip("192.0.2.77".parse().unwrap());
        assert_eq!(store.fail_now(newcomer, 5, policy), Some(60));
        assert_eq!(store.locked_now(newcomer, 5), Some(60));
    }

    #[test]
    fn locks_after_threshold_and_recovers() {
        let policy = LockoutPolicy {
            threshold: 3,
            window: 60,
            lock_for: 60,
        };
        let store = MemoryLockout::new(100, policy);
        let ip = LockTarget::Ip("10.0.0.1".parse().unwrap());
        assert_eq!(store.fail_now(ip, 0, policy), None);
        assert_eq!(store.fail_now(ip, 1, policy), None);
        assert_eq!(store.locked_now(ip, 1), None);
        assert_eq!(store.fail_now(ip, 2, policy), Some(60));
        assert_eq!(store.locked_now(ip, 2), Some(60));
        assert_eq!(store.locked_now(ip, 61), Some(1));
        assert_eq!(store.locked_now(ip, 62), None);
        // Counting starts afresh after the lock.
        assert_eq!(store.fail_now(ip, 62, policy), None);
        assert_eq!(store.locked_now(ip, 62), None);
    }

    #[test]
    fn window_expiry_resets_counts() {
        let policy = LockoutPolicy {
            threshold: 2,
            window: 10,
            lock_for: 10,
        };
        let store = MemoryLockout::new(100, policy);
        let key = LockTarget::KeyId("abc");
        assert_eq!(store.fail_now(key, 0, policy), None);
        assert_eq!(store.fail_now(key, 11, policy), None);
        assert_eq!(store.fail_now(key, 12, policy), Some(10));
    }

    /// Issue 24, item 7: making room looks at a bounded number of entries,
    /// however large and however locked the shard is (it used to scan the
    /// whole shard, under its lock, for every new client).
    #[test]
    fn eviction_visits_a_bounded_number_of_entries() {
        let policy = LockoutPolicy {
            threshold: 1,
            window: 600,
            lock_for: 600,
        };
        let mut shard = Shard::new();
        for i in 0..10_000u32 {
            shard.ring.push_back(i);
            shard.map.insert(
                i,
                Entry {
                    failures: 1,
                    window_start: 0,
                    locked_until: 600 + u64::from(i % 7),
                    referenced: i % 2 == 0,
                },
            );
        }
        for round in 0..1000 {
            let visited = shard.evict_one(1, &policy);
            assert!(visited <= EVICTION_PROBES, "visited {visited}");
            assert_eq!(shard.map.len(), 10_000 - round - 1);
            assert_eq!(shard.ring.len(), shard.map.len());
        }
    }

    /// A flood of one-off failures from fresh addresses evicts its own
    /// entries, not a lock nor a count in progress (the old eviction took
    /// the unlocked entry with the oldest window first: the one counting
    /// the attacker's real address).
    #[test]
    fn a_flood_of_new_clients_keeps_locks_and_counts_in_progress() {
        let policy = LockoutPolicy {
            threshold: 3,
            window: 600,
            lock_for: 600,
        };
        let capacity = SHARDS * 64;
        let store = MemoryLockout::new(capacity, policy);
        let locked = LockTarget::Ip("192.0.2.1".parse().unwrap());
        let counting = LockTarget::Ip("192.0.2.2".parse().unwrap());
        for now in 0..3 {
            store.fail_now(locked, now, policy);
        }
        assert_eq!(store.locked_now(locked, 3), Some(599));
        store.fail_now(counting, 0, policy);
        store.fail_now(counting, 1, policy);
        // Fresh addresses that land in the counted client's shard: more
        // than it holds, so entries must be evicted there.
        let LockTarget::Ip(counted_ip) = counting else {
            unreachable!()
        };
        let home = store.ips.shard(&counted_ip);
        let flood = (0u32..)
            .map(|i| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)))
            .filter(|ip| std::ptr::eq(store.ips.shard(ip), home))
            .take(64 + 30);
        for ip in flood {
            store.fail_now(LockTarget::Ip(ip), 3, policy);
            assert!(home.lock().unwrap().map.len() <= 64);
        }
        assert_eq!(store.locked_now(locked, 4), Some(598));
        // The third failure of the counted client still locks it.
        assert_eq!(store.fail_now(counting, 4, policy), Some(600));
        // Far more fresh clients than fit: the lock stays, the bound holds.
        for i in 0..(capacity as u32 * 20) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            store.fail_now(LockTarget::Ip(ip), 5, policy);
        }
        assert_eq!(store.locked_now(locked, 6), Some(596));
        assert!(store.entries.load(Ordering::Relaxed) <= capacity);
        for shards in [&store.ips] {
            for shard in shards.maps.iter() {
                let shard = shard.lock().unwrap();
                assert_eq!(shard.map.len(), shard.ring.len());
                assert!(shard.map.len() <= 64);
            }
        }
    }

    #[test]
    fn bounded() {
        let policy = LockoutPolicy::default();
        let store = MemoryLockout::new(32, policy);
        for i in 0..1000u32 {
            store.fail_now(LockTarget::Ip(IpAddr::from(i.to_be_bytes())), 0, policy);
        }
        assert!(store.entries.load(Ordering::Relaxed) <= 32 + SHARDS);
    }
}
