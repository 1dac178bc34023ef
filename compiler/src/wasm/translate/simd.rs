//! Translating the Wasm SIMD (`v128`) operators.
//!
//! Invariant: every `v128` on the operand stack, in a local, a block parameter or a
//! global is an `i8x16` IR value. An operator pops its operands as the vector type it
//! works on ([`State::vpop`] bitcasts, looking through a bitcast that came from that very
//! type, so chains of same-shape operators carry no casts) and pushes its result back as
//! `i8x16` ([`State::vpush`]).
//!
//! Every operator maps to one IR instruction — extended multiply, pairwise extended add,
//! dot product, the Q15 multiply and the memory forms included (`swiden_mul_*`,
//! `*widen_add_pairwise`, `sdot`, `sqmul_round_sat`, `load_splat`, `load_zero`,
//! `*load_widen`, `load_lane`, `store_lane`) — except `extract_lane_s/u` and
//! `replace_lane` on 8/16-bit lanes, which extend or reduce between the lane type and
//! `i32`.

use super::{LoadKind, State, HEAP};
use crate::ir::{FloatCC, FunctionBuilder, InstructionData, IntCC, Opcode, Type, Value};
use crate::wasm::WasmError;
use wasmparser::{MemArg, Operator};

/// The IR type of a `v128` value (see the module invariant).
const V128: Type = Type::I8X16;

impl State<'_> {
    /// Pop a `v128` as a vector of type `ty`.
    fn vpop(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        ty: Type,
        offset: usize,
    ) -> Result<Value, WasmError> {
        let v = self.pop(offset)?;
        Ok(as_vector(b, v, ty))
    }

    /// Push a vector result as a `v128` (`i8x16`).
    fn vpush(&mut self, b: &mut FunctionBuilder<'_>, v: Value) {
        let v = as_vector(b, v, V128);
        self.stack.push(v);
    }

    fn vunop(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        ty: Type,
        offset: usize,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value,
    ) -> Result<(), WasmError> {
        let a = self.vpop(b, ty, offset)?;
        let r = f(b, a);
        self.vpush(b, r);
        Ok(())
    }

    fn vbinop(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        ty: Type,
        offset: usize,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) -> Result<(), WasmError> {
        let y = self.vpop(b, ty, offset)?;
        let x = self.vpop(b, ty, offset)?;
        let r = f(b, x, y);
        self.vpush(b, r);
        Ok(())
    }

    /// A vector shift: the amount is the Wasm `i32` operand.
    fn vshift(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        ty: Type,
        op: Opcode,
        offset: usize,
    ) -> Result<(), WasmError> {
        let amt = self.pop(offset)?;
        let x = self.vpop(b, ty, offset)?;
        let r = match op {
            Opcode::Ishl => b.ins().ishl(x, amt),
            Opcode::Ushr => b.ins().ushr(x, amt),
            _ => b.ins().sshr(x, amt),
        };
        self.vpush(b, r);
        Ok(())
    }

    /// Translate one SIMD operator; `Ok(false)` if `op` is not a SIMD operator.
    pub(super) fn translate_simd(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        op: &Operator<'_>,
        offset: usize,
    ) -> Result<bool, WasmError> {
        use Opcode::{LoadSplat, LoadZero, SloadWiden, UloadWiden};
        use Operator as O;
        use Type::{F32X4, F64X2, I16X8, I32, I32X4, I64X2, I8X16};
        macro_rules! un {
            ($ty:expr, $m:ident) => {
                self.vunop(b, $ty, offset, |b, x| b.ins().$m(x))?
            };
        }
        macro_rules! bin {
            ($ty:expr, $m:ident) => {
                self.vbinop(b, $ty, offset, |b, x, y| b.ins().$m(x, y))?
            };
        }
        macro_rules! icmp {
            ($ty:expr, $cc:ident) => {
                self.vbinop(b, $ty, offset, |b, x, y| b.ins().icmp(IntCC::$cc, x, y))?
            };
        }
        macro_rules! fcmp {
            ($ty:expr, $cc:ident) => {
                self.vbinop(b, $ty, offset, |b, x, y| b.ins().fcmp(FloatCC::$cc, x, y))?
            };
        }
        macro_rules! reduce {
            ($ty:expr, $m:ident) => {{
                let x = self.vpop(b, $ty, offset)?;
                let r = b.ins().$m(x);
                let r = if b.func.dfg.value_type(r) == Some(I32) {
                    r
                } else {
                    b.ins().uextend(I32, r)
                };
                self.stack.push(r);
            }};
        }
        macro_rules! cvt {
            ($from:expr, $m:ident, $to:expr) => {
                self.vunop(b, $from, offset, |b, x| b.ins().$m($to, x))?
            };
        }
        match *op {
            // ---- memory ------------------------------------------------------------
            O::V128Load { ref memarg } => self.load(b, memarg, V128, LoadKind::Full, offset)?,
            O::V128Store { ref memarg } => self.store(b, memarg, 16, offset)?,
            O::V128Load8Splat { ref memarg } => self.vload(b, memarg, LoadSplat, I8X16, offset)?,
            O::V128Load16Splat { ref memarg } => self.vload(b, memarg, LoadSplat, I16X8, offset)?,
            O::V128Load32Splat { ref memarg } => self.vload(b, memarg, LoadSplat, I32X4, offset)?,
            O::V128Load64Splat { ref memarg } => self.vload(b, memarg, LoadSplat, I64X2, offset)?,
            O::V128Load32Zero { ref memarg } => self.vload(b, memarg, LoadZero, I32X4, offset)?,
            O::V128Load64Zero { ref memarg } => self.vload(b, memarg, LoadZero, I64X2, offset)?,
            O::V128Load8x8S { ref memarg } => self.vload(b, memarg, SloadWiden, I16X8, offset)?,
            O::V128Load8x8U { ref memarg } => self.vload(b, memarg, UloadWiden, I16X8, offset)?,
            O::V128Load16x4S { ref memarg } => self.vload(b, memarg, SloadWiden, I32X4, offset)?,
            O::V128Load16x4U { ref memarg } => self.vload(b, memarg, UloadWiden, I32X4, offset)?,
            O::V128Load32x2S { ref memarg } => self.vload(b, memarg, SloadWiden, I64X2, offset)?,
            O::V128Load32x2U { ref memarg } => self.vload(b, memarg, UloadWiden, I64X2, offset)?,
            O::V128Load8Lane { ref memarg, lane } => {
                self.load_lane(b, memarg, I8X16, lane, offset)?
            }
            O::V128Load16Lane { ref memarg, lane } => {
                self.load_lane(b, memarg, I16X8, lane, offset)?
            }
            O::V128Load32Lane { ref memarg, lane } => {
                self.load_lane(b, memarg, I32X4, lane, offset)?
            }
            O::V128Load64Lane { ref memarg, lane } => {
                self.load_lane(b, memarg, I64X2, lane, offset)?
            }
            O::V128Store8Lane { ref memarg, lane } => {
                self.store_lane(b, memarg, I8X16, lane, offset)?
            }
            O::V128Store16Lane { ref memarg, lane } => {
                self.store_lane(b, memarg, I16X8, lane, offset)?
            }
            O::V128Store32Lane { ref memarg, lane } => {
                self.store_lane(b, memarg, I32X4, lane, offset)?
            }
            O::V128Store64Lane { ref memarg, lane } => {
                self.store_lane(b, memarg, I64X2, lane, offset)?
            }

            // ---- constants, lanes, permutations -------------------------------------
            O::V128Const { value } => {
                let v = b.ins().vconst(V128, *value.bytes());
                self.stack.push(v);
            }
            O::I8x16Shuffle { lanes } => {
                let y = self.vpop(b, I8X16, offset)?;
                let x = self.vpop(b, I8X16, offset)?;
                let r = b.ins().shuffle(x, y, lanes);
                self.vpush(b, r);
            }
            O::I8x16Swizzle => bin!(I8X16, swizzle),
            O::I8x16Splat => self.splat(b, I8X16, offset)?,
            O::I16x8Splat => self.splat(b, I16X8, offset)?,
            O::I32x4Splat => self.splat(b, I32X4, offset)?,
            O::I64x2Splat => self.splat(b, I64X2, offset)?,
            O::F32x4Splat => self.splat(b, F32X4, offset)?,
            O::F64x2Splat => self.splat(b, F64X2, offset)?,
            O::I8x16ExtractLaneS { lane } => self.extract(b, I8X16, lane, Some(true), offset)?,
            O::I8x16ExtractLaneU { lane } => self.extract(b, I8X16, lane, Some(false), offset)?,
            O::I16x8ExtractLaneS { lane } => self.extract(b, I16X8, lane, Some(true), offset)?,
            O::I16x8ExtractLaneU { lane } => self.extract(b, I16X8, lane, Some(false), offset)?,
            O::I32x4ExtractLane { lane } => self.extract(b, I32X4, lane, None, offset)?,
            O::I64x2ExtractLane { lane } => self.extract(b, I64X2, lane, None, offset)?,
            O::F32x4ExtractLane { lane } => self.extract(b, F32X4, lane, None, offset)?,
            O::F64x2ExtractLane { lane } => self.extract(b, F64X2, lane, None, offset)?,
            O::I8x16ReplaceLane { lane } => self.replace(b, I8X16, lane, offset)?,
            O::I16x8ReplaceLane { lane } => self.replace(b, I16X8, lane, offset)?,
            O::I32x4ReplaceLane { lane } => self.replace(b, I32X4, lane, offset)?,
            O::I64x2ReplaceLane { lane } => self.replace(b, I64X2, lane, offset)?,
            O::F32x4ReplaceLane { lane } => self.replace(b, F32X4, lane, offset)?,
            O::F64x2ReplaceLane { lane } => self.replace(b, F64X2, lane, offset)?,

            // ---- comparisons --------------------------------------------------------
            O::I8x16Eq => icmp!(I8X16, Equal),
            O::I8x16Ne => icmp!(I8X16, NotEqual),
            O::I8x16LtS => icmp!(I8X16, SignedLessThan),
            O::I8x16LtU => icmp!(I8X16, UnsignedLessThan),
            O::I8x16GtS => icmp!(I8X16, SignedGreaterThan),
            O::I8x16GtU => icmp!(I8X16, UnsignedGreaterThan),
            O::I8x16LeS => icmp!(I8X16, SignedLessThanOrEqual),
            O::I8x16LeU => icmp!(I8X16, UnsignedLessThanOrEqual),
            O::I8x16GeS => icmp!(I8X16, SignedGreaterThanOrEqual),
            O::I8x16GeU => icmp!(I8X16, UnsignedGreaterThanOrEqual),
            O::I16x8Eq => icmp!(I16X8, Equal),
            O::I16x8Ne => icmp!(I16X8, NotEqual),
            O::I16x8LtS => icmp!(I16X8, SignedLessThan),
            O::I16x8LtU => icmp!(I16X8, UnsignedLessThan),
            O::I16x8GtS => icmp!(I16X8, SignedGreaterThan),
            O::I16x8GtU => icmp!(I16X8, UnsignedGreaterThan),
            O::I16x8LeS => icmp!(I16X8, SignedLessThanOrEqual),
            O::I16x8LeU => icmp!(I16X8, UnsignedLessThanOrEqual),
            O::I16x8GeS => icmp!(I16X8, SignedGreaterThanOrEqual),
            O::I16x8GeU => icmp!(I16X8, UnsignedGreaterThanOrEqual),
            O::I32x4Eq => icmp!(I32X4, Equal),
            O::I32x4Ne => icmp!(I32X4, NotEqual),
            O::I32x4LtS => icmp!(I32X4, SignedLessThan),
            O::I32x4LtU => icmp!(I32X4, UnsignedLessThan),
            O::I32x4GtS => icmp!(I32X4, SignedGreaterThan),
            O::I32x4GtU => icmp!(I32X4, UnsignedGreaterThan),
            O::I32x4LeS => icmp!(I32X4, SignedLessThanOrEqual),
            O::I32x4LeU => icmp!(I32X4, UnsignedLessThanOrEqual),
            O::I32x4GeS => icmp!(I32X4, SignedGreaterThanOrEqual),
            O::I32x4GeU => icmp!(I32X4, UnsignedGreaterThanOrEqual),
            O::I64x2Eq => icmp!(I64X2, Equal),
            O::I64x2Ne => icmp!(I64X2, NotEqual),
            O::I64x2LtS => icmp!(I64X2, SignedLessThan),
            O::I64x2GtS => icmp!(I64X2, SignedGreaterThan),
            O::I64x2LeS => icmp!(I64X2, SignedLessThanOrEqual),
            O::I64x2GeS => icmp!(I64X2, SignedGreaterThanOrEqual),
            O::F32x4Eq => fcmp!(F32X4, Equal),
            O::F32x4Ne => fcmp!(F32X4, NotEqual),
            O::F32x4Lt => fcmp!(F32X4, LessThan),
            O::F32x4Gt => fcmp!(F32X4, GreaterThan),
            O::F32x4Le => fcmp!(F32X4, LessThanOrEqual),
            O::F32x4Ge => fcmp!(F32X4, GreaterThanOrEqual),
            O::F64x2Eq => fcmp!(F64X2, Equal),
            O::F64x2Ne => fcmp!(F64X2, NotEqual),
            O::F64x2Lt => fcmp!(F64X2, LessThan),
            O::F64x2Gt => fcmp!(F64X2, GreaterThan),
            O::F64x2Le => fcmp!(F64X2, LessThanOrEqual),
            O::F64x2Ge => fcmp!(F64X2, GreaterThanOrEqual),

            // ---- bitwise ------------------------------------------------------------
            O::V128Not => un!(V128, bnot),
            O::V128And => bin!(V128, band),
            O::V128AndNot => bin!(V128, band_not),
            O::V128Or => bin!(V128, bor),
            O::V128Xor => bin!(V128, bxor),
            O::V128Bitselect => {
                let c = self.vpop(b, V128, offset)?;
                let y = self.vpop(b, V128, offset)?;
                let x = self.vpop(b, V128, offset)?;
                let r = b.ins().bitselect(c, x, y);
                self.vpush(b, r);
            }
            O::V128AnyTrue => reduce!(V128, vany_true),
            O::I8x16AllTrue => reduce!(I8X16, vall_true),
            O::I16x8AllTrue => reduce!(I16X8, vall_true),
            O::I32x4AllTrue => reduce!(I32X4, vall_true),
            O::I64x2AllTrue => reduce!(I64X2, vall_true),
            O::I8x16Bitmask => reduce!(I8X16, vhigh_bits),
            O::I16x8Bitmask => reduce!(I16X8, vhigh_bits),
            O::I32x4Bitmask => reduce!(I32X4, vhigh_bits),
            O::I64x2Bitmask => reduce!(I64X2, vhigh_bits),

            // ---- integer arithmetic -------------------------------------------------
            O::I8x16Abs => un!(I8X16, iabs),
            O::I16x8Abs => un!(I16X8, iabs),
            O::I32x4Abs => un!(I32X4, iabs),
            O::I64x2Abs => un!(I64X2, iabs),
            O::I8x16Neg => un!(I8X16, ineg),
            O::I16x8Neg => un!(I16X8, ineg),
            O::I32x4Neg => un!(I32X4, ineg),
            O::I64x2Neg => un!(I64X2, ineg),
            O::I8x16Popcnt => un!(I8X16, popcnt),
            O::I8x16Add => bin!(I8X16, iadd),
            O::I16x8Add => bin!(I16X8, iadd),
            O::I32x4Add => bin!(I32X4, iadd),
            O::I64x2Add => bin!(I64X2, iadd),
            O::I8x16Sub => bin!(I8X16, isub),
            O::I16x8Sub => bin!(I16X8, isub),
            O::I32x4Sub => bin!(I32X4, isub),
            O::I64x2Sub => bin!(I64X2, isub),
            O::I16x8Mul => bin!(I16X8, imul),
            O::I32x4Mul => bin!(I32X4, imul),
            O::I64x2Mul => bin!(I64X2, imul),
            O::I8x16AddSatS => bin!(I8X16, sadd_sat),
            O::I8x16AddSatU => bin!(I8X16, uadd_sat),
            O::I8x16SubSatS => bin!(I8X16, ssub_sat),
            O::I8x16SubSatU => bin!(I8X16, usub_sat),
            O::I16x8AddSatS => bin!(I16X8, sadd_sat),
            O::I16x8AddSatU => bin!(I16X8, uadd_sat),
            O::I16x8SubSatS => bin!(I16X8, ssub_sat),
            O::I16x8SubSatU => bin!(I16X8, usub_sat),
            O::I8x16MinS => bin!(I8X16, smin),
            O::I8x16MinU => bin!(I8X16, umin),
            O::I8x16MaxS => bin!(I8X16, smax),
            O::I8x16MaxU => bin!(I8X16, umax),
            O::I16x8MinS => bin!(I16X8, smin),
            O::I16x8MinU => bin!(I16X8, umin),
            O::I16x8MaxS => bin!(I16X8, smax),
            O::I16x8MaxU => bin!(I16X8, umax),
            O::I32x4MinS => bin!(I32X4, smin),
            O::I32x4MinU => bin!(I32X4, umin),
            O::I32x4MaxS => bin!(I32X4, smax),
            O::I32x4MaxU => bin!(I32X4, umax),
            O::I8x16AvgrU => bin!(I8X16, avg_round),
            O::I16x8AvgrU => bin!(I16X8, avg_round),
            O::I8x16Shl => self.vshift(b, I8X16, Opcode::Ishl, offset)?,
            O::I8x16ShrS => self.vshift(b, I8X16, Opcode::Sshr, offset)?,
            O::I8x16ShrU => self.vshift(b, I8X16, Opcode::Ushr, offset)?,
            O::I16x8Shl => self.vshift(b, I16X8, Opcode::Ishl, offset)?,
            O::I16x8ShrS => self.vshift(b, I16X8, Opcode::Sshr, offset)?,
            O::I16x8ShrU => self.vshift(b, I16X8, Opcode::Ushr, offset)?,
            O::I32x4Shl => self.vshift(b, I32X4, Opcode::Ishl, offset)?,
            O::I32x4ShrS => self.vshift(b, I32X4, Opcode::Sshr, offset)?,
            O::I32x4ShrU => self.vshift(b, I32X4, Opcode::Ushr, offset)?,
            O::I64x2Shl => self.vshift(b, I64X2, Opcode::Ishl, offset)?,
            O::I64x2ShrS => self.vshift(b, I64X2, Opcode::Sshr, offset)?,
            O::I64x2ShrU => self.vshift(b, I64X2, Opcode::Ushr, offset)?,

            // ---- narrowing, widening, extended arithmetic ---------------------------
            O::I8x16NarrowI16x8S => {
                self.vbinop(b, I16X8, offset, |b, x, y| b.ins().snarrow(I8X16, x, y))?
            }
            O::I8x16NarrowI16x8U => {
                self.vbinop(b, I16X8, offset, |b, x, y| b.ins().unarrow(I8X16, x, y))?
            }
            O::I16x8NarrowI32x4S => {
                self.vbinop(b, I32X4, offset, |b, x, y| b.ins().snarrow(I16X8, x, y))?
            }
            O::I16x8NarrowI32x4U => {
                self.vbinop(b, I32X4, offset, |b, x, y| b.ins().unarrow(I16X8, x, y))?
            }
            O::I16x8ExtendLowI8x16S => cvt!(I8X16, swiden_low, I16X8),
            O::I16x8ExtendHighI8x16S => cvt!(I8X16, swiden_high, I16X8),
            O::I16x8ExtendLowI8x16U => cvt!(I8X16, uwiden_low, I16X8),
            O::I16x8ExtendHighI8x16U => cvt!(I8X16, uwiden_high, I16X8),
            O::I32x4ExtendLowI16x8S => cvt!(I16X8, swiden_low, I32X4),
            O::I32x4ExtendHighI16x8S => cvt!(I16X8, swiden_high, I32X4),
            O::I32x4ExtendLowI16x8U => cvt!(I16X8, uwiden_low, I32X4),
            O::I32x4ExtendHighI16x8U => cvt!(I16X8, uwiden_high, I32X4),
            O::I64x2ExtendLowI32x4S => cvt!(I32X4, swiden_low, I64X2),
            O::I64x2ExtendHighI32x4S => cvt!(I32X4, swiden_high, I64X2),
            O::I64x2ExtendLowI32x4U => cvt!(I32X4, uwiden_low, I64X2),
            O::I64x2ExtendHighI32x4U => cvt!(I32X4, uwiden_high, I64X2),
            O::I16x8ExtMulLowI8x16S => self.extmul(b, I8X16, false, true, offset)?,
            O::I16x8ExtMulHighI8x16S => self.extmul(b, I8X16, true, true, offset)?,
            O::I16x8ExtMulLowI8x16U => self.extmul(b, I8X16, false, false, offset)?,
            O::I16x8ExtMulHighI8x16U => self.extmul(b, I8X16, true, false, offset)?,
            O::I32x4ExtMulLowI16x8S => self.extmul(b, I16X8, false, true, offset)?,
            O::I32x4ExtMulHighI16x8S => self.extmul(b, I16X8, true, true, offset)?,
            O::I32x4ExtMulLowI16x8U => self.extmul(b, I16X8, false, false, offset)?,
            O::I32x4ExtMulHighI16x8U => self.extmul(b, I16X8, true, false, offset)?,
            O::I64x2ExtMulLowI32x4S => self.extmul(b, I32X4, false, true, offset)?,
            O::I64x2ExtMulHighI32x4S => self.extmul(b, I32X4, true, true, offset)?,
            O::I64x2ExtMulLowI32x4U => self.extmul(b, I32X4, false, false, offset)?,
            O::I64x2ExtMulHighI32x4U => self.extmul(b, I32X4, true, false, offset)?,
            O::I16x8ExtAddPairwiseI8x16S => self.vunop(b, I8X16, offset, |b, x| {
                b.ins().swiden_add_pairwise(I16X8, x)
            })?,
            O::I16x8ExtAddPairwiseI8x16U => self.vunop(b, I8X16, offset, |b, x| {
                b.ins().uwiden_add_pairwise(I16X8, x)
            })?,
            O::I32x4ExtAddPairwiseI16x8S => self.vunop(b, I16X8, offset, |b, x| {
                b.ins().swiden_add_pairwise(I32X4, x)
            })?,
            O::I32x4ExtAddPairwiseI16x8U => self.vunop(b, I16X8, offset, |b, x| {
                b.ins().uwiden_add_pairwise(I32X4, x)
            })?,
            O::I32x4DotI16x8S => bin!(I16X8, sdot),
            O::I16x8Q15MulrSatS => bin!(I16X8, sqmul_round_sat),

            // ---- float arithmetic ---------------------------------------------------
            O::F32x4Ceil => un!(F32X4, ceil),
            O::F32x4Floor => un!(F32X4, floor),
            O::F32x4Trunc => un!(F32X4, trunc),
            O::F32x4Nearest => un!(F32X4, nearest),
            O::F32x4Abs => un!(F32X4, fabs),
            O::F32x4Neg => un!(F32X4, fneg),
            O::F32x4Sqrt => un!(F32X4, sqrt),
            O::F32x4Add => bin!(F32X4, fadd),
            O::F32x4Sub => bin!(F32X4, fsub),
            O::F32x4Mul => bin!(F32X4, fmul),
            O::F32x4Div => bin!(F32X4, fdiv),
            O::F32x4Min => bin!(F32X4, fmin),
            O::F32x4Max => bin!(F32X4, fmax),
            O::F32x4PMin => bin!(F32X4, fmin_pseudo),
            O::F32x4PMax => bin!(F32X4, fmax_pseudo),
            O::F64x2Ceil => un!(F64X2, ceil),
            O::F64x2Floor => un!(F64X2, floor),
            O::F64x2Trunc => un!(F64X2, trunc),
            O::F64x2Nearest => un!(F64X2, nearest),
            O::F64x2Abs => un!(F64X2, fabs),
            O::F64x2Neg => un!(F64X2, fneg),
            O::F64x2Sqrt => un!(F64X2, sqrt),
            O::F64x2Add => bin!(F64X2, fadd),
            O::F64x2Sub => bin!(F64X2, fsub),
            O::F64x2Mul => bin!(F64X2, fmul),
            O::F64x2Div => bin!(F64X2, fdiv),
            O::F64x2Min => bin!(F64X2, fmin),
            O::F64x2Max => bin!(F64X2, fmax),
            O::F64x2PMin => bin!(F64X2, fmin_pseudo),
            O::F64x2PMax => bin!(F64X2, fmax_pseudo),

            // ---- conversions --------------------------------------------------------
            O::I32x4TruncSatF32x4S => cvt!(F32X4, fcvt_to_sint_sat, I32X4),
            O::I32x4TruncSatF32x4U => cvt!(F32X4, fcvt_to_uint_sat, I32X4),
            O::I32x4TruncSatF64x2SZero => cvt!(F64X2, fcvt_to_sint_sat, I32X4),
            O::I32x4TruncSatF64x2UZero => cvt!(F64X2, fcvt_to_uint_sat, I32X4),
            O::F32x4ConvertI32x4S => cvt!(I32X4, fcvt_from_sint, F32X4),
            O::F32x4ConvertI32x4U => cvt!(I32X4, fcvt_from_uint, F32X4),
            O::F64x2ConvertLowI32x4S => cvt!(I32X4, fcvt_from_sint, F64X2),
            O::F64x2ConvertLowI32x4U => cvt!(I32X4, fcvt_from_uint, F64X2),
            O::F32x4DemoteF64x2Zero => cvt!(F64X2, fdemote, F32X4),
            O::F64x2PromoteLowF32x4 => cvt!(F32X4, fpromote, F64X2),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn splat(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        ty: Type,
        offset: usize,
    ) -> Result<(), WasmError> {
        let x = self.pop(offset)?;
        let x = match ty.lane_type() {
            lane @ (Type::I8 | Type::I16) => b.ins().ireduce(lane, x),
            _ => x,
        };
        let r = b.ins().splat(ty, x);
        self.vpush(b, r);
        Ok(())
    }

    /// `extract_lane`; `signed` says how 8- and 16-bit lanes extend to `i32`.
    fn extract(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        ty: Type,
        lane: u8,
        signed: Option<bool>,
        offset: usize,
    ) -> Result<(), WasmError> {
        let v = self.vpop(b, ty, offset)?;
        let x = b.ins().extractlane(v, lane);
        let x = match signed {
            Some(true) => b.ins().sextend(Type::I32, x),
            Some(false) => b.ins().uextend(Type::I32, x),
            None => x,
        };
        self.stack.push(x);
        Ok(())
    }

    fn replace(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        ty: Type,
        lane: u8,
        offset: usize,
    ) -> Result<(), WasmError> {
        let x = self.pop(offset)?;
        let v = self.vpop(b, ty, offset)?;
        let x = match ty.lane_type() {
            l @ (Type::I8 | Type::I16) => b.ins().ireduce(l, x),
            _ => x,
        };
        let r = b.ins().insertlane(v, x, lane);
        self.vpush(b, r);
        Ok(())
    }

    /// The address operand of a vector memory form accessing `bytes` bytes.
    fn vaddr(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        bytes: u32,
        offset: usize,
    ) -> Result<(Value, i32), WasmError> {
        let index = self.pop(offset)?;
        Ok(self.heap_addr(b, index, memarg, bytes))
    }

    /// `v128.loadN_splat`, `v128.loadN_zero` and `v128.loadNxM_s/u`: one `Load`-format
    /// IR instruction producing a `ty` vector.
    fn vload(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        op: Opcode,
        ty: Type,
        offset: usize,
    ) -> Result<(), WasmError> {
        let (addr, off) = self.vaddr(b, memarg, op.access_bytes(ty), offset)?;
        let r = match op {
            Opcode::LoadSplat => b.ins().load_splat(ty, HEAP, addr, off),
            Opcode::LoadZero => b.ins().load_zero(ty, HEAP, addr, off),
            Opcode::SloadWiden => b.ins().sload_widen(ty, HEAP, addr, off),
            _ => b.ins().uload_widen(ty, HEAP, addr, off),
        };
        self.vpush(b, r);
        Ok(())
    }

    fn load_lane(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        lane: u8,
        offset: usize,
    ) -> Result<(), WasmError> {
        let v = self.vpop(b, ty, offset)?;
        let (addr, off) = self.vaddr(b, memarg, ty.lane_bits() / 8, offset)?;
        let r = b.ins().load_lane(HEAP, v, addr, off, lane);
        self.vpush(b, r);
        Ok(())
    }

    fn store_lane(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        memarg: &MemArg,
        ty: Type,
        lane: u8,
        offset: usize,
    ) -> Result<(), WasmError> {
        let v = self.vpop(b, ty, offset)?;
        let (addr, off) = self.vaddr(b, memarg, ty.lane_bits() / 8, offset)?;
        b.ins().store_lane(HEAP, v, addr, off, lane);
        Ok(())
    }

    /// `extmul_low/high`: one widening multiply of operands with lanes of `narrow`.
    fn extmul(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        narrow: Type,
        high: bool,
        signed: bool,
        offset: usize,
    ) -> Result<(), WasmError> {
        let wide = match narrow {
            Type::I8X16 => Type::I16X8,
            Type::I16X8 => Type::I32X4,
            _ => Type::I64X2,
        };
        let op = match (high, signed) {
            (false, true) => Opcode::SwidenMulLow,
            (true, true) => Opcode::SwidenMulHigh,
            (false, false) => Opcode::UwidenMulLow,
            (true, false) => Opcode::UwidenMulHigh,
        };
        self.vbinop(b, narrow, offset, |b, x, y| {
            b.ins().widen_mul(op, wide, x, y)
        })
    }
}

/// `v` as a vector of type `ty`: itself, the operand of the bitcast that made it from a
/// `ty` value, or a new bitcast.
fn as_vector(b: &mut FunctionBuilder<'_>, v: Value, ty: Type) -> Value {
    let dfg = &b.func.dfg;
    if dfg.value_type(v) == Some(ty) {
        return v;
    }
    if let Some(&InstructionData::Unary {
        opcode: Opcode::Bitcast,
        arg,
    }) = dfg.defining_inst(v).and_then(|inst| dfg.insts.get(inst))
    {
        if dfg.value_type(arg) == Some(ty) {
            return arg;
        }
    }
    b.ins().bitcast(ty, v)
}
