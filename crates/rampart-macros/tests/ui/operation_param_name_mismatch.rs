use rampart::__private::axum::extract::Path;
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "getPet")]
#[secured(role = "viewer", rate = "100/15min")]
async fn get_pet(Path(id): Path<String>) { let _ = id; }

fn main() {}
