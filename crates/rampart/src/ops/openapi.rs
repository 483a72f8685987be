//! The spec a server publishes at `/openapi.json`: the document it was built
//! from, with every `x-rampart*` extension taken out, and each operation's
//! responses completed with what the pipeline itself can answer before the
//! handler runs, so that a generated client (or a fuzzer such as
//! schemathesis) meets no undocumented status:
//!
//! | when | status | headers |
//! |---|---|---|
//! | the operation has parameters or a body | 400 | |
//! | a secured operation | 401 | `WWW-Authenticate` |
//! | roles or scopes are required | 403 | |
//! | a request body | 413, 415, 422 | |
//! | a rate, or a secured operation with brute-force lockout on | 429 | `Retry-After` (and the `RateLimit` fields for a rate) |
//! | a rate decided by Redis under `fail-closed`, or credentials checked against a JWKS URL or Redis keys | 503 | `Retry-After` |
//! | a request timeout is set | 408 (or its configured status) | |
//! | a sunset | 410 | |
//!
//! A status the spec already documents is left as written. The added
//! responses are `application/problem+json` bodies described by one schema,
//! `RampartProblem`, added to `components.schemas`.

use rampart_api::policy::OperationPolicy;
use serde_json::{Map, Value, json};

/// The extension prefix kept out of the served document.
const EXTENSION_PREFIX: &str = "x-rampart";

/// What one operation of the document needs completed.
#[derive(Debug, Clone)]
pub(crate) struct ServedOperation {
    /// Path template as written (`/pets/{petId}`).
    pub(crate) path: String,
    /// Lower-case method.
    pub(crate) method: String,
    pub(crate) policy: OperationPolicy,
    pub(crate) has_parameters: bool,
    pub(crate) has_body: bool,
}

/// Facts of the running configuration that decide some answers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RuntimeFacts {
    /// Brute-force lockout is on (a failing credential may get 429).
    pub(crate) lockout: bool,
    /// Rates are decided by a shared store that answers 503 while it is
    /// down (`fail-closed`).
    pub(crate) shared_store: bool,
    /// Credentials are checked against a store that can be down (a JWKS
    /// URL, API keys in Redis): secured operations may answer 503.
    pub(crate) remote_credentials: bool,
    /// The status of a request that times out, if a timeout is set.
    pub(crate) timeout_status: Option<u16>,
}

/// The document as served: `document` is the spec as JSON.
pub(crate) fn served_document(
    mut document: Value,
    operations: &[ServedOperation],
    facts: RuntimeFacts,
) -> Value {
    strip_extensions(&mut document);
    let schema_ref = add_problem_schema(&mut document);
    for op in operations {
        let Some(responses) = document
            .get_mut("paths")
            .and_then(|p| p.get_mut(&op.path))
            .and_then(|item| item.get_mut(&op.method))
            .and_then(Value::as_object_mut)
            .map(|operation| {
                if op.policy.deprecation.is_some() {
                    operation.insert("deprecated".into(), Value::Bool(true));
                }
                operation
                    .entry("responses")
                    .or_insert_with(|| Value::Object(Map::new()))
            })
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, response) in pipeline_responses(op, facts, &schema_ref) {
            if !responses.contains_key(status) {
                responses.insert(status.to_owned(), response);
            }
        }
    }
    document
}

/// The answers the pipeline can give for one operation, by status.
fn pipeline_responses(
    op: &ServedOperation,
    facts: RuntimeFacts,
    schema_ref: &str,
) -> Vec<(&'static str, Value)> {
    let policy = &op.policy;
    let secured = !policy.public && !policy.security.is_empty();
    let scopes = policy
        .security
        .iter()
        .any(|alt| alt.schemes.iter().any(|s| !s.scopes.is_empty()));
    let rate = policy.rate.is_some();
    let mut out = Vec::new();
    let problem = |description: &str, headers: Value| {
        let mut response = json!({
            "description": description,
            "content": { "application/problem+json": { "schema": { "$ref": schema_ref } } },
        });
        if headers.as_object().is_some_and(|h| !h.is_empty()) {
            response["headers"] = headers;
        }
        response
    };
    let header =
        |description: &str, schema: Value| json!({ "description": description, "schema": schema });
    let retry_after = || {
        header(
            "Seconds to wait before retrying.",
            json!({ "type": "integer", "minimum": 0 }),
        )
    };
    if op.has_parameters || op.has_body || secured {
        out.push((
            "400",
            problem(
                "The request is malformed: a parameter or the body does not parse or breaks a constraint, or credentials were sent in the URL.",
                json!({}),
            ),
        ));
    }
    if secured {
        out.push((
            "401",
            problem(
                "No valid credentials.",
                json!({ "WWW-Authenticate": header("The challenge of each accepted scheme.", json!({ "type": "string" })) }),
            ),
        ));
    }
    if secured && (!policy.roles.is_empty() || scopes) {
        out.push((
            "403",
            problem("The caller lacks a required role or scope.", json!({})),
        ));
    }
    if let Some(status) = facts.timeout_status
        && let Some(code) = static_status(status)
    {
        out.push((
            code,
            problem("The request was not answered in time.", json!({})),
        ));
    }
    if policy
        .deprecation
        .as_ref()
        .is_some_and(|d| d.sunset.is_some())
    {
        out.push((
            "410",
            problem("The operation is past its sunset.", json!({})),
        ));
    }
    if op.has_body {
        out.push((
            "413",
            problem("The request body is over the limit.", json!({})),
        ));
        out.push((
            "415",
            problem(
                "The request body's Content-Type is not accepted.",
                json!({}),
            ),
        ));
        out.push((
            "422",
            problem(
                "The request body breaks the schema's constraints.",
                json!({}),
            ),
        ));
    }
    if rate || (secured && facts.lockout) {
        let mut headers = json!({ "Retry-After": retry_after() });
        if rate {
            headers["RateLimit-Policy"] = header(
                "The quota policy (draft-ietf-httpapi-ratelimit-headers).",
                json!({ "type": "string" }),
            );
            headers["RateLimit"] =
                header("What is left of the quota.", json!({ "type": "string" }));
        }
        out.push((
            "429",
            problem(
                "Too many requests (the quota, or too many failed authentications).",
                headers,
            ),
        ));
    }
    if (facts.shared_store && rate) || (facts.remote_credentials && secured) {
        out.push((
            "503",
            problem(
                "A store the pipeline depends on (rate limits, credentials) is unavailable.",
                json!({ "Retry-After": retry_after() }),
            ),
        ));
    }
    out
}

fn static_status(status: u16) -> Option<&'static str> {
    match status {
        408 => Some("408"),
        503 => Some("503"),
        504 => Some("504"),
        _ => None,
    }
}

/// Add the problem schema under a free name; returns its `$ref`.
fn add_problem_schema(document: &mut Value) -> String {
    let Some(root) = document.as_object_mut() else {
        return String::new();
    };
    let schemas = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .map(|c| {
            c.entry("schemas")
                .or_insert_with(|| Value::Object(Map::new()))
        });
    let Some(Value::Object(schemas)) = schemas else {
        return String::new();
    };
    let mut name = "RampartProblem".to_owned();
    while schemas.contains_key(&name) {
        name.push('_');
    }
    schemas.insert(name.clone(), problem_schema());
    format!("#/components/schemas/{name}")
}

/// RFC 9457 problem details, as rampart writes them.
fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "An RFC 9457 problem details object written by rampart's pipeline.",
        "required": ["type", "title", "status"],
        "properties": {
            "type": { "type": "string" },
            "title": { "type": "string" },
            "status": { "type": "integer", "minimum": 100, "maximum": 599 },
            "detail": { "type": "string" },
            "instance": { "type": "string" },
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "rule"],
                    "properties": {
                        "field": { "type": "string" },
                        "rule": { "type": "string" },
                        "message": { "type": "string" }
                    }
                }
            }
        }
    })
}

/// Remove every `x-rampart*` key, except where keys are data (property
/// names, examples, defaults, enums).
fn strip_extensions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with(EXTENSION_PREFIX));
            for (key, child) in map.iter_mut() {
                match key.as_str() {
                    "example" | "examples" | "default" | "enum" | "const" => {}
                    "properties" | "patternProperties" => {
                        if let Value::Object(props) = child {
                            props.values_mut().for_each(strip_extensions);
                        }
                    }
                    _ => strip_extensions(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_extensions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_api::grammar::parse_rate;
    use rampart_api::policy::{Deprecation, SchemeRequirement, SecurityRequirement};

    fn op(policy: OperationPolicy, has_body: bool) -> ServedOperation {
        ServedOperation {
            path: "/pets".into(),
            method: "post".into(),
            policy,
            has_parameters: false,
            has_body,
        }
    }

    fn document() -> Value {
        json!({
            "openapi": "3.0.3",
            "x-rampart": { "roles": ["admin"] },
            "paths": { "/pets": { "post": {
                "x-rampart": { "roles": ["admin"] },
                "responses": { "201": { "description": "made" }, "401": { "description": "mine" } },
                "requestBody": { "content": { "application/json": { "schema": {
                    "type": "object",
                    "properties": { "x-rampart-like": { "type": "string", "x-rampart-sensitive": true } },
                    "example": { "x-rampart-like": "kept" }
                } } } }
            } } },
            "components": { "schemas": { "RampartProblem": { "type": "string" } } }
        })
    }

    #[test]
    fn extensions_are_removed_but_data_is_kept() {
        let served = served_document(document(), &[], RuntimeFacts::default());
        let text = served.to_string();
        assert!(!text.contains("\"x-rampart\""), "{text}");
        assert!(!text.contains("x-rampart-sensitive"), "{text}");
        let schema = &served["paths"]["/pets"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert!(schema["properties"]["x-rampart-like"].is_object());
        assert_eq!(schema["example"]["x-rampart-like"], "kept");
    }

    #[test]
    fn a_secured_rate_limited_body_operation_documents_the_pipeline() {
        let mut policy = OperationPolicy::new("createPet", "POST", "/pets");
        policy.security = vec![SecurityRequirement {
            schemes: vec![SchemeRequirement {
                scheme: "bearer".into(),
                scopes: vec![],
            }],
        }];
        policy.roles = vec!["admin".into()];
        policy.rate = Some(parse_rate("5/min").unwrap());
        policy.deprecation = Some(Deprecation {
            since: None,
            sunset: Some(1),
            successor: None,
        });
        let facts = RuntimeFacts {
            lockout: true,
            shared_store: true,
            remote_credentials: false,
            timeout_status: Some(408),
        };
        let served = served_document(document(), &[op(policy, true)], facts);
        let operation = &served["paths"]["/pets"]["post"];
        let responses = operation["responses"].as_object().unwrap();
        let codes: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(
            codes,
            [
                "201", "401", "400", "403", "408", "410", "413", "415", "422", "429", "503"
            ]
        );
        // The spec's own 401 is left as written.
        assert_eq!(responses["401"]["description"], "mine");
        assert!(responses["429"]["headers"]["Retry-After"].is_object());
        assert!(responses["429"]["headers"]["RateLimit-Policy"].is_object());
        assert_eq!(operation["deprecated"], true);
        // The user's RampartProblem is kept; ours takes the next free name.
        assert_eq!(
            served["components"]["schemas"]["RampartProblem"]["type"],
            "string"
        );
        assert_eq!(
            responses["403"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/RampartProblem_"
        );
    }

    #[test]
    fn a_public_operation_without_input_gets_nothing() {
        let mut policy = OperationPolicy::new("health", "GET", "/pets");
        policy.public = true;
        let mut served_op = op(policy, false);
        served_op.method = "post".into();
        let served = served_document(document(), &[served_op], RuntimeFacts::default());
        let codes: Vec<&String> = served["paths"]["/pets"]["post"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(codes, ["201", "401"]);
    }
}
