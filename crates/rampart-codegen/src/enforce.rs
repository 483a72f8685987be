//! Constraints the generated validators cannot enforce are errors, not
//! warnings: a pattern Rust's regex cannot compile (after the ECMA-262
//! translation), or a keyword the generator has no check for. Each names the
//! keyword's `file:line:col`; a schema opts out explicitly and visibly with
//! `x-rampart: { unenforced: [keyword, ...] }` (read by
//! `rampart_spec::schemas`).

use rampart_spec::node::{Node, NodeKind};
use rampart_spec::schemas::{read_schema, walk};
use rampart_spec::{Diagnostic, Diagnostics};

use crate::ecma;

/// The diagnostic code of an unenforceable constraint.
pub const CODE: &str = "unenforceable";

/// Keywords with no generated check at all.
const UNCHECKED: &[(&str, &str)] = &[
    ("multipleOf", "the generator has no check for `multipleOf`"),
    (
        "not",
        "the generator has no check for `not` (the value is untyped JSON)",
    ),
    (
        "minProperties",
        "the generator has no check for `minProperties`",
    ),
    (
        "maxProperties",
        "the generator has no check for `maxProperties`",
    ),
];

/// Every constraint of the document's schemas that the generator cannot
/// enforce and that no `x-rampart.unenforced` opts out of.
pub(crate) fn unenforceable(root: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(root, &mut |pointer, schema| {
        let opted = read_schema(schema, &mut Diagnostics::default());
        let mut report = |keyword: &str, why: String| {
            if opted.unenforced(keyword) {
                return;
            }
            let span = schema
                .get_entry(keyword)
                .map_or(schema.span, |(key, _)| key.span);
            out.push(
                Diagnostic::error(
                    CODE,
                    format!("`{keyword}` of `{pointer}` cannot be enforced: {why}"),
                )
                .at(span)
                .label("not enforced by the generated validator")
                .help(format!(
                    "change the schema, or leave it unenforced explicitly with `x-rampart: {{ unenforced: [{keyword}] }}` on this schema"
                )),
            );
        };
        if let Some(pattern) = schema.get("pattern").and_then(Node::as_str)
            && let Err(why) = ecma::check(&ecma::translate(pattern))
        {
            report(
                "pattern",
                format!("Rust's regex cannot compile `{pattern}`: {why}"),
            );
        }
        for (keyword, why) in UNCHECKED {
            if schema.get(keyword).is_some() {
                report(keyword, (*why).to_owned());
            }
        }
        if let Some(parts) = schema.get("allOf").and_then(Node::items)
            && parts.len() > 1
            && !parts.iter().all(|part| merges(root, part, 0))
        {
            report(
                    "allOf",
                    "its parts are not all objects, so the value would be untyped JSON with no part's constraints checked"
                        .to_owned(),
                );
        }
        if let Some(values) = schema.get("enum") {
            let string_type = schema.get("type").and_then(Node::as_str) == Some("string");
            let strings = values.items().is_some_and(|items| {
                items
                    .iter()
                    .all(|v| matches!(v.kind, NodeKind::Str(_) | NodeKind::Null))
            });
            if !(string_type && strings) {
                report(
                    "enum",
                    "only enums of `type: string` with string values are enforced (they become Rust enums)"
                        .to_owned(),
                );
            }
        }
    });
    out
}

/// Whether an `allOf` part merges into one struct with the others (the
/// generator's rule: objects, nested `allOf`s of objects, and schemas that
/// say nothing about the type do; anything else makes the `allOf` mixed).
fn merges(root: &Node, part: &Node, depth: usize) -> bool {
    if depth > 32 {
        return true;
    }
    if let Some(reference) = part.get("$ref").and_then(Node::as_str) {
        return match reference.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => merges(root, target, depth + 1),
            None => true,
        };
    }
    match part.get("type").and_then(Node::as_str) {
        Some(kind) => kind == "object",
        None => {
            if part.get("properties").is_some() || part.get("additionalProperties").is_some() {
                true
            } else if let Some(parts) = part.get("allOf").and_then(Node::items) {
                parts.iter().all(|p| merges(root, p, depth + 1))
            } else {
                ["oneOf", "anyOf", "items", "enum"]
                    .iter()
                    .all(|k| part.get(k).is_none())
            }
        }
    }
}
