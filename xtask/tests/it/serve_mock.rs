//! `cargo xtask serve SPEC --mock` end to end: the xtask binary generates,
//! builds and runs the server; requests go over real HTTP. Mock bodies must
//! validate against the spec's response schemas, and security must hold.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::served::{Served, root};

fn validate(spec: &Path, operation: &str, body: &Value) {
    let (model, _, _) = rampart_spec::load_file(spec).into_result().unwrap();
    let op = model.operation(operation).unwrap();
    let mock = rampart_codegen::mock::mock_response(&model.openapi, op).unwrap();
    let schema = rampart_codegen::mock::json_schema(&model.openapi, mock.schema().unwrap());
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{operation}: {body} does not validate: {errors:?}"
    );
}

fn is_problem(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

#[tokio::test(flavor = "multi_thread")]
async fn petstore_mock_is_served_securely_with_schema_valid_bodies() {
    let spec = root().join("specs/petstore.yaml");
    let served = Served::mock(&spec, "/v1", &[]).await;
    let viewer = served.printed_after("viewer token (8 h):");
    let editor = served.printed_after("editor token (8 h):");
    let admin_key = served.printed_after("admin API key (X-API-Key):");
    let client = reqwest::Client::new();
    let base = &served.base;

    // (a) a valid token: 200 and a body valid against the response schema.
    let response = client
        .get(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(
        response.headers().contains_key("ratelimit"),
        "the guard ran: {:?}",
        response.headers()
    );
    let pets: Value = response.json().await.unwrap();
    assert!(!pets.as_array().unwrap().is_empty());
    validate(&spec, "listPets", &pets);

    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let response = client
        .get(format!("{base}/pets/{id}"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "getPet", &response.json().await.unwrap());

    // The API key scheme works as well.
    let response = client
        .get(format!("{base}/pets/{id}"))
        .header("X-API-Key", &admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&editor)
        .json(&serde_json::json!({"name": "Rex", "species": "dog"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    validate(&spec, "createPet", &response.json().await.unwrap());

    // (b) no token: 401 with a challenge.
    let response = client.get(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert!(is_problem(&response));

    // (c) a role too weak: 403.
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({"name": "Rex", "species": "dog"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(is_problem(&response));

    // (d) an invalid body: 422 problem+json naming the fields.
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&editor)
        .json(&serde_json::json!({"name": "", "species": "unicorn", "age": 500}))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(response.status().as_u16(), 400 | 422),
        "{}",
        response.status()
    );
    assert!(is_problem(&response));
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{problem}"
    );

    // Public operation: no credentials needed.
    let response = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "getHealth", &response.json().await.unwrap());
}

/// POST `body` to `path` with `token`; the status.
async fn post_status(client: &reqwest::Client, url: &str, token: &str, body: Value) -> u16 {
    client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// OpenAPI 3.1 over real HTTP (issue 23): each keyword, written the 3.1
/// way, accepts what it allows and answers 422 for what it does not; roles
/// and authentication behave as for 3.0.
#[tokio::test(flavor = "multi_thread")]
async fn openapi_31_keywords_are_enforced_over_http() {
    let spec = root().join("specs/features-3.1.yaml");
    let served = Served::mock(&spec, "/v1", &[]).await;
    let admin = served.printed_after("admin token (8 h):");
    let viewer = served.printed_after("viewer token (8 h):");
    let client = reqwest::Client::new();
    let things = format!("{}/things", served.base);
    let contacts = format!("{}/contacts", served.base);
    let thing = |extra: Value| {
        let mut body = serde_json::json!({ "kind": "widget" });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    assert_eq!(
        post_status(&client, &things, &admin, thing(serde_json::json!({}))).await,
        201
    );
    // One case per keyword: (field and value, accepted?).
    let cases = [
        // const
        (serde_json::json!({"kind": "gadget"}), false),
        (serde_json::json!({"version": 2}), true),
        (serde_json::json!({"version": 3}), false),
        // type: [string, "null"] with maxLength beside it
        (serde_json::json!({"nickname": null}), true),
        (serde_json::json!({"nickname": "abc"}), true),
        (serde_json::json!({"nickname": 5}), false),
        (serde_json::json!({"nickname": "toolong"}), false),
        // numeric exclusiveMinimum / exclusiveMaximum
        (serde_json::json!({"ratio": 0.5}), true),
        (serde_json::json!({"ratio": 0}), false),
        (serde_json::json!({"ratio": 1}), false),
        // $ref with a sibling maxLength: both the target's (10) and the sibling's (4)
        (serde_json::json!({"code": "abcd"}), true),
        (serde_json::json!({"code": "abcde"}), false),
        (serde_json::json!({"code": "abcdefghijk"}), false),
        // prefixItems with items: false
        (serde_json::json!({"pair": ["abc", 1]}), true),
        (serde_json::json!({"pair": ["abc"]}), true),
        (serde_json::json!({"pair": ["abc", 1, 2]}), false),
        (serde_json::json!({"pair": ["abcd", 1]}), false),
        (serde_json::json!({"pair": ["abc", -1]}), false),
        (serde_json::json!({"pair": [1, 1]}), false),
        // propertyNames and map values
        (serde_json::json!({"labels": {"ab": "x"}}), true),
        (serde_json::json!({"labels": {"Ab": "x"}}), false),
        (serde_json::json!({"labels": {"abcdefghi": "x"}}), false),
        (serde_json::json!({"labels": {"ab": "long"}}), false),
        (serde_json::json!({"scores": {"a": 1, "b": 10}}), true),
        (serde_json::json!({"scores": {"a": 11}}), false),
        (
            serde_json::json!({"scores": {"a": 1, "b": 2, "c": 3}}),
            false,
        ),
        // enum of integers, multipleOf
        (serde_json::json!({"level": 2}), true),
        (serde_json::json!({"level": 4}), false),
        (serde_json::json!({"step": 1.5}), true),
        (serde_json::json!({"step": 1.2}), false),
        // an ECMA-262 backreference, matched with a bounded backtracking engine
        (serde_json::json!({"twice": "abb-abb"}), true),
        (serde_json::json!({"twice": "abb-ab"}), false),
        // additionalProperties: false
        (serde_json::json!({"unknown": 1}), false),
    ];
    for (extra, accepted) in cases {
        let status = post_status(&client, &things, &admin, thing(extra.clone())).await;
        let expected = if accepted { 201 } else { 422 };
        assert_eq!(status, expected, "{extra}");
    }

    // "At least one of email or phone" beside the properties.
    for (body, expected) in [
        (serde_json::json!({"email": "a@b.example"}), 201),
        (serde_json::json!({"phone": "+4912345678"}), 201),
        (
            serde_json::json!({"name": "Ann", "email": "a@b.example", "phone": "+4912345678"}),
            201,
        ),
        (serde_json::json!({"name": "Ann"}), 422),
        (serde_json::json!({"phone": "12"}), 422),
        (serde_json::json!({"email": "a@b.example", "extra": 1}), 422),
    ] {
        assert_eq!(
            post_status(&client, &contacts, &viewer, body.clone()).await,
            expected,
            "{body}"
        );
    }

    // Roles and authentication as for 3.0: a viewer may not create things,
    // no token is a 401 with a challenge.
    assert_eq!(
        post_status(&client, &things, &viewer, thing(serde_json::json!({}))).await,
        403
    );
    let response = client
        .post(&things)
        .json(&thing(serde_json::json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert!(is_problem(&response));
    // The served document keeps the version it was written in, and its 3.1 keywords.
    let origin = served.base.trim_end_matches("/v1");
    let document: Value = client
        .get(format!("{origin}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["openapi"], "3.1.1");
    let thing = &document["components"]["schemas"]["Thing"]["properties"];
    assert_eq!(thing["kind"]["const"], "widget", "{thing}");
    assert_eq!(
        thing["nickname"]["type"],
        serde_json::json!(["string", "null"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn corpus_spec_mock_bodies_validate() {
    let spec = root().join("../shared/corpus/oai-petstore-expanded.yaml");
    let (model, _, _) = rampart_spec::load_file(&spec).into_result().unwrap();
    let served = Served::mock(&spec, &model.base_path(), &[]).await;
    let client = reqwest::Client::new();
    let base = &served.base;

    let response = client.get(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "findPets", &response.json().await.unwrap());

    let response = client.get(format!("{base}/pets/7")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "find pet by id", &response.json().await.unwrap());

    let response = client
        .post(format!("{base}/pets"))
        .json(&serde_json::json!({"name": "Rex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    validate(&spec, "addPet", &response.json().await.unwrap());

    // A malformed body is refused before the mock runs.
    let response = client
        .post(format!("{base}/pets"))
        .json(&serde_json::json!({"tag": 5}))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(response.status().as_u16(), 400 | 422),
        "{}",
        response.status()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_mock_every_operation_answers_501_behind_the_pipeline() {
    let spec = root().join("specs/petstore.yaml");
    let served = Served::start(&spec, "/v1", false, &[]).await;
    let viewer = served.printed_after("viewer token (8 h):");
    let client = reqwest::Client::new();
    let base = &served.base;

    let response = client
        .get(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 501);
    assert!(is_problem(&response));
    assert!(
        response.headers().contains_key("ratelimit"),
        "the guard ran first"
    );

    // Security and validation still come first: 401 without a token, 403 for a viewer's POST.
    let response = client.get(format!("{base}/pets")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = client
        .post(format!("{base}/pets"))
        .bearer_auth(&viewer)
        .json(&serde_json::json!({ "name": "Rex", "species": "dog" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[test]
fn bad_specs_are_refused_with_a_clear_message() {
    let run = |spec: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["serve", "--mock", spec])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(!output.status.success(), "{spec} was served");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let missing = run("specs/no-such-spec.yaml");
    assert!(missing.contains("specs/no-such-spec.yaml"), "{missing}");
    assert!(!missing.contains("panicked"), "{missing}");
    let broken = run("crates/rampart-macros/tests/ui/specs/broken.yaml");
    assert!(broken.contains("broken.yaml:11:1"), "{broken}");
    assert!(broken.contains("invalid YAML"), "{broken}");
    assert!(!broken.contains("panicked"), "{broken}");
}

/// A DPoP-only operation and a one-time one.
const DPOP_SPEC: &str = r#"openapi: 3.0.3
info: { title: Serve DPoP, version: "1" }
components:
  securitySchemes:
    dpopAuth: { type: http, scheme: dpop, bearerFormat: JWT }
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
paths:
  /dpop:
    get:
      operationId: getDpop
      security: [ { dpopAuth: [] } ]
      responses: { "200": { description: ok } }
  /once:
    post:
      operationId: once
      security: [ { bearerAuth: [] } ]
      x-rampart: { replay: reject }
      responses: { "200": { description: ok } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn dev_mode_prints_a_dpop_bound_token_and_a_working_dpop_proof_command() {
    let dir = std::env::temp_dir().join(format!("rampart-serve-dpop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("serve_dpop.yaml");
    std::fs::write(&spec, DPOP_SPEC).unwrap();
    let served = Served::mock(&spec, "", &[]).await;
    let label = "any signed-in caller DPoP-bound token (8 h):";
    let token = served.printed_after(label);
    let key = served.printed_after("DPoP dev key (EC P-256, PEM):");
    let url = format!("{}/dpop", served.base);
    {
        let lines = served.output.lock().unwrap();
        let i = lines.iter().position(|l| l.ends_with(label)).unwrap();
        let curl = &lines[i + 2];
        for part in [
            format!("-H 'Authorization: DPoP {token}'"),
            format!(
                "-H \"DPoP: $(cargo xtask dpop-proof --key {key} --method GET --url {url} --token {token})\""
            ),
        ] {
            assert!(curl.contains(&part), "no `{part}` in {curl}");
        }
        let all = lines.join("\n");
        assert!(
            all.contains("one-time tokens (replay: reject) on once"),
            "{all}"
        );
    }

    // What the printed command does: a proof the server accepts, once.
    let proof = || {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([
                "dpop-proof",
                "--key",
                &key,
                "--method",
                "GET",
                "--url",
                &url,
            ])
            .args(["--token", &token])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let client = reqwest::Client::new();
    let call = |proof: String| {
        client
            .get(&url)
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof)
            .send()
    };
    let first = proof();
    let response = call(first.clone()).await.unwrap();
    assert!(response.status().is_success(), "{response:?}");
    assert_eq!(call(first).await.unwrap().status(), 401);
    assert!(call(proof()).await.unwrap().status().is_success());
    // The bound token is no bearer token.
    let response = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let _ = std::fs::remove_dir_all(&dir);
}
