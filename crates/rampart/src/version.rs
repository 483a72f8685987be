//! Versioning and deprecation.
//!
//! - [`ApiVersionLayer`]: `X-API-Version: <info.version>` on every response of
//!   an API (errors, 404s and CORS preflights included).
//! - Several versions side by side: [`crate::harden::harden_versions`] nests
//!   each version's router under its `servers` path prefix with its own
//!   policies.
//! - [`DeprecationTracker`] / [`DeprecatedOperation`] / [`DeprecationLayer`]:
//!   `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and
//!   `Link: <successor>; rel="successor-version"` on deprecated operations
//!   (every operation of a deprecated version is deprecated too), `410 Gone`
//!   problem+json once the sunset has passed (by a [`Clock`], injectable),
//!   and a per-operation, per-caller count of calls ([`DeprecatedCalls`]).

mod deprecation;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use deprecation::{
    ANONYMOUS, DEPRECATION, DeprecatedCallCount, DeprecatedCalls, DeprecatedOperation,
    DeprecationConfig, DeprecationFuture, DeprecationHeaders, DeprecationLayer, DeprecationService,
    DeprecationTracker, OTHER_SUBJECTS, SUNSET,
};

/// The `X-API-Version` header.
pub const X_API_VERSION: HeaderName = HeaderName::from_static("x-api-version");

/// Sets `X-API-Version` on every response (replacing any other value).
#[derive(Debug, Clone)]
pub struct ApiVersionLayer {
    value: HeaderValue,
}

impl ApiVersionLayer {
    /// For a version string (`info.version`); `None` if it cannot be a header value.
    pub fn new(version: &str) -> Option<Self> {
        HeaderValue::try_from(version)
            .ok()
            .map(|value| ApiVersionLayer { value })
    }

    /// The prebuilt value.
    pub fn value(&self) -> &HeaderValue {
        &self.value
    }
}

impl<S> Layer<S> for ApiVersionLayer {
    type Service = ApiVersion<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiVersion {
            inner,
            value: self.value.clone(),
        }
    }
}

/// The service of [`ApiVersionLayer`].
#[derive(Debug, Clone)]
pub struct ApiVersion<S> {
    inner: S,
    value: HeaderValue,
}

pin_project! {
    /// Response future of [`ApiVersion`].
    pub struct ApiVersionFuture<F> {
        #[pin]
        future: F,
        value: HeaderValue,
    }
}

impl<F> Future for ApiVersionFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = ready!(this.future.poll(cx));
        response
            .headers_mut()
            .insert(X_API_VERSION, this.value.clone());
        Poll::Ready(Ok(response))
    }
}

impl<S> Service<Request> for ApiVersion<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ApiVersionFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        ApiVersionFuture {
            future: self.inner.call(req),
            value: self.value.clone(),
        }
    }
}
