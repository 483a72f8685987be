//! DPoP (RFC 9449): access tokens bound to a key the client proves it holds
//! on every request.
//!
//! A DPoP request carries `Authorization: DPoP <access token>` and a
//! `DPoP: <proof>` header. The proof is a JWT the client signs with its own
//! private key, embedding the public key (`jwk`); `verify_proof` checks
//! it as RFC 9449 §4.3 lists: `typ: dpop+jwt`, an asymmetric `alg` from the
//! allowlist, a public-only `jwk`, the signature, `htm` and `htu` against
//! the request, `iat` within the window, `ath` against the access token,
//! and (with nonces on) the server's `nonce`. The guard then checks the
//! access token's `cnf.jkt` against the proof key's RFC 7638 thumbprint and
//! the proof's `jti` against the replay cache (`auth::replay`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use rampart_api::policy::DpopMode;

/// Default window for a proof's `iat`, in seconds: a proof older than this
/// (or issued further in the future than the leeway) is refused.
pub const DEFAULT_PROOF_MAX_AGE_SECS: u64 = 60;
/// Proof algorithms accepted by default: asymmetric only (RFC 9449 §4.3).
pub const DEFAULT_ALGORITHMS: &[Algorithm] = &[
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
];
/// Largest proof accepted, in bytes (an RSA-4096 `jwk` fits with room).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// How long a server nonce stays valid, in seconds (the current and the
/// previous period are accepted).
pub const NONCE_PERIOD_SECS: u64 = 300;
/// JWK members that only a private key has.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// How one scheme verifies DPoP proofs.
#[derive(Debug, Clone)]
pub(crate) struct DpopRules {
    pub(crate) mode: DpopMode,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) max_age: u64,
    pub(crate) leeway: u64,
    /// The key server nonces are made with, when nonces are required.
    pub(crate) nonce_key: Option<NonceKey>,
}

impl DpopRules {
    /// The `algs` parameter of a DPoP challenge.
    pub(crate) fn algs(&self) -> String {
        self.algorithms
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The secret server nonces are derived from: an HMAC of the current period,
/// so every instance configured with the same secret accepts the others'
/// nonces without sharing state.
#[derive(Clone)]
pub(crate) struct NonceKey(jsonwebtoken::EncodingKey);

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

impl NonceKey {
    pub(crate) fn new(secret: &[u8]) -> Self {
        NonceKey(jsonwebtoken::EncodingKey::from_secret(secret))
    }

    fn for_period(&self, period: u64) -> String {
        let mac = jsonwebtoken::crypto::sign(&period.to_be_bytes(), &self.0, Algorithm::HS256)
            .unwrap_or_default();
        format!("{period:x}.{}", &mac[..mac.len().min(22)])
    }

    /// The nonce to hand out now.
    pub(crate) fn current(&self, now: u64) -> String {
        self.for_period(now / NONCE_PERIOD_SECS)
    }

    /// Whether `nonce` was handed out in this period or the previous one.
    fn accepts(&self, nonce: &str, now: u64) -> bool {
        let period = now / NONCE_PERIOD_SECS;
        [period, period.saturating_sub(1)]
            .into_iter()
            .any(|p| constant_time_eq(self.for_period(p).as_bytes(), nonce.as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a DPoP request was refused. Internal: logged, never sent to clients
/// beyond the RFC 9449 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DpopFailure {
    /// No `DPoP` header, or several.
    MissingProof,
    Malformed,
    Type,
    Algorithm,
    /// The `jwk` is missing, unusable, or holds private members.
    Key,
    Signature,
    Method,
    Uri,
    /// `iat` outside the window.
    Stale,
    /// No usable `jti`.
    NoJti,
    /// `ath` does not match the access token.
    TokenHash,
    /// The access token's `cnf.jkt` is not the proof key's thumbprint.
    Binding,
    /// The proof's `jti` was seen before.
    Replayed,
    /// A server nonce is required and the proof has none, or an old one.
    Nonce,
    /// A token bound with `cnf` was sent as a plain bearer token.
    BoundTokenAsBearer,
    /// The scheme requires DPoP and a bearer token was sent.
    BearerNotAllowed,
}

impl DpopFailure {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DpopFailure::MissingProof => "dpop_proof_missing",
            DpopFailure::Malformed => "dpop_proof_malformed",
            DpopFailure::Type => "dpop_proof_wrong_typ",
            DpopFailure::Algorithm => "dpop_proof_algorithm_not_allowed",
            DpopFailure::Key => "dpop_proof_bad_jwk",
            DpopFailure::Signature => "dpop_proof_bad_signature",
            DpopFailure::Method => "dpop_proof_wrong_htm",
            DpopFailure::Uri => "dpop_proof_wrong_htu",
            DpopFailure::Stale => "dpop_proof_stale_iat",
            DpopFailure::NoJti => "dpop_proof_no_jti",
            DpopFailure::TokenHash => "dpop_proof_wrong_ath",
            DpopFailure::Binding => "dpop_key_not_bound_to_token",
            DpopFailure::Replayed => "dpop_proof_replayed",
            DpopFailure::Nonce => "dpop_nonce_required",
            DpopFailure::BoundTokenAsBearer => "bound_token_sent_as_bearer",
            DpopFailure::BearerNotAllowed => "bearer_token_where_dpop_required",
        }
    }

    /// The RFC 9449 §7.1 / RFC 6750 error code of the challenge.
    pub(crate) fn error_code(self) -> &'static str {
        match self {
            DpopFailure::Nonce => "use_dpop_nonce",
            DpopFailure::Binding | DpopFailure::BoundTokenAsBearer => "invalid_token",
            DpopFailure::BearerNotAllowed => "invalid_request",
            _ => "invalid_dpop_proof",
        }
    }
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proof {
    /// RFC 7638 SHA-256 thumbprint of the proof key.
    pub(crate) jkt: String,
    pub(crate) jti: String,
    pub(crate) iat: u64,
}

/// The `ath` value for an access token: base64url(SHA-256(token)).
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// A URI as DPoP compares it: normalized (scheme and host lower case,
/// default port dropped, dot segments removed), without query and fragment.
pub(crate) fn normalize_htu(text: &str) -> Option<String> {
    let mut url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

#[derive(serde::Deserialize)]
struct ProofHeader {
    typ: Option<String>,
    alg: String,
    jwk: Option<Map<String, Value>>,
    crit: Option<Value>,
}

fn b64_json<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, DpopFailure> {
    crate::auth::keys::decode_segment(segment).ok_or(DpopFailure::Malformed)
}

/// Verify a proof for a request to `method` `htu` carrying `access_token`,
/// at `now` (RFC 9449 §4.3, but the replay and `cnf` checks, which need the
/// token's identity and the replay cache).
pub(crate) fn verify_proof(
    proof: &str,
    method: &str,
    htu: &str,
    access_token: &str,
    rules: &DpopRules,
    now: u64,
) -> Result<Proof, DpopFailure> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(DpopFailure::Malformed);
    }
    let mut parts = proof.splitn(4, '.');
    let (Some(header_b64), Some(payload_b64), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopFailure::Malformed);
    };
    if signature.is_empty() {
        return Err(DpopFailure::Malformed);
    }
    let header: ProofHeader = b64_json(header_b64)?;
    if header.crit.is_some() {
        return Err(DpopFailure::Malformed);
    }
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(DpopFailure::Type);
    }
    let alg = crate::auth::keys::parse_algorithm(&header.alg).ok_or(DpopFailure::Algorithm)?;
    if !rules.algorithms.contains(&alg) {
        return Err(DpopFailure::Algorithm);
    }
    let jwk_map = header.jwk.ok_or(DpopFailure::Key)?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk_map.contains_key(*m)) {
        return Err(DpopFailure::Key);
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(jwk_map)).map_err(|_| DpopFailure::Key)?;
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).map_err(|_| DpopFailure::Key)?;
    let message = &proof[..header_b64.len() + 1 + payload_b64.len()];
    if !jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg).unwrap_or(false) {
        return Err(DpopFailure::Signature);
    }
    let jkt = thumbprint(&jwk).ok_or(DpopFailure::Key)?;
    let claims: Map<String, Value> = b64_json(payload_b64)?;
    let jti = match claims.get("jti") {
        Some(Value::String(j)) if !j.is_empty() && j.len() <= 256 => j.clone(),
        _ => return Err(DpopFailure::NoJti),
    };
    if claims.get("htm").and_then(Value::as_str) != Some(method) {
        return Err(DpopFailure::Method);
    }
    let proof_htu = claims
        .get("htu")
        .and_then(Value::as_str)
        .and_then(normalize_htu);
    if proof_htu.is_none() || proof_htu.as_deref() != normalize_htu(htu).as_deref() {
        return Err(DpopFailure::Uri);
    }
    let iat = match claims.get("iat") {
        Some(v) => v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| (0.0..1e15).contains(f))
                    .map(|f| f as u64)
            })
            .ok_or(DpopFailure::Malformed)?,
        None => return Err(DpopFailure::Stale),
    };
    if iat > now.saturating_add(rules.leeway)
        || iat
            .saturating_add(rules.max_age)
            .saturating_add(rules.leeway)
            < now
    {
        return Err(DpopFailure::Stale);
    }
    if claims.get("ath").and_then(Value::as_str) != Some(token_hash(access_token).as_str()) {
        return Err(DpopFailure::TokenHash);
    }
    if let Some(nonce_key) = &rules.nonce_key {
        let nonce = claims.get("nonce").and_then(Value::as_str);
        if !nonce.is_some_and(|n| nonce_key.accepts(n, now)) {
            return Err(DpopFailure::Nonce);
        }
    }
    Ok(Proof { jkt, jti, iat })
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK.
pub fn thumbprint(jwk: &Jwk) -> Option<String> {
    jwk.thumbprint(ThumbprintHash::SHA256).ok()
}

/// Signs DPoP proofs with a client's key pair: what a Rust client, the
/// `cargo xtask dpop-proof` helper and the tests use to call a DPoP scheme.
pub struct ProofSigner {
    key: jsonwebtoken::EncodingKey,
    alg: Algorithm,
    jwk: Jwk,
    jkt: String,
}

impl std::fmt::Debug for ProofSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofSigner")
            .field("alg", &self.alg)
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

impl ProofSigner {
    /// A signer for a PEM private key: EC P-256 (`ES256`), P-384 (`ES384`)
    /// or Ed25519 (`EdDSA`).
    pub fn from_pem(pem: &[u8], alg: Algorithm) -> Result<Self, String> {
        let key = match alg {
            Algorithm::ES256 | Algorithm::ES384 => jsonwebtoken::EncodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(pem),
            other => {
                return Err(format!(
                    "{other:?} is not a DPoP signing algorithm here; use ES256, ES384 or EdDSA"
                ));
            }
        }
        .map_err(|e| format!("not a {alg:?} private key in PEM: {e}"))?;
        let mut jwk = Jwk::from_encoding_key(&key, alg)
            .map_err(|e| format!("the public key cannot be derived: {e}"))?;
        // Only the public members travel in a proof.
        jwk.common = Default::default();
        let jkt = thumbprint(&jwk).ok_or("the key has no RFC 7638 thumbprint")?;
        Ok(ProofSigner { key, alg, jwk, jkt })
    }

    /// The RFC 7638 thumbprint of the public key: the `cnf.jkt` an access
    /// token bound to this key carries.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// A proof for `method` `url` (query and fragment are dropped) issued at
    /// `iat`, bound to `access_token` (`ath`), with a random `jti` and the
    /// server's `nonce` when it asked for one.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        iat: u64,
        nonce: Option<&str>,
    ) -> Result<String, String> {
        let jti = format!("{:032x}", rand::random::<u128>());
        self.proof_with_jti(method, url, access_token, iat, nonce, &jti)
    }

    /// [`proof`](Self::proof) with a chosen `jti`.
    pub fn proof_with_jti(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        iat: u64,
        nonce: Option<&str>,
        jti: &str,
    ) -> Result<String, String> {
        let htu = normalize_htu(url).ok_or_else(|| format!("`{url}` is not an http(s) URL"))?;
        let mut claims = Map::new();
        claims.insert("jti".into(), jti.into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), htu.into());
        claims.insert("iat".into(), iat.into());
        if let Some(token) = access_token {
            claims.insert("ath".into(), token_hash(token).into());
        }
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        let mut header = jsonwebtoken::Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_normalization_ignores_query_fragment_case_and_default_port() {
        assert_eq!(
            normalize_htu("HTTPS://Api.Example.com:443/a/./b?x=1#f").as_deref(),
            Some("https://api.example.com/a/b")
        );
        assert_ne!(
            normalize_htu("https://api.example.com/a"),
            normalize_htu("https://api.example.com/b")
        );
        assert_eq!(normalize_htu("ftp://x/a"), None);
        assert_eq!(normalize_htu("/relative"), None);
    }

    #[test]
    fn nonces_last_two_periods_and_are_keyed() {
        let key = NonceKey::new(b"0123456789abcdef0123456789abcdef");
        let other = NonceKey::new(b"fedcba9876543210fedcba9876543210");
        let now = 1_000_000;
        let nonce = key.current(now);
        assert!(key.accepts(&nonce, now));
        assert!(key.accepts(&nonce, now + NONCE_PERIOD_SECS));
        assert!(!key.accepts(&nonce, now + 2 * NONCE_PERIOD_SECS));
        assert!(!other.accepts(&nonce, now));
    }

    #[test]
    fn token_hash_is_rfc_9449_example() {
        // RFC 9449 §7.1's access token and its `ath`.
        assert_eq!(
            token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
