//! Helpers shared by the integration tests: load a spec from text, pick out
//! diagnostics by code, and say where they point.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use rampart_spec::{Diagnostic, Loaded, Severity, load_str};

/// The development corpus shared by the project (`/work/shared/corpus`).
pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
}

/// The OpenAPI 3.1/3.2 corpus, beside the 3.0 one.
#[allow(dead_code)]
pub(crate) fn corpus31_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus31"
    ))
}

/// `specs/` at the workspace root.
pub(crate) fn specs_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../specs"))
}

/// `tests/fixtures/` of this crate.
pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// Load `text` as if read from `spec.yaml`.
pub(crate) fn load(text: &str) -> Loaded {
    load_str("spec.yaml", text.to_owned())
}

/// A minimal valid head for specs written inline in tests: 3 lines
/// (`openapi`, `info`, and the first line of whatever follows).
pub(crate) const HEAD: &str = "openapi: 3.0.3\ninfo: { title: Test, version: '1.0' }\n";

/// Every diagnostic with `code`.
pub(crate) fn with_code<'a>(loaded: &'a Loaded, code: &str) -> Vec<&'a Diagnostic> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .collect()
}

/// The one diagnostic with `code`; fails (showing every diagnostic) if there
/// is none or more than one.
pub(crate) fn only<'a>(loaded: &'a Loaded, code: &str) -> &'a Diagnostic {
    let found = with_code(loaded, code);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one `{code}` diagnostic, got {}:\n{}",
        found.len(),
        loaded.render()
    );
    found[0]
}

/// `(line, column)` of a diagnostic, 1-based, column in characters.
pub(crate) fn line_col(loaded: &Loaded, d: &Diagnostic) -> (usize, usize) {
    let span = d
        .span
        .unwrap_or_else(|| panic!("`{}` has no span:\n{}", d.code, loaded.render()));
    let location = loaded.files.location(span);
    (location.line, location.column)
}

/// The text a diagnostic's span covers.
pub(crate) fn spanned_text<'a>(loaded: &'a Loaded, d: &Diagnostic) -> &'a str {
    let span = d.span.expect("diagnostic has a span");
    let file = loaded.files.get(span.file);
    &file.text[span.start as usize..span.end as usize]
}

/// Assert the spec has exactly one error, with `code`, a message containing
/// every phrase in `phrases`, at `line:col` of `spec.yaml`; returns it.
#[track_caller]
pub(crate) fn assert_error<'a>(
    loaded: &'a Loaded,
    code: &str,
    phrases: &[&str],
    (line, col): (usize, usize),
) -> &'a Diagnostic {
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error (`{code}`), got:\n{}",
        loaded.render()
    );
    let d = errors[0];
    assert_eq!(d.code, code, "wrong code:\n{}", loaded.render());
    for phrase in phrases {
        assert!(
            d.message.contains(phrase),
            "message {:?} lacks {phrase:?}",
            d.message
        );
    }
    assert_eq!(
        line_col(loaded, d),
        (line, col),
        "wrong position:\n{}",
        loaded.render()
    );
    d
}

/// Assert loading succeeded without errors; returns the model.
#[track_caller]
pub(crate) fn assert_clean(loaded: &Loaded) -> &rampart_spec::ApiModel {
    assert!(
        !loaded.has_errors(),
        "unexpected errors:\n{}",
        loaded.render()
    );
    loaded
        .model
        .as_ref()
        .expect("a model when there are no errors")
}
