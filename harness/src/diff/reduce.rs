//! Reducing findings: the predicate "the same engine still disagrees in the same class"
//! over the generic reducers of [`crate::reduce`], for `.kir` cases ([`reduce_kir_finding`])
//! and Wasm cases ([`reduce_wasm_finding`]).
//!
//! Invariant: a reduced case reproduces the original verdict's class on the original
//! verdict's engine under the original settings (the reducers only keep candidates the
//! predicate accepts).

use super::classify::{Class, Verdict};
use super::wasm::{check_wasm_case, WasmCase, WasmCaseResult, WasmDiffOptions};
use super::EngineResult;
use super::{check_file_call, DiffOptions};
use crate::engine::EngineSettings;
use crate::filetest::{Expectation, ExpectedValue, TestFile};
use crate::outcome::Outcome;
use crate::reduce::kir::KirReduction;
use crate::reduce::wasm::WasmReduction;
use crate::value::DataValue;
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
    let mut r = crate::reduce::kir::reduce(file, &mut same, deadline);
    refresh_expectations(&mut r.file, opts);
    r
}

/// Rewrite every run directive's expectation to the interpreter's outcome on the (reduced)
/// file, so the saved file states what the reference does (reduction changes what the
/// functions compute). Runs whose interpreter outcome is neither a return nor a trap keep
/// their expectation.
fn refresh_expectations(file: &mut TestFile, opts: &DiffOptions) {
    let settings = file.engine_settings.clone().unwrap_or_default();
    for i in 0..file.runs.len() {
        let r = &file.runs[i];
        let args: Vec<_> = r.args.iter().map(|a| a.resolve()).collect();
        let result = check_file_call(file, r.func_index, &args, &settings, opts);
        let expect = match result.reference() {
            EngineResult::Ran(Outcome::Returned(vals)) => Expectation::Returns(
                vals.iter()
                    .map(|v| ExpectedValue {
                        value: *v,
                        any_nan_lanes: nan_lanes(v),
                    })
                    .collect(),
            ),
            EngineResult::Ran(Outcome::Trapped(code)) => Expectation::Traps(*code),
            _ => continue,
        };
        file.runs[i].expect = expect;
    }
}

/// The lanes of `v` (lane 0 for a scalar) that hold a NaN, as a bit mask.
fn nan_lanes(v: &DataValue) -> u16 {
    let ty = v.ty();
    if ty.is_vector() && ty.lane_type().is_float() {
        (0..ty.lane_count())
            .filter(|&i| v.lane(i).is_some_and(|l| l.is_nan()))
            .fold(0, |m, i| m | (1 << i))
    } else {
        u16::from(v.is_nan())
    }
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
    // Only the finding's engine (and wasmi) run while reducing.
    let only = WasmDiffOptions {
        only: found.engine,
        ..*opts
    };
    let mut same = |c: &WasmCase| {
        let v = check_wasm_case(c, settings, &only, cache_check).verdict;
        v.class == found.class && v.engine == found.engine && v.class != Class::Agree
    };
    let seed = case.wasm.len() as u64;
    let reduction = crate::reduce::wasm::reduce(case, &mut same, seed, deadline);
    let result = check_wasm_case(&reduction.case, settings, opts, cache_check);
    (reduction, result)
}
