//! Rules on `servers`: TLS (API8:2023) and inventory (API9:2023).

use super::ctx::{Ctx, field_span, str_field};
use super::{INVENTORY_ACCESS, INVENTORY_ENVIRONMENT, NO_SERVER_HTTP};
use crate::node::Node;

/// Words that name an environment in a server description (matched case-insensitively).
const ENVIRONMENT_WORDS: &[&str] = &[
    "local", "sandbox", "alpha", "beta", "test", "stag", "prod", "next", "dev",
];

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let Some(servers) = ctx.root.get("servers").and_then(Node::items) else {
        return;
    };
    for server in servers {
        let url = str_field(server, "url").unwrap_or("");
        let span = field_span(server, "url").unwrap_or(server.span);
        if let Some(how) = plain_http(server, url) {
            ctx.report(
                NO_SERVER_HTTP,
                span,
                format!("server `{url}` {how}"),
                "serve the API over TLS and write the URL with https:// (rampart can terminate TLS itself)",
            );
        }
        if server.get("x-internal").and_then(Node::as_bool).is_none() {
            let (span, what) = match field_span(server, "x-internal") {
                Some(span) => (
                    span,
                    "declares `x-internal` as something other than true or false",
                ),
                None => (span, "does not declare `x-internal: true|false`"),
            };
            ctx.report(
                INVENTORY_ACCESS,
                span,
                format!("server `{url}` {what}"),
                "add `x-internal: false` for a public server or `x-internal: true` for an internal one",
            );
        }
        let declared = str_field(server, "x-environment").is_some_and(|e| !e.trim().is_empty());
        let described = str_field(server, "description").is_some_and(|d| {
            let lower = d.to_ascii_lowercase();
            ENVIRONMENT_WORDS.iter().any(|w| lower.contains(w))
        });
        if !declared && !described {
            ctx.report(
                INVENTORY_ENVIRONMENT,
                span,
                format!("server `{url}` does not say which environment it is"),
                "add `x-environment: production` (or staging, test, ...) or name the environment in `description`",
            );
        }
    }
}

/// Whether a server URL is (or, through a `{variable}` scheme, can be) plain http.
fn plain_http(server: &Node, url: &str) -> Option<String> {
    let is_http = |s: &str| s.eq_ignore_ascii_case("http");
    let (scheme, _) = url.split_once("://")?;
    if is_http(scheme) {
        return Some("uses plain http://".to_owned());
    }
    let name = scheme.strip_prefix('{')?.strip_suffix('}')?;
    let variable = server.get("variables")?.get(name)?;
    let default = str_field(variable, "default").is_some_and(is_http);
    let allowed = variable
        .get("enum")
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .any(|v| v.as_str().is_some_and(is_http));
    (default || allowed).then(|| format!("can use plain http:// (variable `{name}` allows `http`)"))
}
