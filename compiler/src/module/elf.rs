//! Writing a [`CompiledModule`] as a relocatable ELF64 object (`object` crate).
//!
//! The object has:
//! - `.text`: the linked text section, byte for byte (calls inside the module are already
//!   resolved); one global `STT_FUNC` symbol per defined function, named by the name
//!   section or `wasm_function_<index>`, with its size; names that repeat get `.<index>`
//!   appended so every symbol is unique;
//! - on AArch64, the ELF mapping symbols the AArch64 ELF ABI defines: `$x` where
//!   instructions start (each function's start, the end of each data range) and `$d`
//!   where data starts (each of [`ModuleFunction::data_ranges`](super::ModuleFunction),
//!   i.e. inline jump tables and constants), so `llvm-objdump -d` lists data as `.word`;
//! - ELF relocations for what the loader must provide: libcalls become undefined symbols
//!   `kiln_libcall_<name>`, the stack-limit word the undefined symbol `kiln_stack_limit`;
//! - `.kiln.module`: the runtime metadata as UTF-8 text, one record per line (format
//!   below); `.kiln.data`: the data segments' bytes, concatenated.
//!
//! Metadata format (version 1); fields separated by one space; names and strings are
//! percent-encoded (every byte outside `[A-Za-z0-9_.$-]` as `%hh`); `-` means none:
//!
//! ```text
//! kiln-module 1
//! arch <x86_64|aarch64>
//! vmctx_size <bytes>
//! type <i> <params,comma-separated|-> <results|->
//! import func|table|memory|global <index> <module> <name>
//! func <index> <text offset> <code bytes> <type index> <name>
//! table <i> <funcref|externref> <min> <max|->
//! memory <min pages> <max|-> <imported 0|1>
//! global <i> <type> <mutable 0|1> <init|import>
//! export func|table|memory|global <index> <name>
//! start <function index>
//! elem <i> passive|declared|active:<table>:<offset expr> <type> <items, comma-separated>
//! data <i> passive|active:<offset expr> <offset in .kiln.data> <length>
//! trap <text offset> <trap code> <wasm offset|->
//! ```
//!
//! Constant expressions print as `i32:<v>`, `i64:<v>`, `f32:<bits hex>`, `f64:<bits hex>`,
//! `null`, `func:<index>` or `global:<index>`.
//!
//! Invariants: the object's `.text` equals the module's text section; symbol values are the
//! functions' offsets; writing never panics (a padded, sparse text section, which only the
//! test-only link padding produces, is refused).

use super::compile::CompiledModule;
use super::TextRelocTarget;
use crate::isa::Arch;
use crate::machinst::buffer::RelocKind;
use crate::wasm::info::{ConstExpr, ElemMode, EntityIndex};
use object::write::{Object, Relocation, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope,
};
use std::collections::HashSet;
use std::fmt::Write as _;

/// Why an object could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    /// The text section is sparse (test-only link padding).
    #[error("the text section has {0} segments (link padding); only a dense section can be written as ELF")]
    Sparse(usize),
    /// A relocation kind with no ELF equivalent here.
    #[error("relocation {0:?} has no ELF equivalent for this target")]
    Reloc(RelocKind),
    /// The `object` crate failed.
    #[error("writing the object: {0}")]
    Object(String),
}

/// Percent-encode a name for the metadata.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$' | b'-') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    out
}

fn const_expr(c: &ConstExpr) -> String {
    match c {
        ConstExpr::I32(v) => format!("i32:{v}"),
        ConstExpr::I64(v) => format!("i64:{v}"),
        ConstExpr::F32(b) => format!("f32:{b:#x}"),
        ConstExpr::F64(b) => format!("f64:{b:#x}"),
        ConstExpr::V128(b) => format!("v128:{b:#x}"),
        ConstExpr::RefNull => "null".into(),
        ConstExpr::RefFunc(f) => format!("func:{f}"),
        ConstExpr::GlobalGet(g) => format!("global:{g}"),
    }
}

fn entity(e: &EntityIndex) -> (&'static str, u32) {
    match *e {
        EntityIndex::Func(i) => ("func", i),
        EntityIndex::Table(i) => ("table", i),
        EntityIndex::Memory(i) => ("memory", i),
        EntityIndex::Global(i) => ("global", i),
    }
}

fn types_list(ts: &[crate::wasm::WasmType]) -> String {
    if ts.is_empty() {
        return "-".into();
    }
    ts.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The metadata text and the data-segment bytes of `m`.
pub fn metadata(m: &CompiledModule) -> (String, Vec<u8>) {
    let info = &m.info;
    let mut s = String::new();
    let mut data = Vec::new();
    let _ = writeln!(s, "kiln-module 1");
    let _ = writeln!(s, "arch {}", m.arch);
    let _ = writeln!(s, "vmctx_size {}", info.vm_offsets().size());
    for (i, t) in info.types.iter().enumerate() {
        let _ = writeln!(
            s,
            "type {i} {} {}",
            types_list(&t.params),
            types_list(&t.results)
        );
    }
    for imp in &info.imports {
        let (k, i) = entity(&imp.index);
        let _ = writeln!(
            s,
            "import {k} {i} {} {}",
            escape(&imp.module),
            escape(&imp.name)
        );
    }
    for f in &m.functions {
        let ty = info.funcs.get(f.index as usize).copied().unwrap_or(0);
        let _ = writeln!(
            s,
            "func {} {} {} {ty} {}",
            f.index,
            f.offset,
            f.len,
            escape(&f.name)
        );
    }
    for (i, t) in info.tables.iter().enumerate() {
        let max = t.max.map_or("-".to_string(), |m| m.to_string());
        let _ = writeln!(s, "table {i} {} {} {max}", t.elem, t.min);
    }
    if let Some(mem) = &info.memory {
        let max = mem.max.map_or("-".to_string(), |m| m.to_string());
        let _ = writeln!(s, "memory {} {max} {}", mem.min, u8::from(mem.imported));
    }
    for (i, g) in info.globals.iter().enumerate() {
        let init = g.init.as_ref().map_or("import".to_string(), const_expr);
        let _ = writeln!(s, "global {i} {} {} {init}", g.ty, u8::from(g.mutable));
    }
    for e in &info.exports {
        let (k, i) = entity(&e.index);
        let _ = writeln!(s, "export {k} {i} {}", escape(&e.name));
    }
    if let Some(f) = info.start {
        let _ = writeln!(s, "start {f}");
    }
    for (i, e) in info.elems.iter().enumerate() {
        let mode = match &e.mode {
            ElemMode::Passive => "passive".to_string(),
            ElemMode::Declared => "declared".to_string(),
            ElemMode::Active { table, offset } => format!("active:{table}:{}", const_expr(offset)),
        };
        let items = if e.items.is_empty() {
            "-".to_string()
        } else {
            e.items.iter().map(const_expr).collect::<Vec<_>>().join(",")
        };
        let _ = writeln!(s, "elem {i} {mode} {} {items}", e.elem);
    }
    for (i, d) in info.datas.iter().enumerate() {
        let mode = match &d.offset {
            None => "passive".to_string(),
            Some(o) => format!("active:{}", const_expr(o)),
        };
        let _ = writeln!(s, "data {i} {mode} {} {}", data.len(), d.bytes.len());
        data.extend_from_slice(&d.bytes);
    }
    for t in &m.traps {
        let w = t.wasm_offset.map_or("-".to_string(), |o| o.to_string());
        let _ = writeln!(s, "trap {} {} {w}", t.text_offset, t.code);
    }
    (s, data)
}

fn elf_reloc(arch: Arch, kind: RelocKind) -> Result<(object::elf::RelocationType, i64), ElfError> {
    use object::elf;
    // (r_type, extra addend: Kiln's X86 addends already include the -4)
    Ok(match (arch, kind) {
        (Arch::X86_64, RelocKind::Abs8) => (elf::R_X86_64_64, 0),
        (Arch::X86_64, RelocKind::Abs4) => (elf::R_X86_64_32, 0),
        (Arch::X86_64, RelocKind::X86PCRel4) => (elf::R_X86_64_PC32, 0),
        (Arch::X86_64, RelocKind::X86CallPCRel4) => (elf::R_X86_64_PLT32, 0),
        (Arch::Aarch64, RelocKind::Abs8) => (elf::R_AARCH64_ABS64, 0),
        (Arch::Aarch64, RelocKind::Abs4) => (elf::R_AARCH64_ABS32, 0),
        (Arch::Aarch64, RelocKind::Arm64Call) => (elf::R_AARCH64_CALL26, 0),
        (Arch::Aarch64, RelocKind::Aarch64AdrPrelPgHi21) => (elf::R_AARCH64_ADR_PREL_PG_HI21, 0),
        (Arch::Aarch64, RelocKind::Aarch64AddAbsLo12Nc) => (elf::R_AARCH64_ADD_ABS_LO12_NC, 0),
        (_, k) => return Err(ElfError::Reloc(k)),
    })
}

/// Write `m` as a relocatable ELF64 object (see the module docs).
pub fn write_elf(m: &CompiledModule) -> Result<Vec<u8>, ElfError> {
    if m.text.segments.len() > 1 {
        return Err(ElfError::Sparse(m.text.segments.len()));
    }
    let arch = match m.arch {
        Arch::X86_64 => Architecture::X86_64,
        Arch::Aarch64 => Architecture::Aarch64,
    };
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let text_id = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
    let text = m
        .text
        .segments
        .first()
        .map(|s| s.bytes.as_slice())
        .unwrap_or(&[]);
    obj.append_section_data(text_id, text, 16);
    let mut seen = HashSet::new();
    for f in &m.functions {
        let mut name = f.name.clone();
        if !seen.insert(name.clone()) {
            name = format!("{}.{}", f.name, f.index);
            seen.insert(name.clone());
        }
        obj.add_symbol(Symbol {
            name: name.into_bytes(),
            value: u64::from(f.offset),
            size: u64::from(f.len),
            kind: SymbolKind::Text,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(text_id),
            flags: SymbolFlags::None,
        });
        if m.arch == Arch::Aarch64 {
            let mut mapping = |name: &[u8], at: u32| {
                obj.add_symbol(Symbol {
                    name: name.to_vec(),
                    value: u64::from(f.offset) + u64::from(at),
                    size: 0,
                    kind: SymbolKind::Label,
                    scope: SymbolScope::Compilation,
                    weak: false,
                    section: SymbolSection::Section(text_id),
                    flags: SymbolFlags::None,
                });
            };
            mapping(b"$x", 0);
            for d in &f.data_ranges {
                mapping(b"$d", d.start);
                mapping(b"$x", d.end);
            }
        }
    }
    let mut externs = std::collections::HashMap::new();
    for r in &m.text.relocs {
        let name = match r.target {
            TextRelocTarget::LibCall(l) => format!("kiln_libcall_{}", l.name()),
            TextRelocTarget::StackLimit => "kiln_stack_limit".to_string(),
            TextRelocTarget::Function(i) => m
                .functions
                .get(i as usize)
                .map(|f| f.name.clone())
                .unwrap_or_else(|| format!("wasm_function_{i}")),
        };
        let sym = *externs.entry(name.clone()).or_insert_with(|| {
            obj.symbol_id(name.as_bytes()).unwrap_or_else(|| {
                obj.add_symbol(Symbol {
                    name: name.into_bytes(),
                    value: 0,
                    size: 0,
                    kind: SymbolKind::Unknown,
                    scope: SymbolScope::Linkage,
                    weak: false,
                    section: SymbolSection::Undefined,
                    flags: SymbolFlags::None,
                })
            })
        });
        let (r_type, extra) = elf_reloc(m.arch, r.kind)?;
        obj.add_relocation(
            text_id,
            Relocation {
                offset: u64::from(r.offset),
                symbol: sym,
                addend: r.addend + extra,
                flags: RelocationFlags::Elf { r_type },
            },
        )
        .map_err(|e| ElfError::Object(e.to_string()))?;
    }
    let (meta, data) = metadata(m);
    let meta_id = obj.add_section(Vec::new(), b".kiln.module".to_vec(), SectionKind::Metadata);
    obj.append_section_data(meta_id, meta.as_bytes(), 1);
    let data_id = obj.add_section(
        Vec::new(),
        b".kiln.data".to_vec(),
        SectionKind::ReadOnlyData,
    );
    obj.append_section_data(data_id, &data, 16);
    obj.write().map_err(|e| ElfError::Object(e.to_string()))
}
