//! `cargo xtask generate SPEC --out DIR [--name NAME]`: write a complete crate
//! (Cargo.toml depending on `rampart` the way the workspace around it does,
//! and src/lib.rs) that compiles as it is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rampart_codegen::RampartDependency;

use crate::workspace::Workspace;

/// `generate`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The spec (YAML or JSON).
    spec: PathBuf,
    /// The crate directory to write.
    #[arg(long)]
    out: PathBuf,
    /// The crate name (default: the directory name).
    #[arg(long)]
    name: Option<String>,
}

/// Write the crate; exit 1 when the spec has errors.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let workspace = Workspace::current()?;
    let root = workspace.root.canonicalize().unwrap_or(workspace.root);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let out = std::fs::canonicalize(&args.out)?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => out
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| {
                n.replace(
                    |c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-',
                    "_",
                )
            })
            .unwrap_or_else(|| "generated_api".to_owned()),
    };
    let inside = out.starts_with(&root);
    // A path dependency inside the workspace is written relative, so the
    // crate can be committed and the checkout moved.
    let rampart = match workspace.rampart {
        RampartDependency::Path(path) if inside => {
            RampartDependency::Path(relative(&out, &path.canonicalize().unwrap_or(path)))
        }
        other => other,
    };
    let options = rampart_codegen::CrateOptions {
        crate_name: name.clone(),
        rampart,
        standalone: !inside,
        mock: false,
        manifest_extra: String::new(),
        allow_unenforced: false,
        rampart_features: Vec::new(),
    };
    match rampart_codegen::generate_crate_with(&args.spec, &out, &options) {
        Ok(warnings) => {
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            eprintln!(
                "wrote crate `{name}` to {} ({} warning(s))",
                out.display(),
                warnings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(rampart_codegen::GenerateError::Spec(rendered)) => {
            eprint!("{rendered}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

/// `to` relative to `from` (both absolute).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    out
}
