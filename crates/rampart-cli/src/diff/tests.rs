//! The diff end to end: each regression derived from one base spec by
//! exactly one change, the gate's exit codes, the allowlist, every output
//! format (SARIF validated against the 2.1.0 schema) and `git:REV:PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use serde_json::Value;

use super::{Args, Kind, Outcome, run_in};

const BASE: &str = include_str!("../../tests/fixtures/diff/base.yaml");
/// The OASIS SARIF 2.1.0 schema, checked in once (rampart-spec's lint tests use it too).
const SARIF_SCHEMA: &str =
    include_str!("../../../rampart-spec/tests/fixtures/sarif/sarif-schema-2.1.0.json");

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

/// A private directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rampart-diff-test-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.0.join(name), text).unwrap();
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn args(list: &[&str]) -> Args {
    Cli::try_parse_from(std::iter::once("diff").chain(list.iter().copied()))
        .unwrap()
        .args
}

/// `diff old.yaml new.yaml EXTRA...` with `files` written beside them.
fn run(old: &str, new: &str, extra: &[&str], files: &[(&str, &str)]) -> Outcome {
    let dir = Scratch::new("run");
    dir.write("old.yaml", old);
    dir.write("new.yaml", new);
    for (name, text) in files {
        dir.write(name, text);
    }
    let mut list = vec!["old.yaml", "new.yaml"];
    list.extend_from_slice(extra);
    run_in(&args(&list), dir.path())
}

fn json(out: &Outcome) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn kinds(findings: &[Value], class: &str) -> Vec<String> {
    let mut out: Vec<String> = findings
        .iter()
        .filter(|f| f["class"] == class)
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    out.dedup();
    out
}

/// BASE with `from` (which must occur exactly once) replaced by `to`.
fn change(from: &str, to: &str) -> String {
    assert_eq!(
        BASE.matches(from).count(),
        1,
        "`{from}` must occur once in the base"
    );
    BASE.replacen(from, to, 1)
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// 1-based line and column where `needle` (once in `text`) starts.
fn position(text: &str, needle: &str) -> (u64, u64) {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "`{needle}` must occur once"
    );
    let offset = text.find(needle).unwrap();
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    (
        line_at(text, offset) as u64,
        (text[start..offset].chars().count() + 1) as u64,
    )
}

/// One regression: its kind, the one change that makes it, and where it
/// is reported (`None`: on a line of the changed text).
struct Regression {
    kind: &'static str,
    from: &'static str,
    to: &'static str,
    at: Option<&'static str>,
}

const REGRESSIONS: &[Regression] = &[
    Regression {
        kind: "auth-removed",
        from: "operationId: getReports\n      security:\n        - bearerAuth: []",
        to: "operationId: getReports\n      security: []",
        at: None,
    },
    Regression {
        kind: "auth-optional-added",
        from: "operationId: getReports\n      security:\n        - bearerAuth: []",
        to: "operationId: getReports\n      security:\n        - {}\n        - bearerAuth: []",
        at: None,
    },
    Regression {
        kind: "scheme-weakened",
        from: "operationId: getReports\n      security:\n        - bearerAuth: []",
        to: "operationId: getReports\n      security:\n        - basicAuth: []",
        at: None,
    },
    Regression {
        kind: "scheme-weakened",
        from: "        - bearerAuth: []\n          apiKey: []\n",
        to: "        - bearerAuth: []\n",
        at: None,
    },
    Regression {
        kind: "scheme-weakened",
        from: "operationId: getReports\n      security:\n        - bearerAuth: []",
        to: "operationId: getReports\n      security:\n        - bearerAuth: []\n        - apiKey: []",
        at: None,
    },
    Regression {
        kind: "scheme-weakened",
        from: "      scheme: bearer\n      bearerFormat: JWT\n",
        to: "      scheme: basic\n",
        at: Some("type: http\n      scheme: basic\n    apiKey"),
    },
    Regression {
        kind: "scheme-weakened",
        from: "issuer: [https://id.partner.example]",
        to: "issuer: [https://id.partner.example, https://id.other.example]",
        at: None,
    },
    Regression {
        kind: "scheme-weakened",
        from: "        audience: [reports]\n",
        to: "",
        at: Some("issuer: [https://id.partner.example]"),
    },
    Regression {
        kind: "scheme-weakened",
        from: "typ: at+jwt",
        to: "typ: jwt",
        at: None,
    },
    Regression {
        kind: "replay-allowed",
        from: "replay: 'reject'",
        to: "replay: 'allow'",
        at: None,
    },
    Regression {
        kind: "rate-exact-removed",
        from: ", rate-exact: true }",
        to: " }",
        at: Some("x-rampart: { rate: 100/1min, burst: 20 }"),
    },
    Regression {
        kind: "scope-removed",
        from: "        - oauth2: [pets:write]\n",
        to: "        - oauth2: []\n",
        at: None,
    },
    Regression {
        kind: "scope-removed",
        from: "        - oauth2: [pets:write]\n",
        to: "        - oauth2: [pets:write]\n        - bearerAuth: []\n",
        at: None,
    },
    Regression {
        kind: "role-weakened",
        from: "roles: [editor]",
        to: "roles: [viewer]",
        at: None,
    },
    Regression {
        kind: "role-weakened",
        from: "  roles: [admin, editor, viewer]",
        to: "  roles: [admin, viewer, editor]",
        at: Some("[editor]\n"),
    },
    Regression {
        kind: "public-added",
        from: "x-rampart: { rate: 100/1min, burst: 20, rate-exact: true }",
        to: "x-rampart: { rate: 100/1min, burst: 20, rate-exact: true, public: true }",
        at: None,
    },
    Regression {
        kind: "replay-allowed",
        from: "replay: reject",
        to: "replay: allow",
        at: None,
    },
    Regression {
        kind: "rate-raised",
        from: "rate: 100/1min",
        to: "rate: 1000/1min",
        at: None,
    },
    Regression {
        kind: "rate-raised",
        from: "  rate: 100/15min\n",
        to: "  rate: 1000/15min\n",
        at: None,
    },
    Regression {
        kind: "burst-raised",
        from: "burst: 20",
        to: "burst: 50",
        at: None,
    },
    Regression {
        kind: "body-limit-raised",
        from: "body-limit: 16KiB",
        to: "body-limit: 1MiB",
        at: None,
    },
    Regression {
        kind: "body-limit-raised",
        from: "  body-limit: 64KiB\n",
        to: "  body-limit: 1MiB\n",
        at: None,
    },
    Regression {
        kind: "cors-widened",
        from: "origins: [https://app.example.com]",
        to: "origins: [https://app.example.com, https://evil.example.com]",
        at: None,
    },
    Regression {
        kind: "cors-widened",
        from: "credentials: false",
        to: "credentials: true",
        at: None,
    },
    Regression {
        kind: "cors-widened",
        from: "max-age: 600",
        to: "max-age: 86400",
        at: None,
    },
    Regression {
        kind: "sunset-earlier",
        from: "sunset: 2027-06-01T00:00:00Z",
        to: "sunset: 2027-01-01T00:00:00Z",
        at: None,
    },
    Regression {
        kind: "sunset-removed-after-announcement",
        from: "        sunset: 2027-06-01T00:00:00Z\n",
        to: "",
        at: Some("roles: [admin]"),
    },
    Regression {
        kind: "redaction-removed",
        from: "          writeOnly: true\n",
        to: "",
        at: Some("password:"),
    },
    Regression {
        kind: "validation-loosened",
        from: "maxLength: 50",
        to: "maxLength: 500",
        at: None,
    },
    Regression {
        kind: "validation-loosened",
        from: "          pattern: '^[A-Za-z ]+$'\n",
        to: "",
        at: Some("type: string\n          minLength: 1"),
    },
    Regression {
        kind: "validation-loosened",
        from: "      additionalProperties: false\n",
        to: "",
        at: Some("type: object\n      required"),
    },
    Regression {
        kind: "validation-loosened",
        from: "enum: [dog, cat]",
        to: "enum: [dog, cat, snake]",
        at: None,
    },
    Regression {
        kind: "validation-loosened",
        from: "required: [name]",
        to: "required: []",
        at: None,
    },
    Regression {
        kind: "validation-loosened",
        from: "schema: { type: integer, minimum: 1, maximum: 100 }",
        to: "schema: { type: integer, minimum: 0, maximum: 100 }",
        at: None,
    },
    Regression {
        kind: "validation-loosened",
        from: "label: { type: string, maxLength: 20 }",
        to: "label: { type: string }",
        at: None,
    },
    Regression {
        kind: "validation-loosened",
        from: "          type: integer\n          minimum: 0",
        to: "          type: number\n          minimum: 0",
        at: None,
    },
    Regression {
        kind: "operation-added-unsecured",
        from: "  /health:\n",
        to: "  /status:\n    get:\n      operationId: getStatus\n      security: []\n      x-rampart: { public: true }\n      responses:\n        '200': { description: ok }\n  /health:\n",
        at: None,
    },
];

#[test]
fn each_regression_fails_the_default_gate_alone_and_at_its_line() {
    for r in REGRESSIONS {
        let new = change(r.from, r.to);
        let out = run(BASE, &new, &["--format", "json"], &[]);
        let context = format!(
            "{} ({:?} -> {:?}):\n{}{}",
            r.kind, r.from, r.to, out.stdout, out.stderr
        );
        assert_eq!(out.code, 1, "{context}");
        let findings = json(&out);
        assert_eq!(kinds(&findings, "security"), [r.kind], "{context}");
        let expected: Vec<u64> = match r.at {
            Some(needle) => vec![position(&new, needle).0],
            None => {
                let start = new.find(r.to).unwrap();
                (line_at(&new, start) as u64
                    ..=line_at(&new, start + r.to.len().saturating_sub(1)) as u64)
                    .collect()
            }
        };
        for f in findings.iter().filter(|f| f["kind"] == r.kind) {
            assert_eq!(f["file"], "new.yaml", "{context}");
            assert!(
                expected.contains(&f["line"].as_u64().unwrap()),
                "{}: reported at line {}, expected {expected:?}\n{context}",
                r.kind,
                f["line"]
            );
        }
    }
}

#[test]
fn the_human_report_names_kind_operation_values_and_place() {
    let new = change("rate: 100/1min", "rate: 1000/1min");
    let out = run(BASE, &new, &[], &[]);
    assert_eq!(out.code, 1);
    let (line, column) = position(&new, "1000/1min");
    let expected = format!(
        "error[rate-raised]: GET /pets (listPets): rate raised from 100/min to 1000/min\n  --> new.yaml:{line}:{column}\n"
    );
    assert!(out.stdout.contains(&expected), "{}", out.stdout);
    assert!(
        out.stdout
            .ends_with("1 security regression, 0 breaking changes, 0 other changes\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_top_level_rate_is_reported_once_as_default_and_per_inheriting_operation() {
    let new = change("  rate: 100/15min\n", "  rate: 1000/15min\n");
    let findings = json(&run(BASE, &new, &["--format", "json"], &[]));
    let operations: Vec<&str> = findings
        .iter()
        .filter(|f| f["kind"] == "rate-raised")
        .map(|f| f["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations.iter().filter(|o| **o == "(default)").count(), 1);
    // listPets has a rate of its own.
    assert!(!operations.contains(&"listPets"), "{operations:?}");
    assert!(operations.contains(&"createPet"), "{operations:?}");

    // A rate removed is raised to unlimited.
    let out = run(
        BASE,
        &change("  rate: 100/15min\n", ""),
        &["--format", "json"],
        &[],
    );
    assert_eq!(out.code, 1);
    let findings = json(&out);
    assert_eq!(
        kinds(&findings, "security"),
        ["rate-raised"],
        "{}",
        out.stdout
    );
    let default = findings
        .iter()
        .find(|f| f["operation"] == "(default)")
        .unwrap();
    assert_eq!(
        (&default["old"], &default["new"]),
        (&"100/15min".into(), &"unlimited".into())
    );
    assert!(
        findings
            .iter()
            .any(|f| f["operation"] == "getReports" && f["new"] == "unlimited")
    );
}

#[test]
fn cosmetic_changes_report_nothing() {
    let described = change(
        "description: Lists pets.",
        "description: Lists all the pets, nicely.",
    );
    let renamed = described.replacen("operationId: getReports", "operationId: fetchReports", 1);
    // A schema moved into a component it is referred to by.
    let refactored = renamed
        .replacen(
            "schema: { type: integer, minimum: 1, maximum: 100 }",
            "schema: { $ref: '#/components/schemas/Limit' }",
            1,
        )
        .replacen(
            "  schemas:\n",
            "  schemas:\n    Limit:\n      description: how many\n      maximum: 100\n      minimum: 1\n      type: integer\n",
            1,
        )
        .replacen("petId", "id", 3);
    for new in [described, renamed, refactored] {
        let out = run(BASE, &new, &[], &[]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        assert_eq!(
            out.stdout,
            "0 security regressions, 0 breaking changes, 0 other changes\n"
        );
    }
}

#[test]
fn tightenings_pass_the_default_gate() {
    for (from, to, kind) in [
        ("roles: [editor]", "roles: [admin]", "role-strengthened"),
        ("rate: 100/1min", "rate: 10/1min", "rate-lowered"),
        ("burst: 20", "burst: 5", "burst-lowered"),
        ("maxLength: 50", "maxLength: 20", "validation-tightened"),
        (
            "- oauth2: [pets:write]",
            "- oauth2: [pets:write, pets:read]",
            "scope-added",
        ),
        (
            "sunset: 2027-06-01T00:00:00Z",
            "sunset: 2028-06-01T00:00:00Z",
            "sunset-later",
        ),
    ] {
        let out = run(BASE, &change(from, to), &["--format", "json"], &[]);
        let findings = json(&out);
        assert_eq!(out.code, 0, "{kind}: {}", out.stdout);
        assert!(
            findings.iter().any(|f| f["kind"] == kind),
            "{kind}: {}",
            out.stdout
        );
        assert!(
            kinds(&findings, "security").is_empty(),
            "{kind}: {}",
            out.stdout
        );
    }
}

#[test]
fn fail_on_breaking_fails_on_a_removed_operation() {
    let new = change(
        "  /reports:\n    get:\n      operationId: getReports\n      security:\n        - bearerAuth: []\n      responses:\n        '200': { description: the reports }\n",
        "",
    );
    let default = run(BASE, &new, &["--format", "json"], &[]);
    assert_eq!(default.code, 0, "{}", default.stdout);
    let findings = json(&default);
    let removed = findings
        .iter()
        .find(|f| f["kind"] == "operation-removed")
        .unwrap();
    assert_eq!(removed["class"], "breaking");
    assert_eq!(removed["method"], "GET");
    assert_eq!(removed["path"], "/reports");
    // Reported in OLD, where the operation still is.
    assert_eq!(removed["file"], "old.yaml");
    assert_eq!(removed["line"], position(BASE, "operationId: getReports").0);

    let breaking = run(BASE, &new, &["--fail-on", "breaking"], &[]);
    assert_eq!(breaking.code, 1);
    assert!(
        breaking
            .stdout
            .contains("warning[operation-removed]: GET /reports (getReports)")
    );
    let none = run(
        BASE,
        &change("rate: 100/1min", "rate: 1000/1min"),
        &["--fail-on", "none"],
        &[],
    );
    assert_eq!(none.code, 0);
}

#[test]
fn breaking_changes_to_parameters_bodies_and_responses() {
    let cases = [
        (
            "        - name: limit\n          in: query\n",
            "        - name: limit\n          in: query\n          required: true\n",
            "required-parameter-added",
        ),
        (
            "      parameters:\n        - name: limit\n          in: query\n          schema: { type: integer, minimum: 1, maximum: 100 }\n",
            "",
            "parameter-removed",
        ),
        (
            "'201': { description: created }",
            "'202': { description: accepted }",
            "response-removed",
        ),
    ];
    for (from, to, kind) in cases {
        let out = run(
            BASE,
            &change(from, to),
            &["--format", "json", "--fail-on", "breaking"],
            &[],
        );
        assert_eq!(out.code, 1, "{kind}: {}", out.stdout);
        assert!(
            json(&out).iter().any(|f| f["kind"] == kind),
            "{kind}: {}",
            out.stdout
        );
    }
    // An optional body made required.
    let optional = change(
        "        required: true\n        content:",
        "        content:",
    );
    let out = run(&optional, BASE, &["--format", "json"], &[]);
    assert!(
        json(&out)
            .iter()
            .any(|f| f["kind"] == "request-body-required-added"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_spec_with_errors_exits_2_with_its_diagnostics() {
    let out = run(BASE, &change("roles: [editor]", "roles: [editr]"), &[], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`new.yaml` does not load"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("undeclared-role"), "{}", out.stderr);
    assert!(out.stderr.contains("new.yaml:"), "{}", out.stderr);
    assert!(out.stdout.is_empty());

    let missing = run_in(
        &args(&["nothing.yaml", "new.yaml"]),
        Path::new("/nonexistent-dir"),
    );
    assert_eq!(missing.code, 2);
}

#[test]
fn the_allowlist_accepts_exactly_the_listed_finding() {
    let new = change("rate: 100/1min", "rate: 1000/1min").replacen(
        "body-limit: 16KiB",
        "body-limit: 1MiB",
        1,
    );
    let accept = "[[accept]]\nkind = \"rate-raised\"\noperation = \"listPets\"\nreason = \"launch traffic\"\n";
    let out = run(
        BASE,
        &new,
        &["--accept", "accept.toml"],
        &[("accept.toml", accept)],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("note: accepted [rate-raised] GET /pets (listPets): rate raised from 100/min to 1000/min: launch traffic"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("error[body-limit-raised]: POST /pets (createPet)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("1 security regression, 0 breaking changes, 0 other changes (1 accepted)"),
        "{}",
        out.stdout
    );

    // Both accepted (one by `METHOD /path`), plus a stale entry: passes, with a warning.
    let accept_all = format!(
        "{accept}\n[[accept]]\nkind = \"body-limit-raised\"\noperation = \"post /pets\"\nreason = \"uploads\"\n\n[[accept]]\nkind = \"auth-removed\"\noperation = \"getReports\"\nreason = \"old\"\n"
    );
    let out = run(
        BASE,
        &new,
        &["--accept", "accept.toml"],
        &[("accept.toml", &accept_all)],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("warning: stale allowlist entry: kind `auth-removed`, operation `getReports` matches no finding (accept.toml:11)"),
        "{}",
        out.stdout
    );

    // JSON marks it; the stale warning goes to stderr.
    let out = run(
        BASE,
        &new,
        &["--accept", "accept.toml", "--format", "json"],
        &[("accept.toml", &accept_all)],
    );
    let findings = json(&out);
    assert!(
        findings.iter().all(|f| f["accepted"] == true),
        "{}",
        out.stdout
    );
    assert_eq!(findings[0]["reason"], "launch traffic");
    assert!(out.stderr.contains("stale allowlist entry"));

    // A reason is required.
    let out = run(
        BASE,
        &new,
        &["--accept", "accept.toml"],
        &[(
            "accept.toml",
            "[[accept]]\nkind = \"rate-raised\"\noperation = \"listPets\"\n",
        )],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("accept.toml:1: [[accept]] entry 1"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("`reason` is required"),
        "{}",
        out.stderr
    );
}

#[test]
fn lockout_is_compared_from_the_configurations() {
    let old = "realm = \"api\"\n\n[lockout]\nafter = \"5/15min\"\nenabled = true\n";
    let cases = [
        (
            old.replace("5/15min", "50/15min"),
            Some(("lockout-loosened", 4)),
        ),
        (
            old.replace("5/15min", "5/1min"),
            Some(("lockout-loosened", 4)),
        ),
        (
            old.replace("enabled = true", "enabled = false"),
            Some(("lockout-loosened", 5)),
        ),
        ("realm = \"api\"\n".to_owned(), None),
        (
            old.replace("5/15min", "3/15min"),
            Some(("lockout-tightened", 4)),
        ),
    ];
    for (new, expected) in cases {
        let out = run(
            BASE,
            BASE,
            &[
                "--format",
                "json",
                "--old-config",
                "old.toml",
                "--new-config",
                "new.toml",
            ],
            &[("old.toml", old), ("new.toml", &new)],
        );
        let findings = json(&out);
        match expected {
            None => {
                // The table removed: the default (5/15min) is what the old one said.
                assert_eq!(out.code, 0, "{new}: {}", out.stdout);
                assert!(findings.is_empty(), "{}", out.stdout);
            }
            Some((kind, line)) => {
                assert_eq!(
                    out.code,
                    u8::from(kind == "lockout-loosened"),
                    "{new}: {}",
                    out.stdout
                );
                assert_eq!(findings.len(), 1, "{}", out.stdout);
                assert_eq!(findings[0]["kind"], kind);
                assert_eq!(findings[0]["operation"], "(lockout)");
                assert_eq!(findings[0]["file"], "new.toml");
                assert_eq!(findings[0]["line"], line);
            }
        }
    }
    // A stricter table removed falls back to the looser default.
    let out = run(
        BASE,
        BASE,
        &["--old-config", "old.toml", "--new-config", "new.toml"],
        &[
            ("old.toml", "[lockout]\nafter = \"3/15min\"\n"),
            ("new.toml", ""),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    // Both or neither.
    assert!(Cli::try_parse_from(["diff", "a", "b", "--old-config", "x"]).is_err());
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SARIF_SCHEMA).expect("the SARIF schema is JSON");
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, log: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF log is invalid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_output_validates_against_the_schema() {
    let new = change("rate: 100/1min", "rate: 1000/1min")
        .replacen("roles: [editor]", "roles: [admin]", 1)
        .replacen("body-limit: 16KiB", "body-limit: 1MiB", 1);
    let accept = "[[accept]]\nkind = \"body-limit-raised\"\noperation = \"createPet\"\nreason = \"uploads\"\n";
    let out = run(
        BASE,
        &new,
        &["--format", "sarif", "--accept", "a.toml"],
        &[("a.toml", accept)],
    );
    assert_eq!(out.code, 1);
    let log: Value = serde_json::from_str(&out.stdout).unwrap();
    let validator = validator();
    assert_valid(&validator, &log);
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "rampart-diff");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(rules[index]["shortDescription"]["text"].is_string());
    }
    let rate = results
        .iter()
        .find(|r| r["ruleId"] == "rate-raised")
        .unwrap();
    assert_eq!(rate["level"], "error");
    let (line, column) = position(&new, "1000/1min");
    let region = &rate["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (&region["startLine"], &region["startColumn"]),
        (&line.into(), &column.into())
    );
    assert_eq!(
        rate["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "new.yaml"
    );
    let role = results
        .iter()
        .find(|r| r["ruleId"] == "role-strengthened")
        .unwrap();
    assert_eq!(role["level"], "warning");
    let body = results
        .iter()
        .find(|r| r["ruleId"] == "body-limit-raised")
        .unwrap();
    assert_eq!(body["suppressions"][0]["justification"], "uploads");

    // The validator is not vacuous; an empty log validates too.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
    let empty: Value = serde_json::from_str(&run_sarif_empty()).unwrap();
    assert_valid(&validator, &empty);
}

fn run_sarif_empty() -> String {
    run(BASE, BASE, &["--format", "sarif"], &[]).stdout
}

#[test]
fn github_output_is_workflow_commands() {
    let new = change("rate: 100/1min", "rate: 1000/1min").replacen(
        "roles: [editor]",
        "roles: [admin]",
        1,
    );
    let out = run(BASE, &new, &["--format", "github"], &[]);
    assert_eq!(out.code, 1);
    let (line, column) = position(&new, "1000/1min");
    let expected = format!(
        "::error file=new.yaml,line={line},col={column},title=rampart diff rate-raised::GET /pets (listPets): rate raised from 100/min to 1000/min\n"
    );
    assert!(out.stdout.contains(&expected), "{}", out.stdout);
    assert!(
        out.stdout.contains("::warning file=new.yaml,")
            && out
                .stdout
                .contains("title=rampart diff role-strengthened::"),
        "{}",
        out.stdout
    );
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
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
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn git_revisions_are_read_with_git_show() {
    let repo = Scratch::new("git");
    // The base split in two files: the schema lives beside the spec.
    let schemas =
        "NewPet:\n  type: object\n  properties:\n    name: { type: string, maxLength: 50 }\n";
    let spec = |max: &str| {
        change(
            "            schema: { $ref: '#/components/schemas/NewPet' }",
            "            schema: { $ref: 'schemas.yaml#/NewPet' }",
        )
        .replacen("rate: 100/1min", &format!("rate: {max}"), 1)
    };
    std::fs::create_dir_all(repo.path().join("specs")).unwrap();
    repo.write("specs/api.yaml", &spec("100/1min"));
    repo.write("specs/schemas.yaml", schemas);
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "base"]);
    repo.write("specs/api.yaml", &spec("1000/1min"));
    repo.write("specs/schemas.yaml", &schemas.replace("50", "500"));

    let out = run_in(
        &args(&[
            "git:HEAD:specs/api.yaml",
            "specs/api.yaml",
            "--format",
            "json",
        ]),
        repo.path(),
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let findings = json(&out);
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"rate-raised"), "{kinds:?}");
    // The sibling file was read at the revision too.
    let loosened = findings
        .iter()
        .find(|f| f["kind"] == "validation-loosened")
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(
        loosened["message"]
            .as_str()
            .unwrap()
            .contains("maxLength raised from 50 to 500")
    );

    // Unchanged at HEAD: nothing to report.
    let same = run_in(
        &args(&["git:HEAD:specs/api.yaml", "git:HEAD:specs/api.yaml"]),
        repo.path(),
    );
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    // An unknown revision or path is exit 2.
    let bad = run_in(
        &args(&["git:nope:specs/api.yaml", "specs/api.yaml"]),
        repo.path(),
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("git show nope:specs/api.yaml"),
        "{}",
        bad.stderr
    );
    // Diagnostics of a broken old revision name it `git:REV:PATH`.
    repo.write(
        "specs/api.yaml",
        &spec("100/1min").replacen("roles: [editor]", "roles: [editr]", 1),
    );
    git(repo.path(), &["commit", "-q", "-am", "broken"]);
    let broken = run_in(
        &args(&["git:HEAD:specs/api.yaml", "specs/api.yaml"]),
        repo.path(),
    );
    assert_eq!(broken.code, 2);
    assert!(
        broken.stderr.contains("git:HEAD:specs/api.yaml"),
        "{}",
        broken.stderr
    );
}

#[test]
fn every_kind_has_a_unique_id_and_summary() {
    for (i, kind) in Kind::ALL.iter().enumerate() {
        assert_eq!(Kind::from_id(kind.id()), Some(*kind));
        assert!(Kind::ALL[..i].iter().all(|k| k.id() != kind.id()));
        assert!(!kind.summary().is_empty());
        assert!(
            kind.id()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-')
        );
    }
}

#[test]
fn recursive_schemas_are_compared_once() {
    let spec = |max: u32| {
        format!(
            "openapi: 3.0.3\ninfo: {{ title: t, version: '1' }}\nsecurity: [{{ k: [] }}]\n\
             components:\n  securitySchemes: {{ k: {{ type: apiKey, in: header, name: X-Key }} }}\n  schemas:\n\
             \x20   Tree:\n      type: object\n      properties:\n        name: {{ type: string, maxLength: {max} }}\n\
             \x20       children: {{ type: array, items: {{ $ref: '#/components/schemas/Tree' }} }}\n\
             \x20       parent: {{ $ref: '#/components/schemas/Tree' }}\n\
             paths:\n  /trees:\n    post:\n      requestBody:\n        content:\n          application/json:\n\
             \x20           schema: {{ $ref: '#/components/schemas/Tree' }}\n      responses: {{ '204': {{ description: ok }} }}\n"
        )
    };
    let out = run(&spec(5), &spec(9), &["--format", "json"], &[]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let findings = json(&out);
    assert_eq!(findings.len(), 1, "{}", out.stdout);
    assert_eq!(findings[0]["kind"], "validation-loosened");
    assert_eq!(findings[0]["operation"], "post_trees");
}

/// OpenAPI 3.1 documents are compared as they are enforced: the version
/// bump alone is no change, and 3.1's own spellings of a loosening (a type
/// list gaining `null`, a numeric `exclusiveMaximum` raised) are reported.
#[test]
fn openapi_31_documents_are_compared_too() {
    let base31 = BASE.replacen("openapi: 3.0.3", "openapi: 3.1.0", 1);
    assert_ne!(base31, BASE);
    let bumped = run(BASE, &base31, &[], &[]);
    assert_eq!(bumped.code, 0, "{}{}", bumped.stdout, bumped.stderr);
    assert_eq!(
        bumped.stdout,
        "0 security regressions, 0 breaking changes, 0 other changes\n"
    );
    let with_bound = base31.replacen(
        "schema: { type: integer, minimum: 1, maximum: 100 }",
        "schema: { type: integer, minimum: 1, exclusiveMaximum: 100 }",
        1,
    );
    assert_ne!(with_bound, base31);
    for (from, to) in [
        ("maxLength: 50", "maxLength: 500"),
        ("exclusiveMaximum: 100 }", "exclusiveMaximum: 1000 }"),
        (
            "label: { type: string, maxLength: 20 }",
            "label: { type: [string, 'null'], maxLength: 20 }",
        ),
    ] {
        assert_eq!(with_bound.matches(from).count(), 1, "{from}");
        let new = with_bound.replacen(from, to, 1);
        let out = run(&with_bound, &new, &["--format", "json"], &[]);
        assert_eq!(out.code, 1, "{from} -> {to}: {}{}", out.stdout, out.stderr);
        assert_eq!(
            kinds(&json(&out), "security"),
            ["validation-loosened"],
            "{from} -> {to}: {}",
            out.stdout
        );
    }
}
