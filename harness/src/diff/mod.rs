//! Differential testing: run one case (functions, arguments, a heap) on the interpreter and
//! on Kiln's x86_64 and AArch64 code under emulation, each compiled with a per-case
//! [`Variation`] of the compiler settings, and classify the result ([`Class`]).
//!
//! Parts:
//! - [`classify`]: the outcome classes and the NaN-aware comparison;
//! - [`variation`]: the per-case compiler variation and its `; engine-settings:` record;
//! - [`materialize`]: a failing case as a replayable `.kir` file in `corpora/fuzzgen/`;
//! - [`campaign`]: `kiln diff` — many generated cases in parallel, deterministic per seed;
//! - [`replay`]: `kiln replay` — re-run saved cases and report each engine's result, the
//!   IR and the disassembly of the disagreeing engines.
//!
//! Invariants:
//! - the interpreter is the reference; it runs first, and when it does not finish
//!   (out of fuel, panic, error) the compiled engines are not run;
//! - compile and run of every engine happen inside `catch_unwind`: a panic anywhere becomes
//!   [`Class::Panic`] and never escapes [`check_case`]; after a panic the engines are
//!   discarded (their state is unknown) and fresh ones are made for the next case;
//! - each thread keeps one [`EngineSet`] (thread-local: unicorn instances are `!Send`);
//!   cases reconfigure its compiled engines ([`crate::engine::Engine::reconfigure`]) rather
//!   than creating new emulators, so per-case cost is compile + load + run;
//! - [`check_case`] is deterministic: its verdict depends only on the case, the variation
//!   and the options.

pub mod campaign;
pub mod classify;
pub mod materialize;
pub mod reduce;
pub mod replay;
pub mod variation;
pub mod wasm;

pub use classify::{classify, classify_against, compare_outcomes, Class, EngineResult, Verdict};
pub use variation::Variation;

use crate::engine::{fresh_heaps, Engine, EngineKind, EngineSettings};
use crate::filetest::{HeapDecl, TestFile};
use crate::value::DataValue;
use kiln::ir::Function;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// One differential case: `functions[0]` is called with `args`; `heap`, when present, is
/// heap `h0` (mapped at [`HeapDecl::base`]`(0)` on every engine, so `args` may hold
/// addresses into it).
#[derive(Clone, Debug)]
pub struct Case {
    /// The functions; the first is the entry.
    pub functions: Vec<Function>,
    /// The entry's arguments.
    pub args: Vec<DataValue>,
    /// Heap `h0`.
    pub heap: Option<HeapDecl>,
}

impl Case {
    /// The case as a test file without run directives (what the engines consume).
    pub fn to_test_file(&self) -> TestFile {
        TestFile {
            path: PathBuf::from("<generated case>"),
            functions: self.functions.clone(),
            heaps: self.heap.iter().cloned().collect(),
            runs: Vec::new(),
            engine_settings: None,
        }
    }
}

/// Work bounds of a differential run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiffOptions {
    /// Interpreter fuel (IR instructions per run).
    pub interp_fuel: u64,
    /// Emulator fuel (machine instructions per run) for the compiled engines. Larger than
    /// `interp_fuel`: one IR instruction can lower to many machine instructions.
    pub compiled_fuel: u64,
}

impl Default for DiffOptions {
    fn default() -> Self {
        // The generator's bound, so that a generated case never runs out of fuel; one IR
        // instruction lowers to a few machine instructions (20 allows for the longest
        // sequences).
        DiffOptions {
            interp_fuel: crate::gen::MAX_DYNAMIC_INSTS,
            compiled_fuel: 20 * crate::gen::MAX_DYNAMIC_INSTS,
        }
    }
}

/// The result of one case on every engine.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// Each engine's result, in [`EngineKind::ALL`] order (the interpreter first).
    pub results: Vec<(EngineKind, EngineResult)>,
    /// The classification.
    pub verdict: Verdict,
}

impl CaseResult {
    /// The reference (interpreter) result.
    pub fn reference(&self) -> &EngineResult {
        &self.results[0].1
    }
}

/// One engine of each kind, reused across cases (see the module docs).
pub struct EngineSet {
    engines: Vec<(EngineKind, Box<dyn Engine>)>,
    opts: DiffOptions,
}

impl EngineSet {
    /// Fresh engines with default settings.
    pub fn new(opts: DiffOptions) -> EngineSet {
        let engines = EngineKind::ALL
            .iter()
            .map(|&k| {
                let fuel = match k {
                    EngineKind::Interp => opts.interp_fuel,
                    _ => opts.compiled_fuel,
                };
                (k, k.create_with(fuel, &EngineSettings::default()))
            })
            .collect();
        EngineSet { engines, opts }
    }

    /// Run `file.functions[func_index]` with `args` on every engine, its compiled engines
    /// configured with `settings`, and classify. `Err` carries the result too, and says
    /// that something panicked (the set should be discarded).
    pub fn run(
        &mut self,
        file: &TestFile,
        func_index: usize,
        args: &[DataValue],
        settings: &EngineSettings,
    ) -> Result<CaseResult, CaseResult> {
        let mut results: Vec<(EngineKind, EngineResult)> = Vec::with_capacity(3);
        let mut panicked = false;
        for (kind, engine) in self.engines.iter_mut() {
            let reference_done = results.first().is_none_or(|(_, r)| {
                matches!(r, EngineResult::Ran(o) if o.is_returned() || o.trap_code().is_some()
                    || matches!(o, crate::outcome::Outcome::MemoryFault { .. }))
            });
            if !reference_done {
                results.push((*kind, EngineResult::NotRun));
                continue;
            }
            CATCHING.with(|c| c.set(true));
            let r = catch_unwind(AssertUnwindSafe(|| {
                engine.reconfigure(settings);
                if let Err(e) = engine.prepare(file) {
                    return EngineResult::PrepareFailed(e);
                }
                let mut heaps = fresh_heaps(file);
                EngineResult::Ran(engine.run(file, func_index, args, &mut heaps))
            }));
            CATCHING.with(|c| c.set(false));
            let r = r.unwrap_or_else(|payload| {
                panicked = true;
                EngineResult::Panicked(panic_message(payload.as_ref()))
            });
            results.push((*kind, r));
        }
        let mut verdict = classify(
            &results[0].1,
            &results[1..],
            variation::canonical_nans(settings),
        );
        if verdict.class == Class::Timeout {
            if let Some(v) = runaway(&results, &self.opts) {
                verdict = v;
            }
        }
        let result = CaseResult { results, verdict };
        if panicked {
            Err(result)
        } else {
            Ok(result)
        }
    }
}

/// The [`Class::Runaway`] verdict of an IR case: the interpreter finished (it runs first,
/// and the compiled engines only run when it did) and a compiled engine then ran out of
/// fuel. Its budget is `compiled_fuel`, by default 20 machine instructions for every IR
/// instruction the interpreter may run — more than the longest lowering — so its code
/// loops where the IR does not.
fn runaway(results: &[(EngineKind, EngineResult)], opts: &DiffOptions) -> Option<Verdict> {
    use crate::outcome::Outcome;
    let (kind, _) = results[1..]
        .iter()
        .find(|(_, r)| *r == EngineResult::Ran(Outcome::OutOfFuel))?;
    Some(Verdict {
        class: Class::Runaway,
        engine: Some(*kind),
        detail: format!(
            "{kind} ran out of fuel ({} machine instructions); interp {} (within {} IR \
             instructions)",
            opts.compiled_fuel, results[0].1, opts.interp_fuel
        ),
    })
}

thread_local! {
    /// The last caught panic on this thread, as recorded by [`install_quiet_panic_hook`].
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Is this thread inside the `catch_unwind` of [`EngineSet::run`]?
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Replace the process's panic hook with one that, for panics [`check_case`] catches,
/// prints nothing and records the message and location for [`panic_message`] (the
/// differential loop reports caught panics itself; the default hook would garble its
/// progress line). Any other panic is printed as usual. For binaries and fuzz targets.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = panic_message_of_payload(info.payload());
        let text = match info.location() {
            Some(l) => format!("{msg} (at {}:{})", l.file(), l.line()),
            None => msg,
        };
        if CATCHING.with(|c| c.get()) {
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        } else {
            let thread = std::thread::current();
            eprintln!(
                "thread '{}' panicked: {text}",
                thread.name().unwrap_or("<unnamed>")
            );
        }
    }));
}

/// Run `f` with [`install_quiet_panic_hook`]'s hook, then put the previous hook back.
/// For single-threaded callers whose process-wide hook must not see caught panics: the
/// `fuzzgen` target, where libFuzzer's hook would abort the process before the case is
/// saved.
pub fn with_quiet_panics<T>(f: impl FnOnce() -> T) -> T {
    let previous = std::panic::take_hook();
    install_quiet_panic_hook();
    let out = f();
    std::panic::set_hook(previous);
    out
}

/// The message of a caught panic: what the quiet hook recorded on this thread (with the
/// location), or else the payload's text.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    LAST_PANIC
        .with(|p| p.borrow_mut().take())
        .unwrap_or_else(|| panic_message_of_payload(payload))
}

/// The text of a panic payload (`&str` or `String`; anything else is described).
fn panic_message_of_payload(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

thread_local! {
    static ENGINES: RefCell<Option<EngineSet>> = const { RefCell::new(None) };
}

/// Run `case` under `variation` on this thread's engines (created on first use, or when
/// `opts` changed) and classify it.
pub fn check_case(case: &Case, variation: &Variation, opts: &DiffOptions) -> CaseResult {
    let file = case.to_test_file();
    check_file_call(&file, 0, &case.args, &variation.engine_settings(), opts)
}

/// Like [`check_case`] for function `func_index` of a test file and explicit settings.
pub fn check_file_call(
    file: &TestFile,
    func_index: usize,
    args: &[DataValue],
    settings: &EngineSettings,
    opts: &DiffOptions,
) -> CaseResult {
    ENGINES.with(|cell| {
        let mut slot = cell.borrow_mut();
        let set = match slot.take() {
            Some(s) if s.opts == *opts => s,
            _ => EngineSet::new(*opts),
        };
        let mut set = set;
        match set.run(file, func_index, args, settings) {
            Ok(r) => {
                *slot = Some(set);
                r
            }
            // Engines that panicked are dropped; the next case makes new ones.
            Err(r) => r,
        }
    })
}

/// The generator's configuration and entry point as the differential loop uses them.
pub mod source {
    pub use crate::gen::{generate, GenConfig, GeneratedCase};
}

impl From<source::GeneratedCase> for Case {
    fn from(g: source::GeneratedCase) -> Case {
        Case {
            functions: g.functions,
            args: g.args,
            heap: g.heap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;
    use kiln::ir::text;

    pub(crate) fn case(src: &str, args: Vec<DataValue>) -> Case {
        Case {
            functions: text::parse_functions(src).unwrap(),
            args,
            heap: None,
        }
    }

    #[test]
    fn a_simple_case_agrees_on_every_variation_kind() {
        let c = case(
            "function %f0(i32, i32) -> i32 {\nblock0(v0: i32, v1: i32):\n    v2 = udiv v0, v1\n    return v2\n}\n",
            vec![DataValue::I32(7), DataValue::I32(2)],
        );
        for seed in 0..6 {
            let r = check_case(&c, &Variation::from_seed(seed), &DiffOptions::default());
            assert_eq!(r.verdict.class, Class::Agree, "{:?}", r);
            assert_eq!(r.results.len(), 3);
        }
        let mut t = c.clone();
        t.args[1] = DataValue::I32(0);
        let r = check_case(&t, &Variation::default(), &DiffOptions::default());
        assert_eq!(r.verdict.class, Class::Agree);
        assert_eq!(
            r.reference(),
            &EngineResult::Ran(Outcome::Trapped(kiln::ir::TrapCode::IntegerDivisionByZero))
        );
    }

    #[test]
    fn caught_panics_are_quiet_and_keep_their_location() {
        let msg = with_quiet_panics(|| {
            CATCHING.with(|c| c.set(true));
            let r = catch_unwind(|| -> u32 { panic!("boom {}", 7) });
            CATCHING.with(|c| c.set(false));
            panic_message(r.unwrap_err().as_ref())
        });
        assert!(
            msg.starts_with("boom 7 (at ") && msg.contains("diff/mod.rs"),
            "{msg}"
        );
        // Without the hook, the payload alone.
        let r = catch_unwind(|| -> u32 { std::panic::panic_any(5u8) });
        assert_eq!(
            panic_message_of_payload(r.unwrap_err().as_ref()),
            "panic with a non-string payload"
        );
    }

    #[test]
    fn interpreter_timeout_is_inconclusive_and_skips_compiled_engines() {
        let c = case(
            "function %f0() {\nblock0:\n    jump block1\nblock1:\n    jump block1\n}\n",
            vec![],
        );
        let opts = DiffOptions {
            interp_fuel: 1000,
            compiled_fuel: 10_000,
        };
        let r = check_case(&c, &Variation::default(), &opts);
        assert_eq!(r.verdict.class, Class::Timeout);
        assert_eq!(r.results[1].1, EngineResult::NotRun);
    }

    #[test]
    fn compiled_code_out_of_fuel_after_the_interpreter_finished_is_a_runaway() {
        // 100 rounds of a loop: a few hundred IR instructions, more machine instructions
        // than the 50 the compiled engines get here.
        let c = case(
            "function %f0(i32) -> i32 {\nblock0(v0: i32):\n    jump block1(v0)\n\
             block1(v1: i32):\n    v2 = iconst.i32 1\n    v3 = isub v1, v2\n    \
             brif v3, block1(v3), block2\nblock2:\n    return v3\n}\n",
            vec![DataValue::I32(100)],
        );
        let run = |compiled_fuel| {
            let opts = DiffOptions {
                interp_fuel: 1000,
                compiled_fuel,
            };
            check_case(&c, &Variation::default(), &opts)
        };
        assert_eq!(run(100_000).verdict.class, Class::Agree);
        let r = run(50);
        assert_eq!(
            (r.verdict.class, r.verdict.engine),
            (Class::Runaway, Some(EngineKind::X86_64)),
            "{:#?}",
            r.verdict
        );
        assert!(
            r.verdict.detail.contains("interp returned 0"),
            "{}",
            r.verdict.detail
        );
    }
}
