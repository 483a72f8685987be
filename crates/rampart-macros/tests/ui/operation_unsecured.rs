use rampart::__private::axum::extract::Path;
use rampart::operation;

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "deletePet")]
async fn delete_pet(Path(pet_id): Path<String>) { let _ = pet_id; }

fn main() {}
