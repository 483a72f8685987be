use rampart::secured;

#[secured(role = "admin", rate_exact)]
async fn purge() {}

fn main() {}
