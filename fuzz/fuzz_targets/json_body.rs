//! cargo-fuzz target `json_body`: see `rampart_fuzz::json_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::json_body(data));
