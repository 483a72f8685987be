//! `cargo rampart <command>`: rampart's commands as a cargo subcommand
//! (`cargo install --path crates/rampart-cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    rampart_cli::run_as(
        "cargo rampart",
        rampart_cli::cargo_subcommand_args(std::env::args_os()),
    )
}
