//! Brute-force alerts over real sockets: a lockout and a burst of failures
//! each write an `event=alert` audit line and POST a JSON event (never a
//! credential) to a real webhook receiver, which is retried when it fails.

use crate::support::auth;
use crate::support::process::alone;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::{capture_logs, captured_text, client, hs_config, model_of, router, serve};
use axum::http::StatusCode;
use rampart::Security;
use serde_json::Value;

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: Alert test, version: "1" }
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /login:
    get:
      operationId: guardedLogin
      responses: { "200": { description: ok } }
"#;

/// A webhook that records every body it gets and fails the first `fail` POSTs.
async fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let attempts = Arc::new(Mutex::new(0usize));
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let store = store.clone();
            let attempts = attempts.clone();
            async move {
                let mut n = attempts.lock().unwrap();
                *n += 1;
                store.lock().unwrap().push(body);
                if *n <= fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let base = serve(app).await;
    (format!("{base}/hook"), seen)
}

async fn wait_for(seen: &Arc<Mutex<Vec<Value>>>, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        if seen.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen.lock().unwrap().clone()
}

async fn start(hook: &str) -> String {
    let model = model_of(SPEC);
    let mut config = hs_config();
    config.lockout.after = Some("3/15min".into());
    config.alert_webhook = Some(hook.to_owned());
    config.alert_burst = Some("3/min".into());
    let security = Security::builder(&model.descriptor())
        .config(config)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    serve(security.harden(router(&model, &security))).await
}

#[tokio::test]
async fn a_lockout_and_a_burst_are_posted_without_credentials() {
    alone!(a_lockout_and_a_burst_are_posted_without_credentials);
    capture_logs();
    let (hook, seen) = receiver(0).await;
    let base = start(&hook).await;
    for _ in 0..3 {
        let response = client()
            .get(format!("{base}/login"))
            .bearer_auth("secret-guess-123")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
    }
    let events = wait_for(&seen, 2).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let by = |trigger: &str| {
        events
            .iter()
            .find(|e| e["trigger"] == trigger)
            .cloned()
            .unwrap_or_else(|| panic!("no {trigger} alert: {events:?}"))
    };
    let lockout = by("lockout");
    assert_eq!(lockout["type"], "brute_force_detected");
    assert_eq!(lockout["client"], "127.0.0.1");
    assert_eq!(lockout["operation"], "guardedLogin");
    assert_eq!(lockout["count"], 3);
    assert_eq!(lockout["window_secs"], 900);
    assert!(
        lockout["time"].as_str().unwrap().ends_with('Z'),
        "{lockout}"
    );
    let burst = by("burst");
    assert_eq!(burst["client"], Value::Null);
    assert_eq!(burst["count"], 3);
    assert_eq!(burst["window_secs"], 60);
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("secret-guess"), "{text}");
    let logs = captured_text();
    assert!(
        logs.contains("event=\"alert\"") || logs.contains("event=alert"),
        "{logs}"
    );
    assert!(!logs.contains("secret-guess-123"));
}

#[tokio::test]
async fn a_failing_receiver_is_retried() {
    let (hook, seen) = receiver(1).await;
    let base = start(&hook).await;
    for _ in 0..3 {
        client()
            .get(format!("{base}/login"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap();
    }
    // Two alerts, the first POST refused once and sent again.
    let events = wait_for(&seen, 3).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], events[1], "the retry sends the same event");
}

#[test]
fn a_plain_http_webhook_elsewhere_refuses_to_start() {
    let mut config = hs_config();
    config.alert_webhook = Some("http://hooks.example.com/x".into());
    let error = Security::builder(&model_of(SPEC).descriptor())
        .config(config)
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("RAMPART_ALERT_WEBHOOK") && error.contains("https://"),
        "{error}"
    );
}
