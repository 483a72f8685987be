//! Every real spec of the development corpus, and the annotated petstore,
//! loads without errors and yields the number of operations SOURCES.md lists.

use crate::common;

use std::collections::BTreeMap;

use common::{assert_clean, corpus_dir, corpus31_dir, specs_dir};
use rampart_spec::{Dialect, Severity, load_file};

/// Operations and deprecated operations, as SOURCES.md lists them (the
/// first test checks this table against the file).
const CORPUS: &[(&str, usize, usize)] = &[
    ("asana-api.yaml", 247, 0),
    ("twilio-api-v2010.yaml", 197, 0),
    ("okta-management.yaml", 732, 4),
    ("stripe-spec3.yaml", 468, 4),
    ("oai-petstore.yaml", 3, 0),
    ("oai-petstore-expanded.yaml", 4, 0),
    ("oai-uspto.yaml", 3, 0),
    ("oai-api-with-examples.yaml", 2, 0),
    ("oai-link-example.yaml", 6, 0),
    ("oai-callback-example.yaml", 1, 0),
];

/// Load one corpus file: no errors, and the counts of the table.
fn check(file: &str) -> rampart_spec::Loaded {
    let &(_, operations, deprecated) = CORPUS
        .iter()
        .find(|(name, ..)| *name == file)
        .unwrap_or_else(|| panic!("{file} is not in the CORPUS table"));
    let loaded = load_file(corpus_dir().join(file));
    let model = assert_clean(&loaded);
    assert_eq!(
        model.operations.len(),
        operations,
        "{file}: operation count differs from SOURCES.md"
    );
    let deprecated_ops: Vec<_> = model
        .operations
        .iter()
        .filter(|o| o.operation.deprecated)
        .collect();
    assert_eq!(
        deprecated_ops.len(),
        deprecated,
        "{file}: deprecated operations"
    );
    assert!(
        deprecated_ops
            .iter()
            .all(|o| o.policy.deprecation.is_some()),
        "{file}: a deprecated operation's policy carries its deprecation"
    );
    // Every operation got a policy naming it, and the ids are unique.
    let mut ids: Vec<&str> = model.operations.iter().map(|o| o.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), model.operations.len(), "{file}: duplicate ids");
    for op in &model.operations {
        assert_eq!(op.policy.operation_id, op.id);
    }
    loaded
}

#[test]
fn the_table_matches_sources_md_and_covers_every_file() {
    let dir = corpus_dir();
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).expect("SOURCES.md");
    // `| file | repo | path | commit | license | openapi | size | operations | types | deprecated | notes |`
    let listed: BTreeMap<String, (usize, usize)> = sources
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(".yaml |"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let number = |i: usize| cells[i].parse::<usize>().expect("a count");
            (cells[1].to_owned(), (number(8), number(10)))
        })
        .collect();
    let table: BTreeMap<String, (usize, usize)> = CORPUS
        .iter()
        .map(|&(f, ops, dep)| (f.to_owned(), (ops, dep)))
        .collect();
    assert_eq!(listed.len(), 10);
    assert_eq!(listed, table, "SOURCES.md and this test disagree");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".json"))
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        table.keys().cloned().collect::<Vec<_>>(),
        "every spec in the corpus is tested"
    );
}

macro_rules! corpus_tests {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check($file);
            }
        )*
    };
}

corpus_tests! {
    twilio => "twilio-api-v2010.yaml",
    okta => "okta-management.yaml",
    stripe => "stripe-spec3.yaml",
    oai_petstore => "oai-petstore.yaml",
    oai_petstore_expanded => "oai-petstore-expanded.yaml",
    oai_uspto => "oai-uspto.yaml",
    oai_api_with_examples => "oai-api-with-examples.yaml",
    oai_link_example => "oai-link-example.yaml",
    oai_callback_example => "oai-callback-example.yaml",
}

#[test]
fn asana() {
    // Asana's spec requires four scopes its oauth2 flows do not declare; those
    // are warnings (the check still passes), reported at the scope.
    let loaded = check("asana-api.yaml");
    let warnings: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.code, common::line_col(&loaded, d)))
        .collect();
    assert_eq!(
        warnings,
        [
            (Severity::Warning, "unknown-scope", (21954, 15)),
            (Severity::Warning, "unknown-scope", (22045, 15)),
            (Severity::Warning, "unknown-scope", (43572, 15)),
            (Severity::Warning, "unknown-scope", (61759, 15)),
        ]
    );
    assert!(
        loaded
            .diagnostics
            .iter()
            .next()
            .unwrap()
            .message
            .contains("scope `goals:write` is not declared")
    );
}

#[test]
fn annotated_petstore_is_clean_and_its_policies_are_read() {
    let loaded = load_file(specs_dir().join("petstore.yaml"));
    let model = assert_clean(&loaded);
    assert!(
        loaded.diagnostics.is_empty(),
        "no warnings either:\n{}",
        loaded.render()
    );
    let ids: Vec<&str> = model.operations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "getHealth",
            "listPets",
            "createPet",
            "getPet",
            "deletePet",
            "registerOwner"
        ]
    );
    assert_eq!(model.roles.roles(), ["admin", "editor", "viewer"]);

    let health = &model.operation("getHealth").unwrap().policy;
    assert!(health.public);
    assert!(health.security.is_empty());
    assert_eq!(health.rate.unwrap().to_string(), "10/s");
    assert_eq!(health.rate_key, rampart_spec::RateKey::Ip);

    let list = &model.operation("listPets").unwrap().policy;
    assert_eq!(list.security.len(), 3, "three alternatives (OR)");
    assert_eq!(list.security[1].schemes[0].scheme, "oauth2");
    assert_eq!(list.security[1].schemes[0].scopes, ["pets:read"]);
    assert_eq!(list.roles, ["viewer"]);
    assert_eq!(
        list.rate.unwrap().to_string(),
        "100/15min",
        "top-level default"
    );
    assert_eq!(list.body_limit, Some(64 * 1024));

    let create = &model.operation("createPet").unwrap().policy;
    assert_eq!(create.rate.unwrap().to_string(), "20/min");
    assert_eq!(create.rate.unwrap().burst, Some(5));
    assert_eq!(create.body_limit, Some(16 * 1024));

    let delete = &model.operation("deletePet").unwrap().policy;
    let deprecation = delete.deprecation.as_ref().expect("deprecated");
    assert_eq!(deprecation.since, Some(1_767_225_600)); // 2026-01-01T00:00:00Z
    assert_eq!(deprecation.sunset, Some(1_811_808_000)); // 2027-06-01T00:00:00Z
    assert_eq!(deprecation.successor.as_deref(), Some("/v2/pets/{petId}"));
    assert_eq!(delete.roles, ["admin"]);
}

/// The OpenAPI 3.1/3.2 corpus: operations (webhooks are not served, so not
/// counted) and the version family, as its SOURCES.md lists them.
const CORPUS31: &[(&str, usize, Dialect)] = &[
    ("oai-learn-tictactoe.yaml", 3, Dialect::V31),
    ("readme-oas-examples-security.yaml", 15, Dialect::V31),
    ("oai-learn-3.2-tags-example.yaml", 4, Dialect::V32),
    (
        "adyen-BalancePlatformConfigurationNotification-v1.json",
        0,
        Dialect::V31,
    ),
    ("resend.yaml", 104, Dialect::V31),
    ("frigate-api.yaml", 179, Dialect::V31),
    ("lakekeeper-management-open-api.yaml", 179, Dialect::V31),
    ("discord-openapi.json", 242, Dialect::V31),
];

#[test]
fn every_openapi_31_and_32_spec_loads_with_its_operations() {
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus31_dir())
        .expect("../shared/corpus31 is beside the workspace")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CORPUS31.iter().map(|(f, ..)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every 3.1/3.2 spec is tested");
    for &(file, operations, dialect) in CORPUS31 {
        let loaded = load_file(corpus31_dir().join(file));
        let model = assert_clean(&loaded);
        assert_eq!(model.operations.len(), operations, "{file}: operations");
        assert_eq!(model.dialect, dialect, "{file}");
        for op in &model.operations {
            assert_eq!(op.policy.operation_id, op.id, "{file}");
        }
    }
}
