//! `RateLimitLayer`: the limiter as a standalone tower layer, for routes
//! written by hand (generated routes get it from the pipeline).
//!
//! ```no_run
//! use std::{net::SocketAddr, time::Duration};
//! use axum::{Router, routing::get};
//! use rampart::rate::{MemoryConfig, Rate, RateLimitLayer, RateLimiter};
//!
//! # async fn run() {
//! let limiter = RateLimiter::memory(MemoryConfig::default());
//! let app = Router::new()
//!     .route("/login", get(|| async { "hi" }))
//!     .route_layer(RateLimitLayer::per_ip(&limiter, Rate::new(5, Duration::from_secs(60)), "login"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! // The client address comes from the socket: serve with connect info.
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
//! # }
//! ```

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::{Extensions, HeaderMap, Method, Request, Uri};
use rampart_api::policy::{OperationPolicy, RateKey};
use tower::{Layer, Service};

use crate::principal::Principal;
use crate::rate::client_ip::{ClientIp, TrustedProxies, client_ip};
use crate::rate::headers::{RATELIMIT_POLICY, quota_exceeded, store_unavailable};
use crate::rate::key::RateKeyValue;
use crate::rate::{Outcome, Rate, RateLimiter, RatePolicy};

/// What a custom key function sees of a request.
#[derive(Debug)]
pub struct KeyContext<'a> {
    /// The method.
    pub method: &'a Method,
    /// The URI.
    pub uri: &'a Uri,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The extensions (the [`Principal`], when authenticated).
    pub extensions: &'a Extensions,
    /// The client address, as [`client_ip`] established it.
    pub client_ip: IpAddr,
}

type KeyFn = dyn Fn(&KeyContext<'_>) -> Option<String> + Send + Sync;

#[derive(Clone)]
enum KeyMode {
    Ip,
    Principal,
    Custom(Arc<KeyFn>),
}

/// Limits the routes it wraps to one quota. Allowed responses carry the
/// `RateLimit-Policy` and `RateLimit` fields; limited requests are answered
/// 429 problem+json (`quota-exceeded`, `Retry-After`); with a fail-closed
/// Redis store that does not answer, 503 problem+json.
#[derive(Clone)]
pub struct RateLimitLayer {
    policy: RatePolicy,
    mode: KeyMode,
    trusted: Arc<TrustedProxies>,
}

impl std::fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// Limit by the key `key_fn` returns; `None` falls back to the client address.
    pub fn new<F>(limiter: &RateLimiter, rate: Rate, policy_name: &str, key_fn: F) -> Self
    where
        F: Fn(&KeyContext<'_>) -> Option<String> + Send + Sync + 'static,
    {
        Self::with_mode(
            limiter.policy(policy_name, rate),
            KeyMode::Custom(Arc::new(key_fn)),
        )
    }

    /// Limit per client address (IPv6 grouped by /64).
    pub fn per_ip(limiter: &RateLimiter, rate: Rate, policy_name: &str) -> Self {
        Self::with_mode(limiter.policy(policy_name, rate), KeyMode::Ip)
    }

    /// Limit per authenticated [`Principal`] (API key id or subject), and per
    /// client address for anonymous requests.
    pub fn per_principal(limiter: &RateLimiter, rate: Rate, policy_name: &str) -> Self {
        Self::with_mode(limiter.policy(policy_name, rate), KeyMode::Principal)
    }

    /// The layer an operation's policy asks for (its rate, named and scoped by
    /// its operation id, keyed as its `rate-key` says); `None` when unlimited.
    pub fn for_operation(limiter: &RateLimiter, operation: &OperationPolicy) -> Option<Self> {
        let policy = limiter.for_operation(operation)?;
        let mode = match operation.rate_key {
            RateKey::Principal => KeyMode::Principal,
            RateKey::Ip => KeyMode::Ip,
        };
        Some(Self::with_mode(policy, mode))
    }

    /// Limit with a prepared policy, per principal (see [`per_principal`](Self::per_principal)).
    pub fn from_policy(policy: RatePolicy) -> Self {
        Self::with_mode(policy, KeyMode::Principal)
    }

    fn with_mode(policy: RatePolicy, mode: KeyMode) -> Self {
        RateLimitLayer {
            policy,
            mode,
            trusted: Arc::new(TrustedProxies::none()),
        }
    }

    /// Believe forwarding headers from these proxies (default: nobody).
    pub fn trusted_proxies(mut self, trusted: TrustedProxies) -> Self {
        self.trusted = Arc::new(trusted);
        self
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RateLimitLayer`] wraps around routes.
#[derive(Clone)]
pub struct RateLimitService<S> {
    inner: S,
    layer: RateLimitLayer,
}

impl<S> std::fmt::Debug for RateLimitService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitService")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

/// The client address: the request context's, a [`ClientIp`] set upstream, else the peer through
/// the trusted proxies; `None` when the server was run without
/// `ConnectInfo<SocketAddr>`.
fn request_ip<B>(req: &Request<B>, trusted: &TrustedProxies) -> Option<IpAddr> {
    // The front's context is the source of truth behind a hardened router.
    if let Some(ip) = req
        .extensions()
        .get::<crate::context::RequestContext>()
        .and_then(crate::context::RequestContext::client_ip)
    {
        return Some(ip);
    }
    if let Some(ClientIp(ip)) = req.extensions().get::<ClientIp>() {
        return Some(*ip);
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .and_then(|ConnectInfo(peer)| client_ip(*peer, req.headers(), trusted))
}

impl<S, B> Service<Request<B>> for RateLimitService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let layer = self.layer.clone();
        Box::pin(async move {
            let principal = req.extensions().get::<Principal>();
            let by_principal = matches!(layer.mode, KeyMode::Principal) && principal.is_some();
            let ip = match request_ip(&req, &layer.trusted) {
                Some(ip) => ip,
                // Unused: the key is the principal.
                None if by_principal => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                // One bucket for every client would be no quota at all.
                None => {
                    return Ok(crate::respond::client_ip_unknown(
                        layer.policy.name(),
                        "rate limit by client IP",
                    ));
                }
            };
            let custom = match &layer.mode {
                KeyMode::Custom(key_fn) => key_fn(&KeyContext {
                    method: req.method(),
                    uri: req.uri(),
                    headers: req.headers(),
                    extensions: req.extensions(),
                    client_ip: ip,
                }),
                _ => None,
            };
            let key = match (&layer.mode, &custom) {
                (_, Some(key)) => RateKeyValue::Custom(key),
                (KeyMode::Principal, None) => {
                    RateKeyValue::for_caller(req.extensions().get::<Principal>(), ip)
                }
                _ => RateKeyValue::Ip(ip),
            };
            let policy = &layer.policy;
            let decision = policy.check(key).await;
            match decision.outcome {
                Outcome::Allowed => {
                    let mut response = inner.call(req).await?;
                    let headers = response.headers_mut();
                    for (name, value) in policy.headers(&decision) {
                        headers.insert(name, value);
                    }
                    Ok(response)
                }
                Outcome::FailedOpen => {
                    let mut response = inner.call(req).await?;
                    response
                        .headers_mut()
                        .insert(RATELIMIT_POLICY, policy.policy_header().clone());
                    Ok(response)
                }
                Outcome::Limited => {
                    Ok(quota_exceeded(policy.name(), policy.rate(), &decision).into_response())
                }
                Outcome::Unavailable => Ok(store_unavailable(policy.name()).into_response()),
            }
        })
    }
}
