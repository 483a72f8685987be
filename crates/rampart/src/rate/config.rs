//! Limiter settings: in code, from `rampart.toml` (`[rate]`) or from the
//! environment (which wins).

use std::time::Duration;

use serde::Deserialize;

use crate::rate::RateError;
use crate::rate::client_ip::{ForwardedHeader, TrustedProxies};
use crate::rate::memory::{DEFAULT_MAX_KEYS, MemoryConfig};

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

/// Default prefix of every Redis key.
pub const DEFAULT_KEY_PREFIX: &str = "rampart:rl";
/// Default time allowed for one Redis decision.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);
/// Default pause before asking Redis again after it failed.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// Settings of the Redis store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` or `rediss://` (`REDIS_URL`);
    /// or, for a Redis Cluster, a comma-separated list of its nodes'
    /// `redis://[user:password@]host:port` URLs (any reachable subset: the
    /// rest of the cluster is discovered from them).
    pub url: String,
    /// Talk to a Redis Cluster even when `url` names a single node
    /// (`RAMPART_REDIS_CLUSTER`). A list of two or more URLs always means a
    /// cluster.
    pub cluster: bool,
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
    /// Refuse a bucket known to be over its limit on this instance, without
    /// asking Redis, until it can pass (default true; exact: see
    /// `docs/runtime/rate.md`).
    pub deny_cache: bool,
    /// Send the decisions that queue up while a call to a single server is
    /// in flight together, as one call (default true; a Redis Cluster is
    /// always asked one decision per call).
    pub batch: bool,
    /// Most units of a busy bucket an instance may take from Redis at once
    /// and spend locally (default 0: off; 1 is also off). Admissions may
    /// exceed a quota by up to `instances × lease` within a window; policies
    /// marked exact never lease. See `docs/runtime/rate.md`.
    pub lease: u32,
}

impl RedisConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            cluster: false,
            key_prefix: DEFAULT_KEY_PREFIX.into(),
            timeout: DEFAULT_TIMEOUT,
            failure: FailurePolicy::default(),
            retry_interval: DEFAULT_RETRY_INTERVAL,
            instances: 1,
            deny_cache: true,
            batch: true,
            lease: 0,
        }
    }

    /// Let an instance take up to `units` of a busy bucket at once and spend
    /// them locally (0 or 1: off, the default).
    pub fn lease(mut self, units: u32) -> Self {
        self.lease = units;
        self
    }

    /// Batch decisions to a single server (default) or send each alone.
    pub fn batch(mut self, on: bool) -> Self {
        self.batch = on;
        self
    }

    /// Keep the deny cache on (default) or turn it off, so every decision asks Redis.
    pub fn deny_cache(mut self, on: bool) -> Self {
        self.deny_cache = on;
        self
    }

    /// Talk to a Redis Cluster even when the URL names a single node.
    pub fn cluster(mut self, cluster: bool) -> Self {
        self.cluster = cluster;
        self
    }

    /// Whether the store talks to a Redis Cluster: `url` lists two or more
    /// nodes, or [`RedisConfig::cluster`] is set.
    pub fn is_cluster(&self) -> bool {
        self.cluster || split_urls(&self.url).len() > 1
    }

    /// The URLs of `url`: one, or the cluster nodes it lists (trimmed).
    /// Refuses an empty entry, a scheme other than `redis://` or `rediss://`
    /// in cluster mode, mixed schemes and repeated nodes, naming the URL with
    /// any password masked.
    pub fn nodes(&self) -> Result<Vec<&str>, RateError> {
        if !self.is_cluster() {
            return Ok(vec![self.url.trim()]);
        }
        let nodes = split_urls(&self.url);
        let invalid = |reason: String| RateError::InvalidRedisUrl {
            url: mask_url_list(&self.url),
            reason,
        };
        let mut scheme = None;
        for (i, node) in nodes.iter().enumerate() {
            let n = i + 1;
            if node.is_empty() {
                return Err(invalid(format!(
                    "entry {n} of the cluster node list is empty; write the nodes as comma-separated URLs, e.g. redis://10.0.0.1:7000,redis://10.0.0.2:7000"
                )));
            }
            let this = match node.split_once("://") {
                Some(("redis", _)) => "redis",
                Some(("rediss", _)) => "rediss",
                _ => {
                    return Err(invalid(format!(
                        "entry {n} (`{}`) of the cluster node list is not a redis:// or rediss:// URL; a Redis Cluster is reached over TCP",
                        mask_url(node)
                    )));
                }
            };
            if *scheme.get_or_insert(this) != this {
                return Err(invalid(
                    "the cluster node list mixes redis:// and rediss:// URLs; every node is reached the same way".into(),
                ));
            }
            if nodes[..i].contains(node) {
                return Err(invalid(format!(
                    "entry {n} (`{}`) of the cluster node list repeats an earlier one",
                    mask_url(node)
                )));
            }
        }
        Ok(nodes)
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
    /// Redis URL, or comma-separated URLs of Redis Cluster nodes; absent:
    /// the in-memory store (`REDIS_URL`).
    pub redis_url: Option<String>,
    /// Treat a single `redis_url` as a Redis Cluster node
    /// (`RAMPART_REDIS_CLUSTER`, default false; a list of two or more URLs
    /// is a cluster anyway).
    pub redis_cluster: bool,
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
    /// addresses or CIDRs: one setting of the whole pipeline (top-level
    /// `trusted-proxies`, `RAMPART_TRUSTED_PROXIES`), filled in by
    /// `Security::load` and [`RateConfig::from_env`], not by `with_env`.
    pub trusted_proxies: String,
    /// Which header those proxies write: `x-forwarded-for` or `forwarded`
    /// (top-level `forwarded-header`, `RAMPART_FORWARDED_HEADER`; filled in
    /// like `trusted_proxies`).
    pub forwarded_header: ForwardedHeader,
    /// Refuse buckets known to be over their limit without asking Redis
    /// (`RAMPART_RATE_DENY_CACHE`, default true).
    pub deny_cache: bool,
    /// Batch the decisions queued while a call to a single Redis server is
    /// in flight into one call (`RAMPART_RATE_BATCH`, default true).
    pub batch: bool,
    /// Most units of a busy bucket an instance takes from Redis at once
    /// (`RAMPART_RATE_LEASE`, default 0: off).
    pub lease: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            redis_url: None,
            redis_cluster: false,
            key_prefix: DEFAULT_KEY_PREFIX.into(),
            timeout_ms: DEFAULT_TIMEOUT.as_millis() as u64,
            failure: FailurePolicy::default(),
            instances: 1,
            max_keys: DEFAULT_MAX_KEYS,
            trusted_proxies: String::new(),
            forwarded_header: ForwardedHeader::default(),
            deny_cache: true,
            batch: true,
            lease: 0,
        }
    }
}

impl RateConfig {
    /// Defaults overridden by the process environment: the `[rate]`
    /// variables, and the trusted proxies and forwarded header of the
    /// whole pipeline (read where [`SecurityConfig`](crate::SecurityConfig)
    /// reads them).
    pub fn from_env() -> Result<Self, RateError> {
        let lookup = |name: &str| std::env::var(name).ok();
        let mut config = RateConfig::default().with_env(lookup)?;
        let client_address = crate::config::client_address_env(lookup);
        if let Some(list) = client_address.trusted_proxies {
            config.trusted_proxies = list;
        }
        if let Some(header) = client_address.forwarded_header {
            config.forwarded_header = header.parse()?;
        }
        config.trusted()?;
        Ok(config)
    }

    /// Parse a `[rate]` table (its contents, not the header).
    pub fn from_toml(text: &str) -> Result<Self, RateError> {
        toml::from_str(text).map_err(|e| RateError::InvalidSetting {
            setting: "[rate]",
            value: text.chars().take(80).collect(),
            reason: e.message().to_owned(),
        })
    }

    /// These settings overridden by the `[rate]` variables `lookup` finds
    /// (`REDIS_URL`, `RAMPART_REDIS_CLUSTER`, `RAMPART_RATE_*`; non-empty
    /// ones).
    pub fn with_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RateError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if let Some(url) = get("REDIS_URL") {
            self.redis_url = Some(url);
        }
        if let Some(cluster) = get("RAMPART_REDIS_CLUSTER") {
            self.redis_cluster = parse_bool("RAMPART_REDIS_CLUSTER", &cluster)?;
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
        if let Some(on) = get("RAMPART_RATE_BATCH") {
            self.batch = parse_bool("RAMPART_RATE_BATCH", &on)?;
        }
        if let Some(units) = get("RAMPART_RATE_LEASE") {
            self.lease = parse_number("RAMPART_RATE_LEASE", &units)?;
        }
        if let Some(on) = get("RAMPART_RATE_DENY_CACHE") {
            self.deny_cache = parse_bool("RAMPART_RATE_DENY_CACHE", &on)?;
        }
        if let Some(n) = get("RAMPART_RATE_MAX_KEYS") {
            self.max_keys = parse_number("RAMPART_RATE_MAX_KEYS", &n)?;
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
        match self.redis() {
            Some(redis) => {
                redis.nodes()?;
            }
            None if self.redis_cluster => {
                return Err(RateError::InvalidSetting {
                    setting: "RAMPART_REDIS_CLUSTER",
                    value: "true".into(),
                    reason: "no Redis is configured: set REDIS_URL to the cluster's node URLs, or unset RAMPART_REDIS_CLUSTER".into(),
                });
            }
            None if self.lease > 1 => {
                return Err(RateError::InvalidSetting {
                    setting: "RAMPART_RATE_LEASE",
                    value: self.lease.to_string(),
                    reason: "no Redis is configured, and the in-memory store takes no leases (every decision is already local and exact): set REDIS_URL, or unset RAMPART_RATE_LEASE".into(),
                });
            }
            None => {}
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
                .cluster(self.redis_cluster)
                .key_prefix(self.key_prefix.clone())
                .timeout(Duration::from_millis(self.timeout_ms.max(1)))
                .failure(self.failure)
                .instances(self.instances)
                .deny_cache(self.deny_cache)
                .batch(self.batch)
                .lease(self.lease)
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

fn parse_bool(setting: &'static str, value: &str) -> Result<bool, RateError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(RateError::InvalidSetting {
            setting,
            value: value.to_owned(),
            reason: "expected `true` or `false`".into(),
        }),
    }
}

/// The URL with any password replaced by `***`, for errors and logs.
pub(crate) fn mask_url(url: &str) -> String {
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

/// Every URL of a comma-separated list masked as by [`mask_url`].
pub(crate) fn mask_url_list(urls: &str) -> String {
    split_urls(urls)
        .into_iter()
        .map(mask_url)
        .collect::<Vec<_>>()
        .join(",")
}

/// The URLs of a comma-separated list, trimmed. A comma starts a new URL
/// only when what follows is empty or begins with a scheme (`redis://`,
/// `rediss://`, anything `name://`), so a single URL whose password holds a
/// comma stays one URL.
fn split_urls(urls: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (comma, _) in urls.match_indices(',') {
        let next = urls[comma + 1..].split(',').next().unwrap_or("").trim();
        if next.is_empty() || starts_with_scheme(next) {
            out.push(urls[start..comma].trim());
            start = comma + 1;
        }
    }
    out.push(urls[start..].trim());
    out
}

fn starts_with_scheme(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
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
        let err = RateConfig {
            trusted_proxies: "10.0.0.0/33".into(),
            ..RateConfig::default()
        }
        .with_env(env(&[]))
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

    #[test]
    fn leases_are_off_by_default_and_need_redis() {
        let redis = |pairs: &[(&'static str, &'static str)]| {
            RateConfig::default()
                .with_env(env(pairs))
                .map(|c| c.redis().map(|r| r.lease))
        };
        assert_eq!(
            redis(&[("REDIS_URL", "redis://127.0.0.1:6379")]),
            Ok(Some(0))
        );
        assert_eq!(
            redis(&[
                ("REDIS_URL", "redis://127.0.0.1:6379"),
                ("RAMPART_RATE_LEASE", "32")
            ]),
            Ok(Some(32))
        );
        assert_eq!(
            RateConfig::from_toml("redis-url = \"redis://r:6379\"\nlease = 16")
                .unwrap()
                .redis()
                .map(|r| r.lease),
            Some(16)
        );
        let err = redis(&[("RAMPART_RATE_LEASE", "32")]).unwrap_err();
        assert!(err.to_string().contains("no Redis is configured"), "{err}");
        let err = redis(&[("RAMPART_RATE_LEASE", "many")]).unwrap_err();
        assert!(err.to_string().contains("RAMPART_RATE_LEASE"), "{err}");
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_url("redis://user:secret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(mask_url("redis://:secret@host"), "redis://:***@host");
        assert_eq!(mask_url("redis://host:6379"), "redis://host:6379");
        assert_eq!(
            mask_url_list("redis://:s1@a:7000, redis://:s2@b:7000"),
            "redis://:***@a:7000,redis://:***@b:7000"
        );
    }

    #[test]
    fn a_url_list_is_a_cluster() {
        let single = RedisConfig::new("redis://127.0.0.1:6379");
        assert!(!single.is_cluster());
        assert_eq!(single.nodes().unwrap(), ["redis://127.0.0.1:6379"]);
        // A comma inside a password does not start a second URL.
        let comma = RedisConfig::new("redis://:pa,ss@127.0.0.1:6379");
        assert!(!comma.is_cluster());
        assert_eq!(comma.nodes().unwrap(), ["redis://:pa,ss@127.0.0.1:6379"]);

        let list = RedisConfig::new("redis://127.0.0.1:7000, redis://127.0.0.1:7001");
        assert!(list.is_cluster());
        assert_eq!(
            list.nodes().unwrap(),
            ["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"]
        );
        let forced = RedisConfig::new("redis://127.0.0.1:7000").cluster(true);
        assert!(forced.is_cluster());
        assert_eq!(forced.nodes().unwrap(), ["redis://127.0.0.1:7000"]);

        let cfg = RateConfig::default()
            .with_env(env(&[
                ("REDIS_URL", "redis://10.0.0.1:7000"),
                ("RAMPART_REDIS_CLUSTER", "true"),
            ]))
            .unwrap();
        assert!(cfg.redis().unwrap().is_cluster());
        let cfg =
            RateConfig::from_toml("redis-url = \"redis://10.0.0.1:7000,redis://10.0.0.2:7000\"")
                .unwrap();
        assert!(cfg.redis().unwrap().is_cluster());
    }

    #[test]
    fn bad_url_lists_refuse_to_start_without_echoing_passwords() {
        let refuse = |url: &str| {
            let err = RateConfig::default()
                .with_env(env(&[("REDIS_URL", url)]))
                .unwrap_err()
                .to_string();
            assert!(!err.contains("secret"), "{err}");
            err
        };
        let err = refuse("redis://:secret@a:7000,,redis://:secret@b:7000");
        assert!(err.contains("entry 2") && err.contains("empty"), "{err}");
        assert!(err.contains("redis://:***@a:7000"), "{err}");
        let err = refuse("redis://:secret@a:7000,");
        assert!(err.contains("entry 2"), "{err}");
        let err = refuse("redis://:secret@a:7000,unix:///tmp/redis.sock");
        assert!(err.contains("not a redis:// or rediss:// URL"), "{err}");
        let err = refuse("redis://:secret@a:7000,rediss://:secret@b:7000");
        assert!(err.contains("mixes"), "{err}");
        let err = refuse("redis://:secret@a:7000,redis://:secret@a:7000");
        assert!(err.contains("repeats"), "{err}");

        let err = RateConfig::default()
            .with_env(env(&[("RAMPART_REDIS_CLUSTER", "true")]))
            .unwrap_err();
        assert!(err.to_string().contains("RAMPART_REDIS_CLUSTER"), "{err}");
        let err = RateConfig::default()
            .with_env(env(&[
                ("REDIS_URL", "redis://a:7000"),
                ("RAMPART_REDIS_CLUSTER", "maybe"),
            ]))
            .unwrap_err();
        assert!(err.to_string().contains("RAMPART_REDIS_CLUSTER"), "{err}");
    }
}
