//! The Wasm differential check: one module, a list of export invocations, run on wasmi (the
//! reference, an engine Kiln's authors did not write) and on Kiln's three engines — the
//! interpreter running the translated IR, x86_64 and AArch64 under emulation — each a
//! fresh instance per case, compiled under the case's [`Variation`].
//!
//! Steps: instantiation (including data/element segments and the start function), then
//! every invocation in order; before each invocation every engine resets the module's
//! termination counter (the global exported as [`FUEL_EXPORT`], when there is one) to
//! [`TERMINATION_FUEL`]. After each step every engine's outcome is compared with
//! wasmi's ([`classify_against`]: results bit-exact — generated modules canonicalize NaNs —
//! and traps by [`kiln::ir::TrapCode`]), then **the state**: the exported memory's bytes
//!  and every
//! exported global (generated modules export everything).
//!
//! Invariants:
//! - the first step that disagrees ends the case and names the class, the engine and the
//!   step; later steps are not run (their state already diverged);
//! - on a call wasmi finished (returned, or trapped other than by exhausting its stack),
//!   each Kiln engine gets fuel in proportion to what wasmi used ([`RunawayBudget`]):
//!   running out of that is a [`Class::Runaway`], a failure — Kiln's code loops where the
//!   module does not. Otherwise running out of fuel and stack exhaustion anywhere are
//!   [`Inconclusive`]: the case ends as [`Class::Timeout`], never a pass or a failure;
//! - references compare by nullness (funcref) or by value (externref), as
//!   [`crate::instance::oracle`] encodes them; a step whose export is missing or whose
//!   arguments no longer fit (after reduction) is skipped on every engine;
//! - with `cache_check`, the module is also compiled through a fresh in-memory cache store
//!   twice for one architecture: the second pass must hit for every function and both
//!   images must equal the uncached compile byte for byte (else [`Class::CompileError`]);
//! - panics anywhere are caught and become [`Class::Panic`].

use super::classify::{classify_against, Class, EngineResult, Verdict};
use super::{panic_message, CATCHING};
use crate::engine::{EngineKind, EngineSettings, PrepareError};
use crate::gen::wasm::{
    Invocation, FUEL_EXPORT, MEMORY_PAGES_CAP, TABLE_ELEMENTS_CAP, TERMINATION_FUEL,
};
use crate::hashing::fnv1a_of;
use crate::instance::{Instance, InstanceError, Limits, WasmiInstance};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::TrapCode;
use kiln::wasm::info::{EntityIndex, ModuleInfo};
use kiln::wasm::WasmType;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

pub use crate::gen::wasm::WasmCase;

/// Budgets of one Wasm case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WasmDiffOptions {
    /// Wasmi fuel per step.
    pub wasmi_fuel: u64,
    /// Kiln interpreter fuel (IR instructions) per step.
    pub interp_fuel: u64,
    /// Emulator fuel (machine instructions) per step.
    pub compiled_fuel: u64,
    /// The interpreter's fuel on a call wasmi finished, below `interp_fuel`.
    pub interp_runaway: RunawayBudget,
    /// Compiled code's fuel on a call wasmi finished, below `compiled_fuel`.
    pub compiled_runaway: RunawayBudget,
    /// Run wasmi and only this one of Kiln's engines (`None`: all three). Reduction uses
    /// it: its predicate asks about one engine, so the others' time would be wasted.
    pub only: Option<EngineKind>,
    /// Growth caps of every engine.
    pub limits: Limits,
}

impl Default for WasmDiffOptions {
    fn default() -> Self {
        WasmDiffOptions {
            wasmi_fuel: 10_000_000,
            interp_fuel: 20_000_000,
            compiled_fuel: 100_000_000,
            interp_runaway: RunawayBudget::INTERP,
            compiled_runaway: RunawayBudget::COMPILED,
            only: None,
            limits: Limits {
                memory_pages: MEMORY_PAGES_CAP,
                table_elements: TABLE_ELEMENTS_CAP,
            },
        }
    }
}

impl WasmDiffOptions {
    /// The budgets of one of Kiln's engines: its full budget (`interp_fuel` or
    /// `compiled_fuel`) and its runaway budget (`interp_runaway` or `compiled_runaway`).
    fn budgets(&self, kind: EngineKind) -> (u64, RunawayBudget) {
        match kind {
            EngineKind::Interp => (self.interp_fuel, self.interp_runaway),
            _ => (self.compiled_fuel, self.compiled_runaway),
        }
    }

    /// The full budget of one of Kiln's engines.
    fn fuel_cap(&self, kind: EngineKind) -> u64 {
        self.budgets(kind).0
    }
}

/// The fuel a Kiln engine gets for a call wasmi finished having used `used` fuel (about
/// as many Wasm instructions): `factor × used + slack` in the engine's own units, capped
/// by its [`WasmDiffOptions`] budget. A Wasm instruction takes the interpreter one or two
/// IR instructions and compiled code a few machine instructions (a libcall's host work
/// is not counted), so these margins are wide; an engine that still runs out loops
/// where the module does not. Bounding the runaway this way also keeps such a case
/// quick to check, and so to reduce.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RunawayBudget {
    /// Engine fuel per unit of wasmi fuel.
    pub factor: u64,
    /// Engine fuel on top.
    pub slack: u64,
}

impl RunawayBudget {
    /// For Kiln's interpreter (IR instructions).
    pub const INTERP: RunawayBudget = RunawayBudget {
        factor: 50,
        slack: 200_000,
    };
    /// For compiled code under emulation (machine instructions).
    pub const COMPILED: RunawayBudget = RunawayBudget {
        factor: 200,
        slack: 2_000_000,
    };

    /// The budget of `kind` after wasmi used `used`, or `None` when the cap is smaller
    /// (the call then runs on the cap, and running out of it stays inconclusive).
    fn fuel(kind: EngineKind, used: u64, opts: &WasmDiffOptions) -> Option<u64> {
        let (cap, b) = opts.budgets(kind);
        let fuel = used.saturating_mul(b.factor).saturating_add(b.slack);
        (fuel < cap).then_some(fuel)
    }
}

/// Why a case ended without a verdict.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Inconclusive {
    /// An engine ran out of fuel.
    Fuel,
    /// An engine exhausted its stack (the engines' stack depths differ by design).
    Stack,
}

/// A step of a case.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Instantiation (segments and the start function).
    Instantiate,
    /// Invocation `i` of [`WasmCase::calls`].
    Call(usize),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Instantiate => f.write_str("instantiation"),
            Step::Call(i) => write!(f, "call {i}"),
        }
    }
}

/// The result of one Wasm case.
#[derive(Clone, Debug)]
pub struct WasmCaseResult {
    /// The classification (of the first step that did not agree).
    pub verdict: Verdict,
    /// The step that decided the verdict (`None` when every step agreed).
    pub step: Option<Step>,
    /// Every engine's log: one line per step it ran (`wasmi` first).
    pub log: Vec<(String, Vec<String>)>,
    /// Did the reference instantiate the module?
    pub instantiated: bool,
    /// Invocations the reference ran to a normal return.
    pub completed_calls: usize,
    /// Trap codes of the reference's trapping steps (instantiation and calls), in order.
    pub reference_traps: Vec<TrapCode>,
    /// The engine that exhausted its stack or fuel first, when the case was inconclusive.
    pub exhausted_on: Option<String>,
    /// Invocations skipped (export missing or arguments do not fit).
    pub skipped_calls: usize,
    /// Wasmi fuel consumed: roughly the Wasm instructions executed.
    pub executed: u64,
    /// Why the case was inconclusive, if it was.
    pub inconclusive: Option<Inconclusive>,
    /// Where the time went.
    pub time: PhaseTimes,
}

/// Wall time of a Wasm case's phases, per engine (`wasmi`, interp, x86_64, AArch64).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhaseTimes {
    /// Validation, compilation (Kiln: translation, and code generation for the emulated
    /// engines) and instantiation.
    pub instantiate: [Duration; 4],
    /// Running the invocations (and comparing state after each).
    pub run: [Duration; 4],
    /// The cache check (the campaign runs it on one case in 16, `WASM_CACHE_CHECK_EVERY`).
    pub cache_check: Duration,
}

impl PhaseTimes {
    /// Add `o` to these times.
    pub fn add(&mut self, o: &PhaseTimes) {
        for i in 0..4 {
            self.instantiate[i] += o.instantiate[i];
            self.run[i] += o.run[i];
        }
        self.cache_check += o.cache_check;
    }
}

/// Kiln's engines, in report order after wasmi.
const KILN_ENGINES: [EngineKind; 3] = [EngineKind::Interp, EngineKind::X86_64, EngineKind::Aarch64];

/// A reference to a value's type, for normalizing results: funcrefs compare by nullness.
fn normalize(v: &DataValue, ty: WasmType) -> DataValue {
    match (ty, v) {
        (WasmType::FuncRef, DataValue::I64(x)) => DataValue::I64(i64::from(*x != 0)),
        _ => *v,
    }
}

fn normalize_outcome(o: Outcome, types: &[WasmType]) -> Outcome {
    match o {
        Outcome::Returned(vals) if vals.len() == types.len() => Outcome::Returned(
            vals.iter()
                .zip(types)
                .map(|(v, &t)| normalize(v, t))
                .collect(),
        ),
        o => o,
    }
}

/// What the state comparison looks at, from the module's exports.
struct Observed {
    memory: Option<String>,
    globals: Vec<(String, WasmType)>,
}

impl Observed {
    fn of(info: &ModuleInfo) -> Observed {
        let mut memory = None;
        let mut globals = Vec::new();
        for e in &info.exports {
            match e.index {
                EntityIndex::Memory(_) if memory.is_none() => memory = Some(e.name.clone()),
                EntityIndex::Global(g) => {
                    if let Some(d) = info.globals.get(g as usize) {
                        globals.push((e.name.clone(), d.ty));
                    }
                }
                _ => {}
            }
        }
        Observed { memory, globals }
    }
}

/// The index of `kind` in [`PhaseTimes`]' arrays (0 is wasmi).
fn time_slot(kind: EngineKind) -> usize {
    1 + KILN_ENGINES.iter().position(|k| *k == kind).unwrap_or(0)
}

/// One running instance of any engine.
enum Running {
    Wasmi(Box<WasmiInstance>),
    Kiln(Box<Instance>),
}

impl Running {
    fn set_global(&mut self, name: &str, value: &DataValue) -> bool {
        match self {
            Running::Wasmi(i) => i.set_global(name, value),
            Running::Kiln(i) => i.set_global(name, value),
        }
    }

    /// Wasmi's fuel consumed so far (`None` for Kiln's engines).
    fn wasmi_fuel_consumed(&self) -> Option<u64> {
        match self {
            Running::Wasmi(w) => Some(w.fuel_consumed()),
            Running::Kiln(_) => None,
        }
    }

    fn invoke(&mut self, name: &str, args: &[DataValue]) -> Outcome {
        match self {
            Running::Wasmi(i) => i.invoke(name, args),
            Running::Kiln(i) => i.invoke(name, args),
        }
    }

    fn memory(&self, obs: &Observed) -> &[u8] {
        match (self, &obs.memory) {
            (Running::Wasmi(i), Some(name)) => i.memory(name),
            (Running::Kiln(i), Some(_)) => i.memory(),
            (_, None) => &[],
        }
    }

    fn globals(&self, obs: &Observed) -> Vec<Option<DataValue>> {
        obs.globals
            .iter()
            .map(|(name, ty)| {
                let v = match self {
                    Running::Wasmi(i) => i.global(name),
                    Running::Kiln(i) => i.global(name),
                };
                v.map(|v| normalize(&v, *ty))
            })
            .collect()
    }
}

/// An engine's instantiation: the instance or why not (`Err`: it panicked).
type Instantiated = Result<Result<Running, InstanceError>, String>;

/// An instantiation result as an engine result: success is "returned nothing".
fn instantiation_result(r: &Result<Running, InstanceError>) -> EngineResult {
    match r {
        Ok(_) => EngineResult::Ran(Outcome::Returned(Vec::new())),
        Err(InstanceError::Trap(o)) => EngineResult::Ran(o.clone()),
        Err(e) => EngineResult::PrepareFailed(PrepareError::Failed(e.to_string())),
    }
}

/// Does this result end the case inconclusively?
fn inconclusive_of(r: &EngineResult) -> Option<Inconclusive> {
    match r {
        EngineResult::Ran(Outcome::OutOfFuel) => Some(Inconclusive::Fuel),
        EngineResult::Ran(Outcome::Trapped(TrapCode::StackOverflow)) => Some(Inconclusive::Stack),
        _ => None,
    }
}

/// Run `f` catching panics (quietly, see [`super::install_quiet_panic_hook`]).
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    CATCHING.with(|c| c.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(false));
    r.map_err(|p| panic_message(p.as_ref()))
}

/// Check one Wasm case. See the module docs.
pub fn check_wasm_case(
    case: &WasmCase,
    settings: &EngineSettings,
    opts: &WasmDiffOptions,
    cache_check: bool,
) -> WasmCaseResult {
    let mut result = WasmCaseResult {
        verdict: Verdict {
            class: Class::Agree,
            engine: None,
            detail: "every engine agrees".into(),
        },
        step: None,
        log: Vec::with_capacity(4),
        instantiated: false,
        completed_calls: 0,
        reference_traps: Vec::new(),
        exhausted_on: None,
        skipped_calls: 0,
        executed: 0,
        inconclusive: None,
        time: PhaseTimes::default(),
    };
    let info = match crate::gen::wasm::validate(&case.wasm)
        .and_then(|()| kiln::wasm::info::parse_module(&case.wasm).map_err(|e| e.to_string()))
    {
        Ok((info, _)) => info,
        Err(e) => {
            result.verdict = Verdict {
                class: Class::CompileError,
                engine: None,
                detail: format!("the module does not validate: {e}"),
            };
            result.step = Some(Step::Instantiate);
            return result;
        }
    };
    let obs = Observed::of(&info);
    let has_fuel_export = obs.globals.iter().any(|(n, _)| n == FUEL_EXPORT);
    let exact_nans = true;

    // Instantiate everywhere.
    let t = Instant::now();
    let wasmi = caught(|| WasmiInstance::new(&case.wasm, opts.limits, opts.wasmi_fuel))
        .map(|r| r.map(|w| Running::Wasmi(Box::new(w))));
    result.time.instantiate[0] += t.elapsed();
    let mut engines: Vec<(String, Instantiated)> = vec![("wasmi".to_string(), wasmi)];
    let kinds: Vec<EngineKind> = KILN_ENGINES
        .into_iter()
        .filter(|k| opts.only.is_none_or(|o| o == *k))
        .collect();
    for &kind in &kinds {
        let t = Instant::now();
        let r = caught(|| {
            Instance::with_limits(&case.wasm, kind, settings, opts.limits).map(|mut i| {
                i.set_fuel(opts.fuel_cap(kind));
                Running::Kiln(Box::new(i))
            })
        });
        result.time.instantiate[time_slot(kind)] += t.elapsed();
        engines.push((kind.name().to_string(), r));
    }
    let results: Vec<EngineResult> = engines
        .iter()
        .map(|(_, r)| match r {
            Ok(r) => instantiation_result(r),
            Err(m) => EngineResult::Panicked(m.clone()),
        })
        .collect();
    for (i, (name, _)) in engines.iter().enumerate() {
        result
            .log
            .push((name.clone(), vec![format!("instantiate: {}", results[i])]));
    }
    // The start function runs with the engines' full budgets: no runaway judged here.
    let step = Step::Instantiate;
    let fuel = StepFuel::default();
    if let Some(v) = judge(&results, &kinds, exact_nans, &mut result, step, &fuel) {
        result.verdict = v;
        return result;
    }
    let mut running: Vec<Running> = Vec::with_capacity(4);
    for (_, r) in engines {
        match r {
            Ok(Ok(r)) => running.push(r),
            // Every engine agreed on a trap at instantiation: nothing more to run.
            _ => return finish(result, &running),
        }
    }
    result.instantiated = true;
    if let Some(v) = compare_state(&running, &kinds, &obs, &mut result, Step::Instantiate) {
        result.verdict = v;
        return finish(result, &running);
    }

    for (i, call) in case.calls.iter().enumerate() {
        let Some(types) = call_types(&info, call) else {
            result.skipped_calls += 1;
            continue;
        };
        let mut results: Vec<EngineResult> = Vec::with_capacity(4);
        let mut fuel = StepFuel::default();
        let reference_before = running[0].wasmi_fuel_consumed().unwrap_or(0);
        for (k, r) in running.iter_mut().enumerate() {
            if has_fuel_export {
                r.set_global(FUEL_EXPORT, &DataValue::I32(TERMINATION_FUEL as i32));
            }
            if let Running::Kiln(i) = r {
                // Wasmi ran first: a relative budget when it finished, else the cap.
                let kind = kinds[k - 1];
                let relative = fuel
                    .wasmi_used
                    .and_then(|used| RunawayBudget::fuel(kind, used, opts));
                fuel.relative[k - 1] = relative;
                i.set_fuel(relative.unwrap_or(opts.fuel_cap(kind)));
            }
            let t = Instant::now();
            let o = caught(|| r.invoke(&call.export, &call.args));
            result.time.run[if k == 0 { 0 } else { time_slot(kinds[k - 1]) }] += t.elapsed();
            let er = match o {
                Ok(o) => EngineResult::Ran(normalize_outcome(o, &types)),
                Err(m) => EngineResult::Panicked(m),
            };
            result.log[k].1.push(format!(
                "call {i} {}{}: {er}",
                call.export,
                args_text(&call.args)
            ));
            if k == 0 && finished(&er) {
                let after = r.wasmi_fuel_consumed().unwrap_or(0);
                fuel.wasmi_used = Some(after - reference_before);
            }
            results.push(er);
        }
        let panicked = results
            .iter()
            .any(|r| matches!(r, EngineResult::Panicked(_)));
        if let Some(v) = judge(
            &results,
            &kinds,
            exact_nans,
            &mut result,
            Step::Call(i),
            &fuel,
        ) {
            result.verdict = v;
            return finish(result, &running);
        }
        if panicked {
            break;
        }
        if matches!(results[0], EngineResult::Ran(Outcome::Returned(_))) {
            result.completed_calls += 1;
        }
        if let Some(v) = compare_state(&running, &kinds, &obs, &mut result, Step::Call(i)) {
            result.verdict = v;
            return finish(result, &running);
        }
    }
    if cache_check {
        let t = Instant::now();
        let v = check_cached_compile(case, settings);
        result.time.cache_check += t.elapsed();
        if let Some(v) = v {
            result.verdict = v;
        }
    }
    finish(result, &running)
}

/// Record wasmi's consumed fuel and return the result.
fn finish(mut result: WasmCaseResult, running: &[Running]) -> WasmCaseResult {
    if let Some(executed) = running.first().and_then(Running::wasmi_fuel_consumed) {
        result.executed = executed;
    }
    result
}

/// `(a, b)` for a call's arguments.
fn args_text(args: &[DataValue]) -> String {
    let parts: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    format!("({})", parts.join(", "))
}

/// The result types of the function `call` names, when it exists and the arguments fit.
fn call_types(info: &ModuleInfo, call: &Invocation) -> Option<Vec<WasmType>> {
    let f = info.exports.iter().find_map(|e| match e.index {
        EntityIndex::Func(f) if e.name == call.export => Some(f),
        _ => None,
    })?;
    let ty = info.func_type(f)?;
    let fits = ty.params.len() == call.args.len()
        && ty
            .params
            .iter()
            .zip(&call.args)
            .all(|(t, a)| a.ty() == t.ir_type());
    fits.then(|| ty.results.clone())
}

/// The fuel of one step: what wasmi used when it finished the step, and the relative
/// budget ([`RunawayBudget`]) each Kiln engine got, if any.
#[derive(Default)]
struct StepFuel {
    wasmi_used: Option<u64>,
    relative: [Option<u64>; 3],
}

/// Did the engine finish the step: return, or trap other than by exhausting its stack?
fn finished(r: &EngineResult) -> bool {
    match r {
        EngineResult::Ran(Outcome::Returned(_)) => true,
        EngineResult::Ran(Outcome::Trapped(code)) => *code != TrapCode::StackOverflow,
        _ => false,
    }
}

/// Classify one step's results (wasmi first, then `kinds`); `Some` ends the case.
fn judge(
    results: &[EngineResult],
    kinds: &[EngineKind],
    exact_nans: bool,
    result: &mut WasmCaseResult,
    step: Step,
    fuel: &StepFuel,
) -> Option<Verdict> {
    let others: Vec<(EngineKind, EngineResult)> = kinds
        .iter()
        .copied()
        .zip(results[1..].iter().cloned())
        .collect();
    let mut verdict = classify_against("wasmi", &results[0], &others, exact_nans);
    if let EngineResult::Ran(Outcome::Trapped(code)) = &results[0] {
        result.reference_traps.push(*code);
    }
    // Recorded only when the step is inconclusive (see the field).
    let exhausted_on = results
        .iter()
        .position(|r| inconclusive_of(r).is_some())
        .map(|k| match k {
            0 => "wasmi".to_string(),
            k => kinds[k - 1].name().to_string(),
        });
    if verdict.class == Class::Agree || verdict.class == Class::Timeout {
        if let Some(v) = runaway(results, kinds, fuel, step) {
            result.step = Some(step);
            return Some(v);
        }
        if let Some(why) = results.iter().find_map(inconclusive_of) {
            result.inconclusive = Some(why);
            result.exhausted_on = exhausted_on;
            result.step = Some(step);
            verdict.class = Class::Timeout;
            verdict.detail = format!(
                "{step}: inconclusive ({})",
                match why {
                    Inconclusive::Fuel => "out of fuel",
                    Inconclusive::Stack => "stack exhausted",
                }
            );
            return Some(verdict);
        }
        return None;
    }
    // A disagreement involving stack exhaustion is inconclusive too.
    if let Some(Inconclusive::Stack) = results.iter().find_map(inconclusive_of) {
        result.inconclusive = Some(Inconclusive::Stack);
        result.exhausted_on = exhausted_on;
        verdict.class = Class::Timeout;
        verdict.detail = format!("{step}: inconclusive (stack exhausted)");
    } else {
        verdict.detail = format!("{step}: {}", verdict.detail);
    }
    result.step = Some(step);
    Some(verdict)
}

/// The [`Class::Runaway`] verdict, when a Kiln engine ran out of its relative budget
/// ([`RunawayBudget`]) on a step wasmi finished.
fn runaway(
    results: &[EngineResult],
    kinds: &[EngineKind],
    fuel: &StepFuel,
    step: Step,
) -> Option<Verdict> {
    let used = fuel.wasmi_used?;
    let (k, budget) = (0..kinds.len()).find_map(|k| {
        let out = results[k + 1] == EngineResult::Ran(Outcome::OutOfFuel);
        fuel.relative[k].filter(|_| out).map(|b| (k, b))
    })?;
    let kind = kinds[k];
    let unit = match kind {
        EngineKind::Interp => "IR",
        _ => "machine",
    };
    Some(Verdict {
        class: Class::Runaway,
        engine: Some(kind),
        detail: format!(
            "{step}: {kind} ran out of fuel ({budget} {unit} instructions); \
             wasmi {} using {used} fuel",
            results[0]
        ),
    })
}

/// Compare every engine's memory and exported globals with wasmi's.
fn compare_state(
    running: &[Running],
    kinds: &[EngineKind],
    obs: &Observed,
    result: &mut WasmCaseResult,
    step: Step,
) -> Option<Verdict> {
    let ref_mem = running[0].memory(obs);
    let ref_globals = running[0].globals(obs);
    for (k, r) in running.iter().enumerate().skip(1) {
        let kind = kinds[k - 1];
        let mem = r.memory(obs);
        if mem != ref_mem {
            let detail = match mem.iter().zip(ref_mem).position(|(a, b)| a != b) {
                _ if mem.len() != ref_mem.len() => format!(
                    "{step}: memory is {} bytes on {kind}, {} on wasmi",
                    mem.len(),
                    ref_mem.len()
                ),
                Some(at) => format!(
                    "{step}: memory differs at {at:#x}: {kind} {:#04x}, wasmi {:#04x} (hash {:016x} vs {:016x})",
                    mem[at],
                    ref_mem[at],
                    fnv1a_of(mem),
                    fnv1a_of(ref_mem)
                ),
                None => format!("{step}: memory differs"),
            };
            result.step = Some(step);
            return Some(Verdict {
                class: Class::ValueMismatch,
                engine: Some(kind),
                detail,
            });
        }
        let globals = r.globals(obs);
        if let Some(g) = (0..globals.len()).find(|&g| globals[g] != ref_globals[g]) {
            let show =
                |v: &Option<DataValue>| v.as_ref().map_or("-".to_string(), |v| v.to_string());
            result.step = Some(step);
            return Some(Verdict {
                class: Class::ValueMismatch,
                engine: Some(kind),
                detail: format!(
                    "{step}: global `{}` is {} on {kind}, {} on wasmi",
                    obs.globals[g].0,
                    show(&globals[g]),
                    show(&ref_globals[g])
                ),
            });
        }
    }
    None
}

/// Compile the module for one architecture without a cache and twice through a fresh
/// in-memory cache store: every image must be identical and the second pass all hits.
fn check_cached_compile(case: &WasmCase, settings: &EngineSettings) -> Option<Verdict> {
    use kiln::cache::{CacheStore, MemoryStore};
    use std::sync::Arc;
    let arch = if case.wasm.len().is_multiple_of(2) {
        kiln::Arch::X86_64
    } else {
        kiln::Arch::Aarch64
    };
    let fail = |detail: String| {
        Some(Verdict {
            class: Class::CompileError,
            engine: None,
            detail: format!("cache check ({arch}): {detail}"),
        })
    };
    let opts = kiln::module::ModuleOptions {
        jobs: Some(1),
        progress: None,
    };
    let build = |store: Option<Arc<dyn CacheStore>>| {
        let mut b = settings.builder(arch)?;
        b.cache_store(store);
        b.build().map_err(|e| e.to_string())
    };
    let r = caught(|| -> Result<Option<String>, String> {
        let plain = build(None)?;
        let store: Arc<dyn CacheStore> = Arc::new(MemoryStore::new());
        let cached = build(Some(store))?;
        let compile = |c: &dyn kiln::Compiler| {
            kiln::module::compile_module(c, &case.wasm, &opts).map_err(|e| e.to_string())
        };
        let a = compile(&*plain)?;
        let b = compile(&*cached)?;
        let c = compile(&*cached)?;
        Ok(if b.text != a.text {
            Some("the cold cached compile differs from the uncached one".into())
        } else if c.text != a.text {
            Some("the warm cached compile differs from the uncached one".into())
        } else if c.stats.cache_hits != c.stats.functions || c.stats.cache_misses != 0 {
            Some(format!(
                "second pass: {} hit(s), {} miss(es) for {} function(s)",
                c.stats.cache_hits, c.stats.cache_misses, c.stats.functions
            ))
        } else {
            None
        })
    });
    match r {
        Ok(Ok(None)) => None,
        Ok(Ok(Some(m))) => fail(m),
        Ok(Err(e)) => fail(e),
        Err(p) => Some(Verdict {
            class: Class::Panic,
            engine: None,
            detail: format!("cache check ({arch}) panicked: {p}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::gen::wasm::tests::case;

    fn check(c: &WasmCase) -> WasmCaseResult {
        check_wasm_case(
            c,
            &EngineSettings::default(),
            &WasmDiffOptions::default(),
            true,
        )
    }

    #[test]
    fn calls_memory_globals_and_traps_agree_on_every_engine() {
        let c = case(
            r#"(module
              (memory (export "m") 1)
              (global (export "g") (mut i64) (i64.const 1))
              (table (export "t") 2 funcref)
              (func $sq (param i32) (result i32) local.get 0 local.get 0 i32.mul)
              (elem (i32.const 0) $sq)
              (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store
                 global.get 0 i64.const 3 i64.mul global.set 0)
              (func (export "icall") (param i32 i32) (result i32)
                 local.get 0 local.get 1 call_indirect (param i32) (result i32))
              (func (export "rem") (param i32 i32) (result i32) local.get 0 local.get 1 i32.rem_s)
              (func (export "nan") (param f32) (result f32) local.get 0 f64.promote_f32 f32.demote_f64))"#,
            &[
                ("store", vec![DataValue::I32(16), DataValue::I32(-7)]),
                ("icall", vec![DataValue::I32(9), DataValue::I32(0)]),
                ("icall", vec![DataValue::I32(9), DataValue::I32(1)]),
                ("icall", vec![DataValue::I32(9), DataValue::I32(5)]),
                ("rem", vec![DataValue::I32(-7), DataValue::I32(2)]),
                ("rem", vec![DataValue::I32(i32::MIN), DataValue::I32(-1)]),
                ("rem", vec![DataValue::I32(1), DataValue::I32(0)]),
                ("nan", vec![DataValue::F32(0xff80_1234)]),
                ("missing", vec![]),
                ("rem", vec![DataValue::I64(1)]),
            ],
        );
        let r = check(&c);
        assert_eq!(r.verdict.class, Class::Agree, "{:#?}", r);
        assert!(r.instantiated);
        assert_eq!(r.skipped_calls, 2);
        assert_eq!(r.completed_calls, 5);
        assert_eq!(
            r.reference_traps,
            vec![
                TrapCode::IndirectCallToNull,
                TrapCode::TableOutOfBounds,
                TrapCode::IntegerDivisionByZero
            ]
        );
        assert_eq!(r.log.len(), 4);
        assert!(r.log[3].1[1].contains("returned nothing"), "{:?}", r.log[3]);
        assert!(r.executed > 0);
    }

    #[test]
    fn instantiation_traps_and_recursion_are_judged() {
        let start_traps = case(r#"(module (memory 1) (data (i32.const 65535) "ab"))"#, &[]);
        let r = check(&start_traps);
        assert_eq!(r.verdict.class, Class::Agree);
        assert!(!r.instantiated);
        assert_eq!(r.reference_traps, vec![TrapCode::HeapOutOfBounds]);
        // Unbounded recursion exhausts some engine's stack: inconclusive, not a failure.
        let deep = case(
            r#"(module (func $f (export "f") (param i64) (result i64)
                 local.get 0 i64.const 1 i64.add call $f))"#,
            &[("f", vec![DataValue::I64(0)])],
        );
        let r = check(&deep);
        assert_eq!(r.verdict.class, Class::Timeout, "{:#?}", r.verdict);
        assert_eq!(r.inconclusive, Some(Inconclusive::Stack));
        assert!(r.exhausted_on.is_some());
    }

    #[test]
    fn a_kiln_engine_out_of_fuel_in_proportion_to_wasmis_is_a_runaway() {
        // `spin(n)` goes round a loop n times (unsigned), about 8 Wasm instructions a round.
        let spin = |n: i32| {
            case(
                r#"(module (func (export "spin") (param i32) (result i32) (local i32)
                     (loop $l
                       (local.set 1 (i32.add (local.get 1) (i32.const 1)))
                       (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
                     (local.get 1)))"#,
                &[("spin", vec![DataValue::I32(n)])],
            )
        };
        let run = |c: &WasmCase, opts: &WasmDiffOptions| {
            check_wasm_case(c, &EngineSettings::default(), opts, false)
        };
        let defaults = WasmDiffOptions::default();
        // Wasmi finishes 5,000 rounds; every Kiln engine agrees within its relative budget.
        let r = run(&spin(5_000), &defaults);
        assert_eq!(r.verdict.class, Class::Agree, "{:#?}", r.verdict);
        // Compiled code given 1,000 machine instructions cannot; with the relative budget
        // below that cap it would not have run out: inconclusive.
        let starved = WasmDiffOptions {
            compiled_fuel: 1_000,
            ..defaults
        };
        let r = run(&spin(5_000), &starved);
        assert_eq!(r.verdict.class, Class::Timeout, "{:#?}", r.verdict);
        assert_eq!(r.inconclusive, Some(Inconclusive::Fuel));
        assert_eq!(r.exhausted_on.as_deref(), Some("x86_64"));
        // Compiled code given no more than 1,000 machine instructions for any call wasmi
        // finishes: a runaway, a failure, on the first compiled engine.
        let strict = WasmDiffOptions {
            compiled_runaway: RunawayBudget {
                factor: 0,
                slack: 1_000,
            },
            ..defaults
        };
        let r = run(&spin(5_000), &strict);
        assert_eq!(
            (r.verdict.class, r.verdict.engine),
            (Class::Runaway, Some(EngineKind::X86_64)),
            "{:#?}",
            r.verdict
        );
        assert!(r.verdict.class.is_failure());
        let d = &r.verdict.detail;
        assert!(
            d.starts_with("call 0: x86_64 ran out of fuel (1000 machine instructions); wasmi returned 5000 using "),
            "{d}"
        );
        assert_eq!((r.step, r.inconclusive), (Some(Step::Call(0)), None));
        // With only one Kiln engine run (as the reducer does), only it is judged.
        for (only, class) in [
            (EngineKind::Aarch64, Class::Runaway),
            (EngineKind::Interp, Class::Agree),
        ] {
            let one = WasmDiffOptions {
                only: Some(only),
                ..strict
            };
            let r = run(&spin(5_000), &one);
            assert_eq!(r.verdict.class, class, "{only}: {:#?}", r.verdict);
            let engines: Vec<&str> = r.log.iter().map(|(name, _)| name.as_str()).collect();
            assert_eq!(engines, ["wasmi", only.name()]);
        }
        // A loop wasmi cannot finish: inconclusive, whatever Kiln does.
        let small = WasmDiffOptions {
            wasmi_fuel: 100_000,
            ..defaults
        };
        let r = run(&spin(-1), &small);
        assert_eq!(r.verdict.class, Class::Timeout, "{:#?}", r.verdict);
        assert_eq!(r.exhausted_on.as_deref(), Some("wasmi"));
        // The budgets scale with wasmi's fuel and are capped by the options.
        let used = 40_000;
        assert_eq!(
            RunawayBudget::fuel(EngineKind::Interp, used, &defaults),
            Some(50 * used + 200_000)
        );
        assert_eq!(
            RunawayBudget::fuel(EngineKind::X86_64, used, &defaults),
            Some(200 * used + 2_000_000)
        );
        assert_eq!(
            RunawayBudget::fuel(EngineKind::X86_64, used, &starved),
            None
        );
    }

    #[test]
    fn invalid_modules_are_named_errors_not_panics() {
        let r = check(&WasmCase {
            wasm: b"\0asm\x01\0\0\0\x01".to_vec(),
            calls: vec![],
        });
        assert_eq!(r.verdict.class, Class::CompileError);
        assert!(
            r.verdict.detail.contains("does not validate"),
            "{}",
            r.verdict.detail
        );
    }
}
