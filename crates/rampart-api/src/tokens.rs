//! `OperationPolicy` values as Rust expressions (feature `tokens`): the
//! generator and `#[secured]` emit policies as data, never enforcement logic.

use crate::descriptor::ApiDescriptor;
use crate::policy::{OperationPolicy, RateKey};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// An expression building `policy`.
pub fn policy_tokens(policy: &OperationPolicy) -> TokenStream {
    let id = &policy.operation_id;
    let method = &policy.method;
    let path = &policy.path;
    let mut fields = Vec::new();
    if !policy.security.is_empty() {
        let alternatives = policy.security.iter().map(|req| {
            let mut schemes = req.schemes.iter();
            let first = schemes.next().map(|s| {
                let (name, scopes) = (&s.scheme, scopes_tokens(&s.scopes));
                quote!(::rampart::SecurityRequirement::scheme(#name, #scopes))
            });
            let rest = schemes.map(|s| {
                let (name, scopes) = (&s.scheme, scopes_tokens(&s.scopes));
                quote!(.and(#name, #scopes))
            });
            quote!(#first #(#rest)*)
        });
        fields.push(quote!(security: ::std::vec::Vec::from([#(#alternatives),*]),));
    }
    if policy.public {
        fields.push(quote!(public: true,));
    }
    if !policy.roles.is_empty() {
        let roles = &policy.roles;
        fields.push(quote!(roles: ::std::vec::Vec::from([#(#roles.to_owned()),*]),));
    }
    if let Some(rate) = &policy.rate {
        let count = Literal::u32_unsuffixed(rate.count);
        let secs = Literal::u64_unsuffixed(rate.period.as_secs());
        let burst = rate.burst.map(|b| {
            let b = Literal::u32_unsuffixed(b);
            quote!(.with_burst(#b))
        });
        fields.push(quote!(rate: Some(::rampart::Rate::new(#count, ::std::time::Duration::from_secs(#secs))#burst),));
    }
    if policy.rate_key == RateKey::Ip {
        fields.push(quote!(rate_key: ::rampart::RateKey::Ip,));
    }
    if policy.rate_exact {
        fields.push(quote!(rate_exact: true,));
    }
    if let Some(limit) = policy.body_limit {
        let limit = Literal::u64_unsuffixed(limit);
        fields.push(quote!(body_limit: Some(#limit),));
    }
    if let Some(dep) = &policy.deprecation {
        let opt_i64 = |v: Option<i64>| match v {
            Some(v) => {
                let l = Literal::i64_unsuffixed(v);
                quote!(Some(#l))
            }
            None => quote!(None),
        };
        let since = opt_i64(dep.since);
        let sunset = opt_i64(dep.sunset);
        let successor = match &dep.successor {
            Some(s) => quote!(Some(#s.to_owned())),
            None => quote!(None),
        };
        fields.push(quote!(deprecation: Some(::rampart::Deprecation { since: #since, sunset: #sunset, successor: #successor }),));
    }
    if policy.replay == crate::policy::Replay::Reject {
        fields.push(quote!(replay: ::rampart::Replay::Reject,));
    }
    if fields.is_empty() {
        return quote!(::rampart::OperationPolicy::new(#id, #method, #path));
    }
    quote! {
        ::rampart::OperationPolicy {
            #(#fields)*
            ..::rampart::OperationPolicy::new(#id, #method, #path)
        }
    }
}

fn scopes_tokens(scopes: &[String]) -> TokenStream {
    if scopes.is_empty() {
        quote!(::std::iter::empty::<&str>())
    } else {
        quote!([#(#scopes),*])
    }
}

/// An expression building `api` at run time from its JSON, embedded as a
/// raw string literal: `::rampart::ApiDescriptor::embedded(r#"..."#)`.
pub fn descriptor_tokens(api: &ApiDescriptor) -> TokenStream {
    let json = raw_string(&api.to_json());
    quote!(::rampart::ApiDescriptor::embedded(#json))
}

/// `text` as a raw string literal (`r#"..."#`, with as many `#` as it needs).
fn raw_string(text: &str) -> Literal {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .expect("a raw string literal with enough `#` always parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_holding_quotes_and_hashes_embeds_as_one_raw_string() {
        // Its JSON holds `"#` and `"##`: the literal needs three `#`.
        let api = ApiDescriptor::empty("say \"#hi\"##", "1");
        let json = api.to_json();
        let tokens = descriptor_tokens(&api).to_string();
        let expected = format!("r###\"{json}\"###");
        assert!(
            tokens.starts_with(":: rampart :: ApiDescriptor :: embedded (")
                && tokens.contains(&expected),
            "{tokens}"
        );
    }
}
