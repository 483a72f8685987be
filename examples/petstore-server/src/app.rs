//! Everything needed to serve the petstore: the spec's model, a `Security`
//! for development (HS256 secret, a local API key file), dev tokens, and the
//! router. Used by the demo binary and the end-to-end tests.

use std::path::Path;
use std::sync::Arc;

use rampart::auth::{FileKeyStore, KeyFile, NewKey};
use rampart::{ConfigError, Security};
use rampart_spec::ApiModel;

use crate::InMemoryPetstore;

/// The issuer dev tokens carry and the server requires.
pub const DEV_ISSUER: &str = "https://rampart.demo/issuer";
/// The audience dev tokens carry and the server requires.
pub const DEV_AUDIENCE: &str = "petstore";
/// The spec, embedded.
pub const SPEC: &str = include_str!("../../../specs/petstore.yaml");

/// The petstore's model, from the embedded spec.
pub fn model() -> ApiModel {
    let loaded = rampart_spec::load_str("specs/petstore.yaml", SPEC.to_owned());
    match loaded.model {
        Some(model) if !loaded.has_errors() => model,
        _ => panic!(
            "the embedded petstore spec is invalid:\n{}",
            loaded.render()
        ),
    }
}

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
    model: &ApiModel,
    secret: &str,
    key_file: &Path,
) -> Result<Security, ConfigError> {
    let store = FileKeyStore::open(key_file).map_err(|e| {
        ConfigError::new(
            format!("cannot open the API key file: {e}"),
            "check the path",
        )
    })?;
    Security::builder()
        .model(model)
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

/// The petstore router: the generated routes and policies over the in-memory store.
pub fn router(security: Security) -> axum::Router {
    petstore::router(InMemoryPetstore::default(), security)
}
