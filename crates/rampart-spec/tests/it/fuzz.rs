//! Fuzz-style robustness: a seeded mutator turns the small corpus specs, the
//! annotated petstore (as YAML and as JSON) and the multi-file fixtures into a
//! few thousand broken specs, and the loader must never panic on any of them
//! (nor while rendering what it found). Half the cases mutate the text (byte
//! flips, line deletions and duplications, truncations, swapped values, deep
//! nesting, stray YAML syntax), which mostly exercises the readers; the other
//! half mutate the document tree and write it back as JSON (values of the
//! wrong type, refs to arbitrary places, copied subtrees, random x-rampart
//! annotations), which keeps the syntax valid and reaches `$ref` handling,
//! deserialization and the model.
//!
//! A failure reports the seed of the case, the mutations applied, and writes
//! the mutated input to a file. Replay one case with
//! `RAMPART_FUZZ_SEED=<seed> RAMPART_FUZZ_CASES=1 cargo test -p rampart-spec --test it fuzz::`;
//! run more with `RAMPART_FUZZ_CASES=100000`.

use crate::common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use common::{corpus_dir, fixtures_dir, specs_dir};
use rampart_spec::{Loaded, load_file, load_str};
use serde_json::{Map, Value, json};

/// Cases run by default: enough to cover every mutation on every input many
/// times, and quick in a debug build.
const DEFAULT_CASES: u64 = 3000;
const DEFAULT_SEED: u64 = 0x5eed_2026_0001;

/// xorshift64*: tiny, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Avoid the all-zero state and decorrelate neighbouring seeds.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Fragments that mean something to YAML, JSON, OpenAPI or x-rampart.
const TOKENS: &[&str] = &[
    ":",
    ": ",
    "- ",
    "? ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "'",
    "\"",
    "#",
    "&a ",
    "*a",
    "<<: *a",
    "!!str ",
    "!!binary ",
    "|",
    ">",
    "~",
    "null",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\u{feff}",
    "é",
    "猫",
    "🐾",
    "\\u0000",
    "\\",
    "$ref: '#/components/schemas/Pet'",
    "$ref: '#'",
    "$ref: '#/'",
    "$ref: 'missing.yaml'",
    "$ref: 'common.yaml#/components/schemas/Error'",
    "$ref: 'schemas/tree.yaml'",
    "$ref: 'https://example.com/x.yaml'",
    "{$ref: '#/paths'}",
    "x-rampart: {rols: [admin], rate: 5/mni, body-limit: 64 kib, sunset: tomorrow}",
    "x-rampart: {roles: [admin], public: true, burst: 0}",
    "x-rampart: [1]",
    "security: [{nope: []}]",
    "security: [{}]",
    "deprecated: true",
    "operationId: listPets",
    "openapi: 3.1.0",
    "swagger: '2.0'",
    "99999999999999999999999",
    "-1",
    "1e999",
    ".nan",
    "0x7fffffffffffffff",
    "true",
    "2027-13-45",
    "/",
    "{petId}",
    "%2F",
    "~1",
    "~0",
];

/// Values for `swap`/`replace` mutations.
const VALUES: &[&str] = &[
    "",
    "~",
    "[]",
    "{}",
    "0",
    "-5",
    "3.5",
    "true",
    "'x'",
    "\"\\u00e9\"",
    "*a",
    "&a x",
    "[[[[",
    "{a: {b: {c:",
    "5/min",
    "64KiB",
    "2027-06-01",
    "admin",
    "#/components/schemas/Pet",
];

/// One mutation of `text`, described for the failure report.
fn mutate(rng: &mut Rng, text: &mut String) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let line_at = |rng: &mut Rng| rng.below(lines.len());
    match rng.below(12) {
        0 => {
            // Flip bytes (the result is made valid UTF-8 again, lossily).
            let mut bytes = std::mem::take(text).into_bytes();
            let n = 1 + rng.below(4);
            let mut at = Vec::new();
            for _ in 0..n {
                if bytes.is_empty() {
                    break;
                }
                let i = rng.below(bytes.len());
                bytes[i] = if rng.below(2) == 0 {
                    *rng.pick(b":{}[],&*!|>'\"#-? \t\n%@`\\")
                } else {
                    rng.next() as u8
                };
                at.push(i);
            }
            *text = String::from_utf8_lossy(&bytes).into_owned();
            format!("flip bytes at {at:?}")
        }
        1 => {
            let i = line_at(rng);
            let out: String = lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, l)| *l)
                .collect();
            *text = out;
            format!("delete line {}", i + 1)
        }
        2 => {
            let i = line_at(rng);
            let times = 1 + rng.below(3);
            let mut out = String::new();
            for (j, l) in lines.iter().enumerate() {
                out.push_str(l);
                if j == i {
                    for _ in 0..times {
                        out.push_str(l);
                    }
                }
            }
            *text = out;
            format!("duplicate line {} x{times}", i + 1)
        }
        3 => {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
            format!("truncate at byte {at}")
        }
        4 => {
            // Swap the values of two `key: value` lines.
            let with_values: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.contains(": "))
                .map(|(i, _)| i)
                .collect();
            if with_values.len() < 2 {
                return "swap (no values)".to_owned();
            }
            let a = *rng.pick(&with_values);
            let b = *rng.pick(&with_values);
            let split = |l: &str| {
                let i = l.find(": ").unwrap() + 2;
                (l[..i].to_owned(), l[i..].trim_end_matches('\n').to_owned())
            };
            let (ka, va) = split(lines[a]);
            let (kb, vb) = split(lines[b]);
            let mut out = String::new();
            for (j, l) in lines.iter().enumerate() {
                match j {
                    _ if j == a => out.push_str(&format!("{ka}{vb}\n")),
                    _ if j == b => out.push_str(&format!("{kb}{va}\n")),
                    _ => out.push_str(l),
                }
            }
            *text = out;
            format!("swap values of lines {} and {}", a + 1, b + 1)
        }
        5 => {
            // Deep nesting, around and past the reader's limit, flow or block.
            let depth = 150 + rng.below(150);
            let i = line_at(rng);
            let indent: String = lines[i].chars().take_while(|c| *c == ' ').collect();
            let nest = match rng.below(4) {
                0 => format!(
                    "{indent}x-deep: {}1{}\n",
                    "[".repeat(depth),
                    "]".repeat(depth)
                ),
                1 => format!(
                    "{indent}x-deep: {}1{}\n",
                    "{a: ".repeat(depth),
                    "}".repeat(depth)
                ),
                2 => format!(
                    "{indent}schema: {}{{type: string}}{}\n",
                    "{not: ".repeat(depth),
                    "}".repeat(depth)
                ),
                _ => format!("{indent}x-deep:\n{indent}{}a\n", "- ".repeat(depth)),
            };
            let mut out: String = lines[..i].concat();
            out.push_str(&nest);
            out.push_str(&lines[i..].concat());
            *text = out;
            format!("nest {depth} deep before line {}", i + 1)
        }
        6 | 7 => {
            // Insert a token somewhere.
            let token = *rng.pick(TOKENS);
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, token);
            format!("insert {token:?} at byte {at}")
        }
        8 => {
            // Replace a line's value.
            let i = line_at(rng);
            let value = *rng.pick(VALUES);
            let l = lines[i];
            let new = match l.find(": ") {
                Some(k) => format!("{}{value}\n", &l[..k + 2]),
                None => format!("{value}\n"),
            };
            let mut out: String = lines[..i].concat();
            out.push_str(&new);
            out.push_str(&lines[i + 1..].concat());
            *text = out;
            format!("set line {} to value {value:?}", i + 1)
        }
        9 => {
            // Re-indent a line.
            let i = line_at(rng);
            let l = lines[i];
            let new = if rng.below(2) == 0 {
                format!("{}{l}", " ".repeat(1 + rng.below(4)))
            } else {
                l.trim_start_matches(' ').to_owned()
            };
            let mut out: String = lines[..i].concat();
            out.push_str(&new);
            out.push_str(&lines[i + 1..].concat());
            *text = out;
            format!("re-indent line {}", i + 1)
        }
        10 => {
            // Move a block of lines elsewhere.
            let a = line_at(rng);
            let len = 1 + rng.below(8).min(lines.len() - a - 1);
            let block: String = lines[a..a + len].concat();
            let rest: Vec<&str> = lines[..a]
                .iter()
                .chain(&lines[a + len..])
                .copied()
                .collect();
            let to = rng.below(rest.len() + 1);
            *text = format!("{}{block}{}", rest[..to].concat(), rest[to..].concat());
            format!("move lines {}..{} to {}", a + 1, a + len, to + 1)
        }
        _ => {
            // Anchor a value and alias it elsewhere (possibly inside itself).
            let with_values: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.trim_end().ends_with(':'))
                .map(|(i, _)| i)
                .collect();
            if with_values.is_empty() {
                return "alias (no mapping keys)".to_owned();
            }
            let a = *rng.pick(&with_values);
            let b = rng.below(lines.len());
            let mut out = String::new();
            for (j, l) in lines.iter().enumerate() {
                if j == a {
                    out.push_str(&format!("{} &a\n", l.trim_end()));
                } else if j == b {
                    let indent: String = l.chars().take_while(|c| *c == ' ').collect();
                    out.push_str(&format!("{indent}x-alias: *a\n"));
                    out.push_str(l);
                } else {
                    out.push_str(l);
                }
            }
            *text = out;
            format!("anchor line {} and alias it at line {}", a + 1, b + 1)
        }
    }
}

/// Keys worth adding to a mapping.
const KEYS: &[&str] = &[
    "x-rampart",
    "$ref",
    "security",
    "deprecated",
    "operationId",
    "parameters",
    "schema",
    "allOf",
    "oneOf",
    "not",
    "items",
    "properties",
    "required",
    "enum",
    "responses",
    "requestBody",
    "content",
    "components",
    "schemas",
    "securitySchemes",
    "paths",
    "type",
    "additionalProperties",
    "callbacks",
    "links",
    "example",
    "default",
    "x-other",
    "",
];

/// Keys of an `x-rampart` annotation, valid, misspelt and foreign.
const ANNOTATION_KEYS: &[&str] = &[
    "roles",
    "rate",
    "burst",
    "rate-key",
    "body-limit",
    "public",
    "deprecation",
    "sunset",
    "successor",
    "cors",
    "deprecated",
    "rols",
    "rates",
    "bodylimit",
    "origins",
];

fn random_value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.next() as i64),
        3 => json!(rng.below(100) as i64 - 10),
        4 => json!(1.5e300),
        5 => json!([]),
        6 => json!({}),
        7 => json!(["admin", "nobody", 3]),
        8 => json!({ "origins": "*", "credentials": true }),
        9 => json!({ "$ref": "#/components/schemas/Nope" }),
        _ => json!(*rng.pick(VALUES)),
    }
}

fn random_annotation(rng: &mut Rng) -> Value {
    let mut map = Map::new();
    for _ in 0..1 + rng.below(4) {
        let key = *rng.pick(ANNOTATION_KEYS);
        let value = match rng.below(4) {
            0 => random_value(rng),
            1 => json!(*rng.pick(&["5/min", "5/mni", "0/s", "10/400d", "64KiB", "64 kib"])),
            2 => json!(*rng.pick(&["2027-06-01", "2027-13-01T00:00:00Z", "soon"])),
            _ => rng
                .pick(&[json!(["admin"]), json!(["admn"]), json!("ip"), json!(true)])
                .clone(),
        };
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

/// The `n`-th node in preorder.
fn nth_mut<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        Value::Array(items) => items.iter_mut().find_map(|c| nth_mut(c, n)),
        Value::Object(map) => map.values_mut().find_map(|c| nth_mut(c, n)),
        _ => None,
    }
}

/// JSON pointers of every node, for refs to arbitrary places.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match v {
        Value::Array(items) => {
            for (i, c) in items.iter().enumerate() {
                pointers(c, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, c) in map {
                let token = k.replace('~', "~0").replace('/', "~1");
                pointers(c, &format!("{at}/{token}"), out);
            }
        }
        _ => {}
    }
}

/// One mutation of the document tree.
fn mutate_tree(rng: &mut Rng, doc: &mut Value) -> String {
    let size = count(doc);
    let at = rng.below(size);
    let kind = rng.below(8);
    // Computed before borrowing the node: a copy of another node, or a ref
    // to any place in the document (sometimes just past it).
    let copy = (kind == 4).then(|| {
        let mut m = rng.below(size);
        nth_mut(doc, &mut m).cloned().unwrap_or(Value::Null)
    });
    let target = (kind == 1).then(|| {
        let mut all = Vec::new();
        pointers(doc, "", &mut all);
        let p = rng.pick(&all).clone();
        if rng.below(4) == 0 {
            format!("#{p}x")
        } else {
            format!("#{p}")
        }
    });
    if kind == 5 || kind == 6 {
        // An annotation on the document or on an operation, where it is read.
        let mut all = Vec::new();
        pointers(doc, "", &mut all);
        let places: Vec<&String> = all
            .iter()
            .filter(|p| {
                p.is_empty() || doc.pointer(p).is_some_and(|v| v.get("responses").is_some())
            })
            .collect();
        let place = rng.pick(&places).to_string();
        let annotation = random_annotation(rng);
        let note = format!("set x-rampart at {place:?} to {annotation}");
        if let Some(Value::Object(map)) = doc.pointer_mut(&place) {
            map.insert("x-rampart".to_owned(), annotation);
        }
        return note;
    }
    let mut n = at;
    let node = nth_mut(doc, &mut n).expect("node in range");
    match (kind, node) {
        (1, node) => {
            let target = target.unwrap_or_default();
            *node = json!({ "$ref": target });
            format!("replace node {at} with a ref to {target}")
        }
        (2, Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).unwrap().clone();
            map.shift_remove(&key);
            format!("remove key {key:?} of node {at}")
        }
        (3, Value::Object(map)) => {
            let key = *rng.pick(KEYS);
            let value = random_value(rng);
            let note = format!("set key {key:?} of node {at} to {value}");
            map.insert(key.to_owned(), value);
            note
        }
        (4, node) => {
            *node = copy.unwrap_or_default();
            format!("replace node {at} with a copy of another")
        }
        (7, Value::Array(items)) if !items.is_empty() => {
            let i = rng.below(items.len());
            if rng.below(2) == 0 {
                items.remove(i);
                format!("remove item {i} of node {at}")
            } else {
                let copy = items[i].clone();
                items.push(copy);
                format!("duplicate item {i} of node {at}")
            }
        }
        (_, node) => {
            *node = random_value(rng);
            format!("replace node {at} with {node}")
        }
    }
}

/// A mutated input: 1-3 text mutations, or 1-4 tree mutations written as JSON.
fn mutated(rng: &mut Rng, input: &Input) -> (String, Vec<String>) {
    if rng.below(2) == 0 {
        let mut text = input.text.clone();
        let mutations = (0..1 + rng.below(3))
            .map(|_| mutate(rng, &mut text))
            .collect();
        (text, mutations)
    } else {
        let mut tree = input.tree.clone();
        let mutations = (0..1 + rng.below(4))
            .map(|_| mutate_tree(rng, &mut tree))
            .collect();
        let text = if rng.below(2) == 0 {
            serde_json::to_string_pretty(&tree).unwrap()
        } else {
            serde_json::to_string(&tree).unwrap()
        };
        (text, mutations)
    }
}

/// An input: a name for reports, the path it is loaded as (relative refs
/// resolve next to it), and its text.
struct Input {
    path: PathBuf,
    text: String,
    /// The document as JSON, for tree mutations.
    tree: Value,
}

fn inputs() -> Vec<Input> {
    let mut inputs = Vec::new();
    let read = |path: PathBuf| {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let tree = rampart_spec::yaml::parse(&text, 0)
            .expect("inputs parse")
            .to_json();
        Input { path, text, tree }
    };
    for name in [
        "oai-petstore.yaml",
        "oai-petstore-expanded.yaml",
        "oai-uspto.yaml",
        "oai-api-with-examples.yaml",
        "oai-link-example.yaml",
        "oai-callback-example.yaml",
    ] {
        inputs.push(read(corpus_dir().join(name)));
    }
    let petstore = read(specs_dir().join("petstore.yaml"));
    // The same spec as JSON, to mutate the JSON reader's input too.
    let model = load_file(&petstore.path).model.expect("petstore loads");
    inputs.push(Input {
        path: std::env::temp_dir().join("rampart-fuzz-petstore.json"),
        text: serde_json::to_string_pretty(&model.root.to_json()).unwrap(),
        tree: model.root.to_json(),
    });
    inputs.push(petstore);
    // A spec with refs to files next to it, loaded from where they are.
    inputs.push(read(fixtures_dir().join("refs/main.yaml")));
    inputs.push(read(fixtures_dir().join("refs/path-items.yaml")));
    inputs
}

/// Everything a caller does with a loaded spec: render each diagnostic both
/// ways and look at the model.
fn exercise(loaded: &Loaded) -> usize {
    let mut work = loaded.render().len();
    for d in loaded.diagnostics.iter() {
        work += d.render(&loaded.files).len();
        work += d.to_json(&loaded.files).to_string().len();
        if let Some(span) = d.span {
            work += loaded.files.location(span).line;
        }
    }
    if let Some(model) = &loaded.model {
        for op in &model.operations {
            work += op.policy.security.len() + op.parameters.len() + op.id.len();
        }
        work += model.base_path().len();
    }
    work
}

struct Failure {
    seed: u64,
    input: PathBuf,
    mutations: Vec<String>,
    panic: String,
    saved: PathBuf,
}

#[test]
fn mutated_specs_never_panic_the_loader() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let first_seed = env("RAMPART_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let cases = env("RAMPART_FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let inputs = inputs();
    // The same seed gives the same case; another seed another case.
    let case = |seed: u64| mutated(&mut Rng::new(seed), &inputs[seed as usize % inputs.len()]);
    assert_eq!(case(first_seed), case(first_seed));
    assert_ne!(case(first_seed), case(first_seed + 1));

    // Record panic messages instead of printing each one; restored below.
    let last_panic = Arc::new(Mutex::new(String::new()));
    let previous_hook = std::panic::take_hook();
    {
        let last_panic = Arc::clone(&last_panic);
        std::panic::set_hook(Box::new(move |info| {
            *last_panic.lock().unwrap() = info.to_string();
        }));
    }

    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    let mut failures: Vec<Failure> = Vec::new();
    let mut outcomes = [0usize; 3]; // clean, errors only in diagnostics, no model
    for case in 0..cases {
        let seed = first_seed.wrapping_add(case);
        let mut rng = Rng::new(seed);
        let input = &inputs[rng.below(inputs.len())];
        let (text, mutations) = mutated(&mut rng, input);
        let path = input.path.clone();
        let source = text.clone();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let loaded = load_str(path, source);
            exercise(&loaded);
            (loaded.has_errors(), loaded.model.is_some())
        }));
        match result {
            Ok((false, _)) => outcomes[0] += 1,
            Ok((true, true)) => outcomes[1] += 1,
            Ok((true, false)) => outcomes[2] += 1,
            Err(_) => {
                std::fs::create_dir_all(&out_dir).unwrap();
                let saved = out_dir.join(format!("seed-{seed}.txt"));
                std::fs::write(&saved, &text).unwrap();
                failures.push(Failure {
                    seed,
                    input: input.path.clone(),
                    mutations,
                    panic: last_panic.lock().unwrap().clone(),
                    saved,
                });
            }
        }
    }
    std::panic::set_hook(previous_hook);
    eprintln!(
        "{cases} mutated specs from seed {first_seed}: {} loaded clean, {} with errors and a model, {} refused",
        outcomes[0], outcomes[1], outcomes[2]
    );

    if let Some(first) = failures.first() {
        let text = std::fs::read_to_string(&first.saved).unwrap();
        let excerpt: String = text.chars().take(3000).collect();
        let mut report = format!(
            "{} of {cases} mutated specs panicked the loader:\n",
            failures.len()
        );
        for f in &failures {
            report.push_str(&format!(
                "  seed {} ({}; {}): {}\n    input saved to {}\n",
                f.seed,
                f.input.file_name().unwrap().to_string_lossy(),
                f.mutations.join(", "),
                f.panic,
                f.saved.display()
            ));
        }
        report.push_str(&format!(
            "replay the first with RAMPART_FUZZ_SEED={} RAMPART_FUZZ_CASES=1\nits input (first 3000 characters):\n{excerpt}",
            first.seed
        ));
        panic!("{report}");
    }
    // The mutator must actually break specs in every way the loader handles,
    // or this test proves little.
    assert!(outcomes.iter().all(|&n| n > 0), "outcomes {outcomes:?}");
}
