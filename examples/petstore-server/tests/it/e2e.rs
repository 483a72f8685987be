//! End-to-end over a real socket: the generated petstore, its policies
//! enforced by the runtime, and every constraint kind answered 400/422 with
//! the failing field named.

use std::net::SocketAddr;

use petstore_server::app;
use serde_json::{Value, json};

struct Server {
    base: String,
    secret: String,
    api_key: String,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start() -> Server {
    let dir = std::env::temp_dir().join(format!(
        "petstore-e2e-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("keys.toml");
    let api_key = app::dev_api_key(&key_file, "admin").unwrap();
    let secret = app::dev_secret();
    let security = app::dev_security(&petstore::API, &secret, &key_file).unwrap();
    let db = app::DemoDatabase::SqliteFile(dir.join("petstore.sqlite3"))
        .open()
        .await
        .unwrap();
    let router = app::router(security, db);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server {
        base: format!("http://{addr}/v1"),
        secret,
        api_key,
        _dir: TempDir(dir),
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

impl Server {
    fn token(&self, role: &str, scopes: &[&str]) -> String {
        app::dev_token(&self.secret, &format!("user-{role}"), &[role], scopes, 600)
    }

    /// POST /pets as a fresh editor (its own rate-limit bucket).
    async fn post_pet(&self, body: &str) -> (u16, Value) {
        let subject = format!("editor-{}", rand_suffix());
        let token = app::dev_token(&self.secret, &subject, &["editor"], &["pets:write"], 600);
        let response = reqwest::Client::new()
            .post(format!("{}/pets", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token("viewer", &["pets:read"]));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Assert a problem+json listing `field` failing `rule`.
fn assert_field(status: u16, body: &Value, want_status: u16, field: &str, rule: &str) {
    assert_eq!(status, want_status, "{body}");
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"));
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["rule"] == rule),
        "expected {field} failing {rule} in {body}"
    );
}

#[tokio::test]
async fn valid_requests_reach_the_handlers() {
    let server = start().await;
    let (status, created) = server
        .post_pet(r#"{"name":"Rex","species":"dog","age":3,"weightKg":12.5,"tags":["good-boy"]}"#)
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "Rex");
    let (status, fetched) = server.get(&format!("/pets/{id}"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, created);
    let (status, listed) = server.get("/pets?limit=10&tag=good-boy", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(listed, json!([created]));
    let (status, missing) = server
        .get("/pets/123e4567-e89b-12d3-a456-426614174000", &[])
        .await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test]
async fn every_body_constraint_kind_is_answered_422_naming_the_field() {
    let server = start().await;
    let cases: &[(&str, &str, &str)] = &[
        (r#"{"name":"","species":"dog"}"#, "body.name", "length"),
        (
            &format!(r#"{{"name":"{}","species":"dog"}}"#, "x".repeat(65)),
            "body.name",
            "length",
        ),
        (r#"{"name":"<b>","species":"dog"}"#, "body.name", "regex"),
        (
            r#"{"name":"Rex","species":"dragon"}"#,
            "body.species",
            "enum",
        ),
        (
            r#"{"name":"Rex","species":"dog","age":101}"#,
            "body.age",
            "range",
        ),
        (
            r#"{"name":"Rex","species":"dog","age":-1}"#,
            "body.age",
            "range",
        ),
        (
            r#"{"name":"Rex","species":"dog","weightKg":0}"#,
            "body.weightKg",
            "range",
        ),
        (
            r#"{"name":"Rex","species":"dog","tags":["a","b","c","d","e","f","g","h","i","j","k"]}"#,
            "body.tags",
            "length",
        ),
        (
            r#"{"name":"Rex","species":"dog","tags":["a","a"]}"#,
            "body.tags",
            "unique_items",
        ),
        // Each item is checked against the item schema (issue 14 item 10).
        (
            r#"{"name":"Rex","species":"dog","tags":["good-boy","Bad Tag"]}"#,
            "body.tags[1]",
            "regex",
        ),
        (
            r#"{"name":"Rex","species":"dog","tags":[""]}"#,
            "body.tags[0]",
            "length",
        ),
        (r#"{"species":"dog"}"#, "body.name", "required"),
        (
            r#"{"name":"Rex","species":"dog","age":"five"}"#,
            "body.age",
            "type",
        ),
        (
            r#"{"name":"Rex","species":"dog","id":"123e4567-e89b-12d3-a456-426614174000"}"#,
            "body.id",
            "read_only",
        ),
    ];
    for (body, field, rule) in cases {
        let (status, problem) = server.post_pet(body).await;
        assert_field(status, &problem, 422, field, rule);
        assert_eq!(
            problem["type"],
            "https://rampart.dev/problems/validation-failed"
        );
    }
}

#[tokio::test]
async fn malformed_bodies_and_media_types_are_refused() {
    let server = start().await;
    let (status, problem) = server.post_pet(r#"{"name":"Rex","#).await;
    assert_field(status, &problem, 400, "body", "syntax");
    let response = reqwest::Client::new()
        .post(format!("{}/pets", server.base))
        .bearer_auth(server.token("editor", &["pets:write"]))
        .header("content-type", "text/plain")
        .body("name=Rex")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let nested = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let (status, problem) = server
        .post_pet(&format!(
            r#"{{"name":"Rex","species":"dog","tags":{nested}}}"#
        ))
        .await;
    assert_field(status, &problem, 400, "body", "depth");
}

#[tokio::test]
async fn unknown_fields_are_refused_where_the_schema_says_additional_properties_false() {
    let server = start().await;
    // NewPet is an allOf of Pet: additionalProperties: false carries over.
    let (status, problem) = server
        .post_pet(r#"{"name":"Rex","species":"dog","color":"brown"}"#)
        .await;
    assert_field(status, &problem, 422, "body.color", "unknown-field");
}

#[tokio::test]
async fn bad_path_query_and_header_parameters_are_answered_400() {
    let server = start().await;
    let (status, problem) = server.get("/pets/not-a-uuid", &[]).await;
    assert_field(status, &problem, 400, "path.petId", "uuid");
    let (status, problem) = server.get("/pets?limit=0", &[]).await;
    assert_field(status, &problem, 400, "query.limit", "range");
    let (status, problem) = server.get("/pets?limit=many", &[]).await;
    assert_field(status, &problem, 400, "query.limit", "type");
    let (status, problem) = server.get("/pets?tag=NOT%20OK", &[]).await;
    assert_field(status, &problem, 400, "query.tag", "regex");
    let (status, problem) = server.get("/pets", &[("x-request-id", "zzz")]).await;
    assert_field(status, &problem, 400, "header.x-request-id", "uuid");
    // A malformed id the front replaces (here: empty) is still judged as sent
    // against the spec's declared parameter (schemathesis found it accepted).
    let (status, problem) = server.get("/pets", &[("x-request-id", "")]).await;
    assert_field(status, &problem, 400, "header.x-request-id", "uuid");
    let (status, _) = server.get("/pets", &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn formats_are_checked_and_write_only_fields_never_come_back() {
    let server = start().await;
    let register = |body: Value| {
        let (base, key) = (server.base.clone(), server.api_key.clone());
        async move {
            let response = reqwest::Client::new()
                .post(format!("{base}/owners"))
                .header("x-api-key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let good = json!({"email":"ann@example.com","password":"correct horse battery","displayName":"Ann","website":"https://ann.example"});
    let (status, owner) = register(good.clone()).await;
    assert_eq!(status, 201, "{owner}");
    assert_eq!(owner["email"], "ann@example.com");
    assert!(
        owner.get("password").is_none(),
        "writeOnly password leaked: {owner}"
    );
    let mut bad_email = good.clone();
    bad_email["email"] = json!("not-an-email");
    let (status, problem) = register(bad_email).await;
    assert_field(status, &problem, 422, "body.email", "email");
    let mut bad_uri = good.clone();
    bad_uri["website"] = json!("not a uri");
    let (status, problem) = register(bad_uri).await;
    assert_field(status, &problem, 422, "body.website", "url");
    let mut short = good.clone();
    short["password"] = json!("short");
    let (status, problem) = register(short).await;
    assert_field(status, &problem, 422, "body.password", "length");
    // `website` is optional but not nullable: absent is fine, null is not.
    let mut absent = good.clone();
    absent.as_object_mut().unwrap().remove("website");
    absent["email"] = json!("bob@example.com");
    assert_eq!(register(absent).await.0, 201);
    let mut null = good.clone();
    null["website"] = Value::Null;
    let (status, problem) = register(null).await;
    assert_field(status, &problem, 422, "body.website", "type");
}

#[tokio::test]
async fn policies_from_the_spec_are_enforced() {
    let server = start().await;
    // No credentials: 401 with a Bearer challenge.
    let response = reqwest::get(format!("{}/pets", server.base)).await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    // Viewer may not delete (admin only); a deprecated operation says so in headers.
    let delete = |role: &'static str| {
        let (base, token) = (server.base.clone(), server.token(role, &[]));
        async move {
            reqwest::Client::new()
                .delete(format!("{base}/pets/123e4567-e89b-12d3-a456-426614174000"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(delete("viewer").await.status(), 403);
    let response = delete("admin").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["deprecation"], "@1767225600");
    assert_eq!(
        response.headers()["sunset"],
        "Tue, 01 Jun 2027 00:00:00 GMT"
    );
    assert_eq!(
        response.headers()["link"],
        "</v2/pets/{petId}>; rel=\"successor-version\""
    );
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"deletePet\";q=5;w=60"
    );
    // The public health check needs nothing.
    let response = reqwest::get(format!("{}/health", server.base))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-api-version"], "1.4.0");
}
