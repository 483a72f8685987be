//! Fault injection (issue 15 item 5): a real `redis-server` of the test's
//! own is killed and restarted while clients keep calling a rate-limited
//! operation through the whole pipeline. During the outage every answer is
//! the fail-closed 503 problem+json with `Retry-After` (never a 200 without
//! a quota, never a 500), `/readyz` says Redis is down while `/healthz` stays
//! 200; once Redis is back, requests are admitted again and `/readyz` is 200.
//! With the default `fail-local` policy the same outage is not an outage of
//! the service: a public route inheriting the default rate keeps answering.

use crate::support::auth;
use crate::support::rate;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::{claims, client, hs_config, hs256, model_of, router, serve};
use rampart::Security;
use rampart::rate::{FailurePolicy, RateLimiter, RedisConfig};

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: Fault test, version: "1" }
x-rampart:
  roles: [admin]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /pets:
    get:
      operationId: listPetsUnderFault
      x-rampart: { roles: [admin], rate: 1000000/hour }
      responses: { "200": { description: ok } }
"#;

/// (phase when sent, phase when answered, status, has Retry-After) of each answer.
type Answers = Arc<Mutex<Vec<(u8, u8, u16, bool)>>>;

/// A hardened server of `spec` whose quotas live in the Redis at `url`,
/// with short timeouts so an outage is noticed at once; `failure` replaces
/// the default failure policy. Returns the base URL.
async fn serve_on_redis(
    spec: &str,
    url: &str,
    tag: &str,
    failure: Option<FailurePolicy>,
) -> String {
    let mut config = RedisConfig::new(url);
    config.key_prefix = rate::unique_prefix(tag);
    config.timeout = Duration::from_millis(200);
    config.retry_interval = Duration::from_millis(100);
    if let Some(failure) = failure {
        config.failure = failure;
    }
    let limiter = RateLimiter::redis(config).await.unwrap();
    let model = model_of(spec);
    let security = Security::builder(&model.descriptor())
        .config(hs_config())
        .clock(rampart::auth::ManualClock::at(auth::NOW))
        .rate_limiter(limiter)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    serve(security.harden(router(&model, &security))).await
}

/// Phases of the run, as the load tasks see them.
const BEFORE: u8 = 0;
const OUTAGE: u8 = 1;
/// Redis is starting again: it may answer before the test knows it does,
/// so answers of this phase prove nothing either way.
const RESTARTING: u8 = 2;
const RESTARTED: u8 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load_fails_closed_then_recovers() {
    if rate::redis_url("redis_killed_and_restarted_under_load")
        .await
        .is_none()
    {
        return;
    }
    let port = rate::free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = rate::start_redis(port).await;
    let base = serve_on_redis(SPEC, &url, "fault", Some(FailurePolicy::FailClosed)).await;
    let token = hs256(&claims("loader", &["admin"]));

    let phase = Arc::new(AtomicU8::new(BEFORE));
    let stop = Arc::new(AtomicBool::new(false));
    let answers: Answers = Arc::default();
    let mut load = Vec::new();
    for _ in 0..4 {
        let (phase, stop, answers) = (phase.clone(), stop.clone(), answers.clone());
        let (url, token) = (format!("{base}/pets"), token.clone());
        load.push(tokio::spawn(async move {
            let http = client();
            while !stop.load(Ordering::Relaxed) {
                let sent = phase.load(Ordering::SeqCst);
                let response = http.get(&url).bearer_auth(&token).send().await.unwrap();
                let got = phase.load(Ordering::SeqCst);
                let retry = response.headers().contains_key("retry-after");
                answers
                    .lock()
                    .unwrap()
                    .push((sent, got, response.status().as_u16(), retry));
            }
        }));
    }
    let count = |status: u16, in_phase: u8| {
        answers
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, g, st, _)| *s == in_phase && *g == in_phase && *st == status)
            .count()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        count(200, BEFORE) > 0,
        "no request was served before the outage"
    );

    redis.kill().await.unwrap();
    redis.wait().await.unwrap();
    phase.store(OUTAGE, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let ready = client().get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["redis"], "down", "{ready}");
    let health = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status().as_u16(),
        200,
        "liveness never depends on Redis"
    );

    phase.store(RESTARTING, Ordering::SeqCst);
    let _redis = rate::start_redis(port).await;
    phase.store(RESTARTED, Ordering::SeqCst);
    let mut recovered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if count(200, RESTARTED) >= 20 {
            recovered = true;
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    assert!(
        recovered,
        "requests were never admitted again after Redis came back"
    );
    // Readiness follows (its last round of probes is at most 1 s old).
    let mut ready_again = false;
    for _ in 0..30 {
        let r = client().get(format!("{base}/readyz")).send().await.unwrap();
        if r.status().as_u16() == 200 {
            ready_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready_again, "/readyz never reported Redis up again");

    let answers = answers.lock().unwrap();
    let outage: Vec<_> = answers
        .iter()
        .filter(|(s, g, _, _)| *s == OUTAGE && *g == OUTAGE)
        .collect();
    assert!(
        outage.len() >= 10,
        "too little load during the outage: {}",
        outage.len()
    );
    for (_, _, status, retry) in &outage {
        assert_eq!(
            *status, 503,
            "fail-closed: nothing is admitted without the shared quota"
        );
        assert!(*retry, "a 503 without Retry-After");
    }
    assert!(
        answers
            .iter()
            .all(|(_, _, status, _)| matches!(status, 200 | 503)),
        "only 200 or 503: {:?}",
        answers
            .iter()
            .filter(|a| !matches!(a.2, 200 | 503))
            .collect::<Vec<_>>()
    );
}

const PUBLIC_SPEC: &str = r#"
openapi: 3.0.3
info: { title: Fault test, version: "1" }
x-rampart:
  rate: 1000000/hour
paths:
  /status:
    get:
      operationId: publicStatusUnderFault
      security: []
      x-rampart: { public: true }
      responses: { "200": { description: ok } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_default_fail_local_a_redis_outage_is_not_an_outage_of_the_service() {
    if rate::redis_url("with_the_default_fail_local")
        .await
        .is_none()
    {
        return;
    }
    let port = rate::free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let mut redis = rate::start_redis(port).await;
    assert_eq!(
        RedisConfig::new(&url).failure,
        FailurePolicy::FailLocal,
        "the default"
    );
    let base = serve_on_redis(PUBLIC_SPEC, &url, "fault-local", None).await;
    let status =
        |url: String| async move { client().get(url).send().await.unwrap().status().as_u16() };

    assert_eq!(status(format!("{base}/status")).await, 200);
    redis.kill().await.unwrap();
    redis.wait().await.unwrap();
    // The public route inheriting the default rate keeps answering, under
    // load, from this instance's own buckets; liveness too; readiness tells.
    let mut load = Vec::new();
    for _ in 0..4 {
        let url = format!("{base}/status");
        load.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..25 {
                statuses.push(client().get(&url).send().await.unwrap().status().as_u16());
            }
            statuses
        }));
    }
    for task in load {
        let statuses = task.await.unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
    assert_eq!(status(format!("{base}/healthz")).await, 200);
    assert_eq!(status(format!("{base}/readyz")).await, 503);

    let _redis = rate::start_redis(port).await;
    let mut ready = false;
    for _ in 0..30 {
        if status(format!("{base}/readyz")).await == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "/readyz never reported Redis up again");
    assert_eq!(status(format!("{base}/status")).await, 200);
}

/// Issue 26, item 3, through the whole pipeline: a Redis quota with leases
/// decides most requests on the no-waiting path. Admissions stay within the
/// quota (a single instance strands at most its lease), every admitted
/// answer carries the RateLimit fields, and a failed credential, which needs
/// the shared lockout and so goes down the waiting path, is counted once:
/// with a lockout of 3 failures, the first two bad tokens get 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leased_quota_through_the_pipeline_admits_within_it_and_counts_failures_once() {
    let Some(url) = rate::redis_url("leased_pipeline").await else {
        return;
    };
    const LEASED_SPEC: &str = r#"
openapi: 3.0.3
info: { title: Leased test, version: "1" }
x-rampart:
  roles: [admin]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /pets:
    get:
      operationId: listPetsLeased
      x-rampart: { roles: [admin], rate: 20/hour }
      responses: { "200": { description: ok } }
"#;
    let limiter = RateLimiter::redis(
        RedisConfig::new(&url)
            .key_prefix(rate::unique_prefix("leased-pipeline"))
            .lease(4),
    )
    .await
    .unwrap();
    let model = model_of(LEASED_SPEC);
    let mut config = hs_config();
    config.lockout.after = Some("3/15min".into());
    let security = Security::builder(&model.descriptor())
        .config(config)
        .clock(rampart::auth::ManualClock::at(auth::NOW))
        .rate_limiter(limiter.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let base = serve(security.harden(router(&model, &security))).await;
    let token = hs256(&claims("leased-user", &["admin"]));
    let mut admitted = 0;
    for _ in 0..30 {
        let answer = client()
            .get(format!("{base}/pets"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        match answer.status().as_u16() {
            200 => {
                admitted += 1;
                assert!(answer.headers().contains_key("ratelimit"), "{answer:?}");
            }
            429 => assert!(answer.headers().contains_key("retry-after")),
            other => panic!("status {other}"),
        }
    }
    assert!((16..=20).contains(&admitted), "{admitted} admitted of 20");
    assert!(
        limiter.store_calls() < 20,
        "{} calls to Redis for 30 leased decisions",
        limiter.store_calls()
    );

    let (signed, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", "A".repeat(43));
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let answer = client()
            .get(format!("{base}/pets"))
            .bearer_auth(&forged)
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses[..2], [401, 401], "{statuses:?}");
    assert_eq!(statuses[3], 429, "{statuses:?}");
}

/// Issue 26, item 1, through the whole pipeline: an exact Redis quota (no
/// leases, the default) starts on the no-waiting path too, because its deny
/// cache can refuse there. A request Redis must decide picks up where that
/// attempt stopped, so every request is audited as authenticated exactly
/// once; once Redis has said the principal's bucket is empty, its refusals
/// are answered without asking Redis; and a forged token, which needs the shared
/// lockout, is counted once (lockout of 3: the first two get 401).
#[tokio::test]
async fn an_exact_redis_quota_audits_each_request_once_and_refuses_a_known_denial_locally() {
    // Counting audit events needs the process's callsite interest to itself.
    crate::support::process::alone!(
        an_exact_redis_quota_audits_each_request_once_and_refuses_a_known_denial_locally
    );
    let Some(url) = rate::redis_url("deny_pipeline").await else {
        return;
    };
    const EXACT_SPEC: &str = r#"
openapi: 3.0.3
info: { title: Deny test, version: "1" }
x-rampart:
  roles: [admin]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /pets:
    get:
      operationId: listPetsExact
      x-rampart: { roles: [admin], rate: 3/hour }
      responses: { "200": { description: ok } }
"#;
    let (captured, _guard) = crate::support::logs::capture();
    let limiter =
        RateLimiter::redis(RedisConfig::new(&url).key_prefix(rate::unique_prefix("deny-pipeline")))
            .await
            .unwrap();
    let model = model_of(EXACT_SPEC);
    let mut config = hs_config();
    config.lockout.after = Some("3/15min".into());
    let security = Security::builder(&model.descriptor())
        .config(config)
        .clock(rampart::auth::ManualClock::at(auth::NOW))
        .rate_limiter(limiter.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let base = serve(security.harden(router(&model, &security))).await;
    let get = |token: String| {
        let url = format!("{base}/pets");
        async move { client().get(url).bearer_auth(token).send().await.unwrap() }
    };
    let token = hs256(&claims("exact-user", &["admin"]));
    for _ in 0..3 {
        let answer = get(token.clone()).await;
        assert_eq!(answer.status(), 200);
        assert!(answer.headers().contains_key("ratelimit"), "{answer:?}");
    }
    // The third admission's answer already says the bucket is empty.
    let calls = limiter.store_calls();
    for _ in 0..6 {
        let answer = get(token.clone()).await;
        assert_eq!(answer.status(), 429);
        assert!(answer.headers().contains_key("retry-after"));
    }
    assert_eq!(limiter.store_calls(), calls, "refused without Redis");

    let successes = captured.audit("auth.success");
    let mut ids: Vec<&str> = successes
        .iter()
        .map(|l| l["fields"]["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 9, "one success event per request");
    ids.dedup();
    assert_eq!(ids.len(), 9, "{ids:?}");

    let (signed, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", "A".repeat(43));
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(forged.clone()).await.status().as_u16());
    }
    assert_eq!(statuses[..2], [401, 401], "{statuses:?}");
    assert_eq!(statuses[3], 429, "{statuses:?}");
    let refused = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(
        captured.audit("auth.failure").len(),
        refused,
        "{statuses:?}"
    );
}
