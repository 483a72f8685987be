//! rampart-codegen's tests, in one test binary (every test binary links the
//! whole dependency tree). `corpus_compile` is `#[ignore]`d (slow):
//! `scripts/test.sh` runs it with `--include-ignored`; alone,
//! `cargo test -p rampart-codegen --test it -- --ignored corpus_compile::`.

mod builder;
mod corpus_compile;
mod mock;
mod snapshots;
mod unenforced;
