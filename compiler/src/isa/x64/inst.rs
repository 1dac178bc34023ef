//! x86_64 machine instructions over [`Reg`]s ([`MInst`]) and their emission through the
//! [`encoding`](super::encoding) functions.
//!
//! Owns: the instruction enum, its regalloc2 operands ([`MachInst::get_operands`]), and
//! `emit`. Integer operations on `i8`/`i16`/`i32` values run at 32 bits (bits above a
//! value's width are undefined, `docs/abi.md`), except comparisons and `test`, which use
//! the value's own width. Two-address forms (`add dst, src`) define `dst` with a reuse
//! constraint on the first source, so after allocation `dst == src1`.
//!
//! Invariants: `emit` is only called after allocation (every `Reg` physical); a
//! non-physical or wrong-class register there is a [`CodegenError::Regalloc`], not a
//! panic. Each instruction writes at most [`MInst::worst_case_size`] bytes. Branches
//! register themselves with the buffer for simplification right after their bytes.

use regalloc2::{PReg, RegClass};
use smallvec::SmallVec;

use super::encoding::gpr::{self, AluOp, ExtMode};
use super::encoding::sse::{self, SseOp, XmmMov};
use super::encoding::{Amode, Cc, GprMem, XmmMem};
use super::label_use::X64LabelUse;
use super::regs::{Gpr, OperandSize, Xmm};
use crate::ir::{StackSlot, TrapCode};
use crate::machinst::buffer::{BufferError, ConstantId, MachBuffer, RelocKind, RelocTarget};
use crate::machinst::{
    CodeSink, CodegenError, EmitContext, MachInst, MachLabel, MachTerminator, OperandVisitor, Reg,
};

/// The physical register for a GPR.
pub const fn gpr_preg(r: Gpr) -> PReg {
    PReg::new(r.enc() as usize, RegClass::Int)
}

/// The physical register for an XMM register.
pub const fn xmm_preg(r: Xmm) -> PReg {
    PReg::new(r.enc() as usize, RegClass::Float)
}

/// A memory address before frame layout is known.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Addr {
    /// `[base + offset]`.
    RegOffset {
        /// Base register.
        base: Reg,
        /// Displacement.
        offset: i32,
    },
    /// A regalloc2 spill slot (8-byte units).
    SpillSlot(u32),
    /// An IR stack slot plus an offset.
    StackSlot {
        /// The slot.
        slot: StackSlot,
        /// Byte offset in the slot.
        offset: i32,
    },
    /// The incoming stack-argument area: `[rbp + 16 + offset]`.
    IncomingArg(u32),
}

impl Addr {
    fn visit<V: OperandVisitor>(&mut self, v: &mut V) {
        if let Addr::RegOffset { base, .. } = self {
            v.reg_use(base);
        }
    }

    fn to_amode(self, ctx: &EmitContext<'_>) -> Result<Amode, CodegenError> {
        let bad = CodegenError::ImplLimit("frame offset");
        Ok(match self {
            Addr::RegOffset { base, offset } => Amode::base_disp(gpr(base)?, offset),
            Addr::SpillSlot(s) => {
                let off = ctx.frame.spill_area_offset + 8 * s;
                Amode::base_disp(Gpr::Rsp, i32::try_from(off).map_err(|_| bad)?)
            }
            Addr::StackSlot { slot, offset } => Amode::base_disp(
                Gpr::Rsp,
                ctx.frame.stack_slot_offset(slot, offset).ok_or(bad)?,
            ),
            Addr::IncomingArg(off) => Amode::base_disp(
                Gpr::Rbp,
                i32::try_from(u64::from(off) + u64::from(ctx.frame.setup_area_size))
                    .map_err(|_| bad)?,
            ),
        })
    }
}

/// An x86_64 machine instruction. See the module docs.
#[derive(Clone, Debug)]
pub enum MInst {
    /// Pseudo: defines each argument vreg in its ABI register (emits nothing).
    Args {
        /// `(vreg, register)` pairs.
        args: SmallVec<[(Reg, PReg); 8]>,
    },
    /// `ret`, reading each result vreg in its ABI register. The epilogue precedes it.
    Ret {
        /// `(vreg, register)` pairs.
        rets: SmallVec<[(Reg, PReg); 4]>,
    },
    /// `mov dst, src` (64-bit GPR copy).
    MovRR {
        /// Source.
        src: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `movaps dst, src` (whole XMM copy).
    XmmMovRR {
        /// Source.
        src: Reg,
        /// Destination.
        dst: Reg,
    },
    /// Materialize an integer constant (shortest `mov` form).
    Imm {
        /// Destination.
        dst: Reg,
        /// The bits (for 32-bit-or-narrower values only the low 32 bits matter).
        value: u64,
    },
    /// `dst = src1 op src2` (two-address; `dst` reuses `src1`).
    AluRR {
        /// Operation.
        op: AluOp,
        /// Width.
        size: OperandSize,
        /// First source (and destination register).
        src1: Reg,
        /// Second source.
        src2: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `dst = src1 op imm` (two-address).
    AluRI {
        /// Operation.
        op: AluOp,
        /// Width.
        size: OperandSize,
        /// Source (and destination register).
        src1: Reg,
        /// Sign-extended immediate.
        imm: i32,
        /// Destination.
        dst: Reg,
    },
    /// `dst = src1 * src2` (two-address `imul`).
    ImulRR {
        /// Width (not 8-bit).
        size: OperandSize,
        /// First source (and destination register).
        src1: Reg,
        /// Second source.
        src2: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `dst = src * imm` (three-operand `imul`).
    ImulRI {
        /// Width (not 8-bit).
        size: OperandSize,
        /// Source.
        src: Reg,
        /// Immediate.
        imm: i32,
        /// Destination.
        dst: Reg,
    },
    /// `cmp lhs, rhs`: flags from `lhs - rhs`.
    CmpRR {
        /// Width.
        size: OperandSize,
        /// Left operand.
        lhs: Reg,
        /// Right operand.
        rhs: Reg,
    },
    /// `cmp lhs, imm`.
    CmpRI {
        /// Width.
        size: OperandSize,
        /// Left operand.
        lhs: Reg,
        /// Immediate (sign-extended; truncated for 8/16-bit widths).
        imm: i32,
    },
    /// `test src, src`: ZF from `src == 0`.
    Test {
        /// Width.
        size: OperandSize,
        /// The value tested.
        src: Reg,
    },
    /// `setcc dst8; movzx dst32, dst8`: materialize a condition as 0 or 1.
    Setcc {
        /// Condition.
        cc: Cc,
        /// Destination.
        dst: Reg,
    },
    /// `cmovcc dst, consequent` where `dst` starts as `alternative` (reuse).
    Cmov {
        /// Condition.
        cc: Cc,
        /// Width (32 or 64).
        size: OperandSize,
        /// Chosen when `cc` holds.
        consequent: Reg,
        /// Chosen otherwise (and the destination register).
        alternative: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `op dst, src2` on XMM registers (two-address; `dst` reuses `src1`).
    XmmRR {
        /// Operation.
        op: SseOp,
        /// First source (and destination register).
        src1: Reg,
        /// Second source.
        src2: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `xorps dst, dst`: all-zero XMM register.
    XmmZero {
        /// Destination.
        dst: Reg,
    },
    /// Load a 4- or 8-byte float constant from the constant pool (`movss`/`movsd
    /// [rip + c]`).
    XmmConst {
        /// Destination.
        dst: Reg,
        /// The bits.
        bits: u64,
        /// 4 or 8.
        size: u8,
    },
    /// `mov dst, [addr]` (`size` 32 or 64; 8/16-bit loads use `movzx`).
    Load {
        /// Width.
        size: OperandSize,
        /// Address.
        addr: Addr,
        /// Destination.
        dst: Reg,
    },
    /// `mov [addr], src`.
    Store {
        /// Width.
        size: OperandSize,
        /// Value.
        src: Reg,
        /// Address.
        addr: Addr,
    },
    /// XMM load (`movss`/`movsd`/`movups`).
    XmmLoad {
        /// Move form.
        op: XmmMov,
        /// Address.
        addr: Addr,
        /// Destination.
        dst: Reg,
    },
    /// XMM store.
    XmmStore {
        /// Move form.
        op: XmmMov,
        /// Value.
        src: Reg,
        /// Address.
        addr: Addr,
    },
    /// `push r64` (prologue only; physical registers).
    Push {
        /// Register.
        reg: Gpr,
    },
    /// `pop r64` (epilogue only).
    Pop {
        /// Register.
        reg: Gpr,
    },
    /// `mov rbp, rsp` (prologue only).
    MovRspToRbp,
    /// `sub rsp, n` (positive) or `add rsp, -n` (negative); prologue/epilogue only.
    AdjustSp {
        /// Bytes to allocate (positive) or free (negative).
        delta: i32,
    },
    /// Prologue stack-limit check, before the frame below FP is allocated:
    /// `movabs r11, <StackLimit>; mov r11, [r11]; lea r10, [rsp - frame]; cmp r10, r11;
    /// jae ok; ud2 (stk_ovf); ok:`. Uses the scratch registers `r10`/`r11`.
    StackCheck {
        /// Bytes the prologue is about to allocate below the current SP.
        frame: u32,
    },
    /// `jmp target`.
    Jmp {
        /// Target.
        target: MachLabel,
    },
    /// `jcc taken; jmp not_taken` (the buffer removes whichever falls through).
    JmpCond {
        /// Condition for `taken`.
        cc: Cc,
        /// Target when `cc` holds.
        taken: MachLabel,
        /// Target otherwise.
        not_taken: MachLabel,
    },
    /// `ud2` with a trap record.
    Ud2 {
        /// Trap code.
        code: TrapCode,
    },
}

fn gpr(r: Reg) -> Result<Gpr, CodegenError> {
    match r.to_preg() {
        Some(p) if p.class() == RegClass::Int && p.hw_enc() < 16 => {
            Ok(Gpr::from_enc(p.hw_enc() as u8))
        }
        _ => Err(CodegenError::Regalloc(format!(
            "expected an allocated GPR, got {r:?}"
        ))),
    }
}

fn xmm(r: Reg) -> Result<Xmm, CodegenError> {
    match r.to_preg() {
        Some(p) if p.class() == RegClass::Float && p.hw_enc() < 16 => {
            Ok(Xmm::from_enc(p.hw_enc() as u8))
        }
        _ => Err(CodegenError::Regalloc(format!(
            "expected an allocated XMM register, got {r:?}"
        ))),
    }
}

/// Forwards bytes to a MachBuffer and turns the one RIP-relative label use of the
/// instruction written through it into a constant-pool use of `constant`.
struct ConstSink<'a> {
    buf: &'a mut MachBuffer<X64LabelUse>,
    constant: ConstantId,
    err: Option<BufferError>,
}

impl CodeSink<X64LabelUse> for ConstSink<'_> {
    fn cur_offset(&self) -> u64 {
        self.buf.cur_offset()
    }
    fn put1(&mut self, b: u8) {
        self.buf.put1(b);
    }
    fn put_data(&mut self, data: &[u8]) {
        self.buf.put_data(data);
    }
    fn use_label_at_offset(&mut self, offset: u64, _label: MachLabel, kind: X64LabelUse) {
        if let Err(e) = self.buf.use_constant(offset, self.constant, kind) {
            self.err.get_or_insert(e);
        }
    }
    fn add_trap(&mut self, code: TrapCode) {
        self.buf.add_trap(code);
    }
}

impl MInst {
    /// Worst case bytes of one instruction (the stack check is the longest).
    pub const WORST_CASE_SIZE: u32 = 48;
}

impl MachInst for MInst {
    type LabelUse = X64LabelUse;

    fn get_operands<V: OperandVisitor>(&mut self, v: &mut V) {
        match self {
            MInst::Args { args } => {
                for (r, p) in args.iter_mut() {
                    v.reg_fixed_def(r, *p);
                }
            }
            MInst::Ret { rets } => {
                for (r, p) in rets.iter_mut() {
                    v.reg_fixed_use(r, *p);
                }
            }
            MInst::MovRR { src, dst } | MInst::XmmMovRR { src, dst } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            MInst::Imm { dst, .. } | MInst::XmmZero { dst } | MInst::XmmConst { dst, .. } => {
                v.reg_def(dst)
            }
            MInst::AluRR {
                src1, src2, dst, ..
            }
            | MInst::ImulRR {
                src1, src2, dst, ..
            }
            | MInst::XmmRR {
                src1, src2, dst, ..
            } => {
                v.reg_use(src1);
                v.reg_use(src2);
                v.reg_reuse_def(dst, 0);
            }
            MInst::AluRI { src1, dst, .. } => {
                v.reg_use(src1);
                v.reg_reuse_def(dst, 0);
            }
            MInst::ImulRI { src, dst, .. } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            MInst::CmpRR { lhs, rhs, .. } => {
                v.reg_use(lhs);
                v.reg_use(rhs);
            }
            MInst::CmpRI { lhs, .. } => v.reg_use(lhs),
            MInst::Test { src, .. } => v.reg_use(src),
            MInst::Setcc { dst, .. } => v.reg_def(dst),
            MInst::Cmov {
                consequent,
                alternative,
                dst,
                ..
            } => {
                v.reg_use(alternative);
                v.reg_use(consequent);
                v.reg_reuse_def(dst, 0);
            }
            MInst::Load { addr, dst, .. } | MInst::XmmLoad { addr, dst, .. } => {
                addr.visit(v);
                v.reg_def(dst);
            }
            MInst::Store { src, addr, .. } | MInst::XmmStore { src, addr, .. } => {
                v.reg_use(src);
                addr.visit(v);
            }
            MInst::Push { .. }
            | MInst::Pop { .. }
            | MInst::MovRspToRbp
            | MInst::AdjustSp { .. }
            | MInst::StackCheck { .. }
            | MInst::Jmp { .. }
            | MInst::JmpCond { .. }
            | MInst::Ud2 { .. } => {}
        }
    }

    fn is_move(&self) -> Option<(Reg, Reg)> {
        match *self {
            MInst::MovRR { src, dst } | MInst::XmmMovRR { src, dst } => Some((dst, src)),
            _ => None,
        }
    }

    fn is_term(&self) -> MachTerminator {
        match self {
            MInst::Ret { .. } => MachTerminator::Ret,
            MInst::Ud2 { .. } => MachTerminator::Trap,
            MInst::Jmp { .. } | MInst::JmpCond { .. } => MachTerminator::Branch,
            _ => MachTerminator::None,
        }
    }

    fn gen_move(dst: Reg, src: Reg, class: RegClass) -> Self {
        match class {
            RegClass::Int => MInst::MovRR { src, dst },
            RegClass::Float | RegClass::Vector => MInst::XmmMovRR { src, dst },
        }
    }

    fn gen_jump(target: MachLabel) -> Self {
        MInst::Jmp { target }
    }

    fn worst_case_size() -> u32 {
        Self::WORST_CASE_SIZE
    }

    fn emit(
        &self,
        sink: &mut MachBuffer<X64LabelUse>,
        ctx: &EmitContext<'_>,
    ) -> Result<(), CodegenError> {
        use OperandSize::*;
        match *self {
            MInst::Args { .. } => {}
            MInst::Ret { .. } => gpr::ret(sink),
            MInst::MovRR { src, dst } => gpr::mov_rr(sink, S64, gpr(dst)?, gpr(src)?),
            MInst::XmmMovRR { src, dst } => {
                sse::xmm_mov_rr(sink, XmmMov::Movaps, xmm(dst)?, xmm(src)?)
            }
            MInst::Imm { dst, value } => gpr::mov_imm64(sink, gpr(dst)?, value),
            MInst::AluRR {
                op,
                size,
                src1,
                src2,
                dst,
            } => {
                same(src1, dst)?;
                gpr::alu_rmr(sink, op, size, gpr(dst)?, GprMem::Gpr(gpr(src2)?));
            }
            MInst::AluRI {
                op,
                size,
                src1,
                imm,
                dst,
            } => {
                same(src1, dst)?;
                gpr::alu_ri(sink, op, size, GprMem::Gpr(gpr(dst)?), imm);
            }
            MInst::ImulRR {
                size,
                src1,
                src2,
                dst,
            } => {
                same(src1, dst)?;
                gpr::imul_rmr(sink, size, gpr(dst)?, GprMem::Gpr(gpr(src2)?));
            }
            MInst::ImulRI {
                size,
                src,
                imm,
                dst,
            } => gpr::imul_rmri(sink, size, gpr(dst)?, GprMem::Gpr(gpr(src)?), imm),
            MInst::CmpRR { size, lhs, rhs } => {
                gpr::alu_rmr(sink, AluOp::Cmp, size, gpr(lhs)?, GprMem::Gpr(gpr(rhs)?))
            }
            MInst::CmpRI { size, lhs, imm } => {
                gpr::alu_ri(sink, AluOp::Cmp, size, GprMem::Gpr(gpr(lhs)?), imm)
            }
            MInst::Test { size, src } => {
                let r = gpr(src)?;
                gpr::test_rr(sink, size, r, r);
            }
            MInst::Setcc { cc, dst } => {
                let r = gpr(dst)?;
                gpr::setcc(sink, cc, r);
                gpr::movzx(sink, ExtMode::B2L, r, GprMem::Gpr(r));
            }
            MInst::Cmov {
                cc,
                size,
                consequent,
                alternative,
                dst,
            } => {
                same(alternative, dst)?;
                gpr::cmov(sink, cc, size, gpr(dst)?, GprMem::Gpr(gpr(consequent)?));
            }
            MInst::XmmRR {
                op,
                src1,
                src2,
                dst,
            } => {
                same(src1, dst)?;
                sse::xmm_rmr(sink, op, xmm(dst)?, XmmMem::Xmm(xmm(src2)?));
            }
            MInst::XmmZero { dst } => {
                let r = xmm(dst)?;
                sse::xmm_rmr(sink, SseOp::Xorps, r, XmmMem::Xmm(r));
            }
            MInst::XmmConst { dst, bits, size } => {
                let r = xmm(dst)?;
                let (data, op): (&[u8], XmmMov) = match size {
                    4 => (&bits.to_le_bytes()[..4], XmmMov::Movss),
                    _ => (&bits.to_le_bytes()[..8], XmmMov::Movsd),
                };
                let constant = sink.register_constant(data, u32::from(size.max(4)))?;
                let mut cs = ConstSink {
                    buf: sink,
                    constant,
                    err: None,
                };
                // The label is a placeholder: `ConstSink` redirects the use to the pool.
                sse::xmm_load(&mut cs, op, r, &Amode::RipLabel(MachLabel(0)));
                if let Some(e) = cs.err {
                    return Err(e.into());
                }
            }
            MInst::Load { size, addr, dst } => {
                let a = addr.to_amode(ctx)?;
                match size {
                    S8 => gpr::movzx(sink, ExtMode::B2L, gpr(dst)?, GprMem::Mem(&a)),
                    S16 => gpr::movzx(sink, ExtMode::W2L, gpr(dst)?, GprMem::Mem(&a)),
                    _ => gpr::mov_load(sink, size, gpr(dst)?, &a),
                }
            }
            MInst::Store { size, src, addr } => {
                let a = addr.to_amode(ctx)?;
                gpr::mov_store(sink, size, &a, gpr(src)?);
            }
            MInst::XmmLoad { op, addr, dst } => {
                let a = addr.to_amode(ctx)?;
                sse::xmm_load(sink, op, xmm(dst)?, &a);
            }
            MInst::XmmStore { op, src, addr } => {
                let a = addr.to_amode(ctx)?;
                sse::xmm_store(sink, op, &a, xmm(src)?);
            }
            MInst::Push { reg } => gpr::push(sink, reg),
            MInst::Pop { reg } => gpr::pop(sink, reg),
            MInst::MovRspToRbp => gpr::mov_rr(sink, S64, Gpr::Rbp, Gpr::Rsp),
            MInst::AdjustSp { delta } => {
                if delta > 0 {
                    gpr::alu_ri(sink, AluOp::Sub, S64, GprMem::Gpr(Gpr::Rsp), delta);
                } else if delta < 0 {
                    gpr::alu_ri(sink, AluOp::Add, S64, GprMem::Gpr(Gpr::Rsp), -delta);
                }
            }
            MInst::StackCheck { frame } => {
                let disp =
                    i32::try_from(frame).map_err(|_| CodegenError::ImplLimit("frame size"))?;
                let start = sink.cur_offset();
                gpr::movabs(sink, Gpr::R11, 0);
                sink.add_reloc_at_offset(start + 2, RelocKind::Abs8, RelocTarget::StackLimit, 0)?;
                gpr::mov_load(sink, S64, Gpr::R11, &Amode::base_disp(Gpr::R11, 0));
                gpr::lea(sink, S64, Gpr::R10, &Amode::base_disp(Gpr::Rsp, -disp));
                gpr::alu_rmr(sink, AluOp::Cmp, S64, Gpr::R10, GprMem::Gpr(Gpr::R11));
                let ok = sink.get_label();
                gpr::jcc_label(sink, Cc::Ae, ok);
                gpr::ud2(sink, TrapCode::StackOverflow);
                sink.bind_label(ok)?;
            }
            MInst::Jmp { target } => {
                let start = sink.cur_offset();
                gpr::jmp_label(sink, target);
                // A refused registration only forgoes simplification.
                let _ = sink.add_uncond_branch(start, sink.cur_offset(), target);
            }
            MInst::JmpCond {
                cc,
                taken,
                not_taken,
            } => {
                let start = sink.cur_offset();
                gpr::jcc_label(sink, cc, taken);
                let inverted = [0x0F, 0x80 + cc.invert().enc(), 0, 0, 0, 0];
                let _ = sink.add_cond_branch(start, sink.cur_offset(), taken, &inverted);
                let start = sink.cur_offset();
                gpr::jmp_label(sink, not_taken);
                let _ = sink.add_uncond_branch(start, sink.cur_offset(), not_taken);
            }
            MInst::Ud2 { code } => gpr::ud2(sink, code),
        }
        Ok(())
    }
}

/// A two-address form's destination must have been allocated to its first source.
fn same(src: Reg, dst: Reg) -> Result<(), CodegenError> {
    if src == dst {
        Ok(())
    } else {
        Err(CodegenError::Regalloc(format!(
            "reuse constraint violated: {dst:?} != {src:?}"
        )))
    }
}
