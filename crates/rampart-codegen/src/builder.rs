//! Front ends that write files: [`Builder`] for `build.rs`, and
//! [`generate_crate`] for `cargo xtask generate`.

use std::path::{Path, PathBuf};

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The spec has errors (rendered diagnostics).
    #[error("the spec has errors:\n{0}")]
    Spec(String),
    /// Writing the output failed.
    #[error("cannot write `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A required environment variable (e.g. `OUT_DIR`) is missing.
    #[error("{0}")]
    Env(String),
}

/// Generate a server module from a spec in `build.rs`:
///
/// ```no_run
/// // build.rs
/// rampart_codegen::Builder::new("specs/petstore.yaml").generate().unwrap();
/// ```
/// ```ignore
/// // src/lib.rs
/// include!(concat!(env!("OUT_DIR"), "/petstore.rs"));
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    spec: PathBuf,
    out_dir: Option<PathBuf>,
    file_name: Option<String>,
    allow_unenforced: bool,
}

impl Builder {
    /// Generate from `spec` (relative to the crate root in `build.rs`).
    pub fn new(spec: impl Into<PathBuf>) -> Self {
        Builder {
            spec: spec.into(),
            out_dir: None,
            file_name: None,
            allow_unenforced: false,
        }
    }

    /// Write into this directory instead of `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Output file name (default: the spec's file stem + `.rs`).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// Generate even when the spec has constraints the generated validators
    /// cannot enforce (a pattern Rust's regex cannot compile, a keyword with
    /// no generated check), leaving every one of them unchecked and reporting
    /// each as a warning. Off by default: such a constraint is then an error
    /// naming its `file:line:col`. Prefer opting out per schema, visibly in
    /// the spec, with `x-rampart: { unenforced: [pattern] }`; this switch is
    /// for specs you do not control.
    pub fn allow_unenforced(mut self, yes: bool) -> Self {
        self.allow_unenforced = yes;
        self
    }

    /// Generate; prints `cargo:rerun-if-changed` and warnings for Cargo, and
    /// rewrites the output only when its content changed. Returns the path written.
    pub fn generate(self) -> Result<PathBuf, GenerateError> {
        println!("cargo:rerun-if-changed={}", self.spec.display());
        let out_dir = match self.out_dir {
            Some(d) => d,
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    GenerateError::Env(
                        "OUT_DIR is not set: call Builder from build.rs or set out_dir".into(),
                    )
                })?,
        };
        let (code, warnings) = crate::generate_checked(&self.spec, false, self.allow_unenforced)?;
        for w in warnings {
            println!("cargo:warning=rampart: {w}");
        }
        let name = self.file_name.unwrap_or_else(|| {
            format!(
                "{}.rs",
                self.spec
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("api")
            )
        });
        let path = out_dir.join(name);
        write_if_changed(&path, &code)?;
        Ok(path)
    }
}

fn write_if_changed(path: &Path, contents: &str) -> Result<(), GenerateError> {
    if std::fs::read_to_string(path).is_ok_and(|existing| existing == contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| GenerateError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| GenerateError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Write a complete crate for `spec` into `out`: `Cargo.toml` depending on
/// rampart at `rampart_path`, and `src/lib.rs` holding the generated code.
/// With `standalone`, the manifest has its own `[workspace]` table so the crate
/// builds wherever it is written. Returns the generator's warnings.
pub fn generate_crate(
    spec: &Path,
    out: &Path,
    crate_name: &str,
    rampart_path: &Path,
    standalone: bool,
) -> Result<Vec<String>, GenerateError> {
    generate_crate_with(
        spec,
        out,
        &CrateOptions {
            crate_name: crate_name.to_owned(),
            rampart: RampartDependency::Path(rampart_path.to_owned()),
            standalone,
            mock: false,
            manifest_extra: String::new(),
            allow_unenforced: false,
            rampart_features: Vec::new(),
        },
    )
}

/// How a generated crate depends on `rampart`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RampartDependency {
    /// `rampart = { path = "..." }`: a checkout (absolute, or relative to the
    /// generated crate).
    Path(PathBuf),
    /// `rampart = "..."`: a released version.
    Version(String),
}

impl RampartDependency {
    /// The dependency's TOML inline-table keys, before any `features`.
    fn toml(&self) -> String {
        match self {
            RampartDependency::Path(path) => {
                format!("path = {}", toml_string(&path.display().to_string()))
            }
            RampartDependency::Version(version) => format!("version = {}", toml_string(version)),
        }
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What [`generate_crate_with`] writes.
#[derive(Debug, Clone)]
pub struct CrateOptions {
    /// The package name.
    pub crate_name: String,
    /// The `rampart` the crate depends on.
    pub rampart: RampartDependency,
    /// Give the manifest its own `[workspace]` table.
    pub standalone: bool,
    /// Generate with [`crate::Generator::mock`].
    pub mock: bool,
    /// TOML appended to the manifest, after `[dependencies]`' entries (more
    /// dependencies, then any other tables).
    pub manifest_extra: String,
    /// Generate despite constraints the generated validators cannot enforce
    /// (see [`Builder::allow_unenforced`]); each becomes a warning.
    pub allow_unenforced: bool,
    /// rampart's optional features the crate enables (`redis`, `sql`,
    /// `jwks`), beside its defaults.
    pub rampart_features: Vec<String>,
}

/// [`generate_crate`] with every option; returns the generator's warnings.
pub fn generate_crate_with(
    spec: &Path,
    out: &Path,
    options: &CrateOptions,
) -> Result<Vec<String>, GenerateError> {
    let CrateOptions {
        crate_name,
        rampart,
        standalone,
        mock,
        manifest_extra,
        allow_unenforced,
        rampart_features,
    } = options;
    let (code, warnings) = crate::generate_checked(spec, *mock, *allow_unenforced)?;
    let manifest = format!(
        r#"# @generated by rampart-codegen from {spec}.
[package]
name = "{crate_name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
rampart = {{ {rampart}{features} }}
validator = {{ version = "0.20", features = ["derive"] }}
{manifest_extra}{workspace}"#,
        workspace = if *standalone { "\n[workspace]\n" } else { "" },
        spec = spec.display(),
        rampart = rampart.toml(),
        features = if rampart_features.is_empty() {
            String::new()
        } else {
            format!(", features = {rampart_features:?}")
        },
    );
    write_if_changed(&out.join("Cargo.toml"), &manifest)?;
    // The code is formatted by prettyplease when generated; keep `cargo fmt` from rewriting it,
    // so a regenerated crate stays byte-identical to the checked-in one.
    write_if_changed(
        &out.join("rustfmt.toml"),
        "# @generated: the code is formatted when generated.\ndisable_all_formatting = true\n",
    )?;
    write_if_changed(&out.join("src/lib.rs"), &code)?;
    Ok(warnings)
}
