//! Where a function's compile time goes: [`PhaseTimes`] per pipeline phase (verify,
//! lower, register allocation, emission), accumulated per thread.
//!
//! `CompileContext::compile` (in `machinst::compile`) adds each phase's
//! time to the calling thread's accumulator; [`take_phase_times`] returns and resets it.
//! Callers that compile on several threads (the module compiler) take it on each thread
//! after each function and sum. A cache hit runs no phase, so it adds nothing.
//!
//! Invariant: the phases of one compile sum to at most its wall time (they are disjoint
//! intervals of it).

use core::ops::AddAssign;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Time spent in each backend phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseTimes {
    /// IR verification.
    pub verify: Duration,
    /// Lowering IR to VCode.
    pub lower: Duration,
    /// Register allocation (regalloc2, and its checker when enabled).
    pub regalloc: Duration,
    /// Frame layout and emission into the MachBuffer (islands, veneers, fixups).
    pub emit: Duration,
}

impl PhaseTimes {
    /// The sum of the phases.
    pub fn total(&self) -> Duration {
        self.verify + self.lower + self.regalloc + self.emit
    }
}

impl AddAssign for PhaseTimes {
    fn add_assign(&mut self, o: PhaseTimes) {
        self.verify += o.verify;
        self.lower += o.lower;
        self.regalloc += o.regalloc;
        self.emit += o.emit;
    }
}

thread_local! {
    static ACCUMULATED: Cell<PhaseTimes> = const { Cell::new(PhaseTimes {
        verify: Duration::ZERO,
        lower: Duration::ZERO,
        regalloc: Duration::ZERO,
        emit: Duration::ZERO,
    }) };
}

/// The phase times this thread accumulated since the last call (then zero).
pub fn take_phase_times() -> PhaseTimes {
    ACCUMULATED.with(|c| c.replace(PhaseTimes::default()))
}

/// A stopwatch over consecutive phases of one compile.
pub(crate) struct PhaseClock {
    last: Instant,
    times: PhaseTimes,
}

impl PhaseClock {
    pub(crate) fn start() -> Self {
        PhaseClock {
            last: Instant::now(),
            times: PhaseTimes::default(),
        }
    }

    /// End the current phase, charging its time to the field `pick` selects.
    pub(crate) fn lap(&mut self, pick: fn(&mut PhaseTimes) -> &mut Duration) {
        let now = Instant::now();
        *pick(&mut self.times) += now - self.last;
        self.last = now;
    }
}

impl Drop for PhaseClock {
    /// Add the phases measured so far to the thread's accumulator (also when the compile
    /// failed part-way).
    fn drop(&mut self) {
        let t = self.times;
        ACCUMULATED.with(|c| {
            let mut acc = c.get();
            acc += t;
            c.set(acc);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::text::parse_functions;
    use crate::CompilerBuilder;

    /// Each compile adds its phases, which lie inside its wall time, and taking resets.
    #[test]
    fn phases_are_measured_per_thread_and_taken_once() {
        let funcs = parse_functions(
            "function %f(i64, i64) -> i64 {\nblock0(v0: i64, v1: i64):\n    v2 = imul v0, v1\n    v3 = iadd v2, v0\n    return v3\n}\n",
        )
        .unwrap();
        for target in ["x86_64", "aarch64"] {
            let compiler = CompilerBuilder::for_target(target)
                .unwrap()
                .build()
                .unwrap();
            let _ = take_phase_times();
            let t = Instant::now();
            compiler.compile_function(&funcs[0]).unwrap();
            let wall = t.elapsed();
            let p = take_phase_times();
            assert!(
                p.lower > Duration::ZERO && p.regalloc > Duration::ZERO,
                "{p:?}"
            );
            assert!(p.emit > Duration::ZERO, "{p:?}");
            assert!(p.total() <= wall, "{p:?} > {wall:?}");
            assert_eq!(take_phase_times(), PhaseTimes::default());
            // Two compiles add up.
            compiler.compile_function(&funcs[0]).unwrap();
            compiler.compile_function(&funcs[0]).unwrap();
            let two = take_phase_times();
            assert!(two.total() > Duration::ZERO);
        }
    }
}
