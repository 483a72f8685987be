//! What every `x-rampart` reader shares: a value with the span it was
//! written at, and the checks of a mapping's shape and keys (an unknown key
//! is an error naming the nearest valid one). A leaf: the annotation
//! readers ([`crate::annotations`], [`crate::endpoints`]) build on it.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::node::Node;
use crate::source::Span;
use crate::suggest::did_you_mean;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Its span.
    pub span: Span,
}

pub(crate) fn expect_map(node: &Node, what: &str, diags: &mut Diagnostics) -> bool {
    if node.entries().is_some() {
        return true;
    }
    diags.push(
        Diagnostic::error(
            "malformed-annotation",
            format!("`{what}` must be a mapping, found {}", node.describe()),
        )
        .at(node.span),
    );
    false
}

pub(crate) fn check_keys(node: &Node, allowed: &[&str], context: &str, diags: &mut Diagnostics) {
    for (key, _) in node.entries().unwrap_or_default() {
        if !allowed.contains(&key.text.as_str()) {
            let suggestion = did_you_mean(&key.text, allowed.iter().copied());
            let mut d = Diagnostic::error(
                "unknown-key",
                format!("unknown key `{}` in {context}{suggestion}", key.text),
            )
            .at(key.span)
            .label("unknown key");
            d = d.help(format!("valid keys: {}", allowed.join(", ")));
            diags.push(d);
        }
    }
}
