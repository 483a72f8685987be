//! Everything needed to serve the petstore: a `Security`
//! for development (HS256 secret, a local API key file), dev tokens, the
//! database URL the demo uses, and the router. Used by the demo binary and
//! the end-to-end tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart::ApiDescriptor;
use rampart::auth::{FileKeyStore, KeyFile, NewKey};
use rampart::{ConfigError, Security};

use crate::SqlPetstore;
use crate::db::{self, Database, OpenError};

/// The issuer dev tokens carry and the server requires.
pub const DEV_ISSUER: &str = "https://rampart.demo/issuer";
/// The audience dev tokens carry and the server requires.
pub const DEV_AUDIENCE: &str = "petstore";
/// A fresh 256-bit development secret, hex-encoded (64 bytes of text).
pub fn dev_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// Create an API key file at `path` holding one new key with `role`; returns the key.
pub fn dev_api_key(path: &Path, role: &str) -> Result<String, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let new = NewKey::generate(vec![role.to_owned()], None, now);
    let mut file = KeyFile::default();
    file.add(new.record);
    file.save(path)?;
    Ok(new.key)
}

/// A `Security` for development: HS256 `secret` for the bearer and OAuth2
/// schemes, API keys from `key_file`, in-memory rate limits.
pub fn dev_security(
    api: &ApiDescriptor,
    secret: &str,
    key_file: &Path,
) -> Result<Security, ConfigError> {
    let store = FileKeyStore::open(key_file).map_err(|e| {
        ConfigError::new(
            format!("cannot open the API key file: {e}"),
            "check the path",
        )
    })?;
    Security::builder(api)
        .jwt_hs256("bearerAuth", secret.as_bytes().to_vec())
        .jwt_hs256("oauth2", secret.as_bytes().to_vec())
        .issuer(DEV_ISSUER)
        .audience(DEV_AUDIENCE)
        .key_store("apiKey", Arc::new(store))
        .build()
}

/// A signed development token for `subject` with `roles` and `scopes`, valid for `ttl_secs`.
pub fn dev_token(
    secret: &str,
    subject: &str,
    roles: &[&str],
    scopes: &[&str],
    ttl_secs: u64,
) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = serde_json::json!({
        "sub": subject,
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "iat": now,
        "exp": now + ttl_secs,
        "roles": roles,
        "scope": scopes.join(" "),
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of JSON claims cannot fail")
}

/// The petstore router: the generated routes and policies over the pets and
/// owners in `db`.
pub fn router(security: Security, db: Database) -> axum::Router {
    petstore::router(SqlPetstore::new(db), security).into_router()
}

/// The variable that points the demo at a database (`postgres://...` or `sqlite:...`).
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";
/// The variable naming the demo's SQLite file when `DATABASE_URL` is unset.
pub const DEMO_DB_VAR: &str = "RAMPART_DEMO_DB";
/// The demo's SQLite file when neither variable is set, in the working directory.
pub const DEFAULT_DEMO_DB: &str = "petstore-demo.sqlite3";

/// Where the demo keeps its data: `DATABASE_URL` when set (not empty), else
/// a SQLite file at `RAMPART_DEMO_DB` (default `petstore-demo.sqlite3` in
/// the working directory), created when missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoDatabase {
    /// `DATABASE_URL`, as set.
    Url(String),
    /// A SQLite file.
    SqliteFile(PathBuf),
}

impl DemoDatabase {
    /// The choice `DATABASE_URL` and `RAMPART_DEMO_DB` make, read through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> DemoDatabase {
        match var(DATABASE_URL_VAR).filter(|v| !v.is_empty()) {
            Some(url) => DemoDatabase::Url(url),
            None => DemoDatabase::SqliteFile(
                var(DEMO_DB_VAR)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| DEFAULT_DEMO_DB.to_owned())
                    .into(),
            ),
        }
    }

    /// The choice the process environment makes.
    pub fn from_env() -> DemoDatabase {
        DemoDatabase::from_vars(|name| std::env::var(name).ok())
    }

    /// Where the data lives, for people: the URL without its password, or the file's path.
    pub fn describe(&self) -> String {
        match self {
            DemoDatabase::Url(url) => format!("{} ({DATABASE_URL_VAR})", db::redact(url)),
            DemoDatabase::SqliteFile(path) => format!(
                "SQLite file {} ({DATABASE_URL_VAR}=postgres://... uses PostgreSQL)",
                path.display()
            ),
        }
    }

    /// Open (and migrate) it. The error names the variable that chose the
    /// database and never shows a password.
    pub async fn open(&self) -> Result<Database, OpenError> {
        let opened = match self {
            DemoDatabase::Url(url) => Database::open(url).await,
            DemoDatabase::SqliteFile(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        OpenError::new(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                Database::open(&db::sqlite_file_url(path)?).await
            }
        };
        opened.map_err(|e| {
            OpenError::new(match self {
                DemoDatabase::Url(_) => format!(
                    "{DATABASE_URL_VAR} is set but unusable: {e}. Fix it, or unset it to keep \
                     the demo's data in a SQLite file."
                ),
                DemoDatabase::SqliteFile(_) => format!(
                    "{e}. Set {DEMO_DB_VAR} to another file, or {DATABASE_URL_VAR} to a database."
                ),
            })
        })
    }
}
