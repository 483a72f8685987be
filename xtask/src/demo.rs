//! `cargo xtask demo`: run `examples/petstore` on embedded defaults (in-memory
//! limiter, generated dev secret and self-signed certificate; HTTPS on
//! 127.0.0.1:8443 and the redirecting HTTP listener on 127.0.0.1:8080),
//! printing a dev token and a working `curl` command for each role.

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
    let status = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", "petstore-server"])
        .current_dir(crate::generate::workspace_root())
        .env("RAMPART_DEMO_HTTPS_PORT", args.https_port.to_string())
        .env("RAMPART_DEMO_HTTP_PORT", args.http_port.to_string())
        .status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
