//! What every rule family shares: the model, the document tree, `$ref`
//! following on the tree (so findings keep their positions), span helpers,
//! and the report functions that give a finding its rule's severity.

use crate::diagnostic::{Diagnostic, Severity};
use crate::model::{ApiModel, Operation};
use crate::node::{Key, Node, NodeKind};
use crate::source::Span;

use super::rule;

/// Longest chain of `$ref`s followed before giving up.
const MAX_HOPS: usize = 32;

/// The linter's state while the rules run.
pub(crate) struct Ctx<'a> {
    /// The model being linted.
    pub(crate) model: &'a ApiModel,
    /// Its document tree.
    pub(crate) root: &'a Node,
    /// Findings so far, before re-levelling and de-duplication.
    pub(crate) findings: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(model: &'a ApiModel) -> Self {
        Ctx {
            model,
            root: &model.root,
            findings: Vec::new(),
        }
    }

    /// The `$ref` text of a node, if it is a reference object.
    pub(crate) fn ref_of(node: &Node) -> Option<&str> {
        node.get("$ref").and_then(Node::as_str)
    }

    /// Follow `$ref`s (local ones; the loader bundled the rest) to the value.
    /// `None` when a reference does not resolve.
    pub(crate) fn deref(&self, node: &'a Node) -> Option<&'a Node> {
        let mut current = node;
        for _ in 0..MAX_HOPS {
            let Some(reference) = Self::ref_of(current) else {
                return Some(current);
            };
            current = self.root.pointer(reference.strip_prefix('#')?)?;
        }
        None
    }

    /// The key naming the target of a local `$ref` (e.g. `BadRequest` under
    /// `components/responses`), and its last pointer token unescaped.
    pub(crate) fn ref_key(&self, reference: &str) -> Option<&'a Key> {
        let pointer = reference.strip_prefix('#')?;
        let (parent, last) = pointer.rsplit_once('/')?;
        let name = crate::node::unescape_pointer_token(last);
        self.root
            .pointer(parent)?
            .get_entry(&name)
            .map(|(key, _)| key)
    }

    /// The operation's node in the tree.
    pub(crate) fn op_node(&self, op: &Operation) -> Option<&'a Node> {
        self.root.pointer(&op.pointer)
    }

    /// The span of the method key (`get:`) of an operation, or of the operation.
    pub(crate) fn method_span(&self, op: &Operation) -> Span {
        op.pointer
            .rsplit_once('/')
            .and_then(|(item, method)| self.root.pointer(item)?.get_entry(method))
            .map_or(op.span, |(key, _)| key.span)
    }

    /// Where to point for an operation-level finding about `field` (e.g.
    /// `security`): the field's key if the operation writes it, else the method key.
    pub(crate) fn op_field_span(&self, op: &Operation, field: &str) -> Span {
        self.op_node(op)
            .and_then(|n| n.get_entry(field))
            .map_or_else(|| self.method_span(op), |(k, v)| entry_span(k, v))
    }

    /// Record a finding at the rule's default severity.
    pub(crate) fn report(
        &mut self,
        id: &'static str,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let severity = rule(id).map_or(Severity::Error, |r| r.severity);
        self.push(id, severity, span, message.into(), help.into());
    }

    /// Record a finding whose severity rampart lowers (see the rule's `lowering`);
    /// the message says why.
    pub(crate) fn report_lowered(
        &mut self,
        id: &'static str,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let mut message = message.into();
        let severity = match rule(id).and_then(|r| r.lowering) {
            Some(lowering) => {
                message.push_str(" (");
                message.push_str(lowering.note);
                message.push(')');
                lowering.severity
            }
            None => rule(id).map_or(Severity::Error, |r| r.severity),
        };
        self.push(id, severity, span, message, help.into());
    }

    /// Record a finding, lowered or not.
    pub(crate) fn report_if_lowered(
        &mut self,
        lowered: bool,
        id: &'static str,
        span: Span,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        if lowered {
            self.report_lowered(id, span, message, help);
        } else {
            self.report(id, span, message, help);
        }
    }

    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        span: Span,
        message: String,
        help: String,
    ) {
        self.findings.push(Diagnostic {
            severity,
            code,
            message,
            span: Some(span),
            label: None,
            help: Some(help),
        });
    }
}

/// A span covering `key: value` when the value is a scalar (one line), else the key.
pub(crate) fn entry_span(key: &Key, value: &Node) -> Span {
    let scalar = !matches!(value.kind, NodeKind::Map(_) | NodeKind::Seq(_));
    if scalar && value.span.file == key.span.file && value.span.end >= key.span.start {
        Span {
            file: key.span.file,
            start: key.span.start,
            end: value.span.end,
        }
    } else {
        key.span
    }
}

/// The span of `key: value` inside `node`, if the key is there.
pub(crate) fn field_span(node: &Node, key: &str) -> Option<Span> {
    node.get_entry(key).map(|(k, v)| entry_span(k, v))
}

/// A string field of a mapping.
pub(crate) fn str_field<'n>(node: &'n Node, key: &str) -> Option<&'n str> {
    node.get(key).and_then(Node::as_str)
}

/// Whether a mapping has `key: true`.
pub(crate) fn is_true(node: &Node, key: &str) -> bool {
    node.get(key).and_then(Node::as_bool) == Some(true)
}

/// Whether a value is "truthy" in the JavaScript sense Spectral uses: present,
/// not null/false/0/"" (mappings and sequences are truthy even when empty).
pub(crate) fn truthy(node: Option<&Node>) -> bool {
    match node.map(|n| &n.kind) {
        None | Some(NodeKind::Null) | Some(NodeKind::Bool(false)) => false,
        Some(NodeKind::Int(i)) => *i != 0,
        Some(NodeKind::Float(f)) => *f != 0.0,
        Some(NodeKind::Str(s)) => !s.is_empty(),
        _ => true,
    }
}

/// Whether a header map (a `headers` mapping) declares `name`, ignoring case.
pub(crate) fn has_header(headers: Option<&Node>, name: &str) -> bool {
    headers.and_then(Node::entries).is_some_and(|entries| {
        entries
            .iter()
            .any(|(k, _)| k.text.eq_ignore_ascii_case(name))
    })
}

/// The HTTP methods of a path item, as written in OpenAPI.
pub(crate) const METHODS: &[&str] = crate::model::METHODS;
