//! Variants of a function for the cache checks: parameter-only changes (which must hit)
//! and stencil changes (which must miss), and corruptions of an entry (which must be
//! refused).
//!
//! Invariants: a [`parameter_variants`] result has the same stencil as its input (checked
//! by the caller through the key, and here by construction: only `params` is touched); a
//! [`stencil_mutations`] result differs from its input in exactly the named part of the
//! stencil. Mutations need not verify: the key must tell them apart regardless.

use kiln::cache::CacheKey;
use kiln::entity::EntityRef;
use kiln::ir::{
    ExternalName, Function, InstructionData, Layout, LibCall, Opcode, SourceLoc, StackSlotData,
    TrapCode, Type, UserExternalName, UserFuncName, Value,
};

/// Functions with the same stencil and other parameters: another own name, other callee
/// names, another base source location, and all three at once.
pub fn parameter_variants(f: &Function) -> Vec<(&'static str, Function)> {
    let rename = |g: &mut Function| {
        g.params.name = match &g.params.name {
            UserFuncName::User(n) => {
                UserFuncName::User(UserExternalName::new(n.namespace ^ 1, n.index ^ 0x55))
            }
            UserFuncName::Testcase(s) => UserFuncName::testcase(format!("{s}_renamed")),
        };
    };
    let callees = |g: &mut Function| {
        let refs: Vec<_> = g.params.user_named_funcs().keys().collect();
        for r in refs {
            if let Some(n) = g.params.user_name(r) {
                g.params.rename_user_name(
                    r,
                    UserExternalName::new(n.namespace.wrapping_add(3), n.index ^ 0x1000),
                );
            }
        }
    };
    let rebase = |g: &mut Function| g.params.rebase_srclocs(0x1234);
    let mut out = Vec::new();
    for (name, change) in [
        ("function name", &rename as &dyn Fn(&mut Function)),
        ("callee names", &callees),
        ("base source location", &rebase),
    ] {
        let mut g = f.clone();
        change(&mut g);
        out.push((name, g));
    }
    let mut all = f.clone();
    rename(&mut all);
    callees(&mut all);
    rebase(&mut all);
    out.push(("all parameters", all));
    out
}

/// The instructions of `f` in layout order.
fn layout_insts(f: &Function) -> Vec<kiln::ir::Inst> {
    f.layout
        .blocks()
        .flat_map(|b| f.layout.block_insts(b).collect::<Vec<_>>())
        .collect()
}

/// Change the first instruction for which `change` returns true.
fn change_first_inst(
    f: &Function,
    mut change: impl FnMut(&mut InstructionData) -> bool,
) -> Option<Function> {
    let mut g = f.clone();
    for inst in layout_insts(f) {
        let mut data = g.dfg.insts[inst];
        if change(&mut data) {
            g.dfg.insts[inst] = data;
            return Some(g);
        }
    }
    None
}

/// Another opcode of the same format, if there is one.
fn other_opcode(op: Opcode) -> Option<Opcode> {
    let same: Vec<Opcode> = Opcode::ALL
        .iter()
        .copied()
        .filter(|o| o.format() == op.format())
        .collect();
    let i = same.iter().position(|o| *o == op)?;
    (same.len() > 1).then(|| same[(i + 1) % same.len()])
}

/// Functions that differ from `f` in one part of the stencil each, named by that part.
/// Only the mutations that apply to `f` are returned (every function gets at least the
/// signature, stack-slot and source-location ones).
pub fn stencil_mutations(f: &Function) -> Vec<(&'static str, Function)> {
    let mut out: Vec<(&'static str, Function)> = Vec::new();
    let mut push = |name: &'static str, g: Option<Function>| {
        if let Some(g) = g {
            out.push((name, g));
        }
    };
    push(
        "opcode",
        change_first_inst(f, |d| match other_opcode(d.opcode()) {
            Some(o) => {
                *d.opcode_mut() = o;
                true
            }
            None => false,
        }),
    );
    push(
        "immediate",
        change_first_inst(f, |d| {
            use InstructionData::*;
            match d {
                UnaryImm { imm, .. } => *imm ^= 1,
                UnaryIeee { bits, .. } => *bits ^= 1,
                Load { offset, .. }
                | Store { offset, .. }
                | StackLoad { offset, .. }
                | StackStore { offset, .. } => *offset ^= 4,
                ExtractLane { lane, .. } | InsertLane { lane, .. } | MemLane { lane, .. } => {
                    *lane ^= 1
                }
                _ => return false,
            }
            true
        }),
    );
    push(
        "condition or trap code",
        change_first_inst(f, |d| {
            use InstructionData::*;
            match d {
                IntCompare { cond, .. } => *cond = cond.inverse(),
                FloatCompare { cond, .. } => {
                    let all = kiln::ir::FloatCC::ALL;
                    let i = all.iter().position(|c| c == cond).unwrap_or(0);
                    *cond = all[(i + 1) % all.len()];
                }
                Trap { code, .. } | CondTrap { code, .. } => {
                    *code = match *code {
                        TrapCode::User(n) => TrapCode::User(n.wrapping_add(1)),
                        _ => TrapCode::User(0),
                    }
                }
                _ => return false,
            }
            true
        }),
    );
    push(
        "operand",
        change_first_inst(f, |d| {
            use InstructionData::*;
            match d {
                Binary { args, .. } | IntCompare { args, .. } | FloatCompare { args, .. }
                    if args[0] != args[1] =>
                {
                    args.swap(0, 1)
                }
                Unary { arg, .. } => *arg = Value::from_u32(arg.as_u32() ^ 1),
                _ => return false,
            }
            true
        }),
    );
    // A value type: the first instruction result's type.
    push("value type", {
        let mut g = f.clone();
        let v = layout_insts(f)
            .into_iter()
            .find_map(|i| f.dfg.first_result(i));
        v.map(|v| {
            let t = g.dfg.values[v].ty;
            g.dfg.values[v].ty = if t == Type::I64 { Type::I32 } else { Type::I64 };
            g
        })
    });
    // Block order: rotate the non-entry blocks (needs at least two of them), or move the
    // entry block last.
    push("block order", {
        let blocks: Vec<_> = f.layout.blocks().collect();
        (blocks.len() >= 2).then(|| {
            let mut order = blocks.clone();
            if blocks.len() >= 3 {
                order[1..].rotate_left(1);
            } else {
                order.rotate_left(1);
            }
            let mut g = f.clone();
            let mut layout = Layout::new();
            for &b in &order {
                layout.append_block(b);
                for i in f.layout.block_insts(b) {
                    layout.append_inst(i, b);
                }
            }
            g.layout = layout;
            g
        })
    });
    push("signature", {
        let mut g = f.clone();
        g.signature.params.push(Type::I32);
        Some(g)
    });
    push(
        "callee signature",
        (!f.dfg.signatures.is_empty()).then(|| {
            let mut g = f.clone();
            if let Some(s) = g.dfg.signatures.values_mut().next() {
                s.returns.push(Type::F64);
            }
            g
        }),
    );
    push(
        "external function",
        (!f.dfg.ext_funcs.is_empty()).then(|| {
            let mut g = f.clone();
            if let Some(e) = g.dfg.ext_funcs.values_mut().next() {
                e.name = match e.name {
                    ExternalName::User(r) => {
                        ExternalName::User(kiln::ir::UserExternalNameRef::new(r.index() + 1))
                    }
                    ExternalName::LibCall(l) => ExternalName::LibCall(if l == LibCall::CeilF32 {
                        LibCall::FloorF32
                    } else {
                        LibCall::CeilF32
                    }),
                };
            }
            g
        }),
    );
    push(
        "constant",
        (!f.dfg.constants.is_empty()).then(|| {
            let mut g = f.clone();
            if let Some(c) = g.dfg.constants.values_mut().next() {
                c[15] ^= 0x80;
            }
            g
        }),
    );
    push(
        "jump table",
        f.dfg.jump_tables.values().next().map(|_| {
            let mut g = f.clone();
            if let Some(jt) = g.dfg.jump_tables.values_mut().next() {
                // Retarget the default (targets may all be equal, so a swap could
                // change nothing).
                if let Some(d) = jt.all_branches_mut().first_mut() {
                    d.block = kiln::ir::Block::new(d.block.index() + 1);
                }
            }
            g
        }),
    );
    push("stack slot size", {
        let mut g = f.clone();
        match g.stack_slots.values_mut().next() {
            Some(s) => s.size = s.size.wrapping_add(8),
            None => {
                g.stack_slots.push(StackSlotData::new(8));
            }
        }
        Some(g)
    });
    push("relative source location", {
        let mut g = f.clone();
        layout_insts(f).first().map(|&i| {
            let base = g.params.base_srcloc();
            let now = g.srcloc(i);
            let new = if base.is_default() {
                SourceLoc::new(5)
            } else {
                SourceLoc::new(now.bits().wrapping_add(1).min(u32::MAX - 1))
            };
            let new = if new == now {
                SourceLoc::new(base.bits().wrapping_add(9))
            } else {
                new
            };
            g.set_srcloc(i, new);
            g
        })
    });
    out
}

/// Damaged copies of `entry` (the valid entry for `key`), named: flipped bits in the
/// header, the key and the payload, truncations, an extension, another key's entry
/// (`foreign`, written for `foreign_key`), and wrong versions. `pick` selects extra
/// positions for bit flips and truncations (the fuzz target passes its own bytes).
pub fn corruptions(
    entry: &[u8],
    key: &CacheKey,
    foreign: Option<(&CacheKey, &[u8])>,
    pick: &[u8],
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let n = entry.len();
    let flip = |at: usize, bit: u8| {
        let mut e = entry.to_vec();
        if let Some(b) = e.get_mut(at) {
            *b ^= 1 << (bit % 8);
        }
        e
    };
    let mut positions = vec![0, 9, 13, n / 2, n.saturating_sub(1)];
    // The key sits right before the 16 bytes of length and checksum, which precede the
    // payload; the payload's length is declared in the header.
    if let Some(payload) = declared_payload_len(entry) {
        let key_at = n.saturating_sub(payload + 16 + 32);
        positions.push(key_at + 5);
        positions.push(n - payload / 3 - 1);
    }
    for w in pick.chunks(2) {
        let at = usize::from(w[0]) << 8 | usize::from(*w.get(1).unwrap_or(&0));
        if n > 0 {
            positions.push(at % n);
        }
    }
    for (i, &at) in positions.iter().enumerate() {
        if at < n {
            out.push((format!("bit flip at byte {at}"), flip(at, i as u8 * 3)));
        }
    }
    for len in [0, 7, n / 2, n.saturating_sub(1)] {
        out.push((
            format!("truncated to {len} bytes"),
            entry[..len.min(n)].to_vec(),
        ));
    }
    let mut longer = entry.to_vec();
    longer.push(0);
    out.push(("one byte appended".to_string(), longer));
    if let Some((fk, fe)) = foreign {
        if fk != key {
            out.push(("foreign entry (another key's)".to_string(), fe.to_vec()));
        }
    }
    let mut v = entry.to_vec();
    if n >= 12 {
        let old = u32::from_le_bytes([v[8], v[9], v[10], v[11]]);
        v[8..12].copy_from_slice(&old.wrapping_add(1).to_le_bytes());
        out.push(("next entry format version".to_string(), v));
    }
    let mut v = entry.to_vec();
    if n > 14 {
        v[14] = if v[14] == b'9' { b'8' } else { b'9' };
        out.push(("other compiler version".to_string(), v));
    }
    out
}

/// The payload length an entry's header declares (entry layout: see
/// `kiln::cache::entry`).
fn declared_payload_len(entry: &[u8]) -> Option<usize> {
    let vlen = usize::from(u16::from_le_bytes([*entry.get(12)?, *entry.get(13)?]));
    let at = 14 + vlen + 32;
    let b = entry.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    usize::try_from(u64::from_le_bytes(a)).ok()
}
