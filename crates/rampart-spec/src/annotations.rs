//! The `x-rampart` extension: typed, with spans, checked key by key.
//!
//! Top level (defaults for every operation):
//! `roles`, `rate`, `burst`, `rate-key`, `rate-exact`, `body-limit`, `cors`,
//! `deprecated`, `deprecation`, `sunset`, `successor`, `endpoints`
//! ([`crate::endpoints`]).
//! Per operation: `roles`, `rate`, `burst`, `rate-key`, `rate-exact`,
//! `body-limit`, `public`, `deprecation`, `sunset`, `successor`, `replay`.
//! Per JWT security scheme: `audience`, `issuer`, `typ`, `dpop`, `replay`,
//! `client-id-subject`.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::grammar::{Rate, ValueError, parse_instant, parse_rate, parse_role, parse_size};
use crate::node::{Node, NodeKind};
use crate::policy::{CorsOrigins, CorsPolicy, DpopMode, RateKey, Replay};
use crate::source::Span;
use crate::suggest::did_you_mean;

pub use crate::spanned::Spanned;
pub(crate) use crate::spanned::{check_keys, expect_map};

/// The extension's name.
pub const EXTENSION: &str = "x-rampart";

/// Keys allowed in the top-level `x-rampart`.
pub const API_KEYS: &[&str] = &[
    "roles",
    "rate",
    "burst",
    "rate-key",
    "rate-exact",
    "body-limit",
    "cors",
    "deprecated",
    "deprecation",
    "sunset",
    "successor",
    "endpoints",
];
/// Keys allowed in an operation's `x-rampart`.
pub const OPERATION_KEYS: &[&str] = &[
    "roles",
    "rate",
    "burst",
    "rate-key",
    "rate-exact",
    "body-limit",
    "public",
    "deprecation",
    "sunset",
    "successor",
    "replay",
];
/// Keys allowed in a security scheme's `x-rampart` (JWT schemes only).
pub const SCHEME_KEYS: &[&str] = &[
    "audience",
    "issuer",
    "typ",
    "dpop",
    "replay",
    "client-id-subject",
];
/// Keys allowed in `x-rampart.cors`.
pub const CORS_KEYS: &[&str] = &[
    "origins",
    "credentials",
    "public",
    "headers",
    "expose-headers",
    "max-age",
];

/// Annotations shared by the top level and operations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommonAnnotations {
    /// Roles (declared at the top level; required per operation).
    pub roles: Vec<Spanned<String>>,
    /// Quota.
    pub rate: Option<Spanned<Rate>>,
    /// Burst for the quota.
    pub burst: Option<Spanned<u32>>,
    /// What the quota is keyed by.
    pub rate_key: Option<Spanned<RateKey>>,
    /// The quota is never leased (`rate-exact`).
    pub rate_exact: Option<Spanned<bool>>,
    /// Body limit in bytes.
    pub body_limit: Option<Spanned<u64>>,
    /// Deprecation instant (Unix seconds).
    pub deprecation: Option<Spanned<i64>>,
    /// Sunset instant (Unix seconds).
    pub sunset: Option<Spanned<i64>>,
    /// Successor URL or path.
    pub successor: Option<Spanned<String>>,
    /// Where the `x-rampart` mapping is.
    pub span: Option<Span>,
}

/// The top-level `x-rampart`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiAnnotations {
    /// Shared keys; `roles` here declares roles, strongest first.
    pub common: CommonAnnotations,
    /// CORS policy.
    pub cors: Option<Spanned<CorsPolicy>>,
    /// The whole API version is deprecated.
    pub deprecated: Option<Spanned<bool>>,
    /// Where the built-in endpoints are served (`None`: the defaults).
    pub endpoints: Option<Spanned<crate::endpoints::Endpoints>>,
}

/// An operation's `x-rampart`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OperationAnnotations {
    /// Shared keys; `roles` here are required roles.
    pub common: CommonAnnotations,
    /// Explicit opt-out of authentication.
    pub public: Option<Spanned<bool>>,
    /// `replay: reject`: one-time tokens on this operation.
    pub replay: Option<Spanned<Replay>>,
}

/// A JWT security scheme's `x-rampart`: the non-secret verifier settings
/// that set it apart from the other JWT schemes (defaults for its
/// `[schemes.NAME]` configuration, which overrides them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemeAnnotations {
    /// Accepted `aud` values.
    pub audience: Vec<Spanned<String>>,
    /// Accepted `iss` values.
    pub issuer: Vec<Spanned<String>>,
    /// Required `typ` header.
    pub typ: Option<Spanned<String>>,
    /// `dpop: required | allowed`: DPoP (RFC 9449) proofs.
    pub dpop: Option<Spanned<DpopMode>>,
    /// `replay: reject`: one-time tokens on every operation using the scheme.
    pub replay: Option<Spanned<Replay>>,
    /// `client-id-subject: true`: a token without `sub` is identified by its
    /// `client_id` (client-credentials tokens); otherwise it is refused.
    pub client_id_subject: Option<Spanned<bool>>,
}

impl SchemeAnnotations {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.audience.is_empty()
            && self.issuer.is_empty()
            && self.typ.is_none()
            && self.dpop.is_none()
            && self.replay.is_none()
            && self.client_id_subject.is_none()
    }
}

/// Read `replay: reject | allow`.
fn read_replay(node: &Node, diags: &mut Diagnostics) -> Option<Spanned<Replay>> {
    read_word(
        node,
        "replay",
        &[("reject", Replay::Reject), ("allow", Replay::Allow)],
        diags,
    )
}

/// Read `dpop: required | allowed | off`.
fn read_dpop(node: &Node, diags: &mut Diagnostics) -> Option<Spanned<DpopMode>> {
    read_word(
        node,
        "dpop",
        &[
            ("required", DpopMode::Required),
            ("allowed", DpopMode::Allowed),
            ("off", DpopMode::Off),
        ],
        diags,
    )
}

/// Read one of a fixed set of words; anything else is an error naming the
/// nearest word.
fn read_word<T: Copy>(
    node: &Node,
    key: &str,
    words: &[(&str, T)],
    diags: &mut Diagnostics,
) -> Option<Spanned<T>> {
    let names = || words.iter().map(|(w, _)| *w);
    if let Some(text) = node.as_str()
        && let Some((_, value)) = words.iter().find(|(w, _)| *w == text)
    {
        return Some(Spanned {
            value: *value,
            span: node.span,
        });
    }
    let found = match node.as_str() {
        Some(text) => format!("`{text}`{}", did_you_mean(text, names())),
        None => node.describe().to_string(),
    };
    diags.push(
        Diagnostic::error(
            "malformed-annotation",
            format!(
                "`{key}` must be one of {}, found {found}",
                names()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .at(node.span)
        .help(format!("e.g. `{key}: {}`", words[0].0)),
    );
    None
}

/// Read a security scheme's `x-rampart` from the scheme node; `jwt` says
/// whether rampart verifies the scheme's credentials as JWTs (the keys
/// mean nothing for API keys).
pub fn read_scheme(scheme: &Node, jwt: bool, diags: &mut Diagnostics) -> SchemeAnnotations {
    let Some(node) = scheme.get(EXTENSION) else {
        return SchemeAnnotations::default();
    };
    let mut out = SchemeAnnotations::default();
    if !expect_map(node, EXTENSION, diags) {
        return out;
    }
    if !jwt {
        diags.push(
            Diagnostic::error(
                "malformed-annotation",
                "`x-rampart` on a security scheme sets JWT verifier settings, but this scheme is not verified as a JWT",
            )
            .at(node.span)
            .help("remove it, or use it on an http bearer (JWT), oauth2 or openIdConnect scheme"),
        );
        return out;
    }
    check_keys(node, SCHEME_KEYS, "a security scheme's x-rampart", diags);
    out.dpop = node.get("dpop").and_then(|n| read_dpop(n, diags));
    out.replay = node.get("replay").and_then(|n| read_replay(n, diags));
    out.client_id_subject = node
        .get("client-id-subject")
        .and_then(|n| read_bool(n, "client-id-subject", diags));
    out.audience = node
        .get("audience")
        .map(|n| read_string_list(n, "audience", diags))
        .unwrap_or_default();
    out.issuer = node
        .get("issuer")
        .map(|n| read_string_list(n, "issuer", diags))
        .unwrap_or_default();
    out.typ = node.get("typ").and_then(|n| match n.as_str() {
        Some(t) if !t.trim().is_empty() => Some(Spanned {
            value: t.to_owned(),
            span: n.span,
        }),
        _ => {
            diags.push(
                Diagnostic::error(
                    "malformed-annotation",
                    format!("`typ` must be a non-empty string, found {}", n.describe()),
                )
                .at(n.span)
                .help("e.g. `typ: at+jwt`"),
            );
            None
        }
    });
    for (key, values) in [("audience", &out.audience), ("issuer", &out.issuer)] {
        if let Some(empty) = values.iter().find(|v| v.value.trim().is_empty()) {
            diags.push(
                Diagnostic::error(
                    "malformed-annotation",
                    format!("`{key}` entries must not be empty"),
                )
                .at(empty.span),
            );
        }
    }
    out
}

/// Read the top-level `x-rampart` from the document root.
pub fn read_api(root: &Node, diags: &mut Diagnostics) -> ApiAnnotations {
    let Some(node) = root.get(EXTENSION) else {
        return ApiAnnotations::default();
    };
    let mut out = ApiAnnotations::default();
    if !expect_map(node, EXTENSION, diags) {
        return out;
    }
    check_keys(node, API_KEYS, "the top-level x-rampart", diags);
    out.common = read_common(node, diags);
    out.deprecated = node
        .get("deprecated")
        .and_then(|n| read_bool(n, "deprecated", diags));
    out.cors = node.get("cors").and_then(|n| read_cors(n, diags));
    out.endpoints = node
        .get("endpoints")
        .map(|n| crate::endpoints::read_endpoints(n, diags));
    out
}

/// Read an operation's `x-rampart` from the operation node.
pub fn read_operation(op: &Node, diags: &mut Diagnostics) -> OperationAnnotations {
    let Some(node) = op.get(EXTENSION) else {
        return OperationAnnotations::default();
    };
    let mut out = OperationAnnotations::default();
    if !expect_map(node, EXTENSION, diags) {
        return out;
    }
    check_keys(node, OPERATION_KEYS, "an operation's x-rampart", diags);
    out.common = read_common(node, diags);
    out.public = node
        .get("public")
        .and_then(|n| read_bool(n, "public", diags));
    out.replay = node.get("replay").and_then(|n| read_replay(n, diags));
    out
}

fn read_common(node: &Node, diags: &mut Diagnostics) -> CommonAnnotations {
    let mut out = CommonAnnotations {
        span: Some(node.span),
        ..CommonAnnotations::default()
    };
    if let Some(roles) = node.get("roles") {
        out.roles = read_string_list(roles, "roles", diags)
            .into_iter()
            .filter(|r| match parse_role(&r.value) {
                Ok(_) => true,
                Err(e) => {
                    diags.push(value_diag("malformed-role", e, r.span));
                    false
                }
            })
            .collect();
    }
    out.rate = node.get("rate").and_then(|n| {
        parse_scalar(
            n,
            "rate",
            "a rate like `5/min`",
            diags,
            parse_rate,
            "malformed-rate",
        )
    });
    out.burst = node.get("burst").and_then(|n| match n.kind {
        NodeKind::Int(b) if b >= 1 && b <= i64::from(u32::MAX) => Some(Spanned {
            value: b as u32,
            span: n.span,
        }),
        _ => {
            diags.push(
                Diagnostic::error(
                    "malformed-burst",
                    format!(
                        "malformed burst `{}`: expected a whole number of at least 1",
                        text_of(n)
                    ),
                )
                .at(n.span)
                .help("e.g. `burst: 10` lets a client spend 10 requests at once"),
            );
            None
        }
    });
    out.rate_exact = node
        .get("rate-exact")
        .and_then(|n| read_bool(n, "rate-exact", diags));
    out.rate_key = node.get("rate-key").and_then(|n| {
        parse_scalar(
            n,
            "rate-key",
            "`principal` or `ip`",
            diags,
            |t| match t {
                "principal" => Ok(RateKey::Principal),
                "ip" => Ok(RateKey::Ip),
                other => Err(ValueError {
                    message: format!(
                        "unknown rate-key `{other}`{}",
                        did_you_mean(other, ["principal", "ip"])
                    ),
                    help: "`rate-key` is `principal` (the default) or `ip`".into(),
                }),
            },
            "malformed-rate-key",
        )
    });
    out.body_limit = node.get("body-limit").and_then(|n| {
        if let NodeKind::Int(i) = n.kind
            && i >= 0
        {
            return Some(Spanned {
                value: i as u64,
                span: n.span,
            });
        }
        parse_scalar(
            n,
            "body-limit",
            "a size like `64KiB`",
            diags,
            parse_size,
            "malformed-size",
        )
    });
    out.deprecation = node.get("deprecation").and_then(|n| {
        parse_scalar(
            n,
            "deprecation",
            "a date like `2026-01-01`",
            diags,
            parse_instant,
            "malformed-date",
        )
    });
    out.sunset = node.get("sunset").and_then(|n| {
        parse_scalar(
            n,
            "sunset",
            "a date like `2027-06-01T00:00:00Z`",
            diags,
            parse_instant,
            "malformed-date",
        )
    });
    out.successor = node.get("successor").and_then(|n| match n.as_str() {
        Some(s) if !s.trim().is_empty() => Some(Spanned {
            value: s.to_owned(),
            span: n.span,
        }),
        _ => {
            diags.push(
                Diagnostic::error(
                    "malformed-successor",
                    "`successor` must be a path or URL, e.g. `/v2/pets/{petId}`",
                )
                .at(n.span),
            );
            None
        }
    });
    out
}

fn read_cors(node: &Node, diags: &mut Diagnostics) -> Option<Spanned<CorsPolicy>> {
    if !expect_map(node, "cors", diags) {
        return None;
    }
    check_keys(node, CORS_KEYS, "x-rampart.cors", diags);
    let mut cors = CorsPolicy::default();
    if let Some(origins) = node.get("origins") {
        cors.origins = match origins.as_str() {
            Some("*") => CorsOrigins::Any,
            _ => {
                let list = read_string_list(origins, "origins", diags);
                for o in &list {
                    if o.value == "*" {
                        diags.push(
                            Diagnostic::error("malformed-cors", "`*` cannot be mixed with exact origins")
                                .at(o.span)
                                .help("write `origins: \"*\"` alone (with `public: true`), or list exact origins"),
                        );
                    } else if !valid_origin(&o.value) {
                        diags.push(
                            Diagnostic::error("malformed-cors", format!("`{}` is not an origin", o.value))
                                .at(o.span)
                                .help("an origin is scheme://host[:port] with no path, e.g. `https://app.example.com`"),
                        );
                    }
                }
                CorsOrigins::List(
                    list.into_iter()
                        .filter(|o| o.value != "*")
                        .map(|o| o.value)
                        .collect(),
                )
            }
        };
    }
    let flag = |key: &str, diags: &mut Diagnostics| {
        node.get(key)
            .and_then(|n| read_bool(n, key, diags))
            .is_some_and(|b| b.value)
    };
    cors.credentials = flag("credentials", diags);
    cors.public = flag("public", diags);
    if let Some(h) = node.get("headers") {
        cors.headers = read_string_list(h, "headers", diags)
            .into_iter()
            .map(|s| s.value)
            .collect();
    }
    if let Some(h) = node.get("expose-headers") {
        cors.expose_headers = read_string_list(h, "expose-headers", diags)
            .into_iter()
            .map(|s| s.value)
            .collect();
    }
    if let Some(m) = node.get("max-age") {
        match m.kind {
            NodeKind::Int(i) if i >= 0 => cors.max_age = Some(i as u64),
            _ => diags.push(
                Diagnostic::error("malformed-cors", "`max-age` must be a number of seconds")
                    .at(m.span),
            ),
        }
    }
    let origins_span = node.get("origins").map_or(node.span, |n| n.span);
    if cors.origins == CorsOrigins::Any {
        if cors.credentials {
            diags.push(
                Diagnostic::error(
                    "cors-wildcard-credentials",
                    "CORS `origins: \"*\"` cannot be combined with `credentials: true`",
                )
                .at(origins_span)
                .help("list the exact origins that may send credentials"),
            );
        } else if !cors.public {
            diags.push(
                Diagnostic::error("cors-wildcard", "CORS `origins: \"*\"` admits every website; it needs an explicit `public: true`")
                    .at(origins_span)
                    .help("add `public: true` to x-rampart.cors if this API is meant for any origin, or list exact origins"),
            );
        }
    }
    Some(Spanned {
        value: cors,
        span: node.span,
    })
}

fn valid_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains('/')
        && !rest.contains('*')
}

fn read_bool(node: &Node, key: &str, diags: &mut Diagnostics) -> Option<Spanned<bool>> {
    match node.as_bool() {
        Some(b) => Some(Spanned {
            value: b,
            span: node.span,
        }),
        None => {
            diags.push(
                Diagnostic::error(
                    "malformed-annotation",
                    format!("`{key}` must be true or false, found {}", node.describe()),
                )
                .at(node.span),
            );
            None
        }
    }
}

fn read_string_list(node: &Node, key: &str, diags: &mut Diagnostics) -> Vec<Spanned<String>> {
    let items: Vec<&Node> = match &node.kind {
        NodeKind::Seq(items) => items.iter().collect(),
        NodeKind::Str(_) => vec![node],
        _ => {
            diags.push(
                Diagnostic::error(
                    "malformed-annotation",
                    format!(
                        "`{key}` must be a list of strings, found {}",
                        node.describe()
                    ),
                )
                .at(node.span),
            );
            return Vec::new();
        }
    };
    items
        .into_iter()
        .filter_map(|item| match item.as_str() {
            Some(s) => Some(Spanned {
                value: s.to_owned(),
                span: item.span,
            }),
            None => {
                diags.push(
                    Diagnostic::error(
                        "malformed-annotation",
                        format!(
                            "entries of `{key}` must be strings, found {}",
                            item.describe()
                        ),
                    )
                    .at(item.span),
                );
                None
            }
        })
        .collect()
}

fn text_of(node: &Node) -> String {
    node.scalar_text()
        .unwrap_or_else(|| node.describe().to_owned())
}

fn value_diag(code: &'static str, e: ValueError, span: Span) -> Diagnostic {
    Diagnostic::error(code, e.message).at(span).help(e.help)
}

fn parse_scalar<T>(
    node: &Node,
    key: &str,
    expected: &str,
    diags: &mut Diagnostics,
    parse: impl Fn(&str) -> Result<T, ValueError>,
    code: &'static str,
) -> Option<Spanned<T>> {
    let Some(text) = node.as_str() else {
        diags.push(
            Diagnostic::error(
                code,
                format!("malformed `{key}` `{}`: expected {expected}", text_of(node)),
            )
            .at(node.span),
        );
        return None;
    };
    match parse(text) {
        Ok(value) => Some(Spanned {
            value,
            span: node.span,
        }),
        Err(e) => {
            diags.push(value_diag(code, e, node.span));
            None
        }
    }
}
