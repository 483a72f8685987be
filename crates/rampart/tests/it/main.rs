//! rampart's integration tests, in one test binary (every test binary links
//! the whole dependency tree: one link instead of thirty). Each file is one
//! concern; `support` holds what they share: servers and clients, tokens and
//! the test spec, Redis discovery, raw sockets, log capture, and
//! `alone!` ([`support::process`]), which reruns a test in a process of its own
//! when it needs process-wide state to itself (a global `tracing`
//! subscriber, the Prometheus recorder).
//!
//! Run one file's tests with `cargo test -p rampart --test it auth_jwt::`.

mod support;

mod dpop_cases;

mod alert_webhook;
mod audit_injection;
mod auth_access;
mod auth_api_key;
mod auth_api_key_sql;
mod auth_config;
mod auth_jwks;
mod auth_jwt;
mod auth_lockout;
mod auth_redaction;
mod auth_scheme_isolation;
mod browser;
mod client_ip_config;
mod client_ip_unknown;
mod cors;
mod dependencies;
mod fault_redis;
mod headers;
mod hygiene;
mod limits;
mod module_cycles;
mod ops_endpoints;
mod ops_metrics;
mod rate_audit;
mod rate_cluster;
mod rate_ip;
mod rate_memory;
mod rate_redis;
mod tls;
mod version;
