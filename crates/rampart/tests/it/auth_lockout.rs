//! Brute-force defence over real sockets: five failures in 15 minutes lock a
//! client IP (and a presented key id) out with 429 + `Retry-After`, emit an
//! `auth.lockout` audit event, and the lock lifts after the window.

use crate::support::auth;
use crate::support::process::alone;

use std::time::Duration;

use auth::*;

fn lockout_config() -> rampart::SecurityConfig {
    let mut config = hs_config();
    config.lockout.after = None; // the default: 5 failures in 15 minutes
    config
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn five_failures_lock_the_ip_out_until_the_window_passes() {
    alone!(five_failures_lock_the_ip_out_until_the_window_passes);
    capture_logs();
    let s = start(lockout_config()).await;
    let c = client_from("127.0.0.1");
    let good = hs256(&claims("alice", &[]));
    // Requests without credentials are not failures.
    for _ in 0..8 {
        send(c.get(s.url("/any")))
            .await
            .assert_unauthenticated(&[r#"Bearer realm="api""#]);
    }
    for i in 0..5 {
        let a = send(
            c.get(s.url("/any"))
                .header("authorization", bearer(&format!("bad{i}"))),
        )
        .await;
        a.assert_invalid_token();
    }
    assert!(
        captured_text().contains("auth.lockout"),
        "{}",
        captured_text()
    );
    // Locked: a failing attempt is refused with Retry-After...
    let a = send(c.get(s.url("/any")).header("authorization", bearer("bad5"))).await;
    a.assert_problem(429, "auth-lockout");
    assert_eq!(a.retry_after.as_deref(), Some("900"));
    assert!(a.challenges.is_empty());
    // ...but a valid token from the same address (another user behind the
    // same NAT) is never refused.
    send(c.get(s.url("/any")).header("authorization", bearer(&good)))
        .await
        .assert_ok_as("alice");
    s.clock.advance(Duration::from_secs(600));
    let a = send(c.get(s.url("/any")).header("authorization", bearer("bad"))).await;
    a.assert_problem(429, "auth-lockout");
    assert_eq!(a.retry_after.as_deref(), Some("300"));
    // Public routes stay open.
    assert_eq!(send(c.get(s.url("/public"))).await.status, 200);
    // After the window, the client recovers.
    s.clock.advance(Duration::from_secs(300));
    let mut fresh = claims("alice", &[]);
    fresh["exp"] = serde_json::json!(NOW + 7200);
    send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&fresh))),
    )
    .await
    .assert_ok_as("alice");
    // ...and starts counting afresh: one failure does not lock it again.
    send(c.get(s.url("/any")).header("authorization", bearer("bad")))
        .await
        .assert_invalid_token();
    send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&fresh))),
    )
    .await
    .assert_ok_as("alice");
}

#[tokio::test]
async fn guesses_at_a_key_id_lock_the_guesser_not_the_key() {
    alone!(guesses_at_a_key_id_lock_the_guesser_not_the_key);
    capture_logs();
    let s = start(lockout_config()).await;
    let attacker = client_from("127.0.0.2");
    let editor = &s.keys["editor"];
    for i in 0..5 {
        let guess = format!("rk_{}_{}{i}", editor.record.id, "A".repeat(42));
        let a = send(attacker.get(s.url("/keys")).header("x-api-key", guess)).await;
        a.assert_problem(401, "unauthorized");
    }
    let text = captured_text();
    assert!(
        text.contains(&format!("key:{}", editor.record.id)),
        "{text}"
    );
    // The key id is public (it is the principal's subject): guesses against
    // it lock the guesser, never the key. Its owner, elsewhere, is served...
    let other = client_from("127.0.0.3");
    let a = send(other.get(s.url("/keys")).header("x-api-key", &editor.key)).await;
    a.assert_ok_as(&editor.record.id);
    // ...and so is anyone presenting a key that verifies, even from the
    // guesser's address.
    let viewer = &s.keys["viewer"];
    let a = send(
        attacker
            .get(s.url("/either"))
            .header("x-api-key", &viewer.key),
    )
    .await;
    a.assert_ok_as(&viewer.record.id);
    // The guesser's further failures are refused with Retry-After.
    let guess = format!("rk_{}_{}", editor.record.id, "B".repeat(43));
    let a = send(attacker.get(s.url("/keys")).header("x-api-key", &guess)).await;
    a.assert_problem(429, "auth-lockout");
    assert_eq!(a.retry_after.as_deref(), Some("900"));
    // A wrong secret from the owner's address is an ordinary 401.
    let a = send(other.get(s.url("/keys")).header("x-api-key", &guess)).await;
    a.assert_problem(401, "unauthorized");
    s.clock.advance(Duration::from_secs(900));
    let a = send(attacker.get(s.url("/keys")).header("x-api-key", &guess)).await;
    a.assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn expired_tokens_are_not_brute_force_attempts() {
    alone!(expired_tokens_are_not_brute_force_attempts);
    capture_logs();
    let s = start(lockout_config()).await;
    let c = client_from("127.0.0.4");
    let mut old = claims("alice", &[]);
    old["exp"] = serde_json::json!(NOW - 60);
    let expired = hs256(&old);
    // A client whose token expired retries a few times: 401, never a lock.
    for _ in 0..8 {
        let a = send(
            c.get(s.url("/any"))
                .header("authorization", bearer(&expired)),
        )
        .await;
        a.assert_problem(401, "unauthorized");
    }
    // Real failures still count from zero.
    for i in 0..4 {
        send(
            c.get(s.url("/any"))
                .header("authorization", bearer(&format!("bad{i}"))),
        )
        .await
        .assert_invalid_token();
    }
    send(
        c.get(s.url("/any"))
            .header("authorization", bearer(&hs256(&claims("alice", &[])))),
    )
    .await
    .assert_ok_as("alice");
}

#[tokio::test]
async fn ipv6_clients_are_counted_per_64_like_the_rate_limiter() {
    alone!(ipv6_clients_are_counted_per_64_like_the_rate_limiter);
    capture_logs();
    let mut config = lockout_config();
    // The test talks through a "proxy" on 127.0.0.5 that names the client.
    config.trusted_proxies = vec!["127.0.0.5".into()];
    let s = start(config).await;
    let proxy = client_from("127.0.0.5");
    // Five failures from five addresses of one /64 (one subscriber rotating
    // its interface identifier)...
    for i in 1..=5 {
        send(
            proxy
                .get(s.url("/any"))
                .header("x-forwarded-for", format!("2001:db8:7:9::{i:x}"))
                .header("authorization", bearer(&format!("bad{i}"))),
        )
        .await
        .assert_invalid_token();
    }
    // ...lock the whole /64 for failing attempts.
    let a = send(
        proxy
            .get(s.url("/any"))
            .header("x-forwarded-for", "2001:db8:7:9:dead:beef:0:1")
            .header("authorization", bearer("bad6")),
    )
    .await;
    a.assert_problem(429, "auth-lockout");
    // Another /64 is not affected.
    send(
        proxy
            .get(s.url("/any"))
            .header("x-forwarded-for", "2001:db8:7:a::1")
            .header("authorization", bearer("bad7")),
    )
    .await
    .assert_invalid_token();
}

/// A route guarded without the front does not take the caller's
/// `x-request-id` as the request id of its audit events (`trust-incoming`
/// is off by default, as in the front).
#[tokio::test]
async fn a_guard_outside_the_front_does_not_trust_the_callers_request_id() {
    alone!(a_guard_outside_the_front_does_not_trust_the_callers_request_id);
    capture_logs();
    let s = start(hs_config()).await;
    let chosen = "caller-chosen-id-7f3a9c";
    let a = send(
        client()
            .get(s.url("/any"))
            .header("x-request-id", chosen)
            .header("authorization", "Bearer not.a.token"),
    )
    .await;
    assert_eq!(a.status, 401);
    let logs = captured_text();
    assert!(
        logs.contains("auth.failure") || logs.contains("malformed"),
        "the failure was not logged: {logs}"
    );
    assert!(
        !logs.contains(chosen),
        "the caller's id became the request id: {logs}"
    );
}
