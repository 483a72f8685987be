//! # rampart-spec
//!
//! Reads OpenAPI 3.0.x, 3.1.x and 3.2.x specs (YAML or JSON; 3.1/3.2 are
//! read as the 3.0 shape by [`dialect`]) with source positions, resolves
//! `$ref`s (including files next to the spec), parses the `x-rampart`
//! annotations and the standard security declarations into a typed
//! [`ApiModel`], and reports every problem as a [`Diagnostic`] naming
//! `file:line:col`, the offending text and, where it applies, the nearest
//! valid word.
//!
//! The [`grammar`] module is the one parser for rates, sizes, dates and roles
//! that the spec loader, the proc macros and the runtime all share; the
//! [`policy`] module holds [`OperationPolicy`], the data the runtime enforces.
//!
//! ```
//! let loaded = rampart_spec::load_str("api.yaml", r#"
//! openapi: 3.0.3
//! info: { title: Demo, version: "1.0" }
//! x-rampart: { roles: [admin, viewer], rate: 100/15min }
//! components:
//!   securitySchemes: { bearerAuth: { type: http, scheme: bearer } }
//! security: [{ bearerAuth: [] }]
//! paths:
//!   /things:
//!     get:
//!       operationId: listThings
//!       x-rampart: { roles: [viewer] }
//!       responses: { "200": { description: ok } }
//! "#.to_owned());
//! assert!(!loaded.has_errors(), "{}", loaded.render());
//! let model = loaded.model.unwrap();
//! assert_eq!(model.operations[0].policy.roles, ["viewer"]);
//! ```

pub mod annotations;
mod descriptor;
pub mod diagnostic;
pub mod dialect;
pub mod endpoints;
pub mod lint;
mod load;
pub mod model;
pub mod node;
mod refs;
pub mod resolve;
pub mod schemas;
pub mod source;
pub mod spanned;
pub mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use dialect::Dialect;
pub use grammar::{
    Rate, RoleHierarchy, ValueError, parse_instant, parse_rate, parse_role, parse_size,
};
pub use load::{Loaded, load_file, load_str};
pub use model::{ApiModel, Operation, SecuritySchemeKind};
pub use policy::{
    ANY_SCHEME, CorsOrigins, CorsPolicy, Deprecation, DpopMode, OperationPolicy, RateKey, Replay,
    SchemeRequirement, SecurityRequirement,
};
pub use rampart_api::{ApiDescriptor, OperationDescriptor, SchemeDescriptor};
/// The data rampart enforces ([`rampart_api`]), re-exported where the
/// spec front end has always offered it.
pub use rampart_api::{grammar, policy, suggest};
pub use source::{Location, SourceFiles, Span};
