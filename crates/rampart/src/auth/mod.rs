//! Authentication: who is calling.
//!
//! - [`jwt`]: bearer JWTs (http bearer, OAuth2 and OpenID Connect schemes),
//!   verified per RFC 8725 with keys from a secret, a PEM file or a JWKS
//!   ([`jwks`]), and a bounded cache of verified tokens.
//! - [`api_key`]: `rk_<id>_<secret>` keys stored as SHA-256 hashes in a file
//!   ([`FileKeyStore`]), Redis ([`RedisKeyStore`]) or a SQL database
//!   ([`SqlKeyStore`]: PostgreSQL, or SQLite embedded).
//! - [`dpop`]: DPoP (RFC 9449) proofs binding an access token to a client key.
//! - `replay`: identifiers accepted once (DPoP proof and one-time token
//!   `jti`s), in memory or Redis.
//! - [`lockout`]: failed attempts counted per client IP and key id.
//! - [`Clock`] (from [`crate::clock`]): the injectable time source all of them use.
//! - [`url`]: credentials in the URL, refused before anything reads them.
//!
//! The [`Security`](crate::Security) handle wires these together from the spec
//! and configuration; [`Security::guard`](crate::Security::guard) enforces them.

pub mod api_key;
mod cache;
pub mod dpop;
pub mod jwks;
pub mod jwt;
pub mod key_file;
pub(crate) mod key_lookup;
#[cfg(feature = "redis")]
pub mod key_redis;
#[cfg(feature = "sql")]
pub mod key_sql;
pub(crate) mod key_verify;
pub mod keys;
pub mod lockout;
pub(crate) mod replay;
pub(crate) mod setup;
pub mod url;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use api_key::{KeyRecord, KeyStore, KeyStoreError, NewKey, StoredKey};
pub use jwt::JwtRules;
pub use key_file::{FileKeyStore, KeyFile};
#[cfg(feature = "redis")]
pub use key_redis::RedisKeyStore;
#[cfg(feature = "sql")]
pub use key_sql::SqlKeyStore;
pub use lockout::{LockTarget, LockoutPolicy, LockoutStore, MemoryLockout};

/// The token of an `Authorization: Bearer <token>` header value; `None` when
/// the header uses another scheme. The scheme name is case-insensitive.
pub fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    scheme_token(value, b"bearer")
}

/// The token of an `Authorization: DPoP <token>` header value (RFC 9449
/// §7.1); `None` when the header uses another scheme.
pub fn dpop_token(value: &[u8]) -> Option<&[u8]> {
    scheme_token(value, b"dpop")
}

/// The credential of an `Authorization: <scheme> <credential>` value when
/// its scheme is `scheme` (compared case-insensitively).
fn scheme_token<'v>(value: &'v [u8], scheme: &[u8]) -> Option<&'v [u8]> {
    let (name, rest) = value.split_at_checked(scheme.len() + 1)?;
    if !name[..scheme.len()].eq_ignore_ascii_case(scheme) || name[scheme.len()] != b' ' {
        return None;
    }
    let start = rest.iter().position(|b| *b != b' ')?;
    Some(rest[start..].trim_ascii_end())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer   abc "), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Bearerabc"), None);
        assert_eq!(super::dpop_token(b"DPoP abc"), Some(&b"abc"[..]));
        assert_eq!(super::dpop_token(b"dpop  abc"), Some(&b"abc"[..]));
        assert_eq!(super::dpop_token(b"Bearer abc"), None);
    }
}
