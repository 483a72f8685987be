//! `cargo xtask`: rampart's commands ([`rampart_cli`]: check, lint,
//! generate, diff, serve, audit, apikey, dpop-proof) and this repository's
//! own (demo, bench).

mod bench;
mod demo;
mod wrk;

use std::process::ExitCode;

/// mimalloc: generating a large spec is allocation-bound (token trees, syn
/// trees, strings); glibc's malloc spends a quarter of the time there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    #[command(flatten)]
    Rampart(rampart_cli::Command),
    /// Run the petstore demo over HTTPS on embedded defaults, printing dev tokens and curl commands.
    Demo(demo::Args),
    /// Measure requests/s of rampart routes against bare axum over real sockets, and generation time.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Rampart(command) => return command.run(),
        Command::Demo(args) => demo::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
