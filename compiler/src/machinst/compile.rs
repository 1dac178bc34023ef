//! The per-function compilation pipeline: control-flow graph and dominator tree → verify →
//! lower → regalloc2 (→ checker) → frame layout → emit → [`CompiledCodeBase<Stencil>`].
//! The graph and the tree are computed once, for the verifier and lowering both (their
//! time counts as lowering's).
//!
//! Owns [`CompileContext`], which keeps every buffer the pipeline needs (the MachBuffer,
//! the VCode, lowering scratch, regalloc2's context, the verifier's scratch, the frame) so
//! compiling many functions allocates little after the first one.
//!
//! Emission invariants:
//! - block `i`'s label is `MachLabel(i)`: the buffer's first `num_blocks` labels are
//!   created before anything else and bound at each block's start;
//! - before each block and each instruction, the island protocol is followed with a
//!   jump-over (see the buffer docs), with a chunk of one worst-case instruction plus one
//!   worst-case veneer;
//! - a move whose allocated source and destination are the same register is not
//!   emitted (regalloc2 edits and [`MachInst::is_move`] instructions alike);
//! - the epilogue is emitted right before every [`MachTerminator::Ret`].
//!
//! Compiling the same function with the same options gives byte-identical output.

use regalloc2::{Algorithm, Allocation, Edit, InstOrEdit, OperandKind, PRegSet, RegallocOptions};
use smallvec::SmallVec;

use super::abi::{AbiSpec, FrameLayout};
use super::buffer::MachBuffer;
use super::compiled::{CompiledCodeBase, Stencil};
use super::error::CodegenError;
use super::inst::{EmitContext, MachInst, MachTerminator, Reg};
use super::lower::{lower_function, LowerBackend, LowerScratch};
use super::timing::PhaseClock;
use super::vcode::VCode;
use super::{LabelUse, MachLabel};
use crate::dominator_tree::DominatorTree;
use crate::flowgraph::ControlFlowGraph;
use crate::ir::{Function, RelSourceLoc, VerifierContext};

/// Which regalloc2 algorithm to run (the `regalloc` setting).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum RegallocAlgorithm {
    /// regalloc2's backtracking allocator ("Ion"): better code.
    #[default]
    Backtracking,
    /// regalloc2's single-pass allocator ("Fastalloc"): faster compiles.
    SinglePass,
}

/// Options for one compilation.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct CompileOptions {
    /// The register allocator.
    pub regalloc: RegallocAlgorithm,
    /// Run regalloc2's SSA validation and its checker on the allocation; a failure is
    /// [`CodegenError::RegallocChecker`].
    pub regalloc_checker: bool,
    /// Verify the IR first; without it the input must already be verified.
    pub verify: bool,
    /// Check the stack limit in every prologue, not only in functions with calls.
    pub force_stack_check: bool,
}

impl Default for CompileOptions {
    /// Backtracking allocation, verification on, the checker on in debug builds.
    fn default() -> Self {
        Self {
            regalloc: RegallocAlgorithm::Backtracking,
            regalloc_checker: cfg!(debug_assertions),
            verify: true,
            force_stack_check: false,
        }
    }
}

/// Reusable state for compiling functions with one backend. See the module docs.
pub struct CompileContext<B: LowerBackend> {
    buffer: MachBuffer<<B::MInst as MachInst>::LabelUse>,
    vcode: VCode<B::MInst>,
    lower: LowerScratch<B::MInst>,
    ra: regalloc2::Ctx,
    /// The function's control-flow graph and dominator tree, computed once for the
    /// verifier and lowering.
    cfg: ControlFlowGraph,
    domtree: DominatorTree,
    verifier: VerifierContext,
    frame: FrameLayout,
    frame_insts: SmallVec<[B::MInst; 16]>,
}

impl<B: LowerBackend> Default for CompileContext<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: LowerBackend> CompileContext<B> {
    /// A fresh context.
    pub fn new() -> Self {
        Self {
            buffer: MachBuffer::new(),
            vcode: VCode::new(),
            lower: LowerScratch::default(),
            ra: regalloc2::Ctx::default(),
            cfg: ControlFlowGraph::new(),
            domtree: DominatorTree::new(),
            verifier: VerifierContext::new(),
            frame: FrameLayout::default(),
            frame_insts: SmallVec::new(),
        }
    }

    /// The VCode of the last function compiled (after register allocation: every
    /// register is physical). For tests and debugging.
    pub fn vcode(&self) -> &VCode<B::MInst> {
        &self.vcode
    }

    /// The frame of the last function compiled.
    pub fn frame(&self) -> &FrameLayout {
        &self.frame
    }

    /// Compile `func` with `backend`.
    pub fn compile(
        &mut self,
        backend: &B,
        func: &Function,
        options: &CompileOptions,
    ) -> Result<CompiledCodeBase<Stencil>, CodegenError> {
        let mut clock = PhaseClock::start();
        // Lowering needs these; the verifier takes them too instead of computing its own.
        self.cfg.compute(func);
        self.domtree.compute(func, &self.cfg);
        clock.lap(|t| &mut t.lower);
        if options.verify {
            self.verifier
                .verify_with_flow(func, &self.cfg, &self.domtree)
                .map_err(CodegenError::Verifier)?;
        }
        clock.lap(|t| &mut t.verify);
        lower_function(
            backend,
            func,
            &self.domtree,
            &mut self.lower,
            &mut self.vcode,
        )?;
        clock.lap(|t| &mut t.lower);

        let env = B::Abi::machine_env();
        let ra_opts = RegallocOptions {
            verbose_log: false,
            validate_ssa: options.regalloc_checker,
            algorithm: match options.regalloc {
                RegallocAlgorithm::Backtracking => Algorithm::Ion,
                RegallocAlgorithm::SinglePass => Algorithm::Fastalloc,
            },
        };
        regalloc2::run_with_ctx(&self.vcode, env, &ra_opts, &mut self.ra)
            .map_err(|e| CodegenError::Regalloc(format!("{e:?}")))?;
        let output = &self.ra.output;
        if options.regalloc_checker {
            let mut checker = regalloc2::checker::Checker::new(&self.vcode, env);
            checker.prepare(output);
            checker
                .run()
                .map_err(|e| CodegenError::RegallocChecker(format!("{e:?}")))?;
        }
        clock.lap(|t| &mut t.regalloc);

        let clobbered = clobbered_regs(&self.vcode, output);
        self.frame.compute::<B::Abi>(
            &func.stack_slots,
            output.num_spillslots,
            clobbered,
            self.lower.outgoing_area_size,
            options.force_stack_check || self.lower.has_calls,
        )?;
        if !self.vcode.apply_allocations(output) {
            return Err(CodegenError::Regalloc(
                "an operand did not get a register".to_string(),
            ));
        }
        let r = emit::<B>(
            &self.vcode,
            output,
            &self.frame,
            &mut self.buffer,
            &mut self.frame_insts,
        );
        let done = match r {
            Ok(()) => self.buffer.finish_and_clear(),
            Err(e) => {
                self.buffer.clear();
                return Err(e);
            }
        }?;
        clock.lap(|t| &mut t.emit);
        CompiledCodeBase::from_buffer(done, self.frame.total_size())
    }
}

/// Compile one function with a fresh [`CompileContext`]. To compile many functions,
/// keep a context and call [`CompileContext::compile`].
pub fn compile_function<B: LowerBackend>(
    func: &Function,
    backend: &B,
    options: &CompileOptions,
) -> Result<CompiledCodeBase<Stencil>, CodegenError> {
    CompileContext::<B>::new().compile(backend, func, options)
}

/// Every physical register the allocated function writes: allocated defs, regalloc2
/// move destinations and instruction clobbers.
fn clobbered_regs<I: MachInst>(vcode: &VCode<I>, output: &regalloc2::Output) -> PRegSet {
    let mut set = PRegSet::empty();
    for i in 0..vcode.insts().len() {
        let ri = regalloc2::Inst::new(i);
        for (op, a) in vcode.operands(i).iter().zip(output.inst_allocs(ri)) {
            if op.kind() == OperandKind::Def {
                if let Some(p) = a.as_reg() {
                    set.add(p);
                }
            }
        }
    }
    set.union_from(vcode.all_clobbers());
    for (_, edit) in &output.edits {
        let Edit::Move { to, .. } = edit;
        if let Some(p) = to.as_reg() {
            set.add(p);
        }
    }
    set
}

fn emit<B: LowerBackend>(
    vcode: &VCode<B::MInst>,
    output: &regalloc2::Output,
    frame: &FrameLayout,
    buf: &mut MachBuffer<<B::MInst as MachInst>::LabelUse>,
    frame_insts: &mut SmallVec<[B::MInst; 16]>,
) -> Result<(), CodegenError> {
    type U<B> = <<B as LowerBackend>::MInst as MachInst>::LabelUse;
    buf.clear();
    let nblocks = vcode.num_blocks();
    for _ in 0..nblocks {
        buf.get_label();
    }
    let ctx = EmitContext { frame };
    let chunk =
        u64::from(B::MInst::worst_case_size()) + u64::from(U::<B>::worst_case_veneer_size());

    frame_insts.clear();
    B::Abi::gen_prologue(frame, frame_insts);
    for i in frame_insts.iter() {
        i.emit(buf, &ctx)?;
    }
    frame_insts.clear();
    B::Abi::gen_epilogue(frame, frame_insts);

    for b in 0..nblocks {
        island_check::<B::MInst>(buf, chunk, &ctx)?;
        buf.bind_label(MachLabel(b as u32))?;
        let mut cur_loc = RelSourceLoc::default();
        for ie in output.block_insts_and_edits(vcode, regalloc2::Block::new(b)) {
            island_check::<B::MInst>(buf, chunk, &ctx)?;
            match ie {
                InstOrEdit::Edit(Edit::Move { from, to }) => {
                    emit_edit::<B>(buf, &ctx, *from, *to)?;
                }
                InstOrEdit::Inst(i) => {
                    let inst = &vcode.insts[i.index()];
                    let loc = vcode.srclocs[i.index()];
                    if loc != cur_loc {
                        if loc.offset().is_some() {
                            buf.start_srcloc(loc);
                        } else {
                            buf.end_srcloc();
                        }
                        cur_loc = loc;
                    }
                    if let Some((d, s)) = inst.is_move() {
                        if d == s {
                            continue;
                        }
                    }
                    if inst.is_term() == MachTerminator::Ret {
                        for e in frame_insts.iter() {
                            e.emit(buf, &ctx)?;
                        }
                    }
                    inst.emit(buf, &ctx)?;
                }
            }
        }
        buf.end_srcloc();
    }
    Ok(())
}

/// The island protocol's jump-over form (see the buffer docs).
fn island_check<I: MachInst>(
    buf: &mut MachBuffer<I::LabelUse>,
    chunk: u64,
    ctx: &EmitContext<'_>,
) -> Result<(), CodegenError> {
    if buf.island_needed(chunk * 2) {
        let after = buf.get_label();
        I::gen_jump(after).emit(buf, ctx)?;
        buf.emit_island(chunk * 2)?;
        buf.bind_label(after)?;
    }
    Ok(())
}

fn emit_edit<B: LowerBackend>(
    buf: &mut MachBuffer<<B::MInst as MachInst>::LabelUse>,
    ctx: &EmitContext<'_>,
    from: Allocation,
    to: Allocation,
) -> Result<(), CodegenError> {
    if from == to {
        return Ok(());
    }
    let inst = match (from.as_reg(), to.as_reg(), from.as_stack(), to.as_stack()) {
        (Some(f), Some(t), _, _) => {
            B::MInst::gen_move(Reg::from_preg(t), Reg::from_preg(f), f.class())
        }
        (Some(f), None, _, Some(slot)) => B::Abi::gen_spill(slot, f),
        (None, Some(t), Some(slot), _) => B::Abi::gen_reload(t, slot),
        _ => {
            return Err(CodegenError::Regalloc(format!(
                "unsupported move {from} -> {to}"
            )))
        }
    };
    inst.emit(buf, ctx)
}
