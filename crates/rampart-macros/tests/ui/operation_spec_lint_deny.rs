use rampart::operation;

#[operation(spec = "tests/ui/specs/insecure.yaml", id = "listUsers")]
async fn list_users() {}

fn main() {}
