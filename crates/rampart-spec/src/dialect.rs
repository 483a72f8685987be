//! OpenAPI 3.1 and 3.2 documents, read as the one shape the model is built
//! from.
//!
//! The model, the generator, the lint and the runtime all read the OpenAPI
//! 3.0 shape (`openapiv3` types over the positioned [`Node`] tree). A 3.1 or
//! 3.2 document is rewritten into that shape here, node by node, so every
//! rewritten value keeps the `file:line:col` it was written at and nothing
//! downstream needs a second path:
//!
//! | 3.1 / 3.2 | becomes |
//! |---|---|
//! | `type: [X, "null"]`, `anyOf`/`oneOf: [X, {type: "null"}]` | `type: X` (or the one alternative) with `nullable: true` |
//! | `type: "null"` alone | `nullable: true, enum: [null]` |
//! | `const: v` | `enum: [v]` |
//! | numeric `exclusiveMinimum: n` / `exclusiveMaximum: n` | `minimum: n` + `exclusiveMinimum: true` (the maximum alike) |
//! | `examples: [...]` in a schema | `example:` the first one |
//! | `$ref` beside constraining keywords | `allOf: [{$ref}]` beside them (3.1 applies both) |
//! | `$defs` | hoisted into `components.schemas`, refs rewritten |
//! | boolean schemas | `true` → `{}`, `false` → `{not: {}}`; `items: false` → `maxItems` |
//! | `components.pathItems` | inlined where `paths` refer to them |
//! | `webhooks`, no `paths` | webhooks set aside (the API sends them; nothing is served); `paths: {}` |
//! | `type: mutualTLS` scheme | read as [`crate::SecuritySchemeKind::MutualTls`] |
//!
//! What the 3.0 shape cannot carry is an error at its line: a type array with
//! two or more non-null types, a `jsonSchemaDialect` other than JSON Schema
//! 2020-12, the 3.2 `query` method, `additionalOperations` and
//! `in: querystring` parameters. Keywords the 3.0 shape has no field for
//! (`prefixItems`, `propertyNames`, `patternProperties`, `dependentRequired`,
//! `if`/`then`/`else`, ...) stay in the tree, where the generator enforces
//! them or refuses them at their line (`error[unenforceable]`). 3.0 keywords
//! inside a 3.1 document (`nullable`, boolean `exclusiveMinimum`) are read as
//! 3.0 would, with a warning naming the 3.1 form.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::node::{Key, Node, NodeKind, escape_pointer_token};
use crate::schemas::{ONE_SCHEMA, SCHEMA_LISTS, SCHEMA_MAPS};
use crate::source::Span;

/// HTTP methods an OpenAPI path item can hold, in document order.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The OpenAPI version family of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dialect {
    /// OpenAPI 3.0.x.
    V30,
    /// OpenAPI 3.1.x.
    V31,
    /// OpenAPI 3.2.x.
    V32,
}

impl Dialect {
    /// The family of an `openapi` version string; `None` when unsupported.
    pub fn of(version: &str) -> Option<Dialect> {
        let family = |prefix: &str| version == prefix || version.starts_with(&format!("{prefix}."));
        if family("3.0") {
            Some(Dialect::V30)
        } else if family("3.1") {
            Some(Dialect::V31)
        } else if family("3.2") {
            Some(Dialect::V32)
        } else {
            None
        }
    }
}

/// The JSON Schema dialects a 3.1/3.2 `jsonSchemaDialect` may name: the OAS
/// base dialect and JSON Schema 2020-12 itself.
const DIALECTS: &[&str] = &[
    "https://spec.openapis.org/oas/3.1/dialect/base",
    "https://spec.openapis.org/oas/3.1/dialect/2024-10-25",
    "https://spec.openapis.org/oas/3.2/dialect/2025-09-17",
    "https://json-schema.org/draft/2020-12/schema",
];

/// Keywords beside a `$ref` that only annotate: they change nothing a
/// validator checks, so a `$ref` with only these stays a plain reference.
const ANNOTATIONS: &[&str] = &[
    "description",
    "summary",
    "title",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "example",
    "examples",
    "default",
    "externalDocs",
    "xml",
    "contentMediaType",
    "contentEncoding",
];

/// Rewrite a 3.1/3.2 document (already bundled) into the 3.0 shape. A 3.0
/// document is left as it is.
pub(crate) fn normalize(root: &mut Node, dialect: Dialect, diags: &mut Diagnostics) {
    if dialect == Dialect::V30 {
        // What holds in every version: keywords beside compositions,
        // annotation-only `allOf` parts, `enum: []`.
        document(root, "", dialect, diags);
        return;
    }
    let span = root.span;
    if let Some(value) = root.get("jsonSchemaDialect") {
        let uri = value.as_str().unwrap_or_default();
        if !DIALECTS.contains(&uri) {
            diags.push(
                Diagnostic::error(
                    "unsupported-dialect",
                    format!(
                        "`jsonSchemaDialect` is `{}`; rampart reads JSON Schema 2020-12 (the OpenAPI base dialect) only",
                        value.scalar_text().unwrap_or_default()
                    ),
                )
                .at(value.span)
                .label("unsupported dialect")
                .help(format!(
                    "remove `jsonSchemaDialect`, or write `{}`",
                    DIALECTS[0]
                )),
            );
        }
        remove(root, "jsonSchemaDialect");
    }
    // Webhooks are requests the API sends, not ones it serves: nothing of
    // them is enforced, so they are set aside before anything walks schemas.
    remove(root, "webhooks");
    if root.get("paths").is_none() {
        insert(root, "paths", map(Vec::new(), span), span);
    }
    inline_path_items(root, diags);
    hoist_defs(root);
    if let Some(paths) = get_mut(root, "paths") {
        for (_, item) in entries_mut(paths) {
            path_item(item, dialect, diags);
        }
    }
    if let Some(schemes) = get_mut(root, "components").and_then(|c| get_mut(c, "securitySchemes")) {
        for (_, scheme) in entries_mut(schemes) {
            security_scheme(scheme);
        }
    }
    document(root, "", dialect, diags);
    // The rewritten tree is 3.0: `openapiv3` and every reader see it as such.
    if let Some(version) = get_mut(root, "openapi") {
        version.kind = NodeKind::Str("3.0.3".to_owned());
    }
}

/// `type: mutualTLS` is read as `type: http, scheme: mutualTLS`, which the
/// model turns into [`crate::SecuritySchemeKind::MutualTls`].
fn security_scheme(scheme: &mut Node) {
    let Some(kind) = get_mut(scheme, "type") else {
        return;
    };
    if kind.as_str() == Some("mutualTLS") {
        let span = kind.span;
        kind.kind = NodeKind::Str("http".to_owned());
        set(scheme, "scheme", string(MUTUAL_TLS, span), span);
    }
}

/// The `scheme` a `mutualTLS` security scheme is read with.
pub(crate) const MUTUAL_TLS: &str = "mutualTLS";

/// 3.2 methods and parameter locations the model cannot carry are errors;
/// operations without `responses` (optional since 3.1) get an empty one.
fn path_item(item: &mut Node, dialect: Dialect, diags: &mut Diagnostics) {
    for (key, _) in item.entries().unwrap_or_default() {
        if key.text == "query" || key.text == "additionalOperations" {
            diags.push(
                Diagnostic::error(
                    "unsupported-method",
                    format!(
                        "OpenAPI {} `{}` operations are not supported: rampart would not route or secure them",
                        if dialect == Dialect::V32 { "3.2" } else { "3.2's" },
                        key.text
                    ),
                )
                .at(key.span)
                .label("not supported")
                .help("describe the operation with one of get, put, post, delete, options, head, patch or trace"),
            );
        }
    }
    remove(item, "query");
    remove(item, "additionalOperations");
    check_parameters(item, diags);
    for method in METHODS {
        if let Some(op) = get_mut(item, method) {
            check_parameters(op, diags);
            if op.entries().is_some() && op.get("responses").is_none() {
                let span = op.span;
                insert(op, "responses", map(Vec::new(), span), span);
            }
        }
    }
}

fn check_parameters(owner: &Node, diags: &mut Diagnostics) {
    for parameter in owner
        .get("parameters")
        .and_then(Node::items)
        .unwrap_or_default()
    {
        if let Some(location) = parameter.get("in")
            && location.as_str() == Some("querystring")
        {
            diags.push(
                Diagnostic::error(
                    "unsupported-parameter",
                    "`in: querystring` (OpenAPI 3.2) is not supported: the whole query string as one parameter would go unvalidated",
                )
                .at(location.span)
                .label("not supported")
                .help("describe each query parameter with `in: query`"),
            );
        }
    }
}

/// Replace `$ref`s to `#/components/pathItems/NAME` in `paths` with the
/// path item they name, then drop `components.pathItems`.
fn inline_path_items(root: &mut Node, diags: &mut Diagnostics) {
    let items = root
        .get("components")
        .and_then(|c| c.get("pathItems"))
        .cloned();
    let Some(items) = items else {
        return;
    };
    if let Some(paths) = get_mut(root, "paths") {
        for (_, item) in entries_mut(paths) {
            let Some(reference) = item.get("$ref").and_then(Node::as_str) else {
                continue;
            };
            let Some(name) = reference.strip_prefix("#/components/pathItems/") else {
                continue;
            };
            let name = crate::node::unescape_pointer_token(name);
            match items.get(&name) {
                Some(target) => {
                    let mut target = target.clone();
                    // Siblings of the `$ref` (summary, description) win.
                    for (key, value) in item.entries().unwrap_or_default() {
                        if key.text != "$ref" {
                            set(&mut target, &key.text, value.clone(), key.span);
                        }
                    }
                    *item = target;
                }
                None => diags.push(
                    Diagnostic::error(
                        "missing-ref",
                        format!("`{reference}` names no entry of `components.pathItems`"),
                    )
                    .at(item.span),
                ),
            }
        }
    }
    if let Some(components) = get_mut(root, "components") {
        remove(components, "pathItems");
    }
}

/// Move every `$defs` entry under `components.schemas` (a fresh name) and
/// point the refs to it there.
fn hoist_defs(root: &mut Node) {
    let mut found = Vec::new();
    collect_defs(root, "", &mut found);
    if found.is_empty() {
        return;
    }
    let mut taken: Vec<String> = root
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Node::entries)
        .unwrap_or_default()
        .iter()
        .map(|(k, _)| k.text.clone())
        .collect();
    let mut renames = Vec::new();
    for (pointer, name, node, span) in found {
        let mut fresh = name.clone();
        let mut n = 2;
        while taken.contains(&fresh) {
            fresh = format!("{name}{n}");
            n += 1;
        }
        taken.push(fresh.clone());
        renames.push((
            format!("#{pointer}"),
            format!("#/components/schemas/{}", escape_pointer_token(&fresh)),
        ));
        let components = child(root, "components", span);
        let schemas = child(components, "schemas", span);
        insert(schemas, &fresh, node, span);
    }
    // Longest pointers first, so a def inside a def is renamed by its own entry.
    renames.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    rename_refs(root, &renames);
}

fn collect_defs(node: &mut Node, pointer: &str, found: &mut Vec<(String, String, Node, Span)>) {
    let NodeKind::Map(entries) = &mut node.kind else {
        if let NodeKind::Seq(items) = &mut node.kind {
            for (i, item) in items.iter_mut().enumerate() {
                collect_defs(item, &format!("{pointer}/{i}"), found);
            }
        }
        return;
    };
    let mut i = 0;
    while i < entries.len() {
        let key = entries[i].0.text.clone();
        if key == "example"
            || key == "examples"
            || key == "enum"
            || key == "default"
            || key.starts_with("x-")
        {
            i += 1;
            continue;
        }
        let here = format!("{pointer}/{}", escape_pointer_token(&key));
        if key == "$defs" && entries[i].1.entries().is_some() {
            let (_, defs) = entries.remove(i);
            if let NodeKind::Map(defs) = defs.kind {
                for (name, mut def) in defs {
                    let def_pointer = format!("{here}/{}", escape_pointer_token(&name.text));
                    collect_defs(&mut def, &def_pointer, found);
                    found.push((def_pointer, name.text, def, name.span));
                }
            }
            continue;
        }
        collect_defs(&mut entries[i].1, &here, found);
        i += 1;
    }
}

fn rename_refs(node: &mut Node, renames: &[(String, String)]) {
    match &mut node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                if key.text == "$ref"
                    && let NodeKind::Str(text) = &mut value.kind
                {
                    for (from, to) in renames {
                        if text == from || text.starts_with(&format!("{from}/")) {
                            *text = format!("{to}{}", &text[from.len()..]);
                            break;
                        }
                    }
                } else {
                    rename_refs(value, renames);
                }
            }
        }
        NodeKind::Seq(items) => items.iter_mut().for_each(|i| rename_refs(i, renames)),
        _ => {}
    }
}

/// Walk the document for schemas, as [`crate::schemas::walk`] does.
fn document(node: &mut Node, pointer: &str, dialect: Dialect, diags: &mut Diagnostics) {
    match &mut node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                let here = format!("{pointer}/{}", escape_pointer_token(&key.text));
                match key.text.as_str() {
                    "example" | "examples" | "default" | "enum" => {}
                    k if k.starts_with("x-") => {}
                    "schema" if matches!(value.kind, NodeKind::Map(_) | NodeKind::Bool(_)) => {
                        schema(value, dialect, diags);
                    }
                    "schemas" if pointer == "/components" => {
                        for (_, s) in entries_mut(value) {
                            schema(s, dialect, diags);
                        }
                    }
                    _ => document(value, &here, dialect, diags),
                }
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                document(item, &format!("{pointer}/{i}"), dialect, diags);
            }
        }
        _ => {}
    }
}

/// Rewrite one schema and, first, the schemas inside it.
fn schema(node: &mut Node, dialect: Dialect, diags: &mut Diagnostics) {
    let v31 = dialect != Dialect::V30;
    if let NodeKind::Bool(value) = node.kind {
        if v31 {
            *node = boolean_schema(value, node.span);
        }
        return;
    }
    if node.entries().is_none() {
        return;
    }
    if node.get("$ref").is_some() {
        if !v31 {
            // OpenAPI 3.0 ignores every sibling of a `$ref`.
            return;
        }
        reference_with_siblings(node);
    }
    if v31 {
        // This schema's own keywords first, so what moves into an `allOf`
        // part below is already in the 3.0 shape.
        null_alternative(node, "anyOf");
        null_alternative(node, "oneOf");
        closed_items(node);
        type_array(node, diags);
        constant(node);
        exclusive_bound(node, "exclusiveMinimum", "minimum", diags);
        exclusive_bound(node, "exclusiveMaximum", "maximum", diags);
        examples(node);
        homogeneous_prefix_items(node);
        if let Some((key, _)) = node.get_entry("nullable")
            && node.get("x-rampart-normalized-nullable").is_none()
        {
            diags.push(
                Diagnostic::warning(
                    "openapi-30-keyword",
                    "`nullable` is an OpenAPI 3.0 keyword; read as 3.0 would (null is accepted)",
                )
                .at(key.span)
                .help("in OpenAPI 3.1 write `type: [<type>, \"null\"]`"),
            );
        }
        remove(node, "x-rampart-normalized-nullable");
    }
    empty_enum(node, diags);
    annotation_parts(node);
    composition_siblings(node);
    names_are_strings(node);
    implied_type(node);
    for key in ONE_SCHEMA {
        if let Some(sub) = get_mut(node, key) {
            // `additionalProperties: true|false` is meaningful as it is.
            if !(matches!(sub.kind, NodeKind::Bool(_)) && *key == "additionalProperties") {
                schema(sub, dialect, diags);
            }
        }
    }
    for key in SCHEMA_LISTS {
        if let Some(NodeKind::Seq(items)) = get_mut(node, key).map(|n| &mut n.kind) {
            items.iter_mut().for_each(|s| schema(s, dialect, diags));
        }
    }
    for key in SCHEMA_MAPS {
        if let Some(map) = get_mut(node, key) {
            for (_, s) in entries_mut(map) {
                schema(s, dialect, diags);
            }
        }
    }
    keep_for_the_generator(node);
}

/// A schema with no `type` whose constraints are all string keywords
/// (`{maxLength: 4}`, the usual part beside a `$ref` to a string) or all
/// numeric ones (`{minimum: 0}`) is read as that type, so they are enforced:
/// stricter than JSON Schema, which lets other types pass such a schema
/// untouched, and what a spec that writes them means.
fn implied_type(node: &mut Node) {
    const STRING: &[&str] = &["minLength", "maxLength", "pattern"];
    const NUMBER: &[&str] = &[
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    ];
    let Some(entries) = node.entries() else {
        return;
    };
    if entries.iter().any(|(k, _)| {
        matches!(
            k.text.as_str(),
            "type" | "$ref" | "allOf" | "oneOf" | "anyOf" | "not" | "enum" | "const"
        )
    }) {
        return;
    }
    let has = |words: &[&str]| {
        entries
            .iter()
            .any(|(k, _)| words.contains(&k.text.as_str()))
    };
    let implied = match (has(STRING), has(NUMBER)) {
        (true, false) => "string",
        (false, true) => "number",
        _ => return,
    };
    let others = schemas_keywords_other_than(entries, STRING, NUMBER);
    if others {
        return;
    }
    let span = entries[0].0.span;
    set(node, "type", string(implied, span), span);
}

/// Whether `entries` holds a constraining keyword outside `a` and `b`.
fn schemas_keywords_other_than(entries: &[(Key, Node)], a: &[&str], b: &[&str]) -> bool {
    entries.iter().any(|(k, _)| {
        let k = k.text.as_str();
        crate::schemas::UNENFORCEABLE.contains(&k) && !a.contains(&k) && !b.contains(&k)
    })
}

/// Property names are always strings: `propertyNames: {pattern: ...}`
/// says `type: string` without writing it.
fn names_are_strings(node: &mut Node) {
    if let Some(names) = get_mut(node, "propertyNames")
        && names.entries().is_some()
        && names.get("type").is_none()
        && names.get("$ref").is_none()
    {
        let span = names.span;
        set(names, "type", string("string", span), span);
    }
}

/// The extension that carries the JSON Schema 2020-12 keywords the 3.0
/// types have no field for (`prefixItems`, `propertyNames`), already
/// rewritten, to the generator. The keywords themselves stay where they
/// are, for positions and for the check that each one is enforced.
pub const KEPT_KEYWORDS: &str = "x-rampart-2020-12";

fn keep_for_the_generator(node: &mut Node) {
    let kept: Vec<(Key, Node)> = ["prefixItems", "propertyNames"]
        .iter()
        .filter_map(|k| node.get_entry(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some((first, _)) = kept.first() {
        let span = first.span;
        set(node, KEPT_KEYWORDS, map(kept, span), span);
    }
}

/// `enum: []` admits no value at all, which is never what a spec means
/// (generators emit it for "see `allOf`"): read as absent, with a warning.
fn empty_enum(node: &mut Node, diags: &mut Diagnostics) {
    if let Some((key, value)) = node.get_entry("enum")
        && value.items().is_some_and(<[Node]>::is_empty)
    {
        diags.push(
            Diagnostic::warning(
                "empty-enum",
                "`enum: []` admits no value; read as if it were absent",
            )
            .at(key.span)
            .help("list the allowed values, or remove `enum`"),
        );
        remove(node, "enum");
    }
}

/// `allOf` parts that only annotate (`- example: ...`, `- readOnly: true`)
/// constrain nothing: their keywords move to the schema itself (where it
/// has none of its own) and the parts go.
fn annotation_parts(node: &mut Node) {
    let Some(parts) = node.get("allOf").and_then(Node::items) else {
        return;
    };
    let is_annotation = |part: &Node| {
        part.entries().is_some_and(|e| {
            !e.is_empty()
                && e.iter()
                    .all(|(k, _)| ANNOTATIONS.contains(&k.text.as_str()) || k.text == "nullable")
        })
    };
    if !parts.iter().any(is_annotation) {
        return;
    }
    let (annotations, rest): (Vec<Node>, Vec<Node>) =
        parts.iter().cloned().partition(|p| is_annotation(p));
    for part in annotations {
        for (key, value) in part.entries().unwrap_or_default() {
            if node.get(&key.text).is_none() {
                set(node, &key.text, value.clone(), key.span);
            }
        }
    }
    let span = node.get("allOf").map_or(node.span, |n| n.span);
    if rest.is_empty() {
        remove(node, "allOf");
    } else {
        set(
            node,
            "allOf",
            Node {
                kind: NodeKind::Seq(rest),
                span,
            },
            span,
        );
    }
}

/// Keywords beside `allOf`/`oneOf`/`anyOf` apply too (`properties` and
/// `required` beside `allOf`, "email or phone" as `anyOf: [{required:
/// [email]}, {required: [phone]}]` beside `properties`): they move into an
/// `allOf` part of their own, so every one is enforced with the rest.
/// A lone `type` beside a composition stays where it is.
fn composition_siblings(node: &mut Node) {
    let composed: Vec<&str> = ["allOf", "oneOf", "anyOf"]
        .into_iter()
        .filter(|k| {
            node.get(k)
                .and_then(Node::items)
                .is_some_and(|i| !i.is_empty())
        })
        .collect();
    if composed.is_empty() {
        return;
    }
    let stays = |k: &str| {
        ANNOTATIONS.contains(&k)
            || k.starts_with("x-")
            || matches!(
                k,
                "nullable" | "discriminator" | "allOf" | "oneOf" | "anyOf" | "$ref"
            )
    };
    let siblings: Vec<(Key, Node)> = node
        .entries()
        .unwrap_or_default()
        .iter()
        .filter(|(k, _)| !stays(&k.text))
        .cloned()
        .collect();
    let only_type = siblings.iter().all(|(k, _)| k.text == "type");
    if siblings.is_empty() || (only_type && composed.len() == 1) {
        return;
    }
    let span = siblings[0].0.span;
    for (key, _) in &siblings {
        remove(node, &key.text);
    }
    let mut parts = vec![map(siblings, span)];
    // A `oneOf`/`anyOf` (with its discriminator) becomes a part too, so
    // the schema is one `allOf` of everything it says.
    for keyword in ["oneOf", "anyOf"] {
        if let Some((key, value)) = node.get_entry(keyword) {
            let (key, value) = (key.clone(), value.clone());
            let span = key.span;
            let mut part = vec![(key, value)];
            if let Some((dk, dv)) = node.get_entry("discriminator") {
                part.push((dk.clone(), dv.clone()));
            }
            remove(node, "discriminator");
            parts.push(map(part, span));
            remove(node, keyword);
        }
    }
    match get_mut(node, "allOf").map(|n| &mut n.kind) {
        Some(NodeKind::Seq(items)) => items.extend(parts),
        _ => set(
            node,
            "allOf",
            Node {
                kind: NodeKind::Seq(parts),
                span,
            },
            span,
        ),
    }
}

/// `prefixItems` whose entries are all the same schema, on an array that
/// can hold no more than that many items (`maxItems` or `items` the same
/// schema), says the same as `items`: it becomes `items`.
fn homogeneous_prefix_items(node: &mut Node) {
    let Some(prefix) = node.get("prefixItems").and_then(Node::items) else {
        return;
    };
    let Some(first) = prefix.first() else {
        return;
    };
    let same = |a: &Node, b: &Node| a.to_json() == b.to_json();
    if !prefix.iter().all(|p| same(p, first)) {
        return;
    }
    let max_items = node.get("maxItems").and_then(|m| match m.kind {
        NodeKind::Int(n) => Some(n),
        _ => None,
    });
    let bounded = max_items.is_some_and(|m| m <= prefix.len() as i64)
        || node.get("items").is_some_and(|i| same(i, first));
    if !bounded {
        return;
    }
    let first = first.clone();
    let span = node
        .get_entry("prefixItems")
        .map_or(node.span, |(k, _)| k.span);
    remove(node, "prefixItems");
    set(node, "items", first, span);
}

fn boolean_schema(value: bool, span: Span) -> Node {
    if value {
        map(Vec::new(), span)
    } else {
        // `false` admits nothing: `not: {}`, which the generator refuses at
        // its line rather than accepting everything.
        map(vec![(key("not", span), map(Vec::new(), span))], span)
    }
}

/// `items: false` closes an array after its `prefixItems` (or entirely):
/// `maxItems` says the same in 3.0. `items: true` says nothing.
fn closed_items(node: &mut Node) {
    match node.get("items").map(|n| &n.kind) {
        Some(NodeKind::Bool(false)) => {
            let span = node.get_entry("items").map_or(node.span, |(k, _)| k.span);
            let prefix = node
                .get("prefixItems")
                .and_then(Node::items)
                .map_or(0, <[Node]>::len);
            let bound = match node.get("maxItems").and_then(|m| match m.kind {
                NodeKind::Int(n) => Some(n),
                _ => None,
            }) {
                Some(n) => n.min(prefix as i64),
                None => prefix as i64,
            };
            remove(node, "items");
            set(
                node,
                "maxItems",
                Node {
                    kind: NodeKind::Int(bound),
                    span,
                },
                span,
            );
        }
        Some(NodeKind::Bool(true)) => remove(node, "items"),
        _ => {}
    }
}

/// A `$ref` beside keywords that constrain: 3.1 applies both, so it becomes
/// `allOf: [{$ref}]` beside them. Beside annotations only, it stays a ref.
fn reference_with_siblings(node: &mut Node) {
    let constraining = node.entries().unwrap_or_default().iter().any(|(k, _)| {
        k.text != "$ref" && !ANNOTATIONS.contains(&k.text.as_str()) && !k.text.starts_with("x-")
    });
    if !constraining {
        return;
    }
    let NodeKind::Map(entries) = &mut node.kind else {
        return;
    };
    let index = entries
        .iter()
        .position(|(k, _)| k.text == "$ref")
        .expect("checked by the caller");
    let (ref_key, ref_value) = entries.remove(index);
    let span = ref_key.span;
    let part = map(vec![(ref_key, ref_value)], span);
    match entries.iter_mut().find(|(k, _)| k.text == "allOf") {
        Some((_, all_of)) => {
            if let NodeKind::Seq(items) = &mut all_of.kind {
                items.insert(0, part);
            }
        }
        None => entries.insert(
            index,
            (
                key("allOf", span),
                Node {
                    kind: NodeKind::Seq(vec![part]),
                    span,
                },
            ),
        ),
    }
    // A nullable beside the ref, written the 3.1 way, was already turned into
    // `nullable: true` by the caller's sub-walk; nothing else to do.
}

/// `type: [X, "null"]` → `type: X, nullable: true`; `type: "null"` →
/// `nullable: true, enum: [null]`; several non-null types are refused.
fn type_array(node: &mut Node, diags: &mut Diagnostics) {
    let Some((type_key, value)) = node.get_entry("type") else {
        return;
    };
    let key_span = type_key.span;
    let types: Vec<(String, Span)> = match &value.kind {
        NodeKind::Seq(items) => items
            .iter()
            .map(|i| (i.as_str().unwrap_or_default().to_owned(), i.span))
            .collect(),
        NodeKind::Str(s) if s == "null" => vec![("null".to_owned(), value.span)],
        _ => return,
    };
    let nullable = types.iter().any(|(t, _)| t == "null");
    let others: Vec<&(String, Span)> = types.iter().filter(|(t, _)| t != "null").collect();
    match others.as_slice() {
        [] => {
            remove(node, "type");
            if nullable {
                mark_nullable(node, key_span);
                if node.get("enum").is_none() {
                    let null = Node {
                        kind: NodeKind::Null,
                        span: key_span,
                    };
                    set(
                        node,
                        "enum",
                        Node {
                            kind: NodeKind::Seq(vec![null]),
                            span: key_span,
                        },
                        key_span,
                    );
                }
            }
        }
        [(one, span)] => {
            let one = string(one, *span);
            set(node, "type", one, key_span);
            if nullable {
                mark_nullable(node, key_span);
            }
        }
        _ => {
            let names: Vec<&str> = others.iter().map(|(t, _)| t.as_str()).collect();
            diags.push(
                Diagnostic::error(
                    "unsupported-type-array",
                    format!(
                        "`type: [{}]` allows several types; rampart generates one Rust type per schema",
                        names.join(", ")
                    ),
                )
                .at(key_span)
                .label("several non-null types")
                .help("describe the alternatives with `oneOf: [{type: ...}, {type: ...}]`"),
            );
            remove(node, "type");
        }
    }
}

/// `anyOf`/`oneOf` with a `{type: "null"}` alternative (pydantic's way to
/// say nullable): the alternative goes, the schema becomes nullable, and a
/// single remaining alternative stands alone.
fn null_alternative(node: &mut Node, keyword: &str) {
    let Some((key, list)) = node.get_entry(keyword) else {
        return;
    };
    let key_span = key.span;
    let Some(items) = list.items() else {
        return;
    };
    let is_null = |n: &Node| {
        n.entries().is_some_and(|e| {
            e.iter().all(|(k, v)| {
                (k.text == "type" && v.as_str() == Some("null"))
                    || (k.text == "const" && v.kind == NodeKind::Null)
                    || (k.text == "enum"
                        && v.items()
                            .is_some_and(|i| i.iter().all(|x| x.kind == NodeKind::Null)))
                    || (k.text == "nullable" || ANNOTATIONS.contains(&k.text.as_str()))
            }) && (n.get("type").and_then(Node::as_str) == Some("null")
                || n.get("enum").is_some()
                || n.get("const").is_some())
        })
    };
    if !items.iter().any(is_null) {
        return;
    }
    let rest: Vec<Node> = items.iter().filter(|n| !is_null(n)).cloned().collect();
    mark_nullable(node, key_span);
    let composed = ["allOf", "oneOf", "anyOf"]
        .iter()
        .filter(|k| node.get(k).is_some())
        .count();
    match rest.as_slice() {
        [] => {
            remove(node, keyword);
            set(
                node,
                "enum",
                Node {
                    kind: NodeKind::Seq(vec![Node {
                        kind: NodeKind::Null,
                        span: key_span,
                    }]),
                    span: key_span,
                },
                key_span,
            );
        }
        [only] if composed == 1 => {
            remove(node, keyword);
            if only.get("$ref").is_some() {
                // A reference stays one: `allOf: [{$ref}]` beside `nullable`.
                set(
                    node,
                    "allOf",
                    Node {
                        kind: NodeKind::Seq(vec![only.clone()]),
                        span: key_span,
                    },
                    key_span,
                );
            } else {
                for (k, v) in only.entries().unwrap_or_default() {
                    if node.get(&k.text).is_none() || k.text == "nullable" {
                        set(node, &k.text, v.clone(), k.span);
                    } else {
                        // The parent has its own value for this keyword:
                        // keep the alternative whole rather than merge.
                        set(
                            node,
                            "allOf",
                            Node {
                                kind: NodeKind::Seq(vec![only.clone()]),
                                span: key_span,
                            },
                            key_span,
                        );
                        break;
                    }
                }
            }
        }
        _ => {
            let span = node.get(keyword).map_or(key_span, |n| n.span);
            set(
                node,
                keyword,
                Node {
                    kind: NodeKind::Seq(rest),
                    span,
                },
                key_span,
            );
        }
    }
}

/// Set `nullable: true`, marked as written the 3.1 way (no 3.0 warning).
fn mark_nullable(node: &mut Node, span: Span) {
    set(
        node,
        "nullable",
        Node {
            kind: NodeKind::Bool(true),
            span,
        },
        span,
    );
    set(
        node,
        "x-rampart-normalized-nullable",
        Node {
            kind: NodeKind::Bool(true),
            span,
        },
        span,
    );
}

/// `const: v` → `enum: [v]`.
fn constant(node: &mut Node) {
    let Some((key, value)) = node.get_entry("const") else {
        return;
    };
    let span = key.span;
    let value = value.clone();
    remove(node, "const");
    if value.kind == NodeKind::Null {
        mark_nullable(node, span);
    }
    set(
        node,
        "enum",
        Node {
            kind: NodeKind::Seq(vec![value]),
            span,
        },
        span,
    );
}

/// Numeric `exclusiveMinimum: n` → `minimum: n, exclusiveMinimum: true`
/// (the stricter of it and a `minimum` beside it); a boolean one is the 3.0
/// form, read as 3.0 would with a warning.
fn exclusive_bound(node: &mut Node, exclusive: &str, inclusive: &str, diags: &mut Diagnostics) {
    let Some((key, value)) = node.get_entry(exclusive) else {
        return;
    };
    let span = key.span;
    let bound = match value.kind {
        NodeKind::Int(n) => n as f64,
        NodeKind::Float(f) => f,
        NodeKind::Bool(_) => {
            diags.push(
                Diagnostic::warning(
                    "openapi-30-keyword",
                    format!("a boolean `{exclusive}` is the OpenAPI 3.0 form; read as 3.0 would"),
                )
                .at(span)
                .help(format!("in OpenAPI 3.1 write `{exclusive}: <number>` instead of `{inclusive}` and `{exclusive}: true`")),
            );
            return;
        }
        _ => return,
    };
    let number = value.clone();
    let lower = exclusive == "exclusiveMinimum";
    let inclusive_value = node.get(inclusive).and_then(|n| match n.kind {
        NodeKind::Int(i) => Some(i as f64),
        NodeKind::Float(f) => Some(f),
        _ => None,
    });
    // With both, the stricter one decides.
    let inclusive_stricter =
        inclusive_value.is_some_and(|v| if lower { v > bound } else { v < bound });
    if inclusive_stricter {
        remove(node, exclusive);
    } else {
        set(node, inclusive, number, span);
        set(
            node,
            exclusive,
            Node {
                kind: NodeKind::Bool(true),
                span,
            },
            span,
        );
    }
}

/// A schema's `examples` array → `example` (its first entry).
fn examples(node: &mut Node) {
    let Some(first) = node
        .get("examples")
        .and_then(Node::items)
        .and_then(<[Node]>::first)
        .cloned()
    else {
        return;
    };
    let span = first.span;
    remove(node, "examples");
    if node.get("example").is_none() {
        set(node, "example", first, span);
    }
}

fn key(text: &str, span: Span) -> Key {
    Key {
        text: text.to_owned(),
        span,
    }
}

fn string(text: &str, span: Span) -> Node {
    Node {
        kind: NodeKind::Str(text.to_owned()),
        span,
    }
}

fn map(entries: Vec<(Key, Node)>, span: Span) -> Node {
    Node {
        kind: NodeKind::Map(entries),
        span,
    }
}

fn get_mut<'a>(node: &'a mut Node, name: &str) -> Option<&'a mut Node> {
    match &mut node.kind {
        NodeKind::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.text == name)
            .map(|(_, v)| v),
        _ => None,
    }
}

fn entries_mut(node: &mut Node) -> impl Iterator<Item = (&mut Key, &mut Node)> {
    match &mut node.kind {
        NodeKind::Map(entries) => Some(entries.iter_mut().map(|(k, v)| (k, v))),
        _ => None,
    }
    .into_iter()
    .flatten()
}

fn remove(node: &mut Node, name: &str) {
    if let NodeKind::Map(entries) = &mut node.kind {
        entries.retain(|(k, _)| k.text != name);
    }
}

/// Insert `name` (at the end) when absent.
fn insert(node: &mut Node, name: &str, value: Node, span: Span) {
    if let NodeKind::Map(entries) = &mut node.kind
        && !entries.iter().any(|(k, _)| k.text == name)
    {
        entries.push((key(name, span), value));
    }
}

/// Set `name`, replacing a value in place (its key keeps its position).
fn set(node: &mut Node, name: &str, value: Node, span: Span) {
    if let NodeKind::Map(entries) = &mut node.kind {
        match entries.iter_mut().find(|(k, _)| k.text == name) {
            Some((_, slot)) => *slot = value,
            None => entries.push((key(name, span), value)),
        }
    }
}

/// The mapping under `name`, created when absent.
fn child<'a>(node: &'a mut Node, name: &str, span: Span) -> &'a mut Node {
    insert(node, name, map(Vec::new(), span), span);
    get_mut(node, name).expect("inserted above")
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, Loaded, SecuritySchemeKind, Severity, load_str};

    fn load(body: &str) -> Loaded {
        load_str(
            "api.yaml",
            format!("openapi: 3.1.1\ninfo: {{ title: t, version: '1' }}\n{body}"),
        )
    }

    /// The normalized schema at `pointer`, as JSON.
    fn schema(loaded: &Loaded, pointer: &str) -> serde_json::Value {
        let model = loaded
            .model
            .as_ref()
            .unwrap_or_else(|| panic!("{}", loaded.render()));
        model.root.pointer(pointer).expect(pointer).to_json()
    }

    fn codes(loaded: &Loaded) -> Vec<(Severity, &'static str, String)> {
        loaded
            .diagnostics
            .iter()
            .map(|d| {
                let at = d
                    .span
                    .map(|s| {
                        let (line, col) = loaded.files.get(s.file).line_col(s.start as usize);
                        format!("{line}:{col}")
                    })
                    .unwrap_or_default();
                (d.severity, d.code, at)
            })
            .collect()
    }

    #[test]
    fn schema_keywords_are_read_as_their_30_equivalents() {
        let loaded = load(
            r#"paths: {}
components:
  schemas:
    Name: { type: [string, "null"], maxLength: 8 }
    Kind: { const: pet }
    Age: { type: integer, exclusiveMinimum: 0, exclusiveMaximum: 150 }
    Tag: { $ref: '#/components/schemas/Name', maxLength: 4, description: short }
    Plain: { $ref: '#/components/schemas/Name', description: only a note }
    Maybe: { anyOf: [ { $ref: '#/components/schemas/Kind' }, { type: 'null' } ] }
    Pair: { type: array, prefixItems: [ { type: string }, { type: integer } ], items: false }
    Ex: { type: string, examples: [a, b] }
    Any: { type: object, properties: { x: true } }
    Score: { anyOf: [ { type: number, maximum: 1.0, exclusiveMinimum: 0.0 }, { type: 'null' } ] }
"#,
        );
        assert!(!loaded.has_errors(), "{}", loaded.render());
        assert!(loaded.diagnostics.is_empty(), "{}", loaded.render());
        let model = loaded.model.as_ref().unwrap();
        assert_eq!(model.dialect, Dialect::V31);
        let s = |name: &str| schema(&loaded, &format!("/components/schemas/{name}"));
        assert_eq!(
            s("Name"),
            serde_json::json!({"type": "string", "maxLength": 8, "nullable": true})
        );
        assert_eq!(s("Kind"), serde_json::json!({"enum": ["pet"]}));
        assert_eq!(
            s("Age"),
            serde_json::json!({"type": "integer", "exclusiveMinimum": true, "exclusiveMaximum": true, "minimum": 0, "maximum": 150})
        );
        assert_eq!(
            s("Tag"),
            serde_json::json!({"allOf": [{"$ref": "#/components/schemas/Name"}, {"maxLength": 4, "type": "string"}], "description": "short"})
        );
        assert_eq!(
            s("Plain"),
            serde_json::json!({"$ref": "#/components/schemas/Name", "description": "only a note"})
        );
        assert_eq!(
            s("Maybe"),
            serde_json::json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/Kind"}]})
        );
        assert_eq!(
            s("Pair"),
            serde_json::json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "maxItems": 2,
                "x-rampart-2020-12": {"prefixItems": [{"type": "string"}, {"type": "integer"}]}})
        );
        assert_eq!(
            s("Ex"),
            serde_json::json!({"type": "string", "example": "a"})
        );
        assert_eq!(
            s("Score"),
            serde_json::json!({"nullable": true, "type": "number", "maximum": 1.0, "minimum": 0.0, "exclusiveMinimum": true})
        );
        assert_eq!(
            s("Any"),
            serde_json::json!({"type": "object", "properties": {"x": {}}})
        );
        // The rewritten values keep the position they were written at.
        let kind = model.root.pointer("/components/schemas/Kind/enum").unwrap();
        let at = loaded
            .files
            .get(kind.span.file)
            .line_col(kind.span.start as usize);
        assert_eq!(at, (7, 13));
    }

    #[test]
    fn webhooks_path_items_and_mutual_tls_load() {
        let loaded = load(
            r#"webhooks:
  newPet:
    post:
      requestBody: { content: { application/json: { schema: { type: object } } } }
      responses: { "200": { description: ok } }
components:
  pathItems:
    Pets:
      get:
        operationId: listPets
        security: [ { mtls: [] } ]
  securitySchemes:
    mtls: { type: mutualTLS }
"#,
        );
        assert!(!loaded.has_errors(), "{}", loaded.render());
        let model = loaded.model.as_ref().unwrap();
        assert!(model.operations.is_empty(), "no paths: nothing served");
        assert_eq!(model.scheme("mtls"), Some(&SecuritySchemeKind::MutualTls));
        assert!(model.root.get("webhooks").is_none());

        let loaded = load(
            r#"paths:
  /pets: { $ref: '#/components/pathItems/Pets', summary: Pets }
components:
  pathItems:
    Pets:
      get: { operationId: listPets }
"#,
        );
        assert!(!loaded.has_errors(), "{}", loaded.render());
        let model = loaded.model.as_ref().unwrap();
        assert_eq!(model.operations.len(), 1);
        assert_eq!(model.operations[0].id, "listPets");
    }

    #[test]
    fn what_the_30_shape_cannot_carry_is_refused_at_its_line() {
        let loaded = load(
            r#"jsonSchemaDialect: https://json-schema.org/draft/2019-09/schema
paths:
  /things:
    query: { operationId: search }
    get:
      operationId: getThings
      parameters:
        - { name: q, in: querystring, content: { application/json: { schema: { type: object } } } }
components:
  schemas:
    Either: { type: [string, integer] }
"#,
        );
        assert!(loaded.has_errors());
        let found = codes(&loaded);
        for expected in [
            (Severity::Error, "unsupported-dialect", "3:20".to_owned()),
            (Severity::Error, "unsupported-method", "6:5".to_owned()),
            (Severity::Error, "unsupported-parameter", "10:26".to_owned()),
            (
                Severity::Error,
                "unsupported-type-array",
                "13:15".to_owned(),
            ),
        ] {
            assert!(found.contains(&expected), "{expected:?} in {found:?}");
        }
    }

    #[test]
    fn openapi_30_keywords_in_a_31_document_are_read_with_a_warning() {
        let loaded = load(
            r#"paths: {}
components:
  schemas:
    Old: { type: string, nullable: true }
    Bound: { type: integer, minimum: 0, exclusiveMinimum: true }
"#,
        );
        assert!(!loaded.has_errors(), "{}", loaded.render());
        assert_eq!(
            codes(&loaded),
            [
                (Severity::Warning, "openapi-30-keyword", "6:26".to_owned()),
                (Severity::Warning, "openapi-30-keyword", "7:41".to_owned()),
            ]
        );
        let rendered = loaded.render();
        assert!(rendered.contains("type: [<type>, \"null\"]"), "{rendered}");
    }

    #[test]
    fn keywords_beside_compositions_and_annotation_parts_hold_in_every_version() {
        for version in ["3.0.3", "3.1.1"] {
            let loaded = load_str(
                "api.yaml",
                format!(
                    r#"openapi: {version}
info: {{ title: t, version: '1' }}
paths: {{}}
components:
  schemas:
    Base: {{ type: object, properties: {{ id: {{ type: string }} }} }}
    Contact:
      type: object
      properties: {{ email: {{ type: string }}, phone: {{ type: string }} }}
      anyOf: [ {{ required: [email] }}, {{ required: [phone] }} ]
    Extended:
      allOf: [ {{ $ref: '#/components/schemas/Base' }} ]
      required: [id]
    Created:
      allOf:
        - $ref: '#/components/schemas/Base'
        - example: {{ id: x }}
        - readOnly: true
    Status: {{ type: string, enum: [], allOf: [ {{ $ref: '#/components/schemas/Base' }} ] }}
"#
                ),
            );
            assert!(!loaded.has_errors(), "{}", loaded.render());
            let s = |name: &str| schema(&loaded, &format!("/components/schemas/{name}"));
            assert_eq!(
                s("Contact"),
                serde_json::json!({"allOf": [
                    {"type": "object", "properties": {"email": {"type": "string"}, "phone": {"type": "string"}}},
                    {"anyOf": [{"required": ["email"]}, {"required": ["phone"]}]}
                ]}),
                "{version}"
            );
            assert_eq!(
                s("Extended"),
                serde_json::json!({"allOf": [{"$ref": "#/components/schemas/Base"}, {"required": ["id"]}]}),
                "{version}"
            );
            assert_eq!(
                s("Created"),
                serde_json::json!({"allOf": [{"$ref": "#/components/schemas/Base"}], "example": {"id": "x"}, "readOnly": true}),
                "{version}"
            );
            // `enum: []` is read as absent, with a warning at its line.
            assert_eq!(
                codes(&loaded),
                [(Severity::Warning, "empty-enum", "19:29".to_owned())],
                "{version}"
            );
        }
    }

    #[test]
    fn a_schema_of_string_or_number_keywords_only_is_read_as_that_type() {
        let loaded = load(
            r#"paths: {}
components:
  schemas:
    Short: { maxLength: 4 }
    Positive: { minimum: 0 }
    Mixed: { maxLength: 4, minimum: 0 }
    Code: { $ref: '#/components/schemas/Short', pattern: '^a' }
"#,
        );
        assert!(!loaded.has_errors(), "{}", loaded.render());
        let s = |name: &str| schema(&loaded, &format!("/components/schemas/{name}"));
        assert_eq!(
            s("Short"),
            serde_json::json!({"maxLength": 4, "type": "string"})
        );
        assert_eq!(
            s("Positive"),
            serde_json::json!({"minimum": 0, "type": "number"})
        );
        assert_eq!(
            s("Mixed"),
            serde_json::json!({"maxLength": 4, "minimum": 0})
        );
        assert_eq!(
            s("Code"),
            serde_json::json!({"allOf": [{"$ref": "#/components/schemas/Short"}, {"pattern": "^a", "type": "string"}]})
        );
    }

    #[test]
    fn versions_outside_3_0_to_3_2_are_refused() {
        let loaded = load_str(
            "api.yaml",
            "openapi: 4.0.0\ninfo: { title: t, version: '1' }\npaths: {}\n".to_owned(),
        );
        let rendered = loaded.render();
        assert!(
            rendered.contains("error[unsupported-version]"),
            "{rendered}"
        );
        assert!(
            rendered.contains("supports OpenAPI 3.0.x, 3.1.x and 3.2.x"),
            "{rendered}"
        );
    }
}
