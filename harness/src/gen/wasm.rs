//! wasm-smith configurations for Kiln's feature set.
//!
//! [`config`] draws a "swarm" configuration from the input (wasm-smith's own arbitrary
//! `Config`: per-case limits, instruction kinds, nesting depth, floats on or off …) and then
//! pins the proposals to what Kiln compiles: Wasm 2.0 — sign extension, non-trapping
//! float-to-int, multi-value, bulk memory, reference types and fixed-width SIMD always on;
//! every later proposal off; at most one memory; at least one type and one function (without
//! `min_types` about half of wasm-smith's modules would contain no function at all).
//!
//! [`diff_case`] makes a case for the Wasm differential loop: a module that exports
//! everything (so every function can be invoked and every global and the memory can be
//! compared), imports nothing, keeps memories and tables within [`MEMORY_PAGES_CAP`] and
//! [`TABLE_ELEMENTS_CAP`], canonicalizes NaNs after every float operation (so results
//! compare bit for bit), and ends: wasm-smith's `ensure_termination` counts loop
//! iterations and calls down from [`TERMINATION_FUEL`] in a global and traps
//! (`unreachable`) at zero, identically on every engine — plus a list of export
//! invocations with edge-biased arguments.
//!
//! Invariant: every module [`module`] and [`diff_case`] return is valid under
//! [`kiln::wasm::info::features`]; every invocation names an exported function and its
//! arguments have that function's parameter types (references in the harness's encoding:
//! `0` null, externref `N` as `N + 1`; funcref arguments are always null).

use crate::value::DataValue;
use arbitrary::{Arbitrary, Unstructured};
use kiln::wasm::info::EntityIndex;
use kiln::wasm::WasmType;

/// Largest memory (64 KiB pages) a differential module may declare or grow to: every
/// engine of the loop is given this cap (growth beyond it returns -1 everywhere).
pub const MEMORY_PAGES_CAP: u32 = 2;
/// Largest table (elements) a differential module may declare or grow to.
pub const TABLE_ELEMENTS_CAP: u32 = 1_000;
/// Loop iterations plus calls one instance may make before it traps (shared by all its
/// invocations, since the counter is a global).
pub const TERMINATION_FUEL: u32 = 1_000;
/// The export name under which [`diff_case`] exports the termination counter: the
/// differential check resets it to [`TERMINATION_FUEL`] before every invocation on every
/// engine, so a call that spent the budget (deep recursion, long loops) does not make every
/// later call trap at once.
pub const FUEL_EXPORT: &str = "kiln:fuel";
/// Most invocations per case.
pub const MAX_INVOCATIONS: usize = 12;

/// One call of an exported function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The export's name.
    pub export: String,
    /// The arguments (see the module docs for references).
    pub args: Vec<DataValue>,
}

/// A swarm configuration restricted to Kiln's feature set.
pub fn config(u: &mut Unstructured<'_>) -> arbitrary::Result<wasm_smith::Config> {
    let mut c = wasm_smith::Config::arbitrary(u)?;
    c.sign_extension_ops_enabled = true;
    c.saturating_float_to_int_enabled = true;
    c.multi_value_enabled = true;
    c.bulk_memory_enabled = true;
    c.reference_types_enabled = true;
    c.simd_enabled = true;
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

/// Validate all of `wasm` (module structure and every function body) under Kiln's feature
/// set ([`kiln::wasm::info::features`]).
pub fn validate(wasm: &[u8]) -> Result<(), String> {
    wasmparser::Validator::new_with_features(kiln::wasm::info::features())
        .validate_all(wasm)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A Wasm differential case: a module and the invocations to make, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmCase {
    /// The module.
    pub wasm: Vec<u8>,
    /// The invocations, in order.
    pub calls: Vec<Invocation>,
}

/// The configuration of a differential case: a swarm [`config`] that exports everything,
/// imports nothing and respects the caps.
pub fn diff_config(u: &mut Unstructured<'_>) -> arbitrary::Result<wasm_smith::Config> {
    let mut c = config(u)?;
    c.export_everything = true;
    // Arithmetic NaNs have nondeterministic payloads; canonicalized, every result, memory
    // byte and global compares bit for bit.
    c.canonicalize_nans = true;
    c.max_imports = 0;
    c.min_imports = 0;
    c.max_memory32_bytes = c
        .max_memory32_bytes
        .min(u64::from(MEMORY_PAGES_CAP) * 65536);
    c.max_table_elements = c.max_table_elements.min(u64::from(TABLE_ELEMENTS_CAP));
    c.min_exports = 0;
    // wasm-smith's trap guards (division, conversions, memory and table accesses,
    // `unreachable`) in seven cases of eight: most modules then run their exports to
    // completion, and the rest still test every trap.
    c.disallow_traps = c.disallow_traps || u.ratio(3, 4)?;
    Ok(c)
}

/// A differential case (see the module docs).
pub fn diff_case(u: &mut Unstructured<'_>) -> arbitrary::Result<WasmCase> {
    let c = diff_config(u)?;
    let mut m = wasm_smith::Module::new(c, u)?;
    let fuel = m
        .ensure_termination(TERMINATION_FUEL)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let wasm = add_global_export(&m.to_bytes(), FUEL_EXPORT, fuel)
        .ok_or(arbitrary::Error::IncorrectFormat)?;
    let calls = invocations(u, &wasm)?;
    Ok(WasmCase { wasm, calls })
}

/// Up to [`MAX_INVOCATIONS`] calls of `wasm`'s exported functions (each exported function
/// at least once while the budget lasts, then random ones), with edge-biased arguments.
pub fn invocations(u: &mut Unstructured<'_>, wasm: &[u8]) -> arbitrary::Result<Vec<Invocation>> {
    let (info, _) =
        kiln::wasm::info::parse_module(wasm).map_err(|_| arbitrary::Error::IncorrectFormat)?;
    let funcs: Vec<(&str, u32)> = info
        .exports
        .iter()
        .filter_map(|e| match e.index {
            EntityIndex::Func(f) => Some((e.name.as_str(), f)),
            _ => None,
        })
        .collect();
    let mut calls = Vec::new();
    if funcs.is_empty() {
        return Ok(calls);
    }
    let extra = u.int_in_range(0..=MAX_INVOCATIONS / 2)?;
    let count = (funcs.len() + extra).min(MAX_INVOCATIONS);
    for i in 0..count {
        let (name, f) = if i < funcs.len() {
            funcs[i]
        } else {
            *u.choose(&funcs)?
        };
        let Some(ty) = info.func_type(f) else {
            continue;
        };
        let args = ty
            .params
            .iter()
            .map(|&t| argument(u, t))
            .collect::<arbitrary::Result<Vec<_>>>()?;
        calls.push(Invocation {
            export: name.to_string(),
            args,
        });
    }
    Ok(calls)
}

/// One argument of type `t`.
fn argument(u: &mut Unstructured<'_>, t: WasmType) -> arbitrary::Result<DataValue> {
    Ok(match t {
        WasmType::FuncRef => DataValue::I64(0),
        WasmType::ExternRef => DataValue::I64(i64::from(u.int_in_range(0..=3u8)?)),
        _ => super::values::data_value(u, t.ir_type()),
    })
}

/// `wasm` with one more export: global `index` as `name` (the export section is extended,
/// or inserted at its place in the section order). `None` for a malformed module.
pub fn add_global_export(wasm: &[u8], name: &str, index: u32) -> Option<Vec<u8>> {
    const EXPORT: u8 = 7;
    // Sections that come after the export section (start, element, data count, code, data).
    const AFTER_EXPORT: [u8; 5] = [8, 9, 12, 10, 11];
    let mut entry = Vec::new();
    leb128_u32(&mut entry, name.len() as u32);
    entry.extend_from_slice(name.as_bytes());
    entry.push(0x03); // global
    leb128_u32(&mut entry, index);
    let mut out = wasm.get(..8)?.to_vec();
    let mut pos = 8;
    let mut done = false;
    while pos < wasm.len() {
        let id = wasm[pos];
        let (size, n) = read_leb128_u32(wasm.get(pos + 1..)?)?;
        let body = wasm.get(pos + 1 + n..pos + 1 + n + size as usize)?;
        if !done && (id == EXPORT || AFTER_EXPORT.contains(&id)) {
            let mut content = Vec::new();
            if id == EXPORT {
                let (count, m) = read_leb128_u32(body)?;
                leb128_u32(&mut content, count.checked_add(1)?);
                content.extend_from_slice(&body[m..]);
            } else {
                leb128_u32(&mut content, 1);
            }
            content.extend_from_slice(&entry);
            out.push(EXPORT);
            leb128_u32(&mut out, content.len() as u32);
            out.extend_from_slice(&content);
            done = true;
            if id == EXPORT {
                pos += 1 + n + size as usize;
                continue;
            }
        }
        out.extend_from_slice(&wasm[pos..pos + 1 + n + size as usize]);
        pos += 1 + n + size as usize;
    }
    if !done {
        let mut content = Vec::new();
        leb128_u32(&mut content, 1);
        content.extend_from_slice(&entry);
        out.push(EXPORT);
        leb128_u32(&mut out, content.len() as u32);
        out.extend_from_slice(&content);
    }
    Some(out)
}

fn leb128_u32(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A LEB128 `u32` and its length in bytes.
fn read_leb128_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut v = 0u32;
    for (i, &b) in bytes.iter().take(5).enumerate() {
        v |= u32::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A case from WAT text and `(export, arguments)` calls (shared by the tests of the
    /// differential check and of the reducer).
    pub(crate) fn case(wat: &str, calls: &[(&str, Vec<DataValue>)]) -> WasmCase {
        WasmCase {
            wasm: wat::parse_str(wat).unwrap(),
            calls: calls
                .iter()
                .map(|(e, a)| Invocation {
                    export: e.to_string(),
                    args: a.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn an_added_global_export_validates_and_names_the_global() {
        for wat in [
            "(module (global (mut i32) (i32.const 5)) (func (export \"f\")))",
            "(module (global (mut i32) (i32.const 5)) (func) (start 0))",
            "(module (global (mut i32) (i32.const 5)))",
        ] {
            let w = add_global_export(&wat::parse_str(wat).unwrap(), FUEL_EXPORT, 0).unwrap();
            let (info, _) = kiln::wasm::info::parse_module(&w).unwrap();
            assert!(
                info.exports
                    .iter()
                    .any(|e| e.name == FUEL_EXPORT && e.index == EntityIndex::Global(0)),
                "{wat}"
            );
        }
        assert_eq!(add_global_export(b"\0asm\x01\0\0\0\x07\x05", "x", 0), None);
    }

    #[test]
    fn generated_cases_are_valid_and_their_invocations_fit() {
        let mut state = 11u64;
        for _ in 0..40 {
            let bytes: Vec<u8> = (0..600)
                .flat_map(|_| crate::hashing::splitmix64(&mut state).to_le_bytes())
                .collect();
            let Ok(case) = diff_case(&mut Unstructured::new(&bytes)) else {
                continue;
            };
            let (info, _) = kiln::wasm::info::parse_module(&case.wasm).expect("valid");
            for c in &case.calls {
                let f = info
                    .exports
                    .iter()
                    .find_map(|e| match e.index {
                        EntityIndex::Func(f) if e.name == c.export => Some(f),
                        _ => None,
                    })
                    .expect("an exported function");
                let ty = info.func_type(f).unwrap();
                assert_eq!(ty.params.len(), c.args.len());
            }
        }
    }

    #[test]
    fn generated_cases_use_simd() {
        let mut state = 12u64;
        let (mut cases, mut with_v128) = (0, 0);
        for _ in 0..60 {
            let bytes: Vec<u8> = (0..600)
                .flat_map(|_| crate::hashing::splitmix64(&mut state).to_le_bytes())
                .collect();
            let Ok(case) = diff_case(&mut Unstructured::new(&bytes)) else {
                continue;
            };
            cases += 1;
            let (_, funcs) = kiln::module::translate_module(&case.wasm, Some(1)).expect("valid");
            if funcs.iter().any(|f| f.first_vector_type().is_some()) {
                with_v128 += 1;
            }
        }
        eprintln!("{with_v128} of {cases} cases use v128");
        assert!(
            cases >= 30 && with_v128 * 5 >= cases,
            "{with_v128} of {cases}"
        );
    }
}
