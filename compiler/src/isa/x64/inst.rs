//! x86_64 machine instructions over [`Reg`]s ([`MInst`]) and their emission through the
//! [`encoding`](super::encoding) functions.
//!
//! Owns: the instruction enum, its regalloc2 operands ([`MachInst::get_operands`]), and
//! `emit`. Integer operations on `i8`/`i16`/`i32` values run at 32 bits (bits above a
//! value's width are undefined, `docs/abi.md`), except comparisons and `test`, which use
//! the value's own width. Two-address forms (`add dst, src`) define `dst` with a reuse
//! constraint on the first source, so after allocation `dst == src1`.
//!
//! Besides one-instruction forms there are a few *sequence* pseudo-instructions whose
//! control flow stays inside the instruction (internal labels from the buffer, never
//! VCode blocks): checked division ([`MInst::Div`]), Wasm `fmin`/`fmax`
//! ([`MInst::FMinMax`]), float → int conversions ([`MInst::CvtFloatToIntSeq`]), u64 →
//! float ([`MInst::CvtUint64ToFloat`]), float/vector select ([`MInst::XmmCmov`]),
//! conditional traps ([`MInst::TrapIf`]) and jump tables ([`MInst::JmpTable`]). Their
//! operand constraints make every register they write distinct from every register they
//! read after that write (early defs, late uses or reuse constraints), so the sequence is
//! correct for any allocation.
//!
//! Constants that a sequence compares against are placed in the buffer's constant pool
//! (16 bytes, 16-aligned, so packed forms may use them as memory operands).
//!
//! Invariants: `emit` is only called after allocation (every `Reg` physical); a
//! non-physical or wrong-class register there is a [`CodegenError::Regalloc`], not a
//! panic. Each instruction writes at most [`MInst::WORST_CASE_SIZE`] bytes, except a jump
//! table, which adds 4 bytes per entry (its label uses have ±2 GiB reach, so the island
//! protocol is unaffected for any table that fits the implementation limits). Branches
//! register themselves with the buffer for simplification right after their bytes; the
//! internal branches of sequences are not registered.

use regalloc2::{OperandConstraint, OperandKind, OperandPos, PReg, PRegSet, RegClass};
use smallvec::SmallVec;

use super::encoding::gpr::{self, AluOp, BitOp, ExtMode, ShiftOp, UnaryOp};
use super::encoding::sse::{
    self, CvtFloatToInt, CvtIntToFloat, FloatCmp, Lane, MovmskOp, SseCmpOp, SseImmOp, SseOp,
    XmmMov, XmmShiftImm,
};
use super::encoding::{Amode, Cc, GprMem, Scale, XmmMem};
use super::label_use::X64LabelUse;
use super::regs::{Gpr, OperandSize, Xmm, ALLOCATABLE_CALLER_SAVED};
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
    /// `[base + index << shift + offset]`.
    RegIndex {
        /// Base register.
        base: Reg,
        /// Index register.
        index: Reg,
        /// Scale as a shift amount, 0–3.
        shift: u8,
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
    /// The outgoing-argument area at the bottom of the frame: `[rsp + offset]`.
    OutgoingArg(u32),
}

impl Addr {
    fn visit<V: OperandVisitor>(&mut self, v: &mut V) {
        match self {
            Addr::RegOffset { base, .. } => v.reg_use(base),
            Addr::RegIndex { base, index, .. } => {
                v.reg_use(base);
                v.reg_use(index);
            }
            _ => {}
        }
    }

    fn to_amode(self, ctx: &EmitContext<'_>) -> Result<Amode, CodegenError> {
        let bad = || CodegenError::ImplLimit("frame offset");
        Ok(match self {
            Addr::RegOffset { base, offset } => Amode::base_disp(gpr(base)?, offset),
            Addr::RegIndex {
                base,
                index,
                shift,
                offset,
            } => {
                let scale = match shift {
                    0 => Scale::One,
                    1 => Scale::Two,
                    2 => Scale::Four,
                    _ => Scale::Eight,
                };
                Amode::base_index(gpr(base)?, gpr(index)?, scale, offset).ok_or_else(|| {
                    CodegenError::Regalloc("rsp allocated as an index register".to_string())
                })?
            }
            Addr::SpillSlot(s) => {
                let off = ctx.frame.spill_area_offset + 8 * s;
                Amode::base_disp(Gpr::Rsp, i32::try_from(off).map_err(|_| bad())?)
            }
            Addr::StackSlot { slot, offset } => Amode::base_disp(
                Gpr::Rsp,
                ctx.frame.stack_slot_offset(slot, offset).ok_or_else(bad)?,
            ),
            Addr::IncomingArg(off) => Amode::base_disp(
                Gpr::Rbp,
                i32::try_from(u64::from(off) + u64::from(ctx.frame.setup_area_size))
                    .map_err(|_| bad())?,
            ),
            Addr::OutgoingArg(off) => {
                Amode::base_disp(Gpr::Rsp, i32::try_from(off).map_err(|_| bad())?)
            }
        })
    }
}

/// A condition on the flags: `cc1`, or `cc1 && cc2` / `cc1 || cc2`. Float compares need
/// two condition codes for `eq` (`ZF && !PF`) and `ne` (`!ZF || PF`).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Cond {
    /// First condition code.
    pub cc1: Cc,
    /// Optional second condition code.
    pub cc2: Option<Cc>,
    /// Combine with `&&` (true) or `||` (false).
    pub and: bool,
}

impl Cond {
    /// A single condition code.
    pub const fn one(cc: Cc) -> Cond {
        Cond {
            cc1: cc,
            cc2: None,
            and: false,
        }
    }

    /// The negation (De Morgan).
    pub const fn invert(self) -> Cond {
        Cond {
            cc1: self.cc1.invert(),
            cc2: match self.cc2 {
                Some(c) => Some(c.invert()),
                None => None,
            },
            and: !self.and,
        }
    }
}

/// Which result of a division.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum DivKind {
    /// Signed quotient (traps `int_ovf` on `MIN / -1`).
    Sdiv,
    /// Unsigned quotient.
    Udiv,
    /// Signed remainder (`MIN % -1 == 0`).
    Srem,
    /// Unsigned remainder.
    Urem,
}

impl DivKind {
    fn signed(self) -> bool {
        matches!(self, DivKind::Sdiv | DivKind::Srem)
    }
    fn rem(self) -> bool {
        matches!(self, DivKind::Srem | DivKind::Urem)
    }
}

/// A call's target.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum CallDest {
    /// A function or libcall reached with `call rel32` through an `X86CallPCRel4`
    /// relocation (addend `-4`: the field is the last 4 bytes of the instruction).
    Direct(RelocTarget),
    /// `movabs r11, <target>` (an `Abs8` relocation) then `call r11`: used for libcalls.
    Abs(RelocTarget),
    /// `call reg`.
    Reg(Reg),
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
    /// Materialize an integer constant (shortest `mov` form; flags are preserved).
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
    /// `dst = src1 op [addr]` (two-address, memory operand).
    AluRM {
        /// Operation.
        op: AluOp,
        /// Width.
        size: OperandSize,
        /// Source (and destination register).
        src1: Reg,
        /// The memory operand.
        addr: Addr,
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
    /// `lea dst, [addr]`.
    Lea {
        /// Width (32 or 64).
        size: OperandSize,
        /// The address computed.
        addr: Addr,
        /// Destination.
        dst: Reg,
    },
    /// `not`/`neg` in place (two-address).
    Unary {
        /// `Not` or `Neg`.
        op: UnaryOp,
        /// Width.
        size: OperandSize,
        /// Source (and destination register).
        src: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `op dst, cl` (two-address; `amt` is fixed in `rcx`).
    ShiftCl {
        /// Operation.
        op: ShiftOp,
        /// Width.
        size: OperandSize,
        /// Value (and destination register).
        src: Reg,
        /// Count, in `rcx`.
        amt: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `op dst, imm` (two-address).
    ShiftImm {
        /// Operation.
        op: ShiftOp,
        /// Width.
        size: OperandSize,
        /// Value (and destination register).
        src: Reg,
        /// Count.
        imm: u8,
        /// Destination.
        dst: Reg,
    },
    /// One-operand `mul`/`imul`: `rdx:rax = rax * rhs`; `hi` is `rdx`, `lo` is `rax`.
    MulHi {
        /// `imul` (signed) or `mul`.
        signed: bool,
        /// Width (32 or 64).
        size: OperandSize,
        /// Left operand, in `rax`.
        lhs: Reg,
        /// Right operand.
        rhs: Reg,
        /// High half, `rdx`.
        hi: Reg,
        /// Low half, `rax`.
        lo: Reg,
    },
    /// Checked division sequence: optional zero check (`int_divz`), optional `-1` check
    /// (`sdiv`: `neg` at `ty_size`, `int_ovf` on overflow; `srem`: result 0), then
    /// `cdq/cqo` or `xor edx, edx` and `idiv`/`div`. `dividend` is in `rax`; the quotient
    /// is in `rax`, the remainder in `rdx`.
    Div {
        /// Which result.
        kind: DivKind,
        /// Width of the division (32 or 64; narrower values are extended first).
        size: OperandSize,
        /// The IR type's width (for the `MIN / -1` overflow check).
        ty_size: OperandSize,
        /// Emit the zero check.
        check_zero: bool,
        /// Emit the `-1` check (signed only).
        check_minus_one: bool,
        /// Dividend, in `rax`.
        dividend: Reg,
        /// Divisor.
        divisor: Reg,
        /// The result (`rax` for quotients, `rdx` for remainders).
        dst: Reg,
        /// The other register written (`rdx` or `rax`).
        other: Reg,
    },
    /// `movzx`/`movsx` between registers.
    Ext {
        /// Sign- (true) or zero-extend.
        signed: bool,
        /// Widths.
        mode: ExtMode,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `bsr bsf lzcnt tzcnt popcnt dst, src`.
    BitOp {
        /// Operation.
        op: BitOp,
        /// Width (not 8-bit).
        size: OperandSize,
        /// Source.
        src: Reg,
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
    /// Materialize a two-code condition: `setcc1 dst; setcc2 tmp; and/or dst, tmp;
    /// movzx dst, dst8`.
    SetccCond {
        /// Condition (with `cc2` set).
        cond: Cond,
        /// Destination.
        dst: Reg,
        /// Scratch.
        tmp: Reg,
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
    /// `op dst, [rip + constant]` (two-address; the 16-byte constant is 16-aligned).
    XmmRConst {
        /// Operation.
        op: SseOp,
        /// First source (and destination register).
        src1: Reg,
        /// The constant (little-endian, low lane first).
        bits: u128,
        /// Destination.
        dst: Reg,
    },
    /// `op dst, src` where the operation reads only `src` (`sqrt*`, `cvt*`): the lanes of
    /// `dst` the operation does not write are left undefined.
    XmmUnary {
        /// Operation.
        op: SseOp,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `op dst, src2, imm` (two-address: `shufps`, `palignr`, `pblendw`).
    XmmRRImm {
        /// Operation.
        op: SseImmOp,
        /// First source (and destination register).
        src1: Reg,
        /// Second source.
        src2: Reg,
        /// Immediate.
        imm: u8,
        /// Destination.
        dst: Reg,
    },
    /// `op dst, src, imm` reading only `src` (`pshufd`, `pshuflw`, `round*`).
    XmmUnaryImm {
        /// Operation.
        op: SseImmOp,
        /// Source.
        src: Reg,
        /// Immediate.
        imm: u8,
        /// Destination.
        dst: Reg,
    },
    /// `ucomiss`/`ucomisd lhs, rhs`: flags only.
    Ucomis {
        /// `Ucomiss` or `Ucomisd`.
        op: SseOp,
        /// Left operand.
        lhs: Reg,
        /// Right operand.
        rhs: Reg,
    },
    /// Packed shift by an immediate (two-address).
    XmmShift {
        /// Operation.
        op: XmmShiftImm,
        /// Source (and destination register).
        src: Reg,
        /// Count.
        imm: u8,
        /// Destination.
        dst: Reg,
    },
    /// `xorps dst, dst`: all-zero XMM register.
    XmmZero {
        /// Destination.
        dst: Reg,
    },
    /// `pcmpeqd dst, dst`: all-ones XMM register.
    XmmOnes {
        /// Destination.
        dst: Reg,
    },
    /// Load a 4-, 8- or 16-byte constant from the constant pool (`movss`/`movsd`/`movdqu
    /// [rip + c]`).
    XmmConst {
        /// Destination.
        dst: Reg,
        /// The bits (little-endian).
        bits: u128,
        /// 4, 8 or 16.
        size: u8,
    },
    /// `movd`/`movq xmm, r`.
    GprToXmm {
        /// 32 or 64.
        size: OperandSize,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `movd`/`movq r, xmm`.
    /// `vop dst, src1, src2`: the AVX (VEX.128) three-operand form of an [`SseOp`] with
    /// [`SseOp::vex_three_operand`]; `dst` is a fresh register (no reuse of `src1`).
    XmmRRRVex {
        /// Operation.
        op: SseOp,
        /// First source.
        src1: Reg,
        /// Second source.
        src2: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `vop dst, src1, [rip + constant]`: the AVX form of [`MInst::XmmRConst`] (an
    /// [`SseOp`] with [`SseOp::vex_three_operand`]).
    XmmRConstVex {
        /// Operation.
        op: SseOp,
        /// First source.
        src1: Reg,
        /// The constant (little-endian, low lane first).
        bits: u128,
        /// Destination.
        dst: Reg,
    },
    /// `vop dst, src1, src2, imm`: the AVX form of [`MInst::XmmRRImm`] (an [`SseImmOp`]
    /// with [`SseImmOp::vex_two_source`]).
    XmmRRImmVex {
        /// Operation.
        op: SseImmOp,
        /// First source.
        src1: Reg,
        /// Second source.
        src2: Reg,
        /// Immediate.
        imm: u8,
        /// Destination.
        dst: Reg,
    },
    /// `vpsrld dst, src, imm` etc.: the AVX form of [`MInst::XmmShift`].
    XmmShiftVex {
        /// Operation.
        op: XmmShiftImm,
        /// Source.
        src: Reg,
        /// Count.
        imm: u8,
        /// Destination.
        dst: Reg,
    },
    /// `vcmpps`/`vcmppd dst, src1, src2, pred`: the AVX form of [`MInst::XmmCmp`].
    XmmCmpVex {
        /// The compare instruction.
        op: SseCmpOp,
        /// Predicate.
        pred: FloatCmp,
        /// Left operand.
        src1: Reg,
        /// Right operand.
        src2: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `cmpps`/`cmppd dst, src2, pred` (two-address): lane masks of `src1 pred src2`.
    XmmCmp {
        /// The compare instruction.
        op: SseCmpOp,
        /// Predicate.
        pred: FloatCmp,
        /// Left operand (and destination register).
        src1: Reg,
        /// Right operand.
        src2: Reg,
        /// Destination.
        dst: Reg,
    },
    Movmsk {
        /// `movmskps`, `movmskpd` or `pmovmskb`.
        op: MovmskOp,
        /// Source vector.
        src: Reg,
        /// Destination GPR (the lane sign bits, zero-extended).
        dst: Reg,
    },
    XmmToGpr {
        /// 32 or 64.
        size: OperandSize,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `cvtsi2ss`/`cvtsi2sd dst, src`.
    CvtIntToFloat {
        /// Operation.
        op: CvtIntToFloat,
        /// Integer width (32 or 64).
        size: OperandSize,
        /// Source GPR.
        src: Reg,
        /// Destination.
        dst: Reg,
    },
    /// u64 → float with correct rounding (halving trick for values ≥ 2^63).
    CvtUint64ToFloat {
        /// `f64` (true) or `f32` result.
        f64: bool,
        /// Source GPR.
        src: Reg,
        /// Destination.
        dst: Reg,
        /// Scratch GPR.
        tmp1: Reg,
        /// Scratch GPR.
        tmp2: Reg,
    },
    /// Float → integer conversion with Kiln's semantics: trapping (`bad_toint` on NaN,
    /// `int_ovf` out of range) or saturating (NaN → 0).
    CvtFloatToIntSeq {
        /// `f64` (true) or `f32` source.
        f64: bool,
        /// Result width (32 or 64).
        size: OperandSize,
        /// Signed result.
        signed: bool,
        /// Saturating.
        sat: bool,
        /// Source.
        src: Reg,
        /// Destination.
        dst: Reg,
        /// Scratch XMM.
        tmp_xmm: Reg,
        /// Scratch GPR.
        tmp_gpr: Reg,
    },
    /// Wasm `fmin`/`fmax` (NaN-propagating, `-0 < +0`); `dst` reuses `lhs`.
    FMinMax {
        /// `fmin` (true) or `fmax`.
        is_min: bool,
        /// `f64` (true) or `f32`.
        f64: bool,
        /// Left operand (and destination register).
        lhs: Reg,
        /// Right operand.
        rhs: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `j!cond skip; movaps dst, consequent; skip:` where `dst` starts as `alternative`.
    XmmCmov {
        /// Condition (any [`Cond`]).
        cond: Cond,
        /// Chosen when `cond` holds.
        consequent: Reg,
        /// Chosen otherwise (and the destination register).
        alternative: Reg,
        /// Destination.
        dst: Reg,
    },
    /// `pinsr{b,w,d,q} dst, src2, lane` (two-address).
    Pinsr {
        /// Lane width.
        width: Lane,
        /// Vector (and destination register).
        src1: Reg,
        /// GPR holding the lane value.
        src2: Reg,
        /// Lane index.
        lane: u8,
        /// Destination.
        dst: Reg,
    },
    /// `pextr{b,w,d,q} dst, src, lane` (zero-extended into the GPR).
    Pextr {
        /// Lane width.
        width: Lane,
        /// Vector.
        src: Reg,
        /// Lane index.
        lane: u8,
        /// Destination GPR.
        dst: Reg,
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
    /// `movzx`/`movsx`/`movsxd dst, [addr]`.
    LoadExt {
        /// Sign- (true) or zero-extend.
        signed: bool,
        /// Widths.
        mode: ExtMode,
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
    /// `mov [addr], imm`.
    StoreImm {
        /// Width.
        size: OperandSize,
        /// Value (sign-extended for 64-bit stores).
        imm: i32,
        /// Address.
        addr: Addr,
    },
    /// XMM load (`movss`/`movsd`/`movups`/`movdqu`).
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
    /// A call. Arguments are fixed uses, register results fixed defs; every other
    /// caller-saved register is clobbered. Records a call site.
    Call {
        /// Target.
        dest: CallDest,
        /// `(vreg, register)` argument pairs.
        uses: SmallVec<[(Reg, PReg); 6]>,
        /// `(vreg, register)` result pairs.
        defs: SmallVec<[(Reg, PReg); 2]>,
    },
    /// The address of a function: `lea dst, [rip + rel32]` with an `X86PCRel4`
    /// relocation (addend `-4`) for [`RelocTarget::User`], `movabs dst, imm64` with an
    /// `Abs8` relocation for libcalls.
    FuncAddr {
        /// The function.
        target: RelocTarget,
        /// Destination.
        dst: Reg,
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
    /// `jcc1 taken; jcc2 taken; jmp not_taken` (taken when `cc1 || cc2`).
    JmpCondOr {
        /// First condition.
        cc1: Cc,
        /// Second condition.
        cc2: Cc,
        /// Target when either holds.
        taken: MachLabel,
        /// Target otherwise.
        not_taken: MachLabel,
    },
    /// Jump table: `mov tmp1d, idx32; cmp tmp1d, n; jae default; lea tmp2, [rip + T];
    /// lea tmp2, [tmp2 + tmp1*4 + 4]; movsxd tmp1, [tmp2 - 4]; add tmp2, tmp1; jmp tmp2;
    /// T: n × rel32`, each entry relative to its own end (a `PCRel32` label use with the
    /// field at offset 0).
    JmpTable {
        /// The `i32` index.
        idx: Reg,
        /// Scratch (early def).
        tmp1: Reg,
        /// Scratch (early def).
        tmp2: Reg,
        /// Taken when the index is out of range.
        default: MachLabel,
        /// The table.
        targets: Box<[MachLabel]>,
    },
    /// `ud2` with a trap record.
    Ud2 {
        /// Trap code.
        code: TrapCode,
    },
    /// Trap with `code` when `cond` holds on the current flags.
    TrapIf {
        /// Condition.
        cond: Cond,
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

/// Forwards bytes to a MachBuffer and turns the one RIP-relative label use of the
/// instruction written through it into an `X86PCRel4` relocation against `target` (addend
/// `-4 - trailing`: the CPU measures from the end of the instruction).
struct RelocSink<'a> {
    buf: &'a mut MachBuffer<X64LabelUse>,
    target: RelocTarget,
    err: Option<BufferError>,
}

impl CodeSink<X64LabelUse> for RelocSink<'_> {
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
        if let X64LabelUse::PCRel32 {
            field_offset,
            trailing,
        } = kind
        {
            let at = offset + u64::from(field_offset);
            let addend = -4 - i64::from(trailing);
            if let Err(e) =
                self.buf
                    .add_reloc_at_offset(at, RelocKind::X86PCRel4, self.target, addend)
            {
                self.err.get_or_insert(e);
            }
        }
    }
    fn add_trap(&mut self, code: TrapCode) {
        self.buf.add_trap(code);
    }
}

/// Emit one instruction whose memory operand is `[rip + constant]`, for a 16-byte,
/// 16-aligned pool constant holding `bits`.
fn with_const(
    sink: &mut MachBuffer<X64LabelUse>,
    bits: u128,
    f: impl FnOnce(&mut ConstSink<'_>, &Amode),
) -> Result<(), CodegenError> {
    let constant = sink.register_constant(&bits.to_le_bytes(), 16)?;
    let mut cs = ConstSink {
        buf: sink,
        constant,
        err: None,
    };
    // The label is a placeholder: `ConstSink` redirects the use to the pool.
    f(&mut cs, &Amode::RipLabel(MachLabel(0)));
    match cs.err {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// The caller-saved registers a call clobbers (the scratch `r10`/`r11` excluded: they are
/// not allocatable).
fn caller_saved() -> PRegSet {
    let mut s = PRegSet::empty();
    for r in ALLOCATABLE_CALLER_SAVED {
        s.add(gpr_preg(r));
    }
    for x in Xmm::ALL {
        s.add(xmm_preg(x));
    }
    s
}

fn early_fixed_def<V: OperandVisitor>(v: &mut V, reg: &mut Reg, p: PReg) {
    v.add_operand(
        reg,
        OperandConstraint::FixedReg(p),
        OperandKind::Def,
        OperandPos::Early,
    );
}

impl MInst {
    /// Worst case bytes of one instruction (the float → u64 conversion is the longest),
    /// jump-table entries excluded.
    pub const WORST_CASE_SIZE: u32 = 160;
}

const RAX: PReg = gpr_preg(Gpr::Rax);
const RCX: PReg = gpr_preg(Gpr::Rcx);
const RDX: PReg = gpr_preg(Gpr::Rdx);

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
            MInst::MovRR { src, dst }
            | MInst::XmmMovRR { src, dst }
            | MInst::Ext { src, dst, .. }
            | MInst::BitOp { src, dst, .. }
            | MInst::XmmUnary { src, dst, .. }
            | MInst::XmmUnaryImm { src, dst, .. }
            | MInst::GprToXmm { src, dst, .. }
            | MInst::XmmToGpr { src, dst, .. }
            | MInst::Movmsk { src, dst, .. }
            | MInst::CvtIntToFloat { src, dst, .. }
            | MInst::Pextr { src, dst, .. }
            | MInst::ImulRI { src, dst, .. } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            MInst::Imm { dst, .. }
            | MInst::XmmZero { dst }
            | MInst::XmmOnes { dst }
            | MInst::XmmConst { dst, .. }
            | MInst::Setcc { dst, .. }
            | MInst::FuncAddr { dst, .. } => v.reg_def(dst),
            MInst::SetccCond { dst, tmp, .. } => {
                v.reg_def(dst);
                v.reg_early_def(tmp);
            }
            MInst::AluRR {
                src1, src2, dst, ..
            }
            | MInst::ImulRR {
                src1, src2, dst, ..
            }
            | MInst::XmmRR {
                src1, src2, dst, ..
            }
            | MInst::XmmRRImm {
                src1, src2, dst, ..
            }
            | MInst::XmmCmp {
                src1, src2, dst, ..
            }
            | MInst::Pinsr {
                src1, src2, dst, ..
            } => {
                v.reg_use(src1);
                v.reg_use(src2);
                v.reg_reuse_def(dst, 0);
            }
            MInst::XmmRRRVex {
                src1, src2, dst, ..
            }
            | MInst::XmmRRImmVex {
                src1, src2, dst, ..
            }
            | MInst::XmmCmpVex {
                src1, src2, dst, ..
            } => {
                v.reg_use(src1);
                v.reg_use(src2);
                v.reg_def(dst);
            }
            MInst::XmmRConstVex { src1: src, dst, .. } | MInst::XmmShiftVex { src, dst, .. } => {
                v.reg_use(src);
                v.reg_def(dst);
            }
            MInst::AluRM {
                src1, addr, dst, ..
            } => {
                v.reg_use(src1);
                v.reg_reuse_def(dst, 0);
                addr.visit(v);
            }
            MInst::AluRI { src1, dst, .. } | MInst::XmmRConst { src1, dst, .. } => {
                v.reg_use(src1);
                v.reg_reuse_def(dst, 0);
            }
            MInst::Unary { src, dst, .. }
            | MInst::ShiftImm { src, dst, .. }
            | MInst::XmmShift { src, dst, .. } => {
                v.reg_use(src);
                v.reg_reuse_def(dst, 0);
            }
            MInst::ShiftCl { src, amt, dst, .. } => {
                v.reg_use(src);
                v.reg_fixed_use(amt, RCX);
                v.reg_reuse_def(dst, 0);
            }
            MInst::Lea { addr, dst, .. } => {
                addr.visit(v);
                v.reg_def(dst);
            }
            MInst::MulHi {
                lhs, rhs, hi, lo, ..
            } => {
                v.reg_fixed_use(lhs, RAX);
                v.reg_use(rhs);
                v.reg_fixed_def(hi, RDX);
                v.reg_fixed_def(lo, RAX);
            }
            MInst::Div {
                kind,
                dividend,
                divisor,
                dst,
                other,
                ..
            } => {
                v.reg_fixed_use(dividend, RAX);
                v.reg_use(divisor);
                // rdx is written before the divisor is read: an early def.
                if kind.rem() {
                    early_fixed_def(v, dst, RDX);
                    v.reg_fixed_def(other, RAX);
                } else {
                    v.reg_fixed_def(dst, RAX);
                    early_fixed_def(v, other, RDX);
                }
            }
            MInst::CmpRR { lhs, rhs, .. } => {
                v.reg_use(lhs);
                v.reg_use(rhs);
            }
            MInst::CmpRI { lhs, .. } => v.reg_use(lhs),
            MInst::Test { src, .. } => v.reg_use(src),
            MInst::Ucomis { lhs, rhs, .. } => {
                v.reg_use(lhs);
                v.reg_use(rhs);
            }
            MInst::Cmov {
                consequent,
                alternative,
                dst,
                ..
            }
            | MInst::XmmCmov {
                consequent,
                alternative,
                dst,
                ..
            } => {
                v.reg_use(alternative);
                v.reg_use(consequent);
                v.reg_reuse_def(dst, 0);
            }
            MInst::FMinMax { lhs, rhs, dst, .. } => {
                v.reg_use(lhs);
                v.reg_use(rhs);
                v.reg_reuse_def(dst, 0);
            }
            MInst::CvtUint64ToFloat {
                src,
                dst,
                tmp1,
                tmp2,
                ..
            } => {
                v.reg_use(src);
                v.reg_early_def(dst);
                v.reg_early_def(tmp1);
                v.reg_early_def(tmp2);
            }
            MInst::CvtFloatToIntSeq {
                src,
                dst,
                tmp_xmm,
                tmp_gpr,
                ..
            } => {
                v.reg_late_use(src);
                v.reg_early_def(dst);
                v.reg_early_def(tmp_xmm);
                v.reg_early_def(tmp_gpr);
            }
            MInst::Load { addr, dst, .. }
            | MInst::LoadExt { addr, dst, .. }
            | MInst::XmmLoad { addr, dst, .. } => {
                addr.visit(v);
                v.reg_def(dst);
            }
            MInst::Store { src, addr, .. } | MInst::XmmStore { src, addr, .. } => {
                v.reg_use(src);
                addr.visit(v);
            }
            MInst::StoreImm { addr, .. } => addr.visit(v),
            MInst::Call { dest, uses, defs } => {
                if let CallDest::Reg(r) = dest {
                    v.reg_use(r);
                }
                for (r, p) in uses.iter_mut() {
                    v.reg_fixed_use(r, *p);
                }
                let mut clobbers = caller_saved();
                for (r, p) in defs.iter_mut() {
                    v.reg_fixed_def(r, *p);
                    clobbers.remove(*p);
                }
                v.reg_clobbers(clobbers);
            }
            MInst::JmpTable {
                idx, tmp1, tmp2, ..
            } => {
                v.reg_use(idx);
                v.reg_early_def(tmp1);
                v.reg_early_def(tmp2);
            }
            MInst::Push { .. }
            | MInst::Pop { .. }
            | MInst::MovRspToRbp
            | MInst::AdjustSp { .. }
            | MInst::StackCheck { .. }
            | MInst::Jmp { .. }
            | MInst::JmpCond { .. }
            | MInst::JmpCondOr { .. }
            | MInst::Ud2 { .. }
            | MInst::TrapIf { .. } => {}
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
            MInst::Jmp { .. }
            | MInst::JmpCond { .. }
            | MInst::JmpCondOr { .. }
            | MInst::JmpTable { .. } => MachTerminator::Branch,
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
            MInst::AluRM {
                op,
                size,
                src1,
                addr,
                dst,
            } => {
                same(src1, dst)?;
                let a = addr.to_amode(ctx)?;
                gpr::alu_rmr(sink, op, size, gpr(dst)?, GprMem::Mem(&a));
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
            MInst::Lea { size, addr, dst } => {
                let a = addr.to_amode(ctx)?;
                gpr::lea(sink, size, gpr(dst)?, &a);
            }
            MInst::Unary { op, size, src, dst } => {
                same(src, dst)?;
                gpr::unary(sink, op, size, GprMem::Gpr(gpr(dst)?));
            }
            MInst::ShiftCl {
                op,
                size,
                src,
                amt,
                dst,
            } => {
                same(src, dst)?;
                if gpr(amt)? != Gpr::Rcx {
                    return Err(CodegenError::Regalloc("shift count not in rcx".into()));
                }
                gpr::shift_cl(sink, op, size, GprMem::Gpr(gpr(dst)?));
            }
            MInst::ShiftImm {
                op,
                size,
                src,
                imm,
                dst,
            } => {
                same(src, dst)?;
                gpr::shift_imm(sink, op, size, GprMem::Gpr(gpr(dst)?), imm);
            }
            MInst::MulHi {
                signed, size, rhs, ..
            } => {
                let op = if signed { UnaryOp::Imul } else { UnaryOp::Mul };
                gpr::unary(sink, op, size, GprMem::Gpr(gpr(rhs)?));
            }
            MInst::Div {
                kind,
                size,
                ty_size,
                check_zero,
                check_minus_one,
                divisor,
                ..
            } => emit_div(
                sink,
                kind,
                size,
                ty_size,
                check_zero,
                check_minus_one,
                gpr(divisor)?,
            )?,
            MInst::Ext {
                signed,
                mode,
                src,
                dst,
            } => {
                let (d, s) = (gpr(dst)?, GprMem::Gpr(gpr(src)?));
                if signed {
                    gpr::movsx(sink, mode, d, s);
                } else {
                    gpr::movzx(sink, mode, d, s);
                }
            }
            MInst::BitOp { op, size, src, dst } => {
                gpr::bit_op(sink, op, size, gpr(dst)?, GprMem::Gpr(gpr(src)?))
            }
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
            MInst::SetccCond { cond, dst, tmp } => {
                let (d, t) = (gpr(dst)?, gpr(tmp)?);
                gpr::setcc(sink, cond.cc1, d);
                if let Some(cc2) = cond.cc2 {
                    gpr::setcc(sink, cc2, t);
                    let op = if cond.and { AluOp::And } else { AluOp::Or };
                    gpr::alu_rmr(sink, op, S8, d, GprMem::Gpr(t));
                }
                gpr::movzx(sink, ExtMode::B2L, d, GprMem::Gpr(d));
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
            MInst::XmmRConst {
                op,
                src1,
                bits,
                dst,
            } => {
                same(src1, dst)?;
                let d = xmm(dst)?;
                with_const(sink, bits, |cs, a| sse::xmm_rmr(cs, op, d, XmmMem::Mem(a)))?;
            }
            MInst::XmmUnary { op, src, dst } => {
                sse::xmm_rmr(sink, op, xmm(dst)?, XmmMem::Xmm(xmm(src)?))
            }
            MInst::XmmRRImm {
                op,
                src1,
                src2,
                imm,
                dst,
            } => {
                same(src1, dst)?;
                sse::xmm_rmri(sink, op, xmm(dst)?, XmmMem::Xmm(xmm(src2)?), imm);
            }
            MInst::XmmUnaryImm { op, src, imm, dst } => {
                sse::xmm_rmri(sink, op, xmm(dst)?, XmmMem::Xmm(xmm(src)?), imm)
            }
            MInst::Ucomis { op, lhs, rhs } => {
                sse::xmm_rmr(sink, op, xmm(lhs)?, XmmMem::Xmm(xmm(rhs)?))
            }
            MInst::XmmShift { op, src, imm, dst } => {
                same(src, dst)?;
                sse::xmm_shift_imm(sink, op, xmm(dst)?, imm);
            }
            MInst::XmmZero { dst } => {
                let r = xmm(dst)?;
                sse::xmm_rmr(sink, SseOp::Xorps, r, XmmMem::Xmm(r));
            }
            MInst::XmmOnes { dst } => {
                let r = xmm(dst)?;
                sse::xmm_rmr(sink, SseOp::Pcmpeqd, r, XmmMem::Xmm(r));
            }
            MInst::XmmConst { dst, bits, size } => {
                let r = xmm(dst)?;
                let op = match size {
                    4 => XmmMov::Movss,
                    8 => XmmMov::Movsd,
                    _ => XmmMov::Movdqu,
                };
                with_const(sink, bits, |cs, a| sse::xmm_load(cs, op, r, a))?;
            }
            MInst::GprToXmm { size, src, dst } => {
                sse::movd_to_xmm(sink, size, xmm(dst)?, GprMem::Gpr(gpr(src)?))
            }
            MInst::XmmToGpr { size, src, dst } => {
                sse::movd_from_xmm(sink, size, GprMem::Gpr(gpr(dst)?), xmm(src)?)
            }
            MInst::Movmsk { op, src, dst } => sse::movmsk(sink, op, gpr(dst)?, xmm(src)?),
            MInst::XmmRRRVex {
                op,
                src1,
                src2,
                dst,
            } => sse::vex_rrm(sink, op, xmm(dst)?, xmm(src1)?, XmmMem::Xmm(xmm(src2)?)),
            MInst::XmmRConstVex {
                op,
                src1,
                bits,
                dst,
            } => {
                let (d, s1) = (xmm(dst)?, xmm(src1)?);
                with_const(sink, bits, |cs, a| {
                    sse::vex_rrm(cs, op, d, s1, XmmMem::Mem(a))
                })?;
            }
            MInst::XmmRRImmVex {
                op,
                src1,
                src2,
                imm,
                dst,
            } => sse::vex_rrmi(
                sink,
                op,
                xmm(dst)?,
                xmm(src1)?,
                XmmMem::Xmm(xmm(src2)?),
                imm,
            ),
            MInst::XmmShiftVex { op, src, imm, dst } => {
                sse::vex_shift_imm(sink, op, xmm(dst)?, xmm(src)?, imm)
            }
            MInst::XmmCmpVex {
                op,
                pred,
                src1,
                src2,
                dst,
            } => sse::vex_cmp(
                sink,
                op,
                xmm(dst)?,
                xmm(src1)?,
                XmmMem::Xmm(xmm(src2)?),
                pred,
            ),
            MInst::XmmCmp {
                op,
                pred,
                src1,
                src2,
                dst,
            } => {
                same(src1, dst)?;
                sse::xmm_cmp(sink, op, xmm(dst)?, XmmMem::Xmm(xmm(src2)?), pred);
            }
            MInst::CvtIntToFloat { op, size, src, dst } => {
                sse::cvt_int_to_float(sink, op, size, xmm(dst)?, GprMem::Gpr(gpr(src)?))
            }
            MInst::CvtUint64ToFloat {
                f64,
                src,
                dst,
                tmp1,
                tmp2,
            } => emit_cvt_u64_to_float(sink, f64, gpr(src)?, xmm(dst)?, gpr(tmp1)?, gpr(tmp2)?)?,
            MInst::CvtFloatToIntSeq {
                f64,
                size,
                signed,
                sat,
                src,
                dst,
                tmp_xmm,
                tmp_gpr,
            } => emit_cvt_float_to_int(
                sink,
                CvtShape {
                    f64,
                    size,
                    signed,
                    sat,
                },
                xmm(src)?,
                gpr(dst)?,
                xmm(tmp_xmm)?,
                gpr(tmp_gpr)?,
            )?,
            MInst::FMinMax {
                is_min,
                f64,
                lhs,
                rhs,
                dst,
            } => {
                same(lhs, dst)?;
                emit_fminmax(sink, is_min, f64, xmm(dst)?, xmm(rhs)?)?;
            }
            MInst::XmmCmov {
                cond,
                consequent,
                alternative,
                dst,
            } => {
                same(alternative, dst)?;
                let (d, c) = (xmm(dst)?, xmm(consequent)?);
                let skip = sink.get_label();
                jump_unless(sink, cond, skip)?;
                sse::xmm_mov_rr(sink, XmmMov::Movaps, d, c);
                sink.bind_label(skip)?;
            }
            MInst::Pinsr {
                width,
                src1,
                src2,
                lane,
                dst,
            } => {
                same(src1, dst)?;
                sse::pinsr(sink, width, xmm(dst)?, GprMem::Gpr(gpr(src2)?), lane);
            }
            MInst::Pextr {
                width,
                src,
                lane,
                dst,
            } => sse::pextr(sink, width, GprMem::Gpr(gpr(dst)?), xmm(src)?, lane),
            MInst::Load { size, addr, dst } => {
                let a = addr.to_amode(ctx)?;
                match size {
                    S8 => gpr::movzx(sink, ExtMode::B2L, gpr(dst)?, GprMem::Mem(&a)),
                    S16 => gpr::movzx(sink, ExtMode::W2L, gpr(dst)?, GprMem::Mem(&a)),
                    _ => gpr::mov_load(sink, size, gpr(dst)?, &a),
                }
            }
            MInst::LoadExt {
                signed,
                mode,
                addr,
                dst,
            } => {
                let a = addr.to_amode(ctx)?;
                if signed {
                    gpr::movsx(sink, mode, gpr(dst)?, GprMem::Mem(&a));
                } else {
                    gpr::movzx(sink, mode, gpr(dst)?, GprMem::Mem(&a));
                }
            }
            MInst::Store { size, src, addr } => {
                let a = addr.to_amode(ctx)?;
                gpr::mov_store(sink, size, &a, gpr(src)?);
            }
            MInst::StoreImm { size, imm, addr } => {
                let a = addr.to_amode(ctx)?;
                gpr::mov_store_imm(sink, size, &a, imm);
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
            MInst::Call { dest, .. } => {
                match dest {
                    CallDest::Direct(target) => {
                        let start = sink.cur_offset();
                        gpr::call_rel32(sink, 0);
                        sink.add_reloc_at_offset(start + 1, RelocKind::X86CallPCRel4, target, -4)?;
                    }
                    CallDest::Abs(target) => {
                        let start = sink.cur_offset();
                        gpr::movabs(sink, Gpr::R11, 0);
                        sink.add_reloc_at_offset(start + 2, RelocKind::Abs8, target, 0)?;
                        gpr::call_ind(sink, GprMem::Gpr(Gpr::R11));
                    }
                    CallDest::Reg(r) => gpr::call_ind(sink, GprMem::Gpr(gpr(r)?)),
                }
                sink.add_call_site();
            }
            MInst::FuncAddr { target, dst } => {
                let d = gpr(dst)?;
                match target {
                    RelocTarget::User(_) => {
                        let mut rs = RelocSink {
                            buf: sink,
                            target,
                            err: None,
                        };
                        gpr::lea(&mut rs, S64, d, &Amode::RipLabel(MachLabel(0)));
                        if let Some(e) = rs.err {
                            return Err(e.into());
                        }
                    }
                    _ => {
                        let start = sink.cur_offset();
                        gpr::movabs(sink, d, 0);
                        sink.add_reloc_at_offset(start + 2, RelocKind::Abs8, target, 0)?;
                    }
                }
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
            MInst::JmpCondOr {
                cc1,
                cc2,
                taken,
                not_taken,
            } => {
                // The first jcc is not registered: simplification must not invert it.
                gpr::jcc_label(sink, cc1, taken);
                let start = sink.cur_offset();
                gpr::jcc_label(sink, cc2, taken);
                let inverted = [0x0F, 0x80 + cc2.invert().enc(), 0, 0, 0, 0];
                let _ = sink.add_cond_branch(start, sink.cur_offset(), taken, &inverted);
                let start = sink.cur_offset();
                gpr::jmp_label(sink, not_taken);
                let _ = sink.add_uncond_branch(start, sink.cur_offset(), not_taken);
            }
            MInst::JmpTable {
                idx,
                tmp1,
                tmp2,
                default,
                ref targets,
            } => {
                let (i, t1, t2) = (gpr(idx)?, gpr(tmp1)?, gpr(tmp2)?);
                let n = i32::try_from(targets.len())
                    .map_err(|_| CodegenError::ImplLimit("jump table size"))?;
                gpr::mov_rr(sink, S32, t1, i);
                gpr::alu_ri(sink, AluOp::Cmp, S32, GprMem::Gpr(t1), n);
                gpr::jcc_label(sink, Cc::Ae, default);
                let table = sink.get_label();
                gpr::lea(sink, S64, t2, &Amode::RipLabel(table));
                let entry = Amode::base_index(t2, t1, Scale::Four, 4)
                    .ok_or_else(|| CodegenError::Regalloc("rsp as an index".into()))?;
                gpr::lea(sink, S64, t2, &entry);
                gpr::movsxd(sink, t1, GprMem::Mem(&Amode::base_disp(t2, -4)));
                gpr::alu_rmr(sink, AluOp::Add, S64, t2, GprMem::Gpr(t1));
                gpr::jmp_ind(sink, GprMem::Gpr(t2));
                sink.bind_label(table)?;
                let start = sink.cur_offset();
                for &t in targets.iter() {
                    let at = sink.cur_offset();
                    sink.put4(0);
                    sink.use_label_at_offset(
                        at,
                        t,
                        X64LabelUse::PCRel32 {
                            field_offset: 0,
                            trailing: 0,
                        },
                    );
                }
                sink.mark_data(start);
            }
            MInst::Ud2 { code } => gpr::ud2(sink, code),
            MInst::TrapIf { cond, code } => {
                let skip = sink.get_label();
                jump_unless(sink, cond, skip)?;
                gpr::ud2(sink, code);
                sink.bind_label(skip)?;
            }
        }
        Ok(())
    }
}

/// Jump to `target` unless `cond` holds (falls through when it holds).
fn jump_unless(
    sink: &mut MachBuffer<X64LabelUse>,
    cond: Cond,
    target: MachLabel,
) -> Result<(), CodegenError> {
    match (cond.cc2, cond.and) {
        (None, _) => gpr::jcc_label(sink, cond.cc1.invert(), target),
        // Skip unless both: skip when either fails.
        (Some(cc2), true) => {
            gpr::jcc_label(sink, cond.cc1.invert(), target);
            gpr::jcc_label(sink, cc2.invert(), target);
        }
        // Skip unless either: fall through when cc1, else skip unless cc2.
        (Some(cc2), false) => {
            let hold = sink.get_label();
            gpr::jcc_label(sink, cond.cc1, hold);
            gpr::jcc_label(sink, cc2.invert(), target);
            sink.bind_label(hold)?;
        }
    }
    Ok(())
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

fn emit_div(
    sink: &mut MachBuffer<X64LabelUse>,
    kind: DivKind,
    size: OperandSize,
    ty_size: OperandSize,
    check_zero: bool,
    check_minus_one: bool,
    divisor: Gpr,
) -> Result<(), CodegenError> {
    if check_zero {
        let ok = sink.get_label();
        gpr::test_rr(sink, size, divisor, divisor);
        gpr::jcc_label(sink, Cc::Ne, ok);
        gpr::ud2(sink, TrapCode::IntegerDivisionByZero);
        sink.bind_label(ok)?;
    }
    let done = sink.get_label();
    if kind.signed() && check_minus_one {
        let do_div = sink.get_label();
        gpr::alu_ri(sink, AluOp::Cmp, size, GprMem::Gpr(divisor), -1);
        gpr::jcc_label(sink, Cc::Ne, do_div);
        if kind.rem() {
            gpr::alu_rmr(
                sink,
                AluOp::Xor,
                OperandSize::S32,
                Gpr::Rdx,
                GprMem::Gpr(Gpr::Rdx),
            );
            gpr::jmp_label(sink, done);
        } else {
            // x / -1 == -x; overflow exactly for MIN at the type's width.
            gpr::unary(sink, UnaryOp::Neg, ty_size, GprMem::Gpr(Gpr::Rax));
            gpr::jcc_label(sink, Cc::No, done);
            gpr::ud2(sink, TrapCode::IntegerOverflow);
        }
        sink.bind_label(do_div)?;
    }
    if kind.signed() {
        gpr::sign_extend_rax(sink, size);
        gpr::unary(sink, UnaryOp::Idiv, size, GprMem::Gpr(divisor));
    } else {
        gpr::alu_rmr(
            sink,
            AluOp::Xor,
            OperandSize::S32,
            Gpr::Rdx,
            GprMem::Gpr(Gpr::Rdx),
        );
        gpr::unary(sink, UnaryOp::Div, size, GprMem::Gpr(divisor));
    }
    sink.bind_label(done)?;
    Ok(())
}

fn float_bits(f64: bool, v: f64) -> u128 {
    if f64 {
        u128::from(v.to_bits())
    } else {
        u128::from((v as f32).to_bits())
    }
}

fn ucomis_const(
    sink: &mut MachBuffer<X64LabelUse>,
    f64: bool,
    r: Xmm,
    v: f64,
) -> Result<(), CodegenError> {
    let op = if f64 { SseOp::Ucomisd } else { SseOp::Ucomiss };
    with_const(sink, float_bits(f64, v), |cs, a| {
        sse::xmm_rmr(cs, op, r, XmmMem::Mem(a))
    })
}

fn emit_fminmax(
    sink: &mut MachBuffer<X64LabelUse>,
    is_min: bool,
    f64: bool,
    dst: Xmm,
    rhs: Xmm,
) -> Result<(), CodegenError> {
    let (ucom, add, mm, bit) = match (f64, is_min) {
        (false, true) => (SseOp::Ucomiss, SseOp::Addss, SseOp::Minss, SseOp::Orps),
        (false, false) => (SseOp::Ucomiss, SseOp::Addss, SseOp::Maxss, SseOp::Andps),
        (true, true) => (SseOp::Ucomisd, SseOp::Addsd, SseOp::Minsd, SseOp::Orpd),
        (true, false) => (SseOp::Ucomisd, SseOp::Addsd, SseOp::Maxsd, SseOp::Andpd),
    };
    let (not_equal, nan, done) = (sink.get_label(), sink.get_label(), sink.get_label());
    sse::xmm_rmr(sink, ucom, dst, XmmMem::Xmm(rhs));
    gpr::jcc_label(sink, Cc::Ne, not_equal);
    gpr::jcc_label(sink, Cc::P, nan);
    // Equal: identical bits, or ±0 (or-ing gives -0 for min, and-ing +0 for max).
    sse::xmm_rmr(sink, bit, dst, XmmMem::Xmm(rhs));
    gpr::jmp_label(sink, done);
    sink.bind_label(nan)?;
    sse::xmm_rmr(sink, add, dst, XmmMem::Xmm(rhs));
    gpr::jmp_label(sink, done);
    sink.bind_label(not_equal)?;
    sse::xmm_rmr(sink, mm, dst, XmmMem::Xmm(rhs));
    sink.bind_label(done)?;
    Ok(())
}

fn emit_cvt_u64_to_float(
    sink: &mut MachBuffer<X64LabelUse>,
    f64: bool,
    src: Gpr,
    dst: Xmm,
    t1: Gpr,
    t2: Gpr,
) -> Result<(), CodegenError> {
    use OperandSize::*;
    let (cvt, add) = if f64 {
        (CvtIntToFloat::Cvtsi2sd, SseOp::Addsd)
    } else {
        (CvtIntToFloat::Cvtsi2ss, SseOp::Addss)
    };
    let (big, done) = (sink.get_label(), sink.get_label());
    gpr::test_rr(sink, S64, src, src);
    gpr::jcc_label(sink, Cc::S, big);
    sse::cvt_int_to_float(sink, cvt, S64, dst, GprMem::Gpr(src));
    gpr::jmp_label(sink, done);
    sink.bind_label(big)?;
    // (src >> 1) | (src & 1): halve, keeping the sticky bit for correct rounding.
    gpr::mov_rr(sink, S64, t1, src);
    gpr::shift_imm(sink, ShiftOp::Shr, S64, GprMem::Gpr(t1), 1);
    gpr::mov_rr(sink, S32, t2, src);
    gpr::alu_ri(sink, AluOp::And, S32, GprMem::Gpr(t2), 1);
    gpr::alu_rmr(sink, AluOp::Or, S64, t1, GprMem::Gpr(t2));
    sse::cvt_int_to_float(sink, cvt, S64, dst, GprMem::Gpr(t1));
    sse::xmm_rmr(sink, add, dst, XmmMem::Xmm(dst));
    sink.bind_label(done)?;
    Ok(())
}

#[derive(Copy, Clone)]
struct CvtShape {
    f64: bool,
    size: OperandSize,
    signed: bool,
    sat: bool,
}

fn emit_cvt_float_to_int(
    sink: &mut MachBuffer<X64LabelUse>,
    s: CvtShape,
    src: Xmm,
    dst: Gpr,
    tmp_x: Xmm,
    tmp_g: Gpr,
) -> Result<(), CodegenError> {
    use OperandSize::*;
    let f64 = s.f64;
    let cvt = if f64 {
        CvtFloatToInt::Cvttsd2si
    } else {
        CvtFloatToInt::Cvttss2si
    };
    let ucom = if f64 { SseOp::Ucomisd } else { SseOp::Ucomiss };
    let sub = if f64 { SseOp::Subsd } else { SseOp::Subss };
    let done = sink.get_label();
    let trap_unless =
        |sink: &mut MachBuffer<X64LabelUse>, cc: Cc, code: TrapCode| -> Result<(), CodegenError> {
            let ok = sink.get_label();
            gpr::jcc_label(sink, cc, ok);
            gpr::ud2(sink, code);
            sink.bind_label(ok)?;
            Ok(())
        };
    // Values >= 2^63 (u64 results): subtract 2^63, convert, flip the top bit.
    let big_path = |sink: &mut MachBuffer<X64LabelUse>| -> Result<(), CodegenError> {
        sse::xmm_mov_rr(sink, XmmMov::Movaps, tmp_x, src);
        let two63 = float_bits(f64, 9223372036854775808.0);
        with_const(sink, two63, |cs, a| {
            sse::xmm_rmr(cs, sub, tmp_x, XmmMem::Mem(a))
        })?;
        sse::cvt_float_to_int(sink, cvt, S64, dst, XmmMem::Xmm(tmp_x));
        gpr::mov_imm64(sink, tmp_g, 1 << 63);
        gpr::alu_rmr(sink, AluOp::Xor, S64, dst, GprMem::Gpr(tmp_g));
        Ok(())
    };
    let (min_f, max_int): (f64, u64) = if s.size == S32 {
        (-2147483648.0, i32::MAX as u64)
    } else {
        (-9223372036854775808.0, i64::MAX as u64)
    };
    match (s.signed, s.sat) {
        (true, false) => {
            sse::cvt_float_to_int(sink, cvt, s.size, dst, XmmMem::Xmm(src));
            // Only MIN (the "integer indefinite" value) needs a closer look.
            gpr::alu_ri(sink, AluOp::Cmp, s.size, GprMem::Gpr(dst), 1);
            gpr::jcc_label(sink, Cc::No, done);
            sse::xmm_rmr(sink, ucom, src, XmmMem::Xmm(src));
            trap_unless(sink, Cc::Np, TrapCode::BadConversionToInteger)?;
            if f64 && s.size == S32 {
                // Anything in (MIN - 1, MIN] truncates to MIN.
                ucomis_const(sink, true, src, -2147483649.0)?;
                trap_unless(sink, Cc::A, TrapCode::IntegerOverflow)?;
            } else {
                ucomis_const(sink, f64, src, min_f)?;
                trap_unless(sink, Cc::Ae, TrapCode::IntegerOverflow)?;
            }
            // A positive value that overflowed also gives MIN.
            ucomis_const(sink, f64, src, 0.0)?;
            trap_unless(sink, Cc::Be, TrapCode::IntegerOverflow)?;
        }
        (true, true) => {
            sse::cvt_float_to_int(sink, cvt, s.size, dst, XmmMem::Xmm(src));
            gpr::alu_ri(sink, AluOp::Cmp, s.size, GprMem::Gpr(dst), 1);
            gpr::jcc_label(sink, Cc::No, done);
            let not_nan = sink.get_label();
            sse::xmm_rmr(sink, ucom, src, XmmMem::Xmm(src));
            gpr::jcc_label(sink, Cc::Np, not_nan);
            gpr::alu_rmr(sink, AluOp::Xor, S32, dst, GprMem::Gpr(dst));
            gpr::jmp_label(sink, done);
            sink.bind_label(not_nan)?;
            // Negative: MIN is right. Positive overflow: MAX.
            ucomis_const(sink, f64, src, 0.0)?;
            gpr::jcc_label(sink, Cc::B, done);
            gpr::mov_imm64(sink, dst, max_int);
        }
        (false, false) => {
            sse::xmm_rmr(sink, ucom, src, XmmMem::Xmm(src));
            trap_unless(sink, Cc::Np, TrapCode::BadConversionToInteger)?;
            ucomis_const(sink, f64, src, -1.0)?;
            trap_unless(sink, Cc::A, TrapCode::IntegerOverflow)?;
            if s.size == S32 {
                ucomis_const(sink, f64, src, 4294967296.0)?;
                trap_unless(sink, Cc::B, TrapCode::IntegerOverflow)?;
                sse::cvt_float_to_int(sink, cvt, S64, dst, XmmMem::Xmm(src));
            } else {
                let big = sink.get_label();
                ucomis_const(sink, f64, src, 9223372036854775808.0)?;
                gpr::jcc_label(sink, Cc::Ae, big);
                sse::cvt_float_to_int(sink, cvt, S64, dst, XmmMem::Xmm(src));
                gpr::jmp_label(sink, done);
                sink.bind_label(big)?;
                ucomis_const(sink, f64, src, 18446744073709551616.0)?;
                trap_unless(sink, Cc::B, TrapCode::IntegerOverflow)?;
                big_path(sink)?;
            }
        }
        (false, true) => {
            gpr::alu_rmr(sink, AluOp::Xor, S32, dst, GprMem::Gpr(dst));
            // NaN (CF=ZF=1) or <= 0: zero.
            ucomis_const(sink, f64, src, 0.0)?;
            gpr::jcc_label(sink, Cc::Be, done);
            if s.size == S32 {
                gpr::mov_imm64(sink, dst, u64::from(u32::MAX));
                ucomis_const(sink, f64, src, 4294967296.0)?;
                gpr::jcc_label(sink, Cc::Ae, done);
                sse::cvt_float_to_int(sink, cvt, S64, dst, XmmMem::Xmm(src));
            } else {
                gpr::mov_imm64(sink, dst, u64::MAX);
                ucomis_const(sink, f64, src, 18446744073709551616.0)?;
                gpr::jcc_label(sink, Cc::Ae, done);
                let big = sink.get_label();
                ucomis_const(sink, f64, src, 9223372036854775808.0)?;
                gpr::jcc_label(sink, Cc::Ae, big);
                sse::cvt_float_to_int(sink, cvt, S64, dst, XmmMem::Xmm(src));
                gpr::jmp_label(sink, done);
                sink.bind_label(big)?;
                big_path(sink)?;
            }
        }
    }
    sink.bind_label(done)?;
    Ok(())
}
