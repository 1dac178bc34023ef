//! x86_64 instruction encoding over physical registers.
//!
//! Owns: addressing modes ([`Amode`]), register-or-memory operands ([`GprMem`],
//! [`XmmMem`]), condition codes ([`Cc`]), and one function per instruction form, each
//! writing the complete instruction through a [`CodeSink<X64LabelUse>`]:
//!
//! - [`rex`]: the shared prefix / REX / opcode / ModRM / SIB / displacement / immediate
//!   emitter that every form goes through;
//! - [`gpr`]: integer, control-flow and miscellaneous forms;
//! - [`sse`]: SSE, SSE2, SSSE3 and SSE4.1 forms.
//!
//! Invariants:
//! - Encoders never allocate and never panic for operands they accept; the few invalid
//!   combinations that the types do not rule out (e.g. an 8-bit `imul`) are documented
//!   preconditions checked by `debug_assert!`.
//! - A memory operand that is [`Amode::RipLabel`] makes the encoder write a zero disp32 and,
//!   after the whole instruction (including any immediate) is written, call
//!   `use_label_at_offset(instruction_start, label, X64LabelUse::PCRel32 { .. })` with the
//!   field position and trailing immediate size. Branches to labels likewise record
//!   `X64LabelUse::JmpRel32`.
//! - Encoders do not record traps, except [`gpr::ud2`]; a caller that emits an instruction
//!   that can fault (a load that may hit a guard page, `div`) calls
//!   [`CodeSink::add_trap`] itself immediately before.
//!
//! [`CodeSink<X64LabelUse>`]: crate::machinst::CodeSink
//! [`CodeSink::add_trap`]: crate::machinst::CodeSink::add_trap

pub mod gpr;
pub mod rex;
pub mod sse;

#[cfg(test)]
mod tests;

use super::regs::{Gpr, Xmm};
use crate::machinst::MachLabel;

/// The scale of an index register.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Scale {
    /// ×1
    One = 0,
    /// ×2
    Two = 1,
    /// ×4
    Four = 2,
    /// ×8
    Eight = 3,
}

/// An index register with its scale. `rsp` cannot be an index (its SIB encoding means "no
/// index"), so construction goes through [`Index::new`].
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Index {
    reg: Gpr,
    scale: Scale,
}

impl Index {
    /// `reg * scale`, or `None` if `reg` is `rsp`.
    pub const fn new(reg: Gpr, scale: Scale) -> Option<Index> {
        match reg {
            Gpr::Rsp => None,
            _ => Some(Index { reg, scale }),
        }
    }

    /// The index register (never `rsp`).
    pub const fn reg(self) -> Gpr {
        self.reg
    }

    /// The scale.
    pub const fn scale(self) -> Scale {
        self.scale
    }
}

/// A memory addressing mode.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Amode {
    /// `[base + index * scale + disp]`. Any base register works (the encoder handles the
    /// `rsp`/`r12` SIB and `rbp`/`r13` displacement special cases); a disp8 is used when the
    /// displacement fits, else a disp32.
    Mem {
        /// Base register.
        base: Gpr,
        /// Optional scaled index.
        index: Option<Index>,
        /// Signed displacement.
        disp: i32,
    },
    /// `[rip + label]`: the address of a label (e.g. a constant-pool entry), patched through
    /// an [`X64LabelUse::PCRel32`](super::label_use::X64LabelUse::PCRel32) use.
    RipLabel(MachLabel),
}

impl Amode {
    /// `[base + disp]`.
    pub const fn base_disp(base: Gpr, disp: i32) -> Amode {
        Amode::Mem {
            base,
            index: None,
            disp,
        }
    }

    /// `[base + index * scale + disp]`, or `None` if `index` is `rsp`.
    pub const fn base_index(base: Gpr, index: Gpr, scale: Scale, disp: i32) -> Option<Amode> {
        match Index::new(index, scale) {
            Some(i) => Some(Amode::Mem {
                base,
                index: Some(i),
                disp,
            }),
            None => None,
        }
    }

    /// `[rip + label]`.
    pub const fn rip(label: MachLabel) -> Amode {
        Amode::RipLabel(label)
    }
}

/// A general-purpose register or memory operand (the `r/m` operand of an instruction).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum GprMem<'a> {
    /// A register.
    Gpr(Gpr),
    /// A memory location.
    Mem(&'a Amode),
}

impl From<Gpr> for GprMem<'_> {
    fn from(r: Gpr) -> Self {
        GprMem::Gpr(r)
    }
}

impl<'a> From<&'a Amode> for GprMem<'a> {
    fn from(a: &'a Amode) -> Self {
        GprMem::Mem(a)
    }
}

/// An SSE register or memory operand (the `xmm/m` operand of an instruction).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum XmmMem<'a> {
    /// A register.
    Xmm(Xmm),
    /// A memory location.
    Mem(&'a Amode),
}

impl From<Xmm> for XmmMem<'_> {
    fn from(r: Xmm) -> Self {
        XmmMem::Xmm(r)
    }
}

impl<'a> From<&'a Amode> for XmmMem<'a> {
    fn from(a: &'a Amode) -> Self {
        XmmMem::Mem(a)
    }
}

/// An x86 condition code, numbered by its encoding (the low nibble of `jcc`/`setcc`/`cmovcc`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Cc {
    /// Overflow (OF=1).
    O = 0,
    /// No overflow (OF=0).
    No = 1,
    /// Below, unsigned `<` (CF=1).
    B = 2,
    /// Above or equal, unsigned `>=` (CF=0).
    Ae = 3,
    /// Equal / zero (ZF=1).
    E = 4,
    /// Not equal / not zero (ZF=0).
    Ne = 5,
    /// Below or equal, unsigned `<=` (CF=1 or ZF=1).
    Be = 6,
    /// Above, unsigned `>` (CF=0 and ZF=0).
    A = 7,
    /// Sign (SF=1).
    S = 8,
    /// No sign (SF=0).
    Ns = 9,
    /// Parity (PF=1; unordered after `ucomis*`).
    P = 10,
    /// No parity (PF=0).
    Np = 11,
    /// Less, signed `<` (SF≠OF).
    L = 12,
    /// Greater or equal, signed `>=` (SF=OF).
    Ge = 13,
    /// Less or equal, signed `<=` (ZF=1 or SF≠OF).
    Le = 14,
    /// Greater, signed `>` (ZF=0 and SF=OF).
    G = 15,
}

impl Cc {
    /// All sixteen condition codes in encoding order.
    pub const ALL: [Cc; 16] = [
        Cc::O,
        Cc::No,
        Cc::B,
        Cc::Ae,
        Cc::E,
        Cc::Ne,
        Cc::Be,
        Cc::A,
        Cc::S,
        Cc::Ns,
        Cc::P,
        Cc::Np,
        Cc::L,
        Cc::Ge,
        Cc::Le,
        Cc::G,
    ];

    /// The 4-bit encoding.
    pub const fn enc(self) -> u8 {
        self as u8
    }

    /// The condition that holds exactly when `self` does not (flips the low bit).
    pub const fn invert(self) -> Cc {
        Cc::ALL[(self.enc() ^ 1) as usize]
    }

    /// The mnemonic suffix (`"e"`, `"ne"`, `"b"`, …).
    pub const fn suffix(self) -> &'static str {
        const S: [&str; 16] = [
            "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g",
        ];
        S[self.enc() as usize]
    }
}
