//! The built-in operational endpoints every rampart server answers, and the
//! top-level `x-rampart.endpoints` that moves or turns them off:
//!
//! ```yaml
//! x-rampart:
//!   endpoints:            # `endpoints: false` turns every one off
//!     health: /healthz    # liveness: 200 while the process serves
//!     ready: /readyz      # readiness: 200 when the stores answer, else 503
//!     openapi: /openapi.json
//!     docs: false         # each one: a path, or false
//!     metrics: /metrics   # Prometheus text; off unless named (or RAMPART_METRICS_ADDR)
//! ```
//!
//! The paths are absolute (not under the spec's base path): orchestrators
//! and scrapers look for them at the root.

/// Keys allowed in `x-rampart.endpoints`.
pub const ENDPOINT_KEYS: &[&str] = &["health", "ready", "openapi", "docs", "metrics"];

/// Default liveness path.
pub const DEFAULT_HEALTH: &str = "/healthz";
/// Default readiness path.
pub const DEFAULT_READY: &str = "/readyz";
/// Default path of the served spec.
pub const DEFAULT_OPENAPI: &str = "/openapi.json";
/// Default path of the interactive API page.
pub const DEFAULT_DOCS: &str = "/docs";

/// Where each built-in endpoint is served; `None` is off.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoints {
    /// Liveness (`GET`, always 200).
    pub health: Option<String>,
    /// Readiness (`GET`, 200 or 503 naming what is down).
    pub ready: Option<String>,
    /// The served spec, without `x-rampart`, completed with the pipeline's answers.
    pub openapi: Option<String>,
    /// The interactive API page (its assets live under this path).
    pub docs: Option<String>,
    /// Prometheus metrics on the main listener (off by default: metrics
    /// belong on a private listener, `RAMPART_METRICS_ADDR`).
    pub metrics: Option<String>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            health: Some(DEFAULT_HEALTH.to_owned()),
            ready: Some(DEFAULT_READY.to_owned()),
            openapi: Some(DEFAULT_OPENAPI.to_owned()),
            docs: Some(DEFAULT_DOCS.to_owned()),
            metrics: None,
        }
    }
}

impl Endpoints {
    /// Every endpoint off.
    pub fn none() -> Self {
        Endpoints {
            health: None,
            ready: None,
            openapi: None,
            docs: None,
            metrics: None,
        }
    }

    /// `(key, path)` of each endpoint that is on.
    pub fn paths(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("health", &self.health),
            ("ready", &self.ready),
            ("openapi", &self.openapi),
            ("docs", &self.docs),
            ("metrics", &self.metrics),
        ]
        .into_iter()
        .filter_map(|(key, path)| path.as_deref().map(|p| (key, p)))
    }
}

/// Why `path` cannot be an endpoint's path, if it cannot.
pub fn path_error(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("must start with `/`");
    }
    if path == "/" {
        return Some("cannot be `/`");
    }
    if path.ends_with('/') {
        return Some("must not end with `/`");
    }
    if path.contains("//") {
        return Some("must not contain an empty segment");
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"/-._~".contains(&b);
    if !path.bytes().all(allowed) {
        return Some("may hold only letters, digits and `/-._~` (no parameters)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert_eq!(path_error("/healthz"), None);
        assert_eq!(path_error("/ops/v1.health"), None);
        assert!(path_error("healthz").is_some());
        assert!(path_error("/").is_some());
        assert!(path_error("/a/").is_some());
        assert!(path_error("/a//b").is_some());
        assert!(path_error("/pets/{id}").is_some());
        assert!(path_error("/a b").is_some());
    }

    #[test]
    fn defaults_serve_four_endpoints_and_keep_metrics_private() {
        let e = Endpoints::default();
        let keys: Vec<&str> = e.paths().map(|(k, _)| k).collect();
        assert_eq!(keys, ["health", "ready", "openapi", "docs"]);
        assert_eq!(Endpoints::none().paths().count(), 0);
    }
}
