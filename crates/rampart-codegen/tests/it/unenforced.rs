//! A constraint the generated validators cannot enforce is a generation
//! error naming `file:line:col` (issue 14 item 12), unless the schema opts
//! out visibly with `x-rampart: { unenforced: [...] }` or the front end is
//! told `allow_unenforced`.

use std::path::PathBuf;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(name: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("rampart-unenforced-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Dir(d)
}

const SPEC: &str = "openapi: 3.0.3
info: { title: t, version: '1' }
paths: {}
components:
  schemas:
    Thing:
      type: object
      properties:
        repeated:
          type: string
          pattern: '(?<=\\b)x'
        other:
          type: integer
          not: { type: string }
        counted:
          type: object
          properties: { a: { type: string } }
          minProperties: 1
        known:
          type: string
          pattern: '(?=x)x'
          x-rampart: { unenforced: [pattern] }
";

#[test]
fn unenforceable_constraints_are_errors_with_their_position() {
    let d = dir("errors");
    let spec = d.0.join("api.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let err = rampart_codegen::Builder::new(&spec)
        .out_dir(&d.0)
        .generate()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("error[unenforceable]: `pattern` of `/components/schemas/Thing/properties/repeated` cannot be enforced: Rust's regex cannot compile `(?<=\\b)x` (look-around, including look-ahead and look-behind, is not supported), nor can the backtracking engine"),
        "{err}"
    );
    assert!(err.contains("api.yaml:11:11"), "{err}");
    assert!(
        err.contains("`not` of `/components/schemas/Thing/properties/other`"),
        "{err}"
    );
    assert!(err.contains("api.yaml:14:11"), "{err}");
    assert!(
        err.contains("`minProperties` of `/components/schemas/Thing/properties/counted` cannot be enforced: the generator reads this schema as an object with named properties (a struct), which has no check for `minProperties`"),
        "{err}"
    );
    assert!(err.contains("api.yaml:18:11"), "{err}");
    assert!(
        err.contains("x-rampart: { unenforced: [pattern] }` on this schema"),
        "{err}"
    );
    // The opted-out pattern is not reported.
    assert!(!err.contains("/properties/known"), "{err}");
    assert_eq!(err.matches("error[unenforceable]").count(), 3, "{err}");
    assert!(!d.0.join("api.rs").exists());

    // Explicitly lenient: generated, every one reported as a warning.
    let written = rampart_codegen::Builder::new(&spec)
        .out_dir(&d.0)
        .allow_unenforced(true)
        .generate()
        .unwrap();
    assert!(written.exists());
}

#[test]
fn opt_outs_make_the_spec_generate_and_misspelt_ones_are_named() {
    let d = dir("optout");
    let spec = d.0.join("api.yaml");
    let opted = SPEC
        .replace(
            "          pattern: '(?<=\\b)x'\n",
            "          pattern: '(?<=\\b)x'\n          x-rampart: { unenforced: [pattern] }\n",
        )
        .replace(
            "          not: { type: string }\n",
            "          not: { type: string }\n          x-rampart: { unenforced: [not] }\n",
        )
        .replace(
            "          minProperties: 1\n",
            "          minProperties: 1\n          x-rampart: { unenforced: [minProperties] }\n",
        );
    std::fs::write(&spec, &opted).unwrap();
    let (text, warnings) = rampart_codegen::generate_from_path(&spec).unwrap();
    assert!(text.contains("pub struct Thing"), "{text}");
    assert!(
        warnings.iter().any(|w| w.contains("(?<=\\b)x")),
        "{warnings:?}"
    );

    // A misspelt opt-out is an ordinary x-rampart error: position and nearest word.
    std::fs::write(&spec, opted.replace("[minProperties]", "[minproperties]")).unwrap();
    let err = rampart_codegen::generate_from_path(&spec)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "`minproperties` is not a keyword `unenforced` can name; did you mean `minProperties`?"
        ),
        "{err}"
    );
    assert!(err.contains("api.yaml:21:37"), "{err}");
}

/// Every schema object of a document, found by a walk of the JSON written
/// for this test (independent of the generator's own walk): component
/// schemas, every `schema` outside literal data, and the subschemas of
/// every applicator keyword.
fn json_schemas(value: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    use serde_json::Value;
    fn schema(node: &Value, at: String, out: &mut Vec<(String, Value)>) {
        let Some(map) = node.as_object() else { return };
        if map.contains_key("$ref") {
            return;
        }
        out.push((at.clone(), node.clone()));
        for (key, sub) in map {
            let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
            match key.as_str() {
                "properties" | "patternProperties" | "dependentSchemas" => {
                    for (name, s) in sub.as_object().into_iter().flatten() {
                        schema(
                            s,
                            format!("{here}/{}", name.replace('~', "~0").replace('/', "~1")),
                            out,
                        );
                    }
                }
                "items"
                | "additionalProperties"
                | "not"
                | "propertyNames"
                | "contains"
                | "if"
                | "then"
                | "else"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "contentSchema" => schema(sub, here, out),
                "allOf" | "oneOf" | "anyOf" | "prefixItems" => {
                    for (i, s) in sub.as_array().into_iter().flatten().enumerate() {
                        schema(s, format!("{here}/{i}"), out);
                    }
                }
                _ => {}
            }
        }
    }
    fn document(node: &Value, at: String, out: &mut Vec<(String, Value)>) {
        match node {
            Value::Object(map) => {
                for (key, sub) in map {
                    let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                    match key.as_str() {
                        "example" | "examples" | "default" | "enum" => {}
                        k if k.starts_with("x-") => {}
                        "schema" if sub.is_object() => schema(sub, here, out),
                        "schemas" if at == "/components" => {
                            for (name, s) in sub.as_object().into_iter().flatten() {
                                schema(
                                    s,
                                    format!(
                                        "{here}/{}",
                                        name.replace('~', "~0").replace('/', "~1")
                                    ),
                                    out,
                                );
                            }
                        }
                        _ => document(sub, here, out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    document(item, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    document(value, String::new(), &mut out);
    out
}

/// Issue 23: nothing is dropped without a diagnostic. For every spec of both
/// corpora, every constraining keyword of every schema is either enforced or
/// reported as `unenforceable` at its position.
#[test]
fn every_constraining_keyword_of_the_corpora_is_enforced_or_reported() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    let mut specs = Vec::new();
    for dir in ["corpus", "corpus31"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("../shared is beside the workspace") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "json") {
                specs.push(path);
            }
        }
    }
    assert_eq!(specs.len(), 18);
    let mut enforced_total = 0;
    for spec in specs {
        let loaded = rampart_spec::load_file(&spec);
        let model = loaded.model.as_ref().expect("corpus specs load");
        let fates = rampart_codegen::enforce::fates(&model.root);
        // The independent walk finds exactly the keyword occurrences the
        // generator judged.
        let mut expected: Vec<(String, String)> = json_schemas(&model.root.to_json())
            .into_iter()
            .flat_map(|(at, s)| {
                s.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| rampart_spec::schemas::UNENFORCEABLE.contains(&k.as_str()))
                    .map(|k| (at.clone(), k.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut judged: Vec<(String, String)> = fates
            .iter()
            .map(|f| (f.pointer.clone(), f.keyword.clone()))
            .collect();
        expected.sort();
        judged.sort();
        assert_eq!(judged, expected, "{}", spec.display());
        // Every keyword not enforced is an error at its line.
        let reported = rampart_codegen::Generator::new(model, "spec")
            .generate()
            .errors;
        let unenforced: Vec<_> = fates.iter().filter(|f| f.unenforced.is_some()).collect();
        assert_eq!(reported.len(), unenforced.len(), "{}", spec.display());
        for (fate, diagnostic) in unenforced.iter().zip(&reported) {
            assert_eq!(diagnostic.span, Some(fate.span));
            assert!(
                diagnostic
                    .message
                    .contains(&format!("`{}` of `{}`", fate.keyword, fate.pointer))
            );
        }
        enforced_total += fates.len() - unenforced.len();
    }
    assert!(enforced_total > 10_000, "{enforced_total}");
}
