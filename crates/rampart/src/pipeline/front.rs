//! [`Front`]: the ONE service in front of a whole router (its 404s and 405s
//! included) that does every global step of DESIGN.md's pipeline:
//!
//! - one pass over the request headers: the request id (kept when well
//!   formed, else generated and written into the request), header count and
//!   size (`431`), whether credentials were sent, the `Origin`;
//! - CORS: a preflight is answered here, before any route runs;
//! - ONE request extension, the [`RequestContext`] (request id, client IP
//!   resolved through the trusted proxies, TLS flag);
//! - one future that catches panics (`500` problem+json with the request id)
//!   and times the request out (`408`/`503`); the timer is armed only when
//!   the router does not answer on the first poll;
//! - the built-in endpoints ([`crate::ops`]: `/healthz`, `/readyz`,
//!   `/openapi.json`, `/docs`) are answered here, before any route;
//! - on the way out the security headers (prebuilt [`HeaderValue`]s),
//!   `X-API-Version`, the request id and the CORS headers.
//!
//! Built by [`crate::harden::harden`], [`crate::harden::harden_versions`]
//! and [`crate::Security::harden`]; several API versions share one front,
//! which picks the version's CORS policy and `X-API-Version` by path prefix.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::Service;
use tracing::Span;

use crate::context::{RequestContext, peer};
use crate::cors::{self, Allowed, Cors};
use crate::headers::{RequestFacts, SecurityHeaders, Tls};
use crate::limits::{HeaderLimits, timeout_response};
use crate::ops::Ops;
use crate::panic::panic_response;
use crate::rate::{TrustedProxies, client_ip};
use crate::request_id::{RequestId, RequestIds};
use crate::version::X_API_VERSION;

/// One API (one spec version) behind the front.
#[derive(Debug, Clone)]
pub(crate) struct FrontApi {
    /// Path prefix (`/v1`), empty for "every path".
    pub(crate) prefix: String,
    /// `X-API-Version` of this API's responses (versions side by side).
    pub(crate) version: Option<HeaderValue>,
    /// The API's CORS policy.
    pub(crate) cors: Option<Arc<Cors>>,
}

impl FrontConfig {
    /// Send `X-API-Version: version` on every response.
    pub(crate) fn with_version(mut self, version: HeaderValue) -> Self {
        self.version = Some(version);
        self
    }
}

impl FrontApi {
    fn serves(&self, path: &str) -> bool {
        path.strip_prefix(self.prefix.as_str())
            .is_some_and(|rest| self.prefix.is_empty() || rest.is_empty() || rest.starts_with('/'))
    }
}

/// Everything the front needs, built once.
pub(crate) struct FrontConfig {
    pub(crate) headers: SecurityHeaders,
    pub(crate) ids: RequestIds,
    pub(crate) limits: HeaderLimits,
    pub(crate) timeout: Option<(Duration, StatusCode)>,
    /// `X-API-Version` of every response, refusals included (one API).
    pub(crate) version: Option<HeaderValue>,
    pub(crate) apis: Vec<FrontApi>,
    pub(crate) trusted: TrustedProxies,
    pub(crate) owner: Option<Arc<dyn Any + Send + Sync>>,
    /// Built-in endpoints answered before the router ([`crate::ops`]).
    pub(crate) ops: Option<Arc<Ops>>,
}

/// The front service; see the [module docs](self).
pub struct Front<S> {
    inner: S,
    config: Arc<FrontConfig>,
}

impl<S: Clone> Clone for Front<S> {
    fn clone(&self) -> Self {
        Front {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Front<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front")
            .field("apis", &self.config.apis)
            .finish_non_exhaustive()
    }
}

impl<S> Front<S> {
    pub(crate) fn new(inner: S, config: FrontConfig) -> Self {
        Front {
            inner,
            config: Arc::new(config),
        }
    }
}

/// What the way out needs to know about the request.
struct Finish {
    config: Arc<FrontConfig>,
    api: Option<usize>,
    id: RequestId,
    /// The caller's own well-formed id, when not trusted as the request id.
    client_id: Option<RequestId>,
    facts: RequestFacts,
}

impl Finish {
    /// CORS headers (normal answers only), then the security headers,
    /// `X-API-Version` and the request id.
    fn apply(self, cors: Option<Option<Allowed>>, response: &mut Response) {
        let config = &self.config;
        // One allocation for every header the way out adds, instead of the
        // map growing (and rehashing) several times.
        response.headers_mut().reserve(config.headers.len() + 6);
        if let Some(allowed) = cors {
            cors::apply(allowed, response.headers_mut());
        }
        let api_version = self.api.and_then(|i| config.apis[i].version.as_ref());
        if let Some(version) = api_version {
            response
                .headers_mut()
                .insert(X_API_VERSION, version.clone());
        }
        config.headers.apply(self.facts, response);
        if let Some(version) = &config.version {
            response
                .headers_mut()
                .insert(X_API_VERSION, version.clone());
        }
        config.ids.echo(&self.id, response.headers_mut());
        if let Some(client_id) = &self.client_id {
            config.ids.echo_client(client_id, response.headers_mut());
        }
    }
}

pin_project! {
    /// Response future of [`Front`].
    pub struct FrontFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        /// Answered by the front itself (431, preflight).
        Answered { response: Option<Response>, finish: Option<Finish> },
        /// A built-in endpoint (`/readyz` waits for its probes).
        Endpoint { future: crate::auth::api_key::BoxFuture<'static, Response>, finish: Option<Finish> },
        /// Passed to the router.
        Running {
            #[pin]
            future: F,
            // Boxed, and only once the router is still pending after its
            // first poll: most requests never need a timer.
            timer: Option<Pin<Box<Sleep>>>,
            span: Span,
            cors: Option<Option<Allowed>>,
            finish: Option<Finish>,
        },
    }
}

impl<F> Future for FrontFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Answered { response, finish } => {
                let mut response = response
                    .take()
                    .unwrap_or_else(|| crate::problem::Problem::internal().into_response());
                if let Some(finish) = finish.take() {
                    finish.apply(None, &mut response);
                }
                Poll::Ready(Ok(response))
            }
            StateProj::Endpoint { future, finish } => {
                let Poll::Ready(mut response) = future.as_mut().poll(cx) else {
                    return Poll::Pending;
                };
                if let Some(finish) = finish.take() {
                    finish.apply(None, &mut response);
                }
                Poll::Ready(Ok(response))
            }
            StateProj::Running {
                mut future,
                timer,
                span,
                cors,
                finish,
            } => {
                let polled = {
                    let _entered = span.enter();
                    std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)))
                };
                let (mut response, normal) = match polled {
                    Ok(Poll::Ready(Ok(response))) => (response, true),
                    Ok(Poll::Pending) => {
                        let Some(finish) = finish.as_ref() else {
                            return Poll::Pending;
                        };
                        let Some((duration, status)) = finish.config.timeout else {
                            return Poll::Pending;
                        };
                        let timer =
                            timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(duration)));
                        match timer.as_mut().poll(cx) {
                            Poll::Ready(()) => {
                                let _entered = span.enter();
                                (timeout_response(duration, status), false)
                            }
                            Poll::Pending => return Poll::Pending,
                        }
                    }
                    Err(payload) => {
                        let _entered = span.enter();
                        let id = finish.as_ref().map(|f| f.id.clone());
                        (panic_response(payload, id), false)
                    }
                };
                if let Some(finish) = finish.take() {
                    let cors = if normal { cors.take() } else { None };
                    finish.apply(cors, &mut response);
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<S> Service<Request> for Front<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = FrontFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let config = &self.config;
        let (mut parts, body) = req.into_parts();
        let assigned = config.ids.assign_all(&mut parts.headers);
        let (id, replaced) = (assigned.id, assigned.replaced);
        // One pass over the headers: size, credentials, Origin.
        let mut bytes = 0usize;
        let mut credentials = false;
        let mut origin: Option<&HeaderValue> = None;
        for (name, value) in &parts.headers {
            bytes += name.as_str().len() + value.len();
            if !credentials && config.headers.is_credential(name) {
                credentials = true;
            }
            if name == header::ORIGIN && origin.is_none() {
                origin = Some(value);
            }
        }
        let tls = config.headers.assume_tls() || parts.extensions.get::<Tls>().is_some();
        let facts = RequestFacts { tls, credentials };
        let api = config
            .apis
            .iter()
            .position(|api| api.serves(parts.uri.path()));
        let finish = Finish {
            config: config.clone(),
            api,
            id,
            client_id: assigned.client,
            facts,
        };
        let span = tracing::info_span!(
            target: "rampart::audit",
            "request",
            request_id = %finish.id,
            client_request_id = finish.client_id.as_ref().map(RequestId::as_str),
            method = %parts.method,
            path = parts.uri.path(),
        );
        if let Err(problem) = config.limits.check_counted(parts.headers.len(), bytes) {
            let _entered = span.enter();
            tracing::warn!(target: "rampart::audit", event = "headers.too-large", request_id = %finish.id, "request headers over the limit");
            let finish = Finish {
                api: None,
                ..finish
            };
            return FrontFuture::answered(problem.into_response(), finish);
        }
        if let Some(ops) = &config.ops
            && let Some(endpoint) = ops.route(parts.uri.path())
        {
            let future = ops.answer(endpoint, &parts.method);
            return FrontFuture {
                state: State::Endpoint {
                    future,
                    finish: Some(finish),
                },
            };
        }
        let cors = api.and_then(|i| config.apis[i].cors.as_ref());
        let mut allowed = None;
        if let Some(cors) = cors {
            match origin {
                Some(origin) if Cors::is_preflight(&parts.method, &parts.headers) => {
                    let response = cors.preflight(&parts.headers, origin);
                    return FrontFuture::answered(response, finish);
                }
                Some(origin) => allowed = Some(cors.on_request(origin)),
                None => allowed = Some(None),
            }
        }
        let client =
            peer(&parts.extensions).and_then(|p| client_ip(p, &parts.headers, &config.trusted));
        parts.extensions.insert(
            RequestContext::new(finish.id.clone(), client, tls)
                .with_owner(config.owner.clone())
                .with_replaced_id(replaced.map(|value| (config.ids.header().clone(), value))),
        );
        let future = self.inner.call(Request::from_parts(parts, body));
        FrontFuture {
            state: State::Running {
                future,
                timer: None,
                span,
                cors: allowed,
                finish: Some(finish),
            },
        }
    }
}

impl<F> FrontFuture<F> {
    fn answered(response: Response, finish: Finish) -> Self {
        FrontFuture {
            state: State::Answered {
                response: Some(response),
                finish: Some(finish),
            },
        }
    }
}
