//! Limiter settings: in code, from `rampart.toml` (`[rate]`) or from the
//! environment (which wins).

use std::time::Duration;

use serde::Deserialize;

use crate::rate::RateError;
use crate::rate::client_ip::{ForwardedHeader, TrustedProxies};
use crate::rate::memory::RateClock;

/// What a Redis-backed limiter answers when Redis does not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailurePolicy {
    /// Serve the request and log a warning audit event (`rampart::audit`).
    FailOpen,
    /// Answer 503 problem+json.
    FailClosed,
    /// The default: each instance enforces the quota in memory (divided by
    /// [`RedisConfig::instances`]) until Redis answers again, so an outage
    /// neither lifts the quotas nor turns every limited route into a 503.
    #[default]
    FailLocal,
}

impl std::str::FromStr for FailurePolicy {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fail-open" | "open" => Ok(FailurePolicy::FailOpen),
            "fail-closed" | "closed" => Ok(FailurePolicy::FailClosed),
            "fail-local" | "local" => Ok(FailurePolicy::FailLocal),
            _ => Err(RateError::InvalidSetting {
                setting: "RAMPART_RATE_FAILURE",
                value: s.to_owned(),
                reason: "expected `fail-local` (the default), `fail-closed` or `fail-open`".into(),
            }),
        }
    }
}

/// Default most buckets held by the in-memory store.
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// Default prefix of every Redis key.
pub const DEFAULT_KEY_PREFIX: &str = "rampart:rl";
/// Default time allowed for one Redis decision.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);
/// Default pause before asking Redis again after it failed.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// Settings of the in-memory store.
#[derive(Debug, Clone)]
pub struct MemoryConfig {
    /// Most buckets held at once, over all policies (default 100 000).
    /// Memory stays under about `max_keys × 40` bytes.
    pub max_keys: usize,
    /// How often a background task drops idle buckets (default 60 s;
    /// `None`: only when the store is full, or on [`RateLimiter::sweep`](crate::rate::RateLimiter::sweep)).
    pub sweep_interval: Option<Duration>,
    /// The clock (monotonic; [`RateClock::fake`] in tests).
    pub clock: RateClock,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            max_keys: DEFAULT_MAX_KEYS,
            sweep_interval: Some(Duration::from_secs(60)),
            clock: RateClock::monotonic(),
        }
    }
}

impl MemoryConfig {
    /// Hold at most `max_keys` buckets.
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// Use this clock.
    pub fn clock(mut self, clock: RateClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sweep idle buckets this often (`None`: never in the background).
    pub fn sweep_interval(mut self, every: Option<Duration>) -> Self {
        self.sweep_interval = every;
        self
    }
}

/// Settings of the Redis store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` or `rediss://` (`REDIS_URL`).
    pub url: String,
    /// Prefix of every key (default `rampart:rl`); instances sharing a quota
    /// must share it.
    pub key_prefix: String,
    /// Time allowed for one decision, connecting included (default 100 ms).
    pub timeout: Duration,
    /// What to answer when Redis does not answer in time.
    pub failure: FailurePolicy,
    /// After a failure, decide by `failure` without asking Redis for this
    /// long (default 500 ms), so an outage costs no request its full timeout.
    pub retry_interval: Duration,
    /// How many instances share the quota: under [`FailurePolicy::FailLocal`]
    /// each enforces `quota / instances` (rounded up, at least 1) while Redis
    /// is away (default 1: each instance enforces the whole quota).
    pub instances: u32,
}

impl RedisConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            key_prefix: DEFAULT_KEY_PREFIX.into(),
            timeout: DEFAULT_TIMEOUT,
            failure: FailurePolicy::default(),
            retry_interval: DEFAULT_RETRY_INTERVAL,
            instances: 1,
        }
    }

    /// Under `fail-local`, divide each quota by this many instances.
    pub fn instances(mut self, instances: u32) -> Self {
        self.instances = instances.max(1);
        self
    }

    /// Use this key prefix.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Allow this long per decision.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Answer this way when Redis fails.
    pub fn failure(mut self, failure: FailurePolicy) -> Self {
        self.failure = failure;
        self
    }

    /// Wait this long before asking Redis again after a failure.
    pub fn retry_interval(mut self, every: Duration) -> Self {
        self.retry_interval = every;
        self
    }
}

/// Everything configurable about rate limiting: the `[rate]` table of
/// `rampart.toml`, overridden by environment variables.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RateConfig {
    /// Redis URL; absent: the in-memory store (`REDIS_URL`).
    pub redis_url: Option<String>,
    /// Redis key prefix (`RAMPART_RATE_PREFIX`).
    pub key_prefix: String,
    /// Milliseconds allowed per Redis decision (`RAMPART_RATE_TIMEOUT_MS`).
    pub timeout_ms: u64,
    /// `fail-local` (default), `fail-closed` or `fail-open` (`RAMPART_RATE_FAILURE`).
    pub failure: FailurePolicy,
    /// Instances sharing the quotas, dividing them under `fail-local`
    /// (`RAMPART_RATE_INSTANCES`, default 1).
    pub instances: u32,
    /// Most in-memory buckets (`RAMPART_RATE_MAX_KEYS`).
    pub max_keys: usize,
    /// Proxies whose forwarding headers are believed, comma-separated
    /// addresses or CIDRs (`RAMPART_TRUSTED_PROXIES`).
    pub trusted_proxies: String,
    /// Which header those proxies write: `x-forwarded-for` or `forwarded`
    /// (`RAMPART_FORWARDED_HEADER`).
    pub forwarded_header: ForwardedHeader,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            redis_url: None,
            key_prefix: DEFAULT_KEY_PREFIX.into(),
            timeout_ms: DEFAULT_TIMEOUT.as_millis() as u64,
            failure: FailurePolicy::default(),
            instances: 1,
            max_keys: DEFAULT_MAX_KEYS,
            trusted_proxies: String::new(),
            forwarded_header: ForwardedHeader::default(),
        }
    }
}

impl RateConfig {
    /// Defaults overridden by the process environment.
    pub fn from_env() -> Result<Self, RateError> {
        RateConfig::default().with_env(|name| std::env::var(name).ok())
    }

    /// Parse a `[rate]` table (its contents, not the header).
    pub fn from_toml(text: &str) -> Result<Self, RateError> {
        toml::from_str(text).map_err(|e| RateError::InvalidSetting {
            setting: "[rate]",
            value: text.chars().take(80).collect(),
            reason: e.message().to_owned(),
        })
    }

    /// These settings overridden by variables `lookup` finds (non-empty ones).
    pub fn with_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RateError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(url) = get("REDIS_URL") {
            self.redis_url = Some(url);
        }
        if let Some(prefix) = get("RAMPART_RATE_PREFIX") {
            self.key_prefix = prefix;
        }
        if let Some(ms) = get("RAMPART_RATE_TIMEOUT_MS") {
            self.timeout_ms = parse_number("RAMPART_RATE_TIMEOUT_MS", &ms)?;
        }
        if let Some(failure) = get("RAMPART_RATE_FAILURE") {
            self.failure = failure.parse()?;
        }
        if let Some(n) = get("RAMPART_RATE_INSTANCES") {
            self.instances = parse_number("RAMPART_RATE_INSTANCES", &n)?;
        }
        if let Some(n) = get("RAMPART_RATE_MAX_KEYS") {
            self.max_keys = parse_number("RAMPART_RATE_MAX_KEYS", &n)?;
        }
        if let Some(list) = get("RAMPART_TRUSTED_PROXIES") {
            self.trusted_proxies = list;
        }
        if let Some(header) = get("RAMPART_FORWARDED_HEADER") {
            self.forwarded_header = header.parse()?;
        }
        self.validate()?;
        Ok(self)
    }

    fn validate(&self) -> Result<(), RateError> {
        if self.timeout_ms == 0 {
            return Err(RateError::InvalidSetting {
                setting: "RAMPART_RATE_TIMEOUT_MS",
                value: "0".into(),
                reason: "the timeout must be at least 1 ms".into(),
            });
        }
        if self.instances == 0 {
            return Err(RateError::InvalidSetting {
                setting: "RAMPART_RATE_INSTANCES",
                value: "0".into(),
                reason: "at least one instance serves the quota".into(),
            });
        }
        if self.max_keys == 0 {
            return Err(RateError::InvalidSetting {
                setting: "RAMPART_RATE_MAX_KEYS",
                value: "0".into(),
                reason: "the store must hold at least one key".into(),
            });
        }
        self.trusted().map(|_| ())
    }

    /// The trusted proxies these settings name.
    pub fn trusted(&self) -> Result<TrustedProxies, RateError> {
        Ok(TrustedProxies::parse(&self.trusted_proxies)?.header(self.forwarded_header))
    }

    /// The Redis settings, when a URL is configured.
    pub fn redis(&self) -> Option<RedisConfig> {
        self.redis_url.as_ref().map(|url| {
            RedisConfig::new(url.clone())
                .key_prefix(self.key_prefix.clone())
                .timeout(Duration::from_millis(self.timeout_ms.max(1)))
                .failure(self.failure)
                .instances(self.instances)
        })
    }

    /// The in-memory settings.
    pub fn memory(&self) -> MemoryConfig {
        MemoryConfig::default().max_keys(self.max_keys)
    }
}

fn parse_number<T: std::str::FromStr>(setting: &'static str, value: &str) -> Result<T, RateError> {
    value.trim().parse().map_err(|_| RateError::InvalidSetting {
        setting,
        value: value.to_owned(),
        reason: "expected a whole number".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn env_selects_redis_and_overrides_toml() {
        let base = RateConfig::from_toml("max-keys = 5000\nfailure = \"fail-open\"").unwrap();
        assert_eq!(base.max_keys, 5000);
        assert_eq!(base.failure, FailurePolicy::FailOpen);
        assert!(base.redis().is_none());
        let cfg = base
            .with_env(env(&[
                ("REDIS_URL", "redis://127.0.0.1:6379"),
                ("RAMPART_RATE_FAILURE", "fail-closed"),
                ("RAMPART_RATE_TIMEOUT_MS", "75"),
            ]))
            .unwrap();
        let redis = cfg.redis().unwrap();
        assert_eq!(redis.url, "redis://127.0.0.1:6379");
        assert_eq!(redis.failure, FailurePolicy::FailClosed);
        assert_eq!(redis.timeout, Duration::from_millis(75));
        assert_eq!(redis.key_prefix, "rampart:rl");
    }

    #[test]
    fn bad_settings_name_the_variable() {
        let err = RateConfig::default()
            .with_env(env(&[("RAMPART_RATE_FAILURE", "maybe")]))
            .unwrap_err();
        assert!(err.to_string().contains("RAMPART_RATE_FAILURE"), "{err}");
        let err = RateConfig::default()
            .with_env(env(&[("RAMPART_TRUSTED_PROXIES", "10.0.0.0/33")]))
            .unwrap_err();
        assert!(err.to_string().contains("10.0.0.0/33"), "{err}");
        assert!(RateConfig::from_toml("max-kees = 1").is_err());
        let err = RateConfig::default()
            .with_env(env(&[("RAMPART_RATE_INSTANCES", "0")]))
            .unwrap_err();
        assert!(err.to_string().contains("RAMPART_RATE_INSTANCES"), "{err}");
    }

    #[test]
    fn fail_local_is_the_default_and_divides_by_instances() {
        let cfg = RateConfig::default()
            .with_env(env(&[
                ("REDIS_URL", "redis://127.0.0.1:6379"),
                ("RAMPART_RATE_INSTANCES", "3"),
            ]))
            .unwrap();
        let redis = cfg.redis().unwrap();
        assert_eq!(redis.failure, FailurePolicy::FailLocal);
        assert_eq!(redis.instances, 3);
        assert_eq!(
            "local".parse::<FailurePolicy>().unwrap(),
            FailurePolicy::FailLocal
        );
        assert_eq!(
            RateConfig::from_toml("failure = \"fail-local\"")
                .unwrap()
                .failure,
            FailurePolicy::FailLocal
        );
    }
}
