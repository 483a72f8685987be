//! The built-in endpoints over real sockets: `/healthz`, `/readyz` (with a
//! real Redis up, and with one that does not answer), `/openapi.json`
//! (no `x-rampart`, every status the pipeline answered documented) and
//! `/docs` (its assets, its CSP), moved or turned off by `x-rampart`.

use crate::support::auth;
#[cfg(feature = "redis")]
use crate::support::rate;

use auth::{claims, client, hs_config, hs256, model_of, router, serve};
use rampart::Security;
#[cfg(feature = "redis")]
use rampart::rate::{RateLimiter, RedisConfig};
use serde_json::Value;

const SPEC: &str = r#"
openapi: 3.0.3
info: { title: "Ops <test>", version: "2.1" }
servers: [ { url: "https://api.example.com/v1" } ]
x-rampart:
  roles: [admin, viewer]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: { type: string, maxLength: 10, x-rampart-sensitive: true }
paths:
  /status:
    get:
      operationId: getStatus
      security: []
      x-rampart: { public: true }
      responses: { "200": { description: ok } }
  /pets:
    post:
      operationId: createPet
      x-rampart: { roles: [admin], rate: 4/min }
      requestBody:
        required: true
        content: { application/json: { schema: { $ref: '#/components/schemas/Pet' } } }
      responses: { "201": { description: made } }
"#;

fn security(spec: &str) -> (rampart_spec::ApiModel, Security) {
    let model = model_of(spec);
    let security = Security::builder(&model.descriptor())
        .config(hs_config())
        .clock(rampart::auth::ManualClock::at(auth::NOW))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    (model, security)
}

#[derive(serde::Deserialize, validator::Validate)]
struct Pet {
    #[validate(length(max = 10))]
    #[allow(dead_code)]
    name: String,
}

async fn create_pet(
    rampart::validate::ValidJson(_pet): rampart::validate::ValidJson<Pet>,
) -> http::StatusCode {
    http::StatusCode::CREATED
}

/// The spec's operations (createPet with a validated body) behind their guards.
fn routes(model: &rampart_spec::ApiModel, security: &Security) -> axum::Router {
    let mut app = axum::Router::new();
    for op in &model.operations {
        app = if op.id == "createPet" {
            app.route(
                &op.path,
                axum::routing::post(create_pet).route_layer(security.guard(op.policy.clone())),
            )
        } else {
            app.merge(router(
                &rampart_spec::ApiModel {
                    operations: vec![op.clone()],
                    ..model.clone()
                },
                security,
            ))
        };
    }
    app
}

async fn start(spec: &str) -> String {
    let (model, security) = security(spec);
    serve(security.harden(routes(&model, &security))).await
}

async fn get(url: String) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn health_is_answered_with_the_fronts_headers_and_only_for_get() {
    let base = start(SPEC).await;
    let (status, headers, body) = get(format!("{base}/healthz")).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "ok"
    );
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(!header(&headers, "x-request-id").is_empty());
    assert_eq!(header(&headers, "x-api-version"), "2.1");

    let response = client()
        .post(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(header(response.headers(), "allow"), "GET, HEAD");
    // The API's own routes are untouched.
    let (status, _, _) = get(format!("{base}/v1/status")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn ready_with_the_memory_store_lists_no_dependency() {
    let base = start(SPEC).await;
    let (status, _, body) = get(format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"], serde_json::json!({}));
}

#[cfg(feature = "redis")]
async fn start_with_redis(url: &str) -> String {
    let model = model_of(SPEC);
    let mut config = RedisConfig::new(url);
    config.key_prefix = rate::unique_prefix("ops_ready");
    let limiter = RateLimiter::redis(config).await.unwrap();
    let security = Security::builder(&model.descriptor())
        .config(hs_config())
        .rate_limiter(limiter)
        .build()
        .unwrap();
    serve(security.harden(routes(&model, &security))).await
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn ready_probes_a_real_redis() {
    let Some(url) = rate::redis_url("ready_probes_a_real_redis").await else {
        return;
    };
    let base = start_with_redis(&url).await;
    let (status, _, body) = get(format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["checks"]["redis"], "up");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn an_unreachable_redis_makes_ready_503_but_never_health() {
    let port = rate::free_port();
    let base = start_with_redis(&format!("redis://127.0.0.1:{port}")).await;
    let (status, headers, body) = get(format!("{base}/readyz")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/problem+json");
    assert_eq!(header(&headers, "retry-after"), "5");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 503);
    assert_eq!(problem["checks"]["redis"], "down");
    assert!(
        problem["detail"].as_str().unwrap().contains("redis"),
        "{problem}"
    );
    assert!(!body.contains(&port.to_string()), "no internals: {body}");
    // Liveness does not depend on Redis.
    let (status, _, _) = get(format!("{base}/healthz")).await;
    assert_eq!(status, 200);
}

/// A key store whose probe is slow and counts how often it is asked.
struct CountingStore(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl rampart::auth::KeyStore for CountingStore {
    fn lookup<'a>(
        &'a self,
        _id: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Option<std::sync::Arc<rampart::auth::StoredKey>>, rampart::auth::KeyStoreError>,
    > {
        Box::pin(async { Ok(None) })
    }

    fn probe(&self) -> Option<futures_util::future::BoxFuture<'_, Result<(), String>>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(Box::pin(async {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            Ok(())
        }))
    }
}

#[tokio::test]
async fn concurrent_ready_calls_share_one_probe() {
    let spec = SPEC.replace(
        "    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }\n",
        "    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }\n    apiKey: { type: apiKey, in: header, name: X-API-Key }\n",
    ).replace("  - bearerAuth: []\n", "  - bearerAuth: []\n  - apiKey: []\n");
    let model = model_of(&spec);
    let probes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let store = std::sync::Arc::new(CountingStore(probes.clone()));
    let security = Security::builder(&model.descriptor())
        .config(hs_config())
        .key_store("apiKey", store)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let base = serve(security.harden(routes(&model, &security))).await;
    // Start-up asks the store whether it can be probed; count from here.
    let before = probes.load(std::sync::atomic::Ordering::SeqCst);
    let calls = (0..16).map(|_| get(format!("{base}/readyz")));
    for (status, _, body) in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["checks"]["api-keys:apiKey"], "up", "{body}");
    }
    assert_eq!(
        probes.load(std::sync::atomic::Ordering::SeqCst) - before,
        1,
        "16 concurrent /readyz calls probe the store once"
    );
}

/// The served spec for `operation`.
fn operation<'a>(spec: &'a Value, path: &str, method: &str) -> &'a Value {
    &spec["paths"][path][method]
}

#[tokio::test]
async fn the_served_spec_hides_x_rampart_and_documents_every_pipeline_answer() {
    let base = start(SPEC).await;
    let (status, headers, text) = get(format!("{base}/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert!(!text.contains("x-rampart"), "{text}");
    let spec: Value = serde_json::from_str(&text).unwrap();
    let create = operation(&spec, "/pets", "post");

    // Provoke the pipeline's answers and check each one is documented.
    let url = format!("{base}/v1/pets");
    let viewer = hs256(&claims("v", &["viewer"]));
    let admin = hs256(&claims("a", &["admin"]));
    let answers = [
        client().post(&url).json(&serde_json::json!({"name": "x"})),
        client()
            .post(&url)
            .bearer_auth(&viewer)
            .json(&serde_json::json!({"name": "x"})),
        client()
            .post(&url)
            .bearer_auth(&admin)
            .body("{")
            .header("content-type", "application/json"),
        client()
            .post(&url)
            .bearer_auth(&admin)
            .body("name=x")
            .header("content-type", "text/plain"),
        client()
            .post(&url)
            .bearer_auth(&admin)
            .json(&serde_json::json!({"name": "far too long a name"})),
        client()
            .post(&url)
            .bearer_auth(&admin)
            .json(&serde_json::json!({"name": "x"})),
        client()
            .post(&url)
            .bearer_auth(&admin)
            .json(&serde_json::json!({"name": "x"})),
    ];
    let mut seen = Vec::new();
    for request in answers {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if status >= 300 {
            seen.push(status);
            let documented = &create["responses"][status.to_string()];
            assert!(
                documented.is_object(),
                "{status} is not documented: {create}"
            );
            if status == 401 {
                assert!(documented["headers"]["WWW-Authenticate"].is_object());
            }
            if status == 429 {
                assert!(documented["headers"]["Retry-After"].is_object());
            }
            let schema = &documented["content"]["application/problem+json"]["schema"]["$ref"];
            assert_eq!(
                schema, "#/components/schemas/RampartProblem",
                "{documented}"
            );
        }
    }
    for expected in [401, 403, 400, 415, 422, 429] {
        assert!(
            seen.contains(&expected),
            "never provoked {expected}: {seen:?}"
        );
    }
    // A public operation without input gets only what any request can meet
    // (the default request timeout).
    let status_op = operation(&spec, "/status", "get");
    let codes: Vec<&String> = status_op["responses"].as_object().unwrap().keys().collect();
    assert_eq!(codes, ["200", "408"]);
    assert!(spec["components"]["schemas"]["RampartProblem"]["required"].is_array());
}

#[tokio::test]
async fn docs_page_ships_its_assets_under_a_strict_csp() {
    let base = start(SPEC).await;
    let (status, headers, html) = get(format!("{base}/docs")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    let csp = header(&headers, "content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(
        html.contains("<title>Ops &lt;test&gt; — API reference</title>"),
        "{html}"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN: {html}"
    );
    let (status, headers, script) = get(format!("{base}/docs/rampart-docs.js")).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(script.contains("fetch("));
    let (status, _, spec) = get(format!("{base}/docs/openapi.json")).await;
    assert_eq!(status, 200);
    assert!(spec.contains("createPet"));
    let (status, _, _) = get(format!("{base}/docs/nothing.js")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn endpoints_move_or_turn_off_with_x_rampart() {
    let spec = SPEC.replace(
        "  roles: [admin, viewer]\n",
        "  roles: [admin, viewer]\n  endpoints: { health: /ops/live, docs: false, openapi: false }\n",
    );
    let base = start(&spec).await;
    assert_eq!(get(format!("{base}/ops/live")).await.0, 200);
    assert_eq!(get(format!("{base}/healthz")).await.0, 404);
    assert_eq!(get(format!("{base}/docs")).await.0, 404);
    assert_eq!(get(format!("{base}/openapi.json")).await.0, 404);
    assert_eq!(get(format!("{base}/readyz")).await.0, 200);

    let off = SPEC.replace(
        "  roles: [admin, viewer]\n",
        "  roles: [admin, viewer]\n  endpoints: false\n",
    );
    let base = start(&off).await;
    for path in ["/healthz", "/readyz", "/openapi.json", "/docs"] {
        assert_eq!(get(format!("{base}{path}")).await.0, 404, "{path}");
    }
}

#[test]
fn an_endpoint_where_the_spec_has_an_operation_refuses_to_start() {
    let spec = SPEC.replace(
        "  roles: [admin, viewer]\n",
        "  roles: [admin, viewer]\n  endpoints: { health: /v1/status }\n",
    );
    let model = model_of(&spec);
    let error = Security::builder(&model.descriptor())
        .config(hs_config())
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("/v1/status") && error.contains("getStatus"),
        "{error}"
    );
    assert!(
        error.contains("health: false") || error.contains("`health: false`"),
        "{error}"
    );
}

#[test]
fn a_malformed_endpoints_annotation_is_a_spec_error_with_a_position() {
    let spec = SPEC.replace(
        "  roles: [admin, viewer]\n",
        "  roles: [admin, viewer]\n  endpoints: { helth: /h, ready: readyz }\n",
    );
    let loaded = rampart_spec::load_str("spec.yaml", spec);
    let rendered = loaded.render();
    assert!(
        rendered.contains("unknown key `helth`") && rendered.contains("did you mean `health`"),
        "{rendered}"
    );
    assert!(
        rendered.contains("`readyz` must start with `/`"),
        "{rendered}"
    );
    assert!(rendered.contains("spec.yaml:7:"), "{rendered}");
}
