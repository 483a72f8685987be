//! `rampart::api!("specs/petstore.yaml")`: what `cargo xtask generate` writes,
//! generated at compile time by the same `rampart-codegen` call.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

use crate::spec;

/// Expand `api!(lit)`.
pub(crate) fn api(lit: &LitStr) -> TokenStream {
    match spec::load(lit) {
        Ok(spec) => {
            // A spec with only lint findings is still generated (as `cargo
            // xtask generate` would), so code using the items shows no
            // follow-on errors: the build fails on the findings alone. A
            // model the loader reported errors in may be partial: no items.
            let findings = spec.errors().map(|e| e.to_compile_error());
            let items = spec
                .loaded_cleanly()
                .then(|| rampart_codegen::macro_items(&spec.model, &spec.display));
            let tracking = spec.tracking();
            quote! {
                #findings
                #tracking
                #items
            }
        }
        Err(e) => e.to_compile_error(),
    }
}
