//! wasm-smith modules of Kiln's feature set (Wasm 2.0 without SIMD) compile on x86_64 and
//! AArch64 with the regalloc checker, never an error or a panic.
//! Logic: `kiln_harness::fuzz::wasm_compile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::wasm_compile(data));
