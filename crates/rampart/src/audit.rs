//! The audit log and redaction.
//!
//! Audit events are `tracing` events on the target `rampart::audit` with
//! structured fields: `event` (`auth.success`, `auth.failure`,
//! `auth.forbidden`, `auth.lockout`, `auth.locked`, `auth.url_credentials`),
//! `outcome`, `status`, `request_id`, `client_ip`, `operation`, `scheme`,
//! `subject`, `key_id` and an internal `reason`. They never carry a token, a
//! key, a password, a cookie or an `Authorization` header: secrets are never
//! put into fields in the first place.
//!
//! Anything that logs request data passes it through a [`Redactor`], built
//! from the spec: the header names of its apiKey schemes, properties that are
//! `writeOnly`, `format: password` or `x-rampart-sensitive: true` (in
//! `components.schemas` and inline schemas), plus fixed defaults.

use std::fmt;

use http::{HeaderMap, HeaderName};
use rampart_api::ApiDescriptor;

use crate::auth::lockout::LockTarget;
use crate::net::ClientIp;
use crate::principal::{AuthMethod, Principal};

/// The `tracing` target of audit events.
pub const TARGET: &str = "rampart::audit";
/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Headers that are always secret.
pub const DEFAULT_SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
];
/// Field and parameter names that are always secret (compared case-insensitively).
pub const DEFAULT_SENSITIVE_FIELDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "client_secret",
    "authorization",
];

/// Knows which headers, fields and parameters carry secrets, and hides them.
#[derive(Debug, Clone)]
pub struct Redactor {
    headers: Vec<HeaderName>,
    fields: Vec<String>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor {
            headers: DEFAULT_SENSITIVE_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect(),
            fields: DEFAULT_SENSITIVE_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
        }
    }
}

impl Redactor {
    /// The defaults only.
    pub fn new() -> Self {
        Self::default()
    }

    /// The defaults plus everything the spec marks secret (the
    /// descriptor's sensitive fields and headers).
    pub fn from_api(api: &ApiDescriptor) -> Self {
        let mut r = Self::default();
        for header in &api.sensitive_headers {
            r.add_header(header);
        }
        for field in &api.sensitive_fields {
            r.add_field(field);
        }
        r
    }

    /// Treat header `name` as secret.
    pub fn add_header(&mut self, name: &str) {
        if let Ok(name) = HeaderName::try_from(name.to_ascii_lowercase())
            && !self.headers.contains(&name)
        {
            self.headers.push(name);
        }
    }

    /// Treat field or parameter `name` as secret (case-insensitively).
    pub fn add_field(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        if !self.fields.contains(&name) {
            self.fields.push(name);
        }
    }

    /// Whether a header carries a secret.
    pub fn is_sensitive_header(&self, name: &HeaderName) -> bool {
        self.headers.contains(name)
    }

    /// Whether a body field or parameter carries a secret.
    pub fn is_sensitive_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.eq_ignore_ascii_case(name))
    }

    /// The secret headers.
    pub fn sensitive_headers(&self) -> &[HeaderName] {
        &self.headers
    }

    /// The secret field and parameter names (lower case).
    pub fn sensitive_fields(&self) -> &[String] {
        &self.fields
    }

    /// Headers for a log line: secret values (and anything that looks like a
    /// credential) replaced by `[REDACTED]`.
    pub fn headers<'a>(&'a self, headers: &'a HeaderMap) -> RedactedHeaders<'a> {
        RedactedHeaders {
            redactor: self,
            headers,
        }
    }

    /// A query string for a log line, secret parameter values replaced.
    pub fn query<'a>(&'a self, query: &'a str) -> RedactedQuery<'a> {
        RedactedQuery {
            redactor: self,
            query,
        }
    }

    /// A copy of a JSON value with the values of secret fields replaced, at any depth.
    pub fn json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if self.is_sensitive_field(k) {
                            Value::String(REDACTED.to_owned())
                        } else {
                            self.json(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            other => other.clone(),
        }
    }
}

fn looks_like_credential(value: &[u8]) -> bool {
    let lower = |n: usize| value.get(..n).map(<[u8]>::to_ascii_lowercase);
    lower(7).as_deref() == Some(b"bearer ")
        || lower(6).as_deref() == Some(b"basic ")
        || value.starts_with(crate::auth::api_key::KEY_PREFIX.as_bytes())
        || value.starts_with(b"eyJ")
}

/// [`Redactor::headers`]'s output.
#[derive(Debug)]
pub struct RedactedHeaders<'a> {
    redactor: &'a Redactor,
    headers: &'a HeaderMap,
}

impl fmt::Display for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, value) in self.headers {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            let shown = if self.redactor.is_sensitive_header(name)
                || looks_like_credential(value.as_bytes())
            {
                REDACTED
            } else {
                value.to_str().unwrap_or("[binary]")
            };
            write!(f, "{name}: {shown}")?;
        }
        Ok(())
    }
}

/// [`Redactor::query`]'s output.
#[derive(Debug)]
pub struct RedactedQuery<'a> {
    redactor: &'a Redactor,
    query: &'a str,
}

impl fmt::Display for RedactedQuery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pair) in self.query.split('&').enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded: String = form_urlencoded::parse(name.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            if self.redactor.is_sensitive_field(&decoded)
                || crate::auth::url::is_url_credential(&decoded)
                || looks_like_credential(value.as_bytes())
            {
                write!(f, "{name}={REDACTED}")?;
            } else {
                f.write_str(pair)?;
            }
        }
        Ok(())
    }
}

/// A logged value with its control characters escaped (`\n` → `\\n`), so a
/// value that comes from a request or a token (a JWT `sub`, a scheme name
/// from config) can never start a new log line or send terminal escapes.
/// Besides the C0/C1 controls (NEL, U+0085, among them), the Unicode line
/// and paragraph separators (U+2028, U+2029), which JavaScript and some log
/// viewers treat as line breaks, and the bidirectional controls (U+200E,
/// U+200F, U+061C, U+202A–U+202E, U+2066–U+2069), which reorder what a
/// reader sees, are escaped as `\u{2028}`.
#[derive(Debug, Clone, Copy)]
pub struct Clean<'a>(pub &'a str);

/// Whether `c` is written escaped by [`Clean`].
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

impl fmt::Display for Clean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::fmt::Write as _;
        for c in self.0.chars() {
            if needs_escape(c) {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Who and what an audit event is about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditContext<'a> {
    /// The request's id, from its [`RequestContext`](crate::context::RequestContext).
    pub(crate) request_id: &'a crate::request_id::RequestId,
    pub(crate) client_ip: Option<ClientIp>,
    pub(crate) operation: &'a str,
}

fn method_name(m: AuthMethod) -> &'static str {
    match m {
        AuthMethod::Jwt => "jwt",
        AuthMethod::ApiKey => "api_key",
    }
}

pub(crate) fn success(ctx: &AuditContext<'_>, principal: &Principal) {
    tracing::info!(
        target: "rampart::audit",
        event = "auth.success",
        outcome = "success",
        request_id = ctx.request_id.as_str(),
        client_ip = %ClientIp::or_dash(ctx.client_ip),
        operation = ctx.operation,
        scheme = %Clean(&principal.scheme),
        method = method_name(principal.method),
        subject = %Clean(&principal.subject),
        key_id = %Clean(principal.key_id.as_deref().unwrap_or("-")),
        "authenticated"
    );
}

pub(crate) fn failure(
    ctx: &AuditContext<'_>,
    scheme: &str,
    reason: &str,
    key_id: Option<&str>,
    status: u16,
) {
    crate::telemetry::auth_failure(scheme, reason);
    tracing::warn!(
        target: "rampart::audit",
        event = "auth.failure",
        outcome = "failure",
        status,
        request_id = ctx.request_id.as_str(),
        client_ip = %ClientIp::or_dash(ctx.client_ip),
        operation = ctx.operation,
        scheme = %Clean(scheme),
        reason,
        key_id = %Clean(key_id.unwrap_or("-")),
        "authentication failed"
    );
}

pub(crate) fn forbidden(ctx: &AuditContext<'_>, principal: &Principal, reason: &str) {
    tracing::warn!(
        target: "rampart::audit",
        event = "auth.forbidden",
        outcome = "denied",
        status = 403u16,
        request_id = ctx.request_id.as_str(),
        client_ip = %ClientIp::or_dash(ctx.client_ip),
        operation = ctx.operation,
        scheme = %Clean(&principal.scheme),
        subject = %Clean(&principal.subject),
        key_id = %Clean(principal.key_id.as_deref().unwrap_or("-")),
        reason,
        "access denied"
    );
}

pub(crate) fn lockout(ctx: &AuditContext<'_>, target: LockTarget<'_>, lock_secs: u64) {
    crate::telemetry::lockout();
    tracing::warn!(
        target: "rampart::audit",
        event = "auth.lockout",
        outcome = "locked",
        request_id = ctx.request_id.as_str(),
        client_ip = %ClientIp::or_dash(ctx.client_ip),
        operation = ctx.operation,
        locked = %target,
        lock_secs,
        "too many failed authentications: locked out"
    );
}

pub(crate) fn locked(ctx: &AuditContext<'_>, target: LockTarget<'_>, retry_after: u64) {
    tracing::info!(
        target: "rampart::audit",
        event = "auth.locked",
        outcome = "refused",
        status = 429u16,
        request_id = ctx.request_id.as_str(),
        client_ip = %ClientIp::or_dash(ctx.client_ip),
        operation = ctx.operation,
        locked = %target,
        retry_after,
        "request refused: client locked out"
    );
}

pub(crate) fn url_credentials(ctx: &AuditContext<'_>, parameter: &str) {
    tracing::warn!(
        target: "rampart::audit",
        event = "auth.url_credentials",
        outcome = "refused",
        status = 400u16,
        request_id = ctx.request_id.as_str(),
        client_ip = %ClientIp::or_dash(ctx.client_ip),
        operation = ctx.operation,
        parameter,
        "credentials in the URL refused"
    );
}

pub(crate) fn unavailable(ctx: &AuditContext<'_>, scheme: &str) {
    tracing::error!(
        target: "rampart::audit",
        event = "auth.unavailable",
        outcome = "error",
        status = 503u16,
        request_id = ctx.request_id.as_str(),
        client_ip = %ClientIp::or_dash(ctx.client_ip),
        operation = ctx.operation,
        scheme = %Clean(scheme),
        "credential store unavailable"
    );
}

pub(crate) fn lookups_busy(ctx: &AuditContext<'_>, scheme: &str) {
    tracing::warn!(
        target: "rampart::audit",
        event = "auth.lookups_busy",
        outcome = "refused",
        status = 503u16,
        request_id = ctx.request_id.as_str(),
        client_ip = %ClientIp::or_dash(ctx.client_ip),
        operation = ctx.operation,
        scheme = %Clean(scheme),
        "request refused: every remote key lookup of this instance is in use"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_headers_queries_and_json() {
        let mut r = Redactor::new();
        r.add_header("X-Service-Key");
        r.add_field("pin");
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        headers.insert("x-service-key", "k123".parse().unwrap());
        headers.insert("x-other", "Bearer leaked".parse().unwrap());
        headers.insert("accept", "text/plain".parse().unwrap());
        let shown = r.headers(&headers).to_string();
        assert!(!shown.contains("abc") && !shown.contains("k123") && !shown.contains("leaked"));
        assert!(shown.contains("accept: text/plain"));
        let q = r.query("a=1&access%5Ftoken=s3&pin=42").to_string();
        assert_eq!(q, "a=1&access%5Ftoken=[REDACTED]&pin=[REDACTED]");
        let json =
            serde_json::json!({"user": {"Password": "hunter2", "name": "x"}, "list": [{"pin": 1}]});
        let shown = r.json(&json).to_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains(":1"),
            "{shown}"
        );
        assert!(shown.contains("\"name\":\"x\""));
    }

    #[test]
    fn clean_escapes_unicode_line_breaks_and_bidi_controls() {
        let dirty = "a\u{2028}b\u{2029}c\u{85}d\u{202E}e\u{2066}f\u{2069}g\u{200E}\u{200F}\u{61C}h";
        let shown = Clean(dirty).to_string();
        assert_eq!(
            shown,
            r"a\u{2028}b\u{2029}c\u{85}d\u{202e}e\u{2066}f\u{2069}g\u{200e}\u{200f}\u{61c}h"
        );
        // Everything else passes: accents, CJK, emoji, a zero-width joiner.
        let fine = "Zoë 東京 👩\u{200D}💻";
        assert_eq!(Clean(fine).to_string(), fine);
    }
}
