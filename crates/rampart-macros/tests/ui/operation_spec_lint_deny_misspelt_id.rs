//! The spec has deny-level findings and the id is misspelt: both are
//! reported, the id at the id.
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/deny_findings.yaml", id = "listUser")]
#[secured(role = "admin", rate = "100/min")]
async fn list_users() {}

fn main() {}
