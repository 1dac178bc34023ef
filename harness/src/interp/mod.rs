//! The IR interpreter: the reference semantics of Kiln IR (`docs/kir.md` is the contract).
//!
//! [`Interpreter`] runs one function of a test file (calls between the file's functions
//! included) on [`DataValue`]s and reports an [`Outcome`]. Other engines are checked
//! against it.
//!
//! Execution model and choices (all engines must agree on what is observable):
//! - Frames live on an explicit stack (no Rust recursion), each with a value table indexed
//!   by value number; all value tables share one `Vec` that is reused across calls, so
//!   running an instruction never allocates.
//! - Fuel: every executed instruction costs 1 (a call costs 1 in the caller, then each
//!   callee instruction costs its own). When the budget is spent the next instruction
//!   ends the run with [`Outcome::OutOfFuel`].
//! - Depth: pushing a frame beyond [`MAX_CALL_DEPTH`] frames (or exceeding the stack-slot
//!   budget, see [`memory::STACK_LIMIT`]) is `Trapped(StackOverflow)`, like a compiled
//!   function's stack-limit check.
//! - Memory: see [`memory`]; accesses outside heaps and live slots are memory faults.
//! - `func_addr` yields [`FUNC_ADDR_BASE`]` + 16 * index` for the file's functions and
//!   [`LIBCALL_ADDR_BASE`]` + 16 * n` for libcall `n` (in [`LibCall::ALL`] order);
//!   `call_indirect` maps those back. Any other callee address, a callee whose signature
//!   differs from the call's, or a call to a name not defined in the file is
//!   [`Outcome::Error`]: the test case is broken, not the code under test.
//! - Host functions ([`crate::host`]): host function `n` is at [`host_function_address`]`(n)`
//!   (`HOST_ADDR_BASE + 16 * n`, `n <` [`MAX_HOST_FUNCTIONS`]), reachable only through
//!   `call_indirect` (no `func_addr` names it). The call's signature must equal
//!   [`HostCalls::signature`]`(n)`, the host's results must match it, and no heap's base may
//!   change (nor may heaps come to overlap), otherwise [`Outcome::Error`]; the host works
//!   on the caller's heaps directly, and `Err(outcome)` from it ends the run with that
//!   outcome. The `call_indirect` costs 1 fuel like any call; a host call may allocate
//!   (nothing else per instruction does).
//! - Float NaN results: `fneg`, `fabs` and `fcopysign` keep payloads, `fpromote` and
//!   `fdemote` keep sign and payload and quiet the NaN (like the hardware); every other float
//!   operation that produces a NaN produces the canonical quiet NaN ([`CANON_NAN_F32`],
//!   [`CANON_NAN_F64`]), so results do not depend on the host CPU.
//!
//! Invariant: for any function that passes the verifier nothing here panics (a host
//! function's own panic propagates to the caller); malformed functions end in
//! [`Outcome::Error`].

pub mod memory;
mod ops;
mod vector;

pub use memory::{Heap, STACK_BASE};
pub use ops::{CANON_NAN_F32, CANON_NAN_F64};

use crate::host::{HostCalls, NoHost, MAX_HOST_FUNCTIONS};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::{
    BlockCall, ExternalName, Function, Inst, InstructionData, LibCall, Opcode, Signature, TrapCode,
    Type, UserExternalName, UserFuncName, Value,
};
use memory::{FrameSlots, StackMemory};
use std::collections::HashMap;

/// Default instruction budget of one [`Interpreter::call`].
pub const DEFAULT_FUEL: u64 = 10_000_000;
/// Maximum number of live frames; one more call traps `stk_ovf`. Above the Wasm
/// differential loop's recursion bound (its termination counter allows about 1,000
/// nested calls), so recursion there is never inconclusive on the interpreter.
pub const MAX_CALL_DEPTH: usize = 2_000;
/// `func_addr` of the file's function `i` is `FUNC_ADDR_BASE + 16 * i`.
pub const FUNC_ADDR_BASE: u64 = 0x5000_0000_0000;
/// `func_addr` of libcall `n` (index in [`LibCall::ALL`]) is `LIBCALL_ADDR_BASE + 16 * n`.
pub const LIBCALL_ADDR_BASE: u64 = 0x5100_0000_0000;
/// Host function `n` ([`crate::host`]) is at `HOST_ADDR_BASE + 16 * n`.
pub const HOST_ADDR_BASE: u64 = 0x5200_0000_0000;
const ADDR_STRIDE: u64 = 16;

/// The interpreter's address of host function `n` (callable through `call_indirect` when
/// `n <` [`MAX_HOST_FUNCTIONS`]).
pub fn host_function_address(n: u32) -> u64 {
    HOST_ADDR_BASE + ADDR_STRIDE * u64::from(n)
}

/// One activation.
struct Frame {
    /// Index of the function in the file.
    func: usize,
    /// Start of its value table in `Interpreter::values`.
    vbase: usize,
    /// Number of values of the function (length of its table).
    nvalues: usize,
    /// Its stack slots.
    slots: FrameSlots,
    /// Next instruction to execute.
    next: Option<Inst>,
    /// The caller's `call` / `call_indirect` waiting for the results (`None` for the
    /// outermost frame).
    ret_to: Option<Inst>,
}

/// What a call instruction targets.
#[derive(Copy, Clone)]
enum Callee {
    Func(usize),
    Lib(LibCall),
    /// Host function `n`.
    Host(u32),
}

/// Runs functions of one test file.
pub struct Interpreter<'f> {
    functions: &'f [Function],
    by_name: HashMap<UserExternalName, usize>,
    fuel: u64,
    fuel_used: u64,
    frames: Vec<Frame>,
    values: Vec<DataValue>,
    scratch: Vec<DataValue>,
    stack: StackMemory,
}

#[cold]
fn error(msg: impl Into<String>) -> Outcome {
    Outcome::Error(msg.into())
}

/// The one parameter / result type of a libcall.
fn libcall_type(l: LibCall) -> Type {
    match l {
        LibCall::CeilF32 | LibCall::FloorF32 | LibCall::TruncF32 | LibCall::NearestF32 => Type::F32,
        _ => Type::F64,
    }
}

/// The unary opcode a libcall computes.
fn libcall_opcode(l: LibCall) -> Opcode {
    match l {
        LibCall::CeilF32 | LibCall::CeilF64 => Opcode::Ceil,
        LibCall::FloorF32 | LibCall::FloorF64 => Opcode::Floor,
        LibCall::TruncF32 | LibCall::TruncF64 => Opcode::Trunc,
        LibCall::NearestF32 | LibCall::NearestF64 => Opcode::Nearest,
    }
}

/// Does `sig` equal the libcall's own signature? (Without allocating one.)
fn libcall_sig_matches(l: LibCall, sig: &Signature) -> bool {
    let t = [libcall_type(l)];
    sig.params == t && sig.returns == t
}

impl<'f> Interpreter<'f> {
    /// An interpreter for the functions of one test file. Calls by user name resolve to
    /// the first function of `functions` with that name.
    pub fn new(functions: &'f [Function]) -> Self {
        let mut by_name = HashMap::new();
        for (i, f) in functions.iter().enumerate() {
            if let UserFuncName::User(n) = f.params.name {
                by_name.entry(n).or_insert(i);
            }
        }
        Interpreter {
            functions,
            by_name,
            fuel: DEFAULT_FUEL,
            fuel_used: 0,
            frames: Vec::new(),
            values: Vec::new(),
            scratch: Vec::new(),
            stack: StackMemory::default(),
        }
    }

    /// Set the instruction budget of each [`Self::call`].
    pub fn with_fuel(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }

    /// Instructions executed by the last [`Self::call`].
    pub fn fuel_used(&self) -> u64 {
        self.fuel_used
    }

    /// The functions this interpreter runs.
    pub fn functions(&self) -> &'f [Function] {
        self.functions
    }

    /// Index of the function named `name` (first match), if any.
    pub fn find_function(&self, name: &UserFuncName) -> Option<usize> {
        self.functions.iter().position(|f| f.params.name == *name)
    }

    /// Call function `func_index` with `args` and run it to completion. `heaps` are the
    /// memory regions the code may access besides its own stack slots; they keep whatever
    /// the code stored. No host functions ([`NoHost`]).
    pub fn call(&mut self, func_index: usize, args: &[DataValue], heaps: &mut [Heap]) -> Outcome {
        self.call_with_host(func_index, args, heaps, &mut NoHost)
    }

    /// [`Self::call`] with `host` reachable through `call_indirect` on
    /// [`host_function_address`]es.
    pub fn call_with_host(
        &mut self,
        func_index: usize,
        args: &[DataValue],
        heaps: &mut [Heap],
        host: &mut dyn HostCalls,
    ) -> Outcome {
        self.frames.clear();
        self.values.clear();
        self.stack.clear();
        self.fuel_used = 0;
        let Some(func) = self.functions.get(func_index) else {
            return error(format!(
                "no function number {func_index} (the file has {})",
                self.functions.len()
            ));
        };
        let params = &func.signature.params;
        if args.len() != params.len() || args.iter().zip(params).any(|(a, t)| a.ty() != *t) {
            let given: Vec<&str> = args.iter().map(|a| a.ty().name()).collect();
            return error(format!(
                "{} takes ({}) but was called with ({})",
                func.params.name,
                params
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                given.join(", ")
            ));
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(args);
        let result = self
            .push_frame(func_index, None)
            .and_then(|()| self.run(heaps, host));
        let out = match result {
            Ok(vals) => Outcome::Returned(vals),
            Err(o) => o,
        };
        self.frames.clear();
        self.values.clear();
        self.stack.clear();
        out
    }

    /// Push a frame for function `idx`, passing `self.scratch` as its arguments.
    fn push_frame(&mut self, idx: usize, ret_to: Option<Inst>) -> Result<(), Outcome> {
        if self.frames.len() >= MAX_CALL_DEPTH {
            return Err(Outcome::Trapped(TrapCode::StackOverflow));
        }
        let functions = self.functions;
        let func = functions
            .get(idx)
            .ok_or_else(|| error(format!("no function number {idx}")))?;
        let entry = func
            .layout
            .entry_block()
            .ok_or_else(|| error(format!("{} has no entry block", func.params.name)))?;
        let params = func.dfg.block_params(entry);
        if params.len() != self.scratch.len() {
            return Err(error(format!(
                "{}: entry block takes {} parameters, {} arguments given",
                func.params.name,
                params.len(),
                self.scratch.len()
            )));
        }
        let nvalues = func.dfg.values.len();
        let vbase = self.values.len();
        let slots = self.stack.push_frame(&func.stack_slots)?;
        self.values.resize(vbase + nvalues, DataValue::I8(0));
        for (&p, &a) in params.iter().zip(&self.scratch) {
            if func.dfg.value_type(p) != Some(a.ty()) {
                self.stack.pop_frame(slots);
                self.values.truncate(vbase);
                return Err(error(format!(
                    "{}: argument {a} does not fit parameter {p}",
                    func.params.name
                )));
            }
            self.values[vbase + p.as_u32() as usize] = a;
        }
        self.frames.push(Frame {
            func: idx,
            vbase,
            nvalues,
            slots,
            next: func.layout.first_inst(entry),
            ret_to,
        });
        Ok(())
    }

    /// Read value `v` of the current frame.
    #[inline]
    fn get(&self, vbase: usize, nvalues: usize, v: Value) -> Result<DataValue, Outcome> {
        let i = v.as_u32() as usize;
        if i < nvalues {
            Ok(self.values[vbase + i])
        } else {
            Err(error(format!("use of undefined value {v}")))
        }
    }

    /// Write value `v` of the current frame.
    #[inline]
    fn set(&mut self, vbase: usize, nvalues: usize, v: Value, x: DataValue) -> Result<(), Outcome> {
        let i = v.as_u32() as usize;
        if i < nvalues {
            self.values[vbase + i] = x;
            Ok(())
        } else {
            Err(error(format!("definition of out-of-range value {v}")))
        }
    }

    /// Evaluate `vals` of the current frame into `self.scratch`.
    #[inline]
    fn gather(&mut self, vbase: usize, nvalues: usize, vals: &[Value]) -> Result<(), Outcome> {
        self.scratch.clear();
        for &v in vals {
            let x = self.get(vbase, nvalues, v)?;
            self.scratch.push(x);
        }
        Ok(())
    }

    /// Take the branch `bc` in the current frame: evaluate all arguments first, then
    /// assign the target's parameters (a parallel assignment), then continue at the
    /// target's first instruction.
    fn branch(&mut self, func: &Function, bc: BlockCall) -> Result<(), Outcome> {
        let Some(frame) = self.frames.last() else {
            return Err(error("no frame"));
        };
        let (vbase, nvalues) = (frame.vbase, frame.nvalues);
        self.gather(vbase, nvalues, func.dfg.block_call_args(&bc))?;
        let params = func.dfg.block_params(bc.block);
        if params.len() != self.scratch.len() || !func.layout.is_block_inserted(bc.block) {
            return Err(error(format!(
                "bad branch to {} with {} arguments",
                bc.block,
                self.scratch.len()
            )));
        }
        for (i, &p) in params.iter().enumerate() {
            let x = self.scratch[i];
            self.set(vbase, nvalues, p, x)?;
        }
        if let Some(frame) = self.frames.last_mut() {
            frame.next = func.layout.first_inst(bc.block);
        }
        Ok(())
    }

    /// Resolve a user external name to a function of the file.
    fn resolve_user(&self, caller: &Function, ext: ExternalName) -> Result<Callee, Outcome> {
        match ext {
            ExternalName::LibCall(l) => Ok(Callee::Lib(l)),
            ExternalName::User(r) => {
                let name = caller
                    .params
                    .user_name(r)
                    .ok_or_else(|| error(format!("undeclared external name {r}")))?;
                self.by_name
                    .get(&name)
                    .map(|&i| Callee::Func(i))
                    .ok_or_else(|| {
                        error(format!(
                            "call to {name}, which is not a function of this file"
                        ))
                    })
            }
        }
    }

    /// The address `func_addr` gives a callee.
    fn callee_addr(c: Callee) -> u64 {
        match c {
            Callee::Func(i) => FUNC_ADDR_BASE + ADDR_STRIDE * i as u64,
            Callee::Lib(l) => {
                let n = LibCall::ALL.iter().position(|&x| x == l).unwrap_or(0);
                LIBCALL_ADDR_BASE + ADDR_STRIDE * n as u64
            }
            Callee::Host(n) => host_function_address(n),
        }
    }

    /// The callee at a `call_indirect` address.
    fn callee_at(&self, addr: u64) -> Result<Callee, Outcome> {
        let decode = |base: u64, n: usize| {
            let off = addr.checked_sub(base)?;
            let i = off / ADDR_STRIDE;
            (off % ADDR_STRIDE == 0 && i < n as u64).then_some(i as usize)
        };
        if let Some(i) = decode(FUNC_ADDR_BASE, self.functions.len()) {
            Ok(Callee::Func(i))
        } else if let Some(n) = decode(LIBCALL_ADDR_BASE, LibCall::ALL.len()) {
            Ok(Callee::Lib(LibCall::ALL[n]))
        } else if let Some(n) = decode(HOST_ADDR_BASE, MAX_HOST_FUNCTIONS as usize) {
            Ok(Callee::Host(n as u32))
        } else {
            Err(error(format!(
                "call_indirect to {addr:#x}, which is not a function address"
            )))
        }
    }

    /// Perform a call from instruction `inst` of the current frame; arguments are in
    /// `self.scratch`. A function call pushes a frame (the caller resumes after `inst`
    /// when it returns); a libcall or host call is computed at once.
    fn do_call(
        &mut self,
        caller: &Function,
        inst: Inst,
        callee: Callee,
        sig: &Signature,
        heaps: &mut [Heap],
        host: &mut dyn HostCalls,
    ) -> Result<(), Outcome> {
        let Some(frame) = self.frames.last_mut() else {
            return Err(error("no frame"));
        };
        frame.next = caller.layout.next_inst(inst);
        let (vbase, nvalues) = (frame.vbase, frame.nvalues);
        if self.scratch.len() != sig.params.len()
            || self
                .scratch
                .iter()
                .zip(&sig.params)
                .any(|(a, t)| a.ty() != *t)
        {
            return Err(error(format!("{inst}: arguments do not match {sig}")));
        }
        match callee {
            Callee::Lib(l) => {
                if !libcall_sig_matches(l, sig) {
                    return Err(error(format!(
                        "{inst}: libcall {} called with signature {sig}",
                        l.name()
                    )));
                }
                let r = ops::unary(libcall_opcode(l), self.scratch[0])?;
                let res = caller.dfg.inst_results(inst);
                if res.len() != 1 {
                    return Err(error(format!("{inst}: libcall result count")));
                }
                self.set(vbase, nvalues, res[0], r)
            }
            Callee::Func(i) => {
                let callee_fn = &self.functions[i];
                if callee_fn.signature != *sig {
                    return Err(error(format!(
                        "{inst}: {} has signature {}, called as {sig}",
                        callee_fn.params.name, callee_fn.signature
                    )));
                }
                self.push_frame(i, Some(inst))
            }
            Callee::Host(n) => {
                if host.signature(n) != Some(sig) {
                    return Err(error(format!(
                        "{inst}: host function {n} called as {sig}, but its signature is {}",
                        host.signature(n)
                            .map_or("unknown (there is no such function)".to_string(), |s| {
                                s.to_string()
                            })
                    )));
                }
                let result = host.call(n, &self.scratch, heaps);
                let end = |h: &Heap| h.base.saturating_add(h.bytes.len() as u64);
                for (i, a) in heaps.iter().enumerate() {
                    if heaps[..i]
                        .iter()
                        .any(|b| a.base < end(b) && b.base < end(a))
                    {
                        return Err(error(format!(
                            "{inst}: host function {n} made the heap at {:#x} overlap another",
                            a.base
                        )));
                    }
                }
                let results = result?;
                let res = caller.dfg.inst_results(inst);
                if results.len() != sig.returns.len()
                    || results.iter().zip(&sig.returns).any(|(v, t)| v.ty() != *t)
                    || res.len() != results.len()
                {
                    return Err(error(format!(
                        "{inst}: host function {n} returned ({}), which does not match {sig}",
                        results
                            .iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                for (&r, &x) in res.iter().zip(&results) {
                    self.set(vbase, nvalues, r, x)?;
                }
                Ok(())
            }
        }
    }

    /// Return from the current frame with `self.scratch` as results. `Some(values)` when
    /// the outermost frame returned.
    fn do_return(&mut self) -> Result<Option<Vec<DataValue>>, Outcome> {
        let functions = self.functions;
        let Some(frame) = self.frames.pop() else {
            return Err(error("no frame"));
        };
        let func = &functions[frame.func];
        if self.scratch.len() != func.signature.returns.len()
            || self
                .scratch
                .iter()
                .zip(&func.signature.returns)
                .any(|(v, t)| v.ty() != *t)
        {
            return Err(error(format!(
                "{} returned values that do not match its signature",
                func.params.name
            )));
        }
        self.stack.pop_frame(frame.slots);
        self.values.truncate(frame.vbase);
        let Some(call) = frame.ret_to else {
            return Ok(Some(core::mem::take(&mut self.scratch)));
        };
        let Some(caller) = self.frames.last() else {
            return Err(error("return into a missing frame"));
        };
        let caller_fn = &functions[caller.func];
        let (vbase, nvalues) = (caller.vbase, caller.nvalues);
        let results = caller_fn.dfg.inst_results(call);
        if results.len() != self.scratch.len() {
            return Err(error(format!("{call}: wrong number of results")));
        }
        for (i, &r) in results.iter().enumerate() {
            let x = self.scratch[i];
            self.set(vbase, nvalues, r, x)?;
        }
        Ok(None)
    }

    /// The interpreter loop.
    fn run(
        &mut self,
        heaps: &mut [Heap],
        host: &mut dyn HostCalls,
    ) -> Result<Vec<DataValue>, Outcome> {
        let functions = self.functions;
        loop {
            let Some(frame) = self.frames.last() else {
                return Err(error("no frame"));
            };
            let func = &functions[frame.func];
            let (vbase, nvalues) = (frame.vbase, frame.nvalues);
            let Some(inst) = frame.next else {
                return Err(error(format!(
                    "{}: execution ran off the end of a block",
                    func.params.name
                )));
            };
            if self.fuel_used >= self.fuel {
                return Err(Outcome::OutOfFuel);
            }
            self.fuel_used += 1;
            let dfg = &func.dfg;
            let Some(&data) = dfg.insts.get(inst) else {
                return Err(error(format!("{inst} does not exist")));
            };
            let opcode = data.opcode();
            // The single result of a value-producing instruction, and its type.
            let result = || -> Result<(Value, Type), Outcome> {
                let r = dfg
                    .first_result(inst)
                    .ok_or_else(|| error(format!("{inst} ({opcode}) has no result")))?;
                let t = dfg
                    .value_type(r)
                    .ok_or_else(|| error(format!("{inst}: result {r} does not exist")))?;
                Ok((r, t))
            };
            let get = |this: &Self, v: Value| this.get(vbase, nvalues, v);
            use InstructionData as D;
            let (r, x) = match data {
                D::UnaryImm { imm, .. } => {
                    let (r, t) = result()?;
                    let v = DataValue::from_int(t, imm as u64)
                        .filter(|_| opcode == Opcode::Iconst)
                        .ok_or_else(|| ops::type_error(opcode, "needs an integer type"))?;
                    (r, v)
                }
                D::UnaryIeee { bits, .. } => {
                    let (r, t) = result()?;
                    let v = match t {
                        Type::F32 if bits >> 32 == 0 => DataValue::F32(bits as u32),
                        Type::F64 => DataValue::F64(bits),
                        _ => return Err(ops::type_error(opcode, "bad float constant")),
                    };
                    (r, v)
                }
                D::UnaryConst { constant, .. } => {
                    let (r, t) = result()?;
                    let bytes = dfg
                        .constants
                        .get(constant)
                        .ok_or_else(|| error(format!("{constant} does not exist")))?;
                    if !t.is_vector() {
                        return Err(ops::type_error(opcode, "needs a vector type"));
                    }
                    (r, DataValue::V128(t, *bytes))
                }
                D::Unary { arg, .. } => {
                    let (r, t) = result()?;
                    let a = get(self, arg)?;
                    let v = match opcode.result_rule() {
                        kiln::ir::ResultRule::Explicit => ops::convert(opcode, t, a)?,
                        _ => ops::unary(opcode, a)?,
                    };
                    (r, v)
                }
                D::Binary { args, .. } => {
                    let (r, t) = result()?;
                    let (a, b) = (get(self, args[0])?, get(self, args[1])?);
                    let v = match opcode {
                        Opcode::Snarrow | Opcode::Unarrow => vector::narrow(opcode, t, a, b)?,
                        Opcode::SwidenMulLow
                        | Opcode::SwidenMulHigh
                        | Opcode::UwidenMulLow
                        | Opcode::UwidenMulHigh
                        | Opcode::Sdot => vector::widening(opcode, t, a, b)?,
                        Opcode::SqmulRoundSat => vector::sqmul_round_sat(a, b)?,
                        _ => ops::binary(opcode, a, b)?,
                    };
                    (r, v)
                }
                D::Shuffle { args, mask, .. } => {
                    let (r, _) = result()?;
                    let mask = dfg
                        .constants
                        .get(mask)
                        .ok_or_else(|| error(format!("{mask} does not exist")))?;
                    let v = vector::shuffle(get(self, args[0])?, get(self, args[1])?, mask)?;
                    (r, v)
                }
                D::Ternary { args, .. } if opcode == Opcode::Bitselect => {
                    let (r, _) = result()?;
                    let (c, a, b) = (
                        get(self, args[0])?,
                        get(self, args[1])?,
                        get(self, args[2])?,
                    );
                    (r, vector::bitselect(c, a, b)?)
                }
                D::Ternary { args, .. } => {
                    let (r, _) = result()?;
                    let c = get(self, args[0])?;
                    let (a, b) = (get(self, args[1])?, get(self, args[2])?);
                    let c = c
                        .as_u64()
                        .filter(|_| opcode == Opcode::Select && a.ty() == b.ty())
                        .ok_or_else(|| ops::type_error(opcode, "bad operands"))?;
                    (r, if c != 0 { a } else { b })
                }
                D::IntCompare { cond, args, .. } => {
                    let (r, _) = result()?;
                    (
                        r,
                        ops::icmp(cond, get(self, args[0])?, get(self, args[1])?)?,
                    )
                }
                D::FloatCompare { cond, args, .. } => {
                    let (r, _) = result()?;
                    (
                        r,
                        ops::fcmp(cond, get(self, args[0])?, get(self, args[1])?)?,
                    )
                }
                D::ExtractLane { arg, lane, .. } => {
                    let (r, _) = result()?;
                    (r, ops::extractlane(get(self, arg)?, lane)?)
                }
                D::InsertLane { args, lane, .. } => {
                    let (r, _) = result()?;
                    let v = ops::insertlane(get(self, args[0])?, get(self, args[1])?, lane)?;
                    (r, v)
                }
                D::Load { arg, offset, .. } => {
                    let (r, t) = result()?;
                    let base = address(get(self, arg)?, opcode)?;
                    let addr = base.wrapping_add(offset as i64 as u64);
                    let size = opcode.access_bytes(t) as usize;
                    let bytes = self.stack.read(heaps, addr, size)?;
                    (r, ops::load_value(opcode, t, bytes)?)
                }
                D::Store { args, offset, .. } => {
                    let v = get(self, args[0])?;
                    let base = address(get(self, args[1])?, opcode)?;
                    let addr = base.wrapping_add(offset as i64 as u64);
                    self.store(heaps, opcode, v, addr)?;
                    self.advance(func, inst);
                    continue;
                }
                D::MemLane {
                    args, offset, lane, ..
                } => {
                    let v = get(self, args[0])?;
                    let base = address(get(self, args[1])?, opcode)?;
                    let addr = base.wrapping_add(offset as i64 as u64);
                    let size = opcode.access_bytes(v.ty()) as usize;
                    if opcode == Opcode::StoreLane {
                        let x = ops::extractlane(v, lane)?;
                        self.stack.write(heaps, addr, &x.to_le_bytes()[..size])?;
                        self.advance(func, inst);
                        continue;
                    }
                    let (r, _) = result()?;
                    let bytes = self.stack.read(heaps, addr, size)?;
                    let x = DataValue::from_le_bytes(v.ty().lane_type(), bytes)
                        .ok_or_else(|| ops::type_error(opcode, "load_lane needs a vector"))?;
                    (r, ops::insertlane(v, x, lane)?)
                }
                D::StackLoad { slot, offset, .. } => {
                    let (r, t) = result()?;
                    let base = self
                        .stack
                        .slot_addr(frame.slots, slot)
                        .ok_or_else(|| error(format!("{slot} does not exist")))?;
                    let addr = base.wrapping_add(offset as i64 as u64);
                    let v = match opcode {
                        Opcode::StackAddr => DataValue::I64(addr as i64),
                        _ => {
                            let size = opcode.access_bytes(t) as usize;
                            let bytes = self.stack.read(heaps, addr, size)?;
                            ops::load_value(opcode, t, bytes)?
                        }
                    };
                    (r, v)
                }
                D::StackStore {
                    arg, slot, offset, ..
                } => {
                    let v = get(self, arg)?;
                    let base = self
                        .stack
                        .slot_addr(frame.slots, slot)
                        .ok_or_else(|| error(format!("{slot} does not exist")))?;
                    let addr = base.wrapping_add(offset as i64 as u64);
                    self.store(heaps, opcode, v, addr)?;
                    self.advance(func, inst);
                    continue;
                }
                D::Jump { destination, .. } => {
                    self.branch(func, destination)?;
                    continue;
                }
                D::Brif { arg, blocks, .. } => {
                    let c = condition(get(self, arg)?, opcode)?;
                    self.branch(func, blocks[if c != 0 { 0 } else { 1 }])?;
                    continue;
                }
                D::BranchTable { arg, table, .. } => {
                    let idx = match get(self, arg)? {
                        DataValue::I32(i) => i as u32 as usize,
                        _ => return Err(ops::type_error(opcode, "index must be i32")),
                    };
                    let jt = dfg
                        .jump_tables
                        .get(table)
                        .ok_or_else(|| error(format!("{table} does not exist")))?;
                    let bc = match jt.table().get(idx) {
                        Some(bc) => *bc,
                        None => *jt
                            .default_block()
                            .ok_or_else(|| error(format!("{table} is empty")))?,
                    };
                    self.branch(func, bc)?;
                    continue;
                }
                D::MultiAry { args, .. } => {
                    if opcode != Opcode::Return {
                        return Err(ops::type_error(opcode, "unknown instruction"));
                    }
                    self.gather(vbase, nvalues, dfg.value_lists.get(args))?;
                    if let Some(vals) = self.do_return()? {
                        return Ok(vals);
                    }
                    continue;
                }
                D::Trap { code, .. } => return Err(Outcome::Trapped(code)),
                D::CondTrap { arg, code, .. } => {
                    let c = condition(get(self, arg)?, opcode)?;
                    let taken = match opcode {
                        Opcode::Trapz => c == 0,
                        Opcode::Trapnz => c != 0,
                        _ => return Err(ops::type_error(opcode, "unknown instruction")),
                    };
                    if taken {
                        return Err(Outcome::Trapped(code));
                    }
                    self.advance(func, inst);
                    continue;
                }
                D::Call { func_ref, args, .. } => {
                    let ext = dfg
                        .ext_funcs
                        .get(func_ref)
                        .ok_or_else(|| error(format!("{func_ref} is not declared")))?;
                    let sig = dfg
                        .signatures
                        .get(ext.signature)
                        .ok_or_else(|| error(format!("{} does not exist", ext.signature)))?;
                    let callee = self.resolve_user(func, ext.name)?;
                    self.gather(vbase, nvalues, dfg.value_lists.get(args))?;
                    self.do_call(func, inst, callee, sig, heaps, host)?;
                    continue;
                }
                D::CallIndirect { sig_ref, args, .. } => {
                    let sig = dfg
                        .signatures
                        .get(sig_ref)
                        .ok_or_else(|| error(format!("{sig_ref} does not exist")))?;
                    let args = dfg.value_lists.get(args);
                    let Some((&target, args)) = args.split_first() else {
                        return Err(ops::type_error(opcode, "missing callee"));
                    };
                    let callee = self.callee_at(address(get(self, target)?, opcode)?)?;
                    self.gather(vbase, nvalues, args)?;
                    self.do_call(func, inst, callee, sig, heaps, host)?;
                    continue;
                }
                D::FuncAddr { func_ref, .. } => {
                    let (r, _) = result()?;
                    let ext = dfg
                        .ext_funcs
                        .get(func_ref)
                        .ok_or_else(|| error(format!("{func_ref} is not declared")))?;
                    let callee = self.resolve_user(func, ext.name)?;
                    (r, DataValue::I64(Self::callee_addr(callee) as i64))
                }
            };
            self.set(vbase, nvalues, r, x)?;
            self.advance(func, inst);
        }
    }

    /// Continue with the instruction after `inst` (none after a block's last one).
    #[inline]
    fn advance(&mut self, func: &Function, inst: Inst) {
        if let Some(frame) = self.frames.last_mut() {
            frame.next = func.layout.next_inst(inst);
        }
    }

    /// Store (the low bytes of, for `istoreN`) `v` at `addr`.
    fn store(
        &mut self,
        heaps: &mut [Heap],
        opcode: Opcode,
        v: DataValue,
        addr: u64,
    ) -> Result<(), Outcome> {
        let size = opcode.access_bytes(v.ty()) as usize;
        let narrow = matches!(
            opcode,
            Opcode::Istore8 | Opcode::Istore16 | Opcode::Istore32
        );
        if narrow && (!v.ty().is_int_scalar() || size >= v.ty().bytes() as usize) {
            return Err(ops::type_error(opcode, &format!("cannot store {}", v.ty())));
        }
        let bytes = v.to_le_bytes();
        let data = bytes
            .get(..size)
            .ok_or_else(|| ops::type_error(opcode, "access size exceeds the value"))?;
        self.stack.write(heaps, addr, data)
    }
}

/// An `i64` address operand.
#[inline]
fn address(v: DataValue, op: Opcode) -> Result<u64, Outcome> {
    match v {
        DataValue::I64(a) => Ok(a as u64),
        _ => Err(ops::type_error(op, "address must be i64")),
    }
}

/// An integer condition operand (zero-extended).
#[inline]
fn condition(v: DataValue, op: Opcode) -> Result<u64, Outcome> {
    v.as_u64()
        .ok_or_else(|| ops::type_error(op, "condition must be an integer"))
}

#[cfg(test)]
mod tests;
