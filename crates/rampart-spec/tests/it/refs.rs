//! `$ref`s: files next to the spec (whole-file schemas, another file's
//! components, refs nested two files deep, refs back into the spec), name
//! clashes between files, recursive schemas (which load), pure cycles of
//! refs (which are errors), and missing targets, local and in other files.

use crate::common;

use std::path::PathBuf;

use common::{HEAD, assert_clean, assert_error, fixtures_dir, load, only, spanned_text};
use openapiv3::{ReferenceOr, SchemaKind, Type};
use rampart_spec::node::{Node, NodeKind};
use rampart_spec::{Loaded, load_file};

fn refs_dir() -> PathBuf {
    fixtures_dir().join("refs")
}

fn fixture(name: &str) -> Loaded {
    load_file(refs_dir().join(name))
}

/// Every `$ref` in a tree, as written.
fn all_refs(node: &Node, out: &mut Vec<String>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                match (&*k.text, &v.kind) {
                    ("$ref", NodeKind::Str(s)) => out.push(s.clone()),
                    _ => all_refs(v, out),
                }
            }
        }
        NodeKind::Seq(items) => items.iter().for_each(|v| all_refs(v, out)),
        _ => {}
    }
}

/// A schema's `properties` by name, looking through a local `$ref`.
fn properties(
    model: &rampart_spec::ApiModel,
    schema: &ReferenceOr<openapiv3::Schema>,
) -> Vec<String> {
    let schema = rampart_spec::resolve::resolve(&model.openapi, schema).expect("resolves");
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => o.properties.keys().cloned().collect(),
        other => panic!("not an object: {other:?}"),
    }
}

fn response_schema<'a>(
    model: &'a rampart_spec::ApiModel,
    operation: &str,
) -> &'a ReferenceOr<openapiv3::Schema> {
    let op = model.operation(operation).expect("operation");
    let response = op
        .operation
        .responses
        .responses
        .get(&openapiv3::StatusCode::Code(200))
        .expect("a 200");
    let response = rampart_spec::resolve::resolve(&model.openapi, response).unwrap();
    response.content["application/json"]
        .schema
        .as_ref()
        .unwrap()
}

#[test]
fn a_spec_split_over_files_is_bundled_into_local_refs() {
    let loaded = fixture("main.yaml");
    let model = assert_clean(&loaded);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.render());
    // main, common, and schemas/{pet,tag,tree,a,b}: each read once, though
    // pet.yaml is named twice (`schemas/pet.yaml`, `./schemas/pet.yaml`) and
    // main.yaml is referred back to from two files.
    let mut names: Vec<String> = loaded
        .files
        .iter()
        .map(|(_, f)| {
            let path = f
                .path
                .strip_prefix(refs_dir().canonicalize().unwrap())
                .unwrap_or(&f.path);
            path.display().to_string()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "common.yaml",
            "main.yaml",
            "schemas/a.yaml",
            "schemas/b.yaml",
            "schemas/pet.yaml",
            "schemas/tag.yaml",
            "schemas/tree.yaml",
        ]
    );
    // Everything downstream sees local refs only, and each resolves.
    let mut refs = Vec::new();
    all_refs(&model.root, &mut refs);
    assert!(refs.len() >= 10, "{refs:?}");
    for r in &refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("not local: {r}"));
        assert!(model.root.pointer(pointer).is_some(), "dangling: {r}");
    }

    // A parameter from another file's components.
    let list = model.operation("listPets").unwrap();
    assert_eq!(list.parameters.len(), 1);
    assert_eq!(list.parameters[0].parameter_data_ref().name, "limit");

    // A whole-file schema, with a nested file two levels down, and a ref
    // from that file back into main.yaml.
    let ReferenceOr::Item(page) = response_schema(model, "listPets") else {
        panic!("an inline array")
    };
    let SchemaKind::Type(Type::Array(array)) = &page.schema_kind else {
        panic!("an array")
    };
    let pet = array.items.as_ref().unwrap().clone().unbox();
    assert_eq!(properties(model, &pet), ["id", "name", "tag"]);
    let pet_json = serde_json::to_value(&pet).unwrap();
    assert_eq!(
        pet_json["properties"]["id"]["$ref"], "#/components/schemas/Id",
        "back into main.yaml"
    );
    assert_eq!(
        pet_json["properties"]["tag"]["properties"]["label"]["maxLength"],
        32
    );
    // getPet names the same file as `./schemas/pet.yaml`.
    assert_eq!(
        properties(model, response_schema(model, "getPet")),
        ["id", "name", "tag"]
    );
}

#[test]
fn components_of_another_file_never_take_the_place_of_the_specs_own() {
    // main.yaml and common.yaml each define a different `Error` schema.
    let loaded = fixture("main.yaml");
    let model = assert_clean(&loaded);
    let schemas = &model.openapi.components.as_ref().unwrap().schemas;
    assert_eq!(
        properties(model, &schemas["Error"]),
        ["local"],
        "main.yaml's own"
    );
    assert_eq!(
        properties(model, &schemas["Error_2"]),
        ["code", "pet"],
        "common.yaml's, renamed"
    );
    // common.yaml's `Error` response refers to common.yaml's `Error` schema.
    let responses = &model.openapi.components.as_ref().unwrap().responses;
    let error = rampart_spec::resolve::resolve(&model.openapi, &responses["Error"]).unwrap();
    let schema = error.content["application/json"].schema.as_ref().unwrap();
    assert_eq!(
        schema,
        &ReferenceOr::Reference {
            reference: "#/components/schemas/Error_2".to_owned()
        }
    );
    // So does schemas/tag.yaml's `error` property.
    let pet = serde_json::to_value(response_schema(model, "getPet")).unwrap();
    assert_eq!(
        pet["properties"]["tag"]["properties"]["error"]["$ref"],
        "#/components/schemas/Error_2"
    );
}

#[test]
fn recursive_schemas_in_other_files_load() {
    let loaded = fixture("main.yaml");
    let model = assert_clean(&loaded);
    let schemas = &model.openapi.components.as_ref().unwrap().schemas;
    let json = |r: &ReferenceOr<openapiv3::Schema>| serde_json::to_value(r).unwrap();

    // schemas/tree.yaml refers to itself (`$ref: '#'`): it becomes a named
    // component that refers to itself.
    assert_eq!(
        json(&schemas["tree"])["properties"]["children"]["items"]["$ref"],
        "#/components/schemas/tree"
    );
    assert_eq!(
        json(response_schema(model, "getTree"))["properties"]["children"]["items"]["$ref"],
        "#/components/schemas/tree"
    );
    // schemas/a.yaml and schemas/b.yaml refer to each other.
    assert_eq!(
        json(&schemas["a"])["properties"]["b"]["properties"]["a"]["$ref"],
        "#/components/schemas/a"
    );
    assert_eq!(properties(model, response_schema(model, "getGraph")), ["b"]);
    // common.yaml's `Node` refers to itself inside its file's components.
    assert_eq!(
        json(&schemas["Node"])["properties"]["next"]["$ref"],
        "#/components/schemas/Node"
    );
    assert_eq!(
        properties(model, response_schema(model, "getList")),
        ["value", "next"]
    );
}

#[test]
fn a_missing_file_is_reported_at_the_ref() {
    let loaded = fixture("missing-file.yaml");
    let d = assert_error(
        &loaded,
        "missing-ref",
        &["cannot read `", "no-such-file.yaml` named by a `$ref`"],
        (11, 31),
    );
    assert_eq!(
        spanned_text(&loaded, d),
        "'no-such-file.yaml#/components/schemas/Pet'"
    );
    assert!(loaded.model.is_none());
}

#[test]
fn a_missing_target_in_another_file_is_reported_with_a_suggestion() {
    let loaded = fixture("missing-target.yaml");
    assert_error(
        &loaded,
        "missing-ref",
        &["`$ref: common.yaml#/components/schemas/Eror` points at nothing; did you mean `Error`?"],
        (11, 31),
    );
}

#[test]
fn a_missing_target_two_files_down_is_reported_in_that_file() {
    let loaded = fixture("nested-missing.yaml");
    let d = only(&loaded, "missing-ref");
    assert!(
        d.message
            .contains("`$ref: #/components/schemas/Owner` points at nothing")
    );
    let location = loaded.files.location(d.span.unwrap());
    assert!(
        location.file.ends_with("schemas/broken.yaml"),
        "{}",
        location.file
    );
    assert_eq!((location.line, location.column), (4, 18));
    assert_eq!(loaded.diagnostics.len(), 1, "{}", loaded.render());
}

#[test]
fn a_pure_cycle_in_another_file_is_reported_once() {
    let loaded = fixture("external-cycle.yaml");
    let d = assert_error(
        &loaded,
        "ref-cycle",
        &[
            "never reaches a value",
            "#/components/schemas/A -> #/components/schemas/B -> #/components/schemas/A",
        ],
        (11, 31),
    );
    assert!(d.help.as_deref().unwrap().contains("must define a value"));
}

// ---- local refs -----------------------------------------------------------

const SCHEMAS: &str = "paths:
  /a:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Pet' }
components:
  schemas:
";

/// HEAD (2 lines) + SCHEMAS (11 lines): `schemas` written from line 14.
fn with_schemas(schemas: &str) -> Loaded {
    load(&format!("{HEAD}{SCHEMAS}{schemas}"))
}

#[test]
fn a_missing_local_target_is_reported_with_a_suggestion() {
    let loaded = with_schemas("    Pett: { type: object }\n");
    let d = assert_error(
        &loaded,
        "missing-ref",
        &["`$ref: #/components/schemas/Pet` points at nothing; did you mean `Pett`?"],
        (11, 31),
    );
    assert_eq!(spanned_text(&loaded, d), "'#/components/schemas/Pet'");
    assert_eq!(d.label.as_deref(), Some("no such target"));
    // A misspelt section gets no suggestion, but is still reported.
    let loaded = load(&format!(
        "{HEAD}{}    Pet: {{ type: object }}\n",
        SCHEMAS.replace("#/components/schemas/Pet", "#/components/schema/Pet")
    ));
    assert_error(
        &loaded,
        "missing-ref",
        &["`$ref: #/components/schema/Pet` points at nothing"],
        (11, 31),
    );
}

#[test]
fn self_and_mutually_recursive_local_schemas_load() {
    let loaded = with_schemas(
        "    Pet:
      type: object
      properties:
        parent: { $ref: '#/components/schemas/Pet' }
        owner: { $ref: '#/components/schemas/Owner' }
    Owner:
      type: object
      properties:
        pets: { type: array, items: { $ref: '#/components/schemas/Pet' } }
",
    );
    let model = assert_clean(&loaded);
    let schemas = &model.openapi.components.as_ref().unwrap().schemas;
    assert_eq!(properties(model, &schemas["Pet"]), ["parent", "owner"]);
    assert_eq!(properties(model, &schemas["Owner"]), ["pets"]);
}

#[test]
fn a_ref_to_itself_is_a_cycle() {
    let loaded = with_schemas("    Pet: { $ref: '#/components/schemas/Pet' }\n");
    assert_error(
        &loaded,
        "ref-cycle",
        &[
            "`$ref: #/components/schemas/Pet` never reaches a value",
            "#/components/schemas/Pet -> #/components/schemas/Pet",
        ],
        (11, 31),
    );
}

#[test]
fn a_cycle_of_refs_is_reported_once_at_the_first_ref_into_it() {
    let loaded = with_schemas(
        "    Pet: { $ref: '#/components/schemas/Animal' }
    Animal: { $ref: '#/components/schemas/Creature' }
    Creature: { $ref: '#/components/schemas/Pet' }
    Dog: { $ref: '#/components/schemas/Animal' }
",
    );
    assert_error(
        &loaded,
        "ref-cycle",
        &[
            "#/components/schemas/Pet -> #/components/schemas/Animal -> #/components/schemas/Creature -> #/components/schemas/Pet",
        ],
        (11, 31),
    );
    // Without the operation's ref, the first ref into the cycle is Pet's.
    let loaded = load(&format!(
        "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Pet: {{ $ref: '#/components/schemas/Animal' }}\n    Animal: {{ $ref: '#/components/schemas/Pet' }}\n"
    ));
    assert_error(
        &loaded,
        "ref-cycle",
        &["`$ref: #/components/schemas/Animal` never reaches a value"],
        (6, 18),
    );
}

#[test]
fn a_ref_inside_literal_data_is_data() {
    // `$ref` inside examples, defaults, enums and extensions is not a reference.
    let loaded = with_schemas(
        "    Pet:
      type: object
      example: { $ref: 'not-a-file.yaml' }
      default: { $ref: '#/nowhere' }
      x-note: { $ref: '#/nowhere/either' }
      properties:
        example: { $ref: '#/components/schemas/Tag' }
    Tag: { type: string, enum: [{ $ref: '#/nowhere' }] }
",
    );
    let model = assert_clean(&loaded);
    // ...but a property *named* `example` is a schema, and its ref was followed.
    let pet = &model.openapi.components.as_ref().unwrap().schemas["Pet"];
    assert_eq!(properties(model, pet), ["example"]);
}

#[test]
fn remote_refs_are_refused() {
    let loaded = with_schemas("    Pet: { $ref: 'https://example.com/pet.yaml#/Pet' }\n");
    let d = assert_error(
        &loaded,
        "remote-ref",
        &["points at a URL; rampart never fetches specs over the network"],
        (14, 18),
    );
    assert!(d.help.as_deref().unwrap().contains("relative path"));
}

// ---- path items -----------------------------------------------------------

#[test]
fn path_items_in_other_files_and_aliased_paths_keep_their_operations() {
    let loaded = fixture("path-items.yaml");
    let model = loaded.model.as_ref().expect("a model");
    let ops: Vec<(&str, &str, &str)> = model
        .operations
        .iter()
        .map(|o| (o.path.as_str(), o.method.as_str(), o.id.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("/owners", "get", "listOwners"),
            ("/owners", "post", "addOwner"),
            ("/pets", "get", "get_pets"),
            ("/animals", "get", "get_animals"),
        ]
    );
    // The aliased path has the policy of the path it aliases.
    assert_eq!(
        model.operation("get_animals").unwrap().policy.roles,
        ["viewer"]
    );
    assert_eq!(
        model
            .operation("addOwner")
            .unwrap()
            .policy
            .rate
            .unwrap()
            .to_string(),
        "5/min"
    );
    // The one error, an undeclared role in the other file, is reported there.
    let d = only(&loaded, "undeclared-role");
    assert!(
        d.message
            .contains("role `admn` is not declared; did you mean `admin`?")
    );
    let location = loaded.files.location(d.span.unwrap());
    assert!(
        location.file.ends_with("paths/owners.yaml"),
        "{}",
        location.file
    );
    assert_eq!((location.line, location.column), (12, 24));
    assert_eq!(loaded.diagnostics.len(), 1, "{}", loaded.render());
}

#[test]
fn a_path_item_ref_to_something_else_is_an_error() {
    let loaded = load(&format!("{HEAD}paths:\n  /a:\n    $ref: '#/info/title'\n"));
    let d = assert_error(
        &loaded,
        "invalid-path-item",
        &["path `/a` refers to `#/info/title`, which is not a path item"],
        (5, 11),
    );
    assert_eq!(spanned_text(&loaded, d), "'#/info/title'");
}
