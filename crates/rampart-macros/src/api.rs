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
            let items = rampart_codegen::macro_items(&spec.model, &spec.display);
            let tracking = spec.tracking();
            quote! {
                #tracking
                #items
            }
        }
        Err(e) => e.to_compile_error(),
    }
}
