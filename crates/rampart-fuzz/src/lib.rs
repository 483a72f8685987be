//! Fuzz targets: each takes arbitrary bytes and must never panic, whatever
//! it is given; where cheap, it also checks a property of what it parsed.
//!
//! The same functions run two ways:
//! - under libFuzzer with cargo-fuzz (nightly): `cargo +nightly fuzz run
//!   spec_loader` in `fuzz/` (see docs/fuzzing.md);
//! - as a bounded, deterministic mutation run on the stable toolchain, a
//!   test of this crate (`tests/bounded.rs`), so CI exercises every target.

use axum::extract::FromRequest;
use rampart::validate::ValidJson;

/// The spec loader: YAML/JSON parsing, `$ref` resolution, `x-rampart`
/// annotations, the model, diagnostics rendering and the lint.
pub fn spec_loader(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let loaded = rampart_spec::load_str("fuzz.yaml", text);
    let _ = loaded.render();
    if let Some(model) = &loaded.model {
        let _ = rampart_spec::lint::lint(model);
        for op in &model.operations {
            assert!(!op.id.is_empty(), "every operation has an id");
        }
    }
}

/// The value grammar shared by spec, macros and runtime: rates, sizes,
/// instants and role names. A rate that parses prints as a rate that parses
/// to the same quota.
pub fn grammar(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rate) = rampart_spec::grammar::parse_rate(text) {
        assert!(
            rate.count > 0,
            "a rate allows at least one request: {text:?}"
        );
        let printed = rate.to_string();
        let again = rampart_spec::grammar::parse_rate(&printed).unwrap_or_else(|e| {
            panic!(
                "{text:?} printed as {printed:?}, which does not parse: {}",
                e.message
            )
        });
        assert_eq!(
            (again.count, again.period),
            (rate.count, rate.period),
            "{text:?}"
        );
    }
    let _ = rampart_spec::grammar::parse_size(text);
    let _ = rampart_spec::grammar::parse_instant(text);
    if let Ok(role) = rampart_spec::grammar::parse_role(text) {
        assert!(!role.is_empty());
    }
}

/// JSON request bodies through the generated, validated model of the
/// petstore (`ValidJson<NewPet>`): any body is a value or a 400/413/415/422
/// problem, never a panic or a 500.
pub fn json_body(data: &[u8]) {
    let runtime = runtime();
    let request = http::Request::builder()
        .method("POST")
        .uri("/pets")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(data.to_vec()))
        .expect("a valid request");
    let answer = runtime.block_on(ValidJson::<petstore::NewPet>::from_request(request, &()));
    if let Err(problem) = answer {
        let status = problem.status().as_u16();
        assert!(
            matches!(status, 400 | 413 | 415 | 422),
            "a body was answered {status}: {:?}",
            String::from_utf8_lossy(data)
        );
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}
