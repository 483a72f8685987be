//! The Redis store: every instance of a service shares the same buckets.
//!
//! One `EVALSHA` of `gcra.lua` per decision (a server that does not know the
//! script gets it once with `EVAL`, which also caches it there), over one
//! [`Connection`]: to a single server, one multiplexed connection kept by a
//! `ConnectionManager`; to a Redis Cluster, the `redis` crate's cluster
//! connection, which keeps one connection per node, routes each command to
//! the master owning its key's slot, follows `MOVED` redirections and
//! reconnects by itself. Every key is hash-tagged (`prefix:{…}`) and every
//! script touches one key, so a script never spans two slots.
//!
//! Every call is bounded by [`RedisConfig::timeout`]; on error or timeout
//! the [`FailurePolicy`] decides, and Redis is left alone for
//! [`RedisConfig::retry_interval`] so an outage costs no request its full
//! timeout. The first answer after an outage closes the episode.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, IntoConnectionInfo, Pipeline, RedisFuture, Value};

use crate::auth::api_key::BoxFuture;
use crate::auth::lockout::{LockTarget, LockoutPolicy, LockoutStore};
use crate::rate::batch::{BatchFuture, Batcher};
use crate::rate::coalesce::{Coalesced, GcraCall};
use crate::rate::config::{FailurePolicy, RedisConfig, mask_url, mask_url_list};
use crate::rate::deny::DenyCache;
use crate::rate::gcra::Gcra;
use crate::rate::key::RateKeyValue;
use crate::rate::lease::LeaseCache;
use crate::rate::memory::MemoryConfig;
use crate::rate::memory::{MemoryPolicy, MemoryStore};
use crate::rate::{Decision, RateError};

/// The GCRA script, run atomically by Redis.
pub(crate) const GCRA_LUA: &str = include_str!("gcra.lua");

/// The brute-force lockout counter, run atomically by Redis.
const LOCKOUT_LUA: &str = include_str!("lockout.lua");
/// The GCRA script for several buckets of a single server (`batch`).
const GCRA_MANY_LUA: &str = include_str!("gcra_many.lua");

/// Time allowed to open a TCP connection to Redis (in the background).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Attempts the cluster client makes per command beyond the first (a
/// `MOVED` redirection after a failover or resharding is one); the store's
/// timeout bounds them all.
const CLUSTER_RETRIES: u32 = 3;

/// Least time between two rebuilds of a cluster connection after failures.
const CLUSTER_REBUILD_INTERVAL: Duration = Duration::from_secs(2);

/// One connection to Redis: one server, or a Redis Cluster. Both are
/// multiplexed, reconnect by themselves and are cheap to clone; commands
/// run through [`redis::aio::ConnectionLike`] either way.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(conn) => conn.req_packed_command(cmd),
            Connection::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(conn) => conn.get_db(),
            Connection::Cluster(conn) => conn.get_db(),
        }
    }
}

/// Where the store's commands go. A single server's `ConnectionManager`
/// reconnects by itself. A cluster connection follows `MOVED` redirections,
/// but it learns a new topology only from an answer: while a master hangs
/// (or after it comes back demoted, answering `READONLY`), it would keep
/// sending that master's slots to it. So after a failed call the cluster
/// connection is rebuilt from the configured nodes (at most every
/// [`CLUSTER_REBUILD_INTERVAL`]), which reads the topology afresh and finds
/// the replica promoted in the failed master's place.
enum Target {
    Single(ConnectionManager),
    Cluster(Box<ClusterTarget>),
}

struct ClusterTarget {
    client: ClusterClient,
    config: ClusterConfig,
    current: RwLock<ClusterConnection>,
    /// Milliseconds since the store's origin of the last rebuild
    /// (`u64::MAX`: never rebuilt).
    rebuilt_at_ms: AtomicU64,
}

impl Target {
    /// A clone of the current connection.
    fn conn(&self) -> Connection {
        match self {
            Target::Single(manager) => Connection::Single(manager.clone()),
            Target::Cluster(cluster) => Connection::Cluster(
                cluster
                    .current
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            ),
        }
    }

    /// A call failed at `now_ms`: rebuild a cluster connection, unless it was
    /// rebuilt less than [`CLUSTER_REBUILD_INTERVAL`] ago. The old one ends
    /// with its last clone.
    fn failed(&self, now_ms: u64) {
        let Target::Cluster(cluster) = self else {
            return;
        };
        let interval = u64::try_from(CLUSTER_REBUILD_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        let last = cluster.rebuilt_at_ms.load(Ordering::Relaxed);
        if (last != u64::MAX && now_ms.saturating_sub(last) < interval)
            || cluster
                .rebuilt_at_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        tracing::debug!(
            "rate limit store: reconnecting to the Redis Cluster to read its topology afresh"
        );
        let fresh = cluster
            .client
            .get_pending_async_connection_with_config(cluster.config.clone());
        *cluster
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = fresh;
    }

    /// Open (lazily: in the background) the connection `config` names.
    fn open(config: &RedisConfig) -> Result<Self, RateError> {
        let nodes = config.nodes()?;
        if !config.is_cluster() {
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
            return Ok(Target::Single(manager));
        }
        let invalid = |reason: String| RateError::InvalidRedisUrl {
            url: mask_url_list(&config.url),
            reason,
        };
        let mut infos = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            let info = node.into_connection_info().map_err(|e| {
                invalid(format!(
                    "entry {} (`{}`) of the cluster node list: {e}",
                    i + 1,
                    mask_url(node)
                ))
            })?;
            if info.redis_settings().db() != 0 {
                return Err(invalid(format!(
                    "entry {} (`{}`) names database {}, but a Redis Cluster has only database 0: remove the `/{}`",
                    i + 1,
                    mask_url(node),
                    info.redis_settings().db(),
                    info.redis_settings().db()
                )));
            }
            infos.push(info);
        }
        let timeout = config.timeout.max(Duration::from_millis(1));
        let client = ClusterClientBuilder::new(infos)
            .retries(CLUSTER_RETRIES)
            .min_retry_wait(10)
            .max_retry_wait(100)
            .retry_wait_formula(10, 2)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let cluster_config = ClusterConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(timeout);
        let current = client.get_pending_async_connection_with_config(cluster_config.clone());
        Ok(Target::Cluster(Box::new(ClusterTarget {
            client,
            config: cluster_config,
            current: RwLock::new(current),
            rebuilt_at_ms: AtomicU64::new(u64::MAX),
        })))
    }
}

/// A Lua script run by `EVALSHA` on the server owning its one key; a server
/// that does not know the script yet (`NOSCRIPT`: restarted, flushed, or a
/// replica just promoted) gets the source once by `EVAL`, which also caches
/// it there. Unlike `SCRIPT LOAD`, which a cluster client sends to every
/// node, this needs only the node that owns the key to answer.
struct Lua {
    source: &'static str,
    hash: String,
}

impl Lua {
    fn new(source: &'static str) -> Self {
        Lua {
            source,
            hash: redis::Script::new(source).get_hash().to_owned(),
        }
    }

    async fn call<T: FromRedisValue>(
        &self,
        conn: &mut Connection,
        key: &str,
        args: &[u64],
    ) -> redis::RedisResult<T> {
        self.call_keys(conn, &[key], args).await
    }

    async fn call_keys<T: FromRedisValue>(
        &self,
        conn: &mut Connection,
        keys: &[&str],
        args: &[u64],
    ) -> redis::RedisResult<T> {
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(&self.hash).arg(keys.len()).arg(keys).arg(args);
        match evalsha.query_async(conn).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                let mut eval = redis::cmd("EVAL");
                eval.arg(self.source).arg(keys.len()).arg(keys).arg(args);
                eval.query_async(conn).await
            }
            answer => answer,
        }
    }
}

/// A Redis-backed store; cheap to clone.
#[derive(Clone)]
pub(crate) struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    target: Target,
    script: Arc<Lua>,
    /// Decisions of a single server batched into one call (`batch`).
    batcher: Option<Batcher<GcraCall, (i64, i64)>>,
    lockout_script: Lua,
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
    failure: FailurePolicy,
    retry_interval: Duration,
    origin: Instant,
    /// Milliseconds since `origin` before which Redis is not asked again.
    quiet_until_ms: AtomicU64,
    /// Whether the last attempt failed (to log transitions only).
    down: AtomicBool,
    failures: AtomicU64,
    /// Calls made to Redis for decisions (a batch is one).
    calls: Arc<AtomicU64>,
    /// `fail-local`: the buckets each instance keeps while Redis is away.
    local: Option<MemoryStore>,
    /// Instances sharing the quota (each enforces its share when local).
    instances: u32,
    /// Buckets known to be over their limit (`deny_cache`).
    deny: Option<DenyCache>,
    /// Units of busy buckets taken ahead (`lease`, off by default).
    lease: Option<LeaseCache>,
    /// Lockout keys known to be locked, and until when (Unix seconds).
    locks: KnownLocks,
}

impl RedisStore {
    pub(crate) async fn connect(config: RedisConfig) -> Result<Self, RateError> {
        let target = Target::open(&config)?;
        let masked = mask_url_list(&config.url);
        let script = Arc::new(Lua::new(GCRA_LUA));
        let calls = Arc::new(AtomicU64::new(0));
        // One bound for a decision, batched or not.
        let timeout = config.timeout.max(Duration::from_millis(1));
        let batcher = match &target {
            Target::Single(manager) if config.batch => Some(start_batcher(
                manager.clone(),
                script.clone(),
                timeout,
                calls.clone(),
            )),
            _ => None,
        };
        let store = RedisStore {
            inner: Arc::new(Inner {
                target,
                script: script.clone(),
                batcher,
                lockout_script: Lua::new(LOCKOUT_LUA),
                prefix: config.key_prefix,
                timeout,
                failure: config.failure,
                retry_interval: config.retry_interval,
                origin: Instant::now(),
                quiet_until_ms: AtomicU64::new(0),
                down: AtomicBool::new(false),
                failures: AtomicU64::new(0),
                calls,
                local: (config.failure == FailurePolicy::FailLocal)
                    .then(|| MemoryStore::new(&MemoryConfig::default())),
                instances: config.instances.max(1),
                deny: config.deny_cache.then(DenyCache::default),
                lease: (config.lease > 1).then(|| LeaseCache::new(config.lease)),
                locks: KnownLocks::default(),
            }),
        };
        // Connect now (and load the script into a single server), so the
        // first request pays nothing; an unreachable Redis is not an error
        // here: the failure policy applies until it answers. A cluster is
        // asked `PING`, which reaches every master.
        let mut conn = store.inner.target.conn();
        let warmup = async {
            match &conn {
                Connection::Single(_) => redis::Script::new(GCRA_LUA)
                    .load_async(&mut conn)
                    .await
                    .map(drop),
                Connection::Cluster(_) => redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(drop),
            }
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, warmup).await {
            Ok(Ok(())) => tracing::debug!(url = %masked, "rate limit store: Redis connected"),
            Ok(Err(e)) => store.inner.report_down(&e),
            Err(_) => store.inner.report_down(&"connection timed out"),
        }
        Ok(store)
    }

    pub(crate) fn failures(&self) -> u64 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    pub(crate) fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// What the store answers while Redis is away.
    pub(crate) fn failure(&self) -> FailurePolicy {
        self.inner.failure
    }

    /// `PING`, bounded by the store's timeout (readiness). A cluster is
    /// ready when every master `CLUSTER SLOTS` names answers its own `PING`.
    pub(crate) async fn ping(&self) -> Result<(), String> {
        let conn = self.inner.target.conn();
        let ping = async move {
            match conn {
                Connection::Single(mut conn) => redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(drop),
                Connection::Cluster(conn) => ping_masters(conn).await,
            }
        };
        match tokio::time::timeout(self.inner.timeout.max(Duration::from_millis(250)), ping).await {
            Ok(Ok(())) => Ok(()),
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

    /// Whether [`RedisStore::decide_now`] may answer for a policy: with a
    /// deny cache, or with leases for a policy that is not `exact`.
    pub(crate) fn answers_now(&self, exact: bool) -> bool {
        self.inner.deny.is_some() || (self.inner.lease.is_some() && !exact)
    }

    /// A decision without waiting: a bucket known to be denied, or a unit
    /// of the bucket's lease (never for `exact` policies); `None` when
    /// Redis must be asked (nothing was spent then).
    pub(crate) fn decide_now(
        &self,
        scope: &str,
        key: RateKeyValue<'_>,
        gcra: &Gcra,
        exact: bool,
    ) -> Option<Decision> {
        let inner = &*self.inner;
        let lease = inner.lease.as_ref().filter(|_| !exact);
        if inner.deny.is_none() && lease.is_none() {
            return None;
        }
        let now = Instant::now();
        if let Some(decision) = inner
            .deny
            .as_ref()
            .and_then(|d| d.check(d.bucket(scope, &key), gcra, now))
        {
            return Some(decision);
        }
        lease?.take_now(&key.redis_key(&inner.prefix, scope), gcra, now)
    }

    /// Spend one unit (`spend`) or look, for `key` in `scope`; `exact`
    /// policies never lease.
    pub(crate) async fn decide(
        &self,
        scope: &str,
        key: RateKeyValue<'_>,
        gcra: &Gcra,
        spend: bool,
        exact: bool,
        local: Option<&MemoryPolicy>,
    ) -> Decision {
        let inner = &*self.inner;
        let sent = Instant::now();
        // Known to be over its limit: refused here, exactly (rate/deny.rs),
        // whether Redis answers or not.
        let denied = inner.deny.as_ref().map(|d| (d, d.bucket(scope, &key)));
        if let Some(decision) = denied.and_then(|(d, digest)| d.check(digest, gcra, sent)) {
            return decision;
        }
        let bucket = key.redis_key(&inner.prefix, scope);
        // A unit of this bucket's lease, or how many to ask for (rate/lease.rs).
        let lease = inner.lease.as_ref().filter(|_| spend && !exact);
        let want = match lease.map(|l| l.take(&bucket, gcra, sent)) {
            Some(Ok(decision)) => return decision,
            Some(Err(want)) => want,
            None => u32::from(spend),
        };
        if inner.quiet() {
            inner.failures.fetch_add(1, Ordering::Relaxed);
            crate::telemetry::store_error("redis");
            return inner.fallback(gcra, local, key, spend);
        }
        let args = [gcra.t_us, gcra.tau_us, u64::from(want)];
        let call = async {
            if let Some(batcher) = &inner.batcher
                && let Ok(answer) = batcher.submit((bucket.clone(), args)).await
            {
                return answer;
            }
            // Unbatched, or the batching task's runtime is gone.
            inner.calls.fetch_add(1, Ordering::Relaxed);
            let mut conn = inner.target.conn();
            let answer = inner.script.call::<(i64, i64)>(&mut conn, &bucket, &args);
            answer.await.map_err(|e| e.to_string())
        };
        let answer = tokio::time::timeout(inner.timeout, call).await;
        match answer {
            Ok(Ok((taken, ahead))) => {
                inner.report_up();
                let ahead = u64::try_from(ahead).unwrap_or(0);
                if let Some(lease) = lease {
                    lease.granted(
                        &bucket,
                        gcra,
                        sent,
                        want,
                        u32::try_from(taken).unwrap_or(0),
                        ahead,
                    );
                }
                if let Some((deny, digest)) = denied {
                    deny.record(digest, gcra, sent, ahead);
                }
                match (taken >= 1, spend) {
                    // Units leased beside this one are reported as unspent.
                    (true, true) => gcra.allowed(
                        ahead
                            .saturating_sub(u64::try_from(taken - 1).unwrap_or(0) * gcra.t_us)
                            .max(gcra.t_us),
                    ),
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

/// The task batching a single server's decisions: requests spending one
/// unit of the same bucket are coalesced into one entry (rate/coalesce.rs);
/// one entry goes as `gcra.lua`, several as one `gcra_many.lua` call.
fn start_batcher(
    manager: ConnectionManager,
    single: Arc<Lua>,
    timeout: Duration,
    counter: Arc<AtomicU64>,
) -> Batcher<GcraCall, (i64, i64)> {
    let many = Arc::new(Lua::new(GCRA_MANY_LUA));
    Batcher::start(move |calls: Vec<GcraCall>| {
        counter.fetch_add(1, Ordering::Relaxed);
        let mut conn = Connection::Single(manager.clone());
        let (single, many) = (single.clone(), many.clone());
        Box::pin(async move {
            let batch = Coalesced::of(calls);
            let call = async {
                if let [(bucket, args)] = batch.entries.as_slice() {
                    return single
                        .call::<(i64, i64)>(&mut conn, bucket, args)
                        .await
                        .map(|a| vec![a]);
                }
                let entries = &batch.entries;
                let keys: Vec<&str> = entries.iter().map(|(bucket, _)| bucket.as_str()).collect();
                let args: Vec<u64> = entries.iter().flat_map(|(_, args)| *args).collect();
                let flat: Vec<i64> = many.call_keys(&mut conn, &keys, &args).await?;
                Ok(flat
                    .chunks_exact(2)
                    .map(|pair| (pair[0], pair[1]))
                    .collect())
            };
            match tokio::time::timeout(timeout, call).await {
                Ok(Ok(answers)) => batch.answers(&answers).ok_or_else(|| {
                    format!(
                        "{} answers for {} entries",
                        answers.len(),
                        batch.entries.len()
                    )
                }),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("no answer within the timeout".to_owned()),
            }
        }) as BatchFuture<(i64, i64)>
    })
}

/// `PING` every master serving slots, each on its own: the cluster
/// connection's fan-out `PING` skips nodes it holds no connection to.
async fn ping_masters(mut conn: ClusterConnection) -> redis::RedisResult<()> {
    use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};

    let Some(masters) = masters(&mut conn).await? else {
        // The nodes do not announce their addresses: ask the masters the
        // connection knows.
        return redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop);
    };
    let pings = masters.into_iter().map(|(host, port)| {
        let mut conn = conn.clone();
        async move {
            let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
            conn.route_command(redis::cmd("PING"), route)
                .await
                .map(drop)
        }
    });
    futures_util::future::try_join_all(pings).await.map(drop)
}

/// The address of every master serving slots, from `CLUSTER SLOTS`; `None`
/// when a node does not announce its address.
pub(crate) async fn masters(
    conn: &mut ClusterConnection,
) -> redis::RedisResult<Option<Vec<(String, u16)>>> {
    let slots: Vec<Vec<Value>> = redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await?;
    let mut masters: Vec<(String, u16)> = Vec::new();
    for range in &slots {
        // [start, end, [host, port, id, ...], replicas...]
        let master = range
            .get(2)
            .and_then(|node| Vec::<Value>::from_redis_value_ref(node).ok())
            .and_then(|node| {
                let host = String::from_redis_value_ref(node.first()?).ok()?;
                let port = u16::from_redis_value_ref(node.get(1)?).ok()?;
                Some((host, port))
            })
            .ok_or_else(|| {
                redis::RedisError::from((
                    redis::ErrorKind::UnexpectedReturnType,
                    "CLUSTER SLOTS: a slot range without a master",
                ))
            })?;
        if master.0.is_empty() || master.0 == "?" {
            return Ok(None);
        }
        if !masters.contains(&master) {
            masters.push(master);
        }
    }
    if masters.is_empty() {
        return Err(redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ClusterDown),
            "CLUSTER SLOTS: no slot is served",
        )));
    }
    Ok(Some(masters))
}

/// Lockout keys known to be locked, until when: a lock in Redis only ends
/// when its time runs out (nothing unlocks early), so refusing locally until
/// then is exact, costs a locked-out client's flood no round trip, and keeps
/// it locked through a Redis outage. At most [`KNOWN_LOCKS`] are held
/// (expired ones are swept when the bound is reached; beyond it, new locks
/// are asked of Redis each time).
#[derive(Debug, Default)]
struct KnownLocks {
    until: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

/// Locks remembered at most, per store.
const KNOWN_LOCKS: usize = 100_000;

impl KnownLocks {
    /// Forget every lock (an admin reset).
    fn clear(&self) {
        self.until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Seconds left on a lock of `key` known here, at Unix second `now`.
    fn left(&self, key: &str, now: u64) -> Option<u64> {
        let locks = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        locks.get(key).filter(|u| **u > now).map(|u| u - now)
    }

    /// `key` is locked until Unix second `until`.
    fn record(&self, key: String, until: u64, now: u64) {
        let mut locks = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        if locks.len() >= KNOWN_LOCKS && !locks.contains_key(&key) {
            locks.retain(|_, u| *u > now);
            if locks.len() >= KNOWN_LOCKS {
                return;
            }
        }
        locks.insert(key, until);
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
        let inner = &*self.store.inner;
        let key = self.key(target);
        // Known to be locked: no round trip, and still locked while Redis
        // is away.
        if let Some(left) = inner.locks.left(&key, now) {
            return Some(left);
        }
        if !self.available() {
            return None;
        }
        let mut conn = inner.target.conn();
        let mut cmd = redis::cmd("HGET");
        cmd.arg(&key).arg("until");
        match tokio::time::timeout(inner.timeout, cmd.query_async::<Option<u64>>(&mut conn)).await {
            Ok(Ok(until)) => {
                inner.report_up();
                let until = until.filter(|u| *u > now)?;
                inner.locks.record(key, until, now);
                Some(until - now)
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
        let mut conn = inner.target.conn();
        let key = self.key(target);
        let args = [
            now,
            u64::from(policy.threshold),
            policy.window,
            policy.lock_for,
        ];
        let call = inner.lockout_script.call::<u64>(&mut conn, &key, &args);
        match tokio::time::timeout(inner.timeout, call).await {
            Ok(Ok(locked)) => {
                inner.report_up();
                if locked > 0 {
                    inner.locks.record(key, now + locked, now);
                }
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

/// Replay identifiers in the same Redis as the rate limits, so a DPoP proof
/// or one-time token accepted by one instance is refused by all. While
/// Redis is unreachable the answer is [`FirstUse::Unavailable`]: the guard
/// refuses (503) rather than admit what may be a replay.
///
/// [`FirstUse::Unavailable`]: crate::auth::replay::FirstUse::Unavailable
pub(crate) struct RedisReplay {
    store: RedisStore,
}

impl crate::auth::replay::ReplayStore for RedisReplay {
    fn first_use<'a>(
        &'a self,
        key: &'a crate::auth::replay::ReplayKey,
        ttl_secs: u64,
    ) -> BoxFuture<'a, crate::auth::replay::FirstUse> {
        Box::pin(self.set_once(key, ttl_secs))
    }
}

impl RedisReplay {
    pub(crate) fn new(store: RedisStore) -> Self {
        RedisReplay { store }
    }

    /// `SET key 1 NX EX ttl`: first use when the key was absent.
    async fn set_once(
        &self,
        key: &crate::auth::replay::ReplayKey,
        ttl_secs: u64,
    ) -> crate::auth::replay::FirstUse {
        use crate::auth::replay::FirstUse;
        let inner = &*self.store.inner;
        if inner.quiet() {
            return FirstUse::Unavailable;
        }
        let mut conn = inner.target.conn();
        let name = format!("{}:{{replay:{}}}", inner.prefix, hex::encode(key));
        let mut cmd = redis::cmd("SET");
        cmd.arg(&name)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl_secs.max(1));
        match tokio::time::timeout(inner.timeout, cmd.query_async::<Option<String>>(&mut conn))
            .await
        {
            Ok(Ok(set)) => {
                inner.report_up();
                if set.is_some() {
                    FirstUse::First
                } else {
                    FirstUse::Replayed
                }
            }
            Ok(Err(e)) => {
                inner.mark_down(&e);
                FirstUse::Unavailable
            }
            Err(_) => {
                inner.mark_down(&"no answer within the timeout");
                FirstUse::Unavailable
            }
        }
    }
}

impl Inner {
    /// A clone of the current connection.
    pub(crate) fn conn(&self) -> Connection {
        self.target.conn()
    }

    /// Forget every answer cached on this instance (an admin reset:
    /// `rate/reset.rs`).
    pub(crate) fn forget(&self) {
        if let Some(deny) = &self.deny {
            deny.clear();
        }
        if let Some(lease) = &self.lease {
            lease.clear();
        }
        self.locks.clear();
    }

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
        let now = self.elapsed_ms();
        self.quiet_until_ms
            .store(now.saturating_add(quiet), Ordering::Relaxed);
        self.target.failed(now);
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn refused(url: &str) -> String {
        match RedisStore::connect(RedisConfig::new(url)).await {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[tokio::test]
    async fn cluster_node_lists_are_checked_at_start_without_echoing_passwords() {
        let err = refused("redis://:secret@127.0.0.1:7000/3,redis://:secret@127.0.0.1:7001").await;
        assert!(err.contains("database 3"), "{err}");
        assert!(err.contains("redis://:***@127.0.0.1:7000/3"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        let err = refused("redis://:one@127.0.0.1:7000,redis://:two@127.0.0.1:7001").await;
        assert!(err.contains("different password"), "{err}");
        assert!(!err.contains("one@") && !err.contains("two@"), "{err}");
        // The single-server client (the API key store's) refuses a list.
        assert!(redis::Client::open("redis://127.0.0.1:7000,redis://127.0.0.1:7001").is_err());
        // No TLS support is built: a rediss:// list is refused, as one URL is.
        let err = refused("rediss://127.0.0.1:7000,rediss://127.0.0.1:7001").await;
        assert!(err.contains("entry 1") && err.contains("TLS"), "{err}");
        let err = refused("redis://127.0.0.1:7000,redis://127.0.0.1:notaport").await;
        assert!(err.contains("entry 2"), "{err}");
    }

    #[test]
    fn every_script_touches_one_key() {
        // Each script declares exactly one key (KEYS[1]), so a script never
        // spans two slots (the key itself is hash-tagged: see key.rs).
        // gcra_many.lua is only ever sent to a single server (`batch`).
        for script in [GCRA_LUA, LOCKOUT_LUA] {
            let keys: std::collections::BTreeSet<&str> = script
                .match_indices("KEYS[")
                .map(|(i, _)| &script[i..i + 7])
                .collect();
            assert_eq!(keys.into_iter().collect::<Vec<_>>(), ["KEYS[1]"]);
        }
    }
}
