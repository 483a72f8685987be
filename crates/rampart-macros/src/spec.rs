//! Reading a spec at compile time: the path is relative to the crate's
//! `CARGO_MANIFEST_DIR`; load errors and deny-level lint findings become
//! compile errors quoting the spec's `file:line:col` and the offending line;
//! every file read is tracked with `include_bytes!` so an edit rebuilds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use proc_macro2::TokenStream;
use quote::quote;
use rampart_spec::suggest::did_you_mean;
use rampart_spec::{ApiModel, Severity, SourceFiles};
use syn::LitStr;

/// A spec loaded for a macro.
pub(crate) struct Spec {
    pub(crate) model: Arc<ApiModel>,
    /// The spec as written in the macro (for messages).
    pub(crate) display: String,
    /// Every file read, absolute, for `include_bytes!`.
    pub(crate) files: Vec<PathBuf>,
}

impl Spec {
    /// Items that make the crate recompile when a spec file changes.
    pub(crate) fn tracking(&self) -> TokenStream {
        let files = self.files.iter().map(|f| f.display().to_string());
        quote! {
            #(const _: &[u8] = ::core::include_bytes!(#files);)*
        }
    }
}

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Load and lint the spec `lit` names; errors point at `lit`.
pub(crate) fn load(lit: &LitStr) -> syn::Result<Spec> {
    let written = lit.value();
    let root = manifest_dir();
    let path = root.join(&written);
    if !path.is_file() {
        return Err(syn::Error::new(lit.span(), missing_file(&written, &path)));
    }
    if let Some((model, files)) = cached(&path) {
        return Ok(Spec {
            model,
            display: written,
            files,
        });
    }
    let loaded = rampart_spec::load_file(&path);
    let diagnostics = rampart_spec::lint::lint_loaded(&loaded);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| relative(&d.render(&loaded.files), &root))
        .collect();
    let files = file_paths(&loaded.files);
    match loaded.model {
        Some(model) if errors.is_empty() => {
            let model = Arc::new(model);
            remember(path, model.clone(), files.clone());
            Ok(Spec {
                model,
                display: written,
                files,
            })
        }
        _ => {
            let count = errors.len().max(1);
            let plural = if count == 1 { "" } else { "s" };
            Err(syn::Error::new(
                lit.span(),
                format!(
                    "the spec `{written}` has {count} error{plural}; fix the spec (see `cargo xtask check` and `cargo xtask lint`):\n\n{}",
                    errors.join("\n").trim_end()
                ),
            ))
        }
    }
}

/// When and how big the spec file was: a cached model is reused only while
/// these are unchanged.
type Stamp = Option<(SystemTime, u64)>;

/// Per root spec: the stamps of every file it read, the model, the files.
type Cache = HashMap<PathBuf, (Vec<Stamp>, Arc<ApiModel>, Vec<PathBuf>)>;

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

/// The cached model of `path`, if no file it read has changed since (a
/// long-lived proc-macro server, as in an IDE, sees spec edits too).
fn cached(path: &Path) -> Option<(Arc<ApiModel>, Vec<PathBuf>)> {
    let cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    let (seen, model, files) = cache.get(path)?;
    let current: Vec<Stamp> = files.iter().map(|f| stamp(f)).collect();
    (current == *seen && seen.iter().all(Option::is_some)).then(|| (model.clone(), files.clone()))
}

fn remember(path: PathBuf, model: Arc<ApiModel>, files: Vec<PathBuf>) {
    let stamps = files.iter().map(|f| stamp(f)).collect();
    let mut cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    cache.insert(path, (stamps, model, files));
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
