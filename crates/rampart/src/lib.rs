//! # rampart
//!
//! The runtime of rampart, and the one crate users depend on. Everything the
//! spec (or `#[secured]`) says about an operation is an [`OperationPolicy`];
//! one pipeline enforces it before any handler runs.
//!
//! Modules, one per concern:
//! - [`problem`]: RFC 9457 problem+json errors
//! - [`principal`]: the authenticated caller, an extractor
//! - [`auth`]: JWT bearer (RFC 8725), JWKS, API keys, brute-force lockout, clock
//! - [`access`]: roles with a hierarchy, scopes
//! - [`alert`]: brute-force alerts (audit line, metric, webhook)
//! - [`audit`]: the `rampart::audit` event log and the spec-derived [`Redactor`]
//! - [`config`]: [`SecurityConfig`] from `rampart.toml` and `RAMPART_*` variables
//! - [`security`]: [`Security`], built from the spec and config; `guard(policy)`, `harden(router)`
//! - [`pipeline`]: the per-route layer enforcing a policy ([`GuardLayer`])
//! - [`rate`]: rate limiting (GCRA) in memory or through Redis, client IP, RateLimit headers
//! - [`validate`]: typed, validated extractors for bodies and parameters
//! - [`respond`]: response helpers for generated code
//! - [`mod@harden`]: the global layers (`harden`, `harden_versions`, `HardenConfig`)
//! - [`headers`]: security headers on every response
//! - [`cors`]: CORS from `x-rampart.cors`
//! - [`limits`]: body, header and time limits
//! - [`request_id`]: request ids, echoed and logged
//! - [`mod@panic`]: panics answered 500 problem+json
//! - [`version`]: `X-API-Version`, deprecation, sunset, 410 Gone
//! - [`telemetry`]: Prometheus metrics (`metrics` facade), off until served
//! - [`ops`]: the built-in `/healthz`, `/readyz`, `/openapi.json` and `/docs`
//! - [`tls`]: rustls configuration, certificate reload, self-signed certificates
//! - [`server`]: serving over HTTP, HTTPS (HTTP/2 by ALPN) and the HTTPS redirect
//!
//! The [`guide`] holds the pages of `docs/` that document this API: the
//! architecture, the `x-rampart` annotations, configuration, and one page per
//! concern.

pub mod access;
pub mod alert;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod context;
pub mod cors;
pub mod error;
pub mod guide;
pub mod harden;
pub mod headers;
pub mod limits;
pub(crate) mod net;
pub mod ops;
pub mod panic;
pub mod pipeline;
pub mod plan;
pub mod principal;
pub mod problem;
pub mod rate;
pub mod request_id;
pub mod respond;
pub mod routes;
pub mod secured;
pub mod security;
pub mod server;
pub mod settings;
pub mod telemetry;
#[cfg(feature = "tls")]
pub use server::tls;
pub mod validate;
pub mod version;

/// Re-exports for generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use axum;
    pub use bytes;
    pub use fancy_regex::Regex as BacktrackingRegex;
    pub use fancy_regex::RegexBuilder as BacktrackingRegexBuilder;
    pub use http;
    pub use regex::Regex;
    pub use serde;
    pub use serde_json;

    /// A generated `pattern` check: the regex is compiled on first use
    /// (`static NAME_PATTERN: Pattern = Pattern::new("^[a-z]+$");`, used as
    /// `regex(path = *NAME_PATTERN)`). The generator checked it compiles.
    pub struct Pattern {
        text: &'static str,
        regex: std::sync::OnceLock<Regex>,
    }

    impl Pattern {
        /// The check for `text` (Rust regex syntax).
        pub const fn new(text: &'static str) -> Self {
            Pattern {
                text,
                regex: std::sync::OnceLock::new(),
            }
        }
    }

    impl std::ops::Deref for Pattern {
        type Target = Regex;

        fn deref(&self) -> &Regex {
            self.regex
                .get_or_init(|| Regex::new(self.text).expect("pattern checked when generated"))
        }
    }

    /// An optional field that is not `nullable`: absent is `None` (with
    /// `#[serde(default)]`), an explicit `null` is an error.
    pub fn non_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        D: serde::Deserializer<'de>,
        T: serde::Deserialize<'de>,
    {
        T::deserialize(deserializer).map(Some)
    }
}

pub use audit::Redactor;
pub use config::{ConfigError, SecurityConfig};
pub use harden::{ApiInfo, HardenConfig, harden, harden_versions};
pub use pipeline::GuardLayer;
pub use rampart_macros::{api, descriptor, operation, secured};
pub use routes::Routes;
pub use security::{Security, SecurityBuilder};

pub use principal::{AuthMethod, Principal};
pub use problem::{FieldError, Problem};
pub use rampart_api::endpoints::Endpoints;
pub use rampart_api::grammar::{
    Rate, RoleHierarchy, parse_instant, parse_rate, parse_role, parse_size,
};
pub use rampart_api::policy::{
    ANY_SCHEME, CorsOrigins, CorsPolicy, DEFAULT_BODY_LIMIT, Deprecation, DpopMode,
    OperationPolicy, RateKey, Replay, SchemeRequirement, SecurityRequirement,
};
pub use rampart_api::scheme::{ApiKeyLocation, SchemeSettings, SecuritySchemeKind};
pub use rampart_api::{ApiDescriptor, OperationDescriptor, SchemeDescriptor};
pub use rate::{Decision, RateLimitLayer, RateLimiter, RatePolicy, TrustedProxies};
