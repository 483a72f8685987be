use rampart::secured;

#[secured(role = "admin", burst = 5)]
async fn purge() {}

fn main() {}
