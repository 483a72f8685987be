//! `cargo xtask check SPEC... [--format human|json]`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;

/// Output format for diagnostics.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    /// rustc-style text with the source line and a caret.
    Human,
    /// One JSON object per diagnostic, one per line.
    Json,
}

/// `check`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Spec files (YAML or JSON).
    #[arg(required = true)]
    specs: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

/// Run `check`.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for spec in &args.specs {
        let loaded = rampart_spec::load_file(spec);
        failed |= loaded.has_errors();
        match args.format {
            Format::Human => {
                eprint!("{}", loaded.render());
                if let Some(model) = &loaded.model {
                    let errors = loaded
                        .diagnostics
                        .iter()
                        .filter(|d| d.severity == rampart_spec::Severity::Error)
                        .count();
                    let warnings = loaded.diagnostics.len() - errors;
                    eprintln!(
                        "{}: {} operations, {} error(s), {} warning(s)",
                        spec.display(),
                        model.operations.len(),
                        errors,
                        warnings
                    );
                }
            }
            Format::Json => {
                for d in loaded.diagnostics.iter() {
                    println!("{}", d.to_json(&loaded.files));
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
