use rampart::secured;

#[secured(public = true)]
async fn purge() {}

fn main() {}
