//! Rules on parameters: numeric ids (API1:2023), credentials in the URL
//! (API2:2023) and URL-like parameters that need an SSRF review (API7:2023).
//!
//! Each parameter is checked once, where it is defined: under
//! `components/parameters`, a path item, or an operation.

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
    if let Some(params) = root
        .pointer("/components/parameters")
        .and_then(Node::entries)
    {
        for (key, param) in params {
            if Ctx::ref_of(param).is_none() {
                let owner = format!("(components.parameters.{})", key.text);
                check_parameter(ctx, param, key.span, &owner);
            }
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
        let owner = format!("of path `{}`", path_key.text);
        check_list(ctx, item.get("parameters"), &owner);
        let item_pointer = format!("/paths/{}", escape_pointer_token(&path_key.text));
        for &method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let pointer = format!("{item_pointer}/{method}");
            let owner = match ids.get(pointer.as_str()) {
                Some(id) => format!("of `{id}`"),
                None => format!("of {} {}", method.to_ascii_uppercase(), path_key.text),
            };
            check_list(ctx, op.get("parameters"), &owner);
        }
    }
}

fn check_list(ctx: &mut Ctx<'_>, list: Option<&Node>, owner: &str) {
    for param in list.and_then(Node::items).unwrap_or_default() {
        if Ctx::ref_of(param).is_none() {
            check_parameter(ctx, param, param.span, owner);
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
        let schema = param.get("schema").and_then(|s| ctx.deref(s));
        if let Some(ty @ ("integer" | "number")) = schema.and_then(|s| str_field(s, "type")) {
            ctx.report(
                NO_NUMERIC_IDS,
                span,
                format!("{location} parameter `{name}` {owner} is a guessable {ty} id"),
                "use a random, unguessable id: `type: string, format: uuid`",
            );
        }
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
