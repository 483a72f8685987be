//! # rampart-codegen
//!
//! One generator, several front ends: from a checked [`ApiModel`] it produces
//! the Rust of a typed, validated axum server — models with serde and
//! `validator` derives, one response enum per operation, the API trait, the
//! policies as data, and a `router(api, security)` that attaches each
//! operation's `OperationPolicy` to its route. The runtime (`rampart`)
//! enforces the policies; generated code holds no enforcement logic.
//!
//! Front ends: [`Builder`] for `build.rs`, `cargo xtask generate` (a whole
//! crate), and `rampart::api!` (the macro). All call [`Generator`].
//!
//! With [`Generator::mock`] the output also holds `Mock`, an implementation of
//! the API trait answering examples (see [`mock`]), and
//! `not_implemented_router`, which answers 501 behind the same policies;
//! `cargo xtask serve` uses both.

mod builder;
pub mod mock;
mod names;
mod operations;
mod policy;
mod routes;
mod shape;
mod types;

use std::path::Path;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use rampart_spec::ApiModel;

pub use builder::{Builder, CrateOptions, GenerateError, generate_crate, generate_crate_with};
pub use policy::policy_tokens;

/// Generates Rust for one spec.
pub struct Generator<'a> {
    model: &'a ApiModel,
    source: String,
    trait_name: Option<String>,
    mock: bool,
}

/// Generated code and what the generator had to say about it.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The tokens of the generated module body.
    pub tokens: TokenStream,
    /// Constructs that could not be mapped exactly (each names the schema and why).
    pub warnings: Vec<String>,
}

impl Generated {
    /// The code formatted with `prettyplease`, with the `@generated` header.
    pub fn to_formatted_string(&self, source: &str) -> String {
        format_file(&self.tokens, source)
    }
}

impl<'a> Generator<'a> {
    /// A generator for `model`; `source` names the spec in the header comment.
    pub fn new(model: &'a ApiModel, source: impl Into<String>) -> Self {
        Generator {
            model,
            source: source.into(),
            trait_name: None,
            mock: false,
        }
    }

    /// Name the API trait (default: the spec title in CamelCase + `Api`).
    pub fn trait_name(mut self, name: impl Into<String>) -> Self {
        self.trait_name = Some(name.into());
        self
    }

    /// Also emit `Mock`, an implementation of the API trait answering each
    /// operation's lowest 2xx response with the spec's example or a value
    /// synthesized from its schema ([`mock`]), and `not_implemented_router(security)`,
    /// routing every operation behind its policy and validation to `501 Not
    /// Implemented`. The type name `Mock` is then reserved (a schema called
    /// `Mock` becomes `Mock2`). Off by default.
    pub fn mock(mut self, yes: bool) -> Self {
        self.mock = yes;
        self
    }

    /// The generated items, as tokens.
    pub fn generate(&self) -> Generated {
        let model = self.model;
        let trait_name = self.trait_name.clone().unwrap_or_else(|| {
            let base = names::camel(model.title());
            if base.ends_with("Api") {
                base
            } else {
                format!("{base}Api")
            }
        });
        let reserved: &[&str] = if self.mock {
            &[trait_name.as_str(), "Api", "Mock"]
        } else {
            &[trait_name.as_str(), "Api"]
        };
        let mut types = types::TypeSpace::new(&model.openapi, reserved);
        types.define_components();
        let operations = operations::generate(model, &mut types, &trait_name, self.mock);
        let (patterns, items, warnings) = types.into_items();
        let title = model.title();
        let version = model.version();
        let trait_ident = format_ident!("{}", trait_name);
        let _ = &trait_ident;
        let tokens = quote! {
            use ::validator::Validate as _;

            /// The spec's `info.title`.
            pub const TITLE: &str = #title;
            /// The spec's `info.version`, sent as `X-API-Version`.
            pub const VERSION: &str = #version;

            #(#patterns)*

            #(#items)*

            #operations
        };
        let _ = &self.source;
        Generated { tokens, warnings }
    }
}

/// The lints generated code allows: a file-level `#![allow(..)]` in a
/// generated file, an `#[allow(..)]` on each item `api!` expands to.
fn allowed_lints() -> TokenStream {
    quote!(allow(
        clippy::all,
        clippy::pedantic,
        unused_imports,
        dead_code,
        missing_docs,
        non_camel_case_types
    ))
}

/// The Rust type name the generator gives the component schema `name`.
pub fn type_name(name: &str) -> String {
    names::camel(name)
}

/// What `rampart::api!` expands to: the generator's items, exactly as
/// [`format_file`] writes them for `cargo xtask generate`, each carrying the
/// lint allowances the file-level attribute gives a generated file.
pub fn macro_items(model: &ApiModel, source: &str) -> TokenStream {
    let generated = Generator::new(model, source).generate();
    let allow = allowed_lints();
    match syn::parse2::<syn::File>(generated.tokens.clone()) {
        Ok(file) => {
            let items = file.items.iter();
            quote!(#(#[#allow] #items)*)
        }
        Err(_) => generated.tokens,
    }
}

/// Format generated tokens as a file with the `@generated` header.
pub fn format_file(tokens: &TokenStream, source: &str) -> String {
    let header = format!(
        "// @generated by rampart-codegen from {source}. Do not edit: change the spec and regenerate.\n"
    );
    let allow = allowed_lints();
    let file = quote! {
        #![#allow]
        #tokens
    };
    match syn::parse2::<syn::File>(file.clone()) {
        Ok(parsed) => header + &unparse_parallel(parsed),
        Err(e) => format!(
            "{header}// rampart-codegen produced tokens that do not parse ({e}); unformatted:\n{file}\n"
        ),
    }
}

/// Files with fewer items than this are formatted on one thread.
const PARALLEL_FORMAT_MIN_ITEMS: usize = 256;

/// `prettyplease::unparse`, with the items split into contiguous chunks
/// formatted on several threads. prettyplease lays out each top-level item on
/// its own (items are separated by hard breaks), so the concatenation is
/// byte-identical to formatting the file at once; the snapshot tests hold it
/// to that. syn's trees are not `Send`, so each chunk crosses to its thread
/// as source text and is parsed there.
fn unparse_parallel(file: syn::File) -> String {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    unparse_chunked(file, threads, PARALLEL_FORMAT_MIN_ITEMS)
}

fn unparse_chunked(file: syn::File, threads: usize, min_items: usize) -> String {
    if threads < 2 || file.items.len() < min_items {
        return prettyplease::unparse(&file);
    }
    let attrs = &file.attrs;
    let per_chunk = file.items.len().div_ceil(threads);
    let chunks: Vec<String> = file
        .items
        .chunks(per_chunk)
        .enumerate()
        .map(|(i, items)| {
            if i == 0 {
                quote!(#(#attrs)* #(#items)*).to_string()
            } else {
                quote!(#(#items)*).to_string()
            }
        })
        .collect();
    let formatted: Option<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                scope.spawn(move || {
                    syn::parse_file(chunk)
                        .ok()
                        .map(|f| prettyplease::unparse(&f))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    formatted.map_or_else(|| prettyplease::unparse(&file), |parts| parts.concat())
}

/// Load, check and generate in one step, for front ends.
pub fn generate_from_path(spec: &Path) -> Result<(String, Vec<String>), GenerateError> {
    generate_from_path_with(spec, false)
}

/// [`generate_from_path`], with [`Generator::mock`] set to `mock`.
pub fn generate_from_path_with(
    spec: &Path,
    mock: bool,
) -> Result<(String, Vec<String>), GenerateError> {
    let loaded = rampart_spec::load_file(spec);
    let (model, _files, _diags) = loaded.into_result().map_err(GenerateError::Spec)?;
    let generated = Generator::new(&model, spec.display().to_string())
        .mock(mock)
        .generate();
    let text = generated.to_formatted_string(&spec.display().to_string());
    Ok((text, generated.warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_formatting_is_byte_identical() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let specs = [
            root.join("specs/petstore.yaml"),
            root.join("../shared/corpus/oai-uspto.yaml"),
            root.join("../shared/corpus/oai-api-with-examples.yaml"),
        ];
        for spec in specs {
            let (model, _, _) = rampart_spec::load_file(&spec).into_result().unwrap();
            let tokens = Generator::new(&model, "x").generate().tokens;
            let allow = allowed_lints();
            let file: syn::File = syn::parse2(quote!(#![#allow] #tokens)).unwrap();
            assert!(!file.attrs.is_empty());
            let whole = prettyplease::unparse(&file);
            for threads in [2, 3, 7] {
                assert!(
                    unparse_chunked(file.clone(), threads, 1) == whole,
                    "{} formatted in {threads} chunks differs",
                    spec.display()
                );
            }
        }
    }
}
