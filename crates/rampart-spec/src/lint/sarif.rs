//! SARIF 2.1.0 output, for code-scanning dashboards.

use serde_json::{Value, json};

use super::{Origin, RULES};
use crate::diagnostic::{Diagnostics, Severity};
use crate::source::SourceFiles;

/// The schema URI written into every log.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A SARIF 2.1.0 log with one run holding the findings of every spec given
/// (each with the files its spans point into). Every rule of the registry is
/// listed under `tool.driver.rules`; findings of loader checks (which are not
/// lint rules) carry their code as `ruleId` without a `ruleIndex`.
pub fn sarif(specs: &[(&SourceFiles, &Diagnostics)]) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            let mut properties = json!({
                "tags": ["security", r.category],
                "category": r.category,
            });
            if let Origin::Owasp(spectral) = r.origin {
                properties["spectral"] = json!(spectral);
            }
            if let Some(lowering) = r.lowering {
                properties["lowering"] = json!({
                    "level": level(lowering.severity),
                    "when": lowering.when,
                });
            }
            json!({
                "id": r.id,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.rationale },
                "help": { "text": r.fix },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": properties,
            })
        })
        .collect();

    let mut results = Vec::new();
    for (files, diagnostics) in specs {
        for d in diagnostics.iter() {
            let mut result = json!({
                "ruleId": d.code,
                "level": level(d.severity),
                "message": { "text": d.message },
            });
            if let Some(index) = RULES.iter().position(|r| r.id == d.code) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(help) = &d.help {
                result["properties"] = json!({ "help": help });
            }
            if let Some(span) = d.span {
                let file = files.get(span.file);
                let (start_line, start_column) = file.line_col(span.start as usize);
                let (end_line, end_column) = file.line_col(span.end as usize);
                result["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&file.path.display().to_string()) },
                        "region": {
                            "startLine": start_line,
                            "startColumn": start_column,
                            "endLine": end_line,
                            "endColumn": end_column.max(if end_line == start_line { start_column } else { 1 }),
                        }
                    }
                }]);
            }
            results.push(result);
        }
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "rampart-lint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://owasp.org/API-Security/editions/2023/en/0x11-t10/",
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// A file path as a relative URI reference for a SARIF `artifactLocation`:
/// `/` kept, other reserved or non-ASCII bytes percent-encoded, `\` turned
/// into `/`. Also what `rampart-cli`'s diff writes in its SARIF logs.
pub fn uri(path: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn uris_are_escaped() {
        assert_eq!(uri("specs/pet store.yaml"), "specs/pet%20store.yaml");
        assert_eq!(uri("../a/b.yaml"), "../a/b.yaml");
        assert_eq!(uri("C:\\x\\y.yaml"), "C%3A/x/y.yaml");
    }
}
