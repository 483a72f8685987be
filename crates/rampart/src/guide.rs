//! The guide: the pages of `docs/` that document this crate's API and the
//! `x-rampart` annotations it enforces, rendered beside the API itself (the
//! same Markdown files, included as they are, so the two never drift).
//! Rust snippets in them are sketches (they name a generated crate such as
//! `petstore`), so they are not compiled as doctests; the integration tests
//! run the same calls.

#[doc = include_str!("../../../docs/architecture.md")]
pub mod architecture {}

#[doc = include_str!("../../../docs/annotations.md")]
pub mod annotations {}

#[doc = include_str!("../../../docs/configuration.md")]
pub mod configuration {}

#[doc = include_str!("../../../docs/runtime/auth.md")]
pub mod auth {}

#[doc = include_str!("../../../docs/runtime/rate.md")]
pub mod rate {}

#[doc = include_str!("../../../docs/runtime/hardening.md")]
pub mod hardening {}

#[doc = include_str!("../../../docs/runtime/operations.md")]
pub mod operations {}

#[doc = include_str!("../../../docs/audit.md")]
pub mod audit {}

#[doc = include_str!("../../../docs/macros.md")]
pub mod macros {}
