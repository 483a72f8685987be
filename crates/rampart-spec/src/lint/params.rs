//! Rules on parameters: numeric ids (API1:2023), credentials in the URL
//! (API2:2023) and URL-like parameters that need an SSRF review (API7:2023).
//!
//! Each parameter is checked once, where it is defined: under
//! `components/parameters`, a path item, an operation, or a path item or
//! operation of a callback (as Spectral's `$.paths..parameters` finds them).

use std::collections::HashMap;

use super::ctx::{Ctx, METHODS, field_span, str_field};
use super::{CONCERNING_URL_PARAMETER, NO_CREDENTIALS_IN_URL, NO_NUMERIC_IDS};
use crate::node::{Node, escape_pointer_token};
use crate::source::Span;

/// Credential-like words; a query or path parameter whose name contains one is flagged.
const CREDENTIAL_WORDS: &[&str] = &[
    "clientsecret",
    "token",
    "password",
    "passwd",
    "secret",
    "apikey",
];

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let root = ctx.root;
    let components = |section: &str| {
        root.pointer(&format!("/components/{section}"))
            .and_then(Node::entries)
            .unwrap_or_default()
    };
    for (key, param) in components("parameters") {
        if Ctx::ref_of(param).is_none() {
            let owner = format!("(components.parameters.{})", key.text);
            check_parameter(ctx, param, key.span, &owner);
        }
    }
    for (key, callback) in components("callbacks") {
        if Ctx::ref_of(callback).is_none() {
            check_callback(ctx, callback, &format!("callback `{}`", key.text), 0);
        }
    }
    let ids: HashMap<&str, &str> = ctx
        .model
        .operations
        .iter()
        .map(|op| (op.pointer.as_str(), op.id.as_str()))
        .collect();
    let Some(paths) = root.get("paths").and_then(Node::entries) else {
        return;
    };
    for (path_key, item) in paths {
        // A path item written as a local `$ref` is checked through it too;
        // findings at one place are merged, so a target under `paths` is
        // reported once.
        let Some(item) = ctx.deref(item) else {
            continue;
        };
        let item_pointer = format!("/paths/{}", escape_pointer_token(&path_key.text));
        check_path_item(
            ctx,
            item,
            &path_key.text,
            Some((&ids, &item_pointer)),
            "",
            0,
        );
    }
}

/// Longest chain of callbacks inside callbacks followed.
const MAX_CALLBACK_DEPTH: usize = 8;

/// A path item's own parameters, its operations' parameters and their callbacks.
/// `ids` names operations by pointer (for path items under `paths`); `context`
/// prefixes owners inside callbacks.
fn check_path_item(
    ctx: &mut Ctx<'_>,
    item: &Node,
    path: &str,
    ids: Option<(&HashMap<&str, &str>, &str)>,
    context: &str,
    depth: usize,
) {
    check_list(
        ctx,
        item.get("parameters"),
        &format!("of path `{path}`{context}"),
    );
    for &method in METHODS {
        let Some(op) = item.get(method) else { continue };
        let known = ids.and_then(|(ids, item_pointer)| {
            ids.get(format!("{item_pointer}/{method}").as_str())
                .copied()
        });
        let owner = match known.or_else(|| str_field(op, "operationId")) {
            Some(id) => format!("of `{id}`{context}"),
            None => format!("of {} {path}{context}", method.to_ascii_uppercase()),
        };
        check_list(ctx, op.get("parameters"), &owner);
        if depth >= MAX_CALLBACK_DEPTH {
            continue;
        }
        for (name, callback) in op
            .get("callbacks")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            // A referenced callback is checked where it is written (`components/callbacks`).
            if Ctx::ref_of(callback).is_none() {
                let who = format!("callback `{}` {owner}", name.text);
                check_callback(ctx, callback, &who, depth + 1);
            }
        }
    }
}

/// A callback's path items (expressions such as `{$request.body#/url}`).
fn check_callback(ctx: &mut Ctx<'_>, callback: &Node, who: &str, depth: usize) {
    for (expression, item) in callback.entries().unwrap_or_default() {
        let Some(item) = ctx.deref(item) else {
            continue;
        };
        let context = format!(" in {who}");
        check_path_item(ctx, item, &expression.text, None, &context, depth);
    }
}

fn check_list(ctx: &mut Ctx<'_>, list: Option<&Node>, owner: &str) {
    for param in list.and_then(Node::items).unwrap_or_default() {
        match Ctx::ref_of(param) {
            None => check_parameter(ctx, param, param.span, owner),
            // Checked where it is written: under `components/parameters` or
            // `paths`, or, anywhere else (e.g. an `x-` extension), here.
            Some(reference)
                if !reference.starts_with("#/components/parameters/")
                    && !reference.starts_with("#/paths/") =>
            {
                if let Some(target) = ctx.deref(param) {
                    let user = owner.strip_prefix("of ").unwrap_or(owner);
                    let owner = format!("(`{reference}`, used by {user})");
                    check_parameter(ctx, target, target.span, &owner);
                }
            }
            Some(_) => {}
        }
    }
}

fn check_parameter(ctx: &mut Ctx<'_>, param: &Node, fallback: Span, owner: &str) {
    let Some(name) = str_field(param, "name") else {
        return;
    };
    let location = str_field(param, "in").unwrap_or("");
    let span = field_span(param, "name").unwrap_or(fallback);

    if is_id_name(name) {
        numeric_id(ctx, param, name, location, owner);
    }
    if matches!(location, "query" | "path") && is_credential_name(name) {
        ctx.report(
            NO_CREDENTIALS_IN_URL,
            span,
            format!(
                "{location} parameter `{name}` {owner} looks like a credential, and URLs are logged \
                 (rampart's runtime refuses credentials in the URL)"
            ),
            "send credentials in a header or the request body; rename the parameter if it is not a credential",
        );
    }
    if is_url_name(name) {
        ctx.report(
            CONCERNING_URL_PARAMETER,
            span,
            format!("{location} parameter `{name}` {owner} looks like a URL; review it for server-side request forgery"),
            "never fetch or redirect to a client-supplied URL without an allow-list of schemes and hosts",
        );
    }
}

/// API1:2023: an id-like parameter whose schema (inline, through a `$ref`, or
/// under `content`) is an integer or number. Reported at the parameter's
/// `schema:` key (where Spectral points too), the line to change.
fn numeric_id(ctx: &mut Ctx<'_>, param: &Node, name: &str, location: &str, owner: &str) {
    let media = param
        .get("content")
        .and_then(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|(_, media)| media.get_entry("schema"));
    for (key, schema) in param.get_entry("schema").into_iter().chain(media) {
        let Some(target) = ctx.deref(schema) else {
            continue;
        };
        let Some(ty @ ("integer" | "number")) = str_field(target, "type") else {
            continue;
        };
        let via = match Ctx::ref_of(schema) {
            Some(reference) => format!(
                " (schema `{}`)",
                reference.rsplit('/').next().unwrap_or(reference)
            ),
            None => String::new(),
        };
        ctx.report(
            NO_NUMERIC_IDS,
            key.span,
            format!("{location} parameter `{name}` {owner} is a guessable {ty} id{via}"),
            "use a random, unguessable id: `type: string, format: uuid` (any random string will do)",
        );
    }
}

/// `id`, `*_id`, `*Id`, `*ID`, `*-id`.
fn is_id_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("id")
        || name.ends_with("_id")
        || name.ends_with("-id")
        || name.ends_with("Id")
        || name.ends_with("ID")
}

fn is_credential_name(name: &str) -> bool {
    let compact: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    CREDENTIAL_WORDS.iter().any(|w| compact.contains(w))
}

/// `callback*`, `redirect*`, `url`, `uri`, `webhook`, `*_url`, `*Url`, `*-url`, `*_uri`, `*Uri`, `*-uri`.
fn is_url_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("callback")
        || lower.starts_with("redirect")
        || matches!(lower.as_str(), "url" | "uri" | "webhook")
        || ["_url", "-url", "_uri", "-uri"]
            .iter()
            .any(|s| lower.ends_with(s))
        || name.ends_with("Url")
        || name.ends_with("Uri")
        || name.ends_with("URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_id_name("id") && is_id_name("user_id") && is_id_name("petId"));
        assert!(!is_id_name("valid") && !is_id_name("identity"));
        assert!(is_credential_name("access_token") && is_credential_name("api-key"));
        assert!(is_credential_name("client_secret") && is_credential_name("API_KEY"));
        assert!(!is_credential_name("limit"));
        assert!(
            is_url_name("callbackUrl") && is_url_name("redirect_uri") && is_url_name("return_url")
        );
        assert!(!is_url_name("curl") && !is_url_name("limit"));
    }
}
