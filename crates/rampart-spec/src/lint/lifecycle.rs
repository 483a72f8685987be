//! rampart-aware rules on the rest of `x-rampart`: deprecation and sunset,
//! rates on public operations, CORS wildcards with credentials, body limits.

use super::ctx::{Ctx, field_span};
use super::{
    BODY_LIMIT_CEILING, BODY_LIMIT_TOO_LARGE, CORS_WILDCARD_CREDENTIALS, DEPRECATED_WITHOUT_SUNSET,
    PUBLIC_RATE_NOT_IP, SUNSET_BEFORE_DEPRECATION,
};
use crate::annotations::{CommonAnnotations, Spanned};
use crate::policy::{CorsOrigins, RateKey};
use crate::source::Span;

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    api_level(ctx);
    let model = ctx.model;
    for op in &model.operations {
        let common = &op.annotations.common;
        let who = format!("operation `{}`", op.id);
        if let Some(deprecation) = &op.policy.deprecation {
            if op.operation.deprecated && deprecation.sunset.is_none() {
                let span = ctx.op_field_span(op, "deprecated");
                ctx.report(
                    DEPRECATED_WITHOUT_SUNSET,
                    span,
                    format!("deprecated {who} has no `sunset` date"),
                    "add `x-rampart: { sunset: 2027-06-01T00:00:00Z, successor: /v2/... }` so clients \
                     get a Sunset header and a date to migrate by",
                );
            }
            if common.sunset.is_some() || common.deprecation.is_some() {
                let api = &model.annotations.common;
                let sunset = common.sunset.as_ref().or(api.sunset.as_ref());
                let since = common.deprecation.as_ref().or(api.deprecation.as_ref());
                sunset_order(ctx, &who, since, sunset);
            }
        }
        if op.policy.public && op.policy.rate.is_some() && op.policy.rate_key != RateKey::Ip {
            let x = ctx.op_node(op).and_then(|n| n.get("x-rampart"));
            let span = x
                .and_then(|x| field_span(x, "rate").or_else(|| field_span(x, "public")))
                .unwrap_or_else(|| ctx.method_span(op));
            let rate = op.policy.rate.map(|r| r.to_string()).unwrap_or_default();
            ctx.report(
                PUBLIC_RATE_NOT_IP,
                span,
                format!(
                    "public {who} is limited to {rate} per principal, but public callers have no principal"
                ),
                "add `rate-key: ip` to the operation's x-rampart so the quota is per client IP",
            );
        }
        body_limit(ctx, common, &who);
    }
}

fn api_level(ctx: &mut Ctx<'_>) {
    let api = &ctx.model.annotations;
    let common = &api.common;
    if let Some(deprecated) = api.deprecated.as_ref().filter(|d| d.value) {
        if common.sunset.is_none() {
            ctx.report(
                DEPRECATED_WITHOUT_SUNSET,
                deprecated.span,
                "the API is deprecated (`x-rampart: { deprecated: true }`) but has no `sunset` date",
                "add `sunset: 2027-06-01T00:00:00Z` (and a `successor`) to the top-level x-rampart",
            );
        }
        sunset_order(
            ctx,
            "the API",
            common.deprecation.as_ref(),
            common.sunset.as_ref(),
        );
    }
    body_limit(ctx, common, "the API");
    if let Some(cors) = &api.cors
        && cors.value.origins == CorsOrigins::Any
        && cors.value.credentials
    {
        let span = ctx
            .root
            .pointer("/x-rampart/cors/origins")
            .map_or(cors.span, |n| n.span);
        ctx.report(
                CORS_WILDCARD_CREDENTIALS,
                span,
                "CORS admits every origin (`origins: \"*\"`) together with `credentials: true`",
                "list the exact origins that may send credentials, e.g. `origins: [https://app.example.com]`",
            );
    }
}

fn sunset_order(
    ctx: &mut Ctx<'_>,
    who: &str,
    since: Option<&Spanned<i64>>,
    sunset: Option<&Spanned<i64>>,
) {
    let (Some(since), Some(sunset)) = (since, sunset) else {
        return;
    };
    if sunset.value <= since.value {
        ctx.report(
            SUNSET_BEFORE_DEPRECATION,
            sunset.span,
            format!("the `sunset` of {who} is not after its `deprecation` date"),
            "clients need time between the Deprecation and Sunset dates: move `sunset` after `deprecation`",
        );
    }
}

fn body_limit(ctx: &mut Ctx<'_>, common: &CommonAnnotations, who: &str) {
    if let Some(limit) = &common.body_limit
        && limit.value > BODY_LIMIT_CEILING
    {
        report_body_limit(ctx, limit.span, limit.value, who);
    }
}

fn report_body_limit(ctx: &mut Ctx<'_>, span: Span, value: u64, who: &str) {
    ctx.report(
        BODY_LIMIT_TOO_LARGE,
        span,
        format!(
            "the `body-limit` of {who} is {}, above the {} ceiling",
            human_size(value),
            human_size(BODY_LIMIT_CEILING)
        ),
        "lower `body-limit`; stream large uploads through a dedicated endpoint instead of buffering them",
    );
}

/// `16 MiB`, `64 KiB`, `1000 bytes`.
fn human_size(bytes: u64) -> String {
    const UNITS: &[(u64, &str)] = &[(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for &(size, unit) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}
