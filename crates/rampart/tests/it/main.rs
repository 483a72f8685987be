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

#[cfg(feature = "jwks")]
mod alert_webhook;
mod audit_injection;
mod auth_access;
mod auth_api_key;
#[cfg(feature = "sql")]
mod auth_api_key_sql;
mod auth_config;
#[cfg(feature = "jwks")]
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
#[cfg(feature = "redis")]
mod fault_redis;
mod headers;
mod hygiene;
mod limits;
mod module_cycles;
mod ops_endpoints;
mod ops_metrics;
#[cfg(feature = "redis")]
mod rate_audit;
#[cfg(feature = "redis")]
mod rate_cluster;
mod rate_ip;
mod rate_memory;
#[cfg(feature = "redis")]
mod rate_redis;
mod tls;
mod version;

/// The tests of Redis, SQL and JWKS-over-HTTPS need rampart's `redis`,
/// `sql` and `jwks` features (`cargo test -p rampart --all-features`; the
/// README's test command turns them on). Without them those tests are not
/// built: said here, and under `CI=true` a failure.
#[test]
fn the_optional_features_are_under_test() {
    let off: Vec<&str> = [
        ("redis", cfg!(feature = "redis")),
        ("sql", cfg!(feature = "sql")),
        ("jwks", cfg!(feature = "jwks")),
    ]
    .into_iter()
    .filter_map(|(name, on)| (!on).then_some(name))
    .collect();
    if off.is_empty() {
        return;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "rampart's features {off:?} are off, so their tests were not built; run with --all-features"
    );
    eprintln!(
        "NOTE: rampart's features {off:?} are off: their tests were not built (--all-features builds them)"
    );
}
