//! The validation keywords of two schemas, compared.
//!
//! Schemas are compared on the document trees (every `$ref` resolved, so a
//! refactor into a component that resolves to the same schema is no
//! change), walking nested properties, `items`, `additionalProperties` and
//! `allOf`/`oneOf`/`anyOf` entries up to [`MAX_DEPTH`] levels; a pair of
//! schemas already compared is not compared again, which ends recursive
//! schemas. Descriptions, examples, titles and key order are never looked
//! at. A property added to an object is not reported (it is validated by
//! its own schema); a property removed from an object that is still open
//! is (its value is no longer validated).

use std::collections::HashSet;

use rampart_spec::node::{Node, NodeKind};
use rampart_spec::source::Span;

/// Deepest nesting of schemas compared.
pub(crate) const MAX_DEPTH: usize = 24;

/// Most `$ref` hops followed.
const MAX_HOPS: usize = 32;

/// Follow local `$ref`s to the value.
pub(crate) fn deref<'a>(root: &'a Node, mut node: &'a Node) -> &'a Node {
    for _ in 0..MAX_HOPS {
        let Some(target) = node
            .get("$ref")
            .and_then(Node::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|p| root.pointer(p))
        else {
            return node;
        };
        node = target;
    }
    node
}

/// One validation change.
pub(crate) struct Change {
    /// Loosened (a security regression), else tightened (breaking).
    pub(crate) loosened: bool,
    /// What changed, naming the parameter or body and the field.
    pub(crate) message: String,
    /// The old value, short.
    pub(crate) old: String,
    /// The new value, short.
    pub(crate) new: String,
    /// Where, in NEW.
    pub(crate) span: Span,
}

/// A comparison of the schemas of one operation, OLD against NEW.
pub(crate) struct Walk<'a> {
    old_root: &'a Node,
    new_root: &'a Node,
    /// Pairs of schemas already compared (by where they are written).
    seen: HashSet<(Span, Span)>,
    /// The changes found so far.
    pub(crate) changes: Vec<Change>,
}

impl<'a> Walk<'a> {
    /// A comparison between two document trees.
    pub(crate) fn new(old_root: &'a Node, new_root: &'a Node) -> Self {
        Walk {
            old_root,
            new_root,
            seen: HashSet::new(),
            changes: Vec::new(),
        }
    }
}

fn number(node: &Node, key: &str) -> Option<f64> {
    match node.get(key)?.kind {
        NodeKind::Int(i) => Some(i as f64),
        NodeKind::Float(f) => Some(f),
        _ => None,
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn flag(node: &Node, key: &str) -> bool {
    node.get(key).and_then(Node::as_bool).unwrap_or(false)
}

fn text(node: &Node, key: &str) -> Option<String> {
    node.get(key).and_then(Node::scalar_text)
}

/// Items of a list keyword as canonical JSON text.
fn values(node: &Node, key: &str) -> Option<Vec<String>> {
    let items = node.get(key)?.items()?;
    Some(items.iter().map(|n| n.to_json().to_string()).collect())
}

fn strings(node: &Node, key: &str) -> Vec<String> {
    node.get(key)
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect()
}

/// `type` as a sorted list (a 3.1 list, or one name).
fn types(node: &Node) -> Option<Vec<String>> {
    let t = node.get("type")?;
    let mut out: Vec<String> = match t.items() {
        Some(items) => items
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        None => vec![t.as_str()?.to_owned()],
    };
    out.sort();
    Some(out)
}

enum Additional<'a> {
    Open,
    Closed,
    Schema(&'a Node),
}

fn additional(node: &Node) -> Additional<'_> {
    match node.get("additionalProperties") {
        None => Additional::Open,
        Some(n) => match &n.kind {
            NodeKind::Bool(false) => Additional::Closed,
            NodeKind::Map(entries) if !entries.is_empty() => Additional::Schema(n),
            _ => Additional::Open,
        },
    }
}

fn list_text(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

impl Walk<'_> {
    /// Record a change of `label` (a parameter or body) at `field` (a
    /// dotted path in it, or empty).
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        loosened: bool,
        label: &str,
        field: &str,
        what: String,
        old: String,
        new: String,
        span: Span,
    ) {
        let at = if field.is_empty() {
            label.to_owned()
        } else {
            format!("{label}, field `{field}`")
        };
        self.changes.push(Change {
            loosened,
            message: format!("{at}: {what}"),
            old,
            new,
            span,
        });
    }

    /// Compare two schemas (refs resolved) and everything nested in them;
    /// `label` names the parameter or body, `field` the path in it.
    pub(crate) fn schema(
        &mut self,
        label: &str,
        field: &str,
        old: &Node,
        new: &Node,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let old = deref(self.old_root, old);
        let new = deref(self.new_root, new);
        if !self.seen.insert((old.span, new.span)) {
            return;
        }
        if old.entries().is_none() || new.entries().is_none() {
            return;
        }
        let at = |key: &str| new.get(key).map_or(new.span, |n| n.span);
        self.bounds(label, field, old, new, &at);
        self.words(label, field, old, new, &at);
        self.enums_and_types(label, field, old, new, &at);
        self.objects(label, field, old, new, depth, &at);

        if let (Some(a), Some(b)) = (old.get("items"), new.get("items")) {
            self.schema(label, &format!("{field}[]"), a, b, depth + 1);
        } else if old.get("items").is_some() && new.get("items").is_none() {
            self.push(
                true,
                label,
                field,
                "`items` schema removed".into(),
                "schema".into(),
                "(none)".into(),
                new.span,
            );
        }
        for (key, added_loosens) in [("allOf", false), ("oneOf", true), ("anyOf", true)] {
            let a = old.get(key).and_then(Node::items).unwrap_or_default();
            let b = new.get(key).and_then(Node::items).unwrap_or_default();
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let sub = format!("{field}({key}[{i}])");
                self.schema(label, &sub, x, y, depth + 1);
            }
            if a.len() != b.len() && !(a.is_empty() && b.is_empty()) {
                let loosened = (b.len() > a.len()) == added_loosens;
                self.push(
                    loosened,
                    label,
                    field,
                    format!("`{key}` went from {} to {} entries", a.len(), b.len()),
                    a.len().to_string(),
                    b.len().to_string(),
                    at(key),
                );
            }
        }
        let unenforced = |n: &Node| {
            n.get("x-rampart")
                .map(|x| strings(x, "unenforced"))
                .unwrap_or_default()
        };
        let (was, is) = (unenforced(old), unenforced(new));
        let newly: Vec<String> = is.iter().filter(|k| !was.contains(k)).cloned().collect();
        if !newly.is_empty() {
            let span = new.get("x-rampart").map_or(new.span, |n| n.span);
            self.push(
                true,
                label,
                field,
                format!(
                    "{} no longer enforced (`x-rampart.unenforced`)",
                    list_text(&newly)
                ),
                list_text(&was),
                list_text(&is),
                span,
            );
        }
    }

    fn bounds(
        &mut self,
        label: &str,
        field: &str,
        old: &Node,
        new: &Node,
        at: &dyn Fn(&str) -> Span,
    ) {
        // (keyword, is an upper bound, value when absent)
        const BOUNDS: &[(&str, bool, Option<f64>)] = &[
            ("maxLength", true, None),
            ("maxItems", true, None),
            ("maxProperties", true, None),
            ("maximum", true, None),
            ("minLength", false, Some(0.0)),
            ("minItems", false, Some(0.0)),
            ("minProperties", false, Some(0.0)),
            ("minimum", false, None),
        ];
        for &(key, upper, absent) in BOUNDS {
            let a = number(old, key).or(absent);
            let b = number(new, key).or(absent);
            match (a, b) {
                (Some(a), Some(b)) if a != b => {
                    let raised = b > a;
                    let verb = if raised { "raised" } else { "lowered" };
                    self.push(
                        raised == upper,
                        label,
                        field,
                        format!("{key} {verb} from {} to {}", number_text(a), number_text(b)),
                        number_text(a),
                        number_text(b),
                        at(key),
                    );
                }
                (Some(a), None) => self.push(
                    true,
                    label,
                    field,
                    format!("{key} {} removed", number_text(a)),
                    number_text(a),
                    "(none)".into(),
                    new.span,
                ),
                (None, Some(b)) => self.push(
                    false,
                    label,
                    field,
                    format!("{key} {} added", number_text(b)),
                    "(none)".into(),
                    number_text(b),
                    at(key),
                ),
                _ => {}
            }
        }
        for key in ["exclusiveMaximum", "exclusiveMinimum", "uniqueItems"] {
            let (a, b) = (flag(old, key), flag(new, key));
            if a != b {
                self.push(
                    a,
                    label,
                    field,
                    format!("`{key}` turned {}", if b { "on" } else { "off" }),
                    a.to_string(),
                    b.to_string(),
                    at(key),
                );
            }
        }
        match (number(old, "multipleOf"), number(new, "multipleOf")) {
            (Some(a), Some(b)) if a != b => {
                let finer = a != 0.0 && (b / a).fract() != 0.0;
                self.push(
                    finer,
                    label,
                    field,
                    format!(
                        "multipleOf changed from {} to {}",
                        number_text(a),
                        number_text(b)
                    ),
                    number_text(a),
                    number_text(b),
                    at("multipleOf"),
                );
            }
            (Some(a), None) => self.push(
                true,
                label,
                field,
                format!("multipleOf {} removed", number_text(a)),
                number_text(a),
                "(none)".into(),
                new.span,
            ),
            (None, Some(b)) => self.push(
                false,
                label,
                field,
                format!("multipleOf {} added", number_text(b)),
                "(none)".into(),
                number_text(b),
                at("multipleOf"),
            ),
            _ => {}
        }
    }

    fn words(
        &mut self,
        label: &str,
        field: &str,
        old: &Node,
        new: &Node,
        at: &dyn Fn(&str) -> Span,
    ) {
        for key in ["pattern", "format"] {
            match (text(old, key), text(new, key)) {
                (Some(a), Some(b)) if a != b => self.push(
                    true,
                    label,
                    field,
                    format!("{key} changed from `{a}` to `{b}`"),
                    a,
                    b,
                    at(key),
                ),
                (Some(a), None) => self.push(
                    true,
                    label,
                    field,
                    format!("{key} `{a}` removed"),
                    a,
                    "(none)".into(),
                    new.span,
                ),
                (None, Some(b)) => self.push(
                    false,
                    label,
                    field,
                    format!("{key} `{b}` added"),
                    "(none)".into(),
                    b,
                    at(key),
                ),
                _ => {}
            }
        }
        let (a, b) = (flag(old, "nullable"), flag(new, "nullable"));
        if a != b {
            self.push(
                b,
                label,
                field,
                format!("`nullable` turned {}", if b { "on" } else { "off" }),
                a.to_string(),
                b.to_string(),
                at("nullable"),
            );
        }
    }

    fn enums_and_types(
        &mut self,
        label: &str,
        field: &str,
        old: &Node,
        new: &Node,
        at: &dyn Fn(&str) -> Span,
    ) {
        match (values(old, "enum"), values(new, "enum")) {
            (Some(a), Some(b)) => {
                let added: Vec<String> = b.iter().filter(|v| !a.contains(v)).cloned().collect();
                let removed: Vec<String> = a.iter().filter(|v| !b.contains(v)).cloned().collect();
                if !added.is_empty() {
                    self.push(
                        true,
                        label,
                        field,
                        format!("enum widened: {} added", list_text(&added)),
                        list_text(&a),
                        list_text(&b),
                        at("enum"),
                    );
                }
                if !removed.is_empty() {
                    self.push(
                        false,
                        label,
                        field,
                        format!("enum narrowed: {} removed", list_text(&removed)),
                        list_text(&a),
                        list_text(&b),
                        at("enum"),
                    );
                }
            }
            (Some(a), None) => self.push(
                true,
                label,
                field,
                format!("enum {} removed", list_text(&a)),
                list_text(&a),
                "(none)".into(),
                new.span,
            ),
            (None, Some(b)) => self.push(
                false,
                label,
                field,
                format!("enum {} added", list_text(&b)),
                "(none)".into(),
                list_text(&b),
                at("enum"),
            ),
            (None, None) => {}
        }
        match (types(old), types(new)) {
            (Some(a), Some(b)) if a != b => {
                let narrowed = (a == ["number"] && b == ["integer"])
                    || (b.len() < a.len() && b.iter().all(|t| a.contains(t)));
                self.push(
                    !narrowed,
                    label,
                    field,
                    format!(
                        "type {} from {} to {}",
                        if narrowed { "narrowed" } else { "changed" },
                        a.join("|"),
                        b.join("|")
                    ),
                    a.join("|"),
                    b.join("|"),
                    at("type"),
                );
            }
            (Some(a), None) => self.push(
                true,
                label,
                field,
                format!("type {} removed (any type accepted)", a.join("|")),
                a.join("|"),
                "(any)".into(),
                new.span,
            ),
            (None, Some(b)) => self.push(
                false,
                label,
                field,
                format!("type {} added", b.join("|")),
                "(any)".into(),
                b.join("|"),
                at("type"),
            ),
            _ => {}
        }
    }

    fn objects(
        &mut self,
        label: &str,
        field: &str,
        old: &Node,
        new: &Node,
        depth: usize,
        at: &dyn Fn(&str) -> Span,
    ) {
        let join = |name: &str| {
            if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            }
        };
        let (was, is) = (strings(old, "required"), strings(new, "required"));
        for name in was.iter().filter(|n| !is.contains(n)) {
            self.push(
                true,
                label,
                &join(name),
                "no longer required".into(),
                "required".into(),
                "optional".into(),
                at("required"),
            );
        }
        for name in is.iter().filter(|n| !was.contains(n)) {
            self.push(
                false,
                label,
                &join(name),
                "now required".into(),
                "optional".into(),
                "required".into(),
                at("required"),
            );
        }
        let closed_after = matches!(additional(new), Additional::Closed);
        match (additional(old), additional(new)) {
            (Additional::Closed, Additional::Open) => self.push(
                true,
                label,
                field,
                "additionalProperties opened (was `false`)".into(),
                "false".into(),
                "true".into(),
                at("additionalProperties"),
            ),
            (Additional::Closed, Additional::Schema(_)) => self.push(
                true,
                label,
                field,
                "additionalProperties opened to a schema (was `false`)".into(),
                "false".into(),
                "schema".into(),
                at("additionalProperties"),
            ),
            (Additional::Schema(_), Additional::Open) => self.push(
                true,
                label,
                field,
                "additionalProperties schema removed (any extra property accepted)".into(),
                "schema".into(),
                "true".into(),
                at("additionalProperties"),
            ),
            (Additional::Open, Additional::Closed)
            | (Additional::Schema(_), Additional::Closed) => self.push(
                false,
                label,
                field,
                "additionalProperties closed (`false`)".into(),
                "true".into(),
                "false".into(),
                at("additionalProperties"),
            ),
            (Additional::Open, Additional::Schema(_)) => self.push(
                false,
                label,
                field,
                "additionalProperties restricted to a schema".into(),
                "true".into(),
                "schema".into(),
                at("additionalProperties"),
            ),
            (Additional::Schema(a), Additional::Schema(b)) => {
                self.schema(label, &join("*"), a, b, depth + 1);
            }
            _ => {}
        }
        let before = old
            .get("properties")
            .and_then(Node::entries)
            .unwrap_or_default();
        let after = new
            .get("properties")
            .and_then(Node::entries)
            .unwrap_or_default();
        let after_span = new.get("properties").map_or(new.span, |n| n.span);
        for (key, a) in before {
            match after.iter().find(|(k, _)| k.text == key.text) {
                Some((_, b)) => self.schema(label, &join(&key.text), a, b, depth + 1),
                None if closed_after => self.push(
                    false,
                    label,
                    &join(&key.text),
                    "property removed from a closed object (now refused)".into(),
                    "present".into(),
                    "(absent)".into(),
                    after_span,
                ),
                None => self.push(
                    true,
                    label,
                    &join(&key.text),
                    "property removed: its value is no longer validated".into(),
                    "present".into(),
                    "(absent)".into(),
                    after_span,
                ),
            }
        }
    }
}
