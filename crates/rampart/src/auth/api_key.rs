//! API keys for service-to-service calls.
//!
//! A key looks like `rk_<id>_<secret>`: `id` is 16 hex digits naming the key
//! (so it is found without scanning), `secret` 256 random bits in base64url.
//! Only the SHA-256 of the whole key is stored (a fast hash is right for a
//! high-entropy key), compared in constant time; each stored key has an id,
//! roles, an active flag and an optional expiry. Stores: [`FileKeyStore`]
//! (embedded default, a TOML file), [`RedisKeyStore`] and [`SqlKeyStore`]
//! (PostgreSQL or SQLite), behind [`KeyStore`].
//!
//! [`FileKeyStore`]: crate::auth::FileKeyStore
//! [`RedisKeyStore`]: crate::auth::RedisKeyStore
//! [`SqlKeyStore`]: crate::auth::SqlKeyStore

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Every rampart API key starts with this.
pub const KEY_PREFIX: &str = "rk_";
/// Hex digits in a key id.
pub const KEY_ID_LEN: usize = 16;
/// Longest header value considered as an API key.
pub const MAX_KEY_LEN: usize = 128;

/// A boxed, sendable future (what store traits return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A key as written to a key file (and, field by field, to Redis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// The key id (the `<id>` of `rk_<id>_<secret>`).
    pub id: String,
    /// `sha256:` and the hex SHA-256 of the whole key.
    pub hash: String,
    /// Roles the key grants.
    #[serde(default)]
    pub roles: Vec<String>,
    /// OAuth2-style scopes the key grants (checked like a token's `scope`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The apiKey security schemes the key was issued for (empty: any).
    /// Presented in another scheme's header, the key is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemes: Vec<String>,
    /// Inactive keys are refused.
    #[serde(default = "yes")]
    pub active: bool,
    /// When the key stops working (RFC 3339 or `YYYY-MM-DD`), if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// When the key was made (RFC 3339), for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

fn yes() -> bool {
    true
}

/// A key ready to check against: parsed hash, roles, state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key id.
    pub id: String,
    /// SHA-256 of the whole key.
    pub hash: [u8; 32],
    /// Roles the key grants.
    pub roles: Vec<String>,
    /// Scopes the key grants.
    pub scopes: Vec<String>,
    /// The apiKey schemes the key is valid for; empty: every one.
    pub schemes: Vec<String>,
    /// Whether the key may be used.
    pub active: bool,
    /// Expiry, Unix seconds.
    pub expires_at: Option<i64>,
}

impl StoredKey {
    /// Parse a record; the message says which field is wrong.
    pub fn from_record(record: &KeyRecord) -> Result<Self, String> {
        let hex_hash = record.hash.strip_prefix("sha256:").ok_or_else(|| {
            format!(
                "key `{}`: `hash` must be `sha256:` followed by 64 hex digits",
                record.id
            )
        })?;
        let mut hash = [0u8; 32];
        hex::decode_to_slice(hex_hash, &mut hash).map_err(|_| {
            format!(
                "key `{}`: `hash` must be `sha256:` followed by 64 hex digits",
                record.id
            )
        })?;
        if !valid_id(&record.id) {
            return Err(format!(
                "key id `{}` must be {KEY_ID_LEN} lower-case hex digits",
                record.id
            ));
        }
        let expires_at = match &record.expires {
            Some(text) => Some(
                rampart_api::grammar::parse_instant(text)
                    .map_err(|e| format!("key `{}`: {}", record.id, e.message))?,
            ),
            None => None,
        };
        Ok(StoredKey {
            id: record.id.clone(),
            hash,
            roles: record.roles.clone(),
            scopes: record.scopes.clone(),
            schemes: record.schemes.clone(),
            active: record.active,
            expires_at,
        })
    }
}

/// A freshly generated key: the secret text (shown once) and the record to store.
#[derive(Clone)]
pub struct NewKey {
    /// The whole key, `rk_<id>_<secret>`: give it to the client, store it nowhere.
    pub key: String,
    /// What to store: the hash, never the key.
    pub record: KeyRecord,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("key", &"[REDACTED]")
            .field("record", &self.record)
            .finish()
    }
}

impl NewKey {
    /// Generate a key with 64 random bits of id and 256 of secret.
    pub fn generate(roles: Vec<String>, expires: Option<String>, created_unix: i64) -> Self {
        let mut rng = rand::rng();
        let mut id = [0u8; KEY_ID_LEN / 2];
        rng.fill_bytes(&mut id);
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        let id = hex::encode(id);
        let key = format!("{KEY_PREFIX}{id}_{}", URL_SAFE_NO_PAD.encode(secret));
        let created = time::OffsetDateTime::from_unix_timestamp(created_unix)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        let record = KeyRecord {
            id,
            hash: format!("sha256:{}", hex::encode(hash_key(&key))),
            roles,
            scopes: Vec::new(),
            schemes: Vec::new(),
            active: true,
            expires,
            created,
        };
        NewKey { key, record }
    }

    /// The same key granting `scopes` as well.
    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        self.record.scopes = scopes;
        self
    }

    /// The same key bound to these apiKey security schemes: presented in
    /// any other scheme's header it is refused (`wrong_scheme`).
    pub fn with_schemes(mut self, schemes: Vec<String>) -> Self {
        self.record.schemes = schemes;
        self
    }
}

/// SHA-256 of a key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn valid_id(id: &str) -> bool {
    id.len() == KEY_ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The id of a presented key, if it has the `rk_<id>_<secret>` shape.
pub fn key_id(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (valid_id(id)
        && !secret.is_empty()
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(id)
}

/// An error of a key store (Redis down, ...). Answered 503, never shown to clients.
#[derive(Debug, Clone, thiserror::Error)]
#[error("API key store unavailable: {0}")]
pub struct KeyStoreError(pub String);

/// Where keys are looked up, by id.
pub trait KeyStore: Send + Sync + 'static {
    /// The key with this id, if any.
    fn lookup<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<StoredKey>>, KeyStoreError>>;

    /// The same answer without waiting, for stores that hold their keys in
    /// memory (the pipeline then needs no boxed future); `None` (the
    /// default) when the answer needs I/O.
    fn lookup_now(&self, id: &str) -> Option<Result<Option<Arc<StoredKey>>, KeyStoreError>> {
        let _ = id;
        None
    }

    /// Whether the store answers, for readiness (`/readyz`); `None` (the
    /// default) for stores that cannot be unreachable (a file in memory).
    fn probe(&self) -> Option<BoxFuture<'_, Result<(), String>>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_hash() {
        let new = NewKey::generate(vec!["admin".into()], None, 0);
        assert!(new.key.starts_with("rk_"));
        assert_eq!(key_id(&new.key), Some(new.record.id.as_str()));
        let stored = StoredKey::from_record(&new.record).unwrap();
        assert_eq!(stored.hash, hash_key(&new.key));
        assert!(new.key.len() > 60);
        assert!(!format!("{new:?}").contains(&new.key));
    }

    #[test]
    fn malformed_keys_have_no_id() {
        assert_eq!(key_id("rk_zz_abc"), None);
        assert_eq!(key_id("0123456789abcdef"), None);
        assert_eq!(key_id("rk_0123456789abcdef_"), None);
        assert_eq!(key_id("rk_0123456789abcdef_a b"), None);
        assert_eq!(key_id("rk_0123456789abcdef_ab"), Some("0123456789abcdef"));
    }
}
