//! The findings as text: rustc-style (`human`), JSON lines (`json`),
//! GitHub workflow commands (`github`); SARIF is in [`super::sarif`].

use std::fmt::Write as _;

use serde_json::json;

use super::accept::Accepted;
use super::finding::{Class, Finding};

/// `1 security regression, 2 breaking changes, 0 other changes`, with the
/// accepted findings counted apart.
pub(crate) fn summary(findings: &[Finding]) -> String {
    let count = |class: Class| {
        findings
            .iter()
            .filter(|f| f.accepted.is_none() && f.class() == class)
            .count()
    };
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut out = format!(
        "{}, {}, {}",
        plural(
            count(Class::Security),
            "security regression",
            "security regressions"
        ),
        plural(
            count(Class::Breaking),
            "breaking change",
            "breaking changes"
        ),
        plural(count(Class::Info), "other change", "other changes"),
    );
    let accepted = findings.iter().filter(|f| f.accepted.is_some()).count();
    if accepted > 0 {
        let _ = write!(out, " ({accepted} accepted)");
    }
    out
}

fn stale_message(path: &str, entry: &Accepted) -> String {
    format!(
        "stale allowlist entry: kind `{}`, operation `{}` matches no finding",
        entry.kind.id(),
        entry.operation
    ) + &format!(" ({path}:{})", entry.line)
}

/// rustc-style text.
pub(crate) fn human(findings: &[Finding], stale: &[Accepted], accept_path: &str) -> String {
    let mut out = String::new();
    for f in findings {
        match &f.accepted {
            None => {
                let _ = writeln!(
                    out,
                    "{}[{}]: {}",
                    f.class().level(),
                    f.kind.id(),
                    f.headline()
                );
            }
            Some(reason) => {
                let _ = writeln!(
                    out,
                    "note: accepted [{}] {}: {reason}",
                    f.kind.id(),
                    f.headline()
                );
            }
        }
        let _ = writeln!(out, "  --> {}\n", f.at);
    }
    for entry in stale {
        let _ = writeln!(out, "warning: {}\n", stale_message(accept_path, entry));
    }
    let _ = writeln!(out, "{}", summary(findings));
    out
}

/// One JSON object a line.
pub(crate) fn json_lines(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let (method, path) = match &f.subject {
            super::finding::Subject::Operation { method, path, .. } => (json!(method), json!(path)),
            _ => (json!(null), json!(null)),
        };
        let line = json!({
            "kind": f.kind.id(),
            "class": f.class().as_str(),
            "operation": f.subject.operation(),
            "method": method,
            "path": path,
            "old": f.old,
            "new": f.new,
            "file": f.at.file,
            "line": f.at.line,
            "column": f.at.column,
            "message": f.headline(),
            "accepted": f.accepted.is_some(),
            "reason": f.accepted,
        });
        let _ = writeln!(out, "{line}");
    }
    out
}

/// The stale entries, for formats whose stdout is only findings.
pub(crate) fn stale_text(stale: &[Accepted], accept_path: &str) -> String {
    stale
        .iter()
        .map(|e| format!("warning: {}\n", stale_message(accept_path, e)))
        .collect()
}

/// GitHub's escaping of a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a workflow command's property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub workflow commands (`::error file=...::message`), then the summary.
pub(crate) fn github(findings: &[Finding], stale: &[Accepted], accept_path: &str) -> String {
    let mut out = String::new();
    for f in findings {
        let (command, title, message) = match &f.accepted {
            None => (
                match f.class() {
                    Class::Security => "error",
                    Class::Breaking => "warning",
                    Class::Info => "notice",
                },
                format!("rampart diff {}", f.kind.id()),
                f.headline(),
            ),
            Some(reason) => (
                "notice",
                format!("rampart diff {} (accepted)", f.kind.id()),
                format!("{} (accepted: {reason})", f.headline()),
            ),
        };
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},title={}::{}",
            escape_property(&f.at.artifact),
            f.at.line,
            f.at.column,
            escape_property(&title),
            escape_data(&message)
        );
    }
    for entry in stale {
        let _ = writeln!(
            out,
            "::warning file={},line={},title={}::{}",
            escape_property(accept_path),
            entry.line,
            escape_property("rampart diff stale allowlist entry"),
            escape_data(&stale_message(accept_path, entry))
        );
    }
    let _ = writeln!(out, "{}", summary(findings));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escapes() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
