//! `lint::sarif` output validates against the OASIS SARIF 2.1.0 JSON schema
//! (checked in under `tests/fixtures/sarif/`) and says what the findings say.

use std::path::Path;

use rampart_spec::lint;
use rampart_spec::{Diagnostics, Loaded, Severity, SourceFiles};
use serde_json::Value;

const SCHEMA: &str = include_str!("../fixtures/sarif/sarif-schema-2.1.0.json");

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).expect("the SARIF schema is JSON");
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

fn load(path: &str) -> (Loaded, Diagnostics) {
    let loaded = rampart_spec::load_file(path);
    let findings = lint::lint_loaded(&loaded);
    (loaded, findings)
}

fn manifest(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn sarif_log_validates_and_mirrors_the_findings() {
    let specs = [
        manifest("../../specs/petstore.yaml"),
        manifest("tests/fixtures/lint/owasp-api4-rate-limit/fail.yaml"),
        manifest("tests/fixtures/lint/rampart-undeclared-role/fail.yaml"),
        manifest("../../../shared/corpus/oai-uspto.yaml"),
    ];
    let linted: Vec<(Loaded, Diagnostics)> = specs.iter().map(|s| load(s)).collect();
    let inputs: Vec<(&SourceFiles, &Diagnostics)> =
        linted.iter().map(|(l, d)| (&l.files, d)).collect();
    let log = lint::sarif(&inputs);

    assert_valid(&validator(), &log);

    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "rampart-lint");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), lint::RULES.len());
    assert_eq!(rules[0]["id"], lint::RULES[0].id);

    let results = run["results"].as_array().unwrap();
    let all: Vec<(&Loaded, &rampart_spec::Diagnostic)> = linted
        .iter()
        .flat_map(|(l, d)| d.iter().map(move |x| (l, x)))
        .collect();
    assert_eq!(results.len(), all.len());
    assert!(results.len() > 40, "expected findings from every spec");
    for (result, (loaded, d)) in results.iter().zip(&all) {
        assert_eq!(result["ruleId"], d.code);
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        assert_eq!(result["level"], level);
        assert_eq!(result["message"]["text"], d.message.as_str());
        match lint::RULES.iter().position(|r| r.id == d.code) {
            Some(i) => assert_eq!(result["ruleIndex"], i),
            None => assert!(result.get("ruleIndex").is_none()),
        }
        let at = loaded.files.location(d.span.unwrap());
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], at.line);
        assert_eq!(region["startColumn"], at.column);
    }

    // A rate-limit error from the fixture, with its exact region.
    let rate = results
        .iter()
        .find(|r| {
            r["ruleId"] == "owasp-api4-rate-limit"
                && r["level"] == "error"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .ends_with("owasp-api4-rate-limit/fail.yaml")
        })
        .expect("rate-limit error in SARIF");
    let region = &rate["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (&region["startLine"], &region["startColumn"]),
        (&8.into(), &9.into())
    );
    assert_eq!(
        (&region["endLine"], &region["endColumn"]),
        (&8.into(), &14.into())
    );
}

#[test]
fn the_schema_rejects_a_broken_log() {
    // The validator is not vacuous: a log with an unknown level fails.
    let (loaded, findings) = load(&manifest(
        "tests/fixtures/lint/owasp-api2-no-http-basic/fail.yaml",
    ));
    let mut log = lint::sarif(&[(&loaded.files, &findings)]);
    let validator = validator();
    assert_valid(&validator, &log);
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
    // Formats are checked too: `$schema` must be an absolute URI.
    log["$schema"] = "not a uri".into();
    assert!(!validator.is_valid(&log));
}

#[test]
fn empty_log_validates() {
    let log = lint::sarif(&[]);
    assert_valid(&validator(), &log);
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 0);
}
