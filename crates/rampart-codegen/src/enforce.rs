//! Constraints the generated validators cannot enforce are errors, not
//! warnings: a pattern Rust's regex cannot compile (after the ECMA-262
//! translation), or a keyword the generator has no check for. Each names the
//! keyword's `file:line:col`; a schema opts out explicitly and visibly with
//! `x-rampart: { unenforced: [keyword, ...] }` (read by
//! `rampart_spec::schemas`).

use rampart_spec::node::Node;
use rampart_spec::schemas::{read_schema, walk};
use rampart_spec::{Diagnostic, Diagnostics};

use crate::ecma;

/// The diagnostic code of an unenforceable constraint.
pub const CODE: &str = "unenforceable";

/// JSON Schema keywords that constrain a value: every one present in a
/// schema is either enforced for the shape the generator reads the schema
/// as, or reported; nothing is dropped silently. Keywords not listed only
/// annotate (`description`, `example`, `format`, ...).
use rampart_spec::schemas::UNENFORCEABLE as CONSTRAINING;

/// How the generator reads a schema (mirrors `shape::shape`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Num,
    Bool,
    Array,
    /// An object with named properties (or `additionalProperties: false`): a struct.
    Struct,
    /// An object of arbitrary keys: a map.
    Map,
    AllOf,
    OneOf,
    AnyOf,
    /// No type the generator can read: untyped JSON.
    Untyped,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Int => "an integer",
            Kind::Num => "a number",
            Kind::Bool => "a boolean",
            Kind::Array => "an array",
            Kind::Struct => "an object with named properties (a struct)",
            Kind::Map => "a map",
            Kind::AllOf => "an `allOf`",
            Kind::OneOf => "a `oneOf`",
            Kind::AnyOf => "an `anyOf`",
            Kind::Untyped => "untyped JSON (it has no `type`)",
        }
    }
}

fn kind(schema: &Node) -> Kind {
    let has = |k: &str| schema.get(k).is_some();
    let non_empty = |k: &str| {
        schema
            .get(k)
            .and_then(Node::items)
            .is_some_and(|i| !i.is_empty())
    };
    let properties = schema
        .get("properties")
        .and_then(Node::entries)
        .is_some_and(|p| !p.is_empty());
    if non_empty("allOf") && !properties {
        return Kind::AllOf;
    }
    if non_empty("oneOf") {
        return Kind::OneOf;
    }
    if non_empty("anyOf") {
        return Kind::AnyOf;
    }
    let denied = schema.get("additionalProperties").and_then(Node::as_bool) == Some(false);
    match schema.get("type").and_then(Node::as_str) {
        Some("string") => Kind::Str,
        Some("integer") => Kind::Int,
        Some("number") => Kind::Num,
        Some("boolean") => Kind::Bool,
        Some("array") => Kind::Array,
        Some("object") | None if properties || denied => Kind::Struct,
        Some("object") => Kind::Map,
        None if has("additionalProperties") || has("required") => Kind::Map,
        None if has("items") => Kind::Array,
        _ => Kind::Untyped,
    }
}

/// The keywords of each type's vocabulary, with the kinds they apply to.
const VOCABULARIES: &[(&[Kind], &[&str])] = &[
    (&[Kind::Str], &["minLength", "maxLength", "pattern"]),
    (
        &[Kind::Int, Kind::Num],
        &[
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
        ],
    ),
    (
        &[Kind::Array],
        &[
            "items",
            "prefixItems",
            "minItems",
            "maxItems",
            "uniqueItems",
            "contains",
            "minContains",
            "maxContains",
            "unevaluatedItems",
        ],
    ),
    (
        &[Kind::Struct, Kind::Map],
        &[
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "dependentRequired",
            "dependentSchemas",
            "unevaluatedProperties",
        ],
    ),
];

/// Why `keyword` of `schema` is not enforced, or `None` when it is.
fn unenforced_reason(schema: &Node, keyword: &str, value: &Node) -> Option<String> {
    let kind = kind(schema);
    let reads_as = || {
        format!(
            "the generator reads this schema as {}, which has no check for `{keyword}`",
            kind.describe()
        )
    };
    let numeric = matches!(kind, Kind::Int | Kind::Num);
    // A keyword of another type's vocabulary is vacuous once the generator
    // has fixed the type (it refuses values of any other type).
    let vocabulary = VOCABULARIES
        .iter()
        .find(|(_, words)| words.contains(&keyword))
        .map(|(kinds, _)| *kinds);
    if let Some(kinds) = vocabulary
        && !matches!(
            kind,
            Kind::Untyped | Kind::AllOf | Kind::OneOf | Kind::AnyOf
        )
        && !kinds.contains(&kind)
    {
        return None;
    }
    let enforced = match keyword {
        "type" => kind != Kind::Untyped || value.as_str().is_none(),
        // String enums become Rust enums; numbers, booleans and untyped
        // values are checked by value.
        "enum" => matches!(
            kind,
            Kind::Str | Kind::Int | Kind::Num | Kind::Bool | Kind::Untyped
        ),
        "pattern" => {
            if kind != Kind::Str {
                return Some(reads_as());
            }
            // Rust's regex, else the backtracking engine (look-around,
            // backreferences) with its step limit.
            let pattern = value.as_str().unwrap_or_default();
            let rust = ecma::translate(pattern);
            let why = ecma::check(&rust).err()?;
            return ecma::check_backtracking(&rust).err().map(|backtracking| {
                format!("Rust's regex cannot compile `{pattern}` ({why}), nor can the backtracking engine ({backtracking})")
            });
        }
        "minLength" | "maxLength" => kind == Kind::Str,
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => numeric,
        "items" | "minItems" | "maxItems" | "uniqueItems" => kind == Kind::Array,
        // `properties: {}` names nothing to check.
        "properties" => kind == Kind::Struct || value.entries().is_some_and(<[_]>::is_empty),
        "required" => matches!(kind, Kind::Struct | Kind::Map),
        // A map's values, and a struct's keys beyond its named properties
        // (a flattened map), are checked against the schema; `false`
        // refuses unknown keys.
        "additionalProperties" => matches!(kind, Kind::Map | Kind::Struct),
        "minProperties" | "maxProperties" => kind == Kind::Map,
        // The names of a map are checked against the name schema's string
        // rules (its own keywords are walked and classified on their own).
        "propertyNames" => kind == Kind::Map && value.get("$ref").is_none(),
        // Items by position, on an array with no `items` schema for the rest.
        "prefixItems" => kind == Kind::Array && schema.get("items").is_none(),
        // Parts that merge become one struct; any other `allOf` checks the
        // value against every part (each part's own keywords are walked and
        // reported on their own).
        "allOf" => {
            if kind != Kind::AllOf {
                return Some(format!(
                    "it sits beside `properties`, which the generator reads as {}",
                    Kind::Struct.describe()
                ));
            }
            true
        }
        "oneOf" => kind == Kind::OneOf,
        "anyOf" => kind == Kind::AnyOf,
        "not" => {
            return Some(
                "the generator has no check for `not` (the value is untyped JSON)".to_owned(),
            );
        }
        _ => false,
    };
    (!enforced).then(reads_as)
}

/// What becomes of one constraining keyword of one schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordFate {
    /// JSON pointer of the schema.
    pub pointer: String,
    /// The keyword.
    pub keyword: String,
    /// `None`: enforced; otherwise why it cannot be.
    pub unenforced: Option<String>,
    /// The schema opts out of it with `x-rampart: { unenforced: [...] }`.
    pub opted_out: bool,
    /// Where the keyword is written.
    pub span: rampart_spec::Span,
}

/// Every constraining keyword of every schema of the document, and whether
/// the generated validators enforce it.
pub fn fates(root: &Node) -> Vec<KeywordFate> {
    let mut out = Vec::new();
    walk(root, &mut |pointer, schema| {
        let opted = read_schema(schema, &mut Diagnostics::default());
        for (key, value) in schema.entries().unwrap_or_default() {
            let keyword = key.text.as_str();
            if !CONSTRAINING.contains(&keyword) {
                continue;
            }
            out.push(KeywordFate {
                pointer: pointer.to_owned(),
                keyword: keyword.to_owned(),
                unenforced: unenforced_reason(schema, keyword, value),
                opted_out: opted.unenforced(keyword),
                span: key.span,
            });
        }
    });
    out
}

/// Every constraint of the document's schemas that the generator cannot
/// enforce and that no `x-rampart.unenforced` opts out of.
pub(crate) fn unenforceable(root: &Node) -> Vec<Diagnostic> {
    fates(root)
        .into_iter()
        .filter(|f| !f.opted_out)
        .filter_map(|f| {
            let why = f.unenforced?;
            let (pointer, keyword, span) = (&f.pointer, &f.keyword, f.span);
            Some(
                Diagnostic::error(
                    CODE,
                    format!("`{keyword}` of `{pointer}` cannot be enforced: {why}"),
                )
                .at(span)
                .label("not enforced by the generated validator")
                .help(format!(
                    "change the schema, or leave it unenforced explicitly with `x-rampart: {{ unenforced: [{keyword}] }}` on this schema"
                )),
            )
        })
        .collect()
}
