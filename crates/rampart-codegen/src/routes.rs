//! Axum route paths for spec paths.
//!
//! The axum router refuses two routes that name the parameter at the same
//! position differently (`/accounts/{account}/x` beside `/accounts/{id}/y`, as
//! in Stripe and Okta) and segments that mix a parameter with text
//! (`/{Sid}.json`, as in Twilio). When a spec has either, parameters are
//! routed by position (`{p2}` for the third segment); the generated
//! `ValidPath` extractor maps positions back to names using the spec's path
//! template, so handlers still receive typed, named parameters.

use std::collections::HashMap;

use rampart_spec::model::ApiModel;

/// One axum route and the operations (by index) on it.
pub(crate) struct Route {
    pub(crate) axum_path: String,
    pub(crate) operations: Vec<usize>,
}

/// Every route of a spec.
pub(crate) struct RouteTable {
    pub(crate) routes: Vec<Route>,
    pub(crate) warnings: Vec<String>,
}

fn is_plain_param(segment: &str) -> Option<&str> {
    let name = segment.strip_prefix('{')?.strip_suffix('}')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

impl RouteTable {
    pub(crate) fn build(model: &ApiModel) -> Self {
        let positional = needs_positional(model.operations.iter().map(|o| o.path.as_str()));
        let mut routes: Vec<Route> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut warnings = Vec::new();
        for (i, op) in model.operations.iter().enumerate() {
            let path = axum_path(&op.path, positional);
            let slot = *index.entry(path.clone()).or_insert_with(|| {
                routes.push(Route {
                    axum_path: path.clone(),
                    operations: Vec::new(),
                });
                routes.len() - 1
            });
            let route = &mut routes[slot];
            if route
                .operations
                .iter()
                .any(|&j| model.operations[j].method == op.method)
            {
                warnings.push(format!(
                    "`{} {}` ({}) routes to the same axum path `{}` as another operation with that method; it is not routed",
                    op.method.to_ascii_uppercase(),
                    op.path,
                    op.id,
                    path
                ));
                continue;
            }
            route.operations.push(i);
        }
        RouteTable { routes, warnings }
    }
}

/// Whether any two paths name the parameter at one position differently.
fn needs_positional<'a>(paths: impl Iterator<Item = &'a str>) -> bool {
    let mut names: HashMap<String, &str> = HashMap::new();
    for path in paths {
        let mut prefix = String::new();
        for segment in path.split('/') {
            if segment.contains('{') {
                let Some(name) = is_plain_param(segment) else {
                    prefix.push_str("/{}");
                    continue;
                };
                let key = format!("{prefix}/{{}}");
                if let Some(existing) = names.insert(key, name)
                    && existing != name
                {
                    return true;
                }
                prefix.push_str("/{}");
            } else {
                prefix.push('/');
                prefix.push_str(segment);
            }
        }
    }
    false
}

/// The axum path for a spec path.
pub(crate) fn axum_path(path: &str, positional: bool) -> String {
    let segments: Vec<String> = path
        .split('/')
        .enumerate()
        .map(|(i, segment)| match is_plain_param(segment) {
            Some(name) if !positional => format!("{{{name}}}"),
            _ if segment.contains('{') => format!("{{p{i}}}"),
            _ => segment.to_owned(),
        })
        .collect();
    let joined = segments.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_keep_their_names() {
        assert!(!needs_positional(
            ["/pets/{petId}", "/pets/{petId}/toys"].into_iter()
        ));
        assert_eq!(axum_path("/pets/{petId}", false), "/pets/{petId}");
    }

    #[test]
    fn conflicting_names_go_positional() {
        assert!(needs_positional(
            ["/a/{account}/x", "/a/{id}/y"].into_iter()
        ));
        assert_eq!(axum_path("/a/{account}/x", true), "/a/{p2}/x");
    }

    #[test]
    fn mixed_segments_are_whole_segment_params() {
        assert_eq!(
            axum_path("/Accounts/{AccountSid}/Calls/{Sid}.json", false),
            "/Accounts/{AccountSid}/Calls/{p4}"
        );
    }
}
