//! Runtime support for `#[secured]` handlers routed with plain `axum::routing`.
//!
//! `#[secured(role = "admin", rate = "5/min")] async fn purge(..)` expands to a
//! unit struct `purge` that carries the handler's [`OperationPolicy`]
//! (`purge::policy()`); the original function stays callable as
//! `purge::handler`. The struct is **not** an axum handler by itself: it is
//! routed through [`Security::secured`](crate::Security::secured), which builds its guard when the
//! router is built — `delete(security.secured(purge))`. So a `#[secured]`
//! handler routed without its guard does not compile, and a policy that does
//! not fit the `Security` (an unknown scheme, roles on an anonymous route)
//! stops the server at startup, never a request.
//!
//! Each request runs through the same pipeline as a generated route:
//! credentials in the URL, lockout, authentication, roles and scopes, sunset,
//! rate limit, body limit, then the handler, then the RateLimit and
//! deprecation headers.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use axum::extract::Request;
use axum::handler::Handler;
use axum::response::Response;
use rampart_api::policy::OperationPolicy;
use tower::{Layer, ServiceExt};

use crate::pipeline::GuardLayer;

/// The `Handler` marker type of guarded `#[secured]` handlers; `T` is the
/// marker of the wrapped function. Never constructed.
pub struct Secured<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for Secured<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secured")
    }
}

/// What a guarded handler's future is.
pub type GuardedFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

/// A `#[secured]` handler's policy (implemented by the macro).
pub trait SecuredPolicy {
    /// The policy the handler is enforced with.
    fn policy() -> OperationPolicy;
}

/// A `#[secured]` handler, callable behind a guard (implemented by the
/// macro; route it with [`Security::secured`](crate::Security::secured)).
pub trait SecuredHandler<T, S>: SecuredPolicy + Clone + Send + Sync + Sized + 'static {
    /// Run the handler behind `guard`.
    fn call_guarded(self, guard: &GuardLayer, req: Request, state: S) -> GuardedFuture;
}

/// A `#[secured]` handler with its guard: what [`Security::secured`]
/// returns, and what axum routes.
///
/// [`Security::secured`]: crate::Security::secured
#[derive(Clone)]
pub struct Guarded<H> {
    handler: H,
    guard: GuardLayer,
}

impl<H> Guarded<H> {
    pub(crate) fn new(handler: H, guard: GuardLayer) -> Self {
        Guarded { handler, guard }
    }
}

impl<H> std::fmt::Debug for Guarded<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded")
            .field("handler", &std::any::type_name::<H>())
            .finish_non_exhaustive()
    }
}

impl<H, T, S> Handler<Secured<T>, S> for Guarded<H>
where
    H: SecuredHandler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    type Future = GuardedFuture;

    fn call(self, req: Request, state: S) -> Self::Future {
        self.handler.call_guarded(&self.guard, req, state)
    }
}

/// Run `handler` behind `guard`; what a `#[secured]` handler's
/// [`SecuredHandler::call_guarded`] does.
pub fn run<H, T, S>(guard: &GuardLayer, handler: H, req: Request, state: S) -> GuardedFuture
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let service = guard.layer(handler.with_state(state));
    Box::pin(async move {
        match service.oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    })
}
