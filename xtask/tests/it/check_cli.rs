//! `cargo xtask check` through the real binary: exit codes, the rustc-style
//! report on stderr and the `--format json` lines on stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (`cargo xtask` runs from there).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn corpus() -> PathBuf {
    workspace().join("../shared/corpus")
}

fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("xtask runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

/// A directory of its own under the target dir, with `files` written in it.
fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("check-cli")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// Lines 1-21; `rols` is at 17:9, `5/mni` at 18:15.
const BAD: &str = "openapi: 3.0.3
info: { title: Bad, version: '1.0' }
x-rampart:
  roles: [admin, viewer]
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer }
security:
  - bearerAuth: []
paths:
  /pets:
    get:
      operationId: listPets
      responses: { '200': { description: ok } }
    delete:
      x-rampart:
        rols: [admin]
        rate: 5/mni
      responses: { '204': { description: gone } }
";

#[test]
fn the_annotated_petstore_passes() {
    let out = xtask(&workspace(), &["check", "specs/petstore.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err,
        "specs/petstore.yaml: 6 operations, 0 error(s), 0 warning(s)\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn every_corpus_spec_passes_with_its_operation_count() {
    let expected = [
        ("asana-api.yaml", 247, 4),
        ("twilio-api-v2010.yaml", 197, 0),
        ("okta-management.yaml", 732, 0),
        ("stripe-spec3.yaml", 468, 0),
        ("oai-petstore.yaml", 3, 0),
        ("oai-petstore-expanded.yaml", 4, 0),
        ("oai-uspto.yaml", 3, 0),
        ("oai-api-with-examples.yaml", 2, 0),
        ("oai-link-example.yaml", 6, 0),
        ("oai-callback-example.yaml", 1, 0),
    ];
    let mut args = vec!["check"];
    args.extend(expected.iter().map(|(file, ..)| *file));
    let out = xtask(&corpus(), &args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for (file, operations, warnings) in expected {
        let summary = format!("{file}: {operations} operations, 0 error(s), {warnings} warning(s)");
        assert!(
            err.lines().any(|l| l == summary),
            "no line `{summary}` in:\n{err}"
        );
    }
    // Asana's warnings are shown, and do not fail the check.
    assert_eq!(err.matches("warning[unknown-scope]").count(), 4, "{err}");
    assert!(!err.contains("error["), "{err}");
}

#[test]
fn errors_are_reported_like_rustc_and_fail_the_check() {
    let dir = scratch("human", &[("bad.yaml", BAD)]);
    let out = xtask(&dir, &["check", "bad.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    // First diagnostic: header, location, source line with its number, caret.
    let at = lines
        .iter()
        .position(|l| l.starts_with("error[unknown-key]"))
        .unwrap_or_else(|| panic!("no unknown-key error in:\n{err}"));
    assert_eq!(
        lines[at],
        "error[unknown-key]: unknown key `rols` in an operation's x-rampart; did you mean `roles`?"
    );
    assert_eq!(lines[at + 1].trim_start(), "--> bad.yaml:17:9");
    assert_eq!(lines[at + 3], "17 |         rols: [admin]");
    assert_eq!(lines[at + 4], "   |         ^^^^ unknown key");
    // Second diagnostic, in position order.
    let at = lines
        .iter()
        .position(|l| l.starts_with("error[malformed-rate]"))
        .expect("a malformed-rate error");
    assert_eq!(
        lines[at],
        "error[malformed-rate]: malformed rate `5/mni`: unknown unit `mni`; did you mean `min`?"
    );
    assert_eq!(lines[at + 1].trim_start(), "--> bad.yaml:18:15");
    assert_eq!(lines[at + 3], "18 |         rate: 5/mni");
    assert_eq!(lines[at + 4], "   |               ^^^^^");
    assert!(
        err.contains("= help: write a rate as COUNT/PERIOD"),
        "{err}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("bad.yaml: 2 operations, 2 error(s), 0 warning(s)")
    );
    assert!(out.stdout.is_empty());
}

/// An "admin" operation whose `security` admits anonymous callers: lines
/// 1-16, the operation's `roles` key at 14:9.
const OPEN_ADMIN: &str = "openapi: 3.0.3
info: { title: Admin, version: '1.0' }
x-rampart:
  roles: [admin]
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer }
paths:
  /purge:
    delete:
      operationId: purge
      security: [{}, { bearerAuth: [] }]
      x-rampart:
        roles: [admin]
      responses: { '204': { description: gone } }
";

#[test]
fn roles_on_an_operation_that_admits_anonymous_callers_fail_check_generate_and_serve() {
    let dir = scratch("open-admin", &[("admin.yaml", OPEN_ADMIN)]);
    let out = xtask(&dir, &["check", "admin.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("error[roles-without-authentication]"))
        .unwrap_or_else(|| panic!("no roles-without-authentication error in:\n{err}"));
    assert_eq!(
        lines[at],
        "error[roles-without-authentication]: operation `purge` requires roles [admin] but admits \
         anonymous callers through the empty `{}` alternative of its `security`; anonymous callers \
         carry no roles, so the role check would never run and anyone could call it"
    );
    assert_eq!(lines[at + 1].trim_start(), "--> admin.yaml:14:9");
    assert_eq!(lines[at + 3], "14 |         roles: [admin]");
    assert_eq!(lines[at + 4], "   |         ^^^^^ never checked");
    assert!(
        err.contains("= help: require authentication: list a security requirement without the `{}` alternative"),
        "{err}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("admin.yaml: 1 operations, 1 error(s), 0 warning(s)")
    );

    // `generate` and `serve` refuse the same spec before writing or building anything.
    let generated = dir.join("generated");
    let _ = std::fs::remove_dir_all(&generated);
    let out = xtask(&dir, &["generate", "admin.yaml", "--out", "generated"]);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("error[roles-without-authentication]") && err.contains("admin.yaml:14:9"),
        "{err}"
    );
    assert!(
        !generated.join("src/lib.rs").exists(),
        "nothing is generated"
    );
    let out = xtask(&dir, &["serve", "admin.yaml", "--port", "0", "--mock"]);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("error[roles-without-authentication]") && err.contains("admin.yaml:14:9"),
        "{err}"
    );
}

#[test]
fn json_format_prints_one_object_per_diagnostic_on_stdout() {
    let dir = scratch("json", &[("bad.yaml", BAD)]);
    let out = xtask(&dir, &["check", "--format", "json", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objects.len(), 2, "{text}");
    let fields = |o: &serde_json::Value| {
        (
            o["severity"].as_str().unwrap().to_owned(),
            o["code"].as_str().unwrap().to_owned(),
            o["file"].as_str().unwrap().to_owned(),
            o["line"].as_u64().unwrap(),
            o["column"].as_u64().unwrap(),
        )
    };
    assert_eq!(
        fields(&objects[0]),
        (
            "error".into(),
            "unknown-key".into(),
            "bad.yaml".into(),
            17,
            9
        )
    );
    assert_eq!(
        objects[0]["message"],
        "unknown key `rols` in an operation's x-rampart; did you mean `roles`?"
    );
    assert_eq!(
        fields(&objects[1]),
        (
            "error".into(),
            "malformed-rate".into(),
            "bad.yaml".into(),
            18,
            15
        )
    );
    assert!(
        objects[1]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `min`?")
    );
    // Nothing human-readable is mixed into stdout or printed on stderr.
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn json_format_of_a_clean_spec_prints_nothing_and_passes() {
    let out = xtask(
        &workspace(),
        &["check", "--format", "json", "specs/petstore.yaml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
}

#[test]
fn one_bad_spec_among_good_ones_fails_the_check() {
    let dir = scratch("mixed", &[("bad.yaml", BAD)]);
    let petstore = workspace().join("specs/petstore.yaml");
    let out = xtask(&dir, &["check", petstore.to_str().unwrap(), "bad.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("petstore.yaml: 6 operations, 0 error(s)"),
        "{err}"
    );
    assert!(err.contains("bad.yaml: 2 operations, 2 error(s)"), "{err}");
}

#[test]
fn syntax_errors_and_refused_versions_fail_with_a_position() {
    let dir = scratch(
        "syntax",
        &[
            ("broken.yaml", "openapi: 3.0.3\ninfo:\n  title: Größe: x\n"),
            (
                "swagger.json",
                "{\n  \"swagger\": \"2.0\",\n  \"info\": {}\n}\n",
            ),
        ],
    );
    let out = xtask(
        &dir,
        &["check", "--format", "json", "broken.yaml", "swagger.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let objects: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let found: Vec<(String, String, u64, u64)> = objects
        .iter()
        .map(|o| {
            (
                o["code"].as_str().unwrap().to_owned(),
                o["file"].as_str().unwrap().to_owned(),
                o["line"].as_u64().unwrap(),
                o["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("syntax".into(), "broken.yaml".into(), 3, 15),
            ("unsupported-version".into(), "swagger.json".into(), 2, 14),
        ]
    );
    assert!(
        objects[1]["message"]
            .as_str()
            .unwrap()
            .contains("found Swagger 2.0")
    );
}

#[test]
fn an_unreadable_spec_fails_without_a_position() {
    let dir = scratch("missing", &[]);
    let out = xtask(&dir, &["check", "no-such-spec.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error[unreadable-file]: cannot read `no-such-spec.yaml`"),
        "{err}"
    );
    let out = xtask(&dir, &["check", "--format", "json", "no-such-spec.yaml"]);
    let object: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(object["code"], "unreadable-file");
    assert!(object["line"].is_null() && object["file"].is_null());
}

#[test]
fn usage_errors_exit_2() {
    let out = xtask(&workspace(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<SPECS>..."), "{}", stderr(&out));
    let out = xtask(
        &workspace(),
        &["check", "--format", "xml", "specs/petstore.yaml"],
    );
    assert_eq!(out.status.code(), Some(2));
}
