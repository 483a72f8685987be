//! The admin reset of the Redis store (`RateLimiter::reset`, `cargo rampart
//! rate reset`): the buckets and brute-force locks it names are deleted
//! from Redis, and every instance sharing them is told to forget what it
//! remembers of them locally.
//!
//! Each instance remembers Redis's answers to save round trips: buckets
//! known to be over their limit (the deny cache), leased units, locks known
//! to be held. Those are exact only because nothing in Redis ever moves
//! backwards, which a reset does. So a reset ends with a `PUBLISH` on
//! `<prefix>:reset`, which every store subscribes to from its start: on any
//! message it clears all three (clearing more than the reset named only
//! costs round trips, never a wrong answer). A decision whose answer was on
//! its way while the keys were deleted could cache a denial again, so the
//! message is published a second time once such answers are over (after
//! the store's timeout).
//!
//! The replay memory (DPoP proofs, one-time tokens) shares the prefix and is
//! never deleted: forgetting an identifier would let it be replayed.

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncCommands;

use crate::rate::RateError;
use crate::rate::key::{RateKeyValue, ip_bucket, push_safe};
use crate::rate::redis::{Connection, Inner, RedisStore};
use redis::cluster_async::ClusterConnection;

/// What an admin reset clears ([`RateLimiter::reset`](crate::rate::RateLimiter::reset)).
#[derive(Debug, Clone, Copy)]
pub enum ResetTarget<'a> {
    /// Every bucket and every brute-force lock under the store's prefix.
    All,
    /// One client's buckets in every scope (its subject, API key id, IP or
    /// custom key, as the quota keys it), and for an IP or an API key id
    /// its brute-force locks too.
    Client(RateKeyValue<'a>),
}

/// Keys deleted per `UNLINK` (a single server) and asked for per `SCAN` step.
const SCAN_COUNT: usize = 500;

/// How long a store waits before subscribing again after losing the channel.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);

/// The channel every store of `prefix` listens on.
fn channel(prefix: &str) -> String {
    format!("{prefix}:reset")
}

/// `part` with the glob characters of `SCAN MATCH` escaped.
fn glob_escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The `SCAN MATCH` patterns of `target` under `prefix`. Parts of a key
/// that are long or not printable ASCII are stored as a digest
/// (`rate/key.rs`), so a client's buckets are found whatever their scope,
/// but a lock of a key id at a client is found by pattern only when both
/// are plain.
fn target_patterns(prefix: &str, target: &ResetTarget<'_>) -> Vec<String> {
    let p = glob_escape(prefix);
    let ResetTarget::Client(key) = target else {
        return vec![format!("{p}:{{*")];
    };
    let mut patterns = vec![format!("{p}:{{*:{}}}", glob_escape(&key.value_part()))];
    match key {
        RateKeyValue::Ip(ip) => {
            let client = ip_bucket(*ip);
            let mut lock = String::new();
            push_safe(&mut lock, &format!("ip:{client}"));
            patterns.push(format!("{p}:{{lockout:{}}}", glob_escape(&lock)));
            // Failures of a key id count per client: `key:<id>@<client>`.
            patterns.push(format!(
                "{p}:{{lockout:key:*@{}}}",
                glob_escape(&client.to_string())
            ));
        }
        RateKeyValue::ApiKey(id) => {
            patterns.push(format!("{p}:{{lockout:key:{}@*}}", glob_escape(id)));
        }
        _ => {}
    }
    patterns
}

/// How long one command of a reset (a `SCAN` step, an `UNLINK`, a
/// `PUBLISH`) may take before the reset gives up with an error: an admin
/// command against a hung Redis fails instead of hanging. Longer than the
/// decisions' timeout, which is tuned for request latency.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// `call`, bounded by [`CALL_TIMEOUT`].
async fn bounded<T>(
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
    bounded_by(CALL_TIMEOUT, call).await
}

/// `call`, or an I/O error once `limit` has passed without its answer.
async fn bounded_by<T>(
    limit: Duration,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(answer) => answer,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "no answer within the reset's time limit",
            format!("{} ms", limit.as_millis()),
        ))),
    }
}

/// One server a reset scans: the single server, or one master of a cluster
/// (every command routed to it by address).
enum Node<'c> {
    Server(&'c mut Connection),
    Master {
        cluster: &'c mut ClusterConnection,
        host: String,
        port: u16,
    },
}

impl Node<'_> {
    async fn query<T: redis::FromRedisValue>(&mut self, cmd: redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Node::Server(conn) => bounded(cmd.query_async(&mut **conn)).await,
            Node::Master {
                cluster,
                host,
                port,
            } => {
                use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                });
                let answer = bounded(cluster.route_command(cmd, route)).await?;
                Ok(redis::from_redis_value(answer)?)
            }
        }
    }

    /// Delete `keys`: one `UNLINK` on a single server, one per key on a
    /// cluster master (each key has its own slot).
    async fn unlink(&mut self, keys: &[String]) -> redis::RedisResult<u64> {
        if let Node::Server(_) = self {
            let mut unlink = redis::cmd("UNLINK");
            unlink.arg(keys);
            return self.query(unlink).await;
        }
        let mut n = 0;
        for key in keys {
            let mut unlink = redis::cmd("UNLINK");
            unlink.arg(key);
            n += self.query::<u64>(unlink).await?;
        }
        Ok(n)
    }
}

impl RedisStore {
    /// Delete what `target` names and tell every instance to forget its
    /// cached answers; returns how many keys were deleted.
    pub(crate) async fn reset(&self, target: &ResetTarget<'_>) -> Result<u64, RateError> {
        let inner = &*self.inner;
        let failed = |e: redis::RedisError| RateError::Reset(e.to_string());
        let mut deleted = 0;
        let mut conn = inner.conn();
        let replay = format!("{}:{{replay:", inner.prefix);
        for pattern in target_patterns(&inner.prefix, target) {
            match &mut conn {
                Connection::Single(_) => {
                    let mut node = Node::Server(&mut conn);
                    deleted += delete_matching(&mut node, &pattern, &replay)
                        .await
                        .map_err(failed)?;
                }
                Connection::Cluster(cluster) => {
                    for (host, port) in cluster_masters(cluster).await.map_err(failed)? {
                        let mut node = Node::Master {
                            cluster: &mut *cluster,
                            host,
                            port,
                        };
                        deleted += delete_matching(&mut node, &pattern, &replay)
                            .await
                            .map_err(failed)?;
                    }
                }
            }
        }
        let channel = channel(&inner.prefix);
        bounded(conn.publish::<_, _, i64>(&channel, "reset"))
            .await
            .map_err(failed)?;
        self.forget();
        // Answers on their way while the keys went may have cached a denial
        // again: once they are over, everyone forgets once more.
        tokio::time::sleep(inner.timeout).await;
        bounded(conn.publish::<_, _, i64>(&channel, "reset"))
            .await
            .map_err(failed)?;
        self.forget();
        Ok(deleted)
    }

    /// Forget every answer cached on this instance.
    pub(crate) fn forget(&self) {
        self.inner.forget();
    }
}

/// `SCAN` one node for `pattern` and delete the keys found, never the
/// replay memory (keys starting with `replay`).
async fn delete_matching(
    node: &mut Node<'_>,
    pattern: &str,
    replay: &str,
) -> redis::RedisResult<u64> {
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT);
        let (next, keys): (u64, Vec<String>) = node.query(scan).await?;
        let keys: Vec<String> = keys.into_iter().filter(|k| !is_replay(k, replay)).collect();
        if !keys.is_empty() {
            deleted += node.unlink(&keys).await?;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

/// Whether `key` is one of the replay memory's (`<prefix>:{replay:<hex>}`),
/// not a bucket of a scope that happens to be called `replay`.
fn is_replay(key: &str, replay: &str) -> bool {
    key.strip_prefix(replay)
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The masters of a cluster to scan, by address.
async fn cluster_masters(
    cluster: &mut ClusterConnection,
) -> redis::RedisResult<Vec<(String, u16)>> {
    match bounded(crate::rate::redis::masters(cluster)).await? {
        Some(masters) => Ok(masters),
        None => Err(redis::RedisError::from((
            redis::ErrorKind::Client,
            "CLUSTER SLOTS: a master does not announce its address, so it cannot be scanned",
        ))),
    }
}

/// Subscribe to `<prefix>:reset` on `urls` (the first that answers: a
/// cluster delivers a message published on any node to every node) and
/// make `store` forget its cached answers on every message, until the
/// store is gone. A lost subscription is taken up again.
pub(crate) fn listen(store: &RedisStore, urls: Vec<String>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let channel = channel(&store.inner.prefix);
    let inner: Weak<Inner> = std::sync::Arc::downgrade(&store.inner);
    runtime.spawn(async move {
        loop {
            for url in &urls {
                let Ok(client) = redis::Client::open(url.as_str()) else {
                    continue;
                };
                let Ok(mut pubsub) = client.get_async_pubsub().await else {
                    continue;
                };
                if pubsub.subscribe(&channel).await.is_err() {
                    continue;
                }
                // Whatever was reset while nobody listened is forgotten too.
                match inner.upgrade() {
                    Some(inner) => inner.forget(),
                    None => return,
                }
                let mut messages = pubsub.on_message();
                while messages.next().await.is_some() {
                    match inner.upgrade() {
                        Some(inner) => inner.forget(),
                        None => return,
                    }
                }
            }
            if inner.strong_count() == 0 {
                return;
            }
            tokio::time::sleep(RESUBSCRIBE_DELAY).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_globs_and_name_a_clients_buckets_and_locks() {
        assert_eq!(target_patterns("rl", &ResetTarget::All), ["rl:{*"]);
        assert_eq!(
            target_patterns("r*l", &ResetTarget::Client(RateKeyValue::Subject("a?b[c]"))),
            [r"r\*l:{*:sub:a\?b\[c\]}"]
        );
        let ip = "2001:db8::7".parse().unwrap();
        assert_eq!(
            target_patterns("rl", &ResetTarget::Client(RateKeyValue::Ip(ip))),
            [
                "rl:{*:ip:2001:db8::}",
                "rl:{lockout:ip:2001:db8::}",
                "rl:{lockout:key:*@2001:db8::}"
            ]
        );
        assert_eq!(
            target_patterns("rl", &ResetTarget::Client(RateKeyValue::ApiKey("k1"))),
            ["rl:{*:key:k1}", "rl:{lockout:key:k1@*}"]
        );
    }

    #[tokio::test]
    async fn a_command_that_never_answers_fails_the_reset_instead_of_hanging_it() {
        let limit = Duration::from_millis(20);
        let hung = bounded_by::<u64>(limit, std::future::pending()).await;
        let err = hung.expect_err("a hung command was waited for");
        assert_eq!(err.kind(), redis::ErrorKind::Io);
        assert!(err.to_string().contains("20 ms"), "{err}");
        assert_eq!(bounded_by(limit, async { Ok(7u64) }).await.ok(), Some(7));
    }

    #[test]
    fn only_the_replay_memory_is_spared() {
        let replay = "rl:{replay:";
        assert!(is_replay("rl:{replay:0a1b2c}", replay));
        assert!(
            !is_replay("rl:{replay:sub:alice}", replay),
            "a scope named replay"
        );
        assert!(!is_replay("rl:{listPets:sub:alice}", replay));
    }
}
