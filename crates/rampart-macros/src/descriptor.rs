//! `rampart::descriptor!("specs/petstore.yaml")`: a spec's `ApiDescriptor`,
//! compiled in, for servers of hand-written `#[operation]` handlers (a
//! generated crate has it as `API`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

use crate::spec;

/// Expand `descriptor!(lit)`: an expression of type `rampart::ApiDescriptor`.
pub(crate) fn descriptor(lit: &LitStr) -> TokenStream {
    match spec::load(lit) {
        Ok(spec) => {
            // A spec with errors fails the build with them; the expression is
            // still produced so no follow-on type error hides them.
            let findings = spec.errors().map(|e| e.to_compile_error());
            let tracking = spec.tracking();
            let descriptor = rampart_api::tokens::descriptor_tokens(&spec.model.descriptor());
            quote! {{
                #findings
                #tracking
                #descriptor
            }}
        }
        Err(e) => e.to_compile_error(),
    }
}
