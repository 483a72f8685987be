use rampart::secured;

#[secured(role = "admin", deprecated(since = "2027-06-01", sunset = "2027-01-01"))]
async fn purge() {}

fn main() {}
