use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "createPet")]
#[secured(role = "editor", rate = "20/min", burst = 5, body_limit = "16KiB")]
async fn create_pet() {}

fn main() {}
