//! The workspace a command runs in: its root, its target directory, and how
//! it depends on `rampart`, so `generate` and `serve` write crates that use
//! the same `rampart` the user's own manifests name (a path or a version),
//! not this repository's layout.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use rampart_codegen::RampartDependency;

/// The workspace around the current directory.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory of the workspace's root `Cargo.toml`.
    pub root: PathBuf,
    /// Where cargo builds (`cargo metadata`'s `target_directory`).
    pub target: PathBuf,
    /// The `rampart` generated crates depend on.
    pub rampart: RampartDependency,
}

impl Workspace {
    /// Ask cargo (`cargo metadata --no-deps`: nothing is resolved or
    /// downloaded) about the workspace around the current directory.
    pub fn current() -> anyhow::Result<Self> {
        let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .context("cannot run `cargo metadata`")?;
        if !output.status.success() {
            bail!(
                "`cargo metadata` failed: run rampart's commands inside a cargo workspace\n{}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let metadata: serde_json::Value =
            serde_json::from_slice(&output.stdout).context("`cargo metadata` printed no JSON")?;
        Self::from_metadata(&metadata)
    }

    /// The workspace `metadata` (the output of `cargo metadata
    /// --format-version 1 --no-deps`) describes.
    pub fn from_metadata(metadata: &serde_json::Value) -> anyhow::Result<Self> {
        let path = |key: &str| {
            metadata[key]
                .as_str()
                .map(PathBuf::from)
                .with_context(|| format!("`cargo metadata` has no `{key}`"))
        };
        Ok(Workspace {
            root: path("workspace_root")?,
            target: path("target_directory")?,
            rampart: rampart_in(metadata).unwrap_or_else(own_rampart),
        })
    }
}

/// How the workspace's own packages depend on `rampart` (the first that
/// does, in `cargo metadata`'s order): a path dependency by its directory,
/// else by its version requirement; a member that *is* `rampart` (this
/// repository) by its own directory.
fn rampart_in(metadata: &serde_json::Value) -> Option<RampartDependency> {
    let packages = metadata["packages"].as_array()?;
    if let Some(own) = packages.iter().find(|p| p["name"] == "rampart") {
        let manifest = Path::new(own["manifest_path"].as_str()?);
        return Some(RampartDependency::Path(manifest.parent()?.to_owned()));
    }
    let dependency = packages
        .iter()
        .filter_map(|p| p["dependencies"].as_array())
        .flatten()
        .find(|d| d["name"] == "rampart")?;
    match dependency["path"].as_str() {
        Some(path) => Some(RampartDependency::Path(PathBuf::from(path))),
        None => Some(RampartDependency::Version(
            dependency["req"].as_str()?.to_owned(),
        )),
    }
}

/// When no package of the workspace names `rampart` (its xtask depends on
/// rampart-cli alone): the `rampart` beside this crate's sources when built
/// from a checkout, else the version released with it.
fn own_rampart() -> RampartDependency {
    let sibling = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rampart");
    match sibling.join("Cargo.toml").is_file() {
        true => RampartDependency::Path(sibling.canonicalize().unwrap_or(sibling)),
        false => RampartDependency::Version(env!("CARGO_PKG_VERSION").to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(packages: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "workspace_root": "/w",
            "target_directory": "/w/target",
            "packages": packages,
        })
    }

    fn member(dependencies: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "name": "api", "manifest_path": "/w/api/Cargo.toml",
            "dependencies": dependencies,
        })
    }

    #[test]
    fn a_path_dependency_is_used_by_its_directory() {
        let ws = Workspace::from_metadata(&metadata(serde_json::json!([
            member(serde_json::json!([{ "name": "serde", "req": "^1" }])),
            member(serde_json::json!([
                { "name": "rampart", "req": "*", "path": "/src/rampart/crates/rampart" }
            ])),
        ])))
        .unwrap();
        assert_eq!(ws.root, Path::new("/w"));
        assert_eq!(ws.target, Path::new("/w/target"));
        assert_eq!(
            ws.rampart,
            RampartDependency::Path("/src/rampart/crates/rampart".into())
        );
    }

    #[test]
    fn a_registry_dependency_is_used_by_its_version_requirement() {
        let ws = Workspace::from_metadata(&metadata(serde_json::json!([member(
            serde_json::json!([{ "name": "rampart", "req": "^0.3.1" }])
        )])))
        .unwrap();
        assert_eq!(ws.rampart, RampartDependency::Version("^0.3.1".into()));
    }

    #[test]
    fn a_workspace_that_is_rampart_uses_its_own_crate() {
        let ws = Workspace::from_metadata(&metadata(serde_json::json!([
            { "name": "rampart", "manifest_path": "/r/crates/rampart/Cargo.toml", "dependencies": [] }
        ])))
        .unwrap();
        assert_eq!(
            ws.rampart,
            RampartDependency::Path("/r/crates/rampart".into())
        );
    }

    #[test]
    fn without_rampart_named_the_checkout_beside_this_crate_is_used() {
        let ws = Workspace::from_metadata(&metadata(serde_json::json!([member(
            serde_json::json!([{ "name": "rampart-cli", "req": "^0.1", "path": "/c" }])
        )])))
        .unwrap();
        let RampartDependency::Path(path) = ws.rampart else {
            panic!("a checkout has crates/rampart beside crates/rampart-cli");
        };
        assert!(path.join("src/lib.rs").is_file(), "{}", path.display());
    }
}
