//! `cargo xtask`: rampart's developer and user commands.

mod apikey;
mod check;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "rampart: secure axum servers from annotated OpenAPI specs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load and validate specs; print diagnostics; exit 1 on any error.
    Check(check::Args),
    /// Manage API keys: new, revoke, list (only hashes are stored).
    Apikey(apikey::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Apikey(args) => apikey::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
