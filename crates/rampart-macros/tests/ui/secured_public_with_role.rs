use rampart::secured;

#[secured(public, role = "admin")]
async fn purge() {}

fn main() {}
