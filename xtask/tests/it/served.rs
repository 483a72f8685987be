//! The one way these tests run `cargo xtask serve`: the built xtask binary
//! generates, builds and runs the server for a spec (the xtask process
//! becomes the server), with no key configuration of the environment and
//! quotas and lockout in its own memory; killed on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// This repository's root (`cargo xtask` runs from there).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A port nothing listens on now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Settings a developer's environment may hold that would take the server
/// out of dev mode, or put its quotas and lockout in a Redis other tests
/// share (127.0.0.1 locked out by their bad credentials).
const INHERITED: [&str; 7] = [
    "RAMPART_JWT_SECRET",
    "RAMPART_JWT_SECRET_FILE",
    "RAMPART_JWT_PUBLIC_KEY",
    "RAMPART_JWKS",
    "RAMPART_API_KEYS",
    "RAMPART_CONFIG",
    "REDIS_URL",
];

/// A running `cargo xtask serve`.
pub(crate) struct Served {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// `http://127.0.0.1:PORT` and the base path asked for.
    pub base: String,
    /// What it printed so far, a line each.
    pub output: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// `serve --mock SPEC` with `env` on top of a clean environment
    /// (none: dev mode); `base_path` only names [`Served::base`].
    pub(crate) async fn mock(spec: &Path, base_path: &str, env: &[(&str, String)]) -> Served {
        Self::start(spec, base_path, true, env).await
    }

    /// `serve [--mock] SPEC`, answering once it listens.
    pub(crate) async fn start(
        spec: &Path,
        base_path: &str,
        mock: bool,
        env: &[(&str, String)],
    ) -> Served {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .args(["serve", "--port", &port.to_string()])
            .args(mock.then_some("--mock"))
            .arg(spec)
            .current_dir(root())
            .stdout(Stdio::piped());
        for v in INHERITED {
            command.env_remove(v);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("xtask runs");
        let output = Arc::new(Mutex::new(Vec::new()));
        let lines = output.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let mut served = Served {
            child,
            port,
            base: format!("http://127.0.0.1:{port}{base_path}"),
            output,
        };
        // The first run builds the generated crate: allow for a cold build.
        let deadline = Instant::now() + Duration::from_secs(1200);
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = served.child.try_wait().unwrap() {
                panic!("xtask serve exited ({status}) before answering");
            }
            let listening = served
                .output
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("listening on"));
            if listening
                && client
                    .get(format!("http://127.0.0.1:{port}/"))
                    .send()
                    .await
                    .is_ok()
            {
                return served;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer in time"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The line after the one ending with `label` (tokens and keys are
    /// printed so).
    pub(crate) fn printed_after(&self, label: &str) -> String {
        let lines = self.output.lock().unwrap();
        let i = lines
            .iter()
            .position(|l| l.ends_with(label))
            .unwrap_or_else(|| panic!("no `{label}` in the output:\n{}", lines.join("\n")));
        lines[i + 1].trim().to_owned()
    }
}
