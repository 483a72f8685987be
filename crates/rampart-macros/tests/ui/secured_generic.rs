use rampart::secured;

#[secured(role = "admin")]
async fn purge<T>() {}

fn main() {}
