//! rampart's commands in a user's own workspace: a scratch workspace outside
//! this repository, whose `xtask` is one line calling `rampart_cli::run`
//! (a path dependency on this checkout), runs `check`, `generate` and
//! `diff` through `cargo xtask`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// This checkout's root.
fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `cargo xtask ARGS` in the scratch workspace, building into this
/// checkout's target directory (dependencies it already built are reused).
fn cargo_xtask(dir: &Path, args: &[&str]) -> Output {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .to_owned();
    Command::new(env!("CARGO"))
        .arg("xtask")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("NO_COLOR", "1")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

/// The scratch workspace: a root manifest, `xtask` delegating to
/// rampart-cli, the `cargo xtask` alias, the petstore spec, and this
/// checkout's lockfile so every version resolves as in CI.
fn scratch_workspace() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rampart-user-workspace-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let checkout = checkout();
    let files = [
        (
            "Cargo.toml",
            "[workspace]\nresolver = \"3\"\nmembers = [\"xtask\"]\n".to_owned(),
        ),
        (
            ".cargo/config.toml",
            "[alias]\nxtask = \"run --quiet --offline -p xtask --\"\n".to_owned(),
        ),
        (
            "xtask/Cargo.toml",
            format!(
                "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [dependencies]\n\
                 # check, lint, generate and diff; `runtime` adds serve, audit, apikey, dpop-proof.\n\
                 rampart-cli = {{ path = {:?}, default-features = false }}\n",
                checkout.join("crates/rampart-cli").display().to_string()
            ),
        ),
        (
            "xtask/src/main.rs",
            "fn main() -> std::process::ExitCode {\n    rampart_cli::run(std::env::args_os())\n}\n"
                .to_owned(),
        ),
        (
            "specs/api.yaml",
            std::fs::read_to_string(checkout.join("specs/petstore.yaml")).unwrap(),
        ),
    ];
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    std::fs::copy(checkout.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir
}

#[test]
fn a_users_xtask_runs_check_generate_and_diff_through_rampart_cli() {
    let dir = scratch_workspace();
    assert!(!dir.starts_with(checkout()), "outside this repository");

    let check = cargo_xtask(&dir, &["check", "specs/api.yaml"]);
    assert!(check.status.success(), "check: {}", text(&check.stderr));
    assert!(
        text(&check.stderr).contains("specs/api.yaml: 6 operations, 0 error(s)"),
        "{}",
        text(&check.stderr)
    );

    // generate: the crate depends on rampart the way this workspace
    // resolves it (here: this checkout, as a path dependency).
    let generate = cargo_xtask(&dir, &["generate", "specs/api.yaml", "--out", "api"]);
    assert!(
        generate.status.success(),
        "generate: {}",
        text(&generate.stderr)
    );
    let manifest = std::fs::read_to_string(dir.join("api/Cargo.toml")).unwrap();
    let rampart_line = manifest
        .lines()
        .find(|l| l.starts_with("rampart = "))
        .unwrap_or_else(|| panic!("no rampart dependency:\n{manifest}"));
    let path = rampart_line
        .split('"')
        .nth(1)
        .unwrap_or_else(|| panic!("{rampart_line}"));
    let resolved = dir.join("api").join(path).canonicalize().unwrap();
    assert_eq!(
        resolved,
        checkout().join("crates/rampart"),
        "{rampart_line}"
    );
    assert!(
        std::fs::read_to_string(dir.join("api/src/lib.rs"))
            .unwrap()
            .contains("pub trait"),
        "the generated crate holds the API's trait"
    );

    // diff against the committed spec: a role lowered from admin to viewer
    // on deletePet fails the gate, naming the kind.
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "specs/api.yaml"]);
    git(&dir, &["commit", "-q", "-m", "spec"]);
    let same = cargo_xtask(&dir, &["diff", "git:HEAD:specs/api.yaml", "specs/api.yaml"]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stdout));
    let spec = std::fs::read_to_string(dir.join("specs/api.yaml")).unwrap();
    let lowered = spec.replacen(
        "      x-rampart:\n        roles: [admin]",
        "      x-rampart:\n        roles: [viewer]",
        1,
    );
    assert_ne!(lowered, spec, "the petstore has an admin-only operation");
    std::fs::write(dir.join("specs/api.yaml"), lowered).unwrap();
    let weakened = cargo_xtask(&dir, &["diff", "git:HEAD:specs/api.yaml", "specs/api.yaml"]);
    let report = text(&weakened.stdout) + &text(&weakened.stderr);
    assert_eq!(weakened.status.code(), Some(1), "{report}");
    assert!(report.contains("role-weakened"), "{report}");

    let _ = std::fs::remove_dir_all(&dir);
}
