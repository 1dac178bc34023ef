//! Integer, load/store, branch and miscellaneous forms.
//!
//! Naming: `rd` is the register written, `rn`/`rm`/`ra` the ones read, `rt` the data
//! register of a load/store or compare-and-branch. `size` is the operation width (`w` or
//! `x` registers). Aliases that LLVM and the ARM manual print (`mov`, `cmp`, `tst`, `lsl`,
//! `cset`, `sxtb`, …) are separate functions that emit the underlying instruction.

use super::{
    ldst_word, ldstp_word, put, put_label, AMode, Cond, Extend, Imm12, ImmLogic, PairAMode, Shift,
    Sink,
};
use crate::ir::TrapCode;
use crate::isa::aarch64::label_use::AArch64LabelUse;
use crate::isa::aarch64::regs::{Size, XReg, XRegOrSp, XRegOrZr};
use crate::machinst::MachLabel;

#[inline]
fn sf(size: Size) -> u32 {
    size.sf() << 31
}

#[inline]
fn rd_rn(rd: u32, rn: u32) -> u32 {
    (rn << 5) | rd
}

// ----- Add / subtract and logical (register) -------------------------------------------

/// Two-source ALU operations with a shifted-register form.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum AluOp {
    /// `add`
    Add,
    /// `adds` (sets flags)
    Adds,
    /// `sub`
    Sub,
    /// `subs` (sets flags)
    Subs,
    /// `and`
    And,
    /// `ands` (sets flags)
    Ands,
    /// `orr`
    Orr,
    /// `eor`
    Eor,
    /// `bic`: `rn & !rm`
    Bic,
    /// `bics` (sets flags)
    Bics,
    /// `orn`: `rn | !rm`
    Orn,
    /// `eon`: `rn ^ !rm`
    Eon,
}

impl AluOp {
    /// The shifted-register opcode bits (everything but sf, shift, registers, amount).
    const fn base(self) -> u32 {
        match self {
            AluOp::Add => 0x0b00_0000,
            AluOp::Adds => 0x2b00_0000,
            AluOp::Sub => 0x4b00_0000,
            AluOp::Subs => 0x6b00_0000,
            AluOp::And => 0x0a00_0000,
            AluOp::Bic => 0x0a20_0000,
            AluOp::Orr => 0x2a00_0000,
            AluOp::Orn => 0x2a20_0000,
            AluOp::Eor => 0x4a00_0000,
            AluOp::Eon => 0x4a20_0000,
            AluOp::Ands => 0x6a00_0000,
            AluOp::Bics => 0x6a20_0000,
        }
    }

    const fn is_arith(self) -> bool {
        matches!(self, AluOp::Add | AluOp::Adds | AluOp::Sub | AluOp::Subs)
    }
}

/// `op rd, rn, rm, shift #amount` (shifted register). Precondition: `amount < size.bits()`
/// and `shift` is not `Ror` for add/sub.
#[allow(clippy::too_many_arguments)]
pub fn alu_rrr_shift(
    sink: &mut impl Sink,
    op: AluOp,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    rm: XRegOrZr,
    shift: Shift,
    amount: u8,
) {
    assert!(u32::from(amount) < size.bits(), "shift amount {amount}");
    assert!(
        !(op.is_arith() && shift == Shift::Ror),
        "add/sub cannot ror"
    );
    put(
        sink,
        op.base()
            | sf(size)
            | ((shift as u32) << 22)
            | (rm.enc() << 16)
            | (u32::from(amount) << 10)
            | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `op rd, rn, rm` (shifted register with no shift).
pub fn alu_rrr(
    sink: &mut impl Sink,
    op: AluOp,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    rm: XRegOrZr,
) {
    alu_rrr_shift(sink, op, size, rd, rn, rm, Shift::Lsl, 0);
}

/// `mov rd, rm` (register; `orr rd, zr, rm`). Not for `sp`: see [`mov_sp`].
pub fn mov(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rm: XRegOrZr) {
    alu_rrr(sink, AluOp::Orr, size, rd, XRegOrZr::Zr, rm);
}

/// `mvn rd, rm` (`orn rd, zr, rm`).
pub fn mvn(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rm: XRegOrZr) {
    alu_rrr(sink, AluOp::Orn, size, rd, XRegOrZr::Zr, rm);
}

/// `neg rd, rm` (`sub rd, zr, rm`).
pub fn neg(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rm: XRegOrZr) {
    alu_rrr(sink, AluOp::Sub, size, rd, XRegOrZr::Zr, rm);
}

/// `cmp rn, rm, shift #amount` (`subs zr, rn, rm, ...`).
pub fn cmp_shift(
    sink: &mut impl Sink,
    size: Size,
    rn: XRegOrZr,
    rm: XRegOrZr,
    shift: Shift,
    amount: u8,
) {
    alu_rrr_shift(sink, AluOp::Subs, size, XRegOrZr::Zr, rn, rm, shift, amount);
}

/// `cmp rn, rm` (`subs zr, rn, rm`).
pub fn cmp(sink: &mut impl Sink, size: Size, rn: XRegOrZr, rm: XRegOrZr) {
    cmp_shift(sink, size, rn, rm, Shift::Lsl, 0);
}

/// `cmn rn, rm` (`adds zr, rn, rm`).
pub fn cmn(sink: &mut impl Sink, size: Size, rn: XRegOrZr, rm: XRegOrZr) {
    alu_rrr(sink, AluOp::Adds, size, XRegOrZr::Zr, rn, rm);
}

/// `tst rn, rm` (`ands zr, rn, rm`).
pub fn tst(sink: &mut impl Sink, size: Size, rn: XRegOrZr, rm: XRegOrZr) {
    alu_rrr(sink, AluOp::Ands, size, XRegOrZr::Zr, rn, rm);
}

// ----- Add / subtract (immediate, extended register) -----------------------------------

fn addsub_imm(sink: &mut impl Sink, base: u32, size: Size, rd: u32, rn: XRegOrSp, imm: Imm12) {
    put(sink, base | sf(size) | imm.field() | rd_rn(rd, rn.enc()));
}

/// `add rd, rn, #imm` (`rd` and `rn` may be `sp`).
pub fn add_imm(sink: &mut impl Sink, size: Size, rd: XRegOrSp, rn: XRegOrSp, imm: Imm12) {
    addsub_imm(sink, 0x1100_0000, size, rd.enc(), rn, imm);
}

/// `sub rd, rn, #imm` (`rd` and `rn` may be `sp`).
pub fn sub_imm(sink: &mut impl Sink, size: Size, rd: XRegOrSp, rn: XRegOrSp, imm: Imm12) {
    addsub_imm(sink, 0x5100_0000, size, rd.enc(), rn, imm);
}

/// `adds rd, rn, #imm` (`rn` may be `sp`; `rd` may be `zr`).
pub fn adds_imm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrSp, imm: Imm12) {
    addsub_imm(sink, 0x3100_0000, size, rd.enc(), rn, imm);
}

/// `subs rd, rn, #imm` (`rn` may be `sp`; `rd` may be `zr`).
pub fn subs_imm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrSp, imm: Imm12) {
    addsub_imm(sink, 0x7100_0000, size, rd.enc(), rn, imm);
}

/// `cmp rn, #imm` (`subs zr, rn, #imm`).
pub fn cmp_imm(sink: &mut impl Sink, size: Size, rn: XRegOrSp, imm: Imm12) {
    subs_imm(sink, size, XRegOrZr::Zr, rn, imm);
}

/// `cmn rn, #imm` (`adds zr, rn, #imm`).
pub fn cmn_imm(sink: &mut impl Sink, size: Size, rn: XRegOrSp, imm: Imm12) {
    adds_imm(sink, size, XRegOrZr::Zr, rn, imm);
}

/// `mov rd, rn` where either may be `sp` (`add rd, rn, #0`).
pub fn mov_sp(sink: &mut impl Sink, size: Size, rd: XRegOrSp, rn: XRegOrSp) {
    add_imm(sink, size, rd, rn, Imm12::new(0).expect("0 fits"));
}

#[allow(clippy::too_many_arguments)]
fn addsub_ext(
    sink: &mut impl Sink,
    base: u32,
    size: Size,
    rd: u32,
    rn: XRegOrSp,
    rm: XRegOrZr,
    ext: Extend,
    amount: u8,
) {
    assert!(amount <= 4, "extend shift {amount} > 4");
    put(
        sink,
        base | sf(size)
            | (1 << 21)
            | (rm.enc() << 16)
            | ((ext as u32) << 13)
            | (u32::from(amount) << 10)
            | rd_rn(rd, rn.enc()),
    );
}

/// `add rd, rn, rm, ext #amount` (extended register; `amount` 0–4; `rm` is a `w` register
/// unless `ext` is `uxtx`/`sxtx`).
#[allow(clippy::too_many_arguments)]
pub fn add_ext(
    sink: &mut impl Sink,
    size: Size,
    rd: XRegOrSp,
    rn: XRegOrSp,
    rm: XRegOrZr,
    ext: Extend,
    amount: u8,
) {
    addsub_ext(sink, 0x0b00_0000, size, rd.enc(), rn, rm, ext, amount);
}

/// `sub rd, rn, rm, ext #amount` (extended register).
#[allow(clippy::too_many_arguments)]
pub fn sub_ext(
    sink: &mut impl Sink,
    size: Size,
    rd: XRegOrSp,
    rn: XRegOrSp,
    rm: XRegOrZr,
    ext: Extend,
    amount: u8,
) {
    addsub_ext(sink, 0x4b00_0000, size, rd.enc(), rn, rm, ext, amount);
}

/// `adds rd, rn, rm, ext #amount` (extended register).
#[allow(clippy::too_many_arguments)]
pub fn adds_ext(
    sink: &mut impl Sink,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrSp,
    rm: XRegOrZr,
    ext: Extend,
    amount: u8,
) {
    addsub_ext(sink, 0x2b00_0000, size, rd.enc(), rn, rm, ext, amount);
}

/// `subs rd, rn, rm, ext #amount` (extended register).
#[allow(clippy::too_many_arguments)]
pub fn subs_ext(
    sink: &mut impl Sink,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrSp,
    rm: XRegOrZr,
    ext: Extend,
    amount: u8,
) {
    addsub_ext(sink, 0x6b00_0000, size, rd.enc(), rn, rm, ext, amount);
}

/// `cmp rn, rm, ext #amount` (`subs zr, ...`, extended register).
pub fn cmp_ext(
    sink: &mut impl Sink,
    size: Size,
    rn: XRegOrSp,
    rm: XRegOrZr,
    ext: Extend,
    amount: u8,
) {
    subs_ext(sink, size, XRegOrZr::Zr, rn, rm, ext, amount);
}

// ----- Logical (immediate) -------------------------------------------------------------

fn logic_imm(sink: &mut impl Sink, base: u32, size: Size, rd: u32, rn: XRegOrZr, imm: ImmLogic) {
    assert!(
        imm.size() == size,
        "bitmask immediate made for another size"
    );
    put(sink, base | sf(size) | imm.field() | rd_rn(rd, rn.enc()));
}

/// `and rd, rn, #imm` (`rd` may be `sp`).
pub fn and_imm(sink: &mut impl Sink, size: Size, rd: XRegOrSp, rn: XRegOrZr, imm: ImmLogic) {
    logic_imm(sink, 0x1200_0000, size, rd.enc(), rn, imm);
}

/// `orr rd, rn, #imm` (`rd` may be `sp`).
pub fn orr_imm(sink: &mut impl Sink, size: Size, rd: XRegOrSp, rn: XRegOrZr, imm: ImmLogic) {
    logic_imm(sink, 0x3200_0000, size, rd.enc(), rn, imm);
}

/// `eor rd, rn, #imm` (`rd` may be `sp`).
pub fn eor_imm(sink: &mut impl Sink, size: Size, rd: XRegOrSp, rn: XRegOrZr, imm: ImmLogic) {
    logic_imm(sink, 0x5200_0000, size, rd.enc(), rn, imm);
}

/// `ands rd, rn, #imm`.
pub fn ands_imm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, imm: ImmLogic) {
    logic_imm(sink, 0x7200_0000, size, rd.enc(), rn, imm);
}

/// `tst rn, #imm` (`ands zr, rn, #imm`).
pub fn tst_imm(sink: &mut impl Sink, size: Size, rn: XRegOrZr, imm: ImmLogic) {
    ands_imm(sink, size, XRegOrZr::Zr, rn, imm);
}

/// `mov rd, #imm` as a bitmask immediate (`orr rd, zr, #imm`).
pub fn mov_bitmask(sink: &mut impl Sink, size: Size, rd: XRegOrSp, imm: ImmLogic) {
    orr_imm(sink, size, rd, XRegOrZr::Zr, imm);
}

// ----- Move wide ------------------------------------------------------------------------

fn movewide(sink: &mut impl Sink, base: u32, size: Size, rd: XRegOrZr, imm16: u16, shift: u8) {
    assert!(
        shift.is_multiple_of(16) && u32::from(shift) < size.bits(),
        "move-wide shift {shift}"
    );
    put(
        sink,
        base | sf(size) | (u32::from(shift / 16) << 21) | (u32::from(imm16) << 5) | rd.enc(),
    );
}

/// `movz rd, #imm16, lsl #shift` (`shift` 0/16, or 32/48 for 64 bits).
pub fn movz(sink: &mut impl Sink, size: Size, rd: XRegOrZr, imm16: u16, shift: u8) {
    movewide(sink, 0x5280_0000, size, rd, imm16, shift);
}

/// `movn rd, #imm16, lsl #shift`: `rd = !(imm16 << shift)`.
pub fn movn(sink: &mut impl Sink, size: Size, rd: XRegOrZr, imm16: u16, shift: u8) {
    movewide(sink, 0x1280_0000, size, rd, imm16, shift);
}

/// `movk rd, #imm16, lsl #shift`: replace one 16-bit field of `rd`.
pub fn movk(sink: &mut impl Sink, size: Size, rd: XRegOrZr, imm16: u16, shift: u8) {
    movewide(sink, 0x7280_0000, size, rd, imm16, shift);
}

// ----- Multiply and divide --------------------------------------------------------------

/// `madd rd, rn, rm, ra`: `rd = ra + rn * rm`.
pub fn madd(
    sink: &mut impl Sink,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    rm: XRegOrZr,
    ra: XRegOrZr,
) {
    put(
        sink,
        0x1b00_0000 | sf(size) | (rm.enc() << 16) | (ra.enc() << 10) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `msub rd, rn, rm, ra`: `rd = ra - rn * rm`.
pub fn msub(
    sink: &mut impl Sink,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    rm: XRegOrZr,
    ra: XRegOrZr,
) {
    put(
        sink,
        0x1b00_8000 | sf(size) | (rm.enc() << 16) | (ra.enc() << 10) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `mul rd, rn, rm` (`madd rd, rn, rm, zr`).
pub fn mul(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, rm: XRegOrZr) {
    madd(sink, size, rd, rn, rm, XRegOrZr::Zr);
}

/// `smulh xd, xn, xm`: high 64 bits of the signed 128-bit product.
pub fn smulh(sink: &mut impl Sink, rd: XRegOrZr, rn: XRegOrZr, rm: XRegOrZr) {
    put(
        sink,
        0x9b40_7c00 | (rm.enc() << 16) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `umulh xd, xn, xm`: high 64 bits of the unsigned 128-bit product.
pub fn umulh(sink: &mut impl Sink, rd: XRegOrZr, rn: XRegOrZr, rm: XRegOrZr) {
    put(
        sink,
        0x9bc0_7c00 | (rm.enc() << 16) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// Two-source data-processing operations (`Rm`, `Rn`, `Rd` all zero-register fields).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum DataProc2 {
    /// `udiv` (division by zero gives 0, no trap).
    Udiv = 0b000010,
    /// `sdiv` (division by zero gives 0, `MIN / -1` gives `MIN`).
    Sdiv = 0b000011,
    /// `lslv` (printed `lsl`): shift amount taken modulo the width.
    Lslv = 0b001000,
    /// `lsrv` (printed `lsr`).
    Lsrv = 0b001001,
    /// `asrv` (printed `asr`).
    Asrv = 0b001010,
    /// `rorv` (printed `ror`).
    Rorv = 0b001011,
}

/// `op rd, rn, rm` for the two-source data-processing group.
pub fn dp2(
    sink: &mut impl Sink,
    op: DataProc2,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    rm: XRegOrZr,
) {
    put(
        sink,
        0x1ac0_0000 | sf(size) | (rm.enc() << 16) | ((op as u32) << 10) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// One-source data-processing operations.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum DataProc1 {
    /// Reverse bits.
    Rbit,
    /// Reverse bytes in each halfword.
    Rev16,
    /// Reverse bytes in each word (64-bit only; for 32 bits use `Rev`).
    Rev32,
    /// Reverse all bytes of the register.
    Rev,
    /// Count leading zeros.
    Clz,
    /// Count leading sign bits.
    Cls,
}

/// `op rd, rn` for the one-source group. Precondition: `Rev32` only at 64 bits.
pub fn dp1(sink: &mut impl Sink, op: DataProc1, size: Size, rd: XRegOrZr, rn: XRegOrZr) {
    let opcode = match op {
        DataProc1::Rbit => 0,
        DataProc1::Rev16 => 1,
        DataProc1::Rev32 => {
            assert!(size.is64(), "rev32 is 64-bit only");
            2
        }
        DataProc1::Rev => 2 + size.sf(),
        DataProc1::Clz => 4,
        DataProc1::Cls => 5,
    };
    put(
        sink,
        0x5ac0_0000 | sf(size) | (opcode << 10) | rd_rn(rd.enc(), rn.enc()),
    );
}

// ----- Bitfield and shifts by immediate ----------------------------------------------

fn bitfield(
    sink: &mut impl Sink,
    base: u32,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    immr: u32,
    imms: u32,
) {
    assert!(
        immr < size.bits() && imms < size.bits(),
        "bitfield {immr},{imms}"
    );
    put(
        sink,
        base | sf(size)
            | (size.sf() << 22)
            | (immr << 16)
            | (imms << 10)
            | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `sbfm rd, rn, #immr, #imms`.
pub fn sbfm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, immr: u32, imms: u32) {
    bitfield(sink, 0x1300_0000, size, rd, rn, immr, imms);
}

/// `bfm rd, rn, #immr, #imms`.
pub fn bfm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, immr: u32, imms: u32) {
    bitfield(sink, 0x3300_0000, size, rd, rn, immr, imms);
}

/// `ubfm rd, rn, #immr, #imms`.
pub fn ubfm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, immr: u32, imms: u32) {
    bitfield(sink, 0x5300_0000, size, rd, rn, immr, imms);
}

/// `lsl rd, rn, #amount` (`ubfm`; `amount < width`).
pub fn lsl_imm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, amount: u32) {
    let w = size.bits();
    assert!(amount < w);
    ubfm(sink, size, rd, rn, (w - amount) % w, w - 1 - amount);
}

/// `lsr rd, rn, #amount` (`ubfm`).
pub fn lsr_imm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, amount: u32) {
    ubfm(sink, size, rd, rn, amount, size.bits() - 1);
}

/// `asr rd, rn, #amount` (`sbfm`).
pub fn asr_imm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, amount: u32) {
    sbfm(sink, size, rd, rn, amount, size.bits() - 1);
}

/// `extr rd, rn, rm, #lsb`: bits `lsb..lsb+width` of the concatenation `rn:rm`.
pub fn extr(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, rm: XRegOrZr, lsb: u32) {
    assert!(lsb < size.bits());
    put(
        sink,
        0x1380_0000
            | sf(size)
            | (size.sf() << 22)
            | (rm.enc() << 16)
            | (lsb << 10)
            | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `ror rd, rn, #amount` (`extr rd, rn, rn, #amount`).
pub fn ror_imm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, amount: u32) {
    extr(sink, size, rd, rn, rn, amount);
}

/// `ubfx rd, rn, #lsb, #width` (`ubfm`; `lsb + width <= size`, `width >= 1`).
pub fn ubfx(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, lsb: u32, width: u32) {
    assert!(width >= 1 && lsb + width <= size.bits());
    ubfm(sink, size, rd, rn, lsb, lsb + width - 1);
}

/// `sbfx rd, rn, #lsb, #width` (`sbfm`).
pub fn sbfx(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr, lsb: u32, width: u32) {
    assert!(width >= 1 && lsb + width <= size.bits());
    sbfm(sink, size, rd, rn, lsb, lsb + width - 1);
}

/// `sxtb rd, wn` (sign-extend the low byte to `size`).
pub fn sxtb(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr) {
    sbfm(sink, size, rd, rn, 0, 7);
}

/// `sxth rd, wn`.
pub fn sxth(sink: &mut impl Sink, size: Size, rd: XRegOrZr, rn: XRegOrZr) {
    sbfm(sink, size, rd, rn, 0, 15);
}

/// `sxtw xd, wn`.
pub fn sxtw(sink: &mut impl Sink, rd: XRegOrZr, rn: XRegOrZr) {
    sbfm(sink, Size::S64, rd, rn, 0, 31);
}

/// `uxtb wd, wn` (zero-extends into all 64 bits, as every 32-bit write does).
pub fn uxtb(sink: &mut impl Sink, rd: XRegOrZr, rn: XRegOrZr) {
    ubfm(sink, Size::S32, rd, rn, 0, 7);
}

/// `uxth wd, wn`.
pub fn uxth(sink: &mut impl Sink, rd: XRegOrZr, rn: XRegOrZr) {
    ubfm(sink, Size::S32, rd, rn, 0, 15);
}

// ----- Conditional select and compare ---------------------------------------------------

/// Conditional-select operations.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum CselOp {
    /// `rd = cond ? rn : rm`
    Csel,
    /// `rd = cond ? rn : rm + 1`
    Csinc,
    /// `rd = cond ? rn : !rm`
    Csinv,
    /// `rd = cond ? rn : -rm`
    Csneg,
}

/// `op rd, rn, rm, cond`.
pub fn csel_op(
    sink: &mut impl Sink,
    op: CselOp,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    rm: XRegOrZr,
    cond: Cond,
) {
    let base = match op {
        CselOp::Csel => 0x1a80_0000,
        CselOp::Csinc => 0x1a80_0400,
        CselOp::Csinv => 0x5a80_0000,
        CselOp::Csneg => 0x5a80_0400,
    };
    put(
        sink,
        base | sf(size) | (rm.enc() << 16) | (cond.enc() << 12) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `csel rd, rn, rm, cond`.
pub fn csel(
    sink: &mut impl Sink,
    size: Size,
    rd: XRegOrZr,
    rn: XRegOrZr,
    rm: XRegOrZr,
    cond: Cond,
) {
    csel_op(sink, CselOp::Csel, size, rd, rn, rm, cond);
}

/// `cset rd, cond`: 1 if `cond` holds, else 0 (`csinc rd, zr, zr, !cond`). Not `al`/`nv`.
pub fn cset(sink: &mut impl Sink, size: Size, rd: XRegOrZr, cond: Cond) {
    csel_op(
        sink,
        CselOp::Csinc,
        size,
        rd,
        XRegOrZr::Zr,
        XRegOrZr::Zr,
        cond.invert(),
    );
}

/// `csetm rd, cond`: all ones if `cond` holds, else 0 (`csinv rd, zr, zr, !cond`).
pub fn csetm(sink: &mut impl Sink, size: Size, rd: XRegOrZr, cond: Cond) {
    csel_op(
        sink,
        CselOp::Csinv,
        size,
        rd,
        XRegOrZr::Zr,
        XRegOrZr::Zr,
        cond.invert(),
    );
}

/// `ccmp rn, rm, #nzcv, cond`: if `cond` then flags = cmp(rn, rm) else flags = `nzcv`.
pub fn ccmp(sink: &mut impl Sink, size: Size, rn: XRegOrZr, rm: XRegOrZr, nzcv: u8, cond: Cond) {
    assert!(nzcv < 16);
    put(
        sink,
        0x7a40_0000
            | sf(size)
            | (rm.enc() << 16)
            | (cond.enc() << 12)
            | (rn.enc() << 5)
            | u32::from(nzcv),
    );
}

/// `ccmp rn, #imm5, #nzcv, cond`.
pub fn ccmp_imm(sink: &mut impl Sink, size: Size, rn: XRegOrZr, imm5: u8, nzcv: u8, cond: Cond) {
    assert!(nzcv < 16 && imm5 < 32);
    put(
        sink,
        0x7a40_0800
            | sf(size)
            | (u32::from(imm5) << 16)
            | (cond.enc() << 12)
            | (rn.enc() << 5)
            | u32::from(nzcv),
    );
}

// ----- PC-relative ----------------------------------------------------------------------

/// `adr xd, label` (±1 MiB, [`AArch64LabelUse::Adr21`]).
pub fn adr(sink: &mut impl Sink, rd: XRegOrZr, label: MachLabel) {
    put_label(sink, 0x1000_0000 | rd.enc(), label, AArch64LabelUse::Adr21);
}

// ----- Loads and stores ------------------------------------------------------------------

/// Integer loads.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum LoadOp {
    /// `ldrb wt`: zero-extended byte.
    Ldrb,
    /// `ldrh wt`: zero-extended halfword.
    Ldrh,
    /// `ldr wt`: word (zero-extended into 64 bits).
    LdrW,
    /// `ldr xt`: doubleword.
    LdrX,
    /// `ldrsb wt`: sign-extended byte into 32 bits.
    LdrsbW,
    /// `ldrsb xt`: sign-extended byte into 64 bits.
    LdrsbX,
    /// `ldrsh wt`.
    LdrshW,
    /// `ldrsh xt`.
    LdrshX,
    /// `ldrsw xt`: sign-extended word.
    Ldrsw,
}

impl LoadOp {
    /// `(log2 of access bytes, opc)`.
    const fn size_opc(self) -> (u32, u32) {
        match self {
            LoadOp::Ldrb => (0, 1),
            LoadOp::Ldrh => (1, 1),
            LoadOp::LdrW => (2, 1),
            LoadOp::LdrX => (3, 1),
            LoadOp::LdrsbX => (0, 2),
            LoadOp::LdrsbW => (0, 3),
            LoadOp::LdrshX => (1, 2),
            LoadOp::LdrshW => (1, 3),
            LoadOp::Ldrsw => (2, 2),
        }
    }

    /// log2 of the access size in bytes.
    pub const fn log2_bytes(self) -> u32 {
        self.size_opc().0
    }
}

/// Integer stores.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum StoreOp {
    /// `strb wt`
    Strb = 0,
    /// `strh wt`
    Strh = 1,
    /// `str wt`
    StrW = 2,
    /// `str xt`
    StrX = 3,
}

/// `ldr*/ldur* rt, amode` (the unscaled form prints as `ldur*`). `rt` may be `zr`.
/// Pre/post-index with `rt == rn` is unpredictable and must not be requested.
pub fn load(sink: &mut impl Sink, op: LoadOp, rt: XRegOrZr, amode: &AMode) {
    let (log2, opc) = op.size_opc();
    put(
        sink,
        ldst_word(
            0x3800_0000 | (log2 << 30) | (opc << 22),
            log2,
            rt.enc(),
            amode,
        ),
    );
}

/// `str*/stur* rt, amode`. `rt` may be `zr` (stores zero).
pub fn store(sink: &mut impl Sink, op: StoreOp, rt: XRegOrZr, amode: &AMode) {
    let log2 = op as u32;
    put(
        sink,
        ldst_word(0x3800_0000 | (log2 << 30), log2, rt.enc(), amode),
    );
}

/// `ldr wt/xt, label` (literal, ±1 MiB, [`AArch64LabelUse::Ldr19`]).
pub fn ldr_literal(sink: &mut impl Sink, size: Size, rt: XRegOrZr, label: MachLabel) {
    put_label(
        sink,
        0x1800_0000 | (size.sf() << 30) | rt.enc(),
        label,
        AArch64LabelUse::Ldr19,
    );
}

/// `ldrsw xt, label` (literal).
pub fn ldrsw_literal(sink: &mut impl Sink, rt: XRegOrZr, label: MachLabel) {
    put_label(sink, 0x9800_0000 | rt.enc(), label, AArch64LabelUse::Ldr19);
}

/// `ldp rt, rt2, amode` (`w` or `x` registers).
pub fn ldp(sink: &mut impl Sink, size: Size, rt: XRegOrZr, rt2: XRegOrZr, amode: &PairAMode) {
    let log2 = 2 + size.sf();
    put(
        sink,
        ldstp_word(size.sf() << 31, log2, true, rt.enc(), rt2.enc(), amode),
    );
}

/// `stp rt, rt2, amode` (`w` or `x` registers).
pub fn stp(sink: &mut impl Sink, size: Size, rt: XRegOrZr, rt2: XRegOrZr, amode: &PairAMode) {
    let log2 = 2 + size.sf();
    put(
        sink,
        ldstp_word(size.sf() << 31, log2, false, rt.enc(), rt2.enc(), amode),
    );
}

// ----- Branches -------------------------------------------------------------------------

/// `b label` (±128 MiB, [`AArch64LabelUse::Branch26`]).
pub fn b(sink: &mut impl Sink, label: MachLabel) {
    put_label(sink, 0x1400_0000, label, AArch64LabelUse::Branch26);
}

/// `bl label` (±128 MiB, [`AArch64LabelUse::Branch26`]).
pub fn bl(sink: &mut impl Sink, label: MachLabel) {
    put_label(sink, 0x9400_0000, label, AArch64LabelUse::Branch26);
}

/// `b.cond label` (±1 MiB, [`AArch64LabelUse::Branch19`]).
pub fn b_cond(sink: &mut impl Sink, cond: Cond, label: MachLabel) {
    put_label(
        sink,
        0x5400_0000 | cond.enc(),
        label,
        AArch64LabelUse::Branch19,
    );
}

/// `cbz rt, label` (±1 MiB).
pub fn cbz(sink: &mut impl Sink, size: Size, rt: XRegOrZr, label: MachLabel) {
    put_label(
        sink,
        0x3400_0000 | sf(size) | rt.enc(),
        label,
        AArch64LabelUse::Branch19,
    );
}

/// `cbnz rt, label` (±1 MiB).
pub fn cbnz(sink: &mut impl Sink, size: Size, rt: XRegOrZr, label: MachLabel) {
    put_label(
        sink,
        0x3500_0000 | sf(size) | rt.enc(),
        label,
        AArch64LabelUse::Branch19,
    );
}

fn test_branch(sink: &mut impl Sink, base: u32, rt: XRegOrZr, bit: u32, label: MachLabel) {
    assert!(bit < 64, "bit {bit}");
    let w = base | ((bit >> 5) << 31) | ((bit & 31) << 19) | rt.enc();
    put_label(sink, w, label, AArch64LabelUse::Branch14);
}

/// `tbz rt, #bit, label` (±32 KiB, [`AArch64LabelUse::Branch14`]); bits ≥ 32 test an `x`
/// register.
pub fn tbz(sink: &mut impl Sink, rt: XRegOrZr, bit: u32, label: MachLabel) {
    test_branch(sink, 0x3600_0000, rt, bit, label);
}

/// `tbnz rt, #bit, label` (±32 KiB).
pub fn tbnz(sink: &mut impl Sink, rt: XRegOrZr, bit: u32, label: MachLabel) {
    test_branch(sink, 0x3700_0000, rt, bit, label);
}

/// `br xn`.
pub fn br(sink: &mut impl Sink, rn: XReg) {
    put(sink, 0xd61f_0000 | (rn.enc() << 5));
}

/// `blr xn`.
pub fn blr(sink: &mut impl Sink, rn: XReg) {
    put(sink, 0xd63f_0000 | (rn.enc() << 5));
}

/// `ret xn` (`ret` alone is `ret x30`).
pub fn ret(sink: &mut impl Sink, rn: XReg) {
    put(sink, 0xd65f_0000 | (rn.enc() << 5));
}

// ----- Miscellaneous --------------------------------------------------------------------

/// `udf #imm16`, recording a trap with `code` at its offset.
pub fn udf(sink: &mut impl Sink, imm16: u16, code: TrapCode) {
    sink.add_trap(code);
    put(sink, u32::from(imm16));
}

/// `brk #imm16`.
pub fn brk(sink: &mut impl Sink, imm16: u16) {
    put(sink, 0xd420_0000 | (u32::from(imm16) << 5));
}

/// `nop`.
pub fn nop(sink: &mut impl Sink) {
    put(sink, 0xd503_201f);
}
