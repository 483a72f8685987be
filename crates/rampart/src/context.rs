//! The request context: the facts about one request that several steps need
//! (its id, the client IP, whether it came over TLS), computed once by the
//! front service ([`crate::pipeline::Front`]) and inserted as ONE request
//! extension. The guard, audit events and panic answers read it; nothing
//! re-derives these facts from raw headers.

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::problem::Problem;
use crate::request_id::RequestId;

/// Facts about one request, computed once before routing.
#[derive(Clone)]
pub struct RequestContext {
    id: RequestId,
    client_ip: Option<IpAddr>,
    tls: bool,
    /// Who built the front service that made this context (the `Security`'s
    /// shared state, type-erased so this module stays a leaf); lets
    /// `#[secured]` handlers find their `Security` without an extension of
    /// its own, and the guard know the client IP was resolved with its own
    /// trusted proxies.
    owner: Option<Arc<dyn Any + Send + Sync>>,
    /// The malformed request id the front replaced, with its header name.
    replaced_id: Option<Box<(http::HeaderName, http::HeaderValue)>>,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("id", &self.id)
            .field("client_ip", &self.client_ip)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// A context with these facts and no owner.
    pub fn new(id: RequestId, client_ip: Option<IpAddr>, tls: bool) -> Self {
        RequestContext {
            id,
            client_ip,
            tls,
            owner: None,
            replaced_id: None,
        }
    }

    /// The same, noting the malformed request id the front replaced.
    pub(crate) fn with_replaced_id(
        mut self,
        replaced: Option<(http::HeaderName, http::HeaderValue)>,
    ) -> Self {
        self.replaced_id = replaced.map(Box::new);
        self
    }

    /// The malformed incoming request id the front replaced (header name and
    /// value), so header validation judges what the client sent.
    pub(crate) fn replaced_request_id(&self) -> Option<(&http::HeaderName, &http::HeaderValue)> {
        self.replaced_id.as_deref().map(|(n, v)| (n, v))
    }

    /// The same, owned by `owner` (see [`owner`](Self::owner)).
    pub(crate) fn with_owner(mut self, owner: Option<Arc<dyn Any + Send + Sync>>) -> Self {
        self.owner = owner;
        self
    }

    /// The request id (echoed in the response's request id header).
    pub fn request_id(&self) -> &RequestId {
        &self.id
    }

    /// The client IP: the socket peer, or the forwarded client when the peer
    /// is a trusted proxy. `None` when the server was run without
    /// `ConnectInfo<SocketAddr>`.
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// Whether the request arrived over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The state of whoever built the front service, if any.
    pub(crate) fn owner(&self) -> Option<&Arc<dyn Any + Send + Sync>> {
        self.owner.as_ref()
    }
}

/// The socket peer from axum's `ConnectInfo<SocketAddr>`, if the server set it.
pub fn peer(extensions: &http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| {
                tracing::error!(
                    target: "rampart::audit",
                    event = "misconfigured",
                    "RequestContext extracted on a router that was not hardened"
                );
                Problem::internal()
            })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<RequestContext>().cloned())
    }
}
