//! `#[operation]` + `#[secured]` handlers checked against `specs/petstore.yaml`
//! at compile time, and enforced with the spec's own policy at run time —
//! the very policy the generated petstore attaches to the same operation.

use std::net::SocketAddr;

use petstore::NewPet;
use rampart::__private::axum::Router;
use rampart::__private::axum::extract::Path;
use rampart::__private::axum::http::StatusCode;
use rampart::__private::axum::routing::{delete, get, post};
use rampart::server::{ServeConfig, serve};
use rampart::validate::ValidJson;
use rampart::{Principal, Security, operation, secured};

/// The spec's descriptor, compiled in: the server reads no spec at run time.
static API: std::sync::LazyLock<rampart::ApiDescriptor> =
    std::sync::LazyLock::new(|| rampart::descriptor!("../../specs/petstore.yaml"));

const SECRET: &str = "0123456789abcdef0123456789abcdef-operation-test";

/// Public in the spec (`security: []`, `public: true`, 10/s per IP).
#[operation(spec = "../../specs/petstore.yaml", id = "getHealth")]
#[secured(public, rate = "10/s", rate_key = "ip")]
async fn health() -> &'static str {
    "ok"
}

/// `#[secured]` first, `#[operation]` second: the same check either way.
#[secured(
    role = "admin",
    rate = "5/min",
    deprecated(sunset = "2027-06-01T00:00:00Z", successor = "/v2/pets/{petId}")
)]
#[operation(spec = "../../specs/petstore.yaml", id = "deletePet")]
async fn delete_pet(principal: Principal, Path(pet_id): Path<String>) -> StatusCode {
    assert!(!pet_id.is_empty() && principal.has_role("admin"));
    StatusCode::NO_CONTENT
}

#[operation(spec = "../../specs/petstore.yaml", id = "createPet")]
#[secured(role = "editor", rate = "20/min", burst = 5, body_limit = "16KiB")]
async fn create_pet(
    principal: Principal,
    ValidJson(pet): ValidJson<NewPet>,
) -> (StatusCode, String) {
    (
        StatusCode::CREATED,
        format!("{} by {}", pet.name, principal.subject),
    )
}

fn token(roles: &[&str]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": "tester", "iss": "https://issuer.test", "aud": "petstore", "iat": now, "exp": now + 600, "roles": roles, "scope": "pets:write",
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// An empty key file: the spec's apiKey scheme is configured, no key is valid.
fn key_store() -> rampart::auth::FileKeyStore {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("operation-routes-keys.json");
    rampart::auth::KeyFile::default().save(&path).unwrap();
    rampart::auth::FileKeyStore::open(&path).unwrap()
}

#[test]
fn the_compiled_descriptor_is_the_generated_crates() {
    assert_eq!(*API, *petstore::API);
}

#[test]
fn handlers_carry_the_generated_policies() {
    assert_eq!(health::policy(), petstore::policies::get_health());
    assert_eq!(delete_pet::policy(), petstore::policies::delete_pet());
    assert_eq!(create_pet::policy(), petstore::policies::create_pet());
}

#[tokio::test]
async fn the_spec_policy_is_enforced_over_a_socket() {
    let security = Security::builder(&API)
        .jwt_hs256("bearerAuth", SECRET.as_bytes().to_vec())
        .jwt_hs256("oauth2", SECRET.as_bytes().to_vec())
        .issuer("https://issuer.test")
        .audience("petstore")
        .key_store("apiKey", std::sync::Arc::new(key_store()))
        .build()
        .unwrap();
    let app = security.harden(
        Router::new()
            .route("/health", get(security.secured(health)))
            .route("/pets", post(security.secured(create_pet)))
            .route("/pets/{petId}", delete(security.secured(delete_pet))),
    );
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let serving = serve(app, ServeConfig::new(addr)).await.unwrap();
    // Mounted under the spec's base path, as the generated router is.
    let base = format!("http://{}/v1", serving.local_addr());
    let client = reqwest::Client::new();

    let response = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-api-version"], API.version.as_str());

    let pet = "/pets/8d7f4c4e-3b0a-4f57-9d3e-2a3c2f6c1a10";
    let response = client
        .delete(format!("{base}{pet}"))
        .bearer_auth(token(&["editor"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = client
        .delete(format!("{base}{pet}"))
        .bearer_auth(token(&["admin"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["deprecation"], "@1767225600");
    assert_eq!(
        response.headers()["ratelimit-policy"],
        "\"deletePet\";q=5;w=60"
    );

    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(token(&["editor"]))
        .json(&serde_json::json!({ "name": "Rex", "species": "dog" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.text().await.unwrap(), "Rex by tester");
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(token(&["editor"]))
        .json(&serde_json::json!({ "name": "", "species": "dog" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}
