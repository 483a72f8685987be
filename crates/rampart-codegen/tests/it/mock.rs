//! The mock synthesizer: for every operation of the petstore and of every
//! corpus spec, the value the generated `Mock` falls back to validates
//! against the response schema (converted to JSON Schema, formats asserted).

use std::path::{Path, PathBuf};

use rampart_codegen::mock::{json_schema, mock_response, synthesize};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn specs() -> Vec<PathBuf> {
    let mut specs: Vec<PathBuf> = std::fs::read_dir(root().join("../shared/corpus"))
        .expect("../shared/corpus is beside the workspace")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .collect();
    specs.sort();
    assert_eq!(specs.len(), 10, "the corpus has ten specs");
    specs.insert(0, root().join("specs/petstore.yaml"));
    specs
}

fn validator(schema: &serde_json::Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| {
            panic!("the converted schema is not valid JSON Schema: {e}\n{schema:#}")
        })
}

#[test]
fn synthesized_bodies_validate_against_their_schemas() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for spec in specs() {
        let (model, _, _) = rampart_spec::load_file(&spec)
            .into_result()
            .unwrap_or_else(|e| panic!("{}: {e}", spec.display()));
        let name = spec.file_name().unwrap().to_string_lossy().into_owned();
        for op in &model.operations {
            let Some(mock) = mock_response(&model.openapi, op) else {
                continue;
            };
            let (Some(schema), Some(value)) = (mock.schema(), &mock.synthesized) else {
                continue;
            };
            let json = mock.media.is_some_and(|(m, _)| m.contains("json"));
            if !json {
                continue;
            }
            assert_eq!(
                value,
                &synthesize(&model.openapi, schema),
                "synthesis is deterministic"
            );
            let converted = json_schema(&model.openapi, schema);
            let errors: Vec<String> = validator(&converted)
                .iter_errors(value)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            checked += 1;
            if !errors.is_empty() {
                failures.push(format!(
                    "{name} {}: {}\n  {}",
                    op.id,
                    short(&value.to_string()),
                    errors
                        .iter()
                        .map(|e| short(e))
                        .collect::<Vec<_>>()
                        .join("\n  ")
                ));
            }
        }
    }
    assert!(checked > 500, "only {checked} bodies checked");
    // Known limits (docs/generator.md): Okta's overlapping oneOf alternatives and
    // required properties declared outside `properties`, and one Asana allOf whose
    // parts constrain the same property differently. Every other spec validates
    // fully; these two may not get worse.
    let known = |f: &&String| f.starts_with("okta-management") || f.starts_with("asana-api");
    let (tolerated, unexpected): (Vec<&String>, Vec<&String>) = failures.iter().partition(known);
    let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n");
    assert!(
        unexpected.is_empty(),
        "{} invalid:\n{}",
        unexpected.len(),
        list(&unexpected)
    );
    assert!(
        tolerated.len() <= 31,
        "more Okta/Asana bodies invalid than known ({}):\n{}",
        tolerated.len(),
        list(&tolerated)
    );
}

#[test]
fn petstore_mock_answers_the_lowest_2xx_with_schema_valid_bodies() {
    let (model, _, _) = rampart_spec::load_file(root().join("specs/petstore.yaml"))
        .into_result()
        .unwrap();
    let create = model.operation("createPet").unwrap();
    let mock = mock_response(&model.openapi, create).unwrap();
    assert_eq!(mock.status.code(), 201);
    let pet = mock.synthesized.unwrap();
    // Constraints of Pet: uuid id, name matching ^[^<>]+$, species from the enum,
    // 0 < weightKg <= 500, tags of pattern ^[a-z0-9-]+$.
    assert_eq!(pet["species"], "dog");
    assert!(pet["weightKg"].as_f64().unwrap() > 0.0);
    assert_eq!(pet["id"].as_str().unwrap().len(), 36);
    let delete = model.operation("deletePet").unwrap();
    let mock = mock_response(&model.openapi, delete).unwrap();
    assert_eq!(mock.status.code(), 204);
    assert!(mock.media.is_none());
    // Owner's password is writeOnly: never in a response.
    let register = model.operation("registerOwner").unwrap();
    let owner = mock_response(&model.openapi, register)
        .unwrap()
        .synthesized
        .unwrap();
    assert!(owner.get("password").is_none());
    assert_eq!(owner["email"], "user@example.com");
}

#[test]
fn examples_come_before_synthesis() {
    let spec = root().join("../shared/corpus/oai-api-with-examples.yaml");
    let (model, _, _) = rampart_spec::load_file(&spec).into_result().unwrap();
    let with_example = model
        .operations
        .iter()
        .filter_map(|op| mock_response(&model.openapi, op))
        .filter(|m| m.example.is_some())
        .count();
    assert!(with_example > 0, "the examples spec has response examples");
}

#[test]
fn recursive_schemas_terminate() {
    let text = r#"
openapi: 3.0.3
info: { title: Tree, version: "1" }
paths: {}
components:
  schemas:
    Node:
      type: object
      required: [name, children]
      properties:
        name: { type: string, minLength: 3, pattern: '^[a-z]+$' }
        children: { type: array, items: { $ref: '#/components/schemas/Node' } }
        parent: { $ref: '#/components/schemas/Node' }
        next: { allOf: [{ $ref: '#/components/schemas/Node' }], nullable: true }
"#;
    let (model, _, _) = rampart_spec::load_str("tree.yaml", text.to_owned())
        .into_result()
        .unwrap();
    let schema = openapiv3::ReferenceOr::Reference {
        reference: "#/components/schemas/Node".into(),
    };
    let value = synthesize(&model.openapi, &schema);
    assert_eq!(value["children"], serde_json::json!([]));
    assert!(value.get("parent").is_none());
    let converted = json_schema(&model.openapi, &schema);
    assert!(validator(&converted).is_valid(&value), "{value}");
}

/// At most 300 characters of `s`, for readable failures.
fn short(s: &str) -> String {
    let cut: String = s.chars().take(300).collect();
    if cut.len() < s.len() {
        format!("{cut}…")
    } else {
        cut
    }
}
