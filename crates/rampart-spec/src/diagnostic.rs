//! Diagnostics: what is wrong, where (`file:line:col`), and how to fix it.
//!
//! Rendering uses `codespan-reporting` in rustc's style:
//!
//! ```text
//! error[unknown-key]: unknown key `rols` in x-rampart; did you mean `roles`?
//!   --> specs/petstore.yaml:12:7
//!    |
//! 12 |       rols: [admin]
//!    |       ^^^^ not a key of x-rampart
//! ```

use std::ops::Range;

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;
use serde::Serialize;

use crate::source::{FileId, SourceFiles, Span};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational only.
    Info,
    /// Worth fixing; does not fail a check.
    Warning,
    /// Fails the check or build.
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding about a spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error, warning or info.
    pub severity: Severity,
    /// Stable code, e.g. `unknown-key`.
    pub code: &'static str,
    /// One line saying what is wrong, quoting the offending text.
    pub message: String,
    /// Where it is; `None` only for problems with no place (an unreadable file).
    pub span: Option<Span>,
    /// Short text under the caret.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Attach a span.
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// Attach a label shown under the caret.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Attach a help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Render in rustc's style, with the source line and a caret.
    pub fn render(&self, files: &SourceFiles) -> String {
        let mut diag = cs::Diagnostic::new(match self.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
            Severity::Info => cs::Severity::Note,
        })
        .with_code(self.code)
        .with_message(&self.message);
        if let Some(span) = self.span {
            let label = cs::Label::primary(span.file, span.start as usize..span.end as usize);
            diag = diag.with_labels(vec![match &self.label {
                Some(text) => label.with_message(text),
                None => label,
            }]);
        }
        if let Some(help) = &self.help {
            diag = diag.with_notes(vec![format!("help: {help}")]);
        }
        let config = term::Config {
            chars: term::Chars::ascii(),
            ..term::Config::default()
        };
        term::emit_into_string(&config, &CodespanFiles(files), &diag)
            .unwrap_or_else(|_| format!("{}[{}]: {}\n", self.severity, self.code, self.message))
    }

    /// The JSON object printed by `--format json`.
    pub fn to_json(&self, files: &SourceFiles) -> serde_json::Value {
        let location = self.span.map(|s| files.location(s));
        serde_json::json!({
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": location.as_ref().map(|l| l.file.clone()),
            "line": location.as_ref().map(|l| l.line),
            "column": location.as_ref().map(|l| l.column),
            "help": self.help,
        })
    }
}

/// A list of diagnostics gathered while loading or checking a spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Add one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Whether any is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Iterate.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sort by file and position, so output is stable, and drop exact
    /// duplicates (a problem in the top-level `security` is found once for
    /// every operation that inherits it, but is one problem).
    pub fn sort(&mut self) {
        let position = |d: &Diagnostic| d.span.map_or((usize::MAX, 0), |s| (s.file, s.start));
        self.0.sort_by(|a, b| {
            position(a)
                .cmp(&position(b))
                .then_with(|| a.code.cmp(b.code))
                .then_with(|| a.message.cmp(&b.message))
        });
        self.0.dedup();
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

struct CodespanFiles<'a>(&'a SourceFiles);

impl<'a> Files<'a> for CodespanFiles<'a> {
    type FileId = FileId;
    type Name = String;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<String, FilesError> {
        Ok(self.0.get(id).path.display().to_string())
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(&self.0.get(id).text)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        Ok(self.0.get(id).line_col(byte_index).0 - 1)
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        let file = self.0.get(id);
        let start = file.offset_of(line_index + 1, 0);
        let text = file.line_text(line_index + 1);
        Ok(start..(start + text.len() + 1).min(file.text.len()))
    }
}
