//! Loader performance, checked without timing anything: tests never assert
//! on wall time (CI machines are shared and slow). Instead:
//!
//! - a counting allocator measures what loading costs in allocations, bytes
//!   requested and bytes retained by the result, which do not depend on the
//!   machine, and the test asserts they grow linearly with the size of the
//!   spec (4x the operations must not cost more than ~4x) and that the
//!   result stays within a fixed multiple of the input's size;
//! - a large real spec is loaded as one-line (minified) JSON and must give the
//!   same model as its YAML: work per value proportional to the length of its
//!   line would make that take hours instead of seconds;
//! - throughput is printed (`--nocapture`) for people, never asserted.

mod common;

use std::alloc::System;
use std::time::Instant;

use common::{assert_clean, corpus_dir};
use rampart_spec::{Loaded, load_str};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// What one load cost.
#[derive(Debug, Clone, Copy)]
struct Cost {
    /// Allocations and reallocations.
    allocations: usize,
    /// Bytes requested, in all.
    bytes: usize,
    /// Bytes still held when the load returned: the size of the result.
    retained: usize,
}

fn measure(f: impl FnOnce() -> Loaded) -> (Loaded, Cost) {
    let region = Region::new(GLOBAL);
    let loaded = f();
    let change = region.change();
    // Reallocations count their growth in `bytes_allocated` (and their
    // shrinking in `bytes_deallocated`) already.
    let cost = Cost {
        allocations: change.allocations + change.reallocations,
        bytes: change.bytes_allocated,
        retained: change
            .bytes_allocated
            .saturating_sub(change.bytes_deallocated),
    };
    (loaded, cost)
}

/// A spec with `n` paths of two operations each, a schema per path that
/// refers to the previous one, shared parameters and responses, and
/// annotations: every part of the loader has work proportional to `n`.
fn synthetic(n: usize) -> String {
    let mut s = String::from(
        "openapi: 3.0.3
info: { title: Synthetic, version: '1.0', description: 'Größe 猫' }
x-rampart: { roles: [admin, editor, viewer], rate: 100/15min, body-limit: 64KiB }
security: [{ bearerAuth: [] }]
paths:
",
    );
    for i in 0..n {
        s.push_str(&format!(
            "  /things{i}/{{id}}:
    parameters: [{{ $ref: '#/components/parameters/Id' }}]
    get:
      operationId: getThing{i}
      summary: Get thing {i} — ünïcödé
      x-rampart: {{ roles: [viewer], rate: 10/s }}
      responses:
        '200':
          description: ok
          content: {{ application/json: {{ schema: {{ $ref: '#/components/schemas/Thing{i}' }} }} }}
        '404': {{ $ref: '#/components/responses/NotFound' }}
    post:
      operationId: postThing{i}
      deprecated: true
      x-rampart: {{ roles: [editor], body-limit: 16KiB, sunset: 2027-06-01, successor: /v2/things{i} }}
      requestBody:
        content: {{ application/json: {{ schema: {{ $ref: '#/components/schemas/Thing{i}' }} }} }}
      responses: {{ '201': {{ description: created }} }}
"
        ));
    }
    s.push_str(
        "components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }
  parameters:
    Id: { name: id, in: path, required: true, schema: { type: string, maxLength: 36 } }
  responses:
    NotFound: { description: not found }
  schemas:
",
    );
    for i in 0..n {
        let previous = if i == 0 {
            "{ type: string }".to_owned()
        } else {
            format!("{{ $ref: '#/components/schemas/Thing{}' }}", i - 1)
        };
        s.push_str(&format!(
            "    Thing{i}:
      type: object
      required: [name]
      properties:
        name: {{ type: string, maxLength: 64, pattern: '^[a-z]+$' }}
        previous: {previous}
        tags: {{ type: array, items: {{ type: string }}, maxItems: 10 }}
"
        ));
    }
    s
}

/// The same document as one line of JSON, with some non-ASCII text in it
/// (so columns on that line cannot be taken for byte offsets).
fn minified(yaml: &str) -> String {
    let mut tree = rampart_spec::yaml::parse(yaml, 0)
        .expect("parses")
        .to_json();
    tree["x-note"] = "Größe, 猫, 🐾".into();
    serde_json::to_string(&tree).unwrap()
}

fn load_checked(name: &str, text: &str, operations: usize) -> Cost {
    let (loaded, cost) = measure(|| load_str(name, text.to_owned()));
    let model = assert_clean(&loaded);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.render());
    assert_eq!(model.operations.len(), operations, "{name}");
    cost
}

/// `big` costs at most `limit` times `small` in every measure.
#[track_caller]
fn assert_scales(what: &str, small: Cost, big: Cost, limit: f64) {
    for (measure, s, b) in [
        ("allocations", small.allocations, big.allocations),
        ("bytes allocated", small.bytes, big.bytes),
        ("bytes retained", small.retained, big.retained),
    ] {
        let ratio = b as f64 / s.max(1) as f64;
        eprintln!("{what}: {measure} x{ratio:.2} for 4x the operations");
        assert!(
            ratio <= limit,
            "{what}: {measure} grew {ratio:.1}x for 4x the operations ({s} -> {b}); \
             loading should be linear"
        );
    }
}

#[test]
fn loading_is_linear_in_allocations_and_memory_and_minified_json_is_not_slow() {
    // One test, so no other test allocates while this one counts.

    // Synthetic specs: 4x the paths costs ~4x, in YAML and in one-line JSON.
    let (n, m) = (100, 400);
    let (small, big) = (synthetic(n), synthetic(m));
    let (small_json, big_json) = (minified(&small), minified(&big));
    assert_eq!(big_json.lines().count(), 1);
    let yaml_small = load_checked("small.yaml", &small, 2 * n);
    let yaml_big = load_checked("big.yaml", &big, 2 * m);
    assert_scales("YAML", yaml_small, yaml_big, 4.6);
    let json_small = load_checked("small.json", &small_json, 2 * n);
    let json_big = load_checked("big.json", &big_json, 2 * m);
    assert_scales("one-line JSON", json_small, json_big, 4.6);
    eprintln!("synthetic {m}-path spec, {} bytes: {yaml_big:?}", big.len());

    // What a load keeps (the text, the positioned tree, the openapiv3 types
    // and the model) and what it allocates on the way are a fixed multiple
    // of the input.
    for (what, cost, len) in [
        ("YAML", yaml_big, big.len()),
        ("JSON", json_big, big_json.len()),
    ] {
        let retained = cost.retained as f64 / len as f64;
        let requested = cost.bytes as f64 / len as f64;
        eprintln!("{what}: retains {retained:.1}x, requests {requested:.1}x the input");
        assert!(
            retained < 90.0 && requested < 180.0,
            "{what}: a {len}-byte spec retains {retained:.0}x and requests {requested:.0}x its size"
        );
    }

    // A large real spec as one line of JSON gives the model its YAML gives.
    let path = corpus_dir().join("twilio-api-v2010.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let json = minified(&yaml);
    for (name, text) in [("twilio.yaml", &yaml), ("twilio.json", &json)] {
        let started = Instant::now();
        let cost = load_checked(name, text, 197);
        let seconds = started.elapsed().as_secs_f64();
        // Reported for people; never asserted.
        eprintln!(
            "{name}: {:.1} MB in {seconds:.2} s ({:.1} MB/s), {} allocations, {:.0} MB requested, {:.0} MB retained",
            text.len() as f64 / 1e6,
            text.len() as f64 / 1e6 / seconds,
            cost.allocations,
            cost.bytes as f64 / 1e6,
            cost.retained as f64 / 1e6
        );
    }
}
