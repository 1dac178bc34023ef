//! Arbitrary text never panics the `.kir` parser or the verifier, and whatever parses and
//! verifies round-trips through the printer. Logic: `kiln_harness::fuzz::kir_parse`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::kir_parse(data));
