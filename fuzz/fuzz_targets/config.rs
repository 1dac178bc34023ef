//! Arbitrary sequences of `kiln::Config` calls: any reordering of independent calls and any
//! duplication builds the same compiler (same error, or equal settings fingerprints and
//! byte-identical machine code for a fixed set of filetests). Logic:
//! `kiln_harness::fuzz::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::config(data));
