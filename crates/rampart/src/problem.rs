//! RFC 9457 problem details: every error rampart answers is one of these,
//! declared in one place with its status, and revealing nothing internal.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde::Serialize;

/// Base of every problem `type` URI rampart emits.
pub const TYPE_BASE: &str = "https://rampart.dev/problems/";
/// Media type of problem bodies.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// One failing input field: which field, which rule, and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where: `body.name`, `query.limit`, `path.petId`, `header.x-request-id`.
    pub field: String,
    /// The rule that failed: `length`, `range`, `pattern`, `email`, `type`, `required`, ...
    pub rule: String,
    /// A sentence for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl FieldError {
    /// A failing field.
    pub fn new(field: impl Into<String>, rule: impl Into<String>, message: Option<String>) -> Self {
        FieldError {
            field: field.into(),
            rule: rule.into(),
            message,
        }
    }
}

/// One kind of problem: its status, `type` slug and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemKind {
    /// The HTTP status.
    pub status: StatusCode,
    /// The last segment of the `type` URI (`TYPE_BASE` + slug).
    pub slug: &'static str,
    /// The `title`.
    pub title: &'static str,
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident = $status:ident, $slug:literal, $title:literal;)*) => {
        /// Every problem rampart answers, in one table (as axum lists its
        /// rejections): status, slug and title are written nowhere else.
        pub mod kinds {
            use super::ProblemKind;
            use http::StatusCode;
            $($(#[$doc])* pub const $name: ProblemKind = ProblemKind {
                status: StatusCode::$status,
                slug: $slug,
                title: $title,
            };)*
            /// All of them.
            pub const ALL: &[ProblemKind] = &[$($name),*];
        }
    };
}

kinds! {
    /// 400: malformed request.
    BAD_REQUEST = BAD_REQUEST, "bad-request", "Bad Request";
    /// 400 listing each failing parameter or JSON field.
    INVALID_REQUEST = BAD_REQUEST, "invalid-request", "Invalid request";
    /// 400: credentials sent in the URL.
    CREDENTIALS_IN_URL = BAD_REQUEST, "credentials-in-url", "Bad Request";
    /// 401 with `WWW-Authenticate`.
    UNAUTHORIZED = UNAUTHORIZED, "unauthorized", "Unauthorized";
    /// 403: authenticated but not allowed (role).
    FORBIDDEN = FORBIDDEN, "forbidden", "Forbidden";
    /// 403: the token lacks a required scope.
    INSUFFICIENT_SCOPE = FORBIDDEN, "insufficient-scope", "Forbidden";
    /// 403: a CORS preflight from a foreign origin (or for a method/header not allowed).
    CORS_DENIED = FORBIDDEN, "cors-denied", "Forbidden";
    /// 404.
    NOT_FOUND = NOT_FOUND, "not-found", "Not Found";
    /// 405 (with `Allow`).
    METHOD_NOT_ALLOWED = METHOD_NOT_ALLOWED, "method-not-allowed", "Method Not Allowed";
    /// 408: not answered within the request timeout.
    REQUEST_TIMEOUT = REQUEST_TIMEOUT, "request-timeout", "Request Timeout";
    /// 410: past the operation's sunset.
    GONE = GONE, "sunset", "Gone";
    /// 413: body over the limit.
    PAYLOAD_TOO_LARGE = PAYLOAD_TOO_LARGE, "payload-too-large", "Payload Too Large";
    /// 415: wrong `Content-Type`.
    UNSUPPORTED_MEDIA_TYPE = UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported Media Type";
    /// 422 listing each body field that breaks a constraint.
    VALIDATION_FAILED = UNPROCESSABLE_ENTITY, "validation-failed", "Validation failed";
    /// 431: request headers too many or too large.
    HEADERS_TOO_LARGE = REQUEST_HEADER_FIELDS_TOO_LARGE, "headers-too-large", "Request Header Fields Too Large";
    /// 500 with no internals.
    INTERNAL = INTERNAL_SERVER_ERROR, "internal", "Internal Server Error";
    /// 503.
    UNAVAILABLE = SERVICE_UNAVAILABLE, "unavailable", "Service Unavailable";
}

/// An RFC 9457 problem details response.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    // Boxed so `Result<_, Problem>` stays small on the happy path.
    details: Box<Details>,
}

#[derive(Debug, Clone)]
struct Details {
    slug: Cow<'static, str>,
    title: Cow<'static, str>,
    detail: Option<String>,
    errors: Vec<FieldError>,
    extensions: serde_json::Map<String, serde_json::Value>,
    headers: HeaderMap,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
    #[serde(flatten)]
    extensions: &'a serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    /// A problem with a status, a type slug (the last segment of the `type` URI) and a title.
    pub fn new(
        status: StatusCode,
        slug: impl Into<Cow<'static, str>>,
        title: impl Into<Cow<'static, str>>,
    ) -> Self {
        Problem {
            status,
            details: Box::new(Details {
                slug: slug.into(),
                title: title.into(),
                detail: None,
                errors: Vec::new(),
                extensions: serde_json::Map::new(),
                headers: HeaderMap::new(),
            }),
        }
    }

    /// A problem of this kind.
    pub fn of(kind: ProblemKind) -> Self {
        Problem::new(kind.status, kind.slug, kind.title)
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::of(kinds::BAD_REQUEST).detail(detail)
    }

    /// 400 listing each failing field (bad path/query/header parameters, bad JSON).
    pub fn invalid_request(errors: Vec<FieldError>) -> Self {
        Problem::of(kinds::INVALID_REQUEST).errors(errors)
    }

    /// 422 listing each body field that breaks a constraint.
    pub fn validation_failed(errors: Vec<FieldError>) -> Self {
        Problem::of(kinds::VALIDATION_FAILED).errors(errors)
    }

    /// 401 with a `WWW-Authenticate` challenge.
    pub fn unauthorized(challenge: HeaderValue) -> Self {
        Problem::of(kinds::UNAUTHORIZED).header(header::WWW_AUTHENTICATE, challenge)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::of(kinds::FORBIDDEN).detail(detail)
    }

    /// 404.
    pub fn not_found() -> Self {
        Problem::of(kinds::NOT_FOUND)
    }

    /// 405 with `Allow`.
    pub fn method_not_allowed(allow: HeaderValue) -> Self {
        Problem::of(kinds::METHOD_NOT_ALLOWED).header(header::ALLOW, allow)
    }

    /// 410: the operation is past its sunset.
    pub fn gone(detail: impl Into<String>) -> Self {
        Problem::of(kinds::GONE).detail(detail)
    }

    /// 413: the body is larger than the operation accepts.
    pub fn payload_too_large(limit: u64) -> Self {
        Problem::of(kinds::PAYLOAD_TOO_LARGE).detail(format!(
            "the request body exceeds the limit of {limit} bytes"
        ))
    }

    /// 415: wrong `Content-Type`.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Problem::of(kinds::UNSUPPORTED_MEDIA_TYPE)
            .detail(format!("expected a body of type {expected}"))
    }

    /// 429 with `Retry-After` (seconds).
    pub fn too_many_requests(
        slug: &'static str,
        retry_after_secs: u64,
        detail: impl Into<String>,
    ) -> Self {
        // The slug names the quota or the lockout; status and title are fixed.
        Problem::new(StatusCode::TOO_MANY_REQUESTS, slug, "Too Many Requests")
            .detail(detail)
            .header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs))
    }

    /// 500 with no internals.
    pub fn internal() -> Self {
        Problem::of(kinds::INTERNAL)
    }

    /// 503.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Problem::of(kinds::UNAVAILABLE).detail(detail)
    }

    /// Add a human-readable detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.details.detail = Some(detail.into());
        self
    }

    /// Add field errors.
    pub fn errors(mut self, errors: Vec<FieldError>) -> Self {
        self.details.errors = errors;
        self
    }

    /// Add an extension member (RFC 9457 §3.2).
    pub fn extension(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.details.extensions.insert(key.into(), value.into());
        self
    }

    /// Add a response header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.details.headers.append(name, value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `type` slug.
    pub fn slug(&self) -> &str {
        &self.details.slug
    }

    /// The field errors.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.details.errors
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Body {
            kind: format!("{TYPE_BASE}{}", self.details.slug),
            title: &self.details.title,
            status: self.status.as_u16(),
            detail: self.details.detail.as_deref(),
            errors: &self.details.errors,
            extensions: &self.details.extensions,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, bytes).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        for (name, value) in &self.details.headers {
            response.headers_mut().append(name, value.clone());
        }
        response
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.details.title)?;
        if let Some(detail) = &self.details.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_slug() {
        let mut slugs: Vec<&str> = kinds::ALL.iter().map(|k| k.slug).collect();
        slugs.sort_unstable();
        let before = slugs.len();
        slugs.dedup();
        assert_eq!(slugs.len(), before, "two kinds share a slug");
        for kind in kinds::ALL {
            let p = Problem::of(*kind);
            assert_eq!((p.status(), p.slug()), (kind.status, kind.slug));
        }
    }
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn renders_rfc9457_json_with_headers() {
        let response =
            Problem::too_many_requests("quota-exceeded", 30, "over quota").into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "30");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["type"], "https://rampart.dev/problems/quota-exceeded");
        assert_eq!(json["status"], 429);
        assert_eq!(json["detail"], "over quota");
        assert!(json.get("errors").is_none());
    }

    #[tokio::test]
    async fn lists_field_errors() {
        let response =
            Problem::validation_failed(vec![FieldError::new("body.name", "length", None)])
                .into_response();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["errors"][0]["field"], "body.name");
        assert_eq!(json["errors"][0]["rule"], "length");
    }
}
