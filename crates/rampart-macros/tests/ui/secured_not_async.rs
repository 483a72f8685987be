use rampart::secured;

#[secured(role = "admin")]
fn purge() {}

fn main() {}
