//! Tokens the audit sends: HS256 tokens minted with `--jwt-secret` (valid and
//! expired, one-time tokens with a `jti`, tokens bound to the audit's DPoP key
//! with `cnf.jkt`), tokens signed with a random secret, `alg: none` tokens,
//! and supplied tokens with a corrupted signature; and the audit's own DPoP
//! key pair.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The issuer of `cargo xtask serve`'s dev tokens (and the one its dev server requires).
pub(crate) const DEV_ISSUER: &str = "https://rampart.serve/dev";

/// What a minted token says besides its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    /// `iss`.
    pub(crate) issuer: String,
    /// `aud`.
    pub(crate) audience: String,
    /// The `typ` header, when the scheme requires one (else `JWT`).
    pub(crate) typ: Option<String>,
    /// Space-separated into `scope`.
    pub(crate) scopes: Vec<String>,
    /// Makes subjects unique per run, so a run's quotas start full.
    pub(crate) run_id: String,
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Claims {
    /// The claims of a token for `role` (none: no roles) valid from `iat` to `exp`.
    pub(crate) fn payload(&self, role: Option<&str>, iat: i64, exp: i64) -> Value {
        json!({
            "sub": format!("rampart-audit-{}-{}", role.unwrap_or("user"), self.run_id),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": iat,
            "exp": exp,
            "roles": role.into_iter().collect::<Vec<_>>(),
            "scope": self.scopes.join(" "),
        })
    }

    fn header(&self) -> jsonwebtoken::Header {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some(self.typ.clone().unwrap_or_else(|| "JWT".into()));
        header
    }

    /// An HS256 token for `role`, valid for ten minutes.
    pub(crate) fn mint(&self, secret: &[u8], role: Option<&str>) -> String {
        let now = now();
        self.sign(secret, &self.payload(role, now, now + 600))
    }

    /// An HS256 token for `role`, valid for ten minutes, with a random `jti`
    /// (a one-time token) and, given a key thumbprint, bound to that key
    /// (`cnf: {jkt}`, RFC 9449 §6).
    pub(crate) fn mint_bound(
        &self,
        secret: &[u8],
        role: Option<&str>,
        jkt: Option<&str>,
    ) -> String {
        let now = now();
        let mut payload = self.payload(role, now, now + 600);
        payload["jti"] = json!(random_id());
        if let Some(jkt) = jkt {
            payload["cnf"] = json!({ "jkt": jkt });
        }
        self.sign(secret, &payload)
    }

    /// An HS256 token for `role` that expired an hour ago (well past any leeway).
    pub(crate) fn mint_expired(&self, secret: &[u8], role: Option<&str>) -> String {
        let now = now();
        self.sign(secret, &self.payload(role, now - 7200, now - 3600))
    }

    /// An HS256 token for `role` signed with a fresh random secret.
    pub(crate) fn mint_bad_signature(&self, role: Option<&str>) -> String {
        let secret: [u8; 32] = rand::random();
        self.mint(&secret, role)
    }

    /// A token for `role` with `alg: none` and no signature.
    pub(crate) fn mint_alg_none(&self, role: Option<&str>) -> String {
        let now = now();
        unsigned(&self.payload(role, now, now + 600))
    }

    fn sign(&self, secret: &[u8], payload: &Value) -> String {
        jsonwebtoken::encode(
            &self.header(),
            payload,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .expect("HS256 signing of JSON claims cannot fail")
    }
}

/// 128 random bits in hex: a `jti`.
pub(crate) fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A fresh EC P-256 key pair (PKCS#8 PEM) and its DPoP proof signer (ES256).
pub(crate) fn new_dpop_key() -> Result<(String, rampart::auth::dpop::ProofSigner), String> {
    crate::dpop_proof::new_key().map_err(|e| format!("{e:#}"))
}

/// `{"alg":"none","typ":"JWT"}` over `payload`, with an empty signature.
fn unsigned(payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{header}.{payload}.")
}

/// `token` (a JWS) with every bit of its signature flipped; `None` when it is
/// not three dot-separated parts with a base64url signature.
pub(crate) fn corrupt_signature(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if bytes.is_empty() {
        return None;
    }
    for b in &mut bytes {
        *b = !*b;
    }
    Some(format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// `token` (a JWS) re-headed with `alg: none` and stripped of its signature.
pub(crate) fn alg_none_of(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    Some(unsigned(&payload))
}

/// A well-formed rampart API key (`rk_<16 hex>_<43 base64url>`) nobody holds:
/// a random id, so no real key's id is ever locked out by the probe.
pub(crate) fn unknown_api_key() -> String {
    let id: [u8; 8] = rand::random();
    let secret: [u8; 32] = rand::random();
    format!("rk_{}_{}", hex::encode(id), URL_SAFE_NO_PAD.encode(secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

    fn claims() -> Claims {
        Claims {
            issuer: DEV_ISSUER.into(),
            audience: "petstore".into(),
            typ: None,
            scopes: vec!["pets:read".into(), "pets:write".into()],
            run_id: "t1".into(),
        }
    }

    fn validation() -> Validation {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[DEV_ISSUER]);
        v.set_audience(&["petstore"]);
        v
    }

    #[test]
    fn minted_tokens_carry_role_issuer_audience_and_scopes() {
        let token = claims().mint(b"0123456789abcdef0123456789abcdef", Some("editor"));
        let data = decode::<Value>(
            &token,
            &DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            &validation(),
        )
        .unwrap();
        assert_eq!(data.claims["roles"], json!(["editor"]));
        assert_eq!(data.claims["scope"], "pets:read pets:write");
        assert_eq!(data.claims["sub"], "rampart-audit-editor-t1");
        assert_eq!(data.header.typ.as_deref(), Some("JWT"));
        let exp = data.claims["exp"].as_i64().unwrap();
        assert!(exp > now() && exp <= now() + 600);
    }

    #[test]
    fn expired_tokens_verify_but_for_their_expiry() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let token = claims().mint_expired(secret, Some("admin"));
        let error =
            decode::<Value>(&token, &DecodingKey::from_secret(secret), &validation()).unwrap_err();
        assert!(
            matches!(
                error.kind(),
                jsonwebtoken::errors::ErrorKind::ExpiredSignature
            ),
            "{error:?}"
        );
        let mut lax = validation();
        lax.validate_exp = false;
        let data = decode::<Value>(&token, &DecodingKey::from_secret(secret), &lax).unwrap();
        assert!(data.claims["exp"].as_i64().unwrap() < now() - 1800);
    }

    #[test]
    fn bad_signatures_and_alg_none_do_not_verify() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let key = DecodingKey::from_secret(secret);
        let good = claims().mint(secret, Some("admin"));
        assert!(decode::<Value>(&good, &key, &validation()).is_ok());

        let corrupted = corrupt_signature(&good).unwrap();
        assert_ne!(corrupted, good);
        assert_eq!(
            corrupted.rsplit_once('.').unwrap().0,
            good.rsplit_once('.').unwrap().0
        );
        assert!(decode::<Value>(&corrupted, &key, &validation()).is_err());

        let random = claims().mint_bad_signature(Some("admin"));
        assert!(decode::<Value>(&random, &key, &validation()).is_err());

        for none in [
            claims().mint_alg_none(Some("admin")),
            alg_none_of(&good).unwrap(),
        ] {
            assert!(none.ends_with('.'), "{none}");
            let header: Value = serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(none.split('.').next().unwrap())
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(header["alg"], "none");
            assert!(
                decode_header(&none).is_err()
                    || decode::<Value>(&none, &key, &validation()).is_err()
            );
        }
        assert!(corrupt_signature("not-a-token").is_none());
    }

    #[test]
    fn typ_follows_the_scheme() {
        let mut c = claims();
        c.typ = Some("at+jwt".into());
        let token = c.mint(b"0123456789abcdef0123456789abcdef", None);
        assert_eq!(
            decode_header(&token).unwrap().typ.as_deref(),
            Some("at+jwt")
        );
        let payload: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(payload["roles"], json!([]));
    }

    #[test]
    fn bound_tokens_carry_a_jti_and_the_key_thumbprint() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let (pem, signer) = new_dpop_key().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        let token = claims().mint_bound(secret, Some("admin"), Some(signer.jkt()));
        let data =
            decode::<Value>(&token, &DecodingKey::from_secret(secret), &validation()).unwrap();
        assert_eq!(data.claims["cnf"]["jkt"], signer.jkt());
        assert_eq!(data.claims["jti"].as_str().unwrap().len(), 32);
        let other = claims().mint_bound(secret, Some("admin"), None);
        let data =
            decode::<Value>(&other, &DecodingKey::from_secret(secret), &validation()).unwrap();
        assert!(data.claims.get("cnf").is_none());
        assert_ne!(other, claims().mint_bound(secret, Some("admin"), None));
        assert_ne!(new_dpop_key().unwrap().1.jkt(), signer.jkt());
    }

    #[test]
    fn unknown_api_keys_are_well_formed() {
        let key = unknown_api_key();
        let parts: Vec<&str> = key.splitn(3, '_').collect();
        assert_eq!(parts[0], "rk");
        assert_eq!(parts[1].len(), 16);
        assert_eq!(parts[2].len(), 43);
        assert_ne!(unknown_api_key(), key);
    }
}
