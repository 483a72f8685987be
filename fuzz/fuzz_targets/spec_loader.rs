//! cargo-fuzz target `spec_loader`: see `rampart_fuzz::spec_loader`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_fuzz::spec_loader(data));
