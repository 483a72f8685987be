//! Request limits, each answered with problem+json:
//!
//! - body size per operation ([`BodyLimitLayer`], default 64 KiB) → `413`;
//! - header count and total header bytes ([`HeaderLimits`], checked by the
//!   global layer; the server's hyper limits are set to twice these as a hard
//!   stop) → `431`;
//! - request timeout ([`TimeoutLayer`]) → `408` (or `503` if configured);
//! - JSON nesting depth and `Content-Type` → `400`/`415` by
//!   [`crate::validate::ValidJson`] (not repeated here);
//! - unsupported method on a known path → `405` with `Allow`, by the fallback
//!   [`crate::harden::harden`] installs;
//! - connection limits (request-head read timeout, idle timeout, HTTP/2
//!   keep-alive pings, the connection cap), enforced by
//!   [`crate::server`] → the connection is closed (or, at the cap, not
//!   accepted yet).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use http_body::Body as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use pin_project_lite::pin_project;
use serde::{Deserialize, Deserializer};
use tower::{Layer, Service, ServiceExt};

use crate::problem::Problem;

/// Limit settings (`[harden.limits]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct LimitsConfig {
    /// Body limit for routes without their own (`64KiB`; a size like `1MiB` or a number of bytes).
    #[serde(deserialize_with = "size")]
    pub body_limit: u64,
    /// Whole-request timeout in milliseconds; `0` turns it off (default 30000).
    pub request_timeout_ms: u64,
    /// Status answered on timeout: 408 (default) or 503.
    #[serde(deserialize_with = "timeout_status")]
    pub timeout_status: u16,
    /// Most request headers accepted (default 64).
    pub max_headers: usize,
    /// Most bytes of header names and values accepted (default `16KiB`).
    #[serde(deserialize_with = "size_usize")]
    pub max_header_bytes: usize,
    /// Longest an HTTP/1 client may take to send a request head, in
    /// milliseconds, else the connection is closed; `0` turns it off
    /// (default 30000; `RAMPART_HEADER_READ_TIMEOUT_MS`).
    pub header_read_timeout_ms: u64,
    /// A connection (HTTP/1 or HTTP/2) with no request in flight for this
    /// many milliseconds is closed; `0` turns it off (default 75000, longer
    /// than the 60 s idle timeout of common load balancers;
    /// `RAMPART_IDLE_TIMEOUT_MS`).
    pub idle_timeout_ms: u64,
    /// Interval of HTTP/2 keep-alive pings, in milliseconds; `0` sends none
    /// (default 30000; `RAMPART_HTTP2_KEEP_ALIVE_INTERVAL_MS`).
    pub http2_keep_alive_interval_ms: u64,
    /// A ping not acknowledged within this many milliseconds closes the
    /// HTTP/2 connection (default 10000; `RAMPART_HTTP2_KEEP_ALIVE_TIMEOUT_MS`).
    pub http2_keep_alive_timeout_ms: u64,
    /// Most connections open at once; at the cap the server stops accepting
    /// and new connections wait in the listen backlog until one closes. `0`
    /// removes the cap (default 10000; `RAMPART_MAX_CONNECTIONS`).
    pub max_connections: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            body_limit: rampart_api::policy::DEFAULT_BODY_LIMIT,
            request_timeout_ms: 30_000,
            timeout_status: 408,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            header_read_timeout_ms: 30_000,
            idle_timeout_ms: 75_000,
            http2_keep_alive_interval_ms: 30_000,
            http2_keep_alive_timeout_ms: 10_000,
            max_connections: 10_000,
        }
    }
}

/// The environment variables of the connection limits, with the field each sets.
const CONNECTION_ENV: [&str; 5] = [
    "RAMPART_HEADER_READ_TIMEOUT_MS",
    "RAMPART_IDLE_TIMEOUT_MS",
    "RAMPART_HTTP2_KEEP_ALIVE_INTERVAL_MS",
    "RAMPART_HTTP2_KEEP_ALIVE_TIMEOUT_MS",
    "RAMPART_MAX_CONNECTIONS",
];

impl LimitsConfig {
    /// The request timeout, if on.
    pub fn request_timeout(&self) -> Option<Duration> {
        (self.request_timeout_ms > 0).then(|| Duration::from_millis(self.request_timeout_ms))
    }

    /// The connection limits overlaid with `RAMPART_HEADER_READ_TIMEOUT_MS`,
    /// `RAMPART_IDLE_TIMEOUT_MS`, `RAMPART_HTTP2_KEEP_ALIVE_INTERVAL_MS`,
    /// `RAMPART_HTTP2_KEEP_ALIVE_TIMEOUT_MS` and `RAMPART_MAX_CONNECTIONS`
    /// (whole numbers; the environment wins over the file).
    pub fn apply_env(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(), crate::error::ConfigError> {
        for name in CONNECTION_ENV {
            let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            let n: u64 = value.trim().parse().map_err(|_| {
                crate::error::ConfigError::new(
                    format!("{name}=`{value}` is not a whole number"),
                    format!("set {name} to a whole number (0 turns the limit off)"),
                )
            })?;
            match name {
                "RAMPART_HEADER_READ_TIMEOUT_MS" => self.header_read_timeout_ms = n,
                "RAMPART_IDLE_TIMEOUT_MS" => self.idle_timeout_ms = n,
                "RAMPART_HTTP2_KEEP_ALIVE_INTERVAL_MS" => self.http2_keep_alive_interval_ms = n,
                "RAMPART_HTTP2_KEEP_ALIVE_TIMEOUT_MS" => self.http2_keep_alive_timeout_ms = n,
                _ => self.max_connections = usize::try_from(n).unwrap_or(usize::MAX),
            }
        }
        Ok(())
    }

    /// The timeout status as a [`StatusCode`].
    pub fn timeout_status(&self) -> StatusCode {
        if self.timeout_status == 503 {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::REQUEST_TIMEOUT
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeText {
    Bytes(u64),
    Text(String),
}

fn size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match SizeText::deserialize(d)? {
        SizeText::Bytes(n) => Ok(n),
        SizeText::Text(t) => rampart_api::grammar::parse_size(&t)
            .map_err(|e| serde::de::Error::custom(format!("{} ({})", e.message, e.help))),
    }
}

fn size_usize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    usize::try_from(size(d)?).map_err(|_| serde::de::Error::custom("size too large"))
}

fn timeout_status<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    match u16::deserialize(d)? {
        s @ (408 | 503) => Ok(s),
        other => Err(serde::de::Error::custom(format!(
            "timeout-status must be 408 or 503, got {other}"
        ))),
    }
}

/// Header count and size limits, checked before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderLimits {
    /// Most headers.
    pub max_headers: usize,
    /// Most bytes of names and values together.
    pub max_bytes: usize,
}

impl HeaderLimits {
    /// From the settings.
    pub fn new(cfg: &LimitsConfig) -> Self {
        HeaderLimits {
            max_headers: cfg.max_headers,
            max_bytes: cfg.max_header_bytes,
        }
    }

    /// `431` problem when the headers are too many or too large.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Problem> {
        let bytes: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        self.check_counted(headers.len(), bytes)
    }

    /// [`check`](Self::check) for headers already counted: `count` fields of
    /// `bytes` bytes of names and values together.
    pub fn check_counted(&self, count: usize, bytes: usize) -> Result<(), Problem> {
        if count > self.max_headers {
            return Err(headers_too_large(format!(
                "more than {} request headers",
                self.max_headers
            )));
        }
        if bytes > self.max_bytes {
            return Err(headers_too_large(format!(
                "request headers larger than {} bytes",
                self.max_bytes
            )));
        }
        Ok(())
    }
}

fn headers_too_large(detail: String) -> Problem {
    Problem::of(crate::problem::kinds::HEADERS_TOO_LARGE).detail(detail)
}

/// A per-route body limit: `413` problem+json when the body is larger.
///
/// A declared `Content-Length` over the limit is refused before the handler
/// runs; a body of unknown length is read up to the limit first. Axum's own
/// extractors are told the same limit (`DefaultBodyLimit`).
pub fn body_limit(limit: u64) -> BodyLimitLayer {
    BodyLimitLayer { limit }
}

/// The layer returned by [`body_limit`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimitLayer {
    limit: u64,
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimit {
            inner,
            limit: self.limit,
        }
    }
}

/// The service of [`BodyLimitLayer`].
#[derive(Debug, Clone)]
pub struct BodyLimit<S> {
    inner: S,
    limit: u64,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

pin_project! {
    /// Response future of [`BodyLimit`].
    pub struct BodyLimitFuture<F> {
        #[pin]
        kind: BodyLimitKind<F>,
    }
}

pin_project! {
    #[project = BodyLimitProj]
    enum BodyLimitKind<F> {
        /// Passed on.
        Inner { #[pin] future: F },
        /// Reading a body of unknown length first.
        Buffering { future: BoxFuture },
        /// Refused.
        Refused { response: Option<Response> },
    }
}

impl<F> Future for BodyLimitFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            BodyLimitProj::Inner { future } => future.poll(cx),
            BodyLimitProj::Buffering { future } => future.as_mut().poll(cx),
            BodyLimitProj::Refused { response } => crate::respond::answered(response),
        }
    }
}

impl<S> Service<Request> for BodyLimit<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BodyLimitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let limit = self.limit;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit) {
            return BodyLimitFuture {
                kind: BodyLimitKind::Refused {
                    response: Some(Problem::payload_too_large(limit).into_response()),
                },
            };
        }
        DefaultBodyLimit::max(usize::try_from(limit).unwrap_or(usize::MAX)).apply(&mut req);
        if declared.is_some() || req.body().is_end_stream() {
            return BodyLimitFuture {
                kind: BodyLimitKind::Inner {
                    future: self.inner.call(req),
                },
            };
        }
        // Unknown length: read up to the limit, then hand on the bytes. Take
        // the service that was driven ready and leave a clone in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        BodyLimitFuture {
            kind: BodyLimitKind::Buffering {
                future: Box::pin(async move {
                    let (parts, body) = req.into_parts();
                    let limited = Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
                    match limited.collect().await {
                        Ok(collected) => {
                            let req = Request::from_parts(parts, Body::from(collected.to_bytes()));
                            inner.oneshot(req).await
                        }
                        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                            Ok(Problem::payload_too_large(limit).into_response())
                        }
                        Err(_) => Ok(Problem::bad_request("the request body could not be read")
                            .into_response()),
                    }
                }),
            },
        }
    }
}

/// A whole-request timeout answered with problem+json.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    duration: Duration,
    status: StatusCode,
}

impl TimeoutLayer {
    /// Time out after `duration`, answering `status` (408 or 503).
    pub fn new(duration: Duration, status: StatusCode) -> Self {
        TimeoutLayer { duration, status }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timeout {
            inner,
            duration: self.duration,
            status: self.status,
        }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    duration: Duration,
    status: StatusCode,
}

pin_project! {
    /// Response future of [`Timeout`].
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        status: StatusCode,
        duration: Duration,
    }
}

impl<F> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match ready!(this.inner.poll(cx)) {
            Ok(result) => Poll::Ready(result),
            Err(_elapsed) => Poll::Ready(Ok(timeout_response(*this.duration, *this.status))),
        }
    }
}

/// The answer to a request not answered within `duration`: `408` (or `503`
/// when so configured) problem+json, logged.
pub(crate) fn timeout_response(duration: Duration, status: StatusCode) -> Response {
    tracing::warn!(
        target: "rampart::audit",
        event = "timeout",
        timeout_ms = duration.as_millis() as u64,
        "request timed out"
    );
    let detail = format!(
        "the request was not answered within {} ms",
        duration.as_millis()
    );
    let problem = if status == StatusCode::SERVICE_UNAVAILABLE {
        Problem::unavailable(detail)
    } else {
        Problem::of(crate::problem::kinds::REQUEST_TIMEOUT).detail(detail)
    };
    problem.into_response()
}

impl<S> Service<Request> for Timeout<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        TimeoutFuture {
            inner: tokio::time::timeout(self.duration, self.inner.call(req)),
            status: self.status,
            duration: self.duration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_units_and_numbers() {
        let cfg: LimitsConfig =
            toml::from_str("body-limit = \"1MiB\"\nmax-header-bytes = 8192\n").unwrap();
        assert_eq!(cfg.body_limit, 1024 * 1024);
        assert_eq!(cfg.max_header_bytes, 8192);
        assert!(toml::from_str::<LimitsConfig>("body-limit = \"1 parsec\"").is_err());
        assert!(toml::from_str::<LimitsConfig>("timeout-status = 500").is_err());
    }

    #[test]
    fn header_limits_count_and_bytes() {
        let limits = HeaderLimits {
            max_headers: 2,
            max_bytes: 20,
        };
        let mut headers = HeaderMap::new();
        headers.insert("a", "1".parse().unwrap());
        assert!(limits.check(&headers).is_ok());
        headers.insert("b", "x".repeat(30).parse().unwrap());
        assert_eq!(
            limits.check(&headers).unwrap_err().status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        headers.insert("b", "2".parse().unwrap());
        headers.insert("c", "3".parse().unwrap());
        assert!(limits.check(&headers).is_err());
    }
}
