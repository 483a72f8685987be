use rampart::operation;

#[operation(spec = "tests/ui/specs/broken.yaml", id = "getHealth")]
async fn health() {}

fn main() {}
