//! Turning configuration into verifiers and stores (used by
//! [`SecurityBuilder::build`](crate::SecurityBuilder::build)); every failure
//! is a [`ConfigError`] saying what to fix.

use std::path::PathBuf;
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use rampart_api::scheme::SecuritySchemeKind;

use crate::auth::api_key::KeyStore;
use crate::auth::dpop::{
    DEFAULT_ALGORITHMS as DEFAULT_DPOP_ALGORITHMS, DEFAULT_PROOF_MAX_AGE_SECS, DpopMode, DpopRules,
    NonceKey,
};
use crate::auth::jwks::{JwksLocation, JwksSource, JwksTiming};
use crate::auth::jwt::{
    DEFAULT_CACHE_SIZE, DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_BYTES, JwtRules, JwtVerifier,
};
use crate::auth::key_file::{DEFAULT_KEY_FILE, DEFAULT_RELOAD_SECS, FileKeyStore};
use crate::auth::key_lookup::{DEFAULT_MAX_LOOKUPS, DEFAULT_UNKNOWN_TTL_SECS, LookupLimits};
#[cfg(feature = "redis")]
use crate::auth::key_redis::RedisKeyStore;
use crate::auth::keys::{KeySet, hmac_key, parse_algorithm, pem_key};
use crate::auth::lockout::{DEFAULT_CAPACITY, Lockout, LockoutPolicy, LockoutStore, MemoryLockout};
use crate::clock::SharedClock;
use crate::config::{ConfigError, JwtConfig, KeyStoreKind, SecurityConfig, read_secret_file};

pub(crate) fn has_key(c: &JwtConfig) -> bool {
    c.secret.is_some() || c.secret_file.is_some() || c.public_key.is_some() || c.jwks.is_some()
}

pub(crate) fn jwt_verifier(
    name: &str,
    kind: &SecuritySchemeKind,
    c: &JwtConfig,
    clock: &SharedClock,
) -> Result<JwtVerifier, ConfigError> {
    let what = match kind {
        SecuritySchemeKind::OAuth2 { .. } => "oauth2",
        SecuritySchemeKind::OpenIdConnect { .. } => "openIdConnect",
        SecuritySchemeKind::Dpop => "http dpop",
        _ => "http bearer",
    };
    let key_help = "set RAMPART_JWT_SECRET (HS256, at least 32 bytes), RAMPART_JWT_PUBLIC_KEY (path of a PEM public key) or RAMPART_JWKS (JWKS file path or https URL); or `[schemes.NAME]` in rampart.toml for one scheme";
    if !has_key(c) {
        return Err(ConfigError::new(
            format!(
                "security scheme `{name}` ({what}) is used by the spec but no key to verify its tokens is configured"
            ),
            key_help,
        ));
    }
    let algorithms: Option<Vec<Algorithm>> = match &c.algorithms {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| {
                    parse_algorithm(n).ok_or_else(|| {
                        ConfigError::new(
                            format!("JWT algorithm `{n}` (scheme `{name}`) is not supported"),
                            "allow only HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA (never `none`)",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let fail = |message: String, fix: &str| ConfigError::new(message, fix.to_owned());
    let mut keys = KeySet::default();
    let secret = match (&c.secret, &c.secret_file) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(path)) => Some(read_secret_file(path)?),
        (None, None) => None,
    };
    if let Some(secret) = secret {
        keys.keys.push(hmac_key(secret.expose(), algorithms.as_deref()).map_err(|m| {
            fail(format!("scheme `{name}`: {m}"), "set RAMPART_JWT_SECRET to at least 32 random bytes, e.g. the output of `openssl rand -base64 48`")
        })?);
    }
    if let Some(path) = &c.public_key {
        let pem = std::fs::read(path).map_err(|e| {
            fail(
                format!(
                    "the JWT public key file {} (scheme `{name}`) cannot be read ({})",
                    path.display(),
                    e.kind()
                ),
                "check RAMPART_JWT_PUBLIC_KEY / jwt.public-key and the file's permissions",
            )
        })?;
        keys.keys
            .push(pem_key(&pem, algorithms.as_deref()).map_err(|m| {
                fail(
                    format!("{} (scheme `{name}`): {m}", path.display()),
                    "point RAMPART_JWT_PUBLIC_KEY at a PEM `PUBLIC KEY` file",
                )
            })?);
    }
    let jwks = match &c.jwks {
        None => None,
        Some(text) => {
            let location = JwksLocation::parse(text)
                .map_err(|m| fail(m, "set RAMPART_JWKS to a file path or an https URL"))?;
            let timing = JwksTiming {
                min_interval: c.jwks_refresh_interval.unwrap_or(60),
                max_age: c.jwks_max_age.unwrap_or(3600).max(1),
                max_stale: c
                    .jwks_max_stale
                    .unwrap_or(crate::auth::jwks::DEFAULT_MAX_STALE),
            };
            Some(JwksSource::open(location.clone(), algorithms.clone(), timing, clock.clone()).map(Arc::new).map_err(|m| {
                fail(
                    format!("the JWKS {location} (scheme `{name}`) is unusable: {m}"),
                    "check RAMPART_JWKS: the file must exist and be readable, or the URL must answer 200 with a JWKS document",
                )
            })?)
        }
    };
    let issuers = c.issuer.as_ref().map(|i| i.to_vec()).unwrap_or_default();
    if issuers.is_empty() && c.skip_issuer_check != Some(true) {
        return Err(fail(
            format!(
                "no JWT issuer is configured for scheme `{name}`: any issuer's tokens signed with the key would be accepted"
            ),
            "set RAMPART_JWT_ISSUER (or `issuer` under [jwt] in rampart.toml), or waive the check explicitly with `skip-issuer-check = true`",
        ));
    }
    let audiences = c.audience.as_ref().map(|a| a.to_vec()).unwrap_or_default();
    if audiences.is_empty() && c.skip_audience_check != Some(true) {
        return Err(fail(
            format!(
                "no JWT audience is configured for scheme `{name}`: tokens meant for other services would be accepted"
            ),
            "set RAMPART_JWT_AUDIENCE (or `audience` under [jwt] in rampart.toml), or waive the check explicitly with `skip-audience-check = true`",
        ));
    }
    let rules = JwtRules {
        issuers,
        audiences,
        leeway: c.leeway.unwrap_or(DEFAULT_LEEWAY_SECS),
        typ: c.typ.clone(),
        roles_claim: c.roles_claim.clone(),
        max_token_bytes: c.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES),
        client_id_subject: c.client_id_subject == Some(true),
    };
    let dpop = dpop_rules(name, kind, c)?;
    Ok(JwtVerifier::new(
        rules,
        keys,
        jwks,
        c.cache_size.unwrap_or(DEFAULT_CACHE_SIZE),
        clock.clone(),
    )
    .with_replay_rules(dpop, c.replay == Some(crate::Replay::Reject)))
}

/// A scheme's DPoP settings: `scheme: dpop` requires proofs whatever its
/// `x-rampart` says; the proof algorithms must be asymmetric.
fn dpop_rules(
    name: &str,
    kind: &SecuritySchemeKind,
    c: &JwtConfig,
) -> Result<DpopRules, ConfigError> {
    let mode = match kind {
        SecuritySchemeKind::Dpop => DpopMode::Required,
        _ => c.dpop.unwrap_or_default(),
    };
    let algorithms = match &c.dpop_algorithms {
        None => DEFAULT_DPOP_ALGORITHMS.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                parse_algorithm(n)
                    .filter(|a| DEFAULT_DPOP_ALGORITHMS.contains(a))
                    .ok_or_else(|| {
                        ConfigError::new(
                            format!("DPoP proof algorithm `{n}` (scheme `{name}`) is not allowed"),
                            "list asymmetric algorithms only: ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384 or RS512 (a proof is signed with the client's own key pair)",
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    if algorithms.is_empty() {
        return Err(ConfigError::new(
            format!("no DPoP proof algorithm is allowed for scheme `{name}`"),
            "remove `dpop-algorithms` for the defaults, or list at least one, e.g. ES256",
        ));
    }
    let nonce_key = match (c.dpop_nonce == Some(true), &c.dpop_nonce_secret) {
        (false, _) => None,
        (true, Some(secret)) if secret.expose().len() >= 32 => Some(NonceKey::new(secret.expose())),
        (true, Some(_)) => {
            return Err(ConfigError::new(
                "RAMPART_DPOP_NONCE_SECRET is shorter than 32 bytes",
                "set it to at least 32 random bytes, e.g. the output of `openssl rand -base64 48`, the same on every instance",
            ));
        }
        (true, None) => Some(NonceKey::new(&rand::random::<[u8; 32]>())),
    };
    Ok(DpopRules {
        mode,
        algorithms,
        max_age: c.dpop_max_age.unwrap_or(DEFAULT_PROOF_MAX_AGE_SECS),
        leeway: c.leeway.unwrap_or(DEFAULT_LEEWAY_SECS),
        nonce_key,
    })
}

/// The limits of remote key lookups, from `[api-keys]`.
pub(crate) fn lookup_limits(config: &SecurityConfig) -> Result<LookupLimits, ConfigError> {
    let c = &config.api_keys;
    let max_lookups = c.max_lookups.unwrap_or(DEFAULT_MAX_LOOKUPS);
    if max_lookups == 0 {
        return Err(ConfigError::new(
            "`max-lookups` (RAMPART_API_KEY_MAX_LOOKUPS) is 0: no API key could ever be looked up",
            format!("set it to at least 1 (default {DEFAULT_MAX_LOOKUPS})"),
        ));
    }
    Ok(LookupLimits {
        max_lookups,
        unknown_ttl: std::time::Duration::from_secs(
            c.unknown_ttl.unwrap_or(DEFAULT_UNKNOWN_TTL_SECS),
        ),
    })
}

pub(crate) fn key_store(
    config: &SecurityConfig,
    scheme: &str,
    clock: &SharedClock,
) -> Result<Arc<dyn KeyStore>, ConfigError> {
    let c = &config.api_keys;
    match c.store.unwrap_or_default() {
        KeyStoreKind::File | KeyStoreKind::Redis if c.url.is_some() && c.file.is_none() => {
            Err(ConfigError::new(
                format!(
                    "API keys for scheme `{scheme}` are configured both in a database (RAMPART_API_KEYS or `url`) and, by RAMPART_API_KEY_STORE or `store`, in {}",
                    if c.store == Some(KeyStoreKind::Redis) {
                        "Redis"
                    } else {
                        "a key file"
                    }
                ),
                "set RAMPART_API_KEY_STORE=sql (or remove it), or point RAMPART_API_KEYS at a key file",
            ))
        }
        KeyStoreKind::File => {
            let path = c
                .file
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_KEY_FILE));
            let store = FileKeyStore::open_with(&path, clock.clone(), c.reload_interval.unwrap_or(DEFAULT_RELOAD_SECS))
                .map_err(|m| {
                    ConfigError::new(
                        format!("API-key scheme `{scheme}` is used by the spec, but {m}"),
                        format!(
                            "create keys with `cargo xtask apikey new --role ROLE --file {}`, or set RAMPART_API_KEYS to the key file's path",
                            path.display()
                        ),
                    )
                })?;
            Ok(Arc::new(store))
        }
        KeyStoreKind::Sql => sql_key_store(c, scheme, clock, lookup_limits(config)?),
        #[cfg(not(feature = "redis"))]
        KeyStoreKind::Redis => Err(ConfigError::new(
            format!(
                "API keys for scheme `{scheme}` are stored in Redis, but rampart was built without its `redis` feature"
            ),
            "enable rampart's `redis` feature, or use the key file store",
        )),
        #[cfg(feature = "redis")]
        KeyStoreKind::Redis => {
            let url = config.redis_url.as_deref().ok_or_else(|| {
                ConfigError::new(
                    format!("API keys for scheme `{scheme}` are stored in Redis, but REDIS_URL is not set"),
                    "set REDIS_URL (e.g. redis://127.0.0.1:6379), or use the key file store",
                )
            })?;
            let mut store = RedisKeyStore::new(url).map_err(|m| {
                ConfigError::new(m, "set REDIS_URL to e.g. redis://127.0.0.1:6379/0")
            })?;
            if let Some(prefix) = &c.redis_prefix {
                store = store.with_prefix(prefix.clone());
            }
            Ok(Arc::new(store))
        }
    }
}

#[cfg(feature = "sql")]
fn sql_key_store(
    c: &crate::config::ApiKeyConfig,
    scheme: &str,
    clock: &SharedClock,
    limits: LookupLimits,
) -> Result<Arc<dyn KeyStore>, ConfigError> {
    use crate::auth::key_sql::{DEFAULT_KEY_CACHE_SECS, SqlKeyStore};
    let url = c.url.as_deref().ok_or_else(|| {
        ConfigError::new(
            format!("API keys for scheme `{scheme}` are stored in a SQL database, but no database URL is set"),
            "set RAMPART_API_KEYS to e.g. postgres://rampart@db.internal/rampart or sqlite:rampart-keys.db",
        )
    })?;
    let store = SqlKeyStore::new(url, false).map_err(|m| {
        ConfigError::new(
            format!("API-key scheme `{scheme}` is used by the spec, but {m}"),
            "set RAMPART_API_KEYS to postgres://USER@HOST/DB or sqlite:PATH",
        )
    })?;
    let ttl = c.cache_ttl.unwrap_or(DEFAULT_KEY_CACHE_SECS);
    Ok(Arc::new(
        store
            .with_cache_ttl(std::time::Duration::from_secs(ttl))
            .with_clock(clock.clone())
            // Both lookup lanes (auth/key_lookup.rs), and two for `/readyz`
            // and administration.
            .with_pool_size(
                u32::try_from(limits.max_lookups.saturating_mul(2).saturating_add(2))
                    .unwrap_or(u32::MAX),
            ),
    ))
}

#[cfg(not(feature = "sql"))]
fn sql_key_store(
    _: &crate::config::ApiKeyConfig,
    scheme: &str,
    _: &SharedClock,
    _: LookupLimits,
) -> Result<Arc<dyn KeyStore>, ConfigError> {
    Err(ConfigError::new(
        format!(
            "API keys for scheme `{scheme}` are stored in a SQL database, but rampart was built without its `sql` feature"
        ),
        "enable rampart's `sql` feature, or use the key file store",
    ))
}

pub(crate) fn lockout(
    config: &SecurityConfig,
    store: Option<Arc<dyn LockoutStore>>,
) -> Result<Lockout, ConfigError> {
    let c = &config.lockout;
    if c.enabled == Some(false) {
        return Ok(Lockout::Off);
    }
    let policy = match &c.after {
        None => LockoutPolicy::default(),
        Some(text) => {
            let rate = rampart_api::grammar::parse_rate(text).map_err(|e| {
                ConfigError::new(
                    format!("lockout `after`: {}", e.message),
                    format!("{} (or `off`)", e.help),
                )
            })?;
            LockoutPolicy::from_rate(&rate)
        }
    };
    Ok(match store {
        Some(store) => Lockout::Store(store, policy),
        None => Lockout::Memory(Arc::new(MemoryLockout::new(
            c.capacity.unwrap_or(DEFAULT_CAPACITY),
            policy,
        ))),
    })
}
