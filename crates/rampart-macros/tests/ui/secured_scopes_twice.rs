use rampart::secured;

#[secured(scopes = ["a"], scopes = ["b"])]
async fn purge() {}

fn main() {}
