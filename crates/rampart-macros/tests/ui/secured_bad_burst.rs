use rampart::secured;

#[secured(rate = "5/min", burst = 0)]
async fn purge() {}

fn main() {}
