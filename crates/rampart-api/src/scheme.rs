//! Security schemes as the runtime sees them: what each asks of a caller,
//! and the `x-rampart` settings a JWT scheme carries.

use serde::{Deserialize, Serialize};

use crate::policy::{DpopMode, Replay};

/// What a security scheme asks of a caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SecuritySchemeKind {
    /// `type: http, scheme: bearer` (a JWT unless `bearerFormat` says otherwise).
    Bearer {
        /// `bearerFormat`, e.g. `JWT`.
        format: Option<String>,
    },
    /// `type: http, scheme: basic`.
    Basic,
    /// `type: http, scheme: dpop`: DPoP-bound JWT access tokens (RFC 9449),
    /// sent as `Authorization: DPoP <token>` with a `DPoP` proof header.
    Dpop,
    /// `type: mutualTLS` (OpenAPI 3.1): the client authenticates with a TLS
    /// certificate. Loads and is reported; serving an operation that
    /// requires it is refused at startup.
    MutualTls,
    /// Another `type: http` scheme (digest, negotiate, ...).
    OtherHttp {
        /// The scheme name.
        scheme: String,
    },
    /// `type: apiKey`.
    ApiKey {
        /// Header, query or cookie name.
        name: String,
        /// Where it is sent.
        location: ApiKeyLocation,
    },
    /// `type: oauth2`: bearer access tokens carrying scopes.
    OAuth2 {
        /// Every scope declared by any flow.
        scopes: Vec<String>,
    },
    /// `type: openIdConnect`: bearer ID/access tokens.
    OpenIdConnect {
        /// The discovery URL.
        url: String,
    },
}

impl SecuritySchemeKind {
    /// Whether rampart verifies this scheme's credentials as JWTs: an http
    /// bearer scheme (unless `bearerFormat` names another format), oauth2
    /// and openIdConnect.
    pub fn is_jwt(&self) -> bool {
        match self {
            SecuritySchemeKind::Bearer { format } => format
                .as_deref()
                .is_none_or(|f| f.eq_ignore_ascii_case("jwt")),
            SecuritySchemeKind::OAuth2 { .. }
            | SecuritySchemeKind::OpenIdConnect { .. }
            | SecuritySchemeKind::Dpop => true,
            _ => false,
        }
    }
}

/// Where an API key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiKeyLocation {
    /// A request header.
    Header,
    /// The query string (refused by the runtime).
    Query,
    /// A cookie (refused by the runtime).
    Cookie,
}

/// The `x-rampart` of a JWT security scheme: claims its tokens must carry
/// and how they are presented. Empty fields leave the configuration's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct SchemeSettings {
    /// Accepted `aud` values.
    pub audience: Vec<String>,
    /// Accepted `iss` values.
    pub issuer: Vec<String>,
    /// Required `typ` header.
    pub typ: Option<String>,
    /// DPoP (RFC 9449) proofs.
    pub dpop: Option<DpopMode>,
    /// One-time tokens on every operation using the scheme.
    pub replay: Option<Replay>,
    /// A token without `sub` is identified by its `client_id`.
    pub client_id_subject: Option<bool>,
}
