//! `cargo xtask demo`: run `examples/petstore` on embedded defaults (in-memory
//! limiter, generated dev secret and self-signed certificate; HTTPS on
//! 127.0.0.1:8443 and the redirecting HTTP listener on 127.0.0.1:8080),
//! printing a dev token and a working `curl` command for each role.
//!
//! Pets and owners persist in the SQLite file `petstore-demo.sqlite3` in the
//! target directory (`$CARGO_TARGET_DIR`, else `target/`), unless
//! `RAMPART_DEMO_DB` names another file or `DATABASE_URL` a database
//! (`postgres://...`); both pass through to the demo. The self-signed
//! certificate (valid 30 days, replaced a day before it expires) is kept in
//! `rampart-demo-tls/` there too (`RAMPART_DEMO_TLS_DIR`), so a client can
//! trust it (`curl --cacert target/rampart-demo-tls/cert.pem`) across runs.

use std::process::{Command, ExitCode};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// HTTPS port.
    #[arg(long, default_value_t = 8443)]
    https_port: u16,
    /// Port of the HTTP listener that redirects to HTTPS.
    #[arg(long, default_value_t = 8080)]
    http_port: u16,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    // This repository's root: the demo is its petstore-server.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace");
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["run", "--quiet", "-p", "petstore-server"])
        .current_dir(root)
        .env("RAMPART_DEMO_HTTPS_PORT", args.https_port.to_string())
        .env("RAMPART_DEMO_HTTP_PORT", args.http_port.to_string());
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    if std::env::var_os("RAMPART_DEMO_DB").is_none_or(|v| v.is_empty()) {
        command.env("RAMPART_DEMO_DB", target.join("petstore-demo.sqlite3"));
    }
    // The self-signed certificate (30 days) is kept here across runs and
    // replaced a day before it expires.
    if std::env::var_os("RAMPART_DEMO_TLS_DIR").is_none_or(|v| v.is_empty()) {
        command.env("RAMPART_DEMO_TLS_DIR", target.join("rampart-demo-tls"));
    }
    let status = command.status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
