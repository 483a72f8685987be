//! Comparisons of what a request may carry and what answers it: parameters
//! (added, removed, made required or optional), the request body
//! (required, media types), documented success responses, and, through
//! [`super::schema`], the validation of every parameter and body schema.

use rampart_spec::Operation;
use rampart_spec::node::Node;
use rampart_spec::source::Span;

use super::compare::{Diff, Side, subject};
use super::finding::{Kind, Subject};
use super::schema::{Change, Walk, deref};

/// Every comparison of one matched operation's inputs and success responses.
pub(crate) fn operation(d: &mut Diff<'_>, old: &Operation, new: &Operation) {
    let subject = subject(new);
    let (o_side, n_side) = (d.old, d.new);
    let mut walk = Walk::new(&o_side.model.root, &n_side.model.root);
    let op_span = n_side.node(new).map_or(new.span, |n| n.span);
    parameters(d, &mut walk, &subject, old, new, op_span);
    body(d, &mut walk, old, new, op_span);
    for change in walk.changes {
        let kind = if change.loosened {
            Kind::ValidationLoosened
        } else {
            Kind::ValidationTightened
        };
        let at = n_side.place(change.span);
        d.push(kind, &subject, change.old, change.new, change.message, at);
    }
    responses(d, &subject, old, new, op_span);
}

struct Param<'a> {
    key: (String, String),
    label: String,
    node: &'a Node,
    required: bool,
}

/// The operation's parameters, path-level ones overridden by its own,
/// keyed by location and name (path parameters by position in the
/// template, so a renamed path parameter is the same parameter).
fn params<'a>(side: &'a Side, op: &Operation) -> Vec<Param<'a>> {
    let root = &side.model.root;
    let template: Vec<&str> = op
        .path
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .collect();
    let item = op
        .pointer
        .rsplit_once('/')
        .and_then(|(p, _)| root.pointer(p));
    let own = side.node(op);
    let mut out: Vec<Param<'a>> = Vec::new();
    for list in [item, own]
        .into_iter()
        .flatten()
        .filter_map(|n| n.get("parameters"))
    {
        for p in list.items().unwrap_or_default() {
            let p = deref(root, p);
            let (Some(name), Some(location)) = (
                p.get("name").and_then(Node::as_str),
                p.get("in").and_then(Node::as_str),
            ) else {
                continue;
            };
            let key = match location {
                "path" => (
                    "path".to_owned(),
                    template
                        .iter()
                        .position(|t| *t == name)
                        .map_or_else(|| name.to_owned(), |i| format!("#{i}")),
                ),
                "header" => ("header".to_owned(), name.to_ascii_lowercase()),
                other => (other.to_owned(), name.to_owned()),
            };
            let param = Param {
                key,
                label: format!("{location} parameter `{name}`"),
                node: p,
                required: location == "path"
                    || p.get("required").and_then(Node::as_bool) == Some(true),
            };
            match out.iter().position(|q| q.key == param.key) {
                Some(i) => out[i] = param,
                None => out.push(param),
            }
        }
    }
    out
}

/// A parameter's schema (`schema`, or the first `content` entry's).
fn param_schema(p: &Node) -> Option<&Node> {
    p.get("schema").or_else(|| {
        p.get("content")
            .and_then(Node::entries)
            .and_then(|e| e.first())
            .and_then(|(_, media)| media.get("schema"))
    })
}

fn parameters(
    d: &mut Diff<'_>,
    walk: &mut Walk<'_>,
    subject: &Subject,
    old: &Operation,
    new: &Operation,
    op_span: Span,
) {
    let (o_side, n_side) = (d.old, d.new);
    let (before, after) = (params(o_side, old), params(n_side, new));
    let list_span = n_side
        .node(new)
        .and_then(|n| n.get("parameters"))
        .map_or(op_span, |n| n.span);
    for p in &before {
        match after.iter().find(|q| q.key == p.key) {
            None => {
                let at = n_side.place(list_span);
                d.push(
                    Kind::ParameterRemoved,
                    subject,
                    "present",
                    "(absent)",
                    format!("{} removed", p.label),
                    at,
                );
            }
            Some(q) => {
                let at_span = q.node.get("required").map_or(q.node.span, |n| n.span);
                if q.required && !p.required {
                    let at = n_side.place(at_span);
                    d.push(
                        Kind::RequiredParameterAdded,
                        subject,
                        "optional",
                        "required",
                        format!("{} is now required", q.label),
                        at,
                    );
                } else if p.required && !q.required {
                    walk.changes.push(Change {
                        loosened: true,
                        message: format!("{} is now optional", q.label),
                        old: "required".into(),
                        new: "optional".into(),
                        span: at_span,
                    });
                }
                if let (Some(a), Some(b)) = (param_schema(p.node), param_schema(q.node)) {
                    walk.schema(&q.label, "", a, b, 0);
                }
            }
        }
    }
    for q in &after {
        if q.required && !before.iter().any(|p| p.key == q.key) {
            let at = n_side.place(q.node.span);
            d.push(
                Kind::RequiredParameterAdded,
                subject,
                "(absent)",
                "required",
                format!("new required {}", q.label),
                at,
            );
        }
    }
}

fn request_body<'a>(side: &'a Side, op: &Operation) -> Option<&'a Node> {
    let body = side.node(op)?.get("requestBody")?;
    Some(deref(&side.model.root, body))
}

fn body(d: &mut Diff<'_>, walk: &mut Walk<'_>, old: &Operation, new: &Operation, op_span: Span) {
    let (o_side, n_side) = (d.old, d.new);
    let subject = subject(new);
    let (before, after) = (request_body(o_side, old), request_body(n_side, new));
    let required = |b: Option<&Node>| {
        b.and_then(|b| b.get("required"))
            .and_then(Node::as_bool)
            .unwrap_or(false)
    };
    let Some(after) = after else {
        return;
    };
    let at_span = after.get("required").map_or(after.span, |n| n.span);
    if required(Some(after)) && !required(before) {
        let at = n_side.place(at_span);
        d.push(
            Kind::RequestBodyRequiredAdded,
            &subject,
            if before.is_some() {
                "optional"
            } else {
                "(absent)"
            },
            "required",
            "the request body is now required",
            at,
        );
    } else if required(before) && !required(Some(after)) {
        walk.changes.push(Change {
            loosened: true,
            message: "the request body is now optional".into(),
            old: "required".into(),
            new: "optional".into(),
            span: at_span,
        });
    }
    let Some(before) = before else {
        return;
    };
    let media = |b: &'_ Node| -> Vec<(String, Span)> {
        b.get("content")
            .and_then(Node::entries)
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| (k.text.clone(), k.span))
            .collect()
    };
    let content_span = after.get("content").map_or(op_span, |n| n.span);
    let (old_media, new_media) = (media(before), media(after));
    for (name, span) in &new_media {
        if !old_media.iter().any(|(m, _)| m == name) {
            walk.changes.push(Change {
                loosened: true,
                message: format!("the request body is now also accepted as `{name}`"),
                old: "(absent)".into(),
                new: name.clone(),
                span: *span,
            });
        }
    }
    for (name, _) in &old_media {
        if !new_media.iter().any(|(m, _)| m == name) {
            walk.changes.push(Change {
                loosened: false,
                message: format!("the request body is no longer accepted as `{name}`"),
                old: name.clone(),
                new: "(absent)".into(),
                span: content_span,
            });
            continue;
        }
        let a = before
            .get("content")
            .and_then(|c| c.get(name))
            .and_then(|m| m.get("schema"));
        let b = after
            .get("content")
            .and_then(|c| c.get(name))
            .and_then(|m| m.get("schema"));
        if let (Some(a), Some(b)) = (a, b) {
            walk.schema(&format!("request body `{name}`"), "", a, b, 0);
        }
    }
}

fn responses(d: &mut Diff<'_>, subject: &Subject, old: &Operation, new: &Operation, op_span: Span) {
    let (o_side, n_side) = (d.old, d.new);
    let codes = |side: &Side, op: &Operation| -> Vec<String> {
        side.node(op)
            .and_then(|n| n.get("responses"))
            .and_then(Node::entries)
            .unwrap_or_default()
            .iter()
            .map(|(k, _)| k.text.to_ascii_uppercase())
            .filter(|k| k.starts_with('2'))
            .collect()
    };
    let (before, after) = (codes(o_side, old), codes(n_side, new));
    let at_span = n_side
        .node(new)
        .and_then(|n| n.get("responses"))
        .map_or(op_span, |n| n.span);
    for code in before {
        if !after.contains(&code) {
            let at = n_side.place(at_span);
            d.push(
                Kind::ResponseRemoved,
                subject,
                code.clone(),
                "(absent)",
                format!("success response {code} removed"),
                at,
            );
        }
    }
}
