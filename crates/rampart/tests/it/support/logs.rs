//! Log capture: what rampart writes through `tracing`, as text to assert on.
//!
//! `tracing` keeps process-wide state (the global subscriber, each
//! callsite's cached interest), so a test that captures the process's logs
//! runs alone in a process of its own ([`super::process::alone!`]); a test
//! that captures one thread's logs ([`capture`]) on a current-thread runtime
//! needs no such care.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// What a capturing subscriber wrote.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The lines of a JSON capture ([`capture`]), parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The lines of `rampart::audit` events named `event` (JSON capture).
    pub fn audit(&self, event: &str) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["target"] == "rampart::audit" && l["fields"]["event"] == event)
            .collect()
    }
}

/// Install the process's capturing subscriber at INFO (once per process)
/// and return it.
pub fn capture_logs() -> &'static Captured {
    capture_logs_at(tracing::Level::INFO)
}

/// Install the process's capturing subscriber (plain text, no colour) at
/// `level`, once per process (the first call decides the level), and
/// return it. Call it from a test that runs [`super::process::alone!`].
pub fn capture_logs_at(level: tracing::Level) -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

/// Everything logged since [`capture_logs`] was first called.
pub fn captured_text() -> String {
    capture_logs().text()
}

/// Capture this thread's `tracing` output (INFO and up) as JSON lines, with
/// the current span and the span list, until the guard drops.
/// `#[tokio::test]` runs the server on the test's thread, so its events
/// are captured too.
pub fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}
