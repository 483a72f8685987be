//! # rampart
//!
//! The runtime of rampart, and the one crate users depend on. Everything the
//! spec (or `#[secured]`) says about an operation is an [`OperationPolicy`];
//! one pipeline enforces it before any handler runs.
//!
//! Modules, one per concern:
//! - [`problem`]: RFC 9457 problem+json errors
//! - [`principal`]: the authenticated caller, an extractor
//! - [`validate`]: typed, validated extractors for bodies and parameters
//! - [`auth`]: JWT bearer (RFC 8725), JWKS, API keys, brute-force lockout, clock
//! - [`access`]: roles with a hierarchy, scopes
//! - [`audit`]: the `rampart::audit` event log and the spec-derived [`Redactor`]
//! - [`config`]: [`SecurityConfig`] from `rampart.toml` and `RAMPART_*` variables
//! - [`security`]: [`Security`], built from the spec and config; `guard(policy)`
//! - [`pipeline`]: the per-route layer enforcing a policy ([`GuardLayer`])

pub mod access;
pub mod audit;
pub mod auth;
pub mod config;
pub mod pipeline;
pub mod principal;
pub mod problem;
pub mod security;
pub mod validate;

pub use audit::Redactor;
pub use config::{ConfigError, SecurityConfig};
pub use pipeline::GuardLayer;
pub use security::{Security, SecurityBuilder};

pub use principal::{AuthMethod, Principal};
pub use problem::{FieldError, Problem};
pub use rampart_spec::grammar::{
    Rate, RoleHierarchy, parse_instant, parse_rate, parse_role, parse_size,
};
pub use rampart_spec::policy::{
    CorsOrigins, CorsPolicy, DEFAULT_BODY_LIMIT, Deprecation, OperationPolicy, RateKey,
    SchemeRequirement, SecurityRequirement,
};
