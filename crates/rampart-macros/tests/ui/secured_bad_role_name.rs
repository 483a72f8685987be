use rampart::secured;

#[secured(role = "9admin")]
async fn purge() {}

fn main() {}
