use rampart::secured;

#[secured(roles = ["admin", 7])]
async fn purge() {}

fn main() {}
