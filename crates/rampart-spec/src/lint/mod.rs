//! The spec security lint: the OWASP API Security Top 10 (2023) rules that
//! Spectral's `@stoplight/spectral-owasp-ruleset` ships for OpenAPI 3.0, plus
//! rampart-aware rules that read `x-rampart`, each a [`Diagnostic`] with a
//! stable id, a position and a help line.
//!
//! Rules judge the spec as the generated server will behave: where rampart's
//! runtime already does what a rule asks for (it always answers 401, 429 and
//! 400/422 in problem+json, sends `Retry-After` with every 429 and RateLimit
//! headers when a rate applies), the finding says so and its severity drops
//! (see [`Rule::lowering`]). A spec can turn a rule off or re-level it with a
//! top-level `x-rampart-lint: { rule-id: off|info|warning|error }` map.
//!
//! ```
//! let loaded = rampart_spec::load_str("api.yaml", r#"
//! openapi: 3.0.3
//! info: { title: Demo, version: "1.0" }
//! x-rampart-lint: { owasp-api2-read-restricted: off }
//! paths:
//!   /things:
//!     get:
//!       operationId: listThings
//!       responses: { "200": { description: ok } }
//! "#.to_owned());
//! let findings = rampart_spec::lint::lint_loaded(&loaded);
//! assert!(findings.iter().all(|d| d.code != "owasp-api2-read-restricted"));
//! assert!(findings.iter().any(|d| d.code == "owasp-api8-define-error-responses-500"));
//! ```

mod access;
mod ctx;
mod lifecycle;
mod params;
mod responses;
mod sarif;
mod schemas;
mod schemes;
mod servers;

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::load::Loaded;
use crate::model::ApiModel;
use crate::node::{Node, NodeKind};
use crate::source::Span;
use crate::suggest::did_you_mean;

pub use sarif::{sarif, uri as sarif_uri};

use Severity::{Error, Info, Warning};

/// The top-level extension that re-levels rules for one spec.
pub const CONFIG_EXTENSION: &str = "x-rampart-lint";

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A rule of Spectral's OWASP API Security Top 10 (2023) ruleset; the
    /// Spectral rule name, e.g. `owasp:api4:2023-string-limit`.
    Owasp(&'static str),
    /// A rule that reads rampart's `x-rampart` annotations.
    Rampart,
}

/// When a finding of a rule gets a lower severity than the rule's default, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lowering {
    /// The severity such findings get instead of the default.
    pub severity: Severity,
    /// When the lowering applies (documentation).
    pub when: &'static str,
    /// Appended to the message of a lowered finding, saying what rampart does.
    pub note: &'static str,
}

/// One lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Stable id, used in diagnostics and in `x-rampart-lint`.
    pub id: &'static str,
    /// OWASP API Security Top 10 (2023) category, e.g. `API4:2023`, or `rampart`.
    pub category: &'static str,
    /// The Spectral rule this one implements, or rampart's own.
    pub origin: Origin,
    /// Severity of a finding unless a [`Lowering`] applies or the spec re-levels the rule.
    pub severity: Severity,
    /// What the rule checks, in one line.
    pub summary: &'static str,
    /// Why it matters.
    pub rationale: &'static str,
    /// How to fix a finding.
    pub fix: &'static str,
    /// Where rampart's runtime (or an explicit annotation) lowers the severity.
    pub lowering: Option<Lowering>,
}

macro_rules! ids {
    ($($name:ident = $id:literal;)*) => {
        $(
            #[doc = concat!("`", $id, "`")]
            pub const $name: &str = $id;
        )*
    };
}

ids! {
    NO_NUMERIC_IDS = "owasp-api1-no-numeric-ids";
    NO_HTTP_BASIC = "owasp-api2-no-http-basic";
    NO_API_KEYS_IN_URL = "owasp-api2-no-api-keys-in-url";
    NO_CREDENTIALS_IN_URL = "owasp-api2-no-credentials-in-url";
    AUTH_INSECURE_SCHEMES = "owasp-api2-auth-insecure-schemes";
    JWT_BEST_PRACTICES = "owasp-api2-jwt-best-practices";
    SHORT_LIVED_ACCESS_TOKENS = "owasp-api2-short-lived-access-tokens";
    WRITE_RESTRICTED = "owasp-api2-write-restricted";
    READ_RESTRICTED = "owasp-api2-read-restricted";
    NO_ADDITIONAL_PROPERTIES = "owasp-api3-no-additional-properties";
    CONSTRAINED_ADDITIONAL_PROPERTIES = "owasp-api3-constrained-additional-properties";
    RATE_LIMIT = "owasp-api4-rate-limit";
    RATE_LIMIT_RETRY_AFTER = "owasp-api4-rate-limit-retry-after";
    RATE_LIMIT_RESPONSES_429 = "owasp-api4-rate-limit-responses-429";
    ARRAY_LIMIT = "owasp-api4-array-limit";
    STRING_LIMIT = "owasp-api4-string-limit";
    STRING_RESTRICTED = "owasp-api4-string-restricted";
    INTEGER_LIMIT = "owasp-api4-integer-limit";
    INTEGER_FORMAT = "owasp-api4-integer-format";
    ADMIN_SECURITY_UNIQUE = "owasp-api5-admin-security-unique";
    CONCERNING_URL_PARAMETER = "owasp-api7-concerning-url-parameter";
    DEFINE_CORS_ORIGIN = "owasp-api8-define-cors-origin";
    NO_SERVER_HTTP = "owasp-api8-no-server-http";
    DEFINE_ERROR_VALIDATION = "owasp-api8-define-error-validation";
    DEFINE_ERROR_RESPONSES_401 = "owasp-api8-define-error-responses-401";
    DEFINE_ERROR_RESPONSES_500 = "owasp-api8-define-error-responses-500";
    INVENTORY_ACCESS = "owasp-api9-inventory-access";
    INVENTORY_ENVIRONMENT = "owasp-api9-inventory-environment";
    ROLES_WITHOUT_SECURITY = "rampart-roles-without-security";
    ANONYMOUS_WITHOUT_PUBLIC = "rampart-anonymous-without-public";
    UNDECLARED_ROLE = "rampart-undeclared-role";
    DEPRECATED_WITHOUT_SUNSET = "rampart-deprecated-without-sunset";
    SUNSET_BEFORE_DEPRECATION = "rampart-sunset-before-deprecation";
    PUBLIC_RATE_NOT_IP = "rampart-public-rate-not-ip";
    CORS_WILDCARD_CREDENTIALS = "rampart-cors-wildcard-credentials";
    WRITE_ONLY_IN_RESPONSE = "rampart-write-only-in-response";
    READ_ONLY_REQUIRED_IN_REQUEST = "rampart-read-only-required-in-request";
    SENSITIVE_NOT_REDACTED = "rampart-sensitive-not-redacted";
    BODY_LIMIT_TOO_LARGE = "rampart-body-limit-too-large";
    SHARED_VERIFIER_SCOPES = "rampart-shared-verifier-scopes";
    UNVERIFIED_SCHEME = "rampart-unverified-scheme";
}

/// Every rule, in documentation order.
pub static RULES: &[Rule] = &[
    // ---- API1:2023 Broken Object Level Authorization
    Rule {
        id: NO_NUMERIC_IDS,
        category: "API1:2023",
        origin: Origin::Owasp("owasp:api1:2023-no-numeric-ids"),
        severity: Error,
        summary: "an id-like parameter (`id`, `*_id`, `*Id`, `*ID`, `*-id`) of any location, written anywhere \
                  (operation, path item, `components/parameters`, callback), has an integer or number schema",
        rationale: "sequential numeric ids can be guessed and enumerated by anyone who has seen one",
        fix: "make the id a random, unguessable string: `type: string, format: uuid`",
        lowering: None,
    },
    // ---- API2:2023 Broken Authentication
    Rule {
        id: NO_HTTP_BASIC,
        category: "API2:2023",
        origin: Origin::Owasp("owasp:api2:2023-no-http-basic"),
        severity: Error,
        summary: "a security scheme is HTTP Basic",
        rationale: "Basic sends a reusable password with every request, base64 encoded but not protected",
        fix: "use bearer tokens (JWT), OAuth 2 or OpenID Connect instead",
        lowering: None,
    },
    Rule {
        id: NO_API_KEYS_IN_URL,
        category: "API2:2023",
        origin: Origin::Owasp("owasp:api2:2023-no-api-keys-in-url"),
        severity: Error,
        summary: "an apiKey scheme is sent in the query string or path",
        rationale: "URLs are logged by proxies and servers and kept in browser history, so the key leaks; \
                    rampart's runtime refuses credentials in the URL, so such a scheme can never authenticate",
        fix: "send the key in a header: `in: header, name: X-API-Key`",
        lowering: None,
    },
    Rule {
        id: NO_CREDENTIALS_IN_URL,
        category: "API2:2023",
        origin: Origin::Owasp("owasp:api2:2023-no-credentials-in-url"),
        severity: Error,
        summary: "a query or path parameter has a credential-like name (token, secret, password, api-key, client_secret, ...)",
        rationale: "URLs are logged and cached; credentials in them leak, and rampart's runtime refuses them",
        fix: "move the credential to a header or the request body, or rename the parameter if it is not a credential",
        lowering: None,
    },
    Rule {
        id: AUTH_INSECURE_SCHEMES,
        category: "API2:2023",
        origin: Origin::Owasp("owasp:api2:2023-auth-insecure-schemes"),
        severity: Error,
        summary: "an HTTP security scheme is outdated or insecure (`negotiate`, `oauth` 1.0)",
        rationale: "Negotiate (NTLM/Kerberos over HTTP) and OAuth 1.0 have known weaknesses and poor tooling",
        fix: "use `scheme: bearer` with JWTs, or an oauth2 / openIdConnect scheme",
        lowering: None,
    },
    Rule {
        id: JWT_BEST_PRACTICES,
        category: "API2:2023",
        origin: Origin::Owasp("owasp:api2:2023-jwt-best-practices"),
        severity: Error,
        summary: "a JWT bearer, oauth2 or openIdConnect scheme's description does not say it follows RFC 8725",
        rationale: "RFC 8725 (JWT best current practices) rules out `alg: none`, algorithm confusion and unchecked claims",
        fix: "implement RFC 8725 and say so in the scheme's `description`, e.g. \"JWTs following RFC 8725\"",
        lowering: None,
    },
    Rule {
        id: SHORT_LIVED_ACCESS_TOKENS,
        category: "API2:2023",
        origin: Origin::Owasp("owasp:api2:2023-short-lived-access-tokens"),
        severity: Error,
        summary: "an oauth2 flow other than client credentials has no `refreshUrl`",
        rationale: "without refresh tokens access tokens tend to be long-lived, so a stolen one works for long",
        fix: "issue short-lived access tokens with refresh tokens and declare the flow's `refreshUrl`",
        lowering: None,
    },
    Rule {
        id: WRITE_RESTRICTED,
        category: "API2:2023",
        origin: Origin::Owasp("owasp:api2:2023-write-restricted"),
        severity: Error,
        summary: "a write operation (POST, PUT, PATCH, DELETE) has no security requirement",
        rationale: "anyone can change state through an unauthenticated write operation",
        fix: "add a `security` requirement to the operation or at the top level",
        lowering: Some(Lowering {
            severity: Warning,
            when: "the operation is marked `x-rampart: { public: true }`, an explicit and visible opt-out",
            note: "it is marked `public: true`; make sure anonymous writes are intended",
        }),
    },
    Rule {
        id: READ_RESTRICTED,
        category: "API2:2023",
        origin: Origin::Owasp("owasp:api2:2023-read-restricted"),
        severity: Warning,
        summary: "a read operation (GET, HEAD) has no security requirement",
        rationale: "data served without authentication is readable by anyone",
        fix: "add a `security` requirement, or mark the operation `x-rampart: { public: true }` if it is meant to be public",
        lowering: Some(Lowering {
            severity: Info,
            when: "the operation is marked `x-rampart: { public: true }`, an explicit and visible opt-out",
            note: "it is marked `public: true`",
        }),
    },
    // ---- API3:2023 Broken Object Property Level Authorization
    Rule {
        id: NO_ADDITIONAL_PROPERTIES,
        category: "API3:2023",
        origin: Origin::Owasp("owasp:api3:2023-no-additionalProperties"),
        severity: Warning,
        summary: "an object schema allows additional properties (`additionalProperties` is `true`, `{}` or a value schema)",
        rationale: "unknown properties open the door to mass assignment; rampart's generated models reject unknown \
                    properties when `additionalProperties` is absent, but `true` turns that off",
        fix: "remove `additionalProperties` or set it to `false`; for a map, give it a value schema and `maxProperties`",
        lowering: Some(Lowering {
            severity: Info,
            when: "`additionalProperties` is a non-empty value schema: the object is a typed map, and rampart \
                   validates every entry against that schema (`constrained-additional-properties` checks the count)",
            note: "a typed map: rampart validates each entry against the value schema",
        }),
    },
    Rule {
        id: CONSTRAINED_ADDITIONAL_PROPERTIES,
        category: "API3:2023",
        origin: Origin::Owasp("owasp:api3:2023-constrained-additionalProperties"),
        severity: Warning,
        summary: "an object schema with schema-valued `additionalProperties` (a map) has no `maxProperties`",
        rationale: "an unbounded map lets a client send any number of entries",
        fix: "add `maxProperties` to the object schema",
        lowering: None,
    },
    // ---- API4:2023 Unrestricted Resource Consumption
    Rule {
        id: RATE_LIMIT,
        category: "API4:2023",
        origin: Origin::Owasp("owasp:api4:2023-rate-limit"),
        severity: Error,
        summary: "a 2XX or 4XX response declares no rate-limit headers (`RateLimit`, `RateLimit-Limit` + \
                  `RateLimit-Reset`, `X-RateLimit-Limit` or `X-Rate-Limit-Limit`)",
        rationale: "without a rate limit attackers can overload the API; the headers tell clients the quota",
        fix: "give the operation a rate (`x-rampart: { rate: 100/min }` or a top-level default) and declare the \
              `RateLimit` and `RateLimit-Policy` response headers",
        lowering: Some(Lowering {
            severity: Info,
            when: "a rate applies to the operation: rampart's runtime then sends `RateLimit` and `RateLimit-Policy` \
                   on its responses whether or not the spec declares them",
            note: "rampart sends RateLimit headers at runtime because a rate applies",
        }),
    },
    Rule {
        id: RATE_LIMIT_RETRY_AFTER,
        category: "API4:2023",
        origin: Origin::Owasp("owasp:api4:2023-rate-limit-retry-after"),
        severity: Error,
        summary: "a 429 response declares no `Retry-After` header",
        rationale: "clients that do not know when to retry keep polling and make an overload worse",
        fix: "declare a `Retry-After` header on the 429 response",
        lowering: Some(Lowering {
            severity: Info,
            when: "always: rampart's runtime sends `Retry-After` with every 429 it answers",
            note: "rampart sends Retry-After on every 429 at runtime",
        }),
    },
    Rule {
        id: RATE_LIMIT_RESPONSES_429,
        category: "API4:2023",
        origin: Origin::Owasp("owasp:api4:2023-rate-limit-responses-429"),
        severity: Warning,
        summary: "an operation declares no 429 response, or one without content",
        rationale: "a declared 429 documents the rate limit and lets contract tests check its body",
        fix: "add `'429'` with a problem+json body (and `Retry-After`) to the operation's responses",
        lowering: Some(Lowering {
            severity: Info,
            when: "always: rampart's runtime answers over-quota requests (and brute-force attempts) with 429 \
                   problem+json itself",
            note: "rampart answers 429 in problem+json at runtime",
        }),
    },
    Rule {
        id: ARRAY_LIMIT,
        category: "API4:2023",
        origin: Origin::Owasp("owasp:api4:2023-array-limit"),
        severity: Error,
        summary: "an array schema has no `maxItems`",
        rationale: "an unbounded array lets a client make the server allocate and process without limit",
        fix: "add `maxItems` (and constrain the `items` schema too)",
        lowering: None,
    },
    Rule {
        id: STRING_LIMIT,
        category: "API4:2023",
        origin: Origin::Owasp("owasp:api4:2023-string-limit"),
        severity: Error,
        summary: "a string schema has neither `maxLength` nor `enum`",
        rationale: "unbounded strings let a client exhaust memory, storage and CPU",
        fix: "add `maxLength` (or `enum` when the values are known)",
        lowering: None,
    },
    Rule {
        id: STRING_RESTRICTED,
        category: "API4:2023",
        origin: Origin::Owasp("owasp:api4:2023-string-restricted"),
        severity: Warning,
        summary: "a string schema has no `format`, `pattern` or `enum`",
        rationale: "strings that accept anything carry injection payloads to whatever consumes them",
        fix: "add a `format` (uuid, email, date-time, uri, ...), a `pattern` or an `enum`",
        lowering: Some(Lowering {
            severity: Info,
            when: "the schema is used only in responses: rampart validates what it receives, and a response's \
                   format or pattern only documents it",
            note: "the schema is used only in responses, which rampart does not validate",
        }),
    },
    Rule {
        id: INTEGER_LIMIT,
        category: "API4:2023",
        origin: Origin::Owasp("owasp:api4:2023-integer-limit-legacy"),
        severity: Error,
        summary: "an integer schema lacks `minimum` or `maximum`",
        rationale: "unbounded integers allow negative counts, huge page sizes and overflow",
        fix: "add `minimum` and `maximum`",
        lowering: None,
    },
    Rule {
        id: INTEGER_FORMAT,
        category: "API4:2023",
        origin: Origin::Owasp("owasp:api4:2023-integer-format"),
        severity: Error,
        summary: "an integer schema has no `format` (`int32` or `int64`)",
        rationale: "without a format, clients and servers disagree on the range and overflow",
        fix: "add `format: int32` or `format: int64`",
        lowering: None,
    },
    // ---- API5:2023 Broken Function Level Authorization
    Rule {
        id: ADMIN_SECURITY_UNIQUE,
        category: "API5:2023",
        origin: Origin::Owasp("owasp:api5:2023-admin-security-unique"),
        severity: Error,
        summary: "an admin operation (a path segment `admin`) accepts a security requirement that a non-admin \
                  operation also accepts",
        rationale: "if the same credentials open admin and ordinary endpoints, every user can call the admin ones",
        fix: "give admin operations their own scheme or scopes, or require an admin role with `x-rampart: { roles: [admin] }`",
        lowering: Some(Lowering {
            severity: Info,
            when: "the admin operation requires roles: rampart's runtime checks them (403) before the handler runs",
            note: "rampart enforces the operation's roles at runtime",
        }),
    },
    // ---- API7:2023 Server Side Request Forgery
    Rule {
        id: CONCERNING_URL_PARAMETER,
        category: "API7:2023",
        origin: Origin::Owasp("owasp:api7:2023-concerning-url-parameter"),
        severity: Info,
        summary: "a parameter looks like a URL (`callback`, `redirect*`, `*_url`, `*Url`, `*-url`, `*_uri`, ...)",
        rationale: "servers that fetch or redirect to client-supplied URLs are open to SSRF and open redirects",
        fix: "review how the URL is used: allow-list hosts and schemes, never fetch internal addresses",
        lowering: None,
    },
    // ---- API8:2023 Security Misconfiguration
    Rule {
        id: DEFINE_CORS_ORIGIN,
        category: "API8:2023",
        origin: Origin::Owasp("owasp:api8:2023-define-cors-origin"),
        severity: Error,
        summary: "CORS is configured (`x-rampart.cors`) but a response does not declare `Access-Control-Allow-Origin`",
        rationale: "documented CORS headers tell browser clients which origins may read responses",
        fix: "declare the `Access-Control-Allow-Origin` response header",
        lowering: Some(Lowering {
            severity: Info,
            when: "always: the rule applies only when `x-rampart.cors` is configured, and then rampart's CORS layer \
                   sends `Access-Control-Allow-Origin` for admitted origins on every response",
            note: "rampart's CORS layer sends it at runtime",
        }),
    },
    Rule {
        id: NO_SERVER_HTTP,
        category: "API8:2023",
        origin: Origin::Owasp("owasp:api8:2023-no-server-http"),
        severity: Error,
        summary: "a server URL uses `http://`",
        rationale: "plain HTTP exposes credentials and data to anyone on the network path",
        fix: "use `https://` (or `wss://`)",
        lowering: None,
    },
    Rule {
        id: DEFINE_ERROR_VALIDATION,
        category: "API8:2023",
        origin: Origin::Owasp("owasp:api8:2023-define-error-validation"),
        severity: Warning,
        summary: "an operation declares none of 400, 422 or 4XX",
        rationale: "error responses should be described like any other, so clients and contract tests know their shape",
        fix: "add a `'400'` (or `'422'`) response with a problem+json body",
        lowering: Some(Lowering {
            severity: Info,
            when: "always: rampart's runtime answers invalid input with 400 or 422 problem+json naming each bad field",
            note: "rampart answers invalid input with 400/422 problem+json at runtime",
        }),
    },
    Rule {
        id: DEFINE_ERROR_RESPONSES_401,
        category: "API8:2023",
        origin: Origin::Owasp("owasp:api8:2023-define-error-responses-401"),
        severity: Warning,
        summary: "a secured operation declares no 401 response, or one without content",
        rationale: "the 401 should be described so clients know how authentication fails",
        fix: "add a `'401'` response with a problem+json body",
        lowering: Some(Lowering {
            severity: Info,
            when: "always: rampart's runtime answers failed authentication with 401 problem+json and \
                   `WWW-Authenticate`; anonymous operations are not checked, since they never answer 401",
            note: "rampart answers 401 in problem+json at runtime",
        }),
    },
    Rule {
        id: DEFINE_ERROR_RESPONSES_500,
        category: "API8:2023",
        origin: Origin::Owasp("owasp:api8:2023-define-error-responses-500"),
        severity: Warning,
        summary: "an operation declares no 500 response, or one without content",
        rationale: "a described 500 lets contract tests check that no backtrace or internal detail leaks",
        fix: "add a `'500'` response with a problem+json body",
        lowering: None,
    },
    // ---- API9:2023 Improper Inventory Management
    Rule {
        id: INVENTORY_ACCESS,
        category: "API9:2023",
        origin: Origin::Owasp("owasp:api9:2023-inventory-access"),
        severity: Error,
        summary: "a server does not declare `x-internal: true|false`",
        rationale: "stating whether a server is internal keeps internal APIs out of public docs and gateways",
        fix: "add `x-internal: false` (public) or `x-internal: true` (internal) to the server",
        lowering: None,
    },
    Rule {
        id: INVENTORY_ENVIRONMENT,
        category: "API9:2023",
        origin: Origin::Owasp("owasp:api9:2023-inventory-environment"),
        severity: Error,
        summary: "a server names no environment (`x-environment`, or a description saying local, test, staging, \
                  production, ...)",
        rationale: "unlabelled servers get test data exposed or security bypassed on production-like hosts",
        fix: "add `x-environment: production` (or staging, test, ...) to the server, or say it in its description",
        lowering: None,
    },
    // ---- rampart-aware rules
    Rule {
        id: ROLES_WITHOUT_SECURITY,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Error,
        summary: "an operation requires roles but admits anonymous callers (`security: []`, a `{}` alternative, \
                  no security anywhere, or `public: true`)",
        rationale: "roles come from an authenticated principal; anonymous callers carry none, so the role check \
                    never runs and the operation the roles were meant to protect is open to anyone (the loader \
                    refuses it too, as `roles-without-authentication`)",
        fix: "add a security requirement without the `{}` alternative, or drop `roles` (and mark the operation \
              `public: true`) if it is meant to be open",
        lowering: None,
    },
    Rule {
        id: ANONYMOUS_WITHOUT_PUBLIC,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Error,
        summary: "an operation's `security` admits anonymous callers (`[]` or `{}`) without `x-rampart: { public: true }`",
        rationale: "opening an operation up must be explicit and visible; an empty `security` is easy to write by mistake",
        fix: "add `x-rampart: { public: true }` if the operation is meant to be public, or list a security requirement",
        lowering: None,
    },
    Rule {
        id: UNDECLARED_ROLE,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Error,
        summary: "an operation requires a role that the top-level `x-rampart.roles` does not declare",
        rationale: "an undeclared role is usually a typo, and no principal will ever carry it",
        fix: "declare the role in the top-level `x-rampart: { roles: [...] }`, or fix its spelling",
        lowering: None,
    },
    Rule {
        id: DEPRECATED_WITHOUT_SUNSET,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Warning,
        summary: "a deprecated operation (or API) has no `sunset` date",
        rationale: "deprecated endpoints without a retirement date live forever and stay unpatched (API9:2023)",
        fix: "add `x-rampart: { sunset: 2027-06-01T00:00:00Z }` (and a `successor`)",
        lowering: None,
    },
    Rule {
        id: SUNSET_BEFORE_DEPRECATION,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Error,
        summary: "an operation's `sunset` is not after its `deprecation` date",
        rationale: "clients must be warned (Deprecation header) before the endpoint stops working (Sunset, then 410)",
        fix: "move `sunset` after `deprecation`",
        lowering: None,
    },
    Rule {
        id: PUBLIC_RATE_NOT_IP,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Warning,
        summary: "a rate applies to a public operation but is not keyed by client IP (`rate-key: ip`)",
        rationale: "public callers have no principal; say explicitly that their quota is per client IP",
        fix: "add `rate-key: ip` to the operation's x-rampart",
        lowering: None,
    },
    Rule {
        id: CORS_WILDCARD_CREDENTIALS,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Error,
        summary: "CORS admits any origin (`origins: \"*\"`) together with `credentials: true`",
        rationale: "any website could make credentialed requests on a user's behalf and read the answers",
        fix: "list the exact origins that may send credentials",
        lowering: None,
    },
    Rule {
        id: WRITE_ONLY_IN_RESPONSE,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Warning,
        summary: "a `writeOnly` property is in a schema used only in responses",
        rationale: "a write-only value (a password, a secret) in a response-only schema is never written, only leaked",
        fix: "remove the property from the response schema, or drop `writeOnly` if it is really output",
        lowering: None,
    },
    Rule {
        id: READ_ONLY_REQUIRED_IN_REQUEST,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Warning,
        summary: "a `readOnly` property is `required` in a schema used only in requests",
        rationale: "clients must not send read-only properties, so requiring one in a request schema is a contradiction",
        fix: "remove the property from `required` (or from the request schema)",
        lowering: None,
    },
    Rule {
        id: SENSITIVE_NOT_REDACTED,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Error,
        summary: "a `format: password` or `writeOnly` property is not marked `x-rampart-sensitive: true`",
        rationale: "rampart redacts sensitive fields from logs, audit records and error messages only when told which they are",
        fix: "add `x-rampart-sensitive: true` to the property's schema",
        lowering: None,
    },
    Rule {
        id: BODY_LIMIT_TOO_LARGE,
        category: "rampart",
        origin: Origin::Rampart,
        severity: Warning,
        summary: "a `body-limit` is above 16 MiB",
        rationale: "large bodies are buffered and parsed in memory; a few concurrent ones can exhaust it",
        fix: "lower `body-limit`, or stream large uploads through a dedicated endpoint",
        lowering: None,
    },
    Rule {
        id: SHARED_VERIFIER_SCOPES,
        category: "API5:2023",
        origin: Origin::Rampart,
        severity: Warning,
        summary: "OR-alternatives of one operation use two JWT schemes that require different scopes",
        rationale: "JWT schemes configured alike (same keys, issuer, audience and `typ`) share one verifier and accept the same tokens, so a token lacking the scopes one alternative requires passes through the other",
        fix: "give the schemes distinct audiences, issuers or `typ` (`[schemes.NAME]` in rampart.toml), or require the same scopes in every alternative",
        lowering: None,
    },
    Rule {
        id: UNVERIFIED_SCHEME,
        category: "API2:2023",
        origin: Origin::Rampart,
        severity: Warning,
        summary: "a security scheme rampart's runtime does not verify: `mutualTLS` (client certificates) or an `http` scheme other than bearer and basic (digest, hoba, ...)",
        rationale: "an operation that requires such a scheme could not be authenticated, so serving it is refused at startup",
        fix: "authenticate with a bearer (JWT), OAuth 2, OpenID Connect or header apiKey scheme; terminate mutual TLS in a proxy and describe what it forwards as an apiKey header",
        lowering: None,
    },
];

/// The largest `body-limit` accepted without a finding.
pub const BODY_LIMIT_CEILING: u64 = 16 * 1024 * 1024;

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Every rule id, in documentation order.
pub fn rule_ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.id)
}

// ---------------------------------------------------------------------------
// Configuration: turning rules off or re-levelling them.

/// What a spec (or a caller) sets a rule to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// The rule does not run.
    Off,
    /// Every finding of the rule is informational.
    Info,
    /// Every finding of the rule is a warning.
    Warning,
    /// Every finding of the rule is an error.
    Error,
}

impl Level {
    /// The words a level is written with.
    pub const WORDS: &'static [&'static str] = &["off", "info", "warning", "error"];

    /// Parse `off`, `info`, `warning` (or Spectral's `warn`) or `error`.
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "off" => Some(Level::Off),
            "info" => Some(Level::Info),
            "warning" | "warn" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }

    /// The severity findings get, or `None` when the rule is off.
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Off => None,
            Level::Info => Some(Info),
            Level::Warning => Some(Warning),
            Level::Error => Some(Error),
        }
    }
}

/// Rule levels that override the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    levels: HashMap<&'static str, Level>,
}

impl Config {
    /// Set a rule's level. An unknown id is an error naming the nearest valid id.
    pub fn set(&mut self, id: &str, level: Level) -> Result<(), String> {
        match rule(id) {
            Some(r) => {
                self.levels.insert(r.id, level);
                Ok(())
            }
            None => Err(format!(
                "unknown lint rule `{id}`{}",
                did_you_mean(id, rule_ids())
            )),
        }
    }

    /// The level set for a rule, if any.
    pub fn level(&self, id: &str) -> Option<Level> {
        self.levels.get(id).copied()
    }

    /// Read `x-rampart-lint` from a spec's root; malformed entries become errors.
    pub fn from_spec(root: &Node) -> (Config, Diagnostics) {
        let mut config = Config::default();
        let mut diags = Diagnostics::default();
        let Some((key, node)) = root.get_entry(CONFIG_EXTENSION) else {
            return (config, diags);
        };
        let Some(entries) = node.entries() else {
            diags.push(
                Diagnostic::error(
                    "malformed-lint-config",
                    format!(
                        "`{CONFIG_EXTENSION}` must be a mapping of rule ids to levels, found {}",
                        node.describe()
                    ),
                )
                .at(key.span)
                .help("e.g. `x-rampart-lint: { owasp-api4-string-restricted: off }`"),
            );
            return (config, diags);
        };
        for (rule_key, value) in entries {
            let level = match &value.kind {
                NodeKind::Str(text) => Level::parse(text),
                NodeKind::Bool(false) => Some(Level::Off),
                _ => None,
            };
            let Some(level) = level else {
                let text = value
                    .scalar_text()
                    .unwrap_or_else(|| value.describe().to_owned());
                diags.push(
                    Diagnostic::error(
                        "malformed-lint-level",
                        format!(
                            "unknown level `{text}` for lint rule `{}`{}",
                            rule_key.text,
                            did_you_mean(&text, Level::WORDS.iter().copied())
                        ),
                    )
                    .at(value.span)
                    .label("not a level")
                    .help("a rule's level is `off`, `info`, `warning` or `error`"),
                );
                continue;
            };
            if let Err(message) = config.set(&rule_key.text, level) {
                diags.push(
                    Diagnostic::error("unknown-lint-rule", message)
                        .at(rule_key.span)
                        .label("unknown rule")
                        .help("see docs/lint.md for the rule ids"),
                );
            }
        }
        (config, diags)
    }
}

// ---------------------------------------------------------------------------
// Running the rules.

/// Lint a model with the levels its spec sets in `x-rampart-lint` (malformed
/// configuration is reported too). Findings are sorted by position.
pub fn lint(model: &ApiModel) -> Diagnostics {
    let (config, mut diags) = Config::from_spec(&model.root);
    diags.0.extend(check(model, &config));
    diags.sort();
    diags
}

/// Run every rule on a model with the given levels (ignoring `x-rampart-lint`).
pub fn check(model: &ApiModel, config: &Config) -> Diagnostics {
    let mut ctx = ctx::Ctx::new(model);
    params::check(&mut ctx);
    schemes::check(&mut ctx);
    access::check(&mut ctx);
    schemas::check(&mut ctx);
    responses::check(&mut ctx);
    servers::check(&mut ctx);
    lifecycle::check(&mut ctx);
    finish(ctx.findings, config)
}

/// Apply levels, then merge findings of one rule at one place (keeping the
/// most severe), then sort.
fn finish(findings: Vec<Diagnostic>, config: &Config) -> Diagnostics {
    let mut out: Vec<Diagnostic> = Vec::with_capacity(findings.len());
    let mut seen: HashMap<(&'static str, Option<Span>), usize> = HashMap::new();
    for mut finding in findings {
        match config.level(finding.code).map(Level::severity) {
            Some(None) => continue,
            Some(Some(severity)) => finding.severity = severity,
            None => {}
        }
        match seen.get(&(finding.code, finding.span)) {
            Some(&i) => {
                if finding.severity > out[i].severity {
                    out[i] = finding;
                }
            }
            None => {
                seen.insert((finding.code, finding.span), out.len());
                out.push(finding);
            }
        }
    }
    let mut diags = Diagnostics(out);
    diags.sort();
    diags
}

/// Loader checks that a lint rule repeats: (loader code, rule id).
const REPEATED_LOADER_CHECKS: &[(&str, &str)] = &[
    ("undeclared-role", UNDECLARED_ROLE),
    ("roles-without-authentication", ROLES_WITHOUT_SECURITY),
    ("cors-wildcard-credentials", CORS_WILDCARD_CREDENTIALS),
];

/// The loader's diagnostics and the lint's findings for a loaded spec, in one
/// sorted list. Where a rule repeats a loader check at the same place, one is
/// kept: the rule's finding while it is an error, else the loader's error
/// (which still fails the build, whatever the lint level).
pub fn lint_loaded(loaded: &Loaded) -> Diagnostics {
    let mut findings = loaded.model.as_ref().map(lint).unwrap_or_default();
    let mut out = Diagnostics::default();
    for d in loaded.diagnostics.iter() {
        let repeated = |f: &Diagnostic| {
            f.span == d.span
                && REPEATED_LOADER_CHECKS
                    .iter()
                    .any(|&(load, rule)| d.code == load && f.code == rule)
        };
        match findings.0.iter().position(repeated) {
            Some(i) if findings.0[i].severity == Error => continue,
            Some(i) => {
                findings.0.remove(i);
                out.push(d.clone());
            }
            None => out.push(d.clone()),
        }
    }
    out.0.extend(findings);
    out.sort();
    out
}

/// Whether findings fail a build: any error, or with `strict` any warning too.
pub fn fails(diagnostics: &Diagnostics, strict: bool) -> bool {
    diagnostics
        .iter()
        .any(|d| d.severity == Error || (strict && d.severity == Warning))
}
