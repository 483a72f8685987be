//! `Principal`: who is calling, as established by the pipeline.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::problem::Problem;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// A bearer JWT (http bearer, OAuth2 or OpenID Connect scheme).
    Jwt,
    /// An API key.
    ApiKey,
}

/// The authenticated caller, available to handlers as an extractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The subject: the JWT `sub`, or the API key's id.
    pub subject: String,
    /// The JWT `iss` that vouched for `subject` (`None` for API keys and
    /// tokens without `iss`). A subject is only unique within its issuer:
    /// compare `(issuer, subject)`, never `subject` alone, when several
    /// issuers are trusted.
    pub issuer: Option<String>,
    /// Roles granted.
    pub roles: Vec<String>,
    /// OAuth2 scopes granted.
    pub scopes: Vec<String>,
    /// How the caller authenticated.
    pub method: AuthMethod,
    /// The security scheme that accepted the credential.
    pub scheme: String,
    /// The API key id, for API-key callers.
    pub key_id: Option<String>,
}

impl Principal {
    /// Whether the principal holds `role` exactly.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the principal holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The pipeline inserts the principal before the handler runs; a handler
        // asking for one on an unguarded route is a wiring mistake, answered 500.
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            tracing::error!(
                "Principal extracted on a route without an authenticating rampart guard"
            );
            Problem::internal()
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}
