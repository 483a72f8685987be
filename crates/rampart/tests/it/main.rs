//! rampart's integration tests that need no log capture, in one test binary
//! (every test binary links the whole dependency tree; one link instead of
//! eighteen). Tests that install a `tracing` subscriber keep binaries of
//! their own (`tests/*.rs`): tracing's per-callsite interest cache is
//! process-wide, and a global subscriber is installed once per process. So
//! does `ops_metrics`, whose counters are process-wide too.
//!
//! Run one file's tests with `cargo test -p rampart --test it auth_jwt::`.

#[path = "../auth_common/mod.rs"]
mod auth_common;
#[path = "../dpop_cases/mod.rs"]
mod dpop_cases;
#[path = "../harden_util/mod.rs"]
mod harden_util;
#[path = "../rate_support/mod.rs"]
mod rate_support;

mod auth_access;
mod auth_api_key;
mod auth_api_key_sql;
mod auth_config;
mod auth_jwt;
mod browser;
mod client_ip_config;
mod client_ip_unknown;
mod cors;
mod dependencies;
mod fault_redis;
mod headers;
mod limits;
mod module_cycles;
mod ops_endpoints;
mod rate_ip;
mod rate_memory;
mod rate_redis;
mod tls;
