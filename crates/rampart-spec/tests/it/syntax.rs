//! Versions rampart refuses, malformed YAML and JSON (with the position of
//! the fault), YAML anchors, aliases and merge keys, and the limits that keep
//! hostile documents from exhausting the stack or memory.

use crate::common;

use common::{HEAD, assert_clean, assert_error, load, only, spanned_text};
use rampart_spec::load_str;

const MINIMAL: &str = "info: { title: Test, version: '1.0' }\npaths: {}\n";

// ---- versions -------------------------------------------------------------

#[test]
fn openapi_3_1_and_3_2_are_accepted() {
    for v in ["3.1.0", "3.1.1", "3.1.2", "3.2.0"] {
        assert_clean(&load(&format!("openapi: {v}\n{MINIMAL}")));
    }
    let loaded = load_str(
        "spec.json",
        r#"{"openapi": "3.1.1", "info": {"title": "T", "version": "1"}, "paths": {}}"#.to_owned(),
    );
    assert_clean(&loaded);
    // A 3.1 document may have no `paths` (webhooks only).
    assert_clean(&load("openapi: 3.1.0\ninfo: { title: T, version: '1' }\n"));
}

#[test]
fn swagger_2_is_refused_saying_what_was_found_and_what_is_supported() {
    for (text, col) in [
        (format!("swagger: '2.0'\n{MINIMAL}"), 10),
        (format!("swagger: \"2.0\"\n{MINIMAL}"), 10),
        // Unquoted, `2.0` is a YAML number; the message still quotes it as written.
        (format!("swagger: 2.0\n{MINIMAL}"), 10),
    ] {
        let loaded = load(&text);
        let d = assert_error(
            &loaded,
            "unsupported-version",
            &["found Swagger 2.0; rampart supports OpenAPI 3.0, 3.1 and 3.2"],
            (1, col),
        );
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .contains("convert the spec to OpenAPI 3")
        );
    }
    let loaded = load_str(
        "spec.json",
        "{\n  \"swagger\": \"2.0\",\n  \"info\": {\"title\": \"T\", \"version\": \"1\"}\n}\n"
            .to_owned(),
    );
    assert_error(
        &loaded,
        "unsupported-version",
        &["found Swagger 2.0"],
        (2, 14),
    );
}

#[test]
fn other_versions_and_non_specs_are_refused() {
    let loaded = load(&format!("openapi: 4.0.0\n{MINIMAL}"));
    let d = assert_error(
        &loaded,
        "unsupported-version",
        &["found OpenAPI 4.0.0; rampart supports OpenAPI 3.0.x, 3.1.x and 3.2.x"],
        (1, 10),
    );
    assert_eq!(
        d.help.as_deref(),
        Some("write the version the document follows, e.g. `openapi: 3.1.1`")
    );

    let loaded = load(&format!("# no version\n{MINIMAL}"));
    assert_error(
        &loaded,
        "not-openapi",
        &["missing the `openapi` field"],
        (2, 1),
    );
    let loaded = load("- openapi: 3.0.3\n");
    assert_error(
        &loaded,
        "not-openapi",
        &["a spec must be a mapping at the top level, found a sequence"],
        (1, 1),
    );
}

#[test]
fn every_3_0_patch_version_is_accepted() {
    for v in ["3.0.0", "3.0.1", "3.0.2", "3.0.3", "3.0.4"] {
        assert_clean(&load(&format!("openapi: {v}\n{MINIMAL}")));
    }
}

// ---- malformed YAML -------------------------------------------------------

/// The single `syntax` error of `text` (as spec.yaml), its message and position.
fn syntax(text: &str) -> (String, (usize, usize)) {
    syntax_in("spec.yaml", text)
}

fn syntax_in(path: &str, text: &str) -> (String, (usize, usize)) {
    let loaded = load_str(path, text.to_owned());
    let d = only(&loaded, "syntax");
    assert_eq!(loaded.diagnostics.len(), 1, "{}", loaded.render());
    assert!(loaded.model.is_none());
    (d.message.clone(), common::line_col(&loaded, d))
}

#[test]
fn yaml_syntax_errors_name_their_position() {
    // A value where a key was expected: the second `:` on line 4.
    let (message, at) = syntax(&format!("{HEAD}paths:\n  /pets: get: x\n"));
    assert_eq!(
        message,
        "invalid YAML: mapping values are not allowed in this context"
    );
    assert_eq!(at, (4, 13));

    // An unclosed flow sequence: reported where the parser gives up (the end).
    let (message, at) = syntax(&format!("{HEAD}tags: [a, b\npaths: {{}}\n"));
    assert!(
        message.starts_with("invalid YAML: while parsing a flow sequence"),
        "{message}"
    );
    assert_eq!(at, (5, 1));

    // An unterminated quoted string: reported where it opens.
    let (message, at) = syntax(&format!("{HEAD}paths: {{}}\nx-note: \"never closed\n"));
    assert!(
        message.contains("while scanning a quoted scalar"),
        "{message}"
    );
    assert_eq!(at, (4, 9));

    // A tab used for indentation: reported just after the tab.
    let (message, at) = syntax(&format!("{HEAD}paths:\n\t/pets: {{}}\n"));
    assert_eq!(
        message,
        "invalid YAML: tabs disallowed within this context (block indentation)"
    );
    assert_eq!(at, (4, 2));

    // A key written twice in one mapping: the second one.
    let (message, at) = syntax(&format!("{HEAD}paths: {{}}\ninfo: {{}}\n"));
    assert_eq!(message, "invalid YAML: duplicate key `info`");
    assert_eq!(at, (4, 1));

    // A second document in the file is refused, not silently ignored.
    let (message, at) = syntax(&format!("{HEAD}paths: {{}}\n---\nopenapi: 3.0.3\n"));
    assert_eq!(
        message,
        "invalid YAML: a spec must be a single YAML document, but another one starts here"
    );
    assert_eq!(at, (4, 1));

    // An empty file.
    let (message, at) = syntax("# nothing here\n");
    assert_eq!(message, "invalid YAML: the document is empty");
    assert_eq!(at, (2, 1));
}

#[test]
fn yaml_syntax_error_after_non_ascii_text_counts_characters() {
    // `  title: Größe 猫 🐾: x` -- the offending `:` is character 19, byte 26.
    let (message, at) = syntax("openapi: 3.0.3\ninfo:\n  title: Größe 猫 🐾: x\n");
    assert_eq!(
        message,
        "invalid YAML: mapping values are not allowed in this context"
    );
    assert_eq!(at, (3, 19));
}

#[test]
fn crlf_line_endings_keep_positions() {
    let (_, at) = syntax("openapi: 3.0.3\r\ninfo:\r\n  title: a: b\r\n");
    assert_eq!(at, (3, 11));
    let text = format!("{HEAD}paths: {{}}\nx-rampart:\n  rols: [a]\n").replace('\n', "\r\n");
    let loaded = load(&text);
    assert_error(&loaded, "unknown-key", &["`rols`"], (5, 3));
}

// ---- malformed JSON -------------------------------------------------------

#[test]
fn json_syntax_errors_name_their_position() {
    let json = |text: &str| syntax_in("spec.json", text);
    // A trailing comma in an object: the `}` where a key should be.
    let (message, at) = json("{\n  \"openapi\": \"3.0.3\",\n  \"paths\": {},\n}\n");
    assert_eq!(message, "invalid JSON: key must be a string");
    assert_eq!(at, (4, 1));
    // A trailing comma in an array: the `]` after it.
    let (message, at) = json("{\n  \"tags\": [{\"name\": \"a\"},\n  ]}\n");
    assert_eq!(message, "invalid JSON: expected value", "{at:?}");
    assert_eq!(at, (3, 3));
    // A missing colon.
    let (message, at) = json("{\n  \"openapi\" \"3.0.3\"\n}\n");
    assert_eq!(message, "invalid JSON: expected `:`");
    assert_eq!(at, (2, 13));
    // An unquoted version: a number until its second `.`.
    let (message, at) = json("{\"openapi\": 3.0.3}");
    assert!(message.starts_with("invalid JSON:"), "{message}");
    assert_eq!(at, (1, 16));
    // Unterminated: at the end.
    let (message, at) = json("{\"openapi\": \"3.0.3\",\n \"paths\": {");
    assert_eq!(message, "invalid JSON: EOF while parsing an object");
    assert_eq!(at, (2, 11));
    // Detected by content, whatever the file is called.
    let (message, at) = syntax_in("api.txt", "  {\"openapi\": \"3.0.3\",]}");
    assert!(message.starts_with("invalid JSON:"), "{message}");
    assert_eq!(at, (1, 23));
}

#[test]
fn json_syntax_error_after_non_ascii_text_counts_characters() {
    // serde_json counts bytes; positions are reported in characters.
    let text = "{\"info\": {\"title\": \"Größe 猫 🐾\", \"tags\": [1,]}}";
    let (message, at) = syntax_in("spec.json", text);
    assert_eq!(message, "invalid JSON: expected value", "{at:?}");
    // The `]` is character 44 (byte 51).
    let bracket = text.find(",]").unwrap() + 1;
    assert_eq!(at, (1, text[..bracket].chars().count() + 1));
    assert_eq!(at, (1, 44));
    // On a later line, after a non-ASCII line.
    let (_, at) = syntax_in("spec.json", "{\"a\": \"é\",\n \"é\": [1, }");
    assert_eq!(at, (2, 11));
}

#[test]
fn json_specs_load_and_report_annotation_errors_at_json_positions() {
    let text = r#"{
  "openapi": "3.0.3",
  "info": {"title": "Größe", "version": "1"},
  "x-rampart": {"roles": ["admin"], "rate": "5/mni"},
  "paths": {
    "/a": {"get": {"x-rampart": {"rols": ["admin"]}, "responses": {"200": {"description": "ok"}}}}
  }
}
"#;
    let loaded = load_str("spec.json", text.to_owned());
    let found: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.code, common::line_col(&loaded, d)))
        .collect();
    assert_eq!(
        found,
        [("malformed-rate", (4, 45)), ("unknown-key", (6, 34))]
    );
}

// ---- anchors, aliases, merge keys ------------------------------------------

#[test]
fn anchors_aliases_and_merge_keys_are_expanded() {
    let text = format!(
        "{HEAD}x-rampart:
  roles: [admin, viewer]
x-limits: &strict {{ roles: [admin], rate: 5/min }}
x-ok: &ok {{ description: fine }}
components: {{ securitySchemes: {{ bearerAuth: {{ type: http, scheme: bearer }} }} }}
security: [{{ bearerAuth: [] }}]
paths:
  /a:
    get:
      x-rampart: *strict
      responses: {{ '200': *ok }}
    put:
      x-rampart:
        <<: *strict
        rate: 1/s
      responses: {{ '200': *ok }}
"
    );
    let loaded = load(&text);
    let model = assert_clean(&loaded);
    let get = &model.operations[0].policy;
    assert_eq!(get.roles, ["admin"]);
    assert_eq!(get.rate.unwrap().to_string(), "5/min");
    let put = &model.operations[1].policy;
    assert_eq!(put.roles, ["admin"], "merged from the anchor");
    assert_eq!(
        put.rate.unwrap().to_string(),
        "1/s",
        "own key wins over the merge"
    );
    let response = model.operations[0]
        .operation
        .responses
        .responses
        .values()
        .next()
        .unwrap();
    let openapiv3::ReferenceOr::Item(response) = response else {
        panic!("an inline response")
    };
    assert_eq!(response.description, "fine");
}

#[test]
fn an_error_inside_an_anchored_value_is_reported_once_at_the_anchor() {
    let text = format!(
        "{HEAD}x-limits: &strict {{ rols: [admin] }}
paths:
  /a:
    get:
      x-rampart: *strict
      responses: {{ '200': {{ description: ok }} }}
    put:
      x-rampart: *strict
      responses: {{ '200': {{ description: ok }} }}
"
    );
    let loaded = load(&text);
    let d = assert_error(
        &loaded,
        "unknown-key",
        &["`rols`", "did you mean `roles`?"],
        (3, 21),
    );
    assert_eq!(spanned_text(&loaded, d), "rols");
}

#[test]
fn an_alias_to_an_unknown_anchor_is_a_syntax_error() {
    let (message, at) = syntax(&format!("{HEAD}paths: *nowhere\n"));
    assert!(message.starts_with("invalid YAML:"), "{message}");
    assert_eq!(at, (3, 8));
}

#[test]
fn keys_keep_their_spelling() {
    // Unquoted keys that look like numbers or booleans name properties as written.
    let text = format!(
        "{HEAD}paths: {{}}
components:
  schemas:
    Versions:
      type: object
      properties:
        1.10: {{ type: string }}
        True: {{ type: string }}
        0x1F: {{ type: string }}
        200: {{ type: string }}
"
    );
    let loaded = load(&text);
    let model = assert_clean(&loaded);
    let schema = &model.openapi.components.as_ref().unwrap().schemas["Versions"];
    let json = serde_json::to_value(schema).unwrap();
    let names: Vec<&String> = json["properties"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["1.10", "True", "0x1F", "200"]);
}

// ---- limits ---------------------------------------------------------------

#[test]
fn deep_nesting_is_refused_with_a_position() {
    // The 201st `[` (the root mapping is level 0).
    let text = format!(
        "{HEAD}paths: {{}}\nx-deep: {}{}\n",
        "[".repeat(220),
        "]".repeat(220)
    );
    let (message, at) = syntax(&text);
    assert_eq!(
        message,
        "invalid YAML: values nested deeper than 200 levels"
    );
    assert_eq!(at, (4, 9 + 200));
    // Block nesting the same: `- - - ... a`, the 201st `-` opens level 201.
    let text = format!("{HEAD}paths: {{}}\nx-deep:\n{}a\n", "- ".repeat(220));
    let (message, at) = syntax(&text);
    assert_eq!(
        message,
        "invalid YAML: values nested deeper than 200 levels"
    );
    assert_eq!(at, (5, 1 + 2 * 200));
    // Past 255 flow levels the YAML scanner refuses first.
    let text = format!(
        "{HEAD}paths: {{}}\nx-deep: {}{}\n",
        "[".repeat(300),
        "]".repeat(300)
    );
    let (message, _) = syntax(&text);
    assert!(message.starts_with("invalid YAML:"), "{message}");
    // JSON is refused before that by serde_json's own limit.
    let text = format!(
        "{{\"openapi\": \"3.0.3\", \"x\": {}{}}}",
        "[".repeat(300),
        "]".repeat(300)
    );
    let (message, _) = syntax_in("spec.json", &text);
    assert_eq!(message, "invalid JSON: recursion limit exceeded");
}

#[test]
fn schemas_nested_as_deep_as_the_limit_load_on_a_test_thread() {
    // `not` and `items` nest a schema per YAML level; the innermost value
    // sits at level 200, the deepest the reader accepts. Deserializing that
    // needs far more stack than this (2 MiB) test thread has.
    for (open, close) in [("{ not: ", "}"), ("{ type: array, items: ", "}")] {
        let text = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Deep: {}{{ type: string }}{}\n",
            open.repeat(196),
            close.repeat(196)
        );
        let loaded = load(&text);
        let model = assert_clean(&loaded);
        assert!(
            model
                .openapi
                .components
                .as_ref()
                .unwrap()
                .schemas
                .contains_key("Deep")
        );
    }
    // One level more is refused by the reader.
    let text = format!(
        "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Deep: {}{{ type: string }}{}\n",
        "{ not: ".repeat(197),
        "}".repeat(197)
    );
    let (message, _) = syntax(&text);
    assert_eq!(
        message,
        "invalid YAML: values nested deeper than 200 levels"
    );
}

#[test]
fn aliases_cannot_nest_values_deeper_than_the_limit() {
    // Each anchor nests the previous one 150 levels deeper: a few kilobytes
    // that would expand to thousands of levels (and overflow the stack of
    // every recursive walk downstream).
    let mut text = format!(
        "{HEAD}paths: {{}}\nx-a0: &a0 {}{}\n",
        "[".repeat(150),
        "]".repeat(150)
    );
    for i in 1..40 {
        text.push_str(&format!(
            "x-a{i}: &a{i} {}*a{} {}\n",
            "[".repeat(150),
            i - 1,
            "]".repeat(150)
        ));
    }
    let (message, at) = syntax(&text);
    assert_eq!(
        message,
        "invalid YAML: this alias expands to values nested deeper than 200 levels"
    );
    assert_eq!(at, (5, 161));
}

#[test]
fn billion_laughs_is_refused_before_it_is_built() {
    let mut text = format!(
        "{HEAD}paths: {{}}\nx-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    );
    for i in 1..10 {
        let p = i - 1;
        let refs = vec![format!("*l{p}"); 10].join(", ");
        text.push_str(&format!("x-l{i}: &l{i} [{refs}]\n"));
    }
    let (message, at) = syntax(&text);
    assert_eq!(
        message,
        "invalid YAML: document expands to too many values (alias bomb?)"
    );
    // Aliases may add 10^6 values in all. Levels 1-4 add 123,440; each alias
    // of level 4 adds 111,111, so the 8th on line 9 would pass the limit.
    assert_eq!(at, (9, 12 + 7 * 5));
}

#[test]
fn a_yaml_file_in_flow_style_is_yaml_not_json() {
    // Valid YAML, invalid JSON (unquoted keys and values).
    let text = "{openapi: 3.0.3, info: {title: Flow, version: '1'}, paths: {}}\n";
    assert_clean(&load_str("flow.yaml", text.to_owned()));
    assert_clean(&load_str("flow.YML", text.to_owned()));
    // Named .json, or with no telling extension, it is JSON, and invalid.
    let (message, at) = syntax_in("flow.json", text);
    assert_eq!(message, "invalid JSON: key must be a string");
    assert_eq!(at, (1, 2));
    let (message, _) = syntax_in("flow", text);
    assert_eq!(message, "invalid JSON: key must be a string");
}
