//! The JSON shape of each oneOf/anyOf alternative, as a
//! `rampart::validate::one_of::Shape` literal: the generated `Deserialize`
//! tries only the alternatives whose shape the value has, so a value the
//! shapes decide costs one deserialization, not one per alternative (and a
//! recursive oneOf no longer doubles its work per level).
//!
//! Every test in a shape is one the alternative's schema states and its Rust
//! type refuses anyway (a struct without its required field, a string enum
//! with another value, a closed struct with an unknown key), or a JSON kind
//! the schema's `type` excludes: leaving an alternative out never accepts a
//! value the alternative would have refused, and never refuses one the
//! schema allows. Where a schema says nothing certain, the shape admits
//! everything.

use openapiv3::Schema;
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use serde_json::Value;

use super::{SRef, TypeSpace, merge_all_of};
use crate::shape::{Extra, Shape, shape};

/// The JSON kinds, as `one_of::Kind` names them.
const OBJECT: &str = "Object";

/// What an alternative's JSON must look like.
#[derive(Default)]
struct Fit<'a> {
    /// `None`: any kind.
    kinds: Option<Vec<&'static str>>,
    required: Vec<&'a str>,
    consts: Vec<(&'a str, Value, bool)>,
    /// `Some`: `additionalProperties: false`, only these keys.
    closed: Option<Vec<&'a str>>,
}

impl<'a> Fit<'a> {
    fn kinds(kinds: &[&'static str]) -> Self {
        Fit {
            kinds: Some(kinds.to_vec()),
            ..Fit::default()
        }
    }
}

/// Nested oneOf/anyOf alternatives are followed this deep for their kinds.
const MAX_NESTING: usize = 8;

impl<'a> TypeSpace<'a> {
    /// The `one_of::Shape` of the alternative `r` (tokens for generated code,
    /// under `use ::rampart::validate::one_of;`).
    pub(super) fn one_of_shape(&self, r: SRef<'a>) -> TokenStream {
        let fit = self.one_of_fit(r, 0);
        let kinds = fit.kinds.unwrap_or_default();
        if kinds.is_empty()
            && fit.required.is_empty()
            && fit.consts.is_empty()
            && fit.closed.is_none()
        {
            return quote!(one_of::Shape::ANY);
        }
        let kinds = kinds.iter().map(|k| {
            let k = quote::format_ident!("{}", k);
            quote!(one_of::Kind::#k)
        });
        let required = &fit.required;
        let consts = fit.consts.iter().filter_map(|(name, value, nullable)| {
            let literal = match value {
                Value::String(s) => quote!(one_of::Literal::String(#s)),
                Value::Bool(b) => quote!(one_of::Literal::Boolean(#b)),
                Value::Number(n) => {
                    let n = Literal::f64_suffixed(n.as_f64()?);
                    quote!(one_of::Literal::Number(#n))
                }
                _ => return None,
            };
            Some(quote!(one_of::Const { name: #name, value: #literal, nullable: #nullable }))
        });
        let closed = match &fit.closed {
            Some(keys) => quote!(::core::option::Option::Some(&[#(#keys),*])),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            one_of::Shape {
                kinds: &[#(#kinds),*],
                required: &[#(#required),*],
                consts: &[#(#consts),*],
                closed: #closed,
            }
        }
    }

    fn one_of_fit(&self, r: SRef<'a>, depth: usize) -> Fit<'a> {
        let Some(schema) = self.resolve(r) else {
            return Fit::default();
        };
        let mut fit = match shape(schema) {
            Shape::Str(_) => Fit::kinds(&["String"]),
            Shape::Int(_) => Fit::kinds(&["Integer"]),
            Shape::Num(_) => Fit::kinds(&["Number"]),
            Shape::Bool => Fit::kinds(&["Boolean"]),
            Shape::Array { .. } => Fit::kinds(&["Array"]),
            Shape::Object {
                properties,
                required,
                extra,
            } => self.object_fit(
                &properties,
                &required.iter().map(String::as_str).collect::<Vec<_>>(),
                matches!(extra, Extra::Denied),
            ),
            // The generated struct merges the parts (`define_all_of`); a
            // mixed allOf is not a struct, so nothing is certain.
            Shape::AllOf(parts) => match merge_all_of(self.spec, parts) {
                Some(merged) => self.object_fit(
                    &merged.properties,
                    &merged.required,
                    merged.denied && parts.len() == 1,
                ),
                None => Fit::default(),
            },
            // A nested choice: the kinds of its alternatives.
            Shape::OneOf(alternatives) | Shape::AnyOf(alternatives) if depth < MAX_NESTING => {
                let mut kinds = Vec::new();
                for alternative in alternatives {
                    match self.one_of_fit(alternative.into(), depth + 1).kinds {
                        Some(more) => kinds.extend(more),
                        None => return Fit::default(),
                    }
                }
                kinds.sort_unstable();
                kinds.dedup();
                Fit::kinds(&kinds)
            }
            _ => Fit::default(),
        };
        if schema.schema_data.nullable
            && let Some(kinds) = &mut fit.kinds
        {
            kinds.push("Null");
        }
        fit
    }

    /// An object alternative: its required keys that its struct needs (not
    /// `readOnly`, `writeOnly` or `nullable`, which become `Option` fields),
    /// its properties with a single-value `enum`, its closed key set.
    fn object_fit(
        &self,
        properties: &[(&'a str, &'a openapiv3::ReferenceOr<Box<Schema>>)],
        required: &[&'a str],
        closed: bool,
    ) -> Fit<'a> {
        let mut fit = Fit::kinds(&[OBJECT]);
        for (name, property) in properties {
            let Some(schema) = self.resolve((*property).into()) else {
                continue;
            };
            let data = &schema.schema_data;
            if data.read_only || data.write_only {
                continue;
            }
            if required.contains(name) && !data.nullable && !fit.required.contains(name) {
                fit.required.push(name);
            }
            if let Some((value, null)) = single_value(schema) {
                fit.consts.push((name, value, null || data.nullable));
            }
        }
        if closed {
            fit.closed = Some(properties.iter().map(|(name, _)| *name).collect());
        }
        fit
    }
}

/// The one value a schema's `enum` allows (OpenAPI 3.1's `const`), and
/// whether `null` is allowed too; `None` unless exactly one non-null
/// scalar value is listed.
fn single_value(schema: &Schema) -> Option<(Value, bool)> {
    let keywords = serde_json::to_value(&schema.schema_kind).ok()?;
    let values = keywords.get("enum")?.as_array()?;
    let null = values.iter().any(Value::is_null);
    let mut distinct = values.iter().filter(|v| !v.is_null());
    let first = distinct.next()?;
    if distinct.any(|v| v != first) {
        return None;
    }
    match first {
        Value::String(_) | Value::Bool(_) => Some((first.clone(), null)),
        // Compared as f64 at runtime: only values f64 holds exactly.
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.abs() < 9_007_199_254_740_992.0)
            .map(|_| (first.clone(), null)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(yaml: &str) -> Schema {
        serde_json::from_value(serde_json::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn single_values_are_scalars_listed_alone() {
        let one = |text| single_value(&schema(text));
        assert_eq!(
            one(r#"{"type": "string", "enum": ["circle"]}"#),
            Some((Value::from("circle"), false))
        );
        assert_eq!(
            one(r#"{"type": "string", "nullable": true, "enum": ["a", null]}"#),
            Some((Value::from("a"), true))
        );
        assert_eq!(
            one(r#"{"type": "integer", "enum": [2]}"#),
            Some((Value::from(2), false))
        );
        assert_eq!(
            one(r#"{"type": "boolean", "enum": [true]}"#),
            Some((Value::from(true), false))
        );
        assert_eq!(one(r#"{"type": "string", "enum": ["a", "b"]}"#), None);
        assert_eq!(one(r#"{"type": "string"}"#), None);
        assert_eq!(one(r#"{"enum": [{"a": 1}]}"#), None);
    }
}
