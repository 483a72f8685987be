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
pub fn parse_json<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, Problem> {
    if json_depth(bytes) > MAX_JSON_DEPTH {
        return Err(Problem::invalid_request(vec![FieldError::new(
            "body",
            "depth",
            Some(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels")),
        )]));
    }
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
    parsed.validate().map_err(|errors| {
        let value: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
        Problem::validation_failed(field_errors("body", &errors, value.as_ref()))
    })?;
    Ok(parsed)
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
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
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
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
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
    }

    #[test]
    fn snake_matches_generator_naming() {
        assert_eq!(snake("weightKg"), "weight_kg");
        assert_eq!(snake("X-Request-Id"), "x_request_id");
        assert_eq!(snake("displayName"), "display_name");
    }
}

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

/// Deserialization support for generated `oneOf` / `anyOf` enums.
pub mod one_of {
    /// One alternative tried: its name, and either the value deserialized as
    /// it (with whether it also validated) or why it did not deserialize.
    pub type Tried<T> = (&'static str, Result<(bool, T), String>);

    /// Pick the alternative a value is: `tried` holds, per alternative in
    /// spec order, its name and either the value deserialized as it (with
    /// whether it also validated) or why it did not deserialize.
    ///
    /// `oneOf` (`keyword == "oneOf"`): exactly one alternative may be valid;
    /// two or more is an error naming them. `anyOf`: the first valid one.
    /// When none is valid, the first alternative that deserialized is kept,
    /// so validation then names its failing fields; when none deserialized,
    /// the error says why each did not.
    pub fn choose<T>(type_name: &str, keyword: &str, tried: Vec<Tried<T>>) -> Result<T, String> {
        let valid: Vec<&str> = tried
            .iter()
            .filter(|(_, r)| matches!(r, Ok((true, _))))
            .map(|(name, _)| *name)
            .collect();
        if keyword == "oneOf" && valid.len() > 1 {
            return Err(format!(
                "matches {} of the oneOf alternatives of `{type_name}` ({}); exactly one may match",
                valid.len(),
                valid.join(", ")
            ));
        }
        let mut parsed = None;
        let mut why = Vec::new();
        for (name, outcome) in tried {
            match outcome {
                Ok((true, value)) => return Ok(value),
                Ok((false, value)) => {
                    parsed.get_or_insert(value);
                }
                Err(e) => why.push(format!("{name}: {e}")),
            }
        }
        parsed.ok_or_else(|| {
            format!(
                "matches none of the {keyword} alternatives of `{type_name}` ({})",
                why.join("; ")
            )
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn one_of_wants_exactly_one_any_of_the_first() {
            let both = || vec![("A", Ok((true, 1))), ("B", Ok((true, 2)))];
            assert!(
                choose("T", "oneOf", both())
                    .unwrap_err()
                    .contains("matches 2")
            );
            assert_eq!(choose("T", "anyOf", both()), Ok(1));
            let second = vec![
                ("A", Err("missing field `a`".to_owned())),
                ("B", Ok((true, 2))),
            ];
            assert_eq!(choose("T", "oneOf", second), Ok(2));
            let invalid = vec![("A", Ok((false, 1))), ("B", Err("no".to_owned()))];
            assert_eq!(choose("T", "oneOf", invalid), Ok(1));
            let none: Vec<Tried<i32>> =
                vec![("A", Err("x".to_owned())), ("B", Err("y".to_owned()))];
            assert_eq!(
                choose("T", "anyOf", none).unwrap_err(),
                "matches none of the anyOf alternatives of `T` (A: x; B: y)"
            );
        }
    }
}
