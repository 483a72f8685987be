use rampart::operation;

#[operation(spec = "tests/ui/specs/petstor.yaml", id = "getHealth")]
async fn health() {}

fn main() {}
