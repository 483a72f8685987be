//! Versions side by side, deprecation/sunset/successor headers, 410 after the
//! sunset (with an injected clock), and the count of deprecated calls.

use crate::support::process::alone;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, on};
use http::{Method, StatusCode};
use rampart::server::{ServeConfig, Serving, serve};
use rampart::version::{DeprecatedCallCount, DeprecationConfig, DeprecationTracker, ManualClock};
use rampart::{ApiInfo, AuthMethod, HardenConfig, Principal, harden_versions, parse_instant};
use rampart_spec::ApiModel;

use crate::support::{logs::capture, net::local};

fn load(name: &str) -> ApiModel {
    let path = format!("{}/../../specs/{name}", env!("CARGO_MANIFEST_DIR"));
    let loaded = rampart_spec::load_file(&path);
    assert!(!loaded.has_errors(), "{}", loaded.render());
    loaded.model.unwrap()
}

/// Stands in for authentication: `x-test-subject` becomes the principal.
async fn fake_auth(mut request: Request, next: Next) -> Response {
    if let Some(subject) = request.headers().get("x-test-subject") {
        let subject = subject.to_str().unwrap().to_owned();
        request.extensions_mut().insert(Principal {
            subject,
            roles: vec![],
            scopes: vec![],
            method: AuthMethod::Jwt,
            scheme: "bearerAuth".into(),
            key_id: None,
            issuer: None,
        });
    }
    next.run(request).await
}

/// What the generator will do: one route per operation answering 200 with
/// its operationId, plus the deprecation layer of deprecated operations.
fn router_for(model: &ApiModel, tracker: &DeprecationTracker) -> Router {
    let mut router = Router::new();
    for op in &model.operations {
        let method = Method::from_bytes(op.method.to_ascii_uppercase().as_bytes()).unwrap();
        let id = op.id.clone();
        let mut route = on(
            MethodFilter::try_from(method).unwrap(),
            move || async move { id },
        );
        if let Some(layer) = tracker.layer(&op.policy) {
            route = route.route_layer(layer);
        }
        router = router.route(&op.path, route);
    }
    router.layer(middleware::from_fn(fake_auth))
}

struct Setup {
    server: Serving,
    base: String,
    clock: Arc<ManualClock>,
    tracker: DeprecationTracker,
}

/// Tests of this file run one at a time (and the audit-capturing one alone in
/// a process of its own): it installs a thread-local subscriber, and
/// tracing's per-callsite interest cache is shared by the whole process, so
/// a concurrent test could hide its events.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn start(cfg: DeprecationConfig) -> Setup {
    let clock = Arc::new(ManualClock::at_unix(
        parse_instant("2026-11-23T12:00:00Z").unwrap(),
    ));
    let tracker = DeprecationTracker::new(&cfg).with_clock(clock.clone());
    let versions = ["v1.yaml", "v2.yaml"].map(|name| {
        let model = load(name);
        (
            router_for(&model, &tracker),
            ApiInfo::from_api(&model.descriptor()).unwrap(),
        )
    });
    let harden_cfg = HardenConfig {
        deprecation: cfg,
        ..HardenConfig::default()
    };
    let app = harden_versions(versions, &harden_cfg).unwrap();
    let server = serve(app, ServeConfig::new(local())).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    Setup {
        server,
        base,
        clock,
        tracker,
    }
}

#[tokio::test]
async fn versions_are_served_side_by_side() {
    let _serial = SERIAL.lock().await;
    let s = start(DeprecationConfig::default()).await;
    let client = reqwest::Client::new();

    // v1: every operation deprecated by the version's own dates.
    let response = client
        .get(format!("{}/v1/pets/7", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers().clone();
    assert_eq!(h["x-api-version"], "1.0.0");
    assert_eq!(h["deprecation"], "@1767225600");
    assert_eq!(h["sunset"], "Fri, 01 Jan 2027 00:00:00 GMT");
    assert_eq!(
        h["link"],
        "<https://api.pets.example/v2>; rel=\"successor-version\""
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(response.text().await.unwrap(), "getPet");

    // v2: the same path, its own version, not deprecated.
    let response = client
        .get(format!("{}/v2/pets/7", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-api-version"], "2.0.0");
    assert!(response.headers().get("deprecation").is_none());
    assert!(response.headers().get("sunset").is_none());
    assert_eq!(response.text().await.unwrap(), "getPet");

    // Unknown paths and methods inside a version: that version's problem+json.
    let response = client
        .get(format!("{}/v1/owners", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["x-api-version"], "1.0.0");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let response = client
        .delete(format!("{}/v1/pets/7", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET,HEAD");

    // Outside every version.
    let response = client
        .get(format!("{}/v3/pets", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().get("x-api-version").is_none());
    assert_eq!(response.headers()["x-frame-options"], "DENY");

    // Each version has its own CORS policy.
    for (path, origin, allowed) in [
        ("/v1/pets", "https://v1.pets.example", true),
        ("/v1/pets", "https://v2.pets.example", false),
        ("/v2/pets", "https://v2.pets.example", true),
        ("/v2/pets", "https://v1.pets.example", false),
    ] {
        let response = client
            .request(Method::OPTIONS, format!("{}{path}", s.base))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let acao = response
            .headers()
            .get("access-control-allow-origin")
            .cloned();
        assert_eq!(status == StatusCode::NO_CONTENT, allowed, "{path} {origin}");
        assert_eq!(acao.is_some(), allowed, "{path} {origin}");
    }
    s.server.shutdown().await;
}

#[tokio::test]
async fn deprecated_operation_headers_are_exact() {
    let _serial = SERIAL.lock().await;
    let s = start(DeprecationConfig::default()).await;
    let response = reqwest::Client::new()
        .delete(format!("{}/v2/pets/7", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    assert_eq!(h["x-api-version"], "2.0.0");
    assert_eq!(h["deprecation"], "@1780272000");
    assert_eq!(h["sunset"], "Tue, 01 Jun 2027 00:00:00 GMT");
    assert_eq!(
        h["link"],
        "</v2/pets/{petId}/archive>; rel=\"successor-version\""
    );
    s.server.shutdown().await;
}

#[tokio::test]
async fn operations_answer_410_from_the_sunset_instant() {
    let s = start(DeprecationConfig::default()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v2/pets/7", s.base);
    let sunset = parse_instant("2027-06-01T00:00:00Z").unwrap();

    s.clock.set_unix(sunset - 1);
    let response = client.delete(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    s.clock.set_unix(sunset);
    let response = client.delete(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    let h = response.headers().clone();
    assert_eq!(h["content-type"], "application/problem+json");
    assert_eq!(h["deprecation"], "@1780272000");
    assert_eq!(h["sunset"], "Tue, 01 Jun 2027 00:00:00 GMT");
    assert_eq!(
        h["link"],
        "</v2/pets/{petId}/archive>; rel=\"successor-version\""
    );
    assert_eq!(h["x-api-version"], "2.0.0");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], "https://rampart.dev/problems/sunset");
    assert_eq!(body["status"], 410);

    // Other operations of v2 are untouched; all of v1 is past its own sunset.
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    let response = client
        .get(format!("{}/v1/pets", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(response.headers()["x-api-version"], "1.0.0");
    s.server.shutdown().await;
}

#[tokio::test]
async fn gone_after_sunset_can_be_turned_off() {
    let _serial = SERIAL.lock().await;
    let s = start(DeprecationConfig {
        gone_after_sunset: false,
        ..DeprecationConfig::default()
    })
    .await;
    s.clock.set_unix(parse_instant("2030-01-01").unwrap());
    let response = reqwest::Client::new()
        .delete(format!("{}/v2/pets/7", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["sunset"],
        "Tue, 01 Jun 2027 00:00:00 GMT"
    );
    s.server.shutdown().await;
}

#[tokio::test]
async fn deprecated_calls_are_counted_and_logged_per_principal() {
    alone!(deprecated_calls_are_counted_and_logged_per_principal);
    let _serial = SERIAL.lock().await;
    let (captured, _guard) = capture();

    let s = start(DeprecationConfig::default()).await;
    let client = reqwest::Client::new();
    let calls = [
        ("DELETE", "/v2/pets/1", Some("alice")),
        ("DELETE", "/v2/pets/2", Some("bob")),
        ("DELETE", "/v2/pets/3", Some("bob")),
        ("DELETE", "/v2/pets/4", None),
        ("GET", "/v1/pets", Some("carol")),
        ("GET", "/v2/pets", Some("dave")), // not deprecated: not counted
    ];
    let mut alice_request_id = String::new();
    for (method, path, subject) in calls {
        let mut request = client.request(method.parse().unwrap(), format!("{}{path}", s.base));
        if let Some(subject) = subject {
            request = request.header("x-test-subject", subject);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        if subject == Some("alice") {
            alice_request_id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
        }
    }
    s.server.shutdown().await;

    let row = |operation: &str, subject: &str, count| DeprecatedCallCount {
        operation: operation.into(),
        subject: subject.into(),
        count,
    };
    assert_eq!(
        s.tracker.calls().snapshot(),
        [
            row("deletePet", "alice", 1),
            row("deletePet", "anonymous", 1),
            row("deletePet", "bob", 2),
            row("listPets", "carol", 1),
        ]
    );
    assert_eq!(s.tracker.calls().total("deletePet"), 4);
    assert_eq!(s.tracker.calls().count("listPets", "dave"), 0);

    let events = captured.audit("deprecated.call");
    assert_eq!(events.len(), 5, "{:#?}", captured.lines());
    let alice = &events[0];
    assert_eq!(alice["fields"]["operation"], "deletePet");
    assert_eq!(alice["fields"]["subject"], "alice");
    assert_eq!(alice["span"]["request_id"], alice_request_id.as_str());
}
