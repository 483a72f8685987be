use rampart::secured;

#[secured(role = "admin", rate = "5/min", rate_exact = true)]
async fn purge() {}

fn main() {}
