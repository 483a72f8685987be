//! JWKS documents from a file or a URL: loaded at startup (an unreadable
//! JWKS refuses to start the server), cached, and refetched when a token names
//! an unknown `kid` or the copy grows old — but never more than once per
//! refresh interval, so forged `kid`s cannot make the server hammer the IdP.
//! Only the configured location is ever fetched: `kid`, `jku`, `x5u` and `jwk`
//! token headers are never followed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
#[cfg(feature = "jwks")]
use std::time::Duration;

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;

use crate::auth::keys::{KeySet, jwk_key};
use crate::clock::SharedClock;

/// Largest JWKS document accepted.
#[cfg(feature = "jwks")]
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Time allowed for one JWKS fetch.
#[cfg(feature = "jwks")]
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a JWKS document lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwksLocation {
    File(std::path::PathBuf),
    Url(String),
}

impl JwksLocation {
    /// A URL (`https://...`, or `http://` to a loopback host) or a file
    /// path. URLs are parsed with the `url` crate (WHATWG rules, as clients
    /// resolve them), and userinfo is refused: `http://localhost:80@evil.example/`
    /// names `evil.example`, not a loopback host.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if !t.contains("://") {
            return Ok(JwksLocation::File(t.into()));
        }
        let url =
            url::Url::parse(t).map_err(|e| format!("the JWKS URL `{t}` does not parse ({e})"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "the JWKS URL `{t}` carries userinfo (`user@` before the host); remove it: `localhost@evil.example` names evil.example, and credentials do not belong in URLs"
            ));
        }
        match url.scheme() {
            "https" => Ok(JwksLocation::Url(t.to_owned())),
            "http" => {
                let loopback = match url.host() {
                    Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                if loopback {
                    Ok(JwksLocation::Url(t.to_owned()))
                } else {
                    Err(format!(
                        "the JWKS URL `{t}` is plain http; use https (http is allowed only for localhost)"
                    ))
                }
            }
            _ => Err(format!(
                "the JWKS location `{t}` is neither an https URL nor a file path"
            )),
        }
    }
}

impl std::fmt::Display for JwksLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksLocation::File(p) => write!(f, "{}", p.display()),
            JwksLocation::Url(u) => f.write_str(u),
        }
    }
}

/// Parse a JWKS document, keeping the keys rampart can use.
pub(crate) fn parse_jwks(bytes: &[u8], allow: Option<&[Algorithm]>) -> Result<KeySet, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| "it is not JSON".to_owned())?;
    let entries = doc
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| "it has no `keys` array".to_owned())?;
    let keys = entries
        .iter()
        .filter_map(|e| serde_json::from_value::<Jwk>(e.clone()).ok())
        .filter_map(|jwk| jwk_key(&jwk, allow))
        .collect();
    Ok(KeySet { keys })
}

/// The HTTP client JWKS URLs are fetched with.
#[cfg(feature = "jwks")]
type HttpClient = reqwest::Client;

/// Without the `jwks` feature there is no HTTP client: URLs are refused.
#[cfg(not(feature = "jwks"))]
#[derive(Debug, Clone, Default)]
struct HttpClient;

#[cfg(not(feature = "jwks"))]
async fn fetch_url(_client: &HttpClient, _url: &str) -> Result<Vec<u8>, String> {
    Err("rampart was built without its `jwks` feature, which fetches JWKS URLs; enable it or use a JWKS file".to_owned())
}

#[cfg(not(feature = "jwks"))]
fn http_client() -> HttpClient {
    HttpClient
}

#[cfg(feature = "jwks")]
async fn fetch_url(client: &HttpClient, url: &str) -> Result<Vec<u8>, String> {
    let mut response = client
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|_| "the request failed".to_owned())?;
    if !response.status().is_success() {
        return Err(format!("the server answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| "reading the body failed".to_owned())?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("it is larger than {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(feature = "jwks")]
fn http_client() -> HttpClient {
    reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

async fn load(
    client: &HttpClient,
    location: &JwksLocation,
    allow: Option<&[Algorithm]>,
) -> Result<KeySet, String> {
    let bytes = match location {
        JwksLocation::File(path) => tokio::fs::read(path)
            .await
            .map_err(|e| format!("it cannot be read ({})", e.kind()))?,
        JwksLocation::Url(url) => fetch_url(client, url).await?,
    };
    parse_jwks(&bytes, allow)
}

/// Load a JWKS at startup, from sync code, whether or not a runtime is running.
pub(crate) fn load_blocking(
    location: &JwksLocation,
    allow: Option<&[Algorithm]>,
) -> Result<KeySet, String> {
    if let JwksLocation::File(path) = location {
        let bytes = std::fs::read(path).map_err(|e| format!("it cannot be read ({})", e.kind()))?;
        return parse_jwks(&bytes, allow);
    }
    let location = location.clone();
    let allow = allow.map(<[Algorithm]>::to_vec);
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|_| "no runtime to fetch it".to_owned())?;
            runtime.block_on(load(&http_client(), &location, allow.as_deref()))
        })
        .join()
        .unwrap_or_else(|_| Err("fetching it panicked".to_owned()))
    })
}

/// Refresh timing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JwksTiming {
    /// Fewest seconds between two fetches, whatever triggers them.
    pub(crate) min_interval: u64,
    /// Refetch (on the next token) once the copy is this old.
    pub(crate) max_age: u64,
    /// Stop trusting the keys once the copy is this old and refreshing it
    /// fails (`jwks-max-stale`); never less than `max_age`.
    pub(crate) max_stale: u64,
}

/// Default `jwks-max-stale`: a day.
pub(crate) const DEFAULT_MAX_STALE: u64 = 24 * 3600;

/// Set in [`JwksSource::generation`] while the keys are not trusted, so no
/// token verified with them is answered from the token cache.
const UNTRUSTED: u64 = 1 << 63;

/// A cached JWKS with throttled refresh.
pub(crate) struct JwksSource {
    location: JwksLocation,
    allow: Option<Vec<Algorithm>>,
    client: HttpClient,
    timing: JwksTiming,
    clock: SharedClock,
    keys: RwLock<Arc<KeySet>>,
    /// Bumped whenever the key set changes (the token cache follows it).
    generation: AtomicU64,
    fetched_at: AtomicU64,
    last_attempt: AtomicU64,
    fetches: AtomicU64,
    refresh: tokio::sync::Mutex<()>,
    /// A background refresh is running.
    refreshing: AtomicBool,
    /// Why the last refresh failed; `None` once one succeeds.
    last_error: std::sync::Mutex<Option<String>>,
    /// The last refresh failed (the lock-free copy of `last_error.is_some()`).
    failing: AtomicBool,
    /// The keys were found past `max_stale` (logged once per outage).
    untrusted: AtomicBool,
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksSource")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl JwksSource {
    /// Load the JWKS now (startup); an unreadable or empty JWKS is an error.
    pub(crate) fn open(
        location: JwksLocation,
        allow: Option<Vec<Algorithm>>,
        timing: JwksTiming,
        clock: SharedClock,
    ) -> Result<Self, String> {
        let keys = load_blocking(&location, allow.as_deref())?;
        if keys.keys.is_empty() {
            return Err("it holds no signing key rampart can use (RSA, EC P-256/P-384 or Ed25519, allowed algorithm, `use: sig`)".into());
        }
        let now = clock.unix_secs();
        Ok(JwksSource {
            location,
            allow,
            client: http_client(),
            timing,
            clock,
            keys: RwLock::new(Arc::new(keys)),
            generation: AtomicU64::new(0),
            fetched_at: AtomicU64::new(now),
            // The startup load is not a refresh: the first unknown kid may refetch at once.
            last_attempt: AtomicU64::new(0),
            fetches: AtomicU64::new(1),
            refresh: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
            last_error: std::sync::Mutex::new(None),
            failing: AtomicBool::new(false),
            untrusted: AtomicBool::new(false),
        })
    }

    /// The current keys.
    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .map_or_else(|p| p.into_inner().clone(), |k| k.clone())
    }

    /// Changes whenever the keys change, and while they are not
    /// [trusted](Self::trusted) (so the token cache answers nothing they verified).
    pub(crate) fn generation(&self) -> u64 {
        let generation = self.generation.load(Ordering::Acquire);
        if self.trusted() {
            generation
        } else {
            generation | UNTRUSTED
        }
    }

    /// Seconds since the keys were last loaded.
    fn age(&self) -> u64 {
        self.clock
            .unix_secs()
            .saturating_sub(self.fetched_at.load(Ordering::Relaxed))
    }

    /// Whether tokens may be verified with these keys: not when refreshing
    /// them has failed and the copy is older than `jwks-max-stale` (the
    /// identity provider may have revoked a key since; better refuse than
    /// trust it forever). A quiet server whose copy merely grew old is
    /// trusted until a refresh is tried and fails. Logs the change both ways.
    pub(crate) fn trusted(&self) -> bool {
        let stale_and_failing = self.failing.load(Ordering::Acquire)
            && self.age() >= self.timing.max_stale.max(self.timing.max_age);
        if stale_and_failing && !self.untrusted.swap(true, Ordering::AcqRel) {
            crate::telemetry::store_error("jwks");
            tracing::error!(
                target: "rampart::audit",
                event = "jwks.untrusted",
                jwks = %self.location,
                age_secs = self.age(),
                max_stale_secs = self.timing.max_stale,
                "JWKS could not be refreshed for longer than jwks-max-stale: tokens signed by its keys are refused (503) until a refresh succeeds"
            );
        }
        !stale_and_failing
    }

    /// How many times the document has been loaded (startup included).
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Readiness: `Err` with the reason while the last refresh failed (the
    /// cached keys keep serving meanwhile).
    pub(crate) fn health(&self) -> Result<(), String> {
        let last = self
            .last_error
            .lock()
            .map_or_else(|p| p.into_inner().clone(), |e| e.clone());
        match last {
            None => Ok(()),
            Some(reason) if !self.trusted() => Err(format!(
                "{}: {reason}; not refreshed for {}s, longer than jwks-max-stale ({}s): its keys are not trusted",
                self.location,
                self.age(),
                self.timing.max_stale.max(self.timing.max_age),
            )),
            Some(reason) => Err(format!("{}: {reason}", self.location)),
        }
    }

    fn set_error(&self, error: Option<String>) {
        self.failing.store(error.is_some(), Ordering::Release);
        match self.last_error.lock() {
            Ok(mut slot) => *slot = error,
            Err(poisoned) => *poisoned.into_inner() = error,
        }
    }

    /// Whether the cached copy is older than the maximum age.
    pub(crate) fn is_stale(&self) -> bool {
        self.clock
            .unix_secs()
            .saturating_sub(self.fetched_at.load(Ordering::Relaxed))
            >= self.timing.max_age
    }

    /// Start a refresh in the background (at most one at a time, and not
    /// within the refresh interval of the last attempt) and return at once:
    /// a stale copy keeps serving while the identity provider is slow or
    /// down. Without a Tokio runtime nothing happens.
    pub(crate) fn refresh_in_background(self: &Arc<Self>) {
        let now = self.clock.unix_secs();
        if now.saturating_sub(self.last_attempt.load(Ordering::Relaxed)) < self.timing.min_interval
        {
            return;
        }
        if self
            .refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refreshing.store(false, Ordering::Release);
            return;
        };
        let source = Arc::clone(self);
        runtime.spawn(async move {
            source.refresh().await;
            source.refreshing.store(false, Ordering::Release);
        });
    }

    /// Refetch unless a fetch happened within the refresh interval. Returns
    /// whether the keys were replaced. Concurrent callers share one fetch.
    pub(crate) async fn refresh(&self) -> bool {
        let seen = self.generation.load(Ordering::Acquire);
        let _guard = self.refresh.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return true; // another caller refreshed while we waited
        }
        let now = self.clock.unix_secs();
        if now.saturating_sub(self.last_attempt.load(Ordering::Relaxed)) < self.timing.min_interval
        {
            return false;
        }
        self.last_attempt.store(now, Ordering::Relaxed);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match load(&self.client, &self.location, self.allow.as_deref()).await {
            Ok(keys) if !keys.keys.is_empty() => {
                if let Ok(mut slot) = self.keys.write() {
                    *slot = Arc::new(keys);
                }
                self.fetched_at.store(now, Ordering::Relaxed);
                self.generation.fetch_add(1, Ordering::AcqRel);
                self.set_error(None);
                if self.untrusted.swap(false, Ordering::AcqRel) {
                    tracing::warn!(target: "rampart::audit", event = "jwks.trusted", jwks = %self.location, "JWKS refreshed: its keys are trusted again");
                }
                true
            }
            Ok(_) => {
                crate::telemetry::store_error("jwks");
                self.set_error(Some("no usable key".to_owned()));
                tracing::warn!(target: "rampart::audit", event = "jwks.refresh_failed", jwks = %self.location, reason = "no usable key", "JWKS refresh kept the previous keys");
                false
            }
            Err(reason) => {
                crate::telemetry::store_error("jwks");
                self.set_error(Some(reason.clone()));
                tracing::warn!(target: "rampart::audit", event = "jwks.refresh_failed", jwks = %self.location, %reason, "JWKS refresh kept the previous keys");
                false
            }
        }
    }
}
