//! A handler for an admin operation whose `security` admits anonymous
//! callers (a `{}` alternative): the spec's roles would never be checked, so
//! the spec is refused, naming the `roles` key's line and the fix.
use rampart::{operation, secured};

#[operation(spec = "tests/ui/specs/open_admin.yaml", id = "purgeUsers")]
#[secured(role = "admin", rate = "100/min")]
async fn purge_users() {}

fn main() {}
