//! rampart-spec's integration tests in one test binary (every test binary
//! links the whole dependency tree). `perf.rs` keeps a binary of its own: it
//! counts allocations with a global allocator, which other tests running
//! beside it would disturb.
//!
//! Run one file's tests with `cargo test -p rampart-spec --test it lint_rules::`.

#[path = "../common/mod.rs"]
mod common;

mod annotations;
mod corpus;
mod fuzz;
mod lint_config;
mod lint_corpus;
mod lint_parity;
mod lint_rules;
mod lint_sarif;
mod refs;
mod syntax;
