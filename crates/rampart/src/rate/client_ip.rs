//! Which client sent a request, without believing what the client says.
//!
//! By default the client is the socket peer. Forwarding headers are read only
//! when the peer is a trusted proxy, and then from the right: every proxy
//! appends the address it saw, so the right-most address that is *not* a
//! trusted proxy is the first one no trusted party vouches for beyond, the
//! client. Anything a client writes itself sits to the left of that and is
//! never used.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use http::{HeaderMap, HeaderName, header};
use ipnet::IpNet;
use serde::Deserialize;

use crate::rate::RateError;

/// Most forwarding hops examined before giving up (and keeping the last trusted one).
const MAX_HOPS: usize = 32;

pub use crate::net::ClientIp;

/// The forwarding header trusted proxies maintain. Only that one is read: a
/// client could write the other one freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`.
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            _ => Err(RateError::InvalidSetting {
                setting: "RAMPART_FORWARDED_HEADER",
                value: s.to_owned(),
                reason: "expected `x-forwarded-for` or `forwarded`".into(),
            }),
        }
    }
}

/// Proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Trust nobody: the client is always the socket peer (the default).
    pub fn none() -> Self {
        TrustedProxies::default()
    }

    /// Parse a comma-separated list of addresses and CIDRs, e.g.
    /// `10.0.0.0/8,192.168.1.1/32,fd00::/8` (an empty list trusts nobody).
    pub fn parse(list: &str) -> Result<Self, RateError> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            nets.push(parse_net(entry)?);
        }
        Ok(TrustedProxies {
            nets,
            header: ForwardedHeader::default(),
        })
    }

    /// Trust these networks (already parsed, e.g. by [`SecurityConfig`](crate::SecurityConfig)).
    pub fn from_nets(nets: Vec<IpNet>) -> Self {
        TrustedProxies {
            nets,
            header: ForwardedHeader::default(),
        }
    }

    /// `RAMPART_TRUSTED_PROXIES` and `RAMPART_FORWARDED_HEADER` from the
    /// environment (read where [`SecurityConfig`](crate::SecurityConfig)
    /// reads them), for a standalone [`RateLimitLayer`](crate::rate::RateLimitLayer).
    pub fn from_env() -> Result<Self, RateError> {
        let env = crate::config::client_address_env(|name| std::env::var(name).ok());
        let header = match env.forwarded_header {
            Some(h) => h.parse()?,
            None => ForwardedHeader::default(),
        };
        Ok(TrustedProxies::parse(env.trusted_proxies.as_deref().unwrap_or(""))?.header(header))
    }

    /// Read this forwarding header (default `X-Forwarded-For`).
    pub fn header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// The forwarding header read.
    pub fn forwarded_header(&self) -> ForwardedHeader {
        self.header
    }

    /// Whether nobody is trusted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

fn parse_net(entry: &str) -> Result<IpNet, RateError> {
    let bad = |reason: String| RateError::InvalidTrustedProxy {
        entry: entry.to_owned(),
        reason,
    };
    match entry.split_once('/') {
        None => IpAddr::from_str(entry)
            .map(|ip| IpNet::from(canonical(ip)))
            .map_err(|_| bad("not an IP address".into())),
        Some((addr, len)) => {
            let addr = IpAddr::from_str(addr)
                .map_err(|_| bad(format!("`{addr}` is not an IP address")))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len: u8 = len
                .parse()
                .map_err(|_| bad(format!("prefix length `{len}` is not a number")))?;
            if len > max {
                return Err(bad(format!(
                    "prefix length {len} is longer than {max} bits"
                )));
            }
            IpNet::new(addr, len)
                .map(|n| n.trunc())
                .map_err(|e| bad(e.to_string()))
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, seen on dual-stack sockets) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address: the socket `peer` unless it is a trusted proxy, in
/// which case the right-most address in the configured forwarding header
/// that is not itself a trusted proxy.
///
/// `None` when a trusted proxy vouches for something that is not an address:
/// an unreadable hop (`unknown`, an obfuscated name, garbage, bytes that are
/// not ASCII) reached before the first untrusted address, or more than 32
/// trusted hops. The client is then *unknown*; the proxy is never taken for
/// the client, which would put every client behind it in one rate bucket
/// and let one of them lock all the others out. Steps that need the client
/// address refuse such a request (fail closed); steps that do not keep
/// working. The header is split into hops as bytes, so a byte a client
/// wrote left of what the proxies appended is never looked at.
pub fn client_ip(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let mut walk = Walk {
        current: canonical(peer.ip()),
        walked: 0,
        trusted,
    };
    if !trusted.contains(walk.current) {
        return Some(walk.current);
    }
    let found = match trusted.header {
        ForwardedHeader::XForwardedFor => walk_values(
            headers.get_all(X_FORWARDED_FOR).iter().rev(),
            &mut walk,
            |value| {
                value
                    .rsplit(|&b| b == b',')
                    .filter(|h| !h.trim_ascii().is_empty())
                    .map(Some)
                    .collect()
            },
        ),
        ForwardedHeader::Forwarded => walk_values(
            headers.get_all(header::FORWARDED).iter().rev(),
            &mut walk,
            |value| forwarded_elements(value).into_iter().rev().collect(),
        ),
    };
    match found {
        Walked::Client(ip) => Some(ip),
        // Every hop trusted (or no header: the proxy itself is talking).
        Walked::AllTrusted => Some(walk.current),
        Walked::Unreadable => {
            unreadable_chain(trusted.header);
            None
        }
    }
}

/// How a walk over the forwarding header ended.
enum Walked {
    /// At the first untrusted address.
    Client(IpAddr),
    /// Past the left-most hop, every hop trusted.
    AllTrusted,
    /// At a hop that is not an address, or past [`MAX_HOPS`].
    Unreadable,
}

/// Walk the hops of each header value (right-most value first), each
/// value's hops listed right to left by `hops`.
fn walk_values<'v>(
    values: impl Iterator<Item = &'v http::HeaderValue>,
    walk: &mut Walk<'_>,
    hops: impl Fn(&'v [u8]) -> Vec<Option<&'v [u8]>>,
) -> Walked {
    for value in values {
        for hop in hops(value.as_bytes()) {
            match walk.step(hop.and_then(parse_hop)) {
                Step::Continue => {}
                Step::Done(end) => return end,
            }
        }
    }
    Walked::AllTrusted
}

/// Whether an unreadable forwarded chain was logged already (once per
/// process at `warn`, later at `debug`).
static UNREADABLE_LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn unreadable_chain(header: ForwardedHeader) {
    const WHY: &str = "a trusted proxy forwarded a client address that is not an IP address \
                       (`unknown`, an obfuscated name, garbage or non-ASCII bytes): the client \
                       IP is unknown; requests that need it are refused";
    let header = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    if !UNREADABLE_LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(target: "rampart::audit", event = "client_ip_unreadable", header, "{WHY}");
    } else {
        tracing::debug!(target: "rampart::audit", event = "client_ip_unreadable", header, "{WHY}");
    }
}

enum Step {
    Continue,
    Done(Walked),
}

struct Walk<'a> {
    current: IpAddr,
    walked: usize,
    trusted: &'a TrustedProxies,
}

impl Walk<'_> {
    /// Move one hop left: done at the first untrusted address, or at an
    /// unreadable hop (or past [`MAX_HOPS`]).
    fn step(&mut self, hop: Option<IpAddr>) -> Step {
        self.walked += 1;
        match hop {
            Some(ip) if self.walked <= MAX_HOPS => {
                self.current = ip;
                if self.trusted.contains(ip) {
                    Step::Continue
                } else {
                    Step::Done(Walked::Client(ip))
                }
            }
            _ => Step::Done(Walked::Unreadable),
        }
    }
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The `for=` value of each element of a `Forwarded` field value, in order
/// (`None` for an element without one). Commas and semicolons inside quoted
/// strings do not split.
fn forwarded_elements(value: &[u8]) -> Vec<Option<&[u8]>> {
    let mut out = Vec::new();
    let mut element_for = None;
    let mut pair_start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, &b) in value.iter().enumerate() {
        if in_quotes {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b';' | b',' => {
                if let Some(v) = for_param(&value[pair_start..i]) {
                    element_for = Some(v);
                }
                pair_start = i + 1;
                if b == b',' {
                    out.push(element_for.take());
                }
            }
            _ => {}
        }
    }
    if let Some(v) = for_param(&value[pair_start..]) {
        element_for = Some(v);
    }
    out.push(element_for);
    out
}

/// The value of a `for=` pair.
fn for_param(pair: &[u8]) -> Option<&[u8]> {
    let eq = pair.iter().position(|&b| b == b'=')?;
    let (name, v) = (&pair[..eq], &pair[eq + 1..]);
    name.trim_ascii()
        .eq_ignore_ascii_case(b"for")
        .then(|| v.trim_ascii())
}

/// One hop: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`,
/// optionally quoted. `unknown`, obfuscated names and anything not ASCII
/// are unreadable.
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let hop = std::str::from_utf8(hop.trim_ascii()).ok()?;
    let hop = hop
        .strip_prefix('"')
        .and_then(|h| h.strip_suffix('"'))
        .unwrap_or(hop);
    if let Ok(ip) = IpAddr::from_str(hop) {
        return Some(canonical(ip));
    }
    if let Ok(sock) = SocketAddr::from_str(hop) {
        return Some(canonical(sock.ip()));
    }
    let inner = hop.strip_prefix('[')?;
    let (addr, _) = inner.split_once(']')?;
    IpAddr::from_str(addr).ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 40000)
    }

    fn ip(found: Option<IpAddr>) -> String {
        found.map_or_else(|| "unknown".into(), |ip| ip.to_string())
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_says() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let h = xff(&["1.2.3.4"]);
        assert_eq!(
            client_ip(peer("203.0.113.9"), &h, &trusted),
            Some(peer("203.0.113.9").ip())
        );
        assert_eq!(
            client_ip(peer("10.0.0.1"), &h, &TrustedProxies::none()),
            Some(peer("10.0.0.1").ip())
        );
    }

    #[test]
    fn right_most_untrusted_hop_wins() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        // The client claimed 6.6.6.6; the edge proxy appended the real 198.51.100.7.
        let h = xff(&["6.6.6.6, 198.51.100.7", "192.168.1.1"]);
        assert_eq!(
            ip(client_ip(peer("10.1.2.3"), &h, &trusted)),
            "198.51.100.7"
        );
        // Ports and brackets are tolerated.
        let h = xff(&["[2001:db8::7]:443, 10.0.0.9:80"]);
        assert_eq!(ip(client_ip(peer("10.1.2.3"), &h, &trusted)), "2001:db8::7");
        // Garbage right of the trusted hops: the client is unknown, never the proxy.
        let h = xff(&["1.2.3.4, garbage"]);
        assert_eq!(ip(client_ip(peer("10.1.2.3"), &h, &trusted)), "unknown");
        // All hops trusted: the left-most one.
        let h = xff(&["10.9.9.9"]);
        assert_eq!(ip(client_ip(peer("10.1.2.3"), &h, &trusted)), "10.9.9.9");
    }

    #[test]
    fn forwarded_header_is_read_only_when_configured() {
        let trusted = TrustedProxies::parse("10.0.0.0/8")
            .unwrap()
            .header(ForwardedHeader::Forwarded);
        let mut h = HeaderMap::new();
        h.append(
            header::FORWARDED,
            HeaderValue::from_static(
                "for=6.6.6.6;by=\"x,y\", For=\"[2001:db8:cafe::17]:4711\";proto=https",
            ),
        );
        h.append(header::FORWARDED, HeaderValue::from_static("for=10.2.2.2"));
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("7.7.7.7"));
        assert_eq!(
            ip(client_ip(peer("10.1.1.1"), &h, &trusted)),
            "2001:db8:cafe::17"
        );
        let xff_trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(ip(client_ip(peer("10.1.1.1"), &h, &xff_trusted)), "7.7.7.7");
        let mut h = HeaderMap::new();
        h.append(header::FORWARDED, HeaderValue::from_static("for=unknown"));
        assert_eq!(ip(client_ip(peer("10.1.1.1"), &h, &trusted)), "unknown");
        // An element without `for=` says nothing about the client either.
        let mut h = HeaderMap::new();
        h.append(header::FORWARDED, HeaderValue::from_static("proto=https"));
        assert_eq!(ip(client_ip(peer("10.1.1.1"), &h, &trusted)), "unknown");
    }

    /// Issue 24, item 7: before, a header value that was not visible ASCII
    /// as a whole made the trusted proxy the client (one bucket and one
    /// lockout for everyone behind it).
    #[test]
    fn a_non_ascii_byte_never_makes_the_proxy_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let raw = |bytes: &[u8]| {
            let mut h = HeaderMap::new();
            h.append(X_FORWARDED_FOR, HeaderValue::from_bytes(bytes).unwrap());
            h
        };
        // The client wrote a non-ASCII byte; the proxy appended the real address.
        let h = raw(b"caf\xe9, 198.51.100.7");
        assert_eq!(
            ip(client_ip(peer("10.1.2.3"), &h, &trusted)),
            "198.51.100.7"
        );
        let h = raw(b"\xff\xfe, 198.51.100.7, 10.0.0.9");
        assert_eq!(
            ip(client_ip(peer("10.1.2.3"), &h, &trusted)),
            "198.51.100.7"
        );
        // The hop the proxy vouches for is itself unreadable: unknown.
        let h = raw(b"198.51.100.7\xe9");
        assert_eq!(ip(client_ip(peer("10.1.2.3"), &h, &trusted)), "unknown");
        let h = raw(b"198.51.100.7, 10.0.0.\xe9");
        assert_eq!(ip(client_ip(peer("10.1.2.3"), &h, &trusted)), "unknown");
        // The same in RFC 7239 `Forwarded`, quoted strings included.
        let fwd = trusted.clone().header(ForwardedHeader::Forwarded);
        let mut h = HeaderMap::new();
        h.append(
            header::FORWARDED,
            HeaderValue::from_bytes(b"for=\"caf\xe9\", for=198.51.100.8;by=\"\xe9,x\"").unwrap(),
        );
        assert_eq!(ip(client_ip(peer("10.1.2.3"), &h, &fwd)), "198.51.100.8");
        let mut h = HeaderMap::new();
        h.append(
            header::FORWARDED,
            HeaderValue::from_bytes(b"for=\"\xe9\"").unwrap(),
        );
        assert_eq!(ip(client_ip(peer("10.1.2.3"), &h, &fwd)), "unknown");
        // More trusted hops than are examined: unknown, not the 32nd proxy.
        let chain = vec!["10.0.0.1"; MAX_HOPS + 1].join(", ");
        assert_eq!(
            ip(client_ip(peer("10.1.2.3"), &xff(&[&chain]), &trusted)),
            "unknown"
        );
        // No header from a trusted peer: the proxy itself is the client.
        assert_eq!(
            ip(client_ip(peer("10.1.2.3"), &HeaderMap::new(), &trusted)),
            "10.1.2.3"
        );
    }

    #[test]
    fn mapped_addresses_and_parse_errors() {
        let trusted = TrustedProxies::parse("127.0.0.1").unwrap();
        assert!(trusted.contains("::ffff:127.0.0.1".parse().unwrap()));
        let err = TrustedProxies::parse("10.0.0.0/8, nonsense").unwrap_err();
        assert!(err.to_string().contains("`nonsense`"), "{err}");
        let err = TrustedProxies::parse("10.0.0.0/40").unwrap_err();
        assert!(err.to_string().contains("longer than 32"), "{err}");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }
}
