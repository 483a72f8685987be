//! # rampart-cli
//!
//! rampart's commands as a library: what this repository's `cargo xtask`
//! runs, what a user's own `xtask/src/main.rs` runs in one line, and the
//! `cargo rampart` binary.
//!
//! ```rust,ignore
//! // xtask/src/main.rs of a workspace that uses rampart
//! fn main() -> std::process::ExitCode {
//!     rampart_cli::run(std::env::args_os())
//! }
//! ```
//!
//! `check`, `lint`, `generate` and `diff` need only the spec front end and
//! the generator; `serve`, `audit`, `apikey`, `dpop-proof` and `rate` come
//! with the default `runtime` feature. `generate` and `serve` depend on `rampart` the
//! way the workspace they run in does ([`workspace`]).

pub mod check;
pub mod diff;
pub mod generate;
pub mod lint;
pub mod workspace;

#[cfg(feature = "runtime")]
pub mod apikey;
#[cfg(feature = "runtime")]
pub mod audit;
#[cfg(feature = "runtime")]
pub mod dpop_proof;
#[cfg(feature = "runtime")]
pub mod rate;
#[cfg(feature = "runtime")]
pub mod serve;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Every rampart command; flatten it into a workspace's own command enum
/// (`#[command(flatten)]`) to add commands of its own beside them.
#[derive(Subcommand)]
pub enum Command {
    /// Load and validate specs; print diagnostics; exit 1 on any error.
    Check(check::Args),
    /// Generate a complete crate (Cargo.toml + src/lib.rs) from a spec.
    Generate(generate::Args),
    /// Lint specs for security holes (OWASP API Top 10 and rampart rules); exit 1 on any error.
    Lint(lint::Args),
    /// Compare two versions of a spec; exit 1 when security got weaker (docs/diff.md).
    Diff(diff::Args),
    /// Generate, build and run a server for a spec on 127.0.0.1 (`--mock`: example answers; else 501), behind the full security pipeline.
    #[cfg(feature = "runtime")]
    Serve(serve::Args),
    /// Manage API keys: new, revoke, list (only hashes are stored).
    #[cfg(feature = "runtime")]
    Apikey(apikey::Args),
    /// Probe a running server for the security its spec promises (401/403/429, headers, CORS, deprecation); exit 1 on any failure.
    #[cfg(feature = "runtime")]
    Audit(audit::Args),
    /// Print a DPoP proof (RFC 9449) for one request: the `DPoP:` header value (a key is generated without --key).
    #[cfg(feature = "runtime")]
    DpopProof(dpop_proof::Args),
    /// Rate limits and locks shared through Redis: `rate reset` (an admin reset every instance heeds).
    #[cfg(feature = "runtime")]
    Rate(rate::Args),
}

impl Command {
    /// Run the command; errors are printed as `error: ...` with exit code 1.
    pub fn run(self) -> ExitCode {
        let result = match self {
            Command::Check(args) => check::run(&args),
            Command::Generate(args) => generate::run(&args),
            Command::Lint(args) => lint::run(&args),
            Command::Diff(args) => diff::run(&args),
            #[cfg(feature = "runtime")]
            Command::Serve(args) => serve::run(&args),
            #[cfg(feature = "runtime")]
            Command::Apikey(args) => apikey::run(args),
            #[cfg(feature = "runtime")]
            Command::Audit(args) => audit::run(&args),
            #[cfg(feature = "runtime")]
            Command::DpopProof(args) => dpop_proof::run(&args),
            #[cfg(feature = "runtime")]
            Command::Rate(args) => rate::run(&args),
        };
        match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "rampart: secure axum servers from annotated OpenAPI specs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Parse `args` (the program name first, as `std::env::args_os()` gives
/// them) and run the command. Usage errors exit 2 with clap's message.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_as("cargo xtask", args)
}

/// The arguments of the `cargo-rampart` binary as [`run`] takes them: cargo
/// runs a subcommand as `cargo-rampart rampart <command> ...`, so the
/// `rampart` cargo adds is dropped (run directly, there is none).
pub fn cargo_subcommand_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if args.get(1).is_some_and(|a| a == "rampart") {
        args.remove(1);
    }
    args
}

/// [`run`], with the name usage messages give the program (`cargo rampart`).
pub fn run_as<I, T>(name: &'static str, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .name(name)
        .bin_name(name)
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    match parsed {
        Ok(cli) => cli.command.run(),
        Err(e) => {
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn cargo_rampart_drops_the_subcommand_name_cargo_adds() {
        let as_cargo_runs_it = os(&["cargo-rampart", "rampart", "diff", "a.yaml", "b.yaml"]);
        assert_eq!(
            cargo_subcommand_args(as_cargo_runs_it),
            os(&["cargo-rampart", "diff", "a.yaml", "b.yaml"])
        );
        let run_directly = os(&["cargo-rampart", "check", "rampart.yaml"]);
        assert_eq!(cargo_subcommand_args(run_directly.clone()), run_directly);
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(
            run_as("cargo rampart", os(&["cargo-rampart", "dif"])),
            ExitCode::from(2)
        );
    }
}
