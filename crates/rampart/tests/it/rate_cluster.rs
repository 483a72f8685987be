//! The Redis store over a real Redis Cluster (3 masters, 3 replicas) and
//! real sockets: two server instances share one quota exactly, share
//! brute-force lockouts, and survive the failover of the master owning the
//! principal's slot: 503 (fail-closed) while it is away, exact again after.
//!
//! Needs `REDIS_CLUSTER_URLS` (comma-separated node URLs;
//! `scripts/ensure-redis-cluster.sh` starts a cluster on 127.0.0.1:7000-7005
//! and prints the line to export). Without it this test is skipped, except
//! under `CI=true` where it fails.
//!
//! The failover makes the master unresponsive with `DEBUG SLEEP` (the
//! script allows DEBUG from loopback): its replica is elected in its place,
//! and when the sleep ends the old master rejoins as a replica by itself, so
//! the cluster is left healthy even when the test fails midway. Everything
//! runs in one test, because the failover takes the whole cluster down
//! (`cluster_state:fail`) for a few seconds.

use crate::support::process::alone;
use crate::support::rate;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use rampart::auth::{LockTarget, LockoutPolicy};
use rampart::rate::{FailurePolicy, Rate, RateLimitLayer, RateLimiter, RedisConfig, ResetTarget};
use rate::{client, ok_route, serve, unique_prefix, with_fake_auth};
use redis::aio::MultiplexedConnection;

/// Seconds the failed master stays unresponsive: far longer than the
/// failure detection and election of its replica (cluster-node-timeout 2 s,
/// about 3 s in all) and the instances' reconnection (at most 2 s more).
const MASTER_SLEEP_SECS: u64 = 20;

/// Most time allowed for the cluster to do what is awaited (polled, never
/// asserted on).
const DEADLINE: Duration = Duration::from_secs(60);

/// `REDIS_CLUSTER_URLS` if the cluster answers. When it does not: under
/// `CI=true` the test fails; otherwise it is skipped with a note.
async fn cluster_urls(test: &str) -> Option<String> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let hint = "run scripts/ensure-redis-cluster.sh and export the REDIS_CLUSTER_URLS it prints";
    let Some(urls) = std::env::var("REDIS_CLUSTER_URLS")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        assert!(
            !ci,
            "{test}: REDIS_CLUSTER_URLS is not set and CI=true ({hint})"
        );
        eprintln!("{test}: SKIPPED, REDIS_CLUSTER_URLS is not set ({hint})");
        return None;
    };
    // A cluster still recovering (e.g. from an interrupted run of this
    // test: its master wakes up by itself) is waited for.
    let seed = urls.split(',').next().and_then(|u| node_addr(u.trim()));
    let mut healthy = false;
    if let Some(seed) = seed {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if cluster_healthy(&seed).await {
                healthy = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    if healthy {
        return Some(urls);
    }
    assert!(
        !ci,
        "{test}: the Redis Cluster at {urls} is not healthy and CI=true ({hint})"
    );
    eprintln!("{test}: SKIPPED, the Redis Cluster at {urls} is not healthy ({hint})");
    None
}

/// `host:port` of a `redis://host:port` URL.
fn node_addr(url: &str) -> Option<String> {
    let rest = url.strip_prefix("redis://")?;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    Some(rest.trim_end_matches('/').to_owned())
}

/// A plain connection to one node (`host:port`), or `None` within 2 s.
async fn node(addr: &str) -> Option<MultiplexedConnection> {
    let client = redis::Client::open(format!("redis://{addr}")).ok()?;
    tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()
}

/// One command to one node, or `None` when it does not answer within 1 s.
async fn ask<T: redis::FromRedisValue>(addr: &str, cmd: &redis::Cmd) -> Option<T> {
    let mut conn = node(addr).await?;
    tokio::time::timeout(Duration::from_secs(1), cmd.query_async::<T>(&mut conn))
        .await
        .ok()?
        .ok()
}

async fn cluster_ok(addr: &str) -> bool {
    let info: Option<String> = ask(addr, redis::cmd("CLUSTER").arg("INFO")).await;
    info.is_some_and(|i| i.lines().any(|l| l.trim() == "cluster_state:ok"))
}

/// The node is a master, or a replica whose link to its master is up: a
/// replica still in its first full sync (a cluster just created) would
/// acknowledge no write, and the test's `WAIT` would find none.
async fn replication_ok(addr: &str) -> bool {
    let info: Option<String> = ask(addr, redis::cmd("INFO").arg("replication")).await;
    info.is_some_and(|i| {
        i.lines()
            .any(|l| matches!(l.trim(), "role:master" | "master_link_status:up"))
    })
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone)]
struct Node {
    id: String,
    addr: String,
    master: bool,
    failing: bool,
    master_id: Option<String>,
    slots: Vec<(u16, u16)>,
}

async fn cluster_nodes(addr: &str) -> Option<Vec<Node>> {
    let text: String = ask(addr, redis::cmd("CLUSTER").arg("NODES")).await?;
    let nodes = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                return None;
            }
            let flags: Vec<&str> = fields[2].split(',').collect();
            let slots = fields[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| {
                    let (a, b) = s.split_once('-').unwrap_or((s, s));
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect();
            Some(Node {
                id: fields[0].to_owned(),
                addr: fields[1].split('@').next()?.to_owned(),
                master: flags.contains(&"master"),
                failing: flags.contains(&"fail") || flags.contains(&"fail?"),
                master_id: (fields[3] != "-").then(|| fields[3].to_owned()),
                slots,
            })
        })
        .collect();
    Some(nodes)
}

async fn key_slot(addr: &str, key: &str) -> u16 {
    ask(addr, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key))
        .await
        .expect("CLUSTER KEYSLOT")
}

/// The master serving `slot`, as `seed` sees it.
async fn master_of(seed: &str, slot: u16) -> Node {
    let nodes = cluster_nodes(seed).await.expect("CLUSTER NODES");
    nodes
        .iter()
        .find(|n| n.master && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
        .unwrap_or_else(|| panic!("no master serves slot {slot}: {nodes:#?}"))
        .clone()
}

/// The master serving `slot` and its replica, as `seed` sees them.
async fn shard_of(seed: &str, slot: u16) -> (Node, Node) {
    let master = master_of(seed, slot).await;
    let nodes = cluster_nodes(seed).await.expect("CLUSTER NODES");
    let replica = nodes
        .iter()
        .find(|n| n.master_id.as_deref() == Some(master.id.as_str()) && !n.failing)
        .unwrap_or_else(|| panic!("master {} has no healthy replica: {nodes:#?}", master.addr))
        .clone();
    (master, replica)
}

/// Poll `check` until it is true, at most [`DEADLINE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within {DEADLINE:?}");
}

/// Every node of the cluster answers, says it is ok, sees the same 3
/// masters serving the same slots (a master just back from a failover may
/// briefly still believe it owns its old slots), and every replica is in
/// sync with its master.
async fn cluster_healthy(seed: &str) -> bool {
    let Some(nodes) = cluster_nodes(seed).await else {
        return false;
    };
    let Some(layout) = masters_layout(&nodes) else {
        return false;
    };
    for n in &nodes {
        if !cluster_ok(&n.addr).await || !replication_ok(&n.addr).await {
            return false;
        }
        let Some(view) = cluster_nodes(&n.addr).await else {
            return false;
        };
        if masters_layout(&view).as_ref() != Some(&layout) {
            return false;
        }
    }
    true
}

/// Masters (by id) and the slot ranges each serves.
type Layout = Vec<(String, Vec<(u16, u16)>)>;

/// The masters serving slots, with their slots, when 3 of them do and no
/// node is failing.
fn masters_layout(nodes: &[Node]) -> Option<Layout> {
    if nodes.iter().any(|n| n.failing) {
        return None;
    }
    let mut masters: Layout = nodes
        .iter()
        .filter(|n| n.master && !n.slots.is_empty())
        .map(|n| (n.id.clone(), n.slots.clone()))
        .collect();
    masters.sort();
    (masters.len() == 3).then_some(masters)
}

fn per_hour(count: u32) -> Rate {
    Rate::new(count, Duration::from_secs(3600))
}

async fn cluster_limiter(urls: &str, prefix: &str) -> RateLimiter {
    RateLimiter::redis(
        RedisConfig::new(urls)
            .key_prefix(prefix)
            .timeout(Duration::from_millis(200))
            .failure(FailurePolicy::FailClosed)
            .retry_interval(Duration::from_millis(100))
            // The failover is observed through a principal over its quota:
            // with the deny cache that principal is refused locally and
            // never reaches the cluster (rate_redis.rs tests the cache
            // through an outage).
            .deny_cache(false),
    )
    .await
    .unwrap()
}

fn app(limiter: &RateLimiter, rate: Rate) -> Router {
    with_fake_auth(Router::new().route(
        "/pets",
        ok_route().route_layer(RateLimitLayer::per_principal(limiter, rate, "listPets")),
    ))
}

async fn status(http: &reqwest::Client, instance: SocketAddr, user: &str) -> u16 {
    http.get(format!("http://{instance}/pets"))
        .header("x-test-user", user)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `n` concurrent requests for `user`, alternating between the instances:
/// (200s, 429s); any other status fails the test.
async fn burst(instances: [SocketAddr; 2], user: &str, n: usize) -> (u32, u32) {
    let http = client();
    let requests = (0..n).map(|i| {
        let (http, user) = (http.clone(), user.to_owned());
        let instance = instances[i % 2];
        tokio::spawn(async move { status(&http, instance, &user).await })
    });
    let (mut admitted, mut limited) = (0, 0);
    for handle in requests.collect::<Vec<_>>() {
        match handle.await.unwrap() {
            200 => admitted += 1,
            429 => limited += 1,
            other => panic!("{user}: unexpected status {other}"),
        }
    }
    (admitted, limited)
}

/// The bucket key of `user` under `prefix` (docs/runtime/rate.md: the
/// braces are the hash tag).
fn bucket_key(prefix: &str, user: &str) -> String {
    format!("{prefix}:{{listPets:sub:{user}}}")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_a_cluster_exactly_and_survive_a_failover() {
    alone!(two_instances_share_a_cluster_exactly_and_survive_a_failover);
    let test = "two_instances_share_a_cluster_exactly_and_survive_a_failover";
    let Some(urls) = cluster_urls(test).await else {
        return;
    };
    // The store's audit events appear in the output of a failing run.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("rampart=info")
        .with_test_writer()
        .try_init();
    let seed = node_addr(urls.split(',').next().unwrap_or_default().trim()).unwrap();
    let prefix = unique_prefix("cluster");
    let quota = 10;
    let rate = per_hour(quota);
    let limiters = [
        cluster_limiter(&urls, &prefix).await,
        cluster_limiter(&urls, &prefix).await,
    ];
    let instances = [
        serve(app(&limiters[0], rate)).await,
        serve(app(&limiters[1], rate)).await,
    ];
    for limiter in &limiters {
        limiter
            .probe()
            .await
            .expect("readiness on a healthy cluster");
    }

    // 1. Exact across the two instances: 40 concurrent requests, one principal.
    let (admitted, limited) = burst(instances, "alice", 40).await;
    assert_eq!(admitted, quota, "admitted across both instances");
    assert_eq!(limited, 40 - quota);

    // The bucket lives on the master owning its hash tag's slot.
    let key = bucket_key(&prefix, "alice");
    let slot = key_slot(&seed, &key).await;
    let (master, replica) = shard_of(&seed, slot).await;
    let exists: i64 = ask(&master.addr, redis::cmd("EXISTS").arg(&key))
        .await
        .expect("EXISTS on the owning master");
    assert_eq!(exists, 1, "{key} on {} (slot {slot})", master.addr);
    // Replicated before the failover, so the new master knows the spent quota.
    let acked: i64 = ask(&master.addr, redis::cmd("WAIT").arg(1).arg(2000))
        .await
        .expect("WAIT");
    assert!(acked >= 1, "the replica acknowledged the bucket");

    // 2. Lockout over the cluster: failures counted by either instance add up.
    let stores = [
        limiters[0].lockout_store().expect("a Redis lockout store"),
        limiters[1].lockout_store().expect("a Redis lockout store"),
    ];
    let policy = LockoutPolicy {
        threshold: 3,
        window: 900,
        lock_for: 60,
    };
    let key_id = format!("{prefix}-key");
    let target = LockTarget::KeyId(&key_id);
    let now = unix_now();
    assert_eq!(stores[0].locked(target, now).await, None);
    assert_eq!(stores[0].fail(target, now, policy).await, None);
    assert_eq!(stores[1].fail(target, now, policy).await, None);
    assert_eq!(stores[0].fail(target, now, policy).await, Some(60));
    for store in &stores {
        let left = store.locked(target, now + 1).await;
        assert_eq!(left, Some(59), "locked on every instance");
    }

    // 3. Failover: the master owning alice's slot stops answering.
    let sleeper = {
        let addr = master.addr.clone();
        tokio::spawn(async move {
            let mut conn = node(&addr).await.expect("connection to the master");
            // Answers when the sleep ends; the result does not matter.
            let _ = redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg(MASTER_SLEEP_SECS)
                .query_async::<redis::Value>(&mut conn)
                .await;
        })
    };
    eventually("the master stops answering", || async {
        ask::<String>(&master.addr, &redis::cmd("PING"))
            .await
            .is_none()
    })
    .await;

    // Fail-closed while it is away: 503 on both instances, never 200; and
    // readiness reports the outage. All at once, inside one store timeout:
    // the outage lasts only until the replica is elected (about 2 s), which
    // ten requests one after the other, each waiting out the 200 ms
    // timeout, could outlast on a loaded machine.
    let http = client();
    let (codes, probes) = tokio::join!(
        futures_util::future::join_all((0..10).map(|i| status(&http, instances[i % 2], "alice"))),
        futures_util::future::join_all(limiters.iter().map(|l| l.probe())),
    );
    for (i, code) in codes.into_iter().enumerate() {
        assert_eq!(code, 503, "request {i} during the outage");
    }
    for probe in probes {
        assert!(probe.is_err(), "readiness reports the outage");
    }

    // Its replica is elected in its place.
    let others: Vec<String> = cluster_nodes(&replica.addr)
        .await
        .expect("CLUSTER NODES")
        .into_iter()
        .filter(|n| n.addr != master.addr)
        .map(|n| n.addr)
        .collect();
    eventually("the replica is promoted", || async {
        let mut promoted = HashSet::new();
        for addr in &others {
            if let Some(nodes) = cluster_nodes(addr).await {
                promoted.extend(
                    nodes
                        .into_iter()
                        .filter(|n| n.id == replica.id && n.master)
                        .map(|n| n.addr),
                );
            }
        }
        !promoted.is_empty()
    })
    .await;

    // 4. After the failover both instances answer from the new master, and
    // the quota spent before it is still spent: 429, not a fresh quota.
    for instance in instances {
        eventually("an instance answers again", || async {
            status(&http, instance, "alice").await != 503
        })
        .await;
        assert_eq!(status(&http, instance, "alice").await, 429);
    }
    // ... while the old master still sleeps: the instances found the new
    // master by themselves, they did not wait for the old one to come back.
    assert!(
        ask::<String>(&master.addr, &redis::cmd("PING"))
            .await
            .is_none(),
        "the old master {} answered before the instances recovered",
        master.addr
    );
    let new_master = master_of(&replica.addr, slot).await;
    assert_eq!(
        new_master.id, replica.id,
        "slot {slot} moved to the replica"
    );

    // Exact again, for a principal whose bucket lives on the new master.
    let mut bob = None;
    for n in 0..10_000 {
        let user = format!("bob{n}");
        let s = key_slot(&replica.addr, &bucket_key(&prefix, &user)).await;
        if new_master.slots.iter().any(|(a, b)| (*a..=*b).contains(&s)) {
            bob = Some(user);
            break;
        }
    }
    let bob = bob.expect("a principal on the failed-over shard");
    let (admitted, limited) = burst(instances, &bob, 40).await;
    assert_eq!(
        admitted, quota,
        "{bob}: admitted across both instances after the failover"
    );
    assert_eq!(limited, 40 - quota);

    // 5. The old master wakes up and rejoins as a replica: the cluster is
    // healthy (3 masters, every node ok) for the next run.
    let _ = sleeper.await;
    eventually("the cluster is healthy again", || cluster_healthy(&seed)).await;
    for limiter in &limiters {
        limiter.probe().await.expect("readiness after the failover");
    }

    // 6. The admin reset scans every master: a principal on another shard
    // than alice's and bob's is reset with them, and each gets its quota
    // again, exactly.
    let mut carol = None;
    for n in 0..10_000 {
        let user = format!("carol{n}");
        let s = key_slot(&seed, &bucket_key(&prefix, &user)).await;
        if !new_master.slots.iter().any(|(a, b)| (*a..=*b).contains(&s)) {
            carol = Some(user);
            break;
        }
    }
    let carol = carol.expect("a principal on another shard");
    assert_eq!(burst(instances, &carol, 20).await.0, quota);
    let deleted = limiters[0]
        .reset(ResetTarget::All)
        .await
        .expect("a reset of the cluster");
    assert!(deleted >= 3, "{deleted} keys deleted");
    for user in ["alice", bob.as_str(), carol.as_str()] {
        let (admitted, limited) = burst(instances, user, 20).await;
        assert_eq!(
            (admitted, limited),
            (quota, 20 - quota),
            "{user} after the reset"
        );
    }
}
