//! Error hygiene over real sockets: panics become 500 problem+json with the
//! request id and nothing internal; the request id reaches the audit log.

use crate::support::process::alone;
use axum::Router;
use axum::routing::get;
use http::StatusCode;
use rampart::server::{ServeConfig, serve};
use rampart::{ApiInfo, HardenConfig, harden};

use crate::support::{logs::capture, net::local};

async fn panics() -> &'static str {
    let internal = vec!["database password hunter2"];
    panic!("index out of range in {internal:?} at src/secret.rs:42")
}

async fn audited() -> &'static str {
    tracing::warn!(target: "rampart::audit", event = "auth.failure", "stand-in for another module's audit event");
    "audited"
}

fn app() -> Router {
    let router = Router::new()
        .route("/panic", get(panics))
        .route("/audited", get(audited));
    harden(
        router,
        &HardenConfig::default(),
        &ApiInfo::new("1.0.0").unwrap(),
    )
}

/// The tests of this file run one at a time, and each alone in a process of
/// its own: they install thread-local log subscribers, and tracing's
/// per-callsite interest cache is process-wide.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn panic_is_500_problem_with_request_id_and_no_internals() {
    alone!(panic_is_500_problem_with_request_id_and_no_internals);
    let _serial = SERIAL.lock().await;
    let (captured, _guard) = capture();
    let server = serve(app(), ServeConfig::new(local())).await.unwrap();
    let base = format!("http://{}", server.local_addr());

    let response = reqwest::get(format!("{base}/panic")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    for leak in ["hunter2", "secret.rs", "index out of range", "panicked"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["type"], "https://rampart.dev/problems/internal");
    assert_eq!(body["status"], 500);
    assert_eq!(body["request_id"], id.as_str());

    // The server keeps serving. A caller-chosen id is not trusted as the
    // request id (the server's own is answered and logged) but travels
    // beside it: echoed in X-Client-Request-Id and logged as client_request_id.
    let response = reqwest::Client::new()
        .get(format!("{base}/panic"))
        .header("x-request-id", "support-ticket-7")
        .send()
        .await
        .unwrap();
    let second = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, "support-ticket-7");
    assert_eq!(
        response.headers()["x-client-request-id"],
        "support-ticket-7"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], second.as_str());
    server.shutdown().await;

    let panics = captured.audit("panic");
    assert_eq!(panics.len(), 2, "{:#?}", captured.lines());
    assert_eq!(panics[0]["fields"]["request_id"], id.as_str());
    assert_eq!(panics[0]["span"]["request_id"], id.as_str());
    assert_eq!(panics[1]["fields"]["request_id"], second.as_str());
    assert_eq!(panics[1]["span"]["client_request_id"], "support-ticket-7");
    // The operator sees what happened.
    assert!(
        panics[0]["fields"]["panic"]
            .as_str()
            .unwrap()
            .contains("hunter2")
    );
}

#[tokio::test]
async fn audit_events_carry_the_request_id_of_the_response() {
    alone!(audit_events_carry_the_request_id_of_the_response);
    let _serial = SERIAL.lock().await;
    let (captured, _guard) = capture();
    let server = serve(app(), ServeConfig::new(local())).await.unwrap();
    let base = format!("http://{}", server.local_addr());

    let response = reqwest::get(format!("{base}/audited")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    server.shutdown().await;

    let events = captured.audit("auth.failure");
    assert_eq!(events.len(), 1, "{:#?}", captured.lines());
    let event = &events[0];
    assert_eq!(event["span"]["name"], "request");
    assert_eq!(event["span"]["request_id"], id.as_str());
    assert_eq!(event["span"]["path"], "/audited");
}
