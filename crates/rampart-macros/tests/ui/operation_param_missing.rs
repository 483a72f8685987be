use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "getPet")]
#[secured(role = "viewer", rate = "100/15min")]
async fn get_pet() {}

fn main() {}
