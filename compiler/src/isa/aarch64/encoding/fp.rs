//! Scalar floating point, SIMD/FP loads and stores, and NEON vector forms.
//!
//! Scalar forms take [`FpSize`] (`s`/`d` views of the `v` registers); vector forms take a
//! [`VecArr`] arrangement. Writing a scalar or 64-bit-vector result zeroes the upper bits
//! of the destination `v` register.

use super::{ldst_word, ldstp_word, put, put_label, AMode, Cond, FpImm8, PairAMode, Sink};
use crate::isa::aarch64::label_use::AArch64LabelUse;
use crate::isa::aarch64::regs::{ElemSize, FpMemSize, FpSize, Size, VReg, VecArr, XRegOrZr};
use crate::machinst::MachLabel;

#[inline]
fn ty(size: FpSize) -> u32 {
    size.ftype() << 22
}

#[inline]
fn rd_rn(rd: u32, rn: u32) -> u32 {
    (rn << 5) | rd
}

// ----- Moves ----------------------------------------------------------------------------

/// `fmov sd/dd, sn/dn`.
pub fn fmov(sink: &mut impl Sink, size: FpSize, rd: VReg, rn: VReg) {
    put(sink, 0x1e20_4000 | ty(size) | rd_rn(rd.enc(), rn.enc()));
}

/// `fmov wd, sn` (`FpSize::S`) or `fmov xd, dn` (`FpSize::D`): raw bits to a GPR.
pub fn fmov_to_gpr(sink: &mut impl Sink, size: FpSize, rd: XRegOrZr, rn: VReg) {
    let base = match size {
        FpSize::S => 0x1e26_0000,
        FpSize::D => 0x9e66_0000,
    };
    put(sink, base | rd_rn(rd.enc(), rn.enc()));
}

/// `fmov sd, wn` (`FpSize::S`) or `fmov dd, xn` (`FpSize::D`): raw bits from a GPR.
pub fn fmov_from_gpr(sink: &mut impl Sink, size: FpSize, rd: VReg, rn: XRegOrZr) {
    let base = match size {
        FpSize::S => 0x1e27_0000,
        FpSize::D => 0x9e67_0000,
    };
    put(sink, base | rd_rn(rd.enc(), rn.enc()));
}

/// `fmov sd/dd, #imm` (see [`FpImm8`] for the encodable values).
pub fn fmov_imm(sink: &mut impl Sink, size: FpSize, rd: VReg, imm: FpImm8) {
    put(
        sink,
        0x1e20_1000 | ty(size) | (u32::from(imm.bits()) << 13) | rd.enc(),
    );
}

// ----- Arithmetic -----------------------------------------------------------------------

/// Scalar two-source floating-point operations.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum FpuOp2 {
    Fmul = 0,
    Fdiv = 1,
    Fadd = 2,
    Fsub = 3,
    /// NaN if either operand is NaN.
    Fmax = 4,
    /// NaN if either operand is NaN.
    Fmin = 5,
    /// IEEE 754-2008 maxNum: a quiet NaN operand loses.
    Fmaxnm = 6,
    /// IEEE 754-2008 minNum.
    Fminnm = 7,
    Fnmul = 8,
}

/// `op d, n, m` (scalar).
pub fn fpu_rrr(sink: &mut impl Sink, op: FpuOp2, size: FpSize, rd: VReg, rn: VReg, rm: VReg) {
    put(
        sink,
        0x1e20_0800 | ty(size) | (rm.enc() << 16) | ((op as u32) << 12) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// Scalar one-source floating-point operations.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum FpuOp1 {
    Fabs = 0b000001,
    Fneg = 0b000010,
    Fsqrt = 0b000011,
    /// Round to nearest, ties to even.
    Frintn = 0b001000,
    /// Round towards +∞ (ceil).
    Frintp = 0b001001,
    /// Round towards −∞ (floor).
    Frintm = 0b001010,
    /// Round towards zero (trunc).
    Frintz = 0b001011,
}

/// `op d, n` (scalar).
pub fn fpu_rr(sink: &mut impl Sink, op: FpuOp1, size: FpSize, rd: VReg, rn: VReg) {
    put(
        sink,
        0x1e20_4000 | ty(size) | ((op as u32) << 15) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `fcvt`: convert `rn` of size `from` to the other size in `rd` (`from` S gives `dd`).
pub fn fcvt(sink: &mut impl Sink, from: FpSize, rd: VReg, rn: VReg) {
    let opc = match from {
        FpSize::S => 0b000101, // to double
        FpSize::D => 0b000100, // to single
    };
    put(
        sink,
        0x1e20_4000 | ty(from) | (opc << 15) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `fmadd d, n, m, a`: `a + n * m` (fused).
pub fn fmadd(sink: &mut impl Sink, size: FpSize, rd: VReg, rn: VReg, rm: VReg, ra: VReg) {
    put(
        sink,
        0x1f00_0000 | ty(size) | (rm.enc() << 16) | (ra.enc() << 10) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `fmsub d, n, m, a`: `a - n * m` (fused).
pub fn fmsub(sink: &mut impl Sink, size: FpSize, rd: VReg, rn: VReg, rm: VReg, ra: VReg) {
    put(
        sink,
        0x1f00_8000 | ty(size) | (rm.enc() << 16) | (ra.enc() << 10) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `fcmp n, m`.
pub fn fcmp(sink: &mut impl Sink, size: FpSize, rn: VReg, rm: VReg) {
    put(
        sink,
        0x1e20_2000 | ty(size) | (rm.enc() << 16) | (rn.enc() << 5),
    );
}

/// `fcmp n, #0.0`.
pub fn fcmp_zero(sink: &mut impl Sink, size: FpSize, rn: VReg) {
    put(sink, 0x1e20_2008 | ty(size) | (rn.enc() << 5));
}

/// `fcsel d, n, m, cond`.
pub fn fcsel(sink: &mut impl Sink, size: FpSize, rd: VReg, rn: VReg, rm: VReg, cond: Cond) {
    put(
        sink,
        0x1e20_0c00 | ty(size) | (rm.enc() << 16) | (cond.enc() << 12) | rd_rn(rd.enc(), rn.enc()),
    );
}

// ----- Conversions ----------------------------------------------------------------------

/// `fcvtzs rd, n`: float to signed integer, rounding towards zero, saturating
/// (NaN gives 0).
pub fn fcvtzs(sink: &mut impl Sink, int: Size, fp: FpSize, rd: XRegOrZr, rn: VReg) {
    put(
        sink,
        0x1e38_0000 | (int.sf() << 31) | ty(fp) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `fcvtzu rd, n`: float to unsigned integer, rounding towards zero, saturating.
pub fn fcvtzu(sink: &mut impl Sink, int: Size, fp: FpSize, rd: XRegOrZr, rn: VReg) {
    put(
        sink,
        0x1e39_0000 | (int.sf() << 31) | ty(fp) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `scvtf d, rn`: signed integer to float.
pub fn scvtf(sink: &mut impl Sink, fp: FpSize, int: Size, rd: VReg, rn: XRegOrZr) {
    put(
        sink,
        0x1e22_0000 | (int.sf() << 31) | ty(fp) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `ucvtf d, rn`: unsigned integer to float.
pub fn ucvtf(sink: &mut impl Sink, fp: FpSize, int: Size, rd: VReg, rn: XRegOrZr) {
    put(
        sink,
        0x1e23_0000 | (int.sf() << 31) | ty(fp) | rd_rn(rd.enc(), rn.enc()),
    );
}

// ----- Loads and stores -----------------------------------------------------------------

/// `size:opc` bits for a SIMD/FP load/store (`V` = 1).
fn fp_ldst_base(size: FpMemSize, load: bool) -> u32 {
    let (sz, opc) = match size {
        FpMemSize::S => (2, 0),
        FpMemSize::D => (3, 0),
        FpMemSize::Q => (0, 2),
    };
    0x3c00_0000 | (sz << 30) | ((opc | load as u32) << 22)
}

/// `ldr st/dt/qt, amode` (the unscaled form prints as `ldur`).
pub fn fp_load(sink: &mut impl Sink, size: FpMemSize, rt: VReg, amode: &AMode) {
    put(
        sink,
        ldst_word(fp_ldst_base(size, true), size.log2_bytes(), rt.enc(), amode),
    );
}

/// `str st/dt/qt, amode` (the unscaled form prints as `stur`).
pub fn fp_store(sink: &mut impl Sink, size: FpMemSize, rt: VReg, amode: &AMode) {
    put(
        sink,
        ldst_word(
            fp_ldst_base(size, false),
            size.log2_bytes(),
            rt.enc(),
            amode,
        ),
    );
}

/// `ldr st/dt/qt, label` (literal, ±1 MiB, [`AArch64LabelUse::Ldr19`]).
pub fn fp_load_literal(sink: &mut impl Sink, size: FpMemSize, rt: VReg, label: MachLabel) {
    let opc = match size {
        FpMemSize::S => 0,
        FpMemSize::D => 1,
        FpMemSize::Q => 2,
    };
    put_label(
        sink,
        0x1c00_0000 | (opc << 30) | rt.enc(),
        label,
        AArch64LabelUse::Ldr19,
    );
}

fn fp_pair_opc(size: FpMemSize) -> u32 {
    let opc = match size {
        FpMemSize::S => 0,
        FpMemSize::D => 1,
        FpMemSize::Q => 2,
    };
    (opc << 30) | (1 << 26)
}

/// `ldp st/dt/qt, st2/dt2/qt2, amode`.
pub fn fp_ldp(sink: &mut impl Sink, size: FpMemSize, rt: VReg, rt2: VReg, amode: &PairAMode) {
    put(
        sink,
        ldstp_word(
            fp_pair_opc(size),
            size.log2_bytes(),
            true,
            rt.enc(),
            rt2.enc(),
            amode,
        ),
    );
}

/// `stp st/dt/qt, st2/dt2/qt2, amode`.
pub fn fp_stp(sink: &mut impl Sink, size: FpMemSize, rt: VReg, rt2: VReg, amode: &PairAMode) {
    put(
        sink,
        ldstp_word(
            fp_pair_opc(size),
            size.log2_bytes(),
            false,
            rt.enc(),
            rt2.enc(),
            amode,
        ),
    );
}

// ----- NEON: three registers of the same type ------------------------------------------

/// NEON integer three-same operations.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum VecOp3 {
    /// `add`
    Add,
    /// `sub`
    Sub,
    /// `mul` (not `2d`)
    Mul,
    /// `cmeq`: lanes equal → all ones
    Cmeq,
    /// `cmgt`: signed `>`
    Cmgt,
    /// `cmge`: signed `>=`
    Cmge,
    /// `cmhi`: unsigned `>`
    Cmhi,
    /// `cmhs`: unsigned `>=`
    Cmhs,
    /// `sqadd`: signed saturating add
    Sqadd,
    /// `uqadd`: unsigned saturating add
    Uqadd,
    /// `sqsub`: signed saturating subtract
    Sqsub,
    /// `uqsub`: unsigned saturating subtract
    Uqsub,
    /// `smax`
    Smax,
    /// `umax`
    Umax,
    /// `smin`
    Smin,
    /// `umin`
    Umin,
    /// `urhadd`: unsigned rounding halving add
    Urhadd,
    /// `sshl`: signed shift by a per-lane signed amount (negative shifts right)
    Sshl,
    /// `ushl`: unsigned shift by a per-lane signed amount
    Ushl,
    /// `sqrdmulh`: signed saturating rounding doubling multiply, high half (`4h 8h 2s 4s`)
    Sqrdmulh,
    /// `addp`: add adjacent pairs of the concatenation `n:m`
    Addp,
}

impl VecOp3 {
    /// `(U, opcode)`.
    const fn u_opcode(self) -> (u32, u32) {
        match self {
            VecOp3::Add => (0, 0b10000),
            VecOp3::Sub => (1, 0b10000),
            VecOp3::Mul => (0, 0b10011),
            VecOp3::Cmeq => (1, 0b10001),
            VecOp3::Cmgt => (0, 0b00110),
            VecOp3::Cmge => (0, 0b00111),
            VecOp3::Cmhi => (1, 0b00110),
            VecOp3::Cmhs => (1, 0b00111),
            VecOp3::Sqadd => (0, 0b00001),
            VecOp3::Uqadd => (1, 0b00001),
            VecOp3::Sqsub => (0, 0b00101),
            VecOp3::Uqsub => (1, 0b00101),
            VecOp3::Smax => (0, 0b01100),
            VecOp3::Umax => (1, 0b01100),
            VecOp3::Smin => (0, 0b01101),
            VecOp3::Umin => (1, 0b01101),
            VecOp3::Urhadd => (1, 0b00010),
            VecOp3::Sshl => (0, 0b01000),
            VecOp3::Ushl => (1, 0b01000),
            VecOp3::Sqrdmulh => (1, 0b10110),
            VecOp3::Addp => (0, 0b10111),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn three_same(
    sink: &mut impl Sink,
    q: u32,
    u: u32,
    size: u32,
    opcode: u32,
    rd: VReg,
    rn: VReg,
    rm: VReg,
) {
    put(
        sink,
        0x0e20_0400
            | (q << 30)
            | (u << 29)
            | (size << 22)
            | (rm.enc() << 16)
            | (opcode << 11)
            | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `op vd.T, vn.T, vm.T`. Precondition: `Mul` is not `2d`.
pub fn vec_rrr(sink: &mut impl Sink, op: VecOp3, arr: VecArr, rd: VReg, rn: VReg, rm: VReg) {
    assert!(!(op == VecOp3::Mul && arr == VecArr::D2), "no mul.2d");
    let (u, opcode) = op.u_opcode();
    three_same(sink, arr.q(), u, arr.size(), opcode, rd, rn, rm);
}

/// `smull{2}`/`umull{2}` `vd.<2T>, vn.<T>, vm.<T>`: products of the lanes of `src` (the
/// low half for `8b 4h 2s`, the high half — the `2` form — for `16b 8h 4s`), each twice
/// as wide.
pub fn vec_mull(sink: &mut impl Sink, signed: bool, src: VecArr, rd: VReg, rn: VReg, rm: VReg) {
    assert!(src.size() < 3, "no long multiply from 64-bit lanes");
    put(
        sink,
        0x0e20_c000
            | (src.q() << 30)
            | (u32::from(!signed) << 29)
            | (src.size() << 22)
            | (rm.enc() << 16)
            | rd_rn(rd.enc(), rn.enc()),
    );
}

/// NEON bitwise operations (on whole 64- or 128-bit vectors).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum VecLogicOp {
    /// `and`
    And,
    /// `bic`: `n & !m`
    Bic,
    /// `orr`
    Orr,
    /// `orn`: `n | !m`
    Orn,
    /// `eor`
    Eor,
    /// `bsl`: bitwise select, `d = (d & n) | (!d & m)`
    Bsl,
}

/// `op vd.16b, vn.16b, vm.16b` (or `.8b` when `q128` is false).
pub fn vec_logic(sink: &mut impl Sink, op: VecLogicOp, q128: bool, rd: VReg, rn: VReg, rm: VReg) {
    let (u, size) = match op {
        VecLogicOp::And => (0, 0),
        VecLogicOp::Bic => (0, 1),
        VecLogicOp::Orr => (0, 2),
        VecLogicOp::Orn => (0, 3),
        VecLogicOp::Eor => (1, 0),
        VecLogicOp::Bsl => (1, 1),
    };
    three_same(sink, q128 as u32, u, size, 0b00011, rd, rn, rm);
}

/// `mov vd.16b, vn.16b` (`orr vd, vn, vn`).
pub fn vec_mov(sink: &mut impl Sink, rd: VReg, rn: VReg) {
    vec_logic(sink, VecLogicOp::Orr, true, rd, rn, rn);
}

/// NEON floating-point three-same operations (`4s`/`2s`/`2d`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum VecFpOp3 {
    Fadd,
    Fsub,
    Fmul,
    Fdiv,
    /// NaN-propagating maximum (`-0 < +0`)
    Fmax,
    /// NaN-propagating minimum
    Fmin,
    /// lanes equal → all ones
    Fcmeq,
    /// `>=` → all ones (false when unordered)
    Fcmge,
    /// `>` → all ones (false when unordered)
    Fcmgt,
}

/// `op vd.T, vn.T, vm.T` with `T` one of `2s`, `4s`, `2d`.
pub fn vec_fp_rrr(sink: &mut impl Sink, op: VecFpOp3, arr: VecArr, rd: VReg, rn: VReg, rm: VReg) {
    assert!(matches!(arr, VecArr::S2 | VecArr::S4 | VecArr::D2));
    let sz = arr.size() & 1; // 0 for s, 1 for d
    let (u, hi, opcode) = match op {
        VecFpOp3::Fadd => (0, 0, 0b11010),
        VecFpOp3::Fsub => (0, 1, 0b11010),
        VecFpOp3::Fmul => (1, 0, 0b11011),
        VecFpOp3::Fdiv => (1, 0, 0b11111),
        VecFpOp3::Fmax => (0, 0, 0b11110),
        VecFpOp3::Fmin => (0, 1, 0b11110),
        VecFpOp3::Fcmeq => (0, 0, 0b11100),
        VecFpOp3::Fcmge => (1, 0, 0b11100),
        VecFpOp3::Fcmgt => (1, 1, 0b11100),
    };
    three_same(sink, arr.q(), u, (hi << 1) | sz, opcode, rd, rn, rm);
}

// ----- NEON: two-register miscellaneous and across lanes ------------------------------

fn two_misc(sink: &mut impl Sink, q: u32, u: u32, size: u32, opcode: u32, rd: VReg, rn: VReg) {
    put(
        sink,
        0x0e20_0800
            | (q << 30)
            | (u << 29)
            | (size << 22)
            | (opcode << 12)
            | rd_rn(rd.enc(), rn.enc()),
    );
}

/// NEON two-register operations (`op vd.T, vn.T'`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum VecMiscOp {
    /// `abs` (integer lanes)
    Abs,
    /// `cmlt #0`: negative lanes → all ones
    Cmlt0,
    /// `fabs`
    Fabs,
    /// `fneg`
    Fneg,
    /// `fsqrt`
    Fsqrt,
    /// `frintn`: round to nearest, ties to even
    Frintn,
    /// `frintm`: toward −∞
    Frintm,
    /// `frintp`: toward +∞
    Frintp,
    /// `frintz`: toward zero
    Frintz,
    /// `fcvtzs`: float → signed, saturating, NaN → 0
    Fcvtzs,
    /// `fcvtzu`: float → unsigned, saturating, NaN → 0
    Fcvtzu,
    /// `scvtf`: signed → float
    Scvtf,
    /// `ucvtf`: unsigned → float
    Ucvtf,
    /// `sqxtn{2}`: signed saturating narrow (`arr` is the narrow arrangement; `16b`/`8h`/`4s`
    /// write the upper half: the `2` form)
    Sqxtn,
    /// `sqxtun{2}`: signed → unsigned saturating narrow
    Sqxtun,
    /// `uqxtn{2}`: unsigned saturating narrow
    Uqxtn,
    /// `fcvtn`: `2d` → `2s` (upper half zeroed); `arr` is `2d`
    Fcvtn,
    /// `fcvtl`: `2s` → `2d`; `arr` is `2d`
    Fcvtl,
    /// `sxtl{2}` (`sshll #0`): sign-extend the lanes of `arr` (`8b` low half, `16b` high)
    Sxtl,
    /// `uxtl{2}` (`ushll #0`)
    Uxtl,
    /// `saddlp`: add adjacent pairs of signed lanes into lanes twice as wide (`arr` is
    /// the source arrangement)
    Saddlp,
    /// `uaddlp`: the unsigned form
    Uaddlp,
    /// `neg`: integer negation, wrapping
    Neg,
}

/// `op vd, vn` for a [`VecMiscOp`] (see each op for what `arr` names).
pub fn vec_misc(sink: &mut impl Sink, op: VecMiscOp, arr: VecArr, rd: VReg, rn: VReg) {
    use VecMiscOp::*;
    let sz = u32::from(arr.size() == 3);
    let (u, size, opcode) = match op {
        Sxtl | Uxtl => {
            let bits = 8u32 << arr.size();
            put(
                sink,
                0x0f00_a400
                    | (arr.q() << 30)
                    | (u32::from(op == Uxtl) << 29)
                    | (bits << 16)
                    | rd_rn(rd.enc(), rn.enc()),
            );
            return;
        }
        Fcvtn | Fcvtl => {
            let opcode = if op == Fcvtn { 0b10110 } else { 0b10111 };
            two_misc(sink, 0, 0, 1, opcode, rd, rn);
            return;
        }
        Abs => (0, arr.size(), 0b01011),
        Cmlt0 => (0, arr.size(), 0b01010),
        Fabs => (0, 0b10 | sz, 0b01111),
        Fneg => (1, 0b10 | sz, 0b01111),
        Fsqrt => (1, 0b10 | sz, 0b11111),
        Frintn => (0, sz, 0b11000),
        Frintm => (0, sz, 0b11001),
        Frintp => (0, 0b10 | sz, 0b11000),
        Frintz => (0, 0b10 | sz, 0b11001),
        Fcvtzs => (0, 0b10 | sz, 0b11011),
        Fcvtzu => (1, 0b10 | sz, 0b11011),
        Scvtf => (0, sz, 0b11101),
        Ucvtf => (1, sz, 0b11101),
        Sqxtn => (0, arr.size(), 0b10100),
        Sqxtun => (1, arr.size(), 0b10010),
        Uqxtn => (1, arr.size(), 0b10100),
        Saddlp => (0, arr.size(), 0b00010),
        Uaddlp => (1, arr.size(), 0b00010),
        Neg => (1, arr.size(), 0b01011),
    };
    two_misc(sink, arr.q(), u, size, opcode, rd, rn);
}

/// `umaxv b d, vn.16b`: the largest byte.
pub fn vec_umaxv(sink: &mut impl Sink, rd: VReg, rn: VReg) {
    put(sink, 0x6e30_a800 | rd_rn(rd.enc(), rn.enc()));
}

/// `mvn vd.16b, vn.16b` (`not`; `.8b` when `q128` is false).
pub fn vec_not(sink: &mut impl Sink, q128: bool, rd: VReg, rn: VReg) {
    two_misc(sink, q128 as u32, 1, 0, 0b00101, rd, rn);
}

/// `cnt vd.16b, vn.16b` (per-byte population count; `.8b` when `q128` is false).
pub fn vec_cnt(sink: &mut impl Sink, q128: bool, rd: VReg, rn: VReg) {
    two_misc(sink, q128 as u32, 0, 0, 0b00101, rd, rn);
}

/// `addv b/h/s d, vn.T`: sum of all lanes (`T` in `8b 16b 4h 8h 4s`).
pub fn vec_addv(sink: &mut impl Sink, arr: VecArr, rd: VReg, rn: VReg) {
    assert!(
        !matches!(arr, VecArr::S2 | VecArr::D2),
        "addv needs 4+ lanes"
    );
    put(
        sink,
        0x0e31_b800 | (arr.q() << 30) | (arr.size() << 22) | rd_rn(rd.enc(), rn.enc()),
    );
}

// ----- NEON: copies between lanes and registers ---------------------------------------

/// `imm5` for element `index` of size `elem`.
fn imm5(elem: ElemSize, index: u32) -> u32 {
    assert!(index < elem.lanes(), "lane {index} out of range");
    let s = elem.log2_bytes();
    ((index << (s + 1)) | (1 << s)) << 16
}

/// `dup vd.T, rn`: every lane of `arr` gets the low bits of the GPR (`w` register for
/// lanes up to 32 bits, `x` for `2d`).
pub fn dup_from_gpr(sink: &mut impl Sink, arr: VecArr, rd: VReg, rn: XRegOrZr) {
    let s = arr.size();
    put(
        sink,
        0x0e00_0c00 | (arr.q() << 30) | ((1 << s) << 16) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `dup vd.T, vn.E[index]` (`E` is the lane size of `arr`).
pub fn dup_from_elem(sink: &mut impl Sink, arr: VecArr, rd: VReg, rn: VReg, index: u32) {
    let elem = ElemSize::ALL[arr.size() as usize];
    put(
        sink,
        0x0e00_0400 | (arr.q() << 30) | imm5(elem, index) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `ins vd.E[index], rn` (printed `mov`): insert a GPR into one lane.
pub fn ins_from_gpr(sink: &mut impl Sink, elem: ElemSize, rd: VReg, index: u32, rn: XRegOrZr) {
    put(
        sink,
        0x4e00_1c00 | imm5(elem, index) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `ins vd.E[dst_index], vn.E[src_index]` (printed `mov`).
pub fn ins_from_elem(
    sink: &mut impl Sink,
    elem: ElemSize,
    rd: VReg,
    dst_index: u32,
    rn: VReg,
    src_index: u32,
) {
    assert!(src_index < elem.lanes());
    put(
        sink,
        0x6e00_0400
            | imm5(elem, dst_index)
            | ((src_index << elem.log2_bytes()) << 11)
            | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `umov rd, vn.E[index]`: zero-extending lane move (`w` register for b/h/s, `x` for d;
/// the s and d forms print as `mov`).
pub fn umov(sink: &mut impl Sink, elem: ElemSize, rd: XRegOrZr, rn: VReg, index: u32) {
    let q = u32::from(elem == ElemSize::D);
    put(
        sink,
        0x0e00_3c00 | (q << 30) | imm5(elem, index) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `smov rd, vn.E[index]`: sign-extending lane move into a `w` (`size` S32; b and h only)
/// or `x` register (b, h, s).
pub fn smov(sink: &mut impl Sink, size: Size, elem: ElemSize, rd: XRegOrZr, rn: VReg, index: u32) {
    assert!(
        elem != ElemSize::D && (elem != ElemSize::S || size.is64()),
        "invalid smov"
    );
    put(
        sink,
        0x0e00_2c00 | (size.sf() << 30) | imm5(elem, index) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `movi vd.2d, #0`: zero the whole register.
pub fn movi_zero(sink: &mut impl Sink, rd: VReg) {
    put(sink, 0x6f00_e400 | rd.enc());
}

/// `movi vd.16b, #imm8` (or `.8b` when `q128` is false): every byte gets `imm8`.
pub fn movi_bytes(sink: &mut impl Sink, q128: bool, rd: VReg, imm8: u8) {
    let abc = u32::from(imm8 >> 5) << 16;
    let defgh = u32::from(imm8 & 31) << 5;
    put(
        sink,
        0x0f00_e400 | ((q128 as u32) << 30) | abc | defgh | rd.enc(),
    );
}

/// `ext vd.16b, vn.16b, vm.16b, #index` (bytes `index..` of `vm:vn`); `.8b` when `q128`
/// is false (`index < 8`).
pub fn ext(sink: &mut impl Sink, q128: bool, rd: VReg, rn: VReg, rm: VReg, index: u32) {
    assert!(index < if q128 { 16 } else { 8 });
    put(
        sink,
        0x2e00_0000
            | ((q128 as u32) << 30)
            | (rm.enc() << 16)
            | (index << 11)
            | rd_rn(rd.enc(), rn.enc()),
    );
}

/// `tbl vd.16b, { vn.16b }, vm.16b`: byte table lookup (out-of-range indices give 0).
pub fn tbl(sink: &mut impl Sink, rd: VReg, rn: VReg, rm: VReg) {
    put(
        sink,
        0x4e00_0000 | (rm.enc() << 16) | rd_rn(rd.enc(), rn.enc()),
    );
}

/// NEON permutes.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)]
pub enum VecPermOp {
    Uzp1 = 0b001,
    Trn1 = 0b010,
    Zip1 = 0b011,
    Uzp2 = 0b101,
    Trn2 = 0b110,
    Zip2 = 0b111,
}

/// `op vd.T, vn.T, vm.T` (`uzp1`, `zip1`, …; not `1d`).
pub fn vec_perm(sink: &mut impl Sink, op: VecPermOp, arr: VecArr, rd: VReg, rn: VReg, rm: VReg) {
    put(
        sink,
        0x0e00_0800
            | (arr.q() << 30)
            | (arr.size() << 22)
            | (rm.enc() << 16)
            | ((op as u32) << 12)
            | rd_rn(rd.enc(), rn.enc()),
    );
}
