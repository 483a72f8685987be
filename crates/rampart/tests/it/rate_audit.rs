//! The fail-open audit event. Run alone in a process of its own: `tracing`
//! caches per-callsite interest process-wide, so a subscriber set by one
//! test among others may miss events.

use crate::support::logs::Captured;
use crate::support::process::alone;
use crate::support::rate;

use std::time::Duration;

use rampart::rate::{FailurePolicy, Outcome, Rate, RateLimiter, RedisConfig};
use rate::free_port;

// current_thread: the subscriber set below sees every task of this test.
#[tokio::test(flavor = "current_thread")]
async fn fail_open_logs_one_warning_audit_event_per_outage() {
    alone!(fail_open_logs_one_warning_audit_event_per_outage);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dead = format!("redis://127.0.0.1:{}", free_port());
    let limiter = RateLimiter::redis(
        RedisConfig::new(dead.as_str())
            .key_prefix("rampart-test:audit")
            .timeout(Duration::from_millis(200))
            .failure(FailurePolicy::FailOpen)
            .retry_interval(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    let policy = limiter.policy("p", Rate::new(1, Duration::from_secs(3600)));
    for _ in 0..3 {
        assert_eq!(policy.check("k").await.outcome, Outcome::FailedOpen);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(limiter.store_failures() >= 3);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("rate_limit_store_unavailable"))
        .collect();
    assert_eq!(warnings.len(), 1, "log: <<{log}>>");
    assert!(warnings[0].contains("WARN"), "{log}");
    assert!(warnings[0].contains("rampart::audit"), "{log}");
    assert!(warnings[0].contains("fail-open"), "{log}");

    // Fail-closed logs the same event, at error level.
    let limiter = RateLimiter::redis(
        RedisConfig::new(dead.as_str())
            .timeout(Duration::from_millis(200))
            .failure(FailurePolicy::FailClosed),
    )
    .await
    .unwrap();
    let policy = limiter.policy("p", Rate::new(1, Duration::from_secs(3600)));
    assert_eq!(policy.check("k").await.outcome, Outcome::Unavailable);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("rate_limit_store_unavailable") && l.contains("fail-closed"))
        .collect();
    assert_eq!(errors.len(), 1, "log: <<{log}>>");
    assert!(errors[0].contains("ERROR"), "{log}");
}
