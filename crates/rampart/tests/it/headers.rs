//! Security headers, request ids and header limits, over real sockets.

use axum::Router;
use axum::body::Bytes;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::{HeaderValue, StatusCode, header};
use rampart::headers::Authenticated;
use rampart::limits::body_limit;
use rampart::server::{ServeConfig, Serving, serve};
use rampart::{ApiInfo, HardenConfig, Problem, harden};

use crate::support::net::local;

async fn boom() -> &'static str {
    panic!("secret internal detail")
}

fn app(cfg: &HardenConfig) -> Router {
    let router = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/unauthorized",
            get(|| async { Problem::unauthorized(HeaderValue::from_static("Bearer")) }),
        )
        .route(
            "/forbidden",
            get(|| async { Problem::forbidden("not yours") }),
        )
        .route(
            "/upload",
            post(|body: Bytes| async move { body.len().to_string() }).route_layer(body_limit(16)),
        )
        .route(
            "/limited",
            get(|| async { Problem::too_many_requests("quota-exceeded", 7, "slow down") }),
        )
        .route("/panic", get(boom))
        .route(
            "/authed",
            get(|| async {
                let mut response = "me".into_response();
                response.extensions_mut().insert(Authenticated);
                response
            }),
        )
        .route(
            "/leaky",
            get(|| async {
                (
                    [
                        (header::SERVER, "hyper/1.0"),
                        (http::HeaderName::from_static("x-powered-by"), "axum"),
                        (header::CONTENT_SECURITY_POLICY, "default-src 'self'"),
                    ],
                    "docs",
                )
            }),
        );
    harden(router, cfg, &ApiInfo::new("1.4.0").unwrap())
}

async fn start(cfg: &HardenConfig) -> (Serving, String) {
    let serving = serve(app(cfg), ServeConfig::new(local()).with_limits(&cfg.limits))
        .await
        .unwrap();
    let base = format!("http://{}", serving.local_addr());
    (serving, base)
}

fn assert_security_headers(response: &reqwest::Response) {
    let h = response.headers();
    let what = format!("{} {}", response.status(), response.url().path());
    assert_eq!(
        h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
        "{what}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["cross-origin-resource-policy"], "same-origin", "{what}");
    assert_eq!(h["x-api-version"], "1.4.0", "{what}");
    assert!(h.contains_key("x-request-id"), "{what}");
    assert!(h.get("server").is_none(), "{what}");
    assert!(h.get("x-powered-by").is_none(), "{what}");
    // Plain HTTP: no HSTS.
    assert!(h.get("strict-transport-security").is_none(), "{what}");
}

#[tokio::test]
async fn every_status_carries_the_security_headers() {
    let (server, base) = start(&HardenConfig::default()).await;
    let client = reqwest::Client::new();
    let cases: Vec<(reqwest::RequestBuilder, StatusCode)> = vec![
        (client.get(format!("{base}/ok")), StatusCode::OK),
        (
            client.get(format!("{base}/unauthorized")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            client.get(format!("{base}/forbidden")),
            StatusCode::FORBIDDEN,
        ),
        (client.get(format!("{base}/nowhere")), StatusCode::NOT_FOUND),
        (
            client.post(format!("{base}/upload")).body(vec![b'x'; 100]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            client.get(format!("{base}/limited")),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        (
            client.get(format!("{base}/panic")),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            client.delete(format!("{base}/ok")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (request, status) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{}", response.url());
        assert_security_headers(&response);
        if status != StatusCode::OK {
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json",
                "{status}"
            );
        }
        // Anonymous requests are not marked no-store.
        assert!(
            response.headers().get("cache-control").is_none(),
            "{status}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn authenticated_responses_are_no_store() {
    let (server, base) = start(&HardenConfig::default()).await;
    let client = reqwest::Client::new();

    // A request carrying credentials, whatever the outcome.
    for path in ["/ok", "/unauthorized", "/nowhere"] {
        let response = client
            .get(format!("{base}{path}"))
            .header("authorization", "Bearer abc")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    let response = client
        .get(format!("{base}/ok"))
        .header("cookie", "session=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");

    // A response the pipeline marked as authenticated.
    let response = client.get(format!("{base}/authed")).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    server.shutdown().await;
}

#[tokio::test]
async fn revealing_headers_are_removed_and_handler_values_kept() {
    let (server, base) = start(&HardenConfig::default()).await;
    let response = reqwest::get(format!("{base}/leaky")).await.unwrap();
    assert!(response.headers().get("server").is_none());
    assert!(response.headers().get("x-powered-by").is_none());
    assert_eq!(
        response.headers()["content-security-policy"],
        "default-src 'self'"
    );
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    server.shutdown().await;
}

#[tokio::test]
async fn headers_are_configurable() {
    let cfg: HardenConfig = toml::from_str(
        r#"
        [headers]
        content-security-policy = ""
        referrer-policy = "same-origin"
        cross-origin-resource-policy = "cross-origin"
        remove = ["x-powered-by"]
        "#,
    )
    .unwrap();
    let (server, base) = start(&cfg).await;
    let response = reqwest::get(format!("{base}/leaky")).await.unwrap();
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    assert_eq!(
        response.headers()["cross-origin-resource-policy"],
        "cross-origin"
    );
    assert_eq!(response.headers()["server"], "hyper/1.0");
    let response = reqwest::get(format!("{base}/ok")).await.unwrap();
    assert!(response.headers().get("content-security-policy").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn request_ids_are_generated_echoed_and_sanitised() {
    let (server, base) = start(&HardenConfig::default()).await;
    let client = reqwest::Client::new();

    let response = client.get(format!("{base}/ok")).send().await.unwrap();
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "{generated}");
    assert_eq!(&generated[14..15], "4", "{generated}");

    // A caller's id is not trusted by default: the server's own id is the
    // request id, and the caller's (well formed) is echoed beside it.
    let response = client
        .get(format!("{base}/nowhere"))
        .header("x-request-id", "caller-42.a:b_c")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "caller-42.a:b_c");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(response.headers()["x-client-request-id"], "caller-42.a:b_c");

    for bad in ["has space", "x".repeat(129).as_str(), "quote\"d"] {
        let response = client
            .get(format!("{base}/ok"))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36);
        // A malformed one is not echoed at all.
        assert!(response.headers().get("x-client-request-id").is_none());
    }
    server.shutdown().await;

    // Behind a gateway that assigns ids, `trust-incoming = true` keeps a
    // caller's well-formed id as the request id (and still replaces a bad one).
    let trusting: HardenConfig = toml::from_str("[request-id]\ntrust-incoming = true\n").unwrap();
    let (server, base) = start(&trusting).await;
    let response = client
        .get(format!("{base}/nowhere"))
        .header("x-request-id", "caller-42.a:b_c")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "caller-42.a:b_c");
    assert!(response.headers().get("x-client-request-id").is_none());
    let response = client
        .get(format!("{base}/ok"))
        .header("x-request-id", "has space")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"].len(), 36);
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_431() {
    let (server, base) = start(&HardenConfig::default()).await;
    let client = reqwest::Client::new();

    let mut request = client.get(format!("{base}/ok"));
    for i in 0..70 {
        request = request.header(format!("x-extra-{i}"), "1");
    }
    let response = request.send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_security_headers(&response);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        "https://rampart.dev/problems/headers-too-large"
    );

    let response = client
        .get(format!("{base}/ok"))
        .header("x-big", "y".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_security_headers(&response);

    // Within the limits.
    let response = client
        .get(format!("{base}/ok"))
        .header("x-big", "y".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.shutdown().await;
}
