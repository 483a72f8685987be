//! `cargo xtask lint SPEC... [--format human|json|sarif] [--strict]`

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use rampart_spec::lint;
use rampart_spec::{Diagnostics, Severity, SourceFiles};

/// Output format for findings.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    /// rustc-style text with the source line and a caret (on stderr).
    Human,
    /// One JSON object per finding, one per line.
    Json,
    /// One SARIF 2.1.0 log for all specs.
    Sarif,
}

/// `lint`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Spec files (YAML or JSON).
    #[arg(required = true)]
    specs: Vec<PathBuf>,
    /// How to print findings.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Fail on warnings too, not only on errors.
    #[arg(long)]
    strict: bool,
}

/// Run `lint`.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    match print(args, &mut failed) {
        // A closed pipe (`... | head`) is the reader's choice, not a failure to lint.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Lint every spec and print the findings; sets `failed` as specs fail.
fn print(args: &Args, failed: &mut bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let mut linted: Vec<(SourceFiles, Diagnostics)> = Vec::new();
    for spec in &args.specs {
        let loaded = rampart_spec::load_file(spec);
        let findings = lint::lint_loaded(&loaded);
        *failed |= loaded.model.is_none() || lint::fails(&findings, args.strict);
        match args.format {
            Format::Human => {
                for d in findings.iter() {
                    eprint!("{}", d.render(&loaded.files));
                }
                let count = |s: Severity| findings.iter().filter(|d| d.severity == s).count();
                eprintln!(
                    "{}: {} error(s), {} warning(s), {} info",
                    spec.display(),
                    count(Severity::Error),
                    count(Severity::Warning),
                    count(Severity::Info),
                );
            }
            Format::Json => {
                for d in findings.iter() {
                    writeln!(out, "{}", d.to_json(&loaded.files))?;
                }
            }
            Format::Sarif => linted.push((loaded.files, findings)),
        }
    }
    if args.format == Format::Sarif {
        let specs: Vec<(&SourceFiles, &Diagnostics)> =
            linted.iter().map(|(files, diags)| (files, diags)).collect();
        serde_json::to_writer_pretty(&mut out, &lint::sarif(&specs))?;
        writeln!(out)?;
    }
    out.flush()
}
