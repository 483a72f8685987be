//! trybuild UI tests: every compile error the macros can raise
//! (`tests/ui/*.rs` with its `.stderr`). `TRYBUILD=overwrite` rewrites the
//! `.stderr` files. Cases that must compile are ordinary tests
//! (`expansions.rs`): one `pass` case would make trybuild build every case
//! and the whole dependency tree in full instead of checking them.

use std::path::{Path, PathBuf};

/// trybuild compiles the cases in its own crate under
/// `<target>/tests/trybuild/rampart-macros/`, whose `CARGO_MANIFEST_DIR` is
/// where the macros look for specs; put the fixture specs there, at the same
/// relative path the cases name (`tests/ui/specs/...`).
fn stage_specs() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp");
    let staged = target.join("tests/trybuild/rampart-macros/tests/ui/specs");
    std::fs::create_dir_all(&staged).unwrap();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(manifest.join("tests/ui/specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    sources.push(manifest.join("../../specs/petstore.yaml"));
    for source in sources {
        std::fs::copy(&source, staged.join(source.file_name().unwrap())).unwrap();
    }
}

#[test]
fn ui() {
    stage_specs();
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
