//! Panics in handlers become `500` problem+json carrying the request id and
//! nothing else: no panic message, no type names, no backtrace. The panic
//! itself is logged (`rampart::audit`, `event = "panic"`) with the request id,
//! so the id a caller quotes finds the log line.
//!
//! Written here rather than with `tower_http::catch_panic` because the
//! answer needs the request id, which a tower-http panic handler never sees.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::context::RequestContext;
use crate::problem::Problem;
use crate::request_id::RequestId;

/// Catch panics of the inner service and answer 500 problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}

/// The service of [`CatchPanicLayer`].
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

pin_project! {
    /// Response future of [`CatchPanic`].
    pub struct CatchPanicFuture<F> {
        #[pin]
        kind: CatchPanicKind<F>,
    }
}

pin_project! {
    #[project = CatchPanicProj]
    enum CatchPanicKind<F> {
        /// Running the inner future.
        Running { #[pin] future: CatchUnwind<AssertUnwindSafe<F>>, request_id: Option<RequestId> },
        /// The inner service panicked in `call`.
        Panicked { response: Option<Response> },
    }
}

impl<F> Future for CatchPanicFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            CatchPanicProj::Running { future, request_id } => match ready!(future.poll(cx)) {
                Ok(result) => Poll::Ready(result),
                Err(payload) => Poll::Ready(Ok(panic_response(payload, request_id.take()))),
            },
            CatchPanicProj::Panicked { response } => crate::respond::answered(response),
        }
    }
}

impl<S> Service<Request> for CatchPanic<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CatchPanicFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let request_id = req
            .extensions()
            .get::<RequestContext>()
            .map(|ctx| ctx.request_id().clone());
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(future) => CatchPanicFuture {
                kind: CatchPanicKind::Running {
                    future: AssertUnwindSafe(future).catch_unwind(),
                    request_id,
                },
            },
            Err(payload) => CatchPanicFuture {
                kind: CatchPanicKind::Panicked {
                    response: Some(panic_response(payload, request_id)),
                },
            },
        }
    }
}

/// The `500` answer to a panic with `payload`, logged with the request id.
pub(crate) fn panic_response(
    payload: Box<dyn Any + Send>,
    request_id: Option<RequestId>,
) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)");
    let id = request_id.as_ref().map_or("", RequestId::as_str);
    tracing::error!(
        target: "rampart::audit",
        event = "panic",
        request_id = id,
        panic = message,
        "handler panicked"
    );
    let mut problem =
        Problem::internal().detail("the server failed to answer; quote the request id to support");
    if let Some(id) = request_id {
        problem = problem.extension("request_id", id.as_str());
    }
    problem.into_response()
}
