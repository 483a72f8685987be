//! The one error type of a configuration the runtime refuses: what is
//! wrong and how to fix it. Every constructor of rampart's runtime (the
//! `Security` builder, CORS, TLS, API versions) returns it; a server refuses
//! to start on any of them.

use std::fmt;

/// A configuration problem: what is wrong, and what to do about it. The
/// server refuses to start on any of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl ConfigError {
    /// An error with a fix.
    pub fn new(message: impl Into<String>, fix: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// A CORS policy that is unsafe or malformed (`CORS: ...`).
    pub fn cors(message: impl std::fmt::Display) -> Self {
        Self::new(format!("CORS: {message}"), "")
    }

    /// An API version or version layout that cannot be served (`API version: ...`).
    pub fn version(message: impl std::fmt::Display) -> Self {
        Self::new(format!("API version: {message}"), "")
    }

    /// Certificates, keys or TLS settings (`TLS: ...`).
    pub fn tls(message: impl std::fmt::Display) -> Self {
        Self::new(format!("TLS: {message}"), "")
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fix.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}\n  = help: {}", self.message, self.fix)
        }
    }
}

impl std::error::Error for ConfigError {}
