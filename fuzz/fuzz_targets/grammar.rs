//! cargo-fuzz target `grammar`: see `rampart_fuzz::grammar`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::grammar(data));
