//! The allowlist (`--accept FILE`): findings a reviewer accepted, each
//! with a reason.
//!
//! ```toml
//! [[accept]]
//! kind = "rate-raised"
//! operation = "listPets"        # the operationId, `GET /pets`, or `(default)`, `(cors)`, ...
//! reason = "launch traffic"     # required, not empty
//! ```
//!
//! An accepted finding is still reported (as accepted, with its reason)
//! but does not fail the gate; an entry that matches no finding is stale
//! and reported as a warning, which does not fail either.

use serde::Deserialize;

use rampart_api::suggest::did_you_mean;

use super::finding::{Finding, Kind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    accept: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    kind: String,
    operation: String,
    reason: Option<String>,
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// Its kind.
    pub(crate) kind: Kind,
    /// The operationId, `METHOD /path`, or a bracketed subject.
    pub(crate) operation: String,
    /// Why it is accepted.
    pub(crate) reason: String,
    /// 1-based line of its `[[accept]]` header.
    pub(crate) line: usize,
}

/// A read allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allowlist {
    /// The file, as given.
    pub(crate) path: String,
    /// Its entries, in order.
    pub(crate) entries: Vec<Accepted>,
}

/// Read an allowlist; an error names the file and the entry.
pub(crate) fn read(path: &str, text: &str) -> Result<Allowlist, String> {
    let file: File = toml::from_str(text)
        .map_err(|e| format!("{path}: not a valid allowlist: {}", e.message().trim()))?;
    let headers: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[accept]]"))
        .map(|(i, _)| i + 1)
        .collect();
    let mut entries = Vec::new();
    for (i, entry) in file.accept.into_iter().enumerate() {
        let line = headers.get(i).copied().unwrap_or(1);
        let which = format!(
            "{path}:{line}: [[accept]] entry {} (kind = \"{}\", operation = \"{}\")",
            i + 1,
            entry.kind,
            entry.operation
        );
        let Some(kind) = Kind::from_id(entry.kind.trim()) else {
            return Err(format!(
                "{which}: unknown kind `{}`{}",
                entry.kind,
                did_you_mean(&entry.kind, Kind::ALL.iter().map(|k| k.id()))
            ));
        };
        let reason = entry.reason.unwrap_or_default();
        if reason.trim().is_empty() {
            return Err(format!(
                "{which}: `reason` is required and must not be empty: say why this change is accepted"
            ));
        }
        if entry.operation.trim().is_empty() {
            return Err(format!("{which}: `operation` must not be empty"));
        }
        entries.push(Accepted {
            kind,
            operation: entry.operation.trim().to_owned(),
            reason: reason.trim().to_owned(),
            line,
        });
    }
    Ok(Allowlist {
        path: path.to_owned(),
        entries,
    })
}

impl Allowlist {
    /// Mark the findings an entry accepts; the entries that accept none.
    pub(crate) fn apply(&self, findings: &mut [Finding]) -> Vec<Accepted> {
        let mut stale = Vec::new();
        for entry in &self.entries {
            let mut used = false;
            for f in findings.iter_mut() {
                if f.kind == entry.kind && f.subject.matches(&entry.operation) {
                    if f.accepted.is_none() {
                        f.accepted = Some(entry.reason.clone());
                    }
                    used = true;
                }
            }
            if !used {
                stale.push(entry.clone());
            }
        }
        stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowlist_in_the_docs_loads() {
        let docs = include_str!("../../../../docs/diff.md");
        let block: String = docs
            .split("```toml\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .find(|b| b.starts_with("[[accept]]"))
            .expect("docs/diff.md shows an allowlist")
            .to_owned();
        let list = read("docs/diff.md", &block).unwrap();
        assert!(!list.entries.is_empty());
    }

    #[test]
    fn entries_need_a_known_kind_and_a_reason() {
        let ok = read(
            "a.toml",
            "[[accept]]\nkind = \"rate-raised\"\noperation = \"listPets\"\nreason = \"launch\"\n",
        )
        .unwrap();
        assert_eq!(ok.entries[0].kind, Kind::RateRaised);
        assert_eq!(ok.entries[0].line, 1);

        let err = read(
            "a.toml",
            "[[accept]]\nkind = \"rate-raised\"\noperation = \"x\"\nreason = \"r\"\n\n[[accept]]\nkind = \"rate-raised\"\noperation = \"listPets\"\nreason = \"  \"\n",
        )
        .unwrap_err();
        assert!(err.starts_with("a.toml:6: [[accept]] entry 2"), "{err}");
        assert!(err.contains("`reason` is required"), "{err}");

        let err = read(
            "a.toml",
            "[[accept]]\nkind = \"rate-raise\"\noperation = \"x\"\nreason = \"r\"\n",
        )
        .unwrap_err();
        assert!(err.contains("did you mean `rate-raised`"), "{err}");

        let err = read(
            "a.toml",
            "[[accept]]\nkind = \"rate-raised\"\nreason = \"r\"\n",
        )
        .unwrap_err();
        assert!(err.contains("operation"), "{err}");
        assert!(read("a.toml", "").unwrap().entries.is_empty());
    }
}
