//! Schema-level `x-rampart`, and a walk over every schema of a document.
//!
//! A schema may carry `x-rampart: { unenforced: [pattern] }`: the explicit,
//! visible opt-out for a constraint the generator cannot enforce (a pattern
//! Rust's regex cannot compile, a keyword it has no check for). Without it,
//! such a constraint is a generation error naming `file:line:col`.

use crate::annotations::{EXTENSION, Spanned};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::node::{Node, NodeKind, escape_pointer_token};
use crate::suggest::did_you_mean;

/// Keys allowed in a schema's `x-rampart`.
pub const SCHEMA_KEYS: &[&str] = &["unenforced", "uri-schemes"];

/// Keywords `unenforced` may name: every JSON Schema keyword that
/// constrains a value. The generator enforces each one present in a schema
/// or refuses it at its line (`error[unenforceable]`); keywords not listed
/// here only annotate (`description`, `example`, `format`, ...).
pub const UNENFORCEABLE: &[&str] = &[
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "items",
    "prefixItems",
    "maxItems",
    "minItems",
    "uniqueItems",
    "contains",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "required",
    "dependentRequired",
    "properties",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "unevaluatedItems",
    "unevaluatedProperties",
    "$dynamicRef",
    "$recursiveRef",
];

/// A schema's `x-rampart`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaAnnotations {
    /// Keywords whose constraint is knowingly left unenforced.
    pub unenforced: Vec<Spanned<String>>,
    /// URI schemes a `format: uri` value may have (`uri-schemes`, lower
    /// case); empty: `http` and `https`.
    pub uri_schemes: Vec<Spanned<String>>,
}

impl SchemaAnnotations {
    /// Whether `keyword` is opted out of enforcement.
    pub fn unenforced(&self, keyword: &str) -> bool {
        self.unenforced.iter().any(|k| k.value == keyword)
    }
}

/// Read a schema's `x-rampart` (from the schema's node), reporting unknown
/// keys and keywords with the nearest valid word.
pub fn read_schema(schema: &Node, diags: &mut Diagnostics) -> SchemaAnnotations {
    let mut out = SchemaAnnotations::default();
    let Some(node) = schema.get(EXTENSION) else {
        return out;
    };
    let Some(entries) = node.entries() else {
        diags.push(
            Diagnostic::error(
                "malformed-annotation",
                format!(
                    "a schema's `{EXTENSION}` must be a mapping, found {}",
                    node.describe()
                ),
            )
            .at(node.span),
        );
        return out;
    };
    for (key, value) in entries {
        if key.text == "uri-schemes" {
            read_uri_schemes(value, &mut out, diags);
            continue;
        }
        if key.text != "unenforced" {
            diags.push(
                Diagnostic::error(
                    "unknown-key",
                    format!(
                        "unknown key `{}` in a schema's x-rampart{}",
                        key.text,
                        did_you_mean(&key.text, SCHEMA_KEYS.iter().copied())
                    ),
                )
                .at(key.span)
                .label("unknown key")
                .help(format!("valid keys: {}", SCHEMA_KEYS.join(", "))),
            );
            continue;
        }
        let items: Vec<&Node> = match &value.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            NodeKind::Str(_) => vec![value],
            _ => {
                diags.push(
                    Diagnostic::error(
                        "malformed-annotation",
                        format!(
                            "`unenforced` must be a list of keywords, found {}",
                            value.describe()
                        ),
                    )
                    .at(value.span),
                );
                continue;
            }
        };
        for item in items {
            match item.as_str() {
                Some(word) if UNENFORCEABLE.contains(&word) => out.unenforced.push(Spanned {
                    value: word.to_owned(),
                    span: item.span,
                }),
                _ => {
                    let text = item
                        .scalar_text()
                        .unwrap_or_else(|| item.describe().to_owned());
                    diags.push(
                        Diagnostic::error(
                            "unknown-key",
                            format!(
                                "`{text}` is not a keyword `unenforced` can name{}",
                                did_you_mean(&text, UNENFORCEABLE.iter().copied())
                            ),
                        )
                        .at(item.span)
                        .label("unknown keyword")
                        .help(format!("keywords: {}", UNENFORCEABLE.join(", "))),
                    );
                }
            }
        }
    }
    out
}

/// `uri-schemes: [https, mailto]`: RFC 3986 scheme names.
fn read_uri_schemes(value: &Node, out: &mut SchemaAnnotations, diags: &mut Diagnostics) {
    let items: Vec<&Node> = match &value.kind {
        NodeKind::Seq(items) if !items.is_empty() => items.iter().collect(),
        NodeKind::Str(_) => vec![value],
        _ => {
            diags.push(
                Diagnostic::error(
                    "malformed-annotation",
                    format!(
                        "`uri-schemes` must be a non-empty list of URI schemes, found {}",
                        value.describe()
                    ),
                )
                .at(value.span)
                .help("e.g. `uri-schemes: [https, mailto]`"),
            );
            return;
        }
    };
    for item in items {
        let scheme = item.as_str().filter(|s| {
            let mut bytes = s.bytes();
            bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
                && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        });
        match scheme {
            Some(scheme) => out.uri_schemes.push(Spanned {
                value: scheme.to_ascii_lowercase(),
                span: item.span,
            }),
            None => {
                let text = item
                    .scalar_text()
                    .unwrap_or_else(|| item.describe().to_owned());
                diags.push(
                    Diagnostic::error(
                        "malformed-annotation",
                        format!("`{text}` is not a URI scheme"),
                    )
                    .at(item.span)
                    .label("not a scheme")
                    .help("a scheme is a letter then letters, digits, `+`, `-` or `.`, without `:` (`https`, `mailto`)"),
                );
            }
        }
    }
}

/// Check every schema's `x-rampart` in the document.
pub fn check(root: &Node, diags: &mut Diagnostics) {
    walk(root, &mut |_, schema| {
        read_schema(schema, diags);
    });
}

/// Call `f` with the JSON pointer and node of every schema in the document:
/// component schemas, the `schema` of parameters, headers and media types
/// (wherever they are, callbacks included), and recursively the schemas
/// inside them (`properties`, `items`, `additionalProperties`, `allOf`,
/// `oneOf`, `anyOf`, `not`, and the JSON Schema 2020-12 applicators
/// `prefixItems`, `propertyNames`, `patternProperties`, `contains`,
/// `if`/`then`/`else`, `dependentSchemas`, `unevaluated*`). Literal data (`example`, `examples`, `default`,
/// `enum`, extensions) is never entered.
pub fn walk(root: &Node, f: &mut dyn FnMut(&str, &Node)) {
    document(root, "", f);
}

fn document(node: &Node, pointer: &str, f: &mut dyn FnMut(&str, &Node)) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                let here = format!("{pointer}/{}", escape_pointer_token(&key.text));
                match key.text.as_str() {
                    "example" | "examples" | "default" | "enum" => {}
                    k if k.starts_with("x-") => {}
                    "schema" if value.entries().is_some() => schema(value, &here, f),
                    "schemas" if pointer == "/components" => {
                        for (name, s) in value.entries().unwrap_or_default() {
                            let p = format!("{here}/{}", escape_pointer_token(&name.text));
                            schema(s, &p, f);
                        }
                    }
                    _ => document(value, &here, f),
                }
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                document(item, &format!("{pointer}/{i}"), f);
            }
        }
        _ => {}
    }
}

/// Keywords whose value is one schema (the walk over schemas and the 3.1
/// rewrite in [`crate::dialect`] enter the same ones).
pub(crate) const ONE_SCHEMA: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "propertyNames",
    "contains",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
];

/// Keywords whose value is a list of schemas.
pub(crate) const SCHEMA_LISTS: &[&str] = &["allOf", "oneOf", "anyOf", "prefixItems"];

/// Keywords whose value maps names to schemas.
pub(crate) const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];

fn schema(node: &Node, pointer: &str, f: &mut dyn FnMut(&str, &Node)) {
    if node.entries().is_none() || node.get("$ref").is_some() {
        return;
    }
    f(pointer, node);
    for key in SCHEMA_MAPS {
        for (name, s) in node.get(key).and_then(Node::entries).unwrap_or_default() {
            let p = format!("{pointer}/{key}/{}", escape_pointer_token(&name.text));
            schema(s, &p, f);
        }
    }
    for key in ONE_SCHEMA {
        if let Some(s) = node.get(key) {
            schema(s, &format!("{pointer}/{key}"), f);
        }
    }
    for key in SCHEMA_LISTS {
        for (i, s) in node
            .get(key)
            .and_then(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            schema(s, &format!("{pointer}/{key}/{i}"), f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> crate::Loaded {
        crate::load_str("api.yaml", text.to_owned())
    }

    const HEAD: &str = "openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths: {}\n";

    #[test]
    fn uri_schemes_are_read_and_checked() {
        let loaded = load(&format!(
            "{HEAD}components:\n  schemas:\n    A:\n      type: string\n      format: uri\n      x-rampart: {{ uri-schemes: [HTTPS, mailto] }}\n    B:\n      type: string\n      format: uri\n      x-rampart: {{ uri-scheme: [https] }}\n    C:\n      type: string\n      format: uri\n      x-rampart: {{ uri-schemes: ['javascript:'] }}\n    D:\n      type: string\n      x-rampart: {{ uri-schemes: [] }}\n"
        ));
        let rendered = loaded.render();
        assert!(
            rendered.contains(
                "unknown key `uri-scheme` in a schema's x-rampart; did you mean `uri-schemes`?"
            ),
            "{rendered}"
        );
        assert!(
            rendered.contains("`javascript:` is not a URI scheme"),
            "{rendered}"
        );
        assert!(
            rendered.contains("`uri-schemes` must be a non-empty list of URI schemes"),
            "{rendered}"
        );
        let loaded = load(&format!(
            "{HEAD}components:\n  schemas:\n    A:\n      type: string\n      format: uri\n      x-rampart: {{ uri-schemes: [HTTPS, mailto] }}\n"
        ));
        let model = loaded.model.expect("valid");
        let mut found = Vec::new();
        walk(&model.root, &mut |_, node| {
            let read = read_schema(node, &mut Diagnostics::default());
            found.extend(read.uri_schemes.into_iter().map(|s| s.value));
        });
        assert_eq!(found, ["https", "mailto"]);
    }

    #[test]
    fn schema_opt_outs_are_read_and_unknown_words_named() {
        let loaded = load(&format!(
            "{HEAD}components:\n  schemas:\n    A:\n      type: string\n      pattern: '(a)\\1'\n      x-rampart: {{ unenforced: [pattern] }}\n    B:\n      type: object\n      properties:\n        c:\n          type: integer\n          multipleOf: 2\n          x-rampart: {{ unenforcd: [multipleOf] }}\n        d:\n          type: integer\n          x-rampart: {{ unenforced: [multipleof] }}\n"
        ));
        let rendered = loaded.render();
        assert!(
            rendered.contains(
                "unknown key `unenforcd` in a schema's x-rampart; did you mean `unenforced`?"
            ),
            "{rendered}"
        );
        assert!(rendered.contains("api.yaml:16:24"), "{rendered}");
        assert!(
            rendered.contains(
                "`multipleof` is not a keyword `unenforced` can name; did you mean `multipleOf`?"
            ),
            "{rendered}"
        );
        assert!(rendered.contains("api.yaml:19:37"), "{rendered}");
        let model = loaded.model.unwrap();
        let mut seen = Vec::new();
        walk(&model.root, &mut |pointer, node| {
            let mut diags = Diagnostics::default();
            seen.push((
                pointer.to_owned(),
                read_schema(node, &mut diags).unenforced("pattern"),
            ));
        });
        assert_eq!(
            seen,
            [
                ("/components/schemas/A".to_owned(), true),
                ("/components/schemas/B".to_owned(), false),
                ("/components/schemas/B/properties/c".to_owned(), false),
                ("/components/schemas/B/properties/d".to_owned(), false),
            ]
        );
    }
}
