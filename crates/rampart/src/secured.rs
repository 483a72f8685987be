//! Runtime support for `#[secured]` handlers routed with plain `axum::routing`.
//!
//! `#[secured(role = "admin", rate = "5/min")] async fn purge(..)` expands to a
//! unit struct `purge` that implements axum's [`Handler`] and carries the
//! handler's [`OperationPolicy`] (`purge::policy()`); the original function
//! stays callable as `purge::handler`. When a request reaches it, [`call`]
//! finds the [`Security`] in the request extensions (put there by
//! [`Security::harden`] or [`Security::attach`]), builds the route's guard
//! once per `Security`, and runs the request through the same pipeline as a
//! generated route: credentials in the URL, lockout, authentication, roles and
//! scopes, sunset, rate limit, body limit, then the handler, then the RateLimit
//! and deprecation headers.
//!
//! A secured handler reached without a `Security` (a router that was neither
//! hardened nor attached) answers `500` problem+json and logs why: it fails
//! closed, never open.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock, PoisonError};

use axum::extract::Request;
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use rampart_api::policy::OperationPolicy;
use tower::{Layer, ServiceExt};

use crate::pipeline::GuardLayer;
use crate::problem::Problem;
use crate::security::Security;

/// The `Handler` marker type of `#[secured]` handlers; `T` is the marker of
/// the wrapped function. Never constructed.
pub struct Secured<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for Secured<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secured")
    }
}

/// How many distinct `Security` values one handler keeps guards for besides
/// the first (tests start several servers in one process; a service has one).
const MAX_EXTRA_GUARDS: usize = 16;

/// The guards one `#[secured]` handler built, per `Security`. The first is
/// read without a lock; further ones (several servers in one process) go
/// through a mutex, bounded to [`MAX_EXTRA_GUARDS`].
#[derive(Debug)]
pub struct GuardCache {
    first: OnceLock<GuardLayer>,
    others: Mutex<Vec<GuardLayer>>,
}

impl GuardCache {
    /// An empty cache, for a `static`.
    pub const fn new() -> Self {
        GuardCache {
            first: OnceLock::new(),
            others: Mutex::new(Vec::new()),
        }
    }

    fn get(
        &self,
        security: &Security,
        policy: fn() -> OperationPolicy,
    ) -> Result<GuardLayer, crate::ConfigError> {
        let mut built = None;
        if let Some(guard) = self.first.get() {
            if guard.serves(&security.inner) {
                return Ok(guard.clone());
            }
        } else {
            let guard = security.try_guard(policy())?;
            let first = self.first.get_or_init(|| guard.clone());
            if first.serves(&security.inner) {
                return Ok(first.clone());
            }
            // Another `Security` won the race for the first slot (two servers
            // starting at once): ours goes with the others, never theirs.
            built = Some(guard);
        }
        let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(guard) = others.iter().find(|g| g.serves(&security.inner)) {
            return Ok(guard.clone());
        }
        let guard = match built {
            Some(guard) => guard,
            None => security.try_guard(policy())?,
        };
        if others.len() >= MAX_EXTRA_GUARDS {
            others.remove(0);
        }
        others.push(guard.clone());
        Ok(guard)
    }
}

impl Default for GuardCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Run `handler` behind the guard of `policy`; what a `#[secured]` handler's
/// [`Handler::call`] does.
pub fn call<H, T, S>(
    cache: &'static GuardCache,
    policy: fn() -> OperationPolicy,
    handler: H,
    req: Request,
    state: S,
) -> Pin<Box<dyn Future<Output = Response> + Send>>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let from_front = req
        .extensions()
        .get::<crate::context::RequestContext>()
        .and_then(Security::of_context);
    let Some(security) = from_front
        .as_ref()
        .or_else(|| req.extensions().get::<Security>())
    else {
        tracing::error!(
            target: "rampart::audit",
            event = "misconfigured",
            "a #[secured] handler was routed without rampart::Security; finish the router with security.harden(router) or security.attach(router)"
        );
        return Box::pin(std::future::ready(misconfigured()));
    };
    let guard = match cache.get(security, policy) {
        Ok(guard) => guard,
        Err(e) => {
            tracing::error!(
                target: "rampart::audit",
                event = "misconfigured",
                error = %e,
                "a #[secured] handler's policy does not fit the Security it is routed with"
            );
            return Box::pin(std::future::ready(misconfigured()));
        }
    };
    let service = guard.layer(handler.with_state(state));
    Box::pin(async move {
        match service.oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    })
}

fn misconfigured() -> Response {
    Problem::internal().into_response()
}
