use rampart::__private::axum::extract::Path;
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "deletePet")]
#[secured(role = "admin", rate = "5/min")]
async fn delete_pet(Path(pet_id): Path<String>) { let _ = pet_id; }

fn main() {}
