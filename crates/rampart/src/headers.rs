//! Security headers on every response, errors and 404s included.
//!
//! [`SecurityHeaders`] is built once from [`SecurityHeadersConfig`] (every
//! value a prebuilt [`HeaderValue`]) and applied by the global layer that
//! [`crate::harden::harden`] installs outermost:
//!
//! | header | default | when |
//! |---|---|---|
//! | `Strict-Transport-Security` | `max-age=31536000; includeSubDomains` | on TLS connections (or `hsts.assume-tls`) |
//! | `Content-Security-Policy` | `default-src 'none'; frame-ancestors 'none'` | always |
//! | `X-Content-Type-Options` | `nosniff` | always |
//! | `X-Frame-Options` | `DENY` | always |
//! | `Referrer-Policy` | `no-referrer` | always |
//! | `Cross-Origin-Resource-Policy` | `same-origin` | always |
//! | `Cache-Control` | `no-store` | the request carried credentials, or the response is marked [`Authenticated`] |
//!
//! A value a handler set itself is kept (a docs page may need its own CSP);
//! `Server` and `X-Powered-By` are removed whoever set them.

use http::{HeaderMap, HeaderName, HeaderValue, header};
use serde::{Deserialize, Deserializer};

/// One year, the smallest HSTS `max-age` rampart sends.
pub const HSTS_MIN_MAX_AGE: u64 = 31_536_000;

/// Response extension marking a response as produced for an authenticated
/// caller: it gets `Cache-Control: no-store` (the pipeline inserts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Authenticated;

/// Request extension marking a request that arrived over TLS (inserted by
/// [`crate::server::serve_tls`]): it gets `Strict-Transport-Security`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tls;

/// `Strict-Transport-Security` settings (`[harden.headers.hsts]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct HstsConfig {
    /// Send HSTS at all (default `true`).
    pub enabled: bool,
    /// `max-age` in seconds; at least one year (default 31536000).
    #[serde(deserialize_with = "hsts_max_age")]
    pub max_age: u64,
    /// Add `includeSubDomains` (default `true`).
    pub include_subdomains: bool,
    /// Add `preload` (default `false`).
    pub preload: bool,
    /// Send HSTS on plain-HTTP connections too, for servers behind a TLS-terminating proxy (default `false`).
    pub assume_tls: bool,
}

impl Default for HstsConfig {
    fn default() -> Self {
        HstsConfig {
            enabled: true,
            max_age: HSTS_MIN_MAX_AGE,
            include_subdomains: true,
            preload: false,
            assume_tls: false,
        }
    }
}

/// Which security headers to send (`[harden.headers]`). A header set to an
/// empty string is not sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SecurityHeadersConfig {
    /// HSTS, on TLS responses.
    pub hsts: HstsConfig,
    /// `Content-Security-Policy`.
    #[serde(deserialize_with = "optional_value")]
    pub content_security_policy: Option<HeaderValue>,
    /// `X-Frame-Options`.
    #[serde(deserialize_with = "optional_value")]
    pub frame_options: Option<HeaderValue>,
    /// `Referrer-Policy`.
    #[serde(deserialize_with = "optional_value")]
    pub referrer_policy: Option<HeaderValue>,
    /// `Cross-Origin-Resource-Policy`.
    #[serde(deserialize_with = "optional_value")]
    pub cross_origin_resource_policy: Option<HeaderValue>,
    /// Send `X-Content-Type-Options: nosniff` (default `true`).
    pub nosniff: bool,
    /// `Cache-Control` for authenticated responses (default `no-store`).
    #[serde(deserialize_with = "optional_value")]
    pub authenticated_cache_control: Option<HeaderValue>,
    /// Request headers that carry credentials besides `Authorization` and
    /// `Cookie` (API-key headers of the spec are added by `harden`).
    #[serde(deserialize_with = "header_names")]
    pub credential_headers: Vec<HeaderName>,
    /// Response headers removed from every response (default `server`, `x-powered-by`).
    #[serde(deserialize_with = "header_names")]
    pub remove: Vec<HeaderName>,
}

impl Default for SecurityHeadersConfig {
    fn default() -> Self {
        SecurityHeadersConfig {
            hsts: HstsConfig::default(),
            content_security_policy: Some(HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'",
            )),
            frame_options: Some(HeaderValue::from_static("DENY")),
            referrer_policy: Some(HeaderValue::from_static("no-referrer")),
            cross_origin_resource_policy: Some(HeaderValue::from_static("same-origin")),
            nosniff: true,
            authenticated_cache_control: Some(HeaderValue::from_static("no-store")),
            credential_headers: Vec::new(),
            remove: vec![header::SERVER, HeaderName::from_static("x-powered-by")],
        }
    }
}

/// What the response step needs to know about the request, captured before
/// the request is handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestFacts {
    /// The request arrived over TLS.
    pub tls: bool,
    /// The request carried credentials.
    pub credentials: bool,
}

/// The security headers, prebuilt.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    hsts: Option<HeaderValue>,
    assume_tls: bool,
    always: Vec<(HeaderName, HeaderValue)>,
    no_store: Option<HeaderValue>,
    credential_headers: Vec<HeaderName>,
    remove: Vec<HeaderName>,
}

impl SecurityHeaders {
    /// Build the header values once. An HSTS `max-age` below one year is raised to one year.
    pub fn new(cfg: &SecurityHeadersConfig) -> Self {
        let hsts = cfg.hsts.enabled.then(|| {
            if cfg.hsts.max_age < HSTS_MIN_MAX_AGE {
                tracing::warn!(
                    max_age = cfg.hsts.max_age,
                    "HSTS max-age below one year raised to {HSTS_MIN_MAX_AGE}"
                );
            }
            let mut value = format!("max-age={}", cfg.hsts.max_age.max(HSTS_MIN_MAX_AGE));
            if cfg.hsts.include_subdomains {
                value.push_str("; includeSubDomains");
            }
            if cfg.hsts.preload {
                value.push_str("; preload");
            }
            // Digits and ASCII words: always a valid header value.
            HeaderValue::try_from(value).ok()
        });
        let hsts = hsts.flatten();
        let mut always = Vec::new();
        let pairs = [
            (
                header::CONTENT_SECURITY_POLICY,
                &cfg.content_security_policy,
            ),
            (header::X_FRAME_OPTIONS, &cfg.frame_options),
            (header::REFERRER_POLICY, &cfg.referrer_policy),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                &cfg.cross_origin_resource_policy,
            ),
        ];
        for (name, value) in pairs {
            if let Some(value) = value {
                always.push((name, value.clone()));
            }
        }
        if cfg.nosniff {
            always.push((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ));
        }
        let mut credential_headers = vec![header::AUTHORIZATION, header::COOKIE];
        for name in &cfg.credential_headers {
            if !credential_headers.contains(name) {
                credential_headers.push(name.clone());
            }
        }
        SecurityHeaders {
            hsts,
            assume_tls: cfg.hsts.assume_tls,
            always,
            no_store: cfg.authenticated_cache_control.clone(),
            credential_headers,
            remove: cfg.remove.clone(),
        }
    }

    /// Also treat these request headers (e.g. API-key headers) as credentials.
    pub fn with_credential_headers<I: IntoIterator<Item = HeaderName>>(mut self, names: I) -> Self {
        for name in names {
            if !self.credential_headers.contains(&name) {
                self.credential_headers.push(name);
            }
        }
        self
    }

    /// How many headers [`apply`](Self::apply) may add at most.
    pub fn len(&self) -> usize {
        self.always.len() + 2
    }

    /// Whether no header would ever be added.
    pub fn is_empty(&self) -> bool {
        self.always.is_empty() && self.hsts.is_none() && self.no_store.is_none()
    }

    /// Whether request header `name` carries credentials.
    pub fn is_credential(&self, name: &HeaderName) -> bool {
        self.credential_headers.contains(name)
    }

    /// Whether HSTS is sent on plain-HTTP connections too (`hsts.assume-tls`).
    pub fn assume_tls(&self) -> bool {
        self.assume_tls
    }

    /// Look at the request: did it come over TLS, did it carry credentials?
    pub fn facts(&self, headers: &HeaderMap, extensions: &http::Extensions) -> RequestFacts {
        RequestFacts {
            tls: self.assume_tls || extensions.get::<Tls>().is_some(),
            credentials: self
                .credential_headers
                .iter()
                .any(|name| headers.contains_key(name)),
        }
    }

    /// Add the headers to a response (keeping values the handler set) and
    /// remove the revealing ones.
    pub fn apply<B>(&self, facts: RequestFacts, response: &mut http::Response<B>) {
        let authenticated =
            facts.credentials || response.extensions().get::<Authenticated>().is_some();
        let headers = response.headers_mut();
        // Responses carry few headers: one scan finds the revealing ones
        // instead of a hash lookup per name.
        if headers
            .keys()
            .any(|present| self.remove.iter().any(|name| name == present))
        {
            for name in &self.remove {
                headers.remove(name);
            }
        }
        for (name, value) in &self.always {
            headers.entry(name).or_insert_with(|| value.clone());
        }
        if facts.tls
            && let Some(hsts) = &self.hsts
        {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        if let Some(no_store) = &self.no_store
            && authenticated
            && !headers.contains_key(header::CACHE_CONTROL)
        {
            headers.insert(header::CACHE_CONTROL, no_store.clone());
        }
    }
}

fn hsts_max_age<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let secs = u64::deserialize(d)?;
    if secs < HSTS_MIN_MAX_AGE {
        return Err(serde::de::Error::custom(format!(
            "hsts max-age must be at least one year ({HSTS_MIN_MAX_AGE} seconds), got {secs}; set `enabled = false` to turn HSTS off"
        )));
    }
    Ok(secs)
}

/// A header value from a string; empty means "not sent".
pub(crate) fn optional_value<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<HeaderValue>, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Ok(None);
    }
    HeaderValue::try_from(text.as_str())
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a valid header value")))
}

/// A header name from a string.
pub(crate) fn header_name<'de, D: Deserializer<'de>>(d: D) -> Result<HeaderName, D::Error> {
    let text = String::deserialize(d)?;
    HeaderName::try_from(text.as_str())
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a valid header name")))
}

fn header_names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<HeaderName>, D::Error> {
    Vec::<String>::deserialize(d)?
        .into_iter()
        .map(|text| {
            HeaderName::try_from(text.as_str()).map_err(|_| {
                serde::de::Error::custom(format!("`{text}` is not a valid header name"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_hsts_is_one_year_with_subdomains() {
        let h = SecurityHeaders::new(&SecurityHeadersConfig::default());
        assert_eq!(h.hsts.unwrap(), "max-age=31536000; includeSubDomains");
    }

    #[test]
    fn short_hsts_is_refused_in_config() {
        let err = toml::from_str::<SecurityHeadersConfig>("[hsts]\nmax-age = 60\n").unwrap_err();
        assert!(err.to_string().contains("at least one year"), "{err}");
    }

    #[test]
    fn empty_value_disables_a_header() {
        let cfg: SecurityHeadersConfig =
            toml::from_str("content-security-policy = \"\"\nframe-options = \"SAMEORIGIN\"\n")
                .unwrap();
        assert_eq!(cfg.content_security_policy, None);
        assert_eq!(cfg.frame_options.unwrap(), "SAMEORIGIN");
    }
}
