//! CORS from `x-rampart.cors`, over real sockets: preflights answered before
//! authentication, allowed and disallowed origins, with and without credentials.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, Method, StatusCode, header};
use rampart::server::{ServeConfig, Serving, serve};
use rampart::{ApiInfo, CorsOrigins, CorsPolicy, HardenConfig, Problem, harden};

use crate::support::net::local;

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: Cors, version: 2.1.0 }
servers: [{ url: https://api.example.com/ }]
x-rampart:
  cors:
    origins: [https://app.example.com, http://localhost:3000]
    credentials: true
    headers: [x-trace]
    expose-headers: [x-total-count]
    max-age: 600
security: [{ bearerAuth: [] }, { apiKey: [] }]
paths:
  /pets:
    get:
      operationId: listPets
      parameters:
        - { name: X-Page, in: header, schema: { type: string } }
      responses: { '200': { description: ok } }
    post:
      operationId: createPet
      requestBody:
        content: { application/json: { schema: { type: object } } }
      responses: { '201': { description: ok } }
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer }
    apiKey: { type: apiKey, in: header, name: X-API-Key }
"#;

/// Stands in for the authentication step: no `Authorization`, no entry.
async fn require_auth(request: Request, next: Next) -> Response {
    if request.headers().contains_key(header::AUTHORIZATION) {
        next.run(request).await
    } else {
        Problem::unauthorized(HeaderValue::from_static("Bearer")).into_response()
    }
}

fn routes() -> Router {
    Router::new()
        .route(
            "/pets",
            get(|| async { "pets" }).post(|| async { "created" }),
        )
        .route_layer(middleware::from_fn(require_auth))
}

async fn start(api: &ApiInfo) -> (Serving, String) {
    let app = harden(routes(), &HardenConfig::default(), api);
    let serving = serve(app, ServeConfig::new(local())).await.unwrap();
    let base = format!("http://{}", serving.local_addr());
    (serving, base)
}

fn spec_api() -> ApiInfo {
    let loaded = rampart_spec::load_str("cors.yaml", SPEC.to_owned());
    assert!(!loaded.has_errors(), "{}", loaded.render());
    ApiInfo::from_api(&loaded.model.as_ref().unwrap().descriptor()).unwrap()
}

fn no_allow_headers(response: &reqwest::Response) {
    for (name, _) in response.headers() {
        assert!(
            !name.as_str().starts_with("access-control-allow"),
            "{name} sent to a disallowed origin"
        );
    }
    assert!(
        response
            .headers()
            .get("access-control-expose-headers")
            .is_none()
    );
}

fn varies_on_origin(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all(header::VARY)
        .iter()
        .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin"))
}

fn split(value: &HeaderValue) -> Vec<String> {
    let mut items: Vec<String> = value
        .to_str()
        .unwrap()
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    items.sort();
    items
}

#[tokio::test]
async fn preflight_from_an_allowed_origin_is_answered_without_auth() {
    let (server, base) = start(&spec_api()).await;
    let response = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{base}/pets"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "Authorization, Content-Type, X-API-Key",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(split(&h["access-control-allow-methods"]), ["get", "post"]);
    assert_eq!(
        split(&h["access-control-allow-headers"]),
        [
            "authorization",
            "content-type",
            "x-api-key",
            "x-page",
            "x-trace"
        ]
    );
    assert_eq!(h["access-control-max-age"], "600");
    assert!(varies_on_origin(&response));
    // Still hardened.
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-api-version"], "2.1.0");
    server.shutdown().await;
}

#[tokio::test]
async fn preflight_from_a_disallowed_origin_gets_no_allow_headers() {
    let (server, base) = start(&spec_api()).await;
    let client = reqwest::Client::new();
    let cases = [
        ("https://evil.example.com", "GET", None),
        ("https://app.example.com.evil.com", "GET", None),
        ("null", "GET", None),
        // Allowed origin, but a method or header the API does not use.
        ("https://app.example.com", "DELETE", None),
        ("https://app.example.com", "GET", Some("x-secret")),
    ];
    for (origin, method, headers) in cases {
        let mut request = client
            .request(Method::OPTIONS, format!("{base}/pets"))
            .header("origin", origin)
            .header("access-control-request-method", method);
        if let Some(h) = headers {
            request = request.header("access-control-request-headers", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{origin} {method}"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        no_allow_headers(&response);
        assert!(varies_on_origin(&response));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn actual_requests_from_allowed_and_disallowed_origins() {
    let (server, base) = start(&spec_api()).await;
    let client = reqwest::Client::new();

    // Allowed origin, with credentials.
    let response = client
        .get(format!("{base}/pets"))
        .header("origin", "http://localhost:3000")
        .header("authorization", "Bearer t")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "http://localhost:3000");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let exposed = split(&h["access-control-expose-headers"]);
    assert!(exposed.contains(&"x-total-count".to_owned()), "{exposed:?}");
    assert!(exposed.contains(&"x-request-id".to_owned()), "{exposed:?}");
    assert!(varies_on_origin(&response));

    // Allowed origin, without credentials: the 401 is readable by the page.
    let response = client
        .get(format!("{base}/pets"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );

    // Disallowed origin, with and without credentials: served, but the
    // browser gets nothing that lets the page read it.
    for auth in [Some("Bearer t"), None] {
        let mut request = client
            .get(format!("{base}/pets"))
            .header("origin", "https://evil.example.com");
        if let Some(a) = auth {
            request = request.header("authorization", a);
        }
        let response = request.send().await.unwrap();
        no_allow_headers(&response);
        assert!(varies_on_origin(&response));
    }

    // No origin: same-origin or non-browser caller.
    let response = client
        .get(format!("{base}/pets"))
        .header("authorization", "Bearer t")
        .send()
        .await
        .unwrap();
    no_allow_headers(&response);
    assert!(varies_on_origin(&response));
    server.shutdown().await;
}

#[tokio::test]
async fn public_wildcard_without_credentials() {
    let policy = CorsPolicy {
        origins: CorsOrigins::Any,
        public: true,
        ..CorsPolicy::default()
    };
    let api = ApiInfo::new("1.0.0")
        .unwrap()
        .with_cors(&policy, &[Method::GET], &[header::AUTHORIZATION])
        .unwrap();
    let (server, base) = start(&api).await;
    let client = reqwest::Client::new();
    let response = client
        .request(Method::OPTIONS, format!("{base}/pets"))
        .header("origin", "https://anyone.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );

    let response = client
        .get(format!("{base}/pets"))
        .header("origin", "https://anyone.example")
        .header("authorization", "Bearer t")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    server.shutdown().await;
}

#[test]
fn unsafe_policies_are_refused_at_runtime_too() {
    let m = [Method::GET];
    let wildcard_credentials = CorsPolicy {
        origins: CorsOrigins::Any,
        credentials: true,
        public: true,
        ..CorsPolicy::default()
    };
    let err = ApiInfo::new("1")
        .unwrap()
        .with_cors(&wildcard_credentials, &m, &[])
        .unwrap_err();
    assert!(err.to_string().contains("credentials"), "{err}");

    let wildcard_not_public = CorsPolicy {
        origins: CorsOrigins::Any,
        ..CorsPolicy::default()
    };
    let err = rampart::cors::layer(&wildcard_not_public, &m, &[]).unwrap_err();
    assert!(err.to_string().contains("public: true"), "{err}");

    let pattern = CorsPolicy {
        origins: CorsOrigins::List(vec!["https://*.example.com".into()]),
        ..CorsPolicy::default()
    };
    assert!(rampart::cors::layer(&pattern, &m, &[]).is_err());
}
