//! CORS from the spec's `x-rampart.cors`.
//!
//! - Origins are an allowlist of exact origins (`https://app.example.com`).
//!   `*` is refused with `credentials: true`, and refused at all unless the
//!   policy says `public: true`; the spec loader reports both, and
//!   [`layer`] refuses them again for hand-written policies.
//! - Allowed methods and request headers come from the spec's operations and
//!   security schemes (see [`crate::harden::ApiInfo::from_api`]), plus the
//!   policy's `headers`.
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//!   is answered here, before authentication: `204` with the `Access-Control-Allow-*`
//!   headers when the origin, method and headers are allowed, else `403`
//!   problem+json with no `Access-Control-Allow-*` header.
//! - On other requests an allowed origin gets `Access-Control-Allow-Origin`
//!   (and `-Credentials`, `-Expose-Headers`); any other origin gets none.
//! - Every response passing through carries `Vary: Origin`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::ConfigError;
use crate::problem::Problem;
use rampart_api::policy::{CorsOrigins, CorsPolicy};

/// Response headers rampart itself sends that scripts may read, exposed in
/// addition to the policy's `expose-headers`.
pub const DEFAULT_EXPOSED: &[&str] = &[
    "x-request-id",
    "x-client-request-id",
    "x-api-version",
    "deprecation",
    "sunset",
    "link",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
];

#[derive(Debug)]
enum Origins {
    Any,
    List(Vec<HeaderValue>),
}

/// A CORS policy, prebuilt: what [`CorsLayer`] and the front service answer with.
#[derive(Debug)]
pub(crate) struct Cors {
    origins: Origins,
    credentials: bool,
    methods: Vec<Method>,
    headers: Vec<HeaderName>,
    allow_methods: HeaderValue,
    allow_headers: Option<HeaderValue>,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

/// Build the CORS layer for a policy, the operations' methods and the
/// request headers the API reads. Refuses `*` with credentials, `*` without
/// `public: true`, and anything that is not an exact origin.
pub fn layer(
    policy: &CorsPolicy,
    methods: &[Method],
    headers: &[HeaderName],
) -> Result<CorsLayer, ConfigError> {
    let origins = match &policy.origins {
        CorsOrigins::Any if policy.credentials => {
            return Err(ConfigError::cors(
                "`origins: \"*\"` cannot be combined with `credentials: true`; list the exact origins",
            ));
        }
        CorsOrigins::Any if !policy.public => {
            return Err(ConfigError::cors(
                "`origins: \"*\"` admits every website and needs an explicit `public: true`",
            ));
        }
        CorsOrigins::Any => Origins::Any,
        CorsOrigins::None => Origins::List(Vec::new()),
        CorsOrigins::List(list) => Origins::List(
            list.iter()
                .map(|o| exact_origin(o))
                .collect::<Result<_, _>>()?,
        ),
    };
    let mut method_list: Vec<Method> = Vec::new();
    for m in methods {
        if !method_list.contains(m) {
            method_list.push(m.clone());
        }
    }
    let mut header_list: Vec<HeaderName> = Vec::new();
    let extra = policy
        .headers
        .iter()
        .map(|h| parse_name(h))
        .collect::<Result<Vec<_>, _>>()?;
    for h in headers.iter().chain(&extra) {
        if !header_list.contains(h) {
            header_list.push(h.clone());
        }
    }
    let mut exposed: Vec<HeaderName> = DEFAULT_EXPOSED
        .iter()
        .map(|h| HeaderName::from_static(h))
        .collect();
    for h in &policy.expose_headers {
        let h = parse_name(h)?;
        if !exposed.contains(&h) {
            exposed.push(h);
        }
    }
    let cors = Cors {
        origins,
        credentials: policy.credentials,
        allow_methods: join(method_list.iter().map(Method::as_str))?,
        allow_headers: (!header_list.is_empty())
            .then(|| join(header_list.iter().map(HeaderName::as_str)))
            .transpose()?,
        expose_headers: Some(join(exposed.iter().map(HeaderName::as_str))?),
        max_age: policy.max_age.map(HeaderValue::from),
        methods: method_list,
        headers: header_list,
    };
    Ok(CorsLayer {
        cors: Arc::new(cors),
    })
}

fn exact_origin(origin: &str) -> Result<HeaderValue, ConfigError> {
    let bad = || {
        ConfigError::cors(format!(
            "`{origin}` is not an exact origin (scheme://host[:port], no path, no wildcard)"
        ))
    };
    let (scheme, authority) = origin.split_once("://").ok_or_else(bad)?;
    if !matches!(scheme, "http" | "https") || crate::net::host_of(authority).is_none() {
        return Err(bad());
    }
    HeaderValue::try_from(origin.to_ascii_lowercase()).map_err(|_| bad())
}

fn parse_name(name: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::try_from(name)
        .map_err(|_| ConfigError::cors(format!("`{name}` is not a header name")))
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> Result<HeaderValue, ConfigError> {
    let text = items.collect::<Vec<_>>().join(", ");
    HeaderValue::try_from(text).map_err(|_| ConfigError::cors("invalid header list"))
}

impl Cors {
    fn allows(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::List(list) => list
                .iter()
                .any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes())),
        }
    }

    fn allow_origin_value(&self, origin: &HeaderValue) -> HeaderValue {
        match self.origins {
            Origins::Any => HeaderValue::from_static("*"),
            Origins::List(_) => origin.clone(),
        }
    }

    /// Whether this request is a preflight (`OPTIONS` with
    /// `Access-Control-Request-Method`) from `origin`.
    pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// What an actual (non-preflight) request from `origin` gets: the
    /// `Access-Control-Allow-*` values when the origin is allowed.
    pub(crate) fn on_request(&self, origin: &HeaderValue) -> Option<Allowed> {
        self.allows(origin).then(|| Allowed {
            origin: self.allow_origin_value(origin),
            credentials: self.credentials,
            expose: self.expose_headers.clone(),
        })
    }

    /// The answer to a preflight from `origin`.
    pub(crate) fn preflight(&self, headers: &HeaderMap, origin: &HeaderValue) -> Response {
        let mut vary = vec![
            HeaderValue::from_static("origin"),
            HeaderValue::from_static("access-control-request-method"),
            HeaderValue::from_static("access-control-request-headers"),
        ];
        let denied = |detail: String, vary: &mut Vec<HeaderValue>| {
            let mut response = Problem::of(crate::problem::kinds::CORS_DENIED)
                .detail(detail)
                .into_response();
            for v in vary.drain(..) {
                response.headers_mut().append(header::VARY, v);
            }
            response
        };
        if !self.allows(origin) {
            return denied("this origin may not call the API".into(), &mut vary);
        }
        let method = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        if !method.is_some_and(|m| self.methods.contains(&m)) {
            return denied("the requested method is not allowed".into(), &mut vary);
        }
        for requested in headers.get_all(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            let text = requested.to_str().unwrap_or("\u{0}");
            for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if !self
                    .headers
                    .iter()
                    .any(|h| h.as_str().eq_ignore_ascii_case(name))
                {
                    return denied(
                        format!("the request header `{name}` is not allowed"),
                        &mut vary,
                    );
                }
            }
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let out = response.headers_mut();
        out.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            self.allow_origin_value(origin),
        );
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods.clone(),
        );
        if let Some(h) = &self.allow_headers {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, h.clone());
        }
        if let Some(age) = &self.max_age {
            out.insert(header::ACCESS_CONTROL_MAX_AGE, age.clone());
        }
        for v in vary {
            out.append(header::VARY, v);
        }
        response
    }
}

/// The CORS layer built by [`layer`].
#[derive(Debug, Clone)]
pub struct CorsLayer {
    cors: Arc<Cors>,
}

impl CorsLayer {
    /// The prebuilt policy.
    pub(crate) fn shared(&self) -> &Arc<Cors> {
        &self.cors
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsService {
            inner,
            cors: self.cors.clone(),
        }
    }
}

/// The service of [`CorsLayer`].
#[derive(Debug, Clone)]
pub struct CorsService<S> {
    inner: S,
    cors: Arc<Cors>,
}

/// The CORS response headers one allowed request gets.
#[derive(Debug)]
pub(crate) struct Allowed {
    origin: HeaderValue,
    credentials: bool,
    expose: Option<HeaderValue>,
}

/// Write `Vary: Origin` and, for an allowed origin, the
/// `Access-Control-Allow-*` headers of an actual (non-preflight) response.
pub(crate) fn apply(allowed: Option<Allowed>, headers: &mut HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(allowed) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed.origin);
        if allowed.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(expose) = allowed.expose {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
        }
    }
}

pin_project! {
    /// Response future of [`CorsService`].
    pub struct CorsFuture<F> {
        #[pin]
        kind: CorsKind<F>,
    }
}

pin_project! {
    #[project = CorsProj]
    enum CorsKind<F> {
        /// An answered preflight.
        Preflight { response: Option<Response> },
        /// Another request, passed on.
        Call { #[pin] future: F, allowed: Option<Allowed> },
    }
}

impl<F> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            CorsProj::Preflight { response } => crate::respond::answered(response),
            CorsProj::Call { future, allowed } => {
                let Ok(mut response) = ready!(future.poll(cx));
                apply(allowed.take(), response.headers_mut());
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<S> Service<Request> for CorsService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let Some(origin) = req.headers().get(header::ORIGIN) else {
            return CorsFuture {
                kind: CorsKind::Call {
                    future: self.inner.call(req),
                    allowed: None,
                },
            };
        };
        if Cors::is_preflight(req.method(), req.headers()) {
            return CorsFuture {
                kind: CorsKind::Preflight {
                    response: Some(self.cors.preflight(req.headers(), origin)),
                },
            };
        }
        let allowed = self.cors.on_request(origin);
        CorsFuture {
            kind: CorsKind::Call {
                future: self.inner.call(req),
                allowed,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: CorsOrigins, credentials: bool, public: bool) -> CorsPolicy {
        CorsPolicy {
            origins,
            credentials,
            public,
            ..CorsPolicy::default()
        }
    }

    #[test]
    fn wildcard_needs_public_and_no_credentials() {
        let m = [Method::GET];
        assert!(layer(&policy(CorsOrigins::Any, true, true), &m, &[]).is_err());
        assert!(layer(&policy(CorsOrigins::Any, false, false), &m, &[]).is_err());
        assert!(layer(&policy(CorsOrigins::Any, false, true), &m, &[]).is_ok());
    }

    #[test]
    fn only_exact_origins() {
        let m = [Method::GET];
        for bad in [
            "*",
            "https://*.example.com",
            "https://app.example.com/",
            "app.example.com",
            "ftp://x",
            "null",
            "https://a:b",
        ] {
            let p = policy(CorsOrigins::List(vec![bad.into()]), false, false);
            assert!(layer(&p, &m, &[]).is_err(), "{bad} accepted");
        }
        for good in [
            "https://app.example.com",
            "http://localhost:8080",
            "https://[::1]:8443",
        ] {
            let p = policy(CorsOrigins::List(vec![good.into()]), true, false);
            assert!(layer(&p, &m, &[]).is_ok(), "{good} refused");
        }
    }
}
