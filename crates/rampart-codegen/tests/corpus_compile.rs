//! Every corpus spec generates a crate that passes `cargo check` with
//! warnings denied. Slow (minutes: Stripe and Okta are huge), so it is
//! `#[ignore]`d in `cargo test` and run by `scripts/test.sh` with `--ignored`.
//! All crates share one target directory so dependencies compile once.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

#[test]
#[ignore = "slow: run with --ignored (scripts/test.sh does)"]
fn every_corpus_spec_generates_a_crate_that_checks_without_warnings() {
    let corpus = root().join("../shared/corpus");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("../shared/corpus is beside the workspace")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .collect();
    specs.sort();
    assert_eq!(specs.len(), 10, "the corpus has ten specs");
    let out_root = target_dir().join("corpus-crates");
    let check_target = target_dir().join("corpus-check");
    let rampart = root().join("crates/rampart");
    let mut failures = Vec::new();
    for spec in &specs {
        let name = spec
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace(['-', '.'], "_");
        let out = out_root.join(&name);
        // Third-party specs hold constraints Rust's validators cannot enforce
        // (Asana's backreference patterns, Stripe's boolean enums, ...): the
        // explicit lenient switch reports them as warnings instead.
        let options = rampart_codegen::CrateOptions {
            crate_name: name.clone(),
            rampart_path: rampart.clone(),
            standalone: true,
            mock: false,
            manifest_extra: String::new(),
            allow_unenforced: true,
        };
        let warnings = rampart_codegen::generate_crate_with(spec, &out, &options)
            .unwrap_or_else(|e| panic!("generating {}: {e}", spec.display()));
        for w in &warnings {
            eprintln!("{name}: warning: {w}");
        }
        let status = Command::new(env!("CARGO"))
            .arg("check")
            .arg("--quiet")
            .current_dir(&out)
            .env("CARGO_TARGET_DIR", &check_target)
            .env("RUSTFLAGS", "-D warnings")
            .status()
            .expect("cargo runs");
        eprintln!(
            "{name}: cargo check {}",
            if status.success() { "passed" } else { "FAILED" }
        );
        if !status.success() {
            failures.push(name);
        }
    }
    assert!(
        failures.is_empty(),
        "generated crates that do not check: {failures:?}"
    );
}
