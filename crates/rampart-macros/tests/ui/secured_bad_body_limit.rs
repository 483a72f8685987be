use rampart::secured;

#[secured(role = "admin", body_limit = "16Kb")]
async fn purge() {}

fn main() {}
