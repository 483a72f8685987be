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
//!
//! The [`guide`] is `docs/generator.md`: what the generator emits and how
//! each schema shape is enforced.

mod builder;
mod ecma;
pub mod enforce;
/// The generator's guide (`docs/generator.md`).
#[doc = include_str!("../../../docs/generator.md")]
pub mod guide {}
pub mod mock;
mod names;
mod operations;
mod routes;
mod shape;
mod types;

use std::path::Path;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use rampart_spec::ApiModel;

pub use builder::{
    Builder, CrateOptions, GenerateError, RampartDependency, generate_crate, generate_crate_with,
};
pub use rampart_api::tokens::policy_tokens;

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
    /// Constraints the generated validators cannot enforce and that no
    /// `x-rampart: { unenforced: [...] }` opts out of ([`enforce::CODE`]).
    /// The file-writing front ends refuse to generate while there are any
    /// (unless told [`Builder::allow_unenforced`]); `api!` turns them into
    /// compile errors.
    pub errors: Vec<rampart_spec::Diagnostic>,
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
        let operations::OperationTokens {
            api_trait,
            items: operation_items,
            wiring,
        } = operations::generate(model, &mut types, &trait_name, self.mock);
        let (patterns, items, warnings) = types.into_items();
        let title = model.title();
        let version = model.version();
        let trait_ident = format_ident!("{}", trait_name);
        let _ = &trait_ident;
        let descriptor = rampart_api::tokens::descriptor_tokens(&model.descriptor());
        let tokens = quote! {
            use ::validator::Validate as _;

            /// The spec's `info.title`.
            pub const TITLE: &str = #title;
            /// The spec's `info.version`, sent as `X-API-Version`.
            pub const VERSION: &str = #version;
            /// Everything the runtime enforces and serves for this API
            /// (policies, schemes, roles, CORS, endpoints, fields to redact,
            /// the served document), compiled in: `Security::load(&API)`.
            /// The spec file is not needed at run time.
            pub static API: ::std::sync::LazyLock<::rampart::ApiDescriptor> =
                ::std::sync::LazyLock::new(api_descriptor);

            #api_trait

            /// The spec's schemas, and each operation's response enum and
            /// parameter structs, with serde and `validator` derives
            /// (re-exported at the top: `Pet` is `types::Pet`).
            pub mod types {
                use super::*;
                use ::validator::Validate as _;

                #(#patterns)*

                #(#items)*

                #(#operation_items)*
            }

            pub use types::*;

            #wiring

            /// [`API`], read from the JSON `rampart_spec`'s `ApiModel::descriptor()`
            /// wrote when this code was generated.
            fn api_descriptor() -> ::rampart::ApiDescriptor {
                #descriptor
            }
        };
        let _ = &self.source;
        let errors = enforce::unenforceable(&model.root);
        Generated {
            tokens,
            warnings,
            errors,
        }
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

/// The Rust field (and binding) name the generator gives the spec name `name`.
pub fn field_name(name: &str) -> String {
    names::snake(name)
}

/// What `rampart::api!` expands to: the generator's items, exactly as
/// [`format_file`] writes them for `cargo xtask generate`, each carrying the
/// lint allowances the file-level attribute gives a generated file.
///
/// A constraint the generator cannot enforce (see [`Generated::errors`])
/// becomes a `compile_error!` naming the schema by its JSON pointer.
pub fn macro_items(model: &ApiModel, source: &str) -> TokenStream {
    let generated = Generator::new(model, source).generate();
    let refusals = generated.errors.iter().map(|e| {
        let message = format!(
            "rampart: {source}: {}; {}",
            e.message,
            e.help.as_deref().unwrap_or_default()
        );
        quote!(::core::compile_error!(#message);)
    });
    let refusals: TokenStream = refusals.collect();
    let allow = allowed_lints();
    match syn::parse2::<syn::File>(generated.tokens.clone()) {
        Ok(file) => {
            let items = file.items.iter();
            quote!(#refusals #(#[#allow] #items)*)
        }
        Err(_) => {
            let tokens = &generated.tokens;
            quote!(#refusals #tokens)
        }
    }
}

/// Format generated tokens as a file with the `@generated` header.
pub fn format_file(tokens: &TokenStream, source: &str) -> String {
    let header = format!(
        "// @generated by rampart-codegen from {source}. Do not edit: change the spec and regenerate.\n"
    );
    // Parse the tokens as they are and add the file-level attribute to the
    // tree: wrapping them in `quote!` first would copy every token once more.
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(mut parsed) => {
            let allow = allowed_lints();
            parsed.attrs.insert(0, syn::parse_quote!(#![#allow]));
            header + &space_items(&prettyplease::unparse(&parsed))
        }
        Err(e) => format!(
            "{header}// rampart-codegen produced tokens that do not parse ({e}); unformatted:\n{tokens}\n"
        ),
    }
}

/// Words an item (or its doc comment or attribute) starts with.
const ITEM_STARTS: &[&str] = &[
    "///",
    "//!",
    "#[",
    "pub ",
    "pub(",
    "impl",
    "fn ",
    "async fn ",
    "const ",
    "static ",
    "mod ",
    "enum ",
    "struct ",
    "trait ",
    "type ",
    "use ",
];

/// A blank line between items, as a person would write them: prettyplease
/// puts items on consecutive lines. An item starts a new paragraph when the
/// line before it ends one (`}` or `;`) at the same indentation; `use`
/// lines stay together.
fn space_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + code.len() / 16);
    let mut previous: Option<&str> = None;
    for line in code.lines() {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        if let Some(before) = previous {
            let before_text = before.trim_start();
            let same_indent = before.len() - before_text.len() == indent;
            let ends_item = before_text.ends_with('}') || before_text.ends_with(';');
            let starts_item = ITEM_STARTS.iter().any(|w| text.starts_with(w));
            let both_uses = text.starts_with("use ") && before_text.starts_with("use ");
            if same_indent && ends_item && starts_item && !both_uses {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        previous = Some(line);
    }
    out
}

/// Load, check and generate in one step, for front ends. A constraint the
/// generator cannot enforce is an error ([`GenerateError::Spec`], rendered
/// with `file:line:col`).
pub fn generate_from_path(spec: &Path) -> Result<(String, Vec<String>), GenerateError> {
    generate_from_path_with(spec, false)
}

/// [`generate_from_path`], with [`Generator::mock`] set to `mock`.
pub fn generate_from_path_with(
    spec: &Path,
    mock: bool,
) -> Result<(String, Vec<String>), GenerateError> {
    generate_checked(spec, mock, false)
}

/// Load and generate; with `allow_unenforced`, constraints the generator
/// cannot enforce become warnings instead of errors.
pub(crate) fn generate_checked(
    spec: &Path,
    mock: bool,
    allow_unenforced: bool,
) -> Result<(String, Vec<String>), GenerateError> {
    let loaded = rampart_spec::load_file(spec);
    let (model, files, _diags) = loaded.into_result().map_err(GenerateError::Spec)?;
    let generated = Generator::new(&model, spec.display().to_string())
        .mock(mock)
        .generate();
    let mut warnings = generated.warnings.clone();
    if allow_unenforced {
        warnings.extend(generated.errors.iter().map(|e| match e.span {
            Some(span) => format!(
                "{}: {} (allowed: not enforced)",
                files.location(span),
                e.message
            ),
            None => format!("{} (allowed: not enforced)", e.message),
        }));
    } else if !generated.errors.is_empty() {
        let rendered: String = generated.errors.iter().map(|e| e.render(&files)).collect();
        return Err(GenerateError::Spec(rendered));
    }
    let text = generated.to_formatted_string(&spec.display().to_string());
    Ok((text, warnings))
}
