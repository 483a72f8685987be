use rampart::secured;

#[secured(role = "admin", deprecated(sunsett = "2027-06-01"))]
async fn purge() {}

fn main() {}
