//! API keys in Redis, for services running as several instances.
//!
//! One hash per key at `<prefix><id>` (default prefix `rampart:apikey:`), with
//! fields `hash` (`sha256:<hex>`), `roles` (comma-separated), `active`
//! (`1`/`0`), and optionally `scopes` (comma-separated), `expires` (RFC 3339
//! or `YYYY-MM-DD`) and `created`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::auth::api_key::{BoxFuture, KeyRecord, KeyStore, KeyStoreError, StoredKey};

/// Default prefix of key hashes in Redis.
pub const DEFAULT_REDIS_PREFIX: &str = "rampart:apikey:";

/// Keys looked up in Redis on every request (connection made on first use).
pub struct RedisKeyStore {
    client: redis::Client,
    prefix: String,
    conn: tokio::sync::OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for RedisKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKeyStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisKeyStore {
    /// A store at `url` (`redis://host:port/db`); the URL is checked now, the connection made later.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url)
            .map_err(|_| "REDIS_URL is not a valid redis:// or rediss:// URL".to_owned())?;
        Ok(RedisKeyStore {
            client,
            prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            conn: tokio::sync::OnceCell::new(),
        })
    }

    /// Use another key prefix (tests, several APIs sharing one Redis).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    async fn conn(&self) -> Result<ConnectionManager, KeyStoreError> {
        self.conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(2)))
                    .set_response_timeout(Some(Duration::from_secs(2)))
                    .set_number_of_retries(1);
                self.client
                    .get_connection_manager_with_config(config)
                    .await
                    .map_err(|e| KeyStoreError(format!("{:?}", e.kind())))
            })
            .await
            .cloned()
    }

    /// Store a key record (what `cargo xtask apikey new --redis` does).
    pub async fn insert(&self, record: &KeyRecord) -> Result<(), KeyStoreError> {
        StoredKey::from_record(record).map_err(KeyStoreError)?;
        let mut fields: Vec<(&str, String)> = vec![
            ("hash", record.hash.clone()),
            ("roles", record.roles.join(",")),
            ("active", if record.active { "1" } else { "0" }.to_owned()),
        ];
        if !record.schemes.is_empty() {
            fields.push(("schemes", record.schemes.join(",")));
        }
        if !record.scopes.is_empty() {
            fields.push(("scopes", record.scopes.join(",")));
        }
        if let Some(expires) = &record.expires {
            fields.push(("expires", expires.clone()));
        }
        if let Some(created) = &record.created {
            fields.push(("created", created.clone()));
        }
        let mut conn = self.conn().await?;
        conn.hset_multiple::<_, _, _, ()>(format!("{}{}", self.prefix, record.id), &fields)
            .await
            .map_err(|e| KeyStoreError(format!("{:?}", e.kind())))
    }

    /// Mark a key inactive; false if there is no such key.
    pub async fn revoke(&self, id: &str) -> Result<bool, KeyStoreError> {
        let mut conn = self.conn().await?;
        let key = format!("{}{id}", self.prefix);
        let exists: bool = conn
            .exists(&key)
            .await
            .map_err(|e| KeyStoreError(format!("{:?}", e.kind())))?;
        if exists {
            conn.hset::<_, _, _, ()>(&key, "active", "0")
                .await
                .map_err(|e| KeyStoreError(format!("{:?}", e.kind())))?;
        }
        Ok(exists)
    }

    /// Every key under the prefix, ordered by id (hashes, never keys).
    pub async fn list(&self) -> Result<Vec<KeyRecord>, KeyStoreError> {
        let mut conn = self.conn().await?;
        let mut names: Vec<String> = Vec::new();
        {
            let mut iter = conn
                .scan_match::<_, String>(format!("{}*", self.prefix))
                .await
                .map_err(|e| KeyStoreError(format!("{:?}", e.kind())))?;
            while let Some(name) = futures_util::StreamExt::next(&mut iter).await {
                names.push(name.map_err(|e| KeyStoreError(format!("{:?}", e.kind())))?);
            }
        }
        names.sort();
        let mut records = Vec::with_capacity(names.len());
        for name in names {
            let id = &name[self.prefix.len()..];
            if let Some(record) = self.record(id).await? {
                records.push(record);
            }
        }
        Ok(records)
    }

    async fn record(&self, id: &str) -> Result<Option<KeyRecord>, KeyStoreError> {
        let mut conn = self.conn().await?;
        let fields: HashMap<String, String> = conn
            .hgetall(format!("{}{id}", self.prefix))
            .await
            .map_err(|e| KeyStoreError(format!("{:?}", e.kind())))?;
        let Some(hash) = fields.get("hash") else {
            return Ok(None);
        };
        let list = |name: &str| -> Vec<String> {
            fields
                .get(name)
                .map(|r| {
                    r.split(',')
                        .map(str::trim)
                        .filter(|r| !r.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Some(KeyRecord {
            id: id.to_owned(),
            hash: hash.clone(),
            roles: list("roles"),
            scopes: list("scopes"),
            schemes: list("schemes"),
            active: fields
                .get("active")
                .is_some_and(|a| a == "1" || a == "true"),
            expires: fields.get("expires").filter(|e| !e.is_empty()).cloned(),
            created: fields.get("created").filter(|e| !e.is_empty()).cloned(),
        }))
    }

    async fn fetch(&self, id: &str) -> Result<Option<Arc<StoredKey>>, KeyStoreError> {
        let Some(record) = self.record(id).await? else {
            return Ok(None);
        };
        match StoredKey::from_record(&record) {
            Ok(key) => Ok(Some(Arc::new(key))),
            Err(e) => {
                tracing::error!(target: "rampart::audit", event = "apikey.record_invalid", key_id = id, error = %e, "ignored an invalid API key record in Redis");
                Ok(None)
            }
        }
    }
}

impl KeyStore for RedisKeyStore {
    fn lookup<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<StoredKey>>, KeyStoreError>> {
        Box::pin(self.fetch(id))
    }

    fn probe(&self) -> Option<BoxFuture<'_, Result<(), String>>> {
        Some(Box::pin(async {
            let mut conn = self.conn().await.map_err(|e| e.0)?;
            let command = redis::cmd("PING");
            command
                .query_async::<String>(&mut conn)
                .await
                .map(drop)
                .map_err(|e| format!("{:?}", e.kind()))
        }))
    }
}
