use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "listPets")]
#[secured(role = "viewer", scheme = "oauth2", scopes = ["pets:write"])]
async fn list_pets() {}

fn main() {}
