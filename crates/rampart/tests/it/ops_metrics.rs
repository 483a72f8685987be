//! Prometheus metrics over real sockets: requests by operation and status,
//! latency, auth failures by scheme and reason, 403s, 429s, lockouts —
//! on the main listener (`x-rampart.endpoints.metrics`) and on a listener
//! of their own (`RAMPART_METRICS_ADDR`). Each test runs alone in a process
//! of its own: the recorder is process-wide.

use crate::support::auth;
use crate::support::process::alone;
use crate::support::rate;

use auth::{claims, client, hs_config, hs256, model_of, router, serve};
use rampart::Security;

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: Metrics test, version: "1" }
x-rampart:
  roles: [admin, viewer]
  endpoints: { metrics: /metrics }
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /pets:
    get:
      operationId: listPetsMetered
      x-rampart: { roles: [admin], rate: 2/min }
      responses: { "200": { description: ok } }
"#;

/// The value of the series whose line starts with `series` (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

#[tokio::test]
async fn metrics_count_answers_failures_and_lockouts_on_both_listeners() {
    alone!(metrics_count_answers_failures_and_lockouts_on_both_listeners);
    let port = rate::free_port();
    let model = model_of(SPEC);
    let mut config = hs_config();
    config.metrics_addr = Some(format!("127.0.0.1:{port}"));
    config.lockout.after = Some("3/15min".into());
    let security = Security::builder(&model.descriptor())
        .config(config)
        .clock(rampart::auth::ManualClock::at(auth::NOW))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let listening = security.start_metrics().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listening.map(|a| a.port()), Some(port));
    let base = serve(security.harden(router(&model, &security))).await;
    let url = format!("{base}/pets");
    let admin = hs256(&claims("a", &["admin"]));
    let viewer = hs256(&claims("v", &["viewer"]));

    for _ in 0..3 {
        client().get(&url).bearer_auth(&admin).send().await.unwrap();
    }
    client()
        .get(&url)
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    for _ in 0..3 {
        let response = client()
            .get(&url)
            .bearer_auth("not-a-jwt")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
    }
    let locked = client()
        .get(&url)
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status().as_u16(), 429);

    let main = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status().as_u16(), 200);
    assert!(
        main.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        main.headers()
    );
    let text = main.text().await.unwrap();
    let op = "operation=\"listPetsMetered\"";
    assert_eq!(
        value(
            &text,
            &format!("rampart_http_requests_total{{{op},status=\"200\"}}")
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            &format!("rampart_http_requests_total{{{op},status=\"403\"}}")
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            &format!("rampart_http_requests_total{{{op},status=\"401\"}}")
        ),
        3.0,
        "{text}"
    );
    // One quota 429 and one lockout 429.
    assert_eq!(
        value(
            &text,
            &format!("rampart_http_requests_total{{{op},status=\"429\"}}")
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(&text, &format!("rampart_rate_limited_total{{{op}}}")),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(&text, &format!("rampart_forbidden_total{{{op}}}")),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            &format!("rampart_http_request_duration_seconds_count{{{op}}}")
        ),
        8.0,
        "{text}"
    );
    assert!(text.contains("rampart_http_request_duration_seconds_bucket{operation=\"listPetsMetered\",le=\"0.001\"}"), "{text}");
    let failures: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("rampart_auth_failures_total{") && l.contains("scheme=\"bearerAuth\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(failures, 3.0, "{text}");
    assert_eq!(value(&text, "rampart_lockouts_total"), 1.0, "{text}");
    assert!(!text.contains("not-a-jwt"), "no credential in metrics");

    // The private listener serves the same exposition.
    let private = client()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status().as_u16(), 200);
    let text = private.text().await.unwrap();
    assert!(
        text.contains("# TYPE rampart_http_requests_total counter"),
        "{text}"
    );
    assert!(
        value(
            &text,
            &format!("rampart_http_requests_total{{{op},status=\"200\"}}")
        ) >= 2.0
    );
}

#[tokio::test]
async fn a_busy_metrics_address_refuses_to_start() {
    alone!(a_busy_metrics_address_refuses_to_start);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = hs_config();
    config.metrics_addr = Some(taken.local_addr().unwrap().to_string());
    // Building binds nothing; starting the metrics does, and refuses.
    let security = Security::builder(&model_of(SPEC).descriptor())
        .config(config)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let error = security.start_metrics().unwrap_err().to_string();
    assert!(
        error.contains("RAMPART_METRICS_ADDR") && error.contains("cannot listen"),
        "{error}"
    );
    let mut config = hs_config();
    config.metrics_addr = Some("localhost-ish".into());
    let error = Security::builder(&model_of(SPEC).descriptor())
        .config(config)
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("not an address"), "{error}");
}

/// Building a `Security` has no global effect: with metrics configured and
/// not started, no recorder is installed, and a route refuses to build
/// (it would go uncounted) until `start_metrics` runs.
#[tokio::test]
async fn building_installs_nothing_and_routes_wait_for_started_metrics() {
    alone!(building_installs_nothing_and_routes_wait_for_started_metrics);
    let model = model_of(SPEC);
    let security = Security::builder(&model.descriptor())
        .config(hs_config())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !rampart::telemetry::enabled(),
        "build() installed a recorder"
    );
    let policy = model.operations[0].policy.clone();
    let error = security.try_guard(policy.clone()).unwrap_err().to_string();
    assert!(error.contains("start_metrics"), "{error}");
    assert_eq!(
        security.start_metrics().unwrap(),
        None,
        "no listener asked for"
    );
    assert!(rampart::telemetry::enabled());
    security.try_guard(policy).unwrap_or_else(|e| panic!("{e}"));
}
