use rampart::secured;

#[secured(role = "admin", roles = ["editor"])]
async fn purge() {}

fn main() {}
