//! What a bucket is keyed by.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv6Addr};

use sha2::{Digest, Sha256};

use crate::principal::{AuthMethod, Principal};
use rampart_api::policy::RateKey;

/// Who a bucket belongs to. The kinds live in separate namespaces, so a
/// subject named `10.0.0.1` never shares a bucket with that address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateKeyValue<'a> {
    /// An authenticated subject (JWT `sub`) of a token without `iss`.
    Subject(&'a str),
    /// An authenticated subject of the issuer that vouched for it: two
    /// identity providers' `alice` are two callers, with two buckets.
    IssuedSubject {
        /// The token's `iss`.
        issuer: &'a str,
        /// The token's `sub` (or `client_id`, where the scheme allows it).
        subject: &'a str,
    },
    /// An API key id.
    ApiKey(&'a str),
    /// A client address; IPv6 addresses are grouped by /64 (see [`ip_bucket`]).
    Ip(IpAddr),
    /// Any other key chosen by the caller.
    Custom(&'a str),
}

impl<'a> From<&'a str> for RateKeyValue<'a> {
    fn from(key: &'a str) -> Self {
        RateKeyValue::Custom(key)
    }
}

impl<'a> From<&'a String> for RateKeyValue<'a> {
    fn from(key: &'a String) -> Self {
        RateKeyValue::Custom(key)
    }
}

impl From<IpAddr> for RateKeyValue<'_> {
    fn from(ip: IpAddr) -> Self {
        RateKeyValue::Ip(ip)
    }
}

impl<'a> RateKeyValue<'a> {
    /// The key for a caller: the principal's API key id or subject when
    /// authenticated, else the client address.
    pub fn for_caller(principal: Option<&'a Principal>, client_ip: IpAddr) -> Self {
        match principal {
            Some(p) => match (&p.key_id, p.method) {
                (Some(id), _) => RateKeyValue::ApiKey(id),
                (None, AuthMethod::ApiKey) => RateKeyValue::ApiKey(&p.subject),
                (None, AuthMethod::Jwt) => match &p.issuer {
                    Some(issuer) => RateKeyValue::IssuedSubject {
                        issuer,
                        subject: &p.subject,
                    },
                    None => RateKeyValue::Subject(&p.subject),
                },
            },
            None => RateKeyValue::Ip(client_ip),
        }
    }

    /// The key an operation's `rate-key` asks for: [`RateKey::Principal`]
    /// is [`for_caller`](Self::for_caller), [`RateKey::Ip`] always the address.
    pub fn for_policy(
        rate_key: RateKey,
        principal: Option<&'a Principal>,
        client_ip: IpAddr,
    ) -> Self {
        match rate_key {
            RateKey::Principal => Self::for_caller(principal, client_ip),
            RateKey::Ip => RateKeyValue::Ip(client_ip),
        }
    }

    /// [`for_policy`](Self::for_policy) when the client address may be
    /// unknown (a server run without the peer address): `None` when the key
    /// would be that address, so the caller can fail closed instead of
    /// putting every client in one bucket.
    pub fn for_policy_if_known(
        rate_key: RateKey,
        principal: Option<&'a Principal>,
        client_ip: Option<IpAddr>,
    ) -> Option<Self> {
        match (client_ip, rate_key, principal) {
            (Some(ip), ..) => Some(Self::for_policy(rate_key, principal, ip)),
            (None, RateKey::Principal, Some(principal)) => {
                // The address is not part of an authenticated caller's key.
                Some(Self::for_caller(
                    Some(principal),
                    IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                ))
            }
            (None, ..) => None,
        }
    }

    fn tag(&self) -> &'static str {
        match self {
            RateKeyValue::Subject(_) => "sub",
            RateKeyValue::IssuedSubject { .. } => "iss",
            RateKeyValue::ApiKey(_) => "key",
            RateKeyValue::Ip(_) => "ip",
            RateKeyValue::Custom(_) => "k",
        }
    }

    /// Feed the key to a hasher, without allocating.
    pub(crate) fn hash_into<H: Hasher>(&self, state: &mut H) {
        self.tag().hash(state);
        match self {
            RateKeyValue::Subject(s) | RateKeyValue::ApiKey(s) | RateKeyValue::Custom(s) => {
                s.hash(state)
            }
            RateKeyValue::IssuedSubject { issuer, subject } => {
                issuer.hash(state);
                subject.hash(state);
            }
            RateKeyValue::Ip(ip) => ip_bucket(*ip).hash(state),
        }
    }

    /// The Redis key: `{prefix}:{<scope>:<kind>:<value>}`. The braces make the
    /// whole bucket name the Redis Cluster hash tag. Parts that are long or
    /// hold characters other than printable ASCII (or braces) are replaced by
    /// a SHA-256 prefix, so keys stay short and the tag stays intact.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn redis_key(&self, prefix: &str, scope: &str) -> String {
        let mut out = String::with_capacity(prefix.len() + scope.len() + 48);
        out.push_str(prefix);
        out.push_str(":{");
        push_safe(&mut out, scope);
        out.push(':');
        self.push_value_part(&mut out);
        out.push('}');
        out
    }

    /// The part of the Redis key after the scope: `<kind>:<value>`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn value_part(&self) -> String {
        let mut out = String::with_capacity(48);
        self.push_value_part(&mut out);
        out
    }

    fn push_value_part(&self, out: &mut String) {
        out.push_str(self.tag());
        out.push(':');
        match self {
            RateKeyValue::Subject(s) | RateKeyValue::ApiKey(s) | RateKeyValue::Custom(s) => {
                push_safe(out, s)
            }
            RateKeyValue::IssuedSubject { issuer, subject } => {
                push_safe(out, issuer);
                out.push(':');
                push_safe(out, subject);
            }
            RateKeyValue::Ip(ip) => {
                let _ = write!(out, "{}", ip_bucket(*ip));
            }
        }
    }
}

#[cfg_attr(not(feature = "redis"), allow(dead_code))]
const MAX_PLAIN_PART: usize = 128;

#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn push_safe(out: &mut String, part: &str) {
    let plain = part.len() <= MAX_PLAIN_PART
        && part
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
    if plain {
        out.push_str(part);
    } else {
        let digest = Sha256::digest(part.as_bytes());
        out.push('#');
        out.push_str(&hex::encode(&digest[..16]));
    }
}

/// The address a bucket is keyed by: IPv4 as is (IPv4-mapped IPv6 addresses
/// become IPv4), IPv6 truncated to its /64 network. A host usually holds a
/// whole /64, so counting per address would let it rotate addresses for a
/// fresh bucket each time.
pub fn ip_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_grouped_by_64_and_mapped_v4_unwrapped() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_bucket(a), ip_bucket(b));
        assert_ne!(ip_bucket(a), ip_bucket(c));
        assert_eq!(ip_bucket(a).to_string(), "2001:db8:1:2::");
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(ip_bucket(mapped).to_string(), "10.1.2.3");
    }

    #[test]
    fn redis_keys_are_hash_tagged_and_safe() {
        assert_eq!(
            RateKeyValue::Subject("alice").redis_key("rampart:rl", "deletePet"),
            "rampart:rl:{deletePet:sub:alice}"
        );
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(
            RateKeyValue::Ip(ip).redis_key("p", "default"),
            "p:{default:ip:192.0.2.7}"
        );
        let nasty = RateKeyValue::Subject("a}b{c d").redis_key("p", "op");
        assert!(nasty.starts_with("p:{op:sub:#"), "{nasty}");
        assert_eq!(nasty.matches('{').count(), 1);
        assert_eq!(nasty.matches('}').count(), 1);
        let issued = |issuer| RateKeyValue::IssuedSubject {
            issuer,
            subject: "alice",
        };
        assert_eq!(
            issued("https://idp-a").redis_key("p", "op"),
            "p:{op:iss:https://idp-a:alice}"
        );
        assert_ne!(
            issued("https://idp-a").redis_key("p", "op"),
            issued("https://idp-b").redis_key("p", "op")
        );
    }
}
