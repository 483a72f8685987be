use rampart::operation;

#[operation(spec = "tests/ui/specs/petstore.yaml", ids = "getHealth")]
async fn health() {}

fn main() {}
