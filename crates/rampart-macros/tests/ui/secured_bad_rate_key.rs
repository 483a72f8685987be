use rampart::secured;

#[secured(rate = "5/min", rate_key = "ipp")]
async fn purge() {}

fn main() {}
