//! # rampart-api
//!
//! The seam between build time and run time: the data rampart enforces,
//! and nothing that reads a spec. `rampart-spec` interprets an OpenAPI
//! document once and produces an [`ApiDescriptor`]; the generator, `api!`
//! and `#[operation]` compile it into the program; the `rampart` runtime
//! enforces it without ever parsing YAML or needing the spec file.
//!
//! - [`policy`]: [`OperationPolicy`](policy::OperationPolicy), one
//!   operation's security as data;
//! - [`scheme`]: security schemes and their `x-rampart` settings;
//! - [`endpoints`]: where the built-in operational endpoints are served;
//! - [`grammar`]: the one parser for rates, sizes, instants and roles;
//! - [`descriptor`]: [`ApiDescriptor`], everything the runtime needs from a spec;
//! - `tokens` (feature `tokens`): a policy as the Rust expression that builds it.

pub mod descriptor;
pub mod endpoints;
pub mod grammar;
pub mod policy;
pub mod scheme;
pub mod suggest;
#[cfg(feature = "tokens")]
pub mod tokens;

pub use descriptor::{ApiDescriptor, DescriptorError, OperationDescriptor, SchemeDescriptor};
