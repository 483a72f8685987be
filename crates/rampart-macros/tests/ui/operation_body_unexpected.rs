use rampart::__private::axum::Json;
use rampart::__private::serde_json::Value;
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "listPets")]
#[secured(role = "viewer", rate = "100/15min")]
async fn list_pets(Json(body): Json<Value>) { let _ = body; }

fn main() {}
