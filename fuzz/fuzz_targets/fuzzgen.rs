//! Random IR cases run on the interpreter, x86_64 and AArch64 under a random compiler
//! variation; any disagreement is saved as a materialized `.kir` case (in
//! `$KILN_CORPUS_DIR`, default `corpora/fuzzgen/`) and reported with its replay command.
//! Logic: `kiln_harness::fuzz::fuzzgen`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::fuzzgen(data));
