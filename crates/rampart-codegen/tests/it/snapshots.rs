//! Snapshot tests of generated code. `EXPECTORATE=overwrite cargo test -p
//! rampart-codegen --test it snapshots::` accepts a deliberate change.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn generate(spec: &Path) -> String {
    let loaded = rampart_spec::load_file(spec);
    let (model, _, _) = loaded.into_result().expect("spec loads");
    let label = spec.file_name().unwrap().to_string_lossy().into_owned();
    rampart_codegen::Generator::new(&model, label.clone())
        .generate()
        .to_formatted_string(&label)
}

#[test]
fn petstore() {
    expectorate::assert_contents(
        "tests/snapshots/petstore.rs",
        &generate(&root().join("specs/petstore.yaml")),
    );
}

#[test]
fn corpus_petstore_expanded() {
    let spec = root().join("../shared/corpus/oai-petstore-expanded.yaml");
    expectorate::assert_contents("tests/snapshots/oai-petstore-expanded.rs", &generate(&spec));
}

#[test]
fn corpus_link_example() {
    let spec = root().join("../shared/corpus/oai-link-example.yaml");
    expectorate::assert_contents("tests/snapshots/oai-link-example.rs", &generate(&spec));
}

#[test]
fn validation_spec() {
    // oneOf/anyOf enums without a discriminator: each alternative's JSON
    // shape, tried lazily (issue 23).
    expectorate::assert_contents(
        "tests/snapshots/validation.rs",
        &generate(&root().join("tests/specs/validation.yaml")),
    );
}

#[test]
fn same_spec_gives_byte_identical_output() {
    let spec = root().join("specs/petstore.yaml");
    assert_eq!(generate(&spec), generate(&spec));
}

#[test]
fn checked_in_example_is_fresh() {
    // examples/petstore is `cargo xtask generate specs/petstore.yaml --out examples/petstore`,
    // run from the workspace root (the header names the spec as given).
    let checked_in = std::fs::read_to_string(root().join("examples/petstore/src/lib.rs")).unwrap();
    let loaded = rampart_spec::load_file(root().join("specs/petstore.yaml"));
    let (model, _, _) = loaded.into_result().expect("spec loads");
    let fresh = rampart_codegen::Generator::new(&model, "specs/petstore.yaml")
        .generate()
        .to_formatted_string("specs/petstore.yaml");
    assert!(
        fresh == checked_in,
        "examples/petstore is stale: run `cargo xtask generate specs/petstore.yaml --out examples/petstore`"
    );
}

#[test]
fn api_macro_expands_to_what_xtask_generate_writes() {
    // `rampart::api!("specs/petstore.yaml")` expands to `macro_items`; with the
    // per-item lint allowances taken off and formatted as a file, it must be
    // byte-identical to what `cargo xtask generate` wrote into examples/petstore.
    let checked_in = std::fs::read_to_string(root().join("examples/petstore/src/lib.rs")).unwrap();
    let loaded = rampart_spec::load_file(root().join("specs/petstore.yaml"));
    let (model, _, _) = loaded.into_result().expect("spec loads");
    let expanded = rampart_codegen::macro_items(&model, "specs/petstore.yaml");
    let mut file: syn::File = syn::parse2(expanded).expect("api! expands to items");
    assert!(!file.items.is_empty());
    for item in &mut file.items {
        let attrs = match item {
            syn::Item::Const(i) => &mut i.attrs,
            syn::Item::Enum(i) => &mut i.attrs,
            syn::Item::Fn(i) => &mut i.attrs,
            syn::Item::Impl(i) => &mut i.attrs,
            syn::Item::Mod(i) => &mut i.attrs,
            syn::Item::Static(i) => &mut i.attrs,
            syn::Item::Struct(i) => &mut i.attrs,
            syn::Item::Trait(i) => &mut i.attrs,
            syn::Item::Type(i) => &mut i.attrs,
            syn::Item::Use(i) => &mut i.attrs,
            syn::Item::Macro(i) => &mut i.attrs,
            other => panic!("unexpected item kind: {}", quote::quote!(#other)),
        };
        let first = attrs.remove(0);
        assert!(
            first.path().is_ident("allow"),
            "each item starts with #[allow(..)]"
        );
    }
    let items = &file.items;
    let as_file = rampart_codegen::format_file(&quote::quote!(#(#items)*), "specs/petstore.yaml");
    assert!(
        as_file == checked_in,
        "api! and `cargo xtask generate` disagree for specs/petstore.yaml"
    );
}
