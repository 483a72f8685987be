//! Rate limiting: one GCRA (token bucket) semantics, kept in memory or shared
//! through Redis.
//!
//! - [`RateLimiter`] is the cheap-clone handle the pipeline holds. Build it with
//!   [`RateLimiter::memory`] (one process; bounded, evicting store on top of
//!   `governor`) or [`RateLimiter::redis`] (several instances; one atomic Lua
//!   round trip per decision), or from the environment with
//!   [`RateLimiter::from_config`].
//! - [`RatePolicy`] is a quota prepared once per route: its bucket scope, its
//!   [`Rate`] and its prebuilt `RateLimit-Policy` header. [`RatePolicy::check`]
//!   spends one unit for a key and returns a [`Decision`].
//! - [`client_ip`] answers "which client is this" without believing forwarded
//!   headers from anyone but [`TrustedProxies`].
//! - [`ratelimit_headers`] and [`quota_exceeded`] render decisions as the IETF
//!   `RateLimit-Policy` / `RateLimit` fields and a 429 problem.
//! - [`RateLimitLayer`] is a standalone tower layer for hand-written routes.
//!
//! See `docs/runtime/rate.md` for every setting, header and status code.

#[cfg(feature = "redis")]
mod batch;
mod client_ip;
#[cfg(feature = "redis")]
mod coalesce;
mod config;
#[cfg(feature = "redis")]
mod deny;
mod gcra;
mod headers;
mod key;
mod layer;
#[cfg(feature = "redis")]
mod lease;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod reset;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use http::HeaderValue;
use rampart_api::policy::OperationPolicy;

pub use crate::rate::client_ip::{ClientIp, ForwardedHeader, TrustedProxies, client_ip};
pub use crate::rate::config::{
    DEFAULT_KEY_PREFIX, DEFAULT_RETRY_INTERVAL, DEFAULT_TIMEOUT, FailurePolicy, RateConfig,
    RedisConfig,
};
pub use crate::rate::headers::{
    RATELIMIT, RATELIMIT_POLICY, quota_exceeded, ratelimit_headers, store_unavailable,
};
pub use crate::rate::key::{RateKeyValue, ip_bucket};
pub use crate::rate::layer::{KeyContext, RateLimitLayer, RateLimitService};
pub use crate::rate::memory::RateClock;
pub use crate::rate::memory::{DEFAULT_MAX_KEYS, MemoryConfig};
#[cfg(feature = "redis")]
pub use crate::rate::reset::ResetTarget;
pub use rampart_api::grammar::Rate;

use crate::rate::gcra::Gcra;
use crate::rate::memory::{MemoryPolicy, MemoryStore};
#[cfg(feature = "redis")]
use crate::rate::redis::RedisStore;

/// Why a limiter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// The Redis URL does not parse.
    #[error("invalid Redis URL `{url}`: {reason}")]
    InvalidRedisUrl {
        /// The URL, with any password masked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A Redis URL was configured, but this build of rampart has no Redis
    /// support.
    #[error(
        "REDIS_URL is set, but rampart was built without its `redis` feature; enable it (rampart = {{ features = [\"redis\"] }}) or unset REDIS_URL"
    )]
    RedisNotBuilt,
    /// An entry of the trusted proxy list is not an IP address or CIDR.
    #[error(
        "invalid trusted proxy `{entry}` in RAMPART_TRUSTED_PROXIES: {reason}; write addresses or CIDRs separated by commas, e.g. `10.0.0.0/8,192.168.1.1,fd00::/8`"
    )]
    InvalidTrustedProxy {
        /// The offending entry.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Any other malformed setting, naming the setting.
    #[error("invalid rate limit setting {setting}=`{value}`: {reason}")]
    InvalidSetting {
        /// The setting (environment variable or `rampart.toml` key).
        setting: &'static str,
        /// The value given.
        value: String,
        /// What is wrong and what would be right.
        reason: String,
    },
    /// An admin reset could not be carried out ([`RateLimiter::reset`]).
    #[error("the rate limits could not be reset: {0}")]
    Reset(String),
}

/// What a decision says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Within quota: serve it.
    Allowed,
    /// Over quota: answer 429 with `Retry-After`.
    Limited,
    /// The shared store could not be asked and the policy is
    /// [`FailurePolicy::FailOpen`]: serve it (a warning audit event was logged).
    FailedOpen,
    /// The shared store could not be asked and the policy is
    /// [`FailurePolicy::FailClosed`]: answer 503.
    Unavailable,
}

/// The answer of a limiter for one request.
///
/// Durations are exact; headers round them up to whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// Allowed, limited, or the store was unavailable.
    pub outcome: Outcome,
    /// The quota: requests allowed per window (`q` of `RateLimit-Policy`).
    pub limit: u32,
    /// Requests that would still be allowed right now (`r` of `RateLimit`).
    /// For [`Outcome::FailedOpen`] and [`Outcome::Unavailable`] this is `limit`
    /// (nothing is known).
    pub remaining: u32,
    /// Time until the bucket is full again (`t` of `RateLimit`); zero when
    /// nothing is known.
    pub reset: Duration,
    /// For [`Outcome::Limited`], time until one more request would be allowed
    /// (`Retry-After`); zero otherwise.
    pub retry_after: Duration,
}

impl Decision {
    /// Whether the request may proceed ([`Outcome::Allowed`] or [`Outcome::FailedOpen`]).
    pub fn is_allowed(&self) -> bool {
        matches!(self.outcome, Outcome::Allowed | Outcome::FailedOpen)
    }

    /// A decision made without the store, by the failure policy.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn by_policy(policy: FailurePolicy, limit: u32) -> Self {
        Decision {
            outcome: match policy {
                FailurePolicy::FailOpen => Outcome::FailedOpen,
                // Without local buckets (none prepared) fail-local fails closed.
                FailurePolicy::FailClosed | FailurePolicy::FailLocal => Outcome::Unavailable,
            },
            limit,
            remaining: limit,
            reset: Duration::ZERO,
            retry_after: Duration::ZERO,
        }
    }

    /// `Retry-After` in whole seconds, rounded up, at least 1 when limited.
    pub fn retry_after_secs(&self) -> u64 {
        match self.outcome {
            Outcome::Limited => ceil_secs(self.retry_after).max(1),
            _ => ceil_secs(self.retry_after),
        }
    }

    /// `t` of the `RateLimit` field: seconds until the bucket is full, rounded up.
    pub fn reset_secs(&self) -> u64 {
        ceil_secs(self.reset)
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The limiter: a cheap-clone handle on one store (in memory or Redis).
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Policies prepared by [`RateLimiter::check`], by scope.
    prepared: RwLock<HashMap<Box<str>, Vec<RatePolicy>>>,
}

enum Store {
    Memory(MemoryStore),
    #[cfg(feature = "redis")]
    Redis(RedisStore),
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.inner.store {
            Store::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            Store::Redis(_) => "redis",
        };
        f.debug_struct("RateLimiter").field("store", &kind).finish()
    }
}

impl RateLimiter {
    fn from_store(store: Store) -> Self {
        RateLimiter {
            inner: Arc::new(Inner {
                store,
                prepared: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// An in-memory limiter for one process, holding at most
    /// [`MemoryConfig::max_keys`] buckets (idle ones are evicted first).
    ///
    /// Inside a Tokio runtime this also starts a task that drops idle buckets
    /// every [`MemoryConfig::sweep_interval`]; it ends with the last clone.
    pub fn memory(config: MemoryConfig) -> Self {
        let limiter = Self::from_store(Store::Memory(MemoryStore::new(&config)));
        let interval = config.sweep_interval.filter(|every| !every.is_zero());
        if let (Some(interval), Ok(runtime)) = (interval, tokio::runtime::Handle::try_current()) {
            let weak = Arc::downgrade(&limiter.inner);
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Some(inner) = weak.upgrade() else { break };
                    #[cfg_attr(not(feature = "redis"), allow(irrefutable_let_patterns))]
                    if let Store::Memory(store) = &inner.store {
                        store.sweep();
                    }
                }
            });
        }
        limiter
    }

    /// A limiter shared through Redis by every instance using the same URL
    /// and key prefix.
    ///
    /// Fails only on a malformed URL: when Redis is unreachable at start the
    /// limiter is still returned, applies [`RedisConfig::failure`] and
    /// connects as soon as Redis answers.
    #[cfg(feature = "redis")]
    pub async fn redis(config: RedisConfig) -> Result<Self, RateError> {
        let nodes: Vec<String> = config.nodes()?.into_iter().map(str::to_owned).collect();
        let store = RedisStore::connect(config).await?;
        // Every instance heeds an admin reset (rate/reset.rs).
        reset::listen(&store, nodes);
        Ok(Self::from_store(Store::Redis(store)))
    }

    /// The admin reset: delete the buckets and brute-force locks `target`
    /// names from Redis and make every instance sharing them forget what it
    /// cached of them (denials, leases, known locks), through a message on
    /// `<prefix>:reset` that every Redis limiter listens to. Returns how
    /// many keys were deleted. Takes at least the store's timeout: the
    /// message is sent again once answers in flight during the deletion
    /// are over. The replay memory is never touched. An in-memory limiter
    /// belongs to one process and is reset by restarting it.
    #[cfg(feature = "redis")]
    pub async fn reset(&self, target: ResetTarget<'_>) -> Result<u64, RateError> {
        match &self.inner.store {
            Store::Redis(store) => store.reset(&target).await,
            Store::Memory(_) => Err(RateError::Reset(
                "this limiter keeps its buckets in memory, in its own process: restart the process to reset them".into(),
            )),
        }
    }

    /// A brute-force lockout store in the same Redis, when this limiter uses
    /// Redis (so every instance sees the same failure counts); `None` in memory.
    pub fn lockout_store(&self) -> Option<std::sync::Arc<dyn crate::auth::LockoutStore>> {
        match &self.inner.store {
            #[cfg(feature = "redis")]
            Store::Redis(store) => {
                Some(std::sync::Arc::new(redis::RedisLockout::new(store.clone())))
            }
            Store::Memory(_) => None,
        }
    }

    /// A replay cache in the same Redis, when this limiter uses Redis (so
    /// every instance refuses an identifier another one accepted); `None`
    /// in memory.
    pub(crate) fn replay_store(&self) -> Option<crate::auth::replay::ReplayCache> {
        match &self.inner.store {
            #[cfg(feature = "redis")]
            Store::Redis(store) => Some(crate::auth::replay::ReplayCache::Shared(Box::new(
                redis::RedisReplay::new(store.clone()),
            ))),
            Store::Memory(_) => None,
        }
    }

    /// The limiter [`RateConfig`] describes: Redis when it names a URL, else in memory.
    pub async fn from_config(config: &RateConfig) -> Result<Self, RateError> {
        match config.redis() {
            #[cfg(feature = "redis")]
            Some(redis) => Self::redis(redis).await,
            #[cfg(not(feature = "redis"))]
            Some(_) => Err(RateError::RedisNotBuilt),
            None => Ok(Self::memory(config.memory())),
        }
    }

    /// Prepare a quota for a route, once, at router build time: `name` is the
    /// policy named in headers and problems and is also the bucket scope (so
    /// each policy counts separately). See [`RatePolicy::scoped`] to share one
    /// policy name between several routes with separate buckets.
    pub fn policy(&self, name: &str, rate: Rate) -> RatePolicy {
        let gcra = Gcra::new(&rate);
        RatePolicy {
            shared: Arc::new(PolicyShared {
                limiter: self.clone(),
                name: name.into(),
                scope: name.into(),
                rate,
                gcra,
                policy_header: headers::policy_value(name, &rate),
                backend: self.backend(gcra, name),
                exact: false,
            }),
        }
    }

    /// The quota of an operation, prepared: named and scoped by its operation
    /// id (so every operation counts separately, whether its rate is its own
    /// or the top-level default); `None` when the operation is not limited.
    /// Key each request with [`RateKeyValue::for_policy`].
    /// An operation marked `rate-exact` gets an [exact](RatePolicy::exact)
    /// policy.
    pub fn for_operation(&self, operation: &OperationPolicy) -> Option<RatePolicy> {
        let policy = self.policy(&operation.operation_id, operation.rate?);
        Some(if operation.rate_exact {
            policy.exact()
        } else {
            policy
        })
    }

    /// Spend one unit of `rate` for `key` under `policy_name` (also the bucket
    /// scope). Convenience for callers without a prepared [`RatePolicy`]: the
    /// policy is prepared on first use and looked up afterwards.
    pub async fn check<'k>(
        &self,
        policy_name: &str,
        key: impl Into<RateKeyValue<'k>>,
        rate: &Rate,
    ) -> Decision {
        self.prepared(policy_name, rate).check(key).await
    }

    /// The prepared policy for `(policy_name, rate)`, created on first use.
    pub fn prepared(&self, policy_name: &str, rate: &Rate) -> RatePolicy {
        let prepared = &self.inner.prepared;
        if let Some(found) = prepared
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(policy_name)
            .and_then(|v| v.iter().find(|p| p.rate() == rate))
        {
            return found.clone();
        }
        let mut map = prepared.write().unwrap_or_else(PoisonError::into_inner);
        let list = map.entry(policy_name.into()).or_default();
        if let Some(found) = list.iter().find(|p| p.rate() == rate) {
            return found.clone();
        }
        let policy = self.policy(policy_name, *rate);
        list.push(policy.clone());
        policy
    }

    fn backend(&self, gcra: Gcra, scope: &str) -> Backend {
        match &self.inner.store {
            Store::Memory(store) => Backend::Memory(store.policy(gcra, scope)),
            #[cfg(feature = "redis")]
            Store::Redis(store) => Backend::Redis(store.clone(), store.local_policy(gcra, scope)),
        }
    }

    /// Number of buckets held in memory (`None` for the Redis store).
    pub fn len(&self) -> Option<usize> {
        match &self.inner.store {
            Store::Memory(store) => Some(store.len()),
            #[cfg(feature = "redis")]
            Store::Redis(_) => None,
        }
    }

    /// Whether the in-memory store holds no bucket (`None` for Redis).
    pub fn is_empty(&self) -> Option<bool> {
        self.len().map(|n| n == 0)
    }

    /// The most buckets the in-memory store holds (`None` for Redis).
    pub fn max_keys(&self) -> Option<usize> {
        match &self.inner.store {
            Store::Memory(store) => Some(store.max_keys()),
            #[cfg(feature = "redis")]
            Store::Redis(_) => None,
        }
    }

    /// Drop idle buckets now (buckets that are full again, which is lossless).
    /// A no-op for Redis, whose keys expire by TTL.
    pub fn sweep(&self) {
        #[cfg_attr(not(feature = "redis"), allow(irrefutable_let_patterns))]
        if let Store::Memory(store) = &self.inner.store {
            store.sweep();
        }
    }

    /// Whether the store answers (readiness): always for memory, a bounded
    /// `PING` for Redis.
    pub async fn probe(&self) -> Result<(), String> {
        match &self.inner.store {
            Store::Memory(_) => Ok(()),
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.ping().await,
        }
    }

    /// Whether an outage of the shared store makes rate-limited requests
    /// answer 503 (`fail-closed`); never for the in-memory store.
    pub fn fails_closed(&self) -> bool {
        match &self.inner.store {
            Store::Memory(_) => false,
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.failure() == FailurePolicy::FailClosed,
        }
    }

    /// Whether decisions are made by a shared store that can be unreachable.
    pub fn is_shared(&self) -> bool {
        match &self.inner.store {
            Store::Memory(_) => false,
            #[cfg(feature = "redis")]
            Store::Redis(_) => true,
        }
    }

    /// How many decisions were made by the failure policy because the shared
    /// store did not answer in time (always 0 in memory).
    pub fn store_failures(&self) -> u64 {
        match &self.inner.store {
            Store::Memory(_) => 0,
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.failures(),
        }
    }

    /// How many calls the shared store made to Redis for decisions (always
    /// 0 in memory): fewer than the decisions when batching joins them or
    /// the deny cache answers.
    pub fn store_calls(&self) -> u64 {
        match &self.inner.store {
            Store::Memory(_) => 0,
            #[cfg(feature = "redis")]
            Store::Redis(store) => store.calls(),
        }
    }
}

/// A quota prepared for one route: cheap to clone, checked per request.
#[derive(Clone)]
pub struct RatePolicy {
    shared: Arc<PolicyShared>,
}

struct PolicyShared {
    limiter: RateLimiter,
    name: Box<str>,
    scope: Box<str>,
    rate: Rate,
    gcra: Gcra,
    policy_header: HeaderValue,
    backend: Backend,
    /// Never leased: every decision is Redis's own (`rate-exact`).
    exact: bool,
}

enum Backend {
    Memory(MemoryPolicy),
    /// The shared store, and the local buckets of `fail-local`.
    #[cfg(feature = "redis")]
    Redis(RedisStore, Option<MemoryPolicy>),
}

impl std::fmt::Debug for RatePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RatePolicy")
            .field("name", &self.shared.name)
            .field("scope", &self.shared.scope)
            .field("rate", &self.shared.rate)
            .finish()
    }
}

impl RatePolicy {
    /// The same policy (name, rate, header) counting in its own buckets under
    /// `scope`, e.g. the operation id when several routes share the `default`
    /// policy but must not share a bucket.
    pub fn scoped(&self, scope: &str) -> RatePolicy {
        self.with(scope, self.shared.exact)
    }

    /// The same policy, decided exactly: never from a lease of the Redis
    /// store (`lease` setting), so no instance admits beyond the quota even
    /// briefly. For login-like operations and anything whose quota is a
    /// hard limit; the in-memory store is always exact.
    pub fn exact(&self) -> RatePolicy {
        self.with(&self.shared.scope, true)
    }

    /// This policy counting under `scope`, leased or not.
    fn with(&self, scope: &str, exact: bool) -> RatePolicy {
        let s = &self.shared;
        RatePolicy {
            shared: Arc::new(PolicyShared {
                limiter: s.limiter.clone(),
                name: s.name.clone(),
                scope: scope.into(),
                rate: s.rate,
                gcra: s.gcra,
                policy_header: s.policy_header.clone(),
                backend: s.limiter.backend(s.gcra, scope),
                exact,
            }),
        }
    }

    /// Whether decisions are never leased ([`exact`](Self::exact)).
    pub fn is_exact(&self) -> bool {
        self.shared.exact
    }

    /// The policy name shown in `RateLimit-Policy`, `RateLimit` and problems.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The bucket scope (defaults to the name).
    pub fn scope(&self) -> &str {
        &self.shared.scope
    }

    /// The quota.
    pub fn rate(&self) -> &Rate {
        &self.shared.rate
    }

    /// The prebuilt `RateLimit-Policy` value, e.g. `"default";q=100;w=60`.
    pub fn policy_header(&self) -> &HeaderValue {
        &self.shared.policy_header
    }

    /// Spend one unit for `key`: allowed (and counted) or limited (not counted).
    pub async fn check<'k>(&self, key: impl Into<RateKeyValue<'k>>) -> Decision {
        self.decide(key.into(), true).await
    }

    /// What [`check`](Self::check) would answer, without spending anything:
    /// for brute-force counters, ask before authenticating and
    /// [`check`](Self::check) only when authentication fails.
    pub async fn peek<'k>(&self, key: impl Into<RateKeyValue<'k>>) -> Decision {
        self.decide(key.into(), false).await
    }

    /// Whether decisions need no I/O (the in-memory store).
    pub fn is_local(&self) -> bool {
        match self.shared.backend {
            Backend::Memory(_) => true,
            #[cfg(feature = "redis")]
            Backend::Redis(..) => false,
        }
    }

    /// Whether [`check_now`](Self::check_now) may answer: always for the
    /// in-memory store; for Redis, when the store keeps a deny cache (a
    /// bucket known to be over its limit is refused locally, exactly) or
    /// leases and this policy is not [exact](Self::exact).
    pub fn answers_now(&self) -> bool {
        match &self.shared.backend {
            Backend::Memory(_) => true,
            #[cfg(feature = "redis")]
            Backend::Redis(store, _) => store.answers_now(self.shared.exact),
        }
    }

    /// [`check`](Self::check) without waiting: the in-memory store, or for
    /// Redis a bucket known to be denied, or a unit of a lease when the
    /// policy is not [exact](Self::exact); `None` when Redis must be asked
    /// (nothing was spent then).
    pub fn check_now<'k>(&self, key: impl Into<RateKeyValue<'k>>) -> Option<Decision> {
        let s = &self.shared;
        match &s.backend {
            Backend::Memory(policy) => Some(policy.decide(key.into(), true)),
            #[cfg(feature = "redis")]
            Backend::Redis(store, _) => store.decide_now(&s.scope, key.into(), &s.gcra, s.exact),
        }
    }

    async fn decide(&self, key: RateKeyValue<'_>, spend: bool) -> Decision {
        let s = &self.shared;
        match &s.backend {
            Backend::Memory(policy) => policy.decide(key, spend),
            #[cfg(feature = "redis")]
            Backend::Redis(store, local) => {
                store
                    .decide(&s.scope, key, &s.gcra, spend, s.exact, local.as_ref())
                    .await
            }
        }
    }

    /// The two RateLimit header fields for a decision of this policy
    /// (`RateLimit-Policy` reuses the prebuilt value).
    pub fn headers(&self, decision: &Decision) -> [(http::HeaderName, HeaderValue); 2] {
        [
            (RATELIMIT_POLICY, self.shared.policy_header.clone()),
            (RATELIMIT, headers::limit_value(&self.shared.name, decision)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_marked_rate_exact_gets_an_exact_policy() {
        let limiter = RateLimiter::memory(MemoryConfig::default());
        let mut op = OperationPolicy::new("login", "POST", "/login");
        assert!(limiter.for_operation(&op).is_none());
        op.rate = Some(Rate::new(5, Duration::from_secs(60)));
        assert!(!limiter.for_operation(&op).unwrap().is_exact());
        op.rate_exact = true;
        let policy = limiter.for_operation(&op).unwrap();
        assert!(policy.is_exact());
        assert!(policy.scoped("other").is_exact());
        assert_eq!(policy.name(), "login");
    }
}
