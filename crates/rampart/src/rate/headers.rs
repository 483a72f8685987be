//! Decisions as HTTP: the IETF `RateLimit-Policy` and `RateLimit` fields
//! (draft-ietf-httpapi-ratelimit-headers-11), and the 429 / 503 problems.
//!
//! ```text
//! RateLimit-Policy: "default";q=100;w=60
//! RateLimit: "default";r=0;t=30
//! ```
//!
//! `q` is the quota (requests per window), `w` the window in seconds, `r` the
//! requests still allowed now, `t` the seconds until the bucket is full again
//! (rounded up).

use std::fmt::Write as _;

use http::{HeaderName, HeaderValue};

use crate::problem::Problem;
use crate::rate::{Decision, Rate};

/// `RateLimit-Policy`: the quota policies of a response.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`: the current state of the policy that applied.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// `name` as a structured-field string: quotes and backslashes escaped,
/// anything outside printable ASCII replaced by `_`.
fn push_sf_string(out: &mut String, name: &str) {
    out.push('"');
    for c in name.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('_'),
        }
    }
    out.push('"');
}

fn header_value(text: String) -> HeaderValue {
    // Only printable ASCII is ever written above.
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static("\"invalid\""))
}

/// The `RateLimit-Policy` value of a policy, e.g. `"default";q=100;w=60`.
/// Build it once per route.
pub(crate) fn policy_value(name: &str, rate: &Rate) -> HeaderValue {
    let mut out = String::with_capacity(name.len() + 24);
    push_sf_string(&mut out, name);
    let _ = write!(out, ";q={};w={}", rate.count, rate.period.as_secs().max(1));
    header_value(out)
}

/// The `RateLimit` value of a decision, e.g. `"default";r=0;t=30`.
pub(crate) fn limit_value(name: &str, decision: &Decision) -> HeaderValue {
    let mut out = String::with_capacity(name.len() + 24);
    push_sf_string(&mut out, name);
    let _ = write!(out, ";r={};t={}", decision.remaining, decision.reset_secs());
    header_value(out)
}

/// The `RateLimit-Policy` and `RateLimit` fields for a decision of the
/// policy `policy_name` enforcing `rate`. Prefer
/// [`RatePolicy::headers`](crate::rate::RatePolicy::headers), which reuses a
/// prebuilt `RateLimit-Policy` value.
pub fn ratelimit_headers(
    policy_name: &str,
    rate: &Rate,
    decision: &Decision,
) -> [(HeaderName, HeaderValue); 2] {
    [
        (RATELIMIT_POLICY, policy_value(policy_name, rate)),
        (RATELIMIT, limit_value(policy_name, decision)),
    ]
}

/// The complete 429 for a limited decision: problem+json of type
/// `quota-exceeded` with `Retry-After` (seconds), both RateLimit fields, and
/// the extension members `policy` (the policy's name), `limit` and
/// `window` (seconds).
pub fn quota_exceeded(policy_name: &str, rate: &Rate, decision: &Decision) -> Problem {
    let retry = decision.retry_after_secs();
    let window = rate.period.as_secs().max(1);
    let [policy, limit] = ratelimit_headers(policy_name, rate, decision);
    Problem::too_many_requests(
        "quota-exceeded",
        retry,
        format!("quota `{policy_name}` of {rate} exceeded; retry in {retry} s"),
    )
    .extension("policy", policy_name)
    .extension("limit", rate.count)
    .extension("window", window)
    .header(policy.0, policy.1)
    .header(limit.0, limit.1)
}

/// The 503 for [`Outcome::Unavailable`](crate::rate::Outcome::Unavailable)
/// (fail-closed): problem+json of type `unavailable` with `Retry-After: 1`
/// and the extension member `policy`.
pub fn store_unavailable(policy_name: &str) -> Problem {
    Problem::unavailable("the rate limit store is unavailable; try again shortly")
        .extension("policy", policy_name)
        .header(http::header::RETRY_AFTER, HeaderValue::from_static("1"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::rate::Outcome;

    #[test]
    fn draft_11_syntax() {
        let rate = Rate::new(100, Duration::from_secs(60));
        let decision = Decision {
            outcome: Outcome::Limited,
            limit: 100,
            remaining: 0,
            reset: Duration::from_millis(29_001),
            retry_after: Duration::from_millis(400),
        };
        let [(pn, pv), (ln, lv)] = ratelimit_headers("default", &rate, &decision);
        assert_eq!(pn.as_str(), "ratelimit-policy");
        assert_eq!(pv, "\"default\";q=100;w=60");
        assert_eq!(ln.as_str(), "ratelimit");
        assert_eq!(lv, "\"default\";r=0;t=30");
        assert_eq!(decision.retry_after_secs(), 1);
    }

    #[test]
    fn names_are_escaped() {
        let rate = Rate::new(1, Duration::from_secs(1));
        assert_eq!(policy_value("a\"b\\cé", &rate), "\"a\\\"b\\\\c_\";q=1;w=1");
    }
}
