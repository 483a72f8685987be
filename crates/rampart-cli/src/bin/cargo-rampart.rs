//! `cargo rampart <command>`: rampart's commands as a cargo subcommand
//! (`cargo install --path crates/rampart-cli`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // cargo runs `cargo-rampart rampart <command> ...`.
    if args.get(1).is_some_and(|a| a == "rampart") {
        args.remove(1);
    }
    rampart_cli::run_as("cargo rampart", args)
}
