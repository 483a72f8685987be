//! JWT bearer verification following RFC 8725: the key decides the algorithm
//! (an allowlist per key; `alg: none` and HS/RS confusion refused), `exp` is
//! required, `nbf`/`iat` honoured with a small leeway, `iss`/`aud`/`typ`
//! checked, `kid` only picks among configured keys, `jku`/`x5u`/`jwk`/`x5c`
//! headers are ignored (never followed), any `crit` header is refused, and
//! the token size is capped before anything is decoded.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::auth::cache::TokenCache;
use crate::auth::dpop::DpopRules;
use crate::auth::jwks::JwksSource;
use crate::auth::keys::{KeySet, decode_segment, parse_algorithm};
use crate::clock::SharedClock;

/// Default largest token accepted, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Default clock-skew leeway for `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// `typ` values accepted when no `typ` is configured (a token without `typ`
/// is accepted too): a plain JWT and an OAuth 2.0 access token (RFC 9068).
pub const DEFAULT_TYPES: &[&str] = &["JWT", "at+jwt"];
/// Default number of verified tokens cached per scheme.
pub const DEFAULT_CACHE_SIZE: usize = 10_000;

/// What a JWT must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub struct JwtRules {
    /// Accepted `iss` values (empty: not checked, only when waived).
    pub issuers: Vec<String>,
    /// Accepted `aud` values; the token's `aud` must contain one (empty: not checked, only when waived).
    pub audiences: Vec<String>,
    /// Clock-skew leeway in seconds.
    pub leeway: u64,
    /// Required `typ` header (compared case-insensitively, `application/`
    /// prefix optional); when unset, a token's `typ` must be absent or one of
    /// [`DEFAULT_TYPES`].
    pub typ: Option<String>,
    /// Claim holding roles (dotted path allowed, e.g. `realm_access.roles`); default `roles`, then `role`.
    pub roles_claim: Option<String>,
    /// Largest token accepted, in bytes.
    pub max_token_bytes: usize,
    /// Whether a token without `sub` is identified by its `client_id`
    /// (`x-rampart: { client-id-subject: true }`); otherwise it is refused.
    pub client_id_subject: bool,
}

impl Default for JwtRules {
    fn default() -> Self {
        JwtRules {
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: DEFAULT_LEEWAY_SECS,
            typ: None,
            roles_claim: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            client_id_subject: false,
        }
    }
}

/// Why a token was refused. Internal: logged to the audit log, never sent to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtFailure {
    TooLarge,
    Malformed,
    Algorithm,
    UnknownKid,
    NoKey,
    Signature,
    Expired,
    NotYetValid,
    IssuedInFuture,
    Issuer,
    Audience,
    Type,
    Critical,
    NoSubject,
    NoExpiry,
    /// The JWKS could not be refreshed for longer than `jwks-max-stale`:
    /// answered 503, not 401 (the token may well be good).
    JwksStale,
}

impl JwtFailure {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JwtFailure::TooLarge => "token_too_large",
            JwtFailure::Malformed => "malformed",
            JwtFailure::Algorithm => "algorithm_not_allowed",
            JwtFailure::UnknownKid => "unknown_kid",
            JwtFailure::NoKey => "no_key_for_algorithm",
            JwtFailure::Signature => "bad_signature",
            JwtFailure::Expired => "expired",
            JwtFailure::NotYetValid => "not_yet_valid",
            JwtFailure::IssuedInFuture => "issued_in_future",
            JwtFailure::Issuer => "wrong_issuer",
            JwtFailure::Audience => "wrong_audience",
            JwtFailure::Type => "wrong_typ",
            JwtFailure::Critical => "crit_header",
            JwtFailure::NoSubject => "no_subject",
            JwtFailure::NoExpiry => "no_exp",
            JwtFailure::JwksStale => "jwks_stale",
        }
    }
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) subject: String,
    pub(crate) roles: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires: u64,
    pub(crate) not_before: Option<u64>,
    /// `iss`, which scopes `subject`.
    pub(crate) issuer: Option<String>,
    /// `jti`, for one-time tokens.
    pub(crate) jti: Option<String>,
    /// `cnf.jkt`: the RFC 7638 thumbprint of the key the token is bound to (DPoP).
    pub(crate) cnf_jkt: Option<String>,
    /// The token carries a `cnf` claim (bound to a key or certificate): it
    /// must never be accepted as a plain bearer token.
    pub(crate) bound: bool,
}

/// Verifies the bearer tokens of one scheme.
pub(crate) struct JwtVerifier {
    rules: JwtRules,
    static_keys: KeySet,
    jwks: Option<Arc<JwksSource>>,
    cache: TokenCache<Identity>,
    clock: SharedClock,
    /// DPoP (RFC 9449) proofs: whether and how they are verified.
    dpop: DpopRules,
    /// One-time tokens on every operation of the scheme (`replay: reject`).
    one_time: bool,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("rules", &self.rules)
            .field("static_keys", &self.static_keys)
            .field("jwks", &self.jwks)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// A base64url JSON segment of a compact JWS, decoded.
fn b64_json<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, JwtFailure> {
    decode_segment(segment).ok_or(JwtFailure::Malformed)
}

fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, JwtFailure> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => {
            if let Some(n) = v.as_u64() {
                return Ok(Some(n));
            }
            match v.as_f64() {
                Some(f) if (0.0..1e15).contains(&f) => Ok(Some(f as u64)),
                _ => Err(JwtFailure::Malformed),
            }
        }
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn path<'a>(claims: &'a Map<String, Value>, dotted: &str) -> Option<&'a Value> {
    let mut parts = dotted.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.get(part)?;
    }
    Some(current)
}

fn typ_matches(actual: &str, expected: &str) -> bool {
    fn strip(t: &str) -> &str {
        const PREFIX: &str = "application/";
        match t.get(..PREFIX.len()) {
            Some(head) if head.eq_ignore_ascii_case(PREFIX) => &t[PREFIX.len()..],
            _ => t,
        }
    }
    strip(actual).eq_ignore_ascii_case(strip(expected))
}

impl JwtVerifier {
    pub(crate) fn new(
        rules: JwtRules,
        static_keys: KeySet,
        jwks: Option<Arc<JwksSource>>,
        cache_size: usize,
        clock: SharedClock,
    ) -> Self {
        JwtVerifier {
            rules,
            static_keys,
            jwks,
            cache: TokenCache::new(cache_size),
            clock,
            dpop: DpopRules {
                mode: crate::DpopMode::Off,
                algorithms: crate::auth::dpop::DEFAULT_ALGORITHMS.to_vec(),
                max_age: crate::auth::dpop::DEFAULT_PROOF_MAX_AGE_SECS,
                leeway: DEFAULT_LEEWAY_SECS,
                nonce_key: None,
            },
            one_time: false,
        }
    }

    /// With DPoP rules and the scheme's one-time-token setting.
    pub(crate) fn with_replay_rules(mut self, dpop: DpopRules, one_time: bool) -> Self {
        self.dpop = dpop;
        self.one_time = one_time;
        self
    }

    /// The scheme's DPoP rules.
    pub(crate) fn dpop(&self) -> &DpopRules {
        &self.dpop
    }

    /// Whether every token of the scheme is single-use.
    pub(crate) fn one_time(&self) -> bool {
        self.one_time
    }

    /// The verification rules.
    pub(crate) fn rules(&self) -> &JwtRules {
        &self.rules
    }

    /// The JWKS source, if the scheme has one.
    pub(crate) fn jwks(&self) -> Option<&JwksSource> {
        self.jwks.as_deref()
    }

    fn generation(&self) -> u64 {
        self.jwks.as_deref().map_or(0, JwksSource::generation)
    }

    fn check_times(&self, id: &Identity, now: u64) -> Result<(), JwtFailure> {
        if id.expires.saturating_add(self.rules.leeway) <= now {
            return Err(JwtFailure::Expired);
        }
        if id
            .not_before
            .is_some_and(|nbf| nbf > now.saturating_add(self.rules.leeway))
        {
            return Err(JwtFailure::NotYetValid);
        }
        Ok(())
    }

    /// Verify a bearer token: cached if seen before, else signature and
    /// claims. Waits only for a JWKS refetch (throttled) for an unknown
    /// `kid`; a stale JWKS is refreshed in the background.
    pub(crate) async fn verify(&self, token: &str) -> Result<Arc<Identity>, JwtFailure> {
        let now = self.clock.unix_secs();
        self.refresh_if_stale();
        match self.attempt(token, now, true) {
            Attempt::Done(result) => result,
            Attempt::Refetch => {
                // The IdP may have rotated keys: refetch and try once more.
                let refreshed = match &self.jwks {
                    Some(jwks) => jwks.refresh().await,
                    None => false,
                };
                if !refreshed {
                    return Err(JwtFailure::UnknownKid);
                }
                match self.attempt(token, now, false) {
                    Attempt::Done(result) => result,
                    Attempt::Refetch => Err(JwtFailure::UnknownKid),
                }
            }
        }
    }

    /// [`verify`](Self::verify) without waiting: `None` when the token names
    /// a `kid` the JWKS does not hold (then `verify` refetches it). Static
    /// keys, the token cache and a current or stale JWKS answer here.
    pub(crate) fn verify_now(&self, token: &str) -> Option<Result<Arc<Identity>, JwtFailure>> {
        self.refresh_if_stale();
        match self.attempt(token, self.clock.unix_secs(), true) {
            Attempt::Done(result) => Some(result),
            Attempt::Refetch => None,
        }
    }

    /// A stale JWKS is refreshed in the background; the current keys keep
    /// serving meanwhile (an identity provider that is down or slow never
    /// holds up bearer requests).
    fn refresh_if_stale(&self) {
        if let Some(jwks) = &self.jwks
            && jwks.is_stale()
        {
            jwks.refresh_in_background();
        }
    }

    /// One verification with the keys at hand; `Refetch` (only when
    /// `may_refetch`) when the JWKS lacks the token's `kid`.
    fn attempt(&self, token: &str, now: u64, may_refetch: bool) -> Attempt {
        if token.len() > self.rules.max_token_bytes {
            return Attempt::Done(Err(JwtFailure::TooLarge));
        }
        let generation = self.generation();
        if let Some(hit) = self.cache.get(token.as_bytes(), generation) {
            return Attempt::Done(self.check_times(&hit, now).map(|()| hit));
        }
        let parsed = (|| {
            let mut parts = token.splitn(4, '.');
            let (Some(header_b64), Some(payload_b64), Some(signature), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(JwtFailure::Malformed);
            };
            if signature.is_empty() {
                return Err(JwtFailure::Malformed);
            }
            let header: JoseHeader = b64_json(header_b64)?;
            if header.crit.is_some() {
                return Err(JwtFailure::Critical);
            }
            let alg = parse_algorithm(&header.alg).ok_or(JwtFailure::Algorithm)?;
            let typ_ok = match (&self.rules.typ, header.typ.as_deref()) {
                (Some(expected), typ) => typ.is_some_and(|t| typ_matches(t, expected)),
                // By default a token may say it is a JWT or an access token
                // (RFC 9068), or say nothing; any other declared type (an ID
                // token's `id+jwt`, a DPoP proof, a logout token, a security
                // event) is a different kind of token signed with the same
                // key and is never accepted as an access credential.
                (None, None) => true,
                (None, Some(t)) => DEFAULT_TYPES.iter().any(|d| typ_matches(t, d)),
            };
            if !typ_ok {
                return Err(JwtFailure::Type);
            }
            let message = &token[..header_b64.len() + 1 + payload_b64.len()];
            Ok((header, alg, message, payload_b64, signature))
        })();
        let (header, alg, message, payload_b64, signature) = match parsed {
            Ok(parsed) => parsed,
            Err(why) => return Attempt::Done(Err(why)),
        };
        let verified = match self.verify_signature(header.kid.as_deref(), alg, message, signature) {
            Ok(generation) => generation,
            Err(SignatureFailure::UnknownKid) if may_refetch => return Attempt::Refetch,
            Err(SignatureFailure::UnknownKid) => return Attempt::Done(Err(JwtFailure::UnknownKid)),
            Err(SignatureFailure::Failed(why)) => return Attempt::Done(Err(why)),
        };
        let claims: Map<String, Value> = match b64_json(payload_b64) {
            Ok(claims) => claims,
            Err(why) => return Attempt::Done(Err(why)),
        };
        let identity = match self.check_claims(&claims, now) {
            Ok(identity) => Arc::new(identity),
            Err(why) => return Attempt::Done(Err(why)),
        };
        if let Err(why) = self.check_times(&identity, now) {
            return Attempt::Done(Err(why));
        }
        self.cache.insert(
            token.as_bytes(),
            identity.clone(),
            verified,
            identity.expires,
            now,
        );
        Attempt::Done(Ok(identity))
    }

    /// Check the signature with the key the `kid`/`alg` select (static keys
    /// first, then the JWKS). Returns the key-set generation used.
    fn verify_signature(
        &self,
        kid: Option<&str>,
        alg: jsonwebtoken::Algorithm,
        message: &str,
        signature: &str,
    ) -> Result<u64, SignatureFailure> {
        let check = |keys: &KeySet| -> Result<bool, (JwtFailure, bool)> {
            let key = keys.select(kid, alg).map_err(|unknown_kid| {
                if unknown_kid {
                    (JwtFailure::UnknownKid, true)
                } else {
                    (JwtFailure::NoKey, false)
                }
            })?;
            Ok(
                jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.key, alg)
                    .unwrap_or(false),
            )
        };
        let mut last = JwtFailure::NoKey;
        if !self.static_keys.keys.is_empty() {
            match check(&self.static_keys) {
                Ok(true) => return Ok(self.generation()),
                Ok(false) => last = JwtFailure::Signature,
                Err((why, _)) => last = why,
            }
        }
        let Some(jwks) = &self.jwks else {
            return Err(SignatureFailure::Failed(last));
        };
        if !jwks.trusted() {
            return Err(SignatureFailure::Failed(JwtFailure::JwksStale));
        }
        let generation = jwks.generation();
        match check(&jwks.keys()) {
            Ok(true) => Ok(generation),
            Ok(false) => Err(SignatureFailure::Failed(JwtFailure::Signature)),
            Err((why, false)) => Err(SignatureFailure::Failed(why)),
            Err((_, true)) => Err(SignatureFailure::UnknownKid),
        }
    }

    fn check_claims(&self, claims: &Map<String, Value>, now: u64) -> Result<Identity, JwtFailure> {
        let leeway = self.rules.leeway;
        let expires = numeric_date(claims, "exp")?.ok_or(JwtFailure::NoExpiry)?;
        let not_before = numeric_date(claims, "nbf")?;
        if numeric_date(claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(JwtFailure::IssuedInFuture);
        }
        if !self.rules.issuers.is_empty() {
            let iss = claims.get("iss").and_then(Value::as_str);
            if !iss.is_some_and(|iss| self.rules.issuers.iter().any(|i| i == iss)) {
                return Err(JwtFailure::Issuer);
            }
        }
        if !self.rules.audiences.is_empty() {
            let aud = strings(claims.get("aud"));
            if !aud.iter().any(|a| self.rules.audiences.contains(a)) {
                return Err(JwtFailure::Audience);
            }
        }
        // `client_id` names the client, not a user: it stands in for a
        // missing `sub` only where the scheme says so.
        let subject_claims: &[&str] = if self.rules.client_id_subject {
            &["sub", "client_id"]
        } else {
            &["sub"]
        };
        let subject = subject_claims
            .iter()
            .find_map(|c| claims.get(*c).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .ok_or(JwtFailure::NoSubject)?
            .to_owned();
        let issuer = claims
            .get("iss")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let jti = match claims.get("jti") {
            None => None,
            Some(Value::String(j)) if !j.is_empty() && j.len() <= 256 => Some(j.clone()),
            Some(_) => return Err(JwtFailure::Malformed),
        };
        let cnf = claims.get("cnf");
        let cnf_jkt = match cnf.map(|c| c.get("jkt")) {
            None | Some(None) => None,
            Some(Some(Value::String(jkt))) if !jkt.is_empty() => Some(jkt.clone()),
            Some(Some(_)) => return Err(JwtFailure::Malformed),
        };
        let roles = match &self.rules.roles_claim {
            Some(claim) => strings(path(claims, claim)),
            None => {
                let mut roles = strings(claims.get("roles"));
                roles.extend(strings(claims.get("role")));
                roles
            }
        };
        let mut scopes: Vec<String> = match claims.get("scope") {
            Some(Value::String(s)) => s.split_ascii_whitespace().map(str::to_owned).collect(),
            other => strings(other),
        };
        for scp in strings(claims.get("scp")) {
            scopes.extend(scp.split_ascii_whitespace().map(str::to_owned));
        }
        Ok(Identity {
            subject,
            roles,
            scopes,
            expires,
            not_before,
            issuer,
            jti,
            cnf_jkt,
            bound: cnf.is_some(),
        })
    }
}

/// The result of one verification attempt with the keys at hand.
enum Attempt {
    Done(Result<Arc<Identity>, JwtFailure>),
    /// The JWKS lacks the token's `kid`: refetch it, then try again.
    Refetch,
}

/// Why a signature check failed.
enum SignatureFailure {
    /// The JWKS has no key with the token's `kid` (it may have rotated).
    UnknownKid,
    Failed(JwtFailure),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_comparison_ignores_case_and_media_prefix() {
        assert!(typ_matches("at+jwt", "application/at+JWT"));
        assert!(typ_matches("JWT", "jwt"));
        assert!(!typ_matches("JWT", "at+jwt"));
    }

    #[test]
    fn numeric_dates_accept_integers_and_floats_only() {
        let claims: Map<String, Value> =
            serde_json::from_str(r#"{"a": 10, "b": 10.6, "c": "10", "d": -1}"#).unwrap();
        assert_eq!(numeric_date(&claims, "a"), Ok(Some(10)));
        assert_eq!(numeric_date(&claims, "b"), Ok(Some(10)));
        assert_eq!(numeric_date(&claims, "c"), Err(JwtFailure::Malformed));
        assert_eq!(numeric_date(&claims, "d"), Err(JwtFailure::Malformed));
        assert_eq!(numeric_date(&claims, "e"), Ok(None));
    }
}
