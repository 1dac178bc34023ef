//! wasm-smith configurations for Kiln's feature set.
//!
//! [`config`] draws a "swarm" configuration from the input (wasm-smith's own arbitrary
//! `Config`: per-case limits, instruction kinds, nesting depth, floats on or off …) and then
//! pins the proposals to what Kiln compiles: Wasm 2.0 without SIMD — sign extension,
//! non-trapping float-to-int, multi-value, bulk memory and reference types always on;
//! every later proposal off; at most one memory; at least one type and one function (without
//! `min_types` about half of wasm-smith's modules would contain no function at all).
//!
//! Invariant: every module [`module`] returns is valid under
//! [`kiln::wasm::info::features`].

use arbitrary::{Arbitrary, Unstructured};

/// A swarm configuration restricted to Kiln's feature set.
pub fn config(u: &mut Unstructured<'_>) -> arbitrary::Result<wasm_smith::Config> {
    let mut c = wasm_smith::Config::arbitrary(u)?;
    c.sign_extension_ops_enabled = true;
    c.saturating_float_to_int_enabled = true;
    c.multi_value_enabled = true;
    c.bulk_memory_enabled = true;
    c.reference_types_enabled = true;
    c.simd_enabled = false;
    c.relaxed_simd_enabled = false;
    c.exceptions_enabled = false;
    c.threads_enabled = false;
    c.tail_call_enabled = false;
    c.gc_enabled = false;
    c.memory64_enabled = false;
    c.extended_const_enabled = false;
    c.custom_page_sizes_enabled = false;
    c.wide_arithmetic_enabled = false;
    c.compact_imports_enabled = false;
    c.max_memories = c.max_memories.min(1);
    c.min_types = c.min_types.max(1);
    c.min_funcs = c.min_funcs.max(1);
    c.max_funcs = c.max_funcs.max(1);
    c.max_types = c.max_types.max(1);
    Ok(c)
}

/// A module of Kiln's feature set from the input bytes.
pub fn module(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let c = config(u)?;
    Ok(wasm_smith::Module::new(c, u)?.to_bytes())
}
