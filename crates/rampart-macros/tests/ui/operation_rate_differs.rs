use rampart::__private::axum::extract::Path;
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "getPet")]
#[secured(role = "viewer", rate = "100/min")]
async fn get_pet(Path(pet_id): Path<String>) { let _ = pet_id; }

fn main() {}
