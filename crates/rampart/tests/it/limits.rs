//! Body, timeout, JSON depth, content-type and method limits, over real sockets.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use http::StatusCode;
use rampart::limits::{LimitsConfig, body_limit};
use rampart::server::{ServeConfig, Serving, serve};
use rampart::validate::{MAX_JSON_DEPTH, ValidJson};
use rampart::{ApiInfo, HardenConfig, harden};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use validator::Validate;

use crate::support::net::{local, raw};

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

// ---- connection limits: idle timeout, HTTP/2 keep-alive, head read timeout, cap ----

/// Connection limits with everything off but what a test turns on.
fn connection_limits(tweak: impl FnOnce(&mut LimitsConfig)) -> LimitsConfig {
    let mut limits = LimitsConfig {
        header_read_timeout_ms: 60_000,
        idle_timeout_ms: 0,
        http2_keep_alive_interval_ms: 0,
        max_connections: 0,
        ..LimitsConfig::default()
    };
    tweak(&mut limits);
    limits
}

async fn serve_limited(limits: &LimitsConfig) -> Serving {
    let router = Router::new().route("/ok", get(|| async { "ok" })).route(
        "/wait",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            "ok"
        }),
    );
    let app = harden(
        router,
        &HardenConfig::default(),
        &ApiInfo::new("3.1.0").unwrap(),
    );
    serve(app, ServeConfig::new(local()).with_limits(limits))
        .await
        .unwrap()
}

/// Everything the server sends until it closes the connection, which must
/// happen within a generous bound.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read_all)
        .await
        .expect("the server did not close the connection");
    out
}

/// Read one `200` response with body `ok` from a kept-alive HTTP/1 connection.
async fn read_ok(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.ends_with(b"\r\n\r\nok") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

const GET_OK: &[u8] = b"GET /ok HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn idle_http1_connection_is_closed() {
    let server = serve_limited(&connection_limits(|l| l.idle_timeout_ms = 300)).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream.write_all(GET_OK).await.unwrap();
    read_ok(&mut stream).await;
    // Kept alive, then idle: closed without another byte.
    assert_eq!(until_closed(&mut stream).await, b"");

    // A connection that never sends anything is idle too.
    let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
    assert_eq!(until_closed(&mut silent).await, b"");
    server.shutdown().await;
}

#[tokio::test]
async fn request_in_flight_longer_than_the_idle_timeout_is_answered() {
    let server = serve_limited(&connection_limits(|l| l.idle_timeout_ms = 200)).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    stream
        .write_all(b"GET /wait HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    read_ok(&mut stream).await;
    server.shutdown().await;
}

/// An HTTP/2 frame: 24-bit length, type, flags, stream id, payload.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut frame = vec![len[1], len[2], len[3], kind, flags];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// The frame types in `bytes`, in order.
fn h2_frame_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let len = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        types.push(bytes[3]);
        bytes = &bytes[(9 + len).min(bytes.len())..];
    }
    types
}

/// Open an HTTP/2 connection with prior knowledge and send `GET /ok` on stream 1.
async fn h2_get(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(0x4, 0, 0, &[])); // SETTINGS
    // HPACK: :method GET, :scheme http, :path /ok, :authority localhost.
    let mut block = vec![0x82, 0x86, 0x44, 3];
    block.extend_from_slice(b"/ok");
    block.extend_from_slice(&[0x41, 9]);
    block.extend_from_slice(b"localhost");
    hello.extend(h2_frame(0x1, 0x5, 1, &block)); // HEADERS, END_STREAM | END_HEADERS
    stream.write_all(&hello).await.unwrap();
    stream
}

const H2_DATA: u8 = 0x0;
const H2_PING: u8 = 0x6;
const H2_GOAWAY: u8 = 0x7;

#[tokio::test]
async fn idle_http2_connection_is_closed() {
    let server = serve_limited(&connection_limits(|l| l.idle_timeout_ms = 300)).await;
    let mut stream = h2_get(server.local_addr()).await;
    let frames = until_closed(&mut stream).await;
    let types = h2_frame_types(&frames);
    // The response was served, then the idle connection was told to go away.
    assert!(types.contains(&H2_DATA), "{types:?}");
    assert!(types.contains(&H2_GOAWAY), "{types:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn http2_peer_that_does_not_answer_pings_is_dropped() {
    let server = serve_limited(&connection_limits(|l| {
        l.http2_keep_alive_interval_ms = 200;
        l.http2_keep_alive_timeout_ms = 200;
    }))
    .await;
    let mut stream = h2_get(server.local_addr()).await;
    let types = h2_frame_types(&until_closed(&mut stream).await);
    assert!(types.contains(&H2_PING), "{types:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn slow_header_sender_is_cut_off() {
    let server = serve_limited(&connection_limits(|l| l.header_read_timeout_ms = 300)).await;
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let reader = tokio::spawn(async move {
        let mut out = Vec::new();
        let _ = read.read_to_end(&mut out).await;
        out
    });
    write
        .write_all(b"GET /ok HTTP/1.1\r\nX-Slow: ")
        .await
        .unwrap();
    // One byte every 50 ms: each arrives well within any per-read timeout,
    // but the head never completes.
    for _ in 0..200 {
        if reader.is_finished() || write.write_all(b"a").await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reader.is_finished(), "the slow head was not cut off");
    let out = reader.await.unwrap();
    assert!(!String::from_utf8_lossy(&out).contains(" 200 "));
    server.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let server = serve_limited(&connection_limits(|l| l.max_connections = 2)).await;
    let addr = server.local_addr();
    let mut first = TcpStream::connect(addr).await.unwrap();
    first.write_all(GET_OK).await.unwrap();
    read_ok(&mut first).await;
    let mut second = TcpStream::connect(addr).await.unwrap();
    second.write_all(GET_OK).await.unwrap();
    read_ok(&mut second).await;

    // The third connects (the listen backlog takes it) but is not served.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(GET_OK).await.unwrap();
    let mut buf = [0u8; 64];
    let waited = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(waited.is_err(), "served over the cap: {waited:?}");

    // One closes: the waiting connection is accepted and served.
    drop(first);
    tokio::time::timeout(Duration::from_secs(10), read_ok(&mut third))
        .await
        .expect("the waiting connection was not served after a slot freed");
    drop(second);
    server.shutdown().await;
}

#[test]
fn connection_limits_from_the_environment() {
    let mut limits = LimitsConfig::default();
    assert_eq!(limits.idle_timeout_ms, 75_000);
    assert_eq!(limits.max_connections, 10_000);
    limits
        .apply_env(|name| match name {
            "RAMPART_IDLE_TIMEOUT_MS" => Some("1500".into()),
            "RAMPART_MAX_CONNECTIONS" => Some("0".into()),
            "RAMPART_HTTP2_KEEP_ALIVE_INTERVAL_MS" => Some(" 250 ".into()),
            _ => None,
        })
        .unwrap();
    assert_eq!(limits.idle_timeout_ms, 1500);
    assert_eq!(limits.max_connections, 0);
    assert_eq!(limits.http2_keep_alive_interval_ms, 250);
    let serve = ServeConfig::new(local()).with_limits(&limits);
    assert_eq!(serve.idle_timeout, Some(Duration::from_millis(1500)));
    assert_eq!(
        serve.http2_keep_alive_interval,
        Some(Duration::from_millis(250))
    );
    assert!(
        limits
            .apply_env(|name| (name == "RAMPART_MAX_CONNECTIONS").then(|| "many".into()))
            .is_err()
    );
    let from_toml: LimitsConfig =
        toml::from_str("idle-timeout-ms = 5000\nmax-connections = 64\n").unwrap();
    assert_eq!(from_toml.idle_timeout_ms, 5000);
    assert_eq!(from_toml.max_connections, 64);
}
