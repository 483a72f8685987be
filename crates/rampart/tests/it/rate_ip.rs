//! Keying by client address over real sockets: forwarding headers change
//! nothing from an untrusted peer, and pick the client (right-most untrusted
//! hop) behind a trusted proxy.

use crate::support::rate;

use std::time::Duration;

use axum::Router;
use rampart::rate::{
    ForwardedHeader, MemoryConfig, Rate, RateClock, RateLimitLayer, RateLimiter, TrustedProxies,
};
use rate::{client, ok_route, serve};

fn limited_app(trusted: TrustedProxies) -> Router {
    let limiter = RateLimiter::memory(
        MemoryConfig::default()
            .clock(RateClock::fake())
            .sweep_interval(None),
    );
    let rate = Rate::new(2, Duration::from_secs(60));
    Router::new().route(
        "/login",
        ok_route()
            .route_layer(RateLimitLayer::per_ip(&limiter, rate, "login").trusted_proxies(trusted)),
    )
}

async fn status_with(url: &str, header: &str, value: &str) -> u16 {
    client()
        .get(url)
        .header(header, value)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    // The test client (127.0.0.1) is not a trusted proxy.
    let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
    let addr = serve(limited_app(trusted)).await;
    let url = format!("http://{addr}/login");
    let mut got = Vec::new();
    for i in 0..4 {
        got.push(status_with(&url, "x-forwarded-for", &format!("203.0.113.{i}")).await);
    }
    assert_eq!(got, [200, 200, 429, 429]);
    assert_eq!(
        status_with(&url, "forwarded", "for=198.51.100.1").await,
        429
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
    let trusted = TrustedProxies::parse("127.0.0.1/32, 10.0.0.0/8").unwrap();
    let addr = serve(limited_app(trusted)).await;
    let url = format!("http://{addr}/login");
    let xff = "x-forwarded-for";

    assert_eq!(status_with(&url, xff, "203.0.113.1").await, 200);
    // Another trusted proxy hop in between is skipped.
    assert_eq!(status_with(&url, xff, "203.0.113.1, 10.1.1.1").await, 200);
    assert_eq!(status_with(&url, xff, "203.0.113.1").await, 429);
    // Writing a fake address first does not escape: the proxy appended the real one.
    assert_eq!(status_with(&url, xff, "192.0.2.99, 203.0.113.1").await, 429);
    // A different client has its own bucket.
    assert_eq!(status_with(&url, xff, "203.0.113.2").await, 200);
    // `Forwarded` is not the configured header here: ignored, the peer counts.
    assert_eq!(
        status_with(&url, "forwarded", "for=198.51.100.1").await,
        200
    );
    assert_eq!(
        status_with(&url, "forwarded", "for=198.51.100.2").await,
        200
    );
    assert_eq!(
        status_with(&url, "forwarded", "for=198.51.100.3").await,
        429
    );
}

#[tokio::test]
async fn rfc7239_forwarded_with_ipv6_grouped_by_64() {
    let trusted = TrustedProxies::parse("127.0.0.1")
        .unwrap()
        .header(ForwardedHeader::Forwarded);
    let addr = serve(limited_app(trusted)).await;
    let url = format!("http://{addr}/login");
    let fwd = "forwarded";

    assert_eq!(
        status_with(&url, fwd, "for=\"[2001:db8:cafe::17]:4711\";proto=https").await,
        200
    );
    // Same /64, other host: same bucket.
    assert_eq!(
        status_with(&url, fwd, "for=\"[2001:db8:cafe::99]\"").await,
        200
    );
    assert_eq!(
        status_with(&url, fwd, "for=\"[2001:db8:cafe:0:1::1]\"").await,
        429
    );
    // Another /64 is another client.
    assert_eq!(
        status_with(&url, fwd, "for=\"[2001:db8:cafe:1::1]\"").await,
        200
    );
    // Client-written element left of the proxy's: ignored.
    assert_eq!(
        status_with(&url, fwd, "for=192.0.2.1, for=\"[2001:db8:cafe::5]\"").await,
        429
    );
}

async fn status_with_bytes(url: &str, header: &str, value: &[u8]) -> u16 {
    client()
        .get(url)
        .header(
            header,
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Issue 24, item 7: one non-ASCII byte anywhere in `X-Forwarded-For` made
/// the whole value unreadable and the trusted proxy the client, so every
/// client behind it shared one bucket (and one lockout).
#[tokio::test]
async fn a_non_ascii_byte_does_not_make_the_trusted_proxy_the_client() {
    let trusted = TrustedProxies::parse("127.0.0.1/32").unwrap();
    let addr = serve(limited_app(trusted)).await;
    let url = format!("http://{addr}/login");
    let xff = "x-forwarded-for";

    // A client writes a non-ASCII byte; the proxy appends its real address.
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(status_with_bytes(&url, xff, b"caf\xe9, 203.0.113.1").await);
    }
    assert_eq!(got, [200, 200, 429]);
    // Another client behind the same proxy keeps its own bucket.
    assert_eq!(
        status_with_bytes(&url, xff, b"\xff, 203.0.113.2").await,
        200
    );
    assert_eq!(status_with(&url, xff, "203.0.113.2").await, 200);
    // The proxy itself (no header) is yet another bucket, untouched so far.
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    // The address the proxy vouches for is unreadable: the client is
    // unknown and the quota keyed by it fails closed (not the proxy's bucket).
    for _ in 0..3 {
        assert_eq!(status_with_bytes(&url, xff, b"203.0.113.3\xe9").await, 500);
    }
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
}
