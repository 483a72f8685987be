//! `cargo xtask dpop-proof --method GET --url URL [--token TOKEN] [--key PEM
//! | --key-out PEM] [--nonce NONCE]`: print a DPoP proof (RFC 9449) for one
//! request, the value of its `DPoP:` header.
//!
//! A proof names the request's method and URL (`htm`, `htu`: scheme, host
//! and path as the server sees them, or as `RAMPART_PUBLIC_ORIGIN` says
//! behind a proxy), is valid about a minute and only once: make one per
//! request. With `--token` it is bound to that access token (`ath`), which
//! must carry `cnf: {"jkt": ...}` of the proof's key. `--key` signs with a
//! PEM private key (EC P-256 → ES256, P-384 → ES384, Ed25519 → EdDSA);
//! without it a P-256 key is generated (saved with `--key-out`), and its
//! thumbprint and how to bind a token to it are printed on stderr. Only the
//! proof goes to stdout, so `-H "DPoP: $(cargo xtask dpop-proof ...)"` works.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use jsonwebtoken::Algorithm;
use rampart::auth::dpop::ProofSigner;

/// `dpop-proof`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The request's method (`htm`).
    #[arg(long)]
    method: String,
    /// The request's URL (`htu`; query and fragment are left out).
    #[arg(long)]
    url: String,
    /// The access token the proof goes with (`ath`); it must be bound to the key (`cnf.jkt`).
    #[arg(long)]
    token: Option<String>,
    /// The client's PEM private key (EC P-256, P-384 or Ed25519); default: a new P-256 key.
    #[arg(long, value_name = "PEM", conflicts_with = "key_out")]
    key: Option<PathBuf>,
    /// Save the generated key here (PKCS#8 PEM), to sign the next proofs with `--key`.
    #[arg(long, value_name = "PEM")]
    key_out: Option<PathBuf>,
    /// The server's nonce (from a `DPoP-Nonce` answer header), when it asks for one.
    #[arg(long)]
    nonce: Option<String>,
}

/// A signer for a PEM private key, its algorithm read from the key.
pub(crate) fn signer_from_pem(pem: &str) -> anyhow::Result<ProofSigner> {
    let detected = rcgen::KeyPair::from_pem(pem).ok().and_then(|pair| {
        let alg = pair.algorithm();
        if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
            Some(Algorithm::ES256)
        } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
            Some(Algorithm::ES384)
        } else if alg == &rcgen::PKCS_ED25519 {
            Some(Algorithm::EdDSA)
        } else {
            None
        }
    });
    let candidates = match detected {
        Some(alg) => vec![alg],
        None => vec![Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA],
    };
    let mut last = String::new();
    for alg in candidates {
        match ProofSigner::from_pem(pem.as_bytes(), alg) {
            Ok(signer) => return Ok(signer),
            Err(e) => last = e,
        }
    }
    bail!("not an EC P-256, P-384 or Ed25519 private key in PEM: {last}")
}

/// A new EC P-256 key pair: its PKCS#8 PEM and its signer.
pub(crate) fn new_key() -> anyhow::Result<(String, ProofSigner)> {
    let pair = rcgen::KeyPair::generate().context("cannot generate a key pair")?;
    let pem = pair.serialize_pem();
    let signer =
        ProofSigner::from_pem(pem.as_bytes(), Algorithm::ES256).map_err(anyhow::Error::msg)?;
    Ok((pem, signer))
}

/// Write a private key readable by its owner only.
pub(crate) fn write_key(path: &std::path::Path, pem: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, pem.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Run `dpop-proof`.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let method = args.method.trim().to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        bail!("--method `{}` is not an HTTP method", args.method);
    }
    let signer = match &args.key {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the key {}", path.display()))?;
            signer_from_pem(&pem).with_context(|| path.display().to_string())?
        }
        None => {
            let (pem, signer) = new_key()?;
            let saved = match &args.key_out {
                Some(path) => {
                    write_key(path, &pem)?;
                    format!(
                        "saved to {}; sign the next proofs with --key {}",
                        path.display(),
                        path.display()
                    )
                }
                None => "not saved: pass --key-out PATH to keep it".to_owned(),
            };
            eprintln!("generated an EC P-256 key ({saved})");
            eprintln!("  jkt (RFC 7638 thumbprint): {}", signer.jkt());
            eprintln!(
                "  bind an access token to it with the claim \"cnf\": {{\"jkt\": \"{}\"}} and send it as `Authorization: DPoP <token>`;",
                signer.jkt()
            );
            eprintln!(
                "  `cargo xtask serve` dev mode prints tokens bound to its own dev key, with the dpop-proof command to use"
            );
            if args.token.is_some() {
                eprintln!(
                    "warning: --token was given without --key: that token is not bound to this new key, the server will refuse it"
                );
            }
            signer
        }
    };
    let proof = signer
        .proof(
            &method,
            &args.url,
            args.token.as_deref(),
            now(),
            args.nonce.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("--url: {e}"))?;
    println!("{proof}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::Value;

    fn part(token: &str, i: usize) -> Value {
        serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(i).unwrap())
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn keys_round_trip_through_pem_and_proofs_name_the_request() {
        let (pem, signer) = new_key().unwrap();
        let again = signer_from_pem(&pem).unwrap();
        assert_eq!(again.jkt(), signer.jkt());
        let proof = again
            .proof(
                "GET",
                "http://127.0.0.1:8000/v1/pets?x=1",
                Some("tok"),
                1_000,
                None,
            )
            .unwrap();
        let header = part(&proof, 0);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(header["jwk"].get("d").is_none(), "{header}");
        let claims = part(&proof, 1);
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "http://127.0.0.1:8000/v1/pets");
        assert_eq!(claims["ath"], rampart::auth::dpop::token_hash("tok"));
        assert!(signer_from_pem("not a key").is_err());
    }
}
