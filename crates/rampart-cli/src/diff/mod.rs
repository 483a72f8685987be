//! `diff OLD NEW`: the security-regression gate between two versions of a
//! spec (docs/diff.md).
//!
//! Both specs are loaded and checked like `check` does (a spec with errors
//! stops the comparison: exit 2); each operation's *effective* policy
//! (`ApiModel::descriptor()`: inherited security, `{}` alternatives,
//! `public`, roles, rate and burst, body limit, sunset, one-time tokens),
//! the API's CORS policy and redacted fields, and the validation of every
//! parameter and request body are compared, operations matched by method
//! and path template. Each change is a finding of a [`Kind`] and [`Class`];
//! the process fails (exit 1) when a finding not accepted by the allowlist
//! is at or above `--fail-on`.
//!
//! OLD and NEW are files, or `git:REV:PATH` (read with `git show` in the
//! current directory's repository, with the files its relative `$ref`s
//! reach; see `source.rs` for the limits).

mod accept;
mod api;
mod compare;
mod config;
mod finding;
mod inputs;
mod limits;
mod policy;
mod report;
mod sarif;
mod schema;
mod security;
mod source;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::process::ExitCode;

pub use finding::{Class, Kind};

use compare::Side;
use finding::Finding;
use source::Source;

/// Compare two versions of a spec and fail on security regressions.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The old spec: a file, or `git:REV:PATH` (read with `git show REV:PATH`).
    pub old: String,
    /// The new spec: a file, or `git:REV:PATH`.
    pub new: String,
    /// How findings are printed.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// The lowest class of finding that fails (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Security)]
    pub fail_on: FailOn,
    /// A TOML allowlist of accepted findings (`[[accept]]` with `kind`,
    /// `operation` and a non-empty `reason`).
    #[arg(long, value_name = "FILE")]
    pub accept: Option<String>,
    /// The old `rampart.toml` (a file or `git:REV:PATH`): its `[lockout]`
    /// is compared with `--new-config`'s.
    #[arg(long, value_name = "FILE", requires = "new_config")]
    pub old_config: Option<String>,
    /// The new `rampart.toml` (a file or `git:REV:PATH`).
    #[arg(long, value_name = "FILE", requires = "old_config")]
    pub new_config: Option<String>,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style text with a summary line.
    Human,
    /// One JSON object per finding, a line each.
    Json,
    /// A SARIF 2.1.0 log.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

/// `--fail-on`: the lowest [`Class`] that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Security regressions fail (the default).
    Security,
    /// Security regressions and breaking changes fail.
    Breaking,
    /// Nothing fails.
    None,
}

impl FailOn {
    fn fails(self, class: Class) -> bool {
        match self {
            FailOn::Security => class == Class::Security,
            FailOn::Breaking => class >= Class::Breaking,
            FailOn::None => false,
        }
    }
}

/// What a run printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The exit code: 0 passed, 1 a finding at or above `--fail-on`, 2 a
    /// spec, configuration or allowlist that cannot be read.
    pub code: u8,
    /// The report.
    pub stdout: String,
    /// Errors, and warnings for formats whose stdout is machine-read.
    pub stderr: String,
}

/// Run `diff` in the current directory: print the report, return the exit code.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let outcome = run_in(args, Path::new("."));
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    Ok(ExitCode::from(outcome.code))
}

/// Run `diff` with relative paths (and `git`) resolved from `dir`,
/// returning what it would print.
pub fn run_in(args: &Args, dir: &Path) -> Outcome {
    match diff(args, dir) {
        Ok(outcome) => outcome,
        Err(message) => Outcome {
            code: 2,
            stdout: String::new(),
            stderr: if message.ends_with('\n') {
                message
            } else {
                message + "\n"
            },
        },
    }
}

fn load(text: &str, dir: &Path) -> Result<Side, String> {
    let source = Source::parse(text).map_err(|e| format!("error: {e}"))?;
    let loaded = source
        .load(dir)
        .map_err(|e| format!("error: cannot read `{}`: {e}", source.display()))?;
    Side::new(loaded).map_err(|rendered| {
        format!(
            "error: `{}` does not load; nothing was compared\n{rendered}",
            source.display()
        )
    })
}

fn read_config(text: &str, dir: &Path) -> Result<(String, String, String), String> {
    let source = Source::parse(text).map_err(|e| format!("error: {e}"))?;
    let body = source.read_text(dir).map_err(|e| format!("error: {e}"))?;
    let artifact = match &source {
        Source::File(path) => path.clone(),
        Source::Git { path, .. } => path.clone(),
    };
    Ok((source.display(), body, artifact))
}

fn diff(args: &Args, dir: &Path) -> Result<Outcome, String> {
    let allowlist = match &args.accept {
        Some(path) => {
            let full = if Path::new(path).is_absolute() {
                Path::new(path).to_path_buf()
            } else {
                dir.join(path)
            };
            let text = std::fs::read_to_string(&full)
                .map_err(|e| format!("error: cannot read the allowlist `{path}`: {e}"))?;
            Some(accept::read(path, &text).map_err(|e| format!("error: {e}"))?)
        }
        None => None,
    };
    let configs = match (&args.old_config, &args.new_config) {
        (Some(old), Some(new)) => Some((read_config(old, dir)?, read_config(new, dir)?)),
        (None, None) => None,
        _ => return Err("error: give both --old-config and --new-config".to_owned()),
    };
    let (old, new) = (load(&args.old, dir), load(&args.new, dir));
    let (old, new) = match (old, new) {
        (Ok(old), Ok(new)) => (old, new),
        (old, new) => {
            let errors: Vec<String> = [old.err(), new.err()].into_iter().flatten().collect();
            return Err(errors.join("\n"));
        }
    };

    let mut findings: Vec<Finding> = compare::compare(&old, &new);
    if let Some(((old_name, old_text, _), (new_name, new_text, artifact))) = &configs {
        let lockout = config::compare((old_name, old_text), (new_name, new_text), artifact)
            .map_err(|e| format!("error: {e}"))?;
        findings.extend(lockout);
        findings.sort_by_key(|f| std::cmp::Reverse(f.class()));
    }
    let (stale, accept_path) = match &allowlist {
        Some(list) => (list.apply(&mut findings), list.path.as_str()),
        None => (Vec::new(), ""),
    };
    let failed = findings
        .iter()
        .any(|f| f.accepted.is_none() && args.fail_on.fails(f.class()));
    let (stdout, stderr) = match args.format {
        Format::Human => (report::human(&findings, &stale, accept_path), String::new()),
        Format::Json => (
            report::json_lines(&findings),
            report::stale_text(&stale, accept_path),
        ),
        Format::Sarif => {
            let log = sarif::sarif(&findings);
            let text = serde_json::to_string_pretty(&log).unwrap_or_else(|_| log.to_string());
            (text + "\n", report::stale_text(&stale, accept_path))
        }
        Format::Github => (
            report::github(&findings, &stale, accept_path),
            String::new(),
        ),
    };
    Ok(Outcome {
        code: u8::from(failed),
        stdout,
        stderr,
    })
}
