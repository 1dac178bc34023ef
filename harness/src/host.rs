//! Host functions: Rust code that the code under test calls (Kiln's runtime builtins such
//! as `memory.grow`, `memory.fill`, `table.grow`, later imported functions), implemented
//! once behind [`HostCalls`] and reachable from every engine.
//!
//! Code reaches host function `n` only through `call_indirect` on the engine's address of
//! it. Each engine owns its addresses and defines its own `host_function_address(n)` (the
//! interpreter: a reserved address range; the emulator: a stub in the runtime code page),
//! and each gives a run its host with its own `call_with_host`; the plain `call`s use
//! [`NoHost`].
//!
//! Layering: this is a leaf of the engines. It owns the [`HostCalls`] contract and
//! [`MAX_HOST_FUNCTIONS`] and depends only on the data modules (`heap`, `outcome`,
//! `value`); the engines depend on it, never the other way round.
//!
//! Invariants every engine keeps:
//! - host function `n` (`n <` [`MAX_HOST_FUNCTIONS`]) is called only when
//!   [`HostCalls::signature`]`(n)` is `Some`, with exactly one argument per parameter, each
//!   of the parameter's type; otherwise the run ends in [`Outcome::Error`] without calling
//!   it. (The interpreter also requires the `call_indirect`'s signature to equal it; machine
//!   code carries no signature, so the emulator reads the arguments the signature names.)
//! - `heaps` are the current call's heaps, in the caller's order, holding everything the
//!   code stored so far; after the host returns the code sees exactly the bytes the host
//!   left: a heap's `bytes.len()` may change (grown bytes are accessible, anything past the
//!   new end faults like any access outside a heap) and so may its `base` (the heap moves:
//!   its bytes are at the new base and its old addresses fault, as a runtime that moves a
//!   linear memory on `memory.grow` would have it), but heaps must not come to overlap (an
//!   [`Outcome::Error`]; the emulator, which maps whole pages, also requires them to stay
//!   page-separated); heap contents after that `Error` are unspecified.
//! - results must match the signature's returns in number and types, otherwise the run
//!   ends in [`Outcome::Error`]; `Err(outcome)` ends the whole run with exactly `outcome`
//!   (the instructions after the call do not run).
//! - a host call costs the fuel of the calling instruction only.

use crate::heap::Heap;
use crate::outcome::Outcome;
use crate::value::DataValue;

/// Host functions reachable from code under test (runtime builtins, imports), implemented once in Rust for every engine.
pub trait HostCalls {
    /// Signature of host function `n` (Kiln's calling convention), None if there is no such function.
    fn signature(&self, n: u32) -> Option<&kiln::ir::Signature>;
    /// Run host function `n` with `args` (typed per signature). `heaps` are the memory regions of the current call with the contents the code has written so far; the host may read and write them, grow or shrink a heap's `bytes`, and move a heap (change its `base`; heaps must stay page-separated). Returns the results (typed per signature) or an Outcome to end the whole run with (e.g. Outcome::Trapped(..) or Outcome::Error(..)).
    fn call(
        &mut self,
        n: u32,
        args: &[DataValue],
        heaps: &mut [Heap],
    ) -> Result<Vec<DataValue>, Outcome>;

    /// Does host function `n` read or write the heaps? When it does not, the emulated
    /// engines skip copying the heaps out of and back into the emulator around the call
    /// (the cost of a host call is then independent of memory size). Default: it does.
    fn uses_heaps(&self, n: u32) -> bool {
        let _ = n;
        true
    }
}

/// Maximum number of host functions (stub slots).
pub const MAX_HOST_FUNCTIONS: u32 = 64;

/// The host without functions: every host call is an [`Outcome::Error`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NoHost;

impl HostCalls for NoHost {
    fn signature(&self, _n: u32) -> Option<&kiln::ir::Signature> {
        None
    }

    fn call(
        &mut self,
        n: u32,
        _args: &[DataValue],
        _heaps: &mut [Heap],
    ) -> Result<Vec<DataValue>, Outcome> {
        Err(Outcome::Error(format!("there is no host function {n}")))
    }
}

/// A host for the engines' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use kiln::ir::{Signature, TrapCode, Type};

    /// Test host functions (all of them touch heap 0, which must exist):
    ///
    /// | n | signature | does |
    /// |---|---|---|
    /// | 0 | `(i64, i32) -> i32` | `r = a + b + heap0[2]` (32-bit); `heap0[0] += 1`, `heap0[1] = r` |
    /// | 1 | `() -> i64` | grow heap 0 by [`GROW`] bytes (zeros, last byte `0xab`); the old size |
    /// | 2 | `()` | `Err(Trapped(user7))` |
    /// | 3 | `(i64, i32, i64, i8, i64, i16, i64, i32, i64) -> (f64, i64, i32, i8)` | see [`many`] |
    /// | 4 | `() -> i64` | shrink heap 0 by [`GROW`] bytes; the new size |
    /// | 5 | `() -> i32` | returns an `i64` (a broken host) |
    /// | 6 | `()` | moves heap 0 up by [`MOVE`] bytes |
    pub(crate) struct TestHost {
        sigs: Vec<Signature>,
        /// Host calls made.
        pub calls: u32,
    }

    /// Bytes host functions 1 and 4 grow / shrink heap 0 by.
    pub(crate) const GROW: usize = 64 << 10;

    /// Bytes host function 6 moves heap 0 by (whole pages, far below the next heap).
    pub(crate) const MOVE: u64 = 1 << 20;

    impl TestHost {
        pub(crate) fn new() -> Self {
            use Type::*;
            TestHost {
                sigs: vec![
                    Signature::new(&[I64, I32], &[I32]),
                    Signature::new(&[], &[I64]),
                    Signature::new(&[], &[]),
                    Signature::new(
                        &[I64, I32, I64, I8, I64, I16, I64, I32, I64],
                        &[F64, I64, I32, I8],
                    ),
                    Signature::new(&[], &[I64]),
                    Signature::new(&[], &[I32]),
                    Signature::new(&[], &[]),
                ],
                calls: 0,
            }
        }
    }

    /// Host function 3: `(f64: the sum, i64: Σ (i+1)·aᵢ, i32: a7 ^ a1, i8: a3 + low byte of
    /// a5)`, all wrapping, integers sign-extended.
    pub(crate) fn many(args: &[DataValue]) -> Vec<DataValue> {
        let v: Vec<i64> = args.iter().map(|a| a.as_i64().unwrap_or(0)).collect();
        let sum = v.iter().fold(0i64, |s, &x| s.wrapping_add(x));
        let weighted = v.iter().enumerate().fold(0i64, |s, (i, &x)| {
            s.wrapping_add((i as i64 + 1).wrapping_mul(x))
        });
        vec![
            DataValue::f64(sum as f64),
            DataValue::I64(weighted),
            DataValue::I32((v[7] ^ v[1]) as i32),
            DataValue::I8((v[3] as i8).wrapping_add(v[5] as i8)),
        ]
    }

    impl HostCalls for TestHost {
        fn signature(&self, n: u32) -> Option<&Signature> {
            self.sigs.get(n as usize)
        }

        fn call(
            &mut self,
            n: u32,
            args: &[DataValue],
            heaps: &mut [Heap],
        ) -> Result<Vec<DataValue>, Outcome> {
            self.calls += 1;
            let h = heaps
                .first_mut()
                .ok_or_else(|| Outcome::Error("the test host needs heap 0".into()))?;
            Ok(match n {
                0 => {
                    let (a, b) = match args {
                        [DataValue::I64(a), DataValue::I32(b)] => (*a, *b),
                        _ => return Err(Outcome::Error(format!("bad arguments {args:?}"))),
                    };
                    let r = (a as i32)
                        .wrapping_add(b)
                        .wrapping_add(i32::from(h.bytes[2]));
                    h.bytes[0] = h.bytes[0].wrapping_add(1);
                    h.bytes[1] = r as u8;
                    vec![DataValue::I32(r)]
                }
                1 => {
                    let old = h.bytes.len();
                    h.bytes.resize(old + GROW, 0);
                    h.bytes[old + GROW - 1] = 0xab;
                    vec![DataValue::I64(old as i64)]
                }
                2 => return Err(Outcome::Trapped(TrapCode::User(7))),
                3 => many(args),
                4 => {
                    let new = h.bytes.len().saturating_sub(GROW);
                    h.bytes.truncate(new);
                    vec![DataValue::I64(new as i64)]
                }
                5 => vec![DataValue::I64(5)],
                6 => {
                    h.base += MOVE;
                    vec![]
                }
                _ => return Err(Outcome::Error(format!("no host function {n}"))),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_host_has_no_functions() {
        let mut h = NoHost;
        assert!((0..MAX_HOST_FUNCTIONS).all(|n| h.signature(n).is_none()));
        assert!(matches!(h.call(0, &[], &mut []), Err(Outcome::Error(_))));
    }
}
