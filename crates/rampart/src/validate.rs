//! Typed, validated extractors. Invalid input never reaches a handler and
//! never becomes a 500: bad JSON or parameters are answered 400, a body that
//! breaks a constraint 422, each as problem+json naming every failing field
//! (by its name on the wire) and the rule it broke.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
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

/// Path parameters, deserialized and validated.
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
                Problem::new(
                    http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    "Payload Too Large",
                )
            } else {
                Problem::bad_request("the request body could not be read")
            }
        })?;
        parse_json(&bytes).map(ValidJson)
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
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Problem::invalid_request(vec![FieldError::new(
            "body",
            "syntax",
            Some(format!(
                "invalid JSON at line {} column {}",
                e.line(),
                e.column()
            )),
        )])
    })?;
    let parsed: T = serde_path_to_error::deserialize(&value).map_err(|e| {
        Problem::validation_failed(vec![deserialize_error(
            "body",
            e.path(),
            &e.inner().to_string(),
        )])
    })?;
    parsed.validate().map_err(|errors| {
        Problem::validation_failed(field_errors("body", &errors, Some(&value)))
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
        for (name, value) in &parts.headers {
            if let Ok(value) = value.to_str() {
                form.append_pair(name.as_str(), value);
            }
        }
        parse_form("header", &form.finish()).map(ValidHeaders)
    }
}

fn parse_form<T: DeserializeOwned + Validate>(location: &str, encoded: &str) -> Result<T, Problem> {
    let deserializer =
        serde_html_form::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let parsed: T = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        Problem::invalid_request(vec![deserialize_error(
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
        Problem::invalid_request(field_errors(
            location,
            &errors,
            Some(&serde_json::Value::Object(names)),
        ))
    })?;
    Ok(parsed)
}

impl<S, T> FromRequestParts<S> for ValidPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate + Send,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        let Path(value) = Path::<T>::from_request_parts(parts, state).await.map_err(
            |rejection| match rejection {
                PathRejection::FailedToDeserializePathParams(e) => {
                    let error = match e.kind() {
                        ErrorKind::ParseErrorAtKey {
                            key, expected_type, ..
                        } => FieldError::new(
                            format!("path.{key}"),
                            "type",
                            Some(format!("expected {expected_type}")),
                        ),
                        ErrorKind::ParseErrorAtIndex {
                            index,
                            expected_type,
                            ..
                        } => FieldError::new(
                            format!("path.{index}"),
                            "type",
                            Some(format!("expected {expected_type}")),
                        ),
                        _ => FieldError::new("path", "type", None),
                    };
                    Problem::invalid_request(vec![error])
                }
                _ => Problem::internal(),
            },
        )?;
        let raw = parts
            .extensions
            .get::<axum::extract::RawPathParams>()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
                    .collect()
            });
        value.validate().map_err(|errors| {
            Problem::invalid_request(field_errors(
                "path",
                &errors,
                raw.map(serde_json::Value::Object).as_ref(),
            ))
        })?;
        Ok(ValidPath(value))
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
        field.push('.');
        field.push_str(rest.split('`').next().unwrap_or(""));
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
