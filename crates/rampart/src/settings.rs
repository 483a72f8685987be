//! What the front needs to know, as settings: [`HardenConfig`] (the
//! `[harden]` section of `rampart.toml`) and [`ApiInfo`] (one API's version,
//! base path, CORS and credential headers, usually from the spec).

use http::{HeaderName, Method};
use rampart_api::ApiDescriptor;
use rampart_api::policy::CorsPolicy;
use rampart_api::scheme::{ApiKeyLocation, SecuritySchemeKind};
use serde::Deserialize;

use crate::cors::{self, CorsLayer};
use crate::error::ConfigError;
use crate::headers::SecurityHeadersConfig;
use crate::limits::LimitsConfig;
use crate::request_id::RequestIdConfig;
use crate::version::{ApiVersionLayer, DeprecationConfig};

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

/// What `harden` needs to know about one API (one spec version).
#[derive(Debug, Clone)]
pub struct ApiInfo {
    pub(crate) version: String,
    pub(crate) version_layer: ApiVersionLayer,
    pub(crate) base_path: String,
    pub(crate) cors: Option<CorsLayer>,
    pub(crate) credential_headers: Vec<HeaderName>,
}

impl ApiInfo {
    /// An API with `info.version` = `version`, no CORS, mounted at `/`.
    pub fn new(version: &str) -> Result<Self, ConfigError> {
        let version_layer = ApiVersionLayer::new(version).ok_or_else(|| {
            ConfigError::version(format!("`{version}` cannot be sent as X-API-Version"))
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
    pub fn from_api(api: &ApiDescriptor) -> Result<Self, ConfigError> {
        let mut info = ApiInfo::new(&api.version)?.with_base_path(&api.base_path);
        let mut methods: Vec<Method> = Vec::new();
        let mut headers: Vec<HeaderName> = Vec::new();
        let add = |list: &mut Vec<HeaderName>, name: &str| {
            if let Ok(h) = HeaderName::try_from(name)
                && !list.contains(&h)
            {
                list.push(h);
            }
        };
        for op in &api.operations {
            let policy = &op.policy;
            if let Ok(m) = Method::from_bytes(policy.method.to_ascii_uppercase().as_bytes())
                && !methods.contains(&m)
            {
                methods.push(m);
            }
            for scheme in policy.schemes() {
                match api.scheme(scheme) {
                    Some(SecuritySchemeKind::ApiKey {
                        name,
                        location: ApiKeyLocation::Header,
                    }) => add(&mut headers, name),
                    Some(SecuritySchemeKind::ApiKey { .. }) | None => {}
                    Some(_) => add(&mut headers, "authorization"),
                }
            }
            for name in &op.header_parameters {
                add(&mut headers, name);
            }
            if op.has_body {
                add(&mut headers, "content-type");
            }
        }
        let mut api_key_headers = Vec::new();
        for scheme in &api.schemes {
            if let SecuritySchemeKind::ApiKey {
                name,
                location: ApiKeyLocation::Header,
            } = &scheme.kind
            {
                add(&mut api_key_headers, name);
            }
        }
        info = info.with_credential_headers(api_key_headers);
        if let Some(policy) = &api.cors {
            info = info.with_cors(policy, &methods, &headers)?;
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
