//! The Redis store: every instance of a service shares the same buckets.
//!
//! One `EVALSHA` of `gcra.lua` per decision (the script is loaded on first
//! use and again if Redis forgot it), over one multiplexed connection kept by
//! a `ConnectionManager`, which reconnects by itself. Every call is bounded
//! by [`RedisConfig::timeout`]; on error or timeout the
//! [`FailurePolicy`] decides, and Redis is left alone for
//! [`RedisConfig::retry_interval`] so an outage costs no request its full
//! timeout. The first answer after an outage closes the episode.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::auth::api_key::BoxFuture;
use crate::auth::lockout::{LockTarget, LockoutPolicy, LockoutStore};
use crate::rate::config::MemoryConfig;
use crate::rate::config::{FailurePolicy, RedisConfig};
use crate::rate::gcra::Gcra;
use crate::rate::key::RateKeyValue;
use crate::rate::memory::{MemoryPolicy, MemoryStore};
use crate::rate::{Decision, RateError};

/// The GCRA script, run atomically by Redis.
pub(crate) const GCRA_LUA: &str = include_str!("gcra.lua");

/// The brute-force lockout counter, run atomically by Redis.
const LOCKOUT_LUA: &str = include_str!("lockout.lua");

/// Time allowed to open a TCP connection to Redis (in the background).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A Redis-backed store; cheap to clone.
#[derive(Clone)]
pub(crate) struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    manager: ConnectionManager,
    script: redis::Script,
    lockout_script: redis::Script,
    prefix: String,
    timeout: Duration,
    failure: FailurePolicy,
    retry_interval: Duration,
    origin: Instant,
    /// Milliseconds since `origin` before which Redis is not asked again.
    quiet_until_ms: AtomicU64,
    /// Whether the last attempt failed (to log transitions only).
    down: AtomicBool,
    failures: AtomicU64,
    /// `fail-local`: the buckets each instance keeps while Redis is away.
    local: Option<MemoryStore>,
    /// Instances sharing the quota (each enforces its share when local).
    instances: u32,
}

impl RedisStore {
    pub(crate) async fn connect(config: RedisConfig) -> Result<Self, RateError> {
        let masked = mask_url(&config.url);
        let invalid = |e: redis::RedisError| RateError::InvalidRedisUrl {
            url: masked.clone(),
            reason: e.to_string(),
        };
        let client = redis::Client::open(config.url.as_str()).map_err(invalid)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(None)
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(invalid)?;
        let store = RedisStore {
            inner: Arc::new(Inner {
                manager,
                script: redis::Script::new(GCRA_LUA),
                lockout_script: redis::Script::new(LOCKOUT_LUA),
                prefix: config.key_prefix,
                timeout: config.timeout.max(Duration::from_millis(1)),
                failure: config.failure,
                retry_interval: config.retry_interval,
                origin: Instant::now(),
                quiet_until_ms: AtomicU64::new(0),
                down: AtomicBool::new(false),
                failures: AtomicU64::new(0),
                local: (config.failure == FailurePolicy::FailLocal)
                    .then(|| MemoryStore::new(&MemoryConfig::default())),
                instances: config.instances.max(1),
            }),
        };
        // Connect and load the script now, so the first request pays nothing;
        // an unreachable Redis is not an error here: the failure policy applies
        // until it answers.
        let mut conn = store.inner.manager.clone();
        let warmup = store.inner.script.load_async(&mut conn);
        match tokio::time::timeout(CONNECT_TIMEOUT, warmup).await {
            Ok(Ok(_)) => tracing::debug!(url = %masked, "rate limit store: Redis connected"),
            Ok(Err(e)) => store.inner.report_down(&e),
            Err(_) => store.inner.report_down(&"connection timed out"),
        }
        Ok(store)
    }

    pub(crate) fn failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    /// What the store answers while Redis is away.
    pub(crate) fn failure(&self) -> FailurePolicy {
        self.inner.failure
    }

    /// `PING`, bounded by the store's timeout (readiness).
    pub(crate) async fn ping(&self) -> Result<(), String> {
        let mut conn = self.inner.manager.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut conn);
        match tokio::time::timeout(self.inner.timeout.max(Duration::from_millis(250)), ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("{:?}", e.kind())),
            Err(_) => Err("no answer within the timeout".to_owned()),
        }
    }

    /// Under `fail-local`, the in-memory policy that decides for `scope`
    /// while Redis is away: the quota divided by the instances sharing it.
    pub(crate) fn local_policy(&self, gcra: Gcra, scope: &str) -> Option<MemoryPolicy> {
        let local = self.inner.local.as_ref()?;
        Some(local.policy(gcra.shared_by(self.inner.instances), scope))
    }

    pub(crate) async fn decide(
        &self,
        scope: &str,
        key: RateKeyValue<'_>,
        gcra: &Gcra,
        spend: bool,
        local: Option<&MemoryPolicy>,
    ) -> Decision {
        let inner = &*self.inner;
        if inner.quiet() {
            inner.failures.fetch_add(1, Ordering::Relaxed);
            crate::telemetry::store_error("redis");
            return inner.fallback(gcra, local, key, spend);
        }
        let bucket = key.redis_key(&inner.prefix, scope);
        let mut conn = inner.manager.clone();
        let mut invocation = inner.script.key(bucket);
        invocation
            .arg(gcra.t_us)
            .arg(gcra.tau_us)
            .arg(if spend { "1" } else { "0" });
        let answer = tokio::time::timeout(
            inner.timeout,
            invocation.invoke_async::<(i64, i64)>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok((allowed, ahead))) => {
                inner.report_up();
                let ahead = u64::try_from(ahead).unwrap_or(0);
                match (allowed == 1, spend) {
                    (true, true) => gcra.allowed(ahead),
                    (false, true) => gcra.limited(ahead),
                    (_, false) => gcra.peeked(ahead),
                }
            }
            Ok(Err(e)) => {
                inner.mark_down(&e);
                inner.fallback(gcra, local, key, spend)
            }
            Err(_) => {
                inner.mark_down(&"no answer within the timeout");
                inner.fallback(gcra, local, key, spend)
            }
        }
    }
}

/// Brute-force lockout counts in the same Redis as the rate limits, so a
/// client locked out by one instance is locked out by all. While Redis is
/// unreachable nobody is locked out (authentication itself still runs) and
/// failures are not counted; the outage is logged as for rate limits.
pub(crate) struct RedisLockout {
    store: RedisStore,
}

impl RedisLockout {
    pub(crate) fn new(store: RedisStore) -> Self {
        RedisLockout { store }
    }

    fn key(&self, target: LockTarget<'_>) -> String {
        let mut key = format!("{}:{{lockout:", self.store.inner.prefix);
        super::key::push_safe(&mut key, &target.to_string());
        key.push('}');
        key
    }

    fn available(&self) -> bool {
        !self.store.inner.quiet()
    }

    fn unavailable(&self, why: &dyn std::fmt::Display) {
        self.store.inner.mark_down(why);
    }

    async fn locked_for(&self, target: LockTarget<'_>, now: u64) -> Option<u64> {
        if !self.available() {
            return None;
        }
        let inner = &*self.store.inner;
        let mut conn = inner.manager.clone();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.key(target)).arg("until");
        match tokio::time::timeout(inner.timeout, cmd.query_async::<Option<u64>>(&mut conn)).await {
            Ok(Ok(until)) => {
                inner.report_up();
                until.filter(|u| *u > now).map(|u| u - now)
            }
            Ok(Err(e)) => {
                self.unavailable(&e);
                None
            }
            Err(_) => {
                self.unavailable(&"no answer within the timeout");
                None
            }
        }
    }

    async fn count_failure(
        &self,
        target: LockTarget<'_>,
        now: u64,
        policy: LockoutPolicy,
    ) -> Option<u64> {
        if !self.available() {
            return None;
        }
        let inner = &*self.store.inner;
        let mut conn = inner.manager.clone();
        let mut invocation = inner.lockout_script.key(self.key(target));
        invocation
            .arg(now)
            .arg(policy.threshold)
            .arg(policy.window)
            .arg(policy.lock_for);
        match tokio::time::timeout(inner.timeout, invocation.invoke_async::<u64>(&mut conn)).await {
            Ok(Ok(locked)) => {
                inner.report_up();
                (locked > 0).then_some(locked)
            }
            Ok(Err(e)) => {
                self.unavailable(&e);
                None
            }
            Err(_) => {
                self.unavailable(&"no answer within the timeout");
                None
            }
        }
    }
}

impl LockoutStore for RedisLockout {
    fn locked<'a>(&'a self, target: LockTarget<'a>, now: u64) -> BoxFuture<'a, Option<u64>> {
        Box::pin(self.locked_for(target, now))
    }

    fn fail<'a>(
        &'a self,
        target: LockTarget<'a>,
        now: u64,
        policy: LockoutPolicy,
    ) -> BoxFuture<'a, Option<u64>> {
        Box::pin(self.count_failure(target, now, policy))
    }
}

impl Inner {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The decision while Redis is away: the local buckets under
    /// `fail-local`, else the failure policy's fixed answer.
    fn fallback(
        &self,
        gcra: &Gcra,
        local: Option<&MemoryPolicy>,
        key: RateKeyValue<'_>,
        spend: bool,
    ) -> Decision {
        match (self.failure, local) {
            (FailurePolicy::FailLocal, Some(policy)) => {
                crate::telemetry::rate_degraded();
                policy.decide(key, spend)
            }
            _ => Decision::by_policy(self.failure, gcra.limit),
        }
    }

    /// Whether Redis is being left alone after a failure.
    fn quiet(&self) -> bool {
        self.elapsed_ms() < self.quiet_until_ms.load(Ordering::Relaxed)
    }

    /// Count a failed call, leave Redis alone for the retry interval, and
    /// log the start of the outage (once).
    fn mark_down(&self, why: &dyn std::fmt::Display) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        crate::telemetry::store_error("redis");
        let quiet = u64::try_from(self.retry_interval.as_millis()).unwrap_or(u64::MAX);
        self.quiet_until_ms
            .store(self.elapsed_ms().saturating_add(quiet), Ordering::Relaxed);
        self.report_down(why);
    }

    /// Log the start of an outage once.
    fn report_down(&self, why: &dyn std::fmt::Display) {
        if self.down.swap(true, Ordering::Relaxed) {
            tracing::debug!(error = %why, "rate limit store still unavailable");
            return;
        }
        match self.failure {
            FailurePolicy::FailOpen => tracing::warn!(
                target: "rampart::audit",
                event = "rate_limit_store_unavailable",
                failure_policy = "fail-open",
                error = %why,
                "rate limit store (Redis) unavailable: requests are served WITHOUT rate limiting until it answers"
            ),
            FailurePolicy::FailClosed => tracing::error!(
                target: "rampart::audit",
                event = "rate_limit_store_unavailable",
                failure_policy = "fail-closed",
                error = %why,
                "rate limit store (Redis) unavailable: rate-limited operations answer 503 until it answers"
            ),
            FailurePolicy::FailLocal => tracing::warn!(
                target: "rampart::audit",
                event = "rate_limit_store_unavailable",
                failure_policy = "fail-local",
                instances = self.instances,
                error = %why,
                "rate limit store (Redis) unavailable: each instance enforces its share of every quota in memory until it answers"
            ),
        }
    }

    /// Log the end of an outage once.
    fn report_up(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(
                target: "rampart::audit",
                event = "rate_limit_store_recovered",
                "rate limit store (Redis) answers again"
            );
        }
    }
}

/// The URL with any password replaced by `***`, for errors and logs.
fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_url("redis://user:secret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(mask_url("redis://:secret@host"), "redis://:***@host");
        assert_eq!(mask_url("redis://host:6379"), "redis://host:6379");
    }
}
