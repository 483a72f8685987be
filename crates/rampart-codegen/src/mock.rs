//! Mock responses: what `cargo xtask serve --mock` answers.
//!
//! For each operation the mock answers its lowest documented 2xx response
//! (else a `2XX` range, else `default`) with a body taken from the spec's
//! examples — the media type's `example`, its first `examples` entry, then the
//! schema's own `example` — or, failing those, one [`synthesize`]d from the
//! schema so that it validates: type, format (uuid, date-time, date, email,
//! uri, ...), enum, minimum/maximum (exclusive too), multipleOf,
//! minLength/maxLength, pattern, minItems/maxItems, required properties,
//! nullable, oneOf/anyOf/allOf and `$ref`s, with a guard against recursion.
//!
//! The generated `Mock` deserializes the example into the response type at
//! runtime and falls back to the synthesized value when it does not fit.
//! [`json_schema`] turns an OpenAPI 3.0 schema into JSON Schema (2020-12), so
//! tests can check mock bodies with any JSON Schema validator.

use openapiv3::{MediaType, OpenAPI, ReferenceOr, Response, Schema, SchemaKind, StatusCode, Type};
use rampart_spec::model::Operation;
use rampart_spec::resolve::{component_name, resolve};
use serde_json::{Map, Value, json};

use crate::shape::{NumRules, Shape, StrRules, shape};
use crate::types::SRef;

/// Which documented response of an operation the mock sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockStatus {
    /// A fixed status code (`200`).
    Code(u16),
    /// A range (`2XX`), given as its first digit; sent as `N00`.
    Range(u16),
    /// The `default` response; sent as 200.
    Default,
}

impl MockStatus {
    /// The status code the mock sends.
    pub fn code(self) -> u16 {
        match self {
            MockStatus::Code(c) => c,
            MockStatus::Range(r) => r * 100,
            MockStatus::Default => 200,
        }
    }
}

/// The mocked response of one operation.
#[derive(Debug, Clone)]
pub struct MockResponse<'a> {
    /// The response chosen.
    pub status: MockStatus,
    /// Its media type and content, when it has a body (the first one, as the response enum).
    pub media: Option<(&'a str, &'a MediaType)>,
    /// The spec's example for it, if any.
    pub example: Option<Value>,
    /// A value synthesized from the schema (`None` without a body or schema).
    pub synthesized: Option<Value>,
}

impl MockResponse<'_> {
    /// The body schema, if the response has one.
    pub fn schema(&self) -> Option<&ReferenceOr<Schema>> {
        self.media.and_then(|(_, m)| m.schema.as_ref())
    }
}

/// The response the mock of `op` sends, or `None` when the operation documents no response.
pub fn mock_response<'a>(spec: &'a OpenAPI, op: &'a Operation) -> Option<MockResponse<'a>> {
    let (status, response) = pick_response(spec, op)?;
    let media = response.content.iter().next().map(|(k, v)| (k.as_str(), v));
    let example = media.and_then(|(_, m)| media_example(spec, m));
    let synthesized = media
        .and_then(|(_, m)| m.schema.as_ref())
        .map(|s| synthesize(spec, s));
    Some(MockResponse {
        status,
        media,
        example,
        synthesized,
    })
}

/// The lowest 2xx code, else a 2XX range, else `default`, else the lowest code documented.
fn pick_response<'a>(spec: &'a OpenAPI, op: &'a Operation) -> Option<(MockStatus, &'a Response)> {
    let responses = &op.operation.responses;
    let resolved = |r: &'a ReferenceOr<Response>| resolve(spec, r);
    let codes = || {
        responses
            .responses
            .iter()
            .filter_map(move |(k, v)| match k {
                StatusCode::Code(c) => resolved(v).map(|r| (*c, r)),
                StatusCode::Range(_) => None,
            })
    };
    if let Some((c, r)) = codes()
        .filter(|(c, _)| (200..300).contains(c))
        .min_by_key(|(c, _)| *c)
    {
        return Some((MockStatus::Code(c), r));
    }
    if let Some(r) = responses.responses.iter().find_map(|(k, v)| match k {
        StatusCode::Range(2) => resolved(v),
        _ => None,
    }) {
        return Some((MockStatus::Range(2), r));
    }
    if let Some(r) = responses.default.as_ref().and_then(resolved) {
        return Some((MockStatus::Default, r));
    }
    codes()
        .min_by_key(|(c, _)| *c)
        .map(|(c, r)| (MockStatus::Code(c), r))
}

/// The media type's `example`, its first `examples` value, else the schema's `example`.
pub fn media_example(spec: &OpenAPI, media: &MediaType) -> Option<Value> {
    if let Some(example) = &media.example {
        return Some(example.clone());
    }
    for example in media.examples.values() {
        let found = match example {
            ReferenceOr::Item(e) => e.value.clone(),
            ReferenceOr::Reference { reference } => reference
                .strip_prefix("#/components/examples/")
                .and_then(|name| spec.components.as_ref()?.examples.get(name))
                .and_then(|e| match e {
                    ReferenceOr::Item(e) => e.value.clone(),
                    ReferenceOr::Reference { .. } => None,
                }),
        };
        if found.is_some() {
            return found;
        }
    }
    let schema = media.schema.as_ref()?;
    let schema = match schema {
        ReferenceOr::Item(s) => s,
        ReferenceOr::Reference { reference } => {
            let name = component_name::<Schema>(reference)?;
            resolve(spec, spec.components.as_ref()?.schemas.get(&name)?)?
        }
    };
    schema.schema_data.example.clone()
}

/// A JSON value that validates against `schema` (as a response body: `writeOnly`
/// properties are left out). Recursive schemas are cut where an optional
/// property, a nullable value or an empty array allows it.
pub fn synthesize(spec: &OpenAPI, schema: &ReferenceOr<Schema>) -> Value {
    Synth {
        spec,
        stack: Vec::new(),
        depth: 0,
    }
    .value(SRef::from(schema))
    .unwrap_or(Value::Null)
}

/// How deep synthesized values nest at most.
const MAX_DEPTH: usize = 24;

struct Synth<'a> {
    spec: &'a OpenAPI,
    /// Components being expanded (the recursion guard).
    stack: Vec<String>,
    depth: usize,
}

impl<'a> Synth<'a> {
    fn value(&mut self, r: SRef<'a>) -> Option<Value> {
        match r {
            SRef::Item(schema) => self.schema(schema),
            SRef::Ref(reference) => {
                let Some(name) = component_name::<Schema>(reference) else {
                    return Some(json!({}));
                };
                if self.stack.contains(&name) {
                    return None;
                }
                let schema = resolve(
                    self.spec,
                    self.spec.components.as_ref()?.schemas.get(&name)?,
                )?;
                self.stack.push(name);
                let value = self.schema(schema);
                self.stack.pop();
                value
            }
        }
    }

    fn schema(&mut self, schema: &'a Schema) -> Option<Value> {
        if self.depth >= MAX_DEPTH {
            return schema.schema_data.nullable.then_some(Value::Null);
        }
        self.depth += 1;
        let value = self.kind(schema);
        self.depth -= 1;
        match value {
            None if schema.schema_data.nullable => Some(Value::Null),
            other => other,
        }
    }

    fn kind(&mut self, schema: &'a Schema) -> Option<Value> {
        if let Some(first) = first_enum_value(schema) {
            return Some(first);
        }
        match shape(schema) {
            Shape::Str(rules) => Some(Value::String(string(&rules))),
            Shape::Int(rules) => Some(json!(integer(&rules, multiple_of(schema)))),
            Shape::Num(rules) => Some(number(&rules, multiple_of(schema))),
            Shape::Bool => Some(Value::Bool(true)),
            Shape::Array {
                items,
                min_items,
                max_items,
                unique,
            } => {
                let min = min_items.unwrap_or(0);
                let count = min.max(1).min(max_items.unwrap_or(usize::MAX));
                let item = match items {
                    Some(items) => self.value(SRef::from(items)),
                    None => Some(json!("item")),
                };
                match item {
                    Some(item) => Some(Value::Array(distinct_items(item, count, unique))),
                    None if min == 0 => Some(json!([])),
                    None => None,
                }
            }
            Shape::Object {
                properties,
                required,
                ..
            } => {
                let mut map = Map::new();
                for (name, property) in properties {
                    let is_required = required.iter().any(|r| r == name);
                    let write_only = match property {
                        ReferenceOr::Item(s) => s.schema_data.write_only,
                        ReferenceOr::Reference { .. } => self
                            .resolve(SRef::from(property))
                            .is_some_and(|s| s.schema_data.write_only),
                    };
                    if write_only {
                        continue;
                    }
                    match self.value(SRef::from(property)) {
                        Some(v) => {
                            map.insert(name.to_owned(), v);
                        }
                        None if is_required => return None,
                        None => {}
                    }
                }
                Some(Value::Object(map))
            }
            Shape::AllOf(parts) => {
                let mut merged: Option<Value> = None;
                for part in parts {
                    let v = self.value(SRef::from(part))?;
                    merged = Some(match (merged, v) {
                        (Some(Value::Object(mut a)), Value::Object(b)) => {
                            a.extend(b);
                            Value::Object(a)
                        }
                        (Some(Value::Object(a)), _) if !a.is_empty() => Value::Object(a),
                        (Some(Value::Object(_)) | None, v) => v,
                        (Some(a), _) => a,
                    });
                }
                Some(merged.unwrap_or_else(|| json!({})))
            }
            Shape::OneOf(alternatives) | Shape::AnyOf(alternatives) => alternatives
                .iter()
                .find_map(|alternative| self.value(SRef::from(alternative))),
            Shape::Any => Some(json!({})),
        }
    }

    fn resolve(&self, r: SRef<'a>) -> Option<&'a Schema> {
        match r {
            SRef::Item(s) => Some(s),
            SRef::Ref(reference) => {
                let name = component_name::<Schema>(reference)?;
                resolve(
                    self.spec,
                    self.spec.components.as_ref()?.schemas.get(&name)?,
                )
            }
        }
    }
}

/// `count` copies of `item`, made distinct when `unique` asks for it and they are strings or numbers.
fn distinct_items(item: Value, count: usize, unique: bool) -> Vec<Value> {
    (0..count)
        .map(|i| match (&item, unique && i > 0) {
            (Value::String(s), true) => Value::String(format!("{s}{i}")),
            (Value::Number(n), true) => n.as_i64().map_or_else(
                || json!(n.as_f64().unwrap_or(0.0) + i as f64),
                |n| json!(n + i as i64),
            ),
            _ => item.clone(),
        })
        .collect()
}

fn first_enum_value(schema: &Schema) -> Option<Value> {
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => {
            s.enumeration.iter().flatten().next().map(|v| json!(v))
        }
        SchemaKind::Type(Type::Integer(i)) => {
            i.enumeration.iter().flatten().next().map(|v| json!(v))
        }
        SchemaKind::Type(Type::Number(n)) => {
            n.enumeration.iter().flatten().next().map(|v| json!(v))
        }
        SchemaKind::Type(Type::Boolean(b)) => {
            b.enumeration.iter().flatten().next().map(|v| json!(v))
        }
        SchemaKind::Any(any) => any.enumeration.iter().find(|v| !v.is_null()).cloned(),
        _ => None,
    }
}

fn multiple_of(schema: &Schema) -> Option<f64> {
    match &schema.schema_kind {
        SchemaKind::Type(Type::Integer(i)) => i.multiple_of.map(|m| m as f64),
        SchemaKind::Type(Type::Number(n)) => n.multiple_of,
        SchemaKind::Any(any) => any.multiple_of,
        _ => None,
    }
    .filter(|m| m.is_finite() && *m > 0.0)
}

fn integer(rules: &NumRules, multiple: Option<f64>) -> i64 {
    let (type_lo, type_hi) = if rules.format.as_deref() == Some("int32") {
        (f64::from(i32::MIN), f64::from(i32::MAX))
    } else {
        (-9.0e15, 9.0e15)
    };
    let lo = rules
        .minimum
        .map(|m| {
            if rules.exclusive_minimum {
                m.floor() + 1.0
            } else {
                m.ceil()
            }
        })
        .unwrap_or(type_lo)
        .max(type_lo);
    let hi = rules
        .maximum
        .map(|m| {
            if rules.exclusive_maximum {
                m.ceil() - 1.0
            } else {
                m.floor()
            }
        })
        .unwrap_or(type_hi)
        .min(type_hi);
    let mut v = 1.0_f64.clamp(lo, hi.max(lo));
    if let Some(m) = multiple.filter(|m| m.fract() == 0.0) {
        let up = (v / m).ceil() * m;
        let down = (v / m).floor() * m;
        v = if up <= hi { up } else { down };
    }
    v as i64
}

fn number(rules: &NumRules, multiple: Option<f64>) -> Value {
    let lo = rules.minimum.unwrap_or(f64::MIN);
    let hi = rules.maximum.unwrap_or(f64::MAX).max(lo);
    let mut v: f64 = 1.0_f64.clamp(lo, hi);
    let too_low = rules.exclusive_minimum && v <= lo;
    let too_high = rules.exclusive_maximum && v >= hi;
    if too_low || too_high {
        v = match (rules.minimum, rules.maximum) {
            (Some(lo), Some(hi)) => lo + (hi - lo) / 2.0,
            (Some(lo), None) => lo + 1.0,
            (None, Some(hi)) => hi - 1.0,
            (None, None) => v,
        };
    }
    if let Some(m) = multiple {
        let up = (v / m).ceil() * m;
        let strictly = |x: f64| {
            (if rules.exclusive_minimum {
                x > lo
            } else {
                x >= lo
            }) && (if rules.exclusive_maximum {
                x < hi
            } else {
                x <= hi
            })
        };
        if strictly(up) {
            v = up;
        } else if strictly(up - m) {
            v = up - m;
        }
    }
    json!(v)
}

/// A string satisfying the format, pattern and lengths, as far as possible.
fn string(rules: &StrRules) -> String {
    let base = match rules.format.as_deref() {
        Some("uuid") => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        Some("date-time") => "2024-01-01T00:00:00Z",
        Some("date") => "2024-01-01",
        Some("time") => "12:00:00Z",
        Some("email") => "user@example.com",
        Some("uri" | "url" | "uri-reference" | "iri") => "https://example.com/",
        Some("hostname") => "example.com",
        Some("ipv4") => "192.0.2.1",
        Some("ipv6") => "2001:db8::1",
        Some("byte") => "c3RyaW5n",
        Some("password") => "correct-horse-battery",
        _ => "string",
    };
    let min = rules.min_length.unwrap_or(0);
    let max = rules.max_length.unwrap_or(usize::MAX);
    // The pattern as the generated validator reads it (ECMA-262 translated).
    let translated = rules.pattern.as_deref().map(crate::ecma::translate);
    let pattern = translated
        .as_deref()
        .and_then(|p| regex::Regex::new(p).ok().map(|re| (p, re)));
    let fits = |s: &str| {
        let n = s.chars().count();
        n >= min && n <= max && pattern.as_ref().is_none_or(|(_, re)| re.is_match(s))
    };
    let mut candidates = vec![base.to_owned()];
    if let Some((p, _)) = &pattern {
        candidates.extend(pattern_samples(p));
    }
    candidates.push(sized(base, min, max));
    candidates.extend(candidates.clone().iter().map(|c| sized(c, min, max)));
    candidates
        .iter()
        .find(|c| fits(c))
        .cloned()
        .unwrap_or_else(|| sized(base, min, max))
}

/// `s` padded with `x` to `min` characters and cut to `max`.
fn sized(s: &str, min: usize, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    while out.chars().count() < min {
        out.push('x');
    }
    out
}

/// Strings matching `pattern`, with every repetition taken 0, 1, 2, ... times (within its bounds).
fn pattern_samples(pattern: &str) -> Vec<String> {
    let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
        return Vec::new();
    };
    [0u32, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64]
        .iter()
        .map(|&extra| {
            let mut out = String::new();
            sample(&hir, extra, &mut out);
            out
        })
        .collect()
}

fn sample(hir: &regex_syntax::hir::Hir, extra: u32, out: &mut String) {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
        HirKind::Class(Class::Unicode(class)) => {
            let nice = ['a', 'A', '1', 'x', '-', '_', ' ', '.'];
            let contains = |c: char| {
                class
                    .ranges()
                    .iter()
                    .any(|r| r.start() <= c && c <= r.end())
            };
            if let Some(c) = nice
                .iter()
                .copied()
                .find(|c| contains(*c))
                .or_else(|| class.ranges().first().map(|r| r.start()))
            {
                out.push(c);
            }
        }
        HirKind::Class(Class::Bytes(class)) => {
            if let Some(b) = class.ranges().first().map(|r| r.start()) {
                out.push(char::from(b));
            }
        }
        HirKind::Repetition(rep) => {
            let n = extra.max(rep.min).min(rep.max.unwrap_or(u32::MAX)).min(256);
            for _ in 0..n {
                sample(&rep.sub, extra, out);
            }
        }
        HirKind::Capture(capture) => sample(&capture.sub, extra, out),
        HirKind::Concat(parts) => parts.iter().for_each(|p| sample(p, extra, out)),
        HirKind::Alternation(alternatives) => {
            if let Some(first) = alternatives.first() {
                sample(first, extra, out);
            }
        }
    }
}

/// `schema` as a JSON Schema (2020-12) for a response body: `$ref`s to
/// `#/components/schemas/X` point into `$defs` (all component schemas are
/// included), `nullable` admits `null`, boolean `exclusiveMinimum` /
/// `exclusiveMaximum` become numbers, and `writeOnly` properties are not
/// required. Formats are meant to be asserted.
pub fn json_schema(spec: &OpenAPI, schema: &ReferenceOr<Schema>) -> Value {
    let mut defs = Map::new();
    if let Some(components) = &spec.components {
        for (name, s) in &components.schemas {
            let v = serde_json::to_value(s).unwrap_or(Value::Bool(true));
            defs.insert(name.clone(), convert(spec, v));
        }
    }
    let root = convert(
        spec,
        serde_json::to_value(schema).unwrap_or(Value::Bool(true)),
    );
    let mut out = match root {
        Value::Object(map) => map,
        other => {
            let mut m = Map::new();
            m.insert("allOf".into(), json!([other]));
            m
        }
    };
    out.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    out.insert("$defs".into(), Value::Object(defs));
    Value::Object(out)
}

fn convert(spec: &OpenAPI, value: Value) -> Value {
    let Value::Object(mut map) = value else {
        return value;
    };
    if let Some(Value::String(reference)) = map.get("$ref") {
        let target = reference
            .strip_prefix("#/components/schemas/")
            .map(|name| format!("#/$defs/{name}"))
            .unwrap_or_else(|| reference.clone());
        return json!({ "$ref": target });
    }
    // Subschemas.
    for key in ["items", "not", "additionalProperties"] {
        if let Some(v) = map.remove(key) {
            map.insert(key.into(), convert(spec, v));
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(vs)) = map.remove(key) {
            map.insert(
                key.into(),
                Value::Array(vs.into_iter().map(|v| convert(spec, v)).collect()),
            );
        }
    }
    let mut write_only = Vec::new();
    if let Some(Value::Object(props)) = map.remove("properties") {
        let props: Map<String, Value> = props
            .into_iter()
            .map(|(k, v)| {
                let wo = v.get("writeOnly") == Some(&Value::Bool(true))
                    || v.get("$ref")
                        .and_then(Value::as_str)
                        .and_then(component_name::<Schema>)
                        .and_then(|n| spec.components.as_ref()?.schemas.get(&n))
                        .and_then(|s| resolve(spec, s))
                        .is_some_and(|s| s.schema_data.write_only);
                if wo {
                    write_only.push(k.clone());
                }
                (k, convert(spec, v))
            })
            .collect();
        map.insert("properties".into(), Value::Object(props));
    }
    if let Some(Value::Array(required)) = map.get_mut("required") {
        required.retain(|r| {
            !r.as_str()
                .is_some_and(|r| write_only.iter().any(|w| w == r))
        });
        if required.is_empty() {
            map.remove("required");
        }
    }
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match map.remove(flag) {
            Some(Value::Bool(true)) => {
                if let Some(b) = map.remove(bound) {
                    map.insert(flag.into(), b);
                }
            }
            Some(Value::Number(n)) => {
                map.insert(flag.into(), Value::Number(n));
            }
            _ => {}
        }
    }
    // OpenAPI annotations with no JSON Schema meaning here.
    for key in [
        "discriminator",
        "xml",
        "externalDocs",
        "example",
        "readOnly",
        "writeOnly",
    ] {
        map.remove(key);
    }
    if map.remove("nullable") == Some(Value::Bool(true)) {
        if let Some(Value::Array(values)) = map.get_mut("enum") {
            values.push(Value::Null);
        }
        return json!({ "anyOf": [Value::Object(map), { "type": "null" }] });
    }
    Value::Object(map)
}
