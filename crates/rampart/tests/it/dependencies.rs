//! The runtime reads no spec (issue 25): `rampart` depends on the data crate
//! `rampart-api`, never on `rampart-spec`, and the proc macros pull in the
//! spec front end only behind the opt-in `spec-macros` feature. A manifest
//! edit that brings the YAML stack back into every server fails here.

use std::path::Path;

fn manifest(crate_dir: &str) -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("Cargo.toml");
    std::fs::read_to_string(&path)
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn table<'a>(t: &'a toml::Table, key: &str) -> &'a toml::Table {
    t.get(key)
        .and_then(toml::Value::as_table)
        .unwrap_or_else(|| panic!("no [{key}]"))
}

/// Whether `dep` is in `deps` and not optional.
fn required(deps: &toml::Table, dep: &str) -> bool {
    deps.get(dep).is_some_and(|d| {
        d.get("optional")
            .and_then(toml::Value::as_bool)
            .is_none_or(|optional| !optional)
    })
}

#[test]
fn the_runtime_and_its_default_macros_depend_on_no_spec_reader() {
    let runtime = manifest("rampart");
    let deps = table(&runtime, "dependencies");
    assert!(required(deps, "rampart-api"));
    for reader in ["rampart-spec", "rampart-codegen", "openapiv3", "yaml-rust2"] {
        assert!(!deps.contains_key(reader), "rampart depends on {reader}");
    }
    let features = table(&runtime, "features");
    let default: Vec<&str> = features["default"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    assert!(!default.contains(&"spec-macros"), "{default:?}");
    assert_eq!(
        features["spec-macros"].as_array().unwrap()[0].as_str(),
        Some("rampart-macros/spec")
    );

    let macros = manifest("rampart-macros");
    let deps = table(&macros, "dependencies");
    for reader in ["rampart-spec", "rampart-codegen", "openapiv3"] {
        assert!(
            deps.contains_key(reader) && !required(deps, reader),
            "rampart-macros must depend on {reader} only behind its `spec` feature"
        );
    }
}
