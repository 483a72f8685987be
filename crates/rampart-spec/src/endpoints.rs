//! Reads the top-level `x-rampart.endpoints` (the data it fills,
//! [`Endpoints`], lives in [`rampart_api::endpoints`]).

pub use rampart_api::endpoints::*;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::node::{Node, NodeKind};
use crate::spanned::{Spanned, check_keys, expect_map};

/// Read `x-rampart.endpoints` (the node under the key).
pub fn read_endpoints(node: &Node, diags: &mut Diagnostics) -> Spanned<Endpoints> {
    let span = node.span;
    if let Some(on) = node.as_bool() {
        let value = if on {
            Endpoints::default()
        } else {
            Endpoints::none()
        };
        return Spanned { value, span };
    }
    let mut out = Endpoints::default();
    if !expect_map(node, "endpoints", diags) {
        return Spanned { value: out, span };
    }
    check_keys(node, ENDPOINT_KEYS, "x-rampart.endpoints", diags);
    let mut seen: Vec<(String, &str)> = Vec::new();
    for key in ENDPOINT_KEYS {
        let Some(value) = node.get(key) else { continue };
        let path = match (&value.kind, value.as_bool()) {
            (_, Some(false)) => None,
            (NodeKind::Str(text), _) => match path_error(text) {
                None => Some(text.clone()),
                Some(why) => {
                    diags.push(
                        Diagnostic::error(
                            "malformed-annotation",
                            format!("endpoint path `{text}` {why}"),
                        )
                        .at(value.span)
                        .help(format!("e.g. `{key}: {}`", default_path(key))),
                    );
                    continue;
                }
            },
            _ => {
                diags.push(
                    Diagnostic::error(
                        "malformed-annotation",
                        format!(
                            "`{key}` must be a path or false, found {}",
                            value.describe()
                        ),
                    )
                    .at(value.span)
                    .help(format!(
                        "e.g. `{key}: {}` or `{key}: false`",
                        default_path(key)
                    )),
                );
                continue;
            }
        };
        if let Some(path) = &path {
            if let Some((_, other)) = seen.iter().find(|(p, _)| p == path) {
                diags.push(
                    Diagnostic::error(
                        "malformed-annotation",
                        format!("`{key}` and `{other}` are both served at `{path}`"),
                    )
                    .at(value.span),
                );
                continue;
            }
            seen.push((path.clone(), key));
        }
        match *key {
            "health" => out.health = path,
            "ready" => out.ready = path,
            "openapi" => out.openapi = path,
            "docs" => out.docs = path,
            _ => out.metrics = path,
        }
    }
    // Defaults that collide with a moved endpoint give way to it.
    let explicit: Vec<String> = seen.into_iter().map(|(p, _)| p).collect();
    for (key, slot) in [
        ("health", &mut out.health),
        ("ready", &mut out.ready),
        ("openapi", &mut out.openapi),
        ("docs", &mut out.docs),
    ] {
        if node.get(key).is_none() && slot.as_ref().is_some_and(|p| explicit.contains(p)) {
            *slot = None;
        }
    }
    Spanned { value: out, span }
}

fn default_path(key: &str) -> &'static str {
    match key {
        "health" => DEFAULT_HEALTH,
        "ready" => DEFAULT_READY,
        "openapi" => DEFAULT_OPENAPI,
        "docs" => DEFAULT_DOCS,
        _ => "/metrics",
    }
}
