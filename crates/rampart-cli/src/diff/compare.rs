//! The comparison: both specs loaded ([`Side`]), operations matched by
//! method and path template, and every concern's comparison run on each
//! pair ([`super::policy`], [`super::schema`]).

use std::collections::{HashMap, HashSet};

use rampart_api::ApiDescriptor;
use rampart_spec::node::Node;
use rampart_spec::source::{SourceFiles, Span};
use rampart_spec::{ApiModel, Loaded, Operation};

use super::finding::{Finding, Kind, Place, Subject};
use super::{api, inputs, limits, policy};

/// One loaded spec: the model, its files (for positions) and the
/// descriptor (what the runtime enforces).
pub(crate) struct Side {
    /// The model.
    pub(crate) model: ApiModel,
    /// The files it was read from.
    pub(crate) files: SourceFiles,
    /// `model.descriptor()`.
    pub(crate) api: ApiDescriptor,
}

impl Side {
    /// From a load without errors; the rendered diagnostics otherwise.
    pub(crate) fn new(loaded: Loaded) -> Result<Side, String> {
        let (model, files, _) = loaded.into_result()?;
        let api = model.descriptor();
        Ok(Side { model, files, api })
    }

    /// Where a span is, as named on the command line.
    pub(crate) fn place(&self, span: Span) -> Place {
        let count = self.files.iter().count();
        let span = if span.file < count {
            span
        } else {
            Span::default()
        };
        if count == 0 {
            return Place {
                file: String::new(),
                artifact: String::new(),
                line: 1,
                column: 1,
            };
        }
        let location = self.files.location(span);
        Place {
            artifact: artifact(&location.file),
            file: location.file,
            line: location.line,
            column: location.column,
        }
    }

    /// The operation's node in the document.
    pub(crate) fn node(&self, op: &Operation) -> Option<&Node> {
        self.model.root.pointer(&op.pointer)
    }

    /// The top-level `x-rampart` node.
    pub(crate) fn extension(&self) -> Option<&Node> {
        self.model.root.get("x-rampart")
    }
}

/// `git:REV:PATH` → `PATH`; a file path unchanged.
fn artifact(file: &str) -> String {
    file.strip_prefix("git:")
        .and_then(|rest| rest.split_once(':'))
        .map_or_else(|| file.to_owned(), |(_, path)| path.to_owned())
}

/// The findings of one comparison, as they are made.
pub(crate) struct Diff<'a> {
    /// OLD.
    pub(crate) old: &'a Side,
    /// NEW.
    pub(crate) new: &'a Side,
    /// Everything found so far.
    pub(crate) findings: Vec<Finding>,
}

impl Diff<'_> {
    /// Record a finding.
    pub(crate) fn push(
        &mut self,
        kind: Kind,
        subject: &Subject,
        old: impl Into<String>,
        new: impl Into<String>,
        message: impl Into<String>,
        at: Place,
    ) {
        self.findings.push(Finding {
            kind,
            subject: subject.clone(),
            old: old.into(),
            new: new.into(),
            message: message.into(),
            at,
            accepted: None,
        });
    }
}

/// The subject of an operation.
pub(crate) fn subject(op: &Operation) -> Subject {
    Subject::Operation {
        id: op.id.clone(),
        method: op.method.to_ascii_uppercase(),
        path: op.path.clone(),
    }
}

/// How operations are matched: upper-case method and the path template with
/// parameter names left out (`/pets/{}`), so renaming a path parameter or
/// an operationId is no change.
fn key(op: &Operation) -> (String, String) {
    let mut path = String::with_capacity(op.path.len());
    let mut in_param = false;
    for c in op.path.chars() {
        match c {
            '{' => {
                in_param = true;
                path.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => path.push(c),
        }
    }
    (op.method.to_ascii_uppercase(), path)
}

/// Every finding between OLD and NEW, security regressions first, each
/// class in document order.
pub(crate) fn compare(old: &Side, new: &Side) -> Vec<Finding> {
    let mut diff = Diff {
        old,
        new,
        findings: Vec::new(),
    };
    limits::defaults(&mut diff);
    api::cors(&mut diff);
    api::redaction(&mut diff);
    api::scheme_settings(&mut diff);

    let old_by_key: HashMap<(String, String), &Operation> = old
        .model
        .operations
        .iter()
        .map(|op| (key(op), op))
        .collect();
    let mut matched: HashSet<(String, String)> = HashSet::new();
    for op in &new.model.operations {
        let k = key(op);
        match old_by_key.get(&k) {
            Some(before) => {
                policy::operation(&mut diff, before, op);
                inputs::operation(&mut diff, before, op);
            }
            None => policy::added(&mut diff, op),
        }
        matched.insert(k);
    }
    for op in &old.model.operations {
        if !matched.contains(&key(op)) {
            let at = old.place(op.span);
            diff.push(
                Kind::OperationRemoved,
                &subject(op),
                "present",
                "(absent)",
                "operation removed",
                at,
            );
        }
    }
    let mut findings = diff.findings;
    findings.sort_by_key(|f| std::cmp::Reverse(f.class()));
    findings
}

#[cfg(test)]
mod tests {
    use super::artifact;

    #[test]
    fn artifacts_drop_the_revision() {
        assert_eq!(artifact("git:origin/main:specs/api.yaml"), "specs/api.yaml");
        assert_eq!(artifact("specs/api.yaml"), "specs/api.yaml");
    }
}
