//! A short, bounded, deterministic run of every fuzz target on the stable
//! toolchain: the seed corpus in `fuzz/corpus/<target>/`, then mutations of
//! it (byte flips, insertions, deletions, splices of grammar tokens) from a
//! fixed-seed generator. A panic in a target fails the test and prints the
//! input. `RAMPART_FUZZ_ITERATIONS` scales the run (default below).

use std::path::PathBuf;

/// A small xorshift generator: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

fn mutate(rng: &mut Rng, input: &[u8], tokens: &[&[u8]]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(out.len() + 1);
                out.insert(i, rng.next() as u8);
            }
            2 if !out.is_empty() => {
                let i = rng.below(out.len());
                let n = rng.below(16).min(out.len() - i);
                out.drain(i..i + n);
            }
            3 => {
                let i = rng.below(out.len() + 1);
                let token = tokens[rng.below(tokens.len())];
                out.splice(i..i, token.iter().copied());
            }
            _ if !out.is_empty() => {
                // Duplicate a slice (nesting, repetition).
                let i = rng.below(out.len());
                let n = rng.below(64).min(out.len() - i);
                let slice = out[i..i + n].to_vec();
                let j = rng.below(out.len() + 1);
                out.splice(j..j, slice);
            }
            _ => {}
        }
    }
    out
}

fn iterations(default: usize) -> usize {
    std::env::var("RAMPART_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(target: &str, default_iterations: usize, tokens: &[&[u8]], body: fn(&[u8])) {
    let seeds = corpus(target);
    let mut rng = Rng(0x5eed_0000_0000_0001 ^ target.len() as u64);
    for seed in &seeds {
        body(seed);
    }
    for _ in 0..iterations(default_iterations) {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed, tokens);
        let caught = std::panic::catch_unwind(|| body(&input));
        if caught.is_err() {
            panic!(
                "{target} panicked on input {:?} (save it under fuzz/corpus/{target}/ to keep it)",
                String::from_utf8_lossy(&input)
            );
        }
    }
}

#[test]
fn spec_loader_never_panics() {
    let tokens: &[&[u8]] = &[
        b"$ref: '#/components/schemas/Pet'",
        b"x-rampart:",
        b"\n  ",
        b"- ",
        b": ",
        b"{",
        b"}",
        b"[",
        b"]",
        b"'",
        b"\"",
        b"rate: 5/min",
        b"roles: [admin]",
        b"&a",
        b"*a",
        b"!!binary",
        b"~",
        b"\t",
        b"public: true",
        b"sunset: 2020-01-01",
        b"type: object",
        b"required: [x]",
        b"allOf:",
    ];
    run("spec_loader", 2_000, tokens, rampart_fuzz::spec_loader);
}

#[test]
fn grammar_never_panics_and_rates_round_trip() {
    let tokens: &[&[u8]] = &[
        b"/",
        b"min",
        b"h",
        b"d",
        b"s",
        b"15",
        b"0",
        b"18446744073709551615",
        b"KiB",
        b"MiB",
        b"GB",
        b"-",
        b"T",
        b"Z",
        b"+",
        b":",
        b".",
        b" ",
        b"\xd9\xa0",
        b"e9",
    ];
    run("grammar", 20_000, tokens, rampart_fuzz::grammar);
}

#[test]
fn json_bodies_are_values_or_problems() {
    let tokens: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\"name\"",
        b"\"species\"",
        b"null",
        b"true",
        b"1e309",
        b"-0",
        b"\"\\u0000\"",
        b"\"\\ud800\"",
        b"[[[[[[[[",
        b"9999999999999999999999",
        b"\"age\":",
        b"\"tags\":[",
        b"\"weightKg\":",
    ];
    run("json_body", 5_000, tokens, rampart_fuzz::json_body);
}
