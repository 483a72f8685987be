//! `Security`: the runtime's security configuration and shared state, built
//! once from the API's [`ApiDescriptor`] and a [`SecurityConfig`] (or by hand with
//! [`Security::builder`]), refusing to start with a message saying what to fix.
//! A cheap-clone handle: [`Security::guard`] makes the per-route pipeline layer.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use http::HeaderName;
use rampart_api::ApiDescriptor;
use rampart_api::grammar::RoleHierarchy;
use rampart_api::policy::OperationPolicy;
use rampart_api::scheme::{ApiKeyLocation, SecuritySchemeKind};

use crate::audit::Redactor;
use crate::auth::api_key::KeyStore;
use crate::auth::jwks::JwksSource;
use crate::auth::jwt::JwtVerifier;
use crate::auth::key_verify::ApiKeyVerifier;
use crate::auth::lockout::LockoutStore;
use crate::auth::setup::{has_key, jwt_verifier, key_store, lockout, lookup_limits};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::config::{ConfigError, JwtConfig, Secret, SecurityConfig};
use crate::harden::{ApiInfo, HardenConfig};
use crate::ops::Ops;
use crate::ops::openapi::{RuntimeFacts, ServedOperation, served_document};
use crate::ops::ready::Readiness;
use crate::pipeline::GuardLayer;
use crate::plan::{MetricsPlan, SchemeAuth, SchemeEntry, State};
use crate::rate::{ForwardedHeader, RateConfig, RateLimiter, TrustedProxies};
use crate::version::DeprecationTracker;
use rampart_api::endpoints::Endpoints;

/// Default `realm` of `WWW-Authenticate` challenges.
pub const DEFAULT_REALM: &str = "api";
pub use crate::auth::url::URL_CREDENTIAL_PARAMS;

/// The security runtime: schemes, keys, roles, lockout, audit redaction.
#[derive(Debug, Clone)]
pub struct Security {
    pub(crate) inner: Arc<State>,
}

impl Security {
    /// Build from the API's descriptor and a configuration.
    pub fn from_api(api: &ApiDescriptor, config: SecurityConfig) -> Result<Self, ConfigError> {
        Self::builder(api).config(config).build()
    }

    /// Build from the API's descriptor, `rampart.toml` and the environment,
    /// with an in-memory rate-limit store (a configured Redis is refused).
    #[deprecated(
        since = "0.1.0",
        note = "use `Security::load(&API).await`: the one constructor, which also builds the rate-limit store `REDIS_URL` / `[rate]` configure"
    )]
    pub fn from_env(api: &ApiDescriptor) -> Result<Self, ConfigError> {
        Self::from_api(api, SecurityConfig::load(None)?)
    }

    /// Build from the spec, `rampart.toml` and the environment, including the
    /// rate-limit store: Redis when `REDIS_URL` (or `[rate] redis-url`) is set,
    /// else in memory; then [`start_metrics`](Self::start_metrics). The one
    /// constructor a server's `main` needs.
    pub async fn load(api: &ApiDescriptor) -> Result<Self, ConfigError> {
        Self::load_with(api, None, |name| std::env::var(name).ok()).await
    }

    /// [`load`](Self::load) with an explicit configuration file and
    /// environment (for tests and embedding).
    pub async fn load_with(
        api: &ApiDescriptor,
        path: Option<&std::path::Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let config = SecurityConfig::load_with(path, &env)?;
        let rate = rate_config(&config, &env)?;
        let harden = harden_config(&config, &env)?;
        let limiter = RateLimiter::from_config(&rate).await.map_err(|e| {
            ConfigError::new(
                format!("rate limiting: {e}"),
                "check REDIS_URL or `[rate] redis-url` (e.g. redis://127.0.0.1:6379)",
            )
        })?;
        let security = Self::builder(api)
            .config(config)
            .harden(harden)
            .rate_limiter(limiter)
            .build()?;
        security.start_metrics()?;
        Ok(security)
    }

    /// The server step [`SecurityBuilder::build`] leaves out, so that
    /// building has no global effects: when metrics are served
    /// (`x-rampart.endpoints.metrics`, `RAMPART_METRICS_ADDR`), install the
    /// process-wide Prometheus recorder and bind the `RAMPART_METRICS_ADDR`
    /// listener (needs a Tokio runtime). [`load`](Self::load) takes it; a
    /// `Security` from the builder takes it before its routes are built (a
    /// route refuses to build while configured metrics are not started).
    /// Returns the listener's address; calling it again changes nothing.
    pub fn start_metrics(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        let plan = &self.inner.metrics;
        if !plan.configured() {
            return Ok(None);
        }
        crate::telemetry::install().map_err(|e| {
            ConfigError::new(
                format!("metrics: {e}"),
                "remove the other metrics recorder, or turn metrics off (x-rampart.endpoints.metrics, RAMPART_METRICS_ADDR)",
            )
        })?;
        match plan.addr {
            Some(addr) => crate::telemetry::serve_on(addr)
                .map(Some)
                .map_err(metrics_addr_error),
            None => Ok(None),
        }
    }

    /// Add the global layers (security headers, request ids, panics → 500,
    /// timeouts, CORS, `X-API-Version`, problem+json 404/405) to a router,
    /// using the spec's version and CORS policy when built from a descriptor. The
    /// routes are mounted under the path of the spec's first server URL
    /// (`/v1` for `https://api.example.com/v1`), as clients will call them.
    pub fn harden(&self, router: axum::Router) -> axum::Router {
        let api =
            self.inner.api.clone().unwrap_or_else(|| {
                ApiInfo::new("0").expect("a plain version is a valid header value")
            });
        let prefix = api.base_path().trim_end_matches('/');
        let router = if prefix.is_empty() {
            router
        } else {
            axum::Router::new().nest(prefix, router)
        };
        self.front(router, &api)
    }

    /// Like [`harden`](Self::harden), for a router whose routes already
    /// carry the spec's base path (`/v1/pets`): nothing is nested, so no
    /// request pays for a prefix being stripped. Generated routers use it.
    pub fn harden_mounted(&self, router: axum::Router) -> axum::Router {
        let api =
            self.inner.api.clone().unwrap_or_else(|| {
                ApiInfo::new("0").expect("a plain version is a valid header value")
            });
        self.front(router, &api)
    }

    /// The path prefix routes are served under: the path of the spec's first
    /// server URL without a trailing `/` (`/v1`), empty when there is none.
    pub fn base_path(&self) -> &str {
        self.inner
            .api
            .as_ref()
            .map_or("", |api| api.base_path().trim_end_matches('/'))
    }

    /// `path` (an operation's path, `/pets/{petId}`) under the
    /// [`base_path`](Self::base_path), as [`harden_mounted`](Self::harden_mounted)
    /// routers register it: `/v1/pets/{petId}`; `/` is the prefix itself.
    pub fn path(&self, path: &str) -> String {
        let base = self.base_path();
        if base.is_empty() {
            path.to_owned()
        } else if path == "/" || path.is_empty() {
            base.to_owned()
        } else {
            format!("{base}{path}")
        }
    }

    fn front(&self, router: axum::Router, api: &ApiInfo) -> axum::Router {
        // The front's request context carries this Security (type-erased) so
        // `#[secured]` handlers find it without an extension of their own.
        let owner: Arc<dyn std::any::Any + Send + Sync> = self.inner.clone();
        crate::harden::harden_one(
            router,
            &self.inner.harden,
            api,
            self.inner.trusted.clone(),
            Some(owner),
            self.inner.ops.clone(),
        )
    }

    /// A `#[secured]` handler behind its guard, built now:
    /// `Router::new().route("/purge", delete(security.secured(purge)))`.
    ///
    /// # Panics
    /// When the handler's policy does not fit this `Security` (as
    /// [`guard`](Self::guard)): the server stops while its router is built,
    /// never at a request. [`try_secured`](Self::try_secured) returns it.
    pub fn secured<H: crate::secured::SecuredPolicy>(
        &self,
        handler: H,
    ) -> crate::secured::Guarded<H> {
        self.try_secured(handler).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`secured`](Self::secured), or why the handler's policy does not fit.
    pub fn try_secured<H: crate::secured::SecuredPolicy>(
        &self,
        handler: H,
    ) -> Result<crate::secured::Guarded<H>, ConfigError> {
        Ok(crate::secured::Guarded::new(
            handler,
            self.try_guard(H::policy())?,
        ))
    }

    /// The rate-limit store.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// Deprecated calls seen so far (per operation and caller).
    pub fn deprecations(&self) -> &DeprecationTracker {
        &self.inner.deprecations
    }

    /// A builder from the API's descriptor (the generated `API`, or
    /// `ApiModel::descriptor()`), for tests and embedding: inject a
    /// configuration, a clock, stores or a rate limiter, then
    /// [`build`](SecurityBuilder::build). A server without a spec (only
    /// `#[secured]` handlers) starts from [`SecurityBuilder::new`].
    pub fn builder(api: &ApiDescriptor) -> SecurityBuilder {
        SecurityBuilder::new().api(api)
    }

    /// The pipeline layer for one route (see [`crate::pipeline`]).
    ///
    /// # Panics
    /// If the policy names a scheme this `Security` does not know, or asks
    /// for a check the guard would skip (roles on a route that admits
    /// anonymous callers, security requirements on a public one): wiring
    /// mistakes found at router build time, never a route silently open;
    /// [`try_guard`](Self::try_guard) returns them instead.
    pub fn guard(&self, policy: OperationPolicy) -> GuardLayer {
        self.try_guard(policy).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The pipeline layer for one route, or why it cannot be built.
    pub fn try_guard(&self, policy: OperationPolicy) -> Result<GuardLayer, ConfigError> {
        GuardLayer::new(self.inner.clone(), &policy)
    }

    /// The redactor everything that logs request data must use.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// The declared roles, strongest first.
    pub fn roles(&self) -> &RoleHierarchy {
        &self.inner.roles
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// The `realm` of challenges.
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// Trusted proxy networks from `RAMPART_TRUSTED_PROXIES`, for client-IP resolution.
    pub fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.inner.trusted_proxies
    }

    /// How many times scheme `name`'s JWKS has been loaded (startup included); `None` without a JWKS.
    pub fn jwks_fetch_count(&self, scheme: &str) -> Option<u64> {
        self.inner
            .schemes
            .iter()
            .find(|s| s.name == scheme)
            .and_then(|s| match &s.auth {
                SchemeAuth::Jwt(v) => v.jwks().map(JwksSource::fetch_count),
                SchemeAuth::ApiKey(_) => None,
            })
    }
}

/// Builds a [`Security`]: from an API with [`Security::builder`], or by hand
/// with [`SecurityBuilder::new`].
#[derive(Default)]
pub struct SecurityBuilder {
    config: SecurityConfig,
    roles: Option<RoleHierarchy>,
    schemes: Vec<(String, SecuritySchemeKind)>,
    /// Per-scheme JWT settings the spec declares (a scheme's `x-rampart`):
    /// over `[jwt]`, under `[schemes.NAME]`.
    spec_schemes: Vec<(String, JwtConfig)>,
    used: Vec<String>,
    clock: Option<SharedClock>,
    redactor: Option<Redactor>,
    stores: HashMap<String, Arc<dyn KeyStore>>,
    lockout_store: Option<Arc<dyn LockoutStore>>,
    limiter: Option<RateLimiter>,
    deprecations: Option<DeprecationTracker>,
    harden: Option<HardenConfig>,
    api: Option<Result<ApiInfo, String>>,
    /// Where the built-in endpoints are served (from the spec; none without one).
    endpoints: Option<Endpoints>,
    /// The document `/openapi.json` serves, before completion.
    served: Option<ServedSpec>,
}

/// The spec as `/openapi.json` will serve it, before the runtime's facts
/// complete its responses.
struct ServedSpec {
    document: serde_json::Value,
    operations: Vec<ServedOperation>,
    title: String,
    version: String,
}

impl std::fmt::Debug for SecurityBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityBuilder")
            .field("config", &self.config)
            .field("schemes", &self.schemes)
            .finish_non_exhaustive()
    }
}

fn add_scheme(
    schemes: &mut Vec<(String, SecuritySchemeKind)>,
    name: &str,
    kind: SecuritySchemeKind,
) {
    match schemes.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = kind,
        None => schemes.push((name.to_owned(), kind)),
    }
}

impl SecurityBuilder {
    /// A builder without an API: for a hand-written server, which declares
    /// its roles and schemes here ([`roles`](Self::roles),
    /// [`jwt_hs256`](Self::jwt_hs256), [`api_key`](Self::api_key), ...).
    pub fn new() -> Self {
        Self::default()
    }

    /// Take roles, schemes and their settings, the schemes operations use,
    /// the redactor, CORS, endpoints and the served document from the API's
    /// descriptor.
    fn api(mut self, api: &ApiDescriptor) -> Self {
        self.roles = Some(api.roles.clone());
        for scheme in &api.schemes {
            add_scheme(&mut self.schemes, &scheme.name, scheme.kind.clone());
            let Some(annotations) = &scheme.settings else {
                continue;
            };
            let list =
                |v: &[String]| (!v.is_empty()).then(|| crate::config::OneOrMany::Many(v.to_vec()));
            let settings = JwtConfig {
                audience: list(&annotations.audience),
                issuer: list(&annotations.issuer),
                typ: annotations.typ.clone(),
                dpop: annotations.dpop,
                replay: annotations.replay,
                client_id_subject: annotations.client_id_subject,
                ..JwtConfig::default()
            };
            self.spec_schemes.retain(|(n, _)| n != &scheme.name);
            self.spec_schemes.push((scheme.name.clone(), settings));
        }
        for op in &api.operations {
            for name in op.policy.schemes() {
                if !self.used.iter().any(|u| u == name) {
                    self.used.push(name.to_owned());
                }
            }
        }
        self.redactor = Some(Redactor::from_api(api));
        self.api = Some(ApiInfo::from_api(api).map_err(|e| e.to_string()));
        if self.endpoints.is_none() {
            self.endpoints = Some(api.endpoints.clone());
        }
        self.served = Some(ServedSpec {
            document: api.document.clone(),
            operations: api
                .operations
                .iter()
                .map(|op| ServedOperation {
                    path: op.policy.path.clone(),
                    method: op.policy.method.to_ascii_lowercase(),
                    policy: op.policy.clone(),
                    has_parameters: op.has_parameters,
                    has_body: op.has_body,
                })
                .collect(),
            title: api.title.clone(),
            version: api.version.clone(),
        });
        self
    }

    /// Serve the built-in endpoints ([`crate::ops`]) at these paths
    /// (default: the spec's `x-rampart.endpoints`, or the defaults; none
    /// without a spec). [`Endpoints::none`] turns them all off.
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = Some(endpoints);
        self
    }

    /// Use this rate-limit store (default: in memory, [`MemoryConfig::default`](crate::rate::MemoryConfig)).
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Use this deprecation tracker (tests inject one with a manual clock).
    pub fn deprecations(mut self, tracker: DeprecationTracker) -> Self {
        self.deprecations = Some(tracker);
        self
    }

    /// Use this configuration for the global layers (default: [`HardenConfig::default`]).
    pub fn harden(mut self, config: HardenConfig) -> Self {
        self.harden = Some(config);
        self
    }

    /// The API's version, base path and CORS for [`Security::harden`]
    /// (taken from the descriptor by `api`).
    pub fn api_info(mut self, api: ApiInfo) -> Self {
        self.api = Some(Ok(api));
        self
    }

    /// Use this configuration (replacing any set before).
    pub fn config(mut self, config: SecurityConfig) -> Self {
        self.config = config;
        self
    }

    /// Declare roles, strongest first.
    pub fn roles<I, S>(mut self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.roles = Some(RoleHierarchy::new(roles));
        self
    }

    /// Use this clock (tests use [`ManualClock`](crate::auth::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The `realm` of challenges.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.config.realm = Some(realm.into());
        self
    }

    /// Declare a bearer-JWT scheme configured by `config` (over `[jwt]` defaults).
    pub fn jwt(mut self, scheme: &str, config: JwtConfig) -> Self {
        add_scheme(
            &mut self.schemes,
            scheme,
            SecuritySchemeKind::Bearer {
                format: Some("JWT".into()),
            },
        );
        self.used.push(scheme.to_owned());
        self.config.schemes.insert(scheme.to_owned(), config);
        self
    }

    fn scheme_config(&mut self, scheme: &str) -> &mut JwtConfig {
        if !self.schemes.iter().any(|(n, _)| n == scheme) {
            add_scheme(
                &mut self.schemes,
                scheme,
                SecuritySchemeKind::Bearer {
                    format: Some("JWT".into()),
                },
            );
            self.used.push(scheme.to_owned());
        }
        self.config.schemes.entry(scheme.to_owned()).or_default()
    }

    /// Declare (or configure) bearer scheme `scheme` with an HS256 secret.
    pub fn jwt_hs256(mut self, scheme: &str, secret: impl Into<Vec<u8>>) -> Self {
        let c = self.scheme_config(scheme);
        c.secret = Some(Secret::new(secret));
        c.algorithms = Some(vec!["HS256".into()]);
        self
    }

    /// Declare (or configure) bearer scheme `scheme` with a PEM public key file.
    pub fn jwt_public_key(mut self, scheme: &str, pem_path: impl Into<PathBuf>) -> Self {
        self.scheme_config(scheme).public_key = Some(pem_path.into());
        self
    }

    /// Declare (or configure) bearer scheme `scheme` with a JWKS file path or URL.
    pub fn jwks(mut self, scheme: &str, location: impl Into<String>) -> Self {
        self.scheme_config(scheme).jwks = Some(location.into());
        self
    }

    /// Accepted `iss` for every JWT scheme.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.config.jwt.issuer = Some(crate::config::OneOrMany::One(issuer.into()));
        self
    }

    /// Accepted `aud` for every JWT scheme.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.jwt.audience = Some(crate::config::OneOrMany::One(audience.into()));
        self
    }

    /// Declare (or configure) API-key scheme `scheme` reading header `header`, keys in `store`.
    pub fn api_key(mut self, scheme: &str, header: &str, store: Arc<dyn KeyStore>) -> Self {
        add_scheme(
            &mut self.schemes,
            scheme,
            SecuritySchemeKind::ApiKey {
                name: header.to_owned(),
                location: ApiKeyLocation::Header,
            },
        );
        self.used.push(scheme.to_owned());
        self.stores.insert(scheme.to_owned(), store);
        self
    }

    /// Keys for API-key scheme `scheme` come from `store` (instead of the configured file/Redis).
    pub fn key_store(mut self, scheme: &str, store: Arc<dyn KeyStore>) -> Self {
        self.stores.insert(scheme.to_owned(), store);
        self
    }

    /// Count failed authentications in `store` (e.g. the shared rate store).
    pub fn lockout_store(mut self, store: Arc<dyn LockoutStore>) -> Self {
        self.lockout_store = Some(store);
        self
    }

    /// Check everything and build; the error says what to fix.
    pub fn build(self) -> Result<Security, ConfigError> {
        let clock: SharedClock = self.clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
        let realm = self
            .config
            .realm
            .clone()
            .unwrap_or_else(|| DEFAULT_REALM.to_owned());
        if realm.is_empty()
            || !realm
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::new(
                format!("realm `{realm}` cannot be written in a WWW-Authenticate header"),
                "use printable ASCII without quotes or backslashes",
            ));
        }
        let mut redactor = self.redactor.clone().unwrap_or_default();
        let mut url_params: Vec<String> = URL_CREDENTIAL_PARAMS
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
        let mut schemes = Vec::new();
        let mut jwt_cache: Vec<(JwtConfig, Arc<JwtVerifier>)> = Vec::new();
        for (name, kind) in &self.schemes {
            let used = self.used.iter().any(|u| u == name);
            let auth = match kind {
                SecuritySchemeKind::Bearer { .. }
                | SecuritySchemeKind::Dpop
                | SecuritySchemeKind::OAuth2 { .. }
                | SecuritySchemeKind::OpenIdConnect { .. } => {
                    let config = match self.spec_schemes.iter().find(|(n, _)| n == name) {
                        Some((_, spec)) => self
                            .config
                            .schemes
                            .get(name)
                            .cloned()
                            .unwrap_or_default()
                            .over(&spec.over(&self.config.jwt)),
                        None => self.config.jwt_for(name),
                    };
                    if !used && !has_key(&config) {
                        continue;
                    }
                    if let Some((_, v)) = jwt_cache.iter().find(|(c, _)| *c == config) {
                        SchemeAuth::Jwt(v.clone())
                    } else {
                        let v = Arc::new(jwt_verifier(name, kind, &config, &clock)?);
                        jwt_cache.push((config, v.clone()));
                        SchemeAuth::Jwt(v)
                    }
                }
                SecuritySchemeKind::ApiKey {
                    name: header,
                    location,
                } => {
                    redactor.add_header(header);
                    let lower = header.to_ascii_lowercase();
                    if !url_params.contains(&lower) {
                        url_params.push(lower);
                    }
                    if !used {
                        continue;
                    }
                    if *location != ApiKeyLocation::Header {
                        let place = if *location == ApiKeyLocation::Query {
                            "the query string"
                        } else {
                            "a cookie"
                        };
                        return Err(ConfigError::new(
                            format!(
                                "security scheme `{name}` sends API keys in {place} (`in: {}`), which rampart refuses: URLs and cookies leak into logs, caches and browsers",
                                if *location == ApiKeyLocation::Query {
                                    "query"
                                } else {
                                    "cookie"
                                }
                            ),
                            format!("change `{name}` to `in: header` (e.g. `name: X-API-Key`)"),
                        ));
                    }
                    let header_name = HeaderName::try_from(header.to_ascii_lowercase()).map_err(|_| {
                        ConfigError::new(
                            format!("security scheme `{name}` names header `{header}`, which is not a valid header name"),
                            "use a header name such as `X-API-Key`",
                        )
                    })?;
                    let store = match self.stores.get(name) {
                        Some(store) => store.clone(),
                        None => key_store(&self.config, name, &clock)?,
                    };
                    SchemeAuth::ApiKey(Arc::new(
                        ApiKeyVerifier::new(
                            header_name,
                            store,
                            clock.clone(),
                            lookup_limits(&self.config)?,
                        )
                        .for_scheme(name),
                    ))
                }
                SecuritySchemeKind::MutualTls => {
                    if !used {
                        continue;
                    }
                    return Err(ConfigError::new(
                        format!(
                            "security scheme `{name}` is `type: mutualTLS` (client certificates), which rampart's TLS listener does not verify: an operation requiring it would be open"
                        ),
                        format!(
                            "authenticate those operations with a bearer (JWT) or apiKey scheme instead of `{name}`, or terminate mutual TLS in a proxy and describe what it forwards as an apiKey header"
                        ),
                    ));
                }
                SecuritySchemeKind::Basic | SecuritySchemeKind::OtherHttp { .. } => {
                    if !used {
                        continue;
                    }
                    return Err(ConfigError::new(
                        format!(
                            "security scheme `{name}` is an http scheme other than bearer, which rampart does not support"
                        ),
                        format!("use `scheme: bearer` (JWT) or an apiKey scheme for `{name}`"),
                    ));
                }
            };
            schemes.push(SchemeEntry {
                name: name.clone(),
                auth,
            });
        }
        // Failure counts live in the rate-limit store: Redis when the limiter
        // uses Redis (shared by every instance), else in memory.
        let store = self
            .lockout_store
            .clone()
            .or_else(|| self.limiter.as_ref().and_then(RateLimiter::lockout_store));
        let lockout = lockout(&self.config, store)?;
        let trusted_proxies = self.config.trusted_proxy_nets()?;
        let forwarded: ForwardedHeader = match self.config.forwarded_header.as_deref() {
            None => ForwardedHeader::default(),
            Some(name) => name.parse().map_err(|e| {
                ConfigError::new(
                    format!("{e}"),
                    "set RAMPART_FORWARDED_HEADER to `x-forwarded-for` or `forwarded`",
                )
            })?,
        };
        let api = match self.api {
            Some(Ok(api)) => Some(api),
            Some(Err(e)) => {
                return Err(ConfigError::new(
                    e,
                    "fix the spec's info.version or x-rampart.cors",
                ));
            }
            None => None,
        };
        let harden = match self.harden {
            Some(harden) => harden,
            None => harden_config(&self.config, |_| None)?,
        };
        if self.limiter.is_none()
            && (self.config.redis_url.is_some() || self.config.rate.contains_key("redis-url"))
        {
            // A configured Redis that the limiter would silently not use.
            return Err(ConfigError::new(
                "the configuration names a Redis for rate limits (REDIS_URL or `[rate] redis-url`), but this constructor cannot connect to it",
                "build with `Security::load(&API).await` (it connects), or pass `.rate_limiter(RateLimiter::from_config(&config.rate).await?)` to the builder",
            ));
        }
        let limiter = self.limiter.map_or_else(
            || rate_config(&self.config, |_| None).map(|r| RateLimiter::memory(r.memory())),
            Ok,
        )?;
        // DPoP proofs and one-time tokens are remembered where the rate
        // limits are: in Redis when the limiter shares it, so a proof used at
        // one instance is refused at every other.
        let replay = limiter.replay_store().unwrap_or_else(|| {
            crate::auth::replay::ReplayCache::Memory(crate::auth::replay::MemoryReplay::new(
                crate::auth::replay::DEFAULT_CAPACITY,
            ))
        });
        let public_origin = self.config.public_origin()?;
        // Checked here, started by `start_metrics`: building has no global effects.
        let metrics = MetricsPlan {
            on_main_listener: self.endpoints.as_ref().is_some_and(|e| e.metrics.is_some()),
            addr: match &self.config.metrics_addr {
                Some(addr) => Some(crate::telemetry::parse_addr(addr).map_err(metrics_addr_error)?),
                None => None,
            },
        };
        let alerts = crate::alert::Alerts::new(
            clock.clone(),
            self.config.alert_burst.as_deref(),
            self.config.alert_webhook.as_deref(),
        )
        .map_err(|e| {
            ConfigError::new(
                e,
                "fix RAMPART_ALERT_WEBHOOK (an https:// URL) or RAMPART_ALERT_BURST (a rate like 50/min)",
            )
        })?;
        let ops = ops(
            self.endpoints,
            self.served,
            OpsInputs {
                schemes: &schemes,
                limiter: &limiter,
                lockout: lockout.is_on(),
                harden: &harden,
                base_path: api.as_ref().map_or("", |a| a.base_path()),
            },
        )?;
        // One clock: an injected one also decides sunsets (unless a tracker
        // with its own clock was injected).
        let deprecations = self.deprecations.unwrap_or_else(|| {
            let tracker = DeprecationTracker::new(&harden.deprecation);
            match &self.clock {
                Some(clock) => tracker.with_clock(clock.clone()),
                None => tracker,
            }
        });
        Ok(Security {
            inner: Arc::new(State {
                realm,
                roles: self.roles.clone().unwrap_or_default(),
                schemes,
                lockout,
                clock,
                redactor,
                url_params,
                trusted: TrustedProxies::from_nets(trusted_proxies.clone()).header(forwarded),
                trusted_proxies,
                replay,
                public_origin,
                limiter,
                deprecations,
                harden,
                api,
                alerts,
                ops,
                metrics,
            }),
        })
    }
}

fn metrics_addr_error(e: String) -> ConfigError {
    ConfigError::new(
        format!("RAMPART_METRICS_ADDR: {e}"),
        "set RAMPART_METRICS_ADDR to a free address such as 127.0.0.1:9464, or unset it",
    )
}

/// The `[rate]` table of `config` as a [`RateConfig`], overlaid by the
/// environment (`REDIS_URL`, `RAMPART_RATE_*`), with the client-IP settings
/// of the whole pipeline (top-level `trusted-proxies`, `forwarded-header`).
fn rate_config(
    config: &SecurityConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<RateConfig, ConfigError> {
    let fix =
        "fix REDIS_URL, the RAMPART_RATE_* variables or the [rate] table (docs/runtime/rate.md)";
    let table: RateConfig = toml::Value::Table(config.rate.clone())
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new(format!("[rate]: {}", e.message()), fix))?;
    let mut rate = table
        .with_env(env)
        .map_err(|e| ConfigError::new(format!("rate limiting: {e}"), fix))?;
    rate.trusted_proxies = config
        .trusted_proxy_nets()?
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    if let Some(header) = &config.forwarded_header {
        rate.forwarded_header = header.parse().map_err(|e| {
            ConfigError::new(
                format!("{e}"),
                "set RAMPART_FORWARDED_HEADER (or `forwarded-header`) to `x-forwarded-for` or `forwarded`",
            )
        })?;
    }
    Ok(rate)
}

/// The `[harden]` table of `config` as a [`HardenConfig`], its connection
/// limits overlaid by the environment (`RAMPART_IDLE_TIMEOUT_MS`, ...).
fn harden_config(
    config: &SecurityConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<HardenConfig, ConfigError> {
    let mut harden: HardenConfig = toml::Value::Table(config.harden.clone())
        .try_into()
        .map_err(|e: toml::de::Error| {
            ConfigError::new(
                format!("[harden]: {}", e.message()),
                "see docs/runtime/hardening.md for the keys [harden] accepts",
            )
        })?;
    harden.limits.apply_env(env)?;
    Ok(harden)
}

/// What the built-in endpoints need from the rest of the configuration.
struct OpsInputs<'a> {
    schemes: &'a [SchemeEntry],
    limiter: &'a RateLimiter,
    lockout: bool,
    harden: &'a HardenConfig,
    base_path: &'a str,
}

/// The built-in endpoints, or `None` when none is on; an endpoint at a path
/// the spec uses is a configuration error.
fn ops(
    endpoints: Option<Endpoints>,
    served: Option<ServedSpec>,
    inputs: OpsInputs<'_>,
) -> Result<Option<Arc<Ops>>, ConfigError> {
    let (Some(endpoints), Some(served)) = (endpoints, served) else {
        return Ok(None);
    };
    if endpoints.paths().next().is_none() {
        return Ok(None);
    }
    let base = inputs.base_path.trim_end_matches('/');
    for (key, path) in endpoints.paths() {
        if let Some(error) = rampart_api::endpoints::path_error(path) {
            return Err(ConfigError::new(
                format!("the `{key}` endpoint's path `{path}` {error}"),
                format!("set x-rampart.endpoints.{key} to a path such as /{key}"),
            ));
        }
        if let Some(op) = served
            .operations
            .iter()
            .find(|op| format!("{base}{}", op.path) == path)
        {
            return Err(ConfigError::new(
                format!(
                    "the built-in `{key}` endpoint is served at {path}, where the spec has operation `{}`",
                    op.policy.operation_id
                ),
                format!(
                    "move it (`x-rampart: {{ endpoints: {{ {key}: /ops{path} }} }}`) or turn it off (`{key}: false`)"
                ),
            ));
        }
    }
    let mut readiness = Readiness::new();
    readiness.limiter(inputs.limiter);
    for entry in inputs.schemes {
        match &entry.auth {
            SchemeAuth::Jwt(verifier) => readiness.jwt(&entry.name, verifier),
            SchemeAuth::ApiKey(verifier) => {
                readiness.key_store(&entry.name, verifier.lookup.store())
            }
        }
    }
    let facts = RuntimeFacts {
        lockout: inputs.lockout,
        shared_store: inputs.limiter.fails_closed(),
        remote_credentials: readiness.has_credential_stores(),
        timeout_status: inputs
            .harden
            .limits
            .request_timeout()
            .map(|_| inputs.harden.limits.timeout_status),
    };
    let document = served_document(served.document, &served.operations, facts);
    let spec = serde_json::to_vec(&document).map_err(|e| {
        ConfigError::new(
            format!("the spec cannot be served as JSON: {e}"),
            "turn /openapi.json off with x-rampart: { endpoints: { openapi: false, docs: false } }",
        )
    })?;
    Ok(Some(Arc::new(Ops::new(
        endpoints,
        readiness,
        spec.into(),
        served.title,
        served.version,
    ))))
}
