//! The embedded API key store: a TOML file of key hashes, written by
//! `cargo xtask apikey new|revoke` and re-read by the server when it changes.
//!
//! ```toml
//! # rampart API keys: hashes only, never keys. Manage with `cargo xtask apikey`.
//! [[keys]]
//! id = "3f9a0c2b7d1e4a65"
//! hash = "sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
//! roles = ["admin"]
//! active = true
//! expires = "2027-01-01T00:00:00Z"   # optional
//! created = "2026-01-01T12:00:00Z"   # informational
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::auth::api_key::{BoxFuture, KeyRecord, KeyStore, KeyStoreError, StoredKey};
use crate::clock::{SharedClock, SystemClock};

/// Default file name of the key file.
pub const DEFAULT_KEY_FILE: &str = "rampart-keys.toml";
/// Default seconds between checks of the key file for changes.
pub const DEFAULT_RELOAD_SECS: u64 = 5;

const HEADER: &str =
    "# rampart API keys: hashes only, never keys. Manage with `cargo xtask apikey`.\n";

/// The contents of a key file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// The keys, in the order they were added.
    #[serde(default)]
    pub keys: Vec<KeyRecord>,
}

impl KeyFile {
    /// Parse a key file's text; every record is checked.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: KeyFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        for (i, record) in file.keys.iter().enumerate() {
            StoredKey::from_record(record)?;
            if file.keys[..i].iter().any(|r| r.id == record.id) {
                return Err(format!("key id `{}` appears twice", record.id));
            }
        }
        Ok(file)
    }

    /// Read a key file; a file that does not exist reads as empty.
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyFile::default()),
            Err(e) => Err(format!("{}: cannot be read ({})", path.display(), e.kind())),
        }
    }

    /// Write the file atomically (a temporary file renamed over it), readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = toml::to_string(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("toml.tmp");
        let write = || -> std::io::Result<()> {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            std::io::Write::write_all(&mut file, HEADER.as_bytes())?;
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| format!("{}: cannot be written ({e})", path.display()))
    }

    /// Add a record.
    pub fn add(&mut self, record: KeyRecord) {
        self.keys.push(record);
    }

    /// Mark a key inactive; false if there is no such key.
    pub fn revoke(&mut self, id: &str) -> bool {
        match self.keys.iter_mut().find(|r| r.id == id) {
            Some(record) => {
                record.active = false;
                true
            }
            None => false,
        }
    }

    fn index(&self) -> HashMap<String, Arc<StoredKey>> {
        self.keys
            .iter()
            .filter_map(|r| StoredKey::from_record(r).ok())
            .map(|k| (k.id.clone(), Arc::new(k)))
            .collect()
    }
}

type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Keys from a key file, re-read when the file changes (checked at most every
/// reload interval, on lookup). A file that becomes unreadable or invalid keeps
/// the previous keys and logs an error.
pub struct FileKeyStore {
    path: PathBuf,
    keys: RwLock<Arc<HashMap<String, Arc<StoredKey>>>>,
    stamp: Mutex<Stamp>,
    last_check: AtomicU64,
    reload_secs: u64,
    clock: SharedClock,
}

impl std::fmt::Debug for FileKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileKeyStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileKeyStore {
    /// Open a key file; it must exist and be valid.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, String> {
        Self::open_with(path, Arc::new(SystemClock), DEFAULT_RELOAD_SECS)
    }

    /// Open with a clock and a reload interval (seconds).
    pub fn open_with(
        path: impl Into<PathBuf>,
        clock: SharedClock,
        reload_secs: u64,
    ) -> Result<Self, String> {
        let path = path.into();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "the API key file {} cannot be read ({})",
                path.display(),
                e.kind()
            )
        })?;
        let file = KeyFile::parse(&text)
            .map_err(|e| format!("the API key file {} is invalid: {e}", path.display()))?;
        let now = clock.unix_secs();
        Ok(FileKeyStore {
            stamp: Mutex::new(stamp(&path)),
            keys: RwLock::new(Arc::new(file.index())),
            path,
            last_check: AtomicU64::new(now),
            reload_secs,
            clock,
        })
    }

    /// Re-read the file now if it changed.
    pub fn reload(&self) {
        let current = stamp(&self.path);
        let Ok(mut seen) = self.stamp.lock() else {
            return;
        };
        if *seen == current {
            return;
        }
        match KeyFile::load(&self.path) {
            Ok(file) => {
                if let Ok(mut keys) = self.keys.write() {
                    *keys = Arc::new(file.index());
                }
                *seen = current;
            }
            Err(e) => {
                tracing::error!(target: "rampart::audit", event = "apikey.file_invalid", error = %e, "kept the previous API keys");
            }
        }
    }

    /// The key with this id, reloading the file first when it is due.
    fn find(&self, id: &str) -> Option<Arc<StoredKey>> {
        self.maybe_reload();
        self.keys
            .read()
            .map_or_else(|p| p.into_inner().get(id).cloned(), |k| k.get(id).cloned())
    }

    fn maybe_reload(&self) {
        let now = self.clock.unix_secs();
        let last = self.last_check.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= self.reload_secs
            && self
                .last_check
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.reload();
        }
    }
}

impl KeyStore for FileKeyStore {
    fn lookup<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<StoredKey>>, KeyStoreError>> {
        Box::pin(std::future::ready(Ok(self.find(id))))
    }

    fn lookup_now(&self, id: &str) -> Option<Result<Option<Arc<StoredKey>>, KeyStoreError>> {
        Some(Ok(self.find(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::api_key::NewKey;

    #[test]
    fn round_trips_and_revokes() {
        let dir = std::env::temp_dir().join(format!("rampart-keyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.toml");
        let mut file = KeyFile::load(&path).unwrap();
        let new = NewKey::generate(vec!["admin".into()], Some("2030-01-01".into()), 0);
        file.add(new.record.clone());
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&new.key));
        let mut again = KeyFile::load(&path).unwrap();
        assert_eq!(again.keys, vec![new.record.clone()]);
        assert!(again.revoke(&new.record.id));
        assert!(!again.keys[0].active);
        assert!(!again.revoke("0000000000000000"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn invalid_files_say_what_is_wrong() {
        let err = KeyFile::parse("[[keys]]\nid = \"x\"\nhash = \"md5:00\"\n").unwrap_err();
        assert!(err.contains("sha256:"), "{err}");
        let err =
            KeyFile::parse("[[keys]]\nid = \"x\"\nhash = \"sha256:00\"\nsecret = 1\n").unwrap_err();
        assert!(err.contains("secret"), "{err}");
    }
}
