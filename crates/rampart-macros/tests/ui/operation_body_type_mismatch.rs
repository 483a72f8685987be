use rampart::__private::axum::Json;
use rampart::{operation, secured};

#[derive(serde::Deserialize)]
struct Pet {}

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "createPet")]
#[secured(role = "editor", rate = "20/min", burst = 5, body_limit = "16KiB")]
async fn create_pet(Json(pet): Json<Pet>) { let _ = pet; }

fn main() {}
