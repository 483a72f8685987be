//! `Security`: the runtime configuration and shared state generated routers
//! are built with. (Transitional seam: the authentication/authorization
//! pipeline replaces `guard` with the enforcing layer.)

use std::sync::Arc;

use rampart_spec::policy::OperationPolicy;

/// Runtime security configuration and shared state; cheap to clone.
#[derive(Clone, Default)]
pub struct Security {
    inner: Arc<()>,
}

impl Security {
    /// An empty configuration.
    pub fn new() -> Self {
        Security::default()
    }

    /// The per-route layer enforcing `policy`.
    pub fn guard(&self, policy: OperationPolicy) -> tower::layer::util::Identity {
        let _ = (&self.inner, policy);
        tower::layer::util::Identity::new()
    }

    /// Add the global layers to a router.
    pub fn harden(&self, router: axum::Router) -> axum::Router {
        router
    }
}
