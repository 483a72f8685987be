//! What the trybuild `pass` cases used to prove, as ordinary tests of this
//! binary (a `pass` case made trybuild build every case and the whole
//! dependency tree in full, where the compile-fail cases need only a check):
//! `api!` generates the whole server at compile time, handlers that match
//! their operations compile in both attribute orders, and every `#[secured]`
//! argument at once expands to the policy it says.

use rampart::__private::axum::Router;
use rampart::__private::axum::extract::Path;
use rampart::__private::axum::http::StatusCode;
use rampart::__private::axum::routing::{get, post};
use rampart::validate::ValidJson;
use rampart::{Principal, RateKey, operation, secured};

mod api {
    rampart::api!("../../specs/petstore.yaml");
}

#[test]
fn api_generates_the_whole_server_at_compile_time() {
    assert_eq!(api::VERSION, "1.4.0");
    let ids: Vec<String> = api::policies::all()
        .into_iter()
        .map(|p| p.operation_id)
        .collect();
    assert_eq!(
        ids,
        [
            "getHealth",
            "listPets",
            "createPet",
            "getPet",
            "deletePet",
            "registerOwner"
        ]
    );
}

#[operation(spec = "../../specs/petstore.yaml", id = "getPet")]
#[secured(role = "viewer", rate = "100/15min")]
async fn get_pet(Path(pet_id): Path<String>) -> String {
    pet_id
}

#[secured(role = "editor", rate = "20/min", burst = 5, body_limit = "16KiB")]
#[operation(spec = "../../specs/petstore.yaml", id = "createPet")]
async fn create_pet(
    principal: Principal,
    ValidJson(pet): ValidJson<api::NewPet>,
) -> (StatusCode, String) {
    (
        StatusCode::CREATED,
        format!("{} {}", principal.subject, pet.name),
    )
}

/// Public in the spec: `#[operation]` alone is enough.
#[operation(spec = "../../specs/petstore.yaml", id = "getHealth")]
async fn spec_health() -> &'static str {
    "ok"
}

#[test]
fn handlers_that_match_their_operations_carry_the_specs_policy() {
    assert_eq!(get_pet::policy(), api::policies::get_pet());
    assert_eq!(create_pet::policy(), api::policies::create_pet());
    let _ = spec_health;
}

#[secured(
    roles = ["admin", "editor"],
    scopes = ["pets:write"],
    scheme = "bearerAuth",
    rate = "100/15min",
    burst = 10,
    rate_key = "ip",
    rate_exact,
    body_limit = "16KiB",
    deprecated(since = "2026-01-01", sunset = "2027-06-01T00:00:00Z", successor = "/v2/pets")
)]
async fn update(principal: Principal, Path(id): Path<u32>, body: String) -> String {
    format!("{id} {} {}", principal.subject, body.len())
}

/// Public, documented.
#[secured(public)]
async fn health() -> &'static str {
    "ok"
}

#[test]
fn every_secured_argument_at_once_expands_to_its_policy() {
    let security = rampart::SecurityBuilder::new()
        .jwt_hs256("bearerAuth", b"0123456789abcdef0123456789abcdef".to_vec())
        .issuer("https://issuer.test")
        .audience("every-argument")
        .roles(["admin", "editor"])
        .build()
        .unwrap();
    let _app: Router = Router::new()
        .route("/pets/{id}", post(security.secured(update)))
        .route("/health", get(security.secured(health)));
    let policy = update::policy();
    assert_eq!(policy.roles, ["admin", "editor"]);
    assert_eq!(policy.security[0].schemes[0].scheme, "bearerAuth");
    assert_eq!(policy.security[0].schemes[0].scopes, ["pets:write"]);
    let rate = policy.rate.unwrap();
    assert_eq!(
        (rate.count, rate.period.as_secs(), rate.burst),
        (100, 900, Some(10))
    );
    assert_eq!(policy.rate_key, RateKey::Ip);
    assert!(policy.rate_exact);
    assert_eq!(policy.body_limit, Some(16 * 1024));
    let deprecation = policy.deprecation.unwrap();
    assert_eq!(deprecation.since, Some(1_767_225_600));
    assert_eq!(deprecation.sunset, Some(1_811_808_000));
    assert_eq!(deprecation.successor.as_deref(), Some("/v2/pets"));
    assert!(health::policy().public && health::policy().security.is_empty());
}
