//! What to probe, derived from the spec alone (no network here): the checks
//! that apply to each operation, the credentials each probe sends, a
//! well-formed request per operation, and how each answer is judged.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rampart::auth::dpop::ProofSigner;
use rampart_spec::model::{ApiKeyLocation, Operation, SecuritySchemeKind};
use rampart_spec::policy::{CorsOrigins, Deprecation};
use rampart_spec::{ApiModel, DpopMode, Replay};
use serde_json::Value;

use super::token::{self, Claims};

/// Quotas up to this many requests per window (and buckets up to this size) are tripped.
pub(crate) const CHEAP_QUOTA: u32 = 20;

/// The foreign origin the CORS probes send.
pub(crate) const FOREIGN_ORIGIN: &str = "https://audit.invalid";

/// One kind of check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Check {
    /// A secured operation without credentials: 401 with `WWW-Authenticate`.
    NoCredentials,
    /// A credential of a sufficient role is accepted (the probes are well formed).
    Accepted,
    /// A weaker role: 403.
    WeakerRole,
    /// A valid credential in the query string is refused (400 or 401).
    QueryCredentials,
    /// Security headers on the operation's answers.
    SecurityHeaders,
    /// `Strict-Transport-Security` (https bases only).
    Hsts,
    /// `Cache-Control: no-store` on an answer to a credentialed request.
    NoStore,
    /// `Deprecation`, `Sunset`, `Link: rel="successor-version"` on a deprecated operation.
    Deprecation,
    /// A foreign origin gets no `Access-Control-Allow-Origin`.
    CorsForeignOrigin,
    /// The quota trips: 429 with `Retry-After`.
    RateLimit,
    /// A JWT signed with another key: 401.
    BadSignature,
    /// A JWT signed with the right key that has expired: 401.
    ExpiredToken,
    /// A JWT with `alg: none`: 401.
    AlgNone,
    /// An API key nobody holds: 401.
    BadApiKey,
    /// A DPoP-bound token with a valid proof is admitted.
    DpopAccepted,
    /// A DPoP proof sent a second time: 401 with a `DPoP` challenge.
    DpopReplayedProof,
    /// A DPoP proof for another method or another URI: 401.
    DpopWrongTarget,
    /// A DPoP-bound token (`cnf`) sent as `Bearer`: 401.
    DpopBoundAsBearer,
    /// A one-time token (`jti`) accepted once, sent again: 401.
    ReusedJti,
}

impl Check {
    /// Every check, in report order.
    pub(crate) const ALL: [Check; 19] = [
        Check::NoCredentials,
        Check::Accepted,
        Check::WeakerRole,
        Check::QueryCredentials,
        Check::SecurityHeaders,
        Check::Hsts,
        Check::NoStore,
        Check::Deprecation,
        Check::CorsForeignOrigin,
        Check::RateLimit,
        Check::BadSignature,
        Check::ExpiredToken,
        Check::AlgNone,
        Check::BadApiKey,
        Check::DpopAccepted,
        Check::DpopReplayedProof,
        Check::DpopWrongTarget,
        Check::DpopBoundAsBearer,
        Check::ReusedJti,
    ];

    /// The stable id printed in reports.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Check::NoCredentials => "no-credentials",
            Check::Accepted => "accepted",
            Check::WeakerRole => "weaker-role",
            Check::QueryCredentials => "query-credentials",
            Check::SecurityHeaders => "security-headers",
            Check::Hsts => "hsts",
            Check::NoStore => "no-store",
            Check::Deprecation => "deprecation",
            Check::CorsForeignOrigin => "cors-foreign-origin",
            Check::RateLimit => "rate-limit",
            Check::BadSignature => "bad-signature",
            Check::ExpiredToken => "expired-token",
            Check::AlgNone => "alg-none",
            Check::BadApiKey => "bad-api-key",
            Check::DpopAccepted => "dpop-accepted",
            Check::DpopReplayedProof => "dpop-replayed-proof",
            Check::DpopWrongTarget => "dpop-wrong-target",
            Check::DpopBoundAsBearer => "dpop-bound-as-bearer",
            Check::ReusedJti => "reused-jti",
        }
    }

    /// One line saying what the check expects.
    pub(crate) fn summary(self) -> &'static str {
        match self {
            Check::NoCredentials => {
                "a secured operation called without credentials answers 401 with WWW-Authenticate"
            }
            Check::Accepted => {
                "a credential of a sufficient role (or none, for a public operation) is accepted"
            }
            Check::WeakerRole => "a credential of a role the operation does not admit gets 403",
            Check::QueryCredentials => {
                "a valid credential sent in the query string (access_token=, api_key=) is refused with 400 or 401"
            }
            Check::SecurityHeaders => {
                "answers carry X-Content-Type-Options: nosniff, Content-Security-Policy, X-Frame-Options (or CSP frame-ancestors) and Referrer-Policy"
            }
            Check::Hsts => {
                "answers over https carry Strict-Transport-Security with max-age of at least a year"
            }
            Check::NoStore => "an answer to a credentialed request carries Cache-Control: no-store",
            Check::Deprecation => {
                "a deprecated operation answers with Deprecation, Sunset and Link rel=\"successor-version\" as the spec says (410 after the sunset)"
            }
            Check::CorsForeignOrigin => {
                "a preflight and a request from a foreign origin get no Access-Control-Allow-Origin"
            }
            Check::RateLimit => "exceeding the operation's quota gets 429 with Retry-After",
            Check::BadSignature => "a JWT with a signature made by another key gets 401",
            Check::ExpiredToken => "a correctly signed but expired JWT gets 401",
            Check::AlgNone => "an unsigned JWT (alg: none) gets 401",
            Check::BadApiKey => "an API key nobody holds gets 401",
            Check::DpopAccepted => {
                "a token bound to the audit's key (cnf.jkt) sent as Authorization: DPoP with a valid proof is admitted"
            }
            Check::DpopReplayedProof => {
                "a DPoP proof that was accepted once gets 401 with a DPoP challenge the second time"
            }
            Check::DpopWrongTarget => {
                "a DPoP proof made for another method, or for another URI, gets 401 with a DPoP challenge"
            }
            Check::DpopBoundAsBearer => {
                "a DPoP-bound token (cnf) sent as a plain Bearer token gets 401"
            }
            Check::ReusedJti => {
                "a one-time token (replay: reject) accepted once gets 401 when its jti is presented again"
            }
        }
    }

    /// When the probe runs: refusals that cannot spend quota first, then
    /// quotas, then invalid credentials (they count towards the client's
    /// brute-force lockout, which must not disturb the other probes).
    pub(crate) fn phase(self) -> u8 {
        match self {
            Check::RateLimit => 2,
            Check::BadSignature
            | Check::ExpiredToken
            | Check::AlgNone
            | Check::BadApiKey
            | Check::DpopReplayedProof
            | Check::DpopWrongTarget
            | Check::DpopBoundAsBearer
            | Check::ReusedJti => 3,
            _ => 1,
        }
    }
}

/// Headers (name, value) that carry one credential; `role` is the role it was chosen for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cred {
    pub(crate) role: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    /// The query parameter the same credential would travel as (`access_token`, `api_key`).
    pub(crate) as_query: (String, String),
    /// A token minted afresh for every request (DPoP, one-time tokens), beside `headers`.
    pub(crate) fresh: Option<Mint>,
}

/// How to mint a token per request: a one-time token (a random `jti`) and,
/// for DPoP, bound to the audit's key and sent as `Authorization: DPoP` with
/// a proof for the request's own method and URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Mint {
    pub(crate) claims: Claims,
    pub(crate) secret: Vec<u8>,
    pub(crate) role: Option<String>,
    /// Bound to the audit's DPoP key and sent with a proof.
    pub(crate) dpop: bool,
}

impl std::fmt::Debug for Mint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mint")
            .field("role", &self.role)
            .field("dpop", &self.dpop)
            .finish_non_exhaustive()
    }
}

impl Mint {
    /// A new token (a fresh `jti`), bound to `jkt` when given.
    pub(crate) fn token(&self, jkt: Option<&str>) -> String {
        self.claims
            .mint_bound(&self.secret, self.role.as_deref(), jkt)
    }
}

/// How a scheme treats DPoP: `scheme: dpop` requires it, a JWT scheme says so in `x-rampart: { dpop }`.
pub(crate) fn dpop_mode(model: &ApiModel, scheme: &str) -> DpopMode {
    match model.scheme(scheme) {
        Some(SecuritySchemeKind::Dpop) => DpopMode::Required,
        Some(kind) if kind.is_jwt() => model
            .scheme_annotations(scheme)
            .and_then(|a| a.dpop.as_ref())
            .map_or(DpopMode::Off, |d| d.value),
        _ => DpopMode::Off,
    }
}

/// Whether a token sent through `scheme` to `op` must be one-time (`replay: reject` on either).
pub(crate) fn one_time(model: &ApiModel, op: &Operation, scheme: &str) -> bool {
    op.policy.replay == Replay::Reject
        || model
            .scheme_annotations(scheme)
            .and_then(|a| a.replay.as_ref())
            .is_some_and(|r| r.value == Replay::Reject)
}

/// The JWT scheme of `op` the DPoP checks go through: one requiring or allowing DPoP.
pub(crate) fn dpop_scheme<'a>(model: &ApiModel, op: &'a Operation) -> Option<&'a str> {
    op.policy
        .schemes()
        .into_iter()
        .find(|s| dpop_mode(model, s) != DpopMode::Off)
}

/// The JWT scheme of `op` whose tokens are one-time, if any.
pub(crate) fn one_time_scheme<'a>(model: &ApiModel, op: &'a Operation) -> Option<&'a str> {
    op.policy
        .schemes()
        .into_iter()
        .find(|s| model.scheme(s).is_some_and(SecuritySchemeKind::is_jwt) && one_time(model, op, s))
}

/// What the audit may present: supplied tokens and keys, and a secret to mint with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Credentials {
    /// Role → JWT (`--token-for`).
    pub(crate) tokens: BTreeMap<String, String>,
    /// Role → API key (`--api-key-for`).
    pub(crate) api_keys: BTreeMap<String, String>,
    /// `--jwt-secret`.
    pub(crate) secret: Option<Vec<u8>>,
    /// `--issuer`.
    pub(crate) issuer: String,
    /// `--audience`.
    pub(crate) audience: String,
    /// Unique per run (subjects of minted tokens).
    pub(crate) run_id: String,
    /// The audit's own DPoP key pair, made for this run.
    pub(crate) dpop: Option<Arc<ProofSigner>>,
}

/// The roles to try, strongest first: the declared ones, or one `None` when there are none.
fn all_roles(model: &ApiModel) -> Vec<Option<String>> {
    let declared = model.roles.roles();
    if declared.is_empty() {
        vec![None]
    } else {
        declared.iter().cloned().map(Some).collect()
    }
}

/// Roles an operation admits, strongest first.
pub(crate) fn sufficient_roles(model: &ApiModel, op: &Operation) -> Vec<Option<String>> {
    all_roles(model)
        .into_iter()
        .filter(|role| admits(model, op, role.as_deref()))
        .collect()
}

/// Declared roles an operation refuses, strongest first (empty when it names no roles).
pub(crate) fn weaker_roles(model: &ApiModel, op: &Operation) -> Vec<String> {
    if op.policy.roles.is_empty() {
        return Vec::new();
    }
    model
        .roles
        .roles()
        .iter()
        .filter(|r| !admits(model, op, Some(r)))
        .cloned()
        .collect()
}

fn admits(model: &ApiModel, op: &Operation, role: Option<&str>) -> bool {
    op.policy.roles.is_empty()
        || role.is_some_and(|have| {
            op.policy
                .roles
                .iter()
                .any(|need| model.roles.satisfies(have, need))
        })
}

/// The header of the first apiKey-in-header scheme among `names`.
fn api_key_header<'a>(model: &'a ApiModel, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| match model.scheme(name) {
        Some(SecuritySchemeKind::ApiKey {
            name,
            location: ApiKeyLocation::Header,
        }) => Some(name.as_str()),
        _ => None,
    })
}

impl Credentials {
    /// Claims for tokens meant for `scheme` (its own `x-rampart` audience, issuer and typ first).
    pub(crate) fn claims(&self, model: &ApiModel, scheme: Option<&str>) -> Claims {
        let annotations = scheme.and_then(|s| model.scheme_annotations(s));
        let first = |values: Option<&Vec<rampart_spec::annotations::Spanned<String>>>| {
            values.and_then(|v| v.first()).map(|s| s.value.clone())
        };
        Claims {
            issuer: first(annotations.map(|a| &a.issuer)).unwrap_or_else(|| self.issuer.clone()),
            audience: first(annotations.map(|a| &a.audience))
                .unwrap_or_else(|| self.audience.clone()),
            typ: annotations
                .and_then(|a| a.typ.as_ref())
                .map(|t| t.value.clone()),
            scopes: model
                .schemes
                .iter()
                .flat_map(|(_, kind)| match kind {
                    SecuritySchemeKind::OAuth2 { scopes } => scopes.clone(),
                    _ => Vec::new(),
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            run_id: self.run_id.clone(),
        }
    }

    /// A JWT for `role` through `scheme`: the supplied one, else a minted one.
    fn token(&self, model: &ApiModel, role: Option<&str>, scheme: &str) -> Option<String> {
        let supplied = match role {
            Some(role) => self.tokens.get(role),
            None => self.tokens.values().next(),
        };
        if let Some(token) = supplied {
            return Some(token.clone());
        }
        let secret = self.secret.as_ref()?;
        Some(self.claims(model, Some(scheme)).mint(secret, role))
    }

    fn api_key(&self, role: Option<&str>) -> Option<&String> {
        match role {
            Some(role) => self.api_keys.get(role),
            None => self.api_keys.values().next(),
        }
    }

    /// Headers satisfying one alternative of `op`'s security for `role`, if the audit holds such credentials.
    pub(crate) fn for_role(
        &self,
        model: &ApiModel,
        op: &Operation,
        role: Option<&str>,
    ) -> Option<Cred> {
        self.through(model, op, role, None, false)
    }

    /// [`for_role`](Self::for_role) through the alternatives naming `via`
    /// when given, with a DPoP-bound token for it when `dpop`. Tokens a
    /// scheme requires DPoP for, and one-time tokens, are minted per
    /// request: they need `--jwt-secret`.
    pub(crate) fn through(
        &self,
        model: &ApiModel,
        op: &Operation,
        role: Option<&str>,
        via: Option<&str>,
        dpop: bool,
    ) -> Option<Cred> {
        let dpop_via = via.filter(|_| dpop);
        'alternatives: for alternative in &op.policy.security {
            if let Some(via) = via
                && !alternative.schemes.iter().any(|r| r.scheme == via)
            {
                continue;
            }
            let mut headers: Vec<(String, String)> = Vec::new();
            let mut as_query = None;
            let mut fresh = None;
            for requirement in &alternative.schemes {
                let scheme = requirement.scheme.as_str();
                let (name, value, query) = match model.scheme(scheme) {
                    Some(kind) if kind.is_jwt() => {
                        let dpop = dpop_mode(model, scheme) == DpopMode::Required
                            || dpop_via == Some(scheme);
                        if dpop || one_time(model, op, scheme) {
                            let (Some(secret), Some(signer)) = (&self.secret, &self.dpop) else {
                                continue 'alternatives;
                            };
                            let mint = Mint {
                                claims: self.claims(model, Some(scheme)),
                                secret: secret.clone(),
                                role: role.map(str::to_owned),
                                dpop,
                            };
                            let token = mint.token(dpop.then(|| signer.jkt()));
                            as_query.get_or_insert(("access_token".to_owned(), token));
                            fresh.get_or_insert(mint);
                            continue;
                        }
                        let Some(token) = self.token(model, role, scheme) else {
                            continue 'alternatives;
                        };
                        let query = ("access_token".to_owned(), token.clone());
                        ("authorization".to_owned(), format!("Bearer {token}"), query)
                    }
                    Some(SecuritySchemeKind::ApiKey {
                        name,
                        location: ApiKeyLocation::Header,
                    }) => {
                        let Some(key) = self.api_key(role) else {
                            continue 'alternatives;
                        };
                        let query = ("api_key".to_owned(), key.clone());
                        (name.to_ascii_lowercase(), key.clone(), query)
                    }
                    _ => continue 'alternatives,
                };
                if !headers.iter().any(|(n, _)| *n == name) {
                    headers.push((name, value));
                }
                as_query.get_or_insert(query);
            }
            if let Some(as_query) = as_query {
                if fresh.is_some() {
                    headers.retain(|(n, _)| n != "authorization");
                }
                return Some(Cred {
                    role: role.map(str::to_owned),
                    headers,
                    as_query,
                    fresh,
                });
            }
        }
        None
    }

    /// A credential of the weakest role `op` admits.
    pub(crate) fn sufficient(&self, model: &ApiModel, op: &Operation) -> Option<Cred> {
        sufficient_roles(model, op)
            .iter()
            .rev()
            .find_map(|role| self.for_role(model, op, role.as_deref()))
    }

    /// A credential of the strongest role `op` refuses.
    pub(crate) fn weaker(&self, model: &ApiModel, op: &Operation) -> Option<Cred> {
        weaker_roles(model, op)
            .iter()
            .find_map(|role| self.for_role(model, op, Some(role)))
    }
}

/// A well-formed request for one operation (path parameters, required query
/// and header parameters, a body), without credentials.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shape {
    /// Upper-case method.
    pub(crate) method: String,
    /// The path with parameters filled in (relative to the API base).
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    /// Content type and body.
    pub(crate) body: Option<(String, Vec<u8>)>,
}

/// Percent-encode a path segment (RFC 3986 unreserved characters kept).
fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char);
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn scalar(value: Value) -> String {
    match value {
        Value::String(s) => s,
        Value::Array(items) => items.into_iter().map(scalar).collect::<Vec<_>>().join(","),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The spec with `readOnly` and `writeOnly` swapped on every schema: the
/// synthesizer writes response bodies (no `writeOnly` properties); over the
/// swapped spec it writes request bodies (no `readOnly` properties, and the
/// `writeOnly` ones such as a password included).
pub(crate) fn request_view(spec: &openapiv3::OpenAPI) -> openapiv3::OpenAPI {
    fn swap(value: &mut Value) {
        match value {
            Value::Object(map) => {
                let read = map.remove("readOnly");
                let write = map.remove("writeOnly");
                if let Some(w) = write {
                    map.insert("readOnly".into(), w);
                }
                if let Some(r) = read {
                    map.insert("writeOnly".into(), r);
                }
                map.values_mut().for_each(swap);
            }
            Value::Array(items) => items.iter_mut().for_each(swap),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(spec) else {
        return spec.clone();
    };
    swap(&mut value);
    serde_json::from_value(value).unwrap_or_else(|_| spec.clone())
}

impl Shape {
    /// The request for `op`: the spec's examples where given, else values synthesized from the schemas.
    pub(crate) fn of(model: &ApiModel, request_spec: &openapiv3::OpenAPI, op: &Operation) -> Shape {
        let mut path = op.path.clone();
        let mut query = Vec::new();
        let mut headers = Vec::new();
        for p in &op.parameters {
            let data = p.parameter_data_ref();
            let location = rampart_spec::model::location(p);
            if location != "path" && !data.required {
                continue;
            }
            let value = data
                .example
                .clone()
                .or_else(|| {
                    model
                        .parameter_schema(p)
                        .map(|s| rampart_codegen::mock::synthesize(&model.openapi, s))
                })
                .map_or_else(|| "1".to_owned(), scalar);
            match location {
                "path" => {
                    path = path.replace(&format!("{{{}}}", data.name), &encode_segment(&value));
                }
                "query" => query.push((data.name.clone(), value)),
                "header" => headers.push((data.name.to_ascii_lowercase(), value)),
                _ => {}
            }
        }
        // A template the parameters did not name.
        while let (Some(start), Some(end)) = (path.find('{'), path.find('}')) {
            if end < start {
                break;
            }
            path.replace_range(start..=end, "1");
        }
        let body = op
            .operation
            .request_body
            .as_ref()
            .and_then(|b| rampart_spec::resolve::resolve(&model.openapi, b))
            .and_then(|b| {
                b.content
                    .iter()
                    .find(|(m, _)| m.contains("json"))
                    .or_else(|| b.content.iter().next())
            })
            .map(|(media_type, media)| {
                let value = rampart_codegen::mock::media_example(&model.openapi, media)
                    .or_else(|| {
                        media
                            .schema
                            .as_ref()
                            .map(|s| rampart_codegen::mock::synthesize(request_spec, s))
                    })
                    .unwrap_or(Value::Object(Default::default()));
                let bytes = if media_type.contains("json") {
                    value.to_string().into_bytes()
                } else {
                    scalar(value).into_bytes()
                };
                (media_type.clone(), bytes)
            });
        Shape {
            method: op.method.to_ascii_uppercase(),
            path,
            query,
            headers,
            body,
        }
    }
}

/// What a planned check does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Not probed, and why.
    Skip(String),
    /// One request with these headers (credentials) and, possibly, a query
    /// parameter; and a token minted for the request.
    Send {
        headers: Vec<(String, String)>,
        query: Option<(String, String)>,
        fresh: Option<Mint>,
    },
    /// `count` requests at once with these headers (and a token minted for each).
    Burst {
        headers: Vec<(String, String)>,
        count: u32,
        fresh: Option<Mint>,
    },
    /// The requests of a DPoP or one-time token check, with tokens (and
    /// proofs) minted for them when they are sent, beside these headers.
    Minted {
        headers: Vec<(String, String)>,
        mint: Mint,
    },
    /// Judged on the answers of this operation's other probes.
    Inspect,
}

/// One check of one operation, planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub(crate) check: Check,
    pub(crate) action: Action,
}

/// Where to look for credentials, said in a skip reason.
fn hint(model: &ApiModel, op: &Operation, roles: &[Option<String>]) -> String {
    let schemes = op.policy.schemes();
    let jwt = schemes
        .iter()
        .any(|s| model.scheme(s).is_some_and(SecuritySchemeKind::is_jwt));
    let key = api_key_header(model, &schemes).is_some();
    let names: Vec<&str> = roles.iter().filter_map(|r| r.as_deref()).collect();
    let role = if names.is_empty() {
        "ROLE".to_owned()
    } else {
        names.join("|")
    };
    // DPoP-bound and one-time tokens are minted per request: a supplied token will not do.
    let minted_only = schemes
        .iter()
        .filter(|s| model.scheme(s).is_some_and(SecuritySchemeKind::is_jwt))
        .all(|s| dpop_mode(model, s) == DpopMode::Required || one_time(model, op, s));
    let mut ways = Vec::new();
    if jwt && !minted_only {
        ways.push(format!("--token-for {role}=TOKEN"));
    }
    if key {
        ways.push(format!("--api-key-for {role}=KEY"));
    }
    if jwt && minted_only {
        ways.push(
            "--jwt-secret (DPoP-bound and one-time tokens are minted per request)".to_owned(),
        );
    } else if jwt {
        ways.push("--jwt-secret".to_owned());
    }
    if ways.is_empty() {
        return "the operation's security schemes are not ones the audit can present (JWT bearer, apiKey header)".into();
    }
    format!("pass {}", ways.join(" or "))
}

/// The checks that apply to `op`, in the order they are reported.
pub(crate) fn plan_operation(
    model: &ApiModel,
    op: &Operation,
    creds: &Credentials,
    https: bool,
) -> Vec<Planned> {
    let mut plan = Vec::new();
    let mut add = |check, action| plan.push(Planned { check, action });
    let secured = op.policy.requires_auth();
    let sufficient = if secured {
        creds.sufficient(model, op)
    } else {
        Some(Cred {
            role: None,
            headers: Vec::new(),
            as_query: (String::new(), String::new()),
            fresh: None,
        })
    };
    let no_sufficient = || {
        Action::Skip(format!(
            "no credential of a role the operation admits: {}",
            hint(model, op, &sufficient_roles(model, op))
        ))
    };

    if secured {
        add(
            Check::NoCredentials,
            Action::Send {
                headers: Vec::new(),
                query: None,
                fresh: None,
            },
        );
    }
    add(
        Check::Accepted,
        match &sufficient {
            Some(cred) => Action::Send {
                headers: cred.headers.clone(),
                query: None,
                fresh: cred.fresh.clone(),
            },
            None => no_sufficient(),
        },
    );
    let weaker = weaker_roles(model, op);
    if !weaker.is_empty() {
        add(
            Check::WeakerRole,
            match creds.weaker(model, op) {
                Some(cred) => Action::Send {
                    headers: cred.headers,
                    query: None,
                    fresh: cred.fresh,
                },
                None => Action::Skip(format!(
                    "no credential of a weaker role: {}",
                    hint(
                        model,
                        op,
                        &weaker.iter().cloned().map(Some).collect::<Vec<_>>()
                    )
                )),
            },
        );
    }
    if secured {
        add(
            Check::QueryCredentials,
            match &sufficient {
                Some(cred) => Action::Send {
                    headers: Vec::new(),
                    query: Some(cred.as_query.clone()),
                    fresh: None,
                },
                None => no_sufficient(),
            },
        );
    }
    add(Check::SecurityHeaders, Action::Inspect);
    if https {
        add(Check::Hsts, Action::Inspect);
    }
    if secured {
        add(
            Check::NoStore,
            if sufficient.is_some() {
                Action::Inspect
            } else {
                no_sufficient()
            },
        );
    }
    if op.policy.deprecation.is_some() {
        add(
            Check::Deprecation,
            if sufficient.is_some() {
                Action::Inspect
            } else {
                no_sufficient()
            },
        );
    }
    if let Some(rate) = op.policy.rate {
        let count = rate.count + rate.capacity() + 1;
        add(
            Check::RateLimit,
            if rate.count > CHEAP_QUOTA || rate.capacity() > CHEAP_QUOTA {
                Action::Skip(format!(
                    "quota {rate} (bucket of {}) is too large to trip cheaply; only quotas of at most {CHEAP_QUOTA} are probed",
                    rate.capacity()
                ))
            } else {
                match &sufficient {
                    Some(cred) => Action::Burst {
                        headers: cred.headers.clone(),
                        count,
                        fresh: cred.fresh.clone(),
                    },
                    None => no_sufficient(),
                }
            },
        );
    }
    if secured {
        let schemes = op.policy.schemes();
        let jwt_scheme = schemes
            .iter()
            .copied()
            .find(|s| model.scheme(s).is_some_and(SecuritySchemeKind::is_jwt));
        if let Some(scheme) = jwt_scheme {
            // The strongest role: were the signature ignored, the token would get in.
            let strongest = all_roles(model).into_iter().next().flatten();
            let claims = creds.claims(model, Some(scheme));
            let supplied = strongest
                .as_deref()
                .and_then(|r| creds.tokens.get(r))
                .or_else(|| creds.tokens.values().next());
            let bearer = |token: String| Action::Send {
                headers: vec![("authorization".into(), format!("Bearer {token}"))],
                query: None,
                fresh: None,
            };
            let bad = supplied
                .and_then(|t| token::corrupt_signature(t))
                .unwrap_or_else(|| claims.mint_bad_signature(strongest.as_deref()));
            add(Check::BadSignature, bearer(bad));
            add(
                Check::ExpiredToken,
                match &creds.secret {
                    Some(secret) => bearer(claims.mint_expired(secret, strongest.as_deref())),
                    None => Action::Skip(
                        "signing an expired token needs the server's HS256 secret: pass --jwt-secret"
                            .into(),
                    ),
                },
            );
            let none = supplied
                .and_then(|t| token::alg_none_of(t))
                .unwrap_or_else(|| claims.mint_alg_none(strongest.as_deref()));
            add(Check::AlgNone, bearer(none));
        }
        if let Some(header) = api_key_header(model, &schemes) {
            add(
                Check::BadApiKey,
                Action::Send {
                    headers: vec![(header.to_ascii_lowercase(), token::unknown_api_key())],
                    query: None,
                    fresh: None,
                },
            );
        }
        plan_replay(model, op, creds, &mut add);
    }
    plan
}

/// The DPoP checks (for an operation whose scheme requires or allows DPoP)
/// and the one-time token check (`replay: reject` on the operation or its
/// scheme). Tokens are minted with `--jwt-secret`: a supplied token can be
/// neither bound to the audit's key nor trusted to be unused.
fn plan_replay(
    model: &ApiModel,
    op: &Operation,
    creds: &Credentials,
    add: &mut impl FnMut(Check, Action),
) {
    let roles = sufficient_roles(model, op);
    let minted = |via: &str, dpop: bool| -> Action {
        if creds.secret.is_none() {
            return Action::Skip(format!(
                "{} tokens are minted by the audit with the server's HS256 secret: pass --jwt-secret",
                if dpop { "DPoP-bound" } else { "one-time" }
            ));
        }
        if dpop && creds.dpop.is_none() {
            return Action::Skip("the audit has no DPoP key pair".into());
        }
        let cred = roles
            .iter()
            .rev()
            .find_map(|role| creds.through(model, op, role.as_deref(), Some(via), dpop));
        match cred {
            Some(Cred {
                headers,
                fresh: Some(mint),
                ..
            }) => Action::Minted { headers, mint },
            _ => Action::Skip(format!(
                "no credential of a role the operation admits through `{via}`: {}",
                hint(model, op, &roles)
            )),
        }
    };
    if let Some(scheme) = dpop_scheme(model, op) {
        let action = minted(scheme, true);
        for check in [
            Check::DpopAccepted,
            Check::DpopReplayedProof,
            Check::DpopWrongTarget,
            Check::DpopBoundAsBearer,
        ] {
            add(check, action.clone());
        }
    }
    if let Some(scheme) = one_time_scheme(model, op) {
        add(Check::ReusedJti, minted(scheme, false));
    }
}

/// Whether the API's CORS policy admits every origin (then a foreign origin may be answered).
pub(crate) fn cors_admits_any(model: &ApiModel) -> bool {
    model
        .annotations
        .cors
        .as_ref()
        .is_some_and(|c| c.value.origins == CorsOrigins::Any)
}

// ---------------------------------------------------------------------------
// Judging answers

/// An answer: its status and headers (the body is read and dropped).
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
}

/// The judgement of one probe: pass or fail, and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Judged {
    pub(crate) pass: bool,
    pub(crate) expected: String,
    pub(crate) got: String,
}

fn judged(pass: bool, expected: impl Into<String>, got: impl Into<String>) -> Judged {
    Judged {
        pass,
        expected: expected.into(),
        got: got.into(),
    }
}

fn header<'a>(o: &'a Observed, name: &str) -> Option<&'a str> {
    o.headers.get(name).and_then(|v| v.to_str().ok())
}

/// `401` with `WWW-Authenticate`.
pub(crate) fn judge_no_credentials(o: &Observed) -> Judged {
    let expected = "401 with WWW-Authenticate";
    match (o.status, o.headers.contains_key("www-authenticate")) {
        (401, true) => judged(true, expected, "401 with WWW-Authenticate"),
        (401, false) => judged(false, expected, "401 without WWW-Authenticate"),
        (status, _) => judged(false, expected, status.to_string()),
    }
}

/// An invalid credential: 401, or 429 while the client is locked out after earlier failures.
pub(crate) fn judge_invalid_credential(o: &Observed) -> Judged {
    judged(
        matches!(o.status, 401 | 429),
        "401 (or 429 once the client is locked out)",
        o.status.to_string(),
    )
}

/// Whether `o` carries a `WWW-Authenticate: DPoP ...` challenge (RFC 9449 §7.1).
fn dpop_challenge(o: &Observed) -> bool {
    o.headers.get_all("www-authenticate").iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            let scheme = v.trim_start().split([' ', ',']).next().unwrap_or("");
            scheme.eq_ignore_ascii_case("DPoP")
        })
    })
}

/// A refused DPoP request: 401 with a `DPoP` challenge, or 429 once the client is locked out.
fn dpop_refused(o: &Observed) -> Result<(), String> {
    match o.status {
        429 => Ok(()),
        401 if dpop_challenge(o) => Ok(()),
        401 => Err("401 without a DPoP challenge".to_owned()),
        status => Err(status.to_string()),
    }
}

/// The second use of a DPoP proof (`dpop`) or of a one-time token: the first
/// use admitted, the second refused.
pub(crate) fn judge_second_use(first: &Observed, second: &Observed, dpop: bool) -> Judged {
    let expected = if dpop {
        "the first use admitted, the replay 401 with a DPoP challenge (or 429 once the client is locked out)"
    } else {
        "the first use admitted, the second 401 (or 429 once the client is locked out)"
    };
    let admitted = judge_accepted(first, None, 0);
    if !admitted.pass {
        return judged(
            false,
            expected,
            format!("the first use got {}", admitted.got),
        );
    }
    let refused = if dpop {
        dpop_refused(second)
    } else if matches!(second.status, 401 | 429) {
        Ok(())
    } else {
        Err(second.status.to_string())
    };
    match refused {
        Ok(()) => judged(
            true,
            expected,
            format!("{} then {}", first.status, second.status),
        ),
        Err(got) => judged(
            false,
            expected,
            format!(
                "{} then {got} (the second use was not refused)",
                first.status
            ),
        ),
    }
}

/// Mis-targeted DPoP proofs, `(label, answer)`: each 401 with a DPoP challenge (or 429).
pub(crate) fn judge_dpop_refusals(answers: &[(&str, &Observed)]) -> Judged {
    let expected = "401 with a DPoP challenge (or 429 once the client is locked out) for each";
    let problems: Vec<String> = answers
        .iter()
        .filter_map(|(label, o)| {
            dpop_refused(o)
                .err()
                .map(|got| format!("{got} for {label}"))
        })
        .collect();
    if problems.is_empty() {
        let statuses: Vec<String> = answers.iter().map(|(_, o)| o.status.to_string()).collect();
        judged(true, expected, statuses.join(", "))
    } else {
        judged(false, expected, problems.join("; "))
    }
}

/// A credential in the query string: 400 (refused as such) or 401 (ignored).
pub(crate) fn judge_query_credentials(o: &Observed) -> Judged {
    judged(
        matches!(o.status, 400 | 401),
        "400 or 401",
        o.status.to_string(),
    )
}

/// A weaker role: 403.
pub(crate) fn judge_weaker_role(o: &Observed) -> Judged {
    judged(o.status == 403, "403", o.status.to_string())
}

/// Whether `deprecation`'s sunset has passed at `now`.
fn past_sunset(deprecation: Option<&Deprecation>, now: i64) -> bool {
    deprecation
        .and_then(|d| d.sunset)
        .is_some_and(|sunset| now >= sunset)
}

/// A credential that should get in: anything but a refusal, a missing route or an invalid request.
pub(crate) fn judge_accepted(o: &Observed, deprecation: Option<&Deprecation>, now: i64) -> Judged {
    if past_sunset(deprecation, now) {
        return judged(
            o.status == 410,
            "410 (past the sunset)",
            o.status.to_string(),
        );
    }
    let got = match o.status {
        401 | 403 => format!("{} (the credential was refused)", o.status),
        404 | 405 => format!("{} (no such route)", o.status),
        400 | 413 | 415 | 422 => {
            format!("{} (the audit's request was refused as invalid)", o.status)
        }
        429 => "429 (over quota, or this client is locked out after failed attempts)".to_owned(),
        status => status.to_string(),
    };
    judged(
        o.status < 400 || o.status == 501,
        "2xx (or 501 from a server without handlers)",
        got,
    )
}

/// Whether a CSP sets `frame-ancestors`.
fn csp_frames(o: &Observed) -> bool {
    header(o, "content-security-policy").is_some_and(|v| v.contains("frame-ancestors"))
}

/// Security headers on every answer given: `(label, answer)`.
pub(crate) fn judge_security_headers(answers: &[(&str, &Observed)]) -> Judged {
    let expected = "X-Content-Type-Options: nosniff, Content-Security-Policy, X-Frame-Options or CSP frame-ancestors, Referrer-Policy";
    // Answers lacking the same headers are reported together.
    let mut problems: Vec<(Vec<&str>, Vec<String>)> = Vec::new();
    for (label, o) in answers {
        let mut missing = Vec::new();
        if !header(o, "x-content-type-options").is_some_and(|v| v.eq_ignore_ascii_case("nosniff")) {
            missing.push("X-Content-Type-Options: nosniff");
        }
        if !o.headers.contains_key("content-security-policy") {
            missing.push("Content-Security-Policy");
        }
        if !o.headers.contains_key("x-frame-options") && !csp_frames(o) {
            missing.push("X-Frame-Options");
        }
        if !o.headers.contains_key("referrer-policy") {
            missing.push("Referrer-Policy");
        }
        if missing.is_empty() {
            continue;
        }
        let answer = format!("{label} ({})", o.status);
        match problems.iter_mut().find(|(m, _)| *m == missing) {
            Some((_, labels)) => labels.push(answer),
            None => problems.push((missing, vec![answer])),
        }
    }
    if problems.is_empty() {
        judged(
            true,
            expected,
            format!("all on {} answer(s)", answers.len()),
        )
    } else {
        let got = problems
            .iter()
            .map(|(missing, labels)| format!("no {} on {}", missing.join(", "), labels.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        judged(false, expected, got)
    }
}

/// `Strict-Transport-Security` with `max-age` of at least a year.
pub(crate) fn judge_hsts(answers: &[(&str, &Observed)]) -> Judged {
    let expected = "Strict-Transport-Security with max-age >= 31536000";
    for (label, o) in answers {
        let max_age = header(o, "strict-transport-security").map(|v| {
            v.split(';')
                .filter_map(|d| d.trim().strip_prefix("max-age="))
                .find_map(|n| n.trim_matches('"').parse::<u64>().ok())
                .unwrap_or(0)
        });
        match max_age {
            None => {
                return judged(
                    false,
                    expected,
                    format!("{label} ({}) without it", o.status),
                );
            }
            Some(age) if age < 31_536_000 => {
                return judged(false, expected, format!("{label}: max-age={age}"));
            }
            Some(_) => {}
        }
    }
    judged(true, expected, "present")
}

/// `Cache-Control: no-store`.
pub(crate) fn judge_no_store(o: &Observed) -> Judged {
    let value = header(o, "cache-control");
    let pass = value.is_some_and(|v| {
        v.split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
    });
    judged(
        pass,
        "Cache-Control: no-store",
        match value {
            Some(v) => format!("Cache-Control: {v}"),
            None => "no Cache-Control".into(),
        },
    )
}

/// Whether a `Link` target matches the successor, `{templates}` matching any segment.
fn successor_matches(target: &str, successor: &str) -> bool {
    if target == successor {
        return true;
    }
    let mut rest = target;
    let mut pattern = successor;
    while let Some(open) = pattern.find('{') {
        let Some(close) = pattern[open..].find('}').map(|c| open + c) else {
            return false;
        };
        let Some(after) = rest.strip_prefix(&pattern[..open]) else {
            return false;
        };
        let segment_end = after.find('/').unwrap_or(after.len());
        if segment_end == 0 {
            return false;
        }
        rest = &after[segment_end..];
        pattern = &pattern[close + 1..];
    }
    rest == pattern
}

/// The deprecation headers the spec promises (and 410 after the sunset).
pub(crate) fn judge_deprecation(o: &Observed, deprecation: &Deprecation, now: i64) -> Judged {
    let mut expected = vec![match deprecation.since {
        Some(since) => format!("Deprecation: @{since}"),
        None => "Deprecation: @<time>".to_owned(),
    }];
    let mut problems = Vec::new();
    if past_sunset(Some(deprecation), now) && o.status != 410 {
        problems.push(format!(
            "status {} after the sunset (expected 410)",
            o.status
        ));
    }
    match header(o, "deprecation") {
        None => problems.push("no Deprecation".into()),
        Some(v) => {
            let ok = match deprecation.since {
                Some(since) => v.trim() == format!("@{since}"),
                None => v
                    .trim()
                    .strip_prefix('@')
                    .is_some_and(|n| n.parse::<i64>().is_ok()),
            };
            if !ok {
                problems.push(format!("Deprecation: {v}"));
            }
        }
    }
    if let Some(sunset) = deprecation.sunset {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(sunset.max(0) as u64);
        let want = httpdate::fmt_http_date(at);
        expected.push(format!("Sunset: {want}"));
        match header(o, "sunset") {
            None => problems.push("no Sunset".into()),
            Some(v) => {
                if httpdate::parse_http_date(v).ok() != Some(at) {
                    problems.push(format!("Sunset: {v}"));
                }
            }
        }
    }
    if let Some(successor) = &deprecation.successor {
        expected.push(format!("Link: <{successor}>; rel=\"successor-version\""));
        let links: Vec<&str> = o
            .headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let found = links.iter().any(|link| {
            let mut parts = link.split(';');
            let target = parts
                .next()
                .map(|t| t.trim().trim_start_matches('<').trim_end_matches('>'))
                .unwrap_or("");
            let rel = parts.any(|p| {
                let p = p.trim();
                p == "rel=\"successor-version\"" || p == "rel=successor-version"
            });
            rel && successor_matches(target, successor)
        });
        if !found {
            problems.push(if links.is_empty() {
                "no Link".to_owned()
            } else {
                format!("Link: {}", links.join(","))
            });
        }
    }
    let expected = expected.join(", ");
    if problems.is_empty() {
        judged(true, expected, "as promised")
    } else {
        judged(false, expected, problems.join(", "))
    }
}

/// No `Access-Control-Allow-Origin` on answers to a foreign origin.
pub(crate) fn judge_cors(answers: &[(&str, &Observed)]) -> Judged {
    let expected = format!("no Access-Control-Allow-Origin for {FOREIGN_ORIGIN}");
    for (label, o) in answers {
        if let Some(v) = header(o, "access-control-allow-origin") {
            return judged(
                false,
                expected,
                format!(
                    "{label} ({}) with Access-Control-Allow-Origin: {v}",
                    o.status
                ),
            );
        }
    }
    judged(
        true,
        expected,
        format!("none on {} answer(s)", answers.len()),
    )
}

/// A burst: some 429 with `Retry-After`, and no refusal of the credential.
pub(crate) fn judge_rate_limit(answers: &[Observed]) -> Judged {
    let expected = format!("429 with Retry-After within {} requests", answers.len());
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for o in answers {
        *counts.entry(o.status).or_default() += 1;
    }
    let statuses = counts
        .iter()
        .map(|(s, n)| format!("{s}×{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let limited: Vec<&Observed> = answers.iter().filter(|o| o.status == 429).collect();
    if let Some(refused) = answers.iter().find(|o| matches!(o.status, 401 | 403)) {
        return judged(
            false,
            expected,
            format!(
                "{} (the credential was refused; statuses {statuses})",
                refused.status
            ),
        );
    }
    if limited.is_empty() {
        return judged(false, expected, format!("no 429 (statuses {statuses})"));
    }
    if limited
        .iter()
        .any(|o| !o.headers.contains_key("retry-after"))
    {
        return judged(false, expected, "429 without Retry-After");
    }
    judged(true, expected, format!("statuses {statuses}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    fn petstore() -> ApiModel {
        let spec =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/petstore.yaml");
        rampart_spec::load_file(&spec).into_result().unwrap().0
    }

    fn creds() -> Credentials {
        Credentials {
            issuer: token::DEV_ISSUER.into(),
            audience: "petstore".into(),
            run_id: "t".into(),
            ..Credentials::default()
        }
    }

    fn checks(plan: &[Planned]) -> Vec<&'static str> {
        plan.iter().map(|p| p.check.id()).collect()
    }

    fn action(plan: &[Planned], check: Check) -> &Action {
        &plan.iter().find(|p| p.check == check).unwrap().action
    }

    #[test]
    fn roles_weaker_and_sufficient_follow_the_hierarchy() {
        let model = petstore();
        let op = |id| model.operation(id).unwrap();
        assert!(weaker_roles(&model, op("listPets")).is_empty());
        assert_eq!(weaker_roles(&model, op("createPet")), ["viewer"]);
        assert_eq!(weaker_roles(&model, op("deletePet")), ["editor", "viewer"]);
        assert_eq!(
            sufficient_roles(&model, op("createPet")),
            [Some("admin".to_owned()), Some("editor".to_owned())]
        );
    }

    #[test]
    fn plans_without_credentials_skip_what_needs_them() {
        let model = petstore();
        let creds = creds();
        let plan = |id| plan_operation(&model, model.operation(id).unwrap(), &creds, false);

        let health = plan("getHealth");
        assert_eq!(
            checks(&health),
            ["accepted", "security-headers", "rate-limit"]
        );
        assert!(
            matches!(action(&health, Check::RateLimit), Action::Burst { count: 21, headers, fresh: None } if headers.is_empty())
        );

        let list = plan("listPets");
        assert_eq!(
            checks(&list),
            [
                "no-credentials",
                "accepted",
                "query-credentials",
                "security-headers",
                "no-store",
                "rate-limit",
                "bad-signature",
                "expired-token",
                "alg-none",
                "bad-api-key"
            ]
        );
        assert!(matches!(action(&list, Check::Accepted), Action::Skip(_)));
        assert!(
            matches!(action(&list, Check::ExpiredToken), Action::Skip(r) if r.contains("--jwt-secret"))
        );
        // 100/15min is not tripped.
        assert!(
            matches!(action(&list, Check::RateLimit), Action::Skip(r) if r.contains("100/15min"))
        );
        // Refusals need no credential of ours.
        assert!(matches!(
            action(&list, Check::BadSignature),
            Action::Send { .. }
        ));
        assert!(matches!(action(&list, Check::AlgNone), Action::Send { .. }));

        let delete = plan("deletePet");
        assert!(checks(&delete).contains(&"weaker-role"));
        assert!(checks(&delete).contains(&"deprecation"));
        assert!(
            !checks(&delete).contains(&"bad-api-key"),
            "deletePet takes no API key"
        );
        let owners = plan("registerOwner");
        assert!(
            !checks(&owners).contains(&"bad-signature"),
            "registerOwner takes no JWT"
        );
        assert!(checks(&owners).contains(&"bad-api-key"));
        assert!(!checks(&plan("getPet")).contains(&"hsts"));
        assert!(
            checks(&plan_operation(
                &model,
                model.operation("getPet").unwrap(),
                &creds,
                true
            ))
            .contains(&"hsts")
        );
    }

    #[test]
    fn supplied_tokens_and_keys_are_used_by_role() {
        let model = petstore();
        let mut creds = creds();
        creds.tokens.insert("viewer".into(), "vvv.www.xxx".into());
        creds.tokens.insert("editor".into(), "eee.fff.ggg".into());
        creds.api_keys.insert("viewer".into(), "rk_viewer".into());
        let plan = |id| plan_operation(&model, model.operation(id).unwrap(), &creds, false);

        let create = plan("createPet");
        assert_eq!(
            action(&create, Check::Accepted),
            &Action::Send {
                headers: vec![("authorization".into(), "Bearer eee.fff.ggg".into())],
                query: None,
                fresh: None,
            }
        );
        assert_eq!(
            action(&create, Check::WeakerRole),
            &Action::Send {
                headers: vec![("authorization".into(), "Bearer vvv.www.xxx".into())],
                query: None,
                fresh: None,
            }
        );
        assert_eq!(
            action(&create, Check::QueryCredentials),
            &Action::Send {
                headers: vec![],
                query: Some(("access_token".into(), "eee.fff.ggg".into())),
                fresh: None,
            }
        );
        assert!(matches!(
            action(&create, Check::RateLimit),
            Action::Burst { count: 26, .. }
        ));

        // deletePet needs admin: no credential, but a weaker one (editor) exists.
        let delete = plan("deletePet");
        assert!(matches!(action(&delete, Check::Accepted), Action::Skip(_)));
        assert!(matches!(
            action(&delete, Check::Deprecation),
            Action::Skip(_)
        ));
        assert!(
            matches!(action(&delete, Check::WeakerRole), Action::Send { headers, .. } if headers[0].1 == "Bearer eee.fff.ggg")
        );

        // registerOwner takes API keys only: the viewer key is a weaker role.
        let owners = plan("registerOwner");
        assert!(
            matches!(action(&owners, Check::WeakerRole), Action::Send { headers, .. } if headers == &[("x-api-key".to_owned(), "rk_viewer".to_owned())])
        );
        assert!(
            matches!(action(&owners, Check::Accepted), Action::Skip(r) if r.ends_with("pass --api-key-for admin=KEY")),
            "{:?}",
            action(&owners, Check::Accepted)
        );
    }

    #[test]
    fn a_secret_mints_every_role() {
        let model = petstore();
        let mut creds = creds();
        creds.secret = Some(b"0123456789abcdef0123456789abcdef".to_vec());
        let op = model.operation("deletePet").unwrap();
        let plan = plan_operation(&model, op, &creds, false);
        assert!(
            plan.iter().all(|p| !matches!(p.action, Action::Skip(_))),
            "{plan:?}"
        );
        let admin = creds.sufficient(&model, op).unwrap();
        assert_eq!(admin.role.as_deref(), Some("admin"));
        let editor = creds.weaker(&model, op).unwrap();
        assert_eq!(editor.role.as_deref(), Some("editor"));
        // The oauth2 scheme's own audience is used for tokens minted for it.
        assert_eq!(
            creds.claims(&model, Some("oauth2")).audience,
            "petstore-oauth"
        );
        assert_eq!(
            creds.claims(&model, Some("bearerAuth")).audience,
            "petstore"
        );
    }

    #[test]
    fn requests_are_well_formed() {
        let model = petstore();
        let view = request_view(&model.openapi);
        let get = Shape::of(&model, &view, model.operation("getPet").unwrap());
        assert_eq!(get.method, "GET");
        let id = get.path.strip_prefix("/pets/").unwrap();
        assert_eq!(id.len(), 36, "{id}");
        assert!(get.body.is_none());

        let owner = Shape::of(&model, &view, model.operation("registerOwner").unwrap());
        let (media, body) = owner.body.unwrap();
        assert_eq!(media, "application/json");
        let body: Value = serde_json::from_slice(&body).unwrap();
        // writeOnly (password) included, readOnly (id) left out.
        assert!(
            body["password"].as_str().is_some_and(|p| p.len() >= 12),
            "{body}"
        );
        assert!(body.get("id").is_none(), "{body}");
        assert!(body["email"].is_string() && body["displayName"].is_string());

        let pet = Shape::of(&model, &view, model.operation("createPet").unwrap());
        let body: Value = serde_json::from_slice(&pet.body.unwrap().1).unwrap();
        assert!(
            body.get("id").is_none() && body["name"].is_string(),
            "{body}"
        );
    }

    fn observed(status: u16, headers: &[(&'static str, &'static str)]) -> Observed {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(*k, HeaderValue::from_static(v));
        }
        Observed {
            status,
            headers: map,
        }
    }

    #[test]
    fn refusals_are_judged_by_their_exact_status() {
        assert!(judge_no_credentials(&observed(401, &[("www-authenticate", "Bearer")])).pass);
        assert!(!judge_no_credentials(&observed(401, &[])).pass);
        assert!(!judge_no_credentials(&observed(404, &[])).pass);
        assert!(!judge_no_credentials(&observed(200, &[])).pass);
        assert!(judge_invalid_credential(&observed(401, &[])).pass);
        assert!(judge_invalid_credential(&observed(429, &[])).pass);
        assert!(!judge_invalid_credential(&observed(400, &[])).pass);
        assert!(!judge_invalid_credential(&observed(200, &[])).pass);
        assert!(judge_weaker_role(&observed(403, &[])).pass);
        assert!(!judge_weaker_role(&observed(401, &[])).pass);
        assert!(judge_query_credentials(&observed(400, &[])).pass);
        assert!(!judge_query_credentials(&observed(200, &[])).pass);
        assert!(judge_accepted(&observed(201, &[]), None, 0).pass);
        assert!(judge_accepted(&observed(501, &[]), None, 0).pass);
        assert!(!judge_accepted(&observed(422, &[]), None, 0).pass);
        assert!(!judge_accepted(&observed(404, &[]), None, 0).pass);
    }

    #[test]
    fn headers_are_judged() {
        let full = observed(
            200,
            &[
                ("x-content-type-options", "nosniff"),
                (
                    "content-security-policy",
                    "default-src 'none'; frame-ancestors 'none'",
                ),
                ("referrer-policy", "no-referrer"),
                ("cache-control", "private, no-store"),
                (
                    "strict-transport-security",
                    "max-age=31536000; includeSubDomains",
                ),
            ],
        );
        assert!(judge_security_headers(&[("answer", &full)]).pass);
        assert!(judge_no_store(&full).pass);
        assert!(judge_hsts(&[("answer", &full)]).pass);
        let bare = observed(200, &[("cache-control", "no-cache")]);
        let j = judge_security_headers(&[("answer", &full), ("refusal", &bare)]);
        assert!(!j.pass);
        assert_eq!(
            j.got,
            "no X-Content-Type-Options: nosniff, Content-Security-Policy, X-Frame-Options, Referrer-Policy on refusal (200)"
        );
        let j = judge_security_headers(&[("a", &bare), ("b", &bare)]);
        assert!(j.got.ends_with(" on a (200), b (200)"), "{}", j.got);
        assert!(!judge_no_store(&bare).pass);
        assert!(!judge_hsts(&[("answer", &bare)]).pass);
        let short = observed(200, &[("strict-transport-security", "max-age=600")]);
        assert!(!judge_hsts(&[("answer", &short)]).pass);

        assert!(judge_cors(&[("preflight", &bare)]).pass);
        let open = observed(
            204,
            &[("access-control-allow-origin", "https://audit.invalid")],
        );
        assert!(!judge_cors(&[("preflight", &bare), ("request", &open)]).pass);
    }

    #[test]
    fn deprecation_headers_are_judged_against_the_spec() {
        let dep = Deprecation {
            since: Some(1_767_225_600),
            sunset: Some(1_811_808_000),
            successor: Some("/v2/pets/{petId}".into()),
        };
        let good = observed(
            204,
            &[
                ("deprecation", "@1767225600"),
                ("sunset", "Tue, 01 Jun 2027 00:00:00 GMT"),
                ("link", "</v2/pets/{petId}>; rel=\"successor-version\""),
            ],
        );
        let now = 1_780_000_000;
        assert!(
            judge_deprecation(&good, &dep, now).pass,
            "{:?}",
            judge_deprecation(&good, &dep, now)
        );
        let expanded = observed(
            204,
            &[
                ("deprecation", "@1767225600"),
                ("sunset", "Tue, 01 Jun 2027 00:00:00 GMT"),
                (
                    "link",
                    "<https://x.example/a>; rel=\"alternate\", </v2/pets/7>; rel=successor-version",
                ),
            ],
        );
        assert!(judge_deprecation(&expanded, &dep, now).pass);
        let missing = observed(204, &[("deprecation", "@1767225600")]);
        let j = judge_deprecation(&missing, &dep, now);
        assert!(
            !j.pass && j.got.contains("no Sunset") && j.got.contains("no Link"),
            "{j:?}"
        );
        // After the sunset: 410.
        assert!(!judge_deprecation(&good, &dep, 1_811_808_001).pass);
        assert!(judge_accepted(&observed(410, &[]), Some(&dep), 1_811_808_001).pass);
        assert!(successor_matches("/v2/pets/abc", "/v2/pets/{petId}"));
        assert!(!successor_matches("/v3/pets/abc", "/v2/pets/{petId}"));
    }

    const DPOP_SPEC: &str = r#"
openapi: 3.0.3
info: { title: DPoP plan, version: "1" }
components:
  securitySchemes:
    dpopAuth: { type: http, scheme: dpop, bearerFormat: JWT }
    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
      x-rampart: { dpop: allowed }
    onceAuth:
      type: http
      scheme: bearer
      x-rampart: { replay: reject }
paths:
  /dpop:
    get:
      operationId: getDpop
      security: [ { dpopAuth: [] } ]
      responses: { "200": { description: ok } }
  /mixed:
    get:
      operationId: getMixed
      security: [ { bearerAuth: [] } ]
      responses: { "200": { description: ok } }
  /once:
    post:
      operationId: once
      security: [ { bearerAuth: [] } ]
      x-rampart: { replay: reject }
      responses: { "200": { description: ok } }
  /ticket:
    get:
      operationId: ticket
      security: [ { onceAuth: [] } ]
      responses: { "200": { description: ok } }
"#;

    fn dpop_model() -> ApiModel {
        let loaded = rampart_spec::load_str("dpop.yaml", DPOP_SPEC.to_owned());
        assert!(!loaded.has_errors(), "{}", loaded.render());
        loaded.model.unwrap()
    }

    #[test]
    fn dpop_and_one_time_checks_are_planned_and_need_the_secret() {
        let model = dpop_model();
        let op = |id| model.operation(id).unwrap();
        assert_eq!(dpop_scheme(&model, op("getDpop")), Some("dpopAuth"));
        assert_eq!(dpop_scheme(&model, op("getMixed")), Some("bearerAuth"));
        assert_eq!(one_time_scheme(&model, op("getMixed")), None);
        assert_eq!(one_time_scheme(&model, op("once")), Some("bearerAuth"));
        assert_eq!(one_time_scheme(&model, op("ticket")), Some("onceAuth"));

        // Without --jwt-secret: planned, skipped.
        let bare = creds();
        let plan = plan_operation(&model, op("getDpop"), &bare, false);
        let ids = checks(&plan);
        for id in [
            "dpop-accepted",
            "dpop-replayed-proof",
            "dpop-wrong-target",
            "dpop-bound-as-bearer",
        ] {
            assert!(ids.contains(&id), "{ids:?}");
        }
        assert!(!ids.contains(&"reused-jti"), "{ids:?}");
        assert!(
            matches!(action(&plan, Check::DpopReplayedProof), Action::Skip(r) if r.contains("--jwt-secret"))
        );
        // A DPoP-only scheme cannot be called with a bearer token of ours.
        assert!(
            matches!(action(&plan, Check::Accepted), Action::Skip(r) if r.ends_with("pass --jwt-secret (DPoP-bound and one-time tokens are minted per request)")),
            "{:?}",
            action(&plan, Check::Accepted)
        );
        let plan = plan_operation(&model, op("ticket"), &bare, false);
        assert!(!checks(&plan).contains(&"dpop-accepted"));
        assert!(
            matches!(action(&plan, Check::ReusedJti), Action::Skip(r) if r.contains("one-time"))
        );

        let mut creds = creds();
        creds.secret = Some(b"0123456789abcdef0123456789abcdef".to_vec());
        creds.dpop = Some(Arc::new(token::new_dpop_key().unwrap().1));
        // DPoP required: every credentialed probe mints a bound token per request.
        let plan = plan_operation(&model, op("getDpop"), &creds, false);
        assert!(
            plan.iter().all(|p| !matches!(p.action, Action::Skip(_))),
            "{plan:?}"
        );
        assert!(
            matches!(action(&plan, Check::Accepted), Action::Send { headers, fresh: Some(m), .. } if headers.is_empty() && m.dpop)
        );
        assert!(
            matches!(action(&plan, Check::DpopWrongTarget), Action::Minted { mint, .. } if mint.dpop)
        );
        // DPoP allowed: the usual probes use Bearer, the DPoP ones DPoP.
        let plan = plan_operation(&model, op("getMixed"), &creds, false);
        assert!(
            matches!(action(&plan, Check::Accepted), Action::Send { headers, fresh: None, .. } if headers[0].1.starts_with("Bearer "))
        );
        assert!(
            matches!(action(&plan, Check::DpopAccepted), Action::Minted { mint, .. } if mint.dpop)
        );
        // One-time: a new token per request, the reuse check with a plain bearer token.
        let plan = plan_operation(&model, op("once"), &creds, false);
        assert!(
            matches!(action(&plan, Check::Accepted), Action::Send { fresh: Some(m), .. } if !m.dpop)
        );
        assert!(
            matches!(action(&plan, Check::ReusedJti), Action::Minted { mint, .. } if !mint.dpop)
        );
        assert!(checks(&plan).contains(&"dpop-accepted"));
        let plan = plan_operation(&model, op("ticket"), &creds, false);
        assert!(
            matches!(action(&plan, Check::ReusedJti), Action::Minted { mint, .. } if !mint.dpop)
        );
        // Minted tokens never show in a plan's debug output.
        assert!(!format!("{plan:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn second_uses_and_mistargeted_proofs_are_judged() {
        let ok = observed(200, &[]);
        let dpop = observed(
            401,
            &[(
                "www-authenticate",
                "DPoP realm=\"api\", algs=\"ES256\", error=\"invalid_dpop_proof\"",
            )],
        );
        let bearer = observed(401, &[("www-authenticate", "Bearer realm=\"api\"")]);
        let locked = observed(429, &[("retry-after", "60")]);
        assert!(judge_second_use(&ok, &dpop, true).pass);
        assert!(judge_second_use(&ok, &locked, true).pass);
        let j = judge_second_use(&ok, &bearer, true);
        assert!(
            !j.pass && j.got.contains("without a DPoP challenge"),
            "{j:?}"
        );
        assert!(judge_second_use(&ok, &bearer, false).pass);
        let j = judge_second_use(&ok, &ok, false);
        assert!(
            !j.pass && j.got == "200 then 200 (the second use was not refused)",
            "{j:?}"
        );
        let j = judge_second_use(&dpop, &dpop, true);
        assert!(
            !j.pass && j.got.starts_with("the first use got 401"),
            "{j:?}"
        );

        assert!(judge_dpop_refusals(&[("a", &dpop), ("b", &locked)]).pass);
        let j = judge_dpop_refusals(&[("another method", &dpop), ("another URI", &ok)]);
        assert!(!j.pass && j.got == "200 for another URI", "{j:?}");
    }

    #[test]
    fn bursts_pass_only_with_a_429_and_retry_after() {
        let ok = observed(201, &[]);
        let limited = observed(429, &[("retry-after", "3")]);
        assert!(judge_rate_limit(&[ok.clone(), limited.clone()]).pass);
        assert!(!judge_rate_limit(&[ok.clone(), ok.clone()]).pass);
        assert!(!judge_rate_limit(&[ok.clone(), observed(429, &[])]).pass);
        assert!(!judge_rate_limit(&[observed(401, &[]), limited]).pass);
        assert_eq!(
            judge_rate_limit(&[ok.clone(), ok]).got,
            "no 429 (statuses 201×2)"
        );
    }
}
