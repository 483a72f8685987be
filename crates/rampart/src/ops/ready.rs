//! Readiness: `/readyz` answers 200 only when every store the
//! configuration depends on answers — the shared rate-limit and lockout
//! store (Redis), API-key stores that live elsewhere (Redis), and each JWKS
//! (its last refresh succeeded) — else 503 problem+json naming what is down.
//!
//! Each probe is bounded ([`PROBE_TIMEOUT`]); one round runs at a time
//! (single-flight: concurrent `/readyz` calls wait for the round under way
//! and share its result) and its result is kept for [`CACHE_FOR`], so a
//! probe storm cannot become a Redis storm.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::api_key::KeyStore;
use crate::auth::jwt::JwtVerifier;
use crate::rate::RateLimiter;

/// Longest a probe may take before its store counts as down.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one round of probes answers `/readyz`.
pub const CACHE_FOR: Duration = Duration::from_secs(1);

/// One dependency readiness asks.
enum Dependency {
    Limiter(RateLimiter),
    KeyStore(Arc<dyn KeyStore>),
    Jwks(Arc<JwtVerifier>),
}

/// One named dependency.
struct Check {
    /// `redis`, `api-keys:<scheme>`, `jwks:<scheme>`.
    name: String,
    dependency: Dependency,
}

/// What a round of probes found: `(name, Err(why))` for each store down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every dependency probed, with its result.
    pub checks: Vec<(String, Result<(), String>)>,
}

impl Report {
    /// Whether every dependency answered.
    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|(_, r)| r.is_ok())
    }

    /// The names of the dependencies that are down.
    pub fn down(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|(_, r)| r.is_err())
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// The dependencies of one `Security`, probed on demand.
pub(crate) struct Readiness {
    checks: Vec<Check>,
    /// The last round and when it finished. Held across a round, so one
    /// round runs at a time and callers meanwhile wait for its result.
    last: tokio::sync::Mutex<Option<(Instant, Report)>>,
}

impl Readiness {
    pub(crate) fn new() -> Self {
        Readiness {
            checks: Vec::new(),
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The rate-limit store (only a shared one can be down).
    pub(crate) fn limiter(&mut self, limiter: &RateLimiter) {
        if limiter.is_shared() {
            self.checks.push(Check {
                name: "redis".to_owned(),
                dependency: Dependency::Limiter(limiter.clone()),
            });
        }
    }

    /// An API-key store, if it can be unreachable.
    pub(crate) fn key_store(&mut self, scheme: &str, store: &Arc<dyn KeyStore>) {
        if store.probe().is_some() {
            self.checks.push(Check {
                name: format!("api-keys:{scheme}"),
                dependency: Dependency::KeyStore(store.clone()),
            });
        }
    }

    /// A JWT scheme, if its keys come from a JWKS.
    pub(crate) fn jwt(&mut self, scheme: &str, verifier: &Arc<JwtVerifier>) {
        if verifier.jwks().is_some() {
            self.checks.push(Check {
                name: format!("jwks:{scheme}"),
                dependency: Dependency::Jwks(verifier.clone()),
            });
        }
    }

    /// Whether credentials are checked against a store that can be down.
    pub(crate) fn has_credential_stores(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c.dependency, Dependency::KeyStore(_) | Dependency::Jwks(_)))
    }

    /// Probe every dependency (concurrently, each bounded), or answer
    /// from the last round if it is recent. Single-flight: a caller that
    /// arrives while a round runs waits for it and answers its result.
    pub(crate) async fn report(&self) -> Report {
        let mut last = self.last.lock().await;
        if let Some((at, report)) = last.as_ref()
            && at.elapsed() < CACHE_FOR
        {
            return report.clone();
        }
        let probes = self.checks.iter().map(|check| async move {
            let result = match tokio::time::timeout(PROBE_TIMEOUT, probe(&check.dependency)).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())),
            };
            (check.name.clone(), result)
        });
        let report = Report {
            checks: futures_util::future::join_all(probes).await,
        };
        *last = Some((Instant::now(), report.clone()));
        report
    }
}

async fn probe(dependency: &Dependency) -> Result<(), String> {
    match dependency {
        Dependency::Limiter(limiter) => limiter.probe().await,
        Dependency::KeyStore(store) => match store.probe() {
            Some(future) => future.await,
            None => Ok(()),
        },
        Dependency::Jwks(verifier) => verifier.jwks().map_or(Ok(()), |jwks| jwks.health()),
    }
}
