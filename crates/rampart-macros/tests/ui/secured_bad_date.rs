use rampart::secured;

#[secured(role = "admin", deprecated(sunset = "2027-13-01"))]
async fn purge() {}

fn main() {}
