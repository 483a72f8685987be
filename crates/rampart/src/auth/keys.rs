//! JWT verification keys, each with its own algorithm allowlist (RFC 8725
//! §3.1): the algorithm is never taken from a token header on trust; a key
//! only verifies the algorithms it was configured or published for, so
//! `alg: none` and HS/RS confusion cannot get through.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

/// Shortest HMAC secret accepted (RFC 7518 §3.2: at least the hash size).
pub const MIN_HS_SECRET_BYTES: usize = 32;

/// One verification key.
#[derive(Clone)]
pub(crate) struct JwtKey {
    /// The `kid` it is published under, if any (only ever compared, never dereferenced).
    pub(crate) kid: Option<String>,
    /// Algorithms this key verifies.
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Parse an algorithm name as JOSE writes it (`RS256`); `none` is never an algorithm.
pub fn parse_algorithm(name: &str) -> Option<Algorithm> {
    name.parse().ok()
}

/// The JOSE name of an algorithm.
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unknown",
    }
}

fn family_of(alg: Algorithm) -> AlgorithmFamily {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
        Algorithm::ES256 | Algorithm::ES384 => AlgorithmFamily::Ec,
        Algorithm::EdDSA => AlgorithmFamily::Ed,
        _ => AlgorithmFamily::Rsa,
    }
}

/// The allowlist for a key of `family` whose natural algorithm is `natural`:
/// the configured algorithms of that family, or `natural` alone.
fn allowlist(
    family: AlgorithmFamily,
    natural: Algorithm,
    configured: Option<&[Algorithm]>,
) -> Vec<Algorithm> {
    match configured {
        Some(list) => list
            .iter()
            .copied()
            .filter(|a| family_of(*a) == family)
            .collect(),
        None => vec![natural],
    }
}

/// An HMAC key from a shared secret; refuses secrets shorter than 32 bytes.
pub(crate) fn hmac_key(secret: &[u8], configured: Option<&[Algorithm]>) -> Result<JwtKey, String> {
    if secret.len() < MIN_HS_SECRET_BYTES {
        return Err(format!(
            "the JWT HMAC secret is {} bytes long; at least {MIN_HS_SECRET_BYTES} are required \
             (generate one with `openssl rand -base64 48`)",
            secret.len()
        ));
    }
    let algorithms = allowlist(AlgorithmFamily::Hmac, Algorithm::HS256, configured);
    if algorithms.is_empty() {
        return Err(
            "the configured JWT algorithms include no HS* algorithm for the HMAC secret".into(),
        );
    }
    Ok(JwtKey {
        kid: None,
        algorithms,
        key: DecodingKey::from_secret(secret),
    })
}

/// A public key from a PEM file's contents: RSA (`RS256`), EC P-256 (`ES256`),
/// EC P-384 (`ES384`) or Ed25519 (`EdDSA`) unless `configured` says otherwise.
pub(crate) fn pem_key(pem: &[u8], configured: Option<&[Algorithm]>) -> Result<JwtKey, String> {
    if std::str::from_utf8(pem).is_ok_and(|t| t.contains("PRIVATE KEY")) {
        return Err(
            "the JWT public key file holds a PRIVATE key; give the server only the public key \
             (`openssl pkey -in private.pem -pubout`)"
                .into(),
        );
    }
    let (family, natural, key) = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        (AlgorithmFamily::Rsa, Algorithm::RS256, key)
    } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        // An uncompressed P-384 point is 97 bytes, a P-256 one 65.
        let natural = match key.try_get_as_bytes().map(<[u8]>::len) {
            Ok(97) => Algorithm::ES384,
            _ => Algorithm::ES256,
        };
        (AlgorithmFamily::Ec, natural, key)
    } else if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        (AlgorithmFamily::Ed, Algorithm::EdDSA, key)
    } else {
        return Err(
            "the JWT public key file is not a PEM-encoded RSA, EC (P-256/P-384) or Ed25519 public key"
                .into(),
        );
    };
    let algorithms = allowlist(family, natural, configured);
    if algorithms.is_empty() {
        return Err(format!(
            "the configured JWT algorithms include none usable with the {family:?} public key"
        ));
    }
    Ok(JwtKey {
        kid: None,
        algorithms,
        key,
    })
}

/// A key from one JWKS entry, or `None` for entries rampart will not use:
/// symmetric (`oct`) keys, encryption keys, unsupported curves, algorithms
/// outside the allowlist.
pub(crate) fn jwk_key(jwk: &Jwk, configured: Option<&[Algorithm]>) -> Option<JwtKey> {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let (family, natural) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (AlgorithmFamily::Rsa, Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => (AlgorithmFamily::Ec, Algorithm::ES256),
            EllipticCurve::P384 => (AlgorithmFamily::Ec, Algorithm::ES384),
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            (AlgorithmFamily::Ed, Algorithm::EdDSA)
        }
        // Symmetric keys published in a JWKS are refused outright (RFC 8725 §3.1).
        _ => return None,
    };
    let algorithms = match jwk.common.key_algorithm {
        Some(published) => {
            let alg = Algorithm::try_from(published).ok()?;
            if family_of(alg) != family || configured.is_some_and(|c| !c.contains(&alg)) {
                return None;
            }
            vec![alg]
        }
        None => allowlist(family, natural, configured),
    };
    if algorithms.is_empty() {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(JwtKey {
        kid: jwk.common.key_id.clone(),
        algorithms,
        key,
    })
}

/// Keys of one scheme, searched by `kid` and algorithm.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<JwtKey>,
}

impl KeySet {
    /// The key to verify a token with `kid` and `alg`: by `kid` when the token
    /// names one, else the keys without a `kid` (configured secrets and PEM keys),
    /// else the only key of the set. `Err(true)` when the `kid` is unknown.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&JwtKey, bool> {
        let found = match kid {
            Some(kid) => {
                let mut by_kid = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .peekable();
                if by_kid.peek().is_none() {
                    // A kid-less configured key still verifies tokens that carry a kid.
                    let anonymous = self
                        .keys
                        .iter()
                        .find(|k| k.kid.is_none() && k.algorithms.contains(&alg));
                    return anonymous.ok_or(true);
                }
                by_kid.find(|k| k.algorithms.contains(&alg))
            }
            None => self
                .keys
                .iter()
                .find(|k| k.kid.is_none() && k.algorithms.contains(&alg))
                .or_else(|| match self.keys.as_slice() {
                    [only] if only.algorithms.contains(&alg) => Some(only),
                    _ => None,
                }),
        };
        found.ok_or(false)
    }
}

/// Decode one base64url (unpadded) JWS segment as JSON; `None` when either
/// step fails. Shared by JWT and DPoP-proof verification.
pub(crate) fn decode_segment<T: serde::de::DeserializeOwned>(segment: &str) -> Option<T> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
