//! API-wide comparisons: the CORS policy and the fields and headers
//! redacted from audit logs.

use rampart_spec::node::{Node, NodeKind};
use rampart_spec::source::Span;

use super::compare::Diff;
use super::finding::{Kind, Subject};
use super::policy::list;

/// The top-level CORS policy.
pub(crate) fn cors(d: &mut Diff<'_>) {
    use rampart_api::policy::{CorsOrigins, CorsPolicy};
    let (old, new) = (
        d.old.api.cors.clone().unwrap_or_default(),
        d.new.api.cors.clone().unwrap_or_default(),
    );
    if old == new {
        return;
    }
    let cors_node = d.new.extension().and_then(|x| x.get("cors"));
    let fallback = cors_node
        .or_else(|| d.new.extension())
        .map_or_else(Span::default, |n| n.span);
    let at = |key: &str| {
        d.new.place(
            cors_node
                .and_then(|n| n.get(key))
                .map_or(fallback, |n| n.span),
        )
    };
    let origins_text = |c: &CorsPolicy| match &c.origins {
        CorsOrigins::None => "[]".to_owned(),
        CorsOrigins::Any => "*".to_owned(),
        CorsOrigins::List(l) => list(l),
    };
    let mut widened: Vec<(String, String, String, &str)> = Vec::new();
    let mut narrowed: Vec<(String, String, String, &str)> = Vec::new();
    let listed = |c: &CorsPolicy| match &c.origins {
        CorsOrigins::List(l) => l.clone(),
        _ => Vec::new(),
    };
    let (was_any, is_any) = (
        old.origins == CorsOrigins::Any,
        new.origins == CorsOrigins::Any,
    );
    let (a, b) = (origins_text(&old), origins_text(&new));
    if is_any && !was_any {
        widened.push((
            a.clone(),
            b.clone(),
            "origins widened to any origin (`*`)".into(),
            "origins",
        ));
    } else if was_any && !is_any {
        narrowed.push((
            a.clone(),
            b.clone(),
            format!("origins narrowed from `*` to {b}"),
            "origins",
        ));
    } else if !is_any {
        let (ol, nl) = (listed(&old), listed(&new));
        let added: Vec<String> = nl.iter().filter(|o| !ol.contains(o)).cloned().collect();
        let removed: Vec<String> = ol.iter().filter(|o| !nl.contains(o)).cloned().collect();
        if !added.is_empty() {
            widened.push((
                a.clone(),
                b.clone(),
                format!("origins added: {}", list(&added)),
                "origins",
            ));
        }
        if !removed.is_empty() {
            narrowed.push((
                a.clone(),
                b.clone(),
                format!("origins removed: {}", list(&removed)),
                "origins",
            ));
        }
    }
    for (key, was, is) in [
        ("credentials", old.credentials, new.credentials),
        ("public", old.public, new.public),
    ] {
        if is && !was {
            widened.push((
                "false".into(),
                "true".into(),
                format!("`{key}` turned on"),
                key,
            ));
        } else if was && !is && key == "credentials" {
            narrowed.push((
                "true".into(),
                "false".into(),
                format!("`{key}` turned off"),
                key,
            ));
        }
    }
    for (key, was, is) in [
        ("headers", &old.headers, &new.headers),
        ("expose-headers", &old.expose_headers, &new.expose_headers),
    ] {
        let has = |l: &[String], h: &str| l.iter().any(|x| x.eq_ignore_ascii_case(h));
        let added: Vec<String> = is.iter().filter(|h| !has(was, h)).cloned().collect();
        let removed: Vec<String> = was.iter().filter(|h| !has(is, h)).cloned().collect();
        if !added.is_empty() {
            widened.push((
                list(was),
                list(is),
                format!("{key} added: {}", list(&added)),
                key,
            ));
        }
        if !removed.is_empty() {
            narrowed.push((
                list(was),
                list(is),
                format!("{key} removed: {}", list(&removed)),
                key,
            ));
        }
    }
    let (ma, mb) = (old.max_age.unwrap_or(0), new.max_age.unwrap_or(0));
    if mb > ma {
        let text = |m: Option<u64>| m.map_or_else(|| "(none)".to_owned(), |s| format!("{s}s"));
        widened.push((
            text(old.max_age),
            text(new.max_age),
            format!(
                "max-age raised from {} to {}",
                text(old.max_age),
                text(new.max_age)
            ),
            "max-age",
        ));
    }
    for (kind, changes) in [(Kind::CorsWidened, widened), (Kind::CorsNarrowed, narrowed)] {
        for (was, is, message, key) in changes {
            let place = at(key);
            d.push(kind, &Subject::Cors, was, is, message, place);
        }
    }
}

/// The verifier settings in a JWT scheme's `x-rampart` (schemes in both
/// versions, by name): more accepted issuers or audiences (an emptied list
/// leaves them to the configuration, which the spec no longer pins), a
/// required `typ` dropped or changed, one-time tokens turned off.
pub(crate) fn scheme_settings(d: &mut Diff<'_>) {
    use rampart_api::policy::Replay;
    let mut found = Vec::new();
    for new in &d.new.api.schemes {
        let Some(old) = d.old.api.schemes.iter().find(|s| s.name == new.name) else {
            continue;
        };
        let (Some(before), after) = (&old.settings, new.settings.clone().unwrap_or_default())
        else {
            continue;
        };
        for (key, was, is) in [
            ("issuer", &before.issuer, &after.issuer),
            ("audience", &before.audience, &after.audience),
        ] {
            let added: Vec<String> = is.iter().filter(|v| !was.contains(v)).cloned().collect();
            if was.is_empty() || (added.is_empty() && !is.is_empty()) {
                continue;
            }
            let message = if is.is_empty() {
                format!("`{key}` no longer pinned by the spec (was {})", list(was))
            } else {
                format!("accepts tokens with {key} {} too", list(&added))
            };
            found.push((
                Kind::SchemeWeakened,
                &new.name,
                key,
                list(was),
                list(is),
                message,
            ));
        }
        if let Some(typ) = &before.typ
            && after.typ.as_ref() != Some(typ)
        {
            let now = after.typ.clone().unwrap_or_else(|| "(any)".into());
            let message = format!("no longer requires `typ: {typ}` (now {now})");
            found.push((
                Kind::SchemeWeakened,
                &new.name,
                "typ",
                typ.clone(),
                now,
                message,
            ));
        }
        if before.replay == Some(Replay::Reject) && after.replay != Some(Replay::Reject) {
            let message =
                "one-time tokens (`replay: reject`) no longer required by the scheme".to_owned();
            found.push((
                Kind::ReplayAllowed,
                &new.name,
                "replay",
                "reject".into(),
                "allow".into(),
                message,
            ));
        }
    }
    for (kind, name, key, was, is, message) in found {
        let scheme = d
            .new
            .model
            .root
            .get("components")
            .and_then(|c| c.get("securitySchemes"))
            .and_then(|s| s.get(name));
        let span = scheme
            .and_then(|s| s.get("x-rampart"))
            .and_then(|x| x.get(key).or(Some(x)))
            .or(scheme)
            .map_or_else(Span::default, |n| n.span);
        let at = d.new.place(span);
        d.push(kind, &Subject::scheme(name), was, is, message, at);
    }
}

/// Fields and headers redacted from audit logs in OLD but not in NEW.
pub(crate) fn redaction(d: &mut Diff<'_>) {
    let (old, new) = (&d.old.api, &d.new.api);
    let mut gone: Vec<(String, &str)> = old
        .sensitive_fields
        .iter()
        .filter(|f| !new.sensitive_fields.contains(f))
        .map(|f| (f.clone(), "field"))
        .collect();
    for h in &old.sensitive_headers {
        if !new.sensitive_headers.contains(h)
            && !gone.iter().any(|(f, _)| f.eq_ignore_ascii_case(h))
        {
            gone.push((h.clone(), "header"));
        }
    }
    for (name, what) in gone {
        let at = match find_name(&d.new.model.root, &name, 0) {
            Some(span) => d.new.place(span),
            None => match find_name(&d.old.model.root, &name, 0) {
                Some(span) => d.old.place(span),
                None => d.new.place(Span::default()),
            },
        };
        d.push(
            Kind::RedactionRemoved,
            &Subject::Redaction,
            "sensitive",
            "(not sensitive)",
            format!("{what} `{name}` is no longer redacted from audit logs"),
            at,
        );
    }
}

/// Where a property or parameter called `name` is written: a key under a
/// `properties` mapping, or a mapping with `name: <name>`.
fn find_name(node: &Node, name: &str, depth: usize) -> Option<Span> {
    if depth > 64 {
        return None;
    }
    match &node.kind {
        NodeKind::Map(entries) => {
            if node
                .get("name")
                .and_then(Node::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
                && node.get("in").is_some()
            {
                return node.get("name").map(|n| n.span);
            }
            for (key, value) in entries {
                if key.text == "properties"
                    && let Some((k, _)) = value.get_entry(name)
                {
                    return Some(k.span);
                }
                if let Some(span) = find_name(value, name, depth + 1) {
                    return Some(span);
                }
            }
            None
        }
        NodeKind::Seq(items) => items.iter().find_map(|n| find_name(n, name, depth + 1)),
        _ => None,
    }
}
