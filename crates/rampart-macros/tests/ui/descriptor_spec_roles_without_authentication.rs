//! An admin operation whose `security` admits anonymous callers (a `{}`
//! alternative): its roles would never be checked. The lint rules that say
//! so are turned off in the spec, and the loader still refuses it, naming the
//! `roles` key's line and the fix: `descriptor!` reports it as `api!` does.
mod users {
    pub static API: std::sync::LazyLock<rampart::ApiDescriptor> = std::sync::LazyLock::new(|| rampart::descriptor!("tests/ui/specs/open_admin_lint_off.yaml"));
}

fn main() {}
