//! Vector (NEON) lowering of the operations added for Wasm SIMD: float lane arithmetic and
//! comparisons, vector conversions and the integer vector families beyond lane-wise
//! add/sub/mul/bitwise/icmp (those, `splat`, lane moves and `vconst` stay in the parent).
//!
//! Invariant: [`lower`] claims every instruction whose operation on a vector type the
//! parent's scalar paths would get wrong; what it does not lower yet it refuses with
//! [`CodegenError::Unsupported`] rather than letting a scalar lowering touch one lane.

use super::Ctx;
use crate::ir::{Inst, Opcode};
use crate::machinst::CodegenError;

type R = Result<(), CodegenError>;

/// Is `inst` a vector operation this module owns?
fn owns(ctx: &Ctx<'_>, inst: Inst) -> bool {
    use Opcode::*;
    let data = *ctx.data(inst);
    let op = data.opcode();
    let arg_vector = data
        .arguments(&ctx.func().dfg.value_lists)
        .first()
        .is_some_and(|&v| ctx.value_type(v).is_vector());
    let result_vector = ctx.ctrl_type(inst).is_some_and(|t| t.is_vector());
    match op {
        SaddSat | UaddSat | SsubSat | UsubSat | Smin | Umin | Smax | Umax | AvgRound | Iabs
        | FminPseudo | FmaxPseudo | Bitselect | VanyTrue | VallTrue | VhighBits | Shuffle
        | Swizzle | Snarrow | Unarrow | SwidenLow | SwidenHigh | UwidenLow | UwidenHigh => true,
        Fadd | Fsub | Fmul | Fdiv | Fmin | Fmax | Fneg | Fabs | Sqrt | Ceil | Floor | Trunc
        | Nearest | Fcmp | Ishl | Ushr | Sshr | Popcnt | FcvtToSintSat | FcvtToUintSat
        | FcvtFromSint | FcvtFromUint | Fpromote | Fdemote => arg_vector || result_vector,
        _ => false,
    }
}

/// Lower `inst` if it is a vector operation of this module (see the module invariant).
pub(super) fn lower(ctx: &mut Ctx<'_>, inst: Inst) -> Option<R> {
    if !owns(ctx, inst) {
        return None;
    }
    Some(Err(ctx.unsupported(inst)))
}
