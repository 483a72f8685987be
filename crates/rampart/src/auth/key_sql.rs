//! API keys in a SQL database: PostgreSQL for services running as several
//! instances, SQLite embedded for one. Through sqlx's `Any` driver, with
//! bound parameters only.
//!
//! One row per key in `rampart_api_keys` (created by the migrations shipped in
//! `crates/rampart/migrations`, run on first use and tracked in their own
//! table, `_rampart_migrations`, so they never mix with an application's):
//!
//! | column | holds |
//! |---|---|
//! | `id` | the 16 hex digits of `rk_<id>_<secret>` (primary key) |
//! | `hash` | `sha256:` and the hex SHA-256 of the whole key |
//! | `roles`, `scopes` | space-separated |
//! | `schemes` | the apiKey schemes the key was issued for, space-separated; empty: any (added by the second migration) |
//! | `created_at`, `expires_at`, `revoked_at` | Unix seconds (`expires_at`, `revoked_at` nullable) |
//!
//! A lookup reads one row by primary key; the presented key's hash is then
//! compared in constant time by the verifier. Keys found usable are cached
//! for [`SqlKeyStore::cache_ttl`] (default 5 s): a key revoked in the
//! database stops working on every instance within that bound (at once on
//! the instance that revoked it). Unknown ids are remembered by the runtime's
//! lookup layer (`unknown-ttl`), not here.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;

use crate::auth::api_key::{BoxFuture, KeyRecord, KeyStore, KeyStoreError, StoredKey};
use crate::clock::{SharedClock, SystemClock};
use crate::config::is_sql_url;

/// Default seconds a usable key is remembered (the revocation bound).
pub const DEFAULT_KEY_CACHE_SECS: u64 = 5;
/// Default number of database connections.
pub const DEFAULT_POOL_SIZE: u32 = 8;
/// Keys remembered at most, per store.
const CACHE_CAPACITY: usize = 10_000;
/// Time allowed for one statement, connection included.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// The table the key migrations are tracked in.
const MIGRATIONS_TABLE: &str = "_rampart_migrations";

/// The URL with any password replaced by `***`, for messages and logs.
pub fn mask_sql_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => text.to_owned(),
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}

/// The SQLite file a `sqlite:` URL names, if it names one (not `:memory:`).
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// The embedded migrations, tracked in their own table.
fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator.set_ignore_missing(true);
    migrator
}

struct Cached {
    key: Arc<StoredKey>,
    until: Duration,
}

/// Keys in PostgreSQL or SQLite; the pool connects (and migrates) on first use.
pub struct SqlKeyStore {
    url: String,
    options: AnyConnectOptions,
    pool: tokio::sync::OnceCell<AnyPool>,
    cache: Mutex<HashMap<String, Cached>>,
    cache_ttl: Duration,
    clock: SharedClock,
    pool_size: u32,
}

impl std::fmt::Debug for SqlKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlKeyStore")
            .field("url", &self.url)
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

fn sql_error(e: &sqlx::Error) -> KeyStoreError {
    // The kind only: a driver message may quote the URL or a row.
    let kind = match e {
        sqlx::Error::Configuration(_) => "configuration",
        sqlx::Error::Database(_) => "database error",
        sqlx::Error::Io(_) => "I/O error",
        sqlx::Error::Tls(_) => "TLS error",
        sqlx::Error::Protocol(_) => "protocol error",
        sqlx::Error::PoolTimedOut => "pool timed out",
        sqlx::Error::PoolClosed => "pool closed",
        sqlx::Error::Migrate(_) => "migration failed",
        _ => "query failed",
    };
    KeyStoreError(format!("SQL key store: {kind}"))
}

impl SqlKeyStore {
    /// A store at `url` (`postgres://user@host/db`, `sqlite:keys.db`). The URL
    /// is checked now; a SQLite file must exist unless `create` (which adds
    /// `mode=rwc`). Nothing is connected until first use.
    pub fn new(url: &str, create: bool) -> Result<Self, String> {
        sqlx::any::install_default_drivers();
        let masked = mask_sql_url(url);
        let mut url = url.trim().to_owned();
        if let Some(path) = sqlite_path(&url) {
            if create {
                if !url.contains("mode=") {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str("mode=rwc");
                }
            } else if !Path::new(path).exists() {
                return Err(format!(
                    "the SQLite key database `{path}` does not exist (create it with `cargo xtask apikey new --role ROLE --store {masked}`)"
                ));
            }
        } else if !is_sql_url(&url) {
            return Err(format!(
                "`{masked}` is not a SQL key store URL (postgres://... or sqlite:PATH)"
            ));
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|_| format!("`{masked}` is not a valid database URL"))?;
        Ok(SqlKeyStore {
            url: masked,
            options,
            pool: tokio::sync::OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
            cache_ttl: Duration::from_secs(DEFAULT_KEY_CACHE_SECS),
            clock: Arc::new(SystemClock),
            pool_size: DEFAULT_POOL_SIZE,
        })
    }

    /// Open at most `connections` database connections (default 8; the
    /// runtime sizes it `max-lookups` + 2, so lookups never take the
    /// connections `/readyz` and administration need).
    pub fn with_pool_size(mut self, connections: u32) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// Remember usable keys this long (0: ask the database every time). A
    /// revocation reaches this instance within it.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Measure cache ages with `clock` (tests).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// How long a usable key is remembered.
    pub fn cache_ttl(&self) -> Duration {
        self.cache_ttl
    }

    async fn pool(&self) -> Result<&AnyPool, KeyStoreError> {
        self.pool
            .get_or_try_init(|| async {
                let pool = AnyPoolOptions::new()
                    .max_connections(self.pool_size)
                    .acquire_timeout(QUERY_TIMEOUT)
                    .connect_lazy_with(self.options.clone());
                let migrate = async { migrator().run(&pool).await };
                match tokio::time::timeout(QUERY_TIMEOUT * 5, migrate).await {
                    Ok(Ok(())) => Ok(pool),
                    Ok(Err(e)) => {
                        tracing::error!(target: "rampart::audit", event = "apikey.migration_failed", store = %self.url, error = %e, "the API key table could not be created or migrated");
                        Err(sql_error(&sqlx::Error::Migrate(Box::new(e))))
                    }
                    Err(_) => Err(KeyStoreError("SQL key store: connection timed out".into())),
                }
            })
            .await
    }

    /// Run `query` bounded by the statement timeout.
    async fn bounded<T>(
        query: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, KeyStoreError> {
        match tokio::time::timeout(QUERY_TIMEOUT, query).await {
            Ok(result) => result.map_err(|e| sql_error(&e)),
            Err(_) => Err(KeyStoreError("SQL key store: query timed out".into())),
        }
    }

    /// Store a key record (what `cargo xtask apikey new --store URL` does).
    pub async fn insert(&self, record: &KeyRecord) -> Result<(), KeyStoreError> {
        let key = StoredKey::from_record(record).map_err(KeyStoreError)?;
        let created = match &record.created {
            Some(text) => rampart_api::grammar::parse_instant(text)
                .map_err(|e| KeyStoreError(format!("key `{}`: {}", record.id, e.message)))?,
            None => now_unix(&self.clock),
        };
        let pool = self.pool().await?;
        Self::bounded(
            sqlx::query(
                "INSERT INTO rampart_api_keys (id, hash, roles, scopes, created_at, expires_at, revoked_at, schemes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(record.id.as_str())
            .bind(record.hash.as_str())
            .bind(record.roles.join(" "))
            .bind(record.scopes.join(" "))
            .bind(created)
            .bind(key.expires_at)
            .bind((!record.active).then_some(created))
            .bind(record.schemes.join(" "))
            .execute(pool),
        )
        .await
        .map(drop)
    }

    /// Mark a key revoked; false if there is no such key. The key stops
    /// working here at once, elsewhere within the cache TTL.
    pub async fn revoke(&self, id: &str) -> Result<bool, KeyStoreError> {
        let pool = self.pool().await?;
        let now = now_unix(&self.clock);
        let done = Self::bounded(
            sqlx::query(
                "UPDATE rampart_api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(pool),
        )
        .await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(id);
        }
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        // Already revoked counts as found.
        Ok(self.row(id).await?.is_some())
    }

    /// Every key, oldest first (hashes, never keys).
    pub async fn list(&self) -> Result<Vec<KeyRecord>, KeyStoreError> {
        let pool = self.pool().await?;
        let rows: Vec<Row> = Self::bounded(
            sqlx::query_as(
                "SELECT id, hash, roles, scopes, created_at, expires_at, revoked_at, schemes \
                 FROM rampart_api_keys ORDER BY created_at, id",
            )
            .fetch_all(pool),
        )
        .await?;
        Ok(rows.into_iter().map(record_of).collect())
    }

    async fn row(&self, id: &str) -> Result<Option<Row>, KeyStoreError> {
        let pool = self.pool().await?;
        Self::bounded(
            sqlx::query_as(
                "SELECT id, hash, roles, scopes, created_at, expires_at, revoked_at, schemes \
                 FROM rampart_api_keys WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool),
        )
        .await
    }

    fn cached(&self, id: &str) -> Option<Arc<StoredKey>> {
        let cache = self.cache.lock().ok()?;
        let hit = cache.get(id)?;
        (hit.until > self.clock.monotonic()).then(|| hit.key.clone())
    }

    fn remember(&self, key: &Arc<StoredKey>) {
        if self.cache_ttl.is_zero() {
            return;
        }
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        let now = self.clock.monotonic();
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, c| c.until > now);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(
            key.id.clone(),
            Cached {
                key: key.clone(),
                until: now + self.cache_ttl,
            },
        );
    }

    async fn fetch(&self, id: &str) -> Result<Option<Arc<StoredKey>>, KeyStoreError> {
        if let Some(hit) = self.cached(id) {
            return Ok(Some(hit));
        }
        let Some(row) = self.row(id).await? else {
            return Ok(None);
        };
        let record = record_of(row);
        match StoredKey::from_record(&record) {
            Ok(key) => {
                let key = Arc::new(key);
                if key.active {
                    self.remember(&key);
                }
                Ok(Some(key))
            }
            Err(e) => {
                tracing::error!(target: "rampart::audit", event = "apikey.record_invalid", key_id = id, error = %e, "ignored an invalid API key row");
                Ok(None)
            }
        }
    }
}

/// `id, hash, roles, scopes, created_at, expires_at, revoked_at, schemes`.
type Row = (
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
);

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

fn record_of((id, hash, roles, scopes, created, expires, revoked, schemes): Row) -> KeyRecord {
    KeyRecord {
        id,
        hash,
        roles: words(&roles),
        scopes: words(&scopes),
        schemes: words(&schemes),
        active: revoked.is_none(),
        expires: expires.and_then(rfc3339),
        created: rfc3339(created),
    }
}

fn now_unix(clock: &SharedClock) -> i64 {
    i64::try_from(clock.unix_secs()).unwrap_or(i64::MAX)
}

impl KeyStore for SqlKeyStore {
    fn lookup<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<StoredKey>>, KeyStoreError>> {
        Box::pin(self.fetch(id))
    }

    fn lookup_now(&self, id: &str) -> Option<Result<Option<Arc<StoredKey>>, KeyStoreError>> {
        self.cached(id).map(|key| Ok(Some(key)))
    }

    fn probe(&self) -> Option<BoxFuture<'_, Result<(), String>>> {
        Some(Box::pin(async {
            let pool = self.pool().await.map_err(|e| e.0)?;
            Self::bounded(sqlx::query("SELECT 1").execute(pool))
                .await
                .map(drop)
                .map_err(|e| e.0)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_masked() {
        assert!(is_sql_url("postgres://u@h/db"));
        assert!(is_sql_url("PostgreSQL://u@h/db"));
        assert!(is_sql_url("sqlite:keys.db"));
        assert!(!is_sql_url("rampart-keys.toml"));
        assert!(!is_sql_url("redis://h"));
        assert_eq!(
            mask_sql_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(sqlite_path("sqlite://a/b.db?mode=ro"), Some("a/b.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn a_missing_sqlite_file_is_refused_with_the_way_to_make_it() {
        let err = SqlKeyStore::new("sqlite:/nonexistent/keys.db", false).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        assert!(err.contains("cargo xtask apikey new"), "{err}");
        let err = SqlKeyStore::new("mysql://h/db", false).unwrap_err();
        assert!(err.contains("not a SQL key store URL"), "{err}");
    }
}
