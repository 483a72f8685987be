//! Deprecation (RFC 9745), sunset (RFC 8594) and successor links, `410 Gone`
//! after the sunset, and a count of who still calls deprecated operations.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::SystemTime;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, header};
use pin_project_lite::pin_project;
use serde::Deserialize;
use tower::{Layer, Service};

use crate::clock::{Clock, SystemClock, unix_time};
use crate::principal::Principal;
use crate::problem::Problem;
use rampart_api::policy::{Deprecation, OperationPolicy};

/// The `Deprecation` header (RFC 9745).
pub const DEPRECATION: HeaderName = HeaderName::from_static("deprecation");
/// The `Sunset` header (RFC 8594).
pub const SUNSET: HeaderName = HeaderName::from_static("sunset");
/// Subject recorded for calls without an authenticated principal.
pub const ANONYMOUS: &str = "anonymous";
/// Subject under which calls are counted once an operation has seen
/// `max-subjects` distinct callers.
pub const OTHER_SUBJECTS: &str = "(other)";

/// Deprecation settings (`[harden.deprecation]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct DeprecationConfig {
    /// Answer `410 Gone` once an operation's sunset has passed (default `true`).
    pub gone_after_sunset: bool,
    /// Distinct callers counted per operation before the rest share one
    /// bucket (default 10000).
    pub max_subjects: usize,
}

impl Default for DeprecationConfig {
    fn default() -> Self {
        DeprecationConfig {
            gone_after_sunset: true,
            max_subjects: 10_000,
        }
    }
}

/// The prebuilt `Deprecation`, `Sunset` and `Link` headers of one deprecated
/// operation.
///
/// `Deprecation: @<unix-seconds>` uses the spec's `deprecation` instant; an
/// operation marked deprecated without one gets `@0` ("already deprecated").
#[derive(Debug, Clone)]
pub struct DeprecationHeaders {
    deprecation: HeaderValue,
    sunset: Option<HeaderValue>,
    link: Option<HeaderValue>,
    sunset_at: Option<SystemTime>,
}

impl DeprecationHeaders {
    /// Build the header values.
    pub fn new(deprecation: &Deprecation) -> Self {
        let since = deprecation.since.unwrap_or(0);
        let sunset_at = deprecation.sunset.map(unix_time);
        let link = deprecation.successor.as_ref().and_then(|successor| {
            let value = HeaderValue::try_from(format!("<{successor}>; rel=\"successor-version\""));
            if value.is_err() {
                tracing::warn!(%successor, "successor is not a valid Link target; no Link header sent");
            }
            value.ok()
        });
        DeprecationHeaders {
            deprecation: HeaderValue::try_from(format!("@{since}"))
                .unwrap_or_else(|_| HeaderValue::from_static("@0")),
            sunset: sunset_at
                .and_then(|at| HeaderValue::try_from(httpdate::fmt_http_date(at)).ok()),
            link,
            sunset_at,
        }
    }

    fn pairs(&self) -> impl Iterator<Item = (HeaderName, &HeaderValue)> {
        [
            Some((DEPRECATION, &self.deprecation)),
            self.sunset.as_ref().map(|v| (SUNSET, v)),
            self.link.as_ref().map(|v| (header::LINK, v)),
        ]
        .into_iter()
        .flatten()
    }

    /// Add the headers to a response (`Link` is appended to any others).
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in self.pairs() {
            if name == header::LINK {
                headers.append(name, value.clone());
            } else {
                headers.insert(name, value.clone());
            }
        }
    }

    /// Add the headers to a problem (the 410 after the sunset).
    pub fn add_to(&self, problem: Problem) -> Problem {
        self.pairs().fold(problem, |problem, (name, value)| {
            problem.header(name, value.clone())
        })
    }

    /// The sunset instant, if any.
    pub fn sunset(&self) -> Option<SystemTime> {
        self.sunset_at
    }

    /// Whether `now` is at or after the sunset.
    pub fn is_past_sunset(&self, now: SystemTime) -> bool {
        self.sunset_at.is_some_and(|at| now >= at)
    }
}

/// One row of [`DeprecatedCalls::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeprecatedCallCount {
    /// The operation.
    pub operation: String,
    /// The caller's subject (or [`ANONYMOUS`], [`OTHER_SUBJECTS`]).
    pub subject: String,
    /// Calls counted.
    pub count: u64,
}

#[derive(Debug)]
struct OperationCalls {
    operation: Arc<str>,
    total: AtomicU64,
    by_subject: Mutex<HashMap<String, u64>>,
    max_subjects: usize,
}

impl OperationCalls {
    fn record(&self, subject: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut map = self
            .by_subject
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(subject) {
            *n += 1;
        } else if map.len() < self.max_subjects {
            map.insert(subject.to_owned(), 1);
        } else {
            *map.entry(OTHER_SUBJECTS.to_owned()).or_default() += 1;
        }
    }
}

/// Counts of calls to deprecated operations, per operation and caller, for
/// metrics. Cheap to clone; each operation has its own lock, taken only by
/// calls to that deprecated operation.
#[derive(Debug, Clone, Default)]
pub struct DeprecatedCalls {
    operations: Arc<Mutex<Vec<Arc<OperationCalls>>>>,
}

impl DeprecatedCalls {
    fn register(&self, operation: &str, max_subjects: usize) -> Arc<OperationCalls> {
        let mut ops = self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(op) = ops.iter().find(|o| &*o.operation == operation) {
            return op.clone();
        }
        let op = Arc::new(OperationCalls {
            operation: operation.into(),
            total: AtomicU64::new(0),
            by_subject: Mutex::new(HashMap::new()),
            max_subjects,
        });
        ops.push(op.clone());
        op
    }

    /// Every (operation, subject) count, sorted.
    pub fn snapshot(&self) -> Vec<DeprecatedCallCount> {
        let ops = self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        for op in ops.iter() {
            let map = op.by_subject.lock().unwrap_or_else(PoisonError::into_inner);
            out.extend(map.iter().map(|(subject, count)| DeprecatedCallCount {
                operation: op.operation.to_string(),
                subject: subject.clone(),
                count: *count,
            }));
        }
        out.sort();
        out
    }

    /// Calls to `operation` by `subject`.
    pub fn count(&self, operation: &str, subject: &str) -> u64 {
        let ops = self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ops.iter()
            .find(|o| &*o.operation == operation)
            .and_then(|o| {
                let map = o.by_subject.lock().unwrap_or_else(PoisonError::into_inner);
                map.get(subject).copied()
            })
            .unwrap_or(0)
    }

    /// All calls to `operation`.
    pub fn total(&self, operation: &str) -> u64 {
        let ops = self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ops.iter()
            .find(|o| &*o.operation == operation)
            .map_or(0, |o| o.total.load(Ordering::Relaxed))
    }
}

/// Shared state for every deprecated operation of a server: the clock that
/// decides sunsets, the call counts, the settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DeprecationTracker {
    clock: Arc<dyn Clock>,
    calls: DeprecatedCalls,
    cfg: DeprecationConfig,
}

impl DeprecationTracker {
    /// With the system clock.
    pub fn new(cfg: &DeprecationConfig) -> Self {
        DeprecationTracker {
            clock: Arc::new(SystemClock),
            calls: DeprecatedCalls::default(),
            cfg: cfg.clone(),
        }
    }

    /// Use another clock (a [`super::ManualClock`] in tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The call counts.
    pub fn calls(&self) -> &DeprecatedCalls {
        &self.calls
    }

    /// The deprecation handling of an operation, if it is deprecated.
    pub fn operation(&self, policy: &OperationPolicy) -> Option<DeprecatedOperation> {
        let deprecation = policy.deprecation.as_ref()?;
        Some(DeprecatedOperation {
            inner: Arc::new(OperationInner {
                headers: DeprecationHeaders::new(deprecation),
                calls: self
                    .calls
                    .register(&policy.operation_id, self.cfg.max_subjects),
                clock: self.clock.clone(),
                gone_after_sunset: self.cfg.gone_after_sunset,
            }),
        })
    }

    /// A route layer for an operation, if it is deprecated. Place it inside
    /// the authenticating layer so the caller's principal is known.
    pub fn layer(&self, policy: &OperationPolicy) -> Option<DeprecationLayer> {
        self.operation(policy)
            .map(|operation| DeprecationLayer { operation })
    }
}

#[derive(Debug)]
struct OperationInner {
    headers: DeprecationHeaders,
    calls: Arc<OperationCalls>,
    clock: Arc<dyn Clock>,
    gone_after_sunset: bool,
}

/// One deprecated operation, as the pipeline uses it: [`check`](Self::check)
/// before the handler, [`apply`](Self::apply) to the response.
#[derive(Debug, Clone)]
pub struct DeprecatedOperation {
    inner: Arc<OperationInner>,
}

impl DeprecatedOperation {
    /// The prebuilt headers.
    pub fn headers(&self) -> &DeprecationHeaders {
        &self.inner.headers
    }

    /// Count and log the call (`rampart::audit`, `event = "deprecated.call"`),
    /// then `Err(410 problem, with the deprecation headers)` if the sunset has
    /// passed and `gone-after-sunset` is on.
    pub fn check(&self, principal: Option<&Principal>) -> Result<(), Problem> {
        let inner = &*self.inner;
        let subject = principal.map_or(ANONYMOUS, |p| p.subject.as_str());
        inner.calls.record(subject);
        let gone = inner.gone_after_sunset && inner.headers.is_past_sunset(inner.clock.now());
        tracing::info!(
            target: "rampart::audit",
            event = "deprecated.call",
            operation = &*inner.calls.operation,
            subject = %crate::audit::Clean(subject),
            scheme = principal.map(|p| p.scheme.as_str()),
            gone,
            "call to a deprecated operation"
        );
        if !gone {
            return Ok(());
        }
        Err(inner.headers.add_to(Problem::gone(format!(
            "operation `{}` was retired at its sunset",
            inner.calls.operation
        ))))
    }

    /// Add the deprecation headers to a response.
    pub fn apply(&self, headers: &mut HeaderMap) {
        self.inner.headers.apply(headers);
    }
}

/// Route layer for one deprecated operation (see [`DeprecationTracker::layer`]).
#[derive(Debug, Clone)]
pub struct DeprecationLayer {
    operation: DeprecatedOperation,
}

impl<S> Layer<S> for DeprecationLayer {
    type Service = DeprecationService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeprecationService {
            inner,
            operation: self.operation.clone(),
        }
    }
}

/// The service of [`DeprecationLayer`].
#[derive(Debug, Clone)]
pub struct DeprecationService<S> {
    inner: S,
    operation: DeprecatedOperation,
}

pin_project! {
    /// Response future of [`DeprecationService`].
    pub struct DeprecationFuture<F> {
        #[pin]
        kind: DeprecationKind<F>,
    }
}

pin_project! {
    #[project = DeprecationProj]
    enum DeprecationKind<F> {
        /// Past the sunset.
        Gone { response: Option<Response> },
        /// Served, headers added afterwards.
        Call { #[pin] future: F, operation: DeprecatedOperation },
    }
}

impl<F> Future for DeprecationFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            DeprecationProj::Gone { response } => crate::respond::answered(response),
            DeprecationProj::Call { future, operation } => {
                let Ok(mut response) = ready!(future.poll(cx));
                operation.apply(response.headers_mut());
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<S> Service<Request> for DeprecationService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = DeprecationFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match self.operation.check(req.extensions().get::<Principal>()) {
            Ok(()) => DeprecationFuture {
                kind: DeprecationKind::Call {
                    future: self.inner.call(req),
                    operation: self.operation.clone(),
                },
            },
            Err(problem) => DeprecationFuture {
                kind: DeprecationKind::Gone {
                    response: Some(problem.into_response()),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_exact() {
        let headers = DeprecationHeaders::new(&Deprecation {
            since: Some(1_735_689_600),
            sunset: Some(1_811_808_000),
            successor: Some("/v2/pets/{petId}".into()),
        });
        let mut map = HeaderMap::new();
        headers.apply(&mut map);
        assert_eq!(map[DEPRECATION], "@1735689600");
        assert_eq!(map[SUNSET], "Tue, 01 Jun 2027 00:00:00 GMT");
        assert_eq!(
            map[header::LINK],
            "</v2/pets/{petId}>; rel=\"successor-version\""
        );
        assert!(!headers.is_past_sunset(unix_time(1_811_807_999)));
        assert!(headers.is_past_sunset(unix_time(1_811_808_000)));
    }

    #[test]
    fn no_date_means_already_deprecated_and_never_gone() {
        let headers = DeprecationHeaders::new(&Deprecation::default());
        let mut map = HeaderMap::new();
        headers.apply(&mut map);
        assert_eq!(map[DEPRECATION], "@0");
        assert!(map.get(SUNSET).is_none() && map.get(header::LINK).is_none());
        assert!(!headers.is_past_sunset(SystemTime::now()));
    }

    #[test]
    fn subjects_beyond_the_cap_share_a_bucket() {
        let calls = DeprecatedCalls::default();
        let op = calls.register("old", 2);
        for s in ["a", "b", "c", "d", "a"] {
            op.record(s);
        }
        assert_eq!(calls.count("old", "a"), 2);
        assert_eq!(calls.count("old", OTHER_SUBJECTS), 2);
        assert_eq!(calls.total("old"), 5);
    }
}
