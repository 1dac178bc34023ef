//! The `.kir` printer: writes a [`Function`] exactly as `docs/kir.md` lays it out.
//!
//! Invariants: output for a verified function parses back to an equal-printing function;
//! printing never panics, even for malformed functions (missing entities print as their
//! raw reference, e.g. `const7`, or `?`); text goes straight into the `fmt::Write` with no
//! per-instruction heap allocation.

use super::literals::{fmt_f32, fmt_f64, sign_extend};
use crate::ir::instructions::{BlockCall, InstructionData, ResultRule};
use crate::ir::{ExternalName, Function, Inst, Type, Value};
use core::fmt::{self, Write};

/// Write `func` in `.kir` form, ending with `}` and a newline.
pub fn write_function<W: Write + ?Sized>(out: &mut W, func: &Function) -> fmt::Result {
    writeln!(out, "function {}{} {{", func.params.name, func.signature)?;
    let mut preamble = false;
    for (ss, data) in func.stack_slots.iter() {
        preamble = true;
        write!(out, "    {ss} = explicit_slot {}", data.size)?;
        if data.align_shift != crate::ir::StackSlotData::DEFAULT_ALIGN_SHIFT {
            let align = 1u64.checked_shl(u32::from(data.align_shift)).unwrap_or(0);
            write!(out, ", align = {align}")?;
        }
        out.write_str("\n")?;
    }
    for (sig, s) in func.dfg.signatures.iter() {
        preamble = true;
        writeln!(out, "    {sig} = {s}")?;
    }
    for (fref, ext) in func.dfg.ext_funcs.iter() {
        preamble = true;
        write!(out, "    {fref} = ")?;
        match ext.name {
            ExternalName::User(r) => match func.params.user_name(r) {
                Some(name) => write!(out, "{name}")?,
                None => write!(out, "{r}")?,
            },
            ExternalName::LibCall(l) => write!(out, "libcall {}", l.name())?,
        }
        writeln!(out, " {}", ext.signature)?;
    }
    if preamble {
        out.write_str("\n")?;
    }
    for (i, block) in func.layout.blocks().enumerate() {
        if i > 0 {
            out.write_str("\n")?;
        }
        write!(out, "{block}")?;
        let params = func.dfg.block_params(block);
        if !params.is_empty() {
            out.write_str("(")?;
            for (j, &v) in params.iter().enumerate() {
                if j > 0 {
                    out.write_str(", ")?;
                }
                write!(out, "{v}: ")?;
                write_type(out, func.dfg.value_type(v))?;
            }
            out.write_str(")")?;
        }
        out.write_str(":\n")?;
        for inst in func.layout.block_insts(block) {
            out.write_str("    ")?;
            write_inst(out, func, inst)?;
            out.write_str("\n")?;
        }
    }
    out.write_str("}\n")
}

/// Write several functions separated by one blank line.
pub fn write_functions<W: Write + ?Sized>(out: &mut W, funcs: &[Function]) -> fmt::Result {
    for (i, f) in funcs.iter().enumerate() {
        if i > 0 {
            out.write_str("\n")?;
        }
        write_function(out, f)?;
    }
    Ok(())
}

/// One instruction exactly as the printer writes it (without indentation or newline).
pub fn display_inst(func: &Function, inst: Inst) -> String {
    let mut s = String::new();
    let _ = write_inst(&mut s, func, inst);
    s
}

fn write_type<W: Write + ?Sized>(out: &mut W, ty: Option<Type>) -> fmt::Result {
    match ty {
        Some(t) => out.write_str(t.name()),
        None => out.write_str("?"),
    }
}

fn write_values<W: Write + ?Sized>(out: &mut W, values: &[Value]) -> fmt::Result {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        write!(out, "{v}")?;
    }
    Ok(())
}

fn write_offset<W: Write + ?Sized>(out: &mut W, offset: i32) -> fmt::Result {
    match offset {
        0 => Ok(()),
        o if o > 0 => write!(out, "+{o}"),
        o => write!(out, "{o}"),
    }
}

fn write_block_call<W: Write + ?Sized>(
    out: &mut W,
    func: &Function,
    bc: &BlockCall,
) -> fmt::Result {
    write!(out, "{}", bc.block)?;
    let args = func.dfg.block_call_args(bc);
    if !args.is_empty() {
        out.write_str("(")?;
        write_values(out, args)?;
        out.write_str(")")?;
    }
    Ok(())
}

/// Write the lanes of a 16-byte constant as `[l0 l1 ...]` for vector type `ty`.
fn write_lanes<W: Write + ?Sized>(out: &mut W, bytes: &[u8; 16], ty: Type) -> fmt::Result {
    let lane = ty.lane_type();
    let lb = lane.bytes() as usize;
    out.write_str("[")?;
    for (i, chunk) in bytes.chunks_exact(lb.max(1)).enumerate() {
        if i > 0 {
            out.write_str(" ")?;
        }
        let mut le = [0u8; 8];
        le[..chunk.len()].copy_from_slice(chunk);
        let raw = u64::from_le_bytes(le);
        match lane {
            Type::F32 => fmt_f32(out, raw as u32)?,
            Type::F64 => fmt_f64(out, raw)?,
            _ => write!(out, "{}", sign_extend(raw, lane))?,
        }
    }
    out.write_str("]")
}

/// Write one instruction: `[@hhhh ][results = ]opcode[.T] operands`.
fn write_inst<W: Write + ?Sized>(out: &mut W, func: &Function, inst: Inst) -> fmt::Result {
    let dfg = &func.dfg;
    let loc = func.srcloc(inst);
    if !loc.is_default() {
        write!(out, "@{:04x} ", loc.bits())?;
    }
    let results = dfg.inst_results(inst);
    if !results.is_empty() {
        write_values(out, results)?;
        out.write_str(" = ")?;
    }
    let Some(data) = dfg.insts.get(inst) else {
        return write!(out, "<invalid {inst}>");
    };
    let opcode = data.opcode();
    out.write_str(opcode.name())?;
    let ctrl = dfg.ctrl_type(inst);
    if opcode.result_rule() == ResultRule::Explicit {
        out.write_str(".")?;
        write_type(out, ctrl)?;
    }
    use InstructionData as D;
    match *data {
        D::UnaryImm { imm, .. } => {
            let v = match ctrl {
                Some(t) => sign_extend(imm as u64, t),
                None => imm,
            };
            write!(out, " {v}")
        }
        D::UnaryIeee { bits, .. } => {
            out.write_str(" ")?;
            match ctrl {
                Some(Type::F32) => fmt_f32(out, bits as u32),
                _ => fmt_f64(out, bits),
            }
        }
        D::UnaryConst { constant, .. } => match (dfg.constants.get(constant), ctrl) {
            (Some(bytes), Some(t)) if t.is_vector() => {
                out.write_str(" ")?;
                write_lanes(out, bytes, t)
            }
            _ => write!(out, " {constant}"),
        },
        D::Unary { arg, .. } => write!(out, " {arg}"),
        D::Binary { args, .. } => write!(out, " {}, {}", args[0], args[1]),
        D::Ternary { args, .. } => write!(out, " {}, {}, {}", args[0], args[1], args[2]),
        D::IntCompare { cond, args, .. } => write!(out, " {cond} {}, {}", args[0], args[1]),
        D::FloatCompare { cond, args, .. } => write!(out, " {cond} {}, {}", args[0], args[1]),
        D::ExtractLane { arg, lane, .. } => write!(out, " {arg}, {lane}"),
        D::InsertLane { args, lane, .. } => write!(out, " {}, {}, {lane}", args[0], args[1]),
        D::Shuffle { args, mask, .. } => {
            write!(out, " {}, {}, ", args[0], args[1])?;
            match dfg.constants.get(mask) {
                Some(bytes) => write_lanes(out, bytes, Type::I8X16),
                None => write!(out, "{mask}"),
            }
        }
        D::Load {
            flags, arg, offset, ..
        } => {
            write!(out, "{flags} {arg}")?;
            write_offset(out, offset)
        }
        D::Store {
            flags,
            args,
            offset,
            ..
        } => {
            write!(out, "{flags} {}, {}", args[0], args[1])?;
            write_offset(out, offset)
        }
        D::MemLane {
            flags,
            args,
            offset,
            lane,
            ..
        } => {
            write!(out, "{flags} {}, {}", args[0], args[1])?;
            write_offset(out, offset)?;
            write!(out, ", {lane}")
        }
        D::StackLoad { slot, offset, .. } => {
            write!(out, " {slot}")?;
            write_offset(out, offset)
        }
        D::StackStore {
            arg, slot, offset, ..
        } => {
            write!(out, " {arg}, {slot}")?;
            write_offset(out, offset)
        }
        D::Jump { destination, .. } => {
            out.write_str(" ")?;
            write_block_call(out, func, &destination)
        }
        D::Brif { arg, blocks, .. } => {
            write!(out, " {arg}, ")?;
            write_block_call(out, func, &blocks[0])?;
            out.write_str(", ")?;
            write_block_call(out, func, &blocks[1])
        }
        D::BranchTable { arg, table, .. } => {
            write!(out, " {arg}, ")?;
            let Some(jt) = dfg.jump_tables.get(table) else {
                return write!(out, "{table}");
            };
            match jt.default_block() {
                Some(d) => write_block_call(out, func, d)?,
                None => out.write_str("?")?,
            }
            out.write_str(", [")?;
            for (i, bc) in jt.table().iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                write_block_call(out, func, bc)?;
            }
            out.write_str("]")
        }
        D::MultiAry { args, .. } => {
            let args = dfg.value_lists.get(args);
            if !args.is_empty() {
                out.write_str(" ")?;
                write_values(out, args)?;
            }
            Ok(())
        }
        D::Trap { code, .. } => write!(out, " {code}"),
        D::CondTrap { arg, code, .. } => write!(out, " {arg}, {code}"),
        D::Call { func_ref, args, .. } => {
            write!(out, " {func_ref}(")?;
            write_values(out, dfg.value_lists.get(args))?;
            out.write_str(")")
        }
        D::CallIndirect { sig_ref, args, .. } => {
            let args = dfg.value_lists.get(args);
            write!(out, " {sig_ref}, ")?;
            match args.split_first() {
                Some((callee, rest)) => {
                    write!(out, "{callee}(")?;
                    write_values(out, rest)?;
                }
                None => out.write_str("?(")?,
            }
            out.write_str(")")
        }
        D::FuncAddr { func_ref, .. } => write!(out, " {func_ref}"),
    }
}
