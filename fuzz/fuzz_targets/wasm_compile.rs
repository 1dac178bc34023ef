//! wasm-smith modules of Kiln's feature set (Wasm 2.0, SIMD included) compile on x86_64 and
//! AArch64 with the regalloc checker, never an error or a panic (except `SimdDisabled` on
//! an x86_64 CPU without SSSE3/SSE4.1).
//! Logic: `kiln_harness::fuzz::wasm_compile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::wasm_compile(data));
