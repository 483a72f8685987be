//! A schema's shape, normalized: `openapiv3` splits schemas into typed kinds
//! and an `AnySchema` catch-all; the generator wants one view of both.

use openapiv3::{
    AdditionalProperties, ReferenceOr, Schema, SchemaKind, StringFormat, Type,
    VariantOrUnknownOrEmpty,
};

/// String constraints.
#[derive(Debug, Clone, Default)]
pub(crate) struct StrRules {
    pub(crate) format: Option<String>,
    pub(crate) pattern: Option<String>,
    pub(crate) min_length: Option<usize>,
    pub(crate) max_length: Option<usize>,
    pub(crate) enumeration: Vec<String>,
}

/// Numeric constraints (integers keep exact bounds in `i128`).
#[derive(Debug, Clone, Default)]
pub(crate) struct NumRules {
    pub(crate) format: Option<String>,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) exclusive_maximum: bool,
}

/// Where extra object keys go.
#[derive(Debug, Clone)]
pub(crate) enum Extra<'a> {
    /// Not said: allowed, ignored.
    Unspecified,
    /// `additionalProperties: false`.
    Denied,
    /// `additionalProperties: true` or `{}`.
    AnyValue,
    /// `additionalProperties: <schema>`.
    Schema(&'a ReferenceOr<Schema>),
}

/// The normalized shape of a schema.
#[derive(Debug, Clone)]
pub(crate) enum Shape<'a> {
    Str(StrRules),
    Int(NumRules),
    Num(NumRules),
    Bool,
    Array {
        items: Option<&'a ReferenceOr<Box<Schema>>>,
        min_items: Option<usize>,
        max_items: Option<usize>,
        unique: bool,
    },
    Object {
        properties: Vec<(&'a str, &'a ReferenceOr<Box<Schema>>)>,
        required: &'a [String],
        extra: Extra<'a>,
    },
    AllOf(&'a [ReferenceOr<Schema>]),
    OneOf(&'a [ReferenceOr<Schema>]),
    AnyOf(&'a [ReferenceOr<Schema>]),
    Any,
}

fn extra(additional: &Option<AdditionalProperties>) -> Extra<'_> {
    match additional {
        None => Extra::Unspecified,
        Some(AdditionalProperties::Any(false)) => Extra::Denied,
        Some(AdditionalProperties::Any(true)) => Extra::AnyValue,
        Some(AdditionalProperties::Schema(s)) => match s.as_ref() {
            ReferenceOr::Item(Schema {
                schema_kind: SchemaKind::Any(any),
                ..
            }) if any_is_empty(any) => Extra::AnyValue,
            other => Extra::Schema(other),
        },
    }
}

fn any_is_empty(any: &openapiv3::AnySchema) -> bool {
    any.typ.is_none()
        && any.properties.is_empty()
        && any.items.is_none()
        && any.one_of.is_empty()
        && any.all_of.is_empty()
        && any.any_of.is_empty()
        && any.enumeration.is_empty()
        && any.additional_properties.is_none()
}

fn format_name<T: std::fmt::Debug>(format: &VariantOrUnknownOrEmpty<T>) -> Option<String> {
    match format {
        VariantOrUnknownOrEmpty::Item(item) => Some(format!("{item:?}")),
        VariantOrUnknownOrEmpty::Unknown(s) => Some(s.clone()),
        VariantOrUnknownOrEmpty::Empty => None,
    }
}

fn string_format(format: &VariantOrUnknownOrEmpty<StringFormat>) -> Option<String> {
    match format {
        VariantOrUnknownOrEmpty::Item(StringFormat::Date) => Some("date".into()),
        VariantOrUnknownOrEmpty::Item(StringFormat::DateTime) => Some("date-time".into()),
        VariantOrUnknownOrEmpty::Item(StringFormat::Password) => Some("password".into()),
        VariantOrUnknownOrEmpty::Item(StringFormat::Byte) => Some("byte".into()),
        VariantOrUnknownOrEmpty::Item(StringFormat::Binary) => Some("binary".into()),
        other => format_name(other).map(|s| s.to_ascii_lowercase()),
    }
}

/// The shape of a schema value.
pub(crate) fn shape(schema: &Schema) -> Shape<'_> {
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => Shape::Str(StrRules {
            format: string_format(&s.format),
            pattern: s.pattern.clone(),
            min_length: s.min_length,
            max_length: s.max_length,
            enumeration: s.enumeration.iter().flatten().cloned().collect(),
        }),
        SchemaKind::Type(Type::Integer(i)) => Shape::Int(NumRules {
            format: format_name(&i.format).map(|f| f.to_ascii_lowercase()),
            minimum: i.minimum.map(|v| v as f64),
            maximum: i.maximum.map(|v| v as f64),
            exclusive_minimum: i.exclusive_minimum,
            exclusive_maximum: i.exclusive_maximum,
        }),
        SchemaKind::Type(Type::Number(n)) => Shape::Num(NumRules {
            format: format_name(&n.format).map(|f| f.to_ascii_lowercase()),
            minimum: n.minimum,
            maximum: n.maximum,
            exclusive_minimum: n.exclusive_minimum,
            exclusive_maximum: n.exclusive_maximum,
        }),
        SchemaKind::Type(Type::Boolean(_)) => Shape::Bool,
        SchemaKind::Type(Type::Array(a)) => Shape::Array {
            items: a.items.as_ref(),
            min_items: a.min_items,
            max_items: a.max_items,
            unique: a.unique_items,
        },
        SchemaKind::Type(Type::Object(o)) => Shape::Object {
            properties: o.properties.iter().map(|(k, v)| (k.as_str(), v)).collect(),
            required: &o.required,
            extra: extra(&o.additional_properties),
        },
        SchemaKind::AllOf { all_of } => Shape::AllOf(all_of),
        SchemaKind::OneOf { one_of } => Shape::OneOf(one_of),
        SchemaKind::AnyOf { any_of } => Shape::AnyOf(any_of),
        SchemaKind::Not { .. } => Shape::Any,
        SchemaKind::Any(any) => any_shape(any),
    }
}

fn any_shape(any: &openapiv3::AnySchema) -> Shape<'_> {
    if !any.all_of.is_empty() && any.properties.is_empty() {
        return Shape::AllOf(&any.all_of);
    }
    if !any.one_of.is_empty() {
        return Shape::OneOf(&any.one_of);
    }
    if !any.any_of.is_empty() {
        return Shape::AnyOf(&any.any_of);
    }
    let rules = || NumRules {
        format: any.format.clone(),
        minimum: any.minimum,
        maximum: any.maximum,
        exclusive_minimum: any.exclusive_minimum.unwrap_or(false),
        exclusive_maximum: any.exclusive_maximum.unwrap_or(false),
    };
    match any.typ.as_deref() {
        Some("string") => Shape::Str(StrRules {
            format: any.format.clone(),
            pattern: any.pattern.clone(),
            min_length: any.min_length,
            max_length: any.max_length,
            enumeration: any
                .enumeration
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        }),
        Some("integer") => Shape::Int(rules()),
        Some("number") => Shape::Num(rules()),
        Some("boolean") => Shape::Bool,
        Some("array") => Shape::Array {
            items: any.items.as_ref(),
            min_items: any.min_items,
            max_items: any.max_items,
            unique: any.unique_items.unwrap_or(false),
        },
        // A schema that only requires keys (`anyOf: [{required: [email]},
        // {required: [phone]}]`) is read as an object too, so they are checked.
        Some("object") | None
            if !any.properties.is_empty()
                || any.additional_properties.is_some()
                || !any.required.is_empty()
                || any.typ.is_some() =>
        {
            Shape::Object {
                properties: any
                    .properties
                    .iter()
                    .map(|(k, v)| (k.as_str(), v))
                    .collect(),
                required: &any.required,
                extra: extra(&any.additional_properties),
            }
        }
        None if any.items.is_some() => Shape::Array {
            items: any.items.as_ref(),
            min_items: any.min_items,
            max_items: any.max_items,
            unique: any.unique_items.unwrap_or(false),
        },
        _ => Shape::Any,
    }
}
