//! A spec with more than ten errors: the first ten are reported, then how
//! many more there are.
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/many_findings.yaml", id = "listUsers")]
#[secured(role = "admin", rate = "100/min")]
async fn list_users() {}

fn main() {}
