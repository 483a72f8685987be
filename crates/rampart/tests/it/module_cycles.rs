//! The runtime's modules depend on each other in one direction only
//! (docs/architecture.md): leaves (problem, error, net, respond, headers,
//! request_id) → context, principal, config → auth, access, rate, audit,
//! cors, limits, panic, version → settings → plan → pipeline → harden →
//! security → secured, with server beside the facade.
//!
//! This test reads every `crate::…` and `super::…` path in the crate's code
//! (comments and `#[cfg(test)]` modules excluded), builds the graph between
//! the modules at every level (top-level modules, and the submodules of each
//! module, e.g. `rate::config` and `rate::memory`) and fails on any cycle,
//! naming the lines that close it. It checks `rampart-spec` the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → (module it names → first `file:line` naming it). Modules are
/// `::`-joined paths (`rate::config`); one graph per parent module.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a source file is (`[]` for lib.rs, `[rate]` for
/// rate/mod.rs, `[rate, config]` for rate/config.rs).
fn module_of(src: &Path, file: &Path) -> Option<Vec<String>> {
    let relative = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if !matches!(stem, "mod" | "lib" | "main") || !parts.is_empty() && stem != "mod" {
        parts.push(stem.to_owned());
    }
    Some(parts)
}

/// The module paths each `crate::` (or, resolved against `module`,
/// `super::`) path in `code` names, as written (`crate::rate::memory::X`
/// gives `[rate, memory, X]`, cut later at the longest known module).
fn crate_paths_in(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (anchor, base) in [
        ("crate::", Vec::new()),
        ("super::", module[..module.len().saturating_sub(1)].to_vec()),
    ] {
        let mut from = 0;
        while let Some(found_at) = code[from..].find(anchor) {
            let at = from + found_at;
            let before = code[..at].chars().next_back();
            let rest = &code[at + anchor.len()..];
            from = at + anchor.len();
            // `$crate::`, `foo_crate::` and the second `super::` of
            // `super::super::` (read with the first) are not paths of their own.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
                continue;
            }
            let mut path = base.clone();
            let mut tail = rest;
            let mut up = 0;
            while let Some(next) = tail.strip_prefix("super::") {
                up += 1;
                tail = next;
            }
            path.truncate(path.len().saturating_sub(up));
            loop {
                let name: String = tail
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if name.is_empty() {
                    break;
                }
                tail = &tail[name.len()..];
                path.push(name);
                match tail.strip_prefix("::") {
                    Some(next) => tail = next,
                    None => break,
                }
            }
            if !path.is_empty() {
                found.push(path);
            }
        }
    }
    found
}

/// The names following each `crate::` in `code` (top-level modules).
fn crate_paths(code: &str) -> Vec<String> {
    crate_paths_in(code, &[])
        .into_iter()
        .map(|p| p[0].clone())
        .collect()
}

/// One graph per parent module (keyed `""` for the crate root): an edge
/// `a -> b` between two children of that parent when code in `a` (or below
/// it) names `b` (or something below it). A module naming its own ancestor
/// or descendant is not an edge: parents declare and re-export children.
fn graphs(src: &Path) -> BTreeMap<String, Graph> {
    let mut files = Vec::new();
    sources(src, &mut files);
    files.sort();
    let modules: BTreeSet<Vec<String>> = files.iter().filter_map(|f| module_of(src, f)).collect();
    let mut graphs: BTreeMap<String, Graph> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable source");
        let shown = file.strip_prefix(src).unwrap_or(file).display().to_string();
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = line.split("//").next().unwrap_or("");
            for mut target in crate_paths_in(code, &module) {
                while !target.is_empty() && !modules.contains(&target) {
                    target.pop();
                }
                let common = module
                    .iter()
                    .zip(&target)
                    .take_while(|(a, b)| a == b)
                    .count();
                if common == module.len() || common == target.len() {
                    continue;
                }
                graphs
                    .entry(module[..common].join("::"))
                    .or_default()
                    .entry(module[..=common].join("::"))
                    .or_default()
                    .entry(target[..=common].join("::"))
                    .or_insert_with(|| format!("src/{shown}:{}", number + 1));
            }
        }
    }
    graphs
}

/// The top-level graph of the crate at `src`.
fn graph(src: &Path) -> Graph {
    graphs(src).remove("").unwrap_or_default()
}

/// Fail on the first cycle in any of the crate's graphs.
fn assert_acyclic(src: &Path, what: &str) {
    let graphs = graphs(src);
    for (parent, graph) in &graphs {
        if let Some(cycle) = find_cycle(graph) {
            let evidence: Vec<String> = cycle
                .windows(2)
                .map(|pair| {
                    format!(
                        "  {} -> {} ({})",
                        pair[0], pair[1], graph[&pair[0]][&pair[1]]
                    )
                })
                .collect();
            let place = if parent.is_empty() {
                "top-level modules".to_owned()
            } else {
                format!("the submodules of `{parent}`")
            };
            panic!(
                "import cycle between {what}'s {place}:\n{}\nmove the shared item to a lower module (docs/architecture.md)",
                evidence.join("\n")
            );
        }
    }
}

/// A cycle, as the modules in order, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut done, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn runtime_modules_have_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(
        graph.len() > 10,
        "the scan found too few modules: {graph:?}"
    );
    assert!(
        graphs(&src).contains_key("rate"),
        "the scan did not see the rate module's submodules"
    );
    assert_acyclic(&src, "the runtime");
}

#[test]
fn spec_modules_have_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rampart-spec/src");
    assert!(
        graph(&src).len() > 10,
        "the scan found too few spec modules"
    );
    assert_acyclic(&src, "rampart-spec");
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut graph = Graph::new();
    let edge = |g: &mut Graph, a: &str, b: &str| {
        g.entry(a.into())
            .or_default()
            .insert(b.into(), "here".into());
    };
    edge(&mut graph, "a", "b");
    edge(&mut graph, "b", "c");
    assert_eq!(find_cycle(&graph), None);
    edge(&mut graph, "c", "a");
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        crate_paths("use crate::auth::x; $crate::no; my_crate::no; (crate::rate::y)"),
        ["auth", "rate"]
    );
    // A cycle between two submodules of one module is found too.
    let dir = std::env::temp_dir().join(format!("rampart-cycles-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod a;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "pub mod x;\npub mod y;\n").unwrap();
    std::fs::write(dir.join("a/x.rs"), "use crate::a::y::Y;\n").unwrap();
    std::fs::write(dir.join("a/y.rs"), "pub struct Y(super::x::X);\n").unwrap();
    let nested = graphs(&dir);
    assert_eq!(
        find_cycle(&nested["a"]),
        Some(vec!["a::x".into(), "a::y".into(), "a::x".into()])
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let module = ["rate".to_owned(), "config".to_owned()];
    assert_eq!(
        crate_paths_in(
            "use crate::rate::memory::X; use super::key; super::super::plan::P",
            &module
        ),
        [
            vec!["rate".to_owned(), "memory".to_owned()],
            vec!["rate".to_owned(), "key".to_owned()],
            vec!["plan".to_owned()],
        ]
    );
}
