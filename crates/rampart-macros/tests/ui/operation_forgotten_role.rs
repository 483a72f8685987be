use rampart::__private::axum::extract::Path;
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "deletePet")]
#[secured(rate = "5/min", deprecated(sunset = "2027-06-01T00:00:00Z", successor = "/v2/pets/{petId}"))]
async fn delete_pet(Path(pet_id): Path<String>) { let _ = pet_id; }

fn main() {}
