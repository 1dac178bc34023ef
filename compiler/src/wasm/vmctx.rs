//! The `VMContext`: the one data structure through which generated code reaches an
//! instance's state, and the runtime *builtins* it calls for what is not inline code.
//!
//! `docs/vmcontext.md` is the contract for embedders; this module is its single source of
//! truth in code ([`VmOffsets`] computes every offset, [`Builtin`] lists the runtime calls).
//!
//! Every Wasm function is compiled to an IR function whose first parameter is the
//! instance's vmctx pointer (`i64`), followed by the Wasm parameters. Generated code
//! addresses nothing absolutely: memory, tables, globals, other instances' functions and
//! builtins are all reached through loads from the vmctx.
//!
//! Layout (all fields little-endian, offsets from the vmctx pointer, which is 16-byte
//! aligned):
//!
//! | offset | field | written by |
//! |---|---|---|
//! | 0 | `memory_base: u64` — base of the instance's *defined* memory | runtime, at instantiation and on every grow |
//! | 8 | `memory_size: u64` — its current size in bytes | runtime |
//! | 16 | `memory_definition: u64` — address of the `{base, size}` pair of the memory the module uses (this vmctx + 0 for a defined memory, the exporter's pair for an imported one) | runtime |
//! | 24 | `builtins: [u64; Builtin::COUNT]` — code addresses of the runtime builtins | runtime |
//! | [`VmOffsets::sig_ids`] | `sig_ids: [u32; types]` — the runtime's canonical id of each type of the module (structurally equal types share an id, across modules) | runtime |
//! | [`VmOffsets::func_refs`] | `func_refs: [FuncRef; functions]` (imports first) | runtime |
//! | [`VmOffsets::tables`] | `tables: [u64; tables]` — address of each table's `{base, len}` definition | runtime |
//! | [`VmOffsets::table_defs`] | `table_defs: [{base: u64, len: u64}; tables]` — storage of the *defined* tables' definitions | runtime |
//! | [`VmOffsets::globals`] | `globals: [[u8; 16]; globals]` — a defined global's value (low bytes), or for an imported global the address of the exporter's value | runtime (defined: initialized; then generated code) |
//!
//! A `FuncRef` is 24 bytes: `code: u64` (the function's entry), `vmctx: u64` (the vmctx to
//! pass it), `sig_id: u32` (its type's canonical id), 4 bytes of padding. A `funcref`
//! value is the address of a `FuncRef` (`ref.func f` is `vmctx + func_refs + 24 f`), or 0
//! for null; an `externref` value is an opaque non-zero `u64` chosen by the embedder, or 0
//! for null. Both are `i64` in IR. Table elements are such 8-byte values.
//!
//! Invariants: offsets depend only on the module's counts (types, functions, tables,
//! globals), never on the target; every field is naturally aligned; generated code
//! only reads the header, `sig_ids`, `func_refs` and `tables`, and reads and writes
//! `globals`, linear memory and table elements.

use crate::ir::{Signature, Type};

/// Offset of `memory_base`.
pub const MEMORY_BASE: u32 = 0;
/// Offset of `memory_size`.
pub const MEMORY_SIZE: u32 = 8;
/// Offset of `memory_definition`.
pub const MEMORY_DEFINITION: u32 = 16;
/// Offset of the builtin table.
pub const BUILTINS: u32 = 24;
/// Size of a `FuncRef` record.
pub const FUNC_REF_SIZE: u32 = 24;
/// Offset of `code` within a `FuncRef`.
pub const FUNC_REF_CODE: u32 = 0;
/// Offset of `vmctx` within a `FuncRef`.
pub const FUNC_REF_VMCTX: u32 = 8;
/// Offset of `sig_id` within a `FuncRef`.
pub const FUNC_REF_SIG_ID: u32 = 16;
/// Size of a table definition `{base: u64, len: u64}`; `len` counts elements.
pub const TABLE_DEF_SIZE: u32 = 16;
/// Size of one global slot.
pub const GLOBAL_SIZE: u32 = 16;
/// Size of one table element.
pub const TABLE_ELEM_SIZE: u32 = 8;
/// Bytes per Wasm page.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Runtime operations that generated code calls through the vmctx's builtin table.
///
/// Each is called with Kiln's calling convention (`docs/abi.md`) and the signature
/// [`Builtin::signature`]: the caller's vmctx first, then the listed `i32` (or `i64` for
/// reference values) operands in Wasm operand order. Builtins that can fail return an
/// `i32` that is 0 on success and non-zero when the operation is out of bounds; the
/// generated code then traps (`heap_oob` for memory builtins, `table_oob` for table
/// builtins), so builtins never unwind. A failing operation has no effect (Wasm 2.0
/// checks bounds before writing anything).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `memory_grow(vmctx, delta_pages) -> old_pages or -1`. Grows the module's memory
    /// (defined or imported) and updates its `{base, size}` pair; the base may move.
    MemoryGrow,
    /// `memory_fill(vmctx, dst, value, len) -> status`
    MemoryFill,
    /// `memory_copy(vmctx, dst, src, len) -> status` (overlapping ranges copy as memmove)
    MemoryCopy,
    /// `memory_init(vmctx, data_index, dst, src, len) -> status` (a dropped segment has length 0)
    MemoryInit,
    /// `data_drop(vmctx, data_index)`
    DataDrop,
    /// `table_grow(vmctx, table, init: i64, delta) -> old_len or -1`
    TableGrow,
    /// `table_fill(vmctx, table, dst, value: i64, len) -> status`
    TableFill,
    /// `table_copy(vmctx, dst_table, src_table, dst, src, len) -> status`
    TableCopy,
    /// `table_init(vmctx, table, elem_index, dst, src, len) -> status` (a dropped segment has length 0)
    TableInit,
    /// `elem_drop(vmctx, elem_index)`
    ElemDrop,
}

impl Builtin {
    /// Number of builtins (entries of the builtin table).
    pub const COUNT: usize = 10;

    /// Every builtin, in table order.
    pub const ALL: [Builtin; Builtin::COUNT] = [
        Builtin::MemoryGrow,
        Builtin::MemoryFill,
        Builtin::MemoryCopy,
        Builtin::MemoryInit,
        Builtin::DataDrop,
        Builtin::TableGrow,
        Builtin::TableFill,
        Builtin::TableCopy,
        Builtin::TableInit,
        Builtin::ElemDrop,
    ];

    /// Index in the builtin table.
    pub fn index(self) -> usize {
        Builtin::ALL.iter().position(|&b| b == self).unwrap_or(0)
    }

    /// The name (as in `docs/vmcontext.md`).
    pub const fn name(self) -> &'static str {
        match self {
            Builtin::MemoryGrow => "memory_grow",
            Builtin::MemoryFill => "memory_fill",
            Builtin::MemoryCopy => "memory_copy",
            Builtin::MemoryInit => "memory_init",
            Builtin::DataDrop => "data_drop",
            Builtin::TableGrow => "table_grow",
            Builtin::TableFill => "table_fill",
            Builtin::TableCopy => "table_copy",
            Builtin::TableInit => "table_init",
            Builtin::ElemDrop => "elem_drop",
        }
    }

    /// The IR types of the operands after the vmctx.
    pub const fn operand_types(self) -> &'static [Type] {
        use Type::{I32, I64};
        match self {
            Builtin::MemoryGrow => &[I32],
            Builtin::MemoryFill | Builtin::MemoryCopy => &[I32, I32, I32],
            Builtin::MemoryInit => &[I32, I32, I32, I32],
            Builtin::DataDrop | Builtin::ElemDrop => &[I32],
            Builtin::TableGrow => &[I32, I64, I32],
            Builtin::TableFill => &[I32, I32, I64, I32],
            Builtin::TableCopy | Builtin::TableInit => &[I32, I32, I32, I32, I32],
        }
    }

    /// Does it return an `i32` (a result or a status)?
    pub const fn returns_i32(self) -> bool {
        !matches!(self, Builtin::DataDrop | Builtin::ElemDrop)
    }

    /// Is the returned `i32` a status that makes the caller trap when non-zero?
    pub const fn returns_status(self) -> bool {
        matches!(
            self,
            Builtin::MemoryFill
                | Builtin::MemoryCopy
                | Builtin::MemoryInit
                | Builtin::TableFill
                | Builtin::TableCopy
                | Builtin::TableInit
        )
    }

    /// The full signature: `(i64 vmctx, operands...) -> [i32]`.
    pub fn signature(self) -> Signature {
        let mut params = vec![Type::I64];
        params.extend_from_slice(self.operand_types());
        let returns: &[Type] = if self.returns_i32() {
            &[Type::I32]
        } else {
            &[]
        };
        Signature::new(&params, returns)
    }
}

/// Offsets of the variable-length parts of a module's vmctx.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct VmOffsets {
    /// Number of types in the module's type section.
    pub num_types: u32,
    /// Number of functions (imported and defined).
    pub num_funcs: u32,
    /// Number of tables (imported and defined).
    pub num_tables: u32,
    /// Number of globals (imported and defined).
    pub num_globals: u32,
}

const fn align8(x: u64) -> u64 {
    (x + 7) & !7
}

const fn align16(x: u64) -> u64 {
    (x + 15) & !15
}

impl VmOffsets {
    /// Offset of `sig_ids`.
    pub const fn sig_ids(&self) -> u64 {
        BUILTINS as u64 + 8 * Builtin::COUNT as u64
    }
    /// Offset of `func_refs`.
    pub const fn func_refs(&self) -> u64 {
        align8(self.sig_ids() + 4 * self.num_types as u64)
    }
    /// Offset of `tables`.
    pub const fn tables(&self) -> u64 {
        self.func_refs() + FUNC_REF_SIZE as u64 * self.num_funcs as u64
    }
    /// Offset of `table_defs`.
    pub const fn table_defs(&self) -> u64 {
        self.tables() + 8 * self.num_tables as u64
    }
    /// Offset of `globals` (16-byte aligned).
    pub const fn globals(&self) -> u64 {
        align16(self.table_defs() + TABLE_DEF_SIZE as u64 * self.num_tables as u64)
    }
    /// Total size of the vmctx in bytes.
    pub const fn size(&self) -> u64 {
        self.globals() + GLOBAL_SIZE as u64 * self.num_globals as u64
    }

    /// Offset of builtin `b`'s code address.
    pub fn builtin(&self, b: Builtin) -> u64 {
        BUILTINS as u64 + 8 * b.index() as u64
    }
    /// Offset of the canonical id of type `t`.
    pub const fn sig_id(&self, t: u32) -> u64 {
        self.sig_ids() + 4 * t as u64
    }
    /// Offset of function `f`'s `FuncRef`.
    pub const fn func_ref(&self, f: u32) -> u64 {
        self.func_refs() + FUNC_REF_SIZE as u64 * f as u64
    }
    /// Offset of the pointer to table `t`'s definition.
    pub const fn table(&self, t: u32) -> u64 {
        self.tables() + 8 * t as u64
    }
    /// Offset of the storage of defined table `t`'s definition.
    pub const fn table_def(&self, t: u32) -> u64 {
        self.table_defs() + TABLE_DEF_SIZE as u64 * t as u64
    }
    /// Offset of global `g`'s slot.
    pub const fn global(&self, g: u32) -> u64 {
        self.globals() + GLOBAL_SIZE as u64 * g as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_follow_each_other_aligned() {
        let o = VmOffsets {
            num_types: 3,
            num_funcs: 5,
            num_tables: 2,
            num_globals: 4,
        };
        assert_eq!(o.sig_ids(), 24 + 80);
        assert_eq!(o.func_refs(), 104 + 16); // 12 bytes of ids, aligned to 8
        assert_eq!(o.tables(), 120 + 5 * 24);
        assert_eq!(o.table_defs(), o.tables() + 16);
        assert_eq!(o.globals() % 16, 0);
        assert!(o.globals() >= o.table_defs() + 32);
        assert_eq!(o.size(), o.globals() + 64);
        assert_eq!(o.func_ref(4), o.func_refs() + 96);
    }

    #[test]
    fn builtin_table_is_complete_and_signatures_start_with_vmctx() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(b.index(), i);
            let sig = b.signature();
            assert_eq!(sig.params[0], Type::I64);
            assert!(!b.returns_status() || b.returns_i32());
        }
    }
}
