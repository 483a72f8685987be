//! `harden`: the global layers every rampart server gets, in one call.
//!
//! From the outside in (DESIGN.md "Request pipeline order", steps 1–3):
//!
//! 1. [`HardenLayer`]: request id (`x-request-id`, generated when absent or
//!    malformed, echoed), a `rampart::audit` span carrying it, header count
//!    and size limits (`431`), and the security headers of
//!    [`crate::headers`] on every response, errors and 404s included;
//! 2. per API (so each version of [`harden_versions`] has its own):
//!    `DefaultBodyLimit`, `X-API-Version`, panic → `500` problem+json,
//!    timeout → `408` problem+json, CORS;
//! 3. problem+json fallbacks: `404`, and `405` keeping axum's `Allow`.
//!
//! Per-operation concerns (body limit, deprecation) are route layers the
//! pipeline adds: [`crate::limits::body_limit`], [`crate::version::DeprecationTracker`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use pin_project_lite::pin_project;
use rampart_spec::model::{ApiKeyLocation, ApiModel, SecuritySchemeKind};
use rampart_spec::policy::CorsPolicy;
use serde::Deserialize;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::cors::{self, CorsLayer};
use crate::headers::{RequestFacts, SecurityHeaders, SecurityHeadersConfig};
use crate::limits::{HeaderLimits, LimitsConfig, TimeoutLayer};
use crate::panic::CatchPanicLayer;
use crate::problem::Problem;
use crate::request_id::{RequestId, RequestIdConfig, RequestIds};
use crate::version::{ApiVersionLayer, DeprecationConfig, X_API_VERSION};

/// The `[harden]` section of `rampart.toml`. Every field has a secure
/// default; header values are validated (and prebuilt) when deserialized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HardenConfig {
    /// Security headers.
    pub headers: SecurityHeadersConfig,
    /// Request ids.
    pub request_id: RequestIdConfig,
    /// Body, header and time limits.
    pub limits: LimitsConfig,
    /// Deprecation and sunset.
    pub deprecation: DeprecationConfig,
}

/// A configuration the runtime refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A CORS policy that is unsafe or malformed.
    #[error("CORS: {0}")]
    Cors(String),
    /// An API version or version layout that cannot be served.
    #[error("API version: {0}")]
    Version(String),
    /// Certificates, keys or TLS settings.
    #[error("TLS: {0}")]
    Tls(String),
}

/// What `harden` needs to know about one API (one spec version).
#[derive(Debug, Clone)]
pub struct ApiInfo {
    version: String,
    version_layer: ApiVersionLayer,
    base_path: String,
    cors: Option<CorsLayer>,
    credential_headers: Vec<HeaderName>,
}

impl ApiInfo {
    /// An API with `info.version` = `version`, no CORS, mounted at `/`.
    pub fn new(version: &str) -> Result<Self, ConfigError> {
        let version_layer = ApiVersionLayer::new(version).ok_or_else(|| {
            ConfigError::Version(format!("`{version}` cannot be sent as X-API-Version"))
        })?;
        Ok(ApiInfo {
            version: version.to_owned(),
            version_layer,
            base_path: String::new(),
            cors: None,
            credential_headers: Vec::new(),
        })
    }

    /// Mount under `path` (`/v1`) when served with other versions.
    pub fn with_base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into();
        self
    }

    /// Answer CORS with this policy (see [`cors::layer`]).
    pub fn with_cors(
        mut self,
        policy: &CorsPolicy,
        methods: &[Method],
        headers: &[HeaderName],
    ) -> Result<Self, ConfigError> {
        self.cors = Some(cors::layer(policy, methods, headers)?);
        Ok(self)
    }

    /// Request headers that carry credentials (API-key headers): requests
    /// with them get `Cache-Control: no-store`.
    pub fn with_credential_headers<I: IntoIterator<Item = HeaderName>>(mut self, names: I) -> Self {
        self.credential_headers.extend(names);
        self
    }

    /// Everything from a loaded spec: `info.version`, the first server's path
    /// prefix, API-key header names, and CORS from `x-rampart.cors` with the
    /// operations' methods and the request headers they read (`Authorization`
    /// for HTTP/OAuth2/OpenID schemes, API-key headers, header parameters,
    /// `Content-Type` when a body is taken).
    pub fn from_model(model: &ApiModel) -> Result<Self, ConfigError> {
        let mut info = ApiInfo::new(model.version())?.with_base_path(model.base_path());
        let mut methods: Vec<Method> = Vec::new();
        let mut headers: Vec<HeaderName> = Vec::new();
        let add = |list: &mut Vec<HeaderName>, name: &str| {
            if let Ok(h) = HeaderName::try_from(name) {
                if !list.contains(&h) {
                    list.push(h);
                }
            }
        };
        for op in &model.operations {
            if let Ok(m) = Method::from_bytes(op.method.to_ascii_uppercase().as_bytes()) {
                if !methods.contains(&m) {
                    methods.push(m);
                }
            }
            for scheme in op.policy.schemes() {
                match model.scheme(scheme) {
                    Some(SecuritySchemeKind::ApiKey {
                        name,
                        location: ApiKeyLocation::Header,
                    }) => add(&mut headers, name),
                    Some(SecuritySchemeKind::ApiKey { .. }) | None => {}
                    Some(_) => add(&mut headers, "authorization"),
                }
            }
            for p in &op.parameters {
                if rampart_spec::model::location(p) == "header" {
                    add(&mut headers, &p.parameter_data_ref().name);
                }
            }
            if op.operation.request_body.is_some() {
                add(&mut headers, "content-type");
            }
        }
        let mut api_key_headers = Vec::new();
        for (_, kind) in &model.schemes {
            if let SecuritySchemeKind::ApiKey {
                name,
                location: ApiKeyLocation::Header,
            } = kind
            {
                add(&mut api_key_headers, name);
            }
        }
        info = info.with_credential_headers(api_key_headers);
        if let Some(policy) = &model.annotations.cors {
            info = info.with_cors(&policy.value, &methods, &headers)?;
        }
        Ok(info)
    }

    /// `info.version`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The path prefix.
    pub fn base_path(&self) -> &str {
        &self.base_path
    }
}

/// Add the global layers (module docs) to one API's router. Call it once,
/// after every route is added: the `405` fallback is set on the routes that
/// exist, and the `404` fallback replaces any other.
pub fn harden(router: Router, cfg: &HardenConfig, api: &ApiInfo) -> Router {
    // One API: the outermost layer sets X-API-Version, so responses it makes
    // itself (431) carry it too.
    let router = api_layers(router, cfg, api, false);
    router.layer(
        HardenLayer::new(cfg)
            .with_credential_headers(api.credential_headers.clone())
            .with_api_version(api.version_layer.value().clone()),
    )
}

/// Serve several versions of an API side by side: each router is nested
/// under its [`ApiInfo::base_path`] with its own `X-API-Version`, CORS and
/// fallbacks; the global layers wrap them all. Paths outside every prefix
/// are answered `404` problem+json without `X-API-Version`.
pub fn harden_versions<I>(versions: I, cfg: &HardenConfig) -> Result<Router, ConfigError>
where
    I: IntoIterator<Item = (Router, ApiInfo)>,
{
    let mut outer = Router::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut credentials: Vec<HeaderName> = Vec::new();
    for (router, api) in versions {
        let prefix = api.base_path.trim_end_matches('/');
        if prefix.is_empty() || !prefix.starts_with('/') {
            return Err(ConfigError::Version(format!(
                "version {} needs a path prefix such as /v1 (the first `servers` URL's path)",
                api.version
            )));
        }
        if prefixes.iter().any(|p| p == prefix) {
            return Err(ConfigError::Version(format!(
                "two versions are mounted at {prefix}"
            )));
        }
        prefixes.push(prefix.to_owned());
        credentials.extend(api.credential_headers.iter().cloned());
        outer = outer.nest(prefix, api_layers(router, cfg, &api, true));
    }
    let outer = outer.fallback(not_found);
    Ok(outer.layer(HardenLayer::new(cfg).with_credential_headers(credentials)))
}

fn api_layers(router: Router, cfg: &HardenConfig, api: &ApiInfo, version_header: bool) -> Router {
    let mut router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    if let Some(cors) = &api.cors {
        router = router.layer(cors.clone());
    }
    if let Some(duration) = cfg.limits.request_timeout() {
        router = router.layer(TimeoutLayer::new(duration, cfg.limits.timeout_status()));
    }
    router = router.layer(CatchPanicLayer);
    if version_header {
        router = router.layer(api.version_layer.clone());
    }
    router.layer(DefaultBodyLimit::max(
        usize::try_from(cfg.limits.body_limit).unwrap_or(usize::MAX),
    ))
}

/// The response of a layer that answered without calling its inner service.
pub(crate) fn answered(response: &mut Option<Response>) -> Poll<Result<Response, Infallible>> {
    // Polled again after completion would be a caller bug: answer 500, never panic.
    Poll::Ready(Ok(response
        .take()
        .unwrap_or_else(|| Problem::internal().into_response())))
}

async fn not_found() -> Problem {
    Problem::not_found()
}

async fn method_not_allowed() -> Problem {
    // Axum's method router adds `Allow` to whatever this returns.
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method Not Allowed",
    )
}

#[derive(Debug, Clone)]
struct Front {
    headers: SecurityHeaders,
    ids: RequestIds,
    limits: HeaderLimits,
    api_version: Option<HeaderValue>,
}

/// The outermost layer: request id, audit span, header limits, security
/// headers. Usable alone on any router.
#[derive(Debug, Clone)]
pub struct HardenLayer {
    front: Arc<Front>,
}

impl HardenLayer {
    /// From the settings.
    pub fn new(cfg: &HardenConfig) -> Self {
        HardenLayer {
            front: Arc::new(Front {
                headers: SecurityHeaders::new(&cfg.headers),
                ids: RequestIds::new(&cfg.request_id),
                limits: HeaderLimits::new(&cfg.limits),
                api_version: None,
            }),
        }
    }

    /// Also treat these request headers as credentials (`Cache-Control: no-store`).
    pub fn with_credential_headers(self, names: Vec<HeaderName>) -> Self {
        self.map(|front| front.headers = front.headers.clone().with_credential_headers(names))
    }

    /// Set `X-API-Version` on every response (for a server of one API version).
    pub fn with_api_version(self, version: HeaderValue) -> Self {
        self.map(|front| front.api_version = Some(version))
    }

    fn map(self, change: impl FnOnce(&mut Front)) -> Self {
        let mut front = Arc::unwrap_or_clone(self.front);
        change(&mut front);
        HardenLayer {
            front: Arc::new(front),
        }
    }
}

impl<S> Layer<S> for HardenLayer {
    type Service = Harden<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Harden {
            inner,
            front: self.front.clone(),
        }
    }
}

/// The service of [`HardenLayer`].
#[derive(Debug, Clone)]
pub struct Harden<S> {
    inner: S,
    front: Arc<Front>,
}

pin_project! {
    /// Response future of [`Harden`].
    pub struct HardenFuture<F> {
        #[pin]
        kind: HardenKind<F>,
    }
}

pin_project! {
    #[project = HardenProj]
    enum HardenKind<F> {
        /// Refused before routing.
        Refused { response: Option<Response> },
        /// Passed on.
        Call {
            #[pin]
            future: Instrumented<F>,
            front: Arc<Front>,
            facts: RequestFacts,
            id: Option<RequestId>,
        },
    }
}

impl<F> Future for HardenFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            HardenProj::Refused { response } => answered(response),
            HardenProj::Call {
                future,
                front,
                facts,
                id,
            } => {
                let Ok(mut response) = ready!(future.poll(cx));
                front.finish(*facts, id.take(), &mut response);
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl Front {
    fn finish(&self, facts: RequestFacts, id: Option<RequestId>, response: &mut Response) {
        self.headers.apply(facts, response);
        if let Some(version) = &self.api_version {
            response
                .headers_mut()
                .insert(X_API_VERSION, version.clone());
        }
        if let Some(id) = id {
            self.ids.echo(&id, response.headers_mut());
        }
    }
}

impl<S> Service<Request> for Harden<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = HardenFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let front = &self.front;
        let id = front.ids.assign(&mut parts.headers, &mut parts.extensions);
        let facts = front.headers.facts(&parts.headers, &parts.extensions);
        let span = tracing::info_span!(
            target: "rampart::audit",
            "request",
            request_id = %id,
            method = %parts.method,
            path = parts.uri.path(),
        );
        if let Err(problem) = front.limits.check(&parts.headers) {
            let _entered = span.enter();
            tracing::warn!(target: "rampart::audit", event = "headers.too-large", request_id = %id, "request headers over the limit");
            let mut response = problem.into_response();
            front.finish(facts, Some(id), &mut response);
            return HardenFuture {
                kind: HardenKind::Refused {
                    response: Some(response),
                },
            };
        }
        let req = Request::from_parts(parts, body);
        HardenFuture {
            kind: HardenKind::Call {
                future: self.inner.call(req).instrument(span),
                front: self.front.clone(),
                facts,
                id: Some(id),
            },
        }
    }
}
