//! SARIF 2.1.0 output (`--format sarif`), shaped like the lint's
//! (`rampart_spec::lint::sarif`): one run of the tool `rampart-diff`, one
//! rule per kind that occurs, one result per finding; accepted findings
//! carry an external suppression with the allowlist's reason.

use rampart_spec::lint::sarif_uri;
use serde_json::{Value, json};

use super::finding::{Finding, Kind};

/// The schema URI written into every log.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF log of the findings.
pub(crate) fn sarif(findings: &[Finding]) -> Value {
    let mut kinds: Vec<Kind> = Vec::new();
    for f in findings {
        if !kinds.contains(&f.kind) {
            kinds.push(f.kind);
        }
    }
    let rules: Vec<Value> = kinds
        .iter()
        .map(|k| {
            json!({
                "id": k.id(),
                "shortDescription": { "text": k.summary() },
                "defaultConfiguration": { "level": k.class().level() },
                "properties": { "tags": [k.class().as_str()], "class": k.class().as_str() },
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.kind.id(),
                "ruleIndex": kinds.iter().position(|k| *k == f.kind).unwrap_or_default(),
                "level": f.class().level(),
                "message": { "text": f.headline() },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": sarif_uri(&f.at.artifact) },
                        "region": {
                            "startLine": f.at.line.max(1),
                            "startColumn": f.at.column.max(1),
                        }
                    }
                }],
                "properties": {
                    "class": f.class().as_str(),
                    "operation": f.subject.operation(),
                    "old": f.old,
                    "new": f.new,
                },
            });
            if let Some(reason) = &f.accepted {
                result["suppressions"] = json!([{ "kind": "external", "justification": reason }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "rampart-diff",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}
