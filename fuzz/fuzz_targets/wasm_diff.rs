//! One `kiln diff --generator wasm` case per input: a wasm-smith module and its
//! invocations, run on wasmi, Kiln's interpreter, x86_64 and AArch64, which must agree on
//! results, traps, memory and globals. Findings are saved under `corpora/wasm/`.
//! Logic: `kiln_harness::fuzz::wasm_diff`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::wasm_diff(data));
