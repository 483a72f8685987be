//! Rates, bursts and request body limits: per operation (effective, its
//! own or the top-level default it inherits) and the top-level defaults
//! themselves, reported once as `(default)`. Rates are compared as
//! requests per second (`count / period`); a rate removed is raised
//! (unlimited).

use rampart_api::policy::DEFAULT_BODY_LIMIT;
use rampart_spec::{Operation, Rate};

use super::compare::Diff;
use super::finding::{Kind, Place, Subject};
use super::policy::{span_of, top_span};

// ----- rates -----

/// `b` compared with `a` as requests per second.
fn rate_order(a: &Rate, b: &Rate) -> std::cmp::Ordering {
    let lhs = u128::from(b.count) * a.period.as_millis();
    let rhs = u128::from(a.count) * b.period.as_millis();
    lhs.cmp(&rhs)
}

/// Rate and burst findings between two effective rates.
fn compare_rates(
    d: &mut Diff<'_>,
    subject: &Subject,
    old: Option<Rate>,
    new: Option<Rate>,
    rate_at: Place,
    burst_at: Place,
) {
    use std::cmp::Ordering::{Greater, Less};
    match (old, new) {
        (Some(a), None) => d.push(
            Kind::RateRaised,
            subject,
            a.to_string(),
            "unlimited",
            format!("rate limit {a} removed (unlimited)"),
            rate_at,
        ),
        (None, Some(b)) => d.push(
            Kind::RateLowered,
            subject,
            "unlimited",
            b.to_string(),
            format!("rate limit {b} added"),
            rate_at,
        ),
        (Some(a), Some(b)) => {
            match rate_order(&a, &b) {
                Greater => d.push(
                    Kind::RateRaised,
                    subject,
                    a.to_string(),
                    b.to_string(),
                    format!("rate raised from {a} to {b}"),
                    rate_at,
                ),
                Less => d.push(
                    Kind::RateLowered,
                    subject,
                    a.to_string(),
                    b.to_string(),
                    format!("rate lowered from {a} to {b}"),
                    rate_at,
                ),
                std::cmp::Ordering::Equal => {}
            }
            if a.burst.is_some() || b.burst.is_some() {
                let (x, y) = (a.capacity(), b.capacity());
                let kind = match y.cmp(&x) {
                    Greater => Some((Kind::BurstRaised, "raised")),
                    Less => Some((Kind::BurstLowered, "lowered")),
                    std::cmp::Ordering::Equal => None,
                };
                if let Some((kind, verb)) = kind {
                    d.push(
                        kind,
                        subject,
                        x.to_string(),
                        y.to_string(),
                        format!("burst {verb} from {x} to {y}"),
                        burst_at,
                    );
                }
            }
        }
        (None, None) => {}
    }
}

pub(crate) fn rate(d: &mut Diff<'_>, subject: &Subject, old: &Operation, new: &Operation) {
    let own_rate = new.annotations.common.rate.is_some();
    let rate_at = d.new.place(span_of(d.new, new, "rate", !own_rate));
    let burst_at = {
        let own = d
            .new
            .node(new)
            .and_then(|n| n.get("x-rampart"))
            .and_then(|x| x.get("burst"));
        match own {
            Some(n) => d.new.place(n.span),
            None => d.new.place(span_of(d.new, new, "burst", !own_rate)),
        }
    };
    compare_rates(
        d,
        subject,
        old.policy.rate,
        new.policy.rate,
        rate_at.clone(),
        burst_at,
    );
    if old.policy.rate_exact && !new.policy.rate_exact && new.policy.rate.is_some() {
        let own = d.new.node(new).and_then(|n| n.get("x-rampart"));
        let at = own.map_or(rate_at, |x| {
            d.new.place(x.get("rate-exact").unwrap_or(x).span)
        });
        d.push(
            Kind::RateExactRemoved,
            subject,
            "rate-exact",
            "(leases allowed)",
            "`rate-exact` removed: the quota may be leased ahead and overshoot by instances × lease",
            at,
        );
    }
}

// ----- body limits -----

/// `64KiB`, `1MiB`, `1000B`.
pub(crate) fn size_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{}KiB", bytes / 1024)
    } else {
        format!("{bytes}B")
    }
}

fn compare_limits(d: &mut Diff<'_>, subject: &Subject, old: u64, new: u64, at: Place) {
    let (a, b) = (size_text(old), size_text(new));
    match new.cmp(&old) {
        std::cmp::Ordering::Greater => d.push(
            Kind::BodyLimitRaised,
            subject,
            a.clone(),
            b.clone(),
            format!("body limit raised from {a} to {b}"),
            at,
        ),
        std::cmp::Ordering::Less => d.push(
            Kind::BodyLimitLowered,
            subject,
            a.clone(),
            b.clone(),
            format!("body limit lowered from {a} to {b}"),
            at,
        ),
        std::cmp::Ordering::Equal => {}
    }
}

pub(crate) fn body_limit(d: &mut Diff<'_>, subject: &Subject, old: &Operation, new: &Operation) {
    // The limit only applies to a declared body.
    if old.operation.request_body.is_none() && new.operation.request_body.is_none() {
        return;
    }
    let limit = |op: &Operation| op.policy.body_limit.unwrap_or(DEFAULT_BODY_LIMIT);
    let own = new.annotations.common.body_limit.is_some();
    let at = d.new.place(span_of(d.new, new, "body-limit", !own));
    compare_limits(d, subject, limit(old), limit(new), at);
}

/// The top-level defaults (`rate`, `burst`, `body-limit`), reported once as `(default)`.
pub(crate) fn defaults(d: &mut Diff<'_>) {
    let (old, new) = (
        &d.old.model.annotations.common,
        &d.new.model.annotations.common,
    );
    let rate_of = |c: &rampart_spec::annotations::CommonAnnotations| {
        c.rate.as_ref().map(|r| match &c.burst {
            Some(b) => r.value.with_burst(b.value),
            None => r.value,
        })
    };
    let (a, b) = (rate_of(old), rate_of(new));
    let (old_limit, new_limit) = (
        old.body_limit
            .as_ref()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.value),
        new.body_limit
            .as_ref()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.value),
    );
    let rate_at = d.new.place(top_span(d.new, "rate"));
    let burst_at = d.new.place(top_span(d.new, "burst"));
    let limit_at = d.new.place(top_span(d.new, "body-limit"));
    compare_rates(d, &Subject::Default, a, b, rate_at, burst_at);
    compare_limits(d, &Subject::Default, old_limit, new_limit, limit_at);
}
