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

impl RedisStore {
    /// Delete what `target` names and tell every instance to forget its
    /// cached answers; returns how many keys were deleted.
    pub(crate) async fn reset(&self, target: &ResetTarget<'_>) -> Result<u64, RateError> {
        let inner = &*self.inner;
        let failed = |e: redis::RedisError| RateError::Reset(e.to_string());
        let mut deleted = 0;
        let mut conn = inner.conn();
        for pattern in target_patterns(&inner.prefix, target) {
            for node in nodes(&mut conn).await.map_err(failed)? {
                deleted += self
                    .delete_matching(&mut conn, node.as_ref(), &pattern)
                    .await
                    .map_err(failed)?;
            }
        }
        let channel = channel(&inner.prefix);
        let _: i64 = conn.publish(&channel, "reset").await.map_err(failed)?;
        self.forget();
        // Answers on their way while the keys went may have cached a denial
        // again: once they are over, everyone forgets once more.
        tokio::time::sleep(inner.timeout).await;
        let _: i64 = conn.publish(&channel, "reset").await.map_err(failed)?;
        self.forget();
        Ok(deleted)
    }

    /// `SCAN` one node (or the single server) for `pattern` and delete the
    /// keys found, never the replay memory.
    async fn delete_matching(
        &self,
        conn: &mut Connection,
        node: Option<&(String, u16)>,
        pattern: &str,
    ) -> redis::RedisResult<u64> {
        let replay = format!("{}:{{replay:", self.inner.prefix);
        let mut cursor: u64 = 0;
        let mut deleted = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, keys): (u64, Vec<String>) = match node {
                None => scan.query_async(conn).await?,
                Some((host, port)) => {
                    let Connection::Cluster(cluster) = conn else {
                        unreachable!("nodes are listed for a cluster only")
                    };
                    use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
                    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                        host: host.clone(),
                        port: *port,
                    });
                    let answer = cluster.route_command(scan, route).await?;
                    redis::from_redis_value(answer)?
                }
            };
            let keys: Vec<String> = keys
                .into_iter()
                .filter(|k| !is_replay(k, &replay))
                .collect();
            if !keys.is_empty() {
                deleted += match node {
                    // One slot per key in a cluster: one command each.
                    Some(_) => {
                        let mut n = 0;
                        for key in &keys {
                            n += conn.unlink::<_, u64>(key).await?;
                        }
                        n
                    }
                    None => conn.unlink::<_, u64>(&keys).await?,
                };
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// Forget every answer cached on this instance.
    pub(crate) fn forget(&self) {
        self.inner.forget();
    }
}

/// Whether `key` is one of the replay memory's (`<prefix>:{replay:<hex>}`),
/// not a bucket of a scope that happens to be called `replay`.
fn is_replay(key: &str, replay: &str) -> bool {
    key.strip_prefix(replay)
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The masters to scan, by address; `[None]` for a single server.
async fn nodes(conn: &mut Connection) -> redis::RedisResult<Vec<Option<(String, u16)>>> {
    match conn {
        Connection::Single(_) => Ok(vec![None]),
        Connection::Cluster(cluster) => match crate::rate::redis::masters(cluster).await? {
            Some(masters) => Ok(masters.into_iter().map(Some).collect()),
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "CLUSTER SLOTS: a master does not announce its address, so it cannot be scanned",
            ))),
        },
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
