//! The Redis store over real sockets and a real Redis: two server instances
//! share one quota exactly, both stores decide alike, and the failure
//! policies hold while Redis is down and end by themselves when it returns.
//!
//! Needs `REDIS_URL` (default `redis://127.0.0.1:6379`; `scripts/ensure-redis.sh`
//! starts one). Without Redis these tests are skipped, except under `CI=true`
//! where they fail. The outage tests run their own `redis-server` child.

use crate::support::rate;

use std::time::Duration;

use axum::Router;
use rampart::rate::{
    FailurePolicy, MemoryConfig, Outcome, Rate, RateClock, RateLimitLayer, RateLimiter, RedisConfig,
};
use rate::{
    client, free_port, header, ok_route, redis_url, serve, start_redis, unique_prefix,
    with_fake_auth,
};

fn per_hour(count: u32) -> Rate {
    Rate::new(count, Duration::from_secs(3600))
}

async fn redis_limiter(url: &str, prefix: &str, failure: FailurePolicy) -> RateLimiter {
    RateLimiter::redis(
        RedisConfig::new(url)
            .key_prefix(prefix)
            .timeout(Duration::from_millis(200))
            .failure(failure)
            .retry_interval(Duration::from_millis(100)),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sharing_redis_admit_exactly_the_quota() {
    let Some(url) = redis_url("two_instances_sharing_redis_admit_exactly_the_quota").await else {
        return;
    };
    let prefix = unique_prefix("exact");
    let quota = 10;
    let rate = per_hour(quota);
    let a = serve(app(
        &redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await,
        rate,
    ))
    .await;
    let b = serve(app(
        &redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await,
        rate,
    ))
    .await;

    // 40 concurrent requests for one principal, half through each instance.
    let http = client();
    let requests = (0..40).map(|i| {
        let url = format!("http://{}/pets", if i % 2 == 0 { a } else { b });
        let http = http.clone();
        tokio::spawn(async move {
            let r = http
                .get(url)
                .header("x-test-user", "alice")
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        })
    });
    let mut admitted = 0;
    let mut limited = 0;
    for handle in requests.collect::<Vec<_>>() {
        match handle.await.unwrap() {
            200 => admitted += 1,
            429 => limited += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    // One unit comes back every 6 minutes: no window edge within the test.
    assert_eq!(admitted, quota, "admitted across both instances");
    assert_eq!(limited, 40 - quota);

    // Another principal is untouched, on either instance.
    for instance in [a, b] {
        let r = http
            .get(format!("http://{instance}/pets"))
            .header("x-test-user", "bob")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn redis_headers_and_retry_after() {
    let Some(url) = redis_url("redis_headers_and_retry_after").await else {
        return;
    };
    let prefix = unique_prefix("headers");
    let limiter = redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await;
    let addr = serve(app(&limiter, per_hour(2))).await;
    let http = client();
    let get = || {
        http.get(format!("http://{addr}/pets"))
            .header("x-test-user", "carol")
            .send()
    };
    let first = get().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(
        header(&first, "ratelimit-policy"),
        "\"listPets\";q=2;w=3600"
    );
    assert_eq!(header(&first, "ratelimit"), "\"listPets\";r=1;t=1800");
    assert_eq!(get().await.unwrap().status(), 200);

    let limited = get().await.unwrap();
    assert_eq!(limited.status(), 429);
    // Redis time moves on between requests: allow for a slow machine.
    let retry: u64 = header(&limited, "retry-after").parse().unwrap();
    assert!((1790..=1800).contains(&retry), "Retry-After {retry}");
    let state = header(&limited, "ratelimit");
    let reset: u64 = state
        .strip_prefix("\"listPets\";r=0;t=")
        .unwrap_or_else(|| panic!("RateLimit {state}"))
        .parse()
        .unwrap();
    assert!((3590..=3600).contains(&reset), "RateLimit {state}");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["type"], "https://rampart.dev/problems/quota-exceeded");
    assert_eq!(body["policy"], "listPets");

    // The bucket expires in Redis when it would be full again.
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with(":{listPets:sub:carol}"), "{keys:?}");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((3_500_000..=3_600_000).contains(&ttl), "PTTL {ttl}");
}

#[tokio::test]
async fn redis_and_memory_decide_alike() {
    let Some(url) = redis_url("redis_and_memory_decide_alike").await else {
        return;
    };
    let rate = per_hour(3).with_burst(4);
    let redis = redis_limiter(&url, &unique_prefix("alike"), FailurePolicy::FailClosed).await;
    let memory = RateLimiter::memory(
        MemoryConfig::default()
            .clock(RateClock::fake())
            .sweep_interval(None),
    );
    let (r, m) = (redis.policy("alike", rate), memory.policy("alike", rate));
    for _ in 0..6 {
        let (dr, dm) = (r.check("dave").await, m.check("dave").await);
        assert_eq!(dr.outcome, dm.outcome);
        assert_eq!(dr.remaining, dm.remaining);
        assert_eq!(dr.limit, dm.limit);
    }
    assert_eq!(r.peek("dave").await.outcome, Outcome::Limited);
    assert_eq!(r.peek("erin").await.outcome, Outcome::Allowed);
    assert_eq!(r.peek("erin").await.remaining, 4);
}

/// Poll until `url` answers `status`, at most `tries` times.
async fn eventually(url: &str, status: u16, tries: usize) -> reqwest::Response {
    for _ in 0..tries {
        let r = client()
            .get(url)
            .header("x-test-user", "frank")
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == status {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never answered {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_applies_the_failure_policy_then_recovers() {
    if redis_url("outage_applies_the_failure_policy_then_recovers")
        .await
        .is_none()
    {
        return;
    }
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = start_redis(port).await;
    let prefix = unique_prefix("outage");
    let open = redis_limiter(&url, &prefix, FailurePolicy::FailOpen).await;
    let closed = redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await;
    let rate = per_hour(3);
    let open_url = format!("http://{}/pets", serve(app(&open, rate)).await);
    let closed_url = format!("http://{}/pets", serve(app(&closed, rate)).await);

    let r = eventually(&closed_url, 200, 1).await;
    assert_eq!(header(&r, "ratelimit"), "\"listPets\";r=2;t=1200");

    redis.kill().await.unwrap();
    redis.wait().await.unwrap();

    // Fail-closed: 503 problem+json with Retry-After.
    let r = eventually(&closed_url, 503, 1).await;
    assert_eq!(header(&r, "content-type"), "application/problem+json");
    assert_eq!(header(&r, "retry-after"), "1");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], "https://rampart.dev/problems/unavailable");
    assert_eq!(body["policy"], "listPets");
    assert!(closed.store_failures() > 0);
    // Fail-open: served, without claiming a bucket state.
    for _ in 0..5 {
        let r = eventually(&open_url, 200, 1).await;
        assert_eq!(header(&r, "ratelimit-policy"), "\"listPets\";q=3;w=3600");
        assert!(r.headers().get("ratelimit").is_none());
    }
    assert!(open.store_failures() > 0);

    // Redis comes back (empty): both recover by themselves.
    let _redis = start_redis(port).await;
    let r = eventually(&closed_url, 200, 200).await;
    assert!(r.headers().get("ratelimit").is_some());
    let mut recovered = false;
    for _ in 0..100 {
        let r = eventually(&open_url, 200, 1).await;
        if r.headers().get("ratelimit").is_some() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the fail-open instance never asked Redis again");
    // Quotas are enforced again: the shared bucket runs out.
    eventually(&closed_url, 429, 5).await;
    let r = eventually(&open_url, 429, 1).await;
    assert!(header(&r, "retry-after").parse::<u64>().unwrap() > 0);
}

#[tokio::test]
async fn unreachable_at_start_never_hangs_and_follows_the_policy() {
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let rate = per_hour(3);
    for (failure, outcome) in [
        (FailurePolicy::FailClosed, Outcome::Unavailable),
        (FailurePolicy::FailOpen, Outcome::FailedOpen),
    ] {
        let decide = async {
            let limiter = redis_limiter(&dead, "rampart-test:dead", failure).await;
            let policy = limiter.policy("p", rate);
            let mut outcomes = Vec::new();
            for _ in 0..3 {
                outcomes.push(policy.check("k").await.outcome);
            }
            outcomes
        };
        // A guard against hanging, not a timing assertion.
        let outcomes = tokio::time::timeout(Duration::from_secs(30), decide)
            .await
            .expect("a dead Redis must not hang the limiter");
        assert_eq!(outcomes, [outcome; 3]);
    }
    let err = RateLimiter::redis(RedisConfig::new("http://nope"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid Redis URL"), "{err}");
}

#[tokio::test]
async fn lockout_counts_are_shared_through_redis() {
    use rampart::auth::{LockTarget, LockoutPolicy};
    let Some(url) = redis_url("lockout_counts_are_shared_through_redis").await else {
        return;
    };
    let prefix = unique_prefix("lockout");
    // Two instances of a service: separate limiters, one Redis, one prefix.
    let a = redis_limiter(&url, &prefix, FailurePolicy::FailOpen)
        .await
        .lockout_store()
        .expect("a Redis limiter backs the lockout");
    let b = redis_limiter(&url, &prefix, FailurePolicy::FailOpen)
        .await
        .lockout_store()
        .unwrap();
    let policy = LockoutPolicy {
        threshold: 3,
        window: 60,
        lock_for: 30,
    };
    let ip = LockTarget::Ip("203.0.113.9".parse().unwrap());
    let now = 1_000_000;
    assert_eq!(a.fail(ip, now, policy).await, None);
    assert_eq!(b.fail(ip, now + 1, policy).await, None);
    assert_eq!(b.locked(ip, now + 1).await, None);
    // The third failure, on instance A, locks the client out on both.
    assert_eq!(a.fail(ip, now + 2, policy).await, Some(30));
    assert_eq!(b.locked(ip, now + 2).await, Some(30));
    assert_eq!(a.locked(ip, now + 12).await, Some(20));
    // Another target is unaffected; the lock lifts after `lock_for`.
    let key = LockTarget::KeyId("k1");
    assert_eq!(b.locked(key, now + 2).await, None);
    assert_eq!(b.locked(ip, now + 32).await, None);
    assert_eq!(
        a.fail(ip, now + 32, policy).await,
        None,
        "counting starts afresh"
    );

    // A memory limiter has no shared lockout store: the embedded default applies.
    assert!(
        RateLimiter::memory(MemoryConfig::default())
            .lockout_store()
            .is_none()
    );
}

/// Issue 26, item 2 (lockout reads): a lock an instance learnt of is
/// answered without asking Redis again, and holds while Redis is away (a
/// lock ends only when its time runs out); a client not known to be locked
/// is then not locked (Redis cannot be asked, as before).
#[tokio::test]
async fn a_known_lock_is_answered_without_redis_until_it_runs_out() {
    use rampart::auth::{LockTarget, LockoutPolicy};
    if redis_url("known_lock").await.is_none() {
        return;
    }
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = start_redis(port).await;
    let prefix = unique_prefix("known-lock");
    let a = redis_limiter(&url, &prefix, FailurePolicy::FailOpen)
        .await
        .lockout_store()
        .unwrap();
    let b = redis_limiter(&url, &prefix, FailurePolicy::FailOpen)
        .await
        .lockout_store()
        .unwrap();
    let policy = LockoutPolicy {
        threshold: 2,
        window: 60,
        lock_for: 30,
    };
    let ip = LockTarget::Ip("203.0.113.10".parse().unwrap());
    let now = 2_000_000;
    assert_eq!(a.fail(ip, now, policy).await, None);
    assert_eq!(a.fail(ip, now + 1, policy).await, Some(30));
    // Instance B learns of the lock from Redis once.
    assert_eq!(b.locked(ip, now + 2).await, Some(29));

    redis.kill().await.unwrap();
    redis.wait().await.unwrap();
    assert_eq!(a.locked(ip, now + 5).await, Some(26));
    assert_eq!(b.locked(ip, now + 10).await, Some(21));
    let other = LockTarget::Ip("203.0.113.11".parse().unwrap());
    assert_eq!(b.locked(other, now + 10).await, None);
    // The lock runs out on its own.
    assert_eq!(b.locked(ip, now + 31).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_local_is_the_default_and_two_instances_keep_the_quota_during_an_outage() {
    if redis_url("fail_local_is_the_default").await.is_none() {
        return;
    }
    assert_eq!(FailurePolicy::default(), FailurePolicy::FailLocal);
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = start_redis(port).await;
    // Two instances share a quota of 4 per hour: 2 each while Redis is away.
    let prefix = unique_prefix("local");
    let instance = || async {
        let limiter = RateLimiter::redis(
            RedisConfig::new(&url)
                .key_prefix(prefix.clone())
                .timeout(Duration::from_millis(200))
                .retry_interval(Duration::from_millis(100))
                .instances(2),
        )
        .await
        .unwrap();
        let base = format!("http://{}/pets", serve(app(&limiter, per_hour(4))).await);
        (limiter, base)
    };
    let (a_limiter, a) = instance().await;
    let (_, b) = instance().await;
    let r = eventually(&a, 200, 1).await;
    assert_eq!(header(&r, "ratelimit"), "\"listPets\";r=3;t=900");

    redis.kill().await.unwrap();
    redis.wait().await.unwrap();
    // Each instance decides from its own buckets: its share, then 429 (never
    // 503): together exactly the quota.
    for base in [&a, &b] {
        for remaining in [1, 0] {
            let r = eventually(base, 200, 1).await;
            assert_eq!(
                header(&r, "ratelimit"),
                format!("\"listPets\";r={remaining};t={}", (2 - remaining) * 1800)
            );
        }
        let r = eventually(base, 429, 1).await;
        assert!(header(&r, "retry-after").parse::<u64>().unwrap() > 0);
    }
    assert!(a_limiter.store_failures() > 0);

    // Redis is back (empty): decisions are shared again.
    let _redis = start_redis(port).await;
    let r = eventually(&a, 200, 200).await;
    assert_eq!(header(&r, "ratelimit"), "\"listPets\";r=3;t=900");
    let r = eventually(&b, 200, 200).await;
    assert_eq!(header(&r, "ratelimit"), "\"listPets\";r=2;t=1800");
}

/// Issue 26, item 1: a bucket Redis said is over its limit is refused on the
/// instance without asking Redis again until it can pass, so it is refused
/// (429, with the true `Retry-After`) even while Redis is away, where a
/// bucket not known to be denied gets the failure policy (503). Exactness is
/// unchanged: the cache only ever holds denials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_known_to_be_over_its_limit_is_refused_without_asking_redis() {
    if redis_url("deny_cache").await.is_none() {
        return;
    }
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = start_redis(port).await;
    let limiter = redis_limiter(&url, &unique_prefix("deny"), FailurePolicy::FailClosed).await;
    let base = format!("http://{}/pets", serve(app(&limiter, per_hour(2))).await);
    let get = |user: &'static str| {
        let base = base.clone();
        async move {
            client()
                .get(&base)
                .header("x-test-user", user)
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..2 {
        assert_eq!(get("alice").await.status().as_u16(), 200);
    }
    // Redis refuses the third; the answer is remembered.
    let refused = get("alice").await;
    assert_eq!(refused.status().as_u16(), 429);
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1790..=1800).contains(&retry), "retry-after {retry}");

    redis.kill().await.unwrap();
    redis.wait().await.unwrap();
    let failures = limiter.store_failures();
    for _ in 0..5 {
        let r = get("alice").await;
        assert_eq!(r.status().as_u16(), 429, "known over its limit");
        let left: u64 = header(&r, "retry-after").parse().unwrap();
        assert!(left <= retry && left + 5 >= retry, "retry-after {left}");
        assert_eq!(
            header(&r, "ratelimit"),
            format!("\"listPets\";r=0;t={}", left + 1800)
        );
    }
    assert_eq!(limiter.store_failures(), failures, "Redis was not asked");
    // A bucket not known to be denied needs Redis: fail-closed.
    assert_eq!(get("bob").await.status().as_u16(), 503);
    assert!(limiter.store_failures() > failures);
}

/// Issue 26, item 2: with batching on (the default for a single server),
/// concurrent decisions of two instances go to Redis several to a call and
/// admission stays exact: N concurrent requests at a quota of q admit
/// exactly min(N, q), for N below and above q.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_decisions_of_two_instances_admit_exactly_min_n_q() {
    let Some(url) = redis_url("batched_decisions").await else {
        return;
    };
    let prefix = unique_prefix("batched");
    let limiters = [
        redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await,
        redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await,
    ];
    let quota = 50;
    let policies = [
        limiters[0].policy("batched", per_hour(quota)),
        limiters[1].policy("batched", per_hour(quota)),
    ];
    let run = |user: String, n: usize| {
        let policies = policies.clone();
        async move {
            let decisions = (0..n).map(|i| {
                let (policy, user) = (policies[i % 2].clone(), user.clone());
                tokio::spawn(async move { policy.check(user.as_str()).await })
            });
            // What each admitted request was told remains.
            let mut remaining = Vec::new();
            for decision in decisions.collect::<Vec<_>>() {
                let decision = decision.await.unwrap();
                if decision.is_allowed() {
                    remaining.push(decision.remaining);
                }
            }
            remaining.sort_unstable();
            remaining
        }
    };
    let calls = || limiters.iter().map(RateLimiter::store_calls).sum::<u64>();
    // Below the quota: every request admitted. No denial, so no deny cache:
    // fewer calls than decisions means batches. Whether requests meet in a
    // batch depends on scheduling, so a few rounds are allowed to show it.
    let mut batched = false;
    for round in 0..5 {
        let before = calls();
        assert_eq!(run(format!("below-{round}"), 30).await.len(), 30);
        if calls() - before < 30 {
            batched = true;
            break;
        }
    }
    assert!(batched, "30 concurrent decisions never shared a call");
    // Above the quota: exactly the quota, and each admitted request was
    // answered for its own place in the bucket (a bucket named several
    // times in one call is read and written once: same-key coalescing),
    // so they were told 49, 48, ..., 0 remain, each exactly once.
    let remaining = run("above".to_owned(), 120).await;
    assert_eq!(remaining, (0..quota).collect::<Vec<u32>>());
    assert_eq!(
        limiters[0].store_failures() + limiters[1].store_failures(),
        0
    );
}

/// Issue 26, item 3: with leases on, two instances spending one hot bucket
/// take its units from Redis several at a time (far fewer calls than
/// decisions) and never admit more than Redis granted; units left unspent
/// are lost, at most `lease` per instance. An exact policy of the same
/// limiters never leases: exactly the quota, one call per admission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leased_decisions_stay_within_the_quota_and_exact_policies_never_lease() {
    let Some(url) = redis_url("leased_decisions").await else {
        return;
    };
    let prefix = unique_prefix("leased");
    let lease = 8;
    let limiter = |url: String, prefix: String| async move {
        RateLimiter::redis(
            RedisConfig::new(url)
                .key_prefix(prefix)
                .timeout(Duration::from_millis(200))
                .failure(FailurePolicy::FailClosed)
                .lease(lease),
        )
        .await
        .unwrap()
    };
    let limiters = [
        limiter(url.clone(), prefix.clone()).await,
        limiter(url.clone(), prefix.clone()).await,
    ];
    let calls = || limiters.iter().map(RateLimiter::store_calls).sum::<u64>();
    let quota = 200;
    let leased = [
        limiters[0].policy("leased", per_hour(quota)),
        limiters[1].policy("leased", per_hour(quota)),
    ];
    let mut admitted = 0;
    let mut last_remaining = u32::MAX;
    for i in 0..400 {
        let decision = leased[i % 2].check("hot").await;
        if decision.is_allowed() {
            admitted += 1;
            assert!(decision.remaining < quota, "{decision:?}");
            last_remaining = decision.remaining;
        }
    }
    let leased_calls = calls();
    assert!(
        admitted <= quota && admitted >= quota - 2 * lease,
        "{admitted} admitted of a quota of {quota} with leases of {lease}"
    );
    assert!(last_remaining <= 2 * lease, "{last_remaining}");
    assert!(
        leased_calls < 100,
        "{leased_calls} calls to Redis for 400 leased decisions"
    );

    let quota = 50;
    let exact = [
        limiters[0].policy("exact", per_hour(quota)).exact(),
        limiters[1].policy("exact", per_hour(quota)).exact(),
    ];
    assert!(exact[0].is_exact() && !leased[0].is_exact());
    let mut admitted = 0;
    for i in 0..120 {
        admitted += u32::from(exact[i % 2].check("hot").await.is_allowed());
    }
    assert_eq!(admitted, quota);
    assert!(
        calls() - leased_calls >= u64::from(quota),
        "an exact policy made fewer calls than admissions"
    );
    assert_eq!(
        limiters[0].store_failures() + limiters[1].store_failures(),
        0
    );
}

/// Issue 26, item 1 ("cleared on an admin reset"): `RateLimiter::reset`
/// deletes what it names from Redis, and every instance sharing the prefix
/// forgets its cached answers: a principal both instances know to be over
/// its quota (deny cache) is admitted again by both, exactly up to the quota,
/// and a known lock is lifted on both. A reset of one client leaves the
/// others alone; a reset of everything never touches another prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reset_clears_the_named_buckets_and_locks_on_every_instance() {
    use rampart::auth::{LockTarget, LockoutPolicy};
    use rampart::rate::{RateKeyValue, ResetTarget};
    let Some(url) = redis_url("admin_reset").await else {
        return;
    };
    let prefix = unique_prefix("reset");
    let limiters = [
        redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await,
        redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await,
    ];
    let policies = [
        limiters[0].policy("reset", per_hour(2)),
        limiters[1].policy("reset", per_hour(2)),
    ];
    let other = redis_limiter(
        &url,
        &unique_prefix("reset-other"),
        FailurePolicy::FailClosed,
    )
    .await;
    let other_policy = other.policy("reset", per_hour(1));
    assert!(other_policy.check("alice").await.is_allowed());
    for user in ["alice", "bob"] {
        assert!(policies[0].check(user).await.is_allowed());
        assert!(policies[1].check(user).await.is_allowed());
        for policy in &policies {
            assert!(!policy.check(user).await.is_allowed(), "{user} over");
        }
    }
    let calls: Vec<u64> = limiters.iter().map(RateLimiter::store_calls).collect();
    for policy in &policies {
        assert!(!policy.check("alice").await.is_allowed());
    }
    let after: Vec<u64> = limiters.iter().map(RateLimiter::store_calls).collect();
    assert_eq!(
        calls, after,
        "both instances refuse alice from their deny cache"
    );

    // A lock both instances know of.
    let locks = [
        limiters[0].lockout_store().unwrap(),
        limiters[1].lockout_store().unwrap(),
    ];
    let policy = LockoutPolicy {
        threshold: 1,
        window: 60,
        lock_for: 600,
    };
    let ip = LockTarget::Ip("203.0.113.77".parse().unwrap());
    let now = 1_000_000;
    assert_eq!(locks[0].fail(ip, now, policy).await, Some(600));
    assert_eq!(locks[1].locked(ip, now).await, Some(600));

    // An admin (here a third handle on the same Redis) resets alice.
    let admin = redis_limiter(&url, &prefix, FailurePolicy::FailClosed).await;
    let deleted = admin
        .reset(ResetTarget::Client(RateKeyValue::Custom("alice")))
        .await
        .unwrap();
    assert_eq!(deleted, 1, "alice's one bucket");
    let admitted = [
        policies[0].check("alice").await.is_allowed(),
        policies[1].check("alice").await.is_allowed(),
        policies[0].check("alice").await.is_allowed(),
    ];
    assert_eq!(admitted, [true, true, false], "exactly the quota again");
    for policy in &policies {
        assert!(!policy.check("bob").await.is_allowed(), "bob untouched");
    }
    assert_eq!(locks[1].locked(ip, now + 1).await, Some(599));

    // The client's IP: its lock is lifted everywhere.
    let ip_addr = "203.0.113.77".parse().unwrap();
    assert_eq!(
        admin
            .reset(ResetTarget::Client(RateKeyValue::Ip(ip_addr)))
            .await
            .unwrap(),
        1
    );
    assert_eq!(locks[0].locked(ip, now + 2).await, None);
    assert_eq!(locks[1].locked(ip, now + 2).await, None);

    // Everything: bob is admitted again; the other prefix is untouched.
    assert!(admin.reset(ResetTarget::All).await.unwrap() >= 2);
    assert!(policies[1].check("bob").await.is_allowed());
    assert!(!other_policy.check("alice").await.is_allowed());
    // An in-memory limiter cannot be reset from outside its process.
    let memory = RateLimiter::memory(MemoryConfig::default());
    let refused = memory.reset(ResetTarget::All).await.unwrap_err();
    assert!(refused.to_string().contains("restart"), "{refused}");
}
