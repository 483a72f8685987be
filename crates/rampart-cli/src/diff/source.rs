//! Where OLD and NEW come from: a file, or `git:REV:PATH`, read with
//! `git show REV:PATH` in the repository the command runs in.
//!
//! A spec read from git is written, with every file its relative `$ref`s
//! reach (read with `git show` at the same revision, recursively), into a
//! private temporary directory, loaded from there, and the directory
//! removed; diagnostics and findings name its files `git:REV:PATH`.
//! Limitations: `PATH` is relative to the repository root (as `git show`
//! reads it); a `$ref` leaving the repository, or naming a URL, is not
//! read (the loader reports it like any unreadable `$ref`); at most
//! [`MAX_FILES`] files are read per spec.

use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use rampart_spec::node::{Node, NodeKind};
use rampart_spec::source::SourceFiles;
use rampart_spec::{Loaded, load_file};

/// Most files read from git for one spec (the spec and its `$ref`ed files).
pub(crate) const MAX_FILES: usize = 256;

/// A command-line source, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A file, relative to the working directory.
    File(String),
    /// `git:REV:PATH`.
    Git {
        /// The revision (`HEAD`, `origin/main`, a commit).
        rev: String,
        /// The path from the repository root.
        path: String,
    },
}

impl Source {
    /// `git:REV:PATH`, else a file path.
    pub(crate) fn parse(text: &str) -> Result<Source, String> {
        let Some(rest) = text.strip_prefix("git:") else {
            return Ok(Source::File(text.to_owned()));
        };
        match rest.split_once(':') {
            // A revision starting with `-` would be read by git as an option.
            Some((rev, path)) if !rev.is_empty() && !rev.starts_with('-') && !path.is_empty() => {
                Ok(Source::Git {
                    rev: rev.to_owned(),
                    path: path.to_owned(),
                })
            }
            _ => Err(format!(
                "`{text}` is not `git:REV:PATH` (e.g. `git:origin/main:specs/api.yaml`)"
            )),
        }
    }

    /// The name used in messages: the path, or `git:REV:PATH`.
    pub(crate) fn display(&self) -> String {
        match self {
            Source::File(path) => path.clone(),
            Source::Git { rev, path } => format!("git:{rev}:{path}"),
        }
    }

    /// The text of this source (a configuration file).
    pub(crate) fn read_text(&self, dir: &Path) -> Result<String, String> {
        match self {
            Source::File(path) => std::fs::read_to_string(in_dir(dir, path))
                .map_err(|e| format!("cannot read `{path}`: {e}")),
            Source::Git { rev, path } => git_show(dir, rev, path),
        }
    }

    /// Load this source as a spec. Errors are in the [`Loaded`]'s
    /// diagnostics, except a failure to read from git (`Err`).
    pub(crate) fn load(&self, dir: &Path) -> Result<Loaded, String> {
        match self {
            Source::File(path) => {
                let full = in_dir(dir, path);
                let loaded = load_file(&full);
                Ok(if full == Path::new(path) {
                    loaded
                } else {
                    rename(loaded, |p| (p == full).then(|| path.clone()))
                })
            }
            Source::Git { rev, path } => load_git(dir, rev, path),
        }
    }
}

/// `path` as seen from `dir` (unchanged when absolute or `dir` is `.`).
fn in_dir(dir: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() || dir == Path::new(".") || dir.as_os_str().is_empty() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// `git show REV:PATH` run in `dir`.
fn git_show(dir: &Path, rev: &str, path: &str) -> Result<String, String> {
    let output = Command::new("git")
        .arg("show")
        .arg(format!("{rev}:{path}"))
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run `git show {rev}:{path}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`git show {rev}:{path}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| format!("`git show {rev}:{path}` is not UTF-8 text"))
}

/// A fresh private directory under the system temp dir.
fn temp_dir() -> Result<PathBuf, String> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "rampart-diff-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    Ok(std::fs::canonicalize(&dir).unwrap_or(dir))
}

/// Removes the directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load_git(dir: &Path, rev: &str, path: &str) -> Result<Loaded, String> {
    let root = normalize(Path::new(""), path)
        .ok_or_else(|| format!("`{path}` is not a path inside the repository"))?;
    let tmp = TempDir(temp_dir()?);
    let text = git_show(dir, rev, &root)?;
    let mut pending = vec![(root.clone(), text)];
    let mut seen = vec![root.clone()];
    while let Some((rel, text)) = pending.pop() {
        let target = tmp.0.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        std::fs::write(&target, &text)
            .map_err(|e| format!("cannot write `{}`: {e}", target.display()))?;
        let base = Path::new(&rel).parent().unwrap_or(Path::new(""));
        for reference in external_refs(&text) {
            let Some(next) = normalize(base, &reference) else {
                continue;
            };
            if seen.contains(&next) || seen.len() >= MAX_FILES {
                continue;
            }
            seen.push(next.clone());
            // A sibling that cannot be read is reported by the loader.
            if let Ok(text) = git_show(dir, rev, &next) {
                pending.push((next, text));
            }
        }
    }
    let loaded = load_file(tmp.0.join(&root));
    let prefix = tmp.0.clone();
    Ok(rename(loaded, |p| {
        let rel = p.strip_prefix(&prefix).ok()?;
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        Some(format!("git:{rev}:{rel}"))
    }))
}

/// The file parts of every relative `$ref` in a YAML or JSON text.
fn external_refs(text: &str) -> Vec<String> {
    fn walk(node: &Node, out: &mut Vec<String>, depth: usize) {
        if depth > 256 {
            return;
        }
        match &node.kind {
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    if key.text == "$ref"
                        && let Some(r) = value.as_str()
                    {
                        let file = r.split('#').next().unwrap_or_default();
                        if !file.is_empty()
                            && !file.contains("://")
                            && !out.iter().any(|f| f == file)
                        {
                            out.push(file.to_owned());
                        }
                    } else {
                        walk(value, out, depth + 1);
                    }
                }
            }
            NodeKind::Seq(items) => items.iter().for_each(|n| walk(n, out, depth + 1)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(node) = rampart_spec::yaml::parse(text, 0) {
        walk(&node, &mut out, 0);
    }
    out
}

/// `base/reference` without `.` and `..`, `/`-separated; `None` when it
/// leaves the repository or is absolute.
fn normalize(base: &Path, reference: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in base.join(reference).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The same load with its files renamed where `name` says so, so that
/// diagnostics and locations name them as the user did.
fn rename(mut loaded: Loaded, name: impl Fn(&Path) -> Option<String>) -> Loaded {
    let mut files = SourceFiles::default();
    for (_, file) in loaded.files.iter() {
        let path = name(&file.path).map_or_else(|| file.path.clone(), PathBuf::from);
        files.add(path, file.text.clone());
    }
    loaded.files = files;
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse() {
        assert_eq!(
            Source::parse("git:HEAD:specs/api.yaml"),
            Ok(Source::Git {
                rev: "HEAD".into(),
                path: "specs/api.yaml".into()
            })
        );
        assert_eq!(
            Source::parse("specs/api.yaml"),
            Ok(Source::File("specs/api.yaml".into()))
        );
        assert!(Source::parse("git:HEAD").is_err());
        assert!(Source::parse("git::x").is_err());
        assert!(Source::parse("git:--output=/tmp/x:api.yaml").is_err());
    }

    #[test]
    fn paths_normalize_inside_the_repository() {
        assert_eq!(
            normalize(Path::new("specs"), "./common/a.yaml").as_deref(),
            Some("specs/common/a.yaml")
        );
        assert_eq!(
            normalize(Path::new("specs"), "../shared/b.yaml").as_deref(),
            Some("shared/b.yaml")
        );
        assert_eq!(normalize(Path::new("specs"), "../../x.yaml"), None);
        assert_eq!(normalize(Path::new(""), "/etc/passwd"), None);
    }

    #[test]
    fn external_refs_are_found() {
        let refs = external_refs(
            "a: { $ref: 'common.yaml#/X' }\nb: [{ $ref: '#/local' }, { $ref: 'https://x/y' }, { $ref: other.json }]\n",
        );
        assert_eq!(refs, ["common.yaml", "other.json"]);
    }
}
