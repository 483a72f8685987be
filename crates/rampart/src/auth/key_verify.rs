//! Checking a presented API key: its form, then the store's answer for its
//! id (through [`KeyLookup`]), the hash compared in constant time, the key's
//! state, expiry and the schemes it was issued for.

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::auth::api_key::{KeyStore, KeyStoreError, MAX_KEY_LEN, StoredKey, hash_key, key_id};
use crate::auth::key_lookup::{KeyLookup, Lookup, LookupLimits};
use crate::clock::SharedClock;

/// Why a presented key was refused (audit only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFailure {
    Malformed,
    UnknownId,
    WrongSecret,
    Inactive,
    Expired,
    /// A valid key bound to other apiKey schemes than the one it was presented in.
    WrongScheme,
}

impl KeyFailure {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyFailure::Malformed => "malformed",
            KeyFailure::UnknownId => "unknown_key",
            KeyFailure::WrongSecret => "wrong_secret",
            KeyFailure::Inactive => "inactive",
            KeyFailure::Expired => "expired",
            KeyFailure::WrongScheme => "wrong_scheme",
        }
    }
}

/// The result of checking a presented key.
#[derive(Debug)]
pub(crate) enum KeyOutcome {
    Valid(Arc<StoredKey>),
    /// Refused; `key_id` is the well-formed id presented, for lockout counting.
    Invalid {
        why: KeyFailure,
        key_id: Option<String>,
    },
    Unavailable,
    /// The instance's remote lookups were all in use (answered 503 with
    /// `Retry-After` to this caller only).
    Busy,
}

/// Checks keys presented in one header against a store.
pub(crate) struct ApiKeyVerifier {
    pub(crate) header: http::HeaderName,
    pub(crate) lookup: KeyLookup,
    clock: SharedClock,
    /// The security scheme this verifier checks keys for: a key bound to
    /// other schemes is refused here.
    scheme: Option<String>,
}

impl std::fmt::Debug for ApiKeyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyVerifier")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl ApiKeyVerifier {
    pub(crate) fn new(
        header: http::HeaderName,
        store: Arc<dyn KeyStore>,
        clock: SharedClock,
        limits: LookupLimits,
    ) -> Self {
        ApiKeyVerifier {
            header,
            lookup: KeyLookup::new(store, clock.clone(), limits),
            clock,
            scheme: None,
        }
    }

    /// Check keys for security scheme `name` (keys bound to other schemes are refused).
    pub(crate) fn for_scheme(mut self, name: &str) -> Self {
        self.scheme = Some(name.to_owned());
        self
    }

    /// Check a presented key.
    pub(crate) async fn verify(&self, presented: &[u8]) -> KeyOutcome {
        let (text, id) = match parse_presented(presented) {
            Ok(parsed) => parsed,
            Err(outcome) => return outcome,
        };
        match self.lookup.lookup(id).await {
            Lookup::Answered(stored) => self.judge(text, id, stored),
            Lookup::Busy => KeyOutcome::Busy,
        }
    }

    /// [`verify`](Self::verify) without waiting, when the answer is held in
    /// memory; `None` when it needs a remote lookup.
    pub(crate) fn verify_now(&self, presented: &[u8]) -> Option<KeyOutcome> {
        let (text, id) = match parse_presented(presented) {
            Ok(parsed) => parsed,
            Err(outcome) => return Some(outcome),
        };
        let stored = self.lookup.now(id)?;
        Some(self.judge(text, id, stored))
    }

    /// The outcome for key `text` (id `id`) given the store's answer.
    fn judge(
        &self,
        text: &str,
        id: &str,
        stored: Result<Option<Arc<StoredKey>>, KeyStoreError>,
    ) -> KeyOutcome {
        let stored = match stored {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!(target: "rampart::audit", event = "apikey.store_unavailable", error = %e, "API key store unavailable");
                return KeyOutcome::Unavailable;
            }
        };
        let hash = hash_key(text);
        let Some(stored) = stored else {
            return invalid(KeyFailure::UnknownId, Some(id));
        };
        if !bool::from(stored.hash.ct_eq(&hash)) {
            return invalid(KeyFailure::WrongSecret, Some(id));
        }
        if !stored.active {
            return invalid(KeyFailure::Inactive, Some(id));
        }
        let now = i64::try_from(self.clock.unix_secs()).unwrap_or(i64::MAX);
        if stored.expires_at.is_some_and(|at| at <= now) {
            return invalid(KeyFailure::Expired, Some(id));
        }
        if let Some(scheme) = &self.scheme
            && !stored.schemes.is_empty()
            && !stored.schemes.iter().any(|s| s == scheme)
        {
            return invalid(KeyFailure::WrongScheme, Some(id));
        }
        KeyOutcome::Valid(stored)
    }
}

fn invalid(why: KeyFailure, key_id: Option<&str>) -> KeyOutcome {
    KeyOutcome::Invalid {
        why,
        key_id: key_id.map(str::to_owned),
    }
}

/// The presented key as text and its id, or why it is malformed.
fn parse_presented(presented: &[u8]) -> Result<(&str, &str), KeyOutcome> {
    let Some(text) = std::str::from_utf8(presented)
        .ok()
        .filter(|t| t.len() <= MAX_KEY_LEN)
    else {
        return Err(invalid(KeyFailure::Malformed, None));
    };
    let Some(id) = key_id(text) else {
        return Err(invalid(KeyFailure::Malformed, None));
    };
    Ok((text, id))
}
