//! Tests of the interpreter, written as `.kir` text. Every expected value comes from the
//! IR semantics (Wasm semantics where they coincide), worked out by hand.

use super::*;
use kiln::ir::text::parse_functions;
use DataValue::{F32, F64, I16, I32, I64, I8};

fn parse(src: &str) -> Vec<Function> {
    match parse_functions(src) {
        Ok(fs) => fs,
        Err(e) => panic!("test source does not parse: {e}\n{src}"),
    }
}

/// Run the first function of `src`.
fn run(src: &str, args: &[DataValue]) -> Outcome {
    run_with(src, args, &mut [])
}

fn run_with(src: &str, args: &[DataValue], heaps: &mut [Heap]) -> Outcome {
    let fs = parse(src);
    Interpreter::new(&fs).call(0, args, heaps)
}

fn ret(vals: &[DataValue]) -> Outcome {
    Outcome::Returned(vals.to_vec())
}

fn trapped(code: TrapCode) -> Outcome {
    Outcome::Trapped(code)
}

fn is_error(o: &Outcome) -> bool {
    matches!(o, Outcome::Error(_))
}

/// `function %f(ty, ty) -> rty { v2 = op v0, v1 }`
fn binop_src(op: &str, ty: Type, rty: Type) -> String {
    format!(
        "function %f({ty}, {ty}) -> {rty} {{\nblock0(v0: {ty}, v1: {ty}):\n    v2 = {op} v0, v1\n    return v2\n}}\n"
    )
}

fn bin(op: &str, a: DataValue, b: DataValue) -> Outcome {
    run(&binop_src(op, a.ty(), a.ty()), &[a, b])
}

/// `v1 = op v0` (op may carry a `.T` suffix).
fn un(op: &str, a: DataValue, rty: Type) -> Outcome {
    let ty = a.ty();
    let src = format!(
        "function %f({ty}) -> {rty} {{\nblock0(v0: {ty}):\n    v1 = {op} v0\n    return v1\n}}\n"
    );
    run(&src, &[a])
}

fn f32v(v: f32) -> DataValue {
    DataValue::f32(v)
}

fn f64v(v: f64) -> DataValue {
    DataValue::f64(v)
}

fn vec_of(ty: Type, lanes: &[u64]) -> DataValue {
    DataValue::vector_from_lanes(ty, lanes).expect("lane count")
}

const QNAN32: u32 = 0x7fc0_0000;
const QNAN64: u64 = 0x7ff8_0000_0000_0000;

#[test]
fn integer_arithmetic_wraps_at_every_width() {
    assert_eq!(bin("iadd", I8(127), I8(1)), ret(&[I8(-128)]));
    assert_eq!(bin("isub", I16(-32768), I16(1)), ret(&[I16(32767)]));
    assert_eq!(bin("imul", I32(0x10000), I32(0x10000)), ret(&[I32(0)]));
    assert_eq!(bin("iadd", I64(i64::MAX), I64(1)), ret(&[I64(i64::MIN)]));
    assert_eq!(bin("imul", I8(16), I8(17)), ret(&[I8(16)])); // 272 mod 256
}

#[test]
fn division_traps_and_signs() {
    for ty in [Type::I8, Type::I16, Type::I32, Type::I64] {
        let one = DataValue::from_int(ty, 1).unwrap();
        let zero = DataValue::from_int(ty, 0).unwrap();
        let min = DataValue::from_int(ty, 1u64 << (ty.bits() - 1)).unwrap();
        let m1 = DataValue::from_int(ty, u64::MAX).unwrap();
        for op in ["sdiv", "udiv", "srem", "urem"] {
            assert_eq!(
                bin(op, one, zero),
                trapped(TrapCode::IntegerDivisionByZero),
                "{op}.{ty}"
            );
        }
        assert_eq!(
            bin("sdiv", min, m1),
            trapped(TrapCode::IntegerOverflow),
            "{ty}"
        );
        assert_eq!(bin("srem", min, m1), ret(&[zero]), "{ty}");
        // Unsigned: MIN / -1 is 0 and MIN % -1 is MIN.
        assert_eq!(bin("udiv", min, m1), ret(&[zero]), "{ty}");
        assert_eq!(bin("urem", min, m1), ret(&[min]), "{ty}");
    }
    assert_eq!(bin("sdiv", I32(7), I32(-2)), ret(&[I32(-3)]));
    assert_eq!(bin("sdiv", I32(-7), I32(2)), ret(&[I32(-3)]));
    assert_eq!(bin("srem", I32(7), I32(-2)), ret(&[I32(1)]));
    assert_eq!(bin("srem", I32(-7), I32(2)), ret(&[I32(-1)]));
    assert_eq!(bin("udiv", I32(-1), I32(2)), ret(&[I32(0x7fff_ffff)]));
    assert_eq!(bin("urem", I8(-1), I8(10)), ret(&[I8(5)])); // 255 % 10
    assert_eq!(bin("udiv", I16(-2), I16(3)), ret(&[I16(21844)])); // 65534 / 3
}

#[test]
fn multiply_high() {
    assert_eq!(bin("umulhi", I32(-1), I32(-1)), ret(&[I32(-2)])); // 0xfffffffe
    assert_eq!(bin("smulhi", I32(-1), I32(-1)), ret(&[I32(0)]));
    assert_eq!(
        bin("smulhi", I32(i32::MIN), I32(i32::MIN)),
        ret(&[I32(0x4000_0000)])
    );
    assert_eq!(bin("umulhi", I64(-1), I64(2)), ret(&[I64(1)]));
    assert_eq!(bin("smulhi", I64(-1), I64(2)), ret(&[I64(-1)]));
    // -128 * 127 = -16256 = 0xc080: high byte 0xc0.
    assert_eq!(bin("smulhi", I8(-128), I8(127)), ret(&[I8(-64)]));
    // 255 * 127 = 32385 = 0x7e81: high byte 0x7e.
    assert_eq!(bin("umulhi", I8(-1), I8(127)), ret(&[I8(0x7e)]));
    assert_eq!(bin("umulhi", I16(-1), I16(-1)), ret(&[I16(-2)]));
}

#[test]
fn shifts_and_rotates_take_amount_mod_width() {
    assert_eq!(bin("ishl", I32(1), I32(33)), ret(&[I32(2)]));
    assert_eq!(bin("ushr", I32(-1), I32(32)), ret(&[I32(-1)]));
    assert_eq!(bin("ushr", I32(-1), I32(31)), ret(&[I32(1)]));
    assert_eq!(bin("sshr", I64(i64::MIN), I64(63)), ret(&[I64(-1)]));
    assert_eq!(bin("sshr", I64(i64::MIN), I64(-1)), ret(&[I64(-1)])); // amount 63
    assert_eq!(bin("ishl", I8(1), I8(8)), ret(&[I8(1)]));
    assert_eq!(bin("ishl", I8(1), I8(7)), ret(&[I8(-128)]));
    assert_eq!(bin("ushr", I8(-128), I8(7)), ret(&[I8(1)]));
    assert_eq!(bin("sshr", I16(-32768), I16(15)), ret(&[I16(-1)]));
    assert_eq!(bin("ushr", I16(-32768), I16(31)), ret(&[I16(1)])); // 31 mod 16 = 15
    assert_eq!(
        bin("rotl", I32(0x8000_0001u32 as i32), I32(1)),
        ret(&[I32(3)])
    );
    assert_eq!(bin("rotr", I32(1), I32(1)), ret(&[I32(i32::MIN)]));
    assert_eq!(
        bin("rotl", I32(0x1234_5678), I32(32)),
        ret(&[I32(0x1234_5678)])
    );
    assert_eq!(bin("rotl", I64(1), I64(65)), ret(&[I64(2)]));
    assert_eq!(bin("rotr", I8(1), I8(9)), ret(&[I8(-128)]));
    assert_eq!(bin("rotl", I16(0x1234), I16(4)), ret(&[I16(0x2341)]));
}

#[test]
fn bit_operations_and_counts() {
    assert_eq!(bin("band", I32(0b1100), I32(0b1010)), ret(&[I32(0b1000)]));
    assert_eq!(bin("bor", I32(0b1100), I32(0b1010)), ret(&[I32(0b1110)]));
    assert_eq!(bin("bxor", I32(0b1100), I32(0b1010)), ret(&[I32(0b0110)]));
    assert_eq!(
        bin("band_not", I32(0b1100), I32(0b1010)),
        ret(&[I32(0b0100)])
    );
    assert_eq!(un("bnot", I8(0), Type::I8), ret(&[I8(-1)]));
    assert_eq!(un("bnot", I64(-1), Type::I64), ret(&[I64(0)]));
    assert_eq!(un("clz", I32(0), Type::I32), ret(&[I32(32)]));
    assert_eq!(un("clz", I8(1), Type::I8), ret(&[I8(7)]));
    assert_eq!(un("clz", I64(-1), Type::I64), ret(&[I64(0)]));
    assert_eq!(un("clz", I16(0), Type::I16), ret(&[I16(16)]));
    assert_eq!(un("ctz", I64(0), Type::I64), ret(&[I64(64)]));
    assert_eq!(un("ctz", I8(0), Type::I8), ret(&[I8(8)]));
    assert_eq!(un("ctz", I16(-32768), Type::I16), ret(&[I16(15)]));
    assert_eq!(un("popcnt", I8(-1), Type::I8), ret(&[I8(8)]));
    assert_eq!(un("popcnt", I64(i64::MIN), Type::I64), ret(&[I64(1)]));
    assert_eq!(un("popcnt", I32(0), Type::I32), ret(&[I32(0)]));
}

#[test]
fn icmp_signed_and_unsigned() {
    let cases = [
        ("eq", 0, 1),
        ("ne", 1, 0),
        ("slt", 1, 0),
        ("sle", 1, 1),
        ("sgt", 0, 0),
        ("sge", 0, 1),
        ("ult", 0, 0),
        ("ule", 0, 1),
        ("ugt", 1, 0),
        ("uge", 1, 1),
    ];
    for (cc, neg_vs_one, equal) in cases {
        let src = binop_src(&format!("icmp {cc}"), Type::I8, Type::I8);
        assert_eq!(run(&src, &[I8(-1), I8(1)]), ret(&[I8(neg_vs_one)]), "{cc}");
        assert_eq!(run(&src, &[I8(5), I8(5)]), ret(&[I8(equal)]), "{cc}");
        let src = binop_src(&format!("icmp {cc}"), Type::I64, Type::I8);
        assert_eq!(
            run(&src, &[I64(-1), I64(1)]),
            ret(&[I8(neg_vs_one)]),
            "{cc}"
        );
    }
}

#[test]
fn fcmp_conditions_with_nan() {
    // Columns: (1,2) (2,2) (2,1) (nan,1).
    let table: [(&str, [i8; 4]); 14] = [
        ("ord", [1, 1, 1, 0]),
        ("uno", [0, 0, 0, 1]),
        ("eq", [0, 1, 0, 0]),
        ("ne", [1, 0, 1, 1]),
        ("one", [1, 0, 1, 0]),
        ("ueq", [0, 1, 0, 1]),
        ("lt", [1, 0, 0, 0]),
        ("le", [1, 1, 0, 0]),
        ("gt", [0, 0, 1, 0]),
        ("ge", [0, 1, 1, 0]),
        ("ult", [1, 0, 0, 1]),
        ("ule", [1, 1, 0, 1]),
        ("ugt", [0, 0, 1, 1]),
        ("uge", [0, 1, 1, 1]),
    ];
    let pairs = [(1.0, 2.0), (2.0, 2.0), (2.0, 1.0), (f64::NAN, 1.0)];
    for (cc, expect) in table {
        let src64 = binop_src(&format!("fcmp {cc}"), Type::F64, Type::I8);
        let src32 = binop_src(&format!("fcmp {cc}"), Type::F32, Type::I8);
        for (i, &(a, b)) in pairs.iter().enumerate() {
            assert_eq!(
                run(&src64, &[f64v(a), f64v(b)]),
                ret(&[I8(expect[i])]),
                "{cc} {a} {b}"
            );
            let (a32, b32) = (a as f32, b as f32);
            assert_eq!(
                run(&src32, &[f32v(a32), f32v(b32)]),
                ret(&[I8(expect[i])]),
                "{cc}"
            );
        }
    }
    // -0 == +0.
    let src = binop_src("fcmp eq", Type::F32, Type::I8);
    assert_eq!(run(&src, &[f32v(-0.0), f32v(0.0)]), ret(&[I8(1)]));
}

#[test]
fn select_takes_first_when_nonzero() {
    let src = "function %f(i16, i64, i64) -> i64 {
block0(v0: i16, v1: i64, v2: i64):
    v3 = select v0, v1, v2
    return v3
}";
    assert_eq!(run(src, &[I16(256), I64(1), I64(2)]), ret(&[I64(1)]));
    assert_eq!(run(src, &[I16(0), I64(1), I64(2)]), ret(&[I64(2)]));
    let src = "function %f(i8, f32x4, f32x4) -> f32x4 {
block0(v0: i8, v1: f32x4, v2: f32x4):
    v3 = select v0, v1, v2
    return v3
}";
    let a = vec_of(Type::F32X4, &[1, 2, 3, 4]);
    let b = vec_of(Type::F32X4, &[5, 6, 7, 8]);
    assert_eq!(run(src, &[I8(-128), a, b]), ret(&[a]));
}

#[test]
fn extend_and_reduce() {
    assert_eq!(un("sextend.i64", I8(-1), Type::I64), ret(&[I64(-1)]));
    assert_eq!(un("uextend.i64", I8(-1), Type::I64), ret(&[I64(255)]));
    assert_eq!(
        un("uextend.i32", I16(-32768), Type::I32),
        ret(&[I32(32768)])
    );
    assert_eq!(un("sextend.i16", I8(-128), Type::I16), ret(&[I16(-128)]));
    assert_eq!(un("ireduce.i8", I32(0x1ff), Type::I8), ret(&[I8(-1)]));
    assert_eq!(
        un("ireduce.i32", I64(0x1_0000_0005), Type::I32),
        ret(&[I32(5)])
    );
    assert_eq!(un("ireduce.i16", I64(-65536), Type::I16), ret(&[I16(0)]));
}

#[test]
fn fmin_fmax_follow_wasm() {
    let nan_in = [F32(QNAN32), F32(0x7f80_0001), F32(0xffc0_1234)];
    for op in ["fmin", "fmax"] {
        for n in nan_in {
            assert_eq!(bin(op, n, f32v(1.0)), ret(&[F32(QNAN32)]), "{op}");
            assert_eq!(bin(op, f32v(1.0), n), ret(&[F32(QNAN32)]), "{op}");
        }
        assert_eq!(
            bin(op, F64(0x7ff0_0000_0000_0001), f64v(0.0)),
            ret(&[F64(QNAN64)])
        );
    }
    assert_eq!(bin("fmin", f32v(-0.0), f32v(0.0)), ret(&[f32v(-0.0)]));
    assert_eq!(bin("fmin", f32v(0.0), f32v(-0.0)), ret(&[f32v(-0.0)]));
    assert_eq!(bin("fmax", f32v(-0.0), f32v(0.0)), ret(&[f32v(0.0)]));
    assert_eq!(bin("fmax", f32v(0.0), f32v(-0.0)), ret(&[f32v(0.0)]));
    assert_eq!(bin("fmin", f64v(-0.0), f64v(0.0)), ret(&[f64v(-0.0)]));
    assert_eq!(bin("fmax", f64v(0.0), f64v(-0.0)), ret(&[f64v(0.0)]));
    assert_eq!(bin("fmin", f64v(1.0), f64v(2.0)), ret(&[f64v(1.0)]));
    assert_eq!(bin("fmax", f64v(1.0), f64v(2.0)), ret(&[f64v(2.0)]));
    assert_eq!(
        bin("fmin", f32v(f32::NEG_INFINITY), f32v(1.0)),
        ret(&[f32v(f32::NEG_INFINITY)])
    );
    assert_eq!(bin("fmax", f32v(-3.0), f32v(-5.0)), ret(&[f32v(-3.0)]));
}

#[test]
fn sign_bit_operations_preserve_nan_payloads() {
    assert_eq!(
        un("fneg", F32(0x7f80_0001), Type::F32),
        ret(&[F32(0xff80_0001)])
    );
    assert_eq!(
        un("fabs", F32(0xffc0_0012), Type::F32),
        ret(&[F32(0x7fc0_0012)])
    );
    assert_eq!(un("fneg", f64v(0.0), Type::F64), ret(&[f64v(-0.0)]));
    assert_eq!(
        un("fabs", F64(0xfff0_0000_0000_0003), Type::F64),
        ret(&[F64(0x7ff0_0000_0000_0003)])
    );
    assert_eq!(
        bin("fcopysign", F32(0x7f80_0005), f32v(-1.0)),
        ret(&[F32(0xff80_0005)])
    );
    assert_eq!(
        bin("fcopysign", f64v(2.5), F64(0xfff8_0000_0000_0000)),
        ret(&[f64v(-2.5)])
    );
    assert_eq!(bin("fcopysign", f32v(-2.5), f32v(0.0)), ret(&[f32v(2.5)]));
}

#[test]
fn float_arithmetic() {
    assert_eq!(
        bin("fadd", f64v(0.1), f64v(0.2)),
        ret(&[F64(0x3fd3_3333_3333_3334)])
    );
    assert_eq!(bin("fsub", f32v(1.0), f32v(1.0)), ret(&[f32v(0.0)]));
    assert_eq!(bin("fsub", f32v(-0.0), f32v(0.0)), ret(&[f32v(-0.0)]));
    assert_eq!(bin("fmul", f32v(-2.0), f32v(0.0)), ret(&[f32v(-0.0)]));
    assert_eq!(
        bin("fdiv", f64v(1.0), f64v(0.0)),
        ret(&[f64v(f64::INFINITY)])
    );
    assert_eq!(
        bin("fdiv", f64v(-1.0), f64v(0.0)),
        ret(&[f64v(f64::NEG_INFINITY)])
    );
    // NaN results are canonical (the interpreter's documented choice).
    assert_eq!(bin("fdiv", f64v(0.0), f64v(0.0)), ret(&[F64(QNAN64)]));
    assert_eq!(
        bin("fadd", F32(0xff80_0001), f32v(1.0)),
        ret(&[F32(QNAN32)])
    );
    assert_eq!(
        bin("fmul", f32v(f32::INFINITY), f32v(0.0)),
        ret(&[F32(QNAN32)])
    );
    // 16777216 + 1 rounds to even in f32.
    assert_eq!(
        bin("fadd", f32v(16777216.0), f32v(1.0)),
        ret(&[f32v(16777216.0)])
    );
    assert_eq!(un("sqrt", f64v(4.0), Type::F64), ret(&[f64v(2.0)]));
    assert_eq!(un("sqrt", f32v(-1.0), Type::F32), ret(&[F32(QNAN32)]));
    assert_eq!(un("sqrt", f32v(-0.0), Type::F32), ret(&[f32v(-0.0)]));
}

#[test]
fn rounding() {
    let cases32: [(&str, f32, f32); 14] = [
        ("nearest", 2.5, 2.0),
        ("nearest", 3.5, 4.0),
        ("nearest", -2.5, -2.0),
        ("nearest", -0.5, -0.0),
        ("nearest", 0.5, 0.0),
        ("nearest", 1.4999999, 1.0),
        ("ceil", -0.5, -0.0),
        ("ceil", 1.1, 2.0),
        ("floor", -0.5, -1.0),
        ("floor", 1.9, 1.0),
        ("trunc", -1.7, -1.0),
        ("trunc", 1.7, 1.0),
        ("trunc", -0.3, -0.0),
        ("nearest", 8388609.0, 8388609.0),
    ];
    for (op, x, want) in cases32 {
        assert_eq!(un(op, f32v(x), Type::F32), ret(&[f32v(want)]), "{op} {x}");
        assert_eq!(
            un(op, f64v(x as f64), Type::F64),
            ret(&[f64v(want as f64)]),
            "{op} {x}"
        );
    }
    assert_eq!(
        un("nearest", f64v(4503599627370497.0), Type::F64),
        ret(&[f64v(4503599627370497.0)])
    );
    assert_eq!(
        un("ceil", f32v(f32::NEG_INFINITY), Type::F32),
        ret(&[f32v(f32::NEG_INFINITY)])
    );
    assert_eq!(
        un("floor", F32(0x7f80_0001), Type::F32),
        ret(&[F32(QNAN32)])
    );
}

#[test]
fn float_to_int_trapping_boundaries() {
    let s32 = |x: DataValue| un("fcvt_to_sint.i32", x, Type::I32);
    let u32_ = |x: DataValue| un("fcvt_to_uint.i32", x, Type::I32);
    let s64 = |x: DataValue| un("fcvt_to_sint.i64", x, Type::I64);
    let u64_ = |x: DataValue| un("fcvt_to_uint.i64", x, Type::I64);
    let ovf = trapped(TrapCode::IntegerOverflow);
    let bad = trapped(TrapCode::BadConversionToInteger);
    assert_eq!(s32(f32v(2147483648.0)), ovf);
    assert_eq!(s32(f32v(-2147483648.0)), ret(&[I32(i32::MIN)]));
    assert_eq!(s32(f32v(2147483520.0)), ret(&[I32(2147483520)])); // largest f32 < 2^31
    assert_eq!(s32(f64v(2147483647.9)), ret(&[I32(i32::MAX)]));
    assert_eq!(s32(f64v(-2147483648.9)), ret(&[I32(i32::MIN)]));
    assert_eq!(s32(f64v(-2147483649.0)), ovf);
    assert_eq!(s32(f32v(-1.9)), ret(&[I32(-1)]));
    assert_eq!(s32(F32(QNAN32)), bad);
    assert_eq!(s32(f32v(f32::INFINITY)), ovf);
    assert_eq!(u32_(f32v(-0.9)), ret(&[I32(0)]));
    assert_eq!(u32_(f64v(-0.0)), ret(&[I32(0)]));
    assert_eq!(u32_(f32v(-1.0)), ovf);
    assert_eq!(u32_(f32v(4294967040.0)), ret(&[I32(-256)])); // largest f32 < 2^32
    assert_eq!(u32_(f32v(4294967296.0)), ovf);
    assert_eq!(u32_(f64v(4294967295.9)), ret(&[I32(-1)]));
    assert_eq!(u32_(F64(0xfff8_0000_0000_0000)), bad);
    assert_eq!(s64(f64v(9223372036854775807.0)), ovf); // that literal is 2^63
    assert_eq!(s64(f64v(-9223372036854775808.0)), ret(&[I64(i64::MIN)]));
    assert_eq!(
        s64(f64v(9223372036854774784.0)),
        ret(&[I64(9223372036854774784)])
    );
    assert_eq!(s64(f32v(-9223372036854775808.0)), ret(&[I64(i64::MIN)]));
    assert_eq!(s64(f32v(9223372036854775808.0)), ovf);
    assert_eq!(u64_(f64v(18446744073709549568.0)), ret(&[I64(-2048)]));
    assert_eq!(u64_(f64v(18446744073709551616.0)), ovf);
    assert_eq!(u64_(f32v(-0.5)), ret(&[I64(0)]));
    assert_eq!(u64_(f64v(-1.0)), ovf);
    assert_eq!(u64_(F32(0x7f80_0001)), bad);
}

#[test]
fn float_to_int_saturating() {
    let s32 = |x: DataValue| un("fcvt_to_sint_sat.i32", x, Type::I32);
    let u32_ = |x: DataValue| un("fcvt_to_uint_sat.i32", x, Type::I32);
    let s64 = |x: DataValue| un("fcvt_to_sint_sat.i64", x, Type::I64);
    let u64_ = |x: DataValue| un("fcvt_to_uint_sat.i64", x, Type::I64);
    assert_eq!(s32(F32(QNAN32)), ret(&[I32(0)]));
    assert_eq!(s32(f32v(1e10)), ret(&[I32(i32::MAX)]));
    assert_eq!(s32(f32v(-1e10)), ret(&[I32(i32::MIN)]));
    assert_eq!(s32(f64v(-3.9)), ret(&[I32(-3)]));
    assert_eq!(u32_(f32v(-5.0)), ret(&[I32(0)]));
    assert_eq!(u32_(f64v(5e9)), ret(&[I32(-1)]));
    assert_eq!(u32_(f64v(3e9)), ret(&[I32(3_000_000_000u32 as i32)]));
    assert_eq!(s64(f64v(f64::NEG_INFINITY)), ret(&[I64(i64::MIN)]));
    assert_eq!(s64(F64(0x7ff0_0000_0000_0001)), ret(&[I64(0)]));
    assert_eq!(u64_(f32v(f32::INFINITY)), ret(&[I64(-1)]));
    assert_eq!(u64_(f64v(-0.0)), ret(&[I64(0)]));
}

#[test]
fn int_to_float_rounds_once_to_nearest_even() {
    let s = |x: DataValue, t: Type| un(&format!("fcvt_from_sint.{t}"), x, t);
    let u = |x: DataValue, t: Type| un(&format!("fcvt_from_uint.{t}"), x, t);
    assert_eq!(s(I32(16777217), Type::F32), ret(&[f32v(16777216.0)]));
    assert_eq!(s(I32(16777219), Type::F32), ret(&[f32v(16777220.0)]));
    assert_eq!(s(I32(-1), Type::F64), ret(&[f64v(-1.0)]));
    assert_eq!(u(I32(-1), Type::F64), ret(&[f64v(4294967295.0)]));
    assert_eq!(u(I32(-1), Type::F32), ret(&[f32v(4294967296.0)]));
    assert_eq!(s(I64(i64::MAX), Type::F32), ret(&[F32(0x5f00_0000)])); // 2^63
    assert_eq!(u(I64(-1), Type::F64), ret(&[F64(0x43f0_0000_0000_0000)])); // 2^64
    assert_eq!(
        s(I64(i64::MIN), Type::F64),
        ret(&[f64v(-9223372036854775808.0)])
    );
    // 2^53 + 2^29 + 1: rounding through f64 first would give 2^53; one rounding gives
    // 2^53 + 2^30.
    assert_eq!(
        u(I64(9007199791611905), Type::F32),
        ret(&[F32(0x5a00_0001)])
    );
    assert_eq!(
        s(I64(9007199791611905), Type::F32),
        ret(&[F32(0x5a00_0001)])
    );
    assert_eq!(
        s(I64(9007199254740993), Type::F64),
        ret(&[f64v(9007199254740992.0)])
    );
}

#[test]
fn promote_demote_bitcast() {
    assert_eq!(un("fpromote.f64", f32v(1.5), Type::F64), ret(&[f64v(1.5)]));
    assert_eq!(
        un("fpromote.f64", f32v(-0.0), Type::F64),
        ret(&[f64v(-0.0)])
    );
    // NaNs keep sign and payload and become quiet, as the hardware does.
    assert_eq!(
        un("fpromote.f64", F32(0x7f80_0001), Type::F64),
        ret(&[F64(0x7ff8_0000_2000_0000)])
    );
    assert_eq!(
        un("fdemote.f32", f64v(1e300), Type::F32),
        ret(&[f32v(f32::INFINITY)])
    );
    assert_eq!(
        un("fdemote.f32", f64v(0.1), Type::F32),
        ret(&[F32(0x3dcc_cccd)])
    );
    assert_eq!(un("fdemote.f32", f64v(1e-50), Type::F32), ret(&[f32v(0.0)]));
    assert_eq!(
        un("fdemote.f32", F64(0xfff0_0000_0000_0001), Type::F32),
        ret(&[F32(0xffc0_0000)])
    );
    assert_eq!(
        un("bitcast.f32", I32(0x3fc0_0000), Type::F32),
        ret(&[f32v(1.5)])
    );
    assert_eq!(
        un("bitcast.i32", F32(0xff80_0001), Type::I32),
        ret(&[I32(0xff80_0001u32 as i32)])
    );
    assert_eq!(
        un("bitcast.i64", f64v(-0.0), Type::I64),
        ret(&[I64(i64::MIN)])
    );
    assert_eq!(
        un("bitcast.f64", I64(0x7ff0_0000_0000_0001), Type::F64),
        ret(&[F64(0x7ff0_0000_0000_0001)])
    );
    // Vector bitcasts reinterpret little-endian bytes.
    let v = vec_of(
        Type::I8X16,
        &[
            1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80,
        ],
    );
    assert_eq!(
        un("bitcast.i32x4", v, Type::I32X4),
        ret(&[vec_of(Type::I32X4, &[1, 2, 0xffff_ffff, 0x8000_0000])])
    );
    let v = vec_of(Type::I64X2, &[0x3ff0_0000_0000_0000, 0x8000_0000_0000_0000]);
    assert_eq!(
        un("bitcast.f64x2", v, Type::F64X2),
        ret(&[vec_of(
            Type::F64X2,
            &[0x3ff0_0000_0000_0000, 0x8000_0000_0000_0000]
        )])
    );
}

#[test]
fn vector_lane_operations() {
    let a = vec_of(
        Type::I8X16,
        &[0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x80],
    );
    let b = vec_of(Type::I8X16, &[1; 16]);
    assert_eq!(
        bin("iadd", a, b),
        ret(&[vec_of(
            Type::I8X16,
            &[0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x81]
        )])
    );
    assert_eq!(
        bin("isub", b, a),
        ret(&[vec_of(
            Type::I8X16,
            &[
                2, 0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4, 0xf3,
                0x81
            ]
        )])
    );
    let x = vec_of(Type::I16X8, &[0x100, 0xffff, 3, 0x8000, 0, 1, 2, 0x7fff]);
    let y = vec_of(Type::I16X8, &[0x100, 0xffff, 5, 2, 9, 1, 2, 2]);
    assert_eq!(
        bin("imul", x, y),
        ret(&[vec_of(Type::I16X8, &[0, 1, 15, 0, 0, 1, 4, 0xfffe])])
    );
    let p = vec_of(Type::I64X2, &[0xf0f0, u64::MAX]);
    let q = vec_of(Type::I64X2, &[0xff00, 1]);
    assert_eq!(bin("band", p, q), ret(&[vec_of(Type::I64X2, &[0xf000, 1])]));
    assert_eq!(
        bin("bor", p, q),
        ret(&[vec_of(Type::I64X2, &[0xfff0, u64::MAX])])
    );
    assert_eq!(
        bin("bxor", p, q),
        ret(&[vec_of(Type::I64X2, &[0x0ff0, u64::MAX - 1])])
    );
    assert_eq!(
        bin("band_not", p, q),
        ret(&[vec_of(Type::I64X2, &[0x00f0, u64::MAX - 1])])
    );
    assert_eq!(
        un("bnot", p, Type::I64X2),
        ret(&[vec_of(Type::I64X2, &[!0xf0f0, 0])])
    );
    // icmp lane masks: signed vs unsigned.
    let m = vec_of(Type::I32X4, &[0xffff_ffff, 1, 5, 0x8000_0000]);
    let n = vec_of(Type::I32X4, &[1, 0xffff_ffff, 5, 0x7fff_ffff]);
    let src = binop_src("icmp slt", Type::I32X4, Type::I32X4);
    assert_eq!(
        run(&src, &[m, n]),
        ret(&[vec_of(Type::I32X4, &[0xffff_ffff, 0, 0, 0xffff_ffff])])
    );
    let src = binop_src("icmp ult", Type::I32X4, Type::I32X4);
    assert_eq!(
        run(&src, &[m, n]),
        ret(&[vec_of(Type::I32X4, &[0, 0xffff_ffff, 0, 0])])
    );
    let src = binop_src("icmp eq", Type::I32X4, Type::I32X4);
    assert_eq!(
        run(&src, &[m, n]),
        ret(&[vec_of(Type::I32X4, &[0, 0, 0xffff_ffff, 0])])
    );
}

#[test]
fn splat_extract_insert_vconst() {
    let src = "function %f(i16) -> i16x8, i16, i16x8 {
block0(v0: i16):
    v1 = splat.i16x8 v0
    v2 = vconst.i16x8 [0 1 2 3 4 5 6 -1]
    v3 = extractlane v2, 7
    v4 = insertlane v2, v0, 3
    return v1, v3, v4
}";
    assert_eq!(
        run(src, &[I16(-2)]),
        ret(&[
            vec_of(Type::I16X8, &[0xfffe; 8]),
            I16(-1),
            vec_of(Type::I16X8, &[0, 1, 2, 0xfffe, 4, 5, 6, 0xffff]),
        ])
    );
    let src = "function %f(f64) -> f64x2, f64 {
block0(v0: f64):
    v1 = vconst.f64x2 [1.5 -nan]
    v2 = insertlane v1, v0, 0
    v3 = extractlane v1, 1
    return v2, v3
}";
    assert_eq!(
        run(src, &[F64(0x7ff0_0000_0000_0001)]),
        ret(&[
            vec_of(Type::F64X2, &[0x7ff0_0000_0000_0001, 0xfff8_0000_0000_0000]),
            F64(0xfff8_0000_0000_0000),
        ])
    );
}

#[test]
fn heap_loads_and_stores_little_endian_with_extension() {
    let src = "function %f(i64) -> i32, i32, i32, i64, i64, i64, i64, i16, i32 {
block0(v0: i64):
    v1 = load.i32 v0
    v2 = uload8.i32 v0+3
    v3 = sload8.i32 v0+3
    v4 = uload16.i64 v0+2
    v5 = sload16.i64 v0+2
    v6 = uload32.i64 v0+4
    v7 = sload32.i64 v0+4
    v8 = sload8.i16 v0+7
    v9 = sload16.i32 v0
    return v1, v2, v3, v4, v5, v6, v7, v8, v9
}";
    let base = 0x1_0000;
    let mut heaps = [Heap {
        base,
        bytes: vec![0x01, 0x02, 0x83, 0x94, 0xff, 0xff, 0xff, 0xff],
    }];
    assert_eq!(
        run_with(src, &[I64(base as i64)], &mut heaps),
        ret(&[
            I32(0x9483_0201u32 as i32),
            I32(0x94),
            I32(-0x6c), // 0x94 sign-extended
            I64(0x9483),
            I64(0x9483 - 0x10000),
            I64(0xffff_ffff),
            I64(-1),
            I16(-1),
            I32(0x0201),
        ])
    );
    let src = "function %f(i64, i64) {
block0(v0: i64, v1: i64):
    store v1, v0
    istore8 v1, v0+8
    istore16 v1, v0+10
    istore32 v1, v0+12
    v2 = iconst.i16 -2
    istore8 v2, v0+16
    v3 = fconst.f32 1.5
    store v3, v0+20
    return
}";
    let mut heaps = [Heap::zeroed(base, 24)];
    let out = run_with(
        src,
        &[I64(base as i64), I64(0x0807_0605_0403_0201)],
        &mut heaps,
    );
    assert_eq!(out, ret(&[]));
    assert_eq!(
        heaps[0].bytes,
        [
            1, 2, 3, 4, 5, 6, 7, 8, // store
            1, 0, // istore8
            1, 2, // istore16
            1, 2, 3, 4, // istore32
            0xfe, 0, 0, 0, // istore8 of i16
            0, 0, 0xc0, 0x3f, // 1.5f32
        ]
    );
}

#[test]
fn negative_offsets_and_vector_memory() {
    let src = "function %f(i64) -> i32x4 {
block0(v0: i64):
    v1 = load.i32x4 v0-16
    v2 = iadd v1, v1
    store v2, v0
    v3 = load.i32x4 v0
    return v3
}";
    let mut bytes = vec![0u8; 32];
    bytes[..16].copy_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0x80]);
    let mut heaps = [Heap {
        base: 0x2000,
        bytes,
    }];
    let out = run_with(src, &[I64(0x2010)], &mut heaps);
    assert_eq!(out, ret(&[vec_of(Type::I32X4, &[2, 4, 6, 0])]));
    assert_eq!(heaps[0].bytes[16..20], [2, 0, 0, 0]);
}

#[test]
fn memory_faults_report_address_size_and_direction() {
    let load = "function %f(i64) -> i32 {
block0(v0: i64):
    v1 = load.i32 v0+2
    return v1
}";
    let mut heaps = [Heap::zeroed(0x1000, 8)];
    assert_eq!(run_with(load, &[I64(0x1000)], &mut heaps), ret(&[I32(0)]));
    assert_eq!(
        run_with(load, &[I64(0x1004)], &mut heaps),
        Outcome::MemoryFault {
            addr: 0x1006,
            size: 4,
            write: false
        }
    );
    assert_eq!(
        run_with(load, &[I64(0xffe)], &mut heaps),
        ret(&[I32(0)]),
        "0xffe+2 is the heap start"
    );
    assert_eq!(
        run_with(load, &[I64(-1)], &mut heaps),
        Outcome::MemoryFault {
            addr: 1,
            size: 4,
            write: false
        },
        "address arithmetic wraps"
    );
    let store = "function %f(i64) {
block0(v0: i64):
    v1 = iconst.i64 0
    istore16 v1, v0
    return
}";
    assert_eq!(
        run_with(store, &[I64(0x1007)], &mut heaps),
        Outcome::MemoryFault {
            addr: 0x1007,
            size: 2,
            write: true
        }
    );
    assert_eq!(
        run_with(store, &[I64(0)], &mut []),
        Outcome::MemoryFault {
            addr: 0,
            size: 2,
            write: true
        }
    );
}

#[test]
fn stack_slots() {
    let src = "function %f(i64) -> i64, i32, i8 {
    ss0 = explicit_slot 8
    ss1 = explicit_slot 4, align = 4

block0(v0: i64):
    stack_store v0, ss0
    v1 = stack_addr ss0+4
    v2 = load.i32 v1
    v3 = iconst.i32 -7
    stack_store v3, ss1
    v4 = stack_load.i32 ss1
    v5 = stack_addr ss1
    v6 = stack_addr ss0
    v7 = icmp ne v5, v6
    v8 = stack_load.i64 ss0
    v12 = uextend.i64 v2
    v9 = iadd v8, v12
    v10 = sextend.i64 v4
    v11 = iadd v9, v10
    return v11, v2, v7
}";
    // v8 = 0x1_0000_0002, v2 = high half = 1, v4 = -7.
    assert_eq!(
        run(src, &[I64(0x1_0000_0002)]),
        ret(&[I64(0x1_0000_0002 + 1 - 7), I32(1), I8(1)])
    );
    // Slots are zero-initialized and reads past a slot's end fault.
    let src = "function %f() -> i64 {
    ss0 = explicit_slot 4

block0:
    v0 = stack_addr ss0
    v1 = load.i64 v0
    return v1
}";
    match run(src, &[]) {
        Outcome::MemoryFault {
            addr,
            size: 8,
            write: false,
        } => {
            assert!(addr >= STACK_BASE, "{addr:#x}")
        }
        o => panic!("{o}"),
    }
    let src = "function %f() -> i32 {
    ss0 = explicit_slot 4

block0:
    v0 = stack_load.i32 ss0
    return v0
}";
    assert_eq!(run(src, &[]), ret(&[I32(0)]));
}

#[test]
fn each_frame_has_its_own_slots() {
    // u0:1(n) stores n in its slot, recurses with n-1 (until 0), then reads its slot back:
    // returns sum of n..0 only if frames don't share slots.
    let src = "function %f(i32) -> i32 {
    sig0 = (i32) -> i32
    fn0 = u0:1 sig0

block0(v0: i32):
    v1 = call fn0(v0)
    return v1
}

function u0:1(i32) -> i32 {
    ss0 = explicit_slot 4
    sig0 = (i32) -> i32
    fn0 = u0:1 sig0

block0(v0: i32):
    stack_store v0, ss0
    brif v0, block1, block2

block1:
    v1 = iconst.i32 1
    v2 = isub v0, v1
    v3 = call fn0(v2)
    v4 = stack_load.i32 ss0
    v5 = iadd v3, v4
    return v5

block2:
    v6 = iconst.i32 0
    return v6
}";
    assert_eq!(run(src, &[I32(10)]), ret(&[I32(55)]));
}

#[test]
fn parallel_block_arguments_swap() {
    // Swap (a, b) n times: odd n swaps them.
    let src = "function %f(i32, i32, i32) -> i32, i32 {
block0(v0: i32, v1: i32, v2: i32):
    jump block1(v0, v1, v2)

block1(v3: i32, v4: i32, v5: i32):
    brif v5, block2, block3

block2:
    v6 = iconst.i32 1
    v7 = isub v5, v6
    jump block1(v4, v3, v7)

block3:
    return v3, v4
}";
    assert_eq!(run(src, &[I32(1), I32(2), I32(3)]), ret(&[I32(2), I32(1)]));
    assert_eq!(run(src, &[I32(1), I32(2), I32(4)]), ret(&[I32(1), I32(2)]));
    // A block passing its own parameters rotated to itself.
    let src = "function %f(i64, i64, i64, i8) -> i64, i64, i64 {
block0(v0: i64, v1: i64, v2: i64, v3: i8):
    jump block1(v0, v1, v2, v3)

block1(v4: i64, v5: i64, v6: i64, v7: i8):
    v8 = iconst.i8 1
    v9 = isub v7, v8
    brif v7, block1(v5, v6, v4, v9), block2

block2:
    return v4, v5, v6
}";
    // Rotated once per non-zero counter value: counter 2 → two rotations.
    assert_eq!(
        run(src, &[I64(1), I64(2), I64(3), I8(2)]),
        ret(&[I64(3), I64(1), I64(2)])
    );
}

#[test]
fn br_table_indexes_unsigned_with_default() {
    let src = "function %f(i32) -> i32 {
block0(v0: i32):
    v1 = iconst.i32 100
    br_table v0, block3(v1), [block1, block2(v0)]

block1:
    v2 = iconst.i32 10
    return v2

block2(v3: i32):
    v4 = iconst.i32 20
    v5 = iadd v3, v4
    return v5

block3(v6: i32):
    return v6
}";
    assert_eq!(run(src, &[I32(0)]), ret(&[I32(10)]));
    assert_eq!(run(src, &[I32(1)]), ret(&[I32(21)]));
    assert_eq!(run(src, &[I32(2)]), ret(&[I32(100)]));
    assert_eq!(run(src, &[I32(-1)]), ret(&[I32(100)]));
    assert_eq!(run(src, &[I32(i32::MIN)]), ret(&[I32(100)]));
}

#[test]
fn traps() {
    let src = "function %f(i32, i64) -> i32 {
block0(v0: i32, v1: i64):
    trapz v0, heap_oob
    trapnz v1, user7
    brif v0, block1, block2

block1:
    trap unreachable

block2:
    return v0
}";
    assert_eq!(
        run(src, &[I32(0), I64(0)]),
        trapped(TrapCode::HeapOutOfBounds)
    );
    assert_eq!(run(src, &[I32(1), I64(1)]), trapped(TrapCode::User(7)));
    assert_eq!(run(src, &[I32(1), I64(0)]), trapped(TrapCode::Unreachable));
    let src = "function %f(i8) {
block0(v0: i8):
    trapnz v0, int_ovf
    return
}";
    assert_eq!(run(src, &[I8(-128)]), trapped(TrapCode::IntegerOverflow));
    assert_eq!(run(src, &[I8(0)]), ret(&[]));
}

const CALLS: &str = "function %main(i32, i32) -> i32, i32 {
    sig0 = (i32, i32) -> i32, i32
    fn0 = u0:7 sig0

block0(v0: i32, v1: i32):
    v2, v3 = call fn0(v0, v1)
    return v2, v3
}

function u0:7(i32, i32) -> i32, i32 {
block0(v0: i32, v1: i32):
    v2 = sdiv v0, v1
    v3 = srem v0, v1
    return v2, v3
}";

#[test]
fn direct_calls_and_multiple_results() {
    assert_eq!(run(CALLS, &[I32(7), I32(2)]), ret(&[I32(3), I32(1)]));
    // A trap in the callee ends the whole call.
    assert_eq!(
        run(CALLS, &[I32(7), I32(0)]),
        trapped(TrapCode::IntegerDivisionByZero)
    );
    // The callee can be run directly too.
    let fs = parse(CALLS);
    let mut interp = Interpreter::new(&fs);
    assert_eq!(
        interp.call(1, &[I32(-7), I32(2)], &mut []),
        ret(&[I32(-3), I32(-1)])
    );
    assert_eq!(
        interp.find_function(&UserFuncName::testcase("main")),
        Some(0)
    );
}

#[test]
fn recursion_factorial() {
    let src = "function u0:0(i64) -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:0 sig0

block0(v0: i64):
    v1 = iconst.i64 1
    v2 = icmp sle v0, v1
    brif v2, block2, block1

block1:
    v3 = isub v0, v1
    v4 = call fn0(v3)
    v5 = imul v0, v4
    return v5

block2:
    return v1
}";
    assert_eq!(run(src, &[I64(20)]), ret(&[I64(2432902008176640000)]));
    assert_eq!(run(src, &[I64(0)]), ret(&[I64(1)]));
}

#[test]
fn unbounded_recursion_is_stack_overflow() {
    let src = "function u0:0(i64) -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:0 sig0

block0(v0: i64):
    v1 = call fn0(v0)
    return v1
}";
    assert_eq!(run(src, &[I64(0)]), trapped(TrapCode::StackOverflow));
}

#[test]
fn calls_to_missing_functions_are_errors() {
    let src = "function %f() -> i32 {
    sig0 = () -> i32
    fn0 = u3:4 sig0

block0:
    v0 = call fn0()
    return v0
}";
    match run(src, &[]) {
        Outcome::Error(e) => assert!(e.contains("u3:4"), "{e}"),
        o => panic!("{o}"),
    }
    // Declared with the wrong signature.
    let src = "function %f() -> i32 {
    sig0 = () -> i32
    fn0 = u0:1 sig0

block0:
    v0 = call fn0()
    return v0
}

function u0:1() -> i64 {
block0:
    v0 = iconst.i64 1
    return v0
}";
    assert!(is_error(&run(src, &[])));
}

#[test]
fn call_indirect_through_func_addr() {
    let src = "function %f(i64) -> f32 {
    sig0 = (f32) -> f32
    sig1 = (i32) -> i32
    fn0 = u0:2 sig0
    fn1 = libcall nearest_f32 sig0
    fn2 = u0:3 sig1

block0(v0: i64):
    v1 = func_addr fn0
    v2 = func_addr fn1
    v3 = fconst.f32 2.5
    v4 = call_indirect sig0, v1(v3)
    v5 = call_indirect sig0, v2(v4)
    v6 = call fn1(v3)
    v7 = fadd v5, v6
    v8 = func_addr fn2
    v9 = icmp eq v0, v8
    brif v9, block1, block2

block1:
    return v7

block2:
    v10 = call_indirect sig0, v0(v3)
    return v10
}

function u0:2(f32) -> f32 {
block0(v0: f32):
    v1 = fadd v0, v0
    return v1
}

function u0:3(i32) -> i32 {
block0(v0: i32):
    return v0
}";
    let fs = parse(src);
    let mut interp = Interpreter::new(&fs);
    // func_addr of u0:3 (function index 2): nearest(2.5*2) + nearest(2.5) = 5 + 2.
    let addr3 = (FUNC_ADDR_BASE + 2 * 16) as i64;
    assert_eq!(interp.call(0, &[I64(addr3)], &mut []), ret(&[f32v(7.0)]));
    // Calling u0:2 (index 1) indirectly through the argument: 2.5 + 2.5.
    let addr2 = (FUNC_ADDR_BASE + 16) as i64;
    assert_eq!(interp.call(0, &[I64(addr2)], &mut []), ret(&[f32v(5.0)]));
    fn bad(a: i64, interp: &mut Interpreter<'_>) -> Outcome {
        interp.call(0, &[I64(a)], &mut [])
    }
    // %g calls whatever its argument points at, through sig0.
    let src2 = "function %g(i64) -> f32 {
    sig0 = (f32) -> f32

block0(v0: i64):
    v1 = fconst.f32 1.0
    v2 = call_indirect sig0, v0(v1)
    return v2
}";
    let mut fs2 = parse(src2);
    fs2.extend(parse(src).into_iter().skip(1));
    let mut i2 = Interpreter::new(&fs2);
    // Index 2 is u0:3: (i32) -> i32.
    assert!(is_error(&bad((FUNC_ADDR_BASE + 32) as i64, &mut i2)));
    // Index 1 is u0:2: fine.
    assert_eq!(
        bad((FUNC_ADDR_BASE + 16) as i64, &mut i2),
        ret(&[f32v(2.0)])
    );
    // Not a function address at all, or misaligned, or past the last function.
    assert!(is_error(&bad(0, &mut i2)));
    assert!(is_error(&bad((FUNC_ADDR_BASE + 17) as i64, &mut i2)));
    assert!(is_error(&bad((FUNC_ADDR_BASE + 16 * 3) as i64, &mut i2)));
    // A libcall address (ceil_f32 is libcall 0).
    assert_eq!(bad(LIBCALL_ADDR_BASE as i64, &mut i2), ret(&[f32v(1.0)]));
}

#[test]
fn libcalls_round() {
    let src = "function %f(f64) -> f64, f64, f64, f64 {
    sig0 = (f64) -> f64
    fn0 = libcall ceil_f64 sig0
    fn1 = libcall floor_f64 sig0
    fn2 = libcall trunc_f64 sig0
    fn3 = libcall nearest_f64 sig0

block0(v0: f64):
    v1 = call fn0(v0)
    v2 = call fn1(v0)
    v3 = call fn2(v0)
    v4 = call fn3(v0)
    return v1, v2, v3, v4
}";
    assert_eq!(
        run(src, &[f64v(-2.5)]),
        ret(&[f64v(-2.0), f64v(-3.0), f64v(-2.0), f64v(-2.0)])
    );
    assert_eq!(
        run(src, &[f64v(0.5)]),
        ret(&[f64v(1.0), f64v(0.0), f64v(0.0), f64v(0.0)])
    );
}

#[test]
fn fuel_counts_every_instruction() {
    let src = "function %f(i32) -> i32 {
block0(v0: i32):
    v1 = iadd v0, v0
    v2 = iadd v1, v1
    return v2
}";
    let fs = parse(src);
    let mut i = Interpreter::new(&fs).with_fuel(3);
    assert_eq!(i.call(0, &[I32(1)], &mut []), ret(&[I32(4)]));
    assert_eq!(i.fuel_used(), 3);
    let mut i = Interpreter::new(&fs).with_fuel(2);
    assert_eq!(i.call(0, &[I32(1)], &mut []), Outcome::OutOfFuel);
    // An infinite loop runs out of fuel, not into a trap.
    let src = "function %f() {
block0:
    jump block1

block1:
    jump block1
}";
    let fs = parse(src);
    let mut i = Interpreter::new(&fs).with_fuel(1000);
    assert_eq!(i.call(0, &[], &mut []), Outcome::OutOfFuel);
    assert_eq!(i.fuel_used(), 1000);
    // Fuel is shared by callees: CALLS runs 2 + 3 instructions.
    let fs = parse(CALLS);
    let mut i = Interpreter::new(&fs).with_fuel(5);
    assert_eq!(
        i.call(0, &[I32(7), I32(2)], &mut []),
        ret(&[I32(3), I32(1)])
    );
    let mut i = Interpreter::new(&fs).with_fuel(4);
    assert_eq!(i.call(0, &[I32(7), I32(2)], &mut []), Outcome::OutOfFuel);
}

#[test]
fn bad_arguments_are_errors() {
    let fs = parse(CALLS);
    let mut i = Interpreter::new(&fs);
    assert!(is_error(&i.call(0, &[I32(1)], &mut [])));
    assert!(is_error(&i.call(0, &[I32(1), I64(1)], &mut [])));
    assert!(is_error(&i.call(5, &[], &mut [])));
    // The interpreter is reusable after an error.
    assert_eq!(
        i.call(0, &[I32(9), I32(4)], &mut []),
        ret(&[I32(2), I32(1)])
    );
}

#[test]
fn interpreter_is_reusable_across_outcomes() {
    let fs = parse(CALLS);
    let mut i = Interpreter::new(&fs);
    for _ in 0..3 {
        assert_eq!(
            i.call(0, &[I32(1), I32(0)], &mut []),
            trapped(TrapCode::IntegerDivisionByZero)
        );
        assert_eq!(
            i.call(0, &[I32(-9), I32(4)], &mut []),
            ret(&[I32(-2), I32(-1)])
        );
    }
}

#[test]
fn stack_accesses_outside_the_slot_fault() {
    let src = "function %f(i64) {
    ss0 = explicit_slot 8

block0(v0: i64):
    v1 = stack_addr ss0+4
    store v0, v1
    return
}";
    match run(src, &[I64(1)]) {
        Outcome::MemoryFault {
            addr,
            size: 8,
            write: true,
        } => {
            assert!(addr >= STACK_BASE + 4, "{addr:#x}")
        }
        o => panic!("{o}"),
    }
}

#[test]
fn func_addr_of_missing_function_is_an_error() {
    let src = "function %f() -> i64 {
    sig0 = () -> i64
    fn0 = u1:1 sig0

block0:
    v0 = func_addr fn0
    return v0
}";
    assert!(is_error(&run(src, &[])));
}

/// `%h(addr, heap)`: `call_indirect` host function 0 at `addr` through `(i64, i32) -> i32`
/// with (0x1_0000_0010, 7) after storing 5 at heap+2; returns its result and heap byte 1.
const HOST_SRC: &str = "function %h(i64, i64) -> i32, i32 {
    sig0 = (i64, i32) -> i32

block0(v0: i64, v1: i64):
    v2 = iconst.i8 5
    store v2, v1+2
    v3 = iconst.i64 0x1_0000_0010
    v4 = iconst.i32 7
    v5 = call_indirect sig0, v0(v3, v4)
    v6 = uload8.i32 v1+1
    return v5, v6
}

function %wrong_sig(i64, i64) -> i32 {
    sig0 = (i64) -> i32

block0(v0: i64, v1: i64):
    v2 = call_indirect sig0, v0(v1)
    return v2
}

function %void(i64, i64) {
    sig0 = ()

block0(v0: i64, v1: i64):
    v2 = iconst.i32 1
    store v2, v1+8
    call_indirect sig0, v0()
    v3 = iconst.i32 2
    store v3, v1+8
    return
}

function %ret_i32(i64, i64) -> i32 {
    sig0 = () -> i32

block0(v0: i64, v1: i64):
    v2 = call_indirect sig0, v0()
    return v2
}
";

#[test]
fn host_calls_see_and_change_the_heaps() {
    use crate::host::testing::TestHost;
    let fs = parse(HOST_SRC);
    let mut interp = Interpreter::new(&fs);
    let mut host = TestHost::new();
    let mut heaps = [Heap::zeroed(0x1000, 16)];
    let args = [I64(host_function_address(0) as i64), I64(0x1000)];
    // 0x10 + 7 + heap[2] = 28; the host bumped heap[0] and wrote heap[1].
    assert_eq!(
        interp.call_with_host(0, &args, &mut heaps, &mut host),
        ret(&[I32(28), I32(28)])
    );
    assert_eq!(&heaps[0].bytes[..4], &[1, 28, 5, 0]);
    // The `call_indirect` costs 1 fuel, the host call nothing more.
    assert_eq!(interp.fuel_used(), 7);
    assert_eq!(host.calls, 1);
    // Out of fuel at the `call_indirect`: the host is not called.
    let mut short = Interpreter::new(&fs).with_fuel(4);
    let o = short.call_with_host(0, &args, &mut heaps, &mut host);
    assert_eq!(o, Outcome::OutOfFuel);
    assert_eq!(host.calls, 1);
}

#[test]
fn host_call_errors_and_outcomes() {
    use crate::host::testing::TestHost;
    use crate::host::MAX_HOST_FUNCTIONS;
    let fs = parse(HOST_SRC);
    let mut interp = Interpreter::new(&fs);
    let mut host = TestHost::new();
    let mut heaps = [Heap::zeroed(0x1000, 16)];
    let mut run = |f: usize, n: u32, host: &mut TestHost, heaps: &mut [Heap]| {
        let args = [I64(host_function_address(n) as i64), I64(0x1000)];
        interp.call_with_host(f, &args, heaps, host)
    };
    // Without a host, and with a host whose function has another signature.
    let args = [I64(host_function_address(0) as i64), I64(0x1000)];
    assert!(is_error(&interp_call(&fs, &args, &mut heaps)));
    let o = run(1, 0, &mut host, &mut heaps);
    assert!(
        matches!(&o, Outcome::Error(m) if m.contains("host function 0")),
        "{o}"
    );
    assert_eq!(host.calls, 0, "a mismatched call does not reach the host");
    // Host function 2 ends the run: the store after the call does not happen.
    assert_eq!(run(2, 2, &mut host, &mut heaps), trapped(TrapCode::User(7)));
    assert_eq!(&heaps[0].bytes[8..12], &[1, 0, 0, 0]);
    // Results that do not match the signature.
    assert!(is_error(&run(3, 5, &mut host, &mut heaps)));
    // A moved heap: the store through the old base faults; the heap stays moved.
    let moved = Outcome::MemoryFault {
        addr: 0x1008,
        size: 4,
        write: true,
    };
    assert_eq!(run(2, 6, &mut host, &mut heaps), moved);
    assert_eq!(heaps[0].base, 0x1000 + crate::host::testing::MOVE);
    heaps[0].base = 0x1000;
    // Past the last host function, and between two.
    assert!(is_error(&run(2, MAX_HOST_FUNCTIONS, &mut host, &mut heaps)));
    let args = [I64(host_function_address(2) as i64 + 8), I64(0x1000)];
    assert!(is_error(
        &interp.call_with_host(2, &args, &mut heaps, &mut host)
    ));
}

/// Call the first function of `fs` without a host.
fn interp_call(fs: &[Function], args: &[DataValue], heaps: &mut [Heap]) -> Outcome {
    Interpreter::new(fs).call(0, args, heaps)
}
