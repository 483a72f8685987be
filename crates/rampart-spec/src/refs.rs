//! `$ref` handling: files next to the spec are bundled into the root document
//! (so everything downstream sees local refs only), then every local ref is
//! checked to point somewhere, and chains of refs that only point at each
//! other are reported as cycles. Recursive *schemas* are fine and left alone.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::node::{Key, Node, NodeKind, escape_pointer_token, unescape_pointer_token};
use crate::source::{FileId, SourceFiles, Span};
use crate::suggest::did_you_mean;

/// Most inlining steps before external refs are declared cyclic.
const MAX_INLINES: usize = 10_000;

/// Reads and parses a file reached by an external `$ref`.
pub(crate) type FileLoader<'a> =
    dyn FnMut(&mut SourceFiles, &Path) -> Result<(FileId, Node), Diagnostic> + 'a;

/// Bundle external refs into `root` (file 0), rewriting them to local ones.
pub(crate) fn bundle(
    files: &mut SourceFiles,
    root: &mut Node,
    loader: &mut FileLoader<'_>,
    diags: &mut Diagnostics,
) {
    let taken = root
        .get("components")
        .and_then(Node::entries)
        .unwrap_or_default()
        .iter()
        .flat_map(|(kind, section)| {
            section
                .entries()
                .unwrap_or_default()
                .iter()
                .map(|(name, _)| (kind.text.clone(), name.text.clone()))
        })
        .collect();
    let mut state = Bundler {
        docs: HashMap::new(),
        hoisted: HashMap::new(),
        taken,
        inlining: Vec::new(),
        rewritten: HashMap::new(),
        inlines: 0,
    };
    loop {
        let mut pending = Vec::new();
        let mut changed = false;
        state.walk(files, root, None, loader, diags, &mut pending, &mut changed);
        for (kind, name, node, span) in pending {
            insert_component(root, &kind, &name, node, span);
        }
        if !changed {
            break;
        }
    }
}

struct Bundler {
    docs: HashMap<PathBuf, Option<(FileId, Node)>>,
    /// External targets copied into the root's `components`, with the local ref to them.
    hoisted: HashMap<(FileId, String), String>,
    /// `(section, name)` pairs used in the root's `components`, so a hoisted
    /// target never takes the name of a different component.
    taken: HashSet<(String, String)>,
    /// The external targets being inlined, outermost first: a ref back to one
    /// of them is recursion, which inlining would never finish.
    inlining: Vec<(FileId, String)>,
    /// Ref sites already rewritten to root-local form, with the text written there.
    rewritten: HashMap<Span, String>,
    inlines: usize,
}

type Pending = Vec<(String, String, Node, Span)>;

impl Bundler {
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        files: &mut SourceFiles,
        node: &mut Node,
        parent: Option<&str>,
        loader: &mut FileLoader<'_>,
        diags: &mut Diagnostics,
        pending: &mut Pending,
        changed: &mut bool,
    ) {
        if let Some(reference) = ref_of(node) {
            let (text, span) = (reference.0.to_owned(), reference.1);
            if self.rewritten.get(&span) == Some(&text) {
                return;
            }
            if let Some(replacement) = self.external(files, &text, span, loader, diags, pending) {
                match replacement {
                    Replace::Ref(local) => {
                        self.rewritten.insert(span, local.clone());
                        set_ref(node, local);
                    }
                    Replace::Inline(target, key) => {
                        self.inlines += 1;
                        if self.inlines > MAX_INLINES {
                            diags.push(
                                Diagnostic::error("ref-cycle", format!("external `$ref: {text}` never ends (a cycle)"))
                                    .at(span)
                                    .help("move the recursive schema under `components` in its file so it can be referenced by name"),
                            );
                            set_ref(node, "#/".to_owned());
                        } else {
                            *node = target;
                            self.inlining.push(key);
                            self.walk(files, node, parent, loader, diags, pending, changed);
                            self.inlining.pop();
                        }
                    }
                }
                *changed = true;
            }
            return;
        }
        match &mut node.kind {
            NodeKind::Map(entries) => {
                let example = is_example_object(entries);
                for (k, v) in entries.iter_mut() {
                    if !is_literal_data(&k.text, parent, example) {
                        self.walk(files, v, Some(&k.text), loader, diags, pending, changed);
                    }
                }
            }
            NodeKind::Seq(items) => {
                for v in items.iter_mut() {
                    self.walk(files, v, parent, loader, diags, pending, changed);
                }
            }
            _ => {}
        }
    }

    /// What to do with a ref written in `span.file`; `None` when it is already local to the root.
    fn external(
        &mut self,
        files: &mut SourceFiles,
        text: &str,
        span: Span,
        loader: &mut FileLoader<'_>,
        diags: &mut Diagnostics,
        pending: &mut Pending,
    ) -> Option<Replace> {
        let (file_part, pointer) = text.split_once('#').unwrap_or((text, ""));
        if file_part.is_empty() && span.file == 0 {
            return None;
        }
        if file_part.starts_with("http://") || file_part.starts_with("https://") {
            diags.push(
                Diagnostic::error("remote-ref", format!("`$ref: {text}` points at a URL; rampart never fetches specs over the network"))
                    .at(span)
                    .help("download the document next to the spec and reference it by relative path"),
            );
            return Some(Replace::Ref("#/".to_owned()));
        }
        let target_file = if file_part.is_empty() {
            span.file
        } else {
            let base = files
                .get(span.file)
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let path = normalize(&base.join(file_part));
            if path == normalize(&files.get(0).path) {
                0
            } else {
                let entry =
                    self.docs
                        .entry(path.clone())
                        .or_insert_with(|| match loader(files, &path) {
                            Ok(doc) => Some(doc),
                            Err(d) => {
                                diags.push(d.at(span));
                                None
                            }
                        });
                match entry {
                    Some((id, _)) => *id,
                    None => return Some(Replace::Ref("#/".to_owned())),
                }
            }
        };
        if target_file == 0 {
            return Some(Replace::Ref(format!("#{pointer}")));
        }
        let key = (target_file, pointer.to_owned());
        if let Some(local) = self.hoisted.get(&key) {
            return Some(Replace::Ref(local.clone()));
        }
        let doc = self
            .docs
            .values()
            .flatten()
            .find(|(id, _)| *id == target_file)
            .map(|(_, n)| n)?;
        let Some(target) = doc.pointer(pointer).cloned() else {
            diags.push(missing(text, pointer, doc, span));
            return Some(Replace::Ref("#/".to_owned()));
        };
        let segments: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(unescape_pointer_token)
            .collect();
        let (kind, name) = match segments.as_slice() {
            [components, kind, name] if components == "components" => (kind.clone(), name.clone()),
            // A ref back to a target still being inlined: a recursive schema
            // written outside `components` (typically a whole file that refers
            // to itself). Give it a name instead of inlining it forever.
            _ if self.inlining.contains(&key) => {
                let name = match segments.last() {
                    Some(last) => last.clone(),
                    None => files
                        .get(target_file)
                        .path
                        .file_stem()
                        .map_or_else(|| "Schema".to_owned(), |s| s.to_string_lossy().into_owned()),
                };
                ("schemas".to_owned(), component_name(&name))
            }
            _ => return Some(Replace::Inline(target, key)),
        };
        let name = self.unique_name(&kind, &name);
        let local = format!(
            "#/components/{}/{}",
            escape_pointer_token(&kind),
            escape_pointer_token(&name)
        );
        self.hoisted.insert(key, local.clone());
        pending.push((kind, name, target, span));
        Some(Replace::Ref(local))
    }

    /// `name`, or `name_2`, `name_3`, ... if the root already has a different
    /// component of that name.
    fn unique_name(&mut self, kind: &str, name: &str) -> String {
        let mut candidate = name.to_owned();
        let mut n = 1;
        while !self.taken.insert((kind.to_owned(), candidate.clone())) {
            n += 1;
            candidate = format!("{name}_{n}");
        }
        candidate
    }
}

/// A component name made of the characters OpenAPI allows (`[A-Za-z0-9._-]`).
fn component_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "Schema".to_owned()
    } else {
        name
    }
}

enum Replace {
    Ref(String),
    /// Inline this target, identified by file and pointer.
    Inline(Node, (FileId, String)),
}

fn normalize(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The `$ref` string and its span, if `node` is a reference object.
pub(crate) fn ref_of(node: &Node) -> Option<(&str, Span)> {
    let value = node.get("$ref")?;
    Some((value.as_str()?, value.span))
}

fn set_ref(node: &mut Node, target: String) {
    if let NodeKind::Map(entries) = &mut node.kind {
        for (k, v) in entries.iter_mut() {
            if k.text == "$ref" {
                v.kind = NodeKind::Str(target);
                return;
            }
        }
    }
}

fn insert_component(root: &mut Node, kind: &str, name: &str, value: Node, span: Span) {
    let components = child_map(root, "components", span);
    let kind_map = child_map(components, kind, span);
    if let NodeKind::Map(entries) = &mut kind_map.kind
        && !entries.iter().any(|(k, _)| k.text == name)
    {
        entries.push((
            Key {
                text: name.to_owned(),
                span,
            },
            value,
        ));
    }
}

fn child_map<'a>(node: &'a mut Node, key: &str, span: Span) -> &'a mut Node {
    let NodeKind::Map(entries) = &mut node.kind else {
        unreachable!("bundling only inserts into mappings");
    };
    let index = match entries.iter().position(|(k, _)| k.text == key) {
        Some(i) => i,
        None => {
            entries.push((
                Key {
                    text: key.to_owned(),
                    span,
                },
                Node {
                    kind: NodeKind::Map(Vec::new()),
                    span,
                },
            ));
            entries.len() - 1
        }
    };
    let child = &mut entries[index].1;
    if !matches!(child.kind, NodeKind::Map(_)) {
        child.kind = NodeKind::Map(Vec::new());
    }
    child
}

fn missing(text: &str, pointer: &str, doc: &Node, span: Span) -> Diagnostic {
    // Find the deepest existing parent to suggest a sibling name.
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    let suggestion = doc
        .pointer(parent)
        .and_then(Node::entries)
        .map(|entries| {
            did_you_mean(
                &unescape_pointer_token(last),
                entries.iter().map(|(k, _)| k.text.as_str()),
            )
        })
        .unwrap_or_default();
    Diagnostic::error(
        "missing-ref",
        format!("`$ref: {text}` points at nothing{suggestion}"),
    )
    .at(span)
    .label("no such target")
    .help("a local reference looks like `#/components/schemas/Name`")
}

/// Check every (now local) ref in `root` points somewhere, and that no chain of refs loops.
pub(crate) fn validate(root: &Node, diags: &mut Diagnostics) {
    let mut refs = Vec::new();
    collect(root, None, &mut refs);
    let mut reported_cycles = HashSet::new();
    for (text, span) in refs {
        if text == "#/" {
            continue; // already reported while bundling
        }
        let pointer = text.strip_prefix('#').unwrap_or(&text);
        if root.pointer(pointer).is_none() {
            diags.push(missing(&text, pointer, root, span));
            continue;
        }
        // Follow the chain of refs; a pointer seen twice closes a cycle. Each
        // cycle is reported once, at the first ref that leads into it.
        let mut chain: Vec<String> = Vec::new();
        let mut current = pointer.to_owned();
        while let Some(next) = root
            .pointer(&current)
            .and_then(ref_of)
            .map(|(t, _)| t.to_owned())
        {
            if let Some(start) = chain.iter().position(|p| *p == current) {
                let mut members = chain[start..].to_vec();
                members.sort();
                if reported_cycles.insert(members) {
                    let cycle: Vec<String> = chain[start..]
                        .iter()
                        .chain([&current])
                        .map(|p| format!("#{p}"))
                        .collect();
                    diags.push(
                        Diagnostic::error(
                            "ref-cycle",
                            format!(
                                "`$ref: {text}` never reaches a value: the references form a cycle {}",
                                cycle.join(" -> ")
                            ),
                        )
                        .at(span)
                        .help("one of the referenced components must define a value instead of another `$ref`"),
                    );
                }
                break;
            }
            chain.push(std::mem::replace(
                &mut current,
                next.strip_prefix('#').unwrap_or(&next).to_owned(),
            ));
        }
    }
}

fn collect(node: &Node, parent: Option<&str>, out: &mut Vec<(String, Span)>) {
    if let Some((text, span)) = ref_of(node) {
        out.push((text.to_owned(), span));
        return;
    }
    match &node.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .filter(|(k, _)| !is_literal_data(&k.text, parent, is_example_object(entries)))
            .for_each(|(k, v)| collect(v, Some(&k.text), out)),
        NodeKind::Seq(items) => items.iter().for_each(|v| collect(v, parent, out)),
        _ => {}
    }
}

/// Whether the value under `key` is literal data (examples, defaults, enums,
/// extensions) in which a `$ref` key is just data, not a reference. Under
/// `properties` and other maps of names, those words are names, not keywords.
pub(crate) fn is_literal_data(key: &str, parent: Option<&str>, in_example: bool) -> bool {
    const NAMED_MAPS: &[&str] = &[
        "properties",
        "schemas",
        "parameters",
        "responses",
        "requestBodies",
        "headers",
        "securitySchemes",
        "links",
        "callbacks",
        "paths",
        "content",
        "encoding",
        "variables",
        "mapping",
    ];
    if parent.is_some_and(|p| NAMED_MAPS.contains(&p)) {
        return false;
    }
    matches!(key, "example" | "default" | "enum" | "const")
        || key.starts_with("x-")
        || (key == "value" && in_example)
}

/// An Example Object: `value` plus only `summary`, `description`, `externalValue`.
fn is_example_object(entries: &[(Key, Node)]) -> bool {
    entries.iter().any(|(k, _)| k.text == "value")
        && entries.iter().all(|(k, _)| {
            matches!(
                k.text.as_str(),
                "value" | "summary" | "description" | "externalValue"
            ) || k.text.starts_with("x-")
        })
}
