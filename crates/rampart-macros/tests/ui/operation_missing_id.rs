use rampart::operation;

#[operation(spec = "tests/ui/specs/petstore.yaml")]
async fn health() {}

fn main() {}
