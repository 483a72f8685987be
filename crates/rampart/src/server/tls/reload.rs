//! Certificate reload without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use super::certified_key;
use crate::error::ConfigError;

/// Serves the current certificate to every handshake and replaces it when
/// the PEM files change. A new pair that fails to load (unreadable, or a key
/// that does not match the certificate, as while the files are being
/// rewritten) is logged and the old one kept.
#[derive(Debug)]
pub struct CertReloader {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    loaded: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl CertReloader {
    /// Load the pair at these paths.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<Self>, ConfigError> {
        let read = |p: &Path| {
            std::fs::read(p)
                .map_err(|e| ConfigError::tls(format!("cannot read {}: {e}", p.display())))
        };
        let (cert, key) = (read(cert_path)?, read(key_path)?);
        let pair = certified_key(&cert, &key)?;
        Ok(Arc::new(CertReloader {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            current: RwLock::new(Arc::new(pair)),
            loaded: Mutex::new((cert, key)),
        }))
    }

    /// Read the files again and switch to them if they changed. `Ok(true)`
    /// when a new certificate is now served.
    pub async fn reload(&self) -> Result<bool, ConfigError> {
        let read = |p: PathBuf| async move {
            tokio::fs::read(&p)
                .await
                .map_err(|e| ConfigError::tls(format!("cannot read {}: {e}", p.display())))
        };
        let cert = read(self.cert_path.clone()).await?;
        let key = read(self.key_path.clone()).await?;
        {
            let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            if loaded.0 == cert && loaded.1 == key {
                return Ok(false);
            }
        }
        let pair = certified_key(&cert, &key)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(pair);
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = (cert, key);
        tracing::info!(target: "rampart::audit", event = "tls.reload", cert = %self.cert_path.display(), "TLS certificate reloaded");
        Ok(true)
    }

    async fn reload_logged(&self, why: &str) {
        if let Err(e) = self.reload().await {
            tracing::warn!(target: "rampart::audit", event = "tls.reload-failed", trigger = why, error = %e, "TLS certificate not reloaded; keeping the current one");
        }
    }

    /// Watch for changes until `stop` turns true: poll every `interval` (if
    /// any) and reload on SIGHUP (if asked, on Unix). The SIGHUP handler is
    /// installed before this returns.
    pub(crate) fn watch(
        self: &Arc<Self>,
        interval: Option<Duration>,
        sighup: bool,
        mut stop: watch::Receiver<bool>,
    ) -> std::io::Result<tokio::task::JoinHandle<()>> {
        #[cfg(unix)]
        let mut hangup = if sighup {
            Some(tokio::signal::unix::signal(
                tokio::signal::unix::SignalKind::hangup(),
            )?)
        } else {
            None
        };
        #[cfg(not(unix))]
        let _ = sighup;
        let this = self.clone();
        Ok(tokio::spawn(async move {
            let mut ticker = interval.map(|i| {
                let mut t = tokio::time::interval(i);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            loop {
                let tick = async {
                    match ticker.as_mut() {
                        Some(t) => {
                            t.tick().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                #[cfg(unix)]
                let hup = async {
                    match hangup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hup = std::future::pending::<Option<()>>();
                tokio::select! {
                    () = tick => this.reload_logged("poll").await,
                    Some(()) = hup => this.reload_logged("sighup").await,
                    _ = stop.changed() => break,
                }
                if *stop.borrow() {
                    break;
                }
            }
        }))
    }
}

impl ResolvesServerCert for CertReloader {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}
