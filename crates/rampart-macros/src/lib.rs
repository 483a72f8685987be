//! rampart's proc macros. They only parse their arguments and call
//! `rampart-spec` (spec loading, the value grammar, lint) and
//! `rampart-codegen` (policies as data, the generated server); the runtime
//! pipeline in `rampart` enforces what they declare. Use them through the
//! `rampart` crate: `rampart::secured`, `rampart::operation`, `rampart::api!`.
//!
//! See `docs/macros.md` for the full reference.

mod api;
mod args;
mod operation;
mod secured;
mod spec;

use proc_macro::TokenStream;

/// Enforce a security policy on a hand-written axum handler.
///
/// ```ignore
/// #[rampart::secured(role = "admin", rate = "5/min")]
/// async fn purge(principal: rampart::Principal) -> &'static str { "purged" }
///
/// let app = security.harden(Router::new().route("/purge", post(purge)));
/// ```
///
/// Arguments: `role = "admin"` or `roles = ["admin", "ops"]` (any one
/// suffices), `scopes = ["pets:write"]`, `scheme = "bearerAuth"` (default: any
/// configured scheme), `rate = "5/min"`, `burst = 10`, `rate_key = "ip"`,
/// `rate_exact` (the quota is never leased by the Redis store),
/// `public`, `deprecated(since = "...", sunset = "...", successor = "...")`,
/// `body_limit = "16KiB"`. Values are checked at compile time by the parser
/// the spec loader uses. The handler becomes a unit struct of the same name
/// implementing `axum::handler::Handler`; `name::policy()` is its policy and
/// `name::handler` the original function.
#[proc_macro_attribute]
pub fn secured(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    secured::secured(attr.into(), item).into()
}

/// Check at compile time that a handler matches an operation of a spec:
/// `#[operation(spec = "specs/petstore.yaml", id = "deletePet")]`.
///
/// The operation must exist, path parameters must match by name and type, the
/// body type must match, and `#[secured]` must state exactly the spec's
/// security for the operation. With `#[secured]`, the handler is enforced
/// with the spec's own policy for the operation. The spec path is relative to
/// the crate's `CARGO_MANIFEST_DIR`; a spec edit triggers recompilation.
/// A spec with errors fails the build with each of them (`file:line:col`),
/// and the handler is still checked against it when it loaded.
#[proc_macro_attribute]
pub fn operation(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    secured::operation(attr.into(), item).into()
}

/// Generate, at compile time, what `cargo xtask generate` writes for a spec:
/// models, the API trait, response enums, policies and `router()`.
///
/// ```ignore
/// mod petstore {
///     rampart::api!("specs/petstore.yaml");
/// }
/// ```
///
/// Spec errors and deny-level lint findings are compile errors, one per
/// finding, each naming the spec's `file:line:col`; a spec with only lint
/// findings is still generated, so code using the items shows no follow-on
/// errors. The crate needs `validator` (with `derive`) as a
/// dependency, as a generated crate does.
#[proc_macro]
pub fn api(input: TokenStream) -> TokenStream {
    let lit = syn::parse_macro_input!(input as syn::LitStr);
    api::api(&lit).into()
}
