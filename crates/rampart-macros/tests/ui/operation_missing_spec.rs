use rampart::operation;

#[operation(id = "getHealth")]
async fn health() {}

fn main() {}
