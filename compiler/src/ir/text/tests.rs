//! Tests of the text format: the printer's exact layout, print → parse → print identity,
//! type inference across text order, error positions and messages, and robustness
//! against mutated input.

use super::*;
use crate::entity::EntityRef;
use crate::ir::instructions::{InstructionData as D, JumpTableData};
use crate::ir::{
    Block, ExtFuncData, ExternalName, FloatCC, Inst, IntCC, LibCall, MemFlags, Opcode, Signature,
    SourceLoc, StackSlotData, TrapCode, Type, UserExternalName, UserFuncName, Value, ValueDef,
};

use Type::*;

/// Parse `src`, print every function, and return the printed text.
fn reprint(src: &str) -> String {
    let funcs = parse_functions(src).unwrap_or_else(|e| panic!("parse error {e} in:\n{src}"));
    let mut out = String::new();
    write_functions(&mut out, &funcs).unwrap();
    out
}

/// print → parse → print must be the identity for `src` (which must already be in
/// printed form).
fn assert_round_trip(src: &str) {
    let once = reprint(src);
    assert_eq!(once, src, "printing the parsed text changed it");
    assert_eq!(reprint(&once), once);
}

fn err(src: &str) -> String {
    match parse_functions(src) {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e.to_string(),
    }
}

/// Append an instruction with results made by the DFG.
fn ins(f: &mut Function, block: Block, data: D, ctrl: Option<Type>) -> Inst {
    let i = f.dfg.make_inst(data);
    f.dfg.make_inst_results(i, ctrl).expect("result types");
    f.layout.append_inst(i, block);
    i
}

/// A function built through the DFG / Layout APIs that uses every instruction format.
fn build_every_format() -> Function {
    let mut f = Function::with_name_signature(
        UserFuncName::testcase("every_format"),
        Signature::new(&[I64, I32, F32], &[I32]),
    );
    let ss0 = f.create_stack_slot(StackSlotData::new(16));
    let ss1 = f.create_stack_slot(StackSlotData {
        size: 4,
        align_shift: 2,
    });
    let sig0 = f.import_signature(Signature::new(&[I32], &[I32, I64]));
    let sig1 = f.import_signature(LibCall::CeilF32.signature());
    let fn0 = f.import_user_function(UserExternalName::new(0, 1), sig0);
    let fn1 = f.import_function(ExtFuncData {
        name: ExternalName::LibCall(LibCall::CeilF32),
        signature: sig1,
    });
    let b0 = f.dfg.make_block();
    let b1 = f.dfg.make_block();
    let b2 = f.dfg.make_block();
    let b3 = f.dfg.make_block();
    let addr = f.dfg.append_block_param(b0, I64); // v0
    let x = f.dfg.append_block_param(b0, I32); // v1
    let y = f.dfg.append_block_param(b0, F32); // v2
    for b in [b0, b1, b2, b3] {
        f.layout.append_block(b);
    }
    let c = ins(
        &mut f,
        b0,
        D::UnaryImm {
            opcode: Opcode::Iconst,
            imm: -1,
        },
        Some(I32),
    );
    let c = f.dfg.first_result(c).unwrap(); // v3
    let i = ins(
        &mut f,
        b0,
        D::UnaryIeee {
            opcode: Opcode::Fconst,
            bits: 0x7f80_0001,
        },
        Some(F32),
    );
    f.set_srcloc(i, SourceLoc::new(0x1a));
    let mut bytes = [0u8; 16];
    for (k, b) in bytes.iter_mut().enumerate() {
        *b = k as u8 * 17;
    }
    let k = f.dfg.constants.push(bytes);
    let vc = ins(
        &mut f,
        b0,
        D::UnaryConst {
            opcode: Opcode::Vconst,
            constant: k,
        },
        Some(I32X4),
    );
    let vc = f.dfg.first_result(vc).unwrap(); // v5
    let s = ins(
        &mut f,
        b0,
        D::Binary {
            opcode: Opcode::Iadd,
            args: [x, c],
        },
        None,
    );
    let s = f.dfg.first_result(s).unwrap(); // v6
    ins(
        &mut f,
        b0,
        D::Unary {
            opcode: Opcode::Bnot,
            arg: s,
        },
        None,
    ); // v7
    let cmp = ins(
        &mut f,
        b0,
        D::IntCompare {
            opcode: Opcode::Icmp,
            cond: IntCC::UnsignedLessThan,
            args: [s, x],
        },
        None,
    );
    let cmp = f.dfg.first_result(cmp).unwrap(); // v8
    ins(
        &mut f,
        b0,
        D::FloatCompare {
            opcode: Opcode::Fcmp,
            cond: FloatCC::UnorderedOrEqual,
            args: [y, y],
        },
        None,
    ); // v9
    ins(
        &mut f,
        b0,
        D::Ternary {
            opcode: Opcode::Select,
            args: [cmp, s, x],
        },
        None,
    ); // v10
    ins(
        &mut f,
        b0,
        D::ExtractLane {
            opcode: Opcode::Extractlane,
            arg: vc,
            lane: 3,
        },
        None,
    ); // v11
    ins(
        &mut f,
        b0,
        D::InsertLane {
            opcode: Opcode::Insertlane,
            args: [vc, x],
            lane: 2,
        },
        None,
    ); // v12
    ins(
        &mut f,
        b0,
        D::Load {
            opcode: Opcode::Load,
            flags: MemFlags::trusted(),
            arg: addr,
            offset: 8,
        },
        Some(I32),
    ); // v13
    ins(
        &mut f,
        b0,
        D::Load {
            opcode: Opcode::Uload8,
            flags: MemFlags::new().with_readonly(),
            arg: addr,
            offset: 0,
        },
        Some(I64),
    ); // v14
    ins(
        &mut f,
        b0,
        D::Store {
            opcode: Opcode::Istore16,
            flags: MemFlags::new(),
            args: [x, addr],
            offset: -4,
        },
        None,
    );
    ins(
        &mut f,
        b0,
        D::StackLoad {
            opcode: Opcode::StackLoad,
            slot: ss0,
            offset: 8,
        },
        Some(I64),
    ); // v15
    ins(
        &mut f,
        b0,
        D::StackLoad {
            opcode: Opcode::StackAddr,
            slot: ss1,
            offset: 0,
        },
        None,
    ); // v16
    ins(
        &mut f,
        b0,
        D::StackStore {
            opcode: Opcode::StackStore,
            arg: x,
            slot: ss1,
            offset: 0,
        },
        None,
    );
    let args = f.dfg.value_lists.alloc(&[x]);
    let call = ins(
        &mut f,
        b0,
        D::Call {
            opcode: Opcode::Call,
            func_ref: fn0,
            args,
        },
        None,
    ); // v17, v18
    assert_eq!(f.dfg.inst_results(call).len(), 2);
    let fa = ins(
        &mut f,
        b0,
        D::FuncAddr {
            opcode: Opcode::FuncAddr,
            func_ref: fn1,
        },
        None,
    );
    let fa = f.dfg.first_result(fa).unwrap(); // v19
    let args = f.dfg.value_lists.alloc(&[fa, y]);
    ins(
        &mut f,
        b0,
        D::CallIndirect {
            opcode: Opcode::CallIndirect,
            sig_ref: sig1,
            args,
        },
        None,
    ); // v20
    ins(
        &mut f,
        b0,
        D::CondTrap {
            opcode: Opcode::Trapnz,
            arg: cmp,
            code: TrapCode::User(7),
        },
        None,
    );
    let t = f.dfg.block_call(b1, &[x]);
    let e = f.dfg.block_call(b2, &[]);
    ins(
        &mut f,
        b0,
        D::Brif {
            opcode: Opcode::Brif,
            arg: cmp,
            blocks: [t, e],
        },
        None,
    );

    let p = f.dfg.append_block_param(b1, I32); // v21
    let d = f.dfg.block_call(b3, &[]);
    let t0 = f.dfg.block_call(b2, &[]);
    let t1 = f.dfg.block_call(b1, &[p]);
    let jt = f.dfg.jump_tables.push(JumpTableData::new(d, &[t0, t1]));
    ins(
        &mut f,
        b1,
        D::BranchTable {
            opcode: Opcode::BrTable,
            arg: p,
            table: jt,
        },
        None,
    );

    let ret = f.dfg.value_lists.alloc(&[s]);
    ins(
        &mut f,
        b2,
        D::MultiAry {
            opcode: Opcode::Return,
            args: ret,
        },
        None,
    );
    ins(
        &mut f,
        b3,
        D::Trap {
            opcode: Opcode::Trap,
            code: TrapCode::HeapOutOfBounds,
        },
        None,
    );
    let d = f.dfg.block_call(b2, &[]);
    ins(
        &mut f,
        b3,
        D::Jump {
            opcode: Opcode::Jump,
            destination: d,
        },
        None,
    );
    f
}

const EVERY_FORMAT: &str = "\
function %every_format(i64, i32, f32) -> i32 {
    ss0 = explicit_slot 16
    ss1 = explicit_slot 4, align = 4
    sig0 = (i32) -> i32, i64
    sig1 = (f32) -> f32
    fn0 = u0:1 sig0
    fn1 = libcall ceil_f32 sig1

block0(v0: i64, v1: i32, v2: f32):
    v3 = iconst.i32 -1
    @001a v4 = fconst.f32 nan:0x1
    v5 = vconst.i32x4 [857870592 2003195204 -1146447480 -1122868]
    v6 = iadd v1, v3
    v7 = bnot v6
    v8 = icmp ult v6, v1
    v9 = fcmp ueq v2, v2
    v10 = select v8, v6, v1
    v11 = extractlane v5, 3
    v12 = insertlane v5, v1, 2
    v13 = load.i32 notrap aligned v0+8
    v14 = uload8.i64 readonly v0
    istore16 v1, v0-4
    v15 = stack_load.i64 ss0+8
    v16 = stack_addr ss1
    stack_store v1, ss1
    v17, v18 = call fn0(v1)
    v19 = func_addr fn1
    v20 = call_indirect sig1, v19(v2)
    trapnz v8, user7
    brif v8, block1(v1), block2

block1(v21: i32):
    br_table v21, block3, [block2, block1(v21)]

block2:
    return v6

block3:
    trap heap_oob
    jump block2
}
";

#[test]
fn printer_writes_every_format_exactly() {
    let f = build_every_format();
    assert_eq!(f.to_string(), EVERY_FORMAT);
    assert_eq!(
        display_inst(&f, Inst::new(1)),
        "@001a v4 = fconst.f32 nan:0x1"
    );
    assert_eq!(display_inst(&f, Inst::new(0)), "v3 = iconst.i32 -1");
}

#[test]
fn every_format_parses_back_to_the_same_function_shape() {
    let built = build_every_format();
    let parsed = parse_functions(EVERY_FORMAT).unwrap();
    assert_eq!(parsed.len(), 1);
    let p = &parsed[0];
    assert_eq!(p.to_string(), EVERY_FORMAT);
    // Same entities, numbering and types as the hand-built function.
    assert_eq!(p.dfg.values, built.dfg.values);
    assert_eq!(p.dfg.insts.len(), built.dfg.insts.len());
    assert_eq!(p.dfg.signatures, built.dfg.signatures);
    assert_eq!(p.dfg.ext_funcs, built.dfg.ext_funcs);
    assert_eq!(p.dfg.constants, built.dfg.constants);
    assert_eq!(p.stack_slots, built.stack_slots);
    assert_eq!(p.params, built.params);
    assert_eq!(p.srclocs, built.srclocs);
    for (i, d) in built.dfg.insts.iter() {
        // Instruction data agrees except for list handles (pool layout may differ).
        assert_eq!(p.dfg.insts[i].opcode(), d.opcode());
        assert_eq!(p.dfg.inst_args(i), built.dfg.inst_args(i));
        assert_eq!(p.dfg.inst_results(i), built.dfg.inst_results(i));
    }
}

#[test]
fn hand_written_functions_round_trip() {
    let sources = [
        // Forward value references: block2 uses v5 defined later in block1; gaps.
        "\
function %forward(i32) -> i32 {
block0(v0: i32):
    jump block1

block2(v9: i32):
    v10 = iadd v5, v9
    v11 = icmp eq v10, v7
    v12 = extractlane v14, 1
    v13 = select v11, v10, v12
    return v13

block1:
    v5 = imul v0, v0
    v7 = iadd v5, v0
    v14 = splat.i32x4 v7
    jump block2(v5)
}
",
        // Calls, libcalls, br_table with arguments, srclocs, stack slots.
        "\
function u1:42(i64, i32) -> f64, i8 {
    ss0 = explicit_slot 0
    ss1 = explicit_slot 32, align = 16
    ss2 = explicit_slot 3, align = 1
    sig0 = (i32, f64) -> f64, i8
    sig1 = (f64) -> f64
    sig2 = ()
    fn0 = u0:7 sig0
    fn1 = libcall nearest_f64 sig1
    fn2 = u0:7 sig0
    fn3 = u3:0 sig2

block0(v0: i64, v1: i32):
    @0000 v2 = fconst.f64 -0.0
    @ffff v3, v4 = call fn0(v1, v2)
    @12345678 v5 = call fn1(v3)
    call fn3()
    v6 = func_addr fn2
    v7, v8 = call_indirect sig0, v6(v1, v5)
    v9 = stack_addr ss1+32
    stack_store v7, ss1-8
    v10 = stack_load.f64 ss1+2147483647
    br_table v1, block1(v10, v8), [block1(v7, v4), block2, block1(v5, v8)]

block1(v20: f64, v21: i8):
    return v20, v21

block2:
    v22 = fconst.f64 nan:0x8000000000001
    v23 = iconst.i8 127
    return v22, v23
}
",
        // vconst of every vector type, NaN payloads, extreme literals.
        "\
function %vectors() {
block0:
    v0 = vconst.i8x16 [0 1 -1 127 -128 5 6 7 8 9 10 11 12 13 14 -2]
    v1 = vconst.i16x8 [0 -32768 32767 -1 4 5 6 7]
    v2 = vconst.i32x4 [-2147483648 2147483647 0 -1]
    v3 = vconst.i64x2 [-9223372036854775808 9223372036854775807]
    v4 = vconst.f32x4 [1.5 -0.0 nan -nan:0x1]
    v5 = vconst.f64x2 [inf -nan:0xfffffffffffff]
    v6 = fconst.f32 1e-45
    v7 = fconst.f32 3.4028235e38
    v8 = fconst.f64 5e-324
    v9 = fconst.f32 -inf
    v10 = iconst.i64 -9223372036854775808
    v11 = iconst.i16 -32768
    v12 = bitcast.i8x16 v4
    v13 = icmp sgt v2, v2
    v14 = iadd v0, v12
    return
}
",
        // Every memory-flag combination, every conversion, every trap code.
        "\
function %memory(i64) {
block0(v0: i64):
    v1 = load.i8 v0
    v2 = load.i16 notrap v0+1
    v3 = load.i32 aligned v0-2147483648
    v4 = load.i64 readonly v0
    v5 = load.f32 notrap aligned v0
    v6 = load.f64 notrap readonly v0
    v7 = load.i8x16 aligned readonly v0
    v8 = load.f64x2 notrap aligned readonly v0
    v9 = sload8.i16 v0
    v10 = uload16.i32 v0
    v11 = sload16.i64 v0
    v12 = uload32.i64 v0
    v13 = sload32.i64 v0
    store v1, v0
    istore8 v9, v0+1
    istore32 v13, v0
    store notrap aligned readonly v8, v0+16
    v14 = uextend.i64 v10
    v15 = sextend.i32 v9
    v16 = ireduce.i8 v11
    v17 = fcvt_to_sint.i32 v5
    v18 = fcvt_to_uint.i64 v6
    v19 = fcvt_to_sint_sat.i32 v6
    v20 = fcvt_to_uint_sat.i64 v5
    v21 = fcvt_from_sint.f64 v10
    v22 = fcvt_from_uint.f32 v12
    v23 = fpromote.f64 v5
    v24 = fdemote.f32 v6
    trapz v1, unreachable
    trapz v1, int_divz
    trapz v1, int_ovf
    trapz v1, bad_toint
    trapz v1, heap_oob
    trapnz v1, table_oob
    trapnz v1, icall_null
    trapnz v1, bad_sig
    trapnz v1, stk_ovf
    trapnz v1, user65535
    trap user0
}
",
        // Every binary and unary opcode once, loops and an unreachable block.
        "\
function %ops(i32, i32, f64, f64) -> i32 {
block0(v0: i32, v1: i32, v2: f64, v3: f64):
    v4 = isub v0, v1
    v5 = umulhi v0, v1
    v6 = smulhi v0, v1
    v7 = sdiv v0, v1
    v8 = udiv v0, v1
    v9 = srem v0, v1
    v10 = urem v0, v1
    v11 = band v0, v1
    v12 = bor v0, v1
    v13 = bxor v0, v1
    v14 = band_not v0, v1
    v15 = ishl v0, v1
    v16 = ushr v0, v1
    v17 = sshr v0, v1
    v18 = rotl v0, v1
    v19 = rotr v0, v1
    v20 = clz v0
    v21 = ctz v0
    v22 = popcnt v0
    v23 = fadd v2, v3
    v24 = fsub v2, v3
    v25 = fmul v2, v3
    v26 = fdiv v2, v3
    v27 = fmin v2, v3
    v28 = fmax v2, v3
    v29 = fcopysign v2, v3
    v30 = fneg v2
    v31 = fabs v2
    v32 = sqrt v2
    v33 = ceil v2
    v34 = floor v2
    v35 = trunc v2
    v36 = nearest v2
    v37 = fcmp ord v2, v3
    v38 = fcmp uno v2, v3
    v39 = icmp sle v0, v1
    jump block1(v0)

block1(v40: i32):
    v41 = iadd v40, v4
    brif v41, block1(v41), block2

block2:
    return v41

block3:
    jump block3
}
",
        // No blocks at all, a preamble only, and a user-named function with no params.
        "\
function %empty() {
}
",
        "\
function u0:0() {
    sig0 = ()

}
",
    ];
    for src in sources {
        assert_round_trip(src);
    }
    // Several functions separated by one blank line.
    let all = sources.join("\n");
    assert_round_trip(&all);
}

#[test]
fn types_are_inferred_regardless_of_text_order() {
    let src = "\
function %f(i64) {
block3:
    v5 = icmp eq v4, v4
    v6 = extractlane v7, 0
    v8 = uextend.i64 v5
    v9 = fcmp lt v6, v6
    return

block0(v0: i64):
    v1 = bitcast.f64 v0
    v2 = iadd v3, v3
    v3 = isub v4, v4
    v4 = ireduce.i16 v0
    v7 = splat.f64x2 v1
    v10 = icmp eq v7, v7
    jump block3
}
";
    let f = &parse_functions(src).unwrap()[0];
    let ty = |n: u32| f.dfg.value_type(Value::from_u32(n)).unwrap();
    assert_eq!(ty(2), I16);
    assert_eq!(ty(3), I16);
    assert_eq!(ty(5), I8);
    assert_eq!(ty(6), F64);
    assert_eq!(ty(8), I64);
    assert_eq!(ty(9), I8);
    assert_eq!(ty(10), I64X2);
    // Instructions are created in text order; block numbers are kept.
    assert_eq!(f.dfg.insts[Inst::new(0)].opcode(), Opcode::Icmp);
    assert_eq!(f.layout.entry_block(), Some(Block::new(3)));
    assert_eq!(
        f.dfg.values[Value::new(1)].def,
        ValueDef::Result(Inst::new(5), 0)
    );
    assert_eq!(
        f.dfg.values[Value::new(0)].def,
        ValueDef::Param(Block::new(0), 0)
    );
    assert_eq!(reprint(src), src);
}

#[test]
fn parser_keeps_one_name_entry_per_declaration_and_constant_per_vconst() {
    let src = "\
function %f() {
    sig0 = ()
    fn0 = u0:1 sig0
    fn1 = u0:1 sig0

block0:
    v0 = vconst.i64x2 [1 2]
    v1 = vconst.i64x2 [1 2]
    br_table v2, block1, []

block1:
    v2 = iconst.i32 0
    br_table v2, block1, []
}
";
    let f = &parse_functions(src).unwrap()[0];
    assert_eq!(f.params.user_named_funcs().len(), 2);
    assert_eq!(f.dfg.constants.len(), 2);
    assert_eq!(f.dfg.jump_tables.len(), 2);
    assert_eq!(reprint(src), src);
}

#[test]
fn accepted_variants_print_canonically() {
    let src = "\
function %f(i32) -> i8 { ; trailing comment
block0( v0 : i32 ):   ; parameters
    v1 = iconst.i8 255
    v2 = iconst.i32 0x10
    v3 = iconst.i32 -0x10
    v4 = fconst.f32 nan:0x400000
    v5 = fconst.f64 1
    v6 = iconst.i64 1_000
    v7 = load.i32 v0+0
    jump block1()

block1():
    @1A v8 = iconst.i8 -1
    return v1
}
";
    let want = "\
function %f(i32) -> i8 {
block0(v0: i32):
    v1 = iconst.i8 -1
    v2 = iconst.i32 16
    v3 = iconst.i32 -16
    v4 = fconst.f32 nan
    v5 = fconst.f64 1.0
    v6 = iconst.i64 1000
    v7 = load.i32 v0
    jump block1

block1:
    @001a v8 = iconst.i8 -1
    return v1
}
";
    assert_eq!(reprint(src), want);
}

#[test]
fn comments_and_spans_are_reported() {
    let src = "; first\n\nfunction %a() {\nblock0: ; b0\n    return\n}\n; run: %a()\r\n\nfunction %b() {\nblock0:\n    trap unreachable\n}\n;";
    let pf = parse_file(src).unwrap();
    assert_eq!(pf.functions.len(), 2);
    let c: Vec<(u32, u32, &str)> = pf
        .comments
        .iter()
        .map(|c| (c.line, c.col, c.text.as_str()))
        .collect();
    assert_eq!(
        c,
        vec![
            (1, 1, " first"),
            (4, 9, " b0"),
            (7, 1, " run: %a()"),
            (13, 1, "")
        ]
    );
    assert_eq!(
        pf.spans,
        vec![
            FunctionSpan {
                first_line: 3,
                last_line: 6
            },
            FunctionSpan {
                first_line: 9,
                last_line: 12
            }
        ]
    );
    assert_eq!(pf.function_at_line(7), Some(0));
    assert_eq!(pf.function_at_line(10), Some(1));
    assert_eq!(pf.function_at_line(1), None);
    assert_eq!(parse_file("").unwrap(), ParsedFile::default());
}

#[test]
fn parse_errors_name_the_problem_and_position() {
    let h = "function %f(i32) {\nblock0(v0: i32):\n";
    let cases: Vec<(String, &str)> = vec![
        ("function %f(i32, i33) {\n}".into(), "1:18: expected a type, found \"i33\""),
        (format!("{h}    v1 = iconst.i33 5\n    return\n}}"), "3:17: expected a type, found \"i33\""),
        (format!("{h}    v1 = iadx v0, v0\n    return\n}}"), "3:10: unknown opcode \"iadx\""),
        (format!("{h}    v1 = iadd v0, v9\n    return\n}}"), "3:19: undefined value v9"),
        (format!("{h}    v0 = iadd v0, v0\n    return\n}}"), "3:5: value v0 is defined more than once"),
        (format!("{h}    jump block7\n}}"), "3:10: undefined block block7"),
        (format!("{h}    return\n\nblock0:\n    return\n}}"), "5:1: block block0 is defined more than once"),
        (format!("{h}    v1 = iadd v2, v2\n    v2 = iadd v1, v1\n    return\n}}"), "3:5: cannot infer the type of v1"),
        (format!("{h}    v1 = stack_load.i32 ss0\n    return\n}}"), "3:25: undeclared stack slot ss0"),
        (format!("{h}    v1 = call fn0()\n    return\n}}"), "3:15: undeclared function fn0"),
        ("function %f() {\n    sig0 = ()\n    sig2 = ()\n}".into(), "3:5: expected sig1, found sig2: declarations are numbered from 0 without gaps"),
        ("function %f() {\n    sig0 = ()\n    ss0 = explicit_slot 4\n}".into(), "3:5: \"ss0\" is out of order: declare stack slots, then signatures, then functions"),
        ("function %f() {\n    fn0 = u0:1 sig0\n}".into(), "2:16: undeclared signature sig0"),
        (format!("{h}    v1 = iconst.i8 256\n    return\n}}"), "3:20: integer literal `256` does not fit i8"),
        (format!("{h}    v1 = vconst.i32x4 [1 2]\n    return\n}}"), "3:27: vconst.i32x4 needs 4 lanes, found 2"),
        (format!("{h}    v1 = iadd v4000000000, v0\n    return\n}}"), "3:15: v4000000000: number too large (the limit is 16777215)"),
        (format!("{h}    jump block1048576\n}}"), "3:10: block1048576: number too large (the limit is 1048575)"),
        (format!("{h}    v1 = iadd v0, v0 v0\n    return\n}}"), "3:22: expected the end of the line after the instruction, found \"v0\""),
        (format!("{h}    v1 = iadd v0\n    return\n}}"), "4:5: expected \",\", found \"return\""),
        (format!("{h}    v1 = iconst 5\n    return\n}}"), "3:10: \"iconst\" needs a type suffix (e.g. \"iconst.i32\")"),
        (format!("{h}    v1 = iadd.i32 v0, v0\n    return\n}}"), "3:10: \"iadd\" takes no type suffix"),
        (format!("{h}    v1 = return v0\n}}"), "3:5: \"return\" has 0 results, but 1 is named"),
        (format!("{h}    trap bad_trap\n}}"), "3:10: unknown trap code \"bad_trap\""),
        (format!("{h}    v1 = icmp lt v0, v0\n    return\n}}"), "3:15: unknown integer condition code \"lt\""),
        (format!("{h}    v1 = load.i32 aligned notrap v0\n    return\n}}"), "3:27: memory flag \"notrap\" is repeated or out of order (the order is notrap aligned readonly)"),
        (format!("{h}    v1 = load.i32 v0+2147483648\n    return\n}}"), "3:21: offset \"+2147483648\" is not a decimal i32"),
        (format!("{h}    @xyz return\n}}"), "3:5: bad source location \"@xyz\": expected 1 to 8 hex digits, below ffffffff"),
        (format!("{h}    return $\n}}"), "3:12: unexpected character '$'"),
        ("function %f() {\nblock0:\n    return\n".into(), "4:1: expected \"}\", found end of input"),
        ("func %f() {}".into(), "1:1: expected \"function\", found \"func\""),
        ("function %f() {\n    v0 = iconst.i32 1\n}".into(), "2:5: expected a block header (blockN:), found \"v0\""),
        ("function %f() {\n    ss0 = explicit_slot 4, align = 3\n}".into(), "2:36: expected an alignment (1, 2, 4, 8 or 16), found \"3\""),
        (format!("{h}    v1 = fconst.i32 1.0\n    return\n}}"), "3:10: \"fconst\" needs type f32 or f64, found i32"),
        (format!("{h}    v1 = fconst.f32 nan:0x800000\n    return\n}}"), "3:21: NaN payload in `nan:0x800000` must be non-zero and fit 23 bits"),
        ("function %f() {\n    fn0 = libcall sin_f32 sig0\n}".into(), "2:19: unknown libcall \"sin_f32\""),
    ];
    for (src, want) in &cases {
        assert_eq!(&err(src), want, "for input:\n{src}");
    }
    assert!(cases.len() >= 15);
}

/// A deterministic linear congruential generator (no external RNG needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Largest char boundary `<= i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[test]
fn mutated_and_truncated_input_never_panics() {
    let mut corpus = vec![EVERY_FORMAT.to_string()];
    corpus.push(
        "function %g(i32) -> i32 {\nblock1(v3: i32):\n    v4 = iadd v3, v9\n    return v4\n\nblock0(v0: i32):\n    v9 = iconst.i32 7\n    jump block1(v0)\n}\n"
            .to_string(),
    );
    let inserts = [
        "v16777215",
        "v99999999999",
        "block",
        "(",
        ")",
        "[",
        "]",
        ",",
        "-",
        "+",
        "@",
        "%",
        ";",
        "\n",
        "nan:0x",
        "i33",
        "4294967296",
        "=",
        "->",
        "é",
        "v0",
        "block0",
        "ss0",
        "fn0",
        "sig0",
        ":",
        ".i32",
        "}",
        "{",
        "function %h() {\n",
        "-0x",
        "0x",
        " ",
    ];
    let mut rng = Lcg(0x5eed);
    let mut parsed_ok = 0;
    let mut cases = 0;
    for base in &corpus {
        // Every truncation point on a coarse grid.
        for cut in (0..base.len()).step_by(7) {
            let s = &base[..floor_boundary(base, cut)];
            check_no_panic(s, &mut parsed_ok);
            cases += 1;
        }
        // Random edits: delete a range, insert a fragment, swap two ranges, duplicate.
        for _ in 0..250 {
            let mut s = base.clone();
            for _ in 0..1 + rng.below(3) {
                let a = floor_boundary(&s, rng.below(s.len() + 1));
                let b = floor_boundary(&s, (a + rng.below(12)).min(s.len()));
                match rng.below(4) {
                    0 => s.replace_range(a..b, ""),
                    1 => s.insert_str(a, inserts[rng.below(inserts.len())]),
                    2 => {
                        let piece = s[a..b].to_string();
                        let c = floor_boundary(&s, rng.below(s.len() + 1));
                        s.insert_str(c, &piece);
                    }
                    _ => {
                        let c = floor_boundary(&s, rng.below(s.len() + 1));
                        let byte = b"09azAZ_.:;\n"[rng.below(11)] as char;
                        s.insert(c, byte);
                    }
                }
            }
            check_no_panic(&s, &mut parsed_ok);
            cases += 1;
        }
    }
    assert!(cases > 500, "{cases} cases");
    assert!(parsed_ok > 10, "only {parsed_ok} mutants parsed");
}

/// Parse; if it succeeds, printing must be a fixed point of parse ∘ print.
fn check_no_panic(s: &str, parsed_ok: &mut usize) {
    if let Ok(funcs) = parse_functions(s) {
        *parsed_ok += 1;
        let mut once = String::new();
        write_functions(&mut once, &funcs).unwrap();
        let again = reprint(&once);
        assert_eq!(again, once, "not a fixed point; mutant:\n{s}");
    }
}

#[test]
fn printer_survives_malformed_functions() {
    let mut f = Function::default();
    let b = f.dfg.make_block();
    f.layout.append_block(b);
    // An iconst with no results, a vconst with a missing constant, a call_indirect with
    // no callee, a br_table whose table doesn't exist.
    let i = f.dfg.make_inst(D::UnaryImm {
        opcode: Opcode::Iconst,
        imm: 3,
    });
    f.layout.append_inst(i, b);
    let i = f.dfg.make_inst(D::UnaryConst {
        opcode: Opcode::Vconst,
        constant: crate::ir::Constant::new(5),
    });
    f.layout.append_inst(i, b);
    let i = f.dfg.make_inst(D::CallIndirect {
        opcode: Opcode::CallIndirect,
        sig_ref: crate::ir::SigRef::new(9),
        args: Default::default(),
    });
    f.layout.append_inst(i, b);
    let i = f.dfg.make_inst(D::BranchTable {
        opcode: Opcode::BrTable,
        arg: Value::new(40),
        table: crate::ir::JumpTable::new(2),
    });
    f.layout.append_inst(i, b);
    let text = f.to_string();
    assert!(text.contains("iconst.? 3"), "{text}");
    assert!(text.contains("vconst.? const5"), "{text}");
    assert!(text.contains("call_indirect sig9, ?()"), "{text}");
    assert!(text.contains("br_table v40, jt2"), "{text}");
}

#[test]
fn large_inputs_parse_in_linear_time() {
    // A long chain written in reverse block order: every type waits on a later block.
    let n = 3000;
    let mut src = String::from("function %chain(i64) -> i64 {\n");
    src.push_str("block0(v0: i64):\n    jump block1\n");
    for k in (1..=n).rev() {
        src.push_str(&format!(
            "\nblock{k}:\n    v{} = iadd v{}, v{}\n",
            k + 1,
            if k == 1 { 0 } else { k },
            if k == 1 { 0 } else { k },
        ));
        if k == 1 {
            src.push_str("    jump block2\n");
        } else if k == n {
            src.push_str(&format!("    return v{}\n", k + 1));
        } else {
            src.push_str(&format!("    jump block{}\n", k + 1));
        }
    }
    src.push_str("}\n");
    let start = std::time::Instant::now();
    let f = &parse_functions(&src).unwrap()[0];
    assert_eq!(f.dfg.value_type(Value::from_u32(n as u32 + 1)), Some(I64));
    assert_eq!(reprint(&src), src);
    assert!(start.elapsed().as_secs() < 10);
}
