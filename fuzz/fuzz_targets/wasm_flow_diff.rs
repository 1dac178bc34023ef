//! One `kiln diff --generator wasm-flow` case per input: a module of Kiln's own generator
//! (locals written inside nested blocks, loops and ifs, every local folded into the
//! result) and its invocations, run on wasmi, Kiln's interpreter, x86_64 and AArch64,
//! which must agree on results, traps, memory and globals. Findings are saved under
//! `corpora/wasm/`. Logic: `kiln_harness::fuzz::wasm_flow_diff`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::wasm_flow_diff(data));
