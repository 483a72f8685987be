//! The real-world corpus (`shared/corpus`, beside the workspace) lints
//! without panics, every finding has a position inside its file, and the
//! per-rule finding counts of each spec match the checked-in snapshot in
//! `tests/fixtures/lint-corpus/<spec>.counts`.
//!
//! After a deliberate rule change, rewrite the snapshots with
//! `RAMPART_BLESS=1 cargo test -p rampart-spec --test it lint_corpus::` and
//! review the diff.

use std::collections::BTreeMap;
use std::path::Path;

use rampart_spec::Severity;
use rampart_spec::lint;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lint-corpus");

/// `rule-id  error=N warning=N info=N` lines, one per rule with findings, sorted.
fn counts(spec: &str) -> String {
    let path = Path::new(CORPUS).join(spec);
    assert!(path.is_file(), "corpus spec {} is missing", path.display());
    let loaded = rampart_spec::load_file(&path);
    assert!(
        loaded.model.is_some(),
        "{spec} did not load:\n{}",
        loaded.render()
    );
    let findings = lint::lint_loaded(&loaded);
    let mut table: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for d in findings.iter() {
        let span = d
            .span
            .unwrap_or_else(|| panic!("{spec}: finding without a span: {d:?}"));
        let file = loaded.files.get(span.file);
        assert!(
            span.start <= span.end && span.end as usize <= file.text.len(),
            "{spec}: span out of bounds: {d:?}"
        );
        let slot = match d.severity {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        };
        table.entry(d.code).or_default()[slot] += 1;
    }
    let mut out = String::new();
    for (code, [e, w, i]) in table {
        out.push_str(&format!("{code:<48} error={e} warning={w} info={i}\n"));
    }
    out
}

fn snapshot(spec: &str) {
    // Deeply nested specs need more stack than a test thread has in debug builds.
    let name = spec.to_owned();
    let actual = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || counts(&name))
        .unwrap()
        .join()
        .unwrap_or_else(|_| panic!("linting {spec} panicked"));
    let path = Path::new(SNAPSHOTS).join(format!("{}.counts", spec.trim_end_matches(".yaml")));
    if std::env::var_os("RAMPART_BLESS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with RAMPART_BLESS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "{spec}: finding counts differ from {}",
        path.display()
    );
}

macro_rules! corpus {
    ($($test:ident => $spec:literal,)*) => {
        $(
            #[test]
            fn $test() {
                snapshot($spec);
            }
        )*

        #[test]
        fn every_corpus_spec_has_a_test() {
            let mut listed = vec![$($spec),*];
            listed.sort_unstable();
            let mut found: Vec<String> = std::fs::read_dir(CORPUS)
                .expect("shared/corpus beside the workspace")
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".yaml") || n.ends_with(".json"))
                .collect();
            found.sort_unstable();
            assert_eq!(found, listed);
        }
    };
}

corpus! {
    asana => "asana-api.yaml",
    oai_api_with_examples => "oai-api-with-examples.yaml",
    oai_callback_example => "oai-callback-example.yaml",
    oai_link_example => "oai-link-example.yaml",
    oai_petstore => "oai-petstore.yaml",
    oai_petstore_expanded => "oai-petstore-expanded.yaml",
    oai_uspto => "oai-uspto.yaml",
    okta_management => "okta-management.yaml",
    stripe => "stripe-spec3.yaml",
    twilio_api_v2010 => "twilio-api-v2010.yaml",
}
