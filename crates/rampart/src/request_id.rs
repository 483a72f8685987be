//! Request ids: every request gets a fresh UUID v4 from the server, echoed
//! on the response, put in the request's extensions and headers for
//! handlers and the pipeline, and recorded on the `rampart::audit` span every
//! audit event of the request is emitted in.
//!
//! A caller's own `x-request-id` is not trusted by default: a client that
//! chooses the id the logs are keyed by can make its requests collide with
//! someone else's, or pass for another request in an incident. A well-formed
//! one is kept beside the server's id instead: echoed in
//! `X-Client-Request-Id` and recorded as `client_request_id`. With
//! `trust-incoming = true` (behind a gateway that assigns ids) a well-formed
//! caller id becomes the request id, as before.

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

/// The default request id header.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The response header echoing a caller's own (untrusted) request id.
pub const X_CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-client-request-id");

/// Longest caller-supplied request id accepted; longer ones are replaced.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Request id settings (`[harden.request-id]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RequestIdConfig {
    /// The header carrying the id (default `x-request-id`).
    #[serde(deserialize_with = "crate::headers::header_name")]
    pub header: HeaderName,
    /// Use a well-formed id sent by the caller as the request id (default
    /// `false`: the server always generates one, and echoes a well-formed
    /// caller id in `X-Client-Request-Id`). Turn on only behind a gateway
    /// that sets the header itself.
    pub trust_incoming: bool,
}

impl Default for RequestIdConfig {
    fn default() -> Self {
        RequestIdConfig {
            header: X_REQUEST_ID,
            trust_incoming: false,
        }
    }
}

/// What [`RequestIds::assign_all`] decided for one request.
#[derive(Debug, Clone)]
pub struct Assigned {
    /// The request's id.
    pub id: RequestId,
    /// The incoming header value the id replaced in the request headers (a
    /// malformed one; or, when incoming ids are not trusted, whatever the
    /// caller sent), so header validation judges what the client sent.
    pub replaced: Option<HeaderValue>,
    /// The caller's own well-formed id, when it is not the request id
    /// (incoming ids not trusted): echoed in `X-Client-Request-Id`.
    pub client: Option<RequestId>,
}

/// The id of one request: a request and response extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// A fresh random UUID v4.
    pub fn generate() -> Self {
        let bits = rand::random::<u128>() & !(0xf << 76) & !(0x3 << 62) | (0x4 << 76) | (0x2 << 62);
        let bytes = bits.to_be_bytes();
        let mut text = [0u8; 36];
        let mut at = 0;
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                text[at] = b'-';
                at += 1;
            }
            const HEX: &[u8; 16] = b"0123456789abcdef";
            text[at] = HEX[usize::from(byte >> 4)];
            text[at + 1] = HEX[usize::from(byte & 0xf)];
            at += 2;
        }
        RequestId(HeaderValue::from_bytes(&text).expect("hex digits and dashes"))
    }

    /// A caller-supplied id, if well formed: 1 to 128 characters of
    /// `A-Z a-z 0-9 - _ . :` (nothing that could forge a log line).
    pub fn parse(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        valid.then(|| RequestId(value.clone()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        self.0.to_str().unwrap_or_default()
    }

    /// The id as a header value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Assigns request ids; built once from [`RequestIdConfig`].
#[derive(Debug, Clone)]
pub struct RequestIds {
    header: HeaderName,
    trust_incoming: bool,
}

impl RequestIds {
    /// From the settings.
    pub fn new(cfg: &RequestIdConfig) -> Self {
        RequestIds {
            header: cfg.header.clone(),
            trust_incoming: cfg.trust_incoming,
        }
    }

    /// The header name.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// Whether a caller's well-formed id becomes the request id.
    pub fn trusts_incoming(&self) -> bool {
        self.trust_incoming
    }

    /// [`assign`](Self::assign), also returning the incoming value it
    /// replaced (so an operation that declares the header as a parameter
    /// can still refuse it).
    pub fn assign_noting(&self, headers: &mut HeaderMap) -> (RequestId, Option<HeaderValue>) {
        let assigned = self.assign_all(headers);
        (assigned.id, assigned.replaced)
    }

    /// Choose the request's id and write it into the request headers: the
    /// caller's well-formed id when incoming ids are trusted, else a fresh
    /// one, noting the caller's value it replaced and (untrusted) the
    /// caller's well-formed id to echo separately.
    pub fn assign_all(&self, headers: &mut HeaderMap) -> Assigned {
        let incoming = headers.get(&self.header);
        if self.trust_incoming
            && let Some(id) = incoming.and_then(RequestId::parse)
        {
            return Assigned {
                id,
                replaced: None,
                client: None,
            };
        }
        let replaced = incoming.cloned();
        let client = if self.trust_incoming {
            None
        } else {
            replaced.as_ref().and_then(RequestId::parse)
        };
        let id = RequestId::generate();
        headers.insert(self.header.clone(), id.0.clone());
        Assigned {
            id,
            replaced,
            client,
        }
    }

    /// Choose the request's id, write it into the request headers (replacing a
    /// malformed one), and return it (the front puts it in the
    /// [`RequestContext`](crate::context::RequestContext)).
    pub fn assign(&self, headers: &mut HeaderMap) -> RequestId {
        self.assign_all(headers).id
    }

    /// Echo the id on the response.
    pub fn echo(&self, id: &RequestId, headers: &mut HeaderMap) {
        headers.insert(self.header.clone(), id.0.clone());
    }

    /// Echo the caller's own (untrusted) id in `X-Client-Request-Id`.
    pub fn echo_client(&self, id: &RequestId, headers: &mut HeaderMap) {
        headers.insert(X_CLIENT_REQUEST_ID, id.0.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_uuid_v4() {
        let id = RequestId::generate();
        let s = id.as_str();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"), "{s}");
        assert_ne!(RequestId::generate(), id);
    }

    #[test]
    fn incoming_ids_are_not_trusted_by_default() {
        let ids = RequestIds::new(&RequestIdConfig::default());
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        let assigned = ids.assign_all(&mut headers);
        assert_ne!(assigned.id.as_str(), "abc-123");
        assert_eq!(headers[X_REQUEST_ID], assigned.id.as_str());
        assert_eq!(assigned.client.unwrap().as_str(), "abc-123");
        assert_eq!(assigned.replaced.unwrap(), "abc-123");

        headers.insert(X_REQUEST_ID, HeaderValue::from_static("evil\tline"));
        let assigned = ids.assign_all(&mut headers);
        assert!(assigned.client.is_none());
        assert_eq!(assigned.replaced.unwrap(), "evil\tline");
    }

    #[test]
    fn malformed_incoming_ids_are_replaced() {
        let ids = RequestIds::new(&RequestIdConfig {
            trust_incoming: true,
            ..RequestIdConfig::default()
        });
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("evil\tline"));
        let id = ids.assign(&mut headers);
        assert_ne!(id.as_str(), "evil\tline");
        assert_eq!(headers[X_REQUEST_ID], id.as_str());

        headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(ids.assign(&mut headers).as_str(), "abc-123");
    }
}
