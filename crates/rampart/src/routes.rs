//! [`Routes`]: an API's routes before the front is put in front of them.
//!
//! Generated `router(api, security)` functions return `Routes`, not an
//! `axum::Router`: the routes a user adds ([`merge`](Routes::merge),
//! [`route`](Routes::route)) join them *behind* the one front service
//! (security headers, request id, CORS, timeouts, problem+json 404/405,
//! the built-in endpoints). The front is applied once, when the routes
//! become a router ([`into_router`](Routes::into_router), or `From`, which
//! [`crate::server::serve`] and [`crate::server::serve_tls`] call), so no
//! route can be added after it and miss it.

use axum::Router;
use axum::routing::MethodRouter;

use crate::security::Security;

/// An API's routes, with the [`Security`] whose front will serve them.
#[derive(Debug, Clone)]
#[must_use = "routes serve nothing until they become a router (`into_router`) or are served"]
pub struct Routes {
    router: Router,
    security: Security,
}

impl Routes {
    /// No routes yet, served behind `security`'s front.
    pub fn new(security: &Security) -> Self {
        Routes {
            router: Router::new(),
            security: security.clone(),
        }
    }

    /// `router`'s routes, whose paths are already as clients call them
    /// (under the spec's base path: `/v1/pets`), behind `security`'s front.
    pub fn mounted(security: &Security, router: Router) -> Self {
        Routes {
            router,
            security: security.clone(),
        }
    }

    /// Add `other`'s routes (paths as clients call them). They are served
    /// behind the same front as the API's own routes.
    pub fn merge(mut self, other: impl Into<Router>) -> Self {
        self.router = self.router.merge(other.into());
        self
    }

    /// Add one route (path as clients call it).
    pub fn route(mut self, path: &str, method_router: MethodRouter) -> Self {
        self.router = self.router.route(path, method_router);
        self
    }

    /// The `Security` the front and the routes' guards belong to.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// The routes behind the front: the one router to serve.
    pub fn into_router(self) -> Router {
        self.security.harden_mounted(self.router)
    }
}

impl From<Routes> for Router {
    fn from(routes: Routes) -> Router {
        routes.into_router()
    }
}
