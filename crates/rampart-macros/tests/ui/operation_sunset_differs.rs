use rampart::__private::axum::extract::Path;
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "deletePet")]
#[secured(role = "admin", rate = "5/min", deprecated(sunset = "2027-07-01", successor = "/v3/pets"))]
async fn delete_pet(Path(pet_id): Path<String>) { let _ = pet_id; }

fn main() {}
