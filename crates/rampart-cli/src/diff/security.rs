//! Authentication and security alternatives, judged by scheme strength.
//!
//! A security alternative is judged by the strongest scheme it requires
//! (an AND set is as strong as its strongest member); a scheme's strength,
//! strongest first:
//!
//! - 3, sender-constrained: `mutualTLS`, `http dpop`, or a JWT scheme
//!   whose `x-rampart` says `dpop: required`;
//! - 2, signed tokens: `oauth2`, `openIdConnect`, `http bearer` verified
//!   as a JWT;
//! - 1, shared secrets: `apiKey`, `http bearer` with a non-JWT
//!   `bearerFormat`;
//! - 0, passwords and the rest: `http basic`, other `http` schemes.
//!
//! A NEW alternative is a regression unless some OLD alternative is
//! "covered" by it: each scheme of the OLD one is in the NEW one, at least
//! as strong, with at least its scopes.

use rampart_api::policy::{DpopMode, OperationPolicy, SecurityRequirement};
use rampart_api::scheme::SecuritySchemeKind;
use rampart_spec::Operation;

use super::compare::{Diff, Side};
use super::finding::{Kind, Place, Subject};
use super::policy::{authenticated, security_span, span_of};

/// The strength of a scheme (see the module docs); 0 for an unknown name.
pub(crate) fn strength(side: &Side, name: &str) -> u8 {
    let Some(scheme) = side.api.schemes.iter().find(|s| s.name == name) else {
        return 0;
    };
    let dpop = scheme.settings.as_ref().and_then(|s| s.dpop) == Some(DpopMode::Required);
    match &scheme.kind {
        SecuritySchemeKind::MutualTls | SecuritySchemeKind::Dpop => 3,
        kind if kind.is_jwt() => {
            if dpop {
                3
            } else {
                2
            }
        }
        SecuritySchemeKind::Bearer { .. } | SecuritySchemeKind::ApiKey { .. } => 1,
        _ => 0,
    }
}

/// `http bearer (JWT)`, `apiKey`, ... for messages.
fn describe(side: &Side, name: &str) -> String {
    let Some(scheme) = side.api.schemes.iter().find(|s| s.name == name) else {
        return "undeclared".to_owned();
    };
    let base = match &scheme.kind {
        SecuritySchemeKind::Bearer { .. } if scheme.kind.is_jwt() => "http bearer (JWT)".to_owned(),
        SecuritySchemeKind::Bearer { .. } => "http bearer (opaque)".to_owned(),
        SecuritySchemeKind::Basic => "http basic".to_owned(),
        SecuritySchemeKind::Dpop => "http dpop".to_owned(),
        SecuritySchemeKind::MutualTls => "mutualTLS".to_owned(),
        SecuritySchemeKind::OtherHttp { scheme } => format!("http {scheme}"),
        SecuritySchemeKind::ApiKey { .. } => "apiKey".to_owned(),
        SecuritySchemeKind::OAuth2 { .. } => "oauth2".to_owned(),
        SecuritySchemeKind::OpenIdConnect { .. } => "openIdConnect".to_owned(),
    };
    if scheme.settings.as_ref().and_then(|s| s.dpop) == Some(DpopMode::Required) {
        format!("{base} with DPoP required")
    } else {
        base
    }
}

/// `{bearerAuth}`, `{oauth2: [pets:write], apiKey}`.
fn alternative_text(alt: &SecurityRequirement) -> String {
    let parts: Vec<String> = alt
        .schemes
        .iter()
        .map(|s| {
            if s.scopes.is_empty() {
                s.scheme.clone()
            } else {
                format!("{}: [{}]", s.scheme, s.scopes.join(", "))
            }
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// `public`, `anonymous`, or `[{bearerAuth}, {apiKey}]`.
pub(crate) fn security_text(policy: &OperationPolicy) -> String {
    if policy.public {
        return "public".to_owned();
    }
    if policy.security.is_empty() {
        return "anonymous".to_owned();
    }
    let alts: Vec<String> = policy.security.iter().map(alternative_text).collect();
    format!("[{}]", alts.join(", "))
}

/// The `security` list as written (with `{}` alternatives), `[]` when none applies.
fn raw_security_text<'a, R>(list: Option<&'a [R]>) -> String
where
    &'a R: IntoIterator<Item = (&'a String, &'a Vec<String>)>,
{
    let alts: Vec<String> = list
        .unwrap_or_default()
        .iter()
        .map(|req| {
            let parts: Vec<String> = req
                .into_iter()
                .map(|(name, scopes)| {
                    if scopes.is_empty() {
                        name.clone()
                    } else {
                        format!("{name}: [{}]", scopes.join(", "))
                    }
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        })
        .collect();
    format!("[{}]", alts.join(", "))
}

fn names(alt: &SecurityRequirement) -> Vec<&str> {
    let mut names: Vec<&str> = alt.schemes.iter().map(|s| s.scheme.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn subset<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.iter().all(|x| b.contains(x))
}

pub(crate) fn security(d: &mut Diff<'_>, subject: &Subject, old: &Operation, new: &Operation) {
    let (was, is) = (authenticated(&old.policy), authenticated(&new.policy));
    let at = d.new.place(security_span(d.new, new));
    match (was, is) {
        (true, false) if new.policy.public => {
            let at = d.new.place(span_of(d.new, new, "public", false));
            d.push(
                Kind::PublicAdded,
                subject,
                security_text(&old.policy),
                "public",
                format!(
                    "marked `public: true`: authentication ({}) is no longer required",
                    security_text(&old.policy)
                ),
                at,
            );
        }
        (true, false) => {
            let raw = new
                .operation
                .security
                .as_deref()
                .or(d.new.model.openapi.security.as_deref());
            let optional = raw.is_some_and(|list| list.iter().any(|r| r.is_empty()));
            let new_text = raw_security_text(raw);
            if optional {
                d.push(
                    Kind::AuthOptionalAdded,
                    subject,
                    security_text(&old.policy),
                    new_text.clone(),
                    format!("an empty `{{}}` alternative makes authentication optional: security changed from {} to {new_text}", security_text(&old.policy)),
                    at,
                );
            } else {
                d.push(
                    Kind::AuthRemoved,
                    subject,
                    security_text(&old.policy),
                    new_text,
                    format!(
                        "authentication removed: security was {}, now anonymous callers are admitted",
                        security_text(&old.policy)
                    ),
                    at,
                );
            }
        }
        (false, true) => d.push(
            Kind::AuthAdded,
            subject,
            security_text(&old.policy),
            security_text(&new.policy),
            format!(
                "authentication now required ({}); anonymous callers are refused",
                security_text(&new.policy)
            ),
            at,
        ),
        (true, true) => alternatives(d, subject, old, new, at),
        (false, false) => {}
    }
}

fn alternatives(d: &mut Diff<'_>, subject: &Subject, old: &Operation, new: &Operation, at: Place) {
    let (o_side, n_side) = (d.old, d.new);
    let so = |name: &str| strength(o_side, name);
    let sn = |name: &str| strength(n_side, name);
    // NEW alternative `n` is at least as strict as OLD alternative `o`.
    let covers = |n: &SecurityRequirement, o: &SecurityRequirement| {
        o.schemes.iter().all(|s| {
            n.schemes.iter().any(|t| {
                t.scheme == s.scheme
                    && sn(&t.scheme) >= so(&s.scheme)
                    && subset(&s.scopes, &t.scopes)
            })
        })
    };
    // A caller who satisfies OLD alternative `o` also satisfies NEW `n`.
    let admits = |o: &SecurityRequirement, n: &SecurityRequirement| {
        n.schemes.iter().all(|t| {
            o.schemes
                .iter()
                .any(|s| s.scheme == t.scheme && subset(&t.scopes, &s.scopes))
        })
    };
    let alt_strength_old =
        |a: &SecurityRequirement| a.schemes.iter().map(|s| so(&s.scheme)).max().unwrap_or(0);
    let alt_strength_new =
        |a: &SecurityRequirement| a.schemes.iter().map(|s| sn(&s.scheme)).max().unwrap_or(0);
    let old_text = security_text(&old.policy);
    let new_text = security_text(&new.policy);
    let (olds, news) = (&old.policy.security, &new.policy.security);

    for n in news {
        if olds.iter().any(|o| covers(n, o)) {
            continue;
        }
        let n_names = names(n);
        if let Some(o) = olds.iter().find(|o| names(o) == n_names) {
            let weaker: Vec<String> = n
                .schemes
                .iter()
                .filter(|t| sn(&t.scheme) < so(&t.scheme))
                .map(|t| {
                    format!(
                        "`{}` is now {} (was {})",
                        t.scheme,
                        describe(n_side, &t.scheme),
                        describe(o_side, &t.scheme)
                    )
                })
                .collect();
            if !weaker.is_empty() {
                // Where the scheme is (re)defined.
                let defined = n
                    .schemes
                    .iter()
                    .find(|t| sn(&t.scheme) < so(&t.scheme))
                    .and_then(|t| {
                        n_side
                            .model
                            .root
                            .pointer("/components/securitySchemes")
                            .and_then(|s| s.get(&t.scheme))
                    })
                    .map_or_else(|| at.clone(), |node| n_side.place(node.span));
                d.push(
                    Kind::SchemeWeakened,
                    subject,
                    old_text.clone(),
                    new_text.clone(),
                    format!("scheme weakened: {}", weaker.join("; ")),
                    defined,
                );
                continue;
            }
            let mut dropped: Vec<String> = Vec::new();
            for s in &o.schemes {
                let kept: Vec<&String> = n
                    .schemes
                    .iter()
                    .filter(|t| t.scheme == s.scheme)
                    .flat_map(|t| &t.scopes)
                    .collect();
                for scope in &s.scopes {
                    if !kept.contains(&scope) {
                        dropped.push(format!("{} of `{}`", scope, s.scheme));
                    }
                }
            }
            d.push(
                Kind::ScopeRemoved,
                subject,
                alternative_text(o),
                alternative_text(n),
                format!(
                    "scope{} no longer required: {} (alternative {} was {})",
                    if dropped.len() == 1 { "" } else { "s" },
                    dropped.join(", "),
                    alternative_text(n),
                    alternative_text(o)
                ),
                at.clone(),
            );
            continue;
        }
        if let Some(o) = olds
            .iter()
            .find(|o| subset(&n_names, &names(o)) && n_names.len() < names(o).len())
        {
            let lost: Vec<&str> = names(o)
                .into_iter()
                .filter(|s| !n_names.contains(s))
                .collect();
            d.push(
                Kind::SchemeWeakened,
                subject,
                alternative_text(o),
                alternative_text(n),
                format!(
                    "the AND set {} lost `{}`: {} now suffices",
                    alternative_text(o),
                    lost.join("`, `"),
                    alternative_text(n)
                ),
                at.clone(),
            );
            continue;
        }
        let floor = olds.iter().map(alt_strength_old).min().unwrap_or(0);
        let strength = alt_strength_new(n);
        if strength < floor {
            let schemes: Vec<String> = n
                .schemes
                .iter()
                .map(|t| format!("`{}` ({})", t.scheme, describe(n_side, &t.scheme)))
                .collect();
            d.push(
                Kind::SchemeWeakened,
                subject,
                old_text.clone(),
                new_text.clone(),
                format!(
                    "a weaker way in: {} is weaker than every former alternative of {old_text}",
                    schemes.join(" and ")
                ),
                at.clone(),
            );
            continue;
        }
        // Scopes every old alternative asked for, that this one does not.
        let scopes_of = |a: &SecurityRequirement| -> Vec<String> {
            a.schemes
                .iter()
                .flat_map(|s| s.scopes.iter().cloned())
                .collect()
        };
        let mine = scopes_of(n);
        let mut missing: Vec<String> = Vec::new();
        if let Some(first) = olds.first() {
            for scope in scopes_of(first) {
                if olds.iter().all(|o| scopes_of(o).contains(&scope))
                    && !mine.contains(&scope)
                    && !missing.contains(&scope)
                {
                    missing.push(scope);
                }
            }
        }
        if missing.is_empty() {
            d.push(
                Kind::AlternativeAdded,
                subject,
                old_text.clone(),
                new_text.clone(),
                format!("new security alternative {}", alternative_text(n)),
                at.clone(),
            );
        } else {
            d.push(
                Kind::ScopeRemoved,
                subject,
                old_text.clone(),
                new_text.clone(),
                format!(
                    "new alternative {} admits callers without scope{} {} that every former alternative required",
                    alternative_text(n),
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", ")
                ),
                at.clone(),
            );
        }
    }

    for o in olds {
        if news.iter().any(|n| admits(o, n)) {
            continue;
        }
        let o_names = names(o);
        let added: Vec<String> = news
            .iter()
            .filter(|n| names(n) == o_names)
            .flat_map(|n| {
                n.schemes.iter().flat_map(|t| {
                    let had: Vec<&String> = o
                        .schemes
                        .iter()
                        .filter(|s| s.scheme == t.scheme)
                        .flat_map(|s| &s.scopes)
                        .collect();
                    t.scopes
                        .iter()
                        .filter(move |scope| !had.contains(scope))
                        .map(move |scope| format!("{scope} of `{}`", t.scheme))
                })
            })
            .collect();
        if added.is_empty() {
            d.push(
                Kind::AlternativeRemoved,
                subject,
                old_text.clone(),
                new_text.clone(),
                format!(
                    "callers authenticating with {} are no longer admitted (security is now {new_text})",
                    alternative_text(o)
                ),
                at.clone(),
            );
        } else {
            d.push(
                Kind::ScopeAdded,
                subject,
                old_text.clone(),
                new_text.clone(),
                format!("now also requires {}", added.join(", ")),
                at.clone(),
            );
        }
    }
}
