//! `x-rampart-lint` re-levelling, its errors, merging with the loader's
//! diagnostics, and `--strict`.

use rampart_spec::Severity::{self, Error, Info, Warning};
use rampart_spec::lint::{self, Config, Level};

/// A spec with one unsecured GET (read-restricted: warning) and one unsecured
/// POST (write-restricted: error), plus whatever `extra` adds at the top level.
fn spec(extra: &str) -> String {
    format!(
        r#"openapi: 3.0.3
info: {{ title: t, version: "1" }}
{extra}
paths:
  /things:
    get:
      operationId: listThings
      responses: {{ "200": {{ description: ok }} }}
    post:
      operationId: createThing
      responses: {{ "201": {{ description: created }} }}
"#
    )
}

/// (code, severity, line, column, message) of every finding of `lint_loaded`.
fn run(text: String) -> Vec<(String, Severity, usize, usize, String)> {
    let loaded = rampart_spec::load_str("spec.yaml", text);
    lint::lint_loaded(&loaded)
        .iter()
        .map(|d| {
            let at = loaded.files.location(d.span.expect("span"));
            (
                d.code.to_owned(),
                d.severity,
                at.line,
                at.column,
                d.message.clone(),
            )
        })
        .collect()
}

fn of<'a>(
    findings: &'a [(String, Severity, usize, usize, String)],
    code: &str,
) -> Vec<&'a (String, Severity, usize, usize, String)> {
    findings.iter().filter(|f| f.0 == code).collect()
}

#[test]
fn defaults_without_configuration() {
    let findings = run(spec(""));
    let read = of(&findings, "owasp-api2-read-restricted");
    let write = of(&findings, "owasp-api2-write-restricted");
    assert_eq!(
        (read[0].1, read[0].2, read[0].3),
        (Warning, 6, 5),
        "{findings:#?}"
    );
    assert_eq!((write[0].1, write[0].2, write[0].3), (Error, 9, 5));
}

#[test]
fn rules_are_turned_off_and_relevelled() {
    let findings = run(spec(
        "x-rampart-lint:\n  owasp-api2-read-restricted: off\n  owasp-api2-write-restricted: info\n  owasp-api4-rate-limit-responses-429: error",
    ));
    assert!(of(&findings, "owasp-api2-read-restricted").is_empty());
    let write = of(&findings, "owasp-api2-write-restricted");
    assert_eq!((write[0].1, write[0].2, write[0].3), (Info, 12, 5));
    // Re-levelling applies to lowered findings too.
    let limited = of(&findings, "owasp-api4-rate-limit-responses-429");
    assert_eq!(limited.len(), 2);
    assert!(limited.iter().all(|f| f.1 == Error));
}

#[test]
fn unknown_rule_is_an_error_with_the_nearest_id() {
    let findings = run(spec("x-rampart-lint:\n  owasp-api4-string-limt: off"));
    let unknown = of(&findings, "unknown-lint-rule");
    assert_eq!(unknown.len(), 1, "{findings:#?}");
    let (_, severity, line, column, message) = unknown[0];
    assert_eq!((*severity, *line, *column), (Error, 4, 3));
    assert_eq!(
        message,
        "unknown lint rule `owasp-api4-string-limt`; did you mean `owasp-api4-string-limit`?"
    );
}

#[test]
fn unknown_level_is_an_error_with_the_nearest_level() {
    let findings = run(spec("x-rampart-lint:\n  owasp-api2-read-restricted: eror"));
    let bad = of(&findings, "malformed-lint-level");
    assert_eq!(bad.len(), 1, "{findings:#?}");
    assert_eq!((bad[0].1, bad[0].2, bad[0].3), (Error, 4, 31));
    assert_eq!(
        bad[0].4,
        "unknown level `eror` for lint rule `owasp-api2-read-restricted`; did you mean `error`?"
    );
    // The malformed entry changes nothing.
    assert_eq!(of(&findings, "owasp-api2-read-restricted")[0].1, Warning);
}

#[test]
fn configuration_must_be_a_mapping() {
    let findings = run(spec("x-rampart-lint: [owasp-api2-read-restricted]"));
    let bad = of(&findings, "malformed-lint-config");
    assert_eq!((bad[0].1, bad[0].2, bad[0].3), (Error, 3, 1));
}

#[test]
fn config_api() {
    let mut config = Config::default();
    assert!(config.set("owasp-api4-array-limit", Level::Off).is_ok());
    assert_eq!(config.level("owasp-api4-array-limit"), Some(Level::Off));
    let err = config
        .set("owasp-api4-aray-limit", Level::Info)
        .unwrap_err();
    assert!(
        err.ends_with("did you mean `owasp-api4-array-limit`?"),
        "{err}"
    );
    assert_eq!(Level::parse("warning"), Some(Level::Warning));
    assert_eq!(Level::parse("warn"), Some(Level::Warning));
    assert_eq!(Level::parse("fatal"), None);
    assert_eq!(Level::Off.severity(), None);
}

#[test]
fn loader_checks_repeated_by_a_rule_are_reported_once() {
    let text = |extra: &str| {
        format!(
            r#"openapi: 3.0.3
info: {{ title: t, version: "1" }}
x-rampart: {{ roles: [admin, editor] }}
{extra}
security: [{{ bearerAuth: [] }}]
paths:
  /things:
    post:
      operationId: createThing
      x-rampart: {{ roles: [editr] }}
      responses: {{ "201": {{ description: created }} }}
components:
  securitySchemes:
    bearerAuth: {{ type: http, scheme: bearer, bearerFormat: JWT, description: RFC 8725 JWTs }}
"#
        )
    };
    let findings = run(text(""));
    let at_role: Vec<_> = findings.iter().filter(|f| (f.2, f.3) == (10, 28)).collect();
    assert_eq!(at_role.len(), 1, "{findings:#?}");
    assert_eq!(at_role[0].0, "rampart-undeclared-role");
    assert_eq!(at_role[0].1, Error);

    // Re-levelled below error, the rule's finding gives way to the loader's
    // error, which still fails the build.
    let findings = run(text("x-rampart-lint: { rampart-undeclared-role: warning }"));
    let at_role: Vec<_> = findings.iter().filter(|f| (f.2, f.3) == (10, 28)).collect();
    assert_eq!(at_role.len(), 1, "{findings:#?}");
    assert_eq!(
        (at_role[0].0.as_str(), at_role[0].1),
        ("undeclared-role", Error)
    );
}

#[test]
fn strict_fails_on_warnings() {
    let loaded = rampart_spec::load_str(
        "spec.yaml",
        spec("x-rampart-lint: { owasp-api2-write-restricted: off, owasp-api4-rate-limit: off }"),
    );
    let findings = lint::lint_loaded(&loaded);
    let errors: Vec<_> = findings.iter().filter(|d| d.severity == Error).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(findings.iter().any(|d| d.severity == Warning));
    assert!(!lint::fails(&findings, false));
    assert!(lint::fails(&findings, true));
}

#[test]
fn annotated_petstore_lints_clean_under_strict() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../specs/petstore.yaml");
    let loaded = rampart_spec::load_file(path);
    assert!(loaded.model.is_some(), "{}", loaded.render());
    let findings = lint::lint_loaded(&loaded);
    let failing: String = findings
        .iter()
        .filter(|d| d.severity > Info)
        .map(|d| d.render(&loaded.files))
        .collect();
    assert!(failing.is_empty(), "{failing}");
    assert!(!lint::fails(&findings, true));
}

#[test]
fn odd_but_loadable_specs_do_not_panic() {
    let deep = {
        let mut schema = String::from("{ type: string, maxLength: 1 }");
        for _ in 0..90 {
            schema = format!("{{ allOf: [{schema}] }}");
        }
        schema
    };
    let specs = [
        "x-rampart-lint: 3\npaths: {}".to_owned(),
        "x-rampart-lint: { owasp-api4-array-limit: 5, ~: off }\npaths: {}".to_owned(),
        "servers:\n  - url: ''\n    x-internal: [1]\n    x-environment: { a: b }\n    description: ''\npaths: {}".to_owned(),
        "servers:\n  - url: '{s}://x'\n    variables: { s: { default: http } }\npaths: {}".to_owned(),
        "security: [{}]\npaths:\n  /a:\n    get:\n      security: [{}]\n      x-rampart: { roles: [] }\n      responses: {}".to_owned(),
        "paths:\n  /a:\n    post:\n      requestBody: { content: {} }\n      responses: { default: { description: d } }\n      callbacks: { c: { '{$url}': { post: { responses: { '200': { description: ok } } } } } }".to_owned(),
        format!("paths: {{}}\ncomponents:\n  schemas:\n    Deep: {deep}\n    Odd: {{ x-rampart-sensitive: yes, format: password, writeOnly: true, required: [a, b], properties: {{ a: {{ readOnly: true }} }} }}\n    Self: {{ type: object, properties: {{ me: {{ $ref: '#/components/schemas/Self' }} }}, discriminator: {{ propertyName: t, mapping: {{ a: Self, b: '#/components/schemas/Nope' }} }} }}"),
        "paths: {}\ncomponents:\n  securitySchemes:\n    a: { type: http, scheme: '' }\n    b: { type: oauth2, flows: {} }\n    c: { type: openIdConnect, openIdConnectUrl: 'https://x', description: 'RFC 8725' }".to_owned(),
    ];
    for (i, body) in specs.iter().enumerate() {
        let text = format!("openapi: 3.0.3\ninfo: {{ title: t, version: \"1\" }}\n{body}\n");
        // Deserializing deep specs needs more stack than a debug test thread has
        // (a loader matter); the lint itself runs on the test thread.
        let name = format!("odd{i}.yaml");
        let loaded = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || rampart_spec::load_str(name, text))
            .unwrap()
            .join()
            .unwrap();
        assert!(
            loaded.model.is_some(),
            "odd{i}.yaml should load:\n{}",
            loaded.render()
        );
        for d in lint::lint_loaded(&loaded).iter() {
            let span = d.span.expect("every finding has a span");
            assert!(span.end as usize <= loaded.files.get(span.file).text.len());
            let _ = d.render(&loaded.files);
        }
    }
}
