//! Reducing findings: the predicate "the same engine still disagrees in the same class"
//! over the generic reducers of [`crate::reduce`], for `.kir` cases ([`reduce_kir_finding`])
//! and Wasm cases ([`reduce_wasm_finding`]).
//!
//! Invariant: a reduced case reproduces the original verdict's class on the original
//! verdict's engine under the original settings (the reducers only keep candidates the
//! predicate accepts).

use super::classify::{Class, Verdict};
use super::wasm::{check_wasm_case, WasmCase, WasmCaseResult, WasmDiffOptions};
use super::{check_file_call, DiffOptions};
use crate::engine::EngineSettings;
use crate::filetest::TestFile;
use crate::reduce::kir::KirReduction;
use crate::reduce::wasm::WasmReduction;
use std::time::Instant;

/// The most severe disagreement over the run directives of `file` (`None`: every call
/// agrees or times out).
pub fn kir_verdict(file: &TestFile, opts: &DiffOptions) -> Option<Verdict> {
    let settings = file.engine_settings.clone().unwrap_or_default();
    file.runs
        .iter()
        .map(|r| {
            let args: Vec<_> = r.args.iter().map(|a| a.resolve()).collect();
            check_file_call(file, r.func_index, &args, &settings, opts).verdict
        })
        .filter(|v| v.class.is_failure())
        .max_by_key(|v| v.class.severity())
}

/// Reduce a failing `.kir` case while some run directive still gets `found`'s class on
/// `found`'s engine.
pub fn reduce_kir_finding(
    file: &TestFile,
    found: &Verdict,
    opts: &DiffOptions,
    deadline: Option<Instant>,
) -> KirReduction {
    let mut same = |candidate: &TestFile| {
        let settings = candidate.engine_settings.clone().unwrap_or_default();
        candidate.runs.iter().any(|r| {
            let args: Vec<_> = r.args.iter().map(|a| a.resolve()).collect();
            let v = check_file_call(candidate, r.func_index, &args, &settings, opts).verdict;
            v.class == found.class && v.engine == found.engine
        })
    };
    crate::reduce::kir::reduce(file, &mut same, deadline)
}

/// Reduce a Wasm finding while the same engine still disagrees with wasmi in the same
/// class, under the same settings. Returns the reduction and the reduced case's result.
pub fn reduce_wasm_finding(
    case: &WasmCase,
    settings: &EngineSettings,
    cache_check: bool,
    found: &Verdict,
    opts: &WasmDiffOptions,
    deadline: Option<Instant>,
) -> (WasmReduction, WasmCaseResult) {
    let mut same = |c: &WasmCase| {
        let v = check_wasm_case(c, settings, opts, cache_check).verdict;
        v.class == found.class && v.engine == found.engine && v.class != Class::Agree
    };
    let seed = case.wasm.len() as u64;
    let reduction = crate::reduce::wasm::reduce(case, &mut same, seed, deadline);
    let result = check_wasm_case(&reduction.case, settings, opts, cache_check);
    (reduction, result)
}
