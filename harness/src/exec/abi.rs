//! Where each argument and result of a signature lives under Kiln's calling convention
//! (`docs/abi.md`), computed once per function when an image is loaded.
//!
//! Invariants: integer-class and float/vector-class registers are assigned independently,
//! in parameter order; stack slots are 8 bytes (vectors: 16, aligned to 16) from the stack
//! pointer at the call and the stack-argument area is a multiple of 16 bytes; return-area
//! results are stored in result order, each at the next offset aligned to its slot size
//! (8 bytes for scalars, 16 for vectors); the hidden return-area pointer exists exactly when
//! some result is in the return area.

use super::Arch;
use kiln::ir::{Signature, Type};

/// Integer-class argument registers available (x86_64: `rdi rsi rdx rcx r8 r9`; AArch64:
/// `x0`–`x7`).
pub(super) const fn int_arg_regs(arch: Arch) -> u8 {
    match arch {
        Arch::X86_64 => 6,
        Arch::Aarch64 => 8,
    }
}

/// Float/vector-class argument registers (`xmm0`–`xmm7` / `v0`–`v7`).
pub(super) const VEC_ARG_REGS: u8 = 8;

/// Where one value lives.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(super) enum Loc {
    /// The `n`th integer-class argument register (for results: `rax rdx` / `x0 x1`).
    Int(u8),
    /// The `n`th vector register.
    Vec(u8),
    /// Arguments: byte offset from the stack pointer at the call. Results: offset in the
    /// return area.
    Mem(u32),
}

/// The placement of a whole signature.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Plan {
    /// Per parameter.
    pub args: Vec<Loc>,
    /// Per result.
    pub rets: Vec<Loc>,
    /// Bytes of stack arguments (a multiple of 16).
    pub stack_bytes: u32,
    /// Bytes of the return area (a multiple of 16); 0 when there is none.
    pub ret_area_bytes: u32,
}

impl Plan {
    /// Does the callee receive a return-area pointer?
    pub fn has_ret_area(&self) -> bool {
        self.rets.iter().any(|l| matches!(l, Loc::Mem(_)))
    }
}

/// Slot size (and alignment) of a value in memory.
fn slot(ty: Type) -> u32 {
    if ty.is_vector() {
        16
    } else {
        8
    }
}

/// Is `ty` in the float/vector class?
pub(super) fn is_vec_class(ty: Type) -> bool {
    ty.is_vector() || ty.is_float()
}

/// Place `sig` for `arch`.
pub(super) fn plan(arch: Arch, sig: &Signature) -> Plan {
    let mut rets = Vec::with_capacity(sig.returns.len());
    let (mut ni, mut nv, mut off) = (0u8, 0u8, 0u32);
    for &ty in &sig.returns {
        if is_vec_class(ty) && nv < 2 {
            rets.push(Loc::Vec(nv));
            nv += 1;
        } else if !is_vec_class(ty) && ni < 2 {
            rets.push(Loc::Int(ni));
            ni += 1;
        } else {
            off = off.next_multiple_of(slot(ty));
            rets.push(Loc::Mem(off));
            off += slot(ty);
        }
    }
    let ret_area_bytes = off.next_multiple_of(16);

    // On x86_64 the return-area pointer takes `rdi`; on AArch64 it goes in `x8`.
    let mut ni = u8::from(arch == Arch::X86_64 && ret_area_bytes > 0);
    let (mut nv, mut off) = (0u8, 0u32);
    let mut args = Vec::with_capacity(sig.params.len());
    for &ty in &sig.params {
        if is_vec_class(ty) && nv < VEC_ARG_REGS {
            args.push(Loc::Vec(nv));
            nv += 1;
        } else if !is_vec_class(ty) && ni < int_arg_regs(arch) {
            args.push(Loc::Int(ni));
            ni += 1;
        } else {
            off = off.next_multiple_of(slot(ty));
            args.push(Loc::Mem(off));
            off += slot(ty);
        }
    }
    Plan {
        args,
        rets,
        stack_bytes: off.next_multiple_of(16),
        ret_area_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_independent_and_overflow_to_the_stack() {
        let mut params = vec![Type::F64, Type::I32];
        params.extend([Type::I64; 7]);
        params.push(Type::I32X4);
        params.push(Type::I8);
        let sig = Signature::new(&params, &[Type::I32]);
        let p = plan(Arch::X86_64, &sig);
        assert_eq!(p.args[0], Loc::Vec(0));
        assert_eq!(p.args[1], Loc::Int(0));
        assert_eq!(p.args[6], Loc::Int(5));
        assert_eq!(p.args[7], Loc::Mem(0));
        assert_eq!(p.args[8], Loc::Mem(8));
        assert_eq!(p.args[9], Loc::Vec(1), "vector args use vector registers");
        assert_eq!(p.args[10], Loc::Mem(16));
        assert_eq!(p.stack_bytes, 32);
        assert!(!p.has_ret_area());
        let a = plan(Arch::Aarch64, &sig);
        assert_eq!(a.args[8], Loc::Int(7));
        assert_eq!(a.args[10], Loc::Mem(0));
        assert_eq!(a.stack_bytes, 16);
    }

    #[test]
    fn stack_vectors_are_16_aligned() {
        let mut params = vec![Type::F32; 8];
        params.extend([Type::F32, Type::I32X4, Type::F64]);
        let p = plan(Arch::Aarch64, &Signature::new(&params, &[]));
        assert_eq!(&p.args[8..], &[Loc::Mem(0), Loc::Mem(16), Loc::Mem(32)]);
        assert_eq!(p.stack_bytes, 48);
    }

    #[test]
    fn return_area_and_hidden_pointer() {
        let rets = [
            Type::I64,
            Type::F32,
            Type::I32,
            Type::I8,
            Type::F64,
            Type::F64,
            Type::I32X4,
        ];
        let sig = Signature::new(&[Type::I64], &rets);
        let p = plan(Arch::X86_64, &sig);
        assert_eq!(
            p.rets,
            vec![
                Loc::Int(0),
                Loc::Vec(0),
                Loc::Int(1),
                Loc::Mem(0),
                Loc::Vec(1),
                Loc::Mem(8),
                Loc::Mem(16)
            ]
        );
        assert_eq!(p.ret_area_bytes, 32);
        assert!(p.has_ret_area());
        assert_eq!(
            p.args,
            vec![Loc::Int(1)],
            "rdi holds the return-area pointer"
        );
        let a = plan(Arch::Aarch64, &sig);
        assert_eq!(a.args, vec![Loc::Int(0)], "x8 holds it on AArch64");
    }
}
