//! Host names and authorities, shared by CORS (exact origins) and the
//! HTTPS redirect (the `Host` header).

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
