//! AArch64 machine instructions over [`Reg`]s ([`MInst`]) and their emission through the
//! [`encoding`](super::encoding) functions.
//!
//! Owns: the instruction enum, its regalloc2 operands ([`MachInst::get_operands`]), and
//! `emit`. Every instruction is three-address except the lane inserts and `bsl`, whose
//! destination reuses the vector operand (reuse constraint).
//!
//! Value representation (`docs/abi.md`): `i8`/`i16`/`i32` live in the low bits of a GPR and
//! are operated on with 32-bit (`w`) forms; bits above the type's width are undefined.
//! `i64` uses `x` forms. Floats and vectors live in `v` registers (whole-register moves copy
//! all 128 bits; spill slots for that class are 16 bytes).
//!
//! Invariants:
//! - `emit` is only called after allocation (every `Reg` physical); a non-physical or
//!   wrong-class register is a [`CodegenError::Regalloc`], never a panic.
//! - x16/x17 are never allocated; pseudo-instructions use them as scratch *within one
//!   instruction* only (large offsets and immediates, the stack check, the jump table,
//!   `func_addr`), never across a label use that could be routed through a veneer while
//!   they hold a live value.
//! - Each instruction writes at most [`MInst::WORST_CASE_SIZE`] bytes, except
//!   [`MInst::BrTable`], whose inline table is emitted after an island check of its own
//!   (the island protocol's jump-over form), so no deadline can pass inside it.
//! - Branches register themselves with the buffer right after their bytes (with the
//!   inverted encoding for conditional ones). Conditional traps branch over an inline
//!   `udf` to a local label and are not registered.
//! - `func_addr` and the stack-limit load use an inline 8-byte literal (8-byte aligned,
//!   jumped over) that carries an `Abs8` relocation: `ldr xd, #8; b #12; .quad sym`.

use regalloc2::{PReg, PRegSet, RegClass};
use smallvec::SmallVec;

use super::encoding::fp::{
    self, FpuOp1, FpuOp2, VecFpOp3, VecLogicOp, VecMiscOp, VecOp3, VecPermOp,
};
use super::encoding::int::{self, AluOp, DataProc1, DataProc2, LoadOp, StoreOp};
use super::encoding::{
    put, AMode, Cond, Extend, FpImm8, Imm12, ImmLogic, IndexExtend, PairAMode, Shift,
};
use super::label_use::AArch64LabelUse;
use super::regs::{ElemSize, FpMemSize, FpSize, Size, VReg, VecArr, XReg, XRegOrSp, XRegOrZr};
use crate::ir::{ExternalName, StackSlot, TrapCode};
use crate::machinst::buffer::{BufferError, ConstantId, MachBuffer, RelocKind, RelocTarget};
use crate::machinst::{
    CodeSink, CodegenError, EmitContext, MachInst, MachLabel, MachTerminator, OperandVisitor, Reg,
};

/// The physical register for a GPR.
pub const fn xpreg(r: XReg) -> PReg {
    PReg::new(r.enc() as usize, RegClass::Int)
}

/// The physical register for a SIMD/FP register.
pub const fn vpreg(r: VReg) -> PReg {
    PReg::new(r.enc() as usize, RegClass::Float)
}

/// A memory address before frame layout is known.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Addr {
    /// `[base + offset]`.
    RegOffset {
        /// Base register.
        base: Reg,
        /// Byte offset.
        offset: i64,
    },
    /// `[base + index]` (64-bit index).
    RegReg {
        /// Base register.
        base: Reg,
        /// Index register.
        index: Reg,
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
    /// The incoming stack-argument area: `[fp + 16 + offset]`.
    IncomingArg(u32),
    /// `[sp + offset]`: outgoing arguments, return areas, saved registers.
    SpOffset(u32),
}

impl Addr {
    fn visit<V: OperandVisitor>(&mut self, v: &mut V) {
        match self {
            Addr::RegOffset { base, .. } => v.reg_use(base),
            Addr::RegReg { base, index } => {
                v.reg_use(base);
                v.reg_use(index);
            }
            _ => {}
        }
    }

    /// Base register and byte offset (for every form but `RegReg`).
    fn base_offset(self, ctx: &EmitContext<'_>) -> Result<(XRegOrSp, i64), CodegenError> {
        let bad = || CodegenError::ImplLimit("frame offset");
        Ok(match self {
            Addr::RegOffset { base, offset } => (xr(base)?.into(), offset),
            Addr::RegReg { .. } => return Err(CodegenError::InvalidFunction("register address")),
            Addr::SpillSlot(s) => (
                XRegOrSp::Sp,
                i64::from(ctx.frame.spill_area_offset) + 8 * i64::from(s),
            ),
            Addr::StackSlot { slot, offset } => (
                XRegOrSp::Sp,
                i64::from(ctx.frame.stack_slot_offset(slot, offset).ok_or_else(bad)?),
            ),
            Addr::IncomingArg(off) => (
                XReg::FP.into(),
                i64::from(off) + i64::from(ctx.frame.setup_area_size),
            ),
            Addr::SpOffset(off) => (XRegOrSp::Sp, i64::from(off)),
        })
    }

    /// The addressing mode for an access of `1 << log2` bytes, materializing an offset
    /// that fits no immediate form in x16 first.
    fn to_amode(
        self,
        sink: &mut MachBuffer<AArch64LabelUse>,
        ctx: &EmitContext<'_>,
        log2: u32,
    ) -> Result<AMode, CodegenError> {
        if let Addr::RegReg { base, index } = self {
            return Ok(AMode::Reg {
                rn: xr(base)?.into(),
                rm: zr(index)?,
                extend: IndexExtend::Lsl,
                scaled: false,
            });
        }
        let (rn, off) = self.base_offset(ctx)?;
        if let Some(a) = AMode::offset(rn, off, log2) {
            return Ok(a);
        }
        emit_imm(sink, Size::S64, XReg::X16, off as u64);
        Ok(AMode::Reg {
            rn,
            rm: XReg::X16.into(),
            extend: IndexExtend::Lsl,
            scaled: false,
        })
    }
}

/// A branch or trap condition.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum CondKind {
    /// Flags condition (after a compare).
    Cond(Cond),
    /// The register is zero (`cbz`).
    Zero(Reg, Size),
    /// The register is non-zero (`cbnz`).
    NonZero(Reg, Size),
    /// Bit `bit` of the register is zero (`tbz`).
    BitZero(Reg, u8),
    /// Bit `bit` of the register is one (`tbnz`).
    BitSet(Reg, u8),
}

impl CondKind {
    /// The condition that holds exactly when `self` does not.
    pub fn invert(self) -> CondKind {
        match self {
            CondKind::Cond(c) => CondKind::Cond(c.invert()),
            CondKind::Zero(r, s) => CondKind::NonZero(r, s),
            CondKind::NonZero(r, s) => CondKind::Zero(r, s),
            CondKind::BitZero(r, b) => CondKind::BitSet(r, b),
            CondKind::BitSet(r, b) => CondKind::BitZero(r, b),
        }
    }

    fn visit<V: OperandVisitor>(&mut self, v: &mut V) {
        match self {
            CondKind::Cond(_) => {}
            CondKind::Zero(r, _)
            | CondKind::NonZero(r, _)
            | CondKind::BitZero(r, _)
            | CondKind::BitSet(r, _) => v.reg_use(r),
        }
    }

    /// Emit the branch to `label` taken when the condition holds.
    fn emit_branch(
        self,
        sink: &mut impl CodeSink<AArch64LabelUse>,
        label: MachLabel,
    ) -> Result<(), CodegenError> {
        match self {
            CondKind::Cond(c) => int::b_cond(sink, c, label),
            CondKind::Zero(r, s) => int::cbz(sink, s, zr(r)?, label),
            CondKind::NonZero(r, s) => int::cbnz(sink, s, zr(r)?, label),
            CondKind::BitZero(r, b) => int::tbz(sink, zr(r)?, u32::from(b), label),
            CondKind::BitSet(r, b) => int::tbnz(sink, zr(r)?, u32::from(b), label),
        }
        Ok(())
    }
}

/// What a call calls.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum CallDest {
    /// `bl` with an `Arm64Call` relocation.
    Name(ExternalName),
    /// `blr reg`.
    Reg(Reg),
}

/// An AArch64 machine instruction. See the module docs.
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
    /// `mov xd, xn` (64-bit GPR copy).
    Mov {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
    },
    /// `mov vd.16b, vn.16b` (whole-register copy).
    FpuMove {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
    },
    /// Materialize an integer constant (`movz`/`movn`/`movk` or a bitmask `orr`).
    Imm {
        /// Width (for `S32` only the low 32 bits matter).
        size: Size,
        /// Destination.
        dst: Reg,
        /// The bits.
        value: u64,
    },
    /// `op rd, rn, rm{, shift #amount}` (shifted register).
    AluRRR {
        /// Operation.
        op: AluOp,
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
        /// Shift applied to `rm`.
        shift: Shift,
        /// Shift amount (below the width).
        amount: u8,
    },
    /// `add`/`sub` with a 12-bit immediate.
    AluRRImm12 {
        /// `Add` or `Sub`.
        op: AluOp,
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
        /// Immediate.
        imm: Imm12,
    },
    /// `and`/`orr`/`eor` with a bitmask immediate.
    AluRRImmLogic {
        /// `And`, `Orr` or `Eor`.
        op: AluOp,
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
        /// Immediate (made for `size`).
        imm: ImmLogic,
    },
    /// `cmp rn, rm{, extend}` (flags only). With `ext`, `rm` is extended first.
    CmpRR {
        /// Width.
        size: Size,
        /// Left operand.
        rn: Reg,
        /// Right operand.
        rm: Reg,
    },
    /// `cmp rn, #imm` or (`negate`) `cmn rn, #imm`.
    CmpImm {
        /// Width.
        size: Size,
        /// Left operand.
        rn: Reg,
        /// Immediate.
        imm: Imm12,
        /// Compare against `-imm` (`cmn`).
        negate: bool,
    },
    /// `tst rn, #imm`.
    TstImm {
        /// Width.
        size: Size,
        /// Operand.
        rn: Reg,
        /// Immediate.
        imm: ImmLogic,
    },
    /// `ccmp rn, #imm5, #nzcv, cond`.
    CCmpImm {
        /// Width.
        size: Size,
        /// Operand.
        rn: Reg,
        /// Immediate (0–31).
        imm5: u8,
        /// Flags when `cond` does not hold.
        nzcv: u8,
        /// Condition.
        cond: Cond,
    },
    /// `madd`/`msub rd, rn, rm, ra`.
    MulAdd {
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Multiplicand.
        rn: Reg,
        /// Multiplier.
        rm: Reg,
        /// Addend.
        ra: Reg,
        /// `msub` (`ra - rn * rm`) instead of `madd`.
        sub: bool,
    },
    /// `mul rd, rn, rm`.
    Mul {
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// `neg rd, rn` (`negate`) or `mvn rd, rn`.
    NegNot {
        /// `neg` instead of `mvn`.
        negate: bool,
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `smulh`/`umulh xd, xn, xm`.
    MulHi {
        /// Signed?
        signed: bool,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// Two-source data processing (`udiv sdiv lslv lsrv asrv rorv`).
    Dp2 {
        /// Operation.
        op: DataProc2,
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// One-source data processing (`rbit clz ...`).
    Dp1 {
        /// Operation.
        op: DataProc1,
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `ubfm`/`sbfm` (shifts by immediate, extensions, bitfield extracts).
    Bitfield {
        /// `sbfm` instead of `ubfm`.
        signed: bool,
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
        /// `immr`.
        immr: u8,
        /// `imms`.
        imms: u8,
    },
    /// `extr rd, rn, rm, #lsb` (`ror` by immediate when `rn == rm`).
    Extr {
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// High part.
        rn: Reg,
        /// Low part.
        rm: Reg,
        /// Bit position.
        lsb: u8,
    },
    /// `csel rd, rn, rm, cond`.
    CSel {
        /// Width.
        size: Size,
        /// Destination.
        dst: Reg,
        /// Chosen when `cond` holds.
        rn: Reg,
        /// Chosen otherwise.
        rm: Reg,
        /// Condition.
        cond: Cond,
    },
    /// `cset`/`csetm rd, cond`.
    CSet {
        /// Destination.
        dst: Reg,
        /// Condition.
        cond: Cond,
        /// All ones instead of 1 (`csetm`, 64-bit).
        mask: bool,
    },
    /// Scalar FP two-source operation.
    FpuRRR {
        /// Operation.
        op: FpuOp2,
        /// Precision.
        size: FpSize,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// Scalar FP one-source operation.
    FpuRR {
        /// Operation.
        op: FpuOp1,
        /// Precision.
        size: FpSize,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `fcmp rn, rm`.
    FpuCmp {
        /// Precision.
        size: FpSize,
        /// Left operand.
        rn: Reg,
        /// Right operand.
        rm: Reg,
    },
    /// `fcsel rd, rn, rm, cond`.
    FpuCsel {
        /// Precision.
        size: FpSize,
        /// Destination.
        dst: Reg,
        /// Chosen when `cond` holds.
        rn: Reg,
        /// Chosen otherwise.
        rm: Reg,
        /// Condition.
        cond: Cond,
    },
    /// `fcvt` from `from` to the other precision.
    FpuCvt {
        /// Source precision.
        from: FpSize,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `fcvtzs`/`fcvtzu` (saturating, NaN gives 0).
    FpuToInt {
        /// Signed?
        signed: bool,
        /// Integer width.
        int: Size,
        /// Float precision.
        fp: FpSize,
        /// Destination GPR.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `scvtf`/`ucvtf`.
    IntToFpu {
        /// Signed?
        signed: bool,
        /// Float precision.
        fp: FpSize,
        /// Integer width.
        int: Size,
        /// Destination.
        dst: Reg,
        /// Source GPR.
        rn: Reg,
    },
    /// `fmov sd, wn` / `fmov dd, xn` (zeroes the rest of the vector register).
    MovToFpu {
        /// `S` (32 bits) or `D` (64 bits).
        size: FpSize,
        /// Destination.
        dst: Reg,
        /// Source GPR.
        rn: Reg,
    },
    /// `fmov wd, sn` / `fmov xd, dn`.
    MovFromFpu {
        /// `S` or `D`.
        size: FpSize,
        /// Destination GPR.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `fmov sd/dd, #imm`.
    FpuImm {
        /// Precision.
        size: FpSize,
        /// Destination.
        dst: Reg,
        /// The immediate.
        imm: FpImm8,
    },
    /// Load a 4-, 8- or 16-byte constant from the constant pool (`ldr s/d/q` literal).
    FpuConst {
        /// Destination.
        dst: Reg,
        /// The bits (little-endian; only the low `size` bytes are used).
        bits: u128,
        /// 4, 8 or 16.
        size: u8,
    },
    /// Integer load.
    Load {
        /// Form.
        op: LoadOp,
        /// Destination.
        dst: Reg,
        /// Address.
        addr: Addr,
    },
    /// Integer store.
    Store {
        /// Form.
        op: StoreOp,
        /// Value.
        src: Reg,
        /// Address.
        addr: Addr,
    },
    /// SIMD/FP load.
    FpuLoad {
        /// Size.
        size: FpMemSize,
        /// Destination.
        dst: Reg,
        /// Address.
        addr: Addr,
    },
    /// SIMD/FP store.
    FpuStore {
        /// Size.
        size: FpMemSize,
        /// Value.
        src: Reg,
        /// Address.
        addr: Addr,
    },
    /// `dst = address of addr` (`add dst, base, #offset`).
    LoadAddr {
        /// Destination.
        dst: Reg,
        /// Address (not `RegReg`).
        addr: Addr,
    },
    /// NEON three-same integer operation.
    VecRRR {
        /// Operation.
        op: VecOp3,
        /// Arrangement.
        arr: VecArr,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// NEON bitwise operation on 128 bits (not `bsl`).
    VecLogic {
        /// Operation.
        op: VecLogicOp,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// `bsl mask.16b, rn.16b, rm.16b`: `dst = (mask & rn) | (!mask & rm)`; `dst` reuses
    /// `mask`.
    VecBsl {
        /// Destination (allocated to `mask`'s register).
        dst: Reg,
        /// Lane mask.
        mask: Reg,
        /// Chosen where the mask is set.
        rn: Reg,
        /// Chosen elsewhere.
        rm: Reg,
    },
    /// NEON three-same float operation (`4s`, `2d`).
    VecFpRRR {
        /// Operation.
        op: VecFpOp3,
        /// Arrangement.
        arr: VecArr,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// `smull{2}`/`umull{2}`: widening multiply of the lanes of `src` (see
    /// [`fp::vec_mull`]).
    VecMull {
        /// Signed (`smull`) or unsigned (`umull`).
        signed: bool,
        /// The source arrangement (`16b`/`8h`/`4s` multiply the high halves).
        src: VecArr,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// NEON two-register operation (see [`VecMiscOp`] for what `arr` names).
    VecMisc {
        /// Operation.
        op: VecMiscOp,
        /// Arrangement.
        arr: VecArr,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// The `2` form of a narrowing [`VecMiscOp`]: writes the upper half of `dst`, whose
    /// lower half comes from `lo` (reused).
    VecNarrowHigh {
        /// Operation (`sqxtn`, `sqxtun`, `uqxtn`).
        op: VecMiscOp,
        /// The 128-bit narrow arrangement (`16b`, `8h`, `4s`).
        arr: VecArr,
        /// Destination (allocated to `lo`'s register).
        dst: Reg,
        /// The lower half.
        lo: Reg,
        /// The wide source.
        rn: Reg,
    },
    /// `tbl vd.16b, { table.16b }, idx.16b` (indices ≥ 16 give 0).
    VecTbl {
        /// Destination.
        dst: Reg,
        /// The bytes looked up.
        table: Reg,
        /// Byte indices.
        idx: Reg,
    },
    /// `ext vd.16b, rn.16b, rm.16b, #index`.
    VecExt {
        /// Destination.
        dst: Reg,
        /// Low source.
        rn: Reg,
        /// High source.
        rm: Reg,
        /// First byte taken from `rm:rn`.
        index: u8,
    },
    /// NEON permute (`zip1`, `uzp1`, …).
    VecPerm {
        /// Operation.
        op: VecPermOp,
        /// Arrangement.
        arr: VecArr,
        /// Destination.
        dst: Reg,
        /// First source.
        rn: Reg,
        /// Second source.
        rm: Reg,
    },
    /// `cnt vd.16b, vn.16b`.
    VecCnt16 {
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `umaxv b, vn.16b`.
    VecUmaxv {
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `mvn vd.16b, vn.16b`.
    VecNot {
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `cnt vd.8b, vn.8b`.
    VecCnt {
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `addv`.
    VecAddv {
        /// Arrangement.
        arr: VecArr,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
    },
    /// `dup vd.T, rn` from a GPR.
    VecDup {
        /// Arrangement.
        arr: VecArr,
        /// Destination.
        dst: Reg,
        /// Source GPR.
        rn: Reg,
    },
    /// `dup vd.T, vn.E[index]`.
    VecDupElem {
        /// Arrangement.
        arr: VecArr,
        /// Destination.
        dst: Reg,
        /// Source.
        rn: Reg,
        /// Lane.
        index: u8,
    },
    /// `movi vd.2d, #0`.
    VecZero {
        /// Destination.
        dst: Reg,
    },
    /// `movi vd.16b, #imm8`.
    VecMoviBytes {
        /// Destination.
        dst: Reg,
        /// Byte.
        imm8: u8,
    },
    /// `umov rd, vn.E[index]`.
    Umov {
        /// Lane size.
        elem: ElemSize,
        /// Destination GPR.
        dst: Reg,
        /// Source.
        rn: Reg,
        /// Lane.
        index: u8,
    },
    /// `ins vd.E[index], rn`; `dst` reuses `vec`.
    InsGpr {
        /// Lane size.
        elem: ElemSize,
        /// Destination (allocated to `vec`'s register).
        dst: Reg,
        /// The vector to update.
        vec: Reg,
        /// Lane.
        index: u8,
        /// Source GPR.
        rn: Reg,
    },
    /// `ins vd.E[index], vn.E[src_index]`; `dst` reuses `vec`.
    InsElem {
        /// Lane size.
        elem: ElemSize,
        /// Destination (allocated to `vec`'s register).
        dst: Reg,
        /// The vector to update.
        vec: Reg,
        /// Lane.
        index: u8,
        /// Source vector.
        rn: Reg,
        /// Source lane.
        src_index: u8,
    },
    /// `b target`.
    Jump {
        /// Target.
        target: MachLabel,
    },
    /// Conditional branch to `taken`, then `b not_taken` (the buffer removes whichever
    /// falls through).
    CondBr {
        /// Condition for `taken`.
        kind: CondKind,
        /// Target when the condition holds.
        taken: MachLabel,
        /// Target otherwise.
        not_taken: MachLabel,
    },
    /// Trap with `code` when the condition holds: a branch with the inverted condition
    /// over an inline `udf`.
    TrapIf {
        /// Condition.
        kind: CondKind,
        /// Trap code.
        code: TrapCode,
    },
    /// `udf` with a trap record (terminator).
    Udf {
        /// Trap code.
        code: TrapCode,
    },
    /// Jump table: `cmp index, #n; b.hs default; adr x16, table; add x16, x16, index,
    /// uxtw #2; ldrsw x17, [x16]; add x16, x16, x17; br x16; table: .word target_k - .`.
    BrTable {
        /// The `i32` index.
        index: Reg,
        /// Taken when `index >= targets.len()`.
        default: MachLabel,
        /// One target per table entry.
        targets: Box<[MachLabel]>,
    },
    /// A call.
    Call {
        /// The callee.
        dest: CallDest,
        /// Arguments in their fixed registers.
        uses: SmallVec<[(Reg, PReg); 8]>,
        /// Register results in their fixed registers.
        defs: SmallVec<[(Reg, PReg); 4]>,
        /// Registers the callee may overwrite (minus `defs`).
        clobbers: PRegSet,
    },
    /// The address of an external function: an `Abs8` literal.
    FuncAddr {
        /// Destination.
        dst: Reg,
        /// The function.
        name: ExternalName,
    },
    /// `stp x29, x30, [sp, #-16]!; mov x29, sp` (prologue).
    PushFrame,
    /// `ldp x29, x30, [sp], #16` (epilogue).
    PopFrame,
    /// `mov sp, x29` (epilogue).
    MovSpFp,
    /// Prologue stack-limit check (see the module docs of `abi`).
    StackCheck {
        /// Bytes the prologue is about to allocate below the current SP.
        frame: u32,
    },
    /// `sub sp, sp, #delta` (positive) or `add sp, sp, #-delta` (negative).
    AdjustSp {
        /// Bytes to allocate (positive) or free (negative).
        delta: i64,
    },
}

fn xr(r: Reg) -> Result<XReg, CodegenError> {
    match r.to_preg() {
        Some(p) if p.class() == RegClass::Int => XReg::from_enc(p.hw_enc() as u32)
            .ok_or_else(|| CodegenError::Regalloc(format!("expected an allocated GPR, got {r:?}"))),
        _ => Err(CodegenError::Regalloc(format!(
            "expected an allocated GPR, got {r:?}"
        ))),
    }
}

fn zr(r: Reg) -> Result<XRegOrZr, CodegenError> {
    xr(r).map(XRegOrZr::X)
}

fn vr(r: Reg) -> Result<VReg, CodegenError> {
    match r.to_preg() {
        Some(p) if p.class() == RegClass::Float && p.hw_enc() < 32 => {
            Ok(VReg::from_enc(p.hw_enc() as u32))
        }
        _ => Err(CodegenError::Regalloc(format!(
            "expected an allocated vector register, got {r:?}"
        ))),
    }
}

/// A reuse-constrained destination must have been allocated to its source.
fn same(src: Reg, dst: Reg) -> Result<(), CodegenError> {
    if src == dst {
        Ok(())
    } else {
        Err(CodegenError::Regalloc(format!(
            "reuse constraint violated: {dst:?} != {src:?}"
        )))
    }
}

/// Materialize `value` in `rd` with the shortest `movz`/`movn`/`movk`/`orr` sequence.
pub(crate) fn emit_imm(
    sink: &mut impl CodeSink<AArch64LabelUse>,
    size: Size,
    rd: XReg,
    value: u64,
) {
    let (v, n) = if size.is64() {
        (value, 4usize)
    } else {
        (value & 0xffff_ffff, 2usize)
    };
    let half = |i: usize| ((v >> (16 * i)) & 0xffff) as u16;
    let zeros = (0..n).filter(|&i| half(i) == 0).count();
    let ones = (0..n).filter(|&i| half(i) == 0xffff).count();
    let rdz = XRegOrZr::X(rd);
    if zeros + 1 < n && ones + 1 < n {
        if let Some(imm) = ImmLogic::maybe_from_u64(v, size) {
            int::mov_bitmask(sink, size, rd.into(), imm);
            return;
        }
    }
    if ones > zeros {
        let mut first = true;
        for i in 0..n {
            let h = half(i);
            if h == 0xffff {
                continue;
            }
            if first {
                int::movn(sink, size, rdz, !h, (16 * i) as u8);
                first = false;
            } else {
                int::movk(sink, size, rdz, h, (16 * i) as u8);
            }
        }
        if first {
            int::movn(sink, size, rdz, 0, 0);
        }
    } else {
        let mut first = true;
        for i in 0..n {
            let h = half(i);
            if h == 0 {
                continue;
            }
            if first {
                int::movz(sink, size, rdz, h, (16 * i) as u8);
                first = false;
            } else {
                int::movk(sink, size, rdz, h, (16 * i) as u8);
            }
        }
        if first {
            int::movz(sink, size, rdz, 0, 0);
        }
    }
}

/// `rd = rn + delta` (64-bit; `rd`/`rn` may be `sp`), using x16 when `delta` fits no
/// immediate form. `rn` must not be x16.
fn emit_add_offset(sink: &mut MachBuffer<AArch64LabelUse>, rd: XRegOrSp, rn: XRegOrSp, delta: i64) {
    let mag = delta.unsigned_abs();
    let op = |sink: &mut MachBuffer<AArch64LabelUse>, rd, rn, imm| {
        if delta >= 0 {
            int::add_imm(sink, Size::S64, rd, rn, imm)
        } else {
            int::sub_imm(sink, Size::S64, rd, rn, imm)
        }
    };
    match (
        Imm12::maybe_from_u64(mag),
        Imm12::new_shifted(if mag < (1 << 24) {
            (mag >> 12) as u32
        } else {
            4096
        }),
        Imm12::new((mag & 0xfff) as u32),
    ) {
        (Some(imm), _, _) => op(sink, rd, rn, imm),
        (None, Some(hi), Some(lo)) => {
            op(sink, rd, rn, hi);
            op(sink, rd, rd, lo);
        }
        _ => {
            emit_imm(sink, Size::S64, XReg::X16, mag);
            let rm = XReg::X16.into();
            if delta >= 0 {
                int::add_ext(sink, Size::S64, rd, rn, rm, Extend::Uxtx, 0);
            } else {
                int::sub_ext(sink, Size::S64, rd, rn, rm, Extend::Uxtx, 0);
            }
        }
    }
}

/// Forwards bytes to a MachBuffer and turns the one label use of the instruction written
/// through it into a constant-pool use of `constant`.
struct ConstSink<'a> {
    buf: &'a mut MachBuffer<AArch64LabelUse>,
    constant: ConstantId,
    err: Option<BufferError>,
}

impl CodeSink<AArch64LabelUse> for ConstSink<'_> {
    fn cur_offset(&self) -> u64 {
        self.buf.cur_offset()
    }
    fn put1(&mut self, b: u8) {
        self.buf.put1(b);
    }
    fn put_data(&mut self, data: &[u8]) {
        self.buf.put_data(data);
    }
    fn use_label_at_offset(&mut self, offset: u64, _label: MachLabel, kind: AArch64LabelUse) {
        if let Err(e) = self.buf.use_constant(offset, self.constant, kind) {
            self.err.get_or_insert(e);
        }
    }
    fn add_trap(&mut self, code: TrapCode) {
        self.buf.add_trap(code);
    }
}

/// Collects the bytes of one instruction, ignoring label uses (for inverted branches).
#[derive(Default)]
struct WordSink {
    bytes: SmallVec<[u8; 8]>,
}

impl CodeSink<AArch64LabelUse> for WordSink {
    fn cur_offset(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn put1(&mut self, b: u8) {
        self.bytes.push(b);
    }
    fn use_label_at_offset(&mut self, _: u64, _: MachLabel, _: AArch64LabelUse) {}
    fn add_trap(&mut self, _: TrapCode) {}
}

/// `ldr xd, #8; b #12; .quad <target>` with an `Abs8` relocation on the data word, which is
/// kept 8-byte aligned (a `nop` first when needed).
fn emit_abs8_literal(
    sink: &mut MachBuffer<AArch64LabelUse>,
    rd: XReg,
    target: RelocTarget,
) -> Result<(), CodegenError> {
    if sink.cur_offset() % 8 != 0 {
        int::nop(sink);
    }
    put(sink, 0x5800_0040 | rd.enc()); // ldr xd, #8
    put(sink, 0x1400_0003); // b #12
    let at = sink.cur_offset();
    sink.put8(0);
    sink.add_reloc_at_offset(at, RelocKind::Abs8, target, 0)?;
    Ok(())
}

fn reloc_target(name: ExternalName) -> RelocTarget {
    match name {
        ExternalName::User(r) => RelocTarget::User(r),
        ExternalName::LibCall(l) => RelocTarget::LibCall(l),
    }
}

impl MInst {
    /// Worst case bytes of one instruction other than [`MInst::BrTable`] (the stack check
    /// is the longest).
    pub const WORST_CASE_SIZE: u32 = 64;
}

impl MachInst for MInst {
    type LabelUse = AArch64LabelUse;

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
            MInst::Mov { dst, src } | MInst::FpuMove { dst, src } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            MInst::Imm { dst, .. }
            | MInst::CSet { dst, .. }
            | MInst::FpuImm { dst, .. }
            | MInst::FpuConst { dst, .. }
            | MInst::VecZero { dst }
            | MInst::VecMoviBytes { dst, .. }
            | MInst::FuncAddr { dst, .. } => v.reg_def(dst),
            MInst::AluRRR { dst, rn, rm, .. }
            | MInst::MulHi { dst, rn, rm, .. }
            | MInst::Mul { dst, rn, rm, .. }
            | MInst::Dp2 { dst, rn, rm, .. }
            | MInst::Extr { dst, rn, rm, .. }
            | MInst::CSel { dst, rn, rm, .. }
            | MInst::FpuRRR { dst, rn, rm, .. }
            | MInst::FpuCsel { dst, rn, rm, .. }
            | MInst::VecRRR { dst, rn, rm, .. }
            | MInst::VecFpRRR { dst, rn, rm, .. }
            | MInst::VecMull { dst, rn, rm, .. }
            | MInst::VecExt { dst, rn, rm, .. }
            | MInst::VecPerm { dst, rn, rm, .. }
            | MInst::VecLogic { dst, rn, rm, .. } => {
                v.reg_use(rn);
                v.reg_use(rm);
                v.reg_def(dst);
            }
            MInst::AluRRImm12 { dst, rn, .. }
            | MInst::AluRRImmLogic { dst, rn, .. }
            | MInst::Dp1 { dst, rn, .. }
            | MInst::NegNot { dst, rn, .. }
            | MInst::Bitfield { dst, rn, .. }
            | MInst::FpuRR { dst, rn, .. }
            | MInst::FpuCvt { dst, rn, .. }
            | MInst::FpuToInt { dst, rn, .. }
            | MInst::IntToFpu { dst, rn, .. }
            | MInst::MovToFpu { dst, rn, .. }
            | MInst::MovFromFpu { dst, rn, .. }
            | MInst::VecNot { dst, rn }
            | MInst::VecCnt { dst, rn }
            | MInst::VecAddv { dst, rn, .. }
            | MInst::VecDup { dst, rn, .. }
            | MInst::VecDupElem { dst, rn, .. }
            | MInst::Umov { dst, rn, .. } => {
                v.reg_use(rn);
                v.reg_def(dst);
            }
            MInst::CmpRR { rn, rm, .. } | MInst::FpuCmp { rn, rm, .. } => {
                v.reg_use(rn);
                v.reg_use(rm);
            }
            MInst::CmpImm { rn, .. } | MInst::TstImm { rn, .. } | MInst::CCmpImm { rn, .. } => {
                v.reg_use(rn)
            }
            MInst::MulAdd {
                dst, rn, rm, ra, ..
            } => {
                v.reg_use(rn);
                v.reg_use(rm);
                v.reg_use(ra);
                v.reg_def(dst);
            }
            MInst::Load { dst, addr, .. } | MInst::FpuLoad { dst, addr, .. } => {
                addr.visit(v);
                v.reg_def(dst);
            }
            MInst::LoadAddr { dst, addr } => {
                addr.visit(v);
                v.reg_def(dst);
            }
            MInst::Store { src, addr, .. } | MInst::FpuStore { src, addr, .. } => {
                v.reg_use(src);
                addr.visit(v);
            }
            MInst::VecBsl { dst, mask, rn, rm } => {
                v.reg_use(mask);
                v.reg_use(rn);
                v.reg_use(rm);
                v.reg_reuse_def(dst, 0);
            }
            MInst::VecTbl { dst, table, idx } => {
                v.reg_use(table);
                v.reg_use(idx);
                v.reg_def(dst);
            }
            MInst::VecMisc { dst, rn, .. }
            | MInst::VecUmaxv { dst, rn }
            | MInst::VecCnt16 { dst, rn } => {
                v.reg_use(rn);
                v.reg_def(dst);
            }
            MInst::VecNarrowHigh { dst, lo, rn, .. } => {
                v.reg_use(lo);
                v.reg_use(rn);
                v.reg_reuse_def(dst, 0);
            }
            MInst::InsGpr { dst, vec, rn, .. } | MInst::InsElem { dst, vec, rn, .. } => {
                v.reg_use(vec);
                v.reg_use(rn);
                v.reg_reuse_def(dst, 0);
            }
            MInst::CondBr { kind, .. } | MInst::TrapIf { kind, .. } => kind.visit(v),
            MInst::BrTable { index, .. } => v.reg_use(index),
            MInst::Call {
                dest,
                uses,
                defs,
                clobbers,
            } => {
                if let CallDest::Reg(r) = dest {
                    v.reg_use(r);
                }
                for (r, p) in uses.iter_mut() {
                    v.reg_fixed_use(r, *p);
                }
                for (r, p) in defs.iter_mut() {
                    v.reg_fixed_def(r, *p);
                }
                v.reg_clobbers(*clobbers);
            }
            MInst::Jump { .. }
            | MInst::Udf { .. }
            | MInst::PushFrame
            | MInst::PopFrame
            | MInst::MovSpFp
            | MInst::StackCheck { .. }
            | MInst::AdjustSp { .. } => {}
        }
    }

    fn is_move(&self) -> Option<(Reg, Reg)> {
        match *self {
            MInst::Mov { dst, src } | MInst::FpuMove { dst, src } => Some((dst, src)),
            _ => None,
        }
    }

    fn is_term(&self) -> MachTerminator {
        match self {
            MInst::Ret { .. } => MachTerminator::Ret,
            MInst::Udf { .. } => MachTerminator::Trap,
            MInst::Jump { .. } | MInst::CondBr { .. } | MInst::BrTable { .. } => {
                MachTerminator::Branch
            }
            _ => MachTerminator::None,
        }
    }

    fn gen_move(dst: Reg, src: Reg, class: RegClass) -> Self {
        match class {
            RegClass::Int => MInst::Mov { dst, src },
            RegClass::Float | RegClass::Vector => MInst::FpuMove { dst, src },
        }
    }

    fn gen_jump(target: MachLabel) -> Self {
        MInst::Jump { target }
    }

    fn worst_case_size() -> u32 {
        Self::WORST_CASE_SIZE
    }

    fn emit(
        &self,
        sink: &mut MachBuffer<AArch64LabelUse>,
        ctx: &EmitContext<'_>,
    ) -> Result<(), CodegenError> {
        match *self {
            MInst::Args { .. } => {}
            MInst::Ret { .. } => int::ret(sink, XReg::LR),
            MInst::Mov { dst, src } => int::mov(sink, Size::S64, zr(dst)?, zr(src)?),
            MInst::FpuMove { dst, src } => fp::vec_mov(sink, vr(dst)?, vr(src)?),
            MInst::Imm { size, dst, value } => emit_imm(sink, size, xr(dst)?, value),
            MInst::AluRRR {
                op,
                size,
                dst,
                rn,
                rm,
                shift,
                amount,
            } => int::alu_rrr_shift(sink, op, size, zr(dst)?, zr(rn)?, zr(rm)?, shift, amount),
            MInst::AluRRImm12 {
                op,
                size,
                dst,
                rn,
                imm,
            } => {
                let (d, n) = (xr(dst)?.into(), xr(rn)?.into());
                match op {
                    AluOp::Sub => int::sub_imm(sink, size, d, n, imm),
                    _ => int::add_imm(sink, size, d, n, imm),
                }
            }
            MInst::AluRRImmLogic {
                op,
                size,
                dst,
                rn,
                imm,
            } => {
                let (d, n) = (xr(dst)?.into(), zr(rn)?);
                match op {
                    AluOp::Orr => int::orr_imm(sink, size, d, n, imm),
                    AluOp::Eor => int::eor_imm(sink, size, d, n, imm),
                    _ => int::and_imm(sink, size, d, n, imm),
                }
            }
            MInst::CmpRR { size, rn, rm } => int::cmp(sink, size, zr(rn)?, zr(rm)?),
            MInst::CmpImm {
                size,
                rn,
                imm,
                negate,
            } => {
                if negate {
                    int::cmn_imm(sink, size, xr(rn)?.into(), imm)
                } else {
                    int::cmp_imm(sink, size, xr(rn)?.into(), imm)
                }
            }
            MInst::TstImm { size, rn, imm } => int::tst_imm(sink, size, zr(rn)?, imm),
            MInst::CCmpImm {
                size,
                rn,
                imm5,
                nzcv,
                cond,
            } => int::ccmp_imm(sink, size, zr(rn)?, imm5, nzcv, cond),
            MInst::MulAdd {
                size,
                dst,
                rn,
                rm,
                ra,
                sub,
            } => {
                let f = if sub { int::msub } else { int::madd };
                f(sink, size, zr(dst)?, zr(rn)?, zr(rm)?, zr(ra)?)
            }
            MInst::Mul { size, dst, rn, rm } => int::mul(sink, size, zr(dst)?, zr(rn)?, zr(rm)?),
            MInst::NegNot {
                negate,
                size,
                dst,
                rn,
            } => {
                let f = if negate { int::neg } else { int::mvn };
                f(sink, size, zr(dst)?, zr(rn)?)
            }
            MInst::MulHi {
                signed,
                dst,
                rn,
                rm,
            } => {
                let f = if signed { int::smulh } else { int::umulh };
                f(sink, zr(dst)?, zr(rn)?, zr(rm)?)
            }
            MInst::Dp2 {
                op,
                size,
                dst,
                rn,
                rm,
            } => int::dp2(sink, op, size, zr(dst)?, zr(rn)?, zr(rm)?),
            MInst::Dp1 { op, size, dst, rn } => int::dp1(sink, op, size, zr(dst)?, zr(rn)?),
            MInst::Bitfield {
                signed,
                size,
                dst,
                rn,
                immr,
                imms,
            } => {
                let f = if signed { int::sbfm } else { int::ubfm };
                f(
                    sink,
                    size,
                    zr(dst)?,
                    zr(rn)?,
                    u32::from(immr),
                    u32::from(imms),
                )
            }
            MInst::Extr {
                size,
                dst,
                rn,
                rm,
                lsb,
            } => int::extr(sink, size, zr(dst)?, zr(rn)?, zr(rm)?, u32::from(lsb)),
            MInst::CSel {
                size,
                dst,
                rn,
                rm,
                cond,
            } => int::csel(sink, size, zr(dst)?, zr(rn)?, zr(rm)?, cond),
            MInst::CSet { dst, cond, mask } => {
                if mask {
                    int::csetm(sink, Size::S64, zr(dst)?, cond)
                } else {
                    int::cset(sink, Size::S32, zr(dst)?, cond)
                }
            }
            MInst::FpuRRR {
                op,
                size,
                dst,
                rn,
                rm,
            } => fp::fpu_rrr(sink, op, size, vr(dst)?, vr(rn)?, vr(rm)?),
            MInst::FpuRR { op, size, dst, rn } => fp::fpu_rr(sink, op, size, vr(dst)?, vr(rn)?),
            MInst::FpuCmp { size, rn, rm } => fp::fcmp(sink, size, vr(rn)?, vr(rm)?),
            MInst::FpuCsel {
                size,
                dst,
                rn,
                rm,
                cond,
            } => fp::fcsel(sink, size, vr(dst)?, vr(rn)?, vr(rm)?, cond),
            MInst::FpuCvt { from, dst, rn } => fp::fcvt(sink, from, vr(dst)?, vr(rn)?),
            MInst::FpuToInt {
                signed,
                int,
                fp: fsz,
                dst,
                rn,
            } => {
                let f = if signed { fp::fcvtzs } else { fp::fcvtzu };
                f(sink, int, fsz, zr(dst)?, vr(rn)?)
            }
            MInst::IntToFpu {
                signed,
                fp: fsz,
                int,
                dst,
                rn,
            } => {
                let f = if signed { fp::scvtf } else { fp::ucvtf };
                f(sink, fsz, int, vr(dst)?, zr(rn)?)
            }
            MInst::MovToFpu { size, dst, rn } => fp::fmov_from_gpr(sink, size, vr(dst)?, zr(rn)?),
            MInst::MovFromFpu { size, dst, rn } => fp::fmov_to_gpr(sink, size, zr(dst)?, vr(rn)?),
            MInst::FpuImm { size, dst, imm } => fp::fmov_imm(sink, size, vr(dst)?, imm),
            MInst::FpuConst { dst, bits, size } => {
                let r = vr(dst)?;
                let bytes = bits.to_le_bytes();
                let (data, msz): (&[u8], FpMemSize) = match size {
                    4 => (&bytes[..4], FpMemSize::S),
                    8 => (&bytes[..8], FpMemSize::D),
                    _ => (&bytes[..], FpMemSize::Q),
                };
                let constant = sink.register_constant(data, data.len() as u32)?;
                let mut cs = ConstSink {
                    buf: sink,
                    constant,
                    err: None,
                };
                // The label is a placeholder: `ConstSink` redirects the use to the pool.
                fp::fp_load_literal(&mut cs, msz, r, MachLabel(0));
                if let Some(e) = cs.err {
                    return Err(e.into());
                }
            }
            MInst::Load { op, dst, addr } => {
                let a = addr.to_amode(sink, ctx, op.log2_bytes())?;
                int::load(sink, op, zr(dst)?, &a);
            }
            MInst::Store { op, src, addr } => {
                let a = addr.to_amode(sink, ctx, op as u32)?;
                int::store(sink, op, zr(src)?, &a);
            }
            MInst::FpuLoad { size, dst, addr } => {
                let a = addr.to_amode(sink, ctx, size.log2_bytes())?;
                fp::fp_load(sink, size, vr(dst)?, &a);
            }
            MInst::FpuStore { size, src, addr } => {
                let a = addr.to_amode(sink, ctx, size.log2_bytes())?;
                fp::fp_store(sink, size, vr(src)?, &a);
            }
            MInst::LoadAddr { dst, addr } => {
                let (rn, off) = addr.base_offset(ctx)?;
                emit_add_offset(sink, xr(dst)?.into(), rn, off);
            }
            MInst::VecRRR {
                op,
                arr,
                dst,
                rn,
                rm,
            } => fp::vec_rrr(sink, op, arr, vr(dst)?, vr(rn)?, vr(rm)?),
            MInst::VecLogic { op, dst, rn, rm } => {
                fp::vec_logic(sink, op, true, vr(dst)?, vr(rn)?, vr(rm)?)
            }
            MInst::VecFpRRR {
                op,
                arr,
                dst,
                rn,
                rm,
            } => fp::vec_fp_rrr(sink, op, arr, vr(dst)?, vr(rn)?, vr(rm)?),
            MInst::VecMisc { op, arr, dst, rn } => fp::vec_misc(sink, op, arr, vr(dst)?, vr(rn)?),
            MInst::VecMull {
                signed,
                src,
                dst,
                rn,
                rm,
            } => fp::vec_mull(sink, signed, src, vr(dst)?, vr(rn)?, vr(rm)?),
            MInst::VecNarrowHigh {
                op,
                arr,
                dst,
                lo,
                rn,
            } => {
                same(lo, dst)?;
                fp::vec_misc(sink, op, arr, vr(dst)?, vr(rn)?)
            }
            MInst::VecUmaxv { dst, rn } => fp::vec_umaxv(sink, vr(dst)?, vr(rn)?),
            MInst::VecCnt16 { dst, rn } => fp::vec_cnt(sink, true, vr(dst)?, vr(rn)?),
            MInst::VecTbl { dst, table, idx } => fp::tbl(sink, vr(dst)?, vr(table)?, vr(idx)?),
            MInst::VecExt { dst, rn, rm, index } => {
                fp::ext(sink, true, vr(dst)?, vr(rn)?, vr(rm)?, u32::from(index))
            }
            MInst::VecPerm {
                op,
                arr,
                dst,
                rn,
                rm,
            } => fp::vec_perm(sink, op, arr, vr(dst)?, vr(rn)?, vr(rm)?),
            MInst::VecBsl { dst, mask, rn, rm } => {
                same(mask, dst)?;
                fp::vec_logic(sink, VecLogicOp::Bsl, true, vr(dst)?, vr(rn)?, vr(rm)?)
            }
            MInst::VecNot { dst, rn } => fp::vec_not(sink, true, vr(dst)?, vr(rn)?),
            MInst::VecCnt { dst, rn } => fp::vec_cnt(sink, false, vr(dst)?, vr(rn)?),
            MInst::VecAddv { arr, dst, rn } => fp::vec_addv(sink, arr, vr(dst)?, vr(rn)?),
            MInst::VecDup { arr, dst, rn } => fp::dup_from_gpr(sink, arr, vr(dst)?, zr(rn)?),
            MInst::VecDupElem {
                arr,
                dst,
                rn,
                index,
            } => fp::dup_from_elem(sink, arr, vr(dst)?, vr(rn)?, u32::from(index)),
            MInst::VecZero { dst } => fp::movi_zero(sink, vr(dst)?),
            MInst::VecMoviBytes { dst, imm8 } => fp::movi_bytes(sink, true, vr(dst)?, imm8),
            MInst::Umov {
                elem,
                dst,
                rn,
                index,
            } => fp::umov(sink, elem, zr(dst)?, vr(rn)?, u32::from(index)),
            MInst::InsGpr {
                elem,
                dst,
                vec,
                index,
                rn,
            } => {
                same(vec, dst)?;
                fp::ins_from_gpr(sink, elem, vr(dst)?, u32::from(index), zr(rn)?)
            }
            MInst::InsElem {
                elem,
                dst,
                vec,
                index,
                rn,
                src_index,
            } => {
                same(vec, dst)?;
                fp::ins_from_elem(
                    sink,
                    elem,
                    vr(dst)?,
                    u32::from(index),
                    vr(rn)?,
                    u32::from(src_index),
                )
            }
            MInst::Jump { target } => {
                let start = sink.cur_offset();
                int::b(sink, target);
                // A refused registration only forgoes simplification.
                let _ = sink.add_uncond_branch(start, sink.cur_offset(), target);
            }
            MInst::CondBr {
                kind,
                taken,
                not_taken,
            } => {
                let mut inv = WordSink::default();
                kind.invert().emit_branch(&mut inv, taken)?;
                let start = sink.cur_offset();
                kind.emit_branch(sink, taken)?;
                let _ = sink.add_cond_branch(start, sink.cur_offset(), taken, &inv.bytes);
                let start = sink.cur_offset();
                int::b(sink, not_taken);
                let _ = sink.add_uncond_branch(start, sink.cur_offset(), not_taken);
            }
            MInst::TrapIf { kind, code } => {
                let skip = sink.get_label();
                kind.invert().emit_branch(sink, skip)?;
                int::udf(sink, 0, code);
                sink.bind_label(skip)?;
            }
            MInst::Udf { code } => int::udf(sink, 0, code),
            MInst::BrTable {
                index,
                default,
                ref targets,
            } => emit_br_table(sink, ctx, xr(index)?, default, targets)?,
            MInst::Call { dest, .. } => {
                match dest {
                    CallDest::Name(name) => {
                        let start = sink.cur_offset();
                        put(sink, 0x9400_0000); // bl #0, patched by the relocation
                        sink.add_reloc_at_offset(
                            start,
                            RelocKind::Arm64Call,
                            reloc_target(name),
                            0,
                        )?;
                    }
                    CallDest::Reg(r) => int::blr(sink, xr(r)?),
                }
                sink.add_call_site();
            }
            MInst::FuncAddr { dst, name } => emit_abs8_literal(sink, xr(dst)?, reloc_target(name))?,
            MInst::PushFrame => {
                int::stp(
                    sink,
                    Size::S64,
                    XReg::FP.into(),
                    XReg::LR.into(),
                    &PairAMode::PreIndex {
                        rn: XRegOrSp::Sp,
                        offset: -16,
                    },
                );
                int::mov_sp(sink, Size::S64, XReg::FP.into(), XRegOrSp::Sp);
            }
            MInst::PopFrame => int::ldp(
                sink,
                Size::S64,
                XReg::FP.into(),
                XReg::LR.into(),
                &PairAMode::PostIndex {
                    rn: XRegOrSp::Sp,
                    offset: 16,
                },
            ),
            MInst::MovSpFp => int::mov_sp(sink, Size::S64, XRegOrSp::Sp, XReg::FP.into()),
            MInst::StackCheck { frame } => {
                // x17 first: a large frame size goes through x16.
                emit_add_offset(sink, XReg::X17.into(), XRegOrSp::Sp, -i64::from(frame));
                emit_abs8_literal(sink, XReg::X16, RelocTarget::StackLimit)?;
                int::load(
                    sink,
                    LoadOp::LdrX,
                    XReg::X16.into(),
                    &AMode::Scaled {
                        rn: XReg::X16.into(),
                        offset: 0,
                    },
                );
                int::cmp(sink, Size::S64, XReg::X17.into(), XReg::X16.into());
                let ok = sink.get_label();
                int::b_cond(sink, Cond::Hs, ok);
                int::udf(sink, 0, TrapCode::StackOverflow);
                sink.bind_label(ok)?;
            }
            MInst::AdjustSp { delta } => {
                if delta != 0 {
                    emit_add_offset(sink, XRegOrSp::Sp, XRegOrSp::Sp, -delta);
                }
            }
        }
        Ok(())
    }
}

/// Emit a jump table (see [`MInst::BrTable`]).
fn emit_br_table(
    sink: &mut MachBuffer<AArch64LabelUse>,
    ctx: &EmitContext<'_>,
    index: XReg,
    default: MachLabel,
    targets: &[MachLabel],
) -> Result<(), CodegenError> {
    let n = u32::try_from(targets.len()).map_err(|_| CodegenError::ImplLimit("jump table"))?;
    let size = 48 + 4 * u64::from(n);
    // The table is longer than a worst-case instruction: follow the island protocol for
    // the whole sequence here.
    if sink.island_needed(size + 2 * u64::from(MInst::WORST_CASE_SIZE)) {
        let after = sink.get_label();
        MInst::Jump { target: after }.emit(sink, ctx)?;
        sink.emit_island(size + 2 * u64::from(MInst::WORST_CASE_SIZE))?;
        sink.bind_label(after)?;
    }
    match Imm12::maybe_from_u64(u64::from(n)) {
        Some(imm) => int::cmp_imm(sink, Size::S32, index.into(), imm),
        None => {
            emit_imm(sink, Size::S32, XReg::X17, u64::from(n));
            int::cmp(sink, Size::S32, index.into(), XReg::X17.into());
        }
    }
    int::b_cond(sink, Cond::Hs, default);
    let table = sink.get_label();
    int::adr(sink, XReg::X16.into(), table);
    int::add_ext(
        sink,
        Size::S64,
        XReg::X16.into(),
        XReg::X16.into(),
        index.into(),
        Extend::Uxtw,
        2,
    );
    int::load(
        sink,
        LoadOp::Ldrsw,
        XReg::X17.into(),
        &AMode::Scaled {
            rn: XReg::X16.into(),
            offset: 0,
        },
    );
    int::alu_rrr(
        sink,
        AluOp::Add,
        Size::S64,
        XReg::X16.into(),
        XReg::X16.into(),
        XReg::X17.into(),
    );
    int::br(sink, XReg::X16);
    sink.bind_label(table)?;
    let start = sink.cur_offset();
    for &t in targets {
        let at = sink.cur_offset();
        sink.put4(0);
        sink.use_label_at_offset(at, t, AArch64LabelUse::PCRel32);
    }
    sink.mark_data(start);
    Ok(())
}

/// Integer size of a type (32 bits for `i8`–`i32`).
pub(crate) fn size_of_int(bits: u32) -> Size {
    if bits == 64 {
        Size::S64
    } else {
        Size::S32
    }
}
