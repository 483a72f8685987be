//! TLS with rustls: TLS 1.2 and 1.3 only, the aws-lc-rs provider with the
//! hybrid post-quantum key exchange X25519MLKEM768 preferred ([`KX_GROUPS`]),
//! AEAD suites only ([`CIPHER_SUITES`]: ECDHE with AES-GCM or
//! ChaCha20-Poly1305) in the server's order of preference, certificate and key from PEM files, reloaded without a restart
//! ([`CertReloader`]: on SIGHUP and when the files change), ALPN `h2` and
//! `http/1.1`. [`self_signed`] makes a throwaway certificate for demos and
//! tests, valid for 30 days ([`SELF_SIGNED_VALIDITY`]);
//! [`self_signed_cached`] keeps one on disk and replaces it a day before it
//! expires. None is ever committed.
//!
//! [`crate::server::serve_tls`] serves a router with it;
//! [`crate::server::redirect_listener`] answers plain HTTP with `301` to HTTPS.

mod reload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::crypto::aws_lc_rs::{self, cipher_suite, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::server::ResolvesServerCert;
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};

pub use reload::CertReloader;

use crate::error::ConfigError;
use crate::server::ServeConfig;

/// The protocol versions offered: TLS 1.3 and TLS 1.2, nothing older.
pub static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// ALPN protocols offered, preferred first.
pub const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// How to serve HTTPS.
#[derive(Debug)]
pub struct TlsConfig {
    /// Address, limits and shutdown, as for plain HTTP.
    pub serve: ServeConfig,
    /// PEM file with the certificate chain, leaf first.
    pub cert_path: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: PathBuf,
    /// How often to look for changed files; `None` turns polling off (default 5 s).
    pub reload_interval: Option<Duration>,
    /// Reload on SIGHUP (default `true`; Unix only).
    pub reload_on_sighup: bool,
    /// Longest a client may take to finish the handshake (default 10 s).
    pub handshake_timeout: Duration,
}

impl TlsConfig {
    /// Serve `serve.addr` with the certificate and key at these paths.
    pub fn new(
        serve: ServeConfig,
        cert_path: impl Into<PathBuf>,
        key_path: impl Into<PathBuf>,
    ) -> Self {
        TlsConfig {
            serve,
            cert_path: cert_path.into(),
            key_path: key_path.into(),
            reload_interval: Some(Duration::from_secs(5)),
            reload_on_sighup: true,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Key-exchange groups, preferred first: the hybrid post-quantum
/// X25519MLKEM768 (a client that offers it gets it), then the classical
/// X25519, P-256 and P-384 for clients without ML-KEM.
pub static KX_GROUPS: &[&dyn SupportedKxGroup] = &[
    kx_group::X25519MLKEM768,
    kx_group::X25519,
    kx_group::SECP256R1,
    kx_group::SECP384R1,
];

/// Cipher suites, in the server's order of preference: every one is an AEAD
/// (AES-GCM or ChaCha20-Poly1305) with forward-secret (EC)DHE key exchange;
/// no CBC, no RSA key transport, no SHA-1 MACs.
pub static CIPHER_SUITES: &[SupportedCipherSuite] = &[
    cipher_suite::TLS13_AES_256_GCM_SHA384,
    cipher_suite::TLS13_AES_128_GCM_SHA256,
    cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The crypto provider: aws-lc-rs (rustls' recommended provider) restricted
/// to [`CIPHER_SUITES`] and [`KX_GROUPS`].
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        kx_groups: KX_GROUPS.to_vec(),
        ..aws_lc_rs::default_provider()
    })
}

/// A rustls server configuration restricted to [`PROTOCOL_VERSIONS`],
/// choosing certificates with `resolver`, offering [`ALPN`].
pub fn server_config(
    resolver: Arc<dyn ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, ConfigError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(|e| ConfigError::tls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    // The server's order of preference decides the suite, not the client's.
    config.ignore_client_order = true;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Parse a PEM certificate chain and private key, checking that they match.
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, ConfigError> {
    let certs = rustls_pemfile::certs(&mut &*cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::tls(format!("unreadable certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ConfigError::tls("no certificate in the certificate file"));
    }
    let key = rustls_pemfile::private_key(&mut &*key_pem)
        .map_err(|e| ConfigError::tls(format!("unreadable key PEM: {e}")))?
        .ok_or_else(|| ConfigError::tls("no private key in the key file"))?;
    CertifiedKey::from_der(certs, key, &provider())
        .map_err(|e| ConfigError::tls(format!("certificate and key do not form a pair: {e}")))
}

/// How long a [`self_signed`] certificate is valid: 30 days (from an hour
/// ago, for clock skew), so a leaked dev key does not stay usable.
pub const SELF_SIGNED_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);

/// [`self_signed_cached`] replaces a certificate that expires within this.
pub const SELF_SIGNED_RENEW_BEFORE: Duration = Duration::from_secs(24 * 3600);

/// A self-signed certificate for `hosts` (DNS names or IP addresses), valid
/// for [`SELF_SIGNED_VALIDITY`]: `(certificate PEM, private key PEM)`. For
/// demos and tests only.
pub fn self_signed(hosts: &[&str]) -> Result<(String, String), ConfigError> {
    let failed =
        |e: rcgen::Error| ConfigError::tls(format!("could not generate a certificate: {e}"));
    let names: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names).map_err(failed)?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + SELF_SIGNED_VALIDITY;
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let cert = params.self_signed(&key).map_err(failed)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A self-signed certificate for `hosts` kept in `dir` as `cert.pem` and
/// `key.pem` (the key readable by the owner only, on Unix): the files there
/// are reused while they form a pair valid for every one of `hosts` for at
/// least another [`SELF_SIGNED_RENEW_BEFORE`] and no longer than a
/// [`self_signed`] certificate would be; otherwise (expired, about to
/// expire, for other names, unreadable, or a long-lived certificate from
/// before) a new pair replaces them. Returns `(cert_path, key_path)`.
pub fn self_signed_cached(dir: &Path, hosts: &[&str]) -> Result<(PathBuf, PathBuf), ConfigError> {
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    if let (Ok(cert), Ok(key)) = (std::fs::read(&cert_path), std::fs::read(&key_path))
        && cached_is_usable(&cert, &key, hosts, SystemTime::now())
    {
        return Ok((cert_path, key_path));
    }
    let (cert, key) = self_signed(hosts)?;
    let io = |path: &Path, e: std::io::Error| {
        ConfigError::tls(format!("cannot write {} ({})", path.display(), e.kind()))
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    write_private(&key_path, key.as_bytes()).map_err(|e| io(&key_path, e))?;
    std::fs::write(&cert_path, cert).map_err(|e| io(&cert_path, e))?;
    Ok((cert_path, key_path))
}

/// Write `bytes` to `path`, readable by the owner only (Unix).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Whether a cached pair matches, and its certificate is valid for every
/// host from `now` until at least [`SELF_SIGNED_RENEW_BEFORE`] later, but
/// not beyond what [`self_signed`] issues.
fn cached_is_usable(cert_pem: &[u8], key_pem: &[u8], hosts: &[&str], now: SystemTime) -> bool {
    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::{ServerName, UnixTime};

    if certified_key(cert_pem, key_pem).is_err() {
        return false;
    }
    let Some(Ok(cert)) = rustls_pemfile::certs(&mut &*cert_pem).next() else {
        return false;
    };
    let mut roots = rustls::RootCertStore::empty();
    if roots.add(cert.clone()).is_err() {
        return false;
    }
    let Ok(verifier) =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
    else {
        return false;
    };
    let at = |t: SystemTime| {
        UnixTime::since_unix_epoch(t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default())
    };
    !hosts.is_empty()
        && hosts.iter().all(|host| {
            let Ok(name) = ServerName::try_from(*host) else {
                return false;
            };
            let valid_at = |t: SystemTime| {
                verifier
                    .verify_server_cert(&cert, &[], &name, &[], at(t))
                    .is_ok()
            };
            valid_at(now)
                && valid_at(now + SELF_SIGNED_RENEW_BEFORE)
                && !valid_at(now + SELF_SIGNED_VALIDITY + SELF_SIGNED_RENEW_BEFORE)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_modern_suites() {
        for suite in provider().cipher_suites.iter() {
            let name = format!("{:?}", suite.suite());
            let modern = name.starts_with("TLS13_")
                || (name.starts_with("TLS_ECDHE_")
                    && (name.contains("_GCM_") || name.contains("CHACHA20_POLY1305")));
            assert!(modern, "{name}");
        }
    }

    #[test]
    fn self_signed_pair_loads() {
        let (cert, key) = self_signed(&["localhost", "127.0.0.1"]).unwrap();
        certified_key(cert.as_bytes(), key.as_bytes()).unwrap();
        let (_, other_key) = self_signed(&["localhost"]).unwrap();
        assert!(certified_key(cert.as_bytes(), other_key.as_bytes()).is_err());
        assert!(certified_key(b"nonsense", key.as_bytes()).is_err());
    }
}
