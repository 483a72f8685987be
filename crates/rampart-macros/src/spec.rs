//! Reading a spec at compile time: the path is relative to the crate's
//! `CARGO_MANIFEST_DIR`; load errors and deny-level lint findings become
//! compile errors, one per finding, each naming the spec's `file:line:col`;
//! every file read is tracked with `include_bytes!` so an edit rebuilds.
//!
//! A spec with errors that still loaded into a model is returned with its
//! findings, so the macro checks its own arguments too: a misspelt operation
//! id is reported next to the spec's findings, not hidden behind them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use rampart_spec::suggest::did_you_mean;
use rampart_spec::{ApiModel, Diagnostic, Severity, SourceFiles};
use syn::LitStr;

/// At most this many of a spec's errors are reported per macro use; the rest
/// are counted (`cargo xtask lint` lists them all).
const MAX_REPORTED: usize = 10;

/// A spec loaded for a macro.
pub(crate) struct Spec {
    pub(crate) model: Arc<ApiModel>,
    /// The spec as written in the macro (for messages).
    pub(crate) display: String,
    /// Every file read, absolute, for `include_bytes!`.
    pub(crate) files: Vec<PathBuf>,
    /// The spec's errors (loader errors and deny-level lint findings), one
    /// line each; empty for a spec that passes.
    findings: Arc<Findings>,
    /// Where to report the findings: the spec literal.
    span: Span,
}

/// A spec's errors, rendered once per spec (and cached with the model).
#[derive(Default)]
struct Findings {
    /// `file:line:col: error[code]: message` and the help, one per error.
    errors: Vec<String>,
    /// Whether the loader itself reported an error (the model may be partial).
    loader: bool,
}

impl Spec {
    /// Items that make the crate recompile when a spec file changes.
    pub(crate) fn tracking(&self) -> TokenStream {
        let files = self.files.iter().map(|f| f.display().to_string());
        quote! {
            #(const _: &[u8] = ::core::include_bytes!(#files);)*
        }
    }

    /// The spec's errors as compile errors at the spec literal, or `None`
    /// when the spec passes.
    pub(crate) fn errors(&self) -> Option<syn::Error> {
        report(&self.display, &self.findings.errors, self.span)
    }

    /// The spec's errors, if any, followed by `mistakes` (the macro's own).
    pub(crate) fn errors_then(&self, mistakes: syn::Error) -> syn::Error {
        match self.errors() {
            Some(mut all) => {
                all.combine(mistakes);
                all
            }
            None => mistakes,
        }
    }

    /// Whether the loader built the model without errors (only lint findings,
    /// if any): the generator can then expand it as `cargo xtask generate`
    /// would.
    pub(crate) fn loaded_cleanly(&self) -> bool {
        !self.findings.loader
    }
}

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Load and lint the spec `lit` names. `Err` (at `lit`) only when there is no
/// model: the file is missing or the spec did not load. A spec that loaded
/// but has errors is `Ok`, with [`Spec::errors`].
pub(crate) fn load(lit: &LitStr) -> syn::Result<Spec> {
    let written = lit.value();
    let root = manifest_dir();
    let path = root.join(&written);
    if !path.is_file() {
        return Err(syn::Error::new(lit.span(), missing_file(&written, &path)));
    }
    let spec = |(model, files, findings)| Spec {
        model,
        display: written.clone(),
        files,
        findings,
        span: lit.span(),
    };
    if let Some(cached) = cached(&path) {
        return Ok(spec(cached));
    }
    let loaded = rampart_spec::load_file(&path);
    let diagnostics = rampart_spec::lint::lint_loaded(&loaded);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| one_line(d, &loaded.files, &root, &written))
        .collect();
    let findings = Arc::new(Findings {
        errors,
        loader: loaded.has_errors(),
    });
    let files = file_paths(&loaded.files);
    match loaded.model {
        Some(model) => {
            let model = Arc::new(model);
            remember(path, model.clone(), files.clone(), findings.clone());
            Ok(spec((model, files, findings)))
        }
        None => {
            let errors = if findings.errors.is_empty() {
                vec![format!("{written}: error: the spec did not load")]
            } else {
                findings.errors.clone()
            };
            Err(report(&written, &errors, lit.span()).expect("at least one error"))
        }
    }
}

/// One error per finding at `span`, the first [`MAX_REPORTED`] of them, then
/// how many more there are.
fn report(written: &str, errors: &[String], span: Span) -> Option<syn::Error> {
    let mut all: Option<syn::Error> = None;
    let mut add = |message: &str| {
        let error = syn::Error::new(span, message);
        match &mut all {
            Some(all) => all.combine(error),
            None => all = Some(error),
        }
    };
    for error in errors.iter().take(MAX_REPORTED) {
        add(error);
    }
    if errors.len() > MAX_REPORTED {
        let more = errors.len() - MAX_REPORTED;
        add(&format!(
            "the spec `{written}` has {more} more error{} ({} in all; the first {MAX_REPORTED} are above)\nhelp: `cargo xtask lint {written}` lists them all",
            if more == 1 { "" } else { "s" },
            errors.len()
        ));
    }
    all
}

/// `file:line:col: error[code]: message`, then the help: a finding as one
/// compile error. A proc macro can only point at Rust code, so the spec's
/// position is written out; the file is named as the crate sees it.
fn one_line(d: &Diagnostic, files: &SourceFiles, root: &Path, written: &str) -> String {
    let place = match d.span {
        Some(span) => {
            let at = files.location(span);
            format!("{}:{}:{}", relative(&at.file, root), at.line, at.column)
        }
        None => written.to_owned(),
    };
    let mut line = format!(
        "{place}: {}[{}]: {}",
        d.severity,
        d.code,
        relative(&d.message, root)
    );
    if let Some(help) = &d.help {
        line.push_str("\nhelp: ");
        line.push_str(&relative(help, root));
    }
    line
}

/// When and how big the spec file was: a cached model is reused only while
/// these are unchanged.
type Stamp = Option<(SystemTime, u64)>;

/// What a spec loaded to: its model, the files it read, its errors.
type Entry = (Arc<ApiModel>, Vec<PathBuf>, Arc<Findings>);

/// Per root spec: the stamps of every file it read, and what it loaded to.
type Cache = HashMap<PathBuf, (Vec<Stamp>, Entry)>;

/// Specs already loaded and linted by this compiler process: a crate with
/// many `#[operation]` handlers reads a large spec once, not once per handler.
fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The cached load of `path`, if no file it read has changed since (a
/// long-lived proc-macro server, as in an IDE, sees spec edits too).
fn cached(path: &Path) -> Option<Entry> {
    let cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    let (seen, entry) = cache.get(path)?;
    let current: Vec<Stamp> = entry.1.iter().map(|f| stamp(f)).collect();
    (current == *seen && seen.iter().all(Option::is_some)).then(|| entry.clone())
}

fn remember(path: PathBuf, model: Arc<ApiModel>, files: Vec<PathBuf>, findings: Arc<Findings>) {
    let stamps = files.iter().map(|f| stamp(f)).collect();
    let mut cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    cache.insert(path, (stamps, (model, files, findings)));
}

fn missing_file(written: &str, path: &Path) -> String {
    let nearby = path
        .parent()
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "cannot find the spec file `{written}`{}\nhelp: the path is relative to the crate's directory (CARGO_MANIFEST_DIR, where its Cargo.toml is)",
        did_you_mean(&name, nearby.iter().map(String::as_str))
    )
}

/// Diagnostics name files by their absolute path; show them as written.
fn relative(text: &str, root: &Path) -> String {
    let mut prefix = root.display().to_string();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    text.replace(&prefix, "")
}

fn file_paths(files: &SourceFiles) -> Vec<PathBuf> {
    files
        .iter()
        .map(|(_, f)| f.path.clone())
        .filter(|p| p.is_absolute())
        .collect()
}
