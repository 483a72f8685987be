//! Tests that need process-wide state to themselves (a global `tracing`
//! subscriber, the Prometheus recorder) run in a process of their own: the
//! test reruns this binary with a filter that selects only itself.

use std::process::Command;

/// Names the one test a child process runs.
const VAR: &str = "RAMPART_TEST_ALONE";

/// Run the calling test alone in a process of its own: returns at once
/// from the test in the parent, after the child ran it and passed.
///
/// ```ignore
/// #[tokio::test]
/// async fn logs_what_it_should() {
///     alone!(logs_what_it_should);
///     // ... runs in the child only
/// }
/// ```
macro_rules! alone {
    ($test:ident) => {
        if !$crate::support::process::runs_here(module_path!(), stringify!($test)) {
            return;
        }
    };
}
pub(crate) use alone;

/// Whether this process is the one to run `test` of `module`; in any other
/// process, runs this binary again for that test alone and fails unless
/// the child ran exactly that test and it passed.
pub fn runs_here(module: &str, test: &str) -> bool {
    // `it::auth_lockout` holds `auth_lockout::test`, as libtest names it.
    let module = module.split_once("::").map_or("", |(_, rest)| rest);
    let name = format!("{module}::{test}");
    if std::env::var(VAR).is_ok_and(|v| v == name) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args([name.as_str(), "--exact", "--test-threads=1"])
        .env(VAR, &name)
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name}, run in a process of its own, did not pass ({}):\n{stdout}\n{stderr}",
        out.status
    );
    false
}
