//! Prometheus metrics through the `metrics` facade and
//! `metrics-exporter-prometheus`. Nothing is recorded (and nothing costs)
//! until [`install`] runs, which [`Security::start_metrics`] does when
//! metrics are served: `RAMPART_METRICS_ADDR` (a listener of their own) or
//! `x-rampart.endpoints.metrics` (a path on the main listener).
//! `Security::load` starts them; building a `Security` never does.
//!
//! [`Security::start_metrics`]: crate::Security::start_metrics
//!
//! | name | type | labels |
//! |---|---|---|
//! | `rampart_http_requests_total` | counter | `operation`, `status` |
//! | `rampart_http_request_duration_seconds` | histogram | `operation` |
//! | `rampart_auth_failures_total` | counter | `scheme`, `reason` |
//! | `rampart_forbidden_total` | counter | `operation` |
//! | `rampart_rate_limited_total` | counter | `operation` |
//! | `rampart_lockouts_total` | counter | |
//! | `rampart_store_errors_total` | counter | `store` (`redis`, `jwks`) |
//! | `rampart_rate_limit_degraded_total` | counter | |
//! | `rampart_alerts_total` | counter | `trigger` (`lockout`, `burst`) |
//! | `rampart_alerts_dropped_total` | counter | |
//!
//! Routes register their series once, when the router is built, so a
//! request costs a clock read and a few atomic adds.

use std::sync::OnceLock;
use std::time::Duration;

use ::metrics::{Counter, Histogram, counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered through a route's guard, by operation and status.
pub const REQUESTS_TOTAL: &str = "rampart_http_requests_total";
/// Time from the guard to the response, by operation.
pub const REQUEST_DURATION: &str = "rampart_http_request_duration_seconds";
/// Refused credentials, by scheme and reason.
pub const AUTH_FAILURES_TOTAL: &str = "rampart_auth_failures_total";
/// 403 answers, by operation.
pub const FORBIDDEN_TOTAL: &str = "rampart_forbidden_total";
/// 429 answers (quota or lockout), by operation.
pub const RATE_LIMITED_TOTAL: &str = "rampart_rate_limited_total";
/// Clients locked out after repeated failures.
pub const LOCKOUTS_TOTAL: &str = "rampart_lockouts_total";
/// Rate decisions made by an instance's own buckets while Redis is away
/// (`fail-local`).
pub const RATE_DEGRADED_TOTAL: &str = "rampart_rate_limit_degraded_total";
/// Failed calls to a store (`redis`, `jwks`).
pub const STORE_ERRORS_TOTAL: &str = "rampart_store_errors_total";
/// Alerts raised, by trigger (`lockout`, `burst`).
pub const ALERTS_TOTAL: &str = "rampart_alerts_total";
/// Alerts not delivered to the webhook because its queue was full.
pub const ALERTS_DROPPED_TOTAL: &str = "rampart_alerts_dropped_total";

/// Latency buckets, seconds: 100 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Statuses whose series a route registers up front.
const COMMON_STATUSES: &[u16] = &[
    200, 201, 202, 204, 400, 401, 403, 404, 408, 409, 410, 413, 415, 422, 429, 500, 503,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the process-wide Prometheus recorder (once; later calls return
/// the same handle). Errors when another `metrics` recorder is installed.
pub fn install() -> Result<PrometheusHandle, String> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), BUCKETS)
        .map_err(|e| e.to_string())?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if HANDLE.set(handle.clone()).is_err() {
        // Another thread installed it first.
        return Ok(HANDLE.get().cloned().unwrap_or(handle));
    }
    ::metrics::set_global_recorder(recorder)
        .map_err(|_| "another metrics recorder is already installed".to_owned())?;
    describe();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let upkeep = handle.clone();
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                upkeep.run_upkeep();
            }
        });
    }
    Ok(handle)
}

/// Serve `GET /metrics` on a listener of its own (`RAMPART_METRICS_ADDR`),
/// bound now so a bad or busy address refuses to start; needs a Tokio
/// runtime. Returns the bound address.
pub fn serve_on(addr: std::net::SocketAddr) -> Result<std::net::SocketAddr, String> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| "serving metrics needs a Tokio runtime".to_owned())?;
    install()?;
    // Several `Security`s of one process (versions, tests) share the listener.
    static SERVING: std::sync::Mutex<Vec<std::net::SocketAddr>> = std::sync::Mutex::new(Vec::new());
    let mut serving = SERVING
        .lock()
        .map_err(|_| "metrics listener state poisoned".to_owned())?;
    if addr.port() != 0 && serving.contains(&addr) {
        return Ok(addr);
    }
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    serving.push(addr);
    drop(serving);
    runtime.spawn(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            tracing::error!(target: "rampart::audit", event = "metrics_listener_failed", "metrics listener could not start");
            return;
        };
        let app = axum::Router::new().route("/metrics", axum::routing::get(exposition));
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(target: "rampart::audit", event = "metrics_listener_failed", error = %e, "metrics listener stopped");
        }
    });
    tracing::info!(target: "rampart::audit", event = "metrics_listening", addr = %bound, "Prometheus metrics on http://{bound}/metrics");
    Ok(bound)
}

/// `addr` as a socket address, or why it is not one.
pub fn parse_addr(addr: &str) -> Result<std::net::SocketAddr, String> {
    addr.trim()
        .parse()
        .map_err(|_| format!("`{addr}` is not an address such as 127.0.0.1:9464"))
}

/// The Prometheus text format response.
pub(crate) async fn exposition() -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = render().unwrap_or_default();
    (
        [(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// Whether metrics are being recorded.
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// The Prometheus text exposition of every metric, if recording.
pub fn render() -> Option<String> {
    HANDLE.get().map(PrometheusHandle::render)
}

fn describe() {
    use ::metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        REQUESTS_TOTAL,
        Unit::Count,
        "Requests answered through a route's guard, by operation and status."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from the route's guard to the response."
    );
    describe_counter!(
        AUTH_FAILURES_TOTAL,
        Unit::Count,
        "Refused credentials, by scheme and reason."
    );
    describe_counter!(FORBIDDEN_TOTAL, Unit::Count, "403 answers, by operation.");
    describe_counter!(
        RATE_LIMITED_TOTAL,
        Unit::Count,
        "429 answers (quota or lockout), by operation."
    );
    describe_counter!(
        LOCKOUTS_TOTAL,
        Unit::Count,
        "Clients locked out after repeated authentication failures."
    );
    describe_counter!(
        RATE_DEGRADED_TOTAL,
        Unit::Count,
        "Rate decisions made by this instance's own buckets while Redis is away (fail-local)."
    );
    describe_counter!(
        STORE_ERRORS_TOTAL,
        Unit::Count,
        "Failed calls to a store (redis, jwks)."
    );
}

/// One route's series, registered when the route is built.
pub(crate) struct RouteMetrics {
    operation: String,
    latency: Histogram,
    statuses: Vec<(u16, Counter)>,
    forbidden: Counter,
    limited: Counter,
}

impl RouteMetrics {
    /// `None` while metrics are off.
    pub(crate) fn new(operation: &str) -> Option<Self> {
        if !enabled() {
            return None;
        }
        let op = operation.to_owned();
        Some(RouteMetrics {
            latency: histogram!(REQUEST_DURATION, "operation" => op.clone()),
            statuses: COMMON_STATUSES
                .iter()
                .map(|&status| (status, requests(&op, status)))
                .collect(),
            forbidden: counter!(FORBIDDEN_TOTAL, "operation" => op.clone()),
            limited: counter!(RATE_LIMITED_TOTAL, "operation" => op.clone()),
            operation: op,
        })
    }

    /// Count one answer.
    pub(crate) fn record(&self, status: u16, elapsed: Duration) {
        self.latency.record(elapsed.as_secs_f64());
        match self.statuses.iter().find(|(s, _)| *s == status) {
            Some((_, counter)) => counter.increment(1),
            None => requests(&self.operation, status).increment(1),
        }
        match status {
            403 => self.forbidden.increment(1),
            429 => self.limited.increment(1),
            _ => {}
        }
    }
}

fn requests(operation: &str, status: u16) -> Counter {
    counter!(REQUESTS_TOTAL, "operation" => operation.to_owned(), "status" => status.to_string())
}

/// A refused credential.
pub(crate) fn auth_failure(scheme: &str, reason: &str) {
    if enabled() {
        counter!(AUTH_FAILURES_TOTAL, "scheme" => scheme.to_owned(), "reason" => reason.to_owned())
            .increment(1);
    }
}

/// A client locked out.
pub(crate) fn lockout() {
    if enabled() {
        counter!(LOCKOUTS_TOTAL).increment(1);
    }
}

/// A rate decision made by the local buckets while Redis is away.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn rate_degraded() {
    if enabled() {
        counter!(RATE_DEGRADED_TOTAL).increment(1);
    }
}

/// A failed call to a store.
pub(crate) fn store_error(store: &'static str) {
    if enabled() {
        counter!(STORE_ERRORS_TOTAL, "store" => store).increment(1);
    }
}

/// An alert raised.
pub(crate) fn alert(trigger: &'static str) {
    if enabled() {
        counter!(ALERTS_TOTAL, "trigger" => trigger).increment(1);
    }
}

/// An alert dropped (webhook queue full).
pub(crate) fn alert_dropped() {
    if enabled() {
        counter!(ALERTS_DROPPED_TOTAL).increment(1);
    }
}
