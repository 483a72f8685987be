//! Loading a spec: read, parse with positions, check the OpenAPI version,
//! bundle and check `$ref`s, build `openapiv3` types, then the `ApiModel`.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::dialect::{self, Dialect};
use crate::model::{self, ApiModel};
use crate::node::{Node, NodeKind};
use crate::refs;
use crate::source::{FileId, SourceFile, SourceFiles, Span};
use crate::yaml;

/// The outcome of loading a spec: the files read, the model (if the spec could
/// be understood at all) and every diagnostic found.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The spec and every file its refs reached.
    pub files: SourceFiles,
    /// The model; `None` when errors prevented building one.
    pub model: Option<ApiModel>,
    /// Errors and warnings, sorted by position.
    pub diagnostics: Diagnostics,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }

    /// Every diagnostic rendered in rustc's style.
    pub fn render(&self) -> String {
        self.diagnostics
            .iter()
            .map(|d| d.render(&self.files))
            .collect()
    }

    /// The model, or the rendered diagnostics when there are errors.
    pub fn into_result(self) -> Result<(ApiModel, SourceFiles, Diagnostics), String> {
        if self.has_errors() {
            return Err(self.render());
        }
        match self.model {
            Some(model) => Ok((model, self.files, self.diagnostics)),
            None => Err(self.render()),
        }
    }
}

/// Load a spec from a file (YAML or JSON, by content).
pub fn load_file(path: impl AsRef<Path>) -> Loaded {
    let path = path.as_ref();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(path, text),
        Err(e) => {
            let mut diagnostics = Diagnostics::default();
            diagnostics.push(
                Diagnostic::error(
                    "unreadable-file",
                    format!("cannot read `{}`: {e}", path.display()),
                )
                .help("check the path; relative paths are resolved from the current directory"),
            );
            Loaded {
                files: SourceFiles::default(),
                model: None,
                diagnostics,
            }
        }
    }
}

/// Load a spec from text; `path` names it in diagnostics and anchors relative `$ref`s.
pub fn load_str(path: impl Into<PathBuf>, text: String) -> Loaded {
    let mut files = SourceFiles::default();
    let mut diagnostics = Diagnostics::default();
    let id = files.add(path, text);
    let model = load_root(&mut files, id, &mut diagnostics);
    diagnostics.sort();
    Loaded {
        files,
        model,
        diagnostics,
    }
}

fn load_root(files: &mut SourceFiles, id: FileId, diags: &mut Diagnostics) -> Option<ApiModel> {
    let mut root = parse_file(files, id).map_err(|d| diags.push(d)).ok()?;
    let dialect = check_version(&root, &files.get(id).text, diags)?;
    let mut loader = |files: &mut SourceFiles, path: &Path| -> Result<(FileId, Node), Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::error(
                "missing-ref",
                format!("cannot read `{}` named by a `$ref`: {e}", path.display()),
            )
        })?;
        let id = files.add(path, text);
        parse_file(files, id).map(|node| (id, node))
    };
    refs::bundle(files, &mut root, &mut loader, diags);
    // A 3.1/3.2 document is served as it was written (the model reads the
    // 3.0 shape below).
    let written = (dialect != Dialect::V30).then(|| root.to_json());
    dialect::normalize(&mut root, dialect, diags);
    refs::validate(&root, diags);
    if diags.has_errors() {
        return None;
    }
    // Deserializing and building the model recurse as deep as the spec
    // nests, with large frames: give them a big stack.
    let mut root = Some(root);
    let mut build = |diags: &mut Diagnostics| -> Option<ApiModel> {
        let root = root.take()?;
        let openapi = deserialize(&root, diags)?;
        Some(model::build(openapi, root, dialect, diags))
    };
    let mut model = match on_big_stack(|| build(diags)) {
        Some(model) => model,
        None => build(diags),
    }?;
    model.written = written;
    Some(model)
}

/// Stack for deserializing the `openapiv3` types and building the model.
/// The derived (untagged, flattened) deserializers take tens of KiB of stack
/// per level of nesting in debug builds, so a schema nested as deep as the
/// YAML reader allows (`MAX_DEPTH`) needs ~16 MiB: more than a test thread
/// (2 MiB) or a main thread (8 MiB) has. Only the pages used are touched.
const BIG_STACK: usize = 64 << 20;

/// Run `f` on a thread with [`BIG_STACK`]; `None` if no thread could be
/// started (`f` did not run). A panic in `f` is resumed on this thread.
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("rampart-spec-load".to_owned())
            .stack_size(BIG_STACK)
            .spawn_scoped(scope, f)
            .ok()?;
        match handle.join() {
            Ok(result) => Some(result),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Parse one file into a tree; syntax errors carry the position of the fault.
fn parse_file(files: &SourceFiles, id: FileId) -> Result<Node, Diagnostic> {
    let file = files.get(id);
    // By extension, else by content; a `.yaml` file written in flow style
    // (`{openapi: 3.0.3, ...}`) is YAML, not (invalid) JSON.
    let extension = file.path.extension().and_then(|e| e.to_str());
    let is_json = match extension.map(str::to_ascii_lowercase).as_deref() {
        Some("json") => true,
        Some("yaml" | "yml") => false,
        _ => file.text.trim_start().starts_with('{'),
    };
    if is_json {
        // serde_json reports JSON syntax errors more precisely than a YAML parser would.
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&file.text) {
            let offset = json_offset(file, e.line(), e.column());
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            return Err(
                Diagnostic::error("syntax", format!("invalid JSON: {message}"))
                    .at(Span::new(id, offset, offset + 1))
                    .label("here"),
            );
        }
    }
    yaml::parse(&file.text, id).map_err(|e| {
        Diagnostic::error(
            "syntax",
            format!(
                "invalid {}: {}",
                if is_json { "JSON" } else { "YAML" },
                e.message
            ),
        )
        .at(e.span)
        .label("here")
    })
}

/// Byte offset of serde_json's error position. Its 1-based column counts
/// bytes, not characters; land on the start of the character it falls in.
fn json_offset(file: &SourceFile, line: usize, column: usize) -> usize {
    let start = file.offset_of(line, 0);
    let line_len = file.line_text(line).len();
    let mut offset = (start + column.saturating_sub(1).min(line_len)).min(file.text.len());
    while !file.text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A version scalar as written (`2.0` stays `2.0`, not the number 2).
fn version_text(node: &Node, text: &str) -> String {
    match &node.kind {
        NodeKind::Int(_) | NodeKind::Float(_) => text
            .get(node.span.start as usize..node.span.end as usize)
            .map(str::to_owned)
            .or_else(|| node.scalar_text())
            .unwrap_or_default(),
        _ => node.scalar_text().unwrap_or_default(),
    }
}

fn check_version(root: &Node, text: &str, diags: &mut Diagnostics) -> Option<Dialect> {
    if root.entries().is_none() {
        diags.push(
            Diagnostic::error(
                "not-openapi",
                format!(
                    "a spec must be a mapping at the top level, found {}",
                    root.describe()
                ),
            )
            .at(root.span),
        );
        return None;
    }
    if let Some(swagger) = root.get("swagger") {
        let found = version_text(swagger, text);
        diags.push(
            Diagnostic::error(
                "unsupported-version",
                format!("found Swagger {found}; rampart supports OpenAPI 3.0, 3.1 and 3.2"),
            )
            .at(swagger.span)
            .help("convert the spec to OpenAPI 3 first (e.g. with swagger2openapi)"),
        );
        return None;
    }
    let Some(version) = root.get("openapi") else {
        diags.push(
            Diagnostic::error(
                "not-openapi",
                "missing the `openapi` field; rampart supports OpenAPI 3.0, 3.1 and 3.2",
            )
            .at(root.span)
            .help("start the document with `openapi: 3.1.1` (or the 3.0/3.2 version it is written in)"),
        );
        return None;
    };
    let text = version_text(version, text);
    if let Some(dialect) = Dialect::of(&text) {
        return Some(dialect);
    }
    diags.push(
        Diagnostic::error(
            "unsupported-version",
            format!("found OpenAPI {text}; rampart supports OpenAPI 3.0.x, 3.1.x and 3.2.x"),
        )
        .at(version.span)
        .label("unsupported version")
        .help("write the version the document follows, e.g. `openapi: 3.1.1`"),
    );
    None
}

fn deserialize(root: &Node, diags: &mut Diagnostics) -> Option<openapiv3::OpenAPI> {
    let json = root.to_json();
    match serde_path_to_error::deserialize::<_, openapiv3::OpenAPI>(json) {
        Ok(spec) => Some(spec),
        Err(e) => {
            let (node, _) = locate(root, e.path());
            let message = e.inner().to_string();
            diags.push(
                Diagnostic::error("invalid-openapi", format!("{message} (at `{}`)", e.path()))
                    .at(node.span)
                    .help("see the OpenAPI 3.0 specification for the shape of this object"),
            );
            None
        }
    }
}

/// The deepest node reached by a serde path.
fn locate<'a>(root: &'a Node, path: &serde_path_to_error::Path) -> (&'a Node, Option<String>) {
    use serde_path_to_error::Segment;
    let mut node = root;
    let mut last_key = None;
    for segment in path.iter() {
        let next = match segment {
            Segment::Map { key } => {
                last_key = Some(key.clone());
                node.get(key)
            }
            Segment::Seq { index } => node.items().and_then(|i| i.get(*index)),
            Segment::Enum { .. } | Segment::Unknown => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    (node, last_key)
}
