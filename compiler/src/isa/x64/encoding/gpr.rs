//! Integer, control-flow and miscellaneous instruction forms.
//!
//! Naming: `dst` is the operand written (or the left operand of a compare), `src` the one
//! read. Sizes follow [`OperandSize`]: 16-bit forms get a `66` prefix, 64-bit forms REX.W,
//! and 8-bit forms force a REX prefix when a register operand is `spl`/`bpl`/`sil`/`dil`.
//! Immediates are given as `i32` and truncated to the operand size (8 or 16 bits) where the
//! instruction's immediate is narrower; 64-bit forms sign-extend their 32-bit immediate.

use super::rex::{emit_opreg, emit_plain, emit_rm, Imm, Op, Rm};
use super::{Amode, Cc, GprMem};
use crate::ir::TrapCode;
use crate::isa::x64::label_use::{X64LabelUse, JCC_FIELD_OFFSET, JMP_FIELD_OFFSET};
use crate::isa::x64::regs::{Gpr, OperandSize};
use crate::machinst::{CodeSink, MachLabel};

/// A sink for x86_64 code.
pub trait Sink: CodeSink<X64LabelUse> {}
impl<T: CodeSink<X64LabelUse>> Sink for T {}

#[inline]
fn is64(size: OperandSize) -> bool {
    size == OperandSize::S64
}

#[inline]
fn is16(size: OperandSize) -> bool {
    size == OperandSize::S16
}

#[inline]
fn is8(size: OperandSize) -> bool {
    size == OperandSize::S8
}

/// Opcode selected by size: `op8` for 8-bit, `op` (with `66` for 16-bit) otherwise.
#[inline]
fn sized(size: OperandSize, op8: u8, op: u8) -> Op {
    if is8(size) {
        Op::base(op8)
    } else {
        Op::base(op).p66_if(is16(size))
    }
}

/// Does an 8-bit access to this operand need a forced REX?
#[inline]
fn byte_rex(size: OperandSize, rm: GprMem<'_>) -> bool {
    match rm {
        GprMem::Gpr(r) => is8(size) && r.byte_needs_rex(),
        GprMem::Mem(_) => false,
    }
}

#[inline]
fn rm_of(rm: GprMem<'_>) -> Rm<'_> {
    match rm {
        GprMem::Gpr(r) => Rm::Reg(r.enc()),
        GprMem::Mem(a) => Rm::Mem(a),
    }
}

/// The full-size immediate of a sized instruction (`ib`, `iw` or `id`).
#[inline]
fn sized_imm(size: OperandSize, imm: i32) -> Imm {
    match size {
        OperandSize::S8 => Imm::I8(imm as u8),
        OperandSize::S16 => Imm::I16(imm as u16),
        _ => Imm::I32(imm as u32),
    }
}

/// `imm` as the operation sees it (truncated to 8/16 bits), if it fits a sign-extended imm8.
#[inline]
fn as_simm8(size: OperandSize, imm: i32) -> Option<u8> {
    let v = match size {
        OperandSize::S16 => imm as i16 as i32,
        _ => imm,
    };
    i8::try_from(v).ok().map(|b| b as u8)
}

/// Two-operand integer ALU operations, numbered by their `/digit` (and opcode row).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum AluOp {
    /// `add`
    Add = 0,
    /// `or`
    Or = 1,
    /// `adc` (add with carry)
    Adc = 2,
    /// `sbb` (subtract with borrow)
    Sbb = 3,
    /// `and`
    And = 4,
    /// `sub`
    Sub = 5,
    /// `xor`
    Xor = 6,
    /// `cmp` (flags only)
    Cmp = 7,
}

/// `op dst, src` with a register destination and a register or memory source
/// (`02`/`03 /r` family).
pub fn alu_rmr(sink: &mut impl Sink, op: AluOp, size: OperandSize, dst: Gpr, src: GprMem<'_>) {
    let base = (op as u8) * 8;
    let force = (is8(size) && dst.byte_needs_rex()) || byte_rex(size, src);
    emit_rm(
        sink,
        sized(size, base + 2, base + 3),
        is64(size),
        force,
        dst.enc(),
        rm_of(src),
        Imm::None,
    );
}

/// `op [mem], src` with a memory destination (`00`/`01 /r` family).
pub fn alu_mr(sink: &mut impl Sink, op: AluOp, size: OperandSize, dst: &Amode, src: Gpr) {
    let base = (op as u8) * 8;
    let force = is8(size) && src.byte_needs_rex();
    emit_rm(
        sink,
        sized(size, base, base + 1),
        is64(size),
        force,
        src.enc(),
        Rm::Mem(dst),
        Imm::None,
    );
}

/// `op dst, imm` with a register or memory destination: `83 /d ib` when the immediate fits
/// a sign-extended byte (16/32/64-bit), else `81 /d iw/id`; `80 /d ib` for 8-bit.
pub fn alu_ri(sink: &mut impl Sink, op: AluOp, size: OperandSize, dst: GprMem<'_>, imm: i32) {
    let digit = op as u8;
    let force = byte_rex(size, dst);
    let (opc, imm) = if is8(size) {
        (Op::base(0x80), Imm::I8(imm as u8))
    } else if let Some(b) = as_simm8(size, imm) {
        (Op::base(0x83).p66_if(is16(size)), Imm::I8(b))
    } else {
        (Op::base(0x81).p66_if(is16(size)), sized_imm(size, imm))
    };
    emit_rm(sink, opc, is64(size), force, digit, rm_of(dst), imm);
}

/// `test a, b` (`84`/`85 /r`): flags from `a & b`.
pub fn test_rr(sink: &mut impl Sink, size: OperandSize, a: Gpr, b: Gpr) {
    let force = is8(size) && (a.byte_needs_rex() || b.byte_needs_rex());
    emit_rm(
        sink,
        sized(size, 0x84, 0x85),
        is64(size),
        force,
        b.enc(),
        Rm::Reg(a.enc()),
        Imm::None,
    );
}

/// `test dst, imm` (`F6 /0 ib`, `F7 /0 iw/id`).
pub fn test_ri(sink: &mut impl Sink, size: OperandSize, dst: GprMem<'_>, imm: i32) {
    let force = byte_rex(size, dst);
    emit_rm(
        sink,
        sized(size, 0xF6, 0xF7),
        is64(size),
        force,
        0,
        rm_of(dst),
        sized_imm(size, imm),
    );
}

/// Two-operand `imul dst, src` (`0F AF /r`). Precondition: `size` is not 8-bit.
pub fn imul_rmr(sink: &mut impl Sink, size: OperandSize, dst: Gpr, src: GprMem<'_>) {
    debug_assert!(!is8(size), "no 8-bit two-operand imul");
    let op = Op::of(0xAF).p66_if(is16(size));
    emit_rm(
        sink,
        op,
        is64(size),
        false,
        dst.enc(),
        rm_of(src),
        Imm::None,
    );
}

/// Three-operand `imul dst, src, imm` (`6B /r ib` when the immediate fits a sign-extended
/// byte, else `69 /r iw/id`). Precondition: `size` is not 8-bit.
pub fn imul_rmri(sink: &mut impl Sink, size: OperandSize, dst: Gpr, src: GprMem<'_>, imm: i32) {
    debug_assert!(!is8(size), "no 8-bit three-operand imul");
    let (op, imm) = match as_simm8(size, imm) {
        Some(b) => (0x6B, Imm::I8(b)),
        None => (0x69, sized_imm(size, imm)),
    };
    emit_rm(
        sink,
        Op::base(op).p66_if(is16(size)),
        is64(size),
        false,
        dst.enc(),
        rm_of(src),
        imm,
    );
}

/// One-operand group-3 operations (`F6`/`F7 /digit`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum UnaryOp {
    /// `not`: bitwise complement in place.
    Not = 2,
    /// `neg`: two's-complement negation in place.
    Neg = 3,
    /// `mul`: unsigned `rdx:rax = rax * src` (8-bit: `ax = al * src`).
    Mul = 4,
    /// `imul`: signed `rdx:rax = rax * src`.
    Imul = 5,
    /// `div`: unsigned `rax = rdx:rax / src`, `rdx = rdx:rax % src` (8-bit: `ax`). Faults on
    /// zero or an overflowing quotient.
    Div = 6,
    /// `idiv`: signed division, like `div`.
    Idiv = 7,
}

/// A group-3 one-operand instruction on a register or memory operand.
pub fn unary(sink: &mut impl Sink, op: UnaryOp, size: OperandSize, src: GprMem<'_>) {
    let force = byte_rex(size, src);
    emit_rm(
        sink,
        sized(size, 0xF6, 0xF7),
        is64(size),
        force,
        op as u8,
        rm_of(src),
        Imm::None,
    );
}

/// Sign-extend the accumulator into the high half for a division: 8-bit `cbw`
/// (`ax = sext al`), 16-bit `cwd` (`dx:ax`), 32-bit `cdq` (`edx:eax`), 64-bit `cqo` (`rdx:rax`).
pub fn sign_extend_rax(sink: &mut impl Sink, size: OperandSize) {
    match size {
        OperandSize::S8 => emit_plain(sink, Op::base(0x98).p66(), false),
        OperandSize::S16 => emit_plain(sink, Op::base(0x99).p66(), false),
        OperandSize::S32 => emit_plain(sink, Op::base(0x99), false),
        OperandSize::S64 => emit_plain(sink, Op::base(0x99), true),
    }
}

/// Shift and rotate operations (`C0`/`C1`/`D0`–`D3 /digit`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ShiftOp {
    /// Rotate left.
    Rol = 0,
    /// Rotate right.
    Ror = 1,
    /// Shift left.
    Shl = 4,
    /// Logical shift right.
    Shr = 5,
    /// Arithmetic shift right.
    Sar = 7,
}

/// `op dst, cl` (`D2`/`D3 /d`): shift count in `cl` (masked by the CPU to 5/6 bits).
pub fn shift_cl(sink: &mut impl Sink, op: ShiftOp, size: OperandSize, dst: GprMem<'_>) {
    let force = byte_rex(size, dst);
    emit_rm(
        sink,
        sized(size, 0xD2, 0xD3),
        is64(size),
        force,
        op as u8,
        rm_of(dst),
        Imm::None,
    );
}

/// `op dst, imm` (`C0`/`C1 /d ib`), or the short `D0`/`D1 /d` by-one form when `imm == 1`.
pub fn shift_imm(sink: &mut impl Sink, op: ShiftOp, size: OperandSize, dst: GprMem<'_>, imm: u8) {
    let force = byte_rex(size, dst);
    let (opc, imm) = if imm == 1 {
        (sized(size, 0xD0, 0xD1), Imm::None)
    } else {
        (sized(size, 0xC0, 0xC1), Imm::I8(imm))
    };
    emit_rm(sink, opc, is64(size), force, op as u8, rm_of(dst), imm);
}

/// `lea dst, [amode]` (`8D /r`). Precondition: `size` is not 8-bit.
pub fn lea(sink: &mut impl Sink, size: OperandSize, dst: Gpr, src: &Amode) {
    debug_assert!(!is8(size), "no 8-bit lea");
    emit_rm(
        sink,
        Op::base(0x8D).p66_if(is16(size)),
        is64(size),
        false,
        dst.enc(),
        Rm::Mem(src),
        Imm::None,
    );
}

/// `mov dst, src` between registers (`88`/`89 /r`). A 32-bit move zero-extends into 64 bits.
pub fn mov_rr(sink: &mut impl Sink, size: OperandSize, dst: Gpr, src: Gpr) {
    let force = is8(size) && (dst.byte_needs_rex() || src.byte_needs_rex());
    emit_rm(
        sink,
        sized(size, 0x88, 0x89),
        is64(size),
        force,
        src.enc(),
        Rm::Reg(dst.enc()),
        Imm::None,
    );
}

/// `mov r32, imm32` (`B8+r id`): writes `imm` zero-extended to 64 bits.
pub fn mov_r32_imm(sink: &mut impl Sink, dst: Gpr, imm: u32) {
    emit_opreg(sink, Op::base(0xB8), false, dst.enc(), Imm::I32(imm), None);
}

/// `mov r64, simm32` (`REX.W C7 /0 id`): writes `imm` sign-extended to 64 bits.
pub fn mov_r64_simm32(sink: &mut impl Sink, dst: Gpr, imm: i32) {
    emit_rm(
        sink,
        Op::base(0xC7),
        true,
        false,
        0,
        Rm::Reg(dst.enc()),
        Imm::I32(imm as u32),
    );
}

/// `movabs r64, imm64` (`REX.W B8+r io`).
pub fn movabs(sink: &mut impl Sink, dst: Gpr, imm: u64) {
    emit_opreg(sink, Op::base(0xB8), true, dst.enc(), Imm::None, Some(imm));
}

/// Materialize a 64-bit constant with the shortest form: `mov r32, imm32` if it fits
/// zero-extended, `mov r64, simm32` if it fits sign-extended, else `movabs`.
pub fn mov_imm64(sink: &mut impl Sink, dst: Gpr, imm: u64) {
    if let Ok(v) = u32::try_from(imm) {
        mov_r32_imm(sink, dst, v);
    } else if let Ok(v) = i32::try_from(imm as i64) {
        mov_r64_simm32(sink, dst, v);
    } else {
        movabs(sink, dst, imm);
    }
}

/// Load `mov dst, [src]` (`8A`/`8B /r`). 8- and 16-bit loads leave the rest of `dst`
/// unchanged (use [`movzx`] for a zero-extending load).
pub fn mov_load(sink: &mut impl Sink, size: OperandSize, dst: Gpr, src: &Amode) {
    let force = is8(size) && dst.byte_needs_rex();
    emit_rm(
        sink,
        sized(size, 0x8A, 0x8B),
        is64(size),
        force,
        dst.enc(),
        Rm::Mem(src),
        Imm::None,
    );
}

/// Store `mov [dst], src` (`88`/`89 /r`).
pub fn mov_store(sink: &mut impl Sink, size: OperandSize, dst: &Amode, src: Gpr) {
    let force = is8(size) && src.byte_needs_rex();
    emit_rm(
        sink,
        sized(size, 0x88, 0x89),
        is64(size),
        force,
        src.enc(),
        Rm::Mem(dst),
        Imm::None,
    );
}

/// Store an immediate `mov [dst], imm` (`C6 /0 ib`, `C7 /0 iw/id`; 64-bit sign-extends).
pub fn mov_store_imm(sink: &mut impl Sink, size: OperandSize, dst: &Amode, imm: i32) {
    emit_rm(
        sink,
        sized(size, 0xC6, 0xC7),
        is64(size),
        false,
        0,
        Rm::Mem(dst),
        sized_imm(size, imm),
    );
}

/// Source and destination widths of an extending move.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ExtMode {
    /// 8 → 32 bits.
    B2L,
    /// 8 → 64 bits.
    B2Q,
    /// 16 → 32 bits.
    W2L,
    /// 16 → 64 bits.
    W2Q,
    /// 32 → 64 bits.
    L2Q,
}

impl ExtMode {
    fn src_is_byte(self) -> bool {
        matches!(self, ExtMode::B2L | ExtMode::B2Q)
    }
    fn w(self) -> bool {
        matches!(self, ExtMode::B2Q | ExtMode::W2Q)
    }
}

/// Zero-extending move (`movzx`: `0F B6`/`0F B7 /r`). `L2Q` is `mov r32, r/m32` (`8B /r`),
/// which zero-extends implicitly.
pub fn movzx(sink: &mut impl Sink, mode: ExtMode, dst: Gpr, src: GprMem<'_>) {
    let force = mode.src_is_byte() && byte_rex(OperandSize::S8, src);
    let op = match mode {
        ExtMode::B2L | ExtMode::B2Q => Op::of(0xB6),
        ExtMode::W2L | ExtMode::W2Q => Op::of(0xB7),
        ExtMode::L2Q => Op::base(0x8B),
    };
    emit_rm(sink, op, mode.w(), force, dst.enc(), rm_of(src), Imm::None);
}

/// Sign-extending move (`movsx`: `REX? 0F BE`/`0F BF /r`; `L2Q` is `movsxd`, `REX.W 63 /r`).
pub fn movsx(sink: &mut impl Sink, mode: ExtMode, dst: Gpr, src: GprMem<'_>) {
    let force = mode.src_is_byte() && byte_rex(OperandSize::S8, src);
    let (op, w) = match mode {
        ExtMode::B2L | ExtMode::B2Q => (Op::of(0xBE), mode.w()),
        ExtMode::W2L | ExtMode::W2Q => (Op::of(0xBF), mode.w()),
        ExtMode::L2Q => (Op::base(0x63), true),
    };
    emit_rm(sink, op, w, force, dst.enc(), rm_of(src), Imm::None);
}

/// `movsxd dst, src` (`REX.W 63 /r`): sign-extend 32 → 64 bits.
pub fn movsxd(sink: &mut impl Sink, dst: Gpr, src: GprMem<'_>) {
    movsx(sink, ExtMode::L2Q, dst, src);
}

/// `setcc dst8` (`0F 90+cc /0`): writes 0 or 1 to the low byte of `dst`.
pub fn setcc(sink: &mut impl Sink, cc: Cc, dst: Gpr) {
    emit_rm(
        sink,
        Op::of(0x90 + cc.enc()),
        false,
        dst.byte_needs_rex(),
        0,
        Rm::Reg(dst.enc()),
        Imm::None,
    );
}

/// `cmovcc dst, src` (`0F 40+cc /r`). Precondition: `size` is not 8-bit. A 32-bit cmov
/// zero-extends `dst` even when the condition is false.
pub fn cmov(sink: &mut impl Sink, cc: Cc, size: OperandSize, dst: Gpr, src: GprMem<'_>) {
    debug_assert!(!is8(size), "no 8-bit cmov");
    let op = Op::of(0x40 + cc.enc()).p66_if(is16(size));
    emit_rm(
        sink,
        op,
        is64(size),
        false,
        dst.enc(),
        rm_of(src),
        Imm::None,
    );
}

/// `jmp label` (`E9 rel32`), recorded as `JmpRel32 { field_offset: 1 }`.
pub fn jmp_label(sink: &mut impl Sink, label: MachLabel) {
    let start = sink.cur_offset();
    sink.put1(0xE9);
    sink.put4(0);
    sink.use_label_at_offset(
        start,
        label,
        X64LabelUse::JmpRel32 {
            field_offset: JMP_FIELD_OFFSET,
        },
    );
}

/// `jcc label` (`0F 80+cc rel32`), recorded as `JmpRel32 { field_offset: 2 }`.
pub fn jcc_label(sink: &mut impl Sink, cc: Cc, label: MachLabel) {
    let start = sink.cur_offset();
    sink.put1(0x0F);
    sink.put1(0x80 + cc.enc());
    sink.put4(0);
    sink.use_label_at_offset(
        start,
        label,
        X64LabelUse::JmpRel32 {
            field_offset: JCC_FIELD_OFFSET,
        },
    );
}

/// `call label` (`E8 rel32`), recorded as `JmpRel32 { field_offset: 1 }`.
pub fn call_label(sink: &mut impl Sink, label: MachLabel) {
    let start = sink.cur_offset();
    sink.put1(0xE8);
    sink.put4(0);
    sink.use_label_at_offset(
        start,
        label,
        X64LabelUse::JmpRel32 {
            field_offset: JMP_FIELD_OFFSET,
        },
    );
}

/// `call rel32` with an explicit displacement (from the end of the instruction), e.g. a
/// placeholder for a relocation at `cur_offset() + 1`.
pub fn call_rel32(sink: &mut impl Sink, disp: i32) {
    sink.put1(0xE8);
    sink.put4(disp as u32);
}

/// `jmp rel32` with an explicit displacement (from the end of the instruction).
pub fn jmp_rel32(sink: &mut impl Sink, disp: i32) {
    sink.put1(0xE9);
    sink.put4(disp as u32);
}

/// Indirect `call r/m64` (`FF /2`).
pub fn call_ind(sink: &mut impl Sink, target: GprMem<'_>) {
    emit_rm(
        sink,
        Op::base(0xFF),
        false,
        false,
        2,
        rm_of(target),
        Imm::None,
    );
}

/// Indirect `jmp r/m64` (`FF /4`).
pub fn jmp_ind(sink: &mut impl Sink, target: GprMem<'_>) {
    emit_rm(
        sink,
        Op::base(0xFF),
        false,
        false,
        4,
        rm_of(target),
        Imm::None,
    );
}

/// `ret` (`C3`).
pub fn ret(sink: &mut impl Sink) {
    sink.put1(0xC3);
}

/// `push r64` (`50+r`).
pub fn push(sink: &mut impl Sink, src: Gpr) {
    emit_opreg(sink, Op::base(0x50), false, src.enc(), Imm::None, None);
}

/// `pop r64` (`58+r`).
pub fn pop(sink: &mut impl Sink, dst: Gpr) {
    emit_opreg(sink, Op::base(0x58), false, dst.enc(), Imm::None, None);
}

/// `ud2` (`0F 0B`), preceded by a trap record with `code` at its offset.
pub fn ud2(sink: &mut impl Sink, code: TrapCode) {
    sink.add_trap(code);
    sink.put1(0x0F);
    sink.put1(0x0B);
}

/// `int3` (`CC`), a debugger breakpoint.
pub fn int3(sink: &mut impl Sink) {
    sink.put1(0xCC);
}

/// Bit-scan and bit-count operations.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum BitOp {
    /// `bsr` (`0F BD`): index of the highest set bit; `dst` undefined and ZF=1 if `src` is 0.
    Bsr,
    /// `bsf` (`0F BC`): index of the lowest set bit; `dst` undefined and ZF=1 if `src` is 0.
    Bsf,
    /// `lzcnt` (`F3 0F BD`, LZCNT flag).
    Lzcnt,
    /// `tzcnt` (`F3 0F BC`, BMI1 flag).
    Tzcnt,
    /// `popcnt` (`F3 0F B8`, POPCNT flag).
    Popcnt,
}

/// `op dst, src` for a [`BitOp`]. Precondition: `size` is not 8-bit.
pub fn bit_op(sink: &mut impl Sink, op: BitOp, size: OperandSize, dst: Gpr, src: GprMem<'_>) {
    debug_assert!(!is8(size), "no 8-bit {op:?}");
    let opc = match op {
        BitOp::Bsr => Op::of(0xBD),
        BitOp::Bsf => Op::of(0xBC),
        BitOp::Lzcnt => Op::of(0xBD).rep(0xF3),
        BitOp::Tzcnt => Op::of(0xBC).rep(0xF3),
        BitOp::Popcnt => Op::of(0xB8).rep(0xF3),
    };
    emit_rm(
        sink,
        opc.p66_if(is16(size)),
        is64(size),
        false,
        dst.enc(),
        rm_of(src),
        Imm::None,
    );
}

/// `xchg a, b` between registers (`86`/`87 /r`).
pub fn xchg_rr(sink: &mut impl Sink, size: OperandSize, a: Gpr, b: Gpr) {
    let force = is8(size) && (a.byte_needs_rex() || b.byte_needs_rex());
    emit_rm(
        sink,
        sized(size, 0x86, 0x87),
        is64(size),
        force,
        b.enc(),
        Rm::Reg(a.enc()),
        Imm::None,
    );
}

/// The recommended multi-byte NOPs, by length 1..=9.
const NOPS: [&[u8]; 9] = [
    &[0x90],
    &[0x66, 0x90],
    &[0x0F, 0x1F, 0x00],
    &[0x0F, 0x1F, 0x40, 0x00],
    &[0x0F, 0x1F, 0x44, 0x00, 0x00],
    &[0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00],
    &[0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00],
    &[0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

/// Emit exactly `len` bytes of NOPs, as few instructions as possible (at most 9 bytes
/// each), e.g. for alignment padding.
pub fn nop(sink: &mut impl Sink, mut len: usize) {
    while len > 0 {
        let n = len.min(NOPS.len());
        sink.put_data(NOPS[n - 1]);
        len -= n;
    }
}
