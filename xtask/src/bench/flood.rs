//! The unknown-API-key flood scenarios (`api-key-flood-sqlite`,
//! `api-key-flood-redis`): most connections send a fresh random key with
//! every request, each from its own loopback address that changes before the
//! lockout could catch it, while a few connections of a legitimate client
//! use one valid key. The row reports the legitimate client; the flood's
//! answers and the lookups that reached the key store are reported beside
//! it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use rampart::auth::api_key::BoxFuture;
use rampart::auth::{KeyRecord, KeyStore, KeyStoreError, RedisKeyStore, SqlKeyStore, StoredKey};

/// Requests each flood address sends before the next connection moves to
/// another: fewer than the lockout's five failures, so the lockout never
/// stops the flood and every unknown key is a lookup the store must bear
/// (the worst case for the key store).
pub(super) const REQUESTS_PER_ADDRESS: u32 = 4;

/// Connections of the legitimate client, out of the scenario's connections
/// (the rest flood).
pub(super) const LEGITIMATE_CONNECTIONS: usize = 4;

/// Which key store the flood meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Store {
    Sqlite,
    Redis,
}

/// A key store that counts the lookups that reach it.
pub(super) struct Counting {
    inner: Arc<dyn KeyStore>,
    lookups: AtomicU64,
}

impl Counting {
    /// Lookups so far.
    pub(super) fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }
}

impl KeyStore for Counting {
    fn lookup<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<StoredKey>>, KeyStoreError>> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.inner.lookup(id)
    }

    /// Answers from the store's memory (the SQL store's cache of valid
    /// keys) are not lookups.
    fn lookup_now(&self, id: &str) -> Option<Result<Option<Arc<StoredKey>>, KeyStoreError>> {
        self.inner.lookup_now(id)
    }

    fn probe(&self) -> Option<BoxFuture<'_, Result<(), String>>> {
        self.inner.probe()
    }
}

/// The store `which`, holding `valid`; `None` when Redis does not answer.
pub(super) async fn open(
    which: Store,
    valid: &KeyRecord,
    dir: &std::path::Path,
    redis_url: &str,
    redis_prefix: &str,
) -> Result<Option<Arc<Counting>>> {
    let inner: Arc<dyn KeyStore> = match which {
        Store::Sqlite => {
            let url = format!("sqlite:{}", dir.join("flood-keys.db").display());
            let store = SqlKeyStore::new(&url, true).map_err(anyhow::Error::msg)?;
            store
                .insert(valid)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("seeding the SQLite key store")?;
            // The server's own store: created already, not by it.
            Arc::new(SqlKeyStore::new(&url, false).map_err(anyhow::Error::msg)?)
        }
        Store::Redis => {
            let store = RedisKeyStore::new(redis_url)
                .map_err(anyhow::Error::msg)?
                .with_prefix(format!("{redis_prefix}:keys:"));
            if store.insert(valid).await.is_err() {
                return Ok(None);
            }
            Arc::new(store)
        }
    };
    Ok(Some(Arc::new(Counting {
        inner,
        lookups: AtomicU64::new(0),
    })))
}

/// A random key of the right shape that no store holds.
pub(super) fn random_key() -> String {
    let secret: String = (0..43)
        .map(|_| {
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            char::from(ALPHABET[usize::from(rand::random::<u8>() % 64)])
        })
        .collect();
    format!("rk_{:016x}_{secret}", rand::random::<u64>())
}

/// A loopback address for one flood connection: 127.1.0.0/16 and up, never
/// the legitimate client's 127.0.0.1.
pub(super) fn random_address() -> IpAddr {
    let [a, b, c] = rand::random::<[u8; 3]>();
    IpAddr::V4(Ipv4Addr::new(127, 1 + a % 250, b, c.max(1)))
}

/// What the flood connections were answered, by status.
pub(super) type Statuses = BTreeMap<u16, u64>;

/// The report line under the row: what the flood got and what the store saw.
pub(super) fn summary(statuses: &Statuses, lookups: u64) -> String {
    let sent: u64 = statuses.values().sum();
    let by_status: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    format!(
        "flood (warm-up included): {sent} requests with random keys from rotating addresses ({}); lookups that reached the key store: {lookups}; server µs include the flood's",
        by_status.join(", ")
    )
}
