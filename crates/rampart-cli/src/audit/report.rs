//! The audit's findings and their three renderings: human, JSON lines, SARIF 2.1.0.

use std::collections::BTreeMap;
use std::io::{self, Write};

use rampart_spec::{SourceFiles, Span};
use serde_json::{Value, json};

use super::plan::Check;

/// The schema URI written into every SARIF log.
const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail,
    Skip,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
        }
    }
}

/// One check result. Never holds a credential: `expected` and `got` say
/// statuses and header names or values of the server's answers only.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) check: Check,
    /// The operationId; `None` for checks of the whole API.
    pub(crate) operation: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) path: Option<String>,
    /// Where the operation is written in the spec.
    pub(crate) span: Option<Span>,
    pub(crate) outcome: Outcome,
    pub(crate) expected: String,
    /// What the server answered; for a skip, why it was not probed.
    pub(crate) got: String,
}

impl Finding {
    fn subject(&self) -> &str {
        self.operation.as_deref().unwrap_or("*")
    }

    fn message(&self) -> String {
        match self.outcome {
            Outcome::Skip => format!("not probed: {}", self.got),
            _ => format!("expected {}, got {}", self.expected, self.got),
        }
    }
}

/// Counts per outcome.
pub(crate) fn totals(findings: &[Finding]) -> (usize, usize, usize) {
    let count = |o: Outcome| findings.iter().filter(|f| f.outcome == o).count();
    (
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Skip),
    )
}

/// One line per failure and skip (and per pass with `verbose`), then a summary per check.
pub(crate) fn human(
    out: &mut impl Write,
    findings: &[Finding],
    verbose: bool,
    header: &str,
) -> io::Result<()> {
    writeln!(out, "{header}")?;
    for f in findings {
        let word = match f.outcome {
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
            Outcome::Pass if verbose => "PASS",
            Outcome::Pass => continue,
        };
        let detail = match f.outcome {
            Outcome::Skip => f.got.clone(),
            _ => format!("expected {}, got {}", f.expected, f.got),
        };
        writeln!(out, "{word} {} {}: {detail}", f.subject(), f.check.id())?;
    }
    let mut per_check: BTreeMap<Check, [usize; 3]> = BTreeMap::new();
    for f in findings {
        let slot = match f.outcome {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Skip => 2,
        };
        per_check.entry(f.check).or_default()[slot] += 1;
    }
    let (passed, failed, skipped) = totals(findings);
    writeln!(
        out,
        "\naudit: {passed} passed, {failed} failed, {skipped} skipped ({} checks)",
        findings.len()
    )?;
    for check in Check::ALL {
        if let Some([p, f, s]) = per_check.get(&check) {
            writeln!(
                out,
                "  {:<20} {p} passed, {f} failed, {s} skipped",
                check.id()
            )?;
        }
    }
    Ok(())
}

/// One JSON object per check result, one per line.
pub(crate) fn json_lines(out: &mut impl Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        let mut object = json!({
            "check": f.check.id(),
            "operation": f.operation,
            "method": f.method,
            "path": f.path,
            "result": f.outcome.word(),
            "expected": f.expected,
        });
        match f.outcome {
            Outcome::Skip => object["reason"] = json!(f.got),
            _ => object["got"] = json!(f.got),
        }
        writeln!(out, "{object}")?;
    }
    Ok(())
}

/// A file path as a relative URI reference.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char);
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// One SARIF 2.1.0 log: every check a rule, every result with `kind`
/// `pass`, `fail` or `notApplicable` (skipped) and a location in the spec.
pub(crate) fn sarif(findings: &[Finding], files: &SourceFiles, spec: &str, base: &str) -> Value {
    let rules: Vec<Value> = Check::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.id(),
                "shortDescription": { "text": c.summary() },
                "defaultConfiguration": { "level": "error" },
                "properties": { "tags": ["security", "audit"] },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let (kind, level) = match f.outcome {
                Outcome::Pass => ("pass", "none"),
                Outcome::Fail => ("fail", "error"),
                Outcome::Skip => ("notApplicable", "none"),
            };
            let mut physical = json!({ "artifactLocation": { "uri": uri(spec) } });
            if let Some(span) = f.span {
                let file = files.get(span.file);
                let (line, column) = file.line_col(span.start as usize);
                physical = json!({
                    "artifactLocation": { "uri": uri(&file.path.display().to_string()) },
                    "region": { "startLine": line, "startColumn": column },
                });
            }
            let mut location = json!({ "physicalLocation": physical });
            if let Some(op) = &f.operation {
                location["logicalLocations"] = json!([{
                    "name": op,
                    "kind": "function",
                    "fullyQualifiedName": format!(
                        "{} {}",
                        f.method.as_deref().unwrap_or(""),
                        f.path.as_deref().unwrap_or("")
                    ),
                }]);
            }
            json!({
                "ruleId": f.check.id(),
                "ruleIndex": Check::ALL.iter().position(|c| *c == f.check),
                "kind": kind,
                "level": level,
                "message": { "text": format!("{} {}: {}", f.subject(), f.check.id(), f.message()) },
                "locations": [location],
                "properties": { "expected": f.expected, "got": f.got },
            })
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "rampart-audit",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": true,
                "properties": { "base": base },
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(outcome: Outcome) -> Finding {
        Finding {
            check: Check::NoCredentials,
            operation: Some("listPets".into()),
            method: Some("GET".into()),
            path: Some("/pets".into()),
            span: None,
            outcome,
            expected: "401 with WWW-Authenticate".into(),
            got: "200".into(),
        }
    }

    #[test]
    fn human_lines_name_operation_and_check() {
        let mut out = Vec::new();
        human(
            &mut out,
            &[finding(Outcome::Fail), finding(Outcome::Pass)],
            false,
            "audit of x",
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "FAIL listPets no-credentials: expected 401 with WWW-Authenticate, got 200\n"
            ),
            "{text}"
        );
        assert!(!text.contains("PASS"), "{text}");
        assert!(
            text.contains("audit: 1 passed, 1 failed, 0 skipped (2 checks)"),
            "{text}"
        );
        assert!(
            text.contains("no-credentials       1 passed, 1 failed, 0 skipped"),
            "{text}"
        );
    }

    #[test]
    fn json_and_sarif_hold_every_result() {
        let findings = [finding(Outcome::Fail), finding(Outcome::Skip)];
        let mut out = Vec::new();
        json_lines(&mut out, &findings).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["result"], "fail");
        assert_eq!(lines[0]["got"], "200");
        assert_eq!(lines[1]["result"], "skip");
        assert_eq!(lines[1]["reason"], "200");

        let log = sarif(
            &findings,
            &SourceFiles::default(),
            "specs/pet store.yaml",
            "http://x",
        );
        assert_eq!(log["version"], "2.1.0");
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results[0]["kind"], "fail");
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[1]["kind"], "notApplicable");
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "specs/pet%20store.yaml"
        );
        assert_eq!(
            results[0]["locations"][0]["logicalLocations"][0]["name"],
            "listPets"
        );
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .len(),
            Check::ALL.len()
        );
    }
}
