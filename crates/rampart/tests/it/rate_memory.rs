//! The in-memory limiter over real sockets, with a fake clock: quotas per
//! route and by default, per-principal isolation, the RateLimit headers and
//! `Retry-After`, and the memory bound under a flood of keys.

use crate::support::rate;

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use axum::Router;
use rampart::rate::{
    MemoryConfig, Outcome, Rate, RateClock, RateKeyValue, RateLimitLayer, RateLimiter,
};
use rampart::{OperationPolicy, RateKey};
use rate::{client, header, ok_route, serve, with_fake_auth};

fn per_min(count: u32) -> Rate {
    Rate::new(count, Duration::from_secs(60))
}

fn fake_limiter() -> (RateLimiter, RateClock) {
    let clock = RateClock::fake();
    let limiter = RateLimiter::memory(
        MemoryConfig::default()
            .clock(clock.clone())
            .sweep_interval(None),
    );
    (limiter, clock)
}

async fn statuses(url: &str, user: &str, n: usize) -> Vec<u16> {
    let http = client();
    let mut out = Vec::new();
    for _ in 0..n {
        let r = http
            .get(url)
            .header("x-test-user", user)
            .send()
            .await
            .unwrap();
        out.push(r.status().as_u16());
    }
    out
}

#[tokio::test]
async fn per_route_quota_and_default_quota_with_separate_buckets() {
    let (limiter, _clock) = fake_limiter();
    let default = limiter.policy("default", per_min(3));
    let app = Router::new()
        .route(
            "/pets/1",
            ok_route().route_layer(RateLimitLayer::per_principal(
                &limiter,
                per_min(2),
                "deletePet",
            )),
        )
        .route(
            "/pets",
            ok_route().route_layer(RateLimitLayer::from_policy(default.scoped("listPets"))),
        )
        .route(
            "/owners",
            ok_route().route_layer(RateLimitLayer::from_policy(default.scoped("listOwners"))),
        )
        .route("/health", ok_route());
    let addr = serve(with_fake_auth(app)).await;
    let base = format!("http://{addr}");

    assert_eq!(
        statuses(&format!("{base}/pets/1"), "alice", 3).await,
        [200, 200, 429]
    );
    assert_eq!(
        statuses(&format!("{base}/pets"), "alice", 4).await,
        [200, 200, 200, 429]
    );
    // Same default policy, its own bucket per operation.
    let r = client()
        .get(format!("{base}/owners"))
        .header("x-test-user", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "ratelimit-policy"), "\"default\";q=3;w=60");
    assert_eq!(header(&r, "ratelimit"), "\"default\";r=2;t=20");
    // Unlimited routes carry no RateLimit fields.
    let r = client().get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("ratelimit").is_none());
    assert!(r.headers().get("ratelimit-policy").is_none());
}

#[tokio::test]
async fn one_principal_flood_does_not_limit_another() {
    let (limiter, _clock) = fake_limiter();
    let app = Router::new().route(
        "/pets",
        ok_route().route_layer(RateLimitLayer::per_principal(
            &limiter,
            per_min(2),
            "listPets",
        )),
    );
    let addr = serve(with_fake_auth(app)).await;
    let url = format!("http://{addr}/pets");

    let flood = statuses(&url, "mallory", 20).await;
    assert_eq!(flood.iter().filter(|s| **s == 200).count(), 2);
    assert_eq!(flood.iter().filter(|s| **s == 429).count(), 18);
    assert_eq!(statuses(&url, "alice", 2).await, [200, 200]);
    // An API key is its own bucket, even when its id equals a subject.
    let http = client();
    for expected in [200, 200, 429] {
        let r = http
            .get(&url)
            .header("x-test-key", "mallory")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected);
    }
    // Anonymous callers are keyed by address, apart from every principal.
    for expected in [200, 200, 429] {
        assert_eq!(http.get(&url).send().await.unwrap().status(), expected);
    }
}

#[tokio::test]
async fn headers_and_retry_after_follow_the_bucket() {
    let (limiter, clock) = fake_limiter();
    let app = Router::new().route(
        "/login",
        ok_route().route_layer(RateLimitLayer::per_ip(&limiter, per_min(5), "login")),
    );
    let addr = serve(app).await;
    let url = format!("http://{addr}/login");
    let http = client();

    // 5/min: one unit every 12 s, 5 at once.
    for (remaining, reset) in [(4, 12), (3, 24), (2, 36), (1, 48), (0, 60)] {
        let r = http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "ratelimit-policy"), "\"login\";q=5;w=60");
        assert_eq!(
            header(&r, "ratelimit"),
            format!("\"login\";r={remaining};t={reset}")
        );
    }

    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after"), "12");
    assert_eq!(header(&r, "content-type"), "application/problem+json");
    assert_eq!(header(&r, "ratelimit-policy"), "\"login\";q=5;w=60");
    assert_eq!(header(&r, "ratelimit"), "\"login\";r=0;t=60");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], "https://rampart.dev/problems/quota-exceeded");
    assert_eq!(body["status"], 429);
    assert_eq!(body["policy"], "login");
    assert_eq!(body["limit"], 5);
    assert_eq!(body["window"], 60);

    clock.advance(Duration::from_secs(5));
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after"), "7");
    assert_eq!(header(&r, "ratelimit"), "\"login\";r=0;t=55");

    // Sub-second waits round up.
    clock.advance(Duration::from_millis(6_500));
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(header(&r, "retry-after"), "1");

    clock.advance(Duration::from_millis(500));
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "ratelimit"), "\"login\";r=0;t=60");

    // A full minute later the bucket is full again.
    clock.advance(Duration::from_secs(60));
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(header(&r, "ratelimit"), "\"login\";r=4;t=12");
}

#[tokio::test]
async fn burst_raises_the_bucket_not_the_quota() {
    let (limiter, _clock) = fake_limiter();
    let rate = per_min(2).with_burst(4);
    let policy = limiter.policy("burst", rate);
    let mut allowed = 0;
    for _ in 0..6 {
        let d = policy.check("k").await;
        if d.is_allowed() {
            allowed += 1;
        }
        assert_eq!(d.limit, 2);
    }
    assert_eq!(allowed, 4);
}

#[tokio::test]
async fn peek_spends_nothing_and_check_by_name_reuses_the_policy() {
    let (limiter, clock) = fake_limiter();
    let rate = per_min(2);
    let ip: IpAddr = "198.51.100.4".parse().unwrap();
    let failures = limiter.policy("auth-failures", rate);
    for _ in 0..5 {
        assert_eq!(failures.peek(ip).await.outcome, Outcome::Allowed);
    }
    assert_eq!(failures.check(ip).await.remaining, 1);
    assert_eq!(failures.check(ip).await.remaining, 0);
    let d = failures.peek(ip).await;
    assert_eq!(d.outcome, Outcome::Limited);
    assert_eq!(d.retry_after_secs(), 30);
    clock.advance(Duration::from_secs(30));
    assert!(failures.peek(ip).await.is_allowed());

    for expected in [true, true, false] {
        let d = limiter.check("byName", "caller", &rate).await;
        assert_eq!(d.is_allowed(), expected);
    }
    // The name is the bucket scope: another caller has its own bucket.
    assert!(limiter.check("byName", "other", &rate).await.is_allowed());
}

#[tokio::test]
async fn memory_stays_under_its_cap_through_two_million_keys() {
    let clock = RateClock::fake();
    let limiter = RateLimiter::memory(
        MemoryConfig::default()
            .max_keys(10_000)
            .clock(clock.clone())
            .sweep_interval(None),
    );
    let cap = limiter.max_keys().unwrap();
    assert!((9_000..=10_000).contains(&cap), "effective cap {cap}");
    let by_ip = limiter.policy("anonymous", per_min(5));
    let by_subject = limiter.policy("listPets", per_min(5));

    let mut subject = String::new();
    for i in 0..2_000_000u64 {
        let d = if i % 2 == 0 {
            // Rotating IPv6 networks: each /64 is a new bucket.
            let ip = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 64) | 1);
            by_ip.check(IpAddr::V6(ip)).await
        } else {
            use std::fmt::Write;
            subject.clear();
            write!(subject, "spoofed-{i}").unwrap();
            by_subject.check(RateKeyValue::Subject(&subject)).await
        };
        assert!(d.is_allowed(), "a fresh key is always allowed");
        if i % 100_000 == 0 {
            assert!(limiter.len().unwrap() <= cap, "at {i}: {:?}", limiter.len());
        }
        if i % 10_000 == 0 {
            clock.advance(Duration::from_millis(1));
        }
    }
    let len = limiter.len().unwrap();
    assert!(len <= cap, "{len} buckets for a cap of {cap}");
    assert!(
        len >= cap * 3 / 4,
        "the store still holds recent buckets ({len})"
    );

    // Addresses in one /64 share a bucket: rotating within it gains nothing.
    let net = 0x2001_0db8_ffff_0000_u128 << 64;
    let mut allowed = 0;
    for host in 1..=50u128 {
        if by_ip
            .check(IpAddr::V6(Ipv6Addr::from(net | host)))
            .await
            .is_allowed()
        {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5);

    // Once every bucket is full again, a sweep empties the store.
    clock.advance(Duration::from_secs(120));
    limiter.sweep();
    assert_eq!(limiter.len(), Some(0));
}

#[tokio::test]
async fn operation_policies_name_scope_and_key_their_buckets() {
    let (limiter, _clock) = fake_limiter();
    let mut delete = OperationPolicy::new("deletePet", "delete", "/pets/{petId}");
    delete.rate = Some(per_min(1));
    let mut login = OperationPolicy::new("login", "post", "/login");
    login.rate = Some(per_min(1));
    login.rate_key = RateKey::Ip;
    let unlimited = OperationPolicy::new("health", "get", "/health");
    assert!(RateLimitLayer::for_operation(&limiter, &unlimited).is_none());
    let app = Router::new()
        .route(
            "/pets/1",
            ok_route().route_layer(RateLimitLayer::for_operation(&limiter, &delete).unwrap()),
        )
        .route(
            "/login",
            ok_route().route_layer(RateLimitLayer::for_operation(&limiter, &login).unwrap()),
        );
    let addr = serve(with_fake_auth(app)).await;
    let base = format!("http://{addr}");
    let r = client()
        .get(format!("{base}/pets/1"))
        .header("x-test-user", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "ratelimit-policy"), "\"deletePet\";q=1;w=60");
    assert_eq!(statuses(&format!("{base}/pets/1"), "alice", 1).await, [429]);
    assert_eq!(statuses(&format!("{base}/pets/1"), "bob", 1).await, [200]);
    // `rate-key: ip`: authenticated callers from one address share the bucket.
    assert_eq!(statuses(&format!("{base}/login"), "alice", 1).await, [200]);
    assert_eq!(statuses(&format!("{base}/login"), "bob", 1).await, [429]);
}
