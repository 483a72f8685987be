//! Handlers that match their operations in the spec, in both attribute orders;
//! the body type comes from `api!` on the same spec.

use rampart::__private::axum::extract::Path;
use rampart::__private::axum::http::StatusCode;
use rampart::validate::ValidJson;
use rampart::{Principal, operation, secured};

mod api {
    rampart::api!("tests/ui/specs/petstore.yaml");
}

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "getPet")]
#[secured(role = "viewer", rate = "100/15min")]
async fn get_pet(Path(pet_id): Path<String>) -> String {
    pet_id
}

#[secured(role = "editor", rate = "20/min", burst = 5, body_limit = "16KiB")]
#[operation(spec = "tests/ui/specs/petstore.yaml", id = "createPet")]
async fn create_pet(principal: Principal, ValidJson(pet): ValidJson<api::NewPet>) -> (StatusCode, String) {
    (StatusCode::CREATED, format!("{} {}", principal.subject, pet.name))
}

/// Public in the spec: `#[operation]` alone is enough.
#[operation(spec = "tests/ui/specs/petstore.yaml", id = "getHealth")]
async fn health() -> &'static str {
    "ok"
}

fn main() {
    assert_eq!(get_pet::policy(), api::policies::get_pet());
    assert_eq!(create_pet::policy(), api::policies::create_pet());
    let _ = health;
}
