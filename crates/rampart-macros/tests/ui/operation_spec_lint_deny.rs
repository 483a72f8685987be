//! The spec has deny-level findings; the handler matches it: only the spec's
//! findings are reported, each naming its spec line.
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/deny_findings.yaml", id = "listUsers")]
#[secured(role = "admin", rate = "100/min")]
async fn list_users() {}

fn main() {}
