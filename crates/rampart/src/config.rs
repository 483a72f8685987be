//! Runtime security configuration: `rampart.toml`, then `RAMPART_*`
//! environment variables (the environment wins). Secrets come only from the
//! environment or from files the configuration points at — never from the
//! spec, and never inline in `rampart.toml`. Every setting is documented in
//! `docs/configuration.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default name of the configuration file, looked for in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "rampart.toml";

pub use crate::error::ConfigError;

/// Secret bytes; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wrap secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// One value or a list (`issuer = "a"` or `issuer = ["a", "b"]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    /// As a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// JWT settings: `[jwt]` (every JWT scheme) or `[schemes.NAME]` (one scheme,
/// overriding `[jwt]` field by field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JwtConfig {
    /// HMAC secret (HS256/384/512): only from `RAMPART_JWT_SECRET` or the builder.
    #[serde(skip)]
    pub secret: Option<Secret>,
    /// File holding the HMAC secret (`RAMPART_JWT_SECRET_FILE`).
    pub secret_file: Option<PathBuf>,
    /// PEM public key file (`RAMPART_JWT_PUBLIC_KEY`).
    pub public_key: Option<PathBuf>,
    /// JWKS file path or URL (`RAMPART_JWKS`).
    pub jwks: Option<String>,
    /// Accepted `iss` (`RAMPART_JWT_ISSUER`).
    pub issuer: Option<OneOrMany>,
    /// Accepted `aud` (`RAMPART_JWT_AUDIENCE`).
    pub audience: Option<OneOrMany>,
    /// Algorithm allowlist (`RAMPART_JWT_ALGORITHMS`); default: one per key type.
    pub algorithms: Option<Vec<String>>,
    /// Clock-skew leeway in seconds (`RAMPART_JWT_LEEWAY`), default 30.
    pub leeway: Option<u64>,
    /// Required `typ` header, e.g. `at+jwt` (`RAMPART_JWT_TYP`).
    pub typ: Option<String>,
    /// Claim holding roles, dotted path allowed (`RAMPART_JWT_ROLES_CLAIM`); default `roles`/`role`.
    pub roles_claim: Option<String>,
    /// Largest token accepted in bytes (`RAMPART_JWT_MAX_TOKEN_BYTES`), default 8192.
    pub max_token_bytes: Option<usize>,
    /// Verified tokens cached (0 disables), default 10000.
    pub cache_size: Option<usize>,
    /// Fewest seconds between JWKS fetches, default 60.
    pub jwks_refresh_interval: Option<u64>,
    /// Refetch the JWKS once it is this many seconds old, default 3600.
    pub jwks_max_age: Option<u64>,
    /// Refuse tokens signed by JWKS keys once the copy is this many seconds
    /// old and refreshing it fails (`RAMPART_JWKS_MAX_STALE`), default 86400
    /// (a day); never less than `jwks-max-age`.
    pub jwks_max_stale: Option<u64>,
    /// Accept tokens without checking `iss` (`RAMPART_JWT_SKIP_ISSUER_CHECK`).
    pub skip_issuer_check: Option<bool>,
    /// Accept tokens without checking `aud` (`RAMPART_JWT_SKIP_AUDIENCE_CHECK`).
    pub skip_audience_check: Option<bool>,
    /// DPoP (RFC 9449): from the spec only (`scheme: dpop`, or the scheme's
    /// `x-rampart: { dpop: ... }`), never from configuration.
    #[serde(skip)]
    pub dpop: Option<crate::DpopMode>,
    /// One-time tokens: from the spec only (`x-rampart: { replay: reject }`).
    #[serde(skip)]
    pub replay: Option<crate::Replay>,
    /// `client_id` stands in for a missing `sub`: from the spec only
    /// (`x-rampart: { client-id-subject: true }`).
    #[serde(skip)]
    pub client_id_subject: Option<bool>,
    /// Seconds a DPoP proof's `iat` may lie in the past (`RAMPART_DPOP_MAX_AGE`), default 60.
    pub dpop_max_age: Option<u64>,
    /// DPoP proof algorithms accepted (`RAMPART_DPOP_ALGORITHMS`); default
    /// ES256, ES384, EdDSA, PS256/384/512, RS256/384/512. Asymmetric only.
    pub dpop_algorithms: Option<Vec<String>>,
    /// Require a server nonce in DPoP proofs (`RAMPART_DPOP_NONCE`), default false.
    pub dpop_nonce: Option<bool>,
    /// The secret server nonces are made with (`RAMPART_DPOP_NONCE_SECRET`,
    /// at least 32 bytes; the same on every instance). Without it each
    /// process makes its own, so a nonce only works on the instance that
    /// gave it out.
    #[serde(skip)]
    pub dpop_nonce_secret: Option<Secret>,
}

macro_rules! overlay {
    ($over:expr, $base:expr, $($field:ident),*) => {
        JwtConfig { $($field: $over.$field.clone().or_else(|| $base.$field.clone()),)* }
    };
}

impl JwtConfig {
    /// This configuration with unset fields taken from `base`.
    pub fn over(&self, base: &JwtConfig) -> JwtConfig {
        overlay!(
            self,
            base,
            secret,
            secret_file,
            public_key,
            jwks,
            issuer,
            audience,
            algorithms,
            leeway,
            typ,
            roles_claim,
            max_token_bytes,
            cache_size,
            jwks_refresh_interval,
            jwks_max_age,
            jwks_max_stale,
            skip_issuer_check,
            skip_audience_check,
            dpop,
            replay,
            client_id_subject,
            dpop_max_age,
            dpop_algorithms,
            dpop_nonce,
            dpop_nonce_secret
        )
    }
}

/// Whether `text` names a SQL key store: `postgres://`, `postgresql://` or `sqlite:`.
pub fn is_sql_url(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    ["postgres://", "postgresql://", "sqlite:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// Where API keys are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStoreKind {
    /// A TOML key file (default).
    #[default]
    File,
    /// Redis at `REDIS_URL`.
    Redis,
    /// A SQL database (PostgreSQL, or SQLite embedded) at the `url`.
    Sql,
}

/// `[api-keys]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApiKeyConfig {
    /// `file` (default), `redis` or `sql` (`RAMPART_API_KEY_STORE`; implied
    /// by a database URL in `RAMPART_API_KEYS`).
    pub store: Option<KeyStoreKind>,
    /// Key file path (`RAMPART_API_KEYS`), default `rampart-keys.toml`.
    pub file: Option<PathBuf>,
    /// Database URL of the `sql` store: `postgres://...` or `sqlite:PATH`
    /// (`RAMPART_API_KEYS`). In `rampart.toml` it may not hold a password.
    pub url: Option<String>,
    /// Seconds a usable key is remembered by the `sql` store, which bounds how
    /// long a revocation takes to reach every instance (`RAMPART_API_KEY_CACHE_TTL`), default 5.
    pub cache_ttl: Option<u64>,
    /// Seconds between checks of the key file for changes, default 5.
    pub reload_interval: Option<u64>,
    /// Prefix of key hashes in Redis, default `rampart:apikey:`.
    pub redis_prefix: Option<String>,
    /// Remote key lookups (`sql`, `redis`) one instance makes at once; a
    /// request beyond them gets 503 with `Retry-After`
    /// (`RAMPART_API_KEY_MAX_LOOKUPS`), default 6. The SQL pool holds two
    /// connections more.
    pub max_lookups: Option<usize>,
    /// Seconds an unknown key id is remembered, so it is not looked up again
    /// (`RAMPART_API_KEY_UNKNOWN_TTL`), default 5; 0: never.
    pub unknown_ttl: Option<u64>,
}

/// `[lockout]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LockoutConfig {
    /// Failures per window that lock a client out, as a rate (`RAMPART_LOCKOUT`), default `5/15min`.
    pub after: Option<String>,
    /// Set to false to turn lockout off (`RAMPART_LOCKOUT=off`).
    pub enabled: Option<bool>,
    /// Clients tracked in memory, default 100000.
    pub capacity: Option<usize>,
}

/// Everything the security runtime reads from `rampart.toml` and the environment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecurityConfig {
    /// `realm` of `WWW-Authenticate` challenges (`RAMPART_REALM`), default `api`.
    pub realm: Option<String>,
    /// Defaults for every JWT scheme.
    #[serde(default)]
    pub jwt: JwtConfig,
    /// Per-scheme JWT overrides, by scheme name.
    #[serde(default)]
    pub schemes: BTreeMap<String, JwtConfig>,
    /// API key storage.
    #[serde(default)]
    pub api_keys: ApiKeyConfig,
    /// Brute-force lockout.
    #[serde(default)]
    pub lockout: LockoutConfig,
    /// Proxies whose `X-Forwarded-For` is believed, as CIDRs (`RAMPART_TRUSTED_PROXIES`).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// The header trusted proxies forward the client in: `x-forwarded-for`
    /// (default) or `forwarded` (RFC 7239) (`RAMPART_FORWARDED_HEADER`). One
    /// setting for the whole pipeline: request context, lockout, IP quotas.
    #[serde(default)]
    pub forwarded_header: Option<String>,
    /// Redis URL (`REDIS_URL` only: it may hold a password).
    #[serde(skip)]
    pub redis_url: Option<String>,
    /// Serve Prometheus metrics on a listener of their own at this address
    /// (`RAMPART_METRICS_ADDR`, e.g. `127.0.0.1:9464`).
    #[serde(default)]
    pub metrics_addr: Option<String>,
    /// POST brute-force alerts as JSON to this URL (`RAMPART_ALERT_WEBHOOK`;
    /// `https://`, or `http://` to a loopback address).
    #[serde(default)]
    pub alert_webhook: Option<String>,
    /// Failed authentications on one operation, from any clients, that raise
    /// a `brute_force_detected` alert (`RAMPART_ALERT_BURST`, default `50/min`).
    #[serde(default)]
    pub alert_burst: Option<String>,
    /// The origin clients reach the API at (`RAMPART_PUBLIC_ORIGIN`, e.g.
    /// `https://api.example.com`): what DPoP proofs' `htu` is compared
    /// with and where the plain-HTTP listener redirects, instead of the
    /// request's own `Host` (which behind a proxy names the proxy's upstream,
    /// and which a client chooses).
    #[serde(default)]
    pub public_origin: Option<String>,
    /// Rate limiting: the `[rate]` table (the store, Redis, failure policy;
    /// docs/runtime/rate.md), as written. `Security::load` reads it into a
    /// [`RateConfig`](crate::rate::RateConfig) overlaid by `REDIS_URL` and
    /// `RAMPART_RATE_*`, and refuses an unknown key there (this module sits
    /// below the rate module, so it keeps the table). Client-IP settings are
    /// the top-level `trusted-proxies` and `forwarded-header`, one for the
    /// whole pipeline.
    #[serde(default)]
    pub rate: toml::Table,
    /// The front's settings: the `[harden]` table (security headers,
    /// request ids, limits, deprecation; docs/runtime/hardening.md), as
    /// written. `Security::load` reads it into a
    /// [`HardenConfig`](crate::settings::HardenConfig) (the connection limits
    /// overlaid by `RAMPART_*`) and refuses an unknown key there.
    #[serde(default)]
    pub harden: toml::Table,
}

/// A configured public origin: scheme, host and port, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    /// `https://api.example.com` or `https://api.example.com:8443`.
    pub origin: String,
    /// The host (with `[` `]` for IPv6) and the port when not the scheme's default.
    pub authority: String,
}

/// Parse `RAMPART_PUBLIC_ORIGIN`/`public-origin`: `https://host[:port]` (or
/// `http://` to a loopback host), no path, query, fragment or user info.
pub fn parse_public_origin(text: &str) -> Result<PublicOrigin, ConfigError> {
    let fix = "set RAMPART_PUBLIC_ORIGIN (or `public-origin` in rampart.toml) to the origin clients use, e.g. `https://api.example.com`";
    let bad = |why: &str| ConfigError::new(format!("public origin `{text}` {why}"), fix);
    let url = url::Url::parse(text.trim()).map_err(|_| bad("is not a URL"))?;
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(bad("is plain HTTP to a host that is not loopback")),
        _ => return Err(bad("is not an http(s) origin")),
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("has a path, query or fragment; give the origin only"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("holds user information"));
    }
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    Ok(PublicOrigin {
        origin: format!("{}://{authority}", url.scheme()),
        authority,
    })
}

fn secret_inline_error(origin: &str, table: &str) -> ConfigError {
    ConfigError::new(
        format!("{origin}: `{table}.secret` puts a secret in the configuration file"),
        "remove it; set RAMPART_JWT_SECRET in the environment, or point `secret-file` at a file readable only by the server",
    )
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(
            format!("{name}=`{value}` is not a boolean"),
            format!("set {name} to `true` or `false`"),
        )),
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError::new(
            format!("{name}=`{value}` is not a whole number"),
            format!("set {name} to a whole number"),
        )
    })
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn one_or_many(value: &str) -> OneOrMany {
    let items = list(value);
    match <[String; 1]>::try_from(items) {
        Ok([one]) => OneOrMany::One(one),
        Err(items) => OneOrMany::Many(items),
    }
}

/// Read a secret file, without a trailing newline.
pub(crate) fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
    let mut bytes = std::fs::read(path).map_err(|e| {
        ConfigError::new(
            format!(
                "the JWT secret file {} cannot be read ({})",
                path.display(),
                e.kind()
            ),
            "check RAMPART_JWT_SECRET_FILE / jwt.secret-file and the file's permissions",
        )
    })?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    Ok(Secret(bytes))
}

impl SecurityConfig {
    /// Load `rampart.toml` (the given path, else `RAMPART_CONFIG`, else
    /// `./rampart.toml` if it exists), then overlay the environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(path, |name| std::env::var(name).ok())
    }

    /// [`load`](Self::load) with an explicit environment (for tests and embedding).
    pub fn load_with(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let path: Option<PathBuf> = match path {
            Some(p) => Some(p.to_owned()),
            None => match env("RAMPART_CONFIG") {
                Some(p) => Some(PathBuf::from(p)),
                None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
            },
        };
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    ConfigError::new(
                        format!(
                            "the configuration file {} cannot be read ({})",
                            path.display(),
                            e.kind()
                        ),
                        "create it, fix its permissions, or set RAMPART_CONFIG to the right path",
                    )
                })?;
                Self::from_toml_str(&text, &path.display().to_string())?
            }
            None => SecurityConfig::default(),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    /// Parse `rampart.toml` text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        if let Ok(value) = text.parse::<toml::Table>() {
            if value.get("jwt").and_then(|j| j.get("secret")).is_some() {
                return Err(secret_inline_error(origin, "jwt"));
            }
            if let Some(schemes) = value.get("schemes").and_then(toml::Value::as_table) {
                for (name, scheme) in schemes {
                    if scheme.get("secret").is_some() {
                        return Err(secret_inline_error(origin, &format!("schemes.{name}")));
                    }
                }
            }
        }
        if let Ok(value) = text.parse::<toml::Table>()
            && let Some(rate) = value.get("rate").and_then(toml::Value::as_table)
        {
            for (key, top) in [
                ("trusted-proxies", "trusted-proxies"),
                ("forwarded-header", "forwarded-header"),
            ] {
                if rate.contains_key(key) {
                    return Err(ConfigError::new(
                        format!("{origin}: `[rate] {key}` is not read there"),
                        format!(
                            "move it to the top level (`{top} = ...` above every table): one setting for rate limits, lockout and audit"
                        ),
                    ));
                }
            }
        }
        let config: SecurityConfig = toml::from_str(text).map_err(|e| {
            ConfigError::new(
                format!("{origin}: {}", e.message()),
                "see docs/configuration.md for every setting rampart.toml accepts",
            )
        })?;
        if let Some(url) = &config.api_keys.url
            && url::Url::parse(url).is_ok_and(|u| u.password().is_some())
        {
            return Err(ConfigError::new(
                format!(
                    "{origin}: `[api-keys] url` holds a database password, which a configuration file must not"
                ),
                "remove the password from `url` and give the whole URL in RAMPART_API_KEYS instead (from a secret store)",
            ));
        }
        Ok(config)
    }

    /// Overlay `RAMPART_*` variables (and `REDIS_URL`); they win over the file.
    /// Each variable is read in one place: here, `client_address_env`
    /// (trusted proxies, forwarded header), or the overlay of the section it
    /// belongs to (`RateConfig::with_env` for `RAMPART_RATE_*`,
    /// `LimitsConfig::apply_env` for the connection limits).
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = get("RAMPART_REALM") {
            self.realm = Some(v);
        }
        let jwt = &mut self.jwt;
        if let Some(v) = env("RAMPART_JWT_SECRET").filter(|v| !v.is_empty()) {
            jwt.secret = Some(Secret(v.into_bytes()));
        }
        if let Some(v) = get("RAMPART_JWT_SECRET_FILE") {
            jwt.secret_file = Some(v.into());
        }
        if let Some(v) = get("RAMPART_JWT_PUBLIC_KEY") {
            jwt.public_key = Some(v.into());
        }
        if let Some(v) = get("RAMPART_JWKS") {
            jwt.jwks = Some(v);
        }
        if let Some(v) = get("RAMPART_JWT_ISSUER") {
            jwt.issuer = Some(one_or_many(&v));
        }
        if let Some(v) = get("RAMPART_JWT_AUDIENCE") {
            jwt.audience = Some(one_or_many(&v));
        }
        if let Some(v) = get("RAMPART_JWT_ALGORITHMS") {
            jwt.algorithms = Some(list(&v));
        }
        if let Some(v) = get("RAMPART_JWT_LEEWAY") {
            jwt.leeway = Some(parse_num("RAMPART_JWT_LEEWAY", &v)?);
        }
        if let Some(v) = get("RAMPART_JWT_TYP") {
            jwt.typ = Some(v);
        }
        if let Some(v) = get("RAMPART_JWT_ROLES_CLAIM") {
            jwt.roles_claim = Some(v);
        }
        if let Some(v) = get("RAMPART_JWKS_MAX_STALE") {
            jwt.jwks_max_stale = Some(parse_num("RAMPART_JWKS_MAX_STALE", &v)?);
        }
        if let Some(v) = get("RAMPART_JWT_MAX_TOKEN_BYTES") {
            jwt.max_token_bytes = Some(parse_num("RAMPART_JWT_MAX_TOKEN_BYTES", &v)?);
        }
        if let Some(v) = get("RAMPART_JWT_SKIP_ISSUER_CHECK") {
            jwt.skip_issuer_check = Some(parse_bool("RAMPART_JWT_SKIP_ISSUER_CHECK", &v)?);
        }
        if let Some(v) = get("RAMPART_JWT_SKIP_AUDIENCE_CHECK") {
            jwt.skip_audience_check = Some(parse_bool("RAMPART_JWT_SKIP_AUDIENCE_CHECK", &v)?);
        }
        if let Some(v) = get("RAMPART_DPOP_MAX_AGE") {
            jwt.dpop_max_age = Some(parse_num("RAMPART_DPOP_MAX_AGE", &v)?);
        }
        if let Some(v) = get("RAMPART_DPOP_ALGORITHMS") {
            jwt.dpop_algorithms = Some(list(&v));
        }
        if let Some(v) = get("RAMPART_DPOP_NONCE") {
            jwt.dpop_nonce = Some(parse_bool("RAMPART_DPOP_NONCE", &v)?);
        }
        if let Some(v) = env("RAMPART_DPOP_NONCE_SECRET").filter(|v| !v.is_empty()) {
            jwt.dpop_nonce_secret = Some(Secret(v.into_bytes()));
        }
        if let Some(v) = get("RAMPART_API_KEYS") {
            if is_sql_url(&v) {
                self.api_keys.url = Some(v);
                self.api_keys.store = Some(KeyStoreKind::Sql);
            } else {
                self.api_keys.file = Some(v.into());
            }
        }
        if let Some(v) = get("RAMPART_API_KEY_CACHE_TTL") {
            self.api_keys.cache_ttl = Some(parse_num("RAMPART_API_KEY_CACHE_TTL", &v)?);
        }
        if let Some(v) = get("RAMPART_API_KEY_MAX_LOOKUPS") {
            self.api_keys.max_lookups = Some(parse_num("RAMPART_API_KEY_MAX_LOOKUPS", &v)?);
        }
        if let Some(v) = get("RAMPART_API_KEY_UNKNOWN_TTL") {
            self.api_keys.unknown_ttl = Some(parse_num("RAMPART_API_KEY_UNKNOWN_TTL", &v)?);
        }
        if let Some(v) = get("RAMPART_API_KEY_STORE") {
            self.api_keys.store = Some(match v.trim().to_ascii_lowercase().as_str() {
                "file" => KeyStoreKind::File,
                "redis" => KeyStoreKind::Redis,
                "sql" => KeyStoreKind::Sql,
                _ => {
                    return Err(ConfigError::new(
                        format!("RAMPART_API_KEY_STORE=`{v}` is not a key store"),
                        "set RAMPART_API_KEY_STORE to `file`, `redis` or `sql`",
                    ));
                }
            });
        }
        if let Some(v) = get("REDIS_URL") {
            self.redis_url = Some(v);
        }
        let client_address = client_address_env(&env);
        if let Some(v) = client_address.trusted_proxies {
            self.trusted_proxies = list(&v);
        }
        if let Some(v) = get("RAMPART_METRICS_ADDR") {
            let v = v.trim();
            self.metrics_addr = (!v.is_empty()).then(|| v.to_owned());
        }
        if let Some(v) = get("RAMPART_ALERT_WEBHOOK") {
            let v = v.trim();
            self.alert_webhook = (!v.is_empty()).then(|| v.to_owned());
        }
        if let Some(v) = get("RAMPART_ALERT_BURST") {
            let v = v.trim();
            self.alert_burst = (!v.is_empty()).then(|| v.to_owned());
        }
        if let Some(v) = client_address.forwarded_header {
            self.forwarded_header = Some(v);
        }
        if let Some(v) = get("RAMPART_PUBLIC_ORIGIN") {
            self.public_origin = Some(v.trim().to_owned());
        }
        if let Some(v) = get("RAMPART_LOCKOUT") {
            if matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "off" | "false" | "0"
            ) {
                self.lockout.enabled = Some(false);
            } else {
                self.lockout.enabled = Some(true);
                self.lockout.after = Some(v);
            }
        }
        self.trusted_proxy_nets()?;
        self.public_origin()?;
        Ok(())
    }

    /// `public_origin` parsed (see [`parse_public_origin`]).
    pub fn public_origin(&self) -> Result<Option<PublicOrigin>, ConfigError> {
        self.public_origin
            .as_deref()
            .map(parse_public_origin)
            .transpose()
    }

    /// `trusted_proxies` parsed; a bare IP means that one address.
    pub fn trusted_proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|text| {
                let t = text.trim();
                t.parse::<ipnet::IpNet>()
                    .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::new(
                            format!("trusted proxy `{t}` is not an IP address or CIDR"),
                            "write RAMPART_TRUSTED_PROXIES as comma-separated CIDRs, e.g. `10.0.0.0/8,192.168.1.7/32`",
                        )
                    })
            })
            .collect()
    }

    /// The effective JWT settings of scheme `name`.
    pub fn jwt_for(&self, name: &str) -> JwtConfig {
        match self.schemes.get(name) {
            Some(own) => own.over(&self.jwt),
            None => self.jwt.clone(),
        }
    }
}

/// The client-address settings of the environment, trimmed, empty ones
/// left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ClientAddressEnv {
    /// `RAMPART_TRUSTED_PROXIES`: comma-separated addresses or CIDRs.
    pub(crate) trusted_proxies: Option<String>,
    /// `RAMPART_FORWARDED_HEADER`: `x-forwarded-for` or `forwarded`.
    pub(crate) forwarded_header: Option<String>,
}

/// The one place `RAMPART_TRUSTED_PROXIES` and `RAMPART_FORWARDED_HEADER` are
/// read, for [`SecurityConfig::apply_env`] and
/// `rate::TrustedProxies::from_env`.
pub(crate) fn client_address_env(env: impl Fn(&str) -> Option<String>) -> ClientAddressEnv {
    let get = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    ClientAddressEnv {
        trusted_proxies: get("RAMPART_TRUSTED_PROXIES"),
        forwarded_header: get("RAMPART_FORWARDED_HEADER"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn env_wins_over_the_file() {
        let mut config = SecurityConfig::from_toml_str(
            "realm = \"pets\"\n[jwt]\nissuer = \"https://file\"\naudience = [\"a\", \"b\"]\nleeway = 5\n[schemes.oauth2]\njwks = \"jwks.json\"\n",
            "rampart.toml",
        )
        .unwrap();
        config
            .apply_env(env(&[
                ("RAMPART_JWT_ISSUER", "https://env"),
                ("RAMPART_JWT_SECRET", "s"),
                ("RAMPART_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7"),
                ("RAMPART_LOCKOUT", "3/min"),
            ]))
            .unwrap();
        assert_eq!(config.realm.as_deref(), Some("pets"));
        assert_eq!(
            config.jwt.issuer,
            Some(OneOrMany::One("https://env".into()))
        );
        assert_eq!(config.jwt.audience.as_ref().unwrap().to_vec(), ["a", "b"]);
        assert_eq!(config.trusted_proxy_nets().unwrap().len(), 2);
        assert_eq!(config.lockout.after.as_deref(), Some("3/min"));
        let oauth = config.jwt_for("oauth2");
        assert_eq!(oauth.jwks.as_deref(), Some("jwks.json"));
        assert_eq!(oauth.leeway, Some(5));
        assert_eq!(oauth.secret.as_ref().unwrap().expose(), b"s");
        assert!(!format!("{config:?}").contains("\"s\""));
    }

    #[test]
    fn inline_secrets_and_unknown_keys_are_refused() {
        let err =
            SecurityConfig::from_toml_str("[jwt]\nsecret = \"x\"\n", "rampart.toml").unwrap_err();
        assert!(err.fix.contains("RAMPART_JWT_SECRET"), "{err}");
        let err =
            SecurityConfig::from_toml_str("[jwt]\nissur = \"x\"\n", "rampart.toml").unwrap_err();
        assert!(err.message.contains("issur"), "{err}");
        let mut c = SecurityConfig::default();
        assert!(
            c.apply_env(env(&[("RAMPART_TRUSTED_PROXIES", "nope")]))
                .is_err()
        );
    }

    #[test]
    fn public_origins() {
        let o = parse_public_origin("https://API.example.com:8443").unwrap();
        assert_eq!(o.origin, "https://api.example.com:8443");
        assert_eq!(o.authority, "api.example.com:8443");
        assert_eq!(
            parse_public_origin("https://api.example.com/")
                .unwrap()
                .origin,
            "https://api.example.com"
        );
        assert!(parse_public_origin("http://127.0.0.1:8080").is_ok());
        for bad in [
            "http://api.example.com",
            "https://api.example.com/v1",
            "https://u:p@api.example.com",
            "ftp://x",
            "api.example.com",
        ] {
            assert!(parse_public_origin(bad).is_err(), "{bad}");
        }
        let mut c = SecurityConfig::default();
        assert!(
            c.apply_env(env(&[("RAMPART_PUBLIC_ORIGIN", "http://example.com")]))
                .is_err()
        );
    }
}
