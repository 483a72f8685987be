use rampart::secured;

#[secured(rol = "admin")]
async fn purge() {}

fn main() {}
