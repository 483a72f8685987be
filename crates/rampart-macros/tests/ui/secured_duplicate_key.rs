use rampart::secured;

#[secured(rate = "5/min", rate = "10/min")]
async fn purge() {}

fn main() {}
