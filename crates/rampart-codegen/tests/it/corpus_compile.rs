//! Every corpus spec (OpenAPI 3.0, 3.1 and 3.2) generates a crate that passes `cargo check` with
//! warnings denied. Slow (minutes: Stripe and Okta are huge), so it is
//! `#[ignore]`d in `cargo test` and run by `scripts/test.sh` with `--include-ignored`.
//! The crates are members of one workspace of their own, checked by one
//! `cargo check --workspace --keep-going`: dependencies compile once, and
//! cargo checks two crates at a time on two cores.
//!
//! That workspace is seeded with this workspace's `Cargo.lock` and checked to
//! have kept every version: an upstream release can never change what CI
//! builds. `scripts/check-latest-deps.sh`
//! runs the same test with `RAMPART_LATEST_DEPS=1`, which leaves the lockfile
//! out and resolves the newest semver-compatible versions (non-blocking; see
//! docs/testing.md).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `RAMPART_LATEST_DEPS=1`: resolve the newest versions instead of the lockfile's.
fn latest_deps() -> bool {
    std::env::var("RAMPART_LATEST_DEPS").is_ok_and(|v| v == "1")
}

/// `(name, version)` of every registry package a `Cargo.lock` holds.
fn locked_packages(lock: &str) -> Vec<(String, String)> {
    let value: toml::Table =
        toml::from_str(lock).unwrap_or_else(|e| panic!("Cargo.lock: {}", e.message()));
    value
        .get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("source").is_some())
        .map(|p| {
            let field = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            (field("name"), field("version"))
        })
        .collect()
}

/// Seed `crate_dir` with the workspace's lockfile, so cargo keeps its versions.
fn seed_lockfile(crate_dir: &Path) {
    let lock = root().join("Cargo.lock");
    std::fs::copy(&lock, crate_dir.join("Cargo.lock")).expect("copy Cargo.lock");
}

/// Registry packages in `crate_dir`'s lockfile at versions the workspace's
/// lockfile does not hold (empty when the seeded lock was kept).
fn drifted_packages(crate_dir: &Path) -> Vec<String> {
    let workspace = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let workspace = locked_packages(&workspace);
    let generated = std::fs::read_to_string(crate_dir.join("Cargo.lock")).unwrap();
    locked_packages(&generated)
        .into_iter()
        .filter(|p| !workspace.contains(p))
        .map(|(name, version)| format!("{name} {version}"))
        .collect()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

#[test]
#[ignore = "slow: run with --ignored (scripts/test.sh runs it with --include-ignored)"]
fn every_corpus_spec_generates_a_crate_that_checks_without_warnings() {
    let mut specs = Vec::new();
    // The OpenAPI 3.0 corpus and the 3.1/3.2 one; specs without operations
    // (Adyen's webhooks-only document) still generate a crate that checks.
    for (dir, count) in [("../shared/corpus", 10), ("../shared/corpus31", 8)] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap_or_else(|e| panic!("{dir} is beside the workspace: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"))
            .collect();
        found.sort();
        assert_eq!(found.len(), count, "{dir} has {count} specs");
        specs.extend(found);
    }
    // `RAMPART_CORPUS_ONLY=discord` checks the specs whose file name holds it.
    if let Ok(only) = std::env::var("RAMPART_CORPUS_ONLY") {
        specs.retain(|s| {
            s.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(&only))
        });
    }
    let out_root = target_dir().join("corpus-crates");
    let latest = latest_deps();
    // The newest-versions run keeps its own target directory, so it never
    // disturbs the locked one's cache.
    let check_target = target_dir().join(if latest {
        "corpus-check-latest"
    } else {
        "corpus-check"
    });
    let rampart = root().join("crates/rampart");
    let mut members = Vec::new();
    for spec in &specs {
        let name = spec
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace(['-', '.'], "_")
            .to_ascii_lowercase();
        let out = out_root.join(&name);
        // Third-party specs hold constraints Rust's validators cannot enforce
        // (Asana's backreference patterns, Stripe's boolean enums, ...): the
        // explicit lenient switch reports them as warnings instead.
        let options = rampart_codegen::CrateOptions {
            crate_name: name.clone(),
            rampart: rampart_codegen::RampartDependency::Path(rampart.clone()),
            // A member of the workspace below, not a workspace of its own.
            standalone: false,
            mock: false,
            manifest_extra: String::new(),
            allow_unenforced: true,
            rampart_features: Vec::new(),
        };
        let warnings = rampart_codegen::generate_crate_with(spec, &out, &options)
            .unwrap_or_else(|e| panic!("generating {}: {e}", spec.display()));
        for w in &warnings {
            eprintln!("{name}: warning: {w}");
        }
        // A lockfile of a crate checked alone by an earlier version of this test.
        let _ = std::fs::remove_file(out.join("Cargo.lock"));
        members.push(name);
    }
    let manifest = format!(
        "# @generated by corpus_compile: every corpus crate, checked together.\n\
         [workspace]\nresolver = \"3\"\nmembers = {members:?}\n"
    );
    std::fs::write(out_root.join("Cargo.toml"), manifest).unwrap();
    if latest {
        let _ = std::fs::remove_file(out_root.join("Cargo.lock"));
    } else {
        seed_lockfile(&out_root);
    }
    let output = Command::new(env!("CARGO"))
        .args(["check", "--workspace", "--keep-going", "--quiet"])
        .current_dir(&out_root)
        .env("CARGO_TARGET_DIR", &check_target)
        .env("RUSTFLAGS", "-D warnings")
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // cargo names each crate it could not compile: "could not compile `name` (lib)".
    let failures: Vec<&String> = members
        .iter()
        .filter(|name| stderr.contains(&format!("could not compile `{name}`")))
        .collect();
    for name in &members {
        let verdict = if failures.contains(&name) {
            "FAILED"
        } else {
            "passed"
        };
        eprintln!("{name}: cargo check {verdict}");
    }
    assert!(
        output.status.success() || !failures.is_empty(),
        "cargo check failed without naming a crate:\n{stderr}"
    );
    if !failures.is_empty() {
        eprintln!("{stderr}");
    }
    if !latest {
        let drifted = drifted_packages(&out_root);
        assert!(
            drifted.is_empty(),
            "resolved versions the workspace's Cargo.lock does not pin: {drifted:?}"
        );
    }
    assert!(
        failures.is_empty(),
        "generated crates that do not check: {failures:?}"
    );
}
