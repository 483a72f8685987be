//! `cargo xtask generate SPEC --out DIR [--name NAME]`: write a complete crate
//! (Cargo.toml depending on this workspace's `rampart`, and src/lib.rs) that
//! compiles as it is.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The spec (YAML or JSON).
    spec: PathBuf,
    /// The crate directory to write.
    #[arg(long)]
    out: PathBuf,
    /// The crate name (default: the directory name).
    #[arg(long)]
    name: Option<String>,
}

/// The workspace root (parent of the xtask crate).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let root = workspace_root();
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
    let rampart = root.join("crates/rampart");
    let rampart_path = if inside {
        relative(&out, &rampart)
    } else {
        rampart
    };
    match rampart_codegen::generate_crate(&args.spec, &out, &name, &rampart_path, !inside) {
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
