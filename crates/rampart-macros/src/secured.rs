//! Expanding `#[secured]` (and `#[operation]`, which shares the expansion):
//! the handler becomes a unit struct of the same name that implements axum's
//! `Handler` by running the request through rampart's pipeline with the
//! handler's `OperationPolicy`; the function stays callable as `name::handler`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use rampart_api::policy::{
    DEFAULT_BODY_LIMIT, Deprecation, OperationPolicy, RateKey, SecurityRequirement,
};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, ItemFn};

use crate::args::{self, OperationArgs, SecuredArgs};
#[cfg(feature = "spec")]
use crate::operation as spec_check;

/// Which of the two attributes an attribute is.
fn is_attr(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

/// Take the first `#[name(...)]` attribute off `item`, parsed with `parse`.
fn take_attr<T>(
    item: &mut ItemFn,
    name: &str,
    parse: fn(TokenStream, Span) -> syn::Result<T>,
) -> syn::Result<Option<T>> {
    let Some(index) = item.attrs.iter().position(|a| is_attr(a, name)) else {
        return Ok(None);
    };
    let attr = item.attrs.remove(index);
    let tokens = match &attr.meta {
        syn::Meta::List(list) => list.tokens.clone(),
        _ => TokenStream::new(),
    };
    parse(tokens, attr.path().span()).map(Some)
}

/// `#[secured(args)]` on `item`.
pub(crate) fn secured(attr: TokenStream, item: ItemFn) -> TokenStream {
    let mut item = item;
    let used = mark_used(&item, "operation");
    let result = args::parse_secured(attr, Span::call_site()).and_then(|secured| {
        let operation = take_attr(&mut item, "operation", args::parse_operation)?;
        expand(Some(secured), operation, &item)
    });
    let expanded = result.unwrap_or_else(|e| fallback(e, &item));
    quote!(#used #expanded)
}

/// `#[operation(args)]` on `item`.
pub(crate) fn operation(attr: TokenStream, item: ItemFn) -> TokenStream {
    let mut item = item;
    let used = mark_used(&item, "secured");
    let result = args::parse_operation(attr, Span::call_site()).and_then(|operation| {
        let secured = take_attr(&mut item, "secured", args::parse_secured)?;
        expand(secured, Some(operation), &item)
    });
    let expanded = result.unwrap_or_else(|e| fallback(e, &item));
    quote!(#used #expanded)
}

/// The other attribute is expanded here, not by its own macro: keep its
/// import in use so `use rampart::secured;` does not warn.
fn mark_used(item: &ItemFn, name: &str) -> TokenStream {
    let paths = item
        .attrs
        .iter()
        .filter(|a| is_attr(a, name))
        .map(Attribute::path);
    quote!(#(#[allow(unused_imports)] use #paths as _;)*)
}

/// On error: the errors and the item as written, with its `#[secured]` /
/// `#[operation]` removed, so only the real error shows.
fn fallback(error: syn::Error, item: &ItemFn) -> TokenStream {
    let mut item = item.clone();
    item.attrs
        .retain(|a| !is_attr(a, "secured") && !is_attr(a, "operation"));
    let error = error.to_compile_error();
    quote! {
        #error
        #[allow(dead_code)]
        #item
    }
}

fn expand(
    secured: Option<SecuredArgs>,
    operation: Option<OperationArgs>,
    item: &ItemFn,
) -> syn::Result<TokenStream> {
    check_signature(item)?;
    let checked = match &operation {
        Some(op) => Some(checked_against_spec(op, secured.as_ref(), item)?),
        None => None,
    };
    let (policy, tracking) = match (checked, &secured) {
        (Some(checked), _) => checked,
        (None, Some(secured)) => (policy_of(&item.sig.ident.to_string(), secured), quote!()),
        (None, None) => unreachable!("expand is called with at least one attribute"),
    };
    if secured.is_none() {
        // `#[operation]` alone on a handler the spec leaves public: nothing to guard.
        return Ok(quote! { #tracking #item });
    }
    Ok(wrap(item, &policy, tracking))
}

/// The spec's policy for `op`, and the tokens that fail the build on the
/// spec's errors and rebuild when it changes. The handler matches the spec;
/// a spec with errors still fails the build, with its findings, but the
/// handler expands as it would on a clean spec (no follow-on errors where it
/// is routed or its `policy()` is called).
#[cfg(feature = "spec")]
fn checked_against_spec(
    op: &OperationArgs,
    secured: Option<&SecuredArgs>,
    item: &ItemFn,
) -> syn::Result<(OperationPolicy, TokenStream)> {
    let checked = spec_check::check(op, secured, item)?;
    let findings = checked.spec.errors().map(|e| e.to_compile_error());
    let tracking = checked.spec.tracking();
    Ok((checked.policy, quote!(#findings #tracking)))
}

/// Without the spec front end, `#[operation]` cannot be checked: say how to
/// get it.
#[cfg(not(feature = "spec"))]
fn checked_against_spec(
    op: &OperationArgs,
    _: Option<&SecuredArgs>,
    _: &ItemFn,
) -> syn::Result<(OperationPolicy, TokenStream)> {
    Err(crate::needs_spec_feature(op.spec.span(), "#[operation]"))
}

fn check_signature(item: &ItemFn) -> syn::Result<()> {
    if item.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            item.sig.fn_token.span(),
            "#[secured] handlers must be `async fn`\nhelp: write `async fn`",
        ));
    }
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.sig.generics.span(),
            "#[secured] handlers cannot be generic\nhelp: use concrete extractor types",
        ));
    }
    if let Some(FnArg::Receiver(r)) = item.sig.inputs.first() {
        return Err(syn::Error::new(
            r.span(),
            "#[secured] handlers are free functions, not methods",
        ));
    }
    Ok(())
}

/// The policy `#[secured]` alone states.
fn policy_of(name: &str, secured: &SecuredArgs) -> OperationPolicy {
    let scopes: Vec<String> = secured.scopes.iter().map(syn::LitStr::value).collect();
    let security = if secured.public.is_some() {
        Vec::new()
    } else {
        vec![match &secured.scheme {
            Some(scheme) => SecurityRequirement::scheme(scheme.value(), scopes),
            None => SecurityRequirement::any(scopes),
        }]
    };
    OperationPolicy {
        security,
        replay: Default::default(),
        public: secured.public.is_some(),
        roles: secured.roles.iter().map(syn::LitStr::value).collect(),
        rate: secured.effective_rate(),
        rate_exact: secured.rate_exact.is_some(),
        rate_key: if secured.rate_key_ip.is_some() {
            RateKey::Ip
        } else {
            RateKey::Principal
        },
        body_limit: Some(
            secured
                .body_limit
                .as_ref()
                .map_or(DEFAULT_BODY_LIMIT, |b| b.value),
        ),
        deprecation: secured.deprecated.as_ref().map(|d| Deprecation {
            since: d.since.as_ref().map(|s| s.value),
            sunset: d.sunset.as_ref().map(|s| s.value),
            successor: d.successor.as_ref().map(syn::LitStr::value),
        }),
        ..OperationPolicy::new(name, "", "")
    }
}

/// The unit struct, its policy, the function, and the `Handler` impl.
fn wrap(item: &ItemFn, policy: &OperationPolicy, tracking: TokenStream) -> TokenStream {
    let name = &item.sig.ident;
    let vis = &item.vis;
    let (docs, fn_attrs): (Vec<&Attribute>, Vec<&Attribute>) =
        item.attrs.iter().partition(|a| a.path().is_ident("doc"));
    let mut function = item.clone();
    function.sig.ident = format_ident!("handler", span = name.span());
    function.attrs = fn_attrs.into_iter().cloned().collect();
    function.vis = item.vis.clone();
    let types: Vec<&syn::Type> = item
        .sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(t) => Some(&*t.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let policy = rampart_api::tokens::policy_tokens(policy);
    let axum = quote!(::rampart::__private::axum);
    let (marker, generics, bounds) = match types.split_last() {
        None => (quote!(((),)), quote!(<__S>), quote!()),
        Some((last, first)) => (
            quote!((__M, #(#types,)*)),
            quote!(<__M, __S>),
            quote! {
                __M: 'static,
                #(#first: #axum::extract::FromRequestParts<__S> + ::core::marker::Send,)*
                #last: #axum::extract::FromRequest<__S, __M> + ::core::marker::Send,
            },
        ),
    };
    quote! {
        #tracking

        #(#docs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        #vis struct #name;

        impl #name {
            /// The security policy this handler is enforced with.
            #vis fn policy() -> ::rampart::OperationPolicy {
                #policy
            }

            /// The handler itself, without its guard (for unit tests).
            #function
        }

        impl ::rampart::secured::SecuredPolicy for #name {
            fn policy() -> ::rampart::OperationPolicy {
                #name::policy()
            }
        }

        impl #generics ::rampart::secured::SecuredHandler<#marker, __S> for #name
        where
            __S: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
            #bounds
        {
            fn call_guarded(
                self,
                guard: &::rampart::GuardLayer,
                req: #axum::extract::Request,
                state: __S,
            ) -> ::rampart::secured::GuardedFuture {
                ::rampart::secured::run::<_, #marker, __S>(guard, #name::handler, req, state)
            }
        }
    }
}
