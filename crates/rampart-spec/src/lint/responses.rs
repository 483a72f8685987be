//! Rules on responses: rate-limit headers, `Retry-After` and 429s
//! (API4:2023), CORS headers and error responses (API8:2023).
//!
//! A finding about a response written under `components/responses` points at
//! that component, once, however many operations use it; its severity is the
//! highest any use gives it.

use super::ctx::{Ctx, has_header, truthy};
use super::{
    DEFINE_CORS_ORIGIN, DEFINE_ERROR_RESPONSES_401, DEFINE_ERROR_RESPONSES_500,
    DEFINE_ERROR_VALIDATION, RATE_LIMIT, RATE_LIMIT_RESPONSES_429, RATE_LIMIT_RETRY_AFTER,
};
use crate::model::Operation;
use crate::node::Node;
use crate::source::Span;

/// Header sets that count as declaring a rate limit (any one set, all of its names).
const RATE_LIMIT_HEADERS: &[&[&str]] = &[
    &["RateLimit"],
    &["RateLimit-Limit", "RateLimit-Reset"],
    &["X-RateLimit-Limit"],
    &["X-Rate-Limit-Limit"],
];

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let model = ctx.model;
    let cors = model.annotations.cors.is_some();
    for op in &model.operations {
        let responses = ctx.op_node(op).and_then(|n| n.get_entry("responses"));
        let responses_span = responses.map_or_else(|| ctx.method_span(op), |(k, _)| k.span);
        let entries = responses.and_then(|(_, r)| r.entries()).unwrap_or_default();
        for (status_key, response) in entries {
            let status = status_text(&status_key.text);
            let Some(target) = ctx.deref(response) else {
                continue;
            };
            let (span, name) = match Ctx::ref_of(response).and_then(|r| ctx.ref_key(r)) {
                Some(key) => (
                    key.span,
                    format!("response `{}` (used as {status} by `{}`)", key.text, op.id),
                ),
                None => (status_key.span, format!("response {status} of `{}`", op.id)),
            };
            let headers = target.get("headers");
            if status.starts_with('2') || status.starts_with('4') {
                let declared = RATE_LIMIT_HEADERS
                    .iter()
                    .any(|set| set.iter().all(|h| has_header(headers, h)));
                if !declared {
                    let rated = op.policy.rate.is_some();
                    ctx.report_if_lowered(
                        rated,
                        RATE_LIMIT,
                        span,
                        if rated {
                            format!("{name} declares no rate-limit headers")
                        } else {
                            format!(
                                "{name} declares no rate-limit headers, and no rate applies to the operation"
                            )
                        },
                        if rated {
                            "declare the `RateLimit` and `RateLimit-Policy` headers the server sends"
                        } else {
                            "give the operation a rate (`x-rampart: { rate: 100/min }`, or a top-level default) \
                             and declare the `RateLimit` and `RateLimit-Policy` headers"
                        },
                    );
                }
            }
            if status == "429" && !has_header(headers, "Retry-After") {
                ctx.report_lowered(
                    RATE_LIMIT_RETRY_AFTER,
                    span,
                    format!("{name} declares no `Retry-After` header"),
                    "declare `Retry-After` (seconds until a request may succeed) on the 429 response",
                );
            }
            if cors && !has_header(headers, "Access-Control-Allow-Origin") {
                ctx.report_lowered(
                    DEFINE_CORS_ORIGIN,
                    span,
                    format!("{name} does not declare `Access-Control-Allow-Origin`"),
                    "declare the `Access-Control-Allow-Origin` response header",
                );
            }
        }
        errors(ctx, op, entries, responses_span);
    }
}

/// `200`, `4XX` (upper-cased so `4xx` and `4XX` compare equal).
fn status_text(key: &str) -> String {
    key.trim().to_ascii_uppercase()
}

/// The operation-level rules: 400/422, 401, 429 and 500 declared with content.
fn errors(ctx: &mut Ctx<'_>, op: &Operation, entries: &[(crate::node::Key, Node)], span: Span) {
    let find = |code: &str| {
        entries
            .iter()
            .find(|(k, _)| status_text(&k.text) == code)
            .map(|(_, v)| v)
    };
    let with_content = |code: &str| -> Option<bool> {
        let node = find(code)?;
        Some(truthy(ctx.deref(node).and_then(|r| r.get("content"))))
    };
    let (has_validation, r401, r429, r500) = (
        ["400", "422", "4XX"].iter().any(|c| find(c).is_some()),
        with_content("401"),
        with_content("429"),
        with_content("500"),
    );
    let id = &op.id;

    if !has_validation {
        ctx.report_lowered(
            DEFINE_ERROR_VALIDATION,
            span,
            format!("operation `{id}` declares no 400, 422 or 4XX response"),
            "add a `'400'` response with an application/problem+json body",
        );
    }
    if op.policy.requires_auth()
        && let Some(message) = missing("401", r401, id)
    {
        ctx.report_lowered(
            DEFINE_ERROR_RESPONSES_401,
            span,
            message,
            "add a `'401'` response with an application/problem+json body",
        );
    }
    if let Some(message) = missing("429", r429, id) {
        ctx.report_lowered(
            RATE_LIMIT_RESPONSES_429,
            span,
            message,
            "add a `'429'` response with an application/problem+json body and a `Retry-After` header",
        );
    }
    if let Some(message) = missing("500", r500, id) {
        ctx.report(
            DEFINE_ERROR_RESPONSES_500,
            span,
            message,
            "add a `'500'` response with an application/problem+json body",
        );
    }
}

fn missing(code: &str, with_content: Option<bool>, id: &str) -> Option<String> {
    match with_content {
        None => Some(format!("operation `{id}` declares no {code} response")),
        Some(false) => Some(format!(
            "operation `{id}` declares a {code} response without content"
        )),
        Some(true) => None,
    }
}
