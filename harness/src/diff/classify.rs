//! Classifying one differential case: what each engine did, compared with the
//! interpreter (the reference).
//!
//! Invariants:
//! - [`Class`] has exactly the classes of the issue; every case gets exactly one, the most
//!   severe over the compiled engines ([`Class::severity`]), attributed to the first engine
//!   (in [`EngineKind::ALL`] order) that has it;
//! - values compare NaN-agnostically ([`Outcome::eq_nan_agnostic`]) unless the compiler
//!   canonicalizes NaNs, in which case bits must match;
//! - running out of fuel anywhere is [`Class::Timeout`]: inconclusive, never a pass and
//!   never a failure (a disagreement on another engine still wins over it) — except an
//!   engine running out after the reference finished, with a budget a correct engine
//!   cannot exhaust, which the callers ([`super::EngineSet::run`], [`super::wasm`])
//!   judge [`Class::Runaway`];
//! - a trap compares by [`kiln::ir::TrapCode`] only.

use crate::engine::{EngineKind, PrepareError};
use crate::outcome::Outcome;
use std::fmt;

/// How one case ended. See the module docs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Every engine produced the reference outcome.
    Agree,
    /// Both returned, with different values.
    ValueMismatch,
    /// Both trapped, with different trap codes.
    TrapMismatch,
    /// One side trapped and the other did not.
    OneSideTrapped,
    /// An engine could not run the case: a compile, link or load error (`prepare`
    /// failed), or the reference interpreter refused the case (`Outcome::Error`: the
    /// generator made a case the IR semantics do not define).
    CompileError,
    /// A panic in the compiler, the interpreter or the harness (caught; the case is saved).
    Panic,
    /// A compiled engine stopped abnormally: an access outside mapped memory
    /// (`MemoryFault`) the reference did not make, or another machine-level failure the
    /// emulator reports (`Outcome::Error`: an invalid instruction outside a trap site, a
    /// clobbered callee-saved register).
    EmulatorFault,
    /// Some engine ran out of fuel: inconclusive (counted, never a pass).
    Timeout,
    /// An engine ran out of fuel after the reference finished, with a budget that a
    /// correct engine cannot exhaust: its code loops where the program does not. Wasm
    /// cases: a Kiln engine on a call wasmi finished, with fuel in proportion to what
    /// wasmi used (`super::wasm::RunawayBudget`). IR cases: a compiled engine after the
    /// interpreter finished (`super::DiffOptions::compiled_fuel`, 20 machine
    /// instructions for every IR instruction the interpreter may run). The reference
    /// itself running out stays a [`Class::Timeout`].
    Runaway,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; Class::COUNT] = [
        Class::Agree,
        Class::ValueMismatch,
        Class::TrapMismatch,
        Class::OneSideTrapped,
        Class::CompileError,
        Class::Panic,
        Class::EmulatorFault,
        Class::Timeout,
        Class::Runaway,
    ];

    /// Number of classes.
    pub const COUNT: usize = 9;

    /// Position in [`Class::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The report name.
    pub const fn name(self) -> &'static str {
        match self {
            Class::Agree => "agree",
            Class::ValueMismatch => "value mismatch",
            Class::TrapMismatch => "trap mismatch",
            Class::OneSideTrapped => "one side trapped",
            Class::CompileError => "compile error",
            Class::Panic => "panic",
            Class::EmulatorFault => "emulator fault",
            Class::Timeout => "timeout",
            Class::Runaway => "runaway",
        }
    }

    /// Is this a disagreement (a bug somewhere, the case is saved)? Agree and timeout are
    /// not.
    pub const fn is_failure(self) -> bool {
        !matches!(self, Class::Agree | Class::Timeout)
    }

    /// Which class wins when engines end differently: panic, compile error, emulator fault,
    /// trap mismatch, one side trapped, value mismatch, runaway, timeout, agree.
    pub const fn severity(self) -> u8 {
        match self {
            Class::Agree => 0,
            Class::Timeout => 1,
            Class::Runaway => 2,
            Class::ValueMismatch => 3,
            Class::OneSideTrapped => 4,
            Class::TrapMismatch => 5,
            Class::EmulatorFault => 6,
            Class::CompileError => 7,
            Class::Panic => 8,
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one engine did with a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineResult {
    /// It ran the case to this outcome.
    Ran(Outcome),
    /// `prepare` failed (compile, link or load).
    PrepareFailed(PrepareError),
    /// Compiling or running panicked with this message.
    Panicked(String),
    /// Not run (the reference was inconclusive or failed first).
    NotRun,
}

impl fmt::Display for EngineResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineResult::Ran(o) => write!(f, "{o}"),
            EngineResult::PrepareFailed(e) => write!(f, "cannot prepare: {e}"),
            EngineResult::Panicked(m) => write!(f, "panicked: {m}"),
            EngineResult::NotRun => f.write_str("not run"),
        }
    }
}

/// The classification of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The class.
    pub class: Class,
    /// The engine it is attributed to (`None` for agree).
    pub engine: Option<EngineKind>,
    /// One line: which engine, what it did, what the reference did.
    pub detail: String,
}

impl Verdict {
    fn agree() -> Verdict {
        Verdict {
            class: Class::Agree,
            engine: None,
            detail: "every engine agrees".into(),
        }
    }
}

/// Compare one compiled engine's outcome with the reference's (both ran). `canonical_nans`:
/// bits must match exactly (see [`super::variation::canonical_nans`]).
pub fn compare_outcomes(reference: &Outcome, got: &Outcome, canonical_nans: bool) -> Class {
    let equal = if canonical_nans {
        reference == got
    } else {
        reference.eq_nan_agnostic(got)
    };
    match (reference, got) {
        (Outcome::OutOfFuel, _) | (_, Outcome::OutOfFuel) => Class::Timeout,
        (Outcome::Error(_), _) => Class::CompileError,
        _ if equal => Class::Agree,
        (_, Outcome::MemoryFault { .. } | Outcome::Error(_)) => Class::EmulatorFault,
        (Outcome::Trapped(_), Outcome::Trapped(_)) => Class::TrapMismatch,
        (Outcome::Trapped(_), _) | (_, Outcome::Trapped(_)) => Class::OneSideTrapped,
        _ => Class::ValueMismatch,
    }
}

/// Classify a case from the reference's (the interpreter's) result and every compiled
/// engine's.
pub fn classify(
    reference: &EngineResult,
    others: &[(EngineKind, EngineResult)],
    canonical_nans: bool,
) -> Verdict {
    classify_against(EngineKind::Interp.name(), reference, others, canonical_nans)
}

/// Like [`classify`] with the reference engine named `reference_name` (the interpreter
/// for IR cases, wasmi for Wasm cases). A verdict about the reference itself names no
/// [`EngineKind`] unless the reference is the interpreter.
pub fn classify_against(
    reference_name: &str,
    reference: &EngineResult,
    others: &[(EngineKind, EngineResult)],
    canonical_nans: bool,
) -> Verdict {
    let interp = EngineKind::ALL
        .iter()
        .copied()
        .find(|k| k.name() == reference_name);
    let reference_outcome = match reference {
        EngineResult::Ran(o @ Outcome::OutOfFuel) | EngineResult::Ran(o @ Outcome::Error(_)) => {
            let class = compare_outcomes(o, o, canonical_nans);
            return Verdict {
                class,
                engine: interp,
                detail: format!("{reference_name} {o}"),
            };
        }
        EngineResult::Ran(o) => o,
        EngineResult::Panicked(m) => {
            return Verdict {
                class: Class::Panic,
                engine: interp,
                detail: format!("{reference_name} panicked: {m}"),
            }
        }
        EngineResult::PrepareFailed(e) => {
            return Verdict {
                class: Class::CompileError,
                engine: interp,
                detail: format!("{reference_name} cannot prepare: {e}"),
            }
        }
        EngineResult::NotRun => {
            return Verdict {
                class: Class::Timeout,
                engine: interp,
                detail: format!("{reference_name} not run"),
            }
        }
    };
    let mut worst = Verdict::agree();
    for (kind, result) in others {
        let class = match result {
            EngineResult::Ran(o) => compare_outcomes(reference_outcome, o, canonical_nans),
            EngineResult::PrepareFailed(_) => Class::CompileError,
            EngineResult::Panicked(_) => Class::Panic,
            EngineResult::NotRun => Class::Timeout,
        };
        if class.severity() > worst.class.severity() {
            worst = Verdict {
                class,
                engine: Some(*kind),
                detail: format!("{kind} {result}; {reference_name} {reference_outcome}"),
            };
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::DataValue;
    use kiln::ir::TrapCode;
    use EngineKind::{Aarch64, X86_64};

    fn ret(v: i32) -> Outcome {
        Outcome::Returned(vec![DataValue::I32(v)])
    }
    fn trap(c: TrapCode) -> Outcome {
        Outcome::Trapped(c)
    }
    fn run(reference: Outcome, x: EngineResult, a: EngineResult) -> Verdict {
        classify(
            &EngineResult::Ran(reference),
            &[(X86_64, x), (Aarch64, a)],
            false,
        )
    }
    use EngineResult::Ran;

    #[test]
    fn every_class_from_constructed_outcomes() {
        let divz = TrapCode::IntegerDivisionByZero;
        let ovf = TrapCode::IntegerOverflow;
        let cases: Vec<(Verdict, Class, Option<EngineKind>)> = vec![
            (run(ret(1), Ran(ret(1)), Ran(ret(1))), Class::Agree, None),
            (
                run(trap(divz), Ran(trap(divz)), Ran(trap(divz))),
                Class::Agree,
                None,
            ),
            (
                run(ret(1), Ran(ret(1)), Ran(ret(2))),
                Class::ValueMismatch,
                Some(Aarch64),
            ),
            (
                run(trap(divz), Ran(trap(ovf)), Ran(trap(divz))),
                Class::TrapMismatch,
                Some(X86_64),
            ),
            (
                run(trap(divz), Ran(ret(0)), Ran(trap(divz))),
                Class::OneSideTrapped,
                Some(X86_64),
            ),
            (
                run(ret(0), Ran(ret(0)), Ran(trap(divz))),
                Class::OneSideTrapped,
                Some(Aarch64),
            ),
            (
                run(
                    ret(0),
                    EngineResult::PrepareFailed(PrepareError::Failed("regalloc".into())),
                    Ran(ret(0)),
                ),
                Class::CompileError,
                Some(X86_64),
            ),
            (
                run(ret(0), Ran(ret(0)), EngineResult::Panicked("boom".into())),
                Class::Panic,
                Some(Aarch64),
            ),
            (
                run(
                    ret(0),
                    Ran(Outcome::MemoryFault {
                        addr: 8,
                        size: 4,
                        write: false,
                    }),
                    Ran(ret(0)),
                ),
                Class::EmulatorFault,
                Some(X86_64),
            ),
            (
                run(
                    ret(0),
                    Ran(Outcome::Error("invalid instruction".into())),
                    Ran(ret(0)),
                ),
                Class::EmulatorFault,
                Some(X86_64),
            ),
            (
                run(ret(0), Ran(ret(0)), Ran(Outcome::OutOfFuel)),
                Class::Timeout,
                Some(Aarch64),
            ),
            (
                run(
                    Outcome::OutOfFuel,
                    EngineResult::NotRun,
                    EngineResult::NotRun,
                ),
                Class::Timeout,
                Some(EngineKind::Interp),
            ),
            // A disagreement wins over a timeout on another engine.
            (
                run(ret(0), Ran(Outcome::OutOfFuel), Ran(ret(1))),
                Class::ValueMismatch,
                Some(Aarch64),
            ),
            // The most severe class wins, whatever the engine order.
            (
                run(
                    ret(0),
                    Ran(ret(1)),
                    EngineResult::PrepareFailed(PrepareError::Unsupported("x".into())),
                ),
                Class::CompileError,
                Some(Aarch64),
            ),
            (
                classify(
                    &EngineResult::Panicked("interp".into()),
                    &[(X86_64, Ran(ret(0)))],
                    false,
                ),
                Class::Panic,
                Some(EngineKind::Interp),
            ),
            (
                run(
                    Outcome::Error("bad case".into()),
                    EngineResult::NotRun,
                    EngineResult::NotRun,
                ),
                Class::CompileError,
                Some(EngineKind::Interp),
            ),
        ];
        for (i, (v, class, engine)) in cases.iter().enumerate() {
            assert_eq!((v.class, v.engine), (*class, *engine), "case {i}: {v:?}");
        }
        let mut covered: Vec<Class> = cases.iter().map(|c| c.1).collect();
        covered.sort();
        covered.dedup();
        // Every class but the runaway, which the callers judge (tested there).
        let expected: Vec<Class> = Class::ALL
            .into_iter()
            .filter(|c| *c != Class::Runaway)
            .collect();
        assert_eq!(covered, expected, "every class is exercised");
        assert!(cases[2]
            .0
            .detail
            .contains("aarch64 returned 2; interp returned 1"));
    }

    #[test]
    fn nans_compare_agnostically_unless_canonical() {
        let a = Outcome::Returned(vec![DataValue::F32(0x7fc0_0000)]);
        let b = Outcome::Returned(vec![DataValue::F32(0xffc0_0001)]);
        assert_eq!(compare_outcomes(&a, &b, false), Class::Agree);
        assert_eq!(compare_outcomes(&a, &b, true), Class::ValueMismatch);
        assert_eq!(compare_outcomes(&a, &a, true), Class::Agree);
        let z = Outcome::Returned(vec![DataValue::f32(0.0)]);
        let nz = Outcome::Returned(vec![DataValue::f32(-0.0)]);
        assert_eq!(compare_outcomes(&z, &nz, false), Class::ValueMismatch);
    }

    #[test]
    fn failures_and_severity_are_consistent() {
        let fails: Vec<_> = Class::ALL.iter().filter(|c| c.is_failure()).collect();
        assert_eq!(fails.len(), 7);
        let mut sev: Vec<u8> = Class::ALL.iter().map(|c| c.severity()).collect();
        sev.sort();
        sev.dedup();
        assert_eq!(sev.len(), Class::COUNT);
        for (i, c) in Class::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
    }
}
