//! Network facts shared by every step: the client address type, and host
//! names and authorities (CORS exact origins, the HTTPS redirect's `Host`).

use std::fmt;
use std::net::IpAddr;

/// The client's address as the pipeline established it (the socket peer, or
/// the forwarded client when the peer is a trusted proxy): the ONE client-IP
/// type. The front computes it once per request into the
/// [`RequestContext`](crate::context::RequestContext); audit events, the
/// lockout and IP quotas read it from there. As a request extension set
/// upstream, [`RateLimitLayer`](crate::rate::RateLimitLayer) uses it
/// instead of computing it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl fmt::Display for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ClientIp {
    /// A log field for a client IP that may be unknown: the address, or `-`.
    pub(crate) fn or_dash(ip: Option<ClientIp>) -> impl fmt::Display + Copy {
        #[derive(Clone, Copy)]
        struct OrDash(Option<ClientIp>);
        impl fmt::Display for OrDash {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0 {
                    Some(ip) => ip.fmt(f),
                    None => f.write_str("-"),
                }
            }
        }
        OrDash(ip)
    }
}

/// The host part of an authority (`name[:port]`, `[v6][:port]`: a `Host`
/// header, an origin without its scheme) if the host is a DNS name, an IPv4
/// address or a bracketed IPv6 address and the port, if any, is a port.
pub(crate) fn host_of(authority: &str) -> Option<&str> {
    if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6.split_once(']')?;
        addr.parse::<std::net::Ipv6Addr>().ok()?;
        valid_port(after)?;
        return Some(&authority[..addr.len() + 2]);
    }
    let (host, after) = authority
        .find(':')
        .map_or((authority, ""), |i| authority.split_at(i));
    valid_port(after)?;
    let labels_ok = host.len() <= 253
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    labels_ok.then_some(host)
}

fn valid_port(after: &str) -> Option<()> {
    match after.strip_prefix(':') {
        None if after.is_empty() => Some(()),
        Some(port) if !port.is_empty() && port.parse::<u16>().is_ok() => Some(()),
        _ => None,
    }
}
