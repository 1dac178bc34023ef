//! Hand-written modules for each translated Wasm feature and each trap, run on all three
//! engines (interpreter on the translated IR, x86_64 and AArch64 under emulation). The
//! expected outcomes are written from the Wasm specification, not taken from Kiln.

use kiln::ir::TrapCode;
use kiln_harness::engine::{EngineKind, EngineSettings};
use kiln_harness::instance::Instance;
use kiln_harness::outcome::Outcome;
use kiln_harness::value::DataValue;

use DataValue::{F32, F64, I32, I64};

enum Want {
    Ret(Vec<DataValue>),
    Trap(TrapCode),
}

fn ret(v: &[DataValue]) -> Want {
    Want::Ret(v.to_vec())
}

/// Instantiate `wat` on every engine and check each `(export, args, want)` in order on one
/// instance per engine.
fn check(wat: &str, calls: &[(&str, &[DataValue], Want)]) {
    let wasm = wat::parse_str(wat).expect("test module parses");
    for engine in [EngineKind::Interp, EngineKind::X86_64, EngineKind::Aarch64] {
        let mut inst = Instance::new(&wasm, engine, &EngineSettings::default())
            .unwrap_or_else(|e| panic!("{}: {e}\n{wat}", engine.name()));
        inst.set_fuel(50_000_000);
        for (name, args, want) in calls {
            let got = inst.invoke(name, args);
            let ok = match (want, &got) {
                (Want::Ret(w), Outcome::Returned(g)) => w == g,
                (Want::Trap(c), Outcome::Trapped(g)) => c == g,
                _ => false,
            };
            let want_s = match want {
                Want::Ret(w) => format!("{w:?}"),
                Want::Trap(c) => format!("trap {c}"),
            };
            assert!(
                ok,
                "{} {name}{args:?}: got {got}, want {want_s}",
                engine.name()
            );
        }
    }
}

#[test]
fn integer_arithmetic_and_traps() {
    check(
        r#"(module
          (func (export "div_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
          (func (export "rem_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.rem_s)
          (func (export "div_u64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.div_u)
          (func (export "rotl") (param i32 i32) (result i32) local.get 0 local.get 1 i32.rotl)
          (func (export "shr_s64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.shr_s)
          (func (export "clz") (param i64) (result i64) local.get 0 i64.clz)
          (func (export "ext8") (param i32) (result i32) local.get 0 i32.extend8_s)
          (func (export "ext32") (param i64) (result i64) local.get 0 i64.extend32_s)
          (func (export "eqz") (param i64) (result i32) local.get 0 i64.eqz)
          (func (export "lt_u") (param i32 i32) (result i32) local.get 0 local.get 1 i32.lt_u)
          (func (export "wrap") (param i64) (result i32) local.get 0 i32.wrap_i64)
          (func (export "unreachable") unreachable))"#,
        &[
            ("div_s", &[I32(7), I32(-2)], ret(&[I32(-3)])),
            (
                "div_s",
                &[I32(1), I32(0)],
                Want::Trap(TrapCode::IntegerDivisionByZero),
            ),
            (
                "div_s",
                &[I32(i32::MIN), I32(-1)],
                Want::Trap(TrapCode::IntegerOverflow),
            ),
            ("rem_s", &[I32(i32::MIN), I32(-1)], ret(&[I32(0)])),
            ("rem_s", &[I32(-7), I32(2)], ret(&[I32(-1)])),
            ("div_u64", &[I64(-1), I64(2)], ret(&[I64(i64::MAX)])),
            (
                "rotl",
                &[I32(0x8000_0001u32 as i32), I32(33)],
                ret(&[I32(3)]),
            ),
            ("shr_s64", &[I64(-16), I64(66)], ret(&[I64(-4)])),
            ("clz", &[I64(1)], ret(&[I64(63)])),
            ("ext8", &[I32(0x80)], ret(&[I32(-128)])),
            ("ext32", &[I64(0xffff_ffff)], ret(&[I64(-1)])),
            ("eqz", &[I64(0)], ret(&[I32(1)])),
            ("lt_u", &[I32(-1), I32(1)], ret(&[I32(0)])),
            ("wrap", &[I64(0x1_0000_0005)], ret(&[I32(5)])),
            ("unreachable", &[], Want::Trap(TrapCode::Unreachable)),
        ],
    );
}

#[test]
fn float_operations_and_conversions() {
    let f32b = |x: f32| F32(x.to_bits());
    let f64b = |x: f64| F64(x.to_bits());
    check(
        r#"(module
          (func (export "min") (param f64 f64) (result f64) local.get 0 local.get 1 f64.min)
          (func (export "nearest") (param f32) (result f32) local.get 0 f32.nearest)
          (func (export "copysign") (param f64 f64) (result f64) local.get 0 local.get 1 f64.copysign)
          (func (export "ne") (param f32 f32) (result i32) local.get 0 local.get 1 f32.ne)
          (func (export "trunc_s") (param f64) (result i32) local.get 0 i32.trunc_f64_s)
          (func (export "trunc_u64") (param f32) (result i64) local.get 0 i64.trunc_f32_u)
          (func (export "sat_s") (param f64) (result i32) local.get 0 i32.trunc_sat_f64_s)
          (func (export "sat_u") (param f32) (result i32) local.get 0 i32.trunc_sat_f32_u)
          (func (export "cvt_u") (param i64) (result f64) local.get 0 f64.convert_i64_u)
          (func (export "demote") (param f64) (result f32) local.get 0 f32.demote_f64)
          (func (export "reinterpret") (param f32) (result i32) local.get 0 i32.reinterpret_f32))"#,
        &[
            ("min", &[f64b(-0.0), f64b(0.0)], ret(&[f64b(-0.0)])),
            ("nearest", &[f32b(2.5)], ret(&[f32b(2.0)])),
            ("nearest", &[f32b(-3.5)], ret(&[f32b(-4.0)])),
            ("copysign", &[f64b(3.0), f64b(-0.0)], ret(&[f64b(-3.0)])),
            ("ne", &[F32(0x7fc0_0000), F32(0x7fc0_0000)], ret(&[I32(1)])),
            ("trunc_s", &[f64b(-2.9)], ret(&[I32(-2)])),
            (
                "trunc_s",
                &[f64b(2147483648.0)],
                Want::Trap(TrapCode::IntegerOverflow),
            ),
            (
                "trunc_s",
                &[F64(0x7ff8_0000_0000_0000)],
                Want::Trap(TrapCode::BadConversionToInteger),
            ),
            ("trunc_u64", &[f32b(-0.9)], ret(&[I64(0)])),
            (
                "trunc_u64",
                &[f32b(-1.0)],
                Want::Trap(TrapCode::IntegerOverflow),
            ),
            ("sat_s", &[f64b(1e10)], ret(&[I32(i32::MAX)])),
            ("sat_s", &[F64(0x7ff8_0000_0000_0000)], ret(&[I32(0)])),
            ("sat_u", &[f32b(-5.0)], ret(&[I32(0)])),
            ("cvt_u", &[I64(-1)], ret(&[f64b(18446744073709551616.0)])),
            ("demote", &[f64b(1.5)], ret(&[f32b(1.5)])),
            ("reinterpret", &[f32b(-0.0)], ret(&[I32(i32::MIN)])),
        ],
    );
}

#[test]
fn control_flow_and_multi_value() {
    check(
        r#"(module
          (func $swap (param i32 i32) (result i32 i32) local.get 1 local.get 0)
          (func (export "swap_sub") (param i32 i32) (result i32)
            local.get 0 local.get 1 call $swap i32.sub)
          (func (export "fact") (param i64) (result i64) (local i64)
            i64.const 1 local.set 1
            block $done
              loop $l
                local.get 0 i64.eqz br_if $done
                local.get 1 local.get 0 i64.mul local.set 1
                local.get 0 i64.const 1 i64.sub local.set 0
                br $l
              end
            end
            local.get 1)
          (func (export "block_params") (param i32) (result i32)
            local.get 0 i32.const 10
            block (param i32 i32) (result i32) i32.add end)
          (func (export "loop_params") (param i32) (result i32)
            ;; sums n + (n-1) + ... + 1 with the accumulator and counter as loop params
            i32.const 0 local.get 0
            loop (param i32 i32) (result i32)
              local.tee 0 i32.add
              local.get 0 i32.const 1 i32.sub
              local.tee 0
              local.get 0 br_if 0
              drop
            end)
          (func (export "if_else") (param i32) (result i32 i64)
            local.get 0
            if (result i32 i64) i32.const 1 i64.const 2 else i32.const 3 i64.const 4 end)
          (func (export "br_table") (param i32) (result i32)
            block $c block $b block $a
              local.get 0 br_table $a $b $c
            end i32.const 10 return
            end i32.const 20 return
            end i32.const 30)
          (func (export "select") (param i32) (result i64)
            i64.const 7 i64.const 9 local.get 0 select)
          (func (export "many") (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64)
                                (result i64 i32 f64 f32 i64 i32)
            local.get 9 local.get 8 local.get 7 local.get 6 local.get 5 local.get 4)
          (func $rec (export "rec") (param i32) (result i32)
            local.get 0 i32.eqz if (result i32) i32.const 0
            else local.get 0 i32.const 1 i32.sub call $rec i32.const 1 i32.add end))"#,
        &[
            ("swap_sub", &[I32(3), I32(10)], ret(&[I32(7)])),
            ("fact", &[I64(20)], ret(&[I64(2432902008176640000)])),
            ("block_params", &[I32(5)], ret(&[I32(15)])),
            ("loop_params", &[I32(4)], ret(&[I32(10)])),
            ("if_else", &[I32(1)], ret(&[I32(1), I64(2)])),
            ("if_else", &[I32(0)], ret(&[I32(3), I64(4)])),
            ("br_table", &[I32(0)], ret(&[I32(10)])),
            ("br_table", &[I32(1)], ret(&[I32(20)])),
            ("br_table", &[I32(99)], ret(&[I32(30)])),
            ("select", &[I32(0)], ret(&[I64(9)])),
            (
                "many",
                &[
                    I32(1),
                    I64(2),
                    F32(3),
                    F64(4),
                    I32(5),
                    I64(6),
                    F32(7),
                    F64(8),
                    I32(9),
                    I64(10),
                ],
                ret(&[I64(10), I32(9), F64(8), F32(7), I64(6), I32(5)]),
            ),
            ("rec", &[I32(300)], ret(&[I32(300)])),
            ("rec", &[I32(-1)], Want::Trap(TrapCode::StackOverflow)),
        ],
    );
}

#[test]
fn memory_bounds_grow_and_bulk_operations() {
    check(
        r#"(module
          (memory 1 3)
          (data (i32.const 8) "\01\02\03\04")
          (data $p "hello")
          (func (export "load") (param i32) (result i32) local.get 0 i32.load)
          (func (export "load_off") (param i32) (result i32) local.get 0 i32.load offset=0xffff_fffc)
          (func (export "load8_s") (param i32) (result i64) local.get 0 i64.load8_s)
          (func (export "store16") (param i32 i32) local.get 0 local.get 1 i32.store16)
          (func (export "store_f64") (param i32 f64) local.get 0 local.get 1 f64.store offset=4)
          (func (export "load_i64") (param i32) (result i64) local.get 0 i64.load offset=4)
          (func (export "size") (result i32) memory.size)
          (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
          (func (export "fill") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill)
          (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
          (func (export "init") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.init $p)
          (func (export "drop") data.drop $p))"#,
        &[
            ("load", &[I32(8)], ret(&[I32(0x0403_0201)])),
            ("load", &[I32(65532)], ret(&[I32(0)])),
            ("load", &[I32(65533)], Want::Trap(TrapCode::HeapOutOfBounds)),
            ("load", &[I32(-1)], Want::Trap(TrapCode::HeapOutOfBounds)),
            // index + offset exceeds 2^32: must not wrap around to a small address.
            (
                "load_off",
                &[I32(12)],
                Want::Trap(TrapCode::HeapOutOfBounds),
            ),
            ("load8_s", &[I32(65535)], ret(&[I64(0)])),
            ("store16", &[I32(100), I32(0x1_8081)], ret(&[])),
            ("load8_s", &[I32(100)], ret(&[I64(-127)])),
            (
                "store_f64",
                &[I32(200), F64(0x4000_0000_0000_0000)],
                ret(&[]),
            ),
            ("load_i64", &[I32(200)], ret(&[I64(0x4000_0000_0000_0000)])),
            (
                "store16",
                &[I32(65535), I32(1)],
                Want::Trap(TrapCode::HeapOutOfBounds),
            ),
            ("size", &[], ret(&[I32(1)])),
            ("grow", &[I32(1)], ret(&[I32(1)])),
            ("size", &[], ret(&[I32(2)])),
            ("load", &[I32(131068)], ret(&[I32(0)])),
            (
                "load",
                &[I32(131069)],
                Want::Trap(TrapCode::HeapOutOfBounds),
            ),
            ("grow", &[I32(2)], ret(&[I32(-1)])),
            ("grow", &[I32(1)], ret(&[I32(2)])),
            ("fill", &[I32(1000), I32(0xab), I32(4)], ret(&[])),
            ("load", &[I32(1000)], ret(&[I32(0xabab_abab_u32 as i32)])),
            (
                "fill",
                &[I32(196600), I32(0), I32(9)],
                Want::Trap(TrapCode::HeapOutOfBounds),
            ),
            ("copy", &[I32(1002), I32(8), I32(4)], ret(&[])),
            ("load", &[I32(1000)], ret(&[I32(0x0201_abab)])),
            ("init", &[I32(2000), I32(1), I32(4)], ret(&[])),
            (
                "load",
                &[I32(2000)],
                ret(&[I32(i32::from_le_bytes(*b"ello"))]),
            ),
            (
                "init",
                &[I32(2000), I32(2), I32(4)],
                Want::Trap(TrapCode::HeapOutOfBounds),
            ),
            ("drop", &[], ret(&[])),
            ("init", &[I32(2000), I32(0), I32(0)], ret(&[])),
            (
                "init",
                &[I32(2000), I32(0), I32(1)],
                Want::Trap(TrapCode::HeapOutOfBounds),
            ),
        ],
    );
}

#[test]
fn globals_tables_and_indirect_calls() {
    check(
        r#"(module
          (type $ii (func (param i32) (result i32)))
          (type $v (func))
          (global $g (mut i64) (i64.const 40))
          (global $k f32 (f32.const 1.5))
          (table $t 4 8 funcref)
          (table $e 2 externref)
          (elem (table $t) (i32.const 1) func $inc $dbl)
          (elem $pass func $dbl $inc)
          (elem declare func $nop)
          (func $inc (type $ii) local.get 0 i32.const 1 i32.add)
          (func $dbl (type $ii) local.get 0 i32.const 2 i32.mul)
          (func $nop (type $v))
          (func (export "bump") (result i64)
            global.get $g i64.const 2 i64.add global.set $g global.get $g)
          (func (export "k") (result f32) global.get $k)
          (func (export "call") (param i32 i32) (result i32)
            local.get 1 local.get 0 call_indirect $t (type $ii))
          (func (export "call_v") (param i32) local.get 0 call_indirect $t (type $v))
          (func (export "size") (result i32) table.size $t)
          (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow $t)
          (func (export "is_null") (param i32) (result i32) local.get 0 table.get $t ref.is_null)
          (func (export "set_nop") (param i32) local.get 0 ref.func $nop table.set $t)
          (func (export "fill") (param i32 i32) local.get 0 ref.func $inc local.get 1 table.fill $t)
          (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 table.copy $t $t)
          (func (export "init") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 table.init $t $pass)
          (func (export "elem_drop") elem.drop $pass)
          (func (export "ext_null") (result i32) i32.const 1 table.get $e ref.is_null))"#,
        &[
            ("bump", &[], ret(&[I64(42)])),
            ("bump", &[], ret(&[I64(44)])),
            ("k", &[], ret(&[F32(1.5f32.to_bits())])),
            ("call", &[I32(1), I32(5)], ret(&[I32(6)])),
            ("call", &[I32(2), I32(5)], ret(&[I32(10)])),
            (
                "call",
                &[I32(0), I32(5)],
                Want::Trap(TrapCode::IndirectCallToNull),
            ),
            (
                "call",
                &[I32(4), I32(5)],
                Want::Trap(TrapCode::TableOutOfBounds),
            ),
            ("call_v", &[I32(1)], Want::Trap(TrapCode::BadSignature)),
            ("set_nop", &[I32(3)], ret(&[])),
            ("call_v", &[I32(3)], ret(&[])),
            (
                "call",
                &[I32(3), I32(5)],
                Want::Trap(TrapCode::BadSignature),
            ),
            ("size", &[], ret(&[I32(4)])),
            ("grow", &[I32(2)], ret(&[I32(4)])),
            ("grow", &[I32(3)], ret(&[I32(-1)])),
            ("is_null", &[I32(5)], ret(&[I32(1)])),
            ("is_null", &[I32(6)], Want::Trap(TrapCode::TableOutOfBounds)),
            ("fill", &[I32(4), I32(2)], ret(&[])),
            ("call", &[I32(5), I32(1)], ret(&[I32(2)])),
            (
                "fill",
                &[I32(5), I32(2)],
                Want::Trap(TrapCode::TableOutOfBounds),
            ),
            ("copy", &[I32(0), I32(2), I32(1)], ret(&[])),
            ("call", &[I32(0), I32(7)], ret(&[I32(14)])),
            ("init", &[I32(0), I32(1), I32(1)], ret(&[])),
            ("call", &[I32(0), I32(7)], ret(&[I32(8)])),
            ("elem_drop", &[], ret(&[])),
            (
                "init",
                &[I32(0), I32(0), I32(1)],
                Want::Trap(TrapCode::TableOutOfBounds),
            ),
            ("ext_null", &[], ret(&[I32(1)])),
        ],
    );
}
