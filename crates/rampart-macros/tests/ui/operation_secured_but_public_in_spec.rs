use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "getHealth")]
#[secured(role = "viewer")]
async fn health() {}

fn main() {}
