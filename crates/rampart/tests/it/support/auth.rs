//! Shared helpers of the `auth_*` tests: a spec, a router built from it, a
//! server on 127.0.0.1:0, token minting, and problem+json assertions.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::Router;
use axum::routing::{MethodFilter, on};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rampart::Principal;
use rampart::Security;
use rampart_spec::model::ApiModel;
use serde_json::{Value, json};

pub const ISSUER: &str = "https://idp.test";
pub const AUDIENCE: &str = "pets-api";
pub const SECRET: &str = "test-only-hs256-secret-0123456789abcdef";
/// A fixed "now" for the manual clock: 2030-01-01T00:00:00Z.
pub const NOW: u64 = 1_893_456_000;

pub const SPEC: &str = r#"
openapi: 3.0.3
info: { title: Auth test, version: "1" }
x-rampart:
  roles: [admin, editor, viewer]
security:
  - bearerAuth: []
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
    oauth2:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://idp.test/token
          scopes: { "pets:read": read pets, "pets:write": write pets }
    apiKey: { type: apiKey, in: header, name: X-API-Key }
  schemas:
    Login:
      type: object
      properties:
        user: { type: string }
        password: { type: string, format: password }
        pin: { type: string, writeOnly: true }
        memo: { type: string, x-rampart-sensitive: true }
paths:
  /public:
    get:
      operationId: getPublic
      security: []
      x-rampart: { public: true }
      responses: { "200": { description: ok } }
  /viewer:
    get:
      operationId: getViewer
      x-rampart: { roles: [viewer] }
      responses: { "200": { description: ok } }
  /editor:
    get:
      operationId: getEditor
      x-rampart: { roles: [editor] }
      responses: { "200": { description: ok } }
  /admin:
    get:
      operationId: getAdmin
      x-rampart: { roles: [admin] }
      responses: { "200": { description: ok } }
  /any:
    get:
      operationId: getAny
      responses: { "200": { description: ok } }
  /scoped:
    post:
      operationId: writePets
      security: [ { oauth2: ["pets:write"] } ]
      responses: { "200": { description: ok } }
  /either:
    get:
      operationId: getEither
      security: [ { bearerAuth: [] }, { apiKey: [] } ]
      responses: { "200": { description: ok } }
  /both:
    get:
      operationId: getBoth
      security: [ { bearerAuth: [], apiKey: [] } ]
      responses: { "200": { description: ok } }
  /keys:
    get:
      operationId: getKeys
      security: [ { apiKey: [] } ]
      x-rampart: { roles: [editor] }
      responses: { "200": { description: ok } }
  /login:
    post:
      operationId: login
      security: []
      x-rampart: { public: true }
      requestBody:
        content:
          application/json:
            schema: { $ref: '#/components/schemas/Login' }
      responses: { "200": { description: ok } }
"#;

pub fn model() -> ApiModel {
    model_of(SPEC)
}

pub fn model_of(spec: &str) -> ApiModel {
    let loaded = rampart_spec::load_str("auth-test.yaml", spec.to_owned());
    assert!(!loaded.has_errors(), "{}", loaded.render());
    loaded.model.unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// A temporary directory unique to this test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rampart-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn whoami(principal: Option<Principal>) -> Json<Value> {
    Json(match principal {
        Some(p) => json!({
            "subject": p.subject,
            "roles": p.roles,
            "scopes": p.scopes,
            "scheme": p.scheme,
            "key_id": p.key_id,
        }),
        None => json!({ "anonymous": true }),
    })
}

/// Every operation of `model` routed to a handler echoing the principal, behind its guard.
pub fn router(model: &ApiModel, security: &Security) -> Router {
    let mut router = Router::new();
    for op in &model.operations {
        let filter = match op.method.as_str() {
            "post" => MethodFilter::POST,
            "put" => MethodFilter::PUT,
            "delete" => MethodFilter::DELETE,
            _ => MethodFilter::GET,
        };
        router = router.route(
            &op.path,
            on(filter, whoami).route_layer(security.guard(op.policy.clone())),
        );
    }
    router
}

pub use super::logs::{capture_logs, capture_logs_at, captured_text};
pub use super::net::{client, client_from, serve};

/// Standard claims valid at [`NOW`].
pub fn claims(sub: &str, roles: &[&str]) -> Value {
    json!({
        "sub": sub,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": NOW - 10,
        "exp": NOW + 600,
        "roles": roles,
    })
}

pub fn sign(claims: &Value, alg: Algorithm, key: &EncodingKey, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

pub fn hs256(claims: &Value) -> String {
    sign(
        claims,
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        None,
    )
}

/// The parts of a response a test asserts on.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub challenges: Vec<String>,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let retry_after = header("retry-after");
    let content_type = header("content-type");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        challenges,
        retry_after,
        content_type,
        body,
    }
}

impl Answer {
    /// Assert an RFC 9457 problem with `status` and type slug `slug`, revealing nothing internal.
    pub fn assert_problem(&self, status: u16, slug: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "{self:?}"
        );
        assert_eq!(
            self.body["type"],
            format!("https://rampart.dev/problems/{slug}"),
            "{self:?}"
        );
        assert_eq!(self.body["status"], status, "{self:?}");
        assert!(self.body["title"].is_string(), "{self:?}");
        let text = self.body.to_string().to_ascii_lowercase();
        for leak in [
            "jsonwebtoken",
            "signature",
            "kid",
            "issuer",
            "audience",
            "expired",
            "base64",
            "error(",
        ] {
            assert!(
                !text.contains(leak),
                "problem body reveals `{leak}`: {self:?}"
            );
        }
    }

    /// 401 with no error code: `Bearer realm="api"` (and others as listed).
    pub fn assert_unauthenticated(&self, challenges: &[&str]) {
        self.assert_problem(401, "unauthorized");
        assert_eq!(self.challenges, challenges, "{self:?}");
    }

    /// 401 invalid_token for a bearer credential.
    pub fn assert_invalid_token(&self) {
        self.assert_problem(401, "unauthorized");
        assert_eq!(
            self.challenges,
            [r#"Bearer realm="api", error="invalid_token""#],
            "{self:?}"
        );
    }

    pub fn assert_ok_as(&self, subject: &str) {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.body["subject"], subject, "{self:?}");
    }
}

/// A running server for [`SPEC`] with a manual clock at [`NOW`] and a key file.
pub struct Setup {
    pub base: String,
    pub security: Security,
    pub clock: rampart::auth::ManualClock,
    pub keys_path: PathBuf,
    /// Keys by label: `editor`, `viewer`, `inactive`, `expired`.
    pub keys: std::collections::HashMap<&'static str, rampart::auth::NewKey>,
}

impl Setup {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn key(&self, label: &str) -> &str {
        &self.keys[label].key
    }
}

/// HS256 secret, issuer and audience; a lenient lockout.
pub fn hs_config() -> rampart::SecurityConfig {
    let mut config = rampart::SecurityConfig::default();
    config.jwt.secret = Some(rampart::config::Secret::new(SECRET));
    config.jwt.issuer = Some(rampart::config::OneOrMany::One(ISSUER.into()));
    config.jwt.audience = Some(rampart::config::OneOrMany::One(AUDIENCE.into()));
    // Tests that send many bad credentials must not trip the lockout; its own test sets it.
    config.lockout.after = Some("100/15min".into());
    config
}

/// Write a key file with an editor, a viewer, an inactive and an expired key.
pub fn write_keys(
    dir: &Path,
) -> (
    PathBuf,
    std::collections::HashMap<&'static str, rampart::auth::NewKey>,
) {
    use rampart::auth::{KeyFile, NewKey};
    let path = dir.join("keys.toml");
    let mut file = KeyFile::default();
    let mut keys = std::collections::HashMap::new();
    for (label, role, active, expires) in [
        ("editor", "editor", true, None),
        ("viewer", "viewer", true, Some("2031-01-01T00:00:00Z")),
        ("inactive", "admin", false, None),
        ("expired", "admin", true, Some("2029-12-31T23:00:00Z")),
    ] {
        let mut new = NewKey::generate(
            vec![role.to_owned()],
            expires.map(str::to_owned),
            NOW as i64,
        );
        new.record.active = active;
        file.add(new.record.clone());
        keys.insert(label, new);
    }
    file.save(&path).unwrap();
    (path, keys)
}

pub async fn start(mut config: rampart::SecurityConfig) -> Setup {
    start_with(SPEC, &mut config, |b| b).await
}

pub async fn start_with(
    spec: &str,
    config: &mut rampart::SecurityConfig,
    customize: impl FnOnce(rampart::SecurityBuilder) -> rampart::SecurityBuilder,
) -> Setup {
    let model = model_of(spec);
    let dir = temp_dir("auth");
    let (keys_path, keys) = write_keys(&dir);
    if config.api_keys.file.is_none() {
        config.api_keys.file = Some(keys_path.clone());
    }
    let clock = rampart::auth::ManualClock::at(NOW);
    let security = customize(
        Security::builder(&model.descriptor())
            .config(config.clone())
            .clock(clock.clone()),
    )
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    let base = serve(router(&model, &security)).await;
    Setup {
        base,
        security,
        clock,
        keys_path,
        keys,
    }
}
