//! Typed, validated extractors. Invalid input never reaches a handler and
//! never becomes a 500: bad JSON or parameters are answered 400, a body that
//! breaks a constraint 422, each as problem+json naming every failing field
//! (by its name on the wire) and the rule it broke.

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use bytes::Bytes;
use http::header;
use http::request::Parts;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::problem::{FieldError, Problem};

/// Deepest JSON nesting accepted in a request body.
pub const MAX_JSON_DEPTH: usize = 64;

/// A JSON body, deserialized and validated.
#[derive(Debug, Clone)]
pub struct ValidJson<T>(pub T);

/// Query parameters, deserialized and validated.
#[derive(Debug, Clone)]
pub struct ValidQuery<T>(pub T);

/// Path parameters, deserialized and validated (see [`PathTemplate`]).
#[derive(Debug, Clone)]
pub struct ValidPath<T>(pub T);

/// Header parameters (header names lower-cased), deserialized and validated.
#[derive(Debug, Clone)]
pub struct ValidHeaders<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Problem::unsupported_media_type("application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                Problem::of(crate::problem::kinds::PAYLOAD_TOO_LARGE)
            } else {
                Problem::bad_request("the request body could not be read")
            }
        })?;
        parse_json(&bytes).map(ValidJson)
    }
}

fn syntax_error(e: &serde_json::Error) -> Problem {
    Problem::invalid_request(vec![FieldError::new(
        "body",
        "syntax",
        Some(format!(
            "invalid JSON at line {} column {}",
            e.line(),
            e.column()
        )),
    )])
}

/// serde_json's message without its ` at line L column C` suffix.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) if e.line() > 0 => message.to_owned(),
        _ => text,
    }
}

/// Parse and validate a JSON body (the logic behind [`ValidJson`]).
///
/// Bounded in the body's size: nesting deeper than [`MAX_JSON_DEPTH`] is
/// refused before parsing (400 `depth`), and the oneOf/anyOf alternatives
/// tried while deserializing spend a work budget proportional to the
/// number of JSON values ([`one_of::budget_for`]); past it the body is
/// refused (422 `work-limit`).
pub fn parse_json<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, Problem> {
    let (depth, values) = scan_json(bytes);
    if depth > MAX_JSON_DEPTH {
        return Err(Problem::invalid_request(vec![FieldError::new(
            "body",
            "depth",
            Some(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels")),
        )]));
    }
    let budget = one_of::Budget::start(values);
    let parsed = deserialize_json(bytes);
    let stats = budget.stats();
    drop(budget);
    if stats.exhausted {
        return Err(work_limit(&stats));
    }
    let parsed: T = parsed?;
    parsed.validate().map_err(|errors| {
        let value: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
        Problem::validation_failed(field_errors("body", &errors, value.as_ref()))
    })?;
    Ok(parsed)
}

/// Deserialize a JSON body (no validation).
fn deserialize_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // Happy path: deserialize straight from the bytes. The `Value` the error
    // reports need (wire names of failing fields) is only built on failure.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(parsed) => parsed,
        Err(e) if e.inner().is_data() => {
            return Err(Problem::validation_failed(vec![deserialize_error(
                "body",
                e.path(),
                &without_position(e.inner()),
            )]));
        }
        Err(e) => return Err(syntax_error(e.inner())),
    };
    de.end().map_err(|e| syntax_error(&e))?;
    Ok(parsed)
}

/// 422: choosing the body's oneOf/anyOf alternatives took more than its budget.
fn work_limit(stats: &one_of::Stats) -> Problem {
    Problem::validation_failed(vec![FieldError::new(
        "body",
        "work-limit",
        Some(one_of::limit_message(stats)),
    )])
    .detail(format!(
        "the body needs more validation work than the limit of {} steps for its {} JSON values",
        stats.limit, stats.values
    ))
}

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        parse_form("query", query).map(ValidQuery)
    }
}

impl<S, T> FromRequestParts<S> for ValidHeaders<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        // The front replaced a malformed request id: judge what the client sent.
        let replaced = parts
            .extensions
            .get::<crate::context::RequestContext>()
            .and_then(|ctx| ctx.replaced_request_id());
        for (name, value) in &parts.headers {
            match replaced {
                Some((replaced_name, original)) if replaced_name == name => {
                    form.append_pair(name.as_str(), &String::from_utf8_lossy(original.as_bytes()));
                }
                _ => {
                    if let Ok(value) = value.to_str() {
                        form.append_pair(name.as_str(), value);
                    }
                }
            }
        }
        parse_form("header", &form.finish()).map(ValidHeaders)
    }
}

fn parse_form<T: DeserializeOwned + Validate>(location: &str, encoded: &str) -> Result<T, Problem> {
    parse_form_with(location, encoded, Problem::invalid_request)
}

fn parse_form_with<T: DeserializeOwned + Validate>(
    location: &str,
    encoded: &str,
    invalid: fn(Vec<FieldError>) -> Problem,
) -> Result<T, Problem> {
    let deserializer =
        serde_html_form::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let parsed: T = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        invalid(vec![deserialize_error(
            location,
            e.path(),
            &e.inner().to_string(),
        )])
    })?;
    let names: serde_json::Map<String, serde_json::Value> =
        form_urlencoded::parse(encoded.as_bytes())
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect();
    parsed.validate().map_err(|errors| {
        invalid(field_errors(
            location,
            &errors,
            Some(&serde_json::Value::Object(names)),
        ))
    })?;
    Ok(parsed)
}

/// The spec path template of a path-parameter struct (implemented by generated code).
///
/// The template maps the request path back to parameter names, so routes
/// that axum needs to name by position (`/{p2}`), or segments that mix a
/// parameter with text (`/{Sid}.json`), still yield named, typed parameters.
pub trait PathTemplate {
    /// The path as written in the spec, e.g. `/pets/{petId}`.
    const TEMPLATE: &'static str;
}

impl<S, T> FromRequestParts<S> for ValidPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate + PathTemplate + Send,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = match_template(T::TEMPLATE, parts.uri.path()).ok_or_else(Problem::not_found)?;
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &pairs {
            form.append_pair(name, value);
        }
        parse_form_with::<T>("path", &form.finish(), Problem::invalid_request).map(ValidPath)
    }
}

/// Match a request path against a spec template, returning `(name, decoded value)` pairs.
pub fn match_template(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let template_segments: Vec<&str> = template.trim_matches('/').split('/').collect();
    let path = path.trim_matches('/');
    // Nested routers see the path without their prefix; templates are matched from the end.
    let path_segments: Vec<&str> = path.split('/').collect();
    if path_segments.len() < template_segments.len() {
        return None;
    }
    let path_segments = &path_segments[path_segments.len() - template_segments.len()..];
    let mut out = Vec::new();
    for (t, p) in template_segments.iter().zip(path_segments) {
        match t.find('{') {
            None => {
                if t != p {
                    return None;
                }
            }
            Some(open) => {
                let close = t[open..].find('}')? + open;
                let (prefix, name, suffix) = (&t[..open], &t[open + 1..close], &t[close + 1..]);
                let value = p.strip_prefix(prefix)?.strip_suffix(suffix)?;
                if value.is_empty() || suffix.contains('{') {
                    return None;
                }
                out.push((name.to_owned(), percent_decode(value)?));
            }
        }
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A form-urlencoded body, deserialized and validated.
#[derive(Debug, Clone)]
pub struct ValidForm<T>(pub T);

impl<S, T> FromRequest<S> for ValidForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(Problem::unsupported_media_type(
                "application/x-www-form-urlencoded",
            ));
        }
        let bytes = read_body(req, state).await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Problem::bad_request("the form body is not UTF-8"))?;
        parse_form_with::<T>("body", text, Problem::validation_failed).map(ValidForm)
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Problem> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
            Problem::of(crate::problem::kinds::PAYLOAD_TOO_LARGE)
        } else {
            Problem::bad_request("the request body could not be read")
        }
    })
}

fn has_body(req: &Request) -> bool {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) => n > 0,
        None => {
            req.headers().contains_key(header::CONTENT_TYPE)
                || req.headers().contains_key(header::TRANSFER_ENCODING)
        }
    }
}

impl<S, T> OptionalFromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if !has_body(&req) {
            return Ok(None);
        }
        <ValidJson<T> as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

impl<S, T> OptionalFromRequest<S> for ValidForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if !has_body(&req) {
            return Ok(None);
        }
        <ValidForm<T> as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// A value with no constraints of its own (a map, a scalar, free-form JSON):
/// deserialized as-is, validation always passes.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(transparent)]
pub struct Unchecked<T>(pub T);

impl<T> Validate for Unchecked<T> {
    fn validate(&self) -> Result<(), ValidationErrors> {
        Ok(())
    }
}

fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

/// Nesting depth of a JSON text, counting brackets outside strings.
pub fn json_depth(bytes: &[u8]) -> usize {
    scan_json(bytes).0
}

/// Nesting depth and number of values of a JSON text, in one pass over the
/// bytes: values are counted as `1 +` the commas and opening brackets
/// outside strings (exact, but for an empty `[]` or `{}`, which count 2).
fn scan_json(bytes: &[u8]) -> (usize, u64) {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    let mut values = 1u64;
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
                values += 1;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' => values += 1,
            _ => {}
        }
    }
    (max, values)
}

fn deserialize_error(
    location: &str,
    path: &serde_path_to_error::Path,
    message: &str,
) -> FieldError {
    let mut field = location.to_owned();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => {
                field.push('.');
                field.push_str(key);
            }
            _ => {}
        }
    }
    let rule = if let Some(rest) = message.strip_prefix("missing field `") {
        field.push('.');
        field.push_str(rest.split('`').next().unwrap_or(""));
        "required"
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        // serde's path already ends at the unknown key; name it only when it does not.
        let name = rest.split('`').next().unwrap_or("");
        if !field.ends_with(&format!(".{name}")) {
            field.push('.');
            field.push_str(name);
        }
        "unknown-field"
    } else if message.starts_with("unknown variant") {
        "enum"
    } else {
        "type"
    };
    // serde's messages name only types and expectations, never server internals.
    FieldError::new(
        field,
        rule,
        Some(
            message
                .split(" at line ")
                .next()
                .unwrap_or(message)
                .to_owned(),
        ),
    )
}

/// Flatten validator errors into field errors, naming fields as they appear
/// on the wire (found by matching the Rust field against the input's keys).
pub fn field_errors(
    location: &str,
    errors: &ValidationErrors,
    input: Option<&serde_json::Value>,
) -> Vec<FieldError> {
    let mut out = Vec::new();
    flatten(location, errors, input, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field).then(a.rule.cmp(&b.rule)));
    out
}

fn flatten(
    prefix: &str,
    errors: &ValidationErrors,
    input: Option<&serde_json::Value>,
    out: &mut Vec<FieldError>,
) {
    for (field, kind) in errors.errors() {
        let (wire, child) = wire_name(field, input);
        let path = if field == "__all__" {
            prefix.to_owned()
        } else {
            format!("{prefix}.{wire}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(ToString::to_string)
                        .or_else(|| describe(e));
                    out.push(FieldError::new(path.clone(), e.code.to_string(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(&path, inner, child, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    let item = child.and_then(|c| c.get(*index));
                    flatten(&format!("{path}[{index}]"), inner, item, out);
                }
            }
        }
    }
}

/// The key in `input` whose snake_case form is `field` (or `field` itself).
fn wire_name<'a>(
    field: &str,
    input: Option<&'a serde_json::Value>,
) -> (String, Option<&'a serde_json::Value>) {
    let field = field.strip_prefix("r#").unwrap_or(field);
    if let Some(serde_json::Value::Object(map)) = input {
        if let Some(v) = map.get(field) {
            return (field.to_owned(), Some(v));
        }
        let wanted = field.trim_end_matches('_');
        for (key, v) in map {
            if snake(key) == wanted {
                return (key.clone(), Some(v));
            }
        }
    }
    (field.to_owned(), None)
}

fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else if c.is_alphanumeric() {
            out.push(c);
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out.trim_matches('_').to_owned()
}

fn describe(e: &validator::ValidationError) -> Option<String> {
    let p = |k: &str| e.params.get(k).map(ToString::to_string);
    Some(match e.code.as_ref() {
        "length" => match (p("min"), p("max"), p("equal")) {
            (_, _, Some(eq)) => format!("length must be {eq}"),
            (Some(min), Some(max), _) => format!("length must be between {min} and {max}"),
            (Some(min), None, _) => format!("length must be at least {min}"),
            (None, Some(max), _) => format!("length must be at most {max}"),
            _ => return None,
        },
        "range" => match (p("min"), p("max"), p("exclusive_min"), p("exclusive_max")) {
            (Some(min), Some(max), _, _) => format!("must be between {min} and {max}"),
            (Some(min), None, _, _) => format!("must be at least {min}"),
            (None, Some(max), _, _) => format!("must be at most {max}"),
            (_, _, Some(min), _) => format!("must be greater than {min}"),
            (_, _, _, Some(max)) => format!("must be less than {max}"),
            _ => return None,
        },
        "regex" | "pattern" => "does not match the required pattern".to_owned(),
        "email" => "must be an email address".to_owned(),
        "url" | "uri" => "must be a URL".to_owned(),
        "uri_scheme" => match e.params.get("schemes").and_then(|s| s.as_str()) {
            Some(schemes) => format!("must be a URL with scheme {schemes}"),
            None => "must be a URL with an allowed scheme".to_owned(),
        },
        "uuid" => "must be a UUID".to_owned(),
        "date_time" | "date-time" => "must be an RFC 3339 date-time".to_owned(),
        "unique_items" => "items must be unique".to_owned(),
        "read_only" => "is read-only and may not be sent".to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_map_positions_back_to_names() {
        assert_eq!(
            match_template(
                "/Accounts/{AccountSid}/Calls/{Sid}.json",
                "/Accounts/AC1/Calls/CA%202.json"
            ),
            Some(vec![
                ("AccountSid".into(), "AC1".into()),
                ("Sid".into(), "CA 2".into())
            ])
        );
        assert_eq!(match_template("/Calls/{Sid}.json", "/Calls/CA2.xml"), None);
        assert_eq!(
            match_template("/pets/{petId}", "/v1/pets/7"),
            Some(vec![("petId".into(), "7".into())])
        );
        assert_eq!(match_template("/pets/{petId}", "/owners/7"), None);
    }

    #[test]
    fn depth_ignores_brackets_in_strings() {
        assert_eq!(json_depth(br#"{"a":[1,{"b":"[[[["}]}"#), 3);
        assert_eq!(json_depth(b"[[[[]]]]"), 4);
        // Values: the object, the array, 1, the inner object, its string.
        assert_eq!(scan_json(br#"{"a":[1,{"b":"[,{,"}]}"#), (3, 5));
        assert_eq!(scan_json(br#""a,b""#), (0, 1));
    }

    #[test]
    fn snake_matches_generator_naming() {
        assert_eq!(snake("weightKg"), "weight_kg");
        assert_eq!(snake("X-Request-Id"), "x_request_id");
        assert_eq!(snake("displayName"), "display_name");
    }
}

pub mod keywords;

/// Validators for OpenAPI formats `validator` lacks, used by generated code
/// through `#[validate(custom(function = "..."))]`.
pub mod formats {
    use validator::ValidationError;

    fn error(code: &'static str) -> ValidationError {
        ValidationError::new(code)
    }

    /// `format: uuid` (RFC 9562 textual form).
    pub fn uuid<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
        let v = value.as_ref().as_bytes();
        let ok = v.len() == 36
            && v.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        if ok { Ok(()) } else { Err(error("uuid")) }
    }

    /// `format: date-time` (RFC 3339).
    pub fn date_time<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
        time::OffsetDateTime::parse(
            value.as_ref(),
            &time::format_description::well_known::Rfc3339,
        )
        .map(|_| ())
        .map_err(|_| error("date_time"))
    }

    /// `format: uri` (and `url`): an absolute URI whose scheme is `http` or
    /// `https`. A `javascript:`, `data:` or `file:` URI is as well-formed as
    /// any, and as dangerous where the value ends up as a link or is
    /// fetched; a schema allows other schemes with
    /// `x-rampart: { uri-schemes: [...] }` ([`uri_with_schemes`]).
    pub fn uri<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
        uri_with_schemes(value.as_ref(), &["http", "https"])
    }

    /// An absolute URI whose scheme is one of `schemes` (lower case).
    pub fn uri_with_schemes(value: &str, schemes: &[&str]) -> Result<(), ValidationError> {
        match url::Url::parse(value) {
            Ok(uri) if schemes.contains(&uri.scheme()) => Ok(()),
            Ok(_) => {
                let mut e = error("uri_scheme");
                e.add_param("schemes".into(), &schemes.join(", "));
                Err(e)
            }
            Err(_) => Err(error("url")),
        }
    }

    /// `format: date` (RFC 3339 full-date).
    pub fn date<T: AsRef<str> + ?Sized>(value: &T) -> Result<(), ValidationError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(value.as_ref(), &format)
            .map(|_| ())
            .map_err(|_| error("date"))
    }

    /// `uniqueItems: true`.
    pub fn unique_items<T: PartialEq, V: AsRef<[T]> + ?Sized>(
        items: &V,
    ) -> Result<(), ValidationError> {
        let items = items.as_ref();
        for (i, a) in items.iter().enumerate() {
            if items[..i].contains(a) {
                return Err(error("unique_items"));
            }
        }
        Ok(())
    }

    /// `readOnly: true`: the field may not be sent in a request.
    pub fn read_only<T: ?Sized>(_value: &T) -> Result<(), ValidationError> {
        Err(error("read_only"))
    }

    /// `readOnly: true` on a number (`validator` passes numbers by value).
    pub fn read_only_number<T>(_value: T) -> Result<(), ValidationError> {
        Err(error("read_only"))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn formats() {
            assert!(uuid("123e4567-e89b-12d3-a456-426614174000").is_ok());
            assert!(uuid("123e4567e89b12d3a456426614174000").is_err());
            assert!(date_time("2027-06-01T00:00:00Z").is_ok());
            assert!(date_time("2027-06-01").is_err());
            assert!(date("2027-06-01").is_ok());
            assert!(unique_items(&vec![1, 2, 3]).is_ok());
            assert!(unique_items(&vec![1, 2, 1]).is_err());
        }
    }
}

/// Deserialization support for generated `oneOf` / `anyOf` enums, and the
/// work budget that keeps it linear in the size of the body.
///
/// A generated enum buffers its JSON value once and calls [`choose`](one_of::choose) with
/// one [`Alternative`](one_of::Alternative) per alternative in spec order: a [`Shape`](one_of::Shape) (the JSON
/// kinds the alternative admits, its required keys, its constant
/// properties, whether its keys are closed) and a function that
/// deserializes (and, when asked, validates) the value as that alternative.
/// Alternatives whose shape the value does not have are never deserialized;
/// the others are tried lazily, so a value the shapes decide costs one
/// deserialization and no validation of its own.
///
/// Alternatives that overlap (two candidates left after the shapes) are each
/// tried, and when they are recursive that work can double per nesting
/// level. Every attempt is charged to a per-body budget ([`Budget`](one_of::Budget)) the
/// number of JSON values it deserializes; past [`budget_for`](one_of::budget_for)`(values)` every
/// further `choose` fails at once, and `ValidJson` answers 422 with rule
/// `work-limit`. The budget lives in a thread-local: deserialization is
/// synchronous, on one thread, and [`crate::validate::parse_json`] starts
/// one per body; a `choose` outside any budget (serde used directly) starts
/// one for its own value.
pub mod one_of {
    use std::cell::Cell;

    use serde_json::Value;

    /// Steps every value may spend on choosing alternatives, whatever its size.
    pub const BUDGET_FLOOR: u64 = 100_000;
    /// Further steps per JSON value of the body.
    pub const BUDGET_PER_VALUE: u64 = 64;

    /// The work limit of a body of `values` JSON values:
    /// `BUDGET_FLOOR + BUDGET_PER_VALUE × values` steps, a step being one
    /// JSON value deserialized as an alternative. A body whose alternatives
    /// the shapes decide spends, per value, one step for each oneOf/anyOf
    /// it is nested in (at most 64, the depth limit), so every such body
    /// fits; only overlapping recursive alternatives can exceed it.
    pub const fn budget_for(values: u64) -> u64 {
        BUDGET_FLOOR.saturating_add(BUDGET_PER_VALUE.saturating_mul(values))
    }

    /// A JSON kind, as a schema's `type` names it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// `{...}`
        Object,
        /// `[...]`
        Array,
        /// `"..."`
        String,
        /// A number with no fractional part that fits an `i64` or `u64`.
        Integer,
        /// Any number (integers included).
        Number,
        /// `true` / `false`
        Boolean,
        /// `null`
        Null,
    }

    impl Kind {
        /// The kind of a JSON value (`Integer` for integral numbers).
        pub fn of(value: &Value) -> Kind {
            match value {
                Value::Object(_) => Kind::Object,
                Value::Array(_) => Kind::Array,
                Value::String(_) => Kind::String,
                Value::Number(n) if n.is_i64() || n.is_u64() => Kind::Integer,
                Value::Number(_) => Kind::Number,
                Value::Bool(_) => Kind::Boolean,
                Value::Null => Kind::Null,
            }
        }

        fn admits(self, actual: Kind) -> bool {
            self == actual || (self == Kind::Number && actual == Kind::Integer)
        }

        fn noun(self) -> &'static str {
            match self {
                Kind::Object => "an object",
                Kind::Array => "an array",
                Kind::String => "a string",
                Kind::Integer => "an integer",
                Kind::Number => "a number",
                Kind::Boolean => "a boolean",
                Kind::Null => "null",
            }
        }
    }

    /// A value a property must have: a single-value `enum` (OpenAPI 3.1's
    /// `const`).
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Literal {
        /// A string.
        String(&'static str),
        /// A number, compared as JSON Schema does (`1` equals `1.0`).
        Number(f64),
        /// A boolean.
        Boolean(bool),
    }

    impl Literal {
        fn matches(self, value: &Value) -> bool {
            match self {
                Literal::String(s) => value.as_str() == Some(s),
                Literal::Number(n) => value.as_f64() == Some(n),
                Literal::Boolean(b) => value.as_bool() == Some(b),
            }
        }
    }

    impl std::fmt::Display for Literal {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Literal::String(s) => write!(f, "{s:?}"),
                Literal::Number(n) => write!(f, "{n}"),
                Literal::Boolean(b) => write!(f, "{b}"),
            }
        }
    }

    /// A property that, when present, must equal a literal.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Const {
        /// The property's name on the wire.
        pub name: &'static str,
        /// The value it must have.
        pub value: Literal,
        /// `null` is accepted too.
        pub nullable: bool,
    }

    /// What the JSON of an alternative must look like for the alternative to
    /// be tried at all. Generated from the alternative's schema; every test
    /// is one the alternative's schema states (and its Rust type would fail
    /// on), so leaving an alternative out never changes the answer.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Shape {
        /// The JSON kinds admitted; empty admits every kind.
        pub kinds: &'static [Kind],
        /// Keys an object must have.
        pub required: &'static [&'static str],
        /// Properties that, when present, must equal a literal.
        pub consts: &'static [Const],
        /// `Some(keys)`: an object may have no other key
        /// (`additionalProperties: false`).
        pub closed: Option<&'static [&'static str]>,
    }

    impl Shape {
        /// Admits every value.
        pub const ANY: Shape = Shape {
            kinds: &[],
            required: &[],
            consts: &[],
            closed: None,
        };

        /// Whether `value` has this shape; if not, why (in serde's words
        /// where serde has some).
        pub fn check(&self, value: &Value) -> Result<(), String> {
            let kind = Kind::of(value);
            if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k.admits(kind)) {
                let expected: Vec<&str> = self.kinds.iter().map(|k| k.noun()).collect();
                return Err(format!(
                    "invalid type: {}, expected {}",
                    kind.noun(),
                    expected.join(" or ")
                ));
            }
            let Value::Object(map) = value else {
                return Ok(());
            };
            if let Some(key) = self.required.iter().find(|key| !map.contains_key(**key)) {
                return Err(format!("missing field `{key}`"));
            }
            for c in self.consts {
                if let Some(v) = map.get(c.name)
                    && !(c.value.matches(v) || (c.nullable && v.is_null()))
                {
                    return Err(format!("field `{}` is not {}", c.name, c.value));
                }
            }
            if let Some(known) = self.closed
                && let Some(key) = map.keys().find(|key| !known.contains(&key.as_str()))
            {
                return Err(format!("unknown field `{key}`"));
            }
            Ok(())
        }
    }

    /// Deserialize a value as one alternative; with `true`, also say whether
    /// it validates (`false` skips validation and answers `true`).
    pub type Attempt<T> = fn(&Value, bool) -> Result<(bool, T), String>;

    /// One alternative of a generated `oneOf` / `anyOf` enum.
    pub struct Alternative<T> {
        /// The variant's name (named in errors).
        pub name: &'static str,
        /// What a value must look like to be tried as this alternative.
        pub shape: Shape,
        /// Deserialize (and validate) a value as this alternative.
        pub attempt: Attempt<T>,
    }

    /// The work one body's alternatives took (see [`last`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Stats {
        /// JSON values in the body (or in the value the budget was started for).
        pub values: u64,
        /// The budget, in steps ([`budget_for`]).
        pub limit: u64,
        /// Alternatives deserialized.
        pub attempts: u64,
        /// Steps spent: the JSON values each attempt deserialized, summed.
        pub steps: u64,
        /// The budget ran out; every `choose` after that failed.
        pub exhausted: bool,
    }

    thread_local! {
        static ACTIVE: Cell<Option<Stats>> = const { Cell::new(None) };
        static LAST: Cell<Option<Stats>> = const { Cell::new(None) };
    }

    /// The work budget of one body, active on this thread until dropped
    /// (then the previous one, if any, is active again, and [`last`]
    /// reports this one).
    #[must_use = "the budget ends when it is dropped"]
    pub struct Budget {
        previous: Option<Stats>,
    }

    impl Budget {
        /// Start the budget of a body of `values` JSON values.
        pub fn start(values: u64) -> Budget {
            let previous = ACTIVE.replace(Some(Stats {
                values,
                limit: budget_for(values),
                ..Stats::default()
            }));
            Budget { previous }
        }

        /// The work so far.
        pub fn stats(&self) -> Stats {
            ACTIVE.get().unwrap_or_default()
        }
    }

    impl Drop for Budget {
        fn drop(&mut self) {
            if let Some(stats) = ACTIVE.replace(self.previous.take()) {
                LAST.set(Some(stats));
            }
        }
    }

    /// The work of the last budget that ended on this thread: the last JSON
    /// body `ValidJson` deserialized here, or the last oneOf/anyOf value
    /// deserialized outside any body. A request is deserialized on one
    /// thread, so a test that serves and sends on one thread reads its own
    /// request's figures.
    pub fn last() -> Option<Stats> {
        LAST.get()
    }

    /// The message of a `choose` refused because the budget ran out.
    pub fn limit_message(stats: &Stats) -> String {
        format!(
            "choosing among oneOf/anyOf alternatives needs more than {} steps, the work limit \
             for {} JSON values ({BUDGET_FLOOR} + {BUDGET_PER_VALUE} per value)",
            stats.limit, stats.values
        )
    }

    /// `Err` with the active budget's stats when it has run out.
    fn spent() -> Result<(), Stats> {
        match ACTIVE.get() {
            Some(stats) if stats.exhausted => Err(stats),
            _ => Ok(()),
        }
    }

    /// Charge one attempt over `values` JSON values; `Err` when over budget.
    fn charge(values: u64) -> Result<(), Stats> {
        let Some(mut stats) = ACTIVE.get() else {
            return Ok(());
        };
        stats.attempts += 1;
        stats.steps = stats.steps.saturating_add(values);
        if stats.steps > stats.limit {
            stats.exhausted = true;
        }
        ACTIVE.set(Some(stats));
        if stats.exhausted { Err(stats) } else { Ok(()) }
    }

    /// JSON values in `value` (itself included).
    pub fn values_in(value: &Value) -> u64 {
        fn count(value: &Value, depth: usize) -> u64 {
            // serde_json stops at 128 levels; never recurse without bound.
            if depth > 256 {
                return 1;
            }
            match value {
                Value::Array(items) => 1 + items.iter().map(|v| count(v, depth + 1)).sum::<u64>(),
                Value::Object(map) => 1 + map.values().map(|v| count(v, depth + 1)).sum::<u64>(),
                _ => 1,
            }
        }
        count(value, 0)
    }

    /// Pick the alternative `value` is, `alternatives` in spec order.
    ///
    /// Alternatives whose [`Shape`] `value` does not have are not tried.
    /// With one candidate left it is deserialized without validation (the
    /// body's validation follows); with more, each is deserialized and
    /// validated, lazily: `anyOf` (`keyword != "oneOf"`) stops at the first
    /// valid one, `oneOf` tries them all, as exactly one may be valid (two
    /// or more is an error naming them). When none is valid, the first
    /// alternative that deserialized is kept, so validation then names its
    /// failing fields; when none deserialized, the error says why each did
    /// not. Past the work budget (see the module) it fails at once.
    pub fn choose<T>(
        type_name: &str,
        keyword: &str,
        value: &Value,
        alternatives: &[Alternative<T>],
    ) -> Result<T, String> {
        let candidates = alternatives
            .iter()
            .filter(|a| a.shape.check(value).is_ok())
            .count();
        if candidates == 0 {
            return Err(none_matches(type_name, keyword, value, alternatives, &[]));
        }
        let values = values_in(value);
        let _root = ACTIVE.get().is_none().then(|| Budget::start(values));
        spent().map_err(|stats| limit_message(&stats))?;
        let check = candidates > 1;
        let mut first_valid: Option<(&str, T)> = None;
        let mut more_valid: Vec<&str> = Vec::new();
        let mut parsed = None;
        let mut failed: Vec<(usize, String)> = Vec::new();
        for (index, alternative) in alternatives.iter().enumerate() {
            if alternative.shape.check(value).is_err() {
                continue;
            }
            charge(values).map_err(|stats| limit_message(&stats))?;
            let outcome = (alternative.attempt)(value, check);
            // A nested choice ran out: fail at once, all the way up.
            spent().map_err(|stats| limit_message(&stats))?;
            match outcome {
                Ok((true, v)) if keyword != "oneOf" => return Ok(v),
                Ok((true, v)) => match first_valid {
                    None => first_valid = Some((alternative.name, v)),
                    Some(_) => more_valid.push(alternative.name),
                },
                Ok((false, v)) => {
                    parsed.get_or_insert(v);
                }
                Err(e) => failed.push((index, e)),
            }
        }
        match first_valid {
            Some((name, _)) if !more_valid.is_empty() => {
                more_valid.insert(0, name);
                Err(format!(
                    "matches {} of the oneOf alternatives of `{type_name}` ({}); exactly one may match",
                    more_valid.len(),
                    more_valid.join(", ")
                ))
            }
            Some((_, v)) => Ok(v),
            None => {
                parsed.ok_or_else(|| none_matches(type_name, keyword, value, alternatives, &failed))
            }
        }
    }

    /// Why no alternative fits, each in spec order: its shape's reason, or
    /// why it did not deserialize (`failed`, by index).
    fn none_matches<T>(
        type_name: &str,
        keyword: &str,
        value: &Value,
        alternatives: &[Alternative<T>],
        failed: &[(usize, String)],
    ) -> String {
        let why: Vec<String> = alternatives
            .iter()
            .enumerate()
            .map(|(index, alternative)| {
                let reason = match failed.iter().find(|(i, _)| *i == index) {
                    Some((_, e)) => e.as_str().into(),
                    None => alternative
                        .shape
                        .check(value)
                        .err()
                        .unwrap_or_default()
                        .into(),
                };
                format!("{}: {}", alternative.name, shortened(reason))
            })
            .collect();
        format!(
            "matches none of the {keyword} alternatives of `{type_name}` ({})",
            why.join("; ")
        )
    }

    /// Longest reason quoted per alternative: a nested choice's reasons
    /// quote their own, which would double the message per level.
    const MAX_REASON: usize = 200;

    fn shortened(reason: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, str> {
        if reason.len() <= MAX_REASON {
            return reason;
        }
        let mut end = MAX_REASON;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &reason[..end]).into()
    }

    #[cfg(test)]
    mod tests {
        use std::cell::RefCell;

        use serde_json::json;

        use super::*;

        thread_local! {
            static TRIED: RefCell<Vec<(&'static str, bool)>> = const { RefCell::new(Vec::new()) };
        }

        fn log(name: &'static str, check: bool) {
            TRIED.with_borrow_mut(|t| t.push((name, check)));
        }

        fn tried() -> Vec<(&'static str, bool)> {
            TRIED.with_borrow_mut(std::mem::take)
        }

        const OBJECT: &[Kind] = &[Kind::Object];
        const INTEGER: &[Kind] = &[Kind::Integer];

        /// Two integer alternatives: A valid in 0..=10, B in 5..=20.
        fn ranges() -> [Alternative<i64>; 2] {
            let shape = Shape {
                kinds: INTEGER,
                ..Shape::ANY
            };
            [
                Alternative {
                    name: "A",
                    shape,
                    attempt: |v, check| {
                        log("A", check);
                        let n = v.as_i64().ok_or("not an integer")?;
                        Ok((!check || (0..=10).contains(&n), n))
                    },
                },
                Alternative {
                    name: "B",
                    shape,
                    attempt: |v, check| {
                        log("B", check);
                        let n = v.as_i64().ok_or("not an integer")?;
                        Ok((!check || (5..=20).contains(&n), n + 100))
                    },
                },
            ]
        }

        #[test]
        fn one_of_wants_exactly_one_any_of_the_first() {
            let alternatives = ranges();
            assert!(
                choose("T", "oneOf", &json!(7), &alternatives)
                    .unwrap_err()
                    .contains("matches 2 of the oneOf alternatives of `T` (A, B)")
            );
            assert_eq!(tried(), [("A", true), ("B", true)]);
            // anyOf stops at the first valid alternative.
            assert_eq!(choose("T", "anyOf", &json!(7), &alternatives), Ok(7));
            assert_eq!(tried(), [("A", true)]);
            assert_eq!(choose("T", "oneOf", &json!(15), &alternatives), Ok(115));
            // None valid: the first that deserialized is kept.
            assert_eq!(choose("T", "oneOf", &json!(30), &alternatives), Ok(30));
            tried();
            // Not an integer: neither is tried, each says why.
            assert_eq!(
                choose("T", "anyOf", &json!("x"), &alternatives).unwrap_err(),
                "matches none of the anyOf alternatives of `T` (A: invalid type: a string, \
                 expected an integer; B: invalid type: a string, expected an integer)"
            );
            assert_eq!(choose("T", "anyOf", &json!(1.5), &alternatives).ok(), None);
            assert_eq!(tried(), []);
        }

        #[test]
        fn shapes_decide_before_any_attempt() {
            let alternatives: [Alternative<&str>; 3] = [
                Alternative {
                    name: "Circle",
                    shape: Shape {
                        kinds: OBJECT,
                        required: &["kind"],
                        consts: &[Const {
                            name: "kind",
                            value: Literal::String("circle"),
                            nullable: false,
                        }],
                        closed: None,
                    },
                    attempt: |_, check| {
                        log("Circle", check);
                        Ok((true, "circle"))
                    },
                },
                Alternative {
                    name: "Closed",
                    shape: Shape {
                        kinds: OBJECT,
                        closed: Some(&["kind", "side"]),
                        ..Shape::ANY
                    },
                    attempt: |_, check| {
                        log("Closed", check);
                        Ok((true, "closed"))
                    },
                },
                Alternative {
                    name: "Flag",
                    shape: Shape {
                        kinds: &[Kind::Boolean, Kind::Null],
                        ..Shape::ANY
                    },
                    attempt: |_, check| {
                        log("Flag", check);
                        Ok((true, "flag"))
                    },
                },
            ];
            let pick = |v: Value| choose("S", "oneOf", &v, &alternatives);
            // One candidate left: deserialized once, not validated by `choose`.
            assert_eq!(pick(json!({"kind": "circle", "r": 1})), Ok("circle"));
            assert_eq!(tried(), [("Circle", false)]);
            assert_eq!(pick(json!({"side": 1})), Ok("closed"));
            assert_eq!(pick(json!(null)), Ok("flag"));
            assert_eq!(tried(), [("Closed", false), ("Flag", false)]);
            // Both object alternatives fit: both are tried, and validated.
            assert!(
                pick(json!({"kind": "circle"}))
                    .unwrap_err()
                    .contains("matches 2")
            );
            assert_eq!(tried(), [("Circle", true), ("Closed", true)]);
            assert_eq!(
                pick(json!({"kind": "square", "r": 1})).unwrap_err(),
                "matches none of the oneOf alternatives of `S` (Circle: field `kind` is not \
                 \"circle\"; Closed: unknown field `r`; Flag: invalid type: an object, \
                 expected a boolean or null)"
            );
            assert_eq!(pick(json!({})), Ok("closed"));
            assert_eq!(tried(), [("Closed", false)]);
        }

        #[test]
        fn literals_compare_as_json_schema_does() {
            assert!(Literal::Number(1.0).matches(&json!(1)));
            assert!(Literal::Number(2.5).matches(&json!(2.5)));
            assert!(!Literal::Number(1.0).matches(&json!("1")));
            assert!(Literal::Boolean(true).matches(&json!(true)));
            assert!(!Literal::String("a").matches(&json!("b")));
            assert_eq!(Kind::of(&json!(1.0)), Kind::Number);
            assert_eq!(Kind::of(&json!(u64::MAX)), Kind::Integer);
            assert_eq!(values_in(&json!({"a": [1, 2, {"b": null}], "c": "x"})), 7);
        }

        /// A recursive, overlapping anyOf: `Node: anyOf [{next: Node}, {next: Node}]`
        /// in which no alternative is valid, so both are tried at every level.
        fn node(value: &Value, check: bool) -> Result<(bool, u32), String> {
            let next = value.get("next").ok_or("missing field `next`")?;
            if next.is_null() {
                return Ok((!check, 0));
            }
            let alternative = |name| Alternative {
                name,
                shape: Shape {
                    kinds: OBJECT,
                    required: &["next"],
                    ..Shape::ANY
                },
                attempt: node,
            };
            let depth = choose("Node", "anyOf", next, &[alternative("A"), alternative("B")])?;
            Ok((false, depth + 1))
        }

        fn chain(depth: usize) -> Value {
            (0..depth).fold(json!({"next": null}), |inner, _| json!({"next": inner}))
        }

        #[test]
        fn overlapping_recursion_runs_out_of_budget() {
            let body = chain(40);
            let values = values_in(&body);
            let budget = Budget::start(values);
            let error = node(&body, true).unwrap_err();
            let stats = budget.stats();
            drop(budget);
            assert!(stats.exhausted, "{stats:?}");
            assert!(error.contains("work limit"), "{error}");
            assert!(error.contains(&budget_for(values).to_string()), "{error}");
            // It stopped right after the limit, not 2^40 attempts later.
            assert!(stats.steps <= stats.limit + values, "{stats:?}");
            assert_eq!(last(), Some(stats));
            // Nested reasons are cut short: the message does not double per level.
            fn broken(value: &Value, _: bool) -> Result<(bool, u32), String> {
                let next = value.get("next").filter(|next| !next.is_null());
                let next = next.ok_or("a reason long enough to double in size per level")?;
                let alternative = |name| Alternative {
                    name,
                    shape: Shape::ANY,
                    attempt: broken,
                };
                choose("Node", "oneOf", next, &[alternative("A"), alternative("B")])
                    .map(|depth| (false, depth + 1))
            }
            let error = broken(&chain(10), true).unwrap_err();
            assert!(
                error.starts_with(
                    "matches none of the oneOf alternatives of `Node` (A: matches none"
                )
            );
            assert!(error.len() < 600, "{} bytes", error.len());
            // A shallow one fits its budget: 2 + 4 + ... + 2^4 attempts.
            let body = chain(4);
            let budget = Budget::start(values_in(&body));
            assert_eq!(node(&body, true), Ok((false, 4)));
            let stats = budget.stats();
            drop(budget);
            assert_eq!(stats.attempts, 30);
            assert!(!stats.exhausted);
        }

        #[test]
        fn a_choice_outside_any_budget_starts_its_own() {
            let body = chain(40);
            assert!(node(&body, true).unwrap_err().contains("work limit"));
            let stats = last().unwrap();
            assert!(stats.exhausted);
            assert_eq!(stats.values, values_in(&chain(39)));
            // The budget ended with the outermost choice.
            assert_eq!(spent(), Ok(()));
        }
    }
}
