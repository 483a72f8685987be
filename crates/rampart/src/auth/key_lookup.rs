//! How the pipeline asks an API-key store, so that unauthenticated traffic
//! cannot turn a remote store (SQL, Redis) against the service:
//!
//! - answers the store holds in memory (a key file, the SQL store's cache of
//!   usable keys) come first and cost no lookup;
//! - **unknown ids are remembered** for `unknown-ttl` seconds (default 5;
//!   bounded to [`UNKNOWN_CAPACITY`] ids), so one guessed id sent again and
//!   again is looked up once;
//! - **one lookup per id at a time**: concurrent requests presenting the same
//!   id wait for the one lookup in flight and share its answer;
//! - **at most `max-lookups` remote lookups at once** per instance (default
//!   [`DEFAULT_MAX_LOOKUPS`]): beyond that the caller, and only the caller,
//!   gets 503 with `Retry-After` instead of a place in the store's queue, so
//!   a flood can neither exhaust the SQL pool nor pile up behind it;
//! - **ids that authenticated recently have a lane of their own**: an id the
//!   store answered with a key in the last [`KNOWN_TTL`] (at most
//!   [`KNOWN_CAPACITY`] ids) is looked up under a second limit of
//!   `max-lookups`, which unknown ids cannot take, so a flood of random keys
//!   from many addresses cannot starve a legitimate client of a store that
//!   caches no valid key (Redis). An attacker who knows a valid id gains
//!   little: its lookups are single-flight, one at a time. The SQL pool is
//!   sized for both lanes, `2 × max-lookups` + 2, the two left for `/readyz`
//!   and administration.
//!
//! The pipeline adds the last piece: a client whose address is locked out is
//! refused before any remote lookup is made for it (`pipeline/guard.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OnceCell, Semaphore};

use crate::auth::api_key::{KeyStore, KeyStoreError, StoredKey};
use crate::clock::SharedClock;

/// Default number of remote key lookups one instance makes at once.
pub(crate) const DEFAULT_MAX_LOOKUPS: usize = 6;
/// Default seconds an unknown key id is remembered.
pub(crate) const DEFAULT_UNKNOWN_TTL_SECS: u64 = 5;
/// Unknown ids remembered at most, per store.
pub(crate) const UNKNOWN_CAPACITY: usize = 10_000;
/// How long an id that authenticated keeps its own lookup lane.
pub(crate) const KNOWN_TTL: Duration = Duration::from_secs(15 * 60);
/// Ids with their own lane at most, per store.
pub(crate) const KNOWN_CAPACITY: usize = 10_000;
/// Lookups in flight above which finished entries are swept from the
/// single-flight table (they are normally removed as they finish).
const INFLIGHT_SWEEP: usize = 1024;

/// A store's answer for one id.
pub(crate) type Answer = Result<Option<Arc<StoredKey>>, KeyStoreError>;

/// The result of asking for one id.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The store answered (or its answer was remembered).
    Answered(Answer),
    /// `max-lookups` remote lookups were already in flight.
    Busy,
}

/// Limits for [`KeyLookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LookupLimits {
    /// Remote lookups in flight at once (at least 1).
    pub max_lookups: usize,
    /// How long an unknown id is remembered; zero: never.
    pub unknown_ttl: Duration,
}

impl Default for LookupLimits {
    fn default() -> Self {
        LookupLimits {
            max_lookups: DEFAULT_MAX_LOOKUPS,
            unknown_ttl: Duration::from_secs(DEFAULT_UNKNOWN_TTL_SECS),
        }
    }
}

/// A key store behind the protections described in the module docs.
pub(crate) struct KeyLookup {
    store: Arc<dyn KeyStore>,
    clock: SharedClock,
    unknown_ttl: Duration,
    /// Unknown ids and until when (on the monotonic clock) they are known to be unknown.
    unknown: ExpiringIds,
    /// Ids the store answered with a key, and until when they keep the
    /// `known_permits` lane.
    known: ExpiringIds,
    /// The lookup in flight for each id.
    inflight: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
    permits: Semaphore,
    known_permits: Semaphore,
}

impl std::fmt::Debug for KeyLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLookup")
            .field("unknown_ttl", &self.unknown_ttl)
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl KeyLookup {
    pub(crate) fn new(store: Arc<dyn KeyStore>, clock: SharedClock, limits: LookupLimits) -> Self {
        KeyLookup {
            store,
            clock,
            unknown_ttl: limits.unknown_ttl,
            unknown: ExpiringIds::new(UNKNOWN_CAPACITY),
            known: ExpiringIds::new(KNOWN_CAPACITY),
            inflight: Mutex::new(HashMap::new()),
            permits: Semaphore::new(limits.max_lookups.max(1)),
            known_permits: Semaphore::new(limits.max_lookups.max(1)),
        }
    }

    /// The store asked.
    pub(crate) fn store(&self) -> &Arc<dyn KeyStore> {
        &self.store
    }

    /// The answer for `id` without waiting: the store's own in-memory answer,
    /// or a remembered unknown id; `None` when a remote lookup is needed.
    pub(crate) fn now(&self, id: &str) -> Option<Answer> {
        if let Some(answer) = self.store.lookup_now(id) {
            return Some(answer);
        }
        self.known_unknown(id).then_some(Ok(None))
    }

    /// The answer for `id`, looked up remotely when [`now`](Self::now) has none.
    pub(crate) async fn lookup(&self, id: &str) -> Lookup {
        if let Some(answer) = self.now(id) {
            return Lookup::Answered(answer);
        }
        let pending = self.join(id);
        let answer = pending
            .cell
            .get_or_try_init(|| async {
                // Not queued: a caller over the limit is told to come back.
                let lane = if self.is_known(id) {
                    &self.known_permits
                } else {
                    &self.permits
                };
                let Ok(_permit) = lane.try_acquire() else {
                    return Err(());
                };
                let answer = self.store.lookup(id).await;
                match &answer {
                    Ok(None) => self.remember_unknown(id),
                    Ok(Some(_)) => self.remember_known(id),
                    Err(_) => {}
                }
                Ok(answer)
            })
            .await;
        match answer {
            Ok(answer) => Lookup::Answered(answer.clone()),
            Err(()) => Lookup::Busy,
        }
    }

    /// The single-flight entry for `id`, joined or created.
    fn join<'a>(&'a self, id: &'a str) -> Pending<'a> {
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if inflight.len() >= INFLIGHT_SWEEP {
            inflight.retain(|_, cell| !cell.initialized());
        }
        let cell = match inflight.get(id) {
            // A finished entry left behind holds an old answer: start afresh.
            Some(cell) if !cell.initialized() => cell.clone(),
            _ => {
                let cell = Arc::new(OnceCell::new());
                inflight.insert(id.to_owned(), cell.clone());
                cell
            }
        };
        Pending {
            table: &self.inflight,
            id,
            cell,
        }
    }

    fn known_unknown(&self, id: &str) -> bool {
        !self.unknown_ttl.is_zero() && self.unknown.holds(id, self.clock.monotonic())
    }

    fn is_known(&self, id: &str) -> bool {
        self.known.holds(id, self.clock.monotonic())
    }

    /// `id` was found: it gets its own lane for [`KNOWN_TTL`]. The key it
    /// named may still be revoked or mistyped: every lookup asks the store.
    fn remember_known(&self, id: &str) {
        self.known.insert(id, self.clock.monotonic(), KNOWN_TTL);
    }

    fn remember_unknown(&self, id: &str) {
        if !self.unknown_ttl.is_zero() {
            self.unknown
                .insert(id, self.clock.monotonic(), self.unknown_ttl);
        }
    }
}

/// Ids remembered until a time on the monotonic clock, at most `capacity`.
struct ExpiringIds {
    capacity: usize,
    until: Mutex<HashMap<String, Duration>>,
}

impl ExpiringIds {
    fn new(capacity: usize) -> Self {
        ExpiringIds {
            capacity,
            until: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `id` is remembered at `now`.
    fn holds(&self, id: &str, now: Duration) -> bool {
        let until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.get(id).is_some_and(|until| *until > now)
    }

    /// Remember `id` for `ttl` from `now`. When full, expired ids are swept;
    /// still full of live ones (a flood of random ids, which no cache can
    /// help with), a new id is not kept.
    fn insert(&self, id: &str, now: Duration, ttl: Duration) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if until.len() >= self.capacity && !until.contains_key(id) {
            until.retain(|_, u| *u > now);
            if until.len() >= self.capacity {
                return;
            }
        }
        until.insert(id.to_owned(), now + ttl);
    }
}

/// One caller's share of a lookup in flight; the last one out removes the
/// entry, so the table holds only lookups still running.
struct Pending<'a> {
    table: &'a Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
    id: &'a str,
    cell: Arc<OnceCell<Answer>>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        // The table's reference and this one: nobody else is waiting.
        if Arc::strong_count(&self.cell) <= 2
            && table
                .get(self.id)
                .is_some_and(|cell| Arc::ptr_eq(cell, &self.cell))
        {
            table.remove(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::api_key::BoxFuture;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A store that answers after `gate` opens and counts its lookups.
    struct Slow {
        gate: tokio::sync::Notify,
        lookups: AtomicU64,
    }

    impl KeyStore for Slow {
        fn lookup<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Answer> {
            Box::pin(async {
                self.lookups.fetch_add(1, Ordering::SeqCst);
                self.gate.notified().await;
                Ok(None)
            })
        }
    }

    fn setup(max_lookups: usize) -> (Arc<Slow>, Arc<ManualClock>, Arc<KeyLookup>) {
        let store = Arc::new(Slow {
            gate: tokio::sync::Notify::new(),
            lookups: AtomicU64::new(0),
        });
        let clock = Arc::new(ManualClock::at_unix(1_000));
        let lookup = Arc::new(KeyLookup::new(
            store.clone(),
            clock.clone(),
            LookupLimits {
                max_lookups,
                unknown_ttl: Duration::from_secs(5),
            },
        ));
        (store, clock, lookup)
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn concurrent_lookups_of_one_id_share_one_remote_lookup() {
        let (store, _, lookup) = setup(4);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let lookup = lookup.clone();
                tokio::spawn(async move { lookup.lookup("0123456789abcdef").await })
            })
            .collect();
        settle().await;
        store.gate.notify_waiters();
        for task in tasks {
            assert!(matches!(task.await.unwrap(), Lookup::Answered(Ok(None))));
        }
        assert_eq!(store.lookups.load(Ordering::SeqCst), 1);
        assert!(lookup.inflight.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn lookups_beyond_the_limit_are_busy_not_queued() {
        let (store, _, lookup) = setup(2);
        let ids: [&'static str; 2] = ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"];
        let running: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let lookup = lookup.clone();
                tokio::spawn(async move { lookup.lookup(id).await })
            })
            .collect();
        settle().await;
        assert!(matches!(
            lookup.lookup("cccccccccccccccc").await,
            Lookup::Busy
        ));
        store.gate.notify_waiters();
        for task in running {
            assert!(matches!(task.await.unwrap(), Lookup::Answered(Ok(None))));
        }
        assert_eq!(store.lookups.load(Ordering::SeqCst), 2);
        assert!(lookup.inflight.lock().unwrap().is_empty());
    }

    /// A store that finds every id, after `gate` opens.
    struct Finds {
        gate: tokio::sync::Notify,
    }

    impl KeyStore for Finds {
        fn lookup<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Answer> {
            Box::pin(async move {
                if id.starts_with('f') {
                    self.gate.notified().await;
                }
                let new = crate::auth::NewKey::generate(vec![], None, 0);
                Ok(Some(Arc::new(StoredKey::from_record(&new.record).unwrap())))
            })
        }
    }

    #[tokio::test]
    async fn ids_that_authenticated_keep_a_lane_a_flood_cannot_take() {
        let store = Arc::new(Finds {
            gate: tokio::sync::Notify::new(),
        });
        let clock = Arc::new(ManualClock::at_unix(1_000));
        let lookup = Arc::new(KeyLookup::new(
            store.clone(),
            clock.clone(),
            LookupLimits {
                max_lookups: 1,
                unknown_ttl: Duration::from_secs(5),
            },
        ));
        let valid = "0123456789abcdef";
        assert!(matches!(
            lookup.lookup(valid).await,
            Lookup::Answered(Ok(Some(_)))
        ));
        // The flood holds the only permit of unknown ids...
        let flood = {
            let lookup = lookup.clone();
            tokio::spawn(async move { lookup.lookup("ffffffffffffffff").await })
        };
        settle().await;
        assert!(matches!(
            lookup.lookup("eeeeeeeeeeeeeeee").await,
            Lookup::Busy
        ));
        // ...and the id that authenticated is still looked up.
        assert!(matches!(
            lookup.lookup(valid).await,
            Lookup::Answered(Ok(Some(_)))
        ));
        // Its lane lasts KNOWN_TTL.
        clock.advance(KNOWN_TTL);
        assert!(matches!(lookup.lookup(valid).await, Lookup::Busy));
        store.gate.notify_waiters();
        assert!(matches!(
            flood.await.unwrap(),
            Lookup::Answered(Ok(Some(_)))
        ));
    }

    #[tokio::test]
    async fn unknown_ids_are_remembered_for_their_ttl() {
        let (store, clock, lookup) = setup(2);
        let id = "dddddddddddddddd";
        let first = {
            let lookup = lookup.clone();
            tokio::spawn(async move { lookup.lookup(id).await })
        };
        settle().await;
        store.gate.notify_waiters();
        first.await.unwrap();
        assert!(matches!(lookup.now(id), Some(Ok(None))));
        assert!(matches!(
            lookup.lookup(id).await,
            Lookup::Answered(Ok(None))
        ));
        assert_eq!(store.lookups.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(5));
        assert!(lookup.now(id).is_none(), "forgotten after the TTL");
    }
}
