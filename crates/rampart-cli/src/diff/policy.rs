//! Comparisons of one matched operation's effective policy (its
//! `OperationPolicy`): authentication and security alternatives
//! ([`super::security`]), rates and body limits ([`super::limits`]), and
//! here roles, one-time tokens and sunsets; and operations only in NEW.
//! Also where a finding about an operation's `x-rampart` is placed.

use rampart_api::policy::{OperationPolicy, Replay};
use rampart_spec::source::Span;
use rampart_spec::{Operation, RoleHierarchy};

use super::compare::{Diff, Side, subject};
use super::finding::{Kind, Subject};
use super::{limits, security};

/// Every comparison of one matched operation's policy.
pub(crate) fn operation(d: &mut Diff<'_>, old: &Operation, new: &Operation) {
    let subject = subject(new);
    security::security(d, &subject, old, new);
    if authenticated(&old.policy) && authenticated(&new.policy) {
        roles(d, &subject, old, new);
        replay(d, &subject, old, new);
    }
    limits::rate(d, &subject, old, new);
    limits::body_limit(d, &subject, old, new);
    sunset(d, &subject, old, new);
}

/// An operation only in NEW.
pub(crate) fn added(d: &mut Diff<'_>, op: &Operation) {
    let at = d.new.place(op.span);
    if authenticated(&op.policy) {
        d.push(
            Kind::OperationAdded,
            &subject(op),
            "(absent)",
            security::security_text(&op.policy),
            "operation added",
            at,
        );
    } else {
        let what = if op.policy.public {
            "public"
        } else {
            "anonymous"
        };
        d.push(
            Kind::OperationAddedUnsecured,
            &subject(op),
            "(absent)",
            what,
            format!("operation added without authentication ({what})"),
            at,
        );
    }
}

/// Whether a caller must authenticate.
pub(crate) fn authenticated(policy: &OperationPolicy) -> bool {
    !policy.public && policy.requires_auth()
}

// ----- locations -----

/// The span of `key` in the operation's `x-rampart`, else (when the
/// operation inherits it) in the top-level one, else the operation's
/// `x-rampart`, else the operation.
pub(crate) fn span_of(side: &Side, op: &Operation, key: &str, inherits: bool) -> Span {
    let ext = side.node(op).and_then(|n| n.get("x-rampart"));
    if let Some(n) = ext.and_then(|x| x.get(key)) {
        return n.span;
    }
    if inherits && let Some(n) = side.extension().and_then(|x| x.get(key)) {
        return n.span;
    }
    ext.map_or(op.span, |x| x.span)
}

/// The span of a top-level `x-rampart` key, else of `x-rampart`, else the document start.
pub(crate) fn top_span(side: &Side, key: &str) -> Span {
    let ext = side.extension();
    ext.and_then(|x| x.get(key))
        .or(ext)
        .map_or_else(Span::default, |n| n.span)
}

/// Where the operation's effective `security` is written.
pub(crate) fn security_span(side: &Side, op: &Operation) -> Span {
    if let Some(n) = side.node(op).and_then(|n| n.get("security")) {
        return n.span;
    }
    if op.operation.security.is_none()
        && let Some(n) = side.model.root.get("security")
    {
        return n.span;
    }
    op.span
}

// ----- roles -----

/// The declared roles a caller may hold to pass `roles` (any one suffices,
/// stronger satisfy weaker), in hierarchy order; `None` without roles.
fn admitted(hierarchy: &RoleHierarchy, roles: &[String]) -> Option<Vec<String>> {
    if roles.is_empty() {
        return None;
    }
    let mut out: Vec<String> = hierarchy
        .roles()
        .iter()
        .filter(|have| roles.iter().any(|need| hierarchy.satisfies(have, need)))
        .cloned()
        .collect();
    for role in roles {
        if !out.contains(role) {
            out.push(role.clone());
        }
    }
    Some(out)
}

pub(crate) fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn roles(d: &mut Diff<'_>, subject: &Subject, old: &Operation, new: &Operation) {
    let was = admitted(&d.old.model.roles, &old.policy.roles);
    let is = admitted(&d.new.model.roles, &new.policy.roles);
    let (old_text, new_text) = (list(&old.policy.roles), list(&new.policy.roles));
    let at = d.new.place(span_of(d.new, new, "roles", false));
    match (was, is) {
        (Some(_), None) => d.push(
            Kind::RoleWeakened,
            subject,
            old_text.clone(),
            "(none)",
            format!(
                "roles {old_text} are no longer required: any authenticated caller is admitted"
            ),
            at,
        ),
        (None, Some(_)) => d.push(
            Kind::RoleStrengthened,
            subject,
            "(none)",
            new_text.clone(),
            format!("roles {new_text} are now required"),
            at,
        ),
        (Some(a), Some(b)) => {
            let widened: Vec<String> = b
                .iter()
                .filter(|r| !a.contains(r) && d.old.model.roles.contains(r))
                .cloned()
                .collect();
            let narrowed: Vec<String> = a
                .iter()
                .filter(|r| !b.contains(r) && d.new.model.roles.contains(r))
                .cloned()
                .collect();
            let change = if old_text == new_text {
                format!("the role hierarchy changed: {new_text}")
            } else {
                format!("roles changed from {old_text} to {new_text}:")
            };
            if !widened.is_empty() {
                d.push(
                    Kind::RoleWeakened,
                    subject,
                    old_text.clone(),
                    new_text.clone(),
                    format!("{change} now admits {}", list(&widened)),
                    at.clone(),
                );
            }
            if !narrowed.is_empty() {
                d.push(
                    Kind::RoleStrengthened,
                    subject,
                    old_text.clone(),
                    new_text.clone(),
                    format!("{change} no longer admits {}", list(&narrowed)),
                    at,
                );
            }
        }
        (None, None) => {}
    }
}

// ----- one-time tokens -----

/// Whether tokens are one-time on the operation: its own `replay: reject`,
/// or a scheme it names whose `x-rampart` says so.
fn one_time(side: &Side, policy: &OperationPolicy) -> bool {
    policy.replay == Replay::Reject
        || policy.schemes().iter().any(|name| {
            side.api.schemes.iter().any(|s| {
                s.name == *name
                    && s.settings.as_ref().and_then(|x| x.replay) == Some(Replay::Reject)
            })
        })
}

fn replay(d: &mut Diff<'_>, subject: &Subject, old: &Operation, new: &Operation) {
    if one_time(d.old, &old.policy) && !one_time(d.new, &new.policy) {
        let at = d.new.place(span_of(d.new, new, "replay", false));
        d.push(
            Kind::ReplayAllowed,
            subject,
            "reject",
            "allow",
            "one-time tokens are no longer enforced: a token may be replayed until it expires",
            at,
        );
    }
}

// ----- sunsets -----

/// An instant as RFC 3339.
fn instant_text(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

fn sunset(d: &mut Diff<'_>, subject: &Subject, old: &Operation, new: &Operation) {
    let of = |op: &Operation| op.policy.deprecation.as_ref().and_then(|x| x.sunset);
    let own = new.annotations.common.sunset.is_some();
    let at = d.new.place(span_of(d.new, new, "sunset", !own));
    match (of(old), of(new)) {
        (Some(a), None) => d.push(
            Kind::SunsetRemovedAfterAnnouncement,
            subject,
            instant_text(a),
            "(none)",
            format!(
                "the sunset announced for {} is gone: the operation stays up past its announced end",
                instant_text(a)
            ),
            at,
        ),
        (Some(a), Some(b)) if b < a => d.push(
            Kind::SunsetEarlier,
            subject,
            instant_text(a),
            instant_text(b),
            format!(
                "sunset moved earlier, from {} to {}",
                instant_text(a),
                instant_text(b)
            ),
            at,
        ),
        (Some(a), Some(b)) if b > a => d.push(
            Kind::SunsetLater,
            subject,
            instant_text(a),
            instant_text(b),
            format!(
                "sunset moved later, from {} to {}",
                instant_text(a),
                instant_text(b)
            ),
            at,
        ),
        (None, Some(b)) => d.push(
            Kind::SunsetAnnounced,
            subject,
            "(none)",
            instant_text(b),
            format!("sunset announced for {}", instant_text(b)),
            at,
        ),
        _ => {}
    }
}
