//! The whole petstore server generated at compile time by
//! `rampart::api!("../specs/petstore.yaml")`, implemented, and attacked over a
//! real socket: the spec's security, validation and deprecation hold with no
//! hand-written enforcement.

use std::net::SocketAddr;
use std::sync::Arc;

use rampart::Security;
use rampart::server::{ServeConfig, Serving, serve};

mod petstore {
    rampart::api!("../specs/petstore.yaml");
}

use petstore::*;

const SECRET: &str = "e2e-secret-0123456789abcdef0123456789abcdef";
const ISSUER: &str = "https://issuer.e2e";
const AUDIENCE: &str = "petstore";

/// A fixed in-memory petstore.
struct Fixed;

fn rex() -> Pet {
    Pet {
        id: Some("8d7f4c4e-3b0a-4f57-9d3e-2a3c2f6c1a10".to_owned()),
        name: "Rex".to_owned(),
        species: PetSpecies::Dog,
        age: Some(3),
        weight_kg: None,
        tags: None,
        adopted: Some(false),
    }
}

impl RampartPetstoreApi for Fixed {
    async fn get_health(&self) -> GetHealthResponse {
        GetHealthResponse::Ok(Health {
            status: HealthStatus::Ok,
        })
    }

    async fn list_pets(
        &self,
        _principal: rampart::Principal,
        _query: ListPetsQuery,
        _headers: ListPetsHeaders,
    ) -> ListPetsResponse {
        ListPetsResponse::Ok(vec![rex()])
    }

    async fn create_pet(&self, _principal: rampart::Principal, body: NewPet) -> CreatePetResponse {
        CreatePetResponse::Created(Pet {
            name: body.name,
            species: body.species,
            ..rex()
        })
    }

    async fn get_pet(&self, _principal: rampart::Principal, path: GetPetPath) -> GetPetResponse {
        GetPetResponse::Ok(Pet {
            id: Some(path.pet_id),
            ..rex()
        })
    }

    async fn delete_pet(
        &self,
        _principal: rampart::Principal,
        _path: DeletePetPath,
    ) -> DeletePetResponse {
        DeletePetResponse::NoContent
    }

    async fn register_owner(
        &self,
        _principal: rampart::Principal,
        body: Owner,
    ) -> RegisterOwnerResponse {
        RegisterOwnerResponse::Created(body)
    }
}

fn token(roles: &[&str], scopes: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": "e2e", "iss": ISSUER, "aud": AUDIENCE,
        "iat": now, "exp": now + 600, "roles": roles, "scope": scopes,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

async fn start() -> (Serving, String) {
    start_with(axum::Router::new()).await
}

/// The generated routes with `own` merged in, served.
async fn start_with(own: axum::Router) -> (Serving, String) {
    // One key file per server: the tests of this binary run in parallel.
    static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let keys = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-keys-{n}.json"));
    rampart::auth::KeyFile::default().save(&keys).unwrap();
    let security = Security::builder(&API)
        .jwt_hs256("bearerAuth", SECRET.as_bytes().to_vec())
        .jwt_hs256("oauth2", SECRET.as_bytes().to_vec())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .key_store(
            "apiKey",
            Arc::new(rampart::auth::FileKeyStore::open(&keys).unwrap()),
        )
        .build()
        .unwrap();
    let app = petstore::router(Fixed, security).merge(own);
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let serving = serve(app, ServeConfig::new(addr)).await.unwrap();
    let base = format!("http://{}/v1", serving.local_addr());
    (serving, base)
}

#[tokio::test]
async fn the_api_macro_server_enforces_the_spec() {
    let (_serving, base) = start().await;
    let client = reqwest::Client::new();

    // Public health check, with the global headers.
    let response = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-api-version"], petstore::VERSION);
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.text().await.unwrap(), r#"{"status":"ok"}"#);

    // Authentication and roles.
    let response = client.get(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let viewer = token(&["viewer"], "pets:read");
    let response = client
        .get(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("ratelimit"));
    let pets: serde_json::Value = response.json().await.unwrap();
    assert_eq!(pets[0]["name"], "Rex");

    let editor = token(&["editor"], "pets:write");
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({ "name": "Tom", "species": "cat" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // Validation: each failing field named in problem+json.
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&editor)
        .json(&serde_json::json!({ "name": "", "species": "cat", "age": -1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problem: serde_json::Value = response.json().await.unwrap();
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(fields.contains(&"body.name"), "{problem}");
    assert!(fields.contains(&"body.age"), "{problem}");

    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&editor)
        .json(&serde_json::json!({ "name": "Tom", "species": "cat" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Tom");

    // A bad path parameter (not a uuid) is refused before the handler.
    let response = client
        .get(format!("{base}/pets/42"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Deprecated operation: admin only, with deprecation headers.
    let pet = format!("{base}/pets/8d7f4c4e-3b0a-4f57-9d3e-2a3c2f6c1a10");
    let response = client
        .delete(&pet)
        .bearer_auth(&editor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let admin = token(&["admin"], "");
    let response = client
        .delete(&pet)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["deprecation"], "@1767225600");
    assert_eq!(
        response.headers()["sunset"],
        "Tue, 01 Jun 2027 00:00:00 GMT"
    );
}

/// A route the user merges into the generated routes before serving them is
/// served behind the same front: security headers, request id, version.
#[tokio::test]
async fn a_route_merged_into_the_generated_router_is_served_behind_the_front() {
    let own = axum::Router::new().route("/v1/status", axum::routing::get(|| async { "mine" }));
    let (_serving, base) = start_with(own).await;
    let response = reqwest::get(format!("{base}/status")).await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-api-version"], petstore::VERSION);
    assert!(
        headers.get("x-request-id").is_some_and(|id| !id.is_empty()),
        "{headers:?}"
    );
    assert_eq!(response.text().await.unwrap(), "mine");
}
