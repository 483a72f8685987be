//! Schemas to Rust types: structs with serde and `validator` derives carrying
//! every constraint the schema states, enums for string enums and
//! oneOf/anyOf, allOf merged, recursive types boxed.

use std::collections::{HashMap, HashSet};

use openapiv3::{OpenAPI, ReferenceOr, Schema};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::ecma;
use crate::names::{Namer, camel, doc, ident, snake};
use crate::shape::{Extra, NumRules, Shape, StrRules, shape};

mod keywords;
mod one_of;

/// A schema reference or value, whatever box it came in.
#[derive(Clone, Copy)]
pub(crate) enum SRef<'a> {
    Ref(&'a str),
    Item(&'a Schema),
}

impl<'a> From<&'a ReferenceOr<Schema>> for SRef<'a> {
    fn from(r: &'a ReferenceOr<Schema>) -> Self {
        match r {
            ReferenceOr::Reference { reference } => SRef::Ref(reference),
            ReferenceOr::Item(s) => SRef::Item(s),
        }
    }
}

impl<'a> From<&'a ReferenceOr<Box<Schema>>> for SRef<'a> {
    fn from(r: &'a ReferenceOr<Box<Schema>>) -> Self {
        match r {
            ReferenceOr::Reference { reference } => SRef::Ref(reference),
            ReferenceOr::Item(s) => SRef::Item(s),
        }
    }
}

/// A Rust type for a schema use site.
#[derive(Clone)]
pub(crate) struct RustType {
    pub(crate) tokens: TokenStream,
    /// The type implements `Validate` (use `#[validate(nested)]`).
    pub(crate) nested: bool,
    /// The component this type is, directly (for recursion boxing).
    component: Option<String>,
    /// The type is a string enum (no string validators apply).
    pub(crate) is_enum: bool,
    /// The Rust scalar kind, for validator literals.
    scalar: Scalar,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Int,
    Float,
    Other,
}

impl RustType {
    fn plain(tokens: TokenStream, scalar: Scalar) -> Self {
        RustType {
            tokens,
            nested: false,
            component: None,
            is_enum: false,
            scalar,
        }
    }

    fn value() -> Self {
        RustType::plain(
            quote!(::rampart::__private::serde_json::Value),
            Scalar::Other,
        )
    }
}

/// Which side of the wire a type is for.
pub(crate) struct TypeSpace<'a> {
    spec: &'a OpenAPI,
    component_names: HashMap<String, String>,
    namer: Namer,
    items: Vec<TokenStream>,
    patterns: Vec<TokenStream>,
    pattern_namer: Namer,
    pub(crate) warnings: Vec<String>,
    validates: HashSet<String>,
    edges: HashMap<String, HashSet<String>>,
    reach_cache: HashMap<String, HashSet<String>>,
    current_root: Option<String>,
    defined: HashSet<String>,
    /// Inline schemas already given a named type (allOf merges reuse the original's types).
    inline_cache: HashMap<*const Schema, RustType>,
    /// Regex statics by pattern text.
    pattern_cache: HashMap<String, proc_macro2::Ident>,
    /// Array item newtypes by item schema.
    item_cache: HashMap<*const Schema, RustType>,
}

impl<'a> TypeSpace<'a> {
    pub(crate) fn new(spec: &'a OpenAPI, reserved: &[&str]) -> Self {
        let mut namer = Namer::with_reserved(reserved.iter().copied());
        let mut component_names = HashMap::new();
        let mut validates = HashSet::new();
        let mut edges = HashMap::new();
        if let Some(components) = &spec.components {
            for (name, schema) in &components.schemas {
                let rust = namer.unique(&camel(name));
                component_names.insert(name.clone(), rust);
                let mut set = HashSet::new();
                collect_edges(spec, schema.into(), &mut set, &mut HashSet::new());
                edges.insert(name.clone(), set);
            }
            // Which components become types implementing Validate (structs and oneOf enums),
            // following aliases.
            for (name, schema) in &components.schemas {
                if validating_kind(spec, schema.into(), &mut HashSet::new()) {
                    validates.insert(name.clone());
                }
            }
        }
        TypeSpace {
            spec,
            component_names,
            namer,
            items: Vec::new(),
            patterns: Vec::new(),
            pattern_namer: Namer::default(),
            warnings: Vec::new(),
            validates,
            edges,
            reach_cache: HashMap::new(),
            current_root: None,
            defined: HashSet::new(),
            inline_cache: HashMap::new(),
            pattern_cache: HashMap::new(),
            item_cache: HashMap::new(),
        }
    }

    /// Define every component schema, in spec order.
    pub(crate) fn define_components(&mut self) {
        let Some(components) = &self.spec.components else {
            return;
        };
        for (name, schema) in &components.schemas {
            let rust = self.component_names[name].clone();
            self.current_root = Some(name.clone());
            match schema {
                ReferenceOr::Reference { reference } => {
                    let target = self.type_of(SRef::Ref(reference), &rust);
                    let ty = target.tokens;
                    let ident = format_ident!("{}", rust);
                    self.items.push(quote! { pub type #ident = #ty; });
                }
                ReferenceOr::Item(schema) => {
                    self.define(&rust, schema);
                }
            }
            self.current_root = None;
        }
    }

    /// Every generated item: patterns first, then types.
    pub(crate) fn into_items(self) -> (Vec<TokenStream>, Vec<TokenStream>, Vec<String>) {
        (self.patterns, self.items, self.warnings)
    }

    /// A fresh, unique type name derived from `hint`.
    pub(crate) fn fresh_name(&mut self, hint: &str) -> String {
        self.namer.unique(&camel(hint))
    }

    fn component_of(&self, reference: &str) -> Option<(String, String)> {
        let name = rampart_spec::resolve::component_name::<Schema>(reference)?;
        let rust = self.component_names.get(&name)?.clone();
        Some((name, rust))
    }

    /// Resolve a reference (following chains) to its schema.
    pub(crate) fn resolve(&self, r: SRef<'a>) -> Option<&'a Schema> {
        match r {
            SRef::Item(s) => Some(s),
            SRef::Ref(reference) => {
                let name = rampart_spec::resolve::component_name::<Schema>(reference)?;
                rampart_spec::resolve::resolve(
                    self.spec,
                    self.spec.components.as_ref()?.schemas.get(&name)?,
                )
            }
        }
    }

    /// The Rust type for a schema use site; inline schemas that need a named
    /// type get one derived from `hint`.
    pub(crate) fn type_of(&mut self, r: SRef<'a>, hint: &str) -> RustType {
        match r {
            SRef::Ref(reference) => match self.component_of(reference) {
                Some((name, rust)) => {
                    let ident = format_ident!("{}", rust);
                    let is_enum = self.resolve(r).is_some_and(|s| matches!(shape(s), Shape::Str(ref rules) if !rules.enumeration.is_empty()));
                    let scalar = match self.resolve(r).map(shape) {
                        Some(Shape::Int(_)) => Scalar::Int,
                        Some(Shape::Num(_)) => Scalar::Float,
                        _ => Scalar::Other,
                    };
                    RustType {
                        tokens: quote!(#ident),
                        nested: self.validates.contains(&name),
                        component: Some(name),
                        is_enum,
                        scalar,
                    }
                }
                None => {
                    self.warnings.push(format!(
                        "`$ref: {reference}` does not name a component schema; `{hint}` uses serde_json::Value"
                    ));
                    RustType::value()
                }
            },
            SRef::Item(schema) => self.inline_type(schema, hint),
        }
    }

    fn inline_type(&mut self, schema: &'a Schema, hint: &str) -> RustType {
        let key = schema as *const Schema;
        if let Some(known) = self.inline_cache.get(&key) {
            return known.clone();
        }
        let ty = self.inline_type_uncached(schema, hint);
        let named = matches!(shape(schema), Shape::Str(ref r) if !r.enumeration.is_empty())
            || matches!(shape(schema), Shape::Object { ref properties, ref extra, .. } if !properties.is_empty() || matches!(extra, Extra::Denied))
            || matches!(
                shape(schema),
                Shape::AllOf(_) | Shape::OneOf(_) | Shape::AnyOf(_)
            );
        if named {
            self.inline_cache.insert(key, ty.clone());
        }
        ty
    }

    fn inline_type_uncached(&mut self, schema: &'a Schema, hint: &str) -> RustType {
        match shape(schema) {
            Shape::Str(rules) if !rules.enumeration.is_empty() => {
                let name = self.fresh_name(hint);
                self.define_string_enum(&name, schema, &rules.enumeration);
                let ident = format_ident!("{}", name);
                RustType {
                    is_enum: true,
                    ..RustType::plain(quote!(#ident), Scalar::Other)
                }
            }
            Shape::Str(_) => RustType::plain(quote!(String), Scalar::Other),
            Shape::Int(rules) => {
                let ty = if rules.format.as_deref() == Some("int32") {
                    quote!(i32)
                } else {
                    quote!(i64)
                };
                RustType::plain(ty, Scalar::Int)
            }
            Shape::Num(rules) => {
                let ty = if rules.format.as_deref() == Some("float") {
                    quote!(f32)
                } else {
                    quote!(f64)
                };
                RustType::plain(ty, Scalar::Float)
            }
            Shape::Bool => RustType::plain(quote!(bool), Scalar::Other),
            Shape::Array { items, .. } => {
                let item = match items {
                    Some(items) => self.item_type(items.into(), hint),
                    None => RustType::value(),
                };
                let t = item.tokens;
                RustType {
                    nested: item.nested,
                    ..RustType::plain(quote!(Vec<#t>), Scalar::Other)
                }
            }
            Shape::Object {
                properties, extra, ..
            } if properties.is_empty() && !matches!(extra, Extra::Denied) => {
                // Each value is checked against its schema (`#[validate(nested)]`
                // on the map reaches every value's own checks).
                let value = match extra {
                    Extra::Schema(s) => {
                        let what = format!("A value of the map `{hint}`");
                        self.checked_type(s.into(), &format!("{hint}Value"), hint, "value", &what)
                    }
                    _ => RustType::value(),
                };
                if value.nested {
                    return self.checked_map(schema, hint, &value);
                }
                let t = &value.tokens;
                RustType::plain(
                    quote!(::std::collections::BTreeMap<String, #t>),
                    Scalar::Other,
                )
            }
            Shape::Any => RustType::value(),
            Shape::Object { .. } | Shape::AllOf(_) | Shape::OneOf(_) | Shape::AnyOf(_) => {
                let name = self.fresh_name(hint);
                let validates = self.define(&name, schema);
                let ident = format_ident!("{}", name);
                RustType {
                    nested: validates,
                    ..RustType::plain(quote!(#ident), Scalar::Other)
                }
            }
        }
    }

    /// The type of the items of the array `hint`. Items whose schema has
    /// constraints (pattern, length, format, bounds, nested array limits)
    /// become a transparent newtype implementing `Validate`, so the array's
    /// `#[validate(nested)]` checks each item and names it (`body.tags[1]`).
    fn item_type(&mut self, r: SRef<'a>, hint: &str) -> RustType {
        let what = format!("An item of `{hint}`");
        self.checked_type(r, &format!("{hint}Item"), hint, "item", &what)
    }

    /// The type of a value that must carry its own schema's constraints (an
    /// array item, a oneOf alternative): `type_of`, or, when the schema has
    /// constraints a field attribute would carry, a transparent newtype
    /// `name` implementing `Validate` that reports errors against the value
    /// itself. `parent`/`wire` name its pattern statics; `what` starts its doc.
    fn checked_type(
        &mut self,
        r: SRef<'a>,
        name: &str,
        parent: &str,
        wire: &str,
        what: &str,
    ) -> RustType {
        let item = self.type_of(r, name);
        let Some(schema) = self.resolve(r) else {
            return item;
        };
        if item.is_enum {
            return item;
        }
        let key = schema as *const Schema;
        if let Some(known) = self.item_cache.get(&key) {
            return known.clone();
        }
        let mut rules = self.rules(schema, &item, parent, wire);
        if rules.is_empty() {
            return item;
        }
        if item.nested {
            rules.push(quote!(nested));
        }
        let name = self.fresh_name(name);
        let ident = format_ident!("{}", name);
        let inner = &item.tokens;
        let text = format!("{what}, checked against its schema's constraints.");
        let docs = doc(Some(text.as_str()));
        // `validator` names a failing field after the Rust field; `__all__` is
        // the item itself, so errors read `body.tags[1]`.
        let check = if item.scalar == Scalar::Other {
            quote! {
                #[derive(::validator::Validate)]
                struct Item<'a> {
                    #[validate(#(#rules),*)]
                    __all__: &'a #inner,
                }
                ::validator::Validate::validate(&Item { __all__: &self.0 })
            }
        } else {
            quote! {
                #[derive(::validator::Validate)]
                struct Item {
                    #[validate(#(#rules),*)]
                    __all__: #inner,
                }
                ::validator::Validate::validate(&Item { __all__: self.0 })
            }
        };
        self.items.push(quote! {
            #docs
            #[derive(Debug, Clone, PartialEq, ::rampart::__private::serde::Serialize, ::rampart::__private::serde::Deserialize)]
            #[serde(crate = "::rampart::__private::serde", transparent)]
            pub struct #ident(pub #inner);

            impl ::std::ops::Deref for #ident {
                type Target = #inner;
                fn deref(&self) -> &#inner {
                    &self.0
                }
            }

            impl ::std::convert::From<#inner> for #ident {
                fn from(value: #inner) -> Self {
                    #ident(value)
                }
            }

            impl ::validator::Validate for #ident {
                fn validate(&self) -> Result<(), ::validator::ValidationErrors> {
                    #check
                }
            }
        });
        let ty = RustType {
            nested: true,
            ..RustType::plain(quote!(#ident), Scalar::Other)
        };
        self.item_cache.insert(key, ty.clone());
        ty
    }

    /// Define a named type for `schema`; returns whether it implements `Validate`.
    fn define(&mut self, name: &str, schema: &'a Schema) -> bool {
        if !self.defined.insert(name.to_owned()) {
            return true;
        }
        let docs = doc(schema
            .schema_data
            .description
            .as_deref()
            .or(schema.schema_data.title.as_deref()));
        match shape(schema) {
            Shape::Object {
                properties,
                required,
                extra,
            } if !properties.is_empty() || matches!(extra, Extra::Denied) => {
                self.define_struct(
                    name,
                    docs,
                    &properties,
                    &required.iter().map(String::as_str).collect::<Vec<_>>(),
                    &extra,
                );
                true
            }
            Shape::AllOf(parts) => self.define_all_of(name, docs, parts),
            Shape::OneOf(variants) => {
                self.define_one_of(name, docs, variants, schema, true);
                true
            }
            Shape::AnyOf(variants) => {
                self.define_one_of(name, docs, variants, schema, false);
                true
            }
            Shape::Str(rules) if !rules.enumeration.is_empty() => {
                self.define_string_enum(name, schema, &rules.enumeration);
                false
            }
            _ => {
                let ty = self.inline_type(schema, &format!("{name}Inner")).tokens;
                let ident = format_ident!("{}", name);
                self.items.push(quote! { #docs pub type #ident = #ty; });
                false
            }
        }
    }

    fn define_struct(
        &mut self,
        name: &str,
        docs: TokenStream,
        properties: &[(&'a str, &'a ReferenceOr<Box<Schema>>)],
        required: &[&str],
        extra: &Extra<'a>,
    ) {
        let mut fields = Vec::new();
        let mut field_namer = Namer::default();
        for (wire, schema) in properties {
            fields.push(self.field(
                name,
                wire,
                (*schema).into(),
                required.contains(wire),
                &mut field_namer,
            ));
        }
        if let Extra::Schema(value_schema) = extra {
            fields.push(self.extra_properties_field(name, value_schema, &mut field_namer));
        }
        let deny = matches!(extra, Extra::Denied).then(|| quote!(#[serde(deny_unknown_fields)]));
        let ident = format_ident!("{}", name);
        self.items.push(quote! {
            #docs
            #[derive(Debug, Clone, PartialEq, ::rampart::__private::serde::Serialize, ::rampart::__private::serde::Deserialize, ::validator::Validate)]
            #[serde(crate = "::rampart::__private::serde")]
            #deny
            pub struct #ident {
                #(#fields)*
            }
        });
    }

    fn define_all_of(
        &mut self,
        name: &str,
        docs: TokenStream,
        parts: &'a [ReferenceOr<Schema>],
    ) -> bool {
        let ident = format_ident!("{}", name);
        let merged = merge_all_of(self.spec, parts).filter(|m| m.exact);
        match merged {
            // One object part: a struct of its own with the part's fields
            // (closed if the part is).
            Some(merged) if parts.len() == 1 => {
                let extra = if merged.denied {
                    Extra::Denied
                } else {
                    Extra::Unspecified
                };
                self.define_struct(name, docs, &merged.properties, &merged.required, &extra);
                true
            }
            None if parts.len() == 1 => {
                let ty = self.type_of((&parts[0]).into(), &format!("{name}Inner"));
                let t = ty.tokens;
                self.items.push(quote! { #docs pub type #ident = #t; });
                ty.nested
            }
            // Objects that merge exactly (none closes its keys, which would
            // refuse the other parts' properties): one struct.
            Some(merged) if !merged.denied => {
                self.define_struct(
                    name,
                    docs,
                    &merged.properties,
                    &merged.required,
                    &Extra::Unspecified,
                );
                true
            }
            _ => {
                self.define_all_parts_checked(name, docs, parts);
                true
            }
        }
    }

    /// An `allOf` whose parts do not merge into one struct (a part is not
    /// an object, two parts declare one property differently, a part closes
    /// its keys): a newtype over the first object part (else the first
    /// part), whose deserialization also checks the value against every
    /// other part, each with its own type and validation, so every part's
    /// constraints hold.
    fn define_all_parts_checked(
        &mut self,
        name: &str,
        docs: TokenStream,
        parts: &'a [ReferenceOr<Schema>],
    ) {
        let ident = format_ident!("{}", name);
        let mut namer = Namer::default();
        let mut typed = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let r = SRef::from(part);
            let base = match r {
                SRef::Ref(reference) => self
                    .component_of(reference)
                    .map_or(format!("Part{i}"), |(_, rust)| rust),
                SRef::Item(_) => format!("Part{i}"),
            };
            let part_name = namer.unique(&base);
            let what = format!("The `{part_name}` part of `{name}`");
            let ty = self.checked_type(r, &format!("{name}{part_name}"), name, &part_name, &what);
            let boxed = self.needs_box(&ty);
            let object = matches!(
                self.resolve(r).map(shape),
                Some(Shape::Object { .. } | Shape::AllOf(_))
            );
            typed.push((ty, boxed, object));
        }
        let main = typed.iter().position(|(_, _, object)| *object).unwrap_or(0);
        let (main_ty, main_boxed, _) = &typed[main];
        let main_tokens = &main_ty.tokens;
        let inner = if *main_boxed {
            quote!(Box<#main_tokens>)
        } else {
            quote!(#main_tokens)
        };
        let checks = typed.iter().enumerate().filter(|(i, _)| *i != main).map(|(i, (ty, _, _))| {
            let t = &ty.tokens;
            let validate = ty.nested.then(|| {
                quote! {
                    ::validator::Validate::validate(&part).map_err(|e| {
                        D::Error::custom(::std::format!("allOf part {} of `{}`: {}", #i, #name, e))
                    })?;
                }
            });
            let binding = if validate.is_some() {
                quote!(let part =)
            } else {
                quote!()
            };
            quote! {
                #binding <#t as ::rampart::__private::serde::Deserialize>::deserialize(&value).map_err(|e| {
                    D::Error::custom(::std::format!("allOf part {} of `{}`: {}", #i, #name, e))
                })?;
                #validate
            }
        });
        let wrap = if *main_boxed {
            quote!(#ident(Box::new(main)))
        } else {
            quote!(#ident(main))
        };
        let validate = if main_ty.nested && *main_boxed {
            quote!(::validator::Validate::validate(&*self.0))
        } else if main_ty.nested {
            quote!(::validator::Validate::validate(&self.0))
        } else {
            quote!(Ok(()))
        };
        self.items.push(quote! {
            #docs
            #[derive(Debug, Clone, PartialEq, ::rampart::__private::serde::Serialize)]
            #[serde(crate = "::rampart::__private::serde", transparent)]
            pub struct #ident(pub #inner);

            impl<'de> ::rampart::__private::serde::Deserialize<'de> for #ident {
                fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
                where
                    D: ::rampart::__private::serde::Deserializer<'de>,
                {
                    use ::rampart::__private::serde::de::Error as _;
                    let value: ::rampart::__private::serde_json::Value =
                        ::rampart::__private::serde::Deserialize::deserialize(deserializer)?;
                    #(#checks)*
                    let main = <#main_tokens as ::rampart::__private::serde::Deserialize>::deserialize(&value)
                        .map_err(D::Error::custom)?;
                    Ok(#wrap)
                }
            }

            impl ::validator::Validate for #ident {
                fn validate(&self) -> Result<(), ::validator::ValidationErrors> {
                    #validate
                }
            }
        });
    }

    /// A oneOf / anyOf: an enum with one variant per alternative. It
    /// serializes untagged. With a `discriminator` it deserializes the
    /// alternative the property names. Without one, `one_of::choose` tries
    /// only the alternatives whose JSON shape (kind, required keys,
    /// single-value enums, closed keys: `one_of_shape`) the value has, one
    /// closure each, lazily: one candidate is deserialized once; several
    /// are deserialized and validated, keeping the valid one (oneOf:
    /// exactly one may be; anyOf: the first). When none is valid the first
    /// one that deserialized is kept, so validation names its failing
    /// fields. Every attempt is charged to the body's work budget.
    fn define_one_of(
        &mut self,
        name: &str,
        docs: TokenStream,
        variants: &'a [ReferenceOr<Schema>],
        schema: &'a Schema,
        exactly_one: bool,
    ) {
        let mut namer = Namer::default();
        let mut arms = Vec::new();
        let mut validate_arms = Vec::new();
        let mut tries = Vec::new();
        // (variant ident, inner type, boxed, component name) per alternative.
        let mut alternatives = Vec::new();
        let ident = format_ident!("{}", name);
        let keyword = if exactly_one { "oneOf" } else { "anyOf" };
        for variant in variants {
            let r = SRef::from(variant);
            let base = match (r, self.resolve(r).map(shape)) {
                (SRef::Ref(reference), _) => self
                    .component_of(reference)
                    .map_or("Value".to_owned(), |(_, rust)| rust),
                (_, Some(Shape::Str(rules))) if rules.enumeration.is_empty() => "String".to_owned(),
                (_, Some(Shape::Str(_))) => "Enum".to_owned(),
                (_, Some(Shape::Int(_))) => "Integer".to_owned(),
                (_, Some(Shape::Num(_))) => "Number".to_owned(),
                (_, Some(Shape::Bool)) => "Boolean".to_owned(),
                (_, Some(Shape::Array { .. })) => "Array".to_owned(),
                _ => "Object".to_owned(),
            };
            let variant_name = namer.unique(&base);
            let what = format!("The `{variant_name}` alternative of `{name}`");
            let ty = self.checked_type(
                r,
                &format!("{name}{variant_name}"),
                name,
                &variant_name,
                &what,
            );
            let boxed = self.needs_box(&ty);
            let t = &ty.tokens;
            let v = format_ident!("{}", variant_name);
            arms.push(if boxed {
                quote!(#v(Box<#t>),)
            } else {
                quote!(#v(#t),)
            });
            let wrap = if boxed {
                quote!(#ident::#v(Box::new(value)))
            } else {
                quote!(#ident::#v(value))
            };
            // Deserialize as this alternative; validate only when `choose`
            // asks (two or more alternatives fit the value's shape).
            let attempt = if ty.nested {
                validate_arms.push(if boxed {
                    quote!(#ident::#v(value) => ::validator::Validate::validate(&**value),)
                } else {
                    quote!(#ident::#v(value) => ::validator::Validate::validate(value),)
                });
                quote! {
                    |value: &::rampart::__private::serde_json::Value, check: bool| {
                        <#t as ::rampart::__private::serde::Deserialize>::deserialize(value)
                            .map(|value| (!check || ::validator::Validate::validate(&value).is_ok(), #wrap))
                            .map_err(|e| e.to_string())
                    }
                }
            } else {
                quote! {
                    |value: &::rampart::__private::serde_json::Value, _: bool| {
                        <#t as ::rampart::__private::serde::Deserialize>::deserialize(value)
                            .map(|value| (true, #wrap))
                            .map_err(|e| e.to_string())
                    }
                }
            };
            let shape = self.one_of_shape(r);
            tries.push(quote! {
                one_of::Alternative { name: #variant_name, shape: #shape, attempt: #attempt },
            });
            let component = match r {
                SRef::Ref(reference) => self.component_of(reference).map(|(n, _)| n),
                SRef::Item(_) => None,
            };
            alternatives.push((v, t.clone(), boxed, component));
        }
        let body = match &schema.schema_data.discriminator {
            Some(discriminator) => {
                let property = &discriminator.property_name;
                let mut tags = Vec::new();
                let mut match_arms = Vec::new();
                for (v, t, boxed, component) in &alternatives {
                    let Some(component) = component else {
                        continue;
                    };
                    // Mapping keys naming this alternative; else its component name.
                    let mut names: Vec<String> = discriminator
                        .mapping
                        .iter()
                        .filter(|(_, target)| {
                            rampart_spec::resolve::component_name::<Schema>(target)
                                .unwrap_or_else(|| (*target).clone())
                                == *component
                        })
                        .map(|(tag, _)| tag.clone())
                        .collect();
                    if names.is_empty() {
                        names.push(component.clone());
                    }
                    names.retain(|n| !tags.contains(n));
                    if names.is_empty() {
                        continue;
                    }
                    tags.extend(names.iter().cloned());
                    let wrap = if *boxed {
                        quote!(|value| #ident::#v(Box::new(value)))
                    } else {
                        quote!(#ident::#v)
                    };
                    match_arms.push(quote! {
                        #(#names)|* => <#t as ::rampart::__private::serde::Deserialize>::deserialize(&value)
                            .map(#wrap)
                            .map_err(D::Error::custom),
                    });
                }
                quote! {
                    let tag = value.get(#property).and_then(|tag| tag.as_str()).ok_or_else(|| {
                        D::Error::custom(::std::format!("missing field `{}`", #property))
                    })?;
                    match tag {
                        #(#match_arms)*
                        other => Err(D::Error::unknown_variant(other, &[#(#tags),*])),
                    }
                }
            }
            None => quote! {
                use ::rampart::validate::one_of;
                one_of::choose(#name, #keyword, &value, &[#(#tries)*]).map_err(D::Error::custom)
            },
        };
        let fallback = (validate_arms.len() < arms.len()).then(|| quote!(_ => Ok(()),));
        self.items.push(quote! {
            #docs
            #[derive(Debug, Clone, PartialEq, ::rampart::__private::serde::Serialize)]
            #[serde(crate = "::rampart::__private::serde", untagged)]
            pub enum #ident {
                #(#arms)*
            }

            impl<'de> ::rampart::__private::serde::Deserialize<'de> for #ident {
                fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
                where
                    D: ::rampart::__private::serde::Deserializer<'de>,
                {
                    use ::rampart::__private::serde::de::Error as _;
                    let value: ::rampart::__private::serde_json::Value =
                        ::rampart::__private::serde::Deserialize::deserialize(deserializer)?;
                    #body
                }
            }

            impl ::validator::Validate for #ident {
                fn validate(&self) -> Result<(), ::validator::ValidationErrors> {
                    match self {
                        #(#validate_arms)*
                        #fallback
                    }
                }
            }
        });
    }

    fn define_string_enum(&mut self, name: &str, schema: &Schema, values: &[String]) {
        let docs = doc(schema.schema_data.description.as_deref());
        let mut namer = Namer::default();
        let mut seen = HashSet::new();
        let variants = values
            .iter()
            .filter(|v| seen.insert(v.as_str()))
            .map(|value| {
                let v = format_ident!("{}", namer.unique(&camel(value)));
                quote! { #[serde(rename = #value)] #v, }
            });
        let ident = format_ident!("{}", name);
        self.items.push(quote! {
            #docs
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::rampart::__private::serde::Serialize, ::rampart::__private::serde::Deserialize)]
            #[serde(crate = "::rampart::__private::serde")]
            pub enum #ident {
                #(#variants)*
            }
        });
    }

    fn needs_box(&mut self, ty: &RustType) -> bool {
        let (Some(target), Some(root)) = (ty.component.clone(), self.current_root.clone()) else {
            return false;
        };
        target == root || self.reaches(&target, &root)
    }

    fn reaches(&mut self, from: &str, to: &str) -> bool {
        if !self.reach_cache.contains_key(from) {
            let mut seen = HashSet::new();
            let mut stack = vec![from.to_owned()];
            while let Some(n) = stack.pop() {
                for next in self.edges.get(&n).into_iter().flatten() {
                    if seen.insert(next.clone()) {
                        stack.push(next.clone());
                    }
                }
            }
            self.reach_cache.insert(from.to_owned(), seen);
        }
        self.reach_cache[from].contains(to)
    }

    /// One struct field (also used for parameter structs).
    pub(crate) fn field(
        &mut self,
        parent: &str,
        wire: &str,
        r: SRef<'a>,
        required: bool,
        namer: &mut Namer,
    ) -> TokenStream {
        // `validator`'s derive binds fields by name beside its own locals; keep clear of them.
        let base = snake(wire);
        let base = if matches!(base.as_str(), "errors" | "args" | "err" | "entry") {
            format!("{base}_")
        } else {
            base
        };
        let rust_name = namer.unique(&base);
        let field_ident = ident(&rust_name);
        let resolved = self.resolve(r);
        let data = resolved.map(|s| &s.schema_data);
        let read_only = data.is_some_and(|d| d.read_only);
        let write_only = data.is_some_and(|d| d.write_only);
        let nullable = data.is_some_and(|d| d.nullable);
        let docs = doc(match r {
            SRef::Item(s) => s.schema_data.description.as_deref(),
            SRef::Ref(_) => None,
        });
        let ty = self.type_of(r, &format!("{parent}{}", camel(wire)));
        let boxed = self.needs_box(&ty);
        let inner = &ty.tokens;
        let inner = if boxed {
            quote!(Box<#inner>)
        } else {
            quote!(#inner)
        };
        let optional = !required || read_only || write_only || nullable;
        let full = if optional {
            quote!(Option<#inner>)
        } else {
            inner
        };

        let mut serde_attrs = Vec::new();
        if rust_name.trim_start_matches("r#") != wire {
            serde_attrs.push(quote!(rename = #wire));
        }
        if optional {
            serde_attrs.push(quote!(default));
            if !nullable {
                // Absent is `None`; an explicit `null` is refused (the schema
                // is not `nullable`), as a validator of the spec would.
                serde_attrs.push(quote!(deserialize_with = "::rampart::__private::non_null"));
            }
            if write_only {
                serde_attrs.push(quote!(skip_serializing));
            } else {
                serde_attrs.push(quote!(skip_serializing_if = "Option::is_none"));
            }
        }
        let serde_attr = (!serde_attrs.is_empty()).then(|| quote!(#[serde(#(#serde_attrs),*)]));

        let mut rules = match resolved {
            Some(schema) if !ty.is_enum => self.rules(schema, &ty, parent, wire),
            _ => Vec::new(),
        };
        if ty.nested && !boxed {
            rules.push(quote!(nested));
        }
        if read_only {
            // `validator` passes plain numbers by value and everything else by reference.
            let by_value = !boxed
                && matches!(
                    ty.tokens.to_string().as_str(),
                    "i32" | "i64" | "f32" | "f64"
                );
            rules.push(if by_value {
                quote!(custom(
                    function = "::rampart::validate::formats::read_only_number"
                ))
            } else {
                quote!(custom(function = "::rampart::validate::formats::read_only"))
            });
        }
        if write_only && required {
            rules.push(quote!(required));
        }
        let validate_attr = (!rules.is_empty()).then(|| quote!(#[validate(#(#rules),*)]));
        quote! {
            #docs
            #serde_attr
            #validate_attr
            pub #field_ident: #full,
        }
    }

    /// The `Pattern` static for an ECMA-262 `pattern` (already
    /// translated to `rust` and checked), one per distinct pattern, named
    /// after the first field it checks.
    pub(crate) fn regex_static(
        &mut self,
        pattern: &str,
        rust: &str,
        parent: &str,
        wire: &str,
    ) -> proc_macro2::Ident {
        if let Some(existing) = self.pattern_cache.get(pattern) {
            return existing.clone();
        }
        let name = self
            .pattern_namer
            .unique(&format!("{}_{}", snake(parent), snake(wire)).to_ascii_uppercase());
        let static_ident = format_ident!("{}_PATTERN", name);
        let docs = (rust != pattern).then(|| {
            let text = format!(" `{pattern}` (ECMA-262), in Rust's regex syntax.");
            quote!(#[doc = #text])
        });
        self.patterns.push(quote! {
            #docs
            static #static_ident: ::rampart::__private::Pattern = ::rampart::__private::Pattern::new(#rust);
        });
        self.pattern_cache
            .insert(pattern.to_owned(), static_ident.clone());
        static_ident
    }

    /// `format: uri`: http/https only, or the schemes the schema's
    /// `x-rampart: { uri-schemes: [...] }` allows (a generated function).
    fn uri_rule(&mut self, schema: &Schema, parent: &str, wire: &str) -> TokenStream {
        let schemes: Vec<String> = schema
            .schema_data
            .extensions
            .get("x-rampart")
            .and_then(|x| x.get("uri-schemes"))
            .map(|v| match v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|s| s.as_str())
                    .map(str::to_ascii_lowercase)
                    .collect(),
                serde_json::Value::String(s) => vec![s.to_ascii_lowercase()],
                _ => Vec::new(),
            })
            .unwrap_or_default();
        if schemes.is_empty() {
            return quote!(custom(function = "::rampart::validate::formats::uri"));
        }
        let name = self
            .pattern_namer
            .unique(&format!("{}_{}_URI", snake(parent), snake(wire)).to_ascii_uppercase())
            .to_ascii_lowercase();
        let function = format_ident!("{}", name);
        let text = format!(" `format: uri` with scheme {}.", schemes.join(", "));
        self.patterns.push(quote! {
            #[doc = #text]
            fn #function<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ::validator::ValidationError> {
                ::rampart::validate::formats::uri_with_schemes(value.as_ref(), &[#(#schemes),*])
            }
        });
        let path = name.clone();
        quote!(custom(function = #path))
    }

    fn rules(
        &mut self,
        schema: &Schema,
        ty: &RustType,
        parent: &str,
        wire: &str,
    ) -> Vec<TokenStream> {
        let mut rules = Vec::new();
        match shape(schema) {
            Shape::Str(StrRules {
                format,
                pattern,
                min_length,
                max_length,
                ..
            }) => {
                if let Some(len) = length(min_length, max_length) {
                    rules.push(len);
                }
                match format.as_deref() {
                    Some("email") => rules.push(quote!(email)),
                    Some("uri" | "url") => {
                        let rule = self.uri_rule(schema, parent, wire);
                        rules.push(rule);
                    }
                    Some("uuid") => rules.push(quote!(custom(
                        function = "::rampart::validate::formats::uuid"
                    ))),
                    Some("date-time") => rules.push(quote!(custom(
                        function = "::rampart::validate::formats::date_time"
                    ))),
                    Some("date") => rules.push(quote!(custom(
                        function = "::rampart::validate::formats::date"
                    ))),
                    _ => {}
                }
                if let Some(pattern) = pattern {
                    // JSON Schema patterns are ECMA-262: translate to Rust's dialect first.
                    let rust = ecma::translate(&pattern);
                    match ecma::check(&rust) {
                        Ok(()) => {
                            let static_ident = self.regex_static(&pattern, &rust, parent, wire);
                            rules.push(quote!(regex(path = *#static_ident)));
                        }
                        Err(why) => match self.backtracking_pattern_rule(&rust, &pattern, parent, wire) {
                            Some(rule) => rules.push(rule),
                            None => self.warnings.push(format!(
                                "pattern `{pattern}` of `{parent}.{wire}` cannot be compiled by Rust's regex ({why}) nor by the backtracking engine; it is not enforced"
                            )),
                        },
                    }
                }
            }
            Shape::Int(n) | Shape::Num(n) if ty.scalar != Scalar::Other => {
                // The primitive behind the type (a component alias such as
                // `Int53Type` is `i64`), so bound literals get its type.
                let primitive = scalar_primitive(ty.scalar, n.format.as_deref());
                if let Some(range) = range(&n, ty.scalar, primitive) {
                    rules.push(range);
                }
            }
            Shape::Array {
                min_items,
                max_items,
                unique,
                ..
            } => {
                if let Some(len) = length(min_items, max_items) {
                    rules.push(len);
                }
                if unique {
                    rules.push(quote!(custom(
                        function = "::rampart::validate::formats::unique_items"
                    )));
                }
            }
            _ => {}
        }
        rules.extend(self.keyword_rules(schema, ty, parent, wire));
        rules
    }
}

/// The Rust primitive of a scalar schema (what `inline_type` generates for
/// it): `i32` for `format: int32`, `f32` for `format: float`, else `i64` /
/// `f64`.
fn scalar_primitive(scalar: Scalar, format: Option<&str>) -> &'static str {
    match (scalar, format) {
        (Scalar::Int, Some("int32")) => "i32",
        (Scalar::Int, _) => "i64",
        (Scalar::Float, Some("float")) => "f32",
        _ => "f64",
    }
}

fn length(min: Option<usize>, max: Option<usize>) -> Option<TokenStream> {
    let min = min.filter(|m| *m > 0).map(|m| {
        let l = Literal::u64_unsuffixed(m as u64);
        quote!(min = #l)
    });
    let max = max.map(|m| {
        let l = Literal::u64_unsuffixed(m as u64);
        quote!(max = #l)
    });
    let parts: Vec<_> = min.into_iter().chain(max).collect();
    (!parts.is_empty()).then(|| quote!(length(#(#parts),*)))
}

fn range(rules: &NumRules, scalar: Scalar, ty: &str) -> Option<TokenStream> {
    let (lo, hi) = match ty {
        "i32" => (f64::from(i32::MIN), f64::from(i32::MAX)),
        "i64" => (-9.2e18, 9.2e18),
        "f32" => (f64::from(f32::MIN), f64::from(f32::MAX)),
        _ => (f64::MIN, f64::MAX),
    };
    // validator's range check infers the literal's type from its own generic
    // impls: an unsuffixed literal beyond i32 would not compile for an i64.
    let lit = |v: f64| match scalar {
        Scalar::Int if ty == "i64" => Literal::i64_suffixed(v as i64),
        Scalar::Int => Literal::i64_unsuffixed(v as i64),
        _ => Literal::f64_unsuffixed(v),
    };
    let mut parts = Vec::new();
    if let Some(min) = rules
        .minimum
        .filter(|m| m.is_finite() && *m >= lo && *m <= hi)
    {
        let min = if scalar == Scalar::Int {
            min.ceil()
        } else {
            min
        };
        let l = lit(min);
        parts.push(if rules.exclusive_minimum {
            quote!(exclusive_min = #l)
        } else {
            quote!(min = #l)
        });
    }
    if let Some(max) = rules
        .maximum
        .filter(|m| m.is_finite() && *m >= lo && *m <= hi)
    {
        let max = if scalar == Scalar::Int {
            max.floor()
        } else {
            max
        };
        let l = lit(max);
        parts.push(if rules.exclusive_maximum {
            quote!(exclusive_max = #l)
        } else {
            quote!(max = #l)
        });
    }
    (!parts.is_empty()).then(|| quote!(range(#(#parts),*)))
}

/// Components directly contained (not through arrays or maps) by a schema.
fn collect_edges<'a>(
    spec: &'a OpenAPI,
    r: SRef<'a>,
    out: &mut HashSet<String>,
    seen: &mut HashSet<*const Schema>,
) {
    let schema = match r {
        SRef::Ref(reference) => {
            if let Some(name) = rampart_spec::resolve::component_name::<Schema>(reference) {
                out.insert(name);
            }
            return;
        }
        SRef::Item(s) => s,
    };
    if !seen.insert(schema as *const Schema) {
        return;
    }
    match shape(schema) {
        Shape::Object { properties, .. } => {
            for (_, p) in properties {
                collect_edges(spec, p.into(), out, seen);
            }
        }
        Shape::AllOf(parts) => {
            for part in parts {
                match part {
                    // allOf parts are merged in: their fields are ours.
                    ReferenceOr::Reference { reference } => {
                        if let Some(s) = rampart_spec::resolve::component_name::<Schema>(reference)
                            .and_then(|n| spec.components.as_ref()?.schemas.get(&n))
                            .and_then(|s| rampart_spec::resolve::resolve(spec, s))
                        {
                            collect_edges(spec, SRef::Item(s), out, seen);
                        }
                    }
                    item => collect_edges(spec, item.into(), out, seen),
                }
            }
        }
        Shape::OneOf(vs) | Shape::AnyOf(vs) => {
            for v in vs {
                collect_edges(spec, v.into(), out, seen);
            }
        }
        _ => {}
    }
}

/// Whether a component becomes a type that implements `Validate`.
fn validating_kind<'a>(spec: &'a OpenAPI, r: SRef<'a>, seen: &mut HashSet<String>) -> bool {
    match r {
        SRef::Ref(reference) => {
            let Some(name) = rampart_spec::resolve::component_name::<Schema>(reference) else {
                return false;
            };
            if !seen.insert(name.clone()) {
                return false;
            }
            match spec.components.as_ref().and_then(|c| c.schemas.get(&name)) {
                Some(s) => validating_kind(spec, s.into(), seen),
                None => false,
            }
        }
        SRef::Item(schema) => match shape(schema) {
            Shape::Object {
                properties, extra, ..
            } => match extra {
                _ if !properties.is_empty() => true,
                Extra::Denied => true,
                // A map whose values carry checks is a `Validate` newtype.
                Extra::Schema(value) => keywords::value_checked(spec, value.into(), seen),
                _ => false,
            },
            Shape::OneOf(_) | Shape::AnyOf(_) => true,
            // As `define_all_of` decides: one part is a struct of its own
            // or an alias of that part; several are a merged struct or a
            // newtype checking every part, both `Validate`.
            Shape::AllOf(parts) => match merge_all_of(spec, parts).filter(|m| m.exact) {
                Some(_) => true,
                None if parts.len() == 1 => validating_kind(spec, (&parts[0]).into(), seen),
                None => true,
            },
            _ => false,
        },
    }
}

/// The properties of an allOf, merged in order (later parts win).
struct Merged<'a> {
    /// No property is declared by two parts with different schemas (a
    /// merged struct keeps one schema per property).
    exact: bool,
    properties: Vec<(&'a str, &'a ReferenceOr<Box<Schema>>)>,
    required: Vec<&'a str>,
    denied: bool,
}

/// Merge an allOf of objects; `None` when a part is not an object.
fn merge_all_of<'a>(spec: &'a OpenAPI, parts: &'a [ReferenceOr<Schema>]) -> Option<Merged<'a>> {
    let mut merged = Merged {
        exact: true,
        properties: Vec::new(),
        required: Vec::new(),
        denied: false,
    };
    let mut stack: Vec<SRef<'a>> = parts.iter().rev().map(SRef::from).collect();
    let mut seen = HashSet::new();
    while let Some(part) = stack.pop() {
        let schema = match part {
            SRef::Ref(r) => {
                if !seen.insert(r) {
                    continue;
                }
                let name = rampart_spec::resolve::component_name::<Schema>(r)?;
                rampart_spec::resolve::resolve(spec, spec.components.as_ref()?.schemas.get(&name)?)?
            }
            SRef::Item(s) => s,
        };
        match shape(schema) {
            Shape::Object {
                properties,
                required,
                extra,
            } => {
                for (k, v) in properties {
                    match merged.properties.iter_mut().find(|(name, _)| *name == k) {
                        Some(existing) => {
                            merged.exact &= existing.1 == v;
                            existing.1 = v;
                        }
                        None => merged.properties.push((k, v)),
                    }
                }
                merged.required.extend(required.iter().map(String::as_str));
                merged.denied |= matches!(extra, Extra::Denied);
            }
            Shape::AllOf(inner) => stack.extend(inner.iter().rev().map(SRef::from)),
            Shape::Any => {
                // A part with no type: its `required` joins the struct's;
                // any other constraint it states needs the part checked on
                // its own.
                if let openapiv3::SchemaKind::Any(any) = &schema.schema_kind {
                    merged
                        .required
                        .extend(any.required.iter().map(String::as_str));
                }
                let words = serde_json::to_value(&schema.schema_kind).unwrap_or_default();
                merged.exact &= words
                    .as_object()
                    .is_none_or(|o| o.keys().all(|k| k == "required"));
            }
            _ => return None,
        }
    }
    Some(merged)
}
