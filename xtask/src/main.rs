//! `cargo xtask`: rampart's developer and user commands.

mod apikey;
mod audit;
mod bench;
mod check;
mod demo;
mod dpop_proof;
mod generate;
mod lint;
mod serve;
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
    /// Load and validate specs; print diagnostics; exit 1 on any error.
    Check(check::Args),
    /// Run the petstore demo over HTTPS on embedded defaults, printing dev tokens and curl commands.
    Demo(demo::Args),
    /// Generate a complete crate (Cargo.toml + src/lib.rs) from a spec.
    Generate(generate::Args),
    /// Lint specs for security holes (OWASP API Top 10 and rampart rules); exit 1 on any error.
    Lint(lint::Args),
    /// Generate, build and run a server for a spec on 127.0.0.1 (`--mock`: example answers; else 501), behind the full security pipeline.
    Serve(serve::Args),
    /// Manage API keys: new, revoke, list (only hashes are stored).
    Apikey(apikey::Args),
    /// Probe a running server for the security its spec promises (401/403/429, headers, CORS, deprecation); exit 1 on any failure.
    Audit(audit::Args),
    /// Print a DPoP proof (RFC 9449) for one request: the `DPoP:` header value (a key is generated without --key).
    DpopProof(dpop_proof::Args),
    /// Measure requests/s of rampart routes against bare axum over real sockets, and generation time.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Apikey(args) => apikey::run(args),
        Command::Bench(args) => bench::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::DpopProof(args) => dpop_proof::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
