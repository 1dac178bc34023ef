//! The IR verifier: checks every invariant of a [`Function`] that the rest of the compiler
//! relies on, as listed in `docs/kir.md` ("Operand types" and "Structural rules").
//!
//! What it checks:
//! - preamble: stack-slot alignments, signature and name references of declared
//!   functions, libcall signatures, jump tables (non-empty, used by exactly one `br_table`);
//! - layout: an entry block whose parameters match the signature, every block non-empty
//!   and ending in exactly one terminator that appears nowhere else, no instruction twice;
//! - SSA: every value is defined exactly once (definitions and the result / parameter
//!   lists agree), every use refers to a defined value whose definition is in the layout
//!   and, in reachable blocks, dominates the use;
//! - instructions: operand format matches the opcode, result count and types, operand
//!   types per opcode, canonical `iconst` immediates, `fconst` bit widths, lane indices,
//!   stack-slot bounds, memory flags, block-call arity and types, no branch to the entry
//!   block, `br_table` index type, `return` values, call arguments and results.
//!
//! Invariants of the verifier itself: it never panics, whatever the function (every table
//! lookup goes through `.get()`, every layout walk is bounded), and it reports every
//! problem it finds, not only the first. Reuse a [`VerifierContext`] to verify many
//! functions without reallocating its scratch space.

use super::dfg::ValueDef;
use super::entities::{Block, Inst, JumpTable, Value};
use super::function::{ExternalName, Function, StackSlotData};
use super::instructions::{BlockCall, InstructionData, InstructionFormat, Opcode};
use super::memflags::MemFlags;
use super::types::Type;
use crate::dominator_tree::DominatorTree;
use crate::entity::{EntityRef, SecondaryMap};
use crate::flowgraph::ControlFlowGraph;
use core::fmt;

/// One problem found by the verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierError {
    /// Where: `inst12`, `block3`, `v7`, `ss0`, `fn1`, `jt0`, or `function`.
    pub location: String,
    /// The offending instruction in text form, when the problem is an instruction.
    pub context: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.context {
            Some(c) => write!(f, "{}: {}: {}", self.location, c, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// Every problem found in one function.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VerifierErrors(pub Vec<VerifierError>);

impl VerifierErrors {
    /// Is there no error?
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Does some error's message contain `needle`? (Convenient in tests.)
    pub fn mentions(&self, needle: &str) -> bool {
        self.0.iter().any(|e| e.to_string().contains(needle))
    }
}

impl fmt::Display for VerifierErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifierErrors {}

/// Check every invariant of `func`. Returns all problems found.
pub fn verify_function(func: &Function) -> Result<(), VerifierErrors> {
    VerifierContext::new().verify(func)
}

/// Reusable scratch space for verifying many functions.
#[derive(Default)]
pub struct VerifierContext {
    cfg: ControlFlowGraph,
    domtree: DominatorTree,
    /// 1-based position of each laid-out instruction within its block (0: not laid out).
    pos: SecondaryMap<Inst, u32>,
    /// The block of each laid-out instruction, as seen by the verifier's own walk.
    owner: SecondaryMap<Inst, Option<Block>>,
    /// Blocks seen in the layout walk.
    block_seen: SecondaryMap<Block, bool>,
    /// The `br_table` using each jump table.
    jt_user: SecondaryMap<JumpTable, Option<Inst>>,
    /// Scratch: the values an instruction uses.
    uses: Vec<Value>,
}

impl VerifierContext {
    /// Empty scratch space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verify `func`, reusing this context's allocations.
    pub fn verify(&mut self, func: &Function) -> Result<(), VerifierErrors> {
        let mut cfg = core::mem::take(&mut self.cfg);
        let mut domtree = core::mem::take(&mut self.domtree);
        cfg.compute(func);
        domtree.compute(func, &cfg);
        let result = self.verify_with_flow(func, &cfg, &domtree);
        self.cfg = cfg;
        self.domtree = domtree;
        result
    }

    /// Verify `func` with its control-flow graph and dominator tree already computed (by
    /// [`ControlFlowGraph::compute`] and [`DominatorTree::compute`], which accept any
    /// function, valid or not): the compiler computes them once for the verifier and
    /// lowering both.
    pub fn verify_with_flow(
        &mut self,
        func: &Function,
        cfg: &ControlFlowGraph,
        domtree: &DominatorTree,
    ) -> Result<(), VerifierErrors> {
        self.pos.clear();
        self.owner.clear();
        self.block_seen.clear();
        self.jt_user.clear();
        self.uses.clear();
        let mut errors = Vec::new();
        let layout_ok = self.walk_layout(func, &mut errors);
        let mut v = Verifier {
            func,
            cfg,
            domtree,
            pos: &self.pos,
            owner: &self.owner,
            block_seen: &self.block_seen,
            jt_user: &mut self.jt_user,
            uses: &mut self.uses,
            errors: &mut errors,
        };
        v.preamble();
        v.entry_block();
        v.value_definitions();
        if layout_ok {
            v.instructions();
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(VerifierErrors(errors))
        }
    }

    /// Walk the layout once, recording instruction positions and owners and checking the
    /// block / terminator structure. Returns false if the layout itself is corrupt (an
    /// entity out of range or a cycle), in which case instruction checks are skipped.
    fn walk_layout(&mut self, func: &Function, errors: &mut Vec<VerifierError>) -> bool {
        let dfg = &func.dfg;
        let layout = &func.layout;
        let nblocks = dfg.blocks.len();
        let ninsts = dfg.insts.len();
        let mut ok = true;
        let mut nb = 0usize;
        for block in layout.blocks() {
            nb += 1;
            if nb > nblocks {
                errors.push(err_at("function", None, "the block layout is longer than the number of blocks (cycle or dangling block)".into()));
                return false;
            }
            if block.index() >= nblocks {
                errors.push(err_at(
                    &block.to_string(),
                    None,
                    "block in the layout does not exist".into(),
                ));
                ok = false;
                continue;
            }
            if *self.block_seen.get(block) {
                errors.push(err_at(
                    &block.to_string(),
                    None,
                    "block appears twice in the layout".into(),
                ));
                return false;
            }
            self.block_seen.set(block, true);
            let mut n = 0u32;
            let mut last: Option<Inst> = None;
            for inst in layout.block_insts(block) {
                if inst.index() >= ninsts {
                    errors.push(err_at(
                        &block.to_string(),
                        None,
                        format!("{inst} in the layout does not exist"),
                    ));
                    ok = false;
                    break;
                }
                if *self.pos.get(inst) != 0 {
                    errors.push(err_at(
                        &inst.to_string(),
                        None,
                        format!("instruction appears twice in the layout (again in {block})"),
                    ));
                    ok = false;
                    break;
                }
                n += 1;
                self.pos.set(inst, n);
                self.owner.set(inst, Some(block));
                if let Some(prev) = last {
                    if dfg
                        .insts
                        .get(prev)
                        .is_some_and(|d| d.opcode().is_terminator())
                    {
                        errors.push(err_at(
                            &prev.to_string(),
                            Some(inst_text(func, prev)),
                            format!("terminator is not the last instruction of {block}"),
                        ));
                    }
                }
                last = Some(inst);
            }
            match last {
                None => errors.push(err_at(
                    &block.to_string(),
                    None,
                    "block is empty: every block must end with a terminator".into(),
                )),
                Some(l) => {
                    if !dfg.insts.get(l).is_some_and(|d| d.opcode().is_terminator()) {
                        errors.push(err_at(
                            &l.to_string(),
                            Some(inst_text(func, l)),
                            format!("{block} does not end with a terminator (jump, brif, br_table, return or trap)"),
                        ));
                    }
                }
            }
        }
        ok
    }
}

/// The offending instruction in text form, for error contexts. Kept in one place so that
/// switching to the text printer is a one-line change.
fn inst_text(func: &Function, inst: Inst) -> String {
    match func.dfg.insts.get(inst) {
        Some(_) => super::text::display_inst(func, inst),
        None => format!("<{inst}: no such instruction>"),
    }
}

fn err_at(location: &str, context: Option<String>, message: String) -> VerifierError {
    VerifierError {
        location: location.to_string(),
        context,
        message,
    }
}

/// The format an instruction data variant has (to compare with its opcode's format).
fn data_format(data: &InstructionData) -> InstructionFormat {
    use InstructionData as D;
    use InstructionFormat as F;
    match data {
        D::UnaryImm { .. } => F::UnaryImm,
        D::UnaryIeee { .. } => F::UnaryIeee,
        D::UnaryConst { .. } => F::UnaryConst,
        D::Unary { .. } => F::Unary,
        D::Binary { .. } => F::Binary,
        D::Ternary { .. } => F::Ternary,
        D::IntCompare { .. } => F::IntCompare,
        D::FloatCompare { .. } => F::FloatCompare,
        D::ExtractLane { .. } => F::ExtractLane,
        D::InsertLane { .. } => F::InsertLane,
        D::Load { .. } => F::Load,
        D::Store { .. } => F::Store,
        D::MemLane { .. } => F::MemLane,
        D::StackLoad { .. } => F::StackLoad,
        D::StackStore { .. } => F::StackStore,
        D::Jump { .. } => F::Jump,
        D::Brif { .. } => F::Brif,
        D::BranchTable { .. } => F::BranchTable,
        D::MultiAry { .. } => F::MultiAry,
        D::Trap { .. } => F::Trap,
        D::CondTrap { .. } => F::CondTrap,
        D::Call { .. } => F::Call,
        D::CallIndirect { .. } => F::CallIndirect,
        D::FuncAddr { .. } => F::FuncAddr,
        D::Shuffle { .. } => F::Shuffle,
    }
}

fn is_int_or_ivec(t: Type) -> bool {
    t.is_int()
}
fn is_int(t: Type) -> bool {
    t.is_int_scalar()
}
fn is_float(t: Type) -> bool {
    t.is_float_scalar()
}
fn is_i32_or_i64(t: Type) -> bool {
    matches!(t, Type::I32 | Type::I64)
}
fn is_vector(t: Type) -> bool {
    t.is_vector()
}
fn is_float_or_fvec(t: Type) -> bool {
    t.is_float()
}
fn is_fvec(t: Type) -> bool {
    t.is_float() && t.is_vector()
}
fn is_ivec(t: Type) -> bool {
    t.is_int() && t.is_vector()
}
fn is_i8x16_or_i16x8(t: Type) -> bool {
    matches!(t, Type::I8X16 | Type::I16X8)
}
fn is_ivec_up_to_32(t: Type) -> bool {
    matches!(t, Type::I8X16 | Type::I16X8 | Type::I32X4)
}
/// The integer vector with lanes twice as wide as `t`'s and half as many.
fn widened(t: Type) -> Option<Type> {
    match t {
        Type::I8X16 => Some(Type::I16X8),
        Type::I16X8 => Some(Type::I32X4),
        Type::I32X4 => Some(Type::I64X2),
        _ => None,
    }
}

fn types_text(ts: &[Type]) -> String {
    let mut s = String::from("(");
    for (i, t) in ts.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(t.name());
    }
    s.push(')');
    s
}

struct Verifier<'a> {
    func: &'a Function,
    cfg: &'a ControlFlowGraph,
    domtree: &'a DominatorTree,
    pos: &'a SecondaryMap<Inst, u32>,
    owner: &'a SecondaryMap<Inst, Option<Block>>,
    block_seen: &'a SecondaryMap<Block, bool>,
    jt_user: &'a mut SecondaryMap<JumpTable, Option<Inst>>,
    uses: &'a mut Vec<Value>,
    errors: &'a mut Vec<VerifierError>,
}

impl Verifier<'_> {
    fn report(&mut self, location: impl fmt::Display, message: String) {
        self.errors
            .push(err_at(&location.to_string(), None, message));
    }

    fn inst_err(&mut self, inst: Inst, message: String) {
        let ctx = inst_text(self.func, inst);
        self.errors
            .push(err_at(&inst.to_string(), Some(ctx), message));
    }

    fn ty(&self, v: Value) -> Option<Type> {
        self.func.dfg.value_type(v)
    }

    fn in_layout(&self, b: Block) -> bool {
        *self.block_seen.get(b)
    }

    // ---- preamble ----------------------------------------------------------------------

    fn preamble(&mut self) {
        let func = self.func;
        for (ss, data) in func.stack_slots.iter() {
            if data.align_shift > StackSlotData::MAX_ALIGN_SHIFT {
                self.report(
                    ss,
                    format!(
                        "stack slot alignment 2^{} exceeds 16 bytes",
                        data.align_shift
                    ),
                );
            }
        }
        for (fr, ext) in func.dfg.ext_funcs.iter() {
            let sig = func.dfg.signatures.get(ext.signature);
            if sig.is_none() {
                self.report(
                    fr,
                    format!(
                        "declared function refers to {} which does not exist",
                        ext.signature
                    ),
                );
            }
            match ext.name {
                ExternalName::User(r) => {
                    if func.params.user_name(r).is_none() {
                        self.report(
                            fr,
                            format!("user external name {r} is not in the function's name table"),
                        );
                    }
                }
                ExternalName::LibCall(lc) => {
                    if let Some(sig) = sig {
                        let own = lc.signature();
                        if *sig != own {
                            self.report(fr, format!("libcall {} declared with signature {sig}, but its signature is {own}", lc.name()));
                        }
                    }
                }
            }
        }
    }

    fn entry_block(&mut self) {
        let func = self.func;
        let Some(entry) = func.layout.entry_block() else {
            self.report(
                "function",
                "function has no entry block (no blocks in the layout)".into(),
            );
            return;
        };
        if entry.index() >= func.dfg.blocks.len() {
            return; // reported by the layout walk
        }
        let params = func.dfg.block_params(entry);
        let sig = &func.signature.params;
        let tys: Vec<Option<Type>> = params.iter().map(|&p| self.ty(p)).collect();
        let matches = params.len() == sig.len() && tys.iter().zip(sig).all(|(t, s)| *t == Some(*s));
        if !matches {
            let got: Vec<Type> = tys.iter().flatten().copied().collect();
            self.report(
                entry,
                format!(
                    "entry block parameters {} do not match the signature's parameters {}",
                    types_text(&got),
                    types_text(sig)
                ),
            );
        }
    }

    /// Every value's definition agrees with the result / parameter lists (so each value is
    /// defined exactly once), and every block's parameters point back at it.
    fn value_definitions(&mut self) {
        let func = self.func;
        let dfg = &func.dfg;
        for (v, data) in dfg.values.iter() {
            match data.def {
                ValueDef::Result(inst, n) => {
                    if dfg.insts.get(inst).is_none() {
                        self.report(
                            v,
                            format!("defined as a result of {inst}, which does not exist"),
                        );
                    } else if dfg.inst_results(inst).get(n as usize) != Some(&v) {
                        self.report(
                            v,
                            format!("claims to be result {n} of {inst}, which does not list it"),
                        );
                    }
                }
                ValueDef::Param(block, n) => {
                    if dfg.blocks.get(block).is_none() {
                        self.report(
                            v,
                            format!("defined as a parameter of {block}, which does not exist"),
                        );
                    } else if dfg.block_params(block).get(n as usize) != Some(&v) {
                        self.report(
                            v,
                            format!(
                                "claims to be parameter {n} of {block}, which does not list it"
                            ),
                        );
                    }
                }
                ValueDef::Unused => {}
            }
        }
        for (block, _) in dfg.blocks.iter() {
            for (i, &p) in dfg.block_params(block).iter().enumerate() {
                match dfg.values.get(p) {
                    None => self.report(block, format!("parameter {p} does not exist")),
                    Some(d) if d.def != ValueDef::Param(block, i as u16) => {
                        self.report(block, format!("parameter {i} is {p}, which is defined elsewhere ({:?}): values must be defined exactly once", d.def))
                    }
                    _ => {}
                }
            }
        }
    }

    // ---- instructions ------------------------------------------------------------------

    fn instructions(&mut self) {
        let func = self.func;
        let nblocks = func.dfg.blocks.len();
        for (steps, block) in func.layout.blocks().enumerate() {
            if steps >= nblocks {
                break;
            }
            if block.index() >= nblocks {
                continue;
            }
            for inst in func.layout.block_insts(block) {
                if *self.pos.get(inst) == 0 || *self.owner.get(inst) != Some(block) {
                    break; // the layout walk reported it
                }
                self.instruction(block, inst);
            }
        }
    }

    fn instruction(&mut self, block: Block, inst: Inst) {
        let func = self.func;
        let dfg = &func.dfg;
        let Some(data) = dfg.insts.get(inst).copied() else {
            return;
        };
        let op = data.opcode();
        if data_format(&data) != op.format() {
            self.inst_err(
                inst,
                format!(
                    "{op} has format {:?} but its operands are stored as {:?}",
                    op.format(),
                    data_format(&data)
                ),
            );
            return;
        }

        // Uses: defined, laid out, dominating.
        self.uses.clear();
        {
            let uses = &mut *self.uses;
            data.for_each_use(&dfg.value_lists, &dfg.jump_tables, |v| uses.push(v));
        }
        for k in 0..self.uses.len() {
            let v = self.uses[k];
            self.check_use(block, inst, v);
        }

        // Results.
        let results = dfg.inst_results(inst);
        for (i, &r) in results.iter().enumerate() {
            match dfg.values.get(r) {
                None => self.inst_err(inst, format!("result {r} does not exist")),
                Some(d) if d.def != ValueDef::Result(inst, i as u16) => self.inst_err(
                    inst,
                    format!("result {i} is {r}, which is defined elsewhere ({:?}): values must be defined exactly once", d.def),
                ),
                _ => {}
            }
        }
        let rty = results.first().and_then(|&r| self.ty(r));
        match op.result_rule() {
            super::instructions::ResultRule::Explicit => {
                if results.len() != 1 {
                    self.inst_err(
                        inst,
                        format!("{op} must have exactly one result, has {}", results.len()),
                    );
                }
            }
            _ => {
                if let Some(expected) = dfg.result_types(&data, None) {
                    let expected = expected.as_slice();
                    // Compared in place: this runs for every instruction.
                    let same = expected.len() == results.len()
                        && expected
                            .iter()
                            .zip(results)
                            .all(|(e, &r)| self.ty(r) == Some(*e));
                    if !same {
                        let got: Vec<Type> = results.iter().filter_map(|&r| self.ty(r)).collect();
                        self.inst_err(
                            inst,
                            format!(
                                "results have types {}, expected {}",
                                types_text(&got),
                                types_text(expected)
                            ),
                        );
                    }
                }
            }
        }

        self.operand_types(inst, &data, rty);
        self.branches(inst, &data);
    }

    fn check_use(&mut self, block: Block, inst: Inst, v: Value) {
        let func = self.func;
        let dfg = &func.dfg;
        let Some(vd) = dfg.values.get(v) else {
            self.inst_err(inst, format!("uses {v}, which does not exist"));
            return;
        };
        let reachable = self.domtree.is_reachable(block);
        match vd.def {
            ValueDef::Unused => self.inst_err(inst, format!("uses {v}, which is never defined")),
            ValueDef::Result(di, _) => {
                let Some(def_block) = *self.owner.get(di) else {
                    self.inst_err(
                        inst,
                        format!("uses {v}, defined by {di}, which is not in the layout"),
                    );
                    return;
                };
                if !reachable {
                    return;
                }
                let ok = if def_block == block {
                    *self.pos.get(di) < *self.pos.get(inst)
                } else {
                    self.domtree.dominates(def_block, block)
                };
                if !ok {
                    let msg = if di == inst {
                        format!("uses its own result {v}")
                    } else if def_block == block {
                        format!("uses {v} before its definition in {block}")
                    } else {
                        format!(
                            "uses {v}, whose definition in {def_block} does not dominate {block}"
                        )
                    };
                    self.inst_err(inst, msg);
                }
            }
            ValueDef::Param(pb, _) => {
                if !self.in_layout(pb) {
                    self.inst_err(
                        inst,
                        format!("uses {v}, a parameter of {pb}, which is not in the layout"),
                    );
                    return;
                }
                if reachable && !self.domtree.dominates(pb, block) {
                    self.inst_err(
                        inst,
                        format!("uses {v}, a parameter of {pb}, which does not dominate {block}"),
                    );
                }
            }
        }
    }

    /// Check that `v` satisfies `ok`, reporting `what` was expected.
    fn want(&mut self, inst: Inst, v: Value, ok: fn(Type) -> bool, what: &str) {
        if let Some(t) = self.ty(v) {
            if !ok(t) {
                let op = self
                    .func
                    .dfg
                    .insts
                    .get(inst)
                    .map(|d| d.opcode().name())
                    .unwrap_or("?");
                self.inst_err(
                    inst,
                    format!("{op} operand {v} has type {t}, expected {what}"),
                );
            }
        }
    }

    /// Check that `v` has exactly type `t`.
    fn want_ty(&mut self, inst: Inst, v: Value, t: Type, role: &str) {
        if let Some(vt) = self.ty(v) {
            if vt != t {
                self.inst_err(inst, format!("{role} {v} has type {vt}, expected {t}"));
            }
        }
    }

    fn want_result(&mut self, inst: Inst, rty: Option<Type>, ok: fn(Type) -> bool, what: &str) {
        if let Some(t) = rty {
            if !ok(t) {
                let op = self
                    .func
                    .dfg
                    .insts
                    .get(inst)
                    .map(|d| d.opcode().name())
                    .unwrap_or("?");
                self.inst_err(
                    inst,
                    format!("{op} result type {t} is invalid, expected {what}"),
                );
            }
        }
    }

    fn operand_types(&mut self, inst: Inst, data: &InstructionData, rty: Option<Type>) {
        use InstructionData as D;
        use Opcode as O;
        let func = self.func;
        let dfg = &func.dfg;
        let op = data.opcode();
        match *data {
            D::UnaryImm { imm, .. } => {
                self.want_result(inst, rty, is_int, "an integer scalar type");
                if let Some(t) = rty.filter(|t| t.is_int_scalar()) {
                    let canon = crate::ir::text::literals::sign_extend(imm as u64, t);
                    if canon != imm {
                        self.inst_err(inst, format!("iconst immediate {imm:#x} is not canonical for {t} (expected {canon}, sign-extended from {} bits)", t.bits()));
                    }
                }
            }
            D::UnaryIeee { bits, .. } => {
                self.want_result(inst, rty, is_float, "f32 or f64");
                if rty == Some(Type::F32) && bits >> 32 != 0 {
                    self.inst_err(
                        inst,
                        format!("fconst.f32 bits {bits:#x} use more than the low 32 bits"),
                    );
                }
            }
            D::UnaryConst { constant, .. } => {
                self.want_result(inst, rty, is_vector, "a vector type");
                if dfg.constants.get(constant).is_none() {
                    self.inst_err(inst, format!("refers to {constant}, which does not exist"));
                }
            }
            D::Unary { arg, .. } => {
                match op {
                    O::Bnot | O::Ineg => {
                        self.want(inst, arg, is_int_or_ivec, "an integer scalar or vector")
                    }
                    O::Clz | O::Ctz => self.want(inst, arg, is_int, "an integer scalar"),
                    O::Popcnt => self.want(
                        inst,
                        arg,
                        |t| t.is_int_scalar() || t == Type::I8X16,
                        "an integer scalar or i8x16",
                    ),
                    O::Fneg | O::Fabs | O::Sqrt | O::Ceil | O::Floor | O::Trunc | O::Nearest => {
                        self.want(inst, arg, is_float_or_fvec, "a float scalar or vector")
                    }
                    O::Iabs | O::VallTrue | O::VhighBits => {
                        self.want(inst, arg, is_ivec, "an integer vector")
                    }
                    O::VanyTrue => self.want(inst, arg, is_vector, "a vector"),
                    O::SwidenLow | O::SwidenHigh | O::UwidenLow | O::UwidenHigh => {
                        self.want(inst, arg, |t| widened(t).is_some(), "i8x16, i16x8 or i32x4");
                        self.widened_result(inst, op, arg, rty);
                    }
                    O::SwidenAddPairwise | O::UwidenAddPairwise => {
                        self.want(
                            inst,
                            arg,
                            |t| matches!(t, Type::I8X16 | Type::I16X8),
                            "i8x16 or i16x8",
                        );
                        self.widened_result(inst, op, arg, rty);
                    }
                    O::Uextend | O::Sextend | O::Ireduce => {
                        self.want(inst, arg, is_int, "an integer scalar");
                        self.want_result(inst, rty, is_int, "an integer scalar type");
                        if let (Some(a), Some(r)) = (self.ty(arg), rty) {
                            if a.is_int_scalar() && r.is_int_scalar() {
                                let ok = if op == O::Ireduce {
                                    r.bits() < a.bits()
                                } else {
                                    r.bits() > a.bits()
                                };
                                if !ok {
                                    let dir = if op == O::Ireduce {
                                        "narrower"
                                    } else {
                                        "wider"
                                    };
                                    self.inst_err(inst, format!("{op} from {a} to {r}: the result must be strictly {dir}"));
                                }
                            }
                        }
                    }
                    O::FcvtToSintSat | O::FcvtToUintSat
                        if self.ty(arg).is_some_and(|t| t.is_vector()) =>
                    {
                        self.want(inst, arg, is_fvec, "f32x4 or f64x2");
                        self.want_result(inst, rty, |t| t == Type::I32X4, "i32x4");
                    }
                    O::FcvtToSint | O::FcvtToUint | O::FcvtToSintSat | O::FcvtToUintSat => {
                        self.want(inst, arg, is_float, "f32 or f64");
                        self.want_result(inst, rty, is_i32_or_i64, "i32 or i64");
                    }
                    O::FcvtFromSint | O::FcvtFromUint
                        if self.ty(arg).is_some_and(|t| t.is_vector()) =>
                    {
                        self.want_ty(inst, arg, Type::I32X4, "vector conversion operand");
                        self.want_result(inst, rty, is_fvec, "f32x4 or f64x2");
                    }
                    O::FcvtFromSint | O::FcvtFromUint => {
                        self.want(inst, arg, is_i32_or_i64, "i32 or i64");
                        self.want_result(inst, rty, is_float, "f32 or f64");
                    }
                    O::Fpromote | O::Fdemote => {
                        // (scalar operand, scalar result, vector operand, vector result)
                        let (from, to, vfrom, vto) = if op == O::Fpromote {
                            (Type::F32, Type::F64, Type::F32X4, Type::F64X2)
                        } else {
                            (Type::F64, Type::F32, Type::F64X2, Type::F32X4)
                        };
                        let vector = self.ty(arg) == Some(vfrom);
                        if !vector {
                            self.want_ty(inst, arg, from, &format!("{op} operand"));
                        }
                        let want = if vector { vto } else { to };
                        if rty.is_some_and(|t| t != want) {
                            self.want_result(inst, rty, |_| false, want.name());
                        }
                    }
                    O::Bitcast => {
                        if let (Some(a), Some(r)) = (self.ty(arg), rty) {
                            let ok = matches!(
                                (a, r),
                                (Type::I32, Type::F32)
                                    | (Type::F32, Type::I32)
                                    | (Type::I64, Type::F64)
                                    | (Type::F64, Type::I64)
                            ) || (a.is_vector() && r.is_vector() && a != r);
                            if !ok {
                                self.inst_err(inst, format!("bitcast from {a} to {r} is not allowed (i32<->f32, i64<->f64, or between different 128-bit types)"));
                            }
                        }
                    }
                    O::Splat => {
                        self.want_result(inst, rty, is_vector, "a vector type");
                        if let Some(r) = rty.filter(|t| t.is_vector()) {
                            self.want_ty(inst, arg, r.lane_type(), "splat operand");
                        }
                    }
                    _ => {}
                }
            }
            D::Binary { args, .. } => {
                let vector_shift = matches!(op, O::Ishl | O::Ushr | O::Sshr)
                    && self.ty(args[0]).is_some_and(|t| t.is_vector());
                if vector_shift {
                    self.want(inst, args[0], is_ivec, "an integer vector");
                    self.want_ty(inst, args[1], Type::I32, "vector shift amount");
                    return;
                }
                let what: (fn(Type) -> bool, &str) = match op {
                    O::Iadd | O::Isub | O::Imul | O::Band | O::Bor | O::Bxor | O::BandNot => {
                        (is_int_or_ivec, "an integer scalar or vector")
                    }
                    O::Fadd | O::Fsub | O::Fmul | O::Fdiv | O::Fmin | O::Fmax => {
                        (is_float_or_fvec, "a float scalar or vector")
                    }
                    O::Fcopysign => (is_float, "f32 or f64"),
                    O::SaddSat | O::UaddSat | O::SsubSat | O::UsubSat | O::AvgRound => {
                        (is_i8x16_or_i16x8, "i8x16 or i16x8")
                    }
                    O::Smin | O::Smax | O::Umin | O::Umax => {
                        (is_ivec_up_to_32, "i8x16, i16x8 or i32x4")
                    }
                    O::FminPseudo | O::FmaxPseudo => (is_fvec, "f32x4 or f64x2"),
                    O::Swizzle => (|t| t == Type::I8X16, "i8x16"),
                    O::Snarrow | O::Unarrow => {
                        (|t| matches!(t, Type::I16X8 | Type::I32X4), "i16x8 or i32x4")
                    }
                    O::SwidenMulLow | O::SwidenMulHigh | O::UwidenMulLow | O::UwidenMulHigh => {
                        (|t| widened(t).is_some(), "i8x16, i16x8 or i32x4")
                    }
                    O::Sdot | O::SqmulRoundSat => (|t| t == Type::I16X8, "i16x8"),
                    _ => (is_int, "an integer scalar"),
                };
                self.want(inst, args[0], what.0, what.1);
                self.same_types(inst, args[0], args[1]);
                if matches!(
                    op,
                    O::SwidenMulLow | O::SwidenMulHigh | O::UwidenMulLow | O::UwidenMulHigh
                ) {
                    self.widened_result(inst, op, args[0], rty);
                }
                if matches!(op, O::Snarrow | O::Unarrow) {
                    if let (Some(a), Some(r)) = (self.ty(args[0]), rty) {
                        if widened(r) != Some(a) {
                            self.inst_err(
                                inst,
                                format!(
                                    "{op} from {a} to {r}: the result lanes must be half as wide"
                                ),
                            );
                        }
                    }
                }
            }
            D::Ternary { args, .. } => {
                if op == O::Bitselect {
                    self.want(inst, args[0], is_vector, "a vector (the mask)");
                    self.same_types(inst, args[0], args[1]);
                } else {
                    self.want(inst, args[0], is_int, "an integer scalar (the condition)");
                }
                self.same_types(inst, args[1], args[2]);
            }
            D::Shuffle { args, mask, .. } => {
                self.want_ty(inst, args[0], Type::I8X16, "shuffle operand");
                self.want_ty(inst, args[1], Type::I8X16, "shuffle operand");
                match dfg.constants.get(mask) {
                    None => self.inst_err(inst, format!("refers to {mask}, which does not exist")),
                    Some(bytes) => {
                        if let Some(i) = bytes.iter().position(|&b| b >= 32) {
                            self.inst_err(
                                inst,
                                format!("shuffle index {} (lane {i}) is not below 32", bytes[i]),
                            );
                        }
                    }
                }
            }
            D::IntCompare { args, .. } => {
                self.want(inst, args[0], is_int_or_ivec, "an integer scalar or vector");
                self.same_types(inst, args[0], args[1]);
            }
            D::FloatCompare { args, .. } => {
                self.want(inst, args[0], is_float_or_fvec, "a float scalar or vector");
                self.same_types(inst, args[0], args[1]);
            }
            D::ExtractLane { arg, lane, .. } => {
                self.want(inst, arg, is_vector, "a vector");
                self.lane(inst, arg, lane);
            }
            D::InsertLane { args, lane, .. } => {
                self.want(inst, args[0], is_vector, "a vector");
                if let Some(t) = self.ty(args[0]).filter(|t| t.is_vector()) {
                    self.want_ty(inst, args[1], t.lane_type(), "inserted lane");
                }
                self.lane(inst, args[0], lane);
            }
            D::Load { flags, arg, .. } => {
                self.flags(inst, flags);
                self.want_ty(inst, arg, Type::ADDR, "address");
                match op {
                    O::Uload8 | O::Sload8 => self.want_result(
                        inst,
                        rty,
                        |t| matches!(t, Type::I16 | Type::I32 | Type::I64),
                        "i16, i32 or i64",
                    ),
                    O::Uload16 | O::Sload16 => {
                        self.want_result(inst, rty, is_i32_or_i64, "i32 or i64")
                    }
                    O::Uload32 | O::Sload32 => {
                        self.want_result(inst, rty, |t| t == Type::I64, "i64")
                    }
                    O::LoadSplat => self.want_result(inst, rty, is_vector, "a vector type"),
                    O::SloadWiden | O::UloadWiden => self.want_result(
                        inst,
                        rty,
                        |t| matches!(t, Type::I16X8 | Type::I32X4 | Type::I64X2),
                        "i16x8, i32x4 or i64x2",
                    ),
                    O::LoadZero => self.want_result(
                        inst,
                        rty,
                        |t| matches!(t, Type::I32X4 | Type::I64X2),
                        "i32x4 or i64x2",
                    ),
                    _ => {}
                }
            }
            D::MemLane {
                flags, args, lane, ..
            } => {
                self.flags(inst, flags);
                self.want(inst, args[0], is_vector, "a vector");
                self.want_ty(inst, args[1], Type::ADDR, "address");
                self.lane(inst, args[0], lane);
            }
            D::Store { flags, args, .. } => {
                self.flags(inst, flags);
                self.want_ty(inst, args[1], Type::ADDR, "address");
                match op {
                    O::Istore8 => self.want(
                        inst,
                        args[0],
                        |t| matches!(t, Type::I16 | Type::I32 | Type::I64),
                        "i16, i32 or i64",
                    ),
                    O::Istore16 => self.want(inst, args[0], is_i32_or_i64, "i32 or i64"),
                    O::Istore32 => self.want(inst, args[0], |t| t == Type::I64, "i64"),
                    _ => {}
                }
            }
            D::StackLoad { slot, offset, .. } => {
                let access = if op == O::StackAddr {
                    Some(0)
                } else {
                    rty.map(|t| t.bytes())
                };
                self.stack_access(inst, slot, offset, access);
            }
            D::StackStore {
                arg, slot, offset, ..
            } => {
                let access = self.ty(arg).map(|t| t.bytes());
                self.stack_access(inst, slot, offset, access);
            }
            D::Jump { .. } | D::Trap { .. } => {}
            D::Brif { arg, .. } => {
                self.want(inst, arg, is_int, "an integer scalar (the condition)")
            }
            D::BranchTable { arg, table, .. } => {
                self.want_ty(inst, arg, Type::I32, "br_table index");
                match dfg.jump_tables.get(table) {
                    None => self.inst_err(inst, format!("refers to {table}, which does not exist")),
                    Some(jt) => {
                        if jt.all_branches().is_empty() {
                            self.inst_err(
                                inst,
                                format!("{table} is empty: br_table needs a default target"),
                            );
                        }
                        match *self.jt_user.get(table) {
                            Some(other) => self.inst_err(inst, format!("{table} is already used by {other}: each jump table belongs to one br_table")),
                            None => self.jt_user.set(table, Some(inst)),
                        }
                    }
                }
            }
            D::MultiAry { args, .. } => {
                let vals = dfg.value_lists.get(args);
                let rets = &func.signature.returns;
                self.value_list_types(
                    inst,
                    vals,
                    rets,
                    "return values",
                    "the function's return types",
                );
            }
            D::CondTrap { arg, .. } => {
                self.want(inst, arg, is_int, "an integer scalar (the condition)")
            }
            D::Call { func_ref, args, .. } => {
                let vals = dfg.value_lists.get(args);
                match dfg.ext_funcs.get(func_ref) {
                    None => self.inst_err(inst, format!("calls {func_ref}, which is not declared")),
                    Some(ext) => match dfg.signatures.get(ext.signature) {
                        None => self.inst_err(
                            inst,
                            format!(
                                "{func_ref} has signature {}, which does not exist",
                                ext.signature
                            ),
                        ),
                        Some(sig) => self.value_list_types(
                            inst,
                            vals,
                            &sig.params,
                            "call arguments",
                            "the callee's parameters",
                        ),
                    },
                }
            }
            D::CallIndirect { sig_ref, args, .. } => {
                let vals = dfg.value_lists.get(args);
                match vals.split_first() {
                    None => self.inst_err(inst, "call_indirect has no callee operand".into()),
                    Some((&callee, rest)) => {
                        self.want_ty(inst, callee, Type::ADDR, "callee address");
                        match dfg.signatures.get(sig_ref) {
                            None => self.inst_err(
                                inst,
                                format!("refers to {sig_ref}, which does not exist"),
                            ),
                            Some(sig) => self.value_list_types(
                                inst,
                                rest,
                                &sig.params,
                                "call arguments",
                                "the signature's parameters",
                            ),
                        }
                    }
                }
            }
            D::FuncAddr { func_ref, .. } => {
                if dfg.ext_funcs.get(func_ref).is_none() {
                    self.inst_err(inst, format!("refers to {func_ref}, which is not declared"));
                }
            }
        }
    }

    fn same_types(&mut self, inst: Inst, a: Value, b: Value) {
        if let (Some(ta), Some(tb)) = (self.ty(a), self.ty(b)) {
            if ta != tb {
                self.inst_err(
                    inst,
                    format!("operands {a} and {b} have different types ({ta} and {tb})"),
                );
            }
        }
    }

    fn lane(&mut self, inst: Inst, v: Value, lane: u8) {
        if let Some(t) = self.ty(v).filter(|t| t.is_vector()) {
            if u32::from(lane) >= t.lane_count() {
                self.inst_err(
                    inst,
                    format!(
                        "lane index {lane} is out of range for {t} ({} lanes)",
                        t.lane_count()
                    ),
                );
            }
        }
    }

    /// The result of a widening operation on `arg`: lanes twice as wide, half as many.
    fn widened_result(&mut self, inst: Inst, op: Opcode, arg: Value, rty: Option<Type>) {
        if let (Some(a), Some(r)) = (self.ty(arg).and_then(widened), rty) {
            if a != r {
                self.inst_err(
                    inst,
                    format!("{op} result type {r} is invalid, expected {a}"),
                );
            }
        }
    }

    fn flags(&mut self, inst: Inst, flags: MemFlags) {
        if MemFlags::from_bits(flags.bits()).is_none() {
            self.inst_err(
                inst,
                format!("memory flags {:#x} contain unknown bits", flags.bits()),
            );
        }
    }

    fn stack_access(
        &mut self,
        inst: Inst,
        slot: super::entities::StackSlot,
        offset: i32,
        access: Option<u32>,
    ) {
        let Some(data) = self.func.stack_slots.get(slot) else {
            self.inst_err(inst, format!("refers to {slot}, which does not exist"));
            return;
        };
        if offset < 0 {
            self.inst_err(inst, format!("stack slot offset {offset} is negative"));
            return;
        }
        if let Some(n) = access {
            let end = i64::from(offset) + i64::from(n);
            if end > i64::from(data.size) {
                self.inst_err(inst, format!("access of {n} bytes at {slot}+{offset} exceeds the slot's size of {} bytes", data.size));
            }
        }
    }

    fn value_list_types(
        &mut self,
        inst: Inst,
        vals: &[Value],
        want: &[Type],
        what: &str,
        against: &str,
    ) {
        let tys: Vec<Option<Type>> = vals.iter().map(|&v| self.ty(v)).collect();
        if tys.iter().any(Option::is_none) {
            return; // dangling values are reported by the use check
        }
        let ok = tys.len() == want.len() && tys.iter().zip(want).all(|(t, w)| *t == Some(*w));
        if !ok {
            let got: Vec<Type> = tys.iter().flatten().copied().collect();
            self.inst_err(
                inst,
                format!(
                    "{what} have types {}, expected {} ({against})",
                    types_text(&got),
                    types_text(want)
                ),
            );
        }
    }

    fn branches(&mut self, inst: Inst, data: &InstructionData) {
        let func = self.func;
        let dfg = &func.dfg;
        let entry = self.func.layout.entry_block();
        let dests: &[BlockCall] = data.branch_destinations(&dfg.jump_tables);
        for bc in dests {
            let target = bc.block;
            if dfg.blocks.get(target).is_none() {
                self.inst_err(inst, format!("branches to {target}, which does not exist"));
                continue;
            }
            if !self.in_layout(target) {
                self.inst_err(
                    inst,
                    format!("branches to {target}, which is not in the layout"),
                );
            }
            if Some(target) == entry {
                self.inst_err(inst, format!("branches to the entry block {target}"));
            }
            let args = dfg.value_lists.get(bc.args);
            let params = dfg.block_params(target);
            if args.len() != params.len() {
                self.inst_err(
                    inst,
                    format!(
                        "passes {} arguments to {target}, which has {} parameters",
                        args.len(),
                        params.len()
                    ),
                );
                continue;
            }
            for (k, (&a, &p)) in args.iter().zip(params).enumerate() {
                if let (Some(ta), Some(tp)) = (self.ty(a), self.ty(p)) {
                    if ta != tp {
                        self.inst_err(inst, format!("argument {k} to {target} is {a} of type {ta}, but parameter {p} has type {tp}"));
                    }
                }
            }
        }
        let _ = self.cfg;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{
        Constant, ExtFuncData, FloatCC, FuncRef, IntCC, JumpTableData, LibCall, SigRef, Signature,
        StackSlot, StackSlotData, TrapCode, UserExternalName, UserFuncName,
    };

    /// A small helper to build (possibly broken) functions directly through the DFG and
    /// layout.
    struct F {
        f: Function,
    }

    impl F {
        fn new(params: &[Type], returns: &[Type]) -> (F, Block, Vec<Value>) {
            let mut f = Function::with_name_signature(
                UserFuncName::testcase("t"),
                Signature::new(params, returns),
            );
            let b = f.dfg.make_block();
            f.layout.append_block(b);
            let vs = params
                .iter()
                .map(|&t| f.dfg.append_block_param(b, t))
                .collect();
            (F { f }, b, vs)
        }
        fn block(&mut self) -> Block {
            let b = self.f.dfg.make_block();
            self.f.layout.append_block(b);
            b
        }
        fn ins(&mut self, b: Block, data: InstructionData, ctrl: Option<Type>) -> Inst {
            let i = self.f.dfg.make_inst(data);
            self.f.dfg.make_inst_results(i, ctrl);
            self.f.layout.append_inst(i, b);
            i
        }
        fn val(&mut self, b: Block, data: InstructionData, ctrl: Option<Type>) -> Value {
            let i = self.ins(b, data, ctrl);
            self.f.dfg.first_result(i).unwrap()
        }
        fn iconst(&mut self, b: Block, ty: Type, imm: i64) -> Value {
            self.val(
                b,
                InstructionData::UnaryImm {
                    opcode: Opcode::Iconst,
                    imm,
                },
                Some(ty),
            )
        }
        fn fconst(&mut self, b: Block, ty: Type, bits: u64) -> Value {
            self.val(
                b,
                InstructionData::UnaryIeee {
                    opcode: Opcode::Fconst,
                    bits,
                },
                Some(ty),
            )
        }
        fn bin(&mut self, b: Block, op: Opcode, x: Value, y: Value) -> Value {
            self.val(
                b,
                InstructionData::Binary {
                    opcode: op,
                    args: [x, y],
                },
                None,
            )
        }
        fn unary(&mut self, b: Block, op: Opcode, x: Value, ty: Option<Type>) -> Value {
            self.val(b, InstructionData::Unary { opcode: op, arg: x }, ty)
        }
        fn ret(&mut self, b: Block, vals: &[Value]) -> Inst {
            let args = self.f.dfg.value_lists.alloc(vals);
            self.ins(
                b,
                InstructionData::MultiAry {
                    opcode: Opcode::Return,
                    args,
                },
                None,
            )
        }
        fn jump(&mut self, b: Block, to: Block, args: &[Value]) -> Inst {
            let destination = self.f.dfg.block_call(to, args);
            self.ins(
                b,
                InstructionData::Jump {
                    opcode: Opcode::Jump,
                    destination,
                },
                None,
            )
        }
        fn brif(&mut self, b: Block, c: Value, t: Block, e: Block) -> Inst {
            let blocks = [self.f.dfg.block_call(t, &[]), self.f.dfg.block_call(e, &[])];
            self.ins(
                b,
                InstructionData::Brif {
                    opcode: Opcode::Brif,
                    arg: c,
                    blocks,
                },
                None,
            )
        }
        fn trap(&mut self, b: Block) -> Inst {
            self.ins(
                b,
                InstructionData::Trap {
                    opcode: Opcode::Trap,
                    code: TrapCode::Unreachable,
                },
                None,
            )
        }
        /// Assert the function is rejected with a message containing `needle`.
        fn rejects(&self, needle: &str) {
            match verify_function(&self.f) {
                Ok(()) => panic!("accepted, expected an error mentioning `{needle}`"),
                Err(e) => assert!(e.mentions(needle), "expected `{needle}` in:\n{e}"),
            }
        }
        fn accepts(&self) {
            if let Err(e) = verify_function(&self.f) {
                panic!("rejected:\n{e}");
            }
        }
    }

    #[test]
    fn valid_straight_line_and_diamond_accepted() {
        let (mut f, b0, v) = F::new(&[Type::I32, Type::I32], &[Type::I32]);
        let (b1, b2, b3) = (f.block(), f.block(), f.block());
        let s = f.bin(b0, Opcode::Iadd, v[0], v[1]);
        let c = f.val(
            b0,
            InstructionData::IntCompare {
                opcode: Opcode::Icmp,
                cond: IntCC::SignedLessThan,
                args: [s, v[0]],
            },
            None,
        );
        f.brif(b0, c, b1, b2);
        let p = f.f.dfg.append_block_param(b3, Type::I32);
        f.jump(b1, b3, &[s]);
        f.jump(b2, b3, &[v[1]]);
        let r = f.bin(b3, Opcode::Imul, p, v[0]);
        f.ret(b3, &[r]);
        f.accepts();
    }

    #[test]
    fn empty_block_rejected() {
        let (mut f, b0, _) = F::new(&[], &[]);
        let b1 = f.block();
        f.jump(b0, b1, &[]);
        f.rejects("block1: block is empty");
    }

    #[test]
    fn missing_terminator_rejected() {
        let (mut f, b0, _) = F::new(&[], &[]);
        f.iconst(b0, Type::I32, 1);
        f.rejects("does not end with a terminator");
    }

    #[test]
    fn terminator_in_the_middle_rejected() {
        let (mut f, b0, _) = F::new(&[], &[]);
        f.ret(b0, &[]);
        f.ret(b0, &[]);
        f.rejects("terminator is not the last instruction");
    }

    #[test]
    fn no_entry_block_rejected() {
        let f = Function::default();
        let e = verify_function(&f).unwrap_err();
        assert!(e.mentions("no entry block"), "{e}");
    }

    #[test]
    fn entry_params_must_match_signature() {
        let (mut f, b0, _) = F::new(&[Type::I32], &[]);
        f.f.signature.params = vec![Type::I64];
        f.ret(b0, &[]);
        f.rejects("entry block parameters (i32) do not match the signature's parameters (i64)");
    }

    #[test]
    fn branch_to_entry_rejected() {
        let (mut f, b0, _) = F::new(&[], &[]);
        let b1 = f.block();
        f.jump(b0, b1, &[]);
        f.jump(b1, b0, &[]);
        f.rejects("branches to the entry block block0");
    }

    #[test]
    fn block_call_arity_and_types() {
        let (mut f, b0, v) = F::new(&[Type::I32], &[]);
        let b1 = f.block();
        f.f.dfg.append_block_param(b1, Type::I64);
        f.jump(b0, b1, &[]);
        f.ret(b1, &[]);
        f.rejects("passes 0 arguments to block1, which has 1 parameters");
        let (mut g, b0, _) = F::new(&[Type::I32], &[]);
        let b1 = g.block();
        g.f.dfg.append_block_param(b1, Type::I64);
        let vv = g.f.dfg.block_params(b0)[0];
        g.jump(b0, b1, &[vv]);
        g.ret(b1, &[]);
        g.rejects("argument 0 to block1 is v0 of type i32, but parameter v1 has type i64");
        let _ = v;
    }

    #[test]
    fn branch_to_block_not_in_layout_rejected() {
        let (mut f, b0, _) = F::new(&[], &[]);
        let b1 = f.f.dfg.make_block();
        f.jump(b0, b1, &[]);
        f.rejects("branches to block1, which is not in the layout");
    }

    #[test]
    fn br_table_index_and_table() {
        let (mut f, b0, v) = F::new(&[Type::I64], &[]);
        let b1 = f.block();
        let d = f.f.dfg.block_call(b1, &[]);
        let jt = f.f.dfg.jump_tables.push(JumpTableData::new(d, &[d]));
        f.ins(
            b0,
            InstructionData::BranchTable {
                opcode: Opcode::BrTable,
                arg: v[0],
                table: jt,
            },
            None,
        );
        f.ret(b1, &[]);
        f.rejects("br_table index v0 has type i64, expected i32");

        // A jump table without a default: build through the mutable slice of an empty table.
        let (mut g, b0, _) = F::new(&[Type::I32], &[]);
        let idx = g.f.dfg.block_params(b0)[0];
        let jt = g.f.dfg.jump_tables.push(JumpTableData::new(
            BlockCall {
                block: Block::new(0),
                args: Default::default(),
            },
            &[],
        ));
        // Empty it: JumpTableData has no public constructor for an empty table, so use a
        // reference to a non-existent table instead, and check shared tables separately.
        let _ = jt;
        g.ins(
            b0,
            InstructionData::BranchTable {
                opcode: Opcode::BrTable,
                arg: idx,
                table: JumpTable::new(7),
            },
            None,
        );
        g.rejects("refers to jt7, which does not exist");
    }

    #[test]
    fn shared_jump_table_rejected() {
        let (mut f, b0, v) = F::new(&[Type::I32], &[]);
        let (b1, b2) = (f.block(), f.block());
        let d = f.f.dfg.block_call(b2, &[]);
        let jt = f.f.dfg.jump_tables.push(JumpTableData::new(d, &[]));
        f.jump(b0, b1, &[]);
        f.ins(
            b1,
            InstructionData::BranchTable {
                opcode: Opcode::BrTable,
                arg: v[0],
                table: jt,
            },
            None,
        );
        let b3 = f.block();
        f.ins(
            b3,
            InstructionData::BranchTable {
                opcode: Opcode::BrTable,
                arg: v[0],
                table: jt,
            },
            None,
        );
        f.ret(b2, &[]);
        f.rejects("jt0 is already used by");
    }

    #[test]
    fn return_values_must_match_signature() {
        let (mut f, b0, v) = F::new(&[Type::I32], &[Type::I64]);
        f.ret(b0, &[v[0]]);
        f.rejects("return values have types (i32), expected (i64)");
    }

    fn with_callee(params: &[Type], returns: &[Type]) -> (F, Block, FuncRef) {
        let (mut f, b0, _) = F::new(&[], &[]);
        let sig = f.f.import_signature(Signature::new(params, returns));
        let fr = f.f.import_user_function(UserExternalName::new(0, 1), sig);
        (f, b0, fr)
    }

    #[test]
    fn call_arguments_and_results() {
        let (mut f, b0, fr) = with_callee(&[Type::I32], &[Type::F64]);
        let x = f.iconst(b0, Type::I64, 1);
        let args = f.f.dfg.value_lists.alloc(&[x]);
        f.ins(
            b0,
            InstructionData::Call {
                opcode: Opcode::Call,
                func_ref: fr,
                args,
            },
            None,
        );
        f.ret(b0, &[]);
        f.rejects("call arguments have types (i64), expected (i32)");

        // Results that don't follow the signature.
        let (mut g, b0, fr) = with_callee(&[], &[Type::F64]);
        let i = g.f.dfg.make_inst(InstructionData::Call {
            opcode: Opcode::Call,
            func_ref: fr,
            args: Default::default(),
        });
        let v = g.f.dfg.values.push(crate::ir::ValueData {
            ty: Type::I32,
            def: ValueDef::Unused,
        });
        g.f.dfg.attach_inst_results(i, &[(v, Type::I32)]);
        g.f.layout.append_inst(i, b0);
        g.ret(b0, &[]);
        g.rejects("results have types (i32), expected (f64)");

        let (mut h, b0, _) = with_callee(&[], &[]);
        h.ins(
            b0,
            InstructionData::Call {
                opcode: Opcode::Call,
                func_ref: FuncRef::new(9),
                args: Default::default(),
            },
            None,
        );
        h.ret(b0, &[]);
        h.rejects("calls fn9, which is not declared");
    }

    #[test]
    fn call_indirect_callee_must_be_i64() {
        let (mut f, b0, _) = F::new(&[], &[]);
        let sig = f.f.import_signature(Signature::new(&[], &[]));
        let c = f.iconst(b0, Type::I32, 0);
        let args = f.f.dfg.value_lists.alloc(&[c]);
        f.ins(
            b0,
            InstructionData::CallIndirect {
                opcode: Opcode::CallIndirect,
                sig_ref: sig,
                args,
            },
            None,
        );
        f.ret(b0, &[]);
        f.rejects("callee address v0 has type i32, expected i64");
    }

    #[test]
    fn libcall_signature_and_names_and_sigs_checked() {
        let (mut f, b0, _) = F::new(&[], &[]);
        let sig =
            f.f.import_signature(Signature::new(&[Type::F64], &[Type::F64]));
        f.f.import_function(ExtFuncData {
            name: ExternalName::LibCall(LibCall::CeilF32),
            signature: sig,
        });
        f.f.import_function(ExtFuncData {
            name: ExternalName::User(crate::ir::UserExternalNameRef::new(3)),
            signature: sig,
        });
        f.f.import_function(ExtFuncData {
            name: ExternalName::LibCall(LibCall::CeilF64),
            signature: SigRef::new(5),
        });
        f.ret(b0, &[]);
        f.rejects("libcall ceil_f32 declared with signature (f64) -> f64, but its signature is (f32) -> f32");
        f.rejects("user external name userextname3 is not in the function's name table");
        f.rejects("fn2: declared function refers to sig5 which does not exist");
    }

    #[test]
    fn iconst_must_be_canonical() {
        let (mut f, b0, _) = F::new(&[], &[]);
        f.val(
            b0,
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm: 255,
            },
            Some(Type::I8),
        );
        f.ret(b0, &[]);
        f.rejects("iconst immediate 0xff is not canonical for i8 (expected -1");
        let (mut g, b0, _) = F::new(&[], &[]);
        g.iconst(b0, Type::F32, 0);
        g.ret(b0, &[]);
        g.rejects("iconst result type f32 is invalid");
    }

    #[test]
    fn fconst_f32_uses_low_bits_only() {
        let (mut f, b0, _) = F::new(&[], &[]);
        f.fconst(b0, Type::F32, 1 << 40);
        f.ret(b0, &[]);
        f.rejects("fconst.f32 bits 0x10000000000 use more than the low 32 bits");
    }

    #[test]
    fn vconst_needs_vector_and_constant() {
        let (mut f, b0, _) = F::new(&[], &[]);
        f.val(
            b0,
            InstructionData::UnaryConst {
                opcode: Opcode::Vconst,
                constant: Constant::new(0),
            },
            Some(Type::I32X4),
        );
        f.ret(b0, &[]);
        f.rejects("refers to const0, which does not exist");
    }

    #[test]
    fn lane_index_checked() {
        let (mut f, b0, v) = F::new(&[Type::I32X4], &[]);
        f.val(
            b0,
            InstructionData::ExtractLane {
                opcode: Opcode::Extractlane,
                arg: v[0],
                lane: 4,
            },
            None,
        );
        f.ret(b0, &[]);
        f.rejects("lane index 4 is out of range for i32x4 (4 lanes)");
        let (mut g, b0, v) = F::new(&[Type::I32X4, Type::I64], &[]);
        g.val(
            b0,
            InstructionData::InsertLane {
                opcode: Opcode::Insertlane,
                args: [v[0], v[1]],
                lane: 0,
            },
            None,
        );
        g.ret(b0, &[]);
        g.rejects("inserted lane v1 has type i64, expected i32");
    }

    #[test]
    fn stack_slots_checked() {
        let (mut f, b0, _) = F::new(&[], &[]);
        let ss = f.f.create_stack_slot(StackSlotData::new(8));
        f.val(
            b0,
            InstructionData::StackLoad {
                opcode: Opcode::StackLoad,
                slot: ss,
                offset: 4,
            },
            Some(Type::I64),
        );
        f.val(
            b0,
            InstructionData::StackLoad {
                opcode: Opcode::StackLoad,
                slot: ss,
                offset: -1,
            },
            Some(Type::I8),
        );
        f.val(
            b0,
            InstructionData::StackLoad {
                opcode: Opcode::StackAddr,
                slot: ss,
                offset: 9,
            },
            None,
        );
        f.val(
            b0,
            InstructionData::StackLoad {
                opcode: Opcode::StackAddr,
                slot: ss,
                offset: 8,
            },
            None,
        );
        f.f.create_stack_slot(StackSlotData {
            size: 4,
            align_shift: 5,
        });
        f.ins(
            b0,
            InstructionData::StackLoad {
                opcode: Opcode::StackLoad,
                slot: StackSlot::new(9),
                offset: 0,
            },
            Some(Type::I8),
        );
        f.ret(b0, &[]);
        f.rejects("access of 8 bytes at ss0+4 exceeds the slot's size of 8 bytes");
        f.rejects("stack slot offset -1 is negative");
        f.rejects("access of 0 bytes at ss0+9 exceeds");
        f.rejects("ss1: stack slot alignment 2^5 exceeds 16 bytes");
        f.rejects("refers to ss9, which does not exist");
        let n = verify_function(&f.f).unwrap_err().0.len();
        assert_eq!(n, 5, "stack_addr ss0+8 is fine");
    }

    #[test]
    fn memory_operand_types() {
        let (mut f, b0, v) = F::new(&[Type::I32, Type::I64], &[]);
        let fl = MemFlags::trusted();
        f.val(
            b0,
            InstructionData::Load {
                opcode: Opcode::Load,
                flags: fl,
                arg: v[0],
                offset: 0,
            },
            Some(Type::I32),
        );
        f.val(
            b0,
            InstructionData::Load {
                opcode: Opcode::Uload32,
                flags: fl,
                arg: v[1],
                offset: 0,
            },
            Some(Type::I32),
        );
        f.ins(
            b0,
            InstructionData::Store {
                opcode: Opcode::Istore32,
                flags: fl,
                args: [v[0], v[1]],
                offset: 0,
            },
            None,
        );
        f.ret(b0, &[]);
        f.rejects("address v0 has type i32, expected i64");
        f.rejects("uload32 result type i32 is invalid, expected i64");
        f.rejects("istore32 operand v0 has type i32, expected i64");
    }

    #[test]
    fn arithmetic_operand_types() {
        let (mut f, b0, v) = F::new(&[Type::I32, Type::F32, Type::I64, Type::I32X4], &[]);
        f.bin(b0, Opcode::Iadd, v[1], v[1]);
        f.bin(b0, Opcode::Fadd, v[0], v[0]);
        f.bin(b0, Opcode::Ishl, v[0], v[2]);
        f.bin(b0, Opcode::Sdiv, v[3], v[3]);
        f.unary(b0, Opcode::Uextend, v[2], Some(Type::I32));
        f.unary(b0, Opcode::Bitcast, v[0], Some(Type::I32));
        f.unary(b0, Opcode::Splat, v[2], Some(Type::I32X4));
        f.unary(b0, Opcode::FcvtToSint, v[1], Some(Type::I8));
        f.val(
            b0,
            InstructionData::Ternary {
                opcode: Opcode::Select,
                args: [v[1], v[0], v[0]],
            },
            None,
        );
        f.val(
            b0,
            InstructionData::FloatCompare {
                opcode: Opcode::Fcmp,
                cond: FloatCC::Equal,
                args: [v[0], v[0]],
            },
            None,
        );
        f.ret(b0, &[]);
        f.rejects("iadd operand v1 has type f32, expected an integer scalar or vector");
        f.rejects("fadd operand v0 has type i32, expected a float scalar or vector");
        f.rejects("operands v0 and v2 have different types (i32 and i64)");
        f.rejects("sdiv operand v3 has type i32x4, expected an integer scalar");
        f.rejects("uextend from i64 to i32: the result must be strictly wider");
        f.rejects("bitcast from i32 to i32 is not allowed");
        f.rejects("splat operand v2 has type i64, expected i32");
        f.rejects("fcvt_to_sint result type i8 is invalid, expected i32 or i64");
        f.rejects("select operand v1 has type f32, expected an integer scalar (the condition)");
        f.rejects("fcmp operand v0 has type i32, expected a float scalar or vector");
    }

    #[test]
    fn use_before_def_in_block_rejected() {
        let (mut f, b0, _) = F::new(&[], &[Type::I32]);
        let r = f.ret(b0, &[]);
        let c = f.iconst(b0, Type::I32, 1);
        // Move the return after the constant but make it use the constant: rebuild order.
        f.f.layout.remove_inst(r);
        let args = f.f.dfg.value_lists.alloc(&[c]);
        let ci = f.f.dfg.values[c].def;
        let ValueDef::Result(cinst, _) = ci else {
            unreachable!()
        };
        f.f.layout.remove_inst(cinst);
        let r2 = f.f.dfg.make_inst(InstructionData::MultiAry {
            opcode: Opcode::Return,
            args,
        });
        f.f.layout.append_inst(r2, b0);
        f.f.layout.insert_inst_before(cinst, r2);
        f.accepts();
        // Now a use before its definition.
        let a = f.bin(b0, Opcode::Iadd, c, c);
        let ValueDef::Result(ai, _) = f.f.dfg.values[a].def else {
            unreachable!()
        };
        f.f.layout.remove_inst(ai);
        f.f.layout.insert_inst_before(ai, cinst);
        f.rejects("uses v0 before its definition in block0");
    }

    #[test]
    fn definition_must_dominate_use() {
        let (mut f, b0, v) = F::new(&[Type::I32], &[Type::I32]);
        let (b1, b2, b3) = (f.block(), f.block(), f.block());
        f.brif(b0, v[0], b1, b2);
        let x = f.iconst(b1, Type::I32, 1);
        f.jump(b1, b3, &[]);
        f.jump(b2, b3, &[]);
        f.ret(b3, &[x]);
        f.rejects("uses v1, whose definition in block1 does not dominate block3");
    }

    #[test]
    fn unreachable_blocks_only_need_definedness() {
        let (mut f, b0, v) = F::new(&[Type::I32], &[Type::I32]);
        let (b1, b2) = (f.block(), f.block());
        f.ret(b0, &[v[0]]);
        let x = f.iconst(b1, Type::I32, 1);
        f.trap(b1);
        f.ret(b2, &[x]); // b1 doesn't dominate b2, but b2 is unreachable
        f.accepts();
        let ghost = f.f.dfg.values.push(crate::ir::ValueData {
            ty: Type::I32,
            def: ValueDef::Unused,
        });
        let b3 = f.block();
        f.ret(b3, &[ghost]);
        f.rejects("uses v2, which is never defined");
    }

    #[test]
    fn dangling_and_doubly_defined_values_rejected() {
        let (mut f, b0, _) = F::new(&[], &[Type::I32]);
        f.ret(b0, &[Value::new(42)]);
        f.rejects("uses v42, which does not exist");

        let (mut g, b0, _) = F::new(&[], &[Type::I32]);
        let c = g.iconst(b0, Type::I32, 1);
        let i2 = g.f.dfg.make_inst(InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm: 2,
        });
        g.f.dfg.attach_inst_results(i2, &[(c, Type::I32)]);
        g.f.layout.append_inst(i2, b0);
        g.ret(b0, &[c]);
        g.rejects("defined elsewhere");
        g.rejects("values must be defined exactly once");
    }

    #[test]
    fn operand_format_must_match_opcode() {
        let (mut f, b0, v) = F::new(&[Type::I32], &[]);
        f.ins(
            b0,
            InstructionData::Binary {
                opcode: Opcode::Iconst,
                args: [v[0], v[0]],
            },
            Some(Type::I32),
        );
        f.ret(b0, &[]);
        f.rejects("iconst has format UnaryImm but its operands are stored as Binary");
    }

    #[test]
    fn result_count_checked() {
        let (mut f, b0, v) = F::new(&[Type::I32], &[]);
        let i = f.f.dfg.make_inst(InstructionData::Binary {
            opcode: Opcode::Iadd,
            args: [v[0], v[0]],
        });
        f.f.layout.append_inst(i, b0);
        f.ret(b0, &[]);
        f.rejects("results have types (), expected (i32)");
    }

    #[test]
    fn errors_show_the_instruction_and_are_all_collected() {
        let (mut f, b0, v) = F::new(&[Type::I32], &[Type::I64]);
        f.bin(b0, Opcode::Fadd, v[0], v[0]);
        f.ret(b0, &[v[0]]);
        let e = verify_function(&f.f).unwrap_err();
        assert_eq!(e.0.len(), 2, "{e}");
        assert!(
            e.0[0].context.as_deref().unwrap_or("").contains("fadd"),
            "{e}"
        );
        assert_eq!(e.0[0].location, "inst0");
    }

    /// A tiny deterministic generator of garbage: the verifier must report, never panic.
    #[test]
    fn never_panics_on_garbage() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(n.max(1))) as u32
        };
        let mut ctx = VerifierContext::new();
        for _ in 0..300 {
            let (mut f, _, _) = F::new(&[Type::I32], &[Type::I32]);
            for _ in 0..rnd(4) {
                f.block();
            }
            f.f.dfg.make_block(); // not in the layout
            for _ in 0..rnd(4) {
                f.f.create_stack_slot(StackSlotData {
                    size: rnd(32),
                    align_shift: rnd(6) as u8,
                });
            }
            f.f.import_signature(Signature::new(&[Type::I32], &[Type::F32]));
            for _ in 0..rnd(20) {
                let blocks: Vec<Block> = f.f.layout.blocks().collect();
                let b = blocks[rnd(blocks.len() as u32) as usize];
                let nv = f.f.dfg.values.len() as u32 + 3;
                let v = |r: u32| Value::new(r as usize);
                let op = Opcode::ALL[rnd(Opcode::ALL.len() as u32) as usize];
                let bc = BlockCall {
                    block: Block::new(rnd(8) as usize),
                    args: f.f.dfg.value_lists.alloc(&[v(rnd(nv))]),
                };
                let list = f.f.dfg.value_lists.alloc(&[v(rnd(nv)), v(rnd(nv))]);
                let data = match rnd(12) {
                    0 => InstructionData::UnaryImm {
                        opcode: op,
                        imm: rnd(1000) as i64 - 500,
                    },
                    1 => InstructionData::Binary {
                        opcode: op,
                        args: [v(rnd(nv)), v(rnd(nv))],
                    },
                    2 => InstructionData::Unary {
                        opcode: op,
                        arg: v(rnd(nv)),
                    },
                    3 => InstructionData::Jump {
                        opcode: op,
                        destination: bc,
                    },
                    4 => InstructionData::Brif {
                        opcode: op,
                        arg: v(rnd(nv)),
                        blocks: [bc, bc],
                    },
                    5 => InstructionData::BranchTable {
                        opcode: op,
                        arg: v(rnd(nv)),
                        table: JumpTable::new(rnd(3) as usize),
                    },
                    6 => InstructionData::MultiAry {
                        opcode: op,
                        args: list,
                    },
                    7 => InstructionData::Call {
                        opcode: op,
                        func_ref: FuncRef::new(rnd(3) as usize),
                        args: list,
                    },
                    8 => InstructionData::CallIndirect {
                        opcode: op,
                        sig_ref: SigRef::new(rnd(3) as usize),
                        args: list,
                    },
                    9 => InstructionData::StackLoad {
                        opcode: op,
                        slot: StackSlot::new(rnd(5) as usize),
                        offset: rnd(40) as i32 - 8,
                    },
                    10 => InstructionData::ExtractLane {
                        opcode: op,
                        arg: v(rnd(nv)),
                        lane: rnd(20) as u8,
                    },
                    _ => InstructionData::Trap {
                        opcode: op,
                        code: TrapCode::User(1),
                    },
                };
                if rnd(3) == 0 {
                    let d = f.f.dfg.block_call(Block::new(rnd(6) as usize), &[]);
                    f.f.dfg.jump_tables.push(JumpTableData::new(d, &[bc]));
                }
                let ty = Type::ALL[rnd(12) as usize];
                f.ins(b, data, Some(ty));
            }
            let _ = ctx.verify(&f.f);
        }
        let _ = IntCC::Equal;
    }
}
