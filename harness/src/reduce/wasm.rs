//! Reducing a Wasm case ([`WasmCase`]: a module and its invocations) while a predicate
//! holds: first the invocations (drop every call after the last one the predicate needs,
//! then each earlier call); then the module's text, line by line (the module printed as
//! WAT by `wasmprinter`, one instruction per line; delta debugging removes chunks of
//! lines, halving the chunk size, keeping every candidate that still parses, validates
//! and satisfies the predicate); then the `wasm-shrink` crate (random reducing mutations
//! from `wasm-mutate`: unused items, smaller expressions); then lines and invocations once
//! more.
//!
//! Invariants: the result always satisfies the predicate (it is the input when nothing
//! smaller did); candidates that do not validate under Kiln's feature set (whole module,
//! every function body: [`crate::gen::wasm::validate`]) never reach the predicate; reduction stops at the
//! deadline, keeping the smallest case found so far; the same input, seed and predicate
//! give the same result.

use crate::gen::wasm::WasmCase;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// What a reduction did.
#[derive(Clone, Debug)]
pub struct WasmReduction {
    /// The smallest interesting case found.
    pub case: WasmCase,
    /// Size before: module bytes, Wasm instructions (operators in function bodies),
    /// invocations.
    pub before: WasmSize,
    /// Size after.
    pub after: WasmSize,
    /// Predicate calls made.
    pub checks: usize,
}

/// The size of a Wasm case.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WasmSize {
    /// Module bytes.
    pub bytes: usize,
    /// Operators over all function bodies (including each body's `end`).
    pub instructions: usize,
    /// Defined functions.
    pub functions: usize,
    /// Invocations.
    pub calls: usize,
}

impl std::fmt::Display for WasmSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes, {} function(s), {} instruction(s), {} call(s)",
            self.bytes, self.functions, self.instructions, self.calls
        )
    }
}

/// The size of `case` (instructions count 0 for a module that does not parse).
pub fn size_of(case: &WasmCase) -> WasmSize {
    let mut functions = 0;
    let mut instructions = 0;
    for payload in wasmparser::Parser::new(0).parse_all(&case.wasm) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        functions += 1;
        if let Ok(mut ops) = body.get_operators_reader() {
            while !ops.eof() {
                if ops.read().is_err() {
                    break;
                }
                instructions += 1;
            }
        }
    }
    WasmSize {
        bytes: case.wasm.len(),
        instructions,
        functions,
        calls: case.calls.len(),
    }
}

/// Reduce `case` while `interesting` holds (see the module docs). `seed` drives
/// wasm-shrink's mutations; `deadline` bounds the whole reduction.
pub fn reduce(
    case: &WasmCase,
    interesting: &mut dyn FnMut(&WasmCase) -> bool,
    seed: u64,
    deadline: Option<Instant>,
) -> WasmReduction {
    let before = size_of(case);
    let mut checks = 0usize;
    let expired = || deadline.is_some_and(|d| Instant::now() >= d);
    let mut check = |c: &WasmCase, checks: &mut usize| -> bool {
        if crate::gen::wasm::validate(&c.wasm).is_err() {
            return false;
        }
        *checks += 1;
        interesting(c)
    };
    let mut best = case.clone();
    reduce_calls(&mut best, &mut |c| !expired() && check(c, &mut checks));
    reduce_lines(&mut best, &mut |c| check(c, &mut checks), &expired);
    if !expired() {
        let smallest = Rc::new(RefCell::new(best.wasm.clone()));
        let record = smallest.clone();
        let calls = best.calls.clone();
        let shrink = wasm_shrink::WasmShrink::default()
            .attempts(3000)
            .seed(seed)
            .on_new_smallest(Some(Box::new(move |w: &[u8]| {
                *record.borrow_mut() = w.to_vec();
                Ok(())
            })));
        let _ = shrink.run(best.wasm.clone(), |w: &[u8]| -> anyhow::Result<bool> {
            if expired() {
                anyhow::bail!("deadline");
            }
            let candidate = WasmCase {
                wasm: w.to_vec(),
                calls: calls.clone(),
            };
            Ok(check(&candidate, &mut checks))
        });
        best.wasm = smallest.borrow().clone();
    }
    reduce_lines(&mut best, &mut |c| check(c, &mut checks), &expired);
    reduce_calls(&mut best, &mut |c| !expired() && check(c, &mut checks));
    WasmReduction {
        before,
        after: size_of(&best),
        case: best,
        checks,
    }
}

/// Delta debugging over the lines of the module's WAT: remove chunks of lines (halving the
/// chunk size down to one line, and again while a pass removes anything) while the text
/// still assembles and `interesting` holds. Candidates that do not assemble cost a parse.
/// Stops as soon as `expired` says so (a pass over a large module's text is long even
/// when no candidate is checked).
fn reduce_lines(
    case: &mut WasmCase,
    interesting: &mut dyn FnMut(&WasmCase) -> bool,
    expired: &dyn Fn() -> bool,
) {
    let Ok(text) = wasmprinter::print_bytes(&case.wasm) else {
        return;
    };
    let mut lines: Vec<&str> = text.lines().collect();
    loop {
        let before = lines.len();
        let mut chunk = (lines.len() / 2).max(1);
        loop {
            let mut i = 0;
            while i < lines.len() {
                if expired() {
                    return;
                }
                let end = (i + chunk).min(lines.len());
                let candidate: Vec<&str> =
                    lines[..i].iter().chain(&lines[end..]).copied().collect();
                let accepted = wat::parse_str(candidate.join("\n"))
                    .ok()
                    .is_some_and(|wasm| {
                        let c = WasmCase {
                            wasm,
                            calls: case.calls.clone(),
                        };
                        if interesting(&c) {
                            *case = c;
                            true
                        } else {
                            false
                        }
                    });
                if accepted {
                    lines = candidate;
                } else {
                    i += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
        if lines.len() == before {
            return;
        }
    }
}

/// Drop invocations while `interesting` holds: the longest interesting prefix first, then
/// each remaining call from the last to the first.
fn reduce_calls(case: &mut WasmCase, interesting: &mut dyn FnMut(&WasmCase) -> bool) {
    // Shortest interesting prefix (linear from the front: cases have few calls).
    for n in 0..case.calls.len() {
        let candidate = WasmCase {
            wasm: case.wasm.clone(),
            calls: case.calls[..n].to_vec(),
        };
        if interesting(&candidate) {
            *case = candidate;
            break;
        }
    }
    let mut i = case.calls.len();
    while i > 0 {
        i -= 1;
        let mut candidate = case.clone();
        candidate.calls.remove(i);
        if interesting(&candidate) {
            *case = candidate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::DataValue;

    use crate::gen::wasm::tests::case;

    #[test]
    fn shrinks_to_what_the_predicate_needs() {
        let c = case(
            r#"(module
              (memory 1)
              (global $g (mut i32) (i32.const 0))
              (func $noise (param i32) (result i32)
                local.get 0 i32.const 3 i32.mul i32.const 7 i32.add
                global.get $g i32.xor global.set $g global.get $g)
              (func (export "a") (param i32) (result i32)
                local.get 0 call $noise drop
                i32.const 100 i32.load drop
                local.get 0 i32.const 5 i32.rem_s)
              (func (export "b") (result i32) i32.const 1 call $noise))"#,
            &[("b", vec![]), ("a", vec![DataValue::I32(7)]), ("b", vec![])],
        );
        let before = size_of(&c);
        assert_eq!((before.functions, before.calls), (3, 3));
        // Interesting: still has an i32.rem_s and still calls "a".
        let mut pred = |c: &WasmCase| {
            let wat = wasmprinter::print_bytes(&c.wasm).unwrap_or_default();
            wat.contains("i32.rem_s") && c.calls.iter().any(|x| x.export == "a")
        };
        let r = reduce(&c, &mut pred, 1, None);
        assert!(pred(&r.case));
        assert_eq!(r.after.calls, 1);
        assert!(r.after.bytes < before.bytes, "{} -> {}", before, r.after);
        assert!(
            r.after.instructions < before.instructions,
            "{} -> {}",
            before,
            r.after
        );
        assert!(r.checks > 0);
        // A deadline in the past leaves the case alone.
        let past = Instant::now();
        let r = reduce(&c, &mut pred, 1, Some(past));
        assert_eq!(r.case, c);
    }
}
