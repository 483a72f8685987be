//! The built-in operational endpoints ([`rampart_api::endpoints`]):
//! liveness, readiness, the served spec and the API page, answered by the
//! [`Front`](crate::pipeline::Front) itself — before any route, guard or
//! rate limit, so liveness never depends on a store — and still given the
//! request id and security headers on the way out.
//!
//! - `GET /healthz`: `200 {"status":"ok"}` while the process serves.
//! - `GET /readyz`: `200 {"status":"ready",...}` when every store answers
//!   ([`ready`]), else `503` problem+json naming what is down.
//! - `GET /openapi.json`: the spec as served (`ops::openapi`).
//! - `GET /docs`: the interactive API page ([`docs`]).
//! - `GET /metrics` (only when `x-rampart.endpoints.metrics` names a path):
//!   Prometheus text ([`crate::telemetry`]).
//!
//! Other methods get `405` with `Allow: GET, HEAD`.

pub mod docs;
pub(crate) mod openapi;
pub mod ready;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use rampart_api::endpoints::Endpoints;

use crate::auth::api_key::BoxFuture;
use crate::problem::Problem;
use docs::Asset;
use ready::Readiness;

/// Seconds a client should wait before asking `/readyz` again.
const READY_RETRY_AFTER: &str = "5";

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Health,
    Ready,
    OpenApi,
    Docs(Asset),
    Metrics,
}

/// The endpoints of one server, built once.
pub(crate) struct Ops {
    endpoints: Endpoints,
    readiness: Readiness,
    /// The served spec, serialized once.
    spec: Bytes,
    title: String,
    version: String,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl Ops {
    pub(crate) fn new(
        endpoints: Endpoints,
        readiness: Readiness,
        spec: Bytes,
        title: String,
        version: String,
    ) -> Self {
        Ops {
            endpoints,
            readiness,
            spec,
            title,
            version,
        }
    }

    /// The endpoint `path` names, if any (a few string comparisons).
    pub(crate) fn route(&self, path: &str) -> Option<Endpoint> {
        let e = &self.endpoints;
        if e.health.as_deref() == Some(path) {
            return Some(Endpoint::Health);
        }
        if e.ready.as_deref() == Some(path) {
            return Some(Endpoint::Ready);
        }
        if e.openapi.as_deref() == Some(path) {
            return Some(Endpoint::OpenApi);
        }
        if e.metrics.as_deref() == Some(path) {
            return Some(Endpoint::Metrics);
        }
        let docs = e.docs.as_deref()?;
        path.strip_prefix(docs)
            .and_then(Asset::at)
            .map(Endpoint::Docs)
    }

    /// The answer to `method` on `endpoint`.
    pub(crate) fn answer(
        self: &Arc<Self>,
        endpoint: Endpoint,
        method: &Method,
    ) -> BoxFuture<'static, Response> {
        if method != Method::GET && method != Method::HEAD {
            let response =
                Problem::method_not_allowed(HeaderValue::from_static("GET, HEAD")).into_response();
            return Box::pin(std::future::ready(response));
        }
        let ops = self.clone();
        match endpoint {
            Endpoint::Ready => Box::pin(async move { ops.ready().await }),
            Endpoint::Metrics => Box::pin(crate::telemetry::exposition()),
            other => Box::pin(std::future::ready(ops.immediate(other))),
        }
    }

    fn immediate(&self, endpoint: Endpoint) -> Response {
        match endpoint {
            Endpoint::Health => json(StatusCode::OK, r#"{"status":"ok"}"#.into()),
            Endpoint::OpenApi => json(StatusCode::OK, self.spec.clone()),
            Endpoint::Docs(asset) => {
                let mut response = match asset {
                    Asset::Page => {
                        let base = self.endpoints.docs.as_deref().unwrap_or_default();
                        let html = docs::page(base, &self.title, &self.version);
                        with_type(html.into(), "text/html; charset=utf-8")
                    }
                    Asset::Spec => json(StatusCode::OK, self.spec.clone()),
                    Asset::Script => with_type(
                        Bytes::from_static(docs::SCRIPT.as_bytes()),
                        "text/javascript; charset=utf-8",
                    ),
                    Asset::Style => with_type(
                        Bytes::from_static(docs::STYLE.as_bytes()),
                        "text/css; charset=utf-8",
                    ),
                };
                docs::page_headers(response.headers_mut());
                response
            }
            Endpoint::Ready | Endpoint::Metrics => Problem::internal().into_response(),
        }
    }

    async fn ready(&self) -> Response {
        let report = self.readiness.report().await;
        let checks: serde_json::Map<String, serde_json::Value> = report
            .checks
            .iter()
            .map(|(name, result)| {
                let state = if result.is_ok() { "up" } else { "down" };
                (name.clone(), serde_json::Value::from(state))
            })
            .collect();
        if report.is_ready() {
            let body = serde_json::json!({ "status": "ready", "checks": checks });
            return json(StatusCode::OK, body.to_string().into());
        }
        for (name, result) in &report.checks {
            if let Err(reason) = result {
                tracing::warn!(target: "rampart::audit", event = "not_ready", dependency = %name, %reason, "readiness: a store does not answer");
            }
        }
        let down = report.down().join(", ");
        Problem::unavailable(format!("not ready: {down} not answering"))
            .extension("checks", serde_json::Value::Object(checks))
            .header(
                header::RETRY_AFTER,
                HeaderValue::from_static(READY_RETRY_AFTER),
            )
            .into_response()
    }
}

fn json(status: StatusCode, body: Bytes) -> Response {
    let mut response = with_type(body, "application/json");
    *response.status_mut() = status;
    response
}

fn with_type(body: Bytes, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
