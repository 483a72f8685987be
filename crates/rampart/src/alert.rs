//! Security alerts: when a client is locked out, and when failed
//! authentications on one operation burst past a threshold (many clients
//! guessing at once), an `event=alert` audit line is written, the
//! `rampart_alerts_total` metric counts it, and — when
//! `RAMPART_ALERT_WEBHOOK` is set — a JSON event is POSTed to the webhook:
//!
//! ```json
//! {"type":"brute_force_detected","trigger":"lockout","client":"203.0.113.9",
//!  "operation":"login","count":5,"window_secs":900,"time":"2026-12-03T09:15:00Z"}
//! ```
//!
//! Never a credential, a subject or a key id. Delivery runs on a task of
//! its own behind a bounded queue ([`QUEUE`]): each POST has a timeout
//! ([`TIMEOUT`]) and is retried ([`ATTEMPTS`]); when the queue is full the
//! alert is dropped and counted, so a slow receiver never slows requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rampart_api::grammar::Rate;
use serde::Serialize;

use crate::clock::SharedClock;
use crate::net::ClientIp;

/// Alerts waiting for the webhook at most.
pub const QUEUE: usize = 256;
/// Time allowed for one POST.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// POSTs per alert, the first included.
pub const ATTEMPTS: u32 = 3;
/// Default burst: failed authentications on one operation per minute.
pub const DEFAULT_BURST: &str = "50/min";

/// The JSON body of an alert.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AlertEvent {
    /// Always `brute_force_detected`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `lockout` (one client) or `burst` (one operation, any clients).
    pub trigger: &'static str,
    /// The client locked out; `null` for a burst.
    pub client: Option<String>,
    /// The operation the failures were aimed at.
    pub operation: String,
    /// Failures counted.
    pub count: u64,
    /// Over how many seconds.
    pub window_secs: u64,
    /// When, RFC 3339 UTC.
    pub time: String,
}

/// Burst counting per operation, in fixed windows.
struct Window {
    start: u64,
    count: u64,
    alerted: bool,
}

/// The alerting of one `Security`.
pub(crate) struct Alerts {
    clock: SharedClock,
    burst: Rate,
    windows: Mutex<HashMap<String, Window>>,
    webhook: Option<tokio::sync::mpsc::Sender<AlertEvent>>,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("webhook", &self.webhook.is_some())
            .finish_non_exhaustive()
    }
}

impl Alerts {
    /// From `RAMPART_ALERT_BURST` and `RAMPART_ALERT_WEBHOOK` (checked here).
    pub(crate) fn new(
        clock: SharedClock,
        burst: Option<&str>,
        webhook: Option<&str>,
    ) -> Result<Self, String> {
        let burst_text = burst.unwrap_or(DEFAULT_BURST);
        let burst = rampart_api::grammar::parse_rate(burst_text)
            .map_err(|e| format!("RAMPART_ALERT_BURST `{burst_text}`: {}", e.message))?;
        let webhook = match webhook {
            None => None,
            Some(url) => Some(start_webhook(check_url(url)?)?),
        };
        Ok(Alerts {
            clock,
            burst,
            windows: Mutex::new(HashMap::new()),
            webhook,
        })
    }

    /// A client was locked out after `count` failures in `window_secs`.
    pub(crate) fn lockout(
        &self,
        client: Option<ClientIp>,
        operation: &str,
        count: u64,
        window_secs: u64,
    ) {
        self.raise(AlertEvent {
            kind: "brute_force_detected",
            trigger: "lockout",
            client: client.map(|c| c.to_string()),
            operation: operation.to_owned(),
            count,
            window_secs,
            time: self.now_text(),
        });
    }

    /// A failed authentication on `operation`: alerts once per window when
    /// the burst threshold is reached.
    pub(crate) fn failure(&self, operation: &str) {
        let window = self.burst.period.as_secs().max(1);
        let now = self.clock.unix_secs();
        let start = now - now % window;
        let reached = {
            let Ok(mut windows) = self.windows.lock() else {
                return;
            };
            if windows.len() >= 10_000 && !windows.contains_key(operation) {
                windows.retain(|_, w| w.start == start);
            }
            let w = windows.entry(operation.to_owned()).or_insert(Window {
                start,
                count: 0,
                alerted: false,
            });
            if w.start != start {
                *w = Window {
                    start,
                    count: 0,
                    alerted: false,
                };
            }
            w.count += 1;
            let reached = !w.alerted && w.count >= u64::from(self.burst.count);
            if reached {
                w.alerted = true;
            }
            reached.then_some(w.count)
        };
        if let Some(count) = reached {
            self.raise(AlertEvent {
                kind: "brute_force_detected",
                trigger: "burst",
                client: None,
                operation: operation.to_owned(),
                count,
                window_secs: window,
                time: self.now_text(),
            });
        }
    }

    fn now_text(&self) -> String {
        let secs = i64::try_from(self.clock.unix_secs()).unwrap_or(i64::MAX);
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    }

    fn raise(&self, event: AlertEvent) {
        crate::telemetry::alert(event.trigger);
        tracing::warn!(
            target: "rampart::audit",
            event = "alert",
            alert = event.kind,
            trigger = event.trigger,
            client_ip = %event.client.as_deref().unwrap_or("-"),
            operation = %crate::audit::Clean(&event.operation),
            count = event.count,
            window_secs = event.window_secs,
            "security alert: brute force detected"
        );
        if let Some(queue) = &self.webhook
            && queue.try_send(event).is_err()
        {
            crate::telemetry::alert_dropped();
            tracing::debug!(target: "rampart::audit", "alert webhook queue full: alert dropped");
        }
    }
}

/// The webhook URL: `https://`, or `http://` to a loopback address; no userinfo.
fn check_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| format!("RAMPART_ALERT_WEBHOOK is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("RAMPART_ALERT_WEBHOOK must not hold credentials in the URL".into());
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "RAMPART_ALERT_WEBHOOK must be https:// (plain http only to a loopback address), got {}://",
            url.scheme()
        )),
    }
}

#[cfg(feature = "jwks")]
fn start_webhook(url: url::Url) -> Result<tokio::sync::mpsc::Sender<AlertEvent>, String> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| "RAMPART_ALERT_WEBHOOK needs a Tokio runtime".to_owned())?;
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("RAMPART_ALERT_WEBHOOK: {e}"))?;
    let (sender, mut queue) = tokio::sync::mpsc::channel::<AlertEvent>(QUEUE);
    runtime.spawn(async move {
        while let Some(event) = queue.recv().await {
            deliver(&client, &url, &event).await;
        }
    });
    Ok(sender)
}

#[cfg(feature = "jwks")]
async fn deliver(client: &reqwest::Client, url: &url::Url, event: &AlertEvent) {
    let mut backoff = Duration::from_millis(200);
    for attempt in 1..=ATTEMPTS {
        match client.post(url.clone()).json(event).send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => {
                tracing::warn!(target: "rampart::audit", event = "alert_webhook_failed", attempt, status = response.status().as_u16(), "alert webhook refused the alert");
            }
            Err(_) => {
                tracing::warn!(target: "rampart::audit", event = "alert_webhook_failed", attempt, "alert webhook did not answer");
            }
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}

#[cfg(not(feature = "jwks"))]
fn start_webhook(_url: url::Url) -> Result<tokio::sync::mpsc::Sender<AlertEvent>, String> {
    Err("RAMPART_ALERT_WEBHOOK needs rampart's `jwks` feature (its HTTP client)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_https_or_loopback() {
        assert!(check_url("https://hooks.example.com/x").is_ok());
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        assert!(check_url("http://localhost/x").is_ok());
        assert!(check_url("http://hooks.example.com/x").is_err());
        assert!(check_url("https://user:pw@hooks.example.com/x").is_err());
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn a_burst_alerts_once_per_window() {
        let clock = crate::clock::ManualClock::at(1_000_020);
        let alerts = Alerts::new(std::sync::Arc::new(clock.clone()), Some("3/min"), None).unwrap();
        for _ in 0..10 {
            alerts.failure("login");
        }
        let windows = alerts.windows.lock().unwrap();
        let w = &windows["login"];
        assert_eq!((w.count, w.alerted), (10, true));
    }
}
