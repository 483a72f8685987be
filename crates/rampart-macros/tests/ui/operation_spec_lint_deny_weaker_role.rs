//! The spec has deny-level findings and #[secured] (written first) asks for a
//! weaker role than the spec: both are reported, the role at the role.
use rampart::{operation, secured};

#[secured(role = "viewer", rate = "100/min")]
#[operation(spec = "tests/ui/specs/deny_findings.yaml", id = "listUsers")]
async fn list_users() {}

fn main() {}
