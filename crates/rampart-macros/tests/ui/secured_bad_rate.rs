use rampart::secured;

#[secured(role = "admin", rate = "5/mn")]
async fn purge() {}

fn main() {}
