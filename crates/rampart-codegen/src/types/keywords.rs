//! Checks for keywords that a Rust type cannot carry by itself: `enum` of
//! numbers, booleans or mixed values (checked by value), `multipleOf`, and
//! `minProperties`/`maxProperties` of maps. Each becomes a `validator`
//! rule; value lists and divisors live in small generated functions beside
//! the pattern statics, named after the field they check.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use super::{RustType, Scalar, TypeSpace};
use crate::names::snake;
use crate::shape::{Extra, Shape, shape};
use openapiv3::Schema;

/// The keywords of a schema as JSON (what `openapiv3` keeps of them).
fn keywords(schema: &Schema) -> Value {
    serde_json::to_value(&schema.schema_kind).unwrap_or_default()
}

/// The 2020-12 keywords the spec front end kept for the generator
/// (`rampart_spec::dialect::KEPT_KEYWORDS`).
fn kept<'x>(schema: &'x Schema, keyword: &str) -> Option<&'x Value> {
    schema
        .schema_data
        .extensions
        .get(rampart_spec::dialect::KEPT_KEYWORDS)?
        .get(keyword)
}

impl<'a> TypeSpace<'a> {
    /// The `validator` rules for `enum` (by value), `multipleOf` and the
    /// property counts of a map, for a field or item of type `ty`.
    pub(super) fn keyword_rules(
        &mut self,
        schema: &Schema,
        ty: &RustType,
        parent: &str,
        wire: &str,
    ) -> Vec<TokenStream> {
        let mut rules = Vec::new();
        let words = keywords(schema);
        let shape = shape(schema);
        // A scalar behind an alias (`Int53Type`) is checked as its primitive.
        let tokens = match (&shape, ty.scalar) {
            (Shape::Int(n) | Shape::Num(n), Scalar::Int | Scalar::Float) => {
                super::scalar_primitive(ty.scalar, n.format.as_deref()).to_owned()
            }
            _ => ty.tokens.to_string(),
        };
        // `validator` passes a value by value only when the field's type is
        // written as a primitive number; behind an alias it passes a
        // reference (`&&i64` through an `Option`, which coerces to `&i64`).
        let by_value = ty.tokens.to_string() == tokens;
        if let Some(values) = words.get("enum").and_then(Value::as_array)
            && !ty.is_enum
            && !matches!(shape, Shape::Str(_))
            && let Some(rule) = self.enum_rule(values, &tokens, by_value, parent, wire)
        {
            rules.push(rule);
        }
        if let Some(divisor) = words.get("multipleOf").and_then(Value::as_f64)
            && divisor > 0.0
            && ty.scalar != Scalar::Other
            && matches!(tokens.as_str(), "i32" | "i64" | "f32" | "f64")
        {
            let t = format_ident!("{}", tokens);
            let (param, value) = if by_value {
                (quote!(value: #t), quote!(value))
            } else {
                (quote!(value: &#t), quote!(*value))
            };
            let divisor = Literal::f64_unsuffixed(divisor);
            let body = quote!(::rampart::validate::keywords::multiple_of(#value as f64, #divisor));
            let f = self.keyword_fn(parent, wire, "multiple_of", quote!(), param, body);
            rules.push(quote!(custom(function = #f)));
        }
        // Checks of a map itself, on a plain `BTreeMap` (a map whose values
        // carry checks is a newtype that runs these in its own `validate`).
        let plain_map = tokens.starts_with(":: std :: collections :: BTreeMap");
        if let Shape::Object {
            properties, extra, ..
        } = &shape
            && properties.is_empty()
            && !matches!(extra, Extra::Denied)
            && plain_map
        {
            let count = |k: &str| words.get(k).and_then(Value::as_u64);
            let min = count("minProperties").filter(|m| *m > 0).map(|m| {
                let l = Literal::u64_unsuffixed(m);
                quote!(min = #l)
            });
            let max = count("maxProperties").map(|m| {
                let l = Literal::u64_unsuffixed(m);
                quote!(max = #l)
            });
            let parts: Vec<_> = min.into_iter().chain(max).collect();
            if !parts.is_empty() {
                rules.push(quote!(length(#(#parts),*)));
            }
            let required: Vec<&str> = words
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if !required.is_empty() {
                let param = quote!(value: &::std::collections::BTreeMap<String, V>);
                let body =
                    quote!(::rampart::validate::keywords::required_keys(value, &[#(#required),*]));
                let f = self.keyword_fn(parent, wire, "required", quote!(<V>), param, body);
                rules.push(quote!(custom(function = #f)));
            }
        }
        if let Shape::Array { items: None, .. } = &shape
            && let Some(prefix) = kept(schema, "prefixItems").and_then(Value::as_array)
            && let Some(rule) = self.prefix_items_rule(prefix, parent, wire)
        {
            rules.push(rule);
        }
        if let Shape::Object {
            properties, extra, ..
        } = &shape
            && properties.is_empty()
            && !matches!(extra, Extra::Denied)
            && plain_map
            && let Some(names) = kept(schema, "propertyNames")
            && let Some(rule) = self.property_names_rule(names, parent, wire)
        {
            rules.push(rule);
        }
        rules
    }

    /// A map whose values carry checks: a transparent newtype implementing
    /// `Validate` (every value checked, errors named by key), so it can be a
    /// body, a field, an array item or an alternative like any other type.
    pub(super) fn checked_map(
        &mut self,
        schema: &'a Schema,
        hint: &str,
        value: &RustType,
    ) -> RustType {
        let key = schema as *const Schema;
        if let Some(known) = self.inline_cache.get(&key) {
            return known.clone();
        }
        let name = self.fresh_name(&format!("{hint}Map"));
        let ident = format_ident!("{}", name);
        let v = &value.tokens;
        let map = RustType::plain(
            quote!(::std::collections::BTreeMap<String, #v>),
            Scalar::Other,
        );
        let mut rules = self.keyword_rules(schema, &map, hint, "map");
        rules.push(quote!(nested));
        let doc = format!(" The map `{hint}`: every value is checked against its schema.");
        self.items.push(quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq, Default, ::rampart::__private::serde::Serialize, ::rampart::__private::serde::Deserialize)]
            #[serde(crate = "::rampart::__private::serde", transparent)]
            pub struct #ident(pub ::std::collections::BTreeMap<String, #v>);

            impl ::std::ops::Deref for #ident {
                type Target = ::std::collections::BTreeMap<String, #v>;
                fn deref(&self) -> &Self::Target {
                    &self.0
                }
            }

            impl ::validator::Validate for #ident {
                fn validate(&self) -> Result<(), ::validator::ValidationErrors> {
                    #[derive(::validator::Validate)]
                    struct Map<'a> {
                        #[validate(#(#rules),*)]
                        __all__: &'a ::std::collections::BTreeMap<String, #v>,
                    }
                    ::validator::Validate::validate(&Map { __all__: &self.0 })
                }
            }
        });
        let ty = RustType {
            nested: true,
            ..RustType::plain(quote!(#ident), Scalar::Other)
        };
        self.inline_cache.insert(key, ty.clone());
        ty
    }

    /// A `pattern` with look-around or backreferences: matched by the
    /// backtracking engine with a step limit.
    pub(super) fn backtracking_pattern_rule(
        &mut self,
        rust: &str,
        pattern: &str,
        parent: &str,
        wire: &str,
    ) -> Option<TokenStream> {
        crate::ecma::check_backtracking(rust).ok()?;
        let static_ident = format_ident!(
            "{}_PATTERN",
            self.pattern_namer
                .unique(&format!("{}_{}", snake(parent), snake(wire)).to_ascii_uppercase())
        );
        let limit = crate::ecma::BACKTRACK_LIMIT;
        let doc =
            format!(" `{pattern}` (ECMA-262), matched with backtracking (at most {limit} steps).");
        self.patterns.push(quote! {
            #[doc = #doc]
            static #static_ident: ::std::sync::LazyLock<::rampart::__private::BacktrackingRegex> =
                ::std::sync::LazyLock::new(|| {
                    ::rampart::__private::BacktrackingRegexBuilder::new(#rust)
                        .backtrack_limit(#limit)
                        .build()
                        .expect("pattern checked when generated")
                });
        });
        let param = quote!(value: &str);
        let body =
            quote!(::rampart::validate::keywords::backtracking_pattern(&#static_ident, value));
        let f = self.keyword_fn(parent, wire, "pattern", quote!(), param, body);
        Some(quote!(custom(function = #f)))
    }

    /// `additionalProperties: <schema>` beside named properties: the other
    /// keys are collected into a flattened map whose values are checked
    /// against the schema.
    pub(super) fn extra_properties_field(
        &mut self,
        parent: &str,
        value_schema: &'a openapiv3::ReferenceOr<Schema>,
        namer: &mut crate::names::Namer,
    ) -> TokenStream {
        let field = crate::names::ident(&namer.unique("additional_properties"));
        let what = format!("A value of an additional property of `{parent}`");
        let value = self.checked_type(
            value_schema.into(),
            &format!("{parent}AdditionalValue"),
            parent,
            "additional",
            &what,
        );
        let t = &value.tokens;
        let validate = value.nested.then(|| quote!(#[validate(nested)]));
        quote! {
            /// Properties beyond the named ones, each checked against `additionalProperties`.
            #[serde(flatten)]
            #validate
            pub #field: ::std::collections::BTreeMap<String, #t>,
        }
    }

    /// `prefixItems` (on an array with no `items` schema): item `i`, when
    /// present, must be a valid value of the `i`th schema, with its checks.
    fn prefix_items_rule(
        &mut self,
        prefix: &[Value],
        parent: &str,
        wire: &str,
    ) -> Option<TokenStream> {
        let mut checks = Vec::new();
        for (i, entry) in prefix.iter().enumerate() {
            let parsed: openapiv3::ReferenceOr<Schema> =
                serde_json::from_value(entry.clone()).ok()?;
            // The schema lives as long as the generator's other schemas.
            let parsed: &'a openapiv3::ReferenceOr<Schema> = Box::leak(Box::new(parsed));
            let hint = format!("{parent}{}Item{i}", crate::names::camel(wire));
            let what = format!("Item {i} of `{parent}.{wire}`");
            let ty = self.checked_type(parsed.into(), &hint, parent, &format!("{wire}_{i}"), &what);
            let t = &ty.tokens;
            let validate = ty.nested.then(|| {
                quote! {
                    ::validator::Validate::validate(&item)
                        .map_err(|_| ::validator::ValidationError::new("prefix_items"))?;
                }
            });
            checks.push(quote! {
                if let Some(item) = value.get(#i) {
                    let item: #t = ::rampart::validate::keywords::item_as(item)?;
                    #validate
                }
            });
        }
        let param = quote!(value: &[::rampart::__private::serde_json::Value]);
        let body = quote! {
            #(#checks)*
            Ok(())
        };
        let f = self.keyword_fn(parent, wire, "prefix_items", quote!(), param, body);
        Some(quote!(custom(function = #f)))
    }

    /// `propertyNames` of a map: every key must satisfy the name schema's
    /// string rules (`minLength`, `maxLength`, `pattern`).
    fn property_names_rule(
        &mut self,
        names: &Value,
        parent: &str,
        wire: &str,
    ) -> Option<TokenStream> {
        let parsed: Schema = serde_json::from_value(names.clone()).ok()?;
        let Shape::Str(rules) = shape(&parsed) else {
            return None;
        };
        let mut checks = Vec::new();
        if let Some(min) = rules.min_length {
            checks.push(quote!(name.chars().count() >= #min));
        }
        if let Some(max) = rules.max_length {
            checks.push(quote!(name.chars().count() <= #max));
        }
        if let Some(pattern) = &rules.pattern {
            let rust = crate::ecma::translate(pattern);
            crate::ecma::check(&rust).ok()?;
            let static_ident = self.regex_static(pattern, &rust, parent, &format!("{wire}_names"));
            checks.push(quote!(#static_ident.is_match(name)));
        }
        if !rules.enumeration.is_empty() {
            let values = &rules.enumeration;
            checks.push(quote!([#(#values),*].contains(&name)));
        }
        if checks.is_empty() {
            return None;
        }
        let param = quote!(value: &::std::collections::BTreeMap<String, V>);
        let body = quote! {
            ::rampart::validate::keywords::property_names(value, |name: &str| #(#checks)&&*)
        };
        let f = self.keyword_fn(parent, wire, "property_names", quote!(<V>), param, body);
        Some(quote!(custom(function = #f)))
    }

    /// `enum` checked by value: the value must equal one of `values`.
    fn enum_rule(
        &mut self,
        values: &[Value],
        tokens: &str,
        by_value: bool,
        parent: &str,
        wire: &str,
    ) -> Option<TokenStream> {
        // `null` is `nullable`'s business (an `Option`); it is never a value here.
        let values: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
        let (param, list) = match tokens {
            "i32" | "i64" => {
                let lits = values
                    .iter()
                    .filter_map(|v| v.as_i64())
                    .map(Literal::i64_unsuffixed);
                let t = format_ident!("{}", tokens);
                (number_param(&t, by_value), quote!(&[#(#lits),*]))
            }
            "f32" | "f64" => {
                let lits = values
                    .iter()
                    .filter_map(|v| v.as_f64())
                    .map(Literal::f64_unsuffixed);
                let t = format_ident!("{}", tokens);
                (number_param(&t, by_value), quote!(&[#(#lits),*]))
            }
            "bool" => {
                let lits = values.iter().filter_map(|v| v.as_bool());
                (quote!(value: &bool), quote!(&[#(#lits),*]))
            }
            _ if tokens.ends_with("serde_json :: Value") => {
                let json = Value::Array(values.iter().map(|v| (*v).clone()).collect()).to_string();
                let static_name = format_ident!(
                    "{}_VALUES",
                    self.pattern_namer
                        .unique(&format!("{}_{}", snake(parent), snake(wire)).to_ascii_uppercase())
                );
                self.patterns.push(quote! {
                    static #static_name: ::std::sync::LazyLock<::std::vec::Vec<::rampart::__private::serde_json::Value>> =
                        ::std::sync::LazyLock::new(|| ::rampart::__private::serde_json::from_str(#json).expect("enum checked when generated"));
                });
                let param = quote!(value: &::rampart::__private::serde_json::Value);
                let body = quote!(::rampart::validate::keywords::allowed(value, &#static_name));
                let f = self.keyword_fn(parent, wire, "enum", quote!(), param, body);
                return Some(quote!(custom(function = #f)));
            }
            _ => return None,
        };
        let value = if matches!(tokens, "bool") || !by_value {
            quote!(value)
        } else {
            quote!(&value)
        };
        let body = quote!(::rampart::validate::keywords::allowed(#value, #list));
        let f = self.keyword_fn(parent, wire, "enum", quote!(), param, body);
        Some(quote!(custom(function = #f)))
    }

    /// A generated check `fn <parent>_<wire>_<what>(param) -> Result<..>`;
    /// returns its name as a string path for `custom(function = ..)`.
    fn keyword_fn(
        &mut self,
        parent: &str,
        wire: &str,
        what: &str,
        generics: TokenStream,
        param: TokenStream,
        body: TokenStream,
    ) -> String {
        let name = self
            .pattern_namer
            .unique(&format!("{}_{}_{what}", snake(parent), snake(wire)));
        let ident = format_ident!("{}", name);
        let doc = format!(" `{what}` of `{parent}.{wire}`, as the spec states it.");
        self.patterns.push(quote! {
            #[doc = #doc]
            fn #ident #generics(#param) -> ::std::result::Result<(), ::validator::ValidationError> {
                #body
            }
        });
        name
    }
}

/// Whether a map value of schema `r` is a type with checks of its own
/// (what `checked_type` makes a `Validate` newtype or finds one): mirrors
/// the rules `TypeSpace::rules` and [`TypeSpace::keyword_rules`] generate.
pub(super) fn value_checked<'a>(
    spec: &'a openapiv3::OpenAPI,
    r: super::SRef<'a>,
    seen: &mut std::collections::HashSet<String>,
) -> bool {
    if super::validating_kind(spec, r, seen) {
        return true;
    }
    let schema = match r {
        super::SRef::Item(s) => s,
        super::SRef::Ref(reference) => {
            let Some(name) = rampart_spec::resolve::component_name::<Schema>(reference) else {
                return false;
            };
            match spec
                .components
                .as_ref()
                .and_then(|c| c.schemas.get(&name))
                .and_then(|s| rampart_spec::resolve::resolve(spec, s))
            {
                Some(s) => s,
                None => return false,
            }
        }
    };
    let words = keywords(schema);
    let non_null_enum = words
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().any(|x| !x.is_null()));
    match shape(schema) {
        Shape::Str(rules) => {
            rules.enumeration.is_empty()
                && (rules.min_length.is_some_and(|m| m > 0)
                    || rules.max_length.is_some()
                    || rules.pattern.is_some()
                    || matches!(
                        rules.format.as_deref(),
                        Some("email" | "uri" | "url" | "uuid" | "date-time" | "date")
                    ))
        }
        Shape::Int(n) | Shape::Num(n) => {
            n.minimum.is_some_and(f64::is_finite)
                || n.maximum.is_some_and(f64::is_finite)
                || non_null_enum
                || words.get("multipleOf").is_some()
        }
        Shape::Bool | Shape::Any => non_null_enum,
        Shape::Array {
            min_items,
            max_items,
            unique,
            items,
        } => {
            min_items.is_some_and(|m| m > 0)
                || max_items.is_some()
                || unique
                || (items.is_none() && kept(schema, "prefixItems").is_some())
                || items.is_some_and(|i| value_checked(spec, i.into(), seen))
        }
        Shape::Object { .. } | Shape::AllOf(_) | Shape::OneOf(_) | Shape::AnyOf(_) => false,
    }
}

/// The parameter of a generated numeric check: by value for a field typed
/// as the primitive, by reference behind an alias (how `validator` calls it).
fn number_param(t: &proc_macro2::Ident, by_value: bool) -> TokenStream {
    if by_value {
        quote!(value: #t)
    } else {
        quote!(value: &#t)
    }
}
