//! `OperationPolicy`: everything the spec (or `#[secured]`) says about one
//! operation's security, as plain data. The generator and the macros only
//! *produce* these; the runtime pipeline in the `rampart` crate *enforces* them.

use serde::{Deserialize, Serialize};

use crate::grammar::Rate;

/// One security scheme required by a requirement, with the scopes it must carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchemeRequirement {
    /// The name of a scheme under `components.securitySchemes`.
    pub scheme: String,
    /// OAuth2 / OIDC scopes required (empty for other schemes).
    pub scopes: Vec<String>,
}

/// The wildcard scheme name: "any scheme the runtime has configured". Used by
/// `#[secured]` without `scheme = ...`; never a valid OpenAPI component name.
pub const ANY_SCHEME: &str = "*";

/// One alternative of OpenAPI's `security`: every scheme listed must be satisfied (AND).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SecurityRequirement {
    /// The schemes, all of which must pass.
    pub schemes: Vec<SchemeRequirement>,
}

impl SecurityRequirement {
    /// A requirement of one scheme with the given scopes.
    pub fn scheme<I, S>(scheme: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SecurityRequirement {
            schemes: vec![SchemeRequirement {
                scheme: scheme.into(),
                scopes: scopes.into_iter().map(Into::into).collect(),
            }],
        }
    }

    /// A requirement any one configured scheme satisfies ([`ANY_SCHEME`]),
    /// with the given scopes (checked against JWT scopes).
    pub fn any<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::scheme(ANY_SCHEME, scopes)
    }

    /// Add another scheme that must also pass.
    pub fn and<I, S>(mut self, scheme: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.schemes.push(SchemeRequirement {
            scheme: scheme.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
        });
        self
    }
}

/// What a rate limit is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RateKey {
    /// The authenticated principal (subject or API key id); the client IP when anonymous.
    #[default]
    Principal,
    /// Always the client IP.
    Ip,
}

/// Deprecation of an operation (or of a whole API version).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Deprecation {
    /// When it was deprecated (Unix seconds), for the `Deprecation` header.
    pub since: Option<i64>,
    /// When it stops working (Unix seconds), for the `Sunset` header and 410 afterwards.
    pub sunset: Option<i64>,
    /// The replacement, for `Link: <...>; rel="successor-version"`.
    pub successor: Option<String>,
}

/// Whether a JWT may be presented more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Replay {
    /// A token is valid until it expires (the default).
    #[default]
    Allow,
    /// `x-rampart: { replay: reject }`: every token must carry a `jti`, and a
    /// `jti` already accepted within the token's lifetime is refused (one-time tokens).
    Reject,
}

/// How a JWT scheme treats DPoP (RFC 9449) sender-constrained tokens.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum DpopMode {
    /// Only `Authorization: Bearer`; a token bound to a key (`cnf`) is refused.
    #[default]
    Off,
    /// `Bearer` for unbound tokens, or `DPoP` with a proof (`x-rampart: { dpop: allowed }`).
    Allowed,
    /// Only `Authorization: DPoP` with a valid proof (`scheme: dpop`, or
    /// `x-rampart: { dpop: required }`).
    Required,
}

/// Everything about one operation's security, as data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OperationPolicy {
    /// The operationId (or handler name for `#[secured]`).
    pub operation_id: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Path template as written in the spec (`/pets/{petId}`).
    pub path: String,
    /// Alternatives (OR) of requirements (AND). Empty means anonymous access.
    pub security: Vec<SecurityRequirement>,
    /// Explicitly public (`x-rampart: { public: true }` or `#[secured(public)]`).
    pub public: bool,
    /// Roles that may call; any one suffices (stronger roles satisfy weaker ones).
    pub roles: Vec<String>,
    /// The quota, if limited.
    pub rate: Option<Rate>,
    /// What the quota is keyed by.
    pub rate_key: RateKey,
    /// The quota is a hard limit: never leased by the Redis store
    /// (`x-rampart: { rate-exact: true }`).
    pub rate_exact: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: Option<u64>,
    /// Deprecation and sunset, if deprecated.
    pub deprecation: Option<Deprecation>,
    /// Whether a JWT may be used more than once on this operation.
    pub replay: Replay,
}

/// Two schemes named in different OR-alternatives of one operation, where
/// the `strong` one requires scopes the `weak` one does not: a token both
/// schemes accept passes through `weak` without them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeGap<'a> {
    /// The scheme of the alternative that asks for fewer scopes.
    pub weak: &'a str,
    /// The scheme of the alternative that asks for more.
    pub strong: &'a str,
    /// The scopes `strong` requires and `weak` does not.
    pub missing: Vec<&'a str>,
}

impl OperationPolicy {
    /// Every [`ScopeGap`] between two different schemes of two different
    /// alternatives, once per (weak, strong) pair, in document order. The
    /// lint (from the spec) and the runtime (from the configured verifiers)
    /// each decide which pairs accept the same tokens.
    pub fn scope_gaps(&self) -> Vec<ScopeGap<'_>> {
        let mut gaps: Vec<ScopeGap<'_>> = Vec::new();
        for (i, weak) in self.security.iter().enumerate() {
            for (j, strong) in self.security.iter().enumerate() {
                if i == j {
                    continue;
                }
                for w in &weak.schemes {
                    for s in &strong.schemes {
                        if w.scheme == s.scheme
                            || gaps
                                .iter()
                                .any(|g| g.weak == w.scheme && g.strong == s.scheme)
                        {
                            continue;
                        }
                        let missing: Vec<&str> = s
                            .scopes
                            .iter()
                            .filter(|scope| !w.scopes.contains(scope))
                            .map(String::as_str)
                            .collect();
                        if !missing.is_empty() {
                            gaps.push(ScopeGap {
                                weak: &w.scheme,
                                strong: &s.scheme,
                                missing,
                            });
                        }
                    }
                }
            }
        }
        gaps
    }

    /// A policy for `method path` with nothing required yet.
    pub fn new(
        operation_id: impl Into<String>,
        method: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        OperationPolicy {
            operation_id: operation_id.into(),
            method: method.into().to_ascii_uppercase(),
            path: path.into(),
            ..OperationPolicy::default()
        }
    }

    /// Whether a caller must authenticate.
    pub fn requires_auth(&self) -> bool {
        !self.security.is_empty()
    }

    /// Every scheme named by any requirement, deduplicated, in order.
    pub fn schemes(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for req in &self.security {
            for s in &req.schemes {
                if !names.contains(&s.scheme.as_str()) {
                    names.push(&s.scheme);
                }
            }
        }
        names
    }
}

/// Body limit applied when neither the operation nor the API sets `body-limit`.
pub const DEFAULT_BODY_LIMIT: u64 = 64 * 1024;

/// Which origins CORS admits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CorsOrigins {
    /// Exact origins, e.g. `https://app.example.com`.
    #[default]
    None,
    /// Exact origins, e.g. `https://app.example.com`.
    List(Vec<String>),
    /// Any origin (`"*"`); only allowed with `public: true` and without credentials.
    Any,
}

/// The API's CORS policy from `x-rampart.cors`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CorsPolicy {
    /// Admitted origins.
    pub origins: CorsOrigins,
    /// Whether credentials (cookies, Authorization) may be sent cross-origin.
    pub credentials: bool,
    /// Explicit opt-in for `origins: "*"`.
    pub public: bool,
    /// Extra request headers to allow beyond those the spec implies.
    pub headers: Vec<String>,
    /// Response headers to expose to scripts.
    pub expose_headers: Vec<String>,
    /// Preflight cache lifetime in seconds.
    pub max_age: Option<u64>,
}
