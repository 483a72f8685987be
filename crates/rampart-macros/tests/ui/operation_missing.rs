use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/petstore.yaml", id = "deletPet")]
#[secured(role = "admin")]
async fn delete_pet() {}

fn main() {}
