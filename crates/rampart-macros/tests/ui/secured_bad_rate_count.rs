use rampart::secured;

#[secured(rate = "0/min")]
async fn purge() {}

fn main() {}
