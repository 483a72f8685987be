//! `harden`: the global steps every rampart server gets, in one call.
//!
//! DESIGN.md "Request pipeline order", steps 1–3, all done by ONE service in
//! front of the whole router, [`Front`]: request id
//! (`x-request-id`, generated when absent or malformed, echoed), a
//! `rampart::audit` span carrying it, header count and size limits (`431`),
//! CORS (per API, so each version of [`harden_versions`] has its own),
//! panic → `500` problem+json, timeout → `408` problem+json, the security
//! headers of [`crate::headers`] and `X-API-Version` on every response,
//! errors and 404s included. Inside it: axum's `DefaultBodyLimit` and the
//! problem+json fallbacks (`404`, and `405` keeping axum's `Allow`).
//!
//! Per-operation concerns (body limit, deprecation, authentication, rate)
//! are the route's guard: [`crate::pipeline`].

use std::any::Any;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use http::{HeaderName, HeaderValue};
use tower::Layer;

pub use crate::error::ConfigError;
use crate::headers::SecurityHeaders;
use crate::limits::HeaderLimits;
use crate::pipeline::front::{Front, FrontApi, FrontConfig};
use crate::problem::Problem;
use crate::rate::TrustedProxies;
use crate::request_id::RequestIds;
pub use crate::settings::{ApiInfo, HardenConfig};

/// Add the global steps (module docs) to one API's router. Call it once,
/// after every route is added: the `405` fallback is set on the routes that
/// exist, and the `404` fallback replaces any other.
pub fn harden(router: Router, cfg: &HardenConfig, api: &ApiInfo) -> Router {
    harden_one(router, cfg, api, TrustedProxies::none(), None, None)
}

/// [`harden`] with the client-IP resolution and owner of a `Security`.
pub(crate) fn harden_one(
    router: Router,
    cfg: &HardenConfig,
    api: &ApiInfo,
    trusted: TrustedProxies,
    owner: Option<Arc<dyn Any + Send + Sync>>,
    ops: Option<Arc<crate::ops::Ops>>,
) -> Router {
    let router = with_fallbacks(router);
    // One API: every response carries X-API-Version, refusals (431) included.
    let front = FrontApi {
        prefix: String::new(),
        version: None,
        cors: api.cors.as_ref().map(|c| c.shared().clone()),
    };
    let mut config = front_config(
        cfg,
        api.credential_headers.clone(),
        vec![front],
        trusted,
        owner,
    )
    .with_version(api.version_layer.value().clone());
    config.ops = ops;
    serve_behind_front(router, cfg, config)
}

/// Serve several versions of an API side by side: each router is nested
/// under its [`ApiInfo::base_path`] with its own `X-API-Version`, CORS and
/// fallbacks; one front serves them all. Paths outside every prefix are
/// answered `404` problem+json without `X-API-Version`.
pub fn harden_versions<I>(versions: I, cfg: &HardenConfig) -> Result<Router, ConfigError>
where
    I: IntoIterator<Item = (Router, ApiInfo)>,
{
    let mut outer = Router::new();
    let mut apis: Vec<FrontApi> = Vec::new();
    let mut credentials: Vec<HeaderName> = Vec::new();
    for (router, api) in versions {
        let prefix = api.base_path.trim_end_matches('/');
        if prefix.is_empty() || !prefix.starts_with('/') {
            return Err(ConfigError::version(format!(
                "version {} needs a path prefix such as /v1 (the first `servers` URL's path)",
                api.version
            )));
        }
        if apis.iter().any(|a| a.prefix == prefix) {
            return Err(ConfigError::version(format!(
                "two versions are mounted at {prefix}"
            )));
        }
        apis.push(FrontApi {
            prefix: prefix.to_owned(),
            version: Some(api.version_layer.value().clone()),
            cors: api.cors.as_ref().map(|c| c.shared().clone()),
        });
        credentials.extend(api.credential_headers.iter().cloned());
        outer = outer.nest(prefix, with_fallbacks(router));
    }
    let outer = outer.fallback(not_found);
    let config = front_config(cfg, credentials, apis, TrustedProxies::none(), None);
    Ok(serve_behind_front(outer, cfg, config))
}

fn with_fallbacks(router: Router) -> Router {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

fn front_config(
    cfg: &HardenConfig,
    credential_headers: Vec<HeaderName>,
    apis: Vec<FrontApi>,
    trusted: TrustedProxies,
    owner: Option<Arc<dyn Any + Send + Sync>>,
) -> FrontConfig {
    FrontConfig {
        headers: SecurityHeaders::new(&cfg.headers).with_credential_headers(credential_headers),
        ids: RequestIds::new(&cfg.request_id),
        limits: HeaderLimits::new(&cfg.limits),
        timeout: cfg
            .limits
            .request_timeout()
            .map(|d| (d, cfg.limits.timeout_status())),
        version: None,
        apis,
        trusted,
        owner,
        ops: None,
    }
}

/// The router behind the front, as a `Router` (the front is its only
/// service, so it sees every request, 404s included). Axum's extractors get
/// the global body limit.
fn serve_behind_front(router: Router, cfg: &HardenConfig, config: FrontConfig) -> Router {
    let limit = usize::try_from(cfg.limits.body_limit).unwrap_or(usize::MAX);
    let inner = DefaultBodyLimit::max(limit).layer(router);
    Router::new().fallback_service(Front::new(inner, config))
}

async fn not_found() -> Problem {
    Problem::not_found()
}

async fn method_not_allowed() -> Problem {
    // Axum's method router adds `Allow` to whatever this returns.
    Problem::of(crate::problem::kinds::METHOD_NOT_ALLOWED)
}

/// The front's global steps as a layer, usable alone on any router: request
/// id, audit span, header limits, security headers, panics → `500` (no CORS,
/// no timeout, no API version unless [`with_api_version`](Self::with_api_version)).
#[derive(Debug, Clone)]
pub struct HardenLayer {
    headers: SecurityHeaders,
    ids: RequestIds,
    limits: HeaderLimits,
    api_version: Option<HeaderValue>,
}

impl HardenLayer {
    /// From the settings.
    pub fn new(cfg: &HardenConfig) -> Self {
        HardenLayer {
            headers: SecurityHeaders::new(&cfg.headers),
            ids: RequestIds::new(&cfg.request_id),
            limits: HeaderLimits::new(&cfg.limits),
            api_version: None,
        }
    }

    /// Also treat these request headers as credentials (`Cache-Control: no-store`).
    pub fn with_credential_headers(mut self, names: Vec<HeaderName>) -> Self {
        self.headers = self.headers.with_credential_headers(names);
        self
    }

    /// Set `X-API-Version` on every response (for a server of one API version).
    pub fn with_api_version(mut self, version: HeaderValue) -> Self {
        self.api_version = Some(version);
        self
    }
}

impl<S> Layer<S> for HardenLayer {
    type Service = Front<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let config = FrontConfig {
            headers: self.headers.clone(),
            ids: self.ids.clone(),
            limits: self.limits,
            timeout: None,
            version: self.api_version.clone(),
            apis: Vec::new(),
            trusted: TrustedProxies::none(),
            owner: None,
            ops: None,
        };
        Front::new(inner, config)
    }
}
