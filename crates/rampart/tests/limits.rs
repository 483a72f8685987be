//! Body, timeout, JSON depth, content-type and method limits, over real sockets.

mod harden_util;

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use http::StatusCode;
use rampart::limits::body_limit;
use rampart::server::{ServeConfig, Serving, serve};
use rampart::validate::{MAX_JSON_DEPTH, ValidJson};
use rampart::{ApiInfo, HardenConfig, harden};
use serde::Deserialize;
use validator::Validate;

use harden_util::{local, raw};

#[derive(Debug, Deserialize, Validate)]
struct Doc {
    #[allow(dead_code)]
    data: serde_json::Value,
}

fn app(cfg: &HardenConfig) -> Router {
    let router = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/upload",
            post(|body: Bytes| async move { body.len().to_string() }).route_layer(body_limit(16)),
        )
        .route(
            "/docs",
            post(|ValidJson(_doc): ValidJson<Doc>| async { "parsed" })
                .route_layer(body_limit(64 * 1024)),
        )
        .route(
            "/slow",
            get(|| async {
                std::future::pending::<()>().await;
                "never"
            }),
        );
    harden(router, cfg, &ApiInfo::new("3.1.0").unwrap())
}

async fn start(cfg: &HardenConfig) -> (Serving, String) {
    let serving = serve(app(cfg), ServeConfig::new(local())).await.unwrap();
    let base = format!("http://{}", serving.local_addr());
    (serving, base)
}

async fn problem(response: reqwest::Response, status: StatusCode, slug: &str) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], format!("https://rampart.dev/problems/{slug}"));
    assert_eq!(body["status"], status.as_u16());
    body
}

#[tokio::test]
async fn declared_body_over_the_limit_is_413() {
    let (server, base) = start(&HardenConfig::default()).await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/upload"))
        .body(vec![b'x'; 17])
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    assert_eq!(
        body["detail"],
        "the request body exceeds the limit of 16 bytes"
    );

    let response = client
        .post(format!("{base}/upload"))
        .body(vec![b'x'; 16])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "16");
    server.shutdown().await;
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let (server, _) = start(&HardenConfig::default()).await;
    let addr = server.local_addr();
    let over = b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n\
                 a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n";
    let (status, head, body) = raw(addr, over).await;
    assert_eq!(status, 413, "{head}\n{body}");
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert!(body.contains("payload-too-large"), "{body}");

    let under = b"POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n\
                  a\r\n0123456789\r\n4\r\nabcd\r\n0\r\n\r\n";
    let (status, _, body) = raw(addr, under).await;
    assert_eq!(status, 200);
    assert_eq!(body, "14");
    server.shutdown().await;
}

#[tokio::test]
async fn slow_handlers_time_out_with_408() {
    let mut cfg = HardenConfig::default();
    cfg.limits.request_timeout_ms = 100;
    let (server, base) = start(&cfg).await;
    let response = reqwest::get(format!("{base}/slow")).await.unwrap();
    assert_eq!(response.headers()["x-api-version"], "3.1.0");
    let body = problem(response, StatusCode::REQUEST_TIMEOUT, "request-timeout").await;
    assert_eq!(body["detail"], "the request was not answered within 100 ms");
    server.shutdown().await;

    cfg.limits.timeout_status = 503;
    let (server, base) = start(&cfg).await;
    let response = reqwest::get(format!("{base}/slow")).await.unwrap();
    problem(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    server.shutdown().await;
}

#[tokio::test]
async fn deep_json_is_refused_before_parsing() {
    let (server, base) = start(&HardenConfig::default()).await;
    let client = reqwest::Client::new();
    let nested = |depth: usize| {
        format!(
            "{{\"data\":{}{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    };
    let response = client
        .post(format!("{base}/docs"))
        .header("content-type", "application/json")
        .body(nested(MAX_JSON_DEPTH + 1))
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::BAD_REQUEST, "invalid-request").await;
    assert_eq!(body["errors"][0]["field"], "body");
    assert_eq!(body["errors"][0]["rule"], "depth");

    let response = client
        .post(format!("{base}/docs"))
        .header("content-type", "application/json")
        .body(nested(MAX_JSON_DEPTH))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (server, base) = start(&HardenConfig::default()).await;
    let client = reqwest::Client::new();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = client.post(format!("{base}/docs")).body("{\"data\":1}");
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        problem(
            response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        )
        .await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn unsupported_method_is_405_with_allow() {
    let (server, base) = start(&HardenConfig::default()).await;
    let client = reqwest::Client::new();
    let response = client.put(format!("{base}/ok")).send().await.unwrap();
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    methods.sort_unstable();
    assert_eq!(methods, ["GET", "HEAD"]);
    problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    )
    .await;

    let response = client.get(format!("{base}/upload")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
    )
    .await;

    let response = client.get(format!("{base}/missing")).send().await.unwrap();
    assert!(response.headers().get("allow").is_none());
    problem(response, StatusCode::NOT_FOUND, "not-found").await;
    server.shutdown().await;
}
